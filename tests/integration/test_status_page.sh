#!/bin/bash
# time-limit: 150
# shellcheck source-path=SCRIPTDIR
#
# test_status_page.sh - GET /status (contract sections 11 and 13): the
# operator's HTML page. With a users file it is an admin's: 401 without or
# with wrong credentials, 403 for an app. The page, loaded in headless
# Chromium (no JavaScript needed; its Content-Security-Policy allows none),
# shows the presence server up, the SIP subscriptions by state, each
# notification (application, correlator, addresses, endpoint with its
# credentials as ***, delivered and failed), the delivery health of a dead
# callback endpoint (failed attempts, circuit open, last error), the
# outbox, the recent warnings, version and uptime. A correlator chosen to
# inject markup comes out as text: no script element, no handler. The
# screenshot is kept as $RUN_DIR/status.png. A real Kamailio
# (WITH_TEST_USERS, fed with sip_publish.py), the gateway with a users
# file, tests/tools/callback_sink.py and a port where nothing listens.
#
#   tests/integration/test_status_page.sh   (TEST_LOG_DIR keeps the logs)
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/kamailio.sh
. "$here/../lib/kamailio.sh"
# shellcheck source=../lib/gateway.sh
. "$here/../lib/gateway.sh"
# shellcheck source=../lib/soap.sh
. "$here/../lib/soap.sh"
run_dir status-page

SINK_PID=""
cleanup() {
	gateway_stop >/dev/null 2>&1
	[[ -n $SINK_PID ]] && stop_pid "$SINK_PID" 2 >/dev/null 2>&1
	kamailio_stop
}
trap cleanup EXIT

command -v chromium >/dev/null || { fail "chromium is installed (tools/deps.sh)" ""; summary; exit 1; }

users=$RUN_DIR/users
{
	echo "app1:$(openssl passwd -6 -salt s4ltapp1 'pw-app1')"
	echo "ops:$(openssl passwd -6 -salt s4ltops1 'pw-ops'):admin"
} >"$users"
A1=app1:pw-app1 OPS=ops:pw-ops

read -r KPORT DEAD <<<"$(free_port 2)"     # DEAD: nothing listens there
kamailio_start "$RUN_DIR/kam" "$KPORT" WITH_TEST_USERS || { fail "kamailio starts" ""; summary; exit 1; }
sink_start --record "$RUN_DIR/sink.jsonl" || { fail "the sink starts" "$(cat "$RUN_DIR/sink.out")"; summary; exit 1; }
SINK_HOSTPORT=${SINK#http://}
W1=sip:status-a@example.com W2=sip:status-b@example.com
for who in "$W1" "$W2"; do
	"$PY" "$SIP_PUBLISH" --server "127.0.0.1:$KPORT" --basic open "$who" \
		>/dev/null 2>"$RUN_DIR/publish.err" || fail "publish $who" "$(cat "$RUN_DIR/publish.err")"
done

# a dead endpoint: two failed attempts open its circuit for longer than the test
gateway_start "$RUN_DIR/gw" "$KPORT" -o auth.users-file="$users" \
	-o delivery.circuit-failures=2 -o delivery.circuit-open-s=600 \
	-o delivery.backoff-ms=200 -o delivery.max-attempts=10 -o sip.tel-domain=example.com ||
	{ fail "gateway starts" ""; summary; exit 1; }

# --- who may see it ---------------------------------------------------------------
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
assert_eq "/status without credentials: 401" 401 "$(code "$GW_URL/status")"
assert_eq "/status with a wrong password: 401" 401 "$(code -u ops:wrong "$GW_URL/status")"
assert_eq "/status of an app: 403" 403 "$(code -u "$A1" "$GW_URL/status")"
assert_eq "/status of an admin: 200" 200 "$(code -u "$OPS" "$GW_URL/status")"

# --- the notifications -----------------------------------------------------------
HOSTILE='<script>alert(1)</script>&"'"'"
HOSTILE_XML='&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&apos;'
SOAP_USER=$OPS sn "the admin's own notification" ops-one "$SINK/cb/ops" "$W1" imm=true
SOAP_USER=$A1 sn "a correlator that tries to inject markup" "$HOSTILE_XML" "$SINK/cb/hostile" "$W1 $W2" imm=true
SOAP_USER=$A1 sn "an endpoint with credentials" creds "http://cbuser:s3cret-pw@$SINK_HOSTPORT/cb/creds" "$W2" imm=true
SOAP_USER=$A1 sn "a dead endpoint" dead "http://127.0.0.1:$DEAD/cb/dead" "$W1" imm=true
# a CAMARA subscription of app1 (no initial event: nothing to deliver)
CAM=$(curl -s -u "$A1" -H 'Content-Type: application/json' -d '{"protocol":"HTTP","sink":"'"$SINK/events/cam"'",
  "types":["org.camaraproject.device-reachability-status-subscriptions.v0.reachability-disconnected"],
  "config":{"subscriptionDetail":{"device":{"phoneNumber":"+15550177"}}}}' \
	"$GW_URL/device-reachability-status-subscriptions/v0.8/subscriptions" |
	"$PY" -c 'import json, sys; print(json.load(sys.stdin).get("id", ""))' 2>/dev/null)
if [[ $CAM =~ ^[0-9a-f-]{36}$ ]]; then ok "a CAMARA subscription ($CAM)"; else fail "a CAMARA subscription" "id '$CAM'"; fi

page() { curl -s -u "$OPS" "$GW_URL/status"; }
# the three good callbacks delivered, the dead endpoint's circuit open, its
# callback the only one left in the outbox
settled() {
	local m
	m=$(curl -s -u "$OPS" "$GW_URL/metrics")
	[[ $(metric "$m" pxtsgw_delivery_circuit_open) == 1 && $(metric "$m" pxtsgw_outbox_callbacks) == 1 &&
		$(metric "$m" pxtsgw_subscriptions_active) == 3 &&
		$(metric "$m" 'pxtsgw_deliveries_total{operation="statusNotification",result="delivered"}') == 3 ]]
}
wait_until 20 settled || fail "deliveries settle" "$(curl -s -u "$OPS" "$GW_URL/metrics" | grep -E 'circuit_open|outbox|subscriptions_active|deliveries_total')"

# --- the answer ------------------------------------------------------------------
curl -s -D "$RUN_DIR/status.headers" -o "$RUN_DIR/status.html" -u "$OPS" "$GW_URL/status"
hdr() { grep -i "^$1:" "$RUN_DIR/status.headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
assert_eq "Content-Type" "text/html; charset=utf-8" "$(hdr Content-Type)"
assert_eq "Content-Security-Policy: no script" \
	"default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'" "$(hdr Content-Security-Policy)"
assert_eq "Cache-Control" "no-store" "$(hdr Cache-Control)"
assert_eq "no <script in the page's source" 0 "$(grep -ci '<script' "$RUN_DIR/status.html")"
assert_eq "the endpoint's password is not in the page" 0 "$(grep -c 's3cret' "$RUN_DIR/status.html")"
assert_eq "the hostile correlator escaped in the source" 1 \
	"$(grep -cF '<td class="text id">&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;</td>' "$RUN_DIR/status.html")"

# --- in headless Chromium: the DOM it renders, a screenshot --------------------------
SHOT=$RUN_DIR/status.png
DOM=$RUN_DIR/status.dom.html
rm -f "$SHOT"
# credentials in the URL: Chromium sends them as HTTP Basic
timeout 90 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$RUN_DIR/chromium" \
	--window-size=1280,2000 --screenshot="$SHOT" --dump-dom \
	"http://$OPS@127.0.0.1:$GW_HTTP_PORT/status" >"$DOM" 2>"$RUN_DIR/chromium.err"
assert_eq "chromium ends well" 0 "$?"
rm -rf "$RUN_DIR/chromium"        # its profile: nothing to keep
"$PY" "$TESTS_DIR/tools/status_dom.py" "$DOM" >"$RUN_DIR/status.facts" 2>&1 ||
	fail "the DOM parses" "$(tail -3 "$RUN_DIR/status.facts")"
fact() { sed -n "s/^id $1 //p" "$RUN_DIR/status.facts"; }
assert_eq "no script element in the DOM" "count script 0" "$(grep '^count script ' "$RUN_DIR/status.facts")"
assert_eq "no iframe, object, embed or img" "count iframe 0|count object 0|count embed 0|count img 0" \
	"$(grep -E '^count (iframe|object|embed|img) ' "$RUN_DIR/status.facts" | paste -sd'|')"
assert_eq "no event handler attribute" "" "$(grep '^attr ' "$RUN_DIR/status.facts")"
assert_eq "version" "$(sed -n 's/^VERSION := //p' "$REPO_ROOT/Makefile")" "$(fact version)"
up=$(fact uptime)
if [[ $up =~ ^[0-9]+\ s$|^[0-9]+\ min\ [0-9]+\ s$ ]]; then ok "uptime: $up"; else fail "uptime" "'$up'"; fi
assert_eq "presence server up" up "$(fact presence-state)"
since=$(fact presence-since)
if [[ $since =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}\ UTC$ ]]; then
	ok "presence server up since $since"
else
	fail "presence server since" "'$since'"
fi
assert_eq "subscriptions by state (subscribing active waiting failed closing)" "0 3 0 0 0" \
	"$(for s in subscribing active waiting failed closing; do fact "subs-$s"; done | paste -sd' ')"
assert_eq "notifications: the total" 4 "$(fact notifications-total)"
T=$'\t'
want_rows=$(printf '%s\n' \
	"row notifications${T}app1${T}dead${T}1${T}http://127.0.0.1:$DEAD/cb/dead${T}0${T}0" \
	"row notifications${T}app1${T}creds${T}1${T}http://***@$SINK_HOSTPORT/cb/creds${T}1${T}0" \
	"row notifications${T}app1${T}$HOSTILE${T}2${T}$SINK/cb/hostile${T}1${T}0" \
	"row notifications${T}ops${T}ops-one${T}1${T}$SINK/cb/ops${T}1${T}0")
assert_eq "notifications: newest first, application, correlator as text, addresses, endpoint, delivered, failed" \
	"$want_rows" "$(grep "^row notifications" "$RUN_DIR/status.facts")"
assert_eq "CAMARA subscriptions: the total" 1 "$(fact camara-total)"
assert_eq "CAMARA subscriptions: app1's, its id, one address, the sink, nothing sent" \
	"row camara${T}app1${T}$CAM${T}1${T}$SINK/events/cam${T}0${T}0" \
	"$(grep '^row camara' "$RUN_DIR/status.facts")"
assert_eq "endpoints: one (the dead one; the sink has nothing queued)" 1 "$(fact endpoints-total)"
ep=$(grep '^ep ' "$RUN_DIR/status.facts")
assert_eq "the dead endpoint: in flight, queued, failed attempts, in a row, circuit" \
	"ep 127.0.0.1:$DEAD${T}0${T}1${T}2${T}2${T}open" "$(cut -f1-6 <<<"$ep")"
assert_eq "the dead endpoint's last error" "connection refused" "$(cut -f7 <<<"$ep")"
assert_eq "outbox: one callback pending" 1 "$(fact outbox-rows)"
oldest=$(fact outbox-oldest)
if [[ $oldest =~ ^[0-9]+\ s$ ]]; then ok "outbox: the oldest for $oldest"; else fail "outbox: the oldest" "'$oldest'"; fi
assert_eq "recent warnings: the circuit that opened" 1 \
	"$(grep -c "^li warn .* warn  dlv: endpoint 127.0.0.1:$DEAD: 2 consecutive failed attempts; circuit open, no attempt for 600 s$" "$RUN_DIR/status.facts")"
if [[ -s $SHOT && $(head -c 8 "$SHOT" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]]; then
	ok "screenshot: $SHOT"
else
	fail "screenshot" "no PNG at $SHOT: $(grep -v dbus "$RUN_DIR/chromium.err" | tail -3)"
fi
echo "screenshot of /status: $SHOT"

summary
