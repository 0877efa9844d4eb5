/*
 * personadb.h - the cache of LLM personas, <data_dir>/personas.db (SQLite).
 *
 * One row per (model, prompt hash, seed, agent): the persona as simd's own
 * JSON (persona_to_json), so a run never asks an LLM twice for the same
 * persona, a resumed run asks only for the missing ones, and a second run with
 * the same seed asks for none.  Synchronous, like the embedded store: a lookup
 * or an insert is tens of microseconds.
 */
#ifndef SIM_PERSONADB_H
#define SIM_PERSONADB_H

#include <stddef.h>
#include <stdint.h>

struct personadb;

/* Creates the file and its table if needed; NULL with a one-line reason in err. */
struct personadb *personadb_open(const char *path, char *err, size_t errlen);
void personadb_close(struct personadb *db);

/* 1 and the persona's JSON text in *json (free it), 0 when absent, -1 with err. */
int personadb_get(struct personadb *db, const char *model, const char *prompt_hash, uint64_t seed,
    uint32_t agent, char **json, char *err, size_t errlen);
/* Stores (or replaces) one persona; 0, or -1 with err. */
int personadb_put(struct personadb *db, const char *model, const char *prompt_hash, uint64_t seed,
    uint32_t agent, const char *json, char *err, size_t errlen);
/* Rows held; -1 on error. */
long long personadb_count(struct personadb *db);

#endif
