/*
 * dlv_queue.c - the scheduler's structures: correlators in a hash table
 * (by "<app>/<correlator>"), the ready queue and the timer list of
 * correlators waiting for a retry. All under d->mu; dlv.c decides.
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include "dlv_int.h"

#include <stdlib.h>
#include <string.h>

static size_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

struct corr *dlv_corr_find(struct dlv *d, const char *name)
{
	struct corr *c = d->buckets[hash_str(name) & (d->nbuckets - 1)];

	while (c && strcmp(c->name, name) != 0)
		c = c->hnext;
	return c;
}

static void corr_grow(struct dlv *d)
{
	size_t n = d->nbuckets * 2;
	struct corr **b = calloc(n, sizeof(*b));

	if (!b)
		return;   /* longer chains, still correct */
	for (size_t i = 0; i < d->nbuckets; i++) {
		struct corr *c = d->buckets[i], *next;

		for (; c; c = next) {
			size_t k = hash_str(c->name) & (n - 1);

			next = c->hnext;
			c->hnext = b[k];
			b[k] = c;
		}
	}
	free(d->buckets);
	d->buckets = b;
	d->nbuckets = n;
}

struct corr *dlv_corr_get(struct dlv *d, const char *name)
{
	struct corr *c = dlv_corr_find(d, name);
	size_t k;

	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->name = strdup(name))) {
		free(c);
		return NULL;
	}
	if (d->ncorr >= d->nbuckets)
		corr_grow(d);
	k = hash_str(name) & (d->nbuckets - 1);
	c->hnext = d->buckets[k];
	d->buckets[k] = c;
	d->ncorr++;
	return c;
}

void dlv_corr_drop(struct dlv *d, struct corr *c)
{
	struct corr **pp = &d->buckets[hash_str(c->name) & (d->nbuckets - 1)];

	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp) {
		*pp = c->hnext;
		d->ncorr--;
	}
	free(c->name);
	free(c);
}

void dlv_ready_push(struct dlv *d, struct corr *c)
{
	c->state = C_READY;
	c->qnext = NULL;
	if (d->ready_tail)
		d->ready_tail->qnext = c;
	else
		d->ready_head = c;
	d->ready_tail = c;
}

struct corr *dlv_ready_pop(struct dlv *d)
{
	struct corr *c = d->ready_head;

	if (c) {
		d->ready_head = c->qnext;
		if (!d->ready_head)
			d->ready_tail = NULL;
		c->qnext = NULL;
	}
	return c;
}

bool dlv_timer_insert(struct dlv *d, struct corr *c)
{
	struct corr **pp = &d->timers;

	c->state = C_WAITING;
	while (*pp && (*pp)->due <= c->due)
		pp = &(*pp)->qnext;
	c->qnext = *pp;
	*pp = c;
	return d->timers == c;
}

void dlv_timers_promote(struct dlv *d, int64_t now)
{
	while (d->timers && d->timers->due <= now) {
		struct corr *c = d->timers;

		d->timers = c->qnext;
		dlv_ready_push(d, c);
	}
}

