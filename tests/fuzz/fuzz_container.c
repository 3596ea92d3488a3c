/* SPDX-License-Identifier: MIT */
/*
 * fuzz_container.c -- libFuzzer target for container.h (/proc/PID/cgroup
 * names cgroups that whoever creates them chooses: a container's root
 * below its delegated tree, a user below user@UID.service).
 *
 * Parses the input bytes as they are (no terminator added, so ASan sees a
 * read past LEN) and aborts on broken invariants: only 0 or -EINVAL; a
 * failure or no container leaves an empty id; a container has a runtime
 * name, a 64-lowercase-hex id (LXC: 1..64 printable bytes, no '/', ':' or
 * blank), a label that fits CONTAINER_LABEL_MAX and that
 * container_matches takes back, as it takes the full id.  Then the input
 * as a --cluster spec against that container and a fixed one, which must
 * not crash.  Built by `make fuzz`; replayed by tests/fuzz/replay.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/container.h"

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ref(const struct container_ref *ref)
{
	char label[CONTAINER_LABEL_MAX], qualified[CONTAINER_LABEL_MAX + CONTAINER_ID_MAX];
	size_t n = strnlen(ref->id, sizeof(ref->id)), i;

	CHECK(n < sizeof(ref->id));
	CHECK(container_runtime_name(ref->runtime) != NULL);
	if (ref->runtime == CONTAINER_LXC) {
		CHECK(n >= 1 && n <= CONTAINER_ID_MAX);
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)ref->id[i];
			CHECK(c > 0x20 && c < 0x7f && c != '/' && c != ':' && c != '\\');
		}
	} else {
		CHECK(n == 64);
		for (i = 0; i < n; i++)
			CHECK((ref->id[i] >= '0' && ref->id[i] <= '9') ||
			      (ref->id[i] >= 'a' && ref->id[i] <= 'f'));
	}
	container_label(ref, label, sizeof(label));
	/* never truncated: runtime, ':', 12 hex digits or the whole name */
	CHECK(strlen(label) == strlen(container_runtime_name(ref->runtime)) + 1 +
				       (ref->runtime == CONTAINER_LXC ? n : 12));
	CHECK(container_matches(ref, label));
	CHECK(container_matches(ref, ref->id));
	snprintf(qualified, sizeof(qualified), "%s:%s", container_runtime_name(ref->runtime), ref->id);
	CHECK(container_matches(ref, qualified));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct container_ref fixed = {
		CONTAINER_DOCKER, "3f4e9c1b2a7d8e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f"
	};
	struct container_ref ref;
	char *spec;
	int r;

	r = container_from_cgroup((const char *)data, size, &ref);
	CHECK(r == 0 || r == -EINVAL);
	if (r < 0 || ref.runtime == CONTAINER_NONE)
		CHECK(ref.runtime == CONTAINER_NONE && ref.id[0] == '\0');
	else
		check_ref(&ref);

	/* the same bytes as a spec, up to the first NUL */
	spec = malloc(size + 1);
	if (!spec)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';
	(void)container_matches(&ref, spec);
	(void)container_matches(&fixed, spec);
	free(spec);
	return 0;
}
