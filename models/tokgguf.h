/* tokgguf.h - a GGUF's embedded tokenizer (av_tok_parts, tokenizer.h) built into an
 * av_hftok the way transformers builds it from the same file. The split regex of a
 * byte-level ("gpt2") vocabulary is picked by tokenizer.ggml.pre, with llama.cpp's names:
 *   llama3 / llama-v3 / llama-bpe / falcon3 / dbrx / smaug-bpe / pixtral ...: Llama 3's
 *   qwen2 / deepseek-r1-qwen / megrez: Qwen2's      tekken: Mistral's Tekken
 *   gpt-4o / llama4: GPT-4o's                       smollm: digits one by one, then GPT-2's
 *   gpt-2 / default / none: GPT-2's (ByteLevel's own)
 * Any other name is an error naming the file and the name. */
#ifndef AV_MODELS_TOKGGUF_H
#define AV_MODELS_TOKGGUF_H
#include "models/hftok.h"

int av_tokgguf_build(const av_tok_parts *p, av_hftok **out);
#endif
