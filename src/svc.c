/*
 * svc.c - SOAP glue: gSOAP (plain mode, no sockets) <-> the core.
 *
 * With svc_client.c (callbacks out) the only code that includes the
 * generated code; it also defines namespaces[] for both. gSOAP data lives in a
 * per-thread context and dies with soap_end() at the end of each phase;
 * what must outlive a phase (the query) is ours.
 *
 * Two-phase serving: phase 1 runs the generated dispatcher; a service
 * function that must wait for SIP stores a pending query and returns
 * SVC_DEFER instead of an answer. Phase 2 runs the dispatcher again on the
 * same body: the same service function now finds the query done and fills
 * the generated response struct, so every byte on the wire still comes from
 * the generated serializers.
 *
 * Authentication (svc_set_auth): phase 1 reads the Envelope and the Header,
 * checks a WS-Security UsernameToken there (or takes the caller's HTTP
 * Basic), and only then reads the Body; the Security header is dropped
 * before anything is answered. Phase 2 reads the header again but checks
 * nothing.
 */
#include "svc_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "soapH.h"
#include "TerminalStatusBinding.nsmap"

#include "fault.h"
#include "log.h"
#include "mono.h"
#include "nm.h"
#include "pub.h"
#include "rate.h"
#include "svc_ns.h"
#include "xmlchar.h"

/* --- per-thread contexts ------------------------------------------------- */

/* The request wrappers we know, matched with their namespace. */
static const char *const wrappers[] = {
	"tsl:getStatus", "tsl:getStatusForGroup",
	"tsnml:startNotification", "tsnml:endNotification",
	"tsnl:statusNotification", "tsnl:statusError", "tsnl:statusEnd", "tsnl:statusChanged",
};

/* Called once the Envelope, the Header and the Body start are read (all
 * matched strictly, so unknown optional headers are skipped): when the
 * Body's element is one of our wrappers in its own namespace, the rest is
 * matched by local name: the children of the types are unqualified on the
 * wire, but some stacks qualify them, and the contract says to accept
 * both. An element in another namespace stays strict, and gSOAP answers
 * that the method is not implemented. */
static void body_lenient(struct soap *soap)
{
	if (soap->error || soap_peek_element(soap) != SOAP_OK)
		return;
	for (size_t i = 0; i < sizeof(wrappers) / sizeof(wrappers[0]); i++)
		if (soap_match_tag(soap, soap->tag, wrappers[i]) == SOAP_OK) {
			soap->mode |= SOAP_XML_IGNORENS;
			return;
		}
}

static void soap_release(void *p)
{
	struct soap *soap = p;

	soap_destroy(soap);
	soap_end(soap);
	soap_free(soap);
}

static struct soap *thread_soap(struct svc *s)
{
	struct soap *soap = pthread_getspecific(s->key);

	if (soap)
		return soap;
	soap = soap_new1(SOAP_ENC_PLAIN | SOAP_C_UTFSTRING);
	if (!soap)
		return NULL;
	soap_set_namespaces(soap, s->ns);
	soap->maxlevel = SVC_MAX_LEVEL;
	soap->maxoccurs = SVC_MAX_OCCURS;
	soap->maxlength = SVC_MAX_STRING;
	if (pthread_setspecific(s->key, soap) != 0) {
		soap_free(soap);
		return NULL;
	}
	return soap;
}

void svc_thread_done(struct svc *s)
{
	struct soap *soap = pthread_getspecific(s->key);

	if (soap) {
		soap_release(soap);
		pthread_setspecific(s->key, NULL);
	}
}

static void conf_drop(void *p)
{
	struct svc_conf *c = p;

	if (c->drop)
		c->drop(c->keep);
	free(c);
}

struct svc *svc_new(const struct query_env *env)
{
	struct svc *s = calloc(1, sizeof(*s));
	struct svc_conf *c = calloc(1, sizeof(*c));

	if (!s || !c) {
		free(s);
		free(c);
		return NULL;
	}
	c->env = *env;
	s->conf = pub_new(c, conf_drop);
	s->ns = svc_ns_table(true, false);
	s->ns_out = svc_ns_table(false, false);
	if (!s->conf || !s->ns || !s->ns_out || pthread_key_create(&s->key, soap_release) != 0) {
		if (s->conf)
			pub_free(s->conf);
		else
			free(c);
		free(s->ns);
		free(s->ns_out);
		free(s);
		return NULL;
	}
	return s;
}

int svc_reconfigure(struct svc *s, const struct query_env *env, const struct nm_policy *pol,
		    int style, void *keep, svc_drop_h *drop)
{
	struct svc_conf *c = calloc(1, sizeof(*c));

	if (c) {
		c->env = *env;
		c->pol = *pol;
		c->style = (enum notif_style)style;
		c->keep = keep;
		c->drop = drop;
	}
	if (!c || pub_set(s->conf, c) != 0) {
		free(c);
		if (drop)
			drop(keep);
		return -1;
	}
	return 0;
}

void svc_free(struct svc *s)
{
	if (!s)
		return;
	svc_thread_done(s);
	pthread_key_delete(s->key);
	pub_free(s->conf);
	free(s->ns);
	free(s->ns_out);
	free(s);
}

void svc_pending_free(struct svc_pending *p)
{
	if (!p)
		return;
	query_free(p->q);
	nm_start_free(p->ns);
	nm_end_free(p->ne);
	svc_usage_clear(&p->usage);
	free(p);
}

void svc_set_rate(struct svc *s, struct rate *r)
{
	s->rate = r;
}

void svc_set_notifications(struct svc *s, struct nm *nm, const struct nm_policy *pol, int style)
{
	struct pub_ref *ref;
	struct svc_conf *c = pub_get(s->conf, &ref);

	/* before the first request: nobody reads c yet */
	s->nm = nm;
	c->pol = *pol;
	c->style = (enum notif_style)style;
	pub_put(ref);
}

void svc_view_get(struct svc *s, struct svc_view *v)
{
	const struct svc_conf *c = pub_get(s->conf, &v->ref);

	v->env = &c->env;
	v->pol = &c->pol;
	v->style = (int)c->style;
	v->nm = s->nm;
}

void svc_view_put(struct svc_view *v)
{
	pub_put(v->ref);
	v->ref = NULL;
}

bool svc_rate_admit(struct svc *s, const char *app)
{
	return !s->rate || rate_take(s->rate, app, mono_ms());
}

void svc_set_auth(struct svc *s, svc_auth_h *check, void *arg)
{
	s->auth = check;
	s->auth_arg = arg;
}

/* --- WS-Security (contract section 11) ------------------------------------ */

/* OASIS UsernameToken Profile 1.0, section 3.1: the Password's Type; with
 * no Type the password is text. */
#define WSSE_PASSWORD_TEXT "http://docs.oasis-open.org/wss/2004/01/" \
	"oasis-200401-wss-username-token-profile-1.0#PasswordText"
#define WSSE_PASSWORD_DIGEST "http://docs.oasis-open.org/wss/2004/01/" \
	"oasis-200401-wss-username-token-profile-1.0#PasswordDigest"

static struct _wsse__UsernameToken *username_token(struct soap *soap)
{
	if (!soap->header || !soap->header->wsse__Security)
		return NULL;
	return soap->header->wsse__Security->UsernameToken;
}

/* Once the header is read (and checked): the password and nonce in soap
 * memory are zeroed, and the Security header is dropped, so that no
 * response (which echoes soap->header) carries any of it. */
static void security_drop(struct soap *soap)
{
	struct _wsse__UsernameToken *t = username_token(soap);

	if (t && t->Password && t->Password->__item)
		memset(t->Password->__item, 0, strlen(t->Password->__item));
	if (t && t->Nonce && t->Nonce->__item)
		memset(t->Nonce->__item, 0, strlen(t->Nonce->__item));
	if (soap->header)
		soap->header->wsse__Security = NULL;
}

/* Phase 1 with a users file, the header read (readable: the envelope and
 * its header could be read): is the caller authenticated? Returns 0 with
 * who->app and who->admin set, or -1 (logged) for a 401. */
static int authenticate(struct svc *s, struct soap *soap, struct svc_caller *who, bool readable)
{
	struct _wsse__UsernameToken *t = readable ? username_token(soap) : NULL;
	const char *why, *type;
	enum auth_role role;

	if (!t) {
		if (who->basic)
			return 0;
		why = readable ? "no credentials" : "no credentials (header not readable)";
		goto refused;
	}
	if (!t->Username || !t->Password || !t->Password->__item) {
		why = "UsernameToken without a user or a password";
		goto refused;
	}
	type = t->Password->Type;
	if (type && strcmp(type, WSSE_PASSWORD_TEXT) != 0) {
		why = strcmp(type, WSSE_PASSWORD_DIGEST) == 0 ? "UsernameToken with PasswordDigest" :
			"UsernameToken with an unknown password type";
		goto refused;
	}
	if (s->auth(who->client, t->Username, t->Password->__item, &role, s->auth_arg) != 0) {
		why = "wrong credentials (UsernameToken)";
		goto refused;
	}
	if (who->basic ? strcmp(who->app, t->Username) != 0 : strlen(t->Username) >= sizeof(who->app)) {
		why = "UsernameToken names another user than HTTP Basic";
		goto refused;
	}
	snprintf(who->app, sizeof(who->app), "%s", t->Username);
	who->admin = role == AUTH_ROLE_ADMIN;
	return 0;
refused:   /* the user name is the client's text: not logged */
	log_info("soap: %s: %s: 401", who->client[0] ? who->client : "?", why);
	return -1;
}

/* --- faults -------------------------------------------------------------- */

static char **vars_copy(struct soap *soap, const struct fault *f)
{
	char **v = f->nvars ? soap_malloc(soap, (size_t)f->nvars * sizeof(char *)) : NULL;

	for (int i = 0; v && i < f->nvars; i++)
		v[i] = soap_strdup(soap, f->vars[i]);
	return v;
}

/* Makes the SOAP fault for f (contract section 6). Returns SOAP_FAULT. */
int svc_send_fault(struct soap *soap, const struct fault *f)
{
	char text[FAULT_VAR_MAX * FAULT_MAX_VARS + 128];
	struct SOAP_ENV__Detail *d;

	struct call *c = soap->user;

	if (c && c->u) {   /* the usage record: the fault, its cause */
		c->u->fault = f->id;
		if (!c->u->cause[0] && (f->id == SVC0001 || f->id == POL0001) && f->nvars > 0)
			snprintf(c->u->cause, sizeof(c->u->cause), "%.*s", (int)sizeof(c->u->cause) - 1,
				 f->vars[0]);
	}
	fault_format(f, text, sizeof(text));
	if (fault_is_client(f->id))
		soap_sender_fault(soap, text, NULL);
	else
		soap_receiver_fault(soap, text, NULL);
	d = soap_malloc(soap, sizeof(*d));
	if (!d)
		return SOAP_FAULT;
	soap_default_SOAP_ENV__Detail(soap, d);
	if (fault_is_policy(f->id)) {
		struct pxc__PolicyException *e = soap_malloc(soap, sizeof(*e));
		if (e) {
			soap_default_pxc__PolicyException(soap, e);
			e->messageId = (char *)fault_msgid(f->id);
			e->text = (char *)fault_template(f->id);
			e->__sizevariables = f->nvars;
			e->variables = vars_copy(soap, f);
		}
		d->pxc__PolicyException = e;
	} else {
		struct pxc__ServiceException *e = soap_malloc(soap, sizeof(*e));
		if (e) {
			soap_default_pxc__ServiceException(soap, e);
			e->messageId = (char *)fault_msgid(f->id);
			e->text = (char *)fault_template(f->id);
			e->__sizevariables = f->nvars;
			e->variables = vars_copy(soap, f);
		}
		d->pxc__ServiceException = e;
	}
	soap->fault->detail = d;
	return SOAP_FAULT;
}

int svc_fault1(struct soap *soap, enum fault_id id, const char *var)
{
	struct fault f;

	fault_set(&f, id, var, NULL);
	return svc_send_fault(soap, &f);
}

static enum ts__Status status_out(ts_status st)
{
	switch (st) {
	case TS_BUSY: return ts__Status__Busy;
	case TS_REACHABLE: return ts__Status__Reachable;
	case TS_UNREACHABLE: break;
	}
	return ts__Status__Unreachable;
}

/* --- serving -------------------------------------------------------------- */

#define SOAP11_ENV "http://schemas.xmlsoap.org/soap/envelope/"

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

/* Looks at the document element. Returns false when it is an Envelope
 * whose namespace is not SOAP 1.1 (SOAP 1.2, or anything else): the caller
 * answers VersionMismatch (contract section 1). Anything that is not an
 * Envelope, or that cannot be read here, is left to gSOAP. */
static bool envelope_ns_ok(const char *body)
{
	const char *p = body, *name, *colon = NULL;
	size_t nlen, plen;

	if ((unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb && (unsigned char)p[2] == 0xbf)
		p += 3;
	for (;;) {                       /* prolog: declaration, comments, PIs */
		p = skip_blanks(p);
		if (p[0] != '<')
			return true;
		if (p[1] != '?' && p[1] != '!')
			break;
		p = strchr(p, '>');
		if (!p)
			return true;
		p++;
	}
	name = p + 1;
	nlen = strcspn(name, " \t\r\n/>");
	colon = memchr(name, ':', nlen);
	plen = colon ? (size_t)(colon - name) : 0;
	if (nlen - (colon ? plen + 1 : 0) != strlen("Envelope") ||
	    strncmp(colon ? colon + 1 : name, "Envelope", 8) != 0)
		return true;
	/* attributes: name blanks = blanks quote value quote */
	p = name + nlen;
	for (;;) {
		const char *an, *v;
		size_t alen, vlen;
		char q;

		p = skip_blanks(p);
		if (!*p || *p == '>' || *p == '/')
			break;
		an = p;
		alen = strcspn(an, " \t\r\n=/>");
		p = skip_blanks(an + alen);
		if (*p != '=')
			return true;
		p = skip_blanks(p + 1);
		q = *p;
		if (q != '"' && q != '\'')
			return true;
		v = p + 1;
		p = strchr(v, q);
		if (!p)
			return true;
		vlen = (size_t)(p - v);
		p++;
		if (colon ? (alen == 6 + plen && strncmp(an, "xmlns:", 6) == 0 &&
			     strncmp(an + 6, name, plen) == 0)
			  : (alen == 5 && strncmp(an, "xmlns", 5) == 0))
			return vlen == strlen(SOAP11_ENV) && strncmp(v, SOAP11_ENV, vlen) == 0;
	}
	return false;   /* an Envelope with no namespace of its own */
}

/* gSOAP refused a value of the request (an unknown enumeration value such
 * as criteria "Sleeping", a number out of range, too many items): answer
 * the Parlay X way, SVC0002 naming the element, rather than gSOAP's bare
 * validation fault. */
static int invalid_value_fault(struct soap *soap)
{
	const char *t = soap->tag, *colon = strrchr(t, ':');
	char part[64];
	struct fault f;

	snprintf(part, sizeof(part), "%.63s", colon ? colon + 1 : t);
	fault_set(&f, SVC0002, part[0] ? part : "Body", NULL);
	soap->error = SOAP_OK;
	soap->error = svc_send_fault(soap, &f);
	return soap->error;
}

/* gSOAP echoes parts of a request in its answer as it read them: an
 * element name in a fault string ("Method '...' not implemented"), a
 * string value such as an address. A byte that is not UTF-8, or a
 * character XML does not allow (a surrogate or U+FFFE, written raw or as a
 * character reference), would make the whole answer unreadable to the
 * client's XML parser, so each byte of such a sequence becomes '?'. */
static void xml_chars_fix(char *s, size_t len)
{
	unsigned char *p = (unsigned char *)s;
	size_t i = 0, k;

	while (i < len) {
		if ((p[i] >= 0x20 && p[i] < 0x7f) || p[i] == '\n') {   /* most of it */
			i++;
			continue;
		}
		k = xml_char_len(p + i, len - i);
		if (k == 0) {
			p[i] = '?';
			k = 1;
		}
		i += k;
	}
}

/* Runs the generated dispatcher over body. Returns the gSOAP error (0). */
static int run(struct svc *s, struct call *c, const char *body, const char *action,
	       struct svc_response *out)
{
	struct soap *soap = thread_soap(s);
	const char *res = NULL;
	int err;

	out->http_status = 0;     /* out->usage is the caller's */
	out->body = NULL;
	out->len = 0;
	c->u = &out->usage;
	if (!soap) {
		out->http_status = 500;
		return SOAP_EOM;
	}
	soap->user = c;
	soap->is = body;
	soap->os = &res;
	soap->action = soap_strdup(soap, action);
	soap->mode &= ~SOAP_XML_IGNORENS;
	soap_set_namespaces(soap, s->ns);
	soap_begin_serve(soap);
	if (!envelope_ns_ok(body)) {
		soap->version = 1;
		soap->error = SOAP_VERSIONMISMATCH;
	}
	if (c->phase == 1 && s->auth && authenticate(s, soap, c->who, soap->error == SOAP_OK) != 0)
		err = SVC_UNAUTHORIZED;
	else
		err = SOAP_OK;
	security_drop(soap);
	/* the header is read: from here on (the body, the answer) without
	 * wsse and wsu; gSOAP carries the namespaces declared so far over */
	soap_set_namespaces(soap, s->ns_out);
	if (err == SOAP_OK) {
		body_lenient(soap);
		err = soap->error ? soap->error : soap_serve_request(soap);
	}
	if (err == SOAP_TYPE || err == SOAP_LENGTH || err == SOAP_OCCURS)
		err = invalid_value_fault(soap);
	if (err == SVC_UNAUTHORIZED) {
		static const char text[] = "authentication required\n";

		soap->error = SOAP_OK;
		out->http_status = 401;
		out->body = malloc(sizeof(text));
		if (out->body) {
			memcpy(out->body, text, sizeof(text));
			out->len = sizeof(text) - 1;
		}
	} else if (err == SVC_DEFER) {
		soap->error = SOAP_OK;
	} else {
		if (err && err < SOAP_STOP)
			soap_send_fault(soap);
		if (res) {
			out->len = strlen(res);
			out->body = malloc(out->len + 1);
			if (out->body) {
				memcpy(out->body, res, out->len + 1);
				xml_chars_fix(out->body, out->len);
			}
		}
		out->http_status = err ? 500 : 200;
	}
	soap->is = NULL;
	soap->os = NULL;
	soap->user = NULL;
	soap_destroy(soap);
	soap_end(soap);
	/* gSOAP read the request through its buffer: with a users file it may
	 * hold a UsernameToken's password until the next request */
	if (s->auth)
		explicit_bzero(soap->buf, sizeof(soap->buf));
	return err;
}

enum svc_rc svc_handle(struct svc *s, const char *body, size_t len, const char *soap_action,
		       struct svc_caller *who, struct svc_pending **pending,
		       struct svc_response *out)
{
	struct svc_caller nobody = { .app = "" };
	struct call c = { .s = s, .phase = 1, .who = who ? who : &nobody };
	struct pub_ref *ref;
	int err;

	(void)len;
	*pending = NULL;
	memset(out, 0, sizeof(*out));
	out->usage.addresses = out->usage.expanded = out->usage.count = -1;
	c.app = c.who->app;   /* read after authentication, by the operations */
	c.conf = pub_get(s->conf, &ref);
	err = run(s, &c, body, soap_action, out);
	pub_put(ref);
	if (err == SVC_DEFER && c.p) {
		c.p->usage = out->usage;   /* phase 2 goes on from it */
		out->usage.correlator = NULL;
		*pending = c.p;
		return SVC_WAIT;
	}
	return SVC_DONE;
}

int svc_start(struct svc_pending *p, svc_wake_h *wake, void *arg)
{
	int rc;

	switch (p->op) {
	case OP_START_NOTIFICATION:
		rc = nm_start_async(p->nm, p->ns, wake, arg);
		break;
	case OP_END_NOTIFICATION:
		rc = nm_end_async(p->nm, p->ne, wake, arg);
		break;
	default:
		rc = query_run(p->q, wake, arg);
		break;
	}
	if (rc != 0) {
		p->start_failed = true;
		return -1;
	}
	return 0;
}

void svc_finish(struct svc *s, struct svc_pending *p, const char *body, size_t len,
		const char *soap_action, struct svc_response *out)
{
	struct call c = { .s = s, .app = "", .phase = 2, .p = p };
	struct pub_ref *ref;

	(void)len;
	memset(out, 0, sizeof(*out));
	out->usage = p->usage;
	p->usage.correlator = NULL;
	c.conf = pub_get(s->conf, &ref);
	run(s, &c, body, soap_action, out);
	pub_put(ref);
	svc_pending_free(p);
}

void svc_gsoap_version(char *buf, size_t cap)
{
	/* GSOAP_VERSION is 208124 for 2.8.124 */
	snprintf(buf, cap, "%d.%d.%d", GSOAP_VERSION / 100000, GSOAP_VERSION / 1000 % 100,
		 GSOAP_VERSION % 1000);
}

void svc_usage_clear(struct svc_usage *u)
{
	if (u) {
		free(u->correlator);
		u->correlator = NULL;
	}
}

void svc_usage_op(struct call *c, const char *operation)
{
	if (c->u)
		c->u->operation = operation;
}

void svc_usage_correlator(struct call *c, const char *correlator)
{
	if (c->u && c->phase == 1 && correlator && !c->u->correlator)
		c->u->correlator = strdup(correlator);
}

/* Phase-1 tail shared by the deferred operations: takes q, ns or ne. */
int svc_defer(struct soap *soap, struct call *c, enum op op, struct query *q,
		 struct nm_start *ns, struct nm_end *ne)
{
	c->p = calloc(1, sizeof(*c->p));
	if (!c->p) {
		query_free(q);
		nm_start_free(ns);
		nm_end_free(ne);
		return svc_fault1(soap, SVC0001, "out of memory");
	}
	c->p->op = op;
	c->p->q = q;   /* its log fields set by answered_from_state */
	if (ns)
		nm_start_set_log(ns, c->who ? c->who->req : NULL);
	c->p->ns = ns;
	c->p->ne = ne;
	c->p->nm = c->s->nm;
	return SVC_DEFER;
}

/* Phase 2: the pending state this operation left, or NULL. */
struct svc_pending * svc_phase2(struct call *c, enum op op)
{
	return c->phase == 2 && c->p && c->p->op == op ? c->p : NULL;
}

/* Phase 1 of an operation: whether the caller's application is within
 * policy.max-requests-per-s (contract section 11); every operation
 * request counts, refused ones included. */
bool svc_admitted(struct call *c)
{
	return !c->s->rate || rate_take(c->s->rate, c->app, mono_ms());
}


/* Whether q is answered at once from the subscriptions' published state
 * (then phase 1 answers: no SIP thread, no suspended connection). */
static bool answered_from_state(struct call *c, struct query *q)
{
	query_set_log(q, c->who ? c->who->req : NULL, c->app);
	return query_from_state(q);
}

/* getStatus's answer once q is done (phase 2, or phase 1 from state). */
static int single_answer(struct soap *soap, struct call *c, const struct query *q,
			 struct tsl__getStatusResponse *resp)
{
	struct fault f;
	ts_status st;

	if (query_single_result(q, &st, &f) != 0) {
		if (c->u)
			query_cause(q, c->u->cause, sizeof(c->u->cause));
		return svc_send_fault(soap, &f);
	}
	resp->result = status_out(st);
	return SOAP_OK;
}

/* getStatusForGroup's answer once q is done. */
static int group_answer(struct soap *soap, struct call *c, const struct query *q,
			struct tsl__getStatusForGroupResponse *resp)
{
	size_t n;

	if (c->u)   /* a member's error: the answer is still ok */
		query_cause(q, c->u->cause, sizeof(c->u->cause));
	n = query_count(q);
	resp->__sizeresult = (int)n;
	resp->result = soap_malloc(soap, (n ? n : 1) * sizeof(*resp->result));
	if (!resp->result)
		return svc_fault1(soap, SVC0001, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct ts__StatusData *sd = &resp->result[i];
		struct query_answer a;

		query_answer(q, i, &a);
		soap_default_ts__StatusData(soap, sd);
		sd->address = soap_strdup(soap, a.address);
		switch (a.kind) {
		case QA_RETRIEVED:
			sd->reportStatus = ts__RetrievalStatus__Retrieved;
			sd->currentStatus = soap_malloc(soap, sizeof(*sd->currentStatus));
			if (sd->currentStatus)
				*sd->currentStatus = status_out(a.status);
			break;
		case QA_NOT_RETRIEVED:
			sd->reportStatus = ts__RetrievalStatus__NotRetrieved;
			break;
		case QA_ERROR:
			sd->reportStatus = ts__RetrievalStatus__Error;
			sd->errorInformation = soap_malloc(soap, sizeof(*sd->errorInformation));
			if (sd->errorInformation) {
				struct pxc__ServiceError *e = sd->errorInformation;

				soap_default_pxc__ServiceError(soap, e);
				e->messageId = (char *)fault_msgid(a.error.id);
				e->text = (char *)fault_template(a.error.id);
				e->__sizevariables = a.error.nvars;
				e->variables = vars_copy(soap, &a.error);
			}
			break;
		}
	}
	return SOAP_OK;
}

int __tss__getStatus(struct soap *soap, struct tsl__getStatus *req, struct tsl__getStatusResponse *resp)
{
	struct call *c = soap->user;
	struct svc_pending *p;
	struct query *q;
	struct fault f;

	svc_usage_op(c, "getStatus");
	if ((p = svc_phase2(c, OP_GET_STATUS)) != NULL) {
		if (p->start_failed)
			return svc_fault1(soap, SVC0001, "presence service unavailable");
		return single_answer(soap, c, p->q, resp);
	}
	if (c->u)
		c->u->addresses = 1;
	if (!svc_admitted(c))
		return RATE_FAULT(soap);
	q = query_new_single(&c->conf->env, req->address, &f);
	if (!q)
		return svc_send_fault(soap, &f);
	if (c->u)
		c->u->expanded = 1;
	if (answered_from_state(c, q)) {   /* no SIP round trip, no second pass */
		int rc = single_answer(soap, c, q, resp);

		query_free(q);
		return rc;
	}
	return svc_defer(soap, c, OP_GET_STATUS, q, NULL, NULL);
}

int __tss__getStatusForGroup(struct soap *soap, struct tsl__getStatusForGroup *req,
			     struct tsl__getStatusForGroupResponse *resp)
{
	struct call *c = soap->user;
	struct svc_pending *p;
	struct query *q;
	struct fault f;

	svc_usage_op(c, "getStatusForGroup");
	if ((p = svc_phase2(c, OP_GET_STATUS_FOR_GROUP)) != NULL) {
		if (p->start_failed)
			return svc_fault1(soap, SVC0001, "presence service unavailable");
		return group_answer(soap, c, p->q, resp);
	}
	if (c->u)
		c->u->addresses = req->__sizeaddresses > 0 ? req->__sizeaddresses : 0;
	if (!svc_admitted(c))
		return RATE_FAULT(soap);
	if (req->__sizeaddresses <= 0)
		return svc_fault1(soap, SVC0002, "addresses");
	q = query_new_group(&c->conf->env, (const char *const *)req->addresses,
			    (size_t)req->__sizeaddresses, &f);
	if (!q)
		return svc_send_fault(soap, &f);
	if (c->u)
		c->u->expanded = (long)query_count(q);
	if (answered_from_state(c, q)) {
		int rc = group_answer(soap, c, q, resp);

		query_free(q);
		return rc;
	}
	return svc_defer(soap, c, OP_GET_STATUS_FOR_GROUP, q, NULL, NULL);
}

