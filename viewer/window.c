/* window.c - GLFW window, event mapping and script replay (see window.h). */
#include "viewer/window.h"

#include "viewer/gl.h"  /* before GLFW, which would include GL without the prototypes */
#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/util.h"
#include "viewer/headless.h"
#include "viewer/live.h"
#include "viewer/png.h"
#include "viewer/viewer_internal.h"

/* One live head: its job and the frame the viewer holds of it. */
typedef struct {
    av_live job;
    int64_t seen;
    int slot, slot_dev;    /* the frame held (-1 none) and whether it is on the device only */
    av_live_frame f;       /* the newest take's iteration, KL, rate, done */
} live_head;

typedef struct {
    GLFWwindow *win;
    av_viewer *v;
    int fb_w, fb_h;
    double scale;          /* framebuffer pixels per window coordinate */
    int pressed, pressed_right, dragging;
    double press_x, press_y, last_x, last_y;
    int dirty;
    int scripted;          /* input comes from the script only */
    FILE *state_out;       /* where `state -` writes (the caller's stream) */
    /* live projection: one job per head (nlive 0 when not live) */
    live_head *live;
    int nlive;
    int live_iter, live_done, live_saved;  /* the slowest head's iteration; 1 all done, -1 one failed */
    double live_kl, live_rate;             /* the first head's KL, the slowest head's rate */
    int interop_wanted;    /* --interop auto (1) or off (0) */
    int interop_refused;   /* registering the GL buffer failed: copy from then on */
    av_gl_buffer *glbuf;   /* the point buffer registered with CUDA (interop), or NULL */
    char path_why[200];    /* why the copy path ("" with interop) */
    int64_t frames_interop, frames_copy;  /* frames taken by each path */
    double secs_interop, secs_copy;       /* time the viewer spent taking them (bench/bench_live.sh) */
} win_state;

static char glfw_error[512];
static void on_glfw_error(int code, const char *msg) { snprintf(glfw_error, sizeof glfw_error, "%s (GLFW %d)", msg, code); }

/* ---- event handlers: GLFW callbacks and script lines both come here --------------- */

static void ev_cursor(win_state *w, double x, double y) {
    x *= w->scale;
    y *= w->scale;
    if (w->pressed) {
        if (!w->dragging && (x - w->press_x) * (x - w->press_x) + (y - w->press_y) * (y - w->press_y) > 16) w->dragging = 1;
        if (w->dragging) av_viewer_drag(w->v, (float)(x - w->last_x), (float)(y - w->last_y), w->pressed_right);
    }
    w->last_x = x;
    w->last_y = y;
    if (!w->dragging) av_viewer_mouse(w->v, (float)x, (float)y);
    w->dirty = 1;
}

static void ev_button(win_state *w, int button, int action) {
    if (button != GLFW_MOUSE_BUTTON_LEFT && button != GLFW_MOUSE_BUTTON_RIGHT) return;
    if (action == GLFW_PRESS) {
        w->pressed = 1;
        w->pressed_right = button == GLFW_MOUSE_BUTTON_RIGHT;
        w->dragging = 0;
        w->press_x = w->last_x;
        w->press_y = w->last_y;
    } else if (w->pressed) {
        /* a press and release without movement is a click */
        if (!w->dragging && button == GLFW_MOUSE_BUTTON_LEFT) av_viewer_click(w->v, (float)w->last_x, (float)w->last_y);
        w->pressed = w->dragging = 0;
    }
    w->dirty = 1;
}

static void ev_scroll(win_state *w, double dy) {
    av_viewer_scroll(w->v, (float)w->last_x, (float)w->last_y, (float)dy);
    w->dirty = 1;
}

static void ev_key(win_state *w, int key, int action) {
    if (action != GLFW_PRESS && action != GLFW_REPEAT) return;
    int k = 0;
    switch (key) {
    case GLFW_KEY_LEFT: k = AV_KEY_LEFT; break;
    case GLFW_KEY_RIGHT: k = AV_KEY_RIGHT; break;
    case GLFW_KEY_UP: k = AV_KEY_UP; break;
    case GLFW_KEY_DOWN: k = AV_KEY_DOWN; break;
    case GLFW_KEY_ENTER: case GLFW_KEY_KP_ENTER: k = AV_KEY_ENTER; break;
    case GLFW_KEY_ESCAPE: k = AV_KEY_ESCAPE; break;
    case GLFW_KEY_BACKSPACE: k = AV_KEY_BACKSPACE; break;
    default: return;  /* printable keys arrive as characters */
    }
    av_viewer_key(w->v, k);
    w->dirty = 1;
}

static void live_save(win_state *w);

static void ev_char(win_state *w, unsigned cp) {
    if (w->nlive && cp == 's' && !w->v->search_active) live_save(w); /* s: save the live projection */
    else av_viewer_char(w->v, cp);
    w->dirty = 1;
}

/* While a script runs it is the only input: the real pointer (e.g. resting where the
 * window opens) must not move the hover between scripted steps. */
static win_state *ws(GLFWwindow *win) {
    win_state *w = glfwGetWindowUserPointer(win);
    return w->scripted ? NULL : w;
}
static void cb_cursor(GLFWwindow *win, double x, double y) { if (ws(win)) ev_cursor(ws(win), x, y); }
static void cb_button(GLFWwindow *win, int b, int a, int mods) { (void)mods; if (ws(win)) ev_button(ws(win), b, a); }
static void cb_scroll(GLFWwindow *win, double dx, double dy) { (void)dx; if (ws(win)) ev_scroll(ws(win), dy); }
static void cb_key(GLFWwindow *win, int key, int sc, int action, int mods) { (void)sc; (void)mods; if (ws(win)) ev_key(ws(win), key, action); }
static void cb_char(GLFWwindow *win, unsigned cp) { if (ws(win)) ev_char(ws(win), cp); }
static void cb_refresh(GLFWwindow *win) { ((win_state *)glfwGetWindowUserPointer(win))->dirty = 1; }

/* ---- frames ----------------------------------------------------------------------- */

/* Whether the live frames go into the GL point buffer through CUDA-OpenGL interop:
 * wanted, the jobs publish on the device, the viewer draws with OpenGL from its point
 * buffer, and the live projection is the one loaded. Registers the buffer when it is
 * new (returns 2: the held frames must be written again); path_why says why not. */
static int interop_ready(win_state *w) {
    av_live *lv = &w->live[0].job;
    av_viewer *v = w->v;
    const char *why = NULL;
    if (!w->interop_wanted) why = "--interop off";
    else if (!lv->gpu) why = strcmp(lv->backend, "cpu") ? "no room for the positions on the GPU" : "the projection runs on the CPU";
    else if (v->renderer != AV_RENDERER_GL) why = "OpenGL is a software renderer here";
    else if (w->interop_refused) return 0; /* path_why holds the refusal */
    else if (v->vd->cur != v->vd->live_idx || !v->pos_buf) {
        /* another projection is shown: let go of the point buffer now, before it is
         * replaced by that projection's (the poll runs before the frame's upload) */
        av_gl_buffer_unregister(w->glbuf);
        w->glbuf = NULL;
        return 0;
    }
    else if (av_gl_buffer_name(w->glbuf) != v->pos_buf) {
        /* a new point buffer (the projection was loaded again) */
        av_gl_buffer_unregister(w->glbuf);
        w->glbuf = NULL;
        if (av_gl_buffer_register(v->pos_buf, &w->glbuf) != AV_OK) {
            snprintf(w->path_why, sizeof w->path_why, "%s", av_last_error());
            w->interop_refused = 1;
            return 0;
        }
        w->path_why[0] = 0;
        return 2;
    } else {
        w->path_why[0] = 0;
        return 1;
    }
    snprintf(w->path_why, sizeof w->path_why, "%s", why);
    return 0;
}

/* Takes head j's newest iteration into the viewer. Copy path: the frame is the job's
 * host slot (the viewer keeps a pointer to it and uploads it to the GL buffer);
 * interop: the job's device slot is written into the GL buffer by CUDA. */
static void live_take(win_state *w, live_head *j, int ready) {
    av_live *lv = &j->job;
    av_viewer *v = w->v;
    int interop = ready && lv->gpu;
    int r = av_live_take(lv, &j->seen, !interop, &j->f);
    if (r == AV_ERR) {
        snprintf(v->note, sizeof v->note, "%s", av_last_error());
        return;
    }
    if (r == 1) {
        j->slot = j->f.slot;
        j->slot_dev = j->f.on_device;
    } else if (!(ready == 2 && j->slot_dev)) {
        return;  /* nothing new, and the buffer still holds the frame */
    }
    double t0 = av_now();
    if (j->slot_dev) {
        float b[6];
        int64_t at = ((int64_t)lv->layer * v->vd->run.num_heads + lv->head) * lv->n * lv->opts.dim;
        if (av_live_gpu_to_gl(lv->gpu, j->slot, w->glbuf, at, b) != AV_OK) {
            snprintf(v->note, sizeof v->note, "%s", av_last_error());
            return;
        }
        av_vdata_live_device(v->vd, lv->layer, lv->head, b);
        av_points_head_changed(v, lv->layer, lv->head);
        w->frames_interop++;
        w->secs_interop += av_now() - t0;
    } else {
        av_vdata_live_update(v->vd, lv->layer, lv->head, lv->host[j->slot]);
        av_points_update_head(v, lv->layer, lv->head);
        if (v->pos_buf) glFinish();  /* the upload is part of the frame's cost */
        w->frames_copy++;
        w->secs_copy += av_now() - t0;
    }
}

/* Takes every live head's newest iteration and says where the run stands in the
 * bottom bar (the slowest head's iteration when there are several). */
static void live_poll(win_state *w) {
    if (!w->nlive) return;
    av_viewer *v = w->v;
    int ready = interop_ready(w);
    int done = 1, failed = -1;
    for (int k = 0; k < w->nlive; k++) {
        live_head *j = &w->live[k];
        live_take(w, j, ready);
        if (k == 0 || j->f.iter < w->live_iter) w->live_iter = j->f.iter;
        if (k == 0 || j->f.rate < w->live_rate) w->live_rate = j->f.rate;
        if (j->f.done != 1) done = 0;
        if (j->f.done < 0 && failed < 0) failed = k;
    }
    w->live_kl = w->live[0].f.kl;
    w->live_done = failed >= 0 ? -1 : done;
    av_live *lv = &w->live[0].job;
    const char *m = lv->opts.method == AV_PROJ_TSNE ? "t-SNE" : "UMAP";
    char kl[48] = "", heads[32];
    if (!isnan(w->live_kl) && w->nlive == 1) snprintf(kl, sizeof kl, "  KL %.4f", w->live_kl);
    if (w->nlive == 1) snprintf(heads, sizeof heads, "head %d:%d", lv->layer, lv->head);
    else snprintf(heads, sizeof heads, "%d heads", w->nlive);
    if (failed >= 0)
        snprintf(v->note, sizeof v->note, "%s", w->live[failed].job.err);
    else
        snprintf(v->status, sizeof v->status, "live %s %d-D of %s on the %s  %s %d/%d%s  %.0f it/s  %s%s", m,
                 lv->opts.dim, heads, strcmp(lv->backend, "cpu") ? "GPU" : "CPU",
                 lv->opts.method == AV_PROJ_TSNE ? "iteration" : "epoch", w->live_iter, lv->total, kl, w->live_rate,
                 w->path_why[0] ? "copy" : "interop",
                 w->live_saved ? "  - saved to proj/" : w->live_done ? "  - done: s saves it to proj/" : "");
}

/* s: every live head into the run's proj/, as `attnviz project --heads` would write them. */
static void live_save(win_state *w) {
    for (int k = 0; k < w->nlive; k++)
        if (av_live_save(&w->live[k].job, &w->v->vd->run) != AV_OK) {
            snprintf(w->v->note, sizeof w->v->note, "%s", av_last_error());
            return;
        }
    w->live_saved = 1;
    w->v->note[0] = 0;
}

/* Live head j's positions as the viewer draws them: read back from the GL point buffer
 * when the GPU draws (whichever path wrote it), else the host frame. Into Y [2T, dim];
 * AV_ERR when there is no frame yet. */
static int live_positions(win_state *w, const live_head *j, float *Y) {
    const av_live *lv = &j->job;
    av_viewer *v = w->v;
    size_t bytes = (size_t)lv->n * lv->opts.dim * sizeof(float);
    if (j->slot < 0) return av_fail("the live projection of head %d:%d has no iteration to show yet", lv->layer, lv->head);
    if (v->renderer == AV_RENDERER_GL && v->pos_buf && v->gl_proj == v->vd->live_idx) {
        int64_t at = ((int64_t)lv->layer * v->vd->run.num_heads + lv->head) * (int64_t)bytes;
        glBindBuffer(GL_TEXTURE_BUFFER, v->pos_buf);
        glGetBufferSubData(GL_TEXTURE_BUFFER, (GLintptr)at, (GLsizeiptr)bytes, Y);
        return AV_OK;
    }
    if (j->slot_dev) return av_fail("the live positions of head %d:%d are on the GPU only", lv->layer, lv->head);
    memcpy(Y, av_vdata_point(v->vd, lv->layer, lv->head, 0), bytes);
    return AV_OK;
}

/* Script `positions FILE.npy [L:H]`: the drawn positions of a live head (the first
 * by default), [2T, dim] f32. */
static int write_positions(win_state *w, const char *path, const char *head) {
    if (!w->nlive) return av_fail("positions: only a live projection (--live) has positions to write");
    const live_head *j = &w->live[0];
    int l, h;
    if (*head) {
        j = NULL;
        if (sscanf(head, "%d:%d", &l, &h) == 2)
            for (int k = 0; k < w->nlive; k++)
                if (w->live[k].job.layer == l && w->live[k].job.head == h) j = &w->live[k];
        if (!j) return av_fail("positions: '%s' is not a live head", head);
    }
    float *Y = av_malloc((size_t)j->job.n * j->job.opts.dim * sizeof(float));
    if (!Y) return AV_ERR;
    int64_t shape[2] = {j->job.n, j->job.opts.dim};
    int rc = live_positions(w, j, Y);
    if (rc == AV_OK) rc = av_npy_write(path, AV_DT_F32, 2, shape, Y);
    free(Y);
    return rc;
}

/* The live part of the state JSON: where the run is (the slowest head), the first
 * head's first point and extent (so a script can tell the points moved), the path
 * frames take, and with several heads each head's iteration. */
static void live_state(win_state *w, cJSON *s) {
    if (!w->nlive) return;
    av_live *lv = &w->live[0].job;
    cJSON *o = cJSON_AddObjectToObject(s, "live");
    cJSON_AddStringToObject(o, "method", av_proj_method_name(lv->opts.method));
    cJSON_AddNumberToObject(o, "dim", lv->opts.dim);
    cJSON_AddNumberToObject(o, "iteration", w->live_iter);
    cJSON_AddNumberToObject(o, "total", lv->total);
    if (!isnan(w->live_kl)) cJSON_AddNumberToObject(o, "kl", w->live_kl);
    cJSON_AddNumberToObject(o, "rate", round(w->live_rate));
    /* from the start to the newest iteration (of the slowest head) */
    cJSON_AddNumberToObject(o, "seconds", w->live_rate > 0 ? round(1e3 * w->live_iter / w->live_rate) / 1e3 : 0);
    cJSON_AddBoolToObject(o, "done", w->live_done == 1);
    cJSON_AddBoolToObject(o, "saved", w->live_saved);
    float p0[3] = {0, 0, 0}, ext = 0;
    int dim = lv->opts.dim;
    float *Y = av_malloc((size_t)lv->n * dim * sizeof(float));
    if (Y && live_positions(w, &w->live[0], Y) == AV_OK) {
        for (int k = 0; k < dim; k++) p0[k] = Y[k];
        for (int64_t i = 0; i < lv->n * dim; i++)
            if (isfinite(Y[i]) && fabsf(Y[i]) > ext) ext = fabsf(Y[i]);
    }
    av_clear_error();
    free(Y);
    cJSON *a = cJSON_AddArrayToObject(o, "point0");
    for (int k = 0; k < dim; k++) cJSON_AddItemToArray(a, cJSON_CreateNumber(isfinite(p0[k]) ? p0[k] : 0));
    cJSON_AddNumberToObject(o, "extent", ext);
    cJSON_AddStringToObject(o, "backend", lv->backend);   /* the projections it runs on ("cpu", "cuda") */
    /* "interop": CUDA writes the frames into the GL point buffer; "copy": they reach it
     * (or the CPU renderer) through the host, path_why says why */
    cJSON_AddStringToObject(o, "path", w->path_why[0] ? "copy" : "interop");
    if (w->path_why[0]) cJSON_AddStringToObject(o, "path_why", w->path_why);
    cJSON_AddNumberToObject(o, "frames_interop", (double)w->frames_interop);
    cJSON_AddNumberToObject(o, "frames_copy", (double)w->frames_copy);
    /* mean milliseconds a taken frame cost the viewer (take, download or interop write,
     * bounds, upload), and the workers' publishing per iteration (their host copy, or
     * enqueueing the device one) */
    cJSON_AddNumberToObject(o, "frame_ms_interop", w->frames_interop ? 1e3 * w->secs_interop / w->frames_interop : 0);
    cJSON_AddNumberToObject(o, "frame_ms_copy", w->frames_copy ? 1e3 * w->secs_copy / w->frames_copy : 0);
    double ps = 0;
    int64_t pn = 0;
    for (int k = 0; k < w->nlive; k++) {
        av_live *jl = &w->live[k].job;
        pthread_mutex_lock(&jl->mu);
        ps += jl->publish_secs;
        pn += jl->published;
        pthread_mutex_unlock(&jl->mu);
    }
    cJSON_AddNumberToObject(o, "publish_ms", pn ? 1e3 * ps / pn : 0);
    cJSON_AddStringToObject(o, "bar", w->v->status);  /* the bottom bar's line */
    if (w->nlive > 1) {
        cJSON *hs = cJSON_AddArrayToObject(o, "heads");
        for (int k = 0; k < w->nlive; k++) {
            cJSON *e = cJSON_CreateObject();
            char name[32];
            snprintf(name, sizeof name, "%d:%d", w->live[k].job.layer, w->live[k].job.head);
            cJSON_AddStringToObject(e, "head", name);
            cJSON_AddNumberToObject(e, "iteration", w->live[k].f.iter);
            cJSON_AddBoolToObject(e, "done", w->live[k].f.done == 1);
            cJSON_AddItemToArray(hs, e);
        }
    }
}

static void frame(win_state *w) {
    live_poll(w);
    glfwGetFramebufferSize(w->win, &w->fb_w, &w->fb_h);
    int ww, wh;
    glfwGetWindowSize(w->win, &ww, &wh);
    w->scale = ww > 0 ? (double)w->fb_w / ww : 1;
    double t0 = av_now();
    av_viewer_draw(w->v, w->fb_w, w->fb_h);
    glFinish();
    double ms = (av_now() - t0) * 1000;
    w->v->frame_ms = ms;
    if (w->v->pending) w->dirty = 1;  /* points left: the next frame draws more of them */
}

static int screenshot(win_state *w, const char *path) {
    frame(w);
    uint8_t *px = av_malloc((size_t)w->fb_w * w->fb_h * 4);
    if (!px) return AV_ERR;
    glBindFramebuffer(GL_READ_FRAMEBUFFER, 0);
    glReadBuffer(GL_BACK);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glReadPixels(0, 0, w->fb_w, w->fb_h, GL_RGBA, GL_UNSIGNED_BYTE, px);
    size_t row = (size_t)w->fb_w * 4;
    uint8_t *tmp = av_malloc(row);
    if (!tmp) { free(px); return AV_ERR; }
    for (int y = 0; y < w->fb_h / 2; y++) {
        memcpy(tmp, px + y * row, row);
        memcpy(px + y * row, px + (size_t)(w->fb_h - 1 - y) * row, row);
        memcpy(px + (size_t)(w->fb_h - 1 - y) * row, tmp, row);
    }
    free(tmp);
    int rc = av_png_write_rgba(path, w->fb_w, w->fb_h, px);
    free(px);
    return rc;
}

static int write_state(win_state *w, const char *path) {
    cJSON *s = av_viewer_state(w->v);
    live_state(w, s);
    char *txt = cJSON_PrintUnformatted(s);
    cJSON_Delete(s);
    if (!txt) return av_fail("cannot serialise the viewer state");
    int rc = AV_OK;
    if (!strcmp(path, "-")) {
        fprintf(w->state_out, "%s\n", txt);
        fflush(w->state_out);
    } else {
        size_t n = strlen(txt);
        txt[n] = '\n';
        rc = av_write_file_atomic(path, txt, n + 1);
    }
    free(txt);
    return rc;
}

/* ---- script ----------------------------------------------------------------------- */

static int key_code(const char *name) {
    static const struct { const char *n; int k; } keys[] = {
        {"left", GLFW_KEY_LEFT}, {"right", GLFW_KEY_RIGHT}, {"up", GLFW_KEY_UP}, {"down", GLFW_KEY_DOWN},
        {"enter", GLFW_KEY_ENTER}, {"escape", GLFW_KEY_ESCAPE}, {"backspace", GLFW_KEY_BACKSPACE}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(name, keys[i].n)) return keys[i].k;
    return 0;
}

/* Runs one script line; returns 1 to quit, 0 to go on, AV_ERR on a bad line. */
static int script_line(win_state *w, const char *file, int lineno, char *line) {
    while (isspace((unsigned char)*line)) line++;
    size_t n = strlen(line);
    while (n && isspace((unsigned char)line[n - 1])) line[--n] = 0;
    if (!*line || *line == '#') return 0;
    char cmd[32] = "", arg[1024] = "";
    double a, b, c, d;
    char extra[16] = "";
    sscanf(line, "%31s", cmd);
    const char *rest = line + strlen(cmd);
    while (*rest == ' ') rest++;
    if (!strcmp(cmd, "move") && sscanf(rest, "%lf %lf", &a, &b) == 2) {
        ev_cursor(w, a / w->scale, b / w->scale);
    } else if (!strcmp(cmd, "point") && sscanf(rest, "%lf %15s", &a, extra) == 2 &&
               (!strcmp(extra, "query") || !strcmp(extra, "key"))) {
        /* the pointer onto where point `a` of the single view is drawn: lets scripts hover
         * and click a known token without hard-coding pixel positions */
        av_vdata *vd = w->v->vd;
        if (a < 0 || a >= vd->T || vd->cur < 0) return av_fail("%s:%d: no token %.0f to point at", file, lineno, a);
        float m[16], px, py;
        av_rect r = av_single_rect(w->v);
        av_head_matrix(w->v, w->v->layer, w->v->head, r.w, r.h, 1, m);
        av_project_px(m, av_vdata_point(vd, w->v->layer, w->v->head, (int64_t)a + (extra[0] == 'k' ? vd->T : 0)),
                      av_vdata_dim(vd), r, &px, &py);
        ev_cursor(w, px / w->scale, py / w->scale);
    } else if ((!strcmp(cmd, "click") || !strcmp(cmd, "rclick")) &&
               (!*rest || sscanf(rest, "%lf %lf", &a, &b) == 2)) {
        int btn = cmd[0] == 'r' ? GLFW_MOUSE_BUTTON_RIGHT : GLFW_MOUSE_BUTTON_LEFT;
        if (*rest) ev_cursor(w, a / w->scale, b / w->scale);
        ev_button(w, btn, GLFW_PRESS);
        ev_button(w, btn, GLFW_RELEASE);
    } else if (!strcmp(cmd, "drag") && sscanf(rest, "%lf %lf %lf %lf %15s", &a, &b, &c, &d, extra) >= 4) {
        int btn = !strcmp(extra, "right") ? GLFW_MOUSE_BUTTON_RIGHT : GLFW_MOUSE_BUTTON_LEFT;
        ev_cursor(w, a / w->scale, b / w->scale);
        ev_button(w, btn, GLFW_PRESS);
        for (int i = 1; i <= 8; i++) ev_cursor(w, (a + (c - a) * i / 8) / w->scale, (b + (d - b) * i / 8) / w->scale);
        ev_button(w, btn, GLFW_RELEASE);
    } else if (!strcmp(cmd, "scroll") && sscanf(rest, "%lf %lf %lf", &a, &b, &c) == 3) {
        ev_cursor(w, a / w->scale, b / w->scale);
        ev_scroll(w, c);
    } else if (!strcmp(cmd, "key") && *rest) {
        int k = key_code(rest);
        if (k) ev_key(w, k, GLFW_PRESS);
        else if (strlen(rest) == 1) ev_char(w, (unsigned char)rest[0]);
        else return av_fail("%s:%d: unknown key '%s'", file, lineno, rest);
    } else if (!strcmp(cmd, "type")) {
        const char *s = rest;
        while (*s) ev_char(w, av_utf8_next(&s));
    } else if (!strcmp(cmd, "frame")) {
        frame(w);
        glfwSwapBuffers(w->win);
    } else if (!strcmp(cmd, "settle")) {
        /* frames until every point is drawn (or TIMEOUT_MS, default 60000) */
        double limit = 60000, t0 = av_now();
        sscanf(rest, "%lf", &limit);
        do {
            frame(w);
            glfwSwapBuffers(w->win);
            if ((av_now() - t0) * 1000 > limit)
                return av_fail("%s:%d: the points were not all drawn in %.0f ms (%lld of %lld)", file, lineno, limit,
                               (long long)w->v->points_shown, (long long)w->v->points_total);
        } while (w->v->pending);
    } else if (!strcmp(cmd, "wait") && sscanf(rest, "%lf", &a) == 1) {
        struct timespec ts = {(time_t)(a / 1000), (long)(fmod(a, 1000) * 1e6)};
        nanosleep(&ts, NULL);
    } else if (!strcmp(cmd, "state") && sscanf(rest, "%1023s", arg) == 1) {
        frame(w);  /* state after the frame: hover and lines drawn are current */
        return write_state(w, arg);
    } else if (!strcmp(cmd, "positions") && sscanf(rest, "%1023s %15s", arg, extra) >= 1) {
        /* no frame first: the positions of the iteration the last frame (a `state`) took */
        return write_positions(w, arg, extra);
    } else if (!strcmp(cmd, "screenshot") && sscanf(rest, "%1023s", arg) == 1) {
        return screenshot(w, arg);
    } else if (!strcmp(cmd, "live-wait") && w->nlive && sscanf(rest, "%1023s", arg) == 1) {
        double until = strcmp(arg, "done") ? atof(arg) : -1, limit = 60000;
        sscanf(rest, "%*s %lf", &limit);
        double t0 = av_now();
        for (;;) {
            frame(w);
            glfwSwapBuffers(w->win);
            if (w->live_done || (until >= 0 && w->live_iter >= until)) break;
            if ((av_now() - t0) * 1000 > limit)
                return av_fail("%s:%d: the live projection did not reach %s in %.0f ms (iteration %d)", file, lineno, arg, limit, w->live_iter);
            struct timespec ts = {0, 5000000};
            nanosleep(&ts, NULL);
        }
    } else if (!strcmp(cmd, "quit")) {
        return 1;
    } else {
        return av_fail("%s:%d: cannot read '%s' (move, point, click, rclick, drag, scroll, key, type, frame, settle, wait, live-wait, state, positions, screenshot, quit)",
                       file, lineno, line);
    }
    return 0;
}

/* ---- main loop -------------------------------------------------------------------- */

/* The default window, shrunk to the primary monitor's work area (the screen less
 * panels and docks) with room for the window's frame. */
static void fit_default_size(int *width, int *height) {
    *width = AV_WINDOW_W;
    *height = AV_WINDOW_H;
    GLFWmonitor *mon = glfwGetPrimaryMonitor();
    int x, y, w = 0, h = 0;
    if (mon) glfwGetMonitorWorkarea(mon, &x, &y, &w, &h);
    if (w > 0 && *width > w - 40) *width = w - 40 < 200 ? 200 : w - 40;
    if (h > 0 && *height > h - 60) *height = h - 60 < 150 ? 150 : h - 60;
}

int av_window_run(const av_session_opts *o, int width, int height, const char *script_path, FILE *out) {
    return av_window_run_live(o, width, height, script_path, NULL, out);
}

int av_window_run_live(const av_session_opts *o, int width, int height, const char *script_path, const av_live_opts *live,
                       FILE *out) {
    const char *disp = getenv("DISPLAY"), *wl = getenv("WAYLAND_DISPLAY");
    if ((!disp || !*disp) && (!wl || !*wl))
        return av_fail("no display (DISPLAY is not set): use `attnviz render %s --view ... -o FILE.png` to draw without one", o->run);
    char *script = NULL;
    if (script_path && !(script = av_read_file(script_path, NULL))) return AV_ERR;
    av_vdata vd;
    int proj;
    if (live) {
        /* the live projection is the one shown; projections on disk stay reachable with p */
        if (av_vdata_open(o->run, &vd) != AV_OK) { free(script); return AV_ERR; }
        if ((proj = av_vdata_add_live(&vd, av_proj_method_name(live->proj.method), live->proj.dim)) < 0) {
            av_vdata_close(&vd);
            free(script);
            return AV_ERR;
        }
    } else if (av_session_open(o, &vd, &proj) != AV_OK) {
        free(script);
        return AV_ERR;
    }
    glfwSetErrorCallback(on_glfw_error);
    if (!glfwInit()) {
        av_vdata_close(&vd);
        free(script);
        return av_fail("cannot open the display '%s' (%s): use `attnviz render` to draw without one", disp ? disp : "", glfw_error);
    }
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
    glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
    glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
    glfwWindowHint(GLFW_SAMPLES, 0);
    if (width <= 0 || height <= 0) fit_default_size(&width, &height);
    char title[600];
    snprintf(title, sizeof title, "attnviz - %s", o->run);
    GLFWwindow *win = glfwCreateWindow(width, height, title, NULL, NULL);
    if (!win) {
        glfwTerminate();
        av_vdata_close(&vd);
        free(script);
        return av_fail("cannot open an OpenGL 3.3 core window (%s)", glfw_error);
    }
    glfwMakeContextCurrent(win);
    av_gl_pin_driver();
    glfwSwapInterval(1);
    av_viewer v;
    win_state w = {0};
    w.win = win;
    w.v = &v;
    w.scale = 1;
    w.dirty = 1;
    w.scripted = script != NULL;
    w.state_out = out;
    int rc = av_viewer_init(&v, &vd);
    if (rc == AV_OK) rc = av_session_apply(o, &v, proj);
    if (rc == AV_OK && live) {
        /* start after GL is up and the options applied: a bad option costs no thread */
        if (!(w.live = av_calloc((size_t)live->count, sizeof *w.live))) rc = AV_ERR;
        for (int k = 0; rc == AV_OK && k < live->count; k++) {
            live_head *j = &w.live[k];
            if ((rc = av_live_start(&j->job, &vd.run, &live->proj, live->heads[2 * k], live->heads[2 * k + 1])) != AV_OK)
                break;
            j->slot = -1;
            w.nlive++;
        }
        w.live_kl = NAN;
        w.interop_wanted = live->interop;
        if (rc == AV_OK && w.live[0].job.note[0]) snprintf(v.note, sizeof v.note, "%s", w.live[0].job.note);
    }
    if (rc == AV_OK) {
        /* a frame draws points for this long, then shows them; the rest follow in the
         * next frames (with --lod N: N points a frame instead) */
        if (o->lod < 0) v.budget_ms = AV_FRAME_BUDGET_MS;
        glfwSetWindowUserPointer(win, &w);
        glfwSetCursorPosCallback(win, cb_cursor);
        glfwSetMouseButtonCallback(win, cb_button);
        glfwSetScrollCallback(win, cb_scroll);
        glfwSetKeyCallback(win, cb_key);
        glfwSetCharCallback(win, cb_char);
        glfwSetWindowRefreshCallback(win, cb_refresh);
        frame(&w);
        glfwSwapBuffers(win);
        char *line = script;
        int lineno = 0;
        while (!glfwWindowShouldClose(win)) {
            if (script) {
                if (!line || !*line) break;
                char *nl = strchr(line, '\n');
                if (nl) *nl = 0;
                int r = script_line(&w, script_path, ++lineno, line);
                line = nl ? nl + 1 : NULL;
                glfwPollEvents();
                if (r == 1) break;
                if (r != 0) { rc = AV_ERR; break; }
                continue;
            }
            /* while a live projection runs, look for a new iteration at about 60 Hz */
            int running = w.nlive && !w.live_done;
            glfwWaitEventsTimeout(w.dirty ? 0.0 : running ? 1.0 / 60 : 0.25);
            if (running) w.dirty = 1;
            if (w.dirty) {
                w.dirty = 0;
                frame(&w);
                glfwSwapBuffers(win);
            }
        }
    }
    if (w.nlive) {
        /* t-SNE and UMAP have no cancel hook: the threads must finish before their
         * buffers go. The window goes away at once so closing feels immediate (Ctrl-C
         * ends the process sooner; nothing is being written to the run meanwhile). */
        if (!w.live_done) glfwHideWindow(win);
        for (int k = 0; k < w.nlive; k++) {
            /* the viewer lets go of the job's slot */
            av_vdata_live_update(&vd, w.live[k].job.layer, w.live[k].job.head, NULL);
            av_live_free(&w.live[k].job);
        }
    }
    free(w.live);
    av_gl_buffer_unregister(w.glbuf);  /* before the buffer goes with the viewer */
    av_viewer_free(&v);
    glfwDestroyWindow(win);
    glfwTerminate();
    av_vdata_close(&vd);
    free(script);
    return rc;
}
