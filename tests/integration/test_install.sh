#!/bin/bash
# time-limit: 120
# shellcheck source-path=SCRIPTDIR
#
# test_install.sh - `make install` into a staging directory, as a packager
# and the README's new user run it (no presence server needed):
#
#   make install DESTDIR="$(mktemp -d)" PREFIX=/usr installs exactly the
#   binary (usr/bin, 755, the same bytes as bin/pxtsgw), the man page
#   (usr/share/man/man8), the systemd unit where packaged units go
#   (usr/lib/systemd/system: nothing under etc/systemd, which is the
#   administrator's) and the reference configuration (etc/pxtsgw), each 644;
#   the unit runs /usr/bin/pxtsgw -c /etc/pxtsgw/pxtsgw.conf, checks it with
#   -t first and keeps ExecReload (SIGHUP); nothing in it says /usr/local.
#   A second install keeps a configuration the administrator changed.
#   With the default PREFIX the unit goes to usr/local/lib/systemd/system and
#   runs /usr/local/bin/pxtsgw.
#   The installed binary, with the installed configuration and a users file,
#   starts and serves: /health 200, /metrics 401 without credentials and 200
#   for the admin, and stops on SIGTERM with exit 0.
#
#   tests/integration/test_install.sh       (TEST_LOG_DIR keeps the logs)
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/common.sh
. "$here/../lib/common.sh"
run_dir install

GW_PID=
cleanup() {
	[[ -n $GW_PID ]] && stop_pid "$GW_PID" 5 >/dev/null 2>&1
	return 0
}
trap cleanup EXIT

# make_install NAME ARGS...: make install ARGS... from the repository, as a
# user types it (no make of the caller around it)
make_install() {
	local name=$1
	shift
	run_cmd "$name" env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s install "$@"
	assert_eq "$name: make install $*: exit 0" 0 "$RC"
}

# --- PREFIX=/usr ----------------------------------------------------------
D=$RUN_DIR/root-usr
mkdir -p "$D"
make_install usr DESTDIR="$D" PREFIX=/usr
files=$(cd "$D" && find . \( -type f -o -type l \) -printf '%m %P\n' | sort)
assert_eq "PREFIX=/usr: exactly these files, these modes" \
	"644 etc/pxtsgw/pxtsgw.conf
644 usr/lib/systemd/system/pxtsgw.service
644 usr/share/man/man8/pxtsgw.8
755 usr/bin/pxtsgw" "$files"
if [[ -e $D/etc/systemd ]]; then
	fail "PREFIX=/usr: nothing under etc/systemd" "$(cd "$D" && find etc/systemd | tr '\n' ' ')"
else
	ok "PREFIX=/usr: nothing under etc/systemd (the administrator's)"
fi
# same_file NAME A B: A and B have the same bytes
same_file() {
	if cmp -s "$2" "$3"; then ok "$1"; else fail "$1" "$2 and $3 differ"; fi
}
same_file "the installed binary is bin/pxtsgw" "$D/usr/bin/pxtsgw" "$REPO_ROOT/bin/pxtsgw"
same_file "the installed man page is deploy/pxtsgw.8" "$D/usr/share/man/man8/pxtsgw.8" "$REPO_ROOT/deploy/pxtsgw.8"
same_file "the installed configuration is deploy/pxtsgw.conf" "$D/etc/pxtsgw/pxtsgw.conf" "$REPO_ROOT/deploy/pxtsgw.conf"

unit=$D/usr/lib/systemd/system/pxtsgw.service
assert_eq "unit: ExecStartPre, ExecStart, ExecReload" \
	"ExecStartPre=/usr/bin/pxtsgw -c /etc/pxtsgw/pxtsgw.conf -t
ExecStart=/usr/bin/pxtsgw -c /etc/pxtsgw/pxtsgw.conf
ExecReload=/bin/kill -HUP \$MAINPID" "$(grep -E '^Exec(StartPre|Start|Reload)=' "$unit")"
assert_eq "unit: no /usr/local left in its settings" "" "$(grep -v '^#' "$unit" | grep -n /usr/local)"
assert_eq "unit: the other lines are deploy/pxtsgw.service's" "" \
	"$(diff <(grep -v '/usr/local/bin/pxtsgw' "$REPO_ROOT/deploy/pxtsgw.service") <(grep -v '/usr/bin/pxtsgw' "$unit"))"

run_cmd installed-V "$D/usr/bin/pxtsgw" -V
assert_eq "installed binary: -V" "0 pxtsgw $(sed -n 's/^VERSION[[:space:]]*:=[[:space:]]*//p' "$REPO_ROOT/Makefile")" "$RC $OUT"
run_cmd installed-t "$D/usr/bin/pxtsgw" -t -c "$D/etc/pxtsgw/pxtsgw.conf"
assert_eq "installed binary: -t -c the installed configuration" "0 configuration OK" "$RC $OUT"

# a second install keeps the administrator's configuration
echo "log.level = debug" >>"$D/etc/pxtsgw/pxtsgw.conf"
make_install usr-again DESTDIR="$D" PREFIX=/usr
assert_eq "a second install keeps a changed configuration" "log.level = debug" "$(tail -1 "$D/etc/pxtsgw/pxtsgw.conf")"

# --- the default PREFIX ------------------------------------------------------
L=$RUN_DIR/root-default
mkdir -p "$L"
make_install default DESTDIR="$L"
assert_eq "default PREFIX: the unit in usr/local/lib/systemd/system" \
	"etc/pxtsgw/pxtsgw.conf usr/local/bin/pxtsgw usr/local/lib/systemd/system/pxtsgw.service usr/local/share/man/man8/pxtsgw.8" \
	"$(cd "$L" && find . -type f -printf '%P\n' | sort | tr '\n' ' ' | sed 's/ $//')"
assert_eq "default PREFIX: the unit runs /usr/local/bin/pxtsgw" \
	"ExecStart=/usr/local/bin/pxtsgw -c /etc/pxtsgw/pxtsgw.conf" \
	"$(grep '^ExecStart=' "$L/usr/local/lib/systemd/system/pxtsgw.service")"

# --- the installed binary, the installed configuration and a users file -----
users=$RUN_DIR/users
{
	echo "app1:$(openssl passwd -6 -salt s4ltinst 'pw-app1')"
	echo "ops:$(openssl passwd -6 -salt s4ltops2 'pw-ops'):admin"
} >"$users"
read -r http_port sip_port ps_port <<<"$(free_port 3)"
log=$RUN_DIR/installed.log
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$D/usr/bin/pxtsgw" -c "$D/etc/pxtsgw/pxtsgw.conf" \
	-o http.listen="127.0.0.1:$http_port" -o sip.listen="127.0.0.1:$sip_port" \
	-o sip.presence-server="sip:127.0.0.1:$ps_port" -o sip.keepalive-s=0 \
	-o store.path="$RUN_DIR/installed.db" -o auth.users-file="$users" >"$log" 2>&1 &
GW_PID=$!
url=http://127.0.0.1:$http_port
if wait_http "$url/health"; then
	ok "installed: starts with the installed configuration and a users file; /health 200"
	assert_eq "installed: /metrics without credentials" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$url/metrics")"
	assert_eq "installed: /metrics as the admin" 200 "$(curl -s -o /dev/null -w '%{http_code}' -u ops:pw-ops "$url/metrics")"
else
	fail "installed: starts, /health 200" "$(_short "$(tail -5 "$log")")"
fi
kill -TERM "$GW_PID" 2>/dev/null
if wait_until 30 eval "! pid_alive $GW_PID"; then
	wait "$GW_PID"
	assert_eq "installed: SIGTERM, exit 0" 0 "$?"
else
	fail "installed: SIGTERM, exit 0" "still running after 10 s"
fi
GW_PID=

summary
