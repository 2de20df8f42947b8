/* double kernels, 64-byte vectors (x86-64-v4, where the compiler has it): see fastconv/variants.h. */
#include "fastconv/simd.h"
#ifdef FC_HAVE_V4
#define FC_VARIANT_D64
#include "fastconv/kernels_body.h"

FC_HIDDEN const fc_table_d fc_table_d64 = FC_TABLE_INIT;
#endif
