/* tokgguf.h - a GGUF's embedded tokenizer (av_tok_parts, tokenizer.h) built into an
 * av_hftok the way transformers builds it from the same file (so that a model read from
 * a GGUF sees the ids transformers gives it). The split regex of a byte-level ("gpt2")
 * vocabulary is picked by tokenizer.ggml.pre from transformers' table of llama.cpp's
 * names: llama3 / llama-v3 / llama-bpe / falcon3 / dbrx / smaug-bpe / pixtral ... ->
 * Llama 3's; qwen2 / deepseek-r1-qwen / megrez ... -> Qwen2's; qwen35; tekken; gpt-4o /
 * llama4 ...; every other name (gpt-2, default, smollm, ...) -> ByteLevel's GPT-2 regex.
 * llama.cpp itself splits "smollm" digit by digit first, as SmolLM's tokenizer.json does;
 * transformers does not, and on the SmolLM2 vocabulary that changes 60 of the 448 test
 * texts, so a SmolLM2 GGUF here gives transformers' ids, not llama.cpp's. */
#ifndef AV_MODELS_TOKGGUF_H
#define AV_MODELS_TOKGGUF_H
#include "models/hftok.h"

int av_tokgguf_build(const av_tok_parts *p, av_hftok **out);
#endif
