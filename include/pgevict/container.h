/* SPDX-License-Identifier: MIT */
/*
 * container.h -- which container a process is in, from the text of its
 * /proc/PID/cgroup (core, no I/O).
 *
 * Owns the cgroup path forms that container runtimes create and the
 * "RUNTIME:ID" spelling of a container on the command line.  It never
 * asks a runtime (no docker, podman or lxc call): the kernel's cgroup
 * file is the only source, so the answer is what the cgroup tree says,
 * not what a runtime's database says.  Reading the file, and what to do
 * with a process whose file cannot be judged, is the caller's business.
 *
 * A cgroup path is chosen by whoever creates the cgroup: the host's
 * runtime for the container's own cgroup, but root inside a container
 * with a delegated cgroup tree, or a user below their user@UID.service,
 * for what lies under it.  The parser is therefore strict (exact shapes,
 * validated ids, anything doubtful refused) and takes the OUTERMOST
 * container along the path: the one the host's runtime made and the host
 * operator sees in `docker ps` or `lxc-ls`.  A container nested in it
 * (docker in docker, docker in LXC, kind) is not reported; its cgroup
 * name is chosen by the outer container's root, who is not trusted.
 */
#ifndef PGEVICT_CONTAINER_H
#define PGEVICT_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>

/* The longest id: 64 hex digits, or an LXC name of at most 64 bytes. */
#define CONTAINER_ID_MAX 64
/* A buffer for container_label: "containerd:" + 12 hex, or "lxc:" + name. */
#define CONTAINER_LABEL_MAX (sizeof("lxc:") + CONTAINER_ID_MAX)

enum container_runtime {
	CONTAINER_NONE = 0,     /* not in a container this module knows */
	CONTAINER_DOCKER,
	CONTAINER_PODMAN,
	CONTAINER_CONTAINERD,   /* CRI (Kubernetes) or nerdctl */
	CONTAINER_CRIO,
	CONTAINER_LXC,          /* LXC and LXD */
};

struct container_ref {
	enum container_runtime runtime;
	/* 64 lowercase hex digits for docker, podman, containerd and cri-o;
	 * the container's name for LXC; "" for CONTAINER_NONE */
	char id[CONTAINER_ID_MAX + 1];
};

/*
 * Judge the LEN bytes of /proc/PID/cgroup at TEXT (no NUL needed; nothing
 * past LEN is read).  Lines are "ID:CONTROLLERS:/PATH": cgroup v1
 * ("4:cpu,cpuacct:/docker/...", "1:name=systemd:/..."), v2 ("0::/..."),
 * or both (hybrid).  Every line must be well formed and end in a newline,
 * as the kernel writes them (a missing last newline means a truncated
 * read).  Lines that name no container do not count; lines that name two
 * different containers make the text doubtful.
 *
 * Returns 0 and fills *ret (ret->runtime is CONTAINER_NONE when the
 * process is in no container known here), or -EINVAL when the text is
 * malformed or doubtful: then *ret is CONTAINER_NONE, which the caller
 * must read as "cannot tell", never as "on the host".  No root needed.
 */
int container_from_cgroup(const char *text, size_t len, struct container_ref *ret);

/* "docker", "podman", "containerd", "cri-o", "lxc"; NULL for
 * CONTAINER_NONE or a value out of range.  Static. */
const char *container_runtime_name(enum container_runtime runtime);

/*
 * Does SPEC name REF?  SPEC is "ID" or "RUNTIME:ID" (RUNTIME exactly as
 * container_runtime_name spells it).  For the hex runtimes ID is the full
 * id or a prefix of at least 12 lowercase hex digits (docker's short id);
 * for LXC, exactly the name.  False for CONTAINER_NONE or a NULL SPEC.
 * The caller decides what to do when several containers match.
 */
bool container_matches(const struct container_ref *ref, const char *spec);

/*
 * A short label for tables into BUF (LEN bytes, CONTAINER_LABEL_MAX is
 * always enough; truncated otherwise, always terminated when LEN > 0):
 * "docker:0123456789ab" (the first 12 hex digits, which
 * container_matches accepts back), "lxc:NAME", "" for CONTAINER_NONE.
 * An LXC name is printable ASCII, but the caller escapes it like any
 * other outside string before a terminal.
 */
void container_label(const struct container_ref *ref, char *buf, size_t len);

#endif
