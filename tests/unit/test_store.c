/*
 * test_store.c - the SQLite store: schema migrations and the delivery
 * tracking records (contract section 9a).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testfile.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "tmpstore.h"

#define CURRENT_VERSION store_schema_latest()


/* Runs sql on the file directly, bypassing the store. */
static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}


/* The JSON with every "time" value checked (YYYY-MM-DDTHH:MM:SS.mmmZ) and
 * replaced by "T", so the rest can be compared exactly. Caller frees. */
static char *json_of_app(struct store *s, const char *app, const char *correlator, bool with_app)
{
	char *json = NULL, *p;
	size_t len = 0;
	static const char key[] = "\"time\":\"";
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";

	assert_int_equal(store_deliveries_json(s, app, correlator, with_app, &json, &len), 0);
	assert_non_null(json);
	assert_int_equal(len, strlen(json));
	while ((p = strstr(json, key)) != NULL) {
		char *v = p + sizeof(key) - 1;

		for (size_t i = 0; i < sizeof(shape) - 1; i++) {
			if (shape[i] == 'd')
				assert_true(v[i] >= '0' && v[i] <= '9');
			else
				assert_int_equal(v[i], shape[i]);
		}
		assert_int_equal(v[sizeof(shape) - 1], '"');
		/* "time":"<24 chars>" -> "TIME":"T" (renamed so the loop ends) */
		memcpy(p, "\"TIME\":\"T\"", 10);
		memmove(p + 10, v + sizeof(shape), strlen(v + sizeof(shape)) + 1);
	}
	for (p = json; (p = strstr(p, "\"TIME\"")) != NULL; p++)
		memcpy(p, "\"time\"", 6);
	return json;
}

/* The records of every application, without their names. */
static char *json_of(struct store *s, const char *correlator)
{
	return json_of_app(s, NULL, correlator, false);
}

/* The file's text, NUL-terminated; the caller frees. */
static char *read_data(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, name);
	return test_load_file(path, NULL);
}

static void test_fresh_and_reopen(void **state)
{
	struct tmpstore *t = *state;
	struct store *s = tmpstore_open_ok(t->db);

	assert_int_equal(store_schema_version(s), CURRENT_VERSION);
	assert_true(store_ready(s));
	assert_int_equal(store_track(s, "statusEnd_DeliveryResult", NULL, "c", 7, 1, true, "http://e/", NULL), 0);
	store_close(s);

	s = tmpstore_open_ok(t->db);
	assert_int_equal(store_schema_version(s), CURRENT_VERSION);
	{
		uint64_t max = 99;

		assert_int_equal(store_max_delivery(s, &max), 0);
		assert_int_equal(max, 7);
	}
	store_close(s);
	store_close(NULL);
}

static void test_too_new_refused(void **state)
{
	struct tmpstore *t = *state;
	struct store *s = tmpstore_open_ok(t->db);
	char err[256] = "";

	store_close(s);
	raw_exec(t->db, "PRAGMA user_version = 99");
	s = NULL;
	assert_int_equal(store_open(t->db, &s, err, sizeof(err)), -1);
	assert_null(s);
	assert_non_null(strstr(err, "newer"));
}

static void test_migrates_from_v1(void **state)
{
	struct tmpstore *t = *state;
	struct store *s;
	char *json;

	/* what a part 1 pxtsgw left behind */
	raw_exec(t->db, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
		 "INSERT INTO meta VALUES ('created', 'then');"
		 "PRAGMA user_version = 1;");
	s = tmpstore_open_ok(t->db);
	assert_int_equal(store_schema_version(s), CURRENT_VERSION);
	json = json_of(s, "nobody");
	assert_string_equal(json, "[]");
	free(json);
	store_close(s);
}

static void test_unwritable_path(void **state)
{
	struct tmpstore *t = *state;
	struct store *s = NULL;
	char path[PATH_MAX + 32], err[256] = "";

	snprintf(path, sizeof(path), "%s/no/such/dir/s.db", t->dir);
	assert_int_equal(store_open(path, &s, err, sizeof(err)), -1);
	assert_null(s);
	assert_true(err[0] != '\0');
}

static void test_track_json(void **state)
{
	struct tmpstore *t = *state;
	struct store *s = tmpstore_open_ok(t->db);
	char *json;
	uint64_t max = 1;

	assert_int_equal(store_max_delivery(s, &max), 0);
	assert_int_equal(max, 0);
	json = json_of(s, "c1");
	assert_string_equal(json, "[]");
	free(json);

	assert_int_equal(store_track(s, "statusNotification_DeliveryAttempted", NULL, "c1", 1795310447480659ull, 1,
				     false, "http://127.0.0.1:9/cb", "HTTP 500: SOAP-ENV:Server Sink fault"), 0);
	assert_int_equal(store_track(s, "statusNotification_DeliveryAttempted", NULL, "other", 5, 1,
				     true, "http://x/", NULL), 0);
	assert_int_equal(store_track(s, "statusNotification_DeliveryAttempted", NULL, "c1", 1795310447480659ull, 2,
				     true, "http://127.0.0.1:9/cb", NULL), 0);
	assert_int_equal(store_track(s, "statusNotification_DeliveryResult", NULL, "c1", 1795310447480659ull, 2,
				     true, "http://127.0.0.1:9/cb", NULL), 0);
	json = json_of(s, "c1");
	assert_string_equal(json,
		"[{\"event\":\"statusNotification_DeliveryAttempted\",\"correlator\":\"c1\","
		"\"delivery\":1795310447480659,\"attempt\":1,\"result\":\"failed\",\"time\":\"T\","
		"\"endpoint\":\"http://127.0.0.1:9/cb\",\"detail\":\"HTTP 500: SOAP-ENV:Server Sink fault\"},"
		"{\"event\":\"statusNotification_DeliveryAttempted\",\"correlator\":\"c1\","
		"\"delivery\":1795310447480659,\"attempt\":2,\"result\":\"delivered\",\"time\":\"T\","
		"\"endpoint\":\"http://127.0.0.1:9/cb\",\"detail\":null},"
		"{\"event\":\"statusNotification_DeliveryResult\",\"correlator\":\"c1\","
		"\"delivery\":1795310447480659,\"attempt\":2,\"result\":\"delivered\",\"time\":\"T\","
		"\"endpoint\":\"http://127.0.0.1:9/cb\",\"detail\":null}]");
	free(json);
	assert_int_equal(store_max_delivery(s, &max), 0);
	assert_int_equal(max, 1795310447480659ull);
	store_close(s);
}

/* Tracking records belong to an application (contract section 11): an
 * app's view has its own only; every application's view names each. */
static void test_track_per_application(void **state)
{
	struct tmpstore *t = *state;
	struct store *s = tmpstore_open_ok(t->db);
	char *json;

	assert_int_equal(store_track(s, "statusEnd_DeliveryResult", "app-a", "c1", 1, 1, true,
				     "http://a/", NULL), 0);
	assert_int_equal(store_track(s, "statusEnd_DeliveryResult", "app-b", "c1", 2, 1, false,
				     "http://b/", "connection refused"), 0);
	assert_int_equal(store_track(s, "statusEnd_DeliveryResult", NULL, "c1", 3, 1, true,
				     "http://anon/", NULL), 0);
	json = json_of_app(s, "app-a", "c1", false);
	assert_string_equal(json,
		"[{\"event\":\"statusEnd_DeliveryResult\",\"correlator\":\"c1\",\"delivery\":1,"
		"\"attempt\":1,\"result\":\"delivered\",\"time\":\"T\",\"endpoint\":\"http://a/\","
		"\"detail\":null}]");
	free(json);
	json = json_of_app(s, "", "c1", false);
	assert_non_null(strstr(json, "\"delivery\":3,"));
	assert_null(strstr(json, "\"delivery\":1,"));
	assert_null(strstr(json, "\"delivery\":2,"));
	free(json);
	json = json_of_app(s, "app-c", "c1", false);   /* another application's: as unknown */
	assert_string_equal(json, "[]");
	free(json);
	json = json_of_app(s, "app-b", "c1", true);
	assert_string_equal(json,
		"[{\"event\":\"statusEnd_DeliveryResult\",\"correlator\":\"c1\",\"delivery\":2,"
		"\"attempt\":1,\"result\":\"failed\",\"time\":\"T\",\"endpoint\":\"http://b/\","
		"\"detail\":\"connection refused\",\"app\":\"app-b\"}]");
	free(json);
	json = json_of_app(s, NULL, "c1", true);
	{
		const char *a = strstr(json, "\"app\":\"app-a\"}"), *b = strstr(json, "\"app\":\"app-b\"}");
		const char *anon = strstr(json, "\"app\":\"\"}");

		assert_non_null(a);
		assert_non_null(b);
		assert_non_null(anon);
		assert_true(a < b && b < anon);   /* oldest first */
	}
	free(json);
	store_close(s);
}

/* A listing read in small pieces is the same text as read whole, across
 * pages (500 records each); records written while it is read are in it
 * when they come before the end of the page being read last. */
static void test_listing_cursor(void **state)
{
	struct tmpstore *t = *state;
	struct store *s = tmpstore_open_ok(t->db);
	struct store_cursor *cur[1];
	char *whole, *whole2, piece[7], got[400000];
	size_t len = 0, n = 0;
	long k;

	for (int i = 0; i < 1200; i++)
		assert_int_equal(store_track(s, "statusEnd_DeliveryResult", i % 2 ? "app-a" : NULL, "L",
					     (uint64_t)i + 1, 1, i % 3 != 0, "http://e/cb",
					     i % 3 ? NULL : "HTTP 500"), 0);
	assert_int_equal(store_deliveries_json(s, NULL, "L", true, &whole, &len), 0);
	cur[0] = store_deliveries_open(s, NULL, "L", true);
	assert_non_null(cur[0]);
	/* written after the cursor was opened, while its first page is
	 * pending: it comes in the last page */
	assert_int_equal(store_track(s, "statusEnd_DeliveryResult", NULL, "L", 9999, 1, true,
				     "http://e/cb", NULL), 0);
	while ((k = store_cursor_read(cur[0], piece, sizeof(piece))) > 0) {
		assert_true(k <= (long)sizeof(piece));
		assert_true(n + (size_t)k < sizeof(got));
		memcpy(got + n, piece, (size_t)k);
		n += (size_t)k;
	}
	assert_int_equal(k, 0);
	assert_int_equal(store_cursor_read(cur[0], piece, sizeof(piece)), 0);   /* stays at the end */
	got[n] = '\0';
	assert_int_equal(store_deliveries_json(s, NULL, "L", true, &whole2, NULL), 0);
	assert_string_equal(got, whole2);                    /* with 9999 at the end */
	assert_true(n > len);
	assert_int_equal(memcmp(got, whole, len - 1), 0);    /* what was there, then more */
	assert_non_null(strstr(got + len - 1, "\"delivery\":9999,"));
	store_cursor_close(cur[0]);
	free(whole);
	free(whole2);
	/* an empty listing */
	cur[0] = store_deliveries_open(s, NULL, "nobody", false);
	assert_int_equal(store_cursor_read(cur[0], got, sizeof(got)), 2);
	got[2] = '\0';
	assert_string_equal(got, "[]");
	assert_int_equal(store_cursor_read(cur[0], got, sizeof(got)), 0);
	store_cursor_close(cur[0]);
	store_cursor_close(NULL);
	assert_null(store_deliveries_open(s, NULL, NULL, false));
	store_close(s);
}

/* outbox_load's callback: the one row, copied. */
struct one_row {
	int n;
	char app[32], correlator[32], payload[64];
	uint64_t delivery;
	int attempts;
};

static void one_row(const struct store_outbox_row *r, void *arg)
{
	struct one_row *o = arg;

	o->n++;
	snprintf(o->app, sizeof(o->app), "%s", r->app ? r->app : "(null)");
	snprintf(o->correlator, sizeof(o->correlator), "%s", r->correlator);
	snprintf(o->payload, sizeof(o->payload), "%s", r->payload);
	o->delivery = r->delivery;
	o->attempts = r->attempts;
}

struct one_notif {
	int n;
	char app[32], correlator[32];
	size_t naddr;
	long sent;
	int reported0, reported1;
};

static void one_notif(const struct store_notif *sn, void *arg)
{
	struct one_notif *o = arg;

	o->n++;
	snprintf(o->app, sizeof(o->app), "%s", sn->app ? sn->app : "(null)");
	snprintf(o->correlator, sizeof(o->correlator), "%s", sn->correlator);
	o->naddr = sn->n;
	o->sent = sn->sent;
	o->reported0 = sn->n > 0 ? sn->reported[0] : -9;
	o->reported1 = sn->n > 1 ? sn->reported[1] : -9;
}

/* A store of version 3 (tests/data/store-v3.sql) migrates: every row is
 * kept and belongs to the anonymous application. */
static void test_migrates_from_v3(void **state)
{
	struct tmpstore *t = *state;
	char *sql = read_data("store-v3.sql"), *json;
	struct one_row r = { 0 };
	struct one_notif n = { 0 };
	struct store *s;

	raw_exec(t->db, sql);
	free(sql);
	s = tmpstore_open_ok(t->db);
	assert_int_equal(store_schema_version(s), CURRENT_VERSION);
	assert_int_equal(store_notif_load(s, one_notif, &n), 1);
	assert_int_equal(n.n, 1);
	assert_string_equal(n.app, "");
	assert_string_equal(n.correlator, "old-1");
	assert_int_equal(n.naddr, 2);
	assert_int_equal(n.sent, 2);
	assert_int_equal(n.reported0, 2);
	assert_int_equal(n.reported1, -1);
	assert_int_equal(store_outbox_load(s, &(uint64_t){ 0 }, 100000, one_row, &r), 1);
	assert_string_equal(r.app, "");
	assert_string_equal(r.correlator, "old-1");
	assert_string_equal(r.payload, "pxtsgw-callback 1 statusEnd\n");
	assert_int_equal(r.delivery, 12);
	assert_int_equal(r.attempts, 1);
	json = json_of_app(s, "", "old-1", true);
	assert_string_equal(json,
		"[{\"event\":\"statusNotification_DeliveryAttempted\",\"correlator\":\"old-1\","
		"\"delivery\":11,\"attempt\":1,\"result\":\"delivered\",\"time\":\"T\","
		"\"endpoint\":\"http://127.0.0.1:9/cb\",\"detail\":null,\"app\":\"\"},"
		"{\"event\":\"statusNotification_DeliveryResult\",\"correlator\":\"old-1\","
		"\"delivery\":11,\"attempt\":1,\"result\":\"delivered\",\"time\":\"T\","
		"\"endpoint\":\"http://127.0.0.1:9/cb\",\"detail\":null,\"app\":\"\"}]");
	free(json);
	/* the rebuilt tables keep their cascade: deleting the notification
	 * takes its addresses along */
	assert_int_equal(store_notif_delete(s, "", "old-1"), 0);
	n.n = 0;
	assert_int_equal(store_notif_load(s, one_notif, &n), 0);
	store_close(s);
	{
		sqlite3 *db = NULL;
		sqlite3_stmt *st = NULL;

		assert_int_equal(sqlite3_open(t->db, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM notification_addresses", -1,
						    &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 0);
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
}

static void test_json_escaping(void **state)
{
	struct tmpstore *t = *state;
	struct store *s = tmpstore_open_ok(t->db);
	const char *corr = "q\"b\\s/\x01\t\n";
	char *json;

	/* quotes, backslashes, control characters, UTF-8 kept, bad bytes replaced */
	assert_int_equal(store_track(s, "statusError_DeliveryResult", NULL, corr, 3, 1, false,
				     "http://h/p?a=\"1\"", "bad \x7f \r\b\f \xc3\xa9 \xe2\x82\xac \xff\xc3 end"), 0);
	json = json_of(s, corr);
	assert_string_equal(json,
		"[{\"event\":\"statusError_DeliveryResult\",\"correlator\":\"q\\\"b\\\\s/\\u0001\\t\\n\","
		"\"delivery\":3,\"attempt\":1,\"result\":\"failed\",\"time\":\"T\","
		"\"endpoint\":\"http://h/p?a=\\\"1\\\"\","
		"\"detail\":\"bad \\u007f \\r\\b\\f \xc3\xa9 \xe2\x82\xac \\ufffd\\ufffd end\"}]");
	free(json);
	store_close(s);
}

static void test_bad_arguments(void **state)
{
	struct tmpstore *t = *state;
	struct store *s = tmpstore_open_ok(t->db);
	char *json = (char *)"x";

	assert_int_equal(store_track(s, NULL, NULL, "c", 1, 1, true, "e", NULL), -1);
	assert_int_equal(store_track(s, "e", NULL, NULL, 1, 1, true, "e", NULL), -1);
	assert_int_equal(store_track(s, "e", NULL, "c", 1, 1, true, NULL, NULL), -1);
	assert_int_equal(store_track(s, "e", NULL, "c", UINT64_MAX, 1, true, "e", NULL), -1);
	assert_int_equal(store_track(NULL, "e", NULL, "c", 1, 1, true, "e", NULL), -1);
	assert_int_equal(store_deliveries_json(s, NULL, NULL, false, &json, NULL), -1);
	assert_null(json);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_and_reopen, tmpstore_setup_closed, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_too_new_refused, tmpstore_setup_closed, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_migrates_from_v1, tmpstore_setup_closed, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_path, tmpstore_setup_closed, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_track_json, tmpstore_setup_closed, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_json_escaping, tmpstore_setup_closed, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, tmpstore_setup_closed, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_track_per_application, tmpstore_setup_closed, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_listing_cursor, tmpstore_setup_closed, tmpstore_teardown),
		cmocka_unit_test_setup_teardown(test_migrates_from_v3, tmpstore_setup_closed, tmpstore_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
