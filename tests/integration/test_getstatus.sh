#!/bin/bash
# time-limit: 120
#
# test_getstatus.sh - getStatus and getStatusForGroup end to end, with curl:
# a real Kamailio presence server, presence published over SIP, pxtsgw in
# between. Each getstatus/NN-name.request.xml is POSTed to /TerminalStatus
# and the answer must equal getstatus/NN-name.expected byte for byte (first
# line "HTTP <code>", then the body). Timing, WSDL, health and metrics are
# checked on the side.
#
#   tests/integration/test_getstatus.sh            run
#   UPDATE=1 tests/integration/test_getstatus.sh   rewrite the .expected files
#                                                  (review the diff by hand!)
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/kamailio.sh"
. "$here/../lib/gateway.sh"
cases=$here/getstatus
RUN_DIR=${TEST_LOG_DIR:-$(mktemp -d /tmp/pxts-getstatus.XXXXXX)}
fresh_dir "$RUN_DIR" || exit 2
FETCH_TIMEOUT_MS=3000   # a normal fetch on a loaded machine stays far below it

cleanup() { gateway_stop >/dev/null 2>&1; kamailio_stop; }
trap cleanup EXIT
trap 'exit 130' INT TERM

KP=$(free_port)
kamailio_start "$RUN_DIR/kam" "$KP" WITH_TEST_USERS || { fail "kamailio starts" "see $RUN_DIR/kam"; summary; exit 1; }

pub() { # presentity args...
	local who=$1; shift
	"$PY" "$SIP_PUBLISH" --server "127.0.0.1:$KP" "$@" "$who" >/dev/null 2>>"$RUN_DIR/publish.err" ||
		fail "publish $who" "$(tail -1 "$RUN_DIR/publish.err")"
}
pub sip:alice@example.com --basic open --activity on-the-phone
pub sip:john.doe@sfb.example --body-file "$here/../data/pidf/device-on-the-phone-rpid-status.xml"
pub sip:bob@example.com --basic open
pub sip:carol@example.com --basic closed
pub sip:erin@example.com --basic closed --tuple-id t-desk
pub sip:erin@example.com --basic open --tuple-id t-mobile
pub "sip:+15550100@127.0.0.1" --basic open --activity busy

gateway_start "$RUN_DIR/gw" "$KP" -o group.file="$cases/groups.txt" \
	-o status.fetch-timeout-ms=$FETCH_TIMEOUT_MS || { fail "gateway starts" "see $RUN_DIR/gw"; summary; exit 1; }
ok "gateway starts"

for req in "$cases"/*.request.xml; do
	name=$(basename "$req" .request.xml)
	exp="$cases/$name.expected"
	t0=$(now_ms)
	soap_post TerminalStatus "$req"
	dt=$(( $(now_ms) - t0 ))
	got=$(printf 'HTTP %s\n%s' "$HTTP_CODE" "$BODY")
	if [[ -n ${UPDATE:-} ]]; then
		printf '%s\n' "$got" >"$exp"
		echo "updated $name"
		continue
	fi
	if [[ ! -f $exp ]]; then
		fail "$name" "no expected reply $exp"
	elif [[ "$got" == "$(cat "$exp")" ]]; then
		ok "$name (${dt} ms)"
	else
		fail "$name" "reply differs from $name.expected: $(diff <(cat "$exp") <(printf '%s\n' "$got") | head -5 | tr '\n' ' ')"
	fi
	# a silent presence server: answered once the fetch timeout is over,
	# never before it, and by it (not by the HTTP timeouts, 60 s: the upper
	# bound is far from both, so a loaded machine does not decide)
	case $name in
	12-silent|20-group-mixed)
		if ((dt >= FETCH_TIMEOUT_MS && dt < 20000)); then
			ok "$name answered after the fetch timeout ($dt ms)"
		else
			fail "$name timing" "$dt ms, expected [$FETCH_TIMEOUT_MS, 20000)"
		fi ;;
	esac
done

# --- beside SOAP ------------------------------------------------------------
wsdl=$(curl -s "$GW_URL/TerminalStatus?wsdl")
assert_contains "?wsdl soap:address is the URL used" "location=\"$GW_URL/TerminalStatus\"" "$wsdl"
wsdl=$(curl -s -H "Host: gw.example:8080" "$GW_URL/TerminalStatus?wsdl")
assert_contains "?wsdl soap:address follows the Host header" 'location="http://gw.example:8080/TerminalStatus"' "$wsdl"
# every import, followed from the service WSDL through what the server
# serves: the set of documents is exact, and each one answers 200
imports_of() { grep -oE '(location|schemaLocation)="[^"]+\.(wsdl|xsd)"' | sed -E 's/.*="([^"]+)"/\1/'; }
todo=$(curl -s "$GW_URL/TerminalStatus?wsdl" | imports_of | sort -u)
seen=""
while [[ -n $todo ]]; do
	next=""
	for imp in $todo; do
		[[ " $seen " == *" $imp "* ]] && continue
		seen="$seen $imp"
		code=$(curl -s -o "$RUN_DIR/import.body" -w '%{http_code}' "$GW_URL/$imp")
		assert_eq "import $imp resolves on the server" 200 "$code"
		next="$next $(imports_of <"$RUN_DIR/import.body")"
	done
	todo=$(tr ' ' '\n' <<<"$next" | sed '/^$/d' | sort -u)
done
assert_eq "the service WSDL's imports, transitively" \
	"parlayx_common_faults_2_1.wsdl parlayx_common_types_2_1.xsd parlayx_terminal_status_interface_2_3.wsdl parlayx_terminal_status_types_2_3.xsd" \
	"$(tr ' ' '\n' <<<"$seen" | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')"
assert_eq "NotificationManager ?wsdl" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$GW_URL/TerminalStatusNotificationManager?wsdl")"
assert_eq "unknown path 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$GW_URL/nope")"
assert_eq "GET on a SOAP endpoint 405" 405 "$(curl -s -o /dev/null -w '%{http_code}' "$GW_URL/TerminalStatus")"
big=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/xml' --data-binary @<(head -c 1100000 /dev/zero | tr '\0' ' ') "$GW_URL/TerminalStatus")
assert_eq "body over http.max-body-bytes gets 413" 413 "$big"
health=$(curl -s -w '%{http_code}' "$GW_URL/health")
assert_eq "/health" '{"status":"ok","sip":"ready","presence_server":"up","store":"ready"}
200' "$health"
metrics=$(curl -s -D - "$GW_URL/metrics")
assert_contains "/metrics content type" "text/plain; version=0.0.4" "$metrics"
assert_eq "/metrics counts fetch timeouts (12-silent, 20-group-mixed)" 2 "$(metric "$metrics" 'pxtsgw_fetches_total{result="timeout"}')"
assert_eq "/metrics counts failed fetches (403, 404, 500)" 5 "$(metric "$metrics" 'pxtsgw_fetches_total{result="failed"}')"

# concurrent getStatus calls all get the right answer
pids=()
for i in $(seq 1 20); do
	curl -s -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' \
		--data-binary @"$cases/01-busy-rpid.request.xml" "$GW_URL/TerminalStatus" >"$RUN_DIR/conc.$i" &
	pids+=($!)
done
wait "${pids[@]}"
n=$(grep -l '<tsl:result>Busy</tsl:result>' "$RUN_DIR"/conc.* | wc -l)
assert_eq "20 concurrent getStatus all Busy" 20 "$n"

gateway_stop
assert_eq "gateway stops cleanly on SIGTERM (exit 0, no sanitizer report)" 0 "$?"
grep -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error" "$GW_LOG" && fail "sanitizers" "see $GW_LOG"

# --- the same answers over TCP (sip.transport=tcp) ----------------------------
gateway_start "$RUN_DIR/gw-tcp" "$KP" -o group.file="$cases/groups.txt" -o sip.transport=tcp \
	-o status.fetch-timeout-ms=$FETCH_TIMEOUT_MS || { fail "gateway (tcp) starts" "see $RUN_DIR/gw-tcp"; summary; exit 1; }
for name in 01-busy-rpid 03-reachable 05-never-published 07-tel 10-privacy 11-no-such-user 12-silent 20-group-mixed; do
	soap_post TerminalStatus "$cases/$name.request.xml"
	got=$(printf 'HTTP %s\n%s' "$HTTP_CODE" "$BODY")
	if [[ "$got" == "$(cat "$cases/$name.expected")" ]]; then
		ok "tcp: $name"
	else
		fail "tcp: $name" "reply differs from $name.expected"
	fi
done
conns=$(ss -Htn state established "( dport = :$KP )" 2>/dev/null | wc -l)
if ((conns > 0)); then ok "tcp: the fetches went over a TCP connection to the presence server"; else fail "tcp: connection" "no TCP connection to port $KP"; fi
gateway_stop
assert_eq "gateway (tcp) stops cleanly" 0 "$?"
summary
