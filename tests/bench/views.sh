#!/bin/bash
#
# tests/bench/views.sh - the SIP side and /health while clients download
# large /deliveries listings (issue: part 6, "Done when"): one running
# notification whose correlator has 100,000 tracking records, presence
# changing every half second; the time from each PUBLISH to its callback
# and /health's latency, first with no download, then while two clients
# download the 100,000-record listing in a loop. Prints the figures; no
# time is asserted (shared, noisy machines). Exit 1 when something did not
# run or a callback was missing or wrong.
#
# Usage: tests/bench/views.sh     (make bench-views builds bin/pxtsgw first)
#   PXTSGW_BIN=path   gateway (default bin/pxtsgw)
#   VIEWS_RECORDS=N   tracking records of the correlator (default 100000)
#   VIEWS_CHANGES=N   presence changes per phase (default 40)
set -u
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$BENCH_DIR/../lib/kamailio.sh"
. "$BENCH_DIR/../lib/gateway.sh"
. "$BENCH_DIR/../lib/soap.sh"
export PXTSGW_BIN=${PXTSGW_BIN:-$REPO_ROOT/bin/pxtsgw}
RECORDS=${VIEWS_RECORDS:-100000}
CHANGES=${VIEWS_CHANGES:-40}
run_dir views
SINK_PID=""
cleanup() {
	gateway_stop >/dev/null 2>&1
	[[ -n $SINK_PID ]] && stop_pid "$SINK_PID" 2 >/dev/null 2>&1
	kamailio_stop
}
trap cleanup EXIT

read -r KPORT <<<"$(free_port 1)"
kamailio_start "$RUN_DIR/kam" "$KPORT" WITH_TEST_USERS || { echo "kamailio does not start"; exit 1; }
sink_start || { echo "the sink does not start"; exit 1; }
WHO=sip:views@example.com
ETAG=$("$PY" "$SIP_PUBLISH" --server "127.0.0.1:$KPORT" --basic open "$WHO") || { echo "publish failed"; exit 1; }

gateway_start "$RUN_DIR/gw" "$KPORT" || exit 1
sn "watch $WHO" big "$SINK/cb" "$WHO"
gateway_stop || { echo "the gateway did not stop cleanly"; exit 1; }
# the correlator's history: RECORDS tracking records, written straight
# into the store while the gateway is down
"$PY" - "$RUN_DIR/gw/pxtsgw.db" "$RECORDS" <<'PYEOF' || { echo "cannot fill the store"; exit 1; }
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = int(sys.argv[2])
rows = (("statusNotification_DeliveryResult", "big", i + 1, 1, "delivered",
         "2026-12-01T00:00:00.000Z", "http://127.0.0.1:9/cb", None, "") for i in range(n))
db.executemany("INSERT INTO deliveries (event, correlator, delivery, attempt, result, time,"
               " endpoint, detail, app) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
db.commit()
PYEOF
mv "$GW_LOG" "$RUN_DIR/gw/pxtsgw.log.1"
gateway_start "$RUN_DIR/gw" "$KPORT" || exit 1

rc=0
echo "# $(nproc) CPUs; gateway $PXTSGW_BIN; $RECORDS tracking records; $CHANGES changes per phase"
printf '%-34s %26s %26s %s\n' "phase" "PUBLISH->callback ms" "/health ms" "downloads"
printf '%-34s %26s %26s %s\n' "" "p50 / p99 / max" "p50 / p99 / max" ""
for k in 0 2; do
	out=$("$PY" "$BENCH_DIR/views_load.py" --kam "127.0.0.1:$KPORT" --gw "$GW_URL" --sink "$SINK" \
		--presentity "$WHO" --etag "$ETAG" --changes "$CHANGES" --interval 0.5 --downloaders "$k") || rc=1
	echo "$out" >"$RUN_DIR/phase-$k.json"
	"$PY" - "$out" "$k" <<'PYEOF'
import json, sys
d = json.loads(sys.argv[1])
k = int(sys.argv[2])
c, h, dl = d["callback_ms"], d["health_ms"], d["download_ms"]
name = "no download" if k == 0 else "%d clients downloading" % k
dls = "" if k == 0 else "%d x %.1f MB, p50 %s ms" % (d["downloads"], d["listing_bytes"] / 1e6, dl["p50"])
print("%-34s %26s %26s %s" % (name, "%s / %s / %s" % (c["p50"], c["p99"], c["max"]),
      "%s / %s / %s" % (h["p50"], h["p99"], h["max"]), dls))
if d["errors"] or d["wrong"]:
    print("  PROBLEM: wrong %d, errors %s" % (d["wrong"], d["errors"]))
PYEOF
	# the next phase modifies the same publication (an even number of
	# changes: it starts from Reachable again)
	ETAG=$("$PY" -c 'import json, sys; print(json.loads(sys.argv[1])["etag"])' "$out")
done
gateway_stop || { echo "the gateway did not stop cleanly"; rc=1; }
exit $rc
