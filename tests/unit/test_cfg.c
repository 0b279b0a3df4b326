/*
 * test_cfg.c - the configuration table, its parsers and deploy/pxtsgw.conf.
 *
 * Run with --write-reference to rewrite deploy/pxtsgw.conf from the table
 * (after adding or changing a key); the test then checks they agree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"

#define CONF(name) TEST_DATA_DIR "/conf/" name
#define REFERENCE SRC_DIR "/deploy/pxtsgw.conf"

static char err[1024];

/* Writes text to a new temporary file; the caller unlinks it. */
static void write_tmp(char *path, size_t cap, const char *text, size_t len)
{
	int fd;

	snprintf(path, cap, "/tmp/pxtsgw-test-cfg-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static char *reference_text(size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);

	assert_non_null(m);
	cfg_write_reference(m);
	fclose(m);
	if (len)
		*len = n;
	return buf;
}

static void assert_cfg_equal(const struct cfg *a, const struct cfg *b)
{
	assert_string_equal(a->http_listen, b->http_listen);
	assert_int_equal(a->http_threads, b->http_threads);
	assert_int_equal(a->http_max_body_bytes, b->http_max_body_bytes);
	assert_int_equal(a->http_max_connections, b->http_max_connections);
	assert_string_equal(a->auth_users_file, b->auth_users_file);
	assert_int_equal(a->http_max_connections_per_client, b->http_max_connections_per_client);
	assert_int_equal(a->http_idle_timeout_s, b->http_idle_timeout_s);
	assert_int_equal(a->http_request_timeout_s, b->http_request_timeout_s);
	assert_string_equal(a->sip_listen, b->sip_listen);
	assert_string_equal(a->sip_transport, b->sip_transport);
	assert_string_equal(a->sip_presence_server, b->sip_presence_server);
	assert_string_equal(a->sip_watcher_uri, b->sip_watcher_uri);
	assert_string_equal(a->sip_tel_domain, b->sip_tel_domain);
	assert_int_equal(a->sip_max_fetches, b->sip_max_fetches);
	assert_string_equal(a->status_busy_activities, b->status_busy_activities);
	assert_int_equal(a->status_fetch_timeout_ms, b->status_fetch_timeout_ms);
	assert_int_equal(a->status_group_concurrency, b->status_group_concurrency);
	assert_string_equal(a->group_file, b->group_file);
	assert_int_equal(a->policy_group_support, b->policy_group_support);
	assert_int_equal(a->policy_nested_groups, b->policy_nested_groups);
	assert_int_equal(a->policy_max_group_targets, b->policy_max_group_targets);
	assert_int_equal(a->policy_process_up_to_limit, b->policy_process_up_to_limit);
	assert_string_equal(a->store_path, b->store_path);
	assert_string_equal(a->log_level, b->log_level);
}

static void test_defaults(void **state)
{
	struct cfg c;

	(void)state;
	memset(&c, 0x5a, sizeof(c));
	cfg_defaults(&c);
	assert_string_equal(c.http_listen, "127.0.0.1:8080");
	assert_int_equal(c.http_threads, 2);
	assert_int_equal(c.http_max_body_bytes, 1048576);
	assert_int_equal(c.http_max_connections, 1000);
	assert_string_equal(c.auth_users_file, "");
	assert_int_equal(c.http_max_connections_per_client, 100);
	assert_int_equal(c.http_idle_timeout_s, 30);
	assert_int_equal(c.http_request_timeout_s, 60);
	assert_string_equal(c.sip_listen, "127.0.0.1:5070");
	assert_string_equal(c.sip_transport, "udp");
	assert_string_equal(c.sip_presence_server, "sip:127.0.0.1:5060");
	assert_string_equal(c.sip_watcher_uri, "");
	assert_string_equal(c.sip_tel_domain, "");
	assert_int_equal(c.sip_max_fetches, 256);
	assert_string_equal(c.status_busy_activities, "on-the-phone,busy");
	assert_int_equal(c.status_fetch_timeout_ms, 2000);
	assert_int_equal(c.status_group_concurrency, 32);
	assert_string_equal(c.group_file, "");
	assert_true(c.policy_group_support);
	assert_true(c.policy_nested_groups);
	assert_int_equal(c.policy_max_group_targets, 100);
	assert_true(c.policy_process_up_to_limit);
	assert_string_equal(c.store_path, "pxtsgw.db");
	assert_string_equal(c.log_level, "info");
}

/*
 * The defaults against an independent source: the values below are copied
 * by hand from the contract (docs/terminal-status.md and the newer
 * /work/shared/spec/terminal-status.md, which agree on them), section 8's
 * key table and section 7's text, and are not read from cfg.c or from the
 * markdown. When the code and the contract disagree, this test fails: fix
 * the code or the contract, not this table.
 */
struct written_default {
	const char *key;
	const char *value;      /* as written in the source ("" = empty) */
};

static const struct written_default contract_defaults[] = {
	/* section 8 */
	{ "status.busy-activities", "on-the-phone,busy" },
	{ "status.fetch-timeout-ms", "2000" },
	{ "sip.presence-server", "sip:127.0.0.1:5060" },
	{ "policy.group-support", "true" },
	{ "policy.nested-groups", "true" },
	{ "policy.max-group-targets", "100" },
	{ "policy.process-up-to-limit", "true" },
	{ "policy.max-notification-addresses", "100" },
	{ "policy.default-notification-duration-s", "3600" },
	{ "policy.max-notification-duration-s", "86400" },
	{ "policy.min-notification-interval-ms", "0" },
	{ "policy.max-notification-count", "1000" },
	{ "policy.unlimited-count-allowed", "true" },
	{ "notify.style", "statusNotification" },
	{ "delivery.max-attempts", "5" },
	{ "delivery.backoff-ms", "1000" },
	{ "delivery.backoff-max-ms", "60000" },
	{ "delivery.timeout-ms", "5000" },
	/* sections 8 and 11: "(empty: public unicast only)" */
	{ "delivery.allowed-endpoints", "" },
	/* section 7: "one long-lived SUBSCRIBE per presentity (Expires from
	 * config, default 3600)" */
	{ "sip.subscribe-expires", "3600" },
	/* section 11: "auth.users-file, empty by default = no authentication" */
	{ "auth.users-file", "" },
	/* sections 8 and 11: "connections from one client address (loopback
	 * included); 0 = unlimited" */
	{ "http.max-connections-per-client", "100" },
	/* section 8: active notifications of all applications together, and
	 * long-lived SIP subscriptions */
	{ "policy.max-notifications", "100000" },
	{ "policy.max-presence-subscriptions", "100000" },
	/* section 13: usage records are kept 30 days */
	{ "store.usage-retention-s", "2592000" },
	/* section 11: quotas per application */
	{ "policy.max-notifications-per-app", "1000" },
	{ "policy.max-requests-per-s", "0" },
	/* section 11: "http.tls-cert, http.tls-key: (empty: plain HTTP)" */
	{ "http.tls-cert", "" },
	{ "http.tls-key", "" },
	/* section 11: "delivery.ca-file: the system CA bundle", written empty
	 * (= OpenSSL's default paths, where Debian keeps that bundle) */
	{ "delivery.ca-file", "" },
};

/*
 * Keys of cfg.c that the contract does not name: their defaults as written
 * in deploy/pxtsgw.conf ("# key = value") and in the man page
 * deploy/pxtsgw.8 (".BR key \" = value\""), which say the same.
 * sip.watcher-uri and sip.tel-domain are written empty there (= derived);
 * their derived values are the contract's (section 8), checked below.
 */
static const struct written_default documented_defaults[] = {
	{ "http.listen", "127.0.0.1:8080" },
	{ "http.threads", "2" },
	{ "http.max-body-bytes", "1048576" },
	{ "http.max-connections", "1000" },
	{ "http.idle-timeout-s", "30" },
	{ "http.request-timeout-s", "60" },
	{ "sip.listen", "127.0.0.1:5070" },
	{ "sip.transport", "udp" },
	{ "sip.watcher-uri", "" },
	{ "sip.tel-domain", "" },
	{ "sip.max-fetches", "256" },
	{ "sip.resubscribe-give-up-s", "300" },
	{ "sip.keepalive-s", "5" },
	{ "status.group-concurrency", "32" },
	{ "group.file", "" },
	{ "delivery.workers", "4" },
	{ "delivery.max-in-flight-per-endpoint", "2" },
	{ "delivery.circuit-failures", "5" },
	{ "delivery.circuit-open-s", "30" },
	{ "delivery.max-age-s", "3600" },
	{ "delivery.dns-timeout-ms", "2000" },
	{ "store.path", "pxtsgw.db" },
	{ "store.tracking-retention-s", "604800" },
	{ "log.level", "info" },
	{ "log.format", "logfmt" },
	{ "log.target", "stderr" },
	{ "run.user", "" },
};

/* The "# key = value" line cfg_write_reference writes for key, or NULL
 * when the key is not in the table. Points into ref. */
__attribute__((noinline))
static const char *reference_line(const char *ref, const char *key, size_t *len)
{
	char want[128];
	const char *p;

	snprintf(want, sizeof(want), "\n# %s =", key);
	p = strstr(ref, want);
	if (!p)
		return NULL;
	p++;
	*len = strcspn(p, "\n");
	return p;
}

/* The key's line in the reference is "# key = value" ("# key =" when the
 * value is empty), and setting the key to that value on the defaults
 * changes nothing: the default is that value, as the table parses it. */
static void assert_written_default(const char *ref, const struct written_default *d)
{
	char want[256];
	const char *line;
	size_t len = 0;
	struct cfg def, c;

	line = reference_line(ref, d->key, &len);
	if (!line)
		fail_msg("key %s is not in the configuration table", d->key);
	if (*d->value)
		snprintf(want, sizeof(want), "# %s = %s", d->key, d->value);
	else
		snprintf(want, sizeof(want), "# %s =", d->key);
	if (len != strlen(want) || strncmp(line, want, len) != 0)
		fail_msg("default of %s: the table writes '%.*s', expected '%s'", d->key, (int)len,
			 line, want);
	memset(&def, 0, sizeof(def));
	memset(&c, 0, sizeof(c));
	cfg_defaults(&def);
	cfg_defaults(&c);
	if (*d->value) {
		if (cfg_set(&c, d->key, d->value, err, sizeof(err)) != 0)
			fail_msg("%s = %s is refused: %s", d->key, d->value, err);
		if (memcmp(&c, &def, sizeof(c)) != 0)
			fail_msg("default of %s differs from %s", d->key, d->value);
	}
}

static void test_defaults_match_contract(void **state)
{
	char *ref = reference_text(NULL);
	struct cfg c;

	(void)state;
	assert_non_null(ref);
	for (size_t i = 0; i < sizeof(contract_defaults) / sizeof(contract_defaults[0]); i++)
		assert_written_default(ref, &contract_defaults[i]);

	/* The same values, field by field. */
	memset(&c, 0x5a, sizeof(c));
	cfg_defaults(&c);
	assert_string_equal(c.status_busy_activities, "on-the-phone,busy");
	assert_int_equal(c.status_fetch_timeout_ms, 2000);
	assert_string_equal(c.sip_presence_server, "sip:127.0.0.1:5060");
	assert_true(c.policy_group_support);
	assert_true(c.policy_nested_groups);
	assert_int_equal(c.policy_max_group_targets, 100);
	assert_true(c.policy_process_up_to_limit);
	assert_int_equal(c.policy_max_notification_addresses, 100);
	assert_int_equal(c.policy_default_notification_duration_s, 3600);
	assert_int_equal(c.policy_max_notification_duration_s, 86400);
	assert_int_equal(c.policy_min_notification_interval_ms, 0);
	assert_int_equal(c.policy_max_notification_count, 1000);
	assert_true(c.policy_unlimited_count_allowed);
	assert_string_equal(c.notify_style, "statusNotification");
	assert_int_equal(c.delivery_max_attempts, 5);
	assert_int_equal(c.delivery_backoff_ms, 1000);
	assert_int_equal(c.delivery_backoff_max_ms, 60000);
	assert_int_equal(c.delivery_timeout_ms, 5000);
	assert_string_equal(c.delivery_allowed_endpoints, "");
	assert_int_equal(c.sip_subscribe_expires, 3600);
	assert_string_equal(c.auth_users_file, "");
	assert_int_equal(c.http_max_connections_per_client, 100);
	assert_string_equal(c.http_tls_cert, "");
	assert_string_equal(c.http_tls_key, "");
	assert_string_equal(c.delivery_ca_file, "");

	/* Derived defaults (section 8): sip.watcher-uri = sip:pxtsgw@<host of
	 * sip.listen>, sip.tel-domain = the presence server's host. */
	assert_int_equal(cfg_finish(&c, err, sizeof(err)), 0);
	assert_string_equal(c.sip_watcher_uri, "sip:pxtsgw@127.0.0.1");
	assert_string_equal(c.sip_tel_domain, "127.0.0.1");

	/* delivery.max-attempts: "5 (1..100)". */
	cfg_defaults(&c);
	assert_int_equal(cfg_set(&c, "delivery.max-attempts", "1", err, sizeof(err)), 0);
	assert_int_equal(c.delivery_max_attempts, 1);
	assert_int_equal(cfg_set(&c, "delivery.max-attempts", "100", err, sizeof(err)), 0);
	assert_int_equal(c.delivery_max_attempts, 100);
	assert_int_equal(cfg_set(&c, "delivery.max-attempts", "0", err, sizeof(err)), -1);
	assert_int_equal(cfg_set(&c, "delivery.max-attempts", "101", err, sizeof(err)), -1);
	assert_int_equal(c.delivery_max_attempts, 100);

	/* http.max-connections-per-client: "0 = unlimited" is a value. */
	assert_int_equal(cfg_set(&c, "http.max-connections-per-client", "0", err, sizeof(err)), 0);
	assert_int_equal(c.http_max_connections_per_client, 0);
	assert_int_equal(cfg_set(&c, "http.max-connections-per-client", "-1", err, sizeof(err)), -1);
	assert_int_equal(c.http_max_connections_per_client, 0);

	free(ref);
}

static void test_defaults_match_documentation(void **state)
{
	char *ref = reference_text(NULL);
	struct cfg c;

	(void)state;
	assert_non_null(ref);
	for (size_t i = 0; i < sizeof(documented_defaults) / sizeof(documented_defaults[0]); i++)
		assert_written_default(ref, &documented_defaults[i]);

	memset(&c, 0x5a, sizeof(c));
	cfg_defaults(&c);
	assert_string_equal(c.http_listen, "127.0.0.1:8080");
	assert_int_equal(c.http_threads, 2);
	assert_int_equal(c.http_max_body_bytes, 1048576);
	assert_int_equal(c.http_max_connections, 1000);
	assert_int_equal(c.http_idle_timeout_s, 30);
	assert_int_equal(c.http_request_timeout_s, 60);
	assert_string_equal(c.sip_listen, "127.0.0.1:5070");
	assert_string_equal(c.sip_transport, "udp");
	assert_string_equal(c.sip_watcher_uri, "");
	assert_string_equal(c.sip_tel_domain, "");
	assert_int_equal(c.sip_max_fetches, 256);
	assert_int_equal(c.sip_resubscribe_give_up_s, 300);
	assert_int_equal(c.sip_keepalive_s, 5);
	assert_int_equal(c.status_group_concurrency, 32);
	assert_string_equal(c.group_file, "");
	assert_int_equal(c.delivery_workers, 4);
	assert_int_equal(c.delivery_max_in_flight_per_endpoint, 2);
	assert_int_equal(c.delivery_circuit_failures, 5);
	assert_int_equal(c.delivery_circuit_open_s, 30);
	assert_int_equal(c.delivery_max_age_s, 3600);
	assert_int_equal(c.delivery_dns_timeout_ms, 2000);
	assert_string_equal(c.store_path, "pxtsgw.db");
	assert_int_equal(c.store_tracking_retention_s, 604800);
	assert_int_equal(c.store_usage_retention_s, 2592000);
	assert_string_equal(c.log_level, "info");

	/* Every key of the table is in one of the lists above: a key added
	 * without a written default makes this fail. */
	{
		const char *p = ref;
		int n = 0;

		while ((p = strstr(p, "\n# ")) != NULL) {
			size_t k;
			bool known = false;
			char key[128];

			p += 3;
			k = strspn(p, "abcdefghijklmnopqrstuvwxyz.-");
			if (k == 0 || k >= sizeof(key) || strncmp(p + k, " =", 2) != 0 ||
			    (p[k + 2] != '\n' && p[k + 2] != ' '))
				continue;
			memcpy(key, p, k);
			key[k] = '\0';
			for (size_t i = 0; i < sizeof(contract_defaults) / sizeof(contract_defaults[0]); i++)
				known |= strcmp(key, contract_defaults[i].key) == 0;
			for (size_t i = 0; i < sizeof(documented_defaults) / sizeof(documented_defaults[0]); i++)
				known |= strcmp(key, documented_defaults[i].key) == 0;
			if (!known)
				fail_msg("key %s has no default written in the contract or the docs list", key);
			n++;
		}
		assert_int_equal(n, (int)(sizeof(contract_defaults) / sizeof(contract_defaults[0]) +
					   sizeof(documented_defaults) / sizeof(documented_defaults[0])));
	}
	free(ref);
}

static void test_finish_derives(void **state)
{
	struct cfg c;

	(void)state;
	cfg_defaults(&c);
	assert_int_equal(cfg_finish(&c, err, sizeof(err)), 0);
	assert_string_equal(c.sip_watcher_uri, "sip:pxtsgw@127.0.0.1");
	assert_string_equal(c.sip_tel_domain, "127.0.0.1");

	/* IPv6 hosts get their brackets back in URIs. */
	cfg_defaults(&c);
	assert_int_equal(cfg_set(&c, "sip.listen", "[::1]:0", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "sip.presence-server",
				 "sip:[2001:db8::5]:5060;transport=tcp", err, sizeof(err)), 0);
	assert_int_equal(cfg_finish(&c, err, sizeof(err)), 0);
	assert_string_equal(c.sip_watcher_uri, "sip:pxtsgw@[::1]");
	assert_string_equal(c.sip_tel_domain, "[2001:db8::5]");

	/* Names; and values set explicitly are kept. */
	cfg_defaults(&c);
	assert_int_equal(cfg_set(&c, "sip.listen", "gw.example.com:5070", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "sip.presence-server", "sip:ps.example.com", err,
				 sizeof(err)), 0);
	assert_int_equal(cfg_finish(&c, err, sizeof(err)), 0);
	assert_string_equal(c.sip_watcher_uri, "sip:pxtsgw@gw.example.com");
	assert_string_equal(c.sip_tel_domain, "ps.example.com");
	cfg_defaults(&c);
	assert_int_equal(cfg_set(&c, "sip.watcher-uri", "sip:watcher@example.org", err,
				 sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "sip.tel-domain", "tel.example.org", err, sizeof(err)), 0);
	assert_int_equal(cfg_finish(&c, err, sizeof(err)), 0);
	assert_string_equal(c.sip_watcher_uri, "sip:watcher@example.org");
	assert_string_equal(c.sip_tel_domain, "tel.example.org");
}

static void test_finish_rechecks(void **state)
{
	struct cfg c;

	(void)state;
	cfg_defaults(&c);
	snprintf(c.http_listen, sizeof(c.http_listen), "127.0.0.1:0");
	assert_int_equal(cfg_finish(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "http.listen"));

	cfg_defaults(&c);
	snprintf(c.sip_presence_server, sizeof(c.sip_presence_server), "tcp://x");
	assert_int_equal(cfg_finish(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "sip.presence-server"));

	cfg_defaults(&c);
	snprintf(c.sip_listen, sizeof(c.sip_listen), "nohostport");
	assert_int_equal(cfg_finish(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "sip.listen"));
}

/* http.tls-cert and http.tls-key: both or neither (contract section 11) */
static void test_finish_tls_pair(void **state)
{
	struct cfg c;

	(void)state;
	cfg_defaults(&c);
	assert_int_equal(cfg_set(&c, "http.tls-cert", "/etc/pxtsgw/cert.pem", err, sizeof(err)), 0);
	assert_string_equal(c.http_tls_cert, "/etc/pxtsgw/cert.pem");
	assert_int_equal(cfg_finish(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "key 'http.tls-cert' is set but 'http.tls-key' is not: HTTPS "
			    "needs both (leave both empty for plain HTTP)");

	cfg_defaults(&c);
	assert_int_equal(cfg_set(&c, "http.tls-key", "key.pem", err, sizeof(err)), 0);
	assert_int_equal(cfg_finish(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "key 'http.tls-key' is set but 'http.tls-cert' is not: HTTPS "
			    "needs both (leave both empty for plain HTTP)");

	assert_int_equal(cfg_set(&c, "http.tls-cert", "cert.pem", err, sizeof(err)), 0);
	assert_int_equal(cfg_finish(&c, err, sizeof(err)), 0);
	assert_string_equal(c.http_tls_cert, "cert.pem");
	assert_string_equal(c.http_tls_key, "key.pem");

	/* set back to empty: plain HTTP again */
	assert_int_equal(cfg_set(&c, "http.tls-cert", "", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "http.tls-key", "", err, sizeof(err)), 0);
	assert_int_equal(cfg_finish(&c, err, sizeof(err)), 0);

	assert_int_equal(cfg_set(&c, "delivery.ca-file", "/etc/pxtsgw/ca.pem", err, sizeof(err)), 0);
	assert_string_equal(c.delivery_ca_file, "/etc/pxtsgw/ca.pem");
	assert_int_equal(cfg_finish(&c, err, sizeof(err)), 0);
}

static void test_cfg_load_file(void **state)
{
	struct cfg c;

	(void)state;
	cfg_defaults(&c);
	assert_int_equal(cfg_load_file(&c, CONF("good.conf"), err, sizeof(err)), 0);
	assert_string_equal(c.http_listen, "0.0.0.0:8081");
	assert_int_equal(c.http_threads, 4);
	assert_int_equal(c.http_max_body_bytes, 2048);
	assert_string_equal(c.sip_transport, "tcp");
	assert_string_equal(c.sip_presence_server, "sip:presence.example.net:5080;transport=tcp");
	assert_string_equal(c.status_busy_activities, "on-the-phone,meeting,busy");
	assert_false(c.policy_group_support);
	assert_false(c.policy_nested_groups);
	assert_true(c.policy_process_up_to_limit);
	/* '#' inside a value is part of it. */
	assert_string_equal(c.store_path, "/var/lib/pxtsgw/state#1.db");
	assert_string_equal(c.group_file, "groups # not a comment");
	assert_string_equal(c.log_level, "debug");
	/* Untouched keys keep their defaults. */
	assert_int_equal(c.http_max_connections, 1000);
	assert_string_equal(c.sip_listen, "127.0.0.1:5070");
	assert_int_equal(cfg_finish(&c, err, sizeof(err)), 0);
	assert_string_equal(c.sip_tel_domain, "presence.example.net");

	cfg_defaults(&c);
	assert_int_equal(cfg_load_file(&c, CONF("crlf.conf"), err, sizeof(err)), 0);
	assert_int_equal(c.http_threads, 3);
	assert_string_equal(c.log_level, "warn");
}

static void test_load_errors(void **state)
{
	struct cfg c;

	(void)state;
	cfg_defaults(&c);
	assert_int_equal(cfg_load_file(&c, CONF("unknown-key.conf"), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown-key.conf:3:"));
	assert_non_null(strstr(err, "'http.bogus-key'"));

	assert_int_equal(cfg_load_file(&c, CONF("no-equals.conf"), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no-equals.conf:3:"));
	assert_non_null(strstr(err, "this line has no equals sign"));

	assert_int_equal(cfg_load_file(&c, CONF("bad-int.conf"), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad-int.conf:2:"));
	assert_non_null(strstr(err, "'http.threads'"));
	assert_non_null(strstr(err, "0x10"));

	assert_int_equal(cfg_load_file(&c, CONF("out-of-range.conf"), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "out-of-range.conf:1:"));
	assert_non_null(strstr(err, "policy.max-group-targets"));
	assert_non_null(strstr(err, "1..10000"));

	assert_int_equal(cfg_load_file(&c, CONF("watcher-no-user.conf"), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "watcher-no-user.conf:1:"));
	assert_non_null(strstr(err, "sip.watcher-uri"));
	assert_non_null(strstr(err, "user part"));

	assert_int_equal(cfg_load_file(&c, CONF("does-not-exist.conf"), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does-not-exist.conf"));

	/* A failed load leaves the earlier keys set, but the caller exits. */
	assert_int_equal(c.http_threads, 2);
}

static void test_load_long_lines(void **state)
{
	char path[64], *text;
	struct cfg c;
	size_t n;

	(void)state;
	/* A line beyond the line cap. */
	text = malloc(8192);
	assert_non_null(text);
	n = (size_t)sprintf(text, "http.threads = 2\nstore.path = ");
	memset(text + n, 'a', 5000);
	n += 5000;
	text[n++] = '\n';
	write_tmp(path, sizeof(path), text, n);
	cfg_defaults(&c);
	assert_int_equal(cfg_load_file(&c, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2: line longer than"));
	unlink(path);

	/* A line that fits, with a value too long for its key: not truncated. */
	n = (size_t)sprintf(text, "store.path = ");
	memset(text + n, 'b', 600);
	n += 600;
	text[n++] = '\n';
	write_tmp(path, sizeof(path), text, n);
	cfg_defaults(&c);
	assert_int_equal(cfg_load_file(&c, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":1: invalid value for key 'store.path': longer than 511"));
	assert_string_equal(c.store_path, "pxtsgw.db");
	unlink(path);

	/* The longest value that fits is taken whole. */
	n = (size_t)sprintf(text, "store.path = ");
	memset(text + n, 'c', CFG_STR_MAX - 1);
	n += CFG_STR_MAX - 1;
	write_tmp(path, sizeof(path), text, n);     /* no final newline either */
	cfg_defaults(&c);
	assert_int_equal(cfg_load_file(&c, path, err, sizeof(err)), 0);
	assert_int_equal(strlen(c.store_path), CFG_STR_MAX - 1);
	unlink(path);

	/* A NUL byte is refused. */
	write_tmp(path, sizeof(path), "log.level = de\0bug\n", 19);
	assert_int_equal(cfg_load_file(&c, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":1: NUL byte"));
	unlink(path);
	free(text);
}

static void test_bool(void **state)
{
	static const char *const yes[] = { "true", "yes", "1", "TRUE", " Yes " };
	static const char *const no[] = { "false", "no", "0", "False" };
	static const char *const bad[] = { "", "maybe", "2", "on", "truee", "t" };
	struct cfg c;

	(void)state;
	cfg_defaults(&c);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		c.policy_nested_groups = true;
		assert_int_equal(cfg_set(&c, "policy.nested-groups", no[i], err, sizeof(err)), 0);
		assert_false(c.policy_nested_groups);
	}
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		c.policy_nested_groups = false;
		assert_int_equal(cfg_set(&c, "policy.nested-groups", yes[i], err, sizeof(err)), 0);
		assert_true(c.policy_nested_groups);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cfg_set(&c, "policy.group-support", bad[i], err, sizeof(err)), -1);
		assert_non_null(strstr(err, "'policy.group-support'"));
		assert_non_null(strstr(err, "true or false"));
		assert_true(c.policy_group_support);
	}
}

static void test_int(void **state)
{
	static const char *const bad[] = {
		"", "0x10", "8k", "+8", "1.5", "1e3", "- 1", "--1", "99999999999999999999999",
		"8 8",
	};
	struct cfg c;

	(void)state;
	cfg_defaults(&c);
	assert_int_equal(cfg_set(&c, "http.threads", "8", err, sizeof(err)), 0);
	assert_int_equal(c.http_threads, 8);
	assert_int_equal(cfg_set(&c, "http.threads", "  16\t", err, sizeof(err)), 0);
	assert_int_equal(c.http_threads, 16);
	assert_int_equal(cfg_set(&c, "http.threads", "010", err, sizeof(err)), 0);
	assert_int_equal(c.http_threads, 10);     /* decimal, not octal */
	/* Bounds are inclusive. */
	assert_int_equal(cfg_set(&c, "http.threads", "1", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "http.threads", "64", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "http.max-body-bytes", "67108864", err, sizeof(err)), 0);
	assert_int_equal(c.http_max_body_bytes, 67108864);
	assert_int_equal(cfg_set(&c, "status.fetch-timeout-ms", "100", err, sizeof(err)), 0);
	assert_int_equal(c.status_fetch_timeout_ms, 100);

	assert_int_equal(cfg_set(&c, "http.threads", "65", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "out of range 1..64"));
	assert_int_equal(cfg_set(&c, "http.threads", "0", err, sizeof(err)), -1);
	assert_int_equal(cfg_set(&c, "http.threads", "-1", err, sizeof(err)), -1);
	assert_int_equal(cfg_set(&c, "http.max-body-bytes", "1023", err, sizeof(err)), -1);
	assert_int_equal(cfg_set(&c, "status.fetch-timeout-ms", "60001", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "status.fetch-timeout-ms"));
	assert_int_equal(cfg_set(&c, "status.group-concurrency", "1001", err, sizeof(err)), -1);
	assert_int_equal(cfg_set(&c, "sip.max-fetches", "100001", err, sizeof(err)), -1);
	assert_int_equal(cfg_set(&c, "http.max-connections", "100001", err, sizeof(err)), -1);
	assert_int_equal(cfg_set(&c, "http.max-connections-per-client", "100000", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "http.max-connections-per-client", "100001", err, sizeof(err)), -1);
	/* a timeout of 0 would be no timeout: refused */
	assert_int_equal(cfg_set(&c, "http.idle-timeout-s", "1", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "http.idle-timeout-s", "3600", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "http.idle-timeout-s", "0", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'http.idle-timeout-s'"));
	assert_int_equal(cfg_set(&c, "http.idle-timeout-s", "3601", err, sizeof(err)), -1);
	assert_int_equal(c.http_idle_timeout_s, 3600);
	assert_int_equal(cfg_set(&c, "http.request-timeout-s", "1", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "http.request-timeout-s", "0", err, sizeof(err)), -1);
	assert_int_equal(cfg_set(&c, "http.request-timeout-s", "3601", err, sizeof(err)), -1);
	assert_int_equal(c.http_request_timeout_s, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cfg_set(&c, "http.threads", bad[i], err, sizeof(err)), -1);
		assert_non_null(strstr(err, "'http.threads'"));
	}
	assert_int_equal(c.http_threads, 64);
}

static void test_enum(void **state)
{
	struct cfg c;

	(void)state;
	cfg_defaults(&c);
	assert_int_equal(cfg_set(&c, "sip.transport", "tcp", err, sizeof(err)), 0);
	assert_string_equal(c.sip_transport, "tcp");
	assert_int_equal(cfg_set(&c, "sip.transport", "UDP", err, sizeof(err)), 0);
	assert_string_equal(c.sip_transport, "udp");
	assert_int_equal(cfg_set(&c, "sip.transport", "sctp", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'sip.transport'"));
	assert_non_null(strstr(err, "udp, tcp"));
	assert_string_equal(c.sip_transport, "udp");
	assert_int_equal(cfg_set(&c, "sip.transport", "tls", err, sizeof(err)), -1);

	assert_int_equal(cfg_set(&c, "log.level", "error", err, sizeof(err)), 0);
	assert_string_equal(c.log_level, "error");
	assert_int_equal(cfg_set(&c, "log.level", "verbose", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "error, warn, info, debug"));
	assert_int_equal(cfg_set(&c, "log.level", "", err, sizeof(err)), -1);
	/* run.user: empty (no switch) or a user the system knows */
	assert_int_equal(cfg_set(&c, "run.user", "nobody", err, sizeof(err)), 0);
	assert_string_equal(c.run_user, "nobody");
	assert_int_equal(cfg_set(&c, "run.user", "", err, sizeof(err)), 0);
	assert_string_equal(c.run_user, "");
	assert_int_equal(cfg_set(&c, "run.user", "no-such-user-pxtsgw", err, sizeof(err)), -1);
	assert_string_equal(err, "invalid value 'no-such-user-pxtsgw' for key 'run.user': no such user");
	assert_string_equal(c.log_level, "error");
}

static void test_list(void **state)
{
	char v[1024];
	struct cfg c;
	size_t n;

	(void)state;
	cfg_defaults(&c);
	assert_int_equal(cfg_set(&c, "status.busy-activities", "busy", err, sizeof(err)), 0);
	assert_string_equal(c.status_busy_activities, "busy");
	assert_int_equal(cfg_set(&c, "status.busy-activities", " a.b , c_d,\te-f ", err,
				 sizeof(err)), 0);
	assert_string_equal(c.status_busy_activities, "a.b,c_d,e-f");

	assert_int_equal(cfg_set(&c, "status.busy-activities", "", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "status.busy-activities"));
	assert_int_equal(cfg_set(&c, "status.busy-activities", "a,,b", err, sizeof(err)), -1);
	assert_int_equal(cfg_set(&c, "status.busy-activities", "a,", err, sizeof(err)), -1);
	assert_int_equal(cfg_set(&c, "status.busy-activities", ",a", err, sizeof(err)), -1);
	assert_int_equal(cfg_set(&c, "status.busy-activities", "on the phone", err,
				 sizeof(err)), -1);
	assert_int_equal(cfg_set(&c, "status.busy-activities", "busy;x", err, sizeof(err)), -1);
	assert_string_equal(c.status_busy_activities, "a.b,c_d,e-f");

	/* 16 items pass, 17 do not. */
	n = 0;
	for (int i = 0; i < 16; i++)
		n += (size_t)sprintf(v + n, "%sa%d", i ? "," : "", i);
	assert_int_equal(cfg_set(&c, "status.busy-activities", v, err, sizeof(err)), 0);
	sprintf(v + n, ",a16");
	assert_int_equal(cfg_set(&c, "status.busy-activities", v, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 16"));

	/* Items of 47 characters pass, 48 do not. */
	memset(v, 'x', 47);
	v[47] = '\0';
	assert_int_equal(cfg_set(&c, "status.busy-activities", v, err, sizeof(err)), 0);
	assert_int_equal(strlen(c.status_busy_activities), 47);
	memset(v, 'x', 48);
	v[48] = '\0';
	assert_int_equal(cfg_set(&c, "status.busy-activities", v, err, sizeof(err)), -1);
}

static void test_strings(void **state)
{
	struct cfg c;

	(void)state;
	cfg_defaults(&c);
	/* Listen addresses. */
	assert_int_equal(cfg_set(&c, "http.listen", "[::1]:8080", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "http.listen", "localhost:65535", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "http.listen", "127.0.0.1:0", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "http.listen"));
	assert_int_equal(cfg_set(&c, "http.listen", "127.0.0.1:65536", err, sizeof(err)), -1);
	assert_int_equal(cfg_set(&c, "http.listen", "127.0.0.1", err, sizeof(err)), -1);
	assert_int_equal(cfg_set(&c, "http.listen", "::1:8080", err, sizeof(err)), -1);
	assert_int_equal(cfg_set(&c, "http.listen", ":8080", err, sizeof(err)), -1);
	assert_int_equal(cfg_set(&c, "http.listen", "", err, sizeof(err)), -1);
	assert_string_equal(c.http_listen, "localhost:65535");
	assert_int_equal(cfg_set(&c, "sip.listen", "0.0.0.0:0", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "sip.listen", "0.0.0.0:x", err, sizeof(err)), -1);

	/* The presence server: sip:host[:port][;params]. */
	assert_int_equal(cfg_set(&c, "sip.presence-server", "sip:ps.example.com", err,
				 sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "sip.presence-server", "SIP:10.0.0.1:5060;transport=tcp;lr",
				 err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "sip.presence-server", "sip:[::1]:5060", err, sizeof(err)), 0);
	static const char *const bad_ps[] = {
		"", "sip:", "http://x", "sips:ps.example.com", "sip:ps:0", "sip:ps:65536",
		"sip:user@ps", "sip:ps;", "sip:ps x", "sip:ps?h=1", "127.0.0.1:5060",
		"sip:[::1", "sip:ps:5060x",
	};
	for (size_t i = 0; i < sizeof(bad_ps) / sizeof(bad_ps[0]); i++) {
		assert_int_equal(cfg_set(&c, "sip.presence-server", bad_ps[i], err, sizeof(err)), -1);
		assert_non_null(strstr(err, "sip.presence-server"));
	}
	assert_string_equal(c.sip_presence_server, "sip:[::1]:5060");

	/* The watcher needs a user part. */
	assert_int_equal(cfg_set(&c, "sip.watcher-uri", "sip:gw@10.0.0.2:5070", err,
				 sizeof(err)), 0);
	assert_string_equal(c.sip_watcher_uri, "sip:gw@10.0.0.2:5070");
	assert_int_equal(cfg_set(&c, "sip.watcher-uri", "", err, sizeof(err)), 0);
	assert_string_equal(c.sip_watcher_uri, "");
	static const char *const bad_w[] = {
		"sip:10.0.0.2", "sip:@10.0.0.2", "gw@10.0.0.2", "sip:gw@", "mailto:gw@x",
		"sip:g w@x",
	};
	for (size_t i = 0; i < sizeof(bad_w) / sizeof(bad_w[0]); i++) {
		assert_int_equal(cfg_set(&c, "sip.watcher-uri", bad_w[i], err, sizeof(err)), -1);
		assert_non_null(strstr(err, "sip.watcher-uri"));
	}
	assert_int_equal(cfg_set(&c, "sip.watcher-uri", "sip:10.0.0.2", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "user part"));

	/* tel domain: a host. */
	assert_int_equal(cfg_set(&c, "sip.tel-domain", "ims.example.com", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "sip.tel-domain", "[2001:db8::1]", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "sip.tel-domain", "a b", err, sizeof(err)), -1);
	assert_int_equal(cfg_set(&c, "sip.tel-domain", "x@y", err, sizeof(err)), -1);
	assert_int_equal(cfg_set(&c, "sip.tel-domain", "sip:x", err, sizeof(err)), -1);
	assert_string_equal(c.sip_tel_domain, "[2001:db8::1]");

	/* Paths: store.path may not be empty, group.file may. */
	assert_int_equal(cfg_set(&c, "store.path", "", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "store.path"));
	assert_int_equal(cfg_set(&c, "group.file", "", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "group.file", "a\x01z", err, sizeof(err)), -1);
	/* auth.users-file too (empty: no authentication) */
	assert_int_equal(cfg_set(&c, "auth.users-file", "/etc/pxtsgw/users", err, sizeof(err)), 0);
	assert_string_equal(c.auth_users_file, "/etc/pxtsgw/users");
	assert_int_equal(cfg_set(&c, "auth.users-file", "", err, sizeof(err)), 0);
	assert_string_equal(c.auth_users_file, "");
	assert_int_equal(cfg_set(&c, "auth.users-file", "a\x01z", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "auth.users-file"));

	/* Unknown keys, case matters. */
	assert_int_equal(cfg_set(&c, "HTTP.threads", "2", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown key 'HTTP.threads'"));
	assert_int_equal(cfg_set(&c, "http", "2", err, sizeof(err)), -1);
}

static void test_set_option(void **state)
{
	struct cfg c;

	(void)state;
	cfg_defaults(&c);
	assert_int_equal(cfg_set_option(&c, "http.threads=4", err, sizeof(err)), 0);
	assert_int_equal(c.http_threads, 4);
	assert_int_equal(cfg_set_option(&c, " http.threads = 5 ", err, sizeof(err)), 0);
	assert_int_equal(c.http_threads, 5);
	/* Only the first '=' separates. */
	assert_int_equal(cfg_set_option(&c, "store.path=a=b", err, sizeof(err)), 0);
	assert_string_equal(c.store_path, "a=b");
	/* An option overrides the file whichever way main orders them. */
	assert_int_equal(cfg_load_file(&c, CONF("good.conf"), err, sizeof(err)), 0);
	assert_int_equal(cfg_set_option(&c, "log.level=warn", err, sizeof(err)), 0);
	assert_string_equal(c.log_level, "warn");

	assert_int_equal(cfg_set_option(&c, "http.threads", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "KEY=VALUE"));
	assert_int_equal(cfg_set_option(&c, "=4", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing key"));
	assert_int_equal(cfg_set_option(&c, "no.such-key=1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown key 'no.such-key'"));
	assert_int_equal(cfg_set_option(&c, "http.threads=many", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "invalid value 'many' for key 'http.threads'"));
	assert_int_equal(c.http_threads, 4);
	/* A tiny error buffer is still terminated. */
	char small[8];
	assert_int_equal(cfg_set_option(&c, "no.such-key=1", small, sizeof(small)), -1);
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void test_split_hostport(void **state)
{
	char host[64];
	unsigned port = 1234;

	(void)state;
	assert_int_equal(cfg_split_hostport("127.0.0.1:8080", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8080);
	assert_int_equal(cfg_split_hostport("[::1]:5070", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 5070);
	assert_int_equal(cfg_split_hostport("[2001:db8::a:1]:0", host, sizeof(host), &port), 0);
	assert_string_equal(host, "2001:db8::a:1");
	assert_int_equal(port, 0);
	assert_int_equal(cfg_split_hostport("gw-1.example.com:65535", host, sizeof(host), &port), 0);
	assert_string_equal(host, "gw-1.example.com");
	assert_int_equal(port, 65535);

	static const char *const bad[] = {
		"", "host", "host:", ":80", "host:65536", "host:123456", "host:80x", "host:-1",
		"::1:80", "[::1]80", "[::1]", "[]:80", "[zz::1]:80", "[::1:80", "ho st:80",
		"host:80:81", "-host:80", "[127.0.0.1]:80",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		port = 4321;
		assert_int_equal(cfg_split_hostport(bad[i], host, sizeof(host), &port), -1);
		assert_int_equal(port, 4321);
	}
	/* A host that does not fit is an error, not a truncation. */
	assert_int_equal(cfg_split_hostport("abcdefgh:1", host, 8, &port), -1);
	assert_int_equal(cfg_split_hostport("abcdefg:1", host, 8, &port), 0);
	assert_string_equal(host, "abcdefg");
	assert_int_equal(cfg_split_hostport(NULL, host, sizeof(host), &port), -1);
}

static void test_reference_file(void **state)
{
	size_t rn, fn;
	char *ref = reference_text(&rn), *file = test_read_file(REFERENCE, &fn);

	(void)state;
	assert_non_null(ref);
	if (!file || fn != rn || memcmp(ref, file, rn) != 0)
		fail_msg("%s differs from cfg_write_reference(); regenerate it with "
			 "build/plain/tests/test_cfg --write-reference", REFERENCE);
	free(ref);
	free(file);
}

static void test_reference_content(void **state)
{
	static const char *const keys[] = {
		"http.listen", "http.threads", "http.max-body-bytes", "http.max-connections",
		"http.max-connections-per-client", "http.idle-timeout-s", "http.request-timeout-s",
		"sip.listen", "sip.transport", "sip.presence-server", "sip.watcher-uri",
		"sip.tel-domain", "sip.max-fetches", "status.busy-activities",
		"status.fetch-timeout-ms", "status.group-concurrency", "group.file",
		"policy.group-support", "policy.nested-groups", "policy.max-group-targets",
		"policy.process-up-to-limit", "store.path", "log.level", "log.format",
		"log.target",
		"sip.subscribe-expires", "sip.resubscribe-give-up-s", "sip.keepalive-s",
		"policy.max-notification-addresses", "policy.default-notification-duration-s",
		"policy.max-notification-duration-s", "policy.min-notification-interval-ms",
		"policy.max-notification-count", "policy.unlimited-count-allowed",
		"notify.style", "delivery.max-attempts", "delivery.backoff-ms",
		"delivery.backoff-max-ms", "delivery.timeout-ms", "delivery.workers",
		"delivery.max-in-flight-per-endpoint", "delivery.circuit-failures",
		"delivery.circuit-open-s",
		"delivery.max-age-s", "delivery.allowed-endpoints", "delivery.dns-timeout-ms",
		"store.tracking-retention-s", "store.usage-retention-s", "run.user", "auth.users-file",
		"policy.max-notifications", "policy.max-notifications-per-app",
		"policy.max-presence-subscriptions",
		"policy.max-requests-per-s",
		"http.tls-cert", "http.tls-key", "delivery.ca-file",
	};
	char *ref = reference_text(NULL), *line, *save = NULL, path[64];
	char *uncommented = malloc(strlen(ref) + 1);
	size_t un = 0;
	int nkeys = 0;
	struct cfg def, c;

	(void)state;
	assert_non_null(uncommented);
	/* Every key is there with its default commented out. */
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char want[128];

		snprintf(want, sizeof(want), "\n# %s =", keys[i]);
		assert_non_null(strstr(ref, want));
	}
	assert_non_null(strstr(ref, "\n# http.threads = 2\n"));
	assert_non_null(strstr(ref, "\n# sip.watcher-uri =\n"));
	assert_non_null(strstr(ref, "\n# status.busy-activities = on-the-phone,busy\n"));
	assert_non_null(strstr(ref, "Integer, 1..64."));
	assert_non_null(strstr(ref, "One of: udp, tcp."));

	/* No line too wide; uncommenting every "# key = value" line gives a
	 * file that loads to the defaults: the defaults shown are the real ones. */
	for (line = strtok_r(ref, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t k = strspn(line + 2, "abcdefghijklmnopqrstuvwxyz.-");

		assert_true(strlen(line) <= 80);
		assert_true(line[0] == '#');
		/* "# key =" or "# key = value" */
		if (line[1] == ' ' && k > 0 && strncmp(line + 2 + k, " =", 2) == 0 &&
		    (line[4 + k] == '\0' || line[4 + k] == ' ')) {
			un += (size_t)sprintf(uncommented + un, "%s\n", line + 2);
			nkeys++;
		}
	}
	assert_int_equal(nkeys, (int)(sizeof(keys) / sizeof(keys[0])));
	write_tmp(path, sizeof(path), uncommented, un);
	cfg_defaults(&def);
	memset(&c, 0, sizeof(c));
	c.http_threads = 7;
	cfg_defaults(&c);
	c.http_threads = 7;         /* the file must set it back */
	assert_int_equal(cfg_load_file(&c, path, err, sizeof(err)), 0);
	assert_cfg_equal(&c, &def);
	unlink(path);

	/* The file as shipped (all comments) loads and changes nothing. */
	cfg_defaults(&c);
	assert_int_equal(cfg_load_file(&c, REFERENCE, err, sizeof(err)), 0);
	assert_cfg_equal(&c, &def);
	free(ref);
	free(uncommented);
}

static void count_key(const char *key, void *arg)
{
	(void)key;
	(*(int *)arg)++;
}

/* a reload: restart keys keep their running value and are reported */
static void test_keep_restart_keys(void **state)
{
	struct cfg run, next;
	char err[256];
	int reported = 0, changed = 0;

	(void)state;
	cfg_defaults(&run);
	assert_int_equal(cfg_finish(&run, err, sizeof(err)), 0);
	cfg_defaults(&next);
	assert_int_equal(cfg_set(&next, "http.listen", "127.0.0.1:9999", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&next, "http.threads", "5", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&next, "policy.max-notification-addresses", "7", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&next, "log.level", "debug", err, sizeof(err)), 0);
	assert_int_equal(cfg_finish(&next, err, sizeof(err)), 0);
	assert_int_equal(cfg_keep_restart_keys(&next, &run, count_key, &reported), 2);
	assert_int_equal(reported, 2);
	assert_string_equal(next.http_listen, run.http_listen);
	assert_int_equal(next.http_threads, run.http_threads);
	assert_int_equal(next.policy_max_notification_addresses, 7);
	assert_int_equal(cfg_changed_keys(&next, &run, count_key, &changed), 2);
	assert_int_equal(changed, 2);
	assert_int_equal(cfg_keep_restart_keys(&next, &run, NULL, NULL), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_defaults_match_contract),
		cmocka_unit_test(test_defaults_match_documentation),
		cmocka_unit_test(test_finish_derives),
		cmocka_unit_test(test_finish_rechecks),
		cmocka_unit_test(test_finish_tls_pair),
		cmocka_unit_test(test_cfg_load_file),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_long_lines),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_enum),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_set_option),
		cmocka_unit_test(test_split_hostport),
		cmocka_unit_test(test_reference_file),
		cmocka_unit_test(test_reference_content),
		cmocka_unit_test(test_keep_restart_keys),
	};

	if (argc == 2 && strcmp(argv[1], "--write-reference") == 0) {
		FILE *f = fopen(REFERENCE, "w");

		if (!f) {
			perror(REFERENCE);
			return 1;
		}
		cfg_write_reference(f);
		return fclose(f) != 0;
	}
	return cmocka_run_group_tests_name("cfg", tests, NULL, NULL);
}
