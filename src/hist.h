/*
 * hist.h - a latency histogram for /metrics (Prometheus text format,
 * seconds), updated lock-free: each observation is two atomic additions,
 * from any thread; a reader sees every bucket (each exact, the set not
 * necessarily one instant's: _count is the sum of the buckets it wrote).
 */
#ifndef PXTSGW_HIST_H
#define PXTSGW_HIST_H

#include <stdatomic.h>
#include <stdint.h>

struct sbuf;

/* Upper bounds of the buckets, in seconds: 1 ms .. 10 s, then +Inf. */
#define HIST_BOUNDS 13
extern const double hist_bounds[HIST_BOUNDS];

struct hist {
	atomic_ulong n[HIST_BOUNDS + 1];   /* per bucket, not cumulative; last: above */
	atomic_ullong sum_us;
};
/* A zeroed struct hist is an empty one (static, calloc or memset). */

/* Microseconds of the monotonic clock. */
int64_t hist_now_us(void);
/* Counts one observation of us microseconds (< 0 counts as 0). */
void hist_observe(struct hist *h, int64_t us);
/* The bucket an observation of us falls into: 0..HIST_BOUNDS. */
int hist_bucket(int64_t us);
/* Writes "# HELP" and "# TYPE name histogram". */
void hist_write_head(struct sbuf *b, const char *name, const char *help);
/* Writes h's series: name_bucket{labels,le="..."} (cumulative, +Inf
 * last), name_sum, name_count; labels is "" or like `operation="x"`. */
void hist_write(struct sbuf *b, const struct hist *h, const char *name, const char *labels);

#endif
