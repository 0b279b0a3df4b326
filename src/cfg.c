/*
 * cfg.c - the configuration parsers (contract section 8).
 *
 * Every key is one row of cfg_keys[] (cfg_keys.c): name, type, default
 * (as text, parsed by the same code as a value from a file), where it
 * lives in struct cfg, bounds and help. cfg_defaults, cfg_set, cfg_load_file and
 * cfg_write_reference all walk that table, so deploy/pxtsgw.conf (the
 * output of cfg_write_reference, checked by tests/unit/test_cfg.c) cannot
 * disagree with the code. Nothing here logs: errors go to the caller's
 * buffer, and the caller decides.
 */
#include "cfg_int.h"

#include "dest.h"
#include "textfile.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CFG_LINE_MAX 4096       /* longest line of a file, newline excluded */


static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Narrows [*s, *s + *n) to its part without surrounding blanks. */
static void trim(const char **s, size_t *n)
{
	while (*n && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_blank((*s)[*n - 1]))
		(*n)--;
}

static bool is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9');
}

static bool is_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
	       (ch >= 'A' && ch <= 'F');
}

/* A character that may never appear in a URI we accept. */
static bool uri_bad_char(char ch)
{
	unsigned char u = (unsigned char)ch;

	return u <= 0x20 || u >= 0x7f || ch == '<' || ch == '>' || ch == '"';
}

/* Parses 1..5 decimal digits at s into a port 0..65535; *end after them. */
static int parse_port(const char *s, const char **end, unsigned *port)
{
	unsigned v = 0;
	int n = 0;

	while (s[n] >= '0' && s[n] <= '9') {
		if (n == 5)
			return -1;
		v = v * 10 + (unsigned)(s[n] - '0');
		n++;
	}
	if (n == 0 || v > 65535)
		return -1;
	*end = s + n;
	*port = v;
	return 0;
}

/*
 * Scans a host at s: a name or IPv4 address ([A-Za-z0-9.-]) or a bracketed
 * IPv6 address. *len covers the host as written (brackets included); the
 * address without brackets starts at s + *inner and is *innerlen long.
 */
static int scan_host(const char *s, size_t *len, size_t *inner, size_t *innerlen)
{
	size_t n = 0;

	if (s[0] == '[') {
		bool colon = false;

		n = 1;
		while (is_hex(s[n]) || s[n] == ':' || s[n] == '.') {
			if (s[n] == ':')
				colon = true;
			n++;
		}
		if (s[n] != ']' || !colon)
			return -1;
		*inner = 1;
		*innerlen = n - 1;
		*len = n + 1;
		return 0;
	}
	while (is_alnum(s[n]) || s[n] == '.' || s[n] == '-')
		n++;
	if (n == 0 || s[0] == '.' || s[0] == '-')
		return -1;
	*inner = 0;
	*innerlen = n;
	*len = n;
	return 0;
}

int cfg_split_hostport(const char *hp, char *host, size_t hostcap, unsigned *port)
{
	size_t len, inner, innerlen;
	const char *end;
	unsigned p;

	if (!hp || !host || !hostcap || !port)
		return -1;
	if (scan_host(hp, &len, &inner, &innerlen) < 0)
		return -1;
	if (hp[len] != ':' || parse_port(hp + len + 1, &end, &p) < 0 || *end)
		return -1;
	if (innerlen >= hostcap)
		return -1;
	memcpy(host, hp + inner, innerlen);
	host[innerlen] = '\0';
	*port = p;
	return 0;
}

static int check_hostport(const char *v, unsigned minport, char *why, size_t cap)
{
	char host[CFG_STR_MAX];
	unsigned port;

	if (cfg_split_hostport(v, host, sizeof(host), &port) < 0) {
		text_error(why, cap, "expected host:port or [IPv6]:port");
		return -1;
	}
	if (port < minport) {
		text_error(why, cap, "port must be %u..65535", minport);
		return -1;
	}
	return 0;
}

int cfg_check_http_listen(const char *v, char *why, size_t cap)
{
	return check_hostport(v, 1, why, cap);
}

int cfg_check_sip_listen(const char *v, char *why, size_t cap)
{
	return check_hostport(v, 0, why, cap);
}

/* "sip:" in any case. */
static bool has_sip_scheme(const char *v)
{
	return strncasecmp(v, "sip:", 4) == 0;
}

/*
 * Parses host[:port][;params] to the end of s. On success the host as
 * written (IPv6 brackets kept, as a URI needs them) is copied to host.
 */
static int parse_hostpart(const char *s, char *host, size_t hostcap)
{
	size_t len, inner, innerlen;
	const char *p;
	unsigned port;

	if (scan_host(s, &len, &inner, &innerlen) < 0 || len >= hostcap)
		return -1;
	memcpy(host, s, len);
	host[len] = '\0';
	p = s + len;
	if (*p == ':') {
		if (parse_port(p + 1, &p, &port) < 0 || port == 0)
			return -1;
	}
	if (*p == '\0')
		return 0;
	if (*p != ';' || p[1] == '\0')
		return -1;
	for (p++; *p; p++)
		if (uri_bad_char(*p) || *p == '?' || *p == '@')
			return -1;
	return 0;
}

/* sip:host[:port][;params] -> the host as written in the URI. */
static int parse_server_uri(const char *v, char *host, size_t hostcap)
{
	if (!has_sip_scheme(v))
		return -1;
	return parse_hostpart(v + 4, host, hostcap);
}

int cfg_check_presence_server(const char *v, char *why, size_t cap)
{
	char host[CFG_STR_MAX];

	if (parse_server_uri(v, host, sizeof(host)) < 0) {
		text_error(why, cap, "expected sip:host[:port][;params]");
		return -1;
	}
	return 0;
}

int cfg_check_watcher_uri(const char *v, char *why, size_t cap)
{
	char host[CFG_STR_MAX];
	const char *at, *p;

	if (!*v)
		return 0;
	if (!has_sip_scheme(v)) {
		text_error(why, cap, "expected a sip: URI");
		return -1;
	}
	at = strchr(v + 4, '@');
	if (!at || at == v + 4) {
		text_error(why, cap, "a user part is needed (sip:user@host): "
		       "presence servers refuse a watcher without one");
		return -1;
	}
	for (p = v + 4; p < at; p++) {
		if (uri_bad_char(*p)) {
			text_error(why, cap, "invalid character in the user part");
			return -1;
		}
	}
	if (parse_hostpart(at + 1, host, sizeof(host)) < 0) {
		text_error(why, cap, "expected sip:user@host[:port][;params]");
		return -1;
	}
	return 0;
}

int cfg_check_tel_domain(const char *v, char *why, size_t cap)
{
	size_t len, inner, innerlen;

	if (!*v)
		return 0;
	if (scan_host(v, &len, &inner, &innerlen) < 0 || v[len] != '\0') {
		text_error(why, cap, "expected a host name, an IPv4 address or "
		       "a bracketed IPv6 address");
		return -1;
	}
	return 0;
}

int cfg_check_allowed_endpoints(const char *v, char *why, size_t cap)
{
	return dest_new(v, NULL, why, cap);
}

int cfg_check_nonempty(const char *v, char *why, size_t cap)
{
	if (!*v) {
		text_error(why, cap, "must not be empty");
		return -1;
	}
	return 0;
}

/* run.user: empty, or a user this system knows */
int cfg_check_user(const char *v, char *why, size_t cap)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (!*v)
		return 0;
	if (getpwnam_r(v, &pw, buf, sizeof(buf), &res) != 0 || !res) {
		text_error(why, cap, "no such user");
		return -1;
	}
	return 0;
}

static const struct cfg_key *find_key(const char *name, size_t n)
{
	for (size_t i = 0; i < cfg_nkeys; i++)
		if (strlen(cfg_keys[i].name) == n && memcmp(cfg_keys[i].name, name, n) == 0)
			return &cfg_keys[i];
	return NULL;
}

/* Decimal only, optional '-', whole string; 0, or -1 with why. */
static int parse_int(const char *v, long *out, char *why, size_t cap)
{
	const char *p = v;
	char *end;
	long x;

	if (*p == '-')
		p++;
	if (!*p) {
		text_error(why, cap, "not a decimal integer");
		return -1;
	}
	for (; *p; p++) {
		if (*p < '0' || *p > '9') {
			text_error(why, cap, "not a decimal integer");
			return -1;
		}
	}
	errno = 0;
	x = strtol(v, &end, 10);
	if (errno == ERANGE || *end) {
		text_error(why, cap, "out of range");
		return -1;
	}
	*out = x;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0")) {
		*out = false;
		return 0;
	}
	return -1;
}

/* Validates a comma list and writes it without blanks around the items. */
static int parse_list(const char *v, char *out, size_t outcap, char *why, size_t cap)
{
	size_t o = 0;
	int items = 0;
	const char *p = v;

	for (;;) {
		const char *item = p, *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		trim(&item, &n);
		if (n == 0) {
			text_error(why, cap, "empty item in the list");
			return -1;
		}
		if (++items > CFG_LIST_ITEMS) {
			text_error(why, cap, "more than %d items", CFG_LIST_ITEMS);
			return -1;
		}
		if (n >= CFG_LIST_ITEM_MAX) {
			text_error(why, cap, "item longer than %d characters", CFG_LIST_ITEM_MAX - 1);
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			char ch = item[i];

			if (!is_alnum(ch) && ch != '.' && ch != '_' && ch != '-') {
				text_error(why, cap, "items are made of A-Z a-z 0-9 . _ -");
				return -1;
			}
		}
		if (o + n + 2 > outcap) {
			text_error(why, cap, "too long");
			return -1;
		}
		if (o)
			out[o++] = ',';
		memcpy(out + o, item, n);
		o += n;
		out[o] = '\0';
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

/* Sets key k from the value [value, value + vlen) (blanks trimmed here). */
static int set_value(struct cfg *c, const struct cfg_key *k, const char *value,
		     size_t vlen, char *err, size_t cap)
{
	char buf[CFG_LINE_MAX + 1], why[160];
	char *field = (char *)c + k->off;

	why[0] = '\0';
	trim(&value, &vlen);
	if (vlen >= sizeof(buf) || (k->type == CFG_STRING && vlen >= k->size)) {
		text_error(err, cap, "invalid value for key '%s': longer than %zu characters",
		       k->name, (k->type == CFG_STRING ? k->size : sizeof(buf)) - 1);
		return -1;
	}
	memcpy(buf, value, vlen);
	buf[vlen] = '\0';
	for (size_t i = 0; i < vlen; i++) {
		if (((unsigned char)buf[i] < 0x20 && buf[i] != '\t') || buf[i] == 0x7f) {
			text_error(err, cap, "invalid value for key '%s': control character",
			       k->name);
			return -1;
		}
	}

	switch (k->type) {
	case CFG_STRING:
		if (k->check && k->check(buf, why, sizeof(why)) < 0)
			goto bad;
		memcpy(field, buf, vlen + 1);
		return 0;
	case CFG_INT: {
		long x;

		if (parse_int(buf, &x, why, sizeof(why)) < 0)
			goto bad;
		if (x < k->min || x > k->max) {
			text_error(why, sizeof(why), "out of range %ld..%ld", k->min, k->max);
			goto bad;
		}
		memcpy(field, &x, sizeof(x));
		return 0;
	}
	case CFG_BOOL: {
		bool b;

		if (parse_bool(buf, &b) < 0) {
			text_error(why, sizeof(why), "expected true or false");
			goto bad;
		}
		memcpy(field, &b, sizeof(b));
		return 0;
	}
	case CFG_ENUM:
		for (const char *const *v = k->values; *v; v++) {
			if (strcasecmp(buf, *v) == 0) {
				snprintf(field, k->size, "%s", *v);
				return 0;
			}
		}
		{
			size_t o = 0;

			o += (size_t)snprintf(why, sizeof(why), "expected one of");
			for (const char *const *v = k->values; *v && o < sizeof(why); v++)
				o += (size_t)snprintf(why + o, sizeof(why) - o, "%s %s",
						      v == k->values ? "" : ",", *v);
		}
		goto bad;
	case CFG_LIST: {
		char list[CFG_STR_MAX];

		if (parse_list(buf, list, k->size < sizeof(list) ? k->size : sizeof(list),
			       why, sizeof(why)) < 0)
			goto bad;
		snprintf(field, k->size, "%s", list);
		return 0;
	}
	}
bad:
	text_error(err, cap, "invalid value '%s' for key '%s': %s", buf, k->name, why);
	return -1;
}

static int set_kv(struct cfg *c, const char *key, size_t klen, const char *value,
		  size_t vlen, char *err, size_t cap)
{
	const struct cfg_key *k;

	trim(&key, &klen);
	if (klen == 0) {
		text_error(err, cap, "missing key before '='");
		return -1;
	}
	k = find_key(key, klen);
	if (!k) {
		text_error(err, cap, "unknown key '%.*s'", klen > 100 ? 100 : (int)klen, key);
		return -1;
	}
	return set_value(c, k, value, vlen, err, cap);
}

void cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < cfg_nkeys; i++) {
		/* Cannot fail: test_cfg checks every default. */
		if (set_value(c, &cfg_keys[i], cfg_keys[i].def, strlen(cfg_keys[i].def),
			      NULL, 0) < 0)
			abort();
	}
}

int cfg_set(struct cfg *c, const char *key, const char *value, char *err, size_t cap)
{
	if (!key || !value) {
		text_error(err, cap, "missing key or value");
		return -1;
	}
	return set_kv(c, key, strlen(key), value, strlen(value), err, cap);
}

int cfg_set_option(struct cfg *c, const char *kv, char *err, size_t cap)
{
	const char *eq = kv ? strchr(kv, '=') : NULL;

	if (!eq) {
		text_error(err, cap, "option '%.100s': expected KEY=VALUE", kv ? kv : "");
		return -1;
	}
	return set_kv(c, kv, (size_t)(eq - kv), eq + 1, strlen(eq + 1), err, cap);
}

int cfg_load_file(struct cfg *c, const char *path, char *err, size_t cap)
{
	char line[CFG_LINE_MAX + 1], why[CFG_STR_MAX + 300];
	unsigned lineno = 0;
	size_t len;
	FILE *f;
	int r, rc = -1;

	if (!path || !*path) {
		text_error(err, cap, "no configuration file named");
		return -1;
	}
	f = fopen(path, "r");
	if (!f) {
		text_error(err, cap, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	while ((r = text_read_line(f, line, sizeof(line), &len)) == 1) {
		const char *s = line, *eq;

		lineno++;
		trim(&s, &len);
		if (len == 0 || s[0] == '#')
			continue;
		eq = memchr(s, '=', len);
		if (!eq) {
			text_error(err, cap, "%s:%u: expected 'key = value', got '%.*s'",
			       path, lineno, len > 100 ? 100 : (int)len, s);
			goto out;
		}
		if (set_kv(c, s, (size_t)(eq - s), eq + 1, len - (size_t)(eq + 1 - s),
			   why, sizeof(why)) < 0) {
			text_error(err, cap, "%s:%u: %s", path, lineno, why);
			goto out;
		}
	}
	if (r == -1)
		text_error(err, cap, "%s:%u: line longer than %d characters", path, lineno + 1,
		       CFG_LINE_MAX);
	else if (r == -2)
		text_error(err, cap, "%s:%u: NUL byte in the line", path, lineno + 1);
	else if (r == -3)
		text_error(err, cap, "%s: read error: %s", path, strerror(errno));
	else
		rc = 0;
out:
	fclose(f);
	return rc;
}

int cfg_finish(struct cfg *c, char *err, size_t cap)
{
	char host[CFG_STR_MAX], why[160];
	unsigned port;
	int n;

	/* The checks cfg_set made, again: the caller may have written c. */
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		const char *v = (const char *)c + k->off;

		if (k->type != CFG_STRING || !k->check)
			continue;
		if (!memchr(v, '\0', k->size)) {
			text_error(err, cap, "invalid value for key '%s': not terminated", k->name);
			return -1;
		}
		if (k->check(v, why, sizeof(why)) < 0) {
			text_error(err, cap, "invalid value '%s' for key '%s': %s", v, k->name, why);
			return -1;
		}
	}

	if (c->policy_default_notification_duration_s > c->policy_max_notification_duration_s) {
		text_error(err, cap, "invalid value %ld for key 'policy.default-notification-duration-s': "
		       "above policy.max-notification-duration-s (%ld)",
		       c->policy_default_notification_duration_s, c->policy_max_notification_duration_s);
		return -1;
	}
	if (c->delivery_backoff_max_ms < c->delivery_backoff_ms) {
		text_error(err, cap, "invalid value %ld for key 'delivery.backoff-max-ms': below "
		       "delivery.backoff-ms (%ld)", c->delivery_backoff_max_ms, c->delivery_backoff_ms);
		return -1;
	}

	if (!c->http_tls_cert[0] != !c->http_tls_key[0]) {
		const char *set = c->http_tls_cert[0] ? "http.tls-cert" : "http.tls-key";
		const char *unset = c->http_tls_cert[0] ? "http.tls-key" : "http.tls-cert";

		text_error(err, cap, "key '%s' is set but '%s' is not: HTTPS needs both "
			   "(leave both empty for plain HTTP)", set, unset);
		return -1;
	}

	if (!c->sip_watcher_uri[0]) {
		if (cfg_split_hostport(c->sip_listen, host, sizeof(host), &port) < 0) {
			text_error(err, cap, "invalid value for key 'sip.listen'");
			return -1;      /* not reached: checked above */
		}
		n = snprintf(c->sip_watcher_uri, sizeof(c->sip_watcher_uri),
			     strchr(host, ':') ? "sip:pxtsgw@[%s]" : "sip:pxtsgw@%s", host);
		if (n < 0 || (size_t)n >= sizeof(c->sip_watcher_uri)) {
			c->sip_watcher_uri[0] = '\0';
			text_error(err, cap, "sip.watcher-uri derived from sip.listen is too long");
			return -1;
		}
	}
	if (!c->sip_tel_domain[0]) {
		if (parse_server_uri(c->sip_presence_server, host, sizeof(host)) < 0) {
			text_error(err, cap, "invalid value for key 'sip.presence-server'");
			return -1;      /* not reached: checked above */
		}
		snprintf(c->sip_tel_domain, sizeof(c->sip_tel_domain), "%s", host);
	}
	return 0;
}

static bool key_differs(const struct cfg *a, const struct cfg *b, const struct cfg_key *k)
{
	const char *fa = (const char *)a + k->off, *fb = (const char *)b + k->off;

	switch (k->type) {
	case CFG_INT:
		return memcmp(fa, fb, sizeof(long)) != 0;
	case CFG_BOOL:
		return *(const bool *)fa != *(const bool *)fb;
	case CFG_STRING:
	case CFG_ENUM:
	case CFG_LIST:
		break;
	}
	return strncmp(fa, fb, k->size) != 0;
}

size_t cfg_keep_restart_keys(struct cfg *next, const struct cfg *running,
			     cfg_changed_h *report, void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];

		if (!k->restart || !key_differs(next, running, k))
			continue;
		if (report)
			report(k->name, arg);
		memcpy((char *)next + k->off, (const char *)running + k->off,
		       k->type == CFG_INT ? sizeof(long) : k->type == CFG_BOOL ? sizeof(bool) : k->size);
		n++;
	}
	return n;
}

size_t cfg_changed_keys(const struct cfg *next, const struct cfg *running, cfg_changed_h *report,
			void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg_nkeys; i++) {
		if (!key_differs(next, running, &cfg_keys[i]))
			continue;
		if (report)
			report(cfg_keys[i].name, arg);
		n++;
	}
	return n;
}

