/*
 * nm_int.h - the request objects shared by nmreq.c (checks, HTTP thread)
 * and nm.c (the running notifications, SIP thread). Not for other modules.
 */
#ifndef PXTSGW_NM_INT_H
#define PXTSGW_NM_INT_H

#include "nm.h"

#define CORRELATOR_MAX 256
#define ENDPOINT_MAX 2048
#define SIP_URI_MAX (TS_ADDR_MAX + 64)

struct nm_start {
	char *app;                 /* the owner: "" = the anonymous application */
	char *correlator;
	char *endpoint;
	char *interface_name;
	size_t n;
	char **addresses;          /* as written */
	char **sip_uris;
	struct notif_params params;
	int64_t duration_ms;
	/* result, set on the SIP thread */
	bool failed;
	struct fault fault;
	/* SIP thread */
	struct nm *nm;
	nm_done_h *done;
	void *done_arg;
};

struct nm_end {
	char *app;
	char *correlator;
	bool failed;
	struct fault fault;
	struct nm *nm;
	nm_done_h *done;
	void *done_arg;
};

#endif
