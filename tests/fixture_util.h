/* fixture_util.h - loading the committed projection fixtures (tests/fixtures/projections,
 * written by make_fixtures.py) in test programs: .npy arrays as fresh float/int copies
 * the caller frees, and numbers from reference.json. Aborts the test on a missing file,
 * since every later check would be meaningless. */
#ifndef AV_TESTS_FIXTURE_UTIL_H
#define AV_TESTS_FIXTURE_UTIL_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/npy.h"
#include "engine/runfolder.h"

#define AV_FIX_DIR "tests/fixtures/projections/"

/* Array `name` (without .npy) as f32 (or i32 widened to int64 when ints != NULL). */
static inline float *fix_load(const char *name, int64_t *rows, int *cols, int64_t **ints) {
    char path[512];
    snprintf(path, sizeof path, AV_FIX_DIR "%s.npy", name);
    av_npy a;
    if (av_npy_open(path, &a) != AV_OK) {
        fprintf(stderr, "fixture: %s\n", av_last_error());
        exit(1);
    }
    *rows = a.shape[0];
    *cols = a.ndim > 1 ? (int)a.shape[1] : 1;
    float *f = NULL;
    if (ints) {
        *ints = malloc((size_t)a.count * sizeof **ints);
        for (int64_t i = 0; i < a.count; i++) (*ints)[i] = ((const int32_t *)a.data)[i];
    } else {
        f = malloc((size_t)a.count * sizeof *f);
        for (int64_t i = 0; i < a.count; i++) f[i] = av_npy_get_f32(&a, i);
    }
    av_npy_close(&a);
    return f;
}

/* reference.json: ref[set][key] (key may be "otsne2") then [sub] when sub != NULL. */
static inline double fix_ref(const char *set, const char *key, const char *sub) {
    static cJSON *ref = NULL;
    if (!ref && !(ref = av_json_read(AV_FIX_DIR "reference.json"))) {
        fprintf(stderr, "fixture: %s\n", av_last_error());
        exit(1);
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ref, set), key);
    if (sub) v = cJSON_GetObjectItemCaseSensitive(v, sub);
    if (!cJSON_IsNumber(v)) {
        fprintf(stderr, "fixture: reference.json has no %s.%s%s%s\n", set, key, sub ? "." : "", sub ? sub : "");
        exit(1);
    }
    return v->valuedouble;
}
#endif
