#!/bin/bash
# time-limit: 90
# shellcheck source-path=SCRIPTDIR
#
# test_state_answers.sh - answers from state (contract section 7; issue:
# part 7, item 1): a getStatus (or a group member) whose presentity has an
# active subscription that has reported a status is answered from it with
# no SIP round trip, and stays exact as NOTIFYs change it; an unwatched one,
# or one whose notification ended, is fetched. Counted in /metrics as
# pxtsgw_status_answers_total{source="state"|"fetch"}, next to the fetches
# themselves. A real Kamailio (WITH_TEST_USERS), sip_publish.py, the
# gateway and tests/tools/callback_sink.py.
#
#   tests/integration/test_state_answers.sh   (TEST_LOG_DIR keeps the logs)
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/kamailio.sh
. "$here/../lib/kamailio.sh"
# shellcheck source=../lib/gateway.sh
. "$here/../lib/gateway.sh"
# shellcheck source=../lib/soap.sh
. "$here/../lib/soap.sh"
run_dir state

SINK_PID=""
cleanup() {
	gateway_stop >/dev/null 2>&1
	[[ -n $SINK_PID ]] && stop_pid "$SINK_PID" 2 >/dev/null 2>&1
	kamailio_stop
}
trap cleanup EXIT

read -r KPORT <<<"$(free_port 1)"
kamailio_start "$RUN_DIR/kam" "$KPORT" WITH_TEST_USERS || { fail "kamailio starts" ""; summary; exit 1; }
sink_start || { fail "the sink starts" "$(cat "$RUN_DIR/sink.out")"; summary; exit 1; }
W=sip:watched@example.com U=sip:unwatched@example.com
declare -A ETAG
# publish URI STATUS: Busy or Reachable, one publication per presentity
publish() {
	local -a args=(--basic open)
	[[ $2 == Busy ]] && args+=(--activity on-the-phone)
	[[ -n ${ETAG[$1]:-} ]] && args+=(--if-match "${ETAG[$1]}")
	ETAG[$1]=$("$PY" "$SIP_PUBLISH" --server "127.0.0.1:$KPORT" "${args[@]}" "$1" 2>>"$RUN_DIR/publish.err") ||
		fail "publish $1 $2" "$(tail -1 "$RUN_DIR/publish.err")"
}
# counts: "<answers from state> <answers by fetch> <fetches ok>"
counts() {
	local m
	m=$(curl -s "$GW_URL/metrics")
	echo "$(metric "$m" 'pxtsgw_status_answers_total{source="state"}')" \
		"$(metric "$m" 'pxtsgw_status_answers_total{source="fetch"}')" \
		"$(metric "$m" 'pxtsgw_fetches_total{result="ok"}')"
}
published() { metric "$(curl -s "$GW_URL/metrics")" pxtsgw_status_published; }
# status ADDRESS: getStatus's result
status() {
	soap_post TerminalStatus "$(getstatus_xml "$1")"
	sed -nE 's/.*<tsl:result>([A-Za-z]+)<\/tsl:result>.*/\1/p' <<<"$BODY"
}
received() { curl -s "$SINK/received" | grep -o '"currentStatus": *"[A-Za-z]*"' | sed 's/.*"\([A-Za-z]*\)"$/\1/' | tr '\n' ' '; }

publish "$W" Busy
publish "$U" Busy
gateway_start "$RUN_DIR/gw" "$KPORT" || { fail "gateway starts" ""; summary; exit 1; }

assert_eq "unwatched: getStatus fetches" "Busy" "$(status "$W")"
assert_eq "unwatched: 0 from state, 1 fetched" "0 1 1" "$(counts)"
assert_eq "nothing published for the HTTP threads" 0 "$(published)"

sn "watch $W" s1 "$SINK/cb" "$W"
wait_until 30 bash -c "curl -s $GW_URL/notifications | grep -q '\"subscription\":\"active\"'" ||
	fail "the subscription is active" "$(curl -s "$GW_URL/notifications")"
before=$(counts)
assert_eq "the watched presentity is published for the HTTP threads" 1 "$(published)"
assert_eq "watched: getStatus answered" "Busy" "$(status "$W")"
read -r s0 f0 k0 <<<"$before"
assert_eq "watched: from state, no fetch" "$((s0 + 1)) $f0 $k0" "$(counts)"

publish "$W" Reachable
wait_until 30 bash -c "curl -s $SINK/received | grep -q Reachable" || fail "the change reaches the callback" "$(received)"
assert_eq "the change was notified" "Reachable " "$(received)"
assert_eq "watched, after the change: the new status" "Reachable" "$(status "$W")"
assert_eq "still from state, still no fetch" "$((s0 + 2)) $f0 $k0" "$(counts)"

soap_post TerminalStatus "$(gsfg_xml "$W" "$U")"
assert_eq "a group: the watched member from state, the other fetched (Reachable, Busy)" \
	"Reachable Busy" "$(sed -nE 's/<currentStatus>([A-Za-z]+)<\/currentStatus>/\n\1\n/gp' <<<"$BODY" | grep -E '^(Busy|Reachable|Unreachable)$' | tr '\n' ' ' | sed 's/ $//')"
assert_eq "the group: one from state, one fetched" "$((s0 + 3)) $((f0 + 1)) $((k0 + 1))" "$(counts)"

en "stop watching" s1
wait_until 30 bash -c "[[ \$(curl -s $GW_URL/metrics | sed -n 's/^pxtsgw_subscriptions //p') == 0 ]]" ||
	fail "the subscription is closed" "$(curl -s "$GW_URL/metrics" | grep '^pxtsgw_subscriptions ')"
assert_eq "after endNotification: withdrawn from the published view" 0 "$(published)"
assert_eq "after endNotification: fetched again" "Reachable" "$(status "$W")"
assert_eq "counted as a fetch" "$((s0 + 3)) $((f0 + 2)) $((k0 + 2))" "$(counts)"

gateway_stop
assert_eq "the gateway exits 0 on SIGTERM" 0 "$?"
assert_not_contains "no sanitizer report" "Sanitizer" "$(cat "$GW_LOG")"
summary
