/*
 * tlsfile.c - reading and checking the PEM files of TLS (contract section
 * 11) with OpenSSL, once, at start.
 *
 * What it does: reads a file whole under a cap (an over-large or
 * non-regular file is refused before it is read), parses its PEM blocks
 * from memory, and says in one line what is wrong. What it does not: the
 * TLS itself (libmicrohttpd serves HTTPS with GnuTLS from the texts read
 * here; svc_client does the https callbacks with the store made here).
 *
 * An encrypted private key is refused: a password callback that gives no
 * password keeps OpenSSL from prompting on the terminal.
 */
#include "tlsfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "textfile.h"

int tlsfile_read(const char *path, size_t max, char **out, size_t *len, char *err, size_t cap)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd;

	if (!path || !*path) {
		text_error(err, cap, "no file named");
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		text_error(err, cap, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		text_error(err, cap, "%s: not a regular file", path);
		goto fail;
	}
	if ((unsigned long long)st.st_size > max) {
		text_error(err, cap, "%s: larger than %zu bytes", path, max);
		goto fail;
	}
	/* one byte more than the cap: a file that grew meanwhile is seen */
	buf = malloc(max + 1);
	if (!buf) {
		text_error(err, cap, "%s: out of memory", path);
		goto fail;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, max + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			text_error(err, cap, "%s: cannot read: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			text_error(err, cap, "%s: larger than %zu bytes", path, max);
			goto fail;
		}
	}
	close(fd);
	fd = -1;
	if (n == 0) {
		text_error(err, cap, "%s: empty", path);
		goto fail;
	}
	if (memchr(buf, '\0', n)) {
		text_error(err, cap, "%s: NUL byte in the file", path);
		goto fail;
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (buf)
		OPENSSL_cleanse(buf, max + 1);   /* it may hold a private key */
	free(buf);
	return -1;
}

/* OpenSSL's reason for the last error, or what_else. */
static const char *ssl_reason(const char *what_else)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : what_else;
}

/* Whether the last error is only "no more PEM blocks". */
static bool pem_ended(void)
{
	unsigned long e = ERR_peek_last_error();

	return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* Calls add(cert, arg) for every certificate of the PEM text. Returns the
 * number of certificates, or -1 with err (prefix, then what is wrong). */
static int each_cert(const char *pem, size_t len, const char *prefix,
		     int (*add)(X509 *x, void *arg), void *arg, char *err, size_t cap)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	int n = 0;

	if (!bio) {
		text_error(err, cap, "%s: out of memory", prefix);
		return -1;
	}
	ERR_clear_error();
	for (;;) {
		X509 *x = PEM_read_bio_X509(bio, NULL, no_password, NULL);

		if (!x) {
			if (n > 0 && pem_ended())
				break;
			if (n == 0 && pem_ended())
				text_error(err, cap, "%s: no certificate (no PEM block "
					   "\"BEGIN CERTIFICATE\")", prefix);
			else
				text_error(err, cap, "%s: certificate %d: %s", prefix, n + 1,
					   ssl_reason("cannot be read"));
			n = -1;
			break;
		}
		n++;
		if (add && add(x, arg) != 0) {
			text_error(err, cap, "%s: certificate %d: %s", prefix, n,
				   ssl_reason("cannot be used"));
			X509_free(x);
			n = -1;
			break;
		}
		X509_free(x);
	}
	BIO_free(bio);
	ERR_clear_error();
	return n;
}

static int keep_first(X509 *x, void *arg)
{
	X509 **first = arg;

	if (!*first && X509_up_ref(x) == 1)
		*first = x;
	return 0;
}

int tlsfile_load_pair(const char *cert_path, const char *key_path, struct tlsfile_pair *out,
		      char *err, size_t cap)
{
	struct tlsfile_pair p = { NULL, NULL };
	char e[600], prefix[600];
	size_t clen = 0, klen = 0;
	X509 *leaf = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	int rc = -1;

	if (tlsfile_read(cert_path, TLSFILE_PAIR_MAX, &p.cert, &clen, e, sizeof(e)) != 0) {
		text_error(err, cap, "'http.tls-cert': %s", e);
		goto out;
	}
	if (tlsfile_read(key_path, TLSFILE_PAIR_MAX, &p.key, &klen, e, sizeof(e)) != 0) {
		text_error(err, cap, "'http.tls-key': %s", e);
		goto out;
	}
	snprintf(prefix, sizeof(prefix), "'http.tls-cert': %s", cert_path);
	if (each_cert(p.cert, clen, prefix, keep_first, &leaf, err, cap) < 0)
		goto out;
	bio = BIO_new_mem_buf(p.key, (int)klen);
	ERR_clear_error();
	if (bio)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
	if (!pkey) {
		if (!strstr(p.key, "PRIVATE KEY-----"))
			text_error(err, cap, "'http.tls-key': %s: no private key (no PEM block "
				   "\"PRIVATE KEY\")", key_path);
		else if (strstr(p.key, "ENCRYPTED"))
			text_error(err, cap, "'http.tls-key': %s: the key is encrypted: give it "
				   "unencrypted (and readable by root only)", key_path);
		else
			text_error(err, cap, "'http.tls-key': %s: the private key cannot be read: %s",
				   key_path, ssl_reason("unknown error"));
		goto out;
	}
	if (!leaf || X509_check_private_key(leaf, pkey) != 1) {
		text_error(err, cap, "'http.tls-key': %s: does not match the certificate of %s",
			   key_path, cert_path);
		goto out;
	}
	*out = p;
	p.cert = p.key = NULL;
	rc = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	X509_free(leaf);
	tlsfile_pair_clear(&p);
	return rc;
}

void tlsfile_pair_clear(struct tlsfile_pair *p)
{
	if (!p)
		return;
	if (p->key)
		OPENSSL_cleanse(p->key, strlen(p->key));
	free(p->key);
	free(p->cert);
	p->key = p->cert = NULL;
}

static int add_to_store(X509 *x, void *arg)
{
	return X509_STORE_add_cert(arg, x) == 1 ? 0 : -1;
}

X509_STORE *tlsfile_load_cas(const char *path, size_t *ncerts, char *err, size_t cap)
{
	X509_STORE *st = X509_STORE_new();
	char *pem = NULL;
	size_t len = 0;
	int n;

	if (ncerts)
		*ncerts = 0;
	if (!st) {
		text_error(err, cap, "out of memory");
		return NULL;
	}
	if (!path || !*path) {
		/* the system's: the default file now, the hashed directory
		 * when a certificate is looked up */
		if (X509_STORE_set_default_paths(st) != 1) {
			text_error(err, cap, "cannot use OpenSSL's default CA paths: %s",
				   ssl_reason("unknown error"));
			ERR_clear_error();
			X509_STORE_free(st);
			return NULL;
		}
		ERR_clear_error();
		return st;
	}
	if (tlsfile_read(path, TLSFILE_CA_MAX, &pem, &len, err, cap) != 0) {
		X509_STORE_free(st);
		return NULL;
	}
	n = each_cert(pem, len, path, add_to_store, st, err, cap);
	free(pem);
	if (n < 0) {
		X509_STORE_free(st);
		return NULL;
	}
	if (ncerts)
		*ncerts = (size_t)n;
	return st;
}
