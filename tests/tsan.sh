#!/usr/bin/env bash
# tsan.sh TCPDEMUX-TSAN: every kernel trace (traces/kernel/, with its .args),
# published capture (REALWORLD, default ../shared/realworld) and corpus file
# (CORPUS, default ../shared/corpus) replayed with --threads 2 by a
# ThreadSanitizer build (make check-tsan): the frames are read and decoded
# on the reader's thread, whatever the file's size. A data race, or any
# other report, is exit 66 and fails the run; the replay's own verdicts
# (0, 1, 2) are not this script's business. A missing folder fails too.
set -u
bin=${1:?usage: tsan.sh TCPDEMUX-TSAN}
realworld=${REALWORLD:-../shared/realworld}
corpus=${CORPUS:-../shared/corpus}
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}"
for d in traces/kernel "$realworld" "$corpus"; do
	[ -d "$d" ] || { echo "tsan.sh: $d is missing" >&2; exit 1; }
done
n=0 bad=0
one() { # one FILE ARGS...: replays FILE with --threads 2; a report is a failure
	local f=$1 rc
	shift
	"$bin" replay "$f" "$@" --threads 2 --format json --hash-seed 1 >/dev/null 2>/tmp/tsan.$$
	rc=$?
	n=$((n + 1))
	if [ $rc -gt 2 ] || grep -q "ThreadSanitizer" /tmp/tsan.$$; then
		bad=$((bad + 1))
		echo "tsan.sh: $f: exit $rc" >&2
		head -40 /tmp/tsan.$$ >&2
	fi
}
for f in traces/kernel/*.pcap; do
	a=""
	[ -f "${f%.pcap}.args" ] && a=$(cat "${f%.pcap}.args")
	# shellcheck disable=SC2086 # the .args file holds several words
	one "$f" $a --verify
done
for f in "$realworld"/*.pcap "$realworld"/*.pcapng; do one "$f" --verify; done
# A filter: libpcap's BPF program runs on the reader's thread.
one "$realworld/zk_echo-connections.pcap" "tcp port 7000 and len > 66"
while IFS= read -r f; do one "$f"; done < <(find "$corpus" -type f \( -name '*.pcap' -o -name '*.pcapng' \) | sort)
rm -f /tmp/tsan.$$
echo "tsan.sh: $n replays with --threads 2, $bad with a ThreadSanitizer report"
[ $bad = 0 ] && [ $n -gt 800 ]
