/*
 * fastconv/variants.h - the one list of kernel instantiations: dtype x vector width.
 *
 * Every kernel family is written once, in terms of FC_T (the scalar), FC_V (a vector of
 * FC_T), FC_VL (its lanes), FC_ATTR (the functions' target) and the tile sizes below, and
 * compiled once per variant: src/kernels/<variant>.c defines FC_VARIANT_<NAME>, includes
 * fastconv/kernels_body.h and exports that variant's table of entry points, fc_table_<name>
 * (fastconv/kernels.h).  Inside a variant the kernels are static functions with plain
 * names (fc_conv_band, fc_tile_full, fc_dw_sweep_sq3, ...), the names a profile shows.
 *
 *   variant  FC_T    FC_V     target                                   tiles
 *   F32      float   fc_vf    AVX2+FMA and baseline clones (ifunc)     *_32
 *   D32      double  fc_vd    AVX2+FMA and baseline clones (ifunc)     *_32
 *   F64      float   fc_vf64  x86-64-v4 (AVX-512), where FC_HAVE_V4    *_V4
 *   D64      double  fc_vd64  x86-64-v4 (AVX-512), where FC_HAVE_V4    *_V4
 *
 * The 64-byte variants also have lane shifts (FC_ALIGNR: valignd/valignq), loads of a
 * vector's first n < VL lanes that touch no memory past them (FC_LOAD_HEAD: masked loads)
 * and streaming stores (FC_STREAM).  The caller picks the vector width for a whole call
 * (the planner's Plan.vector_bytes), since the row padding of the packed bands depends on
 * it.
 */
#ifndef FASTCONV_VARIANTS_H
#define FASTCONV_VARIANTS_H

#include "fastconv/simd.h"
#include "fastconv/tuning.h"

#if defined(FC_VARIANT_F32)
#define FC_T float
#define FC_V fc_vf
#elif defined(FC_VARIANT_D32)
#define FC_T double
#define FC_V fc_vd
#elif defined(FC_VARIANT_F64)
#define FC_T float
#define FC_V fc_vf64
#define FC_ALIGNR fc_alignr_f64
#define FC_LOAD_HEAD(p, n)                                                                                             \
    ((fc_vf64)__builtin_ia32_loadups512_mask((p), (fc_vf64){0}, (unsigned short)((1u << (n)) - 1)))
#define FC_STREAM(p, v) __builtin_ia32_movntps512((p), (v))
#elif defined(FC_VARIANT_D64)
#define FC_T double
#define FC_V fc_vd64
#define FC_ALIGNR fc_alignr_d64
#define FC_LOAD_HEAD(p, n)                                                                                             \
    ((fc_vd64)__builtin_ia32_loadupd512_mask((p), (fc_vd64){0}, (unsigned char)((1u << (n)) - 1)))
#define FC_STREAM(p, v) __builtin_ia32_movntpd512((p), (v))
#else
#error "define one FC_VARIANT_* before including fastconv/variants.h"
#endif

#if defined(FC_VARIANT_F32) || defined(FC_VARIANT_D32)
#define FC_ATTR FC_MULTIVERSION
#define FC_OCBW FC_OCB_WIDE_32
#define FC_OCB_M FC_OCB_MID_32
#define FC_OCB_S FC_OCB_SMALL_32
#define FC_NCOL FC_NCOL_32
#define FC_WOCB FC_WOCB_32
#define FC_NV_ROWS FC_NV_ROWS_32
#define FC_WGP_MO FC_WGP_MO_32
#define FC_WGP_NC FC_WGP_NC_32
#else
#define FC_ATTR FC_TARGET_V4
#define FC_OCBW FC_OCB_WIDE_V4
#define FC_OCB_M FC_OCB_MID_V4
#define FC_OCB_S FC_OCB_SMALL_V4
#define FC_OCB_SIX FC_OCB_SIX_V4
#define FC_NCOL FC_NCOL_V4
#define FC_WOCB FC_WOCB_V4
#define FC_NV_ROWS FC_NV_ROWS_V4
#define FC_WGP_MO FC_WGP_MO_V4
#define FC_WGP_NC FC_WGP_NC_V4
#endif

#define FC_VL ((int64_t)(sizeof(FC_V) / sizeof(FC_T)))
#define FC_WGP_PACK_VECS (FC_WGP_PACK_BYTES / (int64_t)sizeof(FC_V) + 1)

/* FC_IN_REGISTER(v): v stays in a register from here on: the empty asm takes and gives it
 * back, so the compiler cannot fold its load into each use (a folded use loads again, and a
 * value that feeds several multiply-adds then costs a load per use).  64-byte variants
 * only, whose 32 registers have room. */
#if defined(FC_VARIANT_F64) || defined(FC_VARIANT_D64)
#define FC_IN_REGISTER(v) __asm__("" : "+v"(v))
#else
#define FC_IN_REGISTER(v) ((void)0)
#endif

/* Lane selectors for FC_SHUFFLE2 over two FC_V: the signed integer vector type of the same
 * shape (what comparing two FC_V gives). */
typedef __typeof__((FC_V){0} < (FC_V){0}) fc_sel;

#if defined(FC_VARIANT_F64) || defined(FC_VARIANT_D64)
/* Lanes k.. of lo followed by the first k lanes of hi: valignd/valignq, one uop taking the
 * shift as an immediate (GCC 12 builds __builtin_shuffle of this pattern from vpermt2ps and
 * an index register, reloaded on each use when the registers are full).  The builtins, not
 * the intrinsics, so that these inline into the generic-target helpers that the v4 kernels
 * inline in turn; k is a constant once the callers' loops are unrolled, and the switch
 * gives each builtin a literal. */
#include <immintrin.h> /* declares the builtins below */
typedef int fc_vi64 __attribute__((vector_size(64)));
typedef long long fc_vq64 __attribute__((vector_size(64)));
#define FC_DEF_ALIGNR(NAME, V, I, B, M)                                                                                \
    FC_INLINE V NAME(V lo, V hi, int k) {                                                                              \
        const I a = (I)hi, b = (I)lo, z = {0};                                                                         \
        switch (k) {                                                                                                   \
        case 1: return (V)B(a, b, 1, z, (M) - 1);                                                                      \
        case 2: return (V)B(a, b, 2, z, (M) - 1);                                                                      \
        case 3: return (V)B(a, b, 3, z, (M) - 1);                                                                      \
        case 4: return (V)B(a, b, 4, z, (M) - 1);                                                                      \
        case 5: return (V)B(a, b, 5, z, (M) - 1);                                                                      \
        case 6: return (V)B(a, b, 6, z, (M) - 1);                                                                      \
        case 7: return (V)B(a, b, 7, z, (M) - 1);                                                                      \
        default: return lo;                                                                                            \
        }                                                                                                              \
    }
FC_DEF_ALIGNR(fc_alignr_f64, fc_vf64, fc_vi64, __builtin_ia32_alignd512_mask, unsigned short)
FC_DEF_ALIGNR(fc_alignr_d64, fc_vd64, fc_vq64, __builtin_ia32_alignq512_mask, unsigned char)
#undef FC_DEF_ALIGNR
#endif

#endif /* FASTCONV_VARIANTS_H */
