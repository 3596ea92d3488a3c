/* SPDX-License-Identifier: MIT */
/*
 * container.c -- which container a process is in, from /proc/PID/cgroup
 * (core, no I/O; see container.h).
 *
 * Owns the line syntax of /proc/PID/cgroup and the cgroup names that
 * container runtimes make.  Does not own reading the file, nor telling a
 * runtime's own name for a container (docker's "--name"): only ids and
 * LXC names are in a cgroup path.
 *
 * The file (kernel/cgroup/cgroup.c, proc_cgroup_show): one line per
 * hierarchy, "HIERARCHY_ID:CONTROLLERS:PATH\n".  v1 hierarchies list
 * their controllers and "name=NAME" ("1:name=systemd:/..."); the v2 line
 * is always "0::PATH".  PATH is relative to the reader's cgroup namespace
 * (a reader inside one sees "/.." components); a v2 cgroup removed under
 * a zombie gets " (deleted)" appended; a v1 line of an exiting task says
 * "/".  cgroup_mkdir and the rename paths refuse '\n' in a name "to
 * prevent making /proc/<pid>/cgroup unparsable", so a line is a line;
 * every other byte but '/' and NUL may be in a name.
 *
 * The container's cgroup, per runtime (each one read in the runtime's
 * source; HEX is the 64-hex-digit container id):
 *
 *   docker      cgroupfs driver: /docker/HEX (moby
 *               cmd/dockerd/daemon_systemd_unix.go: parent "docker", or
 *               "system.slice:docker:" for systemd, which runc's systemd
 *               driver turns into the unit PREFIX-NAME.scope, runc
 *               docs/systemd.md): .../docker-HEX.scope
 *   podman      systemd: .../libpod-HEX.scope, crun may add a "container"
 *               child under it; cgroupfs: .../libpod-HEX, and
 *               --cgroups=split: .../libpod-payload-HEX (containers/podman
 *               libpod/container.go, cGroupPath).  Root's live under
 *               machine.slice, rootless ones under
 *               user.slice/user-UID.slice/user@UID.service/.  Its monitor,
 *               libpod-conmon-HEX.scope (cgroupfs: .../conmon), is NOT
 *               the container.
 *   containerd  CRI with a systemd parent: .../cri-containerd-HEX.scope,
 *               with a cgroupfs parent: PARENT/HEX, where the kubelet's
 *               PARENT is /kubepods[/QOS]/podUID (containerd
 *               pkg/cri/.../podsandbox/helpers_linux.go, getCgroupsPath);
 *               nerdctl with systemd: .../nerdctl-HEX.scope (nerdctl
 *               generateCgroupPath, "slice:nerdctl:ID").
 *   cri-o       systemd: .../crio-HEX.scope, cgroupfs: PARENT/crio-HEX
 *               (cri-o internal/config/cgmgr systemd.go, cgroupfs.go);
 *               its monitor crio-conmon-HEX[.scope] is NOT the container.
 *   lxc         LXC 4 and later: /lxc.payload.NAME (lxc
 *               src/lxc/cgroups/cgroup.h DEFAULT_PAYLOAD_CGROUP_PREFIX,
 *               cgfsng.c cgfsng_payload_create), "-N" appended (1..999)
 *               when a stale cgroup of that name was in the way; older
 *               LXC's pattern "lxc/%n", and Proxmox's lxc/VMID: /lxc/NAME.
 *               lxc.monitor.NAME, lxc.monitor/NAME and lxc.pivot hold
 *               LXC's monitor, NOT the container.
 *
 * Recognised anywhere along the path (a runtime may be configured with
 * another parent), the outermost one wins (container.h says why).  Not
 * recognised, so CONTAINER_NONE: a runtime given a parent cgroup of the
 * operator's choosing with the cgroupfs driver (/my/parent/HEX),
 * containerd outside Kubernetes with cgroupfs (/NAMESPACE/HEX),
 * systemd-nspawn and virtual machines (machine-NAME.scope).  A bare HEX
 * under a Kubernetes pod is labelled containerd, the CRI's default;
 * cri-dockerd makes the same shape (its id still matches).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pgevict/container.h"

#define HEX_ID_LEN 64
#define SHORT_ID_LEN 12         /* docker's short id */

struct span {
	const char *p;
	size_t n;
};

static bool span_is(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool span_starts(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n >= n && memcmp(s.p, lit, n) == 0;
}

static bool is_lower_hex(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

static bool is_hex_id(struct span s)
{
	return s.n == HEX_ID_LEN && is_lower_hex(s.p, s.n);
}

/*
 * An LXC name we accept: 1..64 bytes of printable ASCII without blanks,
 * '/' (a path separator), ':' (our RUNTIME:ID separator) or '\\', and not
 * "." or "..".  LXC itself allows more; what is refused here makes the
 * text doubtful (-EINVAL) rather than guessed at.
 */
static bool is_lxc_name(struct span s)
{
	size_t i;

	if (s.n == 0 || s.n > CONTAINER_ID_MAX || span_is(s, ".") || span_is(s, ".."))
		return false;
	for (i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c <= 0x20 || c >= 0x7f || c == '/' || c == ':' || c == '\\')
			return false;
	}
	return true;
}

/* "pod" + the pod's UID as the kubelet's cgroupfs driver writes it: a
 * UUID (8-4-4-4-12 lowercase hex) or, for a static pod, 32 hex digits. */
static bool is_pod_dir(struct span s)
{
	static const size_t dash[] = { 8, 13, 18, 23 };
	const char *u = s.p + 3;
	size_t i, d = 0;

	if (!span_starts(s, "pod"))
		return false;
	if (s.n - 3 == 32)
		return is_lower_hex(u, 32);
	if (s.n - 3 != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (d < 4 && i == dash[d]) {
			if (u[i] != '-')
				return false;
			d++;
		} else if (!is_lower_hex(u + i, 1)) {
			return false;
		}
	}
	return true;
}

static void set_ref(struct container_ref *ref, enum container_runtime rt, struct span id)
{
	ref->runtime = rt;
	memcpy(ref->id, id.p, id.n);
	ref->id[id.n] = '\0';
}

/* PREFIX + HEX + SUFFIX exactly?  Then *ret_id is the HEX. */
static bool hex_between(struct span c, const char *prefix, const char *suffix, struct span *ret_id)
{
	size_t pn = strlen(prefix), sn = strlen(suffix);
	struct span id;

	if (c.n != pn + HEX_ID_LEN + sn || memcmp(c.p, prefix, pn) != 0 ||
	    memcmp(c.p + pn + HEX_ID_LEN, suffix, sn) != 0)
		return false;
	id = (struct span){ c.p + pn, HEX_ID_LEN };
	if (!is_hex_id(id))
		return false;
	*ret_id = id;
	return true;
}

/* Where a path component stands: what came before it on the path. */
struct walk {
	struct span prev;       /* the component before; n == 0 at the top */
	bool kubepods;          /* a "kubepods" component came before */
};

/*
 * Judge one component C.  0 with ref->runtime set when C is a container's
 * cgroup, 0 with CONTAINER_NONE when it is not, -EINVAL when it is an LXC
 * container whose name we refuse.
 */
static int judge_component(struct span c, const struct walk *w, struct container_ref *ref)
{
	static const struct {
		const char *prefix, *suffix;
		enum container_runtime rt;
	} shapes[] = {
		/* systemd drivers: the unit PREFIX-ID.scope */
		{ "docker-", ".scope", CONTAINER_DOCKER },
		{ "libpod-", ".scope", CONTAINER_PODMAN },
		{ "cri-containerd-", ".scope", CONTAINER_CONTAINERD },
		{ "nerdctl-", ".scope", CONTAINER_CONTAINERD },
		{ "crio-", ".scope", CONTAINER_CRIO },
		/* cgroupfs drivers */
		{ "libpod-", "", CONTAINER_PODMAN },
		{ "libpod-payload-", "", CONTAINER_PODMAN },
		{ "crio-", "", CONTAINER_CRIO },
	};
	struct span id;
	size_t i;

	ref->runtime = CONTAINER_NONE;
	/* "libpod-conmon-HEX.scope" and "crio-conmon-HEX" fail here: the
	 * part after the prefix must be exactly the hex id. */
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		if (hex_between(c, shapes[i].prefix, shapes[i].suffix, &id)) {
			set_ref(ref, shapes[i].rt, id);
			return 0;
		}
	if (is_hex_id(c) && span_is(w->prev, "docker")) {
		set_ref(ref, CONTAINER_DOCKER, c);
		return 0;
	}
	if (is_hex_id(c) && w->kubepods && is_pod_dir(w->prev)) {
		set_ref(ref, CONTAINER_CONTAINERD, c);
		return 0;
	}
	if (span_starts(c, "lxc.payload.")) {
		id = (struct span){ c.p + 12, c.n - 12 };
		if (!is_lxc_name(id))
			return -EINVAL;
		set_ref(ref, CONTAINER_LXC, id);
		return 0;
	}
	/* lxc/NAME; lxc/lxc.monitor.NAME and the like (lxc.cgroup.dir=lxc)
	 * are LXC's own, not a container's name */
	if (span_is(w->prev, "lxc") && !span_starts(c, "lxc.")) {
		if (!is_lxc_name(c))
			return -EINVAL;
		set_ref(ref, CONTAINER_LXC, c);
	}
	return 0;
}

/*
 * Judge PATH (without the " (deleted)" mark): components between '/',
 * none empty.  The first container found is the answer; the rest of the
 * path is still checked for its form.
 */
static int judge_path(struct span path, struct container_ref *ret)
{
	struct walk w = { { NULL, 0 }, false };
	struct container_ref here;
	size_t i = 1, start;
	int r;

	ret->runtime = CONTAINER_NONE;
	ret->id[0] = '\0';
	if (path.n == 0 || path.p[0] != '/')
		return -EINVAL;
	if (path.n == 1)
		return 0;               /* the root cgroup */
	while (i <= path.n) {
		struct span c;
		start = i;
		while (i < path.n && path.p[i] != '/')
			i++;
		c = (struct span){ path.p + start, i - start };
		if (c.n == 0)
			return -EINVAL; /* "//" or a trailing '/' */
		if (ret->runtime == CONTAINER_NONE) {
			if ((r = judge_component(c, &w, &here)) < 0)
				return r;
			if (here.runtime != CONTAINER_NONE)
				*ret = here;
		}
		if (span_is(c, "kubepods"))
			w.kubepods = true;
		w.prev = c;
		i++;                    /* past the '/' (or the end) */
	}
	return 0;
}

/* CONTROLLERS: empty for v2 (ID 0), else a comma list of controller
 * names and name=NAME, as the kernel prints them. */
static bool controllers_ok(struct span s, bool v2)
{
	size_t i;

	if (v2)
		return s.n == 0;
	if (s.n == 0)
		return false;
	for (i = 0; i < s.n; i++) {
		char c = s.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-' || c == ',' || c == '='))
			return false;
	}
	return true;
}

/* One line, without its newline. */
static int judge_line(struct span line, struct container_ref *ret)
{
	static const char deleted[] = " (deleted)";
	const char *p = line.p, *end = line.p + line.n, *c1, *c2;
	struct span path;
	bool v2;

	/* HIERARCHY_ID: decimal, no sign, no leading zero, at most 10 digits */
	c1 = memchr(p, ':', line.n);
	if (!c1 || c1 == p || c1 - p > 10 || (*p == '0' && c1 - p > 1))
		return -EINVAL;
	for (; p < c1; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	v2 = c1 - line.p == 1 && line.p[0] == '0';
	c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
	if (!c2 || !controllers_ok((struct span){ c1 + 1, (size_t)(c2 - c1 - 1) }, v2))
		return -EINVAL;
	path = (struct span){ c2 + 1, (size_t)(end - c2 - 1) };
	if (v2 && path.n > sizeof(deleted) - 1 &&
	    memcmp(path.p + path.n - (sizeof(deleted) - 1), deleted, sizeof(deleted) - 1) == 0)
		path.n -= sizeof(deleted) - 1;
	return judge_path(path, ret);
}

int container_from_cgroup(const char *text, size_t len, struct container_ref *ret)
{
	struct container_ref found = { CONTAINER_NONE, "" }, here;
	size_t pos = 0;
	int r;

	*ret = found;
	if (!text || len == 0 || text[len - 1] != '\n' || memchr(text, '\0', len))
		return -EINVAL;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		struct span line = { text + pos, (size_t)(nl - (text + pos)) };

		pos += line.n + 1;
		if ((r = judge_line(line, &here)) < 0)
			return r;
		if (here.runtime == CONTAINER_NONE)
			continue;
		if (found.runtime == CONTAINER_NONE)
			found = here;
		else if (found.runtime != here.runtime || strcmp(found.id, here.id) != 0)
			return -EINVAL; /* two hierarchies, two containers */
	}
	*ret = found;
	return 0;
}

static const char *const runtime_names[] = {
	[CONTAINER_DOCKER] = "docker",
	[CONTAINER_PODMAN] = "podman",
	[CONTAINER_CONTAINERD] = "containerd",
	[CONTAINER_CRIO] = "cri-o",
	[CONTAINER_LXC] = "lxc",
};

const char *container_runtime_name(enum container_runtime runtime)
{
	if ((unsigned)runtime >= sizeof(runtime_names) / sizeof(runtime_names[0]))
		return NULL;
	return runtime_names[runtime];
}

bool container_matches(const struct container_ref *ref, const char *spec)
{
	const char *id = spec, *colon, *name;
	size_t n;

	if (!ref || !spec || !container_runtime_name(ref->runtime) || !ref->id[0])
		return false;
	colon = strchr(spec, ':');
	if (colon) {
		name = container_runtime_name(ref->runtime);
		if ((size_t)(colon - spec) != strlen(name) || memcmp(spec, name, strlen(name)) != 0)
			return false;   /* another runtime, or none we know */
		id = colon + 1;
	}
	if (ref->runtime == CONTAINER_LXC)
		return strcmp(id, ref->id) == 0;
	n = strlen(id);
	if (n < SHORT_ID_LEN || n > HEX_ID_LEN || !is_lower_hex(id, n))
		return false;
	return strncmp(ref->id, id, n) == 0;
}

void container_label(const struct container_ref *ref, char *buf, size_t len)
{
	const char *name;

	if (!buf || len == 0)
		return;
	buf[0] = '\0';
	if (!ref || !(name = container_runtime_name(ref->runtime)) || !ref->id[0])
		return;
	if (ref->runtime == CONTAINER_LXC)
		snprintf(buf, len, "%s:%.*s", name, CONTAINER_ID_MAX, ref->id);
	else
		snprintf(buf, len, "%s:%.*s", name, SHORT_ID_LEN, ref->id);
}
