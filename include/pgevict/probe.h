/* SPDX-License-Identifier: MIT */
/*
 * probe.h -- what a probe connection tells about pg_hba.conf (core, no
 * I/O).
 *
 * Owns the answers and their names; the lockdown record keeps an answer
 * as its number (state.json's probe_before), so the values never change.
 * Making the connection is pgsql_probe's (pgsql.h); deciding what answer
 * a lockdown or an unlock must see is lockplan's.
 */
#ifndef PGEVICT_PROBE_H
#define PGEVICT_PROBE_H

/*
 * PostgreSQL checks connection slots before pg_hba.conf ("too many
 * clients"), and the authentication method after it, so only HBA_REJECT
 * and NO_ENTRY are pg_hba's own answers; PASSED means it let the attempt
 * through (to a password request, an unknown role or database, or a
 * session).
 */
enum probe_result {
	PROBE_PASSED = 0,            /* pg_hba.conf let it through */
	PROBE_HBA_REJECT,            /* "pg_hba.conf rejects connection" */
	PROBE_NO_ENTRY,              /* "no pg_hba.conf entry" */
	PROBE_SLOTS,                 /* no slot: pg_hba.conf not consulted */
	PROBE_UNREACHABLE,           /* no answer, refused, timed out */
	PROBE_OTHER,                 /* anything else (the message apart) */
};

/* "passed pg_hba.conf", "rejected by pg_hba.conf"...: static text, "?"
 * for a value not in the enum. */
const char *probe_result_name(enum probe_result r);

#endif
