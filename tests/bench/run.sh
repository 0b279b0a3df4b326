#!/bin/bash
#
# tests/bench/run.sh - how fast is getStatus through pxtsgw, next to raw
# presence fetches against the same Kamailio in the same run?
#
# One Kamailio (deploy/kamailio/kamailio.cfg, UDP) on a free port, with busy
# presentities published (bench-busy, bench-g0..g9) and BENCH_DISTINCT
# Reachable ones (bench-u-0 ..). Then:
#   baseline  raw fetches (SUBSCRIBE Event: presence, Expires: 0 -> 2xx +
#             terminated NOTIFY -> 200) straight to Kamailio:
#               SIPp (fetch_uac.xml) at a fixed 500/s, and a max-throughput
#               probe with at most 50 calls open (-l 50);
#               raw_fetch.py closed loops at c=1, 10, 50 (SIPp cannot do c=1
#               or time sub-millisecond: its clock has 4 ms ticks here);
#               every one over the distinct presentities in turn
#   gateway   bin/pxtsgw against the same Kamailio; wrk (post.lua) POSTs
#             getStatus at c=1, 10, 50, each request another of the distinct
#             presentities in turn (so that concurrent fetches of one
#             presentity, which share a SUBSCRIBE, do not flatter it), and
#             getStatusForGroup(10 addresses) at c=10; every answer is checked
#             (2xx and Reachable, or Busy)
# and prints a table: gateway req/s and latency next to the baseline
# (ratios), Kamailio SUBSCRIBEs per request, CPU of the gateway and Kamailio.
# Figures come from a shared, noisy machine: compare within one run only.
#
# Usage: tests/bench/run.sh        (make bench builds bin/pxtsgw first)
# Environment:
#   PXTSGW_BIN=path        gateway binary (default bin/pxtsgw: the optimised one)
#   BENCH_DURATION=5       seconds per gateway (wrk) run
#   BENCH_PROBE=3          seconds per baseline closed-loop run
#   BENCH_DISTINCT=1000    distinct presentities of the getStatus and raw runs
#   BENCH_ROUNDS=3         rounds of raw c=50, SIPp -l 50 and gateway c=50, in
#                          turn (the median round of each is reported)
#   BENCH_KAM_SHM_MB=1024  Kamailio shared memory. tests/lib/kamailio.sh passes
#                          -m 256, which this load exhausts (each fetch holds
#                          ~22 KB of tm state for ~5 s: 3,500 fetch/s need
#                          ~400 MB; then Kamailio answers 500). Set 256 to see.
#   RUN_DIR=/abs/dir       keep logs there (default: a temp dir, removed on success)
#   BENCH_RESULTS=file     also append one line per client count for
#                          tests/bench/bench.sh's table: "unwatched C gw_rps
#                          gw_p50_ms gw_p99_ms gw_cpu_us_per_req SUB_per_req
#                          raw_rate raw_p50_ms raw_p99_ms", and c=50 against
#                          the SIPp -l 50 probe: "unwatched-sipp 50 ..."
# Total time ~55-70 s, waits between runs included. Exit 0 when everything
# ran (no speed is asserted); 1 when something could not run or failed:
# setup, a SIPp or raw fetch failure, a wrong answer, gateway errors above
# 1 % (fewer: a WARNING), a gateway crash or a non-zero exit on SIGTERM.
# Stops only the processes it started, by PID.

set -u
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$BENCH_DIR/../lib/kamailio.sh"
. "$BENCH_DIR/../lib/gateway.sh"

DURATION=${BENCH_DURATION:-5}
PROBE=${BENCH_PROBE:-3}
SHM_MB=${BENCH_KAM_SHM_MB:-1024}
DISTINCT=${BENCH_DISTINCT:-1000}
ROUNDS=${BENCH_ROUNDS:-3}
export PXTSGW_BIN=${PXTSGW_BIN:-$REPO_ROOT/bin/pxtsgw}
HZ=$(getconf CLK_TCK)
T0=$(now_ms)

PROBLEMS=()
problem() {
	PROBLEMS+=("$*")
	echo "PROBLEM: $*" >&2
}
die() {
	problem "$*"
	exit 1
}

# --- preflight -------------------------------------------------------------------
for tool in sipp wrk kamcmd curl sqlite3; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not installed (make deps)"
done
KAM_REAL=$(command -v kamailio 2>/dev/null || echo /usr/sbin/kamailio)
[[ -x $KAM_REAL ]] || die "kamailio not installed (make deps)"
[[ -x $PXTSGW_BIN ]] || die "no gateway binary $PXTSGW_BIN (run make)"

if [[ -n "${RUN_DIR:-}" ]]; then
	mkdir -p "$RUN_DIR/bench" || exit 1
	RUN_DIR=$(cd "$RUN_DIR/bench" && pwd)
	KEEP_RUN_DIR=1
else
	RUN_DIR=$(mktemp -d /tmp/pxts-bench.XXXXXX) || exit 1
	KEEP_RUN_DIR=0
fi

CHILD=""
cleanup() {
	local rc=$?
	if [[ -n $CHILD ]]; then
		stop_pid "$CHILD" 3 >/dev/null 2>&1
		CHILD=""
	fi
	gateway_stop >/dev/null 2>&1
	kamailio_stop >/dev/null 2>&1
	if ((rc == 0 && KEEP_RUN_DIR == 0)); then
		rm -rf "$RUN_DIR"
	else
		echo "logs: $RUN_DIR"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# bg_run LIMIT_S OUT ERR CMD...: runs CMD in the background (so a signal
# reaches our trap at once; cleanup stops it by PID), killed after LIMIT_S.
# Sets RC.
bg_run() {
	local limit=$1 out=$2 err=$3
	shift 3
	timeout -k 2 "$limit" "$@" >"$out" 2>"$err" </dev/null &
	CHILD=$!
	wait "$CHILD"
	RC=$?
	CHILD=""
}

# --- probes of the processes ---------------------------------------------------------
kam_stat() { # kam_stat NAME: one Kamailio statistic (name without "group:")
	kamcmd -s "$KAM_CTL" stats.get_statistics "$1" 2>/dev/null | awk -F' = ' 'NR == 1 { print $2 + 0 }'
}
shm_used_mb() {
	kamcmd -s "$KAM_CTL" core.shmmem 2>/dev/null | awk '$1 == "real_used:" { printf "%d", $2 / 1048576 }'
}
proc_ticks() { # proc_ticks PID...: utime+stime of those processes, in clock ticks
	local p sum=0 t
	for p in "$@"; do
		t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null) || continue
		sum=$((sum + ${t:-0}))
	done
	echo "$sum"
}
kam_pids() {
	echo "$KAM_PID"
	ps -o pid= --ppid "$KAM_PID" 2>/dev/null
}
udp_drops() { # udp_drops PORT: datagrams dropped by the UDP socket(s) bound to 127.0.0.1:PORT
	[[ -n $1 ]] || { echo 0; return; }
	awk -v p="$(printf '0100007F:%04X' "$1")" '$2 == p { d += $NF } END { print d + 0 }' /proc/net/udp 2>/dev/null
}

# snap_begin / snap_end NAME: Kamailio SUBSCRIBEs received (retransmissions
# included), CPU of the gateway and of Kamailio, datagrams dropped by the
# gateway's and Kamailio's UDP sockets (receive buffer full), wall time.
# snap_end stores "subs gw_cpu% kam_cpu% gw_drops kam_drops shm_mb" in SNAP[NAME].
declare -A SNAP
snap_begin() {
	S_SUBS=$(kam_stat rcv_requests_subscribe)
	S_GW=$([[ -n ${GW_PID:-} ]] && proc_ticks "$GW_PID" || echo 0)
	# shellcheck disable=SC2046 # one PID per word
	S_KAM=$(proc_ticks $(kam_pids))
	S_GWDROP=$(udp_drops "${GW_SIP_PORT:-}")
	S_KAMDROP=$(udp_drops "$KAM_PORT")
	S_T=$(now_ms)
}
snap_end() {
	local subs gw kam gwdrop kamdrop wall
	subs=$(($(kam_stat rcv_requests_subscribe) - S_SUBS))
	gw=$(($([[ -n ${GW_PID:-} ]] && proc_ticks "$GW_PID" || echo 0) - S_GW))
	# shellcheck disable=SC2046
	kam=$(($(proc_ticks $(kam_pids)) - S_KAM))
	gwdrop=$(($(udp_drops "${GW_SIP_PORT:-}") - S_GWDROP))
	kamdrop=$(($(udp_drops "$KAM_PORT") - S_KAMDROP))
	wall=$(($(now_ms) - S_T))
	SNAP[$1]=$(awk -v s="$subs" -v g="$gw" -v k="$kam" -v d1="$gwdrop" -v d2="$kamdrop" -v w="$wall" \
		-v hz="$HZ" -v m="$(shm_used_mb)" \
		'BEGIN { printf "%d %.0f %.0f %d %d %d", s, 100 * g / hz / (w / 1000), 100 * k / hz / (w / 1000), d1, d2, m }')
}

# drain: tm keeps every transaction ~5 s after it ends; wait (at most 10 s)
# until Kamailio's shared memory is back under a quarter, so that each run
# starts with room to spare.
drain() {
	local limit=$((SHM_MB / 4)) t
	t=$(now_ms)
	while (($(shm_used_mb) > limit)); do
		if (($(now_ms) - t > 10000)); then
			echo "  (Kamailio shm still $(shm_used_mb) MB after 10 s)" >&2
			return
		fi
		sleep 0.25
	done
}

# --- Kamailio and the presentities ---------------------------------------------------
echo "pxtsgw bench: $(nproc) cores, Kamailio -m $SHM_MB, gateway $PXTSGW_BIN; logs in $RUN_DIR"
KAM_PORT=$(free_port) || die "no free port"
KAM_SHM_MB=$SHM_MB kamailio_start "$RUN_DIR/kam" "$KAM_PORT" LOGLEVEL=1 ||
	die "kamailio did not start (see $RUN_DIR/kam/kamailio.log)"
SRV="127.0.0.1:$KAM_PORT"

PRESENTITIES=(bench-busy bench-g{0..9})
pub_pids=()
for p in "${PRESENTITIES[@]}"; do
	"$PY" "$SIP_PUBLISH" --server "$SRV" --basic open --activity on-the-phone --expires 3600 "$p" \
		>"$RUN_DIR/pub-$p.out" 2>&1 &
	pub_pids+=($!)
done
for i in "${!pub_pids[@]}"; do
	wait "${pub_pids[$i]}" || die "publishing ${PRESENTITIES[$i]} failed: $(cat "$RUN_DIR/pub-${PRESENTITIES[$i]}.out")"
done
# pub_load (C, tests/bench/pub_load.c; make bench-bins builds it)
PUB_LOAD=$REPO_ROOT/build/plain/bench/pub_load
[[ -x $PUB_LOAD ]] || die "no $PUB_LOAD (make bench-bins builds it)"
"$PUB_LOAD" init "$SRV" bench-u "$DISTINCT" "$RUN_DIR/pub-distinct.txt" >"$RUN_DIR/pub-distinct.out" 2>&1 ||
	die "publishing bench-u-0..$((DISTINCT - 1)) failed: $(tail -2 "$RUN_DIR/pub-distinct.out")"
# SIPp takes the presentities from a file: [field0] in fetch_uac.xml
{
	echo SEQUENTIAL
	for ((i = 0; i < DISTINCT; i++)); do echo "bench-u-$i;"; done
} >"$RUN_DIR/distinct.csv"

# --- baseline: raw fetches -------------------------------------------------------------
# A watcher's first fetches must not run concurrently: with the SQLite DB,
# Kamailio's workers race on the new watchers row and answer some of them 500
# ("database is locked"). So each client does one fetch alone first.
SIPP_SF="$BENCH_DIR/fetch_uac.xml"
sipp_run() { # sipp_run NAME LIMIT_S SIPP-ARGS...
	local name=$1 limit=$2 dir="$RUN_DIR/$1"
	shift 2
	mkdir -p "$dir"
	(cd "$dir" && exec timeout -k 2 "$limit" sipp -sf "$SIPP_SF" -s bench-busy -i 127.0.0.1 -p "$(free_port)" \
		-inf "$RUN_DIR/distinct.csv" -nd -default_behaviors abortunexp -nostdin -recv_timeout 5s \
		-trace_stat -trace_rtt -rtt_freq 1 -trace_err -trace_screen "$@" "$SRV" \
		>"$dir/sipp.out" 2>&1 </dev/null) &
	CHILD=$!
	wait "$CHILD"
	RC=$?
	CHILD=""
}

# sipp_result NAME: "ok rate mean p50 p99 max failed ok_calls" from the stat and rtt
# files (times in ms; SIPp's are multiples of its 4 ms clock tick).
sipp_result() {
	local dir="$RUN_DIR/$1" stat rtt
	stat=$(ls "$dir"/*_.csv 2>/dev/null | head -1)
	rtt=$(ls "$dir"/*_rtt.csv 2>/dev/null | head -1)
	[[ -n $stat && -n $rtt ]] || { echo "missing"; return; }
	tail -n +2 "$rtt" | cut -d';' -f2 | sort -n | awk -v st="$(tail -1 "$stat")" '
		{ v[++n] = $1; s += $1 }
		END {
			split(st, f, ";")
			# 8 CallRate(C), 16 SuccessfulCall(C), 18 FailedCall(C)
			if (n == 0) { printf "ok %.1f - - - - %d %d\n", f[8], f[18], f[16]; exit }
			i50 = int(n * 0.50 + 0.999); i99 = int(n * 0.99 + 0.999)
			printf "ok %.1f %.3f %.1f %.1f %.1f %d %d\n", f[8], s / n, v[i50], v[i99], v[n], f[18], f[16]
		}'
}

echo "baseline: raw fetches against Kamailio ..."
# warm-ups: each watcher's first fetch of a presentity makes Kamailio's
# watchers row (an SQLite commit): once over all of them, not measured
sipp_run sipp-warm 60 -m "$DISTINCT" -l 1 -r 1000
((RC == 0)) || die "SIPp warm-up fetches failed (rc $RC, see $RUN_DIR/sipp-warm)"

declare -A BASE # name -> "rate mean p50 p99 max failed fetches" (ms)
snap_begin
sipp_run sipp-500 $((DURATION + 20)) -r 500 -m $((500 * DURATION)) -l 8000
snap_end sipp-500
read -r ok rate mean p50 p99 max failed count <<<"$(sipp_result sipp-500)"
[[ $ok == ok ]] || problem "SIPp 500/s: no statistics (rc $RC)"
BASE[sipp-500]="$rate $mean $p50 $p99 $max $failed $count"
((RC == 0)) || problem "SIPp 500/s: exit $RC, $failed failed calls (see $RUN_DIR/sipp-500)"

bg_run 60 "$RUN_DIR/raw-warm.out" "$RUN_DIR/raw-warm.err" "$PY" "$BENCH_DIR/raw_fetch.py" --server "$SRV" \
	--duration "$(awk -v n="$DISTINCT" 'BEGIN { printf "%.2f", n / 250 }')" --rotate "$DISTINCT" bench-u
if ((RC != 0)); then
	# the tests' Kamailio (SQLite) may answer a rare 500 while it learns
	# new watchers: a warm-up is fine with 0.1 % of them
	read -r wf wn <<<"$(sed -nE 's/.*fetches=([0-9]+) failed=([0-9]+).*/\2 \1/p' "$RUN_DIR/raw-warm.out")"
	if [[ -n ${wn:-} ]] && ((wn > 0 && wf * 1000 <= wn)); then
		echo "note: raw_fetch.py warm-up: $wf of $wn fetches failed: $(grep -o 'first_error=[^ ]*' "$RUN_DIR/raw-warm.out")" >&2
	else
		die "raw_fetch.py warm-up failed: $(cat "$RUN_DIR/raw-warm.out" "$RUN_DIR/raw-warm.err")"
	fi
fi
# raw_run NAME C: raw_fetch.py at concurrency C for PROBE s into BASE[NAME]
raw_run() {
	local name=$1 c=$2 line
	drain
	snap_begin
	bg_run $((PROBE + 15)) "$RUN_DIR/$name.out" "$RUN_DIR/$name.err" \
		"$PY" "$BENCH_DIR/raw_fetch.py" --server "$SRV" --duration "$PROBE" --concurrency "$c" \
		--rotate "$DISTINCT" bench-u
	snap_end "$name"
	line=$(grep '^RAW_RESULT' "$RUN_DIR/$name.out")
	if [[ -z $line ]]; then
		problem "raw_fetch.py c=$c did not run (rc $RC): $(tail -2 "$RUN_DIR/$name.err")"
		return
	fi
	BASE[$name]=$(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "%s %.3f %.3f %.3f %.3f %s %s", v["rate"], v["mean_us"] / 1000, v["p50_us"] / 1000,
			v["p99_us"] / 1000, v["max_us"] / 1000, v["failed"], v["fetches"] }' <<<"$line")
	if ((RC != 0)); then
		# as for the gateway's runs: up to 1 % failed is a warning (the
		# tests' SQLite Kamailio answers a rare 500 under this load), more
		# is a problem
		local nf nt
		nf=$(grep -o 'failed=[0-9]*' <<<"$line" | cut -d= -f2)
		nt=$(grep -o 'fetches=[0-9]*' <<<"$line" | cut -d= -f2)
		if [[ -n $nf && -n $nt ]] && ((nt > 0 && nf * 100 <= nt)); then
			echo "WARNING: raw_fetch.py c=$c: $nf of $nt fetches failed ($(grep -o 'first_error=[^ ]*' <<<"$line"))" >&2
		else
			problem "raw_fetch.py c=$c: $(grep -o 'failed=[0-9]*' <<<"$line") ($(grep -o 'first_error=.*' <<<"$line"))"
		fi
	fi
}
# sipp_max_run NAME: SIPp -l 50 as fast as it goes for PROBE s into BASE[NAME]
sipp_max_run() {
	local name=$1 ok rate mean p50 p99 max failed count
	drain
	snap_begin
	sipp_run "$name" $((PROBE + 20)) -r 100000 -l 50 -timeout "${PROBE}s"
	snap_end "$name"
	read -r ok rate mean p50 p99 max failed count <<<"$(sipp_result "$name")"
	[[ $ok == ok ]] || problem "SIPp max probe: no statistics (rc $RC)"
	BASE[$name]="$rate $mean $p50 $p99 $max $failed $count"
	if ((RC != 0)); then   # up to 1 % failed calls: a warning, as above
		if [[ $count =~ ^[0-9]+$ && $failed =~ ^[0-9]+$ ]] && ((count > 0 && failed * 100 <= count)); then
			echo "WARNING: SIPp max probe: $failed of $count calls failed (see $RUN_DIR/$name)" >&2
		else
			problem "SIPp max probe: exit $RC, $failed failed calls (see $RUN_DIR/$name)"
		fi
	fi
}
# c=50, the row of the target, runs later in rounds beside the gateway
for c in 1 10 100; do
	raw_run raw-c$c "$c"
done


# --- the gateway ---------------------------------------------------------------------
echo "gateway: getStatus through pxtsgw ..."
drain
gateway_start "$RUN_DIR/gw" "$KAM_PORT" || die "the gateway did not start (see $RUN_DIR/gw/pxtsgw.log)"
GW_STARTED_PID=$GW_PID

envelope() { # envelope OPERATION CHILDREN-XML
	printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' \
		'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/v2_3/local">' \
		"<soapenv:Body><loc:$1>$2</loc:$1></soapenv:Body></soapenv:Envelope>"
}
envelope getStatus '<loc:address>sip:bench-busy@127.0.0.1</loc:address>' >"$RUN_DIR/getStatus-busy.xml"
envelope getStatus '<loc:address>sip:bench-u-@ROT@@127.0.0.1</loc:address>' >"$RUN_DIR/getStatus.xml"
group_children=""
for i in {0..9}; do
	group_children+="<loc:addresses>sip:bench-g$i@127.0.0.1</loc:addresses>"
done
envelope getStatusForGroup "$group_children" >"$RUN_DIR/getStatusForGroup.xml"

# One answer of each must be right before any run; single fetches first
# (the gateway is a new watcher: see the SQLite note above).
soap_post TerminalStatus "$RUN_DIR/getStatus-busy.xml"
printf '%s\n' "$BODY" >"$RUN_DIR/getStatus.answer"
[[ $HTTP_CODE == 200 && $BODY == *">Busy<"* ]] ||
	die "getStatus(sip:bench-busy) is not 200 + Busy: HTTP $HTTP_CODE $(_short "$BODY")"
for i in {0..9}; do
	soap_post TerminalStatus "$(envelope getStatus "<loc:address>sip:bench-g$i@127.0.0.1</loc:address>")"
	[[ $HTTP_CODE == 200 && $BODY == *">Busy<"* ]] ||
		die "getStatus(sip:bench-g$i) is not 200 + Busy: HTTP $HTTP_CODE $(_short "$BODY")"
done
soap_post TerminalStatus "$RUN_DIR/getStatusForGroup.xml"
printf '%s\n' "$BODY" >"$RUN_DIR/getStatusForGroup.answer"
nbusy=$(grep -o '>Busy<' <<<"$BODY" | wc -l)
[[ $HTTP_CODE == 200 && $nbusy -eq 10 ]] ||
	die "getStatusForGroup(10) is not 200 + 10 x Busy: HTTP $HTTP_CODE, $nbusy Busy: $(_short "$BODY")"

declare -A GW # name -> "rps mean p50 p99 max non2xx unexpected sockerr requests"
wrk_run() { # wrk_run NAME THREADS CONNS BODY EXPECT_COUNT [EXPECT ROTATE]
	local name=$1 t=$2 c=$3 body=$4 n=$5 expect=${6:->Busy<} rot=${7:-0} line
	drain
	snap_begin
	# BENCH_PERF=1: a call-graph profile of the gateway during the run
	local perf_pid=
	if [[ ${BENCH_PERF:-0} == 1 ]]; then
		perf record -q --call-graph "${BENCH_PERF_CG:-fp}" -F 999 -p "$GW_STARTED_PID" -o "$RUN_DIR/perf-$name.data" >/dev/null 2>&1 &
		perf_pid=$!
		sleep 0.3
	fi
	BENCH_BODY=$body BENCH_EXPECT=$expect BENCH_EXPECT_COUNT=$n BENCH_ROTATE=$rot \
		bg_run $((DURATION + 20)) "$RUN_DIR/$name.out" "$RUN_DIR/$name.err" \
		wrk -t"$t" -c"$c" -d"${DURATION}s" --timeout 5s -s "$BENCH_DIR/post.lua" "$GW_URL/TerminalStatus"
	if [[ -n $perf_pid ]]; then
		kill -INT "$perf_pid" 2>/dev/null
		wait "$perf_pid" 2>/dev/null
		perf report -i "$RUN_DIR/perf-$name.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
			grep -v '^#' | grep -v '^$' | head -100 >"$RUN_DIR/perf-$name.txt"
	fi
	snap_end "$name"
	line=$(grep '^WRK_RESULT' "$RUN_DIR/$name.out")
	if [[ -z $line ]]; then
		problem "wrk $name did not run (rc $RC): $(tail -3 "$RUN_DIR/$name.err")"
		return
	fi
	GW[$name]=$(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "%s %.3f %.3f %.3f %.3f %d %d %d %d %s", v["rps"], v["mean_us"] / 1000, v["p50_us"] / 1000,
			v["p99_us"] / 1000, v["max_us"] / 1000, v["non2xx"], v["unexpected"],
			v["connect"] + v["read"] + v["write"] + v["timeout"], v["requests"], v["first_bad"] }' <<<"$line")
	local rps mean p50 p99 max non2xx unexp sockerr reqs first
	read -r rps mean p50 p99 max non2xx unexp sockerr reqs first <<<"${GW[$name]}"
	local bad=$((non2xx + unexp + sockerr))
	if ((reqs == 0)); then
		problem "$name: no request completed"
	elif ((bad * 100 > reqs)); then
		problem "$name: $bad of $reqs requests failed (non-2xx $non2xx, not Busy $unexp, socket errors $sockerr; first: $first)"
	elif ((bad > 0)); then
		echo "WARNING: $name: $bad of $reqs requests failed (non-2xx $non2xx, not Busy $unexp, socket errors $sockerr; first: $first)" >&2
	fi
	pid_alive "$GW_STARTED_PID" || die "the gateway died during $name (see $RUN_DIR/gw/pxtsgw.log)"
}
# the gateway's watcher rows first (see the warm-ups above), not reported
wrk_run gw-warm 1 1 "$RUN_DIR/getStatus.xml" 1 ">Reachable<" "$DISTINCT"
wrk_run gw-c1 1 1 "$RUN_DIR/getStatus.xml" 1 ">Reachable<" "$DISTINCT"
wrk_run gw-c10 2 10 "$RUN_DIR/getStatus.xml" 1 ">Reachable<" "$DISTINCT"
wrk_run gw-group-c10 2 10 "$RUN_DIR/getStatusForGroup.xml" 10
# c=50 (the target of issue 10): ROUNDS rounds of raw fetches, SIPp and the
# gateway in turn, so that a noisy minute hits all three; the round with
# the median rate of each stands for it (every round in ROUNDS.txt)
for ((round = 1; round <= ROUNDS; round++)); do
	raw_run raw-c50-r$round 50
	sipp_max_run sipp-max-r$round
	wrk_run gw-c50-r$round 2 50 "$RUN_DIR/getStatus.xml" 1 ">Reachable<" "$DISTINCT"
	echo "c=50 round $round: raw ${BASE[raw-c50-r$round]%% *}/s, SIPp ${BASE[sipp-max-r$round]%% *}/s," \
		"gateway ${GW[gw-c50-r$round]%% *}/s" >>"$RUN_DIR/ROUNDS.txt"
done
# median_round ARRAY PREFIX: K of the PREFIX-rK entry with the median rate
median_round() {
	local -n arr=$1
	local k
	for ((k = 1; k <= ROUNDS; k++)); do
		[[ -n ${arr[$2-r$k]:-} ]] && echo "${arr[$2-r$k]%% *} $k"
	done | sort -g | awk '{ v[NR] = $2 } END { if (NR) print v[int((NR + 1) / 2)] }'
}
k=$(median_round GW gw-c50) && [[ -n $k ]] && GW[gw-c50]=${GW[gw-c50-r$k]} SNAP[gw-c50]=${SNAP[gw-c50-r$k]}
k=$(median_round BASE raw-c50) && [[ -n $k ]] && BASE[raw-c50]=${BASE[raw-c50-r$k]} SNAP[raw-c50]=${SNAP[raw-c50-r$k]}
k=$(median_round BASE sipp-max) && [[ -n $k ]] && BASE[sipp-max]=${BASE[sipp-max-r$k]} SNAP[sipp-max]=${SNAP[sipp-max-r$k]}

GW_LOG_PROBLEMS=$(grep -cE ' (error|warn) ' "$RUN_DIR/gw/pxtsgw.log")
gateway_stop
GW_RC=$?
((GW_RC == 0)) || problem "the gateway exited with status $GW_RC on SIGTERM (see $RUN_DIR/gw/pxtsgw.log)"
((GW_LOG_PROBLEMS == 0)) || echo "note: $GW_LOG_PROBLEMS error/warn lines in $RUN_DIR/gw/pxtsgw.log" >&2
KAM_ERRORS=$(grep -cE 'ERROR|CRITICAL|BUG:' "$KAM_LOG")
KAM_PEAK=$(kam_stat max_used_size)

# --- report --------------------------------------------------------------------------
ms() { awk -v v="$1" 'BEGIN { if (v == "-" || v == "") print "-"; else printf "%.2f", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "-") printf "%.2f", a / b; else print "-" }'; }
per() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }

echo
echo "== pxtsgw bench $(date -u +%Y-%m-%dT%H:%M:%SZ): nproc=$(nproc); clients, Kamailio and gateway share these cores =="
echo "   A shared, noisy machine: rough figures, compare within one run only. UDP; Kamailio $(sed -nE 's/^#!define CHILDREN ([0-9]+).*/\1/p' "$KAM_CFG" | head -1) UDP worker(s) and as many TCP ones (deploy/kamailio/kamailio.cfg CHILDREN), -m $SHM_MB."
echo
echo "baseline: raw fetches of sip:bench-u-0..$((DISTINCT - 1)) in turn (SUBSCRIBE Expires 0 -> 2xx + NOTIFY -> 200), straight to Kamailio"
printf '  %-26s %8s %7s %6s %6s %6s %6s %6s %5s %5s %5s\n' client fetch/s "mean ms" p50 p99 max failed SUB/f kam% drop shmMB
for name in sipp-500 sipp-max raw-c1 raw-c10 raw-c50 raw-c100; do
	[[ -n ${BASE[$name]:-} ]] || continue
	read -r rate mean p50 p99 max failed count <<<"${BASE[$name]}"
	read -r subs _ kam _ kamdrop shm <<<"${SNAP[$name]:-0 0 0 0 0 0}"
	case $name in
	sipp-500) label="sipp 500/s x ${DURATION} s" ;;
	sipp-max) label="sipp -l 50 (max) ${PROBE} s" ;;
	raw-c*) label="raw_fetch.py c=${name#raw-c} ${PROBE} s" ;;
	esac
	t=""
	[[ $name == sipp-* ]] && t="~"
	printf '  %-26s %8.1f %7s %6s %6s %6s %6s %6s %4s%% %5s %5s\n' "$label" "$rate" "$(ms "$mean")$t" \
		"$(ms "$p50")$t" "$(ms "$p99")$t" "$(ms "$max")$t" "$failed" "$(per "$subs" "$((count + failed))")" \
		"$kam" "$kamdrop" "$shm"
done
echo "  ~ SIPp counts time in 4 ms clock ticks (CLOCK_MONOTONIC_COARSE) and starts calls on a tick: 0 means under"
echo "    4 ms. For the same reason SIPp -l 1 / -l 10 would be capped at 250 / 2500 calls/s: raw_fetch.py (Python,"
echo "    ns clock) gives the per-concurrency baseline."
echo
echo "gateway: wrk POST to bin/$(basename "$PXTSGW_BIN") (defaults: http.threads=2, UDP), ${DURATION} s per run; every answer checked (2xx +"
echo "  Reachable; group: Busy); getStatus names sip:bench-u-0..$((DISTINCT - 1)) in turn, as the raw fetches do"
printf '  %-16s %8s %7s %6s %6s %6s %6s %5s %7s %7s %5s %6s %5s %9s %5s\n' run req/s "mean ms" p50 p99 max non2xx !Busy sockerr SUB/req gw% gwus/r kam% "drop g/k" shmMB
for name in gw-c1 gw-c10 gw-c50 gw-group-c10; do
	[[ -n ${GW[$name]:-} ]] || continue
	read -r rps mean p50 p99 max non2xx unexp sockerr reqs _ <<<"${GW[$name]}"
	read -r subs gw kam gwdrop kamdrop shm <<<"${SNAP[$name]:-0 0 0 0 0 0}"
	case $name in
	gw-c1) label="getStatus c=1" ;;
	gw-c10) label="getStatus c=10" ;;
	gw-c50) label="getStatus c=50" ;;
	gw-group-c10) label="group(10) c=10" ;;
	esac
	printf '  %-16s %8.1f %7s %6s %6s %6s %6d %5d %7d %7s %4s%% %6s %4s%% %9s %5s\n' "$label" "$rps" "$(ms "$mean")" \
		"$(ms "$p50")" "$(ms "$p99")" "$(ms "$max")" "$non2xx" "$unexp" "$sockerr" "$(per "$subs" "$reqs")" \
		"$gw" "$(awk -v g="$gw" -v r="$rps" 'BEGIN { if (r > 0) printf "%.0f", g / 100 / r * 1e6; else print "-" }')" \
		"$kam" "$gwdrop/$kamdrop" "$shm"
done
echo "  SUB/f, SUB/req: SUBSCRIBEs Kamailio received per fetch / request (retransmissions included); gw%, kam%:"
echo "  CPU in % of one core; gwus/r: gateway CPU microseconds per request; drop: datagrams dropped by the"
echo "  gateway's / Kamailio's UDP socket (receive buffer full: each costs a 500 ms SIP retransmission);"
echo "  shmMB: Kamailio shared memory in use after the run."
echo
echo "comparison: gateway vs raw fetches, same run (the group row counts fetches, 10 per request: 10 clients, each"
echo "  request fetching its 10 addresses at once (status.group-concurrency 32 by default), put up to 100 fetches in"
echo "  flight: it is compared with raw c=100)"
read -r sm_rate _ <<<"${BASE[sipp-max]:-- -}"
printf '  %-16s %9s %9s %9s %9s %8s %8s %7s %8s %8s %7s\n' load "gw fetch/s" "/sipp max" "raw f/s" "/raw" \
	"gw p50" "raw p50" "+ms" "gw p99" "raw p99" "x raw"
for c in 1 10 50 group; do
	if [[ $c == group ]]; then
		name=gw-group-c10 base=raw-c100 label="group(10) c=10"
	else
		name=gw-c$c base=raw-c$c label="getStatus c=$c"
	fi
	[[ -n ${GW[$name]:-} ]] || continue
	read -r rps _ p50 p99 _ <<<"${GW[$name]}"
	read -r brate _ bp50 bp99 _ <<<"${BASE[$base]:-- - - -}"
	frate=$rps
	[[ $c == group ]] && frate=$(awk -v r="$rps" 'BEGIN { printf "%.1f", r * 10 }')
	printf '  %-16s %9.1f %9s %9s %9s %8s %8s %7s %8s %8s %7s\n' "$label" "$frate" "$(ratio "$frate" "$sm_rate")" \
		"$brate" "$(ratio "$frate" "$brate")" "$(ms "$p50")" "$(ms "$bp50")" \
		"$(awk -v a="$p50" -v b="$bp50" 'BEGIN { if (b != "-") printf "%+.2f", a - b; else print "-" }')" \
		"$(ms "$p99")" "$(ms "$bp99")" "$(ratio "$p99" "$bp99")"
done
if [[ -n ${BENCH_RESULTS:-} ]]; then
	for c in 1 10 50; do
		[[ -n ${GW[gw-c$c]:-} && -n ${BASE[raw-c$c]:-} ]] || continue
		read -r rps _ p50 p99 _ _ _ _ reqs _ <<<"${GW[gw-c$c]}"
		read -r subs gw _ <<<"${SNAP[gw-c$c]:-0 0 0}"
		read -r brate _ bp50 bp99 _ <<<"${BASE[raw-c$c]}"
		echo "unwatched $c $rps $p50 $p99 $(awk -v g="$gw" -v r="$rps" 'BEGIN { if (r > 0) printf "%.0f", g / 100 / r * 1e6; else print "-" }') $(per "$subs" "$reqs") $brate $bp50 $bp99" >>"$BENCH_RESULTS"
	done
	if [[ -n ${BASE[sipp-max]:-} && -n ${GW[gw-c50]:-} ]]; then
		read -r rps _ p50 p99 _ <<<"${GW[gw-c50]}"
		read -r brate _ bp50 bp99 _ <<<"${BASE[sipp-max]}"
		echo "unwatched-sipp 50 $rps $p50 $p99 - - $brate $bp50 $bp99" >>"$BENCH_RESULTS"
	fi
fi
echo
echo "Kamailio: $KAM_ERRORS ERROR/CRITICAL log lines, peak shm $((KAM_PEAK / 1048576)) of $SHM_MB MB." \
	"Gateway: $GW_LOG_PROBLEMS error/warn log lines, exit status $GW_RC. Total $((($(now_ms) - T0) / 1000)) s."
((KAM_ERRORS == 0)) || grep -E 'ERROR|CRITICAL|BUG:' "$KAM_LOG" | sed 's/{[^}]*} //' | cut -c1-160 | sort | uniq -c | sort -rn | head -5 >&2

if ((${#PROBLEMS[@]})); then
	echo "FAILED: ${#PROBLEMS[@]} problem(s):"
	printf '  - %s\n' "${PROBLEMS[@]}"
	exit 1
fi
echo "OK (no speed is asserted)"
exit 0
