/*
 * fault.c - the Parlay X fault table (contract section 6) and formatting.
 */
#include "fault.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *msgid;
	const char *text;
} fault_table[FAULT_COUNT] = {
	[FAULT_NONE] = { NULL, NULL },
	[SVC0001] = { "SVC0001", "A service error occurred. Error code is %1" },
	[SVC0002] = { "SVC0002", "Invalid input value for message part %1" },
	[SVC0003] = { "SVC0003", "Invalid input value for message part %1, valid values are %2" },
	[SVC0004] = { "SVC0004", "No valid addresses provided in message part %1" },
	[SVC0005] = { "SVC0005", "Correlator %1 specified in message part %2 is a duplicate" },
	[SVC0006] = { "SVC0006", "Group %1 in message part %2 is not a valid group" },
	[POL0001] = { "POL0001", "A policy error occurred. Error code is %1" },
	[POL0002] = { "POL0002", "Privacy verification failed for address %1, request is refused" },
	[POL0003] = { "POL0003", "Too many addresses specified in message part %1" },
	[POL0004] = { "POL0004", "Unlimited notification request not supported" },
	[POL0005] = { "POL0005", "Too many notifications requested" },
	[POL0006] = { "POL0006", "Group specified in message part %1 not allowed" },
	[POL0007] = { "POL0007", "Nested groups specified in message part %1 not allowed" },
	[POL0009] = { "POL0009", "Invalid frequency requested" },
};

const char *fault_msgid(enum fault_id id)
{
	if (id <= FAULT_NONE || id >= FAULT_COUNT)
		return NULL;
	return fault_table[id].msgid;
}

const char *fault_template(enum fault_id id)
{
	if (id <= FAULT_NONE || id >= FAULT_COUNT)
		return NULL;
	return fault_table[id].text;
}

bool fault_is_policy(enum fault_id id)
{
	return id >= POL0001 && id < FAULT_COUNT;
}

bool fault_is_client(enum fault_id id)
{
	return id >= SVC0002 && id <= SVC0006;
}

enum fault_id fault_from_msgid(const char *msgid)
{
	if (!msgid)
		return FAULT_NONE;
	for (int i = FAULT_NONE + 1; i < FAULT_COUNT; i++)
		if (strcmp(fault_table[i].msgid, msgid) == 0)
			return (enum fault_id)i;
	return FAULT_NONE;
}

void fault_set(struct fault *f, enum fault_id id, ...)
{
	va_list ap;
	const char *v;

	memset(f, 0, sizeof(*f));
	f->id = id;
	va_start(ap, id);
	while (f->nvars < FAULT_MAX_VARS && (v = va_arg(ap, const char *)) != NULL) {
		snprintf(f->vars[f->nvars], FAULT_VAR_MAX, "%s", v);
		f->nvars++;
	}
	va_end(ap);
}

size_t fault_format(const struct fault *f, char *buf, size_t cap)
{
	const char *t = fault_template(f->id);
	size_t n = 0;

#define PUT(c) do { if (n + 1 < cap) buf[n] = (c); n++; } while (0)
	if (!t)
		t = "";
	for (; *t; t++) {
		if (t[0] == '%' && t[1] >= '1' && t[1] <= '9') {
			int k = t[1] - '1';
			const char *v = k < f->nvars ? f->vars[k] : "";
			for (; *v; v++)
				PUT(*v);
			t++;
			continue;
		}
		PUT(*t);
	}
#undef PUT
	if (cap)
		buf[n < cap ? n : cap - 1] = '\0';
	return n;
}
