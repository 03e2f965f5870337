/* toklabel.c - av_token_labels (tokenizer.h): the bytes each token stands for, then
 * characters that cross token boundaries joined, then white space made visible. */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "models/bpe.h"
#include "models/pretok.h"
#include "models/tokenizer.h"
#include "models/unichar.h"

/* The bytes token s stands for, appended to out. */
static int token_bytes(const char *s, av_tok_spelling sp, av_buf *out) {
    const uint8_t *u = (const uint8_t *)s;
    size_t n = strlen(s);
    if (sp == AV_SPELL_BYTE_LEVEL) {
        size_t start = out->len;
        for (size_t i = 0; i < n;) {
            int32_t cp;
            i += (size_t)av_utf8_next(u + i, n - i, &cp);
            int b = av_char_byte(cp);
            /* an added token written outside the byte alphabet is its own text */
            if (b < 0) { out->len = start; return av_buf_put(out, s, n); }
            uint8_t c = (uint8_t)b;
            if (av_buf_put(out, &c, 1)) return AV_ERR_NOMEM;
        }
        return AV_OK;
    }
    if (sp == AV_SPELL_METASPACE) {
        unsigned x;
        char tail;
        if (n == 6 && sscanf(s, "<0x%2X%c", &x, &tail) == 2 && tail == '>') {
            uint8_t c = (uint8_t)x;
            return av_buf_put(out, &c, 1);
        }
        for (size_t i = 0; i < n;) {
            if (n - i >= 3 && memcmp(s + i, "\xe2\x96\x81", 3) == 0) {
                if (av_buf_put(out, " ", 1)) return AV_ERR_NOMEM;
                i += 3;
            } else {
                if (av_buf_put(out, s + i, 1)) return AV_ERR_NOMEM;
                i++;
            }
        }
        return AV_OK;
    }
    return av_buf_put(out, s, n);
}

/* Valid UTF-8 character at u[0..n): its length, else 0. */
static size_t valid_char(const uint8_t *u, size_t n) {
    int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate(u, (utf8proc_ssize_t)(n > 4 ? 4 : n), &cp);
    return k > 0 ? (size_t)k : 0;
}

static int visible(const uint8_t *u, size_t n, av_buf *out) {
    for (size_t i = 0; i < n;) {
        size_t k = valid_char(u + i, n - i);
        int rc;
        if (!k) {
            char hex[8];
            snprintf(hex, sizeof hex, "<0x%02X>", u[i]);
            rc = av_buf_put(out, hex, 6);
            k = 1;
        } else if (u[i] == ' ') rc = av_buf_put(out, "\xe2\x90\xa3", 3);           /* ␣ */
        else if (u[i] == '\n') rc = av_buf_put(out, "\xe2\x86\xb5", 3);            /* ↵ */
        else if (u[i] == '\t') rc = av_buf_put(out, "\xe2\x86\x92", 3);            /* → */
        else if (u[i] < 0x20 || u[i] == 0x7F) {
            char hex[8];
            snprintf(hex, sizeof hex, "<0x%02X>", u[i]);
            rc = av_buf_put(out, hex, 6);
        } else rc = av_buf_put(out, u + i, k);
        if (rc) return rc;
        i += k;
    }
    return AV_OK;
}

int av_token_labels(const char *const *tokens, int n, av_tok_spelling spelling, char **labels) {
    av_buf all = {0}, lab = {0};
    size_t *at = av_malloc(((size_t)n + 1) * sizeof *at);
    int rc = at ? AV_OK : AV_ERR_NOMEM;
    for (int i = 0; i < n; i++) labels[i] = NULL;
    for (int i = 0; i < n && rc == AV_OK; i++) {
        at[i] = all.len;
        if (spelling == AV_SPELL_PLAIN) continue;
        rc = token_bytes(tokens[i] ? tokens[i] : "", spelling, &all);
    }
    if (rc == AV_OK) at[n] = all.len;
    /* groups: runs of tokens that a character crosses; g is the first token past the group */
    for (int i = 0, g; i < n && rc == AV_OK; i = g) {
        if (spelling == AV_SPELL_PLAIN) {
            g = i + 1;
            if (!(labels[i] = strdup(tokens[i] ? tokens[i] : ""))) rc = av_fail("out of memory (labels)");
            continue;
        }
        g = i + 1;
        for (size_t b = at[i]; b < at[g];) {
            size_t k = valid_char((const uint8_t *)all.p + b, all.len - b);
            b += k ? k : 1;
            while (g < n && b > at[g]) g++;   /* the character ends inside a later token */
        }
        /* empty tokens at the end of a group stay their own (nothing to join) */
        lab.len = 0;
        rc = visible((const uint8_t *)all.p + at[i], at[g] - at[i], &lab);
        if (rc == AV_OK && !lab.len) rc = av_buf_put(&lab, "", 0);
        for (int k = i; k < g && rc == AV_OK; k++)
            if (!(labels[k] = strdup(lab.p))) rc = av_fail("out of memory (labels)");
    }
    av_buf_free(&all);
    av_buf_free(&lab);
    free(at);
    if (rc != AV_OK) {
        for (int i = 0; i < n; i++) { free(labels[i]); labels[i] = NULL; }
        return AV_ERR_NOMEM;
    }
    return AV_OK;
}
