#!/bin/sh
# CAMARA subscription: a CloudEvent to PXTSGW_SINK whenever +15550100 becomes
# reachable, the current state first (initialEvent), at most 5 events
URL=${PXTSGW_URL:-http://127.0.0.1:8080}
SINK=${PXTSGW_SINK:-http://127.0.0.1:8090/events}
curl -s -H 'Content-Type: application/json' -H 'x-correlator: readme-s1' -d '{
  "protocol": "HTTP", "sink": "'"$SINK"'",
  "sinkCredential": {"credentialType": "ACCESSTOKEN", "accessToken": "demo-token",
                     "accessTokenType": "bearer"},
  "types": ["org.camaraproject.device-reachability-status-subscriptions.v0.reachability-data"],
  "config": {"subscriptionDetail": {"device": {"phoneNumber": "+15550100"}},
             "subscriptionMaxEvents": 5, "initialEvent": true}}' \
  "$URL/device-reachability-status-subscriptions/v0.8/subscriptions"
echo
