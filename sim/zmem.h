/*
 * zmem.h - zeroed memory that costs nothing until it is touched.
 *
 * Path: replay.c (its state), capture_point.c (its pending table) ->
 *       zmem_alloc() -> mmap().
 *
 * calloc() clears what it gives out unless the memory is fresh from the
 * system, and glibc only knows that of blocks of 128 KiB or more (mapped
 * on their own): below, it clears them in place, so each page of a
 * 100 KiB table is a page fault at start-up, used or not. A replay's
 * state and its table of pending handshakes are such blocks, mostly
 * untouched on a short capture: mapped instead, a replay of a short
 * capture (zk_modbus_modbusBig, 13,622 frames in 2.3 ms) starts with some
 * 50 page faults fewer. For blocks of a few dozen KiB or more, allocated
 * once; small ones belong to malloc.
 */
#ifndef TCPDEMUX_ZMEM_H
#define TCPDEMUX_ZMEM_H

#include <stddef.h>

/* len bytes of zeros, page-aligned, or NULL when memory runs out. */
void *zmem_alloc(size_t len);

/* Gives back what zmem_alloc(len) returned (the same len); NULL is a no-op. */
void zmem_free(void *p, size_t len);

#endif
