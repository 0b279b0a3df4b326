#!/usr/bin/python3
"""views_load.py - how the gateway's SIP side and /health fare while
clients download large /deliveries listings (issue: part 6, "Done when").

  views_load.py --kam HOST:PORT --gw URL --sink URL --presentity URI
                [--etag E] --changes N --interval S --downloaders K --listing PATH

Publishes N presence changes of PRESENTITY (Busy and Reachable in turn,
one publication modified by its ETag) every S seconds, straight from this
process (no tool start-up in the figures), and for each one measures the
time from sending the PUBLISH to the callback's arrival at the sink
(tests/tools/callback_sink.py records the arrival time): the NOTIFY's way
through the gateway (answer, state, outbox commit, delivery). Meanwhile one
thread GETs /health every 20 ms (its latency), and K threads GET PATH
(a /deliveries listing) in a loop. Prints one line of JSON. Exit 1 when a
callback did not come within 10 s or carried the wrong status.

Part of pxtsgw. License: GPL-2.0-or-later. Standard library only.
"""
import argparse
import json
import os
import sys
import threading
import time
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import sip_publish  # noqa: E402
import sipwire  # noqa: E402


def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    return round(v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))], 1)


def summary(v):
    return {"n": len(v), "p50": pct(v, 50), "p99": pct(v, 99), "max": round(max(v), 1) if v else None}


def get(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kam", required=True)
    ap.add_argument("--gw", required=True)
    ap.add_argument("--sink", required=True)
    ap.add_argument("--presentity", required=True)
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument("--interval", type=float, default=0.5)
    ap.add_argument("--downloaders", type=int, default=0)
    ap.add_argument("--listing", default="/deliveries?correlator=big")
    ap.add_argument("--etag", help="the presentity's publication to modify")
    a = ap.parse_args()
    server = sipwire.parse_hostport(a.kam)
    stop = threading.Event()
    health, downloads, errors = [], [], []

    def health_loop():
        while not stop.is_set():
            t = time.monotonic()
            try:
                st, _ = get(a.gw + "/health", 10)
                health.append((time.monotonic() - t) * 1000)
                if st != 200:
                    errors.append("health %d" % st)
            except Exception as e:  # noqa: BLE001 - every failure is a figure
                errors.append("health: %s" % e)
            time.sleep(0.02)

    def download_loop():
        while not stop.is_set():
            t = time.monotonic()
            try:
                st, body = get(a.gw + a.listing, 60)
                downloads.append(((time.monotonic() - t) * 1000, len(body)))
            except Exception as e:  # noqa: BLE001
                errors.append("download: %s" % e)

    threads = [threading.Thread(target=health_loop)]
    threads += [threading.Thread(target=download_loop) for _ in range(a.downloaders)]
    for t in threads:
        t.start()
    time.sleep(1.0 if a.downloaders else 0.2)      # the downloads are under way
    get(a.sink + "/control", 5)
    urllib.request.urlopen(urllib.request.Request(a.sink + "/control", data=b'{"reset": true}',
                                                  method="POST"), timeout=5).read()
    lat, wrong, etag = [], 0, a.etag
    body0 = {"Busy": sip_publish.build_pidf(a.presentity, "open", ["on-the-phone"], "rpid", "t1", None),
             "Reachable": sip_publish.build_pidf(a.presentity, "open", [], "rpid", "t1", None)}
    for i in range(a.changes):
        want = "Busy" if i % 2 == 0 else "Reachable"
        sent = time.time()
        resp = sip_publish.send_publish(server, a.presentity, body0[want], etag)
        if resp is None or not 200 <= resp.status < 300:
            errors.append("publish %d failed" % i)
            break
        etag = resp.get("SIP-ETag", "")
        deadline = time.monotonic() + 10
        got = None
        while time.monotonic() < deadline:
            _, raw = get(a.sink + "/received", 5)
            rec = json.loads(raw)
            if len(rec) > i:
                got = rec[i]
                break
            time.sleep(0.005)
        if got is None:
            errors.append("no callback for change %d" % i)
            break
        status = [e["currentStatus"] for e in got.get("entries") or []]
        if status != [want]:
            wrong += 1
        lat.append((got["time"] - sent) * 1000)
        time.sleep(a.interval)
    stop.set()
    for t in threads:
        t.join()
    out = {"callback_ms": summary(lat), "health_ms": summary(health),
           "downloads": len(downloads),
           "download_ms": summary([d[0] for d in downloads]),
           "listing_bytes": downloads[-1][1] if downloads else 0,
           "wrong": wrong, "errors": errors[:5], "etag": etag}
    print(json.dumps(out, sort_keys=True))
    return 1 if errors or wrong or len(lat) < a.changes else 0


if __name__ == "__main__":
    sys.exit(main())
