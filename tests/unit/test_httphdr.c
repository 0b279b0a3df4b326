/*
 * test_httphdr.c - what the HTTP front reads before a body: the media type
 * of Content-Type (contract section 1), Content-Length, and the connection
 * timeout that keeps a request within its deadline.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "httphdr.h"

static void test_media_soap(void **state)
{
	(void)state;
	assert_int_equal(http_media_type("text/xml"), HTTP_MEDIA_TEXT_XML);
	assert_int_equal(http_media_type("text/xml; charset=utf-8"), HTTP_MEDIA_TEXT_XML);
	assert_int_equal(http_media_type("text/xml;charset=\"UTF-8\""), HTTP_MEDIA_TEXT_XML);
	assert_int_equal(http_media_type("TEXT/XML"), HTTP_MEDIA_TEXT_XML);
	assert_int_equal(http_media_type("Text/Xml ; Charset=UTF-8"), HTTP_MEDIA_TEXT_XML);
	assert_int_equal(http_media_type(" \ttext/xml\t "), HTTP_MEDIA_TEXT_XML);
	assert_int_equal(http_media_type("text/xml;"), HTTP_MEDIA_TEXT_XML);
	/* parameters are ignored, whatever they say */
	assert_int_equal(http_media_type("text/xml; charset=iso-8859-1; x"), HTTP_MEDIA_TEXT_XML);
	assert_int_equal(http_media_type("application/soap+xml"), HTTP_MEDIA_SOAP_XML);
	assert_int_equal(http_media_type("application/soap+xml; charset=utf-8; action=\"\""),
			 HTTP_MEDIA_SOAP_XML);
	assert_int_equal(http_media_type("Application/SOAP+XML"), HTTP_MEDIA_SOAP_XML);
	assert_true(http_media_soap(HTTP_MEDIA_TEXT_XML));
	assert_true(http_media_soap(HTTP_MEDIA_SOAP_XML));
	assert_false(http_media_soap(HTTP_MEDIA_NONE));
	assert_false(http_media_soap(HTTP_MEDIA_OTHER));
}

static void test_media_other(void **state)
{
	(void)state;
	assert_int_equal(http_media_type(NULL), HTTP_MEDIA_NONE);
	assert_int_equal(http_media_type(""), HTTP_MEDIA_NONE);
	assert_int_equal(http_media_type(" \t "), HTTP_MEDIA_NONE);
	assert_int_equal(http_media_type("application/x-www-form-urlencoded"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_type("multipart/form-data; boundary=x"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_type("text/plain"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_type("application/xml"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_type("text/html; charset=utf-8"), HTTP_MEDIA_OTHER);
	/* prefixes and extensions of an accepted type are other types */
	assert_int_equal(http_media_type("text/xmlx"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_type("text/xm"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_type("xtext/xml"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_type("application/soap"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_type("application/soap+xml2"), HTTP_MEDIA_OTHER);
	/* not a media type at all */
	assert_int_equal(http_media_type("text"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_type("text/"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_type("/xml"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_type("text /xml"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_type("text/ xml"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_type("text/xml/x"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_type("text/xml x"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_type("text/xml, text/html"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_type("text/html, text/xml"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_type("text/xml\r\n"), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_type("\"text/xml\""), HTTP_MEDIA_OTHER);
	assert_int_equal(http_media_type(";text/xml"), HTTP_MEDIA_OTHER);
}

static void test_content_length(void **state)
{
	uint64_t n = 42;

	(void)state;
	assert_int_equal(http_content_length("0", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(http_content_length("1048577", &n), 0);
	assert_int_equal(n, 1048577);
	assert_int_equal(http_content_length(" 007 ", &n), 0);
	assert_int_equal(n, 7);
	assert_int_equal(http_content_length("18446744073709551615", &n), 0);
	assert_true(n == UINT64_MAX);
	assert_int_equal(http_content_length("18446744073709551614", &n), 0);
	assert_true(n == UINT64_MAX - 1);
	/* beyond 64 bits: as large as it gets, never wrapped around */
	n = 0;
	assert_int_equal(http_content_length("18446744073709551616", &n), 0);
	assert_true(n == UINT64_MAX);
	n = 0;
	assert_int_equal(http_content_length("99999999999999999999999999999", &n), 0);
	assert_true(n == UINT64_MAX);
	/* not numbers: n untouched */
	n = 5;
	assert_int_equal(http_content_length(NULL, &n), -1);
	assert_int_equal(http_content_length("", &n), -1);
	assert_int_equal(http_content_length(" ", &n), -1);
	assert_int_equal(http_content_length("-1", &n), -1);
	assert_int_equal(http_content_length("+1", &n), -1);
	assert_int_equal(http_content_length("1 2", &n), -1);
	assert_int_equal(http_content_length("12a", &n), -1);
	assert_int_equal(http_content_length("0x10", &n), -1);
	assert_int_equal(http_content_length("1,1", &n), -1);
	assert_int_equal(n, 5);
}

static void test_timeout_for(void **state)
{
	(void)state;
	/* plenty of time left: the idle timeout */
	assert_int_equal(http_timeout_for(30, 60000), 30);
	assert_int_equal(http_timeout_for(30, 30000), 30);
	/* less left than the idle timeout: what is left, rounded up */
	assert_int_equal(http_timeout_for(30, 29001), 30);
	assert_int_equal(http_timeout_for(30, 29000), 29);
	assert_int_equal(http_timeout_for(30, 1500), 2);
	assert_int_equal(http_timeout_for(30, 1), 1);
	assert_int_equal(http_timeout_for(1, 100000), 1);
	/* the deadline has passed */
	assert_int_equal(http_timeout_for(30, 0), 0);
	assert_int_equal(http_timeout_for(30, -5), 0);
	assert_int_equal(http_timeout_for(30, INT64_MIN), 0);
	assert_int_equal(http_timeout_for(30, INT64_MAX), 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_media_soap),
		cmocka_unit_test(test_media_other),
		cmocka_unit_test(test_content_length),
		cmocka_unit_test(test_timeout_for),
	};
	return cmocka_run_group_tests_name("httphdr", tests, NULL, NULL);
}
