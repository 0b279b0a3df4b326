/*
 * nm_status.c - the running notifications for GET /status (nm_rows): the
 * newest few, each as one row of fixed size.
 *
 * As nm_list.c does for /notifications: the HTTP thread posts one short
 * job to the SIP thread (loop_post_wait), which owns the notifications;
 * that job only counts them and copies the strings of the newest max ones
 * (the list is newest first). The caller's thread then redacts the
 * endpoints and adds the delivery health (dlv_get_health, under dlv's
 * lock). The SIP thread's work is bounded by max rows of copying plus one
 * pass over the list.
 */
#include "nm_int.h"

#include <stdio.h>
#include <string.h>

#include "dest.h"
#include "dlv.h"
#include "loop.h"

struct rows_job {
	struct nm *nm;
	bool camara;
	struct nm_row *out;
	size_t max, n, total;
};

static void rows_on_sip(void *arg)
{
	struct rows_job *j = arg;

	for (const struct nmn *n = j->nm->list; n; n = n->next) {
		struct nm_row *r;

		if (!n->running || n->removing || (n->cam != NULL) != j->camara)
			continue;
		j->total++;
		if (j->n == j->max)
			continue;
		r = &j->out[j->n++];
		snprintf(r->app, sizeof(r->app), "%s", n->app);
		snprintf(r->correlator, sizeof(r->correlator), "%s", n->correlator);
		snprintf(r->endpoint, sizeof(r->endpoint), "%s", n->endpoint);
		r->addresses = n->naddr;
		r->notifications_sent = n->sent_base + notif_sent(n->notif);
	}
}

int nm_rows(struct nm *nm, bool camara, struct nm_row *out, size_t max, size_t *n,
	    size_t *total)
{
	struct rows_job j = { .nm = nm, .camara = camara, .out = out, .max = max };

	*n = 0;
	*total = 0;
	if (!nm || loop_post_wait(nm->loop, rows_on_sip, &j) != 0)
		return -1;
	for (size_t i = 0; i < j.n; i++) {
		struct nm_row *r = &out[i];
		char shown[sizeof(r->endpoint)];
		struct dlv_health h;

		dest_redact(r->endpoint, shown, sizeof(shown));   /* credentials as *** */
		memcpy(r->endpoint, shown, sizeof(shown));
		dlv_get_health(nm->cfg.dlv, r->app, r->correlator, &h);
		r->delivered = h.delivered;
		r->failed = h.failed;
		r->queued = h.queued;
	}
	*n = j.n;
	*total = j.total;
	return 0;
}
