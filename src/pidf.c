/*
 * pidf.c - reduces a PIDF presence document (RFC 3863, RFC 4479, RPID
 * RFC 4480 and the older rpid-status draft) to tuple counts and activity
 * names, with expat.
 *
 * It does not validate against the schemas and keeps nothing else (notes,
 * contacts, timestamps, persons' ids). Elements are told apart by namespace
 * URI only. It refuses any DOCTYPE (hence entity declarations and external
 * entities), bodies over PIDF_MAX_BYTES and nesting deeper than
 * PIDF_MAX_DEPTH; text is gathered only where needed, into fixed buffers.
 */
#include "pidf.h"

#include <expat.h>
#include <string.h>

#define NS_PIDF "urn:ietf:params:xml:ns:pidf"
#define NS_RPID "urn:ietf:params:xml:ns:pidf:rpid"
#define NS_RPID_DRAFT "urn:ietf:params:xml:ns:pidf:status:rpid-status"

/* Separator expat puts between namespace URI and local name. It cannot occur
 * in a local name; names are split at its last occurrence so a namespace
 * URI that contains it cannot pass for another one. */
#define NS_SEP '|'

#define PIDF_MAX_DEPTH 64

/* What an open element is, as far as the mapping cares. */
enum kind {
	K_OTHER = 0,
	K_PRESENCE,          /* the root, pidf:presence */
	K_TUPLE,             /* pidf:tuple, child of the root */
	K_STATUS,            /* pidf:status, child of a tuple */
	K_BASIC,             /* pidf:basic, child of a tuple's status */
	K_ACTIVITIES,        /* rpid:activities (RFC 4480) */
	K_DRAFT_ACTIVITIES,  /* activities of the rpid-status draft */
	K_TEXT_ACTIVITY,     /* rpid:other, or the draft's activity */
};

/* Bounded text: leading white space skipped, trailing white space dropped
 * when it does not fit; any other byte that does not fit spoils the value. */
struct text {
	char buf[PIDF_ACTIVITY_MAX];
	size_t len;
	bool full;           /* the buffer ran out */
	bool spoilt;         /* a non-blank byte did not fit */
};

struct pstate {
	XML_Parser xp;
	struct pidf_doc *doc;
	bool stopped;        /* refused: ignore further callbacks */
	enum pidf_rc stop_rc;
	bool is_pidf;        /* root is pidf:presence */
	int depth;           /* open elements, the root is depth 1 */
	unsigned char kinds[PIDF_MAX_DEPTH + 1];
	bool tuple_open;     /* the current tuple has basic "open" */
	int text_depth;      /* element whose text is gathered, 0 = none */
	struct text text;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool ascii_ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a, y = *b;
		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return *a == *b;
}

static void text_reset(struct text *t)
{
	t->len = 0;
	t->full = false;
	t->spoilt = false;
	t->buf[0] = '\0';
}

static void text_add(struct text *t, const char *s, int n)
{
	for (int i = 0; i < n; i++) {
		char c = s[i];
		if (t->len == 0 && is_blank(c))
			continue;
		if (!t->full && t->len < sizeof(t->buf) - 1) {
			t->buf[t->len++] = c;
			continue;
		}
		t->full = true;
		if (!is_blank(c))
			t->spoilt = true;
	}
}

/* The trimmed value, or NULL when it was too long or is empty. */
static const char *text_value(struct text *t)
{
	while (t->len > 0 && is_blank(t->buf[t->len - 1]))
		t->len--;
	t->buf[t->len] = '\0';
	if (t->spoilt || t->len == 0)
		return NULL;
	return t->buf;
}

static void add_activity(struct pidf_doc *doc, const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= PIDF_ACTIVITY_MAX)
		return;
	for (int i = 0; i < doc->activities_n; i++)
		if (strcmp(doc->activities[i], name) == 0)
			return;
	if (doc->activities_n >= PIDF_MAX_ACTIVITIES)
		return;
	memcpy(doc->activities[doc->activities_n], name, n + 1);
	doc->activities_n++;
}

static void refuse(struct pstate *st, enum pidf_rc rc)
{
	if (st->stopped)
		return;
	st->stopped = true;
	st->stop_rc = rc;
	XML_StopParser(st->xp, XML_FALSE);
}

/* Splits "uri|local" (or "local" for no namespace): returns the local name
 * and sets *ns_len to the length of the URI (0 when there is none). */
static const char *split_name(const char *name, size_t *ns_len)
{
	const char *sep = strrchr(name, NS_SEP);

	if (!sep) {
		*ns_len = 0;
		return name;
	}
	*ns_len = (size_t)(sep - name);
	return sep + 1;
}

static bool ns_is(const char *name, size_t ns_len, const char *uri)
{
	return strlen(uri) == ns_len && memcmp(name, uri, ns_len) == 0;
}

static enum kind classify(struct pstate *st, const char *name, enum kind parent)
{
	size_t ns_len;
	const char *local = split_name(name, &ns_len);

	if (st->depth == 1) {
		st->is_pidf = ns_is(name, ns_len, NS_PIDF)
			&& strcmp(local, "presence") == 0;
		return st->is_pidf ? K_PRESENCE : K_OTHER;
	}
	if (!st->is_pidf)
		return K_OTHER;

	if (ns_is(name, ns_len, NS_PIDF)) {
		if (parent == K_PRESENCE && strcmp(local, "tuple") == 0) {
			st->doc->tuples++;
			st->tuple_open = false;
			return K_TUPLE;
		}
		if (parent == K_TUPLE && strcmp(local, "status") == 0)
			return K_STATUS;
		if (parent == K_STATUS && strcmp(local, "basic") == 0)
			return K_BASIC;
	} else if (ns_is(name, ns_len, NS_RPID)) {
		if (parent == K_ACTIVITIES) {
			/* <note> annotates the activities, it is not one */
			if (strcmp(local, "note") == 0)
				return K_OTHER;
			if (strcmp(local, "other") == 0)
				return K_TEXT_ACTIVITY;
			add_activity(st->doc, local);
			return K_OTHER;
		}
		if (strcmp(local, "activities") == 0)
			return K_ACTIVITIES;
	} else if (ns_is(name, ns_len, NS_RPID_DRAFT)) {
		if (parent == K_DRAFT_ACTIVITIES && strcmp(local, "activity") == 0)
			return K_TEXT_ACTIVITY;
		if (parent != K_DRAFT_ACTIVITIES && strcmp(local, "activities") == 0)
			return K_DRAFT_ACTIVITIES;
	}
	return K_OTHER;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct pstate *st = ud;
	enum kind k;

	(void)attrs;
	if (st->stopped)
		return;
	if (st->depth >= PIDF_MAX_DEPTH) {
		refuse(st, PIDF_MALFORMED);
		return;
	}
	st->depth++;
	k = classify(st, name, (enum kind)st->kinds[st->depth - 1]);
	st->kinds[st->depth] = (unsigned char)k;
	if ((k == K_BASIC || k == K_TEXT_ACTIVITY) && st->text_depth == 0) {
		st->text_depth = st->depth;
		text_reset(&st->text);
	}
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct pstate *st = ud;
	enum kind k;

	(void)name;
	if (st->stopped || st->depth == 0)
		return;
	k = (enum kind)st->kinds[st->depth];
	if (st->text_depth == st->depth) {
		const char *v = text_value(&st->text);
		if (v && k == K_BASIC && ascii_ieq(v, "open"))
			st->tuple_open = true;
		else if (v && k == K_TEXT_ACTIVITY)
			add_activity(st->doc, v);
		st->text_depth = 0;
	}
	if (k == K_TUPLE && st->tuple_open) {
		st->doc->open_tuples++;
		st->tuple_open = false;
	}
	st->kinds[st->depth] = K_OTHER;
	st->depth--;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct pstate *st = ud;

	/* only the element's own text, not that of its children */
	if (!st->stopped && st->text_depth != 0 && st->text_depth == st->depth)
		text_add(&st->text, s, len);
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name,
	const XML_Char *sysid, const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	refuse(ud, PIDF_MALFORMED);
}

static void XMLCALL on_entity_decl(void *ud, const XML_Char *name,
	int is_param, const XML_Char *value, int value_len, const XML_Char *base,
	const XML_Char *sysid, const XML_Char *pubid, const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	refuse(ud, PIDF_MALFORMED);
}

static int XMLCALL on_external_entity(XML_Parser xp, const XML_Char *context,
	const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid)
{
	(void)xp;
	(void)context;
	(void)base;
	(void)sysid;
	(void)pubid;
	return XML_STATUS_ERROR;    /* never load anything */
}

static bool all_blank(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_blank(buf[i]))
			return false;
	return true;
}

enum pidf_rc pidf_parse(const char *buf, size_t len, struct pidf_doc *out)
{
	struct pstate st;
	enum XML_Status xs;
	enum pidf_rc rc;

	if (!out)
		return PIDF_MALFORMED;
	memset(out, 0, sizeof(*out));
	if (len > PIDF_MAX_BYTES)
		return PIDF_TOO_BIG;
	if (len == 0)
		return PIDF_OK;
	if (!buf)
		return PIDF_MALFORMED;
	if (all_blank(buf, len))
		return PIDF_OK;

	memset(&st, 0, sizeof(st));
	st.doc = out;
	st.xp = XML_ParserCreateNS(NULL, NS_SEP);
	if (!st.xp)
		return PIDF_MALFORMED;    /* out of memory: cannot tell */
	XML_SetUserData(st.xp, &st);
	XML_SetElementHandler(st.xp, on_start, on_end);
	XML_SetCharacterDataHandler(st.xp, on_text);
	XML_SetStartDoctypeDeclHandler(st.xp, on_doctype);
	XML_SetEntityDeclHandler(st.xp, on_entity_decl);
	XML_SetExternalEntityRefHandler(st.xp, on_external_entity);
	XML_SetParamEntityParsing(st.xp, XML_PARAM_ENTITY_PARSING_NEVER);

	/* len <= PIDF_MAX_BYTES fits an int */
	xs = XML_Parse(st.xp, buf, (int)len, XML_TRUE);
	if (st.stopped)
		rc = st.stop_rc;
	else if (xs != XML_STATUS_OK)
		rc = PIDF_MALFORMED;
	else if (!st.is_pidf)
		rc = PIDF_NOT_PIDF;
	else
		rc = PIDF_OK;
	XML_ParserFree(st.xp);

	if (rc != PIDF_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

const char *pidf_rc_name(enum pidf_rc rc)
{
	switch (rc) {
	case PIDF_OK: return "ok";
	case PIDF_MALFORMED: return "malformed";
	case PIDF_NOT_PIDF: return "not-pidf";
	case PIDF_TOO_BIG: return "too-big";
	}
	return "?";
}
