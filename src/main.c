/*
 * main.c - pxtsgw: command line, start-up in order, run until a signal,
 * tear down in reverse.
 *
 *   pxtsgw [-c FILE] [-o KEY=VALUE]... [-t] [-h] [-V]
 *
 * Start order: configuration (with the users and group files) -> log ->
 * store -> callback delivery
 * -> SIP watcher -> notification manager -> SOAP glue -> HTTP front.
 * Stop order: stop accepting HTTP, end the notifications (their
 * subscriptions), stop the SIP side (which answers every waiting request),
 * stop HTTP, stop delivery, close the store.
 */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "auth.h"
#include "cfg.h"
#include "dest.h"
#include "dlv.h"
#include "front.h"
#include "group.h"
#include "log.h"
#include "nm.h"
#include "pstat.h"
#include "query.h"
#include "rate.h"
#include "store.h"
#include "svc.h"
#include "svc_client.h"
#include "tlsfile.h"
#include "usage.h"
#include "watch.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pxtsgw [-c FILE] [-o KEY=VALUE]... [-t] [-h] [-V]\n"
		"  -c FILE       read the configuration file FILE\n"
		"  -o KEY=VALUE  set a configuration key (after the file; may be repeated)\n"
		"  -t            check the configuration and exit (0 when it is OK)\n"
		"  -h            this help\n"
		"  -V            print the version\n"
		"Every key, with its default and meaning, is documented in deploy/pxtsgw.conf.\n");
}

/* Everything the configuration determines, checked as -t checks it. */
struct setup {
	struct cfg cfg;
	struct pstat_rules rules;
	struct group_set *groups;
	struct auth *auth;          /* NULL: no auth.users-file, no authentication */
	struct dest *dest;          /* delivery.allowed-endpoints */
	struct tlsfile_pair https;  /* http.tls-cert, http.tls-key (NULLs: plain HTTP) */
	struct svc_tls *cas;        /* delivery.ca-file */
};

static void free_setup(struct setup *s)
{
	group_free(s->groups);
	auth_free(s->auth);
	dest_free(s->dest);
	tlsfile_pair_clear(&s->https);
	svc_tls_free(s->cas);
}

/* The configuration as at start: the defaults, the -c file, the -o
 * options, then the checks across keys. */
static int build_cfg(struct cfg *c, const char *file, char **opts, int nopts, char *err, size_t cap)
{
	cfg_defaults(c);
	if (file && cfg_load_file(c, file, err, cap) != 0)
		return -1;
	for (int i = 0; i < nopts; i++)
		if (cfg_set_option(c, opts[i], err, cap) != 0)
			return -1;
	return cfg_finish(c, err, cap);
}

/* What the configuration names: rules, destinations, the group and users
 * files; at start also the TLS files (a reload keeps them: they need a
 * restart, and after run.user they may not be readable any more). */
static int load_files(struct setup *s, bool at_start, char *err, size_t cap)
{
	char e[600];

	if (pstat_rules_parse(&s->rules, s->cfg.status_busy_activities) != 0) {
		snprintf(err, cap, "invalid value for key 'status.busy-activities'");
		return -1;
	}
	if (dest_new(s->cfg.delivery_allowed_endpoints, &s->dest, e, sizeof(e)) != 0) {
		snprintf(err, cap, "invalid value for key 'delivery.allowed-endpoints': %s", e);
		return -1;      /* not reached: cfg checked it */
	}
	if (group_load(s->cfg.group_file, &s->groups, e, sizeof(e)) != 0) {
		snprintf(err, cap, "key 'group.file': %s", e);
		return -1;
	}
	if (s->cfg.auth_users_file[0] &&
	    auth_load(s->cfg.auth_users_file, &s->auth, e, sizeof(e)) != 0) {
		snprintf(err, cap, "key 'auth.users-file': %s", e);
		return -1;
	}
	if (!at_start)
		return 0;
	/* read now, as root when started so: the key may be readable by root only */
	if (s->cfg.http_tls_cert[0] &&
	    tlsfile_load_pair(s->cfg.http_tls_cert, s->cfg.http_tls_key, &s->https, e, sizeof(e)) != 0) {
		snprintf(err, cap, "key %s", e);
		return -1;
	}
	s->cas = svc_tls_new(s->cfg.delivery_ca_file, e, sizeof(e));
	if (!s->cas) {
		snprintf(err, cap, "key 'delivery.ca-file': %s", e);
		return -1;
	}
	return 0;
}

static int load_setup(struct setup *s, const char *file, char **opts, int nopts, char *err, size_t cap)
{
	if (build_cfg(&s->cfg, file, opts, nopts, err, cap) != 0)
		return -1;
	return load_files(s, true, err, cap);
}

/* What the SOAP side's requests read through svc_reconfigure: the group
 * set and the destinations they point to, dropped by svc once no request
 * holds them. */
struct svc_keep {
	struct group_set *groups;
	struct dest *dest;                  /* a reference of its own */
	char tel_domain[CFG_STR_MAX];
};

static void svc_keep_drop(void *p)
{
	struct svc_keep *k = p;

	group_free(k->groups);
	dest_free(k->dest);
	free(k);
}

/* Hands s's groups (taken) and destinations (a reference) to svc, with
 * the policies of s->cfg. Returns 0 or -1 (out of memory). */
static int notify_style(const struct cfg *c)
{
	return strcmp(c->notify_style, "statusChanged") == 0 ? NOTIF_STYLE_STATUS_CHANGED
							    : NOTIF_STYLE_STATUS_NOTIFICATION;
}

static int svc_configure(struct svc *svc, struct watch *watch, struct setup *s)
{
	struct svc_keep *k = calloc(1, sizeof(*k));
	struct query_env env;
	struct nm_policy pol;

	if (!k)
		return -1;
	k->groups = s->groups;
	s->groups = NULL;
	k->dest = dest_ref(s->dest);
	snprintf(k->tel_domain, sizeof(k->tel_domain), "%s", s->cfg.sip_tel_domain);
	env = (struct query_env){
		.watch = watch,
		.groups = k->groups,
		.policy = {
			.group_support = s->cfg.policy_group_support,
			.nested_groups = s->cfg.policy_nested_groups,
			.max_targets = (size_t)s->cfg.policy_max_group_targets,
			.up_to_limit = s->cfg.policy_process_up_to_limit,
		},
		.tel_domain = k->tel_domain,
		.group_concurrency = (unsigned)s->cfg.status_group_concurrency,
	};
	pol = (struct nm_policy){
		.max_addresses = (size_t)s->cfg.policy_max_notification_addresses,
		.default_duration_ms = (int64_t)s->cfg.policy_default_notification_duration_s * 1000,
		.max_duration_ms = (int64_t)s->cfg.policy_max_notification_duration_s * 1000,
		.min_interval_ms = s->cfg.policy_min_notification_interval_ms,
		.max_count = s->cfg.policy_max_notification_count,
		.unlimited_count_allowed = s->cfg.policy_unlimited_count_allowed,
		.groups = env.policy,
		.dest = k->dest,
		.dns_timeout_ms = s->cfg.delivery_dns_timeout_ms,
	};
	return svc_reconfigure(svc, &env, &pol, notify_style(&s->cfg), k, svc_keep_drop);
}

/* What start-up says about authentication (contract section 11). */
/* log.level, log.format and log.target, at start and at every reload */
static void log_apply(const struct cfg *c)
{
	log_set_level((enum log_level)log_level_parse(c->log_level));
	log_set_format((enum log_format)log_format_parse(c->log_format));
	log_set_target((enum log_target)log_target_parse(c->log_target));
}

static void log_auth(const struct setup *s)
{
	char host[CFG_STR_MAX];
	unsigned port;

	if (s->auth) {
		log_info("auth: %zu users from %s", auth_count(s->auth), s->cfg.auth_users_file);
		if (!auth_count(s->auth))
			log_warn("auth: %s has no user: nobody can authenticate",
				 s->cfg.auth_users_file);
		return;
	}
	if (cfg_split_hostport(s->cfg.http_listen, host, sizeof(host), &port) != 0 ||
	    !auth_listen_is_loopback(host))
		log_warn("auth.users-file is empty: no authentication, and http.listen %s is not "
			 "a loopback address", s->cfg.http_listen);
}

static int wait_for_signal(void)
{
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);   /* a reload */
	sigwait(&set, &sig);
	return sig;
}

/* run.user: started as root, switch to user for good once the ports are
 * bound and the store is open, handing it the store's files (SQLite opens
 * its -wal and -shm again). The switch applies to every thread (glibc). */
static int drop_privileges(const char *user, const char *store_path)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	struct passwd pw, *res = NULL;
	char buf[4096], path[4200];

	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || !res) {
		log_error("run.user: no user '%s'", user);
		return -1;
	}
	if (geteuid() != 0) {
		log_error("run.user = %s: pxtsgw must be started as root to switch users", user);
		return -1;
	}
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", store_path, suffix[i]);
		if (chown(path, pw.pw_uid, pw.pw_gid) != 0 && errno != ENOENT) {
			log_error("run.user: cannot hand %s to %s: %s", path, user, strerror(errno));
			return -1;
		}
	}
	if (initgroups(user, pw.pw_gid) != 0 || setgid(pw.pw_gid) != 0 || setuid(pw.pw_uid) != 0) {
		log_error("run.user: cannot switch to %s: %s", user, strerror(errno));
		return -1;
	}
	if (pw.pw_uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
		log_error("run.user: root could be regained after switching to %s", user);
		return -1;
	}
	log_info("running as user %s (uid %u, gid %u)", user, (unsigned)pw.pw_uid, (unsigned)pw.pw_gid);
	return 0;
}

/* What a reload changes, and how the configuration was given. */
struct running {
	struct cfg cfg;             /* the configuration in effect */
	const char *file;
	char **opts;
	int nopts;
	struct svc *svc;
	struct rate *rate;
	struct front *front;
	struct dlv *dlv;
	struct nm *nm;
	struct watch *watch;
	struct store *store;
};

static struct dlv_config dlv_config_of(const struct setup *s)
{
	return (struct dlv_config){
		.workers = (unsigned)s->cfg.delivery_workers,
		.max_attempts = s->cfg.delivery_max_attempts,
		.backoff_ms = s->cfg.delivery_backoff_ms,
		.backoff_max_ms = s->cfg.delivery_backoff_max_ms,
		.timeout_ms = s->cfg.delivery_timeout_ms,
		.max_age_s = s->cfg.delivery_max_age_s,
		.dest = s->dest,
		.dns_timeout_ms = s->cfg.delivery_dns_timeout_ms,
		.tls = s->cas,
		.max_in_flight_per_endpoint = (unsigned)s->cfg.delivery_max_in_flight_per_endpoint,
		.circuit_failures = s->cfg.delivery_circuit_failures,
		.circuit_open_s = s->cfg.delivery_circuit_open_s,
	};
}

static void report_restart(const char *key, void *arg)
{
	(void)arg;
	log_warn("reload: key %s changed: needs a restart; keeps its running value", key);
}

static void report_changed(const char *key, void *arg)
{
	(void)arg;
	log_info("reload: key %s changed", key);
}

/*
 * SIGHUP (contract section 8, Reload): the configuration is built as at
 * start and its files read again; a result that would stop a start is
 * refused as a whole. Otherwise the keys that need a restart keep their
 * running value and the others are handed to their owners: new objects
 * published for the requests that start from now on (svc, front), values
 * under dlv's lock, atomics (nm quotas, rate, log level), a post to the
 * SIP thread (busy activities). Nothing running is stopped or dropped.
 */
static void reload(struct running *rt)
{
	struct setup n = { 0 };
	struct dlv_config dc;
	char err[1024];
	size_t kept, changed;

	log_info("reload: SIGHUP: reading the configuration again%s%s",
		 rt->file ? " from " : "", rt->file ? rt->file : "");
	if (build_cfg(&n.cfg, rt->file, rt->opts, rt->nopts, err, sizeof(err)) != 0) {
		log_error("reload refused: %s; the running configuration stays", err);
		return;
	}
	kept = cfg_keep_restart_keys(&n.cfg, &rt->cfg, report_restart, NULL);
	/* a users file named or emptied: the HTTP side authenticates or not
	 * from its start */
	if (!n.cfg.auth_users_file[0] != !rt->cfg.auth_users_file[0]) {
		log_warn("reload: key auth.users-file changed: turning authentication %s needs a "
			 "restart; keeps its running value", rt->cfg.auth_users_file[0] ? "off" : "on");
		memcpy(n.cfg.auth_users_file, rt->cfg.auth_users_file, sizeof(n.cfg.auth_users_file));
		kept++;
	}
	if (load_files(&n, false, err, sizeof(err)) != 0) {
		log_error("reload refused: %s; the running configuration stays", err);
		free_setup(&n);
		return;
	}
	changed = cfg_changed_keys(&n.cfg, &rt->cfg, report_changed, NULL);

	log_apply(&n.cfg);
	dc = dlv_config_of(&n);
	if (dlv_reconfigure(rt->dlv, &dc) != 0)
		log_error("reload: delivery settings not applied");
	nm_set_quotas(rt->nm, n.cfg.policy_max_notifications, n.cfg.policy_max_notifications_per_app,
		      n.cfg.policy_max_presence_subscriptions);
	rate_set_per_s(rt->rate, n.cfg.policy_max_requests_per_s);
	if (watch_set_rules(rt->watch, &n.rules) != 0)
		log_error("reload: status.busy-activities not applied (the SIP thread takes no message)");
	if (n.cfg.store_tracking_retention_s != rt->cfg.store_tracking_retention_s)
		store_set_retention(rt->store, n.cfg.store_tracking_retention_s);
	if (n.cfg.store_usage_retention_s != rt->cfg.store_usage_retention_s)
		store_set_usage_retention(rt->store, n.cfg.store_usage_retention_s);
	if (svc_configure(rt->svc, rt->watch, &n) != 0)
		log_error("reload: out of memory: the policies and groups are not applied");
	if (n.auth) {
		size_t users = auth_count(n.auth);

		if (front_set_auth(rt->front, n.auth) == 0) {
			log_info("reload: auth: %zu users from %s", users, n.cfg.auth_users_file);
			n.auth = NULL;   /* the front's now */
		} else {
			log_error("reload: the users file is not applied");
		}
	}
	rt->cfg = n.cfg;
	log_info("reload: done: %zu keys changed, %zu kept for a restart, groups read again "
		 "from %s", changed, kept, n.cfg.group_file[0] ? n.cfg.group_file : "(none)");
	free_setup(&n);
}

int main(int argc, char **argv)
{
	struct setup s = { 0 };
	const char *file = NULL;
	char **opts = calloc((size_t)argc + 1, sizeof(char *));
	int nopts = 0, ch, rc = 1;
	bool check_only = false;
	char err[1024];
	struct store *store = NULL;
	struct watch *watch = NULL;
	struct svc *svc = NULL;
	struct rate *rate = NULL;
	struct front *front = NULL;
	struct dlv *dlv = NULL;
	struct nm *nm = NULL;
	struct running *rt = NULL;
	sigset_t set;

	if (!opts)
		return 1;
	while ((ch = getopt(argc, argv, "c:o:thV")) != -1) {
		switch (ch) {
		case 'c': file = optarg; break;
		case 'o': opts[nopts++] = optarg; break;
		case 't': check_only = true; break;
		case 'h': usage(stdout); free(opts); return 0;
		case 'V': printf("pxtsgw %s\n", PXTSGW_VERSION); free(opts); return 0;
		default: usage(stderr); free(opts); return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pxtsgw: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		free(opts);
		return 1;
	}
	if (load_setup(&s, file, opts, nopts, err, sizeof(err)) != 0) {
		fprintf(stderr, "pxtsgw: configuration error: %s\n", err);
		free_setup(&s);
		free(opts);
		return 1;
	}
	/* kept for reloads, which build the configuration the same way */
	if (check_only) {
		printf("configuration OK\n");
		free_setup(&s);
		free(opts);
		return 0;
	}

	/* signals are taken by sigwait in this thread; every thread started
	 * from here on inherits the mask */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	log_apply(&s.cfg);
	log_info("pxtsgw %s starting (groups: %zu)", PXTSGW_VERSION, group_count(s.groups));
	log_auth(&s);
	if (dest_entries(s.dest) > 0)
		log_info("callbacks may go to public unicast addresses and to %s",
			 s.cfg.delivery_allowed_endpoints);
	else
		log_info("callbacks may go to public unicast addresses only "
			 "(delivery.allowed-endpoints is empty)");
	log_info("https callbacks: certificates verified against %s",
		 s.cfg.delivery_ca_file[0] ? s.cfg.delivery_ca_file : "the system's CA bundle");

	if (store_open(s.cfg.store_path, &store, err, sizeof(err)) != 0) {
		log_error("store: %s", err);
		goto out;
	}
	store_set_retention(store, s.cfg.store_tracking_retention_s);
	store_set_usage_retention(store, s.cfg.store_usage_retention_s);
	usage_set_store(store);   /* before the first request */
	{
		struct dlv_config dc = dlv_config_of(&s);

		dc.store = store;
		if (dlv_start(&dc, &dlv) != 0) {
			log_error("cannot start callback delivery");
			goto out;
		}
	}
	{
		struct watch_config wc = {
			.listen = s.cfg.sip_listen,
			.transport = s.cfg.sip_transport,
			.presence_server = s.cfg.sip_presence_server,
			.watcher_uri = s.cfg.sip_watcher_uri,
			.fetch_timeout_ms = s.cfg.status_fetch_timeout_ms,
			.max_fetches = s.cfg.sip_max_fetches,
			.subscribe_expires_s = s.cfg.sip_subscribe_expires,
			.give_up_s = s.cfg.sip_resubscribe_give_up_s,
			.keepalive_s = s.cfg.sip_keepalive_s,
			.rules = &s.rules,
			/* one slot per subscription allowed, rounded up to a
			 * power of two (24 bytes each: 3 MiB for the default
			 * 100,000; a presentity whose two rows are full is
			 * answered by the SIP thread: none at half the limit,
			 * under 1 % at the limit; pview caps it at 2^22). Sized at
			 * start: a reload that raises the limit leaves more to the
			 * SIP thread. */
			.view_slots = s.cfg.policy_max_presence_subscriptions > 0 ?
				      s.cfg.policy_max_presence_subscriptions : LONG_MAX,
		};
		if (watch_start(&wc, &watch) != 0)
			goto out;
	}
	{
		struct nm_config nc = {
			.watch = watch,
			.dlv = dlv,
			.store = store,
			.start_timeout_ms = s.cfg.status_fetch_timeout_ms,
			.max_notifications = s.cfg.policy_max_notifications,
			.max_per_app = s.cfg.policy_max_notifications_per_app,
			.max_subscriptions = s.cfg.policy_max_presence_subscriptions,
		};
		nm = nm_new(&nc);
		if (!nm) {
			log_error("cannot set up the notification manager");
			goto out;
		}
		if (nm_restore(nm) < 0)
			log_warn("some notifications could not be restored from %s", s.cfg.store_path);
		/* callbacks resumed for notifications that are not running
		 * any more: their health records go once they are sent */
		dlv_resumed_done(dlv);
	}
	{
		struct query_env env = { .watch = watch };
		struct nm_policy pol = { 0 };

		svc = svc_new(&env);
		if (!svc) {
			log_error("cannot set up the SOAP service");
			goto out;
		}
		/* always there, so that a reload may set a rate */
		rate = rate_new_settable(s.cfg.policy_max_requests_per_s);
		if (!rate) {
			log_error("cannot set up policy.max-requests-per-s: out of memory");
			goto out;
		}
		svc_set_rate(svc, rate);
		svc_set_notifications(svc, nm, &pol, notify_style(&s.cfg));
		/* the policies and the groups, replaced by each reload */
		if (svc_configure(svc, watch, &s) != 0) {
			log_error("cannot set up the SOAP service: out of memory");
			goto out;
		}
	}
	{
		struct front_config fc = {
			.listen = s.cfg.http_listen,
			.threads = (unsigned)s.cfg.http_threads,
			.max_body = (size_t)s.cfg.http_max_body_bytes,
			.max_connections = (unsigned)s.cfg.http_max_connections,
			.max_connections_per_client = (unsigned)s.cfg.http_max_connections_per_client,
			.idle_timeout_s = (unsigned)s.cfg.http_idle_timeout_s,
			.request_timeout_s = (unsigned)s.cfg.http_request_timeout_s,
			.svc = svc,
			.watch = watch,
			.store = store,
			.nm = nm,
			.dlv = dlv,
			.auth = s.auth,
			.tls_cert = s.https.cert,
			.tls_key = s.https.key,
		};

		s.auth = NULL;          /* the front's, even if it fails */
		if (front_start(&fc, &front) != 0)
			goto out;
	}
	if (s.cfg.run_user[0] && drop_privileges(s.cfg.run_user, s.cfg.store_path) != 0)
		goto out;
	rt = calloc(1, sizeof(*rt));
	if (!rt) {
		log_error("out of memory");
		goto out;
	}
	*rt = (struct running){
		.cfg = s.cfg, .file = file, .opts = opts, .nopts = nopts, .svc = svc,
		.rate = rate, .front = front, .dlv = dlv, .nm = nm, .watch = watch, .store = store,
	};
	log_info("pxtsgw ready");
	rc = 0;
	for (;;) {
		int sig = wait_for_signal();

		if (sig != SIGHUP) {
			log_info("stopping on signal %d", sig);
			break;
		}
		reload(rt);
	}
out:
	front_quiesce(front);
	nm_shutdown(nm);
	watch_stop(watch);
	front_stop(front);
	dlv_stop(dlv);
	svc_free(svc);
	rate_free(rate);
	nm_free(nm);
	usage_set_store(NULL);   /* the front is stopped: no request left */
	store_close(store);
	free_setup(&s);
	free(rt);
	free(opts);
	log_info("pxtsgw stopped");
	return rc;
}
