#!/usr/bin/python3
# nt.py - helpers for tests/integration/test_notifications.sh: read what a
# callback_sink.py received and what the gateway reports (/notifications,
# /deliveries), and print it one fact per line so the shell script can
# compare it with assert_eq. Standard library only.
#
#   nt.py cb SINK CORR [--delivered]        callbacks for CORR, one per line:
#         statusNotification CORR addr=Status addr=Status   (entries sorted)
#         statusChanged CORR addr=Status
#         statusEnd CORR
#         statusError CORR addr messageId
#         --delivered: only those the sink answered 200
#   nt.py wait SINK CORR N TIMEOUT_S [--delivered]
#         like cb, once there are at least N callbacks (exit 1 on timeout,
#         printing what there is)
#   nt.py times SINK CORR                   arrival time (epoch s) per callback
#   nt.py paths SINK CORR                   request path per callback
#   nt.py shape SINK CORR                   "ok" when the first callback has
#         the notification local namespace on its wrapper and qualified
#         wrapper children, unqualified children inside terminalStatus;
#         else what is wrong
#   nt.py all SINK                          every correlator seen, sorted, one per line
#   nt.py notif GW CORR                     "absent", or
#         "present a=S a=S delivered=N failed=N failed_attempts=N healthy=B"
#   nt.py dlv GW CORR                       the tracking records, one per line:
#         EVENT dK ATTEMPT RESULT DETAIL     (dK: k-th distinct delivery id)
#         then "fields ok" or "fields: <problems>" (all section 9a fields,
#         correlator, endpoint, ISO 8601 UTC time, oldest first)
#   nt.py dlvwait GW CORR N TIMEOUT_S       like dlv, once there are N records
#   nt.py dlvtimes GW CORR                  epoch ms of each record's time
#   nt.py latency LOG URI SINK CORR         gateway-side latency: for each
#         callback of CORR, its arrival at the sink minus the time of the
#         matching "watch: URI NOTIFY ... -> S" debug line of the gateway log
#         (the last ones, one per callback); prints "min median max" in ms
#   nt.py notifyat LOG URI STATUS          epoch ms of the gateway's last
#         "watch: URI NOTIFY ... -> STATUS" debug line (when it had the change)
#   nt.py publish SERVER URI=STATUS=ETAG... PUBLISHes in one process, in
#         order, milliseconds apart (STATUS Reachable, Unreachable or Busy as
#         in the test's setst; ETAG empty for a new publication, and later
#         ones of the same URI modify the one before); prints "URI ETAG" per
#         URI, its last ETag; exit 1 when one fails
#   nt.py hdrsink PORT FILE                 a minimal callback endpoint: answers
#         every POST with an empty SOAP response (200) and appends one JSON
#         line per request to FILE: method, path, Content-Type, SOAPAction
import json
import re
import sys
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

NOTIF_NS = "http://www.csapi.org/schema/parlayx/terminal_status/notification/v2_3/local"
FIELDS = ("event", "correlator", "delivery", "attempt", "result", "time", "endpoint", "detail")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read().decode("utf-8"))


def received(sink, corr, delivered=False):
    q = urllib.parse.quote(corr, safe="")
    recs = get_json("%s/received?correlator=%s" % (sink, q))
    if delivered:
        recs = [r for r in recs if r.get("answer") == "200"]
    return recs


def render(r):
    op = r.get("operation")
    c = r.get("correlator")
    if op == "statusNotification":
        es = sorted("%s=%s" % (e.get("address"), e.get("currentStatus")) for e in r.get("entries") or [])
        return " ".join([op, str(c)] + es)
    if op == "statusChanged":
        return "%s %s %s=%s" % (op, c, r.get("address"), r.get("currentStatus"))
    if op == "statusEnd":
        return "%s %s" % (op, c)
    if op == "statusError":
        return "%s %s %s %s" % (op, c, r.get("address"), r.get("messageId"))
    return "%s %s (unparsed: %s)" % (op, c, r.get("parse_error"))


def local(tag):
    return tag.rsplit("}", 1)[-1]


def ns(tag):
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def shape(body):
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        return "not XML: %s" % e
    bodies = [b for b in root if local(b.tag) == "Body"]
    if not bodies or len(bodies[0]) == 0:
        return "no Body child"
    op = bodies[0][0]
    bad = []
    if ns(op.tag) != NOTIF_NS:
        bad.append("wrapper %s not in %s" % (op.tag, NOTIF_NS))
    for c in op:
        if ns(c.tag) != NOTIF_NS:
            bad.append("wrapper child %s not qualified" % c.tag)
        if local(c.tag) == "terminalStatus":
            for g in c:
                if ns(g.tag):
                    bad.append("%s inside terminalStatus is qualified" % g.tag)
    return "ok" if not bad else "; ".join(bad)


def dlv_lines(recs, corr):
    ids = {}
    out = []
    bad = []
    prev = None
    for i, r in enumerate(recs):
        miss = [f for f in FIELDS if f not in r]
        if miss:
            bad.append("record %d lacks %s" % (i, ",".join(miss)))
        d = r.get("delivery")
        if d not in ids:
            ids[d] = "d%d" % (len(ids) + 1)
        out.append("%s %s %s %s %s" % (r.get("event"), ids[d], r.get("attempt"), r.get("result"),
                                       r.get("detail") if r.get("detail") is not None else "null"))
        if r.get("correlator") != corr:
            bad.append("record %d correlator %r" % (i, r.get("correlator")))
        if not isinstance(r.get("endpoint"), str) or not r.get("endpoint").startswith("http"):
            bad.append("record %d endpoint %r" % (i, r.get("endpoint")))
        t = r.get("time")
        if not isinstance(t, str) or not ISO.match(t):
            bad.append("record %d time %r" % (i, t))
        else:
            ts = ms_of(t)
            if prev is not None and ts < prev:
                bad.append("record %d older than the one before" % i)
            prev = ts
        if not isinstance(r.get("attempt"), int):
            bad.append("record %d attempt %r" % (i, r.get("attempt")))
        if not isinstance(d, (int, str)):
            bad.append("record %d delivery %r" % (i, d))
    out.append("fields ok" if not bad else "fields: " + "; ".join(bad))
    return out


def ms_of(t):
    t = t.rstrip("Z")
    frac = 0.0
    if "." in t:
        t, f = t.split(".", 1)
        frac = float("0." + f)
    dt = datetime.strptime(t, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int((dt.timestamp() + frac) * 1000)


def hdrsink(port, path):
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(n)
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps({"method": "POST", "path": self.path,
                                    "content_type": self.headers.get("Content-Type"),
                                    "soapaction": self.headers.get("SOAPAction")}) + "\n")
            body = (b'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
                    b'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/>'
                    b'</soapenv:Envelope>')
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    HTTPServer(("127.0.0.1", port), H).serve_forever()


def publish(server, specs):
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2] / "tools"))
    sys.dont_write_bytecode = True
    import sip_publish
    import sipwire
    hp = sipwire.parse_hostport(server)
    bodies = {"Reachable": ("open", []), "Unreachable": ("closed", []),
              "Busy": ("open", ["on-the-phone"])}
    etags, order = {}, []
    for spec in specs:
        uri, st, et = spec.split("=", 2)
        if uri not in etags:
            etags[uri] = et
            order.append(uri)
        basic, acts = bodies[st]
        body = sip_publish.build_pidf(uri, basic, acts, "rpid", "t1", None)
        resp = sip_publish.send_publish(hp, uri, body, etags[uri] or None, timeout=20.0)
        if resp is None or not 200 <= resp.status < 300:
            sys.exit("publish %s %s: %s" % (uri, st, "no answer" if resp is None else resp.status))
        etags[uri] = resp.get("SIP-ETag", "")
    for uri in order:
        print(uri, etags[uri])


def main():
    a = sys.argv[1:]
    delivered = "--delivered" in a
    a = [x for x in a if x != "--delivered"]
    cmd = a[0]
    if cmd == "cb":
        for r in received(a[1], a[2], delivered):
            print(render(r))
    elif cmd == "wait":
        sink, corr, n, timeout = a[1], a[2], int(a[3]), float(a[4])
        deadline = time.time() + timeout
        while True:
            recs = received(sink, corr, delivered)
            if len(recs) >= n or time.time() >= deadline:
                break
            time.sleep(0.03)
        for r in recs:
            print(render(r))
        sys.exit(0 if len(recs) >= n else 1)
    elif cmd == "times":
        for r in received(a[1], a[2]):
            print("%.3f" % r["time"])
    elif cmd == "paths":
        for r in received(a[1], a[2]):
            print(r.get("path"))
    elif cmd == "shape":
        recs = received(a[1], a[2])
        print(shape(recs[0]["body"]) if recs else "no callback")
    elif cmd == "all":
        recs = get_json(a[1] + "/received")
        for c in sorted(set(str(r.get("correlator")) for r in recs)):
            print(c)
    elif cmd == "notif":
        lst = get_json(a[1] + "/notifications")
        for n in lst:
            if n.get("correlator") == a[2]:
                d = n.get("delivery") or {}
                print(" ".join(["present"] + ["%s=%s" % (x.get("address"), x.get("status")) for x in n.get("addresses", [])]
                               + ["delivered=%s" % d.get("delivered"), "failed=%s" % d.get("failed"),
                                  "failed_attempts=%s" % d.get("failed_attempts"),
                                  "healthy=%s" % json.dumps(d.get("healthy"))]))
                break
        else:
            print("absent")
    elif cmd in ("dlv", "dlvwait"):
        gw, corr = a[1], a[2]
        url = "%s/deliveries?correlator=%s" % (gw, urllib.parse.quote(corr, safe=""))
        n = int(a[3]) if cmd == "dlvwait" else 0
        deadline = time.time() + (float(a[4]) if cmd == "dlvwait" else 0)
        while True:
            recs = get_json(url)
            if len(recs) >= n or time.time() >= deadline:
                break
            time.sleep(0.03)
        for line in dlv_lines(recs, corr):
            print(line)
        sys.exit(0 if len(recs) >= n else 1)
    elif cmd == "dlvtimes":
        url = "%s/deliveries?correlator=%s" % (a[1], urllib.parse.quote(a[2], safe=""))
        for r in get_json(url):
            print(ms_of(r["time"]))
    elif cmd == "latency":
        log, uri, sink, corr = a[1], a[2], a[3], a[4]
        pat = re.compile(r'^ts=(\S+Z) level=debug module=watch msg="watch: ' + re.escape(uri) +
        r' NOTIFY \S+ -> \S+"$')
        lt = []
        with open(log, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = pat.match(line.rstrip("\n"))
                if m:
                    lt.append(ms_of(m.group(1)))
        cbs = [int(r["time"] * 1000) for r in received(sink, corr)]
        if not cbs or len(lt) < len(cbs):
            sys.exit("latency: %d NOTIFY lines for %d callbacks" % (len(lt), len(cbs)))
        d = sorted(c - n for c, n in zip(cbs, lt[-len(cbs):]))
        print(d[0], d[(len(d) - 1) // 2], d[-1])
    elif cmd == "notifyat":
        pat = re.compile(r'^ts=(\S+Z) level=debug module=watch msg="watch: ' + re.escape(a[2])
                         + r" NOTIFY \S+ -> " + re.escape(a[3]) + r'( \(same\))?"$')
        at = None
        with open(a[1], encoding="utf-8", errors="replace") as f:
            for line in f:
                m = pat.match(line.rstrip("\n"))
                if m:
                    at = ms_of(m.group(1))
        if at is None:
            sys.exit("notifyat: no NOTIFY line for %s -> %s" % (a[2], a[3]))
        print(at)
    elif cmd == "publish":
        publish(a[1], a[2:])
    elif cmd == "hdrsink":
        hdrsink(int(a[1]), a[2])
    else:
        sys.exit("nt.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
