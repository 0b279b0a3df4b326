#!/usr/bin/python3
"""sip_probe.py - ask a presence server something and print what it says.

Modes:
  sip_probe.py options --server HOST:PORT [--transport udp|tcp] [--timeout S]
      Send OPTIONS to sip:HOST:PORT. Prints the status code. Exit 0 on 200
      (readiness probe: Kamailio answers it as soon as it serves requests).

  sip_probe.py fetch --server HOST:PORT [--transport udp|tcp] [--timeout S]
                     [--from URI] [--expires N] [--event PKG] [--accept TYPE]
                     [--body-only] [-v] PRESENTITY
      A presence fetch (RFC 6665 4.4.3): SUBSCRIBE with Event: presence,
      Accept: application/pidf+xml, Expires: 0, From URI (default
      sip:pxts-probe@127.0.0.1: always with a user part; keep it constant so
      the server's watchers table does not grow). Collects the final response
      and the NOTIFY in either order (the NOTIFY may come first), answers the
      NOTIFY with 200, and prints:

          status: 200                      (or "none": no final response)
          subscription-state: terminated;reason=timeout
          content-type: application/pidf+xml
          content-length: 384
          order: response-first            (or notify-first)
                                           (blank line)
          <the NOTIFY body, as received>

      The last four lines and the body appear only when a NOTIFY came;
      "notify: none" when a 2xx came without a NOTIFY in time. --body-only
      prints just the body. PRESENTITY as in sip_publish.py (sip:alice@host,
      alice@host or a bare user). With --expires N > 0 it is a real
      subscription: the first NOTIFY is printed and the subscription is left
      to expire on the server.

  sip_probe.py request METHOD --server HOST:PORT [--transport udp|tcp]
                     [--count N] [--rate R] [--window W] [--timeout S]
                     [--ruri URI] [--from URI] [--to URI] [--call-id ID]
                     [--from-tag T] [--to-tag T] [--cseq N] [--event PKG]
                     [--state SUBSTATE] [--body TEXT] [--content-type TYPE]
                     [--expect CODE] [--stop-file FILE] [-v]
      Stray requests: sends N (default 1) METHOD requests to HOST:PORT, as a
      peer that has no business there would (a NOTIFY for no subscription, an
      INVITE, a MESSAGE, ...), each a transaction of its own (fresh branch
      and, unless --call-id is given, a fresh Call-ID; From with a fresh tag
      unless --from-tag; To with --to-tag if given). At most R new requests a
      second (default 0: as fast as the window allows) and at most W (default
      64) unanswered at once; over UDP each is retransmitted (RFC 3261 timer
      E) until its final response or --timeout (default 5 s) after the last
      was sent (or the last final response came, when the window is full);
      an INVITE's final response is ACKed. A NOTIFY carries
      Event: --event (default presence) and Subscription-State: --state
      (default active;expires=3600) and, with --body, that body. Prints the
      final status codes counted, then how it went:

          481: 10000                       (one line per final status code)
          none: 0                          (no final response in time)
          sent: 10000
          elapsed-ms: 2140                 (first send to last final response)
          rate: 4672                       (requests answered a second)

      With --expect CODE, exit 0 only when every request got exactly CODE.
      With --stop-file FILE, no new request is sent once FILE exists (N is
      then a cap): a flood that lasts as long as the caller needs.

Exit status: 0 when done (options: 200; fetch: a 2xx and a NOTIFY); 1 on a
non-2xx final response (options: non-200); 3 when something did not arrive
within --timeout (total, default 5 s); 4 on a transport error (e.g. TCP
connection refused); 2 on bad usage. request: 0 when every request got a
final response (with --expect, that code), 3 when some got none, 1 when
--expect was not met.
"""

import argparse
import collections
import re
import os
import select
import socket
import sys
import time

sys.dont_write_bytecode = True
import sipwire  # noqa: E402  (same directory)


def do_options(a, server):
    uri = "sip:%s:%d" % server if ":" not in server[0] else "sip:[%s]:%d" % server
    t = sipwire.Transport(a.transport, server, a.verbose)
    uac = sipwire.Uac(t, "pxtsgw-sip-probe")
    uac.on_request = lambda m: uac.reply(m, 405, "Method Not Allowed")
    req = uac.build("OPTIONS", uri, a.from_uri, uri, [("Accept", "application/sdp")])
    resp = uac.transact(req, a.timeout)
    t.close()
    if resp is None:
        print("status: none")
        return 3
    print("status: %d" % resp.status)
    return 0 if resp.status == 200 else 1


def do_fetch(a, server):
    uri = sipwire.presentity_uri(a.presentity, server[0])
    t = sipwire.Transport(a.transport, server, a.verbose)
    uac = sipwire.Uac(t, "pxtsgw-sip-probe")
    got = {"notify": None, "order": None}

    def on_request(m):
        if m.method == "NOTIFY" and m.get("Call-ID") == uac.call_id:
            uac.reply(m, 200, "OK")           # also answers retransmissions
            if got["notify"] is None:
                got["notify"] = m
                got["order"] = "notify-first" if not got.get("final") else "response-first"
        else:
            uac.reply(m, 481 if m.method == "NOTIFY" else 405,
                      "Call/Transaction Does Not Exist" if m.method == "NOTIFY"
                      else "Method Not Allowed")

    def stop_on(final):
        got["final"] = final
        if not 200 <= final.status < 300:
            return True                       # no NOTIFY after a failure
        return got["notify"] is not None

    uac.on_request = on_request
    contact = "<sip:%s@%s%s>" % (a.from_uri.split(":", 1)[1].split("@")[0]
                                 if "@" in a.from_uri else "probe",
                                 t.hostport(),
                                 ";transport=tcp" if a.transport == "tcp" else "")
    headers = [("Contact", contact), ("Event", a.event), ("Accept", a.accept),
               ("Expires", str(a.expires)), ("Allow", "NOTIFY")]
    req = uac.build("SUBSCRIBE", uri, a.from_uri, uri, headers)
    resp = uac.transact(req, a.timeout, stop_on)
    t.close()

    n = got["notify"]
    if a.body_only:
        if n is not None:
            sys.stdout.buffer.write(n.body)
    else:
        out = ["status: %s" % (resp.status if resp is not None else "none")]
        if n is not None:
            out += ["subscription-state: %s" % n.get("Subscription-State", ""),
                    "content-type: %s" % n.get("Content-Type", ""),
                    "content-length: %d" % len(n.body),
                    "order: %s" % got["order"], ""]
        elif resp is not None and 200 <= resp.status < 300:
            out.append("notify: none")
        sys.stdout.write("\n".join(out) + "\n")
        if n is not None:
            sys.stdout.flush()
            sys.stdout.buffer.write(n.body)
            if n.body and not n.body.endswith(b"\n"):
                sys.stdout.buffer.write(b"\n")
    if resp is None:
        return 3
    if not 200 <= resp.status < 300:
        return 1
    return 0 if n is not None else 3


RESP_RE = re.compile(rb"^SIP/2\.0 (\d{3})")
BRANCH_RE = re.compile(rb"(?im)^(?:via|v)[ \t]*:[^\r\n]*?;[ \t]*branch=([^;,\s]+)")
TO_RE = re.compile(rb"(?im)^(?:to|t)[ \t]*:[ \t]*([^\r\n]*)")


def do_request(a, server):
    """Stray requests, counted by final status code (see the module doc)."""
    method = a.method.upper()
    t = sipwire.Transport(a.transport, server, a.verbose)
    host = "%s:%d" % server if ":" not in server[0] else "[%s]:%d" % server
    ruri = a.ruri or "sip:pxtsgw@%s" % host
    to_uri = a.to_uri or ruri
    via_proto = "SIP/2.0/%s %s" % (t.proto.upper(), t.hostport())
    contact = "<sip:probe@%s%s>" % (t.hostport(), ";transport=tcp" if t.reliable else "")
    body = a.body.encode("utf-8") if a.body else b""
    extra = ""
    if method in ("NOTIFY", "SUBSCRIBE", "PUBLISH"):
        extra += "Event: %s\r\n" % a.event
    if method == "NOTIFY":
        extra += "Subscription-State: %s\r\n" % a.state
    if method == "SUBSCRIBE":
        extra += "Expires: 60\r\nAccept: application/pidf+xml\r\n"
    if body:
        extra += "Content-Type: %s\r\n" % (a.content_type or
                                             ("application/pidf+xml" if method in ("NOTIFY", "PUBLISH")
                                              else "text/plain"))
    run = sipwire.rand_token(6)
    cseq0 = a.cseq if a.cseq is not None else 1

    def build(i, branch):
        call_id = a.call_id or "%s-%d@probe" % (run, i)
        ftag = a.from_tag or "%s%d" % (run, i)
        to = "<%s>" % to_uri + (";tag=%s" % a.to_tag if a.to_tag else "")
        return ("%s %s SIP/2.0\r\n"
                "Via: %s;branch=%s;rport\r\n"
                "Max-Forwards: 70\r\n"
                "From: <%s>;tag=%s\r\n"
                "To: %s\r\n"
                "Call-ID: %s\r\n"
                "CSeq: %d %s\r\n"
                "Contact: %s\r\n"
                "User-Agent: pxtsgw-sip-probe\r\n"
                "%s"
                "Content-Length: %d\r\n\r\n"
                % (method, ruri, via_proto, branch, a.from_uri, ftag, to, call_id,
                   cseq0 + (i if a.call_id else 0), method, contact, extra, len(body))
                ).encode("utf-8") + body

    def ack_for(req, resp_to):
        # RFC 3261 17.1.1.3: the ACK of a non-2xx final response
        head = req.split(b"\r\n\r\n", 1)[0].decode("utf-8")
        lines = head.split("\r\n")
        out = ["ACK %s SIP/2.0" % ruri]
        for ln in lines[1:]:
            n = ln.split(":", 1)[0].lower()
            if n in ("via", "max-forwards", "from", "call-id"):
                out.append(ln)
            elif n == "to":
                out.append("To: %s" % resp_to)
            elif n == "cseq":
                out.append("CSeq: %s ACK" % ln.split(":", 1)[1].split()[0])
        out.append("Content-Length: 0")
        return ("\r\n".join(out) + "\r\n\r\n").encode("utf-8")

    pending = {}                 # branch -> [request, next retransmission, interval]
    codes = collections.Counter()
    sent = 0
    start = time.monotonic()
    last_final = start
    last_send = start
    gap = 1.0 / a.rate if a.rate > 0 else 0.0
    next_new = start
    window = max(1, a.window)
    sock = t.sock
    sock.setblocking(False)
    buf = b""

    def send(data):
        if a.verbose:
            sys.stderr.write("--- sent ---\n%s\n" % data.decode("utf-8", "replace"))
        try:
            if t.reliable:
                sock.setblocking(True)
                sock.sendall(data)
                sock.setblocking(False)
            else:
                sock.send(data)
        except BlockingIOError:
            pass                 # UDP buffer full: the retransmission will do
        except OSError as e:
            raise sipwire.SipError("send failed: %s" % e)

    def on_message(data):
        nonlocal last_final
        m = RESP_RE.match(data)
        if not m:
            return               # a request to us: nothing of ours
        if a.verbose:
            sys.stderr.write("--- received ---\n%s\n" % data.decode("utf-8", "replace"))
        code = int(m.group(1))
        b = BRANCH_RE.search(data)
        entry = pending.get(b.group(1).decode("ascii", "replace")) if b else None
        if entry is None or code < 200:
            if entry is not None and not t.reliable:
                entry[2] = sipwire.T2    # provisional: retransmit at T2
            return
        del pending[b.group(1).decode("ascii", "replace")]
        codes[code] += 1
        last_final = time.monotonic()
        if method == "INVITE":
            to = TO_RE.search(data)
            send(ack_for(entry[0], to.group(1).decode("utf-8", "replace").strip() if to else ""))

    while True:
        now = time.monotonic()
        if a.stop_file and sent < a.count and os.path.exists(a.stop_file):
            a.count = sent       # told to stop: the pending ones are still awaited
        while sent < a.count and len(pending) < window and now >= next_new:
            branch = "z9hG4bK%s%d" % (run, sent)
            req = build(sent, branch)
            send(req)
            pending[branch] = [req, now + sipwire.T1, sipwire.T1]
            sent += 1
            last_send = now
            next_new = max(next_new + gap, now - 0.1) if gap else now
        if sent >= a.count and not pending:
            break
        if now - max(last_send, last_final) > a.timeout:
            break                # nothing moves any more
        if not t.reliable:
            for entry in pending.values():
                if now >= entry[1]:
                    send(entry[0])
                    entry[2] = min(entry[2] * 2, sipwire.T2)
                    entry[1] = now + entry[2]
        wait = 0.05
        if sent < a.count and len(pending) < window:
            wait = max(0.0, min(wait, next_new - now))
        r, _, _ = select.select([sock], [], [], wait)
        if not r:
            continue
        for _ in range(256):
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                break
            except OSError as e:
                raise sipwire.SipError("receive failed: %s" % e)
            if not t.reliable:
                on_message(data)
                continue
            if not data:
                raise sipwire.SipError("connection closed by the server")
            buf += data
            while True:
                buf = buf.lstrip(b"\r\n")
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                total = end + 4 + sipwire.header_content_length(buf[:end])
                if len(buf) < total:
                    break
                on_message(buf[:total])
                buf = buf[total:]
    t.close()
    elapsed = max(last_final - start, 1e-6)
    for code in sorted(codes):
        print("%d: %d" % (code, codes[code]))
    print("none: %d" % len(pending))
    print("sent: %d" % sent)
    print("elapsed-ms: %d" % (elapsed * 1000))
    print("rate: %d" % (sum(codes.values()) / elapsed))
    if a.expect is not None:
        return 0 if codes[a.expect] == sent and not pending else 1
    return 0 if not pending else 3


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", required=True, help="HOST:PORT of the presence server")
    common.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    common.add_argument("--timeout", type=float, default=5.0,
                        help="seconds to wait in total (default 5)")
    common.add_argument("--from", dest="from_uri", default="sip:pxts-probe@127.0.0.1")
    common.add_argument("-v", "--verbose", action="store_true",
                        help="dump sent and received messages to stderr")
    sub.add_parser("options", parents=[common], help="send OPTIONS, exit 0 on 200")
    f = sub.add_parser("fetch", parents=[common], help="SUBSCRIBE Expires 0 and print the NOTIFY")
    f.add_argument("presentity")
    f.add_argument("--expires", type=int, default=0)
    f.add_argument("--event", default="presence")
    f.add_argument("--accept", default="application/pidf+xml")
    f.add_argument("--body-only", action="store_true")
    r = sub.add_parser("request", parents=[common], help="stray requests, final codes counted")
    r.add_argument("method")
    r.add_argument("--count", type=int, default=1)
    r.add_argument("--rate", type=float, default=0.0, help="new requests a second (0: no limit)")
    r.add_argument("--window", type=int, default=64, help="unanswered requests at most")
    r.add_argument("--stop-file", help="no new request once this file exists")
    r.add_argument("--ruri", help="request-URI (default sip:pxtsgw@SERVER)")
    r.add_argument("--to", dest="to_uri", help="To URI (default: the request-URI)")
    r.add_argument("--call-id", help="one Call-ID for all (CSeq then grows by one each)")
    r.add_argument("--from-tag")
    r.add_argument("--to-tag")
    r.add_argument("--cseq", type=int)
    r.add_argument("--event", default="presence")
    r.add_argument("--state", default="active;expires=3600", help="NOTIFY Subscription-State")
    r.add_argument("--body")
    r.add_argument("--content-type")
    r.add_argument("--expect", type=int, help="exit 0 only when every request got this code")
    a = ap.parse_args()

    server = sipwire.parse_hostport(a.server)
    try:
        if a.mode == "request":
            return do_request(a, server)
        return do_options(a, server) if a.mode == "options" else do_fetch(a, server)
    except sipwire.SipError as e:
        if a.mode == "fetch" and not a.body_only or a.mode == "options":
            print("status: none")
        sys.stderr.write("sip_probe: %s\n" % e)
        return 4


if __name__ == "__main__":
    sys.exit(main())
