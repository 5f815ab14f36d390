/*
 * render_nstat.c - --nstat: the run's counters as `nstat -az` prints them.
 *
 * Path: the record stream -> this wrapper -> every record but the summary
 *       to the renderer it wraps; the summary -> the counters, one line
 *       each, in nstat's format and order.
 *
 * Why: an engineer sets a replay's counters beside a server's own, and the
 * way to do that is diff: `tcpdemux replay f.pcap --quiet --nstat` and
 * `nstat -az` on the server must name and lay out every counter alike.
 * iproute2's nstat prints "#kernel", then each counter as
 * printf("%-32s%-16llu%6.1f\n", name, value, rate): the name is the MIB
 * group (Tcp for /proc/net/snmp, TcpExt for /proc/net/netstat) joined to
 * the field name, and -a (absolute values, no history) makes the rate 0.0.
 * The order is the kernel's: the files' order, and within TcpExt the order
 * of snmp4_net_list[] (net/ipv4/proc.c). Only the counters the stack keeps
 * are printed; the drop reasons that have no MIB counter (NoSocket, ...)
 * are not nstat's and stay out.
 *
 * In text mode the block replaces the summary, so the output is nstat's
 * alone. In JSON mode a {"type":"nstat","kernel":{...}} line (nstat -j's
 * object, typed as every line is) comes before the summary, which stays
 * the last line.
 */
#include <stdio.h>
#include <stdlib.h>

#include "render.h"

/* The counters nstat knows, in the kernel's order, with the names it prints. */
static const struct {
	int counter;
	const char *name;
} nstat_names[] = {
	/* /proc/net/snmp, "Tcp:" (CurrEstab, a gauge, is one nstat never prints) */
	{ CNT_ACTIVEOPENS, "TcpActiveOpens" },
	{ CNT_PASSIVEOPENS, "TcpPassiveOpens" },
	{ CNT_ATTEMPTFAILS, "TcpAttemptFails" },
	{ CNT_ESTABRESETS, "TcpEstabResets" },
	{ CNT_INSEGS, "TcpInSegs" },
	{ CNT_OUTSEGS, "TcpOutSegs" },
	{ CNT_RETRANSSEGS, "TcpRetransSegs" },
	{ CNT_OUTRSTS, "TcpOutRsts" },
	/* /proc/net/netstat, "TcpExt:", in snmp4_net_list[] order */
	{ CNT_SYNCOOKIESSENT, "TcpExtSyncookiesSent" },
	{ CNT_SYNCOOKIESRECV, "TcpExtSyncookiesRecv" },
	{ CNT_SYNCOOKIESFAILED, "TcpExtSyncookiesFailed" },
	{ CNT_EMBRYONICRSTS, "TcpExtEmbryonicRsts" },
	{ CNT_TW, "TcpExtTW" },
	{ CNT_LISTENOVERFLOWS, "TcpExtListenOverflows" },
	{ CNT_LISTENDROPS, "TcpExtListenDrops" },
	{ CNT_TCPTIMEOUTS, "TcpExtTCPTimeouts" },
	{ CNT_TCPABORTONDATA, "TcpExtTCPAbortOnData" },
	{ CNT_TCPABORTONCLOSE, "TcpExtTCPAbortOnClose" },
	{ CNT_TCPABORTONTIMEOUT, "TcpExtTCPAbortOnTimeout" },
	{ CNT_TCPREQQFULLDOCOOKIES, "TcpExtTCPReqQFullDoCookies" },
	{ CNT_TCPREQQFULLDROP, "TcpExtTCPReqQFullDrop" },
	{ CNT_TCPOFODROP, "TcpExtTCPOFODrop" },
	{ CNT_TCPCHALLENGEACK, "TcpExtTCPChallengeACK" },
	{ CNT_TCPSYNRETRANS, "TcpExtTCPSynRetrans" },
	{ CNT_TCPRCVQDROP, "TcpExtTCPRcvQDrop" },
};

#define NSTAT_COUNT (sizeof(nstat_names) / sizeof(nstat_names[0]))

struct nstat_renderer {
	struct renderer r;     /* must be first */
	struct renderer *inner; /* the trace's renderer */
	FILE *out;
	int json;
};

const char *render_nstat_name(int counter)
{
	size_t i;

	for (i = 0; i < NSTAT_COUNT; i++)
		if (nstat_names[i].counter == counter)
			return nstat_names[i].name;
	return NULL;
}

static void nstat_block(FILE *f, const uint64_t *counters)
{
	size_t i;

	fputs("#kernel\n", f);
	for (i = 0; i < NSTAT_COUNT; i++)
		fprintf(f, "%-32s%-16llu%6.1f\n", nstat_names[i].name,
			(unsigned long long)counters[nstat_names[i].counter], 0.0);
}

static void nstat_json(FILE *f, const uint64_t *counters)
{
	size_t i;

	fputs("{\"type\":\"nstat\",\"kernel\":{", f);
	for (i = 0; i < NSTAT_COUNT; i++)
		fprintf(f, "%s\"%s\":%llu", i ? "," : "", nstat_names[i].name,
			(unsigned long long)counters[nstat_names[i].counter]);
	fputs("}}\n", f);
}

static void nstat_record(struct renderer *rr, const struct record *rec)
{
	struct nstat_renderer *n = (struct nstat_renderer *)rr;

	if (rec->type != REC_SUMMARY) {
		render_record(n->inner, rec);
		return;
	}
	fflush(n->out); /* the wrapped renderer's lines first */
	if (n->json) {
		nstat_json(n->out, rec->summary->counters);
		fflush(n->out);
		render_record(n->inner, rec);
	} else {
		nstat_block(n->out, rec->summary->counters);
	}
	fflush(n->out);
}

static void nstat_destroy(struct renderer *rr)
{
	struct nstat_renderer *n = (struct nstat_renderer *)rr;

	n->inner->ops->destroy(n->inner);
	free(n);
}

static const struct renderer_ops nstat_ops = { nstat_record, nstat_destroy };

struct renderer *render_nstat_new(struct renderer *inner, FILE *out, int json)
{
	struct nstat_renderer *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->r.ops = &nstat_ops;
	n->r.wants = inner->wants;
	n->inner = inner;
	n->out = out;
	n->json = json;
	return &n->r;
}
