/*
 * rate.c - token buckets per application (see rate.h).
 *
 * Tokens are counted in thousandths, so that a bucket of per_s tokens
 * refills by exactly per_s thousandths per millisecond and no rate loses
 * precision. The table is allocated once (RATE_MAX_KEYS entries, chained
 * hash, and a list from the least to the most recently used entry); a new
 * key when it is full takes the least recently used entry.
 */
#include "rate.h"

#include "hash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RATE_BUCKETS 32768          /* a power of two, above RATE_MAX_KEYS */

struct entry {
	char key[RATE_KEY_MAX];
	int64_t milli;              /* tokens x 1000 */
	int64_t last_ms;            /* when milli was last brought up to date */
	struct entry *hnext;        /* hash chain */
	struct entry *older, *newer;
};

struct rate {
	pthread_mutex_t mu;
	int64_t per_s;
	int64_t cap_milli;          /* one second's worth */
	struct entry *buckets[RATE_BUCKETS];
	struct entry *oldest, *newest;
	size_t n;
	struct entry e[RATE_MAX_KEYS];
};

static size_t hash_key(const char *k)
{
	return (size_t)(hash_add(HASH_INIT, k) & (RATE_BUCKETS - 1));
}

static struct rate *rate_alloc(long per_s)
{
	struct rate *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	pthread_mutex_init(&r->mu, NULL);
	r->per_s = per_s;
	r->cap_milli = (int64_t)per_s * 1000;
	return r;
}

struct rate *rate_new(long per_s)
{
	if (per_s <= 0 || per_s > RATE_MAX_PER_S)
		return NULL;
	return rate_alloc(per_s);
}

struct rate *rate_new_settable(long per_s)
{
	if (per_s < 0 || per_s > RATE_MAX_PER_S)
		return NULL;
	return rate_alloc(per_s);
}

int rate_set_per_s(struct rate *r, long per_s)
{
	if (!r || per_s < 0 || per_s > RATE_MAX_PER_S)
		return -1;
	pthread_mutex_lock(&r->mu);
	r->per_s = per_s;
	r->cap_milli = (int64_t)per_s * 1000;
	/* a bucket holds at most the new second's worth */
	for (size_t i = 0; i < r->n; i++)
		if (r->e[i].milli > r->cap_milli)
			r->e[i].milli = r->cap_milli;
	pthread_mutex_unlock(&r->mu);
	return 0;
}

void rate_free(struct rate *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static void unlink_lru(struct rate *r, struct entry *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		r->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		r->newest = e->older;
	e->older = e->newer = NULL;
}

static void push_newest(struct rate *r, struct entry *e)
{
	e->older = r->newest;
	e->newer = NULL;
	if (r->newest)
		r->newest->newer = e;
	else
		r->oldest = e;
	r->newest = e;
}

static void unlink_hash(struct rate *r, struct entry *e)
{
	struct entry **pp = &r->buckets[hash_key(e->key)];

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	e->hnext = NULL;
}

/* key's entry, made (full) when it is new. Under r->mu. */
static struct entry *lookup(struct rate *r, const char *key, int64_t now_ms)
{
	char k[RATE_KEY_MAX];
	size_t h;
	struct entry *e;

	strncpy(k, key, sizeof(k) - 1);
	k[sizeof(k) - 1] = '\0';
	h = hash_key(k);
	for (e = r->buckets[h]; e; e = e->hnext)
		if (strcmp(e->key, k) == 0) {
			unlink_lru(r, e);
			push_newest(r, e);
			return e;
		}
	if (r->n < RATE_MAX_KEYS) {
		e = &r->e[r->n++];
	} else {
		e = r->oldest;
		unlink_lru(r, e);
		unlink_hash(r, e);
	}
	memcpy(e->key, k, sizeof(k));
	e->milli = r->cap_milli;
	e->last_ms = now_ms;
	e->hnext = r->buckets[h];
	r->buckets[h] = e;
	push_newest(r, e);
	return e;
}

bool rate_take(struct rate *r, const char *key, int64_t now_ms)
{
	struct entry *e;
	bool ok;

	if (!r)
		return true;
	pthread_mutex_lock(&r->mu);
	if (r->per_s == 0) {   /* rate_set_per_s(r, 0): no limit for now */
		pthread_mutex_unlock(&r->mu);
		return true;
	}
	e = lookup(r, key ? key : "", now_ms);
	if (now_ms > e->last_ms) {
		int64_t dt = now_ms - e->last_ms;

		/* a long pause fills the bucket; no overflow for any dt */
		if (dt >= 1000 || e->milli + dt * r->per_s >= r->cap_milli)
			e->milli = r->cap_milli;
		else
			e->milli += dt * r->per_s;
		e->last_ms = now_ms;
	}
	ok = e->milli >= 1000;
	if (ok)
		e->milli -= 1000;
	pthread_mutex_unlock(&r->mu);
	return ok;
}
