/*
 * dlv_drive.c - drives the delivery module (dlv) for real, without SIP:
 * reads commands on stdin, enqueues callbacks, waits for them and prints
 * the tracking records. Built and used by tests/integration/test_delivery.sh.
 *
 *   dlv_drive STORE [workers=N] [attempts=N] [backoff=MS] [backoff_max=MS] [timeout=MS]
 *             [max_age=S] [retention=S] [allow=LIST] [nostore] [stamp]
 *             [max_in_flight=N] [circuit_failures=N] [circuit_open=S]
 *
 * allow=LIST is delivery.allowed-endpoints (default 127.0.0.0/8: the
 * sinks of the tests listen there; allow= alone: none).
 *
 * stamp: every "enqueued" line ends with the wall clock when dlv_enqueue
 * returned, in ms with a fraction (for latencies measured at a sink).
 *
 * The store is opened (and its outbox resumed by dlv_start) unless
 * nostore: then dlv runs without a store (metrics only; json still reads
 * the store file).
 *
 * Commands, one per line (# starts a comment):
 *   notify CORR URL ADDR=STATUS...     statusNotification (STATUS Reachable|Unreachable|Busy)
 *   changed CORR URL ADDR=STATUS       statusChanged
 *   error CORR URL ADDR|- MSGID [VAR...] statusError
 *   end CORR URL                       statusEnd
 *   mark                               restart the clock
 *   wait CORR [TIMEOUT_MS]             until nothing of CORR is queued or in flight
 *                                      (then dlv_flush: its records are committed)
 *   health CORR | json CORR | metrics | sleep MS | pruned MS
 *   visible CORR N [TIMEOUT_MS]        until CORR has N tracking records in the store
 *   outbox                             the number of rows in the outbox
 *   forget CORR                        dlv_forget
 *   bench CORR URL N                   N statusNotifications, wait, time them
 * Output lines: "enqueued CORR ID", "waited CORR MS delivered=.. failed=..
 * attempts_failed=.. queued=..", "json CORR [...]", "visible CORR MS" (or
 * "invisible CORR MS COUNT"), "outbox N", "bench N MS ENQUEUE_MS" (all, and
 * the enqueue loop alone), and at the end "stopped MS" (how long dlv_stop
 * took).
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "TerminalStatusBinding.nsmap"

#include "dest.h"
#include "dlv.h"
#include "fault.h"
#include "log.h"
#include "store.h"

#define MAX_TOK 64

static struct timespec t0;
static bool stamp;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long since_mark(void)
{
	return now_ms() - ((long long)t0.tv_sec * 1000 + t0.tv_nsec / 1000000);
}

static int parse_status(const char *s, ts_status *st)
{
	if (strcmp(s, "Reachable") == 0)
		*st = TS_REACHABLE;
	else if (strcmp(s, "Unreachable") == 0)
		*st = TS_UNREACHABLE;
	else if (strcmp(s, "Busy") == 0)
		*st = TS_BUSY;
	else
		return -1;
	return 0;
}

/* ADDR=STATUS tokens into entries (pointing into the tokens). */
static int parse_entries(char **tok, int n, struct dlv_status *e)
{
	for (int i = 0; i < n; i++) {
		char *eq = strrchr(tok[i], '=');

		if (!eq || parse_status(eq + 1, &e[i].status) != 0)
			return -1;
		*eq = '\0';
		e[i].address = tok[i];
	}
	return 0;
}

static void enqueued(struct dlv *d, const struct dlv_item *it)
{
	uint64_t id = dlv_enqueue(d, it);

	if (stamp) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		printf("enqueued %s %llu %lld.%03ld\n", it->correlator, (unsigned long long)id,
		       (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, (ts.tv_nsec / 1000) % 1000);
	} else {
		printf("enqueued %s %llu\n", it->correlator, (unsigned long long)id);
	}
	fflush(stdout);
}

static void print_health(const char *what, const char *corr, const struct dlv_health *h)
{
	printf("%s %s %lld delivered=%lu failed=%lu attempts_failed=%lu queued=%lu last_error=%s\n",
	       what, corr, since_mark(), h->delivered, h->failed, h->attempts_failed, h->queued,
	       h->last_error);
	fflush(stdout);
}

static int wait_corr(struct dlv *d, const char *corr, long timeout_ms)
{
	struct dlv_health h;
	long long end = now_ms() + timeout_ms;
	struct timespec nap = { 0, 2 * 1000 * 1000 };

	for (;;) {
		dlv_get_health(d, NULL, corr, &h);
		if (h.queued == 0 || now_ms() >= end)
			break;
		nanosleep(&nap, NULL);
	}
	/* the records of what finished are committed by dlv's writer thread
	 * within a commit cycle; make them readable now */
	dlv_flush(d);
	print_health(h.queued ? "timeout" : "waited", corr, &h);
	return h.queued ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct dlv_config cfg = { .workers = 2, .max_attempts = 3, .backoff_ms = 100,
				  .backoff_max_ms = 1000, .timeout_ms = 500 };
	struct store *store = NULL;
	struct dlv *d = NULL;
	char err[256], line[8192];
	int rc = 0;
	bool nostore = false;
	long retention_s = 0;
	const char *allow = "127.0.0.0/8";
	struct dest *dest = NULL;
	long long t;

	if (argc < 2) {
		fprintf(stderr, "usage: %s STORE [workers=N] [attempts=N] [backoff=MS] [backoff_max=MS] [timeout=MS]\n",
			argv[0]);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		long v;

		if (sscanf(argv[i], "workers=%ld", &v) == 1)
			cfg.workers = (unsigned)v;
		else if (sscanf(argv[i], "attempts=%ld", &v) == 1)
			cfg.max_attempts = v;
		else if (sscanf(argv[i], "backoff=%ld", &v) == 1)
			cfg.backoff_ms = v;
		else if (sscanf(argv[i], "backoff_max=%ld", &v) == 1)
			cfg.backoff_max_ms = v;
		else if (sscanf(argv[i], "timeout=%ld", &v) == 1)
			cfg.timeout_ms = v;
		else if (sscanf(argv[i], "max_age=%ld", &v) == 1)
			cfg.max_age_s = v;
		else if (sscanf(argv[i], "max_in_flight=%ld", &v) == 1)
			cfg.max_in_flight_per_endpoint = (unsigned)v;
		else if (sscanf(argv[i], "circuit_failures=%ld", &v) == 1)
			cfg.circuit_failures = v;
		else if (sscanf(argv[i], "circuit_open=%ld", &v) == 1)
			cfg.circuit_open_s = v;
		else if (sscanf(argv[i], "retention=%ld", &v) == 1)
			retention_s = v;
		else if (strncmp(argv[i], "allow=", 6) == 0)
			allow = argv[i] + 6;
		else if (strcmp(argv[i], "nostore") == 0)
			nostore = true;
		else if (strcmp(argv[i], "stamp") == 0)
			stamp = true;
		else {
			fprintf(stderr, "unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (getenv("DLV_DEBUG"))
		log_set_level(LOG_DEBUG);
	if (dest_new(allow, &dest, err, sizeof(err)) != 0) {
		fprintf(stderr, "allow=%s: %s\n", allow, err);
		return 2;
	}
	cfg.dest = dest;
	if (store_open(argv[1], &store, err, sizeof(err)) != 0) {
		fprintf(stderr, "store: %s\n", err);
		dest_free(dest);
		return 1;
	}
	cfg.store = nostore ? NULL : store;
	if (!nostore)
		store_set_retention(store, retention_s);
	if (dlv_start(&cfg, &d) != 0) {
		fprintf(stderr, "dlv_start failed\n");
		store_close(store);
		dest_free(dest);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);

	while (fgets(line, sizeof(line), stdin)) {
		char *tok[MAX_TOK], *save = NULL, *p;
		struct dlv_status e[MAX_TOK];
		struct dlv_item it;
		int n = 0;

		for (p = strtok_r(line, " \t\r\n", &save); p && n < MAX_TOK; p = strtok_r(NULL, " \t\r\n", &save))
			tok[n++] = p;
		if (n == 0 || tok[0][0] == '#')
			continue;
		memset(&it, 0, sizeof(it));
		if (strcmp(tok[0], "notify") == 0 && n >= 4) {
			if (parse_entries(tok + 3, n - 3, e) != 0)
				goto bad;
			it = (struct dlv_item){ .op = DLV_STATUS_NOTIFICATION, .correlator = tok[1],
						.endpoint = tok[2], .entries = e, .n = (size_t)(n - 3) };
			enqueued(d, &it);
		} else if (strcmp(tok[0], "changed") == 0 && n == 4) {
			if (parse_entries(tok + 3, 1, e) != 0)
				goto bad;
			it = (struct dlv_item){ .op = DLV_STATUS_CHANGED, .correlator = tok[1],
						.endpoint = tok[2], .entries = e, .n = 1 };
			enqueued(d, &it);
		} else if (strcmp(tok[0], "error") == 0 && n >= 5) {
			struct fault f;

			memset(&f, 0, sizeof(f));
			f.id = fault_from_msgid(tok[4]);
			for (int i = 5; i < n && f.nvars < FAULT_MAX_VARS; i++)
				snprintf(f.vars[f.nvars++], FAULT_VAR_MAX, "%s", tok[i]);
			it = (struct dlv_item){ .op = DLV_STATUS_ERROR, .correlator = tok[1], .endpoint = tok[2],
						.address = strcmp(tok[3], "-") ? tok[3] : NULL, .reason = &f };
			enqueued(d, &it);
		} else if (strcmp(tok[0], "end") == 0 && n == 3) {
			it = (struct dlv_item){ .op = DLV_STATUS_END, .correlator = tok[1], .endpoint = tok[2] };
			enqueued(d, &it);
		} else if (strcmp(tok[0], "mark") == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t0);
		} else if (strcmp(tok[0], "wait") == 0 && n >= 2) {
			if (wait_corr(d, tok[1], n > 2 ? atol(tok[2]) : 15000) != 0)
				rc = 1;
		} else if (strcmp(tok[0], "health") == 0 && n == 2) {
			struct dlv_health h;

			dlv_get_health(d, NULL, tok[1], &h);
			print_health("health", tok[1], &h);
		} else if (strcmp(tok[0], "json") == 0 && n == 2) {
			char *json = NULL;

			if (store_deliveries_json(store, NULL, tok[1], false, &json, NULL) != 0) {
				printf("json %s ERROR\n", tok[1]);
				rc = 1;
			} else {
				printf("json %s %s\n", tok[1], json);
			}
			free(json);
		} else if (strcmp(tok[0], "visible") == 0 && n >= 3) {
			long want = atol(tok[2]);
			long long end = now_ms() + (n > 3 ? atol(tok[3]) : 2000);
			long count = 0;

			for (;;) {
				char *json = NULL, *q;

				count = 0;
				if (store_deliveries_json(store, NULL, tok[1], false, &json, NULL) == 0)
					for (q = json; (q = strstr(q, "{\"event\":")) != NULL; q++)
						count++;
				free(json);
				if (count >= want || now_ms() >= end)
					break;
				usleep(2000);
			}
			if (count >= want) {
				printf("visible %s %lld\n", tok[1], since_mark());
			} else {
				printf("invisible %s %lld %ld\n", tok[1], since_mark(), count);
				rc = 1;
			}
		} else if (strcmp(tok[0], "outbox") == 0 && n == 1) {
			printf("outbox %ld\n", store_outbox_count(store));
		} else if (strcmp(tok[0], "forget") == 0 && n == 2) {
			dlv_forget(d, NULL, tok[1]);
		} else if (strcmp(tok[0], "metrics") == 0) {
			char buf[4096];

			dlv_metrics(d, buf, sizeof(buf));
			fputs(buf, stdout);
		} else if (strcmp(tok[0], "pruned") == 0 && n == 2) {
			/* waits up to MS for the store's first pruned records */
			struct store_stats st;
			long long until = now_ms() + atol(tok[1]);

			do {
				store_get_stats(store, &st);
				if (st.pruned > 0)
					break;
				usleep(10000);
			} while (now_ms() < until);
			printf("pruned %lu\n", st.pruned);
		} else if (strcmp(tok[0], "sleep") == 0 && n == 2) {
			usleep((useconds_t)atol(tok[1]) * 1000);
		} else if (strcmp(tok[0], "bench") == 0 && n == 4) {
			long count = atol(tok[3]);
			struct dlv_status one = { "sip:bench@example.com", TS_BUSY };
			long long start = now_ms(), enq;

			it = (struct dlv_item){ .op = DLV_STATUS_NOTIFICATION, .correlator = tok[1],
						.endpoint = tok[2], .entries = &one, .n = 1 };
			for (long i = 0; i < count; i++)
				if (!dlv_enqueue(d, &it))
					rc = 1;
			enq = now_ms() - start;
			if (wait_corr(d, tok[1], 60000) != 0)
				rc = 1;
			printf("bench %ld %lld %lld\n", count, now_ms() - start, enq);
		} else {
			goto bad;
		}
		fflush(stdout);
		continue;
bad:
		fprintf(stderr, "bad command: %s\n", tok[0]);
		rc = 2;
	}
	t = now_ms();
	dlv_stop(d);
	printf("stopped %lld\n", now_ms() - t);
	store_close(store);
	dest_free(dest);
	return rc;
}
