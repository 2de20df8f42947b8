/* float kernels, 64-byte vectors (x86-64-v4, where the compiler has it): see fastconv/variants.h. */
#include "fastconv/simd.h"
#ifdef FC_HAVE_V4
#define FC_VARIANT_F64
#include "fastconv/kernels_body.h"

FC_HIDDEN const fc_table_f fc_table_f64 = FC_TABLE_INIT;
#endif
