"""Thread safety, GIL release, overflow guards, bounded behaviour on extreme inputs."""

import os
import threading
import time

import numpy as np
import pytest

import fastconv


def _work(x, w, img, k):
    return (
        fastconv.conv2d(x, w, padding=1, padding_mode="reflect"),
        fastconv.max_pool2d(x, 3, 2, 1, return_indices=True),
        fastconv.avg_pool2d(x, 2),
        fastconv.correlate2d(img, k, "same", "symm"),
    )


def test_eight_python_threads_share_readonly_inputs():
    r = np.random.default_rng(0)
    x = r.standard_normal((2, 8, 33, 35)).astype(np.float32)
    w = r.standard_normal((12, 8, 3, 3)).astype(np.float32)
    img = r.standard_normal((3, 120, 130))
    k = r.standard_normal((7, 7))
    for a in (x, w, img, k):
        a.flags.writeable = False
    expect = _work(x, w, img, k)
    errors = []

    def run():
        try:
            for _ in range(5):
                got = _work(x, w, img, k)
                np.testing.assert_array_equal(got[0], expect[0])
                np.testing.assert_array_equal(got[1][0], expect[1][0])
                np.testing.assert_array_equal(got[1][1], expect[1][1])
                np.testing.assert_array_equal(got[2], expect[2])
                np.testing.assert_array_equal(got[3], expect[3])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


@pytest.mark.parametrize("call", ["conv2d", "max_pool2d", "correlate2d"])
def test_gil_released_during_the_work(call):
    """A pure-Python thread keeps running while a long call is in progress."""
    r = np.random.default_rng(1)

    def work(batch):
        if call == "conv2d":
            x = r.standard_normal((batch, 64, 96, 96), np.float32)
            w = r.standard_normal((128, 64, 5, 5), np.float32)
            return lambda: fastconv.conv2d(x, w, padding=2, num_threads=1)
        if call == "max_pool2d":
            x = r.standard_normal((4 * batch, 64, 128, 128), np.float32)
            return lambda: fastconv.max_pool2d(x, 3, 1, 1, return_indices=True, num_threads=1)
        x, w = r.standard_normal((batch, 1024, 1024), np.float32), r.standard_normal((15, 15), np.float32)
        return lambda: fastconv.correlate2d(x, w, "same", method="direct", num_threads=1)

    # a call of at least 50 ms on this machine: the work grows with the CPU's speed
    batch, alone = 4, 0.0
    while True:
        f = work(batch)
        f()
        t0 = time.perf_counter()
        f()
        alone = time.perf_counter() - t0
        if alone >= 0.05 or batch >= 32:
            break
        batch *= 2
    assert alone > 0.02, f"the call took only {alone:.3f} s: too short to show anything"
    # with the GIL held for the whole call the spinner would advance only at the
    # interpreter's switch interval around it: a handful of ticks, every time.  Up to three
    # tries, since on a shared machine a busy neighbour can starve the spinner's core for
    # one call (a held GIL fails all three).
    seen = []
    for _ in range(3):
        stop = threading.Event()
        ticks = [0]

        def spin(stop=stop, ticks=ticks):
            while not stop.is_set():
                ticks[0] += 1

        spinner = threading.Thread(target=spin)
        spinner.start()
        time.sleep(0.01)
        before = ticks[0]
        f()
        seen.append(ticks[0] - before)
        stop.set()
        spinner.join()
        if seen[-1] > 1000:
            break
    assert seen[-1] > 1000, (seen, alone)


def test_results_identical_for_any_thread_count():
    r = np.random.default_rng(2)
    x = r.standard_normal((3, 5, 29, 31))
    w = r.standard_normal((7, 5, 3, 4))
    res = [fastconv.conv2d(x, w, stride=(1, 2), padding="same", num_threads=n) for n in (1, 2, 3, 8, 64)]
    for other in res[1:]:
        np.testing.assert_array_equal(res[0], other)


def test_more_threads_than_work():
    x = np.ones((1, 1, 3, 3))
    w = np.ones((1, 1, 2, 2))
    np.testing.assert_array_equal(fastconv.conv2d(x, w, num_threads=1000), np.full((1, 1, 2, 2), 4.0))
    np.testing.assert_array_equal(fastconv.max_pool2d(x, 2, num_threads=1000), np.ones((1, 1, 1, 1)))


def test_huge_shapes_refused_before_allocation():
    """A broadcast view claims an enormous input without memory behind it: refused cleanly."""
    x = np.broadcast_to(np.zeros(1, np.float32), (2**20, 1, 2**20, 2**20))
    w = np.ones((1, 1, 1, 1), np.float32)
    with pytest.raises(ValueError, match="result would have shape"):
        fastconv.conv2d(x, w)
    with pytest.raises(ValueError, match="result would have shape"):
        fastconv.max_pool2d(x, 1)
    with pytest.raises(ValueError, match="result would have shape"):
        fastconv.correlate2d(x[:, 0], np.ones((1, 1)))
    with pytest.raises(ValueError, match="too large"):
        fastconv.conv2d(np.zeros((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), dilation=2**40)


def test_nan_and_inf_propagate_like_torch_semantics():
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = np.nan
    x[0, 0, 0, 0] = np.inf
    y = fastconv.conv2d(x, np.ones((1, 1, 3, 3)), padding=1)
    assert np.isnan(y[0, 0, 1:4, 1:4]).all()
    assert np.isinf(y[0, 0, 0, 0]) and np.isinf(y[0, 0, 1, 0])
    assert np.isfinite(y[0, 0, 4, 0])


def test_show_config_reports_the_simd_levels_compiled_in():
    """The level in use is one of those compiled in; a build without runtime dispatch
    (Clang, sanitizers) reports its single level for both."""
    import io

    from fastconv import _omp

    compiled, used = _omp.simd_compiled(), _omp.simd_level()
    assert used in compiled
    if "runtime dispatch" not in compiled:
        assert used == compiled
    buf = io.StringIO()
    fastconv.show_config(buf)
    assert f"simd compiled    : {compiled}" in buf.getvalue() and f"simd             : {used}" in buf.getvalue()


def test_cpu_l2_matches_the_kernel_report():
    """The L2 size the planner reads (CPUID) is the one Linux reports for cpu0's level-2
    cache (x86), and show_config prints it."""
    import io
    import platform

    from fastconv import _omp

    l2 = _omp.cpu_l2_bytes()
    assert l2 >= 0 and l2 % 1024 == 0
    buf = io.StringIO()
    fastconv.show_config(buf)
    assert f"L2 cache KiB     : {l2 // 1024 or 'unknown'}" in buf.getvalue()
    base = "/sys/devices/system/cpu/cpu0/cache"
    if platform.machine() not in ("x86_64", "AMD64") or not os.path.isdir(base):
        pytest.skip("CPUID L2 size: x86-64 Linux only")
    sizes = []
    for index in sorted(os.listdir(base)):
        try:
            with open(os.path.join(base, index, "level")) as f:
                level = f.read().strip()
            with open(os.path.join(base, index, "size")) as f:
                size = f.read().strip()
        except OSError:
            continue
        if level == "2" and size.endswith("K"):
            sizes.append(int(size[:-1]) * 1024)
    if not sizes:
        pytest.skip("no level-2 cache size in sysfs")
    assert l2 in sizes


def test_cpu_vendor_matches_the_kernel_report():
    """The CPUID vendor string the planner reads is the one Linux reports in /proc/cpuinfo
    (x86), and show_config prints it."""
    import io
    import platform

    from fastconv import _omp

    vendor = _omp.cpu_vendor()
    buf = io.StringIO()
    fastconv.show_config(buf)
    assert f"cpu vendor       : {vendor or 'unknown'}" in buf.getvalue()
    if platform.machine() not in ("x86_64", "AMD64") or not os.path.exists("/proc/cpuinfo"):
        pytest.skip("CPUID vendor: x86-64 Linux only")
    with open("/proc/cpuinfo") as f:
        ids = {line.split(":", 1)[1].strip() for line in f if line.startswith("vendor_id")}
    assert ids == {vendor}
