/* float kernels, 32-byte vectors (AVX2+FMA and baseline clones): see fastconv/variants.h. */
#define FC_VARIANT_F32
#include "fastconv/kernels_body.h"

FC_HIDDEN const fc_table_f fc_table_f32 = FC_TABLE_INIT;
