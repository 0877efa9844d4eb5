/* store_sqlite.c - tests for the store helpers and the embedded SQLite driver. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <sqlite3.h>

#include "sim/catalog.h"
#include "sim/config.h"
#include "sim/persona.h"
#include "sim/store.h"
#include "check.h"

#define T0 INT64_C(1767571200) /* 2026-01-05T00:00:00Z */
#define NAGENTS 50
#define SEED 11

struct harness {
	struct event_base *base;
	struct store *store;
	sqlite3 *db;   /* a second connection that reads what the store wrote */
	int in_submit; /* set around store_submit: a callback must never see it */
	int done, cb_inside_submit;
	int depth, max_depth, chained;
	enum store_err done_err;
	char done_msg[256];
};

/* ---- helpers ---- */

static long long
q_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "bad test query %s: %s\n", sql, sqlite3_errmsg(db));
		return -2;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -3 : sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int
q_text_is(sqlite3 *db, const char *sql, const char *want)
{
	sqlite3_stmt *st;
	int ok = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
		ok = strcmp((const char *)sqlite3_column_text(st, 0), want) == 0;
	sqlite3_finalize(st);
	return ok;
}

static void
op_done(struct store_op *op, void *arg)
{
	struct harness *h = arg;

	if (h->in_submit)
		h->cb_inside_submit = 1;
	h->done = 1;
}

/* A BEGIN's callback: its session row must already be committed (visible elsewhere). */
static void
begin_visible_cb(struct store_op *op, void *arg)
{
	struct harness *h = arg;
	char sql[160], key[64];

	store_session_key(key, sizeof(key), op);
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM shopping_sessions WHERE session_key"
	    " = '%s'",
	    key);
	h->chained = (int)q_int(h->db, sql);
	h->done = 1;
}

static void
setup_done(enum store_err err, const char *msg, void *arg)
{
	struct harness *h = arg;

	if (h->in_submit)
		h->cb_inside_submit = 1;
	h->done = 1;
	h->done_err = err;
	snprintf(h->done_msg, sizeof(h->done_msg), "%s", msg ? msg : "");
}

static void
wait_done(struct harness *h)
{
	int spins = 0;

	while (!h->done && spins++ < 1000)
		event_base_loop(h->base, EVLOOP_ONCE);
}

/* flush() completes, without an error. */
static void
flush_ok(struct harness *h)
{
	h->done = 0;
	store_flush(h->store, setup_done, h);
	wait_done(h);
	CHECK(h->done && h->done_err == STORE_OK);
}

static void
run_op(struct harness *h, struct store_op *op)
{
	op->cb = op_done;
	op->arg = h;
	h->done = 0;
	h->in_submit = 1;
	store_submit(h->store, op);
	h->in_submit = 0;
	CHECK(!h->done); /* completed later, from the loop */
	wait_done(h);
	CHECK(h->done);
	CHECK(!h->cb_inside_submit);
	if (op->err != STORE_OK)
		fprintf(stderr, "op %s: %s\n", store_op_name(op->type), op->errmsg);
}

static void
new_op(struct store_op *op, enum store_op_type type, uint32_t agent, uint32_t cycle, int64_t t)
{
	memset(op, 0, sizeof(*op));
	op->type = type;
	op->agent = agent;
	op->cycle = cycle;
	op->sim_time = t;
	store_agent_id(op->agent_id, sizeof(op->agent_id), agent);
}

static void
add_event(
    struct store_op *op, enum store_event_type type, uint8_t step, uint32_t id, uint32_t value)
{
	struct store_event *ev = &op->events[op->nevents];

	ev->type = (uint8_t)type;
	ev->step = step;
	ev->index = op->nevents;
	ev->product_id = id;
	ev->value = value;
	op->nevents++;
}

static void
add_item(struct store_op *op, const struct product *p, uint16_t quantity)
{
	struct store_item *it = &op->items[op->nitems++];

	it->product_id = p->id;
	it->store_id = p->store_id;
	it->quantity = quantity;
	it->price_cents = p->price_cents;
}

static struct store *
open_cfg(struct event_base *base, const struct sim_config *cfg, char *err, size_t errlen)
{
	struct store_opts o;

	store_opts_from_config(&o, cfg);
	return store_open(base, &o, err, errlen);
}

static struct sim_config *
make_config(const char *dir)
{
	struct sim_config *cfg = config_new();
	char err[256];

	/* most tests read shop.db as soon as a step completes: commit before completions */
	if (cfg == NULL || config_set(cfg, "data_dir", dir, err, sizeof(err)) != 0 ||
	    config_set(cfg, "sqlite_commit_interval", "0", err, sizeof(err)) != 0) {
		fprintf(stderr, "config: %s\n", err);
		exit(1);
	}
	return cfg;
}

/* ---- store.c helpers ---- */

/*
 * storekeys.c puts keys, payloads and times together by hand: byte for byte
 * what snprintf() and strftime() give, cut the same way in a short buffer.
 */
static uint64_t
fmt_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void
test_formats(void)
{
	static const char *const payload_fmt[EV_TYPES] = {
		"{}",
		"{\"product_id\":%lu,\"price_cents\":%lu}",
		"{\"product_id\":%lu,\"quantity\":%lu}",
		"{\"eligible\":%lu}",
		"{\"coupon_id\":%lu}",
		"{\"total_cents\":%lu}",
		"{\"cart_cents\":%lu}",
	};
	static const uint64_t seeds[] = { 0, 7, 42, 1000000007, UINT64_MAX };
	static const int64_t times[] = { 0, -1, 1, 86399, 86400, -86400, -86401, 951782400,
		951868800, 4107542400, INT64_C(-30610224000), INT64_C(-30610224001),
		INT64_C(253402300799), INT64_C(253402300800), INT64_C(-62135596800) };
	char got[128], want[128], id[24];
	struct store_op op;
	struct store_event ev = { 0 };
	uint64_t x = 88172645463325252ULL;
	unsigned long a, b;
	size_t len;
	int i, ok = 1;

	for (i = 0; i < 20000 && ok; i++) {
		memset(&op, 0, sizeof(op));
		op.seed = i < 5 ? seeds[i] : fmt_rand(&x) >> (fmt_rand(&x) % 64);
		op.agent =
		    (uint32_t)(i < 8 ? (uint32_t[]){ 0, 8, 9, 98, 99, 998, 999, UINT32_MAX }[i]
				     : fmt_rand(&x) >> (fmt_rand(&x) % 64));
		op.cycle = (uint32_t)fmt_rand(&x) >> (fmt_rand(&x) % 32);
		if (i % 3 == 0)
			snprintf(op.agent_id, sizeof(op.agent_id), "u%u", (unsigned)op.agent);
		snprintf(id, sizeof(id), "agent_%03llu", (unsigned long long)op.agent + 1);
		store_agent_id(got, sizeof(got), op.agent);
		ok &= strcmp(got, id) == 0;
		len = 1 + fmt_rand(&x) % (i % 2 ? 40 : sizeof(got) - 1);
		snprintf(want, len, "s%llu:%s:%u", (unsigned long long)op.seed,
		    op.agent_id[0] ? op.agent_id : id, (unsigned)op.cycle);
		store_session_key(got, len, &op);
		ok &= strcmp(got, want) == 0;
		snprintf(want, len, "s%llu:%s:%u:order", (unsigned long long)op.seed,
		    op.agent_id[0] ? op.agent_id : id, (unsigned)op.cycle);
		store_order_key(got, len, &op);
		ok &= strcmp(got, want) == 0;
		ev.step = (uint8_t)fmt_rand(&x);
		ev.index = (uint16_t)fmt_rand(&x);
		snprintf(want, len, "s%llu:%s:%u:%u:%u", (unsigned long long)op.seed,
		    op.agent_id[0] ? op.agent_id : id, (unsigned)op.cycle, (unsigned)ev.step,
		    (unsigned)ev.index);
		store_event_key(got, len, &op, &ev);
		ok &= strcmp(got, want) == 0;
		ev.type = (uint8_t)(fmt_rand(&x) % EV_TYPES);
		ev.product_id = (uint32_t)(fmt_rand(&x) >> (fmt_rand(&x) % 64));
		ev.value = (uint32_t)(fmt_rand(&x) >> (fmt_rand(&x) % 64));
		a = ev.product_id, b = ev.value;
		if (ev.type == EV_COUPONS_VIEWED || ev.type == EV_CHECKOUT || ev.type == EV_ABANDON)
			a = b; /* the value alone */
		snprintf(want, len, payload_fmt[ev.type], a, b);
		store_event_payload(got, len, &ev);
		ok &= strcmp(got, want) == 0;
		if (!ok)
			fprintf(
			    stderr, "format %d: got '%s' want '%s' (len %zu)\n", i, got, want, len);
	}
	CHECK(ok);
	for (i = 0; i < 200000 && ok; i++) {
		int64_t t = i < (int)(sizeof(times) / sizeof(times[0]))
		    ? times[i]
		    : (int64_t)(fmt_rand(&x) % UINT64_C(300000000000)) - INT64_C(40000000000);
		time_t tt = (time_t)t;
		struct tm tm;

		len = i % 7 == 0 ? 1 + fmt_rand(&x) % 24 : sizeof(got);
		if (gmtime_r(&tt, &tm) == NULL ||
		    strftime(want, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			want[0] = '\0';
		store_time_iso(got, len, t);
		ok &= strcmp(got, want) == 0;
		if (!ok)
			fprintf(stderr, "time %lld: got '%s' want '%s' (len %zu)\n", (long long)t,
			    got, want, len);
	}
	CHECK(ok);
}

static void
test_helpers(void)
{
	struct store_op op;
	struct store_event ev = { 0 };
	char buf[128];

	store_agent_id(buf, sizeof(buf), 0);
	CHECK(strcmp(buf, "agent_001") == 0);
	store_agent_id(buf, sizeof(buf), 41);
	CHECK(strcmp(buf, "agent_042") == 0);
	store_agent_id(buf, sizeof(buf), 999);
	CHECK(strcmp(buf, "agent_1000") == 0);
	new_op(&op, STORE_OP_BEGIN, 0, 12, T0);
	store_session_key(buf, sizeof(buf), &op);
	CHECK(strcmp(buf, "s0:agent_001:12") == 0);
	store_order_key(buf, sizeof(buf), &op);
	CHECK(strcmp(buf, "s0:agent_001:12:order") == 0);
	ev.step = 3;
	ev.index = 0;
	store_event_key(buf, sizeof(buf), &op, &ev);
	CHECK(strcmp(buf, "s0:agent_001:12:3:0") == 0);
	op.agent_id[0] = '\0'; /* an unfilled agent_id falls back to the index */
	op.agent = 6;
	store_session_key(buf, sizeof(buf), &op);
	CHECK(strcmp(buf, "s0:agent_007:12") == 0);

	ev.type = EV_VIEW, ev.product_id = 12, ev.value = 499;
	store_event_payload(buf, sizeof(buf), &ev);
	CHECK(strcmp(buf, "{\"product_id\":12,\"price_cents\":499}") == 0);
	ev.type = EV_CART_ADD, ev.value = 2;
	store_event_payload(buf, sizeof(buf), &ev);
	CHECK(strcmp(buf, "{\"product_id\":12,\"quantity\":2}") == 0);
	ev.type = EV_COUPONS_VIEWED;
	store_event_payload(buf, sizeof(buf), &ev);
	CHECK(strcmp(buf, "{\"eligible\":2}") == 0);
	ev.type = EV_COUPON_APPLIED, ev.product_id = 7;
	store_event_payload(buf, sizeof(buf), &ev);
	CHECK(strcmp(buf, "{\"coupon_id\":7}") == 0);
	ev.type = EV_CHECKOUT, ev.value = 1234;
	store_event_payload(buf, sizeof(buf), &ev);
	CHECK(strcmp(buf, "{\"total_cents\":1234}") == 0);
	ev.type = EV_ABANDON, ev.value = 999;
	store_event_payload(buf, sizeof(buf), &ev);
	CHECK(strcmp(buf, "{\"cart_cents\":999}") == 0);
	ev.type = EV_SESSION_START;
	store_event_payload(buf, sizeof(buf), &ev);
	CHECK(strcmp(buf, "{}") == 0);

	store_time_iso(buf, sizeof(buf), T0 + 9 * 3600);
	CHECK(strcmp(buf, "2026-01-05T09:00:00Z") == 0);
	CHECK(strcmp(store_err_name(STORE_ERR_BUSY), "busy") == 0);
	CHECK(strcmp(store_err_name(STORE_ERR_CLOSED), "closed") == 0);
	CHECK(strcmp(store_op_name(STORE_OP_CHECKOUT), "checkout") == 0);
	CHECK(strcmp(store_event_name(EV_COUPONS_VIEWED), "coupons_viewed") == 0);
	CHECK(strcmp(store_event_name(EV_TYPES), "unknown") == 0);
}

/* Same text as jansson's own compact, sorted dump at 9 digits. */
static int
same_as_jansson(const struct persona *p, char **buf, size_t *cap)
{
	json_t *j = persona_to_json(p);
	char *want = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
	long n = store_persona_json(p, buf, cap);
	int same = want != NULL && n >= 0 && strcmp(*buf, want) == 0 && (size_t)n == strlen(want);

	if (!same)
		fprintf(stderr, "persona json differs:\n got %s\nwant %s\n", n >= 0 ? *buf : "-",
		    want ? want : "-");
	free(want);
	json_decref(j);
	return same;
}

/* A float from raw bits with a decimal exponent of about -9..9. */
static float
random_float(uint64_t *x)
{
	uint32_t bits;
	float f;

	*x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
	bits = (uint32_t)(*x >> 33) & 0x7fffff;
	bits |= (uint32_t)(97 + (*x >> 20) % 64) << 23; /* 2^-30 .. 2^33 */
	memcpy(&f, &bits, sizeof(f));
	return f;
}

static void
fill_random(struct persona *p, uint64_t *x)
{
	int i;

	for (i = 0; i < PERSONA_CATEGORIES; i++)
		p->category_weight[i] = random_float(x);
	for (i = 0; i < 24; i++)
		p->hour_weight[i] = random_float(x);
	for (i = 0; i < 7; i++)
		p->day_weight[i] = random_float(x);
	p->price_sensitivity = random_float(x);
	p->coupon_affinity = random_float(x);
	p->sessions_per_week = random_float(x);
	p->basket_mean = random_float(x);
	p->abandon_tendency = random_float(x);
}

/* users.persona text: jansson's, byte for byte, and it gives back the same persona. */
static void
test_persona_json(void)
{
	static const float special[] = { 0.0f, 1.0f, 0.5f, 2.0f, 20.0f, 0.1f, 1e-4f, 9.99999e-5f,
		1e-5f, 123456.789f, 99999999.0f, 999999936.0f, 1e9f, 3e-38f, 1e-45f, 0.3f,
		16777216.0f, 0.000123456f, 7.0e-3f, 1.220703125e-4f, 2.44140625e-4f, 33554432.5f };
	struct persona p, q;
	json_error_t jerr;
	json_t *j;
	char *buf = NULL, err[256];
	size_t cap = 0, k;
	uint64_t x = 12345;
	int i, same = 1, back = 1;

	for (i = 0; i < 2000; i++) {
		persona_generate(&p, 77, (uint32_t)i);
		if (i >= 1000)
			fill_random(&p, &x);
		same &= same_as_jansson(&p, &buf, &cap);
		j = json_loads(buf, 0, &jerr);
		back &= j != NULL;
		if (i < 1000 && j != NULL) {
			back &= persona_from_json(j, &q, err, sizeof(err)) == 0 &&
			    strcmp(p.name, q.name) == 0 && p.budget_cents == q.budget_cents &&
			    p.price_sensitivity == q.price_sensitivity &&
			    p.hour_weight[7] == q.hour_weight[7] && p.basket_mean == q.basket_mean;
		}
		json_decref(j);
	}
	for (k = 0; k < sizeof(special) / sizeof(special[0]); k++) {
		for (i = 0; i < 24; i++)
			p.hour_weight[i] = special[k] * (float)(i + 1);
		p.price_sensitivity = special[k];
		same &= same_as_jansson(&p, &buf, &cap);
	}
	snprintf(p.name, sizeof(p.name), "Quote\" Back\\ Tab\t Nl\n Ctl\x01 /");
	same &= same_as_jansson(&p, &buf, &cap);
	CHECK(same && back);
	CHECK(strncmp(buf, "{\"abandon_tendency\":", 20) == 0 && strstr(buf, ": ") == NULL);
	free(buf);
}

/* ---- open, migrations, errors ---- */

static void
test_open_errors(const char *tmp, struct event_base *base)
{
	struct sim_config *cfg;
	struct store *s;
	char dir[256], path[256], err[512];
	int fd;

	/* A data dir under a regular file cannot exist, even for root. */
	snprintf(path, sizeof(path), "%.200s/plainfile", tmp);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	close(fd);
	snprintf(dir, sizeof(dir), "%.200s/sub", path);
	cfg = make_config(dir);
	err[0] = '\0';
	s = open_cfg(base, cfg, err, sizeof(err));
	CHECK(s == NULL);
	CHECK(strstr(err, dir) != NULL && strstr(err, "shop.db") != NULL);
	fprintf(stderr, "(expected) %s\n", err);
	config_free(cfg);

	/* Garbage where shop.db should be: a clear error, not a crash. */
	snprintf(dir, sizeof(dir), "%.200s/corrupt", tmp);
	CHECK(mkdir(dir, 0700) == 0);
	snprintf(path, sizeof(path), "%.200s/shop.db", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	for (int i = 0; i < 64; i++)
		CHECK(write(fd, "this is not a sqlite database, only some garbage bytes!!!!!!!!!!",
			  64) == 64);
	close(fd);
	cfg = make_config(dir);
	err[0] = '\0';
	s = open_cfg(base, cfg, err, sizeof(err));
	CHECK(s == NULL);
	CHECK(strstr(err, path) != NULL && strstr(err, "not a database") != NULL);
	fprintf(stderr, "(expected) %s\n", err);

	/* A database_url never opens the sqlite store, and its password is never told. */
	CHECK(config_set(cfg, "database_url", "postgresql://nobody:sekrit@/x?host=/nonexistent",
		  err, sizeof(err)) == 0);
	err[0] = '\0';
	s = open_cfg(base, cfg, err, sizeof(err));
	if (s == NULL) {
		CHECK(strstr(err, "postgres") != NULL && strstr(err, "sekrit") == NULL);
	} else {
		CHECK(strcmp(s->drv->name, "sqlite") != 0);
		store_close(s);
	}
	config_free(cfg);
}

static void
test_migrations(const char *dir, struct event_base *base)
{
	struct sim_config *cfg = make_config(dir);
	struct store_stats st;
	struct store *s;
	sqlite3 *db;
	char err[512], path[256];

	s = open_cfg(base, cfg, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL) {
		fprintf(stderr, "open: %s\n", err);
		exit(1);
	}
	store_stats(s, &st);
	CHECK(strcmp(st.driver, "sqlite") == 0 && st.max == 1 && st.connections_idle == 1);
	store_close(s);
	/* Again: the migrations find their work done. */
	s = open_cfg(base, cfg, err, sizeof(err));
	CHECK(s != NULL);
	store_close(s);
	snprintf(path, sizeof(path), "%.200s/shop.db", dir);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(q_int(db, "SELECT count(*) FROM schema_version") == 1);
	CHECK(q_int(db, "SELECT version FROM schema_version") == 2);
	CHECK(q_text_is(db, "PRAGMA journal_mode", "wal"));
	CHECK(q_int(db,
		  "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
		  " ('sim_meta', 'users', 'stores', 'products', 'coupons', 'user_coupons',"
		  " 'shopping_sessions', 'shopping_session_events', 'cart_items', 'orders',"
		  " 'order_items', 'interactions')") == 12);
	CHECK(q_int(db,
		  "SELECT count(*) FROM sqlite_master WHERE name ="
		  " 'products_category_price'") == 1);

	/* A database from a newer simd is refused, not downgraded. */
	CHECK(sqlite3_exec(db, "UPDATE schema_version SET version = 99", NULL, NULL, NULL) ==
	    SQLITE_OK);
	err[0] = '\0';
	CHECK(open_cfg(base, cfg, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "newer") != NULL && strstr(err, path) != NULL);
	CHECK(sqlite3_exec(db, "UPDATE schema_version SET version = 2", NULL, NULL, NULL) ==
	    SQLITE_OK);
	sqlite3_close(db);
	config_free(cfg);
}

/* ---- prepare ---- */

static void
prepare(struct harness *h, const struct catalog *c, const struct persona *personas)
{
	struct store_progress prog = { 0, 0 };
	struct store_setup su = {
		.catalog = c, .personas = personas, .nagents = NAGENTS, .progress = &prog
	};

	h->done = 0;
	h->in_submit = 1;
	store_prepare(h->store, &su, setup_done, h);
	h->in_submit = 0;
	CHECK(!h->done);
	wait_done(h);
	CHECK(h->done && h->done_err == STORE_OK);
	/* what status shows of the set-up: the catalogue in, every user written (or there) */
	CHECK(prog.catalog_written);
	CHECK(prog.users_written == NAGENTS || prog.users_written == 0);
	if (h->done_err != STORE_OK)
		fprintf(stderr, "prepare: %s\n", h->done_msg);
}

static int
wallets_match(sqlite3 *db, const struct catalog *c)
{
	uint32_t w[CATALOG_WALLET], a;
	char sql[160];
	int i, ok = 1;

	for (a = 0; a < NAGENTS; a++) {
		catalog_wallet(c, a, w);
		for (i = 0; i < CATALOG_WALLET; i++) {
			snprintf(sql, sizeof(sql),
			    "SELECT count(*) FROM user_coupons"
			    " WHERE user_id = %u AND coupon_id = %u",
			    a + 1, w[i]);
			ok &= q_int(db, sql) == 1;
		}
	}
	return ok;
}

static void
test_prepare_first(struct harness *h, const struct catalog *c, const struct persona *personas)
{
	prepare(h, c, personas);
	CHECK(q_int(h->db, "SELECT count(*) FROM users") == NAGENTS);
	CHECK(q_int(h->db, "SELECT count(*) FROM stores") == c->nstores);
	CHECK(q_int(h->db, "SELECT count(*) FROM products") == c->nproducts);
	CHECK(q_int(h->db, "SELECT count(*) FROM coupons") == c->ncoupons);
	CHECK(q_int(h->db, "SELECT count(*) FROM user_coupons") == NAGENTS * CATALOG_WALLET);
	CHECK(wallets_match(h->db, c));
	CHECK(q_text_is(h->db, "SELECT agent_id FROM users WHERE id = 1", "agent_001"));
	CHECK(q_text_is(h->db, "SELECT agent_id FROM users WHERE id = 50", "agent_050"));
	CHECK(
	    q_text_is(h->db, "SELECT created_at FROM users WHERE id = 1", "2026-01-05T00:00:00Z"));
	CHECK(q_int(h->db,
		  "SELECT count(*) FROM users WHERE json_valid(persona)"
		  " AND persona LIKE '{\"abandon_tendency\":%' AND instr(persona, '\": ') = 0"
		  " AND instr(persona, ', \"') = 0") == NAGENTS);
	CHECK(q_int(h->db,
		  "SELECT count(*) FROM users u WHERE u.name ="
		  " json_extract(u.persona, '$.name')") == NAGENTS);
	CHECK(q_int(h->db, "SELECT price_cents FROM products WHERE id = 5") ==
	    c->products[4].price_cents);
	CHECK(q_text_is(h->db, "SELECT category FROM products WHERE id = 6", "electronics"));
	CHECK(q_text_is(h->db, "SELECT value FROM sim_meta WHERE key = 'catalog_seed'", "11"));
	CHECK(q_int(h->db,
		  "SELECT count(*) FROM coupons WHERE valid_from < valid_to"
		  " AND valid_to LIKE '2026-%Z' AND pct_off BETWEEN 5 AND 50") == c->ncoupons);
}

/* Preparing again rewrites only what changed. */
static void
test_prepare_again(struct harness *h, const struct catalog *c, struct persona *personas)
{
	char saved[PERSONA_NAME_MAX];

	/* Same catalogue: nothing rewritten (a hand edit survives), nothing doubled. */
	CHECK(sqlite3_exec(h->db, "UPDATE products SET price_cents = 1 WHERE id = 5", NULL, NULL,
		  NULL) == SQLITE_OK);
	prepare(h, c, personas);
	CHECK(q_int(h->db, "SELECT price_cents FROM products WHERE id = 5") == 1);
	CHECK(q_int(h->db, "SELECT count(*) FROM users") == NAGENTS);
	CHECK(q_int(h->db, "SELECT count(*) FROM user_coupons") == NAGENTS * CATALOG_WALLET);

	/* Unchanged personas are not rewritten; a changed one is. */
	CHECK(sqlite3_exec(h->db, "UPDATE users SET name = 'Hand Edit' WHERE id = 2", NULL, NULL,
		  NULL) == SQLITE_OK);
	prepare(h, c, personas);
	CHECK(q_text_is(h->db, "SELECT name FROM users WHERE id = 2", "Hand Edit"));
	snprintf(saved, sizeof(saved), "%s", personas[3].name);
	snprintf(personas[3].name, sizeof(personas[3].name), "Renamed Shopper");
	prepare(h, c, personas);
	CHECK(q_text_is(h->db, "SELECT name FROM users WHERE id = 4", "Renamed Shopper"));
	CHECK(q_text_is(h->db, "SELECT json_extract(persona, '$.name') FROM users WHERE id = 4",
	    "Renamed Shopper"));
	CHECK(!q_text_is(h->db, "SELECT name FROM users WHERE id = 2", "Hand Edit"));
	snprintf(personas[3].name, sizeof(personas[3].name), "%s", saved);
	prepare(h, c, personas);
}

/* A different catalogue replaces the old one, wallets included; and back. */
static void
test_prepare_other(struct harness *h, const struct catalog *c, const struct persona *personas)
{
	struct catalog *other = catalog_new(SEED + 1, T0, 2, 40, 8);

	CHECK(other != NULL);
	if (other == NULL)
		return;
	prepare(h, other, personas);
	CHECK(q_int(h->db, "SELECT price_cents FROM products WHERE id = 5") ==
	    other->products[4].price_cents);
	CHECK(q_int(h->db, "SELECT count(*) FROM products") == 40);
	CHECK(q_int(h->db, "SELECT count(*) FROM stores") == 2);
	CHECK(wallets_match(h->db, other));
	CHECK(q_int(h->db, "SELECT count(*) FROM user_coupons") == NAGENTS * CATALOG_WALLET);
	catalog_free(other);

	prepare(h, c, personas);
	CHECK(q_int(h->db, "SELECT count(*) FROM products") == c->nproducts);
	CHECK(q_int(h->db, "SELECT price_cents FROM products WHERE id = 5") ==
	    c->products[4].price_cents);
	CHECK(wallets_match(h->db, c));
}

/* ---- a shopping session ---- */

static uint32_t
eligible(const struct catalog *c, uint32_t agent, int64_t t, uint32_t *first)
{
	uint32_t w[CATALOG_WALLET], n = 0;
	int i;

	catalog_wallet(c, agent, w);
	for (i = 0; i < CATALOG_WALLET; i++) {
		const struct coupon *cp = catalog_coupon(c, w[i]);

		if (cp != NULL && cp->valid_from <= t && t <= cp->valid_to) {
			if (n++ == 0 && first != NULL)
				*first = cp->id;
		}
	}
	return n;
}

/* One session of one agent, cycle 12, at 09:00. */
struct session {
	const struct catalog *c;
	int64_t t;
	uint32_t agent, coupon, eligible, total;
	const struct product *p1, *p2;
	char sql[320];
};

static long long
q_session(struct harness *h, struct session *ss, const char *fmt)
{
	/* fmt uses the agent's number (%03u) once or twice. */
	snprintf(ss->sql, sizeof(ss->sql), fmt, ss->agent + 1, ss->agent + 1);
	return q_int(h->db, ss->sql);
}

static void
step_begin(struct harness *h, struct session *ss)
{
	struct store_op op;
	struct store_stats st;

	new_op(&op, STORE_OP_BEGIN, ss->agent, 12, ss->t);
	add_event(&op, EV_SESSION_START, 0, 0, 0);
	op.cb = begin_visible_cb;
	op.arg = h;
	h->done = h->chained = 0;
	store_submit(h->store, &op);
	store_stats(h->store, &st);
	CHECK(st.connections_active == 1 && st.connections_idle == 0);
	wait_done(h);
	CHECK(h->done && h->chained == 1 && op.err == STORE_OK && op.result_count == 1);
	store_stats(h->store, &st);
	CHECK(st.connections_active == 0 && st.connections_idle == 1);
	CHECK(q_session(h, ss,
		  "SELECT count(*) FROM shopping_sessions WHERE session_key ="
		  " 's0:agent_%03u:12' AND outcome IS NULL AND started_at = '2026-01-05T09:00:00Z'"
		  " AND user_id = %u") == 1);
	CHECK(q_session(h, ss,
		  "SELECT count(*) FROM users WHERE id = %u AND"
		  " last_shopped_at = '2026-01-05T09:00:00Z'") == 1);
}

static void
step_browse_cart(struct harness *h, struct session *ss)
{
	const struct catalog *c = ss->c;
	const char *sum = "SELECT sum(quantity) FROM cart_items WHERE user_id = %u";
	struct store_op op;

	new_op(&op, STORE_OP_BROWSE, ss->agent, 12, ss->t);
	op.category = 0;
	add_event(&op, EV_VIEW, 1, ss->p1->id, ss->p1->price_cents);
	add_event(&op, EV_VIEW, 1, c->products[c->by_category[0][1]].id, 100);
	op.events[1].dt = 75; /* the second view, 75 s after the first */
	run_op(h, &op);
	CHECK(op.err == STORE_OK);
	CHECK(op.result_count > 0 &&
	    op.result_count == (c->ncategory[0] < 50 ? c->ncategory[0] : 50));
	CHECK(q_session(h, ss,
		  "SELECT count(*) FROM shopping_session_events WHERE event_key ="
		  " 's0:agent_%03u:12:1:0' AND created_at = '2026-01-05T09:00:00Z'") == 1);
	CHECK(q_session(h, ss,
		  "SELECT count(*) FROM shopping_session_events WHERE event_key ="
		  " 's0:agent_%03u:12:1:1' AND created_at = '2026-01-05T09:01:15Z'") == 1);

	/* The cart is set, never added to: a smaller cart replaces a larger one. */
	new_op(&op, STORE_OP_CART, ss->agent, 12, ss->t);
	add_item(&op, ss->p1, 2);
	add_item(&op, ss->p2, 1);
	add_event(&op, EV_CART_ADD, 2, ss->p1->id, 2);
	add_event(&op, EV_CART_ADD, 2, ss->p2->id, 1);
	run_op(h, &op);
	CHECK(op.err == STORE_OK && q_session(h, ss, sum) == 3);
	run_op(h, &op);
	CHECK(op.err == STORE_OK && q_session(h, ss, sum) == 3);
	op.nitems = 1;
	op.items[0].quantity = 4;
	run_op(h, &op);
	CHECK(q_session(h, ss, sum) == 4);
	op.nitems = 2;
	op.items[0].quantity = 2;
	run_op(h, &op);
	CHECK(op.err == STORE_OK && q_session(h, ss, sum) == 3);

	new_op(&op, STORE_OP_COUPONS, ss->agent, 12, ss->t);
	add_event(&op, EV_COUPONS_VIEWED, 3, 0, ss->eligible);
	run_op(h, &op);
	CHECK(op.err == STORE_OK && op.result_count == ss->eligible);
}

static void
check_order_rows(struct harness *h, struct session *ss)
{
	char want[64];

	snprintf(ss->sql, sizeof(ss->sql),
	    "SELECT total_cents FROM orders WHERE idem_key ="
	    " 's0:agent_%03u:12:order' AND coupon_id = %u AND session_id IS NOT NULL"
	    " AND created_at = '2026-01-05T09:01:00Z'",
	    ss->agent + 1, ss->coupon);
	CHECK(q_int(h->db, ss->sql) == ss->total);
	CHECK(q_int(h->db, "SELECT count(*) FROM order_items") == 2);
	snprintf(ss->sql, sizeof(ss->sql),
	    "SELECT quantity * 1000000 + price_cents FROM"
	    " order_items WHERE product_id = %u",
	    ss->p1->id);
	CHECK(q_int(h->db, ss->sql) == 2000000 + ss->p1->price_cents);
	snprintf(ss->sql, sizeof(ss->sql),
	    "SELECT count(*) FROM interactions WHERE"
	    " interaction_key = 's0:agent_%03u:12:order:%u' AND kind = 'purchase'",
	    ss->agent + 1, ss->p2->id);
	CHECK(q_int(h->db, ss->sql) == 1);
	CHECK(q_int(h->db, "SELECT count(*) FROM cart_items") == 0);
	snprintf(ss->sql, sizeof(ss->sql),
	    "SELECT count(*) FROM user_coupons WHERE user_id = %u"
	    " AND coupon_id = %u AND redeemed_at = '2026-01-05T09:01:00Z' AND order_key ="
	    " 's0:agent_%03u:12:order'",
	    ss->agent + 1, ss->coupon, ss->agent + 1);
	CHECK(q_int(h->db, ss->sql) == 1);
	CHECK(q_session(h, ss,
		  "SELECT count(*) FROM shopping_sessions WHERE session_key ="
		  " 's0:agent_%03u:12' AND outcome = 'ordered' AND ended_at IS NOT NULL") == 1);
	CHECK(q_session(h, ss,
		  "SELECT count(*) FROM shopping_session_events e JOIN"
		  " shopping_sessions s ON s.id = e.session_id WHERE s.session_key ="
		  " 's0:agent_%03u:12'") == 8);
	snprintf(ss->sql, sizeof(ss->sql),
	    "SELECT payload FROM shopping_session_events WHERE"
	    " event_key = 's0:agent_%03u:12:4:1' AND event_type = 'checkout'",
	    ss->agent + 1);
	snprintf(want, sizeof(want), "{\"total_cents\":%u}", ss->total);
	CHECK(q_text_is(h->db, ss->sql, want));
}

static void
step_checkout(struct harness *h, struct session *ss)
{
	struct store_op op;

	ss->total = (2 * ss->p1->price_cents + ss->p2->price_cents) * 90 / 100;
	new_op(&op, STORE_OP_CHECKOUT, ss->agent, 12, ss->t + 60);
	add_item(&op, ss->p1, 2);
	add_item(&op, ss->p2, 1);
	op.coupon_id = ss->coupon;
	op.total_cents = ss->total;
	add_event(&op, EV_COUPON_APPLIED, 4, ss->coupon, 0);
	add_event(&op, EV_CHECKOUT, 4, 0, ss->total);
	run_op(h, &op);
	CHECK(op.err == STORE_OK && op.result_count == 1);
	check_order_rows(h, ss);

	/* The same checkout again (a retry, a replay): nothing doubles. */
	run_op(h, &op);
	CHECK(op.err == STORE_OK && op.result_count == 0);
	CHECK(q_int(h->db, "SELECT count(*) FROM orders") == 1);
	CHECK(q_int(h->db, "SELECT count(*) FROM order_items") == 2);
	CHECK(q_int(h->db, "SELECT count(*) FROM interactions") == 2);
	CHECK(q_int(h->db, "SELECT count(*) FROM shopping_session_events") == 8);
	CHECK(q_session(h, ss,
		  "SELECT count(*) FROM user_coupons WHERE user_id = %u AND"
		  " redeemed_at IS NOT NULL") == 1);
	check_order_rows(h, ss);

	/* A redeemed coupon is no longer eligible. */
	new_op(&op, STORE_OP_COUPONS, ss->agent, 13, ss->t + 3600);
	run_op(h, &op);
	CHECK(op.err == STORE_OK &&
	    op.result_count == eligible(ss->c, ss->agent, ss->t + 3600, NULL) - 1);
}

static void
test_checkout(struct harness *h, const struct catalog *c)
{
	struct session ss = { .c = c, .t = T0 + 9 * 3600 };

	/* An agent with a coupon it can use now. */
	while (ss.agent < NAGENTS && (ss.eligible = eligible(c, ss.agent, ss.t, &ss.coupon)) == 0)
		ss.agent++;
	CHECK(ss.agent < NAGENTS && ss.eligible > 0);
	ss.p1 = &c->products[c->by_category[0][0]];
	ss.p2 = &c->products[c->by_category[5][0]];
	step_begin(h, &ss);
	step_browse_cart(h, &ss);
	step_checkout(h, &ss);
}

static void
test_abandon(struct harness *h, const struct catalog *c)
{
	const int64_t t = T0 + 20 * 3600;
	struct store_op op;
	long long events;

	events = q_int(h->db, "SELECT count(*) FROM shopping_session_events");
	new_op(&op, STORE_OP_BEGIN, 1, 20, t);
	run_op(h, &op);
	new_op(&op, STORE_OP_CART, 1, 20, t);
	add_item(&op, &c->products[3], 1);
	run_op(h, &op);
	new_op(&op, STORE_OP_ABANDON, 1, 20, t + 120);
	op.outcome = "bogus";
	run_op(h, &op);
	CHECK(op.err == STORE_ERR_QUERY && strstr(op.errmsg, "outcome") != NULL);
	op.outcome = "abandoned";
	add_event(&op, EV_ABANDON, 3, 0, c->products[3].price_cents);
	run_op(h, &op);
	CHECK(op.err == STORE_OK);
	CHECK(
	    q_int(h->db,
		"SELECT count(*) FROM shopping_sessions WHERE session_key ="
		" 's0:agent_002:20' AND outcome = 'abandoned' AND ended_at = '2026-01-05T20:02:00Z'") ==
	    1);
	CHECK(q_int(h->db, "SELECT count(*) FROM cart_items WHERE user_id = 2") == 1);
	CHECK(q_int(h->db, "SELECT count(*) FROM shopping_session_events") == events + 1);
	CHECK(q_text_is(h->db,
	    "SELECT event_type FROM shopping_session_events WHERE event_key"
	    " = 's0:agent_002:20:3:0'",
	    "abandon"));
	CHECK(q_int(h->db, "SELECT count(*) FROM orders WHERE user_id = 2") == 0);

	/* Replaying BEGIN neither duplicates the session nor reopens it. */
	new_op(&op, STORE_OP_BEGIN, 1, 20, t);
	run_op(h, &op);
	CHECK(op.err == STORE_OK && op.result_count == 0);
	CHECK(q_int(h->db, "SELECT count(*) FROM shopping_sessions WHERE user_id = 2") == 1);

	new_op(&op, STORE_OP_BROWSE, 1, 20, t);
	op.category = CATALOG_CATEGORIES;
	run_op(h, &op);
	CHECK(op.err == STORE_ERR_QUERY && strstr(op.errmsg, "category") != NULL);
}

/* The cart becomes exactly the step's lines: the others go, the kept ones are set. */
static void
test_cart_prune(struct harness *h, const struct catalog *c)
{
	const int64_t t = T0 + 21 * 3600;
	struct store_op op;
	int i;

	new_op(&op, STORE_OP_BEGIN, 2, 21, t);
	run_op(h, &op);
	new_op(&op, STORE_OP_CART, 2, 21, t);
	for (i = 0; i < 3; i++)
		add_item(&op, &c->products[10 + i], 1);
	run_op(h, &op);
	CHECK(op.err == STORE_OK);
	CHECK(q_int(h->db, "SELECT count(*) FROM cart_items WHERE user_id = 3") == 3);
	new_op(&op, STORE_OP_CART, 2, 21, t);
	add_item(&op, &c->products[11], 4);
	run_op(h, &op);
	CHECK(op.err == STORE_OK);
	CHECK(q_int(h->db, "SELECT count(*) FROM cart_items WHERE user_id = 3") == 1);
	CHECK(q_int(h->db, "SELECT quantity FROM cart_items WHERE user_id = 3") == 4);
	CHECK(q_int(h->db, "SELECT product_id FROM cart_items WHERE user_id = 3") ==
	    c->products[11].id);
	new_op(&op, STORE_OP_CART, 2, 21, t);
	run_op(h, &op);
	CHECK(op.err == STORE_OK);
	CHECK(q_int(h->db, "SELECT count(*) FROM cart_items WHERE user_id = 3") == 0);
}

/* A session that could not finish ends 'failed', whether or not its BEGIN landed. */
static void
test_fail(struct harness *h)
{
	const int64_t t = T0 + 21 * 3600;
	struct store_op op;

	new_op(&op, STORE_OP_BEGIN, 2, 21, t);
	run_op(h, &op);
	new_op(&op, STORE_OP_FAIL, 2, 21, t + 90);
	run_op(h, &op);
	CHECK(op.err == STORE_ERR_QUERY && strstr(op.errmsg, "reason") != NULL);
	snprintf(op.reason, sizeof(op.reason), "query at checkout");
	op.started = t;
	run_op(h, &op);
	CHECK(op.err == STORE_OK);
	CHECK(
	    q_int(h->db,
		"SELECT count(*) FROM shopping_sessions WHERE session_key ="
		" 's0:agent_003:21' AND outcome = 'failed' AND error = 'query at checkout' AND"
		" started_at = '2026-01-05T21:00:00Z' AND ended_at = '2026-01-05T21:01:30Z'") == 1);
	/* never begun: the row is written, so nothing looks in progress */
	new_op(&op, STORE_OP_FAIL, 3, 21, t + 5);
	snprintf(op.reason, sizeof(op.reason), "connect at begin");
	op.started = t;
	run_op(h, &op);
	run_op(h, &op); /* and a replay changes nothing */
	CHECK(op.err == STORE_OK);
	CHECK(q_int(h->db,
		  "SELECT count(*) FROM shopping_sessions WHERE session_key ="
		  " 's0:agent_004:21' AND outcome = 'failed' AND error = 'connect at begin' AND"
		  " user_id = 4") == 1);
}

/* ---- completions: from the loop, in order, never nested ---- */

static void
chain_cb(struct store_op *op, void *arg)
{
	struct harness *h = arg;

	if (h->in_submit)
		h->cb_inside_submit = 1;
	if (++h->depth > h->max_depth)
		h->max_depth = h->depth;
	if (op->err == STORE_OK && ++h->chained < 200) {
		op->cycle++;
		h->in_submit = 1;
		store_submit(h->store, op); /* the next step, from the callback */
		h->in_submit = 0;
	} else {
		h->done = 1;
	}
	h->depth--;
}

static void
order_cb(struct store_op *op, void *arg)
{
	int *seen = arg;

	seen[op->cycle] = seen[32]++;
}

static void
test_completions(struct harness *h)
{
	struct store_op op, ops[8];
	struct store_stats st1, st2;
	int seen[33] = { 0 }, i, ok = 1;

	new_op(&op, STORE_OP_BEGIN, 44, 100, T0);
	op.cb = chain_cb;
	op.arg = h;
	h->done = h->chained = h->depth = h->max_depth = 0;
	store_stats(h->store, &st1);
	h->in_submit = 1;
	store_submit(h->store, &op);
	h->in_submit = 0;
	wait_done(h);
	CHECK(h->done && h->chained == 200 && h->max_depth == 1 && !h->cb_inside_submit);
	CHECK(q_int(h->db, "SELECT count(*) FROM shopping_sessions WHERE user_id = 45") == 200);
	store_stats(h->store, &st2);
	CHECK(st2.queries >= st1.queries + 200 * 4);

	/* Completions run in submission order. */
	for (i = 0; i < 8; i++) {
		new_op(&ops[i], STORE_OP_COUPONS, 45, (uint32_t)i, T0);
		ops[i].cb = order_cb;
		ops[i].arg = seen;
		store_submit(h->store, &ops[i]);
	}
	CHECK(seen[32] == 0);
	for (i = 0; i < 100 && seen[32] < 8; i++)
		event_base_loop(h->base, EVLOOP_ONCE);
	for (i = 0; i < 8; i++)
		ok &= seen[i] == i;
	CHECK(seen[32] == 8 && ok);

	h->done = 0;
	h->in_submit = 1;
	store_flush(h->store, setup_done, h);
	h->in_submit = 0;
	CHECK(!h->done);
	wait_done(h);
	CHECK(h->done && h->done_err == STORE_OK && !h->cb_inside_submit);
}

/*
 * Operations share a transaction but not their fate: one that fails leaves
 * nothing behind and takes nothing of its neighbours with it.
 */
static void
test_batch_failure(struct harness *h, const struct catalog *c)
{
	struct store_op a, b, d;
	char *create = NULL;
	sqlite3_stmt *st;
	int i;

	CHECK(sqlite3_prepare_v2(h->db,
		  "SELECT sql FROM sqlite_master WHERE name ="
		  " 'interactions'",
		  -1, &st, NULL) == SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		create = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	CHECK(create != NULL);
	if (create == NULL)
		return;
	CHECK(sqlite3_exec(h->db, "DROP TABLE interactions", NULL, NULL, NULL) == SQLITE_OK);

	new_op(&a, STORE_OP_BEGIN, 30, 7, T0);
	new_op(&b, STORE_OP_CHECKOUT, 31, 7, T0);
	add_item(&b, &c->products[0], 1);
	b.total_cents = c->products[0].price_cents;
	add_event(&b, EV_CHECKOUT, 4, 0, b.total_cents);
	new_op(&d, STORE_OP_BEGIN, 32, 7, T0);
	add_event(&d, EV_SESSION_START, 0, 0, 0);
	a.cb = b.cb = d.cb = op_done;
	a.arg = b.arg = d.arg = h;
	store_submit(h->store, &a);
	store_submit(h->store, &b);
	store_submit(h->store, &d);
	h->done = 0;
	for (i = 0; i < 10 && !h->done; i++)
		event_base_loop(h->base, EVLOOP_ONCE);
	CHECK(a.err == STORE_OK && d.err == STORE_OK);
	CHECK(b.err == STORE_ERR_QUERY && strstr(b.errmsg, "interactions") != NULL);
	fprintf(stderr, "(expected) %s\n", b.errmsg);
	CHECK(q_int(h->db,
		  "SELECT count(*) FROM shopping_sessions WHERE session_key IN"
		  " ('s0:agent_031:7', 's0:agent_033:7')") == 2);
	CHECK(q_int(h->db,
		  "SELECT count(*) FROM shopping_session_events WHERE event_key ="
		  " 's0:agent_033:7:0:0'") == 1);
	CHECK(q_int(h->db, "SELECT count(*) FROM orders WHERE idem_key = 's0:agent_032:7:order'") ==
	    0);
	CHECK(q_int(h->db,
		  "SELECT count(*) FROM shopping_session_events WHERE event_key LIKE"
		  " 's0:agent_032:%'") == 0);

	/* With the table back, the retry goes through. */
	CHECK(sqlite3_exec(h->db, create, NULL, NULL, NULL) == SQLITE_OK);
	free(create);
	run_op(h, &b);
	CHECK(b.err == STORE_OK);
	CHECK(q_int(h->db, "SELECT count(*) FROM orders WHERE idem_key = 's0:agent_032:7:order'") ==
	    1);
	CHECK(q_int(h->db,
		  "SELECT count(*) FROM interactions WHERE interaction_key LIKE"
		  " 's0:agent_032:7:order:%'") == 1);
}

/* ---- close ---- */

struct closer {
	struct store *store;
	int calls;
	enum store_err errs[4];
};

static void
close_cb(struct store_op *op, void *arg)
{
	struct closer *cl = arg;

	cl->errs[cl->calls++ & 3] = op->err;
	/* The first completion closes the store from inside the drain. */
	if (cl->calls == 1)
		store_close(cl->store);
}

static void
count_cb(struct store_op *op, void *arg)
{
	struct closer *cl = arg;

	cl->errs[cl->calls++ & 3] = op->err;
}

static void
test_close(const char *dir, struct event_base *base)
{
	struct sim_config *cfg = make_config(dir);
	struct store_op a, b, c;
	struct closer cl = { 0 };
	char err[512];
	int i;

	/* Closing with completions pending runs them, with STORE_ERR_CLOSED, at close. */
	cl.store = open_cfg(base, cfg, err, sizeof(err));
	CHECK(cl.store != NULL);
	new_op(&a, STORE_OP_COUPONS, 0, 1, T0);
	a.cb = count_cb;
	a.arg = &cl;
	store_submit(cl.store, &a);
	CHECK(cl.calls == 0);
	store_close(cl.store);
	CHECK(cl.calls == 1 && cl.errs[0] == STORE_ERR_CLOSED);
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(cl.calls == 1);

	/* A callback that closes the store: the rest complete, nothing is used after free. */
	memset(&cl, 0, sizeof(cl));
	cl.store = open_cfg(base, cfg, err, sizeof(err));
	CHECK(cl.store != NULL);
	new_op(&a, STORE_OP_COUPONS, 0, 1, T0);
	new_op(&b, STORE_OP_COUPONS, 0, 2, T0);
	new_op(&c, STORE_OP_COUPONS, 0, 3, T0);
	a.cb = close_cb, b.cb = count_cb, c.cb = count_cb;
	a.arg = b.arg = c.arg = &cl;
	store_submit(cl.store, &a);
	store_submit(cl.store, &b);
	store_submit(cl.store, &c);
	for (i = 0; i < 10 && cl.calls < 3; i++)
		event_base_loop(base, EVLOOP_ONCE);
	CHECK(cl.calls == 3);
	CHECK(cl.errs[0] == STORE_OK && cl.errs[1] == STORE_ERR_CLOSED &&
	    cl.errs[2] == STORE_ERR_CLOSED);
	config_free(cfg);
}

/* While users are written slice by slice, the progress says how far (status shows it). */
struct probe {
	struct event *ev;
	const struct store_progress *prog;
	const int *done;
	uint32_t between; /* a count seen strictly between none and all */
	uint32_t n;
};

/* Runs between the store's slices (both re-arm at once: the loop takes turns). */
static void
probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;

	if (p->prog->users_written > 0 && p->prog->users_written < p->n)
		p->between = p->prog->users_written;
	if (!*p->done)
		event_active(p->ev, EV_TIMEOUT, 0);
}

static void
test_prepare_progress(const char *tmp, struct event_base *base, const struct catalog *c)
{
	enum { N = 1000 }; /* five slices */
	struct persona *personas = calloc(N, sizeof(*personas));
	struct store_progress prog = { 0, 0 };
	struct store_setup su = {
		.catalog = c, .personas = personas, .nagents = N, .progress = &prog
	};
	struct harness h = { 0 };
	struct probe pr = { NULL, &prog, &h.done, 0, N };
	struct sim_config *cfg;
	char dir[256], err[512];

	snprintf(dir, sizeof(dir), "%.200s/progress", tmp);
	CHECK(personas != NULL && mkdir(dir, 0700) == 0);
	cfg = make_config(dir);
	h.base = base;
	h.store = open_cfg(base, cfg, err, sizeof(err));
	pr.ev = event_new(base, -1, 0, probe_cb, &pr);
	CHECK(h.store != NULL && pr.ev != NULL);
	if (h.store != NULL && personas != NULL && pr.ev != NULL) {
		for (uint32_t a = 0; a < N; a++)
			persona_generate(&personas[a], SEED, a);
		store_prepare(h.store, &su, setup_done, &h);
		CHECK(prog.catalog_written && prog.users_written == 0); /* the catalogue first */
		event_active(pr.ev, EV_TIMEOUT, 0);
		wait_done(&h);
		CHECK(h.done && h.done_err == STORE_OK && prog.users_written == N);
		CHECK(pr.between > 0); /* seen part of the way */
		store_close(h.store);
	}
	if (pr.ev != NULL)
		event_free(pr.ev);
	config_free(cfg);
	free(personas);
}

/*
 * A store in tmp/name with sqlite_commit_interval = 10 (far longer than a
 * test: commits are flush's), and h->db on its file; its config, or NULL
 * when it could not open (the failure checked).
 */
static struct sim_config *
open_named(struct harness *h, const char *tmp, const char *name, struct event_base *base,
    const char *interval)
{
	char dir[256], path[300], err[512];
	struct sim_config *cfg;

	snprintf(dir, sizeof(dir), "%.200s/%s", tmp, name);
	CHECK(mkdir(dir, 0700) == 0);
	cfg = make_config(dir);
	CHECK(config_set(cfg, "sqlite_commit_interval", interval, err, sizeof(err)) == 0);
	h->base = base;
	h->store = open_cfg(base, cfg, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/shop.db", dir);
	CHECK(h->store != NULL && sqlite3_open(path, &h->db) == SQLITE_OK);
	if (h->store == NULL) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

static struct sim_config *
open_interval(struct harness *h, const char *tmp, const char *name, struct event_base *base)
{
	return open_named(h, tmp, name, base, "10");
}

/*
 * sqlite_commit_interval above 0: a step completes before its commit (its row
 * is not yet visible to another connection), the steps that follow share the
 * transaction, and flush() commits them and completes once the checkpointer
 * thread has checkpointed the WAL.  (The interval is the longest allowed, far
 * longer than the test, so the commit is flush's.)
 */
static void
test_commit_interval(const char *tmp, struct event_base *base)
{
	struct sim_config *cfg;
	struct harness h = { 0 };
	struct store_op op[3];
	sqlite3_stmt *st;
	int i;

	if ((cfg = open_interval(&h, tmp, "interval", base)) == NULL)
		return;
	for (i = 0; i < 3; i++) {
		new_op(&op[i], STORE_OP_BEGIN, 40 + (uint32_t)i, 1, T0);
		op[i].cb = begin_visible_cb;
		op[i].arg = &h;
		h.done = 0;
		h.chained = -1;
		store_submit(h.store, &op[i]);
		wait_done(&h);
		CHECK(h.done && op[i].err == STORE_OK && op[i].result_count == 1);
		CHECK(h.chained == 0); /* completed, not yet committed */
	}
	CHECK(q_int(h.db, "SELECT count(*) FROM shopping_sessions") == 0);
	flush_ok(&h);
	CHECK(q_int(h.db, "SELECT count(*) FROM shopping_sessions") == 3);
	/* the thread's checkpoint left nothing in the WAL to copy */
	CHECK(
	    sqlite3_prepare_v2(h.db, "PRAGMA wal_checkpoint(PASSIVE)", -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_int(st, 1) == sqlite3_column_int(st, 2));
	sqlite3_finalize(st);
	store_close(h.store);
	sqlite3_close(h.db);
	config_free(cfg);
}

/*
 * The same with completions before the commit: a step that fails after
 * others completed in the open transaction takes only its own rows back,
 * and the steps run with it since the last completions are run again (the
 * group's savepoint), their rows and counts as if nothing had failed.
 */
static void
count_done(struct store_op *op, void *arg)
{
	(*(int *)arg)++;
}

static void
test_group_failure(const char *tmp, struct event_base *base)
{
	struct sim_config *cfg;
	struct harness h = { 0 };
	struct store_op a, ops[3];
	int i, done = 0;

	if ((cfg = open_interval(&h, tmp, "group", base)) == NULL)
		return;
	CHECK(sqlite3_exec(h.db,
		  "CREATE TRIGGER refuse_nine BEFORE INSERT ON shopping_session_events"
		  " WHEN NEW.user_id = 9 BEGIN SELECT RAISE(ABORT, 'refused for user 9'); END",
		  NULL, NULL, NULL) == SQLITE_OK);
	new_op(&a, STORE_OP_BEGIN, 0, 1, T0);
	run_op(&h, &a); /* completed, in the open transaction */
	CHECK(a.err == STORE_OK && a.rows == 1);
	for (i = 0; i < 3; i++) {
		new_op(&ops[i], STORE_OP_BEGIN, (uint32_t)(i == 1 ? 8 : 1 + i), 1, T0);
		add_event(&ops[i], EV_SESSION_START, 0, 0, 0);
		add_event(&ops[i], EV_VIEW, 1, 5, 100);
		ops[i].cb = count_done;
		ops[i].arg = &done;
		store_submit(h.store, &ops[i]);
	}
	for (i = 0; i < 100 && done < 3; i++)
		event_base_loop(h.base, EVLOOP_ONCE);
	CHECK(done == 3);
	CHECK(ops[0].err == STORE_OK && ops[2].err == STORE_OK);
	CHECK(ops[0].rows == 3 && ops[2].rows == 3 && ops[0].result_count == 1);
	CHECK(ops[1].err == STORE_ERR_QUERY && strstr(ops[1].errmsg, "refused") != NULL);
	flush_ok(&h);
	CHECK(q_int(h.db, "SELECT count(*) FROM shopping_sessions") == 3);
	CHECK(q_int(h.db, "SELECT count(*) FROM shopping_sessions WHERE user_id = 9") == 0);
	CHECK(q_int(h.db, "SELECT count(*) FROM shopping_session_events") == 4);
	CHECK(q_int(h.db,
		  "SELECT count(*) FROM shopping_session_events e JOIN shopping_sessions s"
		  " ON s.id = e.session_id AND s.user_id = e.user_id") == 4);
	store_close(h.store);
	sqlite3_close(h.db);
	config_free(cfg);
}

/* A session's chain: begin, its cart, its end (abandoned), for agent `agent' in cycle 1. */
static void
chain_ops(struct store_op *ops, uint32_t agent, const struct catalog *c, int *done)
{
	int i;

	new_op(&ops[0], STORE_OP_BEGIN, agent, 1, T0);
	add_event(&ops[0], EV_SESSION_START, 0, 0, 0);
	new_op(&ops[1], STORE_OP_CART, agent, 1, T0 + 60);
	add_item(&ops[1], &c->products[3], 1);
	add_event(&ops[1], EV_CART_ADD, 1, c->products[3].id, 1);
	new_op(&ops[2], STORE_OP_ABANDON, agent, 1, T0 + 120);
	ops[2].outcome = "abandoned";
	add_event(&ops[2], EV_ABANDON, 2, 0, c->products[3].price_cents);
	for (i = 0; i < 3; i++) {
		ops[i].cb = count_done;
		ops[i].arg = done;
	}
}

static void
wait_count(struct harness *h, const int *done, int want)
{
	int spins;

	for (spins = 0; spins < 1000 && *done < want; spins++)
		event_base_loop(h->base, EVLOOP_ONCE);
	CHECK(*done == want);
}

/*
 * Chains (store_submit_chain): a session's steps go in together, sharing the
 * open transaction with the other sessions'.  When one fails, the steps
 * after it in its chain do not run -- no session ends without the cart it
 * had -- while the other chains land whole; sent again, the rest lands.
 * With completions after the commit (interval "0") and before it ("10",
 * where the failure rolls back a group that the other chain shares).
 */
static void
test_chain_failure(
    const char *tmp, struct event_base *base, const struct catalog *c, const char *interval)
{
	struct store_op a[3], b[3];
	struct store_op *pa[3] = { &a[0], &a[1], &a[2] }, *pb[3] = { &b[0], &b[1], &b[2] };
	struct sim_config *cfg;
	struct harness h = { 0 };
	char name[32];
	int i, done = 0;

	snprintf(name, sizeof(name), "chain%s", interval);
	if ((cfg = open_named(&h, tmp, name, base, interval)) == NULL)
		return;
	CHECK(store_chains(h.store));
	CHECK(sqlite3_exec(h.db,
		  "CREATE TRIGGER refuse_nine BEFORE INSERT ON cart_items"
		  " WHEN NEW.user_id = 9 BEGIN SELECT RAISE(ABORT, 'refused for user 9'); END",
		  NULL, NULL, NULL) == SQLITE_OK);
	chain_ops(a, 8, c, &done); /* users.id 9: its cart is refused */
	chain_ops(b, 3, c, &done);
	store_submit_chain(h.store, pa, 3);
	store_submit_chain(h.store, pb, 3);
	CHECK(done == 0); /* completed later, from the loop */
	wait_count(&h, &done, 6);
	CHECK(a[0].err == STORE_OK && a[0].rows == 2);
	CHECK(a[1].err == STORE_ERR_QUERY && strstr(a[1].errmsg, "refused") != NULL);
	CHECK(a[2].err == STORE_ERR_QUERY && strstr(a[2].errmsg, "not run") != NULL);
	CHECK(a[2].rows == 0);
	for (i = 0; i < 3; i++)
		CHECK(b[i].err == STORE_OK && b[i].rows > 0);
	flush_ok(&h);
	CHECK(q_int(h.db,
		  "SELECT count(*) FROM shopping_sessions WHERE user_id = 9"
		  " AND outcome IS NULL") == 1);
	CHECK(q_int(h.db,
		  "SELECT count(*) FROM shopping_sessions WHERE user_id = 4"
		  " AND outcome = 'abandoned'") == 1);
	CHECK(q_int(h.db, "SELECT count(*) FROM shopping_session_events WHERE user_id = 9") == 1);
	CHECK(q_int(h.db, "SELECT count(*) FROM shopping_session_events WHERE user_id = 4") == 3);
	CHECK(q_int(h.db, "SELECT count(*) FROM cart_items WHERE user_id = 9") == 0);

	/* The chain again from its failed step, as the session sends it. */
	CHECK(sqlite3_exec(h.db, "DROP TRIGGER refuse_nine", NULL, NULL, NULL) == SQLITE_OK);
	done = 0;
	store_submit_chain(h.store, pa + 1, 2);
	wait_count(&h, &done, 2);
	CHECK(a[1].err == STORE_OK && a[2].err == STORE_OK);
	flush_ok(&h);
	CHECK(q_int(h.db,
		  "SELECT count(*) FROM shopping_sessions WHERE user_id = 9"
		  " AND outcome = 'abandoned'") == 1);
	CHECK(q_int(h.db, "SELECT count(*) FROM shopping_session_events WHERE user_id = 9") == 3);
	store_close(h.store);
	sqlite3_close(h.db);
	config_free(cfg);
}

/*
 * A long run keeps the WAL bounded: past a few thousand frames, steps wait
 * (completed later, in order, never failed) for a checkpoint that copies all
 * of the WAL, and the next transaction starts it again from its beginning.
 */
static void
test_wal_bounded(const char *tmp, struct event_base *base)
{
	struct sim_config *cfg;
	struct harness h = { 0 };
	struct store_op op;
	struct stat sb;
	char dir[256], path[300], err[512];
	off_t peak = 0;
	uint32_t i;
	int ok = 1;

	snprintf(dir, sizeof(dir), "%.200s/walbound", tmp);
	CHECK(mkdir(dir, 0700) == 0);
	cfg = make_config(dir);
	h.base = base;
	h.store = open_cfg(base, cfg, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/shop.db-wal", dir);
	CHECK(h.store != NULL);
	if (h.store == NULL) {
		config_free(cfg);
		return;
	}
	for (i = 0; i < 24000 && ok; i++) {
		new_op(&op, STORE_OP_BEGIN, i % 50, i / 50, T0);
		add_event(&op, EV_VIEW, 1, i + 1, 100);
		run_op(&h, &op);
		ok = op.err == STORE_OK && op.result_count == 1;
		if (stat(path, &sb) == 0 && sb.st_size > peak)
			peak = sb.st_size;
	}
	CHECK(ok);
	/* 24,000 commits of several pages each, but never far past the hold's 16,000 frames */
	CHECK(peak > 0 && peak < (off_t)20000 * 4120);
	store_close(h.store);
	config_free(cfg);
}

int
main(void)
{
	char tmpl[128], dir[256], path[256], err[512];
	struct persona personas[NAGENTS];
	struct harness h = { 0 };
	struct sim_config *cfg;
	struct catalog *c;
	char *tmp;
	uint32_t a;

	test_helpers();
	test_formats();
	test_persona_json();
	if ((tmp = mkdtemp(check_tmpl(tmpl, sizeof(tmpl), "simd-store-test", 90))) == NULL ||
	    (h.base = event_base_new()) == NULL) {
		perror("set-up");
		return 1;
	}
	test_open_errors(tmp, h.base);
	snprintf(dir, sizeof(dir), "%.200s/data", tmp);
	CHECK(mkdir(dir, 0700) == 0);
	test_migrations(dir, h.base);

	c = catalog_new(SEED, T0, 3, 60, 10);
	CHECK(c != NULL);
	for (a = 0; a < NAGENTS; a++)
		persona_generate(&personas[a], SEED, a);
	cfg = make_config(dir);
	h.store = open_cfg(h.base, cfg, err, sizeof(err));
	snprintf(path, sizeof(path), "%.200s/shop.db", dir);
	CHECK(h.store != NULL && sqlite3_open(path, &h.db) == SQLITE_OK);
	if (h.store == NULL || c == NULL)
		return CHECK_DONE();
	sqlite3_busy_timeout(h.db, 5000);
	test_prepare_first(&h, c, personas);
	test_prepare_again(&h, c, personas);
	test_prepare_other(&h, c, personas);
	test_checkout(&h, c);
	test_abandon(&h, c);
	test_cart_prune(&h, c);
	test_fail(&h);
	test_completions(&h);
	test_batch_failure(&h, c);
	store_close(h.store);
	sqlite3_close(h.db);
	config_free(cfg);
	test_close(dir, h.base);
	test_prepare_progress(tmp, h.base, c);
	test_commit_interval(tmp, h.base);
	test_group_failure(tmp, h.base);
	test_wal_bounded(tmp, h.base);
	test_chain_failure(tmp, h.base, c, "0");
	test_chain_failure(tmp, h.base, c, "10");

	catalog_free(c);
	event_base_free(h.base);
	snprintf(path, sizeof(path), "rm -rf '%.200s'", tmp);
	if (system(path) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
	return CHECK_DONE();
}
