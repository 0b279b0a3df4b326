/*
 * pstat.c - maps the facts pidf.c extracts to a terminal status (contract
 * section 7), with the configured busy activity list.
 *
 * Activity names are compared ignoring ASCII case: RPID names are tokens,
 * and "On-The-Phone" from a sloppy publisher still means the phone is busy.
 * It does not parse documents nor read the configuration itself.
 */
#include "pstat.h"

#include <string.h>

#define PSTAT_DEFAULT_BUSY "on-the-phone,busy"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (lower(*a) != lower(*b))
			return false;
	return *a == *b;
}

int pstat_rules_parse(struct pstat_rules *r, const char *csv)
{
	struct pstat_rules tmp;
	const char *p = csv;

	if (!r || !csv)
		return -1;
	memset(&tmp, 0, sizeof(tmp));
	for (;;) {
		const char *end = strchr(p, ',');
		const char *b, *e;
		size_t n;

		if (!end)
			end = p + strlen(p);
		b = p;
		e = end;
		while (b < e && is_blank(*b))
			b++;
		while (e > b && is_blank(e[-1]))
			e--;
		n = (size_t)(e - b);
		if (n == 0 || n >= PIDF_ACTIVITY_MAX || tmp.busy_n >= PSTAT_MAX_BUSY)
			return -1;
		memcpy(tmp.busy[tmp.busy_n], b, n);
		tmp.busy[tmp.busy_n][n] = '\0';
		tmp.busy_n++;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	*r = tmp;
	return 0;
}

static bool is_busy(const struct pidf_doc *doc, const struct pstat_rules *r)
{
	for (int i = 0; i < doc->activities_n && i < PIDF_MAX_ACTIVITIES; i++)
		for (int j = 0; j < r->busy_n && j < PSTAT_MAX_BUSY; j++)
			if (name_eq(doc->activities[i], r->busy[j]))
				return true;
	return false;
}

/* With no rules, the contract's default list applies. */
ts_status pstat_map(const struct pidf_doc *doc, const struct pstat_rules *r)
{
	struct pstat_rules def;

	if (!doc)
		return TS_UNREACHABLE;
	if (!r) {
		pstat_rules_parse(&def, PSTAT_DEFAULT_BUSY);
		r = &def;
	}
	if (is_busy(doc, r))
		return TS_BUSY;
	if (doc->open_tuples > 0)
		return TS_REACHABLE;
	return TS_UNREACHABLE;
}
