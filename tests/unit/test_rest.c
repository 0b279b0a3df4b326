/*
 * test_rest.c - the pure parts of the REST binding (rest_json.c): phone
 * numbers and devices, x-correlator, request bodies and typed fields,
 * CAMARA error answers, the retrieve answer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rest.h"

#define DOMAIN "ims.example.com"

/* The reply's body as a string (NUL-terminated copy checked against len). */
static void expect_reply(struct rest_reply *out, unsigned status, const char *body)
{
	assert_int_equal(out->status, status);
	assert_non_null(out->body);
	assert_int_equal(out->len, strlen(body));
	assert_memory_equal(out->body, body, out->len);
	assert_null(out->ctype);
	free(out->body);
	memset(out, 0, sizeof(*out));
}

/* The reply is an error with this status and code (message not empty). */
static void expect_error(struct rest_reply *out, unsigned status, const char *code)
{
	json_error_t e;
	json_t *v;

	assert_int_equal(out->status, status);
	assert_non_null(out->body);
	v = json_loadb(out->body, out->len, 0, &e);
	assert_non_null(v);
	assert_int_equal(json_object_size(v), 3);
	assert_int_equal(json_integer_value(json_object_get(v, "status")), status);
	assert_string_equal(json_string_value(json_object_get(v, "code")), code);
	assert_true(json_is_string(json_object_get(v, "message")));
	assert_true(strlen(json_string_value(json_object_get(v, "message"))) > 0);
	json_decref(v);
	free(out->body);
	memset(out, 0, sizeof(*out));
}

static void test_phone(void **state)
{
	static const char *const ok[] = { "+1", "+15550100", "+123456789012345", "+0" };
	static const char *const bad[] = {
		"", "+", "15550100", "+1234567890123456", "+1555 0100", "+1-555-0100",
		"tel:+15550100", "+1555a", "++1", " +1", "+1\n", "+１",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!rest_phone_ok(ok[i]))
			fail_msg("\"%s\" refused", ok[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rest_phone_ok(bad[i]))
			fail_msg("\"%s\" accepted", bad[i]);
	assert_false(rest_phone_ok(NULL));
}

static void test_correlator(void **state)
{
	char long_ok[REST_CORRELATOR_MAX + 1], too_long[REST_CORRELATOR_MAX + 2];
	static const char *const bad[] = {
		"a b", "a\\b", "caf\xc3\xa9", "a\"b", "a,b", "a=b", "a@b", "a+b", "a\tb", "%20", "a!",
	};

	(void)state;
	assert_true(rest_correlator_ok(""));
	assert_true(rest_correlator_ok("b4333c46-49c0-4f62-80d7-f0ef930f1c46"));
	assert_true(rest_correlator_ok("-_:;./<>{}AZaz09"));
	memset(long_ok, 'x', REST_CORRELATOR_MAX);
	long_ok[REST_CORRELATOR_MAX] = '\0';
	assert_true(rest_correlator_ok(long_ok));
	memset(too_long, 'x', REST_CORRELATOR_MAX + 1);
	too_long[REST_CORRELATOR_MAX + 1] = '\0';
	assert_false(rest_correlator_ok(too_long));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rest_correlator_ok(bad[i]))
			fail_msg("\"%s\" accepted", bad[i]);
	assert_false(rest_correlator_ok(NULL));
}

static void test_error_json(void **state)
{
	struct rest_reply out = { 0 };
	char big[2000];

	(void)state;
	assert_int_equal(rest_reply_error(&out, 404, "IDENTIFIER_NOT_FOUND", "no %s", "such"), 0);
	expect_reply(&out, 404, "{\"status\":404,\"code\":\"IDENTIFIER_NOT_FOUND\",\"message\":\"no such\"}");
	/* a message with quotes, a backslash and a control character is escaped */
	rest_reply_error(&out, 400, "INVALID_ARGUMENT", "a \"b\" \\ \n");
	expect_reply(&out, 400,
		     "{\"status\":400,\"code\":\"INVALID_ARGUMENT\",\"message\":\"a \\\"b\\\" \\\\ \\n\"}");
	/* a long message is cut, still JSON */
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rest_reply_error(&out, 503, "UNAVAILABLE", "%s", big);
	expect_error(&out, 503, "UNAVAILABLE");
	/* json: taken; NULL is a 500 */
	rest_reply_json(&out, 201, json_pack("{s:s}", "id", "x"));
	expect_reply(&out, 201, "{\"id\":\"x\"}");
	assert_int_equal(rest_reply_json(&out, 200, NULL), -1);
	expect_error(&out, 500, "INTERNAL");
	rest_reply_empty(&out, 204);
	assert_int_equal(out.status, 204);
	assert_null(out.body);
	assert_int_equal(out.len, 0);
}

/* Parses text; expects a 400 INVALID_ARGUMENT. */
static void expect_bad_body(const char *text)
{
	struct rest_reply out = { 0 };
	json_t *v = (json_t *)1;

	if (rest_parse_body(text, strlen(text), &v, &out) != -1)
		fail_msg("body accepted: %s", text);
	assert_null(v);
	expect_error(&out, 400, "INVALID_ARGUMENT");
}

/* {"a":[[...]]}: levels containers in all, the object included. */
static void nested(char *buf, size_t cap, int levels)
{
	size_t n = 0;

	n += (size_t)snprintf(buf + n, cap - n, "{\"a\":");
	for (int i = 1; i < levels; i++)
		buf[n++] = '[';
	for (int i = 1; i < levels; i++)
		buf[n++] = ']';
	buf[n++] = '}';
	buf[n] = '\0';
}

static void test_body(void **state)
{
	struct rest_reply out = { 0 };
	char deep[200], ok[200];
	json_t *v;

	(void)state;
	assert_int_equal(rest_parse_body("{\"a\":1,\"zz\":{}}", 15, &v, &out), 0);
	assert_int_equal(json_object_size(v), 2);
	json_decref(v);
	/* len counts, not the NUL */
	assert_int_equal(rest_parse_body("{}garbage", 2, &v, &out), 0);
	json_decref(v);
	expect_bad_body("");
	expect_bad_body("{");
	expect_bad_body("{\"a\":1,}");
	expect_bad_body("[]");
	expect_bad_body("\"device\"");
	expect_bad_body("12");
	expect_bad_body("null");
	expect_bad_body("{\"a\":1,\"a\":2}");      /* duplicate keys */
	expect_bad_body("{\"a\":1} {}");
	expect_bad_body("{'a':1}");
	expect_bad_body("{\"a\":\"\xff\"}");       /* not UTF-8 */
	/* depth: REST_MAX_DEPTH levels of containers pass, one more does not */
	nested(ok, sizeof(ok), REST_MAX_DEPTH);
	assert_int_equal(rest_parse_body(ok, strlen(ok), &v, &out), 0);
	json_decref(v);
	nested(deep, sizeof(deep), REST_MAX_DEPTH + 1);
	expect_bad_body(deep);
}

static void test_fields(void **state)
{
	struct rest_reply out = { 0 };
	json_t *o = json_loads("{\"s\":\"x\",\"i\":5,\"b\":false,\"o\":{},\"a\":[],\"n\":null,"
			       "\"r\":1.5}", 0, NULL), *v;

	(void)state;
	assert_non_null(o);
	assert_int_equal(rest_field(o, "s", REST_STRING, "s", &v, &out), 1);
	assert_string_equal(json_string_value(v), "x");
	assert_int_equal(rest_field(o, "i", REST_INT, "i", &v, &out), 1);
	assert_int_equal(json_integer_value(v), 5);
	assert_int_equal(rest_field(o, "b", REST_BOOL, "b", &v, &out), 1);
	assert_int_equal(rest_field(o, "o", REST_OBJECT, "o", &v, &out), 1);
	assert_int_equal(rest_field(o, "a", REST_ARRAY, "a", &v, &out), 1);
	assert_int_equal(rest_field(o, "missing", REST_STRING, "missing", &v, &out), 0);
	assert_null(v);
	assert_null(out.body);
	assert_int_equal(rest_field(o, "i", REST_STRING, "config.x", &v, &out), -1);
	assert_null(v);
	expect_reply(&out, 400, "{\"status\":400,\"code\":\"INVALID_ARGUMENT\","
		     "\"message\":\"config.x must be a string\"}");
	assert_int_equal(rest_field(o, "r", REST_INT, "r", &v, &out), -1);
	expect_error(&out, 400, "INVALID_ARGUMENT");
	assert_int_equal(rest_field(o, "n", REST_OBJECT, "n", &v, &out), -1);
	expect_error(&out, 400, "INVALID_ARGUMENT");
	assert_int_equal(rest_field(o, "s", REST_BOOL, "s", &v, &out), -1);
	expect_error(&out, 400, "INVALID_ARGUMENT");
	assert_int_equal(rest_field(o, "o", REST_ARRAY, "o", &v, &out), -1);
	expect_error(&out, 400, "INVALID_ARGUMENT");
	json_decref(o);
}

/* Parses the device of request text; expects an error. */
static void expect_device_error(const char *text, unsigned status, const char *code)
{
	struct rest_reply out = { 0 };
	struct rest_device d;
	json_t *req = json_loads(text, 0, NULL);

	if (!req)
		fail_msg("test JSON broken: %s", text);
	if (rest_device_parse(json_object_get(req, "device"), DOMAIN, &d, &out) != -1)
		fail_msg("device accepted: %s", text);
	json_decref(req);
	expect_error(&out, status, code);
}

static void test_device(void **state)
{
	struct rest_reply out = { 0 };
	struct rest_device d;
	json_t *req;

	(void)state;
	req = json_loads("{\"device\":{\"phoneNumber\":\"+15550100\",\"extra\":[1]}}", 0, NULL);
	assert_int_equal(rest_device_parse(json_object_get(req, "device"), DOMAIN, &d, &out), 0);
	assert_null(out.body);
	assert_string_equal(d.phone, "+15550100");
	assert_string_equal(d.tel, "tel:+15550100");
	assert_string_equal(d.sip, "sip:+15550100@" DOMAIN ";user=phone");
	assert_int_equal(d.n_ids, 1);
	json_decref(req);
	/* more identifiers: the phone number is used */
	req = json_loads("{\"device\":{\"ipv6Address\":\"2001:db8::1\",\"phoneNumber\":\"+4930\","
			 "\"networkAccessIdentifier\":\"a@b\",\"ipv4Address\":{\"publicAddress\":"
			 "\"84.125.93.10\",\"publicPort\":59765}}}", 0, NULL);
	assert_int_equal(rest_device_parse(json_object_get(req, "device"), DOMAIN, &d, &out), 0);
	assert_string_equal(d.tel, "tel:+4930");
	assert_int_equal(d.n_ids, 4);
	json_decref(req);

	expect_device_error("{}", 422, "MISSING_IDENTIFIER");
	expect_device_error("{\"devices\":{\"phoneNumber\":\"+1\"}}", 422, "MISSING_IDENTIFIER");
	expect_device_error("{\"device\":{}}", 400, "INVALID_ARGUMENT");
	expect_device_error("{\"device\":{\"phone\":\"+1\"}}", 400, "INVALID_ARGUMENT");
	expect_device_error("{\"device\":\"+15550100\"}", 400, "INVALID_ARGUMENT");
	expect_device_error("{\"device\":null}", 400, "INVALID_ARGUMENT");
	expect_device_error("{\"device\":{\"phoneNumber\":15550100}}", 400, "INVALID_ARGUMENT");
	expect_device_error("{\"device\":{\"phoneNumber\":\"15550100\"}}", 400, "INVALID_ARGUMENT");
	expect_device_error("{\"device\":{\"phoneNumber\":\"+1234567890123456\"}}", 400,
			    "INVALID_ARGUMENT");
	expect_device_error("{\"device\":{\"phoneNumber\":\"+15550100\",\"ipv6Address\":\"x\"}}",
			    400, "INVALID_ARGUMENT");
	expect_device_error("{\"device\":{\"networkAccessIdentifier\":\"123@example.com\"}}", 422,
			    "UNSUPPORTED_IDENTIFIER");
	expect_device_error("{\"device\":{\"ipv6Address\":\"2001:db8::1\"}}", 422,
			    "UNSUPPORTED_IDENTIFIER");
	expect_device_error("{\"device\":{\"ipv4Address\":{\"publicAddress\":\"84.125.93.10\","
			    "\"privateAddress\":\"10.0.0.1\"}}}", 422, "UNSUPPORTED_IDENTIFIER");
	expect_device_error("{\"device\":{\"networkAccessIdentifier\":5}}", 400, "INVALID_ARGUMENT");
	expect_device_error("{\"device\":{\"ipv6Address\":\"1.2.3.4\"}}", 400, "INVALID_ARGUMENT");
	expect_device_error("{\"device\":{\"ipv4Address\":\"84.125.93.10\"}}", 400, "INVALID_ARGUMENT");
	expect_device_error("{\"device\":{\"ipv4Address\":{\"publicAddress\":\"84.125.93.10\"}}}", 400,
			    "INVALID_ARGUMENT");
	expect_device_error("{\"device\":{\"ipv4Address\":{\"publicAddress\":\"84.125.93\","
			    "\"publicPort\":1}}}", 400, "INVALID_ARGUMENT");
	expect_device_error("{\"device\":{\"ipv4Address\":{\"publicAddress\":\"84.125.93.10\","
			    "\"publicPort\":65536}}}", 400, "INVALID_ARGUMENT");

	/* the device as answers show it */
	req = rest_device_json(&d);
	{
		char *t = json_dumps(req, JSON_COMPACT);

		assert_string_equal(t, "{\"phoneNumber\":\"+4930\"}");
		free(t);
	}
	json_decref(req);
}

static void expect_status_json(ts_status st, int64_t ms, const struct rest_device *d,
			       const char *want)
{
	json_t *v = rest_status_json(st, ms, d);
	char *t;

	assert_non_null(v);
	t = json_dumps(v, JSON_COMPACT);
	assert_string_equal(t, want);
	free(t);
	json_decref(v);
}

static void test_answer(void **state)
{
	struct rest_device d = { .phone = "+15550100", .n_ids = 2 };
	char t[40];

	(void)state;
	rest_time_text(1796464800123, t, sizeof(t));
	assert_string_equal(t, "2026-12-05T10:00:00.123Z");
	rest_time_text(0, t, sizeof(t));
	assert_string_equal(t, "1970-01-01T00:00:00.000Z");
	expect_status_json(TS_REACHABLE, 1796464800123, NULL,
			   "{\"lastStatusTime\":\"2026-12-05T10:00:00.123Z\",\"reachable\":true,"
			   "\"connectivity\":[\"DATA\"]}");
	expect_status_json(TS_BUSY, 1796464800000, NULL,
			   "{\"lastStatusTime\":\"2026-12-05T10:00:00.000Z\",\"reachable\":true,"
			   "\"connectivity\":[\"DATA\"]}");
	expect_status_json(TS_UNREACHABLE, 1796464800000, NULL,
			   "{\"lastStatusTime\":\"2026-12-05T10:00:00.000Z\",\"reachable\":false}");
	expect_status_json(TS_UNREACHABLE, 1796464800000, &d,
			   "{\"device\":{\"phoneNumber\":\"+15550100\"},"
			   "\"lastStatusTime\":\"2026-12-05T10:00:00.000Z\",\"reachable\":false}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phone),
		cmocka_unit_test(test_correlator),
		cmocka_unit_test(test_error_json),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_device),
		cmocka_unit_test(test_answer),
	};

	return cmocka_run_group_tests_name("rest", tests, NULL, NULL);
}
