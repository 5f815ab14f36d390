/*
 * lazy_lib.c - see lazy_lib.h.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "lazy_lib.h"

/* The libraries loaded, closed at exit (two are defined: pcap_lib.c, zlib_lib.c). */
#define LAZY_MAX 4
static struct lazy_lib *loaded[LAZY_MAX];
static int nloaded;

/*
 * At exit, each library is closed again: the dynamic linker's records of
 * it and its dependencies (link maps, search paths) are freed with it, so
 * that a leak check of the program (make check-valgrind) finds the memory
 * the program itself allocated, and nothing of a loader's. Every handle
 * a library gave out is closed by then (the program closes what it opens).
 */
static void unload_all(void)
{
	while (nloaded > 0) {
		struct lazy_lib *l = loaded[--nloaded];

		dlclose(l->handle);
		l->handle = NULL;
		l->state = 0; /* a call after this one loads it again rather than calling into what was closed */
	}
}

int lazy_lib_load(struct lazy_lib *l)
{
	const char *miss = NULL;
	size_t i;
	void *h;

	if (l->state)
		return l->state > 0 ? 0 : -1;
	l->state = -1;
	if (nloaded == LAZY_MAX) {
		snprintf(l->why, sizeof(l->why), "cannot load %s (more than %d libraries loaded late)", l->what,
			 LAZY_MAX);
		return -1;
	}
	h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(l->why, sizeof(l->why), "cannot load %s (%s)", l->what, dlerror());
		return -1;
	}
	for (i = 0; i < l->count && !miss; i++)
		if (!(l->fns[i] = dlsym(h, l->names[i])))
			miss = l->names[i];
	if (miss) {
		snprintf(l->why, sizeof(l->why), "cannot load %s (%s has no %s)", l->what, l->soname, miss);
		dlclose(h);
		return -1;
	}
	l->handle = h;
	if (nloaded == 0)
		(void)atexit(unload_all); /* a failure only leaves the loader's memory to the exit */
	loaded[nloaded++] = l;
	l->state = 1;
	return 0;
}

void lazy_lib_need(struct lazy_lib *l, const char *name)
{
	if (lazy_lib_load(l) < 0) {
		fprintf(stderr, "tcpdemux: %s: %s\n", name, l->why);
		abort();
	}
}
