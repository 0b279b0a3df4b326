/*
 * test_outbox.c - the store's outbox (store_outbox.c): add, attempts,
 * remove, load order, batches (store_apply) and the pruning of old
 * tracking records.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "tmpstore.h"


/* What store_outbox_load gave, as text lines. */
struct seen {
	int n;
	char line[16][256];
};

static void collect(const struct store_outbox_row *r, void *arg)
{
	struct seen *s = arg;

	if (s->n < 16)
		snprintf(s->line[s->n], sizeof(s->line[0]), "%llu %s %s %d %d %lld %s",
			 (unsigned long long)r->delivery, r->correlator, r->endpoint, r->op, r->attempts,
			 (long long)r->created_ms, r->payload);
	s->n++;
}

static void add(struct store *s, uint64_t id, const char *corr, int op, const char *payload)
{
	struct store_outbox_row r = { .delivery = id, .correlator = corr, .endpoint = "http://e/cb",
				      .op = op, .payload = payload, .created_ms = 1000 + (int64_t)id };

	assert_int_equal(store_outbox_add(s, &r), 0);
}

static void test_add_load_order(void **state)
{
	struct tmpstore *t = *state;
	struct seen seen = { 0 };
	uint64_t max = 99;
	int64_t oldest = 99;

	assert_int_equal(store_outbox_count(t->s), 0);
	assert_int_equal(store_outbox_max_delivery(t->s, &max), 0);
	assert_int_equal(max, 0);
	assert_int_equal(store_outbox_oldest_ms(t->s, &oldest), 0);      /* empty: 0 */
	assert_int_equal(oldest, 0);
	assert_int_equal(store_outbox_load(t->s, &(uint64_t){ 0 }, 100000, collect, &seen), 0);

	/* added out of order: loaded by delivery id */
	add(t->s, 30, "b", 1, "p30\nline two\n");
	add(t->s, 10, "a", 0, "p10");
	add(t->s, 20, "a", 3, "");
	assert_int_equal(store_outbox_count(t->s), 3);
	assert_int_equal(store_outbox_max_delivery(t->s, &max), 0);
	assert_int_equal(max, 30);
	assert_int_equal(store_outbox_oldest_ms(t->s, &oldest), 0);      /* the lowest id's */
	assert_int_equal(oldest, 1010);
	assert_int_equal(store_outbox_oldest_ms(NULL, &oldest), -1);
	assert_int_equal(store_outbox_load(t->s, &(uint64_t){ 0 }, 100000, collect, &seen), 3);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.line[0], "10 a http://e/cb 0 0 1010 p10");
	assert_string_equal(seen.line[1], "20 a http://e/cb 3 0 1020 ");
	assert_string_equal(seen.line[2], "30 b http://e/cb 1 0 1030 p30\nline two\n");
}

static void test_attempts_remove(void **state)
{
	struct tmpstore *t = *state;
	struct seen seen = { 0 };

	add(t->s, 1, "a", 0, "x");
	add(t->s, 2, "a", 0, "y");
	assert_int_equal(store_outbox_attempts(t->s, 1, 4), 0);
	assert_int_equal(store_outbox_attempts(t->s, 77, 4), 0);   /* not there: no error */
	assert_int_equal(store_outbox_remove(t->s, 2), 0);
	assert_int_equal(store_outbox_remove(t->s, 2), 0);
	assert_int_equal(store_outbox_load(t->s, &(uint64_t){ 0 }, 100000, collect, &seen), 1);
	assert_string_equal(seen.line[0], "1 a http://e/cb 0 4 1001 x");
	assert_int_equal(store_outbox_remove(t->s, 1), 0);
	assert_int_equal(store_outbox_count(t->s), 0);
}

static void test_add_rejects(void **state)
{
	struct tmpstore *t = *state;
	struct store_outbox_row r = { .delivery = 5, .correlator = "a", .endpoint = "http://e/cb",
				      .payload = "p" };

	assert_int_equal(store_outbox_add(t->s, &r), 0);
	assert_int_equal(store_outbox_add(t->s, &r), -1);   /* same id twice */
	r.delivery = 0;
	assert_int_equal(store_outbox_add(t->s, &r), -1);
	r.delivery = (uint64_t)INT64_MAX + 1;
	assert_int_equal(store_outbox_add(t->s, &r), -1);
	r.delivery = 6;
	r.payload = NULL;
	assert_int_equal(store_outbox_add(t->s, &r), -1);
	r.payload = "p";
	r.correlator = NULL;
	assert_int_equal(store_outbox_add(t->s, &r), -1);
	assert_int_equal(store_outbox_add(t->s, NULL), -1);
	assert_int_equal(store_outbox_count(t->s), 1);
	assert_int_equal(store_outbox_load(t->s, &(uint64_t){ 0 }, 100000, NULL, NULL), -1);

	/* no store */
	r.correlator = "a";
	assert_int_equal(store_outbox_add(NULL, &r), -1);
	assert_int_equal(store_outbox_attempts(NULL, 5, 1), -1);
	assert_int_equal(store_outbox_remove(NULL, 5), -1);
	assert_int_equal(store_outbox_count(NULL), -1);
	assert_int_equal(store_apply(NULL, &(struct store_op){ .kind = STORE_OP_REMOVE, .delivery = 5 }, 1), -1);
	assert_int_equal(store_prune_tracking(NULL, 0, 10), -1);
}

static void test_survives_reopen(void **state)
{
	struct tmpstore *t = *state;
	struct seen seen = { 0 };
	char err[256];

	add(t->s, 42, "a", 2, "kept");
	assert_int_equal(store_outbox_attempts(t->s, 42, 3), 0);
	store_close(t->s);
	t->s = NULL;
	assert_int_equal(store_open(t->db, &t->s, err, sizeof(err)), 0);
	assert_int_equal(store_outbox_load(t->s, &(uint64_t){ 0 }, 100000, collect, &seen), 1);
	assert_string_equal(seen.line[0], "42 a http://e/cb 2 3 1042 kept");
}

static struct store_op track(uint64_t id, int attempt, bool ok, const char *detail, int64_t ms)
{
	return (struct store_op){ .kind = STORE_OP_TRACK, .delivery = id, .attempt = attempt,
				  .event = ok ? "statusEnd_DeliveryResult" : "statusEnd_DeliveryAttempted",
				  .correlator = "c", .endpoint = "http://e/cb", .detail = detail,
				  .delivered = ok, .time_ms = ms };
}

static void test_apply(void **state)
{
	struct tmpstore *t = *state;
	struct seen seen = { 0 };
	char *json = NULL;
	struct store_op ops[4];
	/* 2024-05-01T12:34:56.789Z */
	int64_t when = 1714566896789LL;

	add(t->s, 7, "c", 3, "p7");
	add(t->s, 8, "c", 3, "p8");
	ops[0] = track(7, 1, false, "HTTP 500", when);
	ops[1] = (struct store_op){ .kind = STORE_OP_ATTEMPTS, .delivery = 8, .attempt = 2 };
	ops[2] = track(7, 2, true, NULL, when + 1001);
	ops[3] = (struct store_op){ .kind = STORE_OP_REMOVE, .delivery = 7 };
	assert_int_equal(store_apply(t->s, ops, 4), 0);
	assert_int_equal(store_apply(t->s, ops, 0), 0);
	assert_int_equal(store_deliveries_json(t->s, NULL, "c", false, &json, NULL), 0);
	assert_string_equal(json,
		"[{\"event\":\"statusEnd_DeliveryAttempted\",\"correlator\":\"c\",\"delivery\":7,\"attempt\":1,"
		"\"result\":\"failed\",\"time\":\"2024-05-01T12:34:56.789Z\",\"endpoint\":\"http://e/cb\","
		"\"detail\":\"HTTP 500\"},"
		"{\"event\":\"statusEnd_DeliveryResult\",\"correlator\":\"c\",\"delivery\":7,\"attempt\":2,"
		"\"result\":\"delivered\",\"time\":\"2024-05-01T12:34:57.790Z\",\"endpoint\":\"http://e/cb\","
		"\"detail\":null}]");
	free(json);
	assert_int_equal(store_outbox_load(t->s, &(uint64_t){ 0 }, 100000, collect, &seen), 1);
	assert_string_equal(seen.line[0], "8 c http://e/cb 3 2 1008 p8");

	/* all or nothing: a bad write at the end undoes the batch */
	ops[0] = (struct store_op){ .kind = STORE_OP_REMOVE, .delivery = 8 };
	ops[1] = track(8, 3, true, NULL, when);
	ops[2] = track(8, 3, true, NULL, when);
	ops[2].event = NULL;
	assert_int_equal(store_apply(t->s, ops, 3), -1);
	ops[2] = (struct store_op){ .kind = (enum store_op_kind)9, .delivery = 8 };
	assert_int_equal(store_apply(t->s, ops, 3), -1);
	assert_int_equal(store_outbox_count(t->s), 1);
	assert_int_equal(store_deliveries_json(t->s, NULL, "c", false, &json, NULL), 0);
	assert_null(strstr(json, "\"delivery\":8"));
	free(json);
	assert_int_equal(store_apply(t->s, NULL, 1), -1);
}

static void test_prune(void **state)
{
	struct tmpstore *t = *state;
	int64_t now = store_wall_ms(), day = 86400000LL;
	struct store_op ops[8];

	/* five records ten days old, then three of now, then one from
	 * store_track (time now) */
	for (int i = 0; i < 5; i++)
		ops[i] = track((uint64_t)i + 1, 1, true, NULL, now - 10 * day + i);
	for (int i = 5; i < 8; i++)
		ops[i] = track((uint64_t)i + 1, 1, true, NULL, now - 1000);
	assert_int_equal(store_apply(t->s, ops, 8), 0);
	assert_int_equal(store_track(t->s, "statusEnd_DeliveryResult", NULL, "c", 9, 1, true, "http://e/cb", NULL), 0);
	assert_int_equal(tmpstore_records(t->s, "c"), 9);

	assert_int_equal(store_prune_tracking(t->s, now - day, 0), 0);
	assert_int_equal(store_prune_tracking(t->s, now - day, 2), 2);
	assert_int_equal(store_prune_tracking(t->s, now - day, 2), 2);
	assert_int_equal(store_prune_tracking(t->s, now - day, 2), 1);   /* the last old one */
	assert_int_equal(store_prune_tracking(t->s, now - day, 2), 0);
	assert_int_equal(tmpstore_records(t->s, "c"), 4);
	/* a cutoff in the future takes everything, in bounded steps */
	assert_int_equal(store_prune_tracking(t->s, now + day, 1000), 4);
	assert_int_equal(tmpstore_records(t->s, "c"), 0);
	assert_int_equal(store_prune_tracking(t->s, now + day, 1000), 0);
}

static void test_prune_looks_at_oldest_ids_only(void **state)
{
	struct tmpstore *t = *state;
	int64_t now = store_wall_ms(), day = 86400000LL;
	struct store_op ops[3] = {
		track(1, 1, true, NULL, now),
		track(2, 1, true, NULL, now - 10 * day),
		track(3, 1, true, NULL, now - 10 * day),
	};

	/* bounded: only the max_rows lowest ids are looked at */
	assert_int_equal(store_apply(t->s, ops, 3), 0);
	assert_int_equal(store_prune_tracking(t->s, now - day, 1), 0);
	assert_int_equal(store_prune_tracking(t->s, now - day, 2), 1);
	assert_int_equal(store_prune_tracking(t->s, now - day, 10), 1);
	assert_int_equal(tmpstore_records(t->s, "c"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_load_order, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_attempts_remove, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_add_rejects, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_survives_reopen, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_apply, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_prune, tmpstore_setup_open, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_prune_looks_at_oldest_ids_only, tmpstore_setup_open, tmpstore_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
