/*
 * pgsetup.h - the PostgreSQL driver's prepare(): the catalogue, rewritten when
 * sim_meta says the database holds another one (or none), then users and their
 * wallets, in bulk (a thousand rows a statement; one statement in flight when
 * the server is on this machine, a few when round trips are to be hidden).
 * Everything it writes is idempotent, so a prepare interrupted halfway is
 * simply run again.
 */
#ifndef SIM_PGSETUP_H
#define SIM_PGSETUP_H

#include "sim/pgjob.h"
#include "sim/store.h"

/*
 * cb runs from the loop.  su is copied; the catalogue and personas it points
 * to must stay valid until cb has run.  local: the server shares this
 * machine's CPUs (pgconn_host_local).
 */
void
pgsetup_run(struct pgjobs *r, const struct store_setup *su, int local, store_done_cb cb, void *arg);
/* User chunks in flight at most: one when local, PG_PREP_PARALLEL otherwise. */
unsigned pgsetup_parallel(int local);

#endif
