/*
 * render_view.c - the views (--annotate, --html, --plot) beside a run's
 * trace: one tee, fed every record, so each view sees the whole run even
 * when the trace itself is --quiet.
 *
 * Path: main.c -> render_with_views(trace, quiet, views) -> render_tee_new()
 *       over [trace, or its summary-only filter] + the views.
 */
#include <stdlib.h>
#include <string.h>

#include "render.h"

/* --quiet beside a view: the trace is told only what --quiet prints. */
struct quiet_renderer {
	struct renderer r;
	struct renderer *inner;
};

static void quiet_record(struct renderer *r, const struct record *rec)
{
	struct quiet_renderer *q = (struct quiet_renderer *)r;

	if (rec->type == REC_BEGIN || rec->type == REC_SUMMARY)
		render_record(q->inner, rec);
}

static void quiet_destroy(struct renderer *r)
{
	struct quiet_renderer *q = (struct quiet_renderer *)r;

	q->inner->ops->destroy(q->inner);
	free(q);
}

static const struct renderer_ops quiet_ops = { quiet_record, quiet_destroy };

int render_views_wanted(const struct view_opts *v)
{
	return v->annotate || v->html || v->plot;
}

struct renderer *render_with_views(struct renderer *trace, int quiet, struct view_opts *v, char *err,
				   size_t errlen)
{
	struct renderer *rs[4], *tee;
	int n = 0, i;

	if (!render_views_wanted(v))
		return trace;
	if (trace && quiet) {
		struct quiet_renderer *q = calloc(1, sizeof(*q));

		if (!q) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		q->r.ops = &quiet_ops;
		q->inner = trace;
		trace = &q->r;
	}
	if (trace)
		rs[n++] = trace;
	trace = NULL; /* now in rs[] */
	if (v->annotate && !(rs[n++] = render_annotate_new(v->annotate, v->verify, &v->failed, err, errlen)))
		goto fail_n;
	if (v->html && !(rs[n++] = render_html_new(v->html, v->command, &v->failed, err, errlen)))
		goto fail_n;
	if (v->plot && !(rs[n++] = render_plot_new(v->plot, &v->failed, err, errlen)))
		goto fail_n;
	tee = render_tee_new(rs, n);
	if (tee)
		return tee;
	snprintf(err, errlen, "out of memory");
	n++;
fail_n:
	/* rs[n - 1] is the one that failed (NULL), or past the last made. */
	for (i = 0; i < n - 1; i++)
		rs[i]->ops->destroy(rs[i]);
	return NULL;
fail:
	if (trace)
		trace->ops->destroy(trace);
	return NULL;
}
