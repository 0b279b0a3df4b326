/*
 * camara_sub.c - CAMARA subscriptions (see camara_sub.h): a POST body
 * checked and mapped onto a notification's start, the answer's JSON, the
 * CloudEvents, the stored form. Pure (no SIP, no HTTP): runs on the HTTP
 * thread; csub_event_json also on the SIP thread. JSON is read and written
 * with jansson only.
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include "camara_sub.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dest.h"
#include "log.h"
#include "nm_int.h"
#include "rest.h"

#define TOKEN_MAX 4096
#define XCORR_MAX 256
#define SOURCE_MAX 512

static const char *const type_names[] = {
	[CSUB_DATA] = CSUB_TYPE_PREFIX "reachability-data",
	[CSUB_DISCONNECTED] = CSUB_TYPE_PREFIX "reachability-disconnected",
};

static const char *const reason_names[] = {
	[CSUB_END_NONE] = "",
	[CSUB_MAX_EVENTS_REACHED] = "MAX_EVENTS_REACHED",
	[CSUB_SUBSCRIPTION_EXPIRED] = "SUBSCRIPTION_EXPIRED",
	[CSUB_SUBSCRIPTION_DELETED] = "SUBSCRIPTION_DELETED",
	[CSUB_NETWORK_TERMINATED] = "NETWORK_TERMINATED",
	[CSUB_ACCESS_TOKEN_EXPIRED] = "ACCESS_TOKEN_EXPIRED",
};

const char *csub_reason_name(enum csub_reason r)
{
	return (unsigned)r <= CSUB_ACCESS_TOKEN_EXPIRED ? reason_names[r] : "";
}

enum dlv_op csub_event_op(enum csub_type t)
{
	return t == CSUB_DATA ? DLV_CE_REACHABILITY_DATA : DLV_CE_REACHABILITY_DISCONNECTED;
}

/* --- the data ------------------------------------------------------------- */

void csub_free(struct csub *c)
{
	if (!c)
		return;
	free(c->phone);
	free(c->bearer);
	free(c->x_correlator);
	free(c->source);
	free(c->json);
	free(c);
}

static char *dup_opt(const char *s, bool *ok)
{
	char *p;

	if (!s)
		return NULL;
	if (!(p = strdup(s)))
		*ok = false;
	return p;
}

struct csub *csub_dup(const struct csub *c)
{
	struct csub *d = calloc(1, sizeof(*d));
	bool ok = true;

	if (!d)
		return NULL;
	*d = *c;
	d->phone = dup_opt(c->phone, &ok);
	d->bearer = dup_opt(c->bearer, &ok);
	d->x_correlator = dup_opt(c->x_correlator, &ok);
	d->source = dup_opt(c->source, &ok);
	d->json = dup_opt(c->json, &ok);
	if (!ok) {
		csub_free(d);
		return NULL;
	}
	return d;
}

/* Stored form: a JSON object with every field (the store's camara
 * column; it holds the bearer token, as the outbox does). */
char *csub_encode(const struct csub *c)
{
	json_t *o = json_pack("{s:i, s:s, s:I, s:I, s:I, s:s, s:s}", "type", (int)c->type, "phone", c->phone,
			      "tokenExpiresMs", (json_int_t)c->token_expires_ms, "expiresMs",
			      (json_int_t)c->expires_ms, "maxEvents", (json_int_t)c->max_events, "source",
			      c->source ? c->source : "", "json", c->json ? c->json : "");
	char *s = NULL;

	if (!o)
		return NULL;
	if ((c->bearer && json_object_set_new(o, "bearer", json_string(c->bearer)) != 0) ||
	    (c->x_correlator && json_object_set_new(o, "xCorrelator", json_string(c->x_correlator)) != 0)) {
		json_decref(o);
		return NULL;
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

struct csub *csub_decode(const char *text)
{
	json_t *o = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
	const char *phone = NULL, *source = NULL, *js = NULL, *bearer = NULL, *xc = NULL;
	json_int_t tok = 0, exp = 0, maxev = 0;
	int type = -1;
	struct csub *c = NULL;
	bool ok = true;

	if (!o)
		return NULL;
	if (json_unpack(o, "{s:i, s:s, s:I, s:I, s:I, s:s, s:s, s?s, s?s}", "type", &type, "phone", &phone,
			"tokenExpiresMs", &tok, "expiresMs", &exp, "maxEvents", &maxev, "source", &source,
			"json", &js, "bearer", &bearer, "xCorrelator", &xc) != 0 ||
	    (type != CSUB_DATA && type != CSUB_DISCONNECTED) || maxev < 0 || !(c = calloc(1, sizeof(*c))))
		goto out;
	c->type = (enum csub_type)type;
	c->token_expires_ms = tok;
	c->expires_ms = exp;
	c->max_events = (long)maxev;
	c->phone = dup_opt(phone, &ok);
	c->source = dup_opt(source, &ok);
	c->json = dup_opt(js, &ok);
	c->bearer = dup_opt(bearer, &ok);
	c->x_correlator = dup_opt(xc, &ok);
	if (!ok) {
		csub_free(c);
		c = NULL;
	}
out:
	json_decref(o);
	return c;
}

/* --- time, ids ------------------------------------------------------------ */

void csub_uuid(char out[CSUB_ID_LEN + 1])
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t r = getrandom(b + got, sizeof(b) - got, 0);

		if (r < 0 && errno != EINTR) {
			/* no entropy source: should never happen on Linux >= 3.17 */
			log_error("camara: getrandom failed: %s", strerror(errno));
			abort();
		}
		if (r > 0)
			got += (size_t)r;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);   /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);   /* variant 10 */
	snprintf(out, CSUB_ID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* n digits at *p into *v; advances p. */
static bool digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return false;
		*v = *v * 10 + (**p - '0');
	}
	return true;
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM), 'T'
 * and 'Z' in either case. */
int csub_parse_time(const char *s, int64_t *ms)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec, frac = 0, oh = 0, om = 0, sign = 0;
	const char *p = s;
	struct tm tm = { 0 };
	time_t t;

	if (!s || !digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
		return -1;
	p++;
	if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' || !digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		int n = 0;

		p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++, n++)
			if (n < 3)
				frac = frac * 10 + (*p - '0');
		for (; n < 3; n++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60 ||
	    (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)))
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec > 59 ? 59 : sec;
	t = timegm(&tm);
	*ms = ((int64_t)t - (int64_t)sign * (oh * 3600 + om * 60)) * 1000 + frac;
	return 0;
}

/* --- the request ---------------------------------------------------------- */

/* A CAMARA error answer into e (fmt has one %s, for arg). */
static int fail(struct rest_reply *e, unsigned status, const char *code, const char *fmt, const char *arg)
	__attribute__((format(printf, 4, 0)));

static int fail(struct rest_reply *e, unsigned status, const char *code, const char *fmt, const char *arg)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
	rest_reply_error(e, status, code, "%s", msg);
	return -1;
}

#define BAD(e, ...) fail((e), 400, "INVALID_ARGUMENT", __VA_ARGS__)

/* Printable ASCII, 1..max bytes (it goes into an HTTP header). */
static bool header_text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* sinkCredential: the token and its expiry (0: none). */
static int read_credential(const json_t *cred, int64_t now, const char **token, int64_t *expires,
			   struct rest_reply *e)
{
	const json_t *ct, *tt, *tok, *exp;

	*token = NULL;
	*expires = 0;
	if (!cred || json_is_null(cred))
		return 0;
	if (!json_is_object(cred))
		return BAD(e, "sinkCredential must be an object%s", NULL);
	ct = json_object_get(cred, "credentialType");
	if (!json_is_string(ct) || strcmp(json_string_value(ct), "ACCESSTOKEN") != 0)
		return fail(e, 400, "INVALID_CREDENTIAL", "Only Access token is supported%s", NULL);
	tt = json_object_get(cred, "accessTokenType");
	if (!json_is_string(tt) || strcmp(json_string_value(tt), "bearer") != 0)
		return fail(e, 400, "INVALID_CREDENTIAL", "Only bearer token is supported%s", NULL);
	tok = json_object_get(cred, "accessToken");
	if (!json_is_string(tok) || !header_text_ok(json_string_value(tok), TOKEN_MAX))
		return fail(e, 400, "INVALID_TOKEN", "sinkCredential.accessToken is missing or not a "
			    "usable token (printable ASCII, up to 4096 characters)%s", NULL);
	exp = json_object_get(cred, "accessTokenExpiresUtc");
	if (exp && !json_is_null(exp)) {
		if (!json_is_string(exp) || csub_parse_time(json_string_value(exp), expires) != 0)
			return fail(e, 400, "INVALID_CREDENTIAL",
				    "sinkCredential.accessTokenExpiresUtc is not a date-time%s", NULL);
		if (*expires <= now)
			return fail(e, 400, "INVALID_CREDENTIAL",
				    "sinkCredential.accessTokenExpiresUtc is in the past%s", NULL);
	}
	*token = json_string_value(tok);
	return 0;
}

static int read_type(const json_t *types, enum csub_type *t, struct rest_reply *e)
{
	const char *v;

	if (!types)
		return BAD(e, "types is required%s", NULL);
	if (!json_is_array(types) || json_array_size(types) != 1)
		return BAD(e, "types must hold exactly one event type%s", NULL);
	if (!json_is_string(json_array_get(types, 0)))
		return BAD(e, "types must hold event type names%s", NULL);
	v = json_string_value(json_array_get(types, 0));
	if (strcmp(v, type_names[CSUB_DATA]) == 0)
		*t = CSUB_DATA;
	else if (strcmp(v, type_names[CSUB_DISCONNECTED]) == 0)
		*t = CSUB_DISCONNECTED;
	else if (strcmp(v, CSUB_TYPE_PREFIX "reachability-sms") == 0)
		return BAD(e, "reachability-sms is not supported: SIP presence says nothing about SMS%s",
			   NULL);
	else
		return BAD(e, "unknown event type in types%s", NULL);
	return 0;
}

/* The answer: the request as given (known fields only, no access token,
 * no accessTokenExpiresUtc) with id, startsAt, expiresAt and status. */
static char *answer_json(const json_t *body, const char *id, int64_t now, int64_t expires,
			 const char *phone)
{
	json_t *o = json_object(), *cfg = json_object_get(body, "config"), *c = json_object();
	json_t *cred = json_object_get(body, "sinkCredential");
	char ts[32];
	char *s = NULL;
	const char *const cfg_keys[] = { "subscriptionExpireTime", "subscriptionMaxEvents", "initialEvent" };

	if (!o || !c)
		goto out;
	json_object_set(o, "protocol", json_object_get(body, "protocol"));
	json_object_set(o, "sink", json_object_get(body, "sink"));
	if (json_is_object(cred)) {
		json_t *sc = json_pack("{s:O, s:O}", "credentialType", json_object_get(cred, "credentialType"),
				       "accessTokenType", json_object_get(cred, "accessTokenType"));

		if (!sc || json_object_set_new(o, "sinkCredential", sc) != 0)
			goto out;
	}
	json_object_set(o, "types", json_object_get(body, "types"));
	json_object_set_new(c, "subscriptionDetail",
			    json_pack("{s:{s:s}}", "device", "phoneNumber", phone));
	for (size_t i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++) {
		json_t *v = json_object_get(cfg, cfg_keys[i]);

		if (v && !json_is_null(v))
			json_object_set(c, cfg_keys[i], v);
	}
	json_object_set(o, "config", c);
	json_object_set_new(o, "id", json_string(id));
	rest_time_text(now, ts, sizeof(ts));
	json_object_set_new(o, "startsAt", json_string(ts));
	rest_time_text(expires, ts, sizeof(ts));
	json_object_set_new(o, "expiresAt", json_string(ts));
	json_object_set_new(o, "status", json_string("ACTIVE"));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
	json_decref(c);
	json_decref(o);
	return s;
}

struct nm_start *csub_prepare(json_t *body, const struct csub_params *p, struct rest_reply *e)
{
	const json_t *proto, *sink, *cfg, *detail, *jexp, *jmax, *jinit;
	const struct nm_policy *pol = p->pol;
	const char *phone, *token = NULL;
	struct rest_device dev;
	int64_t token_exp = 0, expires, dur;
	long max_events = 0;
	bool initial = false;
	enum csub_type type = CSUB_DATA;
	char uri[SIP_URI_MAX], addr[32], id[CSUB_ID_LEN + 1];
	struct nm_start *s = NULL;
	struct csub *c = NULL;

	if (!json_is_object(body)) {
		BAD(e, "the body must be a JSON object%s", NULL);
		return NULL;
	}
	proto = json_object_get(body, "protocol");
	if (!proto) {
		BAD(e, "protocol is required%s", NULL);
		return NULL;
	}
	if (!json_is_string(proto)) {
		BAD(e, "protocol must be a string%s", NULL);
		return NULL;
	}
	if (strcmp(json_string_value(proto), "HTTP") != 0) {
		fail(e, 400, "INVALID_PROTOCOL", "Only HTTP is supported%s", NULL);
		return NULL;
	}
	sink = json_object_get(body, "sink");
	if (!sink) {
		BAD(e, "sink is required%s", NULL);
		return NULL;
	}
	if (!json_is_string(sink)) {
		BAD(e, "sink must be a string%s", NULL);
		return NULL;
	}
	if (!nm_endpoint_ok(json_string_value(sink))) {
		fail(e, 400, "INVALID_SINK", "sink is not an absolute http or https URL%s", NULL);
		return NULL;
	}
	if (read_credential(json_object_get(body, "sinkCredential"), p->now_ms, &token, &token_exp, e) != 0 ||
	    read_type(json_object_get(body, "types"), &type, e) != 0)
		return NULL;
	cfg = json_object_get(body, "config");
	if (!json_is_object(cfg)) {
		BAD(e, cfg ? "config must be an object%s" : "config is required%s", NULL);
		return NULL;
	}
	detail = json_object_get(cfg, "subscriptionDetail");
	if (detail && !json_is_object(detail)) {
		BAD(e, "config.subscriptionDetail must be an object%s", NULL);
		return NULL;
	}
	if (rest_device_parse(detail ? json_object_get(detail, "device") : NULL, p->tel_domain, &dev,
			      e) != 0)
		return NULL;
	phone = dev.phone;
	jexp = json_object_get(cfg, "subscriptionExpireTime");
	if (jexp && !json_is_null(jexp)) {
		if (!json_is_string(jexp) || csub_parse_time(json_string_value(jexp), &expires) != 0) {
			BAD(e, "config.subscriptionExpireTime is not a date-time%s", NULL);
			return NULL;
		}
		if (expires <= p->now_ms) {
			BAD(e, "config.subscriptionExpireTime is in the past%s", NULL);
			return NULL;
		}
		if (expires - p->now_ms > pol->max_duration_ms) {
			char why[32];

			snprintf(why, sizeof(why), "%lld", (long long)(pol->max_duration_ms / 1000));
			fail(e, 403, "PERMISSION_DENIED",
			     "config.subscriptionExpireTime is beyond the maximum duration of %s s", why);
			return NULL;
		}
	} else {
		expires = p->now_ms + pol->default_duration_ms;
	}
	jmax = json_object_get(cfg, "subscriptionMaxEvents");
	if (jmax && !json_is_null(jmax)) {
		if (!json_is_integer(jmax) || json_integer_value(jmax) < 1) {
			BAD(e, "config.subscriptionMaxEvents must be an integer of at least 1%s", NULL);
			return NULL;
		}
		if (json_integer_value(jmax) > pol->max_count) {
			char why[32];

			snprintf(why, sizeof(why), "%ld", pol->max_count);
			fail(e, 403, "PERMISSION_DENIED",
			     "config.subscriptionMaxEvents is above the maximum of %s", why);
			return NULL;
		}
		max_events = (long)json_integer_value(jmax);
	} else if (!pol->unlimited_count_allowed) {
		fail(e, 403, "PERMISSION_DENIED", "config.subscriptionMaxEvents is required: an unlimited "
		     "number of events is not allowed%s", NULL);
		return NULL;
	}
	jinit = json_object_get(cfg, "initialEvent");
	if (jinit && !json_is_null(jinit)) {
		if (!json_is_boolean(jinit)) {
			BAD(e, "config.initialEvent must be a boolean%s", NULL);
			return NULL;
		}
		initial = json_is_true(jinit);
	}
	if (p->x_correlator && strlen(p->x_correlator) > XCORR_MAX) {
		BAD(e, "x-correlator is too long%s", NULL);
		return NULL;
	}
	snprintf(addr, sizeof(addr), "%s", dev.tel);
	snprintf(uri, sizeof(uri), "%s", dev.sip);
	/* the notification ends at the subscription's expiry or, earlier,
	 * at the token's (ACCESS_TOKEN_EXPIRED) */
	dur = (token_exp && token_exp < expires ? token_exp : expires) - p->now_ms;
	csub_uuid(id);

	s = calloc(1, sizeof(*s));
	c = calloc(1, sizeof(*c));
	if (!s || !c)
		goto oom;
	s->cam = c;
	c->type = type;
	c->token_expires_ms = token_exp;
	c->expires_ms = expires;
	c->max_events = max_events;
	c->phone = strdup(phone);
	c->bearer = token ? strdup(token) : NULL;
	c->x_correlator = p->x_correlator ? strdup(p->x_correlator) : NULL;
	c->source = strndup(p->source ? p->source : "", SOURCE_MAX);
	c->json = answer_json(body, id, p->now_ms, expires, phone);
	s->app = strdup(p->app ? p->app : "");
	s->correlator = strdup(id);
	s->endpoint = strdup(json_string_value(sink));
	s->interface_name = strdup("camara");
	s->addresses = calloc(1, sizeof(char *));
	s->sip_uris = calloc(1, sizeof(char *));
	if (!c->phone || (token && !c->bearer) || (p->x_correlator && !c->x_correlator) || !c->source ||
	    !c->json || !s->app || !s->correlator || !s->endpoint || !s->interface_name ||
	    !s->addresses || !s->sip_uris)
		goto oom;
	s->n = 1;
	s->addresses[0] = strdup(addr);
	s->sip_uris[0] = strdup(uri);
	if (!s->addresses[0] || !s->sip_uris[0])
		goto oom;
	s->params.n_addresses = 1;
	s->params.criteria = NOTIF_CRITERION(type == CSUB_DATA ? TS_REACHABLE : TS_UNREACHABLE);
	s->params.frequency_ms = 0;
	s->params.count = max_events;
	s->params.check_immediate = initial;
	s->params.style = NOTIF_STYLE_STATUS_NOTIFICATION;
	s->duration_ms = dur > 0 ? dur : 1;
	return s;
oom:
	if (s && !s->cam)
		csub_free(c);
	nm_start_free(s);
	fail(e, 500, "INTERNAL", "out of memory%s", NULL);
	return NULL;
}

int csub_check_sink(const struct nm_start *s, const struct nm_policy *pol, struct rest_reply *e)
{
	struct dest_url u;
	struct fault f;

	if (nm_check_endpoint(s, pol, &f) == 0)
		return 0;
	if (dest_url_parse(s->endpoint, &u) != 0)
		return fail(e, 400, "INVALID_SINK", "sink is not an absolute http or https URL%s", NULL);
	return fail(e, 400, "INVALID_SINK", "sink not allowed: %.220s", u.host);
}

int csub_start_result(const struct nm_start *s, struct rest_reply *e)
{
	struct fault f;

	if (nm_start_result(s, &f) == 0)
		return 0;
	switch (f.id) {
	case POL0001:
		/* too many notifications (of the application, of all) or
		 * presence subscriptions */
		return fail(e, 429, "QUOTA_EXCEEDED", "Out of resource quota: %.200s",
			    f.nvars > 0 ? f.vars[0] : "too many subscriptions");
	case SVC0004:
		return fail(e, 404, "IDENTIFIER_NOT_FOUND", "Device identifier not found.%s", NULL);
	case POL0002:
		return fail(e, 403, "PERMISSION_DENIED",
			    "The presence server refused to reveal the device's status%s", NULL);
	default:
		return fail(e, 503, "UNAVAILABLE", "Service Unavailable: %.200s",
			    f.nvars > 0 ? f.vars[0] : "the presence server did not answer");
	}
}

const struct csub *csub_of(const struct nm_start *s)
{
	return s->cam;
}

const char *csub_id(const struct nm_start *s)
{
	return s->correlator;
}

/* --- events --------------------------------------------------------------- */

char *csub_event_json(const char *event_id, const char *source, enum dlv_op op, int64_t time_ms,
		      const char *sub_id, const char *phone, enum csub_reason reason)
{
	char type[160], ts[32];
	const char *last = op == DLV_CE_REACHABILITY_DATA ? "reachability-data"
			   : op == DLV_CE_REACHABILITY_DISCONNECTED ? "reachability-disconnected"
								   : "subscription-ended";
	json_t *data, *ev;
	char *s;

	snprintf(type, sizeof(type), "%s%s", CSUB_TYPE_PREFIX, last);
	rest_time_text(time_ms, ts, sizeof(ts));
	if (op == DLV_CE_SUBSCRIPTION_ENDED)
		data = json_pack("{s:s, s:s, s:{s:s}}", "subscriptionId", sub_id, "terminationReason",
				 csub_reason_name(reason), "device", "phoneNumber", phone);
	else
		data = json_pack("{s:s, s:{s:s}}", "subscriptionId", sub_id, "device", "phoneNumber", phone);
	if (!data)
		return NULL;
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "id", event_id, "source", source, "type", type,
		       "specversion", "1.0", "datacontenttype", "application/json", "time", ts, "data", data);
	if (!ev)
		return NULL;
	s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(ev);
	return s;
}
