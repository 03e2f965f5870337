/* gpt2files.h - GPT-2's byte-level BPE from vocab.json + merges.txt (and
 * tokenizer_config.json's add_prefix_space when the folder has that file), as
 * GPT2TokenizerFast builds it: ByteLevel pre-tokenization with the GPT-2 regex, the BPE
 * model, "<|endoftext|>" matched in the text as a special token, no template. */
#ifndef AV_MODELS_GPT2FILES_H
#define AV_MODELS_GPT2FILES_H
#include "models/hftok.h"

/* Errors name the file (and line). The caller frees *out. */
int av_gpt2files_load(const char *dir, av_hftok **out);
#endif
