#!/bin/bash
#
# demo.sh - `make run`: a Kamailio presence server on 127.0.0.1:5060, pxtsgw
# on 127.0.0.1:8080 pointed at it, a few sample presentities, a callback
# endpoint on 127.0.0.1:8090 (deploy/demo_callbacks.py) that prints each
# callback as one line, and a sample notification (correlator demo-1,
# checkImmediate) toward it. Prints the examples to try and the command that
# changes a presence. Runs in the foreground until Ctrl-C, SIGTERM or SIGHUP,
# then stops what it started, by PID.
#
#   DEMO_SIP_PORT (5060), DEMO_HTTP_PORT (8080), DEMO_GW_SIP_PORT (5070),
#   DEMO_CB_PORT (8090), DEMO_DIR (run/demo) override; DEMO_BIN is the
#   gateway binary (bin/pxtsgw).
#   DEMO_MAKE_PID: the make that runs the demo (the Makefile sets it). GNU
#   make forwards a SIGTERM to its children, but on SIGHUP or SIGINT it
#   forwards nothing (a terminal signals the whole process group) and only
#   waits for them: so a `kill -HUP <make>` alone would leave the demo
#   running. The demo watches that make: while make handles such a signal it
#   keeps it blocked (SigBlk in /proc/PID/status); seen twice in a row, or
#   make gone, the demo stops.
#
# Files in DEMO_DIR: pxtsgw.log, kamailio/kamailio.log, groups.txt,
# pxtsgw.db (a fresh store each run), demo.pids ("NAME PID" per process
# started: kamailio, pxtsgw, callbacks).
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/tests/lib/kamailio.sh"

SIP_PORT=${DEMO_SIP_PORT:-5060}
HTTP_PORT=${DEMO_HTTP_PORT:-8080}
GW_SIP_PORT=${DEMO_GW_SIP_PORT:-5070}
CB_PORT=${DEMO_CB_PORT:-8090}
BIN=${DEMO_BIN:-$repo/bin/pxtsgw}
MAKE_PID=${DEMO_MAKE_PID:-}
DIR=${DEMO_DIR:-$repo/run/demo}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
PIDS=$DIR/demo.pids
: >"$PIDS"

busy_port() { # port: is something listening on 127.0.0.1:port (TCP or UDP)?
	"$PY" - "$1" <<'PYEOF'
import socket, sys
port = int(sys.argv[1])
for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        sys.exit(0)
    finally:
        s.close()
sys.exit(1)
PYEOF
}
for p in "$SIP_PORT" "$HTTP_PORT" "$GW_SIP_PORT" "$CB_PORT"; do
	if busy_port "$p"; then
		echo "demo: port $p on 127.0.0.1 is in use; free it or set DEMO_SIP_PORT / DEMO_HTTP_PORT / DEMO_GW_SIP_PORT / DEMO_CB_PORT" >&2
		exit 1
	fi
done

GW_PID=
CB_PID=
NAP_PID=
STOPPING=0
# stop_all [STATUS]: stops what the demo started (pxtsgw first, so it ends
# its subscriptions while Kamailio still answers; the endpoint last, so
# callbacks in flight still land), each by its PID, and exits.
stop_all() {
	local rc=${1:-0}
	trap '' INT TERM HUP
	trap - EXIT
	if ((STOPPING)); then exit "$rc"; fi
	STOPPING=1
	echo
	echo "demo: stopping"
	[[ -n $NAP_PID ]] && kill "$NAP_PID" 2>/dev/null
	[[ -n $GW_PID ]] && stop_pid "$GW_PID" 10
	kamailio_stop
	[[ -n $CB_PID ]] && stop_pid "$CB_PID" 3
	echo "demo: stopped"
	exit "$rc"
}
trap 'stop_all 0' INT TERM HUP
trap 'stop_all $?' EXIT

# make_signalled: the make running the demo is gone, or is handling a
# SIGHUP, SIGINT, SIGQUIT or SIGTERM (blocked while its handler waits for us).
make_signalled() {
	local line blk=
	[[ -r /proc/$MAKE_PID/status ]] || return 0
	while IFS= read -r line; do
		[[ $line == SigBlk:* ]] && blk=${line#SigBlk:}
	done <"/proc/$MAKE_PID/status"
	blk=${blk//[[:space:]]/}
	[[ -n $blk ]] || return 1
	# bits 0 HUP, 1 INT, 2 QUIT, 14 TERM
	(((16#$blk & 0x4007) != 0))
}

echo "demo: starting Kamailio presence server on 127.0.0.1:$SIP_PORT (log: $DIR/kamailio/kamailio.log)"
kamailio_start "$DIR/kamailio" "$SIP_PORT" || { echo "demo: Kamailio did not start" >&2; exit 1; }
echo "kamailio $KAM_PID" >>"$PIDS"

cat >"$DIR/groups.txt" <<GEOF
# demo group: three terminals
sip:team@groups.example  sip:alice@example.com sip:bob@example.com sip:carol@example.com
GEOF

echo "demo: starting pxtsgw on http://127.0.0.1:$HTTP_PORT (log: $DIR/pxtsgw.log)"
rm -f "$DIR/pxtsgw.db" "$DIR/pxtsgw.db-wal" "$DIR/pxtsgw.db-shm"
# callbacks to this machine (127.0.0.0/8) are refused unless allowed: the
# demo allows them, for its callback endpoint on localhost
"$BIN" -c "$repo/deploy/pxtsgw.conf" \
	-o http.listen="127.0.0.1:$HTTP_PORT" -o sip.listen="127.0.0.1:$GW_SIP_PORT" \
	-o sip.presence-server="sip:127.0.0.1:$SIP_PORT" -o store.path="$DIR/pxtsgw.db" \
	-o group.file="$DIR/groups.txt" -o delivery.allowed-endpoints=127.0.0.0/8 \
	-o sip.tel-domain=example.com \
	>"$DIR/pxtsgw.log" 2>&1 &
GW_PID=$!
echo "pxtsgw $GW_PID" >>"$PIDS"
if ! wait_until 10 curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/health"; then
	echo "demo: pxtsgw did not become healthy:" >&2
	tail -20 "$DIR/pxtsgw.log" >&2
	exit 1
fi

echo "demo: starting the callback endpoint on http://127.0.0.1:$CB_PORT/ (deploy/demo_callbacks.py)"
# its lines go to this terminal, unbuffered
"$PY" -u "$repo/deploy/demo_callbacks.py" --port "$CB_PORT" &
CB_PID=$!
echo "callbacks $CB_PID" >>"$PIDS"
if ! wait_until 10 curl -sf -o /dev/null "http://127.0.0.1:$CB_PORT/"; then
	echo "demo: the callback endpoint did not start" >&2
	exit 1
fi

echo "demo: publishing sample presence"
"$PY" "$SIP_PUBLISH" --server "127.0.0.1:$SIP_PORT" --basic open --activity on-the-phone sip:alice@example.com >/dev/null &&
	echo "  sip:alice@example.com  on the phone  -> Busy"
"$PY" "$SIP_PUBLISH" --server "127.0.0.1:$SIP_PORT" --basic open sip:bob@example.com >/dev/null &&
	echo "  sip:bob@example.com    open          -> Reachable"
"$PY" "$SIP_PUBLISH" --server "127.0.0.1:$SIP_PORT" --basic closed sip:carol@example.com >/dev/null &&
	echo "  sip:carol@example.com  closed        -> Unreachable"
echo "  sip:team@groups.example is a group of the three"
# the phone number of the REST examples: tel:+15550100 is
# sip:+15550100@example.com (sip.tel-domain)
"$PY" "$SIP_PUBLISH" --server "127.0.0.1:$SIP_PORT" --basic open sip:+15550100@example.com >/dev/null &&
	echo "  +15550100 (sip:+15550100@example.com) open -> reachable (CAMARA)"

url="http://127.0.0.1:$HTTP_PORT"
cb_url="http://127.0.0.1:$CB_PORT/callbacks"
echo "demo: starting notification demo-1 (checkImmediate) for the three, callbacks to $cb_url"
answer=$(curl -s -w '\n%{http_code}' -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' \
	--data-binary @- "$url/TerminalStatusNotificationManager" <<XEOF
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/notification_manager/v2_3/local">
  <soapenv:Body>
    <loc:startNotification>
      <loc:reference>
        <endpoint>$cb_url</endpoint>
        <interfaceName>TerminalStatusNotification</interfaceName>
        <correlator>demo-1</correlator>
      </loc:reference>
      <loc:addresses>sip:alice@example.com</loc:addresses>
      <loc:addresses>sip:bob@example.com</loc:addresses>
      <loc:addresses>sip:carol@example.com</loc:addresses>
      <loc:checkImmediate>true</loc:checkImmediate>
    </loc:startNotification>
  </soapenv:Body>
</soapenv:Envelope>
XEOF
)
if [[ ${answer##*$'\n'} != 200 ]]; then
	echo "demo: startNotification failed: ${answer//$'\n'/ }" >&2
	exit 1
fi

echo "demo: CAMARA retrieve of +15550100: $(curl -s -H 'Content-Type: application/json' \
	-d '{"device":{"phoneNumber":"+15550100"}}' "$url/device-reachability-status/v1/retrieve")"
ev_url="http://127.0.0.1:$CB_PORT/events"
echo "demo: starting CAMARA subscription (reachability-disconnected of +15550100), events to $ev_url"
answer=$(curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' -d '{"protocol":"HTTP",
  "sink":"'"$ev_url"'","types":["org.camaraproject.device-reachability-status-subscriptions.v0.reachability-disconnected"],
  "config":{"subscriptionDetail":{"device":{"phoneNumber":"+15550100"}},"initialEvent":true}}' \
	"$url/device-reachability-status-subscriptions/v0.8/subscriptions")
if [[ ${answer##*$'\n'} != 201 ]]; then
	echo "demo: the CAMARA subscription failed: ${answer//$'\n'/ }" >&2
	exit 1
fi

# the examples of the README, pointed at this demo's ports
envs=
[[ $HTTP_PORT != 8080 ]] && envs+="PXTSGW_URL=$url "
[[ $CB_PORT != 8090 ]] && envs+="PXTSGW_CALLBACK=$cb_url PXTSGW_SINK=$ev_url "
cat <<MSG

pxtsgw is running.  WSDL: $url/TerminalStatus?wsdl
Callbacks of notification demo-1 and the CAMARA events are printed below as they arrive, one line each.

The README's examples, ready to run from $repo (in another terminal):

  ${envs}bash docs/examples/getStatus.sh
  ${envs}bash docs/examples/getStatusForGroup.sh
  ${envs}bash docs/examples/startNotification.sh
  ${envs}bash docs/examples/endNotification.sh
  ${envs}/usr/bin/python3 docs/examples/zeep_example.py
  ${envs}bash docs/examples/retrieve.sh
  ${envs}bash docs/examples/subscribe.sh
  ${envs}bash docs/examples/unsubscribe.sh ID

  curl -s $url/health
  curl -s $url/metrics
  curl -s $url/notifications

Change a presence and watch its callback arrive here:

  /usr/bin/python3 tests/tools/sip_publish.py --server 127.0.0.1:$SIP_PORT --basic closed sip:bob@example.com

and a CAMARA CloudEvent (reachability-disconnected) of +15550100:

  /usr/bin/python3 tests/tools/sip_publish.py --server 127.0.0.1:$SIP_PORT --basic closed sip:+15550100@example.com

Press Ctrl-C to stop.

MSG

# until pxtsgw ends or a signal comes (the traps), or the make that runs
# the demo is signalled or gone (see DEMO_MAKE_PID above)
hits=0
while pid_alive "$GW_PID"; do
	if [[ -n $MAKE_PID ]] && make_signalled; then
		hits=$((hits + 1))
		if ((hits >= 2)); then
			echo "demo: make was stopped"
			stop_all 0
		fi
	else
		hits=0
	fi
	sleep 0.2 &
	NAP_PID=$!
	wait "$NAP_PID"
	NAP_PID=
done
wait "$GW_PID"
echo "demo: pxtsgw exited with status $?; see $DIR/pxtsgw.log"
GW_PID=
stop_all 1
