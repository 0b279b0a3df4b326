/*
 * svc_ns.c - trimmed copies of the generated namespace table (svc_ns.h).
 * namespaces[] itself is defined once, with the nsmap, in svc.c.
 */
#include "svc_ns.h"

#include <stdlib.h>
#include <string.h>

#include "soapH.h"

static bool unused_ns(const char *id, bool wsse)
{
	static const char *const unused[] = { "c14n", "ds", "saml1", "saml2", "xenc", "wsc" };

	if (!wsse && (strcmp(id, "wsse") == 0 || strcmp(id, "wsu") == 0))
		return true;
	for (size_t i = 0; i < sizeof(unused) / sizeof(unused[0]); i++)
		if (strcmp(id, unused[i]) == 0)
			return true;
	return false;
}

struct Namespace *svc_ns_table(bool wsse, bool soap12)
{
	size_t n = 0, k = 0;
	struct Namespace *t;

	while (namespaces[n].id)
		n++;
	t = calloc(n + 1, sizeof(*t));
	for (size_t i = 0; t && i < n; i++) {
		if (unused_ns(namespaces[i].id, wsse))
			continue;
		t[k] = namespaces[i];
		if (!soap12 && (strcmp(t[k].id, "SOAP-ENV") == 0 || strcmp(t[k].id, "SOAP-ENC") == 0))
			t[k].in = NULL;
		k++;
	}
	return t;
}
