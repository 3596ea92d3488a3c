/* SPDX-License-Identifier: MIT */
/*
 * fakepg -- test helper: a hostile PostgreSQL server, just enough of the
 * v3 protocol to let a client in or lead it on.
 *
 *   fakepg [-r RECORD] [-t PORT] MODE SOCKET_PATH
 *
 * Listens on the Unix socket SOCKET_PATH (e.g. DIR/.s.PGSQL.5432; made
 * under a temporary name and renamed into place once it listens, so its
 * appearance means ready) and, with -t, on 127.0.0.1:PORT too.  Every
 * client's startup packet is read; an SSLRequest or GSSENCRequest gets
 * 'N'.  Then, by MODE:
 *   password  AuthenticationCleartextPassword; every byte the client sends
 *             after that is appended, raw, to RECORD; then ErrorResponse
 *   md5       the same with AuthenticationMD5Password
 *   silent    AuthenticationOk, ParameterStatus server_version 15.0,
 *             BackendKeyData, ReadyForQuery 'I'; then reads, never answers
 *   mute      accepts and never sends a byte (reads and drops)
 * Serves up to MAX_CLIENTS at once in one process; SIGTERM or SIGINT ends
 * it (the socket file is removed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_CLIENTS 64
#define STARTUP_MAX 10000

enum mode { M_PASSWORD, M_MD5, M_SILENT, M_MUTE };
enum phase { P_STARTUP, P_AUTH, P_IDLE };

struct client {
	int fd;
	enum phase phase;
	unsigned char buf[STARTUP_MAX];
	size_t len;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void put32(unsigned char *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/* Send all of P (the client may be slow; a client gone is no error). */
static int send_all(int fd, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One backend message: TYPE, then BODY of N bytes. */
static int send_msg(int fd, char type, const void *body, size_t n)
{
	unsigned char m[512];

	if (n + 5 > sizeof(m))
		return -1;
	m[0] = (unsigned char)type;
	put32(m + 1, (uint32_t)(n + 4));
	if (n)
		memcpy(m + 5, body, n);
	return send_all(fd, m, n + 5);
}

static int send_auth(int fd, uint32_t code, const void *extra, size_t n)
{
	unsigned char b[16];

	put32(b, code);
	if (n)
		memcpy(b + 4, extra, n);
	return send_msg(fd, 'R', b, 4 + n);
}

static int send_welcome(int fd)
{
	static const char ps[] = "server_version\0" "15.0";
	static const char enc[] = "client_encoding\0" "UTF8";
	unsigned char key[8];

	put32(key, (uint32_t)getpid());
	put32(key + 4, 0x5eed);
	if (send_auth(fd, 0, NULL, 0) < 0 || send_msg(fd, 'S', ps, sizeof(ps)) < 0 ||
	    send_msg(fd, 'S', enc, sizeof(enc)) < 0 || send_msg(fd, 'K', key, sizeof(key)) < 0)
		return -1;
	return send_msg(fd, 'Z', "I", 1);
}

static int send_error(int fd)
{
	static const char e[] = "SFATAL\0" "VFATAL\0" "C28P01\0" "Mpassword authentication failed for user \"fake\"\0";

	return send_msg(fd, 'E', e, sizeof(e));
}

static int record(const char *path, const unsigned char *p, size_t n)
{
	int fd, r = 0;

	if (!path)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, p, n) != (ssize_t)n)
		r = -1;
	close(fd);
	return r;
}

/* Startup packets in C's buffer: answer them.  0 to keep the client,
 * -1 to drop it. */
static int on_startup(struct client *c, enum mode mode)
{
	for (;;) {
		uint32_t len, code;
		if (c->len < 8)
			return 0;
		len = get32(c->buf);
		code = get32(c->buf + 4);
		if (len < 8 || len > STARTUP_MAX)
			return -1;
		if (c->len < len)
			return 0;
		memmove(c->buf, c->buf + len, c->len - len);
		c->len -= len;
		if (code == 80877103 || code == 80877104) {     /* SSL, GSSENC */
			if (send_all(c->fd, "N", 1) < 0)
				return -1;
			continue;
		}
		if (code != 196608)                              /* cancel, other */
			return -1;
		c->len = 0;
		switch (mode) {
		case M_PASSWORD:
			c->phase = P_AUTH;
			return send_auth(c->fd, 3, NULL, 0);
		case M_MD5:
			c->phase = P_AUTH;
			return send_auth(c->fd, 5, "salt", 4);
		case M_SILENT:
			c->phase = P_IDLE;
			return send_welcome(c->fd);
		case M_MUTE:
			c->phase = P_IDLE;
			return 0;
		}
		return -1;
	}
}

/* Read from C; 0 to keep it, -1 to drop it. */
static int on_readable(struct client *c, enum mode mode, const char *rec)
{
	unsigned char tmp[4096];
	ssize_t n = recv(c->fd, tmp, sizeof(tmp), 0);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	if (c->phase == P_AUTH) {
		/* what a client sends to a password request is the point */
		if (record(rec, tmp, (size_t)n) < 0)
			perror("fakepg: record");
		send_error(c->fd);
		return -1;
	}
	if (c->phase == P_IDLE || mode == M_MUTE)
		return 0;                                        /* never answered */
	if ((size_t)n > sizeof(c->buf) - c->len)
		return -1;
	memcpy(c->buf + c->len, tmp, (size_t)n);
	c->len += (size_t)n;
	return on_startup(c, mode);
}

static int listen_unix(const char *path, char *tmp, size_t tmpsz)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if ((size_t)snprintf(tmp, tmpsz, "%s.tmp", path) >= tmpsz || strlen(tmp) >= sizeof(a.sun_path)) {
		fprintf(stderr, "fakepg: socket path too long\n");
		return -1;
	}
	strcpy(a.sun_path, tmp);
	unlink(tmp);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0 ||
	    rename(tmp, path) < 0) {
		perror("fakepg: unix socket");
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return -1;
	}
	return fd;
}

static int listen_tcp(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd, one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
		perror("fakepg: tcp socket");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static struct client cl[MAX_CLIENTS];
	struct pollfd p[2 + MAX_CLIENTS];
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, waitmask;
	const char *rec = NULL, *path;
	char tmp[4096];
	enum mode mode;
	int opt, port = 0, ufd = -1, tfd = -1, status = 1;
	size_t i, nl;

	while ((opt = getopt(argc, argv, "r:t:")) != -1) {
		if (opt == 'r')
			rec = optarg;
		else if (opt == 't')
			port = atoi(optarg);
		else
			goto usage;
	}
	if (argc - optind != 2)
		goto usage;
	if (strcmp(argv[optind], "password") == 0)
		mode = M_PASSWORD;
	else if (strcmp(argv[optind], "md5") == 0)
		mode = M_MD5;
	else if (strcmp(argv[optind], "silent") == 0)
		mode = M_SILENT;
	else if (strcmp(argv[optind], "mute") == 0)
		mode = M_MUTE;
	else
		goto usage;
	path = argv[optind + 1];
	/* the signals come only inside ppoll: none is lost before it */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < MAX_CLIENTS; i++)
		cl[i].fd = -1;
	if (port > 0 && (tfd = listen_tcp(port)) < 0)
		goto out;
	if ((ufd = listen_unix(path, tmp, sizeof(tmp))) < 0)
		goto out;
	while (!stop) {
		size_t n = 0, map[MAX_CLIENTS];
		p[n++] = (struct pollfd){ .fd = ufd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = tfd, .events = POLLIN };
		nl = n;
		for (i = 0; i < MAX_CLIENTS; i++)
			if (cl[i].fd >= 0) {
				map[n - nl] = i;
				p[n++] = (struct pollfd){ .fd = cl[i].fd, .events = POLLIN };
			}
		if (ppoll(p, n, NULL, &waitmask) < 0) {
			if (errno == EINTR)
				continue;
			perror("fakepg: poll");
			goto out;
		}
		for (i = 0; i < nl; i++) {
			int fd;
			size_t k;
			if (!(p[i].revents & POLLIN))
				continue;
			fd = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			for (k = 0; k < MAX_CLIENTS && cl[k].fd >= 0; k++)
				;
			if (k == MAX_CLIENTS) {
				close(fd);
				continue;
			}
			cl[k].fd = fd;
			cl[k].phase = P_STARTUP;
			cl[k].len = 0;
		}
		for (i = nl; i < n; i++) {
			struct client *c = &cl[map[i - nl]];
			if (!p[i].revents)
				continue;
			if (on_readable(c, mode, rec) < 0) {
				close(c->fd);
				c->fd = -1;
			}
		}
	}
	status = 0;
out:
	for (i = 0; i < MAX_CLIENTS; i++)
		if (cl[i].fd >= 0)
			close(cl[i].fd);
	if (ufd >= 0) {
		close(ufd);
		unlink(path);
	}
	if (tfd >= 0)
		close(tfd);
	return status;
usage:
	fprintf(stderr, "usage: fakepg [-r RECORD] [-t PORT] password|md5|silent|mute SOCKET_PATH\n");
	return 2;
}
