/*
 * hist.c - latency histograms (hist.h).
 */
#include "hist.h"

#include <time.h>

#include "sbuf.h"

const double hist_bounds[HIST_BOUNDS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
/* the same in microseconds, compared with the observation */
static const int64_t bounds_us[HIST_BOUNDS] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000,
	10000000,
};

int64_t hist_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int hist_bucket(int64_t us)
{
	int k = 0;

	while (k < HIST_BOUNDS && us > bounds_us[k])   /* le: bound included */
		k++;
	return k;
}

void hist_observe(struct hist *h, int64_t us)
{
	if (us < 0)
		us = 0;
	atomic_fetch_add_explicit(&h->n[hist_bucket(us)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, (unsigned long long)us, memory_order_relaxed);
}

void hist_write_head(struct sbuf *b, const char *name, const char *help)
{
	sbuf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
}

void hist_write(struct sbuf *b, const struct hist *h, const char *name, const char *labels)
{
	const char *sep = labels && *labels ? "," : "";
	unsigned long long sum = atomic_load_explicit(&h->sum_us, memory_order_relaxed);
	unsigned long total = 0;

	if (!labels)
		labels = "";
	for (int k = 0; k <= HIST_BOUNDS; k++) {
		total += atomic_load_explicit(&h->n[k], memory_order_relaxed);
		if (k < HIST_BOUNDS)
			sbuf_printf(b, "%s_bucket{%s%sle=\"%g\"} %lu\n", name, labels, sep,
				    hist_bounds[k], total);
		else
			sbuf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %lu\n", name, labels, sep, total);
	}
	sbuf_printf(b, "%s_sum%s%s%s %llu.%06llu\n", name, *labels ? "{" : "", labels,
		    *labels ? "}" : "", sum / 1000000, sum % 1000000);
	sbuf_printf(b, "%s_count%s%s%s %lu\n", name, *labels ? "{" : "", labels,
		    *labels ? "}" : "", total);
}
