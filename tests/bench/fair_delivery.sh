#!/bin/bash
# shellcheck source-path=SCRIPTDIR
#
# tests/bench/fair_delivery.sh - issue 9's first "Done when" scenario, on
# the delivery module alone (tests/tools/dlv_drive, no SIP): does an
# endpoint that accepts connections and never answers delay another
# application's callbacks?
#
# Two callback sinks (tests/tools/callback_sink.py): one in "hang" mode
# (accepts, reads the request, never answers) and a healthy one. Every
# second, as if presence changed every second, HUNG correlators (default
# 50) each get a statusChanged for the hung sink, then one correlator G
# gets one for the healthy sink (its address carries a sequence number).
# dlv_drive runs with the gateway's delivery defaults (4 workers, 5
# attempts, backoff 1000..60000 ms, timeout 5000 ms) plus whatever
# DRIVE_OPTS adds, for DURATION_S seconds; then it waits up to SETTLE_S for
# G's queue to drain.
#
# Prints the healthy endpoint's latency, from dlv_enqueue's return (the
# callback accepted, in the outbox) to its arrival at the sink: count,
# p50, p99, max, and how many did not arrive at all; and how many
# connections the hung sink got. Figures only, nothing is asserted about
# time (a shared 2-CPU machine): compare runs of the same machine. The
# gateway's own path (PUBLISH -> NOTIFY -> callback) adds what
# tests/bench/durability.sh measures.
#
# Usage: tests/bench/fair_delivery.sh
# Environment (defaults):
#   DURATION_S=120  HUNG=50  SETTLE_S=60
#   DRIVE_OPTS=""   extra dlv_drive options, e.g. "workers=64" or
#                   "max_in_flight=2 circuit_failures=5 circuit_open=30"
#   FLAVOUR=plain   which build of dlv_drive (made if missing)
#   DRIVE=path      another dlv_drive binary (e.g. a copy built from main)
#   RUN_DIR=/abs/dir  keep logs there (default: a temp dir, removed on success)
# Exit 0 when it ran; 1 when something could not run. Stops only the
# processes it started, by PID.

set -u
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/common.sh
. "$BENCH_DIR/../lib/common.sh"

DURATION_S=${DURATION_S:-120}
HUNG=${HUNG:-50}
SETTLE_S=${SETTLE_S:-60}
DRIVE_OPTS=${DRIVE_OPTS:-}
FLAVOUR=${FLAVOUR:-plain}
SINK="$TESTS_DIR/tools/callback_sink.py"
DRIVE_GIVEN=${DRIVE:-}
DRIVE=${DRIVE:-$REPO_ROOT/build/$FLAVOUR/tools/dlv_drive}

if [[ -n "${RUN_DIR:-}" ]]; then
	mkdir -p "$RUN_DIR/fair" || exit 1
	RUN_DIR=$(cd "$RUN_DIR/fair" && pwd)
	KEEP_RUN_DIR=1
else
	RUN_DIR=$(mktemp -d /tmp/pxts-fair.XXXXXX) || exit 1
	KEEP_RUN_DIR=0
fi
if [[ -z ${DRIVE_GIVEN:-} ]]; then
	make -s -C "$REPO_ROOT" FLAVOUR="$FLAVOUR" "build/$FLAVOUR/tools/dlv_drive" >"$RUN_DIR/build.log" 2>&1 ||
		{ echo "dlv_drive does not build: $RUN_DIR/build.log" >&2; exit 1; }
fi

HUNG_PID="" OK_PID="" DRIVE_PID=""
cleanup() {
	local rc=$?
	for p in $DRIVE_PID $HUNG_PID $OK_PID; do stop_pid "$p" 10 >/dev/null 2>&1; done
	if ((rc == 0 && KEEP_RUN_DIR == 0)); then rm -rf "$RUN_DIR"; else echo "logs: $RUN_DIR" >&2; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# start_sink NAME MODE: a sink on a free port; sets SINK_PID and SINK_PORT
start_sink() {
	"$PY" "$SINK" --port 0 --mode "$2" --quiet --record "$RUN_DIR/$1.jsonl" \
		>"$RUN_DIR/$1.out" 2>"$RUN_DIR/$1.err" &
	SINK_PID=$!
	wait_until 10 test -s "$RUN_DIR/$1.out" || { echo "sink $1 did not start" >&2; exit 1; }
	SINK_PORT=$(head -1 "$RUN_DIR/$1.out")
}
start_sink hung hang
HUNG_PID=$SINK_PID HUNG_URL="http://127.0.0.1:$SINK_PORT/hung"
start_sink ok ok
OK_PID=$SINK_PID OK_URL="http://127.0.0.1:$SINK_PORT/ok"

# the command stream: one tick a second
ticks() {
	local s i st
	for ((s = 0; s < DURATION_S; s++)); do
		st=$([[ $((s % 2)) == 0 ]] && echo Busy || echo Reachable)
		for ((i = 1; i <= HUNG; i++)); do
			echo "changed H$i $HUNG_URL sip:h$i@example.com=$st"
		done
		echo "changed G $OK_URL sip:g$s@example.com=$st"
		sleep 1
	done
	echo "wait G $((SETTLE_S * 1000))"
}

# shellcheck disable=SC2086 # DRIVE_OPTS is a list of words
echo "fair_delivery: $HUNG hung correlators + 1 healthy, ${DURATION_S} s, dlv_drive workers=4 attempts=5" \
	"backoff=1000 backoff_max=60000 timeout=5000 $DRIVE_OPTS"
ticks | "$DRIVE" "$RUN_DIR/store.db" stamp workers=4 attempts=5 backoff=1000 backoff_max=60000 \
	timeout=5000 max_age=3600 $DRIVE_OPTS >"$RUN_DIR/drive.out" 2>"$RUN_DIR/drive.err" &
DRIVE_PID=$!
wait "$DRIVE_PID"
echo "dlv_drive exit $? ($(grep -E '^(waited|timeout|stopped) ' "$RUN_DIR/drive.out" | tr '\n' ' '))"
DRIVE_PID=""

"$PY" - "$RUN_DIR/drive.out" "$RUN_DIR/ok.jsonl" "$RUN_DIR/hung.jsonl" <<'EOF'
import json, sys
sent = {}
for line in open(sys.argv[1]):
    w = line.split()
    if len(w) == 4 and w[0] == "enqueued" and w[1] == "G":
        sent[len(sent)] = float(w[3])
arrived = {}
try:
    for line in open(sys.argv[2]):
        r = json.loads(line)
        if r.get("correlator") != "G":
            continue
        seq = int(r["address"].split("@")[0][len("sip:g"):])
        arrived.setdefault(seq, r["time"] * 1000.0)
except FileNotFoundError:
    pass
lat = sorted(arrived[k] - sent[k] for k in arrived if k in sent)
hung = 0
try:
    hung = sum(1 for _ in open(sys.argv[3]))
except FileNotFoundError:
    pass
def pct(p):
    return lat[min(len(lat) - 1, int(round(p / 100.0 * len(lat) + 0.5)) - 1)] if lat else float("nan")
print("healthy endpoint: %d sent, %d arrived, %d missing; latency ms p50 %.1f p99 %.1f max %.1f"
      % (len(sent), len(lat), len(sent) - len(lat), pct(50), pct(99), lat[-1] if lat else float("nan")))
print("hung endpoint: %d attempts ended (sink's records)" % hung)
EOF
