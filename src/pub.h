/*
 * pub.h - one object published for reading by many threads, replaceable
 * while they read it (SIGHUP reload: the users file, the policies, the
 * callback destinations).
 *
 * A reader takes the current object with pub_get and gives it back with
 * pub_put when it is done with it (one request, one callback attempt).
 * pub_set publishes a new object; the old one is dropped (its drop
 * function) once it is no longer current and its last reader gave it
 * back: never under a reader, and never later than needed, so retired
 * objects do not pile up.
 *
 * The objects are immutable once published (or guard what changes in
 * them themselves, like auth's failure tracker). The pointer and the
 * reader counts are guarded by one mutex, held for a pointer read and an
 * increment: a leaf lock, taken with no other lock of ours held inside it.
 * The drop function runs outside it, on the thread that gave the last
 * reference back (a request's HTTP thread, a delivery worker, or
 * pub_set's caller).
 */
#ifndef PXTSGW_PUB_H
#define PXTSGW_PUB_H

typedef void (pub_drop_h)(void *obj);

struct pub;
struct pub_ref;

/* A publication of obj (may be NULL) whose objects are dropped with drop
 * (NULL: never dropped). NULL when memory is short (obj is not taken). */
struct pub *pub_new(void *obj, pub_drop_h *drop);

/* Drops the current object. No reader may be left. NULL is fine. */
void pub_free(struct pub *p);

/* The current object, held until pub_put(*ref). */
void *pub_get(struct pub *p, struct pub_ref **ref);

/* Gives a pub_get back. NULL is fine. */
void pub_put(struct pub_ref *ref);

/* Publishes obj; the previous object is dropped once its readers are done.
 * Returns 0, or -1 when memory is short (obj is not taken, nothing
 * changes). */
int pub_set(struct pub *p, void *obj);

#endif
