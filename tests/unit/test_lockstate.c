/* SPDX-License-Identifier: MIT */
/*
 * test_lockstate.c -- lockstate.h on a scratch state directory, no root:
 * the names of state directories (two data directories that differ only
 * in '-' and '_' get two; a long path stays a valid name), the adoption of
 * a directory of the naming before 0.2 only when its record names the
 * same data directory, the record saved and loaded back field by field,
 * a damaged state.json refused (-EINVAL) and left as it is, the lock held
 * by one run at a time, the saved original and the displaced copies, and
 * the removal that unlocks.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "pgevict/lockstate.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#include "scratch.h"

static char **strs(const char *a, const char *b)
{
	char **v = calloc(3, sizeof(char *));

	v[0] = strdup(a);
	v[1] = b ? strdup(b) : NULL;
	return v;
}

/* A record with every field set. */
static void full_record(struct lockstate *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->phase, sizeof(s->phase), "locking");
	s->since_us = 1764547200123456;
	s->data_dir = strdup("/srv/pg main");
	s->hba_file = strdup("/etc/postgresql/15/main/pg_hba.conf");
	s->file_locked = true;
	s->hba_dir_known = true;
	s->hba_dir_dev = 2049;
	s->hba_dir_ino = 1234567;
	s->mode = 0640;
	s->uid = 106;
	s->gid = 112;
	memset(s->original_sha, 'a', SHA256_HEX_LEN - 1);
	memset(s->lockdown_sha, 'b', SHA256_HEX_LEN - 1);
	s->total = false;
	s->allow_roles = strs("app", "r\"q");
	s->nallow_roles = 2;
	s->allow_hosts = strs("10.0.0.0/8", NULL);
	s->nallow_hosts = 1;
	snprintf(s->probe_host, sizeof(s->probe_host), "::1");
	s->probe_before = 2;
	s->proven = true;
	s->roles = calloc(1, sizeof(*s->roles));
	s->roles[0] = (struct lock_item){ strdup("bob"), true, true };
	s->nroles = 1;
	s->dbs = calloc(2, sizeof(*s->dbs));
	s->dbs[0] = (struct lock_item){ strdup("shop"), true, false };
	s->dbs[1] = (struct lock_item){ strdup("old"), false, true };
	s->ndbs = 2;
}

static void test_names(void **state)
{
	char *a = lockdir_name("/srv/pg-main"), *b = lockdir_name("/srv/pg_main"), *l;
	char longp[600];

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_string_not_equal(a, b);
	assert_int_equal(strncmp(a, "srv-pg_main.", 12), 0);
	assert_int_equal(strlen(a), 12 + 16);
	free(a);
	free(b);
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	l = lockdir_name(longp);
	assert_non_null(l);
	assert_true(strlen(l) < 255);
	free(l);
	/* a container's key, a dot first: never a hidden or a path name */
	a = lockdir_name("mnt:4026532000:/var/lib/postgresql/15/main");
	assert_non_null(a);
	assert_null(strchr(a, '/'));
	free(a);
	a = lockdir_name("/.hidden");
	assert_true(a[0] != '.');
	free(a);
}

static void test_adopt(void **state)
{
	struct lockdir d = { NULL, -1 };
	struct lockstate s, got;
	char *name;
	struct stat st;

	(void)state;
	/* a lockdown in force under the old name of /srv/pg-main */
	assert_int_equal(mkdir(at("sd"), 0700), 0);
	assert_int_equal(mkdir(at("sd/srv-pg_main"), 0700), 0);
	memset(&s, 0, sizeof(s));
	snprintf(s.phase, sizeof(s.phase), "locked");
	s.data_dir = strdup("/srv/pg_main");
	s.hba_file = strdup("/srv/pg_main/pg_hba.conf");
	s.hba_dir_known = true;
	s.hba_dir_dev = 42;
	s.hba_dir_ino = 4242;
	d.path = strdup(at("sd/srv-pg_main"));
	assert_int_equal(lockstate_save(&d, &s), 0);
	lockdir_close(&d);
	/* /srv/pg-main shares the old name: that state is never its own */
	assert_int_equal(lockdir_open(at("sd"), "/srv/pg-main", true, true, &d, NULL), 0);
	assert_int_equal(lockstate_load(&d, &got), -ENOENT);
	lockdir_close(&d);
	assert_int_equal(stat(at("sd/srv-pg_main/state.json"), &st), 0);
	/* /srv/pg_main: moved to the new name, fields kept */
	assert_int_equal(lockdir_open(at("sd"), "/srv/pg_main", false, true, &d, NULL), 0);
	name = lockdir_name("/srv/pg_main");
	assert_non_null(strstr(d.path, name));
	free(name);
	memset(&got, 0, sizeof(got));
	assert_int_equal(lockstate_load(&d, &got), 0);
	assert_string_equal(got.data_dir, "/srv/pg_main");
	assert_true(got.hba_dir_known);
	assert_int_equal(got.hba_dir_dev, 42);
	assert_int_equal(got.hba_dir_ino, 4242);
	assert_int_equal(stat(at("sd/srv-pg_main"), &st), -1);
	lockstate_clear(&got);
	lockstate_clear(&s);
	lockdir_close(&d);
}

static void test_round_trip(void **state)
{
	struct lockdir d = { NULL, -1 };
	struct lockstate s, got;
	struct stat st;
	size_t i;

	(void)state;
	assert_int_equal(lockdir_open(at("rt"), "/srv/pg main", true, true, &d, NULL), 0);
	assert_int_equal(lockstate_load(&d, &got), -ENOENT);
	full_record(&s);
	assert_int_equal(lockstate_save(&d, &s), 0);
	memset(&got, 0, sizeof(got));
	assert_int_equal(lockstate_load(&d, &got), 0);
	assert_string_equal(got.phase, s.phase);
	assert_true(got.since_us == s.since_us);
	assert_string_equal(got.data_dir, s.data_dir);
	assert_string_equal(got.hba_file, s.hba_file);
	assert_true(got.file_locked && got.hba_dir_known && got.proven && !got.total);
	assert_int_equal(got.hba_dir_dev, 2049);
	assert_int_equal(got.hba_dir_ino, 1234567);
	assert_int_equal(got.mode, 0640);
	assert_int_equal(got.uid, 106);
	assert_int_equal(got.gid, 112);
	assert_string_equal(got.original_sha, s.original_sha);
	assert_string_equal(got.lockdown_sha, s.lockdown_sha);
	assert_int_equal(got.nallow_roles, 2);
	assert_string_equal(got.allow_roles[1], "r\"q");
	assert_int_equal(got.nallow_hosts, 1);
	assert_string_equal(got.allow_hosts[0], "10.0.0.0/8");
	assert_string_equal(got.probe_host, "::1");
	assert_int_equal(got.probe_before, 2);
	assert_int_equal(got.nroles, 1);
	assert_string_equal(got.roles[0].name, "bob");
	assert_true(got.roles[0].was && got.roles[0].applied);
	assert_int_equal(got.ndbs, 2);
	for (i = 0; i < 2; i++) {
		assert_string_equal(got.dbs[i].name, s.dbs[i].name);
		assert_int_equal(got.dbs[i].was, s.dbs[i].was);
		assert_int_equal(got.dbs[i].applied, s.dbs[i].applied);
	}
	/* root's alone */
	assert_int_equal(stat(at("rt"), &st), 0);
	assert_int_equal(stat(d.path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	lockstate_clear(&got);
	/* a record of before 0.2 (no directory recorded) loads too */
	s.hba_dir_known = false;
	assert_int_equal(lockstate_save(&d, &s), 0);
	assert_int_equal(lockstate_load(&d, &got), 0);
	assert_false(got.hba_dir_known);
	lockstate_clear(&got);
	/* what status and lockdown print of it */
	{
		json_object *o = lockstate_options_json(&s);
		assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
				    "{\"total\":false,\"allow_role\":[\"app\",\"r\\\"q\"],\"allow_host\":[\"10.0.0.0\\/8\"],"
				    "\"role\":[\"bob\"],\"database\":[\"shop\",\"old\"]}");
		json_object_put(o);
	}
	lockstate_clear(&s);
	lockdir_close(&d);
}

/* state.json as another program, a disk or a hand left it. */
static const struct {
	const char *name;
	const char *text;            /* NULL: a valid record with FIELD replaced */
	const char *field, *value;
} damaged[] = {
	{ "empty", "", NULL, NULL },
	{ "not JSON", "{\"version\": 1, \"phase\": ", NULL, NULL },
	{ "an array", "[1, 2]", NULL, NULL },
	{ "NUL byte", "{\"version\": 1}\n", NULL, NULL },
	{ "version 2", NULL, "version", "2" },
	{ "phase too long", NULL, "phase", "\"lockinglockinglocking\"" },
	{ "phase a number", NULL, "phase", "3" },
	{ "no data_dir", NULL, "data_dir", NULL },
	{ "file_locked a string", NULL, "file_locked", "\"yes\"" },
	{ "sha too long", NULL, "original_sha256",
	  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"" },
	{ "probe_host too long", NULL, "probe_host",
	  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"" },
	{ "allow_role not a list", NULL, "allow_role", "\"app\"" },
	{ "allow_role of numbers", NULL, "allow_role", "[1]" },
	{ "a role without a name", NULL, "roles", "[{\"was\": true, \"applied\": true}]" },
	{ "a role without was", NULL, "roles", "[{\"name\": \"bob\", \"applied\": true}]" },
	{ "half a directory", NULL, "hba_dir_dev", "\"x\"" },
};

static void test_damaged(void **state)
{
	struct lockdir d = { NULL, -1 };
	struct lockstate s, got;
	json_object *good;
	char path[300];
	size_t i;

	(void)state;
	assert_int_equal(lockdir_open(at("dm"), "/srv/pg", true, true, &d, NULL), 0);
	full_record(&s);
	assert_int_equal(lockstate_save(&d, &s), 0);
	lockstate_clear(&s);
	snprintf(path, sizeof(path), "%s/state.json", d.path);
	good = json_object_from_file(path);
	assert_non_null(good);
	for (i = 0; i < ARRAY_SIZE(damaged); i++) {
		json_object *o = NULL;
		char *text;

		if (damaged[i].text && strcmp(damaged[i].name, "NUL byte") == 0) {
			FILE *f = fopen(path, "w");
			assert_non_null(f);
			assert_int_equal(fwrite("{\"vers\0ion\": 1}", 1, 15, f), 15);
			assert_int_equal(fclose(f), 0);
		} else if (damaged[i].text) {
			put(path, damaged[i].text);
		} else {
			text = strdup(json_object_to_json_string(good));
			o = json_tokener_parse(text);
			free(text);
			json_object_object_del(o, damaged[i].field);
			if (damaged[i].value)
				json_object_object_add(o, damaged[i].field, json_tokener_parse(damaged[i].value));
			if (strcmp(damaged[i].field, "hba_dir_dev") == 0)
				json_object_object_del(o, "hba_dir_ino");
			put(path, json_object_to_json_string(o));
			json_object_put(o);
		}
		memset(&got, 0, sizeof(got));
		if (lockstate_load(&d, &got) != -EINVAL)
			fail_msg("%s: loaded", damaged[i].name);
		/* left as it is, for the operator to read */
		assert_int_equal(access(path, F_OK), 0);
	}
	json_object_put(good);
	lockdir_close(&d);
}

static void test_lock(void **state)
{
	struct lockdir a = { NULL, -1 }, b = { NULL, -1 };
	bool busy = true;

	(void)state;
	/* none yet: looking finds nothing, creates nothing */
	assert_int_equal(lockdir_open(at("lk"), "/srv/pg", false, false, &a, &busy), -ENOENT);
	assert_false(busy);
	assert_int_equal(access(at("lk"), F_OK), -1);
	assert_int_equal(lockdir_open(at("lk"), "/srv/pg", true, true, &a, NULL), 0);
	assert_true(a.lock_fd >= 0);
	/* one run at a time; a look says a run holds it */
	assert_int_equal(lockdir_open(at("lk"), "/srv/pg", true, true, &b, NULL), -EAGAIN);
	assert_int_equal(lockdir_open(at("lk"), "/srv/pg", false, false, &b, &busy), 0);
	assert_true(busy);
	assert_int_equal(b.lock_fd, -1);
	lockdir_close(&b);
	lockdir_close(&a);
	lockdir_close(&a);           /* twice: harmless */
	assert_int_equal(lockdir_open(at("lk"), "/srv/pg", false, true, &b, NULL), 0);
	lockdir_close(&b);
}

static void test_files(void **state)
{
	struct lockdir d = { NULL, -1 };
	struct lockstate s;
	char *buf = NULL, *kept1 = NULL, *kept2 = NULL, path[300];
	size_t len;
	struct stat st;

	(void)state;
	assert_int_equal(lockdir_open(at("fl"), "/srv/pg", true, true, &d, NULL), 0);
	assert_int_equal(lockstate_read_original(&d, &buf, &len), -ENOENT);
	assert_int_equal(lockstate_save_original(&d, "local all all peer\n\0tail", 25), 0);
	assert_int_equal(lockstate_read_original(&d, &buf, &len), 0);
	assert_int_equal(len, 25);
	assert_memory_equal(buf, "local all all peer\n\0tail", 25);
	free(buf);
	snprintf(path, sizeof(path), "%s/original", d.path);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* two copies kept aside never overwrite each other */
	assert_int_equal(lockstate_keep_displaced(&d, "one\n", 4, &kept1), 0);
	assert_int_equal(lockstate_keep_displaced(&d, "two\n", 4, &kept2), 0);
	assert_string_not_equal(kept1, kept2);
	assert_int_equal(strncmp(kept1, d.path, strlen(d.path)), 0);
	assert_int_equal(file_read_all(kept2, 0, &buf, &len, NULL), 0);
	assert_string_equal(buf, "two\n");
	free(buf);
	/* unlocked: the record, then the original, go; the copies stay */
	full_record(&s);
	assert_int_equal(lockstate_save(&d, &s), 0);
	lockstate_clear(&s);
	assert_int_equal(lockstate_remove(&d), 0);
	assert_int_equal(lockstate_load(&d, &s), -ENOENT);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(access(kept1, F_OK), 0);
	assert_int_equal(lockstate_remove(&d), 0);    /* nothing left: fine */
	free(kept1);
	free(kept2);
	lockdir_close(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_adopt),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_files),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
