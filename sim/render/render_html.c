/*
 * render_html.c - `--html OUT.html`: the run as one self-contained page.
 *
 * Path: records -> the page's JSON Lines (render_json_embedded_new(), the
 *       lines of docs/json.md, written into the page as they come) and
 *       the queue-depth plot (render_plot_feed()) -> when the run ends,
 *       the plot's SVG and the end of the page.
 *
 * The page (sim/render/page/: HTML, CSS and our own JavaScript, built into the
 * binary as page_assets.c) reads the lines back and draws the ladder, the
 * lookup path and the tables; it needs no network and no other file. It
 * is one more renderer of the same records: what it shows is what the
 * JSON says, nothing is computed anew.
 *
 * Size: the lines are the JSON output's (about 350 bytes per segment
 * received and 170 per segment sent), plus one short "sock" line per
 * state change; the page's code is some 50 kB. A replay of 100,000
 * frames makes a page of a few tens of megabytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "page_assets.h"
#include "plot.h"
#include "render.h"

struct html_renderer {
	struct renderer r;
	FILE *out;
	char *path;
	int *failed;
	struct renderer *json;   /* writes the events into the page */
	struct plot *plot;
	char *command;           /* the title: the command line, or what REC_BEGIN names */
	int started;             /* the page up to its events is written */
};

/* The page up to where the events go: page_part[0], title, page_part[1], title, page_part[2]. */
static void start_page(struct html_renderer *h, const char *title)
{
	if (h->started)
		return;
	h->started = 1;
	fputs(page_part[0], h->out);
	plot_escape(h->out, title);
	fputs(page_part[1], h->out);
	plot_escape(h->out, title);
	fputs(page_part[2], h->out);
}

static void html_record(struct renderer *r, const struct record *rec)
{
	struct html_renderer *h = (struct html_renderer *)r;
	char title[512];

	if (!h->started) {
		if (rec->type == REC_BEGIN)
			render_run_title(rec->begin, title, sizeof(title));
		else
			snprintf(title, sizeof(title), "tcpdemux");
		start_page(h, h->command ? h->command : title);
	}
	render_plot_feed(h->plot, rec);
	render_record(h->json, rec);
}

static void html_destroy(struct renderer *r)
{
	struct html_renderer *h = (struct html_renderer *)r;
	int bad;

	start_page(h, h->command ? h->command : "tcpdemux");
	h->json->ops->destroy(h->json);
	fputs(page_part[3], h->out);
	plot_write_svg(h->plot, h->out, NULL, 0);
	fputs(page_part[4], h->out);
	bad = ferror(h->out);
	bad |= fclose(h->out) != 0;
	if (bad) {
		fprintf(stderr, "tcpdemux: %s: cannot write: %s\n", h->path, strerror(errno ? errno : EIO));
		if (h->failed)
			*h->failed = 1;
	}
	plot_free(h->plot);
	free(h->command);
	free(h->path);
	free(h);
}

static const struct renderer_ops html_ops = { html_record, html_destroy };

struct renderer *render_html_new(const char *path, const char *command, int *failed, char *err, size_t errlen)
{
	struct html_renderer *h = calloc(1, sizeof(*h));

	if (!h || !(h->path = strdup(path)) || !(h->plot = plot_new()) ||
	    (command && !(h->command = strdup(command)))) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	h->out = fopen(path, "w");
	if (!h->out) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	h->json = render_json_embedded_new(h->out);
	if (!h->json) {
		snprintf(err, errlen, "%s: out of memory", path);
		fclose(h->out);
		goto fail;
	}
	h->r.ops = &html_ops;
	h->failed = failed;
	return &h->r;
fail:
	if (h) {
		plot_free(h->plot);
		free(h->command);
		free(h->path);
	}
	free(h);
	return NULL;
}
