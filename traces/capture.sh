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
readonly RAW="$HERE/raw.py"
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
# raw.py speaks for this address, which nobody owns: the server's answers go
# on the wire (a static neighbour entry points it at the client veth), and
# no kernel answers them.
readonly RAW_SRC=10.0.0.50

# The first five go to traces/, the rest (kernel behaviours with the knobs
# needed to replay them, in NAME.args) to traces/kernel/.
readonly SCENARIOS=(handshake-data-close two-clients closed-port ipv6 any-sll2
	closed-port-strays listen-strays backlog-overflow
	abort-on-overflow-0 abort-on-overflow-1 syncookies-2 syn-burst
	synack-retries dup-syn-wrong-ack-rst time-wait-reuse ipv6-overflow
	reuseport wildcard)

describe() {
	case $1 in
	handshake-data-close) echo "10.0.0.2:40000 -> 10.0.0.1:80: handshake, request, reply, server closes first" ;;
	two-clients) echo "10.0.0.2:1234, 10.0.0.3:5678, 10.0.0.2:1235 -> 10.0.0.1:80, all open at once; nanosecond timestamps" ;;
	closed-port) echo "10.0.0.2:40001 -> 10.0.0.1:81, nothing listens: SYN answered by RST|ACK" ;;
	ipv6) echo "[fd00::2]:40002 -> [fd00::1]:80: handshake, request, reply, close over IPv6" ;;
	any-sll2) echo "as handshake-data-close, captured with tcpdump -i any (link type LINUX_SLL2)" ;;
	closed-port-strays) echo "raw: 18 segments of all kinds to 10.0.0.1:81, where nothing listens" ;;
	listen-strays) echo "raw: ACK, RST, SYN|FIN, FIN... to a listener; then one served connection" ;;
	backlog-overflow) echo "backlog 1, never accepted: 4 clients, 2 queued, SYNs of the others dropped" ;;
	abort-on-overflow-0) echo "raw: SYN1 SYN2 ACK1 SYN3 ACK2 ACK3, backlog 1: ACK3 dropped" ;;
	abort-on-overflow-1) echo "as abort-on-overflow-0 with tcp_abort_on_overflow=1: ACK3 reset" ;;
	syncookies-2) echo "raw: tcp_syncookies=2, two cookie handshakes with data, a SYN without TS" ;;
	syn-burst) echo "raw: 40 SYNs to a backlog-8 listener: 9 requests, 31 cookies" ;;
	synack-retries) echo "raw: tcp_synack_retries=2: SYN-ACK at 0, 1, 3 s; ACK after expiry reset" ;;
	dup-syn-wrong-ack-rst) echo "raw: duplicate SYN, wrong-ack ACK, right ACK; RST to a request" ;;
	time-wait-reuse) echo "SYN on a 4-tuple in TIME_WAIT (kernel client, then raw); FIN to TIME_WAIT" ;;
	ipv6-overflow) echo "[fd00::1]:80 backlog 1, never accepted, 3 clients" ;;
	reuseport) echo "4 SO_REUSEPORT listeners on 10.0.0.1:80, 8 clients" ;;
	wildcard) echo "listeners on 0.0.0.0:8080 and 10.0.0.1:80; clients to 10.0.0.1 and 10.0.0.4" ;;
	*) return 1 ;;
	esac
}

out_dir() {
	case $1 in
	handshake-data-close | two-clients | closed-port | ipv6 | any-sll2) echo "$HERE" ;;
	*) echo "$HERE/kernel" ;;
	esac
}

uses_raw() {
	case $1 in
	closed-port-strays | listen-strays | abort-on-overflow-[01] | syncookies-2 | \
		syn-burst | synack-retries | dup-syn-wrong-ack-rst | time-wait-reuse) return 0 ;;
	*) return 1 ;;
	esac
}

# Sysctls set in the server's namespace (NAME=VALUE, one a line). They cannot
# be seen in a capture, so they also go into NAME.args as --sysctl.
server_sysctls() {
	case $1 in
	abort-on-overflow-0) echo net.ipv4.tcp_abort_on_overflow=0 ;;
	abort-on-overflow-1) echo net.ipv4.tcp_abort_on_overflow=1 ;;
	syncookies-2) echo net.ipv4.tcp_syncookies=2 ;;
	syn-burst) echo net.ipv4.tcp_syncookies=1 ;;
	synack-retries) echo net.ipv4.tcp_synack_retries=2 ;;
	esac
}

# The other tcpdemux replay options for traces/kernel/NAME.args: what a
# capture does not show (the backlog, an application that never accepts,
# the addresses of the recorded host). They must match the run_* functions.
replay_args() {
	local v4="--local 10.0.0.1"
	case $1 in
	closed-port-strays) echo "$v4" ;;
	listen-strays | syncookies-2 | time-wait-reuse) echo "--listen 10.0.0.1:80,backlog=8 $v4" ;;
	backlog-overflow | abort-on-overflow-[01]) echo "--listen 10.0.0.1:80,backlog=1 --accept never $v4" ;;
	syn-burst | synack-retries | dup-syn-wrong-ack-rst) echo "--listen 10.0.0.1:80,backlog=8 --accept never $v4" ;;
	ipv6-overflow) echo "--listen [fd00::1]:80,backlog=1 --accept never --local fd00::1" ;;
	reuseport) echo "--listen 10.0.0.1:80,backlog=8,reuseport=4 $v4" ;;
	wildcard) echo "--listen 0.0.0.0:8080,backlog=8 --listen 10.0.0.1:80,backlog=8 $v4 --local 10.0.0.4" ;;
	*) return 1 ;;
	esac
}

usage() {
	cat <<EOF
Usage: sudo traces/capture.sh [--help] [SCENARIO...]

Captures real Linux TCP traffic between two throw-away network namespaces
and writes a pcap for each scenario (all of them by default): the first
five to traces/SCENARIO.pcap, the others to traces/kernel/SCENARIO.pcap with
the tcpdemux replay options they need in traces/kernel/SCENARIO.args.

Scenarios:
EOF
	local s
	for s in "${SCENARIOS[@]}"; do
		printf '  %-22s %s\n' "$s" "$(describe "$s")"
	done
	cat <<EOF

Needs root, ip (iproute2), tcpdump and /usr/bin/python3, and for the
scenarios marked raw, scapy for that python (raw.py):
  apt-get install iproute2 tcpdump python3 python3-scapy
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
need_scapy=false
for name in "${selected[@]}"; do
	if uses_raw "$name"; then need_scapy=true; fi
done
if $need_scapy && [[ -x $PYTHON ]] && ! "$PYTHON" -c 'import scapy' 2>/dev/null; then
	missing+=(python3-scapy)
fi
if ((${#missing[@]} > 0)); then
	die "missing ${missing[*]}; install with: apt-get install ${missing[*]}"
fi
[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, packet capture): sudo $0 $*"

tmp=""
tcpdump_pid=""
server_pid=""
# Clients left running in the background (peer.py connect); ended by PID.
bg_pids=()

teardown_net() {
	ip netns del "$SRV_NS" 2>/dev/null || true
	ip netns del "$CLI_NS" 2>/dev/null || true
}

# shellcheck disable=SC2317  # only ever called from the trap
cleanup() {
	# Only the processes this script started, by PID.
	local pid
	for pid in "$server_pid" "${bg_pids[@]}" "$tcpdump_pid"; do
		if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; fi
	done
	# Reaped here, so none outlives the script, even as a zombie.
	for pid in "$server_pid" "${bg_pids[@]}" "$tcpdump_pid"; do
		if [[ -n $pid ]]; then wait "$pid" 2>/dev/null || true; fi
	done
	teardown_net
	if [[ -n $tmp ]]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT
# Turning signals into exit makes the EXIT trap run for Ctrl-C and kill too.
trap 'exit 130' INT
trap 'exit 143' TERM

tmp=$(mktemp -d /tmp/tcpdemux-capture.XXXXXX)

in_cli() { ip netns exec "$CLI_NS" "$@"; }

# Writes a sysctl in a namespace through /proc/sys, which shows the values
# of the namespace of whoever opens it.
ns_sysctl() {
	local ns=$1 name=${2%%=*} value=${2#*=}
	local path="/proc/sys/${name//.//}"
	# shellcheck disable=SC2016  # $1 and $2 are the inner sh's arguments
	ip netns exec "$ns" sh -c 'printf "%s\n" "$2" >"$1"' sh "$path" "$value" ||
		die "cannot set $name=$value in $ns"
	[[ $(ip netns exec "$ns" cat "$path") == "$value" ]] || die "$name did not take $value"
}

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
	# For raw.py: the server sends what it has for RAW_SRC to the client
	# veth without asking ARP. The client must not forward those frames
	# (a new namespace inherits ip_forward from the host's), or an ICMP
	# "host unreachable" would come back and kill the server's requests.
	ip -n "$SRV_NS" neigh replace "$RAW_SRC" lladdr "$CLI_MAC" dev "$SRV_IF" nud permanent
	ns_sysctl "$CLI_NS" net.ipv4.ip_forward=0
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

# A client namespace program left running (in the background) until the
# capture ends; as in start_server, no shell function between, so $! is it.
start_bg_client() {
	ip netns exec "$CLI_NS" "$@" &
	bg_pids+=("$!")
}

# After the capture: the servers that never accept and the clients that
# hold their sockets are ended here, by PID, so what they do on exit (RSTs,
# FINs) is not recorded.
stop_background() {
	local pid
	if [[ -n $server_pid ]]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=""
	fi
	for pid in "${bg_pids[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	bg_pids=()
}

raw() {
	in_cli "$PYTHON" "$RAW" "$1" --iface "$CLI_IF" --src "$RAW_SRC" \
		--src-mac "$CLI_MAC" --dst-mac "$SRV_MAC"
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

run_closed_port_strays() {
	raw closed-port-strays
}

run_listen_strays() {
	start_server --listen 10.0.0.1:80 --backlog 8 --count 1
	raw listen-strays
	wait_server
}

run_backlog_overflow() {
	start_server --listen 10.0.0.1:80 --backlog 1 --no-accept --hold 60
	start_bg_client "$PYTHON" "$PEER" connect --to 10.0.0.1:80 --gap 0.1 --hold 60 \
		--from 10.0.0.2:41001 --from 10.0.0.2:41002 \
		--from 10.0.0.2:41003 --from 10.0.0.2:41004
	sleep 8
}

run_abort_on_overflow() {
	start_server --listen 10.0.0.1:80 --backlog 1 --no-accept --hold 60
	raw "$1"
}

run_syncookies_2() {
	start_server --listen 10.0.0.1:80 --backlog 8 --count 2
	raw syncookies-2
	wait_server
}

run_never_accepting() {
	start_server --listen 10.0.0.1:80 --backlog 8 --no-accept --hold 60
	raw "$1"
}

run_time_wait_reuse() {
	# Two connections from a real client on one 4-tuple, then two from
	# raw.py on another; every one ends with the server in TIME_WAIT.
	start_server --listen 10.0.0.1:80 --backlog 8 --count 4 --hold 20
	in_cli "$PYTHON" "$PEER" client --to 10.0.0.1:80 --serial --pause 0.5 --reuseaddr \
		--from 10.0.0.2:40100 --from 10.0.0.2:40100
	sleep 0.3
	raw time-wait-reuse
	wait_server
}

run_ipv6_overflow() {
	start_server --listen '[fd00::1]:80' --backlog 1 --no-accept --hold 60
	start_bg_client "$PYTHON" "$PEER" connect --to '[fd00::1]:80' --gap 0.1 --hold 60 \
		--from '[fd00::2]:42001' --from '[fd00::2]:42002' --from '[fd00::2]:42003'
	sleep 3.4
}

run_reuseport() {
	local -a from=()
	local port
	for port in 43001 43002 43003 43004 43005 43006 43007 43008; do
		from+=(--from "10.0.0.2:$port")
	done
	start_server --listen 10.0.0.1:80 --backlog 8 --reuseport 4 --count 8
	in_cli "$PYTHON" "$PEER" client --to 10.0.0.1:80 "${from[@]}"
	wait_server
}

run_wildcard() {
	# A second server address, which only the wildcard listener covers.
	ip -n "$SRV_NS" addr add 10.0.0.4/24 dev "$SRV_IF"
	start_server --listen 0.0.0.0:8080 --listen 10.0.0.1:80 --backlog 8 --count 3
	in_cli "$PYTHON" "$PEER" client --to 10.0.0.4:80 --from 10.0.0.2:44004 --expect-refused
	in_cli "$PYTHON" "$PEER" client --to 10.0.0.1:80 --from 10.0.0.2:44001
	in_cli "$PYTHON" "$PEER" client --to 10.0.0.1:8080 --from 10.0.0.2:44002
	in_cli "$PYTHON" "$PEER" client --to 10.0.0.4:8080 --from 10.0.0.2:44003
	wait_server
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
	local kv
	while read -r kv; do
		ns_sysctl "$SRV_NS" "$kv"
	done < <(server_sysctls "$name")
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
	closed-port-strays) run_closed_port_strays ;;
	listen-strays) run_listen_strays ;;
	backlog-overflow) run_backlog_overflow ;;
	abort-on-overflow-[01]) run_abort_on_overflow "$name" ;;
	syncookies-2) run_syncookies_2 ;;
	syn-burst | synack-retries | dup-syn-wrong-ack-rst) run_never_accepting "$name" ;;
	time-wait-reuse) run_time_wait_reuse ;;
	ipv6-overflow) run_ipv6_overflow ;;
	reuseport) run_reuseport ;;
	wildcard) run_wildcard ;;
	esac

	# The last ACK is sent by the kernel after the peers have returned.
	sleep 0.3
	barrier "$raw"
	kill -TERM "$tcpdump_pid"
	wait "$tcpdump_pid" || true
	tcpdump_pid=""
	stop_background
	local dropped
	dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$tmp/tcpdump.log")
	if [[ ${dropped:-0} != 0 ]]; then
		die "$name: tcpdump says $dropped packets were dropped; run it again"
	fi
	teardown_net

	# Without the precision flag libpcap would hand us microseconds and
	# the nanosecond file would be written back as a microsecond one.
	tcpdump -r "$raw" "${precision[@]}" -Z root -w "$out" tcp 2>/dev/null
	# Under sudo the captures should belong to whoever owns the checkout.
	chown --reference="$HERE" "$out"
	chmod 644 "$out"
	local dir
	dir=$(out_dir "$name")
	mkdir -p "$dir"
	chown --reference="$HERE" "$dir"
	mv "$out" "$dir/$name.pcap"
	if [[ $dir != "$HERE" ]]; then
		local args
		args=$(replay_args "$name")
		while read -r kv; do
			args+=" --sysctl $kv"
		done < <(server_sysctls "$name")
		echo "$args" >"$tmp/$name.args"
		chown --reference="$HERE" "$tmp/$name.args"
		chmod 644 "$tmp/$name.args"
		mv "$tmp/$name.args" "$dir/$name.args"
	fi
}

for name in "${selected[@]}"; do
	capture "$name"
done

echo
printf '%-42s %-11s %-6s %7s %6s %s\n' FILE LINK-TYPE PREC PACKETS BYTES BAD-CKSUM
status=0
for name in "${selected[@]}"; do
	file="$(out_dir "$name")/$name.pcap"
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
	printf '%-42s %-11s %-6s %7s %6s %s\n' "traces/${file#"$HERE"/}" "$link" "$prec" \
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
