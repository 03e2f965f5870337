/* gpu_skip.h - the common opening of the GPU tests (gpu_cuda_backend, gpu_forward, gpu_knn,
 * gpu_tsne, gpu_umap, gpu_pca): SKIP (exit 77, one line) in a build without CUDA or on a
 * machine without a usable device; else it names the device. */
#ifndef AV_TESTS_GPU_SKIP_H
#define AV_TESTS_GPU_SKIP_H
#include "kernels/backend/device.h"
#include "tests/check.h"
#ifdef AV_HAVE_CUDA
#include "kernels/project_cuda.h"
#define AV_GPU_TEST_OPEN() do { char why_[256] = ""; \
    if (av_cuda_device_count(why_, sizeof why_) <= 0) AV_SKIP("%s", why_); \
    printf("device: %s\n", av_cuda_device_name()); } while (0)
#else
#define AV_GPU_TEST_OPEN() AV_SKIP("this build has no CUDA backend")
#endif
#endif
