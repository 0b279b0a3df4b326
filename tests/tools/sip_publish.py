#!/usr/bin/python3
"""sip_publish.py - publish presence for one presentity (RFC 3903 PUBLISH).

Sends one PUBLISH (Event: presence, application/pidf+xml) to a presence server,
waits for the final response, prints the SIP-ETag on stdout.

Usage:
  sip_publish.py --server 127.0.0.1:PORT [--transport udp|tcp] [options] PRESENTITY

  PRESENTITY        sip:alice@127.0.0.1, alice@127.0.0.1, or alice
                    (a bare user becomes sip:alice@<server host>). It is the
                    request-URI, the To and the From (with a tag).
Body (default: one tuple, basic open, no activity):
  --basic open|closed          the tuple's <basic> (default open)
  --activity NAME              an RPID activity, e.g. on-the-phone, busy, away
                               (repeatable)
  --activity-shape rpid|rpid-status
      rpid        RFC 4480: <dm:person><rpid:activities><rpid:NAME/>... (default)
      rpid-status the older RPID draft used by deployed gateways: namespace
                  urn:ietf:params:xml:ns:pidf:status:rpid-status,
                  <ep:activities><ep:activity>NAME</ep:activity></ep:activities>
                  inside the tuple's <status>
  --tuple-id ID                tuple id (default t1); the person id is p-ID
  --note TEXT                  a <note> in the tuple
  --body-file FILE             send FILE as the body as it is ('-' = stdin)
  --content-type TYPE          with --body-file (default application/pidf+xml)
Publication control:
  --expires N                  Expires (default 3600)
  --if-match ETAG              SIP-If-Match: modify the publication ETAG
  --refresh                    refresh ETAG (needs --if-match): no body
  --remove                     remove ETAG (needs --if-match): Expires 0, no body
Other:
  --timeout S                  wait at most S seconds for the final response (default 5)
  --print-status               print "STATUS ETAG" instead of just the ETag
  -v, --verbose                dump sent and received messages to stderr

Several publications for one presentity (multi-tuple tests): run the tool
twice with different --tuple-id values. Each run is a separate publication
with its own ETag; the server aggregates them into one document with two
tuples. To change one later, pass its ETag with --if-match.

Exit status: 0 on a 2xx; 1 on another final response (the status line goes
to stderr); 3 when no final response came within --timeout; 4 on a transport
error (e.g. TCP connection refused); 2 on bad usage.
"""

import argparse
import sys

sys.dont_write_bytecode = True
import sipwire  # noqa: E402  (same directory)

NS_PIDF = "urn:ietf:params:xml:ns:pidf"
NS_DM = "urn:ietf:params:xml:ns:pidf:data-model"
NS_RPID = "urn:ietf:params:xml:ns:pidf:rpid"
NS_RPID_STATUS = "urn:ietf:params:xml:ns:pidf:status:rpid-status"


def xml_escape(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def build_pidf(entity, basic, activities, shape, tuple_id, note):
    tid = xml_escape(tuple_id)
    ns = ['xmlns="%s"' % NS_PIDF]
    status = ["<basic>%s</basic>" % basic]
    person = []
    if activities and shape == "rpid-status":
        ns.append('xmlns:ep="%s"' % NS_RPID_STATUS)
        status.append("<ep:activities>"
                      + "".join("<ep:activity>%s</ep:activity>" % xml_escape(a)
                                for a in activities)
                      + "</ep:activities>")
    elif activities:
        ns.append('xmlns:dm="%s"' % NS_DM)
        ns.append('xmlns:rpid="%s"' % NS_RPID)
        person = ['  <dm:person id="p-%s">' % tid,
                  "    <rpid:activities>"
                  + "".join("<rpid:%s/>" % a for a in activities)
                  + "</rpid:activities>",
                  "  </dm:person>"]
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<presence %s entity="%s">' % (" ".join(ns), xml_escape(entity)),
             '  <tuple id="%s">' % tid,
             "    <status>%s</status>" % "".join(status)]
    if note:
        lines.append("    <note>%s</note>" % xml_escape(note))
    lines.append("  </tuple>")
    lines += person
    lines.append("</presence>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def send_publish(server, uri, body, if_match=None, expires=3600, transport="udp",
                 content_type="application/pidf+xml", timeout=5.0, verbose=False):
    """One PUBLISH of uri (request-URI, To and From) with body; returns the
    final response (a sipwire.Message) or None when none came in time.
    Raises sipwire.SipError on a transport error."""
    headers = [("Event", "presence"), ("Expires", str(expires))]
    if if_match:
        headers.append(("SIP-If-Match", if_match))
    t = sipwire.Transport(transport, server, verbose)
    try:
        uac = sipwire.Uac(t, "pxtsgw-sip-publish")
        # An unexpected request (there should be none) is refused politely.
        uac.on_request = lambda m: uac.reply(m, 405, "Method Not Allowed")
        req = uac.build("PUBLISH", uri, uri, uri, headers, body,
                        content_type if body else None)
        return uac.transact(req, timeout)
    finally:
        t.close()


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("presentity")
    ap.add_argument("--server", required=True, help="HOST:PORT of the presence server")
    ap.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    ap.add_argument("--basic", choices=("open", "closed"), default="open")
    ap.add_argument("--activity", action="append", default=[],
                    help="RPID activity (repeatable), e.g. on-the-phone")
    ap.add_argument("--activity-shape", choices=("rpid", "rpid-status"), default="rpid")
    ap.add_argument("--tuple-id", default="t1")
    ap.add_argument("--note")
    ap.add_argument("--body-file")
    ap.add_argument("--content-type", default="application/pidf+xml")
    ap.add_argument("--expires", type=int, default=3600)
    ap.add_argument("--if-match")
    ap.add_argument("--refresh", action="store_true")
    ap.add_argument("--remove", action="store_true")
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--print-status", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()

    if (a.remove or a.refresh) and not a.if_match:
        sipwire.die_usage("--remove and --refresh need --if-match ETAG")
    if a.remove and a.refresh:
        sipwire.die_usage("--remove and --refresh exclude each other")
    for act in a.activity:
        if not act.replace("-", "").replace("_", "").isalnum():
            sipwire.die_usage("bad activity name: %r" % act)

    server = sipwire.parse_hostport(a.server)
    uri = sipwire.presentity_uri(a.presentity, server[0])

    if a.remove or a.refresh:
        body = b""
    elif a.body_file:
        if a.body_file == "-":
            body = sys.stdin.buffer.read()
        else:
            with open(a.body_file, "rb") as f:
                body = f.read()
    else:
        body = build_pidf(uri, a.basic, a.activity, a.activity_shape, a.tuple_id, a.note)

    try:
        resp = send_publish(server, uri, body, a.if_match, 0 if a.remove else a.expires,
                            a.transport, a.content_type, a.timeout, a.verbose)
    except sipwire.SipError as e:
        sys.stderr.write("sip_publish: %s\n" % e)
        return 4

    if resp is None:
        sys.stderr.write("sip_publish: no final response within %.1f s\n" % a.timeout)
        return 3
    etag = resp.get("SIP-ETag", "")
    if a.print_status:
        print("%d %s" % (resp.status, etag))
    elif 200 <= resp.status < 300:
        print(etag)
    if not 200 <= resp.status < 300:
        sys.stderr.write("sip_publish: %d %s\n" % (resp.status, resp.reason))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
