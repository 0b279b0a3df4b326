"""sipwire - the minimal SIP plumbing shared by sip_publish.py and sip_probe.py.

Standard library only (run with /usr/bin/python3). Enough SIP to be a UAC
towards a presence server on 127.0.0.1 over UDP or TCP: build requests, send
them (retransmitting over UDP with RFC 3261 timer E), read and parse messages
from a datagram socket or a TCP stream, and answer NOTIFYs with 200.

Not a SIP stack: no DNS, no TLS, no forking, no authentication, no dialog
state beyond what a single fetch or publish needs.
"""

import os
import random
import re
import socket
import sys
import time

T1 = 0.5
T2 = 4.0

# Compact header forms (RFC 3261 7.3.3 and extensions) -> canonical names.
COMPACT = {
    "i": "Call-ID", "f": "From", "t": "To", "v": "Via", "l": "Content-Length",
    "c": "Content-Type", "o": "Event", "m": "Contact", "e": "Content-Encoding",
    "k": "Supported", "s": "Subject", "u": "Allow-Events", "x": "Session-Expires",
    "r": "Refer-To", "b": "Referred-By",
}
CANON = {n.lower(): n for n in (
    "Call-ID", "From", "To", "Via", "Content-Length", "Content-Type", "Event",
    "Contact", "CSeq", "Expires", "SIP-ETag", "SIP-If-Match", "Subscription-State",
    "Max-Forwards", "Allow", "Allow-Events", "Accept", "User-Agent", "Server",
    "Record-Route", "Route", "Min-Expires", "Retry-After", "Warning")}


class SipError(Exception):
    """A transport-level failure (connection refused, reset, ...)."""


def rand_token(n=10):
    return "%0*x" % (n, random.getrandbits(4 * n))


def parse_hostport(s, default_port=5060):
    """'127.0.0.1:5080' -> ('127.0.0.1', 5080)."""
    if s.startswith("["):
        host, _, rest = s[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = s.rpartition(":") if ":" in s else (s, "", "")
    return host, int(port) if port else default_port


def presentity_uri(arg, server_host):
    """Accept 'sip:alice@host', 'alice@host' or a bare 'alice' (-> sip:alice@SERVER)."""
    if re.match(r"^(sips?|tel|pres):", arg):
        return arg
    if "@" in arg:
        return "sip:" + arg
    return "sip:%s@%s" % (arg, server_host)


class Message:
    """A parsed SIP message. Headers keep their order; names are canonical."""

    def __init__(self, first_line, headers, body):
        self.first_line = first_line
        self.headers = headers          # list of (name, value)
        self.body = body                # bytes
        parts = first_line.split(" ", 2)
        if parts[0].startswith("SIP/"):
            self.is_response = True
            self.status = int(parts[1])
            self.reason = parts[2] if len(parts) > 2 else ""
            self.method = None
        else:
            self.is_response = False
            self.status = None
            self.method = parts[0]
            self.uri = parts[1] if len(parts) > 1 else ""

    def get(self, name, default=None):
        name = CANON.get(name.lower(), name).lower()
        for n, v in self.headers:
            if n.lower() == name:
                return v
        return default

    def get_all(self, name):
        name = CANON.get(name.lower(), name).lower()
        return [v for n, v in self.headers if n.lower() == name]

    def cseq(self):
        v = self.get("CSeq", "0 X").split()
        return int(v[0]), v[1] if len(v) > 1 else ""

    def top_branch(self):
        via = self.get("Via", "")
        m = re.search(r";\s*branch=([^;,\s]+)", via)
        return m.group(1) if m else None

    def raw(self):
        lines = [self.first_line] + ["%s: %s" % hv for hv in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


def parse_message(data):
    """Parse one complete SIP message (bytes). Returns Message or None."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    text = head.decode("utf-8", "replace")
    lines = re.split(r"\r?\n", text)
    while lines and not lines[0].strip():
        lines.pop(0)                    # keep-alive CRLFs before a message
    if not lines:
        return None
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:     # folded continuation
            n, v = headers[-1]
            headers[-1] = (n, v + " " + line.strip())
            continue
        name, colon, value = line.partition(":")
        if not colon:
            continue
        name = name.strip()
        name = COMPACT.get(name, name) if len(name) == 1 else name
        name = CANON.get(name.lower(), name)
        headers.append((name, value.strip()))
    return Message(lines[0], headers, body)


def header_content_length(head):
    m = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)", head)
    return int(m.group(1)) if m else 0


class Transport:
    """One socket towards the server. UDP: connected datagram socket (the
    server must send its responses and NOTIFYs from the address we talk to,
    which Kamailio does). TCP: one connection, used for everything."""

    def __init__(self, proto, server, verbose=False):
        self.proto = proto
        self.server = server
        self.verbose = verbose
        self.buf = b""
        fam = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
        local = "::1" if fam == socket.AF_INET6 else "127.0.0.1"
        if server[0] not in ("127.0.0.1", "::1", "localhost"):
            local = ""                  # let the kernel choose
        if proto == "udp":
            self.sock = socket.socket(fam, socket.SOCK_DGRAM)
            self.sock.bind((local, 0))
            self.sock.connect(server)
        else:
            self.sock = socket.socket(fam, socket.SOCK_STREAM)
            self.sock.bind((local, 0))
            self.sock.settimeout(3.0)
            try:
                self.sock.connect(server)
            except OSError as e:
                raise SipError("connect to %s:%d failed: %s" % (server[0], server[1], e))
        self.local = self.sock.getsockname()[:2]

    @property
    def reliable(self):
        return self.proto == "tcp"

    def hostport(self):
        h, p = self.local
        return ("[%s]:%d" % (h, p)) if ":" in h else ("%s:%d" % (h, p))

    def send(self, data):
        if self.verbose:
            sys.stderr.write("--- sent (%s) ---\n%s\n" % (self.proto, data.decode("utf-8", "replace")))
        try:
            self.sock.settimeout(5.0)   # recv() may have left a tiny timeout
            if self.proto == "udp":
                self.sock.send(data)
            else:
                self.sock.sendall(data)
        except OSError as e:
            raise SipError("send failed: %s" % e)

    def recv(self, timeout):
        """Next complete message within timeout seconds, or None."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if self.proto == "tcp":
                msg = self._from_stream()
                if msg is not None:
                    return self._log(msg)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return None
            except OSError as e:
                raise SipError("receive failed: %s" % e)
            if self.proto == "udp":
                msg = parse_message(data)
                if msg is not None:
                    return self._log(msg)
                continue
            if not data:
                raise SipError("connection closed by the server")
            self.buf += data

    def _from_stream(self):
        self.buf = self.buf.lstrip(b"\r\n")    # CRLF keep-alives
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self.buf[:end]
        total = end + 4 + header_content_length(head)
        if len(self.buf) < total:
            return None
        data, self.buf = self.buf[:total], self.buf[total:]
        return parse_message(data)

    def _log(self, msg):
        if self.verbose:
            sys.stderr.write("--- received (%s) ---\n%s\n"
                             % (self.proto, msg.raw().decode("utf-8", "replace")))
        return msg

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Uac:
    """Sends requests of one Call-ID and collects what comes back."""

    def __init__(self, transport, user_agent="pxtsgw-test-tool"):
        self.t = transport
        self.call_id = "%s@%s" % (rand_token(16), transport.local[0])
        self.from_tag = rand_token(8)
        self.cseq = random.randint(1, 20000)
        self.user_agent = user_agent
        self.on_request = None          # callback(msg) for in-coming requests

    def build(self, method, ruri, from_uri, to_uri, headers=(), body=b"",
              content_type=None):
        self.cseq += 1
        self.branch = "z9hG4bK" + rand_token(16)
        h = [
            ("Via", "SIP/2.0/%s %s;branch=%s;rport"
             % (self.t.proto.upper(), self.t.hostport(), self.branch)),
            ("Max-Forwards", "70"),
            ("From", "<%s>;tag=%s" % (from_uri, self.from_tag)),
            ("To", "<%s>" % to_uri),
            ("Call-ID", self.call_id),
            ("CSeq", "%d %s" % (self.cseq, method)),
            ("User-Agent", self.user_agent),
        ]
        h.extend(headers)
        if body:
            h.append(("Content-Type", content_type or "application/octet-stream"))
        h.append(("Content-Length", str(len(body))))
        lines = ["%s %s SIP/2.0" % (method, ruri)] + ["%s: %s" % hv for hv in h]
        self.method = method
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body

    def transact(self, request, timeout, stop_on=None):
        """Send request, retransmit over UDP, return the final response or
        None on timeout. Requests that arrive meanwhile go to on_request.
        stop_on(final): an extra condition checked after each message once the
        final response is in; return as soon as it says True. Without it,
        return at the final response."""
        self.t.send(request)
        start = time.monotonic()
        deadline = start + timeout
        interval = T1
        next_rtx = start + interval
        final = None
        while True:
            now = time.monotonic()
            if final is not None and (stop_on is None or stop_on(final)):
                return final
            if now >= deadline:
                return final
            wait = deadline - now
            if final is None and not self.t.reliable:
                wait = min(wait, max(0.0, next_rtx - now))
            msg = self.t.recv(wait)
            if msg is None:
                if final is None and not self.t.reliable and time.monotonic() >= next_rtx:
                    self.t.send(request)
                    interval = min(interval * 2, T2)
                    next_rtx = time.monotonic() + interval
                continue
            if not msg.is_response:
                if self.on_request is not None:
                    self.on_request(msg)
                continue
            if msg.top_branch() != self.branch or msg.cseq()[1] != self.method:
                continue                # stray or late response
            if msg.status < 200:
                interval = T2           # provisional: keep retransmitting at T2
                continue
            if final is None:
                final = msg

    def reply(self, req, status, reason, extra=()):
        """Answer an incoming request (e.g. NOTIFY) on the same socket."""
        h = [("Via", v) for v in req.get_all("Via")]
        to = req.get("To", "")
        if status > 100 and ";tag=" not in to.replace(" ", ""):
            to += ";tag=" + rand_token(8)
        h += [("From", req.get("From", "")), ("To", to),
              ("Call-ID", req.get("Call-ID", "")), ("CSeq", req.get("CSeq", "")),
              ("User-Agent", self.user_agent)]
        h.extend(extra)
        h.append(("Content-Length", "0"))
        lines = ["SIP/2.0 %d %s" % (status, reason)] + ["%s: %s" % hv for hv in h]
        self.t.send(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))


def die_usage(msg):
    sys.stderr.write("%s: %s\n" % (os.path.basename(sys.argv[0]), msg))
    sys.exit(2)
