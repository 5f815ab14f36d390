/*
 * annotate.h - the one-line packet comments of `--annotate OUT.pcapng`.
 *
 * Path: render_annotate.c -> annotate_inbound() for a segment fed to the
 *       stack, annotate_sent() for one the stack sent -> opt_comment of
 *       the frame (pcapng.c) -> Wireshark's frame.comment, and the fields
 *       of tools/wireshark/tcpdemux.lua.
 *
 * The words are short and greppable, and their shape is an interface
 * (docs/wireshark.md): the Lua plugin parses them, and readers filter on
 * them (frame.comment contains "ListenOverflows"). Each starts with its
 * kind: "demux: " (a segment fed to the stack), "tcpdemux: " (one the
 * stack sent), "host: " (the recorded host's own), "skipped: ", "other: ".
 */
#ifndef TCPDEMUX_ANNOTATE_H
#define TCPDEMUX_ANNOTATE_H

#include <stddef.h>

#include "stack.h"

/* Room for any comment these functions write. */
#define ANNOTATE_MAX 320

/*
 * "demux: ehash[0x3a1] hit sock #7 ESTABLISHED -> 19 bytes delivered",
 * "demux: ehash[0x1f2] miss -> listener 0.0.0.0:80 (wildcard) -> request
 * #4, SYN queue 1/16 -> SYN-ACK", ... for the EV_SEGMENT_IN ev. Returns
 * the length written (cut to fit len, always terminated).
 */
size_t annotate_inbound(const struct event *ev, char *buf, size_t len);

/* What made the stack send a segment. */
enum annotate_cause {
	CAUSE_SEGMENT = 0, /* the answer to an inbound segment (frame is its number) */
	CAUSE_TIMER,       /* a timer fired (timer is its EV_TIMER event) */
	CAUSE_CALL,        /* the application's call (call is its text, or NULL) */
	CAUSE_HOST,        /* a replay: the recorded host's own segment made the application act (frame) */
};

/*
 * "tcpdemux: SYN-ACK answering #1 (request #2)", "tcpdemux: SYN-ACK
 * again, timer of request #2 (retransmission 1)", "tcpdemux: FIN-ACK
 * after close() by the application" ... for the segment seg. frame: the
 * annotated file's number of the frame that caused it (CAUSE_SEGMENT,
 * CAUSE_HOST), or -1. Returns the length written.
 */
size_t annotate_sent(const struct segment *seg, int cause, int64_t frame, const struct event *timer,
		     const char *call, char *buf, size_t len);

/* "SYN-ACK", "PSH-ACK len 19", "RST": a segment's flags (and payload) in words. */
size_t annotate_flags(const struct segment *seg, char *buf, size_t len);

#endif
