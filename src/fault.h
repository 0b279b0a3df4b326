/*
 * fault.h - Parlay X service and policy exceptions (contract section 6).
 *
 * The table of message ids and text templates, and a small value type that
 * carries one fault with its variables from the core to the SOAP edge.
 */
#ifndef PXTSGW_FAULT_H
#define PXTSGW_FAULT_H

#include <stdbool.h>
#include <stddef.h>

enum fault_id {
	FAULT_NONE = 0,
	SVC0001, SVC0002, SVC0003, SVC0004, SVC0005, SVC0006,
	POL0001, POL0002, POL0003, POL0004, POL0005, POL0006, POL0007,
	POL0009,
	FAULT_COUNT
};

#define FAULT_MAX_VARS 3
#define FAULT_VAR_MAX 600

struct fault {
	enum fault_id id;
	int nvars;
	char vars[FAULT_MAX_VARS][FAULT_VAR_MAX];
};

/* "SVC0002" etc.; NULL for FAULT_NONE. */
const char *fault_msgid(enum fault_id id);
/* The text template with %1, %2 placeholders, as in the contract. */
const char *fault_template(enum fault_id id);
/* true for POLxxxx (PolicyException), false for SVCxxxx. */
bool fault_is_policy(enum fault_id id);
/* true when the faultcode is Client (SVC0002-SVC0006), false for Server. */
bool fault_is_client(enum fault_id id);
/* Looks a message id up ("SVC0004" -> SVC0004); FAULT_NONE if unknown. */
enum fault_id fault_from_msgid(const char *msgid);

/* Sets *f to id with up to FAULT_MAX_VARS variables (NULL-terminated list). */
void fault_set(struct fault *f, enum fault_id id, ...);
/* Writes the text with the variables filled in; always NUL-terminates.
 * Returns the length it wanted (like snprintf). */
size_t fault_format(const struct fault *f, char *buf, size_t cap);

#endif
