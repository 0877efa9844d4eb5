/*
 * pgkeys.h - the PostgreSQL side of store_keyed(): a run's rows counted, or
 * one batch of them deleted by a single statement, run as a pool job.
 */
#ifndef SIM_PGKEYS_H
#define SIM_PGKEYS_H

#include "sim/pgjob.h"
#include "sim/store.h"

/* Starts j on the runner; j->cb runs from the loop.  NOMEM is answered at once. */
void pgkeys_start(struct pgjobs *r, struct store_keyjob *j);

#endif
