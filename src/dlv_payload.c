/*
 * dlv_payload.c - a callback's content: checked from a dlv_item, and
 * encoded as the outbox's payload text and decoded from it (a callback
 * resumed after a restart is sent as it was accepted).
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include "dlv_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

const char *const dlv_op_names[DLV_N_OPS] = {
	[DLV_STATUS_NOTIFICATION] = "statusNotification",
	[DLV_STATUS_CHANGED] = "statusChanged",
	[DLV_STATUS_ERROR] = "statusError",
	[DLV_STATUS_END] = "statusEnd",
	[DLV_CE_REACHABILITY_DATA] = "reachability-data",
	[DLV_CE_REACHABILITY_DISCONNECTED] = "reachability-disconnected",
	[DLV_CE_SUBSCRIPTION_ENDED] = "subscription-ended",
};

/* largest CloudEvent body, bearer token and x-correlator */
#define DLV_CE_BODY_MAX (64 * 1024)
#define DLV_CE_TOKEN_MAX 4096
#define DLV_CE_XCORR_MAX 256

/* Text that fits in an HTTP header value: printable ASCII only (a line
 * break would start another header). */
static bool header_ok(const char *v, size_t max)
{
	size_t n = 0;

	for (; *v; v++, n++)
		if ((unsigned char)*v < 0x20 || (unsigned char)*v >= 0x7f || n >= max)
			return false;
	return true;
}

static bool status_valid(ts_status s)
{
	return s == TS_REACHABLE || s == TS_UNREACHABLE || s == TS_BUSY;
}

bool dlv_item_content(const struct dlv_item *it, struct svc_callback_data *c,
			 const char *vars[FAULT_MAX_VARS])
{
	if (!it || !it->correlator || !it->endpoint || (unsigned)it->op >= DLV_N_OPS)
		return false;
	*c = (struct svc_callback_data){ .op = it->op, .correlator = it->correlator };
	switch (it->op) {
	case DLV_STATUS_NOTIFICATION:
	case DLV_STATUS_CHANGED:
		if (it->op == DLV_STATUS_NOTIFICATION ? it->n < 1 || it->n > DLV_MAX_ENTRIES : it->n != 1)
			return false;
		if (!it->entries)
			return false;
		for (size_t i = 0; i < it->n; i++)
			if (!it->entries[i].address || !status_valid(it->entries[i].status))
				return false;
		c->entries = it->entries;
		c->n = it->n;
		return true;
	case DLV_STATUS_ERROR: {
		const struct fault *f = it->reason;

		if (!f || !fault_msgid(f->id) || f->nvars < 0 || f->nvars > FAULT_MAX_VARS)
			return false;
		for (int i = 0; i < f->nvars; i++)
			vars[i] = f->vars[i];
		c->address = it->address;
		c->message_id = fault_msgid(f->id);
		c->text = fault_template(f->id);
		c->variables = vars;
		c->nvariables = (size_t)f->nvars;
		return true;
	}
	case DLV_STATUS_END:
		return true;
	case DLV_CE_REACHABILITY_DATA:
	case DLV_CE_REACHABILITY_DISCONNECTED:
	case DLV_CE_SUBSCRIPTION_ENDED:
		if (!it->body || !*it->body || strlen(it->body) > DLV_CE_BODY_MAX ||
		    (it->bearer && (!*it->bearer || !header_ok(it->bearer, DLV_CE_TOKEN_MAX))) ||
		    (it->x_correlator && !header_ok(it->x_correlator, DLV_CE_XCORR_MAX)))
			return false;
		c->body = it->body;
		c->bearer = it->bearer;
		c->x_correlator = it->x_correlator;
		return true;
	}
	return false;
}


/*
 * Payload (the outbox's payload column): text, one field per line, each
 * line "<tag> <value>\n". Values escape '%', bytes up to 0x20 (blank and
 * control characters) and 0x7f as %XX, so a value has no blank and no
 * line break (an empty value stays empty). Lines:
 *   pxtsgw-callback 1 <operation>       always first (format version 1)
 *   s <Reachable|Unreachable|Busy> <address>
 *                                       one per entry, in order
 *                                       (statusNotification: 1 or more,
 *                                       statusChanged: exactly 1)
 *   a <address>                         statusError: the address, if any
 *   m <messageId>                       statusError: required
 *   t <text>                            statusError: required
 *   v <variable>                        statusError: one per variable
 *   j <json>                            CloudEvents: the body, required
 *   b <token>                           CloudEvents: the bearer token, if any
 *   x <x-correlator>                    CloudEvents: if any (may be empty)
 * statusEnd has the first line only; correlator and endpoint are columns.
 */
#define DLV_PAYLOAD_MAGIC "pxtsgw-callback"
#define DLV_PAYLOAD_VERSION "1"
#define DLV_MAX_VARIABLES 64

/* largest payload of one callback in the outbox */
#define DLV_PAYLOAD_MAX (4 * 1024 * 1024)

static void buf_esc(struct sbuf *b, const char *v)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '%' || c <= 0x20 || c == 0x7f) {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			sbuf_putn(b, e, 3);
		} else {
			sbuf_putn(b, v, 1);
		}
	}
}

/* "tag v1 [v2]\n"; v2 may be NULL. */
static void buf_line(struct sbuf *b, const char *tag, const char *v1, const char *v2)
{
	sbuf_putn(b, tag, strlen(tag));
	sbuf_putn(b, " ", 1);
	buf_esc(b, v1);
	if (v2) {
		sbuf_putn(b, " ", 1);
		buf_esc(b, v2);
	}
	sbuf_putn(b, "\n", 1);
}

static const char *status_word(ts_status s)
{
	switch (s) {
	case TS_REACHABLE: return "Reachable";
	case TS_UNREACHABLE: return "Unreachable";
	case TS_BUSY: return "Busy";
	}
	return "?";
}

static bool status_parse(const char *w, ts_status *out)
{
	if (strcmp(w, "Reachable") == 0)
		*out = TS_REACHABLE;
	else if (strcmp(w, "Unreachable") == 0)
		*out = TS_UNREACHABLE;
	else if (strcmp(w, "Busy") == 0)
		*out = TS_BUSY;
	else
		return false;
	return true;
}

char *dlv_content_encode(const struct svc_callback_data *c)
{
	struct sbuf b = SBUF_INIT(DLV_PAYLOAD_MAX);

	buf_line(&b, DLV_PAYLOAD_MAGIC, DLV_PAYLOAD_VERSION, dlv_op_names[c->op]);
	switch (c->op) {
	case DLV_STATUS_NOTIFICATION:
	case DLV_STATUS_CHANGED:
		for (size_t i = 0; i < c->n; i++)
			buf_line(&b, "s", status_word(c->entries[i].status), c->entries[i].address);
		break;
	case DLV_STATUS_ERROR:
		if (c->address)
			buf_line(&b, "a", c->address, NULL);
		buf_line(&b, "m", c->message_id ? c->message_id : "", NULL);
		buf_line(&b, "t", c->text ? c->text : "", NULL);
		for (size_t i = 0; i < c->nvariables; i++)
			buf_line(&b, "v", c->variables[i] ? c->variables[i] : "", NULL);
		break;
	case DLV_STATUS_END:
		break;
	case DLV_CE_REACHABILITY_DATA:
	case DLV_CE_REACHABILITY_DISCONNECTED:
	case DLV_CE_SUBSCRIPTION_ENDED:
		buf_line(&b, "j", c->body ? c->body : "", NULL);
		if (c->bearer)
			buf_line(&b, "b", c->bearer, NULL);
		if (c->x_correlator)
			buf_line(&b, "x", c->x_correlator, NULL);
		break;
	}
	return sbuf_take(&b, NULL);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Undoes buf_esc in place; false when malformed or when it would give a
 * NUL byte. */
static bool unescape(char *v)
{
	char *w = v;

	for (; *v; v++) {
		if (*v != '%') {
			*w++ = *v;
			continue;
		}
		int hi = hexval(v[1]), lo = hi < 0 ? -1 : hexval(v[2]);

		if (lo < 0 || (hi | lo) == 0)
			return false;
		*w++ = (char)(hi << 4 | lo);
		v += 2;
	}
	*w = '\0';
	return true;
}

/* Splits "a b" at the first blank: *rest = "b" (NULL when there is no
 * blank); a is unescaped in place. false when malformed. */
static bool take_field(char *s, char **rest)
{
	char *sp = strchr(s, ' ');

	*rest = NULL;
	if (sp) {
		*sp = '\0';
		*rest = sp + 1;
	}
	return unescape(s);
}

void dlv_decoded_free(struct dlv_decoded *p)
{
	for (size_t i = 0; i < p->n; i++)
		free((char *)p->entries[i].address);
	free(p->entries);
	free(p->address);
	free(p->message_id);
	free(p->text);
	free(p->body);
	free(p->bearer);
	free(p->x_correlator);
	for (size_t i = 0; i < p->nvars; i++)
		free(p->vars[i]);
	free(p->vars);
}

struct svc_callback_data dlv_decoded_content(const struct dlv_decoded *p, const char *correlator)
{
	return (struct svc_callback_data){
		.op = p->op, .correlator = correlator, .entries = p->entries, .n = p->n,
		.address = p->address, .message_id = p->message_id, .text = p->text,
		.variables = (const char *const *)p->vars, .nvariables = p->nvars,
		.body = p->body, .bearer = p->bearer, .x_correlator = p->x_correlator,
	};
}

/* One line of a payload into p (op set). */
static bool payload_line(struct dlv_decoded *p, char *line)
{
	char *tag = line, *v, *v2;

	if (!take_field(tag, &v) || !v || strlen(tag) != 1)
		return false;
	switch (tag[0]) {
	case 's': {
		struct dlv_status *e;
		ts_status st;

		if (!take_field(v, &v2) || !v2 || strchr(v2, ' ') || !unescape(v2) || !status_parse(v, &st))
			return false;
		if (p->op == DLV_STATUS_NOTIFICATION ? p->n >= DLV_MAX_ENTRIES
						     : p->op != DLV_STATUS_CHANGED || p->n >= 1)
			return false;
		e = realloc(p->entries, (p->n + 1) * sizeof(*e));
		if (!e)
			return false;
		p->entries = e;
		e[p->n].status = st;
		e[p->n].address = strdup(v2);
		return e[p->n++].address != NULL;
	}
	case 'j':
	case 'b':
	case 'x': {
		char **slot = tag[0] == 'j' ? &p->body : tag[0] == 'b' ? &p->bearer : &p->x_correlator;

		if (!DLV_OP_IS_CE(p->op) || strchr(v, ' ') || !unescape(v) || *slot)
			return false;
		return (*slot = strdup(v)) != NULL;
	}
	case 'a':
	case 'm':
	case 't':
	case 'v': {
		char **slot;

		if (p->op != DLV_STATUS_ERROR || strchr(v, ' ') || !unescape(v))
			return false;
		if (tag[0] == 'a') {
			slot = &p->address;
		} else if (tag[0] == 'm') {
			slot = &p->message_id;
		} else if (tag[0] == 't') {
			slot = &p->text;
		} else {
			char **vars;

			if (p->nvars >= DLV_MAX_VARIABLES)
				return false;
			vars = realloc(p->vars, (p->nvars + 1) * sizeof(*vars));
			if (!vars)
				return false;
			p->vars = vars;
			vars[p->nvars] = strdup(v);
			return vars[p->nvars++] != NULL;
		}
		if (*slot)
			return false;   /* twice */
		return (*slot = strdup(v)) != NULL;
	}
	}
	return false;
}

bool dlv_payload_decode(int op, const char *payload, struct dlv_decoded *p)
{
	char want[64], *text, *line, *next;
	bool ok = true;
	size_t hl;

	memset(p, 0, sizeof(*p));
	if (op < 0 || op >= DLV_N_OPS || !payload)
		return false;
	p->op = (enum dlv_op)op;
	snprintf(want, sizeof(want), "%s %s %s\n", DLV_PAYLOAD_MAGIC, DLV_PAYLOAD_VERSION, dlv_op_names[op]);
	hl = strlen(want);
	if (strncmp(payload, want, hl) != 0 || !(text = strdup(payload + hl)))
		return false;
	for (line = text; ok && *line; line = next) {
		next = strchr(line, '\n');
		if (!next) {
			ok = false;   /* every line ends with a line break */
			break;
		}
		*next++ = '\0';
		ok = payload_line(p, line);
	}
	free(text);
	switch (p->op) {
	case DLV_STATUS_NOTIFICATION:
	case DLV_STATUS_CHANGED:
		return ok && p->n > 0;
	case DLV_STATUS_ERROR:
		return ok && p->message_id && p->text;
	case DLV_STATUS_END:
		break;
	case DLV_CE_REACHABILITY_DATA:
	case DLV_CE_REACHABILITY_DISCONNECTED:
	case DLV_CE_SUBSCRIPTION_ENDED:
		return ok && p->body && *p->body;
	}
	return ok;
}


char *dlv_payload_encode(const struct dlv_item *item)
{
	struct svc_callback_data c;
	const char *vars[FAULT_MAX_VARS];

	if (!dlv_item_content(item, &c, vars))
		return NULL;
	return dlv_content_encode(&c);
}

char *dlv_payload_roundtrip(enum dlv_op op, const char *payload)
{
	struct dlv_decoded p;
	char *s = NULL;

	if (dlv_payload_decode((int)op, payload, &p)) {
		struct svc_callback_data c = dlv_decoded_content(&p, "c");

		s = dlv_content_encode(&c);
	}
	dlv_decoded_free(&p);
	return s;
}

