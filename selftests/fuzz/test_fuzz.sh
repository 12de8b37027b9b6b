#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Bounded libFuzzer runs of every target in selftests/fuzz/ over its
# committed corpus: every seed (regression inputs included) must pass, and
# VXDP_FUZZ_TIME seconds (default 60) of fuzzing from there must find no
# crash, leak, reproducible timeout or sanitizer report. Both targets run at
# once, one per core. New inputs go to a scratch copy of the corpus, never
# into the tree; the inputs of a failure are kept in $BUILD/fuzz/artifacts/.
#
# Binaries come from $BUILD/fuzz/ (BUILD is exported by selftests/Makefile;
# build/ or build/sanitize). Skips only when clang has no libFuzzer runtime.

HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-$HERE/../../build}
FUZZ_TIME=${VXDP_FUZZ_TIME:-60}
TARGETS=(vhost_user vring)
# Rings of up to 256 entries fit an 8 KiB memory image.
declare -A MAX_LEN=([vhost_user]=4096 [vring]=8192)

echo "TAP version 13"

have_libfuzzer()
{
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)\n{ return (void)d, (void)n, 0; }\n' |
		"${CLANG:-clang}" -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null
}

missing=()
for t in "${TARGETS[@]}"; do
	[ -x "$BUILD/fuzz/fuzz_$t" ] || missing+=("$t")
done
if [ ${#missing[@]} -gt 0 ] && ! have_libfuzzer; then
	echo "1..0 # SKIP clang has no libFuzzer runtime (libclang-rt-14-dev)"
	exit 4
fi

echo "1..${#TARGETS[@]}"
SCRATCH=$(mktemp -d /tmp/vxdp-fuzz.XXXXXX) || exit 1
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$SCRATCH"' EXIT

start()
{
	local t=$1 d=$SCRATCH/$1

	mkdir -p "$d/corpus" "$d/artifacts"
	cp "$HERE/corpus/$t/"* "$d/corpus/"
	# -timeout: one input; the outer timeout: libFuzzer itself hanging.
	timeout -k 10 $((FUZZ_TIME + 120)) \
		"$BUILD/fuzz/fuzz_$t" -max_total_time="$FUZZ_TIME" \
		-rss_limit_mb=2048 -timeout=10 -max_len="${MAX_LEN[$t]}" \
		-print_final_stats=1 -artifact_prefix="$d/artifacts/" \
		"$d/corpus" >"$d/log" 2>&1
	echo $? >"$d/rc"
}

# final_stat NAME LOG - a value from libFuzzer's -print_final_stats block.
final_stat()
{
	sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

pids=()
for t in "${TARGETS[@]}"; do
	if [ -x "$BUILD/fuzz/fuzz_$t" ]; then
		start "$t" &
		pids+=($!)
	fi
done
wait "${pids[@]}"

fail=0
n=0
for t in "${TARGETS[@]}"; do
	d=$SCRATCH/$t
	n=$((n + 1))
	if [ ! -x "$BUILD/fuzz/fuzz_$t" ]; then
		echo "# $BUILD/fuzz/fuzz_$t not built (make fuzz)"
		echo "not ok $n - fuzz_$t"
		fail=1
		continue
	fi
	rc=$(cat "$d/rc")
	seeds=$(ls "$HERE/corpus/$t" | wc -l)
	execs=$(final_stat number_of_executed_units "$d/log")
	rate=$(final_stat average_exec_per_sec "$d/log")
	# The last status line carries the final coverage: "cov: N ft: M".
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$d/log" | tail -n 1)
	corp=$(ls "$d/corpus" | wc -l)
	echo "# fuzz_$t: ${execs:-?} execs in ${FUZZ_TIME}s (${rate:-?}/s), ${cov:-no coverage line}, corpus $seeds -> $corp inputs"
	# Crashes, leaks and OOMs fail. A timeout fails only if it happens
	# again on its own: a loaded machine can stall one input for seconds,
	# a real hang stalls it every time. Slow inputs are only reported.
	crashes=0
	flaky=0
	for a in "$d/artifacts/"*; do
		[ -e "$a" ] || continue
		case ${a##*/} in
		slow-unit-*)
			echo "# fuzz_$t: slow input ${a##*/} (machine load?)"
			;;
		timeout-*)
			if timeout -k 10 120 "$BUILD/fuzz/fuzz_$t" -timeout=60 \
				"$a" >"$d/replay.log" 2>&1; then
				echo "# fuzz_$t: ${a##*/} does not time out again (machine load?)"
				flaky=1
			else
				crashes=$((crashes + 1))
			fi
			;;
		*)
			crashes=$((crashes + 1))
			;;
		esac
	done
	if [ "$crashes" -eq 0 ] && { [ "$rc" = 0 ] || [ "$flaky" = 1 ]; }; then
		echo "ok $n - fuzz_$t: ${FUZZ_TIME}s over the committed corpus"
		continue
	fi
	keep=$BUILD/fuzz/artifacts/$t
	mkdir -p "$keep"
	cp "$d/artifacts/"* "$keep/" 2>/dev/null
	cp "$d/log" "$keep/fuzz.log"
	echo "# fuzz_$t: exit status $rc, $crashes artifact(s) kept in $keep:"
	grep -E 'ERROR|SUMMARY|invariant|leaked|#[0-9]+ 0x' "$d/log" | head -n 30 | sed 's/^/#   /'
	echo "not ok $n - fuzz_$t: ${FUZZ_TIME}s over the committed corpus"
	fail=1
done
exit $fail
