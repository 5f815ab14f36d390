/*
 * render_plot.c - `--plot OUT.svg`: each listener's queue depth over the
 * run, as a standalone SVG file, and the records' part of every plot.
 *
 * Path: records -> render_plot_feed() -> plot.c's samples and marks ->
 *       plot_write_svg() when the run ends (here, and in render_html.c,
 *       which draws the same plot inside its page).
 *
 * A listener's queues are known at every event that reports them: a
 * segment it was consulted for, an accept(), a request's timer, and every
 * snapshot the run takes. A timer's "expire" is reported before the
 * request goes, so its SYN queue is counted one shorter.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"
#include "render.h"

void render_plot_feed(struct plot *p, const struct record *rec)
{
	const struct event *ev;
	struct listener_view l;
	uint32_t i;

	if (rec->type == REC_TABLES) {
		for (i = 0; i < rec->tables->nlisteners; i++)
			plot_sample(p, &rec->tables->listeners[i].l, rec->t);
		return;
	}
	if (rec->type != REC_EVENT)
		return;
	ev = rec->event;
	if (!ev->has_listener)
		return;
	l = ev->listener;
	switch (ev->type) {
	case EV_SEGMENT_IN:
		plot_sample(p, &l, ev->t);
		if (ev->action == ACT_COOKIE)
			plot_mark(p, &l, ev->t, PLOT_COOKIE);
		else if ((ev->action == ACT_DROP || ev->action == ACT_RST) &&
			 (ev->reason == CNT_LISTENOVERFLOWS || ev->reason == CNT_TCPREQQFULLDROP ||
			  ev->reason == CNT_LISTENDROPS))
			plot_mark(p, &l, ev->t, PLOT_DROP);
		break;
	case EV_TIMER:
		if (ev->action == ACT_EXPIRE && ev->sock.state == TCP_SYN_RECV && l.syn_queue)
			l.syn_queue--;
		plot_sample(p, &l, ev->t);
		break;
	case EV_ACCEPT:
		plot_sample(p, &l, ev->t);
		break;
	default:
		break;
	}
}

/* The title of a plot or page from REC_BEGIN: "tcpdemux demo two-clients", "tcpdemux replay FILE". */
void render_run_title(const struct rec_begin *b, char *buf, size_t len)
{
	static const char *const kinds[] = { "", "demo", "replay", "script", "synth", "live" };
	const char *kind = b->kind < sizeof(kinds) / sizeof(kinds[0]) ? kinds[b->kind] : "run";

	snprintf(buf, len, "tcpdemux %s%s%s", kind, b->name ? " " : "", b->name ? b->name : "");
}

struct plot_renderer {
	struct renderer r;
	struct plot *plot;
	char *path;
	int *failed;
	char title[512];
};

static void plot_record(struct renderer *r, const struct record *rec)
{
	struct plot_renderer *pr = (struct plot_renderer *)r;

	if (rec->type == REC_BEGIN)
		render_run_title(rec->begin, pr->title, sizeof(pr->title));
	render_plot_feed(pr->plot, rec);
}

/* Writes the file when the run is over: only then is the time axis known. */
static void plot_destroy(struct renderer *r)
{
	struct plot_renderer *pr = (struct plot_renderer *)r;
	FILE *f = fopen(pr->path, "w");
	int bad = !f;

	if (f) {
		bad = plot_write_svg(pr->plot, f, pr->title[0] ? pr->title : "tcpdemux", 1) < 0;
		bad |= fclose(f) != 0;
	}
	if (bad) {
		fprintf(stderr, "tcpdemux: %s: cannot write: %s\n", pr->path, strerror(errno));
		if (pr->failed)
			*pr->failed = 1;
	}
	plot_free(pr->plot);
	free(pr->path);
	free(pr);
}

static const struct renderer_ops plot_ops = { plot_record, plot_destroy };

struct renderer *render_plot_new(const char *path, int *failed, char *err, size_t errlen)
{
	struct plot_renderer *pr = calloc(1, sizeof(*pr));
	FILE *f;

	if (!pr || !(pr->plot = plot_new()) || !(pr->path = strdup(path))) {
		snprintf(err, errlen, "%s: out of memory", path);
		if (pr)
			plot_free(pr->plot);
		free(pr);
		return NULL;
	}
	/* Refused now, before the run, rather than after it: the file can be made. */
	f = fopen(path, "w");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		plot_free(pr->plot);
		free(pr->path);
		free(pr);
		return NULL;
	}
	fclose(f);
	pr->r.ops = &plot_ops;
	pr->failed = failed;
	return &pr->r;
}
