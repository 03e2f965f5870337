/* session.h - what `attnviz render` and `attnviz view` share: the options that set up
 * the viewer's state (view, head, projection, colour, selection, search, theme ...)
 * and applying them to an av_viewer once GL is up. Their parsing is the CLI's
 * (cli/options.h).
 *
 * av_session_opts holds borrowed strings (argv); nothing to free. */
#ifndef AV_VIEWER_SESSION_H
#define AV_VIEWER_SESSION_H
#include <stdint.h>
#include "viewer/viewer.h"

typedef struct {
    const char *run;
    const char *view, *head, *method, *color, *search, *theme;
    int dim;
    int64_t item, token;          /* -1 = not given */
    int hide_special, value_norm, arrows, hide_queries, hide_keys, size_by_norm;
    int64_t lod;                  /* points per frame, 0 = all (-1 = default of the command) */
    int density;                  /* heat map of the points' density */
    double exposure;              /* ink factor of density-aware drawing (0 = default, 1) */
    av_renderer renderer;         /* where points accumulate (AUTO unless given) */
} av_session_opts;

void av_session_defaults(av_session_opts *o);
/* Opens the run and checks the requested projection exists (with a message saying
 * which command makes one when the run has none). needs_proj: the view draws points. */
int av_session_open(const av_session_opts *o, av_vdata *vd, int *proj_index);
/* Applies the options to an initialised viewer. */
int av_session_apply(const av_session_opts *o, av_viewer *v, int proj_index);

#endif
