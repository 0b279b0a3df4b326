/*
 * hash.h - the one string hash of the project's tables (FNV-1a, 64 bits):
 * users, groups, rate buckets, delivery queues, subscriptions and
 * notifications all hash their keys with it.
 */
#ifndef PXTSGW_HASH_H
#define PXTSGW_HASH_H

#include <stdint.h>

#define HASH_INIT 1469598103934665603ULL   /* FNV-1a's offset basis */

/* Continues hash h over the NUL-terminated s: hash_add(HASH_INIT, s) is
 * the hash of s; a table that wants a seed starts from HASH_INIT ^ seed. */
static inline uint64_t hash_add(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

#endif
