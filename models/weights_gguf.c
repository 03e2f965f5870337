/* weights_gguf.c - a Llama-family GGUF file as a model's weight set and config
 * (model.h): the Hugging Face view models/gguf_llama.h gives (names, torch-order shapes,
 * q/k rows back in Hugging Face's order) handed over as an av_weights whose owner is the
 * opened file; its tensors keep their ggml types and are widened per layer like any
 * stored tensor (models/tensor.h, through av_dequant for the quantized ones). */
#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "models/gguf_llama.h"
#include "models/weights.h"

static void release_gguf(void *owner) {
    av_gguf_llama_close(owner);
    free(owner);
}

int av_gguf_weights(const char *path, av_weights *w, av_model_config *cfg) {
    memset(w, 0, sizeof *w);
    av_gguf_llama *g = av_malloc(sizeof *g);
    if (!g) return AV_ERR;
    if (av_gguf_llama_open(path, g)) {
        free(g);
        return AV_ERR;
    }
    w->owner = g;
    w->release = release_gguf;
    w->path = g->gguf.path;
    if (av_config_from_json(g->config, path, cfg)) {
        av_weights_close(w);
        return AV_ERR;
    }
    w->tensors = av_calloc((size_t)(g->count ? g->count : 1), sizeof *w->tensors);
    if (!w->tensors) {
        av_weights_close(w);
        return AV_ERR;
    }
    for (int i = 0; i < g->count; i++) {
        const av_hf_tensor *s = &g->tensors[i];
        av_tensor *t = &w->tensors[w->count++];
        t->name = s->name;
        t->file = s->file;
        t->type = (av_wtype)s->type;
        t->ndim = s->ndim;
        for (int d = 0; d < s->ndim && d < AV_TENSOR_MAXDIM; d++) t->shape[d] = s->shape[d];
        t->data = s->data;
        t->nbytes = s->nbytes;
    }
    if (av_weights_finish(w)) {
        av_weights_close(w);
        return AV_ERR;
    }
    return AV_OK;
}
