/*
 * fuzz_checkpoint.c - a checkpoint row as a damaged or foreign checkpoints.db
 * may hold it, read through the public API only: the row goes into the
 * file with the sqlite3 API, then checkpoint_load reads it.
 *
 * Input: a flags byte, an agents byte, then params NUL counts NUL state.
 * The flags make the other columns right or wrong, so that the fuzzer gets
 * past them to the JSON and the state blob:
 *	0x01 state_crc is the state's CRC-32 (else it is off by one)
 *	0x02 agents is the state header's agent count (else the agents byte)
 *	0x04 run_id is the params' run_id (else "fuzz")
 *	0x08 at is -1 (out of range)
 *	0x10 elapsed_s is text
 *	0x20 state is text, not a blob
 *	0x40 cycle is 2^32 (out of range)
 *	0x80 reason is longer than a reason may be
 * Contract: a row is refused with a message naming it, or it loads, is
 * consistent, and writes back and loads again unchanged.
 */
#include <sqlite3.h>
#include <unistd.h>

#include <jansson.h>

#include "sim/checkpoint.h"

#include "fuzz.h"

static char fuzz_dir[128];
static struct checkpoint *fuzz_cp;
static sqlite3 *fuzz_db;
static sqlite3_stmt *fuzz_insert;

struct fuzz_row {
	unsigned flags, agents;
	const uint8_t *params, *counts, *state;
	size_t nparams, ncounts, nstate;
};

static void
fuzz_cleanup(void)
{
	static const char *const files[] = { "checkpoints.db", "checkpoints.db-wal",
		"checkpoints.db-shm", "checkpoints.db-journal" };
	char path[128];

	sqlite3_finalize(fuzz_insert);
	sqlite3_close(fuzz_db);
	checkpoint_close(fuzz_cp);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fuzz_dir, files[i]);
		unlink(path);
	}
	rmdir(fuzz_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char path[160], err[512];

	if (tmp == NULL || tmp[0] == '\0' || strlen(tmp) > 60)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/simd-fuzz-ckpt.XXXXXX", tmp);
	FUZZ_ASSERT(mkdtemp(fuzz_dir) != NULL);
	fuzz_cp = checkpoint_open(fuzz_dir, 2, err, sizeof(err));
	if (fuzz_cp == NULL)
		fprintf(stderr, "%s\n", err);
	FUZZ_ASSERT(fuzz_cp != NULL);
	snprintf(path, sizeof(path), "%s/checkpoints.db", fuzz_dir);
	FUZZ_ASSERT(sqlite3_open_v2(path, &fuzz_db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
	sqlite3_busy_timeout(fuzz_db, 5000);
	FUZZ_ASSERT(sqlite3_prepare_v2(fuzz_db,
			"INSERT INTO checkpoints (run_id, at, cycle,"
			" agents, reason, params, counts, elapsed_s, lag_s, state_crc, state)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
			-1, &fuzz_insert, NULL) == SQLITE_OK);
	atexit(fuzz_cleanup);
	return 0;
}

static uint32_t
fuzz_crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffff;

	while (n-- > 0) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (UINT32_C(0xedb88320) & (0u - (c & 1)));
	}
	return ~c;
}

/* Splits the input; 0 when it is too short to be a row. */
static int
fuzz_split(const uint8_t *data, size_t size, struct fuzz_row *r)
{
	const uint8_t *end = data + size, *nul;

	if (size < 2)
		return 0;
	r->flags = data[0];
	r->agents = data[1];
	r->params = data + 2;
	if ((nul = memchr(r->params, '\0', (size_t)(end - r->params))) == NULL)
		return 0;
	r->nparams = (size_t)(nul - r->params);
	r->counts = nul + 1;
	if ((nul = memchr(r->counts, '\0', (size_t)(end - r->counts))) == NULL)
		return 0;
	r->ncounts = (size_t)(nul - r->counts);
	r->state = nul + 1;
	r->nstate = (size_t)(end - r->state);
	return 1;
}

/* The run_id the params hold, if any: the row must agree with it. */
static void
fuzz_run_id(const struct fuzz_row *r, char *buf, size_t len)
{
	json_t *o = json_loadb((const char *)r->params, r->nparams, 0, NULL);
	const char *s = json_string_value(json_object_get(o, "run_id"));

	snprintf(buf, len, "%s", s != NULL && (r->flags & 0x04) ? s : "fuzz");
	json_decref(o);
}

static int64_t
fuzz_agents(const struct fuzz_row *r)
{
	const uint8_t *h = r->state + 8;

	if (!(r->flags & 0x02) || r->nstate < 12)
		return r->agents;
	return (int64_t)h[0] | (int64_t)h[1] << 8 | (int64_t)h[2] << 16 | (int64_t)h[3] << 24;
}

static void
fuzz_bind(const struct fuzz_row *r, const char *run_id)
{
	sqlite3_stmt *st = fuzz_insert;
	uint32_t crc = fuzz_crc32(r->state, r->nstate) + !(r->flags & 0x01);
	int bad = 0;

	bad |= sqlite3_bind_text(st, 1, run_id, -1, SQLITE_TRANSIENT);
	bad |= sqlite3_bind_int64(st, 2, (r->flags & 0x08) ? -1 : 1767571200);
	bad |= sqlite3_bind_int64(st, 3, (r->flags & 0x40) ? INT64_C(4294967296) : 7);
	bad |= sqlite3_bind_int64(st, 4, fuzz_agents(r));
	bad |= sqlite3_bind_text(st, 5,
	    (r->flags & 0x80) ? "a reason far longer than any reason" : "manual", -1,
	    SQLITE_STATIC);
	bad |= sqlite3_bind_text(st, 6, (const char *)r->params, (int)r->nparams, SQLITE_STATIC);
	bad |= sqlite3_bind_text(st, 7, (const char *)r->counts, (int)r->ncounts, SQLITE_STATIC);
	if (r->flags & 0x10)
		bad |= sqlite3_bind_text(st, 8, "x", -1, SQLITE_STATIC);
	else
		bad |= sqlite3_bind_double(st, 8, 12.5);
	bad |= sqlite3_bind_double(st, 9, 0.25);
	bad |= sqlite3_bind_int64(st, 10, crc);
	if (r->flags & 0x20)
		bad |= sqlite3_bind_text(
		    st, 11, (const char *)r->state, (int)r->nstate, SQLITE_STATIC);
	else
		bad |= sqlite3_bind_blob(st, 11, r->state, (int)r->nstate, SQLITE_STATIC);
	FUZZ_ASSERT(bad == SQLITE_OK);
}

static void
fuzz_store(const struct fuzz_row *r)
{
	char run_id[RUN_ID_MAX + 64];

	FUZZ_ASSERT(
	    sqlite3_exec(fuzz_db, "DELETE FROM checkpoints", NULL, NULL, NULL) == SQLITE_OK);
	fuzz_run_id(r, run_id, sizeof(run_id));
	fuzz_bind(r, run_id);
	FUZZ_ASSERT(sqlite3_step(fuzz_insert) == SQLITE_DONE);
	sqlite3_reset(fuzz_insert);
	sqlite3_clear_bindings(fuzz_insert);
}

static void
fuzz_same(const struct run_state *a, const struct run_state *b)
{
	const struct run_params *p = &a->params, *q = &b->params;

	FUZZ_ASSERT(strcmp(p->run_id, q->run_id) == 0 && p->seed == q->seed &&
	    p->agents == q->agents && p->cycles == q->cycles && p->tick == q->tick &&
	    p->sim_start == q->sim_start && p->all_shop == q->all_shop && p->nonly == q->nonly);
	FUZZ_ASSERT(memcmp(&p->hours, &q->hours, sizeof(p->hours)) == 0 &&
	    memcmp(&p->time_scale, &q->time_scale, sizeof(p->time_scale)) == 0 &&
	    memcmp(&p->retry_window, &q->retry_window, sizeof(p->retry_window)) == 0);
	FUZZ_ASSERT(p->nonly == 0 || memcmp(p->only, q->only, p->nonly * sizeof(*p->only)) == 0);
	FUZZ_ASSERT(a->cycle == b->cycle && a->elapsed_s == b->elapsed_s && a->lag_s == b->lag_s);
	FUZZ_ASSERT(memcmp(&a->counts, &b->counts, sizeof(a->counts)) == 0);
	FUZZ_ASSERT(memcmp(a->agents, b->agents, p->agents * sizeof(*a->agents)) == 0);
}

/* What loads is consistent, and simd can write it again and read back the same. */
static void
fuzz_loaded(const struct run_state *snap, const struct checkpoint_info *info)
{
	struct run_state again;
	struct checkpoint_info in;
	char err[512];

	FUZZ_ASSERT(snap->agents != NULL && snap->params.agents == info->agents);
	FUZZ_ASSERT(snap->cycle == info->cycle);
	for (uint32_t i = 0; i < snap->params.agents; i++)
		FUZZ_ASSERT(snap->agents[i].ncart <= STORE_MAX_ITEMS);
	if (checkpoint_write(fuzz_cp, snap, "fuzz", &in, err, sizeof(err)) != 0) {
		fprintf(stderr, "loaded but not writable: %s\n", err);
		FUZZ_ASSERT(0);
	}
	FUZZ_ASSERT(checkpoint_load(fuzz_cp, in.id, &again, NULL, err, sizeof(err)) == 0);
	fuzz_same(snap, &again);
	checkpoint_state_free(&again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run_state snap;
	struct checkpoint_info info;
	struct fuzz_row r;
	char err[512];

	if (!fuzz_split(data, size, &r))
		return 0;
	fuzz_store(&r);
	err[0] = '\0';
	if (checkpoint_load(fuzz_cp, 0, &snap, &info, err, sizeof(err)) == 0) {
		fuzz_loaded(&snap, &info);
		checkpoint_state_free(&snap);
	} else {
		FUZZ_ASSERT(strncmp(err, "checkpoint ", 11) == 0 && strstr(err, "damaged") != NULL);
		FUZZ_ASSERT(snap.agents == NULL && snap.params.only == NULL);
	}
	return 0;
}
