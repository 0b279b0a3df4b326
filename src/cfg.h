/*
 * cfg.h - pxtsgw configuration: one table (cfg.c) defines every key with its
 * type, default, bounds and help text; values land in struct cfg.
 *
 * Conventions (contract section 8): "key = value" lines; '#' starts a
 * comment only at the start of a line (after optional blanks); booleans are
 * true/false (yes/no/1/0 accepted); durations are integers in the unit the
 * key name ends with (-ms, -s); lists are comma-separated. An unknown key or
 * an invalid value is an error that names the key.
 */
#ifndef PXTSGW_CFG_H
#define PXTSGW_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CFG_STR_MAX 512
#define CFG_ENDPOINTS_MAX 2048   /* delivery.allowed-endpoints */

struct cfg {
	/* http */
	char http_listen[CFG_STR_MAX];       /* http.listen host:port */
	long http_threads;                   /* http.threads */
	long http_max_body_bytes;            /* http.max-body-bytes */
	long http_max_connections;           /* http.max-connections */
	/* auth */
	char auth_users_file[CFG_STR_MAX];   /* auth.users-file ("" = no authentication) */
	long http_max_connections_per_client; /* http.max-connections-per-client (0 = no limit) */
	long http_idle_timeout_s;            /* http.idle-timeout-s */
	long http_request_timeout_s;         /* http.request-timeout-s */
	char http_tls_cert[CFG_STR_MAX];     /* http.tls-cert ("" = plain HTTP) */
	char http_tls_key[CFG_STR_MAX];      /* http.tls-key (with http.tls-cert) */
	/* sip */
	char sip_listen[CFG_STR_MAX];        /* sip.listen host:port */
	char sip_transport[8];               /* sip.transport udp|tcp */
	char sip_presence_server[CFG_STR_MAX]; /* sip.presence-server */
	char sip_watcher_uri[CFG_STR_MAX];   /* sip.watcher-uri ("" = derived) */
	char sip_tel_domain[CFG_STR_MAX];    /* sip.tel-domain ("" = derived) */
	long sip_max_fetches;                /* sip.max-fetches: in flight at once */
	long sip_subscribe_expires;          /* sip.subscribe-expires (s) */
	long sip_resubscribe_give_up_s;      /* sip.resubscribe-give-up-s */
	long sip_keepalive_s;                /* sip.keepalive-s */
	/* status */
	char status_busy_activities[CFG_STR_MAX]; /* status.busy-activities */
	long status_fetch_timeout_ms;        /* status.fetch-timeout-ms */
	long status_group_concurrency;       /* status.group-concurrency */
	/* groups and policies */
	char group_file[CFG_STR_MAX];        /* group.file ("" = no groups) */
	bool policy_group_support;           /* policy.group-support */
	bool policy_nested_groups;           /* policy.nested-groups */
	long policy_max_group_targets;       /* policy.max-group-targets */
	bool policy_process_up_to_limit;     /* policy.process-up-to-limit */
	long policy_max_notification_addresses;   /* policy.max-notification-addresses */
	long policy_default_notification_duration_s; /* policy.default-notification-duration-s */
	long policy_max_notification_duration_s;  /* policy.max-notification-duration-s */
	long policy_min_notification_interval_ms; /* policy.min-notification-interval-ms */
	long policy_max_notification_count;       /* policy.max-notification-count */
	bool policy_unlimited_count_allowed;      /* policy.unlimited-count-allowed */
	long policy_max_notifications;            /* policy.max-notifications (0: no limit) */
	long policy_max_notifications_per_app;    /* policy.max-notifications-per-app (0: no limit) */
	long policy_max_presence_subscriptions;   /* policy.max-presence-subscriptions (0: no limit) */
	long policy_max_requests_per_s;           /* policy.max-requests-per-s (0: no limit) */
	/* notify, delivery */
	char notify_style[32];               /* notify.style statusNotification|statusChanged */
	long delivery_max_attempts;          /* delivery.max-attempts */
	long delivery_backoff_ms;            /* delivery.backoff-ms */
	long delivery_backoff_max_ms;        /* delivery.backoff-max-ms */
	long delivery_timeout_ms;            /* delivery.timeout-ms */
	long delivery_workers;               /* delivery.workers */
	long delivery_max_in_flight_per_endpoint; /* delivery.max-in-flight-per-endpoint */
	long delivery_circuit_failures;      /* delivery.circuit-failures */
	long delivery_circuit_open_s;        /* delivery.circuit-open-s */
	long delivery_max_age_s;             /* delivery.max-age-s */
	char delivery_allowed_endpoints[CFG_ENDPOINTS_MAX]; /* delivery.allowed-endpoints ("" = none) */
	long delivery_dns_timeout_ms;        /* delivery.dns-timeout-ms */
	char delivery_ca_file[CFG_STR_MAX];  /* delivery.ca-file ("" = the system's CAs) */
	/* store, log */
	char store_path[CFG_STR_MAX];        /* store.path */
	long store_tracking_retention_s;     /* store.tracking-retention-s */
	long store_usage_retention_s;        /* store.usage-retention-s */
	char log_level[16];                  /* log.level error|warn|info|debug */
	char log_format[16];                 /* log.format logfmt|json */
	char log_target[16];                 /* log.target stderr|syslog */
	char run_user[CFG_STR_MAX];          /* run.user ("" = no switch) */
};

/* Fills c with every default. */
void cfg_defaults(struct cfg *c);

/* Sets one key from its text value. Returns 0, or -1 with a message that
 * names the key written to err ("unknown key 'x'", "invalid value 'y' for
 * key 'x': ..."). */
int cfg_set(struct cfg *c, const char *key, const char *value, char *err, size_t cap);

/* Parses "KEY=VALUE" (as given to -o) and sets it. */
int cfg_set_option(struct cfg *c, const char *kv, char *err, size_t cap);

/* Reads a configuration file. Errors name the file, line and key. */
int cfg_load_file(struct cfg *c, const char *path, char *err, size_t cap);

/* Checks values that depend on each other (http.tls-cert and
 * http.tls-key: both or neither) and fills derived defaults
 * (sip.watcher-uri = sip:pxtsgw@<sip.listen host>, sip.tel-domain = the
 * presence server's host). Returns 0 or -1 with err set. */
int cfg_finish(struct cfg *c, char *err, size_t cap);

/* A reload (contract section 8, Reload): the keys that need a restart
 * (listen addresses, threads, TLS files, store.path, ...) keep their
 * running value. For each such key whose value in next differs from
 * running, report(name, arg) is called (NULL: none) and running's value
 * is copied into next. Returns how many. Call after cfg_finish on both. */
typedef void (cfg_changed_h)(const char *key, void *arg);
size_t cfg_keep_restart_keys(struct cfg *next, const struct cfg *running,
			     cfg_changed_h *report, void *arg);

/* Calls report(name, arg) for every key whose value differs between next
 * and running (NULL: none); returns how many. */
size_t cfg_changed_keys(const struct cfg *next, const struct cfg *running, cfg_changed_h *report,
			void *arg);

/* Writes every key with its default and help as a commented config file
 * (the source of deploy/pxtsgw.conf, checked by a unit test). */
void cfg_write_reference(FILE *out);

/* Splits "host:port" ("[v6]:port" too). Returns 0 or -1. */
int cfg_split_hostport(const char *hp, char *host, size_t hostcap, unsigned *port);

#endif
