/*
 * group.h - address groups from group.file, and their expansion.
 *
 * File format: one group per line: the group URI, then its member URIs,
 * separated by spaces or tabs; '#' starts a comment to the end of the line;
 * blank lines are ignored. A member may itself be a group (nested).
 */
#ifndef PXTSGW_GROUP_H
#define PXTSGW_GROUP_H

#include <stdbool.h>
#include <stddef.h>

#include "fault.h"

struct group_set;

struct group_policy {
	bool group_support;     /* policy.group-support */
	bool nested_groups;     /* policy.nested-groups */
	size_t max_targets;     /* policy.max-group-targets */
	bool up_to_limit;       /* policy.process-up-to-limit */
};

/* The result of expanding a request's addresses. */
struct group_expansion {
	char **targets;   /* member addresses exactly as written, deduplicated,
	                     in first-seen order; owned by the expansion */
	size_t n;         /* targets to process */
	char **over;      /* beyond max_targets with up_to_limit: reported
	                     NotRetrieved */
	size_t n_over;
};

/* Loads a group file. On error returns -1 and writes a message naming the
 * line to err. *out is set only on success. A NULL or empty path gives an
 * empty set. */
int group_load(const char *path, struct group_set **out, char *err, size_t cap);
void group_free(struct group_set *gs);   /* NULL is fine */
size_t group_count(const struct group_set *gs);
bool group_is_group(const struct group_set *gs, const char *uri);

/* Expands addrs[0..n) (message part named part, e.g. "addresses").
 * Groups are replaced by their members, recursively when nested groups
 * are allowed (cycles are cut), duplicates removed.
 * Faults: a group when !group_support -> POL0006(part); a group inside a
 * group when !nested_groups -> POL0007(part); a group that expands to no
 * member -> SVC0006(group, part); more than max_targets with !up_to_limit
 * -> POL0003(part). Returns 0, or -1 with *f set. out is always
 * initialised and must be released with group_expansion_free. */
int group_expand(const struct group_set *gs, const char *const *addrs, size_t n,
		 const char *part, const struct group_policy *pol,
		 struct group_expansion *out, struct fault *f);
void group_expansion_free(struct group_expansion *e);

#endif
