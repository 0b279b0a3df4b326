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
 *
 * fuzz-max-len: 4096
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
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
	char err[1024], *text;
	const char *addrs[MAX_ADDRS];
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

	for (size_t i = 0; i < n; i++)
		(void)group_is_group(gs, addrs[i]);
	for (size_t p = 0; p < sizeof(POLICIES) / sizeof(POLICIES[0]); p++)
		expand(gs, addrs, n, &POLICIES[p]);
	for (size_t i = 0; i < n; i++)
		expand(gs, &addrs[i], 1, &POLICIES[0]);

	free(text);
	group_free(gs);
	return 0;
}
