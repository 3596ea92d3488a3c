/* SPDX-License-Identifier: MIT */
/*
 * replay.c -- run a libFuzzer target over files, without libFuzzer.
 *
 * Linked with one tests/fuzz/fuzz_*.c into build/tests/replay_*, so that
 * `make check` runs every fuzz target over its corpus (and over past
 * crashers) with any compiler, under ASan/UBSan when SANITIZE=1.
 *
 *   replay_title DIR|FILE...
 *
 * Each argument is a file or a directory whose regular files (not
 * recursing, in name order) are fed one by one.  Prints "replayed N
 * inputs" and exits 0; exits 1 when an argument or a file cannot be read
 * (a missing corpus must not pass silently).  A broken invariant aborts in
 * the target itself.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read all of FD; *ret_buf is malloc'd (exactly *ret_len bytes, at least 1). */
static int read_all(int fd, uint8_t **ret_buf, size_t *ret_len)
{
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap), *nb;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;
			free(buf);
			return e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	/* exact size, so that ASan sees a read past the input */
	nb = malloc(len ? len : 1);
	if (!nb) {
		free(buf);
		return -ENOMEM;
	}
	memcpy(nb, buf, len);
	free(buf);
	*ret_buf = nb;
	*ret_len = len;
	return 0;
}

static int run_file(int dirfd, const char *name, const char *shown, size_t *count)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd, r;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "replay: cannot open '%s': %s\n", shown, strerror(errno));
		return -1;
	}
	r = read_all(fd, &buf, &len);
	close(fd);
	if (r < 0) {
		fprintf(stderr, "replay: cannot read '%s': %s\n", shown, strerror(-r));
		return -1;
	}
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	(*count)++;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *path, size_t *count)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL, **nn;
	size_t n = 0, i;
	int r = 0;

	if (!d) {
		fprintf(stderr, "replay: cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
			continue;
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn || !(nn[n] = strdup(e->d_name))) {
			names = nn ? nn : names;
			fprintf(stderr, "replay: out of memory\n");
			r = -1;
			goto out;
		}
		names = nn;
		n++;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n && r == 0; i++) {
		char shown[4096];
		snprintf(shown, sizeof(shown), "%s/%s", path, names[i]);
		r = run_file(dirfd(d), names[i], shown, count);
	}
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int i, failed = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: cannot read '%s': %s\n", argv[i], strerror(errno));
			failed = 1;
			continue;
		}
		if (S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) < 0
					: run_file(AT_FDCWD, argv[i], argv[i], &count) < 0)
			failed = 1;
	}
	printf("replayed %zu inputs\n", count);
	return failed;
}
