/* resume.c - continuing a checkpointed run (see resume.h). */
#include <stdio.h>
#include <string.h>

#include "sim/checkpoint.h"
#include "sim/engine.h"
#include "sim/log.h"
#include "sim/resume.h"

int
resume_run(struct engine *e, struct checkpoint *ck, int64_t id, char *err, size_t errlen)
{
	struct run_state rs;
	struct checkpoint_info info;
	int rc;

	if (ck == NULL) {
		snprintf(err, errlen, "checkpoints are not available");
		return -1;
	}
	if (checkpoint_load(ck, id, &rs, &info, err, errlen) != 0)
		return -1;
	if (strcmp(info.reason, "end") == 0 ||
	    (rs.params.cycles != 0 && rs.cycle >= rs.params.cycles)) {
		snprintf(err, errlen,
		    "run %s had already finished (checkpoint %lld, cycle %u): "
		    "nothing to resume",
		    info.run_id, (long long)info.id, info.cycle);
		checkpoint_state_free(&rs);
		return -1;
	}
	rc = engine_resume_from(e, &rs, err, errlen);
	if (rc == 0)
		log_info("resuming run %s from checkpoint %lld (cycle %u)", info.run_id,
		    (long long)info.id, info.cycle);
	checkpoint_state_free(&rs);
	return rc;
}
