#!/usr/bin/env bash
#
# bench/run.sh - the performance benchmark of tcpdemux replay, in one run.
#
#   bash bench/run.sh            (or: make bench)
#
# The machine is shared and noisy, so the targets are ratios measured in
# one run: the tools are timed ALTERNATELY (floor, replay --quiet, replay
# --format json, tcptrace, tshark; REPS rounds) and each figure is a
# median. Then memory (1M connections, request sockets, SYN floods), the
# table microbenchmarks (bench/lookup.c) and the struct sizes.
#
# Prints the results and writes them into bench/RESULTS.md between the
# "BEGIN run.sh" and "END run.sh" markers (text outside them is kept).
#
# Knobs (environment):
#   REPS=5                 rounds of the alternating timings
#   MILLION_TIMEOUT=300    seconds allowed for the 1M-connection replay
#   SCALED_N=100000        connections of the scaled-down memory runs, used
#                          when the 1M replay does not finish in time
#   FLOOD_RATE=1000000     SYNs per second in the SYN-flood captures
#   FLOOD_BIG=10000000     SYNs in the big flood (the small one has 1M)
#   BENCH_INSTALL=1        apt-get install tcptrace and tshark when missing
#   BENCH_QUICK=1          a fast smoke run (REPS=1, small memory runs,
#                          lookup --quick); the numbers mean little
#   NO_RESULTS=1           do not touch bench/RESULTS.md
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
B=build/bench
mkdir -p "$B"
REPS=${REPS:-5}
MILLION_TIMEOUT=${MILLION_TIMEOUT:-300}
SCALED_N=${SCALED_N:-100000}
FLOOD_RATE=${FLOOD_RATE:-1000000}
FLOOD_BIG=${FLOOD_BIG:-10000000}
MILLION_N=1000000
FLOOD_SMALL=1000000
INTER_N=200000
LOOKUP_ARGS=
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	REPS=1
	MILLION_N=20000
	SCALED_N=20000
	FLOOD_SMALL=100000
	FLOOD_BIG=1000000
	INTER_N=20000
	LOOKUP_ARGS=--quick
fi
SEED=1
TD=build/tcpdemux
START=$(date +%s)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tcpdemux-bench.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 2; }

# ---- build ---------------------------------------------------------------------

CC=${CC:-cc}
PCAP_CFLAGS=$(pkg-config --cflags libpcap 2>/dev/null)
PCAP_LIBS=$(pkg-config --libs libpcap 2>/dev/null || echo -lpcap)
BCFLAGS="-O2 -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra"

say "bench: building (make MODE=release, then the bench tools)"
make -s MODE=release all >&2 || die "make failed"
# Against the stack the timed binary uses, not a second compile of it.
LIBSTACK=build/libstack-release.a
$CC $BCFLAGS -Istack $PCAP_CFLAGS bench/gen.c $LIBSTACK $PCAP_LIBS -o $B/gen || die "gen"
$CC $BCFLAGS $PCAP_CFLAGS bench/floor.c $PCAP_LIBS -o $B/floor || die "floor"
$CC $BCFLAGS bench/timeit.c -o $B/timeit || die "timeit"
$CC $BCFLAGS -Istack bench/lookup.c $LIBSTACK -o $B/lookup || die "lookup"
$CC $BCFLAGS -Istack -Isim bench/sizes.c -o $B/sizes || die "sizes"
TIMEIT=$B/timeit

# ---- the other tools -------------------------------------------------------------

if [ "${BENCH_INSTALL:-0}" = 1 ] && ! { command -v tcptrace && command -v tshark; } >/dev/null 2>&1; then
	SUDO=
	[ "$(id -u)" = 0 ] || SUDO=sudo
	say "bench: installing tcptrace and tshark"
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y tcptrace tshark >&2 ||
		say "bench: apt-get failed; the tools missing are skipped"
fi
HAVE_TCPTRACE=0
HAVE_TSHARK=0
command -v tcptrace >/dev/null 2>&1 && HAVE_TCPTRACE=1
command -v tshark >/dev/null 2>&1 && HAVE_TSHARK=1
[ $HAVE_TCPTRACE = 1 ] || say "bench: tcptrace not installed: skipped (apt-get install -y tcptrace, or BENCH_INSTALL=1)"
[ $HAVE_TSHARK = 1 ] || say "bench: tshark not installed: skipped (DEBIAN_FRONTEND=noninteractive apt-get install -y tshark, or BENCH_INSTALL=1)"

# ---- captures (cached; remade when gen.c changes) ----------------------------------

STD=$B/standard.pcap
SLICE=$B/standard-50k.pcap
EMPTY=$B/empty.pcap
for f in "$STD" "$EMPTY"; do
	if [ ! -s "$f" ] || [ bench/gen.c -nt "$f" ]; then
		say "bench: generating $f"
		$B/gen "$(basename "$f" .pcap)" "$f" || die "gen $f"
		rm -f "$SLICE"
	fi
done
# The slice keeps the standard capture's format (pcap; editcap writes pcapng unless told).
if [ ! -s "$SLICE" ] || [ "$(head -c 4 "$SLICE" | od -An -tx1 | tr -d ' \n')" = 0a0d0d0a ]; then
	if command -v editcap >/dev/null 2>&1; then
		editcap -F pcap -r "$STD" "$SLICE" 1-50000 || die "editcap"
	else
		$B/gen slice 50000 "$STD" "$SLICE" || die "slice"
	fi
fi

# ---- helpers --------------------------------------------------------------------------

# run NAME CMD...: runs CMD under timeit (stdout to /dev/null); appends the
# report line to $TMP/NAME.
run() {
	local name=$1
	shift
	"$TIMEIT" "$TMP/one" "$@" >/dev/null 2>>"$TMP/stderr"
	cat "$TMP/one" >>"$TMP/$name"
}
col() { awk -v c="$1" '{ print $c }' "$2"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (!NR) { print "nan"; exit } if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minimum() { sort -g | head -1; }
maximum() { sort -g | tail -1; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
# is "A OP B" true? (floating point)
holds() { awk "BEGIN { exit !($1) }"; }
verdict() { if holds "$1"; then echo "met"; else echo "**not met**"; fi; }
mb() { calc "%.1f" "$1 / 1024"; }

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_START=$(loadavg)

# ---- 1. speed: alternating rounds ---------------------------------------------------------

STD_FRAMES=$($B/floor "$STD" | awk '{ print $1 }')
SLICE_FRAMES=$($B/floor "$SLICE" | awk '{ print $1 }')
SUMMARY=$($TD replay "$STD" --quiet --hash-seed $SEED) || die "replay of $STD failed"
# "replayed FILE (...): N frames; X TCP segments in, Y out, ..."
SEGS=$(printf '%s\n' "$SUMMARY" | sed -n 's/.* frames; \([0-9]*\) TCP segments in, \([0-9]*\) out.*/\1 \2/p' |
	awk '{ print $1 + $2 }')
[ -n "$SEGS" ] || die "cannot read the replay summary: $SUMMARY"

say "bench: $REPS alternating rounds on $STD ($STD_FRAMES frames, $SEGS TCP segments)"
$B/floor "$STD" >/dev/null # warm the page cache
for r in $(seq 1 "$REPS"); do
	say "  round $r/$REPS"
	run floor $B/floor "$STD"
	run quiet $TD replay "$STD" --quiet --hash-seed $SEED
	run json $TD replay "$STD" --format json --hash-seed $SEED
	run annotate $TD replay "$STD" --quiet --hash-seed $SEED --annotate "$TMP/bench.pcapng"
	run html $TD replay "$STD" --quiet --hash-seed $SEED --html "$TMP/bench.html"
	[ $HAVE_TCPTRACE = 1 ] && run tcptrace tcptrace -n "$STD"
	[ $HAVE_TSHARK = 1 ] && run tshark tshark -r "$SLICE" -q -z conv,tcp
done
# paired ratios, round by round
paste -d' ' "$TMP/quiet" "$TMP/floor" | awk '{ print $1 / $6 }' >"$TMP/r_floor"
paste -d' ' "$TMP/annotate" "$TMP/quiet" | awk '{ print $1 / $6 }' >"$TMP/r_annotate"
paste -d' ' "$TMP/html" "$TMP/quiet" | awk '{ print $1 / $6 }' >"$TMP/r_html"
[ $HAVE_TCPTRACE = 1 ] && paste -d' ' "$TMP/tcptrace" "$TMP/quiet" | awk '{ print $1 / $6 }' >"$TMP/r_tcptrace"
[ $HAVE_TSHARK = 1 ] && paste -d' ' "$TMP/tshark" "$TMP/quiet" |
	awk -v a="$STD_FRAMES" -v b="$SLICE_FRAMES" '{ print $1 * (a / b) / $6 }' >"$TMP/r_tshark"

med() { col 1 "$TMP/$1" | median; }
T_FLOOR=$(med floor)
T_JSON=$(med json)
R_FLOOR=$(median <"$TMP/r_floor")
SEGS_PER_S=$(calc "%.0f" "$SEGS / $T_JSON")
rss() { col 4 "$TMP/$1" | maximum; }
row() { # name label extra...
	printf '| %s | %.3f | %.3f | %.3f | %s |' "$2" "$(med "$1")" "$(col 1 "$TMP/$1" | minimum)" \
		"$(col 1 "$TMP/$1" | maximum)" "$(mb "$(rss "$1")")"
}

SPEED="$TMP/speed.md"
{
	echo "Capture: \`$STD\` ($STD_FRAMES frames, $SEGS TCP segments replayed, $(du -m "$STD" | cut -f1) MB);"
	echo "$REPS alternating rounds; median, min and max wall seconds; peak RSS is the largest of the rounds."
	echo "Ratios are the median of the per-round ratios (each round's two runs are seconds apart)."
	echo
	echo "| run | median s | min s | max s | peak RSS MB | measured | target | result |"
	echo "| --- | ---: | ---: | ---: | ---: | --- | --- | --- |"
	echo "$(row floor 'floor: libpcap read loop (`bench/floor`)') 1.00x floor | - | - |"
	echo "$(row quiet '`tcpdemux replay --quiet`') $(calc %.2f "$R_FLOOR")x floor | <= 2x floor | $(verdict "$R_FLOOR <= 2") |"
	echo "$(row json '`tcpdemux replay --format json > /dev/null`') $(calc "%.2f" "$SEGS_PER_S / 1e6") M segments/s ($(calc %.1f "$T_JSON / $T_FLOOR")x floor) | >= 1 M segments/s | $(verdict "$SEGS_PER_S >= 1000000") |"
	R=$(median <"$TMP/r_annotate")
	echo "$(row annotate '`tcpdemux replay --quiet --annotate OUT.pcapng`') $(calc %.2f "$R")x replay --quiet, $(calc %.0f "$(wc -c <"$TMP/bench.pcapng") / $STD_FRAMES") bytes per frame | <= 4x replay --quiet | $(verdict "$R <= 4") |"
	R=$(median <"$TMP/r_html")
	B_PER_FRAME=$(calc %.0f "$(wc -c <"$TMP/bench.html") / $STD_FRAMES")
	echo "$(row html '`tcpdemux replay --quiet --html OUT.html`') $(calc %.2f "$R")x replay --quiet, $B_PER_FRAME bytes per frame | <= 4x replay --quiet, <= 500 bytes per frame | $(verdict "$R <= 4 && $B_PER_FRAME <= 500") |"
	if [ $HAVE_TCPTRACE = 1 ]; then
		R=$(median <"$TMP/r_tcptrace")
		echo "$(row tcptrace '`tcptrace -n`') replay --quiet $(calc %.1f "$R")x faster | >= 15x faster | $(verdict "$R >= 15") |"
	else
		echo "| \`tcptrace -n\` | - | - | - | - | not installed: skipped | >= 15x faster | not measured |"
	fi
	if [ $HAVE_TSHARK = 1 ]; then
		R=$(median <"$TMP/r_tshark")
		echo "$(row tshark "\`tshark -q -z conv,tcp\` on the first $SLICE_FRAMES frames") replay --quiet $(calc %.1f "$R")x faster (tshark scaled x$(calc %.0f "$STD_FRAMES / $SLICE_FRAMES"): $(calc %.2f "$(med tshark) * $STD_FRAMES / $SLICE_FRAMES") s) | >= 100x faster | $(verdict "$R >= 100") |"
	else
		echo "| \`tshark -q -z conv,tcp\` | - | - | - | - | not installed: skipped | >= 100x faster | not measured |"
	fi
} >"$SPEED"
cat "$SPEED" >&2

# ---- 1b. every shape of capture ------------------------------------------------------------
# replay --quiet against the floor and tcptrace on four shapes, in
# alternating rounds, as wall time and as CPU time (user + sys): the
# standard capture (above), handshakes interleaved (2,000 at once), many
# connections open at once, and a composite of published captures (the
# files of $REALWORLD with 10,000 frames or more, time-shifted copies
# concatenated to about 1M frames); then each of those files alone. The
# targets: at most 1.5x the floor's wall time and 2.5x its CPU time, at
# least 2x faster than tcptrace.
REALWORLD=${REALWORLD:-../shared/realworld}
OPEN_N=${OPEN_N:-200000}
COMP_FRAMES=${COMP_FRAMES:-1000000}
[ "${BENCH_QUICK:-0}" = 1 ] && { OPEN_N=20000; COMP_FRAMES=100000; }
INTER_F=$B/interleaved-$INTER_N.pcap
OPEN_F=$B/open-$OPEN_N.pcap
COMP_F=$B/published-$COMP_FRAMES.pcap
[ -s "$INTER_F" ] && [ "$INTER_F" -nt bench/gen.c ] || $B/gen interleaved "$INTER_F" "$INTER_N" $((INTER_N / 100)) >/dev/null || die "gen interleaved"
[ -s "$OPEN_F" ] && [ "$OPEN_F" -nt bench/gen.c ] || $B/gen million "$OPEN_F" "$OPEN_N" >/dev/null || die "gen million"
BIG_FILES=()
if [ -d "$REALWORLD" ]; then
	for f in "$REALWORLD"/*.pcap "$REALWORLD"/*.pcapng; do
		[ -f "$f" ] || continue
		n=$($B/floor "$f" 2>/dev/null | awk '{ print $1 }')
		# Only files libpcap reads to their end (a truncated one makes tcpdemux exit 2).
		[ -n "$n" ] && [ "$n" -ge 10000 ] && $TD replay "$f" --quiet >/dev/null 2>&1 && BIG_FILES+=("$f")
	done
fi
if [ ${#BIG_FILES[@]} -gt 0 ] && command -v editcap >/dev/null && command -v mergecap >/dev/null &&
	{ [ ! -s "$COMP_F" ] || [ "$(stat -c %Y "$COMP_F")" -lt "$(stat -c %Y "$(ls -t "${BIG_FILES[@]}" | head -1)")" ]; }; then
	say "bench: building $COMP_F from ${#BIG_FILES[@]} published captures"
	parts=()
	total=0
	k=0
	while [ "$total" -lt "$COMP_FRAMES" ]; do
		for f in "${BIG_FILES[@]}"; do
			# Copy k of the j-th file starts at 1,000 s x (k x files + j): the time only goes forward,
			# and a 4-tuple seen again is long out of TIME_WAIT.
			first=$(capinfos -T -r -S -a "$f" | awk '{ printf "%d", $2 }')
			start=$((1700000000 + 1000 * (k * ${#BIG_FILES[@]} + ${#parts[@]} % ${#BIG_FILES[@]})))
			editcap -F pcap -t $((start - first)) "$f" "$TMP/part-${#parts[@]}.pcap" || die "editcap $f"
			parts+=("$TMP/part-${#parts[@]}.pcap")
			total=$((total + $($B/floor "$f" | awk '{ print $1 }')))
		done
		k=$((k + 1))
	done
	mergecap -a -F pcap -w "$COMP_F" "${parts[@]}" || die "mergecap"
	rm -f "${parts[@]}"
fi
SHAPES=("$STD" "$INTER_F" "$OPEN_F")
[ -s "$COMP_F" ] && [ ${#BIG_FILES[@]} -gt 0 ] && SHAPES+=("$COMP_F")
SHAPES+=("${BIG_FILES[@]}")
say "bench: $REPS alternating rounds on ${#SHAPES[@]} captures of other shapes"
for r in $(seq 1 "$REPS"); do
	say "  round $r/$REPS"
	i=0
	for f in "${SHAPES[@]}"; do
		run "s${i}_floor" $B/floor "$f"
		run "s${i}_quiet" $TD replay "$f" --quiet --hash-seed $SEED
		# The four shapes also with the reader thread (replay --threads 2, docs/replay.md).
		[ $i -lt 4 ] && run "s${i}_t2" $TD replay "$f" --quiet --hash-seed $SEED --threads 2
		[ $HAVE_TCPTRACE = 1 ] && run "s${i}_tcptrace" tcptrace -n "$f"
		i=$((i + 1))
	done
done
SHAPE="$TMP/shapes.md"
{
	echo "Median of the per-round ratios; CPU time is user + sys. A capture of published files is $COMP_F"
	echo "(each file of $REALWORLD with 10,000 frames or more, time-shifted copies concatenated)."
	echo
	echo "| capture | frames | floor s | replay --quiet s | wall, x floor | CPU, x floor | tcptrace s | faster than tcptrace | result |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
	i=0
	for f in "${SHAPES[@]}"; do
		n=$($B/floor "$f" | awk '{ print $1 }')
		RW=$(paste -d' ' "$TMP/s${i}_quiet" "$TMP/s${i}_floor" | awk '{ print $1 / $6 }' | median)
		RC=$(paste -d' ' "$TMP/s${i}_quiet" "$TMP/s${i}_floor" | awk '{ f = $7 + $8; if (f < 0.001) f = 0.001; print ($2 + $3) / f }' | median)
		if [ $HAVE_TCPTRACE = 1 ]; then
			RT=$(paste -d' ' "$TMP/s${i}_tcptrace" "$TMP/s${i}_quiet" | awk '{ print $1 / $6 }' | median)
			TT=$(calc %.3f "$(med "s${i}_tcptrace")")
		else
			RT=0
			TT="not installed"
		fi
		case $f in
		"$STD" | "$INTER_F") want="$RW <= 1.5 && $RC <= 2.5 && $RT >= 2" ;;
		*) want="$RT >= 2" ;;
		esac
		echo "| \`$(basename "$f")\` | $n | $(calc %.3f "$(med "s${i}_floor")") | $(calc %.3f "$(med "s${i}_quiet")") | $(calc %.2f "$RW")x | $(calc %.2f "$RC")x | $TT | $(calc %.2f "$RT")x | $(verdict "$want") |"
		i=$((i + 1))
	done
	echo
	echo "Targets: on the standard and the interleaved capture at most 1.5x the floor's wall time and 2.5x its CPU"
	echo "time; everywhere at least 2x faster than tcptrace (the CPU ratio's floor is at least 1 ms, as rusage counts in ms)."
	echo
	echo "The same shapes with \`--threads 2\` (the frames read and decoded on a second thread), in the same rounds:"
	echo
	echo "| capture | replay --quiet --threads 2 s | wall, x floor | CPU, x floor | wall, x one thread | CPU, x one thread | faster than tcptrace | result |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
	i=0
	for f in "${SHAPES[@]}"; do
		[ $i -lt 4 ] || break
		RW=$(paste -d' ' "$TMP/s${i}_t2" "$TMP/s${i}_floor" | awk '{ print $1 / $6 }' | median)
		RC=$(paste -d' ' "$TMP/s${i}_t2" "$TMP/s${i}_floor" | awk '{ f = $7 + $8; if (f < 0.001) f = 0.001; print ($2 + $3) / f }' | median)
		R1=$(paste -d' ' "$TMP/s${i}_t2" "$TMP/s${i}_quiet" | awk '{ print $1 / $6 }' | median)
		C1=$(paste -d' ' "$TMP/s${i}_t2" "$TMP/s${i}_quiet" | awk '{ f = $7 + $8; if (f < 0.001) f = 0.001; print ($2 + $3) / f }' | median)
		RT=0
		[ $HAVE_TCPTRACE = 1 ] && RT=$(paste -d' ' "$TMP/s${i}_tcptrace" "$TMP/s${i}_t2" | awk '{ print $1 / $6 }' | median)
		case $f in
		"$STD" | "$INTER_F") want="$RW <= 1.5 && $RC <= 2.5 && $RT >= 2" ;;
		*) want="$RT >= 2" ;;
		esac
		echo "| \`$(basename "$f")\` | $(calc %.3f "$(med "s${i}_t2")") | $(calc %.2f "$RW")x | $(calc %.2f "$RC")x | $(calc %.2f "$R1")x | $(calc %.2f "$C1")x | $(calc %.2f "$RT")x | $(verdict "$want") |"
		i=$((i + 1))
	done
} >"$SHAPE"

# Per frame, on each shape's first SHAPE_SLICE frames: instructions (callgrind, which
# the machine's load does not move) of the replay and of the floor, and tshark's
# time against the replay's on the same slice (tshark is too slow for whole captures).
SHAPE_SLICE=${SHAPE_SLICE:-50000}
if command -v valgrind >/dev/null 2>&1 && command -v editcap >/dev/null 2>&1; then
	say "bench: instructions per frame on each shape's first $SHAPE_SLICE frames (callgrind)"
	ipf() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
	{
		echo
		echo "Per frame, on each capture's first $SHAPE_SLICE frames (\`editcap -F pcap -r CAPTURE SLICE 1-$SHAPE_SLICE\`):"
		echo "instructions counted by callgrind, and tshark's wall time (\`tshark -q -z conv,tcp\`, one run) against"
		echo "replay --quiet's (median of $REPS) on the same slice."
		echo
		echo "| capture | frames | floor instructions/frame | replay --quiet instructions/frame | x floor | tshark s | faster than tshark |"
		echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
		i=0
		for f in "${SHAPES[@]}"; do
			sl="$TMP/slice-$i.pcap"
			editcap -F pcap -r "$f" "$sl" 1-"$SHAPE_SLICE" 2>>"$TMP/stderr" || { i=$((i + 1)); continue; }
			n=$($B/floor "$sl" | awk '{ print $1 }')
			a=$(ipf $B/floor "$sl")
			b=$(ipf $TD replay "$sl" --quiet --hash-seed $SEED)
			ts="not installed"
			rs="-"
			if [ $HAVE_TSHARK = 1 ]; then
				: >"$TMP/sl_quiet"
				for r in $(seq 1 "$REPS"); do
					"$TIMEIT" "$TMP/one" $TD replay "$sl" --quiet --hash-seed $SEED >/dev/null 2>>"$TMP/stderr"
					cat "$TMP/one" >>"$TMP/sl_quiet"
				done
				"$TIMEIT" "$TMP/one" tshark -r "$sl" -q -z conv,tcp >/dev/null 2>>"$TMP/stderr"
				ts=$(calc %.3f "$(col 1 "$TMP/one")")
				rs="$(calc %.1f "$(col 1 "$TMP/one") / $(col 1 "$TMP/sl_quiet" | median)")x"
			fi
			if [ -n "$a" ] && [ -n "$b" ] && [ "${n:-0}" -gt 0 ]; then
				echo "| \`$(basename "$f")\` | $n | $(calc %.0f "$a / $n") | $(calc %.0f "$b / $n") | $(calc %.2f "$b / $a")x | $ts | $rs |"
			fi
			rm -f "$sl"
			i=$((i + 1))
		done
	} >>"$SHAPE"
fi
cat "$SHAPE" >&2

# ---- 2. memory ----------------------------------------------------------------------------

pow2() { awk -v n="$1" 'BEGIN { b = 1; while (b < n) b *= 2; print b }'; }
# replay_mem NAME TIMEOUT "GEN-ARGS" REPLAY-ARGS...: streams `gen GEN-ARGS`
# (its output "-") into `tcpdemux replay -`, under timeit (-t TIMEOUT unless 0).
replay_mem() {
	local name=$1 timeout=$2 gargs=$3
	shift 3
	local t=
	[ "$timeout" -gt 0 ] && t="-t $timeout"
	# shellcheck disable=SC2086
	$B/gen $gargs 2>>"$TMP/stderr" | $TIMEIT $t "$TMP/$name" $TD replay - --quiet --hash-seed $SEED "$@" \
		>"$TMP/$name.out" 2>>"$TMP/stderr"
	say "  $name: $(cat "$TMP/$name")"
}
status() { col 5 "$TMP/$1"; }
peak() { col 4 "$TMP/$1"; }
per() { calc "%.0f" "($(peak "$1") - $(peak "$2")) * 1024 / $3"; } # bytes per unit above a baseline

MEM="$TMP/mem.md"
say "bench: memory"
BM=$(pow2 $MILLION_N)
replay_mem empty_m 0 "empty -" --buckets "$BM"
say "  the $MILLION_N-connection replay (up to ${MILLION_TIMEOUT}s)"
replay_mem million "$MILLION_TIMEOUT" "million - $MILLION_N" --buckets "$BM"
{
	echo "| run | connections | wall s | peak RSS MB | bytes per connection | target | result |"
	echo "| --- | ---: | ---: | ---: | ---: | --- | --- |"
	echo "| empty replay (baseline, \`--buckets $BM\`) | 0 | $(calc %.2f "$(col 1 "$TMP/empty_m")") | $(mb "$(peak empty_m)") | - | - | - |"
	if [ "$(status million)" = 0 ]; then
		echo "| \`gen million\`: $MILLION_N ESTABLISHED at once, each with a request read (\`--buckets $BM\`) | $MILLION_N | $(calc %.1f "$(col 1 "$TMP/million")") | $(mb "$(peak million)") | $(per million empty_m $MILLION_N) (with payload buffers) | < 400 MB peak RSS | $(verdict "$(peak million) < 400 * 1024") |"
		replay_mem idle "$MILLION_TIMEOUT" "million-idle - $MILLION_N" --buckets "$BM"
		if [ "$(status idle)" = 0 ]; then
			echo "| \`gen million-idle\`: $MILLION_N ESTABLISHED at once, no payload | $MILLION_N | $(calc %.1f "$(col 1 "$TMP/idle")") | $(mb "$(peak idle)") | $(per idle empty_m $MILLION_N) | <= 200 B/connection | $(verdict "$(per idle empty_m $MILLION_N) <= 200") |"
		else
			echo "| \`gen million-idle\` | $MILLION_N | did not finish ($(status idle)) | $(mb "$(peak idle)") at the end | - | <= 200 B/connection | not measured |"
		fi
	else
		echo "| \`gen million\`: $MILLION_N ESTABLISHED at once, each with a request read | $MILLION_N | **did not finish in ${MILLION_TIMEOUT} s** ($(status million)) | $(mb "$(peak million)") when stopped | - | < 400 MB peak RSS in a replay that finishes | **not met** |"
		BS=$(pow2 "$SCALED_N")
		say "  scaled down to $SCALED_N connections"
		replay_mem empty_s 0 "empty -" --buckets "$BS"
		replay_mem million_s 0 "million - $SCALED_N" --buckets "$BS"
		replay_mem idle_s 0 "million-idle - $SCALED_N" --buckets "$BS"
		PM=$(per million_s empty_s "$SCALED_N")
		PI=$(per idle_s empty_s "$SCALED_N")
		echo "| empty replay (baseline, \`--buckets $BS\`) | 0 | $(calc %.2f "$(col 1 "$TMP/empty_s")") | $(mb "$(peak empty_s)") | - | - | - |"
		echo "| \`gen million $SCALED_N\`: all ESTABLISHED at once, each with a request read | $SCALED_N | $(calc %.1f "$(col 1 "$TMP/million_s")") | $(mb "$(peak million_s)") | $PM (with payload buffers) | 1M in < 400 MB: $(calc %.0f "$PM * $MILLION_N / 1048576 + $(peak empty_m) / 1024") MB extrapolated | $(verdict "$PM * $MILLION_N / 1048576 + $(peak empty_m) / 1024 < 400") (extrapolated) |"
		echo "| \`gen million-idle $SCALED_N\`: all ESTABLISHED at once, no payload | $SCALED_N | $(calc %.1f "$(col 1 "$TMP/idle_s")") | $(mb "$(peak idle_s)") | $PI | <= 200 B/connection | $(verdict "$PI <= 200") |"
	fi
} >"$MEM"

say "  request sockets: $FLOOD_SMALL SYNs, backlog big enough for all"
BR=$(pow2 $FLOOD_SMALL)
replay_mem empty_r 0 "empty -" --buckets "$BR"
replay_mem requests 0 "synflood $FLOOD_SMALL - $FLOOD_RATE" --buckets "$BR" \
	--listen 10.0.0.1:80,backlog=$((FLOOD_SMALL * 2)) --sysctl net.core.somaxconn=$((FLOOD_SMALL * 2))
REQS=$(sed -n 's/.*summary:.* \([0-9]*\) requests.*/\1/p' "$TMP/requests.out")
[ -n "$REQS" ] && [ "$REQS" -gt 0 ] || REQS=$FLOOD_SMALL
PR=$(per requests empty_r "$REQS")
echo "| SYNs to a listener with backlog $((FLOOD_SMALL * 2)) (\`--buckets $BR\`): request sockets | $REQS requests | $(calc %.1f "$(col 1 "$TMP/requests")") | $(mb "$(peak requests)") | $PR per request | <= 128 B/request | $(verdict "$PR <= 128") |" >>"$MEM"

say "  SYN floods (backlog 128, cookies), $FLOOD_SMALL and $FLOOD_BIG SYNs at $FLOOD_RATE/s"
replay_mem flood_s 0 "synflood $FLOOD_SMALL - $FLOOD_RATE" --listen 10.0.0.1:80,backlog=128
replay_mem flood_b 0 "synflood $FLOOD_BIG - $FLOOD_RATE" --listen 10.0.0.1:80,backlog=128
GROWTH=$(calc %.2f "$(peak flood_b) / $(peak flood_s)")
{
	echo "| SYN flood, $FLOOD_SMALL SYNs at $FLOOD_RATE/s, backlog 128 (cookies) | - | $(calc %.1f "$(col 1 "$TMP/flood_s")") | $(mb "$(peak flood_s)") | - | - | - |"
	echo "| SYN flood, $FLOOD_BIG SYNs at $FLOOD_RATE/s, backlog 128 (cookies) | - | $(calc %.1f "$(col 1 "$TMP/flood_b")") | $(mb "$(peak flood_b)") | $(calc %.0f "($(peak flood_b) - $(peak flood_s)) * 1024 / ($FLOOD_BIG - $FLOOD_SMALL)") per extra SYN | flat: within 10% of the $FLOOD_SMALL-SYN peak | $(verdict "$GROWTH <= 1.10") (x$GROWTH) |"
} >>"$MEM"
for n in million idle million_s idle_s requests flood_s flood_b; do
	[ -f "$TMP/$n.out" ] && grep -H '' "$TMP/$n.out" | sed "s|^$TMP/||" | grep -E 'summary|counters' >>"$TMP/mem_summaries"
done
cat "$MEM" >&2

# ---- 2b. the look-ahead under load, and instructions ------------------------------------

# interleaved: 200,000 handshakes, 2,000 under way at once, a frame every
# microsecond, each SYN-ACK more than 2,000 frames behind its SYN. No limit
# of the replay's look-ahead may change a result: all end ESTABLISHED and
# none is taken for a connection older than the capture.
LOOK="$TMP/look.md"
say "bench: interleaved handshakes ($INTER_N, $((INTER_N / 100)) at once)"
replay_mem inter 0 "interleaved - $INTER_N $((INTER_N / 100))"
EST=$(sed -n 's/.*summary:.* \([0-9]*\) established.*/\1/p' "$TMP/inter.out")
PICKED=$(sed -n 's/^\([0-9]*\) connections were already open.*/\1/p' "$TMP/inter.out")
PICKED=${PICKED:-0}
{
	echo "| run | result | target | verdict |"
	echo "| --- | --- | --- | --- |"
	echo "| \`gen interleaved\`: $INTER_N handshakes, $((INTER_N / 100)) under way at once, $(calc %.1f "$(col 1 "$TMP/inter")") s | ${EST:-?} ESTABLISHED, $PICKED taken as already open | $INTER_N ESTABLISHED, 0 already open | $(verdict "${EST:-0} == $INTER_N && $PICKED == 0") |"
} >"$LOOK"
grep -E 'summary|ISNs|re-based|counters' "$TMP/inter.out" >>"$TMP/look_summary"
# Instructions (callgrind): the wall clock of a shared machine is noisy; the
# instruction counts of the same runs are not. On the 50,000-frame slice.
if command -v valgrind >/dev/null 2>&1; then
	say "bench: instruction counts (callgrind, $SLICE)"
	irefs() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
	I_FLOOR=$(irefs $B/floor "$SLICE")
	I_QUIET=$(irefs $TD replay "$SLICE" --quiet --hash-seed $SEED)
	if [ -n "$I_FLOOR" ] && [ -n "$I_QUIET" ]; then
		R_I=$(calc %.2f "$I_QUIET / $I_FLOOR")
		echo "| \`tcpdemux replay --quiet\` on \`$SLICE\`, instructions (callgrind) | $I_QUIET against the floor's $I_FLOOR: ${R_I}x | <= 3.5x floor | $(verdict "$R_I <= 3.5") |" >>"$LOOK"
	fi
else
	echo "| instructions (callgrind) | valgrind not installed: skipped | <= 3.5x floor | not measured |" >>"$LOOK"
fi
cat "$LOOK" >&2

# ---- 3. tables and sizes ----------------------------------------------------------------

say "bench: table microbenchmarks (bench/lookup.c)"
$B/lookup $LOOKUP_ARGS >"$TMP/lookup.txt" 2>&1 || say "bench: lookup failed"
cat "$TMP/lookup.txt" >&2
$B/sizes >"$TMP/sizes.txt"
cat "$TMP/sizes.txt" >&2

# ---- report ---------------------------------------------------------------------------------

LOAD_END=$(loadavg)
ELAPSED=$(($(date +%s) - START))
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (with uncommitted changes)")
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
TSHARK_V=$([ $HAVE_TSHARK = 1 ] && tshark --version 2>/dev/null | head -1)
TCPTRACE_V=$([ $HAVE_TCPTRACE = 1 ] && tcptrace -v 2>&1 | grep -o 'version [0-9.]*' | head -1)

REPORT="$TMP/report.md"
{
	echo "<!-- BEGIN run.sh: generated by bench/run.sh; edits between these markers are overwritten -->"
	echo "## Results"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); tcpdemux $COMMIT$DIRTY"
	echo "- machine: $(nproc) CPUs, ${CPU:-unknown CPU}, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr)"
	echo "- load average at start / end: $LOAD_START / $LOAD_END (the machine is shared: absolute times are noisy, ratios less so)"
	echo "- libpcap $(pkg-config --modversion libpcap 2>/dev/null || echo '?'); ${TCPTRACE_V:+tcptrace $TCPTRACE_V; }${TSHARK_V:-tshark not installed}"
	echo "- the whole run took $ELAPSED s"
	echo
	echo "### Speed"
	echo
	cat "$SPEED"
	echo
	echo "### Every shape of capture"
	echo
	cat "$SHAPE"
	echo
	echo "### Memory"
	echo
	echo "Each capture is streamed into the replay (\`gen MODE - | tcpdemux replay - --quiet\`); peak RSS is"
	echo "wait4()'s ru_maxrss (what \`/usr/bin/time -v\` reports). Bytes per connection ="
	echo "(peak RSS - peak RSS of an empty replay with the same \`--buckets\`) / connections: it includes the"
	echo "stack's socket (its slot in the stack's pool), the ehash bucket, the descriptor slot, the replay's"
	echo "8-byte record per descriptor and, for requests, the timer-heap entry. The targets of 200 and 128"
	echo "bytes are checked here on that whole cost, and on the structures alone under Sizes."
	echo
	cat "$MEM"
	echo
	echo '```'
	cat "$TMP/mem_summaries" 2>/dev/null
	echo '```'
	echo
	echo "### Look-ahead and instructions"
	echo
	cat "$LOOK"
	echo
	echo '```'
	cat "$TMP/look_summary" 2>/dev/null
	echo '```'
	echo
	echo "### Tables (\`build/bench/lookup\`)"
	echo
	echo '```'
	cat "$TMP/lookup.txt"
	echo '```'
	echo
	echo "### Sizes (\`build/bench/sizes\`)"
	echo
	echo '```'
	cat "$TMP/sizes.txt"
	echo '```'
	echo
	echo "### Reproduce"
	echo
	echo '```sh'
	echo "make bench                      # = bash bench/run.sh; REPS=, MILLION_TIMEOUT=, BENCH_QUICK=1 ..."
	echo "build/bench/gen standard $STD"
	echo "build/bench/floor $STD"
	echo "build/tcpdemux replay $STD --quiet --hash-seed $SEED"
	echo "build/tcpdemux replay $STD --format json --hash-seed $SEED > /dev/null"
	echo "tcptrace -n $STD"
	echo "editcap -F pcap -r $STD $SLICE 1-50000 && tshark -r $SLICE -q -z conv,tcp"
	echo "build/bench/gen million - | build/bench/timeit - build/tcpdemux replay - --quiet --buckets $BM"
	echo "build/bench/gen synflood $FLOOD_BIG - $FLOOD_RATE | build/bench/timeit - build/tcpdemux replay - --quiet --listen 10.0.0.1:80,backlog=128"
	echo "build/bench/gen interleaved - $INTER_N $((INTER_N / 100)) | build/tcpdemux replay - --quiet"
	echo "valgrind --tool=callgrind build/tcpdemux replay $SLICE --quiet --hash-seed $SEED"
	echo "build/bench/lookup"
	echo '```'
	echo "<!-- END run.sh -->"
} >"$REPORT"

if [ -s "$TMP/stderr" ]; then
	say "bench: stderr of the runs (last lines):"
	grep -v 'Running as user "root"' "$TMP/stderr" | tail -5 >&2
fi

cat "$REPORT"
if [ "${NO_RESULTS:-0}" != 1 ]; then
	RES=bench/RESULTS.md
	if [ -f "$RES" ] && grep -q '^<!-- BEGIN run.sh' "$RES" && grep -q '^<!-- END run.sh' "$RES"; then
		awk -v rep="$REPORT" '
			/^<!-- BEGIN run.sh/ { while ((getline l < rep) > 0) print l; skip = 1; next }
			/^<!-- END run.sh/ { skip = 0; next }
			!skip { print }' "$RES" >"$TMP/res" && cp "$TMP/res" "$RES"
	else
		{ echo "# tcpdemux benchmark"; echo; cat "$REPORT"; [ -f "$RES" ] && { echo; cat "$RES"; }; } >"$TMP/res"
		cp "$TMP/res" "$RES"
	fi
	say "bench: wrote $RES"
fi
