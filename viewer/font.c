/* font.c - the baked DejaVu Sans atlas (see font.h). The viewer owns the one
 * stb_truetype implementation of the engine. */
#include "viewer/font.h"

#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "viewer/gl.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define STBTT_STATIC
#define STB_TRUETYPE_IMPLEMENTATION
#include <stb_truetype.h>
#pragma GCC diagnostic pop

#define NGLYPH (AV_FONT_LAST - AV_FONT_FIRST + 1)
/* token labels' marks: open box (space), return arrow (newline), right arrow (tab),
 * lower one-eighth block (SentencePiece's metaspace), ellipsis */
static const int extra_cp[AV_FONT_EXTRA] = {0x2423, 0x21B5, 0x2192, 0x2581, 0x2026};

int av_font_load(av_font *f) {
    memset(f, 0, sizeof *f);
    char path[4096];
    av_path_join(path, sizeof path, AV_FONT_DIR, "DejaVuSans.ttf");
    size_t len;
    unsigned char *ttf = (unsigned char *)av_read_file(path, &len);
    if (!ttf) return AV_ERR;
    f->atlas_w = 1024;
    f->atlas_h = 512;
    unsigned char *pixels = av_calloc((size_t)f->atlas_w * f->atlas_h, 1);
    if (!pixels) { free(ttf); return AV_ERR; }
    stbtt_pack_context pc;
    stbtt_packedchar pch[AV_FONT_SIZES][NGLYPH + AV_FONT_EXTRA];
    const float sizes[AV_FONT_SIZES] = {14.0f, 20.0f};
    int ok = stbtt_PackBegin(&pc, pixels, f->atlas_w, f->atlas_h, 0, 1, NULL);
    if (ok) {
        stbtt_PackSetOversampling(&pc, 2, 1);  /* sharper horizontal positioning */
        for (int s = 0; ok && s < AV_FONT_SIZES; s++) {
            stbtt_pack_range r[2] = {
                {.font_size = sizes[s], .first_unicode_codepoint_in_range = AV_FONT_FIRST, .num_chars = NGLYPH,
                 .chardata_for_range = pch[s]},
                {.font_size = sizes[s], .array_of_unicode_codepoints = (int *)extra_cp, .num_chars = AV_FONT_EXTRA,
                 .chardata_for_range = pch[s] + NGLYPH},
            };
            ok = stbtt_PackFontRanges(&pc, ttf, 0, r, 2);
        }
        stbtt_PackEnd(&pc);
    }
    stbtt_fontinfo info;
    if (!ok || !stbtt_InitFont(&info, ttf, 0)) {
        free(ttf);
        free(pixels);
        return av_fail("%s: cannot bake the font atlas", path);
    }
    int asc, desc, gap;
    stbtt_GetFontVMetrics(&info, &asc, &desc, &gap);
    for (int s = 0; s < AV_FONT_SIZES; s++) {
        f->px[s] = sizes[s];
        f->ascent[s] = asc * stbtt_ScaleForPixelHeight(&info, sizes[s]);
        for (int i = 0; i < NGLYPH + AV_FONT_EXTRA; i++) {
            stbtt_aligned_quad q;
            float x = 0, y = 0;
            stbtt_GetPackedQuad(pch[s], f->atlas_w, f->atlas_h, i, &x, &y, &q, 0);
            av_glyph *g = &f->glyph[s][i];
            g->x0 = q.x0; g->y0 = q.y0; g->x1 = q.x1; g->y1 = q.y1;
            g->s0 = q.s0; g->t0 = q.t0; g->s1 = q.s1; g->t1 = q.t1;
            g->advance = x;
        }
    }
    free(ttf);
    glGenTextures(1, &f->tex);
    glBindTexture(GL_TEXTURE_2D, f->tex);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_R8, f->atlas_w, f->atlas_h, 0, GL_RED, GL_UNSIGNED_BYTE, pixels);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
    free(pixels);
    return AV_OK;
}

void av_font_free(av_font *f) {
    if (f->tex) glDeleteTextures(1, &f->tex);
    f->tex = 0;
}

const av_glyph *av_font_glyph(const av_font *f, int size, uint32_t cp) {
    for (int i = 0; i < AV_FONT_EXTRA; i++)
        if (cp == (uint32_t)extra_cp[i]) return &f->glyph[size][NGLYPH + i];
    if (cp < AV_FONT_FIRST || cp > AV_FONT_LAST) cp = '?';
    return &f->glyph[size][cp - AV_FONT_FIRST];
}

uint32_t av_utf8_next(const char **sp) {
    const unsigned char *s = (const unsigned char *)*sp;
    uint32_t c = s[0];
    int n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
    if (n < 0) { *sp += 1; return 0xfffd; }
    if (n > 0) c &= 0x3f >> n;
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xc0) != 0x80) { *sp += i; return 0xfffd; }
        c = (c << 6) | (s[i] & 0x3f);
    }
    *sp += n + 1;
    return c;
}

float av_font_width(const av_font *f, int size, const char *s) {
    float w = 0;
    while (*s) w += av_font_glyph(f, size, av_utf8_next(&s))->advance;
    return w;
}
