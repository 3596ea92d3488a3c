/* SPDX-License-Identifier: MIT */
/*
 * route.h -- the routing table adapter (libnl-route).
 *
 * Owns asking the kernel how it would reach an address: the output
 * interface and whether the address is one of this network namespace's
 * own (a local route).  Works in the caller's network namespace.
 */
#ifndef PGEVICT_ROUTE_H
#define PGEVICT_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The route to ADDR (FAMILY, network order, v4 in the first 4 bytes):
 * *ret_ifindex its output interface (lo for a local address), *ret_local
 * whether ADDR is an address of this namespace.  Needs no privilege.
 * 0; -ENETUNREACH when there is no route; -ENOMEM; -EIO.
 */
int route_lookup(int family, const uint8_t *addr, int *ret_ifindex, bool *ret_local);

#endif
