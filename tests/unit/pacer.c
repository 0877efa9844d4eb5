/* pacer.c - cycles against the wall clock: on time, late, and after a jump of the clock. */
#include "check.h"
#include "sim/pacer.h"

#define S(x) ((uint64_t)((x)*1e6))

int
main(void)
{
	struct pacer p;
	double b = pacer_budget(60, 36000); /* a 60-minute tick at 36000x: 0.1 s */

	CHECK(b > 0.0999 && b < 0.1001 && pacer_budget(60, 0) == 0);
	pacer_reset(&p, 0, 0);
	CHECK(pacer_elapsed(&p, S(5)) == 0); /* not started: no time passes */
	pacer_start(&p, S(100));
	/* cycle 1 is due 0.1 s into the run: at 100.03 it waits 0.07 s */
	CHECK(pacer_next(&p, b, 1, S(100.03)) > 0.069 && p.lag == 0);
	/* a little late: no wait, the lag said, caught up next time */
	CHECK(pacer_next(&p, b, 2, S(100.25)) == 0 && p.lag > 0.049 && p.lag < 0.051);
	CHECK(pacer_next(&p, b, 3, S(100.26)) > 0.039);
	/* the clock jumps an hour: one cycle starts, the schedule moves, no burst */
	CHECK(pacer_next(&p, b, 4, S(3700.3)) == 0 && p.lag > 3599);
	CHECK(pacer_next(&p, b, 5, S(3700.31)) > 0.089);
	CHECK(pacer_next(&p, b, 6, S(3700.51)) < 0.001 && p.lag < 0.02);
	/* flat out never waits */
	CHECK(pacer_next(&p, 0, 7, S(3700.5)) == 0 && p.lag == 0);
	/* a resumed run counts the time it had run before */
	pacer_reset(&p, 50, 0);
	pacer_start(&p, S(10));
	CHECK(pacer_elapsed(&p, S(12)) > 51.99 && pacer_elapsed(&p, S(12)) < 52.01);
	CHECK(pacer_next(&p, 1.0, 60, S(12)) > 7.99); /* cycle 60 at 60 s of run time */
	pacer_stop(&p, S(15));
	CHECK(pacer_elapsed(&p, S(99)) > 54.99 && pacer_elapsed(&p, S(99)) < 55.01);
	return CHECK_DONE();
}
