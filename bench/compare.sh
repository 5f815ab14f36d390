#!/usr/bin/env bash
#
# bench/compare.sh - does a change keep every result identical?
#
#   bash bench/compare.sh [--ref REV] [--quick] [-j N] [--list]
#
# Builds tcpdemux at REV (default: main) beside the tree's own build, runs
# both on the same cases and compares standard output, standard error and
# the exit status of every run, byte for byte. A speed change must leave
# all of them unchanged (bench/RESULTS.md). The cases:
#
#   traces/*.pcap, traces/kernel/*.pcap   text and JSON, each with --verify,
#                                         with --tables; the kernel captures
#                                         with and without their .args
#   ../shared/realworld/*                 text, JSON, --verify, --tables=end
#   ../shared/corpus/**                   text and JSON (malformed captures)
#   every demo                            text and JSON
#   tests/scripts/*.pkt                   text and JSON (with their .args)
#   packetdrill's scripts (PACKETDRILL=DIR, when given)   text
#   synth                                 clients, SYN flood, hash flood
#   bench/gen captures                    standard (a 50k-frame slice),
#                                         interleaved, million, synflood:
#                                         --quiet, and JSON on the small ones
#
# Every run uses --hash-seed 1 (and --no-color). The reference's outputs
# are cached per commit in build/compare/, so a second comparison against
# the same REV only runs the new binary. The process's "peak RSS N MiB"
# (synth, the hash-flood demo) is the one figure that may move (memory is
# what a change may improve); it is masked on both sides.
#
# Exit status: 0 identical, 1 some case differs (listed, with the first
# lines of the diff), 2 could not build or run.
#
# Knobs: REALWORLD= CORPUS= (default ../shared/...), PACKETDRILL=DIR,
# COMPARE_TIMEOUT=600 seconds per run.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
REV=main
QUICK=0
JOBS=2
LIST=0
while [ $# -gt 0 ]; do
	case $1 in
	--ref) REV=$2; shift 2 ;;
	--quick) QUICK=1; shift ;;
	-j) JOBS=$2; shift 2 ;;
	--list) LIST=1; shift ;;
	-h | --help) sed -n '2,/^set -u/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
	*) echo "compare: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
done
REALWORLD=${REALWORLD:-../shared/realworld}
CORPUS=${CORPUS:-../shared/corpus}
TIMEOUT=${COMPARE_TIMEOUT:-600}
W=build/compare
mkdir -p "$W"

die() { echo "compare: $*" >&2; exit 2; }

# ---- the two binaries -----------------------------------------------------------

SHA=$(git rev-parse --verify -q "$REV^{commit}") || die "no such revision: $REV"
REFSRC=$W/src-$SHA
REFBIN=$REFSRC/build/tcpdemux
if [ ! -x "$REFBIN" ]; then
	echo "compare: building the reference ($REV = ${SHA:0:12})" >&2
	rm -rf "$REFSRC"
	mkdir -p "$REFSRC"
	git archive "$SHA" | tar -x -C "$REFSRC" || die "git archive $REV"
	nice make -s -C "$REFSRC" MODE=release build/tcpdemux >&2 || die "building $REV failed"
fi
echo "compare: building the tree's tcpdemux" >&2
nice make -s MODE=release build/tcpdemux >&2 || die "make failed"
NEWBIN=$ROOT/build/tcpdemux
REFBIN=$ROOT/$REFBIN

# ---- inputs made here (the same bytes for both sides) -------------------------------

IN=$W/inputs
mkdir -p "$IN"
GEN=$IN/gen
if [ ! -x "$GEN" ] || [ bench/gen.c -nt "$GEN" ]; then
	cc -O2 -std=c11 -D_DEFAULT_SOURCE -Istack $(pkg-config --cflags libpcap 2>/dev/null) bench/gen.c \
		build/libstack-release.a $(pkg-config --libs libpcap 2>/dev/null || echo -lpcap) -o "$GEN" ||
		die "building bench/gen"
	rm -f "$IN"/*.pcap
fi
mkgen() { # FILE GEN-ARGS... (OUT given as @)
	local f=$1
	shift
	[ -s "$f" ] && return 0
	"$GEN" "${@/@/$f}" 2>/dev/null || { rm -f "$f"; return 1; }
}
mkgen "$IN/standard.pcap" standard @
[ -s "$IN/standard-50k.pcap" ] || "$GEN" slice 50000 "$IN/standard.pcap" "$IN/standard-50k.pcap"
mkgen "$IN/million-20k.pcap" million @ 20000
mkgen "$IN/million-idle-20k.pcap" million-idle @ 20000
mkgen "$IN/synflood-100k.pcap" synflood 100000 @
HAVE_INTERLEAVED=0
mkgen "$IN/interleaved.pcap" interleaved @ && HAVE_INTERLEAVED=1
mkgen "$IN/interleaved-small.pcap" interleaved @ 20000 500 || true

# ---- the cases: NAME ARGS... (one per line) ----------------------------------------

cases() {
	local f b a d
	for f in traces/*.pcap traces/kernel/*.pcap; do
		b=${f%.pcap}
		b=${b//\//_}
		a=
		[ -f "${f%.pcap}.args" ] && a=$(cat "${f%.pcap}.args")
		for fmt in text json; do
			echo "$b.$fmt replay $f --format $fmt"
			echo "$b.$fmt.verify replay $f --format $fmt --verify"
			echo "$b.$fmt.tables replay $f --format $fmt --tables"
			if [ -n "$a" ]; then
				echo "$b.args.$fmt replay $f --format $fmt $a"
				echo "$b.args.$fmt.verify replay $f --format $fmt --verify $a"
				echo "$b.args.$fmt.tables replay $f --format $fmt --tables $a"
			fi
		done
	done
	if [ -d "$REALWORLD" ]; then
		for f in "$REALWORLD"/*.pcap "$REALWORLD"/*.pcapng; do
			b=realworld_$(basename "$f")
			echo "$b.text replay $f"
			echo "$b.json replay $f --format json"
			echo "$b.verify replay $f --format json --verify"
			echo "$b.tables replay $f --tables=end"
			echo "$b.quiet replay $f --quiet"
		done
	else
		echo "compare: $REALWORLD missing: its files are not compared" >&2
	fi
	if [ "$QUICK" = 0 ] && [ -d "$CORPUS" ]; then
		find "$CORPUS" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) | LC_ALL=C sort |
			while read -r f; do
				b=corpus_$(basename "$f")
				echo "$b.text replay $f"
				echo "$b.json replay $f --format json --verify"
			done
	fi
	for d in $("$NEWBIN" demo | awk 'NR > 1 { print $1 }'); do
		echo "demo_$d.text demo $d"
		echo "demo_$d.json demo $d --format json"
	done
	for f in tests/scripts/*.pkt; do
		b=script_$(basename "$f" .pkt)
		a=
		[ -f "${f%.pkt}.args" ] && a=$(cat "${f%.pkt}.args")
		echo "$b.text script $f $a"
		echo "$b.json script $f --format json $a"
	done
	if [ -n "${PACKETDRILL:-}" ] && [ -d "$PACKETDRILL" ]; then
		find "$PACKETDRILL" -name '*.pkt' | LC_ALL=C sort | while read -r f; do
			echo "packetdrill_$(echo "${f#"$PACKETDRILL"/}" | tr / _).text script $f"
		done
	fi
	echo "synth_clients.text synth --clients 300 --seed 3 --concurrent 40"
	echo "synth_clients.json synth --clients 300 --seed 3 --format json"
	echo "synth_clients_tables.text synth --clients 40 --seed 5 --tables"
	echo "synth_flood.text synth --syn-flood 5000 --seed 3"
	echo "synth_flood.json synth --syn-flood 3000 --seed 4 --format json"
	echo "synth_hashflood.text synth --hash-flood 300 --seed 1 --hash-seed 1"
	echo "synth_hashflood2.text synth --hash-flood 300 --seed 1 --hash-seed 2 --format json"
	echo "gen_standard.quiet replay $IN/standard.pcap --quiet"
	echo "gen_standard-50k.json replay $IN/standard-50k.pcap --format json"
	echo "gen_standard-50k.verify replay $IN/standard-50k.pcap --format json --verify"
	echo "gen_million-20k.quiet replay $IN/million-20k.pcap --quiet"
	echo "gen_million-20k.json replay $IN/million-20k.pcap --format json --tables=end"
	echo "gen_million-idle-20k.quiet replay $IN/million-idle-20k.pcap --quiet --buckets 1024"
	echo "gen_synflood-100k.quiet replay $IN/synflood-100k.pcap --quiet --listen 10.0.0.1:80,backlog=128"
	echo "gen_synflood-100k.big replay $IN/synflood-100k.pcap --quiet --listen 10.0.0.1:80,backlog=200000 --sysctl net.core.somaxconn=200000"
	if [ "$HAVE_INTERLEAVED" = 1 ]; then
		echo "gen_interleaved.quiet replay $IN/interleaved.pcap --quiet"
		echo "gen_interleaved-small.json replay $IN/interleaved-small.pcap --format json"
	fi
}

cases >"$W/cases"
if [ "$LIST" = 1 ]; then
	cat "$W/cases"
	exit 0
fi

# run_all BIN OUTDIR: every case not yet in OUTDIR (NAME.out, NAME.err, NAME.rc)
run_all() {
	local bin=$1 out=$2
	mkdir -p "$out"
	# shellcheck disable=SC2016
	awk '{ print }' "$W/cases" | while read -r name args; do
		[ -f "$out/$name.rc" ] || printf '%s %s\n' "$name" "$args"
	done | xargs -P "$JOBS" -L 1 sh -c '
		bin=$1 out=$2 to=$3 name=$4
		shift 4
		case " $* " in *" --hash-seed "*) seed= ;; *) seed="--hash-seed 1" ;; esac
		# shellcheck disable=SC2086
		nice timeout "$to" "$bin" "$@" $seed --no-color >"$out/$name.out" 2>"$out/$name.err"
		echo $? >"$out/$name.rc"
		# the process'"'"'s peak memory (synth, the hash-flood demo) is the one figure a change may move
		sed -i "s/peak RSS [0-9]* MiB/peak RSS (masked)/" "$out/$name.out"
	' sh "$bin" "$out" "$TIMEOUT"
}

REFOUT=$W/out-$SHA
NEWOUT=$W/out-new
rm -rf "$NEWOUT"
N=$(wc -l <"$W/cases")
echo "compare: $N cases; reference ${SHA:0:12} (cached in $REFOUT)" >&2
run_all "$REFBIN" "$REFOUT"
run_all "$NEWBIN" "$NEWOUT"

bad=0
while read -r name args; do
	for ext in rc out err; do
		if ! cmp -s "$REFOUT/$name.$ext" "$NEWOUT/$name.$ext"; then
			[ "$bad" -lt 20 ] && {
				echo "DIFFERS: $name.$ext ($args)"
				diff "$REFOUT/$name.$ext" "$NEWOUT/$name.$ext" | head -8
			}
			bad=$((bad + 1))
		fi
	done
done <"$W/cases"
if grep -l '^124$' "$NEWOUT"/*.rc >/dev/null 2>&1; then
	echo "compare: some runs timed out:" $(grep -l '^124$' "$NEWOUT"/*.rc | xargs -n1 basename)
fi
if [ "$bad" -gt 0 ]; then
	echo "compare: $bad of $((N * 3)) outputs differ from ${SHA:0:12}"
	exit 1
fi
echo "compare: all $N cases identical to ${SHA:0:12} (stdout, stderr, exit status)"
exit 0
