/*
 * addr.c - Parlay X addresses to SIP request URIs (contract section 7).
 *
 * sip: and sips: URIs (scheme in any case) are passed on unchanged after a
 * light check: something after the scheme, a host, no blanks, control
 * characters, non-ASCII bytes or <>", shorter than TS_ADDR_MAX; no URI
 * headers and no URI parameter but user=phone or user=ip.
 *
 * tel: accepts global numbers only (RFC 3966 global-number-digits): '+'
 * then digits with the visual separators - . ( ) anywhere, which are
 * dropped; 1 to 15 digits (E.164). It becomes sip:+N@<tel_domain>;user=phone.
 * Parameters (";ext=", ";isub=", ...) are refused rather than ignored: an
 * extension or subaddress names another terminal than the bare number, and
 * querying the bare number would report the wrong one. Local numbers (no
 * '+', which need a phone-context) and every other scheme are refused.
 *
 * Only the mapping lives here; the address reported back to the client is
 * always the one it sent (contract section 5).
 */
#include "addr.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ts.h"

#define TEL_DIGITS_MAX 15

static bool bad_char(char ch)
{
	unsigned char u = (unsigned char)ch;

	return u <= 0x20 || u >= 0x7f || ch == '<' || ch == '>' || ch == '"';
}

/*
 * Checks the part of a sip:/sips: URI after the scheme:
 * [userinfo@]host[:port][;params][?headers]. The host is a name, an IPv4
 * address or a bracketed IPv6 address; a port has 1..5 digits.
 */
static int check_sip(const char *s)
{
	const char *p, *at;
	size_t n;

	if (!*s)
		return -1;
	for (p = s; *p; p++)
		if (bad_char(*p))
			return -1;
	/* Only userinfo may hold an unescaped '@' (RFC 3261 25.1), and not
	 * more than the one that ends it; the user part itself may hold ';'. */
	at = strchr(s, '@');
	if (at) {
		if (at == s)
			return -1;
		s = at + 1;
	}
	if (*s == '[') {
		n = strcspn(s, "]");
		if (s[n] != ']' || n < 3)
			return -1;
		p = s + n + 1;
	} else {
		n = strcspn(s, ":;?");
		if (n == 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			char ch = s[i];

			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_'))
				return -1;
		}
		p = s + n;
	}
	if (*p == ':') {
		unsigned port = 0;
		int d = 0;

		for (p++; *p >= '0' && *p <= '9'; p++, d++)
			port = port * 10 + (unsigned)(*p - '0');
		if (d == 0 || d > 5 || port > 65535)
			return -1;
	}
	/* URI parameters: only user=phone and user=ip (RFC 3261 19.1.1), which
	 * say what the user part is. Others would steer the request itself
	 * (maddr, transport, ttl, method, lr: another host or transport than
	 * the presence server's route) and are refused, as are URI headers
	 * ("?..."), which would add header fields to the SUBSCRIBE. */
	while (*p == ';') {
		size_t len = strcspn(++p, ";?");

		if (!((len == 7 && strncasecmp(p, "user=ip", 7) == 0) ||
		      (len == 10 && strncasecmp(p, "user=phone", 10) == 0)))
			return -1;
		p += len;
	}
	if (*p)
		return -1;
	return 0;
}

/* Writes the digits of a global tel number (after "tel:") to digits. */
static int tel_digits(const char *s, char *digits, size_t cap)
{
	size_t n = 0;

	if (*s != '+')
		return -1;
	for (s++; *s; s++) {
		if (*s >= '0' && *s <= '9') {
			if (n >= TEL_DIGITS_MAX || n + 1 >= cap)
				return -1;
			digits[n++] = *s;
		} else if (*s != '-' && *s != '.' && *s != '(' && *s != ')') {
			return -1;      /* ';' parameters included */
		}
	}
	if (n == 0)
		return -1;
	digits[n] = '\0';
	return 0;
}

int addr_to_sip(const char *addr, const char *tel_domain, char *out, size_t cap)
{
	size_t len;
	int n;

	if (!addr || !out || cap == 0)
		return -1;
	len = strnlen(addr, TS_ADDR_MAX);
	if (len >= TS_ADDR_MAX)
		return -1;

	if (strncasecmp(addr, "sip:", 4) == 0 || strncasecmp(addr, "sips:", 5) == 0) {
		const char *rest = addr + (addr[3] == ':' ? 4 : 5);

		if (check_sip(rest) < 0 || len >= cap)
			return -1;
		memcpy(out, addr, len + 1);
		return 0;
	}
	if (strncasecmp(addr, "tel:", 4) == 0) {
		char digits[TEL_DIGITS_MAX + 1];

		if (!tel_domain || !*tel_domain)
			return -1;
		for (const char *p = tel_domain; *p; p++)
			if (bad_char(*p) || *p == ';' || *p == '@' || *p == '?')
				return -1;
		if (tel_digits(addr + 4, digits, sizeof(digits)) < 0)
			return -1;
		n = snprintf(out, cap, "sip:+%s@%s;user=phone", digits, tel_domain);
		if (n < 0 || (size_t)n >= cap) {
			out[0] = '\0';
			return -1;
		}
		return 0;
	}
	return -1;
}
