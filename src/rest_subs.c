/*
 * rest_subs.c - the CAMARA subscriptions API (contract section 12):
 * POST, GET (list), GET /{id}, DELETE /{id} under
 * /device-reachability-status-subscriptions/v0.8/subscriptions.
 *
 * Not served yet: every request answers 404 NOT_FOUND in CAMARA form.
 */
#include "rest.h"

enum rest_rc rest_subs_serve(struct rest_req *q, const char *tail, struct rest_reply *out)
{
	(void)q;
	(void)tail;
	rest_reply_error(out, 404, "NOT_FOUND", "The specified resource is not found");
	return REST_DONE;
}
