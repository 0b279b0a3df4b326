#!/bin/sh
# CAMARA retrieve: is this phone reachable? (sip.tel-domain makes the number a SIP URI)
URL=${PXTSGW_URL:-http://127.0.0.1:8080}
curl -s -H 'Content-Type: application/json' -H 'x-correlator: readme-r1' \
  -d '{"device": {"phoneNumber": "+15550100"}}' \
  "$URL/device-reachability-status/v1/retrieve"
echo
