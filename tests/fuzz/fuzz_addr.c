/*
 * fuzz_addr.c - libFuzzer target for the address parser (src/addr.c).
 *
 * Input: the address; a newline, when there is one, ends it and the rest
 * is the tel domain (else "tel.example"). Each input is mapped with room to
 * spare and again with exactly the room the answer needs, and one byte
 * less; the output buffers are exactly that size, so a write past them is
 * an AddressSanitizer report.
 *
 * Checked besides memory safety: an accepted sip:/sips: address comes out
 * unchanged; a tel: address comes out as sip:+<1..15 digits>@<domain>;user=phone;
 * any other scheme is refused; what comes out has no blank, control
 * character, non-ASCII byte or <>"; a sip: URI that came out maps to
 * itself.
 *
 * fuzz-max-len: 1024
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "ts.h"

#define CAP (TS_ADDR_MAX + 64)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_addr: check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

/* addr_to_sip into a heap buffer of exactly cap bytes; the answer copied
 * to res (room CAP). */
static int map(const char *addr, const char *dom, size_t cap, char *res)
{
	char *out = malloc(cap ? cap : 1);
	int rc;

	CHECK(out);
	rc = addr_to_sip(addr, dom, out, cap);
	if (rc == 0) {
		CHECK(memchr(out, '\0', cap) != NULL);
		snprintf(res, CAP, "%s", out);
	} else {
		CHECK(rc == -1);
	}
	free(out);
	return rc;
}

static int ok_char(char ch)
{
	unsigned char u = (unsigned char)ch;

	return u > 0x20 && u < 0x7f && ch != '<' && ch != '>' && ch != '"';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), *nl;
	const char *dom = "tel.example";
	char res[CAP], again[CAP];
	size_t len;

	CHECK(in);
	memcpy(in, data, size);
	in[size] = '\0';
	nl = strchr(in, '\n');
	if (nl) {
		*nl = '\0';
		dom = nl + 1;
	}

	if (map(in, dom, CAP, res) != 0) {
		/* refused with room to spare: refused with any room */
		CHECK(map(in, dom, 16, res) != 0);
		free(in);
		return 0;
	}
	len = strlen(res);
	CHECK(len > 0 && len < CAP);
	for (size_t i = 0; i < len; i++)
		CHECK(ok_char(res[i]));

	/* exactly the room it needs, then one byte less */
	CHECK(map(in, dom, len + 1, again) == 0 && strcmp(again, res) == 0);
	CHECK(map(in, dom, len, again) != 0);

	if (strncasecmp(in, "sip:", 4) == 0 || strncasecmp(in, "sips:", 5) == 0) {
		CHECK(strcmp(res, in) == 0);
	} else if (strncasecmp(in, "tel:", 4) == 0) {
		const char *p = res + 5, *at;
		size_t digits = 0;

		CHECK(strncmp(res, "sip:+", 5) == 0);
		for (; *p >= '0' && *p <= '9'; p++)
			digits++;
		CHECK(digits >= 1 && digits <= 15);
		at = p;
		CHECK(*at == '@');
		CHECK(strlen(at + 1) == strlen(dom) + strlen(";user=phone"));
		CHECK(strncmp(at + 1, dom, strlen(dom)) == 0);
		CHECK(strcmp(at + 1 + strlen(dom), ";user=phone") == 0);
		/* every digit of the number, in order, and nothing else */
		p = res + 5;
		for (const char *q = in + 5; *q; q++)
			if (*q >= '0' && *q <= '9')
				CHECK(*p++ == *q);
		CHECK(p == at);
	} else {
		CHECK(!"another scheme was accepted");
	}

	/* a sip: URI that came out is accepted as it is */
	if (strncasecmp(in, "tel:", 4) != 0) {
		CHECK(map(res, dom, CAP, again) == 0);
		CHECK(strcmp(again, res) == 0);
	}
	free(in);
	return 0;
}
