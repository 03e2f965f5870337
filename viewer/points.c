/* points.c - the point clouds on the GPU. A projection is uploaded ONCE into a buffer
 * (all heads, [L, H, 2T, dim] f32, exactly the file's layout) and read by the vertex
 * shader through a texture buffer, so a head is a range and level of detail is a
 * stride: no per-frame uploads, one draw call per head. Colours come from a small
 * per-token attribute buffer (or the per-point norm buffer), highlight flags from a
 * per-token byte buffer. Picking draws point index + 1 into an R32I framebuffer and
 * reads back the pixels under the pointer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "viewer/gl.h"
#include "viewer/shader.h"
#include "viewer/viewer_internal.h"

static const char *VS =
    "#version 330 core\n"
    "uniform samplerBuffer u_pos; uniform samplerBuffer u_attr; uniform usamplerBuffer u_flags;\n"
    "uniform samplerBuffer u_norm;\n"
    "uniform int u_base, u_stride, u_T, u_dim, u_mode, u_attr_global, u_show, u_any, u_size_norm;\n"
    "uniform mat4 u_mvp; uniform float u_size; uniform vec3 u_pal[10]; uniform vec3 u_bg, u_hit;\n"
    "flat out vec4 v_col; flat out int v_id;\n"
    "vec3 cmap(float t) {\n"  /* viridis, polynomial fit */
    "  const vec3 c0 = vec3(0.2777, 0.0054, 0.3341), c1 = vec3(0.1050, 1.4046, 1.3846);\n"
    "  const vec3 c2 = vec3(-0.3309, 0.2148, 0.0951), c3 = vec3(-4.6342, -5.7991, -19.3324);\n"
    "  const vec3 c4 = vec3(6.2283, 14.1799, 56.6906), c5 = vec3(4.7764, -13.7451, -65.3530);\n"
    "  const vec3 c6 = vec3(-5.4355, 4.6459, 26.3124);\n"
    "  return clamp(c0 + t * (c1 + t * (c2 + t * (c3 + t * (c4 + t * (c5 + t * c6))))), 0.0, 1.0); }\n"
    "void main() {\n"
    /* queries and keys interleaved in draw order, so neither cloud paints over the other;
     * an even LOD stride is nudged on odd vertices to keep both */
    "  int j = gl_VertexID * u_stride + ((u_stride & 1) == 0 ? (gl_VertexID & 1) : 0);\n"
    "  int l = (j & 1) == 0 ? (j >> 1) : u_T + (j >> 1); bool isk = l >= u_T; int tok = isk ? l - u_T : l;\n"
    "  v_id = l + 1;\n"
    "  if ((isk && (u_show & 2) == 0) || (!isk && (u_show & 1) == 0)) {\n"
    "    gl_Position = vec4(3.0, 3.0, 3.0, 1.0); gl_PointSize = 1.0; v_col = vec4(0.0); return; }\n"
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
    "  if (u_size_norm != 0) size *= 0.4 + 1.6 * texelFetch(u_norm, g).r;\n"
    "  float alpha = 0.85, z = 0.0;\n"
    "  if (u_any != 0) {\n"
    "    if ((f & 7u) == 0u) { c = mix(c, u_bg, 0.65); alpha = 0.7; z = 0.5; }\n"
    "    else { size *= 1.7; alpha = 1.0; z = -0.5;\n"
    "      if ((f & 2u) != 0u && (f & 1u) == 0u) c = u_hit; }\n"
    "  }\n"
    "  vec4 cp = u_mvp * vec4(p, 1.0);\n"
    "  if (u_dim == 2) cp.z = z; else cp.z = cp.z * 0.5 + z * 0.4;\n"
    "  gl_Position = cp; gl_PointSize = max(size, 1.0); v_col = vec4(c, alpha);\n"
    "}\n";
static const char *FS =
    "#version 330 core\n"
    "flat in vec4 v_col; flat in int v_id; out vec4 o_col;\n"
    "void main() { vec2 d = gl_PointCoord - vec2(0.5); if (dot(d, d) > 0.25) discard; o_col = v_col; }\n";
static const char *FS_PICK =
    "#version 330 core\n"
    "flat in vec4 v_col; flat in int v_id; out int o_id;\n"
    "void main() { vec2 d = gl_PointCoord - vec2(0.5); if (dot(d, d) > 0.25) discard; o_id = v_id; }\n";

/* Uniform locations, looked up once per program: the matrix view draws 144 heads a frame. */
enum { U_POS, U_ATTR, U_FLAGS, U_NORM, U_BASE, U_STRIDE, U_T, U_DIM, U_MODE, U_ATTR_GLOBAL, U_SHOW, U_ANY,
       U_SIZE_NORM, U_MVP, U_SIZE, U_PAL, U_BG, U_HIT, U_COUNT };
static const char *uniform_names[U_COUNT] = {"u_pos", "u_attr", "u_flags", "u_norm", "u_base", "u_stride", "u_T",
    "u_dim", "u_mode", "u_attr_global", "u_show", "u_any", "u_size_norm", "u_mvp", "u_size", "u_pal", "u_bg", "u_hit"};

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
    v->prog_pts = av_gl_program(VS, FS, "point cloud");
    if (!v->prog_pts) return AV_ERR;
    v->prog_pick = av_gl_program(VS, FS_PICK, "point picking");
    if (!v->prog_pick) return AV_ERR;
    lookup_uniforms(v->prog_pts, v->uloc[0]);
    lookup_uniforms(v->prog_pick, v->uloc[1]);
    glGenVertexArrays(1, &v->vao);
    v->gl_proj = v->gl_color = -1;
    v->flags = av_calloc((size_t)v->vd->T + 1, 1);
    if (!v->flags) return AV_ERR;
    v->flag_tex = make_tbo(&v->flag_buf, GL_R8UI, v->flags, (size_t)v->vd->T + 1);
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
    v->flags = NULL;
}

int av_points_upload_proj(av_viewer *v) {
    av_vdata *vd = v->vd;
    if (vd->cur < 0 || v->gl_proj == vd->cur) return AV_OK;
    GLint max_texels = 0;
    glGetIntegerv(GL_MAX_TEXTURE_BUFFER_SIZE, &max_texels);
    int64_t texels = vd->pdata.count;
    if (texels > max_texels)
        return av_fail("%s: %lld values exceed this GPU's texture buffer limit (%d); project fewer heads",
                       vd->proj[vd->cur].file, (long long)texels, max_texels);
    drop_tbo(&v->pos_buf, &v->pos_tex);
    v->pos_tex = make_tbo(&v->pos_buf, GL_R32F, vd->pdata.data, (size_t)texels * sizeof(float));
    v->pos_texels = texels;
    v->gl_proj = vd->cur;
    v->pick_valid = 0;
    return AV_OK;
}

void av_points_update_head(av_viewer *v, int l, int h) {
    av_vdata *vd = v->vd;
    if (vd->cur < 0 || v->gl_proj != vd->cur || !v->pos_buf) return;
    int dim = av_vdata_dim(vd);
    int64_t n = 2 * vd->T;
    glBindBuffer(GL_TEXTURE_BUFFER, v->pos_buf);
    glBufferSubData(GL_TEXTURE_BUFFER, (GLintptr)(((int64_t)l * vd->run.num_heads + h) * n * dim * (int64_t)sizeof(float)),
                    (GLsizeiptr)(n * dim * (int64_t)sizeof(float)), av_vdata_point(vd, l, h, 0));
    v->pick_valid = 0;
}

static int ensure_norms(av_viewer *v) {
    if (v->norm_tex) return AV_OK;
    const float *n = av_vdata_norms(v->vd);
    if (!n) return AV_ERR;
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
    float *a = av_malloc(((size_t)v->vd->T + 1) * sizeof(float));
    if (!a) return AV_ERR;
    if (av_vdata_token_attr(v->vd, v->color, a) != AV_OK) { free(a); return AV_ERR; }
    drop_tbo(&v->attr_buf, &v->attr_tex);
    v->attr_tex = make_tbo(&v->attr_buf, GL_R32F, a, ((size_t)v->vd->T + 1) * sizeof(float));
    free(a);
    v->gl_color = (int)v->color;
    return AV_OK;
}

void av_points_upload_flags(av_viewer *v) {
    if (!v->flags_dirty) return;
    glBindBuffer(GL_TEXTURE_BUFFER, v->flag_buf);
    glBufferSubData(GL_TEXTURE_BUFFER, 0, (GLsizeiptr)v->vd->T, v->flags);
    v->flags_dirty = 0;
}

static int any_flag(const av_viewer *v) { return v->sel_item >= 0 || v->search_hits > 0; }

void av_points_draw(av_viewer *v, int l, int h, av_rect r, const float m[16], int stride, float size, int pick) {
    av_vdata *vd = v->vd;
    if (vd->cur < 0 || !v->pos_tex) return;
    if (v->size_by_norm && ensure_norms(v) != AV_OK) v->size_by_norm = 0;
    unsigned prog = pick ? v->prog_pick : v->prog_pts;
    int dim = av_vdata_dim(vd);
    int64_t n = 2 * vd->T;
    glViewport((int)r.x, v->height - (int)(r.y + r.h), (int)r.w, (int)r.h);
    glEnable(GL_SCISSOR_TEST);
    glScissor((int)r.x, v->height - (int)(r.y + r.h), (int)r.w, (int)r.h);
    glEnable(GL_DEPTH_TEST);
    glDepthFunc(GL_LEQUAL);
    glEnable(GL_PROGRAM_POINT_SIZE);
    if (pick) glDisable(GL_BLEND);
    else { glEnable(GL_BLEND); glBlendFunc(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA); }
    glUseProgram(prog);
    const int *loc = v->uloc[pick ? 1 : 0];
    #define U(name) loc[name]
    glActiveTexture(GL_TEXTURE0); glBindTexture(GL_TEXTURE_BUFFER, v->pos_tex); glUniform1i(U(U_POS), 0);
    glActiveTexture(GL_TEXTURE1);
    glBindTexture(GL_TEXTURE_BUFFER, v->color == AV_COLOR_NORM ? v->norm_tex : v->attr_tex);
    glUniform1i(U(U_ATTR), 1);
    glActiveTexture(GL_TEXTURE2); glBindTexture(GL_TEXTURE_BUFFER, v->flag_tex); glUniform1i(U(U_FLAGS), 2);
    glActiveTexture(GL_TEXTURE3);
    glBindTexture(GL_TEXTURE_BUFFER, v->norm_tex ? v->norm_tex : v->attr_tex);
    glUniform1i(U(U_NORM), 3);
    glUniform1i(U(U_BASE), (int)(((int64_t)l * vd->run.num_heads + h) * n));
    glUniform1i(U(U_STRIDE), stride);
    glUniform1i(U(U_T), (int)vd->T);
    glUniform1i(U(U_DIM), dim);
    glUniform1i(U(U_MODE), v->color == AV_COLOR_QK ? 0 : av_color_categorical(v->color) ? 1 : av_color_cyclic(v->color) ? 3 : 2);
    glUniform1i(U(U_ATTR_GLOBAL), v->color == AV_COLOR_NORM);
    glUniform1i(U(U_SHOW), (v->show_q ? 1 : 0) | (v->show_k ? 2 : 0));
    glUniform1i(U(U_ANY), any_flag(v));
    glUniform1i(U(U_SIZE_NORM), v->size_by_norm && v->norm_tex);
    glUniformMatrix4fv(U(U_MVP), 1, GL_FALSE, m);
    glUniform1f(U(U_SIZE), size);
    float pal[30];
    for (int i = 0; i < 10; i++) {
        av_rgba c = av_palette(v, i);
        pal[3 * i] = c.r; pal[3 * i + 1] = c.g; pal[3 * i + 2] = c.b;
    }
    glUniform3fv(U(U_PAL), 10, pal);
    av_theme th = av_theme_of(v);
    glUniform3f(U(U_BG), th.bg.r, th.bg.g, th.bg.b);
    glUniform3f(U(U_HIT), th.hit.r, th.hit.g, th.hit.b);
    #undef U
    glBindVertexArray(v->vao);
    glDrawArrays(GL_POINTS, 0, (GLsizei)((n + stride - 1) / stride));
    glBindVertexArray(0);
    glDisable(GL_SCISSOR_TEST);
    glViewport(0, 0, v->width, v->height);
}

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

int64_t av_points_pick(av_viewer *v, float x, float y) {
    if (v->view != AV_VIEW_SINGLE || v->vd->cur < 0 || v->width <= 0) return -1;
    av_pick_key key = {(int)v->view, v->layer, v->head, v->vd->cur, v->width, v->height, v->lod_stride,
                       (v->show_q ? 1 : 0) | (v->show_k ? 2 : 0), v->size_by_norm,
                       v->zoom, v->pan_x, v->pan_y, v->yaw, v->pitch, v->point_size};
    ensure_pick_fbo(v);
    glBindFramebuffer(GL_FRAMEBUFFER, v->pick_fbo);
    if (!v->pick_valid || memcmp(&key, &v->pick_key, sizeof key)) {
        /* the ID buffer is redrawn only when the view changed, not per mouse move */
        GLint zero[4] = {0, 0, 0, 0};
        glViewport(0, 0, v->width, v->height);
        glClearBufferiv(GL_COLOR, 0, zero);
        glClear(GL_DEPTH_BUFFER_BIT);
        float m[16];
        av_rect r = av_single_rect(v);
        av_head_matrix(v, v->layer, v->head, r.w, r.h, 1, m);
        av_points_draw(v, v->layer, v->head, r, m, v->lod_stride > 0 ? v->lod_stride : 1, v->point_size + 4, 1);
        v->pick_key = key;
        v->pick_valid = 1;
    }
    /* a small window around the pointer, nearest hit wins: forgiving for tiny points */
    enum { R = 3, S = 2 * R + 1 };
    int px = (int)x, py = v->height - 1 - (int)y;
    GLint ids[S * S];
    memset(ids, 0, sizeof ids);
    int x0 = px - R, y0 = py - R;
    int64_t best = -1;
    if (x0 >= 0 && y0 >= 0 && x0 + S <= v->width && y0 + S <= v->height) {
        glReadPixels(x0, y0, S, S, GL_RED_INTEGER, GL_INT, ids);
        int bestd = 1 << 30;
        for (int j = 0; j < S; j++)
            for (int i = 0; i < S; i++) {
                int d = (i - R) * (i - R) + (j - R) * (j - R);
                if (ids[j * S + i] > 0 && d < bestd) { bestd = d; best = ids[j * S + i] - 1; }
            }
    }
    glBindFramebuffer(GL_FRAMEBUFFER, v->target_fbo);
    return best;
}
