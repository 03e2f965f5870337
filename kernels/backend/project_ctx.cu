// project_ctx.cu - the per-call context of the GPU projections (project_internal.cuh):
// its own stream and cuBLAS handle, and the device buffers it frees on every exit.
#include "kernels/backend/project_internal.cuh"

int av_proj_begin(av_proj_ctx *c) {
    *c = {};
    AV_CUDA_READY();
    cudaCheck(cudaStreamCreateWithFlags(&c->s, cudaStreamNonBlocking));
    cublasStatus_t st = cublasCreate(&c->blas);
    if (st == CUBLAS_STATUS_SUCCESS) st = cublasSetStream(c->blas, c->s);
    // the distances and covariances must be plain f32/f64: no TF32 shortcut
    if (st == CUBLAS_STATUS_SUCCESS) st = cublasSetMathMode(c->blas, CUBLAS_PEDANTIC_MATH);
    if (st != CUBLAS_STATUS_SUCCESS) {
        av_proj_end(c);
        return av_fail("cuBLAS: cannot set up a handle for the projections: %s", cublasGetStatusString(st));
    }
    return AV_OK;
}

void av_proj_end(av_proj_ctx *c) {
    // errors are ignored on the way out: the caller already has the first one
    for (int i = 0; i < c->nbufs; i++) cudaFreeAsync(c->bufs[i], c->s);
    if (c->s) cudaStreamSynchronize(c->s);
    if (c->blas) cublasDestroy(c->blas);
    if (c->s) cudaStreamDestroy(c->s);
    *c = {};
}

int av_proj_alloc(av_proj_ctx *c, void **p, size_t bytes) {
    *p = NULL;
    if (c->nbufs == (int)(sizeof c->bufs / sizeof c->bufs[0]))
        return av_fail("CUDA projections: more than %d device buffers in one call", c->nbufs);
    cudaError_t e = cudaMallocAsync(p, bytes, c->s);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return av_fail("CUDA: cannot allocate %.1f MiB on the device: %s", bytes / 1048576.0, cudaGetErrorString(e));
    }
    c->bufs[c->nbufs++] = *p;
    return AV_OK;
}

void av_proj_release(av_proj_ctx *c, void *p) {
    for (int i = 0; p && i < c->nbufs; i++)
        if (c->bufs[i] == p) {
            cudaFreeAsync(p, c->s);
            c->bufs[i] = c->bufs[--c->nbufs];
            return;
        }
}
