/* tokjson.h - a Hugging Face tokenizer.json (and the folder's tokenizer_config.json when
 * present) read into an av_hftok (hftok.h). Supported: the BPE model (merges as "a b"
 * strings or [a, b] pairs; byte_fallback, fuse_unk, ignore_merges, unk_token), the
 * normalizers and pre-tokenizers of pretok.h, added tokens with all their flags, and the
 * TemplateProcessing / ByteLevel / Sequence post-processors. Anything else (a Unigram or
 * WordLevel model, another normalizer or pre-tokenizer kind, BPE dropout or subword
 * prefixes) is an error naming the file and the kind.
 * tokenizer_config.json, as transformers (5.x) reads it beside a tokenizer.json: its
 * special tokens (bos/eos/unk/pad and additional_special_tokens) become special added
 * tokens where tokenizer.json lacks them; its add_bos_token / add_eos_token are dropped
 * (from_pretrained pops them when a tokenizer.json exists), so the BOS/EOS rule is the
 * tokenizer.json's post-processor, and none means no special tokens. */
#ifndef AV_MODELS_TOKJSON_H
#define AV_MODELS_TOKJSON_H
#include "models/hftok.h"

/* Reads dir/tokenizer.json (+ dir/tokenizer_config.json). The caller frees *out. */
int av_tokjson_load(const char *dir, av_hftok **out);
#endif
