#!/bin/bash
# time-limit: 120
#
# test_auth.sh - applications and credentials (contract section 11), first
# part: with auth.users-file, every request but /health and the WSDL/XSD
# documents needs HTTP Basic credentials of a user of the file, or (SOAP)
# a WS-Security UsernameToken (PasswordText), else 401 with
# WWW-Authenticate and nothing done (no SIP request, nothing created);
# Basic and a token together must name the same user; /metrics is an
# admin's (/notifications and /deliveries show an app its own:
# test_scope.sh). A real Kamailio, the gateway, curl and zeep (HTTP Basic
# and UsernameToken).
#
#   tests/integration/test_auth.sh        (TEST_LOG_DIR keeps the logs)
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/kamailio.sh
. "$here/../lib/kamailio.sh"
# shellcheck source=../lib/gateway.sh
. "$here/../lib/gateway.sh"
run_dir auth
ZEEP="$TESTS_DIR/tools/zeep_client.py"

cleanup() {
	gateway_stop >/dev/null 2>&1
	kamailio_stop
}
trap cleanup EXIT

users=$RUN_DIR/users
{
	echo "# applications of the test"
	echo "app1:$(openssl passwd -6 -salt s4ltapp1 'pw-app1')"
	echo "ops:$(openssl passwd -6 -salt s4ltops1 'pw ops:1'):admin"
} >"$users"

read -r kport <<<"$(free_port 1)"
kamailio_start "$RUN_DIR/kam" "$kport" WITH_TEST_USERS || { fail "kamailio starts" ""; summary; exit 1; }
gateway_start "$RUN_DIR/gw" "$kport" -o auth.users-file="$users" || { fail "gateway starts" ""; summary; exit 1; }
assert_contains "start-up says how many users" "auth: 2 users from $users" "$(cat "$GW_LOG")"

GS='<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/v2_3/local">
  <soapenv:Body><loc:getStatus><loc:address>sip:auth-never-published@127.0.0.1</loc:address></loc:getStatus></soapenv:Body>
</soapenv:Envelope>'
SN='<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/notification_manager/v2_3/local">
  <soapenv:Body><loc:startNotification>
    <loc:reference><endpoint>http://127.0.0.1:9/cb</endpoint><interfaceName>x</interfaceName><correlator>a1</correlator></loc:reference>
    <loc:addresses>sip:auth-never-published@127.0.0.1</loc:addresses>
  </loc:startNotification></soapenv:Body>
</soapenv:Envelope>'

# post PATH BODY [CURL ARGS...]: HTTP status, then the headers and body in $RUN_DIR/last.*
post() {
	local path=$1 body=$2
	shift 2
	curl -s -o "$RUN_DIR/last.body" -D "$RUN_DIR/last.head" -w '%{http_code}' \
		-H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' --data-binary "$body" "$@" "$GW_URL/$path"
}
get() {
	local path=$1
	shift
	curl -s -o "$RUN_DIR/last.body" -D "$RUN_DIR/last.head" -w '%{http_code}' "$@" "$GW_URL/$path"
}
header() { tr -d '\r' <"$RUN_DIR/last.head" | sed -n "s/^$1: //Ip"; }
fetches() { metric "$(curl -s -u 'ops:pw ops:1' "$GW_URL/metrics")" "pxtsgw_fetches_total{result=\"ok\"}"; }

# --- refused: no credentials, wrong ones ------------------------------------------
assert_eq "getStatus without credentials: 401" 401 "$(post TerminalStatus "$GS")"
assert_eq "401 says how to authenticate" 'Basic realm="pxtsgw"' "$(header WWW-Authenticate)"
assert_eq "getStatus with a wrong password: 401" 401 "$(post TerminalStatus "$GS" -u app1:wrong)"
assert_eq "getStatus of an unknown user: 401" 401 "$(post TerminalStatus "$GS" -u nobody:pw-app1)"
assert_eq "getStatus with the password of another user: 401" 401 "$(post TerminalStatus "$GS" -u app1:'pw ops:1')"
assert_eq "startNotification without credentials: 401" 401 "$(post TerminalStatusNotificationManager "$SN")"
assert_eq "an unknown path without credentials: 401, not 404" 401 "$(get nope)"
assert_eq "/metrics without credentials: 401" 401 "$(get metrics)"
assert_eq "refused requests sent no SIP request" 0 "$(fetches)"
assert_eq "refused startNotification created nothing" "[]" "$(curl -s -u 'ops:pw ops:1' "$GW_URL/notifications" | tr -d ' \n')"

# --- open to all -------------------------------------------------------------------
assert_eq "/health without credentials: 200" 200 "$(get health)"
assert_eq "/health names no subscriber, correlator or application" \
	'{"status":"ok","sip":"ready","presence_server":"up","store":"ready"}' "$(cat "$RUN_DIR/last.body")"
assert_eq "?wsdl without credentials: 200" 200 "$(get 'TerminalStatus?wsdl')"
assert_eq "an imported XSD without credentials: 200" 200 "$(get parlayx_common_types_2_1.xsd)"

# --- accepted ------------------------------------------------------------------------
assert_eq "getStatus of app1: 200" 200 "$(post TerminalStatus "$GS" -u app1:pw-app1)"
assert_contains "getStatus of app1: the answer" "<tsl:result>Unreachable</tsl:result>" "$(cat "$RUN_DIR/last.body")"
assert_eq "getStatus of an admin: 200" 200 "$(post TerminalStatus "$GS" -u 'ops:pw ops:1')"
assert_eq "exactly the two accepted requests fetched" 2 "$(fetches)"
out=$("$PY" "$ZEEP" --user app1 --password pw-app1 "$GW_URL" getStatus sip:auth-never-published@127.0.0.1 2>"$RUN_DIR/zeep.err")
assert_eq "zeep with HTTP Basic" "status Unreachable" "$out"
"$PY" "$ZEEP" "$GW_URL" getStatus sip:auth-never-published@127.0.0.1 >"$RUN_DIR/zeep2.out" 2>"$RUN_DIR/zeep2.err"
assert_eq "zeep without credentials: a transport error (exit 3)" 3 "$?"
assert_contains "zeep without credentials: 401" "401" "$(cat "$RUN_DIR/zeep2.err")"

# --- WS-Security UsernameToken ----------------------------------------------------------
WSSE_NS=http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd
PW_TYPE=http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0
# token_gs USER PASSWORD [TYPE]: the getStatus envelope with a UsernameToken in a
# Security header marked mustUnderstand="1" (TYPE PasswordText by default)
token_gs() {
	printf '%s' '<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/v2_3/local">
  <soapenv:Header><wsse:Security xmlns:wsse="'"$WSSE_NS"'" soapenv:mustUnderstand="1"><wsse:UsernameToken>
    <wsse:Username>'"$1"'</wsse:Username><wsse:Password Type="'"$PW_TYPE#${3:-PasswordText}"'">'"$2"'</wsse:Password>
  </wsse:UsernameToken></wsse:Security></soapenv:Header>
  <soapenv:Body><loc:getStatus><loc:address>sip:auth-never-published@127.0.0.1</loc:address></loc:getStatus></soapenv:Body>
</soapenv:Envelope>'
}
f0=$(fetches)
assert_eq "getStatus with a UsernameToken and no Basic: 200" 200 "$(post TerminalStatus "$(token_gs app1 pw-app1)")"
assert_contains "getStatus with a UsernameToken: the answer" "<tsl:result>Unreachable</tsl:result>" "$(cat "$RUN_DIR/last.body")"
assert_not_contains "the answer does not echo the token" "Security" "$(cat "$RUN_DIR/last.body")"
assert_eq "a UsernameToken with a wrong password: 401" 401 "$(post TerminalStatus "$(token_gs app1 wrong)")"
assert_eq "the token's 401 says how to authenticate" 'Basic realm="pxtsgw"' "$(header WWW-Authenticate)"
assert_eq "the token's 401: a short text" "authentication required" "$(cat "$RUN_DIR/last.body")"
assert_eq "a UsernameToken of an unknown user: 401" 401 "$(post TerminalStatus "$(token_gs nobody pw-app1)")"
assert_eq "a PasswordDigest token (right password inside): 401" 401 \
	"$(post TerminalStatus "$(token_gs app1 pw-app1 PasswordDigest)")"
assert_eq "token of app1 with Basic of ops: 401" 401 "$(post TerminalStatus "$(token_gs app1 pw-app1)" -u 'ops:pw ops:1')"
assert_eq "token of app1 with Basic of app1: 200" 200 "$(post TerminalStatus "$(token_gs app1 pw-app1)" -u app1:pw-app1)"
assert_eq "a right token with a wrong Basic: 401" 401 "$(post TerminalStatus "$(token_gs app1 pw-app1)" -u app1:wrong)"
assert_eq "startNotification with a wrong token: 401" 401 "$(post TerminalStatusNotificationManager "$(printf '%s' "$SN" |
	sed 's|<soapenv:Body>|<soapenv:Header><wsse:Security xmlns:wsse="'"$WSSE_NS"'"><wsse:UsernameToken><wsse:Username>app1</wsse:Username><wsse:Password>wrong</wsse:Password></wsse:UsernameToken></wsse:Security></soapenv:Header>&|')")"
assert_eq "the refused startNotification created nothing" "[]" "$(curl -s -u 'ops:pw ops:1' "$GW_URL/notifications" | tr -d ' \n')"
assert_eq "exactly the two accepted token requests fetched" $((f0 + 2)) "$(fetches)"
out=$("$PY" "$ZEEP" --wsse-user app1 --wsse-password pw-app1 "$GW_URL" getStatus sip:auth-never-published@127.0.0.1 2>"$RUN_DIR/zeep3.err")
assert_eq "zeep with a UsernameToken (PasswordText)" "status Unreachable" "$out"
"$PY" "$ZEEP" --wsse-user app1 --wsse-password pw-app1 --wsse-digest "$GW_URL" getStatus sip:auth-never-published@127.0.0.1 \
	>"$RUN_DIR/zeep4.out" 2>"$RUN_DIR/zeep4.err"
assert_eq "zeep with a PasswordDigest token: a transport error (exit 3)" 3 "$?"
assert_contains "zeep with a PasswordDigest token: 401" "401" "$(cat "$RUN_DIR/zeep4.err")"
out=$("$PY" "$ZEEP" --wsse-user app1 --wsse-password pw-app1 "$GW_URL" startNotification \
	http://127.0.0.1:9/cb wsse-1 sip:auth-never-published@127.0.0.1 2>"$RUN_DIR/zeep5.err")
assert_eq "zeep startNotification with a UsernameToken" "started" "$out"
assert_contains "the token's notification runs" '"wsse-1"' "$(curl -s -u 'ops:pw ops:1' "$GW_URL/notifications")"
assert_contains "the token's notification belongs to app1 (admin view)" '{"app":"app1","correlator":"wsse-1"' "$(curl -s -u 'ops:pw ops:1' "$GW_URL/notifications")"
assert_contains "app1 sees the token's notification as its own" '"correlator":"wsse-1"' "$(curl -s -u app1:pw-app1 "$GW_URL/notifications")"
assert_not_contains "no token password in the log" "pw-app1" "$(cat "$GW_LOG")"

# --- the operator's views ---------------------------------------------------------------
assert_eq "/metrics of an app: 403" 403 "$(get metrics -u app1:pw-app1)"
assert_eq "/notifications of an app: 200 (its own: test_scope.sh)" 200 "$(get notifications -u app1:pw-app1)"
assert_eq "/deliveries of an app: 200 (its own)" 200 "$(get 'deliveries?correlator=a1' -u app1:pw-app1)"
assert_eq "/metrics of an admin: 200" 200 "$(get metrics -u 'ops:pw ops:1')"
assert_eq "/notifications of an admin: 200" 200 "$(get notifications -u 'ops:pw ops:1')"

# --- a malformed users file stops start-up -------------------------------------------
printf 'app1:%s\napp1:%s\n' "$(openssl passwd -6 -salt a x)" "$(openssl passwd -6 -salt b y)" >"$RUN_DIR/users.dup"
"${PXTSGW_BIN:-$REPO_ROOT/build/asan/pxtsgw}" -t -o auth.users-file="$RUN_DIR/users.dup" >"$RUN_DIR/dup.out" 2>"$RUN_DIR/dup.err"
assert_eq "a users file with a name twice: -t exits 1" 1 "$?"
assert_contains "the message names the file and the line" "$RUN_DIR/users.dup:2" "$(cat "$RUN_DIR/dup.err")"

gateway_stop
assert_eq "the gateway exits 0 on SIGTERM" 0 "$?"
assert_not_contains "no sanitizer report" "Sanitizer" "$(cat "$GW_LOG")"
summary
