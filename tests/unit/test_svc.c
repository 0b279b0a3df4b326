/*
 * test_svc.c - the SOAP glue (svc_) fed canned SOAP envelopes, with no
 * sockets and no SIP.
 *
 * Linked with the real svc, query, addr, group, fault, ts and log modules
 * and the generated gSOAP code, but not with watch: this file defines
 * watch_submit() as a fake that answers every fetch at once from a table
 * keyed by SIP URI, records what it was asked, and can play "watcher down".
 *
 * Requests are driven the way the HTTP front does it (src/front.c
 * serve_soap / finish_soap): svc_handle; on SVC_WAIT svc_start then
 * svc_finish with the same body. The request envelopes live in
 * tests/data/soap/; the expected fragments are asserted here.
 *
 * TEST_SVC_DUMP=1 prints every request's response on stderr.
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testfile.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "group.h"
#include "query.h"
#include "rate.h"
#include "svc.h"
#include "nm.h"
#include "nm_int.h"
#include "notif.h"
#include "ts.h"
#include "watch.h"

#define SOAP_DIR TEST_DATA_DIR "/soap/"
#define TEL_DOMAIN "tel.example"
#define ACTION "\"\""

#define NS_SOAP11 "http://schemas.xmlsoap.org/soap/envelope/"
#define NS_SOAP12 "http://www.w3.org/2003/05/soap-envelope"
#define NS_LOCAL "http://www.csapi.org/schema/parlayx/terminal_status/v2_3/local"
#define NS_COMMON "http://www.csapi.org/schema/parlayx/common/v2_1"

/* Contract section 6 templates, written out here on purpose. */
#define T_SVC0001 "A service error occurred. Error code is %1"
#define T_SVC0002 "Invalid input value for message part %1"
#define T_SVC0004 "No valid addresses provided in message part %1"
#define T_SVC0006 "Group %1 in message part %2 is not a valid group"
#define T_POL0001 "A policy error occurred. Error code is %1"
#define T_POL0002 "Privacy verification failed for address %1, request is refused"
#define T_POL0003 "Too many addresses specified in message part %1"
#define T_POL0006 "Group specified in message part %1 not allowed"
#define T_POL0007 "Nested groups specified in message part %1 not allowed"

/* --- the fake watcher ---------------------------------------------------- */

struct fake_entry {
	const char *uri;      /* matches the URI, or the URI followed by ; or ? */
	enum fetch_outcome outcome;
	ts_status status;
	int sip_status;
	const char *detail;
};

static const struct fake_entry fake_table[] = {
	{ "sip:busy@x", FETCH_OK, TS_BUSY, 200, "" },
	{ "sip:online@x", FETCH_OK, TS_REACHABLE, 200, "" },
	{ "sip:offline@x", FETCH_OK, TS_UNREACHABLE, 200, "" },
	{ "sip:silent@x", FETCH_TIMEOUT, TS_UNREACHABLE, 0, "" },
	{ "sip:private@x", FETCH_REJECTED, TS_UNREACHABLE, 403, "" },
	{ "sip:private&b@x", FETCH_REJECTED, TS_UNREACHABLE, 403, "" },
	{ "sip:unknown@x", FETCH_NORESOURCE, TS_UNREACHABLE, 404, "" },
	{ "sip:bad@x", FETCH_FAILED, TS_UNREACHABLE, 200, "presence document: malformed" },
	{ "sip:+1234@" TEL_DOMAIN ";user=phone", FETCH_OK, TS_BUSY, 200, "" },
	{ "sip:+5555@" TEL_DOMAIN ";user=phone", FETCH_REJECTED, TS_UNREACHABLE, 603, "" },
};
/* anything else: FETCH_OK, Reachable */

#define FAKE_MAX_ASKED 64

/* the subscriptions' published state (watch_status_published): what a
 * test puts here is answered without watch_submit */
#define FAKE_MAX_PUBLISHED 4
struct fake_published {
	const char *uri;
	ts_status status;
	int64_t learned_ms;
};

static struct {
	struct fake_published published[FAKE_MAX_PUBLISHED];
	size_t npublished;
	size_t published_asks;     /* watch_status_published calls */
	unsigned long from_state;  /* watch_count_from_state's sum */
	bool down;                 /* watch_submit returns -1 */
	int submits;               /* jobs accepted */
	size_t nasked;             /* fetches asked for, all jobs */
	char asked[FAKE_MAX_ASKED][TS_ADDR_MAX + 64];
	size_t last_n;
	unsigned last_concurrency;
} fake;

static int fake_watch_token;
#define FAKE_WATCH ((struct watch *)&fake_watch_token)

static const struct fake_entry *fake_lookup(const char *uri)
{
	for (size_t i = 0; i < sizeof(fake_table) / sizeof(fake_table[0]); i++) {
		size_t n = strlen(fake_table[i].uri);

		if (strncmp(uri, fake_table[i].uri, n) == 0 &&
		    (uri[n] == '\0' || uri[n] == ';'))
			return &fake_table[i];
	}
	return NULL;
}

/* The SIP side of the notification manager is not linked. These fakes
 * (reached only once svc_set_notifications gave the svc FAKE_NM) record
 * the application each request came from and succeed at once. */
static int fake_nm_token;
#define FAKE_NM ((struct nm *)&fake_nm_token)

static struct {
	int starts, ends;
	char app[AUTH_NAME_MAX];     /* of the last request */
} fake_nm;

int nm_start_async(struct nm *nm, struct nm_start *st, nm_done_h *done, void *arg)
{
	assert_ptr_equal(nm, FAKE_NM);
	fake_nm.starts++;
	snprintf(fake_nm.app, sizeof(fake_nm.app), "%s", st->app);
	done(arg);
	return 0;
}

int nm_end_async(struct nm *nm, struct nm_end *e, nm_done_h *done, void *arg)
{
	assert_ptr_equal(nm, FAKE_NM);
	fake_nm.ends++;
	snprintf(fake_nm.app, sizeof(fake_nm.app), "%s", e->app);
	done(arg);
	return 0;
}

/* The users file as svc sees it (svc_set_auth): two users. */
#define USER_APP "app1"
#define PW_APP "pw-app1"
#define USER_ADMIN "ops"
#define PW_ADMIN "pw ops:1"
#define CLIENT "127.0.0.7"

static struct {
	int calls;
	char client[AUTH_ADDR_MAX];
	char user[AUTH_NAME_MAX];    /* of the last call */
} fake_auth;

static int fake_check(const char *client, const char *user, const char *password,
		      enum auth_role *role, void *arg)
{
	assert_ptr_equal(arg, &fake_auth);
	fake_auth.calls++;
	snprintf(fake_auth.client, sizeof(fake_auth.client), "%s", client);
	snprintf(fake_auth.user, sizeof(fake_auth.user), "%s", user);
	if (strcmp(user, USER_APP) == 0 && strcmp(password, PW_APP) == 0) {
		*role = AUTH_ROLE_APP;
		return 0;
	}
	if (strcmp(user, USER_ADMIN) == 0 && strcmp(password, PW_ADMIN) == 0) {
		*role = AUTH_ROLE_ADMIN;
		return 0;
	}
	return -1;
}

bool watch_status_published(struct watch *w, const char *sip_uri, ts_status *st,
			    int64_t *learned_ms)
{
	assert_ptr_equal(w, FAKE_WATCH);
	fake.published_asks++;
	for (size_t i = 0; i < fake.npublished; i++)
		if (strcmp(fake.published[i].uri, sip_uri) == 0) {
			*st = fake.published[i].status;
			*learned_ms = fake.published[i].learned_ms;
			return true;
		}
	return false;
}

void watch_count_from_state(struct watch *w, unsigned long n)
{
	assert_ptr_equal(w, FAKE_WATCH);
	fake.from_state += n;
}

static void publish(const char *uri, ts_status st)
{
	assert_true(fake.npublished < FAKE_MAX_PUBLISHED);
	fake.published[fake.npublished++] = (struct fake_published){ uri, st, 1700000000123 };
}

int watch_submit(struct watch *w, struct watch_job *job)
{
	assert_ptr_equal(w, FAKE_WATCH);
	assert_non_null(job);
	assert_non_null(job->done);
	assert_true(job->n > 0);
	assert_true(job->concurrency >= 1);
	if (fake.down)
		return -1;
	fake.submits++;
	fake.last_n = job->n;
	fake.last_concurrency = job->concurrency;
	for (size_t i = 0; i < job->n; i++) {
		struct fetch_result *r = &job->results[i];
		const struct fake_entry *e;

		assert_non_null(r->uri);
		assert_int_equal(r->outcome, FETCH_PENDING);
		if (fake.nasked < FAKE_MAX_ASKED)
			snprintf(fake.asked[fake.nasked], sizeof(fake.asked[0]), "%s", r->uri);
		fake.nasked++;
		e = fake_lookup(r->uri);
		r->outcome = e ? e->outcome : FETCH_OK;
		r->status = e ? e->status : TS_REACHABLE;
		r->sip_status = e ? e->sip_status : 200;
		snprintf(r->detail, sizeof(r->detail), "%s", e ? e->detail : "");
	}
	job->done(job, job->arg);
	return 0;
}

/* --- fixture --------------------------------------------------------------- */

struct fx {
	struct query_env env;
	struct group_set *gs;
	struct svc *s;
	char *req;              /* last request loaded */
	char *body;             /* last response */
	struct svc_caller *who; /* the caller served (NULL: anonymous) */
	struct nm_policy pol;
	char *usage_correlator; /* last response's usage correlator */
};

struct answer {
	int status;
	const char *body;       /* owned by the fixture */
	struct svc_usage usage; /* its correlator owned by the fixture */
	bool waited;            /* svc_handle said SVC_WAIT */
	bool woken;
	int start_rc;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char err[256];

	if (!fx)
		return -1;
	if (group_load(SOAP_DIR "groups.txt", &fx->gs, err, sizeof(err)) != 0) {
		fprintf(stderr, "group_load: %s\n", err);
		free(fx);
		return -1;
	}
	fx->env.watch = FAKE_WATCH;
	fx->env.groups = fx->gs;
	fx->env.policy.group_support = true;
	fx->env.policy.nested_groups = true;
	fx->env.policy.max_targets = 100;
	fx->env.policy.up_to_limit = true;
	fx->env.tel_domain = TEL_DOMAIN;
	fx->env.group_concurrency = 4;
	fx->s = svc_new(&fx->env);
	if (!fx->s) {
		group_free(fx->gs);
		free(fx);
		return -1;
	}
	memset(&fake, 0, sizeof(fake));
	memset(&fake_nm, 0, sizeof(fake_nm));
	memset(&fake_auth, 0, sizeof(fake_auth));
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	svc_thread_done(fx->s);
	svc_free(fx->s);
	group_free(fx->gs);
	free(fx->req);
	free(fx->body);
	free(fx->usage_correlator);
	free(fx);
	return 0;
}

/* Makes a new svc from fx->env (after a policy change). */
static void reconfigure(struct fx *fx)
{
	svc_thread_done(fx->s);
	svc_free(fx->s);
	fx->s = svc_new(&fx->env);
	assert_non_null(fx->s);
}

static void wake(void *arg)
{
	bool *flag = arg;

	assert_false(*flag);
	*flag = true;
}

/* Serves one request as src/front.c does. */
static void serve(struct fx *fx, const char *body, size_t len, struct answer *a)
{
	struct svc_pending *p = (struct svc_pending *)&fake_watch_token; /* must be reset */
	struct svc_response out;
	enum svc_rc rc;

	memset(a, 0, sizeof(*a));
	memset(&out, 0, sizeof(out));
	out.http_status = -1;
	free(fx->body);
	fx->body = NULL;
	rc = svc_handle(fx->s, body, len, ACTION, fx->who, &p, &out);
	if (rc == SVC_WAIT) {
		assert_non_null(p);
		assert_ptr_not_equal(p, (struct svc_pending *)&fake_watch_token);
		a->waited = true;
		a->start_rc = svc_start(p, wake, &a->woken);
		/* the fake completes synchronously; when the start fails wake is not called */
		assert_int_equal(a->woken, a->start_rc == 0);
		memset(&out, 0, sizeof(out));
		out.http_status = -1;
		svc_finish(fx->s, p, body, len, ACTION, &out);
	} else {
		assert_int_equal(rc, SVC_DONE);
		assert_null(p);
	}
	fx->body = out.body;
	if (getenv("TEST_SVC_DUMP"))
		fprintf(stderr, "--- HTTP %d%s\n%s\n", out.http_status, a->waited ? " (waited)" : "",
			out.body ? out.body : "(no body)");
	assert_non_null(out.body);
	assert_int_equal(out.len, strlen(out.body));
	a->status = out.http_status;
	a->body = out.body;
	a->usage = out.usage;        /* its correlator: the fixture's */
	free(fx->usage_correlator);
	fx->usage_correlator = out.usage.correlator;
}

static char *load(const char *name, size_t *len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s%s", SOAP_DIR, name);
	return test_load_file(path, len);
}

static void serve_file(struct fx *fx, const char *name, struct answer *a)
{
	size_t len;

	free(fx->req);
	fx->req = load(name, &len);
	serve(fx, fx->req, len, a);
}

/* Takes ownership of a malloc'd request. */
static void serve_owned(struct fx *fx, char *req, struct answer *a)
{
	free(fx->req);
	fx->req = req;
	serve(fx, req, strlen(req), a);
}

/* --- minimal XML reading ---------------------------------------------------- */

/* The next start tag at or after from whose local name is local (any
 * prefix); NULL if none. The prefix goes to prefix ("" when none). */
static const char *find_start(const char *from, const char *local, char *prefix, size_t cap)
{
	size_t llen = strlen(local);

	for (const char *p = strchr(from, '<'); p; p = strchr(p + 1, '<')) {
		const char *name = p + 1, *colon, *ln;
		size_t n;

		if (*name == '/' || *name == '?' || *name == '!')
			continue;
		n = strcspn(name, " \t\r\n/>");
		colon = memchr(name, ':', n);
		ln = colon ? colon + 1 : name;
		if ((size_t)(name + n - ln) == llen && memcmp(ln, local, llen) == 0) {
			if (prefix)
				snprintf(prefix, cap, "%.*s", colon ? (int)(colon - name) : 0, name);
			return p;
		}
	}
	return NULL;
}

/* The text of the element whose start tag is at tag (up to the next '<'). */
static void text_of(const char *tag, char *buf, size_t cap)
{
	const char *gt = strchr(tag, '>'), *lt;

	if (!gt || gt[-1] == '/') {
		buf[0] = '\0';
		return;
	}
	lt = strchr(gt + 1, '<');
	snprintf(buf, cap, "%.*s", lt ? (int)(lt - gt - 1) : (int)strlen(gt + 1), gt + 1);
}

/* The namespace bound to prefix: declared on the tag at tag, else the first
 * declaration in the document (gSOAP declares them all on the Envelope). */
static void ns_of(const char *body, const char *tag, const char *prefix, char *buf, size_t cap)
{
	char attr[80];
	const char *gt = strchr(tag, '>'), *d;

	snprintf(attr, sizeof(attr), *prefix ? "xmlns:%s=\"" : "xmlns=\"", prefix);
	d = strstr(tag, attr);
	if (!d || (gt && d > gt))
		d = strstr(body, attr);
	if (!d) {
		buf[0] = '\0';
		return;
	}
	d += strlen(attr);
	snprintf(buf, cap, "%.*s", (int)strcspn(d, "\""), d);
}

/* Asserts that the first element named local at or after from (in the
 * document doc) is in namespace ns; returns it. */
static const char *expect_ns(const char *doc, const char *from, const char *local, const char *ns)
{
	char prefix[64], got[256];
	const char *tag = find_start(from, local, prefix, sizeof(prefix));

	if (!tag)
		fail_msg("no <%s> in:\n%s", local, doc);
	ns_of(doc, tag, prefix, got, sizeof(got));
	if (strcmp(got, ns) != 0)
		fail_msg("<%s> is in namespace \"%s\", wanted \"%s\"", local, got, ns);
	return tag;
}

static const char *expect_elem_ns(const char *body, const char *local, const char *ns)
{
	return expect_ns(body, body, local, ns);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void expect_contains(const char *body, const char *frag)
{
	if (!strstr(body, frag))
		fail_msg("\"%s\" not found in:\n%s", frag, body);
}

/* A SOAP 1.1 envelope, never a SOAP 1.2 one. */
static void expect_soap11(const char *body)
{
	expect_elem_ns(body, "Envelope", NS_SOAP11);
	expect_elem_ns(body, "Body", NS_SOAP11);
	assert_null(strstr(body, NS_SOAP12));
}

/* --- expectations ---------------------------------------------------------- */

struct xfault {
	const char *code;        /* "Client", "Server", "VersionMismatch" */
	const char *exception;   /* "ServiceException", "PolicyException" or NULL (none) */
	const char *msgid;
	const char *text;        /* template */
	const char *string;      /* faultstring exactly; NULL: the template filled with vars */
	const char *vars[3];     /* NULL-terminated */
};

/* Fills the template with the variables (%1..%3). */
static void fill(const char *tmpl, const char *const *vars, char *buf, size_t cap)
{
	size_t n = 0;

	for (const char *p = tmpl; *p && n + 1 < cap; p++) {
		if (p[0] == '%' && p[1] >= '1' && p[1] <= '3' && vars[p[1] - '1']) {
			n += (size_t)snprintf(buf + n, cap - n, "%s", vars[p[1] - '1']);
			p++;
		} else {
			buf[n++] = *p;
		}
	}
	buf[n < cap ? n : cap - 1] = '\0';
}

/* A fault with the given faultcode; returns the <Fault> tag. */
static const char *expect_fault_code(const struct answer *a, const char *code)
{
	char prefix[64], got[256], ns[256];
	const char *fault, *fc;
	const char *colon;

	if (a->status != 500)
		fail_msg("HTTP %d, wanted 500 with a Fault:\n%s", a->status, a->body);
	expect_soap11(a->body);
	fault = expect_elem_ns(a->body, "Fault", NS_SOAP11);
	assert_int_equal(count(a->body, "Fault>"), 2); /* one Fault, opened and closed */
	fc = find_start(fault, "faultcode", prefix, sizeof(prefix));
	assert_non_null(fc);
	assert_string_equal(prefix, "");                /* unqualified, SOAP 1.1 */
	text_of(fc, got, sizeof(got));
	colon = strchr(got, ':');
	if (!colon || strcmp(colon + 1, code) != 0)
		fail_msg("faultcode \"%s\", wanted <prefix>:%s", got, code);
	snprintf(prefix, sizeof(prefix), "%.*s", (int)(colon - got), got);
	ns_of(a->body, fault, prefix, ns, sizeof(ns));
	assert_string_equal(ns, NS_SOAP11);
	assert_non_null(find_start(fault, "faultstring", NULL, 0));
	return fault;
}

static void expect_fault(const struct answer *a, const struct xfault *x)
{
	const char *fault = expect_fault_code(a, x->code);
	const char *fs, *ex, *p, *end;
	char want[2048], got[2048], prefix[64], endtag[96];
	size_t nv = 0;

	while (nv < 3 && x->vars[nv])
		nv++;
	fs = find_start(fault, "faultstring", NULL, 0);
	text_of(fs, got, sizeof(got));
	if (x->string)
		snprintf(want, sizeof(want), "%s", x->string);
	else
		fill(x->text, x->vars, want, sizeof(want));
	assert_string_equal(got, want);

	if (!x->exception) {
		assert_null(find_start(fault, "ServiceException", NULL, 0));
		assert_null(find_start(fault, "PolicyException", NULL, 0));
		return;
	}
	assert_null(find_start(fault, strcmp(x->exception, "ServiceException") == 0 ?
			       "PolicyException" : "ServiceException", NULL, 0));
	ex = expect_ns(a->body, fault, x->exception, NS_COMMON);
	assert_non_null(find_start(fault, "detail", NULL, 0));
	assert_true(find_start(fault, "detail", NULL, 0) < ex);
	/* the detail element's own children */
	find_start(ex, x->exception, prefix, sizeof(prefix));
	snprintf(endtag, sizeof(endtag), "</%s%s%s>", prefix, *prefix ? ":" : "", x->exception);
	end = strstr(ex, endtag);
	assert_non_null(end);
	snprintf(want, sizeof(want), "<messageId>%s</messageId>", x->msgid);
	p = strstr(ex, want);
	if (!p || p > end)
		fail_msg("%s not in the %s:\n%s", want, x->exception, a->body);
	snprintf(want, sizeof(want), "<text>%s</text>", x->text);
	p = strstr(ex, want);
	if (!p || p > end)
		fail_msg("%s not in the %s:\n%s", want, x->exception, a->body);
	/* one <variables> per value, in order, unqualified */
	p = ex;
	for (size_t i = 0; i < nv; i++) {
		snprintf(want, sizeof(want), "<variables>%s</variables>", x->vars[i]);
		p = strstr(p, want);
		if (!p || p > end)
			fail_msg("%s (variable %zu) not in order in:\n%s", want, i + 1, a->body);
		p++;
	}
	p = ex;
	for (size_t i = 0; i <= nv; i++) {
		const char *v = find_start(p, "variables", prefix, sizeof(prefix));

		if (i == nv) {
			if (v && v < end)
				fail_msg("more than %zu <variables> in:\n%s", nv, a->body);
			break;
		}
		assert_non_null(v);
		assert_string_equal(prefix, "");
		p = v + 1;
	}
}

/* SVC0001 with one variable whose value is implementation detail. */
static void expect_svc0001(const struct answer *a, const char *var)
{
	const char *fault = expect_fault_code(a, "Server");
	const char *ex = expect_ns(a->body, fault, "ServiceException", NS_COMMON);
	const char *v;
	char got[1024], want[1200];

	expect_contains(ex, "<messageId>SVC0001</messageId>");
	expect_contains(ex, "<text>" T_SVC0001 "</text>");
	assert_int_equal(count(ex, "<variables>"), 1);
	v = find_start(ex, "variables", NULL, 0);
	text_of(v, got, sizeof(got));
	assert_true(strlen(got) > 0);
	if (var)
		assert_string_equal(got, var);
	snprintf(want, sizeof(want), "A service error occurred. Error code is %s", got);
	text_of(find_start(fault, "faultstring", NULL, 0), got, sizeof(got));
	assert_string_equal(got, want);
}

static void expect_no_fetch(void)
{
	assert_int_equal(fake.submits, 0);
	assert_int_equal(fake.nasked, 0);
}

/* getStatus answered 200 with result status; the wrapper in the local namespace. */
static void expect_get_status(const struct answer *a, const char *status)
{
	const char *resp, *res;
	char prefix[64], got[64];

	if (a->status != 200)
		fail_msg("HTTP %d, wanted 200:\n%s", a->status, a->body);
	expect_soap11(a->body);
	assert_null(find_start(a->body, "Fault", NULL, 0));
	resp = expect_elem_ns(a->body, "getStatusResponse", NS_LOCAL);
	res = find_start(resp, "result", prefix, sizeof(prefix));
	assert_non_null(res);
	/* result is a child of the local wrapper: qualified, same namespace */
	assert_string_not_equal(prefix, "");
	expect_ns(a->body, resp, "result", NS_LOCAL);
	text_of(res, got, sizeof(got));
	assert_string_equal(got, status);
	assert_int_equal(count(a->body, "result>"), 2);
}

/* --- getStatus --------------------------------------------------------------- */

static void get_status_ok(void **state, const char *file, const char *uri, const char *status)
{
	struct fx *fx = *state;
	struct answer a;

	serve_file(fx, file, &a);
	assert_true(a.waited);
	assert_int_equal(a.start_rc, 0);
	expect_get_status(&a, status);
	/* its usage record */
	assert_string_equal(a.usage.operation, "getStatus");
	assert_int_equal(a.usage.addresses, 1);
	assert_int_equal(a.usage.expanded, 1);
	assert_int_equal(a.usage.count, -1);
	assert_null(a.usage.correlator);
	assert_int_equal(a.usage.fault, FAULT_NONE);
	assert_string_equal(a.usage.cause, "");
	assert_int_equal(fake.submits, 1);
	assert_int_equal(fake.nasked, 1);
	assert_int_equal(fake.last_concurrency, 1);
	assert_string_equal(fake.asked[0], uri);
}

static void test_get_status_busy(void **state)
{
	get_status_ok(state, "getStatus-busy.xml", "sip:busy@x", "Busy");
	/* the brief's literal form, with the prefix gSOAP uses for the local namespace */
	expect_contains(((struct fx *)*state)->body, "<tsl:result>Busy</tsl:result>");
	expect_contains(((struct fx *)*state)->body, "xmlns:tsl=\"" NS_LOCAL "\"");
}

static void test_get_status_reachable(void **state)
{
	get_status_ok(state, "getStatus-reachable.xml", "sip:online@x", "Reachable");
}

static void test_get_status_unreachable(void **state)
{
	get_status_ok(state, "getStatus-unreachable.xml", "sip:offline@x", "Unreachable");
}

/* A watched presentity (its subscription's status published): answered
 * at once in the first pass, no fetch, the published status (not the one
 * a fetch would give), the same usage record. */
static void test_get_status_from_state(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	publish("sip:busy@x", TS_UNREACHABLE);
	serve_file(fx, "getStatus-busy.xml", &a);
	assert_false(a.waited);
	expect_get_status(&a, "Unreachable");
	assert_int_equal(fake.submits, 0);
	assert_int_equal(fake.nasked, 0);
	assert_int_equal(fake.published_asks, 1);
	assert_int_equal(fake.from_state, 1);
	assert_string_equal(a.usage.operation, "getStatus");
	assert_int_equal(a.usage.addresses, 1);
	assert_int_equal(a.usage.expanded, 1);
	assert_int_equal(a.usage.fault, FAULT_NONE);
	assert_string_equal(a.usage.cause, "");
	/* another presentity is not published: fetched as before */
	serve_file(fx, "getStatus-reachable.xml", &a);
	assert_true(a.waited);
	expect_get_status(&a, "Reachable");
	assert_int_equal(fake.submits, 1);
	assert_int_equal(fake.from_state, 1);
}

/* The child of the wrapper unqualified (some stacks), or in a default namespace. */
static void test_get_status_unqualified_address(void **state)
{
	get_status_ok(state, "getStatus-unqualified.xml", "sip:busy@x", "Busy");
}

static void test_get_status_default_namespace(void **state)
{
	get_status_ok(state, "getStatus-default-ns.xml", "sip:busy@x", "Busy");
}

/* A UTF-8 byte order mark before the XML declaration. */
static void test_get_status_bom(void **state)
{
	get_status_ok(state, "getStatus-bom.xml", "sip:busy@x", "Busy");
}

static void test_get_status_tel(void **state)
{
	get_status_ok(state, "getStatus-tel.xml", "sip:+1234@" TEL_DOMAIN ";user=phone", "Busy");
}

static void test_get_status_invalid_address(void **state)
{
	static const struct xfault x = { "Client", "ServiceException", "SVC0002", T_SVC0002,
					 "Invalid input value for message part address",
					 { "address" } };
	struct fx *fx = *state;
	struct answer a;

	serve_file(fx, "getStatus-invalid.xml", &a);
	assert_false(a.waited);
	expect_fault(&a, &x);
	expect_no_fetch();
}

static void test_get_status_empty_or_missing_address(void **state)
{
	static const struct xfault x = { "Client", "ServiceException", "SVC0002", T_SVC0002,
					 "Invalid input value for message part address",
					 { "address" } };
	struct fx *fx = *state;
	struct answer a;

	serve_file(fx, "getStatus-empty-address.xml", &a);
	expect_fault(&a, &x);
	serve_file(fx, "getStatus-no-address.xml", &a);
	/* gSOAP may refuse the missing required element itself: a Client fault either way */
	expect_fault_code(&a, "Client");
	expect_no_fetch();
}

/* A getStatus envelope whose address is "sip:" + n times ch + "@x". */
static char *long_address_envelope(size_t n, char ch)
{
	static const char head[] = "<s:Envelope xmlns:s=\"" NS_SOAP11 "\" xmlns:l=\"" NS_LOCAL
				   "\"><s:Body><l:getStatus><l:address>sip:";
	static const char tail[] = "@x</l:address></l:getStatus></s:Body></s:Envelope>";
	char *req = malloc(sizeof(head) + n + sizeof(tail));

	assert_non_null(req);
	memcpy(req, head, sizeof(head) - 1);
	memset(req + sizeof(head) - 1, ch, n);
	memcpy(req + sizeof(head) - 1 + n, tail, sizeof(tail));
	return req;
}

static void test_get_status_long_address(void **state)
{
	static const struct xfault x = { "Client", "ServiceException", "SVC0002", T_SVC0002,
					 "Invalid input value for message part address",
					 { "address" } };
	struct fx *fx = *state;
	struct answer a;

	/* longer than TS_ADDR_MAX: refused by the address check */
	serve_owned(fx, long_address_envelope(600, 'a'), &a);
	expect_fault(&a, &x);
	/* longer than gSOAP's string limit: a fault from the parser, no crash */
	serve_owned(fx, long_address_envelope(30000, 'b'), &a);
	expect_fault_code(&a, "Client");
	expect_no_fetch();
}

static void test_get_status_group_uri(void **state)
{
	static const struct xfault x = { "Server", "PolicyException", "POL0006", T_POL0006,
					 "Group specified in message part address not allowed",
					 { "address" } };
	struct fx *fx = *state;
	struct answer a;

	serve_file(fx, "getStatus-group.xml", &a);
	expect_fault(&a, &x);
	/* also when groups are supported for getStatusForGroup or not */
	fx->env.policy.group_support = false;
	reconfigure(fx);
	serve_file(fx, "getStatus-group.xml", &a);
	expect_fault(&a, &x);
	expect_no_fetch();
}

static void test_get_status_timeout(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve_file(fx, "getStatus-silent.xml", &a);
	assert_true(a.waited);
	expect_svc0001(&a, NULL);
	assert_int_equal(a.usage.fault, SVC0001);
	assert_string_equal(a.usage.cause, "timeout");
	assert_int_equal(fake.nasked, 1);
	assert_string_equal(fake.asked[0], "sip:silent@x");
}

static void test_get_status_rejected(void **state)
{
	static const struct xfault x = {
		"Server", "PolicyException", "POL0002", T_POL0002,
		"Privacy verification failed for address sip:private@x, request is refused",
		{ "sip:private@x" } };
	struct fx *fx = *state;
	struct answer a;

	serve_file(fx, "getStatus-private.xml", &a);
	assert_true(a.waited);
	expect_fault(&a, &x);
}

/* The variable is the address as the client wrote it (escaped on the wire). */
static void test_get_status_rejected_address_as_written(void **state)
{
	static const struct xfault tel = {
		"Server", "PolicyException", "POL0002", T_POL0002,
		"Privacy verification failed for address tel:+5555, request is refused",
		{ "tel:+5555" } };
	static const struct xfault amp = {
		"Server", "PolicyException", "POL0002", T_POL0002,
		"Privacy verification failed for address sip:private&amp;b@x, request is refused",
		{ "sip:private&amp;b@x" } };
	struct fx *fx = *state;
	struct answer a;

	serve_file(fx, "getStatus-tel-private.xml", &a);
	expect_fault(&a, &tel);
	assert_string_equal(fake.asked[0], "sip:+5555@" TEL_DOMAIN ";user=phone");
	serve_file(fx, "getStatus-private-amp.xml", &a);
	expect_fault(&a, &amp);
	assert_string_equal(fake.asked[1], "sip:private&b@x");
}

static void test_get_status_noresource(void **state)
{
	static const struct xfault x = { "Client", "ServiceException", "SVC0004", T_SVC0004,
					 "No valid addresses provided in message part address",
					 { "address" } };
	struct fx *fx = *state;
	struct answer a;

	serve_file(fx, "getStatus-unknown.xml", &a);
	assert_true(a.waited);
	expect_fault(&a, &x);
	assert_string_equal(a.usage.operation, "getStatus");
	assert_int_equal(a.usage.fault, SVC0004);
	assert_string_equal(a.usage.cause, "sip 404");
}

static void test_get_status_failed(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve_file(fx, "getStatus-bad.xml", &a);
	expect_svc0001(&a, "presence document: malformed");
}

static void test_get_status_watcher_down(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	fake.down = true;
	serve_file(fx, "getStatus-busy.xml", &a);
	assert_true(a.waited);
	assert_int_equal(a.start_rc, -1);
	assert_false(a.woken);
	expect_svc0001(&a, NULL);
	assert_int_equal(fake.submits, 0);
	/* and the svc serves again once it is back */
	fake.down = false;
	serve_file(fx, "getStatus-busy.xml", &a);
	expect_get_status(&a, "Busy");
}

/* A pending request dropped before it starts (client gone) leaks nothing. */
static void test_pending_dropped(void **state)
{
	struct fx *fx = *state;
	struct svc_pending *p = NULL;
	struct svc_response out = { 0 };
	size_t len;

	free(fx->req);
	fx->req = load("getStatus-busy.xml", &len);
	assert_int_equal(svc_handle(fx->s, fx->req, len, ACTION, NULL, &p, &out), SVC_WAIT);
	assert_non_null(p);
	assert_null(out.body);
	svc_pending_free(p);
	svc_pending_free(NULL);
	expect_no_fetch();
}

/* --- getStatusForGroup ---------------------------------------------------------- */

struct entry {
	char address[TS_ADDR_MAX + 16];
	char report[32];
	bool has_current, has_error;
	char current[32];
	char msgid[16];
	int nvars;
	char vars[3][256];
};

/* Reads the StatusData entries of a getStatusForGroupResponse; also checks
 * the qualification of every part. Returns how many (at most max). */
static size_t parse_results(const char *body, struct entry *e, size_t max)
{
	const char *resp = expect_elem_ns(body, "getStatusForGroupResponse", NS_LOCAL);
	const char *p = resp;
	size_t n = 0;
	char prefix[64], endtag[80];

	for (;;) {
		const char *r = find_start(p, "result", prefix, sizeof(prefix)), *end, *t;
		char seg[8192];

		if (!r)
			break;
		assert_string_not_equal(prefix, "");   /* qualified: child of the wrapper */
		if (n == 0)
			expect_ns(body, r, "result", NS_LOCAL);
		snprintf(endtag, sizeof(endtag), "</%s:result>", prefix);
		end = strstr(r, endtag);
		assert_non_null(end);
		snprintf(seg, sizeof(seg), "%.*s", (int)(end - r), r);
		p = end;
		if (n >= max) {
			n++;
			continue;
		}
		memset(&e[n], 0, sizeof(e[n]));
		/* the children of the type are unqualified */
		t = find_start(seg, "address", prefix, sizeof(prefix));
		assert_non_null(t);
		assert_string_equal(prefix, "");
		text_of(t, e[n].address, sizeof(e[n].address));
		t = find_start(seg, "reportStatus", prefix, sizeof(prefix));
		assert_non_null(t);
		assert_string_equal(prefix, "");
		text_of(t, e[n].report, sizeof(e[n].report));
		t = find_start(seg, "currentStatus", prefix, sizeof(prefix));
		if (t) {
			assert_string_equal(prefix, "");
			e[n].has_current = true;
			text_of(t, e[n].current, sizeof(e[n].current));
		}
		t = find_start(seg, "errorInformation", prefix, sizeof(prefix));
		if (t) {
			const char *v;

			assert_string_equal(prefix, "");
			e[n].has_error = true;
			v = find_start(t, "messageId", prefix, sizeof(prefix));
			assert_non_null(v);
			assert_string_equal(prefix, "");
			text_of(v, e[n].msgid, sizeof(e[n].msgid));
			assert_non_null(find_start(t, "text", NULL, 0));
			for (v = find_start(t, "variables", prefix, sizeof(prefix)); v;
			     v = find_start(v + 1, "variables", prefix, sizeof(prefix))) {
				assert_string_equal(prefix, "");
				assert_true(e[n].nvars < 3);
				text_of(v, e[n].vars[e[n].nvars], sizeof(e[n].vars[0]));
				e[n].nvars++;
			}
		}
		n++;
	}
	return n;
}

static void expect_retrieved(const struct entry *e, const char *address, const char *status)
{
	assert_string_equal(e->address, address);
	assert_string_equal(e->report, "Retrieved");
	assert_true(e->has_current);
	assert_string_equal(e->current, status);
	assert_false(e->has_error);
}

static void expect_not_retrieved(const struct entry *e, const char *address)
{
	assert_string_equal(e->address, address);
	assert_string_equal(e->report, "NotRetrieved");
	assert_false(e->has_current);
	assert_false(e->has_error);
}

static void expect_error(const struct entry *e, const char *address, const char *msgid,
			 const char *var)
{
	assert_string_equal(e->address, address);
	assert_string_equal(e->report, "Error");
	assert_false(e->has_current);
	assert_true(e->has_error);
	assert_string_equal(e->msgid, msgid);
	if (var) {
		assert_int_equal(e->nvars, 1);
		assert_string_equal(e->vars[0], var);
	}
}

/* Serves file and expects a 200 getStatusForGroupResponse. */
static size_t serve_group(struct fx *fx, const char *file, struct entry *e, size_t max)
{
	struct answer a;

	serve_file(fx, file, &a);
	if (a.status != 200)
		fail_msg("HTTP %d, wanted 200:\n%s", a.status, a.body);
	assert_true(a.waited);
	expect_soap11(a.body);
	assert_null(find_start(a.body, "Fault", NULL, 0));
	/* nothing in a default namespace: unprefixed elements are unqualified */
	assert_null(strstr(a.body, "xmlns=\""));
	return parse_results(a.body, e, max);
}

static void test_group_mixed(void **state)
{
	struct fx *fx = *state;
	struct entry e[10];
	static const char *const asked[] = {
		"sip:busy@x", "sip:silent@x", "sip:private@x", "sip:unknown@x", "sip:bad@x",
		"sip:+1234@" TEL_DOMAIN ";user=phone", "sip:offline@x",
	};

	assert_int_equal(serve_group(fx, "getStatusForGroup-mixed.xml", e, 10), 8);
	expect_retrieved(&e[0], "sip:busy@x", "Busy");
	expect_not_retrieved(&e[1], "sip:silent@x");
	expect_error(&e[2], "sip:private@x", "POL0002", "sip:private@x");
	expect_error(&e[3], "sip:unknown@x", "SVC0004", "addresses");
	expect_error(&e[4], "sip:bad@x", "SVC0001", "presence document: malformed");
	expect_retrieved(&e[5], "tel:+1234", "Busy");             /* as written, not the SIP URI */
	expect_error(&e[6], "mailto:someone@x", "SVC0002", "addresses");
	expect_retrieved(&e[7], "sip:offline@x", "Unreachable");
	/* one job, every valid address fetched once, the invalid one not at all */
	assert_int_equal(fake.submits, 1);
	assert_int_equal(fake.nasked, 7);
	for (size_t i = 0; i < 7; i++)
		assert_string_equal(fake.asked[i], asked[i]);
	assert_int_equal(fake.last_concurrency, 4);
	/* the error entry's text is the template */
	expect_contains(fx->body, "<text>" T_POL0002 "</text>");
}

static void test_group_unqualified_addresses(void **state)
{
	struct fx *fx = *state;
	struct entry e[4];

	assert_int_equal(serve_group(fx, "getStatusForGroup-unqualified.xml", e, 4), 2);
	expect_retrieved(&e[0], "sip:busy@x", "Busy");
	expect_retrieved(&e[1], "sip:offline@x", "Unreachable");
}

/* A group: answered from state only when every member is published;
 * otherwise every member goes to the SIP thread (which answers the
 * watched ones from the subscription there). */
static void test_group_from_state(void **state)
{
	struct fx *fx = *state;
	struct entry e[4];
	struct answer a;

	publish("sip:busy@x", TS_REACHABLE);
	serve_file(fx, "getStatusForGroup-unqualified.xml", &a);
	assert_true(a.waited);
	assert_int_equal(fake.submits, 1);
	assert_int_equal(fake.nasked, 2);
	assert_int_equal(fake.from_state, 0);
	assert_int_equal(parse_results(a.body, e, 4), 2);
	expect_retrieved(&e[0], "sip:busy@x", "Busy");        /* the fake fetch's */
	expect_retrieved(&e[1], "sip:offline@x", "Unreachable");

	publish("sip:offline@x", TS_BUSY);
	serve_file(fx, "getStatusForGroup-unqualified.xml", &a);
	assert_false(a.waited);
	assert_int_equal(fake.submits, 1);
	assert_int_equal(fake.from_state, 2);
	assert_int_equal(parse_results(a.body, e, 4), 2);
	expect_retrieved(&e[0], "sip:busy@x", "Reachable");
	expect_retrieved(&e[1], "sip:offline@x", "Busy");
	assert_string_equal(a.usage.operation, "getStatusForGroup");
	assert_int_equal(a.usage.expanded, 2);
	assert_int_equal(a.usage.fault, FAULT_NONE);
}

/* Addresses are echoed as written: UTF-8 kept, character references decoded. */
static void test_group_utf8_and_char_refs(void **state)
{
	struct fx *fx = *state;
	struct entry e[4];

	assert_int_equal(serve_group(fx, "getStatusForGroup-utf8.xml", e, 4), 3);
	expect_retrieved(&e[0], "sip:busy@x", "Busy");
	expect_error(&e[1], "sip:jos\xc3\xa9@x", "SVC0002", "addresses");
	expect_retrieved(&e[2], "sip:online@x", "Reachable");
	assert_int_equal(fake.nasked, 2);
	assert_string_equal(fake.asked[1], "sip:online@x");
}

/* The answer is a well-formed XML document (read by expat). */
static void expect_well_formed(const char *body)
{
	XML_Parser xp = XML_ParserCreate(NULL);
	enum XML_Status st;

	assert_non_null(xp);
	st = XML_Parse(xp, body, (int)strlen(body), XML_TRUE);
	if (st != XML_STATUS_OK)
		fail_msg("answer not well-formed (%s, line %lu column %lu):\n%s",
			 XML_ErrorString(XML_GetErrorCode(xp)),
			 (unsigned long)XML_GetCurrentLineNumber(xp),
			 (unsigned long)XML_GetCurrentColumnNumber(xp), body);
	XML_ParserFree(xp);
}

/* gSOAP echoes what a request held: a byte that is not UTF-8, or a
 * character XML does not allow, comes back as '?' (one per byte), so that
 * the answer stays well-formed; a byte gSOAP reads as Latin-1 comes back
 * as that character in UTF-8 (found by tests/fuzz/fuzz_soap). */
static void test_group_chars_xml_cannot_carry(void **state)
{
	struct fx *fx = *state;
	struct answer a;
	struct entry e[6];

	serve_file(fx, "getStatusForGroup-bad-chars.xml", &a);
	expect_well_formed(a.body);
	assert_int_equal(serve_group(fx, "getStatusForGroup-bad-chars.xml", e, 6), 5);
	expect_retrieved(&e[0], "sip:busy@x", "Busy");
	expect_error(&e[1], "sip:a???@x", "SVC0002", "addresses");
	expect_error(&e[2], "sip:b???@x", "SVC0002", "addresses");
	expect_error(&e[3], "sip:c???@x", "SVC0002", "addresses");
	expect_error(&e[4], "sip:d\xc2\x94@x", "SVC0002", "addresses");
}

/* Groups are replaced by their member URIs; duplicates dropped, first seen wins. */
static void test_group_expansion(void **state)
{
	struct fx *fx = *state;
	struct entry e[10];

	assert_int_equal(serve_group(fx, "getStatusForGroup-group.xml", e, 10), 4);
	expect_retrieved(&e[0], "sip:busy@x", "Busy");
	expect_retrieved(&e[1], "sip:online@x", "Reachable");
	expect_not_retrieved(&e[2], "sip:silent@x");
	expect_retrieved(&e[3], "sip:offline@x", "Unreachable");
	assert_null(strstr(fx->body, "sip:team@x"));
	assert_int_equal(fake.nasked, 4);
}

static void test_group_duplicates(void **state)
{
	struct fx *fx = *state;
	struct entry e[10];

	assert_int_equal(serve_group(fx, "getStatusForGroup-dups.xml", e, 10), 2);
	expect_retrieved(&e[0], "sip:busy@x", "Busy");
	expect_retrieved(&e[1], "sip:offline@x", "Unreachable");
	assert_int_equal(fake.nasked, 2);
	assert_int_equal(count(fx->body, "<address>sip:busy@x</address>"), 1);
}

static void test_group_nested(void **state)
{
	static const struct xfault x = { "Server", "PolicyException", "POL0007", T_POL0007,
					 "Nested groups specified in message part addresses not allowed",
					 { "addresses" } };
	struct fx *fx = *state;
	struct entry e[10];
	struct answer a;

	/* allowed: expanded through both levels */
	assert_int_equal(serve_group(fx, "getStatusForGroup-nested.xml", e, 10), 4);
	expect_retrieved(&e[0], "sip:busy@x", "Busy");
	expect_retrieved(&e[1], "sip:online@x", "Reachable");
	expect_not_retrieved(&e[2], "sip:silent@x");
	expect_error(&e[3], "sip:private@x", "POL0002", "sip:private@x");

	fx->env.policy.nested_groups = false;
	reconfigure(fx);
	memset(&fake, 0, sizeof(fake));
	serve_file(fx, "getStatusForGroup-nested.xml", &a);
	assert_false(a.waited);
	expect_fault(&a, &x);
	expect_no_fetch();
	/* a group without groups inside is still fine */
	assert_int_equal(serve_group(fx, "getStatusForGroup-group.xml", e, 10), 4);
}

static void test_group_support_off(void **state)
{
	static const struct xfault x = { "Server", "PolicyException", "POL0006", T_POL0006,
					 "Group specified in message part addresses not allowed",
					 { "addresses" } };
	struct fx *fx = *state;
	struct entry e[4];
	struct answer a;

	fx->env.policy.group_support = false;
	reconfigure(fx);
	serve_file(fx, "getStatusForGroup-group.xml", &a);
	expect_fault(&a, &x);
	expect_no_fetch();
	/* plain addresses are still served */
	assert_int_equal(serve_group(fx, "getStatusForGroup-unqualified.xml", e, 4), 2);
}

static void test_group_empty_group(void **state)
{
	static const struct xfault x = { "Client", "ServiceException", "SVC0006", T_SVC0006,
					 "Group sip:empty@x in message part addresses is not a valid group",
					 { "sip:empty@x", "addresses" } };
	struct fx *fx = *state;
	struct answer a;

	serve_file(fx, "getStatusForGroup-empty-group.xml", &a);
	expect_fault(&a, &x);
	expect_no_fetch();
}

static void test_group_over_limit(void **state)
{
	static const struct xfault x = { "Server", "PolicyException", "POL0003", T_POL0003,
					 "Too many addresses specified in message part addresses",
					 { "addresses" } };
	struct fx *fx = *state;
	struct entry e[10];
	struct answer a;

	fx->env.policy.max_targets = 3;
	fx->env.policy.up_to_limit = false;
	reconfigure(fx);
	serve_file(fx, "getStatusForGroup-big.xml", &a);
	expect_fault(&a, &x);
	expect_no_fetch();
	assert_string_equal(a.usage.operation, "getStatusForGroup");
	assert_int_equal(a.usage.fault, POL0003);
	assert_string_equal(a.usage.cause, "");

	fx->env.policy.up_to_limit = true;
	reconfigure(fx);
	assert_int_equal(serve_group(fx, "getStatusForGroup-big.xml", e, 10), 5);
	expect_retrieved(&e[0], "sip:m1@x", "Reachable");
	expect_retrieved(&e[1], "sip:m2@x", "Reachable");
	expect_retrieved(&e[2], "sip:m3@x", "Reachable");
	expect_not_retrieved(&e[3], "sip:m4@x");
	expect_not_retrieved(&e[4], "sip:m5@x");
	assert_int_equal(fake.nasked, 3);
}

static void test_group_no_valid_address(void **state)
{
	static const struct xfault x = { "Client", "ServiceException", "SVC0004", T_SVC0004,
					 "No valid addresses provided in message part addresses",
					 { "addresses" } };
	struct fx *fx = *state;
	struct answer a;

	serve_file(fx, "getStatusForGroup-invalid.xml", &a);
	assert_false(a.waited);
	expect_fault(&a, &x);
	expect_no_fetch();
}

static void test_group_no_addresses(void **state)
{
	static const struct xfault x = { "Client", "ServiceException", "SVC0002", T_SVC0002,
					 "Invalid input value for message part addresses",
					 { "addresses" } };
	struct fx *fx = *state;
	struct answer a;

	serve_file(fx, "getStatusForGroup-none.xml", &a);
	expect_fault(&a, &x);
	expect_no_fetch();
}

static void test_group_watcher_down(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	fake.down = true;
	serve_file(fx, "getStatusForGroup-mixed.xml", &a);
	assert_true(a.waited);
	assert_int_equal(a.start_rc, -1);
	expect_svc0001(&a, NULL);
}

/* Many addresses within gSOAP's limit: fetches bounded by max-group-targets. */
static void test_group_many_addresses_bounded(void **state)
{
	struct fx *fx = *state;
	const size_t n = 5000;
	struct entry e[1];
	size_t cap = n * 64 + 1024, len;
	char *req = malloc(cap);

	assert_non_null(req);
	len = (size_t)snprintf(req, cap, "<s:Envelope xmlns:s=\"" NS_SOAP11 "\" xmlns:l=\"" NS_LOCAL
			       "\"><s:Body><l:getStatusForGroup>");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(req + len, cap - len, "<l:addresses>sip:u%zu@x</l:addresses>", i);
	snprintf(req + len, cap - len, "</l:getStatusForGroup></s:Body></s:Envelope>");
	free(fx->req);
	fx->req = req;
	{
		struct answer a;

		serve(fx, req, strlen(req), &a);
		if (a.status != 200)
			fail_msg("HTTP %d:\n%.2000s", a.status, a.body);
		assert_int_equal(parse_results(a.body, e, 1), n);
	}
	assert_int_equal(fake.nasked, 100);
	assert_int_equal(count(fx->body, "Retrieved</reportStatus>"), n); /* Retrieved + NotRetrieved */
	assert_int_equal(count(fx->body, ">NotRetrieved</reportStatus>"), n - 100);
}

/* Far too many addresses: a fault or a bounded answer, never a crash. */
static void test_group_huge_address_list(void **state)
{
	struct fx *fx = *state;
	const size_t n = 20000;
	size_t cap = n * 48 + 1024, len;
	char *req = malloc(cap);
	struct answer a;

	assert_non_null(req);
	len = (size_t)snprintf(req, cap, "<s:Envelope xmlns:s=\"" NS_SOAP11 "\" xmlns:l=\"" NS_LOCAL
			       "\"><s:Body><l:getStatusForGroup>");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(req + len, cap - len, "<l:addresses>sip:busy@x</l:addresses>");
	snprintf(req + len, cap - len, "</l:getStatusForGroup></s:Body></s:Envelope>");
	serve_owned(fx, req, &a);
	if (a.status == 200) {
		assert_true(fake.nasked <= 100);
	} else {
		expect_fault_code(&a, "Client");
		expect_no_fetch();
	}
}

/* --- protocol -------------------------------------------------------------- */

static void expect_version_mismatch(struct fx *fx, const char *file)
{
	struct answer a;

	serve_file(fx, file, &a);
	assert_false(a.waited);
	expect_fault_code(&a, "VersionMismatch");
	expect_no_fetch();
}

static void test_soap12_version_mismatch(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	expect_version_mismatch(fx, "soap12-getStatus.xml");
	expect_version_mismatch(fx, "soap12-default-ns.xml");
	/* the context is clean for the next request: SOAP 1.1 answered normally */
	serve_file(fx, "getStatus-busy.xml", &a);
	expect_get_status(&a, "Busy");
}

/*
 * Contract section 1: any Envelope not in the SOAP 1.1 namespace gets
 * VersionMismatch, however its namespace is declared (blanks around '=').
 */
static void expect_version_mismatch_file(struct fx *fx, const char *file)
{
	struct answer a;

	serve_file(fx, file, &a);
	assert_false(a.waited);
	expect_fault_code(&a, "VersionMismatch");
	expect_no_fetch();
}

static void test_foreign_envelope_namespace(void **state)
{
	expect_version_mismatch_file(*state, "wrong-envelope-ns.xml");
}

static void test_soap12_declared_with_blanks(void **state)
{
	expect_version_mismatch_file(*state, "soap12-spaced-decl.xml");
}

/* SOAP 1.1 section 4.2: a header entry without mustUnderstand="1" that the
 * receiver does not know is ignored; one with it gives MustUnderstand. */
static void test_header_must_understand(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve_file(fx, "header-mustunderstand.xml", &a);
	assert_false(a.waited);
	expect_fault_code(&a, "MustUnderstand");
	expect_no_fetch();
}

static void test_header_unprefixed_ignored(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve_file(fx, "header-unprefixed.xml", &a);
	expect_get_status(&a, "Busy");
}

/* Optional header entries (prefixed, such as WS-Addressing's) are skipped:
 * the Header is read with strict namespaces, only the Body by local name. */
static void test_header_optional_ignored(void **state)
{
	static const char *const files[] = { "header-optional.xml", "header-wsa.xml" };
	struct fx *fx = *state;
	struct answer a;

	for (size_t i = 0; i < 2; i++) {
		serve_file(fx, files[i], &a);
		expect_get_status(&a, "Busy");
	}
}

/* An internal DTD is not expanded (no entity bomb, no external entity). */
static void test_doctype_entities(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve_file(fx, "doctype-entities.xml", &a);
	assert_false(a.waited);
	expect_fault_code(&a, "Client");
	assert_true(strlen(a.body) < 4096);
	assert_null(strstr(a.body, "lollol"));
	assert_null(strstr(a.body, "root:"));
	expect_no_fetch();
}

static void expect_client_fault(struct fx *fx, const char *file)
{
	struct answer a;

	serve_file(fx, file, &a);
	assert_false(a.waited);
	expect_fault_code(&a, "Client");
	expect_no_fetch();
}

static void test_malformed_xml(void **state)
{
	expect_client_fault(*state, "malformed.xml");
}

static void test_not_soap(void **state)
{
	expect_client_fault(*state, "not-soap.xml");
}

static void test_unknown_operation(void **state)
{
	expect_client_fault(*state, "unknown-operation.xml");
}

/* gSOAP names the element it does not know in its fault string: bytes
 * there that are not UTF-8 come back as '?' (found by tests/fuzz/fuzz_soap,
 * tests/fuzz/regress/soap/crash-13d604c22f458b6114122799ae874052159c7c86). */
static void test_unknown_operation_name_not_utf8(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve_file(fx, "invalid-utf8-name.xml", &a);
	expect_fault_code(&a, "Client");
	expect_contains(a.body, "Method 'x:get??Status' not implemented");
	expect_well_formed(a.body);
	expect_no_fetch();
}

static void test_empty_body(void **state)
{
	struct fx *fx = *state;
	struct answer a;
	char *req = calloc(1, 1);

	assert_non_null(req);
	serve_owned(fx, req, &a);
	assert_false(a.waited);
	expect_fault_code(&a, "Client");
	serve_owned(fx, strdup("   \n"), &a);
	expect_fault_code(&a, "Client");
	expect_no_fetch();
}

/* Without a notification manager (svc_set_notifications not called) the
 * operations answer a fault at once, nothing fetched. */
static void test_notification_manager_not_yet(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve_file(fx, "startNotification.xml", &a);
	assert_false(a.waited);
	assert_int_equal(a.status, 500);
	expect_soap11(a.body);
	assert_non_null(find_start(a.body, "Fault", NULL, 0));
	assert_string_equal(a.usage.operation, "startNotification");
	assert_int_equal(a.usage.addresses, 1);
	assert_int_equal(a.usage.expanded, -1);
	assert_string_equal(a.usage.correlator, "c-1");
	assert_int_equal(a.usage.fault, SVC0001);
	assert_string_equal(a.usage.cause, "notifications are not enabled");
	serve_file(fx, "endNotification.xml", &a);
	assert_int_equal(a.status, 500);
	expect_soap11(a.body);
	assert_non_null(find_start(a.body, "Fault", NULL, 0));
	expect_no_fetch();
}

/* The operation is recognised by its wrapper in its own namespace: a
 * getStatus of another service is not ours (the children below it are
 * matched by local name only once the wrapper is known). */
static void test_foreign_wrapper_namespace(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve_file(fx, "getStatus-foreign-wrapper-ns.xml", &a);
	assert_false(a.waited);
	expect_fault_code(&a, "Client");
	assert_null(a.usage.operation);       /* no operation reached */
	assert_int_equal(a.usage.fault, FAULT_NONE);
	expect_contains(a.body, "not implemented");
	expect_no_fetch();
}

/* A value gSOAP cannot take (an unknown criteria status) is SVC0002 naming
 * the element, not a bare validation fault. */
static void test_invalid_enum_value(void **state)
{
	struct fx *fx = *state;
	struct answer a;
	const struct xfault x = {
		"Client", "ServiceException", "SVC0002",
		"Invalid input value for message part %1", NULL, { "criteria", NULL },
	};

	serve_file(fx, "startNotification-bad-criteria.xml", &a);
	assert_false(a.waited);
	expect_fault(&a, &x);
	assert_int_equal(a.usage.fault, SVC0002);
	expect_no_fetch();
}

static void test_callback_operation_refused(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve_file(fx, "statusNotification.xml", &a);
	expect_fault_code(&a, "Client");
	expect_no_fetch();
}

/* depth nested <x> elements: directly in the Body, inside the getStatus
 * wrapper (unknown elements there are skipped) or inside its address. */
enum where { IN_BODY, IN_WRAPPER, IN_ADDRESS };

static char *deep_envelope(size_t depth, enum where where)
{
	static const char *const pre[] = { "", "<l:getStatus>", "<l:getStatus><l:address>sip:busy@x" };
	static const char *const post[] = {
		"", "<l:address>sip:busy@x</l:address></l:getStatus>", "</l:address></l:getStatus>" };
	size_t cap = depth * 8 + 1024, len;
	char *req = malloc(cap);

	assert_non_null(req);
	len = (size_t)snprintf(req, cap, "<s:Envelope xmlns:s=\"" NS_SOAP11 "\" xmlns:l=\"" NS_LOCAL
			       "\"><s:Body>%s", pre[where]);
	for (size_t i = 0; i < depth; i++) {
		memcpy(req + len, "<x>", 3);
		len += 3;
	}
	for (size_t i = 0; i < depth; i++) {
		memcpy(req + len, "</x>", 4);
		len += 4;
	}
	snprintf(req + len, cap - len, "%s</s:Body></s:Envelope>", post[where]);
	return req;
}

static void test_deep_nesting(void **state)
{
	struct fx *fx = *state;
	struct answer a;

	serve_owned(fx, deep_envelope(200, IN_BODY), &a);
	assert_false(a.waited);
	expect_fault_code(&a, "Client");
	serve_owned(fx, deep_envelope(100000, IN_BODY), &a);
	expect_fault_code(&a, "Client");
	serve_owned(fx, deep_envelope(200, IN_ADDRESS), &a);
	expect_fault_code(&a, "Client");
	serve_owned(fx, deep_envelope(100000, IN_ADDRESS), &a);
	expect_fault_code(&a, "Client");
	expect_no_fetch();
	/* gSOAP skips unknown elements inside the wrapper without recursion:
	 * either a Client fault or the ordinary answer, never a crash */
	for (size_t depth = 200; depth <= 100000; depth *= 500) {
		serve_owned(fx, deep_envelope(depth, IN_WRAPPER), &a);
		if (a.status == 200)
			expect_get_status(&a, "Busy");
		else
			expect_fault_code(&a, "Client");
	}
	/* and the context still serves */
	serve_file(fx, "getStatus-busy.xml", &a);
	expect_get_status(&a, "Busy");
}

/* One svc, many requests of every kind in turn: nothing left over. */
/* policy.max-requests-per-s (contract section 11): with a bucket of one,
 * the second operation request of the (anonymous) application is POL0001
 * and fetches nothing; a request that is not an operation (malformed)
 * takes no token. */
static void test_request_rate(void **state)
{
	struct fx *fx = *state;
	struct rate *r = rate_new(1);
	static const struct xfault x = { "Server", "PolicyException", "POL0001", T_POL0001, NULL,
					 { "request rate exceeded", NULL } };
	struct answer a;

	assert_non_null(r);
	svc_set_rate(fx->s, r);
	serve_file(fx, "getStatus-busy.xml", &a);
	expect_get_status(&a, "Busy");
	assert_int_equal(fake.nasked, 1);
	serve_file(fx, "getStatus-busy.xml", &a);
	expect_fault(&a, &x);
	assert_false(a.waited);
	assert_int_equal(fake.nasked, 1);      /* no fetch for the refused one */
	svc_set_rate(fx->s, NULL);
	serve_file(fx, "getStatus-busy.xml", &a);
	expect_get_status(&a, "Busy");
	assert_int_equal(fake.nasked, 2);
	rate_free(r);
}

static void test_context_reuse(void **state)
{
	static const struct xfault rej = {
		"Server", "PolicyException", "POL0002", T_POL0002,
		"Privacy verification failed for address sip:private@x, request is refused",
		{ "sip:private@x" } };
	struct fx *fx = *state;
	struct entry e[10];
	struct answer a;

	for (int round = 0; round < 3; round++) {
		serve_file(fx, "getStatus-private.xml", &a);
		expect_fault(&a, &rej);
		serve_file(fx, "getStatus-reachable.xml", &a);
		expect_get_status(&a, "Reachable");
		assert_null(strstr(a.body, "detail"));
		serve_file(fx, "malformed.xml", &a);
		expect_fault_code(&a, "Client");
		assert_int_equal(serve_group(fx, "getStatusForGroup-mixed.xml", e, 10), 8);
		serve_file(fx, "soap12-getStatus.xml", &a);
		expect_fault_code(&a, "VersionMismatch");
		serve_file(fx, "getStatus-busy.xml", &a);
		expect_get_status(&a, "Busy");
	}
}

/* --- WS-Security UsernameToken (contract section 11) ------------------------ */

#define NS_WSSE "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define NS_WSU "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define PW_TYPE "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#"
#define NS_NM_LOCAL "http://www.csapi.org/schema/parlayx/terminal_status/notification_manager/v2_3/local"
#define UNAUTHORIZED "authentication required\n"

/* Gives the svc notifications (FAKE_NM) and, with users, a users file
 * (fake_check). */
static void with_users(struct fx *fx, bool users)
{
	fx->pol.max_addresses = 100;
	fx->pol.default_duration_ms = 3600000;
	fx->pol.max_duration_ms = 86400000;
	fx->pol.max_count = 1000;
	fx->pol.unlimited_count_allowed = true;
	fx->pol.groups = fx->env.policy;
	svc_set_notifications(fx->s, FAKE_NM, &fx->pol, NOTIF_STYLE_STATUS_NOTIFICATION);
	if (users)
		svc_set_auth(fx->s, fake_check, &fake_auth);
}

enum wop { W_GET_STATUS, W_START, W_MALFORMED };

/* A request with a UsernameToken of user and password (user NULL: no
 * Security header at all; password NULL: no Password element); type is
 * the Password's Type after PW_TYPE ("PasswordText", "PasswordDigest"),
 * NULL for no Type attribute; mu puts mustUnderstand="1" on the Security
 * header. Returns it malloc'd. */
static char *wsse_request(enum wop op, const char *user, const char *password, const char *type,
			  bool mu)
{
	char sec[1024] = "", pw[512] = "", *req;
	const char *body;

	if (password)
		snprintf(pw, sizeof(pw), "<wsse:Password%s%s%s>%s</wsse:Password>",
			 type ? " Type=\"" PW_TYPE : "", type ? type : "", type ? "\"" : "", password);
	if (user)
		snprintf(sec, sizeof(sec),
			 "<soapenv:Header><wsse:Security xmlns:wsse=\"" NS_WSSE "\" xmlns:wsu=\"" NS_WSU "\"%s>"
			 "<wsse:UsernameToken wsu:Id=\"UsernameToken-1\"><wsse:Username>%s</wsse:Username>%s"
			 "<wsu:Created>2024-01-01T00:00:00Z</wsu:Created></wsse:UsernameToken>"
			 "</wsse:Security></soapenv:Header>",
			 mu ? " soapenv:mustUnderstand=\"1\"" : "", user, pw);
	switch (op) {
	case W_GET_STATUS:
		body = "<loc:getStatus xmlns:loc=\"" NS_LOCAL "\"><loc:address>sip:busy@x</loc:address>"
		       "</loc:getStatus>";
		break;
	case W_START:
		body = "<loc:startNotification xmlns:loc=\"" NS_NM_LOCAL "\"><loc:reference>"
		       "<endpoint>http://192.0.2.10:8080/notify</endpoint>"
		       "<interfaceName>TerminalStatusNotification</interfaceName>"
		       "<correlator>c-1</correlator></loc:reference>"
		       "<loc:addresses>sip:busy@x</loc:addresses><loc:criteria>Busy</loc:criteria>"
		       "<loc:checkImmediate>false</loc:checkImmediate></loc:startNotification>";
		break;
	default:
		body = "<loc:getStatus xmlns:loc=\"" NS_LOCAL "\"><loc:address>sip:busy@x";
		break;
	}
	assert_true(asprintf(&req, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			     "<soapenv:Envelope xmlns:soapenv=\"" NS_SOAP11 "\">%s"
			     "<soapenv:Body>%s</soapenv:Body></soapenv:Envelope>", sec, body) > 0);
	return req;
}

/* Nothing of the Security header in a response, not even its namespaces
 * (the answers are what they were before WS-Security). */
static void expect_no_token(const struct answer *a)
{
	assert_null(strstr(a->body, NS_WSSE));
	assert_null(strstr(a->body, NS_WSU));
	assert_null(strstr(a->body, "Security"));
	assert_null(strstr(a->body, "UsernameToken"));
	assert_null(strstr(a->body, PW_APP));
	assert_null(strstr(a->body, PW_ADMIN));
}

/* 401 at once: no operation, no fetch, nothing started. */
static void expect_401(const struct answer *a)
{
	assert_int_equal(a->status, 401);
	assert_false(a->waited);
	assert_string_equal(a->body, UNAUTHORIZED);
	expect_no_fetch();
	assert_int_equal(fake_nm.starts, 0);
	assert_int_equal(fake_nm.ends, 0);
}

/* startNotification answered 200 (the fake started it). */
static void expect_started(const struct answer *a)
{
	if (a->status != 200)
		fail_msg("HTTP %d, wanted 200:\n%s", a->status, a->body);
	assert_true(a->waited);
	expect_soap11(a->body);
	assert_null(find_start(a->body, "Fault", NULL, 0));
	expect_elem_ns(a->body, "startNotificationResponse", NS_NM_LOCAL);
}

/* A valid token authenticates: the operation runs for its user, admin
 * from the role; the token is checked once (not again in phase 2), with
 * the client's address, and never echoed. */
static void test_wsse_token_ok(void **state)
{
	struct fx *fx = *state;
	struct svc_caller who = { .client = CLIENT };
	struct answer a;

	with_users(fx, true);
	fx->who = &who;
	serve_owned(fx, wsse_request(W_GET_STATUS, USER_APP, PW_APP, "PasswordText", false), &a);
	assert_true(a.waited);
	expect_get_status(&a, "Busy");
	assert_int_equal(fake.submits, 1);
	assert_int_equal(fake_auth.calls, 1);
	assert_string_equal(fake_auth.client, CLIENT);
	assert_string_equal(fake_auth.user, USER_APP);
	assert_string_equal(who.app, USER_APP);
	assert_false(who.admin);
	expect_no_token(&a);

	memset(&who, 0, sizeof(who));
	snprintf(who.client, sizeof(who.client), "%s", CLIENT);
	serve_owned(fx, wsse_request(W_START, USER_ADMIN, PW_ADMIN, "PasswordText", false), &a);
	expect_started(&a);
	assert_int_equal(fake_nm.starts, 1);
	assert_string_equal(fake_nm.app, USER_ADMIN);
	assert_int_equal(fake_auth.calls, 2);
	assert_string_equal(who.app, USER_ADMIN);
	assert_true(who.admin);
	expect_no_token(&a);

	/* a fault after a valid token does not echo it either */
	memset(&who, 0, sizeof(who));
	free(fx->req);
	fx->req = wsse_request(W_GET_STATUS, USER_APP, PW_APP, "PasswordText", false);
	memcpy(strstr(fx->req, "sip:busy@x"), "mailto:bx", 9);
	serve(fx, fx->req, strlen(fx->req), &a);
	expect_fault_code(&a, "Client");
	expect_no_token(&a);
	assert_int_equal(fake_auth.calls, 3);
	/* so does a body gSOAP cannot read after a valid token */
	serve_owned(fx, wsse_request(W_MALFORMED, USER_APP, PW_APP, "PasswordText", false), &a);
	expect_fault_code(&a, "Client");
	expect_no_token(&a);
	assert_int_equal(fake_auth.calls, 4);
	assert_int_equal(fake.submits, 1);
}

/* A wrong password, an unknown user: 401, the check asked once, nothing
 * run. */
static void test_wsse_wrong_password(void **state)
{
	struct fx *fx = *state;
	struct svc_caller who = { .client = CLIENT };
	struct answer a;

	with_users(fx, true);
	fx->who = &who;
	serve_owned(fx, wsse_request(W_GET_STATUS, USER_APP, "pw-wrong", "PasswordText", false), &a);
	expect_401(&a);
	assert_int_equal(fake_auth.calls, 1);
	assert_string_equal(who.app, "");
	serve_owned(fx, wsse_request(W_START, USER_APP, PW_ADMIN, "PasswordText", true), &a);
	expect_401(&a);
	assert_int_equal(fake_auth.calls, 2);
	serve_owned(fx, wsse_request(W_START, "nobody", PW_APP, "PasswordText", false), &a);
	expect_401(&a);
	assert_int_equal(fake_auth.calls, 3);
	assert_string_equal(fake_auth.user, "nobody");
	assert_string_equal(who.app, "");
	assert_false(who.admin);
}

/* PasswordDigest (or a Type we do not know) is refused without checking
 * anything, even with the right password in it. */
static void test_wsse_digest_refused(void **state)
{
	struct fx *fx = *state;
	struct svc_caller who = { .client = CLIENT };
	struct answer a;

	with_users(fx, true);
	fx->who = &who;
	serve_owned(fx, wsse_request(W_GET_STATUS, USER_APP, PW_APP, "PasswordDigest", false), &a);
	expect_401(&a);
	serve_owned(fx, wsse_request(W_START, USER_APP, PW_APP, "PasswordPlain", true), &a);
	expect_401(&a);
	assert_int_equal(fake_auth.calls, 0);
	assert_string_equal(who.app, "");
}

/* No credentials: no token and no Basic, a Security header without a
 * UsernameToken, a token without a password, an envelope whose header
 * cannot be read (malformed, SOAP 1.2): 401, not a fault. */
static void test_wsse_no_credentials(void **state)
{
	struct fx *fx = *state;
	struct svc_caller who = { .client = CLIENT };
	struct answer a;

	with_users(fx, true);
	fx->who = &who;
	serve_owned(fx, wsse_request(W_GET_STATUS, NULL, NULL, NULL, false), &a);
	expect_401(&a);
	serve_owned(fx, wsse_request(W_START, NULL, NULL, NULL, false), &a);
	expect_401(&a);
	serve_owned(fx, wsse_request(W_START, USER_APP, NULL, NULL, true), &a);
	expect_401(&a);
	free(fx->req);   /* cut inside the token */
	fx->req = wsse_request(W_GET_STATUS, USER_APP, PW_APP, "PasswordText", false);
	*strstr(fx->req, "<wsu:Created>") = '\0';
	serve(fx, fx->req, strlen(fx->req), &a);
	expect_401(&a);
	serve_owned(fx, strdup("<soapenv:Envelope xmlns:soapenv=\"" NS_SOAP11 "\"><soapenv:Header>"
			       "<wsse:Security xmlns:wsse=\"" NS_WSSE "\" xmlns:wsu=\"" NS_WSU "\">"
			       "<wsu:Timestamp><wsu:Created>2024-01-01T00:00:00Z</wsu:Created>"
			       "</wsu:Timestamp></wsse:Security></soapenv:Header><soapenv:Body>"
			       "<loc:getStatus xmlns:loc=\"" NS_LOCAL "\"><loc:address>sip:busy@x"
			       "</loc:address></loc:getStatus></soapenv:Body></soapenv:Envelope>"), &a);
	expect_401(&a);
	serve_file(fx, "soap12-getStatus.xml", &a);
	expect_401(&a);
	serve_file(fx, "malformed.xml", &a);
	expect_401(&a);
	assert_int_equal(fake_auth.calls, 0);
	/* no caller at all is no credentials either */
	fx->who = NULL;
	serve_owned(fx, wsse_request(W_GET_STATUS, NULL, NULL, NULL, false), &a);
	expect_401(&a);
	serve_owned(fx, wsse_request(W_GET_STATUS, USER_APP, "pw-wrong", "PasswordText", false), &a);
	expect_401(&a);
	assert_int_equal(fake_auth.calls, 1);
	assert_string_equal(fake_auth.client, "");
}

/* HTTP Basic checked by the front (who.basic) and a token: both valid and
 * the same user, else 401. Basic alone still serves. */
static void test_wsse_with_basic(void **state)
{
	struct fx *fx = *state;
	struct svc_caller who = { .app = USER_APP, .basic = true, .client = CLIENT };
	struct answer a;

	with_users(fx, true);
	fx->who = &who;
	serve_owned(fx, wsse_request(W_START, USER_ADMIN, PW_ADMIN, "PasswordText", false), &a);
	expect_401(&a);
	assert_int_equal(fake_auth.calls, 1);
	serve_owned(fx, wsse_request(W_START, USER_APP, "pw-wrong", "PasswordText", false), &a);
	expect_401(&a);
	assert_int_equal(fake_auth.calls, 2);
	serve_owned(fx, wsse_request(W_START, USER_APP, PW_APP, "PasswordDigest", false), &a);
	expect_401(&a);
	assert_int_equal(fake_auth.calls, 2);

	serve_owned(fx, wsse_request(W_START, USER_APP, PW_APP, "PasswordText", false), &a);
	expect_started(&a);
	assert_int_equal(fake_nm.starts, 1);
	assert_string_equal(fake_nm.app, USER_APP);
	assert_int_equal(fake_auth.calls, 3);
	assert_string_equal(who.app, USER_APP);
	assert_false(who.admin);

	/* Basic alone (an admin here): no token to check */
	snprintf(who.app, sizeof(who.app), "%s", USER_ADMIN);
	who.admin = true;
	serve_owned(fx, wsse_request(W_START, NULL, NULL, NULL, false), &a);
	expect_started(&a);
	assert_int_equal(fake_nm.starts, 2);
	assert_string_equal(fake_nm.app, USER_ADMIN);
	assert_int_equal(fake_auth.calls, 3);
	assert_string_equal(who.app, USER_ADMIN);
	assert_true(who.admin);
	/* and a fault is a fault again: the envelope is Basic's business */
	serve_file(fx, "malformed.xml", &a);
	expect_fault_code(&a, "Client");
}

/* mustUnderstand="1" on the Security header is understood, and a
 * Password with no Type is text (UsernameToken Profile 1.0, 3.1). */
static void test_wsse_must_understand(void **state)
{
	struct fx *fx = *state;
	struct svc_caller who = { .client = CLIENT };
	struct answer a;

	with_users(fx, true);
	fx->who = &who;
	serve_owned(fx, wsse_request(W_GET_STATUS, USER_APP, PW_APP, "PasswordText", true), &a);
	expect_get_status(&a, "Busy");
	expect_no_token(&a);
	assert_string_equal(who.app, USER_APP);
	memset(&who, 0, sizeof(who));
	/* wsse and wsu declared on the Envelope, not on the Security header */
	serve_file(fx, "getStatus-wsse-envelope-ns.xml", &a);
	expect_get_status(&a, "Busy");
	expect_no_token(&a);
	assert_string_equal(who.app, USER_APP);
	memset(&who, 0, sizeof(who));
	serve_owned(fx, wsse_request(W_START, USER_APP, PW_APP, NULL, true), &a);
	expect_started(&a);
	assert_string_equal(fake_nm.app, USER_APP);
	assert_int_equal(fake_auth.calls, 3);
	assert_int_equal(fake.submits, 2);
	assert_int_equal(fake_nm.starts, 1);
}

/* Without a users file a token is not looked at, right or wrong: the
 * request is the anonymous application's, and the token is not echoed. */
static void test_wsse_no_users_file(void **state)
{
	struct fx *fx = *state;
	struct svc_caller who = { .client = CLIENT };
	struct answer a;

	with_users(fx, false);
	fx->who = &who;
	serve_owned(fx, wsse_request(W_START, USER_APP, "pw-wrong", "PasswordText", true), &a);
	expect_started(&a);
	assert_int_equal(fake_nm.starts, 1);
	assert_string_equal(fake_nm.app, "");
	assert_string_equal(who.app, "");
	serve_owned(fx, wsse_request(W_GET_STATUS, USER_APP, PW_APP, "PasswordDigest", false), &a);
	expect_get_status(&a, "Busy");
	expect_no_token(&a);
	fx->who = NULL;
	serve_owned(fx, wsse_request(W_START, USER_ADMIN, PW_ADMIN, "PasswordText", false), &a);
	expect_started(&a);
	assert_string_equal(fake_nm.app, "");
	expect_no_token(&a);
	assert_int_equal(fake_auth.calls, 0);
}

/* Other WS-Security content (a signature, a SAML assertion, an encrypted
 * key: namespaces the svc leaves out of its table) is skipped; the
 * UsernameToken beside it still counts, and none of it is echoed. */
static void test_wsse_other_content_skipped(void **state)
{
	static const char other[] =
		"<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>"
		"<ds:SignatureMethod Algorithm=\"x\"/></ds:SignedInfo></ds:Signature>"
		"<saml2:Assertion xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"a1\" "
		"IssueInstant=\"2024-01-01T00:00:00Z\" Version=\"2.0\"><saml2:Issuer>i</saml2:Issuer>"
		"</saml2:Assertion>"
		"<xenc:EncryptedKey xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\"/>";
	struct fx *fx = *state;
	struct svc_caller who = { .client = CLIENT };
	struct answer a;
	char *req = wsse_request(W_GET_STATUS, USER_APP, PW_APP, "PasswordText", true), *with;
	const char *tok = strstr(req, "<wsse:UsernameToken");

	assert_non_null(tok);
	assert_true(asprintf(&with, "%.*s%s%s", (int)(tok - req), req, other, tok) > 0);
	free(req);
	with_users(fx, true);
	fx->who = &who;
	serve_owned(fx, with, &a);
	expect_get_status(&a, "Busy");
	assert_string_equal(who.app, USER_APP);
	assert_int_equal(fake_auth.calls, 1);
	expect_no_token(&a);
	assert_null(strstr(a.body, "Signature"));
	assert_null(strstr(a.body, "Assertion"));
	assert_null(strstr(a.body, "xmldsig"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_get_status_busy),
		T(test_get_status_reachable),
		T(test_get_status_unreachable),
		T(test_get_status_from_state),
		T(test_get_status_unqualified_address),
		T(test_get_status_default_namespace),
		T(test_get_status_bom),
		T(test_get_status_tel),
		T(test_get_status_invalid_address),
		T(test_get_status_empty_or_missing_address),
		T(test_get_status_long_address),
		T(test_get_status_group_uri),
		T(test_get_status_timeout),
		T(test_get_status_rejected),
		T(test_get_status_rejected_address_as_written),
		T(test_get_status_noresource),
		T(test_get_status_failed),
		T(test_get_status_watcher_down),
		T(test_pending_dropped),
		T(test_group_mixed),
		T(test_group_unqualified_addresses),
		T(test_group_from_state),
		T(test_group_utf8_and_char_refs),
		T(test_group_chars_xml_cannot_carry),
		T(test_group_expansion),
		T(test_group_duplicates),
		T(test_group_nested),
		T(test_group_support_off),
		T(test_group_empty_group),
		T(test_group_over_limit),
		T(test_group_no_valid_address),
		T(test_group_no_addresses),
		T(test_group_watcher_down),
		T(test_group_many_addresses_bounded),
		T(test_group_huge_address_list),
		T(test_soap12_version_mismatch),
		T(test_foreign_envelope_namespace),
		T(test_soap12_declared_with_blanks),
		T(test_header_must_understand),
		T(test_header_unprefixed_ignored),
		T(test_header_optional_ignored),
		T(test_doctype_entities),
		T(test_malformed_xml),
		T(test_not_soap),
		T(test_unknown_operation),
		T(test_unknown_operation_name_not_utf8),
		T(test_empty_body),
		T(test_notification_manager_not_yet),
		T(test_invalid_enum_value),
		T(test_foreign_wrapper_namespace),
		T(test_callback_operation_refused),
		T(test_deep_nesting),
		T(test_request_rate),
		T(test_context_reuse),
		T(test_wsse_token_ok),
		T(test_wsse_wrong_password),
		T(test_wsse_digest_refused),
		T(test_wsse_no_credentials),
		T(test_wsse_with_basic),
		T(test_wsse_must_understand),
		T(test_wsse_no_users_file),
		T(test_wsse_other_content_skipped),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
