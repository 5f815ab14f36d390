#!/usr/bin/env bash
# live-valgrind.sh TCPDEMUX - `tcpdemux live` under valgrind, for make check-valgrind.
#
# A network namespace of its own, tcpdemux live in it under valgrind (IPv4 and
# IPv6, --write, --tables=end, a --connect that is refused), real clients
# (curl over both families, Python echo sockets), then the end of --duration:
# valgrind must report no leak and no invalid access. Needs root; outside CI a
# machine without it says so and passes, under CI it fails.
set -euo pipefail

bin=${1:?usage: tests/live-valgrind.sh TCPDEMUX}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ns="tcpdemux-vg-$$"
out=$(mktemp -d)

if [ "$(id -u)" != 0 ] || [ ! -w /dev/net/tun ] || ! command -v ip >/dev/null || ! command -v curl >/dev/null; then
	echo "valgrind: live not run here (needs root, /dev/net/tun, ip and curl)"
	[ -z "${CI:-}" ] && exit 0
	exit 1
fi
cleanup() {
	for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$out"
}
trap cleanup EXIT

ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=9 \
	"$bin" live --duration 8 --app http --addr 10.9.0.1/24 --addr fd09::1/64 --write "$out/live.pcap" \
	--tables=end --connect 10.9.0.2:9 >"$out/trace" 2>"$out/err" &
pid=$!
for _ in $(seq 200); do
	grep -q "tcpdemux: ready" "$out/err" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
if ! grep -q "tcpdemux: ready" "$out/err"; then
	cat "$out/err" >&2
	echo "valgrind: live did not start" >&2
	exit 1
fi
ip netns exec "$ns" timeout 10 curl -sS -m 5 http://10.9.0.1/ >/dev/null
ip netns exec "$ns" timeout 10 curl -sS -g -m 5 'http://[fd09::1]/' >/dev/null
ip netns exec "$ns" timeout 10 /usr/bin/python3 "$here/tools/live-clients.py" http 3 --timeout 5 >/dev/null
rc=0
wait "$pid" || rc=$?
if [ "$rc" != 0 ] || ! grep -q "application http: 5 accepted" "$out/trace"; then
	cat "$out/err" >&2
	echo "valgrind: live failed (exit $rc)" >&2
	exit 1
fi
echo "valgrind: live clean"
