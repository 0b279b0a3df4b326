#!/usr/bin/python3
# rs.py - helpers for tests/integration/test_restart.sh and
# tests/bench/durability.sh: publish presence (in-process SIP over UDP, one
# publication per presentity modified with its ETag, every publish logged
# with its time), start notifications, read the callback sinks' record files
# and the gateway's JSON, and check that nothing was lost. Standard library
# only; run with /usr/bin/python3.
#
# Result lines printed by the checking commands (the shell turns them into
# ok/fail):   PASS|name      FAIL|name|why      INFO|text
#
#   rs.py pub SERVER STATE LOG URI=STATUS...
#       one publish per argument, in order (STATUS: Busy, Reachable,
#       Unreachable). STATE (JSON: uri -> {etag, status}) is read and
#       updated; one JSON line per publish appended to LOG: uri, status,
#       t_send, t_ok (epoch s), code (SIP status, 0 = no answer), ok.
#   rs.py cycle SERVER STATE LOG STOPFILE PAUSE_S URI...
#       until STOPFILE exists: each URI in turn goes to the next status of
#       Busy -> Reachable -> Unreachable -> Busy..., PAUSE_S after each
#       publish. STATE is written at the end.
#   rs.py start GW NOTIFS CORR=ENDPOINT=ADDR[,ADDR...][=DURATION_S[=COUNT]]...
#       startNotification for each (checkImmediate false, no frequency);
#       NOTIFS (JSON: corr -> {addresses, endpoint, sent, started, duration,
#       count}) is updated. A FAIL line per refusal.
#   rs.py end GW NOTIFS CORR          endNotification (PASS|/FAIL| line)
#   rs.py check PUBS NOTIFS PREFIX SINKREC[,SINKREC...] [options]
#       the callbacks of every notification whose correlator starts with
#       PREFIX against the published changes:
#         --window A:B    publishes in [A, B] (epoch s) may be missing
#                         (gateway or subscription down); repeatable
#         --dups A:B      a callback arriving in [A, B] may repeat one
#                         delivered before (at-least-once after a crash)
#         --no-dups       no duplicate allowed at all
#         --ended CORR    CORR ended with statusEnd (only after its changes)
#       Per (correlator, address): the delivered statuses (sink answered
#       200) must be the published ones, in publish order, none missing
#       outside the windows, none invented, last = last published (unless
#       the notification ended), no change delivered before it was
#       published; across the addresses of a correlator, a change is never
#       delivered after one published later; at most COUNT callbacks; no
#       statusError; statusEnd only where --ended says. A duplicate is a
#       repeat of a status already delivered (always allowed right after
#       the same status; further back only inside --dups). Prints the counts
#       (INFO line and "COUNTS|published|callbacks|entries|duplicates").
#   rs.py listed GW NOTIFS PREFIX [--restored true|false] [--absent CORR...]
#       /notifications lists every notification of NOTIFS with PREFIX
#       (except the --absent ones, which must not be listed), with its
#       addresses, "restored" as asked.
#   rs.py subs-active GW PREFIX      exit 0 when every address of every
#       listed notification with PREFIX has subscription "active"
#   rs.py pending GW                 sum of delivery.pending over /notifications
#   rs.py drain GW NOTIFS PREFIX [SINKREC...]
#       outbox drained: no pending callback, and /deliveries shows a
#       _DeliveryResult for every delivery id, delivered; with the sinks'
#       record files, also how many more callbacks they got than deliveries
#   rs.py dlvacross GW CORR
#       the first delivery of CORR whose first attempt failed (before a
#       restart) was delivered after it: one delivery id, attempts 1..n
#       (failed first, delivered last), one delivered _DeliveryResult
#   rs.py inflight SINKREC PREFIX HOLD KILL
#       the callbacks received in [HOLD, KILL] while the sink held its
#       answers (so the gateway never saw them answered) were sent again
#       (same correlator, same body) after KILL
#   rs.py settle GW TIMEOUT_S QUIET_S SINKREC...
#       wait until the record files stop growing for QUIET_S and the gateway
#       has nothing pending (exit 1 on timeout)
#   rs.py health GW                  "HTTP_CODE presence_server" of /health
#   rs.py count SINKREC CORR_PREFIX [FROM_T [TO_T]]
#       callbacks answered 200 for those correlators (arrival in the range)
#   rs.py latency PUBS SINKREC CORR A B [BY MARGIN]
#       for the changes published in [A, B]: the time from the publish's 200
#       to the arrival of the callback carrying it for CORR; "n max_ms
#       median_ms missing"; with BY and MARGIN (s) also "late checked": of
#       the changes published in [A, BY - MARGIN] (checked), those whose
#       callback arrived after BY or not at all (late)
#   rs.py arrivals SINKREC CORR_PREFIX [FROM_T]
#       first and last arrival time of those callbacks ("first last n"),
#       those arriving from FROM_T on only when given

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True
TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools")
sys.path.insert(0, os.path.normpath(TOOLS))
import sipwire  # noqa: E402
import sip_publish  # noqa: E402

STATUSES = ("Busy", "Reachable", "Unreachable")
NEXT = {"Busy": "Reachable", "Reachable": "Unreachable", "Unreachable": "Busy"}
NM_NS = "http://www.csapi.org/schema/parlayx/terminal_status/notification_manager/v2_3/local"


def out(kind, name, why=""):
    line = "%s|%s" % (kind, name)
    if why:
        line += "|" + " ".join(str(why).split())
    print(line, flush=True)


# --- JSON files ------------------------------------------------------------

def load_json(path, default):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def save_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def read_jsonl(paths):
    recs = []
    for p in paths:
        try:
            with open(p, encoding="utf-8") as f:
                for line in f:
                    line = line.strip()
                    if line:
                        try:
                            recs.append(json.loads(line))
                        except ValueError:
                            pass
        except OSError:
            pass
    return recs


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode("utf-8"))


# --- publishing ------------------------------------------------------------

class Publisher:
    def __init__(self, server, state_path, log_path):
        self.server = sipwire.parse_hostport(server)
        self.state_path = state_path
        self.state = load_json(state_path, {})
        self.log = open(log_path, "a", encoding="utf-8")
        self.t = sipwire.Transport("udp", self.server)
        self.uacs = {}

    def publish(self, uri, status):
        if status == "Busy":
            basic, acts = "open", ["on-the-phone"]
        elif status == "Reachable":
            basic, acts = "open", []
        elif status == "Unreachable":
            basic, acts = "closed", []
        else:
            raise ValueError("bad status " + status)
        st = self.state.get(uri, {})
        uac = self.uacs.get(uri)
        if uac is None:
            uac = self.uacs[uri] = sipwire.Uac(self.t, "pxtsgw-restart-test")
            uac.on_request = lambda m, u=uac: u.reply(m, 405, "Method Not Allowed")
        body = sip_publish.build_pidf(uri, basic, acts, "rpid", "t1", None)
        headers = [("Event", "presence"), ("Expires", "3600")]
        if st.get("etag"):
            headers.append(("SIP-If-Match", st["etag"]))
        req = uac.build("PUBLISH", uri, uri, uri, headers, body, "application/pidf+xml")
        t_send = time.time()
        try:
            resp = uac.transact(req, 5.0)
        except sipwire.SipError:
            resp = None
        t_ok = time.time()
        code = resp.status if resp is not None else 0
        ok = 200 <= code < 300
        if ok:
            self.state[uri] = {"etag": resp.get("SIP-ETag", ""), "status": status}
        self.log.write(json.dumps({"uri": uri, "status": status, "t_send": t_send, "t_ok": t_ok,
                                   "code": code, "ok": ok}) + "\n")
        self.log.flush()
        return ok, code

    def close(self):
        save_json(self.state_path, self.state)
        self.log.close()
        self.t.close()


def cmd_pub(a):
    p = Publisher(a[0], a[1], a[2])
    rc = 0
    try:
        for kv in a[3:]:
            uri, _, status = kv.rpartition("=")
            ok, code = p.publish(uri, status)
            if not ok:
                sys.stderr.write("rs.py pub: %s %s: SIP %s\n" % (uri, status, code or "no answer"))
                rc = 1
    finally:
        p.close()
    return rc


def cmd_cycle(a):
    server, state, log, stopfile, pause = a[0], a[1], a[2], a[3], float(a[4])
    uris = a[5:]
    p = Publisher(server, state, log)
    fails = 0
    try:
        while not os.path.exists(stopfile):
            for uri in uris:
                if os.path.exists(stopfile):
                    break
                cur = p.state.get(uri, {}).get("status", "Unreachable")
                ok, _ = p.publish(uri, NEXT[cur])
                if not ok:
                    fails += 1
                    time.sleep(0.2)
                time.sleep(pause)
    finally:
        p.close()
    if fails:
        sys.stderr.write("rs.py cycle: %d publish(es) failed\n" % fails)
    return 0


# --- notifications -----------------------------------------------------------

def xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def start_xml(corr, endpoint, addrs, duration, count=0):
    x = ['<?xml version="1.0" encoding="UTF-8"?>',
         '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
         'xmlns:loc="%s"><soapenv:Body><loc:startNotification>' % NM_NS,
         "<loc:reference><endpoint>%s</endpoint><interfaceName>TerminalStatusNotification"
         "</interfaceName><correlator>%s</correlator></loc:reference>"
         % (xml_escape(endpoint), xml_escape(corr))]
    x += ["<loc:addresses>%s</loc:addresses>" % xml_escape(ad) for ad in addrs]
    x.append("<loc:checkImmediate>false</loc:checkImmediate>")
    if duration:
        x.append("<loc:duration><metric>Second</metric><units>%d</units></loc:duration>" % duration)
    if count:
        x.append("<loc:count>%d</loc:count>" % count)
    x.append("</loc:startNotification></soapenv:Body></soapenv:Envelope>")
    return "\n".join(x).encode("utf-8")


def soap_post(gw, path, body, timeout=15):
    req = urllib.request.Request(gw + "/" + path, data=body, method="POST", headers={
        "Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except OSError as e:
        return 0, str(e)


def cmd_start(a):
    gw, path = a[0], a[1]
    notifs = load_json(path, {})
    bad = 0
    for spec in a[2:]:
        parts = spec.split("=")
        corr, endpoint, addrs = parts[0], parts[1], parts[2].split(",")
        dur = int(parts[3]) if len(parts) > 3 and parts[3] else 0
        count = int(parts[4]) if len(parts) > 4 and parts[4] else 0
        t0 = time.time()
        code, body = soap_post(gw, "TerminalStatusNotificationManager",
                               start_xml(corr, endpoint, addrs, dur, count))
        t1 = time.time()
        if code == 200 and "startNotificationResponse" in body:
            notifs[corr] = {"addresses": addrs, "endpoint": endpoint, "started": t1,
                            "sent": t0, "duration": dur, "count": count}
        else:
            bad += 1
            out("FAIL", "startNotification %s" % corr, "HTTP %s %s" % (code, body[-300:]))
    save_json(path, notifs)
    return 1 if bad else 0


def cmd_end(a):
    gw, path, corr = a[0], a[1], a[2]
    body = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv='
            '"http://schemas.xmlsoap.org/soap/envelope/" xmlns:loc="%s"><soapenv:Body>'
            "<loc:endNotification><loc:correlator>%s</loc:correlator></loc:endNotification>"
            "</soapenv:Body></soapenv:Envelope>" % (NM_NS, xml_escape(corr))).encode("utf-8")
    code, text = soap_post(gw, "TerminalStatusNotificationManager", body)
    notifs = load_json(path, {})
    if corr in notifs:
        notifs[corr]["ended"] = time.time()
        save_json(path, notifs)
    if code == 200 and "endNotificationResponse" in text:
        out("PASS", "endNotification %s" % corr)
    else:
        out("FAIL", "endNotification %s" % corr, "HTTP %s %s" % (code, text[-300:]))
    return 0


# --- reading callbacks ---------------------------------------------------------

def delivered_callbacks(paths, prefix):
    """Callbacks answered 200 (or 202) for correlators with PREFIX, in arrival order."""
    recs = [r for r in read_jsonl(paths)
            if str(r.get("correlator") or "").startswith(prefix)
            and str(r.get("answer")) in ("200", "202", "hang>200")]
    recs.sort(key=lambda r: r.get("time", 0))
    return recs


def in_any(t, windows):
    return any(w0 <= t <= w1 for w0, w1 in windows)


# --- the check -------------------------------------------------------------------

def embed(D, P, req, dup_ok, K=8, tsend=None):
    """D: delivered statuses [(status, arrival)], P: published statuses of
    the presentity (in order), req[j]: P[j] must be delivered, tsend[j]:
    when P[j] was sent (a callback cannot carry it before). Finds an
    assignment of every D element either to a new publish index (strictly
    increasing, no required index skipped) or, as a duplicate, to an index
    already reached: the last one (a consecutive repeat) or, when
    dup_ok(arrival), one of the last K. Returns (ok, hw, dups, bad_k,
    assign): hw the last index reached, dups minimal, assign[k] = (j, is_dup)
    for every D element; on failure bad_k is the first D element that fits
    nowhere (None when all fit but a required change after hw is missing)."""
    n = len(P)
    next_req = [n] * (n + 1)    # next_req[h + 1]: smallest required index > h
    nxt = n
    for j in range(n - 1, -2, -1):
        next_req[j + 1] = nxt
        if j >= 0 and req[j]:
            nxt = j
    layers = []
    cur = {-1: (0, None, False)}     # hw -> (dups, previous hw, duplicate?)
    for k, (s, arr) in enumerate(D):
        new = {}

        def offer(h, val, prev, dup):
            if h not in new or val < new[h][0]:
                new[h] = (val, prev, dup)
        allow = dup_ok(arr)
        for h, (v, _, _) in cur.items():
            hi = min(next_req[h + 1], n - 1)
            for j in range(h + 1, hi + 1):
                if tsend is not None and tsend[j] > arr + 0.05:
                    break
                if P[j] == s:
                    offer(j, v, h, False)
            if h >= 0 and (P[h] == s or (allow and s in P[max(0, h - K + 1):h + 1])):
                offer(h, v + 1, h, True)
        if not new:
            return False, None, None, k, None
        layers.append(new)
        cur = new
    best = None
    for h, (v, _, _) in cur.items():
        if next_req[h + 1] < n:
            continue
        if best is None or v < best[1]:
            best = (h, v)
    if best is None:
        h = max(cur)
        return False, h, None, None, None
    assign = [None] * len(D)
    h = best[0]
    for k in range(len(D) - 1, -1, -1):
        _, prev, dup = layers[k][h]
        assign[k] = (h, dup)
        h = prev
    return True, best[0], best[1], None, assign


def fmt_t(t, t0):
    return "%+.2fs" % (t - t0)


def cmd_check(a):
    pubs_path, notifs_path, prefix, sinks = a[0], a[1], a[2], a[3].split(",")
    windows, dupw, ended, no_dups = [], [], set(), False
    i = 4
    while i < len(a):
        if a[i] == "--window":
            w0, w1 = a[i + 1].split(":")
            windows.append((float(w0), float(w1)))
            i += 2
        elif a[i] == "--dups":
            w0, w1 = a[i + 1].split(":")
            dupw.append((float(w0), float(w1)))
            i += 2
        elif a[i] == "--no-dups":
            no_dups = True
            i += 1
        elif a[i] == "--ended":
            ended.add(a[i + 1])
            i += 2
        else:
            sys.exit("rs.py check: bad option " + a[i])
    pubs = read_jsonl([pubs_path])
    notifs = {c: n for c, n in load_json(notifs_path, {}).items() if c.startswith(prefix)}
    cbs = delivered_callbacks(sinks, prefix)
    t0 = min([n["started"] for n in notifs.values()] or [time.time()])
    by_uri = {}
    for p in pubs:
        by_uri.setdefault(p["uri"], []).append(p)
    npub = sum(1 for p in pubs if p["t_send"] >= t0
               and any(p["uri"] in n["addresses"] for n in notifs.values()))
    nfail_pub = sum(1 for p in pubs if not p["ok"] and p["t_send"] >= t0)

    # delivered entries per (corr, addr), errors and ends
    seq = {}
    ncb = nentries = 0
    errors, ends, unknown = [], {}, []
    for cbno, r in enumerate(cbs):
        c = r.get("correlator")
        op = r.get("operation")
        if c not in notifs:
            unknown.append("%s %s" % (op, c))
            continue
        if op == "statusNotification":
            ncb += 1
            for e in r.get("entries") or []:
                nentries += 1
                seq.setdefault((c, e.get("address")), []).append((e.get("currentStatus"), r["time"], cbno))
        elif op == "statusChanged":
            ncb += 1
            nentries += 1
            seq.setdefault((c, r.get("address")), []).append((r.get("currentStatus"), r["time"], cbno))
        elif op == "statusEnd":
            ends.setdefault(c, []).append(r["time"])
        elif op == "statusError":
            errors.append("%s %s %s" % (c, r.get("address"), r.get("messageId")))
        else:
            unknown.append("%s %s" % (op, c))

    failures = []
    dups_total = 0
    changes_expected = 0
    mapped = {}     # corr -> [(callback no, t_send, t_ok, addr)] of required changes
    for c in sorted(notifs):
        n = notifs[c]
        end_t = min(ends[c]) if c in ends else None
        for addr in n["addresses"]:
            # the changes this notification should see: published after it
            # started (its answer came after the baseline NOTIFY). A failed
            # publish (no answer) has an unknown outcome: left out.
            pl = [p for p in by_uri.get(addr, []) if p["t_ok"] > n["sent"] and p["ok"]]
            P = [p["status"] for p in pl]
            tsend = [p["t_send"] for p in pl]
            req = []
            for p in pl:
                r_ = (p["t_send"] >= n["started"] and not in_any(p["t_send"], windows)
                      and not in_any(p["t_ok"], windows))
                if end_t is not None and p["t_ok"] > end_t - 0.5:
                    r_ = False  # ended before (or as) it was published
                if n.get("duration") and p["t_ok"] > n["started"] + n["duration"] - 0.5:
                    r_ = False
                req.append(r_)
            changes_expected += sum(req)
            D = seq.get((c, addr), [])

            def dup_ok(arr):
                return not no_dups and in_any(arr, dupw)
            ok, hw, dups, bad_k, assign = embed([(x[0], x[1]) for x in D], P, req, dup_ok,
                                                tsend=tsend)
            if not ok:
                if bad_k is not None:
                    s_, arr = D[bad_k][0], D[bad_k][1]
                    ctx = " ".join("%s@%s%s" % (p["status"][0], fmt_t(p["t_ok"], t0),
                                               "" if rq else "?")
                                   for p, rq in zip(pl, req) if abs(p["t_ok"] - arr) < 3)
                    failures.append("%s %s: callback #%d (%s, arrived %s) does not fit the "
                                    "published sequence (a status never published then, a "
                                    "reordering, or a required change skipped before it); "
                                    "publishes within 3 s (?: may be missed): %s"
                                    % (c, addr, bad_k + 1, s_, fmt_t(arr, t0), ctx))
                else:
                    lost = [j for j in range(hw + 1, len(P)) if req[j]]
                    j = lost[0]
                    failures.append("%s %s: %d published change(s) never delivered, first: %s "
                                    "published %s (delivered %d callbacks, last %s)"
                                    % (c, addr, len(lost), P[j], fmt_t(pl[j]["t_ok"], t0), len(D),
                                       D[-1][0] if D else "none"))
                continue
            dups_total += dups
            if no_dups and dups:
                failures.append("%s %s: %d duplicate(s)" % (c, addr, dups))
            if c not in ended and P and req[-1] and (not D or D[-1][0] != P[-1]):
                failures.append("%s %s: last delivered %s, last published %s"
                                % (c, addr, D[-1][0] if D else "none", P[-1]))
            for (st_, arr, cbno), (j, dup) in zip(D, assign):
                if not dup and req[j]:
                    mapped.setdefault(c, []).append((cbno, pl[j]["t_send"], pl[j]["t_ok"], addr))
    # across the addresses of a correlator: a change delivered after another
    # must not have been published (completely) before that other one started
    for c, lst in sorted(mapped.items()):
        lst.sort()
        max_send, max_addr, prev_cb, pend = None, None, None, []
        for cbno, ts_, tok, addr in lst:
            if cbno != prev_cb:
                for x in pend:
                    if max_send is None or x[1] > max_send:
                        max_send, max_addr = x[1], x[3]
                pend, prev_cb = [], cbno
            if max_send is not None and tok < max_send - 0.001:
                failures.append("%s: the change of %s published %s was delivered after one of %s "
                                "published later (%s)" % (c, addr, fmt_t(tok, t0), max_addr,
                                                           fmt_t(max_send, t0)))
                break
            pend.append((cbno, ts_, tok, addr))
    # statusEnd
    for c in sorted(notifs):
        if c in ended:
            if c not in ends:
                failures.append("%s: no statusEnd" % c)
            elif len(ends[c]) > 1 and no_dups:
                failures.append("%s: %d statusEnd" % (c, len(ends[c])))
            else:
                later = [x[1] for (cc, _), v in seq.items() if cc == c for x in v
                         if x[1] > min(ends[c])]
                if later:
                    failures.append("%s: %d statusNotification after statusEnd" % (c, len(later)))
        elif c in ends:
            failures.append("%s: unexpected statusEnd" % c)
    for c in sorted(notifs):
        cnt = notifs[c].get("count") or 0
        if cnt:
            got = len(set(x[2] for (cc, _), v in seq.items() if cc == c for x in v))
            if got > cnt:
                failures.append("%s: %d statusNotification callbacks, count was %d" % (c, got, cnt))
            elif c in ended and got < cnt:
                failures.append("%s: statusEnd after %d statusNotification callbacks, count was %d"
                                % (c, got, cnt))
    if errors:
        failures.append("statusError received: " + "; ".join(errors[:5]))
    if unknown:
        failures.append("callbacks for unknown correlators: " + "; ".join(unknown[:5]))

    out("INFO", "%s: changes published %d (to watched presentities; %d failed), address changes "
        "expected %d, callbacks delivered %d (%d address entries), duplicates %d"
        % (prefix, npub, nfail_pub, changes_expected, ncb, nentries, dups_total))
    print("COUNTS|%d|%d|%d|%d" % (npub, ncb, nentries, dups_total))
    name = "%s: every published change delivered in publish order per (correlator, address), " \
           "nothing invented, last status = last published" % prefix
    if failures:
        out("FAIL", name, "%d problem(s): %s" % (len(failures), " || ".join(failures[:6])))
        for f in failures:
            sys.stderr.write("check: %s\n" % f)
    else:
        out("PASS", name)
    return 0


# --- gateway state -------------------------------------------------------------

def cmd_listed(a):
    gw, notifs_path, prefix = a[0], a[1], a[2]
    restored, absent = None, set()
    i = 3
    while i < len(a):
        if a[i] == "--restored":
            restored = a[i + 1] == "true"
            i += 2
        elif a[i] == "--absent":
            absent.update(a[i + 1:])
            break
        else:
            sys.exit("rs.py listed: bad option " + a[i])
    notifs = {c: n for c, n in load_json(notifs_path, {}).items() if c.startswith(prefix)}
    lst = {n["correlator"]: n for n in get_json(gw + "/notifications")}
    bad = []
    for c in sorted(notifs):
        if c in absent:
            if c in lst:
                bad.append("%s listed" % c)
            continue
        n = lst.get(c)
        if n is None:
            bad.append("%s missing" % c)
            continue
        if [x.get("address") for x in n.get("addresses", [])] != notifs[c]["addresses"]:
            bad.append("%s addresses %s" % (c, [x.get("address") for x in n.get("addresses", [])]))
        if restored is not None and n.get("restored") is not restored:
            bad.append("%s restored=%s" % (c, json.dumps(n.get("restored"))))
        if n.get("endpoint") != notifs[c]["endpoint"]:
            bad.append("%s endpoint %s" % (c, n.get("endpoint")))
    extra = [c for c in lst if c.startswith(prefix) and c not in notifs]
    if extra:
        bad.append("unknown listed: " + ",".join(extra))
    want = len([c for c in notifs if c not in absent])
    name = "%s: /notifications lists all %d notification(s)%s%s" % (
        prefix, want, "" if restored is None else ', "restored": %s' % json.dumps(restored),
        " and not %s" % ",".join(sorted(absent)) if absent else "")
    if bad:
        out("FAIL", name, "; ".join(bad[:8]))
    else:
        out("PASS", name)
    return 0


def cmd_subs_active(a):
    gw, prefix = a[0], a[1]
    try:
        lst = get_json(gw + "/notifications", timeout=2)
    except (OSError, ValueError):
        return 1
    mine = [n for n in lst if n["correlator"].startswith(prefix)]
    if not mine:
        return 1
    for n in mine:
        for x in n.get("addresses", []):
            if x.get("subscription") != "active":
                return 1
    return 0


def pending(gw):
    lst = get_json(gw + "/notifications", timeout=3)
    return sum(int((n.get("delivery") or {}).get("pending") or 0) for n in lst)


def cmd_pending(a):
    print(pending(a[0]))
    return 0


def outbox_metric(gw):
    """The outbox gauge of /metrics, when there is one (None otherwise)."""
    try:
        with urllib.request.urlopen(gw + "/metrics", timeout=3) as r:
            text = r.read().decode("utf-8", "replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        name = line.split("{")[0].split(" ")[0]
        if "outbox" in name and ("pending" in name or "size" in name or name.endswith("outbox")):
            try:
                return name, float(line.rsplit(" ", 1)[1])
            except ValueError:
                pass
    return None


def cmd_drain(a):
    gw, notifs_path, prefix = a[0], a[1], a[2]
    notifs = {c: n for c, n in load_json(notifs_path, {}).items() if c.startswith(prefix)}
    bad = []
    p = pending(gw)
    if p:
        bad.append("%d callback(s) pending in /notifications" % p)
    m = outbox_metric(gw)
    if m and m[1] != 0:
        bad.append("%s %g" % m)
    ndel = nres = natt = 0
    for c in sorted(notifs):
        recs = get_json("%s/deliveries?correlator=%s" % (gw, urllib.parse.quote(c, safe="")))
        ids = {}
        for r in recs:
            d = ids.setdefault(r.get("delivery"), {"att": 0, "res": []})
            ev = r.get("event") or ""
            if ev.endswith("_DeliveryAttempted"):
                d["att"] += 1
                natt += 1
            elif ev.endswith("_DeliveryResult"):
                d["res"].append(r.get("result"))
        for did, d in ids.items():
            ndel += 1
            if not d["res"]:
                bad.append("%s delivery %s: %d attempt(s), no result" % (c, did, d["att"]))
            elif len(d["res"]) > 1:
                bad.append("%s delivery %s: %d results" % (c, did, len(d["res"])))
            elif d["res"][0] != "delivered":
                bad.append("%s delivery %s: %s" % (c, did, d["res"][0]))
            else:
                nres += 1
    extra = ""
    if len(a) > 3:
        # every callback the sinks answered 2xx is one delivery, or a repeat of one
        got = len(delivered_callbacks(a[3:], prefix))
        extra = "; the sinks answered %d callbacks: %d more than deliveries (duplicates)" % (
            got, got - nres)
    out("INFO", "%s: /deliveries: %d deliveries, %d attempts, %d delivered%s%s" % (
        prefix, ndel, natt, nres, "; metric %s %g" % m if m else "", extra))
    name = "%s: the outbox drains (nothing pending, a delivered _DeliveryResult per delivery)" % prefix
    if bad:
        out("FAIL", name, "%d problem(s): %s" % (len(bad), "; ".join(bad[:6])))
    else:
        out("PASS", name)
    return 0


def cmd_dlvacross(a):
    """The first delivery of CORR that failed: failed attempt(s) before a restart, then
    delivered after it, under one delivery id with attempt numbers going on."""
    gw, corr = a[0], a[1]
    recs = get_json("%s/deliveries?correlator=%s" % (gw, urllib.parse.quote(corr, safe="")))
    name = ("%s: the callback failing at the stop keeps its delivery id and attempt count "
            "across the restart, then is delivered" % corr)
    if not recs:
        out("FAIL", name, "no tracking records")
        return 0
    first_failed = [r for r in recs if str(r.get("event", "")).endswith("_DeliveryAttempted")
                    and r.get("attempt") == 1 and r.get("result") == "failed"]
    if not first_failed:
        out("FAIL", name, "no delivery whose first attempt failed")
        return 0
    d0 = first_failed[0].get("delivery")
    mine = [r for r in recs if r.get("delivery") == d0]
    desc = " ".join("%s:%s:%s" % (r.get("event", "").split("_")[-1], r.get("attempt"),
                                  r.get("result")) for r in mine)
    att = [r for r in mine if str(r.get("event", "")).endswith("_DeliveryAttempted")]
    res = [r for r in mine if str(r.get("event", "")).endswith("_DeliveryResult")]
    good = (len(att) >= 2 and att[0].get("result") == "failed"
            and att[-1].get("result") == "delivered"
            and [r.get("attempt") for r in att] == list(range(1, len(att) + 1))
            and len(res) == 1 and res[0].get("result") == "delivered"
            and res[0].get("attempt") == len(att))
    if good:
        out("PASS", name + " (%s)" % desc)
    else:
        out("FAIL", name, "records of delivery %s: %s" % (d0, desc))
    return 0


def cmd_inflight(a):
    """Callbacks the sink held (answer delayed by 1 s or more, so still
    unanswered at the kill) must be received again after KILL. HOLD is
    when the hold was asked for; a callback received just before that may
    be held too, so the sink's own record of the delay decides."""
    recs = delivered_callbacks([a[0]], a[1])
    hold, kill = float(a[2]), float(a[3])
    held = [r for r in recs if r.get("delay_ms", 0) >= 1000 and hold - 1 <= r["time"] <= kill]
    after = [r for r in recs if r["time"] > kill]
    missing = []
    for r in held:
        if not any(x["correlator"] == r["correlator"] and x["body"] == r["body"] for x in after):
            missing.append("%s %s" % (r["correlator"], " ".join(
                "%s=%s" % (e.get("address"), e.get("currentStatus")) for e in r.get("entries") or [])))
    name = ("%s: the %d callback(s) in flight at the kill (received, answer held) are sent "
            "again after the restart" % (a[1], len(held)))
    if not held:
        out("FAIL", name, "no callback was in flight: the test did not exercise it")
    elif missing:
        out("FAIL", name, "%d never sent again: %s" % (len(missing), "; ".join(missing[:6])))
    else:
        out("PASS", name)
    return 0


def cmd_settle(a):
    gw, timeout, quiet = a[0], float(a[1]), float(a[2])
    paths = a[3:]
    deadline = time.time() + timeout
    last_size, last_change = None, time.time()
    while time.time() < deadline:
        size = 0
        for p in paths:
            try:
                size += os.path.getsize(p)
            except OSError:
                pass
        if size != last_size:
            last_size, last_change = size, time.time()
        try:
            pend = pending(gw) if gw != "-" else 0
        except (OSError, ValueError):
            pend = -1
        if pend == 0 and time.time() - last_change >= quiet:
            return 0
        time.sleep(0.1)
    return 1


def cmd_health(a):
    try:
        with urllib.request.urlopen(a[0] + "/health", timeout=3) as r:
            code, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        code, body = e.code, e.read()
    except OSError:
        print("0 unreachable")
        return 0
    try:
        ps = json.loads(body).get("presence_server")
    except ValueError:
        ps = "?"
    print("%d %s" % (code, ps))
    return 0


def cmd_count(a):
    recs = delivered_callbacks([a[0]], a[1])
    lo = float(a[2]) if len(a) > 2 else 0
    hi = float(a[3]) if len(a) > 3 else float("inf")
    print(sum(1 for r in recs if lo <= r["time"] <= hi))
    return 0


def cmd_calls(a):
    # rs.py calls REC PREFIX SINCE: the callbacks delivered for correlators
    # with PREFIX after SINCE, one line each: "operation address=status ..."
    for r in delivered_callbacks([a[0]], a[1]):
        if r["time"] >= float(a[2]):
            print(" ".join([r.get("operation", "?")] +
                           ["%s=%s" % (e.get("address"), e.get("currentStatus"))
                            for e in r.get("entries") or []]))
    return 0


def cmd_latency(a):
    pubs_path, sink, corr, w0, w1 = a[0], a[1], a[2], float(a[3]), float(a[4])
    recs = delivered_callbacks([sink], corr)
    recs = [r for r in recs if r.get("correlator") == corr]
    got = {}
    for r in recs:
        for e in r.get("entries") or []:
            got.setdefault(e.get("address"), []).append((r["time"], e.get("currentStatus")))
    by = float(a[5]) if len(a) > 6 else None
    margin = float(a[6]) if len(a) > 6 else 0.0
    lats, missing, late, checked = [], 0, 0, 0
    for p in read_jsonl([pubs_path]):
        if not p["ok"] or not (w0 <= p["t_ok"] <= w1) or p["uri"] not in got:
            continue
        # the first callback for that address with that status after the publish
        cand = [t for t, s in got[p["uri"]] if s == p["status"] and t >= p["t_send"] - 0.01]
        if cand:
            lats.append((min(cand) - p["t_ok"]) * 1000)
        else:
            missing += 1
        if by is not None and p["t_ok"] <= by - margin:
            checked += 1
            if not cand or min(cand) > by:
                late += 1
    lats.sort()
    if lats:
        line = "%d %d %d %d" % (len(lats), lats[-1], lats[(len(lats) - 1) // 2], missing)
    else:
        line = "0 0 0 %d" % missing
    if by is not None:
        line += " %d %d" % (late, checked)
    print(line)
    return 0


def cmd_arrivals(a):
    recs = delivered_callbacks([a[0]], a[1])
    if len(a) > 2:
        recs = [r for r in recs if r["time"] >= float(a[2])]
    if recs:
        print("%.3f %.3f %d" % (recs[0]["time"], recs[-1]["time"], len(recs)))
    else:
        print("0 0 0")
    return 0


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: rs.py COMMAND ...")
    cmd, a = sys.argv[1], sys.argv[2:]
    f = {"pub": cmd_pub, "cycle": cmd_cycle, "start": cmd_start, "check": cmd_check,
         "listed": cmd_listed, "subs-active": cmd_subs_active, "pending": cmd_pending,
         "drain": cmd_drain, "settle": cmd_settle, "health": cmd_health, "count": cmd_count,
         "latency": cmd_latency, "arrivals": cmd_arrivals, "dlvacross": cmd_dlvacross,
         "inflight": cmd_inflight, "end": cmd_end, "calls": cmd_calls}.get(cmd)
    if f is None:
        sys.exit("rs.py: unknown command " + cmd)
    try:
        rc = f(a)
    except Exception as e:  # noqa: BLE001 - any crash of a checker is a failure
        # e.g. the gateway does not answer: a FAIL line, and a traceback
        # on stderr for whoever reads the logs
        import traceback
        traceback.print_exc()
        out("FAIL", "rs.py %s %s" % (cmd, " ".join(a[:3])), "%s: %s" % (type(e).__name__, e))
        rc = 1
    sys.exit(rc)


if __name__ == "__main__":
    main()
