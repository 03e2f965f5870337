// pca.cu - exact PCA on the GPU (av_pca_cuda, project_cuda.h), av_pca's semantics:
// column means and the scatter matrix in double (cuBLAS dsyrk over centred blocks of
// rows converted to double), divided by n - 1; the symmetric eigensolve of the d x d
// covariance by cuSOLVER's dsyevd; components = the top `dim` eigenvectors, each
// flipped so its largest-magnitude entry is positive (scikit-learn's svd_flip, as the
// CPU does); projection of the centred rows in double, stored as float.
#include "kernels/backend/project_internal.cuh"

#ifndef AV_CUDA_EMU
#include <cusolverDn.h>
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PCA_BLOCK_ROWS 65536

// mean[j] += sum of column j over rows [i0, i0 + chunk): grid (d, chunks)
__global__ void column_sum_kernel(double *sum, const float *X, int64_t n, int d, int64_t chunk) {
    int j = blockIdx.x;
    int64_t i0 = blockIdx.y * chunk, i1 = i0 + chunk < n ? i0 + chunk : n;
    double s = 0;
    for (int64_t i = i0 + threadIdx.x; i < i1; i += blockDim.x) s += X[i * d + j];
    __shared__ double part[256];
    part[threadIdx.x] = s;
    __syncthreads();
    for (int o = blockDim.x / 2; o > 0; o >>= 1) {
        if ((int)threadIdx.x < o) part[threadIdx.x] += part[threadIdx.x + o];
        __syncthreads();
    }
    if (threadIdx.x == 0) atomicAdd(&sum[j], part[0]);
}

__global__ void center_block_kernel(double *B, const float *X, const double *sum, int64_t i0, int64_t rows, int d, double inv_n) {
    int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (t >= rows * d) return;
    int j = (int)(t % d);
    B[t] = X[i0 * d + t] - sum[j] * inv_n;
}

// Y[i, c] = sum_j (X[i, j] - mean_j) W[c, j], in double
__global__ void project_kernel(float *Y, const float *X, const double *sum, const double *W, int64_t n, int d, int dim, double inv_n) {
    int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i >= n) return;
    for (int c = 0; c < dim; c++) {
        double s = 0;
        for (int j = 0; j < d; j++) s += (X[i * d + j] - sum[j] * inv_n) * W[(int64_t)c * d + j];
        Y[i * dim + c] = (float)s;
    }
}

#ifndef AV_CUDA_EMU   // host code: not part of the CPU emulation
#define solverCheck(call) do { cusolverStatus_t s_ = (call); if (s_ != CUSOLVER_STATUS_SUCCESS) { \
    rc = av_fail("cuSOLVER: %s failed (status %d)", #call, (int)s_); goto done; } } while (0)
#define cudaGo(call) do { cudaError_t e_ = (call); if (e_ != cudaSuccess) { \
    rc = av_fail("CUDA: %s: %s", #call, cudaGetErrorString(e_)); goto done; } } while (0)

int av_pca_cuda_dev(av_proj_ctx *c, const float *dX, int64_t n, int d, int dim, float *dY, float *components) {
    if (n < 2) return av_fail("PCA: need at least 2 points, got %lld", (long long)n);
    if (dim < 1 || dim > d) return av_fail("PCA: %d components asked of %d-dimensional data", dim, d);
    int rc = AV_ERR;
    cusolverDnHandle_t solver = NULL;
    double *sum, *B, *C, *w, *work, *W;
    int *info;
    int lwork = 0, hinfo = 0;
    int64_t chunk = 16384, chunks = (n + chunk - 1) / chunk;
    int64_t brows = n < PCA_BLOCK_ROWS ? n : PCA_BLOCK_ROWS;
    double *hC = (double *)av_malloc((size_t)d * d * sizeof(double));
    double *hW = (double *)av_malloc((size_t)d * dim * sizeof(double));
    const double one = 1.0;
    if (!hC || !hW) { rc = AV_ERR_NOMEM; goto done; }
    if (av_proj_new(c, &sum, (size_t)d) != AV_OK || av_proj_new(c, &B, (size_t)brows * d) != AV_OK ||
        av_proj_new(c, &C, (size_t)d * d) != AV_OK || av_proj_new(c, &w, (size_t)d) != AV_OK ||
        av_proj_new(c, &W, (size_t)d * dim) != AV_OK || av_proj_new(c, &info, 1) != AV_OK)
        goto done;
    cudaGo(cudaMemsetAsync(sum, 0, (size_t)d * sizeof(double), c->s));
    cudaGo(cudaMemsetAsync(C, 0, (size_t)d * d * sizeof(double), c->s));
    column_sum_kernel<<<dim3((unsigned)d, (unsigned)chunks), 256, 0, c->s>>>(sum, dX, n, d, chunk);
    cudaGo(cudaGetLastError());
    for (int64_t i0 = 0; i0 < n; i0 += brows) {
        int64_t rows = n - i0 < brows ? n - i0 : brows;
        center_block_kernel<<<av_grid(rows * d, 256), 256, 0, c->s>>>(B, dX, sum, i0, rows, d, 1.0 / (double)n);
        cudaGo(cudaGetLastError());
        // column-major: the block is d x rows; C (d x d) += B B^T, lower triangle
        cublasStatus_t st = cublasDsyrk(c->blas, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, d, (int)rows, &one, B, d, &one, C, d);
        if (st != CUBLAS_STATUS_SUCCESS) { rc = av_fail("cuBLAS: dsyrk: %s", cublasGetStatusString(st)); goto done; }
    }
    if (cusolverDnCreate(&solver) != CUSOLVER_STATUS_SUCCESS) { solver = NULL; rc = av_fail("cuSOLVER: cannot create a handle"); goto done; }
    solverCheck(cusolverDnSetStream(solver, c->s));
    solverCheck(cusolverDnDsyevd_bufferSize(solver, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_LOWER, d, C, d, w, &lwork));
    if (av_proj_new(c, &work, (size_t)(lwork > 0 ? lwork : 1)) != AV_OK) goto done;
    // the scale 1 / (n - 1) changes no eigenvector: the covariance's own values are not needed
    solverCheck(cusolverDnDsyevd(solver, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_LOWER, d, C, d, w, work, lwork, info));
    cudaGo(cudaMemcpyAsync(&hinfo, info, sizeof(int), cudaMemcpyDeviceToHost, c->s));
    cudaGo(cudaMemcpyAsync(hC, C, (size_t)d * d * sizeof(double), cudaMemcpyDeviceToHost, c->s));
    cudaGo(cudaStreamSynchronize(c->s));
    if (hinfo != 0) { rc = av_fail("PCA: cuSOLVER dsyevd failed (info %d)", hinfo); goto done; }
    // column-major eigenvectors, eigenvalues ascending: component c is column d - 1 - c
    for (int cc = 0; cc < dim; cc++) {
        const double *v = hC + (size_t)(d - 1 - cc) * d;
        int arg = 0;
        for (int j = 1; j < d; j++)
            if (fabs(v[j]) > fabs(v[arg])) arg = j;
        double sign = v[arg] < 0 ? -1 : 1;
        for (int j = 0; j < d; j++) hW[(size_t)cc * d + j] = sign * v[j];
    }
    if (components)
        for (int64_t a = 0; a < (int64_t)dim * d; a++) components[a] = (float)hW[a];
    cudaGo(cudaMemcpyAsync(W, hW, (size_t)d * dim * sizeof(double), cudaMemcpyHostToDevice, c->s));
    project_kernel<<<av_grid(n, 128), 128, 0, c->s>>>(dY, dX, sum, W, n, d, dim, 1.0 / (double)n);
    cudaGo(cudaGetLastError());
    // hW is read by the copy above: wait before it is freed
    cudaGo(cudaStreamSynchronize(c->s));
    rc = AV_OK;
done:
    if (solver) cusolverDnDestroy(solver);
    free(hC);
    free(hW);
    return rc;
}

extern "C" int av_pca_cuda(const float *X, int64_t n, int d, int dim, float *Y, float *components) {
    if (n < 2) return av_fail("PCA: need at least 2 points, got %lld", (long long)n);
    if (dim < 1 || dim > d) return av_fail("PCA: %d components asked of %d-dimensional data", dim, d);
    av_proj_ctx c;
    if (av_proj_begin(&c) != AV_OK) return AV_ERR;
    float *dX, *dY;
    int rc = AV_ERR;
    if (av_proj_new(&c, &dX, (size_t)n * d) != AV_OK || av_proj_new(&c, &dY, (size_t)n * dim) != AV_OK) goto done;
    if (cudaMemcpyAsync(dX, X, (size_t)n * d * sizeof(float), cudaMemcpyHostToDevice, c.s) != cudaSuccess) {
        av_fail("CUDA: uploading %lld points for PCA failed", (long long)n);
        goto done;
    }
    if (av_pca_cuda_dev(&c, dX, n, d, dim, dY, components) != AV_OK) goto done;
    if (cudaMemcpyAsync(Y, dY, (size_t)n * dim * sizeof(float), cudaMemcpyDeviceToHost, c.s) != cudaSuccess ||
        cudaStreamSynchronize(c.s) != cudaSuccess) {
        av_fail("CUDA: PCA failed: %s", cudaGetErrorString(cudaGetLastError()));
        goto done;
    }
    rc = AV_OK;
done:
    av_proj_end(&c);
    return rc;
}
#endif
