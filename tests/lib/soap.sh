# shellcheck shell=bash
#
# tests/lib/soap.sh - the SOAP requests and
# checks the integration tests share. Source it after gateway.sh (it uses
# soap_post, ok, fail, _short). NM is the manager's endpoint path.
#
#   start_xml CORR ENDPOINT "ADDR..." [options]   a startNotification request
#   end_xml CORR                                  an endNotification request
#   empty_response OP     the last answer is HTTP 200 with an empty <OP>Response
#   sn NAME CORR ENDPOINT "ADDR..." [options]     startNotification that must succeed
#   en NAME CORR                                  endNotification that must succeed
#   expect_fault NAME MSGID [VARIABLE]            the last answer is that fault
#   getstatus_xml ADDRESS, gsfg_xml ADDRESS...    getStatus / getStatusForGroup requests

NM=TerminalStatusNotificationManager

# start_xml CORR ENDPOINT "ADDR..." [crit=S,S] [imm=true|false] [freq=Metric:N]
#           [dur=Metric:N] [count=N]: a startNotification request
start_xml() {
	local corr=$1 ep=$2 addrs=$3 a kv crit="" imm=false freq="" dur="" count=""
	shift 3
	for kv in "$@"; do
		case $kv in
		crit=*) crit=${kv#crit=} ;;
		imm=*) imm=${kv#imm=} ;;
		freq=*) freq=${kv#freq=} ;;
		dur=*) dur=${kv#dur=} ;;
		count=*) count=${kv#count=} ;;
		*) echo "start_xml: bad option $kv" >&2 ;;
		esac
	done
	printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' \
		'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"' \
		'    xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/notification_manager/v2_3/local">' \
		'<soapenv:Body><loc:startNotification>' \
		"<loc:reference><endpoint>$ep</endpoint><interfaceName>TerminalStatusNotification</interfaceName><correlator>$corr</correlator></loc:reference>"
	for a in $addrs; do printf '<loc:addresses>%s</loc:addresses>\n' "$a"; done
	if [[ -n $crit ]]; then
		for a in ${crit//,/ }; do printf '<loc:criteria>%s</loc:criteria>\n' "$a"; done
	fi
	printf '<loc:checkImmediate>%s</loc:checkImmediate>\n' "$imm"
	[[ -n $freq ]] && printf '<loc:frequency><metric>%s</metric><units>%s</units></loc:frequency>\n' "${freq%%:*}" "${freq#*:}"
	[[ -n $dur ]] && printf '<loc:duration><metric>%s</metric><units>%s</units></loc:duration>\n' "${dur%%:*}" "${dur#*:}"
	[[ -n $count ]] && printf '<loc:count>%s</loc:count>\n' "$count"
	printf '%s\n' '</loc:startNotification></soapenv:Body></soapenv:Envelope>'
}

end_xml() {
	printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' \
		'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"' \
		'    xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/notification_manager/v2_3/local">' \
		"<soapenv:Body><loc:endNotification><loc:correlator>$1</loc:correlator></loc:endNotification></soapenv:Body></soapenv:Envelope>"
}

# empty_response OP: BODY is HTTP 200 with an empty <OP>Response
empty_response() {
	[[ $HTTP_CODE == 200 ]] &&
		grep -Eq "<([A-Za-z0-9_]+:)?$1Response( [^>]*)?(/>|></([A-Za-z0-9_]+:)?$1Response>)" <<<"$BODY"
}

# sn NAME CORR ENDPOINT "ADDR..." [options]: startNotification that must succeed
sn() {
	local name=$1
	shift
	soap_post "$NM" "$(start_xml "$@")"
	if empty_response startNotification; then
		ok "$name: startNotification answered 200 with an empty response"
	else
		fail "$name: startNotification" "HTTP $HTTP_CODE $(_short "$BODY")"
	fi
}

# en NAME CORR: endNotification that must succeed
en() {
	soap_post "$NM" "$(end_xml "$2")"
	if empty_response endNotification; then
		ok "$1: endNotification answered 200 with an empty response"
	else
		fail "$1: endNotification" "HTTP $HTTP_CODE $(_short "$BODY")"
	fi
}

# expect_fault NAME MSGID [VARIABLE]: the last answer is that fault (HTTP 500,
# faultcode Client for SVC0002-6, else Server; messageId; a variables value)
expect_fault() {
	local name=$1 id=$2 var=${3:-} code=Server
	[[ $id =~ ^SVC000[2-6]$ ]] && code=Client
	local got_id got_code
	got_id=$(sed -nE 's/.*<messageId>([^<]*)<\/messageId>.*/\1/p' <<<"$BODY" | head -1)
	got_code=$(sed -nE 's/.*<faultcode>[^:<]*:?([^<]*)<\/faultcode>.*/\1/p' <<<"$BODY" | head -1)
	if [[ $HTTP_CODE == 500 && $got_id == "$id" && $got_code == "$code" &&
		(-z $var || $BODY == *"<variables>$var</variables>"*) ]]; then
		ok "$name: fault $id"
	else
		fail "$name" "expected HTTP 500 $code $id${var:+ ($var)}, got HTTP $HTTP_CODE $got_code '$got_id': $(_short "$BODY")"
	fi
}

# getstatus_xml ADDRESS: a getStatus request
getstatus_xml() {
	printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' \
		'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/v2_3/local">' \
		"<soapenv:Body><loc:getStatus><loc:address>$1</loc:address></loc:getStatus></soapenv:Body></soapenv:Envelope>"
}

# gsfg_xml ADDRESS...: a getStatusForGroup request
gsfg_xml() {
	local a
	printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' \
		'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:loc="http://www.csapi.org/schema/parlayx/terminal_status/v2_3/local">' \
		'<soapenv:Body><loc:getStatusForGroup>'
	for a in "$@"; do printf '<loc:addresses>%s</loc:addresses>\n' "$a"; done
	printf '%s\n' '</loc:getStatusForGroup></soapenv:Body></soapenv:Envelope>'
}
