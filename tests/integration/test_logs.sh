#!/bin/bash
# time-limit: 120
# shellcheck source-path=SCRIPTDIR
#
# test_logs.sh - traceable logs (contract section 13; issue 11, item 3):
# every HTTP answer has an X-Request-Id (the client's when it is sane, a
# new one when not), and grep of that id in the gateway's log shows the
# request's HTTP line and the SIP fetch it caused with the SUBSCRIBE's
# Call-ID, the Call-ID the presence server (a real Kamailio, which logs
# every request with its Call-ID) received. A follower of a SUBSCRIBE in
# flight names its leader's Call-ID and request. The same with
# log.format=json (every line parsed as JSON), a switch of the format by a
# reload, and log.target=syslog (nothing on stderr).
#
#   tests/integration/test_logs.sh   (TEST_LOG_DIR keeps the logs)
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/kamailio.sh
. "$here/../lib/kamailio.sh"
# shellcheck source=../lib/gateway.sh
. "$here/../lib/gateway.sh"
# shellcheck source=../lib/soap.sh
. "$here/../lib/soap.sh"
run_dir logs

SINK_PID=""
cleanup() {
	gateway_stop >/dev/null 2>&1
	[[ -n $SINK_PID ]] && stop_pid "$SINK_PID" 2 >/dev/null 2>&1
	kamailio_stop
}
trap cleanup EXIT

read -r KPORT <<<"$(free_port 1)"
kamailio_start "$RUN_DIR/kam" "$KPORT" WITH_TEST_USERS || { fail "kamailio starts" ""; summary; exit 1; }
A=sip:alice@example.com B=sip:bob@example.com
"$PY" "$SIP_PUBLISH" --server "127.0.0.1:$KPORT" --basic open --activity on-the-phone "$A" \
	>/dev/null 2>>"$RUN_DIR/publish.err" || fail "publish $A" "$(tail -1 "$RUN_DIR/publish.err")"
"$PY" "$SIP_PUBLISH" --server "127.0.0.1:$KPORT" --basic open "$B" \
	>/dev/null 2>>"$RUN_DIR/publish.err" || fail "publish $B" "$(tail -1 "$RUN_DIR/publish.err")"

# ask NAME ENDPOINT XML [CURL ARGS...]: POSTs, keeps the answer's headers
# in $RUN_DIR/NAME.h and body in NAME.b; sets CODE and RID (its X-Request-Id)
ask() {
	local name=$1 ep=$2 xml=$3
	shift 3
	CODE=$(curl -s -o "$RUN_DIR/$name.b" -D "$RUN_DIR/$name.h" -w '%{http_code}' \
		-H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' "$@" \
		--data-binary "$xml" "$GW_URL/$ep")
	RID=$(rid_of "$RUN_DIR/$name.h")
}
# rid_of HEADERS_FILE: the X-Request-Id in it ("" if none; "2" if two)
rid_of() {
	local n
	n=$(grep -ci '^X-Request-Id:' "$1")
	if ((n > 1)); then echo 2; return; fi
	sed -n 's/^[Xx]-[Rr]equest-[Ii]d: *\([^\r]*\)\r*$/\1/p' "$1"
}
# field LINE KEY: a bare logfmt value
field() { sed -nE "s/.* $2=([^ \"]+).*/\\1/p" <<<"$1"; }
# kam_subscribe CALLID: the request-URI of the SUBSCRIBE Kamailio logged
# with that Call-ID (its log_prefix is "{msgtype cseq method callid}")
kam_subscribe() {
	grep -F " $1} " "$KAM_LOG" | sed -nE 's/.* SUBSCRIBE (sip:[^ ]+) from .*/\1/p' | sort -u
}

# --- logfmt: one getStatus from its id to Kamailio --------------------------
gateway_start "$RUN_DIR/gw" "$KPORT" -o status.fetch-timeout-ms=3000 ||
	{ fail "gateway starts" ""; summary; exit 1; }

ask gs TerminalStatus "$(getstatus_xml "$A")"
assert_eq "getStatus answers" "200 Busy" \
	"$CODE $(sed -nE 's/.*<tsl:result>([A-Za-z]+)<\/tsl:result>.*/\1/p' "$RUN_DIR/gs.b")"
if [[ $RID =~ ^[0-9a-f]{16}$ ]]; then ok "a new X-Request-Id: 16 hex digits ($RID)"; else fail "a new X-Request-Id" "'$RID'"; fi
lines=$(grep -F "req=$RID " "$GW_LOG")
assert_eq "grep of the id: two lines (HTTP and SIP)" 2 "$(grep -c . <<<"$lines")"
http=$(grep ' module=http ' <<<"$lines")
assert_contains "the HTTP line: method, path, status" 'msg="http: POST /TerminalStatus 200" status=200' "$http"
assert_contains "the HTTP line: level info, the anonymous application left out" \
	"level=info module=http req=$RID msg=" "$http"
sip=$(grep ' module=watch ' <<<"$lines")
assert_contains "the SIP line: the fetch of the presentity" \
	"level=info module=watch req=$RID msg=\"watch: fetch\" presentity=$A call_id=" "$sip"
cid=$(field "$sip" call_id)
if [[ $cid =~ ^[0-9a-f]{24}$ ]]; then ok "the SIP line has the Call-ID ($cid)"; else fail "the SIP line has the Call-ID" "$sip"; fi
assert_eq "Kamailio received that SUBSCRIBE, for that presentity" "$A" "$(kam_subscribe "$cid")"

# getStatusForGroup: one SUBSCRIBE per address, each with its own Call-ID
ask grp TerminalStatus "$(gsfg_xml "$A" "$B")"
assert_eq "getStatusForGroup answers" 200 "$CODE"
sips=$(grep -F "req=$RID " "$GW_LOG" | grep ' module=watch ')
assert_eq "getStatusForGroup: two SIP lines with its id" 2 "$(grep -c . <<<"$sips")"
for who in "$A" "$B"; do
	c=$(field "$(grep -F "presentity=$who " <<<"$sips")" call_id)
	assert_eq "getStatusForGroup: Kamailio saw the Call-ID of $who's SUBSCRIBE" "$who" \
		"$([[ -n $c ]] && kam_subscribe "$c")"
done

# the client's id, when sane, is kept
ask mine TerminalStatus "$(getstatus_xml "$B")" -H 'X-Request-Id: client-42.a_b:c'
assert_eq "a sane X-Request-Id is echoed" "200 client-42.a_b:c" "$CODE $RID"
assert_eq "it is the id of the request's lines" 2 "$(grep -c -F 'req=client-42.a_b:c ' "$GW_LOG")"

# a hostile one is replaced (and never written to the log)
long=$(printf 'x%.0s' {1..65})
for bad in 'a b"c' "$long" 'id=1' '<script>'; do
	ask hostile TerminalStatus "$(getstatus_xml "$B")" -H "X-Request-Id: $bad"
	if [[ $CODE == 200 && $RID =~ ^[0-9a-f]{16}$ ]]; then ok "X-Request-Id '${bad:0:12}...' replaced ($RID)"
	else fail "X-Request-Id '${bad:0:12}...' replaced" "$CODE '$RID'"; fi
	assert_eq "  the new id is in its lines" 2 "$(grep -c -F "req=$RID " "$GW_LOG")"
done
assert_eq "no hostile id in the log" 0 "$(grep -c -F -e 'b"c' -e "$long" -e '<script>' "$GW_LOG")"

# every answer has one: a fault, a refusal, a view, a 404, an early 415
ask fault TerminalStatus "$(getstatus_xml 'no-scheme')"
assert_eq "a SOAP fault has an X-Request-Id" "500 1" "$CODE $([[ $RID =~ ^[0-9a-f]{16}$ ]] && echo 1)"
assert_contains "  and its line" 'msg="http: POST /TerminalStatus 500" status=500' \
	"$(grep -F "req=$RID " "$GW_LOG")"
code=$(curl -s -o /dev/null -D "$RUN_DIR/media.h" -w '%{http_code}' -H 'Content-Type: text/plain' \
	--data-binary x "$GW_URL/TerminalStatus")
assert_eq "an early 415 has an X-Request-Id" "415 1" "$code $([[ $(rid_of "$RUN_DIR/media.h") =~ ^[0-9a-f]{16}$ ]] && echo 1)"
for path in /health:200 /metrics:200 /notifications:200 /nope:404 '/TerminalStatus?wsdl:200'; do
	code=$(curl -s -o /dev/null -D "$RUN_DIR/get.h" -w '%{http_code}' -H 'X-Request-Id: view-1' "$GW_URL${path%:*}")
	assert_eq "GET ${path%:*}: $code, X-Request-Id echoed" "${path#*:} view-1" "$code $(rid_of "$RUN_DIR/get.h")"
done

# a coalesced follower names its leader's Call-ID and request (a silent
# presentity: Kamailio drops the SUBSCRIBE, the fetch waits its timeout);
# when the leader's job expires first, the follower leads with a SUBSCRIBE
# of its own, logged with its own request id
S=sip:silent-1@example.com
ask lead TerminalStatus "$(getstatus_xml "$S")" -H 'X-Request-Id: lead-1' &
lead_pid=$!
wait_until 5 grep -q -F 'req=lead-1 ' "$GW_LOG" || fail "the leader's fetch starts" ""
ask follow TerminalStatus "$(getstatus_xml "$S")" -H 'X-Request-Id: follow-2'
wait "$lead_pid"
lead_line=$(grep -F 'req=lead-1 ' "$GW_LOG" | grep ' module=watch ')
follow_lines=$(grep -F 'req=follow-2 ' "$GW_LOG" | grep ' module=watch ')
lcid=$(field "$lead_line" call_id)
assert_eq "the leader's SUBSCRIBE reached Kamailio" "$S" "$([[ -n $lcid ]] && kam_subscribe "$lcid")"
assert_contains "the follower's line: shared, the leader's Call-ID and request" \
	"msg=\"watch: fetch shares a SUBSCRIBE in flight\" presentity=$S call_id=$lcid leader_req=lead-1" \
	"$(head -1 <<<"$follow_lines")"
fcid=$(field "$(sed -n 2p <<<"$follow_lines")" call_id)
assert_contains "the follower, promoted: its own SUBSCRIBE" "msg=\"watch: fetch\" presentity=$S call_id=$fcid" \
	"$(sed -n 2p <<<"$follow_lines")"
assert_eq "Kamailio saw exactly these two Call-IDs for $S" "$(sort <<<"$lcid"$'\n'"$fcid" | paste -sd' ')" \
	"$(grep "SUBSCRIBE $S from" "$KAM_LOG" | sed -nE 's/.*\{[0-9]+ [0-9]+ SUBSCRIBE ([^}]+)\}.*/\1/p' | sort -u | paste -sd' ')"

# startNotification: a line per address with the Call-ID of the long-lived
# SUBSCRIBE that serves it
sink_start || fail "the sink starts" "$(cat "$RUN_DIR/sink.out")"
ask start TerminalStatusNotificationManager "$(start_xml n-1 "$SINK/cb" "$A $B")" -H 'X-Request-Id: start-1'
assert_eq "startNotification answers" "200 start-1" "$CODE $RID"
nlines=$(grep -F 'req=start-1 ' "$GW_LOG" | grep ' module=nm ')
assert_eq "startNotification: a line per address" 2 "$(grep -c . <<<"$nlines")"
for who in "$A" "$B"; do
	line=$(grep -F "presentity=$who " <<<"$nlines")
	assert_contains "startNotification: $who's line" \
		"msg=\"nm: startNotification subscribes\" correlator=n-1 presentity=$who call_id=" "$line"
	c=$(field "$line" call_id)
	assert_eq "startNotification: Kamailio saw the Call-ID of $who's SUBSCRIBE" "$who" \
		"$([[ -n $c ]] && kam_subscribe "$c")"
	assert_eq "  a long-lived one (Expires 3600)" 1 \
		"$([[ -n $c ]] && grep -F " $c} " "$KAM_LOG" | grep -q 'Event=presence Expires=3600' && echo 1)"
done

# every line of the log is one logfmt event (a hostile value cannot split one)
assert_eq "every line starts ts=... level=... module=..." 0 \
	"$(grep -cvE '^ts=[0-9T:.-]+Z level=(error|warn|info|debug) module=[a-z0-9_]+ ' "$GW_LOG")"
gateway_stop >/dev/null

# --- json ---------------------------------------------------------------------
# check_json LOG RID: every line parses; prints "http-msg|sip-msg|call_id" of RID
check_json() {
	"$PY" - "$1" "$2" <<'EOF'
import json, sys
http = sip = None
bad = 0
for line in open(sys.argv[1], encoding="utf-8"):
    try:
        o = json.loads(line)
    except ValueError:
        bad += 1
        continue
    if not isinstance(o, dict) or list(o)[:3] != ["ts", "level", "module"]:
        bad += 1
    elif o.get("req") == sys.argv[2] and o["module"] == "http":
        http = o
    elif o.get("req") == sys.argv[2] and o["module"] == "watch":
        sip = o
print("bad=%d" % bad)
print("%s|%s|%s" % (http and http["msg"], sip and sip["msg"], sip and sip.get("call_id")))
EOF
}
gateway_start "$RUN_DIR/gwjson" "$KPORT" -o log.format=json ||
	{ fail "gateway starts (json)" ""; summary; exit 1; }
ask jgs TerminalStatus "$(getstatus_xml "$A")" -H 'X-Request-Id: json-1'
ask jbad TerminalStatus "$(getstatus_xml "$A")" -H $'X-Request-Id: x"\\y'
out=$(check_json "$GW_LOG" json-1)
assert_eq "json: every line is a JSON object starting ts, level, module" "bad=0" "$(head -1 <<<"$out")"
IFS='|' read -r jhttp jsip jcid <<<"$(tail -1 <<<"$out")"
assert_eq "json: the HTTP line" "http: POST /TerminalStatus 200" "$jhttp"
assert_eq "json: the SIP line" "watch: fetch" "$jsip"
assert_eq "json: Kamailio received the SUBSCRIBE of that Call-ID" "$A" "$([[ $jcid != None ]] && kam_subscribe "$jcid")"
gateway_stop >/dev/null

# --- a reload switches the format; syslog leaves stderr silent -----------------
conf="$RUN_DIR/pxtsgw.conf"
echo 'log.format = logfmt' >"$conf"
gateway_start "$RUN_DIR/gwreload" "$KPORT" -c "$conf" || { fail "gateway starts (reload)" ""; summary; exit 1; }
echo 'log.format = json' >"$conf"
kill -HUP "$GW_PID"
wait_until 10 grep -q 'reload: done' "$GW_LOG" || fail "the reload is done" "$(tail -3 "$GW_LOG")"
ask rgs TerminalStatus "$(getstatus_xml "$A")" -H 'X-Request-Id: reload-1'
out=$(sed -n '/reload: done/,$p' "$GW_LOG" | tail -n +2 >"$RUN_DIR/after-reload.log"; check_json "$RUN_DIR/after-reload.log" reload-1)
assert_eq "after the reload: JSON lines" "bad=0" "$(head -1 <<<"$out")"
assert_eq "after the reload: the request's HTTP and SIP lines" "http: POST /TerminalStatus 200|watch: fetch" \
	"$(tail -1 <<<"$out" | cut -d'|' -f1,2)"
gateway_stop >/dev/null

gateway_start "$RUN_DIR/gwsyslog" "$KPORT" -o log.target=syslog ||
	{ fail "gateway starts (syslog)" ""; summary; exit 1; }
ask sgs TerminalStatus "$(getstatus_xml "$A")"
assert_eq "syslog: the request is answered, with its id" "200 1" "$CODE $([[ $RID =~ ^[0-9a-f]{16}$ ]] && echo 1)"
assert_eq "syslog: no log line on stderr after the start" 0 "$(grep -c 'level=' "$GW_LOG")"
gateway_stop >/dev/null

assert_eq "no sanitizer report in the gateways' logs" "" \
	"$(grep -lE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error|WARNING: ThreadSanitizer' "$RUN_DIR"/gw*/pxtsgw.log)"
summary
