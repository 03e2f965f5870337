/* test_fuzz_corpus.c - replays every committed fuzz input (tests/fuzz/safetensors/,
 * tests/fuzz/config/ and tests/fuzz/gguf/: seeds and the crashers the fuzzers found)
 * through every parser with the fuzz targets' own checks (tests/fuzz/invariants.h), so
 * the gcc and ASan+UBSan builds exercise the corpora without clang or libFuzzer. */
#include <dirent.h>
#include "tests/check.h"
#include "tests/fuzz/invariants.h"

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Replays one corpus folder; counts[0..3] = inputs rejected / accepted as safetensors,
 * accepted as config.json, accepted as GGUF. */
static int replay(const char *dir, int counts[4]) {
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "cannot open %s", dir);
    if (!d) return 0;
    char *names[4096];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 4096)
        if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, name_cmp);
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len = 0;
        char *buf = av_read_file(path, &len);
        CHECK_MSG(buf != NULL, "%s", av_last_error());
        if (buf) {
            int s = av_fuzz_safetensors((const uint8_t *)buf, len);
            int c = av_fuzz_config((const uint8_t *)buf, len);
            int p = av_fuzz_preprocessor((const uint8_t *)buf, len);
            int g = av_fuzz_gguf((const uint8_t *)buf, len);
            CHECK_MSG(s >= 0 && c >= 0 && p >= 0 && g >= 0, "%s breaks a parser's promise", path);
            counts[0] += s == 0;
            counts[1] += s == 1;
            counts[2] += c == 1;
            counts[3] += g == 1;
        }
        free(buf);
        free(names[i]);
    }
    return n;
}

int main(void) {
    int st[4] = {0}, cfg[4] = {0}, gg[4] = {0};
    int nst = replay("tests/fuzz/safetensors", st);
    int ncfg = replay("tests/fuzz/config", cfg);
    int ng = replay("tests/fuzz/gguf", gg);
    printf("safetensors corpus: %d inputs, %d accepted; config corpus: %d inputs, %d accepted; gguf corpus: %d inputs, "
           "%d accepted\n", nst, st[1], ncfg, cfg[2], ng, gg[3]);
    /* Every kind of input must be present, or the replay proves nothing. */
    CHECK(nst >= 20 && st[0] >= 10 && st[1] >= 3);
    CHECK(ncfg >= 10 && cfg[2] >= 5);
    CHECK(ng >= 20 && gg[3] >= 10 && ng - gg[3] >= 10);
    return av_check_summary("test_fuzz_corpus");
}
