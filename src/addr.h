/*
 * addr.h - Parlay X addresses to SIP request URIs (contract section 7):
 * sip: and sips: URIs go as they are; tel:+N becomes
 * sip:+N@<tel-domain>;user=phone; anything else is refused (SVC0002).
 */
#ifndef PXTSGW_ADDR_H
#define PXTSGW_ADDR_H

#include <stddef.h>

/* Maps addr to the SIP URI to SUBSCRIBE to. Returns 0 and writes a
 * NUL-terminated URI to out, or -1 (invalid address, or out too small). */
int addr_to_sip(const char *addr, const char *tel_domain, char *out, size_t cap);

#endif
