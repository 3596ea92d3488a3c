/* SPDX-License-Identifier: MIT */
/*
 * sockdiag.c -- the netlink sock_diag adapter (see sockdiag.h): the
 * dumps and SOCK_DESTROY.  The tables they fill, the filter bytecode and
 * the message decoding are pure, in socktab.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/attr.h>

#include "pgevict/sockdiag.h"

struct dump_ctx {
	struct sockdiag_table *t;
	int family;
	int err;
};

static int on_inet(struct nl_msg *msg, void *arg)
{
	struct dump_ctx *ctx = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct sockdiag_inet e, *nv;

	if (sockdiag_decode_inet(nlmsg_data(h), (size_t)nlmsg_datalen(h), &e) < 0)
		return NL_SKIP;
	nv = realloc(ctx->t->inet, (ctx->t->ninet + 1) * sizeof(*nv));
	if (!nv) {
		ctx->err = -ENOMEM;
		return NL_STOP;
	}
	ctx->t->inet = nv;
	nv[ctx->t->ninet++] = e;
	return NL_OK;
}

static int on_unix(struct nl_msg *msg, void *arg)
{
	struct dump_ctx *ctx = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct unix_diag_msg *m;
	struct nlattr *tb[UNIX_DIAG_MAX + 1];
	struct sockdiag_unix e = { 0 }, *nv;

	if ((size_t)nlmsg_datalen(h) < sizeof(*m))
		return NL_SKIP;
	m = nlmsg_data(h);
	if (nlmsg_parse(h, sizeof(*m), tb, UNIX_DIAG_MAX, NULL) < 0)
		return NL_SKIP;
	e.inode = m->udiag_ino;
	e.state = m->udiag_state;
	if (tb[UNIX_DIAG_PEER])
		e.peer = nla_get_u32(tb[UNIX_DIAG_PEER]);
	if (tb[UNIX_DIAG_NAME] && nla_len(tb[UNIX_DIAG_NAME]) > 0) {
		int n = nla_len(tb[UNIX_DIAG_NAME]);
		char *s = malloc((size_t)n + 1);
		if (!s) {
			ctx->err = -ENOMEM;
			return NL_STOP;
		}
		memcpy(s, nla_data(tb[UNIX_DIAG_NAME]), (size_t)n);
		s[n] = '\0';
		if (s[0] == '\0')
			s[0] = '@';
		e.name = s;
	}
	nv = realloc(ctx->t->unx, (ctx->t->nunix + 1) * sizeof(*nv));
	if (!nv) {
		free(e.name);
		ctx->err = -ENOMEM;
		return NL_STOP;
	}
	ctx->t->unx = nv;
	nv[ctx->t->nunix++] = e;
	return NL_OK;
}

/* Send one dump request (header HDR of HLEN bytes, optional attribute) and
 * feed every answer to CB. */
static int dump(const void *hdr, size_t hlen, int attr, const void *adata, size_t alen,
		nl_recvmsg_msg_cb_t cb, struct dump_ctx *ctx)
{
	struct nl_sock *sk = NULL;
	struct nl_msg *msg = NULL;
	int r;

	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	r = nl_connect(sk, NETLINK_SOCK_DIAG);
	if (r < 0) {
		r = -EPROTONOSUPPORT;
		goto out;
	}
	nl_socket_set_buffer_size(sk, 1 << 20, 0);
	msg = nlmsg_alloc_simple(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP);
	if (!msg) {
		r = -ENOMEM;
		goto out;
	}
	if (nlmsg_append(msg, (void *)hdr, hlen, NLMSG_ALIGNTO) < 0 ||
	    (attr && nla_put(msg, attr, (int)alen, adata) < 0)) {
		r = -ENOMEM;
		goto out;
	}
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, cb, ctx);
	r = nl_send_auto(sk, msg);
	if (r < 0) {
		r = -EIO;
		goto out;
	}
	r = nl_recvmsgs_default(sk);
	if (r < 0)
		r = r == -NLE_OBJ_NOTFOUND || r == -NLE_NOADDR ? -ENOENT : -EIO;
	else
		r = ctx->err;
out:
	nlmsg_free(msg);
	nl_socket_free(sk);
	return r;
}

int sockdiag_dump_inet(struct sockdiag_table *t, int family, const int *ports, size_t nports)
{
	struct inet_diag_req_v2 req;
	uint8_t bc[4096];
	size_t bclen = 0;
	struct dump_ctx ctx = { .t = t, .family = family };

	memset(&req, 0, sizeof(req));
	req.sdiag_family = (uint8_t)family;
	req.sdiag_protocol = IPPROTO_TCP;
	req.idiag_states = ~0u & ~((1u << TCP_LISTEN) | (1u << TCP_TIME_WAIT) | (1u << TCP_SYN_RECV));
	req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if (nports) {
		bclen = sockdiag_port_filter(ports, nports, bc, sizeof(bc));
		if (!bclen)
			return -E2BIG;
	}
	return dump(&req, sizeof(req), bclen ? INET_DIAG_REQ_BYTECODE : 0, bc, bclen, on_inet, &ctx);
}

int sockdiag_dump_unix(struct sockdiag_table *t)
{
	struct unix_diag_req req;
	struct dump_ctx ctx = { .t = t, .family = AF_UNIX };

	memset(&req, 0, sizeof(req));
	req.sdiag_family = AF_UNIX;
	req.udiag_states = ~0u;
	req.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER;
	req.udiag_cookie[0] = INET_DIAG_NOCOOKIE;
	req.udiag_cookie[1] = INET_DIAG_NOCOOKIE;
	return dump(&req, sizeof(req), 0, NULL, 0, on_unix, &ctx);
}

/* libnl's error for a netlink ack, as -errno. */
static int nlerr_errno(int nlerr)
{
	switch (-nlerr) {
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_OBJ_NOTFOUND:
	case NLE_NOADDR:
		return -ENOENT;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_INVAL:
		return -EINVAL;
	default:
		return -EIO;
	}
}

int sockdiag_destroy(const struct sockdiag_inet *e)
{
	struct nl_sock *sk = NULL;
	struct nl_msg *msg = NULL;
	struct inet_diag_req_v2 req;
	int r;

	memset(&req, 0, sizeof(req));
	req.sdiag_family = (uint8_t)e->family;
	req.sdiag_protocol = IPPROTO_TCP;
	req.idiag_states = ~0u;
	req.id.idiag_sport = htons(e->sport);
	req.id.idiag_dport = htons(e->dport);
	memcpy(req.id.idiag_src, e->src, e->family == AF_INET ? 4 : 16);
	memcpy(req.id.idiag_dst, e->dst, e->family == AF_INET ? 4 : 16);
	req.id.idiag_cookie[0] = e->cookie[0];
	req.id.idiag_cookie[1] = e->cookie[1];

	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	if (nl_connect(sk, NETLINK_SOCK_DIAG) < 0) {
		r = -EPROTONOSUPPORT;
		goto out;
	}
	msg = nlmsg_alloc_simple(SOCK_DESTROY, NLM_F_REQUEST | NLM_F_ACK);
	if (!msg || nlmsg_append(msg, &req, sizeof(req), NLMSG_ALIGNTO) < 0) {
		r = -ENOMEM;
		goto out;
	}
	r = nl_send_auto(sk, msg);
	if (r < 0) {
		r = nlerr_errno(r);
		goto out;
	}
	r = nl_wait_for_ack(sk);
	if (r < 0)
		r = nlerr_errno(r);
out:
	nlmsg_free(msg);
	nl_socket_free(sk);
	return r;
}

int sockdiag_inet_alive(int family, int port, unsigned long inode)
{
	struct sockdiag_table t = { 0 };
	size_t i;
	int r;

	r = sockdiag_dump_inet(&t, family, &port, 1);
	if (r < 0)
		return r;
	for (i = 0, r = 0; i < t.ninet && !r; i++)
		r = t.inet[i].inode == inode && t.inet[i].state != TCP_CLOSE;
	sockdiag_table_clear(&t);
	return r;
}
