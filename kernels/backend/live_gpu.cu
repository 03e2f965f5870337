// live_gpu.cu - a live projection's device slots and their way into the viewer's GL
// vertex buffer (live_gpu.h): the gather kernel (projection layout -> slot rows), the
// emit kernel (slot -> mapped GL buffer, bounds on the way) and the host side around
// them. The kernels are compiled by the CPU emulation too (live_gpu_emu.cpp).
#include "kernels/backend/common.cuh"
#include "kernels/backend/live_gpu.h"

#include <float.h>
#include <limits.h>
#include <string.h>

// Slot rows from any layout: point i's axis a at pos[i * ps + a * as] (t-SNE keeps
// its positions as a structure of arrays, UMAP as rows).
__global__ void live_gather_kernel(float *slot, const float *pos, int64_t n, int dim, int64_t as, int64_t ps) {
    int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= n * dim) return;
    int64_t i = e / dim;
    int a = (int)(e - i * dim);
    slot[e] = pos[i * ps + a * as];
}

// A float's order as an int: atomicMin/atomicMax on these order the floats (negative
// floats have their magnitude bits flipped, so a larger magnitude sorts lower).
__device__ __forceinline__ int live_ord(float f) {
    int i = __float_as_int(f);
    return i >= 0 ? i : i ^ 0x7fffffff;
}
static float live_unord(int i) {
    int bits = i >= 0 ? i : i ^ 0x7fffffff;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

// dst = slot (the bytes unchanged), and the finite values' min and max per axis into
// ord [6] (min xyz, max xyz, as live_ord; the caller starts them at INT_MAX / INT_MIN).
__global__ void live_emit_kernel(float *dst, const float *slot, int64_t n, int dim, int *ord) {
    int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= n * dim) return;
    float v = slot[e];
    dst[e] = v;
    if (!(fabsf(v) <= FLT_MAX)) return;   // NaN and infinities: not finite
    int a = (int)(e % dim), o = live_ord(v);
    atomicMin(&ord[a], o);
    atomicMax(&ord[3 + a], o);
}

// The viewer's fit_bounds from the ordered extremes: -1 and 1 on an axis without a
// finite value (and z in 2-D).
static void live_bounds(const int *ord, int dim, float *b) {
    for (int a = 0; a < 3; a++) {
        float lo = a < dim ? live_unord(ord[a]) : 1, hi = a < dim ? live_unord(ord[3 + a]) : -1;
        int empty = a >= dim || ord[a] == INT_MAX;
        b[a] = empty ? -1 : lo;
        b[3 + a] = empty ? 1 : hi;
    }
}

#ifndef AV_CUDA_EMU
#include <cuda_gl_interop.h>
#include <stdlib.h>

struct av_live_gpu {
    int64_t n;
    int dim;
    float *slot[3];
    cudaEvent_t put[3];         // recorded after each slot's gather, on the projection's stream
    cudaStream_t s;             // the display side's stream
    int *ord;                   // [6] device bounds, as live_ord
    int *ord_host;              // [6] pinned
};

struct av_gl_buffer {
    cudaGraphicsResource_t res;
    unsigned buffer;
};

extern "C" int av_live_gpu_open(int64_t n, int dim, av_live_gpu **out) {
    *out = NULL;
    AV_CUDA_READY();
    if (dim != 2 && dim != 3) return av_fail("live positions: dim must be 2 or 3, got %d", dim);
    av_live_gpu *g = (av_live_gpu *)av_calloc(1, sizeof *g);
    if (!g) return AV_ERR_NOMEM;
    g->n = n;
    g->dim = dim;
    int rc = AV_OK;
    for (int k = 0; k < 3 && rc == AV_OK; k++)
        if (cudaMalloc(&g->slot[k], (size_t)n * dim * sizeof(float)) != cudaSuccess ||
            cudaEventCreateWithFlags(&g->put[k], cudaEventDisableTiming) != cudaSuccess)
            rc = AV_ERR;
    if (rc == AV_OK && (cudaStreamCreateWithFlags(&g->s, cudaStreamNonBlocking) != cudaSuccess ||
                        cudaMalloc(&g->ord, 6 * sizeof(int)) != cudaSuccess ||
                        cudaMallocHost(&g->ord_host, 6 * sizeof(int)) != cudaSuccess))
        rc = AV_ERR;
    if (rc != AV_OK) {
        cudaError_t e = cudaGetLastError();
        av_live_gpu_close(g);
        return av_fail("CUDA: no room for the live positions (%lld points): %s", (long long)n, cudaGetErrorString(e));
    }
    *out = g;
    return AV_OK;
}

extern "C" int av_live_gpu_put(av_live_gpu *g, int slot, const float *pos, int64_t axis_stride, int64_t point_stride,
                               void *stream) {
    cudaStream_t st = (cudaStream_t)stream;
    int64_t m = g->n * g->dim;
    live_gather_kernel<<<av_grid(m, 256), 256, 0, st>>>(g->slot[slot], pos, g->n, g->dim, axis_stride, point_stride);
    launchCheck();
    cudaCheck(cudaEventRecord(g->put[slot], st));
    return AV_OK;
}

extern "C" int av_gl_buffer_register(unsigned buffer, av_gl_buffer **out) {
    *out = NULL;
    AV_CUDA_READY();
    // the GL context must run on the CUDA device: a software renderer or another GPU has
    // no CUDA device behind it (cudaGLGetDevices lists none, or only others)
    unsigned count = 0;
    int devs[8], ours = -1;
    cudaError_t e = cudaGLGetDevices(&count, devs, 8, cudaGLDeviceListAll);
    cudaCheck(cudaGetDevice(&ours));
    if (e != cudaSuccess || count == 0) {
        cudaGetLastError();
        return av_fail("the OpenGL context is not on a CUDA device (%s)",
                       e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA device drives it");
    }
    int found = 0;
    for (unsigned k = 0; k < count && k < 8; k++) found |= devs[k] == ours;
    if (!found) return av_fail("the OpenGL context runs on another GPU than CUDA device %d", ours);
    av_gl_buffer *b = (av_gl_buffer *)av_calloc(1, sizeof *b);
    if (!b) return AV_ERR_NOMEM;
    // no write-discard: the buffer holds every head, a live head is one range of it
    e = cudaGraphicsGLRegisterBuffer(&b->res, buffer, cudaGraphicsRegisterFlagsNone);
    if (e != cudaSuccess) {
        cudaGetLastError();
        free(b);
        return av_fail("CUDA cannot register the viewer's vertex buffer: %s", cudaGetErrorString(e));
    }
    b->buffer = buffer;
    *out = b;
    return AV_OK;
}

extern "C" unsigned av_gl_buffer_name(const av_gl_buffer *b) { return b ? b->buffer : 0; }

extern "C" void av_gl_buffer_unregister(av_gl_buffer *b) {
    if (!b) return;
    cudaGraphicsUnregisterResource(b->res);
    cudaGetLastError();
    free(b);
}

extern "C" int av_live_gpu_to_gl(av_live_gpu *g, int slot, av_gl_buffer *b, int64_t at, float bounds[6]) {
    int64_t m = g->n * g->dim;
    static const int start[6] = {INT_MAX, INT_MAX, INT_MAX, INT_MIN, INT_MIN, INT_MIN};
    cudaCheck(cudaStreamWaitEvent(g->s, g->put[slot], 0));
    cudaCheck(cudaGraphicsMapResources(1, &b->res, g->s));
    float *buf = NULL;
    size_t bytes = 0;
    cudaError_t e = cudaGraphicsResourceGetMappedPointer((void **)&buf, &bytes, b->res);
    if (e == cudaSuccess && (size_t)(at + m) * sizeof(float) > bytes) e = cudaErrorInvalidValue;
    if (e == cudaSuccess) e = cudaMemcpyAsync(g->ord, start, sizeof start, cudaMemcpyHostToDevice, g->s);
    if (e == cudaSuccess) {
        live_emit_kernel<<<av_grid(m, 256), 256, 0, g->s>>>(buf + at, g->slot[slot], g->n, g->dim, g->ord);
        e = cudaGetLastError();
    }
    if (e == cudaSuccess) e = cudaMemcpyAsync(g->ord_host, g->ord, 6 * sizeof(int), cudaMemcpyDeviceToHost, g->s);
    // unmapped whatever happened: GL must get its buffer back
    cudaError_t u = cudaGraphicsUnmapResources(1, &b->res, g->s);
    if (e == cudaSuccess) e = u;
    // the slot is read before the viewer gives it back to the projection to write
    if (e == cudaSuccess) e = cudaStreamSynchronize(g->s);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return av_fail("CUDA: writing the live positions into the GL buffer failed: %s", cudaGetErrorString(e));
    }
    live_bounds(g->ord_host, g->dim, bounds);
    return AV_OK;
}

extern "C" int av_live_gpu_to_host(av_live_gpu *g, int slot, float *Y) {
    cudaCheck(cudaStreamWaitEvent(g->s, g->put[slot], 0));
    cudaCheck(cudaMemcpyAsync(Y, g->slot[slot], (size_t)g->n * g->dim * sizeof(float), cudaMemcpyDeviceToHost, g->s));
    cudaCheck(cudaStreamSynchronize(g->s));
    return AV_OK;
}

extern "C" void av_live_gpu_close(av_live_gpu *g) {
    if (!g) return;
    if (g->s) cudaStreamSynchronize(g->s);
    for (int k = 0; k < 3; k++) {
        if (g->slot[k]) cudaFree(g->slot[k]);
        if (g->put[k]) cudaEventDestroy(g->put[k]);
    }
    if (g->ord) cudaFree(g->ord);
    if (g->ord_host) cudaFreeHost(g->ord_host);
    if (g->s) cudaStreamDestroy(g->s);
    cudaGetLastError();
    free(g);
}
#endif
