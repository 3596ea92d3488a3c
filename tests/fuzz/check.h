/* SPDX-License-Identifier: MIT */
/*
 * check.h -- what the fuzz targets share: CHECK(cond) aborts, naming the
 * target's file, line and the condition, when an invariant does not hold
 * (libFuzzer, or the replay driver of `make check`, then reports the
 * input).
 */
#ifndef PGEVICT_FUZZ_CHECK_H
#define PGEVICT_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
