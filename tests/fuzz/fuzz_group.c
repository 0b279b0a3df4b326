/*
 * fuzz_group.c - libFuzzer target for the group file reader and the
 * expansion of a request's addresses (src/group.c).
 *
 * Input: the bytes of a group file, loaded with group_load from a path (a
 * memfd, named through /proc/self/fd) as the gateway loads group.file.
 * When it loads, the words of the file (up to MAX_ADDRS of them, comments
 * included) are the addresses of a request, expanded under each of the
 * POLICIES below, and one word at a time under the first.
 *
 * Checked besides memory safety: a refusal writes a message within its
 * buffer; an expansion that succeeds has distinct targets, none of them a
 * group, at most max_targets of them, an over list only with up_to_limit;
 * one that fails gives one of the faults group.h lists and an empty result.
 * Under the permissive policy the expansion is also compared with one
 * written again here from group.h, on the file read again here: the same
 * targets in the same order (depth-first, members in file order, each
 * group once, first seen wins), the over list the rest, and SVC0006 for
 * the first named group that reaches no terminal.
 *
 * fuzz-max-len: 4096
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "group.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_group: check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

#define MAX_ADDRS 64

static const struct group_policy POLICIES[] = {
	{ .group_support = true, .nested_groups = true, .max_targets = 100, .up_to_limit = true },
	{ .group_support = true, .nested_groups = true, .max_targets = 0, .up_to_limit = false },
	{ .group_support = true, .nested_groups = true, .max_targets = 3, .up_to_limit = false },
	{ .group_support = true, .nested_groups = false, .max_targets = 2, .up_to_limit = true },
	{ .group_support = false, .nested_groups = true, .max_targets = 100, .up_to_limit = true },
};

/* --- the expansion written again ------------------------------------------------ */

struct ref_group {
	char *uri;
	char **m;
	size_t n;
};

struct ref {
	struct ref_group *g;
	size_t n;
	char **out;          /* expansion, first seen wins */
	size_t nout;
	bool *done;
};

/* The groups of text (a file group_load accepted: no NUL, no '#' inside
 * a word, no control character but blanks). text is cut into words. */
static void ref_read(struct ref *r, char *text)
{
	char *save = NULL;

	memset(r, 0, sizeof(*r));
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *wsave = NULL;
		struct ref_group *g = NULL;

		for (char *w = strtok_r(line, " \t\r", &wsave); w && w[0] != '#';
		     w = strtok_r(NULL, " \t\r", &wsave)) {
			if (!g) {
				r->g = realloc(r->g, (r->n + 1) * sizeof(*r->g));
				CHECK(r->g);
				g = &r->g[r->n++];
				memset(g, 0, sizeof(*g));
				g->uri = w;
				continue;
			}
			g->m = realloc(g->m, (g->n + 1) * sizeof(*g->m));
			CHECK(g->m);
			g->m[g->n++] = w;
		}
	}
}

static void ref_free(struct ref *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->g[i].m);
	free(r->g);
	free(r->out);
	free(r->done);
}

static long ref_find(const struct ref *r, const char *uri)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->g[i].uri, uri) == 0)
			return (long)i;
	return -1;
}

static void ref_add(struct ref *r, char *s)
{
	for (size_t i = 0; i < r->nout; i++)
		if (strcmp(r->out[i], s) == 0)
			return;
	r->out = realloc(r->out, (r->nout + 1) * sizeof(*r->out));
	CHECK(r->out);
	r->out[r->nout++] = s;
}

static void ref_expand(struct ref *r, size_t gi)
{
	r->done[gi] = true;
	for (size_t j = 0; j < r->g[gi].n; j++) {
		long c = ref_find(r, r->g[gi].m[j]);

		if (c < 0)
			ref_add(r, r->g[gi].m[j]);
		else if (!r->done[c])
			ref_expand(r, (size_t)c);
	}
}

/* whether a terminal can be reached from group gi (seen: groups visited) */
static bool ref_reaches(const struct ref *r, size_t gi, bool *seen)
{
	seen[gi] = true;
	for (size_t j = 0; j < r->g[gi].n; j++) {
		long c = ref_find(r, r->g[gi].m[j]);

		if (c < 0 || (!seen[c] && ref_reaches(r, (size_t)c, seen)))
			return true;
	}
	return false;
}

/* Compares group_expand under the permissive policy with the reference. */
static void compare(const struct group_set *gs, struct ref *r, char *const *addrs, size_t n)
{
	const struct group_policy all = { .group_support = true, .nested_groups = true };
	const struct group_policy three = {
		.group_support = true, .nested_groups = true, .max_targets = 3, .up_to_limit = true,
	};
	const char *hollow = NULL;
	struct group_expansion e;
	struct fault f;

	for (size_t i = 0; i < r->n; i++)
		CHECK(group_is_group(gs, r->g[i].uri));
	for (size_t i = 0; i < n && !hollow; i++) {
		long gi = ref_find(r, addrs[i]);

		if (gi >= 0) {
			bool *seen = calloc(r->n, sizeof(*seen));

			CHECK(seen);
			if (!ref_reaches(r, (size_t)gi, seen))
				hollow = addrs[i];
			free(seen);
		}
	}
	r->done = calloc(r->n ? r->n : 1, sizeof(*r->done));
	CHECK(r->done);
	for (size_t i = 0; i < n; i++) {
		long gi = ref_find(r, addrs[i]);

		if (gi < 0)
			ref_add(r, addrs[i]);
		else if (!r->done[gi])
			ref_expand(r, (size_t)gi);
	}

	memset(&f, 0, sizeof(f));
	if (group_expand(gs, (const char *const *)addrs, n, "addresses", &all, &e, &f) != 0) {
		CHECK(hollow && f.id == SVC0006 && f.nvars == 2);
		CHECK(strcmp(f.vars[0], hollow) == 0 && strcmp(f.vars[1], "addresses") == 0);
		return;
	}
	CHECK(!hollow);
	CHECK(e.n == r->nout && e.n_over == 0);
	for (size_t i = 0; i < e.n; i++)
		CHECK(strcmp(e.targets[i], r->out[i]) == 0);
	group_expansion_free(&e);

	CHECK(group_expand(gs, (const char *const *)addrs, n, "addresses", &three, &e, &f) == 0);
	CHECK(e.n == (r->nout < 3 ? r->nout : 3) && e.n + e.n_over == r->nout);
	for (size_t i = 0; i < e.n; i++)
		CHECK(strcmp(e.targets[i], r->out[i]) == 0);
	for (size_t i = 0; i < e.n_over; i++)
		CHECK(strcmp(e.over[i], r->out[3 + i]) == 0);
	group_expansion_free(&e);
}

/* --- the target ------------------------------------------------------------------- */

static int fd = -1;
static char path[64];

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void expand(const struct group_set *gs, const char *const *addrs, size_t n,
		   const struct group_policy *pol)
{
	struct group_expansion e;
	struct fault f;
	char **all;
	size_t total;

	memset(&f, 0, sizeof(f));
	if (group_expand(gs, addrs, n, "addresses", pol, &e, &f) != 0) {
		CHECK(f.id == POL0006 || f.id == POL0007 || f.id == SVC0006 || f.id == POL0003 ||
		      f.id == SVC0001);
		CHECK(e.n == 0 && e.n_over == 0 && !e.targets && !e.over);
		if (f.id == POL0006)
			CHECK(!pol->group_support);
		if (f.id == POL0007)
			CHECK(!pol->nested_groups);
		if (f.id == POL0003)
			CHECK(!pol->up_to_limit && pol->max_targets);
		group_expansion_free(&e);
		return;
	}
	if (pol->max_targets)
		CHECK(e.n <= pol->max_targets);
	CHECK(e.n_over == 0 || (pol->up_to_limit && e.n == pol->max_targets));
	total = e.n + e.n_over;
	all = malloc((total ? total : 1) * sizeof(*all));
	CHECK(all);
	for (size_t i = 0; i < e.n; i++)
		all[i] = e.targets[i];
	for (size_t i = 0; i < e.n_over; i++)
		all[e.n + i] = e.over[i];
	for (size_t i = 0; i < total; i++)
		CHECK(all[i] && !group_is_group(gs, all[i]));
	qsort(all, total, sizeof(*all), cmp_str);
	for (size_t i = 1; i < total; i++)
		CHECK(strcmp(all[i - 1], all[i]) != 0);
	free(all);
	group_expansion_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct group_set *gs = NULL;
	char err[1024], *text, *text2;
	char *addrs[MAX_ADDRS];
	struct ref r;
	size_t n = 0;

	if (fd < 0) {
		fd = memfd_create("fuzz_group", MFD_CLOEXEC);
		CHECK(fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);

	memset(err, 0, sizeof(err));
	if (group_load(path, &gs, err, sizeof(err)) != 0) {
		CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
		CHECK(gs == NULL);
		return 0;
	}
	CHECK(gs != NULL);

	/* the words of the file (NUL bytes end the text: the file had none) */
	text = malloc(size + 1);
	CHECK(text);
	memcpy(text, data, size);
	text[size] = '\0';
	for (char *save = NULL, *w = strtok_r(text, " \t\r\n", &save); w && n < MAX_ADDRS;
	     w = strtok_r(NULL, " \t\r\n", &save))
		addrs[n++] = w;

	for (size_t p = 0; p < sizeof(POLICIES) / sizeof(POLICIES[0]); p++)
		expand(gs, (const char *const *)addrs, n, &POLICIES[p]);
	for (size_t i = 0; i < n; i++)
		expand(gs, (const char *const *)&addrs[i], 1, &POLICIES[0]);

	text2 = malloc(size + 1);
	CHECK(text2);
	memcpy(text2, data, size);
	text2[size] = '\0';
	ref_read(&r, text2);
	CHECK(group_count(gs) == r.n);
	for (size_t i = 0; i < n; i++)
		CHECK(group_is_group(gs, addrs[i]) == (ref_find(&r, addrs[i]) >= 0));
	compare(gs, &r, addrs, n);
	ref_free(&r);
	free(text2);

	free(text);
	group_free(gs);
	return 0;
}
