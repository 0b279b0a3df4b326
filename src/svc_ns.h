/*
 * svc_ns.h - the namespace tables of the SOAP glue's gSOAP contexts (svc.c
 * for requests, svc_client.c for callbacks).
 *
 * gSOAP declares every namespace of its table on the Envelope of each
 * message it writes. The generated code knows the WS-Security ones too
 * (wsse.h, with signature, encryption, SAML and secure conversation):
 * none of our messages needs those, and only a request's Header needs wsse
 * and wsu (a UsernameToken). The tables here leave them out.
 */
#ifndef PXTSGW_SVC_NS_H
#define PXTSGW_SVC_NS_H

#include <stdbool.h>

struct Namespace;

/* A malloc'd copy of the generated namespaces[] without the unused
 * WS-Security namespaces; with wsse, wsse and wsu are kept (to read a
 * request's UsernameToken). Without soap12, SOAP-ENV and SOAP-ENC lose
 * their SOAP 1.2 wildcards (a SOAP 1.2 envelope is then a version
 * mismatch). NULL when out of memory; free() it after the context that
 * uses it. */
struct Namespace *svc_ns_table(bool wsse, bool soap12);

#endif
