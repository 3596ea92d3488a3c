/* SPDX-License-Identifier: MIT */
/*
 * postmaster.h -- is this process a postmaster (adapter: /proc and the
 * cluster's own files).
 *
 * Owns verifying a process that looks like a postmaster and loading what
 * its files say without SQL.  Reading other users' cwd and configuration
 * needs root; the configuration is read inside the postmaster's root with
 * its owner's file-system ids, never following a link out of it.
 */
#ifndef PGEVICT_POSTMASTER_H
#define PGEVICT_POSTMASTER_H

#include "pgevict/procfs.h"
#include "pgevict/session.h"

/*
 * Is E (with children) a postmaster?  1 and *ret when it is a verified
 * one (owner, version, hba_file, cluster_name, namespaces and container
 * filled), 2 and *ret (->unverified says why) when it only looks like one,
 * 0 when not, -ENOMEM.  Nothing of an unverified one is read beyond its
 * postmaster.pid.  Free *ret with cluster_free.  PROC_DIRFD: /proc.
 */
int postmaster_load(int proc_dirfd, const struct proc_entry *e, struct pg_cluster **ret);

#endif
