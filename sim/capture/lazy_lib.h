/*
 * lazy_lib.h - a shared library loaded the first time one of its
 * functions is called, and closed again at exit.
 *
 * Path: pcap_lib.c (libpcap), zlib_lib.c (zlib): the library's functions,
 *       defined there with the library's own prototypes -> lazy_lib_load()
 *       -> dlopen() by SONAME, dlsym() of each function.
 *
 * Why: every shared library linked in is mapped and relocated before
 * main(), whether the run needs it or not; a replay of a plain pcap file
 * needs neither libpcap (0.7 ms with its dependencies) nor zlib (0.05 ms,
 * a fiftieth of a 13,000-frame replay). The files that define a library's
 * functions keep its API at every call site; this one does the loading.
 */
#ifndef TCPDEMUX_LAZY_LIB_H
#define TCPDEMUX_LAZY_LIB_H

#include <stddef.h>

struct lazy_lib {
	const char *soname;       /* the file dlopen() loads, as the linker would have recorded it ("libz.so.1") */
	const char *what;         /* its name in messages ("libpcap", "zlib") */
	const char *const *names; /* the functions to find, in the order of fns */
	size_t count;             /* how many */
	void **fns;               /* where their addresses go: count function pointers (see lazy_lib_load) */
	int state;                /* 0 not tried, 1 loaded, -1 failed (why says why) */
	void *handle;             /* dlopen()'s handle while loaded */
	char why[256];            /* "cannot load zlib (...)" */
};

/*
 * Loads l's library and finds every function, once. Returns 0, or -1
 * with the reason in l->why (then every later call fails the same way,
 * quickly). Nothing is half-loaded: on a missing function the library is
 * closed again. l->fns is written as an array of count pointers: the
 * caller's table of function pointers, all of one size (a data pointer's,
 * as POSIX has dlsym() return them).
 */
int lazy_lib_load(struct lazy_lib *l);

/*
 * For a call whose argument only the library can have made (a handle, a
 * stream it initialised): the library is loaded by then. Should it not
 * be, stops with one line naming the function, instead of calling NULL.
 */
void lazy_lib_need(struct lazy_lib *l, const char *name);

/*
 * What a file defining a library's functions needs, from its X-macro list
 * of them (entries X(ret, name, params, args)):
 *   static struct { LIST(LAZY_LIB_FIELD, ...) } lib;       the table
 *   static const char *const names[] = { LIST(LAZY_LIB_NAME, ...) };
 *   static struct lazy_lib var = LAZY_LIB_INIT(SONAME, "what", names, lib);
 * and, for a function that needs the library loaded already,
 *   #define CALL(ret, name, params, args) LAZY_LIB_CALL(var, lib, ret, name, params, args)
 * or, for one that may come first and reports failure its own way (its
 * statement on_fail, run when the library cannot be loaded),
 *   LAZY_LIB_FIRST(var, lib, ret, name, params, args, on_fail)
 */
#define LAZY_LIB_FIELD(ret, name, params, args) ret(*name) params;
#define LAZY_LIB_NAME(ret, name, params, args) #name,
#define LAZY_LIB_INIT(soname, what, names, table) \
	{ soname, what, names, sizeof(names) / sizeof((names)[0]), (void **)&(table), 0, NULL, "" }
/* (The table must be one pointer per name, in order: lazy_lib_load() writes it as an array.) */
#define LAZY_LIB_CHECK(names, table)                                                           \
	_Static_assert(sizeof(table) == sizeof(names) / sizeof((names)[0]) * sizeof(void *), \
		       "one pointer for each function, in the order of the names")
#define LAZY_LIB_FIRST(var, table, ret, name, params, args, on_fail) \
	ret name params                                                \
	{                                                              \
		if (lazy_lib_load(&(var)) < 0) {                       \
			on_fail;                                       \
		}                                                      \
		return (table).name args;                              \
	}
#define LAZY_LIB_CALL(var, table, ret, name, params, args) \
	ret name params                                      \
	{                                                    \
		lazy_lib_need(&(var), #name);                \
		return (table).name args;                    \
	}

#endif
