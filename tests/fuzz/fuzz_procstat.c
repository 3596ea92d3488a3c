/* SPDX-License-Identifier: MIT */
/*
 * fuzz_procstat.c -- libFuzzer target for procstat.h (a process names
 * itself: the command name in /proc/PID/stat is any process's choice).
 *
 * Parses the input bytes as they are (no terminator added, so ASan sees a
 * read past LEN) and aborts on broken invariants: the result is 0 or
 * -EINVAL; a failure leaves the record zeroed; a success has a state
 * byte that is not a blank and comes from after the last ')'.  Built by
 * `make fuzz`; replayed by tests/fuzz/replay.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/procstat.h"

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct procstat s;
	const uint8_t *close = NULL;
	size_t i;
	int r;

	r = procstat_parse((const char *)data, size, &s);
	CHECK(r == 0 || r == -EINVAL);
	if (r < 0) {
		CHECK(!s.state && !s.ppid && !s.cpu_ticks && !s.start_ticks && !s.rss_pages);
		return 0;
	}
	for (i = 0; i < size; i++)
		if (data[i] == ')')
			close = data + i;
	CHECK(close && close + 2 < data + size);
	CHECK(s.state == (char)close[2] && s.state != ' ');
	return 0;
}
