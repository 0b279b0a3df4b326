#!/bin/bash
# time-limit: 120
# shellcheck source-path=SCRIPTDIR
#
# test_cli.sh - the command line of pxtsgw (no presence server needed):
#
#   -V prints the version (the Makefile's), -h prints the usage (exit 0);
#   -t with the defaults and with deploy/pxtsgw.conf prints "configuration OK";
#   an unknown key (via -o and via a file), invalid values, a missing file, a
#   group file with an error, a bad option or an operand: exit 1 with a
#   message that names the key / the file and line;
#   the gateway starts from another working directory (/) with -o options
#   only, serves /TerminalStatus?wsdl (built in) and the document it imports,
#   and exits 0 on SIGTERM; a store in a missing directory: exit 1 naming the
#   store;
#   deploy/pxtsgw.8 lists exactly the keys and defaults of deploy/pxtsgw.conf
#   and documents every option of the usage; it renders without warnings
#   (when groff is installed).
#
# Usage: tests/integration/test_cli.sh
#   PXTSGW_BIN=...    gateway binary (default: build/asan/pxtsgw if built,
#                     else bin/pxtsgw)
#   TEST_LOG_DIR=/abs/dir (as tests/run-all.sh sets it): keep the logs there;
#   otherwise a temp dir, removed on success.
# Prints "N passed, M failed"; exit status 1 if anything failed.

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

if [[ -n "${TEST_LOG_DIR:-}" ]]; then
	RUN_DIR=$TEST_LOG_DIR
	fresh_dir "$RUN_DIR" || exit 2
	KEEP_RUN_DIR=1
else
	RUN_DIR=$(mktemp -d /tmp/pxts-cli.XXXXXX)
	KEEP_RUN_DIR=0
fi
RUN_DIR=$(cd "$RUN_DIR" && pwd)
find "$RUN_DIR" -mindepth 1 -delete

BIN=${PXTSGW_BIN:-}
if [[ -z $BIN ]]; then
	if [[ -x $REPO_ROOT/build/asan/pxtsgw ]]; then BIN=$REPO_ROOT/build/asan/pxtsgw; else BIN=$REPO_ROOT/bin/pxtsgw; fi
fi
# the start test runs from /: make the path absolute (relative to the
# current directory, else to the repository)
if [[ $BIN != /* ]]; then
	if [[ -x $PWD/$BIN ]]; then BIN=$PWD/$BIN; else BIN=$REPO_ROOT/$BIN; fi
fi
if [[ ! -x $BIN ]]; then
	fail "binary" "$BIN is not built (make, or make asan)"
	summary
	exit 1
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
CONF=$REPO_ROOT/deploy/pxtsgw.conf
MAN=$REPO_ROOT/deploy/pxtsgw.8
GW_PID=

# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
	if [[ -n $GW_PID ]]; then stop_pid "$GW_PID" 2 >/dev/null 2>&1; fi
	return 0
}
trap cleanup EXIT

# no_sanitizer NAME: the last run_cmd's stderr has no sanitizer report.
no_sanitizer() {
	local err
	err=$(cat "$RUN_DIR/$1.err")
	if [[ $err == *"Sanitizer"* || $err == *"runtime error:"* ]]; then
		fail "$1: no sanitizer report" "$(_short "$(grep -m3 -E 'Sanitizer|runtime error' "$RUN_DIR/$1.err")")"
	fi
}

# expect_error NAME NEEDLE ARGS...: pxtsgw ARGS exits 1, stdout empty, and
# its stderr contains NEEDLE.
expect_error() {
	local name=$1 needle=$2
	shift 2
	run_cmd "$name" "$BIN" "$@"
	assert_eq "$name: exit 1" 1 "$RC"
	assert_contains "$name: message names $needle" "$needle" "$(cat "$RUN_DIR/$name.err")"
	assert_eq "$name: nothing on stdout" "" "$OUT"
	no_sanitizer "$name"
}

echo "binary: $BIN"

# --- -V, -h --------------------------------------------------------------
version=$(sed -n 's/^VERSION[[:space:]]*:=[[:space:]]*//p' "$REPO_ROOT/Makefile")
run_cmd version "$BIN" -V
assert_eq "-V: exit 0" 0 "$RC"
assert_eq "-V: prints 'pxtsgw <Makefile VERSION>'" "pxtsgw $version" "$OUT"

run_cmd help "$BIN" -h
assert_eq "-h: exit 0" 0 "$RC"
assert_contains "-h: usage line" "usage: pxtsgw [-c FILE] [-o KEY=VALUE]... [-t] [-h] [-V]" "$OUT"
for opt in "-c FILE" "-o KEY=VALUE" "-t " "-h " "-V "; do
	assert_contains "-h: explains '${opt% }'" "  $opt" "$OUT"
done
assert_eq "-h: nothing on stderr" "" "$(cat "$RUN_DIR/help.err")"

# --- -t: valid configurations -------------------------------------------
run_cmd t-defaults "$BIN" -t
assert_eq "-t (defaults): exit 0" 0 "$RC"
assert_eq "-t (defaults): prints 'configuration OK'" "configuration OK" "$OUT"
no_sanitizer t-defaults

run_cmd t-reference "$BIN" -t -c "$CONF"
assert_eq "-t -c deploy/pxtsgw.conf: exit 0" 0 "$RC"
assert_eq "-t -c deploy/pxtsgw.conf: 'configuration OK'" "configuration OK" "$OUT"

# -o after the file overrides it; a key given twice takes the last value
printf '# comment\n\n   # indented comment\nhttp.threads = 3\r\nlog.level=warn\n' >"$RUN_DIR/good.conf"
run_cmd t-override "$BIN" -t -c "$RUN_DIR/good.conf" -o http.threads=4 -o http.threads=5
assert_eq "-t -c file -o ... (comments, CRLF, repeated -o): exit 0" 0 "$RC"

# --- configuration errors: exit 1, the key (and file:line) named ---------
expect_error unknown-key-o "'no.such-key'" -t -o no.such-key=1
printf '# a comment\nhttp.threads = 2\nhttp.bogus-key = 1\nlog.level = info\n' >"$RUN_DIR/unknown-key.conf"
expect_error unknown-key-file "unknown-key.conf:3: unknown key 'http.bogus-key'" -t -c "$RUN_DIR/unknown-key.conf"
# the same error without -t stops start-up too
expect_error unknown-key-start "'no.such-key'" -o no.such-key=1

expect_error bad-threads "'http.threads'" -t -o http.threads=0
expect_error bad-transport "'sip.transport'" -t -o sip.transport=sctp
expect_error bad-bool "'policy.group-support'" -t -o policy.group-support=maybe
expect_error bad-int "'delivery.timeout-ms'" -t -o delivery.timeout-ms=5s
expect_error bad-listen "'http.listen'" -t -o http.listen=127.0.0.1:99999
expect_error bad-rule "'delivery.backoff-max-ms'" -t -o delivery.backoff-ms=5000 -o delivery.backoff-max-ms=1000
expect_error bad-allowed-endpoints "invalid value '127.0.0.0/33' for key 'delivery.allowed-endpoints'" \
	-t -o delivery.allowed-endpoints=127.0.0.0/33
expect_error bad-allowed-endpoints-start "key 'delivery.allowed-endpoints': item '127.1'" \
	-o "delivery.allowed-endpoints=10.0.0.0/8, 127.1"
printf 'delivery.allowed-endpoints = localhost:8080, a..b\n' >"$RUN_DIR/bad-endpoints.conf"
expect_error bad-allowed-endpoints-file "bad-endpoints.conf:1: invalid value 'localhost:8080, a..b' for key 'delivery.allowed-endpoints': item 'a..b'" \
	-t -c "$RUN_DIR/bad-endpoints.conf"
run_cmd t-allowed-endpoints "$BIN" -t -o "delivery.allowed-endpoints=127.0.0.0/8, ::1, localhost:8080, [::1]:9, fd00::/8"
assert_eq "-t with an allow list of every kind of entry: exit 0" 0 "$RC"
printf 'log.level = info\nsip.transport = sctp\n' >"$RUN_DIR/bad-value.conf"
expect_error bad-value-file "bad-value.conf:2: invalid value 'sctp' for key 'sip.transport'" -t -c "$RUN_DIR/bad-value.conf"
printf 'http.threads\n' >"$RUN_DIR/no-equals.conf"
expect_error no-equals-file "no-equals.conf:1:" -t -c "$RUN_DIR/no-equals.conf"
expect_error o-no-equals "'http.threads'" -t -o http.threads

expect_error missing-file "$RUN_DIR/no-such.conf" -t -c "$RUN_DIR/no-such.conf"

printf 'sip:g@x sip:a@x\n# a comment\nsip:h@x sip:\001b@x\n' >"$RUN_DIR/control.grp"
expect_error group-error "control.grp:3:" -t -o group.file="$RUN_DIR/control.grp"
assert_contains "group-error: names group.file" "group.file" "$(cat "$RUN_DIR/group-error.err")"
printf 'sip:g1@x sip:a@x\nsip:g2@x sip:b@x\nsip:g1@x sip:c@x\n' >"$RUN_DIR/dup.grp"
expect_error group-dup "dup.grp:3: group 'sip:g1@x' is already defined on line 1" -t -o group.file="$RUN_DIR/dup.grp"
expect_error group-missing "$RUN_DIR/no-such.grp" -t -o group.file="$RUN_DIR/no-such.grp"

# --- usage errors ---------------------------------------------------------
expect_error unknown-option "usage: pxtsgw" -x
expect_error long-option "usage: pxtsgw" --help
expect_error missing-argument "usage: pxtsgw" -t -c
expect_error operand "unexpected argument 'extra'" -t extra

# --- start from /, -o options only, WSDL built in, SIGTERM -> exit 0 ------
read -r http_port sip_port ps_port <<<"$(free_port 3)"
mkdir -p "$RUN_DIR/store"
log=$RUN_DIR/start.log
(cd / && exec "$BIN" -o http.listen="127.0.0.1:$http_port" -o sip.listen="127.0.0.1:$sip_port" \
	-o sip.presence-server="sip:127.0.0.1:$ps_port" -o sip.keepalive-s=0 \
	-o store.path="$RUN_DIR/store/pxtsgw.db") >"$log" 2>&1 &
GW_PID=$!
url="http://127.0.0.1:$http_port"
if wait_http "$url/TerminalStatus?wsdl"; then
	ok "start from /: /TerminalStatus?wsdl answers"
	wsdl=$(curl -s "$url/TerminalStatus?wsdl")
	assert_contains "start from /: WSDL soap:address is the URL used" \
		"<soap:address location=\"$url/TerminalStatus\"/>" "$wsdl"
	import=$(sed -n 's/.*location="\([^"]*\.wsdl\)".*/\1/p' <<<"$wsdl" | head -1)
	if [[ -n $import ]]; then
		code=$(curl -s -o "$RUN_DIR/import.wsdl" -w '%{http_code}' "$url/$import")
		assert_eq "start from /: the imported $import is served" 200 "$code"
		assert_contains "start from /: it is a WSDL" "wsdl:definitions" "$(cat "$RUN_DIR/import.wsdl")"
	else
		fail "start from /: WSDL imports" "no wsdl:import location in the service WSDL"
	fi
	code=$(curl -s -o /dev/null -w '%{http_code}' "$url/TerminalStatusNotificationManager?wsdl")
	assert_eq "start from /: /TerminalStatusNotificationManager?wsdl" 200 "$code"
	if [[ -f $RUN_DIR/store/pxtsgw.db ]]; then ok "start from /: store created at store.path"
	else fail "start from /: store" "no $RUN_DIR/store/pxtsgw.db"; fi
else
	fail "start from /: /TerminalStatus?wsdl answers" "$(_short "$(tail -5 "$log")")"
fi
kill -TERM "$GW_PID" 2>/dev/null
if wait_until 30 eval "! pid_alive $GW_PID"; then
	wait "$GW_PID"
	assert_eq "SIGTERM: exit 0" 0 "$?"
else
	fail "SIGTERM: exit 0" "still running 8 s after SIGTERM"
	kill -KILL "$GW_PID" 2>/dev/null
	wait "$GW_PID" 2>/dev/null
fi
GW_PID=
assert_contains "SIGTERM: logged 'pxtsgw stopped'" "pxtsgw stopped" "$(cat "$log")"
assert_not_contains "start from /: no sanitizer report" "Sanitizer" "$(cat "$log")"

# --- SIGHUP reloads (test_reload.sh has the rest); SIGINT still stops ---------
read -r http_port sip_port <<<"$(free_port 2)"
log=$RUN_DIR/hup.log
"$BIN" -o http.listen="127.0.0.1:$http_port" -o sip.listen="127.0.0.1:$sip_port" \
	-o sip.presence-server="sip:127.0.0.1:$ps_port" -o sip.keepalive-s=0 \
	-o store.path="$RUN_DIR/store/hup.db" >"$log" 2>&1 &
GW_PID=$!
if wait_http "http://127.0.0.1:$http_port/TerminalStatus?wsdl"; then
	kill -HUP "$GW_PID" 2>/dev/null
	if wait_until 30 grep -q "reload: done" "$log" && pid_alive "$GW_PID"; then
		ok "SIGHUP: reloaded, still running"
	else
		fail "SIGHUP: reloaded, still running" "$(_short "$(tail -5 "$log")")"
	fi
	kill -INT "$GW_PID" 2>/dev/null
	if wait_until 30 eval "! pid_alive $GW_PID"; then
		wait "$GW_PID"
		assert_eq "SIGINT after a reload: graceful stop, exit 0" 0 "$?"
		assert_contains "SIGINT: logged 'pxtsgw stopped'" "pxtsgw stopped" "$(cat "$log")"
	else
		fail "SIGINT: exit 0" "still running 8 s after SIGINT"
		kill -KILL "$GW_PID" 2>/dev/null
		wait "$GW_PID" 2>/dev/null
	fi
else
	fail "SIGHUP: gateway starts" "$(_short "$(tail -5 "$log")")"
fi
GW_PID=

# --- a store in a directory that does not exist -> exit 1 ---------------
read -r http_port sip_port <<<"$(free_port 2)"
store="$RUN_DIR/no/such/dir/pxtsgw.db"
run_cmd store-missing timeout 10 "$BIN" -o http.listen="127.0.0.1:$http_port" \
	-o sip.listen="127.0.0.1:$sip_port" -o sip.presence-server="sip:127.0.0.1:$ps_port" \
	-o store.path="$store"
assert_eq "store in a missing directory: exit 1" 1 "$RC"
assert_contains "store in a missing directory: message names the store" "store: cannot open $store" \
	"$(cat "$RUN_DIR/store-missing.err")"
no_sanitizer store-missing

# --- run.user: started as root, the gateway switches user after binding ----
# (the suite runs as root in CI; started by another user it must refuse)
expect_error run-user-unknown "invalid value 'no-such-user-pxtsgw' for key 'run.user': no such user" \
	-t -o run.user=no-such-user-pxtsgw
read -r http_port sip_port <<<"$(free_port 2)"
mkdir -p "$RUN_DIR/runuser"
log=$RUN_DIR/runuser.log
"$BIN" -o http.listen="127.0.0.1:$http_port" -o sip.listen="127.0.0.1:$sip_port" \
	-o sip.presence-server="sip:127.0.0.1:$ps_port" -o sip.keepalive-s=0 -o run.user=nobody \
	-o store.path="$RUN_DIR/runuser/pxtsgw.db" >"$log" 2>&1 &
GW_PID=$!
nobody_uid=$(id -u nobody)
if (($(id -u) == 0)); then
	if wait_http "http://127.0.0.1:$http_port/health"; then
		assert_eq "run.user=nobody: real, effective, saved and fs uid are nobody's" \
			"$nobody_uid $nobody_uid $nobody_uid $nobody_uid" "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$GW_PID/status")"
		assert_eq "run.user=nobody: so are the gids" \
			"$(id -g nobody) $(id -g nobody) $(id -g nobody) $(id -g nobody)" "$(awk '$1 == "Gid:" { print $2, $3, $4, $5 }' "/proc/$GW_PID/status")"
		assert_eq "run.user=nobody: the store is handed to nobody" "$nobody_uid" "$(stat -c %u "$RUN_DIR/runuser/pxtsgw.db")"
		assert_contains "run.user=nobody: logged" "running as user nobody (uid $nobody_uid" "$(cat "$log")"
		code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/notifications")
		assert_eq "run.user=nobody: still serving, and reading its store" 200 "$code"
	else
		fail "run.user=nobody: the gateway starts as root and switches" "$(_short "$(tail -5 "$log")")"
	fi
	kill -TERM "$GW_PID" 2>/dev/null
	if wait_until 30 eval "! pid_alive $GW_PID"; then
		wait "$GW_PID"
		assert_eq "run.user=nobody: SIGTERM, exit 0" 0 "$?"
	else
		fail "run.user=nobody: SIGTERM, exit 0" "still running"
		kill -KILL "$GW_PID" 2>/dev/null
	fi
else
	wait_until 30 eval "! pid_alive $GW_PID"
	wait "$GW_PID"
	assert_eq "run.user set, not started as root: exit 1" 1 "$?"
	assert_contains "run.user set, not started as root: says why" "must be started as root" "$(cat "$log")"
fi
GW_PID=
assert_not_contains "run.user=nobody: no sanitizer report" "Sanitizer" "$(cat "$log")"

# --- the man page and the reference configuration cannot drift ------------
# deploy/pxtsgw.conf: "# key = default"; deploy/pxtsgw.8: .BR key " = default"
sed -nE 's/^# ([a-z]+\.[a-z0-9.-]+) =[[:space:]]?(.*)$/\1 = \2/p' "$CONF" | sort >"$RUN_DIR/keys.conf"
sed 's/\\-/-/g' "$MAN" | sed -nE 's/^\.BR ([a-z]+\.[a-z0-9.-]+) " =[[:space:]]?(.*)"$/\1 = \2/p' | sort >"$RUN_DIR/keys.man"
n_conf=$(wc -l <"$RUN_DIR/keys.conf")
n_man=$(wc -l <"$RUN_DIR/keys.man")
if ((n_conf >= 30)); then ok "drift: $n_conf keys read from deploy/pxtsgw.conf"; else
	fail "drift: keys read from deploy/pxtsgw.conf" "only $n_conf"; fi
only_conf=$(comm -23 <(cut -d' ' -f1 "$RUN_DIR/keys.conf") <(cut -d' ' -f1 "$RUN_DIR/keys.man") | tr '\n' ' ')
only_man=$(comm -13 <(cut -d' ' -f1 "$RUN_DIR/keys.conf") <(cut -d' ' -f1 "$RUN_DIR/keys.man") | tr '\n' ' ')
assert_eq "drift: every key of deploy/pxtsgw.conf is in deploy/pxtsgw.8" "" "$only_conf"
assert_eq "drift: every key of deploy/pxtsgw.8 is in deploy/pxtsgw.conf" "" "$only_man"
assert_eq "drift: no key twice in deploy/pxtsgw.8" "$(sort -u "$RUN_DIR/keys.man" | wc -l)" "$n_man"
diff_defaults=$(diff "$RUN_DIR/keys.conf" "$RUN_DIR/keys.man" | grep '^[<>]' | tr '\n' ' ')
assert_eq "drift: deploy/pxtsgw.8 gives the defaults of deploy/pxtsgw.conf" "" "$diff_defaults"
# every option of the usage is documented under OPTIONS
usage_opts=$(sed -n '1s/^usage: pxtsgw //p' "$RUN_DIR/help.out" | grep -oE '\-[A-Za-z]' | tr -d '-' | tr '\n' ' ')
missing=
for o in $usage_opts; do
	grep -qE "^\.BI? \\\\-$o( |\$)" "$MAN" || missing+="-$o "
done
assert_eq "drift: every option of the usage ($usage_opts) is in deploy/pxtsgw.8" "" "$missing"
# groff comes with tools/deps.sh (groff-base): no render, no pass
warn=$(groff -man -Tutf8 -ww -z "$MAN" 2>&1)
assert_eq "deploy/pxtsgw.8 renders without warnings (groff exit $?)" "" "$warn"

if summary; then
	((KEEP_RUN_DIR)) || rm -rf "$RUN_DIR"
	exit 0
fi
echo "logs: $RUN_DIR"
exit 1
