/*
 * cfg.c - the configuration table and its parsers (contract section 8).
 *
 * Every key is one row of cfg_keys[]: name, type, default (as text, parsed
 * by the same code as a value from a file), where it lives in struct cfg,
 * bounds and help. cfg_defaults, cfg_set, cfg_load_file and
 * cfg_write_reference all walk that table, so deploy/pxtsgw.conf (the
 * output of cfg_write_reference, checked by tests/unit/test_cfg.c) cannot
 * disagree with the code. Nothing here logs: errors go to the caller's
 * buffer, and the caller decides.
 */
#include "cfg.h"

#include "dest.h"
#include "textfile.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CFG_LINE_MAX 4096       /* longest line of a file, newline excluded */
#define CFG_LIST_ITEMS 16       /* items of a list value (pstat.h agrees) */
#define CFG_LIST_ITEM_MAX 48    /* an item is shorter than this */
#define CFG_WRAP 72             /* columns of the reference file */

enum cfg_type { CFG_STRING, CFG_INT, CFG_BOOL, CFG_ENUM, CFG_LIST };

/* An extra check of a string value; writes why it is wrong. */
typedef int (cfg_check_h)(const char *v, char *why, size_t cap);

struct cfg_key {
	const char *name;
	enum cfg_type type;
	const char *def;             /* default, as it would be written */
	size_t off;                  /* offsetof(struct cfg, field) */
	size_t size;                 /* CFG_STRING, CFG_ENUM, CFG_LIST: field size */
	long min, max;               /* CFG_INT */
	const char *const *values;   /* CFG_ENUM: allowed values, NULL-terminated */
	cfg_check_h *check;          /* CFG_STRING: extra check, or NULL */
	bool restart;                /* a reload keeps the running value */
	const char *help;            /* what it is, units; bounds are added */
};

static cfg_check_h check_http_listen, check_sip_listen, check_presence_server,
	check_watcher_uri, check_tel_domain, check_nonempty, check_user,
	check_allowed_endpoints;

#define FIELD(f) .off = offsetof(struct cfg, f), .size = sizeof(((struct cfg *)0)->f)

static const struct cfg_key cfg_keys[] = {
	{ .name = "http.listen", .type = CFG_STRING, .def = "127.0.0.1:8080",
	  FIELD(http_listen), .check = check_http_listen,
	  .restart = true,
	  .help = "Address the SOAP/HTTP server listens on, as host:port or "
		  "[IPv6]:port (port 1..65535)." },
	{ .name = "http.threads", .type = CFG_INT, .def = "2",
	  FIELD(http_threads), .min = 1, .max = 64,
	  .restart = true,
	  .help = "Worker threads of the HTTP server." },
	{ .name = "http.max-body-bytes", .type = CFG_INT, .def = "1048576",
	  FIELD(http_max_body_bytes), .min = 1024, .max = 67108864,
	  .restart = true,
	  .help = "Largest request body accepted, in bytes: a request whose "
		  "Content-Length is larger gets 413 before its body is read, a "
		  "chunked body that grows larger gets 413 once it is read." },
	{ .name = "http.max-connections", .type = CFG_INT, .def = "1000",
	  FIELD(http_max_connections), .min = 1, .max = 100000,
	  .restart = true,
	  .help = "Most HTTP connections open at once, those waiting for a "
		  "SIP answer included." },
	{ .name = "http.max-connections-per-client", .type = CFG_INT, .def = "100",
	  FIELD(http_max_connections_per_client), .min = 0, .max = 100000,
	  .restart = true,
	  .help = "Most HTTP connections open at once from one client address, "
		  "loopback included, those waiting for a SIP answer included; "
		  "a connection beyond it is closed as soon as it is accepted, "
		  "with no answer. 0: no limit." },
	{ .name = "http.idle-timeout-s", .type = CFG_INT, .def = "30",
	  FIELD(http_idle_timeout_s), .min = 1, .max = 3600,
	  .restart = true,
	  .help = "How long a connection may stay silent, in seconds (nothing "
		  "received or sent: while a request arrives, while its answer "
		  "is sent, between two requests of a kept-alive connection); "
		  "then it is closed. A request waiting for the presence server "
		  "is not cut: that wait ends with its fetches "
		  "(status.fetch-timeout-ms), and the idle time starts again "
		  "when the answer is ready." },
	{ .name = "http.request-timeout-s", .type = CFG_INT, .def = "60",
	  FIELD(http_request_timeout_s), .min = 1, .max = 3600,
	  .restart = true,
	  .help = "Longest time the body of a request may take to arrive, from "
		  "the end of its headers, in seconds; a body still incomplete "
		  "then is dropped with its connection, with no answer. Headers "
		  "alone are bounded by http.idle-timeout-s." },
	{ .name = "http.tls-cert", .type = CFG_STRING, .def = "",
	  FIELD(http_tls_cert),
	  .restart = true,
	  .help = "PEM file of the server's certificate, then the certificates "
		  "of its chain, at most 1 MiB. With http.tls-key the listener "
		  "speaks HTTPS only (TLS 1.2 or 1.3); one without the other "
		  "stops start-up, as does a file that cannot be read or holds "
		  "no certificate. Read once at start, before run.user. Empty: "
		  "plain HTTP." },
	{ .name = "http.tls-key", .type = CFG_STRING, .def = "",
	  FIELD(http_tls_key),
	  .restart = true,
	  .help = "PEM file of the private key of http.tls-cert (not "
		  "encrypted), at most 1 MiB; it must match the certificate. "
		  "Empty: plain HTTP." },

	{ .name = "auth.users-file", .type = CFG_STRING, .def = "",
	  FIELD(auth_users_file),
	  .help = "File of the users (applications) that may call the gateway: "
		  "one user a line, name:hash or name:hash:role, '#' comments. "
		  "The name is made of letters, digits and the characters "
		  "'._-@'; the hash is a crypt(3) string ($y$, $6$ or $2b$, "
		  "e.g. from openssl passwd -6); the role is app (the default) "
		  "or admin. A malformed line stops start-up. Empty: no "
		  "authentication (a warning at start when http.listen is not "
		  "a loopback address)." },

	{ .name = "sip.listen", .type = CFG_STRING, .def = "127.0.0.1:5070",
	  FIELD(sip_listen), .check = check_sip_listen,
	  .restart = true,
	  .help = "Local address of the SIP watcher, as host:port or "
		  "[IPv6]:port (port 0..65535; 0 picks a free port)." },
	{ .name = "sip.transport", .type = CFG_ENUM, .def = "udp",
	  FIELD(sip_transport), .values = (const char *const[]){ "udp", "tcp", NULL },
	  .restart = true,
	  .help = "SIP transport toward the presence server." },
	{ .name = "sip.presence-server", .type = CFG_STRING, .def = "sip:127.0.0.1:5060",
	  FIELD(sip_presence_server), .check = check_presence_server,
	  .restart = true,
	  .help = "SIP URI of the presence server, sip:host[:port][;params]; "
		  "every SUBSCRIBE goes through it [PresenceServerSIPURI]." },
	{ .name = "sip.watcher-uri", .type = CFG_STRING, .def = "",
	  FIELD(sip_watcher_uri), .check = check_watcher_uri,
	  .restart = true,
	  .help = "From URI of every SUBSCRIBE: a sip: URI with a user part. "
		  "Empty: sip:pxtsgw@<host of sip.listen> (set it when "
		  "sip.listen is a wildcard address)." },
	{ .name = "sip.tel-domain", .type = CFG_STRING, .def = "",
	  FIELD(sip_tel_domain), .check = check_tel_domain,
	  .restart = true,
	  .help = "Domain a tel:+N address is mapped to, as "
		  "sip:+N@<domain>;user=phone. Empty: the host of "
		  "sip.presence-server." },
	{ .name = "sip.max-fetches", .type = CFG_INT, .def = "256",
	  FIELD(sip_max_fetches), .min = 1, .max = 100000,
	  .restart = true,
	  .help = "Most status fetches (SUBSCRIBE with Expires: 0) in flight "
		  "at once." },
	{ .name = "sip.subscribe-expires", .type = CFG_INT, .def = "3600",
	  FIELD(sip_subscribe_expires), .min = 60, .max = 86400,
	  .restart = true,
	  .help = "Expires of the long-lived SUBSCRIBE behind notifications, "
		  "in seconds; refreshed before it runs out." },
	{ .name = "sip.resubscribe-give-up-s", .type = CFG_INT, .def = "300",
	  FIELD(sip_resubscribe_give_up_s), .min = 1, .max = 86400,
	  .restart = true,
	  .help = "How long a lost subscription is retried, with backoff, "
		  "before its notifications get statusError, in seconds." },
	{ .name = "sip.keepalive-s", .type = CFG_INT, .def = "5",
	  FIELD(sip_keepalive_s), .min = 0, .max = 3600,
	  .restart = true,
	  .help = "Interval of the OPTIONS sent to the presence server to see "
		  "that it is alive, in seconds (0: none). While it does not "
		  "answer, /health says so; when it answers again, every "
		  "subscription is renewed." },

	{ .name = "status.busy-activities", .type = CFG_LIST, .def = "on-the-phone,busy",
	  FIELD(status_busy_activities),
	  .help = "RPID activities that make a terminal Busy, even when its "
		  "basic status is closed [TerminalBusyRpidActivities]." },
	{ .name = "status.fetch-timeout-ms", .type = CFG_INT, .def = "2000",
	  FIELD(status_fetch_timeout_ms), .min = 100, .max = 60000,
	  .restart = true,
	  .help = "How long a status fetch waits for the presence server's "
		  "answer and NOTIFY, in milliseconds "
		  "[PresenceFetchTimeoutInMillis]." },
	{ .name = "status.group-concurrency", .type = CFG_INT, .def = "32",
	  FIELD(status_group_concurrency), .min = 1, .max = 1000,
	  .help = "Most fetches running at once for one getStatusForGroup "
		  "request." },

	{ .name = "group.file", .type = CFG_STRING, .def = "",
	  FIELD(group_file),
	  .help = "File of address groups: one group per line, the group URI "
		  "then its members, '#' comments. Empty: no groups." },

	{ .name = "policy.group-support", .type = CFG_BOOL, .def = "true",
	  FIELD(policy_group_support),
	  .help = "Whether requests may name group URIs; false refuses them "
		  "with POL0006 [GroupSupport]." },
	{ .name = "policy.nested-groups", .type = CFG_BOOL, .def = "true",
	  FIELD(policy_nested_groups),
	  .help = "Whether a group may contain groups; false refuses such a "
		  "group with POL0007 [NestedGroupSupport]." },
	{ .name = "policy.max-group-targets", .type = CFG_INT, .def = "100",
	  FIELD(policy_max_group_targets), .min = 1, .max = 10000,
	  .help = "Most terminals one request may address, counted after "
		  "group expansion [MaximumTargets]." },
	{ .name = "policy.process-up-to-limit", .type = CFG_BOOL, .def = "true",
	  FIELD(policy_process_up_to_limit),
	  .help = "Beyond policy.max-group-targets, report the extra "
		  "terminals NotRetrieved (true) or refuse the request with "
		  "POL0003 (false) [ProcessUpToLimit]." },
	{ .name = "policy.max-notification-addresses", .type = CFG_INT, .def = "100",
	  FIELD(policy_max_notification_addresses), .min = 1, .max = 10000,
	  .help = "Most terminals one startNotification may watch, counted "
		  "after group expansion; more gives POL0003 "
		  "[MaximumNotificationAddresses]." },
	{ .name = "policy.default-notification-duration-s", .type = CFG_INT, .def = "3600",
	  FIELD(policy_default_notification_duration_s), .min = 1, .max = 31536000,
	  .help = "Duration of a notification whose request has no duration, "
		  "in seconds." },
	{ .name = "policy.max-notification-duration-s", .type = CFG_INT, .def = "86400",
	  FIELD(policy_max_notification_duration_s), .min = 1, .max = 31536000,
	  .help = "Longest duration a startNotification may ask for, in "
		  "seconds; longer gives POL0001." },
	{ .name = "policy.min-notification-interval-ms", .type = CFG_INT, .def = "0",
	  FIELD(policy_min_notification_interval_ms), .min = 0, .max = 86400000,
	  .help = "Smallest frequency a startNotification may ask for, in "
		  "milliseconds; smaller gives POL0009. It bounds requests only: "
		  "it imposes no window [MaximumNotificationFrequency]." },
	{ .name = "policy.max-notification-count", .type = CFG_INT, .def = "1000",
	  FIELD(policy_max_notification_count), .min = 1, .max = 100000000,
	  .help = "Largest count a startNotification may ask for; more gives "
		  "POL0005 [MaximumNotificationCount]." },
	{ .name = "policy.unlimited-count-allowed", .type = CFG_BOOL, .def = "true",
	  FIELD(policy_unlimited_count_allowed),
	  .help = "Whether a startNotification may omit count (or give 0) for "
		  "no limit; false refuses it with POL0004 [UnlimitedCountAllowed]." },
	{ .name = "policy.max-notifications", .type = CFG_INT, .def = "100000",
	  FIELD(policy_max_notifications), .min = 0, .max = 100000000,
	  .help = "Active notifications of all applications together; a "
		  "startNotification over it gives POL0001 (too many "
		  "notifications). 0: no limit." },
	{ .name = "policy.max-notifications-per-app", .type = CFG_INT, .def = "1000",
	  FIELD(policy_max_notifications_per_app), .min = 0, .max = 100000000,
	  .help = "Active notifications of one application; a startNotification "
		  "over it gives POL0001 (too many notifications). 0: no limit." },
	{ .name = "policy.max-requests-per-s", .type = CFG_INT, .def = "0",
	  FIELD(policy_max_requests_per_s), .min = 0, .max = 1000000,
	  .help = "Requests per second of one application (a token bucket "
		  "holding one second's worth); over it a SOAP request gets "
		  "POL0001 (request rate exceeded). 0: no limit." },

	{ .name = "notify.style", .type = CFG_ENUM, .def = "statusNotification",
	  FIELD(notify_style),
	  .values = (const char *const[]){ "statusNotification", "statusChanged", NULL },
	  .help = "Callback style: statusNotification (one call carrying every "
		  "changed address) or statusChanged (one call per address, the "
		  "legacy style)." },

	{ .name = "delivery.max-attempts", .type = CFG_INT, .def = "5",
	  FIELD(delivery_max_attempts), .min = 1, .max = 100,
	  .help = "Attempts per callback, the first included; then the "
		  "callback is recorded as failed." },
	{ .name = "delivery.backoff-ms", .type = CFG_INT, .def = "1000",
	  FIELD(delivery_backoff_ms), .min = 1, .max = 3600000,
	  .help = "Wait before the first retry of a callback, in milliseconds; "
		  "it doubles with each retry." },
	{ .name = "delivery.backoff-max-ms", .type = CFG_INT, .def = "60000",
	  FIELD(delivery_backoff_max_ms), .min = 1, .max = 86400000,
	  .help = "Longest wait between two attempts of a callback, in "
		  "milliseconds." },
	{ .name = "delivery.timeout-ms", .type = CFG_INT, .def = "5000",
	  FIELD(delivery_timeout_ms), .min = 100, .max = 600000,
	  .help = "Connect and response timeout of one callback attempt, in "
		  "milliseconds." },
	{ .name = "delivery.workers", .type = CFG_INT, .def = "4",
	  FIELD(delivery_workers), .min = 1, .max = 256,
	  .restart = true,
	  .help = "Threads sending callbacks; a slow endpoint holds one of "
		  "them per attempt, at most "
		  "delivery.max-in-flight-per-endpoint." },
	{ .name = "delivery.max-in-flight-per-endpoint", .type = CFG_INT, .def = "2",
	  FIELD(delivery_max_in_flight_per_endpoint), .min = 1, .max = 256,
	  .help = "Callback attempts in flight at a time to one endpoint "
		  "(host and port; path and credentials do not count). The "
		  "callbacks of an endpoint at its limit wait, in order, while "
		  "the workers send other endpoints' callbacks." },
	{ .name = "delivery.circuit-failures", .type = CFG_INT, .def = "5",
	  FIELD(delivery_circuit_failures), .min = 1, .max = 10000,
	  .help = "Consecutive failed attempts (connection refused, timeout, "
		  "a non-2xx answer, a SOAP fault...) to one endpoint that open "
		  "its circuit: then no attempt to it for "
		  "delivery.circuit-open-s, then one probe attempt; delivered, "
		  "the circuit closes, else it opens again. Its callbacks wait "
		  "meanwhile (no attempt, no tracking record) and still expire "
		  "by delivery.max-age-s." },
	{ .name = "delivery.circuit-open-s", .type = CFG_INT, .def = "30",
	  FIELD(delivery_circuit_open_s), .min = 1, .max = 86400,
	  .help = "How long an endpoint's open circuit lets no attempt "
		  "through before its probe, in seconds." },
	{ .name = "delivery.max-age-s", .type = CFG_INT, .def = "3600",
	  FIELD(delivery_max_age_s), .min = 1, .max = 31536000,
	  .restart = true,
	  .help = "Oldest a callback may be (from when it was accepted) for "
		  "another attempt, in seconds; an older one is recorded as "
		  "failed ('expired after N s'), also after a restart." },
	{ .name = "delivery.allowed-endpoints", .type = CFG_STRING, .def = "",
	  FIELD(delivery_allowed_endpoints), .check = check_allowed_endpoints,
	  .help = "Callback destinations allowed beyond public unicast "
		  "addresses, a comma list of: CIDR blocks (10.1.0.0/16, "
		  "fd00::/8; an address alone is that one address), host names "
		  "(app.internal: the endpoint's host, case-blind, allows every "
		  "address it resolves to) and host:port (app.internal:8080, "
		  "[::1]:8080; 80 or 443 when the URL has no port). Every "
		  "address an endpoint's host resolves to must be allowed, at "
		  "startNotification (else POL0001) and at each connect. Refused "
		  "unless listed: 0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, "
		  "127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.0.0.0/24, "
		  "192.168.0.0/16, 198.18.0.0/15, 224.0.0.0/3, ::, ::1, "
		  "fc00::/7, fe80::/10, ff00::/8 and the IPv4-mapped, "
		  "IPv4-compatible, NAT64 and 6to4 forms of those IPv4 "
		  "addresses. Empty: public unicast addresses only." },
	{ .name = "delivery.dns-timeout-ms", .type = CFG_INT, .def = "2000",
	  FIELD(delivery_dns_timeout_ms), .min = 100, .max = 60000,
	  .help = "Time limit of the DNS lookup of a callback endpoint's host "
		  "name, in milliseconds: at startNotification, where a name "
		  "that does not resolve in time gives POL0001, and before each "
		  "connect, within delivery.timeout-ms." },
	{ .name = "delivery.ca-file", .type = CFG_STRING, .def = "",
	  FIELD(delivery_ca_file),
	  .restart = true,
	  .help = "PEM file of the certificate authorities trusted for https "
		  "callbacks: an endpoint's certificate must chain to one of "
		  "them and name the endpoint's host (a DNS name, or an IP "
		  "address for an address literal), else the attempt fails "
		  "with a detail starting 'tls: '. Set, only these authorities "
		  "are trusted; a file that cannot be read or holds no "
		  "certificate stops start-up. Empty: the system's bundle "
		  "(OpenSSL's default paths: /etc/ssl/certs on Debian)." },

	{ .name = "store.path", .type = CFG_STRING, .def = "pxtsgw.db",
	  FIELD(store_path), .check = check_nonempty,
	  .restart = true,
	  .help = "SQLite database file where the gateway keeps its state; a "
		  "relative path is relative to the working directory." },
	{ .name = "store.tracking-retention-s", .type = CFG_INT, .def = "604800",
	  FIELD(store_tracking_retention_s), .min = 60, .max = 315360000,
	  .help = "How long delivery tracking records (GET /deliveries) are "
		  "kept, in seconds; older ones are deleted in the background." },

	{ .name = "log.level", .type = CFG_ENUM, .def = "info",
	  FIELD(log_level),
	  .values = (const char *const[]){ "error", "warn", "info", "debug", NULL },
	  .help = "Least severe messages written to stderr." },

	{ .name = "run.user", .type = CFG_STRING, .def = "",
	  FIELD(run_user), .check = check_user,
	  .restart = true,
	  .help = "When started as root: the user to run as once the ports are "
		  "bound and the store is open (with that user's groups); the "
		  "store's files are handed to it (give it the store's directory "
		  "too). Empty: no switch." },
};

#define NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

static const struct {
	const char *name;
	const char *title;
} cfg_sections[] = {
	{ "http", "SOAP/HTTP server" },
	{ "auth", "Authentication" },
	{ "sip", "SIP watcher (toward the presence server)" },
	{ "status", "Presence to terminal status" },
	{ "group", "Address groups" },
	{ "policy", "Policies (IBM TWSS names in brackets)" },
	{ "notify", "Notifications" },
	{ "delivery", "Callback delivery" },
	{ "store", "Persistent state" },
	{ "log", "Logging" },
};

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Narrows [*s, *s + *n) to its part without surrounding blanks. */
static void trim(const char **s, size_t *n)
{
	while (*n && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_blank((*s)[*n - 1]))
		(*n)--;
}

static bool is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9');
}

static bool is_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
	       (ch >= 'A' && ch <= 'F');
}

/* A character that may never appear in a URI we accept. */
static bool uri_bad_char(char ch)
{
	unsigned char u = (unsigned char)ch;

	return u <= 0x20 || u >= 0x7f || ch == '<' || ch == '>' || ch == '"';
}

/* Parses 1..5 decimal digits at s into a port 0..65535; *end after them. */
static int parse_port(const char *s, const char **end, unsigned *port)
{
	unsigned v = 0;
	int n = 0;

	while (s[n] >= '0' && s[n] <= '9') {
		if (n == 5)
			return -1;
		v = v * 10 + (unsigned)(s[n] - '0');
		n++;
	}
	if (n == 0 || v > 65535)
		return -1;
	*end = s + n;
	*port = v;
	return 0;
}

/*
 * Scans a host at s: a name or IPv4 address ([A-Za-z0-9.-]) or a bracketed
 * IPv6 address. *len covers the host as written (brackets included); the
 * address without brackets starts at s + *inner and is *innerlen long.
 */
static int scan_host(const char *s, size_t *len, size_t *inner, size_t *innerlen)
{
	size_t n = 0;

	if (s[0] == '[') {
		bool colon = false;

		n = 1;
		while (is_hex(s[n]) || s[n] == ':' || s[n] == '.') {
			if (s[n] == ':')
				colon = true;
			n++;
		}
		if (s[n] != ']' || !colon)
			return -1;
		*inner = 1;
		*innerlen = n - 1;
		*len = n + 1;
		return 0;
	}
	while (is_alnum(s[n]) || s[n] == '.' || s[n] == '-')
		n++;
	if (n == 0 || s[0] == '.' || s[0] == '-')
		return -1;
	*inner = 0;
	*innerlen = n;
	*len = n;
	return 0;
}

int cfg_split_hostport(const char *hp, char *host, size_t hostcap, unsigned *port)
{
	size_t len, inner, innerlen;
	const char *end;
	unsigned p;

	if (!hp || !host || !hostcap || !port)
		return -1;
	if (scan_host(hp, &len, &inner, &innerlen) < 0)
		return -1;
	if (hp[len] != ':' || parse_port(hp + len + 1, &end, &p) < 0 || *end)
		return -1;
	if (innerlen >= hostcap)
		return -1;
	memcpy(host, hp + inner, innerlen);
	host[innerlen] = '\0';
	*port = p;
	return 0;
}

static int check_hostport(const char *v, unsigned minport, char *why, size_t cap)
{
	char host[CFG_STR_MAX];
	unsigned port;

	if (cfg_split_hostport(v, host, sizeof(host), &port) < 0) {
		text_error(why, cap, "expected host:port or [IPv6]:port");
		return -1;
	}
	if (port < minport) {
		text_error(why, cap, "port must be %u..65535", minport);
		return -1;
	}
	return 0;
}

static int check_http_listen(const char *v, char *why, size_t cap)
{
	return check_hostport(v, 1, why, cap);
}

static int check_sip_listen(const char *v, char *why, size_t cap)
{
	return check_hostport(v, 0, why, cap);
}

/* "sip:" in any case. */
static bool has_sip_scheme(const char *v)
{
	return strncasecmp(v, "sip:", 4) == 0;
}

/*
 * Parses host[:port][;params] to the end of s. On success the host as
 * written (IPv6 brackets kept, as a URI needs them) is copied to host.
 */
static int parse_hostpart(const char *s, char *host, size_t hostcap)
{
	size_t len, inner, innerlen;
	const char *p;
	unsigned port;

	if (scan_host(s, &len, &inner, &innerlen) < 0 || len >= hostcap)
		return -1;
	memcpy(host, s, len);
	host[len] = '\0';
	p = s + len;
	if (*p == ':') {
		if (parse_port(p + 1, &p, &port) < 0 || port == 0)
			return -1;
	}
	if (*p == '\0')
		return 0;
	if (*p != ';' || p[1] == '\0')
		return -1;
	for (p++; *p; p++)
		if (uri_bad_char(*p) || *p == '?' || *p == '@')
			return -1;
	return 0;
}

/* sip:host[:port][;params] -> the host as written in the URI. */
static int parse_server_uri(const char *v, char *host, size_t hostcap)
{
	if (!has_sip_scheme(v))
		return -1;
	return parse_hostpart(v + 4, host, hostcap);
}

static int check_presence_server(const char *v, char *why, size_t cap)
{
	char host[CFG_STR_MAX];

	if (parse_server_uri(v, host, sizeof(host)) < 0) {
		text_error(why, cap, "expected sip:host[:port][;params]");
		return -1;
	}
	return 0;
}

static int check_watcher_uri(const char *v, char *why, size_t cap)
{
	char host[CFG_STR_MAX];
	const char *at, *p;

	if (!*v)
		return 0;
	if (!has_sip_scheme(v)) {
		text_error(why, cap, "expected a sip: URI");
		return -1;
	}
	at = strchr(v + 4, '@');
	if (!at || at == v + 4) {
		text_error(why, cap, "a user part is needed (sip:user@host): "
		       "presence servers refuse a watcher without one");
		return -1;
	}
	for (p = v + 4; p < at; p++) {
		if (uri_bad_char(*p)) {
			text_error(why, cap, "invalid character in the user part");
			return -1;
		}
	}
	if (parse_hostpart(at + 1, host, sizeof(host)) < 0) {
		text_error(why, cap, "expected sip:user@host[:port][;params]");
		return -1;
	}
	return 0;
}

static int check_tel_domain(const char *v, char *why, size_t cap)
{
	size_t len, inner, innerlen;

	if (!*v)
		return 0;
	if (scan_host(v, &len, &inner, &innerlen) < 0 || v[len] != '\0') {
		text_error(why, cap, "expected a host name, an IPv4 address or "
		       "a bracketed IPv6 address");
		return -1;
	}
	return 0;
}

static int check_allowed_endpoints(const char *v, char *why, size_t cap)
{
	return dest_new(v, NULL, why, cap);
}

static int check_nonempty(const char *v, char *why, size_t cap)
{
	if (!*v) {
		text_error(why, cap, "must not be empty");
		return -1;
	}
	return 0;
}

/* run.user: empty, or a user this system knows */
static int check_user(const char *v, char *why, size_t cap)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (!*v)
		return 0;
	if (getpwnam_r(v, &pw, buf, sizeof(buf), &res) != 0 || !res) {
		text_error(why, cap, "no such user");
		return -1;
	}
	return 0;
}

static const struct cfg_key *find_key(const char *name, size_t n)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strlen(cfg_keys[i].name) == n && memcmp(cfg_keys[i].name, name, n) == 0)
			return &cfg_keys[i];
	return NULL;
}

/* Decimal only, optional '-', whole string; 0, or -1 with why. */
static int parse_int(const char *v, long *out, char *why, size_t cap)
{
	const char *p = v;
	char *end;
	long x;

	if (*p == '-')
		p++;
	if (!*p) {
		text_error(why, cap, "not a decimal integer");
		return -1;
	}
	for (; *p; p++) {
		if (*p < '0' || *p > '9') {
			text_error(why, cap, "not a decimal integer");
			return -1;
		}
	}
	errno = 0;
	x = strtol(v, &end, 10);
	if (errno == ERANGE || *end) {
		text_error(why, cap, "out of range");
		return -1;
	}
	*out = x;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0")) {
		*out = false;
		return 0;
	}
	return -1;
}

/* Validates a comma list and writes it without blanks around the items. */
static int parse_list(const char *v, char *out, size_t outcap, char *why, size_t cap)
{
	size_t o = 0;
	int items = 0;
	const char *p = v;

	for (;;) {
		const char *item = p, *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		trim(&item, &n);
		if (n == 0) {
			text_error(why, cap, "empty item in the list");
			return -1;
		}
		if (++items > CFG_LIST_ITEMS) {
			text_error(why, cap, "more than %d items", CFG_LIST_ITEMS);
			return -1;
		}
		if (n >= CFG_LIST_ITEM_MAX) {
			text_error(why, cap, "item longer than %d characters", CFG_LIST_ITEM_MAX - 1);
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			char ch = item[i];

			if (!is_alnum(ch) && ch != '.' && ch != '_' && ch != '-') {
				text_error(why, cap, "items are made of A-Z a-z 0-9 . _ -");
				return -1;
			}
		}
		if (o + n + 2 > outcap) {
			text_error(why, cap, "too long");
			return -1;
		}
		if (o)
			out[o++] = ',';
		memcpy(out + o, item, n);
		o += n;
		out[o] = '\0';
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

/* Sets key k from the value [value, value + vlen) (blanks trimmed here). */
static int set_value(struct cfg *c, const struct cfg_key *k, const char *value,
		     size_t vlen, char *err, size_t cap)
{
	char buf[CFG_LINE_MAX + 1], why[160];
	char *field = (char *)c + k->off;

	why[0] = '\0';
	trim(&value, &vlen);
	if (vlen >= sizeof(buf) || (k->type == CFG_STRING && vlen >= k->size)) {
		text_error(err, cap, "invalid value for key '%s': longer than %zu characters",
		       k->name, (k->type == CFG_STRING ? k->size : sizeof(buf)) - 1);
		return -1;
	}
	memcpy(buf, value, vlen);
	buf[vlen] = '\0';
	for (size_t i = 0; i < vlen; i++) {
		if (((unsigned char)buf[i] < 0x20 && buf[i] != '\t') || buf[i] == 0x7f) {
			text_error(err, cap, "invalid value for key '%s': control character",
			       k->name);
			return -1;
		}
	}

	switch (k->type) {
	case CFG_STRING:
		if (k->check && k->check(buf, why, sizeof(why)) < 0)
			goto bad;
		memcpy(field, buf, vlen + 1);
		return 0;
	case CFG_INT: {
		long x;

		if (parse_int(buf, &x, why, sizeof(why)) < 0)
			goto bad;
		if (x < k->min || x > k->max) {
			text_error(why, sizeof(why), "out of range %ld..%ld", k->min, k->max);
			goto bad;
		}
		memcpy(field, &x, sizeof(x));
		return 0;
	}
	case CFG_BOOL: {
		bool b;

		if (parse_bool(buf, &b) < 0) {
			text_error(why, sizeof(why), "expected true or false");
			goto bad;
		}
		memcpy(field, &b, sizeof(b));
		return 0;
	}
	case CFG_ENUM:
		for (const char *const *v = k->values; *v; v++) {
			if (strcasecmp(buf, *v) == 0) {
				snprintf(field, k->size, "%s", *v);
				return 0;
			}
		}
		{
			size_t o = 0;

			o += (size_t)snprintf(why, sizeof(why), "expected one of");
			for (const char *const *v = k->values; *v && o < sizeof(why); v++)
				o += (size_t)snprintf(why + o, sizeof(why) - o, "%s %s",
						      v == k->values ? "" : ",", *v);
		}
		goto bad;
	case CFG_LIST: {
		char list[CFG_STR_MAX];

		if (parse_list(buf, list, k->size < sizeof(list) ? k->size : sizeof(list),
			       why, sizeof(why)) < 0)
			goto bad;
		snprintf(field, k->size, "%s", list);
		return 0;
	}
	}
bad:
	text_error(err, cap, "invalid value '%s' for key '%s': %s", buf, k->name, why);
	return -1;
}

static int set_kv(struct cfg *c, const char *key, size_t klen, const char *value,
		  size_t vlen, char *err, size_t cap)
{
	const struct cfg_key *k;

	trim(&key, &klen);
	if (klen == 0) {
		text_error(err, cap, "missing key before '='");
		return -1;
	}
	k = find_key(key, klen);
	if (!k) {
		text_error(err, cap, "unknown key '%.*s'", klen > 100 ? 100 : (int)klen, key);
		return -1;
	}
	return set_value(c, k, value, vlen, err, cap);
}

void cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NKEYS; i++) {
		/* Cannot fail: test_cfg checks every default. */
		if (set_value(c, &cfg_keys[i], cfg_keys[i].def, strlen(cfg_keys[i].def),
			      NULL, 0) < 0)
			abort();
	}
}

int cfg_set(struct cfg *c, const char *key, const char *value, char *err, size_t cap)
{
	if (!key || !value) {
		text_error(err, cap, "missing key or value");
		return -1;
	}
	return set_kv(c, key, strlen(key), value, strlen(value), err, cap);
}

int cfg_set_option(struct cfg *c, const char *kv, char *err, size_t cap)
{
	const char *eq = kv ? strchr(kv, '=') : NULL;

	if (!eq) {
		text_error(err, cap, "option '%.100s': expected KEY=VALUE", kv ? kv : "");
		return -1;
	}
	return set_kv(c, kv, (size_t)(eq - kv), eq + 1, strlen(eq + 1), err, cap);
}

int cfg_load_file(struct cfg *c, const char *path, char *err, size_t cap)
{
	char line[CFG_LINE_MAX + 1], why[CFG_STR_MAX + 300];
	unsigned lineno = 0;
	size_t len;
	FILE *f;
	int r, rc = -1;

	if (!path || !*path) {
		text_error(err, cap, "no configuration file named");
		return -1;
	}
	f = fopen(path, "r");
	if (!f) {
		text_error(err, cap, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	while ((r = text_read_line(f, line, sizeof(line), &len)) == 1) {
		const char *s = line, *eq;

		lineno++;
		trim(&s, &len);
		if (len == 0 || s[0] == '#')
			continue;
		eq = memchr(s, '=', len);
		if (!eq) {
			text_error(err, cap, "%s:%u: expected 'key = value', got '%.*s'",
			       path, lineno, len > 100 ? 100 : (int)len, s);
			goto out;
		}
		if (set_kv(c, s, (size_t)(eq - s), eq + 1, len - (size_t)(eq + 1 - s),
			   why, sizeof(why)) < 0) {
			text_error(err, cap, "%s:%u: %s", path, lineno, why);
			goto out;
		}
	}
	if (r == -1)
		text_error(err, cap, "%s:%u: line longer than %d characters", path, lineno + 1,
		       CFG_LINE_MAX);
	else if (r == -2)
		text_error(err, cap, "%s:%u: NUL byte in the line", path, lineno + 1);
	else if (r == -3)
		text_error(err, cap, "%s: read error: %s", path, strerror(errno));
	else
		rc = 0;
out:
	fclose(f);
	return rc;
}

int cfg_finish(struct cfg *c, char *err, size_t cap)
{
	char host[CFG_STR_MAX], why[160];
	unsigned port;
	int n;

	/* The checks cfg_set made, again: the caller may have written c. */
	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		const char *v = (const char *)c + k->off;

		if (k->type != CFG_STRING || !k->check)
			continue;
		if (!memchr(v, '\0', k->size)) {
			text_error(err, cap, "invalid value for key '%s': not terminated", k->name);
			return -1;
		}
		if (k->check(v, why, sizeof(why)) < 0) {
			text_error(err, cap, "invalid value '%s' for key '%s': %s", v, k->name, why);
			return -1;
		}
	}

	if (c->policy_default_notification_duration_s > c->policy_max_notification_duration_s) {
		text_error(err, cap, "invalid value %ld for key 'policy.default-notification-duration-s': "
		       "above policy.max-notification-duration-s (%ld)",
		       c->policy_default_notification_duration_s, c->policy_max_notification_duration_s);
		return -1;
	}
	if (c->delivery_backoff_max_ms < c->delivery_backoff_ms) {
		text_error(err, cap, "invalid value %ld for key 'delivery.backoff-max-ms': below "
		       "delivery.backoff-ms (%ld)", c->delivery_backoff_max_ms, c->delivery_backoff_ms);
		return -1;
	}

	if (!c->http_tls_cert[0] != !c->http_tls_key[0]) {
		const char *set = c->http_tls_cert[0] ? "http.tls-cert" : "http.tls-key";
		const char *unset = c->http_tls_cert[0] ? "http.tls-key" : "http.tls-cert";

		text_error(err, cap, "key '%s' is set but '%s' is not: HTTPS needs both "
			   "(leave both empty for plain HTTP)", set, unset);
		return -1;
	}

	if (!c->sip_watcher_uri[0]) {
		if (cfg_split_hostport(c->sip_listen, host, sizeof(host), &port) < 0) {
			text_error(err, cap, "invalid value for key 'sip.listen'");
			return -1;      /* not reached: checked above */
		}
		n = snprintf(c->sip_watcher_uri, sizeof(c->sip_watcher_uri),
			     strchr(host, ':') ? "sip:pxtsgw@[%s]" : "sip:pxtsgw@%s", host);
		if (n < 0 || (size_t)n >= sizeof(c->sip_watcher_uri)) {
			c->sip_watcher_uri[0] = '\0';
			text_error(err, cap, "sip.watcher-uri derived from sip.listen is too long");
			return -1;
		}
	}
	if (!c->sip_tel_domain[0]) {
		if (parse_server_uri(c->sip_presence_server, host, sizeof(host)) < 0) {
			text_error(err, cap, "invalid value for key 'sip.presence-server'");
			return -1;      /* not reached: checked above */
		}
		snprintf(c->sip_tel_domain, sizeof(c->sip_tel_domain), "%s", host);
	}
	return 0;
}

static bool key_differs(const struct cfg *a, const struct cfg *b, const struct cfg_key *k)
{
	const char *fa = (const char *)a + k->off, *fb = (const char *)b + k->off;

	switch (k->type) {
	case CFG_INT:
		return memcmp(fa, fb, sizeof(long)) != 0;
	case CFG_BOOL:
		return *(const bool *)fa != *(const bool *)fb;
	case CFG_STRING:
	case CFG_ENUM:
	case CFG_LIST:
		break;
	}
	return strncmp(fa, fb, k->size) != 0;
}

size_t cfg_keep_restart_keys(struct cfg *next, const struct cfg *running,
			     cfg_changed_h *report, void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];

		if (!k->restart || !key_differs(next, running, k))
			continue;
		if (report)
			report(k->name, arg);
		memcpy((char *)next + k->off, (const char *)running + k->off,
		       k->type == CFG_INT ? sizeof(long) : k->type == CFG_BOOL ? sizeof(bool) : k->size);
		n++;
	}
	return n;
}

size_t cfg_changed_keys(const struct cfg *next, const struct cfg *running, cfg_changed_h *report,
			void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < NKEYS; i++) {
		if (!key_differs(next, running, &cfg_keys[i]))
			continue;
		if (report)
			report(cfg_keys[i].name, arg);
		n++;
	}
	return n;
}

/* Writes text as "# " lines of at most CFG_WRAP columns. */
static void write_wrapped(FILE *out, const char *text)
{
	const char *p = text;
	size_t col = 0;

	while (*p) {
		size_t w;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		w = strcspn(p, " ");
		if (col && col + 1 + w > CFG_WRAP) {
			fputc('\n', out);
			col = 0;
		}
		if (col == 0) {
			fputs("#", out);
			col = 1;
		}
		fprintf(out, " %.*s", (int)w, p);
		col += 1 + w;
		p += w;
	}
	if (col)
		fputc('\n', out);
}

static void write_key(FILE *out, const struct cfg_key *k)
{
	char text[1024];
	size_t o;

	o = (size_t)snprintf(text, sizeof(text), "%s", k->help);
	switch (k->type) {
	case CFG_INT:
		snprintf(text + o, sizeof(text) - o, " Integer, %ld..%ld.", k->min, k->max);
		break;
	case CFG_BOOL:
		snprintf(text + o, sizeof(text) - o, " Boolean: true or false.");
		break;
	case CFG_ENUM:
		o += (size_t)snprintf(text + o, sizeof(text) - o, " One of:");
		for (const char *const *v = k->values; *v && o < sizeof(text); v++)
			o += (size_t)snprintf(text + o, sizeof(text) - o, " %s%s", *v,
					      v[1] ? "," : ".");
		break;
	case CFG_LIST:
		snprintf(text + o, sizeof(text) - o,
			 " Comma-separated, 1..%d items of A-Z a-z 0-9 . _ - "
			 "(each under %d characters).", CFG_LIST_ITEMS, CFG_LIST_ITEM_MAX);
		break;
	case CFG_STRING:
		break;
	}
	if (k->restart) {
		o = strlen(text);
		snprintf(text + o, sizeof(text) - o, " A reload (SIGHUP) keeps the running "
			 "value: a change needs a restart.");
	}
	write_wrapped(out, text);
	if (*k->def)
		fprintf(out, "# %s = %s\n", k->name, k->def);
	else
		fprintf(out, "# %s =\n", k->name);
}

/* Length of the section prefix of a key ("http" of "http.listen"). */
static size_t section_len(const char *key)
{
	return strcspn(key, ".");
}

static const char *section_title(const char *key)
{
	size_t n = section_len(key);

	for (size_t s = 0; s < sizeof(cfg_sections) / sizeof(cfg_sections[0]); s++)
		if (strlen(cfg_sections[s].name) == n && !strncmp(cfg_sections[s].name, key, n))
			return cfg_sections[s].title;
	return NULL;
}

static bool same_section(const char *a, const char *b)
{
	size_t n = section_len(a);

	return section_len(b) == n && strncmp(a, b, n) == 0;
}

void cfg_write_reference(FILE *out)
{
	static const char header[] =
		"# pxtsgw.conf - reference configuration of pxtsgw, the Parlay X\n"
		"# Terminal Status gateway.\n"
		"#\n"
		"# Written by cfg_write_reference() from the key table in src/cfg.c;\n"
		"# tests/unit/test_cfg.c checks that this file is exactly that output\n"
		"# (regenerate it with: build/plain/tests/test_cfg --write-reference).\n"
		"# Every key is listed with its default, commented out.\n"
		"#\n"
		"# Format: \"key = value\", one per line; blanks around key and value\n"
		"# are ignored. '#' starts a comment only at the start of a line, so a\n"
		"# '#' inside a value is kept. Booleans are true or false (yes/no/1/0\n"
		"# accepted); durations are integers in the unit the key ends with\n"
		"# (-ms, -s); lists are comma-separated. An unknown key or an invalid\n"
		"# value stops start-up. Any key can also be set with -o key=value.\n"
		"#\n"
		"# SIGHUP reloads: the configuration is built again as at start (the\n"
		"# defaults, this file, the -o options) and the users and group files\n"
		"# are read again; a result that would stop a start is refused as a\n"
		"# whole and the running configuration stays. Keys whose text says\n"
		"# so need a restart: a reload keeps their running value.\n";

	fputs(header, out);
	/* Sections in the order they first appear in the table. */
	for (size_t i = 0; i < NKEYS; i++) {
		const char *title;
		size_t j;

		for (j = 0; j < i; j++)
			if (same_section(cfg_keys[j].name, cfg_keys[i].name))
				break;
		if (j < i)
			continue;
		title = section_title(cfg_keys[i].name);
		fprintf(out, "\n# ---- %.*s%s%s\n", (int)section_len(cfg_keys[i].name),
			cfg_keys[i].name, title ? ": " : "", title ? title : "");
		for (j = i; j < NKEYS; j++) {
			if (!same_section(cfg_keys[j].name, cfg_keys[i].name))
				continue;
			fputc('\n', out);
			write_key(out, &cfg_keys[j]);
		}
	}
}
