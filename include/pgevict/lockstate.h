/* SPDX-License-Identifier: MIT */
/*
 * lockstate.h -- what a lockdown changed, kept on disk (adapter: files).
 *
 * Owns pgevict's state directory (default /var/lib/pgevict): one
 * subdirectory per cluster (lockdir_name: a readable prefix of its data
 * directory plus a hash of the whole path, so two paths never share one)
 * holding a
 * lock (flock, so a run killed with -9 never leaves it held), the
 * original pg_hba.conf byte for byte, and state.json, the record that says
 * what is locked.  Every write goes through fileio.h's file_replace, so
 * after a crash at any system call a reader sees the old bytes or the new.
 * Needs root for the default directory and for other users' files.
 */
#ifndef PGEVICT_LOCKSTATE_H
#define PGEVICT_LOCKSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "pgevict/fileio.h"
#include "pgevict/lockplan.h"

#define LOCKSTATE_DEFAULT_DIR "/var/lib/pgevict"

/* struct lockstate, the record, and lockstate_clear: lockplan.h (core). */

/* The name of DATA_DIR's state directory, malloc'd: e.g. "/srv/pg-main"
 * -> "srv-pg_main.3f2a9c1e5b7d4a60".  NULL when out of memory. */
char *lockdir_name(const char *data_dir);

struct lockdir {
	char *path;                  /* ROOT/lockdir_name(data directory) */
	int lock_fd;                 /* -1 when not locked */
};

/*
 * The state directory of the cluster in DATA_DIR under ROOT (created 0700
 * when CREATE).  With EXCLUSIVE, take its lock without waiting (-EAGAIN
 * when another run holds it); without, only look (*ret_busy tells whether
 * a run holds it).  A directory of the naming before 0.2 whose state.json
 * names exactly DATA_DIR is moved to the new name first.  The caller
 * checks that the state loaded names DATA_DIR.  0, -ENOENT (no directory
 * and !CREATE), -errno.  Close with lockdir_close.
 */
int lockdir_open(const char *root, const char *data_dir, bool create, bool exclusive,
		 struct lockdir *ret, bool *ret_busy);
void lockdir_close(struct lockdir *d);

/* Load state.json: 0, -ENOENT when none, -EINVAL when damaged. */
int lockstate_load(const struct lockdir *d, struct lockstate *ret);

/* The lock's options as the JSON that status and lockdown print:
 * {"total", "allow_role", "allow_host", "role", "database"}. */
struct json_object;
struct json_object *lockstate_options_json(const struct lockstate *s);

/* Write state.json atomically.  0 or -errno. */
int lockstate_save(const struct lockdir *d, const struct lockstate *s);

/* Remove state.json (the commit point of "unlocked"), then the saved
 * original.  0 or -errno. */
int lockstate_remove(const struct lockdir *d);

/* The saved original: write it (atomically, 0600) or read it back. */
int lockstate_save_original(const struct lockdir *d, const void *data, size_t len);
int lockstate_read_original(const struct lockdir *d, char **ret, size_t *ret_len);

/* Keep a copy of a file that unlock is about to replace because neither
 * pgevict nor the original wrote it; *ret_path (malloc'd) says where. */
int lockstate_keep_displaced(const struct lockdir *d, const void *data, size_t len, char **ret_path);

#endif
