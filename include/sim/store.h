/*
 * store.h - where a session's steps land: the store interface.
 *
 * A store is a driver (a table of functions) plus its private state.  Every
 * call is asynchronous: the driver completes an operation by calling op->cb
 * from the event loop, never from inside store_submit() itself, so callers
 * need not guard against re-entry.  Every write is idempotent by its
 * deterministic key (DESIGN.md 3.4), so an operation may be submitted again
 * after a failure, or replayed after a resume, without duplicating rows.
 */
#ifndef SIM_STORE_H
#define SIM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sim/shopapi.h"

struct event_base;
struct sim_config;
struct catalog;
struct persona;

#define STORE_MAX_ITEMS 24  /* lines in a cart or an order */
#define STORE_MAX_EVENTS 48 /* events carried by one operation */
#define STORE_AGENT_ID_MAX 16

enum store_err {
	STORE_OK = 0,
	STORE_ERR_CONNECT, /* no connection could be had */
	STORE_ERR_TIMEOUT, /* pool or query timeout */
	STORE_ERR_BUSY,    /* locked / serialisation failure: retry */
	STORE_ERR_QUERY,   /* the database rejected a statement */
	STORE_ERR_DATA,    /* the database answered something we cannot accept */
	STORE_ERR_NOMEM,
	STORE_ERR_CLOSED, /* the store is shutting down */
	STORE_ERR_DISK,   /* the database's own disk: full, read-only, failing: retry */
	STORE_ERR_FENCED, /* the write's shard lease moved on (store_set_fence): never retried */
	STORE_ERR_COUNT
};
const char *store_err_name(enum store_err e); /* "connect", "timeout", ... */
/* An error that may pass (an outage, a lock, a full disk): retried within retry_window. */
int store_err_transient(enum store_err e);

enum store_op_type {
	STORE_OP_BEGIN,    /* shopping_sessions row (outcome NULL), users.last_shopped_at */
	STORE_OP_BROWSE,   /* read products of op->category: result_count = rows seen */
	STORE_OP_CART,     /* cart_items set to exactly op->items (the whole cart; upsert) */
	STORE_OP_COUPONS,  /* read the user's eligible wallet coupons: result_count */
	STORE_OP_CHECKOUT, /* one transaction: orders + order_items + user_coupons redeemed
	                     * + cart_items cleared + session ended 'ordered' */
	STORE_OP_ABANDON,  /* session ended with op->outcome ('abandoned' or 'browsed') */
	STORE_OP_FAIL,     /* a session that could not finish: its row (written if BEGIN never
	                     * landed) ends 'failed' with op->reason in shopping_sessions.error */
	STORE_OP_TYPES
};
const char *store_op_name(enum store_op_type t); /* "begin", "browse", ... */

enum store_event_type {
	EV_SESSION_START,
	EV_VIEW,
	EV_CART_ADD,
	EV_COUPONS_VIEWED,
	EV_COUPON_APPLIED,
	EV_CHECKOUT,
	EV_ABANDON,
	EV_TYPES
};
const char *store_event_name(enum store_event_type t); /* "session_start", "view", ... */

struct store_item {
	uint32_t product_id;
	uint16_t store_id;
	uint16_t quantity;
	uint32_t price_cents; /* unit price */
};

/* One shopping_session_events row.  Key: "s<seed>:<agent_id>:<cycle>:<step>:<index>". */
struct store_event {
	uint8_t type;        /* enum store_event_type */
	uint8_t step;        /* the session step that produced it */
	uint16_t index;      /* 0.. within the step */
	uint32_t product_id; /* view, cart_add: the product; coupon_applied: the coupon */
	uint32_t value;      /* view: price; cart_add: quantity; coupons_viewed: eligible;
	                         * checkout: total; abandon: cart value */
	int32_t dt;          /* seconds after op->sim_time, 0..STORE_EVENT_DT_MAX: the
	                         * row's created_at is sim_time + dt (views of one step
	                         * happen seconds to minutes apart) */
};
#define STORE_EVENT_DT_MAX 86400

struct store_op;
typedef void (*store_cb)(struct store_op *op, void *arg);

struct store_op {
	enum store_op_type type;
	uint64_t seed;  /* the run's seed: keys of different runs never meet */
	uint32_t agent; /* 0-based; users.id = agent + 1 */
	uint32_t cycle;
	int64_t sim_time; /* unix seconds of simulated time: created_at of rows */
	char agent_id[STORE_AGENT_ID_MAX];
	uint8_t category;    /* BROWSE */
	const char *outcome; /* ABANDON: static string */
	int64_t started;     /* FAIL: simulated time the session started */
	char reason[48];     /* FAIL: what failed, e.g. "query at checkout" */
	uint16_t nitems;     /* CART: the whole cart; CHECKOUT: the order's lines */
	struct store_item items[STORE_MAX_ITEMS];
	uint32_t coupon_id;   /* CHECKOUT: 0 = none */
	uint32_t total_cents; /* CHECKOUT: after discount */
	uint16_t nevents;     /* events written with this step (same transaction where possible) */
	struct store_event events[STORE_MAX_EVENTS];
	/*
	 * Set by the shop API driver on what it hands the database store: the
	 * shop's part of the step (reads, cart, order) went through the API, so
	 * only the simulation's records are written -- the session row and its
	 * end (CHECKOUT ends it 'ordered'), users.last_shopped_at, the events.
	 */
	uint8_t records_only;

	store_cb cb;
	void *arg;

	/* Set by the driver before cb runs. */
	enum store_err err;
	char errmsg[256]; /* never contains a secret */
	uint32_t result_count;
	uint32_t rows;      /* rows the op wrote (its events included) */
	uint8_t permanent;  /* the failure is the request's own (an API 4xx): do not retry */
	double retry_after; /* s the server asked to wait before a retry; < 0: it did not say */
};

/* What a set-up has written so far: the driver counts into it while prepare runs. */
struct store_progress {
	uint32_t users_written; /* users (with their wallets) committed */
	int catalog_written;    /* the catalogue is in: written now, or found there */
};

/* Run set-up: migrations done at open; this writes catalogue and users. */
struct store_setup {
	const struct catalog *catalog;
	/*
	 * shop_catalog = api: the same catalogue, lent for the shop API's driver to
	 * replace its products with the shop's (NULL: not to be replaced); the
	 * driver then sets catalog_external: the shop's own, not written (users are).
	 */
	struct catalog *catalog_out;
	int catalog_external;
	const struct persona *personas; /* personas[agent] for agent < nagents */
	uint32_t nagents;
	struct store_progress *progress; /* NULL, or counted into (status shows it) */
	/*
	 * write_mode = bulk: the run's rows go in large batches across sessions
	 * (PostgreSQL: pgbulk.h); the SQLite store writes as in realistic mode.
	 */
	int bulk;
};
typedef void (*store_done_cb)(enum store_err err, const char *msg, void *arg);
/* The store became fenced (store_set_fence): msg is the server's "fenced: ..." line. */
typedef void (*store_fenced_fn)(const char *msg, void *arg);

struct store_stats {
	const char *driver;
	uint32_t connections_active, connections_idle, waiting, max;
	uint64_t opened, closed, queries;
	/*
	 * Times the driver waited for the server's answers before it could send
	 * more: in all, and for sessions' steps alone (PostgreSQL; 0 elsewhere).
	 */
	uint64_t round_trips, step_round_trips;
	/* events waiting to be written, its bound (0: none), the most seen this run */
	uint64_t events_queued, events_queue_max, events_queued_peak;
	/* events the batcher wrote (PostgreSQL): those that did not go in with their steps */
	uint64_t events_batched;
};

/* What the drivers need of the configuration (store_opts_from_config), nothing more. */
struct store_opts {
	const char *data_dir;     /* sqlite: <data_dir>/shop.db */
	const char *database_url; /* postgres when set; a secret */
	unsigned pool_size, pool_overflow, pool_max;
	double pool_timeout, pool_recycle, connect_timeout;
	double statement_timeout; /* seconds a job waits for its answer; 0 = no limit */
	int pool_pre_ping;
	int pg_prepared;    /* named prepared statements; 0 behind a transaction pooler */
	int pg_pipeline;    /* a session's steps sent together (store_submit_chain) */
	int pg_no_pipeline; /* tests: one statement at a time, as a libpq without pipelines */
	unsigned event_batch_size;
	unsigned event_queue_max; /* events queued at most (back-pressure) */
	double event_flush_interval;
	double sqlite_commit_interval; /* sqlite: seconds a completed step may stay uncommitted */
	struct shopapi_opts api; /* api.url set: the shop API driver over the database store */
};
void store_opts_from_config(struct store_opts *o, const struct sim_config *c);

/*
 * A run's rows, found by the prefix "s<seed>:" of their deterministic keys:
 * counted (report, purge --dry-run), or deleted one bounded batch at a time
 * (purge) so that no lock is held for long.  A purge goes phase by phase in
 * dependency order (orders with their items and coupon redemptions, then
 * interactions, events, sessions last); each batch is one transaction.
 */
enum store_keyed_table {
	STORE_K_ORDER_ITEMS,  /* of the run's orders */
	STORE_K_ORDERS,       /* orders.idem_key */
	STORE_K_COUPONS,      /* user_coupons redeemed by the run's orders: a purge un-redeems */
	STORE_K_INTERACTIONS, /* interactions.interaction_key */
	STORE_K_EVENTS,       /* shopping_session_events.event_key */
	STORE_K_SESSIONS,     /* shopping_sessions.session_key */
	STORE_KEYED
};
extern const char *const store_keyed_names[STORE_KEYED]; /* the table names */

enum store_purge_phase {
	STORE_P_ORDERS,
	STORE_P_INTERACTIONS,
	STORE_P_EVENTS,
	STORE_P_SESSIONS,
	STORE_P_DONE
};
const char *store_phase_name(enum store_purge_phase p); /* "orders", ..., "done" */
/* The table and key column a phase deletes from (phase < STORE_P_DONE). */
const char *store_phase_table(enum store_purge_phase p);
const char *store_phase_key(enum store_purge_phase p);

#define STORE_PREFIX_MAX 32
#define STORE_OPEN_AGENTS 100
struct store_keyjob {
	char prefix[STORE_PREFIX_MAX]; /* "s7:" (store_key_prefix) */
	int purge;                     /* 0: count every table; 1: delete one batch */
	enum store_purge_phase phase;  /* purge: the phase of the batch */
	int64_t cursor;                /* purge: in: ids above it; out: the last id deleted */
	uint32_t limit;                /* purge: rows of the phase's table in the batch, >= 1 */
	uint64_t rows[STORE_KEYED];    /* out: counted, or deleted / un-redeemed by the batch */
	uint32_t found;                /* out: rows of the phase's table in the batch */
	/* out, counting only: what a finished run should not have left */
	uint64_t open_sessions;                  /* sessions without an outcome */
	uint32_t open_agents[STORE_OPEN_AGENTS]; /* their agents (0-based), the first ones */
	uint32_t nopen_agents;
	int64_t idle_in_tx;   /* simd's sessions idle in a transaction (PostgreSQL); -1: n/a */
	double idle_oldest_s; /* the oldest one's transaction age */
	store_done_cb cb;     /* from the loop */
	void *arg;
};
/* "s<seed>:" */
void store_key_prefix(char *buf, size_t len, uint64_t seed);

struct store;
struct store_driver {
	const char *name;
	struct store *(*open)(
	    struct event_base *base, const struct store_opts *o, char *err, size_t errlen);
	void (*close)(struct store *s);
	void (*prepare)(
	    struct store *s, const struct store_setup *setup, store_done_cb cb, void *arg);
	void (*submit)(struct store *s, struct store_op *op);
	/* Completes once every queued write is durable (checkpoints wait for it). */
	void (*flush)(struct store *s, store_done_cb cb, void *arg);
	void (*stats)(struct store *s, struct store_stats *out);
	void (*api_stats)(struct store *s, struct shopapi_stats *out); /* NULL: no API */
	/* The run now writing (NULL: none); may be NULL for drivers with no sessions to name. */
	void (*set_run)(struct store *s, const char *run_id);
	/* A new cap on the driver's connections (pool_max); NULL for drivers without a pool. */
	void (*set_pool_max)(struct store *s, unsigned max);
	/*
	 * Whether the writes queued have reached their bound, so that no new
	 * session should start (back-pressure); NULL for drivers that queue nothing.
	 */
	int (*congested)(struct store *s);
	/* Counts or purges a run's rows by key prefix (store_keyed). */
	void (*keyed)(struct store *s, struct store_keyjob *j);
	/* Whether submit_chain may be used now; both NULL for drivers without chains. */
	int (*chains)(struct store *s);
	void (*submit_chain)(struct store *s, struct store_op *const *ops, unsigned n);
	/* store_set_fence, store_on_fenced; NULL for drivers that cannot fence */
	int (*set_fence)(struct store *s, const char *run_id, uint32_t shard, uint64_t generation,
	    char *err, size_t errlen);
	void (*on_fenced)(struct store *s, store_fenced_fn fn, void *arg);
};

struct store {
	const struct store_driver *drv;
	void *priv;
};

extern const struct store_driver store_sqlite_driver;
extern const struct store_driver store_pg_driver;

/* What opening would refuse, short of connecting (simd -n): 0, or -1 with a message. */
int store_check(const struct store_opts *o, char *err, size_t errlen);
/* Opens the driver the options ask for (sqlite unless database_url is set). */
struct store *
store_open(struct event_base *base, const struct store_opts *o, char *err, size_t errlen);
/*
 * Completions still waiting run before store_close() returns, with
 * STORE_ERR_CLOSED (the one time callbacks run inside a store call); it may be
 * called from a completion callback.
 */
void store_close(struct store *s);
void store_prepare(struct store *s, const struct store_setup *setup, store_done_cb cb, void *arg);
void store_submit(struct store *s, struct store_op *op);
/*
 * A session's steps at once, ops[0..n-1] in order (n <= STORE_CHAIN_MAX), when
 * store_chains() says the driver takes them (PostgreSQL with pg_pipeline, SQLite):
 * each still its own transaction, their completions in order.  The first op
 * that fails gets its error; those after it do not count -- they fail too
 * (the database skipped them), whatever they report -- and are to be
 * submitted again, in order, once the failed one has been retried.
 */
#define STORE_CHAIN_MAX 10
int store_chains(struct store *s);
void store_submit_chain(struct store *s, struct store_op *const *ops, unsigned n);
void store_flush(struct store *s, store_done_cb cb, void *arg);
void store_stats(struct store *s, struct store_stats *out);
/* Back-pressure: 1 while the store's queued writes are at their bound. */
int store_congested(struct store *s);
/* The shop API's figures; out->on is 0 when the store has no API. */
void store_api_stats(struct store *s, struct shopapi_stats *out);
/*
 * Names the run the store now writes for: PostgreSQL connections carry
 * application_name "simd/<run id>" (STORE_APPNAME_PREFIX alone between runs),
 * so pg_stat_activity shows whose sessions they are.
 */
#define STORE_APPNAME_PREFIX "simd"
#define STORE_APPNAME_MAX 64 /* NAMEDATALEN */
void store_set_run(struct store *s, const char *run_id);
/*
 * A new cap on the store's database connections, in place of pool_max (a
 * cluster member's share of cluster_pool_max): see pgpool_set_max.
 */
void store_set_pool_max(struct store *s, unsigned max);
void store_appname(char *buf, size_t len, const char *run_id);
/* Runs j (see struct store_keyjob); j->cb always runs from the loop. */
void store_keyed(struct store *s, struct store_keyjob *j);

/*
 * Fencing (cluster = on, DESIGN.md 9): a member writes for a shard it holds by
 * lease, at the shard's generation in simd_shards.  While a fence is set, every
 * write transaction the store sends for the run begins with
 * simd_fence(run_id, shard, generation), in the same transaction, so the claim
 * that raises the generation waits for the writes in flight and every write
 * after it is refused (SQLSTATE SF001) -- a member that lost its lease, paused
 * by the OS or partitioned, cannot write for the shard once another took it.
 * The run's set-up (catalogue, users: shared and idempotent) is not fenced.
 *
 * A refused write fails with STORE_ERR_FENCED, never retried.  From then on
 * the store is fenced: what it still holds for the run (queued events, bulk
 * batches) is dropped, every op and flush fails with STORE_ERR_FENCED without
 * reaching the database, and the fenced callback runs once (from the loop;
 * msg is the server's "fenced: ..." line).  The next store_set_fence lifts it.
 *
 * store_set_fence may be called between runs and during one (a new generation
 * after a re-claim): statements already sent keep the old value, every write
 * transaction started afterwards uses the new one; a write refused under an
 * older fence than the one in force fences nothing -- it fails with
 * STORE_ERR_BUSY, to be retried under the new one.  store_set_fence(s, NULL,
 * 0, 0, ...) clears it.  0, or -1 with a message: only the PostgreSQL store
 * fences ("fencing needs the PostgreSQL store"), the shard must fit an integer
 * and the generation a bigint.
 */
int store_set_fence(struct store *s, const char *run_id, uint32_t shard, uint64_t generation,
    char *err, size_t errlen);
/* Who is told when the store becomes fenced (NULL: nobody); one at a time. */
void store_on_fenced(struct store *s, store_fenced_fn fn, void *arg);

/* ---- storekeys.c: what every driver writes the same way ---- */

/* Clears what the driver sets before op->cb (err, errmsg, result_count, rows, ...). */
void store_op_clear(struct store_op *op);
/* What a caller could get wrong in op, said plainly; NULL when it is valid. */
const char *store_op_invalid(const struct store_op *op);

/* Deterministic keys and helpers shared by the drivers. */
void store_agent_id(char *buf, size_t len, uint32_t agent); /* agent_001 for agent 0 */
void store_session_key(char *buf, size_t len, const struct store_op *op); /* s7:agent_001:12 */
void store_order_key(char *buf, size_t len, const struct store_op *op); /* s7:agent_001:12:order */
void
store_event_key(char *buf, size_t len, const struct store_op *op, const struct store_event *ev);
void store_event_payload(char *buf, size_t len, const struct store_event *ev); /* small JSON */
/*
 * The catalogue's signature in sim_meta: the generator's version, its seed and
 * its sizes.  A store whose sim_meta holds these very values holds this catalogue.
 */
#define STORE_SIG_KEYS 6
#define STORE_SIG_LEN 32
extern const char *const store_sig_keys[STORE_SIG_KEYS]; /* "catalog_version", ... */
void store_catalog_signature(const struct catalog *c, char val[STORE_SIG_KEYS][STORE_SIG_LEN]);
/* "2026-01-05T09:00:00Z" */
void store_time_iso(char *buf, size_t len, int64_t t);
/*
 * users.persona as every driver writes it: persona_to_json() dumped compact,
 * keys sorted, reals with the 9 significant digits that give back the same
 * float.  Writes into *buf (*cap bytes, grown with realloc as needed; both may
 * start NULL/0), NUL-terminated; returns the length, or -1 when out of memory.
 */
long store_persona_json(const struct persona *p, char **buf, size_t *cap);

#endif
