# shellcheck shell=bash
#
# tests/lib/tls.sh - throw-away certificates for the TLS tests, made at
# test time with the openssl command (nothing secret is committed).
#
#   tls_make_certs DIR
#       Writes into DIR (P-256 keys, valid 2 days):
#         ca.pem, ca.key            a test CA ("pxtsgw test CA")
#         server.pem, server.key    CN=localhost, subjectAltName DNS:localhost
#                                   and IP:127.0.0.1, signed by ca
#         other-ca.pem, other-ca.key  a second CA, trusted by nobody
#         untrusted.pem, untrusted.key  as server.pem, signed by other-ca
#         wrong.pem, wrong.key      CN=wrong.example, DNS:wrong.example only,
#                                   signed by ca (right CA, wrong name)
#       Returns 1 (openssl's message on stderr) when a step fails.

# _tls_key_csr DIR NAME CN: a P-256 key and a request
_tls_key_csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1/$2.key" -subj "/CN=$3" -out "$1/$2.csr" 2>>"$1/openssl.log"
}

# _tls_sign DIR NAME CA SAN: NAME.csr signed by CA for the names SAN
_tls_sign() {
	printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' "$4" >"$1/$2.ext"
	openssl x509 -req -in "$1/$2.csr" -CA "$1/$3.pem" -CAkey "$1/$3.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 2 -sha256 \
		-extfile "$1/$2.ext" -out "$1/$2.pem" 2>>"$1/openssl.log"
}

# _tls_ca DIR NAME CN: a self-signed CA
_tls_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1/$2.key" -out "$1/$2.pem" -days 2 -sha256 -subj "/CN=$3" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>>"$1/openssl.log"
}

tls_make_certs() {
	local d=$1
	mkdir -p "$d" || return 1
	{
		_tls_ca "$d" ca "pxtsgw test CA" &&
			_tls_ca "$d" other-ca "pxtsgw other test CA" &&
			_tls_key_csr "$d" server localhost &&
			_tls_sign "$d" server ca "DNS:localhost,IP:127.0.0.1" &&
			_tls_key_csr "$d" untrusted localhost &&
			_tls_sign "$d" untrusted other-ca "DNS:localhost,IP:127.0.0.1" &&
			_tls_key_csr "$d" wrong wrong.example &&
			_tls_sign "$d" wrong ca "DNS:wrong.example"
	} || { echo "tls_make_certs: openssl failed:" >&2; tail -5 "$d/openssl.log" >&2; return 1; }
}
