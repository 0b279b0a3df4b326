/*
 * test_auth.c - the users file (every malformed line and its message),
 * password checks with $6$, $y$ and $2b$ hashes, the failure tracker with
 * an injected clock, loopback detection, and checks from several threads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"

static char err[1024];

/* openssl passwd -6 -salt pxtsgwTestSalt secret-pw */
#define H6_OPENSSL "$6$pxtsgwTestSalt$68U4LsaeLKSCk6dDzHkSvjjMU382O9dNsGspJmVu/CJgMwp0" \
	"MQFgUbwXUGL6lsk7DVc3NgcNbrxf6fuQoH8j6."
/* crypt("probe", "ab"): a DES hash, cheap, for the many-user files */
#define H_DES "abv0xVEauGFG."

/* Hashes made with libcrypt itself (setup_hashes). */
static char h6[CRYPT_OUTPUT_SIZE];      /* "six-pw", $6$ */
static char hy[CRYPT_OUTPUT_SIZE];      /* "yes-pw", $y$ (yescrypt) */
static char h2b[CRYPT_OUTPUT_SIZE];     /* "bee-pw", $2b$ (bcrypt) */

static void make_hash(char *out, const char *prefix, unsigned long cost, const char *pw)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *h;

	assert_non_null(cd);
	assert_non_null(crypt_gensalt_rn(prefix, cost, NULL, 0, salt, sizeof(salt)));
	h = crypt_rn(pw, salt, cd, (int)sizeof(*cd));
	assert_non_null(h);
	assert_true(h[0] == '$');
	snprintf(out, CRYPT_OUTPUT_SIZE, "%s", h);
	free(cd);
}

static int setup_hashes(void **state)
{
	(void)state;
	make_hash(h6, "$6$", 0, "six-pw");
	make_hash(hy, "$y$", 1, "yes-pw");
	make_hash(h2b, "$2b$", 4, "bee-pw");
	return 0;
}

/* Writes text to a new temporary file; its path goes to path. */
static void write_tmp(char *path, size_t cap, const char *text, size_t len)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, cap, "%s/pxtsgw-test-auth-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* Loads text (len bytes) as a users file; the file is removed. */
static int load_text(const char *text, size_t len, struct auth **a, char *path, size_t pcap)
{
	int rc;

	write_tmp(path, pcap, text, len);
	rc = auth_load(path, a, err, sizeof(err));
	unlink(path);
	return rc;
}

static struct auth *load_ok(const char *text)
{
	struct auth *a = NULL;
	char path[256];

	if (load_text(text, strlen(text), &a, path, sizeof(path)) != 0)
		fail_msg("load failed: %s\n--- file ---\n%s", err, text);
	assert_non_null(a);
	return a;
}

/* Loading text fails with exactly want, where "%s" is the file's path. */
static void expect_error_n(const char *text, size_t len, const char *want)
{
	struct auth *a = (struct auth *)0x1;
	char path[256], msg[1200];

	if (load_text(text, len, &a, path, sizeof(path)) == 0) {
		auth_free(a);
		fail_msg("loaded, expected: %s", want);
	}
	assert_ptr_equal(a, (struct auth *)0x1);      /* untouched */
	snprintf(msg, sizeof(msg), want, path);
	assert_string_equal(err, msg);
}

static void expect_error(const char *text, const char *want)
{
	expect_error_n(text, strlen(text), want);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	assert_true(vasprintf(&s, f, ap) >= 0);
	va_end(ap);
	return s;
}

/* --- loading ------------------------------------------------------------------- */

static void test_load_and_check(void **state)
{
	char *text = fmt("# users of the gateway\n"
			 "\n"
			 "alice:%s\n"
			 "   # an indented comment\n"
			 "bob:%s:admin\r\n"
			 "carol:%s:app\n"
			 "\t\n"
			 "dave.d_e-f@example.com:%s\r\n"
			 "erin:%s", /* no newline at the end */
			 H6_OPENSSL, h6, hy, h2b, h6);
	struct auth *a = load_ok(text);
	enum auth_role role;

	(void)state;
	assert_int_equal(auth_count(a), 5);

	role = (enum auth_role)42;
	assert_int_equal(auth_check(a, "alice", "secret-pw", &role), 0);
	assert_int_equal(role, AUTH_ROLE_APP);
	assert_int_equal(auth_check(a, "bob", "six-pw", &role), 0);
	assert_int_equal(role, AUTH_ROLE_ADMIN);
	assert_int_equal(auth_check(a, "carol", "yes-pw", &role), 0);
	assert_int_equal(role, AUTH_ROLE_APP);
	assert_int_equal(auth_check(a, "dave.d_e-f@example.com", "bee-pw", &role), 0);
	assert_int_equal(role, AUTH_ROLE_APP);
	assert_int_equal(auth_check(a, "erin", "six-pw", &role), 0);
	assert_int_equal(role, AUTH_ROLE_APP);
	assert_int_equal(auth_check(a, "alice", "secret-pw", NULL), 0);
	assert_string_equal(auth_role_name(AUTH_ROLE_APP), "app");
	assert_string_equal(auth_role_name(AUTH_ROLE_ADMIN), "admin");

	/* Wrong passwords, for each hash type: role untouched. */
	role = (enum auth_role)42;
	assert_int_equal(auth_check(a, "alice", "secret-pW", &role), -1);
	assert_int_equal(auth_check(a, "alice", "secret-pw ", &role), -1);
	assert_int_equal(auth_check(a, "alice", "", &role), -1);
	assert_int_equal(auth_check(a, "bob", "secret-pw", &role), -1);
	assert_int_equal(auth_check(a, "carol", "yes-p", &role), -1);
	assert_int_equal(auth_check(a, "dave.d_e-f@example.com", "bee-pw!", &role), -1);
	/* A password of another user is not this one's. */
	assert_int_equal(auth_check(a, "carol", "six-pw", &role), -1);
	assert_int_equal((int)role, 42);

	/* Unknown users, with any password (the dummy hash's included). */
	assert_int_equal(auth_check(a, "mallory", "secret-pw", &role), -1);
	assert_int_equal(auth_check(a, "Alice", "secret-pw", &role), -1);
	assert_int_equal(auth_check(a, "", "secret-pw", &role), -1);
	assert_int_equal(auth_check(a, NULL, "secret-pw", &role), -1);
	assert_int_equal(auth_check(a, "alice", NULL, &role), -1);
	assert_int_equal(auth_check(NULL, "alice", "secret-pw", &role), -1);
	assert_int_equal((int)role, 42);

	auth_free(a);
	auth_free(NULL);
	assert_int_equal(auth_count(NULL), 0);
	free(text);
}

/* Passwords of AUTH_PASSWORD_MAX bytes work; longer ones are refused
 * (crypt(3) would refuse them). */
static void test_long_password(void **state)
{
	char pw[AUTH_PASSWORD_MAX + 2], hash[CRYPT_OUTPUT_SIZE], *text;
	struct auth *a;

	(void)state;
	memset(pw, 'p', AUTH_PASSWORD_MAX);
	pw[AUTH_PASSWORD_MAX] = '\0';
	make_hash(hash, "$6$", 0, pw);
	text = fmt("long:%s\n", hash);
	a = load_ok(text);
	free(text);
	assert_int_equal(auth_check(a, "long", pw, NULL), 0);
	pw[AUTH_PASSWORD_MAX - 1] = '\0';
	assert_int_equal(auth_check(a, "long", pw, NULL), -1);
	pw[AUTH_PASSWORD_MAX - 1] = 'p';
	pw[AUTH_PASSWORD_MAX] = 'p';
	pw[AUTH_PASSWORD_MAX + 1] = '\0';
	assert_int_equal(auth_check(a, "long", pw, NULL), -1);
	auth_free(a);
}

/* The hash openssl passwd -6 writes, alone (the file's only user is the
 * dummy hash's source too). */
static void test_openssl_sha512(void **state)
{
	struct auth *a = load_ok("app1:" H6_OPENSSL "\n");
	enum auth_role role;

	(void)state;
	assert_int_equal(auth_count(a), 1);
	assert_int_equal(auth_check(a, "app1", "secret-pw", &role), 0);
	assert_int_equal(role, AUTH_ROLE_APP);
	assert_int_equal(auth_check(a, "app1", "secret", &role), -1);
	assert_int_equal(auth_check(a, "app2", "secret-pw", &role), -1);
	auth_free(a);
}

static void test_empty_file(void **state)
{
	struct auth *a = load_ok("# nobody yet\n\n");
	enum auth_role role;

	(void)state;
	assert_int_equal(auth_count(a), 0);
	assert_int_equal(auth_check(a, "alice", "secret-pw", &role), -1);
	auth_free(a);
	a = load_ok("");
	assert_int_equal(auth_count(a), 0);
	auth_free(a);
}

static void test_malformed_lines(void **state)
{
	char name[AUTH_NAME_MAX + 1], *t;

	(void)state;
	/* no hash */
	expect_error("alice\n", "%s:1: user 'alice': no hash (expected name:hash or name:hash:role)");
	expect_error("# c\nalice:\n", "%s:2: user 'alice': no hash (expected name:hash or "
		     "name:hash:role)");
	expect_error("alice::admin\n", "%s:1: user 'alice': no hash (expected name:hash or "
		     "name:hash:role)");
	expect_error("alice:   \n", "%s:1: user 'alice': no hash (expected name:hash or "
		     "name:hash:role)");

	/* names */
	expect_error(":" H6_OPENSSL "\n", "%s:1: empty user name");
	expect_error("\n:\n", "%s:2: empty user name");
	expect_error("al ice:" H6_OPENSSL "\n",
		     "%s:1: invalid character in user name (allowed: A-Z a-z 0-9 . _ - @)");
	expect_error("alice!:" H6_OPENSSL "\n",
		     "%s:1: invalid character in user name (allowed: A-Z a-z 0-9 . _ - @)");
	expect_error("a\"b:" H6_OPENSSL "\n",
		     "%s:1: invalid character in user name (allowed: A-Z a-z 0-9 . _ - @)");
	expect_error("a\\b:" H6_OPENSSL "\n",
		     "%s:1: invalid character in user name (allowed: A-Z a-z 0-9 . _ - @)");
	expect_error("a<b>:" H6_OPENSSL "\n",
		     "%s:1: invalid character in user name (allowed: A-Z a-z 0-9 . _ - @)");
	expect_error("\xc3\xa5sa:" H6_OPENSSL "\n",
		     "%s:1: invalid character in user name (allowed: A-Z a-z 0-9 . _ - @)");
	expect_error("al\x01ice:" H6_OPENSSL "\n", "%s:1: control character");
	expect_error("alice:\t" H6_OPENSSL "\n", "%s:1: control character");
	expect_error("alice:" H6_OPENSSL "\x7f\n", "%s:1: control character");
	memset(name, 'n', AUTH_NAME_MAX);
	name[AUTH_NAME_MAX] = '\0';
	t = fmt("%s:%s\n", name, H6_OPENSSL);
	expect_error(t, "%s:1: user name longer than 127 characters");
	free(t);
	name[AUTH_NAME_MAX - 1] = '\0';                 /* 127 characters: fine */
	t = fmt("%s:%s\n", name, H6_OPENSSL);
	auth_free(load_ok(t));
	free(t);

	/* roles */
	expect_error("alice:" H6_OPENSSL ":root\n",
		     "%s:1: user 'alice': unknown role 'root' (expected app or admin)");
	expect_error("alice:" H6_OPENSSL ":\n",
		     "%s:1: user 'alice': unknown role '' (expected app or admin)");
	expect_error("alice:" H6_OPENSSL ":Admin\n",
		     "%s:1: user 'alice': unknown role 'Admin' (expected app or admin)");
	expect_error("alice:" H6_OPENSSL ":admin:x\n",
		     "%s:1: user 'alice': unknown role 'admin:x' (expected app or admin)");
	expect_error("alice:" H6_OPENSSL ": admin\n",
		     "%s:1: user 'alice': unknown role ' admin' (expected app or admin)");

	/* duplicates: the later line, naming the first */
	expect_error("# users\nalice:" H6_OPENSSL "\n\nbob:" H6_OPENSSL "\nalice:" H6_OPENSSL
		     ":admin\n", "%s:5: user 'alice' is already defined on line 2");

	/* hashes crypt(3) does not take */
	expect_error("alice:$99$abc$def\n",
		     "%s:1: user 'alice': hash type not supported by crypt(3)");
	expect_error("alice:!\n", "%s:1: user 'alice': hash type not supported by crypt(3)");
	expect_error("alice:*\n", "%s:1: user 'alice': hash type not supported by crypt(3)");
	expect_error("alice:$y$j9T$abc\n",
		     "%s:1: user 'alice': hash type not supported by crypt(3)");
	expect_error("alice:$2b$04$\n", "%s:1: user 'alice': hash type not supported by crypt(3)");
	/* a setting without its hash, or a password written in clear */
	expect_error("alice:$6$pxtsgwTestSalt\n", "%s:1: user 'alice': not a complete crypt(3) hash");
	expect_error("alice:$6$pxtsgwTestSalt$\n",
		     "%s:1: user 'alice': not a complete crypt(3) hash");
	expect_error("alice:secret-pw\n", "%s:1: user 'alice': not a complete crypt(3) hash");
	expect_error("alice:" H6_OPENSSL "  # comment\n",
		     "%s:1: user 'alice': blank in the hash ('#' starts a comment only at the "
		     "start of a line)");
	expect_error("alice:$6$pxtsgw TestSalt$x:admin\n",
		     "%s:1: user 'alice': blank in the hash ('#' starts a comment only at the "
		     "start of a line)");
	{
		char longhash[CRYPT_OUTPUT_SIZE + 1];

		memset(longhash, 'h', CRYPT_OUTPUT_SIZE);
		longhash[CRYPT_OUTPUT_SIZE] = '\0';
		t = fmt("alice:%s\n", longhash);
		expect_error(t, "%s:1: user 'alice': hash longer than 383 characters");
		free(t);
	}

	/* the first bad line is the one named */
	expect_error("bob:" H6_OPENSSL "\nalice:$99$x\nbob:" H6_OPENSSL "\n",
		     "%s:2: user 'alice': hash type not supported by crypt(3)");

	/* a NUL byte */
	expect_error_n("alice:" H6_OPENSSL "\nb\0b:x\n", sizeof("alice:" H6_OPENSSL "\nb\0b:x\n") - 1,
		       "%s:2: NUL byte in the line");
}

static void test_load_limits(void **state)
{
	size_t cap = (AUTH_MAX_USERS + 10) * 32, n = 0;
	char *text = malloc(cap), path[256];
	struct auth *a = NULL;

	(void)state;
	assert_non_null(text);

	/* A line of AUTH_LINE_MAX bytes is read (and refused for what it
	 * holds); one byte more is too long. */
	n = (size_t)sprintf(text, "# long\nalice:");
	memset(text + n, 'h', AUTH_LINE_MAX - 6);
	n += AUTH_LINE_MAX - 6;
	text[n++] = '\n';
	assert_int_equal(load_text(text, n, &a, path, sizeof(path)), -1);
	assert_non_null(strstr(err, ":2: user 'alice': hash longer than 383 characters"));
	text[n - 1] = 'h';
	text[n++] = '\n';
	expect_error_n(text, n, "%s:2: line longer than 1024 bytes");

	/* AUTH_MAX_USERS users load, one more does not. */
	n = 0;
	for (int i = 0; i < AUTH_MAX_USERS; i++)
		n += (size_t)sprintf(text + n, "u%d:" H_DES "\n", i);
	text[n] = '\0';
	a = load_ok(text);
	assert_int_equal(auth_count(a), AUTH_MAX_USERS);
	assert_int_equal(auth_check(a, "u0", "probe", NULL), 0);
	assert_int_equal(auth_check(a, "u9999", "probe", NULL), 0);
	assert_int_equal(auth_check(a, "u5000", "probe", NULL), 0);
	assert_int_equal(auth_check(a, "u10000", "probe", NULL), -1);
	auth_free(a);
	n += (size_t)sprintf(text + n, "u%d:" H_DES "\n", AUTH_MAX_USERS);
	expect_error_n(text, n, "%s:10001: more than 10000 users");
	free(text);

	/* no file */
	assert_int_equal(auth_load("/nonexistent/pxtsgw-users", &a, err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/pxtsgw-users: cannot open: No such file or directory");
	assert_int_equal(auth_load("", &a, err, sizeof(err)), -1);
	assert_string_equal(err, "no users file named");
	assert_int_equal(auth_load(NULL, &a, err, sizeof(err)), -1);
	assert_string_equal(err, "no users file named");
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return a < b ? -1 : a > b;
}

/* An unknown user is hashed too: it takes about as long as a known one.
 * Skipping the hash would make it a thousand times faster, so the bound is
 * loose enough for a loaded machine. */
static void test_unknown_user_costs_a_hash(void **state)
{
	char *text;
	char salt[CRYPT_GENSALT_OUTPUT_SIZE], hash[CRYPT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	struct auth *a;
	int64_t known[7], unknown[7];

	(void)state;
	assert_non_null(cd);
	assert_non_null(crypt_gensalt_rn("$2b$", 7, NULL, 0, salt, sizeof(salt)));
	snprintf(hash, sizeof(hash), "%s", crypt_rn("pw", salt, cd, (int)sizeof(*cd)));
	free(cd);
	text = fmt("first:%s\nsecond:%s\n", hash, H6_OPENSSL);
	a = load_ok(text);
	free(text);
	for (int i = 0; i < 7; i++) {
		int64_t t0 = now_ns();

		assert_int_equal(auth_check(a, "first", "wrong", NULL), -1);
		known[i] = now_ns() - t0;
		t0 = now_ns();
		assert_int_equal(auth_check(a, "nobody", "wrong", NULL), -1);
		unknown[i] = now_ns() - t0;
	}
	qsort(known, 7, sizeof(known[0]), cmp_i64);
	qsort(unknown, 7, sizeof(unknown[0]), cmp_i64);
	if (unknown[3] * 4 < known[3])
		fail_msg("unknown user: median %lld ns, known user: %lld ns",
			 (long long)unknown[3], (long long)known[3]);
	auth_free(a);
}

/* --- the failure tracker --------------------------------------------------------- */

static void test_tracker_window(void **state)
{
	struct auth *a = load_ok("alice:" H6_OPENSSL "\n");
	const int64_t t0 = 1000000;

	(void)state;
	assert_int_equal(auth_delay_ms(a, "192.0.2.7", t0), 0);
	for (int i = 0; i < 4; i++) {
		auth_note_failure(a, "192.0.2.7", t0 + i);
		assert_int_equal(auth_delay_ms(a, "192.0.2.7", t0 + i), 0);
	}
	auth_note_failure(a, "192.0.2.7", t0 + 4);
	assert_int_equal(auth_delay_ms(a, "192.0.2.7", t0 + 4), AUTH_FAIL_DELAY_MS);
	assert_int_equal(AUTH_FAIL_DELAY_MS, 1000);
	/* other addresses are not concerned */
	assert_int_equal(auth_delay_ms(a, "192.0.2.8", t0 + 4), 0);
	assert_int_equal(auth_delay_ms(a, "2001:db8::7", t0 + 4), 0);
	/* until the first of the five is 60 s old */
	assert_int_equal(auth_delay_ms(a, "192.0.2.7", t0 + 59999), AUTH_FAIL_DELAY_MS);
	assert_int_equal(auth_delay_ms(a, "192.0.2.7", t0 + 60000), 0);
	/* the window slides: one more failure makes five within 60 s again */
	auth_note_failure(a, "192.0.2.7", t0 + 60000);
	/* (the five are now t0 + 1..4 and t0 + 60000) */
	assert_int_equal(auth_delay_ms(a, "192.0.2.7", t0 + 60000), AUTH_FAIL_DELAY_MS);
	assert_int_equal(auth_delay_ms(a, "192.0.2.7", t0 + 60001), 0);

	/* five failures spread over more than a minute do not count */
	for (int i = 0; i < 10; i++) {
		auth_note_failure(a, "2001:db8::1", t0 + i * 15000);
		assert_int_equal(auth_delay_ms(a, "2001:db8::1", t0 + i * 15000), 0);
	}
	/* IPv6 addresses are keys like any other */
	assert_int_equal(auth_delay_ms(a, "2001:db8::2", t0), 0);

	/* no tracker, no address */
	auth_note_failure(NULL, "192.0.2.7", t0);
	auth_note_failure(a, NULL, t0);
	assert_int_equal(auth_delay_ms(NULL, "192.0.2.7", t0), 0);
	assert_int_equal(auth_delay_ms(a, NULL, t0), 0);
	auth_free(a);
}

/* Verified credentials are remembered (no second crypt) for
 * AUTH_CACHE_TTL_MS; wrong ones never are, and a remembered success does
 * not let a wrong password, another user or a prefix through. */
static void test_attempt_cache(void **state)
{
	struct auth *a = load_ok("alice:" H6_OPENSSL ":admin\nbob:" H6_OPENSSL "\n");
	enum auth_role role;
	unsigned d;
	const int64_t t0 = 1000;

	(void)state;
	assert_int_equal(auth_cache_hits(a), 0);
	assert_int_equal(auth_attempt(a, "a1", "alice", "secret-pw", t0, &role, &d), 0);
	assert_int_equal(auth_cache_hits(a), 0);                /* verified with crypt */
	role = AUTH_ROLE_APP;
	assert_int_equal(auth_attempt(a, "a1", "alice", "secret-pw", t0 + 1, &role, &d), 0);
	assert_int_equal(auth_cache_hits(a), 1);                /* remembered */
	assert_int_equal(role, AUTH_ROLE_ADMIN);                /* with its role */
	assert_int_equal(d, 0);
	/* not through the remembered success */
	assert_int_equal(auth_attempt(a, "a1", "alice", "secret-p", t0 + 2, &role, &d), -1);
	assert_int_equal(auth_attempt(a, "a1", "alice", "secret-pw ", t0 + 3, &role, &d), -1);
	assert_int_equal(auth_attempt(a, "a1", "alic", "esecret-pw", t0 + 4, &role, &d), -1);
	assert_int_equal(auth_attempt(a, "a1", "mallory", "secret-pw", t0 + 5, &role, &d), -1);
	assert_int_equal(auth_cache_hits(a), 1);
	/* failures are not remembered: the same wrong one twice is checked twice */
	assert_int_equal(auth_attempt(a, "a1", "alice", "wrong", t0 + 6, &role, &d), -1);
	assert_int_equal(auth_attempt(a, "a1", "alice", "wrong", t0 + 7, &role, &d), -1);
	assert_int_equal(auth_cache_hits(a), 1);
	/* another user with the same password has its own entry and role */
	assert_int_equal(auth_attempt(a, "a1", "bob", "secret-pw", t0 + 8, &role, &d), 0);
	assert_int_equal(role, AUTH_ROLE_APP);
	assert_int_equal(auth_cache_hits(a), 1);
	assert_int_equal(auth_attempt(a, "a1", "bob", "secret-pw", t0 + 9, &role, &d), 0);
	assert_int_equal(role, AUTH_ROLE_APP);
	assert_int_equal(auth_cache_hits(a), 2);
	/* forgotten after the TTL: verified again, then remembered again */
	assert_int_equal(auth_attempt(a, "a1", "alice", "secret-pw", t0 + AUTH_CACHE_TTL_MS, &role, &d), 0);
	assert_int_equal(auth_cache_hits(a), 2);
	assert_int_equal(auth_attempt(a, "a1", "alice", "secret-pw", t0 + AUTH_CACHE_TTL_MS + 1, &role, &d), 0);
	assert_int_equal(auth_cache_hits(a), 3);
	auth_free(a);
	/* a new load starts with nothing remembered */
	a = load_ok("alice:" H6_OPENSSL "\n");
	assert_int_equal(auth_attempt(a, "a1", "alice", "secret-pw", t0, &role, &d), 0);
	assert_int_equal(auth_cache_hits(a), 0);
	assert_int_equal(role, AUTH_ROLE_APP);
	auth_free(a);
	assert_int_equal(auth_cache_hits(NULL), 0);
}

static void test_attempt_success_not_delayed(void **state)
{
	struct auth *a = load_ok("alice:" H6_OPENSSL ":admin\n");
	enum auth_role role;
	unsigned d;
	const int64_t t0 = 5000;

	(void)state;
	/* failures 1..5 are answered at once, the 6th and later are delayed */
	for (int i = 0; i < 5; i++) {
		d = 77;
		assert_int_equal(auth_attempt(a, "198.51.100.1", "alice", "guess", t0 + i, &role, &d),
				 -1);
		assert_int_equal(d, 0);
	}
	assert_int_equal(auth_delay_ms(a, "198.51.100.1", t0 + 5), AUTH_FAIL_DELAY_MS);
	assert_int_equal(auth_attempt(a, "198.51.100.1", "mallory", "guess", t0 + 5, &role, &d), -1);
	assert_int_equal(d, AUTH_FAIL_DELAY_MS);

	/* valid credentials from the same address: never delayed */
	d = 77;
	role = AUTH_ROLE_APP;
	assert_int_equal(auth_attempt(a, "198.51.100.1", "alice", "secret-pw", t0 + 6, &role, &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(role, AUTH_ROLE_ADMIN);
	/* and a success does not wipe the failures of the address */
	assert_int_equal(auth_attempt(a, "198.51.100.1", "alice", "guess", t0 + 7, &role, &d), -1);
	assert_int_equal(d, AUTH_FAIL_DELAY_MS);

	/* another address is not delayed */
	assert_int_equal(auth_attempt(a, "198.51.100.2", "alice", "guess", t0 + 8, &role, &d), -1);
	assert_int_equal(d, 0);
	/* NULL address or delay pointer */
	assert_int_equal(auth_attempt(a, NULL, "alice", "guess", t0 + 9, &role, &d), -1);
	assert_int_equal(d, 0);
	assert_int_equal(auth_attempt(a, "198.51.100.1", "alice", "secret-pw", t0 + 9, NULL, NULL), 0);
	assert_int_equal(auth_attempt(a, "198.51.100.1", "alice", "x", t0 + 9, NULL, NULL), -1);
	auth_free(a);
}

static void test_tracker_eviction(void **state)
{
	struct auth *a = load_ok("");
	char addr[64];
	int64_t t = 100000;

	(void)state;
	for (int i = 0; i < 5; i++) {
		auth_note_failure(a, "10.0.0.1", t++);
		auth_note_failure(a, "10.0.0.2", t++);
	}
	/* the table fills up */
	for (int i = 0; i < AUTH_TRACK_MAX - 2; i++) {
		snprintf(addr, sizeof(addr), "2001:db8::%x", i);
		auth_note_failure(a, addr, t++);
	}
	assert_int_equal(auth_delay_ms(a, "10.0.0.1", t), AUTH_FAIL_DELAY_MS);
	assert_int_equal(auth_delay_ms(a, "10.0.0.2", t), AUTH_FAIL_DELAY_MS);
	/* 10.0.0.1 fails again: 10.0.0.2 is now the least recent */
	auth_note_failure(a, "10.0.0.1", t++);
	auth_note_failure(a, "203.0.113.1", t++);
	assert_int_equal(auth_delay_ms(a, "10.0.0.2", t), 0);
	assert_int_equal(auth_delay_ms(a, "10.0.0.1", t), AUTH_FAIL_DELAY_MS);
	/* then the oldest of the others go, one per new address */
	auth_note_failure(a, "203.0.113.2", t++);
	auth_note_failure(a, "203.0.113.3", t++);
	for (int i = 0; i < 5; i++)
		auth_note_failure(a, "2001:db8::2", t++);   /* was there: no eviction */
	assert_int_equal(auth_delay_ms(a, "2001:db8::2", t), AUTH_FAIL_DELAY_MS);
	assert_int_equal(auth_delay_ms(a, "10.0.0.1", t), AUTH_FAIL_DELAY_MS);
	/* 2001:db8::0 and ::1 went for 203.0.113.2 and .3 */
	for (int i = 0; i < 5; i++)
		auth_note_failure(a, "2001:db8::0", t++);   /* evicts ::3 */
	assert_int_equal(auth_delay_ms(a, "2001:db8::0", t), AUTH_FAIL_DELAY_MS);
	assert_int_equal(auth_delay_ms(a, "10.0.0.1", t), AUTH_FAIL_DELAY_MS);

	/* a thousand more addresses: 10.0.0.1 goes too, memory stays bounded */
	for (int i = 0; i < 3 * AUTH_TRACK_MAX; i++) {
		snprintf(addr, sizeof(addr), "192.0.2.%d/%d", i % 256, i);
		auth_note_failure(a, addr, t++);
	}
	assert_int_equal(auth_delay_ms(a, "10.0.0.1", t), 0);
	assert_int_equal(auth_delay_ms(a, "2001:db8::0", t), 0);

	/* a key longer than AUTH_ADDR_MAX - 1 is cut (no IP address is that
	 * long) */
	{
		char key[100];

		memset(key, 'k', sizeof(key) - 1);
		key[sizeof(key) - 1] = '\0';
		for (int i = 0; i < 5; i++)
			auth_note_failure(a, key, t);
		key[AUTH_ADDR_MAX + 5] = 'x';
		assert_int_equal(auth_delay_ms(a, key, t), AUTH_FAIL_DELAY_MS);
		key[AUTH_ADDR_MAX - 2] = 'x';
		assert_int_equal(auth_delay_ms(a, key, t), 0);
	}
	auth_free(a);
}

/* --- listen address ----------------------------------------------------------------- */

static void test_loopback(void **state)
{
	static const char *const yes[] = {
		"127.0.0.1", "127.1.2.3", "127.255.255.255", "127.0.0.0", "127.1", "2130706433",
		"::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "[::ffff:127.9.9.9]",
		"localhost", "LocalHost", "localhost.",
	};
	static const char *const no[] = {
		"0.0.0.0", "::", "[::]", "128.0.0.1", "126.255.255.255", "10.0.0.1", "192.168.1.1",
		"192.0.2.1", "::2", "::ffff:10.0.0.1", "2001:db8::1", "fe80::1", "127",
		"example.com", "localhost.example.com", "mylocalhost", "", "[]", "[::1",
		"127.0.0.1 x", "127.0.0.1\n", " 127.0.0.1", "127.0.0.1:8080", "::1]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!auth_listen_is_loopback(yes[i]))
			fail_msg("%s: not taken as loopback", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (auth_listen_is_loopback(no[i]))
			fail_msg("%s: taken as loopback", no[i]);
	assert_false(auth_listen_is_loopback(NULL));
}

/* --- threads ----------------------------------------------------------------------- */

struct worker {
	struct auth *a;
	int id;
	int wrong;          /* results that were not the expected ones */
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char addr[32];
	enum auth_role role;
	unsigned d;

	snprintf(addr, sizeof(addr), "192.0.2.%d", w->id);
	for (int i = 0; i < 3; i++) {
		int64_t t = 1000 + i;

		role = AUTH_ROLE_APP;
		if (auth_attempt(w->a, addr, "six", "six-pw", t, &role, &d) != 0 ||
		    role != AUTH_ROLE_ADMIN || d != 0)
			w->wrong++;
		if (auth_check(w->a, "bee", "bee-pw", &role) != 0 || role != AUTH_ROLE_APP)
			w->wrong++;
		if (auth_check(w->a, "yes", "yes-pw", &role) != 0 || role != AUTH_ROLE_APP)
			w->wrong++;
		if (auth_check(w->a, "bee", "six-pw", &role) != -1)
			w->wrong++;
		if (auth_attempt(w->a, addr, "nobody", "six-pw", t, &role, &d) != -1 || d != 0)
			w->wrong++;
		auth_note_failure(w->a, "198.51.100.99", t);     /* shared by all */
		(void)auth_delay_ms(w->a, "198.51.100.99", t);
	}
	return NULL;
}

static void test_threads(void **state)
{
	enum { NT = 4 };
	char *text = fmt("six:%s:admin\nbee:%s\nyes:%s\n", h6, h2b, hy);
	struct auth *a = load_ok(text);
	struct worker w[NT];
	pthread_t th[NT];

	(void)state;
	free(text);
	for (int i = 0; i < NT; i++) {
		w[i] = (struct worker){ .a = a, .id = i + 1 };
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < NT; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].wrong, 0);
	}
	/* 3 failures per thread, from its own address: none delayed */
	for (int i = 0; i < NT; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "192.0.2.%d", i + 1);
		assert_int_equal(auth_delay_ms(a, addr, 1003), 0);
	}
	/* 12 noted from the shared address */
	assert_int_equal(auth_delay_ms(a, "198.51.100.99", 1003), AUTH_FAIL_DELAY_MS);
	auth_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_and_check),
		cmocka_unit_test(test_long_password),
		cmocka_unit_test(test_openssl_sha512),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_load_limits),
		cmocka_unit_test(test_unknown_user_costs_a_hash),
		cmocka_unit_test(test_tracker_window),
		cmocka_unit_test(test_attempt_success_not_delayed),
		cmocka_unit_test(test_attempt_cache),
		cmocka_unit_test(test_tracker_eviction),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests_name("auth", tests, setup_hashes, NULL);
}
