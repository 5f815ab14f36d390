/*
 * term.h - the terminal the stepping front ends talk to (--step, --slides):
 * keys from /dev/tty, one at a time; its size; lines cut to its width.
 *
 * Path: render_step.c / render_slides.c -> term_*() -> /dev/tty (keys,
 *       size); the output itself goes to stdout, which is that terminal.
 */
#ifndef TCPDEMUX_TERM_H
#define TCPDEMUX_TERM_H

#include <stddef.h>
#include <stdio.h>

struct term {
	FILE *in;  /* /dev/tty, read a key at a time */
	int fd;    /* its descriptor */
	int cols;  /* the terminal's width (80 when it does not say) */
	int rows;  /* its height (24 when it does not say) */
};

/*
 * Opens /dev/tty and puts it in non-canonical mode without echo; the mode
 * is restored at exit, on SIGINT and SIGTERM, and by term_close(). Returns
 * 0, or -1 with "OPTION reads keys from a terminal, ..." in err (who names
 * the option).
 */
int term_open(struct term *t, const char *who, char *err, size_t errlen);

/* Restores the terminal's mode and closes it. */
void term_close(struct term *t);

/* Puts the terminal's mode back as it was (before an exec, on the way out). */
void term_restore(void);

/* Reads the terminal's size into cols and rows (stdout's, else /dev/tty's; 80x24 when unknown). */
void term_size(struct term *t);

/*
 * The next key: a byte, -1 at end of input or on an error, 0 when
 * timeout_ms (>= 0) passed first; timeout_ms < 0 waits for ever.
 */
int term_key(struct term *t, int timeout_ms);

/* Columns s[0..n) takes on the screen: ANSI escape sequences take none. */
size_t term_visible(const char *s, size_t n);

/*
 * Cuts a line of len bytes into pieces no wider than width columns,
 * breaking at a space where one is near enough; every piece after the
 * first is for a continuation line, indented by indent columns, so it
 * gets width - indent. Calls put(ctx, piece, bytes, continuation) for
 * each, in order (at least once, for an empty line too).
 */
void term_wrap(const char *line, size_t len, int width, int indent,
	       void (*put)(void *ctx, const char *p, size_t n, int cont), void *ctx);

#endif
