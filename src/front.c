/*
 * front.c - the HTTP server (libmicrohttpd): routing, capped bodies,
 * suspend/resume for requests that wait on SIP, authentication, WSDL; the
 * views (health, notifications, deliveries, metrics) are front_views.c's.
 *
 * Threads: MHD's pool threads run on_request(). A request that needs SIP is
 * suspended; the SIP thread's completion calls req_wake(), which resumes it,
 * and MHD calls on_request() once more to produce the answer. req_wake()
 * and the handler agree through req->lock on who answers: if the work ends
 * before the handler got to suspend, the handler answers at once.
 *
 * Early refusal: MHD calls on_request() a first time when the headers are
 * in, before any body byte is read. A POST to a SOAP endpoint is refused
 * there when its media type is wrong (415) or its Content-Length too large
 * (413), and so is every request that is neither a GET/HEAD nor a POST to
 * a SOAP endpoint: a response queued at that point makes MHD skip the body
 * and close the connection. GET and HEAD are answered at the final call,
 * which keeps their connection alive. With a users file, HTTP Basic is
 * checked there too, except for a SOAP POST without an Authorization
 * header: its credentials may be a UsernameToken, which svc_handle checks
 * once the body is in (a 401 from it gets WWW-Authenticate as well).
 *
 * Timeouts: MHD closes a connection silent for cfg.idle_timeout_s. A
 * body must also be complete within cfg.request_timeout_s of its headers:
 * at every piece of it the connection's timeout is cut to the time left
 * (MHD_CONNECTION_OPTION_TIMEOUT), so a client trickling bytes is dropped
 * at the deadline; the idle timeout is restored once the body is in. A
 * suspended connection never times out in MHD, and resuming it restarts
 * its idle time: a request waiting for SIP is bounded by the SIP side's
 * own timeouts, not cut by ours.
 */
#include "front_int.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "auth.h"
#include "cfg.h"
#include "httphdr.h"
#include "log.h"
#include "mono.h"
#include "rest.h"
#include "svc.h"
#include "wsdl_blob.h"

/* The endpoints and the service WSDL each one serves at ?wsdl. */
static const struct {
	const char *path;
	const char *wsdl;
	bool soap;          /* POST served here */
} endpoints[] = {
	{ "/TerminalStatus", "parlayx_terminal_status_service_2_3.wsdl", true },
	{ "/TerminalStatusNotificationManager",
	  "parlayx_terminal_status_notification_manager_service_2_3.wsdl", true },
	{ "/TerminalStatusNotification", "parlayx_terminal_status_notification_service_2_3.wsdl", false },
};
#define N_ENDPOINTS (sizeof(endpoints) / sizeof(endpoints[0]))

static size_t find_endpoint(const char *url)
{
	size_t ep;

	for (ep = 0; ep < N_ENDPOINTS; ep++)
		if (strcmp(url, endpoints[ep].path) == 0)
			break;
	return ep;
}

/* The client's address as text, for the log. */
static void client_text(struct MHD_Connection *c, char *buf, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	socklen_t len = sa && sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
			sizeof(struct sockaddr_in);

	if (!sa || getnameinfo(sa, len, buf, (socklen_t)cap, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(buf, cap, "?");
}

static const struct wsdl_file *find_file(const char *name)
{
	for (const struct wsdl_file *w = wsdl_files; w->name; w++)
		if (strcmp(w->name, name) == 0)
			return w;
	return NULL;
}

/* Sets the connection's timeout to s seconds unless it is that already. */
static void set_timeout(struct req *r, unsigned s)
{
	if (r->timeout_s == s)
		return;
	MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT, s);
	r->timeout_s = s;
}

/* The answer to a request for endpoint ep (N_ENDPOINTS: none) that is
 * neither a GET/HEAD nor a POST to a SOAP endpoint. */
static enum MHD_Result refuse_method(struct front *f, struct MHD_Connection *c, size_t ep,
				     bool post)
{
	atomic_fetch_add(&f->http_rejected, 1);
	if (ep == N_ENDPOINTS)
		return front_reply_text(c, 404, "not found\n");
	if (post)
		return front_reply_text(c, 404, "this endpoint is implemented by the client\n");
	return front_reply_text(c, 405, "use POST for SOAP or GET ?wsdl\n");
}

/* What anyone may GET with a users file (contract section 11): /health,
 * the service WSDLs (?wsdl) and the documents they import. */
static bool open_to_all(struct MHD_Connection *c, const char *url, bool get)
{
	size_t ep = find_endpoint(url);

	if (!get)
		return false;
	if (strcmp(url, "/health") == 0 || rest_open_path(url))
		return true;
	if (ep < N_ENDPOINTS)
		return MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, "wsdl", 4, NULL,
						     NULL) == MHD_YES;
	return url[0] == '/' && !strchr(url + 1, '/') && find_file(url + 1);
}

/* 401 with WWW-Authenticate: Basic realm="pxtsgw". */
static enum MHD_Result reply_unauthorized(struct front *f, struct MHD_Connection *c)
{
	static const char text[] = "authentication required\n";
	struct MHD_Response *resp;
	enum MHD_Result res;

	atomic_fetch_add(&f->http_rejected, 1);
	resp = MHD_create_response_from_buffer(sizeof(text) - 1, (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	res = MHD_queue_basic_auth_fail_response(c, "pxtsgw", resp);
	MHD_destroy_response(resp);
	return res;
}

/* A REST answer (rest.h): Content-Type, x-correlator echoed when the
 * request's is well-formed; WWW-Authenticate for a 401. Takes out->body. */
static enum MHD_Result send_rest(struct MHD_Connection *c, struct rest_reply *out)
{
	const char *corr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-correlator");
	struct MHD_Response *resp = MHD_create_response_from_buffer(out->len, out->body ? out->body : "",
								    out->body ? MHD_RESPMEM_MUST_FREE :
								    MHD_RESPMEM_PERSISTENT);
	enum MHD_Result res;

	if (!resp) {
		free(out->body);
		return MHD_NO;
	}
	if (out->body)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					out->ctype ? out->ctype : "application/json");
	if (corr && rest_correlator_ok(corr))
		MHD_add_response_header(resp, "x-correlator", corr);
	if (out->location[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, out->location);
	if (out->status == 401)
		res = MHD_queue_basic_auth_fail_response(c, "pxtsgw", resp);
	else
		res = MHD_queue_response(c, out->status, resp);
	MHD_destroy_response(resp);
	return res;
}

/* A REST error answered by the front itself (401, 413). */
static enum MHD_Result rest_refuse(struct front *f, struct MHD_Connection *c, unsigned status,
				   const char *code, const char *message)
{
	struct rest_reply out = { 0 };

	atomic_fetch_add(&f->http_rejected, 1);
	rest_reply_error(&out, status, code, "%s", message);
	return send_rest(c, &out);
}

/* With a users file: HTTP Basic credentials, checked before anything else
 * of the request is looked at. 0 (r->role and r->who set), or -1 when the
 * answer is a 401 (queued). A failing client is not delayed (section 11
 * allows it); auth_attempt still counts its failures. */
static int authenticate(struct front *f, struct req *r, enum MHD_Result *res)
{
	struct MHD_Connection *c = r->conn;
	char *pass = NULL, *user = MHD_basic_auth_get_username_password(c, &pass);
	const char *who = r->who.client;
	unsigned delay = 0;
	struct pub_ref *ref;
	struct auth *a = pub_get(f->auth, &ref);
	int ok;

	ok = user && pass && auth_attempt(a, who, user, pass, mono_ms(), &r->role, &delay) == 0;
	pub_put(ref);
	if (!ok)   /* the user name is the client's text: not logged */
		log_info("http: %s: %s: 401", who, user ? "wrong credentials" : "no credentials");
	if (ok) {
		snprintf(r->who.app, sizeof(r->who.app), "%s", user);
		r->who.admin = r->role == AUTH_ROLE_ADMIN;
		r->who.basic = true;
	}
	if (pass)
		memset(pass, 0, strlen(pass));
	MHD_free(user);
	MHD_free(pass);
	if (ok)
		return 0;
	*res = r->is_rest ? rest_refuse(f, c, 401, "UNAUTHENTICATED",
					"Request not authenticated due to missing or invalid "
					"credentials (HTTP Basic)") :
		reply_unauthorized(f, c);
	return -1;
}

/* svc's check of a WS-Security UsernameToken (svc_set_auth): the users
 * file, failures counted per client as for HTTP Basic, not delayed
 * either. */
static int check_token(const char *client, const char *user, const char *password,
		       enum auth_role *role, void *arg)
{
	struct front *f = arg;
	unsigned delay = 0;
	struct pub_ref *ref;
	struct auth *a = pub_get(f->auth, &ref);
	int rc = auth_attempt(a, client, user, password, mono_ms(), role, &delay);

	pub_put(ref);
	return rc;
}

/*
 * The first call, headers in, no body byte read yet: starts the body's
 * clock, and refuses what can be refused now (a response queued here makes
 * MHD skip the body and close the connection).
 */
static enum MHD_Result on_headers(struct front *f, struct req *r, const char *url, bool get,
				  bool post)
{
	struct MHD_Connection *c = r->conn;
	size_t ep = find_endpoint(url);
	const char *v;
	uint64_t len;
	enum http_media m;

	r->is_rest = rest_path(url);
	r->deadline_ms = mono_ms() + (int64_t)f->cfg.request_timeout_s * 1000;
	set_timeout(r, http_timeout_for(f->cfg.idle_timeout_s,
					(int64_t)f->cfg.request_timeout_s * 1000));
	/* a SOAP POST with no Authorization header may carry a UsernameToken:
	 * svc_handle checks it, the body read (contract section 11) */
	if (f->auth_on && !open_to_all(c, url, get) &&
	    !(post && ep < N_ENDPOINTS && endpoints[ep].soap &&
	      !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION))) {
		enum MHD_Result res;

		client_text(c, r->who.client, sizeof(r->who.client));
		if (authenticate(f, r, &res) != 0)
			return res;
	}
	if (get)
		return MHD_YES;         /* answered at the final call */
	if (r->is_rest) {        /* its own media checks; the body capped */
		v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (v && !MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						      MHD_HTTP_HEADER_TRANSFER_ENCODING) &&
		    http_content_length(v, &len) == 0 && len > f->cfg.max_body)
			return rest_refuse(f, c, 413, "PAYLOAD_TOO_LARGE", "request body too large");
		return MHD_YES;
	}
	if (!post || ep == N_ENDPOINTS || !endpoints[ep].soap)
		return refuse_method(f, c, ep, post);
	m = http_media_type(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							MHD_HTTP_HEADER_CONTENT_TYPE));
	if (!http_media_soap(m)) {
		atomic_fetch_add(&f->http_rejected, 1);
		return front_reply_text(c, 415, m == HTTP_MEDIA_NONE ?
				  "no Content-Type: use text/xml or application/soap+xml\n" :
				  "media type not accepted: use text/xml or application/soap+xml\n");
	}
	/* with Transfer-Encoding, Content-Length does not count (RFC 9112);
	 * a chunked body is capped while it is read */
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (v && !MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					      MHD_HTTP_HEADER_TRANSFER_ENCODING) &&
	    http_content_length(v, &len) == 0 && len > f->cfg.max_body) {
		atomic_fetch_add(&f->http_rejected, 1);
		return front_reply_text(c, 413, "request body too large\n");
	}
	return MHD_YES;
}

/* A Host header we are willing to echo into a WSDL. */
static bool host_ok(const char *h)
{
	size_t n = 0;

	if (!h || !*h)
		return false;
	for (; h[n]; n++) {
		char ch = h[n];
		if (n > 255 || !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				 (ch >= '0' && ch <= '9') || strchr(".-:[]", ch)))
			return false;
	}
	return true;
}

/* The service WSDL with its soap:address set to the URL the client used. */
static enum MHD_Result serve_service_wsdl(struct front *f, struct MHD_Connection *c, size_t ep)
{
	const struct wsdl_file *w = find_file(endpoints[ep].wsdl);
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	const char *loc, *q, *end;
	char url[400];
	char *out;
	size_t n;

	if (!w)
		return front_reply_text(c, 404, "no such document\n");
	snprintf(url, sizeof(url), "%s://%s%s", f->scheme, host_ok(host) ? host : f->cfg.listen,
		 endpoints[ep].path);
	/* <soap:address location="..."/>: whatever the prefix, the attribute
	 * follows "address" */
	loc = strstr(w->data, "address location=\"");
	if (!loc)
		return front_reply(c, 200, "text/xml; charset=utf-8", (void *)w->data, w->len,
				   MHD_RESPMEM_PERSISTENT);
	q = loc + strlen("address location=\"");
	end = strchr(q, '"');
	if (!end)
		return front_reply_text(c, 500, "broken WSDL\n");
	n = (size_t)(q - w->data) + strlen(url) + strlen(end);
	out = malloc(n + 1);
	if (!out)
		return front_reply_text(c, 503, "out of memory\n");
	memcpy(out, w->data, (size_t)(q - w->data));
	memcpy(out + (q - w->data), url, strlen(url));
	memcpy(out + (q - w->data) + strlen(url), end, strlen(end) + 1);
	return front_reply(c, 200, "text/xml; charset=utf-8", out, n, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result send_soap(struct req *r, struct svc_response *out)
{
	atomic_fetch_add(&r->f->soap_requests, 1);
	if (out->http_status != 200)
		atomic_fetch_add(&r->f->soap_faults, 1);
	if (!out->body)
		return front_reply_text(r->conn, 500, "internal error\n");
	return front_reply(r->conn, (unsigned)out->http_status, "text/xml; charset=utf-8", out->body,
			   out->len, MHD_RESPMEM_MUST_FREE);
}

/* Called when the SIP side is done with a request; any thread. */
static void req_wake(void *arg)
{
	struct req *r = arg;
	struct MHD_Connection *conn = r->conn;
	bool resume;

	pthread_mutex_lock(&r->lock);
	r->woken = true;
	resume = r->suspended;
	pthread_mutex_unlock(&r->lock);
	/* when resume is set the request stays suspended, so r lives on */
	if (resume)
		MHD_resume_connection(conn);
}

static enum MHD_Result finish_soap(struct req *r)
{
	struct svc_response out = { 0 };

	svc_finish(r->f->cfg.svc, r->pending, r->body, r->len, r->action, &out);
	r->pending = NULL;
	return send_soap(r, &out);
}

static enum MHD_Result serve_soap(struct req *r)
{
	struct svc_response out = { 0 };
	const char *ctype = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
							MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *action = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "SOAPAction");
	enum svc_rc rc;

	(void)ctype; /* SOAP 1.2 is recognised by its envelope namespace */
	r->action = strdup(action ? action : "");
	if (!r->action)
		return front_reply_text(r->conn, 503, "out of memory\n");
	if (r->f->auth_on && !r->who.client[0])
		client_text(r->conn, r->who.client, sizeof(r->who.client));
	rc = svc_handle(r->f->cfg.svc, r->body, r->len, r->action, &r->who, &r->pending, &out);
	if (rc == SVC_DONE && out.http_status == 401) {
		free(out.body);
		return reply_unauthorized(r->f, r->conn);
	}
	if (rc == SVC_DONE)
		return send_soap(r, &out);

	r->state = RQ_WAITING;
	if (svc_start(r->pending, req_wake, r) != 0)
		return finish_soap(r);
	pthread_mutex_lock(&r->lock);
	if (r->woken) {
		pthread_mutex_unlock(&r->lock);
		return finish_soap(r);
	}
	MHD_suspend_connection(r->conn);
	r->suspended = true;
	atomic_fetch_add(&r->f->suspended, 1);
	pthread_mutex_unlock(&r->lock);
	return MHD_YES;
}

static enum MHD_Result finish_rest(struct req *r)
{
	struct rest_reply out;

	rest_finish(r->rest, &out);
	return send_rest(r->conn, &out);
}

/* The "scheme://host[:port]" the client called, for the REST binding. */
static void base_url(struct front *f, struct MHD_Connection *c, char *buf, size_t cap)
{
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);

	snprintf(buf, cap, "%s://%s", f->scheme, host_ok(host) ? host : f->cfg.listen);
}

/* A request to the REST binding, its body in: served, or suspended until
 * its work is done (as serve_soap). */
static enum MHD_Result serve_rest(struct req *r, const char *url, const char *method)
{
	struct MHD_Connection *c = r->conn;
	struct rest_reply out = { 0 };
	char base[REST_BASE_URL_MAX];

	if (r->too_big)
		return rest_refuse(r->f, c, 413, "PAYLOAD_TOO_LARGE", "request body too large");
	base_url(r->f, c, base, sizeof(base));
	r->rest = rest_req_new(r->f->rest, method, url, r->body, r->len, &r->who,
			       MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-correlator"), base);
	if (!r->rest)
		return rest_refuse(r->f, c, 503, "UNAVAILABLE", "out of memory");
	if (rest_serve(r->rest, &out) == REST_DONE)
		return send_rest(c, &out);
	r->state = RQ_WAITING;
	if (rest_start(r->rest, req_wake, r) != 0)
		return finish_rest(r);
	pthread_mutex_lock(&r->lock);
	if (r->woken) {
		pthread_mutex_unlock(&r->lock);
		return finish_rest(r);
	}
	MHD_suspend_connection(c);
	r->suspended = true;
	atomic_fetch_add(&r->f->suspended, 1);
	pthread_mutex_unlock(&r->lock);
	return MHD_YES;
}

static enum MHD_Result handle_request(struct front *f, struct req *r, struct MHD_Connection *c,
				      const char *url, const char *method, const char *version,
				      const char *upload, size_t *upload_size, void **con_cls)
{
	bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
	bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	size_t ep;

	(void)version;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->f = f;
		r->conn = c;
		r->timeout_s = f->cfg.idle_timeout_s;
		pthread_mutex_init(&r->lock, NULL);
		*con_cls = r;
		return on_headers(f, r, url, get, post);
	}
	if (*upload_size) {
		size_t n = *upload_size;
		unsigned t = http_timeout_for(f->cfg.idle_timeout_s, r->deadline_ms - mono_ms());

		*upload_size = 0;
		if (t == 0) {
			char who[64];

			client_text(c, who, sizeof(who));
			log_info("http: %s: request body not complete %u s after its headers: "
				 "connection dropped", who, f->cfg.request_timeout_s);
			atomic_fetch_add(&f->http_rejected, 1);
			return MHD_NO;
		}
		set_timeout(r, t);
		if (r->too_big || r->len + n > f->cfg.max_body) {
			r->too_big = true;
			return MHD_YES;
		}
		if (r->len + n + 1 > r->cap) {
			size_t cap = r->cap ? r->cap : 4096;
			char *nb;

			while (cap < r->len + n + 1)
				cap *= 2;
			if (cap > f->cfg.max_body + 1)
				cap = f->cfg.max_body + 1;
			nb = realloc(r->body, cap);
			if (!nb)
				return MHD_NO;
			r->body = nb;
			r->cap = cap;
		}
		memcpy(r->body + r->len, upload, n);
		r->len += n;
		r->body[r->len] = '\0';
		return MHD_YES;
	}

	/* the final call */
	if (r->state == RQ_WAITING) {
		atomic_fetch_sub(&f->suspended, 1);
		r->suspended = false;
		return r->rest ? finish_rest(r) : finish_soap(r);
	}
	set_timeout(r, f->cfg.idle_timeout_s);
	if (r->is_rest)
		return serve_rest(r, url, method);
	ep = find_endpoint(url);
	if (ep < N_ENDPOINTS) {
		if (get && MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, "wsdl", 4,
							 NULL, NULL) == MHD_YES)
			return serve_service_wsdl(f, c, ep);
		if (post && endpoints[ep].soap) {
			if (r->too_big) {
				atomic_fetch_add(&f->http_rejected, 1);
				return front_reply_text(c, 413, "request body too large\n");
			}
			if (!r->body) {
				r->body = strdup("");
				if (!r->body)
					return MHD_NO;
			}
			return serve_soap(r);
		}
		return refuse_method(f, c, ep, post);
	}
	if (!get)
		return refuse_method(f, c, ep, post);
	if (strcmp(url, "/health") == 0)
		return front_serve_health(f, c);
	/* the operator's views: an admin's only, with a users file;
	 * /notifications and /deliveries show an app its own */
	if (f->auth_on && !r->who.admin && strcmp(url, "/metrics") == 0) {
		atomic_fetch_add(&f->http_rejected, 1);
		return front_reply_text(c, 403, "forbidden: for an admin user\n");
	}
	if (strcmp(url, "/metrics") == 0)
		return front_serve_metrics(f, c);
	if (strcmp(url, "/notifications") == 0)
		return front_serve_notifications(f, r, c);
	if (strcmp(url, "/deliveries") == 0)
		return front_serve_deliveries(f, r, c);
	if (url[0] == '/' && !strchr(url + 1, '/')) {
		const struct wsdl_file *w = find_file(url + 1);

		if (w)
			return front_reply(c, 200, "text/xml; charset=utf-8", (void *)w->data, w->len,
					   MHD_RESPMEM_PERSISTENT);
	}
	if (strcmp(url, "/") == 0)
		return front_reply_text(c, 200,
					"pxtsgw: Parlay X Terminal Status gateway\n"
					"  POST /TerminalStatus                      (WSDL: /TerminalStatus?wsdl)\n"
					"  POST /TerminalStatusNotificationManager   (WSDL: /TerminalStatusNotificationManager?wsdl)\n"
					"  POST /device-reachability-status/v1/retrieve   (CAMARA; OpenAPI: "
					"/device-reachability-status/v1/openapi.yaml)\n"
					"  /device-reachability-status-subscriptions/v0.8/subscriptions\n"
					"  GET  /health  /metrics  /notifications  /deliveries?correlator=C\n");
	atomic_fetch_add(&f->http_rejected, 1);
	return front_reply_text(c, 404, "not found\n");
}

/* The answer to a request that comes while the gateway stops: 503, and
 * the connection closes. */
static enum MHD_Result reply_stopping(struct MHD_Connection *c)
{
	static const char text[] = "stopping\n";
	struct MHD_Response *resp = MHD_create_response_from_buffer(sizeof(text) - 1, (void *)text,
								    MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	rc = MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* MHD's access handler: the shutdown gate around handle_request. Once
 * closing is set nothing new reaches the core; a SOAP request already
 * waiting for SIP is still answered. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **con_cls)
{
	struct front *f = cls;
	struct req *r = *con_cls;
	enum MHD_Result rc;

	atomic_fetch_add(&f->active, 1);
	if (atomic_load(&f->closing) && !(r && r->state == RQ_WAITING)) {
		atomic_fetch_sub(&f->active, 1);
		if (*upload_size) {          /* the body goes unread */
			*upload_size = 0;
			return MHD_YES;
		}
		if (!r) {                    /* a context, so that on_completed frees it alike */
			r = calloc(1, sizeof(*r));
			if (!r)
				return MHD_NO;
			r->f = f;
			r->conn = c;
			pthread_mutex_init(&r->lock, NULL);
			*con_cls = r;
		}
		return reply_stopping(c);
	}
	rc = handle_request(f, r, c, url, method, version, upload, upload_size, con_cls);
	atomic_fetch_sub(&f->active, 1);
	return rc;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	(void)cls; (void)c; (void)toe;
	if (!r)
		return;
	svc_pending_free(r->pending);
	rest_req_free(r->rest);
	pthread_mutex_destroy(&r->lock);
	if (r->body && r->f->auth_on)   /* it may hold a UsernameToken's password */
		memset(r->body, 0, r->len);
	free(r->body);
	free(r->action);
	free(r);
	*con_cls = NULL;
}

/* libmicrohttpd's messages. A client that keeps hitting a limit (too many
 * connections from one address, say) makes one per attempt: at most
 * MHD_LOG_PER_S are written a second, and the number left out is said
 * once the second is over. */
#define MHD_LOG_PER_S 10

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct front *f = cls;
	char buf[512];
	int64_t now = mono_ms() / 1000;
	unsigned long dropped = 0;
	bool write;

	pthread_mutex_lock(&f->log_mu);
	if (now != f->log_second) {
		dropped = f->log_dropped;
		f->log_second = now;
		f->log_count = 0;
		f->log_dropped = 0;
	}
	write = f->log_count < MHD_LOG_PER_S;
	if (write)
		f->log_count++;
	else
		f->log_dropped++;
	pthread_mutex_unlock(&f->log_mu);
	if (dropped)
		log_warn("http: %lu more messages of libmicrohttpd left out", dropped);
	if (!write)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_warn("http: %s", buf);
}

static void drop_auth(void *a)
{
	auth_free(a);
}

/* front_start gave up after its users file was published. */
static void start_failed(struct front *f)
{
	rest_free(f->rest);
	pub_free(f->auth);
	pthread_mutex_destroy(&f->log_mu);
	free(f);
}

int front_set_auth(struct front *f, struct auth *auth)
{
	if (!f || !f->auth_on || !auth)
		return -1;
	return pub_set(f->auth, auth);
}

int front_start(const struct front_config *cfg, struct front **out)
{
	struct front *f = calloc(1, sizeof(*f));
	struct addrinfo hints = { 0 }, *ai = NULL;
	char host[256], port[16];
	unsigned p;
	int rc;
	bool tls = cfg->tls_cert && cfg->tls_key;
	/* TLS 1.2 and 1.3 only, GnuTLS's usual ciphers */
	struct MHD_OptionItem tls_opts[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cfg->tls_cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)cfg->tls_key },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0,
		  (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" },
		{ MHD_OPTION_END, 0, NULL },
	};

	if (!f) {
		auth_free(cfg->auth);
		return -1;
	}
	f->cfg = *cfg;
	f->cfg.auth = NULL;          /* f->auth from here on */
	f->auth_on = cfg->auth != NULL;
	if (f->auth_on && !(f->auth = pub_new(cfg->auth, drop_auth))) {
		auth_free(cfg->auth);
		free(f);
		return -1;
	}
	f->listen_sock = MHD_INVALID_SOCKET;
	f->scheme = tls ? "https" : "http";
	pthread_mutex_init(&f->log_mu, NULL);
	f->rest = rest_new(&(struct rest_config){ .svc = cfg->svc, .nm = cfg->nm, .watch = cfg->watch,
						  .store = cfg->store, .dlv = cfg->dlv });
	if (!f->rest) {
		start_failed(f);
		return -1;
	}
	if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		log_error("http: http.tls-cert is set but this libmicrohttpd has no TLS");
		start_failed(f);
		return -1;
	}
	if (cfg_split_hostport(cfg->listen, host, sizeof(host), &p) != 0) {
		log_error("http: bad listen address %s", cfg->listen);
		start_failed(f);
		return -1;
	}
	snprintf(port, sizeof(port), "%u", p);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0 || !ai) {
		log_error("http: cannot resolve %s: %s", host, gai_strerror(rc));
		start_failed(f);
		return -1;
	}
	if (cfg->auth && cfg->svc)   /* before the first request */
		svc_set_auth(cfg->svc, check_token, f);
	f->d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
				MHD_USE_ERROR_LOG | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0) |
				(tls ? MHD_USE_TLS : 0),
				(uint16_t)p, NULL, NULL, on_request, f,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, f,
				MHD_OPTION_SOCK_ADDR, ai->ai_addr,
				MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_connections_per_client,
				MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_timeout_s,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, f,
				MHD_OPTION_ARRAY, tls ? tls_opts : &tls_opts[3],
				MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!f->d) {
		if (cfg->auth && cfg->svc)
			svc_set_auth(cfg->svc, NULL, NULL);
		log_error("http: cannot listen on %s (address in use?%s)", cfg->listen,
			  tls ? " or the TLS certificate refused: see above" : "");
		start_failed(f);
		return -1;
	}
	log_info("http: listening on %s://%s/ (WSDL: %s://%s/TerminalStatus?wsdl)", f->scheme,
		 cfg->listen, f->scheme, cfg->listen);
	log_info("http: %u connections at most, %u per client (0: no limit); idle timeout %u s, "
		 "request bodies within %u s and %zu bytes", cfg->max_connections,
		 cfg->max_connections_per_client, cfg->idle_timeout_s, cfg->request_timeout_s,
		 cfg->max_body);
	*out = f;
	return 0;
}

void front_quiesce(struct front *f)
{
	struct timespec ts = { 0, 2 * 1000 * 1000 };

	if (!f || !f->d)
		return;
	/* the listening socket is ours now; MHD's threads may still look at
	 * it until MHD_stop_daemon, so front_stop closes it after that */
	f->listen_sock = MHD_quiesce_daemon(f->d);
	atomic_store(&f->closing, true);
	/* a handler that started before it saw closing may be using the core:
	 * wait for it (handlers do not wait on the network: a SOAP request
	 * that waits for SIP is suspended, not in a handler) */
	while (atomic_load(&f->active) > 0)
		nanosleep(&ts, NULL);
}

void front_stop(struct front *f)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	if (!f)
		return;
	/* the SIP side has completed every job by now: give the resumed
	 * requests a moment to be answered */
	for (int i = 0; i < 300 && atomic_load(&f->suspended) > 0; i++)
		nanosleep(&ts, NULL);
	nanosleep(&ts, NULL);
	MHD_stop_daemon(f->d);
	if (f->listen_sock != MHD_INVALID_SOCKET)
		close(f->listen_sock);
	rest_free(f->rest);
	pub_free(f->auth);
	pthread_mutex_destroy(&f->log_mu);
	free(f);
}
