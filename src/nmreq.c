/*
 * nmreq.c - startNotification / endNotification requests: the contract's
 * checks and policies (sections 5, 6, 8), group expansion and address
 * mapping. Pure: runs on the HTTP thread, touches no SIP state;
 * nm_check_endpoint may wait for a DNS answer (on that HTTP thread).
 */
#include "nm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "camara_sub.h"
#include "dest.h"
#include "log.h"
#include "xmlchar.h"

/* --- preparing (HTTP thread) --------------------------------------------- */

int64_t nm_time_ms(const struct nm_time *t)
{
	static const int64_t unit[] = {
		[NM_MS] = 1, [NM_SECOND] = 1000, [NM_MINUTE] = 60000, [NM_HOUR] = 3600000,
		[NM_DAY] = 86400000, [NM_WEEK] = 7 * 86400000LL, [NM_MONTH] = 30 * 86400000LL,
		[NM_YEAR] = 365 * 86400000LL,
	};

	if (t->units < 0 || (unsigned)t->metric > NM_YEAR)
		return -1;
	if ((int64_t)t->units > INT64_MAX / unit[t->metric])
		return INT64_MAX;   /* longer than anything: policies refuse it */
	return (int64_t)t->units * unit[t->metric];
}

void nm_start_set_log(struct nm_start *s, const char *req)
{
	snprintf(s->log_req, sizeof(s->log_req), "%s", req ? req : "");
}

void nm_start_free(struct nm_start *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->addresses[i]);
		free(s->sip_uris[i]);
	}
	free(s->addresses);
	free(s->sip_uris);
	free(s->app);
	free(s->correlator);
	free(s->endpoint);
	free(s->interface_name);
	csub_free(s->cam);
	free(s);
}

/* An absolute http or https URL with a host (and a valid port). */
bool nm_endpoint_ok(const char *e)
{
	struct dest_url u;
	const char *h;

	if (!e || strlen(e) >= ENDPOINT_MAX)
		return false;
	if (strncasecmp(e, "http://", 7) == 0)
		h = e + 7;
	else if (strncasecmp(e, "https://", 8) == 0)
		h = e + 8;
	else
		return false;
	if (!*h || *h == '/' || *h == ':' || *h == '?' || *h == '#')
		return false;
	for (const char *p = e; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '"' || *p == '<' || *p == '>' || *p == '\\')
			return false;
	return dest_url_parse(e, &u) == 0;
}

static bool correlator_ok(const char *c)
{
	size_t n = c ? strlen(c) : 0;

	if (n == 0 || n >= CORRELATOR_MAX)
		return false;
	for (const char *p = c; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return false;
	/* it goes back out in every callback: text XML can carry (no
	 * surrogate, U+FFFE or byte that is not UTF-8, even when it came as
	 * a character reference) */
	return xml_text_ok(c);
}

struct nm_start *nm_prepare(const struct nm_request *req, const struct nm_policy *pol,
			    const struct group_set *groups, const char *tel_domain,
			    enum notif_style style, struct fault *f)
{
	struct group_policy gp = pol->groups;
	struct group_expansion ex;
	struct nm_start *s;
	int64_t freq = 0, dur;
	unsigned criteria = 0;
	char uri[SIP_URI_MAX];

	if (!nm_endpoint_ok(req->endpoint)) {
		fault_set(f, SVC0002, "reference.endpoint", NULL);
		return NULL;
	}
	if (!correlator_ok(req->correlator)) {
		fault_set(f, SVC0002, "reference.correlator", NULL);
		return NULL;
	}
	if (req->n_addresses == 0) {
		fault_set(f, SVC0002, "addresses", NULL);
		return NULL;
	}
	for (size_t i = 0; i < req->n_addresses; i++)
		if (!req->addresses[i] || !*req->addresses[i]) {
			fault_set(f, SVC0002, "addresses", NULL);
			return NULL;
		}
	for (size_t i = 0; i < req->n_criteria; i++) {
		if ((unsigned)req->criteria[i] > TS_BUSY) {
			fault_set(f, SVC0002, "criteria", NULL);
			return NULL;
		}
		criteria |= NOTIF_CRITERION(req->criteria[i]);
	}
	if (req->frequency.present) {
		freq = nm_time_ms(&req->frequency);
		if (freq < 0) {
			fault_set(f, SVC0002, "frequency", NULL);
			return NULL;
		}
		if (freq < pol->min_interval_ms) {
			fault_set(f, POL0009, NULL);
			return NULL;
		}
	}
	if (req->duration.present) {
		dur = nm_time_ms(&req->duration);
		if (dur <= 0) {
			fault_set(f, SVC0002, "duration", NULL);
			return NULL;
		}
		if (dur > pol->max_duration_ms) {
			char why[96];

			snprintf(why, sizeof(why), "duration longer than the maximum of %lld s",
				 (long long)(pol->max_duration_ms / 1000));
			fault_set(f, POL0001, why, NULL);
			return NULL;
		}
	} else {
		dur = pol->default_duration_ms;
	}
	if (req->has_count && req->count < 0) {
		fault_set(f, SVC0002, "count", NULL);
		return NULL;
	}
	if (!req->has_count || req->count == 0) {
		if (!pol->unlimited_count_allowed) {
			fault_set(f, POL0004, NULL);
			return NULL;
		}
	} else if (req->count > pol->max_count) {
		fault_set(f, POL0005, NULL);
		return NULL;
	}

	gp.max_targets = pol->max_addresses;
	gp.up_to_limit = false;
	if (group_expand(groups, req->addresses, req->n_addresses, "addresses", &gp, &ex, f) != 0) {
		group_expansion_free(&ex);
		return NULL;
	}
	for (size_t i = 0; i < ex.n; i++)
		if (addr_to_sip(ex.targets[i], tel_domain, uri, sizeof(uri)) != 0) {
			group_expansion_free(&ex);
			fault_set(f, SVC0002, "addresses", NULL);
			return NULL;
		}

	s = calloc(1, sizeof(*s));
	if (!s)
		goto oom;
	s->app = strdup(req->app ? req->app : "");
	s->correlator = strdup(req->correlator);
	s->endpoint = strdup(req->endpoint);
	s->interface_name = strdup(req->interface_name ? req->interface_name : "");
	s->addresses = calloc(ex.n, sizeof(char *));
	s->sip_uris = calloc(ex.n, sizeof(char *));
	if (!s->app || !s->correlator || !s->endpoint || !s->interface_name || !s->addresses || !s->sip_uris)
		goto oom;
	for (size_t i = 0; i < ex.n; i++) {
		addr_to_sip(ex.targets[i], tel_domain, uri, sizeof(uri));
		s->addresses[i] = strdup(ex.targets[i]);
		s->sip_uris[i] = strdup(uri);
		s->n++;
		if (!s->addresses[i] || !s->sip_uris[i])
			goto oom;
	}
	group_expansion_free(&ex);
	s->params.n_addresses = s->n;
	s->params.criteria = criteria;
	s->params.frequency_ms = freq;
	s->params.count = req->has_count ? req->count : 0;
	s->params.check_immediate = req->check_immediate;
	s->params.style = style;
	s->duration_ms = dur;
	return s;
oom:
	group_expansion_free(&ex);
	nm_start_free(s);
	fault_set(f, SVC0001, "out of memory", NULL);
	return NULL;
}

int nm_check_endpoint(const struct nm_start *s, const struct nm_policy *pol, struct fault *f)
{
	struct dest_url u;
	char why[160], var[FAULT_VAR_MAX], shown[ENDPOINT_MAX];
	long timeout = pol->dns_timeout_ms > 0 ? pol->dns_timeout_ms : DEST_DNS_TIMEOUT_MS;
	enum dest_verdict v;

	if (dest_url_parse(s->endpoint, &u) != 0) {
		fault_set(f, SVC0002, "reference.endpoint", NULL);   /* nm_prepare checked it */
		return -1;
	}
	v = dest_check(pol->dest, &u, timeout, NULL, why, sizeof(why));
	if (v == DEST_ALLOWED)
		return 0;
	dest_redact(s->endpoint, shown, sizeof(shown));
	log_info("nm: startNotification %s refused: callback endpoint %s %s: %s", s->correlator, shown,
		 v == DEST_REFUSED ? "not allowed" : "does not resolve", why);
	snprintf(var, sizeof(var), "callback endpoint not allowed: %s", u.host);
	fault_set(f, POL0001, var, NULL);
	return -1;
}

const struct notif_params *nm_start_params(const struct nm_start *s) { return &s->params; }
int64_t nm_start_duration_ms(const struct nm_start *s) { return s->duration_ms; }
size_t nm_start_count(const struct nm_start *s) { return s->n; }
const char *nm_start_address(const struct nm_start *s, size_t i) { return s->addresses[i]; }
const char *nm_start_sip_uri(const struct nm_start *s, size_t i) { return s->sip_uris[i]; }

int nm_start_result(const struct nm_start *s, struct fault *f)
{
	if (!s->failed)
		return 0;
	*f = s->fault;
	return -1;
}

struct nm_end *nm_end_new(const char *app, const char *correlator)
{
	struct nm_end *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->app = strdup(app ? app : "");
	e->correlator = strdup(correlator ? correlator : "");
	if (!e->app || !e->correlator) {
		nm_end_free(e);
		return NULL;
	}
	return e;
}

void nm_end_free(struct nm_end *e)
{
	if (e) {
		free(e->app);
		free(e->correlator);
		free(e);
	}
}

int nm_end_result(const struct nm_end *e, struct fault *f)
{
	if (!e->failed)
		return 0;
	*f = e->fault;
	return -1;
}

