/* shard.c - the shard text and what a shard runs (shard.h, params_shard_apply). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sim/params.h"
#include "sim/shard.h"

static int
parses(const char *s, uint32_t i, uint32_t n)
{
	struct shard sh;
	char why[128];

	return shard_parse(s, &sh, why, sizeof(why)) == 0 && sh.index == i && sh.count == n;
}

static int
refused(const char *s)
{
	struct shard sh;
	char why[128] = "";

	return shard_parse(s, &sh, why, sizeof(why)) != 0 && strncmp(why, "must be I/N", 11) == 0;
}

int
main(void)
{
	struct run_params p;
	struct shard sh = { 2, 3 };
	char buf[SHARD_TEXT_MAX], err[128];
	uint32_t seen[10] = { 0 };

	CHECK(parses("", 0, 0));
	CHECK(parses("0/1", 0, 1));
	CHECK(parses("2/3", 2, 3));
	CHECK(parses("99999/100000", 99999, 100000));
	CHECK(refused("0/0"));
	CHECK(refused("3/2"));
	CHECK(refused("3/3"));
	CHECK(refused("garbage"));
	CHECK(refused("1/"));
	CHECK(refused("/3"));
	CHECK(refused("-1/3"));
	CHECK(refused("1/3 "));
	CHECK(refused("+1/3"));
	CHECK(refused("0/100001"));
	CHECK(refused("1/2/3"));
	CHECK(refused("0/9999999"));
	shard_format(&sh, buf, sizeof(buf));
	CHECK(strcmp(buf, "2/3") == 0);
	sh.count = 0;
	shard_format(&sh, buf, sizeof(buf));
	CHECK(strcmp(buf, "") == 0);

	/* the shards of a population cover it once */
	for (uint32_t s = 0; s < 3; s++) {
		memset(&p, 0, sizeof(p));
		p.agents = 10;
		p.shard.index = s;
		p.shard.count = 3;
		CHECK(params_shard_apply(&p, err, sizeof(err)) == 0);
		CHECK(p.nonly == (s == 0 ? 4u : 3u));
		for (uint32_t k = 0; k < p.nonly; k++) {
			CHECK(p.only[k] % 3 == s);
			seen[p.only[k]]++;
		}
		params_clear(&p);
	}
	for (int a = 0; a < 10; a++)
		CHECK(seen[a] == 1);
	/* over an agents list: what the list and the shard share */
	memset(&p, 0, sizeof(p));
	p.agents = 10;
	p.only = malloc(3 * sizeof(*p.only));
	CHECK(p.only != NULL);
	if (p.only != NULL) {
		p.only[0] = 1, p.only[1] = 4, p.only[2] = 5, p.nonly = 3;
		p.shard.index = 1, p.shard.count = 3;
		CHECK(params_shard_apply(&p, err, sizeof(err)) == 0);
		CHECK(p.nonly == 2 && p.only[0] == 1 && p.only[1] == 4);
		p.shard.index = 0; /* none of 1, 4 */
		CHECK(params_shard_apply(&p, err, sizeof(err)) != 0);
		CHECK(strstr(err, "shard 0/3 has none") != NULL);
	}
	params_clear(&p);
	/* a shard larger than the population */
	memset(&p, 0, sizeof(p));
	p.agents = 2;
	p.shard.index = 2, p.shard.count = 3;
	CHECK(params_shard_apply(&p, err, sizeof(err)) != 0);
	params_clear(&p);
	return CHECK_DONE();
}
