/*
 * cb_sink.c - a fast callback endpoint for tests/bench/bench.sh: HTTP/1.1
 * with keep-alive (libmicrohttpd, epoll, a pool of 2 threads), answers every
 * POST at once with 200 and a statusNotificationResponse envelope, and
 * records for each callback its arrival time (CLOCK_REALTIME, ns), the
 * first <address> and <currentStatus> of the body. tests/tools/
 * callback_sink.py (Python, a thread per connection, XML parsing) is too
 * slow for thousands of callbacks a second; this one costs a few
 * microseconds per callback.
 *
 *   cb_sink PORT OUTFILE
 * Prints "ready" once listening. GET /count answers the number of callbacks
 * recorded so far (text). GET /dump writes them to OUTFILE (replacing it),
 * one line per callback, "TIME_NS ADDRESS STATUS", in arrival order,
 * forgets them and answers how many it wrote. SIGTERM or SIGINT: a last
 * dump, then exit.
 * Built by make (bench-bins), never by a script.
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BODY_MAX (256 * 1024)
#define ADDR_MAX 96

struct rec {
	int64_t t_ns;
	char addr[ADDR_MAX];
	char status[16];
};

struct upload {
	int64_t t_ns; /* when the request's headers were in */
	char *buf;
	size_t len, cap;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct rec *recs;
static size_t nrecs, caprecs;

static const char response[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	"<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
	"xmlns:loc=\"http://www.csapi.org/schema/parlayx/terminal_status/notification/v2_3/local\">"
	"<soapenv:Body><loc:statusNotificationResponse/></soapenv:Body></soapenv:Envelope>";

static const char *outfile;

/* Writes the records to outfile and forgets them. Returns how many, -1 on
 * an error. */
static long dump(void)
{
	FILE *f;
	long n;

	pthread_mutex_lock(&lock);
	f = fopen(outfile, "w");
	if (!f) {
		pthread_mutex_unlock(&lock);
		return -1;
	}
	for (size_t i = 0; i < nrecs; i++)
		fprintf(f, "%lld %s %s\n", (long long)recs[i].t_ns, recs[i].addr, recs[i].status);
	n = (long)nrecs;
	nrecs = 0;
	pthread_mutex_unlock(&lock);
	return fclose(f) == 0 ? n : -1;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The text of the first element whose local name is name (prefix or not). */
static void element_text(const char *body, const char *name, char *out, size_t cap)
{
	const char *p = body;
	size_t n = strlen(name);

	out[0] = '-';
	out[1] = '\0';
	while ((p = strstr(p, name)) != NULL) {
		if (p > body && (p[-1] == '<' || p[-1] == ':') && p[n] == '>') {
			const char *s = p + n + 1, *e = strchr(s, '<');
			size_t len;

			if (!e)
				return;
			len = (size_t)(e - s);
			if (len >= cap)
				len = cap - 1;
			memcpy(out, s, len);
			out[len] = '\0';
			for (size_t i = 0; i < len; i++)
				if (out[i] == ' ' || out[i] == '\n' || out[i] == '\t')
					out[i] = '_';
			return;
		}
		p += n;
	}
}

static void record(struct upload *u)
{
	struct rec r;

	r.t_ns = u->t_ns;
	u->buf[u->len] = '\0';
	element_text(u->buf, "address", r.addr, sizeof(r.addr));
	element_text(u->buf, "currentStatus", r.status, sizeof(r.status));
	pthread_mutex_lock(&lock);
	if (nrecs == caprecs) {
		size_t cap = caprecs ? caprecs * 2 : 65536;
		struct rec *n = realloc(recs, cap * sizeof(*n));

		if (!n) {
			pthread_mutex_unlock(&lock);
			return;
		}
		recs = n;
		caprecs = cap;
	}
	recs[nrecs++] = r;
	pthread_mutex_unlock(&lock);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body, size_t len,
			     const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *data, size_t *size, void **con_cls)
{
	struct upload *u = *con_cls;

	(void)cls;
	(void)version;
	if (strcmp(method, "GET") == 0) {
		char text[32];
		size_t n;

		if (strcmp(url, "/dump") == 0) {
			long k = dump();

			snprintf(text, sizeof(text), "%ld\n", k);
			return reply(c, k < 0 ? 500 : 200, text, strlen(text), "text/plain");
		}
		pthread_mutex_lock(&lock);
		n = nrecs;
		pthread_mutex_unlock(&lock);
		if (strcmp(url, "/count") != 0)
			return reply(c, 404, "", 0, "text/plain");
		snprintf(text, sizeof(text), "%zu\n", n);
		return reply(c, 200, text, strlen(text), "text/plain");
	}
	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return MHD_NO;
		u->t_ns = now_ns();
		*con_cls = u;
		return MHD_YES;
	}
	if (*size) {
		if (u->len + *size + 1 > u->cap) {
			size_t cap = u->cap ? u->cap : 4096;
			char *b;

			while (cap < u->len + *size + 1)
				cap *= 2;
			if (cap > BODY_MAX)
				return MHD_NO;
			b = realloc(u->buf, cap);
			if (!b)
				return MHD_NO;
			u->buf = b;
			u->cap = cap;
		}
		memcpy(u->buf + u->len, data, *size);
		u->len += *size;
		*size = 0;
		return MHD_YES;
	}
	if (u->buf)
		record(u);
	return reply(c, 200, response, sizeof(response) - 1, "text/xml; charset=utf-8");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
	struct upload *u = *con_cls;

	(void)cls;
	(void)c;
	(void)t;
	if (u) {
		free(u->buf);
		free(u);
		*con_cls = NULL;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct MHD_Daemon *d;
	sigset_t set;
	int sig, port;

	if (argc != 3 || (port = atoi(argv[1])) <= 0 || port > 65535) {
		fprintf(stderr, "usage: cb_sink PORT OUTFILE\n");
		return 2;
	}
	outfile = argv[2];
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(0x7f000001);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL,
			     on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			     MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_CONNECTION_LIMIT, 1000u,
			     MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
			     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "cb_sink: cannot listen on 127.0.0.1:%d\n", port);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	return dump() < 0 ? 1 : 0;
}
