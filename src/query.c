/*
 * query.c - getStatus / getStatusForGroup: address checks, group
 * expansion, one watch job per query, and the per-address answers
 * (contract sections 5, 6, 7).
 */
#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "log.h"

#define SIP_URI_MAX (TS_ADDR_MAX + 64)

enum item_state { IT_FETCH, IT_ERROR, IT_OVER };

/* An address of the request. Small on purpose: a getStatusForGroup may
 * carry thousands of addresses beyond the group target limit, and those
 * cost only their text; the SIP URI and the fetch result exist for the
 * addresses processed. An IT_ERROR is always SVC0002 on "addresses". */
struct item {
	char *address;            /* as written (owned) */
	char *sip_uri;            /* IT_FETCH: owned */
	size_t fetch;             /* IT_FETCH: index into results */
	enum item_state state;
};

struct query {
	bool single;
	struct item *items;
	size_t n;
	struct fetch_result *results;
	size_t nfetch;
	struct watch_job job;
	struct watch *watch;
	query_done_h *done;
	void *done_arg;
	char log_req[LOG_REQ_MAX + 1];
	char log_app[128];
};

/* A query of n addresses of which at most nfetch are processed. */
static struct query *query_alloc(size_t n, size_t nfetch)
{
	struct query *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->items = calloc(n ? n : 1, sizeof(*q->items));
	q->results = calloc(nfetch ? nfetch : 1, sizeof(*q->results));
	if (!q->items || !q->results) {
		free(q->items);
		free(q->results);
		free(q);
		return NULL;
	}
	return q;
}

void query_free(struct query *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->n; i++) {
		free(q->items[i].address);
		free(q->items[i].sip_uri);
	}
	free(q->items);
	free(q->results);
	free(q);
}

/* Adds an address; maps it to a SIP URI or records an SVC0002 error. */
static int add_item(struct query *q, const struct query_env *env, const char *address,
		    enum item_state state)
{
	struct item *it = &q->items[q->n];
	char uri[SIP_URI_MAX];

	it->address = strdup(address);
	if (!it->address)
		return -1;
	q->n++;
	it->state = state;
	if (state != IT_FETCH)
		return 0;
	if (addr_to_sip(address, env->tel_domain, uri, sizeof(uri)) != 0) {
		it->state = IT_ERROR;
		return 0;
	}
	it->sip_uri = strdup(uri);
	if (!it->sip_uri)
		return -1;
	it->fetch = q->nfetch;
	q->results[q->nfetch].uri = it->sip_uri;
	q->nfetch++;
	return 0;
}

struct query *query_new_single(const struct query_env *env, const char *address, struct fault *f)
{
	struct query *q;

	if (!address || !*address) {
		fault_set(f, SVC0002, "address", NULL);
		return NULL;
	}
	if (group_is_group(env->groups, address)) {
		fault_set(f, POL0006, "address", NULL);
		return NULL;
	}
	q = query_alloc(1, 1);
	if (!q || add_item(q, env, address, IT_FETCH) != 0) {
		query_free(q);
		fault_set(f, SVC0001, "out of memory", NULL);
		return NULL;
	}
	if (q->items[0].state != IT_FETCH) {
		query_free(q);
		fault_set(f, SVC0002, "address", NULL);
		return NULL;
	}
	q->single = true;
	q->watch = env->watch;
	q->job.concurrency = 1;
	return q;
}

struct query *query_new_group(const struct query_env *env, const char *const *addresses,
			      size_t n, struct fault *f)
{
	struct group_expansion ex;
	struct query *q = NULL;
	bool any_valid = false;

	if (n == 0) {
		fault_set(f, SVC0002, "addresses", NULL);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!addresses[i] || !*addresses[i]) {
			fault_set(f, SVC0002, "addresses", NULL);
			return NULL;
		}
	}
	if (group_expand(env->groups, addresses, n, "addresses", &env->policy, &ex, f) != 0) {
		group_expansion_free(&ex);
		return NULL;
	}
	q = query_alloc(ex.n + ex.n_over, ex.n);
	if (!q)
		goto oom;
	for (size_t i = 0; i < ex.n; i++)
		if (add_item(q, env, ex.targets[i], IT_FETCH) != 0)
			goto oom;
	for (size_t i = 0; i < ex.n_over; i++)
		if (add_item(q, env, ex.over[i], IT_OVER) != 0)
			goto oom;
	group_expansion_free(&ex);
	for (size_t i = 0; i < q->n; i++)
		any_valid |= q->items[i].state != IT_ERROR;
	if (!any_valid) {
		query_free(q);
		fault_set(f, SVC0004, "addresses", NULL);
		return NULL;
	}
	q->watch = env->watch;
	q->job.concurrency = env->group_concurrency ? env->group_concurrency : 1;
	return q;
oom:
	group_expansion_free(&ex);
	query_free(q);
	fault_set(f, SVC0001, "out of memory", NULL);
	return NULL;
}

void query_set_log(struct query *q, const char *req, const char *app)
{
	snprintf(q->log_req, sizeof(q->log_req), "%s", req ? req : "");
	snprintf(q->log_app, sizeof(q->log_app), "%s", app ? app : "");
}

static void job_done(struct watch_job *job, void *arg)
{
	struct query *q = arg;

	(void)job;
	q->done(q->done_arg);
}

bool query_from_state(struct query *q)
{
	size_t i;

	if (q->nfetch == 0)   /* nothing to fetch: done already */
		return true;
	for (i = 0; i < q->nfetch; i++) {
		struct fetch_result *r = &q->results[i];

		if (!watch_status_published(q->watch, r->uri, &r->status, &r->learned_ms))
			break;
	}
	if (i < q->nfetch) {   /* the SIP thread answers them all, as before */
		for (size_t k = 0; k < i; k++) {
			q->results[k].status = TS_REACHABLE;
			q->results[k].learned_ms = 0;
		}
		return false;
	}
	for (i = 0; i < q->nfetch; i++) {
		struct fetch_result *r = &q->results[i];

		r->outcome = FETCH_OK;
		r->sip_status = 200;
		r->detail[0] = '\0';
	}
	watch_count_from_state(q->watch, q->nfetch);
	if (log_enabled(LOG_DEBUG)) {
		struct log_ctx ctx = { .req = q->log_req, .app = q->log_app };
		struct log_kv kv[] = { { "presentity", q->results[0].uri } };

		log_req(LOG_DEBUG, &ctx, kv, 1, "query: answered from the published subscription state");
	}
	return true;
}

int query_run(struct query *q, query_done_h *done, void *arg)
{
	q->done = done;
	q->done_arg = arg;
	if (q->nfetch == 0) {
		done(arg);
		return 0;
	}
	q->job.results = q->results;
	q->job.n = q->nfetch;
	q->job.done = job_done;
	q->job.arg = q;
	q->job.log_req = q->log_req;
	q->job.log_app = q->log_app;
	return watch_submit(q->watch, &q->job);
}

int query_outcome_fault(const struct fetch_result *r, const char *address, const char *part,
			struct fault *f)
{
	switch (r->outcome) {
	case FETCH_OK:
		return 0;
	case FETCH_REJECTED:
		fault_set(f, POL0002, address, NULL);
		break;
	case FETCH_NORESOURCE:
		fault_set(f, SVC0004, part, NULL);
		break;
	case FETCH_TIMEOUT:
		fault_set(f, SVC0001, r->detail[0] ? r->detail : "presence server timeout", NULL);
		break;
	case FETCH_PENDING:
	case FETCH_FAILED:
	default:
		fault_set(f, SVC0001, r->detail[0] ? r->detail : "presence fetch failed", NULL);
		break;
	}
	return -1;
}

int query_single_result(const struct query *q, ts_status *st, struct fault *f)
{
	const struct fetch_result *r = &q->results[q->items[0].fetch];

	if (query_outcome_fault(r, q->items[0].address, "address", f) != 0)
		return -1;
	*st = r->status;
	return 0;
}

const struct fetch_result *query_single_fetch(const struct query *q)
{
	return &q->results[q->items[0].fetch];
}

void query_cause(const struct query *q, char *buf, size_t cap)
{
	if (cap == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < q->nfetch; i++) {
		const struct fetch_result *r = &q->results[i];

		if (r->outcome == FETCH_OK)
			continue;
		if (r->sip_status >= 300)
			snprintf(buf, cap, "sip %d", r->sip_status);
		else if (r->outcome == FETCH_TIMEOUT)
			snprintf(buf, cap, "timeout");
		else
			snprintf(buf, cap, "%s", r->detail[0] ? r->detail : "fetch failed");
		return;
	}
}

size_t query_count(const struct query *q)
{
	return q->n;
}

void query_answer(const struct query *q, size_t i, struct query_answer *a)
{
	const struct item *it = &q->items[i];
	const struct fetch_result *r;

	memset(a, 0, sizeof(*a));
	a->address = it->address;
	switch (it->state) {
	case IT_OVER:
		a->kind = QA_NOT_RETRIEVED;
		return;
	case IT_ERROR:
		a->kind = QA_ERROR;
		fault_set(&a->error, SVC0002, "addresses", NULL);
		return;
	case IT_FETCH:
		break;
	}
	r = &q->results[it->fetch];
	if (r->outcome == FETCH_OK) {
		a->kind = QA_RETRIEVED;
		a->status = r->status;
	} else if (r->outcome == FETCH_TIMEOUT || r->outcome == FETCH_PENDING) {
		a->kind = QA_NOT_RETRIEVED;
	} else {
		a->kind = QA_ERROR;
		query_outcome_fault(r, it->address, "addresses", &a->error);
	}
}
