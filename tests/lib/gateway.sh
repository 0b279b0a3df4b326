# shellcheck shell=bash
#
# tests/lib/gateway.sh - start and stop a pxtsgw under test.
#
#   gateway_start RUN_DIR KAM_PORT [-o KEY=VALUE]...
#       Starts $PXTSGW_BIN (default: build/asan/pxtsgw if built, else
#       bin/pxtsgw) on free HTTP and SIP ports, pointed at the presence
#       server 127.0.0.1:KAM_PORT, store in RUN_DIR/pxtsgw.db, log in
#       RUN_DIR/pxtsgw.log, callbacks allowed to 127.0.0.0/8 where the
#       tests' sinks listen (-o delivery.allowed-endpoints=127.0.0.0/8;
#       an extra -o delivery.allowed-endpoints=... overrides it, "=" alone
#       restores the default refusals); extra -o options are passed on.
#       With GW_TLS_CA set (a CA file), the caller gives http.tls-cert and
#       http.tls-key: GW_URL is https://127.0.0.1:PORT and curl checks the
#       server's certificate against GW_TLS_CA (here and in soap_post).
#       Waits until /health answers 200 (GW_START_TIMEOUT s, default 60;
#       at once when the gateway exits). Sets GW_PID, GW_URL (http://127.0.0.1:PORT),
#       GW_HTTP_PORT, GW_SIP_PORT, GW_LOG. Returns 1 (log tail printed) on
#       failure. Call it in the test's own shell, never in $(...).
#   gateway_stop
#       SIGTERM to exactly GW_PID and waits (SIGKILL after GW_STOP_TIMEOUT s,
#       default 30: status 137); returns the gateway's exit status (ASan
#       reports make it non-zero). Safe to call twice.
#   sink_start [ARGS...]
#       A callback sink (tests/tools/callback_sink.py) on a free port; sets
#       SINK and SINK_PID.
#   outbox_settled URL [TIMEOUT_S [CURL_ARGS...]]
#       Waits (default 20 s) until the gateway at URL has no callback in its
#       outbox (pxtsgw_outbox_callbacks 0 in URL/metrics; CURL_ARGS such as
#       -u admin:pw for a gateway with users): every callback it accepted
#       so far has been delivered (or given up). "Nothing more arrives"
#       checks wait for this after a witness, not for a fixed time: a
#       callback that should not exist is at the sink by then.
#   soap_post ENDPOINT FILE_OR_STRING
#       POSTs a SOAP 1.1 request to $GW_URL/ENDPOINT; sets HTTP_CODE and BODY
#       (HTTP_CODE 000 and BODY empty when no answer came: curl's time limit).
#       With SOAP_USER=name:password set, it authenticates with HTTP Basic.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

outbox_settled() {
	local url=$1 timeout=${2:-20}
	shift 2 2>/dev/null || shift $#
	# shellcheck disable=SC2016 # expanded by the inner shell
	wait_until "$timeout" bash -c '[[ $(curl -s "${@:2}" "$1/metrics" | sed -n "s/^pxtsgw_outbox_callbacks //p") == 0 ]]' \
		_ "$url" "$@"
}

gateway_start() {
	local run_dir=$1 kam_port=$2
	shift 2
	local bin=${PXTSGW_BIN:-}
	if [[ -z $bin ]]; then
		if [[ -x $REPO_ROOT/build/asan/pxtsgw ]]; then bin=$REPO_ROOT/build/asan/pxtsgw; else bin=$REPO_ROOT/bin/pxtsgw; fi
	fi
	mkdir -p "$run_dir"
	local ports scheme=http
	local -a ca=()
	if [[ -n ${GW_TLS_CA:-} ]]; then scheme=https; ca=(--cacert "$GW_TLS_CA"); fi
	read -r GW_HTTP_PORT GW_SIP_PORT <<<"$(free_port 2)"
	GW_URL="$scheme://127.0.0.1:$GW_HTTP_PORT"
	GW_LOG="$run_dir/pxtsgw.log"
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$bin" \
		-o http.listen="127.0.0.1:$GW_HTTP_PORT" \
		-o sip.listen="127.0.0.1:$GW_SIP_PORT" \
		-o sip.presence-server="sip:127.0.0.1:$kam_port" \
		-o store.path="$run_dir/pxtsgw.db" \
		-o delivery.allowed-endpoints=127.0.0.0/8 \
		"$@" >"$GW_LOG" 2>&1 &
	GW_PID=$!
	# GW_START_TIMEOUT (default 60 s): an ASan gateway on a loaded machine
	# may need many seconds (store migrations, sanitizer start-up); one that
	# exits is seen at once
	if ! wait_until "${GW_START_TIMEOUT:-60}" _gw_healthy_or_dead "$GW_URL/health" "${ca[@]}" ||
		! pid_alive "$GW_PID"; then
		echo "gateway did not become healthy; log tail:" >&2
		tail -20 "$GW_LOG" >&2
		stop_pid "$GW_PID" 2 >/dev/null 2>&1
		GW_PID=
		return 1
	fi
	return 0
}

# _gw_healthy_or_dead URL [CURL ARGS...]: /health answers 200, or GW_PID
# is gone (wait_until then stops waiting; the caller tells which).
_gw_healthy_or_dead() {
	local url=$1
	shift
	curl -sf --max-time 5 "$@" -o /dev/null "$url" || ! pid_alive "$GW_PID"
}

gateway_stop() {
	local rc=0
	[[ -n ${GW_PID:-} ]] || return 0
	kill -TERM "$GW_PID" 2>/dev/null
	# SIGKILL after GW_STOP_TIMEOUT s (default 30: an ASan gateway's exit
	# with its leak check takes seconds on a loaded machine)
	for _ in $(seq 1 $((${GW_STOP_TIMEOUT:-30} * 10))); do
		kill -0 "$GW_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$GW_PID" 2>/dev/null; then
		kill -KILL "$GW_PID" 2>/dev/null
		rc=137
	fi
	wait "$GW_PID" 2>/dev/null || rc=$?
	GW_PID=
	return $rc
}

# sink_start [ARGS...]: tests/tools/callback_sink.py on a free port of
# 127.0.0.1 (ARGS passed on, e.g. --record FILE), its output in
# $RUN_DIR/sink.out; sets SINK (its URL) and SINK_PID. Returns 1 when it
# does not answer within 20 s (Python's start on a loaded machine). Call it
# in the test's own shell.
sink_start() {
	local port
	read -r port <<<"$(free_port 1)"
	"$PY" "$TESTS_DIR/tools/callback_sink.py" --port "$port" --quiet "$@" >"$RUN_DIR/sink.out" 2>&1 &
	SINK_PID=$!
	SINK=http://127.0.0.1:$port
	wait_http "$SINK/control" 20
}

soap_post() {
	local ep=$1 data=$2 out
	local -a auth=() ca=()
	[[ -n ${SOAP_USER:-} ]] && auth=(-u "$SOAP_USER")
	if [[ -n ${GW_TLS_CA:-} ]]; then ca=(--cacert "$GW_TLS_CA"); fi
	if [[ -f $data ]]; then data=$(cat "$data"); fi
	out=$(curl -s "${ca[@]}" -w '\n%{http_code}' -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' \
		"${auth[@]}" --data-binary "$data" "$GW_URL/$ep")
	HTTP_CODE=${out##*$'\n'}
	BODY=${out%$'\n'*}
	[[ $out == *$'\n'* ]] || BODY=
}
