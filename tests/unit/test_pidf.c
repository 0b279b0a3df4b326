/*
 * test_pidf.c - unit tests of pidf.c (PIDF/RPID parsing) and pstat.c (the
 * presence to terminal status mapping), on the samples in tests/data/pidf
 * and on documents built here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pidf.h"
#include "pstat.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must be defined (absolute path of tests/data)"
#endif

#define PIDF_HEAD "<?xml version=\"1.0\"?>\n" \
	"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"" \
	" xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\"" \
	" xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\"" \
	" entity=\"sip:t@example.com\">\n"
#define PIDF_TAIL "</presence>\n"
#define TUPLE_OPEN "<tuple id=\"o\"><status><basic>open</basic></status></tuple>\n"
#define TUPLE_CLOSED "<tuple id=\"c\"><status><basic>closed</basic></status></tuple>\n"

/* Reads tests/data/pidf/<name>; the caller frees. */
static char *load(const char *name, size_t *len)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/pidf/%s", TEST_DATA_DIR, name);
	return test_load_file(path, len);
}

/* Fills *doc with garbage first, so that "always initialised" is tested. */
static enum pidf_rc parse_str(const char *s, size_t len, struct pidf_doc *doc)
{
	memset(doc, 0xA5, sizeof(*doc));
	return pidf_parse(s, len, doc);
}

static enum pidf_rc parse_file(const char *name, struct pidf_doc *doc)
{
	size_t len;
	char *buf = load(name, &len);
	enum pidf_rc rc = parse_str(buf, len, doc);

	free(buf);
	return rc;
}

static bool has_activity(const struct pidf_doc *doc, const char *name)
{
	for (int i = 0; i < doc->activities_n; i++)
		if (strcmp(doc->activities[i], name) == 0)
			return true;
	return false;
}

static void assert_zero_doc(const struct pidf_doc *doc)
{
	static const struct pidf_doc zero;

	assert_memory_equal(doc, &zero, sizeof(zero));
}

static struct pstat_rules default_rules(void)
{
	struct pstat_rules r;

	assert_int_equal(pstat_rules_parse(&r, "on-the-phone,busy"), 0);
	return r;
}

static ts_status map_file(const char *name, const struct pstat_rules *r)
{
	struct pidf_doc doc;

	assert_int_equal(parse_file(name, &doc), PIDF_OK);
	return pstat_map(&doc, r);
}

/* --- the two RPID shapes ------------------------------------------------ */

static void test_field_sample_draft_rpid(void **state)
{
	struct pidf_doc doc;
	struct pstat_rules r = default_rules();

	(void)state;
	assert_int_equal(parse_file("device-on-the-phone-rpid-status.xml", &doc), PIDF_OK);
	assert_int_equal(doc.tuples, 1);
	assert_int_equal(doc.open_tuples, 1);
	assert_int_equal(doc.activities_n, 1);
	assert_string_equal(doc.activities[0], "on-the-phone");
	assert_int_equal(pstat_map(&doc, &r), TS_BUSY);
}

static void test_rfc4480_person_on_the_phone(void **state)
{
	struct pidf_doc doc;
	struct pstat_rules r = default_rules();

	(void)state;
	assert_int_equal(parse_file("rfc4480-person-on-the-phone.xml", &doc), PIDF_OK);
	assert_int_equal(doc.tuples, 1);
	assert_int_equal(doc.open_tuples, 1);
	/* rpid:note is not an activity */
	assert_int_equal(doc.activities_n, 1);
	assert_string_equal(doc.activities[0], "on-the-phone");
	assert_int_equal(pstat_map(&doc, &r), TS_BUSY);
}

static void test_closed_with_busy_activity(void **state)
{
	struct pidf_doc doc;
	struct pstat_rules r = default_rules();

	(void)state;
	assert_int_equal(parse_file("closed-rpid-busy.xml", &doc), PIDF_OK);
	assert_int_equal(doc.tuples, 1);
	assert_int_equal(doc.open_tuples, 0);
	assert_true(has_activity(&doc, "busy"));
	assert_int_equal(pstat_map(&doc, &r), TS_BUSY);
}

static void test_away_open_is_reachable(void **state)
{
	struct pidf_doc doc;
	struct pstat_rules r = default_rules();

	(void)state;
	assert_int_equal(parse_file("away-open.xml", &doc), PIDF_OK);
	assert_true(has_activity(&doc, "away"));
	assert_int_equal(pstat_map(&doc, &r), TS_REACHABLE);
}

/* --- tuples ------------------------------------------------------------- */

static void test_two_tuples_one_open(void **state)
{
	struct pidf_doc doc;
	struct pstat_rules r = default_rules();

	(void)state;
	assert_int_equal(parse_file("two-tuples-open-closed.xml", &doc), PIDF_OK);
	assert_int_equal(doc.tuples, 2);
	assert_int_equal(doc.open_tuples, 1);
	assert_int_equal(doc.activities_n, 0);
	assert_int_equal(pstat_map(&doc, &r), TS_REACHABLE);
}

static void test_two_tuples_closed(void **state)
{
	struct pidf_doc doc;
	struct pstat_rules r = default_rules();

	(void)state;
	assert_int_equal(parse_file("two-tuples-closed.xml", &doc), PIDF_OK);
	assert_int_equal(doc.tuples, 2);
	assert_int_equal(doc.open_tuples, 0);
	assert_int_equal(pstat_map(&doc, &r), TS_UNREACHABLE);
}

static void test_kamailio_offline_body(void **state)
{
	struct pidf_doc doc;
	struct pstat_rules r = default_rules();

	(void)state;
	assert_int_equal(parse_file("kamailio-offline.xml", &doc), PIDF_OK);
	assert_int_equal(doc.tuples, 1);
	assert_int_equal(doc.open_tuples, 0);
	assert_int_equal(doc.activities_n, 0);
	assert_int_equal(pstat_map(&doc, &r), TS_UNREACHABLE);
}

static void test_kamailio_aggregated_body(void **state)
{
	struct pidf_doc doc;
	struct pstat_rules r = default_rules();

	(void)state;
	assert_int_equal(parse_file("kamailio-aggregated.xml", &doc), PIDF_OK);
	assert_int_equal(doc.tuples, 2);
	assert_int_equal(doc.open_tuples, 1);
	assert_int_equal(doc.activities_n, 2);
	assert_true(has_activity(&doc, "on-the-phone"));
	assert_true(has_activity(&doc, "unknown"));
	assert_int_equal(pstat_map(&doc, &r), TS_BUSY);
}

/* basic counts only as tuple/status/basic, trimmed, any case of "open" */
static void test_basic_placement_and_case(void **state)
{
	static const char s[] = PIDF_HEAD
		"<tuple id=\"a\"><status><x:wrap xmlns:x=\"urn:x\">"
		"<basic>open</basic></x:wrap></status></tuple>\n"
		"<tuple id=\"b\"><basic>open</basic></tuple>\n"
		"<tuple id=\"c\"><status><basic> \n\tOpen\r\n </basic></status></tuple>\n"
		"<tuple id=\"d\"><status><basic>opened</basic></status></tuple>\n"
		"<tuple id=\"e\"><status><basic xmlns=\"urn:x\">open</basic></status></tuple>\n"
		"<tuple id=\"f\"><status><basic>op<x:i xmlns:x=\"urn:x\">x</x:i>en</basic>"
		"</status></tuple>\n"
		"<x:ext xmlns:x=\"urn:x\"><tuple id=\"g\"><status><basic>open</basic>"
		"</status></tuple></x:ext>\n"
		PIDF_TAIL;
	struct pidf_doc doc;

	(void)state;
	assert_int_equal(parse_str(s, strlen(s), &doc), PIDF_OK);
	assert_int_equal(doc.tuples, 6);       /* g is not a child of presence */
	assert_int_equal(doc.open_tuples, 2);  /* c, and f ("op" + "en") */
	assert_int_equal(pstat_map(&doc, NULL), TS_REACHABLE);
}

/* blank padding longer than the text buffer does not spoil "open", but a
 * long value is not truncated into "open" */
static void test_basic_bounded_text(void **state)
{
	char s[4096];
	char pad[1024];
	struct pidf_doc doc;

	(void)state;
	memset(pad, ' ', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	snprintf(s, sizeof(s), PIDF_HEAD
		"<tuple id=\"a\"><status><basic>%sopen%s</basic></status></tuple>\n"
		"<tuple id=\"b\"><status><basic>open%sx</basic></status></tuple>\n"
		PIDF_TAIL, pad, pad, pad);
	assert_int_equal(parse_str(s, strlen(s), &doc), PIDF_OK);
	assert_int_equal(doc.tuples, 2);
	assert_int_equal(doc.open_tuples, 1);
}

/* --- namespaces --------------------------------------------------------- */

static void test_unusual_prefixes(void **state)
{
	struct pidf_doc doc;
	struct pstat_rules r = default_rules();

	(void)state;
	assert_int_equal(parse_file("unusual-prefixes.xml", &doc), PIDF_OK);
	assert_int_equal(doc.tuples, 1);
	assert_int_equal(doc.open_tuples, 1);
	assert_true(has_activity(&doc, "on-the-phone"));
	assert_int_equal(pstat_map(&doc, &r), TS_BUSY);
}

static void test_wrong_namespace_ignored(void **state)
{
	struct pidf_doc doc;
	struct pstat_rules r = default_rules();

	(void)state;
	assert_int_equal(parse_file("wrong-namespace.xml", &doc), PIDF_OK);
	assert_int_equal(doc.tuples, 1);
	assert_int_equal(doc.open_tuples, 1);
	assert_int_equal(doc.activities_n, 0);
	assert_int_equal(pstat_map(&doc, &r), TS_REACHABLE);
}

/* a namespace URI that merely starts like the right one, or differs in case,
 * is another namespace; one that contains the parser's separator ('|') could
 * forge "uri|local" names: expat (>= 2.4.5) refuses it */
static void test_lookalike_namespaces(void **state)
{
	static const char s[] = PIDF_HEAD TUPLE_CLOSED
		"<a:activities xmlns:a=\"urn:ietf:params:xml:ns:pidf:rpid2\">"
		"<a:busy/></a:activities>\n"
		"<c:activities xmlns:c=\"urn:ietf:params:xml:ns:pidf:RPID\">"
		"<c:busy/></c:activities>\n"
		"<d:activities xmlns:d=\"urn:ietf:params:xml:ns:pidf:rpid:\">"
		"<d:busy/></d:activities>\n"
		PIDF_TAIL;
	static const char sep[] = PIDF_HEAD TUPLE_CLOSED
		"<b:activities xmlns:b=\"urn:ietf:params:xml:ns:pidf:rpid|busy\">"
		"<b:x/></b:activities>\n"
		PIDF_TAIL;
	struct pidf_doc doc;

	(void)state;
	assert_int_equal(parse_str(s, strlen(s), &doc), PIDF_OK);
	assert_int_equal(doc.tuples, 1);
	assert_int_equal(doc.activities_n, 0);
	assert_int_equal(pstat_map(&doc, NULL), TS_UNREACHABLE);
	assert_int_equal(parse_str(sep, strlen(sep), &doc), PIDF_MALFORMED);
	assert_zero_doc(&doc);
}

/* activity children in other namespaces are not taken for RPID ones, and
 * the draft's shape needs activities/activity */
static void test_activity_children_namespaces(void **state)
{
	static const char s[] = PIDF_HEAD TUPLE_OPEN
		"<rpid:activities><x:on-the-phone xmlns:x=\"urn:x\"/></rpid:activities>\n"
		"<ep:activity xmlns:ep=\"urn:ietf:params:xml:ns:pidf:status:rpid-status\">"
		"busy</ep:activity>\n"
		"<ep:activities xmlns:ep=\"urn:ietf:params:xml:ns:pidf:status:rpid-status\">"
		"<ep:activity> meal </ep:activity><ep:activity/></ep:activities>\n"
		PIDF_TAIL;
	struct pidf_doc doc;

	(void)state;
	assert_int_equal(parse_str(s, strlen(s), &doc), PIDF_OK);
	assert_int_equal(doc.activities_n, 1);
	assert_string_equal(doc.activities[0], "meal");
	assert_int_equal(pstat_map(&doc, NULL), TS_REACHABLE);
}

/* --- activities --------------------------------------------------------- */

static void test_activity_other_text(void **state)
{
	struct pidf_doc doc;
	struct pstat_rules r;

	(void)state;
	assert_int_equal(parse_file("rpid-other-and-tuple.xml", &doc), PIDF_OK);
	assert_int_equal(doc.tuples, 1);
	assert_int_equal(doc.open_tuples, 0);
	assert_int_equal(doc.activities_n, 2);
	assert_true(has_activity(&doc, "meeting"));
	assert_true(has_activity(&doc, "in a workshop"));
	assert_false(has_activity(&doc, "other"));
	r = default_rules();
	assert_int_equal(pstat_map(&doc, &r), TS_UNREACHABLE);
	assert_int_equal(pstat_rules_parse(&r, "in a workshop"), 0);
	assert_int_equal(pstat_map(&doc, &r), TS_BUSY);
}

static void test_activities_dedup_cap_and_length(void **state)
{
	char s[8192];
	size_t n;
	struct pidf_doc doc;
	char longname[PIDF_ACTIVITY_MAX + 1];
	char maxname[PIDF_ACTIVITY_MAX];

	(void)state;
	memset(longname, 'l', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';      /* 48 chars: too long */
	memset(maxname, 'm', sizeof(maxname) - 1);
	maxname[sizeof(maxname) - 1] = '\0';        /* 47 chars: kept */

	n = (size_t)snprintf(s, sizeof(s), PIDF_HEAD TUPLE_OPEN
		"<dm:person id=\"p\"><rpid:activities>"
		"<rpid:%s/><rpid:%s/><rpid:other>%s</rpid:other>"
		"<rpid:a0/><rpid:a0/><rpid:other>a0</rpid:other>",
		longname, maxname, longname);
	for (int i = 1; i < 30; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "<rpid:a%d/>", i);
	n += (size_t)snprintf(s + n, sizeof(s) - n, "<rpid:busy/>"
		"</rpid:activities></dm:person>\n" PIDF_TAIL);
	assert_true(n < sizeof(s));

	assert_int_equal(parse_str(s, n, &doc), PIDF_OK);
	assert_int_equal(doc.activities_n, PIDF_MAX_ACTIVITIES);
	assert_string_equal(doc.activities[0], maxname);
	assert_string_equal(doc.activities[1], "a0");
	assert_string_equal(doc.activities[2], "a1");
	for (int i = 0; i < doc.activities_n; i++) {
		assert_true(strlen(doc.activities[i]) < PIDF_ACTIVITY_MAX);
		assert_true(strncmp(doc.activities[i], "lll", 3) != 0);
	}
	/* past the cap: "busy" came too late to be kept */
	assert_false(has_activity(&doc, "busy"));
}

/* activities are collected anywhere, not only under dm:person */
static void test_activities_anywhere(void **state)
{
	static const char s[] = PIDF_HEAD
		"<tuple id=\"a\"><status><basic>closed</basic>"
		"<rpid:activities><rpid:on-the-phone/></rpid:activities></status></tuple>\n"
		"<rpid:activities><rpid:appointment/></rpid:activities>\n"
		PIDF_TAIL;
	struct pidf_doc doc;

	(void)state;
	assert_int_equal(parse_str(s, strlen(s), &doc), PIDF_OK);
	assert_int_equal(doc.activities_n, 2);
	assert_true(has_activity(&doc, "on-the-phone"));
	assert_true(has_activity(&doc, "appointment"));
	assert_int_equal(pstat_map(&doc, NULL), TS_BUSY);
}

/* --- empty and broken bodies -------------------------------------------- */

static void test_empty_body(void **state)
{
	struct pidf_doc doc;

	(void)state;
	assert_int_equal(parse_str("", 0, &doc), PIDF_OK);
	assert_zero_doc(&doc);
	assert_int_equal(pstat_map(&doc, NULL), TS_UNREACHABLE);
	assert_int_equal(parse_str(NULL, 0, &doc), PIDF_OK);
	assert_zero_doc(&doc);
}

static void test_whitespace_body(void **state)
{
	static const char s[] = " \r\n\t\r\n  ";
	struct pidf_doc doc;

	(void)state;
	assert_int_equal(parse_str(s, sizeof(s) - 1, &doc), PIDF_OK);
	assert_zero_doc(&doc);
	assert_int_equal(pstat_map(&doc, NULL), TS_UNREACHABLE);
}

static void test_malformed_bodies(void **state)
{
	static const char *const bad[] = {
		"<?xml version=\"1.0\"?>",
		"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\">",
		"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"></tuple>",
		"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"/><presence/>",
		"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"><tuple>&nope;</tuple></presence>",
		"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"><p:x/></presence>",
		"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"><tuple id=\"a\" id=\"b\"/></presence>",
		"not xml at all",
		"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\">\xff\xfe</presence>",
		"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\">\xc3(</presence>",
		"<?xml version=\"1.0\" encoding=\"x-no-such\"?><presence/>",
	};
	struct pidf_doc doc;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum pidf_rc rc = parse_str(bad[i], strlen(bad[i]), &doc);
		if (rc != PIDF_MALFORMED)
			fail_msg("case %zu: %s", i, pidf_rc_name(rc));
		assert_zero_doc(&doc);
	}
	assert_int_equal(parse_file("truncated.xml", &doc), PIDF_MALFORMED);
	assert_zero_doc(&doc);
}

/* NUL bytes inside the length, and a buffer with no terminating NUL */
static void test_embedded_nul_and_unterminated(void **state)
{
	static const char nul[] = "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\">"
		"<tuple id=\"a\"><status><basic>open\0</basic></status></tuple></presence>";
	static const char ok[] = PIDF_HEAD TUPLE_OPEN PIDF_TAIL;
	struct pidf_doc doc;
	char *exact;

	(void)state;
	assert_int_equal(parse_str(nul, sizeof(nul) - 1, &doc), PIDF_MALFORMED);
	assert_zero_doc(&doc);
	/* the body cut at a NUL is truncated */
	assert_int_equal(parse_str(nul, strlen(nul), &doc), PIDF_MALFORMED);

	exact = malloc(sizeof(ok) - 1);     /* no room for a NUL: ASan checks */
	assert_non_null(exact);
	memcpy(exact, ok, sizeof(ok) - 1);
	assert_int_equal(parse_str(exact, sizeof(ok) - 1, &doc), PIDF_OK);
	assert_int_equal(doc.open_tuples, 1);
	free(exact);
}

static void test_not_pidf_root(void **state)
{
	static const char *const other[] = {
		"<presence><tuple id=\"a\"><status><basic>open</basic></status></tuple></presence>",
		"<presence xmlns=\"urn:ietf:params:xml:ns:pidf:rpid\"/>",
		"<p:presence xmlns:p=\"urn:ietf:params:xml:ns:pidf:data-model\"/>",
		"<tuple xmlns=\"urn:ietf:params:xml:ns:pidf\"><status><basic>open</basic>"
		"</status></tuple>",
	};
	struct pidf_doc doc;

	(void)state;
	assert_int_equal(parse_file("not-pidf-root.xml", &doc), PIDF_NOT_PIDF);
	assert_zero_doc(&doc);
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		enum pidf_rc rc = parse_str(other[i], strlen(other[i]), &doc);
		if (rc != PIDF_NOT_PIDF)
			fail_msg("case %zu: %s", i, pidf_rc_name(rc));
		assert_zero_doc(&doc);
	}
	/* a non-PIDF root must still be well-formed */
	assert_int_equal(parse_str("<foo><bar></foo>", 16, &doc), PIDF_MALFORMED);
}

/* --- hostile documents -------------------------------------------------- */

static void test_doctype_refused(void **state)
{
	static const char *const dtd[] = {
		"<!DOCTYPE presence><presence xmlns=\"urn:ietf:params:xml:ns:pidf\"/>",
		"<?xml version=\"1.0\"?>\n<!DOCTYPE presence [ <!ENTITY x \"open\"> ]>\n"
		"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"><tuple id=\"a\">"
		"<status><basic>&x;</basic></status></tuple></presence>",
		"<!DOCTYPE presence [ <!ENTITY % p SYSTEM \"http://127.0.0.1:9/x\"> %p; ]>"
		"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"/>",
	};
	struct pidf_doc doc;

	(void)state;
	assert_int_equal(parse_file("doctype-billion-laughs.xml", &doc), PIDF_MALFORMED);
	assert_zero_doc(&doc);
	assert_int_equal(parse_file("doctype-external-entity.xml", &doc), PIDF_MALFORMED);
	assert_zero_doc(&doc);
	for (size_t i = 0; i < sizeof(dtd) / sizeof(dtd[0]); i++) {
		enum pidf_rc rc = parse_str(dtd[i], strlen(dtd[i]), &doc);
		if (rc != PIDF_MALFORMED)
			fail_msg("case %zu: %s", i, pidf_rc_name(rc));
		assert_zero_doc(&doc);
	}
}

static void test_too_big(void **state)
{
	size_t len = PIDF_MAX_BYTES + 1;
	char *s = malloc(len);
	struct pidf_doc doc;

	(void)state;
	assert_non_null(s);
	memset(s, ' ', len);
	assert_int_equal(parse_str(s, len, &doc), PIDF_TOO_BIG);
	assert_zero_doc(&doc);
	/* the limit is checked before anything is read */
	assert_int_equal(parse_str(s, (size_t)-1, &doc), PIDF_TOO_BIG);
	free(s);
}

/* exactly at the cap, a document with many tuples parses */
static void test_big_document_under_cap(void **state)
{
	static const char open_t[] = "<tuple id=\"t\"><status><basic>open</basic></status></tuple>\n";
	static const char closed_t[] = "<tuple id=\"t\"><status><basic>closed</basic></status></tuple>\n";
	size_t cap = PIDF_MAX_BYTES;
	char *s = malloc(cap);
	size_t n = 0;
	int tuples = 0, open = 0;
	struct pidf_doc doc;

	(void)state;
	assert_non_null(s);
	memcpy(s, PIDF_HEAD, sizeof(PIDF_HEAD) - 1);
	n = sizeof(PIDF_HEAD) - 1;
	while (n + sizeof(closed_t) + sizeof(PIDF_TAIL) < cap) {
		const char *t = (tuples % 3 == 0) ? open_t : closed_t;
		size_t tl = strlen(t);
		memcpy(s + n, t, tl);
		n += tl;
		open += (tuples % 3 == 0);
		tuples++;
	}
	memcpy(s + n, PIDF_TAIL, sizeof(PIDF_TAIL) - 1);
	n += sizeof(PIDF_TAIL) - 1;
	memset(s + n, '\n', cap - n);       /* pad to exactly the cap */
	assert_true(tuples > 900);

	assert_int_equal(parse_str(s, cap, &doc), PIDF_OK);
	assert_int_equal(doc.tuples, tuples);
	assert_int_equal(doc.open_tuples, open);
	free(s);
}

static char *nested(int levels, size_t *len)
{
	static const char open_tag[] = "<x:e>";
	static const char close_tag[] = "</x:e>";
	static const char head[] = "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:x=\"urn:x\">";
	static const char tail[] = "</presence>";
	size_t cap = sizeof(head) + sizeof(tail) + (size_t)levels * 11 + 1;
	char *s = malloc(cap);
	size_t n;

	assert_non_null(s);
	memcpy(s, head, sizeof(head) - 1);
	n = sizeof(head) - 1;
	for (int i = 0; i < levels; i++) {
		memcpy(s + n, open_tag, 5);
		n += 5;
	}
	for (int i = 0; i < levels; i++) {
		memcpy(s + n, close_tag, 6);
		n += 6;
	}
	memcpy(s + n, tail, sizeof(tail) - 1);
	n += sizeof(tail) - 1;
	*len = n;
	return s;
}

static void test_depth_cap(void **state)
{
	struct pidf_doc doc;
	size_t len;
	char *s;

	(void)state;
	s = nested(63, &len);               /* 64 levels with the root */
	assert_int_equal(parse_str(s, len, &doc), PIDF_OK);
	free(s);
	s = nested(64, &len);               /* 65 */
	assert_int_equal(parse_str(s, len, &doc), PIDF_MALFORMED);
	assert_zero_doc(&doc);
	free(s);
	s = nested(5000, &len);
	assert_true(len < PIDF_MAX_BYTES);
	assert_int_equal(parse_str(s, len, &doc), PIDF_MALFORMED);
	free(s);
}

/* --- mapping rules ------------------------------------------------------ */

static void test_busy_list_configuration(void **state)
{
	struct pstat_rules r;

	(void)state;
	assert_int_equal(pstat_rules_parse(&r, "meeting"), 0);
	assert_int_equal(r.busy_n, 1);
	/* meeting is in a closed tuple: Busy anyway */
	assert_int_equal(map_file("rpid-other-and-tuple.xml", &r), TS_BUSY);
	/* on-the-phone is no longer busy: the open tuple decides */
	assert_int_equal(map_file("rfc4480-person-on-the-phone.xml", &r), TS_REACHABLE);
	assert_int_equal(map_file("device-on-the-phone-rpid-status.xml", &r), TS_REACHABLE);
	assert_int_equal(map_file("closed-rpid-busy.xml", &r), TS_UNREACHABLE);

	/* IBM's default */
	assert_int_equal(pstat_rules_parse(&r, "on-the-phone"), 0);
	assert_int_equal(map_file("closed-rpid-busy.xml", &r), TS_UNREACHABLE);
	assert_int_equal(map_file("kamailio-aggregated.xml", &r), TS_BUSY);

	/* no rules: the contract's default list */
	assert_int_equal(map_file("closed-rpid-busy.xml", NULL), TS_BUSY);
	assert_int_equal(map_file("away-open.xml", NULL), TS_REACHABLE);
	assert_int_equal(pstat_map(NULL, NULL), TS_UNREACHABLE);
}

static void test_busy_names_ignore_case(void **state)
{
	static const char s[] = PIDF_HEAD TUPLE_CLOSED
		"<rpid:activities><rpid:On-The-Phone/></rpid:activities>" PIDF_TAIL;
	struct pidf_doc doc;
	struct pstat_rules r;

	(void)state;
	assert_int_equal(parse_str(s, strlen(s), &doc), PIDF_OK);
	assert_string_equal(doc.activities[0], "On-The-Phone");
	assert_int_equal(pstat_map(&doc, NULL), TS_BUSY);
	assert_int_equal(pstat_rules_parse(&r, "ON-THE-PHONE"), 0);
	assert_int_equal(pstat_map(&doc, &r), TS_BUSY);
	assert_int_equal(pstat_rules_parse(&r, "on-the-phon"), 0);
	assert_int_equal(pstat_map(&doc, &r), TS_UNREACHABLE);
}

static void test_rules_parse_ok(void **state)
{
	struct pstat_rules r;
	char list[PSTAT_MAX_BUSY * 4 + 1];
	char maxitem[PIDF_ACTIVITY_MAX];

	(void)state;
	assert_int_equal(pstat_rules_parse(&r, " on-the-phone ,\tbusy\t"), 0);
	assert_int_equal(r.busy_n, 2);
	assert_string_equal(r.busy[0], "on-the-phone");
	assert_string_equal(r.busy[1], "busy");

	/* exactly PSTAT_MAX_BUSY items */
	list[0] = '\0';
	for (int i = 0; i < PSTAT_MAX_BUSY; i++) {
		char item[8];
		snprintf(item, sizeof(item), i ? ",a%d" : "a%d", i);
		strcat(list, item);
	}
	assert_int_equal(pstat_rules_parse(&r, list), 0);
	assert_int_equal(r.busy_n, PSTAT_MAX_BUSY);
	assert_string_equal(r.busy[PSTAT_MAX_BUSY - 1], "a15");

	/* the longest item allowed */
	memset(maxitem, 'm', sizeof(maxitem) - 1);
	maxitem[sizeof(maxitem) - 1] = '\0';
	assert_int_equal(pstat_rules_parse(&r, maxitem), 0);
	assert_int_equal(r.busy_n, 1);
	assert_string_equal(r.busy[0], maxitem);
}

static void test_rules_parse_errors(void **state)
{
	static const char *const bad[] = {
		"", " ", "\t", ",", "a,,b", "a,", ",a", "a, ,b",
	};
	struct pstat_rules r, before;
	char toolong[PIDF_ACTIVITY_MAX + 8];
	char many[PSTAT_MAX_BUSY * 4 + 8];

	(void)state;
	assert_int_equal(pstat_rules_parse(&r, "keep"), 0);
	before = r;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (pstat_rules_parse(&r, bad[i]) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		/* a refused list leaves the rules as they were */
		assert_memory_equal(&r, &before, sizeof(r));
	}
	assert_int_equal(pstat_rules_parse(&r, NULL), -1);
	assert_int_equal(pstat_rules_parse(NULL, "busy"), -1);

	/* too long: PIDF_ACTIVITY_MAX characters leave no room for the NUL */
	memset(toolong, 'x', PIDF_ACTIVITY_MAX);
	toolong[PIDF_ACTIVITY_MAX] = '\0';
	assert_int_equal(pstat_rules_parse(&r, toolong), -1);
	memcpy(toolong, "busy,", 5);
	memset(toolong + 5, 'y', PIDF_ACTIVITY_MAX);
	toolong[5 + PIDF_ACTIVITY_MAX] = '\0';
	assert_int_equal(pstat_rules_parse(&r, toolong), -1);
	assert_memory_equal(&r, &before, sizeof(r));

	/* too many */
	many[0] = '\0';
	for (int i = 0; i <= PSTAT_MAX_BUSY; i++) {
		char item[8];
		snprintf(item, sizeof(item), i ? ",a%d" : "a%d", i);
		strcat(many, item);
	}
	assert_int_equal(pstat_rules_parse(&r, many), -1);
	assert_memory_equal(&r, &before, sizeof(r));
}

static void test_rc_names(void **state)
{
	(void)state;
	assert_string_equal(pidf_rc_name(PIDF_OK), "ok");
	assert_string_equal(pidf_rc_name(PIDF_MALFORMED), "malformed");
	assert_string_equal(pidf_rc_name(PIDF_NOT_PIDF), "not-pidf");
	assert_string_equal(pidf_rc_name(PIDF_TOO_BIG), "too-big");
	assert_string_equal(pidf_rc_name((enum pidf_rc)42), "?");
	assert_int_equal(pidf_parse("<x/>", 4, NULL), PIDF_MALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_field_sample_draft_rpid),
		cmocka_unit_test(test_rfc4480_person_on_the_phone),
		cmocka_unit_test(test_closed_with_busy_activity),
		cmocka_unit_test(test_away_open_is_reachable),
		cmocka_unit_test(test_two_tuples_one_open),
		cmocka_unit_test(test_two_tuples_closed),
		cmocka_unit_test(test_kamailio_offline_body),
		cmocka_unit_test(test_kamailio_aggregated_body),
		cmocka_unit_test(test_basic_placement_and_case),
		cmocka_unit_test(test_basic_bounded_text),
		cmocka_unit_test(test_unusual_prefixes),
		cmocka_unit_test(test_wrong_namespace_ignored),
		cmocka_unit_test(test_lookalike_namespaces),
		cmocka_unit_test(test_activity_children_namespaces),
		cmocka_unit_test(test_activity_other_text),
		cmocka_unit_test(test_activities_dedup_cap_and_length),
		cmocka_unit_test(test_activities_anywhere),
		cmocka_unit_test(test_empty_body),
		cmocka_unit_test(test_whitespace_body),
		cmocka_unit_test(test_malformed_bodies),
		cmocka_unit_test(test_embedded_nul_and_unterminated),
		cmocka_unit_test(test_not_pidf_root),
		cmocka_unit_test(test_doctype_refused),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_big_document_under_cap),
		cmocka_unit_test(test_depth_cap),
		cmocka_unit_test(test_busy_list_configuration),
		cmocka_unit_test(test_busy_names_ignore_case),
		cmocka_unit_test(test_rules_parse_ok),
		cmocka_unit_test(test_rules_parse_errors),
		cmocka_unit_test(test_rc_names),
	};

	return cmocka_run_group_tests_name("pidf", tests, NULL, NULL);
}
