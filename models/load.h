/* load.h - internal to models/: what the architecture loaders (model.c for BERT, GPT-2 and
 * ViT, load_llm.c for the Llama family) share: looking tensors up under the folder's name
 * prefix with their shapes checked, and recording them as layer slots or widened globals
 * (weights.h). Every failure leaves a message naming the file and the tensor. */
#ifndef AV_MODELS_LOAD_H
#define AV_MODELS_LOAD_H
#include <stdio.h>
#include "models/model.h"
#include "models/weights.h"

typedef struct {
    const av_weights *w;
    const char *prefix;     /* found by av_load_prefix: "", "bert.", "model.", ... */
    const char *dir;
    av_model *m;
} av_loader;

/* A shape written in place: AV_SHAPE(a, b) -> 2, (const int64_t[]){a, b}. */
#define AV_SHAPE(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (const int64_t[]){__VA_ARGS__}

/* The tensor prefix + name of exactly this shape; NULL (message set) when it is missing
 * or shaped otherwise. */
const av_tensor *av_load_find(const av_loader *L, const char *name, int ndim, const int64_t *shape);
/* Same, widened once to f32 on the backend (av_weight_global). */
int av_load_global(const av_loader *L, const float **out, const char *name, int ndim, const int64_t *shape);
/* Sets L->prefix to the first of prefixes (NULL-terminated) under which probe exists. */
int av_load_prefix(av_loader *L, const char *probe, const char *const *prefixes);
/* The Llama family (load_llm.c): embeddings, every layer's slots, RoPE's frequencies. */
int av_load_llm(av_loader *L);

/* Slot `role` of layer i from one tensor named by fmt (a %d for i) of the given shape.
 * Uses the caller's locals L, i, sl (the layer's slots), n (a char buffer) and t. */
#define AV_SLOT1(role, fmt, ...)                                                                     \
    (snprintf(n, sizeof n, fmt, i), (t = av_load_find(L, n, AV_SHAPE(__VA_ARGS__)))                  \
                                        ? (av_wslot_set(&sl[role], t, NULL, NULL), 0)                \
                                        : 1)
#endif
