/* SPDX-License-Identifier: MIT */
/*
 * test_container.c -- unit tests for container.h: container_from_cgroup,
 * container_matches, container_label, container_runtime_name.
 *
 * /proc/PID/cgroup texts as the kernel writes them for a process in each
 * runtime's container: docker (cgroupfs on a v1/hybrid host with its
 * name=systemd and 0:: lines, systemd driver on v2), podman (root, the
 * nested "container" cgroup, rootless, pods, cgroupfs, split), containerd
 * under Kubernetes (systemd and cgroupfs drivers, every QoS class, static
 * pods) and nerdctl, cri-o (both drivers), LXC (4+, older, Proxmox,
 * collision suffix); the ones that are no container (sessions, services,
 * the runtimes' daemons and monitors: libpod-conmon, crio-conmon,
 * lxc.monitor); nesting (the outermost wins); malformed, truncated and
 * hostile text.  Then which specs name which container, and the labels.
 * Table-driven: each row is its own cmocka test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pgevict/container.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define ID1 "3f4e9c1b2a7d8e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f"
#define ID2 "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
#define ID_UPPER "3F4E9C1B2A7D8E6F5A4B3C2D1E0F9A8B7C6D5E4F3A2B1C0D9E8F7A6B5C4D3E2F"
#define ID63 "3f4e9c1b2a7d8e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2"
#define ID65 ID1 "0"
#define POD_UUID "pod2f0b4e1c-7d5a-4b8e-9c3f-1a2b3c4d5e6f"
#define POD_SLICE "kubepods-besteffort-pod2f0b4e1c_7d5a_4b8e_9c3f_1a2b3c4d5e6f.slice"

/* Every v1 line of a Debian 11 hybrid host (systemd 247), PATH put in. */
#define HYBRID(p, unified)                                                                         \
	"12:cpuset:" p "\n"                                                                        \
	"11:blkio:" p "\n"                                                                         \
	"10:memory:" p "\n"                                                                        \
	"9:devices:" p "\n"                                                                        \
	"8:freezer:" p "\n"                                                                        \
	"7:net_cls,net_prio:" p "\n"                                                               \
	"6:perf_event:" p "\n"                                                                     \
	"5:pids:" p "\n"                                                                           \
	"4:cpu,cpuacct:" p "\n"                                                                    \
	"3:rdma:/\n"                                                                               \
	"2:hugetlb:" p "\n"                                                                        \
	"1:name=systemd:" p "\n"                                                                   \
	"0::" unified "\n"

struct parse_case {
	const char *name;
	const char *text;
	size_t len;             /* 0: strlen(text) */
	int rc;
	enum container_runtime runtime;
	const char *id;         /* "" for none */
};

#define IS(nm, text, rt, id) { nm, text, 0, 0, rt, id }
#define NONE(nm, text) { nm, text, 0, 0, CONTAINER_NONE, "" }
#define BAD(nm, text) { nm, text, 0, -EINVAL, CONTAINER_NONE, "" }

static const char nul_in_path[] = "0::/system.slice/docker-" ID1 ".sc\0ope\n";
static const char long_name[] = "0::/lxc.payload."
				"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
static const char max_name[] = "0::/lxc.payload."
			       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";

static const struct parse_case parse_cases[] = {
	/* docker */
	IS("docker cgroupfs, hybrid v1 host", HYBRID("/docker/" ID1, "/system.slice/containerd.service"),
	   CONTAINER_DOCKER, ID1),
	IS("docker cgroupfs, v2", "0::/docker/" ID1 "\n", CONTAINER_DOCKER, ID1),
	IS("docker systemd driver, v2", "0::/system.slice/docker-" ID1 ".scope\n", CONTAINER_DOCKER,
	   ID1),
	IS("docker systemd driver, hybrid",
	   HYBRID("/system.slice/docker-" ID1 ".scope", "/system.slice/docker-" ID1 ".scope"),
	   CONTAINER_DOCKER, ID1),
	IS("docker rootless, systemd",
	   "0::/user.slice/user-1000.slice/user@1000.service/user.slice/docker-" ID1 ".scope\n",
	   CONTAINER_DOCKER, ID1),
	IS("docker in a Kubernetes pod (cri-dockerd, systemd)",
	   "0::/kubepods.slice/kubepods-besteffort.slice/" POD_SLICE "/docker-" ID1 ".scope\n",
	   CONTAINER_DOCKER, ID1),
	IS("docker, v2 cgroup removed under a zombie",
	   "0::/system.slice/docker-" ID1 ".scope (deleted)\n", CONTAINER_DOCKER, ID1),
	IS("docker, v1 exiting task shows / on v1, the v2 line tells",
	   "1:name=systemd:/\n0::/docker/" ID1 "\n", CONTAINER_DOCKER, ID1),
	/* podman */
	IS("podman root, systemd", "0::/machine.slice/libpod-" ID1 ".scope\n", CONTAINER_PODMAN, ID1),
	IS("podman root, crun's nested container cgroup",
	   "0::/machine.slice/libpod-" ID1 ".scope/container\n", CONTAINER_PODMAN, ID1),
	IS("podman rootless",
	   "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID1
	   ".scope/container\n",
	   CONTAINER_PODMAN, ID1),
	IS("podman pod member",
	   "0::/machine.slice/machine-libpod_pod_" ID2 ".slice/libpod-" ID1 ".scope/container\n",
	   CONTAINER_PODMAN, ID1),
	IS("podman cgroupfs", "0::/libpod_parent/libpod-" ID1 "\n", CONTAINER_PODMAN, ID1),
	IS("podman --cgroups=split", "0::/user.slice/app.slice/libpod-payload-" ID1 "\n",
	   CONTAINER_PODMAN, ID1),
	IS("podman hybrid v1", HYBRID("/machine.slice/libpod-" ID1 ".scope", "/"), CONTAINER_PODMAN,
	   ID1),
	NONE("podman conmon scope", "0::/machine.slice/libpod-conmon-" ID1 ".scope\n"),
	NONE("podman rootless conmon scope",
	     "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-conmon-" ID1
	     ".scope\n"),
	NONE("podman cgroupfs conmon", "0::/libpod_parent/conmon\n"),
	/* containerd */
	IS("containerd CRI, systemd driver",
	   "0::/kubepods.slice/kubepods-besteffort.slice/" POD_SLICE "/cri-containerd-" ID1 ".scope\n",
	   CONTAINER_CONTAINERD, ID1),
	IS("containerd CRI, cgroupfs, besteffort",
	   HYBRID("/kubepods/besteffort/" POD_UUID "/" ID1, "/"), CONTAINER_CONTAINERD, ID1),
	IS("containerd CRI, cgroupfs, burstable, v2", "0::/kubepods/burstable/" POD_UUID "/" ID1 "\n",
	   CONTAINER_CONTAINERD, ID1),
	IS("containerd CRI, cgroupfs, guaranteed (no QoS level)", "0::/kubepods/" POD_UUID "/" ID1 "\n",
	   CONTAINER_CONTAINERD, ID1),
	IS("containerd CRI, cgroupfs, static pod (hash uid)",
	   "0::/kubepods/burstable/pod0f1e2d3c4b5a69788796a5b4c3d2e1f0/" ID1 "\n",
	   CONTAINER_CONTAINERD, ID1),
	IS("nerdctl, systemd", "0::/system.slice/nerdctl-" ID1 ".scope\n", CONTAINER_CONTAINERD, ID1),
	NONE("containerd, cgroupfs, pod uid not a uuid", "0::/kubepods/besteffort/podxyz/" ID1 "\n"),
	NONE("containerd, cgroupfs, pod uid uppercase",
	     "0::/kubepods/besteffort/pod2F0B4E1C-7D5A-4B8E-9C3F-1A2B3C4D5E6F/" ID1 "\n"),
	NONE("containerd, cgroupfs, a pod dir outside kubepods", "0::/other/" POD_UUID "/" ID1 "\n"),
	NONE("the pod's own cgroup (no container yet)", "0::/kubepods/besteffort/" POD_UUID "\n"),
	NONE("containerd without Kubernetes, cgroupfs (/NAMESPACE/ID)", "0::/default/" ID1 "\n"),
	/* cri-o */
	IS("cri-o, systemd",
	   "0::/kubepods.slice/kubepods-burstable.slice/" POD_SLICE "/crio-" ID1 ".scope\n",
	   CONTAINER_CRIO, ID1),
	IS("cri-o, cgroupfs", "0::/kubepods/burstable/" POD_UUID "/crio-" ID1 "\n", CONTAINER_CRIO, ID1),
	NONE("cri-o conmon, systemd",
	     "0::/kubepods.slice/kubepods-burstable.slice/" POD_SLICE "/crio-conmon-" ID1 ".scope\n"),
	NONE("cri-o conmon, cgroupfs", "0::/kubepods/burstable/" POD_UUID "/crio-conmon-" ID1 "\n"),
	/* LXC */
	IS("LXC 4+, a cluster under the container's systemd",
	   "0::/lxc.payload.pg15/system.slice/postgresql@15-main.service\n", CONTAINER_LXC, "pg15"),
	IS("LXC 4+, the container's init", "0::/lxc.payload.pg15/init.scope\n", CONTAINER_LXC, "pg15"),
	IS("LXC 4+, hybrid", HYBRID("/lxc.payload.db-1.example", "/lxc.payload.db-1.example"),
	   CONTAINER_LXC, "db-1.example"),
	IS("LXC 4+, collision suffix kept as written", "0::/lxc.payload.pg15-1\n", CONTAINER_LXC,
	   "pg15-1"),
	IS("LXC 4+, 64-byte name", max_name, CONTAINER_LXC,
	   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	IS("LXD project instance", "0::/lxc.payload.prod_pg/system.slice/postgresql.service\n",
	   CONTAINER_LXC, "prod_pg"),
	IS("LXC unprivileged, below a user's delegation",
	   "0::/user.slice/user-1000.slice/user@1000.service/app.slice/lxc.payload.c1/init.scope\n",
	   CONTAINER_LXC, "c1"),
	IS("LXC older, lxc/NAME", HYBRID("/lxc/pg15", "/"), CONTAINER_LXC, "pg15"),
	IS("LXC 4 with the lxc/%n pattern: lxc/NAME/payload", "0::/lxc/pg15/payload\n", CONTAINER_LXC,
	   "pg15"),
	IS("Proxmox lxc/VMID/ns", "0::/lxc/101/ns/system.slice/postgresql@15-main.service\n",
	   CONTAINER_LXC, "101"),
	IS("LXC named with 64 hex digits", "0::/lxc/" ID1 "\n", CONTAINER_LXC, ID1),
	NONE("LXC 4+ monitor", "0::/lxc.monitor.pg15\n"),
	NONE("LXC pivot", "0::/lxc.pivot\n"),
	NONE("Proxmox monitor", "0::/lxc.monitor/101\n"),
	NONE("lxc.cgroup.dir=lxc: its monitor", "0::/lxc/lxc.monitor.pg15\n"),
	IS("lxc.cgroup.dir=lxc: its payload", "0::/lxc/lxc.payload.pg15\n", CONTAINER_LXC, "pg15"),
	NONE("the lxc cgroup itself", "0::/lxc\n"),
	/* nesting: the outermost container */
	IS("docker in docker", "0::/docker/" ID1 "/docker/" ID2 "\n", CONTAINER_DOCKER, ID1),
	IS("docker in LXC", "0::/lxc.payload.c1/docker/" ID2 "\n", CONTAINER_LXC, "c1"),
	IS("kind: Kubernetes in a docker container",
	   "0::/system.slice/docker-" ID1 ".scope/kubelet.slice/kubelet-kubepods.slice/"
	   "kubelet-kubepods-besteffort.slice/cri-containerd-" ID2 ".scope\n",
	   CONTAINER_DOCKER, ID1),
	IS("forged name below a container's delegated cgroup",
	   "0::/machine.slice/libpod-" ID1 ".scope/container/system.slice/docker-" ID2 ".scope\n",
	   CONTAINER_PODMAN, ID1),
	/* no container */
	NONE("root cgroup", "0::/\n"),
	NONE("init", "0::/init.scope\n"),
	NONE("login session", "0::/user.slice/user-1000.slice/session-3.scope\n"),
	NONE("Debian's postgresql@15-main, v2", "0::/system.slice/postgresql@15-main.service\n"),
	NONE("Debian's postgresql@15-main, hybrid",
	     HYBRID("/system.slice/system-postgresql.slice/postgresql@15-main.service",
		    "/system.slice/system-postgresql.slice/postgresql@15-main.service")),
	NONE("a sandbox's own v1 hierarchies, name=systemd first",
	     "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
	     "4:memory:/process_api/1d3443c2a591b1ae65a56253ed82d5e9\n3:cpuset:/\n2:cpuacct:/\n"
	     "1:cpu:/\n0::/\n"),
	NONE("the docker daemon", "0::/system.slice/docker.service\n"),
	NONE("the containerd daemon", "0::/system.slice/containerd.service\n"),
	NONE("a service named docker-something", "0::/system.slice/docker-cleanup.service\n"),
	NONE("a docker cgroup with no id", "0::/docker\n"),
	NONE("docker parent, id not hex", "0::/docker/" ID_UPPER "\n"),
	NONE("docker scope, uppercase id", "0::/system.slice/docker-" ID_UPPER ".scope\n"),
	NONE("docker scope, 63 hex digits", "0::/system.slice/docker-" ID63 ".scope\n"),
	NONE("docker scope, 65 hex digits", "0::/system.slice/docker-" ID65 ".scope\n"),
	NONE("docker parent, 63 hex digits", "0::/docker/" ID63 "\n"),
	NONE("docker scope, suffix doubled", "0::/system.slice/docker-" ID1 ".scope.scope\n"),
	NONE("docker scope, v1 line keeps ' (deleted)' as part of the name",
	     "1:name=systemd:/system.slice/docker-" ID1 ".scope (deleted)\n"),
	NONE("a bare id at the top", "0::/" ID1 "\n"),
	NONE("systemd-nspawn", "0::/machine.slice/systemd-nspawn@pg.service/payload\n"),
	NONE("a virtual machine", "0::/machine.slice/machine-qemu\\x2d1\\x2dvm.scope\n"),
	NONE("a path with a colon", "0::/system.slice/foo:bar.service\n"),
	NONE("a v1 hierarchy with name= only", "1:name=pgdqprobe:/\n0::/user.slice\n"),
	IS("a reader in a cgroup namespace sees /..", "0::/../../docker/" ID1 "\n", CONTAINER_DOCKER,
	   ID1),
	NONE("control characters in a name that is no container",
	     "0::/user.slice/user-1000.slice/user@1000.service/\x1b[2J\x07evil\n"),
	/* malformed, truncated, hostile */
	BAD("empty", ""),
	BAD("only a newline", "\n"),
	BAD("garbage", "garbage\n"),
	BAD("no final newline (a truncated read)", "0::/lxc.payload.pg15"),
	BAD("truncated inside an id", "0::/system.slice/docker-" ID1),
	BAD("truncated after a good line", "0::/docker/" ID1 "\n1:name=sys"),
	BAD("an empty line", "1:name=systemd:/\n\n0::/\n"),
	BAD("two fields", "0:/docker/" ID1 "\n"),
	BAD("path without a slash", "0::docker/" ID1 "\n"),
	BAD("empty path", "0::\n"),
	BAD("empty hierarchy id", "::/\n"),
	BAD("hierarchy id not a number", "x::/\n"),
	BAD("hierarchy id negative", "-1::/\n"),
	BAD("hierarchy id with a leading zero", "00::/\n"),
	BAD("hierarchy id with eleven digits", "12345678901:cpu:/\n"),
	BAD("v2 line with controllers", "0:cpu:/docker/" ID1 "\n"),
	BAD("v1 line without controllers", "3::/docker/" ID1 "\n"),
	BAD("controller list with a bad byte", "3:cpu;rm:/\n"),
	BAD("controller list with a space", "3:cpu acct:/\n"),
	{ "NUL inside a path", nul_in_path, sizeof(nul_in_path) - 1, -EINVAL, CONTAINER_NONE, "" },
	{ "NUL after the last newline", "0::/\n\0", 6, -EINVAL, CONTAINER_NONE, "" },
	BAD("double slash", "0::/docker//" ID1 "\n"),
	BAD("trailing slash", "0::/docker/" ID1 "/\n"),
	BAD("only slashes", "0:://\n"),
	BAD("two lines, two containers", "1:name=systemd:/docker/" ID1 "\n0::/docker/" ID2 "\n"),
	BAD("two lines, two runtimes", "1:name=systemd:/docker/" ID1 "\n0::/libpod_parent/libpod-" ID1 "\n"),
	BAD("LXC payload without a name", "0::/lxc.payload.\n"),
	BAD("LXC name of 65 bytes", long_name),
	BAD("LXC name with a space", "0::/lxc.payload.a b\n"),
	BAD("LXC name with an escape sequence", "0::/lxc.payload.\x1b[2Jpg\n"),
	BAD("LXC name with a colon", "0::/lxc.payload.docker:" ID1 "\n"),
	BAD("LXC name with a backslash", "0::/lxc/pg\\15\n"),
	BAD("LXC name ..", "0::/lxc/..\n"),
	BAD("LXC name with a byte above ASCII", "0::/lxc.payload.p\xc3\xa9g\n"),
	/* LEN limits the parse: the bytes past it are not read */
	{ "len stops before an id's end", "0::/docker/" ID1 "\n", 20, -EINVAL, CONTAINER_NONE, "" },
	{ "len stops after the first line", "0::/docker/" ID1 "\nrubbish", 76, 0, CONTAINER_DOCKER,
	  ID1 },
};

static void test_parse_case(void **state)
{
	const struct parse_case *c = *state;
	size_t len = c->len ? c->len : strlen(c->text);
	struct container_ref ref;
	char *copy;
	int r;

	/* An exact-size heap copy, so ASan sees a read past LEN. */
	copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, c->text, len);
	memset(&ref, 0x5a, sizeof(ref));
	r = container_from_cgroup(copy, len, &ref);
	free(copy);
	if (r != c->rc || ref.runtime != c->runtime || strcmp(ref.id, c->id) != 0)
		fail_msg("[%s] got rc %d, %s \"%s\"; want rc %d, %s \"%s\"", c->name, r,
			 container_runtime_name(ref.runtime) ? container_runtime_name(ref.runtime) : "none",
			 ref.id, c->rc,
			 container_runtime_name(c->runtime) ? container_runtime_name(c->runtime) : "none",
			 c->id);
}

struct match_case {
	const char *name;
	enum container_runtime runtime;
	const char *id;
	const char *spec;
	bool want;
};

static const struct match_case match_cases[] = {
	{ "full id", CONTAINER_DOCKER, ID1, ID1, true },
	{ "12-digit prefix (docker's short id)", CONTAINER_DOCKER, ID1, "3f4e9c1b2a7d", true },
	{ "20-digit prefix", CONTAINER_DOCKER, ID1, "3f4e9c1b2a7d8e6f5a4b", true },
	{ "11-digit prefix refused", CONTAINER_DOCKER, ID1, "3f4e9c1b2a7", false },
	{ "1-digit prefix refused", CONTAINER_DOCKER, ID1, "3", false },
	{ "empty spec refused", CONTAINER_DOCKER, ID1, "", false },
	{ "another id", CONTAINER_DOCKER, ID1, "a1b2c3d4e5f6", false },
	{ "prefix of another id", CONTAINER_DOCKER, ID1, "3f4e9c1b2a7e", false },
	{ "id with one digit more", CONTAINER_DOCKER, ID1, ID65, false },
	{ "uppercase refused", CONTAINER_DOCKER, ID1, "3F4E9C1B2A7D", false },
	{ "runtime-qualified full id", CONTAINER_DOCKER, ID1, "docker:" ID1, true },
	{ "runtime-qualified short id", CONTAINER_PODMAN, ID1, "podman:3f4e9c1b2a7d", true },
	{ "runtime-qualified cri-o", CONTAINER_CRIO, ID1, "cri-o:3f4e9c1b2a7d", true },
	{ "runtime-qualified containerd", CONTAINER_CONTAINERD, ID1, "containerd:3f4e9c1b2a7d",
	  true },
	{ "wrong runtime", CONTAINER_PODMAN, ID1, "docker:3f4e9c1b2a7d", false },
	{ "unknown runtime", CONTAINER_CRIO, ID1, "crio:3f4e9c1b2a7d", false },
	{ "runtime in capitals", CONTAINER_DOCKER, ID1, "Docker:3f4e9c1b2a7d", false },
	{ "runtime with nothing after it", CONTAINER_DOCKER, ID1, "docker:", false },
	{ "runtime-qualified 11 digits", CONTAINER_DOCKER, ID1, "docker:3f4e9c1b2a7", false },
	{ "a colon first", CONTAINER_DOCKER, ID1, ":3f4e9c1b2a7d", false },
	{ "a path is no id", CONTAINER_DOCKER, ID1, "/var/lib/postgresql/15/main", false },
	{ "a port is no id", CONTAINER_DOCKER, ID1, "5432", false },
	{ "LXC exact name", CONTAINER_LXC, "pg15", "pg15", true },
	{ "LXC runtime-qualified", CONTAINER_LXC, "pg15", "lxc:pg15", true },
	{ "LXC prefix refused", CONTAINER_LXC, "pg15", "pg1", false },
	{ "LXC longer name refused", CONTAINER_LXC, "pg15", "pg15-1", false },
	{ "LXC other case refused", CONTAINER_LXC, "pg15", "PG15", false },
	{ "LXC wrong runtime", CONTAINER_LXC, "pg15", "docker:pg15", false },
	{ "LXC hex name, exact", CONTAINER_LXC, ID1, ID1, true },
	{ "LXC hex name, no prefixes", CONTAINER_LXC, ID1, "3f4e9c1b2a7d", false },
	{ "hex id against an LXC spec", CONTAINER_DOCKER, ID1, "lxc:" ID1, false },
	{ "no container", CONTAINER_NONE, "", "", false },
	{ "no container, any spec", CONTAINER_NONE, "", "3f4e9c1b2a7d", false },
};

static void test_match_case(void **state)
{
	const struct match_case *c = *state;
	struct container_ref ref = { c->runtime, "" };

	snprintf(ref.id, sizeof(ref.id), "%s", c->id);
	if (container_matches(&ref, c->spec) != c->want)
		fail_msg("[%s] container_matches(%s \"%s\", \"%s\") should be %s", c->name,
			 container_runtime_name(c->runtime) ? container_runtime_name(c->runtime) : "none",
			 c->id, c->spec, c->want ? "true" : "false");
}

static void test_matches_null(void **state)
{
	struct container_ref ref = { CONTAINER_DOCKER, ID1 };

	(void)state;
	assert_false(container_matches(&ref, NULL));
	assert_false(container_matches(NULL, ID1));
}

/* What clusters prints is what --cluster takes back. */
static void test_label(void **state)
{
	static const struct {
		enum container_runtime rt;
		const char *id, *want;
	} cases[] = {
		{ CONTAINER_DOCKER, ID1, "docker:3f4e9c1b2a7d" },
		{ CONTAINER_PODMAN, ID1, "podman:3f4e9c1b2a7d" },
		{ CONTAINER_CONTAINERD, ID2, "containerd:a1b2c3d4e5f6" },
		{ CONTAINER_CRIO, ID2, "cri-o:a1b2c3d4e5f6" },
		{ CONTAINER_LXC, "pg15", "lxc:pg15" },
		{ CONTAINER_LXC, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "lxc:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
		{ CONTAINER_NONE, "", "" },
	};
	char buf[CONTAINER_LABEL_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct container_ref ref = { cases[i].rt, "" };
		snprintf(ref.id, sizeof(ref.id), "%s", cases[i].id);
		memset(buf, 'x', sizeof(buf));
		container_label(&ref, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
		if (cases[i].rt != CONTAINER_NONE)
			assert_true(container_matches(&ref, buf));
	}
}

static void test_label_small_buffers(void **state)
{
	struct container_ref ref = { CONTAINER_DOCKER, ID1 };
	char buf[8];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	container_label(&ref, buf, sizeof(buf));
	assert_string_equal(buf, "docker:");
	buf[0] = 'x';
	container_label(&ref, buf, 1);
	assert_int_equal(buf[0], '\0');
	buf[0] = 'x';
	container_label(&ref, buf, 0);  /* writes nothing */
	assert_int_equal(buf[0], 'x');
	container_label(NULL, buf, sizeof(buf));
	assert_string_equal(buf, "");
	container_label(&ref, NULL, 16);
}

static void test_runtime_names(void **state)
{
	(void)state;
	assert_null(container_runtime_name(CONTAINER_NONE));
	assert_string_equal(container_runtime_name(CONTAINER_DOCKER), "docker");
	assert_string_equal(container_runtime_name(CONTAINER_PODMAN), "podman");
	assert_string_equal(container_runtime_name(CONTAINER_CONTAINERD), "containerd");
	assert_string_equal(container_runtime_name(CONTAINER_CRIO), "cri-o");
	assert_string_equal(container_runtime_name(CONTAINER_LXC), "lxc");
	assert_null(container_runtime_name((enum container_runtime)(CONTAINER_LXC + 1)));
	assert_null(container_runtime_name((enum container_runtime)-1));
}

/* A real file never reaches these sizes; the parser must not care. */
static void test_long_paths(void **state)
{
	size_t n = 1 << 20, i;
	char *text = malloc(n);
	struct container_ref ref;

	(void)state;
	assert_non_null(text);
	/* 0::/a/a/a/.../docker/ID1\n */
	memcpy(text, "0::", 3);
	for (i = 3; i + 2 < n - 100; i += 2)
		memcpy(text + i, "/a", 2);
	memcpy(text + i, "/docker/" ID1 "\n", 8 + 64 + 1);
	i += 8 + 64 + 1;
	assert_int_equal(container_from_cgroup(text, i, &ref), 0);
	assert_int_equal(ref.runtime, CONTAINER_DOCKER);
	assert_string_equal(ref.id, ID1);
	/* a million lines of "0::/\n" */
	for (i = 0; i + 5 <= n; i += 5)
		memcpy(text + i, "0::/\n", 5);
	assert_int_equal(container_from_cgroup(text, i, &ref), 0);
	assert_int_equal(ref.runtime, CONTAINER_NONE);
	free(text);
}

int main(void)
{
	static struct CMUnitTest tests[ARRAY_SIZE(parse_cases) + ARRAY_SIZE(match_cases) + 5];
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(parse_cases); i++)
		tests[n++] = (struct CMUnitTest){ parse_cases[i].name, test_parse_case, NULL, NULL,
						  (void *)&parse_cases[i] };
	for (i = 0; i < ARRAY_SIZE(match_cases); i++)
		tests[n++] = (struct CMUnitTest){ match_cases[i].name, test_match_case, NULL, NULL,
						  (void *)&match_cases[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_matches_null);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_label);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_label_small_buffers);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_runtime_names);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_long_paths);
	return cmocka_run_group_tests_name("container", tests, NULL, NULL);
}
