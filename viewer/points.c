/* points.c - the point clouds' data on both renderers of plot.h.
 *
 * GPU: a projection is uploaded ONCE into a buffer (all heads, [L, H, 2T, dim] f32,
 * exactly the file's layout) and read by the vertex shader through a texture buffer,
 * so a head is a range and a pass of a plot is a stride: no per-frame uploads, one
 * draw call per pass. Colours come from a small per-token attribute buffer (or the
 * per-point norm buffer), highlight flags from a per-token byte buffer. A pass adds
 * each point's count and 8-bit colour to the two RGBA32F layers by additive blending.
 * Picking draws draw index + 1 into an R32I framebuffer and reads back the pixels
 * under the pointer.
 *
 * CPU: the same colours as a per-point table (rebuilt when the colour mode, theme,
 * selection or search change) for splat_cpu.c, which reads the projection straight
 * from the memory-mapped file; nothing per point goes to the GPU. Picking reads the
 * single view's per-pixel indices the splatter keeps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "viewer/gl.h"
#include "viewer/shader.h"
#include "viewer/splat_cpu.h"
#include "viewer/viewer_internal.h"

static const char *VS =
    "#version 330 core\n"
    "uniform samplerBuffer u_pos; uniform samplerBuffer u_attr; uniform usamplerBuffer u_flags;\n"
    "uniform samplerBuffer u_norm;\n"
    "uniform int u_base, u_pass, u_passes, u_T, u_dim, u_mode, u_attr_global, u_show, u_any, u_size_norm;\n"
    "uniform mat4 u_mvp; uniform float u_size; uniform vec3 u_pal[10]; uniform vec3 u_bg, u_hit;\n"
    "flat out vec3 v_col; flat out int v_top; flat out int v_id; flat out int v_round;\n"
    "vec3 cmap(float t) {\n"  /* viridis, polynomial fit */
    "  const vec3 c0 = vec3(0.2777, 0.0054, 0.3341), c1 = vec3(0.1050, 1.4046, 1.3846);\n"
    "  const vec3 c2 = vec3(-0.3309, 0.2148, 0.0951), c3 = vec3(-4.6342, -5.7991, -19.3324);\n"
    "  const vec3 c4 = vec3(6.2283, 14.1799, 56.6906), c5 = vec3(4.7764, -13.7451, -65.3530);\n"
    "  const vec3 c6 = vec3(-5.4355, 4.6459, 26.3124);\n"
    "  return clamp(c0 + t * (c1 + t * (c2 + t * (c3 + t * (c4 + t * (c5 + t * c6))))), 0.0, 1.0); }\n"
    "void main() {\n"
    /* draw index j: queries and keys interleave, so every pass holds both clouds */
    "  int j = gl_VertexID * u_passes + u_pass;\n"
    "  int l = (j & 1) == 0 ? (j >> 1) : u_T + (j >> 1); bool isk = l >= u_T; int tok = isk ? l - u_T : l;\n"
    "  v_id = j + 1; v_top = 0; v_round = 0; v_col = vec3(0.0);\n"
    "  if ((isk && (u_show & 2) == 0) || (!isk && (u_show & 1) == 0)) {\n"
    "    gl_Position = vec4(3.0, 3.0, 3.0, 1.0); gl_PointSize = 1.0; return; }\n"
    "  int g = u_base + l;\n"
    "  vec3 p = vec3(texelFetch(u_pos, g * u_dim).r, texelFetch(u_pos, g * u_dim + 1).r,\n"
    "                u_dim == 3 ? texelFetch(u_pos, g * u_dim + 2).r : 0.0);\n"
    "  uint f = texelFetch(u_flags, tok).r;\n"
    "  vec3 c;\n"
    "  if (u_mode == 0) c = isk ? u_pal[1] : u_pal[0];\n"
    "  else { float a = texelFetch(u_attr, u_attr_global != 0 ? g : tok).r;\n"
    "    if (a < 0.0) c = vec3(0.55); else if (u_mode == 1) c = u_pal[int(a) % 10];\n"
    "    else if (u_mode == 3) c = clamp(abs(mod(fract(a) * 6.0 + vec3(0.0, 4.0, 2.0), 6.0) - 3.0) - 1.0, 0.0, 1.0) * 0.85 + 0.05;\n"
    "    else c = cmap(clamp(a, 0.0, 1.0)); }\n"
    "  float size = u_size;\n"
    "  if (u_any != 0) {\n"
    "    if ((f & 7u) == 0u) c = mix(c, u_bg, 0.65);\n"
    "    else { size *= 1.7; v_top = 1;\n"
    "      if ((f & 2u) != 0u && (f & 1u) == 0u) c = u_hit; }\n"
    "  }\n"
    "  if (u_size_norm != 0) size *= 0.4 + 1.6 * texelFetch(u_norm, g).r;\n"
    "  size = max(size, 1.0);\n"
    "  vec4 cp = u_mvp * vec4(p, 1.0);\n"
    /* depth only matters to picking: highlighted points in front */
    "  float z = v_top != 0 ? -0.5 : 0.5;\n"
    "  if (u_dim == 2) cp.z = z; else cp.z = cp.z * 0.5 + z * 0.4;\n"
    "  gl_Position = cp; gl_PointSize = size; v_round = size > 2.0 ? 1 : 0;\n"
    "  v_col = floor(c * 255.0 + 0.5);\n"
    "}\n";
static const char *FS_ACC =
    "#version 330 core\n"
    "flat in vec3 v_col; flat in int v_top; flat in int v_id; flat in int v_round;\n"
    "layout(location = 0) out vec4 o_cloud; layout(location = 1) out vec4 o_top;\n"
    "void main() { vec2 d = gl_PointCoord - vec2(0.5); if (v_round != 0 && dot(d, d) > 0.25) discard;\n"
    "  vec4 s = vec4(1.0, v_col); o_cloud = v_top == 0 ? s : vec4(0.0); o_top = v_top != 0 ? s : vec4(0.0); }\n";
static const char *FS_PICK =
    "#version 330 core\n"
    "flat in vec3 v_col; flat in int v_top; flat in int v_id; flat in int v_round; out int o_id;\n"
    "void main() { vec2 d = gl_PointCoord - vec2(0.5); if (v_round != 0 && dot(d, d) > 0.25) discard; o_id = v_id; }\n";

/* Uniform locations, looked up once per program: the matrix view draws 144 heads a pass. */
enum { U_POS, U_ATTR, U_FLAGS, U_NORM, U_BASE, U_PASS, U_PASSES, U_T, U_DIM, U_MODE, U_ATTR_GLOBAL, U_SHOW,
       U_ANY, U_SIZE_NORM, U_MVP, U_SIZE, U_PAL, U_BG, U_HIT, U_COUNT };
static const char *uniform_names[U_COUNT] = {"u_pos", "u_attr", "u_flags", "u_norm", "u_base", "u_pass",
    "u_passes", "u_T", "u_dim", "u_mode", "u_attr_global", "u_show", "u_any", "u_size_norm", "u_mvp", "u_size",
    "u_pal", "u_bg", "u_hit"};

static void lookup_uniforms(unsigned prog, int *loc) {
    for (int i = 0; i < U_COUNT; i++) loc[i] = glGetUniformLocation(prog, uniform_names[i]);
}

static unsigned make_tbo(unsigned *buf, GLenum fmt, const void *data, size_t bytes) {
    unsigned tex;
    glGenBuffers(1, buf);
    glBindBuffer(GL_TEXTURE_BUFFER, *buf);
    glBufferData(GL_TEXTURE_BUFFER, (GLsizeiptr)(bytes ? bytes : 4), data, GL_STATIC_DRAW);
    glGenTextures(1, &tex);
    glBindTexture(GL_TEXTURE_BUFFER, tex);
    glTexBuffer(GL_TEXTURE_BUFFER, fmt, *buf);
    return tex;
}

static void drop_tbo(unsigned *buf, unsigned *tex) {
    if (*tex) glDeleteTextures(1, tex);
    if (*buf) glDeleteBuffers(1, buf);
    *buf = *tex = 0;
}

int av_points_init(av_viewer *v) {
    v->prog_pts = av_gl_program(VS, FS_ACC, "point accumulation");
    if (!v->prog_pts) return AV_ERR;
    v->prog_pick = av_gl_program(VS, FS_PICK, "point picking");
    if (!v->prog_pick) return AV_ERR;
    lookup_uniforms(v->prog_pts, v->uloc[0]);
    lookup_uniforms(v->prog_pick, v->uloc[1]);
    glGenVertexArrays(1, &v->vao);
    v->gl_proj = v->gl_color = -1;
    int64_t T = v->vd->T;
    v->flags = av_calloc((size_t)T + 1, 1);
    v->attr = av_calloc((size_t)T + 1, sizeof(float));
    v->head_gen = av_calloc((size_t)v->vd->run.num_layers * v->vd->run.num_heads, sizeof(uint32_t));
    if (!v->flags || !v->attr || !v->head_gen) return AV_ERR;
    v->flag_tex = make_tbo(&v->flag_buf, GL_R8UI, v->flags, (size_t)T + 1);
    return AV_OK;
}

void av_points_free(av_viewer *v) {
    if (v->prog_pts) glDeleteProgram(v->prog_pts);
    if (v->prog_pick) glDeleteProgram(v->prog_pick);
    if (v->vao) glDeleteVertexArrays(1, &v->vao);
    drop_tbo(&v->pos_buf, &v->pos_tex);
    drop_tbo(&v->attr_buf, &v->attr_tex);
    drop_tbo(&v->flag_buf, &v->flag_tex);
    drop_tbo(&v->norm_buf, &v->norm_tex);
    if (v->pick_fbo) glDeleteFramebuffers(1, &v->pick_fbo);
    if (v->pick_tex) glDeleteTextures(1, &v->pick_tex);
    if (v->pick_depth) glDeleteRenderbuffers(1, &v->pick_depth);
    free(v->flags);
    free(v->attr);
    free(v->head_gen);
    free(v->cpu_col);
    v->flags = NULL;
    v->attr = NULL;
    v->head_gen = NULL;
    v->cpu_col = NULL;
}

int av_points_upload_proj(av_viewer *v) {
    av_vdata *vd = v->vd;
    if (vd->cur < 0 || v->gl_proj == vd->cur) return AV_OK;
    drop_tbo(&v->pos_buf, &v->pos_tex);
    v->pos_bytes = 0;
    if (v->renderer == AV_RENDERER_GL) {
        GLint max_texels = 0;
        glGetIntegerv(GL_MAX_TEXTURE_BUFFER_SIZE, &max_texels);
        int64_t texels = vd->pdata.count;
        if (texels > max_texels)
            return av_fail("%s: %lld values exceed this GPU's texture buffer limit (%d); project fewer heads",
                           vd->proj[vd->cur].file, (long long)texels, max_texels);
        v->pos_tex = make_tbo(&v->pos_buf, GL_R32F, vd->pdata.data, (size_t)texels * sizeof(float));
        v->pos_bytes = texels * (int64_t)sizeof(float);
        /* the live projection's heads are the live job's slots, not in pdata */
        int64_t n = 2 * vd->T, dim = av_vdata_dim(vd);
        for (int64_t c = 0; vd->cur == vd->live_idx && c < (int64_t)vd->run.num_layers * vd->run.num_heads; c++)
            if (vd->live_head[c])
                glBufferSubData(GL_TEXTURE_BUFFER, (GLintptr)(c * n * dim * (int64_t)sizeof(float)),
                                (GLsizeiptr)(n * dim * (int64_t)sizeof(float)), vd->live_head[c]);
    }
    v->gl_proj = vd->cur;
    v->pick_valid = 0;
    return AV_OK;
}

void av_points_head_changed(av_viewer *v, int l, int h) {
    v->head_gen[l * v->vd->run.num_heads + h]++;
    v->pick_valid = 0;
}

void av_points_update_head(av_viewer *v, int l, int h) {
    av_vdata *vd = v->vd;
    if (vd->cur < 0 || v->gl_proj != vd->cur) return;
    av_points_head_changed(v, l, h);
    if (!v->pos_buf) return;
    int dim = av_vdata_dim(vd);
    int64_t n = 2 * vd->T;
    glBindBuffer(GL_TEXTURE_BUFFER, v->pos_buf);
    glBufferSubData(GL_TEXTURE_BUFFER, (GLintptr)(((int64_t)l * vd->run.num_heads + h) * n * dim * (int64_t)sizeof(float)),
                    (GLsizeiptr)(n * dim * (int64_t)sizeof(float)), av_vdata_point(vd, l, h, 0));
}

static int ensure_norms(av_viewer *v) {
    if (v->norm_tex || (v->renderer == AV_RENDERER_CPU && v->vd->norm01)) return AV_OK;
    const float *n = av_vdata_norms(v->vd);
    if (!n) return AV_ERR;
    if (v->renderer == AV_RENDERER_CPU) return AV_OK;
    int64_t count = (int64_t)v->vd->run.num_layers * v->vd->run.num_heads * 2 * v->vd->T;
    v->norm_tex = make_tbo(&v->norm_buf, GL_R32F, n, (size_t)count * sizeof(float));
    return AV_OK;
}

int av_points_upload_color(av_viewer *v) {
    if (v->gl_color == (int)v->color) return AV_OK;
    if (!av_color_categorical(v->color))
        av_vdata_attr_scale(v->vd, v->color, v->legend_lo, v->legend_hi, v->legend_none);
    if (v->color == AV_COLOR_NORM) {
        if (ensure_norms(v) != AV_OK) return AV_ERR;
        v->gl_color = (int)v->color;
        return AV_OK;
    }
    if (av_vdata_token_attr(v->vd, v->color, v->attr) != AV_OK) return AV_ERR;
    drop_tbo(&v->attr_buf, &v->attr_tex);
    v->attr_tex = make_tbo(&v->attr_buf, GL_R32F, v->attr, ((size_t)v->vd->T + 1) * sizeof(float));
    v->gl_color = (int)v->color;
    return AV_OK;
}

void av_points_upload_flags(av_viewer *v) {
    if (!v->flags_dirty) return;
    glBindBuffer(GL_TEXTURE_BUFFER, v->flag_buf);
    glBufferSubData(GL_TEXTURE_BUFFER, 0, (GLsizeiptr)v->vd->T, v->flags);
    v->flags_dirty = 0;
    v->flags_gen++;
}

int av_points_any_flag(const av_viewer *v) { return v->sel_item >= 0 || v->search_hits > 0; }

/* ---- GPU ---------------------------------------------------------------------------- */

static void set_uniforms(av_viewer *v, const int *loc, const av_plot *p, int pass, int passes) {
    av_vdata *vd = v->vd;
    int l = p->key.layer, h = p->key.head;
    glActiveTexture(GL_TEXTURE0); glBindTexture(GL_TEXTURE_BUFFER, v->pos_tex); glUniform1i(loc[U_POS], 0);
    glActiveTexture(GL_TEXTURE1);
    glBindTexture(GL_TEXTURE_BUFFER, v->color == AV_COLOR_NORM ? v->norm_tex : v->attr_tex);
    glUniform1i(loc[U_ATTR], 1);
    glActiveTexture(GL_TEXTURE2); glBindTexture(GL_TEXTURE_BUFFER, v->flag_tex); glUniform1i(loc[U_FLAGS], 2);
    glActiveTexture(GL_TEXTURE3);
    glBindTexture(GL_TEXTURE_BUFFER, v->norm_tex ? v->norm_tex : v->attr_tex);
    glUniform1i(loc[U_NORM], 3);
    glActiveTexture(GL_TEXTURE0);
    glUniform1i(loc[U_BASE], (int)(((int64_t)l * vd->run.num_heads + h) * 2 * vd->T));
    glUniform1i(loc[U_PASS], pass);
    glUniform1i(loc[U_PASSES], passes);
    glUniform1i(loc[U_T], (int)vd->T);
    glUniform1i(loc[U_DIM], av_vdata_dim(vd));
    glUniform1i(loc[U_MODE], v->color == AV_COLOR_QK ? 0 : av_color_categorical(v->color) ? 1 : av_color_cyclic(v->color) ? 3 : 2);
    glUniform1i(loc[U_ATTR_GLOBAL], v->color == AV_COLOR_NORM);
    glUniform1i(loc[U_SHOW], p->key.show);
    glUniform1i(loc[U_ANY], p->key.any_flag);
    glUniform1i(loc[U_SIZE_NORM], p->key.size_norm && v->norm_tex);
    glUniformMatrix4fv(loc[U_MVP], 1, GL_FALSE, p->key.m);
    glUniform1f(loc[U_SIZE], p->size);
    float pal[30];
    for (int i = 0; i < 10; i++) {
        av_rgba c = av_palette(v, i);
        pal[3 * i] = c.r; pal[3 * i + 1] = c.g; pal[3 * i + 2] = c.b;
    }
    glUniform3fv(loc[U_PAL], 10, pal);
    av_theme th = av_theme_of(v);
    glUniform3f(loc[U_BG], th.bg.r, th.bg.g, th.bg.b);
    glUniform3f(loc[U_HIT], th.hit.r, th.hit.g, th.hit.b);
}

static GLsizei pass_points(int64_t n, int pass, int passes) { return (GLsizei)((n - pass + passes - 1) / passes); }

void av_points_accumulate(av_viewer *v, const av_plot *p, int pass) {
    const av_plot_key *k = &p->key;
    if (!v->pos_tex || p->n == 0) return;
    if (k->size_norm) ensure_norms(v);
    glViewport(k->x, k->y, k->w, k->h);
    glEnable(GL_SCISSOR_TEST);
    glScissor(k->x, k->y, k->w, k->h);
    glDisable(GL_DEPTH_TEST);
    glEnable(GL_PROGRAM_POINT_SIZE);
    glEnable(GL_BLEND);
    glBlendEquation(GL_FUNC_ADD);
    glBlendFunc(GL_ONE, GL_ONE);
    glUseProgram(v->prog_pts);
    set_uniforms(v, v->uloc[0], p, pass, p->passes);
    glBindVertexArray(v->vao);
    glDrawArrays(GL_POINTS, 0, pass_points(p->n, pass, p->passes));
    glBindVertexArray(0);
    glDisable(GL_SCISSOR_TEST);
    glDisable(GL_BLEND);
}

/* ---- CPU ---------------------------------------------------------------------------- */

static uint32_t pack(av_rgba c) {
    int r = (int)(c.r * 255 + 0.5f), g = (int)(c.g * 255 + 0.5f), b = (int)(c.b * 255 + 0.5f);
    return (uint32_t)r | (uint32_t)g << 8 | (uint32_t)b << 16;
}

static av_rgba dimmed(av_rgba c, av_rgba bg) {  /* the shader's mix(c, bg, 0.65) */
    return (av_rgba){c.r + (bg.r - c.r) * 0.65f, c.g + (bg.g - c.g) * 0.65f, c.b + (bg.b - c.b) * 0.65f, 1};
}

/* The colour table of every point (the vertex shader's colours, per point index),
 * rebuilt when what it depends on changed. */
static int cpu_colors(av_viewer *v, const av_plot_key *k) {
    av_vdata *vd = v->vd;
    int64_t T = vd->T;
    uint32_t key[5] = {(uint32_t)v->color, (uint32_t)k->dark, (uint32_t)k->show, (uint32_t)k->any_flag, k->flags_gen};
    if (v->cpu_col && !memcmp(key, v->cpu_col_key, sizeof key)) return AV_OK;
    if (!v->cpu_col && !(v->cpu_col = av_malloc((size_t)(2 * T) * sizeof(uint32_t)))) return AV_ERR;
    av_theme th = av_theme_of(v);
    int mode = v->color == AV_COLOR_QK ? 0 : av_color_categorical(v->color) ? 1 : av_color_cyclic(v->color) ? 3 : 2;
    int norm = v->color == AV_COLOR_NORM;
    for (int i = 0; i < AV_SPLAT_LUT; i++) {
        av_rgba c = av_colormap((float)i / (AV_SPLAT_LUT - 1));
        v->lut[0][i] = pack(c);
        v->lut[1][i] = pack(dimmed(c, th.bg));
    }
    for (int64_t l = 0; l < 2 * T; l++) {
        int isk = l >= T;
        int64_t t = isk ? l - T : l;
        uint32_t bits = 0;
        if (!(k->show & (isk ? 2 : 1))) { v->cpu_col[l] = AV_SPLAT_HIDE; continue; }
        av_rgba c = {0, 0, 0, 1};
        if (norm) bits |= AV_SPLAT_NORM;
        else if (mode == 0) c = av_palette(v, isk);
        else {
            float a = v->attr[t];
            if (a < 0) c = (av_rgba){0.55f, 0.55f, 0.55f, 1};
            else if (mode == 1) c = av_palette(v, (int)a % 10);
            else if (mode == 3) c = av_colorwheel(a);
            else c = av_colormap(a < 0 ? 0 : a > 1 ? 1 : a);
        }
        if (k->any_flag) {
            uint8_t f = v->flags[t];
            if (!(f & 7)) {
                c = dimmed(c, th.bg);
                bits |= AV_SPLAT_DIM;
            } else {
                bits |= AV_SPLAT_TOP;
                if ((f & AV_FLAG_HIT) && !(f & AV_FLAG_ITEM)) { c = th.hit; bits &= ~AV_SPLAT_NORM; }
            }
        }
        v->cpu_col[l] = pack(c) | bits;
    }
    memcpy(v->cpu_col_key, key, sizeof key);
    return AV_OK;
}

int av_points_cpu_source(av_viewer *v, const av_plot *p, av_splat_src *s) {
    av_vdata *vd = v->vd;
    const av_plot_key *k = &p->key;
    if (cpu_colors(v, k) != AV_OK) return AV_ERR;
    memset(s, 0, sizeof *s);
    s->dim = av_vdata_dim(vd);
    s->T = vd->T;
    s->pos = av_vdata_point(vd, k->layer, k->head, 0);
    s->col = v->cpu_col;
    if (v->color == AV_COLOR_NORM || k->size_norm) {
        if (ensure_norms(v) != AV_OK) return AV_ERR;
        s->norm = vd->norm01 + ((int64_t)k->layer * vd->run.num_heads + k->head) * 2 * vd->T;
    }
    s->lut = v->lut[0];
    s->lut_dim = v->lut[1];
    s->size_norm = k->size_norm;
    memcpy(s->m, k->m, sizeof s->m);
    return AV_OK;
}

/* ---- picking ------------------------------------------------------------------------ */

static void ensure_pick_fbo(av_viewer *v) {
    if (v->pick_fbo && v->pick_w == v->width && v->pick_h == v->height) return;
    if (v->pick_fbo) glDeleteFramebuffers(1, &v->pick_fbo);
    if (v->pick_tex) glDeleteTextures(1, &v->pick_tex);
    if (v->pick_depth) glDeleteRenderbuffers(1, &v->pick_depth);
    glGenTextures(1, &v->pick_tex);
    glBindTexture(GL_TEXTURE_2D, v->pick_tex);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_R32I, v->width, v->height, 0, GL_RED_INTEGER, GL_INT, NULL);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glGenRenderbuffers(1, &v->pick_depth);
    glBindRenderbuffer(GL_RENDERBUFFER, v->pick_depth);
    glRenderbufferStorage(GL_RENDERBUFFER, GL_DEPTH_COMPONENT24, v->width, v->height);
    glGenFramebuffers(1, &v->pick_fbo);
    glBindFramebuffer(GL_FRAMEBUFFER, v->pick_fbo);
    glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, v->pick_tex, 0);
    glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_DEPTH_ATTACHMENT, GL_RENDERBUFFER, v->pick_depth);
    v->pick_w = v->width;
    v->pick_h = v->height;
    v->pick_valid = 0;
}

/* The GPU's ID buffer of the single view's plot, drawn when the plot changed. */
static void gl_pick_ids(av_viewer *v, int x0, int y0, int S, GLint *ids) {
    const av_plot *p = &v->single;
    ensure_pick_fbo(v);
    glBindFramebuffer(GL_FRAMEBUFFER, v->pick_fbo);
    if (!v->pick_valid || memcmp(&p->key, &v->pick_key, sizeof p->key)) {
        /* redrawn only when the view changed, not per mouse move */
        GLint zero[4] = {0, 0, 0, 0};
        glViewport(0, 0, v->width, v->height);
        glClearBufferiv(GL_COLOR, 0, zero);
        glClear(GL_DEPTH_BUFFER_BIT);
        if (v->pos_tex && p->n > 0) {
            const av_plot_key *k = &p->key;
            glViewport(k->x, k->y, k->w, k->h);
            glEnable(GL_SCISSOR_TEST);
            glScissor(k->x, k->y, k->w, k->h);
            glEnable(GL_DEPTH_TEST);
            glDepthFunc(GL_LEQUAL);
            glDisable(GL_BLEND);
            glEnable(GL_PROGRAM_POINT_SIZE);
            glUseProgram(v->prog_pick);
            set_uniforms(v, v->uloc[1], p, 0, 1);
            glBindVertexArray(v->vao);
            glDrawArrays(GL_POINTS, 0, (GLsizei)p->n);
            glBindVertexArray(0);
            glDisable(GL_SCISSOR_TEST);
            glDisable(GL_DEPTH_TEST);
        }
        v->pick_key = p->key;
        v->pick_valid = 1;
    }
    glReadPixels(x0, y0, S, S, GL_RED_INTEGER, GL_INT, ids);
    glBindFramebuffer(GL_FRAMEBUFFER, v->target_fbo);
}

int64_t av_points_pick(av_viewer *v, float x, float y) {
    const av_plot *p = &v->single;
    if (v->view != AV_VIEW_SINGLE || v->vd->cur < 0 || v->width <= 0) return -1;
    av_plot_key now;
    av_single_key(v, &now);
    if (!p->valid || memcmp(&now, &p->key, sizeof now)) {
        v->hover_stale = 1;  /* the view changed since the last frame: pick from the next one */
        return -1;
    }
    /* a small window around the pointer, nearest hit wins: forgiving for tiny points */
    enum { R = 3, S = 2 * R + 1 };
    int px = (int)x, py = v->height - 1 - (int)y;
    int x0 = px - R, y0 = py - R;
    const av_plot_key *k = &p->key;
    if (x0 < k->x || y0 < k->y || x0 + S > k->x + k->w || y0 + S > k->y + k->h) return -1;
    GLint ids[S * S];
    memset(ids, 0, sizeof ids);
    if (v->renderer == AV_RENDERER_CPU) {
        if (!p->ids) return -1;
        for (int j = 0; j < S; j++)
            for (int i = 0; i < S; i++)
                ids[j * S + i] = (GLint)(p->ids[(int64_t)(y0 - k->y + j) * k->w + (x0 - k->x + i)] & 0x7fffffffu);
    } else {
        gl_pick_ids(v, x0, y0, S, ids);
    }
    int64_t best = -1;
    int bestd = 1 << 30;
    for (int j = 0; j < S; j++)
        for (int i = 0; i < S; i++) {
            int d = (i - R) * (i - R) + (j - R) * (j - R);
            if (ids[j * S + i] > 0 && d < bestd) { bestd = d; best = av_splat_point(ids[j * S + i] - 1, v->vd->T); }
        }
    return best;
}
