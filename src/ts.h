/*
 * ts.h - plain types shared by every pxtsgw module.
 *
 * Nothing here depends on gSOAP, sofia-sip or libmicrohttpd: modules exchange
 * these structs, and each edge (svc_ for SOAP, watch_ for SIP) translates.
 */
#ifndef PXTSGW_TS_H
#define PXTSGW_TS_H

#include <stddef.h>

/* Terminal status as Parlay X reports it (contract section 4). */
typedef enum {
	TS_REACHABLE = 0,
	TS_UNREACHABLE = 1,
	TS_BUSY = 2,
} ts_status;

/* Longest address (URI) accepted from a client or a group file. */
#define TS_ADDR_MAX 512

const char *ts_status_name(ts_status s);

#endif
