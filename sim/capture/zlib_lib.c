/*
 * zlib_lib.c - zlib, loaded the first time something calls it.
 *
 * Path: capfile.c (a gzip-compressed capture: inflateInit2, inflate, ...)
 *       -> the zlib function of the same name, here -> lazy_lib.c ->
 *       dlopen()ed libz.
 *
 * Why: only a compressed capture needs zlib, and a library linked in is
 * mapped and relocated before main() on every run (0.05 ms: a fiftieth of
 * the replay of a 13,000-frame capture, one of the 0.1 ms that kept it
 * from twice tcptrace's speed). As pcap_lib.c does for libpcap, the
 * program is linked without -lz, and this file defines each zlib function
 * the program uses with zlib's own prototype (from <zlib.h>: a mismatch
 * does not compile); the call sites stay zlib's API.
 *
 * When the library cannot be loaded, the call that comes first says so
 * the way zlib reports a failure: inflateInit2_() returns Z_VERSION_ERROR
 * with the reason in the stream's msg (capfile.c prints it). Every other
 * function takes a stream only a successful inflateInit2_() made, or
 * (zError) a code only inflate() returned, so the library is loaded by
 * the time it is called.
 */
#include <zlib.h>

#include "lazy_lib.h"

/* The library's file name, as the linker would have recorded it (the Makefile reads its SONAME). */
#ifndef ZLIB_SONAME
#define ZLIB_SONAME "libz.so.1"
#endif

/*
 * Every zlib function tcpdemux calls: (return type, name, (parameters),
 * (arguments)).
 *   INIT  the stream's initialiser: Z_VERSION_ERROR and the reason in msg
 *   CALL  takes what only the library made, so it is loaded already
 */
#define ZLIB_CALLS(INIT, CALL)                                                                      \
	INIT(int, inflateInit2_, (z_streamp strm, int windowBits, const char *version, int stream_size), \
	     (strm, windowBits, version, stream_size))                                                \
	CALL(int, inflate, (z_streamp strm, int flush), (strm, flush))                                \
	CALL(int, inflateReset, (z_streamp strm), (strm))                                             \
	CALL(int, inflateEnd, (z_streamp strm), (strm))                                               \
	CALL(const char *, zError, (int err), (err))

/* The library's functions, once loaded: one pointer each, filled by lazy_lib_load(). */
static struct {
	ZLIB_CALLS(LAZY_LIB_FIELD, LAZY_LIB_FIELD)
} lib;
static const char *const names[] = { ZLIB_CALLS(LAZY_LIB_NAME, LAZY_LIB_NAME) };
LAZY_LIB_CHECK(names, lib);
static struct lazy_lib zlib = LAZY_LIB_INIT(ZLIB_SONAME, "zlib", names, lib);

#define INIT(ret, name, params, args) \
	LAZY_LIB_FIRST(zlib, lib, ret, name, params, args, strm->msg = zlib.why; return Z_VERSION_ERROR)
#define CALL(ret, name, params, args) LAZY_LIB_CALL(zlib, lib, ret, name, params, args)
ZLIB_CALLS(INIT, CALL)
#undef INIT
#undef CALL
