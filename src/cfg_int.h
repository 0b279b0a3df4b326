/*
 * cfg_int.h - the configuration's key table, shared by cfg.c (parsing,
 * setting, checking, what a reload changes), cfg_keys.c (the table) and
 * cfg_ref.c (the reference file). Not for other modules.
 */
#ifndef PXTSGW_CFG_INT_H
#define PXTSGW_CFG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cfg.h"

#define CFG_LIST_ITEMS 16       /* items of a list value (pstat.h agrees) */
#define CFG_LIST_ITEM_MAX 48    /* an item is shorter than this */
#define CFG_WRAP 72             /* columns of the reference file */

enum cfg_type { CFG_STRING, CFG_INT, CFG_BOOL, CFG_ENUM, CFG_LIST };

/* An extra check of a string value; writes why it is wrong. */
typedef int (cfg_check_h)(const char *v, char *why, size_t cap);

struct cfg_key {
	const char *name;
	enum cfg_type type;
	const char *def;             /* default, as it would be written */
	size_t off;                  /* offsetof(struct cfg, field) */
	size_t size;                 /* CFG_STRING, CFG_ENUM, CFG_LIST: field size */
	long min, max;               /* CFG_INT */
	const char *const *values;   /* CFG_ENUM: allowed values, NULL-terminated */
	cfg_check_h *check;          /* CFG_STRING: extra check, or NULL */
	bool restart;                /* a reload keeps the running value */
	const char *help;            /* what it is, units; bounds are added */
};

/* Extra checks of string values (cfg.c), named in the table. */
cfg_check_h cfg_check_http_listen, cfg_check_sip_listen, cfg_check_presence_server,
	cfg_check_watcher_uri, cfg_check_tel_domain, cfg_check_nonempty, cfg_check_user,
	cfg_check_allowed_endpoints;

/* The keys, in the order of the reference file (cfg_keys.c). */
extern const struct cfg_key cfg_keys[];
extern const size_t cfg_nkeys;

/* The sections of the reference file: the first part of a key's name and
 * its title. */
struct cfg_section {
	const char *name;
	const char *title;
};
extern const struct cfg_section cfg_sections[];
extern const size_t cfg_nsections;

#endif
