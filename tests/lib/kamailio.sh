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
#       kamailio -DD -E -m KAM_SHM_MB (default 256) -M 16 on 127.0.0.1:PORT
#       (UDP+TCP), database, pid file and log (kamailio.log) in RUN_DIR, its
#       sockets in a private /tmp/pxkam.* directory (any RUN_DIR depth works). Each DEFINE is passed as -A DEFINE, e.g.
#       WITH_TEST_USERS, CLEAN_PERIOD=2, SUBS_DB_MODE=3, LOGLEVEL=1.
#       Waits (KAM_START_TIMEOUT seconds, default 30) until an OPTIONS over UDP
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
#       Returns 0 when it ended on SIGTERM.
#
#   kamailio_restart
#       Starts it again after kamailio_stop: same database, port and defines.
#
# Overridable: KAMAILIO (binary, default: kamailio on PATH or /usr/sbin/kamailio),
# KAM_CFG (default deploy/kamailio/kamailio.cfg of this checkout),
# KAM_SCHEMA_DIR (default /usr/share/kamailio/db_sqlite).
#
# Works as root and unprivileged (RUN_DIR must be the caller's), from any
# working directory and at any RUN_DIR depth.

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KAM_CFG="${KAM_CFG:-$REPO_ROOT/deploy/kamailio/kamailio.cfg}"
KAM_SCHEMA_DIR="${KAM_SCHEMA_DIR:-/usr/share/kamailio/db_sqlite}"
KAM_PID=""
KAM_SOCK_DIR=""
KAM_DEFINES=()

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

# _kam_launch: starts Kamailio on the current KAM_* settings (log appended),
# sets KAM_PID. Sockets and runtime files go to KAM_SOCK_DIR, a short
# private directory under /tmp: a unix socket path must fit in 107 bytes,
# whatever the depth of RUN_DIR.
_kam_launch() {
	local bin d
	local -a defs=()
	bin=$(_kam_binary)
	[[ -x "$bin" ]] || { echo "kamailio: $bin not found" >&2; return 1; }
	KAM_SOCK_DIR=$(mktemp -d /tmp/pxkam.XXXXXX) || return 1
	KAM_CTL="unix:$KAM_SOCK_DIR/ctl"
	for d in "${KAM_DEFINES[@]}"; do
		defs+=(-A "$d")
	done
	rm -f "$KAM_RUN_DIR/kamailio.pid"
	# -DD: stay in the foreground, so $! is the main process (= the -P pid).
	"$bin" -f "$KAM_CFG" -DD -E -m "${KAM_SHM_MB:-256}" -M 16 \
		-P "$KAM_RUN_DIR/kamailio.pid" -Y "$KAM_SOCK_DIR" -w "$KAM_RUN_DIR" \
		-A "SIPPORT=$KAM_PORT" \
		-A "DBURL=\"sqlite:///$KAM_DB\"" \
		-A "CTLSOCK=\"$KAM_CTL\"" \
		"${defs[@]}" >>"$KAM_LOG" 2>&1 </dev/null &
	KAM_PID=$!
}

# _kam_wait_ready: until Kamailio answers OPTIONS (KAM_START_TIMEOUT s);
# on failure the log tail and nothing left running.
_kam_wait_ready() {
	local deadline=$(($(now_ms) + ${KAM_START_TIMEOUT:-30} * 1000))
	while :; do
		if ! pid_alive "$KAM_PID"; then
			wait "$KAM_PID" 2>/dev/null
			echo "kamailio: exited during startup; log tail:" >&2
			tail -n 20 "$KAM_LOG" >&2
			KAM_PID=""
			_kam_sock_cleanup
			return 1
		fi
		if _kam_ready >/dev/null 2>&1; then
			return 0
		fi
		if (($(now_ms) >= deadline)); then
			echo "kamailio: no 200 to OPTIONS on port $KAM_PORT within ${KAM_START_TIMEOUT:-30}s; log tail:" >&2
			tail -n 20 "$KAM_LOG" >&2
			kamailio_stop 5
			return 1
		fi
		sleep 0.03
	done
}

_kam_sock_cleanup() {
	[[ -n "${KAM_SOCK_DIR:-}" && $KAM_SOCK_DIR == /tmp/pxkam.* ]] && rm -rf "$KAM_SOCK_DIR"
	KAM_SOCK_DIR=""
}

kamailio_start() {
	local run_dir="$1" port="$2"
	shift 2 || { echo "usage: kamailio_start RUN_DIR PORT [DEFINE...]" >&2; return 2; }
	local f t0

	[[ -r "$KAM_CFG" ]] || { echo "kamailio_start: no config $KAM_CFG" >&2; return 1; }
	[[ "$port" =~ ^[0-9]+$ ]] || { echo "kamailio_start: bad port '$port'" >&2; return 2; }

	mkdir -p "$run_dir" || return 1
	KAM_RUN_DIR="$(cd "$run_dir" && pwd)"
	KAM_PORT="$port"
	KAM_DB="$KAM_RUN_DIR/kamailio.db"
	KAM_LOG="$KAM_RUN_DIR/kamailio.log"
	KAM_URI="sip:127.0.0.1:$port"
	KAM_DEFINES=("$@")
	: >"$KAM_LOG"

	# A fresh database every time: no publications left from earlier runs.
	rm -f "$KAM_DB" "$KAM_DB-journal"
	for f in standard-create.sql presence-create.sql; do
		if ! sqlite3 "$KAM_DB" <"$KAM_SCHEMA_DIR/$f" 2>>"$KAM_RUN_DIR/schema.err"; then
			echo "kamailio_start: loading $f failed (see $KAM_RUN_DIR/schema.err)" >&2
			return 1
		fi
	done

	t0=$(now_ms)
	_kam_launch || return 1
	_kam_wait_ready || return 1
	KAM_START_MS=$(($(now_ms) - t0))
	return 0
}

# kamailio_restart: Kamailio again after kamailio_stop, same database, port,
# defines and log (appended).
kamailio_restart() {
	[[ -n "${KAM_DB:-}" ]] || { echo "kamailio_restart: never started" >&2; return 1; }
	echo "=== restart $(date -u +%FT%T.%NZ)" >>"$KAM_LOG"
	_kam_launch || return 1
	_kam_wait_ready
}

kamailio_stop() {
	local timeout_s="${1:-5}" rc=0
	if [[ -n "${KAM_PID:-}" ]]; then
		stop_pid "$KAM_PID" "$timeout_s"
		rc=$?
	fi
	KAM_PID=""
	_kam_sock_cleanup
	return $rc
}
