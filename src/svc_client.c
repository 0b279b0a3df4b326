/*
 * svc_client.c - SOAP glue, client side: callbacks to applications'
 * endpoints with the generated gSOAP client stubs (contract sections 5
 * and 9a).
 *
 * What it does: builds a callback's request struct once (svc_callback_new
 * copies our types into the generated ones), sends it, one attempt per
 * svc_client_send, and turns the outcome into a detail in the contract's
 * words. What it does not: queues, order, retries, timing of attempts,
 * the outbox and tracking records are dlv's; it never logs either (the
 * caller decides what a failure is worth). Its context uses a copy of the
 * global namespaces[] (defined once with the nsmap in svc.c) without the
 * WS-Security ones (svc_ns.h), so a callback declares none of them.
 *
 * Connections: one gSOAP context per client (one client per delivery
 * worker), kept across calls so the HTTP keep-alive connection is reused;
 * gSOAP reconnects when the endpoint's host or port differs, or when the
 * server closed the connection. After a failed attempt the connection is
 * closed, so a half-read answer never pollutes the next call. The request
 * is only read while it is sent: a callback can be sent by any client,
 * though by one at a time.
 *
 * Destinations (contract section 11): gSOAP opens connections through
 * soap->fopen, which is ours (open_checked): it resolves the endpoint's
 * host itself (dest_check: address literals and numeric forms as they
 * are, names with the DNS time limit), refuses the connection when any
 * address is not allowed ("endpoint not allowed"), and connects to
 * exactly the addresses it checked, never looking the name up again. A
 * kept-alive connection is reused only for the same host and port, so it
 * goes to an address checked when it was opened. gSOAP's C stubs do not
 * follow redirects: a 3xx answer is a failed attempt. gSOAP takes
 * user:password@ from the URL (percent-decoded) as soap->userid/passwd
 * and sends them as HTTP Basic; they are cleared before every call, so
 * they never go to another endpoint.
 *
 * TLS (contract section 11): an https endpoint gets the same checked
 * connect, then open_checked does the TLS handshake itself on that socket
 * (gSOAP's own tcp_connect is never used): SNI and the host name check on
 * the URL's host (a DNS name; an address literal is checked as an IP
 * address), never on the address connected to; the peer's chain must
 * lead to a certificate authority of the shared svc_tls store (loaded once
 * at start). The SSL goes to soap->ssl, and gSOAP's fsend/frecv use it.
 * Any failure is a failed attempt whose detail starts with "tls: ". A
 * kept-alive connection is reused only for the same scheme too (gSOAP
 * compares host and port only). Connections are closed by close_conn
 * (soap->fclose): a close_notify is sent, never waited for. OpenSSL 3 needs
 * no locking callbacks; each client's SSL_CTX is its own, the certificate
 * store is shared read-only; gSOAP's global TLS set-up runs once
 * (pthread_once) before any client uses it.
 */
#include "svc_client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "soapH.h"

#include "dest.h"
#include "mono.h"
#include "svc_ns.h"
#include "tlsfile.h"

struct svc_tls {
	X509_STORE *cas;             /* shared by every client's SSL_CTX */
};

struct svc_client {
	struct soap *soap;
	long timeout_ms;
	const struct dest *dest;
	long dns_timeout_ms;
	const struct svc_tls *tls;  /* NULL: https endpoints fail */
	struct Namespace *ns;       /* the context's namespace table */
	/* the kept-alive connection's destination, as dest read it:
	 * "<scheme>://<name>:<port>" ("" when none is open); a call to
	 * another destination opens a new connection */
	char conn_key[DEST_HOST_MAX + 32];
	char open_detail[512];      /* why open_checked refused, or "" */
};

struct svc_callback {
	enum dlv_op op;
	char *correlator;
	union {
		struct tsnl__statusNotification notification;
		struct tsnl__statusChanged changed;
		struct tsnl__statusError error;
		struct tsnl__statusEnd end;
	} req;
	struct pxc__ServiceError reason;        /* statusError */
	/* CloudEvents (contract section 12) */
	char *body;                             /* the JSON */
	char *bearer;                           /* NULL: no Authorization */
	char *xhdr;                             /* "x-correlator: <v>" or NULL */
};

/* --- callbacks: our types into the generated request structs --------------- */

void svc_callback_free(struct svc_callback *cb)
{
	if (!cb)
		return;
	switch (cb->op) {
	case DLV_STATUS_NOTIFICATION:
		for (int i = 0; i < cb->req.notification.__sizeterminalStatus; i++)
			free(cb->req.notification.terminalStatus[i].address);
		free(cb->req.notification.terminalStatus);
		break;
	case DLV_STATUS_CHANGED:
		free(cb->req.changed.address);
		break;
	case DLV_STATUS_ERROR:
		free(cb->req.error.address);
		free(cb->reason.messageId);
		free(cb->reason.text);
		for (int i = 0; i < cb->reason.__sizevariables; i++)
			free(cb->reason.variables[i]);
		free(cb->reason.variables);
		break;
	case DLV_STATUS_END:
	case DLV_CE_REACHABILITY_DATA:
	case DLV_CE_REACHABILITY_DISCONNECTED:
	case DLV_CE_SUBSCRIPTION_ENDED:
		break;
	}
	free(cb->body);
	free(cb->bearer);
	free(cb->xhdr);
	free(cb->correlator);
	free(cb);
}

static bool map_status(ts_status s, enum ts__Status *out)
{
	switch (s) {
	case TS_REACHABLE: *out = ts__Status__Reachable; return true;
	case TS_UNREACHABLE: *out = ts__Status__Unreachable; return true;
	case TS_BUSY: *out = ts__Status__Busy; return true;
	}
	return false;
}

/* A copy of s (not NULL); *ok = false when s is NULL or memory is short. */
static char *dup_req(const char *s, bool *ok)
{
	char *p = s ? strdup(s) : NULL;

	if (!p)
		*ok = false;
	return p;
}

struct svc_callback *svc_callback_new(const struct svc_callback_data *data)
{
	struct svc_callback *cb;
	bool ok = true;

	if (!data || !data->correlator || (unsigned)data->op > DLV_CE_SUBSCRIPTION_ENDED)
		return NULL;
	cb = calloc(1, sizeof(*cb));
	if (!cb)
		return NULL;
	cb->op = data->op;
	cb->correlator = dup_req(data->correlator, &ok);
	switch (data->op) {
	case DLV_STATUS_NOTIFICATION: {
		struct ts__StatusInformation *si;

		if (data->n < 1 || data->n > INT_MAX || !data->entries ||
		    !(si = calloc(data->n, sizeof(*si)))) {
			ok = false;
			break;
		}
		cb->req.notification.terminalStatus = si;
		cb->req.notification.__sizeterminalStatus = (int)data->n;
		for (size_t i = 0; i < data->n; i++) {
			si[i].address = dup_req(data->entries[i].address, &ok);
			if (!map_status(data->entries[i].status, &si[i].currentStatus))
				ok = false;
		}
		cb->req.notification.correlator = cb->correlator;
		break;
	}
	case DLV_STATUS_CHANGED:
		if (data->n != 1 || !data->entries ||
		    !map_status(data->entries[0].status, &cb->req.changed.currentStatus)) {
			ok = false;
			break;
		}
		cb->req.changed.address = dup_req(data->entries[0].address, &ok);
		cb->req.changed.correlator = cb->correlator;
		break;
	case DLV_STATUS_ERROR:
		cb->reason.messageId = dup_req(data->message_id, &ok);
		cb->reason.text = dup_req(data->text, &ok);
		if (data->nvariables > 0) {
			if (data->nvariables > INT_MAX || !data->variables ||
			    !(cb->reason.variables = calloc(data->nvariables, sizeof(char *)))) {
				ok = false;
				break;
			}
			cb->reason.__sizevariables = (int)data->nvariables;
			for (size_t i = 0; i < data->nvariables; i++)
				cb->reason.variables[i] = dup_req(data->variables[i], &ok);
		}
		if (data->address)
			cb->req.error.address = dup_req(data->address, &ok);
		cb->req.error.reason = &cb->reason;
		cb->req.error.correlator = cb->correlator;
		break;
	case DLV_STATUS_END:
		cb->req.end.correlator = cb->correlator;
		break;
	case DLV_CE_REACHABILITY_DATA:
	case DLV_CE_REACHABILITY_DISCONNECTED:
	case DLV_CE_SUBSCRIPTION_ENDED:
		cb->body = dup_req(data->body, &ok);
		if (data->bearer)
			cb->bearer = dup_req(data->bearer, &ok);
		if (data->x_correlator && asprintf(&cb->xhdr, "x-correlator: %s", data->x_correlator) < 0) {
			cb->xhdr = NULL;
			ok = false;
		}
		/* header values: no line break may start another header */
		for (const char *h = cb->bearer; ok && h && *h; h++)
			ok = (unsigned char)*h >= 0x20 && *h != 0x7f;
		for (const char *h = cb->xhdr; ok && h && *h; h++)
			ok = (unsigned char)*h >= 0x20 && *h != 0x7f;
		break;
	}
	if (!ok) {
		svc_callback_free(cb);
		return NULL;
	}
	return cb;
}

/* --- TLS: the trust, shared ----------------------------------------------------- */

static pthread_once_t ssl_once = PTHREAD_ONCE_INIT;

static void ssl_init_once(void)
{
	soap_ssl_init();
}

struct svc_tls *svc_tls_new(const char *ca_file, char *err, size_t cap)
{
	struct svc_tls *t;

	pthread_once(&ssl_once, ssl_init_once);
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	t->cas = tlsfile_load_cas(ca_file, NULL, err, cap);
	if (!t->cas) {
		free(t);
		return NULL;
	}
	return t;
}

void svc_tls_free(struct svc_tls *t)
{
	if (!t)
		return;
	X509_STORE_free(t->cas);
	free(t);
}

/* --- clients ------------------------------------------------------------------ */

/* --- connections: only to checked addresses ------------------------------------ */

/* A failed open: the detail for the attempt (NULL: classify reads errnum). */
static SOAP_SOCKET open_failed(struct soap *soap, struct svc_client *c, int err, const char *detail)
{
	if (detail)
		snprintf(c->open_detail, sizeof(c->open_detail), "%s", detail);
	soap->errnum = err;
	soap_set_receiver_error(soap, err ? strerror(err) : detail, "connect failed in open_checked()",
				SOAP_TCP_ERROR);
	return SOAP_INVALID_SOCKET;
}

/* Connects to sa, waiting until deadline (monotonic ms; 0: no limit).
 * Returns the socket, or -1 with *err. */
static int connect_one(const struct sockaddr_storage *sa, socklen_t len, int64_t deadline,
		       bool stay_nonblocking, int *err)
{
	int sk = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

	if (sk < 0) {
		*err = errno;
		return -1;
	}
	if (connect(sk, (const struct sockaddr *)sa, len) != 0) {
		socklen_t elen = sizeof(*err);

		if (errno != EINPROGRESS) {
			*err = errno;
			close(sk);
			return -1;
		}
		for (;;) {
			struct pollfd pfd = { .fd = sk, .events = POLLOUT };
			int64_t left = deadline ? deadline - mono_ms() : -1;
			int r;

			if (deadline && left <= 0) {
				*err = ETIMEDOUT;
				close(sk);
				return -1;
			}
			r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
			if (r > 0)
				break;
			if (r < 0 && errno != EINTR) {
				*err = errno;
				close(sk);
				return -1;
			}
		}
		*err = 0;
		if (getsockopt(sk, SOL_SOCKET, SO_ERROR, err, &elen) != 0)
			*err = errno;
		if (*err) {
			close(sk);
			return -1;
		}
	}
	setsockopt(sk, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* as gSOAP's own connect leaves it: non-blocking when it waits with
	 * timeouts, blocking otherwise */
	if (!stay_nonblocking)
		fcntl(sk, F_SETFL, fcntl(sk, F_GETFL) & ~O_NONBLOCK);
	*err = 0;
	return sk;
}

/* The TLS handshake on the connected socket sk (non-blocking), within
 * deadline (monotonic ms; 0: no limit). The name checked is the URL's
 * host, never the address connected to. Returns sk with soap->ssl set, or
 * closes sk and fails with a "tls: " detail. */
static SOAP_SOCKET tls_handshake(struct soap *soap, struct svc_client *c, int sk,
				 const struct dest_url *u, int64_t deadline)
{
	X509_VERIFY_PARAM *vp;
	char detail[sizeof(c->open_detail)];
	SSL *ssl;
	int ok;

	ERR_clear_error();
	ssl = SSL_new(soap->ctx);
	if (!ssl || SSL_set_fd(ssl, sk) != 1) {
		SSL_free(ssl);
		close(sk);
		return open_failed(soap, c, 0, "tls: cannot set up a TLS connection");
	}
	vp = SSL_get0_param(ssl);
	if (u->kind == DEST_NAME) {
		X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		ok = SSL_set_tlsext_host_name(ssl, u->name) == 1 &&
		     X509_VERIFY_PARAM_set1_host(vp, u->name, 0) == 1;
	} else {
		ok = X509_VERIFY_PARAM_set1_ip(vp, u->addr, u->kind == DEST_IPV4 ? 4 : 16) == 1;
	}
	if (!ok) {
		SSL_free(ssl);
		close(sk);
		return open_failed(soap, c, 0, "tls: cannot set the host name to check");
	}
	for (;;) {
		int r = SSL_connect(ssl), e;
		long v;

		if (r == 1)
			break;
		e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			struct pollfd pfd = { .fd = sk, .events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT };
			int64_t left = deadline ? deadline - mono_ms() : -1;

			if (deadline && left <= 0) {
				snprintf(detail, sizeof(detail), "tls: handshake timeout");
				goto fail;
			}
			if (poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left) < 0 && errno != EINTR) {
				snprintf(detail, sizeof(detail), "tls: handshake failed: %s", strerror(errno));
				goto fail;
			}
			continue;
		}
		v = SSL_get_verify_result(ssl);
		if (v != X509_V_OK) {
			snprintf(detail, sizeof(detail), "tls: certificate verify failed: %s",
				 X509_verify_cert_error_string(v));
		} else if (ERR_peek_last_error()) {
			const char *why = ERR_reason_error_string(ERR_peek_last_error());

			snprintf(detail, sizeof(detail), "tls: handshake failed: %s",
				 why ? why : "unknown error");
		} else if (e == SSL_ERROR_SYSCALL && errno != 0 && errno != EPIPE &&
			   errno != ECONNRESET) {
			snprintf(detail, sizeof(detail), "tls: handshake failed: %s", strerror(errno));
		} else {
			snprintf(detail, sizeof(detail), "tls: connection closed during the handshake");
		}
		goto fail;
	}
	/* SSL_VERIFY_PEER made the handshake fail otherwise; checked again */
	if (SSL_get_verify_result(ssl) != X509_V_OK || !SSL_get0_peer_certificate(ssl)) {
		snprintf(detail, sizeof(detail), "tls: certificate verify failed: no certificate");
		goto fail;
	}
	soap->ssl = ssl;
	soap->imode |= SOAP_ENC_SSL;
	soap->omode |= SOAP_ENC_SSL;
	return sk;
fail:
	SSL_free(ssl);
	ERR_clear_error();
	close(sk);
	return open_failed(soap, c, 0, detail);
}

/* soap->fopen: resolve, check every address (contract section 11), then
 * connect to one of exactly those addresses. gSOAP's own parse of the
 * endpoint (host, port) is not used: the URL is read by dest. */
static SOAP_SOCKET open_checked(struct soap *soap, const char *endpoint, const char *host, int port)
{
	struct svc_client *c = soap->user;
	struct dest_url u;
	struct dest_addrs a;
	char why[160], detail[sizeof(c->open_detail)];
	int64_t deadline = c->timeout_ms > 0 ? mono_ms() + c->timeout_ms : 0;
	long dns = c->dns_timeout_ms > 0 ? c->dns_timeout_ms : DEST_DNS_TIMEOUT_MS;
	int err = 0;

	(void)host;
	(void)port;
	if (dest_url_parse(endpoint, &u) != 0)
		return open_failed(soap, c, 0, "invalid endpoint URL");
	if (c->timeout_ms > 0 && c->timeout_ms < dns)
		dns = c->timeout_ms;
	switch (dest_check(c->dest, &u, dns, &a, why, sizeof(why))) {
	case DEST_ALLOWED:
		break;
	case DEST_REFUSED:
		return open_failed(soap, c, 0, "endpoint not allowed");
	case DEST_UNRESOLVED:
		snprintf(detail, sizeof(detail), "host not found: %s: %s", u.host, why);
		return open_failed(soap, c, 0, detail);
	}
	soap->imode &= ~SOAP_ENC_SSL;
	soap->omode &= ~SOAP_ENC_SSL;
	if (u.https && !soap->ctx)
		return open_failed(soap, c, 0, "tls: no certificate authorities set up");
	for (size_t i = 0; i < a.n; i++) {
		/* TLS: gSOAP reads and writes an SSL socket non-blocking */
		int sk = connect_one(&a.a[i], a.len[i], deadline,
				     u.https || soap->send_timeout || soap->recv_timeout, &err);

		if (sk >= 0) {
			SOAP_SOCKET s = u.https ? tls_handshake(soap, c, sk, &u, deadline) : sk;

			if (soap_valid_socket(s))
				snprintf(c->conn_key, sizeof(c->conn_key), "%s://%s:%u",
					 u.https ? "https" : "http", u.name, u.port);
			return s;
		}
		if (err == ETIMEDOUT)
			break;          /* the attempt's time is up */
	}
	return open_failed(soap, c, err ? err : ECONNREFUSED, NULL);
}

/* soap->fclose: the connection goes, with a close_notify on TLS (not
 * waited for: gSOAP's own close waits up to 5 s for the peer's). */
static int close_conn(struct soap *soap)
{
	if (soap->ssl) {
		SSL_set_quiet_shutdown(soap->ssl, 0);
		SSL_shutdown(soap->ssl);
		SSL_free(soap->ssl);
		soap->ssl = NULL;
		ERR_clear_error();
	}
	if (soap_valid_socket(soap->socket)) {
		shutdown(soap->socket, SHUT_RDWR);
		close(soap->socket);
		soap->socket = SOAP_INVALID_SOCKET;
	}
	soap->imode &= ~SOAP_ENC_SSL;
	soap->omode &= ~SOAP_ENC_SSL;
	return SOAP_OK;
}

/* Closes the client's connection, whatever state it is in. */
static void drop_conn(struct soap *soap)
{
	struct svc_client *c = soap->user;

	soap->keep_alive = 0;
	close_conn(soap);
	if (c)
		c->conn_key[0] = '\0';
}

/* The client's SSL_CTX, made at its first https endpoint: peer
 * verification against the shared store, TLS 1.2 at least. */
static int tls_context(struct svc_client *c, char *detail, size_t cap)
{
	struct soap *soap = c->soap;

	if (soap->ctx)
		return 0;
	if (!c->tls) {
		svc_detail_add(detail, cap, "tls: no certificate authorities set up");
		return -1;
	}
	if (soap_ssl_client_context(soap, SOAP_SSL_DEFAULT | SOAP_SSL_NO_DEFAULT_CA_PATH,
				    NULL, NULL, NULL, NULL, NULL) != SOAP_OK || !soap->ctx ||
	    SSL_CTX_set_min_proto_version(soap->ctx, TLS1_2_VERSION) != 1) {
		svc_detail_add(detail, cap, "tls: cannot set up a TLS context");
		ERR_clear_error();
		return -1;
	}
	SSL_CTX_set1_cert_store(soap->ctx, c->tls->cas);
	SSL_CTX_set_verify(soap->ctx, SSL_VERIFY_PEER, NULL);
	return 0;
}

void svc_client_configure(struct svc_client *c, const struct dest *dest, long timeout_ms,
			  long dns_timeout_ms, bool dest_changed)
{
	c->dest = dest;
	c->timeout_ms = timeout_ms;
	c->dns_timeout_ms = dns_timeout_ms;
	/* the kept-alive connection was allowed by the old list: the next
	 * call connects again, checked by the new one */
	if (dest_changed && soap_valid_socket(c->soap->socket))
		drop_conn(c->soap);
}

struct svc_client *svc_client_new(long timeout_ms, size_t max_answer_bytes,
				  const struct dest *dest, long dns_timeout_ms,
				  const struct svc_tls *tls)
{
	struct svc_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	pthread_once(&ssl_once, ssl_init_once);
	c->soap = soap_new1(SOAP_C_UTFSTRING | SOAP_IO_KEEPALIVE);
	c->ns = svc_ns_table(false, true);
	if (!c->soap || !c->ns) {
		if (c->soap)
			soap_free(c->soap);
		free(c->ns);
		free(c);
		return NULL;
	}
	soap_set_namespaces(c->soap, c->ns);
	c->soap->socket_flags = MSG_NOSIGNAL;
	c->soap->recv_maxlength = max_answer_bytes;
	c->soap->user = c;
	c->soap->fopen = open_checked;
	c->soap->fclose = close_conn;
	c->tls = tls;
	c->timeout_ms = timeout_ms;
	c->dest = dest;
	c->dns_timeout_ms = dns_timeout_ms;
	return c;
}

void svc_client_free(struct svc_client *c)
{
	if (!c)
		return;
	drop_conn(c->soap);
	soap_destroy(c->soap);
	soap_end(c->soap);
	soap_free(c->soap);
	free(c->ns);
	free(c);
}

static void set_timeout(int *field, long ms)
{
	/* gSOAP: > 0 seconds, < 0 microseconds (an int) */
	if (ms <= 0)
		*field = 0;
	else if (ms <= INT_MAX / 1000)
		*field = -(int)(ms * 1000);
	else
		*field = (int)(ms / 1000 < INT_MAX ? ms / 1000 : INT_MAX);
}

void svc_detail_add(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(dst);

	if (n >= cap)
		return;
	for (; *src && n + 1 < cap; src++)
		dst[n++] = (unsigned char)*src < 0x20 || *src == 0x7f ? ' ' : *src;
	if (*src) {
		/* cut: drop a multi-byte character left incomplete at the end */
		size_t k = n;

		while (k > 0 && ((unsigned char)dst[k - 1] & 0xc0) == 0x80)
			k--;
		if (k > 0 && (unsigned char)dst[k - 1] >= 0xc0) {
			unsigned char lead = (unsigned char)dst[k - 1];
			size_t len = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;

			if (n - (k - 1) < len)
				n = k - 1;
		}
	}
	dst[n] = '\0';
}

/* Why an attempt failed, in the contract's words (section 9a). */
static void classify(struct soap *soap, int rc, int64_t elapsed, long timeout_ms,
		     char *out, size_t cap)
{
	int http = soap->status;
	bool has_http = http >= 100 && http < 600;
	bool fault = soap_soap_error_check(rc) && soap->fault;
	int e = soap->errnum;

	out[0] = '\0';
	if (has_http && (http < 200 || http > 299))
		snprintf(out, cap, "HTTP %d", http);
	if (fault) {
		const char **code = soap_faultcode(soap);
		const char *text = soap_fault_string(soap);

		if (out[0])
			svc_detail_add(out, cap, ": ");
		svc_detail_add(out, cap, code && *code ? *code : "SOAP fault");
		if (text && *text) {
			svc_detail_add(out, cap, " ");
			svc_detail_add(out, cap, text);
		}
	}
	if (out[0])
		return;
	if (soap_tcp_error_check(rc)) {
		const char *what = soap_fault_string(soap);

		if (e == ECONNREFUSED)
			snprintf(out, cap, "connection refused");
		else if (e == ETIMEDOUT || e == EAGAIN || e == EWOULDBLOCK || e == EINPROGRESS ||
			 (e == 0 && timeout_ms > 0 && elapsed + 5 >= timeout_ms))
			snprintf(out, cap, "timeout");
		else if (e == ECONNRESET || e == EPIPE || (e == 0 && rc == SOAP_EOF))
			snprintf(out, cap, "connection closed");
		else if (e == EHOSTUNREACH)
			snprintf(out, cap, "host unreachable");
		else if (e == ENETUNREACH)
			snprintf(out, cap, "network unreachable");
		else if (e)
			snprintf(out, cap, "network error: %s", strerror(e));
		else
			svc_detail_add(out, cap, what ? what : "network error");
		return;
	}
	if (soap_ssl_error_check(rc)) {
		snprintf(out, cap, "tls: error");
		if (soap->fault && soap_fault_string(soap)) {
			svc_detail_add(out, cap, ": ");
			svc_detail_add(out, cap, soap_fault_string(soap));
		}
		return;
	}
	snprintf(out, cap, "error %d", rc);
	if (soap->fault && soap_fault_string(soap)) {
		svc_detail_add(out, cap, ": ");
		svc_detail_add(out, cap, soap_fault_string(soap));
	}
}

/* The endpoint as gSOAP is given it. gSOAP takes the userinfo up to the
 * first '@' anywhere in the URL, dest up to the last '@' of the authority
 * (RFC 3986): with an '@' in the path or query, or two in the userinfo,
 * they would read different hosts, so that one endpoint's callback could
 * ride another's connection. Every '@' but the userinfo's last is written
 * %40 (gSOAP decodes it back in a user or password; in a path or query it
 * means the same). false when it does not fit in cap. */
static bool wire_endpoint(const char *e, char *out, size_t cap)
{
	const char *auth = strstr(e, "://"), *end, *last = NULL;
	size_t n = 0;

	if (!auth)
		return false;
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			last = p;
	for (const char *p = e; *p; p++) {
		const char *rep = *p == '@' && p != last ? "%40" : NULL;
		size_t k = rep ? 3 : 1;

		if (n + k >= cap)
			return false;
		if (rep)
			memcpy(out + n, rep, 3);
		else
			out[n] = *p;
		n += k;
	}
	out[n] = '\0';
	return true;
}

/* "<scheme>://<name>:<port>" of endpoint as dest reads it, or "" */
static void dest_key(const char *endpoint, char *key, size_t cap)
{
	struct dest_url u;

	if (dest_url_parse(endpoint, &u) != 0)
		snprintf(key, cap, "%s", "");
	else
		snprintf(key, cap, "%s://%s:%u", u.https ? "https" : "http", u.name, u.port);
}

/* A CloudEvent: a plain HTTP POST of its JSON on the client's connection
 * (the same checked connect, TLS and keep-alive as the SOAP calls). The
 * whole request is stored first so that it goes with a Content-Length.
 * Returns gSOAP's code; soap->status has the HTTP status when one came. */
static int post_event(struct soap *soap, const char *endpoint, const struct svc_callback *cb)
{
	soap_mode omode = soap->omode;
	size_t len = 0;
	int rc;

	soap->omode = (soap->omode & ~SOAP_IO) | SOAP_IO_STORE;
	soap->http_extra_header = cb->xhdr;
	soap->bearer = cb->bearer;
	rc = soap_POST(soap, endpoint, NULL, "application/cloudevents+json");
	if (rc == SOAP_OK && (soap_send(soap, cb->body) != SOAP_OK || soap_end_send(soap) != SOAP_OK))
		rc = soap->error;
	soap->omode = omode;
	soap->http_extra_header = NULL;
	soap->bearer = NULL;
	if (rc != SOAP_OK)
		return rc;
	/* the answer's body is read (and dropped) so that the connection can
	 * carry the next request; an empty 2xx (204) is fine */
	rc = soap_begin_recv(soap);
	if (rc == SOAP_OK) {
		if (!soap_http_get_body(soap, &len))
			rc = soap->error;
		if (rc == SOAP_OK)
			rc = soap_end_recv(soap);
	}
	return rc;
}

bool svc_client_send(struct svc_client *c, const char *endpoint, const struct svc_callback *cb,
		     char *detail, size_t cap)
{
	char wire[3 * 2048 + 1], key[sizeof(c->conn_key)];
	struct soap *soap = c->soap;
	/* the stubs take the request by a non-const pointer; they only read it */
	struct svc_callback *req = (struct svc_callback *)cb;
	int64_t t0 = mono_ms();
	int rc = SOAP_OK;
	bool ok, https = strncasecmp(endpoint, "https:", 6) == 0;

	set_timeout(&soap->connect_timeout, c->timeout_ms);
	set_timeout(&soap->send_timeout, c->timeout_ms);
	set_timeout(&soap->recv_timeout, c->timeout_ms);
	set_timeout(&soap->transfer_timeout, c->timeout_ms);
	if (cap > 0)
		detail[0] = '\0';
	if (!wire_endpoint(endpoint, wire, sizeof(wire))) {
		svc_detail_add(detail, cap, "invalid endpoint URL");
		return false;
	}
	endpoint = wire;
	/* gSOAP reuses a kept-alive connection for the same host and port as
	 * it reads them, whatever the scheme: a connection is reused only for
	 * the same scheme, host and port as dest reads them */
	dest_key(endpoint, key, sizeof(key));
	if (soap_valid_socket(soap->socket) &&
	    ((soap->ssl != NULL) != https || strcmp(key, c->conn_key) != 0))
		drop_conn(soap);
	if (https && tls_context(c, detail, cap) != 0)
		return false;
	soap->status = 0;
	soap->errnum = 0;
	c->open_detail[0] = '\0';
	/* gSOAP sets these from the URL's user:password@ and keeps them until
	 * soap_end: never carry one endpoint's credentials to another */
	soap->userid = NULL;
	soap->passwd = NULL;
	switch (req->op) {
	case DLV_STATUS_NOTIFICATION: {
		struct tsnl__statusNotificationResponse r;

		rc = soap_call___tsns__statusNotification(soap, endpoint, "", &req->req.notification, &r);
		break;
	}
	case DLV_STATUS_CHANGED: {
		struct tsnl__statusChangedResponse r;

		rc = soap_call___tsns__statusChanged(soap, endpoint, "", &req->req.changed, &r);
		break;
	}
	case DLV_STATUS_ERROR: {
		struct tsnl__statusErrorResponse r;

		rc = soap_call___tsns__statusError(soap, endpoint, "", &req->req.error, &r);
		break;
	}
	case DLV_STATUS_END: {
		struct tsnl__statusEndResponse r;

		rc = soap_call___tsns__statusEnd(soap, endpoint, "", &req->req.end, &r);
		break;
	}
	case DLV_CE_REACHABILITY_DATA:
	case DLV_CE_REACHABILITY_DISCONNECTED:
	case DLV_CE_SUBSCRIPTION_ENDED:
		rc = post_event(soap, endpoint, req);
		break;
	}
	/* any 2xx answer without a SOAP fault counts as delivered, even an
	 * empty 202 or a body we could not read */
	ok = rc == SOAP_OK || (soap->status >= 200 && soap->status <= 299 && !soap_soap_error_check(rc));
	if (cap > 0)
		detail[0] = '\0';
	if (!ok && cap > 0) {
		if (c->open_detail[0])
			svc_detail_add(detail, cap, c->open_detail);
		else
			classify(soap, rc, mono_ms() - t0, c->timeout_ms, detail, cap);
	}
	if (rc != SOAP_OK)
		drop_conn(soap);
	soap_destroy(soap);
	soap_end(soap);
	return ok;
}
