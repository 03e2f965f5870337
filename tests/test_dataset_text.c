/* test_dataset_text.c - text and JSONL datasets: UTF-8 validation against Python's
 * decoder (fixtures/datasets/utf8_cases.txt), JSONL decoding against Python's json
 * module (tricky.jsonl), line handling (CRLF, BOM, blank lines, stdin), every kind of
 * bad line in strict and skipping mode, and reproducible sampling. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "datasets/dataset.h"
#include "datasets/textline.h"
#include "base/util.h"
#include "tests/check.h"

static char dir[] = "/tmp/av_test_dataset_text_XXXXXX";

/* Writes bytes to dir/name and returns the path (static buffer per call site is enough
 * since each test uses it before the next write). */
static const char *put(const char *name, const char *bytes, size_t n) {
    static char path[4200];
    av_path_join(path, sizeof path, dir, name);
    FILE *f = fopen(path, "wb");
    if (f) { fwrite(bytes, 1, n, f); fclose(f); }
    return path;
}
#define PUT(name, lit) put(name, lit, sizeof(lit) - 1)

static int hexval(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

static void test_utf8_against_python(void) {
    FILE *f = fopen("tests/fixtures/datasets/utf8_cases.txt", "r");
    CHECK(f != NULL);
    if (!f) return;
    char hex[512];
    long expected;
    int cases = 0;
    while (fscanf(f, "%511s %ld", hex, &expected) == 2) {
        unsigned char bytes[256];
        size_t n = strlen(hex) / 2;
        for (size_t i = 0; i < n; i++) bytes[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
        int64_t got = av_utf8_invalid_at((const char *)bytes, n);
        CHECK_MSG(got == expected, "bytes %s: got %lld, Python says %ld", hex, (long long)got, expected);
        cases++;
    }
    fclose(f);
    CHECK(cases == 600);
    /* NUL is valid UTF-8 to Python but not to us: every later stage uses C strings. */
    CHECK(av_utf8_invalid_at("ab\0c", 4) == 2);
    CHECK(av_utf8_check("ab\0c", 4) == AV_ERR);
    CHECK(strstr(av_last_error(), "NUL byte at byte 3") != NULL);
    CHECK(av_utf8_check("\xe2\x82", 2) == AV_ERR);
    CHECK(!strcmp(av_last_error(), "invalid UTF-8 at byte 1"));
}

static void test_jsonl_against_python(void) {
    av_dataset_t ds;
    CHECK(av_dataset_load("tests/fixtures/datasets/tricky.jsonl", NULL, &ds) == AV_OK);
    FILE *f = fopen("tests/fixtures/datasets/tricky_expected.txt", "r");
    CHECK(f != NULL);
    if (!f) return;
    char want[1024], got[2048];
    int64_t i = 0;
    while (fgets(want, sizeof want, f)) {
        want[strcspn(want, "\n")] = 0;
        CHECK(i < ds.count);
        if (i >= ds.count) break;
        snprintf(got, sizeof got, "%s%s%s", ds.items[i].text, ds.items[i].text_b ? " ||| " : "",
                 ds.items[i].text_b ? ds.items[i].text_b : "");
        CHECK_MSG(!strcmp(got, want), "item %lld: got '%s', Python says '%s'", (long long)i, got, want);
        CHECK(ds.items[i].line == i + 1);
        i++;
    }
    fclose(f);
    CHECK(i == ds.count && ds.count == 8);
    CHECK(ds.kind == AV_DATA_TEXT && ds.skipped == 0 && ds.bad == 0);
    av_dataset_free(&ds);
}

static void test_text_lines(void) {
    /* BOM, CRLF, blank and white-space-only lines, no newline at the end */
    const char *p = PUT("a.txt", "\xEF\xBB\xBF" "first line\r\n\r\n   \t\nsecond\n  third  \r\n\nlast");
    av_dataset_t ds;
    CHECK(av_dataset_load(p, NULL, &ds) == AV_OK);
    CHECK(ds.count == 4);
    if (ds.count == 4) {
        CHECK(!strcmp(ds.items[0].text, "first line") && ds.items[0].line == 1);
        CHECK(!strcmp(ds.items[1].text, "second") && ds.items[1].line == 4);
        CHECK(!strcmp(ds.items[2].text, "third") && ds.items[2].line == 5);
        CHECK(!strcmp(ds.items[3].text, "last") && ds.items[3].line == 7);
        CHECK(ds.items[0].text_b == NULL && ds.items[0].label == NULL);
    }
    CHECK(ds.skipped == 3 && ds.bad == 0 && ds.total == 4);
    av_dataset_free(&ds);

    /* a .jsonl name in any case is JSONL; anything else is text, braces and all */
    p = PUT("b.JSONL", "{\"text\": \"x\"}\n");
    CHECK(av_dataset_load(p, NULL, &ds) == AV_OK && ds.count == 1 && !strcmp(ds.items[0].text, "x"));
    av_dataset_free(&ds);
    p = PUT("b.txt", "{\"text\": \"x\"}\n");
    CHECK(av_dataset_load(p, NULL, &ds) == AV_OK && ds.count == 1 && !strcmp(ds.items[0].text, "{\"text\": \"x\"}"));
    av_dataset_free(&ds);
}

static void test_stdin(void) {
    const char *p = PUT("in.txt", "one\n\ntwo\n");
    CHECK(freopen(p, "r", stdin) != NULL);
    av_dataset_t ds;
    CHECK(av_dataset_load("-", NULL, &ds) == AV_OK);
    CHECK(ds.count == 2 && !strcmp(ds.items[1].text, "two") && ds.items[1].line == 3);
    CHECK(!strcmp(ds.source, "-"));
    av_dataset_free(&ds);
}

/* Loads `path` strictly, expects failure with exactly `msg`. */
static void expect_error(const char *path, const char *msg) {
    av_dataset_t ds;
    int rc = av_dataset_load(path, NULL, &ds);
    CHECK_MSG(rc == AV_ERR, "%s loaded but should fail with '%s'", path, msg);
    CHECK_MSG(!strcmp(av_last_error(), msg), "got '%s', want '%s'", av_last_error(), msg);
    CHECK(ds.items == NULL && ds.count == 0);
}

static void test_bad_input_strict(void) {
    char want[4400];
    const char *p = PUT("empty.txt", "");
    snprintf(want, sizeof want, "%s: no items (empty file)", p);
    expect_error(p, want);
    p = PUT("blank.txt", "\n  \r\n\t\n");
    snprintf(want, sizeof want, "%s: no items (only blank lines)", p);
    expect_error(p, want);
    p = PUT("badutf.txt", "good\n\nab\xC3\x28z\n");
    snprintf(want, sizeof want, "%s:3: invalid UTF-8 at byte 3", p);
    expect_error(p, want);
    /* byte numbers count from the start of the line, leading blanks included */
    p = PUT("badutf2.txt", "  \xFF\n");
    snprintf(want, sizeof want, "%s:1: invalid UTF-8 at byte 3", p);
    expect_error(p, want);
    p = put("nul.txt", "a\nb\0c\n", 6);
    snprintf(want, sizeof want, "%s:2: NUL byte at byte 2", p);
    expect_error(p, want);
    p = PUT("array.jsonl", "{\"text\": \"ok\"}\n[1, 2]\n");
    snprintf(want, sizeof want, "%s:2: not a JSON object but an array", p);
    expect_error(p, want);
    p = PUT("notext.jsonl", "{\"txt\": \"typo\"}\n");
    snprintf(want, sizeof want, "%s:1: no \"text\" member", p);
    expect_error(p, want);
    p = PUT("numtext.jsonl", "{\"text\": 5}\n");
    snprintf(want, sizeof want, "%s:1: \"text\" is a number, not a string", p);
    expect_error(p, want);
    p = PUT("badb.jsonl", "{\"text\": \"a\", \"text_b\": [\"b\"]}\n");
    snprintf(want, sizeof want, "%s:1: \"text_b\" is an array, not a string", p);
    expect_error(p, want);
    p = PUT("emptytext.jsonl", "{\"text\": \"   \"}\n");
    snprintf(want, sizeof want, "%s:1: \"text\" is empty", p);
    expect_error(p, want);
    p = PUT("garbage.jsonl", "{\"text\": \"a\"} trailing\n");
    snprintf(want, sizeof want, "%s:1: not valid JSON (error near byte 15)", p);
    expect_error(p, want);
    p = PUT("broken.jsonl", "{\"text\": \"unterminated\n");
    av_dataset_t ds;
    CHECK(av_dataset_load(p, NULL, &ds) == AV_ERR);
    CHECK(strstr(av_last_error(), "broken.jsonl:1: not valid JSON") != NULL);
    /* a \u0000 escape would cut the C string short: refused */
    p = PUT("nulesc.jsonl", "{\"text\": \"a\\u0000b\"}\n");
    snprintf(want, sizeof want, "%s:1: \\u0000 (NUL) escape at byte 12", p);
    expect_error(p, want);
    /* an escaped backslash followed by u0000 is plain text */
    p = PUT("bsl.jsonl", "{\"text\": \"a\\\\u0000b\"}\n");
    CHECK(av_dataset_load(p, NULL, &ds) == AV_OK && ds.count == 1 && !strcmp(ds.items[0].text, "a\\u0000b"));
    av_dataset_free(&ds);
    p = PUT("badutf.jsonl", "{\"text\": \"\xED\xA0\x80\"}\n");
    snprintf(want, sizeof want, "%s:1: invalid UTF-8 at byte 11", p);
    expect_error(p, want);
    av_path_join(want, sizeof want, dir, "missing.txt");
    CHECK(av_dataset_load(want, NULL, &ds) == AV_ERR);
    CHECK(strstr(av_last_error(), "missing.txt: cannot open") != NULL);
    CHECK(av_dataset_load("", NULL, &ds) == AV_ERR);
}

typedef struct { int calls; char last[1024]; } skip_log;
static void on_skip(void *ctx, const char *msg) {
    skip_log *l = ctx;
    l->calls++;
    snprintf(l->last, sizeof l->last, "%s", msg);
}

static void test_bad_input_skipping(void) {
    const char *p = PUT("mixed.jsonl", "{\"text\": \"a\"}\n\n[]\n{\"text\": \"b\", \"text_b\": \"c\"}\n\"str\"\n{\"x\":1}\n");
    char path[4200];
    snprintf(path, sizeof path, "%s", p);
    skip_log log = {0};
    av_dataset_opts o = {0};
    o.strict = 0;
    o.on_skip = on_skip;
    o.on_skip_ctx = &log;
    av_dataset_t ds;
    CHECK(av_dataset_load(path, &o, &ds) == AV_OK);
    CHECK(ds.count == 2 && ds.bad == 3 && ds.skipped == 4);
    CHECK(log.calls == 3);
    char want[9000];
    snprintf(want, sizeof want, "%s:3: not a JSON object but an array", path);
    CHECK_MSG(!strcmp(ds.first_bad, want), "first_bad '%s'", ds.first_bad);
    snprintf(want, sizeof want, "%s:6: no \"text\" member", path);
    CHECK_MSG(!strcmp(log.last, want), "last '%s'", log.last);
    if (ds.count == 2) {
        CHECK(!strcmp(ds.items[1].text, "b") && !strcmp(ds.items[1].text_b, "c") && ds.items[1].line == 4);
    }
    av_dataset_free(&ds);
    /* the default options are strict */
    CHECK(av_dataset_opts_default().strict == 1);
    CHECK(av_dataset_load(path, NULL, &ds) == AV_ERR);

    /* all bad: an error even when skipping */
    p = PUT("allbad.txt", "\xFF\n\xFE\n");
    snprintf(path, sizeof path, "%s", p);
    o.on_skip = NULL;
    CHECK(av_dataset_load(path, &o, &ds) == AV_ERR);
    snprintf(want, sizeof want, "%s: no items: all 2 non-blank lines are bad; first: %s:1: invalid UTF-8 at byte 1", path, path);
    CHECK_MSG(!strcmp(av_last_error(), want), "got '%s'", av_last_error());
}

static void test_sampling(void) {
    char buf[4096];
    size_t n = 0;
    for (int i = 0; i < 100; i++) n += (size_t)snprintf(buf + n, sizeof buf - n, "item %d\n", i);
    const char *p = put("hundred.txt", buf, n);
    char path[4200];
    snprintf(path, sizeof path, "%s", p);
    av_dataset_opts o = av_dataset_opts_default();
    o.max_items = 10;
    av_dataset_t a, b, c;
    CHECK(av_dataset_load(path, &o, &a) == AV_OK);
    CHECK(a.count == 10 && a.total == 100 && !strcmp(a.items[9].text, "item 9")); /* seed 0: the head */
    av_dataset_free(&a);
    o.sample_seed = 42;
    CHECK(av_dataset_load(path, &o, &a) == AV_OK);
    CHECK(av_dataset_load(path, &o, &b) == AV_OK);
    o.sample_seed = 43;
    CHECK(av_dataset_load(path, &o, &c) == AV_OK);
    CHECK(a.count == 10 && b.count == 10 && c.count == 10);
    int same_ab = 1, same_ac = 1, ordered = 1, head = 1;
    for (int i = 0; i < 10 && a.count == 10; i++) {
        same_ab &= !strcmp(a.items[i].text, b.items[i].text);
        same_ac &= !strcmp(a.items[i].text, c.items[i].text);
        if (i) ordered &= a.items[i].line > a.items[i - 1].line;
        head &= a.items[i].line == i + 1;
        /* the item still carries its own line: text "item k" sits on line k+1 */
        CHECK(atoi(a.items[i].text + 5) + 1 == a.items[i].line);
    }
    CHECK(same_ab && !same_ac && ordered && !head);
    av_dataset_free(&a);
    av_dataset_free(&b);
    av_dataset_free(&c);
    o.max_items = 1000; /* more than there are: all, in order */
    CHECK(av_dataset_load(path, &o, &a) == AV_OK && a.count == 100);
    av_dataset_free(&a);

    /* Algorithm S picks exactly `keep`, each index with probability keep/n. */
    enum { N = 10, KEEP = 3, TRIALS = 20000 };
    int freq[N] = {0};
    unsigned char sel[N];
    int exact = 1;
    for (int t = 1; t <= TRIALS; t++) {
        av_dataset_sample(N, KEEP, (uint64_t)t * 7919u, sel);
        int k = 0;
        for (int i = 0; i < N; i++) { freq[i] += sel[i]; k += sel[i]; }
        exact &= k == KEEP;
    }
    CHECK(exact);
    for (int i = 0; i < N; i++) CHECK_NEAR((double)freq[i] / TRIALS, (double)KEEP / N, 0.015);
}

int main(void) {
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    test_utf8_against_python();
    test_jsonl_against_python();
    test_text_lines();
    test_stdin();
    test_bad_input_strict();
    test_bad_input_skipping();
    test_sampling();
    av_rm_rf(dir);
    return av_check_summary("test_dataset_text");
}
