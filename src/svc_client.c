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
 * caller decides what a failure is worth). It uses the global namespaces[]
 * table, defined once with the nsmap in svc.c.
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
 * they never go to another endpoint. This build of gSOAP has no TLS: an
 * https endpoint fails with "tls: ..." rather than going out in clear.
 */
#include "svc_client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "soapH.h"

#include "dest.h"

#define TLS_UNSUPPORTED "tls: not supported by this build (gSOAP without OpenSSL)"

struct svc_client {
	struct soap *soap;
	long timeout_ms;
	const struct dest *dest;
	long dns_timeout_ms;
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
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
		break;
	}
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

	if (!data || !data->correlator || (unsigned)data->op > DLV_STATUS_END)
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
	}
	if (!ok) {
		svc_callback_free(cb);
		return NULL;
	}
	return cb;
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
	if (u.https)
		return open_failed(soap, c, 0, TLS_UNSUPPORTED);
	for (size_t i = 0; i < a.n; i++) {
		int sk = connect_one(&a.a[i], a.len[i], deadline,
				     soap->send_timeout || soap->recv_timeout, &err);

		if (sk >= 0)
			return sk;
		if (err == ETIMEDOUT)
			break;          /* the attempt's time is up */
	}
	return open_failed(soap, c, err ? err : ECONNREFUSED, NULL);
}

struct svc_client *svc_client_new(long timeout_ms, size_t max_answer_bytes,
				  const struct dest *dest, long dns_timeout_ms)
{
	struct svc_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->soap = soap_new1(SOAP_C_UTFSTRING | SOAP_IO_KEEPALIVE);
	if (!c->soap) {
		free(c);
		return NULL;
	}
	c->soap->socket_flags = MSG_NOSIGNAL;
	c->soap->recv_maxlength = max_answer_bytes;
	c->soap->user = c;
	c->soap->fopen = open_checked;
	c->timeout_ms = timeout_ms;
	c->dest = dest;
	c->dns_timeout_ms = dns_timeout_ms;
	return c;
}

void svc_client_free(struct svc_client *c)
{
	if (!c)
		return;
	soap_destroy(c->soap);
	soap_end(c->soap);
	soap_free(c->soap);
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
		snprintf(out, cap, "TLS error");
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

bool svc_client_send(struct svc_client *c, const char *endpoint, const struct svc_callback *cb,
		     char *detail, size_t cap)
{
	struct soap *soap = c->soap;
	/* the stubs take the request by a non-const pointer; they only read it */
	struct svc_callback *req = (struct svc_callback *)cb;
	int64_t t0 = mono_ms();
	int rc = SOAP_OK;
	bool ok;

	set_timeout(&soap->connect_timeout, c->timeout_ms);
	set_timeout(&soap->send_timeout, c->timeout_ms);
	set_timeout(&soap->recv_timeout, c->timeout_ms);
	set_timeout(&soap->transfer_timeout, c->timeout_ms);
	if (cap > 0)
		detail[0] = '\0';
	if (strncasecmp(endpoint, "https:", 6) == 0) {
		/* checked before gSOAP sees it: this gSOAP (no OpenSSL) would
		 * reuse a kept-alive connection to the same host and port, or
		 * connect to port 80, and send the callback in clear */
		svc_detail_add(detail, cap, TLS_UNSUPPORTED);
		return false;
	}
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
		soap_force_closesock(soap);
	soap_destroy(soap);
	soap_end(soap);
	return ok;
}
