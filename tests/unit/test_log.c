/*
 * test_log.c - the log line: module from the message's prefix, logfmt and
 * JSON formatting, escaping of hostile values (one event is one line), the
 * line cap, request ids, and what log_req writes to stderr.
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

#include <jansson.h>

#include "log.h"

#define TS "2026-12-05T10:00:00.123Z"

static char line[LOG_LINE_MAX + 1];

static size_t count_char(const char *s, char ch)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == ch;
	return n;
}

static void test_module(void **state)
{
	char m[24];

	(void)state;
	log_module_of("watch: fetch sip:a@b", m);
	assert_string_equal(m, "watch");
	log_module_of("store_writer: x", m);
	assert_string_equal(m, "store_writer");
	log_module_of("http:", m);
	assert_string_equal(m, "http");
	log_module_of("sofia: nta: x", m);
	assert_string_equal(m, "sofia");
	/* not a module: a blank, a dot, a capital, no blank after ':' */
	log_module_of("reload refused: x", m);
	assert_string_equal(m, "main");
	log_module_of("run.user: x", m);
	assert_string_equal(m, "main");
	log_module_of("Watch: x", m);
	assert_string_equal(m, "main");
	log_module_of("sip:alice@example.com", m);
	assert_string_equal(m, "main");
	log_module_of("", m);
	assert_string_equal(m, "main");
	log_module_of("averyveryverylongmodulename: x", m);
	assert_string_equal(m, "main");
}

static void test_logfmt_plain(void **state)
{
	struct log_ctx ctx = { .req = "7f3a01", .app = "acme" };
	struct log_kv kv[] = { { "call_id", "c0ffee@h" }, { "presentity", "sip:a@b" },
			       { "left_out", NULL } };
	size_t n;

	(void)state;
	n = log_format_line(line, LOG_FMT_LOGFMT, TS, LOG_INFO, &ctx, kv, 3, "watch: fetch");
	assert_string_equal(line, "ts=" TS " level=info module=watch req=7f3a01 app=acme "
			    "msg=\"watch: fetch\" call_id=c0ffee@h presentity=sip:a@b\n");
	assert_int_equal(n, strlen(line));
	/* no context, a message without a blank: bare */
	log_format_line(line, LOG_FMT_LOGFMT, TS, LOG_WARN, NULL, NULL, 0, "ready");
	assert_string_equal(line, "ts=" TS " level=warn module=main msg=ready\n");
	/* an empty id and application are left out; an empty field is "" */
	ctx.req = "";
	ctx.app = "";
	kv[0].val = "";
	log_format_line(line, LOG_FMT_LOGFMT, TS, LOG_DEBUG, &ctx, kv, 1, "nm: x");
	assert_string_equal(line, "ts=" TS " level=debug module=nm msg=\"nm: x\" call_id=\"\"\n");
	log_format_line(line, LOG_FMT_LOGFMT, TS, LOG_ERROR, NULL, NULL, 0, "a=b");
	assert_string_equal(line, "ts=" TS " level=error module=main msg=\"a=b\"\n");
}

static void test_logfmt_escapes(void **state)
{
	struct log_ctx ctx = { .req = "r1", .app = "evil app\" x=1" };
	struct log_kv kv[] = { { "correlator", "c\nts=forged level=error msg=\"x\"" } };

	(void)state;
	log_format_line(line, LOG_FMT_LOGFMT, TS, LOG_INFO, &ctx, kv, 1,
			"http: a \"quoted\" back\\slash\ttab\rcr\x01" "del\x7f");
	assert_string_equal(line, "ts=" TS " level=info module=http req=r1 app=\"evil app\\\" x=1\" "
			    "msg=\"http: a \\\"quoted\\\" back\\\\slash\\ttab\\rcr\\x01del\\x7f\" "
			    "correlator=\"c\\nts=forged level=error msg=\\\"x\\\"\"\n");
	assert_int_equal(count_char(line, '\n'), 1);
	/* UTF-8 stays as it is (bare when it has no blank); other bytes are \xNN */
	kv[0].val = "caf\xc3\xa9";
	log_format_line(line, LOG_FMT_LOGFMT, TS, LOG_INFO, NULL, kv, 1, "x\xff\xc3(\xed\xa0\x80");
	assert_string_equal(line, "ts=" TS " level=info module=main "
			    "msg=\"x\\xff\\xc3(\\xed\\xa0\\x80\" correlator=caf\xc3\xa9\n");
}

/* One line: ends in its only newline, within the cap. */
static void assert_one_line(size_t n)
{
	assert_int_equal(n, strlen(line));
	assert_true(n <= LOG_LINE_MAX);
	assert_int_equal(count_char(line, '\n'), 1);
	assert_int_equal(line[n - 1], '\n');
}

static void test_logfmt_cap(void **state)
{
	static char big[20000];
	struct log_kv kv[20];
	struct log_ctx ctx = { .req = "r", .app = big };
	size_t n;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	n = log_format_line(line, LOG_FMT_LOGFMT, TS, LOG_INFO, NULL, NULL, 0, big);
	assert_one_line(n);
	/* the message is cut at 2048 bytes, marked */
	assert_int_equal(n, strlen("ts=" TS " level=info module=main msg=\"") + 2048 + strlen("...\"\n"));
	assert_non_null(strstr(line, "xxx...\"\n"));
	/* every value hostile and long: newlines expand 2x, control bytes 4x */
	memset(big, '\n', 3000);
	memset(big + 3000, '\x01', 3000);
	for (size_t i = 0; i < 20; i++)
		kv[i] = (struct log_kv){ "k", big };
	n = log_format_line(line, LOG_FMT_LOGFMT, TS, LOG_INFO, &ctx, kv, 20, big);
	assert_one_line(n);
	assert_non_null(strstr(line, " msg=\"\\n"));
	/* a cut never splits a UTF-8 sequence */
	for (size_t i = 0; i + 1 < sizeof(big); i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[2049] = '\0';   /* 2049 bytes: the cut falls inside a sequence */
	n = log_format_line(line, LOG_FMT_LOGFMT, TS, LOG_INFO, NULL, NULL, 0, big);
	assert_one_line(n);
	assert_null(strstr(line, "\\x"));
	assert_non_null(strstr(line, "\xc3\xa9...\"\n"));
	assert_int_equal(n, strlen("ts=" TS " level=info module=main msg=\"") + 2048 + strlen("...\"\n"));
}

/* The line as a JSON object (asserts it parses and is one line). */
static json_t *parse_line(size_t n)
{
	json_error_t err;
	json_t *o;

	assert_one_line(n);
	o = json_loads(line, 0, &err);
	if (!o)
		fail_msg("not JSON (%s): %s", err.text, line);
	assert_true(json_is_object(o));
	return o;
}

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void test_json(void **state)
{
	struct log_ctx ctx = { .req = "7f3a01", .app = "ac\"me\n" };
	struct log_kv kv[] = { { "call_id", "c0ffee@h" }, { "correlator", "a\\b\x01\t" },
			       { "left_out", NULL } };
	json_t *o;
	size_t n;

	(void)state;
	n = log_format_line(line, LOG_FMT_JSON, TS, LOG_INFO, &ctx, kv, 3, "watch: fetch \"x\"");
	/* the keys in their order, compact */
	{
		static const char head[] = "{\"ts\":\"" TS "\",\"level\":\"info\",\"module\":\"watch\","
					   "\"req\":\"7f3a01\",\"app\":\"ac\\\"me\\n\",\"msg\":";

		assert_int_equal(strncmp(line, head, sizeof(head) - 1), 0);
	}
	o = parse_line(n);
	assert_int_equal(json_object_size(o), 8);
	assert_string_equal(str(o, "ts"), TS);
	assert_string_equal(str(o, "level"), "info");
	assert_string_equal(str(o, "module"), "watch");
	assert_string_equal(str(o, "req"), "7f3a01");
	assert_string_equal(str(o, "app"), "ac\"me\n");
	assert_string_equal(str(o, "msg"), "watch: fetch \"x\"");
	assert_string_equal(str(o, "call_id"), "c0ffee@h");
	assert_string_equal(str(o, "correlator"), "a\\b\x01\t");
	assert_null(json_object_get(o, "left_out"));
	json_decref(o);
	/* no context; bytes that are not UTF-8 become U+FFFD */
	n = log_format_line(line, LOG_FMT_JSON, TS, LOG_ERROR, NULL, NULL, 0, "x\xff" "caf\xc3\xa9");
	o = parse_line(n);
	assert_int_equal(json_object_size(o), 4);
	assert_string_equal(str(o, "level"), "error");
	assert_string_equal(str(o, "module"), "main");
	assert_string_equal(str(o, "msg"), "x\xef\xbf\xbd" "caf\xc3\xa9");
	json_decref(o);
}

static void test_json_cap(void **state)
{
	static char big[20000];
	struct log_kv kv[20];
	struct log_ctx ctx = { .req = big, .app = big };
	json_t *o;
	size_t n;

	(void)state;
	memset(big, 'y', sizeof(big) - 1);
	n = log_format_line(line, LOG_FMT_JSON, TS, LOG_INFO, NULL, NULL, 0, big);
	o = parse_line(n);
	assert_int_equal(strlen(str(o, "msg")), 2048 + 3);
	assert_string_equal(str(o, "msg") + 2048, "...");
	json_decref(o);
	/* control bytes are \u00NN: six times longer */
	memset(big, '\x02', sizeof(big) - 1);
	for (size_t i = 0; i < 20; i++)
		kv[i] = (struct log_kv){ i % 2 ? "k1" : "k2", big };
	n = log_format_line(line, LOG_FMT_JSON, TS, LOG_INFO, &ctx, kv, 20, big);
	o = parse_line(n);
	assert_non_null(str(o, "msg"));
	assert_non_null(str(o, "k1"));
	assert_non_null(str(o, "req"));
	json_decref(o);
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_req_id(void **state)
{
	char a[LOG_REQ_MAX + 1], b[LOG_REQ_MAX + 1], long_id[LOG_REQ_MAX + 2];

	(void)state;
	assert_true(log_req_id_ok("7f3a01"));
	assert_true(log_req_id_ok("A-b_c.d:9"));
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[LOG_REQ_MAX + 1] = '\0';
	assert_false(log_req_id_ok(long_id));        /* 65 characters */
	long_id[LOG_REQ_MAX] = '\0';
	assert_true(log_req_id_ok(long_id));         /* 64 */
	assert_false(log_req_id_ok(""));
	assert_false(log_req_id_ok(NULL));
	assert_false(log_req_id_ok("a b"));
	assert_false(log_req_id_ok("a\nb"));
	assert_false(log_req_id_ok("a\"b"));
	assert_false(log_req_id_ok("<script>"));
	assert_false(log_req_id_ok("a=b"));
	assert_false(log_req_id_ok("caf\xc3\xa9"));
	log_req_id_new(a);
	log_req_id_new(b);
	assert_int_equal(strlen(a), 16);
	assert_int_equal(strspn(a, "0123456789abcdef"), 16);
	assert_true(log_req_id_ok(a));
	assert_string_not_equal(a, b);
	/* 4,096 in a row: all well-formed, none twice */
	{
		static char ids[4096][LOG_REQ_MAX + 1];

		for (int i = 0; i < 4096; i++) {
			log_req_id_new(ids[i]);
			assert_int_equal(strspn(ids[i], "0123456789abcdef"), 16);
			assert_int_equal(strlen(ids[i]), 16);
		}
		qsort(ids, 4096, sizeof(ids[0]), id_cmp);
		for (int i = 1; i < 4096; i++)
			assert_string_not_equal(ids[i - 1], ids[i]);
	}
}

/* What log_req and log_msg write to stderr, read back through a file. */
static void test_write(void **state)
{
	char path[] = "/tmp/test_log_XXXXXX", buf[8192], *nl;
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	struct log_ctx ctx = { .req = "r9", .app = "acme" };
	struct log_kv kv[] = { { "call_id", "c1" } };
	FILE *in;
	size_t n;

	(void)state;
	assert_true(fd >= 0 && saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	log_set_level(LOG_INFO);
	log_set_format(LOG_FMT_LOGFMT);
	log_req(LOG_INFO, &ctx, kv, 1, "watch: fetch %s", "sip:a@b");
	log_debug("watch: not written at info");
	log_req(LOG_DEBUG, &ctx, kv, 1, "watch: neither");
	log_set_format(LOG_FMT_JSON);
	log_warn("dlv: %d", 42);
	log_set_format(LOG_FMT_LOGFMT);
	dup2(saved, STDERR_FILENO);
	close(saved);
	in = fdopen(fd, "r");
	assert_non_null(in);
	rewind(in);
	n = fread(buf, 1, sizeof(buf) - 1, in);
	buf[n] = '\0';
	fclose(in);
	unlink(path);
	assert_int_equal(count_char(buf, '\n'), 2);
	/* the time stamp varies: compare from " level=" on */
	nl = strchr(buf, '\n');
	assert_int_equal(strncmp(buf, "ts=20", 5), 0);
	assert_int_equal(buf[26], 'Z');
	*nl = '\0';
	assert_string_equal(buf + 27, " level=info module=watch req=r9 app=acme "
			    "msg=\"watch: fetch sip:a@b\" call_id=c1");
	assert_int_equal(strncmp(nl + 1, "{\"ts\":\"20", 9), 0);
	assert_string_equal(nl + 1 + 7 + 24 + 1, ",\"level\":\"warn\",\"module\":\"dlv\","
			    "\"msg\":\"dlv: 42\"}\n");
}

static void test_parse(void **state)
{
	(void)state;
	assert_int_equal(log_level_parse("debug"), LOG_DEBUG);
	assert_int_equal(log_level_parse("verbose"), -1);
	assert_int_equal(log_format_parse("logfmt"), LOG_FMT_LOGFMT);
	assert_int_equal(log_format_parse("json"), LOG_FMT_JSON);
	assert_int_equal(log_format_parse("JSON"), -1);
	assert_int_equal(log_target_parse("stderr"), LOG_TO_STDERR);
	assert_int_equal(log_target_parse("syslog"), LOG_TO_SYSLOG);
	assert_int_equal(log_target_parse("file"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_module),
		cmocka_unit_test(test_logfmt_plain),
		cmocka_unit_test(test_logfmt_escapes),
		cmocka_unit_test(test_logfmt_cap),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_cap),
		cmocka_unit_test(test_req_id),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
