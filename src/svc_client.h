/*
 * svc_client.h - the SOAP glue's client side: sends one callback
 * (statusNotification, statusChanged, statusError, statusEnd) to an
 * application's endpoint and says how it went (contract sections 5, 9a).
 *
 * Only our own types here; gSOAP stays in svc_client.c. dlv decides when
 * to send, retries and tracks; this module only sends.
 */
#ifndef PXTSGW_SVC_CLIENT_H
#define PXTSGW_SVC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "callback.h"

/* A callback's content as it goes on the wire. The statusError reason is
 * given by its fields, not by a fault id: a callback resumed from the
 * outbox carries the text it was accepted with. */
struct svc_callback_data {
	enum dlv_op op;
	const char *correlator;
	/* DLV_STATUS_NOTIFICATION: n >= 1 entries; DLV_STATUS_CHANGED: 1 */
	const struct dlv_status *entries;
	size_t n;
	/* DLV_STATUS_ERROR: address (may be NULL), then the ServiceError or
	 * PolicyException: message_id and text required, variables (none may
	 * be NULL) */
	const char *address;
	const char *message_id;
	const char *text;
	const char *const *variables;
	size_t nvariables;
	/* DLV_CE_*: the CloudEvent JSON (required), POSTed as
	 * application/cloudevents+json, with "Authorization: Bearer <bearer>"
	 * and "x-correlator: <x_correlator>" when they are not NULL */
	const char *body;
	const char *bearer;
	const char *x_correlator;
};

/* A prepared callback: the request is built once and reused by every
 * attempt. svc_callback_new copies data; NULL when data is invalid (an
 * unknown op or status, a field missing, n wrong for the op) or memory is
 * short. svc_callback_free(NULL) is fine. */
struct svc_callback;
struct svc_callback *svc_callback_new(const struct svc_callback_data *data);
void svc_callback_free(struct svc_callback *cb);

/* The trust for https callbacks (contract section 11, TLS): the
 * certificate authorities of the PEM file ca_file ("" or NULL: the
 * system's, OpenSSL's default paths), read once, shared read-only by every
 * client given it. NULL with err (cap bytes, naming the file) when the
 * file cannot be read or holds no certificate. svc_tls_free(NULL) is fine;
 * free it after the clients. */
struct svc_tls;
struct svc_tls *svc_tls_new(const char *ca_file, char *err, size_t cap);
void svc_tls_free(struct svc_tls *t);

/* A client: one per sending thread (not shared), keeps its HTTP keep-alive
 * connection across calls. timeout_ms bounds connecting (the DNS lookup
 * included), sending and receiving (0: no limit); an answer longer than
 * max_answer_bytes is not read. Every connection it opens goes to an
 * address it resolved itself and checked against dest (contract section
 * 11; NULL: the default refusals only): a refused address is not
 * contacted. dns_timeout_ms (0: 2000) limits the lookup of a host name.
 * An https endpoint's certificate must chain to tls and name the URL's
 * host (tls NULL: every https attempt fails). NULL when memory is short.
 * svc_client_free(NULL) is fine. */
struct svc_client;
struct dest;
struct svc_client *svc_client_new(long timeout_ms, size_t max_answer_bytes,
				  const struct dest *dest, long dns_timeout_ms,
				  const struct svc_tls *tls);
void svc_client_free(struct svc_client *c);

/* Changes what svc_client_new set (a reload): the destination check
 * (borrowed until the next call of this or svc_client_free) and the time
 * limits, for the calls from now on. dest_changed: the list is another
 * one, so a kept-alive connection (allowed by the old one) is closed.
 * The client's thread, between calls. */
void svc_client_configure(struct svc_client *c, const struct dest *dest, long timeout_ms,
			  long dns_timeout_ms, bool dest_changed);

/* One attempt: sends cb to endpoint. true when delivered (any 2xx answer
 * without a SOAP fault; detail ""). Else false, and detail (cap bytes,
 * NUL-terminated) says why in the contract's words (sections 9a, 11):
 * "HTTP 500", "HTTP 500: SOAP-ENV:Server <faultstring>", "connection
 * refused", "timeout", "connection closed", "host not found: ...",
 * "endpoint not allowed", "tls: certificate verify failed: <reason>",
 * "tls: handshake failed: <reason>", ... A redirect is not followed (it
 * is "HTTP 302" and so on). Credentials in the URL (user:password@,
 * percent-decoded) go as HTTP Basic to that endpoint only. After a
 * failure the connection is closed. */
bool svc_client_send(struct svc_client *c, const char *endpoint, const struct svc_callback *cb,
		     char *detail, size_t cap);

/* Appends src to the detail dst (cap), as svc_client_send writes its
 * details: blanks for control characters, cut on a UTF-8 character
 * boundary. For callers that copy or shorten a detail. */
void svc_detail_add(char *dst, size_t cap, const char *src);

#endif
