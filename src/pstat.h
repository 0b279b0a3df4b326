/*
 * pstat.h - presence to terminal status (contract section 7):
 *   1. any activity in the busy list            -> Busy
 *   2. else any tuple with basic "open"          -> Reachable
 *   3. else (closed, no tuples, empty body)      -> Unreachable
 */
#ifndef PXTSGW_PSTAT_H
#define PXTSGW_PSTAT_H

#include "pidf.h"
#include "ts.h"

#define PSTAT_MAX_BUSY 16

struct pstat_rules {
	int busy_n;
	char busy[PSTAT_MAX_BUSY][PIDF_ACTIVITY_MAX];
};

/* Parses a comma-separated activity list ("on-the-phone,busy"; blanks around
 * items ignored, empty items refused). Returns 0, or -1 if the list is
 * empty, has too many items or an item that is too long. */
int pstat_rules_parse(struct pstat_rules *r, const char *csv);

ts_status pstat_map(const struct pidf_doc *doc, const struct pstat_rules *r);

#endif
