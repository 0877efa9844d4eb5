/*
 * config.h - every tunable, defined once.
 *
 * One table (config.c) names each key with its type, bounds, default, the
 * environment variable that may set it and whether it can change while the
 * daemon runs.  The config file, the environment, simd's flags, SIGHUP and the
 * control socket all go through it; etc/simd.conf and simd.conf(5) document
 * every row (a test fails when one is missing).
 */
#ifndef SIM_CONFIG_H
#define SIM_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct sim_config {
	/* daemon */
	char *socket_path;
	int64_t socket_mode;
	char *socket_group;
	char *socket_readonly_group;
	char *data_dir;
	char *pid_file;
	int64_t log_level; /* enum log_level */
	char *log_file;
	int64_t max_request;            /* bytes in one request line */
	double control_request_timeout; /* seconds from a request line's first byte to its end */
	double control_idle_timeout;    /* seconds an idle client is kept; 0 = forever */
	int64_t control_max_per_uid;    /* connections one ordinary uid may hold */
	int64_t control_max_clients;    /* connections in all */
	double shutdown_timeout;        /* seconds in-flight work gets on SIGTERM */
	/* simulation defaults for `start` */
	int64_t seed;
	int64_t agents;
	char *shard;       /* "I/N" (shard.h), "": the whole population */
	int64_t cycles;    /* 0 = until hours or stop */
	double hours;      /* wall hours, 0 = unbounded */
	int64_t tick;      /* simulated minutes per cycle */
	double time_scale; /* simulated / wall time, 0 = as fast as possible */
	int64_t sim_start; /* unix seconds, given as ISO 8601 UTC */
	int64_t max_concurrent;
	/* the adaptive concurrency limit (concurrency.h) */
	int64_t adaptive; /* bool */
	int64_t adaptive_min, adaptive_max;
	double cpu_high, cpu_low; /* percent */
	double mem_high, mem_low; /* percent */
	int64_t max_retries;
	int64_t retry_backoff_ms;
	double retry_window;   /* seconds transient errors keep being retried */
	double max_error_rate; /* share of failed sessions above which a run fails */
	int64_t catalog_products;
	int64_t catalog_stores;
	int64_t catalog_coupons;
	/* the shopper model (docs/realism.md; struct shopper_opts, struct calendar) */
	double bounce_rate, second_browse_rate, cross_store_rate;
	double think_sigma, think_max_s, checkout_median_s, session_max_s;
	double cart_rate, checkout_rate; /* -1: the personas decide */
	char *weekday_mix;
	char *calendar;
	/* checkpoints */
	double checkpoint_interval; /* seconds, 0 = every cycle */
	int64_t checkpoint_keep;
	double sqlite_commit_interval;
	/* postgres */
	char *database_url; /* secret: never logged or answered */
	int64_t pool_size;
	int64_t max_overflow;
	double pool_timeout;
	int64_t pool_pre_ping; /* bool */
	double pool_recycle;
	int64_t pool_max;
	int64_t event_batch_size;
	int64_t event_queue_max; /* events queued at most before sessions wait */
	double event_flush_interval;
	double connect_timeout;
	/* the cluster (cluster.h) */
	int64_t cluster;      /* bool */
	double lease_ttl;     /* seconds */
	char *cluster_member; /* "": <hostname>:<hash of data_dir> */
	int64_t cluster_pool_max;
	int64_t cluster_max_skew;
	/* the shop API (shopapi.h) */
	char *shop_api_url;
	char *shop_catalog; /* "generate" or "api" */
	char *api_path_session, *api_path_search, *api_path_cart, *api_path_eligible;
	char *api_path_wallet, *api_path_coupon, *api_path_orders;
	char *api_jwt_secret_file; /* the file is a secret; its name is not */
	double api_jwt_ttl;
	int64_t api_max_keepalive;
	int64_t api_max_connections;
	double api_timeout;
	int64_t api_max_body;
	char *api_ca_file;
	int64_t api_insecure; /* bool */
	double api_rate, api_rate_min, api_rate_max, api_rate_burst;
	double api_rate_decrease, api_rate_increase;
	int64_t pg_prepared;      /* bool: named prepared statements (off behind poolers) */
	int64_t pg_pipeline;      /* bool: a session's steps sent in one pipeline */
	double statement_timeout; /* seconds a job waits for the server; 0 = no limit */
	char *write_mode;         /* "realistic" or "bulk" (the default of a run) */
	/* watching a run */
	char *metrics_csv;      /* a row per cycle appended here; "" none */
	char *metrics_listen;   /* host:port of /metrics; "" off */
	char *watch_thresholds; /* over THRESHOLDS_DEFAULT (thresholds.h) */
	/* LLM personas (llm.h); the API key comes from the environment or a file, never here */
	char *persona_source; /* "local" or "llm" */
	char *llm_url;
	char *llm_model;
	char *llm_fallback_models; /* comma list */
	int64_t llm_max_concurrent;
	double llm_rate, llm_rate_min, llm_rate_max; /* requests/s; llm_rate 0: unlimited */
	int64_t llm_max_retries;
	double llm_retry_delay; /* s, doubled each retry */
	double llm_timeout;     /* s per request */
	char *llm_prompt_file;
	char *llm_api_key_file;
	int64_t llm_required; /* bool */
};

enum config_type { CFG_INT, CFG_DOUBLE, CFG_BOOL, CFG_STRING, CFG_MODE, CFG_LEVEL, CFG_TIME };

#define CFG_RUNTIME 0x1 /* may change while running (SIGHUP, control socket) */
#define CFG_SECRET 0x2  /* value never shown */
#define CFG_ZERO_OK 0x4 /* 0 is allowed below min (time_scale: 0 = as fast as possible) */

/*
 * What a changed runtime key needs done beyond taking the new value (reload.c
 * has one hook per kind): NONE for a default of the next run, or a value read
 * where it is used.
 */
enum config_apply {
	CFG_APPLY_NONE,
	CFG_APPLY_LOG_LEVEL,
	CFG_APPLY_LOG_FILE,
	CFG_APPLY_CONCURRENCY,
	CFG_APPLY_ADAPTIVE,
	CFG_APPLY_CKPT_KEEP,
	CFG_APPLY_CKPT_INTERVAL,
	CFG_APPLY_METRICS_CSV,
	CFG_APPLY_KINDS
};

struct config_key {
	const char *name;
	enum config_type type;
	size_t offset;
	double min, max; /* numeric bounds, inclusive */
	const char *def; /* default, as it would be written in the file */
	const char *env; /* environment variable, or NULL */
	int flags;
	const char *doc;         /* one line */
	enum config_apply apply; /* with CFG_RUNTIME */
};

/* A CFG_STRING key's allowed values (NULL-ended), or NULL when any string goes. */
const char *const *config_choices(const struct config_key *k);

extern const struct config_key config_keys[];
extern const size_t config_nkeys;

const struct config_key *config_find(const char *name);

/* Defaults; returns NULL on allocation failure. */
struct sim_config *config_new(void);
void config_free(struct sim_config *c);
struct sim_config *config_dup(const struct sim_config *c);

/*
 * Each returns 0, or -1 with a one-line message in err that names the source
 * (file:line: key, or the variable) and what is wrong.
 */
int config_set(struct sim_config *c, const char *key, const char *value, char *err, size_t errlen);
int config_load_file(struct sim_config *c, const char *path, char *err, size_t errlen);
int config_load_env(struct sim_config *c, char *err, size_t errlen);
/* A numeric key's value (int, bool, mode, level, time or double) as a double. */
double config_number(const struct sim_config *c, const struct config_key *k);
/* Whether key k has the same value in a and b. */
int
config_equal(const struct sim_config *a, const struct sim_config *b, const struct config_key *k);
/* Copies key k's value from src to dst; 0, or -1 out of memory. */
int
config_copy_key(struct sim_config *dst, const struct sim_config *src, const struct config_key *k);
/*
 * The whole configuration, each source overriding the one before: the
 * defaults, the file at path (NULL: none), the environment, then the n
 * key/value pairs of simd's flags.  NULL with a message naming the source.
 */
struct sim_config *config_load(const char *path, const char *const *keys, const char *const *values,
    int n, char *err, size_t errlen);
/* Value as text (secrets as "(set)" or ""); buf gets at most len bytes. */
void config_format(const struct sim_config *c, const struct config_key *k, char *buf, size_t len);
/* Keys whose value differs between a and b and that are not CFG_RUNTIME. */
size_t config_diff_restart(
    const struct sim_config *a, const struct sim_config *b, const char **out, size_t max);

/* Socket path when none was configured: $SIMD_SOCKET, /run/simd/simd.sock for root,
 * $XDG_RUNTIME_DIR/simd.sock, /tmp/simd-$UID/simd.sock. */
void config_default_socket(char *buf, size_t len);

#endif
