/*
 * test_store_usage.c - usage records in the store (contract section 13):
 * written through the writer (STORE_OP_USAGE, usage_record), read back as
 * RFC 4180 CSV page by page (quoting, empty fields, order by time, the
 * time range and the application), pruned by their retention; and the
 * parsing of GET /usage's times (usage_parse_time).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store.h"
#include "usage.h"
#include "tmpstore.h"

#define HEADER "time,app,operation,addresses,expanded,count,correlator,result,cause,duration_ms\r\n"

/* One record through the writer, committed on return. */
static void put(struct store *s, int64_t time_ms, const char *app, const char *op, long addrs,
		long expanded, long count, const char *corr, const char *result, const char *cause,
		long dur)
{
	struct store_usage u = {
		.time_ms = time_ms, .app = app, .operation = op, .addresses = addrs,
		.expanded = expanded, .count = count, .correlator = corr, .result = result,
		.cause = cause, .duration_ms = dur,
	};
	struct store_op op_ = { .kind = STORE_OP_USAGE, .usage = &u };

	assert_int_equal(store_apply(s, &op_, 1), 0);
}

/* The whole CSV of a listing, read in pieces of piece bytes (caller frees). */
static char *csv(struct store *s, int64_t from, int64_t to, const char *app, size_t piece)
{
	struct store_usage_cursor *c = store_usage_open(s, from, to, app);
	size_t len = 0, cap = 1024;
	char *out = malloc(cap), buf[8192];
	long n;

	assert_non_null(c);
	assert_non_null(out);
	assert_true(piece <= sizeof(buf));
	while ((n = store_usage_read(c, buf, piece)) > 0) {
		assert_true((size_t)n <= piece);
		while (len + (size_t)n + 1 > cap)
			out = realloc(out, cap *= 2);
		assert_non_null(out);
		memcpy(out + len, buf, (size_t)n);
		len += (size_t)n;
	}
	assert_int_equal(n, 0);
	store_usage_close(c);
	out[len] = '\0';
	return out;
}

/* 2026-12-05T09:30:00.000Z */
#define T0 1796463000000LL

static void test_csv_fields_and_quoting(void **state)
{
	struct tmpstore *t = *state;
	char *text;

	put(t->s, T0, "app1", "getStatus", 1, 1, -1, NULL, "ok", NULL, 12);
	put(t->s, T0 + 1, NULL, "startNotification", 3, 7, 5, "a,b \"c\"\r\nd", "SVC0002", "", 0);
	put(t->s, T0 + 2, "app2", "getStatus", 1, 1, -1, NULL, "SVC0004", "sip 404", 5);
	put(t->s, T0 + 3, "app2", "", -1, -1, -1, NULL, "500", NULL, 1);
	put(t->s, T0 + 4, "x\"y", "endNotification", -1, -1, -1, "plain", "ok", "a\nb", 0);
	text = csv(t->s, T0, T0 + 10, NULL, 4096);
	assert_string_equal(text, HEADER
			    "2026-12-05T09:30:00.000Z,app1,getStatus,1,1,,,ok,,12\r\n"
			    "2026-12-05T09:30:00.001Z,,startNotification,3,7,5,\"a,b \"\"c\"\"\r\nd\",SVC0002,,0\r\n"
			    "2026-12-05T09:30:00.002Z,app2,getStatus,1,1,,,SVC0004,sip 404,5\r\n"
			    "2026-12-05T09:30:00.003Z,app2,,,,,,500,,1\r\n"
			    "2026-12-05T09:30:00.004Z,\"x\"\"y\",endNotification,,,,plain,ok,\"a\nb\",0\r\n");
	free(text);

	/* the same, one byte at a time */
	text = csv(t->s, T0, T0 + 10, NULL, 1);
	assert_int_equal(strncmp(text, HEADER, strlen(HEADER)), 0);
	assert_non_null(strstr(text, ",\"a\nb\",0\r\n"));
	free(text);

	/* an application; the range, both ends included */
	text = csv(t->s, T0, T0 + 10, "app2", 4096);
	assert_string_equal(text, HEADER
			    "2026-12-05T09:30:00.002Z,app2,getStatus,1,1,,,SVC0004,sip 404,5\r\n"
			    "2026-12-05T09:30:00.003Z,app2,,,,,,500,,1\r\n");
	free(text);
	text = csv(t->s, T0 + 1, T0 + 2, NULL, 4096);
	assert_int_equal(strlen(text) > strlen(HEADER), true);
	assert_non_null(strstr(text, "09:30:00.001Z"));
	assert_non_null(strstr(text, "09:30:00.002Z"));
	assert_null(strstr(text, "09:30:00.000Z"));
	assert_null(strstr(text, "09:30:00.003Z"));
	free(text);
	text = csv(t->s, T0 + 100, T0 + 200, NULL, 4096);
	assert_string_equal(text, HEADER);
	free(text);
	text = csv(t->s, T0, T0 + 10, "", 4096);   /* the anonymous application */
	assert_string_equal(text, HEADER
			    "2026-12-05T09:30:00.001Z,,startNotification,3,7,5,\"a,b \"\"c\"\"\r\nd\",SVC0002,,0\r\n");
	free(text);
	assert_int_equal(store_usage_count(t->s), 5);
}

/* Oldest first by time (not by insertion), over many pages. */
static void test_order_and_pages(void **state)
{
	struct tmpstore *t = *state;
	enum { N = 1234 };
	static struct store_usage u[N];
	static struct store_op ops[N];
	static char corr[N][16];
	char *text, *p, want[64];
	int rows = 0;

	/* inserted (in one submission) in an order that is not time's: i * 7 mod N */
	for (int i = 0; i < N; i++) {
		int k = (i * 7) % N;

		snprintf(corr[i], sizeof(corr[i]), "c%d", k);
		u[i] = (struct store_usage){ .time_ms = T0 + (int64_t)k * 1000, .app = "a",
					     .operation = "getStatus", .addresses = 1, .expanded = 1,
					     .count = -1, .correlator = corr[i], .result = "ok",
					     .duration_ms = k };
		ops[i] = (struct store_op){ .kind = STORE_OP_USAGE, .usage = &u[i] };
	}
	assert_int_equal(store_apply(t->s, ops, N), 0);
	text = csv(t->s, T0, T0 + (int64_t)N * 1000, NULL, 777);
	p = text + strlen(HEADER);
	for (; *p; rows++) {
		char *end = strstr(p, "\r\n");

		assert_non_null(end);
		snprintf(want, sizeof(want), ",a,getStatus,1,1,,c%d,ok,,%d", rows, rows);
		*end = '\0';
		if (!strstr(p, want))
			fail_msg("row %d: %s, wanted ...%s", rows, p, want);
		p = end + 2;
	}
	assert_int_equal(rows, N);
	free(text);
}

/* Records older than the retention are deleted by the writer. */
static void test_retention(void **state)
{
	struct tmpstore *t = *state;
	int64_t now = store_wall_ms();
	struct store_stats st;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	enum { OLD = 2500 };          /* more than one pruning batch */
	static struct store_usage u[OLD];
	static struct store_op ops[OLD];
	char *text;
	int i;

	for (i = 0; i < OLD; i++) {
		u[i] = (struct store_usage){ .time_ms = now - 3 * 86400000LL + i, .app = "a",
					     .operation = "getStatus", .addresses = 1, .expanded = 1,
					     .count = -1, .result = "ok" };
		ops[i] = (struct store_op){ .kind = STORE_OP_USAGE, .usage = &u[i] };
	}
	assert_int_equal(store_apply(t->s, ops, OLD), 0);
	put(t->s, now - 1000, "a", "getStatus", 1, 1, -1, "kept", "ok", NULL, 0);
	assert_int_equal(store_usage_count(t->s), 2501);
	store_set_usage_retention(t->s, 2 * 86400);
	for (i = 0; i < 1000 && store_usage_count(t->s) != 1; i++)
		nanosleep(&ts, NULL);
	assert_int_equal(store_usage_count(t->s), 1);
	store_get_stats(t->s, &st);
	assert_int_equal(st.usage_pruned, 2500);
	text = csv(t->s, 0, now + 1000, NULL, 4096);
	assert_non_null(strstr(text, ",kept,"));
	free(text);
}

/* usage_record writes through the store given, without waiting. */
static void test_usage_record(void **state)
{
	struct tmpstore *t = *state;
	struct usage_rec r = {
		.app = "app1", .operation = "getStatusForGroup", .addresses = 2, .expanded = 4,
		.count = -1, .result = "ok", .duration_ms = 3,
	};
	char *text;

	usage_record(&r);                 /* no store yet: nothing */
	usage_set_store(t->s);
	usage_record(&r);
	r.operation = NULL;               /* refused */
	usage_record(&r);
	usage_set_store(NULL);
	store_sync(t->s);
	assert_int_equal(store_usage_count(t->s), 1);
	text = csv(t->s, 0, store_wall_ms() + 1000, NULL, 4096);
	assert_non_null(strstr(text, "Z,app1,getStatusForGroup,2,4,,,ok,,3\r\n"));
	free(text);
}

/* A correlator or cause of any length (a SOAP body's correlator is not
 * checked yet when it is recorded) is kept to USAGE_FIELD_MAX bytes, cut
 * before a character that would not fit whole. */
static void test_usage_record_caps(void **state)
{
	struct tmpstore *t = *state;
	size_t big = 100000;
	char *corr = malloc(big + 1), *cause = malloc(big + 1), *text, *line;
	char want[2 * USAGE_FIELD_MAX + 64];
	struct usage_rec r = {
		.app = "app1", .operation = "endNotification", .addresses = -1, .expanded = -1,
		.count = -1, .result = "SVC0002", .duration_ms = 1,
	};

	assert_non_null(corr);
	assert_non_null(cause);
	memset(corr, 'c', big);
	corr[big] = '\0';
	/* a two-byte character at bytes USAGE_FIELD_MAX-1 and USAGE_FIELD_MAX */
	memset(cause, 'k', big);
	cause[USAGE_FIELD_MAX - 1] = (char)0xC3;
	cause[USAGE_FIELD_MAX] = (char)0xA9;
	cause[big] = '\0';
	r.correlator = corr;
	r.cause = cause;
	usage_set_store(t->s);
	usage_record(&r);
	usage_set_store(NULL);
	store_sync(t->s);
	assert_int_equal(store_usage_count(t->s), 1);
	text = csv(t->s, 0, store_wall_ms() + 1000, NULL, 4096);
	line = strstr(text, "Z,app1,endNotification,,,,");
	assert_non_null(line);
	memset(want, 0, sizeof(want));
	memset(want, 'c', USAGE_FIELD_MAX);
	strcat(want, ",SVC0002,");
	memset(want + strlen(want), 'k', USAGE_FIELD_MAX - 1);
	strcat(want, ",1\r\n");
	line += strlen("Z,app1,endNotification,,,,");
	/* (no assert_string_equal: cmocka's message of a 100 kB string) */
	assert_int_equal(strlen(line), strlen(want));
	assert_int_equal(memcmp(line, want, strlen(want)), 0);
	free(text);
	free(corr);
	free(cause);
}

static void expect_time(const char *text, int64_t ms)
{
	int64_t got = -1;

	if (usage_parse_time(text, &got) != 0)
		fail_msg("%s: refused", text);
	if (got != ms)
		fail_msg("%s: %lld, wanted %lld", text, (long long)got, (long long)ms);
}

static void test_parse_time(void **state)
{
	static const char *const bad[] = {
		"", "yesterday", "2026-12-05T09:30:00", "2026-12-05T09:30:00+01:00",
		"2026-12-05T09:30:00z", "2026-13-01", "2026-00-10", "2026-02-29", "2026-04-31",
		"2026-12-05T24:00Z", "2026-12-05T09:60Z", "2026-12-05T09:30:60Z", "2026-12-05T09Z",
		"2026-12-05T09:30:00.Z", "1969-12-31", "26-12-05", "2026-1-05", "2026-12-05 09:30Z",
		"-1", "1.5", "123456789012", "2026-12-05T09:30:00Zx", "0x10",
	};
	int64_t ms = 42;

	(void)state;
	expect_time("0", 0);
	expect_time("1796463000", T0);
	expect_time("2026-12-05T09:30:00Z", T0);
	expect_time("2026-12-05T09:30Z", T0);
	expect_time("2026-12-05T09:30:00.25Z", T0 + 250);
	expect_time("2026-12-05T09:30:00.123456Z", T0 + 123);
	expect_time("2026-12-05", T0 - (9 * 3600 + 30 * 60) * 1000LL);
	expect_time("1970-01-01T00:00:00Z", 0);
	expect_time("2024-02-29T00:00:00Z", 1709164800000LL);   /* a leap day */
	expect_time("2000-03-01", 951868800000LL);              /* 2000 was a leap year */
	expect_time("2100-03-01", 4107542400000LL);             /* 2100 will not be */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (usage_parse_time(bad[i], &ms) == 0)
			fail_msg("\"%s\" accepted as %lld", bad[i], (long long)ms);
	}
	assert_int_equal(usage_parse_time(NULL, &ms), -1);
	assert_int_equal(ms, 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_csv_fields_and_quoting, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_order_and_pages, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_retention, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_usage_record, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_usage_record_caps, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test(test_parse_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
