/* SPDX-License-Identifier: MIT */
/*
 * track.h -- session states timed across the agent's passes (core, no I/O).
 *
 * Without SQL, a session's state comes from its process title and nobody
 * says since when.  The tracker remembers, per session (pid and start
 * time, never a bare pid), the state it last saw and since when it has
 * seen it, and gives that as state_change_us (and query_start_us while
 * active), so --idle-for and --running-for work without SQL.  What it
 * gives is a lower bound: it starts counting on the pass that first saw
 * the state, and it starts again whenever the state changed, or the
 * process read or wrote anything (/proc/PID/io, read by the caller)
 * between two passes, so a quick query between passes is not missed.
 *
 * It also keeps the other bound, for the agent's cheap passes that decide
 * whether a full one is needed: the state cannot have begun before
 * since_lo (the last pass that saw another state, or the backend start),
 * so now - since_lo is at least how long the state has lasted (for a
 * session SQL timed, since_lo is SQL's state_change: exact).
 */
#ifndef PGEVICT_TRACK_H
#define PGEVICT_TRACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pgevict/session.h"

#define TRACK_IO_UNKNOWN UINT64_MAX

struct track_ent {
	pid_t pid;
	unsigned long long start_ticks;
	const char *state;           /* static (select_known_state), or NULL */
	uint64_t io;                 /* rchar + wchar, or TRACK_IO_UNKNOWN */
	int64_t since_us;            /* lower bound of the state's start */
	int64_t since_lo_us;         /* it began no earlier than this */
};

struct tracker {
	struct track_ent *v;         /* sorted by pid, start_ticks */
	size_t n;
	int64_t last_us;             /* the previous pass, 0 before the first */
};

/*
 * One pass: for each client session of L find or add its entry, restart
 * its clock at NOW_US when the state or IO[i] (bytes read + written by
 * L->v[i], or TRACK_IO_UNKNOWN; IO may be NULL) changed, and, for the
 * sessions SQL did not time (state_change_us unknown), set
 * state_change_us, and query_start_us when it is active, to the entry's
 * clock.  Entries of sessions not in L are dropped.  0 or -ENOMEM (then
 * the tracker is as before and L untouched).
 */
int track_update(struct tracker *t, struct session_list *l, const uint64_t *io, int64_t now_us);

void track_clear(struct tracker *t);

/* The entry of (PID, START_TICKS), or NULL. */
const struct track_ent *track_find(const struct tracker *t, pid_t pid, unsigned long long start_ticks);

/* rchar + wchar from the text of /proc/PID/io.  0 or -EINVAL. */
int track_parse_io(const char *text, uint64_t *ret);

#endif
