/*
 * status_page.h - the HTML of GET /status (contract section 13), rendered
 * from a snapshot of plain data (front_status.c gathers it): no module is
 * read here, so the page can be tested from canned data.
 */
#ifndef PXTSGW_STATUS_PAGE_H
#define PXTSGW_STATUS_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dlv.h"
#include "recent.h"
#include "sbuf.h"

/* The page's largest size; a page that would be larger is not served. */
#define STATUS_PAGE_MAX (4 * 1024 * 1024)
/* Notifications (and CAMARA subscriptions) listed, newest first; endpoints. */
#define STATUS_ROWS_MAX 200
#define STATUS_ENDPOINTS_MAX 200

/* One notification or CAMARA subscription. Every string came from a
 * client: escaped when shown. */
struct status_row {
	const char *app;           /* its application ("" the anonymous one) */
	const char *id;            /* correlator, or subscription id */
	const char *endpoint;      /* credentials already shown as *** */
	size_t addresses;
	unsigned long delivered, failed;
};

struct status_count {
	const char *name;          /* a constant */
	unsigned long n;
};

struct status_data {
	const char *version;
	time_t now, started;       /* wall clock */
	bool auth_on;              /* a users file: show each row's application */
	/* SIP side */
	bool sip_ready;
	bool server_up;
	time_t server_since;
	const char *presence_server;          /* from the configuration, may be NULL */
	bool subs_known;                      /* false: the SIP thread did not answer */
	const struct status_count *subs;      /* presence subscriptions by state */
	size_t n_subs;
	/* notifications (startNotification), newest first */
	bool notifs_known;
	const struct status_row *notifs;
	size_t n_notifs, total_notifs;
	/* CAMARA subscriptions (sink as the endpoint, one address) */
	const struct status_row *camara;
	size_t n_camara, total_camara;
	/* delivery */
	const struct dlv_endpoint_view *eps;
	size_t n_eps, total_eps;
	bool store_ready;
	long outbox_rows;                     /* -1: no store */
	int64_t outbox_oldest_ms;             /* wall ms of the oldest row; 0: none or unknown */
	/* recent warnings and errors, newest first */
	const struct recent_event *errors;
	size_t n_errors;
	unsigned long errors_dropped;
};

/* The whole page into b (check b->ok after). */
void status_render(struct sbuf *b, const struct status_data *d);

/* One table of notifications or subscriptions: a section with id
 * section_id, heading title, a column named id_label for row.id, "n of
 * total" when not all are listed. For the notifications and, later, the
 * CAMARA subscriptions (section 13). */
void status_render_rows(struct sbuf *b, const char *section_id, const char *title,
			const char *id_label, bool with_app, const struct status_row *rows,
			size_t n, size_t total);

/* "3 d 4 h 5 min 6 s" (the largest units only: at most two) into buf. */
void status_duration(char *buf, size_t cap, long long seconds);

#endif
