/* window.h - the interactive GLFW window around av_viewer: maps mouse, wheel, keys and
 * typed characters onto the viewer, redraws when something changed, adapts the level
 * of detail to the measured frame time, and can replay a script of synthetic input
 * (tests and demos drive the real event path with it).
 *
 * Script lines (one per line, '#' comments):
 *   move X Y | point T query|key (pointer onto token T's point) | click [X Y] | rclick X Y | drag X0 Y0 X1 Y1 [right] | scroll X Y DY
 *   key NAME (left right up down enter escape backspace, or one character)
 *   type TEXT | frame | wait MS | state FILE|- | screenshot FILE.png | quit */
#ifndef AV_VIEWER_WINDOW_H
#define AV_VIEWER_WINDOW_H
#include "viewer/session.h"

/* Opens the window (width x height), applies the session options and runs until the
 * window closes or the script quits. Returns AV_OK, or AV_ERR with av_last_error()
 * (no display: says so and points to `attnviz render`). */
int av_window_run(const av_session_opts *o, int width, int height, const char *script);
#endif
