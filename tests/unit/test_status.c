/*
 * test_status.c - GET /status's parts that need no running gateway: HTML
 * escaping (html.c), durations and the page rendered from canned data
 * (status_page.c), and the ring of recent warnings and errors (recent.c,
 * fed by log.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "html.h"
#include "log.h"
#include "recent.h"
#include "status_page.h"

#define HOSTILE "<script>alert(1)</script>&\"'"
#define HOSTILE_ESCAPED "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;"
#define FFFD "\xEF\xBF\xBD"
#define ELLIPSIS "\xE2\x80\xA6"

/* html_escape_n of s (n bytes, max) as a malloc'd string. */
static char *esc_n(const char *s, size_t n, size_t max)
{
	struct sbuf b = SBUF_INIT(1 << 20);

	html_escape_n(&b, s, n, max);
	return sbuf_take(&b, NULL);
}

static void check_esc(const char *in, size_t n, size_t max, const char *want)
{
	char *got = esc_n(in, n, max);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

#define CHECK(in, max, want) check_esc((in), sizeof(in) - 1, (max), (want))

static void test_escape(void **state)
{
	(void)state;
	CHECK(HOSTILE, 0, HOSTILE_ESCAPED);
	CHECK("plain text 123 /?=:@", 0, "plain text 123 /?=:@");
	CHECK("", 0, "");
	CHECK("a&&b", 0, "a&amp;&amp;b");
	CHECK("x=\"1\" onload='y'", 0, "x=&quot;1&quot; onload=&#39;y&#39;");
	/* UTF-8 kept; what is not UTF-8 and control characters become U+FFFD */
	CHECK("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", 0, "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
	CHECK("a\xFF" "b", 0, "a" FFFD "b");
	CHECK("\xC0\xAF", 0, FFFD FFFD);                 /* overlong '/' */
	CHECK("\xED\xA0\x80", 0, FFFD FFFD FFFD);        /* a surrogate */
	CHECK("\xF4\x90\x80\x80", 0, FFFD FFFD FFFD FFFD);   /* above U+10FFFF */
	CHECK("\xE2\x82", 0, FFFD FFFD);                 /* cut short */
	CHECK("a\x01" "b\x7F" "c\tz\r\n", 0, "a" FFFD "b" FFFD "c\tz\r\n");
	CHECK("\xC2\x85" "x\xC2\xA0", 0, FFFD "x\xC2\xA0");   /* C1 control; no-break space kept */
	CHECK("a\0b", 0, "a" FFFD "b");                  /* a NUL inside the n bytes */
	/* the cut: at most max bytes of the input, never inside a character */
	CHECK("abcdef", 3, "abc" ELLIPSIS);
	CHECK("abc", 3, "abc");
	CHECK("abcd", 4, "abcd");
	CHECK("a\xC3\xA9", 2, "a" ELLIPSIS);
	CHECK("<<<<", 2, "&lt;&lt;" ELLIPSIS);
	/* C strings: NULL shows nothing */
	{
		struct sbuf b = SBUF_INIT(64);
		char *p;

		html_escape(&b, NULL, 0);
		html_escape(&b, "<b>", 0);
		p = sbuf_take(&b, NULL);
		assert_string_equal(p, "&lt;b&gt;");
		free(p);
	}
}

static void check_duration(long long s, const char *want)
{
	char buf[64];

	status_duration(buf, sizeof(buf), s);
	assert_string_equal(buf, want);
}

static void test_duration(void **state)
{
	(void)state;
	check_duration(0, "0 s");
	check_duration(-5, "0 s");
	check_duration(59, "59 s");
	check_duration(60, "1 min 0 s");
	check_duration(90, "1 min 30 s");
	check_duration(3725, "1 h 2 min");
	check_duration(90061, "1 d 1 h");
	check_duration(86400 * 400 + 7200, "400 d 2 h");
}

/* The page of d, malloc'd. */
static char *render(const struct status_data *d, size_t *len)
{
	struct sbuf b = SBUF_INIT(STATUS_PAGE_MAX);
	char *p;

	status_render(&b, d);
	assert_true(b.ok);
	p = sbuf_take(&b, len);
	assert_non_null(p);
	return p;
}

static void assert_has(const char *page, const char *part)
{
	if (!strstr(page, part))
		fail_msg("the page lacks: %s", part);
}

static void assert_lacks(const char *page, const char *part)
{
	if (strcasestr(page, part))
		fail_msg("the page has: %s", part);
}

#define T0 1764900000    /* 2025-12-05 02:00:00 UTC */

static void test_page(void **state)
{
	static const struct status_count subs[] = {
		{ "subscribing", 1 }, { "active", 2 }, { "waiting", 0 }, { "failed", 3 }, { "closing", 0 },
	};
	static const struct status_row rows[] = {
		{ "app1", HOSTILE, "http://***@127.0.0.1:8080/cb", 2, 5, 1 },
		{ "o<p>s", "c2", "http://example.com/\"x\"", 1, 0, 0 },
	};
	struct dlv_endpoint_view eps[1] = { {
		.endpoint = "127.0.0.1:9", .in_flight = 0, .queued = 1, .attempts_failed = 2,
		.consecutive_failures = 2, .circuit = "open", .open_for_s = 30,
		.last_error = "connect: Connection refused <x>",
	} };
	struct recent_event errs[2] = {
		{ .seq = 2, .when = T0, .level = LOG_WARN, .text = "dlv: correlator " HOSTILE " failed" },
		{ .seq = 1, .when = T0, .level = LOG_ERROR, .text = "store: disk full" },
	};
	struct status_data d = {
		.version = "0.1.0", .now = T0 + 3600, .started = T0, .auth_on = true,
		.sip_ready = true, .server_up = true, .server_since = T0 + 60,
		.subs_known = true, .subs = subs, .n_subs = 5,
		.notifs_known = true, .notifs = rows, .n_notifs = 2, .total_notifs = 3,
		.eps = eps, .n_eps = 1, .total_eps = 1,
		.store_ready = true, .outbox_rows = 4, .outbox_oldest_ms = (int64_t)(T0 + 3600 - 90) * 1000,
		.errors = errs, .n_errors = 2,
	};
	size_t len = 0;
	char *p;

	(void)state;
	p = render(&d, &len);
	assert_int_equal(len, strlen(p));
	assert_true(strncmp(p, "<!DOCTYPE html>\n", 16) == 0);
	assert_true(len > 7 && strcmp(p + len - 8, "</html>\n") == 0);
	assert_has(p, "<span id=\"version\">0.1.0</span>, up <span id=\"uptime\">1 h 0 min</span> "
		   "(started 2025-12-05 02:00:00 UTC)");
	assert_has(p, "<span id=\"presence-state\" class=\"up\">up</span> since "
		   "<span id=\"presence-since\">2025-12-05 02:01:00 UTC</span> "
		   "<span class=\"note\">(59 min 0 s ago)</span>");
	assert_has(p, "<td class=\"n\" id=\"subs-subscribing\">1</td>");
	assert_has(p, "<td class=\"n\" id=\"subs-active\">2</td>");
	assert_has(p, "<td class=\"n\" id=\"subs-failed\">3</td>");
	assert_has(p, "<span id=\"notifications-total\">3</span> active "
		   "<span class=\"note\">(the 2 newest listed)</span>");
	assert_has(p, "<tr class=\"row\"><td class=\"text app\">app1</td><td class=\"text id\">"
		   HOSTILE_ESCAPED "</td><td class=\"n addresses\">2</td><td class=\"text endpoint\">"
		   "http://***@127.0.0.1:8080/cb</td><td class=\"n delivered\">5</td>"
		   "<td class=\"n failed\">1</td></tr>");
	assert_has(p, "<td class=\"text app\">o&lt;p&gt;s</td><td class=\"text id\">c2</td>");
	assert_has(p, "<td class=\"text endpoint\">http://example.com/&quot;x&quot;</td>");
	assert_has(p, "<span id=\"camara-total\">0</span> active</p>\n</section>");
	assert_has(p, "<tr class=\"ep\"><td class=\"text endpoint\">127.0.0.1:9</td>"
		   "<td class=\"n in-flight\">0</td><td class=\"n queued\">1</td>"
		   "<td class=\"n failed\">2</td><td class=\"n in-a-row\">2</td>"
		   "<td class=\"circuit open\">open</td><td class=\"text last-error\">"
		   "connect: Connection refused &lt;x&gt;</td></tr>");
	assert_has(p, "<span id=\"outbox-rows\">4</span> callbacks pending, the oldest for "
		   "<span id=\"outbox-oldest\">1 min 30 s</span>");
	assert_has(p, "<li class=\"warn\">dlv: correlator " HOSTILE_ESCAPED " failed</li>\n"
		   "<li class=\"error\">store: disk full</li>");
	/* nothing a client chose comes out as markup */
	assert_lacks(p, "<script");
	assert_lacks(p, "o<p>s");
	assert_lacks(p, "\"x\"");
	free(p);

	/* without a users file: no application column; nothing yet */
	d.auth_on = false;
	d.n_notifs = d.total_notifs = 0;
	d.n_eps = d.total_eps = 0;
	d.n_errors = 0;
	d.outbox_rows = 0;
	d.server_up = false;
	d.subs_known = false;
	p = render(&d, NULL);
	assert_lacks(p, "<th>application</th>");
	assert_has(p, "<span id=\"presence-state\" class=\"down\">down</span> since");
	assert_has(p, "<p id=\"subscriptions\" class=\"note\">not known");
	assert_has(p, "<span id=\"notifications-total\">0</span> active</p>\n</section>");
	assert_has(p, "<span id=\"endpoints-total\">0</span>");
	assert_has(p, "<span id=\"outbox-rows\">0</span> callbacks pending</p>");
	assert_has(p, "<p id=\"errors-none\">none</p>");
	free(p);

	/* no store */
	d.outbox_rows = -1;
	p = render(&d, NULL);
	assert_has(p, "<section id=\"outbox\">\n<h2>Outbox</h2>\n<p>no store</p>");
	free(p);
}

/* The largest page: every table full, every field at its longest and
 * made of characters that escape the most. */
static void test_page_bounded(void **state)
{
	static char id[257], ep[2049], app[129], err[RECENT_TEXT_MAX];
	struct status_row *rows = calloc(STATUS_ROWS_MAX, sizeof(*rows));
	struct dlv_endpoint_view *eps = calloc(STATUS_ENDPOINTS_MAX, sizeof(*eps));
	struct recent_event *errs = calloc(RECENT_MAX, sizeof(*errs));
	struct status_data d = { .version = "0.1.0", .now = T0, .started = T0, .auth_on = true,
				 .sip_ready = true, .server_up = true, .server_since = T0 };
	size_t len = 0;
	char *p;

	(void)state;
	assert_non_null(rows);
	assert_non_null(eps);
	assert_non_null(errs);
	memset(id, '<', sizeof(id) - 1);
	memset(ep, '&', sizeof(ep) - 1);
	memset(app, '"', sizeof(app) - 1);
	memset(err, '\'', sizeof(err) - 1);
	for (size_t i = 0; i < STATUS_ROWS_MAX; i++)
		rows[i] = (struct status_row){ app, id, ep, 100, 1, 1 };
	for (size_t i = 0; i < STATUS_ENDPOINTS_MAX; i++) {
		memset(eps[i].endpoint, '>', sizeof(eps[i].endpoint) - 1);
		memset(eps[i].last_error, '<', sizeof(eps[i].last_error) - 1);
		eps[i].circuit = "half-open";
	}
	for (size_t i = 0; i < RECENT_MAX; i++)
		memcpy(errs[i].text, err, sizeof(err));
	d.notifs = d.camara = rows;
	d.n_notifs = d.total_notifs = d.n_camara = d.total_camara = STATUS_ROWS_MAX;
	d.eps = eps;
	d.n_eps = d.total_eps = STATUS_ENDPOINTS_MAX;
	d.errors = errs;
	d.n_errors = RECENT_MAX;
	p = render(&d, &len);
	assert_true(len < STATUS_PAGE_MAX / 2);
	/* the endpoint is cut after 200 bytes: 200 escaped '&' then the ellipsis */
	{
		char want[200 * 5 + 40];
		size_t n = (size_t)snprintf(want, sizeof(want), "<td class=\"text endpoint\">");

		for (int i = 0; i < 200; i++)
			n += (size_t)snprintf(want + n, sizeof(want) - n, "&amp;");
		snprintf(want + n, sizeof(want) - n, ELLIPSIS "</td>");
		assert_has(p, want);
	}
	free(p);
	free(rows);
	free(eps);
	free(errs);
}

static void test_recent(void **state)
{
	struct recent_event ev[RECENT_MAX + 5];
	unsigned long dropped = 99;
	char line[RECENT_TEXT_MAX + 100];
	size_t n;

	(void)state;
	recent_clear();
	assert_int_equal(recent_copy(ev, RECENT_MAX, &dropped), 0);
	assert_int_equal(dropped, 0);
	for (int i = 0; i < RECENT_MAX + 8; i++) {
		snprintf(line, sizeof(line), "line %d\n", i);
		recent_add(i % 2 ? LOG_WARN : LOG_ERROR, line);
	}
	n = recent_copy(ev, RECENT_MAX + 5, &dropped);
	assert_int_equal(n, RECENT_MAX);
	assert_int_equal(dropped, 0);
	assert_string_equal(ev[0].text, "line 39");          /* newest first, newline dropped */
	assert_int_equal(ev[0].level, LOG_WARN);
	assert_string_equal(ev[RECENT_MAX - 1].text, "line 8");
	for (size_t i = 1; i < n; i++)
		assert_true(ev[i - 1].seq == ev[i].seq + 1);
	assert_int_equal(recent_copy(ev, 3, NULL), 3);
	assert_string_equal(ev[2].text, "line 37");

	/* a long line is cut to fit */
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	recent_add(LOG_ERROR, line);
	assert_int_equal(recent_copy(ev, 1, NULL), 1);
	assert_int_equal(strlen(ev[0].text), RECENT_TEXT_MAX - 1);

	/* log.c hands it warnings and errors, not info or debug */
	recent_clear();
	log_set_level(LOG_DEBUG);
	log_info("an info line");
	log_debug("a debug line");
	log_warn("a warning %d", 7);
	log_error("an error");
	n = recent_copy(ev, RECENT_MAX, NULL);
	assert_int_equal(n, 2);
	assert_non_null(strstr(ev[0].text, "error an error"));
	assert_int_equal(ev[0].level, LOG_ERROR);
	assert_non_null(strstr(ev[1].text, "warn  a warning 7"));
	assert_null(strchr(ev[1].text, '\n'));
	/* below the log level: not logged, not kept */
	log_set_level(LOG_ERROR);
	log_warn("quiet");
	assert_int_equal(recent_copy(ev, RECENT_MAX, NULL), 2);
	log_set_level(LOG_INFO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_page),
		cmocka_unit_test(test_page_bounded),
		cmocka_unit_test(test_recent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
