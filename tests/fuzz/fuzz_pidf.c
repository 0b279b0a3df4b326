/*
 * fuzz_pidf.c - libFuzzer target for the PIDF parser (src/pidf.c) and the
 * status mapping (src/pstat.c).
 *
 * Input: a NOTIFY body, parsed with pidf_parse and mapped with pstat_map
 * under the default busy list and under lists made of the activities the
 * parser found. The same bytes, as a C string, are also a busy list for
 * pstat_rules_parse.
 *
 * Checked besides memory safety: a refused document leaves the result
 * empty; open tuples are tuples; activities are distinct, non-empty, within
 * their buffers and trimmed; the mapping is the contract's (section 7):
 * Busy when an activity is on the busy list (ASCII case ignored), else
 * Reachable when a tuple is open, else Unreachable; a list naming an
 * activity the document has maps it to Busy; a busy list that parses has
 * 1..PSTAT_MAX_BUSY trimmed, non-empty items.
 *
 * fuzz-max-len: 8192
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pidf.h"
#include "pstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_pidf: check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void check_doc(enum pidf_rc rc, const struct pidf_doc *d)
{
	static const struct pidf_doc zero;

	CHECK(rc == PIDF_OK || rc == PIDF_MALFORMED || rc == PIDF_NOT_PIDF || rc == PIDF_TOO_BIG);
	if (rc != PIDF_OK) {
		CHECK(memcmp(d, &zero, sizeof(zero)) == 0);
		return;
	}
	CHECK(d->tuples >= 0 && d->open_tuples >= 0 && d->open_tuples <= d->tuples);
	CHECK(d->activities_n >= 0 && d->activities_n <= PIDF_MAX_ACTIVITIES);
	for (int i = 0; i < d->activities_n; i++) {
		const char *a = d->activities[i];
		size_t n = strnlen(a, PIDF_ACTIVITY_MAX);

		CHECK(n > 0 && n < PIDF_ACTIVITY_MAX);
		CHECK(!blank(a[0]) && !blank(a[n - 1]));
		for (int j = 0; j < i; j++)
			CHECK(strcmp(d->activities[j], a) != 0);
	}
}

/* The contract's mapping, written again from section 7. */
static ts_status expected(const struct pidf_doc *d, const char *const *busy, int nbusy)
{
	for (int i = 0; i < d->activities_n; i++)
		for (int j = 0; j < nbusy; j++)
			if (strcasecmp(d->activities[i], busy[j]) == 0)
				return TS_BUSY;
	return d->open_tuples > 0 ? TS_REACHABLE : TS_UNREACHABLE;
}

static void check_rules(const char *csv)
{
	struct pstat_rules r;

	memset(&r, 0x5a, sizeof(r));
	if (pstat_rules_parse(&r, csv) != 0)
		return;
	CHECK(r.busy_n >= 1 && r.busy_n <= PSTAT_MAX_BUSY);
	for (int i = 0; i < r.busy_n; i++) {
		size_t n = strnlen(r.busy[i], PIDF_ACTIVITY_MAX);

		CHECK(n > 0 && n < PIDF_ACTIVITY_MAX);
		CHECK(r.busy[i][0] != ' ' && r.busy[i][0] != '\t');
		CHECK(r.busy[i][n - 1] != ' ' && r.busy[i][n - 1] != '\t');
		CHECK(strchr(r.busy[i], ',') == NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const def_busy[] = { "on-the-phone", "busy" };
	struct pidf_doc d, d2;
	struct pstat_rules rules;
	enum pidf_rc rc;
	char *s;

	rc = pidf_parse((const char *)data, size, &d);
	check_doc(rc, &d);
	/* the same bytes give the same answer */
	CHECK(pidf_parse((const char *)data, size, &d2) == rc);
	CHECK(memcmp(&d, &d2, sizeof(d)) == 0);

	CHECK(pstat_map(&d, NULL) == expected(&d, def_busy, 2));
	CHECK(pstat_rules_parse(&rules, "on-the-phone,busy") == 0);
	CHECK(pstat_map(&d, &rules) == expected(&d, def_busy, 2));

	/* every activity found, alone on the busy list, makes it Busy (an
	 * activity with a comma in it is two items on a list) */
	for (int i = 0; i < d.activities_n; i++) {
		if (strchr(d.activities[i], ','))
			continue;
		CHECK(pstat_rules_parse(&rules, d.activities[i]) == 0);
		CHECK(pstat_map(&d, &rules) == TS_BUSY);
	}

	s = malloc(size + 1);
	CHECK(s);
	memcpy(s, data, size);
	s[size] = '\0';
	check_rules(s);
	free(s);
	return 0;
}
