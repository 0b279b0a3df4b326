/*
 * front_views.c - the HTTP front's views for people and monitoring
 * (contract sections 11, 13): /health (open, says only up or down),
 * /notifications and /deliveries (JSON, scoped per application), /metrics
 * (Prometheus text). Each reads what its owner publishes: watch and nm
 * through their functions, the store through its read-only connections.
 */
#include "front_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlv.h"
#include "nm.h"
#include "store.h"
#include "watch.h"

enum MHD_Result front_reply(struct MHD_Connection *c, unsigned status, const char *ctype,
			    void *body, size_t len, enum MHD_ResponseMemoryMode mode)
			    {
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result rc;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	if (ctype)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	rc = front_queue(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

enum MHD_Result front_reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	return front_reply(c, status, "text/plain; charset=utf-8", (void *)text, strlen(text),
			   MHD_RESPMEM_PERSISTENT);
}

enum MHD_Result front_serve_health(struct front *f, struct MHD_Connection *c)
{
	bool sip = watch_ready(f->cfg.watch);
	bool server = sip && watch_server_up(f->cfg.watch);
	bool st = store_ready(f->cfg.store);
	bool ok = sip && server && st;
	char *body;
	int n;

	n = asprintf(&body, "{\"status\":\"%s\",\"sip\":\"%s\",\"presence_server\":\"%s\","
		     "\"store\":\"%s\"}\n", ok ? "ok" : "unavailable", sip ? "ready" : "down",
		     server ? "up" : "down", st ? "ready" : "down");
	if (n < 0)
		return front_reply_text(c, 503, "out of memory\n");
	return front_reply(c, ok ? 200 : 503, "application/json", body, (size_t)n, MHD_RESPMEM_MUST_FREE);
}

/* Whose records a view shows (contract section 11): without a users file
 * everything (the single anonymous application); an app its own; an admin
 * everyone's, or one application's with &app=NAME, each record naming its
 * application. *app NULL: every application. */
static void view_scope(const struct front *f, const struct req *r, struct MHD_Connection *c,
		       const char **app, bool *with_app)
{
	*app = NULL;
	*with_app = false;
	if (!f->auth_on)
		return;
	if (!r->who.admin) {
		*app = r->who.app;
		return;
	}
	*with_app = true;
	*app = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "app");
}

enum MHD_Result front_serve_notifications(struct front *f, struct req *r, struct MHD_Connection *c)
{
	size_t len = 0;
	const char *app;
	bool with_app;
	char *body;

	view_scope(f, r, c, &app, &with_app);
	body = f->cfg.nm ? nm_list_json(f->cfg.nm, app, with_app, &len) : strdup("[]\n");

	if (!body)
		return front_reply_text(c, 503, "not available: out of memory or stopping\n");
	if (!f->cfg.nm)
		len = strlen(body);
	return front_reply(c, 200, "application/json", body, len, MHD_RESPMEM_MUST_FREE);
}

/* MHD's content reader of a /deliveries answer: the next piece of the
 * store's cursor. An error ends the answer early (the client sees a
 * truncated array and a closed connection). */
static ssize_t deliveries_piece(void *cls, uint64_t pos, char *buf, size_t max)
{
	long n = store_cursor_read(cls, buf, max);

	(void)pos;
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return n < 0 ? MHD_CONTENT_READER_END_WITH_ERROR : (ssize_t)n;
}

static void deliveries_done(void *cls)
{
	store_cursor_close(cls);
}

/* Streamed (chunked) from a cursor of the store: however many records a
 * correlator has, the answer is never built in memory, and the HTTP thread
 * goes back to other connections between pieces. */
enum MHD_Result front_serve_deliveries(struct front *f, struct req *r, struct MHD_Connection *c)
{
	const char *corr = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "correlator");
	const char *app;
	bool with_app;
	struct store_cursor *cur;
	struct MHD_Response *resp;
	enum MHD_Result rc;

	if (!corr || !*corr)
		return front_reply_text(c, 400, "usage: /deliveries?correlator=C\n");
	/* another application's correlator answers as an unknown one: [] */
	view_scope(f, r, c, &app, &with_app);
	cur = store_deliveries_open(f->cfg.store, app, corr, with_app);
	if (!cur)
		return front_reply_text(c, 503, "out of memory\n");
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, deliveries_piece, cur,
						 deliveries_done);
	if (!resp) {
		store_cursor_close(cur);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	rc = front_queue(c, 200, resp);
	MHD_destroy_response(resp);
	return rc;
}

#define METRICS_MAX (64 * 1024)

enum MHD_Result front_serve_metrics(struct front *f, struct MHD_Connection *c)
{
	struct watch_stats ws = { 0 };
	struct nm_stats ns = { 0 };
	char *body;
	int n;

	if (f->cfg.watch)
		watch_get_stats(f->cfg.watch, &ws);
	if (f->cfg.nm)
		nm_get_stats(f->cfg.nm, &ns);
	n = asprintf(&body,
		"# HELP pxtsgw_up 1 when the SIP stack and the store are ready.\n"
		"# TYPE pxtsgw_up gauge\n"
		"pxtsgw_up %d\n"
		"# HELP pxtsgw_soap_requests_total SOAP requests answered.\n"
		"# TYPE pxtsgw_soap_requests_total counter\n"
		"pxtsgw_soap_requests_total{outcome=\"ok\"} %lu\n"
		"pxtsgw_soap_requests_total{outcome=\"fault\"} %lu\n"
		"# HELP pxtsgw_http_rejected_total HTTP requests refused before SOAP (media type, size, method, path, body too slow).\n"
		"# TYPE pxtsgw_http_rejected_total counter\n"
		"pxtsgw_http_rejected_total %lu\n"
		"# HELP pxtsgw_fetches_total Presence fetches by outcome (timeout: no answer in time or 408; failed: any other failure).\n"
		"# TYPE pxtsgw_fetches_total counter\n"
		"pxtsgw_fetches_total{result=\"ok\"} %lu\n"
		"pxtsgw_fetches_total{result=\"timeout\"} %lu\n"
		"pxtsgw_fetches_total{result=\"failed\"} %lu\n"
		"# HELP pxtsgw_status_answers_total Statuses answered for getStatus and getStatusForGroup (per address), by where they came from: state (an active subscription of a notification) or fetch (a SIP round trip).\n"
		"# TYPE pxtsgw_status_answers_total counter\n"
		"pxtsgw_status_answers_total{source=\"state\"} %lu\n"
		"pxtsgw_status_answers_total{source=\"fetch\"} %lu\n"
		"# HELP pxtsgw_status_published Presentities whose status the HTTP threads answer from without the SIP thread (active subscriptions with a status in the published view; one whose slot row is full is answered by the SIP thread instead).\n"
		"# TYPE pxtsgw_status_published gauge\n"
		"pxtsgw_status_published %lu\n"
		"# HELP pxtsgw_fetches_coalesced_total Fetches that shared the SUBSCRIBE of a fetch of the same presentity already in flight.\n"
		"# TYPE pxtsgw_fetches_coalesced_total counter\n"
		"pxtsgw_fetches_coalesced_total %lu\n"
		"# HELP pxtsgw_fetches_in_flight Presence fetches waiting for the presence server.\n"
		"# TYPE pxtsgw_fetches_in_flight gauge\n"
		"pxtsgw_fetches_in_flight %lu\n"
		"# HELP pxtsgw_requests_waiting SOAP requests waiting for SIP.\n"
		"# TYPE pxtsgw_requests_waiting gauge\n"
		"pxtsgw_requests_waiting %ld\n"
		"# HELP pxtsgw_presence_server_up 1 while the presence server answers the keepalive OPTIONS.\n"
		"# TYPE pxtsgw_presence_server_up gauge\n"
		"pxtsgw_presence_server_up %d\n"
		"# HELP pxtsgw_presence_server_outages_total Times the presence server stopped answering.\n"
		"# TYPE pxtsgw_presence_server_outages_total counter\n"
		"pxtsgw_presence_server_outages_total %lu\n"
		"# HELP pxtsgw_outbox_callbacks Callbacks in the outbox: accepted, not yet delivered or failed.\n"
		"# TYPE pxtsgw_outbox_callbacks gauge\n"
		"pxtsgw_outbox_callbacks %ld\n"
		"# HELP pxtsgw_notifications_active Notifications (startNotification) running.\n"
		"# TYPE pxtsgw_notifications_active gauge\n"
		"pxtsgw_notifications_active %zu\n"
		"# HELP pxtsgw_subscriptions Presence subscriptions open (one per presentity).\n"
		"# TYPE pxtsgw_subscriptions gauge\n"
		"pxtsgw_subscriptions %lu\n"
		"# HELP pxtsgw_subscriptions_active Presence subscriptions accepted by the presence server.\n"
		"# TYPE pxtsgw_subscriptions_active gauge\n"
		"pxtsgw_subscriptions_active %lu\n"
		"# HELP pxtsgw_subscription_notifies_total NOTIFYs received on presence subscriptions.\n"
		"# TYPE pxtsgw_subscription_notifies_total counter\n"
		"pxtsgw_subscription_notifies_total %lu\n"
		"# HELP pxtsgw_subscription_retries_total Lost presence subscriptions re-established.\n"
		"# TYPE pxtsgw_subscription_retries_total counter\n"
		"pxtsgw_subscription_retries_total %lu\n"
		"# HELP pxtsgw_subscription_failures_total Presence subscriptions failed for good.\n"
		"# TYPE pxtsgw_subscription_failures_total counter\n"
		"pxtsgw_subscription_failures_total %lu\n"
		"# HELP pxtsgw_callback_enqueue_failures_total Callbacks the outbox refused; each is held and tried again, in order.\n"
		"# TYPE pxtsgw_callback_enqueue_failures_total counter\n"
		"pxtsgw_callback_enqueue_failures_total %lu\n"
		"# HELP pxtsgw_notifications_unstored_total Notifications ended because the outbox kept refusing their callbacks.\n"
		"# TYPE pxtsgw_notifications_unstored_total counter\n"
		"pxtsgw_notifications_unstored_total %lu\n",
		watch_ready(f->cfg.watch) && store_ready(f->cfg.store),
		atomic_load(&f->soap_requests) - atomic_load(&f->soap_faults),
		atomic_load(&f->soap_faults), atomic_load(&f->http_rejected),
		ws.fetches_ok, ws.fetches_timeout, ws.fetches_failed,
		ws.answers_from_state, ws.fetches_ok + ws.fetches_timeout + ws.fetches_failed,
		ws.published, ws.fetches_coalesced, ws.fetches_running,
		atomic_load(&f->suspended), watch_server_up(f->cfg.watch) ? 1 : 0, ws.server_outages,
		store_outbox_count(f->cfg.store),
		f->cfg.nm ? nm_active(f->cfg.nm) : (size_t)0,
		ws.subscriptions, ws.subscriptions_active, ws.subscription_notifies,
		ws.subscription_retries, ws.subscription_failures, ns.enqueue_failures,
		ns.ended_unstored);
	if (n < 0)
		return front_reply_text(c, 503, "out of memory\n");
	if (f->cfg.dlv) {
		char *more = realloc(body, (size_t)n + METRICS_MAX);

		if (!more) {
			free(body);
			return front_reply_text(c, 503, "out of memory\n");
		}
		body = more;
		n += (int)dlv_metrics(f->cfg.dlv, body + n, METRICS_MAX);
	}
	{   /* latency histograms, faults by id, build info (front_usage.c) */
		size_t k;
		char *more = front_request_metrics(f, &k), *all;

		all = more ? realloc(body, (size_t)n + k + 1) : NULL;
		if (!all) {
			free(more);
			free(body);
			return front_reply_text(c, 503, "out of memory\n");
		}
		body = all;
		memcpy(body + n, more, k + 1);
		n += (int)k;
		free(more);
	}
	return front_reply(c, 200, "text/plain; version=0.0.4", body, (size_t)n, MHD_RESPMEM_MUST_FREE);
}

