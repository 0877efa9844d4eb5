/*
 * store.c - the store interface: the dispatch to the driver a configuration
 * asks for, with the options it needs (the drivers never see the whole
 * configuration).
 */
#include <stdio.h>
#include <string.h>

#include "sim/config.h"
#include "sim/pgconn.h"
#include "sim/store.h"
#include "sim/text.h"

static void shopapi_opts_from_config(struct shopapi_opts *a, const struct sim_config *c);

void
store_opts_from_config(struct store_opts *o, const struct sim_config *c)
{
	memset(o, 0, sizeof(*o));
	o->data_dir = c->data_dir;
	o->database_url = c->database_url;
	o->pool_size = (unsigned)c->pool_size;
	o->pool_overflow = (unsigned)c->max_overflow;
	o->pool_max = (unsigned)c->pool_max;
	o->pool_timeout = c->pool_timeout;
	o->pool_pre_ping = c->pool_pre_ping != 0;
	o->pool_recycle = c->pool_recycle;
	o->connect_timeout = c->connect_timeout;
	o->statement_timeout = c->statement_timeout;
	o->pg_prepared = c->pg_prepared != 0;
	o->pg_pipeline = c->pg_pipeline != 0;
	o->event_batch_size = (unsigned)c->event_batch_size;
	o->event_queue_max = (unsigned)c->event_queue_max;
	o->event_flush_interval = c->event_flush_interval;
	o->sqlite_commit_interval = c->sqlite_commit_interval;
	shopapi_opts_from_config(&o->api, c);
}

/* The shop API's part of the configuration. */
static void
shopapi_opts_from_config(struct shopapi_opts *a, const struct sim_config *c)
{
	a->url = c->shop_api_url;
	a->paths[API_EP_SESSION] = c->api_path_session;
	a->paths[API_EP_SEARCH] = c->api_path_search;
	a->paths[API_EP_CART] = c->api_path_cart;
	a->paths[API_EP_ELIGIBLE] = c->api_path_eligible;
	a->paths[API_EP_WALLET] = c->api_path_wallet;
	a->paths[API_EP_COUPON] = c->api_path_coupon;
	a->paths[API_EP_ORDERS] = c->api_path_orders;
	a->jwt_secret_file = c->api_jwt_secret_file;
	a->jwt_ttl = c->api_jwt_ttl;
	a->max_keepalive = (unsigned)c->api_max_keepalive;
	a->max_connections = (unsigned)c->api_max_connections;
	a->timeout = c->api_timeout;
	a->max_body = (size_t)c->api_max_body;
	a->ca_file = c->api_ca_file;
	a->insecure = c->api_insecure != 0;
	a->catalog_api = c->shop_catalog != NULL && strcmp(c->shop_catalog, "api") == 0;
	a->rate.rate = c->api_rate;
	a->rate.rate_min = c->api_rate_min;
	a->rate.rate_max = c->api_rate_max;
	a->rate.burst = c->api_rate_burst;
	a->rate.decrease = c->api_rate_decrease;
	a->rate.increase = c->api_rate_increase;
	a->rate.block_max = 300; /* a Retry-After past 5 minutes is not waited out in full */
}

static int
wants_postgres(const struct store_opts *o)
{
	/* "postgresql://" alone takes everything from the PG* variables */
	return o->database_url != NULL && o->database_url[0] != '\0';
}

static int
wants_api(const struct store_opts *o)
{
	return o->api.url != NULL && o->api.url[0] != '\0';
}

int
store_check(const struct store_opts *o, char *err, size_t errlen)
{
	if (wants_postgres(o) && pgconn_check_conninfo(o->database_url, err, errlen) != 0)
		return -1;
	if (o->api.catalog_api && !wants_api(o))
		return text_errf(err, errlen, "shop_catalog = api needs shop_api_url");
	return wants_api(o) ? shopapi_check(&o->api, err, errlen) : 0;
}

struct store *
store_open(struct event_base *base, const struct store_opts *o, char *err, size_t errlen)
{
	struct store *db;

	if (wants_postgres(o))
		db = store_pg_driver.open(base, o, err, errlen);
	else
		db = store_sqlite_driver.open(base, o, err, errlen);
	if (db == NULL || !wants_api(o))
		return db;
	return shopapi_open(base, &o->api, db, err, errlen);
}

void
store_close(struct store *s)
{
	if (s != NULL)
		s->drv->close(s);
}

void
store_prepare(struct store *s, const struct store_setup *setup, store_done_cb cb, void *arg)
{
	s->drv->prepare(s, setup, cb, arg);
}

void
store_submit(struct store *s, struct store_op *op)
{
	s->drv->submit(s, op);
}

int
store_chains(struct store *s)
{
	return s->drv->chains != NULL && s->drv->chains(s);
}

void
store_submit_chain(struct store *s, struct store_op *const *ops, unsigned n)
{
	s->drv->submit_chain(s, ops, n);
}

void
store_flush(struct store *s, store_done_cb cb, void *arg)
{
	s->drv->flush(s, cb, arg);
}

void
store_stats(struct store *s, struct store_stats *out)
{
	s->drv->stats(s, out);
}

int
store_congested(struct store *s)
{
	return s->drv->congested != NULL && s->drv->congested(s);
}

void
store_api_stats(struct store *s, struct shopapi_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (s->drv->api_stats != NULL)
		s->drv->api_stats(s, out);
}

void
store_appname(char *buf, size_t len, const char *run_id)
{
	if (run_id == NULL || run_id[0] == '\0')
		snprintf(buf, len, "%s", STORE_APPNAME_PREFIX);
	else
		snprintf(buf, len, "%s/%s", STORE_APPNAME_PREFIX, run_id);
}

void
store_set_run(struct store *s, const char *run_id)
{
	if (s != NULL && s->drv->set_run != NULL)
		s->drv->set_run(s, run_id);
}

void
store_set_pool_max(struct store *s, unsigned max)
{
	if (s != NULL && s->drv->set_pool_max != NULL)
		s->drv->set_pool_max(s, max);
}

void
store_keyed(struct store *s, struct store_keyjob *j)
{
	s->drv->keyed(s, j);
}

int
store_set_fence(struct store *s, const char *run_id, uint32_t shard, uint64_t generation, char *err,
    size_t errlen)
{
	if (s->drv->set_fence == NULL)
		return text_errf(err, errlen, "fencing needs the PostgreSQL store");
	return s->drv->set_fence(s, run_id, shard, generation, err, errlen);
}

void
store_on_fenced(struct store *s, store_fenced_fn fn, void *arg)
{
	if (s != NULL && s->drv->on_fenced != NULL)
		s->drv->on_fenced(s, fn, arg);
}
