/*
 * group.c - address groups from group.file, and their expansion.
 *
 * The loader keeps the groups sorted by URI (bsearch), resolves every
 * member that is itself a group to its index, and works out once which
 * groups reach at least one terminal (a group of empty groups, or a cycle
 * of groups with no terminal, reaches none). Nothing is checked about the
 * member addresses beyond their length and characters: they are mapped (or
 * refused) per entry when they are used.
 *
 * Limits (a line or file beyond them is a load error, never truncated):
 * GROUP_LINE_MAX bytes per line, GROUP_MAX_GROUPS groups, GROUP_MAX_MEMBERS
 * members per group, GROUP_MAX_TOTAL members in the file, addresses shorter
 * than TS_ADDR_MAX.
 *
 * Expansion, in this order of checks:
 *   1. a group named in the request when !group_support -> POL0006(part);
 *   2. a named group that contains a group when !nested_groups -> POL0007;
 *   3. a named group that reaches no terminal -> SVC0006(group, part); a
 *      nested group that is empty only adds nothing (the client did not
 *      name it, and its parent still has members);
 *   4. depth-first, members in file order; a group already expanded in this
 *      request (which includes one on the current path: a cycle) is
 *      skipped, so every group is expanded at most once and the walk needs
 *      no recursion; duplicates (exact string) are dropped, first seen wins;
 *   5. more targets than max_targets: the rest go to over with up_to_limit,
 *      else POL0003(part). max_targets 0 means no limit.
 * Out of memory gives SVC0001 ("out of memory").
 */
#include "group.h"

#include "hash.h"
#include "textfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts.h"

#define GROUP_LINE_MAX 65536       /* bytes of one line, newline excluded */
#define GROUP_MAX_GROUPS 10000
#define GROUP_MAX_MEMBERS 10000    /* per group */
#define GROUP_MAX_TOTAL 1000000    /* members in the whole file */

struct group {
	char *uri;
	unsigned line;
	size_t n, cap;
	char **members;
	long *gidx;          /* per member: index of the group it names, or -1 */
	bool reaches;        /* a terminal can be reached from it */
};

struct group_set {
	struct group *g;     /* sorted by uri once loaded */
	size_t n, cap;
};

static void group_clear(struct group *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->members[i]);
	free(g->members);
	free(g->gidx);
	free(g->uri);
}

void group_free(struct group_set *gs)
{
	if (!gs)
		return;
	for (size_t i = 0; i < gs->n; i++)
		group_clear(&gs->g[i]);
	free(gs->g);
	free(gs);
}

size_t group_count(const struct group_set *gs)
{
	return gs ? gs->n : 0;
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	int c = strcmp(x->uri, y->uri);

	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_key(const void *key, const void *elem)
{
	return strcmp(key, ((const struct group *)elem)->uri);
}

static long lookup(const struct group_set *gs, const char *uri)
{
	const struct group *g;

	if (!gs || !gs->n || !uri)
		return -1;
	g = bsearch(uri, gs->g, gs->n, sizeof(*gs->g), cmp_key);
	return g ? (long)(g - gs->g) : -1;
}

bool group_is_group(const struct group_set *gs, const char *uri)
{
	return lookup(gs, uri) >= 0;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

static int add_member(struct group *g, const char *tok, size_t n)
{
	char *m;

	if (g->n == g->cap) {
		size_t nc = g->cap ? g->cap * 2 : 8;
		char **nm = realloc(g->members, nc * sizeof(*nm));

		if (!nm)
			return -1;
		g->members = nm;
		g->cap = nc;
	}
	m = strndup(tok, n);
	if (!m)
		return -1;
	g->members[g->n++] = m;
	return 0;
}

/*
 * Parses one line into gs (a new group, or nothing for a blank or comment
 * line). Returns 0, or -1 with err set (without the file and line).
 */
static int parse_line(struct group_set *gs, char *s, unsigned lineno, size_t *total,
		      char *err, size_t cap)
{
	struct group *g = NULL;

	for (;;) {
		size_t n;

		while (is_blank(*s))
			s++;
		if (!*s || *s == '#')
			return 0;
		for (n = 0; s[n] && !is_blank(s[n]); n++) {
			unsigned char u = (unsigned char)s[n];

			if (u < 0x20 || u == 0x7f) {
				text_error(err, cap, "control character");
				return -1;
			}
			if (s[n] == '#') {
				text_error(err, cap, "'#' inside an address (a comment starts "
				       "after a blank)");
				return -1;
			}
		}
		if (n >= TS_ADDR_MAX) {
			text_error(err, cap, "address longer than %d characters", TS_ADDR_MAX - 1);
			return -1;
		}
		if (!g) {
			if (gs->n >= GROUP_MAX_GROUPS) {
				text_error(err, cap, "more than %d groups", GROUP_MAX_GROUPS);
				return -1;
			}
			if (gs->n == gs->cap) {
				size_t nc = gs->cap ? gs->cap * 2 : 16;
				struct group *ng = realloc(gs->g, nc * sizeof(*ng));

				if (!ng)
					goto oom;
				gs->g = ng;
				gs->cap = nc;
			}
			g = &gs->g[gs->n];
			memset(g, 0, sizeof(*g));
			g->line = lineno;
			g->uri = strndup(s, n);
			if (!g->uri)
				goto oom;
			gs->n++;
		} else {
			if (g->n >= GROUP_MAX_MEMBERS) {
				text_error(err, cap, "group has more than %d members",
				       GROUP_MAX_MEMBERS);
				return -1;
			}
			if (*total >= GROUP_MAX_TOTAL) {
				text_error(err, cap, "more than %d members in the file",
				       GROUP_MAX_TOTAL);
				return -1;
			}
			if (add_member(g, s, n) < 0)
				goto oom;
			(*total)++;
		}
		s += n;
	}
oom:
	text_error(err, cap, "out of memory");
	return -1;
}

/* Resolves members to group indexes and works out which groups reach a
 * terminal (breadth-first from the groups with a direct terminal member,
 * along the member -> parent edges). */
static int link_groups(struct group_set *gs)
{
	size_t *nparents = NULL, *start = NULL, *parents = NULL, *queue = NULL;
	size_t edges = 0, head = 0, tail = 0;
	int rc = -1;

	for (size_t i = 0; i < gs->n; i++) {
		struct group *g = &gs->g[i];

		g->gidx = malloc((g->n ? g->n : 1) * sizeof(*g->gidx));
		if (!g->gidx)
			return -1;
		for (size_t j = 0; j < g->n; j++) {
			g->gidx[j] = lookup(gs, g->members[j]);
			if (g->gidx[j] >= 0)
				edges++;
		}
	}
	nparents = calloc(gs->n + 1, sizeof(*nparents));
	start = calloc(gs->n + 1, sizeof(*start));
	parents = malloc((edges ? edges : 1) * sizeof(*parents));
	queue = malloc((gs->n ? gs->n : 1) * sizeof(*queue));
	if (!nparents || !start || !parents || !queue)
		goto out;
	for (size_t i = 0; i < gs->n; i++)
		for (size_t j = 0; j < gs->g[i].n; j++)
			if (gs->g[i].gidx[j] >= 0)
				nparents[gs->g[i].gidx[j]]++;
	for (size_t i = 0; i < gs->n; i++)
		start[i + 1] = start[i] + nparents[i];
	memset(nparents, 0, (gs->n + 1) * sizeof(*nparents));
	for (size_t i = 0; i < gs->n; i++) {
		const struct group *g = &gs->g[i];
		bool terminal = false;

		for (size_t j = 0; j < g->n; j++) {
			long c = g->gidx[j];

			if (c < 0)
				terminal = true;
			else
				parents[start[c] + nparents[c]++] = i;
		}
		if (terminal) {
			gs->g[i].reaches = true;
			queue[tail++] = i;
		}
	}
	while (head < tail) {
		size_t c = queue[head++];

		for (size_t k = start[c]; k < start[c + 1]; k++) {
			size_t p = parents[k];

			if (!gs->g[p].reaches) {
				gs->g[p].reaches = true;
				queue[tail++] = p;
			}
		}
	}
	rc = 0;
out:
	free(nparents);
	free(start);
	free(parents);
	free(queue);
	return rc;
}

int group_load(const char *path, struct group_set **out, char *err, size_t cap)
{
	struct group_set *gs;
	char *line = NULL, why[160];
	unsigned lineno = 0;
	size_t len, total = 0;
	FILE *f = NULL;
	int r;

	gs = calloc(1, sizeof(*gs));
	if (!gs) {
		text_error(err, cap, "out of memory");
		return -1;
	}
	if (!path || !*path) {
		*out = gs;
		return 0;
	}
	f = fopen(path, "r");
	if (!f) {
		text_error(err, cap, "%s: cannot open: %s", path, strerror(errno));
		goto fail;
	}
	line = malloc(GROUP_LINE_MAX + 1);
	if (!line) {
		text_error(err, cap, "%s: out of memory", path);
		goto fail;
	}
	while ((r = text_read_line(f, line, GROUP_LINE_MAX + 1, &len)) == 1) {
		lineno++;
		if (parse_line(gs, line, lineno, &total, why, sizeof(why)) < 0) {
			text_error(err, cap, "%s:%u: %s", path, lineno, why);
			goto fail;
		}
	}
	if (r < 0) {
		text_read_error(err, cap, path, lineno, r, GROUP_LINE_MAX);
		goto fail;
	}

	if (gs->n > 1) {
		const struct group *dup = NULL;

		qsort(gs->g, gs->n, sizeof(*gs->g), cmp_group);
		/* Report the earliest line that defines a group again. */
		for (size_t i = 1; i < gs->n; i++)
			if (!strcmp(gs->g[i - 1].uri, gs->g[i].uri) &&
			    (!dup || gs->g[i].line < dup[1].line))
				dup = &gs->g[i - 1];
		if (dup) {
			text_error(err, cap, "%s:%u: group '%s' is already defined on line %u",
			       path, dup[1].line, dup[1].uri, dup[0].line);
			goto fail;
		}
	}
	if (link_groups(gs) < 0) {
		text_error(err, cap, "%s: out of memory", path);
		goto fail;
	}
	free(line);
	fclose(f);
	*out = gs;
	return 0;
fail:
	free(line);
	if (f)
		fclose(f);
	group_free(gs);
	return -1;
}

/* --- expansion ------------------------------------------------------------ */

/* Targets in first-seen order, with an open-addressing index for dedup. */
struct tlist {
	char **v;
	size_t n, cap;
	size_t *slot;        /* 0 = empty, else index into v plus 1 */
	size_t nslot;        /* a power of two, at least 2 * n */
};

static uint64_t hash_str(const char *s)
{
	return hash_add(HASH_INIT, s);
}

static int tlist_rehash(struct tlist *t, size_t nslot)
{
	size_t *ns = calloc(nslot, sizeof(*ns));

	if (!ns)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		size_t h = (size_t)hash_str(t->v[i]) & (nslot - 1);

		while (ns[h])
			h = (h + 1) & (nslot - 1);
		ns[h] = i + 1;
	}
	free(t->slot);
	t->slot = ns;
	t->nslot = nslot;
	return 0;
}

/* Adds a copy of s unless it is there. 0, or -1 out of memory. */
static int tlist_add(struct tlist *t, const char *s)
{
	size_t h;

	if ((t->n + 1) * 2 > t->nslot && tlist_rehash(t, t->nslot ? t->nslot * 2 : 64) < 0)
		return -1;
	h = (size_t)hash_str(s) & (t->nslot - 1);
	while (t->slot[h]) {
		if (!strcmp(t->v[t->slot[h] - 1], s))
			return 0;
		h = (h + 1) & (t->nslot - 1);
	}
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 16;
		char **nv = realloc(t->v, nc * sizeof(*nv));

		if (!nv)
			return -1;
		t->v = nv;
		t->cap = nc;
	}
	t->v[t->n] = strdup(s);
	if (!t->v[t->n])
		return -1;
	t->n++;
	t->slot[h] = t->n;
	return 0;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void group_expansion_free(struct group_expansion *e)
{
	if (!e)
		return;
	free_strings(e->targets, e->n);
	free_strings(e->over, e->n_over);
	memset(e, 0, sizeof(*e));
}

struct frame {
	size_t g, pos;
};

/*
 * Adds the terminals of group gi depth-first. done[] marks the groups
 * expanded (or being expanded) in this request; stack has room for every
 * group, since none is pushed twice.
 */
static int expand_group(const struct group_set *gs, size_t gi, bool *done,
			struct frame *stack, struct tlist *t)
{
	size_t top = 0;

	done[gi] = true;
	stack[top++] = (struct frame){ gi, 0 };
	while (top) {
		struct frame *fr = &stack[top - 1];
		const struct group *g = &gs->g[fr->g];
		size_t j;

		if (fr->pos == g->n) {
			top--;
			continue;
		}
		j = fr->pos++;
		if (g->gidx[j] < 0) {
			if (tlist_add(t, g->members[j]) < 0)
				return -1;
		} else if (!done[g->gidx[j]]) {
			done[g->gidx[j]] = true;
			stack[top++] = (struct frame){ (size_t)g->gidx[j], 0 };
		}
	}
	return 0;
}

int group_expand(const struct group_set *gs, const char *const *addrs, size_t n,
		 const char *part, const struct group_policy *pol,
		 struct group_expansion *out, struct fault *f)
{
	struct tlist t = { 0 };
	bool *done = NULL;
	struct frame *stack = NULL;
	size_t ng = group_count(gs);

	memset(out, 0, sizeof(*out));
	if (!part)
		part = "addresses";

	/* Policy first: it refuses the request whatever the groups hold. */
	for (size_t i = 0; i < n && ng; i++) {
		long gi = lookup(gs, addrs[i]);

		if (gi < 0)
			continue;
		if (!pol->group_support) {
			fault_set(f, POL0006, part, NULL);
			return -1;
		}
		if (!pol->nested_groups) {
			for (size_t j = 0; j < gs->g[gi].n; j++) {
				if (gs->g[gi].gidx[j] >= 0) {
					fault_set(f, POL0007, part, NULL);
					return -1;
				}
			}
		}
	}
	for (size_t i = 0; i < n && ng; i++) {
		long gi = lookup(gs, addrs[i]);

		if (gi >= 0 && !gs->g[gi].reaches) {
			fault_set(f, SVC0006, addrs[i], part, NULL);
			return -1;
		}
	}

	for (size_t i = 0; i < n; i++) {
		long gi;

		if (!addrs[i])
			continue;
		gi = lookup(gs, addrs[i]);
		if (gi < 0) {
			if (tlist_add(&t, addrs[i]) < 0)
				goto oom;
			continue;
		}
		if (!done) {
			done = calloc(ng, sizeof(*done));
			stack = malloc(ng * sizeof(*stack));
			if (!done || !stack)
				goto oom;
		}
		if (!done[gi] && expand_group(gs, (size_t)gi, done, stack, &t) < 0)
			goto oom;
	}
	free(done);
	free(stack);
	free(t.slot);
	done = NULL;
	stack = NULL;
	t.slot = NULL;

	out->targets = t.v;
	out->n = t.n;
	if (pol->max_targets && t.n > pol->max_targets) {
		size_t extra = t.n - pol->max_targets;

		if (!pol->up_to_limit) {
			group_expansion_free(out);
			fault_set(f, POL0003, part, NULL);
			return -1;
		}
		out->over = malloc(extra * sizeof(*out->over));
		if (!out->over) {
			group_expansion_free(out);
			fault_set(f, SVC0001, "out of memory", NULL);
			return -1;
		}
		memcpy(out->over, t.v + pol->max_targets, extra * sizeof(*out->over));
		out->n_over = extra;
		out->n = pol->max_targets;
	}
	return 0;
oom:
	free(done);
	free(stack);
	free(t.slot);
	free_strings(t.v, t.n);
	memset(out, 0, sizeof(*out));
	fault_set(f, SVC0001, "out of memory", NULL);
	return -1;
}
