/*
 * pview.h - the published presence view: the exact status of every
 * watched presentity, written by the thread that owns the subscriptions
 * (the SIP thread) and read by any thread without a lock.
 *
 * A getStatus of a watched presentity is answered on the HTTP thread from
 * this view (contract section 7: a confirmed subscription's NOTIFYs keep
 * its status exact), with no message to the SIP thread. What the view
 * does not hold (never published, a row full, a write under way) is a
 * miss, and a miss only costs the old way: the SIP thread answers.
 *
 * DESIGN
 * - A fixed table of slots in rows of PVIEW_WAYS: a URI may live in one
 *   of two rows (chosen by its two hashes; it goes to the emptier one), so
 *   nothing ever moves and a delete is a store. A URI whose two rows are
 *   full is not published. With two choices the rows fill evenly: with as
 *   many URIs as slots * 0.76, 0.8 % find both rows full (one row each:
 *   11 %); at 0.38, none.
 * - A slot is three 64-bit atomics: the URI's key (two SipHash-2-4 values
 *   of the URI under two random per-process keys: 128 bits that a client
 *   cannot aim at another presentity's slot) and a word holding the
 *   status, when it was learned and a change counter.
 * - One writer. A reader reads word, key, word (a seqlock with the counter
 *   in the word): equal words and a matching key give a consistent
 *   answer; anything else is a miss.
 * - Memory: capacity slots of 24 bytes, calloc'd; pages never written are
 *   never resident.
 */
#ifndef PXTSGW_PVIEW_H
#define PXTSGW_PVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ts.h"

#define PVIEW_WAYS 4

struct pview;

/* A view of at least slots slots (rounded up to a power of two, at least
 * 64, at most 2^22). seed NULL: random keys; else 32 bytes of keys (tests).
 * NULL when out of memory. */
struct pview *pview_new(size_t slots, const uint8_t *seed);
void pview_free(struct pview *v);
size_t pview_slots(const struct pview *v);

/* Writer only. Publishes uri's status (learned_ms: wall clock, ms since
 * the epoch, 0 to 2^42). false when uri's row is full (not published). */
bool pview_put(struct pview *v, const char *uri, ts_status st, int64_t learned_ms);
/* Writer only. uri is no longer exact: withdrawn (nothing if absent). */
void pview_del(struct pview *v, const char *uri);
/* Writer only: entries published now. */
size_t pview_count(const struct pview *v);

/* Any thread. true with uri's status when published. */
bool pview_get(const struct pview *v, const char *uri, ts_status *st, int64_t *learned_ms);

/* Tests only: the row uri falls in, and a hook pview_get calls between
 * its first read of a slot's word and its read of the key (where a writer
 * may rewrite the slot); NULL in the gateway. */
size_t pview_row(const struct pview *v, const char *uri);
extern void (*pview_test_hook)(void *arg);
extern void *pview_test_hook_arg;

/* SipHash-2-4 of len bytes under a 16-byte key (for the tests' vectors). */
uint64_t pview_siphash(const uint8_t key[16], const void *data, size_t len);

#endif
