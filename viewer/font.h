/* font.h - DejaVu Sans baked into one alpha texture with stb_truetype, in two sizes
 * (body text and titles). Covers ASCII, Latin-1 and Latin Extended-A (GPT-2's byte-level
 * tokens such as "Ġ" live there) and the marks token labels use for white space and
 * SentencePiece's metaspace (␣ ↵ → ▁ …); other code points draw as '?'.
 *
 * av_font owns its GL texture; av_font_free deletes it (needs the same GL context). */
#ifndef AV_VIEWER_FONT_H
#define AV_VIEWER_FONT_H
#include <stdint.h>

#define AV_FONT_SIZES 2          /* 0: body (14 px), 1: title (20 px) */
#define AV_FONT_FIRST 32
#define AV_FONT_LAST 383
#define AV_FONT_EXTRA 5          /* the marks above, after the range */

typedef struct {
    float x0, y0, x1, y1;        /* quad offsets from the pen, pixels */
    float s0, t0, s1, t1;        /* atlas coordinates */
    float advance;
} av_glyph;

typedef struct {
    unsigned tex;                /* GL_R8 atlas */
    int atlas_w, atlas_h;
    float px[AV_FONT_SIZES];     /* pixel height of each size */
    float ascent[AV_FONT_SIZES];
    av_glyph glyph[AV_FONT_SIZES][AV_FONT_LAST - AV_FONT_FIRST + 1 + AV_FONT_EXTRA];
} av_font;

/* Loads AV_FONT_DIR/DejaVuSans.ttf and uploads the atlas. AV_ERR naming the file. */
int av_font_load(av_font *f);
void av_font_free(av_font *f);
/* The glyph for a code point (falls back to '?'). */
const av_glyph *av_font_glyph(const av_font *f, int size, uint32_t cp);
/* Decodes one UTF-8 code point from *s and advances it (invalid bytes give U+FFFD). */
uint32_t av_utf8_next(const char **s);
/* Width in pixels of a UTF-8 string. */
float av_font_width(const av_font *f, int size, const char *s);
#endif
