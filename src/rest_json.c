/*
 * rest_json.c - the pure parts of the REST binding (rest.h): x-correlator,
 * CAMARA error answers, request bodies (jansson, depth-limited), typed
 * fields, devices and phone numbers, times and the retrieve answer.
 * No HTTP, no SIP: unit-tested on their own (tests/unit/test_rest.c).
 */
#include "rest.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"

bool rest_correlator_ok(const char *v)
{
	size_t n = 0;

	if (!v)
		return false;
	for (; v[n]; n++) {
		char ch = v[n];

		if (n >= REST_CORRELATOR_MAX)
			return false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || strchr("-_:;./<>{}", ch)))
			return false;
	}
	return true;
}

/* --- replies ---------------------------------------------------------------- */

/* The answer when memory is too short for any other. */
static void reply_oom(struct rest_reply *out)
{
	static const char text[] =
		"{\"status\":500,\"code\":\"INTERNAL\",\"message\":\"out of memory\"}";

	out->status = 500;
	out->ctype = NULL;
	out->body = malloc(sizeof(text));
	out->len = out->body ? sizeof(text) - 1 : 0;
	if (out->body)
		memcpy(out->body, text, sizeof(text));
}

int rest_reply_json(struct rest_reply *out, unsigned status, json_t *obj)
{
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

	json_decref(obj);
	out->ctype = NULL;
	if (!text) {
		reply_oom(out);
		return -1;
	}
	/* json_dumps' memory is malloc's (jansson's default allocator) */
	out->status = status;
	out->body = text;
	out->len = strlen(text);
	return 0;
}

int rest_reply_error(struct rest_reply *out, unsigned status, const char *code,
		     const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rest_reply_json(out, status, json_pack("{s:i,s:s,s:s?}", "status", (int)status,
						      "code", code, "message", msg));
}

void rest_reply_empty(struct rest_reply *out, unsigned status)
{
	out->status = status;
	out->body = NULL;
	out->len = 0;
	out->ctype = NULL;
}

/* --- bodies and fields --------------------------------------------------------- */

/* Whether v nests no deeper than left more levels. */
static bool depth_ok(json_t *v, int left)
{
	size_t i;
	const char *k;
	json_t *e;

	if (!json_is_object(v) && !json_is_array(v))
		return true;
	if (left <= 0)
		return false;
	if (json_is_object(v)) {
		json_object_foreach(v, k, e)
			if (!depth_ok(e, left - 1))
				return false;
	} else {
		json_array_foreach(v, i, e)
			if (!depth_ok(e, left - 1))
				return false;
	}
	return true;
}

int rest_parse_body(const char *body, size_t len, json_t **obj, struct rest_reply *out)
{
	json_error_t e;
	json_t *v;

	*obj = NULL;
	/* jansson stops at JSON_PARSER_MAX_DEPTH itself; ours is far lower */
	v = json_loadb(body ? body : "", body ? len : 0, JSON_REJECT_DUPLICATES, &e);
	if (!v) {
		rest_reply_error(out, 400, "INVALID_ARGUMENT", "request body is not valid JSON: %s",
				 e.text);
		return -1;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		rest_reply_error(out, 400, "INVALID_ARGUMENT", "request body must be a JSON object");
		return -1;
	}
	if (!depth_ok(v, REST_MAX_DEPTH)) {
		json_decref(v);
		rest_reply_error(out, 400, "INVALID_ARGUMENT",
				 "request body nested deeper than %d levels", REST_MAX_DEPTH);
		return -1;
	}
	*obj = v;
	return 0;
}

static const char *const type_words[] = {
	[REST_STRING] = "a string", [REST_INT] = "an integer", [REST_BOOL] = "a boolean",
	[REST_OBJECT] = "an object", [REST_ARRAY] = "an array",
};

int rest_field(json_t *obj, const char *key, enum rest_type t, const char *name, json_t **val,
	       struct rest_reply *out)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	bool ok = false;

	*val = NULL;
	if (!v)
		return 0;
	switch (t) {
	case REST_STRING: ok = json_is_string(v); break;
	case REST_INT: ok = json_is_integer(v); break;
	case REST_BOOL: ok = json_is_boolean(v); break;
	case REST_OBJECT: ok = json_is_object(v); break;
	case REST_ARRAY: ok = json_is_array(v); break;
	}
	if (!ok) {
		rest_reply_error(out, 400, "INVALID_ARGUMENT", "%s must be %s", name, type_words[t]);
		return -1;
	}
	*val = v;
	return 1;
}

/* --- devices -------------------------------------------------------------------- */

bool rest_phone_ok(const char *s)
{
	size_t n = 0;

	if (!s || s[0] != '+')
		return false;
	for (s++; s[n]; n++)
		if (s[n] < '0' || s[n] > '9' || n >= REST_PHONE_MAX - 1)
			return false;
	return n >= 1;
}

static bool ipv4_ok(json_t *v)
{
	struct in_addr a;

	return json_is_string(v) && inet_pton(AF_INET, json_string_value(v), &a) == 1;
}

/* DeviceIpv4Addr: publicAddress, and privateAddress or publicPort. */
static bool ipv4_device_ok(json_t *v)
{
	json_t *pub = json_object_get(v, "publicAddress");
	json_t *priv = json_object_get(v, "privateAddress");
	json_t *port = json_object_get(v, "publicPort");

	if (!json_is_object(v) || !ipv4_ok(pub))
		return false;
	if (priv && !ipv4_ok(priv))
		return false;
	if (port && !(json_is_integer(port) && json_integer_value(port) >= 0 &&
		      json_integer_value(port) <= 65535))
		return false;
	return priv || port;
}

static bool ipv6_ok(json_t *v)
{
	struct in6_addr a;

	return json_is_string(v) && inet_pton(AF_INET6, json_string_value(v), &a) == 1;
}

static int dev_error(struct rest_reply *out, unsigned status, const char *code, const char *msg)
{
	rest_reply_error(out, status, code, "%s", msg);
	return -1;
}

int rest_device_parse(json_t *dev, const char *tel_domain, struct rest_device *d,
		      struct rest_reply *out)
{
	json_t *phone, *nai, *v4, *v6;

	memset(d, 0, sizeof(*d));
	if (!dev)
		return dev_error(out, 422, "MISSING_IDENTIFIER",
				"The device cannot be identified: no device in the request");
	if (!json_is_object(dev))
		return dev_error(out, 400, "INVALID_ARGUMENT", "device must be an object");
	phone = json_object_get(dev, "phoneNumber");
	nai = json_object_get(dev, "networkAccessIdentifier");
	v4 = json_object_get(dev, "ipv4Address");
	v6 = json_object_get(dev, "ipv6Address");
	d->n_ids = (phone != NULL) + (nai != NULL) + (v4 != NULL) + (v6 != NULL);
	if (d->n_ids == 0)
		return dev_error(out, 400, "INVALID_ARGUMENT",
				"device must name at least one identifier");
	if (phone && !(json_is_string(phone) && rest_phone_ok(json_string_value(phone))))
		return dev_error(out, 400, "INVALID_ARGUMENT",
				"device.phoneNumber must be '+' and 1 to 15 digits (E.164)");
	if (nai && !json_is_string(nai))
		return dev_error(out, 400, "INVALID_ARGUMENT",
				"device.networkAccessIdentifier must be a string");
	if (v4 && !ipv4_device_ok(v4))
		return dev_error(out, 400, "INVALID_ARGUMENT",
				"device.ipv4Address must have an IPv4 publicAddress and a "
					"privateAddress or a publicPort");
	if (v6 && !ipv6_ok(v6))
		return dev_error(out, 400, "INVALID_ARGUMENT",
				"device.ipv6Address must be an IPv6 address");
	if (!phone)
		return dev_error(out, 422, "UNSUPPORTED_IDENTIFIER",
				"The identifier provided is not supported: use phoneNumber");
	snprintf(d->phone, sizeof(d->phone), "%s", json_string_value(phone));
	snprintf(d->tel, sizeof(d->tel), "tel:%s", d->phone);
	if (addr_to_sip(d->tel, tel_domain, d->sip, sizeof(d->sip)) != 0)
		return dev_error(out, 400, "INVALID_ARGUMENT",
				"device.phoneNumber cannot be mapped to a SIP URI");
	return 0;
}

json_t *rest_device_json(const struct rest_device *d)
{
	return json_pack("{s:s}", "phoneNumber", d->phone);
}

/* --- answers ------------------------------------------------------------------- */

void rest_time_text(int64_t ms, char *buf, size_t cap)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	if (ms < 0 || !gmtime_r(&s, &tm) || tm.tm_year + 1900 > 9999) {
		snprintf(buf, cap, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

json_t *rest_status_json(ts_status st, int64_t learned_ms, const struct rest_device *dev)
{
	json_t *o = json_object();
	char t[40];
	bool reachable = st == TS_BUSY || st == TS_REACHABLE;

	if (!o)
		return NULL;
	rest_time_text(learned_ms, t, sizeof(t));
	if ((dev && json_object_set_new(o, "device", rest_device_json(dev)) != 0) ||
	    json_object_set_new(o, "lastStatusTime", json_string(t)) != 0 ||
	    json_object_set_new(o, "reachable", json_boolean(reachable)) != 0 ||
	    (reachable && json_object_set_new(o, "connectivity", json_pack("[s]", "DATA")) != 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}
