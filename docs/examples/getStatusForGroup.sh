#!/bin/sh
# getStatusForGroup: terminals and groups (a group URI is answered per member)
URL=${PXTSGW_URL:-http://127.0.0.1:8080}
curl -s -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' \
  --data-binary @- "$URL/TerminalStatus" <<'XML'
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/v2_3/local">
  <soapenv:Body>
    <loc:getStatusForGroup>
      <loc:addresses>sip:team@groups.example</loc:addresses>
      <loc:addresses>sip:dave@example.com</loc:addresses>
    </loc:getStatusForGroup>
  </soapenv:Body>
</soapenv:Envelope>
XML
echo
