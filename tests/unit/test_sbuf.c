/*
 * test_sbuf.c - the capped string buffer: appends, printf, JSON strings,
 * the cap, and take/free.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

static void test_appends(void **state)
{
	struct sbuf b = SBUF_INIT(1024);
	size_t len = 0;
	char *p;

	(void)state;
	sbuf_puts(&b, "a");
	sbuf_putn(&b, "bcd", 2);
	sbuf_printf(&b, "-%d-%s", 42, "x");
	p = sbuf_take(&b, &len);
	assert_non_null(p);
	assert_string_equal(p, "abc-42-x");
	assert_int_equal(len, 8);
	free(p);
	/* an untouched buffer gives an empty string, not NULL */
	p = sbuf_take(&b, &len);
	assert_non_null(p);
	assert_string_equal(p, "");
	assert_int_equal(len, 0);
	free(p);
}

static void test_cap(void **state)
{
	struct sbuf b = SBUF_INIT(10);
	char big[3000];

	(void)state;
	sbuf_puts(&b, "0123456789");        /* exactly the cap */
	assert_true(b.ok);
	sbuf_puts(&b, "x");                 /* one more: failed for good */
	assert_false(b.ok);
	sbuf_puts(&b, "");
	assert_null(sbuf_take(&b, NULL));
	assert_null(b.p);

	b = (struct sbuf)SBUF_INIT(2048);
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sbuf_printf(&b, "%s", big);         /* printf past the cap */
	assert_false(b.ok);
	assert_null(sbuf_take(&b, NULL));
}

static void test_json(void **state)
{
	struct sbuf b = SBUF_INIT(1024);
	const char raw[] = "q\"b\\n\nt\t\x01\x7f" "\xc3\xa9" "\xff" "\xe2\x82";
	char *p;

	(void)state;
	sbuf_json_str(&b, raw, sizeof(raw) - 1);
	sbuf_puts(&b, ",");
	sbuf_json_cstr(&b, NULL);
	p = sbuf_take(&b, NULL);
	assert_non_null(p);
	/* quotes, backslash, controls escaped; é kept; invalid bytes replaced */
	assert_string_equal(p, "\"q\\\"b\\\\n\\nt\\t\\u0001\\u007f\xc3\xa9\\ufffd\\ufffd\\ufffd\",null");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_appends),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests_name("sbuf", tests, NULL, NULL);
}
