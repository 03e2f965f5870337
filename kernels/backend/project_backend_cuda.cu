// project_backend_cuda.cu - the CUDA projection table (kernels/project.h): the GPU
// projections of kernels/project_cuda.h, batch of heads included.
#include "kernels/backend/common.cuh"
#include "kernels/project_cuda.h"

static const av_project_backend cuda_project = {
    /* .name             = */ "cuda",
    /* .knn              = */ av_knn_cuda,
    /* .pca              = */ av_pca_cuda,
    /* .tsne             = */ av_tsne_cuda,
    /* .umap             = */ av_umap_cuda,
    /* .tsne_batch       = */ av_tsne_cuda_batch,
    /* .batch_heads      = */ AV_TSNE_CUDA_BATCH_STREAMS,
};

extern "C" const av_project_backend *av_project_backend_cuda(void) {
    if (av_cuda_ready() != AV_OK) return NULL;
    return &cuda_project;
}
