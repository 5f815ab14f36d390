/*
 * tun.h - the TUN device `tcpdemux live` talks through, and its set-up.
 *
 * Path: tun_check_routes() (nothing is touched yet) -> tun_open()
 *       (/dev/net/tun, IFF_TUN | IFF_NO_PI, a new device only) ->
 *       tun_configure() (rtnetlink: the kernel's address on the device,
 *       link up) -> read()/write() of raw IP packets on the descriptor ->
 *       close(): the device disappears, with its addresses and routes.
 *
 * The device is not persistent, so the kernel removes it when its last
 * descriptor closes, whatever way the process ends: nothing is ever left
 * configured. No other interface is opened or changed, and no packet
 * socket or raw IP socket is used: the rtnetlink socket only talks to the
 * kernel's routing code.
 */
#ifndef TCPDEMUX_TUN_H
#define TCPDEMUX_TUN_H

#include <stddef.h>

#include "addr.h"

/* One subnet behind the device: the stack's address, the kernel's, the prefix. */
struct tun_net {
	struct ip_addr stack;  /* the miniature stack's address (what --listen names) */
	struct ip_addr kernel; /* the kernel's own address on the device */
	int prefix;            /* prefix length: the subnet the kernel routes to the device */
};

/*
 * Fills *n for the stack's address stack/prefix. kernel names the
 * kernel's address, or is NULL: the address after the stack's, or the one
 * before when that would leave the subnet or be its IPv4 broadcast.
 * Refuses a prefix that leaves no room for two hosts (IPv4 8..30, IPv6
 * 16..126), the subnet's own network or broadcast address, a kernel
 * address outside the subnet or equal to the stack's. Returns 0, or
 * -EINVAL with one line in err.
 */
int tun_net_make(struct tun_net *n, const struct ip_addr *stack, int prefix,
		 const struct ip_addr *kernel, char *err, size_t errlen);

/* Does a lie inside n's subnet? */
int tun_net_contains(const struct tun_net *n, const struct ip_addr *a);

/*
 * Refuses subnets the kernel already routes somewhere (another interface,
 * a local address, a blackhole): anything but a default route that
 * overlaps one of nets[0..count). Reads the routing tables only.
 * Returns 0, or a negative errno with one line in err naming the subnet
 * and the route in the way.
 */
int tun_check_routes(const char *dev, const struct tun_net *nets, int count, char *err,
		     size_t errlen);

/*
 * Creates the TUN device dev (IFF_TUN, no packet information, refused if
 * a device of that name exists: IFF_TUN_EXCL) and returns its descriptor,
 * non-blocking and close-on-exec. On failure returns a negative errno and
 * writes one line into err: no permission for /dev/net/tun, no TUN
 * support, the name in use or invalid. Nothing is left behind.
 */
int tun_open(const char *dev, char *err, size_t errlen);

/*
 * Gives the device the kernel's address of every net (IPv6 without
 * duplicate address detection, so it works at once) and sets it up, so
 * the kernel routes each subnet to it. Returns 0 or a negative errno with
 * one line in err; on failure the caller closes the descriptor, which
 * undoes everything.
 */
int tun_configure(const char *dev, const struct tun_net *nets, int count, char *err,
		  size_t errlen);

#endif
