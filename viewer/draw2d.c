/* draw2d.c - batched 2-D primitives and text (see draw2d.h). One shader serves solid
 * shapes, font-atlas glyphs and images; a per-vertex u < 0 marks a solid vertex so text
 * and shapes share a batch. */
#include "viewer/draw2d.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "viewer/gl.h"
#include "viewer/shader.h"

static const char *VS =
    "#version 330 core\n"
    "layout(location=0) in vec2 a_pos; layout(location=1) in vec2 a_uv; layout(location=2) in vec4 a_col;\n"
    "uniform vec2 u_screen; out vec2 v_uv; out vec4 v_col;\n"
    "void main(){ vec2 p = a_pos / u_screen * 2.0 - 1.0; gl_Position = vec4(p.x, -p.y, 0.0, 1.0);\n"
    "  v_uv = a_uv; v_col = a_col; }\n";
static const char *FS =
    "#version 330 core\n"
    "in vec2 v_uv; in vec4 v_col; uniform sampler2D u_tex; uniform int u_mode; out vec4 o_col;\n"
    "void main(){\n"
    "  if (u_mode == 1) { vec4 t = texture(u_tex, v_uv); o_col = vec4(t.rgb, t.a * v_col.a); return; }\n"
    "  if (v_uv.x < 0.0) { o_col = v_col; return; }\n"
    "  o_col = vec4(v_col.rgb, v_col.a * texture(u_tex, v_uv).r); }\n";

int av_draw2d_init(av_draw2d *d) {
    memset(d, 0, sizeof *d);
    if (av_font_load(&d->font) != AV_OK) return AV_ERR;
    d->prog = av_gl_program(VS, FS, "draw2d");
    if (!d->prog) { av_font_free(&d->font); return AV_ERR; }
    d->loc_screen = glGetUniformLocation(d->prog, "u_screen");
    d->loc_mode = glGetUniformLocation(d->prog, "u_mode");
    d->loc_tex = glGetUniformLocation(d->prog, "u_tex");
    glGenVertexArrays(1, &d->vao);
    glGenBuffers(1, &d->vbo);
    glBindVertexArray(d->vao);
    glBindBuffer(GL_ARRAY_BUFFER, d->vbo);
    glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, 8 * sizeof(float), (void *)0);
    glVertexAttribPointer(1, 2, GL_FLOAT, GL_FALSE, 8 * sizeof(float), (void *)(2 * sizeof(float)));
    glVertexAttribPointer(2, 4, GL_FLOAT, GL_FALSE, 8 * sizeof(float), (void *)(4 * sizeof(float)));
    glEnableVertexAttribArray(0);
    glEnableVertexAttribArray(1);
    glEnableVertexAttribArray(2);
    glBindVertexArray(0);
    d->cap = 6 * 4096;
    d->verts = av_malloc((size_t)d->cap * 8 * sizeof(float));
    if (!d->verts) { av_draw2d_free(d); return AV_ERR; }
    return AV_OK;
}

void av_draw2d_free(av_draw2d *d) {
    if (d->prog) glDeleteProgram(d->prog);
    if (d->vbo) glDeleteBuffers(1, &d->vbo);
    if (d->vao) glDeleteVertexArrays(1, &d->vao);
    av_font_free(&d->font);
    free(d->verts);
    memset(d, 0, sizeof *d);
}

void av_draw2d_begin(av_draw2d *d, int width, int height) {
    d->width = width;
    d->height = height;
    d->nverts = 0;
}

void av_draw2d_flush(av_draw2d *d) {
    if (!d->nverts) return;
    glDisable(GL_DEPTH_TEST);
    glEnable(GL_BLEND);
    glBlendFunc(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA);
    glUseProgram(d->prog);
    glUniform2f(d->loc_screen, (float)d->width, (float)d->height);
    glUniform1i(d->loc_mode, 0);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, d->font.tex);
    glUniform1i(d->loc_tex, 0);
    glBindVertexArray(d->vao);
    glBindBuffer(GL_ARRAY_BUFFER, d->vbo);
    glBufferData(GL_ARRAY_BUFFER, (GLsizeiptr)d->nverts * 8 * sizeof(float), d->verts, GL_STREAM_DRAW);
    glDrawArrays(GL_TRIANGLES, 0, d->nverts);
    glBindVertexArray(0);
    d->nverts = 0;
}

void av_draw2d_end(av_draw2d *d) { av_draw2d_flush(d); }

static void vert(av_draw2d *d, float x, float y, float u, float v, av_rgba c) {
    if (d->nverts == d->cap) av_draw2d_flush(d);
    float *p = d->verts + (size_t)d->nverts * 8;
    p[0] = x; p[1] = y; p[2] = u; p[3] = v;
    p[4] = c.r; p[5] = c.g; p[6] = c.b; p[7] = c.a;
    d->nverts++;
}

static void quad(av_draw2d *d, float ax, float ay, float bx, float by, float cx, float cy,
                 float ex, float ey, av_rgba c) {
    if (d->nverts + 6 > d->cap) av_draw2d_flush(d);
    vert(d, ax, ay, -1, -1, c); vert(d, bx, by, -1, -1, c); vert(d, cx, cy, -1, -1, c);
    vert(d, ax, ay, -1, -1, c); vert(d, cx, cy, -1, -1, c); vert(d, ex, ey, -1, -1, c);
}

void av_draw2d_rect(av_draw2d *d, float x, float y, float w, float h, av_rgba c) {
    quad(d, x, y, x + w, y, x + w, y + h, x, y + h, c);
}

void av_draw2d_rect_outline(av_draw2d *d, float x, float y, float w, float h, float t, av_rgba c) {
    av_draw2d_rect(d, x, y, w, t, c);
    av_draw2d_rect(d, x, y + h - t, w, t, c);
    av_draw2d_rect(d, x, y + t, t, h - 2 * t, c);
    av_draw2d_rect(d, x + w - t, y + t, t, h - 2 * t, c);
}

void av_draw2d_line(av_draw2d *d, float x0, float y0, float x1, float y1, float t, av_rgba c) {
    float dx = x1 - x0, dy = y1 - y0, len = sqrtf(dx * dx + dy * dy);
    if (len < 1e-6f) return;
    float nx = -dy / len * t * 0.5f, ny = dx / len * t * 0.5f;
    quad(d, x0 + nx, y0 + ny, x1 + nx, y1 + ny, x1 - nx, y1 - ny, x0 - nx, y0 - ny, c);
}

void av_draw2d_arrow(av_draw2d *d, float x0, float y0, float x1, float y1, float t, float head, av_rgba c) {
    float dx = x1 - x0, dy = y1 - y0, len = sqrtf(dx * dx + dy * dy);
    if (len < 1e-6f) return;
    float ux = dx / len, uy = dy / len;
    if (head > len * 0.6f) head = len * 0.6f;
    float bx = x1 - ux * head, by = y1 - uy * head;
    av_draw2d_line(d, x0, y0, bx, by, t, c);
    if (d->nverts + 3 > d->cap) av_draw2d_flush(d);
    vert(d, x1, y1, -1, -1, c);
    vert(d, bx - uy * head * 0.5f, by + ux * head * 0.5f, -1, -1, c);
    vert(d, bx + uy * head * 0.5f, by - ux * head * 0.5f, -1, -1, c);
}

void av_draw2d_circle(av_draw2d *d, float x, float y, float r, av_rgba c) {
    const int n = 16;
    if (d->nverts + 3 * n > d->cap) av_draw2d_flush(d);
    for (int i = 0; i < n; i++) {
        float a0 = 6.2831853f * i / n, a1 = 6.2831853f * (i + 1) / n;
        vert(d, x, y, -1, -1, c);
        vert(d, x + r * cosf(a0), y + r * sinf(a0), -1, -1, c);
        vert(d, x + r * cosf(a1), y + r * sinf(a1), -1, -1, c);
    }
}

static float text_impl(av_draw2d *d, float x, float y, int size, av_rgba c, const char *s, float max_w) {
    const av_font *f = &d->font;
    float pen = x, base = roundf(y + f->ascent[size]);
    float ell = max_w > 0 ? av_font_width(f, size, "...") : 0;
    if (max_w > 0 && av_font_width(f, size, s) <= max_w) max_w = 0;
    while (*s) {
        const char *prev = s;
        uint32_t cp = av_utf8_next(&s);
        const av_glyph *g = av_font_glyph(f, size, cp);
        if (max_w > 0 && pen + g->advance + ell - x > max_w) {
            (void)prev;
            pen += text_impl(d, pen, y, size, c, "...", 0);
            break;
        }
        if (d->nverts + 6 > d->cap) av_draw2d_flush(d);
        float px = roundf(pen);
        float x0 = px + g->x0, y0 = base + g->y0, x1 = px + g->x1, y1 = base + g->y1;
        vert(d, x0, y0, g->s0, g->t0, c); vert(d, x1, y0, g->s1, g->t0, c); vert(d, x1, y1, g->s1, g->t1, c);
        vert(d, x0, y0, g->s0, g->t0, c); vert(d, x1, y1, g->s1, g->t1, c); vert(d, x0, y1, g->s0, g->t1, c);
        pen += g->advance;
    }
    return pen - x;
}

float av_draw2d_text(av_draw2d *d, float x, float y, int size, av_rgba c, const char *s) {
    return text_impl(d, x, y, size, c, s, 0);
}

float av_draw2d_text_clip(av_draw2d *d, float x, float y, int size, av_rgba c, const char *s, float max_w) {
    return text_impl(d, x, y, size, c, s, max_w);
}

void av_draw2d_image(av_draw2d *d, unsigned tex, float x, float y, float w, float h, float alpha) {
    av_draw2d_flush(d);
    av_rgba c = {1, 1, 1, alpha};
    vert(d, x, y, 0, 0, c); vert(d, x + w, y, 1, 0, c); vert(d, x + w, y + h, 1, 1, c);
    vert(d, x, y, 0, 0, c); vert(d, x + w, y + h, 1, 1, c); vert(d, x, y + h, 0, 1, c);
    glDisable(GL_DEPTH_TEST);
    glEnable(GL_BLEND);
    glBlendFunc(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA);
    glUseProgram(d->prog);
    glUniform2f(d->loc_screen, (float)d->width, (float)d->height);
    glUniform1i(d->loc_mode, 1);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, tex);
    glUniform1i(d->loc_tex, 0);
    glBindVertexArray(d->vao);
    glBindBuffer(GL_ARRAY_BUFFER, d->vbo);
    glBufferData(GL_ARRAY_BUFFER, (GLsizeiptr)d->nverts * 8 * sizeof(float), d->verts, GL_STREAM_DRAW);
    glDrawArrays(GL_TRIANGLES, 0, d->nverts);
    glBindVertexArray(0);
    d->nverts = 0;
}
