/* resume.h - continuing a checkpointed run (start --resume, simd --resume). */
#ifndef SIM_RESUME_H
#define SIM_RESUME_H

#include <stddef.h>
#include <stdint.h>

struct engine;
struct checkpoint;

/*
 * Continues the run of checkpoint id (0: the newest).  A run that had already
 * finished is not resumed: that is an error saying so.  0, or -1 with a message.
 */
int resume_run(struct engine *e, struct checkpoint *ck, int64_t id, char *err, size_t errlen);

#endif
