/* SPDX-License-Identifier: MIT */
/*
 * pgsql_int.h -- what pgsql.c and pgsql_query.c share (private to the
 * libpq adapter).
 */
#ifndef PGEVICT_PGSQL_INT_H
#define PGEVICT_PGSQL_INT_H

#include <stdbool.h>

/* Has pgsql_set_interrupt's STOP asked to stop? */
bool pgsql_interrupted(void);

/* A malloc'd copy of libpq's message on one line. */
char *pgsql_one_line(const char *msg);

/* Set *RET_ERR (when it is not set yet) to MSG and return R. */
int pgsql_fail(char **ret_err, int r, const char *msg);

/*
 * Wait until FD has EVENTS, or until DEADLINE (clock_mono_ms; -ETIMEDOUT:
 * "server did not answer within LIMIT_MS"), or an interrupt (-EINTR).
 */
int pgsql_wait_sock(int fd, short events, long long deadline, int limit_ms, char **ret_err);

#endif
