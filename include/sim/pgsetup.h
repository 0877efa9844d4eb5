/*
 * pgsetup.h - the PostgreSQL driver's prepare(): the catalogue, rewritten when
 * sim_meta says the database holds another one (or none), then users and their
 * wallets, in bulk (a thousand rows a statement, a few statements in flight).
 * Everything it writes is idempotent, so a prepare interrupted halfway is
 * simply run again.
 */
#ifndef SIM_PGSETUP_H
#define SIM_PGSETUP_H

#include "sim/pgjob.h"
#include "sim/store.h"

/*
 * cb runs from the loop.  su is copied; the catalogue and personas it points
 * to must stay valid until cb has run.
 */
void pgsetup_run(struct pgjobs *r, const struct store_setup *su, store_done_cb cb, void *arg);

#endif
