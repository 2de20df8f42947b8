// CPU stand-ins for the CUDA built-ins used by src/fastconv/cuda/kernels.cu, so the very same
// source runs on the CPU in the tests.  A launch runs the grid's blocks one after another; the
// threads of a block run concurrently as std::threads, __syncthreads() is a std::barrier, and
// __shared__ variables are function statics (shared by the block's threads; blocks do not
// overlap, so each block sees its own shared memory).
#pragma once
#include <barrier>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};

inline thread_local dim3 threadIdx;
inline dim3 blockIdx, blockDim, gridDim;
inline std::barrier<>* fc_block_barrier = nullptr;

#define __global__
#define __device__
#define __shared__ static

inline void __syncthreads() { fc_block_barrier->arrive_and_wait(); }
inline float __int_as_float(int i) {
    float f;
    std::memcpy(&f, &i, sizeof f);
    return f;
}
inline double __longlong_as_double(long long i) {
    double d;
    std::memcpy(&d, &i, sizeof d);
    return d;
}

template <class F>
void fc_run_grid(dim3 grid, dim3 block, F body) {
    gridDim = grid;
    blockDim = block;
    const unsigned n = block.x * block.y * block.z;
    for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
            for (unsigned x = 0; x < grid.x; ++x) {
                blockIdx = dim3{x, y, z};
                std::barrier<> bar(n);
                fc_block_barrier = &bar;
                std::vector<std::thread> threads;
                threads.reserve(n);
                for (unsigned t = 0; t < n; ++t)
                    threads.emplace_back([&, t] {
                        threadIdx = dim3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
                        body();
                    });
                for (auto& th : threads) th.join();
            }
}
