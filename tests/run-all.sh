#!/usr/bin/env bash
# run-all.sh [unit|integration|all] - the whole test suite.
#
#   unit:        every tests/unit/test_* built with ASan+UBSan, then the same
#                tests built plain and run under valgrind (leaks are errors)
#   integration: every tests/integration/test_*.sh, against a real Kamailio
#                and the gateway built with ASan+UBSan
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

count_cmocka() { # log name
	local p f
	p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$1" | tail -1 | grep -oE '[0-9]+' | head -1)
	f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$1" | tail -1 | grep -oE '[0-9]+' | head -1)
	p=${p:-0}; f=${f:-0}
	passed=$((passed + p)); failed=$((failed + f))
	echo "$2: $p passed, $f failed"
}

run_unit() {
	echo "== unit tests (ASan + UBSan)"
	if ! make -s FLAVOUR=asan unit-bins >"$logdir/build-asan.log" 2>&1; then
		cat "$logdir/build-asan.log"; problems+=("ASan build failed"); failed=$((failed + 1)); return
	fi
	for t in build/asan/tests/test_*; do
		[[ $t == *.d ]] && continue
		n=$(basename "$t")
		if ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
			"$t" >"$logdir/$n.asan.log" 2>&1; then :; else
			problems+=("$n (asan) exited non-zero: see $logdir/$n.asan.log")
			grep -qE '^\[  FAILED  \]' "$logdir/$n.asan.log" || failed=$((failed + 1))
		fi
		count_cmocka "$logdir/$n.asan.log" "$n (asan)"
	done
	echo "== unit tests (valgrind)"
	if ! make -s unit-bins >"$logdir/build-plain.log" 2>&1; then
		cat "$logdir/build-plain.log"; problems+=("plain build failed"); failed=$((failed + 1)); return
	fi
	for t in build/plain/tests/test_*; do
		[[ $t == *.d ]] && continue
		n=$(basename "$t")
		if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
			"$t" >"$logdir/$n.valgrind.log" 2>&1; then :; else
			problems+=("$n (valgrind) exited non-zero: see $logdir/$n.valgrind.log")
			grep -qE '^\[  FAILED  \]' "$logdir/$n.valgrind.log" || failed=$((failed + 1))
		fi
		count_cmocka "$logdir/$n.valgrind.log" "$n (valgrind)"
	done
}

run_integration() {
	echo "== integration tests"
	if ! make -s FLAVOUR=asan all >"$logdir/build-asan-gw.log" 2>&1 || ! make -s all >>"$logdir/build-asan-gw.log" 2>&1; then
		cat "$logdir/build-asan-gw.log"; problems+=("gateway build failed"); failed=$((failed + 1)); return
	fi
	export PXTSGW_BIN=${PXTSGW_BIN:-$PWD/build/asan/pxtsgw}
	for t in tests/integration/test_*.sh; do
		n=$(basename "$t" .sh)
		echo "-- $n"
		TEST_LOG_DIR="$PWD/$logdir/$n" bash "$t" >"$logdir/$n.log" 2>&1
		rc=$?
		line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logdir/$n.log" | tail -1)
		if [[ -z $line ]]; then
			problems+=("$n printed no result line (exit $rc): see $logdir/$n.log")
			failed=$((failed + 1))
			tail -20 "$logdir/$n.log"
			continue
		fi
		p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
		passed=$((passed + p)); failed=$((failed + f))
		echo "$n: $line"
		if [[ $rc -ne 0 ]]; then
			grep -E '^(FAIL|not ok)' "$logdir/$n.log" | head -20
			[[ $f -eq 0 ]] && { problems+=("$n exited $rc"); failed=$((failed + 1)); }
		fi
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

case $what in
unit) run_unit ;;
integration) run_integration ;;
all) run_gen_check; run_unit; run_integration ;;
*) echo "usage: $0 [unit|integration|all]" >&2; exit 2 ;;
esac

for p in "${problems[@]}"; do echo "problem: $p"; done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
