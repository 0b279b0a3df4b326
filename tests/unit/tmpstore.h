/*
 * tmpstore.h - a store in a temporary directory, for the unit tests that
 * need one (test_store, test_outbox, test_store_notif, test_dlv).
 * Include it after <cmocka.h>.
 *
 *   tmpstore_make(t, open)       a new directory ($TMPDIR or /tmp) and the
 *                                path of a database in it; opened when
 *                                open (t->s), else t->s is NULL. 0 or -1
 *   tmpstore_remove(t)           closes t->s if open, removes the files
 *   tmpstore_open_ok(path)       store_open or the test fails
 *   tmpstore_records(s, c)       the number of tracking records of
 *                                correlator c (of every application)
 *   tmpstore_setup_open / tmpstore_setup_closed / tmpstore_teardown
 *                                the same as cmocka fixtures (*state is a
 *                                struct tmpstore *)
 */
#ifndef PXTSGW_TEST_TMPSTORE_H
#define PXTSGW_TEST_TMPSTORE_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store.h"

struct tmpstore {
	char dir[PATH_MAX];
	char db[PATH_MAX + 16];
	struct store *s;
};

static inline int tmpstore_make(struct tmpstore *t, bool open)
{
	const char *base = getenv("TMPDIR");
	char err[256];

	t->s = NULL;
	snprintf(t->dir, sizeof(t->dir), "%s/pxtsgw-unit.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->db, sizeof(t->db), "%s/t.db", t->dir);
	if (open && store_open(t->db, &t->s, err, sizeof(err)) != 0) {
		fprintf(stderr, "store_open %s: %s\n", t->db, err);
		rmdir(t->dir);
		return -1;
	}
	return 0;
}

static inline void tmpstore_remove(struct tmpstore *t)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char p[PATH_MAX + 32];

	store_close(t->s);
	t->s = NULL;
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", t->db, suffix[i]);
		unlink(p);
	}
	rmdir(t->dir);
}

static inline struct store *tmpstore_open_ok(const char *path)
{
	struct store *s = NULL;
	char err[256] = "";

	if (store_open(path, &s, err, sizeof(err)) != 0)
		fail_msg("store_open %s: %s", path, err);
	return s;
}

static inline int tmpstore_records(struct store *s, const char *c)
{
	char *json = NULL, *p;
	int n = 0;

	assert_int_equal(store_deliveries_json(s, NULL, c, false, &json, NULL), 0);
	for (p = json; (p = strstr(p, "{\"event\"")) != NULL; p++)
		n++;
	free(json);
	return n;
}

static inline int tmpstore_setup(void **state, bool open)
{
	struct tmpstore *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	log_set_level(LOG_ERROR);
	if (tmpstore_make(t, open) != 0) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static inline int tmpstore_setup_open(void **state)
{
	return tmpstore_setup(state, true);
}

static inline int tmpstore_setup_closed(void **state)
{
	return tmpstore_setup(state, false);
}

static inline int tmpstore_teardown(void **state)
{
	struct tmpstore *t = *state;

	tmpstore_remove(t);
	free(t);
	return 0;
}

#endif
