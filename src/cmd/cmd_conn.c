/* SPDX-License-Identifier: MIT */
/*
 * cmd_conn.c -- `pgevict sever --conn ADDR:PORT,ADDR:PORT [--iface IF]`.
 *
 * The tcpkill use: cut any TCP connection whose packets cross an
 * interface of this host (this network namespace), named only by its two
 * ends, with exact-sequence RSTs (wire.h).  Prints one result (a table
 * row, or a JSON object with conn, outcome, step, elapsed_ms, reason) and
 * returns 0 when both ends are verified gone, 1 when not.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <json-c/json.h>

#include "pgevict/clock.h"
#include "pgevict/cmd.h"
#include "pgevict/cut.h"
#include "pgevict/escape.h"
#include "pgevict/wire.h"

int cmd_sever_conn(const struct options *o)
{
	static const char *const hdr[] = { "CONN", "OUTCOME", "STEP", "MS", "NOTE" };
	struct wire_result res;
	uint8_t a[16], b[16];
	uint16_t ap, bp;
	int family, r;
	long long t0, ms;
	char note[400], msbuf[24];
	const char *outcome;

	if (cut_parse_conn(o->conn, &family, a, &ap, b, &bp) < 0) {
		char *e = escape_term(o->conn);
		fprintf(stderr, "pgevict: bad value '%s' for --conn (ADDR:PORT,ADDR:PORT; IPv6 as [ADDR]:PORT)\n",
			e ? e : "?");
		free(e);
		return EXIT_USAGE;
	}
	if (o->dry_run) {
		snprintf(note, sizeof(note), "would cut it with RSTs%s%s", o->iface ? " captured on " : "",
			 o->iface ? o->iface : "");
		outcome = "planned";
		ms = 0;
		r = 0;
		memset(&res, 0, sizeof(res));
		res.cut = true;
		goto print;
	}
	openlog("pgevict", LOG_PID, LOG_DAEMON);
	t0 = clock_mono_ms();
	r = wire_cut(family, a, ap, b, bp, o->iface, o->step_timeout_ms, &res);
	/* to the verified cut; closing the capture costs an RCU grace
	 * period more, which the connection no longer waits for */
	ms = r == 0 ? res.elapsed_ms : clock_mono_ms() - t0;
	if (r == -ENODEV) {
		/* --iface names no interface here: the operator's to fix */
		char *e = escape_term(o->iface);
		closelog();
		fprintf(stderr, "pgevict: --iface: no such interface '%s'\n", e ? e : "?");
		free(e);
		return EXIT_USAGE;
	}
	if (r < 0) {
		syslog(LOG_NOTICE, "sever conn=%s failed: %s", o->conn, res.reason);
		closelog();
		fprintf(stderr, "pgevict: cannot cut '%s': %s\n", o->conn, res.reason);
		return 1;
	}
	outcome = res.cut ? "severed" : "survived";
	if (res.cut)
		snprintf(note, sizeof(note), "on %s: %s end %s, %s end %s", res.iface,
			 res.local[0] ? "local" : "remote", cut_how_name(res.how[0]),
			 res.local[1] ? "local" : "remote", cut_how_name(res.how[1]));
	else
		snprintf(note, sizeof(note), "on %s: %s", res.iface, res.reason);
	syslog(LOG_NOTICE, "sever conn=%s outcome=%s %s", o->conn, outcome, note);
	closelog();
print:
	if (o->json) {
		json_object *j = json_object_new_object();
		json_object_object_add(j, "conn", json_object_new_string(o->conn));
		json_object_object_add(j, "outcome", json_object_new_string(outcome));
		json_object_object_add(j, "step", json_object_new_string("rst"));
		json_object_object_add(j, "elapsed_ms", json_object_new_int64(ms));
		json_object_object_add(j, "reason", json_object_new_string(note));
		out_json_line(j);
		json_object_put(j);
	} else {
		struct table *tb = table_new(5, hdr);
		const char *row[] = { o->conn, outcome, "rst", msbuf, note };
		snprintf(msbuf, sizeof(msbuf), "%lld", ms);
		if (tb) {
			table_add(tb, row);
			table_print(tb);
			table_free(tb);
		}
	}
	return res.cut ? 0 : 1;
}
