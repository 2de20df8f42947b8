// Builds src/fastconv/cuda/kernels.cu for the CPU (see harness.h) and exposes one launcher
// that takes kernel parameters the way cudaLaunchKernel does: an array of pointers to them.
#include "harness.h"

#include <cstring>
#include <type_traits>
#include <utility>

#include "kernels.cu"

template <typename... A, std::size_t... I>
static void fc_call(void (*k)(A...), void** args, std::index_sequence<I...>) {
    k(*static_cast<std::remove_cv_t<std::remove_reference_t<A>>*>(args[I])...);
}

template <typename... A>
static void fc_launch(void (*k)(A...), dim3 g, dim3 b, void** args) {
    fc_run_grid(g, b, [&] { fc_call(k, args, std::index_sequence_for<A...>{}); });
}

#define FC_ENTRY(NAME, T)                                          \
    if (std::strcmp(name, #NAME "<" #T ">") == 0) {                \
        fc_launch(&NAME<T>, g, b, args);                           \
        return 0;                                                  \
    }

extern "C" int fc_harness_launch(const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                                 unsigned by, unsigned bz, void** args) {
    const dim3 g{gx, gy, gz}, b{bx, by, bz};
    FC_ENTRY(fc_conv2d, float)
    FC_ENTRY(fc_conv2d, double)
    FC_ENTRY(fc_conv2d_igemm, float)
    FC_ENTRY(fc_conv2d_igemm, double)
    FC_ENTRY(fc_max_pool2d, float)
    FC_ENTRY(fc_max_pool2d, double)
    FC_ENTRY(fc_avg_pool2d, float)
    FC_ENTRY(fc_avg_pool2d, double)
    FC_ENTRY(fc_max_unpool2d, float)
    FC_ENTRY(fc_max_unpool2d, double)
    return 1;  // unknown kernel
}
