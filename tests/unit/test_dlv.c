/*
 * test_dlv.c - callback delivery: the backoff schedule, the metrics text,
 * input checks, and a few real deliveries to an in-process HTTP endpoint
 * (order per correlator, retries, failure details, stop).
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

#include "dlv.h"
#include "log.h"

/* The generated client side, compiled into this test: the "gen" module
 * would also bring soapServer.c, which needs the whole SOAP service (svc
 * and everything behind it). namespaces[] comes from the nsmap. */
#include "TerminalStatusBinding.nsmap"
#include "soapC.c"
#include "soapClient.c"

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

#define SRV_MAX_CONN 16
#define SRV_MAX_LOG 256

struct srv {
	int lfd, port;
	pthread_t thread;
	pthread_t conn[SRV_MAX_CONN];
	int nconn;
	pthread_mutex_t mu;
	char log[SRV_MAX_LOG][160];    /* "correlator operation first-address" per request */
	int nlog;
	int fail_next;                 /* answer 500 to this many requests */
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
		if (s->nlog < SRV_MAX_LOG)
			snprintf(s->log[s->nlog++], sizeof(s->log[0]), "%s %s %s", corr, op, addr);
		if (s->fail_next > 0) {
			s->fail_next--;
			status = 500;
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
		s->nconn++;
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

static void wait_idle(struct dlv *d, const char *corr, long timeout_ms, struct dlv_health *h)
{
	long long end = now_ms() + timeout_ms;
	struct timespec nap = { 0, 2000000 };

	for (;;) {
		dlv_get_health(d, corr, h);
		if (h->queued == 0)
			return;
		if (now_ms() > end)
			fail_msg("%s: still %lu queued after %ld ms", corr, h->queued, timeout_ms);
		nanosleep(&nap, NULL);
	}
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
				.backoff_max_ms = 100, .timeout_ms = 200 };
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
		dlv_get_health(d, "c", &h);
		assert_int_equal(h.queued, 2);
		dlv_get_health(d, "unknown", &h);
		assert_int_equal(h.queued + h.delivered + h.failed + h.attempts_failed, 0);
		assert_string_equal(h.last_error, "");
	}
	/* stop with one in flight (no answer: it ends at the 200 ms timeout)
	 * and one queued (dropped) */
	{
		struct timespec nap = { 0, 50 * 1000000 };
		long long t;

		nanosleep(&nap, NULL);
		dlv_get_health(d, "c", &h);
		assert_int_equal(h.queued, 2);
		t = now_ms();
		dlv_stop(d);
		t = now_ms() - t;
		assert_true(t >= 50);
		assert_true(t < 1000);
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
	};

	log_set_level(getenv("DLV_DEBUG") ? LOG_DEBUG : LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
