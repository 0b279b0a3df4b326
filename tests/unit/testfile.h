/*
 * testfile.h - reading a whole test file (a data sample, a canned
 * envelope, the reference configuration) for the unit tests. Include it
 * after <cmocka.h>.
 *
 *   test_read_file(path, len)   the file's bytes, NUL-terminated, malloc'd
 *                               (the caller frees); *len (may be NULL) its
 *                               length. NULL when it cannot be opened;
 *                               a read error fails the test.
 *   test_load_file(path, len)   the same, but a file that cannot be opened
 *                               fails the test too
 */
#ifndef PXTSGW_TEST_TESTFILE_H
#define PXTSGW_TEST_TESTFILE_H

#include <stdio.h>
#include <stdlib.h>

static inline char *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static inline char *test_load_file(const char *path, size_t *len)
{
	char *buf = test_read_file(path, len);

	if (!buf)
		fail_msg("cannot open %s", path);
	return buf;
}

#endif
