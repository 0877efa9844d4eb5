/*
 * checkpoint.c - tests for the checkpoint store: round trips, ids and
 * retention, the portable state encoding, damaged and foreign files, speed.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "sim/checkpoint.h"
#include "sim/store.h"

#include "check.h"

#define ERRLEN 512

struct tdir {
	char dir[64];
	char path[96];
};

static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* An independent, bitwise CRC-32 to check what the store computes. */
static uint32_t
crc32_ref(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffff;
	int k;

	while (n-- > 0) {
		c ^= *p++;
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320 & (0u - (c & 1)));
	}
	return ~c;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
tdir_make(struct tdir *t)
{
	if (mkdtemp(check_tmpl(t->dir, sizeof(t->dir), "simd-ckpt", 39)) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(t->path, sizeof(t->path), "%s/checkpoints.db", t->dir);
	return 0;
}

static void
tdir_remove(const struct tdir *t)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char p[128];
	size_t i;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", t->path, suffix[i]);
		unlink(p);
	}
	if (rmdir(t->dir) != 0)
		fprintf(stderr, "rmdir %s: %s\n", t->dir, strerror(errno));
}

/* A snapshot with every field set to something recognisable and random carts. */
static struct agent_state *
make_snapshot(struct run_state *s, uint32_t agents, uint64_t seed, int with_only)
{
	struct agent_state *a = calloc(agents, sizeof(*a));
	uint64_t r = seed;
	uint32_t i, j;

	memset(s, 0, sizeof(*s));
	if (a == NULL)
		return NULL;
	snprintf(s->params.run_id, sizeof(s->params.run_id), "run-%llu", (unsigned long long)seed);
	s->params.seed = UINT64_C(9007199254740991) - seed;
	s->params.agents = agents;
	s->params.cycles = 240;
	s->params.hours = 1.5;
	s->params.tick = 60;
	s->params.time_scale = 24.0 / 7.0;
	s->params.sim_start = -1234567890;
	s->params.max_concurrent = 100;
	s->params.max_retries = 5;
	s->params.retry_backoff_ms = 250;
	s->params.retry_window = 2.75;
	s->params.catalog_products = 5000;
	s->params.catalog_stores = 7;
	s->params.catalog_coupons = 33;
	s->params.all_shop = 1;
	snprintf(s->params.write_mode, sizeof(s->params.write_mode), "bulk");
	if (with_only) {
		s->params.nonly = 3;
		s->params.only = calloc(3, sizeof(uint32_t));
		if (s->params.only == NULL) {
			free(a);
			return NULL;
		}
		s->params.only[0] = 0;
		s->params.only[1] = agents / 2;
		s->params.only[2] = agents - 1;
	}
	s->cycle = 17;
	s->counts.agents_processed = 1;
	s->counts.agents_shopped = 2;
	s->counts.sessions = 3;
	s->counts.orders = 4;
	s->counts.abandoned = 5;
	s->counts.browsed = 6;
	s->counts.events = 7;
	s->counts.errors = 8;
	s->counts.retries = 9;
	s->counts.revenue_cents = UINT64_C(1) << 40;
	s->counts.items = 11;
	s->counts.rows = INT64_MAX;
	for (i = 0; i < STORE_ERR_COUNT; i++)
		s->counts.errors_by_type[i] = 100 + i;
	s->elapsed_s = 123.456;
	s->lag_s = 0.1;
	for (i = 0; i < agents; i++) {
		a[i].done_cycle = (uint32_t)rnd(&r);
		a[i].redeemed = (uint8_t)rnd(&r);
		a[i].ncart = (uint8_t)(i == 0 ? STORE_MAX_ITEMS : rnd(&r) % (STORE_MAX_ITEMS + 1));
		for (j = 0; j < STORE_MAX_ITEMS; j++) {
			/* Lines past ncart are junk the encoding must ignore. */
			a[i].cart[j].product_id = (uint32_t)rnd(&r);
			a[i].cart[j].quantity = (uint16_t)rnd(&r);
		}
	}
	s->agents = a;
	return a;
}

static void
free_made(struct run_state *s, struct agent_state *a)
{
	free(a);
	free(s->params.only);
}

static int
same_agents(const struct agent_state *a, const struct agent_state *b, uint32_t n)
{
	uint32_t i, j;

	for (i = 0; i < n; i++) {
		if (a[i].done_cycle != b[i].done_cycle || a[i].redeemed != b[i].redeemed ||
		    a[i].ncart != b[i].ncart)
			return 0;
		for (j = 0; j < STORE_MAX_ITEMS; j++) {
			if (j < a[i].ncart &&
			    (a[i].cart[j].product_id != b[i].cart[j].product_id ||
				a[i].cart[j].quantity != b[i].cart[j].quantity))
				return 0;
			/* The loader leaves unused lines zero, whatever the writer held. */
			if (j >= b[i].ncart &&
			    (b[i].cart[j].product_id != 0 || b[i].cart[j].quantity != 0))
				return 0;
		}
	}
	return 1;
}

static int
same_params(const struct run_params *a, const struct run_params *b)
{
	return strcmp(a->run_id, b->run_id) == 0 && a->seed == b->seed && a->agents == b->agents &&
	    a->cycles == b->cycles && a->hours == b->hours && a->tick == b->tick &&
	    a->time_scale == b->time_scale && a->sim_start == b->sim_start &&
	    a->max_concurrent == b->max_concurrent && a->max_retries == b->max_retries &&
	    a->retry_backoff_ms == b->retry_backoff_ms && a->retry_window == b->retry_window &&
	    a->catalog_products == b->catalog_products && a->catalog_stores == b->catalog_stores &&
	    a->catalog_coupons == b->catalog_coupons && !a->all_shop == !b->all_shop &&
	    strcmp(a->write_mode, b->write_mode) == 0 && a->nonly == b->nonly &&
	    (a->only == NULL) == (b->only == NULL) &&
	    (a->only == NULL || memcmp(a->only, b->only, a->nonly * sizeof(*a->only)) == 0);
}

static int
same_snapshot(const struct run_state *a, const struct run_state *b)
{
	return same_params(&a->params, &b->params) && a->cycle == b->cycle &&
	    memcmp(&a->counts, &b->counts, sizeof(a->counts)) == 0 &&
	    a->elapsed_s == b->elapsed_s && a->lag_s == b->lag_s && b->agents != NULL &&
	    same_agents(a->agents, b->agents, a->params.agents);
}

static int
same_info(const struct checkpoint_info *a, const struct checkpoint_info *b)
{
	return a->id == b->id && strcmp(a->run_id, b->run_id) == 0 && a->at == b->at &&
	    a->cycle == b->cycle && a->agents == b->agents && a->size == b->size &&
	    strcmp(a->reason, b->reason) == 0;
}

static int
contains(const char *s, const char *what)
{
	if (strstr(s, what) != NULL)
		return 1;
	fprintf(stderr, "  \"%s\" does not contain \"%s\"\n", s, what);
	return 0;
}

/* Runs one statement against the file, bypassing the store. */
static int
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open(path, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		fprintf(stderr, "raw_exec %s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Reads column col (state or params) of checkpoint id into a malloc'd buffer. */
static unsigned char *
raw_get(const char *path, int64_t id, const char *col, int *n, int64_t *crc)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	unsigned char *out = NULL;
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT %s, state_crc FROM checkpoints WHERE id = ?1", col);
	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 1, id) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		*n = sqlite3_column_bytes(st, 0);
		if ((out = malloc((size_t)*n + 1)) != NULL) {
			if (*n > 0)
				memcpy(out, sqlite3_column_blob(st, 0), (size_t)*n);
			out[*n] = '\0';
		}
		if (crc != NULL)
			*crc = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

/* Replaces the state blob (and, if fix_crc, its checksum) of checkpoint id. */
static int
raw_set_state(const char *path, int64_t id, const unsigned char *b, int n, int fix_crc)
{
	const char *sql = fix_crc
	    ? "UPDATE checkpoints SET state = ?1, state_crc = ?3 WHERE id = ?2"
	    : "UPDATE checkpoints SET state = ?1 WHERE id = ?2";
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_open(path, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 1, b, n, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, id);
	if (rc == SQLITE_OK && fix_crc)
		rc = sqlite3_bind_int64(st, 3, crc32_ref(b, (size_t)n));
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static int
raw_set_text(const char *path, int64_t id, const char *col, const char *text)
{
	char sql[128];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	snprintf(sql, sizeof(sql), "UPDATE checkpoints SET %s = ?1 WHERE id = ?2", col);
	rc = sqlite3_open(path, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static uint32_t
le32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* The blob is the documented little-endian layout, and state_crc is its CRC-32. */
static void
check_layout(const char *path, int64_t id, const struct run_state *s, uint64_t size)
{
	const struct agent_state *a = &s->agents[0];
	unsigned char *b;
	int64_t crc = -1;
	int n = 0;

	b = raw_get(path, id, "state", &n, &crc);
	CHECK(b != NULL);
	if (b == NULL)
		return;
	CHECK((uint64_t)n == size);
	CHECK(n >= 12 + 6 + 6 * a->ncart);
	CHECK(memcmp(b, "SCKP", 4) == 0);
	CHECK(b[4] == 1 && b[5] == 0 && b[6] == 0 && b[7] == 0);
	CHECK(le32(b + 8) == s->params.agents);
	CHECK(le32(b + 12) == a->done_cycle);
	CHECK(b[16] == a->redeemed && b[17] == a->ncart);
	CHECK(le32(b + 18) == a->cart[0].product_id);
	CHECK((b[22] | b[23] << 8) == a->cart[0].quantity);
	CHECK(crc == (int64_t)crc32_ref(b, (size_t)n));
	free(b);
}

static void
check_meta(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int ok = 0;

	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db,
		"SELECT (SELECT value FROM meta WHERE key = 'format'),"
		" (SELECT value FROM meta WHERE key = 'app'), journal_mode FROM pragma_journal_mode",
		-1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		ok = sqlite3_column_type(st, 0) == SQLITE_INTEGER &&
		    sqlite3_column_int(st, 0) == 1 &&
		    strcmp((const char *)sqlite3_column_text(st, 1), "simd-checkpoints") == 0 &&
		    strcmp((const char *)sqlite3_column_text(st, 2), "wal") == 0;
	CHECK(ok);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* The list as the checkpoints method answers it (lib/cmd_checkpoint.c). */
static int
listed(const struct checkpoint_info *in, void *arg)
{
	char at[32];

	store_time_iso(at, sizeof(at), in->at);
	return json_array_append_new(arg,
	    json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:s}", "id", (json_int_t)in->id, "run_id",
		in->run_id, "at", at, "cycle", (json_int_t)in->cycle, "agents",
		(json_int_t)in->agents, "size", (json_int_t)in->size, "reason", in->reason));
}

static json_t *
checkpoint_list_json(struct checkpoint *c, char *err, size_t errlen)
{
	json_t *a = json_array();

	if (a != NULL && checkpoint_list(c, listed, a, err, errlen) != 0) {
		json_decref(a);
		a = NULL;
	}
	return a;
}

/* The newest, as status's last_checkpoint shows it. */
static json_t *
checkpoint_last_json(const struct checkpoint *c)
{
	struct checkpoint_info in;
	char at[32];

	if (!checkpoint_last(c, &in))
		return json_null();
	store_time_iso(at, sizeof(at), in.at);
	return json_pack(
	    "{s:I, s:s, s:I}", "id", (json_int_t)in.id, "at", at, "cycle", (json_int_t)in.cycle);
}

static void
check_last(const struct checkpoint *c, int64_t id, uint32_t cycle)
{
	json_t *j = checkpoint_last_json(c);

	CHECK(json_is_object(j));
	CHECK(json_integer_value(json_object_get(j, "id")) == id);
	CHECK(json_integer_value(json_object_get(j, "cycle")) == cycle);
	CHECK(json_is_string(json_object_get(j, "at")));
	json_decref(j);
}

static void
check_iso(const json_t *v, int64_t at)
{
	char want[32];
	time_t t = (time_t)at;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm);
	CHECK(json_is_string(v) && strcmp(json_string_value(v), want) == 0);
}

static void
test_round_trip(void)
{
	struct run_state s, got;
	struct checkpoint_info info, linfo;
	struct agent_state *a;
	struct checkpoint *c;
	struct tdir t;
	char err[ERRLEN] = "";
	json_t *l, *e;
	time_t t0 = time(NULL);

	if (tdir_make(&t) != 0 || (a = make_snapshot(&s, 1000, 42, 1)) == NULL) {
		CHECK(0);
		return;
	}
	c = checkpoint_open(t.dir, 10, err, sizeof(err));
	CHECK(c != NULL);
	if (c == NULL) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	e = checkpoint_last_json(c);
	CHECK(json_is_null(e));
	json_decref(e);
	CHECK(checkpoint_write(c, &s, "interval", &info, err, sizeof(err)) == 0);
	CHECK(info.id == 1 && info.cycle == 17 && info.agents == 1000);
	CHECK(strcmp(info.run_id, "run-42") == 0 && strcmp(info.reason, "interval") == 0);
	CHECK(info.at >= t0 && info.at <= time(NULL));
	CHECK(info.size > 12 + 6 * 1000);
	check_last(c, 1, 17);
	check_layout(t.path, 1, &s, info.size);
	check_meta(t.path);

	CHECK(checkpoint_load(c, 0, &got, &linfo, err, sizeof(err)) == 0);
	CHECK(same_snapshot(&s, &got));
	CHECK(same_info(&info, &linfo));
	checkpoint_state_free(&got);
	CHECK(got.agents == NULL && got.params.only == NULL);
	CHECK(checkpoint_load(c, 1, &got, NULL, err, sizeof(err)) == 0);
	CHECK(same_snapshot(&s, &got));
	checkpoint_state_free(&got);

	l = checkpoint_list_json(c, err, sizeof(err));
	CHECK(json_array_size(l) == 1);
	e = json_array_get(l, 0);
	CHECK(json_integer_value(json_object_get(e, "id")) == 1);
	CHECK(strcmp(json_string_value(json_object_get(e, "run_id")), "run-42") == 0);
	check_iso(json_object_get(e, "at"), info.at);
	CHECK(json_integer_value(json_object_get(e, "cycle")) == 17);
	CHECK(json_integer_value(json_object_get(e, "agents")) == 1000);
	CHECK(json_integer_value(json_object_get(e, "size")) == (json_int_t)info.size);
	CHECK(strcmp(json_string_value(json_object_get(e, "reason")), "interval") == 0);
	json_decref(l);
	checkpoint_close(c);

	/* Survives a reopen; the newest in the file is "last" before anything happens. */
	c = checkpoint_open(t.dir, 10, err, sizeof(err));
	CHECK(c != NULL);
	check_last(c, 1, 17);
	CHECK(checkpoint_load(c, 0, &got, NULL, err, sizeof(err)) == 0);
	CHECK(same_snapshot(&s, &got));
	checkpoint_state_free(&got);

	/* Without an agent list the loader gives none back. */
	free(s.params.only);
	s.params.only = NULL;
	s.params.nonly = 0;
	s.params.all_shop = 0;
	CHECK(checkpoint_write(c, &s, "stop", &info, err, sizeof(err)) == 0 && info.id == 2);
	CHECK(checkpoint_load(c, 0, &got, NULL, err, sizeof(err)) == 0);
	CHECK(got.params.only == NULL && got.params.nonly == 0 && same_snapshot(&s, &got));
	checkpoint_state_free(&got);
	checkpoint_close(c);
	free_made(&s, a);
	tdir_remove(&t);
}

static void
test_retention(void)
{
	struct run_state s, got;
	struct checkpoint_info info;
	struct agent_state *a;
	struct checkpoint *c;
	struct tdir t;
	char err[ERRLEN] = "", want[160];
	int64_t ids[5];
	json_t *l;
	size_t i;
	int k;

	if (tdir_make(&t) != 0 || (a = make_snapshot(&s, 50, 7, 0)) == NULL ||
	    (c = checkpoint_open(t.dir, 3, err, sizeof(err))) == NULL) {
		CHECK(0);
		return;
	}
	CHECK(checkpoint_load(c, 0, &got, NULL, err, sizeof(err)) == -1);
	snprintf(want, sizeof(want), "no checkpoint in %s", t.path);
	CHECK(strcmp(err, want) == 0);
	CHECK(got.agents == NULL);
	l = checkpoint_list_json(c, err, sizeof(err));
	CHECK(json_is_array(l) && json_array_size(l) == 0);
	json_decref(l);
	for (k = 0; k < 5; k++) {
		s.cycle = 100 + (uint32_t)k;
		CHECK(checkpoint_write(c, &s, "cycle", &info, err, sizeof(err)) == 0);
		ids[k] = info.id;
		CHECK(k == 0 || ids[k] > ids[k - 1]);
	}
	check_last(c, ids[4], 104);
	l = checkpoint_list_json(c, err, sizeof(err));
	CHECK(json_array_size(l) == 3);
	for (i = 0; i < json_array_size(l); i++) {
		json_t *e = json_array_get(l, i);

		CHECK(json_integer_value(json_object_get(e, "id")) == ids[4 - i]);
		CHECK(json_integer_value(json_object_get(e, "cycle")) == (json_int_t)(104 - i));
	}
	json_decref(l);

	CHECK(checkpoint_load(c, ids[3], &got, &info, err, sizeof(err)) == 0);
	CHECK(got.cycle == 103 && info.id == ids[3] && info.cycle == 103);
	checkpoint_state_free(&got);
	check_last(c, ids[3], 103); /* loading counts as "last" */

	CHECK(checkpoint_load(c, ids[1], &got, NULL, err, sizeof(err)) == -1);
	snprintf(want, sizeof(want), "no checkpoint %lld in %s", (long long)ids[1], t.path);
	CHECK(strcmp(err, want) == 0);
	CHECK(got.agents == NULL);
	CHECK(checkpoint_load(c, 999, &got, NULL, err, sizeof(err)) == -1);
	CHECK(contains(err, "no checkpoint 999 in"));

	/* Ids are never reused, even after pruning; keep can shrink at runtime. */
	checkpoint_set_keep(c, 1);
	CHECK(checkpoint_write(c, &s, "manual", &info, err, sizeof(err)) == 0);
	CHECK(info.id == ids[4] + 1);
	l = checkpoint_list_json(c, err, sizeof(err));
	CHECK(json_array_size(l) == 1 &&
	    json_integer_value(json_object_get(json_array_get(l, 0), "id")) == info.id);
	json_decref(l);
	checkpoint_set_keep(c, 0); /* clamped to 1: the newest always stays */
	CHECK(checkpoint_write(c, &s, "manual", &info, err, sizeof(err)) == 0);
	CHECK(checkpoint_load(c, 0, &got, NULL, err, sizeof(err)) == 0);
	checkpoint_state_free(&got);
	checkpoint_close(c);
	free_made(&s, a);
	tdir_remove(&t);
}

/* A snapshot the store must refuse, leaving the file as it was. */
static void
test_refused_writes(void)
{
	struct run_state s;
	struct checkpoint_info info;
	struct agent_state *a;
	struct checkpoint *c;
	struct tdir t;
	char err[ERRLEN] = "";
	uint32_t only[2] = { 5, 3 };
	json_t *l;

	if (tdir_make(&t) != 0 || (a = make_snapshot(&s, 10, 9, 0)) == NULL ||
	    (c = checkpoint_open(t.dir, 3, err, sizeof(err))) == NULL) {
		CHECK(0);
		return;
	}
	a[4].ncart = STORE_MAX_ITEMS + 1;
	CHECK(checkpoint_write(c, &s, "manual", &info, err, sizeof(err)) == -1);
	CHECK(contains(err, "agent 4 has 25 cart lines"));
	a[4].ncart = 1;
	s.params.only = only;
	s.params.nonly = 2;
	CHECK(checkpoint_write(c, &s, "manual", &info, err, sizeof(err)) == -1);
	CHECK(contains(err, "not sorted"));
	s.params.only = NULL;
	s.params.nonly = 0;
	s.params.hours = NAN;
	CHECK(checkpoint_write(c, &s, "manual", &info, err, sizeof(err)) == -1);
	CHECK(contains(err, "hours"));
	s.params.hours = 1;
	CHECK(checkpoint_write(c, &s, "", &info, err, sizeof(err)) == -1);
	CHECK(checkpoint_write(c, &s, NULL, &info, err, sizeof(err)) == -1);
	CHECK(checkpoint_write(c, &s, "a-reason-that-is-far-too-long", &info, err, sizeof(err)) ==
	    -1);
	l = checkpoint_list_json(c, err, sizeof(err));
	CHECK(json_array_size(l) == 0);
	json_decref(l);
	CHECK(checkpoint_write(c, &s, "manual", &info, err, sizeof(err)) == 0);
	CHECK(checkpoint_write(NULL, &s, "manual", &info, err, sizeof(err)) == -1);
	l = checkpoint_last_json(NULL);
	CHECK(json_is_null(l));
	json_decref(l);
	checkpoint_close(c);
	checkpoint_close(NULL);
	free_made(&s, a);
	tdir_remove(&t);
}

static void
expect_open_fails(const struct tdir *t, const char *what)
{
	char err[ERRLEN] = "";
	struct checkpoint *c = checkpoint_open(t->dir, 3, err, sizeof(err));

	CHECK(c == NULL);
	checkpoint_close(c);
	CHECK(contains(err, "checkpoints.db"));
	CHECK(contains(err, t->path));
	CHECK(contains(err, what));
}

static void
test_foreign_files(void)
{
	unsigned char junk[4096], back[4096];
	struct checkpoint *c;
	struct tdir t;
	char err[ERRLEN] = "";
	uint64_t r = 99;
	FILE *f;
	size_t i;

	if (tdir_make(&t) != 0) {
		CHECK(0);
		return;
	}
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)rnd(&r);
	CHECK(
	    (f = fopen(t.path, "wb")) != NULL && fwrite(junk, 1, sizeof(junk), f) == sizeof(junk));
	if (f != NULL)
		fclose(f);
	expect_open_fails(&t, "is not a simd checkpoint file (file is not a database)");
	/* Nothing was written to it. */
	CHECK((f = fopen(t.path, "rb")) != NULL &&
	    fread(back, 1, sizeof(back), f) == sizeof(back) && fgetc(f) == EOF &&
	    memcmp(junk, back, sizeof(junk)) == 0);
	if (f != NULL)
		fclose(f);
	unlink(t.path);

	/* Some other SQLite database (the shop's, say). */
	CHECK(raw_exec(t.path, "CREATE TABLE users (id INTEGER PRIMARY KEY)") == 0);
	expect_open_fails(&t, "is not a simd checkpoint file (no such table: meta)");
	CHECK(raw_exec(t.path,
		  "CREATE TABLE meta (key TEXT PRIMARY KEY, value);"
		  "INSERT INTO meta VALUES ('app', 'shop'), ('format', 1)") == 0);
	expect_open_fails(&t, "meta app is \"shop\"");
	unlink(t.path);

	/* Ours, from a future (or past) simd. */
	c = checkpoint_open(t.dir, 3, err, sizeof(err));
	CHECK(c != NULL);
	checkpoint_close(c);
	CHECK(raw_exec(t.path, "UPDATE meta SET value = 2 WHERE key = 'format'") == 0);
	expect_open_fails(&t, "incompatible format 2 (this simd reads format 1)");
	CHECK(raw_exec(t.path, "UPDATE meta SET value = 'one' WHERE key = 'format'") == 0);
	expect_open_fails(&t, "incompatible");
	CHECK(raw_exec(t.path, "DELETE FROM meta WHERE key = 'format'") == 0);
	expect_open_fails(&t, "incompatible");
	CHECK(raw_exec(t.path, "INSERT INTO meta VALUES ('format', 1)") == 0);
	c = checkpoint_open(t.dir, 3, err, sizeof(err));
	CHECK(c != NULL);
	checkpoint_close(c);
	tdir_remove(&t);

	/* A data dir that does not exist. */
	c = checkpoint_open("/nonexistent/simd-test", 3, err, sizeof(err));
	CHECK(c == NULL && contains(err, "/nonexistent/simd-test/checkpoints.db"));
	c = checkpoint_open("", 3, err, sizeof(err));
	CHECK(c == NULL);
}

/* Loads checkpoint id and expects a "damaged" error mentioning what. */
static void
expect_damaged(struct checkpoint *c, const struct tdir *t, int64_t id, const char *what)
{
	struct run_state got;
	char err[ERRLEN] = "", want[160];

	CHECK(checkpoint_load(c, id, &got, NULL, err, sizeof(err)) == -1);
	CHECK(got.agents == NULL && got.params.only == NULL);
	snprintf(want, sizeof(want), "checkpoint %lld in %s is damaged: ", (long long)id, t->path);
	CHECK(contains(err, want));
	CHECK(contains(err, what));
}

/* Puts state b back with its right checksum and checks the row loads again. */
static void
restore(struct checkpoint *c, const struct tdir *t, int64_t id, const unsigned char *b, int n)
{
	struct run_state got;
	char err[ERRLEN] = "";

	CHECK(raw_set_state(t->path, id, b, n, 1) == 0);
	CHECK(checkpoint_load(c, id, &got, NULL, err, sizeof(err)) == 0);
	checkpoint_state_free(&got);
}

static void
damage_state(struct checkpoint *c, const struct tdir *t, int64_t id, const unsigned char *b, int n)
{
	unsigned char *x = malloc((size_t)n + 8);

	if (x == NULL) {
		CHECK(0);
		return;
	}
	memcpy(x, b, (size_t)n);
	x[n / 2] ^= 0x10;
	raw_set_state(t->path, id, x, n, 0);
	expect_damaged(c, t, id, "state checksum mismatch");
	raw_set_state(t->path, id, x, n / 2, 0);
	expect_damaged(c, t, id, "state checksum mismatch");
	memcpy(x, b, (size_t)n);
	/* With a matching checksum the structure itself must be checked. */
	raw_set_state(t->path, id, x, n - 3, 1);
	expect_damaged(c, t, id, "state ends inside agent");
	raw_set_state(t->path, id, x, 12 + 6 * 10, 1);
	expect_damaged(c, t, id, "state is too short for 50 agents");
	x[n] = 0;
	raw_set_state(t->path, id, x, n + 1, 1);
	expect_damaged(c, t, id, "1 bytes after the last agent");
	raw_set_state(t->path, id, x, 5, 1);
	expect_damaged(c, t, id, "shorter than its header");
	x[17] = STORE_MAX_ITEMS + 1; /* agent 0's ncart */
	raw_set_state(t->path, id, x, n, 1);
	expect_damaged(c, t, id, "agent 0 has 25 cart lines");
	x[17] = b[17];
	x[0] = 'X';
	raw_set_state(t->path, id, x, n, 1);
	expect_damaged(c, t, id, "no checkpoint header");
	x[0] = b[0];
	x[4] = 2;
	raw_set_state(t->path, id, x, n, 1);
	expect_damaged(c, t, id, "encoding version 2");
	x[4] = b[4];
	x[7] = 0x80; /* bytes 6-7 are reserved, zero */
	raw_set_state(t->path, id, x, n, 1);
	expect_damaged(c, t, id, "reserved bytes are 0x8000, not 0");
	x[7] = b[7];
	x[8] = 51;
	raw_set_state(t->path, id, x, n, 1);
	expect_damaged(c, t, id, "state holds 51 agents, the row says 50");
	restore(c, t, id, b, n);
	free(x);
}

/* Edits one key of the params or counts JSON of checkpoint id. */
static void
damage_json(struct checkpoint *c, const struct tdir *t, int64_t id, const char *col,
    const char *key, json_t *v, const char *what)
{
	unsigned char *orig;
	json_t *o;
	char *s;
	int n;

	orig = raw_get(t->path, id, col, &n, NULL);
	o = orig != NULL ? json_loads((const char *)orig, 0, NULL) : NULL;
	CHECK(o != NULL);
	if (o == NULL) {
		free(orig);
		json_decref(v);
		return;
	}
	if (v != NULL)
		json_object_set_new(o, key, v);
	else
		json_object_del(o, key);
	s = json_dumps(o, JSON_COMPACT);
	CHECK(s != NULL && raw_set_text(t->path, id, col, s) == 0);
	expect_damaged(c, t, id, what);
	CHECK(raw_set_text(t->path, id, col, (const char *)orig) == 0);
	free(s);
	free(orig);
	json_decref(o);
}

static void
damage_params(struct checkpoint *c, const struct tdir *t, int64_t id)
{
	json_t *big = json_array();
	int k;

	for (k = 0; k < STORE_ERR_COUNT + 1; k++)
		json_array_append_new(big, json_integer(1));
	damage_json(c, t, id, "params", "tick", json_integer(-1), "\"tick\" is wrong");
	damage_json(c, t, id, "params", "tick", json_string("60"), "\"tick\" is wrong");
	damage_json(c, t, id, "params", "cycles", NULL, "\"cycles\" is missing");
	damage_json(c, t, id, "params", "hours", json_real(-1), "\"hours\" is not a finite");
	damage_json(c, t, id, "params", "agents", json_integer(51), "disagree");
	damage_json(c, t, id, "params", "all_shop", json_integer(1), "all_shop");
	damage_json(c, t, id, "params", "only", json_pack("[i,i]", 4, 2), "not sorted");
	damage_json(c, t, id, "params", "only", json_pack("[i]", 50), "names agent 50 of 50");
	damage_json(c, t, id, "params", "only", json_array(), "\"only\" is not a list");
	damage_json(c, t, id, "params", "run_id", json_string("other"), "disagree");
	damage_json(c, t, id, "counts", "orders", json_integer(-5), "\"orders\" is wrong");
	damage_json(c, t, id, "counts", "errors_by_type", big, "errors_by_type");
	damage_json(c, t, id, "counts", "errors_by_type", json_pack("[s]", "x"), "errors_by_type");
	CHECK(raw_set_text(t->path, id, "counts", "[7]") == 0);
	expect_damaged(c, t, id, "counts: not a JSON object");
	CHECK(raw_set_text(t->path, id, "params", "{\"run_id\": ") == 0);
	expect_damaged(c, t, id, "params: not JSON");
	CHECK(raw_set_text(t->path, id, "params", "[1, 2]") == 0);
	expect_damaged(c, t, id, "params: not a JSON object");
}

static void
test_damaged_rows(void)
{
	struct run_state s, got;
	struct checkpoint_info info;
	struct agent_state *a;
	struct checkpoint *c;
	struct tdir t;
	char err[ERRLEN] = "", sql[128];
	unsigned char *b;
	int64_t id;
	int n = 0;
	json_t *l;

	if (tdir_make(&t) != 0 || (a = make_snapshot(&s, 50, 3, 0)) == NULL ||
	    (c = checkpoint_open(t.dir, 3, err, sizeof(err))) == NULL) {
		CHECK(0);
		return;
	}
	CHECK(checkpoint_write(c, &s, "signal", &info, err, sizeof(err)) == 0);
	id = info.id;
	b = raw_get(t.path, id, "state", &n, NULL);
	CHECK(b != NULL && n > 18);
	if (b != NULL)
		damage_state(c, &t, id, b, n);
	free(b);

	damage_params(c, &t, id);
	/* The rows damaged by damage_params keep failing; write a fresh one for the rest. */
	CHECK(checkpoint_write(c, &s, "signal", &info, err, sizeof(err)) == 0);
	id = info.id;
	snprintf(sql, sizeof(sql), "UPDATE checkpoints SET state_crc = 'x' WHERE id = %lld",
	    (long long)id);
	CHECK(raw_exec(t.path, sql) == 0);
	expect_damaged(c, &t, id, "\"state_crc\" is not an integer");
	snprintf(sql, sizeof(sql),
	    "UPDATE checkpoints SET state_crc = 0, state = 'text'"
	    " WHERE id = %lld",
	    (long long)id);
	CHECK(raw_exec(t.path, sql) == 0);
	expect_damaged(c, &t, id, "state is not a blob");
	snprintf(sql, sizeof(sql), "UPDATE checkpoints SET elapsed_s = 'soon' WHERE id = %lld",
	    (long long)id);
	CHECK(raw_exec(t.path, sql) == 0);
	expect_damaged(c, &t, id, "elapsed_s");
	snprintf(
	    sql, sizeof(sql), "UPDATE checkpoints SET cycle = -1 WHERE id = %lld", (long long)id);
	CHECK(raw_exec(t.path, sql) == 0);
	expect_damaged(c, &t, id, "\"cycle\" is not an integer");
	/* Listing names the damaged row too, rather than showing nonsense. */
	l = checkpoint_list_json(c, err, sizeof(err));
	CHECK(l == NULL && contains(err, "is damaged"));
	json_decref(l);
	CHECK(checkpoint_load(c, 0, &got, NULL, err, sizeof(err)) == -1);
	checkpoint_close(c);
	free_made(&s, a);
	tdir_remove(&t);
}

/* Prints the fastest and the slowest of a few writes and loads: the slowest pays a WAL fold. */
static void
time_one(uint32_t agents)
{
	struct run_state s, got;
	struct checkpoint_info info;
	struct agent_state *a;
	struct checkpoint *c;
	struct tdir t;
	char err[ERRLEN] = "";
	double t0, d, w[2] = { 1e9, 0 }, l[2] = { 1e9, 0 };
	int k, ok = 1;

	if (tdir_make(&t) != 0 || (a = make_snapshot(&s, agents, agents, 1)) == NULL ||
	    (c = checkpoint_open(t.dir, 2, err, sizeof(err))) == NULL) {
		CHECK(0);
		return;
	}
	for (k = 0; k < 6; k++) {
		t0 = now_s();
		ok &= checkpoint_write(c, &s, "interval", &info, err, sizeof(err)) == 0;
		d = now_s() - t0;
		w[0] = d < w[0] ? d : w[0];
		w[1] = d > w[1] ? d : w[1];
		t0 = now_s();
		ok &= checkpoint_load(c, 0, &got, NULL, err, sizeof(err)) == 0;
		d = now_s() - t0;
		l[0] = d < l[0] ? d : l[0];
		l[1] = d > l[1] ? d : l[1];
		ok &= same_snapshot(&s, &got);
		checkpoint_state_free(&got);
	}
	CHECK(ok);
	printf("checkpoint: %u agents (carts of 0-24 lines): write %.1f-%.1f ms, load %.1f-%.1f ms,"
	       " state %llu bytes (%.1f per agent)\n",
	    agents, w[0] * 1e3, w[1] * 1e3, l[0] * 1e3, l[1] * 1e3, (unsigned long long)info.size,
	    (double)info.size / agents);
	checkpoint_close(c);
	free_made(&s, a);
	tdir_remove(&t);
}

int
main(void)
{
	test_round_trip();
	test_retention();
	test_refused_writes();
	test_foreign_files();
	test_damaged_rows();
	time_one(10000);
	time_one(100000);
	return CHECK_DONE();
}
