/*
 * pub_load.c - presence changes at a fixed rate, for tests/bench/bench.sh
 * (row 3). A C program so that the generator is not what limits the rate
 * or the latency: pub_load.py, its Python predecessor, took about a fifth
 * of a core at 1,800 PUBLISHes a second on these 2-core machines and fell
 * up to 60 ms behind its schedule.
 *
 *   pub_load init HOST:PORT PREFIX COUNT STATEFILE
 *       one PUBLISH (Reachable: basic open, no activity) for each of the
 *       presentities sip:PREFIX-0@HOST .. sip:PREFIX-(COUNT-1)@HOST, at
 *       most 64 outstanding; writes each publication's ETag to STATEFILE,
 *       one line "ADDRESS ETAG STATUS" each.
 *       Prints "PUB_INIT published=N failed=N".
 *   pub_load run HOST:PORT STATEFILE RATE SECONDS LOGFILE
 *       modifies those publications (SIP-If-Match) at RATE changes a
 *       second for SECONDS, the presentities in turn, each change the
 *       other status of that presentity (Busy = open + rpid on-the-phone,
 *       Reachable = open): one non-blocking UDP socket, paced on the
 *       monotonic clock (what is due is sent at once, answers are read in
 *       between, at most 1 ms apart). A presentity whose previous PUBLISH
 *       is unanswered is skipped in its turn (counted). Requests are
 *       retransmitted as a SIP UAC does over UDP (after 0.5, 1, 2, 4 s);
 *       one unanswered for 8 s has failed. Appends one line per change
 *       that got a 2xx to LOGFILE: "SEND_TIME_NS ADDRESS STATUS"
 *       (CLOCK_REALTIME, taken just before the datagram went out), and
 *       rewrites STATEFILE.
 *       Prints one line: PUB_RESULT sent=N ok=N failed=N skipped=N
 *       seconds=F rate=F late_ms=F retrans=N codes=CODE:N,... (rate: 2xx
 *       per second of the schedule; late_ms: how far the sender fell
 *       behind its schedule at worst; codes: the failures by final status,
 *       or "timeout").
 * Exit 0 when every PUBLISH got a 2xx, 1 otherwise, 2 on bad usage.
 * Built by make (bench-bins), never by a script.
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ADDR_MAX 128
#define ETAG_MAX 128
#define DGRAM_MAX 4096
#define MAX_PRES 1000000
#define INIT_WINDOW 64
#define GIVE_UP_NS (8LL * 1000000000)
#define INIT_GIVE_UP_NS (5LL * 1000000000)

enum { REACHABLE, BUSY };
static const char *const status_name[2] = { "Reachable", "Busy" };

struct pres {
	char addr[ADDR_MAX];
	char etag[ETAG_MAX];
	int status;             /* published now */
	bool pending;           /* a PUBLISH unanswered */
	int want;               /* its status */
	unsigned long n;        /* its number (in the Call-ID) */
	int64_t sent_ns;        /* CLOCK_REALTIME when sent */
	int64_t first_mono, next_mono, interval;   /* retransmissions */
	char dgram[DGRAM_MAX];
	size_t dlen;
};

static int sock;
static struct sockaddr_in server;
static char host[64];
static int lport;
static struct pres *pres;
static long npres;
static unsigned long seq;
static long retrans, codes[700], timeouts;

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The PIDF of tests/tools/sip_publish.py's build_pidf(addr, "open",
 * activities, "rpid", "t1", None). */
static int pidf(char *buf, size_t cap, const char *addr, int status)
{
	if (status == BUSY)
		return snprintf(buf, cap,
				"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
				"xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" "
				"xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" entity=\"%s\">\n"
				"  <tuple id=\"t1\">\n"
				"    <status><basic>open</basic></status>\n"
				"  </tuple>\n"
				"  <dm:person id=\"p-t1\">\n"
				"    <rpid:activities><rpid:on-the-phone/></rpid:activities>\n"
				"  </dm:person>\n"
				"</presence>\n", addr);
	return snprintf(buf, cap,
			"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"%s\">\n"
			"  <tuple id=\"t1\">\n"
			"    <status><basic>open</basic></status>\n"
			"  </tuple>\n"
			"</presence>\n", addr);
}

/* Sends presentity i's PUBLISH of status want (with its ETag when etag). */
static int publish(long i, int want, bool etag)
{
	struct pres *p = &pres[i];
	char body[1024];
	int blen = pidf(body, sizeof(body), p->addr, want), k;
	int64_t now;

	p->n = ++seq;
	k = snprintf(p->dgram, sizeof(p->dgram),
		     "PUBLISH %s SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bKpl%d-%lu;rport\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: <%s>;tag=pl%lu\r\n"
		     "To: <%s>\r\n"
		     "Call-ID: pl%d-%d-%lu-%ld\r\n"
		     "CSeq: 1 PUBLISH\r\n"
		     "Event: presence\r\n"
		     "Expires: 3600\r\n"
		     "%s%s%s"
		     "Content-Type: application/pidf+xml\r\n"
		     "Content-Length: %d\r\n\r\n%s",
		     p->addr, host, lport, lport, p->n, p->addr, p->n, p->addr, (int)getpid(), lport, p->n, i,
		     etag ? "SIP-If-Match: " : "", etag ? p->etag : "", etag ? "\r\n" : "", blen, body);
	if (blen < 0 || (size_t)blen >= sizeof(body) || k < 0 || (size_t)k >= sizeof(p->dgram))
		return -1;
	p->dlen = (size_t)k;
	p->want = want;
	p->pending = true;
	p->sent_ns = real_ns();
	if (sendto(sock, p->dgram, p->dlen, 0, (struct sockaddr *)&server, sizeof(server)) < 0 &&
	    errno != EAGAIN && errno != EWOULDBLOCK)
		return -1;
	now = mono_ns();
	p->first_mono = now;
	p->interval = 500000000;
	p->next_mono = now + p->interval;
	return 0;
}

/* RFC 3261 timer E over UDP: again after 0.5, 1, 2, 4 s; gives up after
 * limit (counted as a timeout, on_fail called). */
static void retransmit(int64_t limit, void (*on_fail)(long i))
{
	int64_t now = mono_ns();

	for (long i = 0; i < npres; i++) {
		struct pres *p = &pres[i];

		if (!p->pending)
			continue;
		if (now - p->first_mono >= limit) {
			p->pending = false;
			timeouts++;
			on_fail(i);
			continue;
		}
		if (p->next_mono <= now) {
			sendto(sock, p->dgram, p->dlen, 0, (struct sockaddr *)&server, sizeof(server));
			retrans++;
			p->interval = p->interval * 2 > 4000000000LL ? 4000000000LL : p->interval * 2;
			p->next_mono = now + p->interval;
		}
	}
}

/* The value of header name (or its compact form) in the head of msg, into
 * out (cap); false when absent. */
static bool header(const char *msg, const char *name, const char *compact, char *out, size_t cap)
{
	const char *line = strstr(msg, "\r\n");

	while (line && line[2] != '\r' && line[2] != '\0') {
		const char *s = line + 2, *colon = strchr(s, ':'), *end = strstr(s, "\r\n");
		size_t nlen;

		if (!colon || !end)
			return false;
		nlen = (size_t)(colon - s);
		while (nlen > 0 && (s[nlen - 1] == ' ' || s[nlen - 1] == '\t'))
			nlen--;
		if ((nlen == strlen(name) && strncasecmp(s, name, nlen) == 0) ||
		    (compact && nlen == strlen(compact) && strncasecmp(s, compact, nlen) == 0)) {
			const char *v = colon + 1;
			size_t len;

			while (*v == ' ' || *v == '\t')
				v++;
			len = (size_t)(end - v);
			while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
				len--;
			if (len >= cap)
				return false;
			memcpy(out, v, len);
			out[len] = '\0';
			return true;
		}
		line = end;
	}
	return false;
}

typedef void (answer_h)(long i, int code, const char *etag);

/* Reads the answers that came (waiting up to timeout_ms for the first). */
static void read_answers(int64_t timeout_ns, answer_h *on_answer)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	struct timespec ts = { (time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000) };
	char buf[DGRAM_MAX + 1], cid[128], etag[ETAG_MAX];

	if (ppoll(&pfd, 1, &ts, NULL) <= 0)
		return;
	for (;;) {
		ssize_t k = recv(sock, buf, DGRAM_MAX, 0);
		unsigned long n;
		long i;
		int code, pid, port;

		if (k < 0)
			return;
		buf[k] = '\0';
		if (sscanf(buf, "SIP/2.0 %d", &code) != 1 || code < 200)
			continue;
		if (!header(buf, "Call-ID", "i", cid, sizeof(cid)) ||
		    sscanf(cid, "pl%d-%d-%lu-%ld", &pid, &port, &n, &i) != 4 || i < 0 || i >= npres)
			continue;
		if (!pres[i].pending || pres[i].n != n)
			continue;   /* answered twice (a retransmission), or an old one */
		pres[i].pending = false;
		if (!header(buf, "SIP-ETag", NULL, etag, sizeof(etag)))
			etag[0] = '\0';
		on_answer(i, code, etag);
	}
}

static int open_socket(const char *hostport)
{
	struct sockaddr_in local = { .sin_family = AF_INET };
	socklen_t len = sizeof(local);
	const char *colon = strrchr(hostport, ':');
	int rcv = 4 << 20;

	if (!colon || (size_t)(colon - hostport) >= sizeof(host))
		return -1;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	server.sin_family = AF_INET;
	server.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &server.sin_addr) != 1 || server.sin_port == 0)
		return -1;
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (sock < 0)
		return -1;
	setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	local.sin_addr = server.sin_addr;
	if (bind(sock, (struct sockaddr *)&local, sizeof(local)) != 0 ||
	    getsockname(sock, (struct sockaddr *)&local, &len) != 0)
		return -1;
	lport = ntohs(local.sin_port);
	return 0;
}

/* --- init ----------------------------------------------------------------------- */

static long init_ok, init_failed;

static void init_answer(long i, int code, const char *etag)
{
	if (code >= 200 && code < 300 && etag[0]) {
		snprintf(pres[i].etag, sizeof(pres[i].etag), "%s", etag);
		pres[i].status = REACHABLE;
		init_ok++;
	} else {
		pres[i].etag[0] = '\0';
		init_failed++;
	}
}

static void init_fail(long i)
{
	pres[i].etag[0] = '\0';
	init_failed++;
}

static int do_init(const char *prefix, long count, const char *statefile)
{
	long next = 0, outstanding;
	FILE *f;

	npres = count;
	for (long i = 0; i < count; i++)
		snprintf(pres[i].addr, sizeof(pres[i].addr), "sip:%s-%ld@%s", prefix, i, host);
	for (;;) {
		outstanding = 0;
		for (long i = 0; i < next; i++)
			outstanding += pres[i].pending;
		while (next < count && outstanding < INIT_WINDOW) {
			if (publish(next, REACHABLE, false) != 0) {
				init_failed++;
				pres[next].pending = false;
			}
			next++;
			outstanding++;
		}
		if (next == count && outstanding == 0)
			break;
		retransmit(INIT_GIVE_UP_NS, init_fail);
		read_answers(20000000, init_answer);
	}
	if (!(f = fopen(statefile, "w")))
		return perror(statefile), 1;
	for (long i = 0; i < count; i++)
		if (pres[i].etag[0])
			fprintf(f, "%s %s %s\n", pres[i].addr, pres[i].etag, status_name[pres[i].status]);
	if (fclose(f) != 0)
		return perror(statefile), 1;
	printf("PUB_INIT published=%ld failed=%ld\n", init_ok, init_failed);
	return init_failed == 0 && init_ok == count ? 0 : 1;
}

/* --- run ------------------------------------------------------------------------ */

static FILE *log_file;
static long run_ok, run_failed;

static void run_answer(long i, int code, const char *etag)
{
	struct pres *p = &pres[i];

	if (code >= 200 && code < 300 && etag[0]) {
		snprintf(p->etag, sizeof(p->etag), "%s", etag);
		p->status = p->want;
		fprintf(log_file, "%lld %s %s\n", (long long)p->sent_ns, p->addr, status_name[p->want]);
		run_ok++;
	} else {
		run_failed++;
		codes[code < 700 ? code : 699]++;
	}
}

static void run_fail(long i)
{
	(void)i;
	run_failed++;
}

static int load_state(const char *statefile)
{
	FILE *f = fopen(statefile, "r");
	char a[ADDR_MAX], e[ETAG_MAX], st[16];
	long lines = 0;
	int c;

	if (!f)
		return perror(statefile), -1;
	while ((c = getc(f)) != EOF)
		lines += c == '\n';
	if (lines <= 0 || lines > MAX_PRES || !(pres = calloc((size_t)lines, sizeof(*pres)))) {
		fclose(f);
		return -1;
	}
	rewind(f);
	npres = 0;
	while (npres < lines && fscanf(f, "%127s %127s %15s", a, e, st) == 3) {
		snprintf(pres[npres].addr, ADDR_MAX, "%s", a);
		snprintf(pres[npres].etag, ETAG_MAX, "%s", e);
		pres[npres].status = strcmp(st, "Busy") == 0 ? BUSY : REACHABLE;
		npres++;
	}
	fclose(f);
	return npres > 0 ? 0 : -1;
}

static int do_run(const char *statefile, double rate, double seconds, const char *logfile)
{
	long total = (long)(rate * seconds), sent = 0, skipped = 0, k = 0, pending;
	int64_t t0, drain_end, end_ns, next_scan = 0;
	double late = 0, took;
	FILE *f;
	bool first_code = true;

	if (load_state(statefile) != 0) {
		fprintf(stderr, "pub_load: no presentities in %s\n", statefile);
		return 1;
	}
	if (!(log_file = fopen(logfile, "a")))
		return perror(logfile), 1;
	t0 = mono_ns();
	while (sent + skipped < total) {
		int64_t now = mono_ns(), next_t, wait_ns;
		long due = (long)((double)(now - t0) / 1e9 * rate);

		if (due > total)
			due = total;
		if (due > sent + skipped) {
			double behind = ((double)(now - t0) / 1e9 - (double)(sent + skipped) / rate) * 1000;

			if (behind > late)
				late = behind;
		}
		while (sent + skipped < due) {
			long i = k++ % npres;

			if (pres[i].pending) {
				skipped++;
				continue;
			}
			if (publish(i, pres[i].status == REACHABLE ? BUSY : REACHABLE, true) != 0) {
				pres[i].pending = false;
				run_failed++;
			}
			sent++;
		}
		/* a scan of every presentity: every 10 ms is enough */
		if (now >= next_scan) {
			retransmit(GIVE_UP_NS, run_fail);
			next_scan = now + 10000000;
		}
		next_t = t0 + (int64_t)((double)(sent + skipped + 1) / rate * 1e9);
		wait_ns = next_t - mono_ns();
		read_answers(wait_ns < 0 ? 0 : wait_ns > 1000000 ? 1000000 : wait_ns, run_answer);
	}
	end_ns = mono_ns();
	took = (double)(end_ns - t0) / 1e9;
	drain_end = end_ns + 8LL * 1000000000;
	do {
		pending = 0;
		for (long i = 0; i < npres; i++)
			pending += pres[i].pending;
		if (!pending)
			break;
		retransmit(GIVE_UP_NS, run_fail);
		read_answers(20000000, run_answer);
	} while (mono_ns() < drain_end);
	for (long i = 0; i < npres; i++)
		if (pres[i].pending) {
			run_failed++;
			timeouts++;
		}
	fclose(log_file);
	if (!(f = fopen(statefile, "w")))
		return perror(statefile), 1;
	for (long i = 0; i < npres; i++)
		fprintf(f, "%s %s %s\n", pres[i].addr, pres[i].etag, status_name[pres[i].status]);
	fclose(f);
	printf("PUB_RESULT sent=%ld ok=%ld failed=%ld skipped=%ld seconds=%.3f rate=%.1f late_ms=%.1f "
	       "retrans=%ld codes=", sent, run_ok, run_failed, skipped, took, took > 0 ? run_ok / took : 0,
	       late, retrans);
	for (int c = 0; c < 700; c++)
		if (codes[c]) {
			printf("%s%d:%ld", first_code ? "" : ",", c, codes[c]);
			first_code = false;
		}
	if (timeouts) {
		printf("%stimeout:%ld", first_code ? "" : ",", timeouts);
		first_code = false;
	}
	printf("%s\n", first_code ? "-" : "");
	return run_failed == 0 && run_ok == sent ? 0 : 1;
}

int main(int argc, char **argv)
{
	bool init = argc == 6 && strcmp(argv[1], "init") == 0;
	bool run = argc == 7 && strcmp(argv[1], "run") == 0;
	long count = init ? atol(argv[4]) : 0;
	double rate = run ? atof(argv[4]) : 0, seconds = run ? atof(argv[5]) : 0;

	if ((!init && !run) || (init && (count <= 0 || count > MAX_PRES)) || (run && (rate <= 0 || seconds <= 0))) {
		fprintf(stderr, "usage: pub_load init HOST:PORT PREFIX COUNT STATEFILE\n"
				"       pub_load run HOST:PORT STATEFILE RATE SECONDS LOGFILE\n");
		return 2;
	}
	if (open_socket(argv[2]) != 0) {
		fprintf(stderr, "pub_load: cannot use %s\n", argv[2]);
		return 2;
	}
	if (init && !(pres = calloc((size_t)count, sizeof(*pres)))) {
		fprintf(stderr, "pub_load: out of memory\n");
		return 1;
	}
	return init ? do_init(argv[3], count, argv[5]) : do_run(argv[3], rate, seconds, argv[6]);
}
