#!/bin/sh
# CAMARA: the caller's subscriptions, then DELETE of the one named (204; its
# sink gets subscription-ended SUBSCRIPTION_DELETED)
URL=${PXTSGW_URL:-http://127.0.0.1:8080}
SUBS=$URL/device-reachability-status-subscriptions/v0.8/subscriptions
curl -s "$SUBS"
echo
curl -s -o /dev/null -w 'DELETE: %{http_code}\n' -X DELETE "$SUBS/$1"
