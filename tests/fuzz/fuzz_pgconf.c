/* SPDX-License-Identifier: MIT */
/*
 * fuzz_pgconf.c -- libFuzzer target for pgconf.h (postgresql.conf and a
 * postmaster's command line belong to the cluster's owner, not to root).
 *
 * The same bytes are read as postgresql.conf text and as a NUL-separated
 * argv, for a few setting names, without a terminator (ASan sees a read
 * past LEN).  Aborts on broken invariants: 1 comes with a value, 0
 * without; a conf value is no longer than the input and holds no newline;
 * an argv value holds no NUL before its end.  pgconf_lookup reads the same
 * bytes as every file it is asked for (so any include includes the input
 * again) and a directory of three .conf files: it must end within its
 * file budget.  Built by `make fuzz`;
 * replayed by tests/fuzz/replay.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/pgconf.h"

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
	"cluster_name", "hba_file", "config_file", "port", "data_directory", "hba-file",
};

struct input {
	const char *buf;
	size_t size;
	unsigned reads;
};

static int in_read(void *ctx, const char *path, char **ret_buf, size_t *ret_len)
{
	struct input *in = ctx;

	(void)path;
	in->reads++;
	if (!(*ret_buf = malloc(in->size + 1)))
		return -ENOMEM;
	memcpy(*ret_buf, in->buf, in->size);
	(*ret_buf)[in->size] = '\0';
	*ret_len = in->size;
	return 0;
}

static int in_list(void *ctx, const char *path, char ***ret_names, size_t *ret_n)
{
	static const char *const files[] = { "b.conf", ".x.conf", "a.conf" };
	char **v = calloc(3, sizeof(*v));
	size_t i;

	(void)ctx;
	(void)path;
	if (!v)
		return -ENOMEM;
	for (i = 0; i < 3; i++)
		v[i] = strdup(files[i]);
	*ret_names = v;
	*ret_n = 3;
	return 0;
}

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
	{
		struct input in = { .buf = buf, .size = size };
		struct pgconf_io io = { .read = in_read, .list = in_list, .ctx = &in };
		char *v = NULL, *f = NULL;
		int r = pgconf_lookup(&io, "/a/postgresql.conf", "hba_file", &v, &f);
		CHECK(r == 0 || r == 1 || r == -ELOOP || r == -ENOMEM);
		CHECK((r == 1) == (v != NULL));
		CHECK((r == 1) == (f != NULL));
		CHECK(in.reads <= PGCONF_MAX_FILES);
		free(v);
		free(f);
	}
	return 0;
}
