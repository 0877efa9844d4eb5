/*
 * pgfence.c - the PostgreSQL store's fence (see pgfence.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/pgfence.h"
#include "sim/pgsql.h"
#include "sim/text.h"

void
pgfence_init(struct pgfence *f)
{
	memset(f, 0, sizeof(*f));
}

int
pgfence_set(struct pgfence *f, const char *run_id, uint32_t shard, uint64_t generation, char *err,
    size_t errlen)
{
	struct pgfence_val *v = &f->cur;
	size_t n = run_id != NULL ? strlen(run_id) : 0;

	if (run_id != NULL && (n == 0 || n >= sizeof(v->run) || !text_printable(run_id, n)))
		return text_errf(err, errlen, "fence: a run id is 1 to %d printable characters",
		    (int)sizeof(v->run) - 1);
	if (shard > INT32_MAX || generation > INT64_MAX)
		return text_errf(err, errlen,
		    "fence: the shard must fit an integer and the generation a bigint");
	memset(v, 0, sizeof(*v));
	f->epoch++;
	f->fenced = 0;
	f->msg[0] = '\0';
	v->epoch = f->epoch;
	if (run_id == NULL)
		return 0;
	v->on = 1;
	memcpy(v->run, run_id, n + 1);
	snprintf(v->shard, sizeof(v->shard), "%" PRIu32, shard);
	snprintf(v->gen, sizeof(v->gen), "%" PRIu64, generation);
	return 0;
}

int
pgfence_take(const struct pgfence *f, struct pgfence_val *v)
{
	*v = f->cur;
	v->pv[0] = v->run; /* into the copy: the job's own */
	v->pv[1] = v->shard;
	v->pv[2] = v->gen;
	return v->on;
}

void
pgfence_stmt(const struct pgfence_val *v, int named, struct pgstmt *st)
{
	const struct pgstmt *p = &pgsql_prepare[PGSQL_FENCE];

	st->kind = named ? PGSTMT_PREPARED : PGSTMT_PARAMS;
	st->name = p->name;
	st->sql = named ? NULL : p->sql;
	st->nparams = 3;
	st->params = v->pv;
}

struct pgstmt *
pgfence_wrap(const struct pgstmt *st, int n, const struct pgfence_val *v, int named)
{
	struct pgstmt *out = n >= 2 ? malloc(((size_t)n + 1) * sizeof(*out)) : NULL;

	if (out == NULL)
		return NULL;
	out[0] = st[0];
	pgfence_stmt(v, named, &out[1]);
	memcpy(&out[2], &st[1], ((size_t)n - 1) * sizeof(*out));
	return out;
}

int
pgfence_note(struct pgfence *f, const struct pgfence_val *v, enum store_err err, const char *msg)
{
	if (err != STORE_ERR_FENCED || !v->on || v->epoch != f->epoch || f->fenced)
		return 0;
	f->fenced = 1;
	snprintf(f->msg, sizeof(f->msg), "%s", msg != NULL && msg[0] != '\0' ? msg : "fenced");
	return 1;
}

int
pgfence_stale(const struct pgfence *f, const struct pgfence_val *v, enum store_err err)
{
	return err == STORE_ERR_FENCED && v->epoch != f->epoch;
}

const char *
pgfence_refused(const struct pgfence *f)
{
	return f->fenced ? f->msg : NULL;
}
