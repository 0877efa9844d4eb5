/*
 * sqkeys.h - the SQLite side of store_keyed(): a run's rows counted, or one
 * batch of them deleted in a transaction of its own, by key prefix.
 */
#ifndef SIM_SQKEYS_H
#define SIM_SQKEYS_H

#include <stddef.h>

#include <sqlite3.h>

#include "sim/store.h"

/*
 * Runs j on db, synchronously (the driver completes it from the loop); no
 * transaction may be open.  SQLITE_OK, or an SQLite code with a message in err.
 */
int sqkeys_run(sqlite3 *db, struct store_keyjob *j, char *err, size_t errlen);

#endif
