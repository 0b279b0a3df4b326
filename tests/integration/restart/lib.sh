# shellcheck shell=bash
#
# tests/integration/restart/lib.sh - shell helpers shared by
# tests/integration/test_restart.sh and tests/bench/durability.sh. Source it
# after tests/lib/kamailio.sh and tests/lib/gateway.sh, with RUN_DIR set.
#
#   report                 rs.py's PASS|/FAIL|/INFO|/COUNTS| lines -> ok/fail/notes
#   rs_report ARGS...      rs ARGS | report, and a crash of rs.py is a failure
#   u PREFIX N             presentity URI sip:PREFIXpN@example.com
#   sink_start NAME PORT / sink_stop NAME / sink_mode NAME MODE
#   health_is "CODE up|down"
#   kam_restart            Kamailio again, same database, port and defines
#   gw_start NAME [-o K=V...] / gw_stop NAME [WHY] / gw_kill NAME
#   pub_start PREFIX PAUSE URI... / pub_stop PREFIX / pub PREFIX URI=STATUS...
#   counts_line            "changes published N, callbacks delivered M ..."
#   rs_stop_all            stop everything started here, by PID (for traps)
# Processes are only ever stopped by the PID this shell started.

RS="$TESTS_DIR/integration/restart/rs.py"
SINK="$TESTS_DIR/tools/callback_sink.py"
CONF="$REPO_ROOT/deploy/pxtsgw.conf"
D=${D:-example.com}
GWP="" PUB_PID="" PUB_STOP=""
declare -A SINK_PID SINK_PORT
KAM_DEFS=(WITH_TEST_USERS)

# rs_stop_all: the publisher, the gateway, the sinks and Kamailio, by PID
rs_stop_all() {
	local p
	if [[ -n "$PUB_PID" ]]; then
		[[ -n "$PUB_STOP" ]] && touch "$PUB_STOP"
		wait_until 3 eval "! pid_alive $PUB_PID"
		stop_pid "$PUB_PID" 2 >/dev/null 2>&1
		PUB_PID=""
	fi
	if [[ -n "$GWP" ]]; then
		GW_PID=$GWP gateway_stop
		GWP=""
	fi
	for p in "${SINK_PID[@]}"; do
		[[ -n "$p" ]] && stop_pid "$p" 2 >/dev/null 2>&1
	done
	kamailio_stop
}

rs() { "$PY" "$RS" "$@"; }
now_s() { date +%s.%N; }

# report: turn rs.py's PASS|/FAIL|/INFO|/COUNTS| lines into ok/fail/notes;
# COUNTS go to the variable COUNTS ("published callbacks entries duplicates")
report() {
	local kind name why
	while IFS='|' read -r kind name why; do
		case $kind in
		PASS) ok "$name" ;;
		FAIL) fail "$name" "$why" ;;
		INFO) echo "# $name" ;;
		COUNTS) COUNTS="$name ${why//|/ }" ;;
		*) [[ -n $kind ]] && echo "# $kind${name:+|$name}${why:+|$why}" ;;
		esac
	done
}

# rs_report ARGS...: rs ARGS, its verdicts through report; a checker that
# exits non-zero without a FAIL line of its own (a crash) is a failure too
rs_report() {
	local out rc
	out=$(mktemp "$RUN_DIR/rs-$1.XXXXXX") || { fail "rs.py $1" "no temp file"; return; }
	rs "$@" >"$out"
	rc=$?
	report <"$out"
	if ((rc != 0)) && ! grep -q '^FAIL|' "$out"; then
		fail "rs.py $1 ran to its end" "exit $rc without a verdict: $(tail -c 300 "$out")"
	fi
	rm -f "$out"
}

# u PREFIX N: a presentity URI
u() { echo "sip:$1p$2@$D"; }

# sink_start NAME PORT: a callback sink recording to RUN_DIR/NAME.jsonl (appended)
sink_start() {
	local name=$1 port=$2
	"$PY" "$SINK" --port "$port" --record "$RUN_DIR/$name.jsonl" --quiet >>"$RUN_DIR/$name.out" 2>&1 &
	SINK_PID[$name]=$!
	SINK_PORT[$name]=$port
	wait_http "http://127.0.0.1:$port/control" 5
}
sink_stop() {
	stop_pid "${SINK_PID[$1]}" 2 >/dev/null 2>&1
	SINK_PID[$1]=""
}
# health_is "CODE presence_server": /health of the current gateway says so
health_is() { [[ "$(rs health "$GW_URL")" == "$1" ]]; }
sink_mode() { sink_ctl "$1" "{\"mode\":\"$2\"}"; }
# sink_ctl NAME JSON: POST /control
sink_ctl() { curl -s -o /dev/null -d "$2" "http://127.0.0.1:${SINK_PORT[$1]}/control"; }

# kam_restart: Kamailio again on the same database and port
kam_restart() { kamailio_restart; }

# gw_start NAME [-o K=V...]: gateway on RUN_DIR/NAME (the store is
# RUN_DIR/NAME/pxtsgw.db, so a second start reuses it); the previous log of
# that directory is kept as pxtsgw.log.N
gw_start() {
	local dir=$RUN_DIR/$1 n=1
	shift
	if [[ -f $dir/pxtsgw.log ]]; then
		while [[ -e $dir/pxtsgw.log.$n ]]; do n=$((n + 1)); done
		mv "$dir/pxtsgw.log" "$dir/pxtsgw.log.$n"
	fi
	if gateway_start "$dir" "$KAM_PORT" "$@"; then
		GWP=$GW_PID
		return 0
	fi
	GWP=""
	return 1
}

# gw_stop NAME [WHY]: SIGTERM; it must exit 0 within 10 s, no sanitizer report
gw_stop() {
	local name=$1 why=${2:-} t rc dt
	t=$(now_ms)
	GW_PID=$GWP
	gateway_stop
	rc=$?
	dt=$(($(now_ms) - t))
	GWP=""
	if ((rc == 0)) && ! grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error" "$GW_LOG"; then
		ok "$name: gateway exits 0 on SIGTERM${why:+ $why}, no sanitizer report (${dt} ms)"
	else
		fail "$name: gateway exits 0 on SIGTERM${why:+ $why}, no sanitizer report" "exit status $rc after ${dt} ms; log tail:"
		tail -25 "$GW_LOG" | sed 's/^/    /'
	fi
}

# gw_kill NAME: kill -9 (it must still have been running)
gw_kill() {
	local rc
	kill -KILL "$GWP" 2>/dev/null
	wait "$GWP" 2>/dev/null
	rc=$?
	GWP=""
	assert_eq "$1: gateway killed with SIGKILL while running" 137 "$rc"
}

# pub_start PREFIX PAUSE URI...: the cycling publisher in the background
pub_start() {
	local prefix=$1 pause=$2
	shift 2
	PUB_STOP=$RUN_DIR/$prefix.stop
	rm -f "$PUB_STOP"
	"$PY" "$RS" cycle "127.0.0.1:$KAM_PORT" "$RUN_DIR/$prefix.state" "$RUN_DIR/$prefix.pubs.jsonl" \
		"$PUB_STOP" "$pause" "$@" 2>>"$RUN_DIR/$prefix.pub.err" &
	PUB_PID=$!
}
pub_stop() {
	touch "$PUB_STOP"
	if ! wait_until 10 eval "! pid_alive $PUB_PID"; then
		stop_pid "$PUB_PID" 2 >/dev/null 2>&1
	fi
	wait "$PUB_PID" 2>/dev/null
	PUB_PID=""
	if [[ -s $RUN_DIR/$1.pub.err ]]; then
		echo "# publisher: $(tail -1 "$RUN_DIR/$1.pub.err")"
	fi
}
# pub PREFIX URI=STATUS...: publish now
pub() {
	local prefix=$1
	shift
	if ! rs pub "127.0.0.1:$KAM_PORT" "$RUN_DIR/$prefix.state" "$RUN_DIR/$prefix.pubs.jsonl" "$@" 2>>"$RUN_DIR/$prefix.pub.err"; then
		fail "$prefix: publish $*" "$(tail -1 "$RUN_DIR/$prefix.pub.err")"
	fi
}

# counts_line: the counts of the last check, for the summary
counts_line() {
	local a
	read -r -a a <<<"${COUNTS:-0 0 0 0}"
	echo "changes published ${a[0]}, callbacks delivered ${a[1]} (${a[2]} address changes), duplicates ${a[3]}"
}


# rs_run_dir SUBDIR TMP_PREFIX: sets RUN_DIR (TEST_LOG_DIR when run-all.sh
# gives one, else RUN_DIR/SUBDIR, else a new temporary directory) and
# KEEP_RUN_DIR (1: leave it), and empties it: the store, records and
# publish logs of an earlier run would be taken for this run's (the
# directory is the caller's own).
rs_run_dir() {
	if [[ -n "${TEST_LOG_DIR:-}" ]]; then
		RUN_DIR=$TEST_LOG_DIR
		KEEP_RUN_DIR=1
	elif [[ -n "${RUN_DIR:-}" ]]; then
		RUN_DIR="$RUN_DIR/$1"
		KEEP_RUN_DIR=1
	else
		RUN_DIR=$(mktemp -d "/tmp/$2.XXXXXX") || return 1
		KEEP_RUN_DIR=0
	fi
	mkdir -p "$RUN_DIR" && RUN_DIR=$(cd "$RUN_DIR" && pwd) || return 1
	find "$RUN_DIR" -mindepth 1 -delete
}
