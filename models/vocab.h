/* vocab.h - a tokenizer vocabulary: token strings by id and a hash index from string to
 * id, plus the splitting of raw text around special tokens ("[SEP]", "<|endoftext|>"),
 * which Hugging Face matches in the text before any normalization.
 * An av_vocab owns every token string (one arena) and its index; av_vocab_free releases
 * them. Strings handed out stay valid until then. */
#ifndef AV_MODELS_VOCAB_H
#define AV_MODELS_VOCAB_H
#include <stddef.h>
#include <stdint.h>

/* One index entry: the id (-1 = empty) and the high bits of the string's hash, so a
 * probe rarely touches a string that cannot match. */
typedef struct { int32_t id; uint32_t tag; } av_vocab_slot;

typedef struct {
    char **tokens;        /* [size] id -> NUL-terminated token, NULL for an id no entry has */
    int32_t size;         /* 1 + the largest id */
    int32_t count;        /* entries added */
    size_t max_len;       /* longest token in bytes */
    char *arena;          /* all token bytes, NUL-terminated each */
    size_t arena_len, arena_cap;
    size_t *offsets;      /* [size] arena offset + 1 per id (0 = none), resolved into tokens */
    size_t offsets_cap;
    av_vocab_slot *slots; /* open-addressing index */
    uint64_t *filter;     /* AV_VOCAB_FILTER_BITS bits, one per hash: most misses (WordPiece
                           * tries many absent pieces) end here without touching slots */
    size_t nslots;        /* power of two, > 2 * count */
} av_vocab;

void av_vocab_init(av_vocab *v);
void av_vocab_free(av_vocab *v);
/* Adds token s[0..len) (no NUL byte in it: callers reject those) with id (>= 0). A later entry with the same string takes over the
 * string -> id lookup, as a Python dict or Rust HashMap built in file order would. */
int av_vocab_add(av_vocab *v, const char *s, size_t len, int32_t id);
/* Call once after the last add: fills tokens[]. */
int av_vocab_finish(av_vocab *v);
/* Id of s[0..len), or -1. */
int32_t av_vocab_find(const av_vocab *v, const char *s, size_t len);
/* The same with the string's hash given: av_vocab_hash extends a hash by bytes, from
 * AV_VOCAB_HASH0, so a caller trying every prefix of one string hashes it once. */
#define AV_VOCAB_FILTER_BITS (1u << 19)
#define AV_VOCAB_HASH0 1469598103934665603ull
static inline uint64_t av_vocab_hash(uint64_t h, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) { h ^= (uint8_t)s[i]; h *= 1099511628211ull; }
    return h;
}
int32_t av_vocab_find_hashed(const av_vocab *v, const char *s, size_t len, uint64_t h);

/* Special tokens matched in raw text, leftmost first and longest at one position (as the
 * added-token matcher of Hugging Face tokenizers does). */
typedef struct {
    uint8_t first[256];   /* 1 for a byte that starts some special token */
    const char *text[8];
    size_t len[8];
    int32_t id[8];
    int count;
} av_specials;
/* Adds token when the (finished) vocabulary has it; a no-op otherwise. */
void av_specials_add(av_specials *sp, const av_vocab *v, const char *token);
/* Finds the first special token in s[0..n): returns its index into sp and sets *at to its
 * offset; -1 when none occurs. */
int av_specials_next(const av_specials *sp, const char *s, size_t n, size_t *at);
#endif
