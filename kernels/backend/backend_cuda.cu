// backend.cu - the CUDA backend's state and plumbing: lazy init of device 0, the
// compute stream and its cuBLAS / cuBLASLt handles, memory, transfers, pinned buffers,
// overlapped downloads, and the av_backend table of kernels/ops.h.
#include "kernels/backend/common.cuh"

#include <stdio.h>
#include <stdlib.h>

// cuBLASLt's workspace: what NVIDIA recommends for Hopper's GEMMs (smaller cards need less).
#define LT_WORKSPACE ((size_t)32 << 20)

extern "C" {
#include "kernels/backend/device.h"
}

static struct {
    int ready;
    cudaStream_t compute;   // every op, in order
    cudaStream_t copy;      // downloads that overlap compute
    cudaEvent_t queued;     // "compute reached this point", for the copy stream to wait on
    cudaEvent_t copied[AV_DOWNLOAD_SLOTS];   // "the last copy of this slot is done"
    cublasHandle_t blas;
    cublasLtHandle_t lt;
    void *lt_work;          // cuBLASLt's workspace
    void *scratch;
    size_t scratch_bytes;
} g;

static int init_failed(void) {
    // Leave nothing half-made: a later call may try again.
    av_cuda_shutdown();
    return AV_ERR;
}

int av_cuda_ready(void) {
    if (g.ready) return AV_OK;
    char why[256] = "";
    if (av_cuda_device_count(why, sizeof why) <= 0) return av_fail("CUDA backend: %s", why);
    cudaError_t e = cudaSetDevice(0);
    if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&g.compute, cudaStreamNonBlocking);
    if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&g.copy, cudaStreamNonBlocking);
    if (e == cudaSuccess) e = cudaEventCreateWithFlags(&g.queued, cudaEventDisableTiming);
    for (int i = 0; i < AV_DOWNLOAD_SLOTS && e == cudaSuccess; i++)
        e = cudaEventCreateWithFlags(&g.copied[i], cudaEventDisableTiming);
    if (e != cudaSuccess) {
        av_fail("CUDA backend: cannot set up device 0: %s", cudaGetErrorString(e));
        return init_failed();
    }
    cublasStatus_t s = cublasCreate(&g.blas);
    if (s == CUBLAS_STATUS_SUCCESS) s = cublasSetStream(g.blas, g.compute);
    if (s == CUBLAS_STATUS_SUCCESS) s = cublasLtCreate(&g.lt);
    if (s != CUBLAS_STATUS_SUCCESS) {
        av_fail("CUDA backend: cannot set up cuBLAS: %s", cublasGetStatusString(s));
        return init_failed();
    }
    e = cudaMalloc(&g.lt_work, LT_WORKSPACE);
    if (e != cudaSuccess) {
        g.lt_work = NULL;
        av_fail("CUDA backend: cannot allocate cuBLASLt's workspace: %s", cudaGetErrorString(e));
        return init_failed();
    }
    g.ready = 1;
    return AV_OK;
}

extern "C" int av_cuda_init(void) { return av_cuda_ready(); }

extern "C" void av_cuda_shutdown(void) {
    // Errors are ignored on the way out: there is nothing left to tell them to.
    if (g.compute) cudaStreamSynchronize(g.compute);
    if (g.copy) cudaStreamSynchronize(g.copy);
    av_cuda_forget_plans();
    av_cuda_forget_all_weights();
    if (g.blas) cublasDestroy(g.blas);
    if (g.lt) cublasLtDestroy(g.lt);
    if (g.lt_work) cudaFree(g.lt_work);
    if (g.scratch) cudaFree(g.scratch);
    if (g.queued) cudaEventDestroy(g.queued);
    for (int i = 0; i < AV_DOWNLOAD_SLOTS; i++)
        if (g.copied[i]) cudaEventDestroy(g.copied[i]);
    if (g.copy) cudaStreamDestroy(g.copy);
    if (g.compute) cudaStreamDestroy(g.compute);
    g = {};
    cudaGetLastError();
}

cudaStream_t av_cuda_compute_stream(void) { return g.compute; }
cublasHandle_t av_cuda_cublas(void) { return g.blas; }
cublasLtHandle_t av_cuda_cublaslt(void) { return g.lt; }
void *av_cuda_lt_workspace(size_t *bytes) {
    *bytes = g.lt_work ? LT_WORKSPACE : 0;
    return g.lt_work;
}
extern "C" void *av_cuda_stream(void) { return (void *)g.compute; }

int av_cuda_scratch(size_t bytes, void **out) {
    if (bytes > g.scratch_bytes) {
        // Work already queued may still read the old buffer.
        cudaCheck(cudaStreamSynchronize(g.compute));
        if (g.scratch) cudaCheck(cudaFree(g.scratch));
        g.scratch = NULL;
        g.scratch_bytes = 0;
        size_t want = bytes + bytes / 4;   // grow with headroom: fewer reallocations
        cudaCheck(cudaMalloc(&g.scratch, want));
        g.scratch_bytes = want;
    }
    *out = g.scratch;
    return AV_OK;
}

// ---- memory and transfers ---------------------------------------------------------
static void *dev_alloc(size_t bytes) {
    if (av_cuda_ready() != AV_OK) return NULL;
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        av_fail("CUDA: cannot allocate %zu bytes of device memory: %s", bytes, cudaGetErrorString(e));
        cudaGetLastError();
        return NULL;
    }
    return p;
}

static void dev_free(void *p) {
    if (!p) return;
    av_cuda_forget_weight(p);   // its 16-bit copy, if it was kept
    cudaFree(p);
}

// Uploads and downloads wait for completion: the host buffer is the caller's to reuse
// the moment they return (the overlapped path is av_cuda_download_async).
static int dev_upload(void *dst, const void *src, size_t bytes) {
    AV_CUDA_READY();
    cudaCheck(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, g.compute));
    cudaCheck(cudaStreamSynchronize(g.compute));
    return AV_OK;
}

static int dev_download(void *dst, const void *src, size_t bytes) {
    AV_CUDA_READY();
    cudaCheck(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, g.compute));
    cudaCheck(cudaStreamSynchronize(g.compute));
    return AV_OK;
}

static int dev_sync(void) {
    AV_CUDA_READY();
    cudaCheck(cudaStreamSynchronize(g.compute));
    cudaCheck(cudaGetLastError());
    return AV_OK;
}

extern "C" void *av_cuda_host_alloc(size_t bytes) {
    if (av_cuda_ready() != AV_OK) return NULL;
    void *p = NULL;
    cudaError_t e = cudaMallocHost(&p, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        av_fail("CUDA: cannot allocate %zu bytes of pinned host memory: %s", bytes, cudaGetErrorString(e));
        cudaGetLastError();
        return NULL;
    }
    return p;
}

extern "C" void av_cuda_host_free(void *p) {
    if (p) cudaFreeHost(p);
}

// One copy stream serves every slot, so copies run one after another (PCIe has one
// direction to give anyway); each slot's event lets the host wait for its own copy
// only, not for the ones queued after it.
extern "C" int av_cuda_download_async(void *dst_pinned, const void *src, size_t bytes, int slot) {
    AV_CUDA_READY();
    if (slot < 0 || slot >= AV_DOWNLOAD_SLOTS) return av_fail("CUDA: download slot %d out of range", slot);
    cudaCheck(cudaEventRecord(g.queued, g.compute));
    cudaCheck(cudaStreamWaitEvent(g.copy, g.queued, 0));
    cudaCheck(cudaMemcpyAsync(dst_pinned, src, bytes, cudaMemcpyDeviceToHost, g.copy));
    cudaCheck(cudaEventRecord(g.copied[slot], g.copy));
    return AV_OK;
}

extern "C" int av_cuda_download_wait(int slot) {
    AV_CUDA_READY();
    if (slot < 0 || slot >= AV_DOWNLOAD_SLOTS) return av_fail("CUDA: download slot %d out of range", slot);
    cudaCheck(cudaEventSynchronize(g.copied[slot]));
    return AV_OK;
}

static int dev_memzero(void *p, size_t bytes) {
    AV_CUDA_READY();
    if (bytes) cudaCheck(cudaMemsetAsync(p, 0, bytes, g.compute));
    return AV_OK;
}

static int dev_set_gemm(av_gemm_precision p) {
    AV_CUDA_READY();
    return av_cuda_set_gemm_precision(p);
}

static int dev_mem_info(size_t *free_bytes, size_t *total_bytes) {
    AV_CUDA_READY();
    cudaCheck(cudaMemGetInfo(free_bytes, total_bytes));
    return AV_OK;
}

// ---- the table ----------------------------------------------------------------------
static const av_backend cuda_backend = {
    /* .name           = */ "cuda",
    /* .alloc          = */ dev_alloc,
    /* .free           = */ dev_free,
    /* .upload         = */ dev_upload,
    /* .download       = */ dev_download,
    /* .sync           = */ dev_sync,
    /* .embed          = */ av_cuda_embed,
    /* .patchify       = */ av_cuda_patchify,
    /* .layernorm      = */ av_cuda_layernorm,
    /* .matmul         = */ av_cuda_matmul,
    /* .gelu           = */ av_cuda_gelu,
    /* .add            = */ av_cuda_add,
    /* .attention      = */ av_cuda_attention,
    /* .pack_heads     = */ av_pack_heads_cuda,
    /* .memzero        = */ dev_memzero,
    // optional slots, all filled here
    /* .matmul_gelu    = */ av_cuda_matmul_gelu,
    /* .set_gemm       = */ dev_set_gemm,
    /* .keep_weight    = */ av_cuda_keep_weight,
    /* .host_alloc     = */ av_cuda_host_alloc,
    /* .host_free      = */ av_cuda_host_free,
    /* .download_async = */ av_cuda_download_async,
    /* .download_wait  = */ av_cuda_download_wait,
    /* .mem_info       = */ dev_mem_info,
};

extern "C" const av_backend *av_backend_cuda(void) {
    if (av_cuda_ready() != AV_OK) return NULL;
    return &cuda_backend;
}
