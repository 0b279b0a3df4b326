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

Exit status: 0 when done (options: 200; fetch: a 2xx and a NOTIFY); 1 on a
non-2xx final response (options: non-200); 3 when something did not arrive
within --timeout (total, default 5 s); 4 on a transport error (e.g. TCP
connection refused); 2 on bad usage.
"""

import argparse
import sys

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
    a = ap.parse_args()

    server = sipwire.parse_hostport(a.server)
    try:
        return do_options(a, server) if a.mode == "options" else do_fetch(a, server)
    except sipwire.SipError as e:
        if not getattr(a, "body_only", False):
            print("status: none")
        sys.stderr.write("sip_probe: %s\n" % e)
        return 4


if __name__ == "__main__":
    sys.exit(main())
