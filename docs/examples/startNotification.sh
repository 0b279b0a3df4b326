#!/bin/sh
# startNotification: callbacks to PXTSGW_CALLBACK whenever alice's or bob's
# status changes, the current status first (checkImmediate), at most 10
URL=${PXTSGW_URL:-http://127.0.0.1:8080}
CALLBACK=${PXTSGW_CALLBACK:-http://127.0.0.1:8090/callbacks}
curl -s -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' \
  --data-binary @- "$URL/TerminalStatusNotificationManager" <<XML
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/notification_manager/v2_3/local">
  <soapenv:Body>
    <loc:startNotification>
      <loc:reference>
        <endpoint>$CALLBACK</endpoint>
        <interfaceName>TerminalStatusNotification</interfaceName>
        <correlator>readme-1</correlator>
      </loc:reference>
      <loc:addresses>sip:alice@example.com</loc:addresses>
      <loc:addresses>sip:bob@example.com</loc:addresses>
      <loc:checkImmediate>true</loc:checkImmediate>
      <loc:count>10</loc:count>
    </loc:startNotification>
  </soapenv:Body>
</soapenv:Envelope>
XML
echo
