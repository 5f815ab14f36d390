#!/usr/bin/env bash
# live-demo.sh - real Linux clients against the miniature stack, for a lecture.
#
# Makes a throw-away network namespace, starts `tcpdemux live` inside it (the
# TUN device and its subnet exist only there), runs N real clients in the same
# namespace (curl and Python sockets: the kernel's own TCP), then stops
# tcpdemux with Ctrl-C's signal, so it prints its summary, and removes the
# namespace. No packet leaves the namespace. Usage: sudo tools/live-demo.sh --help
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
readonly PYTHON=/usr/bin/python3   # Debian's own interpreter
readonly CLIENTS="$HERE/live-clients.py"
readonly NS="tcpdemux-demo-$$"
readonly STACK=10.9.0.1

app=http
count=4
backlog=""
gap=0.5
extra=()

usage() {
	cat <<EOF
Usage: sudo tools/live-demo.sh [--app http|echo|never] [--clients N] [--backlog N]
                               [--gap SECONDS] [-- TCPDEMUX-OPTIONS...]

Runs tcpdemux live in a network namespace of its own and N real clients
against it, one every --gap seconds (default 0.5), then stops it so it prints
its summary. What each application shows:

  http   (default) curl and Python's http.client, one after the other: every
         connection is accepted on port 80, answered, closed
  echo   Python sockets that send a line and read it back
  never  Python sockets against a listener that never accepts (backlog 2 by
         default): backlog+1 connections fill the accept queue, the others'
         SYNs are dropped and the kernel clients send them again after 1, 2,
         3 ... seconds

Options after -- go to tcpdemux live (e.g. -- --format json, -- --tables=end).
Needs root, ip (iproute2), curl and /usr/bin/python3. The binary is \$TCPDEMUX,
else build/tcpdemux beside this script, else tcpdemux on the PATH.
docs/live.md explains what to look at.
EOF
}

die() {
	echo "live-demo.sh: $*" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--app) app=${2:-}; shift 2 || die "--app needs a value" ;;
	--clients) count=${2:-}; shift 2 || die "--clients needs a value" ;;
	--backlog) backlog=${2:-}; shift 2 || die "--backlog needs a value" ;;
	--gap) gap=${2:-}; shift 2 || die "--gap needs a value" ;;
	--) shift; extra=("$@"); break ;;
	*) die "unknown option: $1 (see --help)" ;;
	esac
done
case $app in http | echo | never) ;; *) die "--app takes http, echo or never, not '$app'" ;; esac
[[ $count =~ ^[1-9][0-9]*$ ]] || die "--clients needs a positive count, not '$count'"
[ -n "$backlog" ] || { [ "$app" = never ] && backlog=2 || backlog=128; }
[[ $backlog =~ ^[0-9]+$ ]] || die "--backlog needs a number, not '$backlog'"

[ "$(id -u)" = 0 ] || die "needs root (network namespaces and a TUN device): sudo $0 $*"
command -v ip >/dev/null || die "ip is missing: apt-get install iproute2"
[ -x "$PYTHON" ] || die "$PYTHON is missing: apt-get install python3"
[ "$app" != http ] || command -v curl >/dev/null || die "curl is missing: apt-get install curl"
if [ -n "${TCPDEMUX:-}" ]; then
	bin=$TCPDEMUX
elif [ -x "$HERE/../build/tcpdemux" ]; then
	bin="$HERE/../build/tcpdemux"
else
	bin=$(command -v tcpdemux) || die "no tcpdemux binary: run make first, or set TCPDEMUX"
fi

errlog=$(mktemp)
live_pid=""
cleanup() {
	[ -n "$live_pid" ] && kill "$live_pid" 2>/dev/null || true
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	ip netns del "$NS" 2>/dev/null || true
	rm -f "$errlog"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS"
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }

echo "== network namespace $NS: tcpdemux live --app $app --listen $STACK:80,backlog=$backlog ${extra[*]:-}"
# Not through in_ns: a function would run in a subshell, and the signal must reach tcpdemux itself.
ip netns exec "$NS" "$bin" live --app "$app" --listen "$STACK:80,backlog=$backlog" --duration 600 \
	"${extra[@]}" 2>"$errlog" &
live_pid=$!
for _ in $(seq 100); do
	grep -q "tcpdemux: ready" "$errlog" && break
	kill -0 "$live_pid" 2>/dev/null || { cat "$errlog" >&2; die "tcpdemux live did not start"; }
	sleep 0.05
done
cat "$errlog" >&2

case $app in
http)
	for i in $(seq "$count"); do
		sleep "$gap"
		if [ $((i % 2)) = 1 ]; then
			echo "== client $i: curl http://$STACK/" >&2
			in_ns curl -sS -m 5 "http://$STACK/" >&2 || true
		else
			echo "== client $i: Python http.client" >&2
			in_ns "$PYTHON" "$CLIENTS" http 1 --host "$STACK" --timeout 5 >&2 || true
		fi
	done
	;;
echo)
	for i in $(seq "$count"); do
		sleep "$gap"
		echo "== client $i: a Python socket sends 40 bytes and reads them back" >&2
		in_ns "$PYTHON" "$CLIENTS" echo 1 --host "$STACK" --size 40 --timeout 5 >&2 || true
	done
	;;
never)
	echo "== $count Python sockets connect, $gap s apart, and wait 3.5 s" >&2
	in_ns "$PYTHON" "$CLIENTS" hold "$count" --host "$STACK" --gap "$gap" --hold 3.5 >&2 || true
	;;
esac

sleep 0.5
echo "== Ctrl-C: tcpdemux prints its summary and removes the device" >&2
kill -INT "$live_pid"
wait "$live_pid" || true
live_pid=""
