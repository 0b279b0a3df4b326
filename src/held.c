/*
 * held.c - callbacks waiting for a second chance at the outbox (held.h).
 */
#include "held.h"

#include <stdlib.h>

static void ring_free(struct held *h)
{
	free(h->a);
	h->a = NULL;
	h->head = h->n = h->cap = 0;
}

size_t held_flush(struct held *h, held_send_h *send, void *arg)
{
	while (h->n > 0 && send(arg, &h->a[h->head])) {
		notif_action_release(&h->a[h->head]);
		h->head = (h->head + 1) % h->cap;
		h->n--;
	}
	if (h->n == 0)
		ring_free(h);
	return h->n;
}

/* Room for one more: the ring doubled (up to HELD_MAX), oldest first. */
static bool grow(struct held *h)
{
	size_t cap = h->cap ? h->cap * 2 : 8;
	struct notif_action *a;

	if (h->n < h->cap)
		return true;
	if (h->cap >= HELD_MAX)
		return false;
	if (cap > HELD_MAX)
		cap = HELD_MAX;
	a = malloc(cap * sizeof(*a));
	if (!a)
		return false;
	for (size_t i = 0; i < h->n; i++)
		a[i] = h->a[(h->head + i) % h->cap];
	free(h->a);
	h->a = a;
	h->head = 0;
	h->cap = cap;
	return true;
}

bool held_offer(struct held *h, struct notif_action *a, held_send_h *send, void *arg)
{
	if (h->n == 0 && send(arg, a)) {
		notif_action_release(a);
		return true;
	}
	if (!grow(h))
		return false;
	h->a[(h->head + h->n) % h->cap] = *a;
	h->n++;
	return true;
}

void held_clear(struct held *h)
{
	while (h->n > 0) {
		notif_action_release(&h->a[h->head]);
		h->head = (h->head + 1) % h->cap;
		h->n--;
	}
	ring_free(h);
}
