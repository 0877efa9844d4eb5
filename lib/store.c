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
	o->event_batch_size = (unsigned)c->event_batch_size;
	o->event_flush_interval = c->event_flush_interval;
}

static int
wants_postgres(const struct store_opts *o)
{
	/* "postgresql://" alone takes everything from the PG* variables */
	return o->database_url != NULL && o->database_url[0] != '\0';
}

int
store_check(const struct store_opts *o, char *err, size_t errlen)
{
	return wants_postgres(o) ? pgconn_check_conninfo(o->database_url, err, errlen) : 0;
}

struct store *
store_open(struct event_base *base, const struct store_opts *o, char *err, size_t errlen)
{
	if (wants_postgres(o))
		return store_pg_driver.open(base, o, err, errlen);
	return store_sqlite_driver.open(base, o, err, errlen);
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
store_keyed(struct store *s, struct store_keyjob *j)
{
	s->drv->keyed(s, j);
}
