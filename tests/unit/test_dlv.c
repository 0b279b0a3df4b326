/*
 * test_dlv.c - callback delivery: the backoff schedule, the metrics text,
 * input checks, and a few real deliveries to an in-process HTTP endpoint
 * (order per correlator, retries, failure details, stop); part 3: the
 * outbox payload format, resuming the outbox after a stop, expiry
 * (max_age_s) and dlv_forget; svc_client (the sender) on its own: input
 * checks, keep-alive, details; callback destinations at connect (contract
 * section 11: the address used is the one checked, a name that resolves
 * to a refused address is not contacted), no redirects, credentials as
 * HTTP Basic.
 *
 * The endpoints listen on 127.0.0.1: the deliveries run with
 * delivery.allowed-endpoints = 127.0.0.0/8 (loopback below).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "dest.h"
#include "dlv.h"
#include "log.h"
#include "store.h"
#include "svc_client.h"
#include "tmpstore.h"

/* The generated client side is linked ("gen-client" in test_dlv.mods: the
 * "gen" module would also bring soapServer.c, which needs the whole SOAP
 * service); namespaces[] comes from the nsmap, as svc.c has it. */
#include "soapH.h"
#include "TerminalStatusBinding.nsmap"

static struct dest *loopback;      /* delivery.allowed-endpoints = 127.0.0.0/8 */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- dlv_backoff_ms ------------------------------------------------------- */

static void test_backoff_schedule(void **state)
{
	struct dlv_config c = { .backoff_ms = 1000, .backoff_max_ms = 60000 };

	(void)state;
	assert_int_equal(dlv_backoff_ms(&c, 1), 1000);
	assert_int_equal(dlv_backoff_ms(&c, 2), 2000);
	assert_int_equal(dlv_backoff_ms(&c, 3), 4000);
	assert_int_equal(dlv_backoff_ms(&c, 6), 32000);
	assert_int_equal(dlv_backoff_ms(&c, 7), 60000);   /* 64000 capped */
	assert_int_equal(dlv_backoff_ms(&c, 8), 60000);
	/* n below 1 is the first retry */
	assert_int_equal(dlv_backoff_ms(&c, 0), 1000);
	assert_int_equal(dlv_backoff_ms(&c, -5), 1000);

	c.backoff_ms = 100;
	c.backoff_max_ms = 1000;
	assert_int_equal(dlv_backoff_ms(&c, 1), 100);
	assert_int_equal(dlv_backoff_ms(&c, 4), 800);
	assert_int_equal(dlv_backoff_ms(&c, 5), 1000);

	/* the cap is also a cap for the first wait */
	c.backoff_ms = 5000;
	assert_int_equal(dlv_backoff_ms(&c, 1), 1000);

	c.backoff_ms = 0;
	assert_int_equal(dlv_backoff_ms(&c, 3), 0);
}

static void test_backoff_large_n(void **state)
{
	struct dlv_config c = { .backoff_ms = 1000, .backoff_max_ms = 60000 };

	(void)state;
	assert_int_equal(dlv_backoff_ms(&c, 63), 60000);
	assert_int_equal(dlv_backoff_ms(&c, 64), 60000);
	assert_int_equal(dlv_backoff_ms(&c, 100), 60000);
	assert_int_equal(dlv_backoff_ms(&c, LONG_MAX), 60000);

	/* a cap at the top of the range: doubling saturates, never wraps */
	c.backoff_max_ms = LONG_MAX;
	assert_int_equal(dlv_backoff_ms(&c, 40), 1000L << 39);
	assert_int_equal(dlv_backoff_ms(&c, 100), LONG_MAX);
	assert_int_equal(dlv_backoff_ms(&c, LONG_MAX), LONG_MAX);
	c.backoff_ms = LONG_MAX / 2 + 1;
	assert_int_equal(dlv_backoff_ms(&c, 2), LONG_MAX);
	assert_true(dlv_backoff_ms(&c, 3) > 0);

	/* no cap (0) behaves like the largest cap */
	c.backoff_ms = 1000;
	c.backoff_max_ms = 0;
	assert_int_equal(dlv_backoff_ms(&c, 3), 4000);
	assert_int_equal(dlv_backoff_ms(&c, 1000), LONG_MAX);
}

/* --- metrics ---------------------------------------------------------------- */

static void test_metrics_text(void **state)
{
	char buf[4096], small[200];
	size_t n;

	(void)state;
	n = dlv_metrics(NULL, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_non_null(strstr(buf, "# HELP pxtsgw_delivery_attempts_total "));
	assert_non_null(strstr(buf, "# TYPE pxtsgw_delivery_attempts_total counter\n"));
	assert_non_null(strstr(buf, "# HELP pxtsgw_deliveries_total "));
	assert_non_null(strstr(buf, "# TYPE pxtsgw_deliveries_total counter\n"));
	assert_non_null(strstr(buf, "\npxtsgw_delivery_attempts_total{operation=\"statusNotification\",result=\"delivered\"} 0\n"));
	assert_non_null(strstr(buf, "\npxtsgw_deliveries_total{operation=\"statusEnd\",result=\"failed\"} 0\n"));
	assert_non_null(strstr(buf, "# TYPE pxtsgw_delivery_circuit_open gauge\npxtsgw_delivery_circuit_open 0\n"));
	assert_non_null(strstr(buf, "# TYPE pxtsgw_delivery_circuit_openings_total counter\n"
			       "pxtsgw_delivery_circuit_openings_total 0\n"));
	assert_non_null(strstr(buf, "# TYPE pxtsgw_store_commits_total counter\npxtsgw_store_commits_total 0\n"));
	assert_non_null(strstr(buf, "# TYPE pxtsgw_store_writes_total counter\npxtsgw_store_writes_total 0\n"));
	assert_int_equal(buf[n - 1], '\n');

	/* a short buffer gets whole lines only */
	n = dlv_metrics(NULL, small, sizeof(small));
	assert_int_equal(n, strlen(small));
	assert_true(n > 0 && n < sizeof(small));
	assert_int_equal(small[n - 1], '\n');
	assert_int_equal(strncmp(buf, small, n), 0);
	assert_int_equal(dlv_metrics(NULL, small, 0), 0);
}

/* --- an HTTP endpoint in this process ---------------------------------------- */

#define SRV_MAX_CONN 64
#define SRV_MAX_LOG 256

struct srv {
	int lfd, port;
	pthread_t thread;
	pthread_t conn[SRV_MAX_CONN];
	int nconn;
	pthread_mutex_t mu;
	char log[SRV_MAX_LOG][160];    /* "correlator operation first-address" per request */
	char auth[SRV_MAX_LOG][128];   /* its Authorization header, or "" */
	char line[SRV_MAX_LOG][128];   /* its request line */
	int nlog;
	int fail_next;                 /* answer 500 to this many requests */
	char redirect[128];            /* when set: answer 302 to this Location */
	int foreign_ns;                /* requests that declared a WS-Security or SAML namespace */
	bool hang;                     /* never answer: keep each connection until the client
				        * closes it (an endpoint that accepts and never answers) */
	_Atomic int stop;
};

struct conn_arg {
	struct srv *s;
	int fd;
};

static void copy_between(const char *body, const char *from, const char *to, char *out, size_t cap)
{
	const char *a = strstr(body, from), *b;

	out[0] = '\0';
	if (!a)
		return;
	a += strlen(from);
	b = strstr(a, to);
	if (b && (size_t)(b - a) < cap) {
		memcpy(out, a, (size_t)(b - a));
		out[b - a] = '\0';
	}
}

/* Reads one request (headers + Content-Length body). 0, or -1 at EOF/stop. */
static int read_request(struct srv *s, int fd, char *buf, size_t cap)
{
	size_t n = 0, need = 0;
	char *hdr_end = NULL;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (hdr_end && n >= need)
			return 0;
		if (poll(&p, 1, 50) == 0) {
			if (s->stop)
				return -1;
			continue;
		}
		r = read(fd, buf + n, cap - 1 - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		if (!hdr_end && (hdr_end = strstr(buf, "\r\n\r\n")) != NULL) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");

			need = (size_t)(hdr_end + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
			if (need >= cap)
				return -1;
		}
	}
}

static void *conn_main(void *arg)
{
	struct conn_arg *ca = arg;
	struct srv *s = ca->s;
	int fd = ca->fd;
	char *buf = malloc(65536);

	free(ca);
	while (buf && read_request(s, fd, buf, 65536) == 0) {
		char corr[32], op[64], addr[64], resp[1024], body[768];
		int status = 200, len;

		copy_between(buf, "<tsnl:correlator>", "</tsnl:correlator>", corr, sizeof(corr));
		copy_between(buf, "<SOAP-ENV:Body><tsnl:", ">", op, sizeof(op));
		copy_between(buf, "address>", "<", addr, sizeof(addr));
		pthread_mutex_lock(&s->mu);
		if (s->nlog < SRV_MAX_LOG) {
			copy_between(buf, "\r\nAuthorization: ", "\r\n", s->auth[s->nlog], sizeof(s->auth[0]));
			snprintf(s->line[s->nlog], sizeof(s->line[0]), "%.*s", (int)strcspn(buf, "\r"), buf);
			snprintf(s->log[s->nlog++], sizeof(s->log[0]), "%s %s %s", corr, op, addr);
		}
		if (strstr(buf, "oasis-open.org/wss") || strstr(buf, "SAML") || strstr(buf, "xmldsig"))
			s->foreign_ns++;
		if (s->fail_next > 0) {
			s->fail_next--;
			status = 500;
		}
		if (s->hang) {
			pthread_mutex_unlock(&s->mu);
			while (!s->stop) {
				struct pollfd p = { .fd = fd, .events = POLLIN };
				char junk[512];

				if (poll(&p, 1, 50) > 0 && read(fd, junk, sizeof(junk)) <= 0)
					break;
			}
			break;
		}
		if (s->redirect[0]) {
			len = snprintf(resp, sizeof(resp), "HTTP/1.1 302 Found\r\nLocation: %s\r\n"
				       "Content-Length: 0\r\n\r\n", s->redirect);
			pthread_mutex_unlock(&s->mu);
			if (write(fd, resp, (size_t)len) != len)
				break;
			continue;
		}
		pthread_mutex_unlock(&s->mu);
		if (status == 200)
			snprintf(body, sizeof(body),
				 "<?xml version=\"1.0\"?><e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\">"
				 "<e:Body><n:%sResponse xmlns:n=\"http://www.csapi.org/schema/parlayx/terminal_status/"
				 "notification/v2_3/local\"/></e:Body></e:Envelope>", op);
		else
			snprintf(body, sizeof(body), "oops\n");
		len = snprintf(resp, sizeof(resp), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
			       status, status == 200 ? "OK" : "Internal Server Error",
			       status == 200 ? "text/xml; charset=utf-8" : "text/plain", strlen(body), body);
		if (write(fd, resp, (size_t)len) != len)
			break;
	}
	free(buf);
	close(fd);
	return NULL;
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;

	while (!s->stop) {
		struct pollfd p = { .fd = s->lfd, .events = POLLIN };
		struct conn_arg *ca;
		int fd;

		if (poll(&p, 1, 50) <= 0)
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		ca = malloc(sizeof(*ca));
		if (!ca || s->nconn >= SRV_MAX_CONN) {
			free(ca);
			close(fd);
			continue;
		}
		ca->s = s;
		ca->fd = fd;
		if (pthread_create(&s->conn[s->nconn], NULL, conn_main, ca) != 0) {
			free(ca);
			close(fd);
			continue;
		}
		__atomic_add_fetch(&s->nconn, 1, __ATOMIC_SEQ_CST);   /* conns() reads it */
	}
	for (int i = 0; i < s->nconn; i++)
		pthread_join(s->conn[i], NULL);
	return NULL;
}

/* A listening socket on 127.0.0.1 (port chosen by the kernel). */
static int listen_any(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static int srv_setup(void **state)
{
	struct srv *s = calloc(1, sizeof(*s));

	if (!s)
		return -1;
	log_set_level(getenv("DLV_DEBUG") ? LOG_DEBUG : LOG_ERROR);
	s->lfd = listen_any(&s->port);
	pthread_mutex_init(&s->mu, NULL);
	if (pthread_create(&s->thread, NULL, srv_main, s) != 0)
		return -1;
	*state = s;
	return 0;
}

static int srv_teardown(void **state)
{
	struct srv *s = *state;

	s->stop = 1;
	pthread_join(s->thread, NULL);
	close(s->lfd);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return 0;
}

/* Waits until nothing of app's correlator corr is queued. */
static void wait_idle_app(struct dlv *d, const char *app, const char *corr, long timeout_ms,
			  struct dlv_health *h)
{
	long long end = now_ms() + timeout_ms;
	struct timespec nap = { 0, 2000000 };

	for (;;) {
		dlv_get_health(d, app, corr, h);
		if (h->queued == 0)
			return;
		if (now_ms() > end)
			fail_msg("%s: still %lu queued after %ld ms", corr, h->queued, timeout_ms);
		nanosleep(&nap, NULL);
	}
}

static void wait_idle(struct dlv *d, const char *corr, long timeout_ms, struct dlv_health *h)
{
	wait_idle_app(d, NULL, corr, timeout_ms, h);
}

/* --- tests with deliveries ---------------------------------------------------- */

static void test_start_rejects(void **state)
{
	struct dlv_config c = { .workers = 1, .max_attempts = 0, .timeout_ms = 100 };
	struct dlv *d = (struct dlv *)&c;

	(void)state;
	assert_int_equal(dlv_start(&c, &d), -1);
	assert_null(d);
	c.max_attempts = 1;
	c.backoff_ms = -1;
	assert_int_equal(dlv_start(&c, &d), -1);
	dlv_stop(NULL);
}

static void test_enqueue_checks(void **state)
{
	struct dlv_config c = { .workers = 1, .max_attempts = 1, .backoff_ms = 10,
				.backoff_max_ms = 100, .timeout_ms = 2000 };
	struct dlv *d = NULL;
	struct dlv_status ok1 = { "sip:a@example.com", TS_BUSY }, two[2] = { ok1, ok1 };
	struct dlv_status bad_status = { "sip:a@example.com", (ts_status)7 }, no_addr = { NULL, TS_BUSY };
	struct fault f, none;
	struct dlv_item it;
	struct dlv_health h;
	uint64_t a, b;
	int port;
	int lfd = listen_any(&port);   /* listens, never answers: nothing gets delivered */
	char url[64];

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/cb", port);
	fault_set(&f, SVC0001, "lost", NULL);
	memset(&none, 0, sizeof(none));
	c.dest = loopback;
	assert_int_equal(dlv_start(&c, &d), 0);

	it = (struct dlv_item){ .op = DLV_STATUS_NOTIFICATION, .correlator = NULL, .endpoint = url,
				.entries = &ok1, .n = 1 };
	assert_int_equal(dlv_enqueue(d, &it), 0);
	it.correlator = "c";
	it.endpoint = NULL;
	assert_int_equal(dlv_enqueue(d, &it), 0);
	it.endpoint = url;
	it.n = 0;
	assert_int_equal(dlv_enqueue(d, &it), 0);
	it.n = 1;
	it.entries = &bad_status;
	assert_int_equal(dlv_enqueue(d, &it), 0);
	it.entries = &no_addr;
	assert_int_equal(dlv_enqueue(d, &it), 0);
	it = (struct dlv_item){ .op = DLV_STATUS_CHANGED, .correlator = "c", .endpoint = url,
				.entries = two, .n = 2 };
	assert_int_equal(dlv_enqueue(d, &it), 0);
	it = (struct dlv_item){ .op = DLV_STATUS_ERROR, .correlator = "c", .endpoint = url };
	assert_int_equal(dlv_enqueue(d, &it), 0);
	it.reason = &none;
	assert_int_equal(dlv_enqueue(d, &it), 0);
	it.op = (enum dlv_op)9;
	it.reason = &f;
	assert_int_equal(dlv_enqueue(d, &it), 0);
	assert_int_equal(dlv_enqueue(d, NULL), 0);
	assert_int_equal(dlv_enqueue(NULL, &it), 0);

	/* valid ones get increasing ids */
	it.op = DLV_STATUS_ERROR;
	it.address = NULL;
	a = dlv_enqueue(d, &it);
	it = (struct dlv_item){ .op = DLV_STATUS_END, .correlator = "c", .endpoint = url };
	b = dlv_enqueue(d, &it);
	assert_true(a > 0);
	assert_true(b > a);
	{
		dlv_get_health(d, NULL, "c", &h);
		assert_int_equal(h.queued, 2);
		dlv_get_health(d, NULL, "unknown", &h);
		assert_int_equal(h.queued + h.delivered + h.failed + h.attempts_failed, 0);
		assert_string_equal(h.last_error, "");
	}
	/* stop with one in flight (no answer: it ends at the 2 s timeout)
	 * and one queued (dropped) */
	{
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		long long t;

		/* the worker's connection waits in the backlog: the attempt
		 * is in flight from now on */
		assert_int_equal(poll(&pfd, 1, 5000), 1);
		dlv_get_health(d, NULL, "c", &h);
		assert_int_equal(h.queued, 2);
		t = now_ms();
		dlv_stop(d);
		t = now_ms() - t;
		assert_true(t >= 500);    /* it waited for the attempt in flight */
		assert_true(t < 3000);    /* and no longer than its timeout */
	}
	close(lfd);
}

static void test_refused_retries(void **state)
{
	struct dlv_config c = { .workers = 2, .max_attempts = 3, .backoff_ms = 30,
				.backoff_max_ms = 1000, .timeout_ms = 500 };
	struct dlv *d = NULL;
	struct dlv_status e = { "tel:+15551234", TS_UNREACHABLE };
	struct dlv_item it = { .op = DLV_STATUS_CHANGED, .correlator = "down", .entries = &e, .n = 1 };
	struct dlv_health h;
	char url[64], m[4096];
	int port, lfd = listen_any(&port);
	long long t;

	(void)state;
	close(lfd);   /* nobody listens there now */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/cb", port);
	it.endpoint = url;
	c.dest = loopback;
	assert_int_equal(dlv_start(&c, &d), 0);
	t = now_ms();
	assert_true(dlv_enqueue(d, &it) > 0);
	wait_idle(d, "down", 5000, &h);
	/* waits of 30 and 60 ms between the three attempts */
	assert_true(now_ms() - t >= 90);
	assert_int_equal(h.delivered, 0);
	assert_int_equal(h.failed, 1);
	assert_int_equal(h.attempts_failed, 3);
	assert_string_equal(h.last_error, "connection refused");
	dlv_metrics(d, m, sizeof(m));
	assert_non_null(strstr(m, "pxtsgw_delivery_attempts_total{operation=\"statusChanged\",result=\"failed\"} 3\n"));
	assert_non_null(strstr(m, "pxtsgw_deliveries_total{operation=\"statusChanged\",result=\"failed\"} 1\n"));
	assert_non_null(strstr(m, "pxtsgw_deliveries_total{operation=\"statusChanged\",result=\"delivered\"} 0\n"));
	dlv_stop(d);
}

/* The requests of one correlator, consecutive repeats (retries) merged. */
static int requests_of(struct srv *s, const char *corr, char out[][160], int max)
{
	size_t n = strlen(corr);
	int k = 0;

	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->nlog; i++) {
		if (strncmp(s->log[i], corr, n) != 0 || s->log[i][n] != ' ')
			continue;
		if (k > 0 && strcmp(out[k - 1], s->log[i]) == 0)
			continue;
		if (k < max)
			snprintf(out[k], 160, "%s", s->log[i]);
		k++;
	}
	pthread_mutex_unlock(&s->mu);
	return k;
}

static void test_order_and_retry(void **state)
{
	struct srv *s = *state;
	struct dlv_config c = { .workers = 3, .max_attempts = 3, .backoff_ms = 20,
				.backoff_max_ms = 100, .timeout_ms = 2000 };
	struct dlv *d = NULL;
	struct dlv_health ha, hb;
	struct fault f;
	char url[64], m[4096], got[64][160], want[160];
	enum { N = 12 };
	char addr[N][40];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/TerminalStatusNotification", s->port);
	pthread_mutex_lock(&s->mu);
	s->fail_next = 2;   /* the first two requests fail: a retry must keep the order */
	pthread_mutex_unlock(&s->mu);
	fault_set(&f, POL0002, "sip:a@example.com", NULL);
	c.dest = loopback;
	assert_int_equal(dlv_start(&c, &d), 0);
	for (int i = 0; i < N; i++) {
		struct dlv_status e[2] = { { addr[i], TS_BUSY }, { "sip:z@example.com", TS_REACHABLE } };
		struct dlv_item it = { .op = DLV_STATUS_NOTIFICATION, .correlator = "A", .endpoint = url,
				       .entries = e, .n = 2 };

		snprintf(addr[i], sizeof(addr[i]), "sip:u%d@example.com", i);
		if (i == N - 1)
			it = (struct dlv_item){ .op = DLV_STATUS_ERROR, .correlator = "A", .endpoint = url,
						.address = addr[i], .reason = &f };
		assert_true(dlv_enqueue(d, &it) > 0);
		it = (struct dlv_item){ .op = i == N - 1 ? DLV_STATUS_END : DLV_STATUS_CHANGED,
					.correlator = "B", .endpoint = url, .entries = e, .n = 1 };
		assert_true(dlv_enqueue(d, &it) > 0);
	}
	wait_idle(d, "A", 10000, &ha);
	wait_idle(d, "B", 10000, &hb);
	assert_int_equal(ha.delivered + hb.delivered, 2 * N);
	assert_int_equal(ha.failed + hb.failed, 0);
	assert_int_equal(ha.attempts_failed + hb.attempts_failed, 2);
	assert_true(ha.attempts_failed == 0 || strcmp(ha.last_error, "HTTP 500") == 0);
	assert_true(hb.attempts_failed == 0 || strcmp(hb.last_error, "HTTP 500") == 0);
	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->nlog, 2 * N + 2);
	assert_int_equal(s->foreign_ns, 0);   /* callbacks declare none of the WS-Security namespaces */
	pthread_mutex_unlock(&s->mu);

	/* each correlator's callbacks arrived in order: a failed one was
	 * repeated, and nothing of its correlator overtook it */
	assert_int_equal(requests_of(s, "A", got, 64), N);
	for (int i = 0; i < N; i++) {
		snprintf(want, sizeof(want), "A %s %.39s", i == N - 1 ? "statusError" : "statusNotification", addr[i]);
		assert_string_equal(got[i], want);
	}
	assert_int_equal(requests_of(s, "B", got, 64), N);
	for (int i = 0; i < N; i++) {
		if (i == N - 1)
			snprintf(want, sizeof(want), "B statusEnd ");
		else
			snprintf(want, sizeof(want), "B statusChanged %.39s", addr[i]);
		assert_string_equal(got[i], want);
	}
	dlv_metrics(d, m, sizeof(m));
	assert_non_null(strstr(m, "pxtsgw_deliveries_total{operation=\"statusError\",result=\"delivered\"} 1\n"));
	assert_non_null(strstr(m, "pxtsgw_deliveries_total{operation=\"statusEnd\",result=\"delivered\"} 1\n"));
	assert_non_null(strstr(m, "pxtsgw_deliveries_total{operation=\"statusChanged\",result=\"delivered\"} 11\n"));
	assert_non_null(strstr(m, "pxtsgw_deliveries_total{operation=\"statusNotification\",result=\"delivered\"} 11\n"));
	assert_non_null(strstr(m, "pxtsgw_delivery_attempts_total{operation=\"statusError\",result=\"delivered\"} 1\n"));
	dlv_stop(d);
}

/* --- part 3: payload, outbox, expiry, forget ------------------------------------- */

static void check_payload(const struct dlv_item *it, const char *want)
{
	char *p = dlv_payload_encode(it), *again;

	assert_non_null(p);
	assert_string_equal(p, want);
	again = dlv_payload_roundtrip(it->op, p);
	assert_non_null(again);
	assert_string_equal(again, p);
	free(again);
	free(p);
}

static void test_payload_format(void **state)
{
	struct dlv_status e[2] = { { "sip:a b%@x.com", TS_BUSY }, { "tel:+1555\n\t", TS_REACHABLE } };
	struct dlv_status u = { "sip:\xc3\xbc@x.com", TS_UNREACHABLE };
	struct fault f;
	struct dlv_item it;

	(void)state;
	it = (struct dlv_item){ .op = DLV_STATUS_NOTIFICATION, .correlator = "c", .endpoint = "e",
				.entries = e, .n = 2 };
	check_payload(&it, "pxtsgw-callback 1 statusNotification\n"
			   "s Busy sip:a%20b%25@x.com\n"
			   "s Reachable tel:+1555%0A%09\n");
	it = (struct dlv_item){ .op = DLV_STATUS_CHANGED, .correlator = "c", .endpoint = "e",
				.entries = &u, .n = 1 };
	check_payload(&it, "pxtsgw-callback 1 statusChanged\ns Unreachable sip:\xc3\xbc@x.com\n");
	fault_set(&f, SVC0003, "", "a,b c", NULL);
	it = (struct dlv_item){ .op = DLV_STATUS_ERROR, .correlator = "c", .endpoint = "e",
				.address = "sip:a@x.com", .reason = &f };
	check_payload(&it, "pxtsgw-callback 1 statusError\n"
			   "a sip:a@x.com\n"
			   "m SVC0003\n"
			   "t Invalid%20input%20value%20for%20message%20part%20%251,%20valid%20values%20are%20%252\n"
			   "v \n"
			   "v a,b%20c\n");
	fault_set(&f, POL0004, NULL);
	it.address = NULL;
	check_payload(&it, "pxtsgw-callback 1 statusError\n"
			   "m POL0004\n"
			   "t Unlimited%20notification%20request%20not%20supported\n");
	it = (struct dlv_item){ .op = DLV_STATUS_END, .correlator = "c", .endpoint = "e" };
	check_payload(&it, "pxtsgw-callback 1 statusEnd\n");

	it.correlator = NULL;
	assert_null(dlv_payload_encode(&it));
	assert_null(dlv_payload_encode(NULL));
}

static void test_payload_invalid(void **state)
{
	static const struct {
		enum dlv_op op;
		const char *payload;
	} bad[] = {
		{ DLV_STATUS_END, "" },
		{ DLV_STATUS_END, "pxtsgw-callback 1 statusEnd" },              /* no line break */
		{ DLV_STATUS_END, "pxtsgw-callback 2 statusEnd\n" },            /* version */
		{ DLV_STATUS_END, "pxtsgw-callback 1 statusChanged\ns Busy a\n" }, /* op column differs */
		{ DLV_STATUS_END, "pxtsgw-callback 1 statusEnd\ns Busy a\n" },
		{ DLV_STATUS_END, "pxtsgw-callback 1 statusEnd\n\n" },
		{ DLV_STATUS_NOTIFICATION, "pxtsgw-callback 1 statusNotification\n" },  /* no entry */
		{ DLV_STATUS_NOTIFICATION, "pxtsgw-callback 1 statusNotification\ns Idle a\n" },
		{ DLV_STATUS_NOTIFICATION, "pxtsgw-callback 1 statusNotification\ns Busy\n" },
		{ DLV_STATUS_NOTIFICATION, "pxtsgw-callback 1 statusNotification\ns Busy a b\n" },
		{ DLV_STATUS_NOTIFICATION, "pxtsgw-callback 1 statusNotification\ns Busy a%G0\n" },
		{ DLV_STATUS_NOTIFICATION, "pxtsgw-callback 1 statusNotification\ns Busy a%00\n" },
		{ DLV_STATUS_NOTIFICATION, "pxtsgw-callback 1 statusNotification\ns Busy a%4\n" },
		{ DLV_STATUS_NOTIFICATION, "pxtsgw-callback 1 statusNotification\nx Busy a\n" },
		{ DLV_STATUS_NOTIFICATION, "pxtsgw-callback 1 statusNotification\ns Busy a\nm SVC0001\n" },
		{ DLV_STATUS_CHANGED, "pxtsgw-callback 1 statusChanged\ns Busy a\ns Busy b\n" },
		{ DLV_STATUS_CHANGED, "pxtsgw-callback 1 statusChanged\n" },
		{ DLV_STATUS_ERROR, "pxtsgw-callback 1 statusError\nm SVC0001\n" },       /* no text */
		{ DLV_STATUS_ERROR, "pxtsgw-callback 1 statusError\nt x\n" },             /* no id */
		{ DLV_STATUS_ERROR, "pxtsgw-callback 1 statusError\nm A\nm B\nt x\n" },
		{ DLV_STATUS_ERROR, "pxtsgw-callback 1 statusError\na x\na y\nm A\nt x\n" },
		{ DLV_STATUS_ERROR, "pxtsgw-callback 1 statusError\nm A\nt x y\n" },
		{ (enum dlv_op)7, "pxtsgw-callback 1 statusEnd\n" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *p = dlv_payload_roundtrip(bad[i].op, bad[i].payload);

		if (p)
			fail_msg("payload %zu accepted: %s", i, bad[i].payload);
	}
	assert_null(dlv_payload_roundtrip(DLV_STATUS_END, NULL));
}


/* Waits until correlator c has had n failed attempts. */
static void wait_failed_attempts_app(struct dlv *d, const char *app, const char *c, unsigned long n)
{
	long long end = now_ms() + 5000;
	struct timespec nap = { 0, 2000000 };
	struct dlv_health h;

	for (;;) {
		dlv_get_health(d, app, c, &h);
		if (h.attempts_failed >= n)
			return;
		if (now_ms() > end)
			fail_msg("%s: %lu failed attempts, not %lu", c, h.attempts_failed, n);
		nanosleep(&nap, NULL);
	}
}

static void wait_failed_attempts(struct dlv *d, const char *c, unsigned long n)
{
	wait_failed_attempts_app(d, NULL, c, n);
}

static void outbox_row(const struct store_outbox_row *r, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 512 - n, "%s:%d:%d ", r->correlator, r->op, r->attempts);
}

static void set_endpoint(const char *db, const char *url)
{
	sqlite3 *h;
	char sql[256];

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	snprintf(sql, sizeof(sql), "UPDATE outbox SET endpoint = '%s'", url);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

static unsigned long metric_of(struct dlv *d, const char *series);

static void test_outbox_resume(void **state)
{
	struct srv *s = *state;
	struct tmpstore t;
	struct dlv_config c = { .workers = 2, .max_attempts = 5, .backoff_ms = 60000,
				.backoff_max_ms = 60000, .timeout_ms = 1000 };
	struct dlv *d = NULL;
	struct dlv_status e[2] = { { "sip:r1@example.com", TS_BUSY }, { "sip:r2@example.com", TS_REACHABLE } };
	struct dlv_health h;
	struct fault f;
	char down[64], url[64], rows[512] = "", got[16][160], *json = NULL;
	uint64_t ids[6];
	int port, lfd = listen_any(&port);

	close(lfd);   /* refused */
	snprintf(down, sizeof(down), "http://127.0.0.1:%d/cb", port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/TerminalStatusNotification", s->port);
	fault_set(&f, SVC0001, "lost", NULL);
	assert_int_equal(tmpstore_make(&t, true), 0);
	c.store = t.s;
	c.dest = loopback;
	assert_int_equal(dlv_start(&c, &d), 0);
	{
		struct dlv_item it[5] = {
			{ .op = DLV_STATUS_NOTIFICATION, .correlator = "R", .endpoint = down, .entries = e, .n = 2 },
			{ .op = DLV_STATUS_CHANGED, .correlator = "R", .endpoint = down, .entries = e + 1, .n = 1 },
			{ .op = DLV_STATUS_ERROR, .correlator = "R", .endpoint = down, .address = "sip:r3@example.com",
			  .reason = &f },
			{ .op = DLV_STATUS_END, .correlator = "R2", .endpoint = down },
			{ .op = DLV_STATUS_END, .correlator = "K", .endpoint = down },
		};

		for (int i = 0; i < 5; i++) {
			ids[i] = dlv_enqueue(d, &it[i]);
			assert_true(ids[i] > 0);
			/* in the outbox when dlv_enqueue returns */
			assert_int_equal(store_outbox_count(t.s), i + 1);
		}
	}
	wait_failed_attempts(d, "R", 1);
	wait_failed_attempts(d, "R2", 1);
	wait_failed_attempts(d, "K", 1);
	/* the store's writer: 5 rows added; per failed attempt a tracking
	 * record and the row's attempts; at least one transaction, at most
	 * one per write */
	dlv_flush(d);
	assert_int_equal(metric_of(d, "pxtsgw_store_writes_total"), 5 + 3 * 2);
	assert_in_range(metric_of(d, "pxtsgw_store_commits_total"), 1, 5 + 3 * 2);
	dlv_stop(d);

	/* dlv_stop kept them, with the attempts made */
	assert_int_equal(store_outbox_load(t.s, &(uint64_t){ 0 }, 100000, outbox_row, rows), 5);
	assert_string_equal(rows, "R:0:1 R:1:0 R:2:0 R2:3:1 K:3:1 ");
	assert_int_equal(store_deliveries_json(t.s, NULL, "R", false, &json, NULL), 0);
	assert_null(strstr(json, "_DeliveryResult"));
	free(json);

	/* the endpoint moves to the live server; a start sends them all, in
	 * order, before a new one; read two rows at a time (R's three rows
	 * are in two batches, R2's and K's in the next ones) */
	set_endpoint(t.db, url);
	c.backoff_ms = c.backoff_max_ms = 10;
	c.dest = loopback;
	c.resume_batch = 2;
	assert_int_equal(dlv_start(&c, &d), 0);
	{
		struct dlv_item end = { .op = DLV_STATUS_END, .correlator = "R", .endpoint = url };

		ids[5] = dlv_enqueue(d, &end);
		assert_true(ids[5] > ids[4]);
	}
	dlv_keep(d, NULL, "K");   /* as the notification manager does for a restored one */
	wait_idle(d, "R", 5000, &h);
	/* the resumed callbacks count in R's health, however fast they went */
	assert_int_equal(h.delivered, 4);
	assert_int_equal(h.failed + h.attempts_failed + h.queued, 0);
	wait_idle(d, "R2", 5000, &h);
	assert_int_equal(h.delivered, 1);   /* resumed: kept until dlv_resumed_done */
	wait_idle(d, "K", 5000, &h);
	assert_int_equal(h.delivered, 1);
	dlv_resumed_done(d);
	dlv_get_health(d, NULL, "R2", &h);       /* resumed only, nobody kept it: forgotten */
	assert_int_equal(h.delivered + h.failed + h.queued, 0);
	dlv_get_health(d, NULL, "K", &h);        /* kept */
	assert_int_equal(h.delivered, 1);
	dlv_get_health(d, NULL, "R", &h);        /* something new was queued: kept */
	assert_int_equal(h.delivered, 4);
	assert_int_equal(requests_of(s, "K", got, 16), 1);
	assert_int_equal(requests_of(s, "R", got, 16), 4);
	assert_string_equal(got[0], "R statusNotification sip:r1@example.com");
	assert_string_equal(got[1], "R statusChanged sip:r2@example.com");
	assert_string_equal(got[2], "R statusError sip:r3@example.com");
	assert_string_equal(got[3], "R statusEnd ");
	assert_int_equal(requests_of(s, "R2", got, 16), 1);
	dlv_flush(d);
	assert_int_equal(store_outbox_count(t.s), 0);

	/* the head's attempts continue across the restart */
	assert_int_equal(store_deliveries_json(t.s, NULL, "R", false, &json, NULL), 0);
	{
		char want[512];

		snprintf(want, sizeof(want),
			 "{\"event\":\"statusNotification_DeliveryAttempted\",\"correlator\":\"R\",\"delivery\":%llu,"
			 "\"attempt\":2,\"result\":\"delivered\"", (unsigned long long)ids[0]);
		assert_non_null(strstr(json, want));
		snprintf(want, sizeof(want),
			 "{\"event\":\"statusNotification_DeliveryResult\",\"correlator\":\"R\",\"delivery\":%llu,"
			 "\"attempt\":2,\"result\":\"delivered\"", (unsigned long long)ids[0]);
		assert_non_null(strstr(json, want));
		snprintf(want, sizeof(want),
			 "{\"event\":\"statusChanged_DeliveryResult\",\"correlator\":\"R\",\"delivery\":%llu,"
			 "\"attempt\":1,\"result\":\"delivered\"", (unsigned long long)ids[1]);
		assert_non_null(strstr(json, want));
		assert_non_null(strstr(json, "\"attempt\":1,\"result\":\"failed\""));
		assert_non_null(strstr(json, "\"detail\":\"connection refused\""));
	}
	free(json);
	dlv_stop(d);
	tmpstore_remove(&t);
}

static void test_expiry(void **state)
{
	struct tmpstore t;
	struct dlv_config c = { .workers = 1, .max_attempts = 100, .backoff_ms = 150,
				.backoff_max_ms = 300, .timeout_ms = 500, .max_age_s = 1 };
	struct dlv *d = NULL;
	struct dlv_item it = { .op = DLV_STATUS_END, .correlator = "X" };
	struct dlv_health h;
	char down[64], *json = NULL;
	int port, lfd = listen_any(&port);
	long long t0;

	(void)state;
	close(lfd);
	snprintf(down, sizeof(down), "http://127.0.0.1:%d/cb", port);
	it.endpoint = down;
	assert_int_equal(tmpstore_make(&t, true), 0);
	c.store = t.s;
	c.dest = loopback;
	assert_int_equal(dlv_start(&c, &d), 0);
	t0 = now_ms();
	assert_true(dlv_enqueue(d, &it) > 0);
	wait_idle(d, "X", 5000, &h);
	t0 = now_ms() - t0;
	assert_true(t0 >= 1000);
	assert_true(t0 < 2000);
	/* attempts at 0, 150, 450, 750 ms; the next (1050) is past the age
	 * (3 when the attempts are slow, under valgrind) */
	assert_int_equal(h.failed, 1);
	assert_in_range(h.attempts_failed, 3, 4);
	dlv_flush(d);
	assert_int_equal(store_outbox_count(t.s), 0);
	assert_int_equal(store_deliveries_json(t.s, NULL, "X", false, &json, NULL), 0);
	assert_non_null(strstr(json, "{\"event\":\"statusEnd_DeliveryResult\",\"correlator\":\"X\""));
	{
		char want[64];

		snprintf(want, sizeof(want), "\"attempt\":%lu,\"result\":\"failed\"", h.attempts_failed);
		assert_non_null(strstr(json, want));
	}
	assert_non_null(strstr(json, "\"detail\":\"expired after 1 s\"}]"));
	free(json);
	dlv_stop(d);
	tmpstore_remove(&t);
}

static void test_forget(void **state)
{
	struct srv *s = *state;
	/* the backoff is the window in which G's second attempt must not have
	 * happened yet: far longer than two calls take, even under valgrind */
	struct dlv_config c = { .workers = 2, .max_attempts = 2, .backoff_ms = 1500,
				.backoff_max_ms = 1500, .timeout_ms = 1000 };
	struct dlv *d = NULL;
	struct dlv_status e = { "sip:f@example.com", TS_BUSY };
	struct dlv_item it = { .op = DLV_STATUS_CHANGED, .entries = &e, .n = 1 };
	struct dlv_health h;
	char url[64], down[64];
	int port, lfd = listen_any(&port);

	close(lfd);
	snprintf(down, sizeof(down), "http://127.0.0.1:%d/cb", port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/TerminalStatusNotification", s->port);
	c.dest = loopback;
	assert_int_equal(dlv_start(&c, &d), 0);

	/* idle: freed at once */
	it.correlator = "F";
	it.endpoint = url;
	assert_true(dlv_enqueue(d, &it) > 0);
	wait_idle(d, "F", 5000, &h);
	assert_int_equal(h.delivered, 1);
	dlv_forget(d, NULL, "F");
	dlv_get_health(d, NULL, "F", &h);
	assert_int_equal(h.delivered + h.queued, 0);

	/* busy: freed when its queue is empty */
	it.correlator = "G";
	it.endpoint = down;
	assert_true(dlv_enqueue(d, &it) > 0);
	wait_failed_attempts(d, "G", 1);   /* waiting for its retry */
	dlv_forget(d, NULL, "G");
	dlv_get_health(d, NULL, "G", &h);
	assert_int_equal(h.queued, 1);
	assert_int_equal(h.attempts_failed, 1);
	wait_idle(d, "G", 10000, &h);
	assert_int_equal(h.failed + h.attempts_failed, 0);

	/* a later enqueue cancels it */
	it.correlator = "H";
	assert_true(dlv_enqueue(d, &it) > 0);
	dlv_forget(d, NULL, "H");
	assert_true(dlv_enqueue(d, &it) > 0);
	wait_idle(d, "H", 10000, &h);
	assert_int_equal(h.failed, 2);

	dlv_forget(d, NULL, "unknown");
	dlv_forget(d, NULL, NULL);
	dlv_forget(NULL, NULL, "H");
	dlv_flush(d);   /* no store: nothing to do */
	dlv_flush(NULL);
	dlv_stop(d);
}

/* outbox rows, as "<app>/<correlator>/<attempts> " (store_outbox_load) */
static void row_text(const struct store_outbox_row *r, void *arg)
{
	char *buf = arg;
	size_t n = strlen(buf);

	snprintf(buf + n, 256 - n, "%s/%s/%d ", r->app, r->correlator, r->attempts);
}

/* The same correlator of two applications is two queues with their own
 * health and records (contract section 11), in the outbox too. */
static void test_per_application(void **state)
{
	struct srv *s = *state;
	struct tmpstore t;
	struct dlv_config c = { .workers = 2, .max_attempts = 3, .backoff_ms = 60000,
				.backoff_max_ms = 60000, .timeout_ms = 1000 };
	struct dlv *d = NULL;
	struct dlv_status e = { "sip:p@example.com", TS_BUSY };
	struct dlv_item it = { .op = DLV_STATUS_CHANGED, .correlator = "X", .entries = &e, .n = 1 };
	struct dlv_health h;
	char url[64], down[64], rows[256] = "", *json = NULL;
	int port, lfd = listen_any(&port);

	close(lfd);   /* refused */
	snprintf(down, sizeof(down), "http://127.0.0.1:%d/cb", port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/TerminalStatusNotification", s->port);
	assert_int_equal(tmpstore_make(&t, true), 0);
	c.store = t.s;
	c.dest = loopback;
	assert_int_equal(dlv_start(&c, &d), 0);
	it.app = "app-a";
	it.endpoint = url;
	assert_true(dlv_enqueue(d, &it) > 0);
	it.app = "app-b";
	it.endpoint = down;   /* fails, then waits a minute for its retry */
	assert_true(dlv_enqueue(d, &it) > 0);
	wait_idle_app(d, "app-a", "X", 5000, &h);
	assert_int_equal(h.delivered, 1);
	assert_int_equal(h.failed + h.attempts_failed, 0);
	wait_failed_attempts_app(d, "app-b", "X", 1);
	dlv_get_health(d, "app-b", "X", &h);
	assert_int_equal(h.delivered, 0);
	assert_int_equal(h.queued, 1);
	dlv_get_health(d, NULL, "X", &h);   /* the anonymous application has none */
	assert_int_equal(h.delivered + h.queued + h.attempts_failed, 0);
	dlv_flush(d);
	assert_int_equal(store_deliveries_json(t.s, "app-a", "X", false, &json, NULL), 0);
	assert_non_null(strstr(json, "\"result\":\"delivered\""));
	assert_null(strstr(json, "\"result\":\"failed\""));
	free(json);
	assert_int_equal(store_deliveries_json(t.s, "app-b", "X", false, &json, NULL), 0);
	assert_non_null(strstr(json, "\"detail\":\"connection refused\""));
	assert_null(strstr(json, "\"result\":\"delivered\""));
	free(json);
	/* app-b's callback stays in the outbox, as app-b's, and comes back
	 * as app-b's */
	dlv_stop(d);
	assert_int_equal(store_outbox_load(t.s, &(uint64_t){ 0 }, 100000, row_text, rows), 1);
	assert_string_equal(rows, "app-b/X/1 ");
	d = NULL;
	assert_int_equal(dlv_start(&c, &d), 0);
	dlv_get_health(d, "app-b", "X", &h);
	assert_int_equal(h.queued, 1);
	dlv_get_health(d, "app-a", "X", &h);
	assert_int_equal(h.queued, 0);
	dlv_stop(d);
	tmpstore_remove(&t);
}

/* --- part 6: fair delivery, per endpoint --------------------------------------- */

static int srv_requests(struct srv *s)
{
	int n;

	pthread_mutex_lock(&s->mu);
	n = s->nlog;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* Waits until the endpoint has had n requests (a bound for liveness only). */
static void wait_requests(struct srv *s, int n)
{
	long long end = now_ms() + 20000;
	struct timespec nap = { 0, 2000000 };

	while (srv_requests(s) < n) {
		if (now_ms() > end)
			fail_msg("%d requests, not %d", srv_requests(s), n);
		nanosleep(&nap, NULL);
	}
}

/* The value of a sample of dlv_metrics (name with its labels). */
static unsigned long metric_of(struct dlv *d, const char *series)
{
	char m[4096], want[256];
	const char *p;

	dlv_metrics(d, m, sizeof(m));
	snprintf(want, sizeof(want), "\n%s ", series);
	p = strstr(m, want);
	if (!p)
		fail_msg("no %s in the metrics", series);
	return strtoul(p + strlen(want), NULL, 10);
}

/* Waits until a sample of dlv_metrics has value v. */
static void wait_metric(struct dlv *d, const char *series, unsigned long v)
{
	long long end = now_ms() + 20000;
	struct timespec nap = { 0, 2000000 };

	while (metric_of(d, series) != v) {
		if (now_ms() > end)
			fail_msg("%s is %lu, not %lu", series, metric_of(d, series), v);
		nanosleep(&nap, NULL);
	}
}

/* An endpoint that accepts and never answers holds its limit of workers
 * (2), no more: the third worker delivers another endpoint's callbacks
 * while the hung attempts are still in flight, and the hung endpoint's
 * other correlators wait, not attempted. */
static void test_endpoint_limit(void **state)
{
	struct srv *s = *state, *hung = NULL;
	void *h_state = NULL;
	struct dlv_config c = { .workers = 3, .max_attempts = 1, .backoff_ms = 10,
				.backoff_max_ms = 10, .timeout_ms = 60000,
				.max_in_flight_per_endpoint = 2 };
	struct dlv *d = NULL;
	struct dlv_status e = { "sip:l@example.com", TS_BUSY };
	struct dlv_item it = { .op = DLV_STATUS_CHANGED, .entries = &e, .n = 1 };
	struct dlv_health h;
	char url[64], hung_a[64], hung_b[64], corr[16];

	assert_int_equal(srv_setup(&h_state), 0);
	hung = h_state;
	pthread_mutex_lock(&hung->mu);
	hung->hang = true;
	pthread_mutex_unlock(&hung->mu);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", s->port);
	/* other paths, with and without credentials: the same endpoint
	 * (host:port) */
	snprintf(hung_a, sizeof(hung_a), "http://u:p@127.0.0.1:%d/other", hung->port);
	snprintf(hung_b, sizeof(hung_b), "http://127.0.0.1:%d/x", hung->port);
	c.dest = loopback;
	assert_int_equal(dlv_start(&c, &d), 0);
	for (int i = 0; i < 5; i++) {
		snprintf(corr, sizeof(corr), "H%d", i);
		it.correlator = corr;
		it.endpoint = i % 2 ? hung_a : hung_b;
		assert_true(dlv_enqueue(d, &it) > 0);
	}
	wait_requests(hung, 2);   /* two attempts in flight, never answered */

	it.endpoint = url;
	it.correlator = "G";
	for (int i = 0; i < 10; i++)
		assert_true(dlv_enqueue(d, &it) > 0);
	wait_idle(d, "G", 20000, &h);
	assert_int_equal(h.delivered, 10);
	assert_int_equal(srv_requests(s), 10);
	/* meanwhile: still two hung attempts, the other three not tried */
	assert_int_equal(srv_requests(hung), 2);
	assert_int_equal(metric_of(d, "pxtsgw_delivery_attempts_total{operation=\"statusChanged\",result=\"failed\"}"), 0);
	for (int i = 0; i < 5; i++) {
		snprintf(corr, sizeof(corr), "H%d", i);
		dlv_get_health(d, NULL, corr, &h);
		assert_int_equal(h.queued, 1);
		assert_int_equal(h.attempts_failed + h.failed + h.delivered, 0);
	}

	/* the hung endpoint goes away: its two attempts fail ("connection
	 * closed"), and the parked correlators get their turn, two at a time */
	srv_teardown(&h_state);
	for (int i = 0; i < 5; i++) {
		snprintf(corr, sizeof(corr), "H%d", i);
		wait_idle(d, corr, 20000, &h);
		assert_int_equal(h.failed, 1);
		assert_int_equal(h.attempts_failed, 1);
	}
	assert_int_equal(metric_of(d, "pxtsgw_delivery_attempts_total{operation=\"statusChanged\",result=\"failed\"}"), 5);
	dlv_stop(d);
}

/* Counts the occurrences of needle in hay. */
static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* The circuit: 3 consecutive failures open it; while open no attempt; after
 * the open time (1 s) one probe: it fails, the circuit opens again; the
 * next probe is delivered and closes it, then the other correlator goes.
 * Exactly 6 attempts, each one a tracking record, none for the attempts
 * not made (with a 10 ms backoff, an endpoint without a circuit would get
 * some 200 in those 2 s). */
static void test_circuit(void **state)
{
	struct srv *s = *state;
	struct tmpstore t;
	struct dlv_config c = { .workers = 2, .max_attempts = 100, .backoff_ms = 10,
				.backoff_max_ms = 10, .timeout_ms = 5000,
				.max_in_flight_per_endpoint = 1, .circuit_failures = 3,
				.circuit_open_s = 1 };
	struct dlv *d = NULL;
	struct dlv_status e = { "sip:c@example.com", TS_BUSY };
	struct dlv_item it = { .op = DLV_STATUS_CHANGED, .entries = &e, .n = 1 };
	struct dlv_health h1, h2;
	char url[64], *json = NULL;
	long long t0;
	int attempted = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/TerminalStatusNotification", s->port);
	pthread_mutex_lock(&s->mu);
	s->fail_next = 4;   /* 3 to open the circuit, then the first probe */
	pthread_mutex_unlock(&s->mu);
	assert_int_equal(tmpstore_make(&t, true), 0);
	c.store = t.s;
	c.dest = loopback;
	assert_int_equal(dlv_start(&c, &d), 0);
	t0 = now_ms();
	it.endpoint = url;
	it.correlator = "C1";
	assert_true(dlv_enqueue(d, &it) > 0);
	it.correlator = "C2";
	assert_true(dlv_enqueue(d, &it) > 0);
	wait_metric(d, "pxtsgw_delivery_circuit_openings_total", 1);
	wait_metric(d, "pxtsgw_delivery_circuit_openings_total", 2);   /* the failed probe */
	wait_idle(d, "C1", 20000, &h1);
	wait_idle(d, "C2", 20000, &h2);
	assert_true(now_ms() - t0 >= 2000);   /* two open periods passed */
	assert_int_equal(h1.delivered + h2.delivered, 2);
	assert_int_equal(h1.failed + h2.failed, 0);
	assert_int_equal(h1.attempts_failed + h2.attempts_failed, 4);
	assert_int_equal(srv_requests(s), 6);
	assert_int_equal(metric_of(d, "pxtsgw_delivery_circuit_open"), 0);
	assert_int_equal(metric_of(d, "pxtsgw_delivery_circuit_openings_total"), 2);
	assert_int_equal(metric_of(d, "pxtsgw_delivery_attempts_total{operation=\"statusChanged\",result=\"failed\"}"), 4);
	assert_int_equal(metric_of(d, "pxtsgw_delivery_attempts_total{operation=\"statusChanged\",result=\"delivered\"}"), 2);
	dlv_flush(d);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(store_deliveries_json(t.s, NULL, i ? "C2" : "C1", false, &json, NULL), 0);
		attempted += count_of(json, "\"event\":\"statusChanged_DeliveryAttempted\"");
		assert_int_equal(count_of(json, "\"event\":\"statusChanged_DeliveryResult\""), 1);
		free(json);
	}
	assert_int_equal(attempted, 6);
	dlv_stop(d);
	tmpstore_remove(&t);
}

/* Callbacks behind an open circuit wait, and expire at their age
 * (max_age_s), without an attempt: the circuit (open for 60 s) is still
 * open and was never probed when they are finished. */
static void test_circuit_expiry(void **state)
{
	struct tmpstore t;
	struct dlv_config c = { .workers = 1, .max_attempts = 100, .backoff_ms = 10,
				.backoff_max_ms = 10, .timeout_ms = 1000, .max_age_s = 1,
				.circuit_failures = 1, .circuit_open_s = 60 };
	struct dlv *d = NULL;
	struct dlv_item it = { .op = DLV_STATUS_END };
	struct dlv_health hx, hy;
	char down[64], *json = NULL;
	int port, lfd = listen_any(&port);
	long long t0;

	(void)state;
	close(lfd);   /* refused */
	snprintf(down, sizeof(down), "http://127.0.0.1:%d/cb", port);
	assert_int_equal(tmpstore_make(&t, true), 0);
	c.store = t.s;
	c.dest = loopback;
	assert_int_equal(dlv_start(&c, &d), 0);
	t0 = now_ms();
	it.endpoint = down;
	it.correlator = "X";
	assert_true(dlv_enqueue(d, &it) > 0);
	wait_metric(d, "pxtsgw_delivery_circuit_open", 1);   /* after X's first attempt */
	it.correlator = "Y";
	assert_true(dlv_enqueue(d, &it) > 0);
	wait_idle(d, "X", 20000, &hx);
	wait_idle(d, "Y", 20000, &hy);
	assert_true(now_ms() - t0 >= 1000);
	assert_int_equal(hx.failed + hy.failed, 2);
	assert_int_equal(hx.attempts_failed, 1);
	assert_int_equal(hy.attempts_failed, 0);
	/* still open, never probed: they did not wait for it */
	assert_int_equal(metric_of(d, "pxtsgw_delivery_circuit_open"), 1);
	{   /* /status's view of the endpoint: kept for its open circuit */
		struct dlv_endpoint_view v[2];
		char key[64];
		size_t total = 9;

		assert_int_equal(dlv_endpoints(d, v, 2, &total), 1);
		assert_int_equal(total, 1);
		snprintf(key, sizeof(key), "127.0.0.1:%d", port);
		assert_string_equal(v[0].endpoint, key);
		assert_string_equal(v[0].circuit, "open");
		assert_int_equal(v[0].in_flight, 0);
		assert_int_equal(v[0].queued, 0);
		assert_int_equal(v[0].attempts_failed, 1);
		assert_int_equal(v[0].consecutive_failures, 1);
		assert_string_equal(v[0].last_error, "connection refused");
		assert_in_range(v[0].open_for_s, 50, 60);
		assert_int_equal(dlv_endpoints(d, v, 0, &total), 0);
		assert_int_equal(total, 1);
		assert_int_equal(dlv_endpoints(NULL, v, 2, &total), 0);
		assert_int_equal(total, 0);
	}
	assert_int_equal(metric_of(d, "pxtsgw_delivery_circuit_openings_total"), 1);
	assert_int_equal(metric_of(d, "pxtsgw_delivery_attempts_total{operation=\"statusEnd\",result=\"failed\"}"), 1);
	dlv_flush(d);
	assert_int_equal(store_outbox_count(t.s), 0);
	assert_int_equal(store_deliveries_json(t.s, NULL, "X", false, &json, NULL), 0);
	assert_int_equal(count_of(json, "_DeliveryAttempted\""), 1);
	assert_non_null(strstr(json, "\"event\":\"statusEnd_DeliveryResult\",\"correlator\":\"X\""));
	assert_non_null(strstr(json, "\"detail\":\"expired after 1 s\"}]"));
	free(json);
	assert_int_equal(store_deliveries_json(t.s, NULL, "Y", false, &json, NULL), 0);
	assert_int_equal(count_of(json, "_DeliveryAttempted\""), 0);   /* no fake attempt */
	assert_non_null(strstr(json, "\"event\":\"statusEnd_DeliveryResult\",\"correlator\":\"Y\""));
	assert_non_null(strstr(json, "\"attempt\":0,\"result\":\"failed\""));
	assert_non_null(strstr(json, "\"detail\":\"expired after 1 s\"}]"));
	free(json);
	dlv_stop(d);
	tmpstore_remove(&t);
}

/* --- svc_client on its own ------------------------------------------------------ */

static void test_svc_callback_checks(void **state)
{
	struct dlv_status ok1 = { "sip:a@example.com", TS_BUSY }, two[2] = { ok1, ok1 };
	struct dlv_status bad_status = { "sip:a@example.com", (ts_status)7 }, no_addr = { NULL, TS_BUSY };
	const char *vars[2] = { "x", NULL };
	struct svc_callback_data c;
	struct svc_callback *cb;

	(void)state;
	assert_null(svc_callback_new(NULL));
	c = (struct svc_callback_data){ .op = DLV_STATUS_NOTIFICATION, .correlator = "c", .entries = two, .n = 2 };
	cb = svc_callback_new(&c);
	assert_non_null(cb);
	svc_callback_free(cb);
	c.correlator = NULL;
	assert_null(svc_callback_new(&c));
	c.correlator = "c";
	c.n = 0;
	assert_null(svc_callback_new(&c));
	c.n = 1;
	c.entries = NULL;
	assert_null(svc_callback_new(&c));
	c.entries = &bad_status;
	assert_null(svc_callback_new(&c));
	c.entries = &no_addr;
	assert_null(svc_callback_new(&c));
	c.op = DLV_STATUS_CHANGED;
	c.entries = two;
	c.n = 2;
	assert_null(svc_callback_new(&c));
	c.op = (enum dlv_op)9;
	c.n = 1;
	assert_null(svc_callback_new(&c));

	c = (struct svc_callback_data){ .op = DLV_STATUS_ERROR, .correlator = "c", .message_id = "SVC0001",
					.text = "t %1", .variables = vars, .nvariables = 1 };
	cb = svc_callback_new(&c);
	assert_non_null(cb);
	svc_callback_free(cb);
	c.nvariables = 2;   /* a NULL variable */
	assert_null(svc_callback_new(&c));
	c.nvariables = 1;
	c.variables = NULL;
	assert_null(svc_callback_new(&c));
	c.variables = vars;
	c.text = NULL;
	assert_null(svc_callback_new(&c));
	c.text = "t";
	c.message_id = NULL;
	assert_null(svc_callback_new(&c));
	c = (struct svc_callback_data){ .op = DLV_STATUS_END, .correlator = "c" };
	cb = svc_callback_new(&c);
	assert_non_null(cb);
	svc_callback_free(cb);
	svc_callback_free(NULL);
	svc_client_free(NULL);
}

static void test_svc_detail_add(void **state)
{
	char d[8] = "";

	(void)state;
	svc_detail_add(d, sizeof(d), "a\nb\x7f");
	assert_string_equal(d, "a b ");
	svc_detail_add(d, sizeof(d), "cd\xc3\xbc");   /* 7 bytes fit: half a character is dropped */
	assert_string_equal(d, "a b cd");
	d[0] = '\0';
	svc_detail_add(d, sizeof(d), "abcde\xc3\xbc");
	assert_string_equal(d, "abcde\xc3\xbc");
	svc_detail_add(d, 3, "x");   /* already longer than cap: unchanged */
	assert_string_equal(d, "abcde\xc3\xbc");
}

/* The connections the endpoint accepted, once there are want (its thread
 * counts a connection after it started serving it), or after a second. */
static int conns(struct srv *s, int want)
{
	struct timespec nap = { 0, 2000000 };
	long long end = now_ms() + 1000;

	while (__atomic_load_n(&s->nconn, __ATOMIC_SEQ_CST) != want && now_ms() < end)
		nanosleep(&nap, NULL);
	return __atomic_load_n(&s->nconn, __ATOMIC_SEQ_CST);
}

/* The request line and Authorization of corr's first request to s, as
 * "<line>|<authorization>", or "" when s got none. */
static void first_request(struct srv *s, const char *corr, char *out, size_t cap)
{
	size_t n = strlen(corr);

	snprintf(out, cap, "%s", "");
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->nlog; i++)
		if (strncmp(s->log[i], corr, n) == 0 && s->log[i][n] == ' ') {
			snprintf(out, cap, "%s|%s", s->line[i], s->auth[i]);
			break;
		}
	pthread_mutex_unlock(&s->mu);
}

/* An '@' in a path or query, or in a password: gSOAP and the destination
 * check read the same host, port, path and credentials, and a kept-alive
 * connection is never reused for another destination. */
static void test_svc_client_at_signs(void **state)
{
	struct srv *a = *state, *b = NULL;
	void *bs = NULL;
	struct dlv_status e = { "sip:at@example.com", TS_BUSY };
	struct svc_callback_data d1 = { .op = DLV_STATUS_CHANGED, .correlator = "AT1", .entries = &e, .n = 1 };
	struct svc_callback_data d2 = d1, d3 = d1;
	struct svc_client *c = svc_client_new(2000, 1024 * 1024, loopback, 0, NULL);
	struct svc_callback *c1, *c2, *c3;
	char url[160], detail[256], got[300];

	d2.correlator = "AT2";
	d3.correlator = "AT3";
	c1 = svc_callback_new(&d1);
	c2 = svc_callback_new(&d2);
	c3 = svc_callback_new(&d3);
	assert_non_null(c);
	assert_int_equal(srv_setup(&bs), 0);
	b = bs;
	/* to A, then to B: both URLs would be host "shared", port 1 to gSOAP */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/a?x=@shared:1", a->port);
	assert_true(svc_client_send(c, url, c1, detail, sizeof(detail)));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/b?u=bob@shared:1", b->port);
	assert_true(svc_client_send(c, url, c2, detail, sizeof(detail)));
	first_request(a, "AT1", got, sizeof(got));
	assert_string_equal(got, "POST /a?x=%40shared:1 HTTP/1.1|");
	first_request(b, "AT2", got, sizeof(got));
	assert_string_equal(got, "POST /b?u=bob%40shared:1 HTTP/1.1|");
	first_request(a, "AT2", got, sizeof(got));
	assert_string_equal(got, "");                   /* B's callback never went to A */
	/* a password with an '@': the credentials as written, to the host after the last '@' */
	snprintf(url, sizeof(url), "http://u:p@ss@127.0.0.1:%d/c", a->port);
	assert_true(svc_client_send(c, url, c3, detail, sizeof(detail)));
	first_request(a, "AT3", got, sizeof(got));
	assert_string_equal(got, "POST /c HTTP/1.1|Basic dTpwQHNz");   /* u:p@ss */
	svc_callback_free(c1);
	svc_callback_free(c2);
	svc_callback_free(c3);
	svc_client_free(c);
	srv_teardown(&bs);
}

static void test_svc_client_send(void **state)
{
	struct srv *s = *state;
	struct dlv_status e[2] = { { "sip:k@example.com", TS_BUSY }, { "tel:+1555", TS_REACHABLE } };
	const char *vars[1] = { "lost" };
	struct svc_callback_data n = { .op = DLV_STATUS_NOTIFICATION, .correlator = "K", .entries = e, .n = 2 };
	struct svc_callback_data er = { .op = DLV_STATUS_ERROR, .correlator = "K", .message_id = "SVC0001",
					.text = "A service error occurred. Error code is %1", .variables = vars,
					.nvariables = 1 };
	struct svc_client *c = svc_client_new(2000, 1024 * 1024, loopback, 0, NULL);
	struct svc_callback *cn = svc_callback_new(&n), *ce = svc_callback_new(&er);
	char url[64], detail[512], got[8][160];
	int port, lfd;

	assert_non_null(c);
	assert_non_null(cn);
	assert_non_null(ce);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/TerminalStatusNotification", s->port);
	strcpy(detail, "x");
	assert_true(svc_client_send(c, url, cn, detail, sizeof(detail)));
	assert_string_equal(detail, "");
	assert_true(svc_client_send(c, url, ce, detail, sizeof(detail)));
	assert_int_equal(conns(s, 1), 1);   /* one connection, kept alive */

	/* a failure closes the connection: the next attempt opens another */
	pthread_mutex_lock(&s->mu);
	s->fail_next = 1;
	pthread_mutex_unlock(&s->mu);
	assert_false(svc_client_send(c, url, cn, detail, sizeof(detail)));
	assert_string_equal(detail, "HTTP 500");
	assert_true(svc_client_send(c, url, cn, detail, sizeof(detail)));
	assert_string_equal(detail, "");
	assert_int_equal(conns(s, 2), 2);
	assert_int_equal(requests_of(s, "K", got, 8), 3);
	assert_string_equal(got[0], "K statusNotification sip:k@example.com");
	assert_string_equal(got[1], "K statusError ");
	assert_string_equal(got[2], "K statusNotification sip:k@example.com");

	/* a callback is not tied to a client */
	lfd = listen_any(&port);
	close(lfd);   /* nobody listens there now */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/cb", port);
	assert_false(svc_client_send(c, url, ce, detail, sizeof(detail)));
	assert_string_equal(detail, "connection refused");

	svc_callback_free(cn);
	svc_callback_free(ce);
	svc_client_free(c);
}


/* Credentials in an endpoint: sent (HTTP Basic), kept in the outbox to be
 * sent after a restart, shown as *** in the tracking records (contract
 * section 11; /deliveries reads them). */
static void test_credentials_hidden(void **state)
{
	struct srv *s = *state;
	struct tmpstore t;
	struct dlv_config c = { .workers = 1, .max_attempts = 1, .backoff_ms = 10,
				.backoff_max_ms = 10, .timeout_ms = 1000 };
	struct dlv *d = NULL;
	struct dlv_status e = { "sip:cred@example.com", TS_BUSY };
	struct dlv_item it = { .op = DLV_STATUS_CHANGED, .correlator = "CRED", .entries = &e, .n = 1 };
	struct dlv_health h;
	char url[128], shown[128], down[128], *json = NULL;
	int port, lfd = listen_any(&port);

	close(lfd);   /* refused: its row stays in the outbox until stop */
	snprintf(url, sizeof(url), "http://app:s3cret@127.0.0.1:%d/cb", s->port);
	snprintf(shown, sizeof(shown), "\"endpoint\":\"http://***@127.0.0.1:%d/cb\"", s->port);
	snprintf(down, sizeof(down), "http://app:s3cret@127.0.0.1:%d/cb", port);
	assert_int_equal(tmpstore_make(&t, true), 0);
	c.store = t.s;
	c.dest = loopback;
	assert_int_equal(dlv_start(&c, &d), 0);
	it.endpoint = url;
	assert_true(dlv_enqueue(d, &it) > 0);
	wait_idle(d, "CRED", 5000, &h);
	assert_int_equal(h.delivered, 1);
	dlv_flush(d);
	assert_int_equal(store_deliveries_json(t.s, NULL, "CRED", false, &json, NULL), 0);
	assert_non_null(strstr(json, shown));
	assert_null(strstr(json, "s3cret"));
	free(json);
	pthread_mutex_lock(&s->mu);
	assert_string_equal(s->auth[s->nlog - 1], "Basic YXBwOnMzY3JldA==");   /* app:s3cret */
	pthread_mutex_unlock(&s->mu);

	c.max_attempts = 5;
	c.backoff_ms = c.backoff_max_ms = 60000;
	dlv_stop(d);
	assert_int_equal(dlv_start(&c, &d), 0);
	it.correlator = "CRED2";
	it.endpoint = down;
	assert_true(dlv_enqueue(d, &it) > 0);
	wait_failed_attempts(d, "CRED2", 1);
	dlv_stop(d);
	{
		sqlite3 *db;
		sqlite3_stmt *st;

		assert_int_equal(sqlite3_open(t.db, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT endpoint FROM outbox", -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), down);
		sqlite3_finalize(st);
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM deliveries WHERE endpoint "
						    "LIKE '%s3cret%'", -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 0);
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
	tmpstore_remove(&t);
}

/* A resolver for the names of these tests (no query leaves the process):
 * rebind.test answers what rebind_to says, every time it is asked. */
static const char *rebind_to[3];
static _Atomic int rebind_lookups;

static int test_lookup(const char *name, const struct addrinfo *hints, struct addrinfo **res)
{
	struct addrinfo h = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
			      .ai_flags = AI_NUMERICHOST };
	struct addrinfo *head = NULL, **tail = &head;

	if (strcmp(name, "rebind.test") != 0)
		return getaddrinfo(name, NULL, hints, res);    /* localhost: /etc/hosts */
	rebind_lookups++;
	for (int i = 0; rebind_to[i]; i++) {
		if (getaddrinfo(rebind_to[i], NULL, &h, tail) != 0)
			fail_msg("getaddrinfo(%s)", rebind_to[i]);
		while (*tail)
			tail = &(*tail)->ai_next;
	}
	*res = head;
	return head ? 0 : EAI_NONAME;
}

/* Contract section 11 at every connect: the address used is the one
 * checked; a refused address is never contacted. */
static void test_svc_client_destinations(void **state)
{
	struct srv *s = *state;
	struct dlv_status e = { "sip:d@example.com", TS_BUSY };
	struct svc_callback_data n = { .op = DLV_STATUS_NOTIFICATION, .correlator = "D", .entries = &e, .n = 1 };
	struct svc_callback *cb = svc_callback_new(&n);
	struct svc_client *c;
	struct dest *d = NULL;
	char url[128], detail[512], got[16][160], why[160];
	struct svc_tls *sys_cas;
	struct svc_client *no_tls;
	int before;

	assert_non_null(cb);
	dest_set_lookup(test_lookup);

	/* no allow list: loopback is refused in every form, nothing connects */
	c = svc_client_new(2000, 1024 * 1024, NULL, 0, NULL);
	assert_non_null(c);
	{
		static const char *const hosts[] = { "127.0.0.1", "0x7f000001", "2130706433", "127.1",
						     "localhost", "LOCALHOST", "[::ffff:127.0.0.1]" };

		for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
			snprintf(url, sizeof(url), "http://%s:%d/cb", hosts[i], s->port);
			assert_false(svc_client_send(c, url, cb, detail, sizeof(detail)));
			assert_string_equal(detail, "endpoint not allowed");
		}
	}
	assert_int_equal(conns(s, 0), 0);
	svc_client_free(c);

	/* a name that re-resolves to a refused address is not contacted */
	sys_cas = svc_tls_new(NULL, why, sizeof(why));
	assert_non_null(sys_cas);
	c = svc_client_new(2000, 1024 * 1024, loopback, 0, sys_cas);
	assert_non_null(c);
	snprintf(url, sizeof(url), "http://rebind.test:%d/cb", s->port);
	rebind_to[0] = "169.254.169.254";
	rebind_lookups = 0;
	assert_false(svc_client_send(c, url, cb, detail, sizeof(detail)));
	assert_string_equal(detail, "endpoint not allowed");
	assert_int_equal(rebind_lookups, 1);
	rebind_to[0] = "127.0.0.1";               /* an allowed address next to a refused one */
	rebind_to[1] = "10.0.0.1";
	assert_false(svc_client_send(c, url, cb, detail, sizeof(detail)));
	assert_string_equal(detail, "endpoint not allowed");
	assert_int_equal(conns(s, 0), 0);
	/* allowed: one lookup, and the connection goes to that address */
	rebind_to[1] = NULL;
	rebind_lookups = 0;
	assert_true(svc_client_send(c, url, cb, detail, sizeof(detail)));
	assert_int_equal(rebind_lookups, 1);
	assert_int_equal(conns(s, 1), 1);
	/* the kept-alive connection is reused: no new lookup, no new connect */
	rebind_to[0] = "169.254.169.254";
	assert_true(svc_client_send(c, url, cb, detail, sizeof(detail)));
	assert_int_equal(rebind_lookups, 1);
	/* a new connection is checked again */
	pthread_mutex_lock(&s->mu);
	s->fail_next = 1;                         /* a failure closes it */
	pthread_mutex_unlock(&s->mu);
	assert_false(svc_client_send(c, url, cb, detail, sizeof(detail)));
	assert_string_equal(detail, "HTTP 500");
	assert_false(svc_client_send(c, url, cb, detail, sizeof(detail)));
	assert_string_equal(detail, "endpoint not allowed");
	assert_int_equal(rebind_lookups, 2);
	assert_int_equal(conns(s, 1), 1);
	rebind_to[0] = NULL;                      /* does not resolve */
	assert_false(svc_client_send(c, url, cb, detail, sizeof(detail)));
	assert_true(strncmp(detail, "host not found: rebind.test: ", 29) == 0);
	rebind_to[0] = "127.0.0.1";

	/* credentials in the URL: HTTP Basic to that endpoint only */
	snprintf(url, sizeof(url), "http://al%%40ice:s%%3Acret@127.0.0.1:%d/cb", s->port);
	assert_true(svc_client_send(c, url, cb, detail, sizeof(detail)));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/cb", s->port);
	assert_true(svc_client_send(c, url, cb, detail, sizeof(detail)));
	pthread_mutex_lock(&s->mu);
	assert_true(s->nlog >= 3);
	assert_string_equal(s->auth[s->nlog - 2], "Basic YWxAaWNlOnM6Y3JldA==");  /* al@ice:s:cret */
	assert_string_equal(s->auth[s->nlog - 1], "");
	assert_string_equal(s->auth[s->nlog - 3], "");
	pthread_mutex_unlock(&s->mu);

	/* https to the same host and port as the kept-alive http connection:
	 * not reused, a new connection whose handshake fails (the server
	 * speaks plain HTTP and waits for a request until the attempt's 2 s
	 * are up), nothing sent in clear */
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/cb", s->port);
	before = __atomic_load_n(&s->nconn, __ATOMIC_SEQ_CST);
	assert_false(svc_client_send(c, url, cb, detail, sizeof(detail)));
	assert_string_equal(detail, "tls: handshake timeout");    /* it waits for headers */
	assert_int_equal(conns(s, before + 1), before + 1);
	/* without certificate authorities: no connection at all */
	no_tls = svc_client_new(2000, 1024 * 1024, loopback, 0, NULL);
	assert_non_null(no_tls);
	assert_false(svc_client_send(no_tls, url, cb, detail, sizeof(detail)));
	assert_string_equal(detail, "tls: no certificate authorities set up");
	assert_int_equal(conns(s, before + 1), before + 1);
	svc_client_free(no_tls);

	/* redirects are not followed */
	{
		int port, lfd = listen_any(&port);
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };

		pthread_mutex_lock(&s->mu);
		snprintf(s->redirect, sizeof(s->redirect), "http://127.0.0.1:%d/elsewhere", port);
		pthread_mutex_unlock(&s->mu);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/cb", s->port);
		assert_false(svc_client_send(c, url, cb, detail, sizeof(detail)));
		assert_string_equal(detail, "HTTP 302");
		assert_int_equal(poll(&pfd, 1, 100), 0);      /* nobody came */
		close(lfd);
		pthread_mutex_lock(&s->mu);
		s->redirect[0] = '\0';
		pthread_mutex_unlock(&s->mu);
	}
	svc_client_free(c);

	/* host and host:port entries */
	assert_int_equal(dest_new("localhost", &d, why, sizeof(why)), 0);
	c = svc_client_new(2000, 1024 * 1024, d, 0, NULL);
	snprintf(url, sizeof(url), "http://localhost:%d/cb", s->port);
	assert_true(svc_client_send(c, url, cb, detail, sizeof(detail)));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/cb", s->port);
	assert_false(svc_client_send(c, url, cb, detail, sizeof(detail)));
	assert_string_equal(detail, "endpoint not allowed");
	svc_client_free(c);
	dest_free(d);
	snprintf(why, sizeof(why), "127.0.0.1:%d", s->port + 1 > 65535 ? 1 : s->port + 1);
	assert_int_equal(dest_new(why, &d, why, sizeof(why)), 0);
	c = svc_client_new(2000, 1024 * 1024, d, 0, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/cb", s->port);
	assert_false(svc_client_send(c, url, cb, detail, sizeof(detail)));
	assert_string_equal(detail, "endpoint not allowed");
	svc_client_free(c);
	dest_free(d);

	svc_tls_free(sys_cas);

	/* what reached the endpoint: the first allowed send, the kept-alive
	 * one, the 500, with and without credentials, the redirect, localhost */
	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->nlog, 7);
	pthread_mutex_unlock(&s->mu);
	assert_int_equal(requests_of(s, "D", got, 16), 1);   /* all the same request */
	svc_callback_free(cb);
	dest_set_lookup(NULL);
	while (dest_lookups_running() > 0)
		usleep(1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_schedule),
		cmocka_unit_test(test_backoff_large_n),
		cmocka_unit_test(test_metrics_text),
		cmocka_unit_test(test_start_rejects),
		cmocka_unit_test(test_enqueue_checks),
		cmocka_unit_test(test_refused_retries),
		cmocka_unit_test_setup_teardown(test_order_and_retry, srv_setup, srv_teardown),
		cmocka_unit_test(test_payload_format),
		cmocka_unit_test(test_payload_invalid),
		cmocka_unit_test_setup_teardown(test_outbox_resume, srv_setup, srv_teardown),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test_setup_teardown(test_forget, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_per_application, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_endpoint_limit, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_circuit, srv_setup, srv_teardown),
		cmocka_unit_test(test_circuit_expiry),
		cmocka_unit_test(test_svc_callback_checks),
		cmocka_unit_test(test_svc_detail_add),
		cmocka_unit_test_setup_teardown(test_svc_client_send, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_svc_client_at_signs, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_svc_client_destinations, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_credentials_hidden, srv_setup, srv_teardown),
	};
	char why[160];
	int rc;

	log_set_level(getenv("DLV_DEBUG") ? LOG_DEBUG : LOG_ERROR);
	if (dest_new("127.0.0.0/8", &loopback, why, sizeof(why)) != 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	dest_free(loopback);
	return rc;
}
