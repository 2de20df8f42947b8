"""Driver of Winograd F(m x m, 3 x 3) (Plan kinds WINOGRAD2, WINOGRAD4): transforms the
weights once, then (sample, group, row phase, band of tile rows) items over the threads,
each packed and transformed in the thread's cache-sized buffers.  Private: see
:mod:`fastconv._plan` and include/fastconv/winograd/band.h."""

from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from cython.parallel cimport parallel, prange

import numpy as np

from fastconv._geom cimport geometry
from fastconv._kernels cimport checked_vb, fc_alloc, fc_conv_geom, pack_band, wino_band, wino_flat, wino_weights
from fastconv._omp cimport resolve_threads
from fastconv._types cimport real_t


def run(plan, const real_t[:, :, :, :] x, const real_t[:, :, :, :] w, const real_t[::1] bias,
        real_t[:, :, :, ::1] out, a, real_t fill):
    """Run a Winograd plan: x (N, C, H, W) with 3x3 weights w (C_out, C/groups, 3, 3), unit
    stride, dilation (dh, dw) with m * dw in (2, 4, 8); other arguments as for
    :func:`fastconv._direct.run`.

    Returns False when a transformed weight or input held a NaN or an infinity (the
    weights' transform and the bands check what they make): ``out`` is then incomplete
    and the caller reruns the layer with the direct kernels, which keep the exact pattern
    of NaN and +-inf.  True otherwise."""
    cdef Py_ssize_t N = x.shape[0]
    cdef Py_ssize_t Cout = w.shape[0], Cg = w.shape[1]
    cdef Py_ssize_t Ho = out.shape[2], Wo = out.shape[3]
    if N == 0 or Cout == 0 or Ho == 0 or Wo == 0:
        return True
    cdef Py_ssize_t G = a.groups, coutg = Cout // G, isz = sizeof(real_t)
    cdef int kind = plan.kind
    cdef int m = plan.tile
    cdef int64_t A = m + 2
    cdef int64_t vb = checked_vb(plan.vector_bytes)
    cdef int64_t vl = vb // isz
    cdef int64_t ocb = plan.channel_block
    cdef int64_t nob = (coutg + ocb - 1) // ocb
    cdef int64_t ocp = nob * ocb

    cdef fc_conv_geom g
    geometry(&g, x, w, out.shape[2], out.shape[3], a)
    if plan.flat:
        return _run_flat(plan, x, w, bias, out, a, fill, g)
    cdef int64_t dh = g.dh, dw = g.dw
    # A dilated layer is dh x dw undilated ones on the output's row and column phases: row
    # phase pr (output rows pr + dh*i) is a separate work item, the dw column phases of a
    # row share a band.  Tile counts of the first (largest) phases:
    cdef int64_t ntr = ((Ho + dh - 1) // dh + m - 1) // m
    cdef int64_t ntc = ((Wo + dw - 1) // dw + m - 1) // m
    # The band is packed as for a stride-(m*dw) convolution with a (dw*A)-wide kernel: tap
    # pc + dw*j (column phase pc's patch column j) of tile t at xoff[pc + dw*j] + t, over the
    # tile columns rounded up to a vector (the plan's layout).
    pstart_a, xoff_a, Wq = plan.layout
    cdef const int64_t[::1] pstart = pstart_a
    cdef const int64_t[::1] xoff = xoff_a
    g.kH = A; g.kW = dw * A; g.sh = m * dh; g.sw = m * dw; g.dw = 1
    g.Ho = ntr; g.Wo = ntc
    g.Wp = Wo + 2 * dw  # padded columns past this one feed only dropped outputs (packed as 0)
    g.npha = pstart.shape[0]; g.pstart = &pstart[0]; g.Wq = Wq; g.xoff = &xoff[0]
    g.rstep = g.npha * Wq
    cdef int64_t sN = x.strides[0] // isz

    cdef int64_t ugrp = A * A * ocp * Cg
    U_a = _transformed_weights(w, m, G, ocb, vb, plan.threads)
    if U_a is None:
        return False
    cdef real_t[::1] U = U_a

    cdef int64_t ncr = dw * ((ntc + vl - 1) // vl)  # vector chunks of tiles per tile row
    cdef int64_t Rt = plan.band_rows
    cdef int64_t nb = (ntr + Rt - 1) // Rt
    # row phases past the output's height are empty (a dilation of 2**28 on an 8-row plane)
    cdef int64_t nph = min(dh, Ho)
    cdef int64_t nitems = N * G * nph * nb
    cdef int nt = resolve_threads(plan.threads, nitems)
    cdef int64_t maxrows = (Rt - 1) * m + A
    cdef int64_t nch = Rt * ncr
    cdef size_t band_elems = <size_t>(Cg * maxrows * g.rstep)
    cdef size_t v_elems = <size_t>(A * A * Cg * nch * vl)
    cdef size_t vm_elems = v_elems + <size_t>(A * A * ocp * nch * vl)

    cdef const real_t *x0 = &x[0, 0, 0, 0]
    cdef real_t *o0 = &out[0, 0, 0, 0]
    cdef const real_t *b0 = &bias[0] if bias is not None else NULL
    cdef real_t *u0 = &U[0]
    cdef int64_t plane = Ho * Wo
    cdef int failed[1]
    cdef int nonfinite[1]  # set by any band that meets a non-finite value
    failed[0] = 0
    nonfinite[0] = 0
    cdef real_t *band
    cdef real_t *vbuf
    cdef int64_t *rowsrc
    cdef int64_t item, n, gi, b, tr0, Rb, nrows, pr, hp, i_r
    cdef const real_t *xg

    with nogil, parallel(num_threads=nt):
        band = <real_t *>fc_alloc(band_elems * sizeof(real_t))
        # V then M: every vector of both is written before it is read (a row's last chunk
        # of tiles transforms the zeroed tail of the packed rows)
        vbuf = <real_t *>fc_alloc(vm_elems * sizeof(real_t))
        rowsrc = <int64_t *>malloc(maxrows * sizeof(int64_t))
        if band == NULL or vbuf == NULL or rowsrc == NULL:
            failed[0] = 1
        for item in prange(nitems, schedule="static"):
            if band == NULL or vbuf == NULL or rowsrc == NULL or nonfinite[0]:
                continue  # (after a non-finite band the call is rerun: skip the rest)
            n = item // (G * nph * nb)
            gi = (item // (nph * nb)) % G
            pr = (item // nb) % nph
            b = item % nb
            hp = (Ho - pr + dh - 1) // dh  # output rows of row phase pr
            tr0 = b * Rt
            Rb = min(Rt, (hp + m - 1) // m - tr0)
            if Rb <= 0:
                continue
            # the phase's padded rows pr + dh*i read by tile rows tr0 .. tr0 + Rb - 1
            nrows = (Rb - 1) * m + A
            for i_r in range(nrows):
                rowsrc[i_r] = pr + dh * (tr0 * m + i_r)
            xg = x0 + n * sN + gi * Cg * g.xsC
            pack_band(vb, xg, &g, rowsrc, nrows, fill, band)
            if wino_band(vb, kind, band, nrows, &g, Rb, ntc, dw, u0 + gi * ugrp, coutg,
                         (b0 + gi * coutg) if b0 != NULL else NULL, vbuf, vbuf + v_elems,
                         tr0 * m, o0 + (n * Cout + gi * coutg) * plane + pr * Wo, plane,
                         hp, Wo, dh * Wo):
                nonfinite[0] = 1
        free(band)
        free(vbuf)
        free(rowsrc)
    if failed[0]:
        raise MemoryError("conv2d: could not allocate the per-thread Winograd buffers "
                          f"({(band_elems + vm_elems) * isz} bytes)")
    return not nonfinite[0]


cdef object _run_flat(plan, const real_t[:, :, :, :] x, const real_t[:, :, :, :] w, const real_t[::1] bias,
                      real_t[:, :, :, ::1] out, a, real_t fill, fc_conv_geom g):
    """run() for a flat plan (F(2x2, 3x3), undilated, fewer tiles per row than lanes): work
    items are runs of band_rows tile rows counted over the batch, whose tiles share the
    lanes (include/fastconv/winograd/flat.h)."""
    cdef Py_ssize_t N = x.shape[0]
    cdef Py_ssize_t Cout = w.shape[0], Cg = w.shape[1]
    cdef Py_ssize_t Ho = out.shape[2], Wo = out.shape[3]
    cdef Py_ssize_t G = a.groups, coutg = Cout // G, isz = sizeof(real_t)
    cdef int64_t vb = checked_vb(plan.vector_bytes)
    cdef int64_t vl = vb // isz
    cdef int64_t ocb = plan.channel_block
    cdef int64_t nob = (coutg + ocb - 1) // ocb
    cdef int64_t ocp = nob * ocb
    cdef int64_t ntr = (Ho + 1) // 2, ntc = (Wo + 1) // 2
    # padded rows packed whole, one phase, into rows of two vectors (2 * ntc + 2 <= 2 * vl)
    cdef int64_t zero[1]
    zero[0] = 0
    g.sw = 1; g.sh = 1; g.npha = 1; g.pstart = &zero[0]; g.xoff = &zero[0]
    g.Wq = 2 * vl; g.Wp = Wo + 2; g.rstep = g.Wq
    cdef int64_t sN = x.strides[0] // isz

    cdef int64_t ugrp = 16 * ocp * Cg
    U_a = _transformed_weights(w, 2, G, ocb, vb, plan.threads)
    if U_a is None:
        return False
    cdef real_t[::1] U = U_a

    cdef int64_t Rf = plan.band_rows
    cdef int64_t nq = N * ntr
    cdef int64_t nb = (nq + Rf - 1) // Rf
    cdef int64_t nitems = G * nb
    cdef int nt = resolve_threads(plan.threads, nitems)
    cdef int64_t tpad = (Rf * ntc + vl - 1) // vl * vl
    cdef int64_t tst = tpad + vl
    cdef int64_t nch = tpad // vl
    cdef int64_t maxrows = 2 * Rf + 2
    cdef size_t band_elems = <size_t>(Cg * maxrows * g.Wq)
    cdef size_t d_elems = <size_t>(Cg * 16 * tst)
    cdef size_t s_elems = <size_t>(coutg * 4 * tpad)
    cdef size_t v_elems = <size_t>(16 * Cg * nch * vl)
    cdef size_t all_elems = band_elems + d_elems + s_elems + v_elems + <size_t>(16 * ocp * nch * vl)

    cdef const real_t *x0 = &x[0, 0, 0, 0]
    cdef real_t *o0 = &out[0, 0, 0, 0]
    cdef const real_t *b0 = &bias[0] if bias is not None else NULL
    cdef real_t *u0 = &U[0]
    cdef int64_t plane = Ho * Wo
    cdef int failed[1]
    cdef int nonfinite[1]
    failed[0] = 0
    nonfinite[0] = 0
    cdef real_t *buf
    cdef int64_t *rowsrc
    cdef int64_t item, gi, q0

    with nogil, parallel(num_threads=nt):
        # band, D, S, V, M one after the other (each a whole number of vectors)
        buf = <real_t *>fc_alloc(all_elems * sizeof(real_t))
        rowsrc = <int64_t *>malloc(maxrows * sizeof(int64_t))
        if buf == NULL or rowsrc == NULL:
            failed[0] = 1
        for item in prange(nitems, schedule="static"):
            if buf == NULL or rowsrc == NULL or nonfinite[0]:
                continue
            gi = item // nb
            q0 = (item % nb) * Rf
            if wino_flat(vb, x0 + gi * Cg * g.xsC, sN, &g, ntr, ntc, q0, min(q0 + Rf, nq), fill, rowsrc, buf,
                         buf + band_elems, buf + band_elems + d_elems, u0 + gi * ugrp, coutg,
                         (b0 + gi * coutg) if b0 != NULL else NULL, buf + band_elems + d_elems + s_elems,
                         buf + band_elems + d_elems + s_elems + v_elems, o0 + gi * coutg * plane, Cout * plane,
                         plane, Ho, Wo):
                nonfinite[0] = 1
        free(buf)
        free(rowsrc)
    if failed[0]:
        raise MemoryError("conv2d: could not allocate the per-thread Winograd buffers "
                          f"({all_elems * isz} bytes)")
    return not nonfinite[0]


cdef object _transformed_weights(const real_t[:, :, :, :] w, int m, Py_ssize_t G, int64_t ocb, int64_t vb,
                                 threads):
    """The transformed weights of F(m x m, 3 x 3), once per call: [group][A*A][oc block][ic][ocb]
    (A = m + 2; the last block's channels past C_out / groups zero), a block of output
    channels per work unit; None when one is not finite (a NaN or infinite weight, or a
    transform past the dtype's range: the call then runs the direct kernels)."""
    cdef Py_ssize_t Cout = w.shape[0], Cg = w.shape[1], isz = sizeof(real_t)
    cdef int64_t coutg = Cout // G, A = m + 2
    cdef int64_t nob = (coutg + ocb - 1) // ocb
    cdef int64_t ugrp = A * A * nob * ocb * Cg
    U_a = np.empty(G * ugrp, dtype=np.float32 if real_t is float else np.float64)
    cdef real_t[::1] U = U_a
    cdef int64_t ws[4]
    cdef Py_ssize_t i
    for i in range(4):
        ws[i] = w.strides[i] // isz
    cdef const real_t *w0 = &w[0, 0, 0, 0]
    cdef real_t *u0 = &U[0]
    cdef int nt = resolve_threads(threads, G * nob)
    cdef int64_t item, gi, ob
    cdef int nonfinite[1]
    nonfinite[0] = 0
    with nogil, parallel(num_threads=nt):
        for item in prange(G * nob, schedule="static"):
            gi = item // nob
            ob = item % nob
            if wino_weights(vb, m, w0 + (gi * coutg + ob * ocb) * ws[0], ws, min(ocb, coutg - ob * ocb), Cg, ocb,
                            nob * Cg * ocb, u0 + gi * ugrp + ob * Cg * ocb):
                nonfinite[0] = 1
    return None if nonfinite[0] else U_a
