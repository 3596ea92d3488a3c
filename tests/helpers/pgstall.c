/* SPDX-License-Identifier: MIT */
/*
 * pgstall -- test helper: a client that sends a startup packet and then
 * stalls in authentication, the way a slow or hostile client does.
 *
 *   pgstall HOST PORT USER DATABASE OUTFILE
 *
 * Connects over TCP, sends a protocol 3.0 startup packet with USER and
 * DATABASE exactly as given (they may look like anything), waits for the
 * server's first authentication request, writes its own local port to
 * OUTFILE and then never answers, until SIGTERM.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void put32(unsigned char *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

int main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	unsigned char pkt[2048], reply[64];
	size_t n = 8;
	int fd, port;
	FILE *f;

	if (argc != 6) {
		fprintf(stderr, "usage: pgstall HOST PORT USER DATABASE OUTFILE\n");
		return 2;
	}
	if (getaddrinfo(argv[1], argv[2], &hints, &ai) != 0)
		return 1;
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		perror("pgstall: connect");
		return 1;
	}
	if (strlen(argv[3]) + strlen(argv[4]) > 1000)
		return 2;
	put32(pkt + 4, 196608);
	n += (size_t)sprintf((char *)pkt + n, "user") + 1;
	n += (size_t)sprintf((char *)pkt + n, "%s", argv[3]) + 1;
	n += (size_t)sprintf((char *)pkt + n, "database") + 1;
	n += (size_t)sprintf((char *)pkt + n, "%s", argv[4]) + 1;
	pkt[n++] = 0;
	put32(pkt, (uint32_t)n);
	if (write(fd, pkt, n) != (ssize_t)n)
		return 1;
	if (read(fd, reply, sizeof(reply)) < 1 || reply[0] != 'R') {
		fprintf(stderr, "pgstall: no authentication request (got '%c')\n", reply[0]);
		return 1;
	}
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
					: ntohs(((struct sockaddr_in *)&ss)->sin_port);
	f = fopen(argv[5], "w");
	if (!f)
		return 1;
	fprintf(f, "%d\n", port);
	fclose(f);
	for (;;)
		pause();
}
