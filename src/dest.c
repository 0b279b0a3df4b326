/*
 * dest.c - callback destinations (contract section 11): the allow list,
 * the default refusal list, endpoint URLs, name lookups with a time limit.
 *
 * Name lookups: getaddrinfo has no time limit of its own (the resolver's
 * timeout and attempts in resolv.conf can add up to half a minute), so
 * each lookup runs on a detached thread of its own and the caller waits
 * for it on a condition variable up to a deadline (CLOCK_MONOTONIC). When
 * the deadline passes the caller goes on with "no answer"; the thread
 * finishes the lookup later and frees what is left (a reference count of
 * two, the caller's and the thread's: the last one frees). getaddrinfo_a
 * (glibc's asynchronous variant) was the other choice; it was not taken
 * because a lookup it has started cannot be cancelled (gai_cancel answers
 * EAI_NOTCANCELED), so its request must outlive a caller that gave up
 * anyway, which takes a SIGEV_THREAD notification to free it: a thread
 * per lookup again, with glibc's thread pool and signal plumbing besides.
 * At most DEST_LOOKUPS_MAX lookups run at once, those given up included,
 * so a resolver that never answers cannot pile up threads: beyond that a
 * lookup fails at once. Address literals (numeric forms included) are
 * never looked up.
 */
#include "dest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mono.h"

#define ITEM_MAX 300            /* an entry of the list, as written */

enum entry_kind { E_CIDR, E_NAME, E_ADDR };

struct entry {
	enum entry_kind kind;
	int family;                 /* E_CIDR, E_ADDR: AF_INET or AF_INET6 */
	unsigned char addr[16];     /* E_CIDR: the block (host bits zero); E_ADDR: the address */
	unsigned prefix;            /* E_CIDR */
	unsigned port;              /* E_NAME, E_ADDR: 0 = any */
	char name[DEST_HOST_MAX];   /* E_NAME: lower case, no trailing dot */
};

struct dest {
	atomic_uint refs;           /* dest_ref, dest_free */
	size_t n;
	struct entry e[];
};

/* --- addresses --------------------------------------------------------------- */

/* Whether the first prefix bits of a and b agree. */
static bool prefix_match(const unsigned char *a, const unsigned char *b, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (0xff00u >> rest) & 0xff) == 0;
}

static const struct {
	unsigned char net[4];
	unsigned prefix;
} refused4[] = {
	{ { 0, 0, 0, 0 }, 8 },
	{ { 10, 0, 0, 0 }, 8 },
	{ { 100, 64, 0, 0 }, 10 },
	{ { 127, 0, 0, 0 }, 8 },
	{ { 169, 254, 0, 0 }, 16 },
	{ { 172, 16, 0, 0 }, 12 },
	{ { 192, 0, 0, 0 }, 24 },
	{ { 192, 168, 0, 0 }, 16 },
	{ { 198, 18, 0, 0 }, 15 },
	{ { 224, 0, 0, 0 }, 3 },
};

static bool v4_refused(const unsigned char a[4])
{
	for (size_t i = 0; i < sizeof(refused4) / sizeof(refused4[0]); i++)
		if (prefix_match(a, refused4[i].net, refused4[i].prefix))
			return true;
	return false;
}

static const unsigned char mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
static const unsigned char compat_prefix[12] = { 0 };
static const unsigned char nat64_prefix[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };

/* The IPv4 address inside an IPv6 one, in the forms section 11 names:
 * IPv4-mapped, IPv4-compatible (:: and ::1 included), NAT64 64:ff9b::/96
 * and 6to4 2002::/16. NULL when a carries none. */
static const unsigned char *embedded_v4(const unsigned char a[16])
{
	if (memcmp(a, mapped_prefix, 12) == 0 || memcmp(a, compat_prefix, 12) == 0 ||
	    memcmp(a, nat64_prefix, 12) == 0)
		return a + 12;
	if (a[0] == 0x20 && a[1] == 0x02)
		return a + 2;
	return NULL;
}

static bool v6_refused(const unsigned char a[16])
{
	static const unsigned char loopback[16] = { [15] = 1 };
	static const unsigned char any[16] = { 0 };
	const unsigned char *v4;

	if (memcmp(a, any, 16) == 0 || memcmp(a, loopback, 16) == 0)
		return true;
	if ((a[0] & 0xfe) == 0xfc)                      /* fc00::/7 */
		return true;
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)      /* fe80::/10 */
		return true;
	if (a[0] == 0xff)                               /* ff00::/8 */
		return true;
	v4 = embedded_v4(a);
	return v4 && v4_refused(v4);
}

/* The family and bytes of sa; 0 when it is neither IPv4 nor IPv6. */
static int sa_bytes(const struct sockaddr *sa, const unsigned char **bytes)
{
	if (!sa)
		return 0;
	if (sa->sa_family == AF_INET) {
		*bytes = (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		*bytes = (const unsigned char *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		return AF_INET6;
	}
	return 0;
}

bool dest_refused_by_default(const struct sockaddr *sa)
{
	const unsigned char *b;

	switch (sa_bytes(sa, &b)) {
	case AF_INET: return v4_refused(b);
	case AF_INET6: return v6_refused(b);
	}
	return true;
}

void dest_addr_text(const struct sockaddr *sa, char *out, size_t cap)
{
	const unsigned char *b;
	int fam = sa_bytes(sa, &b);

	if (cap == 0)
		return;
	if (!fam || !inet_ntop(fam, b, out, (socklen_t)cap))
		snprintf(out, cap, "?");
}

/* --- host forms ------------------------------------------------------------- */

/* A host written as a number, as inet_aton reads it (1 to 4 parts, each
 * decimal, 0x hex or 0 octal: 127.1, 2130706433, 0x7f000001, 0177.0.0.1).
 * Only characters a number can have are accepted first: inet_aton alone
 * would also take "127.1 junk". */
static bool numeric_v4(const char *s, unsigned char out[4])
{
	struct in_addr in;

	if (!*s || strspn(s, "0123456789abcdefABCDEFxX.") != strlen(s))
		return false;
	if (inet_aton(s, &in) == 0)
		return false;
	memcpy(out, &in, 4);
	return true;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* A port, 1..65535, digits only, [s, s + n). */
static int parse_port(const char *s, size_t n, unsigned *port)
{
	unsigned long p = 0;

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		p = p * 10 + (unsigned long)(s[i] - '0');
	}
	if (p == 0 || p > 65535)
		return -1;
	*port = (unsigned)p;
	return 0;
}

/* --- endpoint URLs ------------------------------------------------------------ */

int dest_url_parse(const char *url, struct dest_url *u)
{
	const char *auth, *end, *at, *h, *hend, *p;
	size_t hlen;

	memset(u, 0, sizeof(*u));
	if (!url)
		return -1;
	if (strncasecmp(url, "http://", 7) == 0) {
		auth = url + 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		auth = url + 8;
		u->https = true;
	} else {
		return -1;
	}
	end = auth + strcspn(auth, "/?#");
	/* the userinfo ends at the last '@' of the authority */
	at = NULL;
	for (p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (at) {
		u->has_userinfo = true;
		h = at + 1;
	} else {
		h = auth;
	}
	if (h < end && *h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (!rb)
			return -1;
		hend = rb + 1;
	} else {
		hend = memchr(h, ':', (size_t)(end - h));
		if (!hend)
			hend = end;
	}
	hlen = (size_t)(hend - h);
	if (hlen == 0 || hlen >= DEST_HOST_MAX)
		return -1;
	memcpy(u->host, h, hlen);
	u->host[hlen] = '\0';
	if (hend < end) {
		if (*hend != ':')
			return -1;     /* "[::1]x" */
		if (hend + 1 == end)
			u->port = 0;   /* "host:" : the default (RFC 3986) */
		else if (parse_port(hend + 1, (size_t)(end - hend - 1), &u->port) < 0)
			return -1;
	}
	if (u->port == 0)
		u->port = u->https ? 443 : 80;

	if (u->host[0] == '[') {
		memcpy(u->name, u->host + 1, hlen - 2);
		u->name[hlen - 2] = '\0';
		if (inet_pton(AF_INET6, u->name, u->addr) != 1)
			return -1;
		u->kind = DEST_IPV6;
		lower(u->name);
		return 0;
	}
	for (size_t i = 0; i < hlen; i++) {
		unsigned char ch = (unsigned char)u->host[i];

		if (ch <= ' ' || ch == 0x7f || strchr("[]@\\\"<>{}|^`", ch))
			return -1;
	}
	memcpy(u->name, u->host, hlen + 1);
	if (hlen > 1 && u->name[hlen - 1] == '.')
		u->name[hlen - 1] = '\0';
	if (u->name[0] == '.' || u->name[0] == '\0')
		return -1;
	lower(u->name);
	u->kind = numeric_v4(u->name, u->addr) ? DEST_IPV4 : DEST_NAME;
	return 0;
}

/* --- the allow list ------------------------------------------------------------ */

/* A DNS name: labels of letters, digits, '-' and '_', 1..63 characters,
 * 253 at most in all; written lower case without a trailing dot to out. */
static int parse_name(const char *s, size_t n, char *out)
{
	size_t label = 0;

	if (n > 1 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (ch == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			   (ch >= '0' && ch <= '9') || ch == '-' || ch == '_') {
			if (++label > 63)
				return -1;
		} else {
			return -1;
		}
		out[i] = ch;
	}
	if (label == 0)
		return -1;
	out[n] = '\0';
	lower(out);
	return 0;
}

/* An address in its standard form: a.b.c.d or an IPv6 address. */
static int parse_addr(const char *s, unsigned char *addr, int *family)
{
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

#define WHY(...) do { snprintf(why, cap, __VA_ARGS__); return -1; } while (0)

static int parse_item(const char *it, struct entry *e, char *why, size_t cap)
{
	const char *slash = strchr(it, '/'), *colon;
	unsigned char scratch[4];
	char host[ITEM_MAX];

	memset(e, 0, sizeof(*e));
	if (strstr(it, "://"))
		WHY("item '%s': not a URL: an address, a CIDR block, host or host:port", it);
	if (slash) {
		size_t alen = (size_t)(slash - it);
		unsigned long len = 0;
		const char *p = slash + 1;
		unsigned maxlen;

		if (alen == 0 || alen >= sizeof(host))
			WHY("item '%s': expected an address before '/'", it);
		memcpy(host, it, alen);
		host[alen] = '\0';
		if (parse_addr(host, e->addr, &e->family) < 0)
			WHY("item '%s': '%s' is not an IPv4 (a.b.c.d) or IPv6 address", it, host);
		maxlen = e->family == AF_INET ? 32 : 128;
		if (!*p || strlen(p) > 3 || strspn(p, "0123456789") != strlen(p))
			WHY("item '%s': expected a prefix length 0..%u after '/'", it, maxlen);
		len = strtoul(p, NULL, 10);
		if (len > maxlen)
			WHY("item '%s': expected a prefix length 0..%u after '/'", it, maxlen);
		e->kind = E_CIDR;
		e->prefix = (unsigned)len;
		for (unsigned bit = e->prefix; bit < maxlen; bit++)
			if (e->addr[bit / 8] & (0x80u >> (bit % 8)))
				WHY("item '%s': address bits set beyond the prefix /%u", it, e->prefix);
		return 0;
	}
	/* an address alone is a block of one address */
	if (parse_addr(it, e->addr, &e->family) == 0) {
		e->kind = E_CIDR;
		e->prefix = e->family == AF_INET ? 32 : 128;
		return 0;
	}
	if (it[0] == '[') {
		const char *rb = strchr(it, ']');
		size_t alen;

		if (!rb || rb[1] != ':')
			WHY("item '%s': expected [IPv6 address]:port", it);
		alen = (size_t)(rb - it - 1);
		memcpy(host, it + 1, alen);
		host[alen] = '\0';
		if (inet_pton(AF_INET6, host, e->addr) != 1)
			WHY("item '%s': '%s' is not an IPv6 address", it, host);
		if (parse_port(rb + 2, strlen(rb + 2), &e->port) < 0)
			WHY("item '%s': expected a port 1..65535", it);
		e->kind = E_ADDR;
		e->family = AF_INET6;
		return 0;
	}
	colon = strchr(it, ':');
	if (colon && strchr(colon + 1, ':'))
		WHY("item '%s': not an address, a CIDR block, host or host:port "
		    "(write an IPv6 address with a port as [address]:port)", it);
	{
		size_t hlen = colon ? (size_t)(colon - it) : strlen(it);

		memcpy(host, it, hlen);
		host[hlen] = '\0';
	}
	if (colon && parse_port(colon + 1, strlen(colon + 1), &e->port) < 0)
		WHY("item '%s': expected a port 1..65535 after ':'", it);
	if (inet_pton(AF_INET, host, e->addr) == 1) {
		e->kind = E_ADDR;          /* a.b.c.d:port */
		e->family = AF_INET;
		return 0;
	}
	if (numeric_v4(host, scratch))
		WHY("item '%s': write an IPv4 address as a.b.c.d", it);
	if (parse_name(host, strlen(host), e->name) < 0)
		WHY("item '%s': not an address, a CIDR block or a host name", it);
	e->kind = E_NAME;
	return 0;
}

int dest_new(const char *list, struct dest **out, char *why, size_t cap)
{
	struct dest *d;
	const char *p = list ? list : "";
	size_t n = 0;

	if (out)
		*out = NULL;
	d = calloc(1, sizeof(*d) + DEST_ENTRIES_MAX * sizeof(struct entry));
	if (d)
		atomic_init(&d->refs, 1);
	if (!d) {
		snprintf(why, cap, "out of memory");
		return -1;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p) {
		for (;;) {
			const char *comma = strchr(p, ','), *s = p;
			size_t len = comma ? (size_t)(comma - p) : strlen(p);
			char item[ITEM_MAX];

			while (len > 0 && (*s == ' ' || *s == '\t')) {
				s++;
				len--;
			}
			while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
				len--;
			if (len == 0) {
				snprintf(why, cap, "empty item in the list");
				goto bad;
			}
			if (len >= sizeof(item)) {
				snprintf(why, cap, "item longer than %d characters", ITEM_MAX - 1);
				goto bad;
			}
			if (n == DEST_ENTRIES_MAX) {
				snprintf(why, cap, "more than %d items", DEST_ENTRIES_MAX);
				goto bad;
			}
			memcpy(item, s, len);
			item[len] = '\0';
			if (parse_item(item, &d->e[n], why, cap) < 0)
				goto bad;
			n++;
			if (!comma)
				break;
			p = comma + 1;
		}
	}
	d->n = n;
	if (out)
		*out = d;
	else
		free(d);
	return 0;
bad:
	free(d);
	return -1;
}

void dest_free(struct dest *d)
{
	if (d && atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) == 1)
		free(d);
}

struct dest *dest_ref(const struct dest *d)
{
	struct dest *m = (struct dest *)d;   /* allocated by dest_new: not const */

	if (m)
		atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
	return m;
}

size_t dest_entries(const struct dest *d)
{
	return d ? d->n : 0;
}

/* --- the decision ------------------------------------------------------------- */

static bool host_entry_matches(const struct entry *e, const struct dest_url *u)
{
	if (e->port && e->port != u->port)
		return false;
	if (e->kind == E_NAME)
		return u->kind == DEST_NAME && strcmp(e->name, u->name) == 0;
	/* E_ADDR: an endpoint whose host denotes that address */
	if (e->family == AF_INET)
		return u->kind == DEST_IPV4 && memcmp(e->addr, u->addr, 4) == 0;
	return u->kind == DEST_IPV6 && memcmp(e->addr, u->addr, 16) == 0;
}

static bool cidr_matches(const struct entry *e, int fam, const unsigned char *b)
{
	if (fam == AF_INET6 && e->family == AF_INET && memcmp(b, mapped_prefix, 12) == 0)
		return prefix_match(b + 12, e->addr, e->prefix);   /* ::ffff:a.b.c.d */
	return fam == e->family && prefix_match(b, e->addr, e->prefix);
}

bool dest_addr_allowed(const struct dest *d, const struct dest_url *u, const struct sockaddr *sa)
{
	const unsigned char *b;
	int fam = sa_bytes(sa, &b);

	if (!fam)
		return false;
	for (size_t i = 0; d && i < d->n; i++)
		if (d->e[i].kind != E_CIDR && u && host_entry_matches(&d->e[i], u))
			return true;
	if (!dest_refused_by_default(sa))
		return true;
	for (size_t i = 0; d && i < d->n; i++)
		if (d->e[i].kind == E_CIDR && cidr_matches(&d->e[i], fam, b))
			return true;
	return false;
}

/* --- lookups -------------------------------------------------------------------- */

static _Atomic(dest_lookup_h *) lookup_fn;
static atomic_int lookups_running;

void dest_set_lookup(dest_lookup_h *fn)
{
	atomic_store(&lookup_fn, fn);
}

int dest_lookups_running(void)
{
	return atomic_load(&lookups_running);
}

static int system_lookup(const char *name, const struct addrinfo *hints, struct addrinfo **res)
{
	return getaddrinfo(name, NULL, hints, res);
}

struct lookup {
	pthread_mutex_t mu;
	pthread_cond_t cv;          /* CLOCK_MONOTONIC */
	atomic_int refs;            /* the caller's and the thread's */
	dest_lookup_h *fn;
	bool done;                  /* under mu */
	int rc, err;                /* getaddrinfo's answer, errno for EAI_SYSTEM */
	struct addrinfo *res;
	char name[DEST_HOST_MAX];
};

static void lookup_unref(struct lookup *l)
{
	if (atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	if (l->res)
		freeaddrinfo(l->res);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
	atomic_fetch_sub(&lookups_running, 1);
}

static void *lookup_main(void *arg)
{
	struct lookup *l = arg;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int rc = l->fn(l->name, &hints, &res), err = errno;

	pthread_mutex_lock(&l->mu);
	l->rc = rc;
	l->err = err;
	l->res = rc == 0 ? res : NULL;
	l->done = true;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	lookup_unref(l);
	return NULL;
}

static void put_addr(struct dest_addrs *out, int fam, const void *bytes, unsigned port)
{
	struct sockaddr_storage *ss = &out->a[out->n];

	memset(ss, 0, sizeof(*ss));
	if (fam == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		memcpy(&in->sin_addr, bytes, 4);
		out->len[out->n] = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		memcpy(&in6->sin6_addr, bytes, 16);
		out->len[out->n] = sizeof(*in6);
	}
	out->n++;
}

/* The addresses of res into out (duplicates dropped). -1 when there are
 * more than DEST_ADDRS_MAX or none. */
static int take_addrs(const struct addrinfo *res, unsigned port, struct dest_addrs *out,
		      char *why, size_t cap)
{
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		const unsigned char *b;
		int fam = sa_bytes(ai->ai_addr, &b);
		bool dup = false;

		if (!fam)
			continue;
		for (size_t i = 0; i < out->n && !dup; i++) {
			const unsigned char *o;

			dup = sa_bytes((const struct sockaddr *)&out->a[i], &o) == fam &&
			      memcmp(o, b, fam == AF_INET ? 4 : 16) == 0;
		}
		if (dup)
			continue;
		if (out->n == DEST_ADDRS_MAX) {
			snprintf(why, cap, "more than %d addresses", DEST_ADDRS_MAX);
			return -1;
		}
		put_addr(out, fam, b, port);
	}
	if (out->n == 0) {
		snprintf(why, cap, "no IPv4 or IPv6 address");
		return -1;
	}
	return 0;
}

static int lookup_name(const struct dest_url *u, long timeout_ms, struct dest_addrs *out,
		       char *why, size_t cap)
{
	pthread_condattr_t ca;
	pthread_attr_t ta;
	pthread_t th;
	struct lookup *l;
	int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int rc = -1, err;

	if (atomic_fetch_add(&lookups_running, 1) >= DEST_LOOKUPS_MAX) {
		atomic_fetch_sub(&lookups_running, 1);
		snprintf(why, cap, "too many lookups waiting for an answer");
		return -1;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		atomic_fetch_sub(&lookups_running, 1);
		snprintf(why, cap, "out of memory");
		return -1;
	}
	/* the name as written: a trailing dot keeps its DNS meaning */
	snprintf(l->name, sizeof(l->name), "%s", u->host);
	l->fn = atomic_load(&lookup_fn);
	if (!l->fn)
		l->fn = system_lookup;
	atomic_init(&l->refs, 2);
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&th, &ta, lookup_main, l);
	pthread_attr_destroy(&ta);
	if (err != 0) {
		atomic_store(&l->refs, 1);
		lookup_unref(l);
		snprintf(why, cap, "cannot start a lookup: %s", strerror(err));
		return -1;
	}

	pthread_mutex_lock(&l->mu);
	while (!l->done) {
		struct timespec ts;

		if (mono_ms() >= deadline)
			break;
		ts.tv_sec = (time_t)(deadline / 1000);
		ts.tv_nsec = (long)(deadline % 1000) * 1000000L;
		pthread_cond_timedwait(&l->cv, &l->mu, &ts);
	}
	if (!l->done)
		snprintf(why, cap, "no answer within %ld ms", timeout_ms);
	else if (l->rc != 0)
		snprintf(why, cap, "%s", l->rc == EAI_SYSTEM ? strerror(l->err) : gai_strerror(l->rc));
	else
		rc = take_addrs(l->res, u->port, out, why, cap);
	pthread_mutex_unlock(&l->mu);
	lookup_unref(l);
	return rc;
}

int dest_resolve(const struct dest_url *u, long timeout_ms, struct dest_addrs *out,
		 char *why, size_t cap)
{
	out->n = 0;
	if (cap > 0)
		why[0] = '\0';
	switch (u->kind) {
	case DEST_IPV4:
		put_addr(out, AF_INET, u->addr, u->port);
		return 0;
	case DEST_IPV6:
		put_addr(out, AF_INET6, u->addr, u->port);
		return 0;
	case DEST_NAME:
		break;
	}
	return lookup_name(u, timeout_ms, out, why, cap);
}

enum dest_verdict dest_check(const struct dest *d, const struct dest_url *u, long timeout_ms,
			     struct dest_addrs *out, char *why, size_t cap)
{
	struct dest_addrs local, *a = out ? out : &local;

	if (dest_resolve(u, timeout_ms, a, why, cap) != 0) {
		a->n = 0;
		return DEST_UNRESOLVED;
	}
	for (size_t i = 0; i < a->n; i++) {
		if (!dest_addr_allowed(d, u, (const struct sockaddr *)&a->a[i])) {
			char txt[INET6_ADDRSTRLEN];

			dest_addr_text((const struct sockaddr *)&a->a[i], txt, sizeof(txt));
			snprintf(why, cap, "%s is not allowed", txt);
			a->n = 0;
			return DEST_REFUSED;
		}
	}
	return DEST_ALLOWED;
}

/* --- showing an endpoint ---------------------------------------------------------- */

void dest_redact(const char *url, char *out, size_t cap)
{
	const char *sep, *auth, *end, *at = NULL;

	if (cap == 0)
		return;
	if (!url) {
		out[0] = '\0';
		return;
	}
	sep = strstr(url, "://");
	if (!sep) {
		snprintf(out, cap, "%s", url);
		return;
	}
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (!at)
		snprintf(out, cap, "%s", url);
	else
		snprintf(out, cap, "%.*s***%s", (int)(auth - url), url, at);
}

char *dest_redact_dup(const char *url)
{
	size_t cap = (url ? strlen(url) : 0) + 4;
	char *s = malloc(cap);

	if (s)
		dest_redact(url, s, cap);
	return s;
}
