#!/bin/bash
# time-limit: 600
# shellcheck source-path=SCRIPTDIR
#
# test_sip_edge.sh - the gateway's SIP port at the network's edge (issue 8
# item 6): requests nobody asked for, with a real Kamailio, a callback sink
# and the gateway; stray requests sent by tests/tools/sip_probe.py request.
#
#  a  every stray request gets a final answer and nothing else happens: a
#     NOTIFY that matches no subscription 481 (without and with a To tag),
#     a NOTIFY in the Call-ID of a real subscription (read from Kamailio's
#     active_watchers) with another Event, or with another remote tag, 481;
#     INVITE, MESSAGE, SUBSCRIBE, OPTIONS, PUBLISH, REFER 405 (Allow:
#     NOTIFY); an unknown method 501. The real subscription still works
#     afterwards (a PUBLISH reaches the callback), and no callback comes of
#     any stray NOTIFY.
#  b  no state outlives a stray request: 3 x 10,000 stray NOTIFYs over TCP
#     (where nta keeps no transaction after its answer) leave the gateway's
#     RSS within RSS_BOUND_KB between the second and the third batch (a
#     nua handle left per request grew it by 12-22 MB per 10,000, plain
#     build). Over UDP nta keeps each answered transaction for timer J
#     (32 s): that growth is printed, not asserted.
#  c  fairness under a flood: while UDP NOTIFYs for no subscription come at
#     FLOOD_RATE a second, FLOOD_GETSTATUS getStatus requests all get the
#     right status, a status change of a real subscription reaches the
#     callback, and every stray NOTIFY is answered 481. getStatus latency is
#     printed with and without the flood (measured, not asserted).
#  The gateway stays healthy and stops with exit 0, no sanitizer report.
#
# Usage: tests/integration/test_sip_edge.sh
#   TEST_LOG_DIR=/abs/dir  run directory (default: a new /tmp/pxts-sipedge.*)
#   PXTSGW_BIN=...         gateway binary (default: build/asan/pxtsgw if built)
# Prints "N passed, M failed"; exit status 1 if anything failed.

set -u
# shellcheck source=../lib/kamailio.sh
. "$(dirname "$0")/../lib/kamailio.sh"
# shellcheck source=../lib/gateway.sh
. "$(dirname "$0")/../lib/gateway.sh"
# shellcheck source=../lib/soap.sh
. "$(dirname "$0")/../lib/soap.sh"

SINK_PY="$TESTS_DIR/tools/callback_sink.py"
D=example.com
RSS_BATCH=10000
RSS_BOUND_KB=8192
FLOOD_RATE=${FLOOD_RATE:-1500}
FLOOD_COUNT=${FLOOD_COUNT:-1000000}   # a cap: the flood goes on until the getStatus are done
FLOOD_GETSTATUS=50    # getStatus measured with and without the flood (seconds each under the flood on a loaded machine)
CB_WAIT=30

# a small ASan quarantine: freed memory held for use-after-free checks
# (256 MB by default) would hide what part b measures
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=16}

RUN_DIR=${TEST_LOG_DIR:-$(mktemp -d /tmp/pxts-sipedge.XXXXXX)}
fresh_dir "$RUN_DIR" || exit 2
RUN_DIR=$(cd "$RUN_DIR" && pwd)

SINK_PID="" FLOOD_PID=""
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	[[ -n $FLOOD_PID ]] && stop_pid "$FLOOD_PID" 2 >/dev/null 2>&1
	[[ -n ${GW_PID:-} ]] && gateway_stop
	[[ -n $SINK_PID ]] && stop_pid "$SINK_PID" 2 >/dev/null 2>&1
	kamailio_stop
	if ((TESTS_FAILED > 0)); then echo "logs kept in $RUN_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
T0=$(now_ms)

# --- helpers --------------------------------------------------------------------

pub() { # presentity args...
	local who=$1
	shift
	"$PY" "$SIP_PUBLISH" --server "127.0.0.1:$KP" "$@" "$who" >/dev/null 2>>"$RUN_DIR/publish.err" ||
		fail "publish $who" "$(tail -1 "$RUN_DIR/publish.err")"
}

# stray NAME EXPECTED METHOD [sip_probe.py request options]: the final codes
# counted must be exactly EXPECTED (e.g. "481: 20", one code a line)
stray() {
	local name=$1 want=$2
	shift 2
	run_cmd "stray-${name// /_}" "$PY" "$SIP_PROBE" request "$@" --server "127.0.0.1:$GW_SIP_PORT"
	local got
	got=$(grep -E '^([0-9]{3}|none):' <<<"$OUT" | grep -v '^none: 0$')
	assert_eq "a $name: $(tr '\n' ' ' <<<"$want")" "$want" "$got"
}

cb() { # CORR: the callbacks of CORR, one line each: OP addr=Status...
	curl -s "$SINK/received?correlator=$1" | "$PY" -c '
import json, sys
for r in json.load(sys.stdin):
    print(r.get("operation"), *sorted("%s=%s" % (e["address"], e["currentStatus"]) for e in r.get("entries") or []))'
}
ncb() { (($(cb "$1" | wc -l) >= $2)); }

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$GW_PID/status"; }

# latency N ADDRESS STATUS: N getStatus one after the other on one
# keep-alive connection; prints "wrong=W mean=... p50=... p99=... max=..."
# (ms), wrong = answers that are not HTTP 200 with STATUS
latency() {
	"$PY" - "${GW_URL##*:}" "$@" <<'EOF'
import http.client, re, sys, time
port, n, addr, want = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
body = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/v2_3/local">'
        '<soapenv:Body><loc:getStatus><loc:address>%s</loc:address></loc:getStatus>'
        '</soapenv:Body></soapenv:Envelope>' % addr).encode()
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
lat, wrong = [], 0
for _ in range(n):
    t = time.monotonic()
    c.request("POST", "/TerminalStatus", body,
              {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
    r = c.getresponse()
    d = r.read().decode("utf-8", "replace")
    lat.append((time.monotonic() - t) * 1000)
    m = re.search(r"<tsl:result>([^<]*)</tsl:result>", d)
    if r.status != 200 or not m or m.group(1) != want:
        wrong += 1
        sys.stderr.write("wrong answer: HTTP %d %s\n" % (r.status, d[:400]))
lat.sort()
q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))]
print("wrong=%d mean=%.1f p50=%.1f p99=%.1f max=%.1f"
      % (wrong, sum(lat) / len(lat), q(0.5), q(0.99), lat[-1]))
EOF
}

# --- Kamailio, sink, gateway -------------------------------------------------------
read -r KP SINKPORT <<<"$(free_port 2)" || { echo "no free port"; exit 1; }
# SUBS_DB_MODE=3: active_watchers holds every dialog at once (part a reads it)
kamailio_start "$RUN_DIR/kam" "$KP" WITH_TEST_USERS SUBS_DB_MODE=3 ||
	{ fail "kamailio starts" "see $RUN_DIR/kam"; summary; exit 1; }
pub "sip:alice@$D" --basic open --activity on-the-phone
pub "sip:bob@$D" --basic open
"$PY" "$SINK_PY" --port "$SINKPORT" --record "$RUN_DIR/sink.jsonl" --quiet >"$RUN_DIR/sink.out" 2>&1 &
SINK_PID=$!
SINK=http://127.0.0.1:$SINKPORT
wait_http "$SINK/control" ||
	{ fail "callback sink starts" "$(tail -3 "$RUN_DIR/sink.out")"; summary; exit 1; }
# a long fetch timeout: under the flood an answer may be slow, never wrong
gateway_start "$RUN_DIR/gw" "$KP" -o status.fetch-timeout-ms=10000 ||
	{ fail "gateway starts" "see $RUN_DIR/gw"; summary; exit 1; }
ok "kamailio, sink and gateway start ($(($(now_ms) - T0)) ms)"

# a real subscription: bob, watched by correlator c1
sn "subscription" c1 "$SINK/cb/c1" "sip:bob@$D" crit=Busy,Reachable,Unreachable
dialog() {
	DLG=$(sqlite3 -separator ' ' "$KAM_DB" \
		"select callid, to_tag, from_tag, local_cseq from active_watchers where presentity_uri = 'sip:bob@$D' and event = 'presence'" 2>/dev/null)
	[[ -n $DLG ]]
}
if wait_until 30 dialog; then
	read -r CALLID KTAG GTAG KCSEQ <<<"$DLG"
	ok "Kamailio holds the gateway's subscription to bob (Call-ID $CALLID)"
else
	fail "Kamailio holds the gateway's subscription to bob" "no row in active_watchers"
	CALLID=none KTAG=none GTAG=none KCSEQ=1
fi
GW_CONTACT="sip:pxtsgw@127.0.0.1:$GW_SIP_PORT"

# --- a. stray requests, one of each -----------------------------------------------
stray "NOTIFY out of any dialog" "481: 20" NOTIFY --count 20
stray "NOTIFY with a To tag of no dialog" "481: 20" NOTIFY --count 20 --to-tag nosuchtag
stray "NOTIFY for bob's subscription, Event: dialog" "481: 1" NOTIFY --ruri "$GW_CONTACT" \
	--from "sip:bob@$D" --to "sip:pxts-gw@127.0.0.1" --call-id "$CALLID" --from-tag "$KTAG" \
	--to-tag "$GTAG" --cseq "$((KCSEQ + 1))" --event dialog --body '<dialog-info/>' --content-type application/dialog-info+xml
stray "NOTIFY in bob's Call-ID from another remote tag" "481: 1" NOTIFY --ruri "$GW_CONTACT" \
	--from "sip:bob@$D" --to "sip:pxts-gw@127.0.0.1" --call-id "$CALLID" --from-tag forged1 \
	--to-tag "$GTAG" --cseq $((KCSEQ + 1)) \
	--body "<?xml version=\"1.0\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:bob@$D\"><tuple id=\"t\"><status><basic>closed</basic></status></tuple></presence>"
# nta's answer: the Call-ID and From tag of a dialog without its To tag
stray "NOTIFY in bob's Call-ID, no To tag" "482: 1" NOTIFY --ruri "$GW_CONTACT" \
	--call-id "$CALLID" --from-tag "$KTAG" --cseq $((KCSEQ + 1))
for m in INVITE MESSAGE SUBSCRIBE OPTIONS PUBLISH REFER; do
	stray "$m" "405: 5" "$m" --count 5
done
stray "an unknown method" "501: 5" FROBNICATE --count 5

pub "sip:bob@$D" --basic open --activity on-the-phone
tp=$(now_ms)
if wait_until "$CB_WAIT" ncb c1 1; then
	ok "a after the strays bob's subscription still works: a PUBLISH reaches the callback ($(($(now_ms) - tp)) ms)"
else
	fail "a bob's subscription after the strays" "no callback within $CB_WAIT s"
fi
assert_eq "a only that callback (nothing of the stray NOTIFYs)" "statusNotification sip:bob@$D=Busy" "$(cb c1)"

# --- b. no state outlives a stray request ------------------------------------------
rss=("$(rss_kb)")
for i in 1 2 3; do
	run_cmd "rss-tcp-$i" "$PY" "$SIP_PROBE" request NOTIFY --transport tcp --count $RSS_BATCH \
		--window 256 --expect 481 --server "127.0.0.1:$GW_SIP_PORT"
	((RC == 0)) || fail "b TCP batch $i: every NOTIFY answered 481" "$(tr '\n' ' ' <<<"$OUT")"
	echo "# TCP batch $i: $(grep -E '^(elapsed-ms|rate):' <<<"$OUT" | tr '\n' ' ')"
	rss+=("$(rss_kb)")
done
echo "# RSS over TCP (kB): before ${rss[0]}, after each batch of $RSS_BATCH: ${rss[1]} ${rss[2]} ${rss[3]}"
grow=$((rss[3] - rss[2]))
if ((grow <= RSS_BOUND_KB)); then
	ok "b a third $RSS_BATCH stray NOTIFYs (TCP) grow the RSS by $grow kB (bound $RSS_BOUND_KB kB)"
else
	fail "b RSS bound" "the third batch of $RSS_BATCH grew the RSS by $grow kB (bound $RSS_BOUND_KB kB)"
fi
u0=$(rss_kb)
run_cmd rss-udp "$PY" "$SIP_PROBE" request NOTIFY --count $RSS_BATCH --window 256 --expect 481 \
	--server "127.0.0.1:$GW_SIP_PORT"
assert_eq "b $RSS_BATCH stray NOTIFYs over UDP all answered 481" 0 "$RC"
echo "# RSS over UDP: +$(($(rss_kb) - u0)) kB after $RSS_BATCH (nta keeps each answered transaction 32 s, timer J)"

# --- c. fairness under a flood -------------------------------------------------------
base=$(latency "$FLOOD_GETSTATUS" "sip:alice@$D" Busy 2>>"$RUN_DIR/latency.err")
echo "# getStatus without flood ($FLOOD_GETSTATUS, ms): $base"
assert_eq "c without flood: every getStatus Busy" "wrong=0" "${base%% *}"

rm -f "$RUN_DIR/flood.stop"
"$PY" "$SIP_PROBE" request NOTIFY --count "$FLOOD_COUNT" --rate "$FLOOD_RATE" --window 2000 \
	--stop-file "$RUN_DIR/flood.stop" --timeout 10 --server "127.0.0.1:$GW_SIP_PORT" >"$RUN_DIR/flood.out" 2>"$RUN_DIR/flood.err" &
FLOOD_PID=$!
tf=$(now_ms)
sleep 0.5
pub "sip:bob@$D" --basic closed
tp=$(now_ms)
if wait_until "$CB_WAIT" ncb c1 2; then
	ok "c during the flood a status change of bob reaches the callback ($(($(now_ms) - tp)) ms after the PUBLISH)"
else
	fail "c bob's change during the flood" "no callback within $CB_WAIT s"
fi
flood=$(latency "$FLOOD_GETSTATUS" "sip:alice@$D" Busy 2>>"$RUN_DIR/latency.err")
td=$(($(now_ms) - tf))
# the flood lasts until told (however long the getStatus took on a loaded
# machine): it must still be on now
flood_running=no
pid_alive "$FLOOD_PID" && ! grep -q '^sent:' "$RUN_DIR/flood.out" && flood_running=yes
touch "$RUN_DIR/flood.stop"
wait "$FLOOD_PID"
frc=$?
FLOOD_PID=""
echo "# getStatus during a flood of $FLOOD_RATE stray NOTIFYs/s ($FLOOD_GETSTATUS, ms, the last ${td} ms into it): $flood"
echo "# flood: $(tr '\n' ' ' <<<"$(cat "$RUN_DIR/flood.out")")"
assert_eq "c during the flood: every getStatus Busy" "wrong=0" "${flood%% *}"
assert_eq "c the flood was still on when the last getStatus was answered" yes "$flood_running"
fsent=$(sed -n 's/^sent: //p' "$RUN_DIR/flood.out")
assert_eq "c every stray NOTIFY of the flood answered 481 (exit 0)" "481: $fsent none: 0 (exit 0)" \
	"$(grep -E '^([0-9]{3}|none):' "$RUN_DIR/flood.out" | tr '\n' ' ')(exit $frc)"
assert_eq "c bob's callbacks: Busy, then Unreachable" \
	"$(printf '%s\n' "statusNotification sip:bob@$D=Busy" "statusNotification sip:bob@$D=Unreachable")" "$(cb c1)"

# --- the end ------------------------------------------------------------------------
assert_eq "the gateway is healthy after all that" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$GW_URL/health")"
en "end" c1
t=$(now_ms)
gateway_stop
rc=$?
if ((rc == 0)) && ! grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error|WARNING: ThreadSanitizer" "$GW_LOG"; then
	ok "gateway exits 0 on SIGTERM, no sanitizer report ($(($(now_ms) - t)) ms)"
else
	fail "gateway exits 0 on SIGTERM, no sanitizer report" "exit status $rc; log tail:"
	tail -25 "$GW_LOG" | sed 's/^/    /'
fi
echo "# elapsed $(($(now_ms) - T0)) ms"
summary
