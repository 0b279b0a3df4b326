/*
 * dlv_resume.c - the outbox at start: every callback not finished before
 * the last stop (or crash) is queued again, by delivery id, so each
 * correlator keeps its order; a row's attempts continue and its age
 * counts from when it was accepted.
 *
 * The outbox is read in batches of DLV_RESUME_BATCH rows (dlv_config's
 * resume_batch), each batch queued before the next is read: a read holds
 * a read connection for one batch only, and the rows of one batch are in
 * memory once (as jobs). A row that cannot be decoded is deleted, logged.
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include "dlv_int.h"

#include <stdlib.h>

#include "log.h"
#include "store.h"

#define DLV_RESUME_BATCH 1000

struct resume {
	struct dlv *d;
	long queued, bad;
};

/* Rebuilds a job from an outbox row's columns and payload. NULL when the
 * payload is invalid (or does not match op) or memory is short. */
static struct job *job_from_payload(int op, const char *app, const char *correlator,
				    const char *endpoint, const char *payload)
{
	struct dlv_decoded p;
	struct job *j = NULL;

	if (!correlator || !endpoint)
		return NULL;
	if (dlv_payload_decode(op, payload, &p)) {
		struct svc_callback_data c = dlv_decoded_content(&p, correlator);

		j = dlv_job_new(endpoint, app, &c);
	}
	dlv_decoded_free(&p);
	return j;
}

/* store_outbox_load's callback: no lock is held, the store may be called. */
static void resume_row(const struct store_outbox_row *r, void *arg)
{
	struct resume *rs = arg;
	struct dlv *d = rs->d;
	struct job *j = job_from_payload(r->op, r->app, r->correlator, r->endpoint, r->payload);
	int64_t age;

	if (r->delivery >= d->next_id)
		d->next_id = r->delivery + 1;
	if (!j) {
		log_error("dlv: outbox row %llu (correlator %s) is unreadable; deleted",
			  (unsigned long long)r->delivery, r->correlator);
		rs->bad++;
		store_outbox_remove(d->cfg.store, r->delivery);
		return;
	}
	j->id = r->delivery;
	j->attempts = r->attempts > 0 ? r->attempts : 0;
	j->created_ms = r->created_ms;
	age = store_wall_ms() - r->created_ms;
	j->deadline = dlv_mono_ms() + (d->max_age_ms - (age > 0 ? age : 0));
	pthread_mutex_lock(&d->mu);
	/* kept until dlv_resumed_done: the notification manager says which
	 * of them belong to running notifications (dlv_keep) */
	if (!dlv_queue_job(d, j, true)) {
		pthread_mutex_unlock(&d->mu);
		log_error("dlv: out of memory resuming outbox row %llu", (unsigned long long)r->delivery);
		dlv_job_free(j);
		return;
	}
	pthread_mutex_unlock(&d->mu);
	rs->queued++;
}

int dlv_resume_outbox(struct dlv *d)
{
	int batch = d->cfg.resume_batch > 0 ? (int)d->cfg.resume_batch : DLV_RESUME_BATCH;
	struct resume rs = { .d = d };
	uint64_t after = 0;
	int n;

	do {
		n = store_outbox_load(d->cfg.store, &after, batch, resume_row, &rs);
		if (n < 0) {
			log_error("dlv: cannot read the outbox (%ld callback(s) resumed so far)", rs.queued);
			return -1;
		}
	} while (n == batch);
	if (rs.queued || rs.bad)
		log_info("dlv: %ld unfinished callback(s) resumed from the outbox%s", rs.queued,
			 rs.bad ? " (some unreadable rows deleted)" : "");
	else
		log_info("dlv: outbox empty, nothing to resume");
	return 0;
}
