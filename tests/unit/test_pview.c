/*
 * test_pview.c - the published presence view (pview.c): SipHash-2-4
 * against the reference vectors, publishing, updating and withdrawing,
 * full rows, sizing, and readers on other threads while the writer
 * rewrites slots (they must never see another URI's value).
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pview.h"

static const uint8_t SEED[32] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};

static void test_siphash_vectors(void **state)
{
	uint8_t key[16], msg[64];

	(void)state;
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	/* the reference implementation's vectors.h: key 00..0f, message
	 * 00..(len-1); the 15-byte one is the paper's appendix A */
	assert_true(pview_siphash(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
	assert_true(pview_siphash(key, msg, 15) == 0xa129ca6149be45e5ULL);
	/* every length of a block and its tail gives another value */
	for (size_t n = 1; n < 64; n++)
		assert_true(pview_siphash(key, msg, n) != pview_siphash(key, msg, n - 1));
	/* another key, another value */
	key[0] ^= 1;
	assert_true(pview_siphash(key, msg, 15) != 0xa129ca6149be45e5ULL);
}

static void test_sizes(void **state)
{
	struct pview *v;

	(void)state;
	v = pview_new(0, SEED);
	assert_int_equal(pview_slots(v), 64);
	pview_free(v);
	v = pview_new(100, SEED);
	assert_int_equal(pview_slots(v), 128);
	pview_free(v);
	v = pview_new(200000, SEED);
	assert_int_equal(pview_slots(v), 262144);
	pview_free(v);
	v = pview_new((size_t)1 << 30, SEED);
	assert_int_equal(pview_slots(v), (size_t)1 << 22);
	pview_free(v);
	pview_free(NULL);
	assert_int_equal(pview_slots(NULL), 0);
	assert_int_equal(pview_count(NULL), 0);
}

static void test_put_get_del(void **state)
{
	struct pview *v = pview_new(1024, NULL);
	ts_status st = TS_REACHABLE;
	int64_t ms = -1;

	(void)state;
	assert_non_null(v);
	assert_false(pview_get(v, "sip:alice@example.com", &st, &ms));
	assert_true(pview_put(v, "sip:alice@example.com", TS_BUSY, 1764950400123));
	assert_true(pview_put(v, "sip:bob@example.com", TS_UNREACHABLE, 1));
	assert_int_equal(pview_count(v), 2);
	assert_true(pview_get(v, "sip:alice@example.com", &st, &ms));
	assert_int_equal(st, TS_BUSY);
	assert_int_equal(ms, 1764950400123);
	assert_true(pview_get(v, "sip:bob@example.com", &st, &ms));
	assert_int_equal(st, TS_UNREACHABLE);
	assert_int_equal(ms, 1);
	/* a prefix, a longer URI, another case: other keys */
	assert_false(pview_get(v, "sip:alice@example.co", &st, &ms));
	assert_false(pview_get(v, "sip:alice@example.com;user=phone", &st, &ms));
	assert_false(pview_get(v, "sip:Alice@example.com", &st, &ms));
	/* an update keeps the one slot */
	assert_true(pview_put(v, "sip:alice@example.com", TS_REACHABLE, 1764950401000));
	assert_int_equal(pview_count(v), 2);
	assert_true(pview_get(v, "sip:alice@example.com", &st, &ms));
	assert_int_equal(st, TS_REACHABLE);
	assert_int_equal(ms, 1764950401000);
	/* learned_ms out of range reads as 0 (unknown), the status stays */
	assert_true(pview_put(v, "sip:alice@example.com", TS_UNREACHABLE, -5));
	assert_true(pview_get(v, "sip:alice@example.com", &st, &ms));
	assert_int_equal(st, TS_UNREACHABLE);
	assert_int_equal(ms, 0);
	assert_true(pview_put(v, "sip:alice@example.com", TS_BUSY, (int64_t)1 << 42));
	assert_true(pview_get(v, "sip:alice@example.com", &st, &ms));
	assert_int_equal(st, TS_BUSY);
	assert_int_equal(ms, 0);
	assert_true(pview_put(v, "sip:alice@example.com", TS_BUSY, ((int64_t)1 << 42) - 1));
	assert_true(pview_get(v, "sip:alice@example.com", &st, &ms));
	assert_int_equal(ms, ((int64_t)1 << 42) - 1);
	/* not a status */
	assert_false(pview_put(v, "sip:carol@example.com", (ts_status)3, 1));
	assert_false(pview_get(v, "sip:carol@example.com", &st, &ms));
	/* withdrawn */
	pview_del(v, "sip:alice@example.com");
	assert_false(pview_get(v, "sip:alice@example.com", &st, &ms));
	assert_true(pview_get(v, "sip:bob@example.com", &st, &ms));
	assert_int_equal(pview_count(v), 1);
	pview_del(v, "sip:alice@example.com");   /* absent: nothing */
	assert_int_equal(pview_count(v), 1);
	/* published again */
	assert_true(pview_put(v, "sip:alice@example.com", TS_REACHABLE, 7));
	assert_true(pview_get(v, "sip:alice@example.com", &st, &ms));
	assert_int_equal(st, TS_REACHABLE);
	assert_int_equal(ms, 7);
	assert_int_equal(pview_count(v), 2);
	pview_free(v);
}

/* 64 slots (16 rows of 4) and 200 URIs: some rows fill up. Exactly the
 * URIs put successfully are there, each with its own status. */
static void test_full_rows(void **state)
{
	struct pview *v = pview_new(64, SEED);
	bool in[200];
	size_t ok = 0, refused = 0;
	char uri[64];
	ts_status st;
	int64_t ms;

	(void)state;
	for (int i = 0; i < 200; i++) {
		snprintf(uri, sizeof(uri), "sip:u%d@example.com", i);
		in[i] = pview_put(v, uri, (ts_status)(i % 3), 1000 + i);
		if (in[i])
			ok++;
		else
			refused++;
	}
	assert_int_equal(ok, 64);    /* every slot used, no more */
	assert_int_equal(refused, 136);
	assert_int_equal(pview_count(v), 64);
	for (int i = 0; i < 200; i++) {
		snprintf(uri, sizeof(uri), "sip:u%d@example.com", i);
		if (in[i]) {
			assert_true(pview_get(v, uri, &st, &ms));
			assert_int_equal(st, (ts_status)(i % 3));
			assert_int_equal(ms, 1000 + i);
		} else {
			assert_false(pview_get(v, uri, &st, &ms));
		}
	}
	/* withdraw the even ones: their slots take refused URIs of their rows */
	for (int i = 0; i < 200; i += 2) {
		snprintf(uri, sizeof(uri), "sip:u%d@example.com", i);
		pview_del(v, uri);
		in[i] = false;
	}
	for (int i = 1; i < 200; i += 2) {
		snprintf(uri, sizeof(uri), "sip:u%d@example.com", i);
		if (!in[i])
			in[i] = pview_put(v, uri, TS_BUSY, 5);
	}
	ok = 0;
	for (int i = 0; i < 200; i++) {
		snprintf(uri, sizeof(uri), "sip:u%d@example.com", i);
		assert_int_equal(pview_get(v, uri, &st, &ms), in[i]);
		ok += in[i];
	}
	assert_int_equal(pview_count(v), ok);
	assert_true(ok > 32);
	pview_free(v);
}

/* Two choices of row: a view filled to 3/8 publishes every URI (the load
 * of 50,000 subscriptions in the 131,072 slots of the default 100,000),
 * and to 3/4 all but a few, where one choice per URI leaves about a tenth
 * out. */
static void test_two_choices(void **state)
{
	struct pview *v = pview_new(4096, SEED);
	char uri[64];
	size_t ok = 0;

	(void)state;
	for (int i = 0; i < 1536; i++) {
		snprintf(uri, sizeof(uri), "sip:+1555%07d@example.com;user=phone", i);
		ok += pview_put(v, uri, TS_REACHABLE, i);
	}
	assert_int_equal(ok, 1536);
	for (int i = 1536; i < 3072; i++) {
		snprintf(uri, sizeof(uri), "sip:+1555%07d@example.com;user=phone", i);
		ok += pview_put(v, uri, TS_BUSY, i);
	}
	fprintf(stderr, "two choices: %zu of 3072 published in 4096 slots\n", ok);
	assert_true(ok >= 3072 - 3072 / 50);       /* at most 2 % left out */
	assert_int_equal(pview_count(v), ok);
	pview_free(v);
}

/* --- a write between a reader's reads ------------------------------------------------- */

struct swap {
	struct pview *v;
	const char *old_uri, *new_uri;
	int calls;
};

/* the writer's turn, once, in the middle of the reader's first slot read:
 * the old URI withdrawn, the new one published in its slot */
static void swap_hook(void *arg)
{
	struct swap *sw = arg;

	if (sw->calls++ > 0)
		return;
	pview_del(sw->v, sw->old_uri);
	assert_true(pview_put(sw->v, sw->new_uri, TS_UNREACHABLE, 222));
}

/* A reader that read the old URI's word and then the new URI's key must
 * not answer the new URI with the old value: it sees the word changed and
 * reads again. */
static void test_torn_read(void **state)
{
	struct pview *v = pview_new(64, SEED);
	struct swap sw = { .v = v, .old_uri = "sip:old@example.com" };
	char other[64];
	ts_status st;
	int64_t ms;

	(void)state;
	/* a URI of the same row */
	for (int i = 0; !sw.new_uri && i < 10000; i++) {
		snprintf(other, sizeof(other), "sip:new%d@example.com", i);
		if (pview_row(v, other) == pview_row(v, sw.old_uri))
			sw.new_uri = other;
	}
	assert_non_null(sw.new_uri);
	assert_true(pview_put(v, sw.old_uri, TS_BUSY, 111));
	pview_test_hook = swap_hook;
	pview_test_hook_arg = &sw;
	assert_true(pview_get(v, sw.new_uri, &st, &ms));
	pview_test_hook = NULL;
	assert_int_equal(st, TS_UNREACHABLE);
	assert_int_equal(ms, 222);
	assert_int_equal(sw.calls, 2);   /* read twice */
	assert_false(pview_get(v, sw.old_uri, &st, &ms));
	pview_free(v);
}

/* --- readers on other threads ------------------------------------------------------ */

#define RACE_URIS 48           /* 3 per row of a 64-slot view, on average */
#define RACE_ROUNDS 60000
#define RACE_READERS 2

struct race {
	struct pview *v;
	atomic_bool done;
	atomic_int reading;       /* readers past their first read */
	atomic_ulong hits, misses;
	atomic_int wrong;
	char uris[RACE_URIS][40];
};

/* learned_ms encodes the URI and the status it was published with */
static int64_t race_ms(int64_t round, int idx, ts_status st)
{
	return (round << 8) | ((int64_t)idx << 2) | (int64_t)st;
}

static void *race_reader(void *arg)
{
	struct race *r = arg;
	unsigned long hits = 0, misses = 0;
	unsigned x = 12345;
	bool first = true;

	while (first || !atomic_load(&r->done)) {
		ts_status st;
		int64_t ms;
		int idx;

		x = x * 1103515245u + 12345u;
		idx = (int)((x >> 8) % RACE_URIS);
		if (!pview_get(r->v, r->uris[idx], &st, &ms)) {
			misses++;
		} else {
			hits++;
			if (((ms >> 2) & 63) != idx || (ms & 3) != (int64_t)st)
				atomic_fetch_add(&r->wrong, 1);
		}
		if (first) {
			first = false;
			atomic_fetch_add(&r->reading, 1);
		}
	}
	atomic_fetch_add(&r->hits, hits);
	atomic_fetch_add(&r->misses, misses);
	return NULL;
}

static void test_readers_never_see_another_uri(void **state)
{
	struct race r = { 0 };
	pthread_t th[RACE_READERS];
	unsigned x = 777;

	(void)state;
	r.v = pview_new(64, SEED);
	assert_non_null(r.v);
	for (int i = 0; i < RACE_URIS; i++)
		snprintf(r.uris[i], sizeof(r.uris[i]), "sip:race%d@example.com", i);
	for (int i = 0; i < RACE_READERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, race_reader, &r), 0);
	for (int i = 0; i < RACE_URIS; i += 2)
		assert_true(pview_put(r.v, r.uris[i], TS_BUSY, race_ms(0, i, TS_BUSY)) ||
			    pview_count(r.v) > 0);
	while (atomic_load(&r.reading) < RACE_READERS)   /* both read while it writes */
		sched_yield();
	/* the writer: updates, withdrawals and new keys in shared rows */
	for (int64_t round = 1; round <= RACE_ROUNDS; round++) {
		int idx;
		ts_status st;

		x = x * 1103515245u + 12345u;
		idx = (int)((x >> 8) % RACE_URIS);
		st = (ts_status)((x >> 20) % 3);
		if ((x >> 16) % 4 == 0)
			pview_del(r.v, r.uris[idx]);
		else
			(void)pview_put(r.v, r.uris[idx], st, race_ms(round, idx, st));
	}
	atomic_store(&r.done, true);
	for (int i = 0; i < RACE_READERS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_int_equal(atomic_load(&r.wrong), 0);
	assert_true(atomic_load(&r.hits) + atomic_load(&r.misses) >= RACE_READERS);
	/* what is left is exact */
	for (int i = 0; i < RACE_URIS; i++) {
		ts_status st;
		int64_t ms;

		if (pview_get(r.v, r.uris[i], &st, &ms)) {
			assert_int_equal((ms >> 2) & 63, i);
			assert_int_equal(ms & 3, st);
		}
	}
	pview_free(r.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_put_get_del),
		cmocka_unit_test(test_full_rows),
		cmocka_unit_test(test_two_choices),
		cmocka_unit_test(test_torn_read),
		cmocka_unit_test(test_readers_never_see_another_uri),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
