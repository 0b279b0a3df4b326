/*
 * test_nmreq.c - startNotification request checks and policies (nmreq.c):
 * contract sections 5, 6 and 8, with no SIP and no SOAP.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dest.h"
#include "fault.h"
#include "group.h"
#include "log.h"
#include "nm.h"

static const char *const one_addr[] = { "sip:alice@example.com" };

static struct nm_policy policy(void)
{
	struct nm_policy p = {
		.max_addresses = 3,
		.default_duration_ms = 3600 * 1000LL,
		.max_duration_ms = 86400 * 1000LL,
		.min_interval_ms = 500,
		.max_count = 10,
		.unlimited_count_allowed = true,
		.groups = { .group_support = true, .nested_groups = true, .max_targets = 100,
			    .up_to_limit = true },
	};
	return p;
}

static struct nm_request request(void)
{
	struct nm_request r = {
		.endpoint = "http://127.0.0.1:9/cb",
		.interface_name = "TerminalStatusNotification",
		.correlator = "c-1",
		.addresses = one_addr,
		.n_addresses = 1,
	};
	return r;
}

/* Runs nm_prepare; returns the message id of the fault, or "" on success. */
static const char *prep(const struct nm_request *r, const struct nm_policy *p,
			const struct group_set *gs, struct nm_start **out, struct fault *f)
{
	struct nm_start *s = nm_prepare(r, p, gs, "tel.example", NOTIF_STYLE_STATUS_NOTIFICATION, f);

	if (out)
		*out = s;
	else
		nm_start_free(s);
	return s ? "" : fault_msgid(f->id);
}

static void test_defaults(void **state)
{
	struct nm_request r = request();
	struct nm_policy p = policy();
	struct nm_start *s;
	struct fault f;

	(void)state;
	assert_string_equal(prep(&r, &p, NULL, &s, &f), "");
	assert_int_equal(nm_start_duration_ms(s), 3600 * 1000LL);
	assert_int_equal(nm_start_params(s)->count, 0);
	assert_int_equal(nm_start_params(s)->frequency_ms, 0);
	assert_int_equal(nm_start_params(s)->criteria, 0);
	assert_false(nm_start_params(s)->check_immediate);
	assert_int_equal(nm_start_count(s), 1);
	assert_string_equal(nm_start_sip_uri(s, 0), "sip:alice@example.com");
	nm_start_free(s);
}

static void test_endpoint_and_correlator(void **state)
{
	static const char *const bad_endpoints[] = {
		"", "ftp://x/cb", "/relative/cb", "http://", "http:///x", "callback",
		"http://host/with space", "mailto:a@b", "http://h:0/cb", "http://h:65536/cb",
		"http://h:8o/cb", "http://user@/cb", "http://[::1/cb", "http://[zzz]/cb",
	};
	struct nm_request r = request();
	struct nm_policy p = policy();
	struct fault f;
	char big[300];

	(void)state;
	for (size_t i = 0; i < sizeof(bad_endpoints) / sizeof(bad_endpoints[0]); i++) {
		r.endpoint = bad_endpoints[i];
		assert_string_equal(prep(&r, &p, NULL, NULL, &f), "SVC0002");
		assert_string_equal(f.vars[0], "reference.endpoint");
	}
	r.endpoint = NULL;
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "SVC0002");
	r.endpoint = "HTTPS://app.example:8443/ts?x=1";
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "");

	r.correlator = "";
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "SVC0002");
	assert_string_equal(f.vars[0], "reference.correlator");
	r.correlator = NULL;
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "SVC0002");
	memset(big, 'c', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r.correlator = big;
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "SVC0002");
	r.correlator = "tab\tinside";
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "SVC0002");
	/* it goes back out in callbacks: only text XML can carry */
	r.correlator = "surrogate-\xed\xa0\x80";          /* U+D800, as gSOAP decodes &#xD800; */
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "SVC0002");
	assert_string_equal(f.vars[0], "reference.correlator");
	r.correlator = "fffe-\xef\xbf\xbe";
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "SVC0002");
	r.correlator = "latin1-\xe9";                       /* not UTF-8 */
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "SVC0002");
	r.correlator = "overlong-\xc0\xaf";
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "SVC0002");
	r.correlator = "caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x93\x9e";   /* é, €, U+1F4DE */
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "");
}

static void test_addresses(void **state)
{
	static const char *const four[] = { "sip:a@x", "sip:b@x", "sip:c@x", "sip:d@x" };
	static const char *const bad[] = { "sip:a@x", "mailto:b@x" };
	static const char *const tel[] = { "tel:+1-555-0100" };
	struct nm_request r = request();
	struct nm_policy p = policy();
	struct nm_start *s;
	struct fault f;

	(void)state;
	r.n_addresses = 0;
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "SVC0002");
	r.addresses = four;
	r.n_addresses = 4;          /* over max_addresses (3): POL0003, never up to limit */
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "POL0003");
	assert_string_equal(f.vars[0], "addresses");
	r.n_addresses = 3;
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "");
	r.addresses = bad;
	r.n_addresses = 2;
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "SVC0002");
	assert_string_equal(f.vars[0], "addresses");
	r.addresses = tel;
	r.n_addresses = 1;
	assert_string_equal(prep(&r, &p, NULL, &s, &f), "");
	assert_string_equal(nm_start_address(s, 0), "tel:+1-555-0100");
	assert_string_equal(nm_start_sip_uri(s, 0), "sip:+15550100@tel.example;user=phone");
	nm_start_free(s);
}

static void test_groups(void **state)
{
	static const char *const req[] = { "sip:team@g", "sip:a@x" };
	char path[] = "/tmp/test_nmreq.XXXXXX";
	int fd = mkstemp(path);
	FILE *fp = fdopen(fd, "w");
	struct group_set *gs = NULL;
	struct nm_request r = request();
	struct nm_policy p = policy();
	struct nm_start *s;
	struct fault f;
	char err[200];

	(void)state;
	assert_non_null(fp);
	fputs("sip:team@g sip:a@x sip:b@x\nsip:big@g sip:1@x sip:2@x sip:3@x sip:4@x\n", fp);
	fclose(fp);
	assert_int_equal(group_load(path, &gs, err, sizeof(err)), 0);
	unlink(path);

	r.addresses = req;
	r.n_addresses = 2;
	assert_string_equal(prep(&r, &p, gs, &s, &f), "");
	/* members by their own URIs, the duplicate once */
	assert_int_equal(nm_start_count(s), 2);
	assert_string_equal(nm_start_address(s, 0), "sip:a@x");
	assert_string_equal(nm_start_address(s, 1), "sip:b@x");
	nm_start_free(s);

	r.addresses = (const char *const[]){ "sip:big@g" };
	r.n_addresses = 1;
	assert_string_equal(prep(&r, &p, gs, NULL, &f), "POL0003");
	p.groups.group_support = false;
	r.addresses = req;
	assert_string_equal(prep(&r, &p, gs, NULL, &f), "POL0006");
	group_free(gs);
}

static void test_criteria_and_check_immediate(void **state)
{
	static const ts_status busy[] = { TS_BUSY, TS_BUSY };
	static const ts_status two[] = { TS_REACHABLE, TS_UNREACHABLE };
	struct nm_request r = request();
	struct nm_policy p = policy();
	struct nm_start *s;
	struct fault f;

	(void)state;
	r.criteria = busy;
	r.n_criteria = 2;
	r.check_immediate = true;
	assert_string_equal(prep(&r, &p, NULL, &s, &f), "");
	assert_int_equal(nm_start_params(s)->criteria, NOTIF_CRITERION(TS_BUSY));
	assert_true(nm_start_params(s)->check_immediate);
	nm_start_free(s);
	r.criteria = two;
	assert_string_equal(prep(&r, &p, NULL, &s, &f), "");
	assert_int_equal(nm_start_params(s)->criteria,
			 NOTIF_CRITERION(TS_REACHABLE) | NOTIF_CRITERION(TS_UNREACHABLE));
	nm_start_free(s);
}

static void test_frequency(void **state)
{
	struct nm_request r = request();
	struct nm_policy p = policy();
	struct nm_start *s;
	struct fault f;

	(void)state;
	r.frequency = (struct nm_time){ true, NM_MS, 499 };
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "POL0009");
	r.frequency = (struct nm_time){ true, NM_MS, 500 };
	assert_string_equal(prep(&r, &p, NULL, &s, &f), "");
	assert_int_equal(nm_start_params(s)->frequency_ms, 500);
	nm_start_free(s);
	r.frequency = (struct nm_time){ true, NM_MINUTE, 2 };
	assert_string_equal(prep(&r, &p, NULL, &s, &f), "");
	assert_int_equal(nm_start_params(s)->frequency_ms, 120000);
	nm_start_free(s);
	r.frequency = (struct nm_time){ true, NM_SECOND, -1 };
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "SVC0002");
	assert_string_equal(f.vars[0], "frequency");
}

static void test_duration(void **state)
{
	struct nm_request r = request();
	struct nm_policy p = policy();
	struct nm_start *s;
	struct fault f;

	(void)state;
	r.duration = (struct nm_time){ true, NM_DAY, 1 };
	assert_string_equal(prep(&r, &p, NULL, &s, &f), "");
	assert_int_equal(nm_start_duration_ms(s), 86400000LL);
	nm_start_free(s);
	r.duration = (struct nm_time){ true, NM_SECOND, 86401 };
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "POL0001");
	assert_non_null(strstr(f.vars[0], "86400"));
	r.duration = (struct nm_time){ true, NM_YEAR, 2147483647L };
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "POL0001");
	r.duration = (struct nm_time){ true, NM_SECOND, 0 };
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "SVC0002");
	assert_string_equal(f.vars[0], "duration");
}

static void test_count(void **state)
{
	struct nm_request r = request();
	struct nm_policy p = policy();
	struct nm_start *s;
	struct fault f;

	(void)state;
	r.has_count = true;
	r.count = 10;
	assert_string_equal(prep(&r, &p, NULL, &s, &f), "");
	assert_int_equal(nm_start_params(s)->count, 10);
	nm_start_free(s);
	r.count = 11;
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "POL0005");
	r.count = -1;
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "SVC0002");
	assert_string_equal(f.vars[0], "count");
	p.unlimited_count_allowed = false;
	r.count = 0;
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "POL0004");
	r.has_count = false;
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "POL0004");
	r.has_count = true;
	r.count = 3;
	assert_string_equal(prep(&r, &p, NULL, NULL, &f), "");
}

static void test_time_metrics(void **state)
{
	(void)state;
	assert_int_equal(nm_time_ms(&(struct nm_time){ true, NM_MS, 7 }), 7);
	assert_int_equal(nm_time_ms(&(struct nm_time){ true, NM_HOUR, 2 }), 7200000);
	assert_int_equal(nm_time_ms(&(struct nm_time){ true, NM_WEEK, 1 }), 604800000LL);
	assert_int_equal(nm_time_ms(&(struct nm_time){ true, NM_MONTH, 1 }), 30 * 86400000LL);
	assert_int_equal(nm_time_ms(&(struct nm_time){ true, NM_YEAR, 1 }), 365 * 86400000LL);
	assert_int_equal(nm_time_ms(&(struct nm_time){ true, NM_SECOND, -5 }), -1);
	assert_int_equal(nm_time_ms(&(struct nm_time){ true, (enum nm_metric)42, 1 }), -1);
	/* no overflow: saturates, and the duration policy refuses it */
	assert_int_equal(nm_time_ms(&(struct nm_time){ true, NM_YEAR, 2147483647L }), INT64_MAX);
	assert_int_equal(nm_time_ms(&(struct nm_time){ true, NM_YEAR, 100000 }),
			 100000 * 365 * 86400000LL);
}

/* Names of the .test domain do not resolve; everything else goes to the
 * system (only address literals and localhost are used). */
static int lookups;

static int no_test_names(const char *name, const struct addrinfo *hints, struct addrinfo **res)
{
	lookups++;
	if (strlen(name) > 5 && strcmp(name + strlen(name) - 5, ".test") == 0)
		return EAI_NONAME;
	return getaddrinfo(name, NULL, hints, res);
}

/* nm_check_endpoint on a prepared start toward endpoint: "" when allowed,
 * else the fault's message id and variable in *var. */
static const char *check_ep(const char *endpoint, const struct nm_policy *p, char *var, size_t cap)
{
	struct nm_request r = request();
	struct nm_start *s;
	struct fault f;
	const char *id = "";

	r.endpoint = endpoint;
	s = nm_prepare(&r, p, NULL, "tel.example", NOTIF_STYLE_STATUS_NOTIFICATION, &f);
	if (!s)
		fail_msg("nm_prepare refused %s: %s", endpoint, fault_msgid(f.id));
	var[0] = '\0';
	if (nm_check_endpoint(s, p, &f) != 0) {
		id = fault_msgid(f.id);
		assert_int_equal(f.nvars, 1);
		snprintf(var, cap, "%s", f.vars[0]);
	}
	nm_start_free(s);
	return id;
}

/* Contract section 11: POL0001 "callback endpoint not allowed: <host>"
 * for a refused endpoint or one that does not resolve. */
static void test_endpoint_destination(void **state)
{
	static const char *const refused[][2] = {
		{ "http://127.0.0.1:9/cb", "127.0.0.1" },
		{ "http://0x7f000001:9/cb", "0x7f000001" },
		{ "http://2130706433/cb", "2130706433" },
		{ "http://127.1/cb", "127.1" },
		{ "http://169.254.169.254/latest/meta-data/", "169.254.169.254" },
		{ "http://user:secret@10.0.0.1/cb", "10.0.0.1" },
		{ "https://[::1]:8443/cb", "[::1]" },
		{ "http://[::ffff:192.168.0.1]/cb", "[::ffff:192.168.0.1]" },
		{ "http://LocalHost:9/cb", "LocalHost" },
		{ "http://nowhere.test/cb", "nowhere.test" },
	};
	struct nm_policy p = policy();
	struct dest *d = NULL;
	char var[FAULT_VAR_MAX], text[700];
	struct fault f;

	(void)state;
	log_set_level(LOG_ERROR);
	dest_set_lookup(no_test_names);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char want[300];

		assert_string_equal(check_ep(refused[i][0], &p, var, sizeof(var)), "POL0001");
		snprintf(want, sizeof(want), "callback endpoint not allowed: %s", refused[i][1]);
		assert_string_equal(var, want);
	}
	fault_set(&f, POL0001, "callback endpoint not allowed: 127.1", NULL);
	fault_format(&f, text, sizeof(text));
	assert_string_equal(text, "A policy error occurred. Error code is callback endpoint not allowed: 127.1");

	/* public addresses pass (nothing is contacted) */
	assert_string_equal(check_ep("http://8.8.8.8:8080/cb", &p, var, sizeof(var)), "");
	assert_string_equal(check_ep("https://[2001:4860:4860::8888]/cb", &p, var, sizeof(var)), "");

	/* with loopback allowed */
	assert_int_equal(dest_new("127.0.0.0/8", &d, var, sizeof(var)), 0);
	p.dest = d;
	assert_string_equal(check_ep("http://127.0.0.1:9/cb", &p, var, sizeof(var)), "");
	assert_string_equal(check_ep("http://0x7f000001:9/cb", &p, var, sizeof(var)), "");
	assert_string_equal(check_ep("http://localhost:9/cb", &p, var, sizeof(var)), "");
	assert_string_equal(check_ep("http://[::1]:9/cb", &p, var, sizeof(var)), "POL0001");
	assert_string_equal(check_ep("http://169.254.169.254/", &p, var, sizeof(var)), "POL0001");
	lookups = 0;
	p.dns_timeout_ms = 50;
	assert_string_equal(check_ep("http://nowhere.test:9/cb", &p, var, sizeof(var)), "POL0001");
	assert_string_equal(var, "callback endpoint not allowed: nowhere.test");
	assert_int_equal(lookups, 1);
	dest_free(d);
	dest_set_lookup(NULL);
	log_set_level(LOG_INFO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_endpoint_and_correlator),
		cmocka_unit_test(test_endpoint_destination),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_criteria_and_check_immediate),
		cmocka_unit_test(test_frequency),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_time_metrics),
	};
	return cmocka_run_group_tests_name("nmreq", tests, NULL, NULL);
}
