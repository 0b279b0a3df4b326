# shellcheck shell=bash disable=SC2034
#
# tests/lib/kamailio.sh - start and stop a throw-away Kamailio presence server
# (deploy/kamailio/kamailio.cfg) for a test.
#
# Source it (it sources common.sh itself):
#     . "$(dirname "$0")/../lib/kamailio.sh"
#
#   kamailio_start RUN_DIR PORT [DEFINE...]
#       Fresh SQLite DB in RUN_DIR (standard + presence schema), then
#       kamailio -DD -E -m 256 -M 16 -P/-Y/-w RUN_DIR on 127.0.0.1:PORT (UDP+TCP),
#       log in RUN_DIR/kamailio.log. Each DEFINE is passed as -A DEFINE, e.g.
#       WITH_TEST_USERS, CLEAN_PERIOD=2, SUBS_DB_MODE=3, LOGLEVEL=1.
#       Waits (KAM_START_TIMEOUT seconds, default 10) until an OPTIONS over UDP
#       and over TCP gets 200. On success returns 0 and sets
#           KAM_PID       the main process (the -P pid; stop it with kamailio_stop)
#           KAM_PORT      the SIP port
#           KAM_RUN_DIR   absolute RUN_DIR
#           KAM_DB        the SQLite file          KAM_CTL  unix:... ctl socket
#           KAM_LOG       RUN_DIR/kamailio.log     KAM_URI  sip:127.0.0.1:PORT
#       On failure returns 1, prints the log tail, and leaves nothing running.
#       Call it in the test's own shell, never in $(...): KAM_PID must survive.
#
#   kamailio_stop [TIMEOUT_S]
#       Stops exactly KAM_PID (SIGTERM, SIGKILL after TIMEOUT_S, default 5).
#       Kamailio's children exit with it. Safe to call twice / from a trap.
#
# Overridable: KAMAILIO (binary, default: kamailio on PATH or /usr/sbin/kamailio),
# KAM_CFG (default deploy/kamailio/kamailio.cfg of this checkout),
# KAM_SCHEMA_DIR (default /usr/share/kamailio/db_sqlite).
#
# Works as root and unprivileged (everything lives in RUN_DIR, which the
# caller must own), from any working directory. Keep RUN_DIR short: the ctl
# socket path must fit in 107 bytes.

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KAM_CFG="${KAM_CFG:-$REPO_ROOT/deploy/kamailio/kamailio.cfg}"
KAM_SCHEMA_DIR="${KAM_SCHEMA_DIR:-/usr/share/kamailio/db_sqlite}"
KAM_PID=""

_kam_binary() {
	if [[ -n "${KAMAILIO:-}" ]]; then
		echo "$KAMAILIO"
	elif command -v kamailio >/dev/null 2>&1; then
		command -v kamailio
	else
		echo /usr/sbin/kamailio
	fi
}

_kam_ready() {
	"$PY" "$SIP_PROBE" options --server "127.0.0.1:$KAM_PORT" --transport udp --timeout 0.3 &&
		"$PY" "$SIP_PROBE" options --server "127.0.0.1:$KAM_PORT" --transport tcp --timeout 0.3
}

kamailio_start() {
	local run_dir="$1" port="$2"
	shift 2 || { echo "usage: kamailio_start RUN_DIR PORT [DEFINE...]" >&2; return 2; }
	local bin f d timeout_s="${KAM_START_TIMEOUT:-10}" t0
	local -a defs=()

	bin=$(_kam_binary)
	[[ -x "$bin" ]] || { echo "kamailio_start: $bin not found" >&2; return 1; }
	[[ -r "$KAM_CFG" ]] || { echo "kamailio_start: no config $KAM_CFG" >&2; return 1; }
	[[ "$port" =~ ^[0-9]+$ ]] || { echo "kamailio_start: bad port '$port'" >&2; return 2; }

	mkdir -p "$run_dir" || return 1
	KAM_RUN_DIR="$(cd "$run_dir" && pwd)"
	KAM_PORT="$port"
	KAM_DB="$KAM_RUN_DIR/kamailio.db"
	KAM_CTL="unix:$KAM_RUN_DIR/kamailio_ctl"
	KAM_LOG="$KAM_RUN_DIR/kamailio.log"
	KAM_URI="sip:127.0.0.1:$port"
	if ((${#KAM_RUN_DIR} > 90)); then
		echo "kamailio_start: RUN_DIR path too long for the ctl socket: $KAM_RUN_DIR" >&2
		return 1
	fi

	# A fresh database every time: no publications left from earlier runs.
	rm -f "$KAM_DB" "$KAM_DB-journal" "$KAM_RUN_DIR/kamailio.pid"
	for f in standard-create.sql presence-create.sql; do
		if ! sqlite3 "$KAM_DB" <"$KAM_SCHEMA_DIR/$f" 2>>"$KAM_RUN_DIR/schema.err"; then
			echo "kamailio_start: loading $f failed (see $KAM_RUN_DIR/schema.err)" >&2
			return 1
		fi
	done

	for d in "$@"; do
		defs+=(-A "$d")
	done

	t0=$(now_ms)
	# -DD: stay in the foreground, so $! is the main process (= the -P pid).
	"$bin" -f "$KAM_CFG" -DD -E -m 256 -M 16 \
		-P "$KAM_RUN_DIR/kamailio.pid" -Y "$KAM_RUN_DIR" -w "$KAM_RUN_DIR" \
		-A "SIPPORT=$port" \
		-A "DBURL=\"sqlite:///$KAM_DB\"" \
		-A "CTLSOCK=\"$KAM_CTL\"" \
		"${defs[@]}" >"$KAM_LOG" 2>&1 </dev/null &
	KAM_PID=$!

	local deadline=$((t0 + timeout_s * 1000))
	while :; do
		if ! pid_alive "$KAM_PID"; then
			wait "$KAM_PID" 2>/dev/null
			echo "kamailio_start: kamailio exited during startup; log tail:" >&2
			tail -n 20 "$KAM_LOG" >&2
			KAM_PID=""
			return 1
		fi
		if _kam_ready >/dev/null 2>&1; then
			break
		fi
		if (($(now_ms) >= deadline)); then
			echo "kamailio_start: no 200 to OPTIONS on port $port within ${timeout_s}s; log tail:" >&2
			tail -n 20 "$KAM_LOG" >&2
			kamailio_stop 5
			return 1
		fi
		sleep 0.03
	done
	KAM_START_MS=$(($(now_ms) - t0))
	return 0
}

kamailio_stop() {
	local timeout_s="${1:-5}"
	[[ -n "${KAM_PID:-}" ]] || return 0
	stop_pid "$KAM_PID" "$timeout_s"
	local rc=$?
	KAM_PID=""
	return $rc
}
