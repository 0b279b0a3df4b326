/*
 * cfg_keys.c - every configuration key: name, type, default (as text,
 * parsed by the same code as a value from a file), where it lives in
 * struct cfg, bounds, whether a reload can change it, and help (contract
 * section 8). cfg.c parses and sets by this table, cfg_ref.c writes the
 * reference file from it.
 */
#include "cfg_int.h"

#include <stddef.h>

#define FIELD(f) .off = offsetof(struct cfg, f), .size = sizeof(((struct cfg *)0)->f)

const struct cfg_key cfg_keys[] = {
	{ .name = "http.listen", .type = CFG_STRING, .def = "127.0.0.1:8080",
	  FIELD(http_listen), .check = cfg_check_http_listen,
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
	  FIELD(sip_listen), .check = cfg_check_sip_listen,
	  .restart = true,
	  .help = "Local address of the SIP watcher, as host:port or "
		  "[IPv6]:port (port 0..65535; 0 picks a free port)." },
	{ .name = "sip.transport", .type = CFG_ENUM, .def = "udp",
	  FIELD(sip_transport), .values = (const char *const[]){ "udp", "tcp", NULL },
	  .restart = true,
	  .help = "SIP transport toward the presence server." },
	{ .name = "sip.presence-server", .type = CFG_STRING, .def = "sip:127.0.0.1:5060",
	  FIELD(sip_presence_server), .check = cfg_check_presence_server,
	  .restart = true,
	  .help = "SIP URI of the presence server, sip:host[:port][;params]; "
		  "every SUBSCRIBE goes through it [PresenceServerSIPURI]." },
	{ .name = "sip.watcher-uri", .type = CFG_STRING, .def = "",
	  FIELD(sip_watcher_uri), .check = cfg_check_watcher_uri,
	  .restart = true,
	  .help = "From URI of every SUBSCRIBE: a sip: URI with a user part. "
		  "Empty: sip:pxtsgw@<host of sip.listen> (set it when "
		  "sip.listen is a wildcard address)." },
	{ .name = "sip.tel-domain", .type = CFG_STRING, .def = "",
	  FIELD(sip_tel_domain), .check = cfg_check_tel_domain,
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
	{ .name = "policy.max-presence-subscriptions", .type = CFG_INT, .def = "100000",
	  FIELD(policy_max_presence_subscriptions), .min = 0, .max = 100000000,
	  .help = "Long-lived SIP subscriptions (one per watched presentity); a "
		  "startNotification that needs more gets POL0001 (too many "
		  "subscriptions). 0: no limit." },
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
	  FIELD(delivery_allowed_endpoints), .check = cfg_check_allowed_endpoints,
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
	  FIELD(store_path), .check = cfg_check_nonempty,
	  .restart = true,
	  .help = "SQLite database file where the gateway keeps its state; a "
		  "relative path is relative to the working directory." },
	{ .name = "store.tracking-retention-s", .type = CFG_INT, .def = "604800",
	  FIELD(store_tracking_retention_s), .min = 60, .max = 315360000,
	  .help = "How long delivery tracking records (GET /deliveries) are "
		  "kept, in seconds; older ones are deleted in the background." },
	{ .name = "store.usage-retention-s", .type = CFG_INT, .def = "2592000",
	  FIELD(store_usage_retention_s), .min = 60, .max = 315360000,
	  .help = "How long usage records (GET /usage: one per SOAP or REST "
		  "request) are kept, in seconds; older ones are deleted in the "
		  "background." },

	{ .name = "log.level", .type = CFG_ENUM, .def = "info",
	  FIELD(log_level),
	  .values = (const char *const[]){ "error", "warn", "info", "debug", NULL },
	  .help = "Least severe messages written to the log." },
	{ .name = "log.format", .type = CFG_ENUM, .def = "logfmt",
	  FIELD(log_format),
	  .values = (const char *const[]){ "logfmt", "json", NULL },
	  .help = "One line per event: logfmt (key=value pairs: ts, level, "
		  "module, req, app, msg, then fields such as call_id; a value "
		  "with blanks or quotes is quoted and escaped) or json (one JSON "
		  "object per line with the same keys)." },
	{ .name = "log.target", .type = CFG_ENUM, .def = "stderr",
	  FIELD(log_target),
	  .values = (const char *const[]){ "stderr", "syslog", NULL },
	  .help = "Where the log goes: stderr, or syslog(3) with ident pxtsgw "
		  "and facility daemon (the level sets the priority)." },

	{ .name = "run.user", .type = CFG_STRING, .def = "",
	  FIELD(run_user), .check = cfg_check_user,
	  .restart = true,
	  .help = "When started as root: the user to run as once the ports are "
		  "bound and the store is open (with that user's groups); the "
		  "store's files are handed to it (give it the store's directory "
		  "too). Empty: no switch." },
};

const size_t cfg_nkeys = sizeof(cfg_keys) / sizeof(cfg_keys[0]);

const struct cfg_section cfg_sections[] = {
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

const size_t cfg_nsections = sizeof(cfg_sections) / sizeof(cfg_sections[0]);
