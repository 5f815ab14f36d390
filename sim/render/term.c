/*
 * term.c - keys, size and line cutting for the stepping front ends (term.h).
 *
 * The terminal's mode is a process-wide thing, so the saved mode is too:
 * one terminal is open at a time, and every way out (exit, Ctrl-C, kill,
 * an exec for --slides' 'b') puts it back.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "term.h"

static struct termios saved;
static int saved_ok;
static int saved_fd = -1;

void term_restore(void)
{
	if (saved_ok && saved_fd >= 0)
		tcsetattr(saved_fd, TCSANOW, &saved);
}

static void on_signal(int sig)
{
	term_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

int term_open(struct term *t, const char *who, char *err, size_t errlen)
{
	struct termios raw;
	static int hooked;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->in = fopen("/dev/tty", "r");
	if (!t->in || !isatty(fileno(t->in))) {
		snprintf(err, errlen, "%s reads keys from a terminal, and this process has none (it cannot open /dev/tty)",
			 who);
		if (t->in)
			fclose(t->in);
		t->in = NULL;
		return -1;
	}
	/* Keys are read one at a time, straight from the descriptor (poll() sees them). */
	setvbuf(t->in, NULL, _IONBF, 0);
	t->fd = fileno(t->in);
	if (tcgetattr(t->fd, &saved) == 0) {
		saved_ok = 1;
		saved_fd = t->fd;
		raw = saved;
		raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		tcsetattr(t->fd, TCSANOW, &raw);
		if (!hooked++) {
			atexit(term_restore);
			signal(SIGINT, on_signal);
			signal(SIGTERM, on_signal);
		}
	}
	term_size(t);
	return 0;
}

void term_close(struct term *t)
{
	term_restore();
	saved_ok = 0;
	if (t->in)
		fclose(t->in);
	t->in = NULL;
	t->fd = -1;
}

void term_size(struct term *t)
{
	struct winsize ws;

	t->cols = 80;
	t->rows = 24;
	if ((ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 || (t->fd >= 0 && ioctl(t->fd, TIOCGWINSZ, &ws) == 0)) &&
	    ws.ws_col > 0 && ws.ws_row > 0) {
		t->cols = ws.ws_col;
		t->rows = ws.ws_row;
	}
}

int term_key(struct term *t, int timeout_ms)
{
	struct pollfd p = { t->fd, POLLIN, 0 };
	unsigned char c;
	ssize_t n;
	int r;

	do {
		r = poll(&p, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0;
	if (r < 0)
		return -1;
	do {
		n = read(t->fd, &c, 1);
	} while (n < 0 && errno == EINTR);
	return n == 1 ? c : -1;
}

size_t term_visible(const char *s, size_t n)
{
	size_t i, w = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\033') {
			while (i < n && s[i] != 'm')
				i++;
			continue;
		}
		/* a UTF-8 continuation byte adds no column */
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	}
	return w;
}

void term_wrap(const char *line, size_t len, int width, int indent,
	       void (*put)(void *ctx, const char *p, size_t n, int cont), void *ctx)
{
	int cont = 0;

	if (width < indent + 16)
		width = indent + 16; /* a terminal this narrow gets lines a little wide, not a loop */
	while (term_visible(line, len) > (size_t)(width - (cont ? indent : 0))) {
		size_t room = (size_t)(width - (cont ? indent : 0)), cut, i, w = 0, last_space = 0;

		for (i = 0; i < len; i++) {
			if (line[i] == '\033') {
				while (i < len && line[i] != 'm')
					i++;
				continue;
			}
			if (((unsigned char)line[i] & 0xc0) == 0x80)
				continue;
			if (w == room)
				break;
			if (line[i] == ' ' && i > 0)
				last_space = i;
			w++;
		}
		/* at the last space, unless that leaves the piece almost empty */
		cut = last_space > room / 3 ? last_space : i;
		put(ctx, line, cut, cont);
		while (cut < len && line[cut] == ' ')
			cut++;
		line += cut;
		len -= cut;
		cont = 1;
	}
	put(ctx, line, len, cont);
}
