/* SPDX-License-Identifier: MIT */
/*
 * sha256.h -- SHA-256 (FIPS 180-4) of a buffer, as hex (core, no I/O).
 *
 * Used to tell which pg_hba.conf is on disk (the original, the lockdown
 * file, or someone else's) and to prove that unlock restored the original
 * byte for byte.  Not for secrets: no constant-time claims.
 */
#ifndef PGEVICT_SHA256_H
#define PGEVICT_SHA256_H

#include <stddef.h>

#define SHA256_HEX_LEN 65            /* 64 hex digits and a NUL */

/* The digest of LEN bytes at DATA, in lower-case hex, into OUT. */
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN]);

#endif
