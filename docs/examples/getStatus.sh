#!/bin/sh
# getStatus: the status of one terminal (Busy, Reachable or Unreachable)
URL=${PXTSGW_URL:-http://127.0.0.1:8080}
curl -s -H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: ""' \
  --data-binary @- "$URL/TerminalStatus" <<'XML'
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/v2_3/local">
  <soapenv:Body>
    <loc:getStatus>
      <loc:address>sip:alice@example.com</loc:address>
    </loc:getStatus>
  </soapenv:Body>
</soapenv:Envelope>
XML
echo
