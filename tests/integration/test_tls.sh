#!/bin/bash
# time-limit: 150
# shellcheck source-path=SCRIPTDIR
#
# test_tls.sh - TLS (contract section 11, "TLS") end to end: a throw-away
# Kamailio presence server (WITH_TEST_USERS), pxtsgw with http.tls-cert and
# http.tls-key, and three HTTPS callback sinks (tests/tools/callback_sink.py
# --tls-cert): one with a certificate of the CA given as delivery.ca-file,
# one with a certificate of another CA, one of the right CA for another
# name. Certificates are made now (tests/lib/tls.sh), into the run dir.
#
# Covers: http.tls-cert without http.tls-key (and the reverse), a missing
# file, a key of another certificate: exit 1 with the message naming the
# key; getStatus over HTTPS checked with curl --cacert (and the WSDL's
# soap:address is https); plain HTTP to the HTTPS port gets no HTTP answer;
# an https callback to the trusted sink, by name (localhost) and by IP
# (127.0.0.1, an IP subjectAltName) arrives exactly; one to the untrusted
# sink and one to the wrong-name sink fail with their "tls: ..." detail in
# /deliveries and reach nothing. Only 127.0.0.1 is used.
#
# Usage: tests/integration/test_tls.sh (TEST_LOG_DIR keeps the logs, as
#   tests/run-all.sh sets it; PXTSGW_BIN as in tests/lib/gateway.sh)
# Prints "N passed, M failed"; exit status 1 if anything failed.

set -u
# shellcheck source=../lib/kamailio.sh
. "$(dirname "$0")/../lib/kamailio.sh"
# shellcheck source=../lib/gateway.sh
. "$(dirname "$0")/../lib/gateway.sh"
# shellcheck source=../lib/soap.sh
. "$(dirname "$0")/../lib/soap.sh"
# shellcheck source=../lib/tls.sh
. "$(dirname "$0")/../lib/tls.sh"

NT="$TESTS_DIR/integration/notifications/nt.py"
SINK_PY="$TESTS_DIR/tools/callback_sink.py"
NM=TerminalStatusNotificationManager
D=example.com

if [[ -n "${TEST_LOG_DIR:-}" ]]; then     # tests/run-all.sh
	RUN_DIR=$TEST_LOG_DIR
	KEEP_RUN_DIR=1
else
	RUN_DIR=$(mktemp -d /tmp/pxts-tls.XXXXXX)
	KEEP_RUN_DIR=0
fi
fresh_dir "$RUN_DIR" || exit 2
RUN_DIR=$(cd "$RUN_DIR" && pwd)
C=$RUN_DIR/certs
BIN=${PXTSGW_BIN:-}
if [[ -z $BIN ]]; then
	if [[ -x $REPO_ROOT/build/asan/pxtsgw ]]; then BIN=$REPO_ROOT/build/asan/pxtsgw; else BIN=$REPO_ROOT/bin/pxtsgw; fi
fi

SINK_PIDS=()
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	local p
	gateway_stop
	for p in "${SINK_PIDS[@]}"; do stop_pid "$p" 2 >/dev/null 2>&1; done
	kamailio_stop
	if ((KEEP_RUN_DIR == 0 && TESTS_FAILED == 0)); then
		rm -rf "$RUN_DIR"
	elif ((TESTS_FAILED > 0)); then
		echo "logs kept in $RUN_DIR"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_xml() { # CORR ENDPOINT ADDR
	printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' \
		'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"' \
		'    xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/notification_manager/v2_3/local">' \
		'<soapenv:Body><loc:startNotification>' \
		"<loc:reference><endpoint>$2</endpoint><interfaceName>TerminalStatusNotification</interfaceName><correlator>$1</correlator></loc:reference>" \
		"<loc:addresses>$3</loc:addresses><loc:checkImmediate>true</loc:checkImmediate>" \
		'</loc:startNotification></soapenv:Body></soapenv:Envelope>'
}


# --- certificates, presence server, sinks -------------------------------------
if tls_make_certs "$C"; then ok "test certificates made"; else fail "test certificates made" "see $C/openssl.log"; summary; exit 1; fi
read -r KPORT S1 S2 S3 <<<"$(free_port 4)" || { echo "no free port"; exit 1; }
if ! kamailio_start "$RUN_DIR/kam" "$KPORT" WITH_TEST_USERS; then
	fail "kamailio starts" "see $RUN_DIR/kam/kamailio.log"
	summary
	exit 1
fi
for s in "trusted $S1 server" "untrusted $S2 untrusted" "wrong $S3 wrong"; do
	read -r name port cert <<<"$s"
	"$PY" "$SINK_PY" --port "$port" --record "$RUN_DIR/sink-$name.jsonl" --quiet \
		--tls-cert "$C/$cert.pem" --tls-key "$C/$cert.key" >"$RUN_DIR/sink-$name.out" 2>&1 &
	SINK_PIDS+=($!)
done
SINK1=https://127.0.0.1:$S1
if ! wait_until 30 curl -sf --cacert "$C/ca.pem" -o /dev/null "$SINK1/control"; then
	fail "the trusted sink starts" "see $RUN_DIR/sink-trusted.out"
	summary
	exit 1
fi
wait_until 30 grep -q . "$RUN_DIR/sink-untrusted.out"
wait_until 30 grep -q . "$RUN_DIR/sink-wrong.out"

# --- half configured, unreadable, mismatched: exit 1 with a message ------------
check_refused() { # NAME MESSAGE OPTIONS...
	local name=$1 msg=$2
	shift 2
	run_cmd "cfg-$name" "$BIN" -o store.path="$RUN_DIR/never.db" -o http.listen=127.0.0.1:1 "$@"
	assert_eq "$name: exit 1" 1 "$RC"
	assert_eq "$name: the message" "pxtsgw: configuration error: $msg" "$(cat "$RUN_DIR/cfg-$name.err")"
}
check_refused "cert without key" \
	"key 'http.tls-cert' is set but 'http.tls-key' is not: HTTPS needs both (leave both empty for plain HTTP)" \
	-o http.tls-cert="$C/server.pem"
check_refused "key without cert" \
	"key 'http.tls-key' is set but 'http.tls-cert' is not: HTTPS needs both (leave both empty for plain HTTP)" \
	-o http.tls-key="$C/server.key"
check_refused "missing certificate file" \
	"key 'http.tls-cert': $C/nothing.pem: cannot read: No such file or directory" \
	-o http.tls-cert="$C/nothing.pem" -o http.tls-key="$C/server.key"
check_refused "key of another certificate" \
	"key 'http.tls-key': $C/wrong.key: does not match the certificate of $C/server.pem" \
	-o http.tls-cert="$C/server.pem" -o http.tls-key="$C/wrong.key"
check_refused "CA file without a certificate" \
	"key 'delivery.ca-file': $C/ca.key: no certificate (no PEM block \"BEGIN CERTIFICATE\")" \
	-o delivery.ca-file="$C/ca.key"
assert_eq "nothing was created by the refused starts" "" "$(ls "$RUN_DIR"/never.db* 2>/dev/null)"

# --- the gateway over HTTPS -----------------------------------------------------
if ! GW_TLS_CA=$C/ca.pem gateway_start "$RUN_DIR/gw" "$KPORT" \
	-o http.tls-cert="$C/server.pem" -o http.tls-key="$C/server.key" \
	-o delivery.ca-file="$C/ca.pem" -o delivery.max-attempts=1 -o delivery.timeout-ms=3000; then
	fail "the gateway starts with HTTPS" "see $RUN_DIR/gw/pxtsgw.log"
	summary
	exit 1
fi
ok "the gateway starts with HTTPS ($GW_URL/health answers 200 with --cacert)"
assert_contains "the log says https" "http: listening on https://127.0.0.1:$GW_HTTP_PORT/" "$(cat "$GW_LOG")"
assert_contains "the log names the CA file" "https callbacks: certificates verified against $C/ca.pem" "$(cat "$GW_LOG")"

if "$PY" "$SIP_PUBLISH" --server "127.0.0.1:$KPORT" --basic open --activity on-the-phone \
	"sip:alice@$D" >/dev/null 2>"$RUN_DIR/publish.err"; then
	ok "publish sip:alice@$D Busy"
else
	fail "publish sip:alice@$D Busy" "$(tail -1 "$RUN_DIR/publish.err")"
fi
GW_TLS_CA=$C/ca.pem soap_post TerminalStatus "$(getstatus_xml "sip:alice@$D")"
assert_eq "getStatus over HTTPS: HTTP 200" 200 "$HTTP_CODE"
assert_contains "getStatus over HTTPS: Busy" "<tsl:getStatusResponse><tsl:result>Busy</tsl:result></tsl:getStatusResponse>" "$BODY"
out=$("$PY" "$TESTS_DIR/tools/zeep_client.py" --ca "$C/ca.pem" "https://localhost:$GW_HTTP_PORT" getStatus \
	"sip:alice@$D" 2>"$RUN_DIR/zeep.err")
assert_eq "zeep over HTTPS (the WSDL and the call, verified against the test CA)" "status Busy" "$out"
"$PY" "$TESTS_DIR/tools/zeep_client.py" "https://localhost:$GW_HTTP_PORT" getStatus "sip:alice@$D" \
	>/dev/null 2>"$RUN_DIR/zeep2.err"
assert_eq "zeep without the test CA: a transport error (exit 3)" 3 "$?"
assert_contains "zeep without the test CA: the certificate is not trusted" "CERTIFICATE_VERIFY_FAILED" \
	"$(cat "$RUN_DIR/zeep2.err")"
wsdl=$(curl -s --cacert "$C/ca.pem" "https://localhost:$GW_HTTP_PORT/TerminalStatus?wsdl")
assert_contains "?wsdl soap:address is https" "location=\"https://localhost:$GW_HTTP_PORT/TerminalStatus\"" "$wsdl"
code=$(curl -s -o /dev/null -w '%{http_code}' "https://127.0.0.1:$GW_HTTP_PORT/health")
assert_eq "a client without the CA refuses the gateway's certificate (no HTTP answer)" 000 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$GW_HTTP_PORT/health")
rc=$?
assert_eq "plain HTTP to the HTTPS port: no HTTP answer" 000 "$code"
if ((rc != 0)); then ok "plain HTTP to the HTTPS port: curl fails (exit $rc)"; else fail "plain HTTP to the HTTPS port: curl fails" "exit 0"; fi

# --- https callbacks --------------------------------------------------------------
# name|endpoint (all with checkImmediate: one statusNotification each)
for r in "ok-name|https://localhost:$S1/cb" "ok-ip|https://127.0.0.1:$S1/cb" \
	"untrusted|https://127.0.0.1:$S2/cb" "wrong-ip|https://127.0.0.1:$S3/cb" \
	"wrong-name|https://localhost:$S3/cb"; do
	IFS='|' read -r name ep <<<"$r"
	GW_TLS_CA=$C/ca.pem soap_post "$NM" "$(start_xml "t-$name" "$ep" "sip:alice@$D")"
	assert_eq "startNotification $name ($ep): HTTP 200" 200 "$HTTP_CODE"
done
for name in ok-name ok-ip; do
	got=$(SSL_CERT_FILE=$C/ca.pem "$PY" "$NT" wait "$SINK1" "t-$name" 1 10)
	assert_eq "https callback $name reaches the trusted sink" "statusNotification t-$name sip:alice@$D=Busy" "$got"
	got=$(SSL_CERT_FILE=$C/ca.pem "$PY" "$NT" dlvwait "$GW_URL" "t-$name" 2 10)
	assert_eq "/deliveries of $name" \
		"$(printf '%s\n' 'statusNotification_DeliveryAttempted d1 1 delivered null' \
			'statusNotification_DeliveryResult d1 1 delivered null' 'fields ok')" "$got"
done
for r in "untrusted|tls: certificate verify failed: unable to get local issuer certificate" \
	"wrong-ip|tls: certificate verify failed: IP address mismatch" \
	"wrong-name|tls: certificate verify failed: hostname mismatch"; do
	IFS='|' read -r name detail <<<"$r"
	got=$(SSL_CERT_FILE=$C/ca.pem "$PY" "$NT" dlvwait "$GW_URL" "t-$name" 2 10)
	assert_eq "/deliveries of $name: failed with '$detail'" \
		"$(printf '%s\n' "statusNotification_DeliveryAttempted d1 1 failed $detail" \
			"statusNotification_DeliveryResult d1 1 failed $detail" 'fields ok')" "$got"
done
assert_eq "the trusted sink got exactly the two good callbacks" "t-ok-ip t-ok-name" \
	"$("$PY" -c 'import json, sys
print(" ".join(sorted(json.loads(l)["correlator"] for l in open(sys.argv[1]))))' "$RUN_DIR/sink-trusted.jsonl")"
assert_eq "the untrusted sink got nothing" "" "$(cat "$RUN_DIR/sink-untrusted.jsonl" 2>/dev/null)"
assert_eq "the wrong-name sink got nothing" "" "$(cat "$RUN_DIR/sink-wrong.jsonl" 2>/dev/null)"

gateway_stop
assert_eq "the gateway stops with exit 0" 0 "$?"
summary
