/*
 * test_dest.c - callback destinations (dest.c, contract section 11): the
 * default refusal list with its IPv6 forms, numeric host forms, endpoint
 * URLs, allow-list entries (CIDR, host, host:port), malformed lists, name
 * lookups with a time limit, and how endpoints are shown.
 *
 * No lookup leaves the machine: names other than "localhost" (from
 * /etc/hosts) are answered by a fake lookup (dest_set_lookup) that only
 * reads address literals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "dest.h"

static char why[256];

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits (up to 5 s) until no lookup thread is left. */
static void lookups_drained(void)
{
	int64_t deadline = mono_ms() + 5000;

	while (dest_lookups_running() > 0 && mono_ms() < deadline)
		usleep(2000);
	assert_int_equal(dest_lookups_running(), 0);
}

/* --- a fake resolver: names of the .test domain ---------------------------- */

/* One numeric address as getaddrinfo gives it (freeable by freeaddrinfo;
 * glibc frees a list node by node, so such answers can be chained). */
static struct addrinfo *numeric(const char *a)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST };
	struct addrinfo *r = NULL;

	if (getaddrinfo(a, NULL, &hints, &r) != 0 || !r || r->ai_next)
		fail_msg("getaddrinfo(%s)", a);
	return r;
}

static int fake_delay_ms;
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open = true;
static atomic_int fake_calls;

/* app.test -> 10.0.0.5; mixed.test -> 8.8.8.8, 10.0.0.1; public.test ->
 * 8.8.8.8, 2001:4860::8888; many.test -> 33 addresses; dups.test -> 40
 * times 8.8.8.8; v6.test -> fd00::1; slow.test -> 8.8.8.8 after
 * fake_delay_ms; gate.test -> 8.8.8.8 once the gate is open; anything
 * else: EAI_NONAME (a "localhost" lookup goes to the system). */
static int fake_lookup(const char *name, const struct addrinfo *hints, struct addrinfo **res)
{
	const char *list[3] = { NULL };
	struct addrinfo *head = NULL, **tail = &head;

	atomic_fetch_add(&fake_calls, 1);
	if (strcasecmp(name, "localhost") == 0)
		return getaddrinfo(name, NULL, hints, res);
	if (strcasecmp(name, "app.test") == 0 || strcasecmp(name, "APP.test.") == 0) {
		list[0] = "10.0.0.5";
	} else if (strcmp(name, "mixed.test") == 0) {
		list[0] = "8.8.8.8";
		list[1] = "10.0.0.1";
	} else if (strcmp(name, "public.test") == 0) {
		list[0] = "8.8.8.8";
		list[1] = "2001:4860::8888";
	} else if (strcmp(name, "many.test") == 0 || strcmp(name, "dups.test") == 0) {
		/* 33 public addresses, or 40 answers of 8.8.8.8 */
		for (int i = 0; i < 40; i++) {
			char a[32];

			if (name[0] == 'm' && i == DEST_ADDRS_MAX + 1)
				break;
			snprintf(a, sizeof(a), "8.8.8.%d", name[0] == 'm' ? i + 1 : 8);
			*tail = numeric(a);
			tail = &(*tail)->ai_next;
		}
		*res = head;
		return 0;
	} else if (strcmp(name, "v6.test") == 0) {
		list[0] = "fd00::1";
	} else if (strcmp(name, "slow.test") == 0) {
		usleep((useconds_t)fake_delay_ms * 1000);
		list[0] = "8.8.8.8";
	} else if (strcmp(name, "gate.test") == 0) {
		pthread_mutex_lock(&gate_mu);
		while (!gate_open)
			pthread_cond_wait(&gate_cv, &gate_mu);
		pthread_mutex_unlock(&gate_mu);
		list[0] = "8.8.8.8";
	} else {
		return EAI_NONAME;
	}
	for (int i = 0; list[i]; i++) {
		*tail = numeric(list[i]);
		tail = &(*tail)->ai_next;
	}
	*res = head;
	return 0;
}

static int setup_fake(void **state)
{
	(void)state;
	dest_set_lookup(fake_lookup);
	return 0;
}

static int teardown_fake(void **state)
{
	(void)state;
	dest_set_lookup(NULL);
	return 0;
}

/* --- helpers ------------------------------------------------------------------ */

static struct dest *allow(const char *list)
{
	struct dest *d = NULL;

	if (dest_new(list, &d, why, sizeof(why)) != 0)
		fail_msg("dest_new(\"%s\"): %s", list, why);
	return d;
}

/* The verdict on url under the allow list d (NULL: none). */
static enum dest_verdict verdict(const struct dest *d, const char *url)
{
	struct dest_url u;

	if (dest_url_parse(url, &u) != 0)
		fail_msg("dest_url_parse(\"%s\") failed", url);
	return dest_check(d, &u, 1000, NULL, why, sizeof(why));
}

static void expect(const struct dest *d, const char *url, enum dest_verdict want)
{
	enum dest_verdict v = verdict(d, url);

	if (v != want)
		fail_msg("%s: verdict %d, expected %d (%s)", url, v, want, why);
}

static bool refused_text(const char *addr)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	else
		fail_msg("bad address %s in the test", addr);
	return dest_refused_by_default((struct sockaddr *)&ss);
}

static void expect_refused(const char *const *list, size_t n, bool refused)
{
	for (size_t i = 0; i < n; i++)
		if (refused_text(list[i]) != refused)
			fail_msg("%s: %s, expected %s", list[i], refused ? "allowed" : "refused",
				 refused ? "refused" : "allowed");
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- the default refusal list ----------------------------------------------- */

static void test_refused_ipv4(void **state)
{
	/* each block of section 11 at its first and last address */
	static const char *const refused[] = {
		"0.0.0.0", "0.255.255.255",             /* 0.0.0.0/8 */
		"10.0.0.0", "10.255.255.255",           /* 10.0.0.0/8 */
		"100.64.0.0", "100.127.255.255",        /* 100.64.0.0/10 */
		"127.0.0.0", "127.0.0.1", "127.255.255.255", /* 127.0.0.0/8 */
		"169.254.0.0", "169.254.169.254", "169.254.255.255", /* 169.254.0.0/16 */
		"172.16.0.0", "172.31.255.255",         /* 172.16.0.0/12 */
		"192.0.0.0", "192.0.0.255",             /* 192.0.0.0/24 */
		"192.168.0.0", "192.168.255.255",       /* 192.168.0.0/16 */
		"198.18.0.0", "198.19.255.255",         /* 198.18.0.0/15 */
		"224.0.0.0", "239.255.255.255", "240.0.0.1", "255.255.255.255", /* 224.0.0.0/3 */
	};
	/* just outside each block, and public addresses */
	static const char *const allowed[] = {
		"1.0.0.0", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0",
		"126.255.255.255", "128.0.0.0", "169.253.255.255", "169.255.0.0",
		"172.15.255.255", "172.32.0.0", "191.255.255.255", "192.0.1.0", "192.0.2.1",
		"192.167.255.255", "192.169.0.0", "198.17.255.255", "198.20.0.0",
		"223.255.255.255", "8.8.8.8", "93.184.216.34",
	};

	(void)state;
	expect_refused(refused, N(refused), true);
	expect_refused(allowed, N(allowed), false);
}

static void test_refused_ipv6(void **state)
{
	static const char *const refused[] = {
		"::", "::1",
		"fc00::", "fc00::1", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",  /* fc00::/7 */
		"fe80::", "fe80::1", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",  /* fe80::/10 */
		"ff00::", "ff02::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",  /* ff00::/8 */
	};
	static const char *const allowed[] = {
		"2001:4860:4860::8888", "2606:4700::1111", "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"fe00::1", "fec0::1", "feff::1", "2001:db8::1", "::1:0:0:1",
	};

	(void)state;
	expect_refused(refused, N(refused), true);
	expect_refused(allowed, N(allowed), false);
}

/* IPv4-mapped, IPv4-compatible, NAT64 and 6to4 forms of refused IPv4
 * addresses are refused; those of public ones are not. */
static void test_refused_embedded(void **state)
{
	static const char *const refused[] = {
		/* IPv4-mapped ::ffff:0:0/96 */
		"::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.1.2.3", "::ffff:169.254.169.254",
		"::ffff:0.0.0.0", "::ffff:100.64.0.1", "::ffff:172.16.0.1", "::ffff:192.0.0.8",
		"::ffff:192.168.1.1", "::ffff:198.18.0.1", "::ffff:224.0.0.1", "::ffff:255.255.255.255",
		/* IPv4-compatible ::/96 */
		"::127.0.0.1", "::10.0.0.1", "::169.254.169.254", "::192.168.0.1", "::0.0.0.2",
		/* NAT64 64:ff9b::/96 */
		"64:ff9b::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::10.0.0.1",
		"64:ff9b::ac10:1", "64:ff9b::e000:1",
		/* 6to4 2002::/16: the IPv4 address in bits 16..47 */
		"2002:7f00:1::", "2002:7f00:1::1", "2002:a9fe:a9fe::1", "2002:c0a8:101::1",
		"2002:a00:1:1::1", "2002::1",
	};
	static const char *const allowed[] = {
		"::ffff:8.8.8.8", "::8.8.8.8", "64:ff9b::808:808", "64:ff9b::8.8.4.4",
		"2002:808:808::1", "2002:5db8:d822::1",
		/* near misses of the prefixes: not embedded forms */
		"0:0:0:0:0:fffe:7f00:1", "64:ff9a::7f00:1", "64:ff9b:1::7f00:1", "2003:7f00:1::1",
	};

	(void)state;
	expect_refused(refused, N(refused), true);
	expect_refused(allowed, N(allowed), false);
}

/* --- endpoint URLs ------------------------------------------------------------- */

static void parse_ok(const char *url, struct dest_url *u)
{
	if (dest_url_parse(url, u) != 0)
		fail_msg("dest_url_parse(\"%s\") refused it", url);
}

static void test_url_parse(void **state)
{
	static const char *const bad[] = {
		"ftp://h/", "http:/h/", "http//h", "h/x", "", "http://", "http:///x", "http://:80/",
		"http://user@/x", "http://h:0/", "http://h:65536/", "http://h:123456/", "http://h:8a/",
		"http://h:-1/", "http://[::1/", "http://[zzz]/", "http://[::1]x/", "http://[fe80::1%25eth0]/",
		"http://[127.0.0.1]/", "http://./", "http://.h/", "http://h\\x/", "http://h<x>/",
	};
	struct dest_url u;

	(void)state;
	for (size_t i = 0; i < N(bad); i++)
		if (dest_url_parse(bad[i], &u) == 0)
			fail_msg("dest_url_parse(\"%s\") accepted it", bad[i]);
	assert_int_equal(dest_url_parse(NULL, &u), -1);

	parse_ok("http://App.Example.COM/cb", &u);
	assert_false(u.https);
	assert_int_equal(u.port, 80);
	assert_int_equal(u.kind, DEST_NAME);
	assert_string_equal(u.host, "App.Example.COM");
	assert_string_equal(u.name, "app.example.com");
	assert_false(u.has_userinfo);

	parse_ok("HTTPS://app.example.com./cb?x=1#f", &u);
	assert_true(u.https);
	assert_int_equal(u.port, 443);
	assert_string_equal(u.host, "app.example.com.");
	assert_string_equal(u.name, "app.example.com");

	parse_ok("http://h:8080", &u);
	assert_int_equal(u.port, 8080);
	parse_ok("https://h:/x", &u);        /* an empty port is the default */
	assert_int_equal(u.port, 443);
	parse_ok("http://h:65535?q", &u);
	assert_int_equal(u.port, 65535);
	assert_string_equal(u.host, "h");

	/* userinfo up to the last '@' of the authority, none in the path */
	parse_ok("http://us%40er:p@ss:w@host.example:81/p@th", &u);
	assert_true(u.has_userinfo);
	assert_string_equal(u.host, "host.example");
	assert_int_equal(u.port, 81);
	parse_ok("http://host.example/p@th", &u);
	assert_false(u.has_userinfo);
	assert_string_equal(u.host, "host.example");

	parse_ok("http://[::1]:8080/cb", &u);
	assert_int_equal(u.kind, DEST_IPV6);
	assert_string_equal(u.host, "[::1]");
	assert_string_equal(u.name, "::1");
	assert_int_equal(u.port, 8080);
	parse_ok("http://u:p@[2001:DB8::1]/", &u);
	assert_int_equal(u.kind, DEST_IPV6);
	assert_int_equal(u.port, 80);
	assert_true(u.has_userinfo);
}

/* Hosts written as numbers are the address they denote (inet_aton). */
static void test_numeric_hosts(void **state)
{
	static const char *const loopback[] = {
		"http://127.0.0.1/", "http://127.1/", "http://127.0.1/", "http://2130706433/",
		"http://0x7f000001/", "http://0X7F000001/", "http://0177.0.0.1/", "http://0x7f.1/",
		"http://017700000001/", "http://127.0.0.1./", "http://0x7f.0.0.1:8080/",
	};
	static const char *const names[] = {
		"http://1.2.3.4.5/", "http://0x7g/", "http://127.0.0.1a/", "http://4294967296/",
		"http://256.0.0.1/", "http://abc/", "http://0x/",
	};
	static const unsigned char lo[4] = { 127, 0, 0, 1 };
	struct dest_url u;
	int calls = atomic_load(&fake_calls);

	(void)state;
	for (size_t i = 0; i < N(loopback); i++) {
		parse_ok(loopback[i], &u);
		if (u.kind != DEST_IPV4 || memcmp(u.addr, lo, 4) != 0)
			fail_msg("%s: not read as 127.0.0.1 (kind %d)", loopback[i], u.kind);
		/* refused without a lookup */
		expect(NULL, loopback[i], DEST_REFUSED);
	}
	parse_ok("http://0xa9fea9fe/latest/meta-data", &u);
	assert_int_equal(u.kind, DEST_IPV4);
	expect(NULL, "http://0xa9fea9fe/", DEST_REFUSED);
	expect(NULL, "http://169.254.169.254/", DEST_REFUSED);
	expect(NULL, "http://2852039166/", DEST_REFUSED);           /* 169.254.169.254 */
	expect(NULL, "http://0/", DEST_REFUSED);                    /* 0.0.0.0 */
	expect(NULL, "http://10.1/", DEST_REFUSED);                 /* 10.0.0.1 */
	expect(NULL, "http://134744072/", DEST_ALLOWED);            /* 8.8.8.8 */
	expect(NULL, "http://8.8.8.8:8080/cb", DEST_ALLOWED);
	expect(NULL, "http://[::1]/", DEST_REFUSED);
	expect(NULL, "http://[::ffff:127.0.0.1]/", DEST_REFUSED);
	expect(NULL, "http://[::ffff:7f00:1]/", DEST_REFUSED);
	expect(NULL, "http://[64:ff9b::a9fe:a9fe]/", DEST_REFUSED);
	expect(NULL, "http://[2002:7f00:1::1]/", DEST_REFUSED);
	expect(NULL, "http://[2001:4860:4860::8888]/", DEST_ALLOWED);
	/* none of them was looked up */
	assert_int_equal(atomic_load(&fake_calls), calls);
	assert_int_equal(dest_lookups_running(), 0);
	for (size_t i = 0; i < N(names); i++) {
		parse_ok(names[i], &u);
		if (u.kind != DEST_NAME)
			fail_msg("%s: read as an address", names[i]);
		/* not a .test name: the fake lookup does not know it */
		expect(NULL, names[i], DEST_UNRESOLVED);
	}
	lookups_drained();
}

/* --- the allow list ------------------------------------------------------------- */

static void test_cidr_entries(void **state)
{
	struct dest *d;

	(void)state;
	d = allow("127.0.0.0/8");
	assert_int_equal(dest_entries(d), 1);
	expect(d, "http://127.0.0.1:9/cb", DEST_ALLOWED);
	expect(d, "http://127.255.255.254/", DEST_ALLOWED);
	expect(d, "http://0x7f000001/", DEST_ALLOWED);
	expect(d, "http://[::ffff:127.0.0.1]/", DEST_ALLOWED);    /* the mapped form too */
	expect(d, "http://localhost:9/", DEST_ALLOWED);           /* /etc/hosts: 127.0.0.1 */
	expect(d, "http://[::1]/", DEST_REFUSED);
	expect(d, "http://169.254.169.254/", DEST_REFUSED);
	expect(d, "http://10.0.0.1/", DEST_REFUSED);
	expect(d, "http://8.8.8.8/", DEST_ALLOWED);                /* public stays allowed */
	expect(d, "http://[64:ff9b::7f00:1]/", DEST_REFUSED);      /* NAT64 is not the address */
	dest_free(d);

	d = allow(" 10.1.0.0/16 , ::1 , fd00::/8,192.168.1.7 ");
	assert_int_equal(dest_entries(d), 4);
	expect(d, "http://10.1.255.255/", DEST_ALLOWED);
	expect(d, "http://10.2.0.0/", DEST_REFUSED);
	expect(d, "http://[::1]:8080/", DEST_ALLOWED);
	expect(d, "http://[fd12::1]/", DEST_ALLOWED);
	expect(d, "http://[fe80::1]/", DEST_REFUSED);
	expect(d, "http://192.168.1.7/", DEST_ALLOWED);
	expect(d, "http://192.168.1.8/", DEST_REFUSED);
	expect(d, "http://v6.test/", DEST_ALLOWED);                /* fd00::1 */
	expect(d, "http://app.test/", DEST_REFUSED);               /* 10.0.0.5 */
	dest_free(d);

	d = allow("0.0.0.0/0,::/0");         /* everything */
	expect(d, "http://127.0.0.1/", DEST_ALLOWED);
	expect(d, "http://[::1]/", DEST_ALLOWED);
	expect(d, "http://[fe80::1]/", DEST_ALLOWED);
	dest_free(d);
	lookups_drained();
}

/* Every address a name resolves to must be allowed. */
static void test_every_address(void **state)
{
	struct dest *d;
	struct dest_url u;
	struct dest_addrs a;

	(void)state;
	expect(NULL, "http://public.test/", DEST_ALLOWED);
	parse_ok("http://public.test:8080/", &u);
	assert_int_equal(dest_check(NULL, &u, 1000, &a, why, sizeof(why)), DEST_ALLOWED);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.a[0].ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&a.a[0])->sin_port), 8080);
	assert_int_equal(a.a[1].ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&a.a[1])->sin6_port), 8080);

	/* more addresses than are kept: refused as not resolved; duplicates count once */
	parse_ok("http://many.test/", &u);
	assert_int_equal(dest_check(NULL, &u, 1000, &a, why, sizeof(why)), DEST_UNRESOLVED);
	assert_string_equal(why, "more than 32 addresses");
	assert_int_equal(a.n, 0);
	parse_ok("http://dups.test/", &u);
	assert_int_equal(dest_check(NULL, &u, 1000, &a, why, sizeof(why)), DEST_ALLOWED);
	assert_int_equal(a.n, 1);

	parse_ok("http://mixed.test/", &u);
	assert_int_equal(dest_check(NULL, &u, 1000, &a, why, sizeof(why)), DEST_REFUSED);
	assert_string_equal(why, "10.0.0.1 is not allowed");
	assert_int_equal(a.n, 0);
	d = allow("10.0.0.0/8");
	expect(d, "http://mixed.test/", DEST_ALLOWED);
	dest_free(d);
	lookups_drained();
}

static void test_host_entries(void **state)
{
	struct dest *d;

	(void)state;
	expect(NULL, "http://app.test/", DEST_REFUSED);           /* 10.0.0.5 */
	d = allow("app.test");
	expect(d, "http://app.test/cb", DEST_ALLOWED);
	expect(d, "http://app.test:8080/cb", DEST_ALLOWED);       /* any port */
	expect(d, "https://app.test/cb", DEST_ALLOWED);
	expect(d, "http://APP.test./cb", DEST_ALLOWED);           /* case, trailing dot */
	expect(d, "http://10.0.0.5/cb", DEST_REFUSED);            /* the name, not its address */
	expect(d, "http://mixed.test/", DEST_REFUSED);
	dest_free(d);

	d = allow("APP.Test.:8080");
	expect(d, "http://app.test:8080/cb", DEST_ALLOWED);
	expect(d, "http://app.test/cb", DEST_REFUSED);            /* port 80 */
	expect(d, "http://app.test:8081/cb", DEST_REFUSED);
	dest_free(d);

	/* no port in the URL: 80 for http, 443 for https */
	d = allow("app.test:80");
	expect(d, "http://app.test/", DEST_ALLOWED);
	expect(d, "http://app.test:80/", DEST_ALLOWED);
	expect(d, "https://app.test/", DEST_REFUSED);
	dest_free(d);
	d = allow("app.test:443");
	expect(d, "https://app.test/", DEST_ALLOWED);
	expect(d, "http://app.test/", DEST_REFUSED);
	expect(d, "http://app.test:443/", DEST_ALLOWED);
	dest_free(d);

	/* localhost by name (/etc/hosts), with and without a port */
	d = allow("localhost");
	expect(d, "http://localhost:9/cb", DEST_ALLOWED);
	expect(d, "http://LOCALHOST:9/cb", DEST_ALLOWED);
	expect(d, "http://127.0.0.1:9/cb", DEST_REFUSED);
	dest_free(d);
	d = allow("localhost:8080");
	expect(d, "http://localhost:8080/cb", DEST_ALLOWED);
	expect(d, "http://localhost:8081/cb", DEST_REFUSED);
	dest_free(d);

	/* an address with a port: hosts that denote that address */
	d = allow("127.0.0.1:8080,[::1]:9090");
	expect(d, "http://127.0.0.1:8080/", DEST_ALLOWED);
	expect(d, "http://127.1:8080/", DEST_ALLOWED);
	expect(d, "http://0x7f000001:8080/", DEST_ALLOWED);
	expect(d, "http://127.0.0.1:8081/", DEST_REFUSED);
	expect(d, "http://127.0.0.2:8080/", DEST_REFUSED);
	expect(d, "http://localhost:8080/", DEST_REFUSED);        /* a name is not the address */
	expect(d, "http://[::1]:9090/", DEST_ALLOWED);
	expect(d, "http://[0:0::1]:9090/", DEST_ALLOWED);
	expect(d, "http://[::1]:9091/", DEST_REFUSED);
	dest_free(d);
	lookups_drained();
}

static void bad_list(const char *list, const char *needle)
{
	struct dest *d = (struct dest *)1;

	why[0] = '\0';
	if (dest_new(list, &d, why, sizeof(why)) != -1)
		fail_msg("\"%s\" accepted", list);
	assert_null(d);
	if (!strstr(why, needle))
		fail_msg("\"%s\": '%s' does not say '%s'", list, why, needle);
}

static void test_malformed_lists(void **state)
{
	char big[2048], cfgerr[512];
	struct cfg c;
	size_t o = 0;
	struct dest *d;

	(void)state;
	assert_int_equal(dest_new("", &d, why, sizeof(why)), 0);
	assert_int_equal(dest_entries(d), 0);
	dest_free(d);
	assert_int_equal(dest_new(NULL, &d, why, sizeof(why)), 0);
	dest_free(d);
	assert_int_equal(dest_new("  ", NULL, why, sizeof(why)), 0);
	assert_int_equal(dest_new("127.0.0.0/8,localhost,app.test:8080,[::1]:9,fd00::/8,10.0.0.1,"
				  "::1:80,xn--bcher-kva.example,a_b.example", NULL, why, sizeof(why)), 0);

	bad_list(",", "empty item");
	bad_list("127.0.0.0/8,", "empty item");
	bad_list("a,,b", "empty item");
	bad_list("127.0.0.0/33", "prefix length 0..32");
	bad_list("::/129", "prefix length 0..128");
	bad_list("10.0.0.0/-1", "prefix length");
	bad_list("10.0.0.0/", "prefix length");
	bad_list("10.0.0.0/8x", "prefix length");
	bad_list("/8", "address before '/'");
	bad_list("127.0.0.1/8", "bits set beyond the prefix /8");
	bad_list("fd00::1/8", "bits set beyond");
	bad_list("localhost/8", "'localhost' is not an IPv4");
	bad_list("127.1", "a.b.c.d");
	bad_list("0x7f000001", "a.b.c.d");
	bad_list("2130706433:80", "a.b.c.d");
	bad_list("host:0", "port 1..65535");
	bad_list("host:65536", "port 1..65535");
	bad_list("host:http", "port 1..65535");
	bad_list("host:", "port 1..65535");
	bad_list("a b", "not an address, a CIDR block or a host name");
	bad_list("*.example.com", "host name");
	bad_list("http://app.example", "not a URL");
	bad_list("app..example", "host name");
	bad_list("[::1]", "[IPv6 address]:port");
	bad_list("[::1]:", "port 1..65535");
	bad_list("[127.0.0.1]:80", "not an IPv6 address");
	bad_list("fe80::1:x:80", "[address]:port");
	bad_list("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", "host name");
	for (int i = 0; i < DEST_ENTRIES_MAX + 1; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, "%s10.0.%d.0/24", i ? "," : "", i);
	bad_list(big, "more than 64 items");

	/* through the configuration: an error that names the key */
	cfg_defaults(&c);
	assert_string_equal(c.delivery_allowed_endpoints, "");
	assert_int_equal(cfg_set(&c, "delivery.allowed-endpoints", "127.0.0.0/8, localhost:8080",
				 cfgerr, sizeof(cfgerr)), 0);
	assert_string_equal(c.delivery_allowed_endpoints, "127.0.0.0/8, localhost:8080");
	assert_int_equal(cfg_set(&c, "delivery.allowed-endpoints", "127.0.0.0/33", cfgerr,
				 sizeof(cfgerr)), -1);
	assert_non_null(strstr(cfgerr, "key 'delivery.allowed-endpoints'"));
	assert_non_null(strstr(cfgerr, "prefix length"));
	assert_string_equal(c.delivery_allowed_endpoints, "127.0.0.0/8, localhost:8080");
	assert_int_equal(cfg_set_option(&c, "delivery.allowed-endpoints=a,,b", cfgerr,
					sizeof(cfgerr)), -1);
	assert_non_null(strstr(cfgerr, "key 'delivery.allowed-endpoints'"));
	assert_int_equal(cfg_set_option(&c, "delivery.allowed-endpoints=", cfgerr, sizeof(cfgerr)), 0);
	assert_string_equal(c.delivery_allowed_endpoints, "");
	{
		char path[] = "/tmp/test_dest.XXXXXX";
		int fd = mkstemp(path);
		FILE *f;

		assert_true(fd >= 0);
		f = fdopen(fd, "w");
		assert_non_null(f);
		fputs("# callbacks\ndelivery.allowed-endpoints = 10.0.0.0/8, 127.1\n", f);
		fclose(f);
		cfg_defaults(&c);
		assert_int_equal(cfg_load_file(&c, path, cfgerr, sizeof(cfgerr)), -1);
		unlink(path);
		assert_non_null(strstr(cfgerr, ":2: "));
		assert_non_null(strstr(cfgerr, "key 'delivery.allowed-endpoints'"));
		assert_non_null(strstr(cfgerr, "item '127.1'"));
	}
}

/* --- lookups ---------------------------------------------------------------------- */

static void test_lookup_time_limit(void **state)
{
	struct dest_url u;
	struct dest_addrs a;
	int64_t t0;

	(void)state;
	parse_ok("http://slow.test/cb", &u);
	fake_delay_ms = 400;
	t0 = mono_ms();
	assert_int_equal(dest_resolve(&u, 50, &a, why, sizeof(why)), -1);
	assert_true(mono_ms() - t0 < 300);
	assert_string_equal(why, "no answer within 50 ms");
	assert_int_equal(dest_check(NULL, &u, 50, NULL, why, sizeof(why)), DEST_UNRESOLVED);
	/* the given-up lookups end by themselves */
	assert_true(dest_lookups_running() >= 1);
	lookups_drained();

	fake_delay_ms = 20;
	assert_int_equal(dest_resolve(&u, 2000, &a, why, sizeof(why)), 0);
	assert_int_equal(a.n, 1);

	parse_ok("http://nowhere.test/cb", &u);
	assert_int_equal(dest_check(NULL, &u, 1000, NULL, why, sizeof(why)), DEST_UNRESOLVED);
	assert_string_equal(why, gai_strerror(EAI_NONAME));
	lookups_drained();
}

/* At most DEST_LOOKUPS_MAX lookups at once, those given up included. */
static void test_lookup_limit(void **state)
{
	struct dest_url u;
	struct dest_addrs a;

	(void)state;
	parse_ok("http://gate.test/cb", &u);
	pthread_mutex_lock(&gate_mu);
	gate_open = false;
	pthread_mutex_unlock(&gate_mu);
	for (int i = 0; i < DEST_LOOKUPS_MAX; i++)
		assert_int_equal(dest_resolve(&u, 1, &a, why, sizeof(why)), -1);
	assert_int_equal(dest_lookups_running(), DEST_LOOKUPS_MAX);
	assert_int_equal(dest_resolve(&u, 1000, &a, why, sizeof(why)), -1);
	assert_string_equal(why, "too many lookups waiting for an answer");
	/* literals need no lookup */
	parse_ok("http://8.8.8.8/", &u);
	assert_int_equal(dest_resolve(&u, 1000, &a, why, sizeof(why)), 0);
	pthread_mutex_lock(&gate_mu);
	gate_open = true;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
	lookups_drained();
	parse_ok("http://gate.test/cb", &u);
	assert_int_equal(dest_resolve(&u, 1000, &a, why, sizeof(why)), 0);
	lookups_drained();
}

/* --- showing endpoints ------------------------------------------------------------- */

static void redacts(const char *url, const char *want)
{
	char out[256];
	char *dup;

	dest_redact(url, out, sizeof(out));
	assert_string_equal(out, want);
	dup = dest_redact_dup(url);
	assert_non_null(dup);
	assert_string_equal(dup, want);
	free(dup);
}

static void test_redact(void **state)
{
	char small[12];

	(void)state;
	redacts("http://user:pass@host/path", "http://***@host/path");
	redacts("HTTPS://u@h.example:8443/p?q=a@b", "HTTPS://***@h.example:8443/p?q=a@b");
	redacts("http://a:b@c@host:81", "http://***@host:81");
	redacts("http://us%40er:p%3Aw@[::1]:9/cb", "http://***@[::1]:9/cb");
	redacts("http://host/p@th", "http://host/p@th");
	redacts("http://host?x=u@v", "http://host?x=u@v");
	redacts("http://host#u@v", "http://host#u@v");
	redacts("http://127.0.0.1:9/cb", "http://127.0.0.1:9/cb");
	redacts("no-scheme@host", "no-scheme@host");
	redacts("", "");
	dest_redact("http://user:secret@host/path", small, sizeof(small));
	assert_string_equal(small, "http://***@");
	dest_redact(NULL, small, sizeof(small));
	assert_string_equal(small, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_ipv4),
		cmocka_unit_test(test_refused_ipv6),
		cmocka_unit_test(test_refused_embedded),
		cmocka_unit_test(test_url_parse),
		cmocka_unit_test(test_numeric_hosts),
		cmocka_unit_test(test_cidr_entries),
		cmocka_unit_test(test_every_address),
		cmocka_unit_test(test_host_entries),
		cmocka_unit_test(test_malformed_lists),
		cmocka_unit_test(test_lookup_time_limit),
		cmocka_unit_test(test_lookup_limit),
		cmocka_unit_test(test_redact),
	};

	return cmocka_run_group_tests_name("dest", tests, setup_fake, teardown_fake);
}
