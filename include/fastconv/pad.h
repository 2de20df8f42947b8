/*
 * fastconv/pad.h - index maps for the padding modes.
 *
 * fc_pad_index(i, n, mode) gives the source index in [0, n) that padded position i (counted
 * from the first real element, so negative on the left) reads, or -1 for a constant fill.
 * It equals numpy.pad for every padding size, also larger than the input:
 *   FC_PAD_ZEROS -> "constant", FC_PAD_REFLECT -> "reflect", FC_PAD_SYMMETRIC -> "symmetric",
 *   FC_PAD_REPLICATE -> "edge", FC_PAD_CIRCULAR -> "wrap".
 * No checking is done here: n >= 1 is the caller's promise.
 */
#ifndef FASTCONV_PAD_H
#define FASTCONV_PAD_H

#include <stdint.h>

enum { FC_PAD_ZEROS = 0, FC_PAD_REFLECT = 1, FC_PAD_SYMMETRIC = 2, FC_PAD_REPLICATE = 3, FC_PAD_CIRCULAR = 4 };

static inline int64_t fc_mod(int64_t a, int64_t m) {
    int64_t r = a % m;
    return r < 0 ? r + m : r;
}

static inline int64_t fc_pad_index(int64_t i, int64_t n, int mode) {
    if (i >= 0 && i < n) return i;
    switch (mode) {
    case FC_PAD_REFLECT: {
        if (n == 1) return 0;
        int64_t p = 2 * (n - 1), m = fc_mod(i, p);
        return m >= n ? p - m : m;
    }
    case FC_PAD_SYMMETRIC: {
        int64_t p = 2 * n, m = fc_mod(i, p);
        return m >= n ? p - 1 - m : m;
    }
    case FC_PAD_REPLICATE: return i < 0 ? 0 : n - 1;
    case FC_PAD_CIRCULAR: return fc_mod(i, n);
    default: return -1;
    }
}

/* Fill map[0 .. len) with the source index of padded positions -before .. len-before-1. */
static inline void fc_pad_map(int64_t *map, int64_t len, int64_t before, int64_t n, int mode) {
    for (int64_t i = 0; i < len; ++i) map[i] = fc_pad_index(i - before, n, mode);
}

#endif /* FASTCONV_PAD_H */
