#!/bin/bash
# time-limit: 90
# shellcheck source-path=SCRIPTDIR
#
# test_outbox_refused.sh - no silent loss when the outbox refuses a write
# (issue: part 6, item 5): another process holds the store's write lock
# (as a backup tool might) longer than the store's busy timeout while a
# watched presentity changes. The callback is not lost and not counted as
# sent: it is held, counted in pxtsgw_callback_enqueue_failures_total, and
# queued again once the lock is gone; the next change follows it in order.
# A real Kamailio (WITH_TEST_USERS), sip_publish.py, the gateway and
# tests/tools/callback_sink.py.
#
#   tests/integration/test_outbox_refused.sh   (TEST_LOG_DIR keeps the logs)
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/kamailio.sh
. "$here/../lib/kamailio.sh"
# shellcheck source=../lib/gateway.sh
. "$here/../lib/gateway.sh"
# shellcheck source=../lib/soap.sh
. "$here/../lib/soap.sh"
run_dir outbox

SINK_PID="" LOCK_PID=""
cleanup() {
	gateway_stop >/dev/null 2>&1
	[[ -n $LOCK_PID ]] && stop_pid "$LOCK_PID" 2 >/dev/null 2>&1
	[[ -n $SINK_PID ]] && stop_pid "$SINK_PID" 2 >/dev/null 2>&1
	kamailio_stop
}
trap cleanup EXIT

read -r KPORT <<<"$(free_port 1)"
kamailio_start "$RUN_DIR/kam" "$KPORT" WITH_TEST_USERS || { fail "kamailio starts" ""; summary; exit 1; }
sink_start || { fail "the sink starts" "$(cat "$RUN_DIR/sink.out")"; summary; exit 1; }
WHO=sip:held@example.com
ETAG=""
# publish STATUS: Busy or Reachable, as one publication modified by its ETag
publish() {
	local -a args=(--basic open)
	[[ $1 == Busy ]] && args+=(--activity on-the-phone)
	[[ -n $ETAG ]] && args+=(--if-match "$ETAG")
	ETAG=$("$PY" "$SIP_PUBLISH" --server "127.0.0.1:$KPORT" "${args[@]}" "$WHO" 2>>"$RUN_DIR/publish.err") ||
		fail "publish $1" "$(tail -1 "$RUN_DIR/publish.err")"
}
# received: the sink's callbacks as "operation status..." lines
received() {
	curl -s "$SINK/received" | "$PY" -c 'import json, sys
for r in json.load(sys.stdin):
    print(r["operation"], " ".join(e["currentStatus"] for e in r.get("entries") or []))'
}
failures() { metric "$(curl -s "$GW_URL/metrics")" pxtsgw_callback_enqueue_failures_total; }

publish Reachable
gateway_start "$RUN_DIR/gw" "$KPORT" || { fail "gateway starts" ""; summary; exit 1; }
sn "start watching $WHO" o1 "$SINK/cb" "$WHO"
assert_eq "no refused callback yet" 0 "$(failures)"

# another process takes the store's write lock and keeps it until told
mkfifo "$RUN_DIR/lock.fifo"
"$PY" -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
print("released", flush=True)
sys.stdin.readline()' "$RUN_DIR/gw/pxtsgw.db" <"$RUN_DIR/lock.fifo" >"$RUN_DIR/lock.out" 2>&1 &
LOCK_PID=$!
exec 7>"$RUN_DIR/lock.fifo"
wait_until 30 grep -q locked "$RUN_DIR/lock.out" || fail "the lock is taken" "$(cat "$RUN_DIR/lock.out")"

publish Busy                       # the NOTIFY's callback meets the lock
wait_until 20 bash -c "[[ \$(curl -s $GW_URL/metrics | sed -n 's/^pxtsgw_callback_enqueue_failures_total //p') == 1 ]]" ||
	fail "the refused callback is counted" "$(failures)"
assert_eq "the refused callback is counted once" 1 "$(failures)"
assert_eq "nothing reached the sink while the outbox refused" "" "$(received)"
assert_contains "the log says it is held" "could not be queued (outbox write failed?): held" "$(cat "$GW_LOG")"
echo >&7                           # the lock goes
wait_until 30 grep -q released "$RUN_DIR/lock.out" || fail "the lock is released" "$(cat "$RUN_DIR/lock.out")"
wait_until 30 bash -c "[[ -n \$(curl -s $SINK/received | tr -d '[] ') ]]"
publish Reachable                  # the next change comes after it
wait_until 30 bash -c "[[ \$(curl -s $SINK/received | grep -o statusNotification | wc -l) -ge 2 ]]"
assert_eq "the held callback went out once the lock was gone, then the next change, in order" \
	"statusNotification Busy
statusNotification Reachable" "$(received)"
assert_eq "still one refusal counted" 1 "$(failures)"
assert_eq "no notification ended for it" 0 "$(metric "$(curl -s "$GW_URL/metrics")" pxtsgw_notifications_unstored_total)"
echo >&7
exec 7>&-

gateway_stop
assert_eq "the gateway exits 0 on SIGTERM" 0 "$?"
assert_not_contains "no sanitizer report" "Sanitizer" "$(cat "$GW_LOG")"
summary
