/*
 * pview.c - the published presence view (see pview.h for the design).
 *
 * A slot's word: bits 0-1 the status + 1 (0: empty), bits 2-21 a change
 * counter, bits 22-63 learned_ms. Every store to a word changes its
 * counter, so a reader that reads the same word before and after the key
 * read a key and a value that belong together (the C11 seqlock with
 * fences: Boehm, "Can seqlocks get along with programming language memory
 * models?", 2012).
 */
#include "pview.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define PVIEW_MIN_SLOTS 64
#define PVIEW_MAX_SLOTS ((size_t)1 << 22)
#define CTR_SHIFT 2
#define CTR_BITS 20
#define CTR_MASK ((((uint64_t)1 << CTR_BITS) - 1) << CTR_SHIFT)
#define MS_SHIFT (CTR_SHIFT + CTR_BITS)
#define MS_MAX (((int64_t)1 << (64 - MS_SHIFT)) - 1)
#define READ_TRIES 4

void (*pview_test_hook)(void *arg);
void *pview_test_hook_arg;

struct slot {
	_Atomic uint64_t word;
	_Atomic uint64_t k1, k2;
};

struct pview {
	struct slot *slots;
	size_t rows_mask;          /* rows - 1 */
	size_t nslots;
	uint8_t key1[16], key2[16];
	atomic_size_t count;
};

/* --- SipHash-2-4 (Aumasson, Bernstein 2012) ------------------------------------- */

static inline uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static inline uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#define SIPROUND                                                                   \
	do {                                                                       \
		v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);          \
		v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                             \
		v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                             \
		v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);          \
	} while (0)

uint64_t pview_siphash(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
	uint64_t b = (uint64_t)len << 56, m;
	size_t left = len & 7;

	for (const uint8_t *end = p + (len - left); p < end; p += 8) {
		m = le64(p);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t i = 0; i < left; i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* --- the table ---------------------------------------------------------------------- */

struct pview *pview_new(size_t slots, const uint8_t *seed)
{
	struct pview *v = calloc(1, sizeof(*v));
	size_t n = PVIEW_MIN_SLOTS;

	if (!v)
		return NULL;
	while (n < slots && n < PVIEW_MAX_SLOTS)
		n <<= 1;
	v->slots = calloc(n, sizeof(*v->slots));
	if (!v->slots) {
		free(v);
		return NULL;
	}
	v->nslots = n;
	v->rows_mask = n / PVIEW_WAYS - 1;
	if (seed) {
		memcpy(v->key1, seed, 16);
		memcpy(v->key2, seed + 16, 16);
	} else {
		uint8_t k[32];

		if (getrandom(k, sizeof(k), 0) != (ssize_t)sizeof(k)) {
			free(v->slots);
			free(v);
			return NULL;
		}
		memcpy(v->key1, k, 16);
		memcpy(v->key2, k + 16, 16);
	}
	return v;
}

void pview_free(struct pview *v)
{
	if (!v)
		return;
	free(v->slots);
	free(v);
}

size_t pview_slots(const struct pview *v)
{
	return v ? v->nslots : 0;
}

size_t pview_count(const struct pview *v)
{
	return v ? atomic_load(&((struct pview *)v)->count) : 0;
}

/* uri's key and its two rows (the same one when both choices meet) */
static void rows_of(const struct pview *v, const char *uri, uint64_t *k1, uint64_t *k2,
		    struct slot **r1, struct slot **r2)
{
	size_t len = strlen(uri);

	*k1 = pview_siphash(v->key1, uri, len);
	*k2 = pview_siphash(v->key2, uri, len);
	*r1 = &v->slots[(*k1 & v->rows_mask) * PVIEW_WAYS];
	*r2 = &v->slots[(*k2 & v->rows_mask) * PVIEW_WAYS];
}

size_t pview_row(const struct pview *v, const char *uri)
{
	uint64_t k1, k2;
	struct slot *r1, *r2;

	rows_of(v, uri, &k1, &k2, &r1, &r2);
	return (size_t)(r1 - v->slots) / PVIEW_WAYS;
}

static inline bool occupied(uint64_t w)
{
	return (w & 3) != 0;
}

static inline uint64_t next_word(uint64_t old, uint64_t status_bits, uint64_t ms)
{
	uint64_t ctr = ((old & CTR_MASK) + ((uint64_t)1 << CTR_SHIFT)) & CTR_MASK;

	return (ms << MS_SHIFT) | ctr | status_bits;
}

/* The writer's slot of (k1, k2) in row, or NULL. */
static struct slot *find_in(struct slot *row, uint64_t k1, uint64_t k2)
{
	for (int i = 0; i < PVIEW_WAYS; i++) {
		struct slot *s = &row[i];

		if (occupied(atomic_load_explicit(&s->word, memory_order_relaxed)) &&
		    atomic_load_explicit(&s->k1, memory_order_relaxed) == k1 &&
		    atomic_load_explicit(&s->k2, memory_order_relaxed) == k2)
			return s;
	}
	return NULL;
}

static struct slot *find(struct slot *r1, struct slot *r2, uint64_t k1, uint64_t k2)
{
	struct slot *s = find_in(r1, k1, k2);

	return s || r2 == r1 ? s : find_in(r2, k1, k2);
}

/* The writer's free slots of row: how many, and the first. */
static int free_in(struct slot *row, struct slot **first)
{
	int n = 0;

	*first = NULL;
	for (int i = 0; i < PVIEW_WAYS; i++)
		if (!occupied(atomic_load_explicit(&row[i].word, memory_order_relaxed)) && n++ == 0)
			*first = &row[i];
	return n;
}

bool pview_put(struct pview *v, const char *uri, ts_status st, int64_t learned_ms)
{
	uint64_t k1, k2, old;
	struct slot *r1, *r2, *s;

	if (!v || !uri || (unsigned)st > TS_BUSY)
		return false;
	if (learned_ms < 0 || learned_ms > MS_MAX)
		learned_ms = 0;
	rows_of(v, uri, &k1, &k2, &r1, &r2);
	s = find(r1, r2, k1, k2);
	if (!s) {
		struct slot *f1, *f2;
		int n1 = free_in(r1, &f1), n2 = r2 == r1 ? 0 : free_in(r2, &f2);

		/* the emptier of its two rows ("two choices": rows fill evenly) */
		s = n2 > n1 ? f2 : f1;
		if (!s)
			return false;
		/* the slot's last store (empty) is ordered before the new key */
		atomic_thread_fence(memory_order_release);
		atomic_store_explicit(&s->k1, k1, memory_order_relaxed);
		atomic_store_explicit(&s->k2, k2, memory_order_relaxed);
		atomic_fetch_add(&v->count, 1);
	}
	old = atomic_load_explicit(&s->word, memory_order_relaxed);
	atomic_store_explicit(&s->word, next_word(old, (uint64_t)st + 1, (uint64_t)learned_ms),
			      memory_order_release);
	return true;
}

void pview_del(struct pview *v, const char *uri)
{
	uint64_t k1, k2, old;
	struct slot *r1, *r2, *s;

	if (!v || !uri)
		return;
	rows_of(v, uri, &k1, &k2, &r1, &r2);
	s = find(r1, r2, k1, k2);
	if (!s)
		return;
	old = atomic_load_explicit(&s->word, memory_order_relaxed);
	atomic_store_explicit(&s->word, next_word(old, 0, 0), memory_order_relaxed);
	/* a reader that sees a later key sees this store (or a later one) */
	atomic_thread_fence(memory_order_release);
	atomic_fetch_sub(&v->count, 1);
}

bool pview_get(const struct pview *v, const char *uri, ts_status *st, int64_t *learned_ms)
{
	uint64_t k1, k2;
	struct slot *r1, *r2;

	if (!v || !uri)
		return false;
	rows_of(v, uri, &k1, &k2, &r1, &r2);
	for (int t = 0; t < READ_TRIES; t++) {
		bool torn = false;

		for (int i = 0; i < 2 * PVIEW_WAYS; i++) {
			struct slot *s = i < PVIEW_WAYS ? &r1[i] : &r2[i - PVIEW_WAYS];
			uint64_t w1, w2, a, b;

			if (i == PVIEW_WAYS && r2 == r1)
				break;
			w1 = atomic_load_explicit(&s->word, memory_order_acquire);
			if (!occupied(w1))
				continue;
			if (pview_test_hook)
				pview_test_hook(pview_test_hook_arg);
			a = atomic_load_explicit(&s->k1, memory_order_relaxed);
			b = atomic_load_explicit(&s->k2, memory_order_relaxed);
			atomic_thread_fence(memory_order_acquire);
			w2 = atomic_load_explicit(&s->word, memory_order_relaxed);
			if (w1 != w2) {
				torn = true;
				continue;
			}
			if (a == k1 && b == k2) {
				*st = (ts_status)((w1 & 3) - 1);
				*learned_ms = (int64_t)(w1 >> MS_SHIFT);
				return true;
			}
		}
		if (!torn)
			return false;
	}
	return false;
}
