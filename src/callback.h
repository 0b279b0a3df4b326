/*
 * callback.h - the callback types shared by the modules that make,
 * queue and send callbacks (nm, dlv, svc_client): which operation, and
 * one address with its status. Plain types only, so that the sender
 * (svc_client) does not depend on the scheduler (dlv).
 */
#ifndef PXTSGW_CALLBACK_H
#define PXTSGW_CALLBACK_H

#include "ts.h"

/* The callback operations of the TerminalStatusNotification interface. */
enum dlv_op { DLV_STATUS_NOTIFICATION, DLV_STATUS_CHANGED, DLV_STATUS_ERROR, DLV_STATUS_END };

/* One address and its status, as a statusNotification or statusChanged
 * carries it. */
struct dlv_status {
	const char *address;
	ts_status status;
};

#endif
