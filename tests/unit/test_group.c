/*
 * test_group.c - group files and the expansion of a request's addresses.
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

#include "group.h"

#define GRP(name) TEST_DATA_DIR "/groups/" name
#define X(u) "sip:" u "@example.com"

static char err[1024];

static const struct group_policy permissive = {
	.group_support = true, .nested_groups = true, .max_targets = 100, .up_to_limit = true,
};

static int setup_basic(void **state)
{
	struct group_set *gs = NULL;

	if (group_load(GRP("basic.grp"), &gs, err, sizeof(err)) != 0) {
		fprintf(stderr, "basic.grp: %s\n", err);
		return -1;
	}
	*state = gs;
	return 0;
}

static int teardown_basic(void **state)
{
	group_free(*state);
	return 0;
}

/* Expands addrs (NULL-terminated) and checks the targets and the over list
 * (want: targets, then "|", then over). */
static void expect_expansion(const struct group_set *gs, const struct group_policy *pol,
			     const char *const *addrs, const char *const *want)
{
	struct group_expansion e;
	struct fault f;
	size_t n = 0, i = 0, k;

	while (addrs[n])
		n++;
	memset(&f, 0, sizeof(f));
	if (group_expand(gs, addrs, n, "addresses", pol, &e, &f) != 0) {
		char text[256];

		fault_format(&f, text, sizeof(text));
		fail_msg("expansion failed: %s %s", fault_msgid(f.id), text);
	}
	assert_int_equal(f.id, FAULT_NONE);
	for (k = 0; want[i] && strcmp(want[i], "|") != 0; i++, k++) {
		if (k >= e.n)
			fail_msg("target %zu missing: wanted %s", k, want[i]);
		assert_string_equal(e.targets[k], want[i]);
	}
	assert_int_equal(e.n, k);
	if (want[i])
		i++;
	for (k = 0; want[i]; i++, k++) {
		if (k >= e.n_over)
			fail_msg("over %zu missing: wanted %s", k, want[i]);
		assert_string_equal(e.over[k], want[i]);
	}
	assert_int_equal(e.n_over, k);
	group_expansion_free(&e);
	assert_null(e.targets);
	assert_int_equal(e.n, 0);
}

/* Expands addrs and checks the fault, its variables and that out is empty. */
static void expect_fault(const struct group_set *gs, const struct group_policy *pol,
			 const char *const *addrs, enum fault_id id, const char *var1,
			 const char *var2)
{
	struct group_expansion e;
	struct fault f;
	size_t n = 0;

	while (addrs[n])
		n++;
	memset(&e, 0x5a, sizeof(e));
	assert_int_equal(group_expand(gs, addrs, n, "addresses", pol, &e, &f), -1);
	if (f.id != id)
		fail_msg("wanted %s, got %s", fault_msgid(id), fault_msgid(f.id));
	assert_int_equal(f.nvars, var2 ? 2 : 1);
	assert_string_equal(f.vars[0], var1);
	if (var2)
		assert_string_equal(f.vars[1], var2);
	assert_null(e.targets);
	assert_int_equal(e.n, 0);
	assert_null(e.over);
	assert_int_equal(e.n_over, 0);
	group_expansion_free(&e);
}

#define ADDRS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* --- loading ------------------------------------------------------------- */

static void test_load_basic(void **state)
{
	const struct group_set *gs = *state;

	assert_int_equal(group_count(gs), 17);
	assert_true(group_is_group(gs, X("team")));
	assert_true(group_is_group(gs, X("empty")));
	assert_true(group_is_group(gs, X("inner")));
	assert_true(group_is_group(gs, "tel:+15559999"));
	/* Members and unknown addresses are not groups; matching is exact. */
	assert_false(group_is_group(gs, X("alice")));
	assert_false(group_is_group(gs, "sip:TEAM@example.com"));
	assert_false(group_is_group(gs, X("team") " "));
	assert_false(group_is_group(gs, "#"));
	assert_false(group_is_group(gs, ""));
	assert_false(group_is_group(gs, NULL));
	assert_false(group_is_group(NULL, X("team")));
	assert_int_equal(group_count(NULL), 0);
}

static void test_load_empty_path(void **state)
{
	struct group_set *gs = (struct group_set *)0x1;

	(void)state;
	assert_int_equal(group_load(NULL, &gs, err, sizeof(err)), 0);
	assert_non_null(gs);
	assert_int_equal(group_count(gs), 0);
	assert_false(group_is_group(gs, X("team")));
	/* With no groups every address is a target, deduplicated. */
	expect_expansion(gs, &permissive, ADDRS(X("a"), X("b"), X("a")), ADDRS(X("a"), X("b")));
	group_free(gs);

	gs = NULL;
	assert_int_equal(group_load("", &gs, err, sizeof(err)), 0);
	assert_int_equal(group_count(gs), 0);
	group_free(gs);
	group_free(NULL);
}

static void test_load_errors(void **state)
{
	struct group_set *gs = (struct group_set *)0x1;

	(void)state;
	assert_int_equal(group_load(GRP("dup.grp"), &gs, err, sizeof(err)), -1);
	assert_ptr_equal(gs, (struct group_set *)0x1);      /* untouched */
	assert_non_null(strstr(err, "dup.grp:5:"));
	assert_non_null(strstr(err, "'sip:g1@x'"));
	assert_non_null(strstr(err, "line 2"));

	assert_int_equal(group_load(GRP("hash-in-addr.grp"), &gs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "hash-in-addr.grp:2:"));
	assert_non_null(strstr(err, "'#'"));

	assert_int_equal(group_load(GRP("control.grp"), &gs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "control.grp:2:"));

	assert_int_equal(group_load(GRP("no-such-file.grp"), &gs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no-such-file.grp"));
	assert_ptr_equal(gs, (struct group_set *)0x1);
}

static void test_load_crlf(void **state)
{
	struct group_set *gs = NULL;

	(void)state;
	assert_int_equal(group_load(GRP("crlf.grp"), &gs, err, sizeof(err)), 0);
	assert_int_equal(group_count(gs), 2);
	expect_expansion(gs, &permissive, ADDRS("sip:h@x", "sip:g@x"),
			 ADDRS("sip:b@x", "sip:a@x"));
	group_free(gs);
}

/* Writes a generated group file; returns its path in a static buffer. */
static const char *write_tmp(const char *text, size_t len)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/pxtsgw-test-group-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_load_limits(void **state)
{
	struct group_set *gs = NULL;
	size_t cap = 200000, n;
	char *text = malloc(cap);
	const char *path;

	(void)state;
	assert_non_null(text);

	/* A line of 64 KiB passes, one byte more does not. */
	n = (size_t)sprintf(text, "# a long line follows\nsip:g@x ");
	memset(text + n, 'a', 65536 - 8);
	n += 65536 - 8;
	text[n++] = '\n';
	/* "sip:g@x " plus the run of 'a' is exactly 65536 bytes, but the
	 * run is one address too long for TS_ADDR_MAX. */
	path = write_tmp(text, n);
	assert_int_equal(group_load(path, &gs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2: address longer than 511"));
	unlink(path);

	n = (size_t)sprintf(text, "# a long line follows\nsip:g@x");
	while (n < 22 + 65536)
		n += (size_t)sprintf(text + n, " sip:m@x");
	n = 22 + 65536;
	text[n++] = '\n';
	path = write_tmp(text, n);
	assert_int_equal(group_load(path, &gs, err, sizeof(err)), 0);
	assert_int_equal(group_count(gs), 1);
	group_free(gs);
	text[n - 1] = 'x';
	text[n++] = '\n';
	unlink(path);
	path = write_tmp(text, n);
	assert_int_equal(group_load(path, &gs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2: line longer than 65536"));
	unlink(path);

	/* 10000 members per group, not 10001. */
	n = (size_t)sprintf(text, "g");
	for (int i = 0; i < 10000; i++)
		n += (size_t)sprintf(text + n, " m");
	text[n++] = '\n';
	path = write_tmp(text, n);
	assert_int_equal(group_load(path, &gs, err, sizeof(err)), 0);
	group_free(gs);
	unlink(path);
	n--;
	n += (size_t)sprintf(text + n, " m\n");
	path = write_tmp(text, n);
	assert_int_equal(group_load(path, &gs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":1: group has more than 10000 members"));
	unlink(path);

	/* 10000 groups, not 10001. */
	n = 0;
	for (int i = 0; i < 10000; i++)
		n += (size_t)sprintf(text + n, "g%d m\n", i);
	path = write_tmp(text, n);
	assert_int_equal(group_load(path, &gs, err, sizeof(err)), 0);
	assert_int_equal(group_count(gs), 10000);
	assert_true(group_is_group(gs, "g9999"));
	group_free(gs);
	unlink(path);
	n += (size_t)sprintf(text + n, "g10000 m\n");
	path = write_tmp(text, n);
	assert_int_equal(group_load(path, &gs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":10001: more than 10000 groups"));
	unlink(path);
	free(text);
}

/* --- expansion ----------------------------------------------------------- */

static void test_expand_plain(void **state)
{
	const struct group_set *gs = *state;

	/* Addresses that are not groups pass through as written, in order. */
	expect_expansion(gs, &permissive, ADDRS(X("zoe"), "tel:+1-555", X("amy")),
			 ADDRS(X("zoe"), "tel:+1-555", X("amy")));
	/* n = 0 is fine. */
	struct group_expansion e;
	struct fault f = { 0 };
	assert_int_equal(group_expand(gs, NULL, 0, "addresses", &permissive, &e, &f), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(e.n_over, 0);
	group_expansion_free(&e);
}

static void test_expand_simple(void **state)
{
	const struct group_set *gs = *state;

	expect_expansion(gs, &permissive, ADDRS(X("team")),
			 ADDRS(X("alice"), X("bob"), "tel:+15550001"));
	/* A tel group URI, whose member is also another group's member. */
	expect_expansion(gs, &permissive, ADDRS("tel:+15559999"),
			 ADDRS("tel:+15550001", X("tel-member")));
}

static void test_expand_order_and_dedup(void **state)
{
	const struct group_set *gs = *state;

	/* First seen wins, across plain addresses and groups. */
	expect_expansion(gs, &permissive,
			 ADDRS(X("bob"), X("team"), X("zoe"), X("team"), X("alice")),
			 ADDRS(X("bob"), X("alice"), "tel:+15550001", X("zoe")));
	/* Duplicates inside a group. */
	expect_expansion(gs, &permissive, ADDRS(X("dups")),
			 ADDRS(X("d1"), X("d2"), X("d3")));
	/* Exact strings: case and form differences are different targets. */
	expect_expansion(gs, &permissive, ADDRS(X("alice"), "sip:Alice@example.com", X("alice")),
			 ADDRS(X("alice"), "sip:Alice@example.com"));
}

static void test_expand_nested(void **state)
{
	const struct group_set *gs = *state;

	expect_expansion(gs, &permissive, ADDRS(X("all")),
			 ADDRS(X("alice"), X("bob"), "tel:+15550001", X("carol"), X("dave")));
	/* Depth first, members in file order. */
	expect_expansion(gs, &permissive, ADDRS(X("outer")), ADDRS(X("xu"), X("yan"), X("zed")));
	expect_expansion(gs, &permissive, ADDRS(X("mid"), X("outer")),
			 ADDRS(X("xu"), X("yan"), X("zed")));
	/* A nested empty group adds nothing; its parent still has members. */
	expect_expansion(gs, &permissive, ADDRS(X("with-empty")), ADDRS(X("w1"), X("w2")));
}

static void test_expand_nested_refused(void **state)
{
	const struct group_set *gs = *state;
	struct group_policy pol = permissive;

	pol.nested_groups = false;
	expect_fault(gs, &pol, ADDRS(X("outer")), POL0007, "addresses", NULL);
	expect_fault(gs, &pol, ADDRS(X("zoe"), X("team"), X("all")), POL0007, "addresses", NULL);
	/* Groups without nested groups are still fine. */
	expect_expansion(gs, &pol, ADDRS(X("team"), X("inner")),
			 ADDRS(X("alice"), X("bob"), "tel:+15550001", X("xu")));
}

static void test_expand_cycles(void **state)
{
	const struct group_set *gs = *state;

	expect_expansion(gs, &permissive, ADDRS(X("cyc-a")), ADDRS(X("a1"), X("b1")));
	expect_expansion(gs, &permissive, ADDRS(X("cyc-b")), ADDRS(X("b1"), X("a1")));
	expect_expansion(gs, &permissive, ADDRS(X("self")), ADDRS(X("s1")));
	/* A cycle with no terminal at all is an empty group. */
	expect_fault(gs, &permissive, ADDRS(X("loop-x")), SVC0006, X("loop-x"), "addresses");
}

static void test_expand_empty_group(void **state)
{
	const struct group_set *gs = *state;
	struct fault f;
	char text[256];
	struct group_expansion e;
	const char *const *a = ADDRS(X("team"), X("empty"));

	expect_fault(gs, &permissive, ADDRS(X("empty")), SVC0006, X("empty"), "addresses");
	expect_fault(gs, &permissive, ADDRS(X("team"), X("of-empty")), SVC0006, X("of-empty"),
		     "addresses");
	/* The message part is the caller's. */
	assert_int_equal(group_expand(gs, a, 2, "groupAddresses", &permissive, &e, &f), -1);
	assert_int_equal(f.id, SVC0006);
	fault_format(&f, text, sizeof(text));
	assert_string_equal(text, "Group sip:empty@example.com in message part "
			    "groupAddresses is not a valid group");
	group_expansion_free(&e);
}

static void test_expand_groups_refused(void **state)
{
	const struct group_set *gs = *state;
	struct group_policy pol = permissive;

	pol.group_support = false;
	expect_fault(gs, &pol, ADDRS(X("zoe"), X("team")), POL0006, "addresses", NULL);
	/* Before any other group fault. */
	expect_fault(gs, &pol, ADDRS(X("empty")), POL0006, "addresses", NULL);
	pol.nested_groups = false;
	expect_fault(gs, &pol, ADDRS(X("outer")), POL0006, "addresses", NULL);
	/* Plain addresses, even group members, are fine. */
	expect_expansion(gs, &pol, ADDRS(X("alice"), X("zoe")), ADDRS(X("alice"), X("zoe")));
}

static void test_expand_limits(void **state)
{
	const struct group_set *gs = *state;
	struct group_policy pol = permissive;

	pol.max_targets = 10;
	expect_expansion(gs, &pol, ADDRS(X("big")),
			 ADDRS("sip:m01@x", "sip:m02@x", "sip:m03@x", "sip:m04@x", "sip:m05@x",
			       "sip:m06@x", "sip:m07@x", "sip:m08@x", "sip:m09@x", "sip:m10@x",
			       "|", "sip:m11@x", "sip:m12@x"));
	/* The limit counts after dedup; exactly at the limit nothing is over. */
	pol.max_targets = 12;
	expect_expansion(gs, &pol, ADDRS(X("big"), "sip:m01@x", X("big")),
			 ADDRS("sip:m01@x", "sip:m02@x", "sip:m03@x", "sip:m04@x", "sip:m05@x",
			       "sip:m06@x", "sip:m07@x", "sip:m08@x", "sip:m09@x", "sip:m10@x",
			       "sip:m11@x", "sip:m12@x"));
	pol.max_targets = 3;
	expect_expansion(gs, &pol, ADDRS(X("zoe"), X("team"), X("amy")),
			 ADDRS(X("zoe"), X("alice"), X("bob"), "|", "tel:+15550001", X("amy")));
	/* Plain addresses count too. */
	pol.max_targets = 1;
	expect_expansion(gs, &pol, ADDRS(X("a"), X("b")), ADDRS(X("a"), "|", X("b")));

	pol.up_to_limit = false;
	expect_fault(gs, &pol, ADDRS(X("a"), X("b")), POL0003, "addresses", NULL);
	pol.max_targets = 11;
	expect_fault(gs, &pol, ADDRS(X("big")), POL0003, "addresses", NULL);
	pol.max_targets = 12;
	expect_expansion(gs, &pol, ADDRS(X("big")),
			 ADDRS("sip:m01@x", "sip:m02@x", "sip:m03@x", "sip:m04@x", "sip:m05@x",
			       "sip:m06@x", "sip:m07@x", "sip:m08@x", "sip:m09@x", "sip:m10@x",
			       "sip:m11@x", "sip:m12@x"));
	/* 0 means no limit. */
	pol.max_targets = 0;
	expect_expansion(gs, &pol, ADDRS(X("team"), X("ops")),
			 ADDRS(X("alice"), X("bob"), "tel:+15550001", X("carol")));
}

static void test_expand_many(void **state)
{
	/* Enough targets to grow the dedup index several times. */
	size_t n = 5000;
	char **addrs = calloc(2 * n, sizeof(*addrs));
	struct group_expansion e;
	struct fault f;
	struct group_policy pol = permissive;

	(void)state;
	assert_non_null(addrs);
	for (size_t i = 0; i < 2 * n; i++) {
		addrs[i] = malloc(32);
		assert_non_null(addrs[i]);
		snprintf(addrs[i], 32, "sip:u%zu@x", i % n);
	}
	pol.max_targets = 4000;
	assert_int_equal(group_expand(NULL, (const char *const *)addrs, 2 * n, "addresses", &pol,
				      &e, &f), 0);
	assert_int_equal(e.n, 4000);
	assert_int_equal(e.n_over, 1000);
	assert_string_equal(e.targets[0], "sip:u0@x");
	assert_string_equal(e.targets[3999], "sip:u3999@x");
	assert_string_equal(e.over[999], "sip:u4999@x");
	/* The targets are copies, owned by the expansion. */
	assert_ptr_not_equal(e.targets[0], addrs[0]);
	group_expansion_free(&e);
	for (size_t i = 0; i < 2 * n; i++)
		free(addrs[i]);
	free(addrs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load_basic, setup_basic, teardown_basic),
		cmocka_unit_test(test_load_empty_path),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_crlf),
		cmocka_unit_test(test_load_limits),
		cmocka_unit_test_setup_teardown(test_expand_plain, setup_basic, teardown_basic),
		cmocka_unit_test_setup_teardown(test_expand_simple, setup_basic, teardown_basic),
		cmocka_unit_test_setup_teardown(test_expand_order_and_dedup, setup_basic,
						teardown_basic),
		cmocka_unit_test_setup_teardown(test_expand_nested, setup_basic, teardown_basic),
		cmocka_unit_test_setup_teardown(test_expand_nested_refused, setup_basic,
						teardown_basic),
		cmocka_unit_test_setup_teardown(test_expand_cycles, setup_basic, teardown_basic),
		cmocka_unit_test_setup_teardown(test_expand_empty_group, setup_basic, teardown_basic),
		cmocka_unit_test_setup_teardown(test_expand_groups_refused, setup_basic,
						teardown_basic),
		cmocka_unit_test_setup_teardown(test_expand_limits, setup_basic, teardown_basic),
		cmocka_unit_test(test_expand_many),
	};

	return cmocka_run_group_tests_name("group", tests, NULL, NULL);
}
