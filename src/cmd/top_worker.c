/* SPDX-License-Identifier: MIT */
/*
 * top_worker.c -- `pgevict top`'s refresh thread (command; see top_int.h).
 *
 * Owns the thread that makes refreshes (discovery with its SQL, which may
 * wait up to its deadlines on a slow server, and the /proc samples) so
 * that the screen's thread never waits on them: it asks for a refresh,
 * keeps handling keys, and takes the finished snapshot when there is one,
 * under one mutex.  The worker holds the refresh source alone; the
 * snapshots it hands over are the taker's.  Actions act on the snapshot
 * the screen shows (pid and start time), never on one being made.
 *
 * Stopping: a flag under the mutex, also read by pgsql's interrupt so
 * that an SQL wait in flight gives up within its poll slice (100 ms);
 * the screen waits a moment for the thread to end, then joins it and
 * frees its state; a thread stuck where nothing interrupts it is left to
 * end with the process, its state with it.  The thread blocks every
 * asynchronous signal: SIGINT, SIGTERM, SIGHUP and SIGWINCH are the
 * screen's.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgevict/clock.h"
#include "pgevict/pgsql.h"
#include "top_int.h"

struct top_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;           /* asked, stopped, a refresh ended */
	struct top_source src;       /* the thread's alone */
	atomic_bool quit;
	bool want;                   /* a refresh asked for, not started */
	bool busy;                   /* one is running */
	bool done;                   /* the thread has ended its loop */
	int64_t busy_since_us;
	struct top_snap *ready;      /* finished, not taken */
	int err;                     /* a refresh's failure, not taken */
};

/* A worker left to end with the process (stuck): kept reachable. */
static struct top_worker *left;

static void *run(void *arg)
{
	struct top_worker *w = arg;
	struct top_snap *snap;
	int r;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!atomic_load(&w->quit) && !w->want)
			pthread_cond_wait(&w->cv, &w->mu);
		if (atomic_load(&w->quit))
			break;
		w->want = false;
		w->busy = true;
		w->busy_since_us = clock_mono_us();
		pthread_mutex_unlock(&w->mu);
		r = top_refresh(&w->src, false, &snap);
		pthread_mutex_lock(&w->mu);
		w->busy = false;
		if (r < 0)
			w->err = r;
		if (snap) {
			top_snap_free(w->ready);   /* never shown: a newer one is here */
			w->ready = snap;
		}
		pthread_cond_broadcast(&w->cv);
	}
	w->done = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* pgsql's interrupt: give up waiting on a server once stopping. */
static bool stopping(void *arg)
{
	struct top_worker *w = arg;

	return atomic_load(&w->quit);
}

int top_worker_start(struct top_source *src, struct top_worker **ret)
{
	static const int sync_sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS };
	struct top_worker *w;
	pthread_condattr_t ca;
	sigset_t all, old;
	size_t i;
	int r;

	*ret = NULL;
	if (!(w = calloc(1, sizeof(*w))))
		return -ENOMEM;
	w->src = *src;
	memset(src, 0, sizeof(*src));
	src->pfd = -1;
	atomic_init(&w->quit, false);
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	pgsql_set_interrupt(-1, stopping, w);
	/* the thread starts with every asynchronous signal blocked */
	sigfillset(&all);
	for (i = 0; i < sizeof(sync_sigs) / sizeof(sync_sigs[0]); i++)
		sigdelset(&all, sync_sigs[i]);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&w->thread, NULL, run, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		pgsql_set_interrupt(-1, NULL, NULL);
		*src = w->src;
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return -r;
	}
	*ret = w;
	return 0;
}

void top_worker_ask(struct top_worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->want = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

struct top_snap *top_worker_take(struct top_worker *w, int *ret_err, int64_t *ret_busy_ms)
{
	struct top_snap *snap;

	pthread_mutex_lock(&w->mu);
	snap = w->ready;
	w->ready = NULL;
	*ret_err = w->err;
	w->err = 0;
	*ret_busy_ms = w->busy ? (clock_mono_us() - w->busy_since_us) / 1000 : 0;
	pthread_mutex_unlock(&w->mu);
	return snap;
}

void top_worker_stop(struct top_worker *w, int wait_ms)
{
	struct timespec until;
	bool done;

	if (!w)
		return;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	atomic_store(&w->quit, true);
	pthread_cond_broadcast(&w->cv);
	while (!w->done && pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
		;
	done = w->done;
	pthread_mutex_unlock(&w->mu);
	if (!done) {
		/* stuck where nothing interrupts it: it ends with the process */
		left = w;
		pthread_detach(w->thread);
		return;
	}
	pthread_join(w->thread, NULL);
	pgsql_set_interrupt(-1, NULL, NULL);
	top_snap_free(w->ready);
	top_source_clear(&w->src);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
