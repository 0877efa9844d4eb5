/*
 * pacer.h - when cycles start against the wall clock (time_scale), and how
 * long a run has been going across resumes.  Pure: the time comes in.
 *
 * Cycle c is due budget x c seconds into the run.  A cycle whose work took
 * longer makes the next start late, and the lag is reported.  A run late by
 * more than a whole cycle (a machine that slept, a clock that jumped, a
 * database that stalled) does not burst through the cycles it missed to catch
 * up: its schedule moves by the lateness, which is reported as the lag.
 */
#ifndef SIM_PACER_H
#define SIM_PACER_H

#include <stdint.h>

struct pacer {
	uint64_t t0_us;    /* when this life of the run began to count (0: not yet) */
	uint64_t ended_us; /* when it ended (0: it goes on) */
	double before;     /* seconds run before a resume */
	double shift;      /* seconds the schedule moved after running late */
	double lag;        /* how late the last cycle started */
};

/* Wall seconds per cycle of tick simulated minutes; 0 when time_scale is 0 (flat out). */
double pacer_budget(uint32_t tick_minutes, double time_scale);
/* A new run (before 0), or a resumed one with the time it had run and its lag. */
void pacer_reset(struct pacer *p, double before, double lag);
void pacer_start(struct pacer *p, uint64_t now_us);
void pacer_stop(struct pacer *p, uint64_t now_us);
/* Seconds the run has been going, across resumes. */
double pacer_elapsed(const struct pacer *p, uint64_t now_us);
/* Seconds to wait before cycle may begin (0: now); sets p->lag. */
double pacer_next(struct pacer *p, double budget, uint32_t cycle, uint64_t now_us);

#endif
