/* vocab.c - see vocab.h. The index is open addressing with linear probing over FNV-1a:
 * a 50k-entry vocabulary costs one allocation for the strings and one for the index. */
#include "models/vocab.h"

#include <stdlib.h>
#include <string.h>

#include "host/util.h"

static uint64_t fnv1a(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) { h ^= (uint8_t)s[i]; h *= 1099511628211ull; }
    return h;
}

void av_vocab_init(av_vocab *v) { memset(v, 0, sizeof *v); }

void av_vocab_free(av_vocab *v) {
    free(v->tokens);
    free(v->arena);
    free(v->offsets);
    free(v->slots);
    memset(v, 0, sizeof *v);
}

static const char *arena_str(const av_vocab *v, int32_t id) {
    return v->offsets[id] ? v->arena + v->offsets[id] - 1 : NULL;
}

static int rehash(av_vocab *v, size_t nslots) {
    int32_t *slots = malloc(nslots * sizeof *slots);
    if (!slots) return av_fail("out of memory (vocabulary index)"), AV_ERR_NOMEM;
    memset(slots, 0xff, nslots * sizeof *slots);
    for (int32_t id = 0; id < v->size; id++) {
        const char *s = arena_str(v, id);
        if (!s) continue;
        size_t len = strlen(s);
        size_t i = fnv1a(s, len) & (nslots - 1);
        /* ids are visited in increasing order, so of equal strings the larger id (the
         * later line of a vocab.txt) ends up indexed, as av_vocab_add does. */
        while (slots[i] >= 0 && strcmp(arena_str(v, slots[i]), s) != 0) i = (i + 1) & (nslots - 1);
        slots[i] = id;
    }
    free(v->slots);
    v->slots = slots;
    v->nslots = nslots;
    return AV_OK;
}

int av_vocab_add(av_vocab *v, const char *s, size_t len, int32_t id) {
    if (id < 0) return av_fail("negative token id %d", (int)id);
    if (id >= v->size) {
        size_t cap = (size_t)v->size;
        size_t need = (size_t)id + 1;
        if (need > cap) {
            size_t ncap = cap ? cap : 1024;
            while (ncap < need) ncap *= 2;
            size_t *off = realloc(v->offsets, ncap * sizeof *off);
            if (!off) return av_fail("out of memory (vocabulary)"), AV_ERR_NOMEM;
            memset(off + cap, 0, (ncap - cap) * sizeof *off);
            v->offsets = off;
        }
        v->size = id + 1;
    }
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
    /* A string with an embedded NUL could never be looked up from C text; keep its id
     * (so ids stay aligned) but leave it out of the index. */
    int indexable = memchr(s, 0, len) == NULL;
    v->offsets[id] = v->arena_len + 1;
    v->arena_len += len + 1;
    v->count++;
    if (len > v->max_len) v->max_len = len;
    if ((size_t)v->count * 2 >= v->nslots) {
        size_t n = v->nslots ? v->nslots : 1024;
        while ((size_t)v->count * 2 >= n) n *= 2;
        /* rehash resolves through offsets, which now include this id */
        int rc = rehash(v, n);
        if (rc) return rc;
    }
    if (!indexable) return AV_OK;
    size_t i = fnv1a(s, len) & (v->nslots - 1);
    while (v->slots[i] >= 0) {
        const char *o = arena_str(v, v->slots[i]);
        if (strlen(o) == len && memcmp(o, s, len) == 0) break;
        i = (i + 1) & (v->nslots - 1);
    }
    v->slots[i] = id;   /* a later duplicate takes over, as in file order */
    return AV_OK;
}

int av_vocab_finish(av_vocab *v) {
    free(v->tokens);
    v->tokens = calloc(v->size ? (size_t)v->size : 1, sizeof *v->tokens);
    if (!v->tokens) return av_fail("out of memory (vocabulary)"), AV_ERR_NOMEM;
    for (int32_t id = 0; id < v->size; id++)
        v->tokens[id] = v->offsets[id] ? v->arena + v->offsets[id] - 1 : NULL;
    return AV_OK;
}

int32_t av_vocab_find(const av_vocab *v, const char *s, size_t len) {
    if (!v->nslots || len > v->max_len) return -1;
    size_t i = fnv1a(s, len) & (v->nslots - 1);
    while (v->slots[i] >= 0) {
        const char *o = v->arena + v->offsets[v->slots[i]] - 1;
        if (memcmp(o, s, len) == 0 && o[len] == 0) return v->slots[i];
        i = (i + 1) & (v->nslots - 1);
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
    sp->count++;
}

int av_specials_next(const av_specials *sp, const char *s, size_t n, size_t *at) {
    if (!sp->count) return -1;
    for (size_t p = 0; p < n; p++) {
        int best = -1;
        for (int i = 0; i < sp->count; i++) {
            if (sp->text[i][0] != s[p] || sp->len[i] > n - p) continue;
            if (memcmp(s + p, sp->text[i], sp->len[i]) != 0) continue;
            if (best < 0 || sp->len[i] > sp->len[best]) best = i;
        }
        if (best >= 0) { *at = p; return best; }
    }
    return -1;
}
