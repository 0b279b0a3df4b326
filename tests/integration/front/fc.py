#!/usr/bin/python3
# fc.py - raw HTTP clients for tests/integration/test_front.sh: what curl
# cannot show (an answer that arrives before any body byte was sent,
# connections held open, the moment a connection is closed). Every wait
# has a deadline; every result is one line for the script to compare
# exactly. Standard library only.
#
#   fc.py early PORT METHOD PATH LENGTH [HEADER...]
#         sends the request line and headers with Content-Length: LENGTH
#         (no Expect), never a body byte, and reads until the server closes:
#         "STATUS closed BODY" (BODY: the answer's body on one line), or
#         "no answer (closed)", "no answer (timeout)", "STATUS open BODY"
#   fc.py limit PORT N
#         holds N connections from 127.0.0.1, each with one GET /health
#         answered (kept alive), then prints one line per check:
#           "held N"                      the N connections got 200
#           "extra: closed, no answer"    the N+1th connection from 127.0.0.1
#                                         (or "extra: answered STATUS")
#           "127.0.0.2: STATUS"           a connection from 127.0.0.2
#           "held N still served"         a second GET on each held one
#           "after closing one: STATUS"   a new connection from 127.0.0.1
#                                         once one held connection is closed
#                                         (retried for up to 10 s)
#   fc.py idle PORT [get]
#         a connection that sends nothing (get: one GET /health, answered,
#         then nothing): "closed after MS ms" or "not closed within 20 s"
#   fc.py trickle PORT PATH INTERVAL_MS
#         a SOAP POST announcing 100000 body bytes, sent one byte every
#         INTERVAL_MS: "dropped after MS ms, no answer" (or "answered
#         STATUS after MS ms", "not dropped within 20 s")
#   fc.py blackhole PORT READY_FILE
#         a UDP socket on 127.0.0.1:PORT that reads and never answers (a
#         silent presence server); touches READY_FILE once bound, runs until
#         killed
import os
import select
import signal
import socket
import sys
import time

HOST = "127.0.0.1"


def connect(port, src=HOST, timeout=10.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect((HOST, port))
    return s


def read_answer(s, deadline):
    """Reads one HTTP answer (Content-Length framed). Returns (status, body,
    closed), status None when the connection ended or the deadline passed
    before a whole answer; closed tells whether the server closed."""
    buf = b""
    closed = False
    while True:
        head_end = buf.find(b"\r\n\r\n")
        if head_end >= 0:
            head = buf[:head_end].decode("latin-1").split("\r\n")
            length = 0
            for h in head[1:]:
                k, _, v = h.partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v.strip())
            if len(buf) >= head_end + 4 + length:
                status = int(head[0].split()[1])
                return status, buf[head_end + 4:head_end + 4 + length], closed
        if closed:
            return None, buf, True
        left = deadline - time.monotonic()
        if left <= 0:
            return None, buf, False
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return None, buf, False
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            closed = True
        buf += chunk


def wait_closed(s, deadline):
    """True once the server closed s (EOF or reset) before deadline."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        s.settimeout(left)
        try:
            if not s.recv(65536):
                return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True


def get_health(s, deadline):
    s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    status, _, _ = read_answer(s, deadline)
    return status


def cmd_early(port, method, path, length, *headers):
    s = connect(port)
    req = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %s\r\n" % (method, path, length)
    for h in headers:
        req += h + "\r\n"
    s.sendall((req + "\r\n").encode("latin-1"))
    deadline = time.monotonic() + 10
    status, body, closed = read_answer(s, deadline)
    if status is None:
        print("no answer (%s)" % ("closed" if closed else "timeout"))
        return
    if not closed:
        closed = wait_closed(s, deadline)
    print("%d %s %s" % (status, "closed" if closed else "open",
                        body.decode("utf-8", "replace").strip().replace("\n", " ")))


def cmd_limit(port, n, extras=1):
    deadline = time.monotonic() + 15
    held = [connect(port) for _ in range(n)]
    ok = sum(get_health(s, deadline) == 200 for s in held)
    print("held %d" % ok)
    outcomes = {}
    for _ in range(extras):
        extra = connect(port)
        try:
            extra.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _, closed = read_answer(extra, time.monotonic() + 5)
        if status is not None:
            what = "answered %d" % status
        else:
            what = "%s, no answer" % ("closed" if closed else "still open")
        outcomes[what] = outcomes.get(what, 0) + 1
        extra.close()
    for what, k in sorted(outcomes.items()):
        print("extra: %s" % what if extras == 1 else "extra x%d: %s" % (k, what))
    try:
        other = connect(port, src="127.0.0.2")
        print("127.0.0.2: %s" % get_health(other, deadline))
        other.close()
    except OSError as e:
        print("127.0.0.2: %s" % e)
    ok = sum(get_health(s, deadline) == 200 for s in held)
    print("held %d still served" % ok)
    held.pop().close()
    status = None
    end = time.monotonic() + 10
    while status != 200 and time.monotonic() < end:
        try:
            s = connect(port)
            status = get_health(s, min(end, time.monotonic() + 2))
            s.close()
        except OSError:
            status = None
        if status != 200:
            time.sleep(0.05)
    print("after closing one: %s" % status)
    for s in held:
        s.close()


def cmd_idle(port, get=False):
    s = connect(port)
    if get and get_health(s, time.monotonic() + 10) != 200:
        print("GET /health failed")
        return
    t0 = time.monotonic()
    if wait_closed(s, t0 + 20):
        print("closed after %d ms" % ((time.monotonic() - t0) * 1000))
    else:
        print("not closed within 20 s")


def cmd_trickle(port, path, interval_ms):
    s = connect(port)
    s.sendall(("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n"
               "Content-Length: 100000\r\n\r\n" % path).encode())
    t0 = time.monotonic()
    interval = interval_ms / 1000.0
    while time.monotonic() - t0 < 20:
        readable, _, _ = select.select([s], [], [], interval)
        ms = (time.monotonic() - t0) * 1000
        if readable:
            status, _, _ = read_answer(s, time.monotonic() + 2)
            if status is None:
                print("dropped after %d ms, no answer" % ms)
            else:
                print("answered %d after %d ms" % (status, ms))
            return
        try:
            s.sendall(b" ")
        except (BrokenPipeError, ConnectionResetError):
            print("dropped after %d ms, no answer" % ms)
            return
    print("not dropped within 20 s")


def cmd_blackhole(port, ready):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((HOST, port))
    open(ready, "w").close()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    while True:
        s.recv(65536)


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "early":
        cmd_early(int(args[0]), args[1], args[2], args[3], *args[4:])
    elif cmd == "limit":
        cmd_limit(int(args[0]), int(args[1]), int(args[2]) if len(args) > 2 else 1)
    elif cmd == "idle":
        cmd_idle(int(args[0]), len(args) > 1 and args[1] == "get")
    elif cmd == "trickle":
        cmd_trickle(int(args[0]), args[1], int(args[2]))
    elif cmd == "blackhole":
        cmd_blackhole(int(args[0]), args[1])
    else:
        sys.exit("usage: see the head of " + argv[0])


if __name__ == "__main__":
    main(sys.argv)
