#!/usr/bin/env bash
# run-all.sh [unit|fuzz|integration|all] - the whole test suite.
#
#   unit:        every tests/unit/test_* built with ASan+UBSan, then built
#                plain and run under valgrind (leaks are errors), then built
#                with ThreadSanitizer
#   fuzz:        the short pass of every libFuzzer target (tests/fuzz, make
#                fuzz-check): its regression and corpus files once, then
#                FUZZ_CHECK_SECONDS (20) of fuzzing; one result per target.
#                Needs clang with libFuzzer: without it every target fails
#   integration: every tests/integration/test_*.sh against a real Kamailio
#                and the gateway built with ASan+UBSan; getstatus and
#                notifications again against the shipped binary (bin/pxtsgw);
#                notifications, delivery, restart, sip_script, front, scope and
#                tls again under ThreadSanitizer
#
# Every test runs in an empty directory of its own ($TEST_LOG_DIR/<name>)
# and under a time limit (an integration script's "# time-limit: N" line,
# else 300 s; 300 s for a unit test binary; TEST_TIME_LIMIT overrides both):
# one that hangs is killed
# (with everything it started: its process group) and counted as a FAIL
# with the tail of its logs. A sanitizer report in any log a test leaves
# is a failure too, whatever the test itself concluded.
#
# Ends with one line "N passed, M failed" (all tests, all suites) and exits
# non-zero when anything failed or could not run.
set -uo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
passed=0
failed=0
problems=()
logdir=${TEST_LOG_DIR:-build/test-logs}
mkdir -p "$logdir"
logdir=$(cd "$logdir" && pwd)

export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=0 exitcode=66 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp print_suppressions=0}"

. tests/lib/runner.sh

count_cmocka() { # log name
	local p f
	p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$1" | tail -1 | grep -oE '[0-9]+' | head -1)
	f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$1" | tail -1 | grep -oE '[0-9]+' | head -1)
	p=${p:-0}; f=${f:-0}
	passed=$((passed + p)); failed=$((failed + f))
	echo "$2: $p passed, $f failed"
}

# unit_flavour FLAVOUR LABEL RUNNER...: builds the unit tests of FLAVOUR
# and runs each (under RUNNER, e.g. valgrind).
unit_flavour() {
	local fl=$1 label=$2 t n log rc limit=${TEST_TIME_LIMIT:-300}
	shift 2
	echo "== unit tests ($label)"
	if ! make -s FLAVOUR="$fl" unit-bins >"$logdir/build-$fl.log" 2>&1; then
		cat "$logdir/build-$fl.log"; problems+=("$fl build failed"); failed=$((failed + 1)); return
	fi
	for t in build/"$fl"/tests/test_*; do
		[[ $t == *.d ]] && continue
		n=$(basename "$t")
		log="$logdir/$n.$label.log"
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
			limited "$limit" "$log" "$@" "$t"
		rc=$?
		if [[ $rc -eq 124 || $rc -eq 137 ]]; then
			timed_out "$n ($label)" "$log" "" "$limit"
			continue
		fi
		if [[ $rc -ne 0 ]]; then
			problems+=("$n ($label) exited $rc: see $log")
			grep -qE '^\[  FAILED  \]' "$log" || failed=$((failed + 1))
		fi
		count_cmocka "$log" "$n ($label)"
		[[ $rc -eq 0 ]] && sanitizer_reports "$n ($label)" "$log"
	done
}

run_unit() {
	unit_flavour asan asan
	unit_flavour plain valgrind valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect
	unit_flavour tsan tsan
}

# run_fuzz: the short pass of each fuzz target (tests/fuzz/run.sh check),
# a pass or a fail per target, the tail of its log on failure.
run_fuzz() {
	local f n t log rc limit names=() secs=${FUZZ_CHECK_SECONDS:-20}
	echo "== fuzzing (short pass)"
	for f in tests/fuzz/fuzz_*.c; do
		n=${f#tests/fuzz/fuzz_}
		names+=("${n%.c}")
	done
	if ! command -v "${FUZZ_CC:-clang}" >/dev/null; then
		for n in "${names[@]}"; do
			echo "FAIL - fuzz_$n: ${FUZZ_CC:-clang} not found (make deps installs clang and libclang-rt-14-dev)"
			problems+=("fuzz_$n: no clang")
			failed=$((failed + 1))
		done
		return
	fi
	if ! make -s FLAVOUR=fuzz fuzz-bins >"$logdir/build-fuzz.log" 2>&1; then
		tail -30 "$logdir/build-fuzz.log"
		for n in "${names[@]}"; do
			echo "FAIL - fuzz_$n: the fuzz targets did not build: see $logdir/build-fuzz.log"
			problems+=("fuzz_$n: build failed")
			failed=$((failed + 1))
		done
		return
	fi
	# the replay and the fuzzing, with room to spare
	limit=${TEST_TIME_LIMIT:-$((secs + 120))}
	for n in "${names[@]}"; do
		t="fuzz_$n"
		log="$logdir/$t.log"
		FUZZ_CHECK_SECONDS=$secs limited "$limit" "$log" bash tests/fuzz/run.sh check "$n"
		rc=$?
		if [[ $rc -eq 124 || $rc -eq 137 ]]; then
			timed_out "$t" "$log" "" "$limit"
			continue
		fi
		if [[ $rc -ne 0 ]]; then
			echo "FAIL - $t (exit $rc); tail of $log:"
			tail -25 "$log" | sed 's/^/    /'
			problems+=("$t failed: see $log")
			failed=$((failed + 1))
			continue
		fi
		passed=$((passed + 1))
		grep -E "^$t: ok" "$log" || echo "$t: ok"
	done
}

# integration_run SCRIPT LABEL BINARY: one integration script against one
# gateway binary, in an empty directory.
integration_run() {
	local t=$1 label=$2 bin=$3 n name dir log rc line p f limit
	n=$(basename "$t" .sh)
	limit=$(time_limit "$t" 300)
	name=$n${label:+ ($label)}
	dir="$logdir/$n${label:+.$label}"
	log="$dir.log"
	rm -rf "$dir" && mkdir -p "$dir"
	echo "-- $name"
	PXTSGW_BIN=$bin PXTSGW_FLAVOUR=${label:-asan} TEST_LOG_DIR=$dir limited "$limit" "$log" bash "$t"
	rc=$?
	if [[ $rc -eq 124 || $rc -eq 137 ]]; then
		timed_out "$name" "$log" "$dir" "$limit"
		return
	fi
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [[ -z $line ]]; then
		problems+=("$name printed no result line (exit $rc): see $log")
		failed=$((failed + 1))
		tail -20 "$log"
		return
	fi
	p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
	passed=$((passed + p)); failed=$((failed + f))
	echo "$name: $line"
	if [[ $rc -ne 0 ]]; then
		grep -E '^(FAIL|not ok)' "$log" | head -20
		[[ $f -eq 0 ]] && { problems+=("$name exited $rc"); failed=$((failed + 1)); }
	fi
	sanitizer_reports "$name" "$log" "$dir"
}

run_integration() {
	local t
	echo "== integration tests"
	if ! { make -s FLAVOUR=asan all && make -s all && make -s FLAVOUR=tsan all; } >"$logdir/build-gw.log" 2>&1; then
		cat "$logdir/build-gw.log"; problems+=("gateway build failed"); failed=$((failed + 1)); return
	fi
	for t in tests/integration/test_*.sh; do
		integration_run "$t" "" "$PWD/build/asan/pxtsgw"
	done
	echo "== integration tests against the shipped binary (bin/pxtsgw)"
	for t in getstatus notifications; do
		integration_run "tests/integration/test_$t.sh" plain "$PWD/bin/pxtsgw"
	done
	echo "== integration tests under ThreadSanitizer"
	for t in notifications delivery restart sip_script front scope tls status_page rest_retrieve usage logs rest_subs state_answers; do
		[[ -f tests/integration/test_$t.sh ]] || { problems+=("test_$t.sh is missing"); failed=$((failed + 1)); continue; }
		integration_run "tests/integration/test_$t.sh" tsan "$PWD/build/tsan/pxtsgw"
	done
}

run_gen_check() {
	echo "== generated code is fresh (make gen-check)"
	if make -s gen-check >"$logdir/gen-check.log" 2>&1; then
		passed=$((passed + 1)); echo "gen-check: ok"
	else
		failed=$((failed + 1)); problems+=("gen/ is stale: see $logdir/gen-check.log"); tail -5 "$logdir/gen-check.log"
	fi
}

start=$(date +%s)
case $what in
unit) run_unit ;;
fuzz) run_fuzz ;;
integration) run_integration ;;
all) run_gen_check; run_unit; run_fuzz; run_integration ;;
*) echo "usage: $0 [unit|fuzz|integration|all]" >&2; exit 2 ;;
esac

for p in "${problems[@]}"; do echo "problem: $p"; done
echo "wall time: $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
