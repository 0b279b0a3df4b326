/*
 * test_addr.c - Parlay X addresses to SIP request URIs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "ts.h"

#define DOMAIN "ims.example.com"

static void expect_map(const char *addr, const char *want)
{
	char out[TS_ADDR_MAX + 64];

	memset(out, 'X', sizeof(out));
	if (addr_to_sip(addr, DOMAIN, out, sizeof(out)) != 0)
		fail_msg("addr_to_sip(\"%s\") failed, wanted \"%s\"", addr, want);
	assert_string_equal(out, want);
}

static void expect_refused(const char *addr)
{
	char out[TS_ADDR_MAX + 64];

	if (addr_to_sip(addr, DOMAIN, out, sizeof(out)) != -1)
		fail_msg("addr_to_sip(\"%s\") accepted it as \"%s\"", addr, out);
}

static void test_sip_as_is(void **state)
{
	static const char *const ok[] = {
		"sip:alice@example.com",
		"sips:alice@example.com",
		"SIP:Alice@Example.COM",
		"Sips:bob@example.com",
		"sip:example.com",
		"sip:alice@127.0.0.1:5060",
		"sip:alice@[2001:db8::1]:5061",
		"sip:alice@[2001:db8::1]:5061;user=ip",
		"sip:alice:secret@example.com",
		"sip:+15551234567@ims.example.com;user=phone",
		"sip:+15551234567@ims.example.com;USER=Phone",
		"sip:+1555;phone-context=example.com@gw.example.com;user=phone",
		"sip:%61lice@example.com",
		"sip:alice@host_with_underscore.example",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		expect_map(ok[i], ok[i]);
}

static void test_sip_refused(void **state)
{
	static const char *const bad[] = {
		"sip:", "sips:", "sip:@example.com", "sip:alice@", "sip:alice@;user=phone",
		"sip:alice @example.com", "sip: alice@example.com", "sip:alice@example.com ",
		" sip:alice@example.com", "sip:alice@exa\tmple.com", "sip:al\x01ice@example.com",
		"sip:<alice@example.com>", "sip:\"alice\"@example.com", "sip:alice@ex\x7f.com",
		"sip:al\xc3\xa9@example.com", "sip:alice@example.com:", "sip:alice@example.com:99999",
		"sip:alice@example.com:5060x", "sip:alice@[2001:db8::1", "sip:alice@[]",
		"sip:alice@exa/mple.com", "sip", "sipx:alice@example.com",
		/* URI headers would add header fields to the SUBSCRIBE */
		"sip:alice@example.com?subject=x", "sip:alice@example.com;user=phone?Route=%3Csip:evil%3E",
		"sip:alice@example.com?", "sip:alice:secret@example.com;transport=udp?subject=x",
		/* parameters that steer the request (another host, transport) or
		 * that nobody expects in a presentity */
		"sip:alice@example.com;maddr=10.0.0.1", "sip:alice@[2001:db8::1]:5061;transport=tcp",
		"sip:alice@example.com;transport=udp", "sip:alice@example.com;ttl=1",
		"sip:alice@example.com;method=INVITE", "sip:alice@example.com;lr",
		"sip:alice@example.com;user=phone;maddr=10.0.0.1", "sip:alice@example.com;",
		"sip:alice@example.com;user=", "sip:alice@example.com;user=phones",
		"sip:alice@example.com;user=i", "sip:alice@example.com;x=y",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(bad[i]);
}

static void test_tel(void **state)
{
	(void)state;
	expect_map("tel:+15551234567", "sip:+15551234567@" DOMAIN ";user=phone");
	expect_map("TEL:+4930123456", "sip:+4930123456@" DOMAIN ";user=phone");
	/* Visual separators are dropped. */
	expect_map("tel:+1-555-123-4567", "sip:+15551234567@" DOMAIN ";user=phone");
	expect_map("tel:+1.(555).123.4567", "sip:+15551234567@" DOMAIN ";user=phone");
	expect_map("tel:+(33)1-23-45-67-89", "sip:+33123456789@" DOMAIN ";user=phone");
	/* 1 and 15 digits are the bounds. */
	expect_map("tel:+1", "sip:+1@" DOMAIN ";user=phone");
	expect_map("tel:+123456789012345", "sip:+123456789012345@" DOMAIN ";user=phone");
	/* An IPv6 domain as cfg derives it (brackets kept). */
	char out[128];
	assert_int_equal(addr_to_sip("tel:+49301", "[2001:db8::1]", out, sizeof(out)), 0);
	assert_string_equal(out, "sip:+49301@[2001:db8::1];user=phone");
}

static void test_tel_refused(void **state)
{
	static const char *const bad[] = {
		"tel:", "tel:+", "tel:+-.()", "tel:5551234",      /* no '+': local number */
		"tel:+1234567890123456",                            /* 16 digits */
		"tel:+1-234-567-890-123-456",
		"tel:+1555;ext=22", "tel:+1555;isub=1", "tel:+1555;phone-context=x",
		"tel:+1 555 1234", "tel:+1555a", "tel:+1555#", "tel:+1555*",
		"tel:++1555", "tel:1555;phone-context=+1", "tel: +1555",
	};
	char out[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(bad[i]);
	/* No domain, or a domain that would break the URI. */
	assert_int_equal(addr_to_sip("tel:+1555", NULL, out, sizeof(out)), -1);
	assert_int_equal(addr_to_sip("tel:+1555", "", out, sizeof(out)), -1);
	assert_int_equal(addr_to_sip("tel:+1555", "a b", out, sizeof(out)), -1);
	assert_int_equal(addr_to_sip("tel:+1555", "x;y=1", out, sizeof(out)), -1);
}

static void test_other_schemes(void **state)
{
	static const char *const bad[] = {
		"", "mailto:alice@example.com", "http://example.com/alice", "im:alice@example.com",
		"pres:alice@example.com", "alice@example.com", "+15551234567", "15551234567",
		"urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", ":", "tel", "sip@example.com",
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(bad[i]);
	assert_int_equal(addr_to_sip(NULL, DOMAIN, out, sizeof(out)), -1);
	assert_int_equal(addr_to_sip("sip:a@b", DOMAIN, NULL, 10), -1);
	assert_int_equal(addr_to_sip("sip:a@b", DOMAIN, out, 0), -1);
}

static void test_lengths(void **state)
{
	char addr[TS_ADDR_MAX + 8], out[TS_ADDR_MAX + 8];
	size_t n;

	(void)state;
	/* The longest address accepted is TS_ADDR_MAX - 1 characters. */
	n = (size_t)snprintf(addr, sizeof(addr), "sip:");
	memset(addr + n, 'a', TS_ADDR_MAX - 1 - n - 12);
	snprintf(addr + TS_ADDR_MAX - 1 - 12, 13, "@example.com");
	assert_int_equal(strlen(addr), TS_ADDR_MAX - 1);
	assert_int_equal(addr_to_sip(addr, DOMAIN, out, sizeof(out)), 0);
	assert_string_equal(out, addr);
	/* ... and it needs room for its NUL. */
	assert_int_equal(addr_to_sip(addr, DOMAIN, out, TS_ADDR_MAX - 1), -1);
	assert_int_equal(addr_to_sip(addr, DOMAIN, out, TS_ADDR_MAX), 0);
	/* One more is refused. */
	memmove(addr + 5, addr + 4, TS_ADDR_MAX);
	assert_int_equal(strlen(addr), TS_ADDR_MAX);
	assert_int_equal(addr_to_sip(addr, DOMAIN, out, sizeof(out)), -1);

	/* A tel mapping that does not fit the output is refused, not cut. */
	const char *want = "sip:+15551234567@" DOMAIN ";user=phone";
	assert_int_equal(addr_to_sip("tel:+15551234567", DOMAIN, out, strlen(want)), -1);
	assert_int_equal(addr_to_sip("tel:+15551234567", DOMAIN, out, strlen(want) + 1), 0);
	assert_string_equal(out, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sip_as_is),
		cmocka_unit_test(test_sip_refused),
		cmocka_unit_test(test_tel),
		cmocka_unit_test(test_tel_refused),
		cmocka_unit_test(test_other_schemes),
		cmocka_unit_test(test_lengths),
	};

	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
