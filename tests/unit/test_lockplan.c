/* SPDX-License-Identifier: MIT */
/*
 * test_lockplan.c -- unit tests for lockplan.h, without root or PostgreSQL.
 *
 * A table of lockdown and unlock situations (a first lockdown, a second
 * one built from the saved original, --total, --allow-role/--allow-host,
 * --dry-run, --role alone, a file edited during the lockdown, a record of
 * another data directory or another file, an hba_file discovery cannot
 * decide, a missing pg_hba.conf, a broken or tampered original, a replaced
 * directory, a lockdown no probe can prove), each checked for its exit
 * status and line, or for its steps in order with their undo; then the
 * file, the probe and the record of the plans that go ahead, the record a
 * rollback goes back to, and the sessions --kick would end.
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

#include "pgevict/lockplan.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define ORIG "local all all peer\n" \
	     "host all all 127.0.0.1/32 trust\n" \
	     "host all all ::1/128 trust\n" \
	     "host replication all 10.2.0.0/16 trust\n"
#define STATE_DIR "/var/lib/pgevict/srv-pg.0123456789abcdef"

/* One situation: the facts, and the words for what changes them. */
struct fx {
	struct lockplan_facts f;
	struct lockstate saved;
	bool have_saved;
	const char *roles[2], *hosts[2], *lock_roles[2], *lock_dbs[2];
	char *lockdown_text;         /* what a first lockdown would write */
	bool unlock;
};

static void base(struct fx *x)
{
	memset(x, 0, sizeof(*x));
	x->f.cluster = (struct lockplan_cluster){ "/srv/pg", "/srv/pg", "postgres", "localhost", NULL, NULL };
	x->f.hba_path = "/srv/pg/pg_hba.conf";
	x->f.state_dir = STATE_DIR;
	x->f.hba = (struct lockplan_file){ 0, ORIG, strlen(ORIG), 0100640, 26, 26, true, 2049, 77 };
	x->f.now_us = 1764547200000000;       /* 2025-12-01T00:00:00Z */
}

/* The record a first lockdown of ORIG leaves ("locked"), its original
 * saved; the file on disk is the lockdown file. */
static void locked(struct fx *x)
{
	struct lockplan p;

	assert_int_equal(lockplan_lockdown(&x->f, &p), 0);
	assert_int_equal(p.status, 0);
	assert_int_equal(lockstate_copy(&p.rec, &x->saved), 0);
	snprintf(x->saved.phase, sizeof(x->saved.phase), "locked");
	x->saved.probe_before = PROBE_PASSED;
	x->lockdown_text = strdup(p.text ? p.text : ORIG);
	lockplan_free(&p);
	x->have_saved = true;
	x->f.saved = &x->saved;
	x->f.saved_orig = ORIG;
	x->f.saved_orig_len = strlen(ORIG);
	x->f.hba.data = x->lockdown_text;
	x->f.hba.len = strlen(x->lockdown_text);
}

static void fresh(struct fx *x) { (void)x; }
static void dry_run(struct fx *x) { x->f.opts.dry_run = true; }
static void total(struct fx *x) { x->f.opts.total = true; }

static void allow_role(struct fx *x)
{
	x->roles[0] = "app";
	x->f.opts.allow_roles = x->roles;
	x->f.opts.nallow_roles = 1;
}

static void allow_host_lo(struct fx *x)
{
	x->hosts[0] = "127.0.0.1/32";
	x->f.opts.allow_hosts = x->hosts;
	x->f.opts.nallow_hosts = 1;
}

static void second(struct fx *x)
{
	locked(x);
	x->f.opts.total = true;
}

static void second_allow(struct fx *x)
{
	locked(x);
	allow_role(x);
}

static void again_same(struct fx *x) { locked(x); }

static void role_only(struct fx *x)
{
	x->lock_roles[0] = "bob";
	x->lock_dbs[0] = "shop";
	x->f.opts.lock_roles = x->lock_roles;
	x->f.opts.nlock_roles = 1;
	x->f.opts.lock_dbs = x->lock_dbs;
	x->f.opts.nlock_dbs = 1;
}

static void role_only_missing(struct fx *x)
{
	role_only(x);
	x->f.hba = (struct lockplan_file){ .err = -ENOENT };
}

static void role_owner(struct fx *x)
{
	x->lock_roles[0] = "postgres";
	x->f.opts.lock_roles = x->lock_roles;
	x->f.opts.nlock_roles = 1;
}

static void missing(struct fx *x) { x->f.hba = (struct lockplan_file){ .err = -ENOENT }; }
static void fifo(struct fx *x) { x->f.hba.err = -EINVAL; }

static void broken_orig(struct fx *x)
{
	x->f.hba.data = "hots all all trust\n";
	x->f.hba.len = strlen(x->f.hba.data);
}

static void broken_orig_allow(struct fx *x)
{
	broken_orig(x);
	allow_role(x);
}

static void tampered(struct fx *x)
{
	locked(x);
	x->f.saved_orig = "local all all trust\n";
	x->f.saved_orig_len = strlen(x->f.saved_orig);
}

static void unreadable_saved(struct fx *x)
{
	locked(x);
	x->f.saved_orig = NULL;
	x->f.saved_orig_len = 0;
	x->f.saved_orig_err = -EACCES;
}

static void dir_replaced(struct fx *x)
{
	locked(x);
	x->f.hba.dir_ino = 78;
}

static void unprovable(struct fx *x)
{
	x->roles[0] = LOCKPLAN_PROBE_USER;
	x->f.opts.allow_roles = x->roles;
	x->f.opts.nallow_roles = 1;
}

static void ul_plain(struct fx *x)
{
	locked(x);
	x->unlock = true;
}

static void ul_edited(struct fx *x)
{
	ul_plain(x);
	x->f.hba.data = ORIG "# edited by a colleague\n";
	x->f.hba.len = strlen(x->f.hba.data);
}

static void ul_restored(struct fx *x)
{
	ul_plain(x);
	x->f.hba.data = ORIG;
	x->f.hba.len = strlen(ORIG);
}

static void ul_missing(struct fx *x)
{
	ul_plain(x);
	x->f.hba = (struct lockplan_file){ .err = -ENOENT, .dir_known = true, .dir_dev = 2049, .dir_ino = 77 };
}

static void ul_broken(struct fx *x)
{
	broken_orig(x);
	ul_plain(x);
	x->f.saved_orig = "hots all all trust\n";
	x->f.saved_orig_len = strlen(x->f.saved_orig);
}

static void ul_tampered(struct fx *x)
{
	tampered(x);
	x->unlock = true;
}

static void ul_dir_replaced(struct fx *x)
{
	dir_replaced(x);
	x->unlock = true;
}

static void ul_roles(struct fx *x)
{
	role_only(x);
	ul_plain(x);
	x->saved.file_locked = false;
}

/* The steps as short words, in order; an undo other than NONE after '/'. */
static const char *const step_names[] = {
	[LKS_CHECK_OBJECTS] = "check", [LKS_SAVE_ORIGINAL] = "orig", [LKS_PROBE_BEFORE] = "before",
	[LKS_SAVE_LOCKING] = "locking", [LKS_LOCK_OBJECTS] = "alter", [LKS_WRITE_FILE] = "write",
	[LKS_CHECK_LOADABLE] = "loadable", [LKS_RELOAD] = "reload", [LKS_PROVE] = "prove",
	[LKS_SAVE_LOCKED] = "locked", [LKS_KICK] = "kick", [ULS_SAVE_UNLOCKING] = "unlocking",
	[ULS_KEEP_DISPLACED] = "keep", [ULS_WRITE_ORIGINAL] = "restore", [ULS_RELOAD] = "reload",
	[ULS_CHECK_LOADABLE] = "loadable", [ULS_PROVE] = "prove", [ULS_VERIFY] = "verify",
	[ULS_UNLOCK_OBJECTS] = "unalter", [ULS_REMOVE_STATE] = "remove",
};
static const char *const undo_names[] = { "", "/forget", "/restore", "/clear" };

static void ops_text(const struct lockplan *p, char *out, size_t len)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < p->nops && o < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%s%s", i ? " " : "", step_names[p->ops[i].step],
				      undo_names[p->ops[i].undo]);
}

#define LOCKDOWN_OPS "orig before locking write/forget loadable/restore reload/restore prove/restore locked kick"

static const struct {
	const char *name;
	void (*arrange)(struct fx *x);
	int status;
	const char *msg;             /* the refusal, exactly */
	const char *ops;             /* the steps when status is 0 */
} cases[] = {
	{ "fresh lockdown", fresh, 0, NULL, LOCKDOWN_OPS },
	{ "--total", total, 0, NULL, LOCKDOWN_OPS },
	{ "--allow-role", allow_role, 0, NULL, LOCKDOWN_OPS },
	{ "--allow-host", allow_host_lo, 0, NULL, LOCKDOWN_OPS },
	{ "--dry-run", dry_run, 0, NULL, "" },
	{ "second lockdown, --total: from the saved original", second, 0, NULL,
	  "locking write loadable/restore reload/restore prove/restore locked kick" },
	{ "second lockdown, --allow-role", second_allow, 0, NULL,
	  "locking write loadable/restore reload/restore prove/restore locked kick" },
	{ "the same lockdown again: nothing to write", again_same, 0, NULL,
	  "locking reload/restore prove/restore locked kick" },
	{ "--role and --database alone", role_only, 0, NULL, "check locking alter locked kick" },
	{ "--role alone, no pg_hba.conf: not needed", role_only_missing, 0, NULL, "check locking alter locked kick" },
	{ "--role the owner", role_owner, 2, "refusing to lock out the cluster owner 'postgres'", NULL },
	{ "missing pg_hba.conf", missing, 2, "cannot read '/srv/pg/pg_hba.conf': No such file or directory", NULL },
	{ "a FIFO as pg_hba.conf", fifo, 1,
	  "cannot read '/srv/pg/pg_hba.conf': not a regular file (a FIFO, directory, device or socket?)", NULL },
	{ "an original PostgreSQL refuses: standbys' lines dropped", broken_orig, 0, NULL, LOCKDOWN_OPS },
	{ "an original PostgreSQL refuses, --allow-role", broken_orig_allow, 2,
	  "cannot read '/srv/pg/pg_hba.conf' line 1: invalid connection type \"hots\"; --allow-* needs its rules", NULL },
	{ "a saved original that does not match its checksum", tampered, 1,
	  "the saved original in '" STATE_DIR "' does not match its checksum; nothing was changed", NULL },
	{ "a saved original that cannot be read", unreadable_saved, 1,
	  "cannot read the saved original in '" STATE_DIR "': Permission denied", NULL },
	{ "the directory replaced since the lockdown", dir_replaced, 1,
	  "the directory of '/srv/pg/pg_hba.conf' is not the one locked down (it was replaced): restore it, or put "
	  "back the saved original by hand from '" STATE_DIR "/original'", NULL },
	{ "no probe can prove it", unprovable, 2,
	  "no probe can prove this lockdown (every way in is allowed); nothing was changed", NULL },
	{ "unlock", ul_plain, 0, NULL,
	  "unlocking restore reload loadable/clear prove verify unalter remove" },
	{ "unlock of a file edited during the lockdown", ul_edited, 0, NULL,
	  "unlocking keep restore reload loadable/clear prove verify unalter remove" },
	{ "unlock, the original already back", ul_restored, 0, NULL,
	  "unlocking reload loadable/clear prove verify unalter remove" },
	{ "unlock, pg_hba.conf missing", ul_missing, 0, NULL,
	  "unlocking restore reload loadable/clear prove verify unalter remove" },
	{ "unlock of a broken original: back byte for byte", ul_broken, 0, NULL,
	  "unlocking restore reload loadable/clear prove verify unalter remove" },
	{ "unlock, a tampered saved original", ul_tampered, 1,
	  "the saved original in '" STATE_DIR "' does not match its checksum; '/srv/pg/pg_hba.conf' is left as it is",
	  NULL },
	{ "unlock, the directory replaced", ul_dir_replaced, 1,
	  "the directory of '/srv/pg/pg_hba.conf' is not the one locked down (it was replaced): restore it, or put "
	  "back the saved original by hand from '" STATE_DIR "/original'", NULL },
	{ "unlock of --role alone", ul_roles, 0, NULL, "unlocking unalter remove" },
};

static void plan(struct fx *x, struct lockplan *p)
{
	assert_int_equal(x->unlock ? lockplan_unlock(&x->f, p) : lockplan_lockdown(&x->f, p), 0);
}

static void fx_free(struct fx *x)
{
	lockstate_clear(&x->saved);
	free(x->lockdown_text);
}

static void test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fx x;
		struct lockplan p;
		char ops[512];

		base(&x);
		cases[i].arrange(&x);
		plan(&x, &p);
		ops_text(&p, ops, sizeof(ops));
		if (p.status != cases[i].status || (cases[i].msg && (!p.msg || strcmp(p.msg, cases[i].msg) != 0)) ||
		    (cases[i].ops && strcmp(ops, cases[i].ops) != 0))
			fail_msg("%s: status %d (want %d), '%s', steps '%s' (want '%s')", cases[i].name, p.status,
				 cases[i].status, p.msg ? p.msg : "", ops, cases[i].ops ? cases[i].ops : "");
		if (p.status != 0)
			assert_int_equal(p.nops, 0);
		lockplan_free(&p);
		fx_free(&x);
	}
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p;

	for (p = text; (p = strstr(p, line)); p += n)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

static void test_fresh(void **state)
{
	struct fx x;
	struct lockplan p;
	char sha[SHA256_HEX_LEN];

	(void)state;
	base(&x);
	plan(&x, &p);
	assert_true(p.fresh && p.file_wanted && p.forget_on_restore);
	assert_memory_equal(p.orig, ORIG, strlen(ORIG));
	/* the file: the header, the owner's way in, the standbys', rejects */
	assert_non_null(strstr(p.text, "# pg_hba.conf written by pgevict lockdown at 2025-12-01T00:00:00.000000Z.\n"));
	assert_non_null(strstr(p.text, "# The original is kept in " STATE_DIR "/original;"));
	assert_true(has_line(p.text, "host    all             all             0.0.0.0/0               reject"));
	assert_non_null(strstr(p.text, "10.2.0.0/16"));
	assert_true(p.parsed.nlines > 0);
	/* the probe: TCP on 127.0.0.1, refused; the owner still let in */
	assert_string_equal(p.probe.host, "127.0.0.1");
	assert_string_equal(p.probe.user, LOCKPLAN_PROBE_USER);
	assert_int_equal(p.probe.expect, LKE_REFUSED);
	assert_int_equal(p.probe.owner, LKO_ADMITTED);
	/* the record */
	assert_string_equal(p.rec.phase, "locking");
	assert_string_equal(p.rec.data_dir, "/srv/pg");
	assert_string_equal(p.rec.hba_file, "/srv/pg/pg_hba.conf");
	assert_true(p.rec.file_locked && !p.rec.proven && !p.rec.total);
	assert_int_equal(p.rec.mode, 0640);
	assert_int_equal(p.rec.uid, 26);
	assert_true(p.rec.hba_dir_known);
	assert_int_equal(p.rec.hba_dir_ino, 77);
	assert_int_equal(p.rec.probe_before, -1);
	assert_int_equal(p.rec.since_us, x.f.now_us);
	sha256_hex(ORIG, strlen(ORIG), sha);
	assert_string_equal(p.rec.original_sha, sha);
	sha256_hex(p.text, strlen(p.text), sha);
	assert_string_equal(p.rec.lockdown_sha, sha);
	assert_string_equal(p.rec.probe_host, "127.0.0.1");
	assert_false(p.kick_refused);
	lockplan_free(&p);
}

static void test_options(void **state)
{
	struct fx x;
	struct lockplan p;

	(void)state;
	/* --total: no way in, the owner refused too, standbys dropped */
	base(&x);
	total(&x);
	plan(&x, &p);
	assert_true(p.rec.total);
	assert_int_equal(p.probe.owner, LKO_REFUSED);
	assert_null(strstr(p.text, "peer"));
	assert_null(strstr(p.text, "10.2.0.0/16"));
	lockplan_free(&p);
	/* --allow-role app: narrowed from the original's lines */
	base(&x);
	allow_role(&x);
	plan(&x, &p);
	assert_int_equal(p.rec.nallow_roles, 1);
	assert_string_equal(p.rec.allow_roles[0], "app");
	assert_non_null(strstr(p.text, "app"));
	assert_string_equal(p.probe.host, "127.0.0.1");
	lockplan_free(&p);
	/* --allow-host 127.0.0.1/32 lets the TCP probe in: the Unix socket proves it */
	base(&x);
	allow_host_lo(&x);
	plan(&x, &p);
	assert_string_equal(p.probe.host, "");
	assert_string_equal(p.rec.probe_host, "");
	assert_string_equal(p.rec.allow_hosts[0], "127.0.0.1/32");
	lockplan_free(&p);
	/* --dry-run: the file, no steps */
	base(&x);
	dry_run(&x);
	x.f.opts.kick = true;
	plan(&x, &p);
	assert_non_null(p.text);
	assert_true(p.kick_refused == false && p.nops == 0);
	lockplan_free(&p);
	/* --kick */
	base(&x);
	x.f.opts.kick = true;
	plan(&x, &p);
	assert_true(p.kick_refused && p.kick_dbs);
	lockplan_free(&p);
	/* an original PostgreSQL refuses: said, and its lines not kept */
	base(&x);
	broken_orig(&x);
	plan(&x, &p);
	assert_int_equal(p.nnotes, 1);
	assert_string_equal(p.notes[0], "'/srv/pg/pg_hba.conf' line 1: invalid connection type \"hots\"; standbys' "
			    "lines cannot be kept");
	lockplan_free(&p);
}

static void test_second(void **state)
{
	struct fx x;
	struct lockplan p;

	(void)state;
	base(&x);
	second_allow(&x);
	/* the file on disk is the first lockdown's: the new one is built
	 * from the saved original, the record's time and facts are kept */
	plan(&x, &p);
	assert_false(p.fresh);
	assert_memory_equal(p.orig, ORIG, strlen(ORIG));
	assert_string_equal(p.rec.original_sha, x.saved.original_sha);
	assert_int_equal(p.rec.probe_before, PROBE_PASSED);
	assert_non_null(strstr(p.text, "app"));
	assert_string_not_equal(p.rec.lockdown_sha, x.saved.lockdown_sha);
	assert_string_equal(p.prev.lockdown_sha, x.saved.lockdown_sha);
	assert_false(p.forget_on_restore);
	lockplan_free(&p);
	fx_free(&x);
	/* a second --allow-role app adds nothing twice */
	base(&x);
	second_allow(&x);
	free(x.saved.allow_roles);           /* none yet */
	x.saved.allow_roles = calloc(2, sizeof(char *));
	x.saved.allow_roles[0] = strdup("app");
	x.saved.nallow_roles = 1;
	plan(&x, &p);
	assert_int_equal(p.rec.nallow_roles, 1);
	lockplan_free(&p);
	fx_free(&x);
}

static void test_target(void **state)
{
	struct fx x;
	char *path = NULL, *msg = NULL;

	(void)state;
	base(&x);
	/* the data directory's file, discovery's, --hba-file's */
	assert_int_equal(lockplan_target(&x.f.cluster, &x.f.opts, NULL, STATE_DIR, &path, &msg), 0);
	assert_string_equal(path, "/srv/pg/pg_hba.conf");
	free(path);
	x.f.cluster.hba_file = "/etc/postgresql/15/main/pg_hba.conf";
	assert_int_equal(lockplan_target(&x.f.cluster, &x.f.opts, NULL, STATE_DIR, &path, &msg), 0);
	assert_string_equal(path, "/etc/postgresql/15/main/pg_hba.conf");
	free(path);
	x.f.opts.hba_file = "/srv/other/hba";
	assert_int_equal(lockplan_target(&x.f.cluster, &x.f.opts, NULL, STATE_DIR, &path, &msg), 0);
	assert_string_equal(path, "/srv/other/hba");
	free(path);
	/* a record of another file: name it */
	x.f.opts.hba_file = NULL;
	x.f.cluster.hba_file = NULL;
	locked(&x);
	x.f.opts.hba_file = "/srv/other/hba";
	assert_int_equal(lockplan_target(&x.f.cluster, &x.f.opts, &x.saved, STATE_DIR, &path, &msg), 2);
	assert_null(path);
	assert_non_null(strstr(msg, "name the recorded one with --hba-file '/srv/pg/pg_hba.conf'"));
	free(msg);
	/* discovery cannot tell: the recorded file */
	x.f.opts.hba_file = NULL;
	x.f.cluster.hba_conflict = "postgresql.auto.conf and the server disagree";
	assert_int_equal(lockplan_target(&x.f.cluster, &x.f.opts, &x.saved, STATE_DIR, &path, &msg), 0);
	assert_string_equal(path, "/srv/pg/pg_hba.conf");
	free(path);
	/* a record of another data directory */
	x.f.cluster.key = "/srv/pg2";
	assert_int_equal(lockplan_target(&x.f.cluster, &x.f.opts, &x.saved, STATE_DIR, &path, &msg), 1);
	assert_string_equal(msg, "'" STATE_DIR "/state.json' is the state of the data directory '/srv/pg', not of "
			    "'/srv/pg2'; it is left as it is");
	free(msg);
	fx_free(&x);
}

static void test_check_opts(void **state)
{
	struct fx x;
	char *msg = NULL;

	(void)state;
	base(&x);
	assert_int_equal(lockplan_check_opts(&x.f.cluster, &x.f.opts, &msg), 0);
	assert_null(msg);
	total(&x);
	allow_role(&x);
	assert_int_equal(lockplan_check_opts(&x.f.cluster, &x.f.opts, &msg), 2);
	assert_string_equal(msg, "--total refuses everyone; it cannot be combined with --allow-role or --allow-host");
	free(msg);
	base(&x);
	x.f.cluster.hba_conflict = "hba_file differs";
	assert_int_equal(lockplan_check_opts(&x.f.cluster, &x.f.opts, &msg), 2);
	assert_string_equal(msg, "hba_file differs; name the file PostgreSQL reads with --hba-file PATH (or let "
			    "pgevict ask it: drop --no-sql)");
	free(msg);
	x.f.opts.hba_file = "/srv/pg/pg_hba.conf";
	assert_int_equal(lockplan_check_opts(&x.f.cluster, &x.f.opts, &msg), 0);
}

static void test_unlock(void **state)
{
	struct fx x;
	struct lockplan p;

	(void)state;
	base(&x);
	ul_broken(&x);
	plan(&x, &p);
	/* a broken original is still the original: written back as it was */
	assert_int_equal(p.status, 0);
	assert_int_equal(p.orig_len, strlen("hots all all trust\n"));
	assert_memory_equal(p.orig, "hots all all trust\n", p.orig_len);
	assert_string_equal(p.rec.phase, "unlocking");
	/* the probe must get what it got before */
	assert_int_equal(p.probe.expect, LKE_AS_BEFORE);
	assert_int_equal(p.probe.before, PROBE_PASSED);
	assert_string_equal(p.probe.host, "127.0.0.1");
	lockplan_free(&p);
	fx_free(&x);
	/* before: pg_hba refused already, or no slot: anything but a reject */
	base(&x);
	ul_plain(&x);
	x.saved.probe_before = PROBE_SLOTS;
	plan(&x, &p);
	assert_int_equal(p.probe.expect, LKE_NOT_REFUSED);
	lockplan_free(&p);
	x.saved.probe_before = -1;
	plan(&x, &p);
	assert_int_equal(p.probe.expect, LKE_NOT_REFUSED);
	lockplan_free(&p);
	fx_free(&x);
}

static void test_rollback_record(void **state)
{
	struct fx x;
	struct lockplan p;
	struct lockstate live, back;

	(void)state;
	/* a first lockdown with nothing else: no record */
	base(&x);
	plan(&x, &p);
	assert_int_equal(lockplan_rollback_record(&p, &p.rec, &back), 1);
	lockplan_free(&p);
	/* a first lockdown with --role: the locks stay recorded, the file not */
	base(&x);
	role_only(&x);
	total(&x);
	plan(&x, &p);
	assert_false(p.forget_on_restore);
	assert_int_equal(lockstate_copy(&p.rec, &live), 0);
	free(live.roles);                    /* none yet */
	live.roles = calloc(1, sizeof(*live.roles));
	live.roles[0] = (struct lock_item){ strdup("bob"), true, true };
	live.nroles = 1;
	assert_int_equal(lockplan_rollback_record(&p, &live, &back), 0);
	assert_false(back.file_locked);
	assert_string_equal(back.phase, "locked");
	assert_int_equal(back.nroles, 1);
	lockstate_clear(&back);
	lockplan_free(&p);
	/* a second lockdown: the record as it was, with this run's ALTERs */
	base(&x);
	second(&x);
	plan(&x, &p);
	assert_int_equal(lockplan_rollback_record(&p, &live, &back), 0);
	assert_string_equal(back.lockdown_sha, x.saved.lockdown_sha);
	assert_false(back.total);
	assert_string_equal(back.phase, "locked");
	assert_int_equal(back.nroles, 1);
	assert_string_equal(back.roles[0].name, "bob");
	assert_true(back.roles[0].applied);
	lockstate_clear(&back);
	lockstate_clear(&live);
	lockplan_free(&p);
	fx_free(&x);
}

static void test_kick_list(void **state)
{
	struct fx x;
	struct lockplan p;
	struct pg_cluster c = { 0 }, other = { 0 };
	struct session s[5];
	const struct session **v = NULL;
	size_t unknown = 0;

	(void)state;
	memset(s, 0, sizeof(s));
	for (size_t i = 0; i < ARRAY_SIZE(s); i++) {
		s[i].cluster = &c;
		s[i].is_client = true;
		s[i].backend_type = "client backend";
		s[i].user = "app";
		s[i].database = "shop";
		s[i].transport = TRANSPORT_TCP;
		snprintf(s[i].client_addr, sizeof(s[i].client_addr), "127.0.0.1");
	}
	s[1].transport = TRANSPORT_UNIX;            /* the owner over the socket: kept */
	s[1].client_addr[0] = '\0';
	s[1].user = "postgres";
	s[2].user = NULL;                           /* cannot tell: kept, counted */
	s[3].cluster = &other;                      /* another cluster's */
	s[4].backend_type = "walsender";
	base(&x);
	plan(&x, &p);
	assert_int_equal(lockplan_kick_list(&p.parsed, &c, s, ARRAY_SIZE(s), &v, &unknown), 1);
	assert_ptr_equal(v[0], &s[0]);
	assert_int_equal(unknown, 1);
	free(v);
	lockplan_free(&p);
}

static void test_file_kind(void **state)
{
	struct fx x;
	char sha[SHA256_HEX_LEN];

	(void)state;
	base(&x);
	locked(&x);
	assert_string_equal(lockplan_file_kind(&x.saved, -ENOENT, ""), "missing");
	assert_string_equal(lockplan_file_kind(&x.saved, -EACCES, ""), "unreadable");
	assert_string_equal(lockplan_file_kind(NULL, 0, "x"), "original");
	sha256_hex(ORIG, strlen(ORIG), sha);
	assert_string_equal(lockplan_file_kind(&x.saved, 0, sha), "original");
	assert_string_equal(lockplan_file_kind(&x.saved, 0, x.saved.lockdown_sha), "lockdown");
	sha256_hex("x", 1, sha);
	assert_string_equal(lockplan_file_kind(&x.saved, 0, sha), "other");
	fx_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_fresh),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_second),
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_check_opts),
		cmocka_unit_test(test_unlock),
		cmocka_unit_test(test_rollback_record),
		cmocka_unit_test(test_kick_list),
		cmocka_unit_test(test_file_kind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
