#!/usr/bin/python3
# hammer.py - GET requests in a loop over keep-alive connections, for the
# shutdown tests: how the gateway answers while it stops.
#
# Part of pxtsgw. License: GPL-2.0-or-later. Standard library only.
#
#   hammer.py --port N [--user NAME:PASSWORD] [--connections K]
#             [--max-seconds S] [--ready FILE] PATH...
#
# K threads (default 2), each with its own HTTP/1.1 keep-alive connection
# to 127.0.0.1:N, GET the PATHs in turn until the gateway stops answering
# (the connection is refused, reset or closed with no answer) or S seconds
# (default 30) pass. A connection the gateway closes after an answer
# ("Connection: close") is opened again. Prints one line of JSON: the count
# of answers per HTTP status, and "ended": the connections that ended on an
# error (the gateway gone). --ready FILE: FILE is created once every
# connection has had its first answer (what a test waits for before it
# stops the gateway).
import argparse
import base64
import http.client
import json
import sys
import threading
import time


def run(port, paths, auth, deadline, counts, lock, ready):
    conn = None
    i = 0
    first = True
    while time.monotonic() < deadline:
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        path = paths[i % len(paths)]
        i += 1
        headers = {}
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            key = str(resp.status)
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except (ConnectionError, http.client.HTTPException, OSError):
            with lock:
                counts["ended"] = counts.get("ended", 0) + 1
            return
        with lock:
            counts[key] = counts.get(key, 0) + 1
            if first:
                first = False
                ready["left"] -= 1
                if ready["left"] == 0 and ready["file"]:
                    with open(ready["file"], "w") as f:
                        f.write("ready\n")


def main():
    ap = argparse.ArgumentParser(description="keep-alive GET loop for shutdown tests")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user")
    ap.add_argument("--connections", type=int, default=2)
    ap.add_argument("--max-seconds", type=float, default=30)
    ap.add_argument("--ready")
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    counts, lock = {}, threading.Lock()
    ready = {"left": a.connections, "file": a.ready}
    deadline = time.monotonic() + a.max_seconds
    th = [threading.Thread(target=run, args=(a.port, a.paths, a.user, deadline, counts, lock, ready))
          for _ in range(a.connections)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    print(json.dumps(counts, sort_keys=True))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
