"""correlate2d of a 16384 x 16384 float32 image (1 GiB) in chunks under a Dask LocalCluster.

Reports throughput and the peak resident memory of each worker process.  The image is made
lazily on the workers (never on the client), and the result is reduced to its mean and a few
samples checked against the in-memory function on the same tiles, so no worker or the
client ever holds the whole image.

    python benchmarks/dask_large_image.py [--size 16384] [--chunk 2048] [--workers 2] [--kernel 15]
"""

import argparse
import time

import numpy as np


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    import dask.array as da
    from distributed import Client, LocalCluster

    import fastconv
    import fastconv.dask as fd

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=16384)
    p.add_argument("--chunk", type=int, default=2048)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--kernel", type=int, default=15)
    p.add_argument("--boundary", default="symm")
    args = p.parse_args()

    k = np.random.default_rng(0).standard_normal((args.kernel, args.kernel)).astype(np.float32)
    with (
        LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        ) as cluster,
        Client(cluster) as client,
    ):
        img = da.random.default_rng(1).standard_normal((args.size, args.size), dtype=np.float32, chunks=args.chunk)
        res = fd.correlate2d(img, k, "same", args.boundary, method="direct")
        t0 = time.perf_counter()
        mean = float(res.mean().compute())
        dt = time.perf_counter() - t0
        # spot check: an interior tile and a corner tile against the in-memory function
        c = args.chunk
        tile = img[c - 64 : c + 64, c - 64 : c + 64].compute()
        ours = res[c - 64 + args.kernel : c + 64 - args.kernel, c - 64 + args.kernel : c + 64 - args.kernel].compute()
        ref = fastconv.correlate2d(tile, k, "same")[args.kernel : -args.kernel, args.kernel : -args.kernel]
        corner = img[:256, :256].compute()
        ref_c = fastconv.correlate2d(img[:512, :512].compute(), k, "same", args.boundary)[:200, :200]
        ours_c = res[:200, :200].compute()
        ok = np.allclose(ours, ref, rtol=1e-4, atol=1e-4) and np.allclose(ours_c, ref_c, rtol=1e-4, atol=1e-4)
        del corner
        peaks = client.run(_peak_rss_mb)
    pixels = args.size**2
    print(
        f"correlate2d {args.size}x{args.size} float32 ({pixels * 4 / 2**30:.2f} GiB), kernel "
        f"{args.kernel}x{args.kernel}, boundary {args.boundary}, chunks {args.chunk}, {args.workers} workers x 1 thread"
    )
    print(
        f"  time {dt:.2f} s   throughput {pixels / dt / 1e6:.1f} Mpixel/s   "
        f"{2 * pixels * args.kernel**2 / dt / 1e9:.1f} GFLOP/s   mean {mean:.4f}"
    )
    for addr, mb in peaks.items():
        print(f"  worker {addr}: peak resident memory {mb:.0f} MiB")
    print("  spot checks against the in-memory function:", "OK" if ok else "MISMATCH")


if __name__ == "__main__":
    main()
