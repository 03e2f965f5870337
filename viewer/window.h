/* window.h - the interactive GLFW window around av_viewer: maps mouse, wheel, keys and
 * typed characters onto the viewer, redraws when something changed, adapts the level
 * of detail to the measured frame time, and can replay a script of synthetic input
 * (tests and demos drive the real event path with it).
 *
 * Script lines (one per line, '#' comments):
 *   move X Y | point T query|key (pointer onto token T's point) | click [X Y] | rclick X Y | drag X0 Y0 X1 Y1 [right] | scroll X Y DY
 *   key NAME (left right up down enter escape backspace, or one character)
 *   type TEXT | frame | settle [TIMEOUT_MS] (frames until every point is drawn) | wait MS
 *   state FILE|- | screenshot FILE.png | quit
 *   live-wait ITER|done [TIMEOUT_MS] (live projection: until it reaches ITER or finishes)
 *   positions FILE.npy (live projection: the drawn positions of its head, [2T, dim] f32,
 *   read back from the GL point buffer when the GPU draws; the iteration the last frame
 *   took, so a `state` just before names it)
 *
 * Live (`attnviz view --live`): each head's projection runs in a worker thread
 * (viewer/live.h) the window polls, several heads side by side; every frame shows the newest iteration, with
 * iteration, KL, rate and the path the frames take in the bottom bar ("interop": CUDA
 * writes them into the GL point buffer; "copy": through the host), and key s saves the
 * finished result into the run's proj/. */
#ifndef AV_VIEWER_WINDOW_H
#define AV_VIEWER_WINDOW_H
#include <stdio.h>
#include "engine/projectrun.h"
#include "viewer/session.h"

/* The most heads a live view projects at once. */
#define AV_LIVE_MAX_HEADS 16

typedef struct {
    av_project_opts proj;  /* method (t-SNE or UMAP), dim and parameters */
    int heads[2 * AV_LIVE_MAX_HEADS]; /* layer, head pairs: each head's projection runs side by side */
    int count;
    int interop;           /* 1: CUDA-OpenGL interop where possible; 0: always the copy path */
} av_live_opts;

/* The window's size when the caller gives none (0 x 0): this, or less where the
 * screen's work area is smaller. */
#define AV_WINDOW_W 1400
#define AV_WINDOW_H 900

/* Opens the window (width x height; 0 x 0: the default), applies the session options
 * and runs until the window closes or the script quits; a script's `state -` writes to
 * out (the CLI passes stdout). Returns AV_OK, or AV_ERR with av_last_error() (no display:
 * says so and points to `attnviz render`). */
int av_window_run(const av_session_opts *o, int width, int height, const char *script, FILE *out);
/* The same with a live projection of each of live's heads (the run needs no proj/
 * files); live->proj.ctx hears what saving them into the run says. */
int av_window_run_live(const av_session_opts *o, int width, int height, const char *script, const av_live_opts *live,
                       FILE *out);
#endif
