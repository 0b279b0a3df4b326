/*
 * pub.c - an object published for many readers, replaced under them
 * (pub.h). Each published object has a node with its reader count; the
 * publication holds one reference of the current node.
 */
#include "pub.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct pub_ref {
	atomic_long refs;
	void *obj;
	pub_drop_h *drop;
};

struct pub {
	pthread_mutex_t mu;
	struct pub_ref *cur;
	pub_drop_h *drop;
};

static struct pub_ref *node_new(void *obj, pub_drop_h *drop)
{
	struct pub_ref *n = malloc(sizeof(*n));

	if (!n)
		return NULL;
	atomic_init(&n->refs, 1);
	n->obj = obj;
	n->drop = drop;
	return n;
}

struct pub *pub_new(void *obj, pub_drop_h *drop)
{
	struct pub *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->drop = drop;
	p->cur = node_new(obj, drop);
	if (!p->cur) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	return p;
}

void pub_put(struct pub_ref *ref)
{
	if (!ref)
		return;
	/* acq_rel: the last one sees every reader's accesses before it drops */
	if (atomic_fetch_sub_explicit(&ref->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (ref->drop && ref->obj)
		ref->drop(ref->obj);
	free(ref);
}

void pub_free(struct pub *p)
{
	if (!p)
		return;
	pub_put(p->cur);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

void *pub_get(struct pub *p, struct pub_ref **ref)
{
	struct pub_ref *n;

	pthread_mutex_lock(&p->mu);
	n = p->cur;
	atomic_fetch_add_explicit(&n->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&p->mu);
	*ref = n;
	return n->obj;
}

int pub_set(struct pub *p, void *obj)
{
	struct pub_ref *n = node_new(obj, p->drop), *old;

	if (!n)
		return -1;
	pthread_mutex_lock(&p->mu);
	old = p->cur;
	p->cur = n;
	pthread_mutex_unlock(&p->mu);
	pub_put(old);
	return 0;
}
