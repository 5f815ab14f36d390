#!/usr/bin/env bash
# Records small pcap captures of the real Linux kernel's TCP behaviour, the
# reference tcpdemux is measured against. Everything runs between two network
# namespaces made for the run and joined by a veth pair, so no packet leaves
# this machine. Usage: traces/capture.sh --help
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
readonly PYTHON=/usr/bin/python3   # Debian's own interpreter, not a pyenv shim
readonly PEER="$HERE/peer.py"
# The PID in the names lets two runs (or a stale one) coexist.
readonly SRV_NS="tcpdemux-$$-srv"
readonly CLI_NS="tcpdemux-$$-cli"
readonly SRV_IF=srv0
readonly CLI_IF=cli0
# Fixed MACs keep the Ethernet headers identical from one run to the next.
readonly SRV_MAC=02:00:00:00:00:01
readonly CLI_MAC=02:00:00:00:00:02
# The probe is a UDP datagram to a port nobody listens on; it marks "the
# capture is live" and "everything before me has been captured".
readonly PROBE_PORT=9

readonly SCENARIOS=(handshake-data-close two-clients closed-port ipv6 any-sll2)

describe() {
	case $1 in
	handshake-data-close) echo "10.0.0.2:40000 -> 10.0.0.1:80: handshake, request, reply, server closes first" ;;
	two-clients) echo "10.0.0.2:1234, 10.0.0.3:5678, 10.0.0.2:1235 -> 10.0.0.1:80, all open at once; nanosecond timestamps" ;;
	closed-port) echo "10.0.0.2:40001 -> 10.0.0.1:81, nothing listens: SYN answered by RST|ACK" ;;
	ipv6) echo "[fd00::2]:40002 -> [fd00::1]:80: handshake, request, reply, close over IPv6" ;;
	any-sll2) echo "as handshake-data-close, captured with tcpdump -i any (link type LINUX_SLL2)" ;;
	*) return 1 ;;
	esac
}

usage() {
	cat <<EOF
Usage: sudo traces/capture.sh [--help] [SCENARIO...]

Captures real Linux TCP traffic between two throw-away network namespaces
and writes traces/SCENARIO.pcap for each scenario (all of them by default).

Scenarios:
EOF
	local s
	for s in "${SCENARIOS[@]}"; do
		printf '  %-22s %s\n' "$s" "$(describe "$s")"
	done
	cat <<EOF

Needs root, ip (iproute2), tcpdump and /usr/bin/python3:
  apt-get install iproute2 tcpdump python3
ethtool is used if present to turn checksum offload off; without it the same
is done through peer.py's SIOCETHTOOL ioctl.
EOF
}

die() {
	echo "capture.sh: $*" >&2
	exit 1
}

selected=()
for arg in "$@"; do
	case $arg in
	-h | --help)
		usage
		exit 0
		;;
	-*)
		echo "capture.sh: unknown option: $arg (see --help)" >&2
		exit 2
		;;
	*)
		if ! describe "$arg" >/dev/null; then
			echo "capture.sh: unknown scenario: $arg (see --help)" >&2
			exit 2
		fi
		selected+=("$arg")
		;;
	esac
done
if ((${#selected[@]} == 0)); then
	selected=("${SCENARIOS[@]}")
fi

missing=()
command -v ip >/dev/null || missing+=(iproute2)
command -v tcpdump >/dev/null || missing+=(tcpdump)
[[ -x $PYTHON ]] || missing+=(python3)
if ((${#missing[@]} > 0)); then
	die "missing ${missing[*]}; install with: apt-get install iproute2 tcpdump python3"
fi
[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, packet capture): sudo $0 $*"

tmp=""
tcpdump_pid=""
server_pid=""

teardown_net() {
	ip netns del "$SRV_NS" 2>/dev/null || true
	ip netns del "$CLI_NS" 2>/dev/null || true
}

# shellcheck disable=SC2317  # only ever called from the trap
cleanup() {
	# Only the processes this script started, by PID.
	if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; fi
	if [[ -n $tcpdump_pid ]]; then kill "$tcpdump_pid" 2>/dev/null || true; fi
	teardown_net
	if [[ -n $tmp ]]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT
# Turning signals into exit makes the EXIT trap run for Ctrl-C and kill too.
trap 'exit 130' INT
trap 'exit 143' TERM

tmp=$(mktemp -d /tmp/tcpdemux-capture.XXXXXX)

in_cli() { ip netns exec "$CLI_NS" "$@"; }

checksum_offload_off() {
	local ns=$1 ifname=$2
	if command -v ethtool >/dev/null; then
		ip netns exec "$ns" ethtool -K "$ifname" tx off rx off >/dev/null
	else
		# veth offloads checksums by default, which leaves outbound checksums
		# wrong in the capture; this is ethtool -K's ioctl, done by hand.
		ip netns exec "$ns" "$PYTHON" "$PEER" offload-off "$ifname"
	fi
}

setup_net() {
	# A fresh pair of namespaces per scenario: no TIME_WAIT or neighbour
	# state leaks from one capture into the next, whatever the order.
	teardown_net
	ip netns add "$SRV_NS"
	ip netns add "$CLI_NS"
	ip -n "$SRV_NS" link add "$SRV_IF" address "$SRV_MAC" type veth \
		peer name "$CLI_IF" address "$CLI_MAC" netns "$CLI_NS"
	checksum_offload_off "$SRV_NS" "$SRV_IF"
	checksum_offload_off "$CLI_NS" "$CLI_IF"
	ip -n "$SRV_NS" addr add 10.0.0.1/24 dev "$SRV_IF"
	ip -n "$CLI_NS" addr add 10.0.0.2/24 dev "$CLI_IF"
	ip -n "$CLI_NS" addr add 10.0.0.3/24 dev "$CLI_IF"
	# nodad: without it the addresses stay "tentative" for about a second
	# and bind() fails with EADDRNOTAVAIL.
	ip -n "$SRV_NS" addr add fd00::1/64 dev "$SRV_IF" nodad
	ip -n "$CLI_NS" addr add fd00::2/64 dev "$CLI_IF" nodad
	local ns
	for ns in "$SRV_NS" "$CLI_NS"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$SRV_NS" link set "$SRV_IF" up
	ip -n "$CLI_NS" link set "$CLI_IF" up
}

count_probes() {
	# The file is being written; a half-written last record makes tcpdump
	# fail after printing the complete ones, which is all we need.
	{ tcpdump -nn -r "$1" "udp dst port $PROBE_PORT" 2>/dev/null || true; } | wc -l
}

# Sends probes until one more than already seen is in the raw capture.
# Started after tcpdump, this proves the capture is really running ("listening
# on" is printed before it is); at the end it proves that all packets sent
# before the probe have reached the file.
barrier() {
	local raw=$1 before tries
	before=$(count_probes "$raw")
	for ((tries = 0; tries < 100; tries++)); do
		if ! kill -0 "$tcpdump_pid" 2>/dev/null; then
			cat "$tmp/tcpdump.log" >&2 || true
			die "tcpdump exited early"
		fi
		in_cli "$PYTHON" "$PEER" probe --to "10.0.0.1:$PROBE_PORT"
		sleep 0.05
		if (($(count_probes "$raw") > before)); then
			return 0
		fi
	done
	cat "$tmp/tcpdump.log" >&2 || true
	die "probe never showed up in the capture"
}

start_server() {
	local ready="$tmp/server.ready" tries
	rm -f "$ready"
	# ip netns exec execs the command, so $! is the server itself; a shell
	# function here would put a subshell in between and kill would miss it.
	ip netns exec "$SRV_NS" "$PYTHON" "$PEER" server --ready "$ready" "$@" &
	server_pid=$!
	for ((tries = 0; tries < 100; tries++)); do
		[[ -e $ready ]] && return 0
		kill -0 "$server_pid" 2>/dev/null || die "server failed to start"
		sleep 0.05
	done
	die "server did not start listening"
}

wait_server() {
	local pid=$server_pid
	server_pid=""
	wait "$pid" || die "server exited with an error"
}

run_handshake_data_close() {
	start_server --listen 10.0.0.1:80 --count 1
	in_cli "$PYTHON" "$PEER" client --to 10.0.0.1:80 --from 10.0.0.2:40000
	wait_server
}

run_two_clients() {
	start_server --listen 10.0.0.1:80 --count 3
	in_cli "$PYTHON" "$PEER" client --to 10.0.0.1:80 \
		--from 10.0.0.2:1234 --from 10.0.0.3:5678 --from 10.0.0.2:1235
	wait_server
}

run_closed_port() {
	in_cli "$PYTHON" "$PEER" client --to 10.0.0.1:81 --from 10.0.0.2:40001 --expect-refused
}

run_ipv6() {
	start_server --listen '[fd00::1]:80' --count 1
	in_cli "$PYTHON" "$PEER" client --to '[fd00::1]:80' --from '[fd00::2]:40002'
	wait_server
}

run_any_sll2() {
	run_handshake_data_close
}

capture() {
	local name=$1 iface=$SRV_IF
	local raw="$tmp/$name.raw.pcap" out="$tmp/$name.pcap"
	local -a precision=()
	case $name in
	any-sll2) iface=any ;;
	# The replayer must handle both timestamp resolutions; this one is nano.
	two-clients) precision=(--time-stamp-precision=nano) ;;
	esac

	echo "== $name"
	setup_net
	# -U and --immediate-mode: packets reach the file at once, so the
	# probes can be seen while tcpdump runs; as for the server, no shell
	# function in between, so $! is tcpdump. -Z root: Debian's tcpdump
	# otherwise switches to user tcpdump, who would own the files.
	ip netns exec "$SRV_NS" tcpdump -i "$iface" -nn -U --immediate-mode -Z root \
		"${precision[@]}" -w "$raw" "tcp or udp dst port $PROBE_PORT" \
		2>"$tmp/tcpdump.log" &
	tcpdump_pid=$!
	barrier "$raw"

	case $name in
	handshake-data-close) run_handshake_data_close ;;
	two-clients) run_two_clients ;;
	closed-port) run_closed_port ;;
	ipv6) run_ipv6 ;;
	any-sll2) run_any_sll2 ;;
	esac

	# The last ACK is sent by the kernel after the peers have returned.
	sleep 0.3
	barrier "$raw"
	kill -TERM "$tcpdump_pid"
	wait "$tcpdump_pid" || true
	tcpdump_pid=""
	teardown_net

	# Without the precision flag libpcap would hand us microseconds and
	# the nanosecond file would be written back as a microsecond one.
	tcpdump -r "$raw" "${precision[@]}" -Z root -w "$out" tcp 2>/dev/null
	# Under sudo the captures should belong to whoever owns the checkout.
	chown --reference="$HERE" "$out"
	chmod 644 "$out"
	mv "$out" "$HERE/$name.pcap"
}

for name in "${selected[@]}"; do
	capture "$name"
done

echo
printf '%-34s %-11s %-6s %7s %6s %s\n' FILE LINK-TYPE PREC PACKETS BYTES BAD-CKSUM
status=0
for name in "${selected[@]}"; do
	file="$HERE/$name.pcap"
	link=$(tcpdump -r "$file" -c 1 2>&1 >/dev/null | sed -n 's/.*link-type \([^ ]*\).*/\1/p')
	case $(od -An -tx1 -N4 "$file" | tr -d ' ') in
	d4c3b2a1 | a1b2c3d4) prec=micro ;;
	4d3cb2a1 | a1b23c4d) prec=nano ;;
	*) prec=unknown ;;
	esac
	packets=$(tcpdump -nn -r "$file" 2>/dev/null | wc -l)
	# tcpdump -vv marks a wrong TCP checksum "incorrect", a wrong IPv4
	# header checksum "bad cksum".
	bad=$(tcpdump -nn -vv -r "$file" 2>/dev/null | grep -c -e incorrect -e 'bad cksum' || true)
	printf '%-34s %-11s %-6s %7s %6s %s\n' "traces/$name.pcap" "$link" "$prec" \
		"$packets" "$(wc -c <"$file")" "$bad"
	if ((packets == 0)); then
		echo "capture.sh: $name.pcap is empty" >&2
		status=1
	fi
	if ((bad > 0)); then
		echo "capture.sh: $name.pcap has $bad bad checksums (offload still on?)" >&2
	fi
done
echo "kernel $(uname -r), $(date -u +%Y-%m-%d)"
exit "$status"
