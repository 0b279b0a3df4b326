#!/usr/bin/python3
# callback_sink.py - a TerminalStatusNotification endpoint for tests: it
# accepts the gateway's callbacks (statusNotification, statusChanged,
# statusError, statusEnd), records them and answers the way it is told.
#
# Part of pxtsgw. License: GPL-2.0-or-later. Standard library only.
#
#   callback_sink.py [--port N] [--record FILE] [--mode MODE] [--quiet]
#                    [--tls-cert PEM --tls-key PEM]
#
# --port 0 (the default) picks a free port; the port is printed alone on
# the first line of stdout either way. HTTP/1.1 with keep-alive, one thread
# per connection. With --tls-cert and --tls-key it speaks HTTPS only (the
# control requests too); a client that gives up the handshake (a
# certificate it does not trust) is recorded nowhere.
#
# Control (at run time, POST /control with a JSON object; all keys optional):
#   {"mode": "ok"}          200, SOAP 1.1 envelope with <op>Response (default)
#   {"mode": "accepted"}    202, empty body
#   {"mode": "http500"}     500 with a text/plain body (any "httpNNN" works)
#   {"mode": "fault"}       500 with a SOAP 1.1 Fault (soapenv:Server)
#   {"mode": "hang"}        no answer until the next control request (then
#                           it answers per the mode then in force, closing
#                           if that is still hang) or until the client closes
#   {"mode": "close"}       closes the connection without answering
#   {"fail_next": N, "fail_mode": "http500"}
#                           the next N callbacks get fail_mode, then the mode
#   {"delay_ms": N}         wait N ms before every answer
#   {"reset": true}         forget the callbacks received so far
# It answers the resulting state as JSON.
#
# GET /received[?correlator=C] returns the callbacks as a JSON array, oldest
# first; GET /control returns the state. Each record (also appended as one
# JSON line to --record FILE):
#   time (arrival, epoch seconds), path, peer ("host:port", one per TCP
#   connection), authorization (the Authorization header, or null),
#   operation (local name of the Body's first element), correlator, entries
#   [{address, currentStatus}] (statusNotification),
#   address, currentStatus (statusChanged), address, messageId, text,
#   variables (statusError), answer ("200", "202", "500", "fault", "close";
#   for a hang "hang>" + how it ended: "hang>200", "hang>closed" when the
#   client gave up, ...), delay_ms (the wait before the answer, when there
#   was one), body (raw request). A hanging callback is recorded when its
#   hang ends.

import argparse
import json
import re
import select
import socket
import ssl
import sys
import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NOTIF_NS = "http://www.csapi.org/schema/parlayx/terminal_status/notification/v2_3/local"

FAULT_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="' + SOAP_ENV + '"><soapenv:Body>'
    "<soapenv:Fault><faultcode>soapenv:Server</faultcode>"
    "<faultstring>Sink fault</faultstring></soapenv:Fault>"
    "</soapenv:Body></soapenv:Envelope>"
)


class State:
    def __init__(self, mode, record):
        self.cv = threading.Condition()
        self.mode = mode
        self.fail_next = 0
        self.fail_mode = "http500"
        self.delay_ms = 0
        self.generation = 0  # bumped by every control request
        self.received = []
        self.record = record

    def snapshot(self):
        return {
            "mode": self.mode,
            "fail_next": self.fail_next,
            "fail_mode": self.fail_mode,
            "delay_ms": self.delay_ms,
            "received": len(self.received),
        }


def local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def child_text(elem, name):
    for c in elem:
        if local(c.tag) == name:
            return (c.text or "").strip()
    return None


def parse_callback(body):
    """What a callback carries: operation, correlator and its payload."""
    rec = {"operation": None, "correlator": None}
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        rec["parse_error"] = str(e)
        return rec, None
    ns = None
    for b in root:
        if local(b.tag) != "Body":
            continue
        for op in b:
            rec["operation"] = local(op.tag)
            if op.tag.startswith("{"):
                ns = op.tag[1:].split("}", 1)[0]
            rec["correlator"] = child_text(op, "correlator")
            if rec["operation"] == "statusNotification":
                rec["entries"] = [
                    {"address": child_text(t, "address"), "currentStatus": child_text(t, "currentStatus")}
                    for t in op
                    if local(t.tag) == "terminalStatus"
                ]
            elif rec["operation"] == "statusChanged":
                rec["address"] = child_text(op, "address")
                rec["currentStatus"] = child_text(op, "currentStatus")
            elif rec["operation"] == "statusError":
                rec["address"] = child_text(op, "address")
                for r in op:
                    if local(r.tag) == "reason":
                        rec["messageId"] = child_text(r, "messageId")
                        rec["text"] = child_text(r, "text")
                        rec["variables"] = [(v.text or "") for v in r if local(v.tag) == "variables"]
            break
        break
    return rec, ns


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "callback_sink/1"
    sys_version = ""
    # without it, the answer's second segment waits for the client's delayed ACK (40 ms)
    disable_nagle_algorithm = True

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write("sink: %s %s\n" % (self.address_string(), fmt % args))

    # --- helpers -----------------------------------------------------------
    def send_bytes(self, status, ctype, data):
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)
        self.wfile.flush()

    def send_json(self, status, obj):
        self.send_bytes(status, "application/json", (json.dumps(obj) + "\n").encode())

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def peer_closed(self):
        """True when the client has closed its side (or sent more data)."""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if not r:
                return False
            if isinstance(self.connection, ssl.SSLSocket):
                # no MSG_PEEK on TLS: readable with nothing pending = closed
                return self.connection.pending() == 0 and self.connection.recv(1) == b""
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    # --- GET ---------------------------------------------------------------
    def do_GET(self):
        st = self.server.state
        u = urlparse(self.path)
        if u.path == "/received":
            want = parse_qs(u.query).get("correlator", [None])[0]
            with st.cv:
                recs = [r for r in st.received if want is None or r.get("correlator") == want]
            self.send_json(200, recs)
        elif u.path == "/control":
            with st.cv:
                self.send_json(200, st.snapshot())
        else:
            self.send_json(404, {"error": "not found"})

    # --- POST --------------------------------------------------------------
    def do_POST(self):
        body = self.read_body()
        if urlparse(self.path).path == "/control":
            self.control(body)
        else:
            self.callback(body)

    def control(self, body):
        st = self.server.state
        try:
            req = json.loads(body or b"{}")
            if not isinstance(req, dict):
                raise ValueError("not an object")
        except ValueError as e:
            self.send_json(400, {"error": str(e)})
            return
        try:
            fail_next = int(req["fail_next"]) if "fail_next" in req else None
            delay_ms = int(req["delay_ms"]) if "delay_ms" in req else None
        except (TypeError, ValueError) as e:
            self.send_json(400, {"error": str(e)})
            return
        with st.cv:
            if "mode" in req:
                st.mode = str(req["mode"])
            if "fail_mode" in req:
                st.fail_mode = str(req["fail_mode"])
            if fail_next is not None:
                st.fail_next = fail_next
            if delay_ms is not None:
                st.delay_ms = delay_ms
            if req.get("reset"):
                st.received = []
            st.generation += 1
            st.cv.notify_all()
            snap = st.snapshot()
        self.send_json(200, snap)

    def callback(self, body):
        st = self.server.state
        rec, ns = parse_callback(body)
        rec = dict(
            time=time.time(),
            path=self.path,
            peer="%s:%s" % self.client_address[:2],
            authorization=self.headers.get("Authorization"),
            **rec,
        )
        rec["body"] = body.decode("utf-8", "replace")
        with st.cv:
            if st.fail_next > 0:
                st.fail_next -= 1
                mode = st.fail_mode
            else:
                mode = st.mode
            gen = st.generation
            delay = st.delay_ms
        if mode == "hang":
            # answer nothing until the mode changes or the client goes away
            while True:
                with st.cv:
                    if st.generation != gen:
                        mode = st.mode if st.mode != "hang" else "close"
                        break
                    st.cv.wait(0.05)
                if self.peer_closed():
                    mode = None
                    break
            rec["answer"] = "hang>closed" if mode is None else "hang>" + self.answer_name(mode)
        else:
            rec["answer"] = self.answer_name(mode)
        if delay > 0 and mode is not None:
            rec["delay_ms"] = delay
        self.store(rec)
        if delay > 0 and mode is not None:
            time.sleep(delay / 1000.0)
        if mode is None or mode == "close":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.answer(mode, rec.get("operation") or "unknown", ns or NOTIF_NS)

    @staticmethod
    def answer_name(mode):
        m = re.fullmatch(r"http(\d{3})", mode)
        if m:
            return m.group(1)
        return {"ok": "200", "accepted": "202"}.get(mode, mode)

    def answer(self, mode, op, ns):
        m = re.fullmatch(r"http(\d{3})", mode)
        if mode == "accepted":
            self.send_bytes(202, None, b"")
        elif m:
            code = int(m.group(1))
            self.send_bytes(code, "text/plain", ("sink says %d\n" % code).encode())
        elif mode == "fault":
            self.send_bytes(500, "text/xml; charset=utf-8", FAULT_BODY.encode())
        else:  # ok (and anything unknown)
            xml = (
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<soapenv:Envelope xmlns:soapenv="%s"><soapenv:Body>'
                '<tsnl:%sResponse xmlns:tsnl="%s"/>'
                "</soapenv:Body></soapenv:Envelope>" % (SOAP_ENV, op, ns)
            )
            self.send_bytes(200, "text/xml; charset=utf-8", xml.encode())

    def store(self, rec):
        st = self.server.state
        with st.cv:
            st.received.append(rec)
            if st.record:
                with open(st.record, "a", encoding="utf-8") as f:
                    f.write(json.dumps(rec) + "\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    ap = argparse.ArgumentParser(description="Callback sink for pxtsgw tests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--record", help="append one JSON line per callback to this file")
    ap.add_argument("--mode", default="ok", help="initial mode (default ok)")
    ap.add_argument("--quiet", action="store_true", help="no request log on stderr")
    ap.add_argument("--tls-cert", help="PEM certificate (chain): serve HTTPS")
    ap.add_argument("--tls-key", help="PEM private key of --tls-cert")
    a = ap.parse_args()
    if bool(a.tls_cert) != bool(a.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    srv = Server(("127.0.0.1", a.port), Handler)
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        # the handshake happens at accept; a failed one is dropped there
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.state = State(a.mode, a.record)
    srv.quiet = a.quiet
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
