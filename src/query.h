/*
 * query.h - getStatus and getStatusForGroup, independent of SOAP.
 *
 * A query is prepared on the HTTP thread (address checks, group expansion,
 * policies: may end in a fault at once), run on the SIP thread as one watch
 * job, and read back on the HTTP thread once its done callback has run.
 */
#ifndef PXTSGW_QUERY_H
#define PXTSGW_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "fault.h"
#include "group.h"
#include "ts.h"
#include "watch.h"

/* What a query needs from the gateway; not owned by the query. */
struct query_env {
	struct watch *watch;
	const struct group_set *groups;
	struct group_policy policy;
	const char *tel_domain;
	unsigned group_concurrency;
};

enum query_answer_kind { QA_RETRIEVED, QA_NOT_RETRIEVED, QA_ERROR };

struct query_answer {
	const char *address;          /* as the client or group file wrote it */
	enum query_answer_kind kind;
	ts_status status;             /* QA_RETRIEVED */
	struct fault error;           /* QA_ERROR */
};

struct query;
typedef void (query_done_h)(void *arg);

/* getStatus(address). Returns a query to run, or NULL with *f set (SVC0002
 * bad address, POL0006 group, SVC0001 out of memory). */
struct query *query_new_single(const struct query_env *env, const char *address, struct fault *f);

/* getStatusForGroup(addresses). Returns a query, or NULL with *f set
 * (SVC0002 no addresses, group faults, SVC0004 when no address is valid). */
struct query *query_new_group(const struct query_env *env, const char *const *addresses,
			      size_t n, struct fault *f);

/* On the calling (HTTP) thread, before query_run: answers every fetch of
 * q from the subscriptions' published state (watch_status_published) when
 * all of them are there (or it has none); q is then done as after
 * query_run's callback, and is not to be run. false: nothing answered, run it. Log fields come from
 * query_set_log, so call that first. */
bool query_from_state(struct query *q);

/* Hands the fetches to the SIP thread; done(arg) runs there when all are
 * answered or the deadline passed (it must not block, and must not free
 * the query). When nothing needs fetching, done runs at once on the
 * calling thread. Returns 0, or -1 if the watcher is down (done not run). */
int query_run(struct query *q, query_done_h *done, void *arg);

/* After done: getStatus's answer. Returns 0 with *st, or -1 with *f. */
int query_single_result(const struct query *q, ts_status *st, struct fault *f);

/* After done: getStatus's fetch itself (outcome, status, learned_ms), for
 * the REST binding, which maps outcomes its own way. */
const struct fetch_result *query_single_fetch(const struct query *q);

/* After done: getStatusForGroup's answers, in request order. */
size_t query_count(const struct query *q);
void query_answer(const struct query *q, size_t i, struct query_answer *a);

/* After done: the root cause of the first fetch of q that did not
 * succeed, for its usage record: "sip 404" (a final SIP status), "timeout"
 * (no answer in time), else the fetch's detail; "" when every fetch
 * succeeded. */
void query_cause(const struct query *q, char *buf, size_t cap);

void query_free(struct query *q);   /* NULL is fine */

/* The request id and application its fetches log with (copied, cut to
 * LOG_REQ_MAX and 127 bytes); before query_run. NULL is "". */
void query_set_log(struct query *q, const char *req, const char *app);

/* How a fetch outcome reads for getStatus (contract section 7): 0 when
 * FETCH_OK, else -1 and *f: POL0002 on address, SVC0004 on part (the
 * request's part: "address", "addresses"), SVC0001 with the detail. The
 * notification manager reads a refused subscription the same way. */
int query_outcome_fault(const struct fetch_result *r, const char *address, const char *part,
			struct fault *f);

#endif
