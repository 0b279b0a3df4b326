/*
 * held.c - callbacks waiting for a second chance at the outbox (held.h).
 */
#include "held.h"

size_t held_flush(struct held *h, held_send_h *send, void *arg)
{
	while (h->n > 0 && send(arg, &h->a[h->head])) {
		notif_action_release(&h->a[h->head]);
		h->head = (h->head + 1) % HELD_MAX;
		h->n--;
	}
	if (h->n == 0)
		h->head = 0;
	return h->n;
}

bool held_offer(struct held *h, struct notif_action *a, held_send_h *send, void *arg)
{
	if (h->n == 0 && send(arg, a)) {
		notif_action_release(a);
		return true;
	}
	if (h->n == HELD_MAX)
		return false;
	h->a[(h->head + h->n) % HELD_MAX] = *a;
	h->n++;
	return true;
}

void held_clear(struct held *h)
{
	while (h->n > 0) {
		notif_action_release(&h->a[h->head]);
		h->head = (h->head + 1) % HELD_MAX;
		h->n--;
	}
	h->head = 0;
}
