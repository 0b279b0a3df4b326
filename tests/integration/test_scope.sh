#!/bin/bash
# time-limit: 150
# shellcheck source-path=SCRIPTDIR
#
# test_scope.sh - per-application scope (contract section 11): with a users
# file, a notification belongs to the application that started it.
# Correlators are unique per application (two applications may use the same
# one; SVC0005 only within one); endNotification of a correlator the caller
# does not own is SVC0002 and ends nothing; /notifications and /deliveries
# show an app its own only (another application's correlator answers as an
# unknown one, []), and an admin everyone's with an "app" field (&app=NAME
# for one application); the owner survives a restart. Quotas:
# policy.max-notifications-per-app and policy.max-notifications (POL0001
# "too many notifications", nothing created), policy.max-presence-
# subscriptions (POL0001 "too many subscriptions"), policy.max-requests-per-s
# (POL0001 "request rate exceeded"; a token bucket of one second). A real Kamailio
# (WITH_TEST_USERS, fed with sip_publish.py), the gateway with a users file
# and tests/tools/callback_sink.py.
#
#   tests/integration/test_scope.sh        (TEST_LOG_DIR keeps the logs)
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/kamailio.sh
. "$here/../lib/kamailio.sh"
# shellcheck source=../lib/gateway.sh
. "$here/../lib/gateway.sh"
# shellcheck source=../lib/soap.sh
. "$here/../lib/soap.sh"
run_dir scope
CB_WAIT=5

SINK_PID=""
cleanup() {
	gateway_stop >/dev/null 2>&1
	[[ -n $SINK_PID ]] && stop_pid "$SINK_PID" 2 >/dev/null 2>&1
	kamailio_stop
}
trap cleanup EXIT

users=$RUN_DIR/users
{
	echo "app1:$(openssl passwd -6 -salt s4ltapp1 'pw-app1')"
	echo "app2:$(openssl passwd -6 -salt s4ltapp2 'pw-app2')"
	echo "ops:$(openssl passwd -6 -salt s4ltops1 'pw-ops'):admin"
} >"$users"
A1=app1:pw-app1 A2=app2:pw-app2 OPS=ops:pw-ops

read -r KPORT <<<"$(free_port 1)"
kamailio_start "$RUN_DIR/kam" "$KPORT" WITH_TEST_USERS || { fail "kamailio starts" ""; summary; exit 1; }
sink_start --record "$RUN_DIR/sink.jsonl" || { fail "the sink starts" "$(cat "$RUN_DIR/sink.out")"; summary; exit 1; }
WHO=sip:scope-a@example.com
"$PY" "$SIP_PUBLISH" --server "127.0.0.1:$KPORT" --basic open --activity on-the-phone "$WHO" \
	>/dev/null 2>"$RUN_DIR/publish.err" || fail "publish $WHO" "$(cat "$RUN_DIR/publish.err")"

QUOTAS=(-o policy.max-notifications-per-app=2 -o policy.max-notifications=5
	-o policy.max-presence-subscriptions=2)
gateway_start "$RUN_DIR/gw" "$KPORT" -o auth.users-file="$users" "${QUOTAS[@]}" || { fail "gateway starts" ""; summary; exit 1; }

# as USER:PASSWORD, a SOAP request (soap_post); then HTTP_CODE and BODY
as() { local u=$1; shift; SOAP_USER=$u "$@"; }
# view USER PATH [PY_EXPR]: GET PATH as USER, the JSON re-encoded compactly
# with sorted keys, or PY_EXPR's value on it (d is the document)
view() {
	curl -s -u "$1" "$GW_URL/$2" | "$PY" -c 'import json, sys
d = json.load(sys.stdin)
e = sys.argv[1]
print(json.dumps(d, sort_keys=True, separators=(",", ":")) if not e else eval(e))' "${3:-}"
}
# received PATH: the callbacks the sink got on PATH, as "operation correlator" lines
received() {
	curl -s "$SINK/received" | "$PY" -c 'import json, sys
for r in json.load(sys.stdin):
    if r["path"] == sys.argv[1]:
        print(r["operation"], r["correlator"])' "$1"
}
NOTIFS='" ".join(sorted(n.get("app", "-") + ":" + n["correlator"] + ":" + n["endpoint"].rsplit("/", 1)[1] for n in d))'

# --- the same correlator in two applications ------------------------------------
as "$A1" sn "app1 starts c1" c1 "$SINK/cb/app1" "$WHO" imm=true
as "$A2" sn "app2 starts c1 too (another application)" c1 "$SINK/cb/app2" "$WHO" imm=true
as "$A1" sn "app1 starts c2" c2 "$SINK/cb/app1" "$WHO"
as "$A1" soap_post "$NM" "$(start_xml c1 "$SINK/cb/app1" "$WHO")"
expect_fault "app1 starts c1 again" SVC0005 c1
as "$OPS" sn "the admin starts c1 as its own" c1 "$SINK/cb/ops" "$WHO"

wait_until "$CB_WAIT" bash -c "[[ \$(curl -s $SINK/received | grep -o '\"correlator\"' | wc -l) -ge 2 ]]"
assert_eq "app1's checkImmediate went to app1's endpoint" "statusNotification c1" "$(received /cb/app1)"
assert_eq "app2's checkImmediate went to app2's endpoint" "statusNotification c1" "$(received /cb/app2)"

# --- views ----------------------------------------------------------------------------
assert_eq "/notifications of app1: its own, no app field" "-:c1:app1 -:c2:app1" "$(view "$A1" notifications "$NOTIFS")"
assert_eq "/notifications of app2: its own" "-:c1:app2" "$(view "$A2" notifications "$NOTIFS")"
assert_eq "/notifications of the admin: everyone's, with app" \
	"app1:c1:app1 app1:c2:app1 app2:c1:app2 ops:c1:ops" "$(view "$OPS" notifications "$NOTIFS")"
assert_eq "/notifications?app=app2 of the admin" "app2:c1:app2" "$(view "$OPS" 'notifications?app=app2' "$NOTIFS")"
assert_eq "/notifications?app=app2 of app1: still its own" "-:c1:app1 -:c2:app1" \
	"$(view "$A1" 'notifications?app=app2' "$NOTIFS")"
assert_eq "/notifications?app=nobody of the admin" "[]" "$(view "$OPS" 'notifications?app=nobody')"

DLV='" ".join(sorted(set(r.get("app", "-") + ":" + r["endpoint"].rsplit("/", 1)[1] for r in d)))'
wait_until "$CB_WAIT" bash -c "curl -s -u $A2 '$GW_URL/deliveries?correlator=c1' | grep -q DeliveryResult"
assert_eq "/deliveries?correlator=c1 of app1: its own records" "-:app1" "$(view "$A1" 'deliveries?correlator=c1' "$DLV")"
assert_eq "/deliveries?correlator=c1 of app2: its own records" "-:app2" "$(view "$A2" 'deliveries?correlator=c1' "$DLV")"
assert_eq "/deliveries?correlator=c2 of app2: app1's, as unknown" "[]" "$(view "$A2" 'deliveries?correlator=c2')"
assert_eq "/deliveries?correlator=c1 of the admin: everyone's, with app" "app1:app1 app2:app2" \
	"$(view "$OPS" 'deliveries?correlator=c1' "$DLV")"
assert_eq "/deliveries?correlator=c1&app=app2 of the admin" "app2:app2" \
	"$(view "$OPS" 'deliveries?correlator=c1&app=app2' "$DLV")"
assert_eq "/metrics of an app: 403" 403 "$(curl -s -o /dev/null -w '%{http_code}' -u "$A1" "$GW_URL/metrics")"

# --- endNotification: only the owner's ----------------------------------------------------
as "$A2" soap_post "$NM" "$(end_xml c2)"
expect_fault "app2 ends app1's c2" SVC0002 correlator
assert_eq "app1's c2 still runs" "-:c1:app1 -:c2:app1" "$(view "$A1" notifications "$NOTIFS")"
as "$A2" en "app2 ends its c1" c1
assert_eq "app1's c1 still runs after app2 ended its own c1" "-:c1:app1 -:c2:app1" \
	"$(view "$A1" notifications "$NOTIFS")"
as "$A2" soap_post "$NM" "$(end_xml c1)"
expect_fault "app2 ends c1 a second time" SVC0002 correlator
as "$A2" sn "app2 may use c1 again" c1 "$SINK/cb/app2" "$WHO"

# --- quotas: 2 per application, 5 in all (4 running now) ---------------------------------
as "$A1" soap_post "$NM" "$(start_xml c3 "$SINK/cb/app1" "$WHO")"
expect_fault "app1's third notification" POL0001 "too many notifications"
as "$A2" sn "app2's second notification (5 in all)" c2 "$SINK/cb/app2" "$WHO"
as "$OPS" soap_post "$NM" "$(start_xml c2 "$SINK/cb/ops" "$WHO")"
expect_fault "a sixth notification in all" POL0001 "too many notifications"
assert_eq "the refused ones created nothing" \
	"app1:c1:app1 app1:c2:app1 app2:c1:app2 app2:c2:app2 ops:c1:ops" "$(view "$OPS" notifications "$NOTIFS")"
as "$A2" en "app2 ends its c2 (4 in all)" c2

# --- the owner survives a restart ----------------------------------------------------------
gateway_stop
assert_eq "the gateway exits 0 on SIGTERM" 0 "$?"
assert_not_contains "no sanitizer report" "Sanitizer" "$(cat "$GW_LOG")"
mv "$GW_LOG" "$RUN_DIR/gw/pxtsgw.log.1"
gateway_start "$RUN_DIR/gw" "$KPORT" -o auth.users-file="$users" "${QUOTAS[@]}" || { fail "gateway restarts" ""; summary; exit 1; }
assert_eq "after a restart: every notification with its owner" \
	"app1:c1:app1 app1:c2:app1 app2:c1:app2 ops:c1:ops" "$(view "$OPS" notifications "$NOTIFS")"
assert_eq "after a restart: app1 sees its own" "-:c1:app1 -:c2:app1" "$(view "$A1" notifications "$NOTIFS")"
as "$A1" soap_post "$NM" "$(start_xml c2 "$SINK/cb/app1" "$WHO")"
expect_fault "after a restart: app1's c2 is still a duplicate for app1" SVC0005 c2
as "$A2" sn "after a restart: app2 may start c2" c2 "$SINK/cb/app2" "$WHO"
as "$A1" en "after a restart: app1 ends its c2" c2
assert_eq "app2's c2 is untouched" "-:c1:app2 -:c2:app2" "$(view "$A2" notifications "$NOTIFS")"

# --- policy.max-presence-subscriptions=2: every notification so far watches
# WHO, one subscription; two more presentities would need three -----------------------------
WHO2=sip:scope-b@example.com WHO3=sip:scope-c@example.com
for u in "$WHO2" "$WHO3"; do
	"$PY" "$SIP_PUBLISH" --server "127.0.0.1:$KPORT" --basic open "$u" >/dev/null 2>>"$RUN_DIR/publish.err" ||
		fail "publish $u" "$(tail -1 "$RUN_DIR/publish.err")"
done
as "$OPS" soap_post "$NM" "$(start_xml s9 "$SINK/cb/ops" "$WHO2 $WHO3")"
expect_fault "a notification that needs two more subscriptions" POL0001 "too many subscriptions"
assert_eq "the refused one opened none" 1 "$(metric "$(curl -s -u "$OPS" "$GW_URL/metrics")" pxtsgw_subscriptions)"
as "$OPS" sn "one more presentity (two subscriptions)" s9 "$SINK/cb/ops" "$WHO2 $WHO"
assert_eq "two subscriptions open" 2 "$(metric "$(curl -s -u "$OPS" "$GW_URL/metrics")" pxtsgw_subscriptions)"
as "$OPS" en "end it" s9

# --- an ordered shutdown: keep-alive clients scrape the views while SIGTERM
# arrives; every answer is a 200 or, once it is stopping, a 503 ----------------------------
"$PY" "$TESTS_DIR/tools/hammer.py" --port "$GW_HTTP_PORT" --user "$OPS" --connections 2 \
	--ready "$RUN_DIR/hammer.ready" /metrics /notifications /health '/deliveries?correlator=c1' >"$RUN_DIR/hammer.out" 2>&1 &
HAMMER_PID=$!
# both connections have had an answer: SIGTERM comes while they scrape
wait_until 30 test -e "$RUN_DIR/hammer.ready" || fail "the scraping clients get answers" "$(cat "$RUN_DIR/hammer.out")"
gateway_stop
assert_eq "the restarted gateway exits 0 on SIGTERM while clients scrape" 0 "$?"
wait "$HAMMER_PID"
hammer=$(cat "$RUN_DIR/hammer.out")
assert_eq "the scraping clients saw only 200 and 503 answers, then the end of both connections" \
	"ok" "$("$PY" -c 'import json, sys
d = json.loads(sys.argv[1])
print("ok" if set(d) <= {"200", "503", "ended"} and d.get("200", 0) > 0 and d.get("ended") == 2 else d)' "$hammer")"
assert_not_contains "no sanitizer report after the restart" "Sanitizer" "$(cat "$GW_LOG")"

# --- policy.max-requests-per-s: 1 a second, the anonymous application -------------------
gateway_start "$RUN_DIR/gw-rate" "$KPORT" -o policy.max-requests-per-s=1 || { fail "gateway starts" ""; summary; exit 1; }
# three endNotification requests in one curl (keep-alive: milliseconds
# apart): the bucket holds one; their answers' messageIds in order
end_xml nope >"$RUN_DIR/end.xml"
burst() {
	local -a args=()
	for _ in 1 2 3; do
		args+=(-H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""'
			--data-binary "@$RUN_DIR/end.xml" "$GW_URL/$NM" --next)
	done
	curl -s "${args[@]:0:${#args[@]}-1}" >"$RUN_DIR/burst.out"
	grep -o '<messageId>[A-Z0-9]*</messageId>' "$RUN_DIR/burst.out" | tr '\n' ' '
}
assert_eq "a burst of three: one served (SVC0002: no such correlator), two refused" \
	"<messageId>SVC0002</messageId> <messageId>POL0001</messageId> <messageId>POL0001</messageId> " "$(burst)"
# read from the burst's own answers: a request of its own could come after
# the bucket refilled on a loaded machine
assert_eq "the refusals say why" 2 "$(grep -o '<variables>request rate exceeded</variables>' "$RUN_DIR/burst.out" | wc -l)"
sleep 1.1
soap_post "$NM" "$RUN_DIR/end.xml"
expect_fault "a second later: served again" SVC0002 correlator
gateway_stop
assert_eq "the rate-limited gateway exits 0 on SIGTERM" 0 "$?"
assert_not_contains "no sanitizer report (rate)" "Sanitizer" "$(cat "$GW_LOG")"
summary
