/*
 * plot.c - see plot.h. The drawing: one panel per listener, time across,
 * queue depth up; the SYN queue and the accept queue as step lines, the
 * backlog as a dashed line (the accept queue is full above it: Linux's
 * sk_acceptq_is_full() is ack_backlog > backlog), drops as red crosses
 * and SYN cookies as orange triangles along the top, each with a tooltip.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

/* Geometry of the drawing, in SVG user units. */
#define W 1600
#define LEFT 78
#define RIGHT 24
#define TITLE_H 34
#define PANEL_H 180
#define PANEL_TOP 44    /* the panel's heading and its marks, above its plot area */
#define PLOT_H 108      /* the plot area of a panel */
#define AXIS_H 30       /* time labels under the last panel */

/* One column of one listener: what its queues did in that slice of time. */
struct pcol {
	uint32_t syn_max, acc_max;   /* the deepest each queue was in the column */
	uint32_t syn_last, acc_last; /* each queue at the column's last sample */
	uint32_t marks[PLOT_MARKS];  /* drops and cookies in the column */
	uint8_t has;                 /* the column holds at least one sample */
};

struct plistener {
	uint32_t id;                 /* the listener's socket id (listener_view.id) */
	char name[ADDR_STRLEN + 8];  /* "addr:port", from the latest sample */
	int backlog;                 /* from the latest sample */
	uint32_t peak_syn, peak_acc; /* the deepest over the whole run */
	uint64_t total[PLOT_MARKS];  /* drops and cookies over the whole run */
	struct pcol *col;            /* PLOT_COLUMNS columns */
};

struct plot {
	vtime_t width;            /* time one column covers (ns) */
	vtime_t tmax;             /* the latest sample's time */
	struct plistener *l;      /* listeners in order of first sample */
	int n, cap;               /* listeners known, and room for */
	uint32_t ncol_used;       /* columns up to and including the latest sample's */
};

struct plot *plot_new(void)
{
	struct plot *p = calloc(1, sizeof(*p));

	if (p)
		p->width = VT_USEC;
	return p;
}

void plot_free(struct plot *p)
{
	int i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		free(p->l[i].col);
	free(p->l);
	free(p);
}

int plot_listeners(const struct plot *p)
{
	return p->n;
}

/* Merges column pairs until time t falls in a column: each then covers twice the time. */
static void widen_for(struct plot *p, vtime_t t)
{
	int i;
	uint32_t c;

	while (t / p->width >= PLOT_COLUMNS) {
		for (i = 0; i < p->n; i++) {
			struct pcol *col = p->l[i].col;

			for (c = 0; c < PLOT_COLUMNS / 2; c++) {
				struct pcol a = col[2 * c], b = col[2 * c + 1], m = a;
				int k;

				m.syn_max = a.syn_max > b.syn_max ? a.syn_max : b.syn_max;
				m.acc_max = a.acc_max > b.acc_max ? a.acc_max : b.acc_max;
				if (b.has) {
					m.syn_last = b.syn_last;
					m.acc_last = b.acc_last;
				}
				for (k = 0; k < PLOT_MARKS; k++)
					m.marks[k] = a.marks[k] + b.marks[k];
				m.has = a.has | b.has;
				col[c] = m;
			}
			memset(col + PLOT_COLUMNS / 2, 0, PLOT_COLUMNS / 2 * sizeof(*col));
		}
		p->width *= 2;
	}
}

/* The entry of listener l, added on its first sample; NULL when out of memory. */
static struct plistener *listener_of(struct plot *p, const struct listener_view *l)
{
	struct plistener *e;
	int i;

	for (i = 0; i < p->n; i++)
		if (p->l[i].id == l->id)
			break;
	if (i == p->n) {
		if (p->n == p->cap) {
			int cap = p->cap ? p->cap * 2 : 4;
			struct plistener *nl = realloc(p->l, (size_t)cap * sizeof(*nl));

			if (!nl)
				return NULL;
			p->l = nl;
			p->cap = cap;
		}
		e = &p->l[p->n];
		memset(e, 0, sizeof(*e));
		e->col = calloc(PLOT_COLUMNS, sizeof(*e->col));
		if (!e->col)
			return NULL;
		e->id = l->id;
		p->n++;
	}
	e = &p->l[i];
	endpoint_format(&l->addr, l->port, e->name, sizeof(e->name));
	e->backlog = l->backlog;
	return e;
}

/* The column of time t, widening the columns first if t lies past them. */
static struct pcol *column(struct plot *p, struct plistener *e, vtime_t t)
{
	uint32_t c;

	widen_for(p, t);
	c = (uint32_t)(t / p->width);
	if (t > p->tmax)
		p->tmax = t;
	if (c + 1 > p->ncol_used)
		p->ncol_used = c + 1;
	return &e->col[c];
}

int plot_sample(struct plot *p, const struct listener_view *l, vtime_t t)
{
	struct plistener *e = listener_of(p, l);
	struct pcol *c;

	if (!e)
		return -ENOMEM;
	c = column(p, e, t);
	if (!c->has || l->syn_queue > c->syn_max)
		c->syn_max = l->syn_queue;
	if (!c->has || l->accept_queue > c->acc_max)
		c->acc_max = l->accept_queue;
	c->syn_last = l->syn_queue;
	c->acc_last = l->accept_queue;
	c->has = 1;
	if (l->syn_queue > e->peak_syn)
		e->peak_syn = l->syn_queue;
	if (l->accept_queue > e->peak_acc)
		e->peak_acc = l->accept_queue;
	return 0;
}

int plot_mark(struct plot *p, const struct listener_view *l, vtime_t t, int kind)
{
	struct plistener *e = listener_of(p, l);

	if (!e)
		return -ENOMEM;
	if (kind < 0 || kind >= PLOT_MARKS)
		return -EINVAL;
	column(p, e, t)->marks[kind]++;
	e->total[kind]++;
	return 0;
}

/* ---- drawing ------------------------------------------------------------------- */

/* A "nice" step (1, 2 or 5 times a power of ten) giving about n ticks over span (> 0). */
static double nice_step(double span, int n)
{
	double raw = span / n, p = 1, f;

	while (p > raw)
		p /= 10;
	while (p * 10 <= raw)
		p *= 10;
	f = raw / p;
	return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

/* Seconds as a tick label: as few decimals as the step needs (a step below 1: one per factor of ten). */
static void tick_label(double v, double step, char *buf, size_t len)
{
	int dec = 0;

	while (step < 0.999999 && dec < 6) {
		step *= 10;
		dec++;
	}
	snprintf(buf, len, "%.*f", dec, v);
}

void plot_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f); break;
		}
	}
}

struct scale {
	double t1;     /* seconds at the right edge */
	double ymax;   /* depth at the top of a plot area */
};

static double x_of(const struct scale *s, double t)
{
	return LEFT + (W - LEFT - RIGHT) * (s->t1 > 0 ? t / s->t1 : 0);
}

/*
 * One queue's depth: a step line through each column's last depth, and
 * where columns are narrower than a few pixels (a long run), its deepest
 * in each column as a pale area behind the line, so a queue that filled
 * and emptied between two pixels still shows how deep it went. Where
 * columns are wide, the line itself rises to each column's peak.
 */
static void queue_path(FILE *f, const struct plot *p, const struct plistener *e, const struct scale *s,
		       double top, int acc, const char *cls)
{
	double cw = (double)p->width / VT_SEC, bottom = top + PLOT_H;
	int dense = (W - LEFT - RIGHT) * cw / s->t1 < 3, pass;
	uint32_t c;

	for (pass = dense ? 0 : 1; pass < 2; pass++) {
		int started = 0;

		for (c = 0; c < p->ncol_used && c < PLOT_COLUMNS; c++) {
			const struct pcol *col = &e->col[c];
			uint32_t mx = acc ? col->acc_max : col->syn_max, ls = acc ? col->acc_last : col->syn_last;
			double x = x_of(s, c * cw);

			if (!col->has)
				continue;
			if (!started) {
				fprintf(f, "<path class=\"%s%s\" d=\"M%.1f,%.1f", cls, pass ? "" : "-area", x, bottom);
				started = 1;
			} else {
				fprintf(f, " H%.1f", x);
			}
			if (pass == 0) /* the peak, as wide as its column, then the column's last depth */
				fprintf(f, " V%.1f H%.1f V%.1f", bottom - PLOT_H * mx / s->ymax, x_of(s, (c + 1) * cw),
					bottom - PLOT_H * ls / s->ymax);
			else if (dense)
				fprintf(f, " V%.1f", bottom - PLOT_H * ls / s->ymax);
			else
				fprintf(f, " V%.1f V%.1f", bottom - PLOT_H * mx / s->ymax, bottom - PLOT_H * ls / s->ymax);
		}
		if (started && pass)
			fprintf(f, " H%.1f\"/>\n", x_of(s, s->t1));
		else if (started)
			fprintf(f, " H%.1f V%.1f z\"/>\n", x_of(s, s->t1), bottom);
	}
}

/* Crosses (drops) and triangles (cookies) along the top of a panel, one per column that has some. */
static void marks(FILE *f, const struct plot *p, const struct plistener *e, const struct scale *s, double top)
{
	double cw = (double)p->width / VT_SEC;
	uint32_t c;

	for (c = 0; c < p->ncol_used && c < PLOT_COLUMNS; c++) {
		const struct pcol *col = &e->col[c];
		double x = x_of(s, c * cw), y = top - 9;

		if (col->marks[PLOT_DROP])
			fprintf(f, "<path class=\"pq-drop\" d=\"M%.1f,%.1f l10,10 m0,-10 l-10,10\"><title>%u dropped at %.6f s</title></path>\n",
				x - 5, y - 5, col->marks[PLOT_DROP], c * cw);
		if (col->marks[PLOT_COOKIE])
			fprintf(f, "<path class=\"pq-cookie\" d=\"M%.1f,%.1f l6,10 h-12 z\"><title>%u SYN cookies at %.6f s</title></path>\n",
				x, y - 3, col->marks[PLOT_COOKIE], c * cw);
	}
}

static const char svg_style[] =
	"<style>\n"
	".pq-bg{fill:#fff}.pq-area{fill:#f3f5f8;stroke:#c9cfd8}\n"
	".pq-syn{fill:none;stroke:#c77700;stroke-width:2.5}.pq-acc{fill:none;stroke:#1f7a36;stroke-width:2.5}\n"
	".pq-syn-area{fill:#c77700;fill-opacity:.22}.pq-acc-area{fill:#1f7a36;fill-opacity:.22}\n"
	".pq-backlog{stroke:#5a6270;stroke-width:1.5;stroke-dasharray:7 5}\n"
	".pq-drop{stroke:#c22a2a;stroke-width:2.5;fill:none}.pq-cookie{fill:#e08a00}\n"
	".pq-text{font:15px 'DejaVu Sans',Arial,sans-serif;fill:#16191d}\n"
	".pq-head{font:bold 16px 'DejaVu Sans Mono',monospace;fill:#16191d}\n"
	".pq-dim{font:14px 'DejaVu Sans',Arial,sans-serif;fill:#5a6270}\n"
	".pq-tick{stroke:#c9cfd8}\n"
	"</style>\n";

/* The legend, right-aligned on the title line: each entry's mark (drawn at x, y), its name and width. */
static void legend(FILE *f, double y)
{
	static const struct {
		const char *cls, *mark, *name;
		double dx, dy, width;
	} key[] = {
		{ "pq-syn", "h28", "SYN queue", 0, -5, 130 },
		{ "pq-acc", "h28", "accept queue", 0, -5, 150 },
		{ "pq-backlog", "h28", "backlog", 0, -5, 110 },
		{ "pq-drop", "l10,10 m0,-10 l-10,10", "dropped", 0, -14, 100 },
		{ "pq-cookie", "l6,10 h-12 z", "cookie", 5, -13, 0 },
	};
	double x = W - RIGHT - 640;
	size_t i;

	for (i = 0; i < sizeof(key) / sizeof(key[0]); i++) {
		fprintf(f, "<path class=\"%s\" d=\"M%.0f,%.0f %s\"/><text class=\"pq-text\" x=\"%.0f\" y=\"%.0f\">%s</text>\n",
			key[i].cls, x + key[i].dx, y + key[i].dy, key[i].mark, x + (key[i].mark[0] == 'h' ? 34 : 18), y,
			key[i].name);
		x += key[i].width;
	}
}

/* One listener's panel: heading, plot area, backlog line, both queues, marks, depth labels. */
static void panel(FILE *f, const struct plot *p, const struct plistener *e, const struct scale *axis, double y)
{
	struct scale s = *axis;
	double top = y + PANEL_TOP, peak = e->peak_syn > e->peak_acc ? e->peak_syn : e->peak_acc;
	int backlog_shown;

	/* The backlog sets the scale unless the queues stay far below it (a default 4096). */
	s.ymax = peak < 1 ? 1 : peak;
	backlog_shown = e->backlog >= 0 && (double)e->backlog + 1 <= 4 * (peak < 1 ? 1 : peak) + 4;
	if (backlog_shown && e->backlog + 1 > s.ymax)
		s.ymax = e->backlog + 1;
	fprintf(f, "<text class=\"pq-head\" x=\"%d\" y=\"%.0f\">", LEFT, y + 20);
	plot_escape(f, e->name);
	fprintf(f, "</text><text class=\"pq-dim\" x=\"%d\" y=\"%.0f\">backlog %d%s \u00b7 deepest: SYN queue %u, accept queue %u \u00b7 %llu dropped \u00b7 %llu cookies</text>\n",
		LEFT + 16 + 10 * (int)strlen(e->name), y + 20, e->backlog, backlog_shown ? "" : " (off the scale)",
		e->peak_syn, e->peak_acc, (unsigned long long)e->total[PLOT_DROP],
		(unsigned long long)e->total[PLOT_COOKIE]);
	fprintf(f, "<rect class=\"pq-area\" x=\"%d\" y=\"%.0f\" width=\"%d\" height=\"%d\"/>\n", LEFT, top,
		W - LEFT - RIGHT, PLOT_H);
	fprintf(f, "<text class=\"pq-dim\" x=\"%d\" y=\"%.0f\" text-anchor=\"end\">0</text>", LEFT - 8, top + PLOT_H + 5);
	if (!backlog_shown || PLOT_H * (s.ymax - e->backlog) / s.ymax > 14)
		fprintf(f, "<text class=\"pq-dim\" x=\"%d\" y=\"%.0f\" text-anchor=\"end\">%.0f</text>\n", LEFT - 8, top + 5, s.ymax);
	if (backlog_shown) {
		double by = top + PLOT_H - PLOT_H * e->backlog / s.ymax;

		fprintf(f, "<path class=\"pq-backlog\" d=\"M%d,%.1f H%d\"/>", LEFT, by, W - RIGHT);
		if (by < top + PLOT_H - 12)
			fprintf(f, "<text class=\"pq-dim\" x=\"%d\" y=\"%.0f\" text-anchor=\"end\">%d</text>", LEFT - 8, by + 5,
				e->backlog);
		fputc('\n', f);
	}
	queue_path(f, p, e, &s, top, 0, "pq-syn");
	queue_path(f, p, e, &s, top, 1, "pq-acc");
	marks(f, p, e, &s, top);
}

int plot_write_svg(const struct plot *p, FILE *out, const char *title, int standalone)
{
	int shown = p->n < PLOT_MAX_LISTENERS ? p->n : PLOT_MAX_LISTENERS, i;
	double top = title ? TITLE_H : 14, h, step, v, bottom;
	struct scale s;
	char lbl[32];

	s.t1 = (double)p->tmax / VT_SEC;
	if (s.t1 <= 0)
		s.t1 = 1e-6;
	s.ymax = 1;
	h = top + PANEL_H * (shown ? shown : 1) + AXIS_H + (p->n > shown ? 22 : 0);
	bottom = top + PANEL_H * (shown ? shown - 1 : 0) + PANEL_TOP + PLOT_H;
	if (standalone)
		fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
	fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %.0f\"%s data-t0=\"0\" data-t1=\"%.9f\" data-x0=\"%d\" data-x1=\"%d\" data-y0=\"%.0f\" data-y1=\"%.0f\" role=\"img\" aria-label=\"queue depth over time\">\n",
		W, h, standalone ? " width=\"1600\"" : " preserveAspectRatio=\"xMinYMin meet\"", s.t1, LEFT, W - RIGHT,
		top, bottom);
	fputs(svg_style, out);
	fprintf(out, "<rect class=\"pq-bg\" width=\"%d\" height=\"%.0f\"/>\n", W, h);
	if (title) {
		fprintf(out, "<text class=\"pq-head\" x=\"%d\" y=\"22\">", 12);
		plot_escape(out, title);
		fputs("</text>\n", out);
	}
	legend(out, title ? 22 : 20);
	if (!p->n)
		fprintf(out, "<text class=\"pq-dim\" x=\"%d\" y=\"%.0f\">no listener reported its queues in this run</text>\n",
			LEFT, top + 40);
	for (i = 0; i < shown; i++)
		panel(out, p, &p->l[i], &s, top + PANEL_H * i);
	/* The time axis under the last panel, with a faint line across every panel at each tick. */
	step = nice_step(s.t1, 10);
	for (v = 0; v <= s.t1 * (1 + 1e-9); v += step) {
		double x = x_of(&s, v);

		tick_label(v, step, lbl, sizeof(lbl));
		if (v == 0)
			snprintf(lbl, sizeof(lbl), "0 s"); /* the unit, once */
		fprintf(out, "<path class=\"pq-tick\" d=\"M%.1f,%.0f V%.0f\"/><text class=\"pq-dim\" x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n",
			x, top + PANEL_TOP, bottom + 4, x, bottom + 22, lbl);
	}
	if (p->n > shown)
		fprintf(out, "<text class=\"pq-dim\" x=\"%d\" y=\"%.0f\">and %d more listeners, not drawn</text>\n", LEFT,
			h - 8, p->n - shown);
	fputs("</svg>\n", out);
	return ferror(out) ? -EIO : 0;
}
