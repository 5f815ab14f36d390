/*
 * help.c - the usage and help texts of tcpdemux: each command's --help,
 * the topics of `tcpdemux help TOPIC` and the exit statuses.
 *
 * Path: main() -> help_command() (tcpdemux help TOPIC), and
 *       main() -> cmd_X() -> cli_parse_run_opts() -> help_print_usage()
 *       (tcpdemux COMMAND --help).
 *
 * Texts only: it runs nothing, so it calls nothing in main.c or options.c.
 */
#include <stdio.h>
#include <string.h>

#include "help.h"
#include "script.h"
#include "sysctl.h"
#include "term.h"

const char help_usage_main[] =
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

const char help_usage_script[] =
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

const char help_usage_synth[] =
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

const char help_usage_live[] =
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

const char help_usage_replay[] =
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
	"  --threads 1|2         read and decode the capture on a second thread while\n"
	"                        the stack runs on this one (2; a plain pcap file\n"
	"                        on disk only), or all on one (1, the default). The\n"
	"                        output is the same; the time is less on a large\n"
	"                        server capture with a core to spare, and can be\n"
	"                        more on others (docs/replay.md)\n"
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

const char help_usage_demo[] =
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
void help_print_usage(const char *usage)
{
	size_t i;

	fputs(usage, stdout);
	if (usage == help_usage_replay) {
		puts("\nknobs for --sysctl:");
		sysctl_list(stdout);
	}
	if (usage == help_usage_script)
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

/* What `tcpdemux help TOPIC` knows. */
static const struct help_topic {
	const char *name;
	const char *text;
} help_topics[] = {
	{ "demo", help_usage_demo },
	{ "replay", help_usage_replay },
	{ "script", help_usage_script },
	{ "synth", help_usage_synth },
	{ "live", help_usage_live },
	{ "formats", help_formats },
	{ "filters", help_filters },
	{ "sysctl", NULL },
	{ "exit", help_exit },
};

/* tcpdemux help [TOPIC]: 0, or 2 with the topics named for one it does not know. */
int help_command(int argc, char **argv)
{
	size_t i, n = sizeof(help_topics) / sizeof(help_topics[0]);

	if (argc < 2) {
		fputs(help_usage_main, stdout);
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
			help_print_usage(help_topics[i].text);
		}
		return 0;
	}
	fprintf(stderr, "tcpdemux: no help on '%s' (topics:", argv[1]);
	for (i = 0; i < n; i++)
		fprintf(stderr, " %s", help_topics[i].name);
	fputs(")\n", stderr);
	return EXIT_USAGE;
}
