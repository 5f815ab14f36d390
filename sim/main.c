/*
 * main.c - the tcpdemux command line.
 *
 * Path: argv -> a command (demo, ...) -> its driver -> the stack ->
 *       events -> a renderer (text or JSON Lines) on stdout.
 *
 * Exit status: 0 success, 1 a check failed, 2 bad input or usage.
 * Errors are one line on stderr naming what was wrong.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server_app.h"
#include "demo.h"
#include "emit.h"
#include "live.h"
#include "capture_point.h"
#include "replay.h"
#include "script.h"
#include "synth.h"
#include "sysctl.h"
#include "render.h"
#include "stack.h"
#include "term.h"

#define TCPDEMUX_VERSION "0.1.0"
#define EXIT_CHECK 1
#define EXIT_USAGE 2

static const char usage_main[] =
	"usage: tcpdemux COMMAND [options]\n"
	"\n"
	"Shows how a TCP stack (modelled on Linux 6.x) demultiplexes segments:\n"
	"which table each segment is looked up in, which socket it reaches, and\n"
	"what happens to the SYN and accept queues.\n"
	"\n"
	"commands:\n"
	"  demo [NAME]   run a built-in demonstration (no NAME: list them)\n"
	"  replay FILE   replay a pcap/pcapng capture of a server through the stack\n"
	"  script FILE   run a packetdrill-syntax scenario against the stack\n"
	"  synth         generate traffic: clients, a SYN flood or a hash flood\n"
	"  live          real clients through a TUN device, on the real clock (root)\n"
	"  help [TOPIC]  show help on a command, or on formats, filters, sysctl,\n"
	"                exit (the exit statuses)\n"
	"\n"
	"options:\n"
	"  -h, --help    show this help\n"
	"  --version     show the version\n"
	"\n"
	"Run 'tcpdemux COMMAND --help' for a command's options.\n"
	"Exit status: 0 success, 1 a check failed, 2 bad input or usage.\n";

static const char usage_script[] =
	"usage: tcpdemux script FILE.pkt [options]\n"
	"\n"
	"Runs a scenario written in packetdrill's script language against the stack,\n"
	"on the virtual clock: system calls with their expected results, segments fed\n"
	"in (<) and segments the stack must send (>). docs/scripts.md describes the\n"
	"subset understood. Exit status: 0 every expectation held, 1 one did not\n"
	"(FILE:LINE says which), 2 the file is not valid syntax.\n"
	"\n"
	"options:\n"
	"  --sysctl NAME=VALUE   set a kernel knob before the script runs (repeatable)\n"
	"  --quiet               print nothing but errors\n"
	"  --verbose             also list the knobs a script's profile sets that the\n"
	"                        stack does not model\n"
	"  --format text|json    the trace's format (default text)\n"
	"  --hash-seed N, --buckets N, --color, --no-color, --step, --slides,\n"
	"  --pace SECONDS, --options, --annotate OUT.pcapng, --html OUT.html,\n"
	"  --plot OUT.svg\n"
	"                        as for demo\n"
	"  -h, --help            show this help\n"
	"packetdrill's options (also as header lines of a script; '-' or '_'):\n";

static const char usage_synth[] =
	"usage: tcpdemux synth (--clients N | --syn-flood N | --hash-flood N) [options]\n"
	"\n"
	"Makes traffic up and feeds it into a server stack, showing every segment's\n"
	"lookup as replay does, then a summary with the ehash's chain lengths, the\n"
	"SYN queue's peak and the process's peak memory.\n"
	"\n"
	"  --clients N           N clients: handshake, a request, a response, close,\n"
	"                        from 64 addresses in 10.1.0.0/24\n"
	"    --rate R            new clients per second (default 1000)\n"
	"    --data BYTES        request and response size (default 100)\n"
	"    --concurrent C      clients open at once at most (default 100)\n"
	"  --syn-flood N         N SYNs from random spoofed sources (198.18.0.0/15) that\n"
	"                        never complete; --rate R SYNs per second\n"
	"                        (default 100000)\n"
	"  --hash-flood N        N connections whose 4-tuples share one ehash bucket\n"
	"                        under hash seed 1: with --hash-seed 1 every lookup walks\n"
	"                        a chain of N; with any other (or a random) seed the\n"
	"                        chain falls apart, which is why the kernel keeps its\n"
	"                        seed secret\n"
	"\n"
	"  --listen ADDR:PORT[,backlog=N][,reuseport=N]   (default 10.0.0.1:80)\n"
	"  --sysctl NAME=VALUE   --accept immediate|never|every=MS   as for replay\n"
	"  --seed N              fix the generator's choices (and the hash seed, unless\n"
	"                        --hash-seed is given): the same seed, the same run\n"
	"  --write OUT.pcap      record what the server saw and sent, for replay\n"
	"  --tables[=end], --quiet, --nstat, --format text|json, --hash-seed N,\n"
	"  --buckets N, --color, --no-color, --step, --slides, --pace SECONDS,\n"
	"  --options, --annotate OUT.pcapng, --html OUT.html, --plot OUT.svg\n"
	"                        as for replay\n"
	"  -h, --help            show this help\n";

static const char usage_live[] =
	"usage: tcpdemux live [--tun NAME] [--addr ADDR/PREFIX]\n"
	"                     [--listen ADDR:PORT[,backlog=N]]\n"
	"                     [--app echo|http|discard|never] [options]\n"
	"\n"
	"Creates a TUN device, gives the kernel an address on it and routes the\n"
	"subnet to it, and runs the stack behind it on the real clock: real clients\n"
	"(curl, nc, Python sockets) on this machine connect to the stack, and the\n"
	"trace shows every lookup as it happens. Ctrl-C (or SIGTERM) prints the\n"
	"summary and removes the device. Needs root (CAP_NET_ADMIN); best run in a\n"
	"network namespace of its own (tools/live-demo.sh, docs/live.md).\n"
	"\n"
	"options:\n"
	"  --tun NAME            the device to create (default tcpdemux0); refused if\n"
	"                        a device of that name exists\n"
	"  --addr ADDR/PREFIX    the stack's address and subnet (default 10.9.0.1/24;\n"
	"                        one IPv4 and one IPv6 may be given, e.g. fd09::1/64);\n"
	"                        refused if the subnet is already routed\n"
	"  --peer ADDR           the kernel's address on the device, in that subnet\n"
	"                        (default: the address after the stack's); clients\n"
	"                        connect from it\n"
	"  --listen ADDR:PORT[,backlog=N][,reuseport=N]\n"
	"                        a listening socket (repeatable; default port 80 on\n"
	"                        every --addr, backlog net.core.somaxconn)\n"
	"  --app NAME            what the application does with accepted connections:\n"
	"                        echo (default: sends every byte back, closes when the\n"
	"                        client does), http (one-line HTTP/1.1 answer, then\n"
	"                        close: curl works), discard (reads, closes when the\n"
	"                        client does), never (never accepts: the queues fill)\n"
	"  --accept immediate|never|every=MS\n"
	"                        when the application calls accept() (default\n"
	"                        immediate; never with --app never)\n"
	"  --connect ADDR:PORT   also open a connection from the stack to a server of\n"
	"                        the kernel's (repeatable): it sends an HTTP/1.0\n"
	"                        request and reads the answer\n"
	"  --duration SECONDS    stop after SECONDS, as on Ctrl-C (default: run until\n"
	"                        stopped)\n"
	"  --write OUT.pcap      record every packet that crosses the device, both ways\n"
	"  --sysctl NAME=VALUE   a kernel knob, as for replay (repeatable)\n"
	"  --tables[=end], --quiet, --nstat, --format text|json, --hash-seed N,\n"
	"  --buckets N, --max-sockets N, --color, --no-color, --annotate OUT.pcapng,\n"
	"  --html OUT.html, --plot OUT.svg   as for replay (written when the run stops)\n"
	"  -h, --help            show this help\n"
	"\n"
	"Exit status: 0 stopped by a signal or --duration; 2 bad usage, or the\n"
	"environment does not allow it (no permission for /dev/net/tun, the device\n"
	"name in use, the subnet already routed): one line says which, and nothing\n"
	"is left configured.\n";

static const char usage_replay[] =
	"usage: tcpdemux replay FILE [EXPRESSION] [options]\n"
	"       tcpdemux replay -r FILE [options] [EXPRESSION]\n"
	"\n"
	"Replays a capture made on a server (tcpdump, Wireshark: pcap or pcapng,\n"
	"gzip-compressed or not; FILE - reads standard input) through the stack.\n"
	"Segments to the local host are fed in at their recorded times; the local\n"
	"host's own segments become the application's calls (send, shutdown,\n"
	"connect). For every inbound segment it shows the table searched, the\n"
	"socket found and what the stack did. docs/replay.md describes the model.\n"
	"\n"
	"EXPRESSION is a tcpdump filter (pcap-filter(7)), e.g. 'tcp port 80': the\n"
	"frames it does not match are counted and not replayed. Its words may be\n"
	"given as one argument or several, as to tcpdump.\n"
	"\n"
	"options:\n"
	"  -r FILE               the capture, as tcpdump -r takes it\n"
	"  --local ADDR          an address of the recorded host (repeatable); default:\n"
	"                        the hosts that answer SYNs with SYN-ACK or RST\n"
	"  --listen ADDR:PORT[,backlog=N][,reuseport=N]\n"
	"                        a listening socket (repeatable; [v6addr]:port; 0.0.0.0\n"
	"                        or [::] for a wildcard bind; reuseport=N opens N\n"
	"                        SO_REUSEPORT listeners); default: inferred from the\n"
	"                        SYN-ACKs, with backlog net.core.somaxconn\n"
	"  --verify-checksums    drop segments with bad checksums, as a kernel would\n"
	"                        (off by default: captures carry offload artefacts)\n"
	"  --tables[=end]        print the tables (in ss -tan's columns) after every\n"
	"                        inbound segment, or once at the end\n"
	"  --quiet               print only the summary\n"
	"  --nstat               end with the counters as nstat -az prints them, in\n"
	"                        place of the summary (with --format json: an \"nstat\"\n"
	"                        line before it), to diff against a server's\n"
	"  --write OUT.pcap      write every segment the stack sent to a pcap file\n"
	"  --sysctl NAME=VALUE   set a kernel knob (repeatable), e.g.\n"
	"                        net.ipv4.tcp_syncookies=2; the list is below\n"
	"  --accept immediate|never|every=MS\n"
	"                        when the application calls accept() (default\n"
	"                        immediate: as soon as a connection is queued)\n"
	"  --verify              compare the stack's segments with the ones the\n"
	"                        recorded host sent; exit 1 unless every control\n"
	"                        segment (SYN, FIN, RST) agrees (docs/linux-fidelity.md)\n"
	"  --capture-point auto|server|client\n"
	"                        where the capture was taken: on the server (no\n"
	"                        delay), on the client (each connection's inbound\n"
	"                        segments delayed by its SYN->SYN-ACK time, to when\n"
	"                        the server got them), or auto (default: decided per\n"
	"                        connection from its handshake; docs/replay.md)\n"
	"  --format text|json    output format (default text); json is JSON Lines\n"
	"  --hash-seed N         fix the hash seed (default: random per run)\n"
	"  --buckets N           ehash buckets, a power of two, fixed (default: 65536,\n"
	"                        doubled whenever the table holds more than two\n"
	"                        entries per bucket, up to 16777216)\n"
	"  --color, --no-color   force colour on or off (default: on for a terminal)\n"
	"  --max-sockets N       at most N sockets at once, as for demo\n"
	"  --step, --slides, --pace SECONDS, --options\n"
	"                        one step at a time, as for demo\n"
	"  --annotate OUT.pcapng the capture again for Wireshark: every frame as\n"
	"                        recorded and every segment the stack sent, each\n"
	"                        with a comment on how it was demultiplexed (with\n"
	"                        --verify, whether the kernel agreed)\n"
	"  --html OUT.html, --plot OUT.svg   the page and the queue plot, as for demo\n"
	"                        (both also with --quiet)\n"
	"  -h, --help            show this help\n";

static const char usage_demo[] =
	"usage: tcpdemux demo [NAME] [options]\n"
	"\n"
	"Without NAME, lists the demos. With NAME, prints what to watch for, then\n"
	"runs the demo: every segment the server receives, the lookup path it took,\n"
	"what the stack did, and the tables after it.\n"
	"\n"
	"options:\n"
	"  --format text|json   output format (default text); json is JSON Lines,\n"
	"                       described in docs/json.md\n"
	"  --hash-seed N        fix the hash seed (default: random per run); the\n"
	"                       same seed gives the same run, byte for byte\n"
	"  --buckets N          ehash buckets, a power of two from 1 to 16777216\n"
	"                       (default 65536; try 8 to see chains)\n"
	"  --color, --no-color  force colour on or off (default: on for a terminal)\n"
	"  --verbose            say the hash seed on stderr\n"
	"  --max-sockets N      at most N sockets, requests and TIME_WAIT entries at\n"
	"                       once (default 4194304); past it new connections are\n"
	"                       refused and counted (SocketLimit)\n"
	"  --step               one step at a time (each segment, timer and call, in\n"
	"                       the order they happened): after each, what changed,\n"
	"                       then wait for a key (Enter next, c continue, t tables,\n"
	"                       g N run on to segment N, q quit); needs a terminal\n"
	"  --slides             one screen per step, for a projector: cleared first,\n"
	"                       fitted to the terminal's size, the lookup path drawn,\n"
	"                       ss-style tables with the changed rows marked; keys\n"
	"                       Enter or Space next, b back, g N segment N, q quit\n"
	"  --pace SECONDS       with --slides: the next screen after SECONDS by itself\n"
	"  --options            with --slides: show TS values and TCP options too\n"
	"  --annotate OUT.pcapng  also write the run for Wireshark: every segment,\n"
	"                       each with a comment saying how it was demultiplexed\n"
	"                       (docs/wireshark.md)\n"
	"  --html OUT.html      also write one self-contained page: a ladder of the\n"
	"                       segments, each one's lookup path, the tables at every\n"
	"                       step, the queues over time (OUT.html#step=N opens at\n"
	"                       segment N)\n"
	"  --plot OUT.svg       also write each listener's SYN and accept queue depth\n"
	"                       over time as an SVG picture\n"
	"  -h, --help           show this help\n";

static const char help_formats[] =
	"Capture formats that tcpdemux replay reads\n"
	"\n"
	"Files: pcap (microsecond or nanosecond timestamps, either byte order) and\n"
	"pcapng, each of them plain or gzip-compressed (FILE.pcap.gz: no need to\n"
	"unpack it). FILE - reads standard input, compressed or not.\n"
	"\n"
	"Link types:\n"
	"  EN10MB            Ethernet, with 802.1Q/802.1ad VLAN tags, MPLS label stacks\n"
	"                    and PPPoE session frames inside\n"
	"  LINUX_SLL, LINUX_SLL2\n"
	"                    Linux cooked capture (tcpdump -i any)\n"
	"  RAW, IPV4, IPV6   raw IP\n"
	"  NULL, LOOP        BSD loopback\n"
	"  PPP, PPP_SERIAL, PPP_PPPD, PPP_WITH_DIR, PPP_ETHER, C_HDLC\n"
	"                    PPP (HDLC framing or not), PPPoE without Ethernet,\n"
	"                    Cisco HDLC\n"
	"  IEEE802_11, IEEE802_11_RADIO, PPI\n"
	"                    802.11 data frames with LLC/SNAP, bare or behind radiotap or\n"
	"                    PPI; encrypted frames are counted as wlan_protected\n"
	"\n"
	"A pcapng with interfaces of several link types (dumpcap -i eth0 -i any) is\n"
	"read one link type at a time and merged back in file order; this needs a\n"
	"file, not standard input, and every interface described before the first\n"
	"packet. Otherwise split it by interface with Wireshark's tools:\n"
	"  tshark -r FILE -Y 'frame.interface_id == N' -w - | \\\n"
	"    editcap -F pcap -T ENCAP - ifN.pcap\n"
	"(ENCAP: ether, linux-sll, linux-sll2, rawip, ...; editcap -T lists them).\n"
	"\n"
	"A frame cut by the snap length is replayed as far as it was captured: the\n"
	"ports, numbers and flags must be there; missing options, window or payload\n"
	"are marked in the trace ([snaplen cut: ...]) and counted. docs/replay.md\n"
	"has the details.\n";

static const char help_filters[] =
	"Filters: tcpdemux replay FILE EXPRESSION, tcpdemux replay -r FILE EXPRESSION\n"
	"\n"
	"EXPRESSION is a tcpdump filter (pcap-filter(7)), compiled by libpcap for the\n"
	"file's link type: only the frames it matches are replayed; the others are\n"
	"counted ('dropped by the filter', JSON \"filtered\") and never decoded. Its\n"
	"words may be one argument or several, as with tcpdump:\n"
	"  tcpdemux replay server.pcap 'tcp port 443'\n"
	"  tcpdemux replay -r server.pcap.gz tcp port 80 and host 10.0.0.7\n"
	"Frame numbers stay the file's (Wireshark's), and time 0 is the file's first\n"
	"frame, filtered or not. A filter that hides the server's SYN-ACKs hides what\n"
	"tells which host is local: name it with --local. A bad expression gets\n"
	"libpcap's reason and exit status 2.\n";

static const char help_exit[] =
	"Exit statuses of tcpdemux\n"
	"  0  success\n"
	"  1  a check failed: replay --verify found a control segment (SYN, FIN, RST)\n"
	"     the stack sent differently from the recorded kernel; a script's\n"
	"     expectation did not hold\n"
	"  2  bad input, unsupported input or usage: one line on stderr says which\n";

/* term_wrap's put: a continuation line starts under the option's description. */
static void put_optdef(void *ctx, const char *p, size_t n, int cont)
{
	(void)ctx;
	printf("%*s%.*s\n", cont ? 25 : 0, "", (int)n, p);
}

/* A command's --help text; replay's ends with the --sysctl knobs. */
static void print_usage(const char *usage)
{
	size_t i;

	fputs(usage, stdout);
	if (usage == usage_replay) {
		puts("\nknobs for --sysctl:");
		sysctl_list(stdout);
	}
	if (usage == usage_script)
		for (i = 0; script_optdefs[i].name; i++) {
			char line[256];
			int n = snprintf(line, sizeof(line), "  --%s%-*s %s", script_optdefs[i].name,
					 (int)(20 - strlen(script_optdefs[i].name)),
					 script_optdefs[i].has_value ? "=N" : "", script_optdefs[i].help);

			/* the descriptions are written for one line; --help fits 80 columns */
			term_wrap(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1, 80, 25, put_optdef,
				  NULL);
		}
}

struct run_opts {
	int buckets_given; /* --buckets on the command line */
	uint32_t max_sockets;
	int verbose;
	int step;
	int slides;       /* --slides */
	int options;      /* --options (with --slides) */
	double pace;      /* --pace SECONDS (with --slides), 0 none */
	int json;
	int color;
	int seed_set;
	uint32_t seed;
	uint32_t buckets;
	int nstat;        /* --nstat: the counters as nstat -az prints them, for the summary */
	struct view_opts views; /* --annotate, --html, --plot */
};

/* "tcpdemux demo two-clients --hash-seed 1 ...": the page's title (main() fills it). */
static char command_line[1024];

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > 0xffffffffull)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/*
 * A seed nobody chose; TCPDEMUX_HASH_SEED names it instead (--slides runs
 * the program again with it to go back: the same seed, the same run).
 */
static uint32_t random_seed(void)
{
	uint32_t seed = 0;
	const char *env = getenv("TCPDEMUX_HASH_SEED");
	FILE *f;

	if (env && parse_u32(env, &seed) == 0)
		return seed;
	f = fopen("/dev/urandom", "rb");

	if (!f || fread(&seed, sizeof(seed), 1, f) != 1)
		seed = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
	if (f)
		fclose(f);
	return seed;
}

enum {
	OPT_FORMAT = 256, OPT_SEED, OPT_BUCKETS, OPT_COLOR, OPT_NO_COLOR, OPT_STEP, OPT_MAX_SOCKETS,
	OPT_VERBOSE, OPT_SLIDES, OPT_PACE, OPT_OPTIONS, OPT_NSTAT, OPT_ANNOTATE, OPT_HTML, OPT_PLOT,
	OPT_LOCAL, OPT_LISTEN, OPT_VERIFY_CSUM, OPT_TABLES, OPT_QUIET, OPT_WRITE,
	OPT_SYSCTL, OPT_ACCEPT, OPT_VERIFY, OPT_CAPTURE_POINT,
	OPT_CLIENTS, OPT_SYN_FLOOD, OPT_HASH_FLOOD, OPT_RATE, OPT_DATA, OPT_CONCURRENT, OPT_GEN_SEED,
	OPT_TUN, OPT_ADDR, OPT_PEER, OPT_APP, OPT_CONNECT, OPT_DURATION,
	OPT_PACKETDRILL, /* + the index in script_optdefs: keep it last */
};

/* Options every command that runs the stack takes. */
static const struct option common_longopts[] = {
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "hash-seed", required_argument, NULL, OPT_SEED },
	{ "buckets", required_argument, NULL, OPT_BUCKETS },
	{ "color", no_argument, NULL, OPT_COLOR },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ "step", no_argument, NULL, OPT_STEP },
	{ "slides", no_argument, NULL, OPT_SLIDES },
	{ "pace", required_argument, NULL, OPT_PACE },
	{ "options", no_argument, NULL, OPT_OPTIONS },
	{ "max-sockets", required_argument, NULL, OPT_MAX_SOCKETS },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "nstat", no_argument, NULL, OPT_NSTAT },
	{ "annotate", required_argument, NULL, OPT_ANNOTATE },
	{ "html", required_argument, NULL, OPT_HTML },
	{ "plot", required_argument, NULL, OPT_PLOT },
	{ "help", no_argument, NULL, 'h' },
};

static const struct option demo_longopts[] = {
	{ NULL, 0, NULL, 0 },
};

static const struct option replay_longopts[] = {
	{ "local", required_argument, NULL, OPT_LOCAL },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "verify-checksums", no_argument, NULL, OPT_VERIFY_CSUM },
	{ "tables", optional_argument, NULL, OPT_TABLES },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "write", required_argument, NULL, OPT_WRITE },
	{ "sysctl", required_argument, NULL, OPT_SYSCTL },
	{ "accept", required_argument, NULL, OPT_ACCEPT },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "capture-point", required_argument, NULL, OPT_CAPTURE_POINT },
	{ NULL, 0, NULL, 0 },
};

/* script's own options, then packetdrill's in both spellings (script_longopts_init()). */
static struct option script_longopts[48] = {
	{ "sysctl", required_argument, NULL, OPT_SYSCTL },
	{ "quiet", no_argument, NULL, OPT_QUIET },
};

static const struct option synth_longopts[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "sysctl", required_argument, NULL, OPT_SYSCTL },
	{ "accept", required_argument, NULL, OPT_ACCEPT },
	{ "tables", optional_argument, NULL, OPT_TABLES },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "write", required_argument, NULL, OPT_WRITE },
	{ "clients", required_argument, NULL, OPT_CLIENTS },
	{ "syn-flood", required_argument, NULL, OPT_SYN_FLOOD },
	{ "hash-flood", required_argument, NULL, OPT_HASH_FLOOD },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "data", required_argument, NULL, OPT_DATA },
	{ "concurrent", required_argument, NULL, OPT_CONCURRENT },
	{ "seed", required_argument, NULL, OPT_GEN_SEED },
	{ NULL, 0, NULL, 0 },
};

static const struct option live_longopts[] = {
	{ "tun", required_argument, NULL, OPT_TUN },
	{ "addr", required_argument, NULL, OPT_ADDR },
	{ "peer", required_argument, NULL, OPT_PEER },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "app", required_argument, NULL, OPT_APP },
	{ "accept", required_argument, NULL, OPT_ACCEPT },
	{ "connect", required_argument, NULL, OPT_CONNECT },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "write", required_argument, NULL, OPT_WRITE },
	{ "sysctl", required_argument, NULL, OPT_SYSCTL },
	{ "tables", optional_argument, NULL, OPT_TABLES },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ NULL, 0, NULL, 0 },
};

/*
 * Says what is wrong with the option getopt_long() refused (c is ':' for
 * a missing value, '?' otherwise; optopt a short option's letter, a long
 * option's code, or 0 for a long name it does not know): one line naming
 * the option as written, without its value.
 */
static void bad_option(int c, const char *arg, const struct option *all)
{
	char name[64], list[256] = "";
	size_t nl;
	int i, n = 0;

	snprintf(name, sizeof(name), "%s", arg);
	if (strncmp(name, "--", 2) == 0)
		name[strcspn(name, "=")] = '\0';
	if (c == ':') {
		if (optopt > 0 && optopt < 128)
			fprintf(stderr, "tcpdemux: option '-%c' needs a value (see --help)\n", optopt);
		else
			fprintf(stderr, "tcpdemux: option '%s' needs a value (see --help)\n", name);
		return;
	}
	if (optopt > 0 && optopt < 128) {
		fprintf(stderr, "tcpdemux: option '-%c' is not known here (see --help)\n", optopt);
		return;
	}
	if (optopt >= 256) {
		fprintf(stderr, "tcpdemux: option '%s' takes no value, not '%s' (see --help)\n", name,
			strchr(arg, '=') ? strchr(arg, '=') + 1 : "");
		return;
	}
	/* getopt_long() takes unambiguous abbreviations: a name two options begin with is refused. */
	nl = strlen(name + 2);
	for (i = 0; nl && all[i].name; i++)
		if (strncmp(all[i].name, name + 2, nl) == 0 && strlen(list) + strlen(all[i].name) + 5 < sizeof(list)) {
			strcat(list, n++ ? ", --" : "--");
			strcat(list, all[i].name);
		}
	if (n > 1)
		fprintf(stderr, "tcpdemux: option '%s' is ambiguous: %s (see --help)\n", name, list);
	else
		fprintf(stderr, "tcpdemux: option '%s' is not known here (see --help)\n", name);
}

/* A command's own option: returns 0 when taken, -1 (message printed) when bad. */
typedef int (*extra_opt_fn)(void *ctx, int opt, const char *arg);

/*
 * Parses the options shared by commands that run the stack, handing the
 * others (and the short options in shortopts, besides -h) to extra.
 * Returns 0, 1 (help shown) or -1 (message printed).
 */
static int parse_run_opts(int argc, char **argv, struct run_opts *o, const char *usage,
			  const char *shortopts, const struct option *longopts, extra_opt_fn extra, void *ctx)
{
	char optstring[16];
	struct option all[64];
	size_t nc = sizeof(common_longopts) / sizeof(common_longopts[0]), n = 0;
	int c;

	/* The command's own options, then the common ones and the terminator. */
	while (longopts[n].name && n + nc + 1 < sizeof(all) / sizeof(all[0])) {
		all[n] = longopts[n];
		n++;
	}
	memcpy(all + n, common_longopts, sizeof(common_longopts));
	memset(&all[n + nc], 0, sizeof(all[0]));
	memset(o, 0, sizeof(*o));
	o->color = -1;
	o->buckets = 65536;
	opterr = 0;
	optind = 1;
	/* A leading ':' makes a missing value ':' and tells it from an unknown option ('?'). */
	snprintf(optstring, sizeof(optstring), ":h%s", shortopts ? shortopts : "");
	while ((c = getopt_long(argc, argv, optstring, all, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			if (strcmp(optarg, "json") == 0) {
				o->json = 1;
			} else if (strcmp(optarg, "text") != 0) {
				fprintf(stderr, "tcpdemux: --format must be text or json, not '%s'\n", optarg);
				return -1;
			}
			break;
		case OPT_SEED:
			if (parse_u32(optarg, &o->seed) < 0) {
				fprintf(stderr, "tcpdemux: --hash-seed needs a number from 0 to 4294967295, not '%s'\n",
					optarg);
				return -1;
			}
			o->seed_set = 1;
			break;
		case OPT_BUCKETS:
			if (parse_u32(optarg, &o->buckets) < 0 || o->buckets == 0 ||
			    (o->buckets & (o->buckets - 1)) || o->buckets > (1u << 24)) {
				fprintf(stderr, "tcpdemux: --buckets needs a power of two from 1 to 16777216, not '%s'\n",
					optarg);
				return -1;
			}
			o->buckets_given = 1;
			break;
		case OPT_COLOR:
			o->color = 1;
			break;
		case OPT_STEP:
			o->step = 1;
			break;
		case OPT_SLIDES:
			o->slides = 1;
			break;
		case OPT_OPTIONS:
			o->options = 1;
			break;
		case OPT_PACE: {
			char *end;

			o->pace = strtod(optarg, &end);
			if (end == optarg || *end || !(o->pace > 0) || o->pace > 3600) {
				fprintf(stderr, "tcpdemux: --pace needs seconds between 0 and 3600 (e.g. 5 or 2.5), not '%s'\n",
					optarg);
				return -1;
			}
			break;
		}
		case OPT_VERBOSE:
			o->verbose = 1;
			break;
		case OPT_NSTAT:
			o->nstat = 1;
			break;
		case OPT_MAX_SOCKETS:
			if (parse_u32(optarg, &o->max_sockets) < 0 || o->max_sockets == 0) {
				fprintf(stderr, "tcpdemux: --max-sockets needs a positive count, not '%s'\n", optarg);
				return -1;
			}
			break;
		case OPT_NO_COLOR:
			o->color = 0;
			break;
		case OPT_ANNOTATE:
			o->views.annotate = optarg;
			break;
		case OPT_HTML:
			o->views.html = optarg;
			break;
		case OPT_PLOT:
			o->views.plot = optarg;
			break;
		case 'h':
			print_usage(usage);
			return 1;
		case '?':
		case ':':
			bad_option(c, argv[optind - 1], all);
			return -1;
		default:
			if (!extra || extra(ctx, c, optarg) < 0)
				return -1;
			break;
		}
	}
	if (!o->seed_set)
		o->seed = random_seed();
	/* The seed keys the hash an attacker must not know; said only when asked. */
	if (o->verbose)
		fprintf(stderr, "tcpdemux: hash seed %u (--hash-seed %u repeats this run)\n", o->seed, o->seed);
	if ((o->step || o->slides) && o->json) {
		fprintf(stderr, "tcpdemux: %s shows the text trace; it does not go with --format json\n",
			o->step ? "--step" : "--slides");
		return -1;
	}
	if (o->step && o->slides) {
		fprintf(stderr, "tcpdemux: --step and --slides are two ways to step through a run: choose one\n");
		return -1;
	}
	if ((o->pace > 0 || o->options) && !o->slides) {
		fprintf(stderr, "tcpdemux: %s goes with --slides\n", o->pace > 0 ? "--pace" : "--options");
		return -1;
	}
	if (o->color < 0)
		o->color = !o->json && isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	return 0;
}

/* The trace's renderer: JSON Lines, text, or text one step at a time. NULL (message printed) on failure. */
/* The stack settings every command takes from the common options. */
static void run_opts_config(const struct run_opts *ro, struct stack_config *cfg)
{
	cfg->hash_seed = ro->seed;
	cfg->ehash_buckets = ro->buckets;
	if (ro->max_sockets)
		cfg->max_sockets = ro->max_sockets;
}

/* --step and --slides pause on output that --quiet suppresses. Returns 1 (message printed) when both are given. */
static int step_and_quiet(const struct run_opts *ro, int quiet)
{
	if (!quiet || !(ro->step || ro->slides))
		return 0;
	fprintf(stderr, "tcpdemux: %s and --quiet contradict each other\n", ro->step ? "--step" : "--slides");
	return 1;
}

/*
 * The command line as given, for --slides to run again (cmd_demo() moves
 * argv's entries); NULL-terminated, or main_argc 0 when it was too long
 * to keep (then --slides cannot go back).
 */
static char *main_argv[256];
static int main_argc;

/*
 * trace with the views the options ask for beside it (render_with_views):
 * trace itself when none is asked for, NULL (message printed, trace
 * destroyed) when a view's file cannot be made. verify: the run compares
 * with a recorded host (the annotations wait for its verdicts).
 */
static struct renderer *with_views(struct run_opts *ro, struct renderer *trace, int quiet, int verify)
{
	char err[600];
	struct renderer *r;

	if (!render_views_wanted(&ro->views))
		return trace;
	ro->views.verify = verify;
	ro->views.command = command_line;
	r = render_with_views(trace, quiet, &ro->views, err, sizeof(err));
	if (!r)
		fprintf(stderr, "tcpdemux: %s\n", err);
	return r;
}

static struct renderer *make_renderer(const struct run_opts *ro);

/*
 * The renderers of a run whose --quiet keeps only the summary (replay,
 * synth, live): *trace gets the run's records (NULL: nobody needs them),
 * *summary the summary and is the one to destroy. The views see every
 * record, with --quiet too. Returns 0, or -1 (message printed).
 */
static int quiet_renderers(struct run_opts *ro, int quiet, int verify, struct renderer **trace,
			   struct renderer **summary)
{
	struct renderer *r = make_renderer(ro);

	if (!r)
		return -1;
	*trace = quiet ? NULL : r;
	if (render_views_wanted(&ro->views)) {
		r = *trace = with_views(ro, r, quiet, verify);
		if (!r)
			return -1;
	}
	*summary = r;
	return 0;
}

static struct renderer *make_renderer(const struct run_opts *ro)
{
	struct renderer *r;
	char err[160];

	if (ro->step || ro->slides) {
		struct slides_opts so = { ro->color, ro->options, ro->pace, main_argc ? main_argv : NULL };

		r = ro->step ? render_step_new(ro->color, err, sizeof(err)) : render_slides_new(&so, err, sizeof(err));
		if (!r)
			fprintf(stderr, "tcpdemux: %s\n", err);
		return r;
	}
	r = ro->json ? render_json_new(stdout) : render_text_new(stdout, ro->color);
	if (r && ro->nstat) {
		struct renderer *n = render_nstat_new(r, stdout, ro->json);

		if (!n)
			r->ops->destroy(r);
		r = n;
	}
	if (!r)
		fprintf(stderr, "tcpdemux: out of memory\n");
	return r;
}

static int cmd_demo(int argc, char **argv)
{
	struct run_opts ro;
	struct demo_opts d;
	const struct demo *demo;
	const char *name = NULL;
	char err[256];
	int r, i;

	/* The demo name may come before or after the options. */
	if (argc > 1 && argv[1][0] != '-') {
		name = argv[1];
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	r = parse_run_opts(argc, argv, &ro, usage_demo, NULL, demo_longopts, NULL, NULL);
	if (r)
		return r > 0 ? 0 : EXIT_USAGE;
	if (!name && optind < argc)
		name = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "tcpdemux: demo: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (!name) {
		puts("demos (run one with: tcpdemux demo NAME):");
		for (i = 0; demo_catalogue[i]; i++)
			printf("  %-12s %s\n", demo_catalogue[i]->name, demo_catalogue[i]->summary);
		return 0;
	}
	demo = demo_find(name);
	if (!demo) {
		fprintf(stderr, "tcpdemux: no demo called '%s' (run 'tcpdemux demo' for the list)\n", name);
		return EXIT_USAGE;
	}
	memset(&d, 0, sizeof(d));
	stack_config_init(&d.cfg);
	run_opts_config(&ro, &d.cfg);
	if (demo_check(demo, &d, err, sizeof(err)) < 0) {
		fprintf(stderr, "tcpdemux: %s\n", err);
		return EXIT_USAGE;
	}
	d.r = make_renderer(&ro);
	if (d.r)
		d.r = with_views(&ro, d.r, 0, 0);
	if (!d.r)
		return EXIT_USAGE;
	emit_begin(d.r, RUN_DEMO, demo->name, demo->summary, demo->watch, ro.seed);
	r = demo_run(demo, &d);
	fflush(stdout);
	d.r->ops->destroy(d.r);
	if (ro.views.failed)
		return EXIT_USAGE;
	if (r < 0) {
		fprintf(stderr, "tcpdemux: demo %s failed: %s\n", demo->name, strerror(-r));
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * "ADDR:PORT" ("[v6addr]:PORT"). Returns 0, or -1 with what is wrong in
 * err, naming the bad part ("port 99999 is not from 1 to 65535").
 */
static int parse_endpoint_why(const char *text, struct ip_addr *addr, uint16_t *port, char *err,
			      size_t errlen)
{
	char host[ADDR_STRLEN + 2];
	const char *colon, *whole = text;
	uint32_t v;
	size_t hl;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close) {
			snprintf(err, errlen, "'%s' has no closing ']'", text);
			return -1;
		}
		colon = close[1] == ':' ? close + 1 : NULL;
		hl = (size_t)(close - text - 1);
		text++;
	} else {
		colon = strrchr(text, ':');
		if (colon && strchr(text, ':') != colon) {
			/* Several colons: an IPv6 address, whose own colons hide the port's. */
			struct ip_addr a6;

			hl = (size_t)(colon - text);
			if (hl < sizeof(host)) {
				memcpy(host, text, hl);
				host[hl] = '\0';
			}
			/* "::1:80": the last group taken for the port only if what is left is an address. */
			if (colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1) && hl < sizeof(host) &&
			    addr_parse(host, &a6) == 0)
				snprintf(err, errlen, "an IPv6 address goes in brackets, as in [%s]:%s", host, colon + 1);
			else
				snprintf(err, errlen, "an IPv6 address goes in brackets, as in [%s]:PORT", text);
			return -1;
		}
		hl = colon ? (size_t)(colon - text) : strlen(text);
	}
	if (!colon) {
		snprintf(err, errlen, "'%s' has no :PORT", whole);
		return -1;
	}
	if (hl == 0 || hl >= sizeof(host)) {
		snprintf(err, errlen, "no address before ':%s'", colon + 1);
		return -1;
	}
	memcpy(host, text, hl);
	host[hl] = '\0';
	if (addr_parse(host, addr) < 0) {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", host);
		return -1;
	}
	if (parse_u32(colon + 1, &v) < 0 || v == 0 || v > 65535) {
		snprintf(err, errlen, "port '%s' is not a number from 1 to 65535", colon + 1);
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

/* "ADDR:PORT[,backlog=N][,reuseport=N]". Returns 0, or -1 with the bad part named in err. */
static int parse_listen(const char *arg, struct replay_listen *l, char *err, size_t errlen)
{
	char buf[256], *opt, *save = NULL;
	uint32_t v;

	if (strlen(arg) >= sizeof(buf)) {
		snprintf(err, errlen, "too long");
		return -1;
	}
	strcpy(buf, arg);
	opt = strtok_r(buf, ",", &save);
	if (!opt) {
		snprintf(err, errlen, "no ADDR:PORT");
		return -1;
	}
	if (parse_endpoint_why(opt, &l->addr, &l->port, err, errlen) < 0)
		return -1;
	l->backlog = -1;
	l->reuseport = 0;
	while ((opt = strtok_r(NULL, ",", &save)) != NULL) {
		if (strncmp(opt, "backlog=", 8) == 0) {
			if (parse_u32(opt + 8, &v) < 0 || v > 0x7fffffff) {
				snprintf(err, errlen, "backlog '%s' is not a number from 0 to 2147483647", opt + 8);
				return -1;
			}
			l->backlog = (int)v;
		} else if (strncmp(opt, "reuseport=", 10) == 0) {
			if (parse_u32(opt + 10, &v) < 0 || v < 1 || v > 64) {
				snprintf(err, errlen, "reuseport '%s' is not a number of listeners from 1 to 64",
					 opt + 10);
				return -1;
			}
			l->reuseport = (int)v;
		} else {
			snprintf(err, errlen, "'%s' is not a setting it takes", opt);
			return -1;
		}
	}
	return 0;
}

struct replay_cli {
	struct replay_opts o;
	int quiet;
	const char *read_file; /* -r FILE */
};

/* One line for an option that another makes meaningless; the run goes on without it. */
static void warn_ignored(const char *opt, const char *with, const char *why)
{
	fprintf(stderr, "tcpdemux: warning: %s is ignored with %s: %s\n", opt, with, why);
}

/* --tables with --quiet: the tables are trace output, and --quiet keeps only the summary. */
static void warn_quiet_tables(const struct replay_cli *rc)
{
	if (rc->quiet && rc->o.tables)
		warn_ignored("--tables", "--quiet", "only the summary is printed");
}

static int replay_opt(void *ctx, int opt, const char *arg)
{
	struct replay_cli *cli = ctx;
	struct replay_opts *o = &cli->o;

	switch (opt) {
	case OPT_LOCAL:
		if (o->nlocal >= REPLAY_MAX_LOCAL || addr_parse(arg, &o->local[o->nlocal]) < 0) {
			fprintf(stderr, "tcpdemux: --local needs an IPv4 or IPv6 address, not '%s'\n", arg);
			return -1;
		}
		o->nlocal++;
		return 0;
	case OPT_LISTEN: {
		char why[160];

		if (o->nlisten >= REPLAY_MAX_LISTEN) {
			fprintf(stderr, "tcpdemux: --listen %s: at most %d --listen options\n", arg, REPLAY_MAX_LISTEN);
			return -1;
		}
		if (parse_listen(arg, &o->listen[o->nlisten], why, sizeof(why)) < 0) {
			fprintf(stderr, "tcpdemux: --listen %s: %s (ADDR:PORT[,backlog=N][,reuseport=N])\n", arg, why);
			return -1;
		}
		o->nlisten++;
		return 0;
	}
	case OPT_VERIFY_CSUM:
		o->verify_checksums = 1;
		return 0;
	case OPT_TABLES:
		if (!arg || strcmp(arg, "every") == 0) {
			o->tables = 1;
		} else if (strcmp(arg, "end") == 0) {
			o->tables = 2;
		} else {
			fprintf(stderr, "tcpdemux: --tables takes no value or =end, not '%s'\n", arg);
			return -1;
		}
		return 0;
	case OPT_QUIET:
		cli->quiet = 1;
		return 0;
	case OPT_WRITE:
		o->write_path = arg;
		return 0;
	case OPT_SYSCTL: {
		char err[256];

		if (sysctl_apply(&o->cfg, arg, err, sizeof(err)) < 0) {
			fprintf(stderr, "tcpdemux: %s\n", err);
			return -1;
		}
		return 0;
	}
	case OPT_ACCEPT: {
		uint32_t ms;

		o->accept_given = 1;
		if (strcmp(arg, "immediate") == 0) {
			o->accept_mode = ACCEPT_IMMEDIATE;
		} else if (strcmp(arg, "never") == 0) {
			o->accept_mode = ACCEPT_NEVER;
		} else if (strncmp(arg, "every=", 6) == 0 && parse_u32(arg + 6, &ms) == 0 && ms > 0) {
			o->accept_mode = ACCEPT_EVERY;
			o->accept_every = (vtime_t)ms * VT_MSEC;
		} else {
			fprintf(stderr, "tcpdemux: --accept takes immediate, never or every=MS (MS > 0), not '%s'\n",
				arg);
			return -1;
		}
		return 0;
	}
	case OPT_VERIFY:
		o->verify = 1;
		return 0;
	case OPT_CAPTURE_POINT:
		if (strcmp(arg, "auto") == 0) {
			o->capture_point = CAPTURE_AUTO;
		} else if (strcmp(arg, "server") == 0) {
			o->capture_point = CAPTURE_SERVER;
		} else if (strcmp(arg, "client") == 0) {
			o->capture_point = CAPTURE_CLIENT;
		} else {
			fprintf(stderr, "tcpdemux: --capture-point takes auto, server or client, not '%s'\n", arg);
			return -1;
		}
		return 0;
	case 'r':
		if (cli->read_file) {
			fprintf(stderr, "tcpdemux: -r names the capture once, not '%s' and '%s'\n", cli->read_file,
				arg);
			return -1;
		}
		cli->read_file = arg;
		return 0;
	default:
		return -1;
	}
}

/*
 * The words of a tcpdump expression, joined by spaces as tcpdump joins
 * them. Returns a string to free, NULL for no words, or NULL with *oom set.
 */
static char *join_words(char **w, int n, int *oom)
{
	size_t len = 1;
	char *s;
	int i;

	*oom = 0;
	if (n <= 0)
		return NULL;
	for (i = 0; i < n; i++)
		len += strlen(w[i]) + 1;
	s = malloc(len);
	if (!s) {
		*oom = 1;
		return NULL;
	}
	s[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, w[i]);
	}
	return s;
}

static int cmd_replay(int argc, char **argv)
{
	struct run_opts ro;
	struct replay_cli cli;
	struct replay_opts *o = &cli.o;
	struct renderer *r;
	char *filter;
	int st, oom;

	memset(&cli, 0, sizeof(cli));
	stack_config_init(&o->cfg);
	st = parse_run_opts(argc, argv, &ro, usage_replay, "r:", replay_longopts, replay_opt, &cli);
	if (st)
		return st > 0 ? 0 : EXIT_USAGE;
	if (cli.read_file) {
		o->file = cli.read_file;
	} else if (optind < argc) {
		o->file = argv[optind++];
	} else {
		fprintf(stderr, "tcpdemux: replay needs a capture file (see tcpdemux replay --help)\n");
		return EXIT_USAGE;
	}
	filter = join_words(argv + optind, argc - optind, &oom);
	if (oom) {
		fprintf(stderr, "tcpdemux: out of memory\n");
		return EXIT_USAGE;
	}
	o->filter = filter;
	if (step_and_quiet(&ro, cli.quiet)) {
		free(filter);
		return EXIT_USAGE;
	}
	warn_quiet_tables(&cli);
	if (cli.quiet)
		o->tables = 0;
	run_opts_config(&ro, &o->cfg);
	/* A capture's size is unknown: the table grows unless --buckets fixes it. */
	o->cfg.ehash_grow = !ro.buckets_given;
	if (quiet_renderers(&ro, cli.quiet, o->verify, &o->r, &o->summary_r) < 0) {
		free(filter);
		return EXIT_USAGE;
	}
	r = o->summary_r;
	emit_begin(r, RUN_REPLAY, o->file, NULL, NULL, ro.seed);
	st = replay_run(o);
	r->ops->destroy(r);
	free(filter);
	return ro.views.failed ? EXIT_USAGE : st;
}

struct script_cli {
	struct script_opts o;
	int quiet;
};

/* Fills script_longopts past its own entries with packetdrill's options, '_' and '-' spellings. */
static void script_longopts_init(void)
{
	static char dashed[24][32];
	size_t n = 0, i, j;

	while (script_longopts[n].name)
		n++;
	for (i = 0; script_optdefs[i].name && i < sizeof(dashed) / sizeof(dashed[0]) &&
		    n + 3 < sizeof(script_longopts) / sizeof(script_longopts[0]); i++) {
		int has = script_optdefs[i].has_value ? required_argument : no_argument;

		script_longopts[n++] = (struct option){ script_optdefs[i].name, has, NULL, OPT_PACKETDRILL + (int)i };
		snprintf(dashed[i], sizeof(dashed[i]), "%s", script_optdefs[i].name);
		for (j = 0; dashed[i][j]; j++)
			if (dashed[i][j] == '_')
				dashed[i][j] = '-';
		if (strcmp(dashed[i], script_optdefs[i].name) != 0)
			script_longopts[n++] = (struct option){ dashed[i], has, NULL, OPT_PACKETDRILL + (int)i };
	}
	memset(&script_longopts[n], 0, sizeof(script_longopts[n]));
}

static int script_opt(void *ctx, int opt, const char *arg)
{
	struct script_cli *cli = ctx;
	char err[256];

	switch (opt) {
	case OPT_SYSCTL:
		if (sysctl_apply(&cli->o.cfg, arg, err, sizeof(err)) < 0) {
			fprintf(stderr, "tcpdemux: %s\n", err);
			return -1;
		}
		return 0;
	case OPT_QUIET:
		cli->quiet = 1;
		return 0;
	case 'D':
		if (script_option(&cli->o, "define", arg, err, sizeof(err)) < 0) {
			fprintf(stderr, "tcpdemux: %s\n", err);
			return -1;
		}
		return 0;
	default:
		if (opt < OPT_PACKETDRILL)
			return -1;
		if (script_option(&cli->o, script_optdefs[opt - OPT_PACKETDRILL].name, arg, err, sizeof(err)) < 0) {
			fprintf(stderr, "tcpdemux: %s\n", err);
			return -1;
		}
		return 0;
	}
}

static int cmd_script(int argc, char **argv)
{
	struct run_opts ro;
	struct script_cli cli;
	struct renderer *r = NULL;
	int st;

	memset(&cli, 0, sizeof(cli));
	script_opts_init(&cli.o);
	script_longopts_init();
	/* -D NAME=VALUE: packetdrill's short spelling of --define */
	st = parse_run_opts(argc, argv, &ro, usage_script, "D:", script_longopts, script_opt, &cli);
	if (st)
		return st > 0 ? 0 : EXIT_USAGE;
	if (optind + 1 != argc) {
		fprintf(stderr, "tcpdemux: script needs exactly one FILE.pkt (see tcpdemux script --help)\n");
		return EXIT_USAGE;
	}
	cli.o.file = argv[optind];
	if (step_and_quiet(&ro, cli.quiet))
		return EXIT_USAGE;
	cli.o.verbose = ro.verbose;
	run_opts_config(&ro, &cli.o.cfg);
	if (!cli.quiet) {
		r = make_renderer(&ro);
		if (!r)
			return EXIT_USAGE;
	}
	if (render_views_wanted(&ro.views) && !(r = with_views(&ro, r, cli.quiet, 0)))
		return EXIT_USAGE;
	cli.o.r = r;
	emit_begin(r, RUN_SCRIPT, cli.o.file, NULL, NULL, ro.seed);
	st = script_run(&cli.o);
	if (r)
		r->ops->destroy(r);
	return ro.views.failed ? EXIT_USAGE : st;
}

struct synth_cli {
	struct replay_cli rc; /* --listen, --sysctl, --accept, --tables, --write, --quiet */
	struct synth_opts o;
	int seed_set;
	int data_set;         /* --data was given (it means something only with --clients) */
};

static int synth_opt(void *ctx, int opt, const char *arg)
{
	struct synth_cli *cli = ctx;
	uint32_t v;

	switch (opt) {
	case OPT_CLIENTS:
	case OPT_SYN_FLOOD:
	case OPT_HASH_FLOOD:
		if (cli->o.mode) {
			fprintf(stderr, "tcpdemux: synth takes one of --clients, --syn-flood, --hash-flood\n");
			return -1;
		}
		if (parse_u32(arg, &v) < 0 || v == 0 || (opt == OPT_HASH_FLOOD && v > 1000000)) {
			fprintf(stderr, "tcpdemux: --%s needs a count from 1 to %s, not '%s'\n",
				opt == OPT_CLIENTS ? "clients" : opt == OPT_SYN_FLOOD ? "syn-flood" : "hash-flood",
				opt == OPT_HASH_FLOOD ? "1000000" : "4294967295", arg);
			return -1;
		}
		cli->o.mode = opt == OPT_CLIENTS ? SYNTH_CLIENTS : opt == OPT_SYN_FLOOD ? SYNTH_SYN_FLOOD : SYNTH_HASH_FLOOD;
		cli->o.count = v;
		return 0;
	case OPT_RATE: {
		char *end;
		double r = strtod(arg, &end);

		if (end == arg || (*end && strcmp(end, "/s") != 0) || !(r > 0) || r > 1e9) {
			fprintf(stderr, "tcpdemux: --rate needs a positive number per second (e.g. 5000 or 5000/s), not '%s'\n",
				arg);
			return -1;
		}
		cli->o.rate = r;
		return 0;
	}
	case OPT_DATA:
		if (parse_u32(arg, &v) < 0 || v > (1u << 20)) {
			fprintf(stderr, "tcpdemux: --data needs bytes from 0 to 1048576, not '%s'\n", arg);
			return -1;
		}
		cli->o.data = v;
		cli->data_set = 1;
		return 0;
	case OPT_CONCURRENT:
		if (parse_u32(arg, &v) < 0 || v == 0) {
			fprintf(stderr, "tcpdemux: --concurrent needs a positive count, not '%s'\n", arg);
			return -1;
		}
		cli->o.concurrent = v;
		return 0;
	case OPT_GEN_SEED:
		if (parse_u32(arg, &v) < 0) {
			fprintf(stderr, "tcpdemux: --seed needs a number from 0 to 4294967295, not '%s'\n", arg);
			return -1;
		}
		cli->o.seed = v;
		cli->seed_set = 1;
		return 0;
	default:
		return replay_opt(&cli->rc, opt, arg);
	}
}

static int cmd_synth(int argc, char **argv)
{
	struct run_opts ro;
	struct synth_cli cli;
	struct synth_opts *o = &cli.o;
	struct renderer *r;
	int st, i;

	memset(&cli, 0, sizeof(cli));
	stack_config_init(&cli.rc.o.cfg);
	o->data = 100;
	o->concurrent = 100;
	st = parse_run_opts(argc, argv, &ro, usage_synth, NULL, synth_longopts, synth_opt, &cli);
	if (st)
		return st > 0 ? 0 : EXIT_USAGE;
	if (optind < argc) {
		fprintf(stderr, "tcpdemux: synth: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (!o->mode) {
		fprintf(stderr, "tcpdemux: synth needs --clients N, --syn-flood N or --hash-flood N (see --help)\n");
		return EXIT_USAGE;
	}
	if (step_and_quiet(&ro, cli.rc.quiet))
		return EXIT_USAGE;
	if (!o->rate)
		o->rate = o->mode == SYNTH_CLIENTS ? 1000 : 100000;
	o->cfg = cli.rc.o.cfg;
	o->nlisten = cli.rc.o.nlisten;
	for (i = 0; i < o->nlisten; i++)
		o->listen[i] = cli.rc.o.listen[i];
	o->accept_mode = cli.rc.o.accept_mode;
	o->accept_every = cli.rc.o.accept_every;
	o->write_path = cli.rc.o.write_path;
	warn_quiet_tables(&cli.rc);
	if (cli.data_set && o->mode != SYNTH_CLIENTS)
		warn_ignored("--data", o->mode == SYNTH_SYN_FLOOD ? "--syn-flood" : "--hash-flood",
			     "its SYNs never complete a handshake, so nothing is sent or received");
	o->tables = cli.rc.quiet ? 0 : cli.rc.o.tables;
	if (!cli.seed_set)
		o->seed = ro.seed_set ? ro.seed : ro.seed ^ 0x6a09e667u;
	run_opts_config(&ro, &o->cfg);
	o->cfg.hash_seed = ro.seed_set ? ro.seed : cli.seed_set ? o->seed * 0x9e3779b1u : ro.seed;
	if (quiet_renderers(&ro, cli.rc.quiet, 0, &o->r, &o->summary_r) < 0)
		return EXIT_USAGE;
	r = o->summary_r;
	emit_begin(r, RUN_SYNTH, NULL, NULL, NULL, o->cfg.hash_seed);
	st = synth_run(o);
	r->ops->destroy(r);
	return ro.views.failed ? EXIT_USAGE : st;
}

struct live_cli {
	struct replay_cli rc; /* --listen, --sysctl, --accept, --tables, --write, --quiet */
	struct live_opts o;
	struct ip_addr addr[LIVE_MAX_NETS], peer[LIVE_MAX_NETS];
	int prefix[LIVE_MAX_NETS];
	int naddr, npeer, accept_set;
};

static int live_opt(void *ctx, int opt, const char *arg)
{
	struct live_cli *cli = ctx;
	struct live_opts *o = &cli->o;
	char buf[128], *slash;
	uint32_t v;

	switch (opt) {
	case OPT_TUN:
		o->dev = arg;
		return 0;
	case OPT_ADDR:
		snprintf(buf, sizeof(buf), "%s", arg);
		slash = strchr(buf, '/');
		if (slash)
			*slash++ = '\0';
		if (cli->naddr >= LIVE_MAX_NETS || strlen(arg) >= sizeof(buf) ||
		    addr_parse(buf, &cli->addr[cli->naddr]) < 0 || (slash && parse_u32(slash, &v) < 0)) {
			fprintf(stderr, "tcpdemux: --addr needs ADDR/PREFIX (10.9.0.1/24, fd09::1/64; at most %d), not '%s'\n",
				LIVE_MAX_NETS, arg);
			return -1;
		}
		cli->prefix[cli->naddr] = slash ? (int)(v > 128 ? 129 : v)
						: cli->addr[cli->naddr].family == ADDR_V4 ? 24 : 64;
		cli->naddr++;
		return 0;
	case OPT_PEER:
		if (cli->npeer >= LIVE_MAX_NETS || addr_parse(arg, &cli->peer[cli->npeer]) < 0) {
			fprintf(stderr, "tcpdemux: --peer needs an address, not '%s'\n", arg);
			return -1;
		}
		cli->npeer++;
		return 0;
	case OPT_APP:
		o->app = server_app_parse(arg);
		if (o->app < 0) {
			fprintf(stderr, "tcpdemux: --app takes echo, http, discard or never, not '%s'\n", arg);
			return -1;
		}
		return 0;
	case OPT_CONNECT:
		if (o->nconnect >= LIVE_MAX_CONNECT ||
		    endpoint_parse(arg, &o->connect_addr[o->nconnect], &o->connect_port[o->nconnect]) < 0 ||
		    o->connect_port[o->nconnect] == 0) {
			fprintf(stderr, "tcpdemux: --connect needs ADDR:PORT ([v6addr]:port; at most %d), not '%s'\n",
				LIVE_MAX_CONNECT, arg);
			return -1;
		}
		o->nconnect++;
		return 0;
	case OPT_DURATION: {
		char *end;
		double d = strtod(arg, &end);

		if (end == arg || *end || !(d > 0) || d > 1e6) {
			fprintf(stderr, "tcpdemux: --duration needs a number of seconds above 0, not '%s'\n", arg);
			return -1;
		}
		o->duration = (vtime_t)(d * (double)VT_SEC);
		return 0;
	}
	case OPT_ACCEPT:
		cli->accept_set = 1;
		return replay_opt(&cli->rc, opt, arg);
	default:
		return replay_opt(&cli->rc, opt, arg);
	}
}

/* The --addr nets with their kernel addresses, and the default listeners. Returns 0 or -1 (message printed). */
static int live_nets(struct live_cli *cli)
{
	struct live_opts *o = &cli->o;
	char err[256];
	int i, j;

	if (!cli->naddr) {
		cli->addr[0] = addr_v4(0x0a090001); /* 10.9.0.1/24 */
		cli->prefix[0] = 24;
		cli->naddr = 1;
	}
	for (i = 0; i < cli->naddr; i++) {
		const struct ip_addr *peer = NULL;

		for (j = 0; j < i; j++)
			if (cli->addr[j].family == cli->addr[i].family) {
				fprintf(stderr, "tcpdemux: --addr: one IPv4 and one IPv6 subnet at most\n");
				return -1;
			}
		for (j = 0; j < cli->npeer; j++)
			if (cli->peer[j].family == cli->addr[i].family)
				peer = &cli->peer[j];
		if (tun_net_make(&o->nets[i], &cli->addr[i], cli->prefix[i], peer, err, sizeof(err)) < 0) {
			fprintf(stderr, "tcpdemux: %s\n", err);
			return -1;
		}
	}
	o->nnets = cli->naddr;
	for (j = 0; j < cli->npeer; j++) {
		for (i = 0; i < o->nnets; i++)
			if (addr_equal(&o->nets[i].kernel, &cli->peer[j]))
				break;
		if (i == o->nnets) {
			fprintf(stderr, "tcpdemux: --peer: no --addr of the same family for it\n");
			return -1;
		}
	}
	return 0;
}

static int cmd_live(int argc, char **argv)
{
	struct run_opts ro;
	struct live_cli *cli = calloc(1, sizeof(*cli));
	struct live_opts *o;
	struct renderer *r;
	int st, i;

	if (!cli) {
		fprintf(stderr, "tcpdemux: out of memory\n");
		return EXIT_USAGE;
	}
	o = &cli->o;
	stack_config_init(&cli->rc.o.cfg);
	o->dev = "tcpdemux0";
	o->app = SERVER_APP_ECHO;
	st = parse_run_opts(argc, argv, &ro, usage_live, NULL, live_longopts, live_opt, cli);
	if (st == 0 && optind < argc) {
		fprintf(stderr, "tcpdemux: live: unexpected argument '%s'\n", argv[optind]);
		st = -1;
	}
	if (st == 0 && (ro.step || ro.slides)) {
		fprintf(stderr, "tcpdemux: %s does not go with live: real clients do not wait for a key\n",
			ro.step ? "--step" : "--slides");
		st = -1;
	}
	if (st == 0 && o->app == SERVER_APP_NEVER && cli->accept_set && cli->rc.o.accept_mode != ACCEPT_NEVER) {
		fprintf(stderr, "tcpdemux: --app never never calls accept(); it does not go with --accept immediate or every=MS\n");
		st = -1;
	}
	if (st == 0 && live_nets(cli) < 0)
		st = -1;
	if (st) {
		free(cli);
		return st > 0 ? 0 : EXIT_USAGE;
	}
	o->cfg = cli->rc.o.cfg;
	o->nlisten = cli->rc.o.nlisten;
	for (i = 0; i < o->nlisten; i++)
		o->listen[i] = cli->rc.o.listen[i];
	if (!o->nlisten) {
		for (i = 0; i < o->nnets; i++) {
			o->listen[i].addr = o->nets[i].stack;
			o->listen[i].port = 80;
			o->listen[i].backlog = -1;
			o->listen[i].reuseport = 0;
		}
		o->nlisten = o->nnets;
	}
	o->accept_mode = o->app == SERVER_APP_NEVER ? ACCEPT_NEVER : cli->rc.o.accept_mode;
	o->accept_every = cli->rc.o.accept_every;
	o->write_path = cli->rc.o.write_path;
	warn_quiet_tables(&cli->rc);
	o->tables = cli->rc.quiet ? 0 : cli->rc.o.tables;
	run_opts_config(&ro, &o->cfg);
	if (quiet_renderers(&ro, cli->rc.quiet, 0, &o->r, &o->summary_r) < 0) {
		free(cli);
		return EXIT_USAGE;
	}
	r = o->summary_r;
	emit_begin(r, RUN_LIVE, o->dev, NULL, NULL, ro.seed);
	st = live_run(o);
	r->ops->destroy(r);
	free(cli);
	return ro.views.failed ? EXIT_USAGE : st;
}

/* What `tcpdemux help TOPIC` knows. */
static const struct help_topic {
	const char *name;
	const char *text;
} help_topics[] = {
	{ "demo", usage_demo },
	{ "replay", usage_replay },
	{ "script", usage_script },
	{ "synth", usage_synth },
	{ "live", usage_live },
	{ "formats", help_formats },
	{ "filters", help_filters },
	{ "sysctl", NULL },
	{ "exit", help_exit },
};

/* tcpdemux help [TOPIC]: 0, or 2 with the topics named for one it does not know. */
static int cmd_help(int argc, char **argv)
{
	size_t i, n = sizeof(help_topics) / sizeof(help_topics[0]);

	if (argc < 2) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (argc > 2) {
		fprintf(stderr, "tcpdemux: help takes one topic, not '%s' and '%s'\n", argv[1], argv[2]);
		return EXIT_USAGE;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(argv[1], help_topics[i].name) != 0)
			continue;
		if (!help_topics[i].text) {
			puts("Kernel knobs that --sysctl NAME=VALUE sets (replay, script, synth, live):");
			sysctl_list(stdout);
		} else {
			print_usage(help_topics[i].text);
		}
		return 0;
	}
	fprintf(stderr, "tcpdemux: no help on '%s' (topics:", argv[1]);
	for (i = 0; i < n; i++)
		fprintf(stderr, " %s", help_topics[i].name);
	fputs(")\n", stderr);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	const char *cmd;
	size_t n = 0;
	int i;

	/* The page's title: the command as typed, without the program's path. */
	for (i = 0; i < argc && n + 1 < sizeof(command_line); i++)
		n += (size_t)snprintf(command_line + n, sizeof(command_line) - n, "%s%s", i ? " " : "",
				      i ? argv[i] : "tcpdemux");

	if (argc < 2) {
		fputs(usage_main, stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (argc < (int)(sizeof(main_argv) / sizeof(main_argv[0]))) {
		memcpy(main_argv, argv, (size_t)argc * sizeof(*main_argv));
		main_argc = argc;
	}
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("tcpdemux %s\n", TCPDEMUX_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0)
		return cmd_help(argc - 1, argv + 1);
	if (cmd[0] == '-') {
		fprintf(stderr, "tcpdemux: unknown option '%s' (options go after the command: see tcpdemux --help)\n",
			cmd);
		return EXIT_USAGE;
	}
	if (strcmp(cmd, "demo") == 0)
		return cmd_demo(argc - 1, argv + 1);
	if (strcmp(cmd, "replay") == 0)
		return cmd_replay(argc - 1, argv + 1);
	if (strcmp(cmd, "script") == 0)
		return cmd_script(argc - 1, argv + 1);
	if (strcmp(cmd, "synth") == 0)
		return cmd_synth(argc - 1, argv + 1);
	if (strcmp(cmd, "live") == 0)
		return cmd_live(argc - 1, argv + 1);
	fprintf(stderr, "tcpdemux: unknown command '%s' (see tcpdemux --help)\n", cmd);
	return EXIT_USAGE;
}
