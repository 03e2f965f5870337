/* canvas.c - a view's accumulation textures, its cached picture, and the resolve pass
 * that turns a plot's sums into pixels (see plot.h). */
#include <math.h>
#include <string.h>
#include "base/util.h"
#include "viewer/canvas.h"
#include "viewer/gl.h"
#include "viewer/shader.h"

static void clear_cache(av_canvas *c, const float bg[3]);

static const char *VS =
    "#version 330 core\n"
    /* one triangle over the whole viewport (the plot's rectangle) */
    "void main() { gl_Position = vec4(float((gl_VertexID & 1) * 4 - 1), float((gl_VertexID >> 1) * 4 - 1), 0.0, 1.0); }\n";
static const char *FS =
    "#version 330 core\n"
    "uniform sampler2D u_acc0, u_acc1; uniform vec3 u_bg;\n"
    "uniform float u_a0, u_a1, u_scale, u_hmax; uniform int u_heat, u_top, u_dark;\n"
    "out vec4 o_col;\n"
    "vec3 heat(float t) {\n"  /* inferno, a least-squares polynomial fit */
    "  const vec3 c0 = vec3(0.0002, 0.0016, -0.0371), c1 = vec3(0.1059, 0.5664, 4.1179);\n"
    "  const vec3 c2 = vec3(11.6171, -3.9477, -16.2573), c3 = vec3(-41.7093, 17.4577, 44.6451);\n"
    "  const vec3 c4 = vec3(77.1575, -33.4157, -82.2539), c5 = vec3(-71.2877, 32.5539, 73.5881);\n"
    "  const vec3 c6 = vec3(25.0926, -12.2222, -23.1157);\n"
    "  return clamp(c0 + t * (c1 + t * (c2 + t * (c3 + t * (c4 + t * (c5 + t * c6))))), 0.0, 1.0); }\n"
    "void main() {\n"
    "  ivec2 p = ivec2(gl_FragCoord.xy);\n"
    "  vec4 b = texelFetch(u_acc0, p, 0);\n"
    "  vec3 c = u_bg;\n"
    "  if (b.x > 0.0) {\n"
    "    float n = b.x * u_scale;\n"
    "    if (u_heat != 0) {\n"
    /* sparse fades into the background: pale on light, dark on dark */
    "      float t = clamp(log(1.0 + n) / log(1.0 + u_hmax), 0.0, 1.0);\n"
    "      c = heat(u_dark != 0 ? 0.15 + 0.85 * t : 1.0 - 0.85 * t);\n"
    "    } else c = mix(c, b.yzw / (b.x * 255.0), 1.0 - pow(1.0 - u_a0, n));\n"
    "  }\n"
    "  if (u_top != 0) {\n"
    "    vec4 t = texelFetch(u_acc1, p, 0);\n"
    "    if (t.x > 0.0) c = mix(c, t.yzw / (t.x * 255.0), 1.0 - pow(1.0 - u_a1, t.x * u_scale));\n"
    "  }\n"
    "  o_col = vec4(c, 1.0);\n"
    "}\n";

static unsigned tex2d(GLenum ifmt, GLenum fmt, GLenum type, int w, int h) {
    unsigned t;
    glGenTextures(1, &t);
    glBindTexture(GL_TEXTURE_2D, t);
    glTexImage2D(GL_TEXTURE_2D, 0, (GLint)ifmt, w, h, 0, fmt, type, NULL);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    return t;
}

void av_canvas_free(av_canvas *c) {
    if (c->acc_fbo) glDeleteFramebuffers(1, &c->acc_fbo);
    if (c->cache_fbo) glDeleteFramebuffers(1, &c->cache_fbo);
    for (int k = 0; k < 2; k++)
        if (c->acc_tex[k]) glDeleteTextures(1, &c->acc_tex[k]);
    if (c->cache_tex) glDeleteTextures(1, &c->cache_tex);
    memset(c, 0, sizeof *c);
}

void av_canvas_clear_picture(av_canvas *c) {
    float bg[3] = {c->bg[0], c->bg[1], c->bg[2]};
    clear_cache(c, bg);
}

static void clear_cache(av_canvas *c, const float bg[3]) {
    glBindFramebuffer(GL_FRAMEBUFFER, c->cache_fbo);
    glDisable(GL_SCISSOR_TEST);
    glViewport(0, 0, c->w, c->h);
    glClearColor(bg[0], bg[1], bg[2], 1);
    glClear(GL_COLOR_BUFFER_BIT);
    memcpy(c->bg, bg, sizeof c->bg);
}

int av_canvas_ensure(av_canvas *c, int w, int h, const float bg[3], int sums) {
    if (c->cache_fbo && c->w == w && c->h == h && (c->acc_fbo != 0) == (sums != 0)) {
        if (memcmp(c->bg, bg, sizeof c->bg)) {
            clear_cache(c, bg);
            return 1;
        }
        return 0;
    }
    av_canvas_free(c);
    c->w = w;
    c->h = h;
    int ok = 1;
    if (sums) {
        for (int k = 0; k < 2; k++) c->acc_tex[k] = tex2d(GL_RGBA32F, GL_RGBA, GL_FLOAT, w, h);
        glGenFramebuffers(1, &c->acc_fbo);
        glBindFramebuffer(GL_FRAMEBUFFER, c->acc_fbo);
        glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, c->acc_tex[0], 0);
        glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT1, GL_TEXTURE_2D, c->acc_tex[1], 0);
        GLenum bufs[2] = {GL_COLOR_ATTACHMENT0, GL_COLOR_ATTACHMENT1};
        glDrawBuffers(2, bufs);
        ok = glCheckFramebufferStatus(GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE;
    }
    c->cache_tex = tex2d(GL_RGBA8, GL_RGBA, GL_UNSIGNED_BYTE, w, h);
    glGenFramebuffers(1, &c->cache_fbo);
    glBindFramebuffer(GL_FRAMEBUFFER, c->cache_fbo);
    glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, c->cache_tex, 0);
    ok = ok && glCheckFramebufferStatus(GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE;
    if (!ok) {
        av_canvas_free(c);
        return av_fail("OpenGL: cannot make the %dx%d float framebuffer the points accumulate in", w, h);
    }
    clear_cache(c, bg);
    return 1;
}

void av_canvas_show_rect(const av_canvas *c, av_irect r, unsigned fbo) {
    glBindFramebuffer(GL_READ_FRAMEBUFFER, c->cache_fbo);
    glBindFramebuffer(GL_DRAW_FRAMEBUFFER, fbo);
    glDisable(GL_SCISSOR_TEST);
    glBlitFramebuffer(r.x, r.y, r.x + r.w, r.y + r.h, r.x, r.y, r.x + r.w, r.y + r.h, GL_COLOR_BUFFER_BIT, GL_NEAREST);
    glBindFramebuffer(GL_FRAMEBUFFER, fbo);
}

void av_canvas_show(const av_canvas *c, unsigned fbo) { av_canvas_show_rect(c, (av_irect){0, 0, c->w, c->h}, fbo); }

void av_canvas_clear(const av_canvas *c, av_irect r) {
    static const float zero[4] = {0, 0, 0, 0};
    glBindFramebuffer(GL_FRAMEBUFFER, c->acc_fbo);
    glEnable(GL_SCISSOR_TEST);
    glScissor(r.x, r.y, r.w, r.h);
    glClearBufferfv(GL_COLOR, 0, zero);
    glClearBufferfv(GL_COLOR, 1, zero);
    glDisable(GL_SCISSOR_TEST);
}

void av_canvas_put(const av_canvas *c, av_irect r, const uint8_t *rgba) {
    glBindTexture(GL_TEXTURE_2D, c->cache_tex);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    glTexSubImage2D(GL_TEXTURE_2D, 0, r.x, r.y, r.w, r.h, GL_RGBA, GL_UNSIGNED_BYTE, rgba);
}

void av_canvas_read_counts(const av_canvas *c, av_irect r, float *out) {
    glBindFramebuffer(GL_READ_FRAMEBUFFER, c->acc_fbo);
    glReadBuffer(GL_COLOR_ATTACHMENT0);
    glPixelStorei(GL_PACK_ALIGNMENT, 4);
    glReadPixels(r.x, r.y, r.w, r.h, GL_RED, GL_FLOAT, out);
}

int av_resolve_init(av_resolve *rs) {
    memset(rs, 0, sizeof *rs);
    rs->prog = av_gl_program(VS, FS, "point resolve");
    if (!rs->prog) return AV_ERR;
    static const char *names[R_COUNT] = {"u_acc0", "u_acc1", "u_bg", "u_a0", "u_a1", "u_scale", "u_hmax",
                                         "u_heat", "u_top", "u_dark"};
    for (int i = 0; i < R_COUNT; i++) rs->loc[i] = glGetUniformLocation(rs->prog, names[i]);
    glGenVertexArrays(1, &rs->vao);
    return AV_OK;
}

void av_resolve_free(av_resolve *rs) {
    if (rs->prog) glDeleteProgram(rs->prog);
    if (rs->vao) glDeleteVertexArrays(1, &rs->vao);
    memset(rs, 0, sizeof *rs);
}

void av_resolve_draw(const av_resolve *rs, const av_canvas *c, av_irect r, const av_resolve_params *p, unsigned fbo) {
    glBindFramebuffer(GL_FRAMEBUFFER, fbo);
    glViewport(r.x, r.y, r.w, r.h);
    glDisable(GL_SCISSOR_TEST);
    glDisable(GL_DEPTH_TEST);
    glDisable(GL_BLEND);
    glUseProgram(rs->prog);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, c->acc_tex[0]);
    glUniform1i(rs->loc[R_ACC0], 0);
    glActiveTexture(GL_TEXTURE1);
    glBindTexture(GL_TEXTURE_2D, c->acc_tex[1]);
    glUniform1i(rs->loc[R_ACC1], 1);
    glUniform3f(rs->loc[R_BG], p->bg[0], p->bg[1], p->bg[2]);
    glUniform1f(rs->loc[R_A0], p->alpha);
    glUniform1f(rs->loc[R_A1], p->alpha_top);
    glUniform1f(rs->loc[R_SCALE], p->scale);
    glUniform1f(rs->loc[R_HMAX], p->heat_max);
    glUniform1i(rs->loc[R_HEAT], p->heat);
    glUniform1i(rs->loc[R_TOP], p->top);
    glUniform1i(rs->loc[R_DARK], p->dark);
    glBindVertexArray(rs->vao);
    glDrawArrays(GL_TRIANGLES, 0, 3);
    glBindVertexArray(0);
    glActiveTexture(GL_TEXTURE0);
}
