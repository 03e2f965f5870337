/* weights.h - internal to models/: how a loaded model's weights are held and widened
 * (the policy is described in model.h). The loaders (model.c, load_llm.c) record each
 * layer's slots and widen the small tensors once; av_weights_place then decides, per slot,
 * whether the backend reads it in place or it is widened into the layer scratch before
 * each layer (av_model_stage_layer), uploads what a device keeps, and sizes the scratch. */
#ifndef AV_MODELS_WEIGHTS_H
#define AV_MODELS_WEIGHTS_H
#include "models/model.h"

/* Records a slot's sources (stacked row-wise in this order); nsrc 0 = absent. */
void av_wslot_set(av_wslot *s, const av_tensor *a, const av_tensor *b, const av_tensor *c);
/* A small tensor widened once to f32 on the backend (in place where it already is f32
 * host memory on the CPU); the buffer belongs to the model. */
int av_weight_global(av_model *m, const av_tensor *t, const float **out);
/* n floats of host data copied once into a backend buffer that belongs to the model. */
int av_weight_upload(av_model *m, const float *host, int64_t n, const float **out);
/* After every layer's slots are recorded: placement, uploads, the layer scratch. */
int av_weights_place(av_model *m);
/* Opens a Llama-family GGUF file as the weight set and its config (models/weights_gguf.c). */
int av_gguf_weights(const char *path, av_weights *w, av_model_config *cfg);
/* Frees what the model holds for its weights (backend buffers, slots, the weight set). */
void av_weights_free(av_model *m);
#endif
