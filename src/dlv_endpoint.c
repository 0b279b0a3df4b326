/*
 * dlv_endpoint.c - fairness between destinations: a limit of attempts in
 * flight per endpoint and a circuit per endpoint (all under d->mu; the
 * workers of dlv.c ask dlv_ep_admit before an attempt and call
 * dlv_ep_done after it).
 *
 * An endpoint is its destination, "host:port" (dlv_ep_key_dup): the
 * correlators of every notification that calls back the same host and
 * port share its record, whatever the path or credentials.
 *
 * Limit: at most cfg.max_in_flight_per_endpoint attempts to one endpoint
 * are in flight. A correlator whose head would exceed it is parked on the
 * endpoint (FIFO), not waited on: the worker takes the next ready
 * correlator, so a slow or dead endpoint holds at most that many workers.
 * When an attempt of the endpoint ends, as many parked correlators as
 * there are free slots go back to the ready queue.
 *
 * Circuit, per endpoint:
 *   CLOSED     attempts as usual; cfg.circuit_failures consecutive failed
 *              attempts (any failure: connect, timeout, HTTP status, SOAP
 *              fault) open it
 *   OPEN       no attempt until open_until (cfg.circuit_open_s later): a
 *              correlator that comes to the head waits in the timer list
 *              until then, or until its head's deadline if that is sooner
 *              (then it expires, without an attempt)
 *   HALF_OPEN  open_until passed: the first correlator admitted makes one
 *              attempt, the probe; the others are parked until it ends.
 *              Delivered: CLOSED (parked ones go). Failed: OPEN again for
 *              circuit_open_s. Given up without an attempt (it expired
 *              meanwhile): OPEN with the time already over, so the next
 *              one probes.
 * A success of any attempt closes the circuit (an attempt that was in
 * flight when it opened, too); a failure of one that was in flight then
 * does not extend it. An attempt not made is no attempt: no record, no
 * count. A parked correlator waits at most one attempt's time
 * (delivery.timeout-ms) before it is looked at again, so its expiry may
 * come that much later; one that waits for an open circuit expires on
 * time.
 *
 * An endpoint's record lives while a queued job refers to it, and after
 * that while its circuit is open (so a new callback does not try it
 * before the probe time); more than DLV_IDLE_EPS_MAX of those and they
 * are forgotten, all at once.
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include "dlv_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dest.h"

#define DLV_IDLE_EPS_MAX 1024

char *dlv_ep_key_dup(const char *endpoint)
{
	struct dest_url u;
	char *k = NULL;
	int n;

	/* an endpoint that is not a URL fails at every attempt anyway; such
	 * endpoints share one record (the URL may hold credentials) */
	if (!endpoint || dest_url_parse(endpoint, &u) != 0)
		return strdup("(invalid URL)");
	if (u.kind == DEST_IPV6)
		n = asprintf(&k, "[%s]:%u", u.name, u.port);
	else
		n = asprintf(&k, "%s:%u", u.name, u.port);
	return n < 0 ? NULL : k;
}

struct ep *dlv_ep_ref(struct dlv *d, const char *key)
{
	struct ep *e = (struct ep *)dlv_table_find(&d->eps, key);

	if (e && e->refs == 0) {
		d->eps_idle--;   /* kept for its open circuit, in use again */
	} else if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e || !(e->node.name = strdup(key))) {
			free(e);
			return NULL;
		}
		dlv_table_add(&d->eps, &e->node);
	}
	e->refs++;
	return e;
}

static void ep_free(struct dlv *d, struct ep *e)
{
	if (e->circuit != CIRCUIT_CLOSED)
		d->circuits_open--;
	dlv_table_remove(&d->eps, &e->node);
	free(e->node.name);
	free(e);
}

void dlv_ep_unref(struct dlv *d, struct ep *e)
{
	if (!e || --e->refs > 0)
		return;
	/* no job of it queued: none in flight, none parked (a probe holds
	 * a reference, so the circuit is closed or open) */
	if (e->circuit == CIRCUIT_CLOSED) {
		ep_free(d, e);
		return;
	}
	if (++d->eps_idle <= DLV_IDLE_EPS_MAX)
		return;
	for (size_t i = 0; i < d->eps.nb; i++) {
		struct dlv_node *n = d->eps.b[i], *next;

		for (; n; n = next) {
			next = n->hnext;
			if (((struct ep *)n)->refs == 0)
				ep_free(d, (struct ep *)n);
		}
	}
	d->eps_idle = 0;
}

static unsigned limit_of(const struct dlv *d)
{
	return d->cfg.max_in_flight_per_endpoint;
}

static void park(struct ep *e, struct corr *c)
{
	c->state = C_PARKED;
	c->qnext = NULL;
	if (e->parked_tail)
		e->parked_tail->qnext = c;
	else
		e->parked_head = c;
	e->parked_tail = c;
}

/* Moves up to n parked correlators of e to the ready queue. */
static void unpark(struct dlv *d, struct ep *e, unsigned long n)
{
	bool any = false;

	for (; n > 0 && e->parked_head; n--) {
		struct corr *c = e->parked_head;

		e->parked_head = c->qnext;
		if (!e->parked_head)
			e->parked_tail = NULL;
		dlv_ready_push(d, c);
		any = true;
	}
	if (any)
		pthread_cond_broadcast(&d->cv);
}

enum admit dlv_ep_admit(struct dlv *d, struct corr *c, int64_t now)
{
	struct job *j = c->head;
	struct ep *e = j->ep;

	if (now >= j->deadline || j->attempts >= d->cfg.max_attempts)
		return ADMIT_GIVE_UP;
	switch (e->circuit) {
	case CIRCUIT_OPEN:
		if (now < e->open_until) {
			/* back when the circuit may be probed, or to expire */
			c->due = j->deadline < e->open_until ? j->deadline : e->open_until;
			if (dlv_timer_insert(d, c))
				pthread_cond_broadcast(&d->cv);   /* sleepers re-arm for it */
			return ADMIT_LATER;
		}
		e->circuit = CIRCUIT_HALF_OPEN;
		e->in_flight++;
		return ADMIT_PROBE;
	case CIRCUIT_HALF_OPEN:
		park(e, c);   /* until the probe ends */
		return ADMIT_LATER;
	case CIRCUIT_CLOSED:
		break;
	}
	if (e->in_flight >= limit_of(d)) {
		park(e, c);
		return ADMIT_LATER;
	}
	e->in_flight++;
	return ADMIT_ATTEMPT;
}

static void circuit_open(struct dlv *d, struct ep *e, int64_t now)
{
	if (e->circuit == CIRCUIT_CLOSED)
		d->circuits_open++;
	e->circuit = CIRCUIT_OPEN;
	e->open_until = now + d->cfg.circuit_open_s * 1000;
	d->circuit_openings++;
}

void dlv_ep_done(struct dlv *d, struct ep *e, enum admit a, bool attempted, bool ok, int64_t now,
		 char *msg, size_t cap)
{
	bool probe = a == ADMIT_PROBE;

	msg[0] = '\0';
	e->in_flight--;
	if (attempted && ok) {
		e->failures = 0;
		if (e->circuit != CIRCUIT_CLOSED) {
			e->circuit = CIRCUIT_CLOSED;
			d->circuits_open--;
			snprintf(msg, cap, "dlv: endpoint %s answers again: circuit closed", e->node.name);
		}
	} else if (attempted) {
		e->failures++;
		if (probe && e->circuit == CIRCUIT_HALF_OPEN) {
			circuit_open(d, e, now);
			snprintf(msg, cap, "dlv: endpoint %s: the probe failed; circuit open again for %ld s",
				 e->node.name, d->cfg.circuit_open_s);
		} else if (e->circuit == CIRCUIT_CLOSED && e->failures >= d->cfg.circuit_failures) {
			circuit_open(d, e, now);
			snprintf(msg, cap, "dlv: endpoint %s: %ld consecutive failed attempts; circuit open, "
				 "no attempt for %ld s", e->node.name, e->failures, d->cfg.circuit_open_s);
		}
	} else if (probe && e->circuit == CIRCUIT_HALF_OPEN) {
		/* the probe expired before it was made: the next one probes */
		e->circuit = CIRCUIT_OPEN;
	}
	switch (e->circuit) {
	case CIRCUIT_OPEN:
		/* they go to the timer list (or expire) when admitted again */
		unpark(d, e, (unsigned long)-1);
		break;
	case CIRCUIT_HALF_OPEN:
		break;   /* a probe is in flight (e was probed again meanwhile) */
	case CIRCUIT_CLOSED:
		if (e->in_flight < limit_of(d))
			unpark(d, e, limit_of(d) - e->in_flight);
		break;
	}
}

size_t dlv_endpoints(struct dlv *d, struct dlv_endpoint_view *out, size_t max, size_t *total)
{
	static const char *const names[] = {
		[CIRCUIT_CLOSED] = "closed", [CIRCUIT_OPEN] = "open", [CIRCUIT_HALF_OPEN] = "half-open"
	};
	size_t n = 0;
	int64_t now = dlv_mono_ms();

	*total = 0;
	if (!d)
		return 0;
	pthread_mutex_lock(&d->mu);
	*total = d->eps.n;
	for (size_t i = 0; i < d->eps.nb && n < max; i++)
		for (const struct dlv_node *nd = d->eps.b[i]; nd && n < max; nd = nd->hnext) {
			const struct ep *e = (const struct ep *)nd;
			struct dlv_endpoint_view *v = &out[n++];

			snprintf(v->endpoint, sizeof(v->endpoint), "%s", e->node.name);
			v->in_flight = e->in_flight;
			v->queued = e->refs;
			v->attempts_failed = e->attempts_failed;
			v->consecutive_failures = e->failures;
			v->circuit = names[e->circuit];
			v->open_for_s = e->circuit == CIRCUIT_OPEN && e->open_until > now ?
					(long)((e->open_until - now + 999) / 1000) : 0;
			memcpy(v->last_error, e->last_error, sizeof(v->last_error));
		}
	pthread_mutex_unlock(&d->mu);
	return n;
}
