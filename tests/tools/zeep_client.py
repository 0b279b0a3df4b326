#!/usr/bin/python3
"""zeep_client.py - call the pxtsgw TerminalStatus service as a real SOAP
client would: python3-zeep builds the client from URL/TerminalStatus?wsdl,
loaded straight from the running gateway (the schema imports resolve there).

Usage:
  zeep_client.py [options] URL getStatus ADDRESS
  zeep_client.py [options] URL getStatusForGroup ADDRESS [ADDRESS...]
  zeep_client.py [options] URL startNotification ENDPOINT CORRELATOR ADDRESS [ADDRESS...]

  URL   the gateway's base URL, e.g. http://127.0.0.1:8080

Output (stdout, one item per line, fields separated by one space):
  getStatus answer          status STATUS                 e.g. "status Busy"
  startNotification answer  started                   (criteria Busy, Reachable,
                                                      Unreachable; checkImmediate false;
                                                      the NotificationManager's own WSDL)
  getStatusForGroup answer  one line per StatusData, in answer order:
                              ADDRESS Retrieved STATUS
                              ADDRESS NotRetrieved
                              ADDRESS Error MESSAGEID
                            (any field present against the contract is still
                            printed, so "ADDRESS NotRetrieved Busy" shows it)
  SOAP fault                fault MESSAGEID FAULTSTRING
                            faultcode CODE
                            exception ServiceException|PolicyException
                            text TEXT                 (the template, with %1...)
                            variable VALUE            (one line per variable)
                            The detail is read from zeep's Fault.detail and
                            parsed with the WSDL's own element declaration.
  with --time, a last line  elapsed_ms N              (the SOAP call only, not
                                                      start-up or the WSDL fetch)

Options:
  --timeout S   HTTP timeout of the WSDL load and of the call (default 10)
  --time        print elapsed_ms (see above)
  --user U --password P   HTTP Basic credentials (a users file is set)
  --wsse-user U --wsse-password P   a WS-Security UsernameToken in the SOAP
                Header (zeep.wsse.username.UsernameToken, PasswordText)
  --wsse-digest the UsernameToken's password as PasswordDigest instead
  -v            dump the request and answer envelopes to stderr

Exit status: 0 a SOAP answer arrived (a fault included); 1 the answer was not
what the WSDL describes (unparseable, fault without a readable detail);
2 bad usage; 3 transport error (connection refused, timeout, HTTP error
without a SOAP body, WSDL not loadable).
"""

import argparse
import sys
import time

sys.dont_write_bytecode = True

try:
    import requests
    import zeep
    from lxml import etree
    from zeep.exceptions import Fault, TransportError, XMLParseError
    from zeep.plugins import HistoryPlugin
    from zeep.transports import Transport
    from zeep.wsse.username import UsernameToken
except ImportError as e:  # the pyenv python3 on PATH has no zeep
    sys.stderr.write("zeep_client.py: %s (run it with /usr/bin/python3)\n" % e)
    sys.exit(2)

NS_COMMON = "http://www.csapi.org/schema/parlayx/common/v2_1"
EXC_NAMES = ("ServiceException", "PolicyException")


def out(*fields):
    print(" ".join("" if f is None else str(f) for f in fields))


def dump_history(history):
    for label, entry in (("request", history.last_sent),
                         ("answer", history.last_received)):
        if not entry:
            continue
        sys.stderr.write("--- %s\n" % label)
        try:
            sys.stderr.write(etree.tostring(entry["envelope"], pretty_print=True)
                             .decode("utf-8", "replace"))
        except Exception:  # noqa: BLE001 - debugging aid only
            sys.stderr.write(repr(entry) + "\n")


def print_fault(client, fault):
    """Prints a Fault; returns 0 when its detail is a readable Parlay X
    exception, 1 otherwise (the fault lines are printed either way)."""
    detail = fault.detail
    exc = None
    if detail is not None:
        for child in detail:
            if not isinstance(child.tag, str):
                continue  # comments
            q = etree.QName(child)
            if q.namespace == NS_COMMON and q.localname in EXC_NAMES:
                exc = child
                break
    code = fault.code if fault.code is not None else "-"
    if exc is None:
        out("fault", "-", fault.message)
        out("faultcode", code)
        sys.stderr.write("zeep_client.py: fault without a ServiceException/"
                         "PolicyException detail: %s\n"
                         % (etree.tostring(detail).decode() if detail is not None
                            else "no detail"))
        return 1
    name = etree.QName(exc).localname
    try:
        decl = client.get_element("{%s}%s" % (NS_COMMON, name))
        value = decl.parse(exc, client.wsdl.types)
    except Exception as e:  # noqa: BLE001
        out("fault", "-", fault.message)
        out("faultcode", code)
        sys.stderr.write("zeep_client.py: %s detail does not parse: %s\n" % (name, e))
        return 1
    out("fault", value.messageId, fault.message)
    out("faultcode", code)
    out("exception", name)
    out("text", value.text)
    for v in value.variables or []:
        out("variable", v)
    return 0


def main():
    ap = argparse.ArgumentParser(
        description="Call pxtsgw's TerminalStatus service with zeep.",
        epilog="Exit: 0 SOAP answer (faults included), 1 answer not as the WSDL "
               "says, 2 usage, 3 transport error.")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--time", action="store_true", help="print elapsed_ms last")
    ap.add_argument("--user", help="HTTP Basic user (with --password)")
    ap.add_argument("--password", default="")
    ap.add_argument("--wsse-user", help="UsernameToken user (with --wsse-password)")
    ap.add_argument("--wsse-password", default="")
    ap.add_argument("--wsse-digest", action="store_true", help="PasswordDigest, not text")
    ap.add_argument("--ca", help="https: trust only this CA file (PEM)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("url")
    ap.add_argument("operation", choices=("getStatus", "getStatusForGroup", "startNotification"))
    ap.add_argument("addresses", nargs="+")
    a = ap.parse_args()
    if a.operation == "getStatus" and len(a.addresses) != 1:
        ap.error("getStatus takes exactly one ADDRESS")
    if a.operation == "startNotification" and len(a.addresses) < 3:
        ap.error("startNotification takes ENDPOINT CORRELATOR ADDRESS...")

    service = ("TerminalStatusNotificationManager" if a.operation == "startNotification"
               else "TerminalStatus")
    wsdl = a.url.rstrip("/") + "/" + service + "?wsdl"
    history = HistoryPlugin()
    session = requests.Session()
    if a.user is not None:
        session.auth = requests.auth.HTTPBasicAuth(a.user, a.password)
    if a.ca:
        # requests lets REQUESTS_CA_BUNDLE (set on some machines) win over
        # a session's verify: the environment is not trusted here
        session.trust_env = False
        session.verify = a.ca
    transport = Transport(session=session, timeout=a.timeout, operation_timeout=a.timeout)
    wsse = None
    if a.wsse_user is not None:
        wsse = UsernameToken(a.wsse_user, a.wsse_password, use_digest=a.wsse_digest)
    try:
        client = zeep.Client(wsdl, transport=transport, plugins=[history], wsse=wsse)
    except (requests.RequestException, TransportError, OSError) as e:
        sys.stderr.write("zeep_client.py: cannot load %s: %s\n" % (wsdl, e))
        return 3
    except Exception as e:  # noqa: BLE001 - e.g. an unparseable WSDL
        sys.stderr.write("zeep_client.py: bad WSDL at %s: %s\n" % (wsdl, e))
        return 1

    rc = 0
    t0 = time.monotonic()
    try:
        if a.operation == "getStatus":
            result = client.service.getStatus(address=a.addresses[0])
            elapsed = time.monotonic() - t0
            out("status", result)
        elif a.operation == "startNotification":
            client.service.startNotification(
                reference={"endpoint": a.addresses[0],
                           "interfaceName": "TerminalStatusNotification",
                           "correlator": a.addresses[1]},
                addresses=a.addresses[2:],
                criteria=["Busy", "Reachable", "Unreachable"],
                checkImmediate=False)
            elapsed = time.monotonic() - t0
            out("started")
        else:
            result = client.service.getStatusForGroup(addresses=a.addresses)
            elapsed = time.monotonic() - t0
            for sd in result or []:
                fields = [sd.address, sd.reportStatus]
                if sd.currentStatus is not None:
                    fields.append(sd.currentStatus)
                if sd.errorInformation is not None:
                    fields.append(sd.errorInformation.messageId)
                out(*fields)
    except Fault as f:
        elapsed = time.monotonic() - t0
        rc = print_fault(client, f)
    except (requests.RequestException, TransportError, OSError) as e:
        if a.verbose:
            dump_history(history)
        sys.stderr.write("zeep_client.py: transport error: %s\n" % e)
        return 3
    except (XMLParseError, ValueError, AttributeError, TypeError) as e:
        if a.verbose:
            dump_history(history)
        sys.stderr.write("zeep_client.py: answer not as the WSDL says: %s: %s\n"
                         % (type(e).__name__, e))
        return 1
    if a.verbose:
        dump_history(history)
    if a.time:
        out("elapsed_ms", int(elapsed * 1000))
    return rc


if __name__ == "__main__":
    sys.exit(main())
