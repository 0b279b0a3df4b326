#!/bin/bash
#
# demo.sh - `make run`: a Kamailio presence server on 127.0.0.1:5060 and
# pxtsgw on 127.0.0.1:8080 pointed at it, a few sample presentities, and
# ready-to-paste curl commands. Runs in the foreground until Ctrl-C, then
# stops what it started (by PID).
#
#   DEMO_SIP_PORT (5060), DEMO_HTTP_PORT (8080), DEMO_DIR (run/demo) override.
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/tests/lib/kamailio.sh"

SIP_PORT=${DEMO_SIP_PORT:-5060}
HTTP_PORT=${DEMO_HTTP_PORT:-8080}
GW_SIP_PORT=${DEMO_GW_SIP_PORT:-5070}
DIR=${DEMO_DIR:-$repo/run/demo}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

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
for p in "$SIP_PORT" "$HTTP_PORT" "$GW_SIP_PORT"; do
	if busy_port "$p"; then
		echo "demo: port $p on 127.0.0.1 is in use; free it or set DEMO_SIP_PORT / DEMO_HTTP_PORT / DEMO_GW_SIP_PORT" >&2
		exit 1
	fi
done

GW_PID=
stop_all() {
	trap - EXIT INT TERM
	echo
	echo "demo: stopping"
	[[ -n $GW_PID ]] && stop_pid "$GW_PID" 10
	kamailio_stop
	exit 0
}
trap stop_all EXIT INT TERM

echo "demo: starting Kamailio presence server on 127.0.0.1:$SIP_PORT (log: $DIR/kamailio/kamailio.log)"
kamailio_start "$DIR/kamailio" "$SIP_PORT" || { echo "demo: Kamailio did not start" >&2; exit 1; }

cat >"$DIR/groups.txt" <<GEOF
# demo group: three terminals
sip:team@groups.example  sip:alice@example.com sip:bob@example.com sip:carol@example.com
GEOF

echo "demo: starting pxtsgw on http://127.0.0.1:$HTTP_PORT (log: $DIR/pxtsgw.log)"
# callbacks to this machine (127.0.0.0/8) are refused unless allowed: the
# demo allows them, so a callback endpoint on localhost can be tried
"$repo/bin/pxtsgw" -c "$repo/deploy/pxtsgw.conf" \
	-o http.listen="127.0.0.1:$HTTP_PORT" -o sip.listen="127.0.0.1:$GW_SIP_PORT" \
	-o sip.presence-server="sip:127.0.0.1:$SIP_PORT" -o store.path="$DIR/pxtsgw.db" \
	-o group.file="$DIR/groups.txt" -o delivery.allowed-endpoints=127.0.0.0/8 \
	>"$DIR/pxtsgw.log" 2>&1 &
GW_PID=$!
if ! wait_until 10 curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/health"; then
	echo "demo: pxtsgw did not become healthy:" >&2
	tail -20 "$DIR/pxtsgw.log" >&2
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

url="http://127.0.0.1:$HTTP_PORT"
cat <<MSG

pxtsgw is running.  WSDL: $url/TerminalStatus?wsdl

Try (paste into another terminal):

  curl -s -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' $url/TerminalStatus --data '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/v2_3/local"><soapenv:Body><loc:getStatus><loc:address>sip:alice@example.com</loc:address></loc:getStatus></soapenv:Body></soapenv:Envelope>'

  curl -s -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' $url/TerminalStatus --data '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/v2_3/local"><soapenv:Body><loc:getStatusForGroup><loc:addresses>sip:team@groups.example</loc:addresses></loc:getStatusForGroup></soapenv:Body></soapenv:Envelope>'

  curl -s $url/health
  curl -s $url/metrics

Change a presence and ask again, e.g.:
  /usr/bin/python3 tests/tools/sip_publish.py --server 127.0.0.1:$SIP_PORT --basic closed sip:bob@example.com

Press Ctrl-C to stop.
MSG
wait "$GW_PID"
echo "demo: pxtsgw exited with status $?; see $DIR/pxtsgw.log"
GW_PID=
