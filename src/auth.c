/*
 * auth.c - the users file, password checks and the failure tracker
 * (contract section 11).
 *
 * Loading checks each line in file order and stops at the first bad one,
 * so the message names the first bad line: control characters, the name
 * (non-empty, A-Z a-z 0-9 . _ - @, shorter than AUTH_NAME_MAX), a hash,
 * the role, a name defined before (hash index, filled as lines are read),
 * then the hash itself: crypt(3) of a random probe password with the hash
 * as setting must succeed and give a string as long as the hash (a
 * setting without its hash part, such as "$6$salt", is refused: no
 * password could match it). The probe's result for the first user is kept
 * as the dummy hash that unknown users are checked against, so they cost
 * one crypt of the same type and cost as that user.
 *
 * auth_check hashes outside any lock with its own struct crypt_data on the
 * heap (about 32 KiB; zeroed before it is freed) and compares the result
 * with the stored hash in constant time. The users never change once
 * loaded.
 *
 * The failure tracker is a fixed table of AUTH_TRACK_MAX client addresses
 * (allocated with the struct, no allocation afterwards): a seeded hash
 * with chaining to find an address, and a list from the least to the most
 * recently failing one; a new address when the table is full takes the
 * place of the least recent. Each address keeps the times of its last
 * AUTH_FAIL_LIMIT failures, which is all the window test needs.
 */
#include "auth.h"

#include "hash.h"
#include "textfile.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define AUTH_TRACK_BUCKETS 2048    /* a power of two, above AUTH_TRACK_MAX */
#define AUTH_PROBE_BYTES 16

_Static_assert(AUTH_PASSWORD_MAX < CRYPT_MAX_PASSPHRASE_SIZE, "crypt(3) takes the longest password");

struct auth_user {
	char *name;
	char *hash;
	enum auth_role role;
	unsigned line;
};

struct track {
	char addr[AUTH_ADDR_MAX];
	int64_t at[AUTH_FAIL_LIMIT];   /* ring of the last failures */
	unsigned n;                    /* failures in the ring (<= AUTH_FAIL_LIMIT) */
	unsigned next;                 /* slot written next: the oldest when full */
	unsigned bucket;
	int chain;                     /* next entry of the bucket, -1 */
	int older, newer;              /* recency list, -1 at its ends */
};

struct auth {
	struct auth_user *u;
	size_t n, cap;
	size_t *index;                 /* open addressing: 0 empty, else user + 1 */
	size_t nindex;                 /* a power of two, at least 2 * n */
	char *dummy;                   /* NULL while there is no user */
	uint64_t seed;

	/* verified credentials (auth_attempt): direct-mapped by an HMAC of
	 * user and password under a key drawn at load, so a password is
	 * never kept, and a crypt(3) is paid once per AUTH_CACHE_TTL_MS */
	unsigned char cache_key[32];
	bool cache_on;                 /* the key could be drawn */
	struct cached {
		unsigned char mac[32];
		int64_t until_ms;      /* 0: empty */
		enum auth_role role;
	} cache[AUTH_CACHE_SLOTS];
	unsigned long cache_hits;      /* under mu */

	pthread_mutex_t mu;            /* the tracker below, and the cache */
	struct track t[AUTH_TRACK_MAX];
	int bucket[AUTH_TRACK_BUCKETS];
	unsigned nt;                   /* entries in use: t[0..nt) */
	int oldest, newest;
};

/* --- helpers ------------------------------------------------------------------ */

static uint64_t hash_str(uint64_t seed, const char *s)
{
	return hash_add(HASH_INIT ^ seed, s);
}

static uint64_t random_seed(void)
{
	uint64_t s = 0;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		s = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)ts.tv_sec ^
		    (uint64_t)(uintptr_t)&s;
	}
	return s;
}

/* A password nobody knows, for the probe and the dummy hash. */
static void random_probe(char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[AUTH_PROBE_BYTES];
	size_t i;

	if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
		uint64_t s = random_seed();

		for (i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char)(s >> (8 * (i % 8))) ^ (unsigned char)(i * 37);
	}
	for (i = 0; i < sizeof(b) && 2 * i + 2 < cap; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * i] = '\0';
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

static bool name_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' || ch == '@';
}

/* Whether a and b, both NUL-terminated, are equal; the time taken depends
 * on their lengths only. */
static bool ct_equal(const char *a, const char *b)
{
	size_t n = strlen(a);
	volatile unsigned char d = 0;

	if (strlen(b) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* --- users -------------------------------------------------------------------- */

static long find_user(const struct auth *a, const char *name)
{
	size_t h;

	if (!a->nindex)
		return -1;
	h = (size_t)hash_str(a->seed, name) & (a->nindex - 1);
	while (a->index[h]) {
		if (!strcmp(a->u[a->index[h] - 1].name, name))
			return (long)(a->index[h] - 1);
		h = (h + 1) & (a->nindex - 1);
	}
	return -1;
}

static int index_grow(struct auth *a)
{
	size_t nn = a->nindex ? a->nindex * 2 : 64;
	size_t *ni = calloc(nn, sizeof(*ni));

	if (!ni)
		return -1;
	for (size_t i = 0; i < a->n; i++) {
		size_t h = (size_t)hash_str(a->seed, a->u[i].name) & (nn - 1);

		while (ni[h])
			h = (h + 1) & (nn - 1);
		ni[h] = i + 1;
	}
	free(a->index);
	a->index = ni;
	a->nindex = nn;
	return 0;
}

/* Adds a user whose name is known to be new. 0, or -1 out of memory. */
static int add_user(struct auth *a, const char *name, size_t nlen, const char *hash,
		    size_t hlen, enum auth_role role, unsigned line)
{
	struct auth_user *u;
	size_t h;

	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 16;
		struct auth_user *nu = realloc(a->u, nc * sizeof(*nu));

		if (!nu)
			return -1;
		a->u = nu;
		a->cap = nc;
	}
	if ((a->n + 1) * 2 > a->nindex && index_grow(a) < 0)
		return -1;
	u = &a->u[a->n];
	u->name = strndup(name, nlen);
	u->hash = strndup(hash, hlen);
	if (!u->name || !u->hash) {
		free(u->name);
		free(u->hash);
		return -1;
	}
	u->role = role;
	u->line = line;
	h = (size_t)hash_str(a->seed, u->name) & (a->nindex - 1);
	while (a->index[h])
		h = (h + 1) & (a->nindex - 1);
	a->index[h] = ++a->n;
	return 0;
}

/*
 * Parses one line (blank and comment lines add nothing). cd is scratch
 * space for the probe. Returns 0, or -1 with why set (without the file and
 * line).
 */
static int parse_line(struct auth *a, char *s, size_t len, unsigned lineno, const char *probe,
		      struct crypt_data *cd, char *why, size_t cap)
{
	const char *name, *hash, *role_s = NULL, *c1, *c2, *out;
	size_t nlen, hlen;
	enum auth_role role = AUTH_ROLE_APP;
	long dup;

	while (len && is_blank(*s)) {
		s++;
		len--;
	}
	while (len && is_blank(s[len - 1]))
		len--;
	s[len] = '\0';
	if (len == 0 || s[0] == '#')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f) {
			text_error(why, cap, "control character");
			return -1;
		}
	}

	name = s;
	c1 = strchr(s, ':');
	nlen = c1 ? (size_t)(c1 - s) : len;
	if (nlen == 0) {
		text_error(why, cap, "empty user name");
		return -1;
	}
	if (nlen >= AUTH_NAME_MAX) {
		text_error(why, cap, "user name longer than %d characters", AUTH_NAME_MAX - 1);
		return -1;
	}
	for (size_t i = 0; i < nlen; i++) {
		if (!name_char_ok(name[i])) {
			text_error(why, cap, "invalid character in user name (allowed: "
				   "A-Z a-z 0-9 . _ - @)");
			return -1;
		}
	}
	if (!c1 || c1[1] == '\0' || c1[1] == ':') {
		text_error(why, cap, "user '%.*s': no hash (expected name:hash or "
			   "name:hash:role)", (int)nlen, name);
		return -1;
	}
	hash = c1 + 1;
	c2 = strchr(hash, ':');
	hlen = c2 ? (size_t)(c2 - hash) : strlen(hash);
	if (c2) {
		role_s = c2 + 1;
		if (!strcmp(role_s, "admin"))
			role = AUTH_ROLE_ADMIN;
		else if (strcmp(role_s, "app") != 0) {
			text_error(why, cap, "user '%.*s': unknown role '%.32s' (expected app "
				   "or admin)", (int)nlen, name, role_s);
			return -1;
		}
	}
	s[nlen] = '\0';             /* name and hash as C strings from here */
	if (c2)
		s[c2 - s] = '\0';
	dup = find_user(a, name);
	if (dup >= 0) {
		text_error(why, cap, "user '%s' is already defined on line %u", name,
			   a->u[dup].line);
		return -1;
	}
	if (strchr(hash, ' ')) {
		text_error(why, cap, "user '%s': blank in the hash ('#' starts a comment "
			   "only at the start of a line)", name);
		return -1;
	}
	if (hlen >= CRYPT_OUTPUT_SIZE) {
		text_error(why, cap, "user '%s': hash longer than %d characters", name,
			   CRYPT_OUTPUT_SIZE - 1);
		return -1;
	}
	if (a->n >= AUTH_MAX_USERS) {
		text_error(why, cap, "more than %d users", AUTH_MAX_USERS);
		return -1;
	}

	out = crypt_rn(probe, hash, cd, (int)sizeof(*cd));
	if (!out || out[0] == '*') {
		text_error(why, cap, "user '%s': hash type not supported by crypt(3)", name);
		return -1;
	}
	if (strlen(out) != hlen) {
		text_error(why, cap, "user '%s': not a complete crypt(3) hash", name);
		return -1;
	}
	if (a->n == 0) {
		a->dummy = strdup(out);
		if (!a->dummy)
			goto oom;
	}
	if (add_user(a, name, nlen, hash, hlen, role, lineno) < 0)
		goto oom;
	return 0;
oom:
	text_error(why, cap, "out of memory");
	return -1;
}

static struct auth *auth_new(void)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (pthread_mutex_init(&a->mu, NULL) != 0) {
		free(a);
		return NULL;
	}
	a->seed = random_seed();
	a->cache_on = getrandom(a->cache_key, sizeof(a->cache_key), 0) == (ssize_t)sizeof(a->cache_key);
	for (size_t i = 0; i < AUTH_TRACK_BUCKETS; i++)
		a->bucket[i] = -1;
	a->oldest = a->newest = -1;
	return a;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++) {
		free(a->u[i].name);
		explicit_bzero(a->u[i].hash, strlen(a->u[i].hash));
		free(a->u[i].hash);
	}
	free(a->u);
	free(a->index);
	free(a->dummy);
	explicit_bzero(a->cache_key, sizeof(a->cache_key));
	explicit_bzero(a->cache, sizeof(a->cache));
	pthread_mutex_destroy(&a->mu);
	free(a);
}

size_t auth_count(const struct auth *a)
{
	return a ? a->n : 0;
}

const char *auth_role_name(enum auth_role role)
{
	return role == AUTH_ROLE_ADMIN ? "admin" : "app";
}

int auth_load(const char *path, struct auth **out, char *err, size_t cap)
{
	struct auth *a = NULL;
	struct crypt_data *cd = NULL;
	char *line = NULL, why[AUTH_NAME_MAX + 160], probe[2 * AUTH_PROBE_BYTES + 1];
	unsigned lineno = 0;
	size_t len;
	FILE *f = NULL;
	int r;

	if (!path || !*path) {
		text_error(err, cap, "no users file named");
		return -1;
	}
	a = auth_new();
	line = malloc(AUTH_LINE_MAX + 1);
	cd = calloc(1, sizeof(*cd));        /* zeroed once: crypt wipes its scratch */
	if (!a || !line || !cd) {
		text_error(err, cap, "%s: out of memory", path);
		goto fail;
	}
	f = fopen(path, "r");
	if (!f) {
		text_error(err, cap, "%s: cannot open: %s", path, strerror(errno));
		goto fail;
	}
	random_probe(probe, sizeof(probe));
	while ((r = text_read_line(f, line, AUTH_LINE_MAX + 1, &len)) == 1) {
		lineno++;
		if (parse_line(a, line, len, lineno, probe, cd, why, sizeof(why)) < 0) {
			text_error(err, cap, "%s:%u: %s", path, lineno, why);
			goto fail;
		}
	}
	if (r < 0) {
		text_read_error(err, cap, path, lineno, r, AUTH_LINE_MAX);
		goto fail;
	}
	fclose(f);
	explicit_bzero(line, AUTH_LINE_MAX + 1);
	free(line);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	*out = a;
	return 0;
fail:
	if (f)
		fclose(f);
	if (line)
		explicit_bzero(line, AUTH_LINE_MAX + 1);
	free(line);
	if (cd)
		explicit_bzero(cd, sizeof(*cd));
	free(cd);
	auth_free(a);
	return -1;
}

int auth_check(struct auth *a, const char *user, const char *password, enum auth_role *role)
{
	struct crypt_data *cd;
	const char *hash, *out;
	long i = -1;
	bool ok = false;

	if (!a || !a->dummy || !password)
		return -1;
	/* crypt(3) would refuse a longer password: refuse it here, at no
	 * cost, which tells nothing about the user either. */
	if (strnlen(password, AUTH_PASSWORD_MAX + 1) > AUTH_PASSWORD_MAX)
		return -1;
	if (user)
		i = find_user(a, user);
	hash = i >= 0 ? a->u[i].hash : a->dummy;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return -1;
	out = crypt_rn(password, hash, cd, (int)sizeof(*cd));
	if (out)
		ok = ct_equal(out, hash);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	if (i < 0 || !ok)
		return -1;
	if (role)
		*role = a->u[i].role;
	return 0;
}

/* --- failure tracker (a->mu held) ----------------------------------------------- */

static void key_of(const char *addr, char *key)
{
	snprintf(key, AUTH_ADDR_MAX, "%s", addr);
}

static unsigned bucket_of(const struct auth *a, const char *key)
{
	return (unsigned)(hash_str(a->seed, key) & (AUTH_TRACK_BUCKETS - 1));
}

static int track_find(const struct auth *a, const char *key, unsigned b)
{
	for (int i = a->bucket[b]; i >= 0; i = a->t[i].chain)
		if (!strcmp(a->t[i].addr, key))
			return i;
	return -1;
}

static void list_unlink(struct auth *a, int i)
{
	struct track *e = &a->t[i];

	if (e->older >= 0)
		a->t[e->older].newer = e->newer;
	else
		a->oldest = e->newer;
	if (e->newer >= 0)
		a->t[e->newer].older = e->older;
	else
		a->newest = e->older;
	e->older = e->newer = -1;
}

static void list_push_newest(struct auth *a, int i)
{
	struct track *e = &a->t[i];

	e->older = a->newest;
	e->newer = -1;
	if (a->newest >= 0)
		a->t[a->newest].newer = i;
	else
		a->oldest = i;
	a->newest = i;
}

static void bucket_unlink(struct auth *a, int i)
{
	int *p = &a->bucket[a->t[i].bucket];

	while (*p != i)
		p = &a->t[*p].chain;
	*p = a->t[i].chain;
}

/* The entry of key, created (in a free slot or in place of the least
 * recently failing address) when there is none. */
static int track_get(struct auth *a, const char *key)
{
	unsigned b = bucket_of(a, key);
	int i = track_find(a, key, b);
	struct track *e;

	if (i >= 0)
		return i;
	if (a->nt < AUTH_TRACK_MAX) {
		i = (int)a->nt++;
	} else {
		i = a->oldest;
		list_unlink(a, i);
		bucket_unlink(a, i);
	}
	e = &a->t[i];
	memset(e, 0, sizeof(*e));
	memcpy(e->addr, key, strlen(key) + 1);
	e->bucket = b;
	e->chain = a->bucket[b];
	a->bucket[b] = i;
	e->older = e->newer = -1;
	list_push_newest(a, i);
	return i;
}

static unsigned track_delay(const struct track *e, int64_t now_ms)
{
	if (e->n < AUTH_FAIL_LIMIT)
		return 0;
	/* full ring: e->next is the oldest of the last AUTH_FAIL_LIMIT */
	return now_ms - e->at[e->next] < AUTH_FAIL_WINDOW_MS ? AUTH_FAIL_DELAY_MS : 0;
}

static void track_add(struct auth *a, int i, int64_t now_ms)
{
	struct track *e = &a->t[i];

	e->at[e->next] = now_ms;
	e->next = (e->next + 1) % AUTH_FAIL_LIMIT;
	if (e->n < AUTH_FAIL_LIMIT)
		e->n++;
	list_unlink(a, i);
	list_push_newest(a, i);
}

void auth_note_failure(struct auth *a, const char *addr, int64_t now_ms)
{
	char key[AUTH_ADDR_MAX];

	if (!a || !addr)
		return;
	key_of(addr, key);
	pthread_mutex_lock(&a->mu);
	track_add(a, track_get(a, key), now_ms);
	pthread_mutex_unlock(&a->mu);
}

unsigned auth_delay_ms(struct auth *a, const char *addr, int64_t now_ms)
{
	char key[AUTH_ADDR_MAX];
	unsigned d = 0;
	int i;

	if (!a || !addr)
		return 0;
	key_of(addr, key);
	pthread_mutex_lock(&a->mu);
	i = track_find(a, key, bucket_of(a, key));
	if (i >= 0)
		d = track_delay(&a->t[i], now_ms);
	pthread_mutex_unlock(&a->mu);
	return d;
}

/* --- the cache of verified credentials ---------------------------------------- */

/* HMAC-SHA256(cache_key, user NUL password) in mac; false when it cannot
 * be computed (no key, too long, OpenSSL failed). */
static bool cache_mac(const struct auth *a, const char *user, const char *password,
		      unsigned char mac[32])
{
	size_t ul, pl;
	unsigned char msg[AUTH_NAME_MAX + 1 + AUTH_PASSWORD_MAX];
	unsigned int len = 0;
	bool ok;

	if (!a->cache_on || !user || !password)
		return false;
	ul = strnlen(user, AUTH_NAME_MAX);
	pl = strnlen(password, AUTH_PASSWORD_MAX + 1);
	if (ul >= AUTH_NAME_MAX || pl > AUTH_PASSWORD_MAX)
		return false;
	memcpy(msg, user, ul);
	msg[ul] = '\0';
	memcpy(msg + ul + 1, password, pl);
	ok = HMAC(EVP_sha256(), a->cache_key, (int)sizeof(a->cache_key), msg, ul + 1 + pl, mac,
		  &len) != NULL && len == 32;
	explicit_bzero(msg, sizeof(msg));
	return ok;
}

static size_t cache_slot(const unsigned char mac[32])
{
	uint64_t v;

	memcpy(&v, mac, sizeof(v));
	return (size_t)(v % AUTH_CACHE_SLOTS);
}

/* A cached success for mac at now_ms: true with *role set. */
static bool cache_find(struct auth *a, const unsigned char mac[32], int64_t now_ms,
		       enum auth_role *role)
{
	struct cached *c = &a->cache[cache_slot(mac)];
	bool hit;

	pthread_mutex_lock(&a->mu);
	hit = c->until_ms > now_ms && CRYPTO_memcmp(c->mac, mac, 32) == 0;
	if (hit) {
		if (role)
			*role = c->role;
		a->cache_hits++;
	}
	pthread_mutex_unlock(&a->mu);
	return hit;
}

static void cache_put(struct auth *a, const unsigned char mac[32], enum auth_role role,
		      int64_t now_ms)
{
	struct cached *c = &a->cache[cache_slot(mac)];

	pthread_mutex_lock(&a->mu);
	memcpy(c->mac, mac, 32);
	c->role = role;
	c->until_ms = now_ms + AUTH_CACHE_TTL_MS;
	pthread_mutex_unlock(&a->mu);
}

unsigned long auth_cache_hits(struct auth *a)
{
	unsigned long n;

	if (!a)
		return 0;
	pthread_mutex_lock(&a->mu);
	n = a->cache_hits;
	pthread_mutex_unlock(&a->mu);
	return n;
}

int auth_attempt(struct auth *a, const char *addr, const char *user, const char *password,
		 int64_t now_ms, enum auth_role *role, unsigned *delay_ms)
{
	char key[AUTH_ADDR_MAX];
	unsigned char mac[32];
	bool have_mac = a && cache_mac(a, user, password, mac);
	enum auth_role r = AUTH_ROLE_APP;
	unsigned d = 0;

	if (have_mac && cache_find(a, mac, now_ms, &r)) {
		explicit_bzero(mac, sizeof(mac));
		if (role)
			*role = r;
		if (delay_ms)
			*delay_ms = 0;
		return 0;
	}
	if (auth_check(a, user, password, &r) == 0) {
		if (have_mac)
			cache_put(a, mac, r, now_ms);
		explicit_bzero(mac, sizeof(mac));
		if (role)
			*role = r;
		if (delay_ms)
			*delay_ms = 0;
		return 0;
	}
	explicit_bzero(mac, sizeof(mac));
	if (a && addr) {
		int i;

		key_of(addr, key);
		pthread_mutex_lock(&a->mu);
		i = track_get(a, key);
		d = track_delay(&a->t[i], now_ms);
		track_add(a, i, now_ms);
		pthread_mutex_unlock(&a->mu);
	}
	if (delay_ms)
		*delay_ms = d;
	return -1;
}

/* --- listen address ------------------------------------------------------------- */

bool auth_listen_is_loopback(const char *host)
{
	char buf[64];
	struct in_addr v4;
	struct in6_addr v6;
	size_t n;

	if (!host)
		return false;
	n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, host, n);
	buf[n] = '\0';
	/* inet_aton stops at a blank: "127.0.0.1 x" is not an address */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] <= 0x20 || (unsigned char)buf[i] >= 0x7f)
			return false;
	if (!strcasecmp(buf, "localhost") || !strcasecmp(buf, "localhost."))
		return true;
	if (inet_pton(AF_INET6, buf, &v6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&v6) ||
		       (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
	/* inet_aton takes what getaddrinfo takes for IPv4 (127.1, 2130706433,
	 * 0x7f.1): the address the listener will bind */
	if (inet_aton(buf, &v4))
		return (ntohl(v4.s_addr) >> 24) == 127;
	return false;
}
