#!/usr/bin/python3
"""pub_load.py - presence changes at a fixed rate, for tests/bench/bench.sh.

  pub_load.py init --server H:P --prefix P --count N --state FILE
      one PUBLISH (Reachable: basic open, no activity) for each of the
      presentities sip:P-0@H .. sip:P-(N-1)@H, at most 64 outstanding;
      keeps each publication's ETag in FILE (JSON).
  pub_load.py run --server H:P --state FILE --rate R --duration S --log FILE
      modifies those publications (SIP-If-Match) at R changes a second for
      S seconds, the presentities in turn, each change the other status of
      that presentity (Busy = open + rpid on-the-phone, Reachable = open):
      one UDP socket, non-blocking, paced on a monotonic clock (sends what
      is due each millisecond), answers read in between. A presentity whose
      previous PUBLISH is still unanswered is skipped in its turn (counted).
      Appends one line per change that got a 2xx to LOG:
      "SEND_TIME_NS ADDRESS STATUS" (CLOCK_REALTIME, taken just before the
      datagram went out) and updates FILE.

Prints one line: PUB_RESULT sent=N ok=N failed=N skipped=N seconds=F
rate=F late_ms=F retrans=N codes=CODE:N,... (retrans: datagrams sent again
after 0.5, 1, 2, 4 s without an answer, as a SIP UAC does over UDP; late_ms: how far the sender fell behind
the schedule at worst; codes: the failures, by final status or "timeout"). Exit 0 when every PUBLISH got a 2xx, 1 otherwise, 2 on bad usage.
This is the baseline of the callback rows: the rate it achieved.

Part of pxtsgw. License: GPL-2.0-or-later. Standard library only.
"""
import argparse
import json
import os
import select
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import sip_publish  # noqa: E402

STATUS_ACT = {"Busy": ["on-the-phone"], "Reachable": []}


class Publisher:
    def __init__(self, server):
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((server[0], 0))
        self.sock.setblocking(False)
        self.lport = self.sock.getsockname()[1]
        self.n = 0
        self.pending = {}     # call-id -> (address, status, send_ns, mono)
        self.wire = {}        # call-id -> [datagram, next retransmission, interval]
        self.retrans = 0
        self.bodies = {}

    def body(self, addr, status):
        key = (addr, status)
        b = self.bodies.get(key)
        if b is None:
            b = sip_publish.build_pidf(addr, "open", STATUS_ACT[status], "rpid", "t1", None)
            self.bodies[key] = b
        return b

    def send(self, addr, status, etag):
        self.n += 1
        cid = "pl%d-%d-%d" % (os.getpid(), self.lport, self.n)
        body = self.body(addr, status)
        head = ("PUBLISH %s SIP/2.0\r\n"
                "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s;rport\r\n"
                "Max-Forwards: 70\r\n"
                "From: <%s>;tag=%s\r\n"
                "To: <%s>\r\n"
                "Call-ID: %s\r\n"
                "CSeq: 1 PUBLISH\r\n"
                "Event: presence\r\n"
                "Expires: 3600\r\n"
                "%s"
                "Content-Type: application/pidf+xml\r\n"
                "Content-Length: %d\r\n\r\n") % (
            addr, self.server[0], self.lport, cid, addr, cid, addr, cid,
            ("SIP-If-Match: %s\r\n" % etag) if etag else "", len(body))
        data = head.encode() + body
        t = time.time_ns()
        self.sock.sendto(data, self.server)
        now = time.monotonic()
        self.pending[cid] = (addr, status, t, now)
        self.wire[cid] = [data, now + 0.5, 0.5]
        return cid

    def retransmit(self):
        """RFC 3261 timer E over UDP: again after 0.5, 1, 2, 4 s."""
        now = time.monotonic()
        for w in self.wire.values():
            if w[1] <= now:
                self.sock.sendto(w[0], self.server)
                self.retrans += 1
                w[2] = min(w[2] * 2, 4.0)
                w[1] = now + w[2]

    def done(self, cid):
        self.wire.pop(cid, None)
        return self.pending.pop(cid)

    def read(self, timeout):
        """Answers that came within timeout: a list of (call-id, code, etag)."""
        out = []
        r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not r:
            return out
        while True:
            try:
                data = self.sock.recv(65535)
            except BlockingIOError:
                return out
            head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").split("\r\n")
            try:
                code = int(head[0].split()[1])
            except (IndexError, ValueError):
                continue
            if code < 200:
                continue
            cid = etag = None
            for line in head[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name in ("call-id", "i"):
                    cid = value.strip()
                elif name == "sip-etag":
                    etag = value.strip()
            if cid in self.pending:
                out.append((cid, code, etag))


def do_init(a, server):
    p = Publisher(server)
    addrs = ["sip:%s-%d@%s" % (a.prefix, i, server[0]) for i in range(a.first, a.first + a.count)]
    state, failed, i = {}, 0, 0
    deadline_of = {}
    while i < len(addrs) or p.pending:
        while i < len(addrs) and len(p.pending) < 64:
            cid = p.send(addrs[i], "Reachable", None)
            deadline_of[cid] = time.monotonic() + 5
            i += 1
        p.retransmit()
        for cid, code, etag in p.read(0.05):
            if cid not in p.pending:
                continue    # answered twice (a retransmission)
            addr, status, _, _ = p.done(cid)
            if 200 <= code < 300 and etag:
                state[addr] = [etag, status]
            else:
                failed += 1
        now = time.monotonic()
        for cid in [c for c in p.pending if deadline_of[c] < now]:
            p.done(cid)
            failed += 1
    with open(a.state, "w") as f:
        json.dump(state, f)
    print("PUB_INIT published=%d failed=%d" % (len(state), failed))
    return 0 if failed == 0 else 1


def do_run(a, server):
    with open(a.state) as f:
        state = json.load(f)
    addrs = sorted(state)
    if not addrs:
        print("PUB_RESULT sent=0 ok=0 failed=0 skipped=0 seconds=0 rate=0 late_ms=0")
        return 1
    p = Publisher(server)
    busy = set()          # addresses with a PUBLISH unanswered
    log = open(a.log, "a")
    sent = ok = failed = skipped = 0
    codes = {}
    late = 0.0
    k = 0
    t0 = time.monotonic()
    total = int(a.rate * a.duration)

    def absorb(timeout):
        nonlocal ok, failed
        p.retransmit()
        for cid, code, etag in p.read(timeout):
            if cid not in p.pending:
                continue    # answered twice (a retransmission)
            addr, status, t_ns, _ = p.done(cid)
            busy.discard(addr)
            if 200 <= code < 300 and etag:
                state[addr] = [etag, status]
                log.write("%d %s %s\n" % (t_ns, addr, status))
                ok += 1
            else:
                failed += 1
                codes[str(code)] = codes.get(str(code), 0) + 1
        now = time.monotonic()
        for cid in [c for c, v in p.pending.items() if v[3] + 8 < now]:
            busy.discard(p.done(cid)[0])
            failed += 1
            codes["timeout"] = codes.get("timeout", 0) + 1

    while sent + skipped < total:
        now = time.monotonic()
        due = min(total, int((now - t0) * a.rate))
        if due > sent + skipped:
            late = max(late, (now - t0 - (sent + skipped) / a.rate) * 1000)
        while sent + skipped < due:
            addr = addrs[k % len(addrs)]
            k += 1
            if addr in busy:
                skipped += 1
                continue
            etag, status = state[addr]
            busy.add(addr)
            p.send(addr, "Busy" if status == "Reachable" else "Reachable", etag)
            sent += 1
        next_t = t0 + (sent + skipped + 1) / a.rate
        absorb(min(0.001, max(0.0, next_t - time.monotonic())))
    seconds = time.monotonic() - t0
    drain_end = time.monotonic() + 8
    while p.pending and time.monotonic() < drain_end:
        absorb(0.05)
    failed += len(p.pending)
    if p.pending:
        codes["timeout"] = codes.get("timeout", 0) + len(p.pending)
    log.close()
    with open(a.state, "w") as f:
        json.dump(state, f)
    print("PUB_RESULT sent=%d ok=%d failed=%d skipped=%d seconds=%.3f rate=%.1f late_ms=%.1f retrans=%d codes=%s"
          % (sent, ok, failed, skipped, seconds, ok / seconds if seconds > 0 else 0, late, p.retrans,
             ",".join("%s:%d" % kv for kv in sorted(codes.items())) or "-"))
    return 0 if failed == 0 and ok == sent else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("init", "run"))
    ap.add_argument("--server", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--prefix", default="nt")
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--rate", type=float, default=500)
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--log")
    a = ap.parse_args()
    host, _, port = a.server.rpartition(":")
    server = (host, int(port))
    if a.mode == "init":
        if a.count <= 0:
            ap.error("init needs --count")
        return do_init(a, server)
    if not a.log or a.rate <= 0 or a.duration <= 0:
        ap.error("run needs --log, --rate > 0 and --duration > 0")
    return do_run(a, server)


if __name__ == "__main__":
    sys.exit(main())
