/*
 * test_camara_sub.c - CAMARA subscriptions (camara_sub.c, contract section
 * 12): a POST body mapped onto a notification's start, every refusal with
 * its status and code, the answer's JSON, the CloudEvent JSON, the stored
 * form, times and ids; and the CloudEvents' outbox payload (dlv_payload.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camara_sub.h"
#include "dlv.h"
#include "log.h"
#include "nm_int.h"
#include "rest.h"

#define DISC CSUB_TYPE_PREFIX "reachability-disconnected"
#define DATA CSUB_TYPE_PREFIX "reachability-data"

static int64_t t(const char *s)
{
	int64_t ms = -1;

	assert_int_equal(csub_parse_time(s, &ms), 0);
	return ms;
}

static struct nm_policy policy(void)
{
	struct nm_policy p = {
		.default_duration_ms = 3600 * 1000LL,
		.max_duration_ms = 86400 * 1000LL,
		.max_count = 1000,
		.unlimited_count_allowed = true,
	};
	return p;
}

static struct nm_policy pol;

static struct csub_params params(void)
{
	struct csub_params p = {
		.app = "app1",
		.x_correlator = "corr-1",
		.source = "http://gw.example:8080",
		.pol = &pol,
		.tel_domain = "tel.example",
		.now_ms = t("2026-12-05T10:00:00Z"),
	};
	return p;
}

/* csub_prepare of text: the start, or NULL with *out the error. */
static struct nm_start *prep_p(const char *text, const struct csub_params *p, struct rest_reply *out)
{
	json_error_t je;
	json_t *body = json_loads(text, 0, &je);
	struct nm_start *s;

	memset(out, 0, sizeof(*out));
	s = csub_prepare(body, p, out);
	json_decref(body);
	return s;
}

static struct nm_start *prep(const char *text, struct rest_reply *out)
{
	struct csub_params p = params();

	return prep_p(text, &p, out);
}

/* "status code" of an error reply (its body parsed), and it is freed */
static char *err_of(struct rest_reply *out)
{
	static char buf[160];
	json_t *o = json_loads(out->body ? out->body : "", 0, NULL);

	snprintf(buf, sizeof(buf), "%u %d %s", out->status, (int)json_integer_value(json_object_get(o, "status")),
		 json_string_value(json_object_get(o, "code")) ? json_string_value(json_object_get(o, "code")) : "?");
	json_decref(o);
	free(out->body);
	out->body = NULL;
	return buf;
}

#define FULL                                                                                        \
	"{\"protocol\":\"HTTP\",\"sink\":\"https://app.example/events\","                            \
	"\"sinkCredential\":{\"credentialType\":\"ACCESSTOKEN\",\"accessToken\":\"tok-1\","         \
	"\"accessTokenExpiresUtc\":\"2026-12-05T12:00:00Z\",\"accessTokenType\":\"bearer\"},"      \
	"\"types\":[\"" DISC "\"],\"unknown\":{\"x\":1},"                                           \
	"\"config\":{\"subscriptionDetail\":{\"device\":{\"phoneNumber\":\"+15550100\"}},"          \
	"\"subscriptionExpireTime\":\"2026-12-05T11:00:00Z\",\"subscriptionMaxEvents\":5,"        \
	"\"initialEvent\":true}}"

static void test_mapping(void **state)
{
	struct rest_reply out;
	struct nm_start *s = prep(FULL, &out);
	const struct csub *c;
	const struct notif_params *np;

	(void)state;
	assert_non_null(s);
	c = csub_of(s);
	np = nm_start_params(s);
	/* the notification */
	assert_string_equal(s->app, "app1");
	assert_int_equal(strlen(csub_id(s)), CSUB_ID_LEN);
	assert_string_equal(s->endpoint, "https://app.example/events");
	assert_int_equal(nm_start_count(s), 1);
	assert_string_equal(nm_start_address(s, 0), "tel:+15550100");
	assert_string_equal(nm_start_sip_uri(s, 0), "sip:+15550100@tel.example;user=phone");
	assert_int_equal(np->criteria, NOTIF_CRITERION(TS_UNREACHABLE));
	assert_int_equal(np->frequency_ms, 0);
	assert_int_equal(np->count, 5);
	assert_true(np->check_immediate);
	assert_int_equal(nm_start_duration_ms(s), 3600 * 1000LL);
	/* the subscription's own data */
	assert_int_equal(c->type, CSUB_DISCONNECTED);
	assert_string_equal(c->phone, "+15550100");
	assert_string_equal(c->bearer, "tok-1");
	assert_int_equal(c->token_expires_ms, t("2026-12-05T12:00:00Z"));
	assert_int_equal(c->expires_ms, t("2026-12-05T11:00:00Z"));
	assert_int_equal(c->max_events, 5);
	assert_string_equal(c->x_correlator, "corr-1");
	assert_string_equal(c->source, "http://gw.example:8080");
	/* the answer: the request without the token and its expiry (and
	 * without unknown fields), with id, startsAt, expiresAt, status */
	{
		char want[2048];

		snprintf(want, sizeof(want),
			 "{\"protocol\":\"HTTP\",\"sink\":\"https://app.example/events\","
			 "\"sinkCredential\":{\"credentialType\":\"ACCESSTOKEN\",\"accessTokenType\":\"bearer\"},"
			 "\"types\":[\"" DISC "\"],"
			 "\"config\":{\"subscriptionDetail\":{\"device\":{\"phoneNumber\":\"+15550100\"}},"
			 "\"subscriptionExpireTime\":\"2026-12-05T11:00:00Z\",\"subscriptionMaxEvents\":5,"
			 "\"initialEvent\":true},\"id\":\"%s\",\"startsAt\":\"2026-12-05T10:00:00.000Z\","
			 "\"expiresAt\":\"2026-12-05T11:00:00.000Z\",\"status\":\"ACTIVE\"}", csub_id(s));
		assert_string_equal(c->json, want);
	}
	nm_start_free(s);
}

static void test_mapping_data_defaults(void **state)
{
	struct rest_reply out;
	struct csub_params p = params();
	struct nm_start *s;

	(void)state;
	p.x_correlator = NULL;
	p.app = NULL;
	s = prep_p("{\"protocol\":\"HTTP\",\"sink\":\"http://127.0.0.1:9/e\",\"types\":[\"" DATA "\"],"
		   "\"config\":{\"subscriptionDetail\":{\"device\":{\"phoneNumber\":\"+4930123\"}}}}", &p, &out);
	assert_non_null(s);
	assert_string_equal(s->app, "");
	/* reachability-data: entering Reachable (Busy counts as Reachable) */
	assert_int_equal(nm_start_params(s)->criteria, NOTIF_CRITERION(TS_REACHABLE));
	assert_int_equal(nm_start_params(s)->count, 0);
	assert_false(nm_start_params(s)->check_immediate);
	assert_int_equal(nm_start_duration_ms(s), pol.default_duration_ms);
	assert_int_equal(csub_of(s)->expires_ms, p.now_ms + pol.default_duration_ms);
	assert_null(csub_of(s)->bearer);
	assert_int_equal(csub_of(s)->token_expires_ms, 0);
	assert_null(csub_of(s)->x_correlator);
	assert_null(strstr(csub_of(s)->json, "sinkCredential"));
	assert_non_null(strstr(csub_of(s)->json, "\"expiresAt\":\"2026-12-05T11:00:00.000Z\""));
	nm_start_free(s);

	/* a token that expires before the subscription: the notification
	 * ends with it (ACCESS_TOKEN_EXPIRED), expiresAt stays the
	 * subscription's */
	s = prep("{\"protocol\":\"HTTP\",\"sink\":\"http://127.0.0.1:9/e\",\"types\":[\"" DATA "\"],"
		 "\"sinkCredential\":{\"credentialType\":\"ACCESSTOKEN\",\"accessToken\":\"x\","
		 "\"accessTokenType\":\"bearer\",\"accessTokenExpiresUtc\":\"2026-12-05T10:10:00+00:00\"},"
		 "\"config\":{\"subscriptionDetail\":{\"device\":{\"phoneNumber\":\"+4930123\"}}}}", &out);
	assert_non_null(s);
	assert_int_equal(nm_start_duration_ms(s), 600 * 1000LL);
	assert_non_null(strstr(csub_of(s)->json, "\"expiresAt\":\"2026-12-05T11:00:00.000Z\""));
	nm_start_free(s);
}

static void test_busy_is_reachable(void **state)
{
	(void)state;
	assert_int_equal(csub_status(TS_BUSY), TS_REACHABLE);
	assert_int_equal(csub_status(TS_REACHABLE), TS_REACHABLE);
	assert_int_equal(csub_status(TS_UNREACHABLE), TS_UNREACHABLE);
	assert_int_equal(csub_event_op(CSUB_DATA), DLV_CE_REACHABILITY_DATA);
	assert_int_equal(csub_event_op(CSUB_DISCONNECTED), DLV_CE_REACHABILITY_DISCONNECTED);
}

#define S "\"sink\":\"http://127.0.0.1:9/e\""
#define P "\"protocol\":\"HTTP\""
#define TY "\"types\":[\"" DISC "\"]"
#define DEV "\"subscriptionDetail\":{\"device\":{\"phoneNumber\":\"+15550100\"}}"
#define CRED(x) "\"sinkCredential\":{" x "}"
#define BODY(cfg) "{" P "," S "," TY ",\"config\":{" DEV cfg "}}"
#define BODYC(cred) "{" P "," S "," TY "," cred ",\"config\":{" DEV "}}"

static void test_refusals(void **state)
{
	static const struct {
		const char *body, *want;
	} cases[] = {
		{ "[1]", "400 400 INVALID_ARGUMENT" },
		{ "{" S "," TY ",\"config\":{" DEV "}}", "400 400 INVALID_ARGUMENT" },
		{ "{\"protocol\":\"MQTT3\"," S "," TY ",\"config\":{" DEV "}}", "400 400 INVALID_PROTOCOL" },
		{ "{\"protocol\":7," S "," TY ",\"config\":{" DEV "}}", "400 400 INVALID_ARGUMENT" },
		{ "{" P "," TY ",\"config\":{" DEV "}}", "400 400 INVALID_ARGUMENT" },
		{ "{" P ",\"sink\":\"ftp://h/e\"," TY ",\"config\":{" DEV "}}", "400 400 INVALID_SINK" },
		{ "{" P ",\"sink\":\"/relative\"," TY ",\"config\":{" DEV "}}", "400 400 INVALID_SINK" },
		{ "{" P ",\"sink\":42," TY ",\"config\":{" DEV "}}", "400 400 INVALID_ARGUMENT" },
		{ BODYC(CRED("\"credentialType\":\"PLAIN\",\"accessToken\":\"x\",\"accessTokenType\":\"bearer\"")),
		  "400 400 INVALID_CREDENTIAL" },
		{ BODYC(CRED("\"credentialType\":\"ACCESSTOKEN\",\"accessToken\":\"x\",\"accessTokenType\":\"mac\"")),
		  "400 400 INVALID_CREDENTIAL" },
		{ BODYC(CRED("\"credentialType\":\"ACCESSTOKEN\",\"accessToken\":\"x\"")), "400 400 INVALID_CREDENTIAL" },
		{ BODYC(CRED("\"credentialType\":\"ACCESSTOKEN\",\"accessTokenType\":\"bearer\"")), "400 400 INVALID_TOKEN" },
		{ BODYC(CRED("\"credentialType\":\"ACCESSTOKEN\",\"accessToken\":\"\",\"accessTokenType\":\"bearer\"")),
		  "400 400 INVALID_TOKEN" },
		{ BODYC(CRED("\"credentialType\":\"ACCESSTOKEN\",\"accessToken\":\"a\\r\\nX: y\",\"accessTokenType\":\"bearer\"")),
		  "400 400 INVALID_TOKEN" },
		{ BODYC(CRED("\"credentialType\":\"ACCESSTOKEN\",\"accessToken\":\"a\",\"accessTokenType\":\"bearer\","
			     "\"accessTokenExpiresUtc\":\"2026-12-05T09:00:00Z\"")), "400 400 INVALID_CREDENTIAL" },
		{ BODYC(CRED("\"credentialType\":\"ACCESSTOKEN\",\"accessToken\":\"a\",\"accessTokenType\":\"bearer\","
			     "\"accessTokenExpiresUtc\":\"tomorrow\"")), "400 400 INVALID_CREDENTIAL" },
		{ BODYC("\"sinkCredential\":\"tok\""), "400 400 INVALID_ARGUMENT" },
		{ "{" P "," S ",\"config\":{" DEV "}}", "400 400 INVALID_ARGUMENT" },
		{ "{" P "," S ",\"types\":[],\"config\":{" DEV "}}", "400 400 INVALID_ARGUMENT" },
		{ "{" P "," S ",\"types\":[\"" DISC "\",\"" DATA "\"],\"config\":{" DEV "}}", "400 400 INVALID_ARGUMENT" },
		{ "{" P "," S ",\"types\":[\"" CSUB_TYPE_PREFIX "reachability-sms\"],\"config\":{" DEV "}}",
		  "400 400 INVALID_ARGUMENT" },
		{ "{" P "," S ",\"types\":[\"org.example.other\"],\"config\":{" DEV "}}", "400 400 INVALID_ARGUMENT" },
		{ "{" P "," S ",\"types\":\"" DISC "\",\"config\":{" DEV "}}", "400 400 INVALID_ARGUMENT" },
		{ "{" P "," S "," TY "}", "400 400 INVALID_ARGUMENT" },
		{ "{" P "," S "," TY ",\"config\":{}}", "422 422 MISSING_IDENTIFIER" },
		{ "{" P "," S "," TY ",\"config\":{\"subscriptionDetail\":{\"device\":{}}}}", "400 400 INVALID_ARGUMENT" },
		{ "{" P "," S "," TY ",\"config\":{\"subscriptionDetail\":{\"device\":{\"networkAccessIdentifier\":\"a@b\"}}}}",
		  "422 422 UNSUPPORTED_IDENTIFIER" },
		{ "{" P "," S "," TY ",\"config\":{\"subscriptionDetail\":{\"device\":{\"phoneNumber\":\"15550100\"}}}}",
		  "400 400 INVALID_ARGUMENT" },
		{ BODY(",\"subscriptionExpireTime\":\"2026-12-05T09:59:59Z\""), "400 400 INVALID_ARGUMENT" },
		{ BODY(",\"subscriptionExpireTime\":\"2026-12-05T10:00:00Z\""), "400 400 INVALID_ARGUMENT" },
		{ BODY(",\"subscriptionExpireTime\":\"2026-12-05 11:00\""), "400 400 INVALID_ARGUMENT" },
		{ BODY(",\"subscriptionExpireTime\":12"), "400 400 INVALID_ARGUMENT" },
		{ BODY(",\"subscriptionExpireTime\":\"2026-12-06T10:00:01Z\""), "403 403 PERMISSION_DENIED" },
		{ BODY(",\"subscriptionMaxEvents\":0"), "400 400 INVALID_ARGUMENT" },
		{ BODY(",\"subscriptionMaxEvents\":-3"), "400 400 INVALID_ARGUMENT" },
		{ BODY(",\"subscriptionMaxEvents\":2.5"), "400 400 INVALID_ARGUMENT" },
		{ BODY(",\"subscriptionMaxEvents\":\"5\""), "400 400 INVALID_ARGUMENT" },
		{ BODY(",\"subscriptionMaxEvents\":1001"), "403 403 PERMISSION_DENIED" },
		{ BODY(",\"initialEvent\":\"true\""), "400 400 INVALID_ARGUMENT" },
	};
	struct rest_reply out;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nm_start *s = prep(cases[i].body, &out);

		if (s || strcmp(err_of(&out), cases[i].want) != 0) {
			print_error("case %zu: %s\n", i, cases[i].body);
			nm_start_free(s);
			assert_string_equal(s ? "created" : err_of(&out), cases[i].want);
		}
	}
	/* the limits themselves are allowed */
	{
		struct nm_start *s = prep(BODY(",\"subscriptionExpireTime\":\"2026-12-06T10:00:00Z\","
					       "\"subscriptionMaxEvents\":1000"), &out);

		assert_non_null(s);
		assert_int_equal(nm_start_params(s)->count, 1000);
		nm_start_free(s);
	}
	/* no max events while unlimited is not allowed */
	pol.unlimited_count_allowed = false;
	assert_null(prep(BODY(""), &out));
	assert_string_equal(err_of(&out), "403 403 PERMISSION_DENIED");
	pol.unlimited_count_allowed = true;
}

static void test_sink_check(void **state)
{
	struct rest_reply out;
	struct nm_start *s = prep("{" P ",\"sink\":\"http://10.1.2.3:8080/e\"," TY ",\"config\":{" DEV "}}", &out);
	json_t *o;

	(void)state;
	assert_non_null(s);
	memset(&out, 0, sizeof(out));
	assert_int_equal(csub_check_sink(s, &pol, &out), -1);
	o = json_loads(out.body, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(o, "code")), "INVALID_SINK");
	assert_string_equal(json_string_value(json_object_get(o, "message")), "sink not allowed: 10.1.2.3");
	json_decref(o);
	free(out.body);
	nm_start_free(s);
}

static void test_start_result(void **state)
{
	static const struct {
		enum fault_id id;
		const char *var, *want;
	} cases[] = {
		{ POL0001, "too many notifications", "429 429 QUOTA_EXCEEDED" },
		{ POL0001, "too many subscriptions", "429 429 QUOTA_EXCEEDED" },
		{ SVC0004, "addresses", "404 404 IDENTIFIER_NOT_FOUND" },
		{ POL0002, "tel:+15550100", "403 403 PERMISSION_DENIED" },
		{ SVC0001, "no presence state within 2000 ms", "503 503 UNAVAILABLE" },
	};
	struct rest_reply out;
	struct nm_start *s = prep(FULL, &out);

	(void)state;
	assert_int_equal(csub_start_result(s, &out), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s->failed = true;
		fault_set(&s->fault, cases[i].id, cases[i].var, NULL);
		memset(&out, 0, sizeof(out));
		assert_int_equal(csub_start_result(s, &out), -1);
		assert_string_equal(err_of(&out), cases[i].want);
	}
	nm_start_free(s);
}

static void test_event_json(void **state)
{
	char *e;

	(void)state;
	e = csub_event_json("11111111-2222-4333-8444-555555555555", "http://gw:8080",
			    DLV_CE_REACHABILITY_DISCONNECTED, t("2026-12-05T10:00:01.250Z"),
			    "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", "+15550100", CSUB_END_NONE);
	assert_string_equal(e, "{\"id\":\"11111111-2222-4333-8444-555555555555\",\"source\":\"http://gw:8080\","
			    "\"type\":\"" DISC "\",\"specversion\":\"1.0\",\"datacontenttype\":\"application/json\","
			    "\"time\":\"2026-12-05T10:00:01.250Z\",\"data\":{\"subscriptionId\":"
			    "\"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee\",\"device\":{\"phoneNumber\":\"+15550100\"}}}");
	free(e);
	e = csub_event_json("id-2", "http://gw:8080", DLV_CE_REACHABILITY_DATA, t("2026-12-05T10:00:00Z"), "s",
			    "+1", CSUB_END_NONE);
	assert_non_null(strstr(e, "\"type\":\"" DATA "\""));
	free(e);
	e = csub_event_json("id-3", "http://gw:8080", DLV_CE_SUBSCRIPTION_ENDED, t("2026-12-05T10:00:00Z"),
			    "sub", "+15550100", CSUB_MAX_EVENTS_REACHED);
	assert_string_equal(e, "{\"id\":\"id-3\",\"source\":\"http://gw:8080\",\"type\":\"" CSUB_TYPE_PREFIX
			    "subscription-ended\",\"specversion\":\"1.0\",\"datacontenttype\":\"application/json\","
			    "\"time\":\"2026-12-05T10:00:00.000Z\",\"data\":{\"subscriptionId\":\"sub\","
			    "\"terminationReason\":\"MAX_EVENTS_REACHED\",\"device\":{\"phoneNumber\":\"+15550100\"}}}");
	free(e);
	assert_string_equal(csub_reason_name(CSUB_SUBSCRIPTION_EXPIRED), "SUBSCRIPTION_EXPIRED");
	assert_string_equal(csub_reason_name(CSUB_SUBSCRIPTION_DELETED), "SUBSCRIPTION_DELETED");
	assert_string_equal(csub_reason_name(CSUB_NETWORK_TERMINATED), "NETWORK_TERMINATED");
	assert_string_equal(csub_reason_name(CSUB_ACCESS_TOKEN_EXPIRED), "ACCESS_TOKEN_EXPIRED");
}

static void test_times_ids(void **state)
{
	int64_t ms;
	char a[CSUB_ID_LEN + 1], b[CSUB_ID_LEN + 1];

	(void)state;
	assert_int_equal(t("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(t("2026-12-05T10:00:00Z"), 1796464800000LL);
	assert_int_equal(t("2026-12-05t10:00:00.5z"), 1796464800500LL);
	assert_int_equal(t("2026-12-05T11:30:00+01:30"), 1796464800000LL);
	assert_int_equal(t("2026-12-05T08:00:00.123456-02:00"), 1796464800123LL);
	assert_int_equal(t("2028-02-29T00:00:00Z"), 1835395200000LL);
	assert_int_equal(csub_parse_time("2026-02-29T00:00:00Z", &ms), -1);
	assert_int_equal(csub_parse_time("2026-13-01T00:00:00Z", &ms), -1);
	assert_int_equal(csub_parse_time("2026-12-05T10:00:00", &ms), -1);
	assert_int_equal(csub_parse_time("2026-12-05T10:00Z", &ms), -1);
	assert_int_equal(csub_parse_time("2026-12-05T10:00:00.Z", &ms), -1);
	assert_int_equal(csub_parse_time("2026-12-05T10:00:00Z ", &ms), -1);
	assert_int_equal(csub_parse_time("2026-12-05T24:00:00Z", &ms), -1);
	assert_int_equal(csub_parse_time("", &ms), -1);
	csub_uuid(a);
	csub_uuid(b);
	assert_int_equal(strlen(a), 36);
	assert_string_not_equal(a, b);
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89ab", a[19]));
	assert_true(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
}

static void test_stored_form(void **state)
{
	struct rest_reply out;
	struct nm_start *s = prep(FULL, &out);
	struct csub *d;
	char *text;

	(void)state;
	text = csub_encode(csub_of(s));
	d = csub_decode(text);
	assert_non_null(d);
	assert_int_equal(d->type, CSUB_DISCONNECTED);
	assert_string_equal(d->phone, "+15550100");
	assert_string_equal(d->bearer, "tok-1");
	assert_int_equal(d->token_expires_ms, csub_of(s)->token_expires_ms);
	assert_int_equal(d->expires_ms, csub_of(s)->expires_ms);
	assert_int_equal(d->max_events, 5);
	assert_string_equal(d->x_correlator, "corr-1");
	assert_string_equal(d->source, "http://gw.example:8080");
	assert_string_equal(d->json, csub_of(s)->json);
	assert_int_equal(d->end_reason, CSUB_END_NONE);
	csub_free(d);
	free(text);
	assert_null(csub_decode("{\"type\":7}"));
	assert_null(csub_decode("not json"));
	assert_null(csub_decode(NULL));
	nm_start_free(s);
}

/* A CloudEvent's outbox payload (dlv_payload.c): body, token and
 * x-correlator survive a restart exactly; invalid items are refused. */
static void test_payload(void **state)
{
	const char *body = "{\"id\":\"a b\",\"data\":{\"x\":\"line\\nbreak %41\"}}";
	struct dlv_item it = {
		.op = DLV_CE_SUBSCRIPTION_ENDED, .app = "a", .correlator = "c", .endpoint = "http://h/e",
		.body = body, .bearer = "tok en", .x_correlator = "x-1",
	};
	char *p, *q;

	(void)state;
	p = dlv_payload_encode(&it);
	assert_non_null(p);
	q = dlv_payload_roundtrip(DLV_CE_SUBSCRIPTION_ENDED, p);
	assert_non_null(q);
	assert_string_equal(q, p);
	free(q);
	/* the payload of one op is not another's */
	assert_null(dlv_payload_roundtrip(DLV_STATUS_END, p));
	assert_null(dlv_payload_roundtrip(DLV_CE_REACHABILITY_DATA, p));
	free(p);
	it.bearer = NULL;
	it.x_correlator = "";
	p = dlv_payload_encode(&it);
	q = dlv_payload_roundtrip(DLV_CE_SUBSCRIPTION_ENDED, p);
	assert_string_equal(q, p);
	free(q);
	free(p);
	/* a body is required; header values have no line break */
	it.body = NULL;
	assert_null(dlv_payload_encode(&it));
	it.body = body;
	it.bearer = "a\r\nX-Evil: 1";
	assert_null(dlv_payload_encode(&it));
	it.bearer = NULL;
	it.x_correlator = "a\nb";
	assert_null(dlv_payload_encode(&it));
	/* a statusEnd payload with a body line is invalid */
	assert_null(dlv_payload_roundtrip(DLV_STATUS_END, "pxtsgw-callback 1 statusEnd\nj {}\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mapping),
		cmocka_unit_test(test_mapping_data_defaults),
		cmocka_unit_test(test_busy_is_reachable),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_sink_check),
		cmocka_unit_test(test_start_result),
		cmocka_unit_test(test_event_json),
		cmocka_unit_test(test_times_ids),
		cmocka_unit_test(test_stored_form),
		cmocka_unit_test(test_payload),
	};

	pol = policy();
	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
