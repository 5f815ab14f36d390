/*
 * errname.h - symbolic names for the negative errno values the socket
 * API returns, so traces read "-1 EAGAIN" as strace and packetdrill print.
 */
#ifndef TCPDEMUX_ERRNAME_H
#define TCPDEMUX_ERRNAME_H

/* "EAGAIN" for -EAGAIN or EAGAIN; NULL for 0 or an unknown value. */
const char *errno_name(long err);

/* The positive errno for a name ("EAGAIN"), or 0 if unknown. */
int errno_value(const char *name);

#endif
