# shellcheck shell=bash disable=SC2034
#
# tests/lib/common.sh - helpers shared by the integration test scripts.
#
# Source it (bash only):   . "$(dirname "$0")/../lib/common.sh"
#
# Provides
#   Paths      TESTS_DIR, REPO_ROOT, PY (/usr/bin/python3), SIP_PUBLISH, SIP_PROBE
#   Ports      free_port [COUNT]            COUNT (default 1) distinct free TCP+UDP
#                                           ports on 127.0.0.1, one line, space-separated
#   Dirs       fresh_dir DIR                DIR exists and is empty
#              run_dir NAME                 RUN_DIR: $TEST_LOG_DIR or /tmp/pxts-NAME.*, empty
#   Metrics    metric TEXT SERIES           the value of one Prometheus sample
#   HTTP       curl                         always with --max-time (CURL_MAX_TIME, 20 s)
#   Waiting    wait_http URL [TIMEOUT_S]    until URL answers 2xx/3xx (default 30 s)
#              wait_until TIMEOUT_S CMD...  until CMD succeeds
#   Processes  stop_pid PID [TIMEOUT_S]     SIGTERM, wait, SIGKILL after TIMEOUT_S
#                                           (default 5); only that PID
#   Running    run_cmd NAME CMD...          run CMD, keep its stdout/stderr in
#                                           $RUN_DIR/NAME.out / NAME.err; sets RC, OUT
#   Asserting  ok NAME | fail NAME MSG | assert_eq NAME EXPECTED ACTUAL
#              assert_contains NAME NEEDLE HAYSTACK
#              assert_not_contains NAME NEEDLE HAYSTACK
#              summary                      prints "N passed, M failed"; returns 1 if M > 0
#
# Conventions: the caller sets RUN_DIR (an absolute directory for this test's
# logs and runtime files) before using run_cmd. Nothing here kills by name:
# processes are stopped only by the PID the test started.

# Guard against double sourcing (kamailio.sh sources this file too).
if [[ -n "${PXTS_COMMON_SH:-}" ]]; then
	return 0
fi
PXTS_COMMON_SH=1

TESTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_ROOT="$(cd "$TESTS_DIR/.." && pwd)"
# Debian's Python: the python3 on PATH may be a pyenv shim without Debian's packages.
PY="${PY:-/usr/bin/python3}"
SIP_PUBLISH="$TESTS_DIR/tools/sip_publish.py"
SIP_PROBE="$TESTS_DIR/tools/sip_probe.py"

TESTS_PASSED=0
TESTS_FAILED=0

# Every curl of a test has a time limit: a gateway that hangs makes the
# check fail within CURL_MAX_TIME seconds instead of hanging the suite (a
# --max-time given by the caller comes later and wins).
curl() {
	command curl --max-time "${CURL_MAX_TIME:-20}" "$@"
}

# fresh_dir DIR: DIR exists and is empty (a test's run directory: nothing
# left from an earlier run can be read as this run's result).
fresh_dir() {
	[[ -n "$1" && "$1" != / ]] || { echo "fresh_dir: refusing '$1'" >&2; return 1; }
	rm -rf -- "$1" && mkdir -p -- "$1"
}

# run_dir NAME: sets RUN_DIR to the test's run directory, empty and
# absolute: $TEST_LOG_DIR (as tests/run-all.sh sets it) or a new
# /tmp/pxts-NAME.XXXXXX; then goes to the repository's root. Exits 2 when
# it cannot.
run_dir() {
	RUN_DIR=${TEST_LOG_DIR:-$(mktemp -d "/tmp/pxts-$1.XXXXXX")}
	fresh_dir "$RUN_DIR" || exit 2
	RUN_DIR=$(cd "$RUN_DIR" && pwd)
	cd "$REPO_ROOT" || exit 2
}

# metric TEXT SERIES: the value of the Prometheus sample SERIES (name with
# its labels, exactly as printed, e.g. 'x_total{op="a"}') in TEXT, or
# "absent". Compare it as a number: assert_eq NAME 2 "$(metric "$m" x)".
metric() {
	local line
	while IFS= read -r line; do
		if [[ "${line%% *}" == "$2" ]]; then
			printf '%s\n' "${line##* }"
			return 0
		fi
	done <<<"$1"
	echo absent
}

# now_ms: monotonic-enough wall clock in milliseconds.
now_ms() {
	local t
	t=$(date +%s%N)
	echo $((t / 1000000))
}

# free_port [COUNT]: print COUNT distinct ports (default 1) that are free for
# both TCP and UDP on 127.0.0.1, separated by spaces. Candidates are drawn at
# random below the kernel's ephemeral range, so they do not collide with the
# source ports of outgoing connections; each is checked by binding it.
free_port() {
	local count="${1:-1}"
	"$PY" - "$count" <<'EOF'
import random, socket, sys
count = int(sys.argv[1])
try:
    lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    lo = 32768
lo = max(lo, 12000)
found = []
for _ in range(2000):
    p = random.randint(10000, lo - 1)
    if p in found:
        continue
    socks = []
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            socks.append(s)
            s.bind(("127.0.0.1", p))
        found.append(p)
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
    if len(found) == count:
        print(" ".join(map(str, found)))
        sys.exit(0)
sys.stderr.write("free_port: no free port found\n")
sys.exit(1)
EOF
}

# wait_until TIMEOUT_S CMD [ARGS...]: run CMD every 50 ms until it succeeds
# (return 0) or TIMEOUT_S seconds (may be fractional) have passed (return 1).
wait_until() {
	local timeout_s="$1"
	shift
	local deadline
	deadline=$(($(now_ms) + $(awk -v t="$timeout_s" 'BEGIN { printf "%d", t * 1000 }')))
	while :; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		if (($(now_ms) >= deadline)); then
			return 1
		fi
		sleep 0.05
	done
}

# wait_http URL [TIMEOUT_S]: wait until URL answers with 2xx or 3xx
# (default timeout 30 s: a Python tool or an ASan gateway may take many
# seconds to start on a loaded machine). Returns 0 when ready, 1 on timeout.
wait_http() {
	local url="$1" timeout_s="${2:-30}"
	wait_until "$timeout_s" curl -fsS -o /dev/null --max-time 5 "$url"
}

# pid_alive PID: true while PID exists and is not a zombie.
pid_alive() {
	local pid="$1" state
	kill -0 "$pid" 2>/dev/null || return 1
	state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
	[[ "$state" != "Z" && -n "$state" ]]
}

# stop_pid PID [TIMEOUT_S]: send SIGTERM to PID only, wait up to TIMEOUT_S
# (default 5), then SIGKILL it. Reaps it when it is our child. Returns 0 when
# it ended after SIGTERM (or was already gone), 1 when SIGKILL was needed.
stop_pid() {
	local pid="$1" timeout_s="${2:-5}" rc=0
	[[ "$pid" =~ ^[0-9]+$ ]] || { echo "stop_pid: bad pid '$pid'" >&2; return 2; }
	if pid_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		if ! wait_until "$timeout_s" eval "! pid_alive $pid"; then
			echo "stop_pid: $pid still running after ${timeout_s}s, sending SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null
			wait_until 5 eval "! pid_alive $pid"
			rc=1
		fi
	fi
	# Reap it if it is a child of this shell (no-op otherwise).
	wait "$pid" 2>/dev/null
	return $rc
}

# run_cmd NAME CMD [ARGS...]: run CMD with stdout in $RUN_DIR/NAME.out and
# stderr in $RUN_DIR/NAME.err (plus the command line in NAME.cmd). Sets RC to
# its exit status and OUT to its stdout. Always returns 0 (check RC).
run_cmd() {
	local name="$1"
	shift
	local base="${RUN_DIR:?run_cmd: RUN_DIR is not set}/$name"
	printf '%q ' "$@" >"$base.cmd"
	echo >>"$base.cmd"
	"$@" >"$base.out" 2>"$base.err"
	RC=$?
	OUT=$(cat "$base.out")
	return 0
}

# --- assertions --------------------------------------------------------------

# ok NAME: record a pass.
ok() {
	TESTS_PASSED=$((TESTS_PASSED + 1))
	echo "ok   - $1"
}

# fail NAME MSG: record a failure (MSG explains it).
fail() {
	TESTS_FAILED=$((TESTS_FAILED + 1))
	echo "FAIL - $1: ${2:-}"
}

# assert_eq NAME EXPECTED ACTUAL
assert_eq() {
	if [[ "$2" == "$3" ]]; then
		ok "$1"
	else
		fail "$1" "expected '$2', got '$3'"
	fi
}

# assert_contains NAME NEEDLE HAYSTACK: HAYSTACK contains NEEDLE (plain text).
assert_contains() {
	if [[ "$3" == *"$2"* ]]; then
		ok "$1"
	else
		fail "$1" "'$2' not found in: $(_short "$3")"
	fi
}

# assert_not_contains NAME NEEDLE HAYSTACK
assert_not_contains() {
	if [[ "$3" != *"$2"* ]]; then
		ok "$1"
	else
		fail "$1" "'$2' unexpectedly found in: $(_short "$3")"
	fi
}

# _short TEXT: TEXT on one line, at most 300 characters, for failure messages.
_short() {
	local s="${1//$'\n'/\\n}"
	if ((${#s} > 300)); then
		s="${s:0:300}..."
	fi
	printf '%s' "$s"
}

# summary: print "N passed, M failed"; return 1 if anything failed.
summary() {
	echo "$TESTS_PASSED passed, $TESTS_FAILED failed"
	((TESTS_FAILED == 0))
}
