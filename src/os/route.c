/* SPDX-License-Identifier: MIT */
/*
 * route.c -- the routing table adapter (see route.h).
 */
#include <errno.h>
#include <sys/socket.h>

#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/netlink.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include "pgevict/route.h"

int route_lookup(int family, const uint8_t *addr, int *ret_ifindex, bool *ret_local)
{
	struct nl_sock *sk = NULL;
	struct nl_addr *dst = NULL;
	struct rtnl_route *route = NULL;
	struct rtnl_nexthop *nh;
	int r;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (!(sk = nl_socket_alloc())) {
		r = -ENOMEM;
		goto out;
	}
	if (nl_connect(sk, NETLINK_ROUTE) < 0) {
		r = -EIO;
		goto out;
	}
	if (!(dst = nl_addr_build(family, addr, family == AF_INET6 ? 16 : 4))) {
		r = -ENOMEM;
		goto out;
	}
	if (rtnl_route_lookup(sk, dst, &route) < 0 || !route) {
		r = -ENETUNREACH;
		goto out;
	}
	nh = rtnl_route_nexthop_n(route, 0);
	if (!nh || rtnl_route_nh_get_ifindex(nh) <= 0) {
		r = -ENETUNREACH;
		goto out;
	}
	*ret_ifindex = rtnl_route_nh_get_ifindex(nh);
	*ret_local = rtnl_route_get_type(route) == RTN_LOCAL;
	r = 0;
out:
	if (route)
		rtnl_route_put(route);
	nl_addr_put(dst);
	nl_socket_free(sk);
	return r;
}
