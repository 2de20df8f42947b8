/*
 * fastconv/finite.h - does a run of values hold a NaN or an infinity?
 *
 * The fast algorithms (FFT, Winograd, the separable split) mix every input of a tile into
 * every output of it, so one non-finite value would spread beyond the outputs whose windows
 * read it.  The callers scan with these and send what is not finite to the direct kernels,
 * which keep the exact pattern of NaN and +-inf.  x - x is 0 for every finite x and NaN
 * otherwise; the loop has no early exit, so the compiler vectorises it.
 */
#ifndef FASTCONV_FINITE_H
#define FASTCONV_FINITE_H

#include <stdint.h>

#define FC_DEF_NONFINITE(T, NAME)                                                                                      \
    static inline int NAME(const T *x, int64_t n, int64_t s) {                                                         \
        int bad = 0;                                                                                                   \
        if (s == 1)                                                                                                    \
            for (int64_t i = 0; i < n; ++i) bad |= !(x[i] - x[i] == 0);                                                \
        else                                                                                                           \
            for (int64_t i = 0; i < n; ++i) bad |= !(x[i * s] - x[i * s] == 0);                                        \
        return bad;                                                                                                    \
    }
/* 1 when one of the n values x[0], x[s], ..., x[(n - 1) s] is NaN or +-inf. */
FC_DEF_NONFINITE(float, fc_nonfinite_f)
FC_DEF_NONFINITE(double, fc_nonfinite_d)
#undef FC_DEF_NONFINITE

#endif
