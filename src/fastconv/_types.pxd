# Fused types and C typedefs shared by every fastconv .pyx module.
from libc.stdint cimport int64_t

ctypedef fused real_t:
    float
    double
