/*
 * cmd_preflight.c - "preflight": simd --preflight's checks (preflight.c) for
 * the running daemon.  They block (a connect, statvfs, a full pool opened), so
 * they run on a thread of their own, the one exception to the daemon's single
 * loop, with a copy of the configuration and nothing shared but the job: the
 * thread writes one byte to a pipe when its result is in, and the loop
 * answers the client from it.  One preflight at a time.  At shutdown the
 * client is answered at once and the thread, left to finish, frees the job.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "sim/cmd.h"
#include "sim/config.h"
#include "sim/log.h"
#include "sim/preflight.h"
#include "sim/proto.h"
#include "sim/server.h"
#include "sim/store.h"

struct pfjob {
	/* the loop's */
	struct cmd_req *req;
	struct server *srv;
	struct event *ev;
	/* given to the thread, read-only there */
	struct sim_config *cfg;
	unsigned held;
	int fds[2]; /* the thread writes fds[1] once done */
	/* under mu */
	pthread_mutex_t mu;
	int finished;  /* result is in */
	int abandoned; /* nobody waits any more: the thread frees the job */
	struct preflight result;
};

static void
pfjob_free(struct pfjob *j)
{
	if (j->fds[0] >= 0)
		close(j->fds[0]);
	if (j->fds[1] >= 0)
		close(j->fds[1]);
	config_free(j->cfg);
	pthread_mutex_destroy(&j->mu);
	free(j);
}

static void *
pfjob_main(void *arg)
{
	struct pfjob *j = arg;
	struct preflight *p = malloc(sizeof(*p));
	int gone;

	if (p != NULL)
		preflight_run(j->cfg, j->held, p);
	pthread_mutex_lock(&j->mu);
	if (p != NULL)
		j->result = *p;
	else
		snprintf(preflight_add(&j->result, "preflight", PREFLIGHT_FAIL)->value,
		    sizeof(j->result.c[0].value), "out of memory");
	j->finished = 1;
	gone = j->abandoned;
	/* one byte in an empty pipe: it neither blocks nor fails */
	if (!gone && write(j->fds[1], "", 1) != 1)
		gone = 0;
	pthread_mutex_unlock(&j->mu);
	free(p);
	if (gone)
		pfjob_free(j);
	return NULL;
}

/* The result is in: the answer, from the loop. */
static void
pfjob_done(evutil_socket_t fd, short what, void *arg)
{
	struct pfjob *j = arg;
	json_t *o = NULL;
	char b;

	if (read(fd, &b, 1) < 0 && errno == EAGAIN)
		return; /* not yet: the event stays */
	pthread_mutex_lock(&j->mu);
	o = preflight_json(&j->result);
	pthread_mutex_unlock(&j->mu);
	j->srv->preflight = NULL;
	event_free(j->ev);
	if (o == NULL) {
		cmd_error(j->req, RPC_INTERNAL_ERROR, "preflight: out of memory");
	} else {
		log_info(
		    "preflight: done, worst %s", json_string_value(json_object_get(o, "worst")));
		cmd_reply(j->req, o);
	}
	pfjob_free(j);
}

/* The thread, with every signal blocked: they are the loop's (libevent's) to take. */
static int
pfjob_start(struct pfjob *j)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;
	int rc;

	if (pthread_attr_init(&attr) != 0)
		return -1;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&t, &attr, pfjob_main, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return rc == 0 ? 0 : -1;
}

static struct pfjob *
pfjob_new(struct server *srv, struct cmd_req *req)
{
	struct pfjob *j = calloc(1, sizeof(*j));
	struct store_stats st;

	if (j == NULL)
		return NULL;
	j->fds[0] = j->fds[1] = -1;
	pthread_mutex_init(&j->mu, NULL);
	j->req = req;
	j->srv = srv;
	memset(&st, 0, sizeof(st));
	store_stats(srv->store, &st);
	if (st.driver != NULL && strcmp(st.driver, "postgres") == 0)
		j->held = st.connections_active + st.connections_idle;
	if ((j->cfg = config_dup(srv->cfg)) == NULL || pipe(j->fds) != 0 ||
	    fcntl(j->fds[0], F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(j->fds[0], F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(j->fds[1], F_SETFD, FD_CLOEXEC) != 0 ||
	    (j->ev = event_new(srv->base, j->fds[0], EV_READ | EV_PERSIST, pfjob_done, j)) ==
		NULL ||
	    event_add(j->ev, NULL) != 0) {
		if (j->ev != NULL)
			event_free(j->ev);
		pfjob_free(j);
		return NULL;
	}
	return j;
}

static enum cmd_ret
preflight_exec(struct cmd_req *req, struct server *srv, const json_t *params)
{
	struct pfjob *j;

	if (srv->preflight != NULL)
		return cmd_error(req, SIM_ERR_STATE,
		    "a preflight is under way already: wait for its answer, then ask again");
	if ((j = pfjob_new(srv, req)) == NULL)
		return cmd_error(req, RPC_INTERNAL_ERROR, "preflight: out of memory");
	if (pfjob_start(j) != 0) {
		event_free(j->ev);
		pfjob_free(j);
		return cmd_error(req, SIM_ERR_FAILED, "preflight: cannot start its thread");
	}
	srv->preflight = j;
	log_info("preflight: checks under way (on a thread of their own)");
	return CMD_WAIT;
}

void
cmd_preflight_abort(struct server *srv)
{
	struct pfjob *j = srv->preflight;
	int finished;

	if (j == NULL)
		return;
	srv->preflight = NULL;
	event_free(j->ev);
	cmd_error(j->req, SIM_ERR_SHUTDOWN, "preflight: interrupted by the shutdown");
	pthread_mutex_lock(&j->mu);
	finished = j->finished;
	j->abandoned = 1;
	pthread_mutex_unlock(&j->mu);
	if (finished) /* the thread is done with it */
		pfjob_free(j);
}

const struct cmd_entry cmd_preflight = {
	SIM_M_PREFLIGHT,
	0, /* not read-only: it opens pool_max connections to the database */
	cmd_check_none,
	preflight_exec,
	"the checks before a run (disk, memory, database, pool), as simd --preflight",
};
