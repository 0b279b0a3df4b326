#!/usr/bin/python3
"""raw_fetch.py - closed-loop raw presence fetches over UDP, for tests/bench/run.sh.

The c=1 baseline that SIPp cannot give: SIPp 3.6 reads a coarse clock (4 ms
kernel ticks here), so with -l 1 it starts at most one call per tick
(~250/s) and its response times are multiples of 4 ms. This loop keeps
CONCURRENCY fetches outstanding (default 1) for DURATION seconds and times
each one with a nanosecond clock: SUBSCRIBE (Event: presence, Expires: 0,
constant watcher URI with a user part), then the 2xx and the NOTIFY in
either order, 200 to the NOTIFY. Standard library only; the Python
overhead (~50 us per fetch) is part of the figures.

Prints one line:
  RAW_RESULT fetches=N failed=N duration_s=F rate=F mean_us=F p50_us=N p99_us=N max_us=N first_error=TEXT
Exit: 0 when every fetch succeeded, 1 when some failed, 2 usage.
"""

import argparse
import os
import select
import socket
import sys
import time


def pct(sorted_vals, p):
    if not sorted_vals:
        return 0
    k = max(0, min(len(sorted_vals) - 1, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def header(msg, name):
    """Value of the first header NAME (bytes, lower-case, with colon) or b''."""
    for line in msg.split(b"\r\n")[1:]:
        if not line:
            break
        if line.lower().startswith(name):
            return line[len(name):].strip()
    return b""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True, help="HOST:PORT of the presence server")
    ap.add_argument("--duration", type=float, default=3.0, help="seconds (default 3)")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=2.0, help="per fetch, seconds")
    ap.add_argument("--watcher", default="pxtsgw-bench-py", help="user part of the From")
    ap.add_argument("--rotate", type=int, default=0,
                    help="fetch PRESENTITY-0 .. PRESENTITY-(N-1) in turn (distinct presentities)")
    ap.add_argument("presentity", help="user part, e.g. bench-busy")
    a = ap.parse_args()
    host, _, port = a.server.rpartition(":")
    server = (host, int(port))
    if a.concurrency < 1:
        ap.error("--concurrency must be >= 1")

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((host, 0))
    lport = sock.getsockname()[1]
    tag = "%x" % os.getpid()
    tmpl = (
        "SUBSCRIBE sip:{p}{{r}}@{h}:{sp} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP {h}:{lp};branch=z9hG4bK-{t}-{{n}};rport\r\n"
        "From: <sip:{w}@{h}>;tag={t}-{{n}}\r\n"
        "To: <sip:{p}{{r}}@{h}>\r\n"
        "Call-ID: {{n}}-{t}@{h}\r\n"
        "CSeq: 1 SUBSCRIBE\r\n"
        "Contact: <sip:{w}@{h}:{lp}>\r\n"
        "Max-Forwards: 70\r\n"
        "Event: presence\r\n"
        "Accept: application/pidf+xml\r\n"
        "Expires: 0\r\n"
        "User-Agent: pxtsgw-bench (raw_fetch.py)\r\n"
        "Content-Length: 0\r\n\r\n"
    ).format(p=a.presentity, h=host, sp=server[1], lp=lport, w=a.watcher, t=tag)

    pending = {}  # call-id -> [t0_ns, got_2xx, got_notify]
    lat = []
    failed = 0
    first_error = ""
    seq = 0
    clock = time.perf_counter_ns
    t_start = clock()
    t_end = t_start + int(a.duration * 1e9)
    tmo = int(a.timeout * 1e9)

    def start_one():
        nonlocal seq
        seq += 1
        cid = ("%d-%s@%s" % (seq, tag, host)).encode()
        pending[cid] = [clock(), False, False]
        r = "-%d" % (seq % a.rotate) if a.rotate > 0 else ""
        sock.sendto(tmpl.format(n=seq, r=r).encode(), server)

    def fail(cid, why):
        nonlocal failed, first_error
        failed += 1
        if not first_error:
            first_error = why
        pending.pop(cid, None)

    while True:
        now = clock()
        if now < t_end:
            while len(pending) < a.concurrency:
                start_one()
        elif not pending:
            break
        for cid in [c for c, st in pending.items() if now - st[0] > tmo]:
            fail(cid, "timeout")
        if not pending:
            continue
        r, _, _ = select.select([sock], [], [], 0.05)
        if not r:
            continue
        data = sock.recv(65535)
        cid = header(data, b"call-id:")
        st = pending.get(cid)
        if data.startswith(b"SIP/2.0 "):
            code = data[8:11]
            if st is None or code.startswith(b"1"):
                continue
            if code.startswith(b"2"):
                st[1] = True
            else:
                fail(cid, "SIP " + data[8:data.find(b"\r\n")].decode("latin-1"))
                continue
        elif data.startswith(b"NOTIFY "):
            reply = b"SIP/2.0 200 OK\r\n" + b"".join(
                name + b" " + header(data, name.lower()) + b"\r\n"
                for name in (b"Via:", b"From:", b"To:", b"Call-ID:", b"CSeq:")
            ) + b"Content-Length: 0\r\n\r\n"
            sock.sendto(reply, server)
            if st is None:
                continue
            st[2] = True
        else:
            continue
        if st[1] and st[2]:
            lat.append((clock() - st[0]) // 1000)
            del pending[cid]

    elapsed = (clock() - t_start) / 1e9
    lat.sort()
    mean = sum(lat) / len(lat) if lat else 0.0
    print("RAW_RESULT fetches=%d failed=%d duration_s=%.3f rate=%.1f mean_us=%.1f "
          "p50_us=%d p99_us=%d max_us=%d first_error=%s" % (
              len(lat), failed, elapsed, len(lat) / elapsed if elapsed else 0.0, mean,
              pct(lat, 50), pct(lat, 99), lat[-1] if lat else 0,
              (first_error or "-").replace(" ", "_")))
    return 0 if failed == 0 and lat else 1


if __name__ == "__main__":
    sys.exit(main())
