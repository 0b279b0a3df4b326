/*
 * fuzz_rest.c - libFuzzer target for the REST binding's request reading
 * (src/rest_json.c): a request body as retrieve and a subscription read it.
 *
 * Input: the first line is an x-correlator, the rest the body. The body
 * goes through rest_parse_body, then "device" (at the top, and in
 * config.subscriptionDetail) through rest_field and rest_device_parse.
 *
 * Checked besides memory safety and leaks: every reply is a JSON object of
 * exactly status, code and message, its status 400 or 422; an accepted
 * device has a phone number rest_phone_ok accepts, tel:<phone> and
 * sip:<phone>@<domain>;user=phone; an accepted body is an object nested at
 * most REST_MAX_DEPTH levels; rest_correlator_ok agrees with CAMARA's
 * pattern read by hand (0-256 of letters, digits and -_:;./<>{}).
 *
 * fuzz-max-len: 4096
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rest.h"

#define DOMAIN "tel.example"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_rest: check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

/* out is a CAMARA error of status 400 or 422; frees it. */
static void check_error(struct rest_reply *out)
{
	json_t *v = json_loadb(out->body, out->len, 0, NULL);

	CHECK(out->status == 400 || out->status == 422);
	CHECK(v && json_is_object(v) && json_object_size(v) == 3);
	CHECK(json_integer_value(json_object_get(v, "status")) == out->status);
	CHECK(json_is_string(json_object_get(v, "code")));
	CHECK(json_string_length(json_object_get(v, "message")) > 0);
	json_decref(v);
	free(out->body);
	memset(out, 0, sizeof(*out));
}

static int depth(json_t *v)
{
	int d = 0, e;
	const char *k;
	size_t i;
	json_t *c;

	if (json_is_object(v)) {
		json_object_foreach(v, k, c)
			if ((e = depth(c)) > d)
				d = e;
		return d + 1;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, c)
			if ((e = depth(c)) > d)
				d = e;
		return d + 1;
	}
	return 0;
}

static void device(json_t *obj)
{
	struct rest_reply out = { 0 };
	struct rest_device d;
	json_t *dev;
	char want[TS_ADDR_MAX + 64];

	if (rest_field(obj, "device", REST_OBJECT, "device", &dev, &out) < 0) {
		check_error(&out);
		return;
	}
	if (rest_device_parse(dev, DOMAIN, &d, &out) != 0) {
		check_error(&out);
		return;
	}
	CHECK(out.body == NULL);
	CHECK(rest_phone_ok(d.phone));
	CHECK(strcmp(d.tel + 4, d.phone) == 0 && strncmp(d.tel, "tel:", 4) == 0);
	snprintf(want, sizeof(want), "sip:%s@" DOMAIN ";user=phone", d.phone);
	CHECK(strcmp(d.sip, want) == 0);
	CHECK(d.n_ids >= 1 && d.n_ids <= 4);
}

static int correlator_by_hand(const char *s)
{
	size_t n = strlen(s);

	if (n > 256)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:;./<>{}",
			    s[i]) || !s[i])
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t clen = nl ? (size_t)(nl - data) : 0;
	char *corr = malloc(clen + 1);
	struct rest_reply out = { 0 };
	json_t *obj, *config, *detail;

	if (!corr)
		return 0;
	memcpy(corr, data, clen);
	corr[clen] = '\0';
	if (strlen(corr) == clen)
		CHECK(rest_correlator_ok(corr) == correlator_by_hand(corr));
	free(corr);
	if (nl) {
		size -= clen + 1;
		data = nl + 1;
	}
	if (rest_parse_body((const char *)data, size, &obj, &out) != 0) {
		CHECK(obj == NULL);
		check_error(&out);
		return 0;
	}
	CHECK(json_is_object(obj) && depth(obj) <= REST_MAX_DEPTH);
	device(obj);
	if (rest_field(obj, "config", REST_OBJECT, "config", &config, &out) < 0)
		check_error(&out);
	else if (config && rest_field(config, "subscriptionDetail", REST_OBJECT,
				      "config.subscriptionDetail", &detail, &out) < 0)
		check_error(&out);
	else if (config && detail)
		device(detail);
	json_decref(obj);
	return 0;
}
