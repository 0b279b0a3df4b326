#!/bin/bash
# time-limit: 450
#
# test_delivery.sh - callback delivery (contract sections 5, 9, 9a) for
# real, without SIP: tests/tools/dlv_drive.c (built by the Makefile with the
# modules it names in dlv_drive.mods, ASan+UBSan unless PXTSGW_FLAVOUR says
# tsan or plain) enqueues callbacks and prints the tracking records;
# tests/tools/callback_sink.py plays the application's endpoint and is told
# how to fail.
#
# Checked: order per correlator; retries (HTTP 500, SOAP Fault, closed
# connection, refused port, timeout) with the exact tracking records and
# details; lower bounds of the backoff waits; a hanging endpoint does not
# hold up another correlator (ordering of arrivals and records); keep-alive reuse and per-callback latency;
# delivery ids unique across restarts; dlv_stop bounded by the timeout.
# Part 3 (the outbox): what dlv_stop leaves is sent by the next start;
# after kill -9 mid-way every callback arrives, in order per correlator,
# with duplicates only for those in flight at the kill, exactly one
# _DeliveryResult each, attempt numbers continued; delivery.max-age-s
# expiry (live and at resume); records readable while running; the outbox
# empty at the end; retention pruning.
#
#   tests/integration/test_delivery.sh        (TEST_LOG_DIR keeps the logs)
set -u
# "cmds | drive ..." must count its ok/fail in this shell, not in a subshell
shopt -s lastpipe
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
run_dir delivery

SINK="$TESTS_DIR/tools/callback_sink.py"
DB="$RUN_DIR/dlv.db"
rm -f "$DB" "$DB-wal" "$DB-shm"
SINK_PIDS=()

cleanup() {
	local p
	for p in "${SINK_PIDS[@]}"; do stop_pid "$p" 2 >/dev/null 2>&1; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the driver -------------------------------------------------------------
# Built by the Makefile (tests/tools/dlv_drive.mods) in the flavour under
# test: PXTSGW_FLAVOUR asan (default, ASan+UBSan), tsan or plain.
FLAVOUR=${PXTSGW_FLAVOUR:-asan}
DRIVE="$REPO_ROOT/build/$FLAVOUR/tools/dlv_drive"
if ! make -s -C "$REPO_ROOT" FLAVOUR="$FLAVOUR" "build/$FLAVOUR/tools/dlv_drive" >"$RUN_DIR/build.log" 2>&1; then
	cat "$RUN_DIR/build.log"
	fail "dlv_drive builds" "see $RUN_DIR/build.log"
	summary
	exit 1
fi
if grep -q 'warning:' "$RUN_DIR/build.log"; then
	fail "dlv_drive builds without warnings" "$(grep -m3 'warning:' "$RUN_DIR/build.log")"
else
	ok "dlv_drive builds without warnings"
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1

# drive NAME [OPTIONS...] <commands: runs the driver on the shared store;
# output in $RUN_DIR/NAME.out, log in NAME.err; checks its exit status.
drive() { # NAME [OPTIONS...] (on the shared store $DB)
	drive_on "$DB" "$@"
}
drive_on() { # STORE NAME [OPTIONS...]
	local db=$1 name=$2
	shift 2
	run_cmd "$name" "$DRIVE" "$db" "$@"
	if [[ $RC -eq 0 ]] && ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|runtime error:' "$RUN_DIR/$name.err"; then
		ok "$name: driver ran clean (exit 0, no sanitizer report)"
	else
		fail "$name: driver ran clean" "exit $RC; see $RUN_DIR/$name.err: $(grep -m2 -E 'ERROR|runtime error|bad command' "$RUN_DIR/$name.err")"
	fi
}

# --- the sinks ----------------------------------------------------------------
start_sink() { # NAME [PORT] -> sets SINK_PORT
	local name=$1
	"$PY" "$SINK" --port "${2:-0}" --quiet --record "$RUN_DIR/$name.jsonl" >"$RUN_DIR/$name.port" 2>"$RUN_DIR/$name.err" &
	SINK_PIDS+=($!)
	if ! wait_until 30 test -s "$RUN_DIR/$name.port"; then
		fail "sink $name starts" "see $RUN_DIR/$name.err"
		summary
		exit 1
	fi
	SINK_PORT=$(head -1 "$RUN_DIR/$name.port")
}
start_sink sinkA
PA=$SINK_PORT
start_sink sinkB
PB=$SINK_PORT
ok "sinks listen on $PA and $PB"
UA="http://127.0.0.1:$PA/TerminalStatusNotification"
UB="http://127.0.0.1:$PB/TerminalStatusNotification"
ctl() { # PORT JSON
	curl -fsS --max-time 5 -X POST -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1:$1/control" >/dev/null ||
		fail "sink control $2" "curl failed"
}
received() { # PORT FILE
	curl -fsS --max-time 5 "http://127.0.0.1:$1/received" >"$2" || echo '[]' >"$2"
}

# --- the checks (Python: JSON in, "ok|name" or "fail|name|why" out) ---------
CHECK="$RUN_DIR/check.py"
cat >"$CHECK" <<'EOF'
import json, re, sys

def out(ok, name, why=""):
    print(("ok|%s" % name) if ok else ("fail|%s|%s" % (name, why)))

def eq(name, want, got):
    out(want == got, name, "expected %r, got %r" % (want, got))

def driver_json(path, corr):
    for line in open(path):
        if line.startswith("json %s " % corr):
            return json.loads(line.split(" ", 2)[2])
    return None

def driver_lines(path, word):
    return [l.split() for l in open(path) if l.startswith(word + " ")]

def sink(path, corr):
    return [r for r in json.load(open(path)) if r.get("correlator") == corr]

FIELDS = ["event", "correlator", "delivery", "attempt", "result", "time", "endpoint", "detail"]
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

def shape(name, recs, corr, endpoint):
    """every record has exactly the 9a fields, in that order, and sane values"""
    bad = []
    for r in recs:
        if list(r.keys()) != FIELDS: bad.append("fields %s" % list(r.keys()))
        elif r["correlator"] != corr or r["endpoint"] != endpoint: bad.append("correlator/endpoint %r" % r)
        elif not TIME.match(r["time"]): bad.append("time %r" % r["time"])
        elif r["result"] not in ("delivered", "failed"): bad.append("result %r" % r["result"])
        elif (r["result"] == "delivered") != (r["detail"] is None): bad.append("detail %r" % r)
        elif not isinstance(r["delivery"], int) or r["delivery"] <= 0: bad.append("delivery %r" % r)
    out(not bad and recs is not None, name, "; ".join(bad[:3]))

def ms(t):  # record time -> epoch ms
    import calendar, time
    return calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + int(t[20:23])

def summary_of(recs):
    """[(event suffix, attempt, result, detail)] per record"""
    return [(r["event"].split("_", 1)[1], r["attempt"], r["result"], r["detail"]) for r in recs]

def retry_case(name, outf, sinkf, corr, endpoint, op, details, backoff, cap):
    """len(details) failed attempts with these details, then delivered"""
    recs = driver_json(outf, corr)
    shape(name + ": records have the 9a fields", recs or [], corr, endpoint)
    n = len(details)
    want = [("DeliveryAttempted", i + 1, "failed", d) for i, d in enumerate(details)]
    want += [("DeliveryAttempted", n + 1, "delivered", None), ("DeliveryResult", n + 1, "delivered", None)]
    eq(name + ": tracking records", want, summary_of(recs or []))
    eq(name + ": events name the operation", {op}, {r["event"].split("_")[0] for r in recs or []})
    eq(name + ": one delivery id", 1, len({r["delivery"] for r in recs or []}))
    got = sink(sinkf, corr)
    eq(name + ": the endpoint saw every attempt", n + 1, len(got))
    # attempt k+1 started no sooner than backoff*2^(k-1) after attempt k ended:
    # the arrivals and the "attempt ended" times bound that from below
    for k in range(1, n + 1):
        wait = min(backoff * 2 ** (k - 1), cap)
        if len(got) > k:
            gap = (got[k]["time"] - got[k - 1]["time"]) * 1000
            out(gap >= wait - 0.5, "%s: arrival %d is >= %d ms after arrival %d" % (name, k + 1, wait, k),
                "%.1f ms" % gap)
        if recs and len(recs) > k:
            gap = ms(recs[k]["time"]) - ms(recs[k - 1]["time"])
            out(gap >= wait, "%s: attempt %d ended >= %d ms after attempt %d" % (name, k + 1, wait, k),
                "%d ms" % gap)

def given_up(name, outf, corr, endpoint, op, detail, attempts):
    recs = driver_json(outf, corr) or []
    shape(name + ": records have the 9a fields", recs, corr, endpoint)
    want = [("DeliveryAttempted", i + 1, "failed", detail) for i in range(attempts)]
    want.append(("DeliveryResult", attempts, "failed", detail))
    eq(name + ": tracking records", want, summary_of(recs))
    eq(name + ": events name the operation", {op}, {r["event"].split("_")[0] for r in recs})

cmd = sys.argv[1]
a = sys.argv[2:]
if cmd == "order":
    outf, sinkf, url = a
    o1 = sink(sinkf, "o1")
    want = [("statusNotification", [{"address": "sip:u%d@example.com" % i,
                                     "currentStatus": ["Busy", "Reachable", "Unreachable"][i % 3]},
                                    {"address": "tel:+1555000%d" % i, "currentStatus": "Reachable"}])
            for i in range(10)]
    eq("order: o1 statusNotifications arrive in order with their entries", want,
       [(r["operation"], r.get("entries")) for r in o1[:10]])
    last = o1[10] if len(o1) > 10 else {}
    eq("order: o1 ends with statusError(address, reason)",
       ("statusError", "sip:u9@example.com", "POL0002",
        "Privacy verification failed for address %1, request is refused", ["sip:u9@example.com"]),
       (last.get("operation"), last.get("address"), last.get("messageId"), last.get("text"), last.get("variables")))
    eq("order: o1 got 11 callbacks, all answered 200", (11, {"200"}), (len(o1), {r["answer"] for r in o1}))
    o2 = sink(sinkf, "o2")
    want = [("statusChanged", "sip:v%d@example.com" % i, ["Unreachable", "Busy"][i % 2]) for i in range(10)]
    want.append(("statusEnd", None, None))
    eq("order: o2 statusChanged in order, then statusEnd", want,
       [(r["operation"], r.get("address"), r.get("currentStatus")) for r in o2])
    enq = {}
    for w in driver_lines(outf, "enqueued"):
        enq.setdefault(w[1], []).append(int(w[2]))
    for corr, n in (("o1", 11), ("o2", 11)):
        recs = driver_json(outf, corr) or []
        shape("order: %s records have the 9a fields" % corr, recs, corr, url)
        want = []
        for d in enq.get(corr, []):
            want += [("DeliveryAttempted", d, 1, "delivered"), ("DeliveryResult", d, 1, "delivered")]
        eq("order: %s records: attempted + result per callback, in enqueue order" % corr, want,
           [(r["event"].split("_", 1)[1], r["delivery"], r["attempt"], r["result"]) for r in recs])
        eq("order: %s has %d callbacks" % (corr, n), n, len(enq.get(corr, [])))
    ops = [r["event"] for r in driver_json(outf, "o1") or []][-2:]
    eq("order: statusError records are named after it",
       ["statusError_DeliveryAttempted", "statusError_DeliveryResult"], ops)
    m = open(outf).read()
    for line in ('pxtsgw_delivery_attempts_total{operation="statusNotification",result="delivered"} 10',
                 'pxtsgw_delivery_attempts_total{operation="statusChanged",result="delivered"} 10',
                 'pxtsgw_deliveries_total{operation="statusError",result="delivered"} 1',
                 'pxtsgw_deliveries_total{operation="statusEnd",result="delivered"} 1',
                 'pxtsgw_deliveries_total{operation="statusNotification",result="failed"} 0'):
        out(line + "\n" in m, "order: metrics " + line, "missing")
    out("# TYPE pxtsgw_deliveries_total counter\n" in m and "# HELP pxtsgw_delivery_attempts_total " in m,
        "order: metrics HELP/TYPE lines", "missing")
elif cmd == "retry":
    outf, sinkf, corr, url, op, backoff, cap, label = a[:8]
    retry_case("retry " + label, outf, sinkf, corr, url, op, a[8:], int(backoff), int(cap))
elif cmd == "given_up":
    outf, corr, url, op, detail, attempts = a
    given_up("given up (%s)" % detail, outf, corr, url, op, detail, int(attempts))
elif cmd == "answers":
    sinkf, corr, want = a
    eq("sink answers for %s" % corr, want.split(","), [r["answer"] for r in sink(sinkf, corr)])
elif cmd == "peers":
    sinkf, corr, maxp = a
    peers = {r["peer"] for r in sink(sinkf, corr)}
    out(1 <= len(peers) <= int(maxp), "keep-alive: %s used <= %s connections" % (corr, maxp),
        "%d connections" % len(peers))
elif cmd == "ids":
    runs = []
    for f in a:
        runs.append([int(w[2]) for w in driver_lines(f, "enqueued")])
    allids = [i for r in runs for i in r]
    out(all(i > 0 for i in allids), "ids: every enqueue got an id", "a zero id")
    eq("ids: unique across %d restarts" % len(runs), len(allids), len(set(allids)))
    ok = all(max(runs[i]) < min(runs[i + 1]) for i in range(len(runs) - 1) if runs[i] and runs[i + 1])
    out(ok, "ids: later runs get larger ids", "not increasing across runs")
    out(max(allids) < 2 ** 53, "ids: below 2^53 (exact in JSON consumers)", str(max(allids)))
elif cmd == "stop":
    outf, corr, url = a
    recs = driver_json(outf, corr) or []
    eq("stop: the attempt in flight at stop is recorded, no result",
       [("DeliveryAttempted", 1, "failed", "timeout")], summary_of(recs))
elif cmd == "stopresumed":
    outf, corr, url = a
    recs = driver_json(outf, corr) or []
    eq("stop: the next start sends it again, attempts continued (2 delivered), one result",
       [("DeliveryAttempted", 1, "failed", "timeout"), ("DeliveryAttempted", 2, "delivered", None),
        ("DeliveryResult", 2, "delivered", None)], summary_of(recs))
    eq("stop: same delivery id across the restart", 1, len({r["delivery"] for r in recs}))
elif cmd == "outboxdb":
    # rows of the outbox table: "corr:attempts" by delivery id
    import sqlite3
    db, want = a
    con = sqlite3.connect(db)
    rows = ["%s:%d" % r for r in con.execute("SELECT correlator, attempts FROM outbox ORDER BY delivery")]
    con.close()
    out(re.fullmatch(want, " ".join(rows)) is not None, "outbox rows match %s" % want, " ".join(rows)[:300])
elif cmd == "resume":
    # runs: the .out files of the runs on the resume store; sinkf: what the
    # endpoint got; corrs; per correlator callbacks 0..n-1 (address c-i)
    sinkf, n, maxdup, corrs = a[0], int(a[1]), int(a[2]), a[3].split(",")
    outs = a[4:]
    got = json.load(open(sinkf))
    dups = 0
    for c in corrs:
        addrs = [r.get("address") for r in got if r.get("correlator") == c]
        merged = [x for i, x in enumerate(addrs) if i == 0 or addrs[i - 1] != x]
        dups += len(addrs) - len(merged)
        eq("resume: %s got every callback once, in order (repeats of one merged)" % c,
           ["sip:%s-%d@example.com" % (c, i) for i in range(n)], merged)
    print("measured|resume: %d duplicate(s) after kill -9" % dups)
    out(dups <= maxdup, "resume: duplicates (%d) only for callbacks in flight at the kill (<= %d workers)" % (dups, maxdup),
        "%d duplicates" % dups)
    ids = {}
    for k, f in enumerate(outs):
        for w in driver_lines(f, "enqueued"):
            ids.setdefault(k, []).append(int(w[2]))
    allids = [i for k in sorted(ids) for i in ids[k]]
    eq("resume: every callback got an id", len(corrs) * n, len([i for i in allids if i > 0]))
    ok = all(max(ids[k]) < min(ids[k2]) for k in ids for k2 in ids if k < k2)
    out(ok, "resume: ids of a later run are above those of the outbox", repr({k: (min(v), max(v)) for k, v in ids.items()}))
    last = outs[-1]
    bad = []
    for c in corrs:
        recs = driver_json(last, c) or []
        per = {}
        for r in recs:
            per.setdefault(r["delivery"], []).append(r)
        for d, rs in per.items():
            att = [r["attempt"] for r in rs if r["event"].endswith("_DeliveryAttempted")]
            res = [r for r in rs if r["event"].endswith("_DeliveryResult")]
            if att != list(range(1, len(att) + 1)):
                bad.append("%s %d attempts %r" % (c, d, att))
            if len(res) != 1 or res[0]["result"] != "delivered" or res[0]["attempt"] != len(att):
                bad.append("%s %d results %r" % (c, d, [(r["attempt"], r["result"]) for r in res]))
            if not rs[-1]["event"].endswith("_DeliveryResult"):
                bad.append("%s %d: the result is not last" % (c, d))
        if len(per) != n:
            bad.append("%s: %d delivery ids in the records" % (c, len(per)))
    out(not bad, "resume: per callback, attempts numbered 1..n across restarts, then exactly one delivered result",
        "; ".join(bad[:4]))
    firsts = []
    for c in corrs:
        recs = driver_json(last, c) or []
        if recs:
            d0 = recs[0]["delivery"]
            firsts.append(len([r for r in recs if r["delivery"] == d0 and r["result"] == "failed"]))
    out(firsts and min(firsts) >= 1, "resume: the first callbacks carry the failed attempts made before the stop",
        repr(firsts))
elif cmd == "before":
    # every callback of correlator B reached its sink before correlator A's
    # record (its first, or its _DeliveryResult) was written: an ordering of
    # events, not a duration, so a slow machine cannot fail it
    sinkf, cb, outf, ca, which, label = a
    arr = [r["time"] * 1000 for r in sink(sinkf, cb)]
    recs = driver_json(outf, ca) or []
    if which == "first":
        rec = recs[0] if recs else None
    else:
        res = [r for r in recs if r["event"].endswith("_DeliveryResult")]
        rec = res[-1] if res else None
    if not arr or rec is None:
        out(False, label, "%d callbacks of %s at the sink, %s record of %s: %r" % (len(arr), cb, which, ca, rec))
    else:
        end = ms(rec["time"])
        print("measured|%s: %d callbacks of %s arrived %d to %d ms before %s's %s record (%s, attempt %d)"
              % (label.split(":")[0], len(arr), cb, end - max(arr), end - min(arr), ca,
                 "first" if which == "first" else "result", rec["event"].split("_", 1)[1], rec["attempt"]))
        out(max(arr) < end, label, "the last of %s arrived %d ms after %s's record %r" % (cb, max(arr) - end, ca, rec))
elif cmd == "expired":
    outf, corr, url, minatt = a[:4]
    maxatt = int(a[4]) if len(a) > 4 else None
    recs = driver_json(outf, corr) or []
    shape("expired %s: records have the 9a fields" % corr, recs, corr, url)
    s = summary_of(recs)
    last = s[-1] if s else None
    out(last is not None and last[0] == "DeliveryResult" and last[2] == "failed"
        and re.fullmatch(r"expired after \d+ s", last[3] or "") is not None,
        "expired %s: a failed result 'expired after N s'" % corr, repr(last))
    att = [x for x in s if x[0] == "DeliveryAttempted"]
    if maxatt is None:
        out(len(att) >= int(minatt) and all(x[2] == "failed" for x in att) and last and last[1] == len(att),
            "expired %s: %s+ failed attempts before, the result counts them" % (corr, minatt), repr(s))
    else:
        out(int(minatt) <= len(att) <= maxatt and all(x[2] == "failed" for x in att) and last and last[1] == len(att),
            "expired %s: %s..%d failed attempts before (none after the age limit), the result counts them"
            % (corr, minatt, maxatt), repr(s))
EOF
check() {
	local st name msg
	while IFS='|' read -r st name msg; do
		if [[ $st == ok ]]; then ok "$name"; elif [[ $st == measured ]]; then echo "measured: $name"; else fail "$name" "$msg"; fi
	done < <("$PY" "$CHECK" "$@" 2>&1 | sed 's/^Traceback/fail|check.py crashed|Traceback/')
}
field() { # FILE WORD CORR KEY: value of KEY=... on the "WORD CORR ..." line
	awk -v w="$2" -v c="$3" -v k="$4=" '$1 == w && $2 == c { for (i = 3; i <= NF; i++) if (index($i, k) == 1) { print substr($i, length(k) + 1); exit } }' "$1"
}
elapsed() { # FILE WORD CORR: the ms column of "WORD CORR MS ..."
	awk -v w="$2" -v c="$3" '$1 == w && $2 == c { print $3; exit }' "$1"
}

# --- 1. order per correlator, every operation, records, metrics -------------
{
	for i in 0 1 2 3 4 5 6 7 8 9; do
		st=(Busy Reachable Unreachable)
		echo "notify o1 $UA sip:u$i@example.com=${st[i % 3]} tel:+1555000$i=Reachable"
		st=(Unreachable Busy)
		echo "changed o2 $UA sip:v$i@example.com=${st[i % 2]}"
	done
	echo "error o1 $UA sip:u9@example.com POL0002 sip:u9@example.com"
	echo "end o2 $UA"
	echo "wait o1"
	echo "wait o2"
	echo "json o1"
	echo "json o2"
	echo "metrics"
} | drive order workers=4 attempts=3 backoff=100 backoff_max=1000 timeout=2000
received "$PA" "$RUN_DIR/order.sink.json"
check order "$RUN_DIR/order.out" "$RUN_DIR/order.sink.json" "$UA"

# --- 2. HTTP 500 twice, then delivered on attempt 3 --------------------------
ctl "$PA" '{"mode":"ok","fail_next":2,"fail_mode":"http500"}'
printf 'notify r1 %s sip:a@example.com=Busy\nwait r1\njson r1\nhealth r1\n' "$UA" |
	drive retry500 workers=2 attempts=3 backoff=100 backoff_max=1000 timeout=2000
received "$PA" "$RUN_DIR/retry500.sink.json"
check retry "$RUN_DIR/retry500.out" "$RUN_DIR/retry500.sink.json" r1 "$UA" statusNotification 100 1000 "(HTTP 500)" "HTTP 500" "HTTP 500"
check answers "$RUN_DIR/retry500.sink.json" r1 "500,500,200"
assert_eq "retry (HTTP 500): health after recovery" "1 0 2" \
	"$(field "$RUN_DIR/retry500.out" health r1 delivered) $(field "$RUN_DIR/retry500.out" health r1 failed) $(field "$RUN_DIR/retry500.out" health r1 attempts_failed)"
assert_contains "retry (HTTP 500): warned once, on the first failure" "failed: HTTP 500 (attempt 1 of 3)" "$(cat "$RUN_DIR/retry500.err")"
assert_eq "retry (HTTP 500): no second warning for the same outage" "1" "$(grep -c 'level=warn .*msg="dlv:.*failed:' "$RUN_DIR/retry500.err")"

# --- 3. SOAP Fault twice, then delivered; statusChanged this time -------------
ctl "$PA" '{"mode":"ok","fail_next":2,"fail_mode":"fault"}'
printf 'changed f1 %s sip:a@example.com=Reachable\nwait f1\njson f1\n' "$UA" |
	drive retryfault workers=2 attempts=3 backoff=100 backoff_max=150 timeout=2000
received "$PA" "$RUN_DIR/retryfault.sink.json"
# backoff_max=150: the second wait is capped at 150 ms (not 200)
check retry "$RUN_DIR/retryfault.out" "$RUN_DIR/retryfault.sink.json" f1 "$UA" statusChanged 100 150 "(SOAP Fault)" \
	"HTTP 500: SOAP-ENV:Server Sink fault" "HTTP 500: SOAP-ENV:Server Sink fault"
check answers "$RUN_DIR/retryfault.sink.json" f1 "fault,fault,200"

# --- 4. connection closed without an answer, then delivered ---------------------
ctl "$PA" '{"mode":"ok","fail_next":1,"fail_mode":"close"}'
printf 'end c1 %s\nwait c1\njson c1\n' "$UA" | drive retryclose workers=2 attempts=3 backoff=100 timeout=2000
received "$PA" "$RUN_DIR/retryclose.sink.json"
check retry "$RUN_DIR/retryclose.out" "$RUN_DIR/retryclose.sink.json" c1 "$UA" statusEnd 100 1000 "(closed)" "connection closed"

# --- 5. refused port: failed after max attempts ----------------------------------
DOWN_PORT=$(free_port)
UDOWN="http://127.0.0.1:$DOWN_PORT/cb"
printf 'mark\nnotify d1 %s sip:a@example.com=Busy\nwait d1\njson d1\n' "$UDOWN" |
	drive refused workers=2 attempts=3 backoff=100 backoff_max=1000 timeout=1000
check given_up "$RUN_DIR/refused.out" d1 "$UDOWN" statusNotification "connection refused" 3
t=$(elapsed "$RUN_DIR/refused.out" waited d1)
if [[ -n $t ]] && ((t >= 300)); then ok "refused: 3 attempts took >= 100 + 200 ms ($t ms)"; else fail "refused: backoff lower bound" "took '$t' ms"; fi
assert_eq "refused: health" "0 1 3 connection refused" \
	"$(field "$RUN_DIR/refused.out" waited d1 delivered) $(field "$RUN_DIR/refused.out" waited d1 failed) $(field "$RUN_DIR/refused.out" waited d1 attempts_failed) $(sed -n 's/^waited d1 .*last_error=//p' "$RUN_DIR/refused.out")"
assert_contains "refused: given up is logged" "given up after 3 attempts: connection refused" "$(cat "$RUN_DIR/refused.err")"

# --- 6. a hanging endpoint (timeouts) does not hold up another correlator -------
# A's endpoint hangs (timeout 2 s, 3 attempts); B's 5 callbacks must all
# reach B's endpoint while A's first attempt is still hanging: B's last
# arrival at its sink comes before A's first tracking record (written when
# that attempt timed out). Held up by A, B would arrive after it.
ctl "$PA" '{"mode":"hang","reset":true}'
ctl "$PB" '{"mode":"ok","reset":true}'
{
	echo "notify sA $UA sip:a@example.com=Busy"
	echo "sleep 50"
	echo "mark"
	for i in 1 2 3 4 5; do echo "notify sB $UB sip:b$i@example.com=Busy"; done
	echo "wait sB"
	echo "wait sA"
	echo "json sA"
	echo "json sB"
} | drive slow workers=2 attempts=3 backoff=100 backoff_max=1000 timeout=2000
ctl "$PA" '{"mode":"ok"}'
received "$PA" "$RUN_DIR/slow.sinkA.json"
received "$PB" "$RUN_DIR/slow.sinkB.json"
tb=$(elapsed "$RUN_DIR/slow.out" waited sB)
ta=$(elapsed "$RUN_DIR/slow.out" waited sA)
echo "measured: correlator B's 5 callbacks took ${tb:-?} ms while A's endpoint hung (A finished after ${ta:-?} ms)"
check before "$RUN_DIR/slow.sinkB.json" sB "$RUN_DIR/slow.out" sA first \
	"slow: B's 5 callbacks all reached B's endpoint while A's first attempt hung (before its timeout record)"
assert_eq "slow: B delivered all" "5 0" "$(field "$RUN_DIR/slow.out" waited sB delivered) $(field "$RUN_DIR/slow.out" waited sB failed)"
# 3 x 2000 ms + 100 + 200 ms, counted from 50 ms after A was queued
if [[ -n $ta ]] && ((ta >= 6250)); then ok "slow: A took 3 timeouts + backoffs (>= 6250 ms: $ta ms)"; else fail "slow: A timing" "A took '$ta' ms"; fi
check given_up "$RUN_DIR/slow.out" sA "$UA" statusNotification "timeout" 3
check answers "$RUN_DIR/slow.sinkA.json" sA "hang>closed,hang>closed,hang>closed"

# one worker: while A waits for its retry, the worker serves B (only A's
# attempts in flight hold it: 3 x 300 ms timeouts + 100 + 200 ms backoff):
# B's 3 callbacks reach B's endpoint before A is given up (its
# _DeliveryResult record). A worker held through A's backoffs would serve B
# only after that.
ctl "$PA" '{"mode":"hang","reset":true}'
ctl "$PB" '{"mode":"ok","reset":true}'
{
	echo "notify wA $UA sip:a@example.com=Busy"
	echo "sleep 50"
	echo "mark"
	for i in 1 2 3; do echo "notify wB $UB sip:b$i@example.com=Busy"; done
	echo "wait wB"
	echo "wait wA"
	echo "json wA"
} | drive oneworker workers=1 attempts=3 backoff=100 backoff_max=1000 timeout=300
ctl "$PA" '{"mode":"ok"}'
received "$PB" "$RUN_DIR/oneworker.sinkB.json"
tb=$(elapsed "$RUN_DIR/oneworker.out" waited wB)
ta=$(elapsed "$RUN_DIR/oneworker.out" waited wA)
echo "measured: one worker: B done after ${tb:-?} ms, A (hanging endpoint) after ${ta:-?} ms"
check before "$RUN_DIR/oneworker.sinkB.json" wB "$RUN_DIR/oneworker.out" wA result \
	"one worker: B's 3 callbacks reached B's endpoint before A was given up (served during A's backoff)"
assert_eq "one worker: B delivered all" "3 0" "$(field "$RUN_DIR/oneworker.out" waited wB delivered) $(field "$RUN_DIR/oneworker.out" waited wB failed)"
if [[ -n $ta ]] && ((ta >= 1100)); then ok "one worker: A given up after 3 timeouts + backoffs (>= 1100 ms: $ta ms)"; else fail "one worker: A timing" "A took '$ta' ms"; fi
check given_up "$RUN_DIR/oneworker.out" wA "$UA" statusNotification "timeout" 3

# --- 7. keep-alive and latency -----------------------------------------------------
ctl "$PA" '{"mode":"ok","reset":true}'
printf 'bench k1 %s 300\n' "$UA" | drive bench workers=1 attempts=3 backoff=100 timeout=2000
printf 'bench k2 %s 300\n' "$UA" | drive bench2 workers=4 attempts=3 backoff=100 timeout=2000
received "$PA" "$RUN_DIR/bench.sink.json"
check peers "$RUN_DIR/bench.sink.json" k1 1
check peers "$RUN_DIR/bench.sink.json" k2 4
for b in bench bench2; do
	read -r _ n t _ < <(grep '^bench ' "$RUN_DIR/$b.out")
	if [[ -n ${t:-} ]] && ((n == 300)); then
		echo "measured: $n sequential callbacks (one correlator, $b) in $t ms: $(awk -v t="$t" -v n="$n" 'BEGIN { printf "%.2f", t / n }') ms per callback (driver built with ASan)"
		ok "$b: 300 callbacks delivered in ${t} ms"
	else
		fail "$b: latency" "no result line"
	fi
done

# --- 8. dlv_stop waits for the attempt in flight, bounded by the timeout -------------
# The sink holds the attempt until told otherwise (after the driver is
# done): the attempt can only end by its 800 ms timeout, and the record
# (checked below: one attempt, failed "timeout", no result) says it did.
# stop took >= 400 ms: it waited for that attempt (queued at 0, stop at
# 200 ms). The upper bound is only for a stop that waits for something
# else (the retries' backoff and attempts would also show in the records):
# 10 s, far from the ~600 ms expected.
ctl "$PA" '{"mode":"hang"}'
printf 'notify st1 %s sip:a@example.com=Busy\nsleep 200\n' "$UA" | drive stop workers=2 attempts=3 backoff=100 timeout=800
ctl "$PA" '{"mode":"ok"}'
t=$(awk '$1 == "stopped" { print $2 }' "$RUN_DIR/stop.out")
if [[ -n $t ]] && ((t >= 400 && t < 10000)); then ok "stop: waited for the attempt in flight, bounded by its timeout ($t ms)"; else fail "stop: duration" "'$t' ms"; fi
printf 'json st1\n' | drive stopjson nostore
check stop "$RUN_DIR/stopjson.out" st1 "$UA"
check outboxdb "$DB" "st1:1"
printf 'wait st1\njson st1\noutbox\n' | drive stopresume
check stopresumed "$RUN_DIR/stopresume.out" st1 "$UA"
assert_contains "stop: the next start says it resumed one" "1 unfinished callback(s) resumed from the outbox" "$(cat "$RUN_DIR/stopresume.err")"
assert_eq "outbox: empty once everything is finished" "outbox 0" "$(grep '^outbox' "$RUN_DIR/stopresume.out")"

# --- 9. delivery ids are unique across restarts of the driver (same store) ------------
check ids "$RUN_DIR/order.out" "$RUN_DIR/retry500.out" "$RUN_DIR/retryfault.out" "$RUN_DIR/retryclose.out" \
	"$RUN_DIR/refused.out" "$RUN_DIR/slow.out" "$RUN_DIR/oneworker.out" "$RUN_DIR/stop.out"

# --- 10. resume: dlv_stop, then kill -9 mid-way, then a clean run ----------------------
# Three correlators, 20 callbacks each, to an endpoint that is down at first.
RDB="$RUN_DIR/resume.db"
rm -f "$RDB" "$RDB-wal" "$RDB-shm"
RPORT=$(free_port)
UR="http://127.0.0.1:$RPORT/cb"
CORRS=(q1 q2 q3)
{
	for i in $(seq 0 9); do for c in "${CORRS[@]}"; do echo "changed $c $UR sip:$c-$i@example.com=Busy"; done; done
	echo "sleep 300"
	echo "outbox"
} | drive_on "$RDB" resume1 workers=2 attempts=100 backoff=50 backoff_max=100 timeout=500
assert_eq "resume: dlv_stop keeps the 30 unfinished callbacks in the outbox" "outbox 30" "$(grep '^outbox' "$RUN_DIR/resume1.out")"
assert_contains "resume: dlv_stop says it kept them" "30 unfinished callback(s) kept in the outbox" "$(cat "$RUN_DIR/resume1.err")"
check outboxdb "$RDB" "(q[123]:[1-9][0-9]* ){2}q[123]:[1-9][0-9]*( q[123]:0){27}"
printf 'json q1\n' | drive_on "$RDB" resume1json nostore
assert_not_contains "resume: no _DeliveryResult for what dlv_stop left" "_DeliveryResult" "$(cat "$RUN_DIR/resume1json.out")"

# the endpoint comes up, slow (40 ms per answer); a start resumes the 30,
# queues 10 more per correlator, and is killed (SIGKILL) half-way
start_sink sinkR "$RPORT"
ctl "$RPORT" '{"mode":"ok","delay_ms":40}'
{
	for i in $(seq 10 19); do for c in "${CORRS[@]}"; do echo "changed $c $UR sip:$c-$i@example.com=Busy"; done; done
	echo "sleep 60000"
} >"$RUN_DIR/resume2.in"
"$DRIVE" "$RDB" workers=2 attempts=100 backoff=50 backoff_max=100 timeout=2000 <"$RUN_DIR/resume2.in" \
	>"$RUN_DIR/resume2.out" 2>"$RUN_DIR/resume2.err" &
rpid=$!
count_received() { curl -fsS "http://127.0.0.1:$RPORT/received" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
if wait_until 20 eval '(( $(count_received) >= 25 ))'; then ok "resume: the start resumed and delivers"; else fail "resume: delivering after the start" "received $(count_received)"; fi
kill -KILL "$rpid"
wait "$rpid" 2>/dev/null
echo "measured: killed with $(count_received) callbacks received by the sink"
assert_contains "resume: the start said it resumed the 30" "30 unfinished callback(s) resumed from the outbox" "$(cat "$RUN_DIR/resume2.err")"
assert_eq "resume: the killed run enqueued its 30" "30" "$(grep -c '^enqueued ' "$RUN_DIR/resume2.out")"

# a clean run sends the rest
ctl "$RPORT" '{"mode":"ok","delay_ms":0}'
{
	for c in "${CORRS[@]}"; do echo "wait $c 20000"; done
	for c in "${CORRS[@]}"; do echo "json $c"; done
	echo "outbox"
} | drive_on "$RDB" resume3 workers=2 attempts=100 backoff=50 backoff_max=100 timeout=2000
received "$RPORT" "$RUN_DIR/resume.sink.json"
check resume "$RUN_DIR/resume.sink.json" 20 2 q1,q2,q3 "$RUN_DIR/resume1.out" "$RUN_DIR/resume2.out" "$RUN_DIR/resume3.out"
assert_contains "resume: the clean run resumed what the kill left" "callback(s) resumed from the outbox" "$(cat "$RUN_DIR/resume3.err")"
assert_eq "resume: the outbox is empty once everything is delivered" "outbox 0" "$(grep '^outbox' "$RUN_DIR/resume3.out")"

# --- 11. delivery.max-age-s: expiry while retrying, and at resume ---------------------
# Refused port, max age 2 s, retries 200, 400, 400, ... ms after each
# attempt: at the earliest at 0, 200, 600, 1000, 1400, 1800 ms; the next
# would be at 2200, past the limit. So at most 6 attempts whatever the
# load (a slow machine only makes them later: fewer), at least 3 (1.4 s of
# slack), then given up, not before the 2 s. An attempt after the limit
# shows as a 7th; a job never given up shows as "timeout" from the 10 s wait
# (100 attempts would take 40 s).
EDB="$RUN_DIR/expiry.db"
rm -f "$EDB" "$EDB-wal" "$EDB-shm"
printf 'mark\nnotify x1 %s sip:a@example.com=Busy\nwait x1 10000\njson x1\noutbox\n' "$UDOWN" |
	drive_on "$EDB" expiry workers=2 attempts=100 backoff=200 backoff_max=400 timeout=500 max_age=2
check expired "$RUN_DIR/expiry.out" x1 "$UDOWN" 3 6
t=$(elapsed "$RUN_DIR/expiry.out" waited x1)
if [[ -n $t ]] && ((t >= 2000)); then ok "expiry: given up at the age limit, not before (2 s: $t ms)"; else fail "expiry: given up at the age limit" "'$t' ms (no 'waited' line: not given up within 10 s)"; fi
assert_eq "expiry: its outbox row is gone" "outbox 0" "$(grep '^outbox' "$RUN_DIR/expiry.out")"
assert_contains "expiry: logged" "expired after 2 s" "$(cat "$RUN_DIR/expiry.err")"
# queued with the default max age, one failed attempt, stopped; 1.2 s later
# a start with max-age 1 s gives it up without an attempt: exactly the one
# attempt of before the stop, and the result comes within the 10 s wait
# while the next attempt would be due 30 s after the first
printf 'notify x2 %s sip:a@example.com=Busy\nsleep 100\n' "$UDOWN" |
	drive_on "$EDB" expiry2 workers=1 attempts=100 backoff=30000 timeout=500
sleep 1.2
printf 'mark\nwait x2 10000\njson x2\noutbox\n' | drive_on "$EDB" expiry3 workers=1 attempts=100 backoff=30000 timeout=500 max_age=1
check expired "$RUN_DIR/expiry3.out" x2 "$UDOWN" 1 1
t=$(elapsed "$RUN_DIR/expiry3.out" waited x2)
if [[ -n $t ]]; then ok "expiry at resume: given up without waiting for the retry due in 30 s ($t ms)"; else fail "expiry at resume: given up at once" "not within 10 s: $(grep '^timeout x2' "$RUN_DIR/expiry3.out")"; fi
assert_eq "expiry at resume: the outbox is empty" "outbox 0" "$(grep '^outbox' "$RUN_DIR/expiry3.out")"

# --- 12. records readable while running; retention --------------------------------------
# The record of a failed attempt becomes readable without a flush or a
# stop (the driver's "visible" polls the store and does neither). The
# documented figure is "about 200 ms" (measured here, printed: speed is for
# benchmarks); the check is that it is committed at all while running:
# within 20 s (100 times that figure: a loaded machine does not decide).
# Records committed only at a flush or a stop never show up (an "invisible"
# line).
VDB="$RUN_DIR/visible.db"
rm -f "$VDB" "$VDB-wal" "$VDB-shm"
printf 'mark\nnotify v1 %s sip:a@example.com=Busy\nvisible v1 1 20000\n' "$UDOWN" |
	drive_on "$VDB" visible workers=1 attempts=1 timeout=500
t=$(awk '$1 == "visible" { print $3 }' "$RUN_DIR/visible.out")
echo "measured: a failed attempt's record was readable ${t:-?} ms after the enqueue (refused port; documented: about 200 ms)"
if [[ -n $t ]]; then ok "tracking: the record is readable while running, without a flush ($t ms)"; else fail "tracking: readable while running" "$(cat "$RUN_DIR/visible.out")"; fi
# retention: on a copy of the shared store, records older than 1 s are pruned at start
cp "$DB" "$RUN_DIR/prune.db"
[[ -f "$DB-wal" ]] && cp "$DB-wal" "$RUN_DIR/prune.db-wal"
printf 'json o1\n' | drive_on "$RUN_DIR/prune.db" prunebefore nostore
sleep 1.1
# the prune runs on the store's writer after the start: wait for it (not a
# fixed time: the writer may be slow on a loaded machine), then look
printf 'pruned 30000\njson o1\n' | drive_on "$RUN_DIR/prune.db" prune retention=1
assert_contains "retention: records were there before" '"event":"statusNotification_DeliveryAttempted"' "$(cat "$RUN_DIR/prunebefore.out")"
assert_eq "retention: records older than the retention are pruned at start" "json o1 []" "$(grep '^json o1' "$RUN_DIR/prune.out")"
n=$(sed -n 's/^pruned //p' "$RUN_DIR/prune.out")
if [[ $n =~ ^[0-9]+$ ]] && ((n > 0)); then ok "retention: the store counts them pruned ($n)"; else fail "retention: pruned count" "'$n'"; fi
assert_contains "retention: logged" "tracking record(s) older than 1 s pruned" "$(cat "$RUN_DIR/prune.err")"

summary
