/* pacer.c - when cycles start against the wall clock (see pacer.h). */
#include "sim/pacer.h"

double
pacer_budget(uint32_t tick_minutes, double time_scale)
{
	return time_scale > 0 ? tick_minutes * 60.0 / time_scale : 0;
}

void
pacer_reset(struct pacer *p, double before, double lag)
{
	p->t0_us = 0;
	p->ended_us = 0;
	p->before = before;
	p->shift = 0;
	p->lag = lag;
}

void
pacer_start(struct pacer *p, uint64_t now_us)
{
	p->t0_us = now_us;
	p->ended_us = 0;
}

void
pacer_stop(struct pacer *p, uint64_t now_us)
{
	if (p->ended_us == 0)
		p->ended_us = now_us;
}

double
pacer_elapsed(const struct pacer *p, uint64_t now_us)
{
	uint64_t end = p->ended_us ? p->ended_us : now_us;

	if (p->t0_us == 0 || end < p->t0_us)
		return p->before;
	return p->before + (double)(end - p->t0_us) / 1e6;
}

double
pacer_next(struct pacer *p, double budget, uint32_t cycle, uint64_t now_us)
{
	double due, now;

	if (budget <= 0) {
		p->lag = 0;
		return 0;
	}
	due = budget * cycle + p->shift;
	now = pacer_elapsed(p, now_us);
	if (now < due) {
		p->lag = 0;
		return due - now;
	}
	p->lag = now - due;
	if (p->lag > budget)
		p->shift += p->lag; /* start now, and count the rest from here */
	return 0;
}
