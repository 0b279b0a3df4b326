/*
 * dest.h - callback destinations (contract section 11): which endpoints
 * the gateway may send callbacks to.
 *
 * An endpoint's host is resolved and every address it resolves to must be
 * a public unicast address (outside the default refusal list below) or
 * inside an entry of delivery.allowed-endpoints. That key is a comma list
 * of entries:
 *   CIDR blocks   10.1.0.0/16, 127.0.0.0/8, fd00::/8 (an address alone is
 *                 a /32 or /128): match resolved addresses; an IPv4 block
 *                 also matches the IPv4-mapped form (::ffff:a.b.c.d) of its
 *                 addresses
 *   host          app.internal: the endpoint's host, compared case-blind
 *                 and without a trailing dot, allows every address it
 *                 resolves to
 *   host:port     app.internal:8080, 127.0.0.1:8080, [::1]:8080: the same,
 *                 for that port only (80 or 443 when the URL has none); an
 *                 address literal matches an endpoint whose host denotes
 *                 that address
 *
 * Refused by default: 0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8,
 * 169.254.0.0/16, 172.16.0.0/12, 192.0.0.0/24, 192.168.0.0/16,
 * 198.18.0.0/15, 224.0.0.0/3, ::, ::1, fc00::/7, fe80::/10, ff00::/8, and
 * the IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96), NAT64
 * (64:ff9b::/96) and 6to4 (2002::/16) forms of refused IPv4 addresses.
 *
 * A host written as a number (127.1, 2130706433, 0x7f000001, 0177.0.0.1:
 * what inet_aton reads) is the address it denotes, never a name to look
 * up. A name is looked up with getaddrinfo under a time limit (dest.c says
 * how). Everything here is pure but dest_resolve / dest_check of a name,
 * which block the calling thread up to the time limit: call them from an
 * HTTP thread or a delivery worker, never from the SIP thread.
 *
 * A struct dest is immutable once made and may be shared by threads.
 * NULL stands for the empty allow list (the default refusals only).
 */
#ifndef PXTSGW_DEST_H
#define PXTSGW_DEST_H

#include <stdbool.h>
#include <stddef.h>
#include <netdb.h>
#include <sys/socket.h>

#define DEST_HOST_MAX 256       /* a host as written, NUL included */
#define DEST_ADDRS_MAX 32       /* addresses of one name; more are refused */
#define DEST_ENTRIES_MAX 64     /* entries of delivery.allowed-endpoints */
#define DEST_LOOKUPS_MAX 64     /* name lookups running at once, those given up included */
#define DEST_DNS_TIMEOUT_MS 2000 /* a lookup's time limit when none is given
				  * (delivery.dns-timeout-ms has the same default) */

struct dest;

/* Parses delivery.allowed-endpoints (NULL or "" = no entry). Returns 0
 * with *out (NULL when out is NULL: only checks), or -1 with why (cap
 * bytes) saying which item is wrong and how. */
int dest_new(const char *list, struct dest **out, char *why, size_t cap);
/* A set is reference counted (it is immutable, so it may be shared: the
 * SOAP side and delivery each hold one while a reload replaces it):
 * dest_ref takes one more reference (and returns d), dest_free gives one
 * back and frees the set with the last. NULL is fine for both. */
struct dest *dest_ref(const struct dest *d);
void dest_free(struct dest *d);
size_t dest_entries(const struct dest *d);

enum dest_host_kind { DEST_NAME, DEST_IPV4, DEST_IPV6 };

/* An endpoint URL taken apart. */
struct dest_url {
	bool https;
	unsigned port;                 /* as written, else 80 (http) or 443 (https) */
	bool has_userinfo;             /* user[:password]@ before the host */
	char host[DEST_HOST_MAX];      /* as written (an IPv6 literal with its brackets) */
	char name[DEST_HOST_MAX];      /* what is looked up and compared: no
					* brackets; a name in lower case,
					* without its trailing dot */
	enum dest_host_kind kind;
	unsigned char addr[16];        /* DEST_IPV4 (4 bytes) or DEST_IPV6: the address */
};

/* Takes an absolute http or https URL apart (scheme in any case). Returns
 * 0, or -1 when it is not one with a host: another scheme, no host, a port
 * that is not 1..65535, brackets around something that is not an IPv6
 * address, a host longer than DEST_HOST_MAX - 1. */
int dest_url_parse(const char *url, struct dest_url *u);

/* Addresses a host resolved to, with the URL's port. */
struct dest_addrs {
	size_t n;
	struct sockaddr_storage a[DEST_ADDRS_MAX];
	socklen_t len[DEST_ADDRS_MAX];
};

/* Resolves u's host: an address literal at once, a name with getaddrinfo
 * waited for at most timeout_ms. Returns 0 with at least one address, or
 * -1 with why ("no answer within 2000 ms", gai_strerror's text, ...). */
int dest_resolve(const struct dest_url *u, long timeout_ms, struct dest_addrs *out,
		 char *why, size_t cap);

/* Whether an address is in the default refusal list (port ignored). */
bool dest_refused_by_default(const struct sockaddr *sa);

/* Whether callbacks to u may go to the address sa (one u resolved to):
 * a host entry matches u, or sa is outside the refusal list, or inside a
 * CIDR entry. */
bool dest_addr_allowed(const struct dest *d, const struct dest_url *u, const struct sockaddr *sa);

enum dest_verdict { DEST_ALLOWED, DEST_REFUSED, DEST_UNRESOLVED };

/* The whole check: resolves u (dest_resolve) and allows it only when
 * every address is allowed. out (may be NULL) receives the addresses
 * when allowed; why says what went wrong otherwise. */
enum dest_verdict dest_check(const struct dest *d, const struct dest_url *u, long timeout_ms,
			     struct dest_addrs *out, char *why, size_t cap);

/* url as it may be shown (logs, /notifications, /deliveries): credentials
 * before the host become "***" ("user:pw@host" shows as "***@host"). Always
 * NUL-terminates out (cap > 0). dest_redact_dup: malloc'd, NULL when out
 * of memory. */
void dest_redact(const char *url, char *out, size_t cap);
char *dest_redact_dup(const char *url);

/* Formats an address as text ("127.0.0.1", "::1"), port ignored. */
void dest_addr_text(const struct sockaddr *sa, char *out, size_t cap);

/* For tests: replaces getaddrinfo (NULL: getaddrinfo again), and the
 * number of lookups still running (those given up included). */
typedef int (dest_lookup_h)(const char *name, const struct addrinfo *hints, struct addrinfo **res);
void dest_set_lookup(dest_lookup_h *fn);
int dest_lookups_running(void);

#endif
