/* SPDX-License-Identifier: MIT */
/*
 * agent.h -- the sidecar agent's parts, shared by its files (engine layer:
 * the agent's loop, with its own parameters, never the command line's).
 *
 *   cmd_agent.c    the command: parameters, signals, the main loop,
 *                  reload, the operator's messages and action lines
 *   agent_rules.c  loading the rule files (trusted like sudoers)
 *   agent_quick.c  the cheap passes between full ones
 *   agent_pass.c   a full pass: discovery, timing, each rule planned,
 *                  kept and applied through the eviction engine
 *   agent_headroom.c  headroom rules: slots counted, just enough ended;
 *                  superuser-ness remembered from the last SQL
 *
 * None of them exits; messages go through agent_say (stderr and syslog)
 * and action lines through agent_report (stdout).
 */
#ifndef PGEVICT_AGENT_H
#define PGEVICT_AGENT_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pgevict/discover.h"
#include "pgevict/evict.h"
#include "pgevict/ladder.h"
#include "pgevict/metrics.h"
#include "pgevict/rules.h"
#include "pgevict/track.h"

#define AGENT_FULL_EVERY_MS 60000      /* a full pass at least this often */

/* What the agent runs with. */
struct agent_params {
	const char *rules_dir;       /* a directory of *.conf, or one file */
	const char *cluster;         /* --cluster SPEC, or NULL: every cluster */
	bool no_sql;
	const char *dsn;
	const char *iface;           /* where rst captures; NULL: the route */
	bool json;                   /* action lines as JSON Lines */
	bool dry_run;                /* act on nothing; report a plan once */
	int64_t step_timeout_ms;     /* unless a rule sets its own */
	int64_t interval_ms;         /* between passes */
	const char *metrics_path;    /* --metrics FILE, or NULL */
	const char *state_dir;       /* --state-dir (a headroom rule's
	                                lockdown), NULL: lockdown's default */
	const char *hba_file;        /* --hba-file, NULL */
	evict_audit_fn audit;        /* the engine's audit sink; its argument
	                                is the rule's name */
};

/* A postmaster seen by the cheap passes: a child is born only when the
 * postmaster runs (it forks), so while its CPU time stands still the
 * children are the ones already known. */
struct pmstate {
	pid_t pid;
	unsigned long long start_ticks;
	int fd;                      /* its /proc/PID/schedstat, kept */
	unsigned long long runtime;
	bool have, used;
};

/* A child of a postmaster seen by the cheap passes.  Its CPU time is read
 * through an fd kept open on /proc/PID/schedstat, which also pins the
 * process (a pid reused by another process fails through the old fd);
 * the title is read again only when the process ran since: a backend
 * that did not run cannot have changed it.  What the title says is kept. */
struct qent {
	pid_t pid;
	pid_t pm;                    /* its postmaster */
	unsigned long long start_ticks;
	int fd;                      /* /proc/PID/schedstat, or -1 */
	unsigned long long runtime;  /* ns on the CPU, schedstat field 1 */
	bool parsed, client;
	char *user, *database;       /* NULL: unknown (ambiguous title) */
	const char *state;           /* static, or NULL */
	enum transport transport;
	char client_addr[INET6_ADDRSTRLEN];
};

/* A new child of a postmaster whose title does not name its user and
 * database yet: read again on a short schedule (agent_events.c). */
struct pend {
	pid_t pid, pm;
	long long born_ms, due_ms;   /* monotonic */
	int tries;
	bool judged;                 /* a pass ran for it while it was starting */
};

struct dry_key {
	size_t rule;                 /* index in the rules (forgotten on reload) */
	pid_t pid;
	unsigned long long start_ticks;
};

/* What SQL last said of a session's role (agent_headroom.c). */
struct su_mem {
	pid_t pid;
	unsigned long long start_ticks;
	unsigned char su;            /* enum su */
};

/* What SQL last said of a role in a cluster (agent_headroom.c): for the
 * sessions SQL has not seen (a storm's, when SQL cannot get a slot). */
struct role_mem {
	pid_t pm;                    /* the cluster's postmaster */
	char *name;
	unsigned char su;            /* enum su: SU_YES or SU_NO */
	long long seen_ms;           /* monotonic: SQL last said so */
};

/* A cluster a headroom rule with lockdown-after finds short of slots
 * (agent_lockdown.c). */
struct lock_watch {
	pid_t pm;                    /* the cluster's postmaster, */
	unsigned long long start_ticks; /* and its start */
	char rule[RULE_NAME_MAX + 1];
	long long since_ms;          /* monotonic: short since */
	bool acted;                  /* the rule ended sessions meanwhile */
	bool done;                   /* locked down (or tried): once */
};

struct agent {
	struct agent_params p;
	struct rule_set rules;
	size_t nfiles;
	struct tracker track;
	int pfd;                     /* /proc */
	int sfd;                     /* signalfd */
	bool stop, reload;
	uint64_t wd_usec;            /* 0: no watchdog */
	long long wd_last_ms;
	unsigned long long passes, actions;
	char *sql_note;              /* the last SQL gaps reported */
	bool ambiguous;              /* --cluster matched more than one, reported */
	/* cheap passes: the last full discovery, and a title fd per child */
	struct discovery last;
	bool have_last;
	long long last_full_ms;
	struct qent *q;
	size_t nq;
	int64_t btime;
	long hz;
	unsigned long long quick_passes;
	struct pmstate *pm;
	size_t npm;
	/* --dry-run: what the previous pass planned, so that a plan that
	 * stands is reported once, not every pass */
	struct dry_key *dry_prev, *dry_cur;
	size_t ndry_prev, ndry_cur, capdry, capprev;
	/* process events (agent_events.c); efd -1: polling alone */
	int efd;
	pid_t *ev_pm;                /* the postmasters the kernel filter names */
	size_t nev_pm;
	struct pend *pend;
	size_t npend, cappend;
	long long ev_last_ms;        /* the last pass events asked for */
	unsigned long long ev_forks, ev_exits, ev_passes, ev_lost;
	/* --metrics (agent_metrics.c) */
	struct metrics m;
	bool metrics_failed;         /* the last write failed, and was said */
	long long metrics_last_ms;   /* monotonic, the last write */
	/* --once: every outcome, for the exit status */
	enum outcome *outs;
	size_t nouts, capouts;
	/* headroom rules: superuser-ness by (pid, start), sorted, and by
	 * role; the clusters whose slots were unknown, said once */
	struct su_mem *su;
	size_t nsu;
	struct role_mem *roles;      /* and by role, for new sessions */
	size_t nroles, caproles;
	struct lock_watch *watch;    /* headroom rules' lockdown-after */
	size_t nwatch;
	pid_t *near_pm;              /* the clusters (postmasters) where a
	                                headroom rule may soon act */
	size_t nnear;
	bool slots_unknown_said;
};

/* One message for the operator: stderr, and syslog at PRIO.  The whole
 * line is escaped here, once: callers pass outside text as it is. */
void agent_say(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One action line on stdout (JSON with a->p.json) for rule RU on item IT. */
void agent_report(struct agent *a, const struct rule *ru, const struct plan_item *it,
		  const struct evict_result *res);

/* Read the signals that came; set a->stop / a->reload. */
void agent_check_signals(struct agent *a);

/* Send WATCHDOG=1 when half the watchdog period went by. */
void agent_watchdog(struct agent *a);

/*
 * Load PATH (a directory: its *.conf files in name order; or one file)
 * into *RET.  PATH and every file are opened without following symlinks
 * and must be owned by root and writable only by root; what is read is
 * the file checked, through one fd.  Every bad file is reported
 * (`pgevict: FILE:LINE: what`, at PRIO); returns 0, or the number of bad
 * files, or -errno when PATH cannot be read or is refused (reported too).
 */
int agent_load_rules(const char *path, int prio, struct rule_set *ret, size_t *ret_nfiles);

/* `agent --check`: load and list the rules.  The exit status. */
int agent_check_rules(const char *path);

/* Could a rule with --idle-for or --running-for match S, time aside? */
bool agent_io_relevant(const struct agent *a, const struct session *s, int64_t now_us);

/* After a headroom rule RU judged cluster C (USED slots, FR free; ACTED:
 * it ended sessions there in this pass): with lockdown-after, watch how
 * long the shortage lasts and lock C down once it lasted that long while
 * the rule acted.  Nothing without lockdown-after. */
void agent_lockdown_watch(struct agent *a, const struct rule *ru, const struct pg_cluster *c, size_t used, int fr,
			  bool acted);
void agent_lockdown_clear(struct agent *a);

/* Note the clusters of CL where a headroom rule ordering by idle time may
 * soon act (fewer than twice its free slots left, counted in L): only
 * there do its sessions' idle times need /proc/PID/io.  0 or -ENOMEM. */
int agent_headroom_near(struct agent *a, const struct cluster_list *cl, const struct session_list *l);

/*
 * A cheap pass: the postmasters' children (one read each), their titles
 * (one pread each, through kept fds), the tracker, and for every rule the
 * question whether any session could match once everything is known
 * (rules_may_match).  Returns 1 when a full pass is needed, 0 when none
 * (nothing could match), -ENOMEM.
 */
int agent_quick_pass(struct agent *a, int64_t now_us);

/* Close what the cheap passes keep. */
void agent_quick_clear(struct agent *a);

/*
 * Process events (agent_events.c).  agent_events_open subscribes, or says
 * once why the agent polls alone; agent_events_sync names the postmasters
 * of the last full pass to the kernel's filter; agent_events_next_ms is
 * when a new child's title is due to be read again (monotonic ms, -1:
 * none); agent_events_handle reads what came (READABLE) and the titles
 * due, and returns 1 when a pass should run now (a new session names its
 * user and database and a rule may match it, or events were lost), else 0.
 */
void agent_events_open(struct agent *a);
void agent_events_sync(struct agent *a);
long long agent_events_next_ms(const struct agent *a);
int agent_events_handle(struct agent *a, bool readable);
void agent_events_clear(struct agent *a);

/*
 * Metrics (agent_metrics.c, metrics.h).  agent_metrics_sessions takes the
 * gauges from a pass's clusters and sessions; agent_metrics_action counts
 * an action reported; agent_metrics_write writes --metrics FILE (nothing
 * without it) with the last pass's duration: a temp file in its directory,
 * fsync'd, renamed over it (file_replace), so a reader sees the old text
 * or the new, never a part.  A failure is said once (and its end), and
 * the agent goes on.  Unless FORCE, no more than once a second (passes
 * that events ask for can come every few ms).
 */
void agent_metrics_sessions(struct agent *a, const struct cluster_list *cl, const struct session_list *l);
void agent_metrics_action(struct agent *a, const struct rule *ru, const struct evict_result *res);
void agent_metrics_write(struct agent *a, double pass_seconds, bool force);

/*
 * Headroom (agent_headroom.c).  agent_su_remember fills in each session's
 * superuser-ness that SQL did not give this time from what it gave
 * before (for the same pid and start), and keeps what it gives now;
 * agent_run_headroom runs headroom rule RU over D: for each cluster with
 * fewer than RU's free slots, ends just enough of RU's candidates (not
 * marked in ACTED, which it marks), through the engine with P.  Both
 * 0 or -ENOMEM.
 */
int agent_su_remember(struct agent *a, struct discovery *d);
int agent_run_headroom(struct agent *a, const struct rule *ru, struct discovery *d, bool *acted,
		       const struct evict_params *p);
void agent_headroom_clear(struct agent *a);

/* Report and count the N results RES of applying SUB for RU (agent_pass.c). */
int agent_pass_report(struct agent *a, const struct rule *ru, const struct plan *sub,
		      const struct evict_result *res);

/* One full pass.  0, or -errno when discovery failed (reported). */
int agent_pass(struct agent *a);

#endif
