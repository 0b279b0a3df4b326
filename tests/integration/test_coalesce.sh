#!/bin/bash
# time-limit: 150
# shellcheck source-path=SCRIPTDIR
#
# test_coalesce.sh - concurrent fetches of one presentity share one
# SUBSCRIBE (issue: part 7, item 1): while a fetch is in flight, a getStatus
# of the same presentity follows it and gets a copy of its answer; a leader
# whose request expires hands its followers to a new SUBSCRIBE. A scripted
# presence server (tests/tools/script_presence.py) answers the fetches of
# slow* users 6 s late (time for ten getStatus to start, even on a loaded
# machine) and of slower* users never within the fetch timeout, and logs
# every SUBSCRIBE it receives.
#
#   tests/integration/test_coalesce.sh   (TEST_LOG_DIR keeps the logs)
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/gateway.sh
. "$here/../lib/gateway.sh"
# shellcheck source=../lib/soap.sh
. "$here/../lib/soap.sh"
run_dir coalesce
SP="$TESTS_DIR/tools/script_presence.py"
PLOG=$RUN_DIR/presence.jsonl
D=example.com

SP_PID=""
cleanup() {
	gateway_stop >/dev/null 2>&1
	[[ -n $SP_PID ]] && stop_pid "$SP_PID" 2 >/dev/null 2>&1
}
trap cleanup EXIT

read -r SPORT <<<"$(free_port 1)"
"$PY" "$SP" serve --port "$SPORT" --log "$PLOG" --lifetime 600 \
	--script '{"slow": {"fetch_delay_ms": 6000}, "slower": {"fetch_delay_ms": 60000}}' \
	>"$RUN_DIR/presence.out" 2>&1 &
SP_PID=$!
wait_until 30 "$PY" "$SP" ctl --port "$SPORT" --timeout 0.5 ping ||
	{ fail "scripted presence server starts" "$(tail -3 "$RUN_DIR/presence.out")"; summary; exit 1; }
gateway_start "$RUN_DIR/gw" "$SPORT" -o status.fetch-timeout-ms=10000 -o sip.keepalive-s=0 ||
	{ fail "gateway starts" ""; summary; exit 1; }

# fetches USER: the fetch SUBSCRIBEs (Expires: 0, out of any dialog) the
# presence server got for USER (a fetch given up before its NOTIFY also
# sends an un-SUBSCRIBE in its dialog: not counted)
fetches() {
	"$PY" -c 'import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("ev") == "request" and r.get("method") == "SUBSCRIBE" and r.get("user") == sys.argv[2] \
            and str(r.get("expires")) == "0" and not r.get("in_dialog"):
        n += 1
print(n)' "$PLOG" "$1"
}
coalesced() { metric "$(curl -s "$GW_URL/metrics")" pxtsgw_fetches_coalesced_total; }
# ask N USER TAG: N getStatus of USER at once, in the background (their PIDs
# in ASKED); their answers in $RUN_DIR/ask-USER-TAG*.out. asked: waits for them
ASKED=()
ask() {
	local i
	for i in $(seq 1 "$1"); do
		curl -s -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' \
			--data-binary "$(getstatus_xml "sip:$2@$D")" "$GW_URL/TerminalStatus" >"$RUN_DIR/ask-$2-$3$i.out" &
		ASKED+=($!)
	done
}
asked() { wait "${ASKED[@]}"; ASKED=(); }
answers() { cat "$RUN_DIR"/ask-"$1"-*.out | grep -oE '<tsl:result>[A-Za-z]+</tsl:result>|<messageId>[A-Z0-9]+</messageId>' | sort | uniq -c | sed 's/^ *//'; }

# --- a fetch in flight: the next nine follow it ---------------------------------------
ask 1 slowA a
wait_until 30 bash -c "[[ \$(grep -c '\"slowA\"' '$PLOG') -ge 1 ]]" || fail "the first fetch reaches the presence server" ""
ask 9 slowA b
asked
assert_eq "ten answers, all the presentity's status" "10 <tsl:result>Reachable</tsl:result>" "$(answers slowA)"
assert_eq "one SUBSCRIBE for the ten" 1 "$(fetches slowA)"
assert_eq "nine followed it" 9 "$(coalesced)"

# --- after it: a new fetch ----------------------------------------------------------
ask 1 slowA c
asked
assert_eq "a later getStatus fetches again" 2 "$(fetches slowA)"
assert_eq "no follower then" 9 "$(coalesced)"

# --- a leader that expires hands its followers on ----------------------------------------
ask 1 slowerB a
wait_until 30 bash -c "[[ \$(grep -c '\"slowerB\"' '$PLOG') -ge 1 ]]" || fail "the first fetch of slowerB reaches the presence server" ""
sleep 0.5                  # the followers' requests expire half a second after the leader's
ask 4 slowerB b
asked
assert_eq "five answers, all the fetch timeout's SVC0001" "5 <messageId>SVC0001</messageId>" "$(answers slowerB)"
assert_eq "two SUBSCRIBEs: the leader's, then the one of the follower that leads after it" 2 "$(fetches slowerB)"
assert_eq "four more followed" 13 "$(coalesced)"
assert_eq "nothing in flight at the end" 0 "$(metric "$(curl -s "$GW_URL/metrics")" pxtsgw_fetches_in_flight)"

gateway_stop
assert_eq "the gateway exits 0 on SIGTERM" 0 "$?"
assert_not_contains "no sanitizer report" "Sanitizer" "$(cat "$GW_LOG")"
summary
