#!/bin/bash
#
# test_runner.sh - the suite's own safety net (tests/lib/runner.sh, used by
# tests/run-all.sh): a test whose gateway hangs is killed at its time limit
# and reported as a FAIL with the tail of its log and of the gateway's log,
# and nothing it started is left running; a sanitizer report in a test's
# logs is a failure; a script's "# time-limit: N" line is read.
#
# The hung test is real: a gateway started as every test starts it, then
# stopped with SIGSTOP (it accepts connections and never answers), and a
# check that waits on it.
#
#   tests/integration/test_runner.sh        (TEST_LOG_DIR keeps the logs)
# time-limit: 90
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/gateway.sh
. "$here/../lib/gateway.sh"
# shellcheck source=../lib/runner.sh
. "$here/../lib/runner.sh"
run_dir runner

# the test that hangs: it prints the gateway's PID, stops the gateway and
# waits for an answer (as a curl without a time limit would)
cat >"$RUN_DIR/hang-test.sh" <<EOF
. "$REPO_ROOT/tests/lib/gateway.sh"
trap 'gateway_stop' EXIT
read -r kport <<<"\$(free_port 1)"
gateway_start "$RUN_DIR/hung" "\$kport" -o sip.keepalive-s=0 || exit 1
echo "GW_PID \$GW_PID"
kill -STOP "\$GW_PID"
echo "waiting on the stopped gateway"
command curl -s "\$GW_URL/health"
echo "not reached"
EOF

failed=0
problems=()
t0=$(now_ms)
limited 5 "$RUN_DIR/hang.log" bash "$RUN_DIR/hang-test.sh"
rc=$?
dt=$(($(now_ms) - t0))
assert_eq "a hung test ends with the time limit's status" 124 "$rc"
if ((dt >= 5000 && dt < 20000)); then
	ok "it is stopped at its limit, not later (${dt} ms for a 5 s limit)"
else
	fail "it is stopped at its limit" "${dt} ms for a 5 s limit"
fi
gw=$(sed -n 's/^GW_PID //p' "$RUN_DIR/hang.log")
if [[ $gw =~ ^[0-9]+$ ]]; then
	ok "the hung test had started its gateway"
	if wait_until 30 eval "! pid_alive $gw"; then
		ok "the stopped gateway it started is gone afterwards"
	else
		fail "the stopped gateway it started is gone afterwards" "pid $gw still alive"
		kill -KILL "$gw" 2>/dev/null
	fi
else
	fail "the hung test had started its gateway" "$(tail -5 "$RUN_DIR/hang.log")"
fi
assert_not_contains "the hung test never got past its wait" "not reached" "$(cat "$RUN_DIR/hang.log")"
out=$(timed_out "hang-test" "$RUN_DIR/hang.log" "$RUN_DIR" 5; echo "failed=$failed")
assert_contains "the FAIL line names the test and the limit" "FAIL - hang-test: no result within 5 s (killed)" "$out"
assert_contains "the FAIL line shows the tail of the test's log" "    waiting on the stopped gateway" "$out"
assert_contains "the FAIL line shows the tail of the gateway's log" "-- tail of $RUN_DIR/hung/pxtsgw.log:" "$out"
assert_contains "the FAIL line shows what the gateway logged" "pxtsgw ready" "$out"
assert_contains "a hung test counts as one failure" "failed=1" "$out"

# sanitizer reports in a test's logs (planted outside RUN_DIR: run-all.sh
# scans that for real reports)
SAN=$(mktemp -d /tmp/pxts-san.XXXXXX) || exit 2
trap 'rm -rf "$SAN" "$SAN.out"' EXIT
mkdir -p "$SAN/a" "$SAN/b"
printf 'ok   - fine\n1 passed, 0 failed\n' >"$SAN/a/clean.log"
printf '==1==ERROR: AddressSanitizer: heap-use-after-free\nSUMMARY: AddressSanitizer: heap-use-after-free x.c:1 in f\n' >"$SAN/b/pxtsgw.log"
printf 'WARNING: ThreadSanitizer: data race (pid=1)\nSUMMARY: ThreadSanitizer: data race x.c:2 in g\n' >"$SAN/b/tsan.log"
printf 'src/x.c:10:5: runtime error: signed integer overflow\n' >"$SAN/a/ubsan.log"
printf 'ok   - gateway exits 0 on SIGTERM, no sanitizer report\n' >"$SAN/a/words.log"
out=$(failed=0; sanitizer_reports "san" "$SAN" >"$SAN.out"; sort "$SAN.out"; echo "failed=$failed")
assert_eq "each log with an ASan, TSan or UBSan report is one failure, others none" \
	"$(printf '%s\n' "FAIL - san: sanitizer report in $SAN/a/ubsan.log:" \
		"FAIL - san: sanitizer report in $SAN/b/pxtsgw.log:" \
		"FAIL - san: sanitizer report in $SAN/b/tsan.log:" "failed=3")" \
	"$(grep -E '^(FAIL|failed=)' <<<"$out")"

# time limits
printf '#!/bin/bash\n# time-limit: 42\n' >"$RUN_DIR/limit42.sh"
printf '#!/bin/bash\n' >"$RUN_DIR/nolimit.sh"
assert_eq "a script's time-limit line is read" 42 "$(TEST_TIME_LIMIT='' time_limit "$RUN_DIR/limit42.sh" 300)"
assert_eq "without one, the default" 300 "$(TEST_TIME_LIMIT='' time_limit "$RUN_DIR/nolimit.sh" 300)"
assert_eq "TEST_TIME_LIMIT overrides it" 7 "$(TEST_TIME_LIMIT=7 time_limit "$RUN_DIR/limit42.sh" 300)"
summary
