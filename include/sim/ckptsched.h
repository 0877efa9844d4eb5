/*
 * ckptsched.h - when checkpoints are taken: at a run's start, every
 * checkpoint_interval seconds (or at every cycle boundary when it is 0), at
 * the run's end, on demand; one at a time, each after the store has flushed,
 * so that a checkpoint never claims rows that are not written.
 */
#ifndef SIM_CKPTSCHED_H
#define SIM_CKPTSCHED_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct engine;
struct store;
struct checkpoint;
struct checkpoint_info;
struct ckptsched;

/* The outcome of one checkpoint: ok with its info, or the error. */
typedef void (*ckptsched_fn)(
    int ok, const struct checkpoint_info *info, const char *err, void *arg);

/* Installs the engine's hooks; interval as checkpoint_interval.  NULL out of memory. */
struct ckptsched *ckptsched_new(struct event_base *base, struct engine *e, struct store *s,
    struct checkpoint *ck, double interval);
/*
 * Before the store closes: nothing more starts and the queued checkpoints go;
 * the one being written ends (failed) when the store's close completes it.
 */
void ckptsched_close(struct ckptsched *cs);
/* Forgets what is left and the waiters (nothing is called). */
void ckptsched_free(struct ckptsched *cs);

/*
 * Takes a checkpoint of the current run: a consistent snapshot now, the store
 * flushed, then written.  fn (may be NULL) gets the outcome from the loop.
 * 0, or -1 with a message (no run, out of memory).
 */
int ckptsched_take(
    struct ckptsched *cs, const char *reason, ckptsched_fn fn, void *arg, char *err, size_t errlen);
/*
 * Calls fn once every checkpoint queued so far is written (at once if none is),
 * in the order asked.  -1 when out of memory (fn is never called).
 */
int ckptsched_after(struct ckptsched *cs, void (*fn)(void *), void *arg);
/*
 * fn sees every checkpoint once it is written, with the state it holds and
 * its reason, before whoever asked for it hears (cluster.c copies it into
 * PostgreSQL).  NULL: none.
 */
struct run_state;
typedef void (*ckptsched_mirror_fn)(const struct run_state *rs, const char *reason, void *arg);
void ckptsched_set_mirror(struct ckptsched *cs, ckptsched_mirror_fn fn, void *arg);
/* What the checkpoint at the end of the current run is called ("stop", "signal"). */
void ckptsched_set_stop_reason(struct ckptsched *cs, const char *reason);
void ckptsched_set_interval(struct ckptsched *cs, double interval);
/* Whether a checkpoint is being written or waits its turn. */
int ckptsched_busy(const struct ckptsched *cs);
/* Why the newest checkpoint failed and when, or NULL when it did not (or one succeeded since). */
const char *ckptsched_last_error(const struct ckptsched *cs, int64_t *at);

#endif
