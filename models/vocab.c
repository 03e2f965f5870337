/* vocab.c - see vocab.h. The index is open addressing with linear probing over FNV-1a,
 * each slot holding the id and a hash tag side by side (one cache line per probe): a
 * 50k-entry vocabulary costs one allocation for the strings and one for the index. */
#include "models/vocab.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static uint64_t fnv1a(const char *s, size_t n) { return av_vocab_hash(AV_VOCAB_HASH0, s, n); }
static uint32_t tag_of(uint64_t h) { return (uint32_t)(h >> 32); }
/* FNV's low bits alone cluster; fold the high ones in before masking. */
static size_t slot_of(uint64_t h, size_t nslots) { return (size_t)((h ^ (h >> 29) ^ (h >> 47)) & (nslots - 1)); }
static uint32_t filter_bit(uint64_t h) { return (uint32_t)(h >> 40) & (AV_VOCAB_FILTER_BITS - 1); }

void av_vocab_init(av_vocab *v) { memset(v, 0, sizeof *v); }

void av_vocab_free(av_vocab *v) {
    free(v->tokens);
    free(v->arena);
    free(v->offsets);
    free(v->slots);
    free(v->filter);
    memset(v, 0, sizeof *v);
}

static const char *arena_str(const av_vocab *v, int32_t id) {
    return v->offsets[id] ? v->arena + v->offsets[id] - 1 : NULL;
}

static int rehash(av_vocab *v, size_t nslots) {
    av_vocab_slot *slots = malloc(nslots * sizeof *slots);
    if (!slots) return av_fail("out of memory (vocabulary index)"), AV_ERR_NOMEM;
    for (size_t i = 0; i < nslots; i++) slots[i] = (av_vocab_slot){ -1, 0 };
    for (int32_t id = 0; id < v->size; id++) {
        const char *s = arena_str(v, id);
        if (!s) continue;
        uint64_t h = fnv1a(s, strlen(s));
        size_t i = slot_of(h, nslots);
        /* ids are visited in increasing order, so of equal strings the larger id (the
         * later line of a vocab.txt) ends up indexed, as av_vocab_add does. */
        while (slots[i].id >= 0 && (slots[i].tag != tag_of(h) || strcmp(arena_str(v, slots[i].id), s) != 0))
            i = (i + 1) & (nslots - 1);
        slots[i] = (av_vocab_slot){ id, tag_of(h) };
    }
    free(v->slots);
    v->slots = slots;
    v->nslots = nslots;
    return AV_OK;
}

int av_vocab_add(av_vocab *v, const char *s, size_t len, int32_t id) {
    if (id < 0) return av_fail("negative token id %d", (int)id);
    if ((size_t)id >= v->offsets_cap) {
        size_t cap = v->offsets_cap, ncap = cap ? cap : 1024;
        while (ncap <= (size_t)id) ncap *= 2;
        size_t *off = realloc(v->offsets, ncap * sizeof *off);
        if (!off) return av_fail("out of memory (vocabulary)"), AV_ERR_NOMEM;
        memset(off + cap, 0, (ncap - cap) * sizeof *off);
        v->offsets = off;
        v->offsets_cap = ncap;
    }
    if (id >= v->size) v->size = id + 1;
    if (!v->filter && !(v->filter = calloc(AV_VOCAB_FILTER_BITS / 64, sizeof *v->filter)))
        return av_fail("out of memory (vocabulary)"), AV_ERR_NOMEM;
    if (v->arena_len + len + 1 > v->arena_cap) {
        size_t ncap = v->arena_cap ? v->arena_cap : 65536;
        while (ncap < v->arena_len + len + 1) ncap *= 2;
        char *a = realloc(v->arena, ncap);
        if (!a) return av_fail("out of memory (vocabulary)"), AV_ERR_NOMEM;
        v->arena = a;
        v->arena_cap = ncap;
    }
    memcpy(v->arena + v->arena_len, s, len);
    v->arena[v->arena_len + len] = 0;
    v->offsets[id] = v->arena_len + 1;
    v->arena_len += len + 1;
    v->count++;
    if (len > v->max_len) v->max_len = len;
    if ((size_t)v->count * 2 >= v->nslots) {
        size_t n = v->nslots ? v->nslots : 1024;
        while ((size_t)v->count * 2 >= n) n *= 2;
        /* rehash resolves through offsets, which already include this id */
        int rc = rehash(v, n);
        if (rc) return rc;
    }
    uint64_t h = fnv1a(s, len);
    v->filter[filter_bit(h) / 64] |= 1ull << (filter_bit(h) % 64);
    size_t i = slot_of(h, v->nslots);
    while (v->slots[i].id >= 0) {
        const char *o = arena_str(v, v->slots[i].id);
        if (v->slots[i].tag == tag_of(h) && strlen(o) == len && memcmp(o, s, len) == 0) break;
        i = (i + 1) & (v->nslots - 1);
    }
    v->slots[i] = (av_vocab_slot){ id, tag_of(h) };   /* a later duplicate takes over */
    return AV_OK;
}

int av_vocab_finish(av_vocab *v) {
    free(v->tokens);
    v->tokens = calloc(v->size ? (size_t)v->size : 1, sizeof *v->tokens);
    if (!v->tokens) return av_fail("out of memory (vocabulary)"), AV_ERR_NOMEM;
    for (int32_t id = 0; id < v->size; id++) v->tokens[id] = (char *)arena_str(v, id);
    return AV_OK;
}

int32_t av_vocab_find(const av_vocab *v, const char *s, size_t len) {
    if (!v->nslots || len > v->max_len) return -1;
    return av_vocab_find_hashed(v, s, len, fnv1a(s, len));
}

int32_t av_vocab_find_hashed(const av_vocab *v, const char *s, size_t len, uint64_t h) {
    if (!v->nslots || len > v->max_len) return -1;
    if (!(v->filter[filter_bit(h) / 64] >> (filter_bit(h) % 64) & 1)) return -1;
    uint32_t tag = tag_of(h);
    for (size_t i = slot_of(h, v->nslots); v->slots[i].id >= 0; i = (i + 1) & (v->nslots - 1)) {
        if (v->slots[i].tag != tag) continue;
        const char *o = v->arena + v->offsets[v->slots[i].id] - 1;
        if (memcmp(o, s, len) == 0 && o[len] == 0) return v->slots[i].id;
    }
    return -1;
}

void av_specials_add(av_specials *sp, const av_vocab *v, const char *token) {
    if (!token || !token[0] || !v->tokens || sp->count >= (int)(sizeof sp->id / sizeof sp->id[0])) return;
    size_t len = strlen(token);
    int32_t id = av_vocab_find(v, token, len);
    if (id < 0) return;
    for (int i = 0; i < sp->count; i++)
        if (sp->len[i] == len && memcmp(sp->text[i], token, len) == 0) return;
    sp->text[sp->count] = v->tokens[id];
    sp->len[sp->count] = len;
    sp->id[sp->count] = id;
    sp->first[(uint8_t)token[0]] = 1;
    sp->count++;
}

int av_specials_next(const av_specials *sp, const char *s, size_t n, size_t *at) {
    if (!sp->count) return -1;
    for (size_t p = 0; p < n; p++) {
        if (!sp->first[(uint8_t)s[p]]) continue;
        int best = -1;
        for (int i = 0; i < sp->count; i++) {
            if (sp->len[i] > n - p || memcmp(s + p, sp->text[i], sp->len[i]) != 0) continue;
            if (best < 0 || sp->len[i] > sp->len[best]) best = i;
        }
        if (best >= 0) { *at = p; return best; }
    }
    return -1;
}
