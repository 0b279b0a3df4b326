#!/bin/bash
# time-limit: 150
#
# test_reload.sh - SIGHUP reloads without a restart (contract section 8,
# Reload; section 11: the users file is re-read). With a notification
# running and its callbacks flowing: a policy, the log level, the busy
# activities and the users file change with SIGHUP; the new user logs in,
# the new limit applies, no callback is lost (each change is at the sink,
# in order); a key that needs a restart is reported and keeps its value;
# an invalid configuration file or users file is refused as a whole and
# the old configuration keeps working; SIGTERM still stops with exit 0 and
# no sanitizer report. A real Kamailio, the gateway, the callback sink.
#
#   tests/integration/test_reload.sh        (TEST_LOG_DIR keeps the logs)
#   PXTSGW_BIN=build/tsan/pxtsgw tests/integration/test_reload.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/kamailio.sh
. "$here/../lib/kamailio.sh"
# shellcheck source=../lib/gateway.sh
. "$here/../lib/gateway.sh"
# shellcheck source=../lib/soap.sh
. "$here/../lib/soap.sh"
run_dir reload
CB_WAIT=10

SINK_PID=""
cleanup() {
	gateway_stop >/dev/null 2>&1
	[[ -n $SINK_PID ]] && stop_pid "$SINK_PID" 2 >/dev/null 2>&1
	kamailio_stop
}
trap cleanup EXIT

users=$RUN_DIR/users
conf=$RUN_DIR/gw.conf
{
	echo "app1:$(openssl passwd -6 -salt s4ltapp1 'pw-app1')"
	echo "ops:$(openssl passwd -6 -salt s4ltops1 'pw-ops'):admin"
} >"$users"
A1=app1:pw-app1 A2=app2:pw-app2 OPS=ops:pw-ops
# write_conf MAX_ADDRESSES LOG_LEVEL HTTP_THREADS [EXTRA LINE]
write_conf() {
	{
		echo "# test_reload.sh"
		echo "auth.users-file = $users"
		echo "policy.max-notification-addresses = $1"
		echo "log.level = $2"
		echo "http.threads = $3"
		echo "status.busy-activities = on-the-phone"
		if [[ -n ${4:-} ]]; then echo "$4"; fi
	} >"$conf.tmp" && mv "$conf.tmp" "$conf"
}
write_conf 5 info 2

read -r KPORT <<<"$(free_port 1)"
kamailio_start "$RUN_DIR/kam" "$KPORT" WITH_TEST_USERS || { fail "kamailio starts" ""; summary; exit 1; }
sink_start --record "$RUN_DIR/sink.jsonl" || { fail "the sink starts" "$(cat "$RUN_DIR/sink.out")"; summary; exit 1; }
WHO=sip:reload-a@example.com
# publish BASIC [ACTIVITY]
publish() {
	local -a act=()
	[[ -n ${2:-} ]] && act=(--activity "$2")
	"$PY" "$SIP_PUBLISH" --server "127.0.0.1:$KPORT" --basic "$1" "${act[@]}" "$WHO" \
		>/dev/null 2>>"$RUN_DIR/publish.err" || fail "publish $WHO $*" "$(tail -1 "$RUN_DIR/publish.err")"
}
publish open
gateway_start "$RUN_DIR/gw" "$KPORT" -c "$conf" || { fail "gateway starts" ""; summary; exit 1; }

as() { local u=$1; shift; SOAP_USER=$u "$@"; }
# statuses: the statuses of r1's callbacks at the sink, in order
statuses() {
	curl -s "$SINK/received?correlator=r1" | "$PY" -c 'import json, sys
print(" ".join(e["currentStatus"] for r in json.load(sys.stdin) for e in r.get("entries", [])))'
}
# expect_statuses NAME "S1 S2 ...": r1's callbacks reach exactly these
expect_statuses() {
	local want=$2
	wait_until "$CB_WAIT" bash -c "[[ \$(curl -s '$SINK/received?correlator=r1' | grep -o currentStatus | wc -l) -ge $(wc -w <<<"$want") ]]"
	# every callback accepted so far delivered: one more would be at the sink
	outbox_settled "$GW_URL" "$CB_WAIT" -u "$OPS" || fail "$1: the outbox empties" \
		"$(curl -s -u "$OPS" "$GW_URL/metrics" | grep '^pxtsgw_outbox')"
	assert_eq "$1" "$want" "$(statuses)"
}
# reload NAME: SIGHUP, and wait for the log line that ends it
reload() {
	local before
	before=$(grep -c 'reload\(: done\| refused\)' "$GW_LOG")
	kill -HUP "$GW_PID"
	if wait_until 30 bash -c "(( \$(grep -c 'reload\\(: done\\| refused\\)' '$GW_LOG') > $before ))"; then
		ok "$1: the reload is logged as over"
	else
		fail "$1" "no 'reload: done' or 'reload refused' in the log"
	fi
}
log_after() { tail -n +"$(($1 + 1))" "$GW_LOG"; }
FOUR="sip:r-1@example.com sip:r-2@example.com sip:r-3@example.com sip:r-4@example.com"

# --- before: the old limits and users -----------------------------------------------
as "$A1" sn "app1 starts r1" r1 "$SINK/cb/r1" "$WHO"
publish open on-the-phone
expect_statuses "r1's first change is delivered" "Busy"
as "$A1" sn "4 addresses within the limit of 5" r4 "$SINK/cb/r4" "$FOUR"
as "$A1" en "r4 ended" r4
as "$A2" soap_post TerminalStatus "$(getstatus_xml "$WHO")"
assert_eq "app2 is not a user yet: 401" 401 "$HTTP_CODE"
assert_not_contains "no debug line at log.level info" " level=debug " "$(cat "$GW_LOG")"

# --- reload 1: a policy, the log level, a restart key, a new user --------------------
echo "app2:$(openssl passwd -6 -salt s4ltapp2 'pw-app2')" >>"$users"
write_conf 2 debug 3
mark=$(wc -l <"$GW_LOG")
reload "reload 1"
L=$(log_after "$mark")
assert_contains "reload 1: the policy change is logged" "reload: key policy.max-notification-addresses changed" "$L"
assert_contains "reload 1: the log level change is logged" "reload: key log.level changed" "$L"
assert_contains "reload 1: http.threads needs a restart" \
	"key http.threads changed: needs a restart; keeps its running value" "$L"
assert_contains "reload 1: the users file is read again" "reload: auth: 3 users from $users" "$L"
assert_contains "reload 1: done" "reload: done: 2 keys changed, 1 kept for a restart" "$L"
assert_eq "the gateway still runs" 0 "$(kill -0 "$GW_PID" 2>/dev/null; echo $?)"

as "$A2" soap_post TerminalStatus "$(getstatus_xml "$WHO")"
assert_eq "the new user app2 logs in" 200 "$HTTP_CODE"
assert_contains "app2's getStatus answers" "Busy" "$BODY"
as "$A1" soap_post "$NM" "$(start_xml r5 "$SINK/cb/r5" "$FOUR")"
expect_fault "4 addresses over the new limit of 2" POL0003 addresses
as "$A1" sn "2 addresses within the new limit" r6 "$SINK/cb/r6" "sip:r-1@example.com sip:r-2@example.com"
as "$A1" en "r6 ended" r6
mark=$(wc -l <"$GW_LOG")
publish closed
expect_statuses "r1 still delivers its next change after the reload" "Busy Unreachable"
assert_contains "log.level debug applies: the NOTIFY is logged at debug" "level=debug module=watch msg=\"watch: " "$(log_after "$mark")"
# the running value of a restart key: still 2 HTTP threads (nothing says
# otherwise; the log of reload 1 said it is kept)

# --- reloads while callbacks flow ------------------------------------------------------
want="Busy Unreachable"
for i in 1 2 3; do
	publish open on-the-phone
	kill -HUP "$GW_PID"
	publish open
	kill -HUP "$GW_PID"
	want="$want Busy Reachable"
done
expect_statuses "six changes with six SIGHUPs among them: every callback, in order" "$want"
wait_until 30 bash -c "(( \$(grep -c 'reload: done' '$GW_LOG') >= 7 ))"
assert_eq "every SIGHUP reloaded" 7 "$(grep -c 'reload: done' "$GW_LOG")"

# --- the busy activities change live ------------------------------------------------------
write_conf 2 debug 3 "status.busy-activities = busy"
reload "reload of status.busy-activities"
publish open on-the-phone
expect_statuses "on-the-phone is no longer busy: no change from Reachable" "$want"
publish open busy
want="$want Busy"
expect_statuses "busy is busy now" "$want"
write_conf 2 debug 3

# --- invalid: refused as a whole --------------------------------------------------------
write_conf 9 info 2 "policy.max-notification-count = zero"
mark=$(wc -l <"$GW_LOG")
reload "invalid value"
L=$(log_after "$mark")
assert_contains "an invalid value is refused, naming the file and the key" \
	"reload refused: $conf:7: invalid value 'zero' for key 'policy.max-notification-count'" "$L"
assert_contains "the refusal says the running configuration stays" "the running configuration stays" "$L"
as "$A1" soap_post "$NM" "$(start_xml r7 "$SINK/cb/r7" "$FOUR")"
expect_fault "refused as a whole: its valid max-notification-addresses=9 did not apply" POL0003 addresses
mark=$(wc -l <"$GW_LOG")
publish open
want="$want Reachable"
expect_statuses "r1 delivers after a refused reload" "$want"
assert_contains "refused as a whole: log.level info did not apply either" " level=debug " "$(log_after "$mark")"

write_conf 2 debug 3
cp "$users" "$users.good"
echo "broken line without a hash" >>"$users"
mark=$(wc -l <"$GW_LOG")
reload "malformed users file"
assert_contains "a malformed users file is refused, naming the file and the line" \
	"reload refused: key 'auth.users-file': $users:4" "$(log_after "$mark")"
as "$A2" soap_post TerminalStatus "$(getstatus_xml "$WHO")"
assert_eq "the old users still log in" 200 "$HTTP_CODE"
cp "$users.good" "$users"

write_conf 2 debug 3 "auth.users-file ="
mark=$(wc -l <"$GW_LOG")
reload "auth.users-file emptied"
assert_contains "turning authentication off needs a restart" \
	"key auth.users-file changed: turning authentication off needs a restart; keeps its running value" \
	"$(log_after "$mark")"
as "" soap_post TerminalStatus "$(getstatus_xml "$WHO")"
assert_eq "authentication stays on" 401 "$HTTP_CODE"

publish closed
want="$want Unreachable"
expect_statuses "r1 still delivers after the refused reloads" "$want"

# --- nothing lost at the sink, SIGTERM stops ---------------------------------------------------
assert_eq "no failed delivery" 0 "$(metric "$(curl -s -u "$OPS" "$GW_URL/metrics")" \
	'pxtsgw_deliveries_total{operation="statusNotification",result="failed"}')"
gateway_stop
assert_eq "SIGTERM still stops, exit 0" 0 "$?"
assert_not_contains "no sanitizer report" "Sanitizer" "$(cat "$GW_LOG")"
assert_not_contains "no runtime error" "runtime error" "$(cat "$GW_LOG")"
summary
