/*
 * tlsfile.h - the PEM files of TLS (contract section 11): the HTTPS
 * listener's certificate and key (http.tls-cert, http.tls-key) and the
 * certificate authorities trusted for https callbacks (delivery.ca-file).
 *
 * Everything is read once at start, whole, with a size cap, and checked
 * with OpenSSL, so a bad file stops start-up (and pxtsgw -t) with a message
 * naming it, instead of failing later in libmicrohttpd or at the first
 * callback. Nothing here logs.
 */
#ifndef PXTSGW_TLSFILE_H
#define PXTSGW_TLSFILE_H

#include <stddef.h>

#include <openssl/x509_vfy.h>

#define TLSFILE_PAIR_MAX (1024 * 1024)       /* http.tls-cert, http.tls-key */
#define TLSFILE_CA_MAX (16 * 1024 * 1024)    /* delivery.ca-file */

/* Reads the file path whole into a malloc'd NUL-terminated buffer (*out,
 * the caller frees it; *len without the NUL). Returns 0, or -1 with err
 * naming the file: "PATH: cannot read: <errno text>", "PATH: not a
 * regular file", "PATH: larger than MAX bytes", "PATH: NUL byte in the
 * file", "PATH: empty". */
int tlsfile_read(const char *path, size_t max, char **out, size_t *len, char *err, size_t cap);

/* The HTTPS listener's PEM texts, NUL-terminated as libmicrohttpd takes
 * them. tlsfile_pair_clear wipes the key and frees both (a zeroed pair and
 * NULL are fine). */
struct tlsfile_pair {
	char *cert;
	char *key;
};

/* Reads cert_path and key_path (tlsfile_read, TLSFILE_PAIR_MAX) and checks
 * them: the certificate file holds one certificate at least (the first is
 * the server's), the key file an unencrypted private key, and the key
 * belongs to that certificate. Returns 0 with *out filled, or -1 with err
 * naming the key and the file ("'http.tls-key': PATH: no private key: ...",
 * "'http.tls-key': PATH: does not match the certificate of PATH"). */
int tlsfile_load_pair(const char *cert_path, const char *key_path, struct tlsfile_pair *out,
		      char *err, size_t cap);
void tlsfile_pair_clear(struct tlsfile_pair *p);

/* The certificates of the PEM file path (TLSFILE_CA_MAX; "" or NULL: the
 * system's, OpenSSL's default paths) as a new X509_STORE (the caller frees
 * it with X509_STORE_free). NULL with err when the file cannot be read,
 * holds no certificate or a broken one. *ncerts (may be NULL): how many
 * the file held (0 for the system's: they are looked up lazily). */
X509_STORE *tlsfile_load_cas(const char *path, size_t *ncerts, char *err, size_t cap);

#endif
