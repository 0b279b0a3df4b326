/*
 * dlv_metrics.c - the Prometheus lines of the delivery module: attempts
 * and finished callbacks by operation and result, endpoints' circuits,
 * and the store writer's transactions and writes (the store is dlv's:
 * outbox rows and tracking records are nearly all it writes).
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include "dlv_int.h"

#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The metrics text: whole lines only; after one that does not fit, none. */
struct out {
	char *buf;
	size_t cap, n;
	bool full;
};

static void put_line(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put_line(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (o->full)
		return;
	va_start(ap, fmt);
	k = vsnprintf(o->buf + o->n, o->cap - o->n, fmt, ap);
	va_end(ap);
	if (k >= 0 && (size_t)k < o->cap - o->n) {
		o->n += (size_t)k;
	} else {
		o->buf[o->n] = '\0';
		o->full = true;
	}
}

size_t dlv_metrics(struct dlv *d, char *buf, size_t cap)
{
	unsigned long att[DLV_N_OPS][2] = { { 0 } }, res[DLV_N_OPS][2] = { { 0 } };
	static const char *const result[2] = { "failed", "delivered" };
	struct out o = { .buf = buf, .cap = cap };
	unsigned long open = 0, openings = 0;
	struct store_stats st;

	if (!buf || cap == 0)
		return 0;
	buf[0] = '\0';
	memset(&st, 0, sizeof(st));
	if (d) {
		store_get_stats(d->cfg.store, &st);
		pthread_mutex_lock(&d->mu);
		memcpy(att, d->attempts, sizeof(att));
		memcpy(res, d->results, sizeof(res));
		open = d->circuits_open;
		openings = d->circuit_openings;
		pthread_mutex_unlock(&d->mu);
	}
	put_line(&o, "# HELP pxtsgw_delivery_attempts_total Callback delivery attempts, by operation and result.\n");
	put_line(&o, "# TYPE pxtsgw_delivery_attempts_total counter\n");
	for (int op = 0; op < DLV_N_OPS; op++)
		for (int r = 1; r >= 0; r--)
			put_line(&o, "pxtsgw_delivery_attempts_total{operation=\"%s\",result=\"%s\"} %lu\n",
				 dlv_op_names[op], result[r], att[op][r]);
	put_line(&o, "# HELP pxtsgw_deliveries_total Callbacks finished, by operation and final result.\n");
	put_line(&o, "# TYPE pxtsgw_deliveries_total counter\n");
	for (int op = 0; op < DLV_N_OPS; op++)
		for (int r = 1; r >= 0; r--)
			put_line(&o, "pxtsgw_deliveries_total{operation=\"%s\",result=\"%s\"} %lu\n",
				 dlv_op_names[op], result[r], res[op][r]);
	put_line(&o, "# HELP pxtsgw_delivery_circuit_open Callback endpoints (host:port) whose circuit is "
		 "open or probing: no attempt to them but a probe.\n");
	put_line(&o, "# TYPE pxtsgw_delivery_circuit_open gauge\n");
	put_line(&o, "pxtsgw_delivery_circuit_open %lu\n", open);
	put_line(&o, "# HELP pxtsgw_delivery_circuit_openings_total Times an endpoint's circuit opened "
		 "(consecutive failed attempts, or a failed probe).\n");
	put_line(&o, "# TYPE pxtsgw_delivery_circuit_openings_total counter\n");
	put_line(&o, "pxtsgw_delivery_circuit_openings_total %lu\n", openings);
	put_line(&o, "# HELP pxtsgw_store_commits_total Transactions the store's writer committed "
		 "(outbox rows, tracking records and progress in groups; notifications saved or "
		 "deleted; pruning).\n");
	put_line(&o, "# TYPE pxtsgw_store_commits_total counter\n");
	put_line(&o, "pxtsgw_store_commits_total %lu\n", st.transactions);
	put_line(&o, "# HELP pxtsgw_store_writes_total Grouped writes (outbox rows added, updated or "
		 "deleted, tracking records, progress) the store's writer committed.\n");
	put_line(&o, "# TYPE pxtsgw_store_writes_total counter\n");
	put_line(&o, "pxtsgw_store_writes_total %lu\n", st.ops);
	return o.n;
}


