/*
 * fuzz_pgconf.c -- libFuzzer target for pgconf.h (postgresql.conf and a
 * postmaster's command line belong to the cluster's owner, not to root).
 *
 * The same bytes are read as postgresql.conf text and as a NUL-separated
 * argv, for a few setting names, without a terminator (ASan sees a read
 * past LEN).  Aborts on broken invariants: 1 comes with a value, 0
 * without; a conf value is no longer than the input and holds no newline;
 * an argv value holds no NUL before its end.  Built by `make fuzz`;
 * replayed by tests/fuzz/replay.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/pgconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_pgconf: invariant failed: %s (line %d)\n", #cond,    \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static const char *const names[] = {
	"cluster_name", "hba_file", "config_file", "port", "data_directory", "hba-file",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *v = (char *)"untouched";
		int r = pgconf_get(buf, size, names[i], &v);
		CHECK(r == 0 || r == 1 || r == -ENOMEM);
		if (r == 1) {
			CHECK(v != NULL);
			CHECK(strlen(v) <= size);
			CHECK(!strchr(v, '\n'));
		} else {
			CHECK(v == NULL);
		}
		free(v);

		v = (char *)"untouched";
		r = pgconf_argv_get(buf, size, names[i], &v);
		CHECK(r == 0 || r == 1 || r == -ENOMEM);
		if (r == 1) {
			CHECK(v != NULL);
			CHECK(strlen(v) < size);
		} else {
			CHECK(v == NULL);
		}
		free(v);
	}
	return 0;
}
