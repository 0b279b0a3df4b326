/*
 * rate.h - per-application request rates (policy.max-requests-per-s,
 * contract section 11): a token bucket per application, filled at the
 * configured rate and holding at most one second's worth (the burst). A
 * request takes one token; with none left it is refused.
 *
 * Keys are application names (the users file's names, "" for the
 * anonymous application), so their number is bounded by the users file;
 * the table still has a cap (RATE_MAX_KEYS): once full, the least recently
 * seen application's bucket is reused (it starts full again).
 *
 * Thread safety: rate_take may be called from any number of threads; one
 * mutex, held for a table lookup and a few additions only.
 *
 * Clock: now_ms is milliseconds of a monotonic clock of the caller's choice
 * (the same one on every call), so tests can drive it.
 */
#ifndef PXTSGW_RATE_H
#define PXTSGW_RATE_H

#include <stdbool.h>
#include <stdint.h>

#define RATE_MAX_KEYS 16384
#define RATE_KEY_MAX 128          /* a key is cut to this minus 1 bytes */
#define RATE_MAX_PER_S 1000000

struct rate;

/* A limiter of per_s requests per second per key (1..RATE_MAX_PER_S);
 * NULL when per_s is 0 (no limit) or out of range, or memory is short.
 * rate_take(NULL, ...) admits everything. */
struct rate *rate_new(long per_s);
void rate_free(struct rate *r);   /* NULL is fine */

/* A limiter whose rate a reload may change: per_s 0..RATE_MAX_PER_S, 0
 * admitting everything for now. NULL when out of range or memory is
 * short. */
struct rate *rate_new_settable(long per_s);

/* Changes the rate (0: no limit) of every bucket from now on; a bucket
 * holding more than the new second's worth is cut to it. Any thread.
 * Returns 0, or -1 when per_s is out of range. */
int rate_set_per_s(struct rate *r, long per_s);

/* Takes a token of key's bucket: true when the request is admitted. */
bool rate_take(struct rate *r, const char *key, int64_t now_ms);

#endif
