/* SPDX-License-Identifier: MIT */
/*
 * fuzz_hba.c -- libFuzzer target for hba.h (pg_hba.conf is written by
 * people and by configuration managers, and pgevict rewrites it as root).
 *
 * Aborts on broken invariants: a parsed file writes back byte for byte;
 * every token quoted by hba_quote reads back the same; the lockdown file
 * made from any parsed file (with --allow-role and --allow-host) parses,
 * keeps the owner's way in, refuses a stranger over TCP, and has no line
 * PostgreSQL 15 would refuse.  Built by
 * `make fuzz`; replayed by tests/fuzz/replay.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/hba.h"

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hba_file f, out;
	struct hba_error e;
	const char *roles[] = { "app" };
	struct cidr nets[1];
	struct hba_lockdown_opts o = { .owner = "postgres", .roles = roles, .nroles = 1, .hosts = nets, .nhosts = 1 };
	const struct hba_conn owner = { true, NULL, "postgres", "db", false, -1 };
	const struct hba_conn stranger = { false, "203.0.113.9", "zed", "db", false, 0 };
	char *w, *text, *notes;
	size_t wlen, i, j, k;
	int r;

	r = hba_parse((const char *)data, size, &f, &e);
	CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
	if (r != 0) {
		CHECK(r != -EINVAL || e.lineno >= 1);
		return 0;
	}
	CHECK(hba_write(&f, &w, &wlen) == 0);
	CHECK(wlen == size && memcmp(w, data, size) == 0);
	free(w);
	for (i = 0; i < f.nlines; i++)
		for (j = 0; j < f.lines[i].nfields; j++)
			for (k = 0; k < f.lines[i].fields[j].n; k++) {
				const struct hba_token *t = &f.lines[i].fields[j].v[k];
				struct hba_token qt = { t->text, true };
				char *q = hba_quote(&qt), *line;
				struct hba_file back;

				CHECK(q != NULL);
				CHECK(asprintf(&line, "local %s all peer\n", q) > 0);
				CHECK(hba_parse(line, strlen(line), &back, NULL) == 0);
				CHECK(strcmp(back.lines[0].fields[1].v[0].text, t->text) == 0);
				hba_file_free(&back);
				free(line);
				free(q);
			}
	CHECK(cidr_parse("10.0.0.0/8", &nets[0]) == 0);
	CHECK(hba_lockdown(&f, &o, &text, &notes) == 0);
	r = hba_parse(text, strlen(text), &out, &e);
	if (r != 0)
		fprintf(stderr, "fuzz_hba: lockdown line %d: %s\n%s", e.lineno, e.what, text);
	CHECK(r == 0);
	{
		/* and PostgreSQL 15 would load every line of it */
		const struct hba_parse_opts o15 = { .version = 15 };
		struct hba_file f15;
		size_t n15 = 0;

		CHECK(hba_parse_ex(text, strlen(text), &o15, &f15, NULL, &n15) == 0);
		CHECK(n15 == 0);
		hba_file_free(&f15);
	}
	CHECK(hba_eval(&out, &owner, NULL) == HBA_ALLOW);
	CHECK(hba_eval(&out, &stranger, NULL) != HBA_ALLOW);
	hba_file_free(&out);
	free(text);
	free(notes);
	hba_file_free(&f);
	return 0;
}
