#!/usr/bin/python3
"""demo_callbacks.py - the callback endpoint of `make run` (deploy/demo.sh):
a TerminalStatusNotification service that prints each callback the gateway
sends as one readable line on stdout and answers it 200.

Part of pxtsgw. License: GPL-2.0-or-later. Standard library only.

Usage:
  demo_callbacks.py [--host 127.0.0.1] [--port 8090] [--max-body N]

Lines (one per callback, flushed at once; values with spaces are quoted):
  callback statusNotification correlator=C address=A status=S [address=A status=S]...
  callback statusChanged correlator=C address=A status=S
  callback statusError correlator=C [address=A] messageId=ID text="..."
  callback statusEnd correlator=C
  event reachability-data subscription=ID phoneNumber=N [x-correlator=X]
  event subscription-ended subscription=ID phoneNumber=N reason=R [x-correlator=X]
                                          (CAMARA CloudEvents, application/cloudevents+json:
                                           answered 204)
  callback unreadable reason="..."        (a request that is not such a callback:
                                           answered 400, still printed)

A CloudEvent is read with the json module. The SOAP body is read with a real XML parser (xml.etree.ElementTree, expat);
elements are matched by local name, so qualified and unqualified children
are both understood. A body above --max-body bytes (default 1 MiB) is
refused with 413 without being read. SIGTERM, SIGINT and SIGHUP stop it
quietly (exit 0).
"""

import argparse
import json
import signal
import sys
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_NOTIF = "http://www.csapi.org/schema/parlayx/terminal_status/notification/v2_3/local"
OPERATIONS = ("statusNotification", "statusChanged", "statusError", "statusEnd")


def local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def child_text(elem, name):
    """Text of the first child of elem with that local name, or None."""
    for c in elem:
        if local(c.tag) == name:
            return (c.text or "").strip()
    return None


def show(value):
    """value as one token: quoted when it has spaces, quotes or is empty."""
    value = value.replace("\n", " ").replace("\r", " ")
    if value == "" or any(ch in value for ch in ' "\t'):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def describe(body):
    """(operation, line) for a SOAP callback body; raises ValueError."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise ValueError("not XML: %s" % e) from None
    if root.tag != "{%s}Envelope" % NS_SOAP:
        raise ValueError("not a SOAP 1.1 Envelope: %s" % root.tag)
    soap_body = root.find("{%s}Body" % NS_SOAP)
    if soap_body is None or len(soap_body) == 0:
        raise ValueError("no SOAP Body")
    op_elem = soap_body[0]
    op = local(op_elem.tag)
    if op not in OPERATIONS:
        raise ValueError("unknown operation %s" % op)
    fields = ["callback", op, "correlator=" + show(child_text(op_elem, "correlator") or "")]
    if op == "statusNotification":
        for entry in op_elem:
            if local(entry.tag) == "terminalStatus":
                fields.append("address=" + show(child_text(entry, "address") or ""))
                fields.append("status=" + show(child_text(entry, "currentStatus") or ""))
    elif op == "statusChanged":
        fields.append("address=" + show(child_text(op_elem, "address") or ""))
        fields.append("status=" + show(child_text(op_elem, "currentStatus") or ""))
    elif op == "statusError":
        address = child_text(op_elem, "address")
        if address is not None:
            fields.append("address=" + show(address))
        reason = None
        for c in op_elem:
            if local(c.tag) == "reason":
                reason = c
        if reason is not None:
            fields.append("messageId=" + show(child_text(reason, "messageId") or ""))
            text = child_text(reason, "text") or ""
            variables = [(v.text or "").strip() for v in reason if local(v.tag) == "variables"]
            for i, v in enumerate(variables, 1):
                text = text.replace("%%%d" % i, v)
            fields.append("text=" + show(text))
    return op, " ".join(fields)


def describe_event(body, correlator):
    """the line of a CAMARA CloudEvent (contract section 12); raises ValueError."""
    try:
        ev = json.loads(body)
    except ValueError as e:
        raise ValueError("not JSON: %s" % e) from None
    if not isinstance(ev, dict) or not isinstance(ev.get("data"), dict):
        raise ValueError("not a CloudEvent with data")
    data = ev["data"]
    device = data.get("device") if isinstance(data.get("device"), dict) else {}
    fields = ["event", show(str(ev.get("type", "")).rsplit(".", 1)[-1]),
              "subscription=" + show(str(data.get("subscriptionId", ""))),
              "phoneNumber=" + show(str(device.get("phoneNumber", "")))]
    if "terminationReason" in data:
        fields.append("reason=" + show(str(data["terminationReason"])))
    if correlator:
        fields.append("x-correlator=" + show(correlator))
    return " ".join(fields)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pxtsgw-demo-callbacks"
    max_body = 1 << 20

    def log_message(self, fmt, *args):  # no access log: only callback lines
        pass

    def answer(self, code, body=b"", ctype="text/plain; charset=utf-8"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(200, b"pxtsgw demo callback endpoint: POST callbacks here\n")

    def do_POST(self):
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            self.answer(411, b"Content-Length required\n")
            return
        if length < 0 or length > self.max_body:
            self.close_connection = True
            self.answer(413, b"body too large\n")
            return
        body = self.rfile.read(length)
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype in ("application/cloudevents+json", "application/json"):
            try:
                line = describe_event(body, self.headers.get("x-correlator", ""))
            except ValueError as e:
                print("event unreadable reason=" + show(str(e)), flush=True)
                self.answer(400, (str(e) + "\n").encode())
                return
            print(line, flush=True)
            self.answer(204)
            return
        try:
            op, line = describe(body)
        except ValueError as e:
            print("callback unreadable reason=" + show(str(e)), flush=True)
            self.answer(400, (str(e) + "\n").encode())
            return
        print(line, flush=True)
        resp = ('<?xml version="1.0" encoding="UTF-8"?>'
                '<soapenv:Envelope xmlns:soapenv="%s"><soapenv:Body>'
                '<loc:%sResponse xmlns:loc="%s"/>'
                '</soapenv:Body></soapenv:Envelope>' % (NS_SOAP, op, NS_NOTIF))
        self.answer(200, resp.encode(), "text/xml; charset=utf-8")


def main():
    ap = argparse.ArgumentParser(description="Print pxtsgw callbacks, one line each.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8090)
    ap.add_argument("--max-body", type=int, default=1 << 20)
    a = ap.parse_args()
    Handler.max_body = a.max_body

    def stop(_sig, _frame):
        sys.exit(0)

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, stop)
    try:
        server = ThreadingHTTPServer((a.host, a.port), Handler)
    except OSError as e:
        sys.stderr.write("demo_callbacks.py: cannot listen on %s:%d: %s\n" % (a.host, a.port, e))
        return 1
    server.daemon_threads = True
    try:
        server.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
