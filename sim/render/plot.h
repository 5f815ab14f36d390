/*
 * plot.h - each listener's SYN queue and accept queue depth over time, as SVG.
 *
 * Path: records (render_plot.c, render_html.c) -> plot_sample() for every
 *       event that reports a listener's queues, plot_mark() for drops and
 *       cookies -> plot_write_svg(): `--plot OUT.svg`, and the plot inside
 *       the `--html` page (the same drawing, so the two never disagree).
 *
 * Memory is fixed whatever the run's length: time is cut into PLOT_COLUMNS
 * columns, each keeping the deepest and the last depth of both queues and
 * the drops in it; when a sample falls past the last column, neighbouring
 * columns are merged in pairs and each column covers twice the time. A
 * column is narrower than a pixel of the drawing, so nothing visible is lost:
 * a queue that filled for a microsecond still reaches its height.
 */
#ifndef TCPDEMUX_PLOT_H
#define TCPDEMUX_PLOT_H

#include <stdio.h>

#include "stack.h"

#define PLOT_COLUMNS 2048
/* Listeners drawn; the others are named in a line under the last panel. */
#define PLOT_MAX_LISTENERS 8

/* What plot_mark() marks. */
enum plot_mark_kind {
	PLOT_DROP = 0, /* a segment dropped or reset for a full queue (ListenOverflows, TCPReqQFullDrop) */
	PLOT_COOKIE,   /* a SYN answered with a cookie: the SYN queue was full (or tcp_syncookies=2) */
	PLOT_MARKS
};

struct plot;

/* An empty plot; NULL when out of memory. */
struct plot *plot_new(void);
void plot_free(struct plot *p);

/*
 * The queues of listener l were these at time t (l->syn_queue,
 * l->accept_queue, l->backlog). A listener is known by its id; its
 * address and backlog are taken from the latest sample. Returns 0 or
 * -ENOMEM (the sample is lost, nothing else changes).
 */
int plot_sample(struct plot *p, const struct listener_view *l, vtime_t t);

/* A drop or cookie on listener l at time t (after plot_sample() for the same moment). */
int plot_mark(struct plot *p, const struct listener_view *l, vtime_t t, int kind);

/*
 * Writes the plot as one <svg> element: with standalone, a complete file
 * (XML declaration, namespace, its own style); without, an element to
 * put inside an HTML page. title is drawn above the panels (NULL: none).
 * The <svg> carries data-t0, data-t1 (the time axis, seconds), data-x0,
 * data-x1 and data-y0, data-y1 (where that axis lies, in user units), so
 * a page can map between times and positions. Returns 0 or -EIO.
 */
int plot_write_svg(const struct plot *p, FILE *out, const char *title, int standalone);

/* Writes s with &, <, > and " escaped, as XML and HTML text and attribute values need. */
void plot_escape(FILE *f, const char *s);

/* Listeners with at least one sample. */
int plot_listeners(const struct plot *p);

#endif
