/*
 * counters.h - the stack's MIB counters.
 *
 * Names follow Linux's /proc/net/snmp (Tcp:) and /proc/net/netstat (TcpExt:)
 * wherever Linux counts the same event, so a run can be set beside `nstat`
 * output. Where Linux has no MIB counter for a drop (it only records an
 * skb drop reason), the counter is named after that drop reason and marked
 * "drop reason" below; docs/json.md lists them all.
 */
#ifndef TCPDEMUX_COUNTERS_H
#define TCPDEMUX_COUNTERS_H

/* X(enum suffix, printed name) */
#define COUNTER_LIST(X)                                                      \
	X(ACTIVEOPENS, "ActiveOpens")                                        \
	X(PASSIVEOPENS, "PassiveOpens")                                      \
	X(ATTEMPTFAILS, "AttemptFails")                                      \
	X(ESTABRESETS, "EstabResets")                                        \
	X(INSEGS, "InSegs")                                                  \
	X(OUTSEGS, "OutSegs")                                                \
	X(RETRANSSEGS, "RetransSegs")                                        \
	X(OUTRSTS, "OutRsts")                                                \
	X(LISTENOVERFLOWS, "ListenOverflows")                                \
	X(LISTENDROPS, "ListenDrops")                                        \
	X(TCPREQQFULLDROP, "TCPReqQFullDrop")                                \
	X(TCPREQQFULLDOCOOKIES, "TCPReqQFullDoCookies")                      \
	X(SYNCOOKIESSENT, "SyncookiesSent")                                  \
	X(SYNCOOKIESRECV, "SyncookiesRecv")                                  \
	X(SYNCOOKIESFAILED, "SyncookiesFailed")                              \
	X(EMBRYONICRSTS, "EmbryonicRsts")                                    \
	X(TCPTIMEOUTS, "TCPTimeouts")                                        \
	X(TCPSYNRETRANS, "TCPSynRetrans")                                    \
	X(TW, "TW")                                                          \
	X(TCPCHALLENGEACK, "TCPChallengeACK")                                \
	X(TCPABORTONDATA, "TCPAbortOnData")                                  \
	X(TCPABORTONCLOSE, "TCPAbortOnClose")                                \
	X(TCPABORTONTIMEOUT, "TCPAbortOnTimeout")                            \
	X(TCPOFODROP, "TCPOFODrop")                                          \
	X(TCPRCVQDROP, "TCPRcvQDrop")                                        \
	/* drop reasons (Linux: SKB_DROP_REASON_*), no Linux MIB counter */  \
	X(NOSOCKET, "NoSocket")                                              \
	X(TCPFLAGS, "TCPFlags")                                              \
	X(TCPOLDSEQ, "TCPOldSeq")                                            \
	X(TCPINVALIDSEQ, "TCPInvalidSeq")                                    \
	X(TCPINVALIDACK, "TCPInvalidAck")                                    \
	X(TCPRESET, "TCPReset")                                              \
	X(SOCKETLIMIT, "SocketLimit")

enum counter {
#define COUNTER_ENUM(id, name) CNT_##id,
	COUNTER_LIST(COUNTER_ENUM)
#undef COUNTER_ENUM
	CNT_COUNT
};

/* Printed name of a counter ("ListenOverflows"); NULL if out of range. */
const char *counter_name(int c);

#endif
