#!/bin/bash
# time-limit: 120
# shellcheck source-path=SCRIPTDIR
#
# test_destinations.sh - callback destinations (contract section 11) end to
# end: a throw-away Kamailio presence server (WITH_TEST_USERS), pxtsgw,
# a callback sink (tests/tools/callback_sink.py) and a plain TCP listener
# that records every connection it accepts.
#
# Covers: without delivery.allowed-endpoints, startNotification toward
# loopback (127.0.0.1, localhost, 0x7f000001, 2130706433, 127.1, [::1],
# [::ffff:127.0.0.1], with credentials) and toward 169.254.169.254 is
# POL0001 with the variable "callback endpoint not allowed: <host>", nothing
# is created (/notifications is [], endNotification SVC0002, no presence
# subscription) and the listener on that port is never contacted; a port 0
# stays SVC0002. With 127.0.0.0/8 allowed the same hosts work (a callback
# reaches the sink for each form) while 169.254.169.254 and [::1] stay
# refused; credentials in the endpoint go as HTTP Basic and are shown as
# http://***@host/path in /notifications, /deliveries and the log. The
# check at every connect: the same store started without the allow list
# restores the notification and its callback fails with "endpoint not
# allowed", the sink getting nothing. No traffic leaves the loopback
# interface: every refused address is refused before any connection.
#
# Usage: tests/integration/test_destinations.sh
#   RUN_DIR=/abs/dir  keep logs in /abs/dir/destinations (default: a temp
#                     dir, removed on success); TEST_LOG_DIR=/abs/dir (as
#                     tests/run-all.sh sets it): keep them in /abs/dir
#   PXTSGW_BIN=...    gateway binary (default: build/asan/pxtsgw if built)
# Prints "N passed, M failed"; exit status 1 if anything failed.

set -u
# shellcheck source=../lib/kamailio.sh
. "$(dirname "$0")/../lib/kamailio.sh"
# shellcheck source=../lib/gateway.sh
. "$(dirname "$0")/../lib/gateway.sh"

NT="$TESTS_DIR/integration/notifications/nt.py"
SINK_PY="$TESTS_DIR/tools/callback_sink.py"
NM=TerminalStatusNotificationManager
D=example.com

if [[ -n "${TEST_LOG_DIR:-}" ]]; then     # tests/run-all.sh
	RUN_DIR=$TEST_LOG_DIR
	fresh_dir "$RUN_DIR" || exit 2
	KEEP_RUN_DIR=1
elif [[ -n "${RUN_DIR:-}" ]]; then
	RUN_DIR="$RUN_DIR/destinations"
	fresh_dir "$RUN_DIR" || exit 2
	KEEP_RUN_DIR=1
else
	RUN_DIR=$(mktemp -d /tmp/pxts-dest.XXXXXX)
	KEEP_RUN_DIR=0
fi
RUN_DIR=$(cd "$RUN_DIR" && pwd)

GW1_PID="" GW2_PID="" SINK_PID="" LISTEN_PID=""
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	local p
	for p in "$GW1_PID" "$GW2_PID"; do
		[[ -n "$p" ]] && GW_PID=$p gateway_stop
	done
	for p in "$SINK_PID" "$LISTEN_PID"; do
		[[ -n "$p" ]] && stop_pid "$p" 2 >/dev/null 2>&1
	done
	kamailio_stop
	if ((KEEP_RUN_DIR == 0 && TESTS_FAILED == 0)); then
		rm -rf "$RUN_DIR"
	elif ((TESTS_FAILED > 0)); then
		echo "logs kept in $RUN_DIR"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers ------------------------------------------------------------------

# start_xml CORR ENDPOINT ADDR [CHECK_IMMEDIATE]: a startNotification request
start_xml() {
	printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' \
		'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"' \
		'    xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/notification_manager/v2_3/local">' \
		'<soapenv:Body><loc:startNotification>' \
		"<loc:reference><endpoint>$2</endpoint><interfaceName>TerminalStatusNotification</interfaceName><correlator>$1</correlator></loc:reference>" \
		"<loc:addresses>$3</loc:addresses>" \
		"<loc:checkImmediate>${4:-false}</loc:checkImmediate>" \
		'</loc:startNotification></soapenv:Body></soapenv:Envelope>'
}

end_xml() {
	printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' \
		'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"' \
		'    xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/notification_manager/v2_3/local">' \
		"<soapenv:Body><loc:endNotification><loc:correlator>$1</loc:correlator></loc:endNotification></soapenv:Body></soapenv:Envelope>"
}

# xml_field TAG: the text of the first <TAG> of BODY
xml_field() { sed -nE "s/.*<$1>([^<]*)<\/$1>.*/\1/p" <<<"$BODY" | head -1; }

# expect_fault NAME MSGID FAULTCODE VARIABLE TEXT: BODY is exactly that fault
expect_fault() {
	local name=$1
	assert_eq "$name: HTTP 500" 500 "$HTTP_CODE"
	assert_eq "$name: messageId" "$2" "$(xml_field messageId)"
	assert_eq "$name: faultcode" "$3" "$(xml_field faultcode | sed 's/^[^:]*://')"
	assert_eq "$name: variables" "$4" "$(sed -nE 's/.*<variables>([^<]*)<\/variables>.*/\1/p' <<<"$BODY" | tr '\n' '|')"
	assert_eq "$name: faultstring" "$5" "$(xml_field faultstring)"
}

# json_of URL [PY_EXPR]: the JSON at URL, re-encoded (sorted keys), or the
# value of PY_EXPR on it (d is the document)
json_of() {
	curl -s "$1" | "$PY" -c 'import json, sys
d = json.load(sys.stdin)
e = sys.argv[1] if len(sys.argv) > 1 else ""
print(json.dumps(eval(e) if e else d, sort_keys=True))' "${2:-}"
}

accepts() { cat "$RUN_DIR/accepts.log" 2>/dev/null; }

# --- presence server, sink, listener ------------------------------------------
read -r KPORT SPORT LPORT <<<"$(free_port 3)" || { echo "no free port"; exit 1; }
if ! kamailio_start "$RUN_DIR/kam" "$KPORT" WITH_TEST_USERS; then
	fail "kamailio starts" "see $RUN_DIR/kam/kamailio.log"
	summary
	exit 1
fi
"$PY" "$SINK_PY" --port "$SPORT" --record "$RUN_DIR/sink.jsonl" --quiet >"$RUN_DIR/sink.out" 2>&1 &
SINK_PID=$!
SINK=http://127.0.0.1:$SPORT
# a listener that only records the connections it accepts, on 127.0.0.1
# and (when there is IPv6 loopback) on ::1
"$PY" - "$LPORT" "$RUN_DIR/accepts.log" >"$RUN_DIR/listener.out" 2>&1 <<'EOF' &
import select, socket, sys
port, log = int(sys.argv[1]), sys.argv[2]
socks = []
for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    try:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(16)
        socks.append(s)
    except OSError as e:
        print("no listener on %s: %s" % (host, e), flush=True)
print("ready", flush=True)
while True:
    for s in select.select(socks, [], [])[0]:
        c, peer = s.accept()
        with open(log, "a") as f:
            f.write("accepted %s port %s\n" % (peer[0], peer[1]))
        c.close()
EOF
LISTEN_PID=$!
if ! { wait_http "$SINK/control" && wait_until 30 grep -q '^ready$' "$RUN_DIR/listener.out"; }; then
	fail "sink and listener start" "see $RUN_DIR/sink.out, $RUN_DIR/listener.out"
	summary
	exit 1
fi

# --- 1. no allow list: loopback and link-local refused, nothing created ------
if ! gateway_start "$RUN_DIR/gw1" "$KPORT" -o delivery.allowed-endpoints=; then
	fail "gateway 1 (no allow list) starts" "see $RUN_DIR/gw1/pxtsgw.log"
	summary
	exit 1
fi
GW1_PID=$GW_PID GW1_URL=$GW_URL GW1_LOG=$GW_LOG
assert_contains "gateway 1 logs that callbacks may go to public addresses only" \
	"callbacks may go to public unicast addresses only" "$(cat "$GW1_LOG")"

# name|endpoint|host as the fault names it
refused=(
	"ipv4|http://127.0.0.1:$LPORT/cb|127.0.0.1"
	"localhost|http://localhost:$LPORT/cb|localhost"
	"metadata|http://169.254.169.254:$LPORT/latest/meta-data/|169.254.169.254"
	"hex|http://0x7f000001:$LPORT/cb|0x7f000001"
	"decimal|http://2130706433:$LPORT/cb|2130706433"
	"short|http://127.1:$LPORT/cb|127.1"
	"ipv6-loopback|http://[::1]:$LPORT/cb|[::1]"
	"ipv4-mapped|http://[::ffff:127.0.0.1]:$LPORT/cb|[::ffff:127.0.0.1]"
	"credentials|http://app:s3cret@127.0.0.1:$LPORT/cb|127.0.0.1"
)
GW_URL=$GW1_URL
for r in "${refused[@]}"; do
	IFS='|' read -r name ep host <<<"$r"
	soap_post "$NM" "$(start_xml "r-$name" "$ep" "sip:r-$name@$D" true)"
	expect_fault "refused $name ($ep)" POL0001 Server "callback endpoint not allowed: $host|" \
		"A policy error occurred. Error code is callback endpoint not allowed: $host"
	assert_not_contains "refused $name: no credentials in the answer" "s3cret" "$BODY"
	soap_post "$NM" "$(end_xml "r-$name")"
	assert_eq "refused $name: nothing created (endNotification is SVC0002)" SVC0002 "$(xml_field messageId)"
done
# a port 0 is no URL at all: SVC0002, as before
soap_post "$NM" "$(start_xml r-port0 "http://127.0.0.1:0/cb" "sip:r-port0@$D")"
expect_fault "port 0" SVC0002 Client "reference.endpoint|" \
	"Invalid input value for message part reference.endpoint"

assert_eq "gateway 1: /notifications is []" "[]" "$(json_of "$GW1_URL/notifications")"
m=$(curl -s "$GW1_URL/metrics")
assert_eq "gateway 1: no notification active" 0 "$(metric "$m" pxtsgw_notifications_active)"
assert_eq "gateway 1: no presence subscription" 0 "$(metric "$m" pxtsgw_subscriptions)"
assert_contains "gateway 1 logs the refusal with its reason" \
	"callback endpoint http://127.0.0.1:$LPORT/cb not allowed: 127.0.0.1 is not allowed" "$(cat "$GW1_LOG")"
assert_contains "gateway 1 logs a refused endpoint with credentials as ***" \
	"callback endpoint http://***@127.0.0.1:$LPORT/cb not allowed" "$(cat "$GW1_LOG")"
assert_not_contains "gateway 1: no credentials in the log" "s3cret" "$(cat "$GW1_LOG")"

# --- 2. 127.0.0.0/8 allowed (gateway_start's default) --------------------------
if ! gateway_start "$RUN_DIR/gw2" "$KPORT"; then
	fail "gateway 2 (127.0.0.0/8 allowed) starts" "see $RUN_DIR/gw2/pxtsgw.log"
	summary
	exit 1
fi
GW2_PID=$GW_PID GW2_URL=$GW_URL GW2_LOG=$GW_LOG
assert_contains "gateway 2 logs its allow list" \
	"callbacks may go to public unicast addresses and to 127.0.0.0/8" "$(cat "$GW2_LOG")"

allowed=(
	"ipv4|http://127.0.0.1:$SPORT/cb"
	"localhost|http://localhost:$SPORT/cb"
	"hex|http://0x7f000001:$SPORT/cb"
	"credentials|http://app:s3cret@127.0.0.1:$SPORT/cb"
)
for r in "${allowed[@]}"; do
	IFS='|' read -r name ep <<<"$r"
	soap_post "$NM" "$(start_xml "a-$name" "$ep" "sip:a-$name@$D" true)"
	assert_eq "allowed $name ($ep): HTTP 200" 200 "$HTTP_CODE"
	assert_contains "allowed $name: an empty startNotificationResponse" "startNotificationResponse" "$BODY"
done
for r in "metadata|http://169.254.169.254:$LPORT/cb|169.254.169.254" "ipv6-loopback|http://[::1]:$LPORT/cb|[::1]"; do
	IFS='|' read -r name ep host <<<"$r"
	soap_post "$NM" "$(start_xml "r2-$name" "$ep" "sip:r2-$name@$D")"
	expect_fault "still refused with 127.0.0.0/8 allowed: $name" POL0001 Server \
		"callback endpoint not allowed: $host|" \
		"A policy error occurred. Error code is callback endpoint not allowed: $host"
done

# checkImmediate: each allowed endpoint gets its first callback at the sink
for r in "${allowed[@]}"; do
	IFS='|' read -r name ep <<<"$r"
	got=$("$PY" "$NT" wait "$SINK" "a-$name" 1 10)
	assert_eq "allowed $name: the callback reaches the sink" \
		"statusNotification a-$name sip:a-$name@$D=Unreachable" "$got"
done
assert_eq "HTTP Basic with the URL's credentials" '"Basic YXBwOnMzY3JldA=="' \
	"$(json_of "$SINK/received?correlator=a-credentials" 'd[0]["authorization"]')"
assert_eq "no Authorization without credentials" null \
	"$(json_of "$SINK/received?correlator=a-ipv4" 'd[0]["authorization"]')"

assert_eq "/notifications: the four allowed ones" \
	'["a-credentials", "a-hex", "a-ipv4", "a-localhost"]' \
	"$(json_of "$GW2_URL/notifications" 'sorted(n["correlator"] for n in d)')"
assert_eq "/notifications: credentials shown as ***" "\"http://***@127.0.0.1:$SPORT/cb\"" \
	"$(json_of "$GW2_URL/notifications" '[n["endpoint"] for n in d if n["correlator"] == "a-credentials"][0]')"
assert_eq "/notifications: an endpoint as given" "\"http://0x7f000001:$SPORT/cb\"" \
	"$(json_of "$GW2_URL/notifications" '[n["endpoint"] for n in d if n["correlator"] == "a-hex"][0]')"
assert_not_contains "/notifications: no credentials" "s3cret" "$(curl -s "$GW2_URL/notifications")"
got=$("$PY" "$NT" dlvwait "$GW2_URL" a-credentials 2 5)
assert_eq "/deliveries of the callback with credentials" \
	"$(printf '%s\n' 'statusNotification_DeliveryAttempted d1 1 delivered null' \
		'statusNotification_DeliveryResult d1 1 delivered null' 'fields ok')" "$got"
assert_eq "/deliveries: credentials shown as ***" \
	"[\"http://***@127.0.0.1:$SPORT/cb\", \"http://***@127.0.0.1:$SPORT/cb\"]" \
	"$(json_of "$GW2_URL/deliveries?correlator=a-credentials" '[r["endpoint"] for r in d]')"
assert_contains "gateway 2 logs the start with credentials as ***" \
	"nm: notification a-credentials started: 1 address(es), endpoint http://***@127.0.0.1:$SPORT/cb" \
	"$(cat "$GW2_LOG")"
assert_not_contains "gateway 2: no credentials in the log" "s3cret" "$(cat "$GW2_LOG")"
got=$("$PY" "$NT" dlvwait "$GW2_URL" a-ipv4 2 5)
assert_eq "/deliveries of a-ipv4 before the restart" \
	"$(printf '%s\n' 'statusNotification_DeliveryAttempted d1 1 delivered null' \
		'statusNotification_DeliveryResult d1 1 delivered null' 'fields ok')" "$got"

# --- 3. at connect: the same store without the allow list ----------------------
GW_PID=$GW2_PID
gateway_stop
assert_eq "gateway 2 stops with exit 0" 0 "$?"
GW2_PID=
# a change while the gateway is down: the restored notification sends it
if "$PY" "$SIP_PUBLISH" --server "127.0.0.1:$KPORT" --basic open --activity on-the-phone \
	"sip:a-ipv4@$D" >/dev/null 2>"$RUN_DIR/publish.err"; then
	ok "publish sip:a-ipv4@$D Busy"
else
	fail "publish sip:a-ipv4@$D Busy" "$(tail -1 "$RUN_DIR/publish.err")"
fi
if ! gateway_start "$RUN_DIR/gw2" "$KPORT" -o delivery.allowed-endpoints= -o delivery.max-attempts=1; then
	fail "gateway 3 (the store of gateway 2, no allow list) starts" "see $RUN_DIR/gw2/pxtsgw.log"
	summary
	exit 1
fi
GW2_PID=$GW_PID GW3_URL=$GW_URL GW3_LOG=$GW_LOG
got=$("$PY" "$NT" dlvwait "$GW3_URL" a-ipv4 4 10)
assert_eq "restored without the allow list: the callback is refused at connect" \
	"$(printf '%s\n' 'statusNotification_DeliveryAttempted d1 1 delivered null' \
		'statusNotification_DeliveryResult d1 1 delivered null' \
		'statusNotification_DeliveryAttempted d2 1 failed endpoint not allowed' \
		'statusNotification_DeliveryResult d2 1 failed endpoint not allowed' 'fields ok')" "$got"
assert_eq "the sink got nothing more for a-ipv4" \
	"statusNotification a-ipv4 sip:a-ipv4@$D=Unreachable" "$("$PY" "$NT" cb "$SINK" a-ipv4)"
assert_eq "the notification is still running (a failed callback does not end it)" \
	"present sip:a-ipv4@$D=Busy delivered=0 failed=1 failed_attempts=1 healthy=false" \
	"$("$PY" "$NT" notif "$GW3_URL" a-ipv4)"
assert_contains "gateway 3 logs the refused callback" \
	"dlv: statusNotification for correlator a-ipv4 to http://127.0.0.1:$SPORT/cb given up after 1 attempts: endpoint not allowed" \
	"$(cat "$GW3_LOG")"
assert_eq "the sink got only the four first callbacks" 4 "$(json_of "$SINK/received" 'len(d)')"

# witnessed by everything above: nothing ever connected to the listener
assert_eq "no connection reached the listener of the refused endpoints" "" "$(accepts)"

GW_PID=$GW1_PID
gateway_stop
assert_eq "gateway 1 stops with exit 0" 0 "$?"
GW1_PID=
GW_PID=$GW2_PID
gateway_stop
assert_eq "gateway 3 stops with exit 0" 0 "$?"
GW2_PID=

summary
