/*
 * status_page.c - the HTML of GET /status from a snapshot (status_page.h).
 *
 * A plain page: no script, one inline style sheet, tables. Every string
 * that came from a client or the network (applications, correlators,
 * endpoints, endpoint keys, error details, log lines) goes through
 * html_escape, cut to a length that keeps the page bounded: at most
 * STATUS_ROWS_MAX rows a table, each field capped.
 */
#include "status_page.h"

#include <stdio.h>
#include <string.h>

#include "html.h"

/* Bytes shown of a field (the page stays bounded: a few hundred kB). */
#define SHOW_APP 128
#define SHOW_ID 256
#define SHOW_ENDPOINT 200
#define SHOW_ERROR 400

static const char style[] =
	"body{font-family:sans-serif;margin:1.5em;color:#222;background:#fff}"
	"h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.1em;margin:1.4em 0 .4em}"
	"table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.2em .5em;"
	"text-align:left;vertical-align:top}th{background:#eee}td.n{text-align:right}"
	"td.text{max-width:40em;overflow-wrap:anywhere}"
	".up,.closed{color:#070;font-weight:bold}.down,.open{color:#b00;font-weight:bold}"
	".half-open{color:#a60;font-weight:bold}.note{color:#666}"
	"li.error{color:#b00}li.warn{color:#a60}ol{padding-left:1.5em;font-family:monospace}";

void status_duration(char *buf, size_t cap, long long s)
{
	static const struct { long long len; const char *name; } u[] = {
		{ 86400, "d" }, { 3600, "h" }, { 60, "min" }, { 1, "s" },
	};
	size_t i = 0;

	if (s < 0)
		s = 0;
	while (i < 3 && s < u[i].len)
		i++;
	if (i == 3)
		snprintf(buf, cap, "%lld s", s);
	else
		snprintf(buf, cap, "%lld %s %lld %s", s / u[i].len, u[i].name,
			 s % u[i].len / u[i + 1].len, u[i + 1].name);
}

/* "2026-12-05 09:30:00 UTC" */
static void put_time(struct sbuf *b, time_t t)
{
	struct tm tm;
	char when[40];

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	sbuf_puts(b, when);
}

/* "<time> (<duration> ago)" */
static void put_since(struct sbuf *b, const char *id, time_t t, time_t now)
{
	char d[64];

	status_duration(d, sizeof(d), (long long)(now - t));
	sbuf_printf(b, "<span id=\"%s\">", id);
	put_time(b, t);
	sbuf_printf(b, "</span> <span class=\"note\">(%s ago)</span>", d);
}

static void put_num_cell(struct sbuf *b, const char *cls, unsigned long v)
{
	sbuf_printf(b, "<td class=\"n %s\">%lu</td>", cls, v);
}

static void put_text_cell(struct sbuf *b, const char *cls, const char *s, size_t max)
{
	sbuf_printf(b, "<td class=\"text %s\">", cls);
	html_escape(b, s, max);
	sbuf_puts(b, "</td>");
}

/* "<n> listed of <total>" when not all are. */
static void put_count(struct sbuf *b, const char *id, size_t n, size_t total, const char *what)
{
	sbuf_printf(b, "<p><span id=\"%s\">%zu</span> %s", id, total, what);
	if (n < total)
		sbuf_printf(b, " <span class=\"note\">(the %zu newest listed)</span>", n);
	sbuf_puts(b, "</p>\n");
}

void status_render_rows(struct sbuf *b, const char *section_id, const char *title,
			const char *id_label, bool with_app, const struct status_row *rows,
			size_t n, size_t total)
{
	char count_id[64];

	sbuf_printf(b, "<section id=\"%s\">\n<h2>%s</h2>\n", section_id, title);
	snprintf(count_id, sizeof(count_id), "%s-total", section_id);
	put_count(b, count_id, n, total, "active");
	if (n) {
		sbuf_puts(b, "<table>\n<tr>");
		if (with_app)
			sbuf_puts(b, "<th>application</th>");
		sbuf_printf(b, "<th>%s</th><th>addresses</th><th>endpoint</th><th>delivered</th>"
			    "<th>failed</th></tr>\n", id_label);
	}
	for (size_t i = 0; i < n; i++) {
		const struct status_row *r = &rows[i];

		sbuf_puts(b, "<tr class=\"row\">");
		if (with_app)
			put_text_cell(b, "app", r->app, SHOW_APP);
		put_text_cell(b, "id", r->id, SHOW_ID);
		put_num_cell(b, "addresses", (unsigned long)r->addresses);
		put_text_cell(b, "endpoint", r->endpoint, SHOW_ENDPOINT);
		put_num_cell(b, "delivered", r->delivered);
		put_num_cell(b, "failed", r->failed);
		sbuf_puts(b, "</tr>\n");
	}
	if (n)
		sbuf_puts(b, "</table>\n");
	sbuf_puts(b, "</section>\n");
}

static void render_sip(struct sbuf *b, const struct status_data *d)
{
	const char *st = d->server_up ? "up" : "down";

	sbuf_puts(b, "<section id=\"presence\">\n<h2>Presence server</h2>\n<p>");
	if (d->presence_server) {
		sbuf_puts(b, "<span id=\"presence-server\">");
		html_escape(b, d->presence_server, SHOW_ENDPOINT);
		sbuf_puts(b, "</span>: ");
	}
	if (!d->sip_ready)
		sbuf_puts(b, "<span id=\"presence-state\" class=\"down\">SIP stack not ready</span>");
	else
		sbuf_printf(b, "<span id=\"presence-state\" class=\"%s\">%s</span> since ", st, st);
	if (d->sip_ready)
		put_since(b, "presence-since", d->server_since, d->now);
	sbuf_puts(b, "</p>\n<h2>SIP subscriptions</h2>\n");
	if (!d->subs_known) {
		sbuf_puts(b, "<p id=\"subscriptions\" class=\"note\">not known: the SIP thread did not "
			  "answer</p>\n</section>\n");
		return;
	}
	sbuf_puts(b, "<table id=\"subscriptions\">\n<tr><th>state</th><th>presentities</th></tr>\n");
	for (size_t i = 0; i < d->n_subs; i++)
		sbuf_printf(b, "<tr><td>%s</td><td class=\"n\" id=\"subs-%s\">%lu</td></tr>\n",
			    d->subs[i].name, d->subs[i].name, d->subs[i].n);
	sbuf_puts(b, "</table>\n</section>\n");
}

static void render_endpoints(struct sbuf *b, const struct status_data *d)
{
	sbuf_puts(b, "<section id=\"endpoints\">\n<h2>Delivery by endpoint</h2>\n");
	sbuf_printf(b, "<p><span id=\"endpoints-total\">%zu</span> endpoint%s with callbacks queued "
		    "or a circuit open", d->total_eps, d->total_eps == 1 ? "" : "s");
	if (d->n_eps < d->total_eps)
		sbuf_printf(b, " <span class=\"note\">(%zu listed)</span>", d->n_eps);
	sbuf_puts(b, "</p>\n");
	if (d->n_eps)
		sbuf_puts(b, "<table>\n<tr><th>endpoint</th><th>in flight</th><th>queued</th>"
			  "<th>failed attempts</th><th>failures in a row</th><th>circuit</th>"
			  "<th>last error</th></tr>\n");
	for (size_t i = 0; i < d->n_eps; i++) {
		const struct dlv_endpoint_view *e = &d->eps[i];

		sbuf_puts(b, "<tr class=\"ep\">");
		put_text_cell(b, "endpoint", e->endpoint, SHOW_ENDPOINT);
		put_num_cell(b, "in-flight", e->in_flight);
		put_num_cell(b, "queued", e->queued);
		put_num_cell(b, "failed", e->attempts_failed);
		put_num_cell(b, "in-a-row", (unsigned long)e->consecutive_failures);
		sbuf_printf(b, "<td class=\"circuit %s\">%s</td>", e->circuit, e->circuit);
		put_text_cell(b, "last-error", e->last_error, SHOW_ERROR);
		sbuf_puts(b, "</tr>\n");
	}
	if (d->n_eps)
		sbuf_puts(b, "</table>\n");
	sbuf_puts(b, "</section>\n");
}

static void render_outbox(struct sbuf *b, const struct status_data *d)
{
	sbuf_puts(b, "<section id=\"outbox\">\n<h2>Outbox</h2>\n<p>");
	if (d->outbox_rows < 0) {
		sbuf_puts(b, "no store</p>\n</section>\n");
		return;
	}
	sbuf_printf(b, "store <span id=\"store-state\" class=\"%s\">%s</span>; "
		    "<span id=\"outbox-rows\">%ld</span> callbacks pending",
		    d->store_ready ? "up" : "down", d->store_ready ? "ready" : "down", d->outbox_rows);
	if (d->outbox_rows > 0 && d->outbox_oldest_ms > 0) {
		char age[64];
		long long s = ((long long)d->now * 1000 - d->outbox_oldest_ms) / 1000;

		status_duration(age, sizeof(age), s);
		sbuf_printf(b, ", the oldest for <span id=\"outbox-oldest\">%s</span>", age);
	}
	sbuf_puts(b, "</p>\n</section>\n");
}

static void render_errors(struct sbuf *b, const struct status_data *d)
{
	sbuf_printf(b, "<section id=\"errors\">\n<h2>Recent warnings and errors</h2>\n"
		    "<p class=\"note\">the last %d kept, newest first", RECENT_MAX);
	if (d->errors_dropped)
		sbuf_printf(b, "; %lu left out while the page was read", d->errors_dropped);
	sbuf_puts(b, "</p>\n");
	if (!d->n_errors) {
		sbuf_puts(b, "<p id=\"errors-none\">none</p>\n</section>\n");
		return;
	}
	sbuf_puts(b, "<ol id=\"errors-list\">\n");
	for (size_t i = 0; i < d->n_errors; i++) {
		sbuf_printf(b, "<li class=\"%s\">", d->errors[i].level == 0 ? "error" : "warn");
		html_escape(b, d->errors[i].text, SHOW_ERROR);
		sbuf_puts(b, "</li>\n");
	}
	sbuf_puts(b, "</ol>\n</section>\n");
}

void status_render(struct sbuf *b, const struct status_data *d)
{
	char up[64];

	status_duration(up, sizeof(up), (long long)(d->now - d->started));
	sbuf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		    "<title>pxtsgw status</title>\n<style>%s</style>\n</head>\n<body>\n"
		    "<h1>pxtsgw status</h1>\n", style);
	sbuf_puts(b, "<p>version <span id=\"version\">");
	html_escape(b, d->version, 64);
	sbuf_printf(b, "</span>, up <span id=\"uptime\">%s</span> (started ", up);
	put_time(b, d->started);
	sbuf_puts(b, "); page made ");
	put_time(b, d->now);
	sbuf_puts(b, "</p>\n");
	render_sip(b, d);
	status_render_rows(b, "notifications", "Notifications", "correlator", d->auth_on, d->notifs,
			   d->n_notifs, d->total_notifs);
	if (!d->notifs_known)
		sbuf_puts(b, "<p class=\"note\">notifications not known: the SIP thread did not "
			  "answer</p>\n");
	status_render_rows(b, "camara", "CAMARA subscriptions", "subscription id", d->auth_on,
			   d->camara, d->n_camara, d->total_camara);
	render_endpoints(b, d);
	render_outbox(b, d);
	render_errors(b, d);
	sbuf_puts(b, "</body>\n</html>\n");
}
