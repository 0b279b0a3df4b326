#!/usr/bin/python3
# event_sink.py - a CloudEvents sink for tests of the CAMARA subscriptions
# (contract section 12): it accepts POSTs, records each request's body
# (parsed as JSON when it is JSON) and headers, and answers the way it is
# told.
#
# Part of pxtsgw. License: GPL-2.0-or-later. Standard library only.
#
#   event_sink.py [--port N] [--record FILE]
#
# --port 0 (the default) picks a free port; the port is printed alone on
# the first line of stdout either way (then it serves). HTTP/1.1 with
# keep-alive, one thread per connection. SO_REUSEADDR: a sink stopped and
# started again on the same port takes it back at once.
#
# Control (POST /control with a JSON object; all keys optional):
#   {"status": 204}       the status every event gets from now on (default
#                         204; 200 and 202 answer a small JSON body)
#   {"reset": true}       forget the events received so far
# GET /received returns the events as a JSON array, oldest first; each
# record (also one JSON line in --record FILE): time (arrival, epoch
# seconds), path, headers (a JSON object, names in lower case: the last
# value of each), body (the raw text), json (the body parsed, or null),
# answer (the status given).

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
RECEIVED = []
STATE = {"status": 204}
RECORD = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self, status, body=b"", ctype="application/json"):
        self.send_response(status)
        if body:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        if self.path.startswith("/received"):
            with LOCK:
                data = json.dumps(RECEIVED).encode()
            self._answer(200, data)
        elif self.path.startswith("/control"):
            with LOCK:
                data = json.dumps(STATE).encode()
            self._answer(200, data)
        else:
            self._answer(404)

    def do_POST(self):
        raw = self._body()
        if self.path.startswith("/control"):
            req = json.loads(raw or b"{}")
            with LOCK:
                if req.get("reset"):
                    RECEIVED.clear()
                if "status" in req:
                    STATE["status"] = int(req["status"])
                data = json.dumps(STATE).encode()
            self._answer(200, data)
            return
        text = raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        with LOCK:
            status = STATE["status"]
            rec = {
                "time": time.time(),
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": text,
                "json": parsed,
                "answer": status,
            }
            RECEIVED.append(rec)
            if RECORD:
                RECORD.write(json.dumps(rec) + "\n")
                RECORD.flush()
        self._answer(status, b'{"ok":true}' if status in (200, 202) else b"")


class Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    global RECORD
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--record")
    a = ap.parse_args()
    if a.record:
        RECORD = open(a.record, "a", encoding="utf-8")
    srv = Server(("127.0.0.1", a.port), Handler)
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
