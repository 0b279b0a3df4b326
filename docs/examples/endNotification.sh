#!/bin/sh
# endNotification: ends readme-1 (no statusEnd callback follows)
URL=${PXTSGW_URL:-http://127.0.0.1:8080}
curl -s -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' \
  --data-binary @- "$URL/TerminalStatusNotificationManager" <<'XML'
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/notification_manager/v2_3/local">
  <soapenv:Body>
    <loc:endNotification>
      <loc:correlator>readme-1</loc:correlator>
    </loc:endNotification>
  </soapenv:Body>
</soapenv:Envelope>
XML
echo
