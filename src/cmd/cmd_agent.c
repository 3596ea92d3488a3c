/* SPDX-License-Identifier: MIT */
/*
 * cmd_agent.c -- `pgevict agent --rules DIR`: the sidecar (command).
 *
 * Owns the command: the agent's parameters from the options, the rules
 * loaded (agent_rules.c), the loop of passes (cheap ones, agent_quick.c,
 * and full ones, agent_pass.c), signals, reload, systemd, and what the
 * operator reads: syslog always (the engine's step and outcome lines,
 * tagged with the rule), and one line per session on stdout, JSON Lines
 * with --json.
 *
 * Signals are blocked and read from a signalfd between rules and between
 * passes, so nothing interrupts an action: SIGTERM and SIGINT stop after
 * the rule in flight (exit 0), SIGHUP reloads the rules (a bad file keeps
 * the old ones, and says so).  A wait on a server is no action: the
 * signalfd also wakes pgsql's waits (pgsql_set_interrupt), so SIGTERM or
 * SIGINT ends one at once, and a pass that was discovering acts no more.
 * Under systemd (NOTIFY_SOCKET) it sends READY, RELOADING, STOPPING,
 * STATUS and, when WatchdogSec= is set, WATCHDOG every half period.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-daemon.h>

#include "pgevict/agent.h"
#include "pgevict/clock.h"
#include "pgevict/cmd.h"
#include "pgevict/escape.h"
#include "pgevict/pgsql.h"
#include "pgevict/procfs.h"
#include "pgevict/timefmt.h"

/* One message for the operator: stderr, and syslog when running.  The
 * whole line is escaped here, once: callers pass outside text as it is. */
void agent_say(int prio, const char *fmt, ...)
{
	char *e;
	va_list ap;

	va_start(ap, fmt);
	e = escape_term_vfmt(fmt, ap);
	va_end(ap);
	fprintf(stderr, "pgevict: %s\n", e ? e : "out of memory");
	syslog(prio, "%s", e ? e : "out of memory");
	free(e);
}

void agent_watchdog(struct agent *a)
{
	long long now;

	if (!a->wd_usec)
		return;
	now = clock_mono_ms();
	if (now - a->wd_last_ms >= (long long)(a->wd_usec / 2000)) {
		sd_notify(0, "WATCHDOG=1");
		a->wd_last_ms = now;
	}
}

/* Read the signals that came; set stop / reload. */
void agent_check_signals(struct agent *a)
{
	struct signalfd_siginfo si;

	while (read(a->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			a->reload = true;
		else
			a->stop = true;
	}
}

/* pgsql's interrupt: give up waiting on a server once SIGTERM or SIGINT
 * came (SIGHUP only marks the reload; the wait goes on). */
static bool sql_stop(void *arg)
{
	struct agent *a = arg;

	agent_check_signals(a);
	return a->stop;
}

static void reload(struct agent *a)
{
	struct rule_set fresh;
	size_t nfiles;
	int bad;

	a->reload = false;
	sd_notify(0, "RELOADING=1");
	bad = agent_load_rules(a->p.rules_dir, LOG_ERR, &fresh, &nfiles);
	if (bad != 0) {
		agent_say(LOG_ERR, "reload: rules in '%s' have errors; keeping the %zu rules in force", a->p.rules_dir,
		    a->rules.n);
		rules_clear(&fresh);
	} else {
		rules_clear(&a->rules);
		a->rules = fresh;
		a->ndry_prev = 0;    /* rule indexes changed meaning */
		a->nfiles = nfiles;
		agent_say(LOG_NOTICE, "reload: %zu rules from %zu files in '%s'", a->rules.n, a->nfiles, a->p.rules_dir);
	}
	sd_notify(0, "READY=1");
}

void agent_report(struct agent *a, const struct rule *ru, const struct plan_item *it,
		   const struct evict_result *res)
{
	const struct session *s = it->s;
	char client[INET6_ADDRSTRLEN + 16], steps[64] = "", now[40];
	const char *step = res->step >= 0 ? step_name((enum step)res->step) : NULL;
	const char *note = res->note[0] ? res->note : NULL;

	if (res->outcome == OUTCOME_PLANNED) {
		ladder_steps_text(it->steps, steps, sizeof(steps));
		step = steps[0] ? steps : NULL;
		/* a dry run touches nothing, but the log says what it would do */
		syslog(LOG_INFO, "rule=%s %s pid=%d start=%llu dry-run outcome=planned", ru->name,
		       action_name(ru->action), (int)s->pid, s->start_ticks);
	}
	timefmt_rfc3339(clock_wall_us(), now, sizeof(now));
	session_client_text(s, client, sizeof(client));
	if (a->p.json) {
		json_object *o = out_action_json(s, action_name(ru->action), outcome_name(res->outcome), step,
						 res->elapsed_ms, note);
		json_object_object_add(o, "time", json_object_new_string(now));
		json_object_object_add(o, "rule", json_object_new_string(ru->name));
		out_json_line(o);
		json_object_put(o);
	} else {
		char *user = escape_term(s->user), *db = escape_term(s->database), *n = note ? escape_term(note) : NULL;
		printf("%s rule=%s %s pid=%d user=%s db=%s client=%s outcome=%s step=%s ms=%lld%s%s\n", now, ru->name,
		       action_name(ru->action), (int)s->pid, user ? user : "-", db ? db : "-", client,
		       outcome_name(res->outcome), step ? step : "-", res->elapsed_ms, n ? " note=" : "", n ? n : "");
		free(user);
		free(db);
		free(n);
	}
	fflush(stdout);
}

/* Signals into the signalfd, /proc, the clock, the fd limit, the
 * watchdog.  0 or -errno. */
static int setup(struct agent *a)
{
	struct rlimit rl;
	sigset_t mask;

	/* Signals wait in the signalfd until the action in flight is done. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (a->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0 ||
	    (a->pfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	pgsql_set_interrupt(a->sfd, sql_stop, a);
	a->hz = procfs_hertz();
	procfs_boot_time(a->pfd, &a->btime);
	/* a title fd per backend for the cheap passes */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (sd_watchdog_enabled(0, &a->wd_usec) <= 0)
		a->wd_usec = 0;
	a->wd_last_ms = clock_mono_ms();
	return 0;
}

/* A pass that process events asked for: cheap, and full when a rule may
 * act.  The periodic schedule stands. */
static void event_pass(struct agent *a)
{
	int64_t t0 = clock_mono_us();

	a->ev_passes++;
	if (agent_quick_pass(a, clock_wall_us()) != 0)
		agent_pass(a);
	agent_events_sync(a);
	a->ev_last_ms = clock_mono_ms();
	agent_metrics_write(a, (double)(clock_mono_us() - t0) / 1e6, false);
}

/* Until a->stop: a pass (cheap, and full when it may act), then wait for
 * the next, for a signal, the watchdog, or a process event. */
static void loop(struct agent *a)
{
	while (!a->stop) {
		long long start = clock_mono_ms(), t0 = clock_mono_us(), wait, due, now;
		struct pollfd p[2];
		int n;

		if (agent_quick_pass(a, clock_wall_us()) != 0)
			agent_pass(a);
		agent_events_sync(a);
		agent_metrics_write(a, (double)(clock_mono_us() - t0) / 1e6, true);
		sd_notifyf(0, "STATUS=%zu rules; %llu passes, %llu actions", a->rules.n, a->passes, a->actions);
		agent_watchdog(a);
		for (;;) {
			agent_check_signals(a);
			if (a->stop)
				break;
			if (a->reload)
				reload(a);
			now = clock_mono_ms();
			wait = start + a->p.interval_ms - now;
			if (wait <= 0)
				break;
			if (a->wd_usec && wait > (long long)(a->wd_usec / 2000))
				wait = (long long)(a->wd_usec / 2000);
			if ((due = agent_events_next_ms(a)) >= 0 && due - now < wait)
				wait = due > now ? due - now : 0;
			p[0] = (struct pollfd){ .fd = a->sfd, .events = POLLIN };
			p[1] = (struct pollfd){ .fd = a->efd, .events = POLLIN };
			n = poll(p, 2, (int)wait);
			if (agent_events_handle(a, n > 0 && p[1].revents) > 0 && !a->stop)
				event_pass(a);
			agent_watchdog(a);
		}
	}
}

static void agent_clear(struct agent *a)
{
	pgsql_set_interrupt(-1, NULL, NULL);
	rules_clear(&a->rules);
	track_clear(&a->track);
	agent_quick_clear(a);
	agent_events_clear(a);
	agent_headroom_clear(a);
	agent_lockdown_clear(a);
	free(a->dry_prev);
	free(a->dry_cur);
	if (a->have_last)
		discovery_clear(&a->last);
	free(a->outs);
	free(a->sql_note);
	metrics_clear(&a->m);
	if (a->sfd >= 0)
		close(a->sfd);
	if (a->pfd >= 0)
		close(a->pfd);
}

int cmd_agent(const struct options *o)
{
	struct agent a = {
		.p = { .rules_dir = o->rules_dir, .cluster = o->cluster, .no_sql = o->no_sql, .dsn = o->dsn,
		       .iface = o->iface, .json = o->json, .dry_run = o->dry_run,
		       .step_timeout_ms = o->step_timeout_ms, .interval_ms = o->interval_ms,
		       .metrics_path = o->metrics, .state_dir = o->state_dir, .hba_file = o->hba_file,
		       .audit = cmd_evict_syslog },
		.pfd = -1, .sfd = -1, .efd = -1,
	};
	int status = 0, r;

	metrics_init(&a.m);
	if (!o->rules_dir) {
		fprintf(stderr, "pgevict: agent needs --rules DIR\n");
		return EXIT_USAGE;
	}
	if (o->check)
		return agent_check_rules(o->rules_dir);
	if (geteuid() != 0) {
		fprintf(stderr, "pgevict: 'agent' needs root (to read other users' /proc entries)\n");
		return EXIT_USAGE;
	}
	openlog("pgevict", LOG_PID, LOG_DAEMON);
	if (agent_load_rules(o->rules_dir, LOG_ERR, &a.rules, &a.nfiles) != 0) {
		status = EXIT_USAGE;
		goto out;
	}
	if (!a.rules.n)
		agent_say(LOG_WARNING, "no rules in '%s' (*.conf): nothing to enforce", o->rules_dir);
	if ((r = setup(&a)) < 0) {
		agent_say(LOG_ERR, "cannot set up: %s", strerror(-r));
		status = 1;
		goto out;
	}
	if (o->once) {
		int64_t t0 = clock_mono_us();
		r = agent_pass(&a);
		agent_metrics_write(&a, (double)(clock_mono_us() - t0) / 1e6, true);
		status = r < 0 ? 1 : ladder_exit_status(a.outs, a.nouts);
		goto out;
	}
	agent_say(LOG_NOTICE, "agent: %zu rules from %zu files in '%s', a pass every %lldms%s", a.rules.n, a.nfiles,
		  o->rules_dir, (long long)o->interval_ms, o->dry_run ? ", dry run" : "");
	agent_events_open(&a);
	sd_notify(0, "READY=1");
	loop(&a);
	sd_notify(0, "STOPPING=1");
	agent_say(LOG_NOTICE, "agent: stopping after %llu passes, %llu actions (and %llu cheap passes that found nothing to do); "
		  "%llu forks and %llu exits seen, %llu passes on events", a.passes, a.actions, a.quick_passes, a.ev_forks,
		  a.ev_exits, a.ev_passes);
out:
	agent_clear(&a);
	closelog();
	return status;
}
