/* synth.c - synthetic vision probe images and their parameter file (see synth.h). */
#include "datasets/synth.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "datasets/image.h"
#include "base/owned.h"
#include "base/util.h"
#include "base/rng.h"

static const char *const kind_names[AV_SYNTH_NKINDS] = {"angle", "brightness", "checker", "frequency", "hue"};

/* The angle kind's grating period: one cycle per ViT-B/16 patch. */
#define ANGLE_PERIOD_PX 16.0

const char *av_synth_kind_name(av_synth_kind k) {
    return (unsigned)k < AV_SYNTH_NKINDS ? kind_names[k] : "?";
}

int av_synth_kinds_parse(const char *s, unsigned *mask) {
    *mask = 0;
    const char *p = s;
    while (*p) {
        size_t n = strcspn(p, ",");
        int found = 0;
        if (n == 3 && !strncmp(p, "all", 3)) { *mask |= AV_SYNTH_ALL; found = 1; }
        for (int k = 0; k < AV_SYNTH_NKINDS && !found; k++)
            if (strlen(kind_names[k]) == n && !strncmp(p, kind_names[k], n)) { *mask |= 1u << k; found = 1; }
        if (!found)
            return av_fail("unknown kind '%.*s' (hue, brightness, frequency, angle, checker or all)", (int)n, p);
        p += n;
        if (*p == ',') p++;
    }
    if (!*mask) return av_fail("no kind given (hue, brightness, frequency, angle, checker or all)");
    return AV_OK;
}


/* Uniform in [0, 1), 53 bits: exact in a double, the same everywhere. */


/* Position of stratum i of n, jittered by u in [0, 1): in [0, 1). */
static double stratum(int i, int n, double u) { return ((double)i + u) / (double)n; }

void av_synth_params_make(av_synth_kind kind, int index, int n, int size, uint64_t seed, av_synth_params *p) {
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->index = index;
    /* An independent stream per (seed, kind, index). */
    uint64_t s = seed;
    uint64_t k = av_rng_next(&s) ^ ((uint64_t)kind << 40) ^ (uint64_t)(uint32_t)index;
    uint64_t st = av_rng_next(&k);
    double u = av_rng_uniform(&st);
    const double two_pi = 6.283185307179586;
    switch (kind) {
    case AV_SYNTH_HUE:
        p->hue = 360.0 * stratum(index, n, u);
        p->graded = index % 2;
        if (p->graded) {
            p->hue2 = fmod(p->hue + 30.0 + 90.0 * av_rng_uniform(&st), 360.0);
            p->gradient_angle = 360.0 * av_rng_uniform(&st);
        }
        break;
    case AV_SYNTH_BRIGHTNESS:
        p->brightness = stratum(index, n, u);
        break;
    case AV_SYNTH_FREQUENCY: {
        double lo = 1.0, hi = (double)size / 4.0;
        p->frequency = lo * pow(hi / lo, stratum(index, n, u));
        p->angle = 180.0 * av_rng_uniform(&st);
        p->phase = two_pi * av_rng_uniform(&st);
        break;
    }
    case AV_SYNTH_ANGLE:
        p->frequency = (double)size / ANGLE_PERIOD_PX;
        p->angle = 180.0 * stratum(index, n, u);
        p->phase = two_pi * av_rng_uniform(&st);
        break;
    case AV_SYNTH_CHECKER:
        p->cells = 2 + (int)floor(31.0 * stratum(index, n, u)); /* 2..32 */
        break;
    default:
        break;
    }
}

static uint8_t to_u8(double v) {
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    return (uint8_t)lrint(v * 255.0);
}

/* Hue in degrees, full saturation and value. */
static void hue_rgb(double h, uint8_t *out) {
    h = fmod(h, 360.0);
    if (h < 0) h += 360.0;
    double hp = h / 60.0, x = 1.0 - fabs(fmod(hp, 2.0) - 1.0), r = 0, g = 0, b = 0;
    switch ((int)hp) {
    case 0: r = 1; g = x; break;
    case 1: r = x; g = 1; break;
    case 2: g = 1; b = x; break;
    case 3: g = x; b = 1; break;
    case 4: r = x; b = 1; break;
    default: r = 1; b = x; break;
    }
    out[0] = to_u8(r);
    out[1] = to_u8(g);
    out[2] = to_u8(b);
}

void av_synth_render(const av_synth_params *p, int size, uint8_t *rgb) {
    const double deg = 3.141592653589793 / 180.0, half = size / 2.0;
    double span = fmod(p->hue2 - p->hue + 360.0, 360.0);
    double ga = p->gradient_angle * deg, gc = cos(ga), gs = sin(ga);
    double extent = size * (fabs(gc) + fabs(gs)); /* the gradient's length across the image */
    double th = p->angle * deg, nx = -sin(th), ny = cos(th); /* normal of the stripes */
    double k = 6.283185307179586 * p->frequency / size;
    for (int y = 0; y < size; y++) {
        double yu = half - (y + 0.5); /* y up, centred */
        for (int x = 0; x < size; x++) {
            double xc = x + 0.5 - half;
            uint8_t *px = rgb + 3 * ((size_t)y * size + x);
            double v;
            switch (p->kind) {
            case AV_SYNTH_HUE:
                hue_rgb(p->graded ? p->hue + span * (0.5 + (xc * gc + yu * gs) / extent) : p->hue, px);
                continue;
            case AV_SYNTH_BRIGHTNESS: v = p->brightness; break;
            case AV_SYNTH_FREQUENCY:
            case AV_SYNTH_ANGLE: v = 0.5 + 0.5 * sin(k * (xc * nx + yu * ny) + p->phase); break;
            case AV_SYNTH_CHECKER:
                v = ((x * p->cells / size) + (y * p->cells / size)) % 2 ? 1.0 : 0.0;
                break;
            default: v = 0; break;
            }
            px[0] = px[1] = px[2] = to_u8(v);
        }
    }
}

char *av_synth_params_json(const av_synth_params *p, const char *file) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "file", file);
    cJSON_AddStringToObject(o, "kind", av_synth_kind_name(p->kind));
    cJSON_AddNumberToObject(o, "index", p->index);
    switch (p->kind) {
    case AV_SYNTH_HUE:
        cJSON_AddStringToObject(o, "variant", p->graded ? "graded" : "solid");
        cJSON_AddNumberToObject(o, "hue", p->hue);
        if (p->graded) {
            cJSON_AddNumberToObject(o, "hue2", p->hue2);
            cJSON_AddNumberToObject(o, "gradient_angle", p->gradient_angle);
        }
        cJSON_AddNumberToObject(o, "saturation", 1.0);
        cJSON_AddNumberToObject(o, "brightness", 1.0);
        break;
    case AV_SYNTH_BRIGHTNESS:
        cJSON_AddNumberToObject(o, "brightness", p->brightness);
        break;
    case AV_SYNTH_FREQUENCY:
    case AV_SYNTH_ANGLE:
        cJSON_AddNumberToObject(o, "frequency", p->frequency);
        cJSON_AddNumberToObject(o, "angle", p->angle);
        cJSON_AddNumberToObject(o, "phase", p->phase);
        break;
    case AV_SYNTH_CHECKER:
        cJSON_AddNumberToObject(o, "cells", p->cells);
        break;
    default:
        break;
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* A growable text buffer for params.jsonl. */
typedef struct { char *s; size_t n, cap; } textbuf;

static int textbuf_add(textbuf *b, const char *line) {
    size_t m = strlen(line);
    if (b->n + m + 2 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 1 << 16) + m;
        char *p = realloc(b->s, cap);
        if (!p) return av_fail("out of memory writing params.jsonl");
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, line, m);
    b->n += m;
    b->s[b->n++] = '\n';
    return AV_OK;
}

/* Draws and writes image i of kind k; AV_OK or an error message in `err`. */
static int write_image(const char *tmp, const av_synth_opts *o, int k, int i, uint8_t *rgb) {
    av_synth_params p;
    av_synth_params_make((av_synth_kind)k, i, o->n, o->size, o->seed, &p);
    av_synth_render(&p, o->size, rgb);
    char rel[64], path[4300];
    snprintf(rel, sizeof rel, "%s/%s_%05d.png", kind_names[k], kind_names[k], i);
    return av_image_write_png_plain(av_path_join(path, sizeof path, tmp, rel), rgb, o->size, o->size);
}

/* Images are independent (their parameters depend only on seed, kind and index), so
 * they are drawn and encoded in parallel; PNG encoding is most of the cost. The error
 * buffer is per thread (base/util.h), so a worker's message is copied out. */
static int write_images(const char *tmp, const av_synth_opts *o, int k) {
    size_t px_bytes = (size_t)o->size * o->size * 3;
    int failed = 0;
    char err[1024] = "";
    #pragma omp parallel
    {
        uint8_t *rgb = malloc(px_bytes);
        #pragma omp for schedule(dynamic, 4)
        for (int i = 0; i < o->n; i++) {
            int skip;
            #pragma omp atomic read
            skip = failed;
            if (skip) continue;
            int rc = rgb ? write_image(tmp, o, k, i, rgb) : av_fail("out of memory drawing images");
            #pragma omp critical(av_synth_report)
            {
                if (rc != AV_OK && !failed) {
                    snprintf(err, sizeof err, "%s", av_last_error());
                    #pragma omp atomic write
                    failed = 1;
                }
                if (rc == AV_OK && o->on_image) o->on_image(o->ctx);
            }
        }
        free(rgb);
    }
    return failed ? av_fail("%s", err) : AV_OK;
}

static int write_set(const char *tmp, const av_synth_opts *o) {
    textbuf params = {0};
    int rc = AV_OK;
    for (int k = 0; k < AV_SYNTH_NKINDS && rc == AV_OK; k++) {
        if (!(o->kinds & (1u << k))) continue;
        char sub[4200];
        rc = av_mkdir_p(av_path_join(sub, sizeof sub, tmp, kind_names[k]));
        if (rc == AV_OK) rc = write_images(tmp, o, k);
        for (int i = 0; i < o->n && rc == AV_OK; i++) {
            av_synth_params p;
            av_synth_params_make((av_synth_kind)k, i, o->n, o->size, o->seed, &p);
            char rel[64];
            snprintf(rel, sizeof rel, "%s/%s_%05d.png", kind_names[k], kind_names[k], i);
            char *line = av_synth_params_json(&p, rel);
            if (!line) { rc = av_fail("out of memory writing params.jsonl"); break; }
            rc = textbuf_add(&params, line);
            free(line);
        }
    }
    if (rc == AV_OK) {
        char path[4300];
        rc = av_write_file_atomic(av_path_join(path, sizeof path, tmp, "params.jsonl"), params.s, params.n);
    }
    free(params.s);
    return rc;
}

/* One syncfs for the whole set before it is renamed into place (cheaper than an fsync
 * per file, and the rename must not become visible before the files' data). */
static int sync_folder(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return av_fail("%s: cannot open: %s", dir, strerror(errno));
    int rc = syncfs(fd) == 0 ? AV_OK : av_fail("%s: sync failed: %s", dir, strerror(errno));
    close(fd);
    return rc;
}

/* What the marker of a synthetic set says: the proof that --force may replace it. */
static const char synth_marker[] = "synth set";

int av_synth_write(const char *dir, const av_synth_opts *o) {
    if (!dir || !dir[0]) return av_fail("no output folder given");
    if (strlen(dir) > 4000) return av_fail("%.64s...: path too long", dir);
    if (!o->kinds || (o->kinds & ~AV_SYNTH_ALL)) return av_fail("synth: no valid kind given");
    if (o->n < 1 || o->n > AV_SYNTH_MAX_N) return av_fail("synth: -n must be 1..%d, got %d", AV_SYNTH_MAX_N, o->n);
    if (o->size < AV_SYNTH_MIN_SIZE || o->size > AV_SYNTH_MAX_SIZE)
        return av_fail("synth: --size must be %d..%d, got %d", AV_SYNTH_MIN_SIZE, AV_SYNTH_MAX_SIZE, o->size);
    struct stat st;
    int exists = lstat(dir, &st) == 0;
    if (exists && !o->force) return av_fail("%s: already exists (use --force to replace it)", dir);
    if (exists && !S_ISDIR(st.st_mode)) return av_fail("%s: exists and is not a folder", dir);
    /* --force replaces only a set this command wrote (its marker says so, base/owned.h)
     * or an empty folder: never a folder of someone's own images */
    if (exists && !av_marker_says(dir, synth_marker) && !av_dir_is_empty(dir))
        return av_fail("%s: exists and is not a synthetic set made by attnviz (it has no %s marker); --force "
                       "replaces only those: move it away or choose another -o", dir, AV_MARKER_FILE);
    /* Strip trailing slashes so the temporary folder is a sibling, not a child. */
    char target[4096];
    snprintf(target, sizeof target, "%s", dir);
    for (size_t n = strlen(target); n > 1 && target[n - 1] == '/'; n--) target[n - 1] = 0;
    char tmp[4200], old[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", target, (long)getpid());
    snprintf(old, sizeof old, "%s.old.%ld", target, (long)getpid());
    /* a temporary folder of this name is a leftover of a killed synth only when marked */
    if (lstat(tmp, &st) == 0) {
        if (!S_ISDIR(st.st_mode) || !av_marker_says(tmp, synth_marker))
            return av_fail("%s: exists and was not made by attnviz; move it away", tmp);
        if (av_rm_rf(tmp) != AV_OK) return AV_ERR;
    }
    int rc = av_mkdir_p(tmp);
    if (rc == AV_OK) rc = av_marker_write(tmp, synth_marker, 0);
    if (rc == AV_OK) rc = write_set(tmp, o);
    if (rc == AV_OK) rc = sync_folder(tmp);
    if (rc != AV_OK) {
        char why[1024];
        snprintf(why, sizeof why, "%s", av_last_error());
        av_rm_rf(tmp);
        return av_fail("%s", why);
    }
    if (exists && rename(target, old) != 0) {
        int e = errno;
        av_rm_rf(tmp);
        return av_fail("%s: cannot move the old set aside: %s", target, strerror(e));
    }
    if (rename(tmp, target) != 0) {
        int e = errno;
        if (exists) rename(old, target); /* put the old set back */
        av_rm_rf(tmp);
        return av_fail("%s: cannot rename the new set into place: %s", target, strerror(e));
    }
    if (exists) av_rm_rf(old);
    return AV_OK;
}
