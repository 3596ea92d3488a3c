/* SPDX-License-Identifier: MIT */
/*
 * test_metrics.c -- unit tests for metrics.h: the agent's metrics in
 * Prometheus' text exposition format.
 *
 * The exact text of an empty set and of a full one (HELP and TYPE lines,
 * series sorted, slots_max left out when unknown); label values escaped
 * (backslash, double quote, newline) and made UTF-8; action counters
 * kept and summed; sessions counted by state per cluster, walsenders not
 * taking a slot, unverified clusters and other clusters' sessions left
 * out, repeated cluster labels made unique; no pid, user or query ever
 * in the text.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pgevict/metrics.h"
#include "pgevict/select.h"
#include "pgevict/session.h"

static char *render(const struct metrics *m)
{
	char *text;
	size_t len;

	assert_int_equal(metrics_render(m, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	return text;
}

#define AGENT_TAIL \
	"# HELP pgevict_passes_total Passes over the process table: cheap ones and full ones.\n" \
	"# TYPE pgevict_passes_total counter\n" \
	"pgevict_passes_total{kind=\"cheap\"} %llu\n" \
	"pgevict_passes_total{kind=\"full\"} %llu\n" \
	"# HELP pgevict_events_total Process events seen for children of known postmasters.\n" \
	"# TYPE pgevict_events_total counter\n" \
	"pgevict_events_total{kind=\"exit\"} %llu\n" \
	"pgevict_events_total{kind=\"fork\"} %llu\n" \
	"# HELP pgevict_up 1: the agent wrote this file.\n" \
	"# TYPE pgevict_up gauge\n" \
	"pgevict_up 1\n"

static void test_empty(void **state)
{
	struct metrics m;
	char *text, want[2048];

	(void)state;
	metrics_init(&m);
	text = render(&m);
	snprintf(want, sizeof(want), AGENT_TAIL, 0ULL, 0ULL, 0ULL, 0ULL);
	assert_string_equal(text, want);
	free(text);
	metrics_clear(&m);
}

static struct pg_cluster *cluster(struct cluster_list *cl, const char *name, int port, int maxc, bool sql_ok)
{
	struct pg_cluster *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->cluster_name = name ? strdup(name) : NULL;
	c->port = port;
	c->max_connections = maxc;
	c->sql_ok = sql_ok;
	assert_int_equal(cluster_list_add(cl, c), 0);
	return c;
}

static void session(struct session_list *l, struct pg_cluster *c, pid_t pid, const char *type, const char *st)
{
	struct session *s = session_list_add(l);

	assert_non_null(s);
	s->pid = pid;
	s->cluster = c;
	s->backend_type = type;
	s->is_client = strcmp(type, "client backend") == 0 || strcmp(type, "walsender") == 0;
	s->state = st ? select_known_state(st) : NULL;
	s->user = strdup("alice");
	s->query = strdup("SELECT secret");
}

static void full_set(struct metrics *m, struct cluster_list *cl, struct session_list *l)
{
	struct pg_cluster *main = cluster(cl, "main", 5432, 100, true);
	struct pg_cluster *other = cluster(cl, NULL, 5433, 0, false);
	struct pg_cluster *fake = cluster(cl, "fake", 5434, 10, false);

	fake->unverified = strdup("no postmaster.pid");
	session(l, main, 101, "client backend", "idle");
	session(l, main, 102, "client backend", "idle");
	session(l, main, 103, "client backend", "active");
	session(l, main, 104, "client backend", "idle in transaction");
	session(l, main, 105, "walsender", "active");
	session(l, main, 106, "checkpointer", NULL);
	session(l, main, 107, "client backend", "starting");
	session(l, other, 201, "client backend", NULL);
	session(l, fake, 301, "client backend", "idle");
	metrics_init(m);
	assert_int_equal(metrics_set_clusters(m, cl, l), 0);
}

static void full_clear(struct metrics *m, struct cluster_list *cl, struct session_list *l)
{
	metrics_clear(m);
	session_list_clear(l);
	cluster_list_clear(cl);
}

static void test_full(void **state)
{
	struct cluster_list cl = { 0 };
	struct session_list l = { 0 };
	struct metrics m;
	char *text, want[4096], tail[2048];

	(void)state;
	full_set(&m, &cl, &l);
	assert_int_equal(metrics_count_action(&m, "idle-kill", "terminate", "gone", "sql"), 0);
	assert_int_equal(metrics_count_action(&m, "idle-kill", "terminate", "gone", "sql"), 0);
	assert_int_equal(metrics_count_action(&m, "a-rule", "terminate", "planned", NULL), 0);
	m.pass_seconds = 0.0125;
	m.passes_cheap = 7;
	m.passes_full = 3;
	m.ev_forks = 12;
	m.ev_exits = 11;
	text = render(&m);
	snprintf(tail, sizeof(tail), AGENT_TAIL, 7ULL, 3ULL, 11ULL, 12ULL);
	snprintf(want, sizeof(want),
		 "# HELP pgevict_sessions Client sessions (client backends and walsenders) by state.\n"
		 "# TYPE pgevict_sessions gauge\n"
		 "pgevict_sessions{cluster=\"5433\",state=\"unknown\"} 1\n"
		 "pgevict_sessions{cluster=\"main\",state=\"active\"} 2\n"
		 "pgevict_sessions{cluster=\"main\",state=\"idle\"} 2\n"
		 "pgevict_sessions{cluster=\"main\",state=\"idle in transaction\"} 1\n"
		 "pgevict_sessions{cluster=\"main\",state=\"starting\"} 1\n"
		 "# HELP pgevict_slots_used Connection slots taken by client backends, starting ones included.\n"
		 "# TYPE pgevict_slots_used gauge\n"
		 "pgevict_slots_used{cluster=\"5433\"} 1\n"
		 "pgevict_slots_used{cluster=\"main\"} 5\n"
		 "# HELP pgevict_slots_max The cluster's max_connections.\n"
		 "# TYPE pgevict_slots_max gauge\n"
		 "pgevict_slots_max{cluster=\"main\"} 100\n"
		 "# HELP pgevict_sql_ok Whether SQL to the cluster worked on the last full pass (1) or not (0).\n"
		 "# TYPE pgevict_sql_ok gauge\n"
		 "pgevict_sql_ok{cluster=\"5433\"} 0\n"
		 "pgevict_sql_ok{cluster=\"main\"} 1\n"
		 "# HELP pgevict_actions_total Sessions acted on by the agent, by rule, action, outcome and last step.\n"
		 "# TYPE pgevict_actions_total counter\n"
		 "pgevict_actions_total{rule=\"a-rule\",action=\"terminate\",outcome=\"planned\",step=\"\"} 1\n"
		 "pgevict_actions_total{rule=\"idle-kill\",action=\"terminate\",outcome=\"gone\",step=\"sql\"} 2\n"
		 "# HELP pgevict_pass_seconds How long the last pass took.\n"
		 "# TYPE pgevict_pass_seconds gauge\n"
		 "pgevict_pass_seconds 0.012500\n"
		 "%s",
		 tail);
	assert_string_equal(text, want);
	/* bounded labels: nothing of a session's own */
	assert_null(strstr(text, "alice"));
	assert_null(strstr(text, "secret"));
	assert_null(strstr(text, "101"));
	assert_null(strstr(text, "fake"));
	free(text);
	full_clear(&m, &cl, &l);
}

/* The gauges are replaced on each pass; the counters stay. */
static void test_replace(void **state)
{
	struct cluster_list cl = { 0 }, none = { 0 };
	struct session_list l = { 0 }, empty = { 0 };
	struct metrics m;
	char *text;

	(void)state;
	full_set(&m, &cl, &l);
	assert_int_equal(metrics_count_action(&m, "r", "cancel", "cancelled", "sql"), 0);
	assert_int_equal(metrics_set_clusters(&m, &none, &empty), 0);
	assert_int_equal(m.nclusters, 0);
	text = render(&m);
	assert_null(strstr(text, "pgevict_sessions"));
	assert_null(strstr(text, "pgevict_slots_max"));
	assert_non_null(strstr(text, "pgevict_actions_total{rule=\"r\",action=\"cancel\",outcome=\"cancelled\",step=\"sql\"} 1\n"));
	free(text);
	full_clear(&m, &cl, &l);
}

static void test_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "plain" },
		{ "", "" },
		{ "a\\b", "a\\\\b" },
		{ "say \"hi\"", "say \\\"hi\\\"" },
		{ "two\nlines", "two\\nlines" },
		{ "tab\tstays", "tab\tstays" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },                 /* UTF-8 kept */
		{ "bad\xff", "bad\xef\xbf\xbd" },                  /* not UTF-8 */
		{ "cut\xc3", "cut\xef\xbf\xbd" },                  /* truncated */
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },        /* overlong */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* surrogate */
		{ "\xf0\x9f\x90\x98", "\xf0\x9f\x90\x98" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *e = metrics_label_escape(cases[i].in);
		assert_non_null(e);
		assert_string_equal(e, cases[i].out);
		free(e);
	}
}

/* Outside names (cluster_name, a rule's name) are escaped in the text;
 * two clusters with one label get distinct ones. */
static void test_labels(void **state)
{
	struct cluster_list cl = { 0 };
	struct session_list l = { 0 };
	struct metrics m;
	char *text;

	(void)state;
	cluster(&cl, "we\"ird\\\nname", 5432, 10, true);
	cluster(&cl, "twin", 5433, 10, true);
	cluster(&cl, "twin", 5434, 10, true);
	metrics_init(&m);
	assert_int_equal(metrics_set_clusters(&m, &cl, &l), 0);
	assert_int_equal(metrics_count_action(&m, "r\"1\n", "terminate", "gone", "signal"), 0);
	text = render(&m);
	assert_non_null(strstr(text, "pgevict_slots_used{cluster=\"we\\\"ird\\\\\\nname\"} 0\n"));
	assert_non_null(strstr(text, "pgevict_slots_used{cluster=\"twin\"} 0\n"));
	assert_non_null(strstr(text, "pgevict_slots_used{cluster=\"twin#2\"} 0\n"));
	assert_non_null(strstr(text, "{rule=\"r\\\"1\\n\",action=\"terminate\",outcome=\"gone\",step=\"signal\"} 1\n"));
	/* every line is a comment or a sample: no raw newline got through */
	assert_null(strstr(text, "\nname"));
	free(text);
	metrics_clear(&m);
	cluster_list_clear(&cl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),   cmocka_unit_test(test_full),   cmocka_unit_test(test_replace),
		cmocka_unit_test(test_escape),  cmocka_unit_test(test_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
