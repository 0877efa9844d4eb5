/* config.c - the table of tunables and the parsers that feed it. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "sim/calendar.h"
#include "sim/config.h"
#include "sim/log.h"
#include "sim/shard.h"
#include "sim/text.h"

#define OFF(f) offsetof(struct sim_config, f)
#define RT CFG_RUNTIME

const struct config_key config_keys[] = {
	/* daemon */
	{ "socket", CFG_STRING, OFF(socket_path), 0, 0, "", "SIMD_SOCKET", 0,
	    "control socket path (empty: $SIMD_SOCKET, /run/simd/simd.sock for root, "
	    "else $XDG_RUNTIME_DIR/simd.sock or /tmp/simd-$UID/simd.sock)",
	    CFG_APPLY_NONE },
	{ "socket_mode", CFG_MODE, OFF(socket_mode), 0, 0777, "0660", NULL, 0,
	    "permissions of the control socket (octal)", CFG_APPLY_NONE },
	{ "socket_group", CFG_STRING, OFF(socket_group), 0, 0, "", NULL, 0,
	    "group whose members may also use the control socket (empty: none)", CFG_APPLY_NONE },
	{ "socket_readonly_group", CFG_STRING, OFF(socket_readonly_group), 0, 0, "", NULL, 0,
	    "group whose members may use the control socket for read-only methods only "
	    "(status, stats, checkpoints, ping, version; empty: none)",
	    CFG_APPLY_NONE },
	{ "data_dir", CFG_STRING, OFF(data_dir), 0, 0, "", "SIMD_DATA_DIR", 0,
	    "directory for shop.db, checkpoints.db, the lock and the pid file "
	    "(empty: /var/lib/simd for root, else ~/.local/state/simd)",
	    CFG_APPLY_NONE },
	{ "pid_file", CFG_STRING, OFF(pid_file), 0, 0, "", NULL, 0,
	    "pid file written when detached (empty: <data_dir>/simd.pid)", CFG_APPLY_NONE },
	{ "log_level", CFG_LEVEL, OFF(log_level), 0, 3, "info", "SIMD_LOG_LEVEL", RT,
	    "error, warn, info or debug", CFG_APPLY_LOG_LEVEL },
	{ "log_file", CFG_STRING, OFF(log_file), 0, 0, "", "SIMD_LOG_FILE", RT,
	    "file the log is appended to, reopened on SIGHUP (empty: stderr with -f, else syslog)",
	    CFG_APPLY_LOG_FILE },
	{ "max_request", CFG_INT, OFF(max_request), 256, 16777216, "65536", NULL, 0,
	    "longest request line accepted on the control socket, in bytes", CFG_APPLY_NONE },
	{ "control_request_timeout", CFG_DOUBLE, OFF(control_request_timeout), 0.1, 3600, "10",
	    NULL, 0, "seconds a request line may take from its first byte to its end",
	    CFG_APPLY_NONE },
	{ "control_idle_timeout", CFG_DOUBLE, OFF(control_idle_timeout), 1, 86400, "60", NULL,
	    CFG_ZERO_OK,
	    "seconds a control client with no request pending (and no stream) may stay silent "
	    "before it is closed (0: never)",
	    CFG_APPLY_NONE },
	{ "control_max_clients", CFG_INT, OFF(control_max_clients), 32, 65536, "1024", NULL, 0,
	    "control connections in all; the last 16 are kept for root and simd's own user",
	    CFG_APPLY_NONE },
	{ "control_max_per_uid", CFG_INT, OFF(control_max_per_uid), 1, 65536, "64", NULL, 0,
	    "control connections one user may hold at once (root and simd's own user excepted)",
	    CFG_APPLY_NONE },
	{ "shutdown_timeout", CFG_DOUBLE, OFF(shutdown_timeout), 0, 3600, "10", NULL, RT,
	    "seconds in-flight sessions get to finish on SIGTERM/shutdown before they are abandoned",
	    CFG_APPLY_NONE },
	/* simulation */
	{ "seed", CFG_INT, OFF(seed), 0, 9007199254740991.0, "1", "SIMULATION_SEED", RT,
	    "random seed of a run: the same seed gives the same personas, catalogue and orders",
	    CFG_APPLY_NONE },
	{ "agents", CFG_INT, OFF(agents), 1, 10000000, "372", "SIMULATION_AGENTS", RT,
	    "number of agents (shoppers) in a run", CFG_APPLY_NONE },
	{ "shard", CFG_STRING, OFF(shard), 0, 0, "", "SIMD_SHARD", RT,
	    "I/N: simulate only shard I of N of the population (agents whose index is I modulo N; "
	    "\"\": all); N daemons sharing one database write the rows of one run",
	    CFG_APPLY_NONE },
	{ "cycles", CFG_INT, OFF(cycles), 0, 1000000000, "0", NULL, RT,
	    "cycles a run lasts (0: until hours or stop)", CFG_APPLY_NONE },
	{ "hours", CFG_DOUBLE, OFF(hours), 0, 1000000, "0", NULL, RT,
	    "wall-clock hours a run lasts (0: until cycles or stop)", CFG_APPLY_NONE },
	{ "tick", CFG_INT, OFF(tick), 1, 10080, "60", NULL, RT, "simulated minutes per cycle",
	    CFG_APPLY_NONE },
	{ "time_scale", CFG_DOUBLE, OFF(time_scale), 0.001, 1000000, "24", NULL, RT | CFG_ZERO_OK,
	    "simulated time per wall time (24: a simulated day per wall hour; 0: as fast as "
	    "possible)",
	    CFG_APPLY_NONE },
	{ "sim_start", CFG_TIME, OFF(sim_start), 0, 0, "2026-01-05T00:00:00Z", NULL, RT,
	    "simulated time of the first cycle (ISO 8601 UTC)", CFG_APPLY_NONE },
	{ "max_concurrent", CFG_INT, OFF(max_concurrent), 1, 100000, "50",
	    "SIMULATION_MAX_CONCURRENT", RT, "shopping sessions in flight at once",
	    CFG_APPLY_CONCURRENCY },
	{ "adaptive", CFG_BOOL, OFF(adaptive), 0, 1, "on", NULL, RT,
	    "the limit on sessions in flight follows the backend's latency, under a ceiling set "
	    "by CPU and memory, from max_concurrent as its base (off: the limit is "
	    "max_concurrent)",
	    CFG_APPLY_ADAPTIVE },
	{ "adaptive_min", CFG_INT, OFF(adaptive_min), 1, 100000, "20", NULL, RT,
	    "lowest limit the adaptive controller sets", CFG_APPLY_ADAPTIVE },
	{ "adaptive_max", CFG_INT, OFF(adaptive_max), 1, 100000, "100", NULL, RT,
	    "highest limit the adaptive controller sets (with PostgreSQL never above twice "
	    "pool_max: its connections and a step waiting for each)",
	    CFG_APPLY_ADAPTIVE },
	{ "cpu_high", CFG_DOUBLE, OFF(cpu_high), 0, 100, "80", NULL, RT,
	    "CPU use in percent (of the machine, or of the cgroup's quota) above which the "
	    "adaptive limit halves",
	    CFG_APPLY_ADAPTIVE },
	{ "cpu_low", CFG_DOUBLE, OFF(cpu_low), 0, 100, "50", NULL, RT,
	    "CPU use in percent below which the adaptive limit may grow", CFG_APPLY_ADAPTIVE },
	{ "mem_high", CFG_DOUBLE, OFF(mem_high), 0, 100, "80", NULL, RT,
	    "memory use in percent (of the machine, or of the cgroup's limit) above which the "
	    "adaptive limit halves",
	    CFG_APPLY_ADAPTIVE },
	{ "mem_low", CFG_DOUBLE, OFF(mem_low), 0, 100, "50", NULL, RT,
	    "memory use in percent below which the adaptive limit may grow", CFG_APPLY_ADAPTIVE },
	{ "max_retries", CFG_INT, OFF(max_retries), 0, 100, "3", NULL, RT,
	    "retries of a failed step before its session counts as an error", CFG_APPLY_NONE },
	{ "retry_backoff_ms", CFG_INT, OFF(retry_backoff_ms), 1, 60000, "100", NULL, RT,
	    "first retry delay in milliseconds, doubled on each further retry", CFG_APPLY_NONE },
	{ "retry_window", CFG_DOUBLE, OFF(retry_window), 0, 3600, "30", NULL, RT,
	    "seconds a step failing with a transient error (connection lost, pool timeout, lock, "
	    "a full disk) "
	    "keeps being retried, beyond max_retries",
	    CFG_APPLY_NONE },
	{ "max_error_rate", CFG_DOUBLE, OFF(max_error_rate), 0, 1, "0.05", NULL, RT,
	    "share of a run's sessions that may fail before the run ends failed (start --wait "
	    "exits 1)",
	    CFG_APPLY_NONE },
	{ "catalog_products", CFG_INT, OFF(catalog_products), 12, 1000000, "2000", NULL, RT,
	    "products in the generated catalogue", CFG_APPLY_NONE },
	{ "catalog_stores", CFG_INT, OFF(catalog_stores), 1, 10000, "20", NULL, RT,
	    "stores in the generated catalogue", CFG_APPLY_NONE },
	{ "catalog_coupons", CFG_INT, OFF(catalog_coupons), 3, 100000, "60", NULL, RT,
	    "coupons in the generated catalogue", CFG_APPLY_NONE },
	/* the shopper model: docs/realism.md gives each default's source */
	{ "bounce_rate", CFG_DOUBLE, OFF(bounce_rate), 0, 0.95, "0.45", NULL, RT,
	    "share of visits that view one product and leave", CFG_APPLY_NONE },
	{ "second_browse_rate", CFG_DOUBLE, OFF(second_browse_rate), 0, 1, "0.35", NULL, RT,
	    "share of the other visits that look at a second category", CFG_APPLY_NONE },
	{ "cross_store_rate", CFG_DOUBLE, OFF(cross_store_rate), 0, 1, "0.1", NULL, RT,
	    "chance that a visit's second look is in another store", CFG_APPLY_NONE },
	{ "think_sigma", CFG_DOUBLE, OFF(think_sigma), 0, 3, "1", NULL, RT,
	    "log-space spread of the (lognormal) think times between steps", CFG_APPLY_NONE },
	{ "think_max_s", CFG_DOUBLE, OFF(think_max_s), 1, 86400, "1800", NULL, RT,
	    "longest pause inside a session, in simulated seconds", CFG_APPLY_NONE },
	{ "checkout_median_s", CFG_DOUBLE, OFF(checkout_median_s), 1, 3600, "75", NULL, RT,
	    "median simulated seconds to fill in the checkout", CFG_APPLY_NONE },
	{ "session_max_s", CFG_DOUBLE, OFF(session_max_s), 60, 86400, "2700", NULL, RT,
	    "longest session in simulated seconds; an agent's next visit starts after it",
	    CFG_APPLY_NONE },
	{ "cart_rate", CFG_DOUBLE, OFF(cart_rate), -1, 1, "-1", NULL, RT,
	    "-1: each persona's cart_propensity; 0 to 1: every visit's chance to fill a cart",
	    CFG_APPLY_NONE },
	{ "checkout_rate", CFG_DOUBLE, OFF(checkout_rate), -1, 1, "-1", NULL, RT,
	    "-1: from each persona's abandon_tendency and cart_recovery; 0 to 1: a filled cart's "
	    "chance to be bought in the visit that filled it",
	    CFG_APPLY_NONE },
	{ "weekday_mix", CFG_STRING, OFF(weekday_mix), 0, 0, CALENDAR_DEFAULT_WEEKDAYS, NULL, RT,
	    "the population's share of sessions by weekday, seven numbers, Monday first",
	    CFG_APPLY_NONE },
	{ "calendar", CFG_STRING, OFF(calendar), 0, 0, "", NULL, RT,
	    "promotion, holiday and payday windows that scale the chance to visit, separated by "
	    "\";\" (promo FROM/TO xF; holiday DATE[/DATE] xF; payday 1,15,last xF)",
	    CFG_APPLY_NONE },
	/* checkpoints */
	{ "checkpoint_interval", CFG_DOUBLE, OFF(checkpoint_interval), 0, 86400, "300",
	    "SIMULATION_CHECKPOINT_INTERVAL", RT,
	    "seconds of wall time between checkpoints (0: at every cycle boundary)",
	    CFG_APPLY_CKPT_INTERVAL },
	{ "checkpoint_keep", CFG_INT, OFF(checkpoint_keep), 1, 1000, "10", NULL, RT,
	    "newest checkpoints kept", CFG_APPLY_CKPT_KEEP },
	{ "sqlite_commit_interval", CFG_DOUBLE, OFF(sqlite_commit_interval), 0, 10, "0", NULL, 0,
	    "seconds the embedded SQLite store may keep completed steps in an open transaction "
	    "(0: commit before each completion)",
	    CFG_APPLY_NONE },
	/* postgres */
	{ "database_url", CFG_STRING, OFF(database_url), 0, 0, "", "DATABASE_URL", CFG_SECRET,
	    "PostgreSQL URI or conninfo; empty: the embedded SQLite store <data_dir>/shop.db",
	    CFG_APPLY_NONE },
	{ "pool_size", CFG_INT, OFF(pool_size), 1, 10000, "50", NULL, 0,
	    "PostgreSQL connections kept open", CFG_APPLY_NONE },
	{ "max_overflow", CFG_INT, OFF(max_overflow), 0, 10000, "10", NULL, 0,
	    "connections opened beyond pool_size under load, closed when released",
	    CFG_APPLY_NONE },
	{ "pool_timeout", CFG_DOUBLE, OFF(pool_timeout), 0.001, 3600, "30", NULL, 0,
	    "seconds a step waits for a connection before it fails (and is retried)",
	    CFG_APPLY_NONE },
	{ "pool_pre_ping", CFG_BOOL, OFF(pool_pre_ping), 0, 1, "yes", NULL, 0,
	    "check a connection that sat idle before reusing it", CFG_APPLY_NONE },
	{ "pool_recycle", CFG_DOUBLE, OFF(pool_recycle), 0, 1000000, "3600", NULL, 0,
	    "seconds after which a connection is replaced (0: never)", CFG_APPLY_NONE },
	{ "pool_max", CFG_INT, OFF(pool_max), 1, 10000, "60", NULL, 0,
	    "hard cap on PostgreSQL connections, never exceeded", CFG_APPLY_NONE },
	{ "event_batch_size", CFG_INT, OFF(event_batch_size), 1, 10000, "50", NULL, 0,
	    "events written in one batch", CFG_APPLY_NONE },
	{ "event_queue_max", CFG_INT, OFF(event_queue_max), 1, 100000000, "50000", NULL, 0,
	    "events queued for writing at most: beyond it no new session starts until the "
	    "queue drains",
	    CFG_APPLY_NONE },
	{ "event_flush_interval", CFG_DOUBLE, OFF(event_flush_interval), 0.01, 3600, "5", NULL, 0,
	    "seconds after which queued events are written even if the batch is not full",
	    CFG_APPLY_NONE },
	{ "connect_timeout", CFG_DOUBLE, OFF(connect_timeout), 0.1, 600, "10", NULL, 0,
	    "seconds a PostgreSQL connection attempt may take", CFG_APPLY_NONE },
	{ "pg_prepared", CFG_BOOL, OFF(pg_prepared), 0, 1, "yes", NULL, 0,
	    "named prepared statements on each connection; no behind a transaction-mode pooler "
	    "(pgbouncer pool_mode = transaction, Supavisor port 6543)",
	    CFG_APPLY_NONE },
	{ "pg_pipeline", CFG_BOOL, OFF(pg_pipeline), 0, 1, "yes", NULL, 0,
	    "a session's steps go to PostgreSQL together, in one pipeline, each its own "
	    "transaction, instead of each waiting for the answer to the one before",
	    CFG_APPLY_NONE },
	{ "write_mode", CFG_STRING, OFF(write_mode), 0, 0, "realistic", NULL, RT,
	    "realistic (each shopping step is the transaction an application would run: what a "
	    "load test should measure) or bulk (data generation: the rows of many sessions in "
	    "large multi-row transactions, reads not sent; PostgreSQL only, SQLite writes as "
	    "realistic); the same rows either way",
	    CFG_APPLY_NONE },
	{ "statement_timeout", CFG_DOUBLE, OFF(statement_timeout), 0.01, 3600, "30", NULL,
	    CFG_ZERO_OK,
	    "seconds a PostgreSQL job may wait for its answer before it fails and is retried "
	    "(0: no limit)",
	    CFG_APPLY_NONE },
	/* the cluster (cluster.h) */
	{ "cluster", CFG_BOOL, OFF(cluster), 0, 1, "off", "SIMD_CLUSTER", 0,
	    "this daemon is a member of a cluster sharing runs through PostgreSQL (needs "
	    "database_url): it claims the shards of runs started with simctl start --shards",
	    CFG_APPLY_NONE },
	{ "lease_ttl", CFG_DOUBLE, OFF(lease_ttl), 1, 3600, "15", NULL, 0,
	    "seconds a member's lease on its shard lasts without a heartbeat (one every third of "
	    "it); then another member takes the shard over from its newest checkpoint",
	    CFG_APPLY_NONE },
	{ "cluster_member", CFG_STRING, OFF(cluster_member), 0, 0, "", "SIMD_CLUSTER_MEMBER", 0,
	    "this member's name, unique in the cluster (empty: <hostname>:<a hash of data_dir>)",
	    CFG_APPLY_NONE },
	{ "cluster_pool_max", CFG_INT, OFF(cluster_pool_max), 2, 100000, "60", NULL, 0,
	    "PostgreSQL connections the whole cluster may open: each live member's pool gets its "
	    "share",
	    CFG_APPLY_NONE },
	{ "cluster_max_skew", CFG_INT, OFF(cluster_max_skew), 0, 1000000, "1", NULL, 0,
	    "cycles a shard may run ahead of the slowest other shard of its run that a member holds",
	    CFG_APPLY_NONE },
	/* the shop API */
	{ "shop_api_url", CFG_STRING, OFF(shop_api_url), 0, 0, "", NULL, 0,
	    "base URL of the shop's REST API (http[s]://host[:port][/prefix]): the shop actions "
	    "of sessions go through it, their records still to the database (empty: none)",
	    CFG_APPLY_NONE },
	{ "shop_catalog", CFG_STRING, OFF(shop_catalog), 0, 0, "generate", NULL, 0,
	    "where the catalogue comes from: generate (from the seed, written into the shop) or api "
	    "(read from the shop's search endpoint at set-up, every category paged; needs "
	    "shop_api_url)",
	    CFG_APPLY_NONE },
	{ "api_path_session", CFG_STRING, OFF(api_path_session), 0, 0, "/api/shopping/session",
	    NULL, 0, "path of the begin-a-session endpoint (POST)", CFG_APPLY_NONE },
	{ "api_path_search", CFG_STRING, OFF(api_path_search), 0, 0, "/api/products/search", NULL,
	    0, "path of the product search endpoint (GET, ?category=)", CFG_APPLY_NONE },
	{ "api_path_cart", CFG_STRING, OFF(api_path_cart), 0, 0, "/api/cart/items", NULL, 0,
	    "path of the set-the-cart endpoint (POST)", CFG_APPLY_NONE },
	{ "api_path_eligible", CFG_STRING, OFF(api_path_eligible), 0, 0, "/api/coupons/eligible",
	    NULL, 0, "path of the eligible-coupons endpoint (GET, ?user_id=)", CFG_APPLY_NONE },
	{ "api_path_wallet", CFG_STRING, OFF(api_path_wallet), 0, 0, "/api/coupons/wallet", NULL, 0,
	    "path of the wallet endpoint (GET, ?user_id=)", CFG_APPLY_NONE },
	{ "api_path_coupon", CFG_STRING, OFF(api_path_coupon), 0, 0, "/api/cart/coupons", NULL, 0,
	    "path of the apply-a-coupon endpoint (POST)", CFG_APPLY_NONE },
	{ "api_path_orders", CFG_STRING, OFF(api_path_orders), 0, 0, "/api/orders", NULL, 0,
	    "path of the checkout endpoint (POST, with Idempotency-Key)", CFG_APPLY_NONE },
	{ "api_jwt_secret_file", CFG_STRING, OFF(api_jwt_secret_file), 0, 0, "", NULL, 0,
	    "file holding the HS256 key of the users' tokens (its bytes less trailing newlines; "
	    "never logged); required with shop_api_url",
	    CFG_APPLY_NONE },
	{ "api_jwt_ttl", CFG_DOUBLE, OFF(api_jwt_ttl), 60, 86400, "3600", NULL, 0,
	    "seconds a user's token lives; it is reused until a tenth of that is left",
	    CFG_APPLY_NONE },
	{ "api_max_keepalive", CFG_INT, OFF(api_max_keepalive), 1, 100000, "100", NULL, 0,
	    "idle keep-alive connections kept open to the shop API", CFG_APPLY_NONE },
	{ "api_max_connections", CFG_INT, OFF(api_max_connections), 1, 100000, "200", NULL, 0,
	    "connections open to the shop API at once, never more", CFG_APPLY_NONE },
	{ "api_timeout", CFG_DOUBLE, OFF(api_timeout), 0.1, 3600, "10", NULL, 0,
	    "seconds a shop API request may take, connecting and queueing in the client included",
	    CFG_APPLY_NONE },
	{ "api_max_body", CFG_INT, OFF(api_max_body), 1024, 1073741824, "1048576", NULL, 0,
	    "largest shop API response body accepted, in bytes (larger ones fail as api_data)",
	    CFG_APPLY_NONE },
	{ "api_ca_file", CFG_STRING, OFF(api_ca_file), 0, 0, "", NULL, 0,
	    "PEM file of the CAs that sign the shop API's certificate (empty: the system's)",
	    CFG_APPLY_NONE },
	{ "api_insecure", CFG_BOOL, OFF(api_insecure), 0, 1, "no", NULL, 0,
	    "do not verify the shop API's TLS certificate (test rigs only; logged as a warning)",
	    CFG_APPLY_NONE },
	{ "api_rate", CFG_DOUBLE, OFF(api_rate), 0, 1000000, "0", NULL, 0,
	    "shop API requests/s at first (0: unlimited until the first 429 or 503)",
	    CFG_APPLY_NONE },
	{ "api_rate_min", CFG_DOUBLE, OFF(api_rate_min), 0.001, 1000000, "0.1", NULL, 0,
	    "the rate limiter never goes below this many requests/s", CFG_APPLY_NONE },
	{ "api_rate_max", CFG_DOUBLE, OFF(api_rate_max), 0.001, 1000000, "100000", NULL, 0,
	    "the rate limiter never goes above this many requests/s", CFG_APPLY_NONE },
	{ "api_rate_burst", CFG_DOUBLE, OFF(api_rate_burst), 1, 1000000, "10", NULL, 0,
	    "requests the limiter lets through at once after a quiet spell (its bucket)",
	    CFG_APPLY_NONE },
	{ "api_rate_decrease", CFG_DOUBLE, OFF(api_rate_decrease), 0.01, 0.99, "0.5", NULL, 0,
	    "the limiter's rate is multiplied by this on a 429 or 503 (once per congestion event)",
	    CFG_APPLY_NONE },
	{ "api_rate_increase", CFG_DOUBLE, OFF(api_rate_increase), 1, 10, "1.1", NULL, 0,
	    "the limiter's rate is multiplied by this per round of successes that used it "
	    "(multiplicative: see ratelimit.h)",
	    CFG_APPLY_NONE },
	/* watching a run */
	{ "metrics_csv", CFG_STRING, OFF(metrics_csv), 0, 0, "", NULL, RT,
	    "file a CSV row is appended to at the end of every cycle, reopened on SIGHUP "
	    "(empty: none)",
	    CFG_APPLY_METRICS_CSV },
	{ "metrics_listen", CFG_STRING, OFF(metrics_listen), 0, 0, "", NULL, 0,
	    "address [HOST:]PORT of the Prometheus /metrics endpoint; HOST defaults to 127.0.0.1 "
	    "(empty: off)",
	    CFG_APPLY_NONE },
	{ "watch_thresholds", CFG_STRING, OFF(watch_thresholds), 0, 0, "", NULL, RT,
	    "NAME=WARN:CRIT pairs over the plan's thresholds that simctl top colours by "
	    "(cycle_s, latency_ms, writes_per_s, cpu_pct, memory_gb, db_connections, "
	    "errors_per_cycle)",
	    CFG_APPLY_NONE },
	/* LLM personas */
	{ "persona_source", CFG_STRING, OFF(persona_source), 0, 0, "local", NULL, 0,
	    "where personas come from: local (generated from the seed) or llm (an "
	    "OpenAI-compatible chat-completions API, cached in <data_dir>/personas.db)",
	    CFG_APPLY_NONE },
	{ "llm_url", CFG_STRING, OFF(llm_url), 0, 0, "", NULL, 0,
	    "base URL of the OpenAI-compatible API (https://openrouter.ai/api/v1, "
	    "http://127.0.0.1:8080/v1, ...); /chat/completions is appended",
	    CFG_APPLY_NONE },
	{ "llm_model", CFG_STRING, OFF(llm_model), 0, 0, "", NULL, 0, "the model asked first",
	    CFG_APPLY_NONE },
	{ "llm_fallback_models", CFG_STRING, OFF(llm_fallback_models), 0, 0, "", NULL, 0,
	    "models tried in order when the one before fails (comma list; empty: none)",
	    CFG_APPLY_NONE },
	{ "llm_max_concurrent", CFG_INT, OFF(llm_max_concurrent), 1, 256, "1", NULL, 0,
	    "LLM requests in flight at once", CFG_APPLY_NONE },
	{ "llm_rate", CFG_DOUBLE, OFF(llm_rate), 0.001, 10000, "10", NULL, CFG_ZERO_OK,
	    "LLM requests per second at first, adapted to 429s and 503s (0: unlimited until "
	    "the first throttle)",
	    CFG_APPLY_NONE },
	{ "llm_rate_min", CFG_DOUBLE, OFF(llm_rate_min), 0.001, 10000, "1", NULL, 0,
	    "lowest LLM request rate the limiter goes down to, per second", CFG_APPLY_NONE },
	{ "llm_rate_max", CFG_DOUBLE, OFF(llm_rate_max), 0.001, 10000, "50", NULL, 0,
	    "highest LLM request rate the limiter goes up to, per second", CFG_APPLY_NONE },
	{ "llm_max_retries", CFG_INT, OFF(llm_max_retries), 0, 100, "5", NULL, 0,
	    "retries of an LLM request on one model (429, 503, 5xx, timeout) before the next",
	    CFG_APPLY_NONE },
	{ "llm_retry_delay", CFG_DOUBLE, OFF(llm_retry_delay), 0.001, 3600, "2", NULL, 0,
	    "seconds before the first retry of an LLM request, doubled each time", CFG_APPLY_NONE },
	{ "llm_timeout", CFG_DOUBLE, OFF(llm_timeout), 0.1, 3600, "120", NULL, 0,
	    "seconds an LLM request may take", CFG_APPLY_NONE },
	{ "llm_prompt_file", CFG_STRING, OFF(llm_prompt_file), 0, 0, "", NULL, 0,
	    "the prompt template (empty: the built-in one)", CFG_APPLY_NONE },
	{ "llm_api_key_file", CFG_STRING, OFF(llm_api_key_file), 0, 0, "", NULL, 0,
	    "file holding the API key when LLM_API_KEY, OPENROUTER_API_KEY and OPENAI_API_KEY are "
	    "unset",
	    CFG_APPLY_NONE },
	{ "llm_required", CFG_BOOL, OFF(llm_required), 0, 1, "no", NULL, 0,
	    "an agent the LLM gave no persona fails the run (no: it keeps its local persona, "
	    "counted)",
	    CFG_APPLY_NONE },
};
const size_t config_nkeys = sizeof(config_keys) / sizeof(config_keys[0]);

/* The string keys that take one of a few words. */
static const char *const persona_sources[] = { "local", "llm", NULL };
static const char *const shop_catalogs[] = { "generate", "api", NULL };
static const char *const write_modes[] = { "realistic", "bulk", NULL };
static const struct {
	const char *key;
	const char *const *choices;
} config_choice_table[] = {
	{ "persona_source", persona_sources },
	{ "shop_catalog", shop_catalogs },
	{ "write_mode", write_modes },
};

const char *const *
config_choices(const struct config_key *k)
{
	for (size_t i = 0; i < sizeof(config_choice_table) / sizeof(config_choice_table[0]); i++)
		if (strcmp(config_choice_table[i].key, k->name) == 0)
			return config_choice_table[i].choices;
	return NULL;
}

#define FIELD(c, k, type) ((type *)(void *)((char *)(c) + (k)->offset))
#define CFIELD(c, k, type) ((const type *)(const void *)((const char *)(c) + (k)->offset))

const struct config_key *
config_find(const char *name)
{
	for (size_t i = 0; i < config_nkeys; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int
parse_time(const char *s, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return -1;
	if (s[n] == 'T' || s[n] == ' ') {
		int m2 = 0;
		if (sscanf(s + n + 1, "%2d:%2d:%2d%n", &h, &mi, &sec, &m2) != 3 || m2 != 8)
			return -1;
		n += 1 + m2;
		if (s[n] == 'Z')
			n++;
	}
	if (s[n] != '\0' || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && (y % 4 != 0 || (y % 100 == 0 && y % 400 != 0))) || h > 23 ||
	    mi > 59 || sec > 59 || h < 0 || mi < 0 || sec < 0)
		return -1;
	*out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
	return 0;
}

static int
parse_bool(const char *s, int64_t *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return (*out = 1), 0;
		if (strcasecmp(s, no[i]) == 0)
			return (*out = 0), 0;
	}
	return -1;
}

static int
parse_number(const struct config_key *k, const char *s, double *out)
{
	char *end;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	if (k->type == CFG_INT) {
		long long v = strtoll(s, &end, 10);
		if (errno || *end)
			return -1;
		*out = (double)v;
	} else if (k->type == CFG_MODE) {
		long v = strtol(s, &end, 8);
		if (errno || *end)
			return -1;
		*out = (double)v;
	} else {
		*out = strtod(s, &end);
		if (errno || *end || !isfinite(*out))
			return -1;
	}
	return 0;
}

static int
set_string(char **slot, const char *value, char *err, size_t errlen)
{
	char *dup = strdup(value);

	if (dup == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(*slot);
	*slot = dup;
	return 0;
}

static int
choices_error(const struct config_key *k, char *err, size_t errlen)
{
	char list[256] = "";

	const char *const *c = config_choices(k);

	for (size_t i = 0; c[i] != NULL; i++) {
		strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
		strncat(list, c[i], sizeof(list) - strlen(list) - 1);
	}
	snprintf(err, errlen, "%s: must be one of %s", k->name, list);
	return -1;
}

static int
choice_ok(const struct config_key *k, const char *value)
{
	const char *const *c = config_choices(k);

	for (size_t i = 0; c != NULL && c[i] != NULL; i++)
		if (strcmp(value, c[i]) == 0)
			return 1;
	return c == NULL;
}

static int
bad_value(const struct config_key *k, char *err, size_t errlen)
{
	switch (k->type) {
	case CFG_INT:
		snprintf(err, errlen, "%s: must be an integer from %.0f to %.0f", k->name, k->min,
		    k->max);
		break;
	case CFG_DOUBLE:
		snprintf(err, errlen, "%s: must be %sa number from %g to %g", k->name,
		    (k->flags & CFG_ZERO_OK) ? "0 or " : "", k->min, k->max);
		break;
	case CFG_MODE:
		snprintf(err, errlen, "%s: must be an octal mode from 0 to 0777", k->name);
		break;
	case CFG_BOOL: snprintf(err, errlen, "%s: must be yes or no", k->name); break;
	case CFG_LEVEL:
		snprintf(err, errlen, "%s: must be error, warn, info or debug", k->name);
		break;
	case CFG_TIME:
		snprintf(err, errlen, "%s: must be a UTC time like 2026-01-05T00:00:00Z", k->name);
		break;
	case CFG_STRING:
		if (config_choices(k) != NULL)
			return choices_error(k, err, errlen);
		snprintf(err, errlen, "%s: bad value", k->name);
		break;
	}
	return -1;
}

static int
key_set(
    struct sim_config *c, const struct config_key *k, const char *value, char *err, size_t errlen)
{
	double num;
	int64_t iv;
	enum log_level lvl;
	struct shard sh;
	char why[128];

	switch (k->type) {
	case CFG_STRING:
		if (strlen(value) > 4096 || strchr(value, '\n') != NULL || !choice_ok(k, value))
			return bad_value(k, err, errlen);
		if (k->offset == OFF(shard) && shard_parse(value, &sh, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: %s", k->name, why);
			return -1;
		}
		return set_string(FIELD(c, k, char *), value, err, errlen);
	case CFG_BOOL:
		if (parse_bool(value, &iv) != 0)
			return bad_value(k, err, errlen);
		*FIELD(c, k, int64_t) = iv;
		return 0;
	case CFG_LEVEL:
		if (log_level_parse(value, &lvl) != 0)
			return bad_value(k, err, errlen);
		*FIELD(c, k, int64_t) = lvl;
		return 0;
	case CFG_TIME:
		if (parse_time(value, &iv) != 0)
			return bad_value(k, err, errlen);
		*FIELD(c, k, int64_t) = iv;
		return 0;
	case CFG_INT:
	case CFG_MODE:
	case CFG_DOUBLE:
		if (parse_number(k, value, &num) != 0 ||
		    ((num < k->min || num > k->max) && !((k->flags & CFG_ZERO_OK) && num == 0)))
			return bad_value(k, err, errlen);
		if (k->type == CFG_DOUBLE)
			*FIELD(c, k, double) = num;
		else
			*FIELD(c, k, int64_t) = (int64_t)num;
		return 0;
	}
	return bad_value(k, err, errlen);
}

static void
unknown_key(const char *key, char *err, size_t errlen)
{
	char shown[68];

	snprintf(err, errlen, "%s: unknown key", text_shown(key, shown, sizeof(shown)));
}

int
config_set(struct sim_config *c, const char *key, const char *value, char *err, size_t errlen)
{
	const struct config_key *k = config_find(key);

	if (k == NULL) {
		unknown_key(key, err, errlen);
		return -1;
	}
	return key_set(c, k, value, err, errlen);
}

struct sim_config *
config_new(void)
{
	struct sim_config *c = calloc(1, sizeof(*c));
	char err[256];

	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < config_nkeys; i++) {
		if (key_set(c, &config_keys[i], config_keys[i].def, err, sizeof(err)) != 0) {
			config_free(c);
			return NULL;
		}
	}
	return c;
}

void
config_free(struct sim_config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < config_nkeys; i++)
		if (config_keys[i].type == CFG_STRING)
			free(*FIELD(c, &config_keys[i], char *));
	free(c);
}

struct sim_config *
config_dup(const struct sim_config *c)
{
	struct sim_config *d = malloc(sizeof(*d));

	if (d == NULL)
		return NULL;
	memcpy(d, c, sizeof(*d));
	for (size_t i = 0; i < config_nkeys; i++)
		if (config_keys[i].type == CFG_STRING)
			*FIELD(d, &config_keys[i], char *) = NULL;
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		char *s;

		if (k->type != CFG_STRING)
			continue;
		s = strdup(*CFIELD(c, k, char *));
		if (s == NULL) {
			config_free(d);
			return NULL;
		}
		*FIELD(d, k, char *) = s;
	}
	return d;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * Strips a trailing comment, honouring double quotes around the value: 1 when
 * it was quoted (its blanks are kept), 0 when not, -1 on an error.
 */
static int
unquote(char *v, char *err, size_t errlen)
{
	if (*v == '"') {
		char *q = strchr(v + 1, '"');
		char *rest;

		if (q == NULL) {
			snprintf(err, errlen, "unterminated quote");
			return -1;
		}
		*q = '\0';
		rest = trim(q + 1);
		if (*rest != '\0' && *rest != '#') {
			snprintf(err, errlen, "text after the closing quote");
			return -1;
		}
		memmove(v, v + 1, strlen(v + 1) + 1);
		return 1;
	}
	for (char *p = v; *p; p++) {
		if (*p == '#' && (p == v || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			break;
		}
	}
	return 0;
}

static int
parse_line(struct sim_config *c, char *line, char *err, size_t errlen)
{
	char *eq, *key, *value;
	int quoted;

	key = trim(line);
	if (*key == '\0' || *key == '#')
		return 0;
	eq = strchr(key, '=');
	if (eq == NULL) {
		snprintf(err, errlen, "expected key = value");
		return -1;
	}
	*eq = '\0';
	key = trim(key);
	value = trim(eq + 1);
	if (*key == '\0') {
		snprintf(err, errlen, "missing key before '='");
		return -1;
	}
	if ((quoted = unquote(value, err, errlen)) < 0)
		return -1;
	return config_set(c, key, quoted ? value : trim(value), err, errlen);
}

int
config_load_file(struct sim_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, msg[512];
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, rc = 0;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		if ((size_t)n != strlen(line)) {
			snprintf(err, errlen, "%s:%d: NUL byte in line", path, lineno);
			rc = -1;
			break;
		}
		if (parse_line(c, line, msg, sizeof(msg)) != 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

int
config_load_env(struct sim_config *c, char *err, size_t errlen)
{
	char msg[512];

	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		const char *v;

		if (k->env == NULL || (v = getenv(k->env)) == NULL)
			continue;
		if (key_set(c, k, v, msg, sizeof(msg)) != 0) {
			snprintf(err, errlen, "environment %s: %s", k->env, msg);
			return -1;
		}
	}
	return 0;
}

struct sim_config *
config_load(const char *path, const char *const *keys, const char *const *values, int n, char *err,
    size_t errlen)
{
	struct sim_config *c = config_new();
	char msg[512];

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((path != NULL && *path && config_load_file(c, path, err, errlen) != 0) ||
	    config_load_env(c, err, errlen) != 0)
		goto fail;
	for (int i = 0; i < n; i++) {
		if (config_set(c, keys[i], values[i], msg, sizeof(msg)) != 0) {
			snprintf(err, errlen, "command line: %s", msg);
			goto fail;
		}
	}
	return c;
fail:
	config_free(c);
	return NULL;
}

void
config_format(const struct sim_config *c, const struct config_key *k, char *buf, size_t len)
{
	int64_t iv;

	switch (k->type) {
	case CFG_STRING: {
		const char *s = *CFIELD(c, k, char *);
		if (k->flags & CFG_SECRET)
			s = *s ? "(set)" : "";
		snprintf(buf, len, "%s", s);
		break;
	}
	case CFG_INT: snprintf(buf, len, "%lld", (long long)*CFIELD(c, k, int64_t)); break;
	case CFG_MODE:
		snprintf(buf, len, "%04llo", (unsigned long long)*CFIELD(c, k, int64_t));
		break;
	case CFG_DOUBLE: snprintf(buf, len, "%g", *CFIELD(c, k, double)); break;
	case CFG_BOOL: snprintf(buf, len, "%s", *CFIELD(c, k, int64_t) ? "yes" : "no"); break;
	case CFG_LEVEL:
		snprintf(buf, len, "%s", log_level_name((enum log_level) * CFIELD(c, k, int64_t)));
		break;
	case CFG_TIME: {
		time_t t;
		struct tm tm;
		iv = *CFIELD(c, k, int64_t);
		t = (time_t)iv;
		gmtime_r(&t, &tm);
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
		break;
	}
	}
}

double
config_number(const struct sim_config *c, const struct config_key *k)
{
	switch (k->type) {
	case CFG_DOUBLE: return *CFIELD(c, k, double);
	case CFG_STRING: return 0;
	default: return (double)*CFIELD(c, k, int64_t);
	}
}

int
config_copy_key(struct sim_config *dst, const struct sim_config *src, const struct config_key *k)
{
	char *s;

	if (k->type != CFG_STRING) {
		memcpy((char *)dst + k->offset, (const char *)src + k->offset,
		    k->type == CFG_DOUBLE ? sizeof(double) : sizeof(int64_t));
		return 0;
	}
	if ((s = strdup(*CFIELD(src, k, char *))) == NULL)
		return -1;
	free(*FIELD(dst, k, char *));
	*FIELD(dst, k, char *) = s;
	return 0;
}

int
config_equal(const struct sim_config *a, const struct sim_config *b, const struct config_key *k)
{
	switch (k->type) {
	case CFG_STRING: return strcmp(*CFIELD(a, k, char *), *CFIELD(b, k, char *)) == 0;
	case CFG_DOUBLE: return *CFIELD(a, k, double) == *CFIELD(b, k, double);
	default: return *CFIELD(a, k, int64_t) == *CFIELD(b, k, int64_t);
	}
}

size_t
config_diff_restart(
    const struct sim_config *a, const struct sim_config *b, const char **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < config_nkeys && n < max; i++) {
		const struct config_key *k = &config_keys[i];
		if (!(k->flags & CFG_RUNTIME) && !config_equal(a, b, k))
			out[n++] = k->name;
	}
	return n;
}

void
config_default_socket(char *buf, size_t len)
{
	const char *env = getenv("SIMD_SOCKET");
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (env != NULL && *env != '\0')
		snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		snprintf(buf, len, "/run/simd/simd.sock");
	else if (xdg != NULL && *xdg == '/')
		snprintf(buf, len, "%s/simd.sock", xdg);
	else
		snprintf(buf, len, "/tmp/simd-%u/simd.sock", (unsigned)getuid());
}
