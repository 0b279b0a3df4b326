#!/bin/bash
# time-limit: 120
# shellcheck source-path=SCRIPTDIR
#
# test_zeep.sh - pxtsgw's TerminalStatus service end to end, seen by a real
# SOAP client (python3-zeep via tests/tools/zeep_client.py, built from the
# WSDL the gateway serves), against a throw-away Kamailio presence server
# (WITH_TEST_USERS) fed with tests/tools/sip_publish.py.
#
# Covers: getStatus for both busy shapes (RFC 4480 and rpid-status), busy with
# basic closed, open, closed, two tuples (open + closed), never published,
# tel: mapped to sip:+N@<presence server host>;user=phone; the faults SVC0002
# (mailto:), POL0006 (group URI), POL0002 (403), SVC0004 (404), SVC0001 (500,
# and no answer: within fetch timeout + 1 s); getStatusForGroup with a nested
# group + a direct address (members by their own URIs, the silent member
# NotRetrieved, the whole call within fetch timeout + 1 s), per-entry errors;
# a second gateway with policy.group-support=false (POL0006); clean exits
# (no ASan reports) of both gateways.
#
# Usage: tests/integration/test_zeep.sh
#   RUN_DIR=/abs/dir  keep logs there (default: a temp dir, removed on success)
#   PXTSGW_BIN=...    gateway binary (default: build/asan/pxtsgw if built)
# Prints "N passed, M failed"; exit status 1 if anything failed.

set -u
# shellcheck source=../lib/kamailio.sh
. "$(dirname "$0")/../lib/kamailio.sh"
# shellcheck source=../lib/gateway.sh
. "$(dirname "$0")/../lib/gateway.sh"

ZEEP="$TESTS_DIR/tools/zeep_client.py"
FETCH_TIMEOUT_MS=3000   # a normal fetch on a loaded machine stays far below it
LIMIT_MS=20000   # answered by the fetch timeout, not the HTTP timeouts (60 s); far from both

if [[ -n "${TEST_LOG_DIR:-}" ]]; then     # tests/run-all.sh
	RUN_DIR=$TEST_LOG_DIR
	fresh_dir "$RUN_DIR" || exit 2
	KEEP_RUN_DIR=1
elif [[ -n "${RUN_DIR:-}" ]]; then
	RUN_DIR="$RUN_DIR/zeep"
	fresh_dir "$RUN_DIR" || exit 2
	KEEP_RUN_DIR=1
else
	RUN_DIR=$(mktemp -d /tmp/pxts-zeep.XXXXXX)
	KEEP_RUN_DIR=0
fi
RUN_DIR=$(cd "$RUN_DIR" && pwd)

GW1_PID="" GW2_PID=""
BG_PIDS=()
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do
		stop_pid "$p" 2 >/dev/null 2>&1
	done
	for p in "$GW1_PID" "$GW2_PID"; do
		[[ -n "$p" ]] && GW_PID=$p gateway_stop
	done
	kamailio_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T0=$(now_ms)

# --- presence server and gateways ---------------------------------------------------
KPORT=$(free_port) || { echo "no free port"; exit 1; }
if ! kamailio_start "$RUN_DIR/kam" "$KPORT" WITH_TEST_USERS; then
	fail "kamailio starts" "see $RUN_DIR/kam/kamailio.log"
	summary
	exit 1
fi
SRV="127.0.0.1:$KPORT"

D=example.com           # domain of the test terminals
TEAM=sip:team@groups.example
SUB=sip:sub@groups.example
TEL=tel:+15551234
# sip.tel-domain defaults to the presence server's host: tel:+15551234 is
# fetched as sip:+15551234@127.0.0.1;user=phone.
TEL_SIP="sip:+15551234@127.0.0.1;user=phone"

GROUP_FILE="$RUN_DIR/groups.txt"
cat >"$GROUP_FILE" <<EOF
# test groups (test_zeep.sh)
$TEAM	sip:alice@$D sip:bob@$D sip:silent-m@$D $SUB
$SUB	sip:carol@$D $TEL   # nested
EOF

GW_OPTS=(-o "group.file=$GROUP_FILE" -o "status.fetch-timeout-ms=$FETCH_TIMEOUT_MS")
if ! gateway_start "$RUN_DIR/gw1" "$KPORT" "${GW_OPTS[@]}"; then
	fail "gateway starts" "see $RUN_DIR/gw1/pxtsgw.log"
	summary
	exit 1
fi
# shellcheck disable=SC2153  # GW_* are set by gateway_start
GW1_PID=$GW_PID GW1_URL=$GW_URL GW1_LOG=$GW_LOG
if ! gateway_start "$RUN_DIR/gw2" "$KPORT" "${GW_OPTS[@]}" -o policy.group-support=false; then
	fail "second gateway (group-support=false) starts" "see $RUN_DIR/gw2/pxtsgw.log"
	summary
	exit 1
fi
GW2_PID=$GW_PID GW2_URL=$GW_URL GW2_LOG=$GW_LOG
ok "kamailio (port $KPORT) and two gateways started ($(($(now_ms) - T0)) ms)"

# --- publications ------------------------------------------------------------------
# publish NAME PRESENTITY [ARGS...]
publish() {
	local name="$1" who="$2"
	shift 2
	run_cmd "$name" "$PY" "$SIP_PUBLISH" --server "$SRV" "$@" "$who"
	if [[ $RC -eq 0 && -n "$OUT" ]]; then
		ok "publish $name"
	else
		fail "publish $name" "rc=$RC ($(_short "$(cat "$RUN_DIR/$name.err")"))"
	fi
}
publish pub-alice "sip:alice@$D" --basic open --activity on-the-phone
publish pub-bob "sip:bob@$D" --basic open --activity on-the-phone --activity-shape rpid-status
publish pub-carol "sip:carol@$D" --basic open
publish pub-dave "sip:dave@$D" --basic closed
publish pub-erin-a "sip:erin@$D" --basic open --tuple-id phone-a
publish pub-erin-b "sip:erin@$D" --basic closed --tuple-id phone-b
publish pub-gina "sip:gina@$D" --basic closed --activity busy
publish pub-tel "$TEL_SIP" --basic open --activity on-the-phone
# frank: never published.

# --- calls ----------------------------------------------------------------------------
# zcall NAME URL OP ADDR...: zeep_client.py --time; sets RC, OUT (without the
# elapsed_ms line) and ELAPSED (ms of the SOAP call).
zcall() {
	local name="$1"
	shift
	run_cmd "$name" "$PY" "$ZEEP" --time "$@"
	ELAPSED=$(sed -n 's/^elapsed_ms //p' <<<"$OUT")
	OUT=$(grep -v '^elapsed_ms ' <<<"$OUT")
	if [[ $RC -ne 0 ]]; then
		echo "  ($name: rc=$RC: $(_short "$(cat "$RUN_DIR/$name.err")"))"
	fi
}

# expect_status ADDRESS STATUS
expect_status() {
	local addr="$1" want="$2" name="getStatus-${1//[^A-Za-z0-9+]/_}"
	zcall "$name" "$GW1_URL" getStatus "$addr"
	assert_eq "getStatus $addr -> $want" "status $want" "$OUT"
}
expect_status "sip:alice@$D" Busy         # RFC 4480 on-the-phone in dm:person
expect_status "sip:bob@$D" Busy           # rpid-status activity in the tuple
expect_status "sip:carol@$D" Reachable    # open
expect_status "sip:dave@$D" Unreachable   # closed
expect_status "sip:erin@$D" Reachable     # two tuples: open + closed
expect_status "sip:gina@$D" Busy          # closed but busy
expect_status "sip:frank@$D" Unreachable  # never published
expect_status "$TEL" Busy                 # tel: -> sip:+15551234@127.0.0.1;user=phone

# The slow calls (silent user: the fetch timeout) run in the background while
# the rest goes on, each writing RC, elapsed and wall-clock ms to NAME.rc.
# They start only now, after every published presentity has been fetched
# once, one at a time: the test Kamailio (SQLite, no busy timeout) writes a
# watchers row on the first SUBSCRIBE of a watcher to a presentity, and such
# first SUBSCRIBEs arriving at once often fail with "database is locked" ->
# 500 -> NotRetrieved. Later fetches only read, and can run in parallel.
bg_zcall() {
	local name="$1"
	shift
	(
		t=$(now_ms)
		zcall "$name" "$@"
		echo "$RC ${ELAPSED:-none} $(($(now_ms) - t))" >"$RUN_DIR/$name.rc"
	) &
	BG_PIDS+=($!)
}
bg_zcall silent "$GW1_URL" getStatus "sip:silent1@$D"
bg_zcall group "$GW1_URL" getStatusForGroup "$TEAM" "sip:dave@$D"

# expect_fault NAME URL OP ADDR... -- ID EXCEPTION FAULTCODE VAR...: the call
# answers with a fault: messageId ID in an EXCEPTION detail, faultcode
# FAULTCODE (local part), and exactly the variables VAR...
expect_fault() {
	local name="$1" url="$2" op="$3"
	shift 3
	local -a addrs=()
	while [[ $1 != -- ]]; do addrs+=("$1"); shift; done
	shift
	local id="$1" exc="$2" code="$3"
	shift 3
	zcall "$name" "$url" "$op" "${addrs[@]}"
	assert_eq "$name: SOAP answer (exit 0)" 0 "$RC"
	assert_eq "$name: $id" "$id" "$(sed -n 's/^fault \([^ ]*\).*/\1/p' <<<"$OUT")"
	assert_eq "$name: $exc detail" "exception $exc" "$(grep '^exception ' <<<"$OUT")"
	assert_eq "$name: faultcode $code" "$code" "$(sed -n 's/^faultcode \(.*:\)\{0,1\}//p' <<<"$OUT")"
	local want="" v
	for v in "$@"; do want+="variable $v"$'\n'; done
	assert_eq "$name: variables" "${want%$'\n'}" "$(grep '^variable ' <<<"$OUT")"
}
expect_fault fault-mailto "$GW1_URL" getStatus mailto:alice@example.com -- \
	SVC0002 ServiceException Client address
assert_contains "fault-mailto: faultstring" \
	"fault SVC0002 Invalid input value for message part address" "$OUT"
assert_contains "fault-mailto: template text" \
	"text Invalid input value for message part %1" "$OUT"
expect_fault fault-group "$GW1_URL" getStatus "$TEAM" -- \
	POL0006 PolicyException Server address
expect_fault fault-private "$GW1_URL" getStatus "sip:private1@$D" -- \
	POL0002 PolicyException Server "sip:private1@$D"
assert_contains "fault-private: faultstring" \
	"fault POL0002 Privacy verification failed for address sip:private1@$D, request is refused" "$OUT"
expect_fault fault-unknown "$GW1_URL" getStatus "sip:unknown1@$D" -- \
	SVC0004 ServiceException Client address
zcall fault-broken "$GW1_URL" getStatus "sip:broken1@$D"
assert_contains "getStatus broken1 (500) -> SVC0001" "fault SVC0001 " "$OUT"

# Per-entry outcomes: 403 -> Error POL0002, 404 -> Error SVC0004, 500 ->
# NotRetrieved; addresses exactly as written (tel: stays tel:).
zcall group-errors "$GW1_URL" getStatusForGroup "sip:private1@$D" "sip:unknown1@$D" \
	"sip:broken1@$D" "$TEL"
# (order-independent: both sides sorted)
assert_eq "getStatusForGroup per-entry results" \
	"$(sort <<<"sip:private1@$D Error POL0002
sip:unknown1@$D Error SVC0004
sip:broken1@$D NotRetrieved
$TEL Retrieved Busy")" "$(sort <<<"$OUT")"

# --- second gateway: policy.group-support=false -----------------------------------------
expect_fault gw2-group "$GW2_URL" getStatusForGroup "sip:alice@$D" "$TEAM" -- \
	POL0006 PolicyException Server addresses
expect_fault gw2-getStatus-group "$GW2_URL" getStatus "$SUB" -- \
	POL0006 PolicyException Server address
zcall gw2-plain "$GW2_URL" getStatusForGroup "sip:alice@$D" "sip:carol@$D"
assert_eq "gw2: getStatusForGroup without groups still works" \
	"$(sort <<<"sip:alice@$D Retrieved Busy
sip:carol@$D Retrieved Reachable")" "$(sort <<<"$OUT")"

# --- the background calls ------------------------------------------------------------
for p in "${BG_PIDS[@]}"; do wait "$p"; done
BG_PIDS=()

read -r rc el wall <"$RUN_DIR/silent.rc"
OUT=$(grep -v '^elapsed_ms ' "$RUN_DIR/silent.out")
assert_eq "getStatus silent: SOAP answer" 0 "$rc"
assert_contains "getStatus silent -> SVC0001" "fault SVC0001 " "$OUT"
if [[ $el =~ ^[0-9]+$ ]] && ((el >= FETCH_TIMEOUT_MS - 100 && el < LIMIT_MS)); then
	ok "getStatus silent: answered after ${el} ms (fetch timeout ${FETCH_TIMEOUT_MS}, limit ${LIMIT_MS}; ${wall} ms with client start)"
else
	fail "getStatus silent: timing" "elapsed ${el} ms, want ${FETCH_TIMEOUT_MS}-100..${LIMIT_MS}"
fi

read -r rc el wall <"$RUN_DIR/group.rc"
OUT=$(grep -v '^elapsed_ms ' "$RUN_DIR/group.out")
assert_eq "getStatusForGroup team+dave: SOAP answer" 0 "$rc"
assert_eq "getStatusForGroup team+dave: one entry per terminal" 6 "$(grep -c . <<<"$OUT")"
declare -A GOT=()
while read -r addr rest; do GOT[$addr]=$rest; done <<<"$OUT"
for pair in "sip:alice@$D=Retrieved Busy" "sip:bob@$D=Retrieved Busy" \
	"sip:silent-m@$D=NotRetrieved" "sip:carol@$D=Retrieved Reachable" \
	"$TEL=Retrieved Busy" "sip:dave@$D=Retrieved Unreachable"; do
	addr=${pair%%=*} want=${pair#*=}
	assert_eq "group entry $addr" "$want" "${GOT[$addr]:-<missing>}"
done
assert_not_contains "group URIs are not reported as entries" "@groups.example" "$OUT"
if [[ $el =~ ^[0-9]+$ ]] && ((el < LIMIT_MS)); then
	ok "getStatusForGroup with a silent member: answered after ${el} ms (limit ${LIMIT_MS}; ${wall} ms with client start)"
else
	fail "getStatusForGroup timing" "elapsed ${el} ms, limit ${LIMIT_MS}"
fi

# --- stop -----------------------------------------------------------------------------
stop_gw() {
	local label="$1" pid="$2" log="$3" rc
	GW_PID=$pid gateway_stop
	rc=$?
	if ((rc == 0)); then
		ok "$label exits cleanly (status 0)"
	else
		fail "$label exit status" "$rc; log tail:"
		tail -n 30 "$log" | sed 's/^/    /'
	fi
}
stop_gw "gateway" "$GW1_PID" "$GW1_LOG"
GW1_PID=""
stop_gw "gateway (group-support=false)" "$GW2_PID" "$GW2_LOG"
GW2_PID=""
kamailio_stop

echo "run dir: $RUN_DIR (total $(($(now_ms) - T0)) ms)"
if summary; then
	((KEEP_RUN_DIR)) || rm -rf "$RUN_DIR"
	exit 0
fi
exit 1
