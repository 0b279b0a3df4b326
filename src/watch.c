/*
 * watch.c - SIP presence fetches with sofia-sip nta, on the SIP thread.
 *
 * DESIGN
 * - The SIP thread is a loop (loop.h) started here; nta callbacks, timers
 *   and posted messages all run on it, so the state below needs no lock.
 * - Other threads reach it only through loop_post() (watch_submit posts a
 *   job); what they read directly is atomic (ready, server_up, counters).
 * - Jobs are batches of fetches with one deadline timer. pump() starts
 *   fetches while the job's and the global bounds allow, oldest job first.
 * - A fetch ends when both the final response (2xx) and the NOTIFY have
 *   arrived (either order), on a failure response, or at the deadline. It
 *   is in the Call-ID table (watch_sip.c) until then; its client
 *   transaction goes at the final response.
 * - job_complete() is the last touch of a job: it calls the owner's done
 *   callback, which may free the job.
 *
 * The SIP stack is sofia-sip's transaction layer (nta) on this thread's
 * own su_root: no stack thread, no handle per request, no dialog object
 * in the stack (watch_sip.c builds the requests and answers every
 * incoming one statelessly: see "Strangers" there). Long-lived
 * subscriptions (startNotification) are in watch_sub.c, on the same
 * agent.
 */
#include "watch_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/random.h>
#include <malloc.h>

#include <sofia-sip/su_log.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/su_uniqueid.h>

#include "log.h"
#include "loop.h"
#include "mono.h"
#include "pidf.h"

#define WATCH_UDP_RMEM (4 * 1024 * 1024)

static void pump(struct watch *w);

/* --- job bookkeeping ----------------------------------------------------- */

static void job_unlink(struct watch *w, struct watch_job *j)
{
	if (j->j_prev)
		j->j_prev->j_next = j->j_next;
	else
		w->jobs = j->j_next;
	if (j->j_next)
		j->j_next->j_prev = j->j_prev;
	else
		w->jobs_tail = j->j_prev;
	j->j_next = j->j_prev = NULL;
}

/* The last touch of a job. */
static void job_complete(struct watch *w, struct watch_job *j)
{
	struct watch_job_priv *p = j->priv;
	watch_job_done_h *done = j->done;
	void *arg = j->arg;

	job_unlink(w, j);
	if (p) {
		loop_timer_free(p->timer);
		free(p->live);
		free(p);
	}
	j->priv = NULL;
	atomic_fetch_sub(&w->st_jobs, 1);
	done(j, arg);
}

void watch_set_result(struct fetch_result *r, enum fetch_outcome o, const char *fmt, ...)
{
	va_list ap;

	r->outcome = o;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

/* Counts a finished fetch: ok, timeout (no answer in time, or 408), or
 * failed (any other outcome, 5xx included). */
static void count_outcome(struct watch *w, const struct fetch_result *r)
{
	if (r->outcome == FETCH_OK)
		atomic_fetch_add(&w->st_ok, 1);
	else if (r->outcome == FETCH_TIMEOUT && (r->sip_status == 0 || r->sip_status == 408))
		atomic_fetch_add(&w->st_timeout, 1);
	else
		atomic_fetch_add(&w->st_failed, 1);
}

/* --- fetches in flight by URI (coalescing) ------------------------------- */

static const char *fetch_uri(const struct fetch *f)
{
	return f->job->results[f->idx].uri;
}

static struct fetch *inflight_find(struct watch *w, const char *uri)
{
	for (struct fetch *f = w->inflight[watch_uri_bucket(uri)]; f; f = f->hnext)
		if (strcmp(fetch_uri(f), uri) == 0)
			return f;
	return NULL;
}

static void inflight_add(struct watch *w, struct fetch *f)
{
	unsigned b = watch_uri_bucket(fetch_uri(f));

	f->hnext = w->inflight[b];
	w->inflight[b] = f;
}

static void inflight_remove(struct watch *w, struct fetch *f)
{
	for (struct fetch **pp = &w->inflight[watch_uri_bucket(fetch_uri(f))]; *pp; pp = &(*pp)->hnext)
		if (*pp == f) {
			*pp = f->hnext;
			break;
		}
	f->hnext = NULL;
}

/* Ends a follower (its result set): its job may complete. */
static void follower_done(struct watch *w, struct fetch *g)
{
	struct watch_job *j = g->job;

	j->priv->live[g->idx] = NULL;
	count_outcome(w, &j->results[g->idx]);
	free(g);
	j->running--;
	j->finished++;
	if (j->finished == j->n)
		job_complete(w, j);
}

/* Ends one fetch whose result is set: frees the handle, gives its
 * followers a copy of the result, and completes the jobs whose last fetch
 * it was. */
static void fetch_finish(struct watch *w, struct fetch *f)
{
	struct watch_job *j = f->job;
	const struct fetch_result *r = &j->results[f->idx];
	struct fetch *g = f->followers, *gn;

	if (f->orq)
		nta_outgoing_destroy(f->orq);
	f->orq = NULL;
	wsip_table_remove(w, &f->hm);
	inflight_remove(w, f);
	j->priv->live[f->idx] = NULL;
	count_outcome(w, r);
	hist_observe(&w->fetch_hist, hist_now_us() - f->started_us);
	j->running--;
	j->finished++;
	w->running--;
	atomic_store(&w->st_running, (unsigned long)w->running);
	for (; g; g = gn) {
		struct fetch_result *gr = &g->job->results[g->idx];

		gn = g->fnext;
		gr->outcome = r->outcome;
		gr->status = r->status;
		gr->sip_status = r->sip_status;
		gr->learned_ms = r->learned_ms;
		memcpy(gr->detail, r->detail, sizeof(gr->detail));
		follower_done(w, g);
	}
	free(f);
	if (j->finished == j->n)
		job_complete(w, j);
	pump(w);
}

/* --- SIP outcomes -------------------------------------------------------- */

/* Classifies a final failure response (contract section 7). */
enum fetch_outcome watch_outcome_of_status(int status)
{
	switch (status) {
	case 403: case 603:
		return FETCH_REJECTED;
	case 404: case 604: case 484:
		return FETCH_NORESOURCE;
	case 408:
		return FETCH_TIMEOUT;
	}
	if (status >= 500 && status < 600)
		return FETCH_TIMEOUT;
	return FETCH_FAILED;
}

static void on_subscribe_response(struct watch *w, struct fetch *f, int status, const char *phrase)
{
	struct fetch_result *r = &f->job->results[f->idx];

	if (status < 200)
		return;
	r->sip_status = status;
	if (status < 300) {
		f->got_final = true;
		if (f->got_notify)
			fetch_finish(w, f);
		return;
	}
	watch_set_result(r, watch_outcome_of_status(status), "SIP %d %s", status, phrase ? phrase : "");
	log_debug("watch: fetch %s: %d %s", r->uri, status, phrase ? phrase : "");
	fetch_finish(w, f);
}

static int fetch_answer(struct hm *magic, nta_outgoing_t *orq, const sip_t *sip)
{
	struct fetch *f = (struct fetch *)magic;
	int status = nta_outgoing_status(orq);

	char phrase[80];

	if (status < 200 || orq != f->orq)
		return 0;
	/* sip goes with the transaction (at once over TCP) */
	snprintf(phrase, sizeof(phrase), "%s", sip && sip->sip_status ? sip->sip_status->st_phrase : "");
	nta_outgoing_destroy(orq);
	f->orq = NULL;
	on_subscribe_response(f->job->w, f, status, phrase);
	return 0;
}

/* Maps a NOTIFY's body to a status (FETCH_OK) or a failure (FETCH_FAILED)
 * in r. */
void watch_map_notify(struct watch *w, const sip_t *sip, struct fetch_result *r)
{
	const sip_payload_t *pl = sip ? sip->sip_payload : NULL;
	struct pidf_doc doc;
	enum pidf_rc rc;

	if (pl && pl->pl_len && sip->sip_content_type && sip->sip_content_type->c_type &&
	    strcasecmp(sip->sip_content_type->c_type, "application/pidf+xml") != 0) {
		watch_set_result(r, FETCH_FAILED, "unsupported presence body type %.40s",
			   sip->sip_content_type->c_type);
		return;
	}
	rc = pidf_parse(pl ? pl->pl_data : NULL, pl ? pl->pl_len : 0, &doc);
	if (rc == PIDF_OK) {
		r->status = pstat_map(&doc, &w->rules);
		r->learned_ms = wall_ms();
		watch_set_result(r, FETCH_OK, "%s", "");
	} else {
		watch_set_result(r, FETCH_FAILED, "presence document: %s", pidf_rc_name(rc));
	}
}

void fetch_notify(struct watch *w, struct fetch *f, const sip_t *sip)
{
	struct fetch_result *r = &f->job->results[f->idx];
	const sip_subscription_state_t *ss = sip->sip_subscription_state;
	const char *reason = ss ? ss->ss_reason : NULL;
	const sip_payload_t *pl = sip->sip_payload;
	bool terminated = ss && ss->ss_substate && strcasecmp(ss->ss_substate, "terminated") == 0;

	if (f->got_notify)
		return;  /* a retransmission */
	if (terminated && reason && strcasecmp(reason, "rejected") == 0) {
		watch_set_result(r, FETCH_REJECTED, "subscription rejected");
		fetch_finish(w, f);
		return;
	}
	if (terminated && reason && strcasecmp(reason, "noresource") == 0) {
		watch_set_result(r, FETCH_NORESOURCE, "no such presentity");
		fetch_finish(w, f);
		return;
	}
	if (!terminated && ss && ss->ss_substate && strcasecmp(ss->ss_substate, "pending") == 0 &&
	    (!pl || pl->pl_len == 0))
		return; /* authorisation pending: no state yet, wait for more */

	watch_map_notify(w, sip, r);
	f->got_notify = true;
	log_debug("watch: fetch %s: NOTIFY %s -> %s", r->uri,
		  ss && ss->ss_substate ? ss->ss_substate : "?",
		  r->outcome == FETCH_OK ? ts_status_name(r->status) : r->detail);
	if (f->got_final || r->outcome != FETCH_OK)
		fetch_finish(w, f);
}

/* --- keepalive toward the presence server ---------------------------------- */

static void ping_answer(struct watch *w, int status, const char *phrase)
{
	/* 408 and 5xx come from our own stack when the server is silent or
	 * unreachable; any other answer comes from a live server */
	bool up = status != 408 && status < 500;

	if (w->ping_orq) {
		nta_outgoing_destroy(w->ping_orq);
		w->ping_orq = NULL;
	}
	if (up && w->server_state == 0) {
		log_info("watch: presence server %s answers again", w->proxy_url);
		sub_server_back(w);
	} else if (!up && w->server_state != 0) {
		log_warn("watch: presence server %s does not answer (%d %s)", w->proxy_url, status,
			 phrase ? phrase : "");
		atomic_fetch_add(&w->st_outages, 1);
	}
	w->server_state = up ? 1 : 0;
	if (atomic_load(&w->server_up) != up)
		atomic_store(&w->server_since, (long long)time(NULL));
	atomic_store(&w->server_up, up);
}

static int ping_response(struct hm *magic, nta_outgoing_t *orq, const sip_t *sip)
{
	struct watch *w = (struct watch *)((char *)magic - offsetof(struct watch, ping_hm));
	int status = nta_outgoing_status(orq);
	char phrase[80];

	if (status >= 200 && orq == w->ping_orq) {
		/* sip goes with the transaction (ping_answer destroys it) */
		snprintf(phrase, sizeof(phrase), "%s", sip && sip->sip_status ? sip->sip_status->st_phrase : "");
		ping_answer(w, status, phrase);
	}
	return 0;
}

static void ping_fire(void *arg)
{
	struct watch *w = arg;

	if (w->shutting_down)
		return;
	loop_timer_set(w->ping_timer, w->keepalive_s * 1000, ping_fire, w);
	if (w->ping_orq) {
		/* the last one is still out: the server is silent */
		ping_answer(w, 408, "no answer to OPTIONS");
	}
	wsip_new_id(w, w->ping_hm.callid, sizeof(w->ping_hm.callid));
	wsip_new_id(w, w->ping_hm.ltag, sizeof(w->ping_hm.ltag));
	{
		struct wsip_req r = {
			.method_name = "OPTIONS", .method = sip_method_options,
			.ruri = w->server_uri, .to_uri = w->server_uri,
			.id = &w->ping_hm, .cseq = 1, .expires = -1,
		};

		w->ping_orq = wsip_send(w, &r, ping_response, &w->ping_hm);
	}
}

/* --- starting fetches ---------------------------------------------------- */

/* A fetch's line for the log: the request that asked, the presentity and
 * the Call-ID of the SUBSCRIBE that serves it (its leader's for a
 * follower, whose request is leader_req). */
static void log_fetch(const struct fetch *f, const char *what, const char *leader_req)
{
	const struct fetch *l = f->leader ? f->leader : f;
	struct log_ctx ctx = { .req = f->job->log_req, .app = f->job->log_app };
	struct log_kv kv[] = {
		{ "presentity", fetch_uri(f) },
		{ "call_id", l->hm.callid },
		{ "leader_req", leader_req },
	};

	log_req(LOG_INFO, &ctx, kv, 3, "%s", what);
}

/* Makes f (job and idx set) a leader: its SUBSCRIBE goes out and it is in
 * the table of fetches in flight. false when no SIP handle can be made. */
static bool lead(struct watch *w, struct fetch *f)
{
	const char *uri = fetch_uri(f);

	struct wsip_req r = {
		.method_name = "SUBSCRIBE", .method = sip_method_subscribe,
		.ruri = uri, .to_uri = uri, .id = &f->hm, .cseq = 1, .expires = 0,
	};

	atomic_fetch_add(&w->st_started, 1);
	f->started_us = hist_now_us();
	f->hm.kind = HM_FETCH;
	f->leader = NULL;
	f->got_final = f->got_notify = false;
	wsip_new_id(w, f->hm.callid, sizeof(f->hm.callid));
	wsip_new_id(w, f->hm.ltag, sizeof(f->hm.ltag));
	f->orq = wsip_send(w, &r, fetch_answer, &f->hm);
	if (!f->orq)
		return false;
	wsip_table_add(w, &f->hm);
	log_fetch(f, "watch: fetch", NULL);
	inflight_add(w, f);
	w->running++;
	atomic_store(&w->st_running, (unsigned long)w->running);
	return true;
}

/* Starts fetch idx of job j. Never completes the job itself. */
static void fetch_start(struct watch *w, struct watch_job *j, size_t idx)
{
	struct fetch_result *r = &j->results[idx];
	struct fetch *f;
	ts_status st;

	/* a watched presentity: its subscription knows the status, no SIP
	 * round trip (a lost or pending subscription falls back to a fetch) */
	if (sub_status_now(w, r->uri, &st, &r->learned_ms)) {
		r->outcome = FETCH_OK;
		r->status = st;
		r->sip_status = 200;
		r->detail[0] = '\0';
		atomic_fetch_add(&w->st_from_state, 1);
		if (log_enabled(LOG_DEBUG)) {
			struct log_ctx ctx = { .req = j->log_req, .app = j->log_app };
			struct log_kv kv[] = { { "presentity", r->uri } };

			log_req(LOG_DEBUG, &ctx, kv, 1, "watch: fetch answered by the subscription");
		}
		j->finished++;
		return;
	}
	/* the same presentity fetched already: share its SUBSCRIBE */
	{
		struct fetch *l = inflight_find(w, r->uri);

		if (l && (f = calloc(1, sizeof(*f))) != NULL) {
			f->job = j;
			f->idx = idx;
			f->leader = l;
			f->fnext = l->followers;
			l->followers = f;
			j->priv->live[idx] = f;
			j->running++;
			atomic_fetch_add(&w->st_coalesced, 1);
			if (log_enabled(LOG_INFO))
				log_fetch(f, "watch: fetch shares a SUBSCRIBE in flight",
					  l->job->log_req ? l->job->log_req : "");
			return;
		}
	}
	f = calloc(1, sizeof(*f));
	if (f) {
		f->job = j;
		f->idx = idx;
	}
	if (!f || !lead(w, f)) {
		free(f);
		watch_set_result(r, FETCH_FAILED, "cannot create a SIP request for this address");
		count_outcome(w, r);
		j->finished++;
		return;
	}
	j->priv->live[idx] = f;
	j->running++;
}

static void pump(struct watch *w)
{
	struct watch_job *j, *jn;

	if (w->pumping)
		return;
	w->pumping = true;
	for (j = w->jobs; j && w->running < w->max_fetches; j = jn) {
		jn = j->j_next;
		while (j->next < j->n && j->running < j->concurrency && w->running < w->max_fetches)
			fetch_start(w, j, j->next++);
		if (j->finished == j->n)
			job_complete(w, j);
	}
	w->pumping = false;
}

/* A leader that goes before its answer (its job expired): its followers,
 * all of other jobs, still wait; the first of the list, the one that came
 * last (its job expires last), leads now with a SUBSCRIBE of its own, and
 * the others follow it: the jobs that expire meanwhile take only their
 * followers away. */
static void promote(struct watch *w, struct fetch *followers)
{
	struct fetch *g = followers, *h;

	if (!g)
		return;
	g->followers = g->fnext;
	g->fnext = NULL;
	for (h = g->followers; h; h = h->fnext)
		h->leader = g;
	if (lead(w, g))
		return;
	/* no handle: the followers end with the failure too */
	for (h = g; h; ) {
		struct fetch *next = h == g ? g->followers : h->fnext;

		watch_set_result(&h->job->results[h->idx], FETCH_FAILED,
				 "cannot create a SIP request for this address");
		follower_done(w, h);
		h = next;
	}
}

/* Ends every open fetch of j with FETCH_TIMEOUT and completes it. */
static void job_expire(struct watch *w, struct watch_job *j, const char *why)
{
	/* first its followers, out of their leaders' lists (a leader of j may
	 * lead some of them) */
	for (size_t i = 0; i < j->n; i++) {
		struct fetch *f = j->priv->live[i];

		if (!f || !f->leader)
			continue;
		for (struct fetch **pp = &f->leader->followers; *pp; pp = &(*pp)->fnext)
			if (*pp == f) {
				*pp = f->fnext;
				break;
			}
		free(f);
		j->priv->live[i] = NULL;
		j->running--;
	}
	for (size_t i = 0; i < j->n; i++) {
		struct fetch *f = j->priv->live[i];
		struct fetch_result *r = &j->results[i];

		if (f) {
			hist_observe(&w->fetch_hist, hist_now_us() - f->started_us);   /* cut short */
			if (f->orq)
				nta_outgoing_destroy(f->orq);
			f->orq = NULL;
			wsip_table_remove(w, &f->hm);
			inflight_remove(w, f);
			promote(w, f->followers);
			free(f);
			j->priv->live[i] = NULL;
			j->running--;
			w->running--;
		}
		if (r->outcome == FETCH_PENDING) {
			watch_set_result(r, FETCH_TIMEOUT, "%s", why);
			count_outcome(w, r);
		}
	}
	atomic_store(&w->st_running, (unsigned long)w->running);
	j->next = j->finished = j->n;
	job_complete(w, j);
}

static void job_deadline(void *arg)
{
	struct watch_job *j = arg;
	struct watch *w = j->w;
	char why[64];

	snprintf(why, sizeof(why), "no answer within %ld ms", w->fetch_timeout_ms);
	job_expire(w, j, why);
	pump(w);
}

static void submit_on_sip(void *arg)
{
	struct watch_job *j = arg;
	struct watch *w = j->w;
	struct watch_job_priv *p = calloc(1, sizeof(*p));

	j->next = j->running = j->finished = 0;
	j->j_next = j->j_prev = NULL;
	if (j->concurrency < 1)
		j->concurrency = 1;
	for (size_t i = 0; i < j->n; i++) {
		j->results[i].outcome = FETCH_PENDING;
		j->results[i].sip_status = 0;
		j->results[i].detail[0] = '\0';
	}
	/* link first: job_complete unlinks */
	j->j_prev = w->jobs_tail;
	if (w->jobs_tail)
		w->jobs_tail->j_next = j;
	else
		w->jobs = j;
	w->jobs_tail = j;
	atomic_fetch_add(&w->st_jobs, 1);
	j->priv = p;
	if (p) {
		p->live = calloc(j->n ? j->n : 1, sizeof(*p->live));
		p->timer = loop_timer_new(w->loop);
	}
	if (!p || !p->live || !p->timer || loop_timer_set(p->timer, w->fetch_timeout_ms, job_deadline, j) < 0) {
		log_error("watch: out of memory starting a job");
		if (p && p->live)
			job_expire(w, j, "out of memory");
		else {
			for (size_t i = 0; i < j->n; i++)
				watch_set_result(&j->results[i], FETCH_FAILED, "out of memory");
			job_complete(w, j);
		}
		return;
	}
	pump(w);
}

/* --- thread and messages ------------------------------------------------- */

int watch_submit(struct watch *w, struct watch_job *job)
{
	if (!w || !job || !job->done || (job->n && !job->results))
		return -1;
	job->w = w;
	return loop_post(w->loop, submit_on_sip, job);
}

static void shutdown_force(void *arg)
{
	struct watch *w = arg;

	log_warn("watch: SIP shutdown took too long; leaving the loop");
	loop_break(w->loop);
}

static void shutdown_on_sip(void *arg)
{
	struct watch *w = arg;

	w->shutting_down = true;
	loop_timer_cancel(w->ping_timer);
	if (w->ping_orq)
		nta_outgoing_destroy(w->ping_orq);
	w->ping_orq = NULL;
	while (w->jobs)
		job_expire(w, w->jobs, "gateway shutting down");
	/* every subscription is un-SUBSCRIBEd; their answers end the loop */
	w->shutdown_pending = sub_shutdown(w);
	if (w->shutdown_pending == 0) {
		loop_break(w->loop);
		return;
	}
	w->shutdown_timer = loop_timer_new(w->loop);
	if (loop_timer_set(w->shutdown_timer, 3000, shutdown_force, w) < 0) {
		log_warn("watch: no timer for the SIP shutdown; leaving the loop now");
		loop_break(w->loop);
	}
}

void watch_shutdown_step(struct watch *w)
{
	if (w->shutdown_pending > 0 && --w->shutdown_pending == 0)
		loop_break(w->loop);
}

/* A request of no transaction of ours reaches the agent here; a response
 * of none (a late one, a stray) is dropped. */
static int agent_message(struct watch *w, nta_agent_t *agent, msg_t *msg, sip_t *sip)
{
	if (sip && sip->sip_request)
		return wsip_request(w, agent, msg, sip);
	msg_destroy(msg);
	return 0;
}

/* sofia-sip's own diagnostics (tport, nta) come through here instead
 * of going raw to stderr: one debug line per message, in our format. */
static void sofia_log(void *stream, char const *fmt, va_list ap)
{
	static _Thread_local char line[512];
	static _Thread_local size_t len;
	char frag[512];
	int n;

	(void)stream;
	n = vsnprintf(frag, sizeof(frag), fmt, ap);
	if (n < 0)
		return;
	for (const char *p = frag; *p; p++) {
		if (*p == '\n' || len + 1 >= sizeof(line)) {
			line[len] = '\0';
			if (len)
				log_debug("sofia: %s", line);
			len = 0;
			if (*p == '\n')
				continue;
		}
		line[len++] = *p;
	}
}

static bool has_param(const char *uri, const char *name)
{
	const char *p = strchr(uri, ';');

	return p && strcasestr(p, name) != NULL;
}

/* On the SIP thread, before its loop runs: the SIP stack. */
static int sip_init(struct loop *l, void *arg)
{
	struct watch *w = arg;

	w->loop = l;
	su_log_redirect(NULL, sofia_log, NULL);
	{
		uint64_t seed = 0;

		if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
			seed = (uint64_t)mono_ms() ^ ((uint64_t)(uintptr_t)w << 16);
		w->rng = seed | 1;
	}
	w->agent = nta_agent_create(loop_root(l), URL_STRING_MAKE(w->listen_url), agent_message, w,
				    NTATAG_UDP_MTU(65535),
				    /* timer K: a client transaction over UDP stays this
				     * long after its final answer, only to absorb a
				     * repeated answer (which, late, is dropped anyway);
				     * with the default 5 s, 1,000 fetches a second kept
				     * ~5,000 transactions (~10 KB each) alive */
				    NTATAG_SIP_T4(500),
				    /* bursts of 200s and NOTIFYs (group fetches) overflow
				     * the default 208 KiB and cost a retransmission */
				    TPTAG_UDP_RMEM(WATCH_UDP_RMEM),
				    TPTAG_UDP_WMEM(WATCH_UDP_RMEM),
				    TAG_END());
	if (!w->agent) {
		log_error("watch: cannot start the SIP stack on %s (port in use, or address not available?)",
			  w->listen_url);
		return -1;
	}
	{
		const sip_contact_t *m = nta_agent_contact(w->agent);
		const url_t *u = m ? m->m_url : NULL;

		snprintf(w->contact, sizeof(w->contact), "<sip:%s%s%s%s>",
			 u && u->url_host ? u->url_host : "127.0.0.1",
			 u && u->url_port ? ":" : "", u && u->url_port ? u->url_port : "",
			 has_param(w->proxy_url, "transport=tcp") ? ";transport=tcp" : "");
	}
	w->sub_pump_timer = loop_timer_new(l);
	if (!w->sub_pump_timer) {
		log_error("watch: out of memory starting the SIP stack");
		nta_agent_destroy(w->agent);
		w->agent = NULL;
		return -1;
	}
	w->ping_hm.kind = HM_PING;
	w->server_state = -1;
	if (w->keepalive_s > 0) {
		w->ping_timer = loop_timer_new(l);
		if (loop_timer_set(w->ping_timer, w->keepalive_s * 1000, ping_fire, w) < 0)
			log_error("watch: no timer for the keepalive OPTIONS");
	}
	atomic_store(&w->ready, true);
	return 0;
}

/* On the SIP thread, once its loop is over. */
static void sip_fini(struct loop *l, void *arg)
{
	struct watch *w = arg;

	(void)l;
	atomic_store(&w->ready, false);
	loop_timer_free(w->shutdown_timer);
	loop_timer_free(w->ping_timer);
	w->shutdown_timer = w->ping_timer = NULL;
	nta_agent_destroy(w->agent);
	w->agent = NULL;
	sub_free_all(w);
	loop_timer_free(w->sub_pump_timer);
	w->sub_pump_timer = NULL;
}

int watch_start(const struct watch_config *cfg, struct watch **out)
{
	struct watch *w;
	struct loop *l;

	/* Each fetch allocates and frees a few 10 KB (SIP messages, the PIDF
	 * parser) at the top of the SIP thread's malloc arena: with glibc's
	 * default pad (128 KiB) the arena was trimmed and grown again over
	 * and over, page faults and mprotect included, a fifth of the SIP
	 * thread's CPU under load (perf). Keep 1 MiB at the top instead. */
	mallopt(M_TOP_PAD, 1 << 20);
	w = calloc(1, sizeof(*w));
	if (!w)
		return -1;
	snprintf(w->listen_url, sizeof(w->listen_url), "sip:%s", cfg->listen);
	if (has_param(cfg->presence_server, "transport="))
		snprintf(w->proxy_url, sizeof(w->proxy_url), "%s", cfg->presence_server);
	else
		snprintf(w->proxy_url, sizeof(w->proxy_url), "%s;transport=%s",
			 cfg->presence_server, cfg->transport);
	snprintf(w->watcher_uri, sizeof(w->watcher_uri), "<%s>", cfg->watcher_uri);
	w->fetch_timeout_ms = cfg->fetch_timeout_ms;
	w->max_fetches = cfg->max_fetches > 0 ? cfg->max_fetches : 1;
	w->subscribe_expires_s = cfg->subscribe_expires_s > 0 ? cfg->subscribe_expires_s : 3600;
	w->give_up_s = cfg->give_up_s > 0 ? cfg->give_up_s : 300;
	w->keepalive_s = cfg->keepalive_s;
	snprintf(w->server_uri, sizeof(w->server_uri), "%s", cfg->presence_server);
	atomic_store(&w->server_up, true);
	atomic_store(&w->server_since, (long long)time(NULL));
	w->rules = *cfg->rules;
	w->view = pview_new(cfg->view_slots > 0 ? (size_t)cfg->view_slots : (size_t)1 << 18, NULL);
	if (!w->view) {
		free(w);
		return -1;
	}
	/* sip_init sets w->loop on the SIP thread before the loop runs; l
	 * is only loop_start's answer (writing it into w from here would
	 * race the SIP thread's reads of w->loop) */
	if (loop_start(sip_init, sip_fini, w, &l) != 0) {
		pview_free(w->view);
		free(w);
		return -1;
	}
	log_info("watch: SIP watcher %s on %s, presence server %s", cfg->watcher_uri,
		 w->listen_url, w->proxy_url);
	*out = w;
	return 0;
}

void watch_stop(struct watch *w)
{
	if (!w)
		return;
	/* the shutdown message is the last one the loop accepts */
	if (loop_stop(w->loop, shutdown_on_sip, w) == 0) {
		pview_free(w->view);
		free(w);
	}
}

bool watch_status_published(struct watch *w, const char *sip_uri, ts_status *st,
			    int64_t *learned_ms)
{
	return w && pview_get(w->view, sip_uri, st, learned_ms);
}

void watch_count_from_state(struct watch *w, unsigned long n)
{
	if (w)
		atomic_fetch_add(&w->st_from_state, n);
}

struct rules_msg {
	struct watch *w;
	struct pstat_rules rules;
};

static void rules_on_sip(void *arg)
{
	struct rules_msg *m = arg;

	m->w->rules = m->rules;
	free(m);
}

int watch_set_rules(struct watch *w, const struct pstat_rules *rules)
{
	struct rules_msg *m;

	if (!w || !rules)
		return -1;
	m = malloc(sizeof(*m));
	if (!m)
		return -1;
	m->w = w;
	m->rules = *rules;
	if (loop_post(w->loop, rules_on_sip, m) != 0) {
		free(m);
		return -1;
	}
	return 0;
}

struct loop *watch_loop(struct watch *w)
{
	return w ? w->loop : NULL;
}

bool watch_ready(const struct watch *w)
{
	return w && atomic_load(&w->ready);
}

bool watch_server_up(const struct watch *w)
{
	return w && atomic_load(&w->server_up);
}

time_t watch_server_since(const struct watch *w)
{
	return w ? (time_t)atomic_load(&w->server_since) : 0;
}

const struct hist *watch_fetch_hist(const struct watch *w)
{
	return &w->fetch_hist;
}

void watch_get_stats(const struct watch *w, struct watch_stats *st)
{
	st->fetches_started = atomic_load(&w->st_started);
	st->fetches_ok = atomic_load(&w->st_ok);
	st->fetches_timeout = atomic_load(&w->st_timeout);
	st->fetches_failed = atomic_load(&w->st_failed);
	st->jobs_open = atomic_load(&w->st_jobs);
	st->fetches_running = atomic_load(&w->st_running);
	st->subscriptions = atomic_load(&w->st_subs);
	st->subscriptions_active = atomic_load(&w->st_subs_active);
	st->subscription_notifies = atomic_load(&w->st_sub_notifies);
	st->subscription_retries = atomic_load(&w->st_sub_retries);
	st->subscription_failures = atomic_load(&w->st_sub_failures);
	st->server_outages = atomic_load(&w->st_outages);
	st->answers_from_state = atomic_load(&w->st_from_state);
	st->published = (unsigned long)pview_count(w->view);
	st->fetches_coalesced = atomic_load(&w->st_coalesced);
}
