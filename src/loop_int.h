/*
 * loop_int.h - the su_root a loop runs, for the SIP stack that runs on it
 * (watch*.c). Not for other modules: they use loop.h.
 */
#ifndef PXTSGW_LOOP_INT_H
#define PXTSGW_LOOP_INT_H

#include "loop.h"

#include <sofia-sip/su_wait.h>

/* The loop's su_root (the nta agent runs on it). Loop thread. */
su_root_t *loop_root(struct loop *l);

#endif
