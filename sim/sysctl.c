/*
 * sysctl.c - see sysctl.h. Ranges are the ones Linux enforces for each
 * knob (proc_dointvec_minmax bounds), so a value the kernel would refuse
 * is refused here too.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysctl.h"
#include "term.h"

struct knob {
	const char *name;
	size_t off;
	long min, max;
	const char *what;
	uint8_t count;           /* values: 0 or 1 an int, 3 an array of uint32_t (tcp_rmem) */
	uint8_t is_u32;          /* one uint32_t */
};

#define K(field) offsetof(struct stack_config, field)

static const struct knob knobs[] = {
	{ "net.ipv4.tcp_syncookies", K(tcp_syncookies), 0, 2,
	  "0 never, 1 when the SYN queue is full, 2 always", 0, 0 },
	{ "net.ipv4.tcp_abort_on_overflow", K(tcp_abort_on_overflow), 0, 1,
	  "1: reset a final ACK that finds the accept queue full", 0, 0 },
	{ "net.ipv4.tcp_synack_retries", K(tcp_synack_retries), 0, 255,
	  "SYN-ACK retransmissions before a request is dropped", 0, 0 },
	{ "net.ipv4.tcp_syn_retries", K(tcp_syn_retries), 1, 127,
	  "SYN retransmissions before connect() fails", 0, 0 },
	{ "net.ipv4.tcp_syn_linear_timeouts", K(tcp_syn_linear_timeouts), 0, 127,
	  "SYN retransmissions at a steady 1 s before backing off", 0, 0 },
	{ "net.ipv4.tcp_max_syn_backlog", K(tcp_max_syn_backlog), 1, 0x7fffffff,
	  "requests kept for unproven peers when cookies are off", 0, 0 },
	{ "net.core.somaxconn", K(somaxconn), 0, 0x7fffffff, "cap on listen() backlogs", 0, 0 },
	{ "net.ipv4.tcp_retries2", K(tcp_retries2), 0, 255,
	  "retransmissions before an established connection gives up", 0, 0 },
	{ "net.ipv4.tcp_fin_timeout", K(tcp_fin_timeout), 1, 0x7fffffff,
	  "seconds an orphaned FIN_WAIT2 socket waits", 0, 0 },
	{ "net.ipv4.tcp_timestamps", K(tcp_timestamps), 0, 2, "RFC 7323 timestamps", 0, 0 },
	{ "net.ipv4.tcp_sack", K(tcp_sack), 0, 1, "SACK-permitted", 0, 0 },
	{ "net.ipv4.tcp_window_scaling", K(tcp_window_scaling), 0, 1, "window scaling", 0, 0 },
	{ "net.ipv4.tcp_rmem", K(tcp_rmem), 1, 0x7fffffff,
	  "receive buffer min, default, max: the initial window and window scale", 3, 0 },
	{ "net.ipv4.tcp_wmem", K(tcp_wmem), 1, 0x7fffffff, "send buffer min, default, max", 3, 0 },
	{ "net.ipv4.tcp_fastopen", K(tcp_fastopen), 0, 0x7fffffff,
	  "TCP Fast Open: 1 client, 2 server, 0x200 no cookie needed, 0x400 every listener", 0, 0 },
	{ "net.ipv4.tcp_fastopen_key", K(tcp_fastopen_key), 0, 0,
	  "the server's cookie key, as 8 hex digits x 4 joined by '-'", 4, 0 },
	{ "net.ipv4.tcp_notsent_lowat", K(tcp_notsent_lowat), 0, 0xffffffffL,
	  "poll() says writable only under this many unsent bytes", 0, 1 },
	{ "net.core.rmem_max", K(rmem_max), 0, 0x7fffffff, "largest SO_RCVBUF; counts for the window scale", 0, 1 },
	{ "net.core.wmem_max", K(wmem_max), 0, 0x7fffffff, "largest SO_SNDBUF", 0, 1 },
	{ "net.ipv4.tcp_ecn", K(tcp_ecn), 0, 2, "ECN: 1 asks for it in our SYNs and accepts it, 2 only accepts it", 0, 0 },
	{ "net.ipv6.bindv6only", K(bindv6only), 0, 1,
	  "1: a new IPv6 socket is IPV6_V6ONLY ([::] listeners take no IPv4)", 0, 0 },
};

/*
 * Linux TCP knobs the stack does not model. A script's profile
 * (defaults.sh) may set them: they are listed under --verbose and
 * otherwise ignored, while a name in neither table is a typo and refused.
 */
static const char *const linux_only[] = {
	"net.core.default_qdisc", "net.core.netdev_max_backlog", "net.core.optmem_max",
	"net.core.rmem_default", "net.core.wmem_default",
	"net.ipv4.ip_local_port_range", "net.ipv4.ip_no_pmtu_disc", "net.ipv4.tcp_adv_win_scale",
	"net.ipv4.tcp_allowed_congestion_control", "net.ipv4.tcp_app_win", "net.ipv4.tcp_autocorking",
	"net.ipv4.tcp_available_congestion_control", "net.ipv4.tcp_base_mss", "net.ipv4.tcp_comp_sack_delay_ns",
	"net.ipv4.tcp_comp_sack_nr", "net.ipv4.tcp_comp_sack_slack_ns", "net.ipv4.tcp_congestion_control",
	"net.ipv4.tcp_dsack", "net.ipv4.tcp_early_demux", "net.ipv4.tcp_early_retrans",
	"net.ipv4.tcp_ecn_fallback", "net.ipv4.tcp_ecn_option", "net.ipv4.tcp_ecn_option_beacon",
	"net.ipv4.tcp_fack", "net.ipv4.tcp_fastopen_blackhole_timeout_sec",
	"net.ipv4.tcp_frto", "net.ipv4.tcp_fwmark_accept",
	"net.ipv4.tcp_invalid_ratelimit", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_l3mdev_accept", "net.ipv4.tcp_limit_output_bytes",
	"net.ipv4.tcp_low_latency", "net.ipv4.tcp_max_orphans", "net.ipv4.tcp_max_reordering",
	"net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_mem", "net.ipv4.tcp_min_rtt_wlen",
	"net.ipv4.tcp_min_snd_mss", "net.ipv4.tcp_min_tso_segs", "net.ipv4.tcp_moderate_rcvbuf",
	"net.ipv4.tcp_mtu_probe_floor", "net.ipv4.tcp_mtu_probing", "net.ipv4.tcp_no_metrics_save",
	"net.ipv4.tcp_no_ssthresh_metrics_save", "net.ipv4.tcp_orphan_retries",
	"net.ipv4.tcp_pacing_ca_ratio", "net.ipv4.tcp_pacing_ss_ratio", "net.ipv4.tcp_probe_interval",
	"net.ipv4.tcp_probe_threshold", "net.ipv4.tcp_recovery", "net.ipv4.tcp_reflect_tos",
	"net.ipv4.tcp_reordering", "net.ipv4.tcp_retrans_collapse", "net.ipv4.tcp_retries1",
	"net.ipv4.tcp_rfc1337", "net.ipv4.tcp_shrink_window",
	"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_stdurg", "net.ipv4.tcp_thin_linear_timeouts",
	"net.ipv4.tcp_tso_rtt_log", "net.ipv4.tcp_tso_win_divisor", "net.ipv4.tcp_tw_reuse",
	"net.ipv4.tcp_workaround_signed_windows", "net.ipv4.tcp_plb_enabled",
	"net.ipv4.tcp_backlog_ack_defer", "net.ipv4.tcp_pingpong_thresh", "net.ipv4.tcp_rto_min_us",
	"net.ipv4.tcp_rto_max_ms", "net.ipv4.tcp_fastopen_cookies",
};

/*
 * "4096 131072 6291456": up to three numbers, as proc_dointvec takes an
 * array (fewer change only the first ones). cfg is unchanged on error.
 */
static int apply_array(struct stack_config *cfg, const struct knob *k, const char *name, const char *val,
		       char *err, size_t errlen)
{
	uint32_t *dst = (uint32_t *)(void *)((char *)cfg + k->off), v[3];
	const char *p = val;
	int n = 0, i;

	for (;;) {
		char *end;
		long x;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		errno = 0;
		x = strtol(p, &end, 10);
		if (end == p || errno || x < k->min || x > k->max || n == 3 || (*end && *end != ' ' && *end != '\t')) {
			snprintf(err, errlen, "--sysctl %s: value must be up to 3 whole numbers from %ld to %ld, not '%s'",
				 name, k->min, k->max, val);
			return -1;
		}
		v[n++] = (uint32_t)x;
		p = end;
	}
	if (n == 0) {
		snprintf(err, errlen, "--sysctl %s: value must be up to 3 whole numbers, not '%s'", name, val);
		return -1;
	}
	for (i = 0; i < n; i++)
		dst[i] = v[i];
	return 0;
}

/*
 * "a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4", as proc_tcp_fastopen_key()
 * takes it (a second key after a comma is the backup; only the primary is
 * kept). cfg is unchanged on error.
 */
static int apply_key(struct stack_config *cfg, const struct knob *k, const char *name, const char *val,
		     char *err, size_t errlen)
{
	uint32_t *dst = (uint32_t *)(void *)((char *)cfg + k->off), w[4];
	const char *p = val;
	int i;

	for (i = 0; i < 4; i++) {
		char *end;
		unsigned long x;

		errno = 0;
		x = strtoul(p, &end, 16);
		if (end == p || end - p > 8 || errno || (i < 3 && *end != '-') || (i == 3 && *end && *end != ','))
			break;
		w[i] = (uint32_t)x;
		p = end + 1;
	}
	if (i < 4) {
		snprintf(err, errlen, "--sysctl %s: value must be four groups of up to 8 hex digits joined by '-', not '%s'",
			 name, val);
		return -1;
	}
	memcpy(dst, w, sizeof(w));
	return 0;
}

static void normalize(const char *in, char *out, size_t len)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < len; i++)
		out[i] = in[i] == '/' ? '.' : in[i];
	out[i] = '\0';
}

int sysctl_apply(struct stack_config *cfg, const char *assignment, char *err, size_t errlen)
{
	int rc = sysctl_profile_apply(cfg, assignment, err, errlen);

	if (rc > 0) {
		snprintf(err, errlen, "--sysctl: '%.*s' is a Linux knob the stack does not model", (int)strcspn(assignment, "="),
			 assignment);
		return -1;
	}
	return rc;
}

int sysctl_profile_apply(struct stack_config *cfg, const char *assignment, char *err, size_t errlen)
{
	const char *eq = strchr(assignment, '=');
	char name[96], *end;
	size_t i, n;
	long v;

	if (!eq || eq == assignment) {
		snprintf(err, errlen, "--sysctl needs NAME=VALUE, not '%s'", assignment);
		return -1;
	}
	n = (size_t)(eq - assignment);
	if (n >= sizeof(name)) {
		snprintf(err, errlen, "--sysctl: name too long in '%s'", assignment);
		return -1;
	}
	memcpy(name, assignment, n);
	name[n] = '\0';
	normalize(name, name, sizeof(name));
	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		if (strcmp(knobs[i].name, name) != 0)
			continue;
		if (knobs[i].count == 3)
			return apply_array(cfg, &knobs[i], name, eq + 1, err, errlen);
		if (knobs[i].count == 4)
			return apply_key(cfg, &knobs[i], name, eq + 1, err, errlen);
		/* proc_dointvec reads 0x... and 0... as C does */
		errno = 0;
		v = strtol(eq + 1, &end, 0);
		if (eq[1] == '\0' || *end || errno || v < knobs[i].min || v > knobs[i].max) {
			snprintf(err, errlen, "--sysctl %s: value must be a whole number from %ld to %ld, not '%s'",
				 name, knobs[i].min, knobs[i].max, eq + 1);
			return -1;
		}
		if (knobs[i].is_u32)
			*(uint32_t *)(void *)((char *)cfg + knobs[i].off) = (uint32_t)v;
		else
			*(int *)(void *)((char *)cfg + knobs[i].off) = (int)v;
		return 0;
	}
	for (i = 0; i < sizeof(linux_only) / sizeof(linux_only[0]); i++)
		if (strcmp(linux_only[i], name) == 0)
			return 1;
	snprintf(err, errlen, "--sysctl: '%s' is not a knob the stack models (see tcpdemux replay --help)",
		 name);
	return -1;
}

/* term_wrap's put: a continuation line gets the description's indent again. */
static void put_what(void *ctx, const char *p, size_t n, int cont)
{
	fprintf(ctx, "%s%.*s\n", cont ? "      " : "", (int)n, p);
}

/*
 * A knob's name and default on one line, its description wrapped beneath:
 * the names and defaults (up to "4096 131072 6291456") leave too little
 * of 80 columns for a description column beside them.
 */
void sysctl_list(FILE *out)
{
	struct stack_config d;
	size_t i;

	stack_config_init(&d);
	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		const void *v = (const char *)&d + knobs[i].off;
		char def[40];

		if (knobs[i].count == 3)
			snprintf(def, sizeof(def), "\"%u %u %u\"", ((const uint32_t *)v)[0], ((const uint32_t *)v)[1],
				 ((const uint32_t *)v)[2]);
		else if (knobs[i].count == 4)
			snprintf(def, sizeof(def), "seeded");
		else if (knobs[i].is_u32)
			snprintf(def, sizeof(def), "%u", *(const uint32_t *)v);
		else
			snprintf(def, sizeof(def), "%d", *(const int *)v);
		char what[128];
		int n;

		fprintf(out, "  %s  default %s\n", knobs[i].name, def);
		n = snprintf(what, sizeof(what), "      %s", knobs[i].what);
		term_wrap(what, (size_t)n, 80, 6, put_what, out);
	}
}
