/*
 * script_int.h - what the files of `tcpdemux script` share; not for other
 * modules (they include script.h).
 *
 * Path: script_run.c (script_run)
 *         -> script_parse.c   the text into statements, every line checked
 *              -> script_shell.c  `command` blocks into a sysctl profile
 *              -> script_code.c   %{ assert tcpi_... }% blocks
 *              -> script_calls.c  the call table: is a call modelled?
 *         -> the run: script_calls.c runs each call, script_code.c each
 *            assertion; script_run.c feeds and checks the segments.
 * Arrows point one way: the parser and the calls never call back into the
 * runner; they return what they found (a message in a buffer) instead.
 */
#ifndef TCPDEMUX_SCRIPT_INT_H
#define TCPDEMUX_SCRIPT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "script.h"
#include "socket.h"

#define SCRIPT_MAX_FDS 1024
#define SCRIPT_MAX_OPTS 16
#define SCRIPT_WHY 320          /* room for one failure message */
#define SCRIPT_BOUND_PORT 8080  /* packetdrill binds and connects to port 8080 */
#define SCRIPT_REMOTE_PORT 40000 /* the remote's port in passive scripts */

/* ---- expressions (call arguments) --------------------------------------------------------- */

enum sx_kind {
	SX_ELLIPSIS,   /* ...                         */
	SX_INT,        /* 42, 0x2, -1                 */
	SX_WORD,       /* SOL_SOCKET, NULL, AF_INET   */
	SX_STRING,     /* "text"                      */
	SX_LIST,       /* [a, b]                      */
	SX_STRUCT,     /* {a, b} or {name=value, ...} */
	SX_OR,         /* a|b                         */
	SX_ASSIGN,     /* name=value, msg_iov(1)=[..] */
	SX_FUNC,       /* name(args): htons(8080), msg_iov(1) */
};

struct sexpr {
	uint8_t kind;          /* enum sx_kind */
	int64_t num;           /* SX_INT */
	const char *text;      /* SX_WORD, SX_STRING, SX_FUNC: the name */
	struct sexpr *lhs, *rhs; /* SX_OR, SX_ASSIGN */
	struct sexpr **items;  /* SX_LIST, SX_STRUCT, SX_FUNC: elements or arguments */
	int nitems;
};

/* ---- statements ---------------------------------------------------------------------------- */

enum stmt_kind {
	ST_PACKET,   /* "< ..." fed in, "> ..." expected out */
	ST_CALL,     /* a system call and its expected result */
	ST_PROFILE,  /* a `command` block: sysctl settings */
	ST_SAY,      /* "//! text": narration */
	ST_CODE,     /* %{ assert tcpi_... }%: assertions on tcp_info */
};

enum opt_kind { O_NOP, O_EOL, O_MSS, O_WSCALE, O_SACKOK, O_TS, O_SACK, O_FO, O_FOEXP };

struct sopt {
	uint8_t kind;            /* enum opt_kind */
	uint8_t nblocks;         /* O_SACK: blocks in a */
	uint32_t a, b;           /* MSS, wscale, TS val / ecr */
	uint32_t blocks[8];      /* O_SACK: start, end pairs (the remote's numbers as written) */
	uint8_t cookie[16];      /* O_FO, O_FOEXP: the Fast Open cookie, nblocks bytes of it */
};

/* One profile action of a `command` block, in order. */
struct profile_step {
	uint8_t restore;         /* 1: /tmp/sysctl_restore_*.sh: back to the settings before set_sysctls.py */
	uint8_t checkpoint;      /* 1: set_sysctls.py is about to change settings: remember them */
	const char *assign;      /* NAME=VALUE (restore/checkpoint: NULL) */
};

struct code_assert;          /* script_code.c */

struct stmt {
	int line;
	uint8_t kind;            /* enum stmt_kind */
	/* timing */
	uint8_t any_time;        /* "*" */
	uint8_t rel;             /* "+T" */
	uint8_t range;           /* "T...E" (blocking call) or "T~E" (outbound segment) */
	uint8_t rel_end;         /* the end is relative too */
	double t1, t2;
	/* packet */
	uint8_t inbound;
	uint8_t has_ep, has_lep; /* "@REMOTE" and "@REMOTE>LOCAL" extensions */
	struct ip_addr ep, lep;
	uint16_t ep_port, lep_port;
	uint8_t flags;           /* TH_* */
	uint32_t seq, end;
	uint8_t has_ack, has_win, has_urg, has_opts; /* "<...>" (any options) leaves has_opts 0 */
	uint32_t ack, win, urg;
	struct sopt opts[SCRIPT_MAX_OPTS];
	int nopts;
	/* call */
	const struct script_call *call;
	const char *name;
	struct sexpr **args;
	int nargs;
	long ret;                /* expected result */
	int err;                 /* expected errno (positive) when ret == -1, 0 when none is named */
	const char *text;        /* the call as written, for the trace and messages */
	/* profile */
	struct profile_step *steps;
	int nsteps;
	/* code */
	struct code_assert *asserts;
	int nasserts;
	/* narration */
	const char *say;
};

/* The variables %{ }% blocks assign, known to the blocks after them (one Python session). */
struct code_names {
	const char *name[32];
	int n;
};

/* A parsed script: statements plus the storage they point into. */
struct script_prog {
	struct stmt *stmts;
	int nstmts, cap;
	struct arena *arena;     /* every string and expression of the script */
	struct code_names names; /* variables of the %{ }% blocks */
	struct script_opts opts; /* the caller's options with the script's header lines applied */
};

/* The storage of one script, freed at once. Returns NULL when memory runs out. */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
struct arena *arena_new(void);
void arena_free(struct arena *a);

/*
 * Reads and checks the whole script (o->text, or the file o->file), the
 * header option lines applied to prog->opts. Returns 0, or -1 with one
 * line "FILE:LINE: ..." printed: the script is bad or uses something not
 * modelled, and nothing has run.
 */
int script_parse(const struct script_opts *o, struct script_prog *prog);
void script_prog_free(struct script_prog *prog);

/* ---- `command` blocks (script_shell.c) ----------------------------------------------------- */

/*
 * Turns the shell text of a `command` block into profile steps appended to
 * s (sysctl settings; harmless commands such as `tc qdisc ... pfifo` give
 * none). dir is the script's folder, where relative paths (defaults.sh)
 * are found. Returns 0, or -1 with the reason in why (a command that is
 * not modelled, a file that cannot be read, a bad value).
 */
int shell_block(struct arena *a, const char *dir, const char *text, struct stmt *s, char *why,
		size_t whylen);

/* ---- tcp_info assertions (script_code.c) ---------------------------------------------------- */

/*
 * Parses "%{ assert EXPR [, msg]; NAME = EXPR ... }%" text into s; names
 * collects the variables assigned so far. Returns 0, or -1 with the reason
 * in why (a field or a Python construct that is not modelled).
 */
int code_block(struct arena *a, struct code_names *names, const char *text, struct stmt *s, char *why,
	       size_t whylen);

/* The variables' values during a run. */
struct code_env;
struct code_env *code_env_new(void);
void code_env_free(struct code_env *env);

/*
 * Runs s's statements against ti (assignments update env). Returns 0, or
 * -1 with the first false assertion and the values it read in why.
 */
int code_check(const struct stmt *s, const struct tcp_info_view *ti, struct code_env *env, char *why,
	       size_t whylen);

/* ---- system calls (script_calls.c) ---------------------------------------------------------- */

/* What a script descriptor is, beside the stack's own descriptor behind it. */
struct script_fd {
	int live;                /* the stack's descriptor, -1 when the script number is free */
	uint8_t nonblock;        /* fcntl(O_NONBLOCK) */
	uint8_t linger0;         /* SO_LINGER {onoff=1, linger=0}: close() aborts */
	uint8_t epoll;           /* an epoll instance, not a socket */
	uint8_t inq;             /* TCP_INQ: recvmsg() reports TCP_CM_INQ */
	uint8_t zerocopy;        /* SO_ZEROCOPY */
};

/* The state calls read and change; the runner owns it. */
struct call_ctx {
	struct stack *st;
	const struct script_opts *o;
	struct ip_addr local, remote;
	uint16_t bound_port;     /* the last port bind() named */
	struct script_fd fds[SCRIPT_MAX_FDS];
	int last_fd;             /* the socket a %{ }% block looks at: the last socket() or accept() made */
	int retry;               /* this run is a retry of a pending blocking call */
	vtime_t started;         /* when the call (first) ran */
	vtime_t wake_at;         /* set by a call that waits with a timeout (poll): retry then */
	int connecting;          /* set by connect(): the live fd of a new active open, else -1 */
	char why[SCRIPT_WHY];    /* a call's failure, when it returns -1 */
	struct epoll_table *epolls; /* script_poll.c's epoll instances, NULL before the first */
};

struct script_call {
	const char *name;
	/*
	 * Runs the call; *ret is what it returned (a negative errno on
	 * failure). Returns 0, or -1 with why set: an output the line
	 * expects differs (getsockopt's value, poll's revents, ...).
	 */
	int (*run)(struct call_ctx *cx, const struct stmt *s, long *ret);
	/*
	 * At parse time: checks the arguments are something the call models.
	 * Returns 0, or -1 with the reason in why. NULL: any arguments.
	 */
	int (*check)(const struct stmt *s, char *why, size_t whylen);
	uint8_t nargs_min, nargs_max;
	uint8_t blocking;        /* 1: on a blocking socket it waits until it can finish; 2: it waits for its timeout */
	uint8_t fd_result;       /* returns a new descriptor (socket, accept, epoll_create) */
};

/* The call named name, or NULL when it is not modelled. */
const struct script_call *script_call_find(const char *name);

/* "socket, bind, ..." : every modelled call, for messages. */
void script_call_names(char *buf, size_t len);

/*
 * A call's failure: formats the reason into cx->why and returns -1, so a
 * call's run() can end with `return call_why(cx, "...", ...)`.
 */
int call_why(struct call_ctx *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The same for a parse-time check(): the reason into buf (len bytes), returns -1. */
int call_check_why(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void call_ctx_init(struct call_ctx *cx, struct stack *st, const struct script_opts *o);
void call_ctx_free(struct call_ctx *cx);

/* ---- poll() and epoll (script_poll.c) ----------------------------------------------------------- */

int check_poll(const struct stmt *s, char *buf, size_t len);
int run_poll(struct call_ctx *cx, const struct stmt *s, long *ret);
int run_epoll_create(struct call_ctx *cx, const struct stmt *s, long *ret);
int check_epoll_ctl(const struct stmt *s, char *buf, size_t len);
int run_epoll_ctl(struct call_ctx *cx, const struct stmt *s, long *ret);
int check_epoll_wait(const struct stmt *s, char *buf, size_t len);
int run_epoll_wait(struct call_ctx *cx, const struct stmt *s, long *ret);
/* close() of an epoll descriptor. */
void epoll_close(struct call_ctx *cx, int script_fd);
/* The stack woke the socket behind live_fd up (data, FIN, state): edge-triggered epoll reports it. */
void poll_wakeup(struct call_ctx *cx, int live_fd);
void poll_free(struct call_ctx *cx);
/* Argument i as a number (a timeout, a size), 0 if it is none. */
int64_t arg_timeout(const struct stmt *s, int i);

/* Does this call return EAGAIN rather than wait (O_NONBLOCK, MSG_DONTWAIT, a timeout of 0)? */
int call_nonblocking(const struct call_ctx *cx, const struct stmt *s);

/* The stack's descriptor behind a script descriptor expression, or -1. */
int call_live_fd(const struct call_ctx *cx, const struct sexpr *e);

/* A symbol's value (SOL_SOCKET, POLLIN, MSG_ZEROCOPY ...); returns 0 and sets *v, or -1. */
int script_symbol(const char *name, int64_t *v);

/* The integer value of an expression (numbers, symbols, a|b); returns 0 or -1. */
int sexpr_int(const struct sexpr *e, int64_t *v);

/* Writes e as the script would show it. */
void sexpr_format(const struct sexpr *e, char *buf, size_t len);

#endif
