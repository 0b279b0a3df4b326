#!/bin/bash
#
# tests/bench/bench.sh - make bench: one table, each pxtsgw figure next to a
# baseline measured in the same run, and their ratio (issue 10, item 2).
#
#   1  getStatus, unwatched presentities, c=1/10/50 (wrk), each request
#      another of BENCH_DISTINCT presentities  vs raw presence fetches of
#      the same presentities against the same Kamailio (tests/bench/run.sh,
#      its own Kamailio; its full report stays in the log directory)
#   2  getStatus, watched presentity (a startNotification running on it),
#      c=10/50 (wrk)  vs echo_server: libmicrohttpd + the generated gSOAP
#      code, answering Busy from nothing (the SOAP-path ceiling)
#   3  PUBLISH-to-callback latency p50/p99 and callbacks/s at 500 and 2,000
#      status changes/s over CB_PRESENTITIES notifications (one presentity
#      each) to cb_sink (keep-alive)  vs the change rate pub_load (C)
#      achieved (Kamailio's 2xx to the PUBLISHes)
#   4  pxtsgw resident memory (RSS, /proc) per watched presentity at each
#      BENCH_SUBS size  vs Kamailio's shared memory per subscription
#   5  recovery: kill -9 with BENCH_RECOVERY notifications in the store, time
#      from the restart to pxtsgw_subscriptions_active = all  vs the time
#      the same subscriptions took to set up in the first place
#   6  startNotification/s (sn_load, 8 keep-alive C clients) at each size,
#      and the store's commits/s meanwhile (pxtsgw_store_commits_total)
#
# Load generators: wrk + Lua (post.lua), sn_load (C), pub_load (C, one
# non-blocking UDP socket, paced; its achieved rate is the baseline of row
# 3 and is printed), raw_fetch.py and SIPp (run.sh). The C programs are
# built by make bench (bench-bins), never here.
#
# Environment:
#   BENCH_QUICK=1          small and short (development: ~2 minutes)
#   BENCH_PARTS="1 2 4"    which parts run: 1 (row 1), 2 (rows 2-3), 4 (rows 4-6)
#   BENCH_SUBS="1000 10000 50000"   row 4 sizes (quick: "1000")
#   BENCH_RECOVERY=10000   row 5 size, added to the sizes (quick: 1000)
#   BENCH_SN_SECONDS=150   at most this long starting the notifications of one
#                          size (quick: 30): the row then says how many were
#                          started, and the figures are per started one
#   BENCH_CB_RATES="500 2000"       row 3 change rates (quick: same)
#   BENCH_CB_SECONDS=10    seconds per rate (quick: 3)
#   CB_PRESENTITIES=1000   notifications of row 3 (quick: 300)
#   BENCH_ROUNDS=3         row 2: rounds of gateway then echo (median shown)
#   BENCH_DURATION=5       seconds per wrk run (quick: 2); BENCH_PROBE and
#                          BENCH_DISTINCT (run.sh)
#   BENCH_KAM_SHM_MB=1024  Kamailio shared memory (rows 4-5: at least 2048)
#   BENCH_KAM_TMPFS=/dev/shm  where rows 2-5 keep Kamailio's SQLite database
#                          (tmpfs: see KAM_BASE below)
#   PXTSGW_BIN             gateway (default bin/pxtsgw)
#   RUN_DIR=/abs/dir       keep the logs there (default: /tmp/pxts-bench-all.*,
#                          kept; its path is printed)
# Exit 0 when everything ran and every answer was right; 1 when something
# could not run or an answer was wrong. No time is asserted: figures from a
# shared machine are rough, compare within one run.
# Stops only the processes it started, by PID.

set -u
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$BENCH_DIR/../lib/kamailio.sh"
. "$BENCH_DIR/../lib/gateway.sh"

QUICK=${BENCH_QUICK:-0}
if ((QUICK)); then
	SUBS=${BENCH_SUBS:-1000}
	RECOV=${BENCH_RECOVERY:-1000}
	CB_SECONDS=${BENCH_CB_SECONDS:-3}
	CB_N=${CB_PRESENTITIES:-300}
	DURATION=${BENCH_DURATION:-2}
	PROBE=${BENCH_PROBE:-1}
	SN_SECONDS=${BENCH_SN_SECONDS:-30}
else
	SUBS=${BENCH_SUBS:-1000 10000 50000}
	RECOV=${BENCH_RECOVERY:-10000}
	CB_SECONDS=${BENCH_CB_SECONDS:-10}
	CB_N=${CB_PRESENTITIES:-1000}
	DURATION=${BENCH_DURATION:-5}
	PROBE=${BENCH_PROBE:-3}
	SN_SECONDS=${BENCH_SN_SECONDS:-150}
fi
CB_RATES=${BENCH_CB_RATES:-500 2000}
ROUNDS=${BENCH_ROUNDS:-3}
PARTS=" ${BENCH_PARTS:-1 2 4} "
part() { [[ $PARTS == *" $1 "* ]]; }
SHM_MB=${BENCH_KAM_SHM_MB:-1024}
export PXTSGW_BIN=${PXTSGW_BIN:-$REPO_ROOT/bin/pxtsgw}
BB=$REPO_ROOT/build/plain/bench
HZ=$(getconf CLK_TCK)
T0=$(now_ms)

if [[ -n ${RUN_DIR:-} ]]; then
	mkdir -p "$RUN_DIR" || exit 1
	RUN_DIR=$(cd "$RUN_DIR" && pwd)
else
	RUN_DIR=$(mktemp -d /tmp/pxts-bench-all.XXXXXX) || exit 1
fi
RESULTS=$RUN_DIR/results.txt
: >"$RESULTS"
# Rows 2-5 run Kamailio from memory: deploy/kamailio/kamailio.cfg with
# publications in memory only (publ_cache 2 instead of 1), subscriptions
# in memory only (SUBS_DB_MODE=0), two workers, its SQLite file on tmpfs.
# As the tests run it (one worker, every PUBLISH and every new watcher an
# fsync'ed SQLite commit; two workers and SQLite answers 500 "database is
# locked") it manages ~100-300 PUBLISHes or new subscriptions a second on
# these machines, ~1,000 with the file on tmpfs: Kamailio, not pxtsgw,
# would be measured. From memory, one worker takes ~2,700 PUBLISH/s.
KAM_BASE=$(mktemp -d "${BENCH_KAM_TMPFS:-/dev/shm}/pxts-bench-kam.XXXXXX" 2>/dev/null) ||
	KAM_BASE=$(mktemp -d "$RUN_DIR/kam.XXXXXX") || exit 1
KAM_MEM_CFG=$KAM_BASE/kamailio-mem.cfg
sed 's/^modparam("presence", "publ_cache", 1)/modparam("presence", "publ_cache", 2)/' "$KAM_CFG" >"$KAM_MEM_CFG"
grep -q '^modparam("presence", "publ_cache", 2)' "$KAM_MEM_CFG" ||
	{ problem "$KAM_CFG has no publ_cache 1 line to turn into 2: the bench's Kamailio needs updating"; exit 1; }
KAM_MEM_DEFS=(LOGLEVEL=1 CHILDREN=2 SUBS_DB_MODE=0)

PROBLEMS=()
problem() {
	PROBLEMS+=("$*")
	echo "PROBLEM: $*" >&2
}
say() { printf '[%4ds] %s\n' $((($(now_ms) - T0) / 1000)) "$*" >&2; }

CHILDREN=()
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	local rc=$? p
	gateway_stop >/dev/null 2>&1
	for p in "${CHILDREN[@]}"; do
		stop_pid "$p" 3 >/dev/null 2>&1
	done
	kamailio_stop >/dev/null 2>&1
	# Kamailio's logs join the others; its databases go
	if [[ -d $KAM_BASE ]]; then
		for d in "$KAM_BASE"/*/; do
			[[ -f $d/kamailio.log ]] && mkdir -p "$RUN_DIR/$(basename "$d")" && cp "$d/kamailio.log" "$RUN_DIR/$(basename "$d")/"
		done
		rm -rf "$KAM_BASE"
	fi
	echo "logs: $RUN_DIR" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in sipp wrk kamcmd curl sqlite3; do
	command -v "$tool" >/dev/null 2>&1 || { problem "$tool not installed (make deps)"; exit 1; }
done
for prog in echo_server cb_sink sn_load pub_load; do
	[[ -x $BB/$prog ]] || { problem "no $BB/$prog (make bench builds it: make bench-bins)"; exit 1; }
done
[[ -x $PXTSGW_BIN ]] || { problem "no gateway binary $PXTSGW_BIN (run make)"; exit 1; }

# --- probes ---------------------------------------------------------------------
kam_stat() {
	kamcmd -s "$KAM_CTL" stats.get_statistics "$1" 2>/dev/null | awk -F' = ' 'NR == 1 { print $2 + 0 }'
}
kam_shm_kb() {
	kamcmd -s "$KAM_CTL" core.shmmem 2>/dev/null | awk '$1 == "real_used:" { printf "%d", $2 / 1024 }'
}
proc_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
# BENCH_PERF=1: perf_on NAME PID records a call-graph profile of PID until
# perf_off; the report is kept as RUN_DIR/perf-NAME.txt (the evidence behind
# a figure that falls short of its target)
PERF_PID=
perf_on() {
	[[ ${BENCH_PERF:-0} == 1 ]] || return 0
	perf record -q --call-graph "${BENCH_PERF_CG:-fp}" -F 999 -p "$2" -o "$RUN_DIR/perf-$1.data" >/dev/null 2>&1 &
	PERF_PID=$! PERF_NAME=$1
	sleep 0.3
}
perf_off() {
	[[ -n $PERF_PID ]] || return 0
	kill -INT "$PERF_PID" 2>/dev/null
	wait "$PERF_PID" 2>/dev/null
	perf report -i "$RUN_DIR/perf-$PERF_NAME.data" --no-children --sort sym --stdio 2>/dev/null |
		grep -v '^$' | head -400 >"$RUN_DIR/perf-$PERF_NAME.txt"
	perf report -i "$RUN_DIR/perf-$PERF_NAME.data" --no-children --sort comm,dso --stdio -g none 2>/dev/null |
		grep -v '^#' | grep -v '^$' | head -40 >"$RUN_DIR/perf-$PERF_NAME-threads.txt"
	PERF_PID=
}
kam_ticks() {
	local p sum=0
	for p in "$KAM_PID" $(ps -o pid= --ppid "$KAM_PID" 2>/dev/null); do
		sum=$((sum + $(proc_ticks "$p")))
	done
	echo "$sum"
}
udp_drops() { # datagrams dropped by the UDP socket(s) on 127.0.0.1:PORT (receive buffer full)
	awk -v p="$(printf '0100007F:%04X' "$1")" '$2 == p { d += $NF } END { print d + 0 }' /proc/net/udp 2>/dev/null
}
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
metrics() { curl -s --max-time 5 "$GW_URL/metrics"; }
gw_metric() { metric "$(metrics)" "$1"; }
# wait_active N TIMEOUT_S: until pxtsgw_subscriptions_active >= N; prints
# the milliseconds it took (or -1 on a timeout)
wait_active() {
	local n=$1 limit=$(($2 * 1000)) t v
	t=$(now_ms)
	while :; do
		v=$(gw_metric pxtsgw_subscriptions_active)
		if [[ $v =~ ^[0-9]+$ ]] && ((v >= n)); then
			echo $(($(now_ms) - t))
			return 0
		fi
		if (($(now_ms) - t > limit)); then
			echo -1
			return 1
		fi
		sleep 0.1
	done
}
# start_bg OUT CMD...: CMD in the background, stdout to OUT; waits for its
# "ready" line (5 s). Sets BG_PID.
start_bg() {
	local out=$1
	shift
	"$@" >"$out" 2>&1 </dev/null &
	BG_PID=$!
	CHILDREN+=("$BG_PID")
	wait_until 5 grep -q '^ready' "$out"
}
# wrk_post NAME URL BODYFILE CONNS: wrk with post.lua (every answer must be
# 2xx + Busy); sets WRK (the WRK_RESULT line) and returns 1 when wrong
wrk_post() {
	local name=$1 url=$2 body=$3 c=$4 t=2 bad reqs
	((c < 2)) && t=1
	BENCH_BODY=$body BENCH_EXPECT=">Busy<" BENCH_EXPECT_COUNT=1 \
		timeout -k 2 $((DURATION + 20)) wrk -t"$t" -c"$c" -d"${DURATION}s" --timeout 5s \
		-s "$BENCH_DIR/post.lua" "$url" >"$RUN_DIR/$name.out" 2>&1
	WRK=$(grep '^WRK_RESULT' "$RUN_DIR/$name.out")
	[[ -n $WRK ]] || { problem "wrk $name did not run: $(tail -2 "$RUN_DIR/$name.out")"; return 1; }
	reqs=$(kv "$WRK" requests)
	bad=$(($(kv "$WRK" non2xx) + $(kv "$WRK" unexpected) + $(kv "$WRK" connect) + $(kv "$WRK" read) + $(kv "$WRK" timeout)))
	if ((reqs == 0 || bad * 100 > reqs)); then
		problem "$name: $bad of $reqs answers wrong or failed (first: $(kv "$WRK" first_bad))"
		return 1
	fi
	((bad == 0)) || echo "WARNING: $name: $bad of $reqs answers wrong or failed" >&2
	return 0
}
kv() { # kv LINE KEY: the value of KEY=VALUE in LINE
	tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2; exit }'
}
f1() { awk -v v="$1" -v d="${2:-1}" 'BEGIN { if (v == "" || v == "-") print "-"; else printf "%.*f", d, v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && a != "" && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }

echo "pxtsgw make bench$( ((QUICK)) && echo " (BENCH_QUICK)"): $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); logs in $RUN_DIR" >&2

# --- 1: unwatched getStatus vs raw fetches (run.sh) ----------------------------
if part 1; then
say "1/5 getStatus, unwatched, vs raw fetches (tests/bench/run.sh; ~$((12 * DURATION / 2 + 8 * PROBE + 30 + ROUNDS * (2 * PROBE + DURATION + 2))) s)"
if ! BENCH_RESULTS=$RESULTS BENCH_DURATION=$DURATION BENCH_PROBE=$PROBE BENCH_KAM_SHM_MB=$SHM_MB RUN_DIR=$RUN_DIR \
	bash "$BENCH_DIR/run.sh" >"$RUN_DIR/run.sh.out" 2>&1; then
	problem "tests/bench/run.sh failed: $(grep -E '^( - |PROBLEM)' "$RUN_DIR/run.sh.out" | head -3 | tr '\n' ' ')"
fi

fi

# --- 2 and 3: one Kamailio, one gateway, the sink -------------------------------------
if part 2; then
say "2/5 getStatus, watched, vs the gSOAP echo endpoint"
read -r KPORT SINK_PORT ECHO_PORT <<<"$(free_port 3)"
KAM_CFG=$KAM_MEM_CFG KAM_SHM_MB=$SHM_MB kamailio_start "$KAM_BASE/kam-cb" "$KPORT" "${KAM_MEM_DEFS[@]}" || { problem "kamailio did not start"; exit 1; }
start_bg "$RUN_DIR/cb_sink.out" "$BB/cb_sink" "$SINK_PORT" "$RUN_DIR/callbacks.txt" ||
	{ problem "cb_sink did not start: $(cat "$RUN_DIR/cb_sink.out")"; exit 1; }
SINK_PID=$BG_PID
SINK=http://127.0.0.1:$SINK_PORT/cb
"$PY" "$SIP_PUBLISH" --server "127.0.0.1:$KPORT" --basic open --activity on-the-phone bench-w-0 >/dev/null ||
	{ problem "publishing bench-w-0 failed"; exit 1; }
fresh_dir "$RUN_DIR/gw-cb" || exit 1
gateway_start "$RUN_DIR/gw-cb" "$KPORT" -o policy.max-notifications-per-app=$((CB_N + 10)) ||
	{ problem "the gateway did not start"; exit 1; }
"$BB/sn_load" 127.0.0.1 "$GW_HTTP_PORT" bench-w 0 1 1 "$SINK" >"$RUN_DIR/sn-watched.out" 2>&1 ||
	problem "startNotification for sip:bench-w-0 failed: $(cat "$RUN_DIR/sn-watched.out")"
[[ $(wait_active 1 10) -ge 0 ]] || problem "the subscription of sip:bench-w-0 never became active"
printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' \
	'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/v2_3/local">' \
	'<soapenv:Body><loc:getStatus><loc:address>sip:bench-w-0@127.0.0.1</loc:address></loc:getStatus></soapenv:Body></soapenv:Envelope>' \
	>"$RUN_DIR/getStatus-watched.xml"
soap_post TerminalStatus "$RUN_DIR/getStatus-watched.xml"
[[ $HTTP_CODE == 200 && $BODY == *">Busy<"* ]] || problem "getStatus(sip:bench-w-0) is not 200 + Busy: $HTTP_CODE $(_short "$BODY")"

start_bg "$RUN_DIR/echo_server.out" "$BB/echo_server" "$ECHO_PORT" 2 ||
	{ problem "echo_server did not start: $(cat "$RUN_DIR/echo_server.out")"; exit 1; }
ECHO_PID=$BG_PID
# BENCH_ROUNDS (3) rounds of gateway then echo, alternating, so that a
# noisy minute hits both; the row shows the median round of each
med() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "-" }'; }
for c in 10 50; do
	gw_rps="" gw_p50="" gw_p99="" echo_rps="" echo_p50="" echo_p99="" ticks=0 reqs=0 subs=0
	for ((round = 1; round <= ROUNDS; round++)); do
		s0=$(kam_stat rcv_requests_subscribe)
		g0=$(proc_ticks "$GW_PID")
		perf_on "watched-c$c-r$round" "$GW_PID"
		if ! wrk_post "watched-c$c-r$round" "$GW_URL/TerminalStatus" "$RUN_DIR/getStatus-watched.xml" "$c"; then
			perf_off
			break
		fi
		g1=$(proc_ticks "$GW_PID")
		perf_off
		s1=$(kam_stat rcv_requests_subscribe)
		ticks=$((ticks + g1 - g0)) subs=$((subs + s1 - s0)) reqs=$((reqs + $(kv "$WRK" requests)))
		gw_rps+=" $(kv "$WRK" rps)" gw_p50+=" $(kv "$WRK" p50_us)" gw_p99+=" $(kv "$WRK" p99_us)"
		wrk_post "echo-c$c-r$round" "http://127.0.0.1:$ECHO_PORT/TerminalStatus" "$RUN_DIR/getStatus-watched.xml" "$c" || break
		echo_rps+=" $(kv "$WRK" rps)" echo_p50+=" $(kv "$WRK" p50_us)" echo_p99+=" $(kv "$WRK" p99_us)"
		echo "watched c=$c round $round: gateway ${gw_rps##* }/s, echo ${echo_rps##* }/s" >>"$RUN_DIR/rounds.txt"
	done
	if ((round > ROUNDS)); then
		echo "watched $c $(med <<<"$gw_rps") $(awk -v v="$(med <<<"$gw_p50")" 'BEGIN { print v / 1000 }') $(awk -v v="$(med <<<"$gw_p99")" 'BEGIN { print v / 1000 }') $(awk -v g=$ticks -v hz="$HZ" -v n=$reqs 'BEGIN { printf "%.0f", g / hz / n * 1e6 }') $(awk -v s=$subs -v n=$reqs 'BEGIN { printf "%.2f", s / n }') $(med <<<"$echo_rps") $(awk -v v="$(med <<<"$echo_p50")" 'BEGIN { print v / 1000 }') $(awk -v v="$(med <<<"$echo_p99")" 'BEGIN { print v / 1000 }') $ROUNDS" >>"$RESULTS"
	fi
	pid_alive "$GW_PID" || { problem "the gateway died during the watched getStatus runs"; exit 1; }
done
stop_pid "$ECHO_PID" 3 >/dev/null 2>&1

say "3/5 PUBLISH-to-callback at $CB_RATES changes/s over $CB_N notifications"
# a gateway of its own: row 2 leaves some 10^6 usage records (and their
# WAL to checkpoint) in the store, which would be measured here too
gateway_stop >/dev/null 2>&1
fresh_dir "$RUN_DIR/gw-cb3" || exit 1
gateway_start "$RUN_DIR/gw-cb3" "$KPORT" -o policy.max-notifications-per-app=$((CB_N + 10)) ||
	{ problem "the gateway for row 3 did not start"; exit 1; }
"$BB/pub_load" init "127.0.0.1:$KPORT" nt "$CB_N" "$RUN_DIR/pub-state.txt" >"$RUN_DIR/pub-init.out" 2>&1 ||
	problem "publishing the $CB_N presentities failed: $(cat "$RUN_DIR/pub-init.out")"
"$BB/sn_load" 127.0.0.1 "$GW_HTTP_PORT" nt 0 "$CB_N" 8 "$SINK" >"$RUN_DIR/sn-cb.out" 2>&1 ||
	problem "startNotification x $CB_N failed: $(cat "$RUN_DIR/sn-cb.out")"
[[ $(wait_active "$CB_N" 60) -ge 0 ]] ||
	problem "not every subscription became active ($(gw_metric pxtsgw_subscriptions_active) of $CB_N)"
sleep 1
curl -s --max-time 5 "http://127.0.0.1:$SINK_PORT/dump" >/dev/null # forget what came before
for r in $CB_RATES; do
	rm -f "$RUN_DIR/pub-$r.log"
	g0=$(proc_ticks "$GW_PID")
	k0=$(kam_ticks)
	d0="$(udp_drops "$GW_SIP_PORT") $(udp_drops "$KPORT")"
	t0=$(now_ms)
	"$BB/pub_load" run "127.0.0.1:$KPORT" "$RUN_DIR/pub-state.txt" "$r" "$CB_SECONDS" "$RUN_DIR/pub-$r.log" \
		>"$RUN_DIR/pub-$r.out" 2>&1 ||
		problem "pub_load at $r/s: $(cat "$RUN_DIR/pub-$r.out")"
	# CPU while the changes are sent
	g1=$(proc_ticks "$GW_PID")
	k1=$(kam_ticks)
	wall=$(($(now_ms) - t0))
	line=$(grep '^PUB_RESULT' "$RUN_DIR/pub-$r.out")
	want=$(kv "$line" ok)
	# every callback in, or 15 s without progress
	last=-1 since=$(now_ms)
	while :; do
		got=$(curl -s --max-time 2 "http://127.0.0.1:$SINK_PORT/count")
		[[ $got =~ ^[0-9]+$ ]] || got=0
		((got >= ${want:-0})) && break
		if ((got != last)); then last=$got since=$(now_ms); fi
		(($(now_ms) - since > 15000)) && break
		sleep 0.2
	done
	read -r gd kd <<<"$d0"
	drops="$(($(udp_drops "$GW_SIP_PORT") - gd))/$(($(udp_drops "$KPORT") - kd))"
	curl -s --max-time 10 "http://127.0.0.1:$SINK_PORT/dump" >/dev/null
	cp "$RUN_DIR/callbacks.txt" "$RUN_DIR/callbacks-$r.txt"
	res=$("$PY" - "$RUN_DIR/pub-$r.log" "$RUN_DIR/callbacks-$r.txt" <<'PYEOF'
import sys
from collections import defaultdict
sends, cbs = defaultdict(list), defaultdict(list)
for path, d in ((sys.argv[1], sends), (sys.argv[2], cbs)):
    try:
        with open(path) as f:
            for line in f:
                t, addr, st = line.split()
                d[addr].append((int(t), st))
    except FileNotFoundError:
        pass
lat, wrong, missing, extra = [], 0, 0, 0
first_send = min((v[0][0] for v in sends.values()), default=0)
last_cb = max((v[-1][0] for v in cbs.values()), default=0)
ncb = sum(len(v) for v in cbs.values())
for addr, ss in sends.items():
    cc = cbs.get(addr, [])
    for i, (t, st) in enumerate(ss):
        if i >= len(cc):
            missing += 1
            continue
        if cc[i][1] != st:
            wrong += 1
        lat.append((cc[i][0] - t) / 1e6)
    extra += max(0, len(cc) - len(ss))
extra += sum(len(v) for a, v in cbs.items() if a not in sends)
lat.sort()
def pct(p):
    return lat[min(len(lat) - 1, int(p / 100.0 * len(lat)))] if lat else -1
span = (last_cb - first_send) / 1e9 if last_cb > first_send else 0
print("%.2f %.2f %.2f %.1f %d %d %d %d" % (pct(50), pct(99), lat[-1] if lat else -1,
      ncb / span if span else 0, ncb, wrong, missing, extra))
PYEOF
)
	read -r p50 p99 max cbps ncb wrong missing extra <<<"$res"
	((wrong + missing + extra == 0)) ||
		problem "callbacks at $r/s: $wrong with the wrong status, $missing missing, $extra unexpected (of $want changes)"
	echo "callback $r $p50 $p99 $max $cbps $ncb $(kv "$line" rate) $(kv "$line" sent) $(kv "$line" skipped) $(kv "$line" late_ms) $(awk -v g=$((g1 - g0)) -v hz="$HZ" -v w="$wall" 'BEGIN { printf "%.0f", 100 * g / hz / (w / 1000) }') $(awk -v g=$((k1 - k0)) -v hz="$HZ" -v w="$wall" 'BEGIN { printf "%.0f", 100 * g / hz / (w / 1000) }') $drops $(kv "$line" retrans)" >>"$RESULTS"
	pid_alive "$GW_PID" || { problem "the gateway died during the callback runs"; exit 1; }
done
GW_RC=0
gateway_stop || GW_RC=$?
((GW_RC == 0)) || problem "the gateway (rows 2-3) exited with status $GW_RC"
stop_pid "$SINK_PID" 3 >/dev/null 2>&1
kamailio_stop >/dev/null 2>&1
fi

# --- 4, 5, 6: memory, recovery, startNotification rate -------------------------------
if part 4; then
say "4/5 memory per watched presentity at $SUBS (+ recovery at $RECOV)"
sizes=$(tr ' ' '\n' <<<"$SUBS $RECOV" | grep -E '^[0-9]+$' | sort -n | uniq | tr '\n' ' ')
for n in $sizes; do
	shm=$SHM_MB
	((shm < 2048 && n > 10000)) && shm=2048
	read -r KPORT SINK_PORT <<<"$(free_port 2)"
	KAM_CFG=$KAM_MEM_CFG KAM_SHM_MB=$shm kamailio_start "$KAM_BASE/kam-mem-$n" "$KPORT" "${KAM_MEM_DEFS[@]}" || { problem "kamailio did not start (size $n)"; continue; }
	fresh_dir "$RUN_DIR/gw-mem-$n" || exit 1
	gateway_start "$RUN_DIR/gw-mem-$n" "$KPORT" -o policy.max-notifications-per-app=$((n + 10)) \
		-o policy.max-notifications=$((n + 10)) -o log.level=warn || { problem "the gateway did not start (size $n)"; kamailio_stop; continue; }
	sleep 1
	rss0=$(rss_kb "$GW_PID")
	kshm0=$(kam_shm_kb)
	c0=$(gw_metric pxtsgw_store_commits_total)
	t0=$(now_ms)
	"$BB/sn_load" 127.0.0.1 "$GW_HTTP_PORT" "m$n" 0 "$n" 8 "http://127.0.0.1:$SINK_PORT/cb" "$SN_SECONDS" \
		>"$RUN_DIR/sn-mem-$n.out" 2>&1 || problem "startNotification x $n: $(cut -c1-300 "$RUN_DIR/sn-mem-$n.out")"
	sn=$(grep '^SN_RESULT' "$RUN_DIR/sn-mem-$n.out")
	c1=$(gw_metric pxtsgw_store_commits_total)
	started=$(kv "$sn" ok)
	[[ $started =~ ^[0-9]+$ ]] || started=0
	[[ $(kv "$sn" stopped) == 1 ]] &&
		echo "NOTE: size $n: startNotification stopped after ${SN_SECONDS} s (BENCH_SN_SECONDS) at $started" >&2
	act=$(wait_active "$started" $((60 + n / 100)))
	setup_ms=$(($(now_ms) - t0))
	((act >= 0)) || problem "size $n: only $(gw_metric pxtsgw_subscriptions_active) subscriptions active after $((60 + n / 100)) s"
	sleep 6 # Kamailio frees the transactions of the initial NOTIFYs ~5 s after
	rss1=$(rss_kb "$GW_PID")
	kshm1=$(kam_shm_kb)
	commits=-
	[[ $c0 =~ ^[0-9]+$ && $c1 =~ ^[0-9]+$ ]] && commits=$(awk -v a="$c0" -v b="$c1" -v s="$(kv "$sn" seconds)" 'BEGIN { printf "%.0f", (b - a) / s }')
	echo "memory $n $rss0 $rss1 $kshm0 $kshm1 $(kv "$sn" rate) $(kv "$sn" p99_us) $commits $setup_ms $started $(kv "$sn" stopped) $(kv "$sn" seconds)" >>"$RESULTS"
	if ((n == RECOV && started == n)); then
		say "5/5 recovery of $n notifications after kill -9"
		kill -KILL "$GW_PID"
		wait "$GW_PID" 2>/dev/null
		GW_PID=
		mv "$RUN_DIR/gw-mem-$n/pxtsgw.log" "$RUN_DIR/gw-mem-$n/pxtsgw.log.1"
		t0=$(now_ms)
		if gateway_start "$RUN_DIR/gw-mem-$n" "$KPORT" -o policy.max-notifications-per-app=$((n + 10)) \
			-o policy.max-notifications=$((n + 10)) -o log.level=warn; then
			health_ms=$(($(now_ms) - t0))
			act=$(wait_active "$n" $((60 + n / 100)))
			if ((act >= 0)); then
				echo "recovery $n $((health_ms + act)) $health_ms $setup_ms" >>"$RESULTS"
			else
				problem "recovery: only $(gw_metric pxtsgw_subscriptions_active) of $n subscriptions active after $((60 + n / 100)) s"
			fi
		else
			problem "the gateway did not restart after kill -9"
		fi
	fi
	kill -KILL "$GW_PID" 2>/dev/null # thousands of un-SUBSCRIBEs on SIGTERM: not measured here
	wait "$GW_PID" 2>/dev/null
	GW_PID=
	kamailio_stop >/dev/null 2>&1
done
fi

# --- the table ---------------------------------------------------------------------
TOTAL=$((($(now_ms) - T0) / 1000))
MEMROWS=()
{
echo
echo "== pxtsgw make bench, $(date -u +%Y-%m-%dT%H:%M:%SZ)$( ((QUICK)) && echo ", BENCH_QUICK")"
echo "   $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), shared by the load generators, Kamailio and pxtsgw; loopback, UDP"
echo "   Kamailio -m $SHM_MB (rows 4-5 above 10,000: 2048): row 1 as the tests run it (1 worker, SQLite); rows 2-5 from memory"
echo "   (publ_cache 2, SUBS_DB_MODE=0, 2 workers). pxtsgw $PXTSGW_BIN, defaults (http.threads 2, UDP)"
echo
printf '%-2s %-36s %-34s %-31s %-20s %5s\n' "#" "measure" "pxtsgw" "baseline (same run)" "" "ratio"
printf '%-2s %-36s %-34s %-31s %-20s %5s\n' "" "" "" "what" "value" ""
print_row() {
	local kind=${1:-} a=${2:-} b=${3:-} c=${4:-} d=${5:-} e=${6:-} f=${7:-} g=${8:-} h=${9:-} i=${10:-} j=${11:-} k=${12:-} l=${13:-} m=${14:-} n=${15:-} gw_kb kam_kb
	: "$h"
	case $kind in
	unwatched)
		# a=c b=rps c=p50 d=p99 e=us/req f=SUB/req g=raw_rate h=raw_p50 i=raw_p99
		printf '%-2s %-36s %-34s %-31s %-20s %5s\n' 1 "getStatus unwatched, c=$a" "$(f1 "$b" 0)/s p99 $(f1 "$d" 2) ms" \
			"raw fetches c=$a (Python loop)" "$(f1 "$g" 0)/s p99 $(f1 "$i" 2) ms" "$(ratio "$b" "$g")"
		printf '%-2s %-36s %s\n' "" "  gateway CPU per getStatus" "$e us (SUB/req $f)"
		;;
	unwatched-sipp)
		printf '%-2s %-36s %-34s %-31s %-20s %5s\n' 1 "getStatus unwatched, c=$a" "$(f1 "$b" 0)/s p99 $(f1 "$d" 2) ms" \
			"raw fetches, SIPp -l $a (max)" "$(f1 "$g" 0)/s p99 ~$(f1 "$i" 0) ms" "$(ratio "$b" "$g")"
		;;
	watched)
		# a=c b=rps c=p50 d=p99 e=us/req f=SUB/req g=echo_rps h=echo_p50 i=echo_p99 j=rounds
		printf '%-2s %-36s %-34s %-31s %-20s %5s\n' 2 "getStatus watched, c=$a" "$(f1 "$b" 0)/s p99 $(f1 "$d" 2) ms" \
			"MHD+gSOAP echo, c=$a" "$(f1 "$g" 0)/s p99 $(f1 "$i" 2) ms" "$(ratio "$b" "$g")"
		printf '%-2s %-36s %s\n' "" "  gateway CPU per getStatus" "$e us (SUB/req $f)"
		;;
	callback)
		# a=rate b=p50 c=p99 d=max e=cb/s f=ncb g=gen_rate h=sent i=skipped j=late_ms k=gw% l=kam% m=drops n=retrans
		printf '%-2s %-36s %-34s %-31s %-20s %5s\n' 3 "PUBLISH->callback at $a/s offered" "$(f1 "$e" 0) cb/s p50 $b p99 $c ms" \
			"changes/s the generator got" "$(f1 "$g" 0)/s" "$(ratio "$e" "$g")"
		printf '%-2s %-36s %s\n' "" "  callbacks, max latency" "$f, $d ms (PUBLISH retransmissions $n, skipped turns $i)"
		printf '%-2s %-36s %s\n' "" "  CPU gw/Kamailio, UDP drops gw/kam" "$k% / $l% of a core, $m"
		;;
	memory)
		# a=n b=rss0 c=rss1 d=kshm0 e=kshm1 f=sn_rate g=sn_p99 h=commits/s i=setup_ms j=started k=stopped l=seconds
		gw_kb=$(awk -v a="$b" -v b="$c" -v n="$j" 'BEGIN { if (n > 0) printf "%.1f", (b - a) / n; else print "-" }')
		kam_kb=$(awk -v a="$d" -v b="$e" -v n="$j" 'BEGIN { if (n > 0) printf "%.1f", (b - a) / n; else print "-" }')
		[[ $k == 1 ]] && a="$j of $a *"
		printf '%-2s %-36s %-34s %-31s %-20s %5s\n' 4 "RSS per presentity, $a" "$gw_kb KB ($((b / 1024))->$((c / 1024)) MB)" \
			"Kamailio shm per subscription" "$kam_kb KB" "$(ratio "$gw_kb" "$kam_kb")"
		MEMROWS+=("$(printf '%-2s %-36s %-34s %-31s %-20s %5s' 6 "startNotification/s, $a" "$(f1 "$f" 0)/s p99 $(f1 "$(awk -v v="$g" 'BEGIN { print v / 1000 }')" 1) ms" \
			"store commits/s" "$([[ $h == - ]] && echo "not in /metrics" || echo "$h/s")" "-")")
		if [[ $k == 1 ]]; then
			printf '%-2s %-36s %s\n' "" "  * stopped after $(f1 "$l" 0) s" "(BENCH_SN_SECONDS): figures per started notification"
			MEMROWS+=("$(printf '%-2s %-36s %s' "" "  * stopped after $(f1 "$l" 0) s" "(BENCH_SN_SECONDS)")")
		fi
		;;
	recovery)
		# a=n b=ms c=health_ms d=setup_ms
		printf '%-2s %-36s %-34s %-31s %-20s %5s\n' 5 "recovery after kill -9, $a subs" "$(f1 "$(awk -v v="$b" 'BEGIN { print v / 1000 }')" 2) s (health $(f1 "$(awk -v v="$c" 'BEGIN { print v / 1000 }')" 2) s)" \
			"first set-up of the same subs" "$(f1 "$(awk -v v="$d" 'BEGIN { print v / 1000 }')" 2) s" "$(ratio "$b" "$d")"
		;;
	esac
}
for kind in unwatched unwatched-sipp watched callback memory recovery; do
	while read -r line; do
		# shellcheck disable=SC2086 # one field per word
		print_row $line
	done < <(grep "^$kind " "$RESULTS")
done
for row in "${MEMROWS[@]}"; do echo "$row"; done
echo
echo "ratio: pxtsgw / baseline. SUB/req: SUBSCRIBEs Kamailio received per getStatus (0: answered from state)."
echo "Rows 1 (c=50) and 2: $ROUNDS rounds, pxtsgw and its baselines in turn; the median round of each (all rounds in"
echo "RUN_DIR/bench/ROUNDS.txt and RUN_DIR/rounds.txt)."
echo "Row 1: every request and raw fetch names another of ${BENCH_DISTINCT:-1000} presentities in turn (BENCH_DISTINCT), so that"
echo "concurrent fetches of one presentity, which share a SUBSCRIBE, do not flatter the gateway. The Python fetch loop"
echo "times each fetch with a ns clock but may itself limit c=10/50; SIPp (C) is the ceiling at c=50 (4 ms ticks: ~)."
echo "Row 3: every callback matched to its PUBLISH by address and order, its status checked; cb/s = callbacks /"
echo "(last arrival - first PUBLISH). Rows 4-6: sn_load, 8 keep-alive C clients, one presentity per notification,"
echo "RSS from /proc before and after (all subscriptions active); recovery = restart to pxtsgw_subscriptions_active"
echo "= all. Noisy shared machine: compare within one run. Total $TOTAL s; details in $RUN_DIR."
} | tee "$RUN_DIR/table.txt"
if ((${#PROBLEMS[@]})); then
	echo "FAILED: ${#PROBLEMS[@]} problem(s):"
	printf '  - %s\n' "${PROBLEMS[@]}"
	exit 1
fi
echo "OK (no speed is asserted)"
exit 0
