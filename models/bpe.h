/* bpe.h - the BPE model of Hugging Face tokenizers (models::bpe::BPE): a vocabulary, merge
 * ranks, and how one pre-tokenized piece becomes ids:
 *   symbols: each character of the piece looked up in the vocabulary; in byte-level mode
 *            each byte of the raw piece, spelled with GPT-2's bytes_to_unicode character
 *            (the ByteLevel pre-tokenizer's mapping, done here so pieces stay raw bytes);
 *            a character the vocabulary lacks becomes its bytes' "<0xXX>" tokens
 *            (byte_fallback, when all exist), else the unknown token (consecutive ones
 *            fused when fuse_unk), else nothing
 *   merge:   the adjacent pair of lowest rank, leftmost first, until none applies
 *   ignore_merges: a piece that is itself a token is that token
 * Results per piece are cached (a dataset repeats words a lot); the cache is guarded by a
 * mutex, so one av_bpe may encode from several threads.
 * An av_bpe owns its vocabulary, merge table and cache; av_bpe_free releases them. */
#ifndef AV_MODELS_BPE_H
#define AV_MODELS_BPE_H
#include <stddef.h>
#include <stdint.h>

#include "models/tokenizer.h"
#include "models/vocab.h"

typedef struct av_bpe av_bpe;

typedef struct {
    int byte_level;       /* pieces are raw bytes spelled through bytes_to_unicode */
    int byte_fallback;    /* unknown characters -> "<0xXX>" tokens */
    int fuse_unk;         /* consecutive unknown characters -> one unknown token */
    int ignore_merges;    /* a piece found whole in the vocabulary is one token */
    int32_t unk;          /* unknown token id, -1 = none (unknown characters dropped) */
} av_bpe_opts;

/* Scratch of one encoding call (one per thread); zero-initialise, av_bpe_work_free. */
typedef struct {
    int32_t *id, *prev, *next;
    void *heap;
    size_t cap, nheap;
    char *spell;          /* byte-level spelling of a piece (ignore_merges) */
    size_t spell_cap;
} av_bpe_work;

/* Takes the finished vocabulary over (*vocab is emptied, even on failure). merges_hint:
 * about how many merges will be added (sizes the table). */
int av_bpe_new(av_vocab *vocab, const av_bpe_opts *o, size_t merges_hint, av_bpe **out);
/* Adds the merge "l r" with the next rank; a pair given twice keeps its later rank (as the
 * map tokenizers builds in file order). An error names where (a file and line or merge
 * index) and the token missing from the vocabulary. */
int av_bpe_add_merge(av_bpe *b, const char *l, size_t ll, const char *r, size_t rl, const char *where);
void av_bpe_free(av_bpe *b);
/* Appends the ids of one piece s[0..n) with the given type id. */
int av_bpe_encode_piece(const av_bpe *b, const uint8_t *s, size_t n, av_bpe_work *w, int32_t type_id,
                        av_encoding *enc);
void av_bpe_work_free(av_bpe_work *w);
const av_vocab *av_bpe_vocab(const av_bpe *b);
const av_bpe_opts *av_bpe_options(const av_bpe *b);

/* GPT-2's bytes_to_unicode: the character (code point) that spells byte x, and back
 * (-1 for a code point that spells no byte). */
int32_t av_byte_char(int x);
int av_char_byte(int32_t cp);
#endif
