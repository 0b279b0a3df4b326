/*
 * pidf.h - presence documents (PIDF, RFC 3863, with RPID RFC 4480 and the
 * older rpid-status draft) reduced to the few facts the status mapping needs.
 *
 * Elements are matched by namespace URI, never by prefix. No DTD, no entity
 * declarations, no external entities: a document with a DOCTYPE is refused.
 */
#ifndef PXTSGW_PIDF_H
#define PXTSGW_PIDF_H

#include <stdbool.h>
#include <stddef.h>

#define PIDF_MAX_BYTES (64 * 1024)   /* larger bodies are refused */
#define PIDF_MAX_ACTIVITIES 16       /* distinct activities kept */
#define PIDF_ACTIVITY_MAX 48         /* longest activity name kept (incl. NUL) */

enum pidf_rc {
	PIDF_OK = 0,        /* parsed (an empty body is OK: no tuples) */
	PIDF_MALFORMED,     /* not well-formed XML, or has a DTD */
	PIDF_NOT_PIDF,      /* well-formed, but the root is not pidf:presence */
	PIDF_TOO_BIG,       /* over PIDF_MAX_BYTES */
};

struct pidf_doc {
	int tuples;          /* pidf:tuple elements */
	int open_tuples;     /* tuples whose status/basic is "open" */
	int activities_n;    /* entries used in activities[] */
	/* Activity names, deduplicated, from anywhere in the document:
	 * RFC 4480 <rpid:activities><rpid:X/> gives "X" (local name; for
	 * <rpid:other>text</rpid:other> the text), the draft
	 * <ep:activities><ep:activity>X</ep:activity> gives "X" (trimmed). */
	char activities[PIDF_MAX_ACTIVITIES][PIDF_ACTIVITY_MAX];
};

/* Parses len bytes at buf (buf need not be NUL-terminated; len 0 or only
 * white space is an empty body: PIDF_OK with zero tuples). *out is always
 * initialised. */
enum pidf_rc pidf_parse(const char *buf, size_t len, struct pidf_doc *out);

const char *pidf_rc_name(enum pidf_rc rc);

#endif
