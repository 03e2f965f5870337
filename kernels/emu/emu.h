// emu.h - a CPU emulation of the few CUDA built-ins our kernels use, so the kernels of
// kernels/<op>/*.cu can be compiled as plain C++ (with AV_CUDA_EMU defined) and checked on a
// machine without a GPU. Blocks run one after another; each CUDA thread of a block is a
// std::thread, __syncthreads is a barrier of the block, and warp shuffles exchange
// values through a per-warp barrier. That is real concurrency, so a missing
// __syncthreads or a read of shared memory before it is written shows up as a wrong (or
// varying) result; dynamic shared memory starts as NaNs for the same reason.
// What it cannot show: speed, memory coalescing, bank conflicts, launch limits, and
// anything about cuBLAS. Used by the case files kernels/<op>/<op>_emu.cpp
// (kernels/emu/run.sh; what is covered: COVERAGE.md). Since blocks run in turn,
// a kernel whose threads wait on other blocks (the t-SNE tree's summarise and sort)
// finishes here only as a single block; launched as several, it is the case of a
// grid that is not all resident at once on a GPU, and its waits must give up
// (av_time_ns is the host's steady clock). The atomics are the compiler's __atomic
// built-ins on the same addresses the kernel uses.
// Memory seen from several SMs: plain loads through an av_gmem pointer (common.cuh) go
// through a cache per warp (each warp stands for an SM of its own) that keeps the first
// value it read of each word until the block ends, whatever other warps store since, as
// an SM's L1 does on the GPU; __ldcg, volatile loads and atomics read memory itself.
// Only arrays declared av_gmem are modelled so (the t-SNE tree's chains); the model
// keeps words, not 128-byte lines, so it holds fewer old values than a GPU can.
#ifndef AV_KERNELS_EMU_EMU_H
#define AV_KERNELS_EMU_EMU_H
#include <algorithm>
#include <barrier>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

// Host-side handle types that project_internal.cuh names (only their size matters here).
typedef void *cudaStream_t;
typedef void *cublasHandle_t;

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
struct float4 { float x, y, z, w; };
inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
extern "C" uint16_t av_f32_to_f16(float f);   // base/dtype.c: round to nearest even, as __float2half_rn
extern "C" float av_f16_to_f32(uint16_t h);   // base/dtype.c: exact, as __half2float
struct __half { uint16_t bits; };
inline __half __float2half_rn(float f) { return __half{av_f32_to_f16(f)}; }
inline __half __ushort_as_half(uint16_t b) { return __half{b}; }
inline float __half2float(__half h) { return av_f16_to_f32(h.bits); }
inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }

inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(n)
#define __shared__ static   // one block at a time: a static is shared by its threads
using std::max;
using std::min;
// CUDA's integer min/max are plain functions: they take a volatile int as readily as an int.
inline int max(int a, int b) { return a > b ? a : b; }
inline int min(int a, int b) { return a < b ? a : b; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
// CUDA's sin and cos of pi * t (the reduction is exact, so no slow path: kernels/rope/rope.cu)
inline void sincospi(double t, double *s, double *c) {
    const double pi = 3.14159265358979323846;
    *s = std::sin(pi * t);
    *c = std::cos(pi * t);
}

// One warp's (one "SM"'s) cache of av_gmem words: address -> the value it first read.
struct emu_l1 {
    std::mutex m;
    std::unordered_map<const void *, uint64_t> words;
};

struct emu_block_state {
    std::unique_ptr<std::barrier<>> block;
    std::vector<std::unique_ptr<emu_l1>> l1;   // per warp
    std::vector<std::unique_ptr<std::barrier<>>> warps;
    float exchange[1024];
    double exchange_d[1024];
    unsigned vote[1024];
    std::vector<float> smem;
    std::mutex atomics;
};
inline emu_block_state emu;

inline float *emu_dynamic_smem() { return emu.smem.data(); }
inline void __syncthreads() { emu.block->arrive_and_wait(); }
inline float emu_shuffle(float v, int src_lane) {
    const int w = threadIdx.x / 32;
    emu.exchange[threadIdx.x] = v;
    emu.warps[w]->arrive_and_wait();
    const float r = emu.exchange[w * 32 + (src_lane & 31)];
    emu.warps[w]->arrive_and_wait();   // nobody overwrites the exchange before all have read
    return r;
}
inline double emu_shuffle_d(double v, int src_lane) {
    const int w = threadIdx.x / 32;
    emu.exchange_d[threadIdx.x] = v;
    emu.warps[w]->arrive_and_wait();
    const double r = emu.exchange_d[w * 32 + (src_lane & 31)];
    emu.warps[w]->arrive_and_wait();
    return r;
}
inline float __shfl_xor_sync(unsigned, float v, int mask) { return emu_shuffle(v, (threadIdx.x % 32) ^ mask); }
inline double __shfl_xor_sync(unsigned, double v, int mask) { return emu_shuffle_d(v, (threadIdx.x % 32) ^ mask); }
inline float __shfl_sync(unsigned, float v, int lane) { return emu_shuffle(v, lane); }
inline void __syncwarp(unsigned = 0xffffffffu) { emu.warps[threadIdx.x / 32]->arrive_and_wait(); }
// The lanes' predicates as a mask (lane i -> bit i), like the hardware's vote.
inline unsigned __ballot_sync(unsigned, int pred) {
    const int w = threadIdx.x / 32, nl = std::min(32, (int)blockDim.x - w * 32);
    emu.vote[threadIdx.x] = pred != 0;
    emu.warps[w]->arrive_and_wait();
    unsigned m = 0;
    for (int l = 0; l < nl; l++) m |= emu.vote[w * 32 + l] << l;
    emu.warps[w]->arrive_and_wait();
    return m;
}
inline int __all_sync(unsigned, int pred) {
    const int w = threadIdx.x / 32, nl = std::min(32, (int)blockDim.x - w * 32);
    return __ballot_sync(0xffffffffu, pred) == (nl == 32 ? 0xffffffffu : (1u << nl) - 1);
}
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline double atomicAdd(double *p, double v) {
    std::lock_guard<std::mutex> g(emu.atomics);
    double old = *p;
    *p += v;
    return old;
}
inline int atomicAdd(int *p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline int atomicSub(int *p, int v) { return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST); }
inline int atomicExch(int *p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
inline int atomicOr(int *p, int v) { return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); }
inline int atomicCAS(int *p, int expect, int want) {
    __atomic_compare_exchange_n(p, &expect, want, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return expect;   // the old value, as CUDA returns it
}
inline int atomicMin(int *p, int v) {
    int old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (v < old && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
    return old;
}
inline int atomicMax(int *p, int v) {
    int old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (v > old && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
    return old;
}
inline int __float_as_int(float f) { return std::bit_cast<int>(f); }
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
template <class T> inline T __ldcg(const T *p) { return *(const volatile T *)p; }
inline long long av_time_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// av_gmem<T> (common.cuh) under the emulation: a[i] is a reference whose reads go through
// the reading warp's emu_l1 and whose writes go to memory and to the writer's own cache
// (an SM sees its own stores); &a[i] is the plain address, so __ldcg(&a[i]) reads memory.
template <class T> inline T emu_l1_load(const T *p) {
    static_assert(sizeof(T) <= sizeof(uint64_t), "a word of the emulated L1");
    emu_l1 &c = *emu.l1[threadIdx.x / 32];
    std::lock_guard<std::mutex> g(c.m);
    auto it = c.words.find(p);
    if (it == c.words.end()) {
        uint64_t w = 0;
        T v = *(const volatile T *)p;
        std::memcpy(&w, &v, sizeof v);
        it = c.words.emplace(p, w).first;
    }
    T v;
    std::memcpy(&v, &it->second, sizeof v);
    return v;
}
template <class T> inline void emu_l1_store(T *p, T v) {
    *(volatile T *)p = v;
    emu_l1 &c = *emu.l1[threadIdx.x / 32];
    std::lock_guard<std::mutex> g(c.m);
    auto it = c.words.find(p);
    if (it != c.words.end()) std::memcpy(&it->second, &v, sizeof v);
}
template <class T> struct emu_gmem_ref {
    T *p;
    operator T() const { return emu_l1_load(p); }
    emu_gmem_ref &operator=(T v) { emu_l1_store(p, v); return *this; }
    emu_gmem_ref &operator=(const emu_gmem_ref &o) { return *this = (T)o; }
    T *operator&() const { return p; }
};
template <class T> struct emu_gmem {
    T *p;
    emu_gmem(T *q = nullptr) : p(q) {}
    emu_gmem_ref<T> operator[](int64_t i) const { return {p + i}; }
};
template <class T> using av_gmem = emu_gmem<T>;

// kernel<<<grid, block, smem_bytes>>>(...) becomes emu_launch(grid, block, smem_bytes, [&] { kernel(...); }).
inline void emu_launch(dim3 grid, dim3 block, size_t smem_bytes, const std::function<void()> &kernel) {
    gridDim = grid;
    blockDim = block;
    const int nt = (int)block.x;
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                emu.smem.assign(smem_bytes / sizeof(float) + 1, NAN);
                emu.block = std::make_unique<std::barrier<>>(nt);
                emu.warps.clear();
                emu.l1.clear();   // a new block: its warps' caches start empty
                for (int w = 0; w < (nt + 31) / 32; w++) {
                    emu.warps.push_back(std::make_unique<std::barrier<>>(std::min(32, nt - w * 32)));
                    emu.l1.push_back(std::make_unique<emu_l1>());
                }
                // The threads start the kernel together: made one after another, the first
                // ones would otherwise often be done before the last exist, and races
                // between warps would rarely be run at all.
                std::barrier<> start(nt);
                std::vector<std::thread> threads;
                for (int t = 0; t < nt; t++)
                    threads.emplace_back([&, t, x, y, z] {
                        threadIdx = dim3(t);
                        blockIdx = dim3(x, y, z);
                        start.arrive_and_wait();
                        kernel();
                    });
                for (auto &t : threads) t.join();
            }
}
#endif
