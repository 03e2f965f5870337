/* project_backend.c - the CPU's projection table and the completion of a device's table
 * from it (kernels/project.h). The CUDA table is in project_backend_cuda.cu (CUDA
 * builds) or backend_nocuda.c (builds without). */
#include "kernels/project.h"

#include <stdio.h>
#include "base/util.h"

static const av_project_backend cpu_project = {
    /* .name             = */ "cpu",
    /* .knn              = */ av_knn_build,
    /* .pca              = */ av_pca,
    /* .tsne             = */ av_tsne,
    /* .umap             = */ av_umap,
    /* .tsne_batch       = */ NULL,
    /* .batch_heads      = */ 0,
};

const av_project_backend *av_project_backend_cpu(void) { return &cpu_project; }

void av_project_backend_complete(const av_project_backend *be, av_project_backend *out, char *note, size_t note_len) {
    const av_project_backend *cpu = &cpu_project;
    *out = *be;
    char taken[64] = "";
    size_t len = 0;
#define TAKE(slot) do { if (!out->slot) { out->slot = cpu->slot; \
        len += (size_t)snprintf(taken + len, sizeof taken - len, "%s" #slot, len ? ", " : ""); } } while (0)
    TAKE(knn);
    TAKE(pca);
    TAKE(tsne);
    TAKE(umap);
#undef TAKE
    if (note && note_len) {
        if (len) snprintf(note, note_len, "the %s backend has no %s; using the CPU's", be->name, taken);
        else note[0] = 0;
    }
}

int av_project_backend_for(av_device device, av_project_backend *out, char *note, size_t note_len) {
    const av_project_backend *be = device == AV_DEVICE_CUDA ? av_project_backend_cuda() : av_project_backend_cpu();
    if (!be) return AV_ERR;
    av_project_backend_complete(be, out, note, note_len);
    return AV_OK;
}
