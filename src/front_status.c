/*
 * front_status.c - GET /status (contract section 13): the operator's page.
 *
 * Gathers a snapshot on the HTTP thread from what each owner publishes,
 * then renders it (status_page.c), as the other views do:
 *   - the presence server's state and since when: watch's atomics;
 *   - subscriptions by state: one short job posted to the SIP thread
 *     (loop_post_wait), which owns them; nothing of SIP is touched here;
 *   - notifications: nm_rows (a copy made on the SIP thread), with the
 *     delivery health of each from dlv;
 *   - endpoints: dlv_endpoints (a copy under dlv's lock);
 *   - the outbox: the store's counter and one read on a read-only
 *     connection;
 *   - recent warnings and errors: recent.c's ring.
 * The answer is capped at STATUS_PAGE_MAX bytes; it says it must not be
 * cached, and its Content-Security-Policy lets no script run whatever the
 * page holds (its values are escaped anyway).
 */
#include "front_int.h"

#include <stdlib.h>
#include <string.h>

#include "dlv.h"
#include "loop.h"
#include "nm.h"
#include "recent.h"
#include "status_page.h"
#include "store.h"
#include "watch.h"

#ifndef PXTSGW_VERSION
#define PXTSGW_VERSION "unknown"
#endif

struct subs_job {
	struct watch *w;
	unsigned long counts[WATCH_SUB_NSTATES];
};

static void subs_on_sip(void *arg)
{
	struct subs_job *j = arg;

	watch_sub_count_states(j->w, j->counts);
}

/* What the page shows, into d (the arrays are the caller's). */
static struct status_row status_row_of(const struct nm_row *r)
{
	return (struct status_row){ r->app, r->correlator, r->endpoint, r->addresses, r->delivered,
				    r->failed };
}

static void gather(struct front *f, struct status_data *d, struct status_count *subs,
		   struct nm_row *nrows, struct status_row *rows, struct dlv_endpoint_view *eps,
		   struct recent_event *errs)
{
	struct subs_job sj = { .w = f->cfg.watch };

	d->version = PXTSGW_VERSION;
	d->now = time(NULL);
	d->started = f->started;
	d->auth_on = f->auth_on;
	d->sip_ready = watch_ready(f->cfg.watch);
	d->server_up = d->sip_ready && watch_server_up(f->cfg.watch);
	d->server_since = watch_server_since(f->cfg.watch);
	if (d->sip_ready && loop_post_wait(watch_loop(f->cfg.watch), subs_on_sip, &sj) == 0) {
		d->subs_known = true;
		for (int i = 0; i < WATCH_SUB_NSTATES; i++)
			subs[i] = (struct status_count){ watch_sub_state_names[i], sj.counts[i] };
		d->subs = subs;
		d->n_subs = WATCH_SUB_NSTATES;
	}
	if (f->cfg.nm && nm_rows(f->cfg.nm, false, nrows, STATUS_ROWS_MAX, &d->n_notifs,
				 &d->total_notifs) == 0 &&
	    nm_rows(f->cfg.nm, true, nrows + STATUS_ROWS_MAX, STATUS_ROWS_MAX, &d->n_camara,
		    &d->total_camara) == 0)
		d->notifs_known = true;
	else if (!f->cfg.nm)
		d->notifs_known = true;          /* none: the notification manager is off */
	for (size_t i = 0; i < d->n_notifs; i++)
		rows[i] = status_row_of(&nrows[i]);
	for (size_t i = 0; i < d->n_camara; i++)
		rows[STATUS_ROWS_MAX + i] = status_row_of(&nrows[STATUS_ROWS_MAX + i]);
	d->notifs = rows;
	d->camara = rows + STATUS_ROWS_MAX;
	d->n_eps = dlv_endpoints(f->cfg.dlv, eps, STATUS_ENDPOINTS_MAX, &d->total_eps);
	d->eps = eps;
	d->outbox_rows = f->cfg.store ? store_outbox_count(f->cfg.store) : -1;
	d->store_ready = store_ready(f->cfg.store);
	if (d->outbox_rows > 0)
		store_outbox_oldest_ms(f->cfg.store, &d->outbox_oldest_ms);
	d->n_errors = recent_copy(errs, RECENT_MAX, &d->errors_dropped);
	d->errors = errs;
}


enum MHD_Result front_serve_status(struct front *f, struct MHD_Connection *c)
{
	struct status_data d = { 0 };
	struct status_count subs[WATCH_SUB_NSTATES];
	/* the notifications, then the CAMARA subscriptions (contract section 13) */
	struct nm_row *nrows = calloc(2 * STATUS_ROWS_MAX, sizeof(*nrows));
	struct status_row *rows = calloc(2 * STATUS_ROWS_MAX, sizeof(*rows));
	struct dlv_endpoint_view *eps = calloc(STATUS_ENDPOINTS_MAX, sizeof(*eps));
	struct recent_event *errs = calloc(RECENT_MAX, sizeof(*errs));
	struct sbuf b = SBUF_INIT(STATUS_PAGE_MAX);
	struct MHD_Response *resp = NULL;
	enum MHD_Result rc;
	size_t len = 0;
	char *body = NULL;

	if (nrows && rows && eps && errs) {
		gather(f, &d, subs, nrows, rows, eps, errs);
		status_render(&b, &d);
		body = sbuf_take(&b, &len);
	}
	sbuf_free(&b);
	free(nrows);
	free(rows);
	free(eps);
	free(errs);
	if (!body)
		return front_reply_text(c, 503, "not available: out of memory or the page too large\n");
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
	rc = front_queue(c, 200, resp);
	MHD_destroy_response(resp);
	return rc;
}
