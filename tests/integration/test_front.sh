#!/bin/bash
# time-limit: 120
# shellcheck source-path=SCRIPTDIR
#
# test_front.sh - what the HTTP front refuses before SOAP, and how it keeps
# slow or greedy clients from holding connections (contract sections 1, 8,
# 11):
#
#   A. a real Kamailio with sip:alice@example.com published Busy; pxtsgw
#      with http.max-body-bytes=4096 and http.max-connections-per-client=3:
#      - 415 for application/x-www-form-urlencoded (curl's default),
#        text/plain, multipart/form-data (a browser form) and no
#        Content-Type, on both SOAP endpoints; the 415 arrives before any
#        body byte is sent (tests/integration/front/fc.py early);
#      - the exact SOAP answer of getstatus/01-busy-rpid for text/xml;
#        charset=utf-8, application/soap+xml and TEXT/XML with parameters;
#        a SOAP 1.2 envelope as application/soap+xml gets the exact
#        VersionMismatch fault of getstatus/30-soap12 (500);
#      - 413 for an announced Content-Length of 4097 and of 10^12 before
#        any body byte, and with curl -H 'Expect:'; a chunked body over the
#        cap gets 413 once read; a body of exactly 4096 bytes is answered;
#      - PUT, DELETE and a POST to the client's endpoint are refused
#        (404/405) before their body; a GET with a body is answered;
#      - /metrics: every refusal counted, no SOAP request and no presence
#        fetch for any of them;
#      - three kept-alive connections from 127.0.0.1 held open: a fourth
#        from 127.0.0.1 is closed without an answer, one from 127.0.0.2 is
#        served, the three are still served, and once one is closed a new
#        one from 127.0.0.1 is served again.
#   B. a silent presence server (a UDP socket that never answers); pxtsgw
#      with http.idle-timeout-s=2, http.request-timeout-s=3,
#      status.fetch-timeout-ms=4000:
#      - a connection that sends nothing, and a kept-alive one after its
#        answer, are closed after 2 s;
#      - a SOAP body trickled one byte every 200 ms (never idle for 2 s) is
#        dropped at 3 s without an answer, and the log says why;
#      - a getStatus waiting 4 s for the silent server (suspended, longer
#        than the idle timeout) still gets its whole answer: the SVC0001
#        fault of getstatus/12-silent with 4000 ms.
#   Both gateways stop with exit status 0 and no sanitizer report.
#
# Usage: tests/integration/test_front.sh
#   TEST_LOG_DIR=/abs/dir  logs there (emptied first); default: a temp dir,
#                          removed on success
#   PXTSGW_BIN=...         gateway binary (default: build/asan/pxtsgw if built)
# Prints "N passed, M failed"; exit status 1 if anything failed.

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/kamailio.sh
. "$here/../lib/kamailio.sh"
# shellcheck source=../lib/gateway.sh
. "$here/../lib/gateway.sh"
cases=$here/getstatus
FC=$here/front/fc.py

if [[ -n "${TEST_LOG_DIR:-}" ]]; then     # tests/run-all.sh
	RUN_DIR=$TEST_LOG_DIR
	KEEP_RUN_DIR=1
else
	RUN_DIR=$(mktemp -d /tmp/pxts-front.XXXXXX) || { echo "mktemp failed" >&2; exit 1; }
	KEEP_RUN_DIR=0
fi
fresh_dir "$RUN_DIR" || exit 2
RUN_DIR=$(cd "$RUN_DIR" && pwd)
BH_PID=

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	gateway_stop >/dev/null 2>&1
	kamailio_stop
	if [[ -n $BH_PID ]]; then stop_pid "$BH_PID" 2 >/dev/null 2>&1; fi
	if ((KEEP_RUN_DIR == 0 && TESTS_FAILED == 0)); then
		rm -rf -- "$RUN_DIR"
	elif ((TESTS_FAILED > 0)); then
		echo "logs kept in $RUN_DIR"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# post ENDPOINT CURL_ARGS...: POST with curl; sets GOT to "HTTP <code>"
# and the body on the following lines (the form of getstatus/*.expected)
post() {
	local ep=$1 out
	shift
	out=$(curl -s -w '\n%{http_code}' -H 'SOAPAction: ""' "$@" "$GW_URL/$ep")
	GOT=$(printf 'HTTP %s\n%s' "${out##*$'\n'}" "${out%$'\n'*}")
}

# stop_gw NAME: SIGTERM to the gateway; exit 0 and no sanitizer report
stop_gw() {
	gateway_stop
	assert_eq "gateway $1 stops on SIGTERM with exit status 0" 0 "$?"
	if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error" "$GW_LOG"; then
		fail "gateway $1: no sanitizer report" "see $GW_LOG"
	else
		ok "gateway $1: no sanitizer report"
	fi
}

# in_range NAME LO HI VALUE: LO <= VALUE < HI (integers). The lower bounds are
# the behaviour (not before the timeout); the upper ones only tell a close
# or an answer from none (the clients give up at 20 s), so a loaded machine
# does not decide
in_range() {
	if [[ $4 =~ ^[0-9]+$ ]] && (($4 >= $2 && $4 < $3)); then
		ok "$1 ($4)"
	else
		fail "$1" "expected [$2, $3), got '$4'"
	fi
}

REQ=$cases/01-busy-rpid.request.xml
BUSY=$(cat "$cases/01-busy-rpid.expected")
NOT_ACCEPTED="HTTP 415
media type not accepted: use text/xml or application/soap+xml"
MAX_BODY=4096

# --- A: media types, sizes, methods, connections per client ----------------
KP=$(free_port)
kamailio_start "$RUN_DIR/kam" "$KP" WITH_TEST_USERS || { fail "kamailio starts" "see $RUN_DIR/kam"; summary; exit 1; }
"$PY" "$SIP_PUBLISH" --server "127.0.0.1:$KP" --basic open --activity on-the-phone \
	sip:alice@example.com >/dev/null 2>"$RUN_DIR/publish.err" ||
	fail "publish alice" "$(tail -1 "$RUN_DIR/publish.err")"
gateway_start "$RUN_DIR/gwA" "$KP" -o http.max-body-bytes=$MAX_BODY \
	-o http.max-connections-per-client=3 || { fail "gateway A starts" "see $RUN_DIR/gwA"; summary; exit 1; }
ok "gateway A starts"

# media types that are not SOAP's: 415, whatever the body
post TerminalStatus --data-binary @"$REQ"
assert_eq "415: application/x-www-form-urlencoded (curl's default)" "$NOT_ACCEPTED" "$GOT"
post TerminalStatus -H 'Content-Type: text/plain' --data-binary @"$REQ"
assert_eq "415: text/plain" "$NOT_ACCEPTED" "$GOT"
post TerminalStatus -F "request=@$REQ"
assert_eq "415: multipart/form-data (a browser form)" "$NOT_ACCEPTED" "$GOT"
post TerminalStatus -H 'Content-Type: application/xml' --data-binary @"$REQ"
assert_eq "415: application/xml" "$NOT_ACCEPTED" "$GOT"
post TerminalStatus -H 'Content-Type:' --data-binary @"$REQ"
assert_eq "415: no Content-Type" "HTTP 415
no Content-Type: use text/xml or application/soap+xml" "$GOT"
post TerminalStatusNotificationManager -H 'Content-Type: text/plain' --data-binary @"$REQ"
assert_eq "415 on /TerminalStatusNotificationManager too" "$NOT_ACCEPTED" "$GOT"
assert_eq "415 before any body byte is sent (then the connection is closed)" \
	"415 closed media type not accepted: use text/xml or application/soap+xml" \
	"$("$PY" "$FC" early "$GW_HTTP_PORT" POST /TerminalStatus 100 'Content-Type: application/x-www-form-urlencoded')"

# SOAP's media types: the same SOAP answer
post TerminalStatus -H 'Content-Type: text/xml; charset=utf-8' --data-binary @"$REQ"
assert_eq "text/xml; charset=utf-8: the SOAP answer (01-busy-rpid)" "$BUSY" "$GOT"
post TerminalStatus -H 'Content-Type: application/soap+xml' --data-binary @"$REQ"
assert_eq "application/soap+xml: the same SOAP answer" "$BUSY" "$GOT"
post TerminalStatus -H 'Content-Type: TEXT/XML ; Charset="UTF-8"' --data-binary @"$REQ"
assert_eq "TEXT/XML with parameters: the same SOAP answer" "$BUSY" "$GOT"
post TerminalStatus -H 'Content-Type: application/soap+xml; charset=utf-8; action=""' \
	--data-binary @"$cases/30-soap12.request.xml"
assert_eq "a SOAP 1.2 envelope as application/soap+xml: VersionMismatch, 500 (30-soap12)" \
	"$(cat "$cases/30-soap12.expected")" "$GOT"

# sizes: an announced Content-Length over the cap is refused before the body
assert_eq "413 for Content-Length $((MAX_BODY + 1)) before any body byte is sent" \
	"413 closed request body too large" \
	"$("$PY" "$FC" early "$GW_HTTP_PORT" POST /TerminalStatus $((MAX_BODY + 1)) 'Content-Type: text/xml')"
assert_eq "413 for Content-Length 10^12 before any body byte is sent" \
	"413 closed request body too large" \
	"$("$PY" "$FC" early "$GW_HTTP_PORT" POST /TerminalStatus 1000000000000 'Content-Type: text/xml')"
{ cat "$REQ"; head -c $((MAX_BODY + 1 - $(stat -c %s "$REQ"))) /dev/zero | tr '\0' ' '; } >"$RUN_DIR/over.xml"
{ cat "$REQ"; head -c $((MAX_BODY - $(stat -c %s "$REQ"))) /dev/zero | tr '\0' ' '; } >"$RUN_DIR/at-cap.xml"
assert_eq "test bodies are $((MAX_BODY + 1)) and $MAX_BODY bytes" "$((MAX_BODY + 1)) $MAX_BODY" \
	"$(stat -c %s "$RUN_DIR/over.xml") $(stat -c %s "$RUN_DIR/at-cap.xml")"
post TerminalStatus -H 'Expect:' -H 'Content-Type: text/xml' --data-binary @"$RUN_DIR/over.xml"
assert_eq "413 with curl -H 'Expect:' (Content-Length $((MAX_BODY + 1)))" "HTTP 413
request body too large" "$GOT"
post TerminalStatus -H 'Transfer-Encoding: chunked' -H 'Content-Type: text/xml' --data-binary @"$RUN_DIR/over.xml"
assert_eq "413 for a chunked body over the cap (capped while read)" "HTTP 413
request body too large" "$GOT"
post TerminalStatus -H 'Content-Type: text/xml' --data-binary @"$RUN_DIR/at-cap.xml"
assert_eq "a body of exactly http.max-body-bytes is answered" "$BUSY" "$GOT"

# other methods and paths: refused before their body too
assert_eq "PUT /health: 404 before the body" "404 closed not found" \
	"$("$PY" "$FC" early "$GW_HTTP_PORT" PUT /health 100 'Content-Type: text/xml')"
assert_eq "DELETE /TerminalStatus: 405 before the body" "405 closed use POST for SOAP or GET ?wsdl" \
	"$("$PY" "$FC" early "$GW_HTTP_PORT" DELETE /TerminalStatus 100)"
assert_eq "POST to the client's endpoint: 404 before the body" \
	"404 closed this endpoint is implemented by the client" \
	"$("$PY" "$FC" early "$GW_HTTP_PORT" POST /TerminalStatusNotification 100 'Content-Type: text/xml')"

assert_eq "a GET with a body is still answered (its body within the request timeout)" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' -X GET --data-binary hello "$GW_URL/health")"

# every refusal counted; none of them reached SOAP or the presence server
m=$(curl -s "$GW_URL/metrics")
assert_eq "/metrics: 14 requests refused (7 x 415, 4 x 413, 404, 405, 404)" 14 \
	"$(metric "$m" pxtsgw_http_rejected_total)"
assert_eq "/metrics: SOAP answered only for the 4 accepted getStatus and the SOAP 1.2 fault" \
	"4 1" "$(metric "$m" 'pxtsgw_soap_requests_total{outcome="ok"}') $(metric "$m" 'pxtsgw_soap_requests_total{outcome="fault"}')"
assert_eq "/metrics: 4 presence fetches, none for a refused request" 4 \
	"$(metric "$m" 'pxtsgw_fetches_total{result="ok"}')"

# connections per client
assert_eq "http.max-connections-per-client=3: 3 held, a 4th from 127.0.0.1 closed, 127.0.0.2 served" \
	"held 3
extra: closed, no answer
127.0.0.2: 200
held 3 still served
after closing one: 200" "$("$PY" "$FC" limit "$GW_HTTP_PORT" 3 2>&1)"
# a client that keeps knocking: every extra connection closed, and the log
# keeps at most 10 of libmicrohttpd's messages a second, then says how
# many it left out
limit_lines() { grep -c 'http: .*[Ll]imit' "$GW_LOG"; }
before=$(limit_lines)
t0=$(now_ms)
assert_eq "200 more connections over the limit: each closed" \
	"held 3
extra x200: closed, no answer
127.0.0.2: 200
held 3 still served
after closing one: 200" "$("$PY" "$FC" limit "$GW_HTTP_PORT" 3 200 2>&1)"
secs=$(( ($(now_ms) - t0) / 1000 + 2 ))   # the seconds the burst touched, at most
after=$(limit_lines)
if (( after - before <= 10 * secs && after - before < 200 )); then
	ok "the log kept $((after - before)) of 200 refusals in at most $secs s (10 a second at most)"
else fail "the log is rate-limited" "$((after - before)) lines for 200 refusals in at most $secs s"; fi
sleep 1.1
"$PY" "$FC" limit "$GW_HTTP_PORT" 3 1 >/dev/null 2>&1   # one more message, in a new second
assert_contains "the log says how many messages it left out" "more messages of libmicrohttpd left out" "$(cat "$GW_LOG")"
stop_gw A

# --- B: timeouts ---------------------------------------------------------------
read -r BH_PORT <<<"$(free_port)"
"$PY" "$FC" blackhole "$BH_PORT" "$RUN_DIR/blackhole.ready" 2>"$RUN_DIR/blackhole.err" &
BH_PID=$!
wait_until 30 test -e "$RUN_DIR/blackhole.ready" || fail "silent presence server starts" "$(cat "$RUN_DIR/blackhole.err")"
gateway_start "$RUN_DIR/gwB" "$BH_PORT" -o sip.keepalive-s=0 -o http.idle-timeout-s=2 \
	-o http.request-timeout-s=3 -o status.fetch-timeout-ms=4000 ||
	{ fail "gateway B starts" "see $RUN_DIR/gwB"; summary; exit 1; }
ok "gateway B starts"

out=$("$PY" "$FC" idle "$GW_HTTP_PORT")
in_range "a connection that sends nothing is closed after http.idle-timeout-s=2 (ms)" 1900 15000 \
	"$(sed -n 's/^closed after \([0-9]*\) ms$/\1/p' <<<"$out")"
out=$("$PY" "$FC" idle "$GW_HTTP_PORT" get)
in_range "a kept-alive connection is closed 2 s after its answer (ms)" 1900 15000 \
	"$(sed -n 's/^closed after \([0-9]*\) ms$/\1/p' <<<"$out")"

out=$("$PY" "$FC" trickle "$GW_HTTP_PORT" /TerminalStatus 200)
assert_eq "a trickled body (a byte every 200 ms) is dropped, no answer" "dropped, no answer" \
	"$(sed -E 's/ after [0-9]+ ms//' <<<"$out")"
in_range "... at http.request-timeout-s=3 (ms)" 2900 15000 \
	"$(sed -n 's/^dropped after \([0-9]*\) ms, no answer$/\1/p' <<<"$out")"
assert_eq "the log says why" 1 \
	"$(grep -c 'http: 127.0.0.1: request body not complete 3 s after its headers: connection dropped' "$GW_LOG")"

t0=$(now_ms)
post TerminalStatus -H 'Content-Type: text/xml; charset=utf-8' --data-binary @"$REQ"
dt=$(($(now_ms) - t0))
assert_eq "a request waiting 4 s for SIP (suspended) outlives the 2 s idle timeout: whole answer" \
	"$(sed 's/within 3000 ms/within 4000 ms/g' "$cases/12-silent.expected")" "$GOT"
in_range "... answered at the fetch timeout (ms)" 4000 15000 "$dt"
m=$(curl -s "$GW_URL/metrics")
assert_eq "/metrics: the dropped body counted as refused" 1 "$(metric "$m" pxtsgw_http_rejected_total)"
stop_gw B

summary
