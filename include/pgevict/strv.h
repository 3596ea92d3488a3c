/* SPDX-License-Identifier: MIT */
/*
 * strv.h -- a growable array of owned strings (core).
 *
 * The one string list of the program: (char **v, size_t n) pairs that own
 * their strings, grown one at a time.
 */
#ifndef PGEVICT_STRV_H
#define PGEVICT_STRV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Append a copy of S.  0, or -ENOMEM with *V and *N as they were. */
int strv_push(char ***v, size_t *n, const char *s);

/* Append the printf-formatted string.  0 or -ENOMEM, as strv_push. */
int strv_pushf(char ***v, size_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int strv_pushv(char ***v, size_t *n, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/* Is S (NULL: never) one of V[0..N)? */
bool strv_contains(char *const *v, size_t n, const char *s);

/* Free the strings and the array; NULL-safe. */
void strv_free(char **v, size_t n);

#endif
