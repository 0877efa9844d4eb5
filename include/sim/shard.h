/*
 * shard.h - a static shard of a run's population ("I/N").
 *
 * Shard I of N simulates the agents whose index (agent_001 is index 0) is I
 * modulo N.  Which agents a shard runs is the only thing it changes: an agent's
 * choices depend on the seed and its id alone (DESIGN.md 3.3), so the N shards
 * of a run write together exactly the rows of the unsharded run.
 */
#ifndef SIM_SHARD_H
#define SIM_SHARD_H

#include <stddef.h>
#include <stdint.h>

#define SHARD_COUNT_MAX 100000
#define SHARD_TEXT_MAX 16 /* "99999/100000" and its NUL */

struct shard {
	uint32_t index, count; /* count 0: not sharded */
};

/* "" (not sharded) or "I/N" with 0 <= I < N <= SHARD_COUNT_MAX; 0, or -1 with why. */
int shard_parse(const char *s, struct shard *out, char *why, size_t len);
/* "I/N", or "" when not sharded. */
void shard_format(const struct shard *sh, char *buf, size_t len);
/* Whether the shard runs the agent of this index. */
int shard_owns(const struct shard *sh, uint32_t agent);

#endif
