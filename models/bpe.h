/* bpe.h - GPT-2 byte-level BPE, as Hugging Face tokenizers' ByteLevel pre-tokenizer
 * (add_prefix_space false, the GPT-2 regex) + BPE model, i.e. how GPT2TokenizerFast
 * encodes:
 *   split:  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *           matched by hand over code points (utf8proc categories, no regex library)
 *   bytes:  each byte of a piece becomes its bytes_to_unicode character
 *   merge:  the adjacent pair of lowest rank in merges.txt, leftmost first, until none
 * "<|endoftext|>" in the text is the special token when the vocabulary has it.
 * tokenizer_config.json's add_prefix_space is honoured when the folder has that file.
 * Results per piece are cached (a dataset repeats words a lot); the cache is guarded by
 * a mutex, so one av_bpe may encode from several threads.
 * An av_bpe owns its vocabulary, merge table and cache; av_bpe_free releases them. */
#ifndef AV_MODELS_BPE_H
#define AV_MODELS_BPE_H
#include <stdint.h>

#include "models/tokenizer.h"
#include "models/vocab.h"

typedef struct av_bpe av_bpe;

/* Reads dir/vocab.json, dir/merges.txt (and dir/tokenizer_config.json when present).
 * Errors name the file (and line). */
int av_bpe_load(const char *dir, av_bpe **out);
void av_bpe_free(av_bpe *b);
/* Appends the ids of text with the given type id. */
int av_bpe_encode(const av_bpe *b, const char *text, int32_t type_id, av_encoding *enc);
const av_vocab *av_bpe_vocab(const av_bpe *b);
/* Id of "<|endoftext|>", or -1. */
int32_t av_bpe_eos(const av_bpe *b);
#endif
