#!/usr/bin/python3
"""cs.py - helpers of test_rest_subs.sh: reads the event sink and JSON.

  SINK is the sink's URL or its --record file.

  cs.py events SINK [SUBSCRIPTION_ID]
      One line per event the sink received (oldest first), of one
      subscription when given: "<type's last segment> <terminationReason or
      -> <Authorization header or -> <x-correlator header or ->".
  cs.py check SINK SOURCES
      Every event exactly as contract section 12 says: Content-Type
      application/cloudevents+json; the keys id, source, type, specversion,
      datacontenttype, time, data and no other; id a UUID, unique; source
      one of SOURCES (comma-separated: the gateway's URLs); specversion 1.0; datacontenttype application/json; time an
      RFC 3339 UTC date-time (and times ascending per subscription: the
      order of the changes); data {subscriptionId, device {phoneNumber}}
      plus terminationReason (one of the five) for subscription-ended only.
      Prints "N events valid", or each problem (exit status 1).
  cs.py latency LOG URI SINK SUBSCRIPTION_ID
      For each event of the subscription, its arrival at the sink minus the
      time of its NOTIFY: the gateway's debug line "watch: URI NOTIFY ... ->
      Unreachable" (the last ones, one per event: a reachability-disconnected
      subscription without initialEvent); prints "min median max" in ms.
  cs.py get EXPR < JSON
      EXPR evaluated with d = the JSON document read from stdin.
"""
import datetime
import json
import re
import sys
import urllib.request

PREFIX = "org.camaraproject.device-reachability-status-subscriptions.v0."
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
REASONS = {"MAX_EVENTS_REACHED", "SUBSCRIPTION_EXPIRED", "SUBSCRIPTION_DELETED",
           "NETWORK_TERMINATED", "ACCESS_TOKEN_EXPIRED"}


def received(sink):
    """The sink's records: from its URL, or from its --record file (JSON
    lines: every event since the sink first started, across restarts)."""
    if not sink.startswith("http"):
        with open(sink, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    with urllib.request.urlopen(sink + "/received", timeout=10) as r:
        return json.load(r)


def events(sink, sub=None):
    for r in received(sink):
        ev = r["json"] or {}
        data = ev.get("data") or {}
        if sub and data.get("subscriptionId") != sub:
            continue
        h = r["headers"]
        print(str(ev.get("type", "?")).replace(PREFIX, ""), data.get("terminationReason", "-"),
              h.get("authorization", "-"), h.get("x-correlator", "-"))


def check(sink, sources):
    bad, ids, last_time = [], set(), {}
    sources = sources.split(",")
    recs = received(sink)
    for i, r in enumerate(recs):
        ev, where = r["json"], "event %d" % (i + 1)
        if r["headers"].get("content-type") != "application/cloudevents+json":
            bad.append("%s: Content-Type %r" % (where, r["headers"].get("content-type")))
        if not isinstance(ev, dict):
            bad.append("%s: not a JSON object: %r" % (where, r["body"][:80]))
            continue
        keys = {"id", "source", "type", "specversion", "datacontenttype", "time", "data"}
        if set(ev) != keys:
            bad.append("%s: keys %s" % (where, sorted(ev)))
        if not UUID.match(str(ev.get("id"))) or ev.get("id") in ids:
            bad.append("%s: id %r not a new UUID" % (where, ev.get("id")))
        ids.add(ev.get("id"))
        if ev.get("source") not in sources:
            bad.append("%s: source %r" % (where, ev.get("source")))
        t = str(ev.get("type"))
        last = t[len(PREFIX):] if t.startswith(PREFIX) else None
        if last not in ("reachability-data", "reachability-disconnected", "subscription-ended"):
            bad.append("%s: type %r" % (where, t))
        if ev.get("specversion") != "1.0" or ev.get("datacontenttype") != "application/json":
            bad.append("%s: specversion/datacontenttype %r %r" % (where, ev.get("specversion"),
                                                                   ev.get("datacontenttype")))
        if not TIME.match(str(ev.get("time"))):
            bad.append("%s: time %r" % (where, ev.get("time")))
        d = ev.get("data")
        want = {"subscriptionId", "device"} | ({"terminationReason"} if last == "subscription-ended" else set())
        if not isinstance(d, dict) or set(d) != want:
            bad.append("%s: data %r" % (where, d))
            continue
        sid = d["subscriptionId"]
        if str(ev.get("time")) < last_time.get(sid, ""):
            bad.append("%s: time %r before the previous event's of %s" % (where, ev.get("time"), sid))
        last_time[sid] = str(ev.get("time"))
        if not UUID.match(str(d["subscriptionId"])):
            bad.append("%s: subscriptionId %r" % (where, d["subscriptionId"]))
        dev = d["device"]
        if not (isinstance(dev, dict) and set(dev) == {"phoneNumber"} and
                re.match(r"^\+\d{1,15}$", str(dev["phoneNumber"]))):
            bad.append("%s: device %r" % (where, dev))
        if last == "subscription-ended" and d["terminationReason"] not in REASONS:
            bad.append("%s: terminationReason %r" % (where, d["terminationReason"]))
    for b in bad:
        print(b)
    if not bad:
        print("%d events valid" % len(recs))
    return 1 if bad else 0


def ms_of(iso):
    t = datetime.datetime.strptime(iso[:23], "%Y-%m-%dT%H:%M:%S.%f")
    return int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def latency(log, uri, sink, sub):
    pat = re.compile(r'^ts=(\S+Z) level=debug module=watch msg="watch: ' + re.escape(uri) +
        r' NOTIFY \S+ -> Unreachable"$')
    lt = []
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = pat.match(line.rstrip("\n"))
            if m:
                lt.append(ms_of(m.group(1)))
    evs = [int(r["time"] * 1000) for r in received(sink)
           if (r["json"] or {}).get("data", {}).get("subscriptionId") == sub]
    if not evs or len(lt) < len(evs):
        print("latency: %d NOTIFY lines for %d events" % (len(lt), len(evs)))
        return 1
    d = sorted(e - n for e, n in zip(evs, lt[-len(evs):]))
    print(d[0], d[(len(d) - 1) // 2], d[-1])
    return 0


def main():
    cmd = sys.argv[1]
    if cmd == "latency":
        return latency(*sys.argv[2:6])
    if cmd == "events":
        events(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
        return 0
    if cmd == "check":
        return check(sys.argv[2], sys.argv[3])
    if cmd == "get":
        d = json.load(sys.stdin)
        v = eval(sys.argv[2], {"d": d, "json": json})
        print(v if isinstance(v, str) else json.dumps(v, sort_keys=True, separators=(",", ":")))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
