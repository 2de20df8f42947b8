/*
 * fastconv/omp_compat.h - OpenMP with do-nothing stand-ins.
 *
 * Everything in fastconv that touches OpenMP goes through this header (via _omp.pxd),
 * so the extension builds and imports with or without OpenMP.  No checking is done here.
 */
#ifndef FASTCONV_OMP_COMPAT_H
#define FASTCONV_OMP_COMPAT_H

#ifdef _OPENMP
#include <omp.h>
#define FC_HAVE_OPENMP 1
#else
#define FC_HAVE_OPENMP 0
static inline int omp_get_max_threads(void) { return 1; }
static inline int omp_get_num_procs(void) { return 1; }
static inline int omp_get_thread_num(void) { return 0; }
static inline int omp_get_num_threads(void) { return 1; }
static inline void omp_set_num_threads(int n) { (void)n; }
#endif

/* Compiler identification for show_config(). */
#if defined(__clang__)
#define FC_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define FC_COMPILER "gcc " __VERSION__
#elif defined(_MSC_VER)
#define FC_COMPILER "msvc"
#else
#define FC_COMPILER "unknown"
#endif

#endif /* FASTCONV_OMP_COMPAT_H */
