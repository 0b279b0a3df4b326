#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# time-limit: 180
#
# test_groups.sh - getStatusForGroup's group policies over HTTP (contract
# sections 5, 6, 8): a throw-away Kamailio presence server with seven
# published terminals, pxtsgw with the group file tests/data/groups/
# grp-policy.grp, and one gateway per policy setting:
#
#   1. policy.max-group-targets=3, policy.process-up-to-limit=false:
#      POL0003 for a group of five, four plain addresses, a nested group
#      expanding to four; SVC0006 (empty group, group of an empty group)
#      comes first; nothing is fetched for a fault; exactly three targets
#      (after removing duplicates) are answered.
#   2. policy.max-group-targets=3, policy.process-up-to-limit=true: the
#      targets beyond the third, in expansion order, are NotRetrieved (and
#      not fetched), a nested group expanded depth-first, an invalid address
#      inside the limit is an Error entry and one beyond it NotRetrieved;
#      SVC0006 for a group with no member.
#   3. policy.nested-groups=false: POL0007 for a group holding a group;
#      flat groups still answered; SVC0006 for an empty group.
#   4. policy.group-support=false: POL0006 for any group URI (in
#      getStatusForGroup and getStatus); plain addresses still answered.
#
# Every answer is compared whole: the SOAP envelope is parsed with
# xml.etree (/usr/bin/python3) into one line per element (path = text,
# attributes too, faultcode resolved to its namespace), and the lines must
# equal the expected ones exactly: HTTP status, faultcode, faultstring, the
# detail element and its namespace, messageId, text (the template of
# section 6) and every variable, in order; for answers every entry's
# address, reportStatus and currentStatus or errorInformation, in order.
# /metrics must show exactly the fetches made.
#
# Usage: tests/integration/test_groups.sh
#   TEST_LOG_DIR=/abs/dir  logs there (emptied first); default: a temp dir,
#                          removed on success
#   PXTSGW_BIN=...         gateway binary (default: build/asan/pxtsgw if built)
# Prints "N passed, M failed"; exit status 1 if anything failed.

set -u
# shellcheck source=../lib/kamailio.sh
. "$(dirname "$0")/../lib/kamailio.sh"
# shellcheck source=../lib/gateway.sh
. "$(dirname "$0")/../lib/gateway.sh"

GROUPS_FILE="$TESTS_DIR/data/groups/grp-policy.grp"

if [[ -n "${TEST_LOG_DIR:-}" ]]; then     # tests/run-all.sh
	RUN_DIR=$TEST_LOG_DIR
	KEEP_RUN_DIR=1
else
	RUN_DIR=$(mktemp -d /tmp/pxts-groups.XXXXXX) || { echo "mktemp failed" >&2; exit 1; }
	KEEP_RUN_DIR=0
fi
[[ $RUN_DIR == /* ]] || RUN_DIR="$PWD/$RUN_DIR"
case $RUN_DIR in
/ | /tmp | /tmp/ | "$HOME" | "$REPO_ROOT") echo "refusing RUN_DIR=$RUN_DIR" >&2; exit 1 ;;
esac
# an empty run directory: nothing from an earlier run
rm -rf -- "$RUN_DIR"
mkdir -p -- "$RUN_DIR" || { echo "cannot create $RUN_DIR" >&2; exit 1; }
RUN_DIR=$(cd "$RUN_DIR" && pwd)

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	gateway_stop >/dev/null 2>&1
	kamailio_stop
	if ((KEEP_RUN_DIR == 0 && TESTS_FAILED == 0)); then
		rm -rf -- "$RUN_DIR"
	elif ((TESTS_FAILED > 0)); then
		echo "logs kept in $RUN_DIR"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the contract's fault table (section 6), written out -------------------
declare -A TEXT=(
	[SVC0002]='Invalid input value for message part %1'
	[SVC0004]='No valid addresses provided in message part %1'
	[SVC0006]='Group %1 in message part %2 is not a valid group'
	[POL0003]='Too many addresses specified in message part %1'
	[POL0006]='Group specified in message part %1 not allowed'
	[POL0007]='Nested groups specified in message part %1 not allowed'
)

# --- requests and answers ---------------------------------------------------

# gsfg ADDRESS...: a getStatusForGroup request
gsfg() {
	local a body
	body='<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/v2_3/local">
  <soapenv:Header/>
  <soapenv:Body>
    <loc:getStatusForGroup>'
	for a in "$@"; do
		body+="
      <loc:addresses>$a</loc:addresses>"
	done
	body+='
    </loc:getStatusForGroup>
  </soapenv:Body>
</soapenv:Envelope>'
	printf '%s' "$body"
}

# gs ADDRESS: a getStatus request
gs() {
	printf '%s' '<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/v2_3/local">
  <soapenv:Header/>
  <soapenv:Body>
    <loc:getStatus><loc:address>'"$1"'</loc:address></loc:getStatus>
  </soapenv:Body>
</soapenv:Envelope>'
}

post() { soap_post "$@"; }   # tests/lib/gateway.sh

# The answer as lines: "HTTP <code>", "root <element>", then one line per
# element below the root, "path=text" for a leaf (path of prefixed names,
# "[n]" for repeated siblings), "path@attr=value" per attribute, and
# "#text"/"#tail" lines for text beside child elements. Namespaces are shown
# by fixed aliases (env, pxc, tsl), others in full; an unqualified element
# has no prefix. faultcode's QName is resolved the same way.
read -r -d '' DUMP_PY <<'EOF'
import io, sys
import xml.etree.ElementTree as ET

ALIAS = {
    "http://schemas.xmlsoap.org/soap/envelope/": "env",
    "http://www.csapi.org/schema/parlayx/common/v2_1": "pxc",
    "http://www.csapi.org/schema/parlayx/terminal_status/v2_3/local": "tsl",
}
data = sys.stdin.buffer.read()
print("HTTP " + sys.argv[1])
prefixes = {}
try:
    for _, (prefix, uri) in ET.iterparse(io.BytesIO(data), events=("start-ns",)):
        prefixes.setdefault(prefix, uri)
    root = ET.fromstring(data)
except ET.ParseError as e:
    print("not XML: %s: %r" % (e, data[:200]))
    sys.exit(0)


def uri_name(uri, local):
    return "%s:%s" % (ALIAS.get(uri, "{%s}" % uri), local)


def name(tag):
    if tag.startswith("{"):
        uri, local = tag[1:].split("}", 1)
        return uri_name(uri, local)
    return tag


def qname(value):
    value = value.strip()
    prefix, sep, local = value.rpartition(":")
    if sep and prefix in prefixes:
        return uri_name(prefixes[prefix], local)
    return "unresolved " + value


def walk(el, path):
    for a, v in sorted(el.attrib.items()):
        print("%s@%s=%s" % (path, name(a), v))
    kids = list(el)
    if not kids:
        text = el.text or ""
        if el.tag == "faultcode":
            text = qname(text)
        print("%s=%s" % (path, text))
        return
    if el.text and el.text.strip():
        print("%s#text=%s" % (path, el.text.strip()))
    seen = {}
    for k in kids:
        n = name(k.tag)
        total = sum(1 for x in kids if x.tag == k.tag)
        seen[n] = seen.get(n, 0) + 1
        p = (path + "/" if path else "") + n + ("[%d]" % seen[n] if total > 1 else "")
        walk(k, p)
        if k.tail and k.tail.strip():
            print(p + "#tail=" + k.tail.strip())


print("root " + name(root.tag))
walk(root, "")
EOF

dump() { printf '%s' "$BODY" | "$PY" -c "$DUMP_PY" "$HTTP_CODE"; }

# fill TEMPLATE VAR...: the template with %1, %2... replaced
fill() {
	local t=$1 i=1 v
	shift
	for v in "$@"; do
		t=${t//%$i/$v}
		i=$((i + 1))
	done
	printf '%s' "$t"
}

# fault_lines ID VAR...: the lines of a SOAP 1.1 fault with ID (section 6:
# faultcode Client for SVC0002-6, else Server; detail ServiceException for
# SVCxxxx, PolicyException for POLxxxx, common namespace; unqualified
# messageId, text, variables)
fault_lines() {
	local id=$1 code=Server exc=PolicyException i=1 v d
	shift
	[[ $id == SVC* ]] && exc=ServiceException
	[[ $id =~ ^SVC000[2-6]$ ]] && code=Client
	d="env:Body/env:Fault/detail/pxc:$exc"
	printf '%s\n' "HTTP 500" "root env:Envelope" "env:Header=" \
		"env:Body/env:Fault/faultcode=env:$code" \
		"env:Body/env:Fault/faultstring=$(fill "${TEXT[$id]}" "$@")" \
		"$d/messageId=$id" "$d/text=${TEXT[$id]}"
	for v in "$@"; do
		if (($# > 1)); then
			printf '%s\n' "$d/variables[$i]=$v"
		else
			printf '%s\n' "$d/variables=$v"
		fi
		i=$((i + 1))
	done
}

# answer_lines ENTRY...: the lines of a getStatusForGroupResponse; each
# ENTRY is "ADDRESS|Retrieved|STATUS", "ADDRESS|NotRetrieved" or
# "ADDRESS|Error|ID|VAR..."
answer_lines() {
	local n=$# i=0 e p addr kind rest id
	local -a f
	printf '%s\n' "HTTP 200" "root env:Envelope" "env:Header="
	for e in "$@"; do
		i=$((i + 1))
		p="env:Body/tsl:getStatusForGroupResponse/tsl:result"
		((n > 1)) && p+="[$i]"
		IFS='|' read -r -a f <<<"$e"
		addr=${f[0]} kind=${f[1]}
		printf '%s\n' "$p/address=$addr" "$p/reportStatus=$kind"
		case $kind in
		Retrieved) printf '%s\n' "$p/currentStatus=${f[2]}" ;;
		NotRetrieved) ;;
		Error)
			id=${f[2]}
			rest=("${f[@]:3}")
			printf '%s\n' "$p/errorInformation/messageId=$id" "$p/errorInformation/text=${TEXT[$id]}"
			if ((${#rest[@]} > 1)); then
				local j=0 v
				for v in "${rest[@]}"; do
					j=$((j + 1))
					printf '%s\n' "$p/errorInformation/variables[$j]=$v"
				done
			else
				printf '%s\n' "$p/errorInformation/variables=${rest[0]}"
			fi ;;
		*) echo "answer_lines: bad entry '$e'" >&2 ;;
		esac
	done
}

# check NAME EXPECTED_LINES: the last answer, dumped, equals EXPECTED_LINES
check() {
	local name=$1 want=$2 got
	got=$(dump)
	want=${want%$'\n'}
	if [[ "$got" == "$want" ]]; then
		ok "$name"
	else
		fail "$name" "answer differs (- expected, + got):"
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | sed -n '2,40p' | sed 's/^/    /'
	fi
}

# expect_fault NAME ID VAR... -- ADDRESS...: getStatusForGroup(ADDRESS...)
# answers exactly the fault ID(VAR...)
expect_fault() {
	local name=$1 id=$2
	shift 2
	local -a vars=()
	while (($#)) && [[ $1 != -- ]]; do vars+=("$1"); shift; done
	shift
	post TerminalStatus "$(gsfg "$@")"
	check "$name: $id" "$(fault_lines "$id" "${vars[@]}")"
}

# expect_answer NAME ADDRESSES ENTRY...: ADDRESSES (space-separated) give
# exactly these entries, in this order
expect_answer() {
	local name=$1 addrs=$2
	shift 2
	# shellcheck disable=SC2086  # the addresses hold no blanks
	post TerminalStatus "$(gsfg $addrs)"
	check "$name" "$(answer_lines "$@")"
}

# gw_metric NAME: the value of the gateway's metric line NAME (exact, labels
# included), read from /metrics now
gw_metric() {
	metric "$(curl -s --max-time 10 "$GW_URL/metrics")" "$1"
}

# expect_fetches NAME OK: /metrics counts exactly OK fetches, all ok
expect_fetches() {
	local got
	got="ok=$(gw_metric 'pxtsgw_fetches_total{result="ok"}') timeout=$(gw_metric 'pxtsgw_fetches_total{result="timeout"}') failed=$(gw_metric 'pxtsgw_fetches_total{result="failed"}')"
	assert_eq "$1" "ok=$2 timeout=0 failed=0" "$got"
}

# expect_requests NAME OK FAULT: /metrics counts these SOAP requests
expect_requests() {
	local got
	got="ok=$(gw_metric 'pxtsgw_soap_requests_total{outcome="ok"}') fault=$(gw_metric 'pxtsgw_soap_requests_total{outcome="fault"}')"
	assert_eq "$1" "ok=$2 fault=$3" "$got"
}

# start_gw NAME OPTION...: a gateway with the group file and OPTIONs
start_gw() {
	local name=$1
	shift
	if ! gateway_start "$RUN_DIR/$name" "$KP" -o group.file="$GROUPS_FILE" "$@"; then
		fail "gateway $name starts" "see $RUN_DIR/$name"
		summary
		exit 1
	fi
	ok "gateway $name starts ($*)"
}

# stop_gw NAME: SIGTERM to the gateway; exit 0 and no sanitizer report
stop_gw() {
	local rc
	gateway_stop
	rc=$?
	assert_eq "gateway $1 exits 0 on SIGTERM" 0 "$rc"
	if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error" "$GW_LOG"; then
		fail "gateway $1: no sanitizer report" "see $GW_LOG"
	else
		ok "gateway $1: no sanitizer report"
	fi
}

# --- presence -----------------------------------------------------------------
KP=$(free_port) || { fail "a free port for Kamailio" "free_port failed"; summary; exit 1; }
kamailio_start "$RUN_DIR/kam" "$KP" || { fail "kamailio starts" "see $RUN_DIR/kam"; summary; exit 1; }
ok "kamailio starts"

# pub USER ARGS...: publish sip:USER@example.com
pub() {
	local who="sip:$1@example.com"
	shift
	if "$PY" "$SIP_PUBLISH" --server "127.0.0.1:$KP" "$@" "$who" >/dev/null 2>>"$RUN_DIR/publish.err"; then
		ok "publish $who $*"
	else
		fail "publish $who" "$(tail -1 "$RUN_DIR/publish.err")"
	fi
}
pub m1 --basic open --activity on-the-phone
pub m2 --basic open
pub m3 --basic closed
pub m4 --basic open
pub m5 --basic closed
pub m6 --basic open --activity busy
pub m7 --basic open

M1='sip:m1@example.com|Retrieved|Busy'
M2='sip:m2@example.com|Retrieved|Reachable'
M3='sip:m3@example.com|Retrieved|Unreachable'
M4='sip:m4@example.com|Retrieved|Reachable'
M5='sip:m5@example.com|Retrieved|Unreachable'
M6='sip:m6@example.com|Retrieved|Busy'
M7='sip:m7@example.com|Retrieved|Reachable'
m() { printf 'sip:m%s@example.com' "$1"; }
G_FIVE=sip:five@grp.example
G_INNER=sip:inner@grp.example
G_OUTER=sip:outer@grp.example
G_DUPS=sip:dups@grp.example
G_EMPTY=sip:empty@grp.example
G_OF_EMPTY=sip:of-empty@grp.example

# --- 1. over the limit, refused (POL0003) ---------------------------------------
start_gw limit-refuse -o policy.max-group-targets=3 -o policy.process-up-to-limit=false
expect_fault "refuse: a group of five" POL0003 addresses -- "$G_FIVE"
expect_fault "refuse: four plain addresses" POL0003 addresses -- "$(m 1)" "$(m 2)" "$(m 3)" "$(m 4)"
expect_fault "refuse: a nested group expanding to four" POL0003 addresses -- "$G_OUTER"
expect_fault "refuse: two addresses and a group of two, four distinct" POL0003 addresses -- "$(m 1)" "$(m 7)" "$G_INNER"
expect_fault "refuse: an empty group" SVC0006 "$G_EMPTY" addresses -- "$G_EMPTY"
expect_fault "refuse: a group of an empty group" SVC0006 "$G_OF_EMPTY" addresses -- "$(m 1)" "$G_OF_EMPTY"
expect_fetches "refuse: no presence fetch for a fault" 0
expect_requests "refuse: six faults counted" 0 6
# the limit is inclusive and counts distinct terminals after expansion
expect_answer "refuse: exactly three addresses are answered" "$(m 3) $(m 1) $(m 2)" "$M3" "$M1" "$M2"
expect_answer "refuse: five addresses, three distinct, are answered" \
	"$(m 1) $(m 1) $(m 2) $(m 3) $(m 3)" "$M1" "$M2" "$M3"
expect_answer "refuse: a group with duplicates and its member, two distinct" "$G_DUPS $(m 1) $(m 3)" "$M3" "$M1"
expect_answer "refuse: a group of two and one more, three" "$G_INNER $(m 7)" "$M6" "$M2" "$M7"
expect_fetches "refuse: one fetch per answered terminal" 11
expect_requests "refuse: four answers, six faults" 4 6
stop_gw limit-refuse

# --- 2. over the limit, the rest NotRetrieved ---------------------------------
start_gw up-to-limit -o policy.max-group-targets=3 -o policy.process-up-to-limit=true
expect_answer "up-to-limit: a group of five, the last two NotRetrieved" "$G_FIVE" \
	"$M1" "$M2" "$M3" "$(m 4)|NotRetrieved" "$(m 5)|NotRetrieved"
expect_fetches "up-to-limit: the NotRetrieved ones are not fetched" 3
expect_answer "up-to-limit: nested, depth-first, the fourth NotRetrieved" "$(m 7) $G_OUTER" \
	"$M7" "$M1" "$M6" "$(m 2)|NotRetrieved"
expect_answer "up-to-limit: group and addresses, duplicates dropped first" \
	"$(m 5) $G_DUPS $(m 5) $(m 3) $(m 6) $(m 7)" \
	"$M5" "$M3" "$M1" "$(m 6)|NotRetrieved" "$(m 7)|NotRetrieved"
expect_answer "up-to-limit: an invalid address inside the limit is an Error" \
	"mailto:x@example.com $G_FIVE" \
	"mailto:x@example.com|Error|SVC0002|addresses" "$M1" "$M2" \
	"$(m 3)|NotRetrieved" "$(m 4)|NotRetrieved" "$(m 5)|NotRetrieved"
expect_answer "up-to-limit: an invalid address beyond the limit is NotRetrieved" \
	"$(m 4) $(m 6) $(m 2) mailto:x@example.com" \
	"$M4" "$M6" "$M2" "mailto:x@example.com|NotRetrieved"
expect_answer "up-to-limit: exactly at the limit, nothing NotRetrieved" "$G_INNER $(m 5)" "$M6" "$M2" "$M5"
expect_fetches "up-to-limit: one fetch per terminal inside the limit" 17
expect_fault "up-to-limit: an empty group" SVC0006 "$G_EMPTY" addresses -- "$G_EMPTY"
expect_fault "up-to-limit: an empty group beside a group of five" SVC0006 "$G_EMPTY" addresses -- "$G_FIVE" "$G_EMPTY"
expect_fault "up-to-limit: a group of an empty group" SVC0006 "$G_OF_EMPTY" addresses -- "$G_OF_EMPTY"
expect_fetches "up-to-limit: no fetch for SVC0006" 17
expect_requests "up-to-limit: six answers, three faults" 6 3
stop_gw up-to-limit

# --- 3. nested groups refused (POL0007) ------------------------------------------
start_gw no-nesting -o policy.nested-groups=false
expect_fault "no-nesting: a group holding a group" POL0007 addresses -- "$G_OUTER"
expect_fault "no-nesting: an address and a group holding a group" POL0007 addresses -- "$(m 1)" "$G_OUTER"
expect_fault "no-nesting: a flat group and a group holding a group" POL0007 addresses -- "$G_FIVE" "$G_OUTER"
expect_fault "no-nesting: a group holding only an empty group" POL0007 addresses -- "$G_OF_EMPTY"
expect_fault "no-nesting: an empty group" SVC0006 "$G_EMPTY" addresses -- "$G_EMPTY"
expect_fetches "no-nesting: no fetch for a fault" 0
expect_answer "no-nesting: a flat group is answered" "$G_FIVE" "$M1" "$M2" "$M3" "$M4" "$M5"
expect_answer "no-nesting: the group inside is itself flat" "$G_INNER $G_DUPS" "$M6" "$M2" "$M3" "$M1"
expect_fetches "no-nesting: one fetch per terminal" 9
expect_requests "no-nesting: two answers, five faults" 2 5
stop_gw no-nesting

# --- 4. groups refused (POL0006) ---------------------------------------------------
start_gw no-groups -o policy.group-support=false
expect_fault "no-groups: a group" POL0006 addresses -- "$G_FIVE"
expect_fault "no-groups: an address and a group" POL0006 addresses -- "$(m 1)" "$G_INNER"
expect_fault "no-groups: an address and an empty group" POL0006 addresses -- "$(m 1)" "$G_EMPTY"
expect_fault "no-groups: a group holding a group" POL0006 addresses -- "$G_OUTER"
post TerminalStatus "$(gs "$G_FIVE")"
check "no-groups: getStatus of a group: POL0006" "$(fault_lines POL0006 address)"
expect_fetches "no-groups: no fetch for a fault" 0
expect_answer "no-groups: plain addresses are answered" "$(m 2) $(m 1)" "$M2" "$M1"
expect_fetches "no-groups: one fetch per terminal" 2
expect_requests "no-groups: one answer, five faults" 1 5
stop_gw no-groups

summary
