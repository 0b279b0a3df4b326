/*
 * front.h - the HTTP front on libmicrohttpd.
 *
 *   POST /TerminalStatus, /TerminalStatusNotificationManager   SOAP 1.1
 *   GET  /<Endpoint>?wsdl      the service WSDL, soap:address = the URL used
 *   GET  /<file>.wsdl|.xsd     the documents the WSDL imports
 *   GET  /health               200 when the SIP stack, the presence server (keepalive)
 *                              and the store are ready, else 503
 *   GET  /metrics              Prometheus text format
 *   GET  /notifications        running notifications and their delivery health
 *   GET  /deliveries?correlator=C   delivery tracking records (JSON)
 *   /device-reachability-status/..., /device-reachability-status-subscriptions/...
 *                              the REST binding (rest.h): any method, JSON
 *
 * Requests that wait for SIP are suspended (MHD_suspend_connection), not
 * parked on a thread. A POST to a SOAP endpoint is refused before its body
 * is read when its media type is not text/xml or application/soap+xml
 * (415) or its Content-Length is too large (413); so is any request other
 * than GET/HEAD that is not such a POST (404, 405).
 *
 * With a certificate and key (contract section 11, TLS) it serves HTTPS
 * only (libmicrohttpd with GnuTLS, TLS 1.2 and 1.3).
 */
#ifndef PXTSGW_FRONT_H
#define PXTSGW_FRONT_H

#include <stdbool.h>
#include <stddef.h>

struct front;
struct svc;
struct watch;
struct store;
struct nm;
struct dlv;
struct auth;

struct front_config {
	const char *listen;          /* host:port */
	unsigned threads;
	size_t max_body;             /* larger: 413 (announced: before reading) */
	unsigned max_connections;
	unsigned max_connections_per_client;  /* per client address; 0: no limit */
	unsigned idle_timeout_s;     /* a silent connection is closed */
	unsigned request_timeout_s;  /* a body still incomplete then is dropped */
	struct svc *svc;
	struct watch *watch;         /* for /health and /metrics */
	struct store *store;         /* for /health and /deliveries */
	struct nm *nm;               /* for /notifications (NULL: none) */
	struct dlv *dlv;             /* for /metrics (NULL: none) */
	struct auth *auth;           /* users (auth.users-file); NULL: no authentication.
				      * front_start takes it, even when it fails
				      * (front_set_auth replaces it, front_stop frees it) */
	/* HTTPS (http.tls-cert, http.tls-key): the PEM texts, NUL-terminated,
	 * kept by the caller until front_stop; NULL: plain HTTP */
	const char *tls_cert;
	const char *tls_key;
};

int front_start(const struct front_config *cfg, struct front **out);
/* A reload: a new users file for the requests that authenticate from now
 * on (taken; NULL is refused, and so is a users file when the front was
 * started without one: turning authentication on or off needs a restart).
 * The old one is freed once the last request that is checking a password
 * with it is done. Any thread. Returns 0, or -1 (auth not taken). */
int front_set_auth(struct front *f, struct auth *auth);
/* Stops accepting new connections (before the SIP side stops). */
void front_quiesce(struct front *f);
/* Waits (bounded) for suspended requests to be answered, then stops. */
void front_stop(struct front *f);

#endif
