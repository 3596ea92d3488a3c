/* SPDX-License-Identifier: MIT */
/*
 * fuzz_rules.c -- libFuzzer target for rules.h (rule files are written by
 * operators and by configuration management; a broken one must give an
 * error line, never hurt the agent).
 *
 * Parses the input bytes (no terminator added) into a set that already
 * holds one rule, and aborts on broken invariants: success adds only
 * whole rules (a match, a valid name, keep in range); failure names a
 * line inside the input, says something, and leaves the set as it was.
 * Built by `make fuzz`; replayed by tests/fuzz/replay.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/rules.h"

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char seed[] = "[seed]\nmatch = --user x\naction = cancel\n";
	struct rule_set set = { 0 };
	struct rule_error err;
	size_t i, lines = 1;
	int r;

	CHECK(rules_parse("seed.conf", seed, sizeof(seed) - 1, &set, &err) == 0 && set.n == 1);
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	r = rules_parse("fuzz.conf", (const char *)data, size, &set, &err);
	CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
	if (r < 0) {
		CHECK(set.n == 1);
		CHECK(err.msg[0]);
		CHECK(err.line >= 0 && (size_t)err.line <= lines);
	} else {
		for (i = 1; i < set.n; i++) {
			const struct rule *ru = &set.v[i];
			CHECK(ru->name[0] && strlen(ru->name) <= RULE_NAME_MAX);
			CHECK(ru->match && !select_is_empty(&ru->sel));
			CHECK(ru->keep >= 0 && ru->keep <= 100000);
			CHECK(ru->line >= 1 && (size_t)ru->line <= lines);
			CHECK(strcmp(ru->name, "seed") != 0);
		}
	}
	rules_clear(&set);
	return 0;
}
