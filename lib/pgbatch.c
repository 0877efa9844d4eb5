/*
 * pgbatch.c - the event batcher (see pgbatch.h).
 *
 * Batches get a sequence number when they are sealed; a flush waits for every
 * batch up to the newest sealed at the time of the call, so a steady stream of
 * new events cannot keep a checkpoint waiting forever.  After a failed write
 * the batcher stops writing on its own (`failing') until the next timer tick or
 * an explicit flush, so an outage costs one attempt per tick, not one per event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sys/queue.h>

#include "sim/defer.h"
#include "sim/pgbatch.h"
#include "sim/pgsql.h"
#include "sim/seqwait.h"

enum batch_state { BATCH_OPEN, BATCH_QUEUED, BATCH_INFLIGHT, BATCH_TAKEN };

struct batch {
	TAILQ_ENTRY(batch) link;
	uint64_t seq;
	unsigned rows;
	enum batch_state state;
	struct pgarr col[BATCH_COLS];
	const char *params[BATCH_COLS];
};

TAILQ_HEAD(batch_list, batch);

/* A row staged for a group, its strings in the stage's text buffer. */
struct stage_row {
	size_t key, session_key, payload; /* offsets into text */
	const char *type;                 /* static */
	uint32_t user_id;
	int64_t created;
};

/* The rows of one group (a session) waiting to go into a batch together. */
struct stage {
	uint32_t group;
	int used;
	char *text;
	size_t tlen, tcap;
	struct stage_row *rows;
	unsigned nrows, rcap;
};

struct pgbatch {
	struct event_base *base;
	struct pgbatch_opts o;
	struct batch *open;
	struct batch_list queued, inflight;
	unsigned ninflight;
	uint64_t next_seq;
	struct seqwait waiters;
	struct event *timer;
	struct defer *defer;
	struct defer_entry flushed; /* waiters of a flush that had nothing to wait for */
	int failing, pumping;
	int fenced; /* pgbatch_fence: rows dropped, flushes fail, until unfenced */
	char fence_msg[256];
	int full;             /* at queue_max, not yet back under the low mark */
	struct stage *stages; /* open addressing by group, linear probing */
	size_t scap, sused;
	struct pgbatch_stats st;
};

static struct batch *
pgbatch_new_batch(void)
{
	struct batch *bt = calloc(1, sizeof(*bt));
	int i;

	if (bt == NULL)
		return NULL;
	for (i = 0; i < BATCH_COLS; i++)
		pgarr_init(&bt->col[i]);
	return bt;
}

void
pgbatch_free_batch(struct batch *bt)
{
	int i;

	if (bt == NULL)
		return;
	for (i = 0; i < BATCH_COLS; i++)
		pgarr_free(&bt->col[i]);
	free(bt);
}

unsigned
pgbatch_rows(const struct batch *bt)
{
	return bt->rows;
}

const char *const *
pgbatch_params(const struct batch *bt)
{
	return bt->params;
}

/*
 * The lowest sequence number not yet written (UINT64_MAX: all written).  The
 * queue is kept in sequence order, so only its head and the few batches in
 * flight need looking at.
 */
static uint64_t
pgbatch_low(const struct pgbatch *b)
{
	const struct batch *bt = TAILQ_FIRST(&b->queued);
	uint64_t low = bt != NULL ? bt->seq : UINT64_MAX;

	TAILQ_FOREACH (bt, &b->inflight, link)
		if (bt->seq < low)
			low = bt->seq;
	return low;
}

/* A failed batch goes back where its sequence number puts it (near the front). */
static void
pgbatch_requeue(struct pgbatch *b, struct batch *bt)
{
	struct batch *at;

	bt->state = BATCH_QUEUED;
	TAILQ_FOREACH (at, &b->queued, link)
		if (at->seq > bt->seq) {
			TAILQ_INSERT_BEFORE(at, bt, link);
			return;
		}
	TAILQ_INSERT_TAIL(&b->queued, bt, link);
}

static void
pgbatch_seal(struct pgbatch *b)
{
	struct batch *bt = b->open;
	int i;

	if (bt == NULL || bt->rows == 0)
		return;
	for (i = 0; i < BATCH_COLS; i++)
		bt->params[i] = pgarr_str(&bt->col[i]); /* room reserved by the adds */
	bt->seq = ++b->next_seq;
	bt->state = BATCH_QUEUED;
	TAILQ_INSERT_TAIL(&b->queued, bt, link);
	b->open = NULL;
}

/* Rows held and not yet known written: staged for a session, open, queued, in flight. */
static uint64_t
pgbatch_backlog(const struct pgbatch *b)
{
	return b->st.rows_staged + b->st.rows_queued;
}

/* Called where rows come in: the high-water mark. */
static void
pgbatch_note_peak(struct pgbatch *b)
{
	if (pgbatch_backlog(b) > b->st.rows_peak)
		b->st.rows_peak = pgbatch_backlog(b);
}

int
pgbatch_full(struct pgbatch *b)
{
	uint64_t n = pgbatch_backlog(b);

	if (b->o.queue_max == 0)
		return 0;
	if (n >= b->o.queue_max && !b->full) {
		b->full = 1;
		pgbatch_kick(b); /* no new sessions will fill the open batch: it goes as it is */
	} else if (n * 4 < b->o.queue_max * 3) {
		b->full = 0;
	} else if (b->full && b->ninflight == 0 && TAILQ_EMPTY(&b->queued)) {
		pgbatch_kick(b); /* what came in since, or the wait would last an interval */
	}
	return b->full;
}

static void
pgbatch_pump(struct pgbatch *b, int force)
{
	struct batch *bt;
	unsigned limit;

	if (b->pumping || (b->failing && !force) || b->fenced)
		return;
	b->pumping = 1;
	/*
	 * Two batches at a time keep pace during a run without taking connections
	 * from the sessions; a flush someone waits for (over a slow link, the
	 * tail of a cycle) may use more.
	 */
	limit = (!seqwait_empty(&b->waiters) ||
		    (b->o.queue_max > 0 && pgbatch_backlog(b) * 2 >= b->o.queue_max)) &&
		b->o.inflight_flush > b->o.inflight
	    ? b->o.inflight_flush
	    : b->o.inflight;
	while (b->ninflight < limit && (bt = TAILQ_FIRST(&b->queued)) != NULL) {
		TAILQ_REMOVE(&b->queued, bt, link);
		bt->state = BATCH_INFLIGHT;
		TAILQ_INSERT_TAIL(&b->inflight, bt, link);
		b->ninflight++;
		b->o.write(b, bt, b->o.arg);
	}
	b->pumping = 0;
}

static void
pgbatch_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pgbatch *b = arg;

	pgbatch_seal(b);
	pgbatch_pump(b, 1);
}

static void
pgbatch_flushed(struct defer_entry *e)
{
	struct pgbatch *b = DEFER_OWNER(e, struct pgbatch, flushed);

	if (b->fenced)
		seqwait_abort(&b->waiters, STORE_ERR_FENCED, b->fence_msg);
	else
		seqwait_complete(&b->waiters, pgbatch_low(b), STORE_OK, NULL);
}

struct pgbatch *
pgbatch_new(struct event_base *base, const struct pgbatch_opts *o)
{
	struct pgbatch *b = calloc(1, sizeof(*b));
	double iv = o->interval > 0 ? o->interval : 5;
	struct timeval tv;

	if (b == NULL)
		return NULL;
	b->base = base;
	b->o = *o;
	if (b->o.inflight == 0)
		b->o.inflight = 2;
	if (b->o.size == 0)
		b->o.size = 1;
	TAILQ_INIT(&b->queued);
	TAILQ_INIT(&b->inflight);
	b->timer = event_new(base, -1, EV_PERSIST, pgbatch_timer_cb, b);
	b->defer = defer_new(base);
	tv.tv_sec = (time_t)iv;
	tv.tv_usec = (suseconds_t)((iv - (double)tv.tv_sec) * 1e6);
	if (b->timer == NULL || b->defer == NULL || event_add(b->timer, &tv) != 0) {
		pgbatch_free(b);
		return NULL;
	}
	return b;
}

void
pgbatch_free(struct pgbatch *b)
{
	struct batch *bt;

	if (b == NULL)
		return;
	while ((bt = pgbatch_take(b)) != NULL)
		pgbatch_free_batch(bt);
	seqwait_clear(&b->waiters);
	for (size_t i = 0; i < b->scap; i++) {
		free(b->stages[i].text);
		free(b->stages[i].rows);
	}
	free(b->stages);
	if (b->timer != NULL)
		event_free(b->timer);
	defer_free(b->defer);
	free(b);
}

/* Appends one row's columns; on failure every column is cut back to where it was. */
static int
pgbatch_append(struct batch *bt, const struct pgbatch_row *row)
{
	struct pgarr *c = bt->col;
	size_t len[BATCH_COLS];
	unsigned n[BATCH_COLS];
	int i;

	for (i = 0; i < BATCH_COLS; i++) {
		len[i] = c[i].len;
		n[i] = c[i].n;
	}
	if (pgarr_add_text(&c[0], row->key) == 0 && pgarr_add_text(&c[1], row->session_key) == 0 &&
	    pgarr_add_int(&c[2], row->user_id) == 0 && pgarr_add_text(&c[3], row->type) == 0 &&
	    pgarr_add_text(&c[4], row->payload) == 0 && pgarr_add_int(&c[5], row->created) == 0)
		return 0;
	for (i = 0; i < BATCH_COLS; i++) {
		c[i].len = len[i];
		c[i].n = n[i];
	}
	return -1;
}

int
pgbatch_add(struct pgbatch *b, const struct pgbatch_row *row)
{
	if (b->fenced)
		return 0; /* dropped: its generation lost the lease */
	if (b->open == NULL && (b->open = pgbatch_new_batch()) == NULL)
		return -1;
	if (pgbatch_append(b->open, row) != 0)
		return -1;
	b->open->rows++;
	b->st.rows_queued++;
	pgbatch_note_peak(b);
	if (b->open->rows >= b->o.size) {
		pgbatch_seal(b);
		pgbatch_pump(b, 0);
	}
	return 0;
}

/* ---- staging: a group's rows enter a batch together ---- */

static size_t
stage_slot(const struct pgbatch *b, uint32_t group)
{
	size_t i = (size_t)(group * UINT32_C(2654435761)) & (b->scap - 1);

	while (b->stages[i].used && b->stages[i].group != group)
		i = (i + 1) & (b->scap - 1);
	return i;
}

static int
stage_grow(struct pgbatch *b)
{
	size_t ncap = b->scap ? b->scap * 2 : 64, i;
	struct stage *old = b->stages, *ns = calloc(ncap, sizeof(*ns));

	if (ns == NULL)
		return -1;
	b->stages = ns;
	i = b->scap;
	b->scap = ncap;
	while (i-- > 0)
		if (old[i].used)
			b->stages[stage_slot(b, old[i].group)] = old[i];
	free(old);
	return 0;
}

/* Removes slot i, shifting back the entries its probe chain holds (no tombstones). */
static void
stage_remove(struct pgbatch *b, size_t i)
{
	size_t j = i, k;

	free(b->stages[i].text);
	free(b->stages[i].rows);
	memset(&b->stages[i], 0, sizeof(b->stages[i]));
	b->sused--;
	for (;;) {
		j = (j + 1) & (b->scap - 1);
		if (!b->stages[j].used)
			return;
		k = (size_t)(b->stages[j].group * UINT32_C(2654435761)) & (b->scap - 1);
		/* j's entry may move to i unless its home lies cyclically in (i, j] */
		if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		b->stages[i] = b->stages[j];
		memset(&b->stages[j], 0, sizeof(b->stages[j]));
		i = j;
	}
}

static int
stage_text(struct stage *st, const char *s, size_t *off)
{
	size_t n = strlen(s) + 1;

	if (st->tlen + n > st->tcap) {
		size_t cap = st->tcap ? st->tcap : 512;
		char *t;
		while (cap < st->tlen + n)
			cap *= 2;
		if ((t = realloc(st->text, cap)) == NULL)
			return -1;
		st->text = t;
		st->tcap = cap;
	}
	memcpy(st->text + st->tlen, s, n);
	*off = st->tlen;
	st->tlen += n;
	return 0;
}

int
pgbatch_stage(struct pgbatch *b, uint32_t group, const struct pgbatch_row *row)
{
	struct stage *st;
	struct stage_row *r;
	size_t i;

	if (b->fenced)
		return 0;
	if ((b->sused + 1) * 2 > b->scap && stage_grow(b) != 0)
		return -1;
	i = stage_slot(b, group);
	st = &b->stages[i];
	if (!st->used) {
		st->used = 1;
		st->group = group;
		b->sused++;
	}
	if (st->nrows == st->rcap) {
		unsigned cap = st->rcap ? st->rcap * 2 : 16;
		struct stage_row *nr = realloc(st->rows, cap * sizeof(*nr));
		if (nr == NULL)
			return -1;
		st->rows = nr;
		st->rcap = cap;
	}
	r = &st->rows[st->nrows];
	if (stage_text(st, row->key, &r->key) != 0 ||
	    stage_text(st, row->session_key, &r->session_key) != 0 ||
	    stage_text(st, row->payload, &r->payload) != 0)
		return -1;
	r->type = row->type;
	r->user_id = row->user_id;
	r->created = row->created;
	st->nrows++;
	b->st.rows_staged++;
	pgbatch_note_peak(b);
	return 0;
}

int
pgbatch_release(struct pgbatch *b, uint32_t group)
{
	struct pgbatch_row row;
	struct stage *st;
	size_t i;
	unsigned k;
	int rc = 0;

	if (b->fenced || b->scap == 0 || !b->stages[i = stage_slot(b, group)].used)
		return 0;
	st = &b->stages[i];
	if (b->open == NULL && (b->open = pgbatch_new_batch()) == NULL)
		return -1;
	for (k = 0; k < st->nrows && rc == 0; k++) {
		const struct stage_row *r = &st->rows[k];
		row.key = st->text + r->key;
		row.session_key = st->text + r->session_key;
		row.payload = st->text + r->payload;
		row.type = r->type;
		row.user_id = r->user_id;
		row.created = r->created;
		if ((rc = pgbatch_append(b->open, &row)) == 0) {
			b->open->rows++;
			b->st.rows_queued++;
		}
	}
	b->st.rows_staged -= st->nrows;
	stage_remove(b, i);
	/* the group stays whole: the batch may pass its size by one group's rows */
	if (b->open->rows >= b->o.size) {
		pgbatch_seal(b);
		pgbatch_pump(b, 0);
	}
	return rc;
}

void
pgbatch_kick(struct pgbatch *b)
{
	pgbatch_seal(b);
	pgbatch_pump(b, 0);
}

void
pgbatch_flush(struct pgbatch *b, store_done_cb cb, void *arg)
{
	pgbatch_seal(b);
	if (seqwait_add(&b->waiters, b->next_seq, cb, arg) != 0) {
		cb(STORE_ERR_NOMEM, "out of memory", arg); /* nothing else can be done */
		return;
	}
	pgbatch_pump(b, 1);
	defer_add(b->defer, &b->flushed, pgbatch_flushed);
}

void
pgbatch_written(struct pgbatch *b, struct batch *bt, enum store_err err, const char *msg)
{
	TAILQ_REMOVE(&b->inflight, bt, link);
	b->ninflight--;
	if (b->fenced) { /* written or not, the batch is not to be written again */
		b->st.rows_queued -= bt->rows;
		pgbatch_free_batch(bt);
		return;
	}
	if (err != STORE_OK) {
		b->failing = 1;
		b->st.batches_failed++;
		pgbatch_requeue(b, bt);
		seqwait_complete(&b->waiters, bt->seq, err, msg);
		return;
	}
	b->failing = 0;
	b->st.rows_written += bt->rows;
	b->st.rows_queued -= bt->rows;
	b->st.batches_written++;
	pgbatch_free_batch(bt);
	seqwait_complete(&b->waiters, pgbatch_low(b), STORE_OK, NULL);
	pgbatch_pump(b, 0);
}

void
pgbatch_fence(struct pgbatch *b, const char *msg)
{
	if (msg == NULL) {
		b->fenced = 0;
		return;
	}
	struct batch *bt;

	b->fenced = 1;
	snprintf(b->fence_msg, sizeof(b->fence_msg), "%s", msg);
	for (size_t i = 0; i < b->scap; i++)
		if (b->stages[i].used) {
			free(b->stages[i].text);
			free(b->stages[i].rows);
			memset(&b->stages[i], 0, sizeof(b->stages[i]));
		}
	b->sused = 0;
	b->st.rows_staged = 0;
	if (b->open != NULL) {
		b->st.rows_queued -= b->open->rows;
		pgbatch_free_batch(b->open);
		b->open = NULL;
	}
	while ((bt = TAILQ_FIRST(&b->queued)) != NULL) {
		TAILQ_REMOVE(&b->queued, bt, link);
		b->st.rows_queued -= bt->rows;
		pgbatch_free_batch(bt);
	}
	b->failing = 0;
	seqwait_abort(&b->waiters, STORE_ERR_FENCED, b->fence_msg);
}

void
pgbatch_stats(const struct pgbatch *b, struct pgbatch_stats *st)
{
	*st = b->st;
}

struct batch *
pgbatch_take(struct pgbatch *b)
{
	struct batch *bt;

	pgbatch_seal(b);
	if (b->open != NULL) { /* an empty open batch */
		pgbatch_free_batch(b->open);
		b->open = NULL;
	}
	if ((bt = TAILQ_FIRST(&b->queued)) != NULL) {
		TAILQ_REMOVE(&b->queued, bt, link);
	} else if ((bt = TAILQ_FIRST(&b->inflight)) != NULL) {
		TAILQ_REMOVE(&b->inflight, bt, link);
		b->ninflight--;
	} else {
		return NULL;
	}
	bt->state = BATCH_TAKEN;
	b->st.rows_queued -= bt->rows;
	return bt;
}

void
pgbatch_abort(struct pgbatch *b, enum store_err err, const char *msg)
{
	seqwait_abort(&b->waiters, err, msg);
}
