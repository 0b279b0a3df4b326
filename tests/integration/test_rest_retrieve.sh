#!/bin/bash
# time-limit: 450
# shellcheck source-path=SCRIPTDIR
#
# test_rest_retrieve.sh - CAMARA Device Reachability Status retrieve
# (contract section 12; issue: part 9, item 1) end to end with curl: a real
# Kamailio with published presence, then a scripted presence server
# (tests/tools/script_presence.py) for the outcomes Kamailio will not give a
# phone number (404, 403, 500, silence, down). A users file with two
# applications. Every REST answer is recorded and checked at the end against
# the OpenAPI document the gateway serves (tests/tools/openapi_check.py).
# Also the CAMARA conformance scenarios of
# device-reachability-status.feature (r1.2) that apply to a phone-number-only,
# Basic-authenticated provider: @device_reachability_status_02, _04, C01.01,
# C01.02 (each identifier), C01.03, C01.05, C01.06, 401.1-3, 503.
#
#   tests/integration/test_rest_retrieve.sh   (TEST_LOG_DIR keeps the logs)
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/kamailio.sh
. "$here/../lib/kamailio.sh"
# shellcheck source=../lib/gateway.sh
. "$here/../lib/gateway.sh"
# shellcheck source=../lib/soap.sh
. "$here/../lib/soap.sh"
run_dir rest-retrieve
SP="$TESTS_DIR/tools/script_presence.py"
CHECK="$TESTS_DIR/tools/openapi_check.py"
DOC="$REPO_ROOT/openapi/device-reachability-status.yaml"
RETRIEVE=/device-reachability-status/v1/retrieve
ANSWERS=$RUN_DIR/answers.jsonl
FETCH_TIMEOUT_MS=3000   # a normal fetch on a loaded machine stays far below it
: >"$ANSWERS"

SINK_PID="" SP_PID=""
cleanup() {
	gateway_stop >/dev/null 2>&1
	[[ -n $SINK_PID ]] && stop_pid "$SINK_PID" 2 >/dev/null 2>&1
	[[ -n $SP_PID ]] && stop_pid "$SP_PID" 2 >/dev/null 2>&1
	kamailio_stop
}
trap cleanup EXIT

users=$RUN_DIR/users
{
	echo "app1:$(openssl passwd -6 -salt s4ltapp1 'pw-app1')"
	echo "app2:$(openssl passwd -6 -salt s4ltapp2 'pw-app2')"
	echo "ops:$(openssl passwd -6 -salt s4ltops 'pw-ops'):admin"
} >"$users"
APP1=app1:pw-app1 APP2=app2:pw-app2

# rest METHOD PATH BODY [CURL ARGS...]: one REST request (BODY "-": none);
# sets CODE, BODY, HDRS (the header block, CRs removed) and ELAPSED (ms);
# records the answer in $ANSWERS for the OpenAPI check
rest() {
	local method=$1 path=$2 data=$3 t0
	shift 3
	local -a body=()
	[[ $data != - ]] && body=(-H 'Content-Type: application/json' --data-binary "$data")
	t0=$(now_ms)
	curl -s -X "$method" -D "$RUN_DIR/h" -o "$RUN_DIR/b" "${body[@]}" "$@" "$GW_URL$path" >/dev/null
	ELAPSED=$(($(now_ms) - t0))
	answer "$method" "$path"
}
# answer METHOD PATH: reads the answer in $RUN_DIR/h and $RUN_DIR/b (HDRS,
# CODE, BODY) and records it in $ANSWERS
answer() {
	local method=$1 path=$2
	HDRS=$(tr -d '\r' <"$RUN_DIR/h")
	CODE=$(sed -nE '1s/^HTTP\/[0-9.]+ ([0-9]+).*/\1/p' <<<"$HDRS")
	BODY=$(cat "$RUN_DIR/b")
	"$PY" -c 'import json, sys
ctype = ""
for line in open(sys.argv[4]).read().split("\n"):
    if line.lower().startswith("content-type:"):
        ctype = line.split(":", 1)[1].strip()
print(json.dumps({"method": sys.argv[1], "path": sys.argv[2], "status": int(sys.argv[3] or 0),
                  "body": open(sys.argv[5], encoding="utf-8", errors="replace").read(), "ctype": ctype}))' \
		"$method" "$path" "$CODE" "$RUN_DIR/h" "$RUN_DIR/b" >>"$ANSWERS"
}
# header NAME: the value of a header of the last answer ("" when absent)
header() { sed -nE "s/^$1: (.*)$/\1/Ip" <<<"$HDRS" | head -1; }
# field EXPR: a value of the last JSON body, e.g. field '["code"]'
field() { "$PY" -c 'import json, sys; v = eval("json.load(sys.stdin)" + sys.argv[1]); print(json.dumps(v) if not isinstance(v, str) else v)' "$1" <<<"$BODY" 2>/dev/null; }
# expect_error NAME STATUS CODE: the last answer is that CAMARA error
expect_error() {
	local got
	got=$("$PY" -c 'import json, sys
b = json.load(sys.stdin)
print(sorted(b) == ["code", "message", "status"] and len(b["message"]) > 0, b["status"], b["code"])' <<<"$BODY" 2>/dev/null)
	assert_eq "$1: HTTP $2 $3" "$2 True $2 $3" "$CODE $got"
}
dev() { printf '{"device":{"phoneNumber":"%s"}}' "$1"; }
# status_of: "reachable connectivity" of the last 200
status_of() { "$PY" -c 'import json, sys; b = json.load(sys.stdin); print(json.dumps(b["reachable"]), json.dumps(b.get("connectivity")))' <<<"$BODY" 2>/dev/null; }
# learned: lastStatusTime of the last answer in ms since the epoch
learned() { "$PY" -c 'import json, sys, datetime
t = json.load(sys.stdin)["lastStatusTime"]
d = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
print(int(d.timestamp() * 1000 + 0.5))' <<<"$BODY" 2>/dev/null; }
wall_ms() { date +%s%3N; }

# === part 1: a real Kamailio ====================================================
read -r KPORT <<<"$(free_port 1)"
kamailio_start "$RUN_DIR/kam" "$KPORT" || { fail "kamailio starts" ""; summary; exit 1; }
pub() { # presentity args...
	local who=$1; shift
	"$PY" "$SIP_PUBLISH" --server "127.0.0.1:$KPORT" "$@" "$who" >/dev/null 2>>"$RUN_DIR/publish.err" ||
		fail "publish $who" "$(tail -1 "$RUN_DIR/publish.err")"
}
# sip.tel-domain defaults to the presence server's host
pub "sip:+15550101@127.0.0.1" --basic open --activity on-the-phone
pub "sip:+15550102@127.0.0.1" --basic open
pub "sip:+15550103@127.0.0.1" --basic closed
sink_start || { fail "the sink starts" "$(cat "$RUN_DIR/sink.out")"; summary; exit 1; }
gateway_start "$RUN_DIR/gw" "$KPORT" -o auth.users-file="$users" \
	-o status.fetch-timeout-ms=$FETCH_TIMEOUT_MS || { fail "gateway starts" ""; summary; exit 1; }

# --- the four states (scenarios 02 and 04) -----------------------------------------
corr=b4333c46-49c0-4f62-80d7-f0ef930f1c46
t0=$(wall_ms)
rest POST $RETRIEVE "$(dev +15550101)" -u $APP1 -H "x-correlator: $corr"
t1=$(wall_ms)
assert_eq "busy: 200 reachable, DATA" "200 true [\"DATA\"]" "$CODE $(status_of)"
assert_eq "busy: Content-Type" "application/json" "$(header Content-Type)"
assert_eq "busy: x-correlator echoed" "$corr" "$(header x-correlator)"
l=$(learned)
if [[ -n $l ]] && ((l >= t0 - 1 && l <= t1 + 1)); then ok "busy: lastStatusTime is the fetch's ($l in [$t0, $t1])"
else fail "busy: lastStatusTime" "$l not in [$t0, $t1]: $BODY"; fi
assert_eq "busy: the fields are exactly lastStatusTime, reachable, connectivity" \
	'["connectivity", "lastStatusTime", "reachable"]' "$("$PY" -c 'import json, sys; print(json.dumps(sorted(json.load(sys.stdin))))' <<<"$BODY")"
rest POST $RETRIEVE "$(dev +15550101)" -u $APP1 -H "X-Request-Id: rest-trace-1"
assert_eq "X-Request-Id echoed on a REST answer" "rest-trace-1" "$(header X-Request-Id)"
assert_contains "the gateway logs the REST answer under that id" \
	'req=rest-trace-1' "$(grep -F 'req=rest-trace-1' "$GW_LOG")"
rest POST $RETRIEVE "$(dev +15550102)" -u $APP1
assert_eq "reachable: 200 reachable, DATA" "200 true [\"DATA\"]" "$CODE $(status_of)"
assert_eq "no x-correlator asked: none answered" "" "$(header x-correlator)"
rest POST $RETRIEVE "$(dev +15550103)" -u $APP2 -H "x-correlator: app2-1"
assert_eq "unreachable: 200 not reachable, no connectivity" "200 false null" "$CODE $(status_of)"
assert_eq "unreachable: x-correlator echoed" "app2-1" "$(header x-correlator)"
rest POST $RETRIEVE "$(dev +15550199)" -u $APP2
assert_eq "never published (Kamailio: an empty NOTIFY): 200 not reachable" "200 false null" "$CODE $(status_of)"

# several identifiers: the phone number is used, and said (CAMARA DeviceResponse)
rest POST $RETRIEVE '{"device":{"phoneNumber":"+15550101","ipv6Address":"2001:db8::1","networkAccessIdentifier":"x@example.com"},"extra":{"ignored":[1,2]}}' -u $APP1
assert_eq "several identifiers: 200 with the phone number used" '200 {"phoneNumber": "+15550101"} true' \
	"$CODE $(field '["device"]') $(field '["reachable"]')"

# --- bad requests (C01.01, C01.02, C01.05, C01.06) -----------------------------------
rest POST $RETRIEVE '{"device":{}}' -u $APP1 -H "x-correlator: c0101"
expect_error "C01.01 device {}" 400 INVALID_ARGUMENT
assert_eq "an error answer echoes x-correlator" "c0101" "$(header x-correlator)"
for bad in '"15550100"' '"+1555 0100"' '"+1234567890123456"' '"+"' '15550100' '"tel:+15550100"'; do
	rest POST $RETRIEVE "{\"device\":{\"phoneNumber\":$bad}}" -u $APP1
	expect_error "C01.02 phoneNumber $bad" 400 INVALID_ARGUMENT
done
rest POST $RETRIEVE '{"device":{"ipv4Address":{"publicAddress":"84.125.93.300","publicPort":1}}}' -u $APP1
expect_error "C01.02 ipv4Address not an address" 400 INVALID_ARGUMENT
rest POST $RETRIEVE '{"device":{"ipv4Address":{"publicAddress":"84.125.93.10"}}}' -u $APP1
expect_error "C01.02 ipv4Address without privateAddress or publicPort" 400 INVALID_ARGUMENT
rest POST $RETRIEVE '{"device":{"ipv6Address":"2001:db8::g"}}' -u $APP1
expect_error "C01.02 ipv6Address not an address" 400 INVALID_ARGUMENT
rest POST $RETRIEVE '{"device":{"networkAccessIdentifier":17}}' -u $APP1
expect_error "C01.02 networkAccessIdentifier not a string" 400 INVALID_ARGUMENT
rest POST $RETRIEVE '{}' -u $APP1
expect_error "C01.05 no device" 422 MISSING_IDENTIFIER
rest POST $RETRIEVE '{"devices":{"phoneNumber":"+15550101"}}' -u $APP1
expect_error "C01.05 no device (an unknown field is ignored)" 422 MISSING_IDENTIFIER
rest POST $RETRIEVE '{"device":{"networkAccessIdentifier":"123456789@domain.com"}}' -u $APP1
expect_error "C01.06 networkAccessIdentifier only" 422 UNSUPPORTED_IDENTIFIER
rest POST $RETRIEVE '{"device":{"ipv4Address":{"publicAddress":"84.125.93.10","publicPort":59765}}}' -u $APP1
expect_error "C01.06 ipv4Address only" 422 UNSUPPORTED_IDENTIFIER
rest POST $RETRIEVE '{"device":{"ipv6Address":"2001:db8:85a3:8d3:1319:8a2e:370:7344"}}' -u $APP1
expect_error "C01.06 ipv6Address only" 422 UNSUPPORTED_IDENTIFIER
rest POST $RETRIEVE '{"device":"+15550101"}' -u $APP1
expect_error "device of the wrong type" 400 INVALID_ARGUMENT
rest POST $RETRIEVE '{"device":{"phoneNumber":"+15550101"' -u $APP1
expect_error "not JSON" 400 INVALID_ARGUMENT
rest POST $RETRIEVE '[{"device":{"phoneNumber":"+15550101"}}]' -u $APP1
expect_error "not an object" 400 INVALID_ARGUMENT
rest POST $RETRIEVE "{\"a\":$(printf '[%.0s' {1..40})$(printf ']%.0s' {1..40})}" -u $APP1
expect_error "nested too deep" 400 INVALID_ARGUMENT
rest POST $RETRIEVE - -u $APP1
expect_error "no body" 400 INVALID_ARGUMENT
head -c 1100000 /dev/zero | tr '\0' ' ' >"$RUN_DIR/big.json"
rest POST $RETRIEVE @"$RUN_DIR/big.json" -u $APP1 -H "x-correlator: big"
expect_error "a body over http.max-body" 413 PAYLOAD_TOO_LARGE
assert_eq "413 echoes x-correlator" "big" "$(header x-correlator)"

# --- x-correlator refused ------------------------------------------------------------
long=$(head -c 257 /dev/zero | tr '\0' 'x')
for c in 'a b' 'a\b' 'a,b' 'a=b' "$long"; do
	rest POST $RETRIEVE "$(dev +15550101)" -u $APP1 -H "x-correlator: $c"
	expect_error "x-correlator '${c:0:12}' (${#c} chars) refused" 400 INVALID_ARGUMENT
	assert_eq "a refused x-correlator is not echoed" "" "$(header x-correlator)"
done
rest POST $RETRIEVE "$(dev +15550101)" -u $APP1 -H "x-correlator: ${long:1}"
assert_eq "256 characters: accepted and echoed" "200 256" "$CODE $(header x-correlator | tr -d '\n' | wc -c)"
rest POST $RETRIEVE "$(dev +15550101)" -u $APP1 -H "x-correlator: -_:;./<>{}"
assert_eq "every allowed punctuation: echoed" "200 -_:;./<>{}" "$CODE $(header x-correlator)"

# --- authentication (401.1-3) -----------------------------------------------------------
rest POST $RETRIEVE "$(dev +15550101)" -H "x-correlator: no-auth"
expect_error "401.2 no Authorization" 401 UNAUTHENTICATED
assert_eq "401: WWW-Authenticate" 'Basic realm="pxtsgw"' "$(header WWW-Authenticate)"
assert_eq "401: Content-Type" "application/json" "$(header Content-Type)"
assert_eq "401: x-correlator echoed" "no-auth" "$(header x-correlator)"
rest POST $RETRIEVE "$(dev +15550101)" -u app1:wrong
expect_error "401.1 wrong password" 401 UNAUTHENTICATED
rest POST $RETRIEVE "$(dev +15550101)" -H "Authorization: Bearer not-a-token"
expect_error "401.3 a bearer token (malformed for Basic)" 401 UNAUTHENTICATED
rest POST $RETRIEVE "$(dev +15550101)" -H "Authorization: Basic !!!"
expect_error "401.3 malformed Basic" 401 UNAUTHENTICATED

# --- the OpenAPI document ---------------------------------------------------------------
rest GET /device-reachability-status/v1/openapi.yaml -
assert_eq "openapi.yaml without credentials: 200 application/yaml" "200 application/yaml" "$CODE $(header Content-Type)"
if cmp -s "$RUN_DIR/b" "$DOC"; then ok "the served document is openapi/device-reachability-status.yaml"
else fail "the served document" "differs from $DOC"; fi
cp "$RUN_DIR/b" "$RUN_DIR/served.yaml"
rest POST /device-reachability-status/v1/openapi.yaml '{}' -u $APP1
expect_error "POST to the document" 405 METHOD_NOT_ALLOWED
sed -i '$d' "$ANSWERS"   # not an operation of the document
rest GET $RETRIEVE - -u $APP1
expect_error "GET retrieve" 405 METHOD_NOT_ALLOWED
sed -i '$d' "$ANSWERS"
rest POST /device-reachability-status/v2/retrieve "$(dev +15550101)" -u $APP1
expect_error "another version" 404 NOT_FOUND
sed -i '$d' "$ANSWERS"

# --- answers from state: lastStatusTime is the subscription's last NOTIFY ----------------------
SOAP_USER=$APP1 sn "watch +15550102" rs1 "$SINK/cb" "tel:+15550102"
wait_until 30 bash -c "curl -s -u $APP1 $GW_URL/notifications | grep -q '\"subscription\":\"active\"'" ||
	fail "the subscription is active" "$(curl -s -u $APP1 "$GW_URL/notifications")"
t_active=$(wall_ms)
sleep 1.2
rest POST $RETRIEVE "$(dev +15550102)" -u $APP2
assert_eq "watched: 200 reachable" "200 true [\"DATA\"]" "$CODE $(status_of)"
l=$(learned)
if [[ -n $l ]] && ((l <= t_active)); then ok "watched: lastStatusTime is the NOTIFY's, before the request ($l <= $t_active)"
else fail "watched: lastStatusTime" "$l > $t_active: $BODY"; fi
SOAP_USER=$APP1 en "unwatch +15550102" rs1

# --- two applications at once: each gets its own answer --------------------------------------
pids=()
for i in 1 2 3 4 5 6; do
	if ((i % 2)); then u=$APP1 n=+15550101; else u=$APP2 n=+15550103; fi
	curl -s -u "$u" -H "x-correlator: c$i" -D "$RUN_DIR/conc$i.h" -o "$RUN_DIR/conc$i.b" \
		-H 'Content-Type: application/json' --data-binary "$(dev $n)" "$GW_URL$RETRIEVE" &
	pids+=($!)
done
wait "${pids[@]}"
conc=""
for i in 1 2 3 4 5 6; do
	conc+="$(sed -nE 's/^x-correlator: ([^\r]*)\r?$/\1/Ip' "$RUN_DIR/conc$i.h"):$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["reachable"])' "$RUN_DIR/conc$i.b") "
done
assert_eq "six at once from two applications: each its own answer and x-correlator" \
	"c1:True c2:False c3:True c4:False c5:True c6:False " "$conc"

gateway_stop
assert_eq "the gateway exits 0 on SIGTERM" 0 "$?"
assert_not_contains "no sanitizer report" "Sanitizer" "$(cat "$GW_LOG")"

# --- the request rate (429) ---------------------------------------------------------------------
gateway_start "$RUN_DIR/gw-rate" "$KPORT" -o auth.users-file="$users" -o policy.max-requests-per-s=1 \
	-o status.fetch-timeout-ms=$FETCH_TIMEOUT_MS || { fail "gateway (rate) starts" ""; summary; exit 1; }
# the five in one curl (keep-alive, milliseconds apart): five processes
# in a row may each take more than a second to start on a loaded machine
codes="" args=()
for i in 1 2 3 4 5; do
	args+=(-X POST -H 'Content-Type: application/json' --data-binary "$(dev +15550101)" -u $APP1
		-H "x-correlator: r$i" -D "$RUN_DIR/rate$i.h" -o "$RUN_DIR/rate$i.b" "$GW_URL$RETRIEVE" --next)
done
curl -s "${args[@]:0:${#args[@]}-1}" >/dev/null
for i in 1 2 3 4 5; do
	cp "$RUN_DIR/rate$i.h" "$RUN_DIR/h"
	cp "$RUN_DIR/rate$i.b" "$RUN_DIR/b"
	answer POST $RETRIEVE
	codes+="$CODE "
	[[ $CODE == 429 ]] && { expect_error "over policy.max-requests-per-s" 429 TOO_MANY_REQUESTS
		assert_eq "429 echoes x-correlator" "r$i" "$(header x-correlator)"; break; }
done
assert_contains "five requests in a row of a one-a-second application: a 429" "429" "$codes"
rest GET /device-reachability-status/v1/openapi.yaml - -u $APP1
assert_eq "the document is not counted" "200" "$CODE"
rest POST $RETRIEVE "$(dev +15550101)" -u $APP2
assert_eq "the other application is not limited by it" "200" "$CODE"
gateway_stop
kamailio_stop

# === part 2: a scripted presence server ===========================================================
# 404, 403, 500 and silence for phone numbers (Kamailio's test users are
# names), then the presence server down
read -r SPORT <<<"$(free_port 1)"
"$PY" "$SP" serve --port "$SPORT" --log "$RUN_DIR/presence.jsonl" --lifetime 600 \
	--script '{"+1404": {"answer": 404}, "+1403": {"answer": 403}, "+1500": {"answer": 500},
		"+1999": {"fetch_delay_ms": 30000}, "+1555": {"status": "Busy"}}' \
	>"$RUN_DIR/presence.out" 2>&1 &
SP_PID=$!
wait_until 30 "$PY" "$SP" ctl --port "$SPORT" --timeout 0.5 ping ||
	{ fail "scripted presence server starts" "$(tail -3 "$RUN_DIR/presence.out")"; summary; exit 1; }
gateway_start "$RUN_DIR/gw2" "$SPORT" -o auth.users-file="$users" -o sip.keepalive-s=0 \
	-o status.fetch-timeout-ms=$FETCH_TIMEOUT_MS || { fail "gateway starts (scripted)" ""; summary; exit 1; }
rest POST $RETRIEVE "$(dev +15550100)" -u $APP1
assert_eq "scripted: busy" "200 true [\"DATA\"]" "$CODE $(status_of)"
rest POST $RETRIEVE "$(dev +14040001)" -u $APP1 -H "x-correlator: nf"
expect_error "C01.03 SIP 404: not found" 404 IDENTIFIER_NOT_FOUND
assert_eq "404 echoes x-correlator" "nf" "$(header x-correlator)"
rest POST $RETRIEVE "$(dev +14030001)" -u $APP1
expect_error "SIP 403 (privacy)" 403 PERMISSION_DENIED
rest POST $RETRIEVE "$(dev +15000001)" -u $APP1
expect_error "503 SIP 500: unavailable, not 'not reachable'" 503 UNAVAILABLE
rest POST $RETRIEVE "$(dev +19990001)" -u $APP2 -H "x-correlator: silent"
expect_error "503 silent: unavailable" 503 UNAVAILABLE
assert_eq "silent: x-correlator echoed" "silent" "$(header x-correlator)"
# answered by the fetch timeout, not before it and not by an HTTP time
# limit (60 s): the upper bound is far from both
if ((ELAPSED >= FETCH_TIMEOUT_MS && ELAPSED < 20000)); then ok "silent: answered after the fetch timeout ($ELAPSED ms)"
else fail "silent: timing" "$ELAPSED ms, expected [$FETCH_TIMEOUT_MS, 20000)"; fi
# the usage records of these five (contract section 13): operation
# retrieve, the HTTP status as the result, the root cause
usage_rows() {
	curl -s -u ops:pw-ops "$GW_URL/usage" | "$PY" -c '
import csv, io, sys
rows = list(csv.reader(io.StringIO(sys.stdin.read(), newline="")))
for r in rows[1:]:
    print("|".join([r[1], r[2], r[3], r[7], r[8]]))'
}
expected="app1|retrieve|1|ok|
app1|retrieve|1|404|sip 404
app1|retrieve|1|403|sip 403
app1|retrieve|1|503|sip 500
app2|retrieve|1|503|timeout"
wait_until 30 bash -c "[[ \$(curl -s -u ops:pw-ops '$GW_URL/usage' | grep -c retrieve) -ge 5 ]]" || true
assert_eq "/usage: a record per retrieve with its result and cause" "$expected" "$(usage_rows)"
stop_pid "$SP_PID" 2 >/dev/null 2>&1
SP_PID=""
rest POST $RETRIEVE "$(dev +15550100)" -u $APP1
expect_error "503 presence server down: unavailable" 503 UNAVAILABLE
gateway_stop
assert_eq "the gateway exits 0 on SIGTERM (scripted)" 0 "$?"
assert_not_contains "no sanitizer report (scripted)" "Sanitizer" "$(cat "$GW_LOG")"

# === every answer against the served OpenAPI document ===================================================
n=$(wc -l <"$ANSWERS")
"$PY" "$CHECK" --doc "$RUN_DIR/served.yaml" answers "$ANSWERS" >"$RUN_DIR/openapi-check.out" 2>&1
rc=$?
assert_eq "all $n answers valid against the OpenAPI document (exit 0)" 0 "$rc"
assert_eq "every answer checked" "$n" "$(grep -c '^ok ' "$RUN_DIR/openapi-check.out")"
grep '^FAIL' "$RUN_DIR/openapi-check.out" | head -5
summary
