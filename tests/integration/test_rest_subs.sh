#!/bin/bash
# time-limit: 300
# shellcheck source-path=SCRIPTDIR
#
# test_rest_subs.sh - CAMARA Device Reachability Status subscriptions end
# to end (contract section 12 on sections 5, 9, 9a, 11): a Kamailio
# presence server fed with tests/tools/sip_publish.py, pxtsgw with a users
# file of three applications, CloudEvents received by
# tests/tools/event_sink.py (body and headers recorded) and checked field by
# field (rest_subs/cs.py).
#
# Covers: POST (201, the answer: the request echoed without the access token
# and its expiry, with id, startsAt, expiresAt, status ACTIVE; Location);
# every 400/403/422 of section 12 with nothing created; 401 without
# credentials; reachability-disconnected with initialEvent (counted), only
# on entering Unreachable, max events reached (subscription-ended
# MAX_EVENTS_REACHED, then silence, then GET 404); reachability-data
# (Busy is reachable: Busy <-> Reachable is no event); expiry
# (SUBSCRIPTION_EXPIRED, expiresAt as asked); the token's expiry
# (ACCESS_TOKEN_EXPIRED); DELETE (204, SUBSCRIPTION_DELETED, then 404);
# Authorization: Bearer and x-correlator on every event of a subscription
# that had them, neither on one without; two applications isolated (list,
# GET, DELETE, /deliveries); 429 QUOTA_EXCEEDED over
# policy.max-notifications-per-app; the tracking records of section 9a
# named after the event types; the sink down for a while (events queued,
# retried, arriving in order once it is back), then down again across a
# kill -9 of the gateway (nothing lost: subscriptions back with the same
# answers, the queued event delivered, a change while down notified);
# with a scripted presence server: a refused subscription (404
# IDENTIFIER_NOT_FOUND) and a silent one (503 UNAVAILABLE) create nothing,
# a subscription the presence server ends for good ends with
# NETWORK_TERMINATED; every event validated exactly (cs.py check) and, when
# tests/tools/openapi_check.py is there, every answer and event against the
# OpenAPI document. Clean exit of the gateways.
#
# Usage: tests/integration/test_rest_subs.sh
#   TEST_LOG_DIR=/abs/dir (as tests/run-all.sh sets it): logs kept there;
#   otherwise a temp dir, removed on success.
#   PXTSGW_BIN=...    gateway binary (default: build/asan/pxtsgw if built)
# Prints "N passed, M failed"; exit status 1 if anything failed.

set -u
# shellcheck source=../lib/kamailio.sh
. "$(dirname "$0")/../lib/kamailio.sh"
# shellcheck source=../lib/gateway.sh
. "$(dirname "$0")/../lib/gateway.sh"

if [[ -n "${TEST_LOG_DIR:-}" ]]; then
	RUN_DIR=$TEST_LOG_DIR
	fresh_dir "$RUN_DIR" || exit 2
	KEEP_RUN_DIR=1
else
	RUN_DIR=$(mktemp -d /tmp/pxts-rest-subs.XXXXXX)
	KEEP_RUN_DIR=0
fi
RUN_DIR=$(cd "$RUN_DIR" && pwd)

CS="$TESTS_DIR/integration/rest_subs/cs.py"
ES="$TESTS_DIR/tools/event_sink.py"
SP="$TESTS_DIR/tools/script_presence.py"
OAC="$TESTS_DIR/tools/openapi_check.py"
OADOC="$REPO_ROOT/openapi/device-reachability-status.yaml"
SUBS=/device-reachability-status-subscriptions/v0.8/subscriptions
PFX=org.camaraproject.device-reachability-status-subscriptions.v0.
T_DATA=${PFX}reachability-data
T_DISC=${PFX}reachability-disconnected
GRACE=0.5      # how long "nothing more arrives" is watched, after a witness
EV_WAIT=6      # deadline for an expected event, seconds

SINKA_PID="" SINKB_PID="" SP_PID=""
cleanup() {
	local p
	gateway_stop >/dev/null 2>&1
	for p in "$SINKA_PID" "$SINKB_PID" "$SP_PID"; do
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

users=$RUN_DIR/users
{
	echo "app1:$(openssl passwd -6 -salt s4ltapp1 'pw-app1')"
	echo "app2:$(openssl passwd -6 -salt s4ltapp2 'pw-app2')"
	echo "app3:$(openssl passwd -6 -salt s4ltapp3 'pw-app3')"
	echo "ops:$(openssl passwd -6 -salt s4ltops 'pw-ops'):admin"
} >"$users"
A1=app1:pw-app1 A2=app2:pw-app2 A3=app3:pw-app3

# --- helpers ---------------------------------------------------------------------

# rest USER METHOD PATH [BODY [CURL ARGS...]]: CODE, BODY, $RUN_DIR/hdr; every
# answer is recorded in answers.jsonl for the OpenAPI check
rest() {
	local user=$1 method=$2 path=$3 body=${4:-}
	shift 3
	(($# > 0)) && shift
	local -a auth=() data=()
	[[ $user != - ]] && auth=(-u "$user")
	[[ -n $body ]] && data=(-H 'Content-Type: application/json' --data-binary "$body")
	CODE=$(curl -s -D "$RUN_DIR/hdr" -o "$RUN_DIR/body" -w '%{http_code}' -X "$method" "${auth[@]}" \
		"${data[@]}" "$@" "$GW_URL$path")
	BODY=$(cat "$RUN_DIR/body")
	"$PY" -c 'import json, sys
hdr = open(sys.argv[4], encoding="latin-1").read().lower()
ct = [l.split(":", 1)[1].strip() for l in hdr.splitlines() if l.startswith("content-type:")]
print(json.dumps({"method": sys.argv[1], "path": sys.argv[2], "status": int(sys.argv[3]),
                  "body": open(sys.argv[5], encoding="utf-8", errors="replace").read(),
                  "ctype": ct[-1] if ct else None}))' "$method" "$path" "$CODE" "$RUN_DIR/hdr" \
		"$RUN_DIR/body" >>"$RUN_DIR/answers.jsonl" 2>/dev/null
}
# header NAME: the last answer's header NAME (case-insensitive), or ""
header() { tr -d '\r' <"$RUN_DIR/hdr" | awk -v n="$(tr 'A-Z' 'a-z' <<<"$1")" -F': ' 'tolower($1) == n { v = $2 } END { print v }'; }
# js EXPR: EXPR on the last answer's body (d)
js() { "$PY" "$CS" get "$1" <<<"$BODY"; }
# expect_error NAME STATUS CODE [MESSAGE]: the last answer is that CAMARA error
expect_error() {
	local got
	got=$(js 'str(d["status"]) + " " + d["code"] + " " + d["message"]' 2>/dev/null)
	if [[ $CODE == "$2" && $got == "$2 $3 "* && ( -z ${4:-} || $got == "$2 $3 $4" ) ]]; then
		ok "$1"
	else
		fail "$1" "expected $2 $3 ${4:-}, got HTTP $CODE: $(_short "$BODY")"
	fi
}
# body SINK TYPE PHONE [CONFIG_EXTRA [CREDENTIAL]]: a POST body
body() {
	local cred=${5:+\"sinkCredential\":$5,} extra=${4:+,$4}
	printf '{"protocol":"HTTP","sink":"%s",%s"types":["%s"],"config":{"subscriptionDetail":{"device":{"phoneNumber":"%s"}}%s}}' \
		"$1" "$cred" "$2" "$3" "$extra"
}
cred() { printf '{"credentialType":"ACCESSTOKEN","accessToken":"%s","accessTokenExpiresUtc":"%s","accessTokenType":"bearer"}' "$1" "${2:-2099-01-01T00:00:00Z}"; }
# at S: the wall clock S seconds from now as "YYYY-MM-DDTHH:MM:SS.mmmZ"
at() { "$PY" -c 'import datetime, sys
t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=float(sys.argv[1]))
print(t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000))' "$1"; }
# list USER: the ids of USER's subscriptions, in order
list() { rest "$1" GET "$SUBS"; js '" ".join(s["id"] for s in d)'; }

# setst PHONE STATUS: publish the phone's presentity (one publication each)
declare -A ETAG
setst() {
	local uri="sip:$1@127.0.0.1" et
	local -a args
	case $2 in
	Reachable) args=(--basic open) ;;
	Unreachable) args=(--basic closed) ;;
	Busy) args=(--basic open --activity on-the-phone) ;;
	esac
	if [[ -n ${ETAG[$uri]:-} ]]; then args+=(--if-match "${ETAG[$uri]}"); fi
	if et=$("$PY" "$SIP_PUBLISH" --server "127.0.0.1:$KPORT" "${args[@]}" "$uri" 2>>"$RUN_DIR/publish.err"); then
		ETAG[$uri]=$et
	else
		fail "publish $uri $2" "$(tail -1 "$RUN_DIR/publish.err")"
	fi
}
# evs SINK SUB: that subscription's events at SINK, one line each (cs.py events)
evs() { "$PY" "$CS" events "$1" "$2"; }
nevs() { evs "$1" "$2" | wc -l; }
# wait_evs SINK SUB N: until SUB has N events at SINK
wait_evs() { wait_until "$EV_WAIT" eval "(( \$(nevs '$1' '$2') >= $3 ))"; }
# deliveries USER SUB: "event result" of each tracking record
deliveries() {
	curl -s -u "$1" "$GW_URL/deliveries?correlator=$2" | "$PY" -c 'import json, sys
print(" ".join(r["event"].replace("_Delivery", ":") + "=" + r["result"] for r in json.load(sys.stdin)))'
}
# sink_up VAR_PID PORT: an event sink on PORT
sink_up() {
	"$PY" "$ES" --port "$2" --record "$RUN_DIR/events-$2.jsonl" >>"$RUN_DIR/sink-$2.out" 2>&1 &
	printf -v "$1" '%s' $!
	wait_http "http://127.0.0.1:$2/control" 5
}

read -r KPORT PA PB <<<"$(free_port 3)"
kamailio_start "$RUN_DIR/kam" "$KPORT" WITH_TEST_USERS || { fail "kamailio starts" ""; summary; exit 1; }
sink_up SINKA_PID "$PA" || { fail "sink A starts" "$(cat "$RUN_DIR/sink-$PA.out")"; summary; exit 1; }
sink_up SINKB_PID "$PB" || { fail "sink B starts" "$(cat "$RUN_DIR/sink-$PB.out")"; summary; exit 1; }
SA=http://127.0.0.1:$PA SB=http://127.0.0.1:$PB
GWARGS=(-o auth.users-file="$users" -o policy.max-notifications-per-app=3
	-o delivery.backoff-ms=200 -o delivery.backoff-max-ms=400 -o delivery.max-attempts=100
	-o delivery.circuit-open-s=1 -o policy.max-notification-count=50 -o log.level=debug)
gateway_start "$RUN_DIR/gw" "$KPORT" "${GWARGS[@]}" || { fail "gateway starts" ""; summary; exit 1; }
SOURCES=$GW_URL

# === refusals: nothing created ===================================================
P0=+15550100
setst $P0 Reachable
# (labels: the CAMARA r1.2 scenario each check plays, where there is one)
rest - POST "$SUBS" "$(body "$SA/e" "$T_DATA" $P0)"
expect_error "creation_401.1 no credentials" 401 UNAUTHENTICATED
assert_eq "401 in JSON" "application/json" "$(header content-type)"
rest app1:wrong POST "$SUBS" "$(body "$SA/e" "$T_DATA" $P0)"
expect_error "creation_401.2/3 wrong credentials" 401 UNAUTHENTICATED
rest - GET "$SUBS"
expect_error "list_401.1 no credentials" 401 UNAUTHENTICATED
rest - DELETE "$SUBS/00000000-0000-4000-8000-000000000000"
expect_error "delete_401.1 no credentials" 401 UNAUTHENTICATED
rest "$A1" POST "$SUBS" '{"protocol":'
expect_error "400.1 not JSON" 400 INVALID_ARGUMENT
rest "$A1" POST "$SUBS" "$(body "$SA/e" "$T_DATA" $P0 | sed 's/"types":\[[^]]*\]/"types":"x"/')"
expect_error "400.1 types not an array" 400 INVALID_ARGUMENT
rest "$A1" POST "$SUBS" "$(body "$SA/e" "$T_DATA" $P0 | sed 's/"HTTP"/"MQTT3"/')"
expect_error "400.4 protocol MQTT3" 400 INVALID_PROTOCOL
rest "$A1" POST "$SUBS" "$(body "ftp://127.0.0.1/e" "$T_DATA" $P0)"
expect_error "sink not http(s)" 400 INVALID_SINK
rest "$A1" POST "$SUBS" "$(body "azerty" "$T_DATA" $P0)"
expect_error "400.7 sink azerty" 400 INVALID_SINK
rest "$A1" POST "$SUBS" "$(body "http://10.1.2.3:8080/e" "$T_DATA" $P0)"
expect_error "sink refused by section 11" 400 INVALID_SINK "sink not allowed: 10.1.2.3"
rest "$A1" POST "$SUBS" "$(body "$SA/e" "$T_DATA" $P0 "" '{"credentialType":"PLAIN","accessToken":"x","accessTokenType":"bearer"}')"
expect_error "400.5 credentialType PLAIN" 400 INVALID_CREDENTIAL
rest "$A1" POST "$SUBS" "$(body "$SA/e" "$T_DATA" $P0 "" '{"credentialType":"ACCESSTOKEN","accessToken":"x","accessTokenType":"mac"}')"
expect_error "accessTokenType mac: INVALID_CREDENTIAL (section 12; CAMARA's 400.6 says INVALID_TOKEN)" 400 INVALID_CREDENTIAL
rest "$A1" POST "$SUBS" "$(body "$SA/e" "$T_DATA" $P0 "" '{"credentialType":"ACCESSTOKEN","accessTokenType":"bearer"}')"
expect_error "no accessToken" 400 INVALID_TOKEN
rest "$A1" POST "$SUBS" "$(body "$SA/e" "$T_DATA\",\"$T_DISC" $P0)"
expect_error "two types: 400 (section 12; CAMARA's 422.1 says MULTIEVENT_SUBSCRIPTION_NOT_SUPPORTED)" 400 INVALID_ARGUMENT
rest "$A1" POST "$SUBS" "$(body "$SA/e" "${PFX}reachability-nothing" $P0)"
expect_error "400.3 unknown event type" 400 INVALID_ARGUMENT
rest "$A1" POST "$SUBS" "$(body "$SA/e" "${PFX}reachability-sms" $P0)"
expect_error "reachability-sms" 400 INVALID_ARGUMENT
rest "$A1" POST "$SUBS" "$(body "$SA/e" "$T_DATA" $P0 "\"subscriptionExpireTime\":\"$(at -60)\"")"
expect_error "400.2 expire time in the past" 400 INVALID_ARGUMENT
rest "$A1" POST "$SUBS" "$(body "$SA/e" "$T_DATA" $P0 "\"subscriptionExpireTime\":\"$(at 172800)\"")"
expect_error "expire time beyond policy.max-notification-duration-s" 403 PERMISSION_DENIED
rest "$A1" POST "$SUBS" "$(body "$SA/e" "$T_DATA" $P0 '"subscriptionMaxEvents":51')"
expect_error "max events above policy.max-notification-count" 403 PERMISSION_DENIED
rest "$A1" POST "$SUBS" "$(body "$SA/e" "$T_DATA" $P0 '"subscriptionMaxEvents":"5"')"
expect_error "max events a string" 400 INVALID_ARGUMENT
rest "$A1" POST "$SUBS" "$(body "$SA/e" "$T_DATA" $P0 '"initialEvent":"yes"')"
expect_error "initialEvent a string" 400 INVALID_ARGUMENT
rest "$A1" POST "$SUBS" "{\"protocol\":\"HTTP\",\"sink\":\"$SA/e\",\"types\":[\"$T_DATA\"],\"config\":{\"subscriptionDetail\":{}}}"
expect_error "422 no device" 422 MISSING_IDENTIFIER
rest "$A1" POST "$SUBS" "{\"protocol\":\"HTTP\",\"sink\":\"$SA/e\",\"types\":[\"$T_DATA\"],\"config\":{\"subscriptionDetail\":{\"device\":{}}}}"
expect_error "400 the device an empty object" 400 INVALID_ARGUMENT
rest "$A1" POST "$SUBS" "{\"protocol\":\"HTTP\",\"sink\":\"$SA/e\",\"types\":[\"$T_DATA\"],\"config\":{\"subscriptionDetail\":{\"device\":{\"ipv4Address\":{\"publicAddress\":\"198.51.100.1\",\"publicPort\":5000}}}}}"
expect_error "422 UNSUPPORTED_IDENTIFIER ipv4Address only" 422 UNSUPPORTED_IDENTIFIER
rest "$A1" POST "$SUBS" "$(body "$SA/e" "$T_DATA" 15550100)"
expect_error "400 phone number without +" 400 INVALID_ARGUMENT
rest "$A1" GET "$SUBS"
assert_eq "list: nothing was created (an empty array)" "200 []" "$CODE $BODY"
sleep $GRACE
assert_eq "nothing was sent" "0" "$(curl -s "$SA/received" | "$PY" "$CS" get 'len(d)')"

# === reachability-disconnected: initialEvent, entering only, max events ==========
P1=+15550101
setst $P1 Unreachable
REQ=$(body "$SA/disc" "$T_DISC" $P1 '"subscriptionMaxEvents":3,"initialEvent":true' "$(cred tok-A)")
rest "$A1" POST "$SUBS" "$REQ" -H 'x-correlator: corr-1'
assert_eq "01.1 POST: 201, JSON" "201 application/json" "$CODE $(header content-type)"
S1=$(js 'd["id"]')
S1_JSON=$BODY
assert_eq "the answer: the request without accessToken and accessTokenExpiresUtc, with id, startsAt, expiresAt, status" \
	"protocol sink sinkCredential types config id startsAt expiresAt status|{\"accessTokenType\":\"bearer\",\"credentialType\":\"ACCESSTOKEN\"}|$T_DISC|{\"initialEvent\":true,\"subscriptionDetail\":{\"device\":{\"phoneNumber\":\"$P1\"}},\"subscriptionMaxEvents\":3}|ACTIVE|$SA/disc" \
	"$(js '" ".join(d) + "|" + json.dumps(d["sinkCredential"], sort_keys=True, separators=(",", ":")) + "|" + d["types"][0] + "|" + json.dumps(d["config"], sort_keys=True, separators=(",", ":")) + "|" + d["status"] + "|" + d["sink"]')"
assert_not_contains "the token is not echoed" "tok-A" "$BODY"
assert_eq "id is a UUID v4" "1" "$(js '1 if __import__("re").match(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", d["id"]) else 0')"
assert_eq "x-correlator echoed" "corr-1" "$(header x-correlator)"
assert_eq "Location" "$GW_URL$SUBS/$S1" "$(header location)"
assert_eq "expiresAt: startsAt + the default duration (3600 s)" "3600.0" \
	"$(js '(__import__("datetime").datetime.fromisoformat(d["expiresAt"].replace("Z", "+00:00")) - __import__("datetime").datetime.fromisoformat(d["startsAt"].replace("Z", "+00:00"))).total_seconds()')"
wait_evs "$SA" "$S1" 1
assert_eq "initialEvent: the current state already matches" "reachability-disconnected - Bearer tok-A corr-1" "$(evs "$SA" "$S1")"
rest "$A1" GET "$SUBS/$S1"
assert_eq "GET /{id}: the same answer" "200 $S1_JSON" "$CODE $BODY"
setst $P1 Reachable
setst $P1 Busy
setst $P1 Unreachable
wait_evs "$SA" "$S1" 2
sleep $GRACE
assert_eq "Reachable, Busy: no event; Unreachable again: one" "2" "$(nevs "$SA" "$S1")"
setst $P1 Unreachable
setst $P1 Reachable
setst $P1 Unreachable
wait_evs "$SA" "$S1" 4
sleep $GRACE
assert_eq "the third event (initial counted), then subscription-ended MAX_EVENTS_REACHED, nothing more" \
	"reachability-disconnected - Bearer tok-A corr-1
reachability-disconnected - Bearer tok-A corr-1
reachability-disconnected - Bearer tok-A corr-1
subscription-ended MAX_EVENTS_REACHED Bearer tok-A corr-1" "$(evs "$SA" "$S1")"
rest "$A1" GET "$SUBS/$S1"
expect_error "ended: GET 404" 404 NOT_FOUND
rest "$A1" DELETE "$SUBS/$S1"
expect_error "ended: DELETE 404" 404 NOT_FOUND
assert_eq "tracking records named after the event types, still there" \
	"reachability-disconnected:Attempted=delivered reachability-disconnected:Result=delivered reachability-disconnected:Attempted=delivered reachability-disconnected:Result=delivered reachability-disconnected:Attempted=delivered reachability-disconnected:Result=delivered subscription-ended:Attempted=delivered subscription-ended:Result=delivered" \
	"$(deliveries "$A1" "$S1")"
assert_eq "another application sees none of them" "" "$(deliveries "$A2" "$S1")"

# === reachability-data: Busy is reachable; no credential, no x-correlator =========
P2=+15550102
setst $P2 Busy
rest "$A1" POST "$SUBS" "$(body "$SA/data" "$T_DATA" $P2 '"initialEvent":true')"
S2=$(js 'd["id"]')
assert_eq "reachability-data: 201, no sinkCredential in the answer" "201 no" "$CODE $(js '"yes" if "sinkCredential" in d else "no"')"
wait_evs "$SA" "$S2" 1
setst $P2 Reachable
setst $P2 Busy
setst $P2 Unreachable
setst $P2 Busy
wait_evs "$SA" "$S2" 2
sleep $GRACE
assert_eq "Busy initially reachable; Busy <-> Reachable no event; back from Unreachable one; no Bearer, no x-correlator" \
	"reachability-data - - -
reachability-data - - -" "$(evs "$SA" "$S2")"

# === two applications ===============================================================
rest "$A2" GET "$SUBS/$S2"
expect_error "app2 GET of app1's subscription: 404" 404 NOT_FOUND
rest "$A2" DELETE "$SUBS/$S2"
expect_error "app2 DELETE of app1's subscription: 404" 404 NOT_FOUND
assert_eq "app2's list is empty" "" "$(list "$A2")"
assert_eq "app1's list: S2 (still there)" "$S2" "$(list "$A1")"

# === initialEvent when the current state does not match: nothing ================
rest "$A2" POST "$SUBS" "$(body "$SA/noinit" "$T_DISC" $P2 '"initialEvent":true')"
S2N=$(js 'd["id"]')
sleep $GRACE
assert_eq "initialEvent with the device reachable (Busy): no reachability-disconnected" "0" "$(nevs "$SA" "$S2N")"
rest "$A2" DELETE "$SUBS/$S2N"
wait_evs "$SA" "$S2N" 1
assert_eq "its only event is its end" "subscription-ended SUBSCRIPTION_DELETED - -" "$(evs "$SA" "$S2N")"

# === DELETE ========================================================================
rest "$A1" DELETE "$SUBS/$S2"
assert_eq "DELETE: 204, no body" "204 " "$CODE $BODY"
wait_evs "$SA" "$S2" 3
assert_eq "subscription-ended SUBSCRIPTION_DELETED" "subscription-ended SUBSCRIPTION_DELETED - -" "$(evs "$SA" "$S2" | tail -1)"
rest "$A1" GET "$SUBS/$S2"
expect_error "deleted: GET 404" 404 NOT_FOUND
rest "$A1" DELETE "$SUBS/$S2"
expect_error "deleted: DELETE again 404" 404 NOT_FOUND
# their usage records (contract section 13): operation, the id as the
# correlator, the HTTP status as the result
usage_of() {
	curl -s -u ops:pw-ops "$GW_URL/usage?app=$1" | "$PY" -c '
import csv, io, sys
for r in list(csv.reader(io.StringIO(sys.stdin.read(), newline="")))[1:]:
    if r[6] == sys.argv[1]:
        print("%s %s" % (r[2], r[7]))' "$2"
}
wait_until 3 bash -c "curl -s -u ops:pw-ops '$GW_URL/usage?app=app1' | grep -c '$S2' | grep -q '^[3-9]'" || true
assert_eq "/usage: S2N's create and delete (app2)" "createSubscription ok
deleteSubscription ok" "$(usage_of app2 "$S2N")"
assert_eq "/usage: S2's records end with the DELETE, the GET and DELETE of the gone id" "deleteSubscription ok
getSubscription 404
deleteSubscription 404" "$(usage_of app1 "$S2" | tail -3)"
setst $P2 Unreachable
setst $P2 Reachable
sleep $GRACE
assert_eq "deleted: no more events" "3" "$(nevs "$SA" "$S2")"

# === expiry, the token's expiry =======================================================
P3=+15550103
setst $P3 Reachable
# (far enough ahead for a loaded machine to create both and list them first)
EXP=$(at 8)
rest "$A2" POST "$SUBS" "$(body "$SA/exp" "$T_DISC" $P3 "\"subscriptionExpireTime\":\"$EXP\"")"
S3=$(js 'd["id"]')
assert_eq "expiry: 201, expiresAt as asked" "201 $EXP" "$CODE $(js 'd["expiresAt"]')"
rest "$A2" POST "$SUBS" "$(body "$SA/tok" "$T_DISC" $P3 "" "$(cred tok-T "$(at 7)")")"
S4=$(js 'd["id"]')
assert_eq "token expiry: 201, expiresAt the subscription's (default), not the token's" "201 1" \
	"$CODE $(js '1 if d["expiresAt"] > d["startsAt"][:11] else 0')"
assert_eq "app2's list: S3 S4" "$S3 $S4" "$(list "$A2")"
assert_eq "nothing before their times" "0 0" "$(nevs "$SA" "$S3") $(nevs "$SA" "$S4")"
wait_until 15 eval "(( \$(nevs '$SA' '$S3') >= 1 && \$(nevs '$SA' '$S4') >= 1 ))"
assert_eq "expired: subscription-ended SUBSCRIPTION_EXPIRED" "subscription-ended SUBSCRIPTION_EXPIRED - -" "$(evs "$SA" "$S3")"
assert_eq "token expired: subscription-ended ACCESS_TOKEN_EXPIRED" "subscription-ended ACCESS_TOKEN_EXPIRED Bearer tok-T -" "$(evs "$SA" "$S4")"
assert_eq "both gone" "" "$(list "$A2")"

# === quota: policy.max-notifications-per-app=3 =======================================
Q=()
for i in 1 2 3; do
	setst "+1555012$i" Reachable
	rest "$A3" POST "$SUBS" "$(body "$SA/q" "$T_DATA" "+1555012$i")"
	Q+=("$(js 'd["id"]')")
done
rest "$A3" POST "$SUBS" "$(body "$SA/q" "$T_DATA" +15550121)"
expect_error "a fourth: 429 QUOTA_EXCEEDED" 429 QUOTA_EXCEEDED
assert_eq "app3 has its three" "${Q[*]}" "$(list "$A3")"
rest "$A1" POST "$SUBS" "$(body "$SA/q" "$T_DATA" +15550121)"
S5=$(js 'd["id"]')
assert_eq "another application is not limited by it" "201" "$CODE"
rest "$A3" DELETE "$SUBS/${Q[0]}"
rest "$A3" POST "$SUBS" "$(body "$SA/q" "$T_DATA" +15550121)"
assert_eq "after a DELETE, one more fits" "201" "$CODE"
Q+=("$(js 'd["id"]')")
for s in "${Q[@]:1}"; do rest "$A3" DELETE "$SUBS/$s"; done
rest "$A1" DELETE "$SUBS/$S5"
assert_eq "app3's list empty again" "" "$(list "$A3")"

# === the sink down for a while: events queued, in order once it is back ===========
P6=+15550106
setst $P6 Reachable
rest "$A1" POST "$SUBS" "$(body "$SB/down" "$T_DISC" $P6 "" "$(cred tok-D)")" -H 'x-correlator: down-1'
S6=$(js 'd["id"]')
S6_JSON=$BODY
stop_pid "$SINKB_PID" 2 >/dev/null 2>&1
SINKB_PID=
setst $P6 Unreachable
setst $P6 Reachable
setst $P6 Unreachable
setst $P6 Reachable
wait_until 5 eval "[[ \$(deliveries '$A1' '$S6') == *'reachability-disconnected:Attempted=failed'*'reachability-disconnected:Attempted=failed'* ]]"
assert_contains "sink down: attempts fail (connection refused)" "connection refused" \
	"$(curl -s -u "$A1" "$GW_URL/deliveries?correlator=$S6")"
sink_up SINKB_PID "$PB" || fail "sink B starts again" ""
wait_evs "$SB" "$S6" 2
sleep $GRACE
assert_eq "sink back: both events, in order (event times ascending)" "2 1" \
	"$(curl -s "$SB/received" | "$PY" "$CS" get "(lambda e: str(len(e)) + ' ' + str(int(e == sorted(e))))([r['json']['time'] for r in d if r['json']['data']['subscriptionId'] == '$S6'])")"

# === NOTIFY-to-event latency (printed only, never asserted) ==========================
P9=+15550109
setst $P9 Reachable
rest "$A1" POST "$SUBS" "$(body "$SA/lat" "$T_DISC" $P9)"
S9L=$(js 'd["id"]')
for i in $(seq 1 10); do
	setst $P9 Unreachable
	wait_evs "$SA" "$S9L" "$i" || { fail "latency: event $i" "not received"; break; }
	setst $P9 Reachable
done
run_cmd latency "$PY" "$CS" latency "$GW_LOG" "sip:$P9@127.0.0.1;user=phone" "$SA" "$S9L"
if [[ $RC == 0 ]] && read -r lmin lmed lmax <<<"$OUT"; then
	echo "# NOTIFY-to-CloudEvent latency over 10 events (the gateway's NOTIFY log line -> sink arrival): min ${lmin} ms, median ${lmed} ms, max ${lmax} ms ($(basename "$PXTSGW_BIN" 2>/dev/null) ${PXTSGW_FLAVOUR:-})"
	ok "latency measured"
else
	fail "latency measured" "$OUT"
fi
rest "$A1" DELETE "$SUBS/$S9L"

# === kill -9 with active subscriptions: nothing lost ================================
P7=+15550107 P8=+15550108
setst $P7 Reachable
setst $P8 Unreachable
rest "$A1" POST "$SUBS" "$(body "$SA/crash" "$T_DISC" $P7 "" "$(cred tok-K)")" -H 'x-correlator: kc-1'
S7=$(js 'd["id"]')
S7_JSON=$BODY
rest "$A2" POST "$SUBS" "$(body "$SA/crash2" "$T_DATA" $P8)"
S8=$(js 'd["id"]')
S8_JSON=$BODY
# the sink down again: an event of S6 waits in the outbox at the crash
stop_pid "$SINKB_PID" 2 >/dev/null 2>&1
SINKB_PID=
setst $P6 Unreachable
wait_until 5 eval "[[ \$(deliveries '$A1' '$S6' | grep -o 'Attempted=failed' | wc -l) -ge 3 ]]"
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null
GW_PID=
cp "$RUN_DIR/gw/pxtsgw.log" "$RUN_DIR/gw/pxtsgw-before-kill.log"
setst $P7 Unreachable            # while the gateway is down
gateway_start "$RUN_DIR/gw" "$KPORT" "${GWARGS[@]}" || { fail "gateway starts again" ""; summary; exit 1; }
SOURCES=$SOURCES,$GW_URL
rest "$A1" GET "$SUBS/$S6"
assert_eq "after kill -9: S6 back, same answer" "200 $S6_JSON" "$CODE $BODY"
rest "$A1" GET "$SUBS/$S7"
assert_eq "after kill -9: S7 back, same answer" "200 $S7_JSON" "$CODE $BODY"
rest "$A2" GET "$SUBS/$S8"
assert_eq "after kill -9: S8 back (app2), same answer" "200 $S8_JSON" "$CODE $BODY"
assert_eq "after kill -9: app1's list" "$S6 $S7" "$(list "$A1")"
wait_evs "$SA" "$S7" 1
assert_eq "a change while down is notified, with its Bearer and x-correlator" \
	"reachability-disconnected - Bearer tok-K kc-1" "$(evs "$SA" "$S7")"
sink_up SINKB_PID "$PB" || fail "sink B starts a third time" ""
wait_evs "$SB" "$S6" 1
setst $P6 Reachable
setst $P6 Unreachable
wait_evs "$SB" "$S6" 2
sleep $GRACE
RECB=$RUN_DIR/events-$PB.jsonl
assert_eq "the event queued at the crash arrives, then the next one: 4 in all, in order, none twice" \
	"4 1 reachability-disconnected - Bearer tok-D down-1" \
	"$("$PY" "$CS" get "(lambda e: str(len(e)) + ' ' + str(int(e == sorted(e) and len(set(e)) == len(e))))([r['json']['time'] for r in d if r['json']['data']['subscriptionId'] == '$S6'])" < <("$PY" -c 'import json, sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1])]))' "$RECB")) $(evs "$RECB" "$S6" | sort -u)"
setst $P8 Reachable
wait_evs "$SA" "$S8" 1
assert_eq "S8 (app2) still notifies" "reachability-data - - -" "$(evs "$SA" "$S8")"
for s in "$S6" "$S7"; do rest "$A1" DELETE "$SUBS/$s"; done
rest "$A2" DELETE "$SUBS/$S8"
assert_eq "DELETE after the restart" "204" "$CODE"
wait_evs "$SA" "$S8" 2
assert_eq "S8 ended: SUBSCRIPTION_DELETED" "subscription-ended SUBSCRIPTION_DELETED - -" "$(evs "$SA" "$S8" | tail -1)"
gateway_stop
assert_eq "gateway exits cleanly" "0" "$?"
kamailio_stop

# === a scripted presence server: refusals and a subscription lost for good =========
read -r SPORT <<<"$(free_port 1)"
"$PY" "$SP" serve --port "$SPORT" --log "$RUN_DIR/presence.jsonl" --lifetime 100 \
	--script '{"+1404": {"answer": 404}, "+1500": {"answer": 500},
		"+1666": {"reason": "noresource", "terminate_after_ms": 1000, "after_terminate": 404}}' \
	>"$RUN_DIR/presence.out" 2>&1 &
SP_PID=$!
wait_until 5 "$PY" "$SP" ctl --port "$SPORT" --timeout 0.5 ping ||
	{ fail "scripted presence server starts" "$(tail -3 "$RUN_DIR/presence.out")"; summary; exit 1; }
gateway_start "$RUN_DIR/gw2" "$SPORT" "${GWARGS[@]}" -o sip.keepalive-s=0 -o status.fetch-timeout-ms=1000 ||
	{ fail "gateway starts (scripted)" ""; summary; exit 1; }
SOURCES=$SOURCES,$GW_URL
rest "$A1" POST "$SUBS" "$(body "$SA/nf" "$T_DATA" +14040001)" -H 'x-correlator: nf-1'
expect_error "SIP 404: 404 IDENTIFIER_NOT_FOUND" 404 IDENTIFIER_NOT_FOUND
assert_eq "404 echoes x-correlator" "nf-1" "$(header x-correlator)"
rest "$A1" POST "$SUBS" "$(body "$SA/nf" "$T_DATA" +15000001)"
expect_error "SIP 500: 503 UNAVAILABLE" 503 UNAVAILABLE
assert_eq "nothing created" "" "$(list "$A1")"
rest "$A1" POST "$SUBS" "$(body "$SA/lost" "$T_DISC" +16660001)"
S9=$(js 'd["id"]')
assert_eq "a subscription the server will end: 201" "201" "$CODE"
wait_until 20 eval "(( \$(nevs '$SA' '$S9') >= 1 ))"
assert_eq "ended for good by the presence server: NETWORK_TERMINATED" \
	"subscription-ended NETWORK_TERMINATED - -" "$(evs "$SA" "$S9")"
assert_eq "then gone" "" "$(list "$A1")"
stop_pid "$SP_PID" 2 >/dev/null 2>&1
SP_PID=
rest "$A1" POST "$SUBS" "$(body "$SA/nf" "$T_DATA" +15550199)"
expect_error "the presence server down (no answer within the fetch timeout): 503 UNAVAILABLE" 503 UNAVAILABLE
assert_eq "nothing created" "" "$(list "$A1")"
gateway_stop
assert_eq "scripted gateway exits cleanly" "0" "$?"

# === every event exactly; answers and events against the OpenAPI document ==========
run_cmd cecheck "$PY" "$CS" check "$RUN_DIR/events-$PA.jsonl" "$SOURCES"
assert_eq "every event of sink A exactly as section 12 says" "0 $(wc -l <"$RUN_DIR/events-$PA.jsonl") events valid" "$RC $OUT"
run_cmd cecheckb "$PY" "$CS" check "$RUN_DIR/events-$PB.jsonl" "$SOURCES"
assert_eq "every event of sink B exactly as section 12 says" "0 $(wc -l <"$RUN_DIR/events-$PB.jsonl") events valid" "$RC $OUT"
if [[ -f $OAC && -f $OADOC ]]; then
	run_cmd oa_answers "$PY" "$OAC" --doc "$OADOC" answers "$RUN_DIR/answers.jsonl"
	assert_eq "every answer valid against the OpenAPI document" "0" "$RC"
	[[ $RC == 0 ]] || echo "$OUT" | grep -v '^ok' | head -10
	n=0 bad=0
	for f in "$RUN_DIR"/events-*.jsonl; do
		while IFS= read -r line; do
			"$PY" -c 'import json, sys; print(json.dumps(json.loads(sys.argv[1])["json"]))' "$line" >"$RUN_DIR/ev.json"
			n=$((n + 1))
			"$PY" "$OAC" --doc "$OADOC" schema CloudEvent "$RUN_DIR/ev.json" >>"$RUN_DIR/oa_events.out" 2>&1 || bad=$((bad + 1))
		done <"$f"
	done
	assert_eq "every event ($n) valid against the OpenAPI document's CloudEvent schema" "0" "$bad"
fi

summary
