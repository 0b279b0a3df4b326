#!/bin/bash
# time-limit: 420
# shellcheck source-path=SCRIPTDIR
#
# test_demo.sh - `make run` as a user runs it (deploy/demo.sh, on free ports
# through its DEMO_* overrides, the gateway PXTSGW_BIN through DEMO_BIN):
#
#   the demo prints the callback of its sample notification demo-1
#   (checkImmediate: alice Busy, bob Reachable, carol Unreachable) as one
#   line; the presence-change command it prints works, and the callback of
#   that change arrives as the next demo-1 line;
#   the README's examples (docs/examples/: curl for getStatus,
#   getStatusForGroup, startNotification, endNotification, and zeep for the
#   four) run against it with the answers the sample presence gives, and
#   the README shows each of them verbatim;
#   the endpoint prints statusEnd, statusChanged and statusError as one line
#   each too, and refuses a body that is not XML (400) or too large (413);
#   then a signal stops everything the demo started (Kamailio and its
#   children, pxtsgw, the callback endpoint: the PIDs of demo.pids and every
#   descendant of make), make exits by that signal, and the HTTP port is
#   free: SIGTERM, SIGHUP and SIGINT to make's PID alone, and SIGINT to
#   make's whole process group (what Ctrl-C in a terminal does).
#
#   tests/integration/test_demo.sh        (TEST_LOG_DIR keeps the logs)
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/common.sh
. "$here/../lib/common.sh"
run_dir demo

BIN=${PXTSGW_BIN:-}
if [[ -z $BIN ]]; then
	if [[ -x $REPO_ROOT/build/asan/pxtsgw ]]; then BIN=$REPO_ROOT/build/asan/pxtsgw; else BIN=$REPO_ROOT/bin/pxtsgw; fi
fi
[[ $BIN == /* ]] || BIN=$REPO_ROOT/$BIN
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

MAKE_PID=
TRACKED=()
# cleanup: a scenario that failed, or a test that is stopped (time limit),
# leaves nothing running: make and every PID it saw, by PID
cleanup() {
	local p
	[[ -n $MAKE_PID ]] && kill -TERM "$MAKE_PID" 2>/dev/null
	for p in "${TRACKED[@]}"; do
		pid_alive "$p" && kill -TERM "$p" 2>/dev/null
	done
	for p in "${TRACKED[@]}" $MAKE_PID; do
		wait_until 30 eval "! pid_alive $p" || kill -KILL "$p" 2>/dev/null
	done
	[[ -n $MAKE_PID ]] && wait "$MAKE_PID" 2>/dev/null
	MAKE_PID=
	TRACKED=()
	return 0
}
trap cleanup EXIT
trap 'exit 1' TERM INT HUP

# descendants PID: every process below PID (children, their children...)
descendants() {
	ps -eo pid=,ppid= | awk -v root="$1" '
		{ parent[$1] = $2; pids[n++] = $1 }
		END {
			want[root] = 1
			do {
				added = 0
				for (i = 0; i < n; i++) {
					p = pids[i]
					if (!(p in want) && (parent[p] in want)) { want[p] = 1; added = 1 }
				}
			} while (added)
			for (p in want) if (p != root) print p
		}'
}

# line_count FILE PREFIX: how many lines of FILE start with PREFIX
line_count() {
	grep -c -F -- "$2" "$1" 2>/dev/null || true
}

# examples NAME HTTP_PORT CB_PORT: the README's examples against the demo
# of scenario NAME
examples() {
	local name=$1 d=$RUN_DIR/$1 env=(PXTSGW_URL="http://127.0.0.1:$2" PXTSGW_CALLBACK="http://127.0.0.1:$3/callbacks"
		PXTSGW_SINK="http://127.0.0.1:$3/events")
	local out f body sid
	for f in getStatus.sh getStatusForGroup.sh startNotification.sh endNotification.sh zeep_example.py \
		retrieve.sh subscribe.sh unsubscribe.sh; do
		# the README shows the file as it is, but for its #! line
		body=$(tail -n +2 "$REPO_ROOT/docs/examples/$f")
		if [[ $(<"$REPO_ROOT/README.md") == *"$body"* ]]; then
			ok "README shows docs/examples/$f verbatim"
		else
			fail "README shows docs/examples/$f verbatim" "its text (after the #! line) is not in README.md"
		fi
	done

	run_cmd "$name/ex-getStatus" env "${env[@]}" sh docs/examples/getStatus.sh
	assert_eq "getStatus.sh: alice is Busy" "0 Busy" \
		"$RC $(sed -nE 's/.*<([A-Za-z0-9_]+:)?result>([^<]*)<\/([A-Za-z0-9_]+:)?result>.*/\2/p' <<<"$OUT")"
	run_cmd "$name/ex-getStatusForGroup" env "${env[@]}" sh docs/examples/getStatusForGroup.sh
	assert_eq "getStatusForGroup.sh: the group per member, then dave" \
		"0 sip:alice@example.com=Busy sip:bob@example.com=Reachable sip:carol@example.com=Unreachable sip:dave@example.com=Unreachable" \
		"$RC $(grep -oE '<address>[^<]*</address><reportStatus>Retrieved</reportStatus><currentStatus>[^<]*</currentStatus>' <<<"$OUT" |
			sed -E 's/<address>([^<]*)<\/address><reportStatus>Retrieved<\/reportStatus><currentStatus>([^<]*)<.*/\1=\2/' | tr '\n' ' ' | sed 's/ $//')"
	run_cmd "$name/ex-startNotification" env "${env[@]}" sh docs/examples/startNotification.sh
	if [[ $RC == 0 && $OUT =~ \<([A-Za-z0-9_]+:)?startNotificationResponse\>\</([A-Za-z0-9_]+:)?startNotificationResponse\>|\<([A-Za-z0-9_]+:)?startNotificationResponse/\> ]]; then
		ok "startNotification.sh: an empty startNotificationResponse"
	else
		fail "startNotification.sh: an empty startNotificationResponse" "rc $RC: $(_short "$OUT")"
	fi
	if wait_until 30 grep -qxF "callback statusNotification correlator=readme-1 address=sip:alice@example.com status=Busy address=sip:bob@example.com status=Reachable" "$d/make.out"; then
		ok "startNotification.sh: its checkImmediate callback arrives at the demo's endpoint"
	else
		fail "startNotification.sh: its checkImmediate callback" "$(_short "$(grep '^callback' "$d/make.out")")"
	fi
	run_cmd "$name/ex-endNotification" env "${env[@]}" sh docs/examples/endNotification.sh
	if [[ $RC == 0 && $OUT =~ \<([A-Za-z0-9_]+:)?endNotificationResponse\>\</([A-Za-z0-9_]+:)?endNotificationResponse\>|\<([A-Za-z0-9_]+:)?endNotificationResponse/\> ]]; then
		ok "endNotification.sh: an empty endNotificationResponse"
	else
		fail "endNotification.sh: an empty endNotificationResponse" "rc $RC: $(_short "$OUT")"
	fi
	run_cmd "$name/ex-endNotification-again" env "${env[@]}" sh docs/examples/endNotification.sh
	assert_eq "endNotification.sh once more: SVC0002 (as the README says)" "0 SVC0002" \
		"$RC $(sed -nE 's/.*<messageId>([^<]*)<\/messageId>.*/\1/p' <<<"$OUT")"
	run_cmd "$name/ex-zeep" env "${env[@]}" "$PY" docs/examples/zeep_example.py
	assert_eq "zeep_example.py: the four operations" "0
getStatus alice: Busy
getStatusForGroup: sip:alice@example.com Retrieved Busy
getStatusForGroup: sip:bob@example.com Retrieved Reachable
getStatusForGroup: sip:carol@example.com Retrieved Unreachable
startNotification zeep-1: started
endNotification zeep-1: ended" "$RC
$OUT"
	assert_contains "README shows what zeep_example.py prints" "$OUT" "$(<"$REPO_ROOT/README.md")"

	# the REST examples (CAMARA)
	run_cmd "$name/ex-retrieve" env "${env[@]}" sh docs/examples/retrieve.sh
	assert_eq "retrieve.sh: +15550100 reachable, DATA" '0 True ["DATA"]' \
		"$RC $("$PY" -c 'import json, sys; d = json.load(sys.stdin); print(d["reachable"], json.dumps(d["connectivity"]))' <<<"$OUT" 2>&1)"
	run_cmd "$name/ex-subscribe" env "${env[@]}" sh docs/examples/subscribe.sh
	sid=$("$PY" -c 'import json, sys; d = json.load(sys.stdin); print(d["id"] if d.get("status") == "ACTIVE" else "")' <<<"$OUT" 2>/dev/null)
	if [[ $RC == 0 && $sid =~ ^[0-9a-f-]{36}$ ]]; then ok "subscribe.sh: an ACTIVE subscription with an id"
	else fail "subscribe.sh: an ACTIVE subscription" "rc $RC: $(_short "$OUT")"; fi
	if wait_until 10 grep -qxF "event reachability-data subscription=$sid phoneNumber=+15550100 x-correlator=readme-s1" "$d/make.out"; then
		ok "subscribe.sh: its initial CloudEvent is printed by the demo's endpoint"
	else
		fail "subscribe.sh: its initial CloudEvent" "$(_short "$(grep '^event' "$d/make.out")")"
	fi
	run_cmd "$name/ex-unsubscribe" env "${env[@]}" sh docs/examples/unsubscribe.sh "$sid"
	assert_eq "unsubscribe.sh: the list names it, then DELETE: 204" "0 yes DELETE: 204" \
		"$RC $([[ $OUT == *"\"id\":\"$sid\""* ]] && echo yes || echo no) $(tail -1 <<<"$OUT")"
	if wait_until 10 grep -qxF "event subscription-ended subscription=$sid phoneNumber=+15550100 reason=SUBSCRIPTION_DELETED x-correlator=readme-s1" "$d/make.out"; then
		ok "unsubscribe.sh: subscription-ended SUBSCRIPTION_DELETED is printed"
	else
		fail "unsubscribe.sh: subscription-ended" "$(_short "$(grep '^event' "$d/make.out")")"
	fi
}

# endpoint_checks NAME CB_PORT: the demo's endpoint prints the other
# callbacks as one line each too, and answers what is not a callback
# clearly (400 with a line saying why, 413 for a body above its cap)
endpoint_checks() {
	local out=$RUN_DIR/$1/make.out cb=http://127.0.0.1:$2/callbacks code
	local ns='xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:n="http://www.csapi.org/schema/parlayx/terminal_status/notification/v2_3/local"'
	# post BODY: HTTP_CODE of the endpoint's answer
	post() { curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' --data-binary "$1" "$cb"; }
	code=$(post "<soapenv:Envelope $ns><soapenv:Body><n:statusEnd><n:correlator>x-1</n:correlator></n:statusEnd></soapenv:Body></soapenv:Envelope>")
	assert_eq "endpoint: statusEnd answered 200" 200 "$code"
	code=$(post "<soapenv:Envelope $ns><soapenv:Body><n:statusChanged><n:correlator>x 2</n:correlator><address>tel:+15550100</address><currentStatus>Busy</currentStatus></n:statusChanged></soapenv:Body></soapenv:Envelope>")
	assert_eq "endpoint: statusChanged answered 200" 200 "$code"
	code=$(post "<soapenv:Envelope $ns><soapenv:Body><n:statusError><n:correlator>x-3</n:correlator><n:address>sip:a@example.com</n:address><n:reason><messageId>SVC0001</messageId><text>A service error occurred. Error code is %1</text><variables>giveup</variables></n:reason></n:statusError></soapenv:Body></soapenv:Envelope>")
	assert_eq "endpoint: statusError answered 200" 200 "$code"
	code=$(post "this is not XML")
	assert_eq "endpoint: a body that is not XML gets 400" 400 "$code"
	code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/xml' -H 'Content-Length: 2000000' --data-binary 'x' "$cb")
	assert_eq "endpoint: a body above 1 MiB gets 413 unread" 413 "$code"
	wait_until 30 grep -q '^callback unreadable ' "$out"
	assert_eq "endpoint: one line per callback, values with a space quoted, %1 filled in" \
		'callback statusEnd correlator=x-1
callback statusChanged correlator="x 2" address=tel:+15550100 status=Busy
callback statusError correlator=x-3 address=sip:a@example.com messageId=SVC0001 text="A service error occurred. Error code is giveup"
callback unreadable reason="not XML: syntax error: line 1, column 0"' \
		"$(grep -E '^callback (statusEnd|statusChanged|statusError|unreadable) ' "$out")"
}

# scenario NAME SIGNAL TARGET [examples]: make run on free ports; the
# callbacks; then SIGNAL to make's PID (TARGET pid) or to its process group
# (TARGET group); everything it started is gone.
scenario() {
	local name=$1 sig=$2 target=$3 with_examples=${4:-}
	local d=$RUN_DIR/$name sip http gwsip cb out cmd rc p signo
	local first="callback statusNotification correlator=demo-1 address=sip:alice@example.com status=Busy address=sip:bob@example.com status=Reachable address=sip:carol@example.com status=Unreachable"
	local change="callback statusNotification correlator=demo-1 address=sip:bob@example.com status=Unreachable"
	mkdir -p "$d"
	read -r sip http gwsip cb <<<"$(free_port 4)"
	out=$d/make.out
	# as from a terminal: no make of the caller around it, SIGINT not
	# ignored (a background job of a script ignores it otherwise); the
	# group scenario in a process group of its own, as a terminal's job
	local -a launch=(env --default-signal=INT -u MAKEFLAGS -u MFLAGS -u MAKELEVEL
		DEMO_SIP_PORT="$sip" DEMO_HTTP_PORT="$http" DEMO_GW_SIP_PORT="$gwsip" DEMO_CB_PORT="$cb"
		DEMO_DIR="$d/demo" DEMO_BIN="$BIN" make run)
	if [[ $target == group ]]; then
		setsid "${launch[@]}" >"$out" 2>&1 </dev/null &
	else
		"${launch[@]}" >"$out" 2>&1 </dev/null &
	fi
	MAKE_PID=$!
	TRACKED=()

	if ! wait_until 60 grep -q "Press Ctrl-C to stop" "$out"; then
		fail "$name: the demo starts" "$(_short "$(tail -5 "$out")")"
		while read -r p; do TRACKED+=("$p"); done < <(descendants "$MAKE_PID")
		cleanup
		return
	fi
	ok "$name: the demo starts and prints its instructions"
	while read -r p; do TRACKED+=("$p"); done < <(descendants "$MAKE_PID")
	local names=""
	while read -r n p; do
		names+="$n "
		[[ " ${TRACKED[*]} " == *" $p "* ]] || TRACKED+=("$p")
		pid_alive "$p" || fail "$name: $n ($p) runs" "not alive"
	done <"$d/demo/demo.pids"
	assert_eq "$name: demo.pids names what it started" "kamailio pxtsgw callbacks " "$names"

	if [[ -n $with_examples ]]; then
		assert_contains "README shows the demo's first callback line" "$first" "$(<"$REPO_ROOT/README.md")"
		assert_contains "README shows the line of the change" "$change" "$(<"$REPO_ROOT/README.md")"
	fi
	if wait_until 20 grep -qxF "$first" "$out"; then
		ok "$name: the checkImmediate callback of demo-1 is printed as one line"
	else
		fail "$name: the checkImmediate callback of demo-1" "$(_short "$(grep '^callback' "$out")")"
	fi

	if [[ -n $with_examples ]]; then
		examples "$name" "$http" "$cb"
		endpoint_checks "$name" "$cb"
	fi

	cmd=$(grep -m1 -E '^  /usr/bin/python3 .*sip_publish\.py ' "$out" | sed 's/^ *//')
	assert_eq "$name: the printed command changes bob to closed" \
		"/usr/bin/python3 tests/tools/sip_publish.py --server 127.0.0.1:$sip --basic closed sip:bob@example.com" "$cmd"
	run_cmd "$name/change" bash -c "$cmd"
	assert_eq "$name: the presence change is accepted" 0 "$RC"
	if wait_until 30 grep -qxF "$change" "$out"; then
		ok "$name: the change's callback arrives as one line"
	else
		fail "$name: the change's callback" "$(_short "$(grep '^callback' "$out")")"
	fi
	assert_eq "$name: demo-1 callbacks so far" 2 "$(line_count "$out" "callback statusNotification correlator=demo-1 ")"
	cmd=$(grep -E '^  /usr/bin/python3 .*sip_publish\.py ' "$out" | sed -n 2p | sed 's/^ *//')
	assert_eq "$name: the second printed command closes +15550100" \
		"/usr/bin/python3 tests/tools/sip_publish.py --server 127.0.0.1:$sip --basic closed sip:+15550100@example.com" "$cmd"
	run_cmd "$name/change-camara" bash -c "$cmd"
	if wait_until 10 grep -qE '^event reachability-disconnected subscription=[0-9a-f-]{36} phoneNumber=\+15550100$' "$out"; then
		ok "$name: the demo's CAMARA subscription prints its reachability-disconnected event"
	else
		fail "$name: the CAMARA event" "$(_short "$(grep '^event' "$out")")"
	fi

	# the signal
	signo=$(kill -l "$sig")
	if [[ $target == group ]]; then
		kill -"$sig" -- -"$MAKE_PID"
	else
		kill -"$sig" "$MAKE_PID"
	fi
	local make_ended=0
	if wait_until 40 eval "! pid_alive $MAKE_PID"; then
		wait "$MAKE_PID"
		rc=$?
		assert_eq "$name: make ends by SIG$sig" $((128 + signo)) "$rc"
		make_ended=1
	else
		fail "$name: make ends after SIG$sig" "still running after 40 s"
	fi
	((make_ended)) && MAKE_PID=
	local left=()
	for p in "${TRACKED[@]}"; do
		wait_until 30 eval "! pid_alive $p" || left+=("$p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-80)")
	done
	assert_eq "$name: every process the demo started is gone (${#TRACKED[@]} seen)" "" "${left[*]}"
	assert_contains "$name: the demo says it stopped" "demo: stopped" "$(<"$out")"
	if curl -s -o /dev/null "http://127.0.0.1:$http/health"; then
		fail "$name: the HTTP port is free" "something still answers on $http"
	else
		ok "$name: the HTTP port is free"
	fi
	cleanup    # after a failure: what is left, by PID
}

scenario term-pid TERM pid examples
scenario hup-pid HUP pid
scenario int-pid INT pid
scenario ctrl-c INT group

summary
