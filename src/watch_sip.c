/*
 * watch_sip.c - the SIP messages of the watcher on sofia-sip's nta layer,
 * on the SIP thread: requests out (SUBSCRIBE, OPTIONS), the table of our
 * Call-IDs, and every request that comes in.
 *
 * DESIGN
 * - No dialog objects in the stack: a fetch or subscription keeps its own
 *   compact dialog state (Call-ID, tags, CSeq, target, route; struct hm
 *   and struct pres) and builds each request from it. A client transaction
 *   lives only until its final answer (plus nta's timer K over UDP).
 * - The agent has no legs, so every incoming request reaches
 *   wsip_request() statelessly: a NOTIFY is matched by Call-ID in our
 *   table, checked (To tag ours, From tag the notifier's, Event presence,
 *   CSeq newer), handed to its fetch or subscription and answered 200; a
 *   retransmitted NOTIFY (CSeq not newer) is answered 200 again and goes
 *   nowhere. Nothing is kept for a request after its answer, over UDP as
 *   over TCP.
 * - Strangers: a NOTIFY of no dialog (or another Event, or another
 *   remote tag) 481, one without a To tag in a dialog's Call-ID 482;
 *   ACK dropped; CANCEL and PRACK 481; a method we know but do not serve
 *   405 with Allow: NOTIFY; a method we do not know 501.
 */
#include "watch_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/url.h>

#include "hash.h"
#include "log.h"

#define URL_MAX 1024

static uint64_t rnd(struct watch *w)
{
	/* xorshift64*: Call-IDs and tags need to be unique, not secret */
	uint64_t x = w->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	w->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

void wsip_new_id(struct watch *w, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t r = 0;

	for (size_t i = 0; i + 1 < len; i++) {
		if (i % 16 == 0)
			r = rnd(w);
		buf[i] = hex[r & 15];
		r >>= 4;
	}
	buf[len - 1] = '\0';
}

static unsigned callid_bucket(const char *callid)
{
	return (unsigned)(hash_add(HASH_INIT, callid) % CALLID_BUCKETS);
}

void wsip_table_add(struct watch *w, struct hm *h)
{
	unsigned b = callid_bucket(h->callid);

	if (h->in_table)
		return;
	h->cnext = w->callids[b];
	w->callids[b] = h;
	h->in_table = true;
}

void wsip_table_remove(struct watch *w, struct hm *h)
{
	if (!h->in_table)
		return;
	for (struct hm **pp = &w->callids[callid_bucket(h->callid)]; *pp; pp = &(*pp)->cnext)
		if (*pp == h) {
			*pp = h->cnext;
			break;
		}
	h->cnext = NULL;
	h->in_table = false;
}

static struct hm *table_find(struct watch *w, const char *callid)
{
	for (struct hm *h = w->callids[callid_bucket(callid)]; h; h = h->cnext)
		if (strcmp(h->callid, callid) == 0)
			return h;
	return NULL;
}

char *wsip_strdup_max(const char *s, size_t max)
{
	size_t n;
	char *d;

	if (!s)
		return NULL;
	n = strlen(s);
	if (n >= max)
		return NULL;
	d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

char *wsip_url_dup(const url_t *u)
{
	char buf[URL_MAX];
	isize_t n;

	if (!u)
		return NULL;
	n = url_e(buf, sizeof(buf), u);
	if (n <= 0 || (size_t)n >= sizeof(buf))
		return NULL;
	buf[n] = '\0';
	return wsip_strdup_max(buf, sizeof(buf));
}

nta_outgoing_t *wsip_send(struct watch *w, const struct wsip_req *r, nta_response_f *cb, struct hm *magic)
{
	msg_t *msg = nta_msg_create(w->agent, 0);
	sip_t *sip = sip_object(msg);
	char from[700], to[URL_MAX + 100], cseq[40], expires[24];
	sip_request_t *rq;
	nta_outgoing_t *orq;

	if (!msg)
		return NULL;
	snprintf(from, sizeof(from), "%s;tag=%s", w->watcher_uri, r->id->ltag);
	if (r->to_tag)
		snprintf(to, sizeof(to), "<%s>;tag=%s", r->to_uri, r->to_tag);
	else
		snprintf(to, sizeof(to), "<%s>", r->to_uri);
	snprintf(cseq, sizeof(cseq), "%u %s", r->cseq, r->method_name);
	snprintf(expires, sizeof(expires), "%ld", r->expires);
	rq = sip_request_create(msg_home(msg), r->method, r->method_name, URL_STRING_MAKE(r->ruri), NULL);
	if (!rq || msg_header_insert(msg, (msg_pub_t *)sip, (msg_header_t *)rq) < 0 ||
	    sip_add_tl(msg, sip,
		       SIPTAG_FROM_STR(from),
		       SIPTAG_TO_STR(to),
		       SIPTAG_CALL_ID_STR(r->id->callid),
		       SIPTAG_CSEQ_STR(cseq),
		       SIPTAG_MAX_FORWARDS_STR("70"),
		       TAG_IF(r->route, SIPTAG_ROUTE_STR(r->route)),
		       SIPTAG_CONTACT_STR(w->contact),
		       TAG_IF(r->expires >= 0, SIPTAG_EVENT_STR("presence")),
		       TAG_IF(r->expires >= 0, SIPTAG_ACCEPT_STR("application/pidf+xml")),
		       TAG_IF(r->expires >= 0, SIPTAG_EXPIRES_STR(expires)),
		       SIPTAG_ALLOW_EVENTS_STR("presence"),
		       SIPTAG_ALLOW_STR("NOTIFY"),
		       SIPTAG_USER_AGENT_STR("pxtsgw/" PXTSGW_VERSION),
		       TAG_END()) < 0) {
		msg_destroy(msg);
		log_error("watch: cannot build a %s to %s", r->method_name, r->ruri);
		return NULL;
	}
	orq = nta_outgoing_mcreate(w->agent, cb, magic, URL_STRING_MAKE(w->proxy_url), msg, TAG_END());
	if (!orq) {
		msg_destroy(msg);
		log_error("watch: cannot send a %s to %s", r->method_name, r->ruri);
	}
	return orq;
}

static int reply(struct watch *w, msg_t *msg, int status, const char *phrase)
{
	if (status == 405)
		return nta_msg_treply(w->agent, msg, status, phrase, SIPTAG_ALLOW_STR("NOTIFY"), TAG_END());
	return nta_msg_treply(w->agent, msg, status, phrase, TAG_END());
}

int wsip_request(struct watch *w, nta_agent_t *agent, msg_t *msg, sip_t *sip)
{
	sip_method_t m = sip->sip_request->rq_method;
	struct hm *h;
	const char *to_tag;

	(void)agent;
	if (m == sip_method_ack) {
		msg_destroy(msg);
		return 0;
	}
	if (m != sip_method_notify) {
		if (m == sip_method_cancel || m == sip_method_prack)
			return reply(w, msg, 481, "Call/Transaction Does Not Exist");
		if (m == sip_method_unknown)
			return reply(w, msg, SIP_501_NOT_IMPLEMENTED);
		return reply(w, msg, SIP_405_METHOD_NOT_ALLOWED);
	}
	h = sip->sip_call_id ? table_find(w, sip->sip_call_id->i_id) : NULL;
	to_tag = sip->sip_to ? sip->sip_to->a_tag : NULL;
	if (!h)
		return reply(w, msg, 481, "Subscription Does Not Exist");
	if (!to_tag)
		return reply(w, msg, 482, "Merged Request");
	if (strcmp(to_tag, h->ltag) != 0 || !sip->sip_event || !sip->sip_event->o_type ||
	    strcasecmp(sip->sip_event->o_type, "presence") != 0 || !sip->sip_cseq)
		return reply(w, msg, 481, "Subscription Does Not Exist");
	if (h->kind == HM_SUB) {
		bool again = false;

		if (!sub_check_notify((struct pres *)h, sip, &again))
			return reply(w, msg, 481, "Subscription Does Not Exist");
		if (!again)
			sub_notify(w, (struct pres *)h, sip);
	} else if (h->kind == HM_FETCH) {
		fetch_notify(w, (struct fetch *)h, sip);
	}
	return reply(w, msg, SIP_200_OK);
}
