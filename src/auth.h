/*
 * auth.h - the users file (auth.users-file, contract section 11), password
 * checks with crypt(3), and the tracker of failed attempts per client
 * address.
 *
 * Users file: one user a line, "name:hash" or "name:hash:role"; '#' starts
 * a comment at the start of a line (after optional blanks); blank lines are
 * ignored; a line may end in CRLF. name is 1..AUTH_NAME_MAX-1 characters of
 * A-Z a-z 0-9 . _ - @; hash is a complete crypt(3) string this libcrypt
 * supports ($y$ yescrypt, $6$ SHA-512, $2b$ bcrypt, e.g. made by
 * "openssl passwd -6" or "mkpasswd"); role is app (the default) or admin.
 * A malformed line stops the load with a message naming the file and the
 * line ("users:3: ...").
 *
 * Thread safety: the users are read-only once loaded, so auth_check runs in
 * any number of threads at once; the failure tracker has one mutex, held
 * for a table lookup only (never during crypt).
 *
 * Clock: every function that needs the time takes now_ms, milliseconds of
 * a monotonic clock of the caller's choice (the same one on every call).
 */
#ifndef PXTSGW_AUTH_H
#define PXTSGW_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_NAME_MAX 128         /* a user name is shorter than this */
#define AUTH_LINE_MAX 1024        /* bytes of one line, newline excluded */
#define AUTH_MAX_USERS 10000
#define AUTH_PASSWORD_MAX 511     /* bytes; crypt(3) takes no more, longer ones fail */

#define AUTH_FAIL_LIMIT 5         /* failures from one address ... */
#define AUTH_FAIL_WINDOW_MS 60000 /* ... within this long ... */
#define AUTH_FAIL_DELAY_MS 1000   /* ... delay its further failures this long */
#define AUTH_TRACK_MAX 1024       /* client addresses tracked; oldest evicted */
#define AUTH_ADDR_MAX 64          /* an address key is cut to this minus 1 */
#define AUTH_CACHE_SLOTS 1024     /* verified credentials remembered ... */
#define AUTH_CACHE_TTL_MS 300000  /* ... this long at most */

enum auth_role { AUTH_ROLE_APP = 0, AUTH_ROLE_ADMIN = 1 };

struct auth;

/* Loads a users file. Returns 0 with *out set, or -1 with a message in err
 * that names the file and, for a bad line, its number. Checking a hash
 * costs one crypt(3) call per user, so a load takes as long as that many
 * logins. A file with no user loads (nobody can log in). */
int auth_load(const char *path, struct auth **out, char *err, size_t cap);
void auth_free(struct auth *a);          /* NULL is fine */
size_t auth_count(const struct auth *a); /* users loaded; 0 for NULL */

/* "app" or "admin". */
const char *auth_role_name(enum auth_role role);

/* Checks user and password. Returns 0 with *role set when they are valid,
 * -1 otherwise (unknown user, wrong password, out of memory). An unknown
 * user is checked against a dummy hash of the type of the file's first
 * user, so it takes as long as a known one of that type. Does not touch
 * the failure tracker. */
int auth_check(struct auth *a, const char *user, const char *password, enum auth_role *role);

/* Records a failed attempt from client address addr (IPv4 or IPv6 text;
 * any string is taken as a key). */
void auth_note_failure(struct auth *a, const char *addr, int64_t now_ms);

/* How long, in milliseconds, a failing request from addr should be held
 * before it is answered: AUTH_FAIL_DELAY_MS once AUTH_FAIL_LIMIT failures
 * were noted from addr within the last AUTH_FAIL_WINDOW_MS, else 0. For
 * failing requests only: a request with valid credentials is never
 * delayed (contract section 11). */
unsigned auth_delay_ms(struct auth *a, const char *addr, int64_t now_ms);

/* One request's credentials, with the tracker: auth_check, then on failure
 * the delay for this request (from the failures before it, as
 * auth_delay_ms says) and the failure noted, in one step. Returns 0 with
 * *role set and *delay_ms 0, or -1 with *delay_ms set.
 *
 * Successes are remembered for AUTH_CACHE_TTL_MS in AUTH_CACHE_SLOTS
 * slots, by an HMAC-SHA256 of user and password under a random key of
 * this auth (never the password itself): the same credentials again cost
 * no crypt(3) (about 1 ms for $6$, far more for yescrypt). A failure is
 * never remembered. A new users file (auth_load) starts empty. */
int auth_attempt(struct auth *a, const char *addr, const char *user, const char *password,
		 int64_t now_ms, enum auth_role *role, unsigned *delay_ms);

/* Attempts that were answered from the remembered successes. */
unsigned long auth_cache_hits(struct auth *a);

/* Whether host (as split from http.listen, IPv6 with or without brackets)
 * is a loopback address: 127.0.0.0/8 (numeric forms such as 127.1
 * included), ::1, ::ffff:127.x.x.x, or localhost. Anything else, names and
 * wildcard addresses included, is not. */
bool auth_listen_is_loopback(const char *host);

#endif
