/*
 * fuzz_soap.c - libFuzzer target for the SOAP request path: bytes in, bytes
 * out, through the real glue (src/svc.c), the generated gSOAP code, the
 * request checks (query.c, nmreq.c), groups and addresses.
 *
 * Input: a POST body for /TerminalStatus or /TerminalStatusNotificationManager
 * (one dispatcher serves both), served as src/front.c serves it: svc_handle;
 * on SVC_WAIT svc_start, then svc_finish with the same body. The SIP side
 * is faked as in tests/unit/test_svc.c, but every deferred request is
 * completed synchronously, so the second phase runs too:
 *   - watch_submit answers each fetch from FAKE_TABLE by SIP URI, any other
 *     URI by a hash of it (every outcome, a detail with XML specials), and
 *     plays "watcher down" for sip:down@x;
 *   - nm_start_async / nm_end_async (the SIP thread of the notification
 *     manager) answer by a hash of the correlator: started, a duplicate
 *     (SVC0005), refused (POL0002), failed (SVC0001), or SIP thread down;
 *     ended, or unknown (SVC0002).
 * Each input is served by four gateways whose policies differ
 * (PERMISSIVE, NO_GROUPS, TIGHT, and USERS: PERMISSIVE with a users file
 * whose only user is fuzz / pw-fuzz, checked by fake_check, for the
 * WS-Security UsernameToken path), over the group file GROUPS.
 *
 * Checked besides memory safety and leaks: svc_handle answers or defers,
 * never both; wake runs exactly once when a start succeeded and never when
 * it failed; every response has a body of the length it says, HTTP 200 or
 * 500, and is a well-formed XML document (expat) whose root is a SOAP 1.1
 * Envelope with a Fault exactly when the status is 500 (USERS may also
 * answer 401 "authentication required", and never serves an operation for
 * anyone but fuzz); no response carries a Security header; and an input
 * served twice in a row gets the same answer both times, whatever the
 * input before it left in the gateway's per-thread gSOAP context.
 *
 * FUZZ_SOAP_DUMP=1 prints every response on stderr (with the input files
 * as arguments: build/fuzz/fuzz_soap FILE...).
 *
 * fuzz-max-len: 8192
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <expat.h>
#include <netdb.h>

#include "dest.h"
#include "group.h"
#include "nm.h"
#include "nm_int.h"
#include "query.h"
#include "svc.h"
#include "watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_soap: check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

#define TEL_DOMAIN "tel.example"
#define ACTION "\"\""
#define NS_SOAP11 "http://schemas.xmlsoap.org/soap/envelope/"

static const char GROUPS[] =
	"# groups of fuzz_soap (format: src/group.h)\n"
	"sip:team@x   sip:busy@x sip:online@x sip:silent@x\n"
	"sip:outer@x  sip:team@x sip:private@x tel:+1234\n"
	"sip:dups@x   sip:busy@x sip:busy@x sip:offline@x\n"
	"sip:big@x    sip:m1@x sip:m2@x sip:m3@x sip:m4@x sip:m5@x\n"
	"sip:loop1@x  sip:loop2@x sip:bad@x\n"
	"sip:loop2@x  sip:loop1@x sip:unknown@x\n"
	"sip:hollow@x sip:empty@x\n"
	"sip:empty@x\n";

/* --- the fake SIP side ---------------------------------------------------- */

static int fake_watch_token, fake_nm_token;
#define FAKE_WATCH ((struct watch *)&fake_watch_token)
#define FAKE_NM ((struct nm *)&fake_nm_token)

struct fake_entry {
	const char *uri;      /* the URI, or the URI followed by ; or ? */
	enum fetch_outcome outcome;
	ts_status status;
	int sip_status;
	const char *detail;
};

static const struct fake_entry FAKE_TABLE[] = {
	{ "sip:busy@x", FETCH_OK, TS_BUSY, 200, "" },
	{ "sip:online@x", FETCH_OK, TS_REACHABLE, 200, "" },
	{ "sip:offline@x", FETCH_OK, TS_UNREACHABLE, 200, "" },
	{ "sip:silent@x", FETCH_TIMEOUT, TS_UNREACHABLE, 0, "" },
	{ "sip:private@x", FETCH_REJECTED, TS_UNREACHABLE, 403, "" },
	{ "sip:unknown@x", FETCH_NORESOURCE, TS_UNREACHABLE, 404, "" },
	{ "sip:bad@x", FETCH_FAILED, TS_UNREACHABLE, 200, "presence document: malformed" },
	{ "sip:+1234@" TEL_DOMAIN ";user=phone", FETCH_OK, TS_BUSY, 200, "" },
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static const struct fake_entry *fake_lookup(const char *uri)
{
	for (size_t i = 0; i < sizeof(FAKE_TABLE) / sizeof(FAKE_TABLE[0]); i++) {
		size_t n = strlen(FAKE_TABLE[i].uri);

		if (strncmp(uri, FAKE_TABLE[i].uri, n) == 0 &&
		    (uri[n] == '\0' || uri[n] == ';' || uri[n] == '?'))
			return &FAKE_TABLE[i];
	}
	return NULL;
}

/* no subscription is watched here: every query goes to watch_submit */
bool watch_status_published(struct watch *w, const char *sip_uri, ts_status *st,
			    int64_t *learned_ms)
{
	(void)st;
	(void)learned_ms;
	CHECK(w == FAKE_WATCH && sip_uri && sip_uri[0]);
	return false;
}

void watch_count_from_state(struct watch *w, unsigned long n)
{
	(void)w;
	(void)n;
	CHECK(0);
}

int watch_submit(struct watch *w, struct watch_job *job)
{
	CHECK(w == FAKE_WATCH);
	CHECK(job && job->done && job->results);
	CHECK(job->n > 0 && job->concurrency >= 1);
	for (size_t i = 0; i < job->n; i++)
		if (strcmp(job->results[i].uri, "sip:down@x") == 0)
			return -1;
	for (size_t i = 0; i < job->n; i++) {
		struct fetch_result *r = &job->results[i];
		const struct fake_entry *e;
		uint64_t h;

		CHECK(r->uri && r->uri[0]);
		CHECK(r->outcome == FETCH_PENDING);
		e = fake_lookup(r->uri);
		if (e) {
			r->outcome = e->outcome;
			r->status = e->status;
			r->sip_status = e->sip_status;
			snprintf(r->detail, sizeof(r->detail), "%s", e->detail);
			continue;
		}
		h = hash(r->uri);
		r->outcome = (enum fetch_outcome)(FETCH_OK + h % 5);
		r->status = (ts_status)((h >> 8) % 3);
		r->sip_status = r->outcome == FETCH_OK ? 200 : 500;
		snprintf(r->detail, sizeof(r->detail), "%s",
			 (h >> 16) % 2 ? "fetch <failed> & \"odd\" 'reason'" : "");
	}
	job->done(job, job->arg);
	return 0;
}

int nm_start_async(struct nm *nm, struct nm_start *s, nm_done_h *done, void *arg)
{
	uint64_t h;

	CHECK(nm == FAKE_NM);
	CHECK(s && done && s->correlator && s->endpoint && s->n > 0);
	for (size_t i = 0; i < s->n; i++)
		CHECK(s->addresses[i] && s->sip_uris[i]);
	h = hash(s->correlator);
	switch (h % 6) {
	case 0:
		return -1;      /* the SIP thread is down */
	case 1:
		s->failed = true;
		fault_set(&s->fault, SVC0005, s->correlator, "reference.correlator", NULL);
		break;
	case 2:
		s->failed = true;
		fault_set(&s->fault, POL0002, s->addresses[0], NULL);
		break;
	case 3:
		s->failed = true;
		fault_set(&s->fault, SVC0001, "presence server: <timeout> & \"more\"", NULL);
		break;
	default:
		break;
	}
	done(arg);
	return 0;
}

int nm_end_async(struct nm *nm, struct nm_end *e, nm_done_h *done, void *arg)
{
	uint64_t h;

	CHECK(nm == FAKE_NM);
	CHECK(e && done && e->correlator && e->correlator[0]);
	h = hash(e->correlator);
	switch (h % 4) {
	case 0:
		return -1;
	case 1:
		e->failed = true;
		fault_set(&e->fault, SVC0002, "correlator", NULL);
		break;
	default:
		break;
	}
	done(arg);
	return 0;
}

/* --- gateways ----------------------------------------------------------------- */

struct gw {
	struct query_env env;
	struct nm_policy pol;
	struct svc *s;
};

enum { PERMISSIVE, NO_GROUPS, TIGHT, USERS, NGW };
static struct gw gws[NGW];
static struct group_set *groups;

static void gw_init(struct gw *g, const struct group_policy *gp, const struct nm_policy *pol)
{
	g->env.watch = FAKE_WATCH;
	g->env.groups = groups;
	g->env.policy = *gp;
	g->env.tel_domain = TEL_DOMAIN;
	g->env.group_concurrency = 4;
	g->pol = *pol;
	g->pol.groups = *gp;
	g->s = svc_new(&g->env);
	CHECK(g->s);
	svc_set_notifications(g->s, FAKE_NM, &g->pol, NOTIF_STYLE_STATUS_NOTIFICATION);
}

/* The users file of USERS: one user. */
#define FUZZ_USER "fuzz"
#define FUZZ_PASSWORD "pw-fuzz"

static int fake_check(const char *client, const char *user, const char *password,
		      enum auth_role *role, void *arg)
{
	(void)arg;
	CHECK(client && user && password);
	if (strcmp(user, FUZZ_USER) != 0 || strcmp(password, FUZZ_PASSWORD) != 0)
		return -1;
	*role = AUTH_ROLE_APP;
	return 0;
}

/* --- checking a response ------------------------------------------------------ */

struct xcheck {
	int depth;
	bool root_ok;
	bool fault;          /* a SOAP 1.1 Fault element */
};

static void XMLCALL x_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct xcheck *x = ud;

	(void)attrs;
	if (x->depth++ == 0)
		x->root_ok = strcmp(name, NS_SOAP11 "|Envelope") == 0;
	if (strcmp(name, NS_SOAP11 "|Fault") == 0)
		x->fault = true;
}

static void XMLCALL x_end(void *ud, const XML_Char *name)
{
	struct xcheck *x = ud;

	(void)name;
	x->depth--;
}

static void check_response(const struct svc_response *out)
{
	struct xcheck x = { 0 };
	XML_Parser xp;
	enum XML_Status st;

	CHECK(out->http_status == 200 || out->http_status == 500 || out->http_status == 401);
	CHECK(out->body != NULL);
	CHECK(out->len == strlen(out->body));
	if (getenv("FUZZ_SOAP_DUMP"))
		fprintf(stderr, "--- HTTP %d\n%s\n", out->http_status, out->body);
	CHECK(!strstr(out->body, "<wsse:Security"));   /* the header is never echoed */
	if (out->http_status == 401) {
		CHECK(strcmp(out->body, "authentication required\n") == 0);
		return;
	}
	xp = XML_ParserCreateNS(NULL, '|');
	CHECK(xp);
	XML_SetUserData(xp, &x);
	XML_SetElementHandler(xp, x_start, x_end);
	st = XML_Parse(xp, out->body, (int)out->len, XML_TRUE);
	if (st != XML_STATUS_OK) {
		fprintf(stderr, "fuzz_soap: response is not well-formed XML (%s at line %lu "
			"column %lu):\n%s\n", XML_ErrorString(XML_GetErrorCode(xp)),
			(unsigned long)XML_GetCurrentLineNumber(xp),
			(unsigned long)XML_GetCurrentColumnNumber(xp), out->body);
		abort();
	}
	XML_ParserFree(xp);
	CHECK(x.root_ok);
	CHECK(x.fault == (out->http_status == 500));
}

/* --- serving ------------------------------------------------------------------ */

static void wake(void *arg)
{
	int *woken = arg;

	(*woken)++;
}

/* Serves body (NUL-terminated, len bytes before the NUL) as src/front.c
 * does, for a caller without HTTP Basic credentials. Returns the response
 * body (malloc'd) with *status. */
static char *serve(struct svc *s, const char *body, size_t len, int *status)
{
	struct svc_pending *p = (struct svc_pending *)&fake_watch_token;   /* must be set */
	struct svc_caller who = { .client = "127.0.0.1" };
	struct svc_response out;
	enum svc_rc rc;

	memset(&out, 0, sizeof(out));
	rc = svc_handle(s, body, len, ACTION, &who, &p, &out);
	/* an operation runs only for the one user (USERS) or anonymously */
	CHECK(strcmp(who.app, "") == 0 || strcmp(who.app, FUZZ_USER) == 0);
	CHECK(!who.admin && !who.basic);
	if (rc == SVC_WAIT) {
		int woken = 0, start;

		CHECK(p != NULL && p != (struct svc_pending *)&fake_watch_token);
		CHECK(out.body == NULL);
		start = svc_start(p, wake, &woken);
		CHECK(start == 0 || start == -1);
		CHECK(woken == (start == 0));
		memset(&out, 0, sizeof(out));
		svc_finish(s, p, body, len, ACTION, &out);
	} else {
		CHECK(rc == SVC_DONE);
		CHECK(p == NULL);
	}
	check_response(&out);
	svc_usage_clear(&out.usage);
	*status = out.http_status;
	return out.body;
}

/* startNotification checks its callback endpoint's destination, which
 * resolves host names: the fuzzer's names must never reach a DNS server,
 * so only numeric hosts are read (as getaddrinfo reads them) and every
 * name is unknown. */
static int numeric_lookup(const char *name, const struct addrinfo *hints, struct addrinfo **res)
{
	struct addrinfo h = hints ? *hints : (struct addrinfo){ 0 };

	h.ai_flags |= AI_NUMERICHOST;
	return getaddrinfo(name, NULL, &h, res);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char warm[] =
		"<s:Envelope xmlns:s=\"" NS_SOAP11 "\"><s:Body/></s:Envelope>";
	const struct group_policy permissive = {
		.group_support = true, .nested_groups = true, .max_targets = 100, .up_to_limit = true,
	};
	const struct group_policy no_groups = {
		.group_support = false, .nested_groups = false, .max_targets = 100, .up_to_limit = true,
	};
	const struct group_policy tight = {
		.group_support = true, .nested_groups = false, .max_targets = 2, .up_to_limit = false,
	};
	const struct nm_policy open_pol = {
		.max_addresses = 100, .default_duration_ms = 3600000, .max_duration_ms = 86400000,
		.min_interval_ms = 0, .max_count = 1000, .unlimited_count_allowed = true,
	};
	const struct nm_policy tight_pol = {
		.max_addresses = 2, .default_duration_ms = 60000, .max_duration_ms = 3600000,
		.min_interval_ms = 5000, .max_count = 3, .unlimited_count_allowed = false,
	};
	char path[64], err[512];
	int fd;

	dest_set_lookup(numeric_lookup);

	(void)argc;
	(void)argv;
	fd = memfd_create("fuzz_soap_groups", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(write(fd, GROUPS, sizeof(GROUPS) - 1) == (ssize_t)(sizeof(GROUPS) - 1));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (group_load(path, &groups, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_soap: groups: %s\n", err);
		abort();
	}
	close(fd);
	gw_init(&gws[PERMISSIVE], &permissive, &open_pol);
	gw_init(&gws[NO_GROUPS], &no_groups, &open_pol);
	gw_init(&gws[TIGHT], &tight, &tight_pol);
	gw_init(&gws[USERS], &permissive, &open_pol);
	svc_set_auth(gws[USERS].s, fake_check, NULL);
	/* each gateway makes its per-thread gSOAP context before the first input */
	for (int i = 0; i < NGW; i++) {
		int status;

		free(serve(gws[i].s, warm, sizeof(warm) - 1, &status));
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = malloc(size + 1);

	CHECK(body);
	memcpy(body, data, size);
	body[size] = '\0';
	for (int i = 0; i < NGW; i++) {
		int st1, st2;
		char *a1 = serve(gws[i].s, body, size, &st1), *a2;

		if (i == PERMISSIVE) {
			a2 = serve(gws[i].s, body, size, &st2);
			if (st1 != st2 || strcmp(a1, a2) != 0) {
				fprintf(stderr, "fuzz_soap: the same request answered twice differently:\n"
					"--- HTTP %d\n%s\n--- HTTP %d\n%s\n", st1, a1, st2, a2);
				abort();
			}
			free(a2);
		}
		free(a1);
	}
	free(body);
	return 0;
}
