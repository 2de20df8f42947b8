// fastconv CUDA kernels, compiled at run time by NVRTC through cupy.RawModule (templates
// instantiated with name_expressions), compiled by nvcc in CI, and run on the CPU by the test
// harness (tests/cuda_harness), which defines the CUDA built-ins this file uses.
//
// No checking is done here: fastconv/_args.py validated every shape and parameter and
// fastconv/cuda/__init__.py allocated the outputs.  Padding modes are index maps (no padded
// copy is made), identical to include/fastconv/pad.h.  All sizes are 64-bit.

typedef long long i64;

#define FC_PAD_ZEROS 0
#define FC_PAD_REFLECT 1
#define FC_PAD_SYMMETRIC 2
#define FC_PAD_REPLICATE 3
#define FC_PAD_CIRCULAR 4

// Output tile of one conv2d block, and the largest input tile / kernel kept in shared memory.
#define FC_TILE 16
#define FC_SMEM_IN 48
#define FC_SMEM_W 1024

__device__ inline i64 fc_mod(i64 a, i64 m) {
    i64 r = a % m;
    return r < 0 ? r + m : r;
}

// Source index in [0, n) of padded position i (negative on the left), or -1 for the fill.
__device__ inline i64 fc_pad_index(i64 i, i64 n, int mode) {
    if (i >= 0 && i < n) return i;
    if (mode == FC_PAD_REFLECT) {
        if (n == 1) return 0;
        i64 p = 2 * (n - 1), m = fc_mod(i, p);
        return m >= n ? p - m : m;
    }
    if (mode == FC_PAD_SYMMETRIC) {
        i64 p = 2 * n, m = fc_mod(i, p);
        return m >= n ? p - 1 - m : m;
    }
    if (mode == FC_PAD_REPLICATE) return i < 0 ? 0 : n - 1;
    if (mode == FC_PAD_CIRCULAR) return fc_mod(i, n);
    return -1;
}

template <typename T> __device__ inline T fc_neg_inf();
template <> __device__ inline float fc_neg_inf<float>() { return -__int_as_float(0x7f800000); }
template <> __device__ inline double fc_neg_inf<double>() { return -__longlong_as_double(0x7ff0000000000000LL); }

// conv2d (cross-correlation), PyTorch semantics.  grid = (ceil(Wo/16), ceil(Ho/16), N*Cout),
// block = (16, 16).  Per input channel the block stages the input tile its 16x16 outputs read
// (padding applied through the index maps) and the channel's kernel in shared memory, when
// they fit; otherwise it reads global memory directly (huge strides or dilations).
template <typename T>
__global__ void fc_conv2d(const T *__restrict__ x, const T *__restrict__ w, const T *__restrict__ bias,
                          T *__restrict__ out, i64 C, i64 H, i64 W, i64 Cout, i64 Cg, i64 kH, i64 kW, i64 Ho, i64 Wo,
                          i64 sh, i64 sw, i64 dh, i64 dw, i64 pt, i64 pl, i64 groups, i64 xs0, i64 xs1, i64 xs2,
                          i64 xs3, int mode, T fill) {
    __shared__ T tile[FC_SMEM_IN * FC_SMEM_IN];
    __shared__ T wsh[FC_SMEM_W];
    const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * FC_TILE + tx;
    const i64 nz = blockIdx.z, n = nz / Cout, oc = nz % Cout, g = oc / (Cout / groups);
    const i64 ow = (i64)blockIdx.x * FC_TILE + tx, oh = (i64)blockIdx.y * FC_TILE + ty;
    const i64 th = (FC_TILE - 1) * sh + (kH - 1) * dh + 1, tw = (FC_TILE - 1) * sw + (kW - 1) * dw + 1;
    const bool use_tile = th <= FC_SMEM_IN && tw <= FC_SMEM_IN;
    const bool use_w = kH * kW <= FC_SMEM_W;
    const i64 r0 = (i64)blockIdx.y * FC_TILE * sh, c0 = (i64)blockIdx.x * FC_TILE * sw;
    T acc = bias != 0 ? bias[oc] : (T)0;
    for (i64 ic = 0; ic < Cg; ++ic) {
        const T *xc = x + n * xs0 + (g * Cg + ic) * xs1;
        const T *wc = w + (oc * Cg + ic) * kH * kW;
        if (use_tile) {
            for (i64 i = tid; i < th * tw; i += FC_TILE * FC_TILE) {
                const i64 sr = fc_pad_index(r0 + i / tw - pt, H, mode);
                const i64 sc = fc_pad_index(c0 + i % tw - pl, W, mode);
                tile[i] = (sr < 0 || sc < 0) ? fill : xc[sr * xs2 + sc * xs3];
            }
        }
        if (use_w)
            for (i64 i = tid; i < kH * kW; i += FC_TILE * FC_TILE) wsh[i] = wc[i];
        __syncthreads();
        if (oh < Ho && ow < Wo) {
            for (i64 kh = 0; kh < kH; ++kh) {
                for (i64 kw = 0; kw < kW; ++kw) {
                    T xv;
                    if (use_tile) {
                        xv = tile[(ty * sh + kh * dh) * tw + tx * sw + kw * dw];
                    } else {
                        const i64 sr = fc_pad_index(oh * sh + kh * dh - pt, H, mode);
                        const i64 sc = fc_pad_index(ow * sw + kw * dw - pl, W, mode);
                        xv = (sr < 0 || sc < 0) ? fill : xc[sr * xs2 + sc * xs3];
                    }
                    acc += xv * (use_w ? wsh[kh * kW + kw] : wc[kh * kW + kw]);
                }
            }
        }
        __syncthreads();
    }
    if (oh < Ho && ow < Wo) out[((n * Cout + oc) * Ho + oh) * Wo + ow] = acc;
}

// conv2d as an implicit GEMM, for channel-heavy shapes: per (sample, group),
// out[oc][p] = sum_k w[oc][k] * col[k][p] + bias[oc], with k = (ic, kh, kw) running over
// K = Cg*kH*kW and p over the Ho*Wo output pixels.  The im2col matrix col is never built:
// each block gathers the BK x BN slice it needs straight from x into shared memory (padding
// through the index maps).  grid = (ceil(P/BN), ceil(Cout_g/BM), N*groups), block = (16, 16);
// each thread accumulates a 4 x 4 register tile, output channels ty + 16*i and pixels
// tx + 16*j (so consecutive threads store consecutive pixels).
#define FC_GEMM_BM 64
#define FC_GEMM_BN 64
#define FC_GEMM_BK 16
template <typename T>
__global__ void fc_conv2d_igemm(const T *__restrict__ x, const T *__restrict__ w, const T *__restrict__ bias,
                                T *__restrict__ out, i64 C, i64 H, i64 W, i64 Cout, i64 Cg, i64 kH, i64 kW, i64 Ho,
                                i64 Wo, i64 sh, i64 sw, i64 dh, i64 dw, i64 pt, i64 pl, i64 groups, i64 xs0, i64 xs1,
                                i64 xs2, i64 xs3, int mode, T fill) {
    __shared__ T As[FC_GEMM_BK][FC_GEMM_BM];
    __shared__ T Bs[FC_GEMM_BK][FC_GEMM_BN];
    const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * 16 + tx;
    const i64 coutg = Cout / groups, n = blockIdx.z / groups, g = blockIdx.z % groups;
    const i64 P = Ho * Wo, K = Cg * kH * kW, taps = kH * kW;
    const i64 p0 = (i64)blockIdx.x * FC_GEMM_BN, m0 = (i64)blockIdx.y * FC_GEMM_BM;
    const T *xg = x + n * xs0 + g * Cg * xs1;
    const T *wg = w + g * coutg * K;
    T acc[4][4];
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) acc[i][j] = (T)0;
    for (i64 k0 = 0; k0 < K; k0 += FC_GEMM_BK) {
        for (int e = tid; e < FC_GEMM_BM * FC_GEMM_BK; e += 256) { // weights, read along k
            const int m = e / FC_GEMM_BK, kk = e % FC_GEMM_BK;
            const i64 oc = m0 + m, k = k0 + kk;
            As[kk][m] = (oc < coutg && k < K) ? wg[oc * K + k] : (T)0;
        }
        for (int e = tid; e < FC_GEMM_BK * FC_GEMM_BN; e += 256) { // input, read along p
            const int kk = e / FC_GEMM_BN, pp = e % FC_GEMM_BN;
            const i64 k = k0 + kk, p = p0 + pp;
            T v = (T)0;
            if (k < K && p < P) {
                const i64 ic = k / taps, r = k % taps, kh = r / kW, kw = r % kW;
                const i64 oh = p / Wo, ow = p % Wo;
                const i64 sr = fc_pad_index(oh * sh + kh * dh - pt, H, mode);
                const i64 sc = fc_pad_index(ow * sw + kw * dw - pl, W, mode);
                v = (sr < 0 || sc < 0) ? fill : xg[ic * xs1 + sr * xs2 + sc * xs3];
            }
            Bs[kk][pp] = v;
        }
        __syncthreads();
        for (int kk = 0; kk < FC_GEMM_BK; ++kk) {
            T a[4], b[4];
            for (int i = 0; i < 4; ++i) a[i] = As[kk][ty + 16 * i];
            for (int j = 0; j < 4; ++j) b[j] = Bs[kk][tx + 16 * j];
            for (int i = 0; i < 4; ++i)
                for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
        }
        __syncthreads();
    }
    for (int i = 0; i < 4; ++i) {
        const i64 oc = m0 + ty + 16 * i;
        if (oc >= coutg) continue;
        const T bv = bias != 0 ? bias[g * coutg + oc] : (T)0;
        T *dst = out + (n * Cout + g * coutg + oc) * P;
        for (int j = 0; j < 4; ++j) {
            const i64 p = p0 + tx + 16 * j;
            if (p < P) dst[p] = acc[i][j] + bv;
        }
    }
}

// Taps [lo, hi) of a window starting at `start` with step d that fall inside [0, n).
__device__ inline void fc_tap_range(i64 start, i64 k, i64 d, i64 n, i64 *lo, i64 *hi) {
    i64 a = start < 0 ? (-start + d - 1) / d : 0;
    i64 b = start > n - 1 ? 0 : (n - 1 - start) / d + 1;
    if (b > k) b = k;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

// max_pool2d, one thread per output; PyTorch's tie / NaN / -inf rules (see pool.h).
template <typename T>
__global__ void fc_max_pool2d(const T *__restrict__ x, T *__restrict__ out, i64 *__restrict__ idx, i64 total, i64 C,
                              i64 H, i64 W, i64 Ho, i64 Wo, i64 kH, i64 kW, i64 sH, i64 sW, i64 pH, i64 pW, i64 dH,
                              i64 dW, i64 xs0, i64 xs1, i64 xs2, i64 xs3) {
    const i64 t = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= total) return;
    const i64 ow = t % Wo, oh = (t / Wo) % Ho, p = t / (Wo * Ho);
    const T *xp = x + (p / C) * xs0 + (p % C) * xs1;
    const i64 h0 = oh * sH - pH, w0 = ow * sW - pW;
    i64 khlo, khhi, kwlo, kwhi;
    fc_tap_range(h0, kH, dH, H, &khlo, &khhi);
    fc_tap_range(w0, kW, dW, W, &kwlo, &kwhi);
    T best = fc_neg_inf<T>();
    i64 bi = (h0 + khlo * dH) * W + (w0 + kwlo * dW);
    for (i64 kh = khlo; kh < khhi; ++kh) {
        const i64 h = h0 + kh * dH;
        for (i64 kw = kwlo; kw < kwhi; ++kw) {
            const i64 ww = w0 + kw * dW;
            const T v = xp[h * xs2 + ww * xs3];
            if (v > best || v != v) {
                best = v;
                bi = h * W + ww;
            }
        }
    }
    out[t] = best;
    if (idx != 0) idx[t] = bi;
}

// avg_pool2d, one thread per output; divisor rules as in pool.h.
template <typename T>
__global__ void fc_avg_pool2d(const T *__restrict__ x, T *__restrict__ out, i64 total, i64 C, i64 H, i64 W, i64 Ho,
                              i64 Wo, i64 kH, i64 kW, i64 sH, i64 sW, i64 pH, i64 pW, int count_include_pad,
                              i64 divisor_override, i64 xs0, i64 xs1, i64 xs2, i64 xs3) {
    const i64 t = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= total) return;
    const i64 ow = t % Wo, oh = (t / Wo) % Ho, p = t / (Wo * Ho);
    const T *xp = x + (p / C) * xs0 + (p % C) * xs1;
    const i64 h0 = oh * sH - pH, w0 = ow * sW - pW;
    i64 hend = h0 + kH, wend = w0 + kW;
    if (hend > H + pH) hend = H + pH;
    if (wend > W + pW) wend = W + pW;
    const i64 hs = h0 < 0 ? 0 : h0, he = hend > H ? H : hend;
    const i64 ws = w0 < 0 ? 0 : w0, we = wend > W ? W : wend;
    T sum = 0;
    for (i64 h = hs; h < he; ++h)
        for (i64 ww = ws; ww < we; ++ww) sum += xp[h * xs2 + ww * xs3];
    i64 div;
    if (divisor_override != 0)
        div = divisor_override;
    else if (count_include_pad)
        div = (hend - h0) * (wend - w0);
    else
        div = (he - hs) * (we - ws);
    out[t] = sum / (T)div;
}

// max_unpool2d: one thread per input element; out (zeroed, N*C planes of `size`) gets
// v at its index.  An index outside [0, size) sets *bad to 1 and writes nothing.
template <typename T>
__global__ void fc_max_unpool2d(const T *__restrict__ v, const i64 *__restrict__ idx, T *__restrict__ out,
                                int *__restrict__ bad, i64 total, i64 C, i64 h, i64 w, i64 size, i64 vs0, i64 vs1,
                                i64 vs2, i64 vs3, i64 is0, i64 is1, i64 is2, i64 is3) {
    const i64 t = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= total) return;
    const i64 j = t % w, i = (t / w) % h, p = t / (w * h), n = p / C, c = p % C;
    const i64 k = idx[n * is0 + c * is1 + i * is2 + j * is3];
    if (k < 0 || k >= size) {
        *bad = 1;
        return;
    }
    out[p * size + k] = v[n * vs0 + c * vs1 + i * vs2 + j * vs3];
}
