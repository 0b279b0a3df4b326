/*
 * sn_load.c - starts many notifications fast, for tests/bench/bench.sh:
 * CONC threads, each with one keep-alive HTTP/1.1 connection, POST
 * startNotification requests until COUNT have been sent in all. Request i
 * (FIRST <= i < FIRST + COUNT) has the correlator PREFIX-i and the one
 * address sip:PREFIX-i@127.0.0.1 (one presentity per notification), the
 * callback endpoint ENDPOINT, checkImmediate false, no criteria (every
 * change), no count, no frequency. An answer is right when it is HTTP 200
 * with a startNotificationResponse. A C client, so that the client is not
 * what limits the rate (zeep manages ~300 calls/s, Python threads ~1,000).
 *
 *   sn_load HOST PORT PREFIX FIRST COUNT CONC ENDPOINT [MAX_SECONDS]
 * With MAX_SECONDS, no request is sent after that long (stopped=1 then:
 * requests < COUNT); the bench stays bounded when the gateway slows down.
 * Prints one line:
 *   SN_RESULT requests=N ok=N failed=N seconds=F rate=F p50_us=N p99_us=N max_us=N stopped=0|1 first_error=TEXT
 * (rate: requests answered per second).
 * Exit 0 when every answer was right, 1 otherwise, 2 on bad usage.
 * Built by make (bench-bins), never by a script.
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *host, *prefix, *endpoint;
static int port;
static long first, count;
static atomic_long next_i;
static atomic_long n_ok, n_failed, n_sent;
static int64_t deadline_us;
static atomic_int stopped;
static int64_t *lat_us;
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
static char first_error[200];

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void set_error(const char *what)
{
	pthread_mutex_lock(&err_lock);
	if (!first_error[0]) {
		snprintf(first_error, sizeof(first_error), "%s", what);
		for (char *p = first_error; *p; p++)
			if (*p == ' ' || *p == '\r' || *p == '\n')
				*p = '_';
	}
	pthread_mutex_unlock(&err_lock);
}

static int connect_to(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	inet_pton(AF_INET, host, &sa.sin_addr);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Reads one response into buf (headers and body). Returns the HTTP status,
 * -1 on a read error; *body points at the body. */
static int read_response(int fd, char *buf, size_t cap, char **body)
{
	size_t len = 0, need = 0;
	char *hend = NULL;

	for (;;) {
		ssize_t k;

		if (hend && len >= need)
			break;
		if (len + 1 >= cap)
			return -1;
		k = recv(fd, buf + len, cap - 1 - len, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		len += (size_t)k;
		buf[len] = '\0';
		if (!hend && (hend = strstr(buf, "\r\n\r\n")) != NULL) {
			char *cl = strcasestr(buf, "\r\nContent-Length:");

			if (!cl || cl > hend)
				return -1;
			need = (size_t)(hend + 4 - buf) + strtoul(cl + 17, NULL, 10);
		}
	}
	*body = hend + 4;
	if (strncmp(buf, "HTTP/1.", 7) != 0)
		return -1;
	return atoi(buf + 9);
}

static void *worker(void *arg)
{
	char body[2048], req[4096], *resp = malloc(65536), *rbody;
	int fd = -1;

	(void)arg;
	if (!resp)
		return NULL;
	for (;;) {
		long i = atomic_fetch_add(&next_i, 1);
		int blen, rlen, st;
		int64_t t0;

		if (i >= count)
			break;
		if (deadline_us && now_us() > deadline_us) {
			atomic_store(&stopped, 1);
			break;
		}
		atomic_fetch_add(&n_sent, 1);
		i += first;
		blen = snprintf(body, sizeof(body),
			"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
			"<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
			"xmlns:loc=\"http://www.csapi.org/schema/parlayx/terminal_status/notification_manager/v2_3/local\">"
			"<soapenv:Body><loc:startNotification>"
			"<loc:reference><endpoint>%s</endpoint><interfaceName>TerminalStatusNotification</interfaceName>"
			"<correlator>%s-%ld</correlator></loc:reference>"
			"<loc:addresses>sip:%s-%ld@127.0.0.1</loc:addresses>"
			"<loc:checkImmediate>false</loc:checkImmediate>"
			"</loc:startNotification></soapenv:Body></soapenv:Envelope>",
			endpoint, prefix, i, prefix, i);
		rlen = snprintf(req, sizeof(req),
			"POST /TerminalStatusNotificationManager HTTP/1.1\r\nHost: %s:%d\r\n"
			"Content-Type: text/xml; charset=utf-8\r\nSOAPAction: \"\"\r\nContent-Length: %d\r\n\r\n%s",
			host, port, blen, body);
		if (fd < 0 && (fd = connect_to()) < 0) {
			set_error("connect failed");
			atomic_fetch_add(&n_failed, 1);
			continue;
		}
		t0 = now_us();
		if (send_all(fd, req, (size_t)rlen) != 0 ||
		    (st = read_response(fd, resp, 65536, &rbody)) < 0) {
			set_error("connection lost");
			atomic_fetch_add(&n_failed, 1);
			close(fd);
			fd = -1;
			continue;
		}
		lat_us[i - first] = now_us() - t0;
		if (st == 200 && strstr(rbody, "startNotificationResponse")) {
			atomic_fetch_add(&n_ok, 1);
		} else {
			char what[160];

			const char *fs = strstr(rbody, "faultstring>");

			snprintf(what, sizeof(what), "HTTP %d %.120s", st, fs ? fs + 12 : rbody);
			set_error(what);
			atomic_fetch_add(&n_failed, 1);
		}
		if (strcasestr(resp, "\r\nConnection: close")) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	free(resp);
	return NULL;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	pthread_t *t;
	int conc;
	int64_t t0, t1;
	long n = 0;

	if (argc != 8 && argc != 9) {
		fprintf(stderr, "usage: sn_load HOST PORT PREFIX FIRST COUNT CONC ENDPOINT [MAX_SECONDS]\n");
		return 2;
	}
	host = argv[1];
	port = atoi(argv[2]);
	prefix = argv[3];
	first = atol(argv[4]);
	count = atol(argv[5]);
	conc = atoi(argv[6]);
	endpoint = argv[7];
	if (port <= 0 || count <= 0 || conc <= 0 || strlen(endpoint) > 500 || strlen(prefix) > 40) {
		fprintf(stderr, "sn_load: bad arguments\n");
		return 2;
	}
	lat_us = calloc((size_t)count, sizeof(*lat_us));
	t = calloc((size_t)conc, sizeof(*t));
	if (!lat_us || !t)
		return 1;
	t0 = now_us();
	if (argc == 9 && atol(argv[8]) > 0)
		deadline_us = t0 + atol(argv[8]) * 1000000LL;
	for (int i = 0; i < conc; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < conc; i++)
		pthread_join(t[i], NULL);
	t1 = now_us();
	for (long i = 0; i < count; i++)
		if (lat_us[i] > 0)
			lat_us[n++] = lat_us[i];
	qsort(lat_us, (size_t)n, sizeof(*lat_us), cmp64);
	printf("SN_RESULT requests=%ld ok=%ld failed=%ld seconds=%.3f rate=%.1f p50_us=%lld p99_us=%lld "
	       "max_us=%lld stopped=%d first_error=%s\n",
	       (long)n_sent, (long)n_ok, (long)n_failed, (double)(t1 - t0) / 1e6,
	       (double)n_sent / ((double)(t1 - t0) / 1e6),
	       (long long)(n ? lat_us[(n - 1) / 2] : 0), (long long)(n ? lat_us[(n * 99 - 1) / 100] : 0),
	       (long long)(n ? lat_us[n - 1] : 0), (int)stopped, first_error[0] ? first_error : "-");
	return n_failed ? 1 : 0;
}
