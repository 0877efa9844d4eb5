/*
 * store_pg.c - the PostgreSQL store driver against a real server ($PG_URL).
 *
 * Each run works in a database of its own, created through $PG_URL and dropped
 * at the end; rows are checked through a separate, plain libpq connection.
 * The restart check needs to run pg_ctl: it uses $PG_DIR (tests/lib/pg.sh) and
 * otherwise stands in a pg_terminate_backend() of every connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "check.h"
#include "pgtest.h"
#include "sim/catalog.h"
#include "sim/config.h"
#include "sim/persona.h"
#include "sim/store.h"

#define NAGENTS 50
#define SIM_START 1767600000 /* 2026-01-05T08:00:00Z */

struct t {
	struct event_base *base;
	struct event *tick;
	PGconn *admin;  /* the test database, for checks */
	char url[1024]; /* conninfo of the test database */
	char db[64];
	struct catalog *cat;
	struct persona *personas;
	int in_submit; /* a callback must never see this set */
	int cb_inside;
};

static struct sim_config *
cfg_for(const char *url)
{
	struct sim_config *c = config_new();

	if (c == NULL)
		return NULL;
	free(c->database_url);
	c->database_url = strdup(url);
	c->connect_timeout = 5;
	return c;
}

static struct store *
open_store(struct t *t, struct sim_config *c, char *err, size_t errlen)
{
	struct store_opts o;

	store_opts_from_config(&o, c);
	return store_pg_driver.open(t->base, &o, err, errlen);
}

static struct store *
open_lite(struct t *t, struct sim_config *c, char *err, size_t errlen)
{
	struct store_opts o;

	store_opts_from_config(&o, c);
	return store_sqlite_driver.open(t->base, &o, err, errlen);
}

static void
op_cb(struct store_op *op, void *arg)
{
	struct t *t = ((void **)arg)[0];
	struct done *d = ((void **)arg)[1];

	if (t->in_submit)
		t->cb_inside = 1;
	d->done = 1;
	d->err = op->err;
	snprintf(d->msg, sizeof(d->msg), "%s", op->errmsg);
}

/* Submits op and runs the loop until it completes; its error. */
static enum store_err
run_op_on(struct t *t, const struct store_driver *drv, struct store *s, struct store_op *op)
{
	struct done d = { 0 };
	void *arg[2] = { t, &d };

	op->cb = op_cb;
	op->arg = arg;
	t->in_submit = 1;
	drv->submit(s, op);
	t->in_submit = 0;
	CHECK(!d.done); /* never completed inside submit */
	if (!run_until(t->base, &d.done, 10)) {
		fprintf(stderr, "op %s did not complete\n", store_op_name(op->type));
		return STORE_ERR_COUNT;
	}
	if (d.err != STORE_OK)
		fprintf(stderr, "  op %s -> %s\n", store_op_name(op->type), d.msg);
	return d.err;
}

static enum store_err
run_op(struct t *t, struct store *s, struct store_op *op)
{
	return run_op_on(t, &store_pg_driver, s, op);
}

static enum store_err
run_flush(struct t *t, struct store *s)
{
	struct done d = { 0 };

	store_pg_driver.flush(s, done_cb, &d);
	CHECK(!d.done);
	if (!run_until(t->base, &d.done, 10))
		return STORE_ERR_COUNT;
	return d.err;
}

static enum store_err
run_prepare_on(struct t *t, const struct store_driver *drv, struct store *s,
    const struct catalog *cat, uint32_t nagents)
{
	struct store_progress prog = { 0, 0 };
	struct store_setup su = {
		.catalog = cat, .personas = t->personas, .nagents = nagents, .progress = &prog
	};
	struct done d = { 0 };

	drv->prepare(s, &su, done_cb, &d);
	CHECK(!d.done);
	if (!run_until(t->base, &d.done, 20))
		return STORE_ERR_COUNT;
	if (d.err != STORE_OK)
		fprintf(stderr, "prepare: %s\n", d.msg);
	else /* what status shows of the set-up: catalogue in, every user (or none: there) */
		CHECK(prog.catalog_written &&
		    (prog.users_written == nagents || prog.users_written == 0));
	return d.err;
}

static enum store_err
run_prepare(struct t *t, struct store *s, const struct catalog *cat, uint32_t nagents)
{
	return run_prepare_on(t, &store_pg_driver, s, cat, nagents);
}

static void
op_init(struct store_op *op, enum store_op_type type, uint32_t agent, uint32_t cycle)
{
	memset(op, 0, sizeof(*op));
	op->type = type;
	op->agent = agent;
	op->cycle = cycle;
	op->sim_time = SIM_START + (int64_t)cycle * 3600;
	store_agent_id(op->agent_id, sizeof(op->agent_id), agent);
}

static void
op_event(
    struct store_op *op, enum store_event_type type, uint8_t step, uint32_t product, uint32_t value)
{
	struct store_event *ev = &op->events[op->nevents];

	ev->type = (uint8_t)type;
	ev->step = step;
	ev->index = op->nevents;
	ev->product_id = product;
	ev->value = value;
	op->nevents++;
}

static void
op_item(struct store_op *op, const struct product *p, uint16_t qty)
{
	struct store_item *it = &op->items[op->nitems++];

	it->product_id = p->id;
	it->store_id = p->store_id;
	it->quantity = qty;
	it->price_cents = p->price_cents;
}

/* ---- open and migrations ---- */

static int
one_line(const char *s)
{
	return strchr(s, '\n') == NULL && strchr(s, '\r') == NULL && s[0] != '\0';
}

static void
check_open_fails(struct t *t, const char *url, const char *secret, const char *want, double timeout)
{
	struct sim_config *c = cfg_for(url);
	char err[512] = "";
	struct store *s;
	double t0 = now_s();

	c->connect_timeout = timeout;
	s = open_store(t, c, err, sizeof(err));
	CHECK(s == NULL);
	if (s != NULL)
		store_pg_driver.close(s);
	CHECK(one_line(err));
	CHECK(strstr(err, secret) == NULL);
	CHECK(strstr(err, url) == NULL);
	if (want != NULL && strstr(err, want) == NULL)
		fprintf(stderr, "message lacks \"%s\": %s\n", want, err);
	CHECK(want == NULL || strstr(err, want) != NULL);
	CHECK(now_s() - t0 < timeout + 2);
	printf("  open(%s...) failed: %s\n", secret, err);
	config_free(c);
}

/* A server that accepts connections and never answers: only our own timer ends it. */
static void
check_silent_server(struct t *t)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	char url[128];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		CHECK(!"listening socket");
		if (fd >= 0)
			close(fd);
		return;
	}
	snprintf(url, sizeof(url), "postgresql://simd:SeCrEt8x@127.0.0.1:%u/nodb",
	    (unsigned)ntohs(sa.sin_port));
	check_open_fails(t, url, "SeCrEt8x", "timeout after 0.3 s", 0.3);
	close(fd);
}

static void
test_bad_urls(struct t *t)
{
	check_open_fails(
	    t, "postgresql://simd:SeCrEt1x@127.0.0.1:1/nodb", "SeCrEt1x", "127.0.0.1:1/nodb", 5);
	check_open_fails(t, "host=127.0.0.1 port=1 user=simd password=SeCrEt2x dbname=nodb",
	    "SeCrEt2x", "127.0.0.1:1/nodb", 5);
	check_open_fails(t, "postgresql://simd:SeCrEt3x%zz@127.0.0.1:1/nodb", "SeCrEt3x", NULL, 5);
	check_open_fails(
	    t, "postgresql://simd:SeCrEt4x@127.0.0.1:notaport/nodb", "SeCrEt4x", NULL, 5);
	check_open_fails(t, "host=127.0.0.1 password=SeCrEt5x garbage", "SeCrEt5x", NULL, 5);
	check_open_fails(t, "postgresql://simd:SeCrEt6x@127.0.0.1:1/nodb?sslmode=bogus", "SeCrEt6x",
	    "sslmode", 5);
	check_silent_server(t);
}

/* A role with a password; the check is real only where the server asks for it. */
static void
test_wrong_password(struct t *t)
{
	const char *over[] = { "user", "simd_pwtest", "password", "wrong-SeCrEt7x", NULL };
	char url[1024], err[512] = "";
	struct sim_config *c;
	struct store *s;

	q_exec(t->admin, "DROP ROLE IF EXISTS simd_pwtest");
	if (q_exec(t->admin, "CREATE ROLE simd_pwtest LOGIN PASSWORD 'right-pw-9'") != 0 ||
	    make_conninfo(url, sizeof(url), t->url, over) != 0)
		return;
	{
		PGconn *probe = PQconnectdb(url);
		int trusted = PQstatus(probe) == CONNECTION_OK;

		PQfinish(probe);
		if (trusted) {
			printf("  note: the server does not check passwords here:"
			       " wrong-password check skipped\n");
			goto out;
		}
	}
	c = cfg_for(url);
	s = open_store(t, c, err, sizeof(err));
	CHECK(s == NULL);
	if (s != NULL) {
		store_pg_driver.close(s);
	} else {
		printf("  wrong password: %s\n", err);
		CHECK(one_line(err));
		CHECK(strstr(err, "SeCrEt7x") == NULL);
		CHECK(strstr(err, "password") != NULL); /* libpq says what failed */
	}
	config_free(c);
out:
	q_exec(t->admin, "DROP OWNED BY simd_pwtest");
	q_exec(t->admin, "DROP ROLE IF EXISTS simd_pwtest");
}

static void
test_migrations(struct t *t)
{
	struct sim_config *c = cfg_for(t->url);
	char err[512];
	struct store *s;
	int i;

	for (i = 0; i < 2; i++) { /* the second open finds everything there */
		s = open_store(t, c, err, sizeof(err));
		CHECK(s != NULL);
		if (s == NULL) {
			fprintf(stderr, "open: %s\n", err);
			break;
		}
		store_pg_driver.close(s);
		CHECK(q_int(t->admin, "SELECT count(*) FROM schema_version") == 1);
		CHECK(q_int(t->admin, "SELECT max(version) FROM schema_version") == 4);
		CHECK(q_int(t->admin,
			  "SELECT count(*) FROM information_schema.tables"
			  " WHERE table_schema = 'public' AND table_name IN ('sim_meta', 'users',"
			  " 'stores', 'products', 'coupons', 'user_coupons', 'shopping_sessions',"
			  " 'shopping_session_events', 'cart_items', 'orders', 'order_items',"
			  " 'interactions', 'schema_version', 'simd_runs', 'simd_shards',"
			  " 'simd_members', 'simd_checkpoints')") == 17);
	}
	config_free(c);
}

/* ---- prepare ---- */

static long long
wallet_rows(const struct catalog *cat, uint32_t nagents)
{
	uint32_t w[CATALOG_WALLET], a;
	long long n = 0;
	int i;

	for (a = 0; a < nagents; a++) {
		catalog_wallet(cat, a, w);
		for (i = 0; i < CATALOG_WALLET; i++)
			n += w[i] != 0;
	}
	return n;
}

static void
check_catalog_rows(struct t *t, const struct catalog *cat, uint32_t nagents)
{
	char sql[256];

	CHECK(q_int(t->admin, "SELECT count(*) FROM users") == nagents);
	CHECK(q_int(t->admin, "SELECT count(*) FROM stores") == cat->nstores);
	CHECK(q_int(t->admin, "SELECT count(*) FROM products") == cat->nproducts);
	CHECK(q_int(t->admin, "SELECT count(*) FROM coupons") == cat->ncoupons);
	CHECK(q_int(t->admin, "SELECT count(*) FROM user_coupons") == wallet_rows(cat, nagents));
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM sim_meta WHERE key = 'catalog_seed'"
	    " AND value = '%llu'",
	    (unsigned long long)cat->seed);
	CHECK(q_int(t->admin, sql) == 1);
	snprintf(sql, sizeof(sql), "SELECT sum(price_cents) FROM products");
	{
		long long sum = 0;
		uint32_t i;

		for (i = 0; i < cat->nproducts; i++)
			sum += cat->products[i].price_cents;
		CHECK(q_int(t->admin, sql) == sum);
	}
}

static void
test_prepare(struct t *t, struct store *s)
{
	struct catalog *other;

	CHECK(run_prepare(t, s, t->cat, NAGENTS) == STORE_OK);
	check_catalog_rows(t, t->cat, NAGENTS);
	CHECK(q_int(t->admin,
		  "SELECT count(*) FROM users WHERE id = 1 AND agent_id = 'agent_001'"
		  " AND persona ? 'name' AND created_at = to_timestamp(1767600000)") == 1);
	/* Again: sim_meta matches, nothing changes. */
	CHECK(run_prepare(t, s, t->cat, NAGENTS) == STORE_OK);
	check_catalog_rows(t, t->cat, NAGENTS);
	/* Another, smaller catalogue replaces it; then back to the first. */
	other = catalog_new(7, SIM_START, 2, 30, 5);
	CHECK(other != NULL);
	if (other != NULL) {
		CHECK(run_prepare(t, s, other, NAGENTS) == STORE_OK);
		check_catalog_rows(t, other, NAGENTS);
		catalog_free(other);
	}
	CHECK(run_prepare(t, s, t->cat, NAGENTS) == STORE_OK);
	check_catalog_rows(t, t->cat, NAGENTS);
	/* Bad set-up: answered from the loop, with an error. */
	{
		struct store_setup su = { .catalog = NULL };
		struct done d = { 0 };

		store_pg_driver.prepare(s, &su, done_cb, &d);
		CHECK(!d.done);
		run_until(t->base, &d.done, 5);
		CHECK(d.done && d.err == STORE_ERR_QUERY);
	}
}

/* ---- operations ---- */

/* The cheapest products of category 0, as BROWSE would see them. */
static const struct product *
product_of(const struct catalog *cat, int k)
{
	return &cat->products[cat->by_category[0][k % cat->ncategory[0]]];
}

/* BEGIN (twice: one session), BROWSE, CART (set, never add; lines leave). */
static void
test_session(struct t *t, struct store *s)
{
	const struct product *p1 = product_of(t->cat, 0), *p2 = product_of(t->cat, 1);
	struct store_op op;
	long long expect;

	op_init(&op, STORE_OP_BEGIN, 0, 1);
	op_event(&op, EV_SESSION_START, 0, 0, 0);
	CHECK(run_op(t, s, &op) == STORE_OK);
	CHECK(op.result_count == 1);
	CHECK(run_op(t, s, &op) == STORE_OK); /* replayed: no second session */
	CHECK(op.result_count == 0);
	CHECK(q_int(t->admin,
		  "SELECT count(*) FROM shopping_sessions WHERE session_key ="
		  " 's0:agent_001:1' AND user_id = 1 AND outcome IS NULL AND started_at ="
		  " to_timestamp(1767603600)") == 1);
	CHECK(q_int(t->admin,
		  "SELECT count(*) FROM users WHERE id = 1 AND last_shopped_at ="
		  " to_timestamp(1767603600)") == 1);

	op_init(&op, STORE_OP_BROWSE, 0, 1);
	op.category = 0;
	op_event(&op, EV_VIEW, 1, p1->id, p1->price_cents);
	op.events[0].dt = 75; /* created_at = sim_time + 75 s, as the sqlite driver writes */
	CHECK(run_op(t, s, &op) == STORE_OK);
	expect = t->cat->ncategory[0] < 50 ? t->cat->ncategory[0] : 50;
	CHECK(op.result_count == expect);

	op_init(&op, STORE_OP_CART, 0, 1);
	op_item(&op, p1, 5);
	op_item(&op, p2, 1);
	op_event(&op, EV_CART_ADD, 2, p1->id, 5);
	CHECK(run_op(t, s, &op) == STORE_OK);
	CHECK(op.result_count == 2);
	op.items[0].quantity = 2; /* set, never add; p2 leaves the cart */
	op.nitems = 1;
	CHECK(run_op(t, s, &op) == STORE_OK);
	CHECK(q_int(t->admin, "SELECT sum(quantity) FROM cart_items WHERE user_id = 1") == 2);
	op.nitems = 2;
	op.items[0].quantity = 2;
	op.items[1].quantity = 3;
	CHECK(run_op(t, s, &op) == STORE_OK);
	CHECK(q_int(t->admin, "SELECT sum(quantity) FROM cart_items WHERE user_id = 1") == 5);
}

/* ---- chains ---- */

struct chain {
	struct t *t;
	int order[STORE_CHAIN_MAX]; /* the completions, by op index */
	int n;
	struct store_op ops[4];
};

static void
chain_cb(struct store_op *op, void *arg)
{
	struct chain *c = arg;

	if (c->t->in_submit)
		c->t->cb_inside = 1;
	c->order[c->n++] = (int)(op - c->ops);
}

/* Submits ops[from..3] of c as one chain; the round trips their steps waited. */
static uint64_t
run_chain(struct t *t, struct store *s, struct chain *c, int from)
{
	struct store_op *ops[4];
	struct store_stats a, b;
	int i, want = 4 - from;

	c->t = t;
	c->n = 0;
	for (i = from; i < 4; i++) {
		c->ops[i].cb = chain_cb;
		c->ops[i].arg = c;
		ops[i - from] = &c->ops[i];
	}
	store_pg_driver.stats(s, &a);
	t->in_submit = 1;
	store_pg_driver.submit_chain(s, ops, (unsigned)want);
	t->in_submit = 0;
	CHECK(c->n == 0);
	for (i = 0; i < 1000 && c->n < want; i++)
		event_base_loop(t->base, EVLOOP_ONCE);
	CHECK(c->n == want);
	for (i = 0; i < c->n; i++)
		CHECK(c->order[i] == from + i); /* in order */
	store_pg_driver.stats(s, &b);
	return b.step_round_trips - a.step_round_trips;
}

/*
 * A session's steps in one pipeline: the step that fails on the server gets
 * its error and the later ones land nowhere (the aborted transaction they
 * were sent into refuses them); sent again from the failed one, all land,
 * in one round trip.
 */
static void
test_chain(struct t *t, struct store *s)
{
	const struct product *p1 = product_of(t->cat, 0);
	struct chain c;

	CHECK(store_pg_driver.chains(s));
	memset(&c, 0, sizeof(c));
	op_init(&c.ops[0], STORE_OP_BEGIN, 7, 9);
	op_event(&c.ops[0], EV_SESSION_START, 0, 0, 0);
	op_init(&c.ops[1], STORE_OP_CART, 7, 9);
	op_item(&c.ops[1], p1, 1);
	c.ops[1].items[0].price_cents = 4000000000u; /* beyond integer: the server refuses */
	op_event(&c.ops[1], EV_CART_ADD, 2, p1->id, 1);
	op_init(&c.ops[2], STORE_OP_BROWSE, 7, 9);
	op_init(&c.ops[3], STORE_OP_ABANDON, 7, 9);
	c.ops[3].outcome = "abandoned";
	/* one pipeline, and the rollback of the aborted transaction */
	CHECK(run_chain(t, s, &c, 0) == 2);
	CHECK(c.ops[0].err == STORE_OK && c.ops[0].result_count == 1);
	CHECK(c.ops[1].err == STORE_ERR_QUERY && strstr(c.ops[1].errmsg, "range") != NULL);
	CHECK(c.ops[2].err != STORE_OK && c.ops[3].err != STORE_OK);
	CHECK(strstr(c.ops[3].errmsg, "earlier step") != NULL);
	CHECK(q_int(t->admin,
		  "SELECT count(*) FROM shopping_sessions WHERE session_key = 's0:agent_008:9'"
		  " AND outcome IS NULL") == 1);
	CHECK(q_int(t->admin, "SELECT count(*) FROM cart_items WHERE user_id = 8") == 0);
	c.ops[1].items[0].price_cents = p1->price_cents;
	CHECK(run_chain(t, s, &c, 1) == 1);
	CHECK(c.ops[1].err == STORE_OK && c.ops[2].err == STORE_OK && c.ops[3].err == STORE_OK);
	CHECK(c.ops[2].result_count > 0);
	CHECK(q_int(t->admin,
		  "SELECT count(*) FROM shopping_sessions WHERE session_key = 's0:agent_008:9'"
		  " AND outcome = 'abandoned'") == 1);
	CHECK(q_int(t->admin, "SELECT count(*) FROM cart_items WHERE user_id = 8") == 1);
}

/* COUPONS, CHECKOUT (twice: one order), ABANDON, then the events. */
static void
test_session_end(struct t *t, struct store *s)
{
	const struct product *p1 = product_of(t->cat, 0), *p2 = product_of(t->cat, 1);
	uint32_t wallet[CATALOG_WALLET];
	struct store_op op;
	char sql[512];
	long long expect;

	op_init(&op, STORE_OP_COUPONS, 0, 1);
	op_event(&op, EV_COUPONS_VIEWED, 3, 0, 1);
	CHECK(run_op(t, s, &op) == STORE_OK);
	expect = q_int(t->admin,
	    "SELECT count(*) FROM user_coupons uc JOIN coupons c ON"
	    " c.id = uc.coupon_id WHERE uc.user_id = 1 AND uc.redeemed_at IS NULL AND"
	    " to_timestamp(1767603600) BETWEEN c.valid_from AND c.valid_to");
	CHECK(op.result_count == expect);

	catalog_wallet(t->cat, 0, wallet);
	op_init(&op, STORE_OP_CHECKOUT, 0, 1);
	op_item(&op, p1, 2);
	op_item(&op, p2, 3);
	op.coupon_id = wallet[0];
	op.total_cents = 2 * p1->price_cents + 3 * p2->price_cents - 100;
	op_event(&op, EV_COUPON_APPLIED, 4, wallet[0], 0);
	op_event(&op, EV_CHECKOUT, 4, 0, op.total_cents);
	CHECK(run_op(t, s, &op) == STORE_OK);
	CHECK(op.result_count == 1);
	CHECK(run_op(t, s, &op) == STORE_OK); /* the same checkout again: one order */
	CHECK(op.result_count == 0);
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM orders o JOIN shopping_sessions s ON"
	    " s.id = o.session_id WHERE o.idem_key = 's0:agent_001:1:order' AND o.user_id = 1"
	    " AND o.total_cents = %lu AND o.coupon_id = %lu AND s.session_key = 's0:agent_001:1'",
	    (unsigned long)op.total_cents, (unsigned long)wallet[0]);
	CHECK(q_int(t->admin, sql) == 1);
	CHECK(q_int(t->admin, "SELECT count(*) FROM orders") == 1);
	CHECK(q_int(t->admin, "SELECT count(*) FROM order_items") == 2);
	snprintf(sql, sizeof(sql), "SELECT sum(quantity * price_cents) FROM order_items");
	CHECK(q_int(t->admin, sql) == 2 * p1->price_cents + 3 * p2->price_cents);
	CHECK(q_int(t->admin,
		  "SELECT count(*) FROM interactions WHERE kind = 'purchase'"
		  " AND interaction_key LIKE 's0:agent_001:1:order:%'") == 2);
	CHECK(q_int(t->admin, "SELECT count(*) FROM cart_items WHERE user_id = 1") == 0);
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM user_coupons WHERE user_id = 1 AND"
	    " coupon_id = %lu AND redeemed_at = to_timestamp(1767603600) AND order_key ="
	    " 's0:agent_001:1:order'",
	    (unsigned long)wallet[0]);
	CHECK(q_int(t->admin, sql) == 1);
	CHECK(q_int(t->admin,
		  "SELECT count(*) FROM shopping_sessions WHERE session_key ="
		  " 's0:agent_001:1' AND outcome = 'ordered' AND ended_at IS NOT NULL") == 1);

	op_init(&op, STORE_OP_BEGIN, 1, 1);
	CHECK(run_op(t, s, &op) == STORE_OK);
	op_init(&op, STORE_OP_ABANDON, 1, 1);
	op.outcome = "abandoned";
	op_event(&op, EV_ABANDON, 5, 0, 1234);
	CHECK(run_op(t, s, &op) == STORE_OK);
	CHECK(q_int(t->admin,
		  "SELECT count(*) FROM shopping_sessions WHERE session_key ="
		  " 's0:agent_002:1' AND outcome = 'abandoned'") == 1);
	/* a session that could not finish ends 'failed', begun or not */
	op_init(&op, STORE_OP_BEGIN, 2, 1);
	CHECK(run_op(t, s, &op) == STORE_OK);
	op_init(&op, STORE_OP_FAIL, 2, 1);
	CHECK(run_op(t, s, &op) == STORE_ERR_QUERY); /* no reason */
	snprintf(op.reason, sizeof(op.reason), "query at checkout");
	op.started = op.sim_time - 60;
	CHECK(run_op(t, s, &op) == STORE_OK);
	CHECK(q_int(t->admin,
		  "SELECT count(*) FROM shopping_sessions WHERE session_key ="
		  " 's0:agent_003:1' AND outcome = 'failed' AND error = 'query at checkout'") == 1);
	op_init(&op, STORE_OP_FAIL, 3, 1);
	snprintf(op.reason, sizeof(op.reason), "connect at begin");
	op.started = op.sim_time;
	CHECK(run_op(t, s, &op) == STORE_OK);
	CHECK(run_op(t, s, &op) == STORE_OK);
	CHECK(q_int(t->admin,
		  "SELECT count(*) FROM shopping_sessions WHERE session_key ="
		  " 's0:agent_004:1' AND outcome = 'failed' AND user_id = 4 AND"
		  " started_at = ended_at") == 1);

	CHECK(run_flush(t, s) == STORE_OK);
	/* session_start, view, cart_add, coupons_viewed, coupon_applied, checkout, abandon */
	CHECK(q_int(t->admin, "SELECT count(*) FROM shopping_session_events") == 7);
	CHECK(q_int(t->admin,
		  "SELECT count(*) FROM shopping_session_events e JOIN"
		  " shopping_sessions s ON s.id = e.session_id WHERE e.event_key ="
		  " 's0:agent_001:1:4:1' AND e.event_type = 'checkout' AND e.user_id = 1 AND"
		  " (e.payload->>'total_cents')::bigint > 0 AND e.created_at ="
		  " to_timestamp(1767603600)") == 1);
	CHECK(q_int(t->admin,
		  "SELECT count(*) FROM shopping_session_events WHERE event_key ="
		  " 's0:agent_001:1:1:0' AND event_type = 'view' AND created_at ="
		  " to_timestamp(1767603675)") == 1);
}

static void
test_invalid(struct t *t, struct store *s)
{
	struct store_op op;

	op_init(&op, STORE_OP_ABANDON, 0, 2);
	op.outcome = "exploded";
	CHECK(run_op(t, s, &op) == STORE_ERR_QUERY);
	CHECK(strncmp(op.errmsg, "postgres: abandon:", 18) == 0);
	op_init(&op, STORE_OP_BROWSE, 0, 2);
	op.category = 200;
	CHECK(run_op(t, s, &op) == STORE_ERR_QUERY);
	/* The server refuses a row half-way through a transaction: its own message comes
	 * back, the earlier statements are rolled back, the connection stays usable. */
	op_init(&op, STORE_OP_CART, 0, 2);
	op_item(&op, product_of(t->cat, 0), 1);
	CHECK(run_op(t, s, &op) == STORE_OK);
	CHECK(q_exec(t->admin,
		  "ALTER TABLE cart_items ADD CONSTRAINT t_cheap"
		  " CHECK (price_cents < 0) NOT VALID") == 0);
	op_init(&op, STORE_OP_CART, 0, 2);
	op_item(&op, product_of(t->cat, 1), 2);
	CHECK(run_op(t, s, &op) == STORE_ERR_QUERY);
	CHECK(strstr(op.errmsg, "t_cheap") != NULL);
	CHECK(q_int(t->admin, "SELECT count(*) FROM cart_items WHERE user_id = 1") == 1);
	CHECK(q_exec(t->admin, "ALTER TABLE cart_items DROP CONSTRAINT t_cheap") == 0);
	CHECK(run_op(t, s, &op) == STORE_OK);
	CHECK(q_int(t->admin, "SELECT count(*) FROM cart_items WHERE user_id = 1") == 1);
	CHECK(q_int(t->admin, "SELECT sum(quantity) FROM cart_items WHERE user_id = 1") == 2);
}

/*
 * Events: staged per session and released together at its end (so that no two
 * batches split a session), into batches of event_batch_size that fill across
 * sessions; written when full, on the interval and on flush.
 */
static void
test_batches(struct t *t)
{
	struct sim_config *c = cfg_for(t->url);
	struct store_op op;
	char err[512];
	struct store *s;
	long long base = q_int(t->admin, "SELECT count(*) FROM shopping_session_events");
	int i;

	c->event_batch_size = 5;
	c->event_flush_interval = 3600;
	s = open_store(t, c, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL)
		goto out;
	op_init(&op, STORE_OP_BEGIN, 2, 3);
	for (i = 0; i < 3; i++)
		op_event(&op, EV_VIEW, 1, 1, 100);
	CHECK(run_op(t, s, &op) == STORE_OK);
	op_init(&op, STORE_OP_BROWSE, 2, 3);
	op.category = 1;
	for (i = 0; i < 7; i++)
		op_event(&op, EV_VIEW, 2, 1, 100);
	CHECK(run_op(t, s, &op) == STORE_OK);
	/* a session in flight: a flush does not claim its events */
	CHECK(run_flush(t, s) == STORE_OK);
	CHECK(q_int(t->admin, "SELECT count(*) FROM shopping_session_events") == base);
	/* its end releases all eleven into one batch (a session stays whole), full: written */
	op_init(&op, STORE_OP_ABANDON, 2, 3);
	op.outcome = "abandoned";
	op_event(&op, EV_ABANDON, 3, 0, 0);
	CHECK(run_op(t, s, &op) == STORE_OK);
	run_for(t->base, 0.3);
	CHECK(q_int(t->admin, "SELECT count(*) FROM shopping_session_events") == base + 11);
	CHECK(q_int(t->admin,
		  "SELECT count(DISTINCT session_id) FROM shopping_session_events"
		  " WHERE user_id = 3") <= 1);
	/* Replayed: nothing new. */
	CHECK(run_op(t, s, &op) == STORE_OK);
	CHECK(run_flush(t, s) == STORE_OK);
	CHECK(q_int(t->admin, "SELECT count(*) FROM shopping_session_events") == base + 11);
	/* a small session's events wait for the batch to fill (or a flush) */
	op_init(&op, STORE_OP_BEGIN, 3, 3);
	op_event(&op, EV_SESSION_START, 0, 0, 0);
	CHECK(run_op(t, s, &op) == STORE_OK);
	op_init(&op, STORE_OP_ABANDON, 3, 3);
	op.outcome = "browsed";
	CHECK(run_op(t, s, &op) == STORE_OK);
	run_for(t->base, 0.3);
	CHECK(q_int(t->admin, "SELECT count(*) FROM shopping_session_events") == base + 11);
	/* Close writes what is queued; a session still in flight replays from its checkpoint. */
	op_init(&op, STORE_OP_BEGIN, 4, 3);
	op_event(&op, EV_SESSION_START, 0, 0, 0);
	CHECK(run_op(t, s, &op) == STORE_OK);
	store_pg_driver.close(s);
	CHECK(q_int(t->admin, "SELECT count(*) FROM shopping_session_events") == base + 12);
out:
	config_free(c);
}

/* ---- the pool seen through the store ---- */

struct flow {
	struct t *t;
	struct store *s;
	struct store_op ops[64];
	void *args[64][2];
	struct done d[64];
	int nops, completed, failed_connect, failed_other, max_conns;
};

static void
flow_cb(struct store_op *op, void *arg)
{
	struct flow *f = arg;
	struct store_stats st;

	store_pg_driver.stats(f->s, &st);
	if ((int)(st.connections_active + st.connections_idle) > f->max_conns)
		f->max_conns = (int)(st.connections_active + st.connections_idle);
	f->completed++;
	if (op->err == STORE_ERR_CONNECT)
		f->failed_connect++;
	else if (op->err != STORE_OK) {
		fprintf(stderr, "flow op: %s\n", op->errmsg);
		f->failed_other++;
	}
}

static long long
backends(struct t *t)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'"
	    " AND application_name = 'simd'",
	    t->db);
	return q_int(t->admin, sql);
}

static void
test_pool_cap(struct t *t)
{
	struct sim_config *c = cfg_for(t->url);
	struct flow f;
	struct store_stats st;
	char err[512];
	long long seen = 0, b;
	int i;

	memset(&f, 0, sizeof(f));
	c->pool_size = 5;
	c->max_overflow = 10;
	c->pool_max = 5;
	f.t = t;
	f.s = open_store(t, c, err, sizeof(err));
	CHECK(f.s != NULL);
	if (f.s == NULL)
		goto out;
	for (i = 0; i < 50; i++) {
		op_init(&f.ops[i], STORE_OP_BROWSE, (uint32_t)i, 4);
		f.ops[i].category = (uint8_t)(i % CATALOG_CATEGORIES);
		f.ops[i].cb = flow_cb;
		f.ops[i].arg = &f;
		store_pg_driver.submit(f.s, &f.ops[i]);
	}
	store_pg_driver.stats(f.s, &st);
	CHECK(st.waiting == 50);
	CHECK(st.max == 5);
	while (f.completed < 50) {
		event_base_loop(t->base, EVLOOP_ONCE);
		if ((b = backends(t)) > seen)
			seen = b;
	}
	CHECK(f.failed_other == 0 && f.failed_connect == 0);
	CHECK(f.max_conns <= 5);
	CHECK(seen <= 5);
	store_pg_driver.stats(f.s, &st);
	CHECK(st.opened <= 5 && st.opened >= 1);
	CHECK(st.connections_active == 0 && st.waiting == 0);
	printf("  pool_max 5, 50 ops: at most %lld backends, %d connections\n", seen, f.max_conns);
	store_pg_driver.close(f.s);
out:
	config_free(c);
}

/* ---- a server restart while operations flow ---- */

/* Restarts the server in the background; the pid of the restarting process, or -1. */
static pid_t
restart_server(struct t *t)
{
	const char *dir = getenv("PG_DIR"), *bindir = getenv("PG_BINDIR"), *log = getenv("PG_LOG");
	char data[512], ctl[512];
	struct stat sb;
	pid_t pid;

	if (dir == NULL || bindir == NULL)
		return -1;
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(ctl, sizeof(ctl), "%s/pg_ctl", bindir);
	if (stat(data, &sb) != 0 || access(ctl, X_OK) != 0)
		return -1;
	if ((pid = fork()) != 0)
		return pid;
	if (chdir("/") != 0 ||
	    (getuid() == 0 && (setgid(sb.st_gid) != 0 || setuid(sb.st_uid) != 0)))
		_exit(1);
	/* The server outlives us: it must not write to our output. */
	if (freopen("/dev/null", "w", stdout) == NULL || freopen("/dev/null", "w", stderr) == NULL)
		_exit(1);
	if (log != NULL)
		execl(ctl, "pg_ctl", "-D", data, "-l", log, "-m", "fast", "-w", "-t", "30",
		    "restart", (char *)NULL);
	else
		execl(ctl, "pg_ctl", "-D", data, "-m", "fast", "-w", "-t", "30", "restart",
		    (char *)NULL);
	_exit(127);
}

static void
terminate_backends(struct t *t)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	    "SELECT count(pg_terminate_backend(pid)) FROM"
	    " pg_stat_activity WHERE datname = '%s' AND application_name = 'simd'",
	    t->db);
	q_int(t->admin, sql);
}

/* Four agents begin session after session; a failed begin is retried, as the engine does. */
static void rflow_cb(struct store_op *op, void *arg);

struct rflow {
	struct store *s;
	struct store_op op[4];
	uint32_t cycle[4]; /* the cycle slot k begins next */
	int ended[4];      /* its begin is in: the session's end comes next */
	int busy[4];
	int ok, connect_errs, other_errs, stop;
};

static void
rflow_submit(struct rflow *f, int k)
{
	if (f->ended[k]) {
		op_init(&f->op[k], STORE_OP_ABANDON, (uint32_t)(10 + k), f->cycle[k]);
		f->op[k].outcome = "browsed";
	} else {
		op_init(&f->op[k], STORE_OP_BEGIN, (uint32_t)(10 + k), f->cycle[k]);
		op_event(&f->op[k], EV_SESSION_START, 0, 0, 0);
	}
	f->op[k].cb = rflow_cb;
	f->op[k].arg = f;
	f->busy[k] = 1;
	store_pg_driver.submit(f->s, &f->op[k]);
}

static void
rflow_cb(struct store_op *op, void *arg)
{
	struct rflow *f = arg;
	int k = (int)(op - f->op);

	f->busy[k] = 0;
	if (op->err == STORE_OK) {
		f->ok++;
		if (f->ended[k])
			f->cycle[k]++;
		f->ended[k] = !f->ended[k];
	} else if (op->err == STORE_ERR_CONNECT || op->err == STORE_ERR_TIMEOUT) {
		f->connect_errs += op->err == STORE_ERR_CONNECT;
	} else {
		fprintf(stderr, "restart flow: %s\n", op->errmsg);
		f->other_errs++;
	}
	if (!f->stop)
		rflow_submit(f, k);
}

static void
test_restart(struct t *t)
{
	struct sim_config *c = cfg_for(t->url);
	struct store_stats before, after;
	struct rflow f;
	char err[512], sql[256];
	pid_t pid = -1;
	int status = 0, k, done = 0;
	long long begun = 0;
	double end;

	memset(&f, 0, sizeof(f));
	c->pool_size = 4;
	c->pool_max = 4;
	c->pool_timeout = 5;
	f.s = open_store(t, c, err, sizeof(err));
	CHECK(f.s != NULL);
	if (f.s == NULL)
		goto out;
	for (k = 0; k < 4; k++) {
		f.cycle[k] = 100;
		rflow_submit(&f, k);
	}
	while (f.ok < 40)
		event_base_loop(t->base, EVLOOP_ONCE);
	store_pg_driver.stats(f.s, &before);
	if ((pid = restart_server(t)) < 0) {
		printf("  note: no pg_ctl at hand ($PG_DIR, $PG_BINDIR): backends terminated"
		       " instead of a restart\n");
		terminate_backends(t);
	}
	end = now_s() + 8;
	while (now_s() < end && (!done || f.ok < 200)) {
		event_base_loop(t->base, EVLOOP_ONCE);
		if (!done && (pid < 0 || waitpid(pid, &status, WNOHANG) == pid)) {
			done = 1;
			f.ok = 0; /* count what succeeds once the server is back */
		}
	}
	CHECK(pid < 0 || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
	CHECK(f.connect_errs > 0);
	CHECK(f.other_errs == 0);
	CHECK(f.ok >= 200);
	f.stop = 1;
	while (f.busy[0] || f.busy[1] || f.busy[2] || f.busy[3])
		event_base_loop(t->base, EVLOOP_ONCE);
	store_pg_driver.stats(f.s, &after);
	CHECK(after.opened > before.opened);
	CHECK(after.connections_active + after.connections_idle <= 4);
	CHECK(run_flush(t, f.s) == STORE_OK);
	/* Nothing lost, nothing twice: one session and one event per session ended. */
	{
		PGresult *r = PQexec(t->admin, "SELECT 1");

		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			PQreset(t->admin); /* the restart took it */
		PQclear(r);
	}
	for (k = 0; k < 4; k++)
		begun += f.cycle[k] - 100;
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM shopping_sessions WHERE user_id"
	    " BETWEEN 11 AND 14");
	/* (a session whose begin is in and whose end is not has its row, not yet its events) */
	CHECK(q_int(t->admin, sql) == begun + f.ended[0] + f.ended[1] + f.ended[2] + f.ended[3]);
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM shopping_session_events WHERE"
	    " user_id BETWEEN 11 AND 14");
	CHECK(q_int(t->admin, sql) == begun);
	printf("  restart: %d connect errors, %llu connections opened before, %llu after\n",
	    f.connect_errs, (unsigned long long)before.opened, (unsigned long long)after.opened);
	store_pg_driver.close(f.s);
out:
	config_free(c);
}

/* ---- the same run on both drivers gives the same rows ---- */

/* A small deterministic session mix, replays included, onto one store. */
static void
same_run(struct t *t, const struct store_driver *drv, struct store *s)
{
	struct store_op op;
	uint32_t a, c, w[CATALOG_WALLET];
	const uint32_t *idx;
	int k;

	for (c = 1; c <= 3; c++)
		for (a = 20; a < 30; a++) {
			uint8_t cat = (uint8_t)((a + c) % CATALOG_CATEGORIES);

			idx = t->cat->by_category[cat];
			op_init(&op, STORE_OP_BEGIN, a, c);
			op_event(&op, EV_SESSION_START, 0, 0, 0);
			CHECK(run_op_on(t, drv, s, &op) == STORE_OK);
			op_init(&op, STORE_OP_BROWSE, a, c);
			op.category = cat;
			op_event(&op, EV_VIEW, 1, t->cat->products[idx[0]].id, 1);
			CHECK(run_op_on(t, drv, s, &op) == STORE_OK);
			op_init(&op, STORE_OP_CART, a, c);
			for (k = 0; k < 3 && (uint32_t)k < t->cat->ncategory[cat]; k++)
				op_item(
				    &op, &t->cat->products[idx[k]], (uint16_t)(1 + (a + k) % 3));
			op_event(&op, EV_CART_ADD, 2, op.items[0].product_id, 1);
			CHECK(run_op_on(t, drv, s, &op) == STORE_OK);
			op_init(&op, STORE_OP_COUPONS, a, c);
			op_event(&op, EV_COUPONS_VIEWED, 3, 0, 2);
			CHECK(run_op_on(t, drv, s, &op) == STORE_OK);
			if ((a + c) % 3 == 0) {
				op_init(&op, STORE_OP_ABANDON, a, c);
				op.outcome = a % 2 ? "abandoned" : "browsed";
				op_event(&op, EV_ABANDON, 4, 0, 10);
			} else {
				catalog_wallet(t->cat, a, w);
				op_init(&op, STORE_OP_CHECKOUT, a, c);
				for (k = 0; k < 2 && (uint32_t)k < t->cat->ncategory[cat]; k++)
					op_item(&op, &t->cat->products[idx[k]], 2);
				op_item(&op, &t->cat->products[idx[0]], 5); /* a repeated line */
				op.coupon_id = a % 2 ? w[0] : 0;
				op.total_cents = 1000 + a * 10 + c;
				op_event(&op, EV_CHECKOUT, 4, 0, op.total_cents);
			}
			CHECK(run_op_on(t, drv, s, &op) == STORE_OK);
			CHECK(run_op_on(t, drv, s, &op) == STORE_OK); /* replayed */
		}
}

/* Rows as text, one per line, columns joined by '|'; NULL: "~". */
static char *
dump_pg(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	size_t len = 1, n = 0;
	char *out;
	int i, j;

	for (i = 0; i < PQntuples(r); i++)
		for (j = 0; j < PQnfields(r); j++)
			len += (size_t)PQgetlength(r, i, j) + 2;
	if ((out = malloc(len)) == NULL) {
		PQclear(r);
		return NULL;
	}
	for (i = 0; i < PQntuples(r); i++)
		for (j = 0; j < PQnfields(r); j++)
			n += (size_t)snprintf(out + n, len - n, "%s%c",
			    PQgetisnull(r, i, j) ? "~" : PQgetvalue(r, i, j),
			    j + 1 < PQnfields(r) ? '|' : '\n');
	out[n] = '\0';
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fprintf(stderr, "dump: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	return out;
}

static char *
dump_sqlite(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	char *out = NULL, *tmp;
	size_t n = 0, cap = 0;
	int j;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "dump: %s: %s\n", sql, sqlite3_errmsg(db));
		return NULL;
	}
	while (sqlite3_step(st) == SQLITE_ROW)
		for (j = 0; j < sqlite3_column_count(st); j++) {
			const unsigned char *v = sqlite3_column_text(st, j);
			size_t need = n + (v != NULL ? strlen((const char *)v) : 1) + 2;

			if (need > cap) {
				cap = need * 2;
				if ((tmp = realloc(out, cap)) == NULL)
					break;
				out = tmp;
			}
			n += (size_t)snprintf(out + n, cap - n, "%s%c",
			    v != NULL ? (const char *)v : "~",
			    j + 1 < sqlite3_column_count(st) ? '|' : '\n');
		}
	sqlite3_finalize(st);
	return out != NULL ? out : strdup("");
}

struct same_query {
	const char *what, *pg, *lite;
};

static const struct same_query same_queries[] = {
	{ "orders (digest)",
	    "SELECT o.idem_key, u.agent_id, o.total_cents FROM orders o JOIN users u ON"
	    " u.id = o.user_id WHERE o.user_id BETWEEN 21 AND 30 ORDER BY o.idem_key",
	    "SELECT o.idem_key, u.agent_id, o.total_cents FROM orders o JOIN users u ON"
	    " u.id = o.user_id WHERE o.user_id BETWEEN 21 AND 30 ORDER BY o.idem_key" },
	{ "events (digest)",
	    "SELECT event_key, event_type FROM shopping_session_events WHERE user_id BETWEEN 21"
	    " AND 30 ORDER BY event_key",
	    "SELECT event_key, event_type FROM shopping_session_events WHERE user_id BETWEEN 21"
	    " AND 30 ORDER BY event_key" },
	{ "orders",
	    "SELECT o.idem_key, o.user_id, s.session_key, o.coupon_id, to_char(o.created_at AT"
	    " TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM orders o LEFT JOIN"
	    " shopping_sessions s ON s.id = o.session_id WHERE o.user_id BETWEEN 21 AND 30"
	    " ORDER BY 1",
	    "SELECT o.idem_key, o.user_id, s.session_key, o.coupon_id, o.created_at FROM"
	    " orders o LEFT JOIN shopping_sessions s ON s.id = o.session_id WHERE o.user_id"
	    " BETWEEN 21 AND 30 ORDER BY 1" },
	{ "order_items",
	    "SELECT o.idem_key, i.product_id, i.quantity, i.price_cents FROM order_items i"
	    " JOIN orders o ON o.id = i.order_id WHERE o.user_id BETWEEN 21 AND 30 ORDER BY 1, 2",
	    "SELECT o.idem_key, i.product_id, i.quantity, i.price_cents FROM order_items i"
	    " JOIN orders o ON o.id = i.order_id WHERE o.user_id BETWEEN 21 AND 30 ORDER BY 1, 2" },
	{ "interactions",
	    "SELECT interaction_key, user_id, product_id, kind FROM interactions WHERE user_id"
	    " BETWEEN 21 AND 30 ORDER BY 1",
	    "SELECT interaction_key, user_id, product_id, kind FROM interactions WHERE user_id"
	    " BETWEEN 21 AND 30 ORDER BY 1" },
	{ "sessions",
	    "SELECT session_key, user_id, outcome, ended_at IS NULL FROM shopping_sessions"
	    " WHERE user_id BETWEEN 21 AND 30 ORDER BY 1",
	    "SELECT session_key, user_id, outcome, CASE WHEN ended_at IS NULL THEN 't' ELSE 'f'"
	    " END FROM shopping_sessions WHERE user_id BETWEEN 21 AND 30 ORDER BY 1" },
	{ "cart_items",
	    "SELECT user_id, store_id, product_id, quantity, price_cents FROM cart_items WHERE"
	    " user_id BETWEEN 21 AND 30 ORDER BY 1, 2, 3",
	    "SELECT user_id, store_id, product_id, quantity, price_cents FROM cart_items WHERE"
	    " user_id BETWEEN 21 AND 30 ORDER BY 1, 2, 3" },
	{ "user_coupons",
	    "SELECT user_id, coupon_id, redeemed_at IS NULL, order_key FROM user_coupons WHERE"
	    " user_id BETWEEN 21 AND 30 ORDER BY 1, 2",
	    "SELECT user_id, coupon_id, CASE WHEN redeemed_at IS NULL THEN 't' ELSE 'f' END,"
	    " order_key FROM user_coupons WHERE user_id BETWEEN 21 AND 30 ORDER BY 1, 2" },
	{ "catalogue",
	    "SELECT p.id, p.store_id, s.name, p.category, p.name, p.price_cents FROM products p"
	    " JOIN stores s ON s.id = p.store_id ORDER BY 1",
	    "SELECT p.id, p.store_id, s.name, p.category, p.name, p.price_cents FROM products p"
	    " JOIN stores s ON s.id = p.store_id ORDER BY 1" },
	{ "coupons",
	    "SELECT id, store_id, code, pct_off, min_spend_cents, to_char(valid_to AT TIME ZONE"
	    " 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM coupons ORDER BY 1",
	    "SELECT id, store_id, code, pct_off, min_spend_cents, valid_to FROM coupons"
	    " ORDER BY 1" },
	{ "users", "SELECT id, agent_id, name FROM users ORDER BY 1",
	    "SELECT id, agent_id, name FROM users ORDER BY 1" },
};

static void
test_same_as_sqlite(struct t *t, struct store *pg)
{
	struct sim_config *c = cfg_for("");
	char dir[128], path[256], err[512];
	struct store *lite = NULL;
	sqlite3 *db = NULL;
	size_t i;

	if (mkdtemp(check_tmpl(dir, sizeof(dir), "simd-store-pg", 90)) == NULL) {
		dir[0] = '\0';
		CHECK(!"mkdtemp");
		goto out;
	}
	free(c->data_dir);
	c->data_dir = strdup(dir);
	if ((lite = open_lite(t, c, err, sizeof(err))) == NULL) {
		fprintf(stderr, "sqlite open: %s\n", err);
		CHECK(lite != NULL);
		goto out;
	}
	CHECK(run_prepare_on(t, &store_sqlite_driver, lite, t->cat, NAGENTS) == STORE_OK);
	same_run(t, &store_sqlite_driver, lite);
	same_run(t, &store_pg_driver, pg);
	CHECK(run_flush(t, pg) == STORE_OK);
	snprintf(path, sizeof(path), "%s/shop.db", dir);
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
	for (i = 0; db != NULL && i < sizeof(same_queries) / sizeof(same_queries[0]); i++) {
		char *a = dump_pg(t->admin, same_queries[i].pg);
		char *b = dump_sqlite(db, same_queries[i].lite);
		int same = a != NULL && b != NULL && a[0] != '\0' && strcmp(a, b) == 0;

		if (!same)
			fprintf(stderr, "%s differ:\n--- postgres\n%.600s--- sqlite\n%.600s",
			    same_queries[i].what, a ? a : "(null)", b ? b : "(null)");
		CHECK(same);
		free(a);
		free(b);
	}
out:
	if (db != NULL)
		sqlite3_close(db);
	if (lite != NULL)
		store_sqlite_driver.close(lite);
	if (dir[0] != '\0') {
		snprintf(path, sizeof(path), "rm -rf '%s'", dir);
		if (strstr(dir, "/simd-store-pg.") != NULL && strchr(dir, '\'') == NULL &&
		    system(path) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
	config_free(c);
}

/* ---- close with work in flight ---- */

static void
test_close_inflight(struct t *t)
{
	struct sim_config *c = cfg_for(t->url);
	struct store_op op[8];
	struct done d[8];
	void *args[8][2];
	struct done fl = { 0 };
	char err[512];
	struct store *s;
	int i, closed = 0;

	s = open_store(t, c, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL)
		goto out;
	memset(d, 0, sizeof(d));
	for (i = 0; i < 8; i++) {
		op_init(&op[i], STORE_OP_COUPONS, (uint32_t)i, 9);
		args[i][0] = t;
		args[i][1] = &d[i];
		op[i].cb = op_cb;
		op[i].arg = args[i];
		store_pg_driver.submit(s, &op[i]);
	}
	store_pg_driver.flush(s, done_cb, &fl);
	store_pg_driver.close(s);
	for (i = 0; i < 8; i++)
		closed += d[i].done && d[i].err == STORE_ERR_CLOSED;
	CHECK(closed == 8);
	CHECK(fl.done && fl.err == STORE_OK); /* nothing was queued: the flush holds */
out:
	config_free(c);
}

static PGconn *
setup(struct t *t, const char *pg_url)
{
	snprintf(t->db, sizeof(t->db), "simd_store_pg_%ld", (long)getpid());
	return pgtest_db_create("store_pg", pg_url, t->db, "store_pg_test", t->url, sizeof(t->url));
}

int
main(void)
{
	const char *pg_url = getenv("PG_URL");
	struct sim_config *c;
	struct store *s;
	struct t t;
	char err[512];
	uint32_t i;

	if (pg_url == NULL || pg_url[0] == '\0') {
		printf("store_pg: PG_URL not set, skipped\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("EVDEBUG"))
		event_enable_debug_mode();
	memset(&t, 0, sizeof(t));
	t.base = event_base_new();
	t.tick = event_new(t.base, -1, EV_PERSIST, tick_cb, NULL);
	{
		struct timeval tv = { 0, 5000 };

		event_add(t.tick, &tv);
	}
	t.cat = catalog_new(42, SIM_START, 3, 120, 10);
	t.personas = calloc(NAGENTS, sizeof(*t.personas));
	if (t.base == NULL || t.cat == NULL || t.personas == NULL ||
	    (t.admin = setup(&t, pg_url)) == NULL) {
		printf("store_pg: no test database, skipped\n");
		return 77;
	}
	for (i = 0; i < NAGENTS; i++)
		persona_generate(&t.personas[i], 42, i);

	test_bad_urls(&t);
	test_wrong_password(&t);
	test_migrations(&t);
	c = cfg_for(t.url);
	s = open_store(&t, c, err, sizeof(err));
	CHECK(s != NULL);
	if (s != NULL) {
		test_prepare(&t, s);
		test_session(&t, s);
		test_session_end(&t, s);
		test_chain(&t, s);
		test_invalid(&t, s);
		test_same_as_sqlite(&t, s);
		CHECK(t.cb_inside == 0);
		store_pg_driver.close(s);
	} else {
		fprintf(stderr, "open: %s\n", err);
	}
	config_free(c);
	test_batches(&t);
	test_pool_cap(&t);
	test_close_inflight(&t);
	test_restart(&t);

	pgtest_db_drop(t.admin, pg_url, t.db);
	catalog_free(t.cat);
	free(t.personas);
	event_free(t.tick);
	event_base_free(t.base);
	return CHECK_DONE();
}
