/*
 * front_usage.c - usage records and request metrics of the HTTP front
 * (contract section 13): GET /usage (CSV, streamed from the store), each
 * SOAP answer's record and its latency and fault counts for /metrics, and
 * the build's identity.
 *
 * A SOAP answer is measured when it is queued (front_usage_answer: the
 * histogram of its operation, its fault id) and recorded once MHD has sent
 * it (front_usage_write, from the request's completion): the store's
 * writer commits it within one commit cycle, nobody waits for the disk,
 * and the answer is never held up by the record.
 */
#include "front_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sbuf.h"
#include "store.h"
#include "rest.h"
#include "usage.h"
#include "watch.h"

#define USAGE_DAY_MS (24LL * 3600 * 1000)
#define REQUEST_METRICS_MAX (64 * 1024)

static const char *const op_names[] = {
	"getStatus", "getStatusForGroup", "startNotification", "endNotification",
	"retrieve", "createSubscription", "listSubscriptions", "getSubscription",
	"deleteSubscription", "other",
};
_Static_assert(sizeof(op_names) / sizeof(op_names[0]) == FRONT_OPS, "an operation a histogram");

static int op_index(const char *operation)
{
	for (int k = 0; operation && k < FRONT_OPS - 1; k++)
		if (strcmp(operation, op_names[k]) == 0)
			return k;
	return FRONT_OPS - 1;
}

void front_usage_answer(struct req *r, struct svc_response *out)
{
	struct front *f = r->f;
	int64_t us = hist_now_us() - r->start_us;

	hist_observe(&f->req_hist[op_index(out->usage.operation)], us);
	if (out->usage.fault > FAULT_NONE && out->usage.fault < FAULT_COUNT)
		atomic_fetch_add(&f->faults[out->usage.fault], 1);
	if (out->usage.fault > FAULT_NONE && out->usage.fault < FAULT_COUNT)
		snprintf(r->result, sizeof(r->result), "%s", fault_msgid(out->usage.fault));
	else if (out->http_status == 200)
		snprintf(r->result, sizeof(r->result), "ok");
	else
		snprintf(r->result, sizeof(r->result), "%d", out->http_status);
	svc_usage_clear(&r->usage);
	r->usage = out->usage;          /* its correlator is r's now */
	out->usage.correlator = NULL;
	r->answer_ms = store_wall_ms();
	r->duration_ms = (long)(us / 1000);
	r->usage_ready = true;
}

void front_usage_rest(struct req *r, unsigned status)
{
	struct svc_usage *u = &r->rest->usage;
	int64_t us = hist_now_us() - r->start_us;

	if (!u->operation)
		return;
	hist_observe(&r->f->req_hist[op_index(u->operation)], us);
	if (status >= 200 && status < 300)
		snprintf(r->result, sizeof(r->result), "ok");
	else
		snprintf(r->result, sizeof(r->result), "%u", status);
	svc_usage_clear(&r->usage);
	r->usage = *u;                  /* its correlator is r's now */
	u->correlator = NULL;
	u->operation = NULL;
	r->answer_ms = store_wall_ms();
	r->duration_ms = (long)(us / 1000);
	r->usage_ready = true;
}

void front_usage_write(struct req *r)
{
	struct usage_rec u;

	if (!r->usage_ready)
		return;
	r->usage_ready = false;
	u = (struct usage_rec){
		.time_ms = r->answer_ms, .app = r->who.app,
		.operation = r->usage.operation ? r->usage.operation : "",
		.addresses = r->usage.addresses, .expanded = r->usage.expanded,
		.count = r->usage.count, .correlator = r->usage.correlator, .result = r->result,
		.cause = r->usage.cause, .duration_ms = r->duration_ms,
	};
	usage_record(&u);
}

/* --- GET /usage ------------------------------------------------------------------- */

/* MHD's content reader: the next piece of the cursor. An error ends the
 * answer early (a truncated CSV, the connection closed). */
static ssize_t usage_piece(void *cls, uint64_t pos, char *buf, size_t max)
{
	long n = store_usage_read(cls, buf, max);

	(void)pos;
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return n < 0 ? MHD_CONTENT_READER_END_WITH_ERROR : (ssize_t)n;
}

static void usage_done(void *cls)
{
	store_usage_close(cls);
}

/* A parameter's time (ISO 8601 UTC or epoch seconds); absent: def.
 * false when it is there and cannot be read. */
static bool time_arg(struct MHD_Connection *c, const char *name, int64_t def, int64_t *ms)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);

	if (!v) {
		*ms = def;
		return true;
	}
	return usage_parse_time(v, ms) == 0;
}

enum MHD_Result front_serve_usage(struct front *f, struct req *r, struct MHD_Connection *c)
{
	const char *app = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "app");
	int64_t now = store_wall_ms(), from, to;
	struct store_usage_cursor *cur;
	struct MHD_Response *resp;
	enum MHD_Result rc;

	(void)r;    /* an admin's, or no users file (front.c checked) */
	if (!time_arg(c, "from", now - USAGE_DAY_MS, &from))
		return front_reply_text(c, 400, "bad from: use ISO 8601 UTC (2026-12-05T09:30:00Z, "
					"2026-12-05) or seconds since the epoch\n");
	if (!time_arg(c, "to", now, &to))
		return front_reply_text(c, 400, "bad to: use ISO 8601 UTC (2026-12-05T09:30:00Z, "
					"2026-12-05) or seconds since the epoch\n");
	if (from > to)
		return front_reply_text(c, 400, "from is after to\n");
	cur = store_usage_open(f->cfg.store, from, to, app);
	if (!cur)
		return front_reply_text(c, 503, "the store cannot be read now\n");
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, usage_piece, cur,
						 usage_done);
	if (!resp) {
		store_usage_close(cur);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/csv; charset=utf-8");
	rc = front_queue(c, 200, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* --- /metrics ------------------------------------------------------------------------ */

char *front_request_metrics(struct front *f, size_t *len)
{
	struct sbuf b = SBUF_INIT(REQUEST_METRICS_MAX);
	char gsoap[32], labels[64];

	hist_write_head(&b, "pxtsgw_request_duration_seconds",
			"SOAP and REST requests from their headers to their answer, by "
			"operation (other: no operation reached).");
	for (int k = 0; k < FRONT_OPS; k++) {
		snprintf(labels, sizeof(labels), "operation=\"%s\"", op_names[k]);
		hist_write(&b, &f->req_hist[k], "pxtsgw_request_duration_seconds", labels);
	}
	hist_write_head(&b, "pxtsgw_fetch_duration_seconds",
			"Presence fetches from their SUBSCRIBE to their outcome (or their "
			"request's deadline).");
	if (f->cfg.watch)
		hist_write(&b, watch_fetch_hist(f->cfg.watch), "pxtsgw_fetch_duration_seconds", "");
	sbuf_puts(&b, "# HELP pxtsgw_faults_total SOAP faults answered, by Parlay X message id.\n"
		  "# TYPE pxtsgw_faults_total counter\n");
	for (int id = FAULT_NONE + 1; id < FAULT_COUNT; id++)
		sbuf_printf(&b, "pxtsgw_faults_total{id=\"%s\"} %lu\n", fault_msgid((enum fault_id)id),
			    atomic_load(&f->faults[id]));
	svc_gsoap_version(gsoap, sizeof(gsoap));
	sbuf_printf(&b, "# HELP pxtsgw_build_info The build: its version and its libraries'.\n"
		    "# TYPE pxtsgw_build_info gauge\n"
		    "pxtsgw_build_info{version=\"%s\",gsoap=\"%s\",sqlite=\"%s\",microhttpd=\"%s\"} 1\n",
		    PXTSGW_VERSION, gsoap, sqlite3_libversion(), MHD_get_version());
	return sbuf_take(&b, len);
}
