/* double kernels, 32-byte vectors (AVX2+FMA and baseline clones): see fastconv/variants.h. */
#define FC_VARIANT_D32
#include "fastconv/kernels_body.h"

FC_HIDDEN const fc_table_d fc_table_d32 = FC_TABLE_INIT;
