/*
 * dlv_queue.c - the scheduler's structures: the hash tables of names
 * (correlators by "<app>/<correlator>", endpoints by "host:port"), the
 * ready queue and the timer list of correlators waiting for a retry or
 * for their endpoint's circuit. All under d->mu; dlv.c decides.
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include "dlv_int.h"

#include "hash.h"

#include <stdlib.h>
#include <string.h>

static size_t hash_str(const char *s)
{
	return (size_t)hash_add(HASH_INIT, s);
}

int dlv_table_init(struct dlv_table *t)
{
	t->nb = 64;
	t->n = 0;
	t->b = calloc(t->nb, sizeof(*t->b));
	return t->b ? 0 : -1;
}

struct dlv_node *dlv_table_find(const struct dlv_table *t, const char *name)
{
	struct dlv_node *n = t->b[hash_str(name) & (t->nb - 1)];

	while (n && strcmp(n->name, name) != 0)
		n = n->hnext;
	return n;
}

static void table_grow(struct dlv_table *t)
{
	size_t nb = t->nb * 2;
	struct dlv_node **b = calloc(nb, sizeof(*b));

	if (!b)
		return;   /* longer chains, still correct */
	for (size_t i = 0; i < t->nb; i++) {
		struct dlv_node *n = t->b[i], *next;

		for (; n; n = next) {
			size_t k = hash_str(n->name) & (nb - 1);

			next = n->hnext;
			n->hnext = b[k];
			b[k] = n;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

void dlv_table_add(struct dlv_table *t, struct dlv_node *n)
{
	size_t k;

	if (t->n >= t->nb)
		table_grow(t);
	k = hash_str(n->name) & (t->nb - 1);
	n->hnext = t->b[k];
	t->b[k] = n;
	t->n++;
}

void dlv_table_remove(struct dlv_table *t, struct dlv_node *n)
{
	struct dlv_node **pp = &t->b[hash_str(n->name) & (t->nb - 1)];

	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp) {
		*pp = n->hnext;
		t->n--;
	}
}

struct corr *dlv_corr_find(struct dlv *d, const char *name)
{
	return (struct corr *)dlv_table_find(&d->corrs, name);
}

struct corr *dlv_corr_get(struct dlv *d, const char *name)
{
	struct corr *c = dlv_corr_find(d, name);

	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->node.name = strdup(name))) {
		free(c);
		return NULL;
	}
	dlv_table_add(&d->corrs, &c->node);
	return c;
}

void dlv_corr_drop(struct dlv *d, struct corr *c)
{
	dlv_table_remove(&d->corrs, &c->node);
	free(c->node.name);
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

