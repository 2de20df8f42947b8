/*
 * fastconv/simd.h - portable vector types and runtime SIMD dispatch.
 *
 * Kernels are written once with GCC/Clang vector extensions.  On x86-64, FC_MULTIVERSION
 * compiles a function several times (AVX-512, AVX2+FMA, baseline SSE2) and the loader picks
 * the best clone for the running CPU (ifunc), so wheels need no -march flag.
 * No checking is done here.
 */
#ifndef FASTCONV_SIMD_H
#define FASTCONV_SIMD_H

#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <stdint.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(FC_NO_MULTIVERSION) &&                 \
    !defined(__SANITIZE_ADDRESS__)
#define FC_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define FC_MULTIVERSION_ON 1
#else
#define FC_MULTIVERSION
#endif

/* Kernels written for 64-byte vectors, compiled for x86-64-v4 (AVX-512F/BW/CD/DQ/VL) and
 * called only when fc_cpu_has_v4(). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(FC_NO_MULTIVERSION)
#define FC_HAVE_V4 1
#define FC_TARGET_V4 __attribute__((target("arch=x86-64-v4")))
static inline int fc_cpu_has_v4(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("x86-64-v4");
}
#endif

#define FC_INLINE static inline __attribute__((always_inline))

/* A cache-line (64-byte) aligned block for the kernels' work buffers, released with free():
 * the vector loads of a buffer that malloc aligned to 16 bytes split cache lines and ran
 * up to a fifth slower, depending on where the allocator put it.  NULL on failure. */
static inline void *fc_alloc(size_t bytes) {
    void *p = NULL;
    return posix_memalign(&p, 64, bytes ? bytes : 64) == 0 ? p : NULL;
}

/* Prefetch the n bytes at p (every cache line of them) for reading, into L1. */
static inline void fc_prefetch_bytes(const void *p, int64_t n) {
    const char *c = (const char *)p;
    for (int64_t o = 0; o < n; o += 64) __builtin_prefetch(c + o, 0, 3);
    if (n > 0) __builtin_prefetch(c + n - 1, 0, 3);
}

/* fc_prefetch_bytes for data read once and not again soon (non-temporal: it displaces less
 * of what the caches hold). */
static inline void fc_prefetch_stream(const void *p, int64_t n) {
    const char *c = (const char *)p;
    for (int64_t o = 0; o < n; o += 64) __builtin_prefetch(c + o, 0, 0);
    if (n > 0) __builtin_prefetch(c + n - 1, 0, 0);
}

/* Two-source lane shuffle: lane l of the result is lane sel[l] of a, or lane sel[l] - n of b
 * when sel[l] >= n (n lanes; sel an integer vector of the same shape).  GCC has a builtin;
 * elsewhere (Clang) lane by lane, which the optimiser folds when sel is a constant. */
#if defined(__GNUC__) && !defined(__clang__)
#define FC_SHUFFLE2(a, b, sel) __builtin_shuffle((a), (b), (sel))
#else
#define FC_SHUFFLE2(a, b, sel)                                                                                         \
    __extension__({                                                                                                    \
        const __typeof__(a) fc_a_ = (a), fc_b_ = (b);                                                                  \
        const __typeof__(sel) fc_s_ = (sel);                                                                           \
        __typeof__(a) fc_r_;                                                                                           \
        const int fc_n_ = (int)(sizeof(fc_a_) / sizeof(fc_a_[0]));                                                     \
        for (int fc_l_ = 0; fc_l_ < fc_n_; ++fc_l_) {                                                                  \
            const int fc_i_ = (int)fc_s_[fc_l_];                                                                       \
            fc_r_[fc_l_] = fc_i_ < fc_n_ ? fc_a_[fc_i_] : fc_b_[fc_i_ - fc_n_];                                        \
        }                                                                                                              \
        fc_r_;                                                                                                         \
    })
#endif
#define FC_RESTRICT __restrict__

/* 32-byte vectors: 8 floats or 4 doubles (two SSE registers on baseline x86-64). */
typedef float fc_vf __attribute__((vector_size(32)));
typedef double fc_vd __attribute__((vector_size(32)));
/* 64-byte vectors: 16 floats or 8 doubles (for FC_TARGET_V4 code). */
typedef float fc_vf64 __attribute__((vector_size(64)));
typedef double fc_vd64 __attribute__((vector_size(64)));

/* The SIMD levels compiled into the kernels, best first (for show_config): three clones
 * with runtime dispatch on x86-64 GCC, otherwise the one level the compiler flags allow
 * (Clang and sanitizer builds, other architectures, -march builds). */
static inline const char *fc_simd_compiled(void) {
#if defined(FC_MULTIVERSION_ON)
    return "AVX-512, AVX2+FMA, SSE2 (runtime dispatch)";
#elif defined(__AVX512F__)
    return "AVX-512";
#elif defined(__AVX2__) && defined(__FMA__)
    return "AVX2+FMA";
#elif defined(__SSE2__)
    return "SSE2";
#elif defined(__ARM_NEON) || defined(__aarch64__)
    return "NEON";
#else
    return "generic";
#endif
}

/* The CPU's vendor string from CPUID leaf 0 ("GenuineIntel", "AuthenticAMD", ...) into
 * out[13], or "" off x86 or where the compiler has no <cpuid.h>: the planner keys the few
 * choices that differ between the vendors' caches on it. */
static inline void fc_cpu_vendor(char *out) {
    out[0] = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    unsigned int a, b, c, d;
    if (__get_cpuid(0, &a, &b, &c, &d)) {
        memcpy(out, &b, 4);
        memcpy(out + 4, &d, 4);
        memcpy(out + 8, &c, 4);
        out[12] = 0;
    }
#endif
}

/* The CPU's display family from CPUID leaf 1 (the base family, plus the extended family
 * where the base is 15: AMD Zen 3 and Zen 4 are 25, Zen 5 26; Intel's cores 6), or 0 off
 * x86 or where the compiler has no <cpuid.h>: with the vendor, it tells the planner how
 * fast the cores run their widest vectors. */
static inline int fc_cpu_family(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    unsigned int a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        const unsigned int base = (a >> 8) & 0xF;
        return (int)(base == 0xF ? base + ((a >> 20) & 0xFF) : base);
    }
#endif
    return 0;
}

/* The size of one core's second-level cache in bytes from CPUID leaf 0x80000006 (ECX bits
 * 31:16, KiB; Intel and AMD alike), or 0 off x86, where the compiler has no <cpuid.h> or
 * where the CPU does not report it: the planner sizes its packed bands by it. */
static inline int64_t fc_cpu_l2_bytes(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    unsigned int a, b, c, d;
    if (__get_cpuid_max(0x80000000u, NULL) >= 0x80000006u && __get_cpuid(0x80000006u, &a, &b, &c, &d))
        return (int64_t)(c >> 16) * 1024;
#endif
    return 0;
}

/* The SIMD level the kernels run at on this CPU: the best compiled level it supports (the
 * clone the loader picks, by the same x86-64-v4 / v3 tests). */
static inline const char *fc_simd_level(void) {
#if defined(FC_MULTIVERSION_ON)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4")) return "AVX-512";
    if (__builtin_cpu_supports("x86-64-v3")) return "AVX2+FMA";
    return "SSE2";
#else
    return fc_simd_compiled();
#endif
}

#endif /* FASTCONV_SIMD_H */
