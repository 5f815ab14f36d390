/*
 * progrun.h - running the tcpdemux program from a Check test.
 *
 * Shared by the end-to-end suites (check_golden.c, check_replay.c). Every
 * function is static inline, so a suite that includes this header and
 * uses only some of them gets no unused-function warning, and the
 * Makefile (which compiles tests/check_*.c and tests/helpers.c) needs no
 * new object.
 *
 * Path: prog_run*() -> fork, /bin/sh -c "tcpdemux ARGS" (or execvp with
 * an argv, no shell) -> stdout and stderr read through two pipes until
 * both close -> the exit status. A program killed by a signal (a crash)
 * fails the test; a sanitizer report (exit 1, lines on stderr) fails the
 * caller's checks of the status and of stderr.
 *
 * Environment, as `make check` sets it: TCPDEMUX (the binary, default
 * build/tcpdemux), TESTDIR (default tests), TRACES (default traces).
 */
#ifndef TCPDEMUX_TEST_PROGRUN_H
#define TCPDEMUX_TEST_PROGRUN_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static inline const char *prog_env(const char *name, const char *def)
{
	const char *p = getenv(name);

	return p && *p ? p : def;
}

static inline const char *prog_tcpdemux(void)
{
	return prog_env("TCPDEMUX", "build/tcpdemux");
}

static inline const char *prog_testdir(void)
{
	return prog_env("TESTDIR", "tests");
}

static inline const char *prog_traces(void)
{
	return prog_env("TRACES", "traces");
}

/* A growing NUL-terminated buffer. */
struct prog_buf {
	char *p;
	size_t len, cap;
};

static inline void prog_buf_add(struct prog_buf *b, const char *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *np;

		while (b->len + n + 1 > cap)
			cap *= 2;
		np = realloc(b->p, cap);
		ck_assert_msg(np != NULL, "out of memory (%zu bytes)", cap);
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/*
 * Runs argv[0] (a path, or a name looked up in PATH) with argv; its
 * stdout goes to *out and its stderr to *err, both malloc'd and
 * NUL-terminated (the caller frees them). err may be NULL: stderr is then
 * merged into *out.
 * Returns the exit status; a run that did not exit normally fails the test.
 */
static inline int prog_runv(char *const argv[], char **out, char **err)
{
	int po[2], pe[2] = { -1, -1 }, status;
	struct prog_buf bo = { NULL, 0, 0 }, be = { NULL, 0, 0 };
	struct pollfd fds[2];
	pid_t pid;
	int open_fds;

	ck_assert_msg(pipe(po) == 0, "pipe: %s", strerror(errno));
	if (err)
		ck_assert_msg(pipe(pe) == 0, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		dup2(po[1], STDOUT_FILENO);
		dup2(err ? pe[1] : po[1], STDERR_FILENO);
		close(po[0]);
		close(po[1]);
		if (err) {
			close(pe[0]);
			close(pe[1]);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(po[1]);
	if (err)
		close(pe[1]);
	prog_buf_add(&bo, "", 0);
	prog_buf_add(&be, "", 0);
	fds[0].fd = po[0];
	fds[0].events = POLLIN;
	fds[1].fd = err ? pe[0] : -1;
	fds[1].events = POLLIN;
	open_fds = err ? 2 : 1;
	while (open_fds > 0) {
		int i;

		if (poll(fds, 2, -1) < 0) {
			ck_assert_msg(errno == EINTR, "poll: %s", strerror(errno));
			continue;
		}
		for (i = 0; i < 2; i++) {
			char chunk[65536];
			ssize_t n;

			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(fds[i].fd, chunk, sizeof(chunk));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
				continue;
			}
			prog_buf_add(i == 0 ? &bo : &be, chunk, (size_t)n);
		}
	}
	while (waitpid(pid, &status, 0) < 0)
		ck_assert_msg(errno == EINTR, "waitpid: %s", strerror(errno));
	ck_assert_msg(WIFEXITED(status), "%s did not exit normally (signal %d); stdout+stderr:\n%s%s",
		      argv[0], WIFSIGNALED(status) ? WTERMSIG(status) : 0, bo.p, be.p);
	*out = bo.p;
	if (err)
		*err = be.p;
	else
		free(be.p);
	return WEXITSTATUS(status);
}

/*
 * Runs "tcpdemux ARGS" through /bin/sh (ARGS are shell words: quote file
 * names with prog_quote()). stdout to *out, stderr to *err (or merged
 * into *out when err is NULL). Returns the exit status.
 */
static inline int prog_run_split(const char *args, char **out, char **err)
{
	size_t n = strlen(prog_tcpdemux()) + strlen(args) + 2;
	char *cmd = malloc(n);
	char sh[] = "/bin/sh", c[] = "-c";
	char *argv[4];
	int rc;

	ck_assert_msg(cmd != NULL, "out of memory");
	snprintf(cmd, n, "%s %s", prog_tcpdemux(), args);
	argv[0] = sh;
	argv[1] = c;
	argv[2] = cmd;
	argv[3] = NULL;
	rc = prog_runv(argv, out, err);
	free(cmd);
	return rc;
}

/* Runs "tcpdemux ARGS"; returns its exit status and its stdout and stderr, merged, in *out. */
static inline int prog_run(const char *args, char **out)
{
	return prog_run_split(args, out, NULL);
}

/* s as one single-quoted shell word, in buf. */
static inline const char *prog_quote(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	ck_assert_msg(len >= 3, "quote buffer too small");
	buf[o++] = '\'';
	for (; *s; s++) {
		if (*s == '\'') {
			ck_assert_msg(o + 5 < len, "quote buffer too small");
			memcpy(buf + o, "'\\''", 4);
			o += 4;
		} else {
			ck_assert_msg(o + 2 < len, "quote buffer too small");
			buf[o++] = *s;
		}
	}
	buf[o++] = '\'';
	buf[o] = '\0';
	return buf;
}

/*
 * Runs a tool (argv[0] looked up in PATH: tshark, python3, ...) that the
 * test needs and tools/ensure-deps.sh installs; asserts it exited 0 and
 * returns its stdout (malloc'd). A missing tool fails the test, saying so.
 */
static inline char *prog_tool(const char *const argv[])
{
	char *out, *err;
	int rc = prog_runv((char *const *)argv, &out, &err);

	ck_assert_msg(rc == 0, "%s exited %d (not installed? tools/ensure-deps.sh --test installs it): %s%s", argv[0],
		      rc, out, err);
	free(err);
	return out;
}

/* The whole file, NUL-terminated, in a malloc'd buffer; *len (if not NULL) gets its size. */
static inline char *prog_read_file(const char *path, size_t *len)
{
	struct prog_buf b = { NULL, 0, 0 };
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;

	ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
	prog_buf_add(&b, "", 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		prog_buf_add(&b, chunk, n);
	ck_assert_msg(!ferror(f), "cannot read %s", path);
	fclose(f);
	if (len)
		*len = b.len;
	return b.p;
}

#endif
