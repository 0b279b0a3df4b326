/*
 * echo_server.c - the SOAP-path ceiling for tests/bench/bench.sh: a
 * libmicrohttpd server configured like pxtsgw's front (epoll, internal
 * thread pool of THREADS threads, 127.0.0.1) that parses every POSTed body
 * with gSOAP through the project's generated code (gen/soapC.c,
 * gen/soapServer.c: the same serializers, the same soap_serve_request
 * dispatch as src/svc.c) and answers getStatus with Busy, from no state at
 * all: no SIP, no store, no lookups. A watched getStatus answered from
 * state cannot be faster than this.
 *
 * What it leaves out of pxtsgw's path: authentication, the lenient
 * namespace handling and the UTF-8 repair of svc.c, metrics, address
 * checks. What it keeps: HTTP parsing, the body upload, one struct soap per
 * thread, the full gSOAP parse of the envelope, serialising the response.
 *
 *   echo_server PORT [THREADS]      (THREADS: 2, as http.threads)
 * Prints "ready" on stdout once listening; stops on SIGTERM/SIGINT.
 * Built by make (bench-bins), never by a script.
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "soapH.h"
#include "TerminalStatusBinding.nsmap"

#define BODY_MAX (1024 * 1024)

struct upload {
	char *buf;
	size_t len, cap;
};

static pthread_key_t soap_key;

static struct soap *thread_soap(void)
{
	struct soap *soap = pthread_getspecific(soap_key);

	if (soap)
		return soap;
	soap = soap_new1(SOAP_ENC_PLAIN | SOAP_C_UTFSTRING);
	if (!soap)
		return NULL;
	soap_set_namespaces(soap, namespaces);
	pthread_setspecific(soap_key, soap);
	return soap;
}

static void soap_release(void *p)
{
	struct soap *soap = p;

	soap_destroy(soap);
	soap_end(soap);
	soap_free(soap);
}

/* --- the operations (getStatus answers Busy; the others answer empty) --- */

int __tss__getStatus(struct soap *soap, struct tsl__getStatus *in, struct tsl__getStatusResponse *out)
{
	(void)soap;
	if (!in->address)
		return SOAP_FAULT;
	out->result = ts__Status__Busy;
	return SOAP_OK;
}

int __tss__getStatusForGroup(struct soap *soap, struct tsl__getStatusForGroup *in,
			     struct tsl__getStatusForGroupResponse *out)
{
	(void)soap;
	(void)in;
	(void)out;
	return SOAP_OK;
}

int __tsnms__startNotification(struct soap *soap, struct tsnml__startNotification *in,
			       struct tsnml__startNotificationResponse *out)
{
	(void)soap;
	(void)in;
	(void)out;
	return SOAP_OK;
}

int __tsnms__endNotification(struct soap *soap, struct tsnml__endNotification *in,
			     struct tsnml__endNotificationResponse *out)
{
	(void)soap;
	(void)in;
	(void)out;
	return SOAP_OK;
}

int __tsns__statusNotification(struct soap *soap, struct tsnl__statusNotification *in,
			       struct tsnl__statusNotificationResponse *out)
{
	(void)soap;
	(void)in;
	(void)out;
	return SOAP_OK;
}

int __tsns__statusError(struct soap *soap, struct tsnl__statusError *in, struct tsnl__statusErrorResponse *out)
{
	(void)soap;
	(void)in;
	(void)out;
	return SOAP_OK;
}

int __tsns__statusEnd(struct soap *soap, struct tsnl__statusEnd *in, struct tsnl__statusEndResponse *out)
{
	(void)soap;
	(void)in;
	(void)out;
	return SOAP_OK;
}

int __tsns__statusChanged(struct soap *soap, struct tsnl__statusChanged *in,
			  struct tsnl__statusChangedResponse *out)
{
	(void)soap;
	(void)in;
	(void)out;
	return SOAP_OK;
}

/* --- HTTP ---------------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/xml; charset=utf-8");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result serve(struct MHD_Connection *c, struct upload *u)
{
	struct soap *soap = thread_soap();
	const char *res = NULL;
	enum MHD_Result rc;
	int err;

	if (!soap)
		return reply(c, 500, "", 0);
	u->buf[u->len] = '\0';
	soap->is = u->buf;
	soap->os = &res;
	soap_begin_serve(soap);
	err = soap->error ? soap->error : soap_serve_request(soap);
	if (err && err < SOAP_STOP)
		soap_send_fault(soap);
	rc = res ? reply(c, err ? 500 : 200, res, strlen(res)) : reply(c, 500, "", 0);
	soap->is = NULL;
	soap->os = NULL;
	soap_destroy(soap);
	soap_end(soap);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *data, size_t *size, void **con_cls)
{
	struct upload *u = *con_cls;

	(void)cls;
	(void)url;
	(void)version;
	if (strcmp(method, "POST") != 0)
		return reply(c, 405, "", 0);
	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return MHD_NO;
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
	if (!u->buf)
		return reply(c, 400, "", 0);
	return serve(c, u);
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
	int sig, port, threads;

	if (argc < 2 || (port = atoi(argv[1])) <= 0 || port > 65535) {
		fprintf(stderr, "usage: echo_server PORT [THREADS]\n");
		return 2;
	}
	threads = argc > 2 ? atoi(argv[2]) : 2;
	if (threads < 1)
		threads = 1;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(0x7f000001);
	pthread_key_create(&soap_key, soap_release);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL,
			     on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_CONNECTION_LIMIT, 1000u,
			     MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
			     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "echo_server: cannot listen on 127.0.0.1:%d\n", port);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	return 0;
}
