#!/usr/bin/python3
"""script_presence.py - a scripted SIP presence server (notifier) for tests.

It plays the presence server towards pxtsgw where a real Kamailio will not
misbehave on demand: subscriptions terminated with a given reason, re-SUBSCRIBEs
refused, short granted expiries (refreshes), 423 Interval Too Brief. Standard
library only (run with /usr/bin/python3); SIP parsing and message building come
from sipwire.py, the PIDF documents from sip_publish.py. UDP on 127.0.0.1 only:
it sends nothing anywhere else.

  script_presence.py serve --port P --log FILE [--lifetime S] [--script JSON]
                           [--terminate-after-ms N] [--refresh-grant S]
                           [--min-expires S] [--final-notify-delay-ms N]
  script_presence.py ctl --port P [--timeout S] ping
  script_presence.py ctl --port P [--timeout S] set USER STATUS [--force]
  script_presence.py ctl --port P [--timeout S] terminate USER [REASON] [--retry-after N]
  script_presence.py show --log FILE USER

serve
  Answers OPTIONS with 200 and SUBSCRIBE (Event: presence) as the profile of
  the request-URI's user part says; other requests get 405 (in-dialog ones for
  an unknown dialog 481). Stops on SIGTERM/SIGINT or after --lifetime seconds
  (default 120). Profiles, by prefix of the user part (a longer matching
  prefix overrides what a shorter one sets):

    reject*      200 + NOTIFY active; on "ctl terminate" (or --terminate-after-ms
                 after its first SUBSCRIBE was accepted) NOTIFY
                 terminated;reason=rejected, no body; any later new SUBSCRIBE
                 for the user gets 403
    noresource*  the same with reason=noresource; later SUBSCRIBEs get 404
    giveup*      the same with reason=deactivated; every later new SUBSCRIBE
                 for the user gets 503 Service Unavailable
    refresh*     200 with Expires = min(asked, --refresh-grant) (0 = as asked),
                 NOTIFY active;expires=<granted>
    brief*       423 Interval Too Brief with Min-Expires: --min-expires
                 (default 120) when 0 < Expires < that, else as plain
    pend*        like giveup* (reason=deactivated), but a later new SUBSCRIBE
                 gets 202 Accepted and NOTIFY pending without a document
                 (authorisation pending, for ever); fetches as plain
    (other)      plain: 200 with the Expires asked, NOTIFY active;expires=...

  Expires: 0 (a fetch, or an un-SUBSCRIBE in the dialog) is answered 200 and a
  NOTIFY terminated;reason=timeout with the current document (for an
  un-SUBSCRIBE, --final-notify-delay-ms after the 200, as a notifier across a
  network would; a later request in that dialog gets 481). Every SUBSCRIBE
  (a refresh too) is followed by a NOTIFY in its dialog; NOTIFYs are in-dialog
  requests (To = the subscriber's From with its tag, From = our To tag, same
  Call-ID, our CSeq increasing by one, our Contact, a Via with a fresh
  branch), sent to the subscriber's Contact, retransmitted at 0.5, 1, 2 s and
  given up after 4 s. A user's document starts Reachable (basic open).

  --script JSON (or @FILE) overrides or adds profiles: an object whose keys are
  user prefixes, each an object with any of: status (Reachable, Unreachable,
  Busy), reason (termination reason), terminate_after_ms, retry_after (for
  probation/giveup), after_terminate (status code for later new SUBSCRIBEs,
  null = serve them), grant (cap of the granted Expires, 0 = as asked),
  min_expires (423 below it, 0 = never), answer (a fixed status code for
  every new SUBSCRIBE), pending_after_terminate (see pend*), fetch_delay_ms (a fetch's NOTIFY comes that long
  after its 200, as from a slow presence server). E.g. {"rejectSlow": {"terminate_after_ms": 2000}} makes
  rejectSlow* users reject* users that end themselves after 2 s.

  Log: one JSON object per line, flushed at once, "t" = epoch seconds; "user"
  is the request-URI's user part, or the dialog's for a request in a dialog:
    {"ev": "request", method, ruri, user, call_id, from_tag, to_tag, cseq,
     in_dialog, expires, event, retransmission, answer, answer_expires,
     min_expires, notify_state (the Subscription-State of the NOTIFY sent in
     reaction, or null), peer}
    {"ev": "notify", user, call_id, cseq, branch, subscription_state, status
     (document: Reachable/Unreachable/Busy, null without body), why}
    {"ev": "notify_response", user, call_id, cseq, branch, subscription_state,
     status (200, 481, ...)} - one per final response, 481 included
    {"ev": "notify_timeout", ...} - no final response within 4 s
    {"ev": "ctl", cmd, ...}, {"ev": "start", port}, {"ev": "stop", why}

ctl
  Sends one control datagram to the server (from 127.0.0.1) and prints its JSON
  answer. "set USER STATUS" changes the user's document and sends NOTIFY active
  in every active dialog of the user (--force: in its terminated dialogs too,
  to see the subscriber answer 481); "terminate USER [REASON]" sends NOTIFY
  terminated;reason=REASON (default: the profile's) in every active dialog.
  Both answer once every NOTIFY got its final response (or timed out):
  {"ok": true, "notifies": [[call_id, status], ...]}. Exit 0 when the server
  answered ok, 1 when it refused, 3 on no answer within --timeout (default 8).

show
  The log's story of one user, one line per event, for exact comparisons:
    d1 SUBSCRIBE initial cseq=+0 expires=60 -> 200 expires=4
    d1 NOTIFY active;expires=4 Reachable -> 200
    d1 SUBSCRIBE in-dialog cseq=+1 expires=60 -> 200 expires=4
  dN numbers the dialogs (Call-IDs) in order of appearance; cseq is relative
  to the first request of that Call-ID; retransmissions are left out.
"""

import argparse
import json
import os
import re
import select
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True
import sipwire  # noqa: E402  (same directory)
from sip_publish import build_pidf  # noqa: E402

UA = "pxtsgw-script-presence"
CTL = b"PXCTL "
CTL_OK = b"PXCTL-OK "
LOCAL = "127.0.0.1"
NOTIFY_RTX = (0.5, 1.0, 2.0)      # retransmission gaps; given up 4 s after sending
NOTIFY_GIVE_UP = 4.0
MAX_DIALOGS = 10000

DEFAULT_PROFILES = {
    "": {},
    "reject": {"reason": "rejected", "after_terminate": 403},
    "noresource": {"reason": "noresource", "after_terminate": 404},
    "giveup": {"reason": "deactivated", "after_terminate": 503},
    "refresh": {},
    "brief": {},
    "pend": {"reason": "deactivated", "pending_after_terminate": True},
}
PROFILE_KEYS = {"status", "reason", "terminate_after_ms", "retry_after", "after_terminate",
                "grant", "min_expires", "answer", "fetch_delay_ms", "pending_after_terminate"}
STATUSES = ("Reachable", "Unreachable", "Busy")
REASONS = {202: "Accepted", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           423: "Interval Too Brief", 481: "Call/Transaction Does Not Exist",
           489: "Bad Event", 500: "Server Internal Error", 503: "Service Unavailable"}


def tag_of(value):
    m = re.search(r";\s*tag=([^;>\s,]+)", value or "")
    return m.group(1) if m else None


def uri_of(value):
    """The URI inside a name-addr (<...>) or an addr-spec before its params."""
    m = re.search(r"<([^>]*)>", value or "")
    if m:
        return m.group(1).strip()
    return (value or "").split(";", 1)[0].strip()


def user_of(uri):
    m = re.match(r"^\s*(?:sips?|pres):([^@;>?]+)@", uri or "")
    return m.group(1) if m else ""


def hostport_of(uri):
    m = re.match(r"^\s*sips?:(?:[^@]*@)?(\[[^\]]+\]|[^:;>?]+)(?::(\d+))?", uri or "")
    if not m:
        return None, None
    return m.group(1).strip("[]"), int(m.group(2)) if m.group(2) else 5060


def int_header(msg, name):
    v = msg.get(name)
    if v is None:
        return None
    m = re.match(r"\s*(\d+)", v)
    return int(m.group(1)) if m else None


def pidf(entity, status):
    if status == "Busy":
        return build_pidf(entity, "open", ["on-the-phone"], "rpid", "t1", None)
    return build_pidf(entity, "open" if status == "Reachable" else "closed", [], "rpid", "t1", None)


class Dialog:
    def __init__(self, srv, req, user, dest):
        self.call_id = req.get("Call-ID", "")
        self.user = user
        self.our_tag = sipwire.rand_token(8)
        self.remote = req.get("From", "")                     # with its tag
        to = req.get("To", "")
        self.local = "%s;tag=%s" % (to, self.our_tag)
        self.entity = uri_of(to)
        self.target = uri_of(req.get("Contact", "")) or uri_of(self.remote)
        self.dest = dest
        self.cseq = srv.rand_cseq()
        self.active = True
        self.granted = 0


class Server:
    def __init__(self, a):
        self.port = a.port
        self.log_path = a.log
        self.lifetime = a.lifetime
        self.profiles = {k: dict(v) for k, v in DEFAULT_PROFILES.items()}
        if a.terminate_after_ms:
            for k in ("reject", "noresource", "giveup"):
                self.profiles[k]["terminate_after_ms"] = a.terminate_after_ms
        self.profiles["refresh"]["grant"] = a.refresh_grant
        self.profiles["brief"]["min_expires"] = a.min_expires
        self.final_notify_delay_ms = a.final_notify_delay_ms
        if a.script:
            self.load_script(a.script)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOCAL, a.port))
        self.log_f = open(a.log, "a", encoding="utf-8")
        self.dialogs = {}           # call_id -> Dialog
        self.users = {}             # user -> {"status", "terminated"}
        self.answered = {}          # (call_id, cseq, branch) -> (bytes, addr)
        self.pending = {}           # branch -> NOTIFY transaction
        self.waiters = []           # ctl answers waiting for NOTIFY transactions
        self.timers = []            # (when, fn)
        self.stop_why = None
        self.cseq_seed = 100

    # --- setup ----------------------------------------------------------------
    def load_script(self, text):
        if text.startswith("@"):
            with open(text[1:], encoding="utf-8") as f:
                text = f.read()
        obj = json.loads(text)
        if not isinstance(obj, dict):
            raise ValueError("--script: not an object")
        for prefix, prof in obj.items():
            if not isinstance(prof, dict) or set(prof) - PROFILE_KEYS:
                raise ValueError("--script: bad profile for %r" % prefix)
            if "status" in prof and prof["status"] not in STATUSES:
                raise ValueError("--script: bad status for %r" % prefix)
            self.profiles.setdefault(prefix, {}).update(prof)

    def profile(self, user):
        """Every profile whose prefix the user starts with, shorter first:
        a longer prefix overrides what it sets."""
        prof = {"status": "Reachable", "reason": "deactivated", "terminate_after_ms": 0,
                "retry_after": None, "after_terminate": None, "grant": 0, "min_expires": 0,
                "answer": None, "fetch_delay_ms": 0, "pending_after_terminate": False}
        for p in sorted((p for p in self.profiles if user.startswith(p)), key=len):
            prof.update(self.profiles[p])
        return prof

    def user_state(self, user):
        st = self.users.get(user)
        if st is None:
            st = self.users[user] = {"status": self.profile(user)["status"], "terminated": False,
                                     "timer_set": False}
        return st

    def rand_cseq(self):
        self.cseq_seed += 1000
        return self.cseq_seed

    # --- output ---------------------------------------------------------------
    def log(self, ev, **kw):
        rec = {"t": round(time.time(), 6), "ev": ev}
        rec.update(kw)
        self.log_f.write(json.dumps(rec, sort_keys=True) + "\n")
        self.log_f.flush()

    def sendto(self, data, addr):
        if addr[0] != LOCAL:
            self.log("refused_destination", dest="%s:%s" % addr)
            return
        try:
            self.sock.sendto(data, addr)
        except OSError as e:
            self.log("send_error", dest="%s:%s" % addr, error=str(e))

    def respond(self, req, addr, status, to_tag=None, extra=()):
        to = req.get("To", "")
        if to_tag and not tag_of(to):
            to = "%s;tag=%s" % (to, to_tag)
        h = [("Via", v) for v in req.get_all("Via")]
        h += [("From", req.get("From", "")), ("To", to), ("Call-ID", req.get("Call-ID", "")),
              ("CSeq", req.get("CSeq", "")), ("Server", UA)]
        h.extend(extra)
        h.append(("Content-Length", "0"))
        data = sipwire.Message("SIP/2.0 %d %s" % (status, REASONS.get(status, "OK")), h, b"").raw()
        self.sendto(data, addr)
        return data

    # --- NOTIFY (UAC side) ----------------------------------------------------
    def send_notify(self, d, substate, with_body, why):
        d.cseq += 1
        branch = "z9hG4bK" + sipwire.rand_token(16)
        status = self.user_state(d.user)["status"] if with_body else None
        body = pidf(d.entity, status) if with_body else b""
        h = [("Via", "SIP/2.0/UDP %s:%d;branch=%s;rport" % (LOCAL, self.port, branch)),
             ("Max-Forwards", "70"), ("From", d.local), ("To", d.remote),
             ("Call-ID", d.call_id), ("CSeq", "%d NOTIFY" % d.cseq),
             ("Contact", "<sip:presence@%s:%d>" % (LOCAL, self.port)),
             ("Event", "presence"), ("Subscription-State", substate), ("User-Agent", UA)]
        if body:
            h.append(("Content-Type", "application/pidf+xml"))
        h.append(("Content-Length", str(len(body))))
        data = sipwire.Message("NOTIFY %s SIP/2.0" % d.target, h, body).raw()
        now = time.monotonic()
        tx = {"data": data, "dest": d.dest, "d": d, "cseq": d.cseq, "substate": substate,
              "sent": now, "n": 0, "next": now + NOTIFY_RTX[0], "done": False, "status": None}
        self.pending[branch] = tx
        self.log("notify", user=d.user, call_id=d.call_id, cseq=d.cseq, branch=branch,
                 subscription_state=substate, status=status, why=why,
                 dest="%s:%s" % d.dest)
        self.sendto(data, d.dest)
        return branch

    def on_response(self, msg):
        branch = msg.top_branch()
        tx = self.pending.get(branch)
        if tx is None or msg.status < 200 or tx["done"]:
            return
        tx["done"] = True
        tx["status"] = msg.status
        d = tx["d"]
        self.log("notify_response", user=d.user, call_id=d.call_id, cseq=tx["cseq"],
                 branch=branch, subscription_state=tx["substate"], status=msg.status)
        self.check_waiters()

    def notify_timers(self, now):
        for branch, tx in list(self.pending.items()):
            if tx["done"]:
                if now - tx["sent"] > 30:
                    del self.pending[branch]
                continue
            if now - tx["sent"] >= NOTIFY_GIVE_UP:
                tx["done"] = True
                tx["status"] = "timeout"
                d = tx["d"]
                self.log("notify_timeout", user=d.user, call_id=d.call_id, cseq=tx["cseq"],
                         branch=branch, subscription_state=tx["substate"])
                self.check_waiters()
            elif now >= tx["next"]:
                tx["n"] += 1
                gap = NOTIFY_RTX[min(tx["n"], len(NOTIFY_RTX) - 1)]
                tx["next"] = now + gap
                self.sendto(tx["data"], tx["dest"])

    def check_waiters(self):
        left = []
        for w in self.waiters:
            txs = [self.pending.get(b) for b in w["branches"]]
            if all(t is None or t["done"] for t in txs):
                res = [[t["d"].call_id, t["status"]] for t in txs if t is not None]
                self.ctl_reply(w["addr"], {"ok": True, "notifies": res})
            else:
                left.append(w)
        self.waiters = left

    # --- requests (UAS side) --------------------------------------------------
    def user_for(self, msg):
        """The presentity a request is about: the request-URI's user part, or
        for a request in a known dialog (sent to our Contact) the dialog's."""
        d = self.dialogs.get(msg.get("Call-ID", ""))
        if d is not None and tag_of(msg.get("To")) is not None:
            return d.user
        return user_of(msg.uri)

    def on_request(self, msg, addr):
        key = (msg.get("Call-ID", ""), msg.get("CSeq", ""), msg.top_branch())
        base = {"method": msg.method, "ruri": msg.uri, "user": self.user_for(msg),
                "call_id": msg.get("Call-ID"), "from_tag": tag_of(msg.get("From")),
                "to_tag": tag_of(msg.get("To")), "cseq": msg.cseq()[0],
                "in_dialog": tag_of(msg.get("To")) is not None,
                "expires": int_header(msg, "Expires"), "event": msg.get("Event"),
                "peer": "%s:%s" % addr}
        if key in self.answered:
            data, _ = self.answered[key]
            self.sendto(data, addr)
            self.log("request", retransmission=True, answer=None, answer_expires=None,
                     min_expires=None, notify_state=None, **base)
            return
        if msg.method == "ACK":
            self.log("request", retransmission=False, answer=None, answer_expires=None,
                     min_expires=None, notify_state=None, **base)
            return
        if msg.method == "SUBSCRIBE":
            res = self.on_subscribe(msg, addr)
        elif msg.method == "OPTIONS":
            res = (self.respond(msg, addr, 200, sipwire.rand_token(8),
                                [("Allow", "OPTIONS, SUBSCRIBE, NOTIFY"),
                                 ("Allow-Events", "presence"), ("Accept", "application/pidf+xml")]),
                   200, None, None, None)
        elif base["in_dialog"] and msg.get("Call-ID") not in self.dialogs:
            res = (self.respond(msg, addr, 481), 481, None, None, None)
        else:
            res = (self.respond(msg, addr, 405, sipwire.rand_token(8),
                                [("Allow", "OPTIONS, SUBSCRIBE")]), 405, None, None, None)
        data, status, exp, minexp, nstate = res
        self.answered[key] = (data, addr)
        if len(self.answered) > 20000:
            self.answered.clear()
        self.log("request", retransmission=False, answer=status, answer_expires=exp,
                 min_expires=minexp, notify_state=nstate, **base)
        todo, self.after_subscribe = self.after_subscribe, []
        for fn in todo:
            fn()

    def on_subscribe(self, msg, addr):
        """Answers one SUBSCRIBE; returns (bytes, status, expires, min_expires,
        notify_state). The NOTIFY is queued in self.after_subscribe so that
        the request's log line comes before the NOTIFY's."""
        self.after_subscribe = []
        user = self.user_for(msg)
        call_id = msg.get("Call-ID", "")
        event = (msg.get("Event") or "").split(";", 1)[0].strip().lower()
        if event != "presence":
            return self.respond(msg, addr, 489, sipwire.rand_token(8),
                                [("Allow-Events", "presence")]), 489, None, None, None
        asked = int_header(msg, "Expires")
        if asked is None:
            asked = 3600
        prof = self.profile(user)
        st = self.user_state(user)
        in_dialog = tag_of(msg.get("To")) is not None
        if in_dialog:
            d = self.dialogs.get(call_id)
            if d is None or not d.active or tag_of(msg.get("To")) != d.our_tag:
                return self.respond(msg, addr, 481), 481, None, None, None
        else:
            if prof["answer"] is not None:
                s = int(prof["answer"])
                return self.respond(msg, addr, s, sipwire.rand_token(8)), s, None, None, None
            if st["terminated"] and prof["after_terminate"] is not None:
                s = int(prof["after_terminate"])
                return self.respond(msg, addr, s, sipwire.rand_token(8)), s, None, None, None
            if prof["min_expires"] and 0 < asked < prof["min_expires"]:
                m = prof["min_expires"]
                return (self.respond(msg, addr, 423, sipwire.rand_token(8),
                                     [("Min-Expires", str(m))]), 423, None, m, None)
            host, port = hostport_of(uri_of(msg.get("Contact", "")))
            dest = (LOCAL, port) if host in (LOCAL, "localhost") and port else addr
            if len(self.dialogs) >= MAX_DIALOGS:
                return self.respond(msg, addr, 503, sipwire.rand_token(8)), 503, None, None, None
            d = self.dialogs[call_id] = Dialog(self, msg, user, dest)
        if in_dialog and prof["min_expires"] and 0 < asked < prof["min_expires"]:
            m = prof["min_expires"]
            return (self.respond(msg, addr, 423, None, [("Min-Expires", str(m))]),
                    423, None, m, None)
        granted = asked
        if prof["grant"] and granted > prof["grant"]:
            granted = prof["grant"]
        d.granted = granted
        # a new subscription after a termination, waiting for authorisation:
        # 202 and NOTIFY pending without a document (RFC 6665, RFC 3857)
        pending = (bool(prof["pending_after_terminate"]) and st["terminated"] and not in_dialog
                   and granted > 0)
        contact = ("Contact", "<sip:presence@%s:%d>" % (LOCAL, self.port))
        data = self.respond(msg, addr, 202 if pending else 200, d.our_tag,
                            [contact, ("Expires", str(granted))])
        if granted == 0:
            d.active = False
            substate = "terminated;reason=timeout"
            delay = (self.final_notify_delay_ms if in_dialog else prof["fetch_delay_ms"]) / 1000.0
            if delay > 0:
                self.timers.append((time.monotonic() + delay,
                                    lambda: self.send_notify(d, substate, True, "unsubscribe")))
            else:
                self.after_subscribe.append(
                    lambda: self.send_notify(d, substate, True, "unsubscribe"))
        else:
            substate = ("pending;expires=%d" if pending else "active;expires=%d") % granted
            self.after_subscribe.append(
                lambda: self.send_notify(d, substate, not pending, "subscribe"))
            if prof["terminate_after_ms"] and not st["timer_set"]:
                st["timer_set"] = True
                when = time.monotonic() + prof["terminate_after_ms"] / 1000.0
                self.timers.append((when, lambda: self.terminate(user, None, None, "timer")))
        return data, 202 if pending else 200, granted, None, substate

    # --- scripted actions -----------------------------------------------------
    def terminate(self, user, reason, retry_after, why):
        prof = self.profile(user)
        st = self.user_state(user)
        reason = reason or prof["reason"]
        if retry_after is None:
            retry_after = prof["retry_after"]
        substate = "terminated;reason=%s" % reason
        if retry_after is not None:
            substate += ";retry-after=%d" % int(retry_after)
        st["terminated"] = True
        branches = []
        for d in list(self.dialogs.values()):
            if d.user == user and d.active:
                d.active = False
                branches.append(self.send_notify(d, substate, False, why))
        return branches

    def set_status(self, user, status, force):
        st = self.user_state(user)
        st["status"] = status
        branches = []
        for d in list(self.dialogs.values()):
            if d.user == user and (d.active or force):
                branches.append(self.send_notify(d, "active;expires=%d" % max(d.granted, 1),
                                                 True, "set"))
        return branches

    def ctl_reply(self, addr, obj):
        self.sock.sendto(CTL_OK + json.dumps(obj).encode(), addr)

    def on_ctl(self, data, addr):
        if addr[0] != LOCAL:
            return
        try:
            req = json.loads(data[len(CTL):].decode("utf-8"))
            cmd = req.get("cmd")
            self.log("ctl", **{k: v for k, v in req.items() if k != "ev"})
            if cmd == "ping":
                self.ctl_reply(addr, {"ok": True})
                return
            if cmd == "set":
                if req.get("status") not in STATUSES:
                    raise ValueError("status must be one of %s" % ", ".join(STATUSES))
                branches = self.set_status(req["user"], req["status"], bool(req.get("force")))
            elif cmd == "terminate":
                branches = self.terminate(req["user"], req.get("reason"), req.get("retry_after"),
                                          "ctl")
            else:
                raise ValueError("unknown command %r" % cmd)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            self.ctl_reply(addr, {"ok": False, "error": str(e)})
            return
        self.waiters.append({"addr": addr, "branches": branches})
        self.check_waiters()

    # --- loop -----------------------------------------------------------------
    def run(self):
        def on_signal(signum, frame):
            self.stop_why = "signal %d" % signum

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.after_subscribe = []
        end = time.monotonic() + self.lifetime
        self.log("start", port=self.port, pid=os.getpid())
        while self.stop_why is None:
            now = time.monotonic()
            if now >= end:
                self.stop_why = "lifetime %g s over" % self.lifetime
                break
            due = [t for t in self.timers if t[0] <= now]
            self.timers = [t for t in self.timers if t[0] > now]
            for _, fn in due:
                fn()
            self.notify_timers(now)
            try:
                r, _, _ = select.select([self.sock], [], [], 0.05)
            except InterruptedError:
                continue
            if not r:
                continue
            try:
                data, addr = self.sock.recvfrom(65535)
            except OSError:
                continue
            if data.startswith(CTL):
                self.on_ctl(data, addr)
                continue
            msg = sipwire.parse_message(data)
            if msg is None:
                continue            # keep-alive CRLFs
            try:
                if msg.is_response:
                    if msg.cseq()[1] == "NOTIFY":
                        self.on_response(msg)
                else:
                    self.on_request(msg, addr)
            except (ValueError, IndexError) as e:
                self.log("bad_message", error=str(e), peer="%s:%s" % addr)
        self.log("stop", why=self.stop_why)
        self.log_f.close()
        self.sock.close()
        return 0


# --- ctl -------------------------------------------------------------------------
def do_ctl(a):
    req = {"cmd": a.cmd}
    if a.cmd in ("set", "terminate"):
        if not a.user:
            sipwire.die_usage("ctl %s needs USER" % a.cmd)
        req["user"] = a.user
    if a.cmd == "set":
        if a.arg not in STATUSES:
            sipwire.die_usage("ctl set USER STATUS: STATUS is one of %s" % ", ".join(STATUSES))
        req["status"] = a.arg
        req["force"] = a.force
    elif a.cmd == "terminate":
        if a.arg:
            req["reason"] = a.arg
        if a.retry_after is not None:
            req["retry_after"] = a.retry_after
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((LOCAL, 0))
    s.sendto(CTL + json.dumps(req).encode(), (LOCAL, a.port))
    deadline = time.monotonic() + a.timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            print(json.dumps({"ok": False, "error": "no answer"}))
            return 3
        s.settimeout(left)
        try:
            data, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        if addr == (LOCAL, a.port) and data.startswith(CTL_OK):
            ans = json.loads(data[len(CTL_OK):].decode("utf-8"))
            print(json.dumps(ans, sort_keys=True))
            return 0 if ans.get("ok") else 1


# --- show ------------------------------------------------------------------------
def do_show(a):
    recs = []
    with open(a.log, encoding="utf-8") as f:
        for line in f:
            try:
                recs.append(json.loads(line))
            except ValueError:
                pass
    dialogs = {}
    first_cseq = {}
    answers = {}
    for r in recs:
        if r.get("ev") in ("notify_response", "notify_timeout") and r.get("branch") not in answers:
            answers[r["branch"]] = r.get("status") if r["ev"] == "notify_response" else "timeout"
    out = []
    for r in recs:
        if r.get("user") != a.user:
            continue
        ev = r.get("ev")
        cid = r.get("call_id")
        if ev == "request" and not r.get("retransmission"):
            dn = dialogs.setdefault(cid, "d%d" % (len(dialogs) + 1))
            c0 = first_cseq.setdefault(cid, r.get("cseq") or 0)
            line = "%s %s %s cseq=+%d expires=%s -> %s" % (
                dn, r["method"], "in-dialog" if r.get("in_dialog") else "initial",
                (r.get("cseq") or 0) - c0, r.get("expires"), r.get("answer"))
            if r.get("answer_expires") is not None:
                line += " expires=%s" % r["answer_expires"]
            if r.get("min_expires") is not None:
                line += " min-expires=%s" % r["min_expires"]
            out.append(line)
        elif ev == "notify":
            dn = dialogs.setdefault(cid, "d%d" % (len(dialogs) + 1))
            line = "%s NOTIFY %s" % (dn, r.get("subscription_state"))
            if r.get("status"):
                line += " " + r["status"]
            out.append("%s -> %s" % (line, answers.get(r.get("branch"), "none")))
    try:
        sys.stdout.write("".join(line + "\n" for line in out))
        sys.stdout.flush()
    except BrokenPipeError:             # e.g. | head -3
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("serve", help="run the server")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--log", required=True, help="JSON-lines log file (appended)")
    s.add_argument("--lifetime", type=float, default=120.0,
                   help="stop after this many seconds (default 120)")
    s.add_argument("--script", help="JSON object (or @FILE): profiles by user prefix")
    s.add_argument("--terminate-after-ms", type=int, default=0,
                   help="reject*/noresource*/giveup*: terminate this long after the first "
                        "SUBSCRIBE was accepted (default 0: only on 'ctl terminate')")
    s.add_argument("--refresh-grant", type=int, default=0,
                   help="refresh*: cap of the granted Expires (default 0: as asked)")
    s.add_argument("--min-expires", type=int, default=120,
                   help="brief*: Min-Expires of the 423 (default 120)")
    s.add_argument("--final-notify-delay-ms", type=int, default=0,
                   help="send the final NOTIFY (terminated;reason=timeout) of an "
                        "un-SUBSCRIBE in a dialog this long after its 200 (default 0)")
    c = sub.add_parser("ctl", help="tell a running server to do something")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--timeout", type=float, default=8.0)
    c.add_argument("--force", action="store_true", help="set: terminated dialogs too")
    c.add_argument("--retry-after", type=int, help="terminate: retry-after parameter")
    c.add_argument("cmd", choices=("ping", "set", "terminate"))
    c.add_argument("user", nargs="?")
    c.add_argument("arg", nargs="?", help="set: STATUS; terminate: REASON")
    w = sub.add_parser("show", help="one user's story from a log")
    w.add_argument("--log", required=True)
    w.add_argument("user")
    a = ap.parse_args()
    if a.mode == "serve":
        if not 0 < a.lifetime <= 3600:
            sipwire.die_usage("--lifetime must be in (0, 3600]")
        try:
            return Server(a).run()
        except (OSError, ValueError) as e:
            sys.stderr.write("script_presence: %s\n" % e)
            return 1
    if a.mode == "ctl":
        return do_ctl(a)
    return do_show(a)


if __name__ == "__main__":
    sys.exit(main())
