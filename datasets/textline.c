/* textline.c - UTF-8 validation and JSONL item parsing for one dataset line (see
 * textline.h). */
#include "datasets/textline.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"

int64_t av_utf8_invalid_at(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c >= 0x01 && c < 0x80) { i++; continue; }
        size_t len;
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c == 0xE0) { len = 3; lo = 0xA0; }              /* no overlongs */
        else if (c == 0xED) { len = 3; hi = 0x9F; }              /* no surrogates */
        else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) len = 3;
        else if (c == 0xF0) { len = 4; lo = 0x90; }              /* no overlongs */
        else if (c >= 0xF1 && c <= 0xF3) len = 4;
        else if (c == 0xF4) { len = 4; hi = 0x8F; }              /* <= U+10FFFF */
        else return (int64_t)i;                                  /* NUL, 0x80..0xC1, 0xF5.. */
        if (n - i < len) return (int64_t)i;
        if (s[i + 1] < lo || s[i + 1] > hi) return (int64_t)i;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) return (int64_t)i;
        i += len;
    }
    return -1;
}

int av_utf8_check(const char *s, size_t n) {
    int64_t at = av_utf8_invalid_at(s, n);
    if (at < 0) return AV_OK;
    if (s[at] == 0) return av_fail("NUL byte at byte %lld", (long long)at + 1);
    return av_fail("invalid UTF-8 at byte %lld", (long long)at + 1);
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

const char *av_text_trim(const char *s, size_t *n) {
    size_t a = 0, b = *n;
    while (a < b && is_space(s[a])) a++;
    while (b > a && is_space(s[b - 1])) b--;
    *n = b - a;
    return s + a;
}

/* A trimmed, checked copy of a JSON string member; NULL + message when it is empty or
 * not valid UTF-8 (a "\u0000" escape decodes to NUL and ends the C string early, so the
 * decoded value is checked again). */
static char *member_text(const cJSON *v, const char *name) {
    size_t n = strlen(v->valuestring);
    const char *t = av_text_trim(v->valuestring, &n);
    if (n == 0) { av_fail("\"%s\" is empty", name); return NULL; }
    if (av_utf8_check(t, n) != AV_OK) { av_fail("\"%s\" is not valid UTF-8", name); return NULL; }
    char *out = av_malloc(n + 1);
    if (!out) return NULL;
    memcpy(out, t, n);
    out[n] = 0;
    return out;
}

static const char *json_type_name(const cJSON *v) {
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    return "an object";
}

/* Offset of a "\u0000" escape (an odd run of backslashes before the u), or -1. cJSON
 * would decode it to a NUL that silently ends the C string: "a\u0000b" would become "a". */
static int64_t nul_escape_at(const char *s, size_t n) {
    for (size_t i = 0; i + 6 <= n; i++) {
        if (s[i] != '\\') continue;
        size_t run = 1;
        while (i + run < n && s[i + run] == '\\') run++;
        i += run - 1; /* s[i] is the last backslash of the run */
        if (run % 2 == 1 && i + 6 <= n && s[i + 1] == 'u' && !memcmp(s + i + 2, "0000", 4))
            return (int64_t)i;
    }
    return -1;
}

int av_jsonl_parse_item(const char *line, size_t n, char **text, char **text_b) {
    *text = NULL;
    *text_b = NULL;
    if (av_utf8_check(line, n) != AV_OK) return AV_ERR;
    int64_t nul = nul_escape_at(line, n);
    if (nul >= 0) return av_fail("\\u0000 (NUL) escape at byte %lld", (long long)nul + 1);
    /* cJSON wants a NUL-terminated buffer to reject trailing garbage after the value. */
    char *buf = av_malloc(n + 1);
    if (!buf) return AV_ERR_NOMEM;
    memcpy(buf, line, n);
    buf[n] = 0;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(buf, &end, 1);
    if (!root) {
        size_t at = end && end >= buf && end <= buf + n ? (size_t)(end - buf) : 0;
        free(buf);
        return av_fail("not valid JSON (error near byte %zu)", at + 1);
    }
    free(buf);
    int rc = AV_ERR;
    if (!cJSON_IsObject(root)) {
        av_fail("not a JSON object but %s", json_type_name(root));
        goto done;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "text");
    if (!t) { av_fail("no \"text\" member"); goto done; }
    if (!cJSON_IsString(t) || !t->valuestring) {
        av_fail("\"text\" is %s, not a string", json_type_name(t));
        goto done;
    }
    const cJSON *tb = cJSON_GetObjectItemCaseSensitive(root, "text_b");
    if (tb && !cJSON_IsNull(tb) && (!cJSON_IsString(tb) || !tb->valuestring)) {
        av_fail("\"text_b\" is %s, not a string", json_type_name(tb));
        goto done;
    }
    *text = member_text(t, "text");
    if (!*text) goto done;
    if (tb && cJSON_IsString(tb)) {
        *text_b = member_text(tb, "text_b");
        if (!*text_b) { free(*text); *text = NULL; goto done; }
    }
    rc = AV_OK;
done:
    cJSON_Delete(root);
    return rc;
}
