/*
 * ptyrun.h - running tcpdemux in a pseudo-terminal of a given size, with
 * keys typed when it asks for them.
 *
 * Shared by the suites that drive --step and --slides (check_golden.c,
 * check_slides.c). Static inline, as progrun.h.
 *
 * Path: pty_run() -> forkpty() with the window size set -> the child runs
 * "tcpdemux ARGS" through /bin/sh -> the parent reads the master side;
 * each time the output holds one more copy of the prompt string, it types
 * the next key string -> the child's exit status. Typing on a prompt
 * rather than after a delay makes the runs as fast as the program and the
 * same every time. A run that takes longer than its deadline is killed,
 * and the test fails.
 */
#ifndef TCPDEMUX_TEST_PTYRUN_H
#define TCPDEMUX_TEST_PTYRUN_H

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "progrun.h"

/* Occurrences of needle in [hay, hay + n). */
static inline int pty_count(const char *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle), i;
	int c = 0;

	for (i = 0; k && i + k <= n; i++)
		if (memcmp(hay + i, needle, k) == 0)
			c++;
	return c;
}

/*
 * Runs "tcpdemux ARGS" in a rows x cols terminal. keys[i] is typed when
 * the output holds i + 1 copies of prompt (after the last key, nothing
 * more is typed); nkeys < 0: keys[0] at every prompt. Returns the exit status (-1 if killed by a signal or
 * the deadline); *out gets everything the terminal received (free() it).
 */
static inline int pty_run(const char *args, int rows, int cols, const char *prompt,
			  const char *const *keys, int nkeys, int seconds, char **out)
{
	struct winsize ws = { (unsigned short)rows, (unsigned short)cols, 0, 0 };
	struct prog_buf b = { NULL, 0, 0 };
	char cmd[4096];
	time_t end = time(NULL) + seconds;
	int master, status = 0, typed = 0, killed = 0;
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "exec %s %s", prog_tcpdemux(), args);
	pid = forkpty(&master, NULL, NULL, &ws);
	ck_assert_msg(pid >= 0, "forkpty failed: %s", strerror(errno));
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	prog_buf_add(&b, "", 0);
	for (;;) {
		struct pollfd p = { master, POLLIN, 0 };
		char buf[4096];
		ssize_t n;
		int r;

		if (time(NULL) > end) {
			kill(pid, SIGKILL);
			killed = 1;
			break;
		}
		r = poll(&p, 1, 200);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		n = read(master, buf, sizeof(buf));
		if (n <= 0)
			break; /* EIO: the child closed the terminal (it exited) */
		prog_buf_add(&b, buf, (size_t)n);
		while ((nkeys < 0 || typed < nkeys) && pty_count(b.p, b.len, prompt) > typed) {
			const char *k = keys[nkeys < 0 ? 0 : typed];
			ssize_t w = write(master, k, strlen(k));

			ck_assert_msg(w == (ssize_t)strlen(k), "cannot type into the terminal");
			typed++;
		}
	}
	close(master);
	waitpid(pid, &status, 0);
	*out = b.p;
	if (killed) {
		fprintf(stderr, "pty_run: '%s' took more than %d s; it was killed\n", args, seconds);
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#endif
