/*
 * recent.c - a ring of the last RECENT_MAX warn and error log lines.
 *
 * The slot of event n is n % RECENT_MAX. A writer takes its slot's lock
 * with pthread_mutex_trylock and leaves the line out when it is held (a
 * reader copying that slot, or a writer RECENT_MAX lines ahead), so the
 * logging thread, the SIP thread among them, never waits on /status.
 */
#include "recent.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	pthread_mutex_t mu;
	struct recent_event ev;
};

static struct slot ring[RECENT_MAX] = {
#define S { .mu = PTHREAD_MUTEX_INITIALIZER }
	S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,
	S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,
#undef S
};
_Static_assert(RECENT_MAX == 32, "ring's initializer");

static atomic_ulong next_seq;
static atomic_ulong dropped_lines;

void recent_add(int level, const char *text)
{
	unsigned long seq = atomic_fetch_add(&next_seq, 1) + 1;
	struct slot *s = &ring[seq % RECENT_MAX];
	size_t n = strlen(text);

	if (n && text[n - 1] == '\n')
		n--;
	if (n >= RECENT_TEXT_MAX)
		n = RECENT_TEXT_MAX - 1;
	if (pthread_mutex_trylock(&s->mu) != 0) {
		atomic_fetch_add(&dropped_lines, 1);
		return;
	}
	if (s->ev.seq < seq) {      /* a later line may have got here first */
		s->ev.seq = seq;
		s->ev.when = time(NULL);
		s->ev.level = level;
		memcpy(s->ev.text, text, n);
		s->ev.text[n] = '\0';
	}
	pthread_mutex_unlock(&s->mu);
}

static int newest_first(const void *a, const void *b)
{
	unsigned long x = ((const struct recent_event *)a)->seq;
	unsigned long y = ((const struct recent_event *)b)->seq;

	return x < y ? 1 : x > y ? -1 : 0;
}

size_t recent_copy(struct recent_event *out, size_t max, unsigned long *dropped)
{
	struct recent_event all[RECENT_MAX];
	size_t n = 0;

	for (size_t i = 0; i < RECENT_MAX; i++) {
		pthread_mutex_lock(&ring[i].mu);
		if (ring[i].ev.seq)
			all[n++] = ring[i].ev;
		pthread_mutex_unlock(&ring[i].mu);
	}
	qsort(all, n, sizeof(all[0]), newest_first);
	if (n > max)
		n = max;
	if (n)
		memcpy(out, all, n * sizeof(all[0]));
	if (dropped)
		*dropped = atomic_load(&dropped_lines);
	return n;
}

void recent_clear(void)
{
	for (size_t i = 0; i < RECENT_MAX; i++) {
		pthread_mutex_lock(&ring[i].mu);
		memset(&ring[i].ev, 0, sizeof(ring[i].ev));
		pthread_mutex_unlock(&ring[i].mu);
	}
	atomic_store(&dropped_lines, 0);
}
