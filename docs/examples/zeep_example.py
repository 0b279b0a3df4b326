#!/usr/bin/python3
# The four operations with zeep (Debian: python3-zeep; run it with
# /usr/bin/python3). zeep builds both clients from the WSDL the gateway serves.
import os
import zeep

url = os.environ.get("PXTSGW_URL", "http://127.0.0.1:8080")
callback = os.environ.get("PXTSGW_CALLBACK", "http://127.0.0.1:8090/callbacks")

ts = zeep.Client(url + "/TerminalStatus?wsdl").service
print("getStatus alice:", ts.getStatus(address="sip:alice@example.com"))
for item in ts.getStatusForGroup(addresses=["sip:team@groups.example"]):
    print("getStatusForGroup:", item.address, item.reportStatus, item.currentStatus)

nm = zeep.Client(url + "/TerminalStatusNotificationManager?wsdl").service
nm.startNotification(
    reference={"endpoint": callback,
               "interfaceName": "TerminalStatusNotification",
               "correlator": "zeep-1"},
    addresses=["sip:carol@example.com"],
    checkImmediate=True)
print("startNotification zeep-1: started")
nm.endNotification(correlator="zeep-1")
print("endNotification zeep-1: ended")
