/*
 * callback.h - the callback types shared by the modules that make,
 * queue and send callbacks (nm, dlv, svc_client): which operation, and
 * one address with its status. Plain types only, so that the sender
 * (svc_client) does not depend on the scheduler (dlv).
 */
#ifndef PXTSGW_CALLBACK_H
#define PXTSGW_CALLBACK_H

#include "ts.h"

/* The callback operations of the TerminalStatusNotification interface,
 * then the CloudEvents of CAMARA subscriptions (contract section 12), each
 * named by its event type's last segment. */
enum dlv_op { DLV_STATUS_NOTIFICATION, DLV_STATUS_CHANGED, DLV_STATUS_ERROR, DLV_STATUS_END,
	      DLV_CE_REACHABILITY_DATA, DLV_CE_REACHABILITY_DISCONNECTED, DLV_CE_SUBSCRIPTION_ENDED };

/* Whether op is a CloudEvent: a JSON body POSTed as is. */
#define DLV_OP_IS_CE(op) ((op) >= DLV_CE_REACHABILITY_DATA && (op) <= DLV_CE_SUBSCRIPTION_ENDED)

/* One address and its status, as a statusNotification or statusChanged
 * carries it. */
struct dlv_status {
	const char *address;
	ts_status status;
};

#endif
