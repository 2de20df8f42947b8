# The one OpenMP wrapper every fastconv module cimports.  omp_compat.h supplies do-nothing
# stand-ins when the build has no OpenMP, so every module builds and imports either way.
from libc.stdint cimport int64_t

cdef extern from "fastconv/omp_compat.h" nogil:
    int omp_get_max_threads()
    int omp_get_num_procs()
    int omp_get_thread_num()
    int FC_HAVE_OPENMP
    const char *FC_COMPILER

cdef extern from "fastconv/simd.h" nogil:
    const char *fc_simd_level()
    const char *fc_simd_compiled()
    void fc_cpu_vendor(char *out)
    int64_t fc_cpu_l2_bytes()
    int fc_cpu_family()

cpdef int resolve_threads(object num_threads, Py_ssize_t work=*) except -1
