/* SPDX-License-Identifier: MIT */
/*
 * wire.c -- cut a TCP connection on the wire (see wire.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <pcap/pcap.h>

#include "pgevict/clock.h"
#include "pgevict/packet.h"
#include "pgevict/route.h"
#include "pgevict/sockdiag.h"
#include "pgevict/wire.h"

struct wire {
	struct cut c;
	int family;                  /* on the wire */
	int diag_family;             /* of the local sockets (v4-mapped: 6) */
	uint8_t diag_addr[2][16];
	pcap_t *cap;                 /* capture (and sends on its interface) */
	int cap_dlt;
	bool cap_is_lo;
	uint8_t link_to[2][PKT_LINK_MAX];
	size_t link_len[2];
	bool have_link[2];
	int raw;                     /* raw IP socket, -1 until needed */
	uint8_t addr[2][16];         /* the ends on the wire */
	uint16_t port[2];
};

static bool is_v4mapped(const uint8_t *a)
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(a, pfx, 12) == 0;
}

static void fmt_end(int family, const uint8_t *a, uint16_t port, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(family, a, s, sizeof(s));
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", s, port);
}

static pcap_t *open_pcap(const char *dev, const char *filter, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct bpf_program prog;
	pcap_t *p = pcap_create(dev, ebuf);

	if (!p) {
		snprintf(err, errlen, "cannot capture on '%s': %.160s", dev, ebuf);
		return NULL;
	}
	if (pcap_set_snaplen(p, 256) != 0 || pcap_set_immediate_mode(p, 1) != 0 ||
	    pcap_set_timeout(p, 1) != 0 || pcap_set_buffer_size(p, 256 << 10) != 0 || pcap_activate(p) < 0) {
		snprintf(err, errlen, "cannot capture on '%s': %.160s", dev, pcap_geterr(p));
		goto fail;
	}
	if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen, "cannot compile the capture filter: %.160s", pcap_geterr(p));
		goto fail;
	}
	if (pcap_setfilter(p, &prog) != 0) {
		pcap_freecode(&prog);
		snprintf(err, errlen, "cannot set the filter on '%s': %.160s", dev, pcap_geterr(p));
		goto fail;
	}
	pcap_freecode(&prog);
	if (pcap_setnonblock(p, 1, ebuf) != 0) {
		snprintf(err, errlen, "cannot capture on '%s': %.160s", dev, ebuf);
		goto fail;
	}
	return p;
fail:
	pcap_close(p);
	return NULL;
}

/* Send through a raw IP socket: the kernel routes it and builds the link
 * header (a remote end with no captured frame yet). */
static int send_raw(struct wire *w, const struct pkt_seg *s)
{
	uint8_t buf[128];
	ssize_t n = pkt_build(PKT_DLT_RAW, NULL, 0, s, buf, sizeof(buf));
	struct sockaddr_storage ss;
	socklen_t sl;

	if (n < 0)
		return (int)n;
	if (w->raw < 0) {
		w->raw = socket(s->family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
		if (w->raw < 0)
			return -errno;
	}
	memset(&ss, 0, sizeof(ss));
	if (s->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, s->dst, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, s->dst, 16);
		sl = sizeof(*sin6);
	}
	if (sendto(w->raw, buf, (size_t)n, 0, (struct sockaddr *)&ss, sl) < 0)
		return -errno;
	return 0;
}

static int send_seg(struct wire *w, const struct cut_out *o)
{
	uint8_t buf[160];
	ssize_t n;

	if (w->c.end[o->to].local) {
		/* Toward a socket of this host: sent on a non-loopback
		 * interface it would leave the host, and a frame injected on
		 * lo reaches an established socket but draws no RST where
		 * there is none (measured on Linux 6.18).  A raw IP socket
		 * goes through the kernel's own routing to itself, and needs
		 * no second packet socket (a ring, and on close an RCU grace
		 * period). */
		return send_raw(w, &o->seg);
	}
	if (w->have_link[o->to]) {
		n = pkt_build(w->cap_dlt, w->link_to[o->to], w->link_len[o->to], &o->seg, buf, sizeof(buf));
		if (n < 0)
			return (int)n;
		return pcap_inject(w->cap, buf, (size_t)n) == n ? 0 : -EIO;
	}
	return send_raw(w, &o->seg);
}

static void on_frame(u_char *arg, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct wire *w = (struct wire *)arg;
	struct pkt_tcp t;
	int x;

	if (pkt_parse(w->cap_dlt, bytes, h->caplen, &t) < 0)
		return;
	x = cut_feed(&w->c, &t, clock_mono_us());
	if (x < 0 || w->cap_is_lo || t.link_len > PKT_LINK_MAX)
		return;
	/* Learn the link header toward a remote end: a frame from it,
	 * reversed, or a frame from the local end toward it, as it is. */
	if (!w->c.end[x].local &&
	    pkt_link_reverse(w->cap_dlt, bytes, t.link_len, w->link_to[x]) == 0) {
		w->link_len[x] = t.link_len;
		w->have_link[x] = true;
	} else if (w->c.end[x].local && !w->c.end[!x].local && w->cap_dlt != PKT_DLT_LINUX_SLL &&
		   w->cap_dlt != PKT_DLT_LINUX_SLL2) {
		memcpy(w->link_to[!x], bytes, t.link_len);
		w->link_len[!x] = t.link_len;
		w->have_link[!x] = true;
	}
}

/* net.ipv4.tcp_invalid_ratelimit of this namespace, in microseconds, with
 * a margin; CUT_RATE_US when it cannot be read.  (It governs IPv6 too.) */
static int64_t probe_spacing_us(void)
{
	char buf[32] = "";
	long ms;
	int fd = open("/proc/sys/net/ipv4/tcp_invalid_ratelimit", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return CUT_RATE_US;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return CUT_RATE_US;
	buf[n] = '\0';
	ms = strtol(buf, NULL, 10);
	if (ms < 0 || ms > 60000)
		return CUT_RATE_US;
	return (int64_t)ms * 1000 + 50000;
}

/* Is the local end E's socket still in the kernel's tables?  1, 0, -errno. */
static int local_alive(struct wire *w, int e)
{
	struct sockdiag_table t = { 0 };
	size_t alen = w->diag_family == AF_INET6 ? 16 : 4, i;
	int port = w->c.end[e].port, r;

	r = sockdiag_dump_inet(&t, w->diag_family, &port, 1);
	if (r < 0)
		goto out;
	r = 0;
	for (i = 0; i < t.ninet; i++) {
		const struct sockdiag_inet *s = &t.inet[i];
		if (s->sport == w->c.end[e].port && s->dport == w->c.end[!e].port &&
		    memcmp(s->src, w->diag_addr[e], alen) == 0 && memcmp(s->dst, w->diag_addr[!e], alen) == 0 &&
		    s->state != TCP_CLOSE)
			r = 1;
	}
out:
	sockdiag_table_clear(&t);
	return r;
}

/* The link's addresses (v4-mapped IPv6 taken as IPv4), the routes to
 * both ends, the interface, the capture, the state machine.  0 or -errno
 * (-ENODEV: IFACE is no interface here), ret->reason says what failed. */
static int wire_setup(struct wire *w, int family, const uint8_t *a, uint16_t ap, const uint8_t *b, uint16_t bp,
		      const char *iface, struct wire_result *ret)
{
	char filter[512], sa[INET6_ADDRSTRLEN], sb[INET6_ADDRSTRLEN];
	int ifindex[2], r, i;

	w->diag_family = family;
	memcpy(w->diag_addr[0], a, family == AF_INET6 ? 16 : 4);
	memcpy(w->diag_addr[1], b, family == AF_INET6 ? 16 : 4);
	if (family == AF_INET6 && is_v4mapped(a) && is_v4mapped(b)) {
		family = AF_INET;
		memcpy(w->addr[0], a + 12, 4);
		memcpy(w->addr[1], b + 12, 4);
	} else {
		memcpy(w->addr[0], a, family == AF_INET6 ? 16 : 4);
		memcpy(w->addr[1], b, family == AF_INET6 ? 16 : 4);
	}
	w->family = family;
	w->port[0] = ap;
	w->port[1] = bp;
	if (iface && if_nametoindex(iface) == 0) {
		snprintf(ret->reason, sizeof(ret->reason), "no such interface '%s'", iface);
		return -ENODEV;
	}
	for (i = 0; i < 2; i++) {
		r = route_lookup(family, w->addr[i], &ifindex[i], &ret->local[i]);
		if (r < 0) {
			inet_ntop(family, w->addr[i], sa, sizeof(sa));
			snprintf(ret->reason, sizeof(ret->reason), "no route to '%s': %s", sa, strerror(-r));
			return r;
		}
	}
	if (iface) {
		snprintf(ret->iface, sizeof(ret->iface), "%s", iface);
	} else {
		int idx = !ret->local[0] ? ifindex[0] : !ret->local[1] ? ifindex[1] : ifindex[0];
		if (!if_indextoname((unsigned)idx, ret->iface)) {
			r = -errno;
			snprintf(ret->reason, sizeof(ret->reason), "cannot name interface %d: %s", idx, strerror(-r));
			return r;
		}
	}
	inet_ntop(family, w->addr[0], sa, sizeof(sa));
	inet_ntop(family, w->addr[1], sb, sizeof(sb));
	snprintf(filter, sizeof(filter),
		 "%s tcp and ((src host %s and src port %u and dst host %s and dst port %u) or "
		 "(src host %s and src port %u and dst host %s and dst port %u))",
		 family == AF_INET6 ? "ip6 and" : "ip and", sa, ap, sb, bp, sb, bp, sa, ap);
	if (!(w->cap = open_pcap(ret->iface, filter, ret->reason, sizeof(ret->reason))))
		return -EIO;
	w->cap_dlt = pcap_datalink(w->cap);
	w->cap_is_lo = strcmp(ret->iface, "lo") == 0 && w->cap_dlt == PKT_DLT_EN10MB;
	cut_init(&w->c, family, w->addr[0], ap, ret->local[0], w->addr[1], bp, ret->local[1],
		 (uint32_t)(clock_mono_us() ^ getpid()));
	w->c.rate_us = probe_spacing_us();
	return 0;
}

/* Check the local ends the state machine asks about.  0 or -errno. */
static int wire_check(struct wire *w, struct wire_result *ret)
{
	int i, r;

	for (i = 0; i < 2; i++)
		if (w->c.end[i].local && !w->c.end[i].gone) {
			r = local_alive(w, i);
			if (r < 0) {
				snprintf(ret->reason, sizeof(ret->reason), "cannot dump sockets: %s", strerror(-r));
				return r;
			}
			cut_mark_gone(&w->c, i, r == 0);
		}
	return 0;
}

/* Run the state machine until it is done or DEADLINE: send, check,
 * capture.  0 with *RET_ST, or -errno (ret->reason says what failed). */
static int wire_run(struct wire *w, int64_t deadline, long long timeout_ms, struct wire_result *ret,
		    enum cut_state *ret_st)
{
	char ea[INET6_ADDRSTRLEN + 8];
	int r;

	for (;;) {
		struct cut_out out[2];
		size_t n, k;
		bool check;
		int64_t now = clock_mono_us(), wake;
		struct pollfd pfd;

		*ret_st = cut_next(&w->c, now, out, &n, &check, &wake);
		for (k = 0; k < n; k++)
			if ((r = send_seg(w, &out[k])) < 0) {
				fmt_end(w->family, w->addr[out[k].to], w->port[out[k].to], ea, sizeof(ea));
				snprintf(ret->reason, sizeof(ret->reason), "cannot send toward %s: %.160s", ea,
					 r == -EIO ? pcap_geterr(w->cap) : strerror(-r));
				return r;
			}
		if (check) {
			if ((r = wire_check(w, ret)) < 0)
				return r;
			continue;
		}
		if (*ret_st != CUT_RUNNING)
			return 0;
		if (now >= deadline) {
			snprintf(ret->reason, sizeof(ret->reason), "not cut within %lld ms", timeout_ms);
			return 0;
		}
		if (wake > deadline)
			wake = deadline;
		pfd.fd = pcap_get_selectable_fd(w->cap);
		pfd.events = POLLIN;
		if (wake > now && poll(&pfd, 1, (int)((wake - now + 999) / 1000)) < 0 && errno != EINTR) {
			r = -errno;
			snprintf(ret->reason, sizeof(ret->reason), "poll: %s", strerror(errno));
			return r;
		}
		if (pcap_dispatch(w->cap, -1, on_frame, (u_char *)w) < 0) {
			snprintf(ret->reason, sizeof(ret->reason), "capture on '%s' failed: %.160s", ret->iface,
				 pcap_geterr(w->cap));
			return -EIO;
		}
	}
}

int wire_cut(int family, const uint8_t *a, uint16_t ap, const uint8_t *b, uint16_t bp,
	     const char *iface, long long timeout_ms, struct wire_result *ret)
{
	struct wire w;
	char ea[INET6_ADDRSTRLEN + 8], eb[INET6_ADDRSTRLEN + 8];
	int64_t t0 = clock_mono_us();
	enum cut_state st;
	int r, i;

	memset(ret, 0, sizeof(*ret));
	memset(&w, 0, sizeof(w));
	w.raw = -1;
	if ((r = wire_setup(&w, family, a, ap, b, bp, iface, ret)) < 0 ||
	    (r = wire_run(&w, t0 + timeout_ms * 1000, timeout_ms, ret, &st)) < 0)
		goto out;
	ret->elapsed_ms = (clock_mono_us() - t0) / 1000;
	ret->cut = st == CUT_DONE;
	if (st == CUT_FAILED)
		snprintf(ret->reason, sizeof(ret->reason), "%s", w.c.reason);
	if (w.c.absent) {
		/* no need to dump first: a probe toward an end without the
		 * socket draws a RST from its kernel */
		fmt_end(w.family, w.addr[0], ap, ea, sizeof(ea));
		fmt_end(w.family, w.addr[1], bp, eb, sizeof(eb));
		snprintf(ret->reason, sizeof(ret->reason), "no such connection %s <-> %s (a probe drew a RST)", ea,
			 eb);
		r = -ENOENT;
	}
	for (i = 0; i < 2; i++)
		ret->how[i] = w.c.end[i].how;
	ret->probes = w.c.probes;
	ret->rounds = w.c.rounds;
out:
	if (w.cap)
		pcap_close(w.cap);
	if (w.raw >= 0)
		close(w.raw);
	return r;
}
