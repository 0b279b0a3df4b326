/*
 * fuzz_cfg.c - libFuzzer target for the configuration reader (src/cfg.c).
 *
 * Input: the bytes of a configuration file, read as bin/pxtsgw -c reads
 * one: cfg_defaults, cfg_load_file on a path (a memfd, named through
 * /proc/self/fd), then cfg_finish and the busy list parsed as main.c does.
 * Each line is also given to cfg_set_option, as -o KEY=VALUE would be.
 *
 * Checked besides memory safety: a refusal writes a message within its
 * buffer; every string key stays NUL-terminated whatever happens; a
 * configuration cfg_finish accepts has listen addresses that split, a
 * watcher URI and a tel domain, integers within their documented bounds
 * (spot checks) and a busy list that pstat_rules_parse accepts (main.c
 * stops otherwise).
 *
 * fuzz-max-len: 8192
 *
 * Part of pxtsgw. License: GPL-2.0-or-later.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cfg.h"
#include "pstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_cfg: check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

static int fd = -1;
static char path[64];

/* Every string field of struct cfg, to see that it stays terminated. */
#define STRS(X) X(http_listen) X(sip_listen) X(sip_transport) X(sip_presence_server) \
	X(sip_watcher_uri) X(sip_tel_domain) X(status_busy_activities) X(group_file) \
	X(notify_style) X(store_path) X(log_level)

static void check_terminated(const struct cfg *c)
{
#define T(f) CHECK(memchr(c->f, '\0', sizeof(c->f)) != NULL);
	STRS(T)
#undef T
}

/* err holds a message: terminated within cap, not empty */
static void check_err(const char *err, size_t cap)
{
	CHECK(memchr(err, '\0', cap) != NULL);
	CHECK(err[0] != '\0');
}

static void check_finished(struct cfg *c)
{
	char host[CFG_STR_MAX];
	unsigned port;
	struct pstat_rules r;

	CHECK(cfg_split_hostport(c->http_listen, host, sizeof(host), &port) == 0 && port >= 1);
	CHECK(cfg_split_hostport(c->sip_listen, host, sizeof(host), &port) == 0);
	CHECK(strncasecmp(c->sip_watcher_uri, "sip:", 4) == 0 && strchr(c->sip_watcher_uri, '@'));
	CHECK(c->sip_tel_domain[0] != '\0');
	CHECK(pstat_rules_parse(&r, c->status_busy_activities) == 0);
	CHECK(c->http_threads >= 1 && c->http_threads <= 64);
	CHECK(c->delivery_max_attempts >= 1 && c->delivery_max_attempts <= 100);
	CHECK(c->policy_default_notification_duration_s <= c->policy_max_notification_duration_s);
	CHECK(c->delivery_backoff_ms <= c->delivery_backoff_max_ms);
	CHECK(strcmp(c->sip_transport, "udp") == 0 || strcmp(c->sip_transport, "tcp") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg *c = malloc(sizeof(*c));
	char err[1024];
	char *line;
	size_t off = 0;

	CHECK(c);
	if (fd < 0) {
		fd = memfd_create("fuzz_cfg", MFD_CLOEXEC);
		CHECK(fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);

	cfg_defaults(c);
	memset(err, 0, sizeof(err));
	if (cfg_load_file(c, path, err, sizeof(err)) != 0) {
		check_err(err, sizeof(err));
		check_terminated(c);
	} else {
		check_terminated(c);
		memset(err, 0, sizeof(err));
		if (cfg_finish(c, err, sizeof(err)) == 0)
			check_finished(c);
		else
			check_err(err, sizeof(err));
		check_terminated(c);
	}

	/* -o KEY=VALUE, one line at a time on the defaults */
	line = malloc(size + 1);
	CHECK(line);
	cfg_defaults(c);
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t n = nl ? (size_t)(nl - (data + off)) : size - off;

		memcpy(line, data + off, n);
		line[n] = '\0';
		memset(err, 0, sizeof(err));
		if (cfg_set_option(c, line, err, sizeof(err)) != 0)
			check_err(err, sizeof(err));
		check_terminated(c);
		off += n + 1;
	}
	memset(err, 0, sizeof(err));
	if (cfg_finish(c, err, sizeof(err)) == 0)
		check_finished(c);
	free(line);
	free(c);
	return 0;
}
