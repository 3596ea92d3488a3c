/* SPDX-License-Identifier: MIT */
/*
 * fuzz_pmpid.c -- libFuzzer target for pmpid.h (postmaster.pid is read
 * from data directories that pgevict does not own; a half-written or
 * hostile file must not hurt it).
 *
 * Parses the input bytes as they are (no terminator added, so ASan sees a
 * read past LEN) and aborts on broken invariants: a success has a
 * positive pid and a port in 1..65535 or -1; strings are non-empty, hold
 * no newline, and the status is trimmed; a failure leaves nothing
 * allocated.  Built by `make fuzz`; replayed by tests/fuzz/replay.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/pmpid.h"

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s)
{
	if (!s)
		return;
	CHECK(*s);
	CHECK(!strchr(s, '\n'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pmpid p;
	int r;

	/* libFuzzer hands a non-NULL pointer even for size 0 */
	r = pmpid_parse((const char *)data, size, &p);
	CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
	if (r < 0) {
		CHECK(!p.data_dir && !p.socket_dir && !p.listen_addr && !p.status);
		CHECK(p.port == -1 && p.start_time == -1);
		pmpid_clear(&p);
		return 0;
	}
	CHECK(p.pid > 0);
	CHECK(p.port == -1 || (p.port >= 1 && p.port <= 65535));
	CHECK(p.start_time >= -1);
	check_str(p.data_dir);
	check_str(p.socket_dir);
	check_str(p.listen_addr);
	check_str(p.status);
	if (p.status) {
		size_t n = strlen(p.status);
		CHECK(p.status[0] != ' ' && p.status[n - 1] != ' ');
	}
	pmpid_clear(&p);
	CHECK(!p.data_dir && p.port == -1);
	return 0;
}
