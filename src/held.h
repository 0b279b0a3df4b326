/*
 * held.h - the callbacks of one notification that could not be queued for
 * delivery yet (issue: no silent loss). When dlv_enqueue fails (the
 * outbox write failed, memory short), the notification manager keeps the
 * callback here, in order, and tries again later; later callbacks of the
 * same notification wait behind it, so the order holds. The queue is
 * bounded: when it is full the notification cannot go on and ends (the
 * caller decides how).
 *
 * Pure logic, one owner (the SIP thread in nm.c); the send function is the
 * caller's.
 */
#ifndef PXTSGW_HELD_H
#define PXTSGW_HELD_H

#include <stdbool.h>
#include <stddef.h>

#include "notif.h"

#define HELD_MAX 256

/* Empty (all zero) costs nothing: the ring is allocated at the first
 * callback held, grown up to HELD_MAX, and freed when it empties. */
struct held {
	struct notif_action *a;   /* a ring of cap, oldest at head */
	size_t head, n, cap;
};

/* true when the action went out (queued for delivery). */
typedef bool (held_send_h)(void *arg, const struct notif_action *a);

/* Sends the held actions oldest first until one fails; each sent one is
 * released. Returns the number still held. */
size_t held_flush(struct held *h, held_send_h *send, void *arg);

/* One new action a (its entries are taken over): sent at once when
 * nothing is held and send succeeds (then released), else held behind the
 * others. Returns false when HELD_MAX are held already (or memory is
 * short): a is left to the caller (not released, not held). */
bool held_offer(struct held *h, struct notif_action *a, held_send_h *send, void *arg);

/* Releases every held action and the ring. */
void held_clear(struct held *h);

#endif
