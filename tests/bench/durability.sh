#!/bin/bash
# shellcheck source-path=SCRIPTDIR
#
# tests/bench/durability.sh - the long version of test 1 of
# tests/integration/test_restart.sh, for the lead's measurements: how many
# presence changes were published, how many notifications were delivered,
# how many duplicates, across a gateway crash under load and a long callback
# endpoint outage (with a second crash inside it, while the outbox is full).
#
# One Kamailio; N_NOTIF notifications (default 100) over N_PRES presentities
# (default 30), several per presentity, every third with two addresses; half
# of them call back a healthy sink, half a sink that goes down for OUTAGE_S.
# A publisher changes presence all the time (each presentity cycles Busy ->
# Reachable -> Unreachable; every publish logged with its time). Timeline:
#   WARM_S of changes -> kill -9 -> DOWN_S -> restart on the same store ->
#   WARM_S -> the endpoint of half the notifications stops (OUTAGE_S) ->
#   half-way through it, kill -9 again (the outbox is full) -> DOWN_S ->
#   restart -> the endpoint comes back -> WARM_S -> publishing stops ->
#   wait until everything is delivered (at most SETTLE_S).
# Then tests/integration/restart/rs.py check: every change published while
# the gateway could see it (outside [kill - 0.5 s, re-subscribed + 0.5 s])
# delivered to every notification watching it, in publish order, none
# invented, last status = last published; duplicates (at-least-once after a
# crash) counted. Also: the outbox drains, every notification is still
# listed after the restarts, the healthy sink's latency during the outage.
#
# Prints (the counts the issue asks for):
#   changes published N, notifications delivered M (E address changes), duplicates D
#
# Usage: tests/bench/durability.sh
# Environment (defaults):
#   OUTAGE_S=60  N_NOTIF=100  N_PRES=30  WARM_S=10  DOWN_S=2  PAUSE=0.03
#   SETTLE_S=180 (longest wait for the backlog to drain)
#   KILL_IN_OUTAGE=1 (0: no second crash during the outage)
#   SINK_DELAY_MS=0  the sinks answer every callback that late (a slower
#                    endpoint: more callbacks in flight at a crash, so more
#                    duplicates)
#   PXTSGW_BIN=path   gateway binary (default bin/pxtsgw: the optimised one;
#                     build/asan/pxtsgw to run it under ASan)
#   RUN_DIR=/abs/dir  keep logs there (default: a temp dir, removed on success)
# Ends with "N passed, M failed"; exit status 1 if anything failed. Stops
# only the processes it started, by PID.

set -u
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/kamailio.sh
. "$BENCH_DIR/../lib/kamailio.sh"
# shellcheck source=../lib/gateway.sh
. "$BENCH_DIR/../lib/gateway.sh"

OUTAGE_S=${OUTAGE_S:-60}
N_NOTIF=${N_NOTIF:-100}
N_PRES=${N_PRES:-30}
WARM_S=${WARM_S:-10}
DOWN_S=${DOWN_S:-2}
PAUSE=${PAUSE:-0.03}
SETTLE_S=${SETTLE_S:-180}
KILL_IN_OUTAGE=${KILL_IN_OUTAGE:-1}
SINK_DELAY_MS=${SINK_DELAY_MS:-0}
export PXTSGW_BIN=${PXTSGW_BIN:-$REPO_ROOT/bin/pxtsgw}
MARGIN=0.5

# shellcheck source=../integration/restart/lib.sh
. "$TESTS_DIR/integration/restart/lib.sh"
TEST_LOG_DIR='' rs_run_dir durability pxts-dur || { echo "no run directory"; exit 1; }

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	rs_stop_all
	if ((KEEP_RUN_DIR == 0 && TESTS_FAILED == 0)); then
		rm -rf "$RUN_DIR"
	else
		echo "logs in $RUN_DIR"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T0=$(now_ms)
ms_since() { awk -v a="$(now_s)" -v b="$1" 'BEGIN { printf "%d", (a - b) * 1000 }'; }
plus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }

[[ -x $PXTSGW_BIN ]] || { echo "no gateway binary $PXTSGW_BIN (make first)"; exit 1; }
echo "# gateway $PXTSGW_BIN; $N_NOTIF notifications over $N_PRES presentities; endpoint outage ${OUTAGE_S} s"

read -r KPORT S1PORT S2PORT <<<"$(free_port 3)" || { echo "no free port"; exit 1; }
KAM_DEFS=(WITH_TEST_USERS LOGLEVEL=1)
if ! kamailio_start "$RUN_DIR/kam" "$KPORT" "${KAM_DEFS[@]}"; then
	fail "kamailio starts" "see $RUN_DIR/kam/kamailio.log"
	summary
	exit 1
fi
if ! sink_start s1 "$S1PORT" || ! sink_start s2 "$S2PORT"; then
	fail "sinks start" "see $RUN_DIR/s*.out"
	summary
	exit 1
fi
SINK1=http://127.0.0.1:$S1PORT
SINK2=http://127.0.0.1:$S2PORT
if ((SINK_DELAY_MS > 0)); then
	sink_ctl s1 "{\"delay_ms\":$SINK_DELAY_MS}"
	sink_ctl s2 "{\"delay_ms\":$SINK_DELAY_MS}"
fi
REC1=$RUN_DIR/s1.jsonl
REC2=$RUN_DIR/s2.jsonl

PRES=() base=()
st=(Busy Reachable Unreachable)
for i in $(seq 0 $((N_PRES - 1))); do
	PRES+=("$(u dur "$i")")
	base+=("$(u dur "$i")=${st[$((i % 3))]}")
done
pub dur "${base[@]}"

GW_OPTS=(-o delivery.max-attempts=100 -o delivery.backoff-ms=200 -o delivery.backoff-max-ms=2000
	-o delivery.timeout-ms=2000)
GW_OPTS+=(-o "delivery.max-age-s=$((OUTAGE_S * 10 + 600))")
if ! gw_start gw "${GW_OPTS[@]}"; then
	fail "gateway starts" "see $RUN_DIR/gw/pxtsgw.log"
	summary
	exit 1
fi
specs=()
for k in $(seq 0 $((N_NOTIF - 1))); do
	al="$(u dur $((k % N_PRES)))"
	((k % 3 == 0)) && al+=",$(u dur $(((k + 7) % N_PRES)))"
	c=$(printf 'dur-%03d' "$k")
	if ((k % 2 == 0)); then ep=$SINK1/cb/$c; else ep=$SINK2/cb/$c; fi
	specs+=("$c=$ep=$al")
done
rs_report start "$GW_URL" "$RUN_DIR/dur.notifs.json" "${specs[@]}"
echo "# $N_NOTIF notifications started in $(($(now_ms) - T0)) ms"

WINDOWS=()
# crash NAME: kill -9, DOWN_S of changes, restart, wait for the subscriptions;
# adds the window where changes may be missed to WINDOWS
crash() {
	local tk tb
	tk=$(now_s)
	gw_kill "$1"
	sleep "$DOWN_S"
	if ! gw_start gw "${GW_OPTS[@]}"; then
		fail "$1: gateway restarts on the same store" "see $RUN_DIR/gw/pxtsgw.log"
		return 1
	fi
	tb=$(now_s)
	if wait_until 30 rs subs-active "$GW_URL" dur-; then
		ok "$1: restarted, every subscription active again $(ms_since "$tb") ms after /health answered"
	else
		fail "$1: subscriptions active after the restart" "$(curl -s "$GW_URL/notifications" | head -c 400)"
	fi
	WINDOWS+=(--window "$(plus "$tk" -$MARGIN):$(plus "$(now_s)" $MARGIN)")
	T_FIRST_KILL=${T_FIRST_KILL:-$tk}
	rs_report listed "$GW_URL" "$RUN_DIR/dur.notifs.json" dur- --restored true
}

pub_start dur "$PAUSE" "${PRES[@]}"
sleep "$WARM_S"
crash "crash under load" || exit 1
sleep "$WARM_S"
sink_stop s2
T_OUT=$(now_s)
echo "# endpoint of half the notifications down at +$(awk -v a="$T_OUT" -v b="$T0" 'BEGIN { printf "%.1f", a - b / 1000 }') s"
if ((KILL_IN_OUTAGE)); then
	sleep "$(awk -v o="$OUTAGE_S" -v d="$DOWN_S" 'BEGIN { x = o / 2 - d; printf "%.1f", (x > 0 ? x : 0) }')"
	echo "# backlog before the second crash: $(rs pending "$GW_URL") callbacks pending"
	crash "crash during the endpoint outage" || exit 1
fi
left=$(awk -v o="$OUTAGE_S" -v t="$T_OUT" -v n="$(now_s)" 'BEGIN { x = t + o - n; printf "%.2f", (x > 0 ? x : 0) }')
sleep "$left"
BACKLOG=$(rs pending "$GW_URL")
T_BACK=$(now_s)
sink_start s2 "$S2PORT" || fail "the endpoint restarts" "see $RUN_DIR/s2.out"
((SINK_DELAY_MS > 0)) && sink_ctl s2 "{\"delay_ms\":$SINK_DELAY_MS}"
echo "# endpoint back after $(awk -v a="$T_BACK" -v b="$T_OUT" 'BEGIN { printf "%.1f", a - b }') s with $BACKLOG callbacks pending"
sleep "$WARM_S"
pub_stop dur
T_STOPPUB=$(now_s)
if rs settle "$GW_URL" "$SETTLE_S" 2 "$REC1" "$REC2"; then
	ok "everything delivered $(ms_since "$T_STOPPUB") ms after publishing stopped"
else
	fail "everything delivered within ${SETTLE_S} s" "$(rs pending "$GW_URL") pending"
fi
read -r first last n2 <<<"$(rs arrivals "$REC2" dur- "$T_BACK")"
echo "# the outage endpoint got $n2 callbacks after it came back: the first $(awk -v a="$first" -v b="$T_BACK" 'BEGIN { printf "%.1f", a - b }') s, the last $(awk -v a="$last" -v b="$T_BACK" 'BEGIN { printf "%.1f", a - b }') s after (publishing went on ${WARM_S} s)"
read -r n lmax lmed miss <<<"$(rs latency "$RUN_DIR/dur.pubs.jsonl" "$REC1" dur-000 "$(plus "$T_OUT" 0.5)" "$T_BACK")"
echo "# healthy endpoint during the outage (dur-000): $n changes, latency median $lmed ms, max $lmax ms, $miss not delivered (the crash window included)"

COUNTS=""
rs_report check "$RUN_DIR/dur.pubs.jsonl" "$RUN_DIR/dur.notifs.json" dur- "$REC1,$REC2" \
	"${WINDOWS[@]}" --dups "$T_FIRST_KILL:$(now_s)" 2>"$RUN_DIR/check.err"
rs_report drain "$GW_URL" "$RUN_DIR/dur.notifs.json" dur- "$REC1" "$REC2"
rs_report listed "$GW_URL" "$RUN_DIR/dur.notifs.json" dur- --restored true
gw_stop gw
read -r -a cnt <<<"${COUNTS:-0 0 0 0}"
echo
echo "changes published ${cnt[0]}, notifications delivered ${cnt[1]} (${cnt[2]} address changes), duplicates ${cnt[3]}"
echo "# elapsed $(($(now_ms) - T0)) ms"
summary
