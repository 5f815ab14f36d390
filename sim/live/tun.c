/*
 * tun.c - see tun.h. The TUN device through /dev/net/tun's TUNSETIFF; its
 * address and link state through rtnetlink, as `ip addr add` and `ip link
 * set up` do, so nothing outside the process (no ip(8)) is needed.
 *
 * Why the stack and the kernel have different addresses: an address given
 * to the device becomes the kernel's own (its TCP answers it through the
 * loopback path), so the kernel takes one address of the subnet and the
 * miniature stack another. The kernel then routes the whole subnet to the
 * device, with its own address as the source: connect(10.9.0.1:80) leaves
 * from 10.9.0.2 through the device, and the stack reads it.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tun.h"

#define NL_BUF 32768

/* Do the prefixes a/alen and b/blen share an address? They do when they agree on the shorter one. */
static int prefixes_overlap(const uint8_t *a, const uint8_t *b, int alen, int blen)
{
	int bits = alen < blen ? alen : blen, i;

	for (i = 0; bits > 0; i++, bits -= 8) {
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		if ((a[i] & mask) != (b[i] & mask))
			return 0;
	}
	return 1;
}

int tun_net_contains(const struct tun_net *n, const struct ip_addr *a)
{
	return a->family == n->stack.family && prefixes_overlap(a->a, n->stack.a, n->prefix, n->prefix);
}

/* a + delta (+1 or -1) as a 128- or 32-bit number; the carry runs through the bytes. */
static struct ip_addr addr_step(const struct ip_addr *a, int delta)
{
	struct ip_addr x = *a;
	int i = x.family == ADDR_V4 ? 3 : 15;

	for (; i >= 0; i--) {
		uint8_t old = x.a[i];

		x.a[i] = (uint8_t)(old + delta);
		if ((delta > 0 && x.a[i] != 0) || (delta < 0 && old != 0))
			break;
	}
	return x;
}

/* Are the host bits of a (past prefix) all zero (want 0) or all one (want 0xff)? */
static int host_bits_all(const struct ip_addr *a, int prefix, uint8_t want)
{
	int bits = a->family == ADDR_V4 ? 32 : 128, i;

	for (i = prefix; i < bits; i++) {
		int bit = (a->a[i / 8] >> (7 - i % 8)) & 1;

		if (bit != (want & 1))
			return 0;
	}
	return 1;
}

int tun_net_make(struct tun_net *n, const struct ip_addr *stack, int prefix,
		 const struct ip_addr *kernel, char *err, size_t errlen)
{
	int v4 = stack->family == ADDR_V4;
	char a[ADDR_STRLEN], b[ADDR_STRLEN];

	memset(n, 0, sizeof(*n));
	n->stack = *stack;
	n->kernel = *stack;
	n->prefix = prefix;
	addr_format(stack, a, sizeof(a));
	if (v4 ? (prefix < 8 || prefix > 30) : (prefix < 16 || prefix > 126)) {
		snprintf(err, errlen, "--addr %s/%d: the prefix must be %s (a subnet with room for the stack and the kernel)",
			 a, prefix, v4 ? "from 8 to 30" : "from 16 to 126");
		return -EINVAL;
	}
	if (addr_is_multicast(stack) || host_bits_all(stack, prefix, 0) ||
	    (v4 && host_bits_all(stack, prefix, 0xff))) {
		snprintf(err, errlen, "--addr %s/%d: not a host address of that subnet (its network, broadcast or a multicast address)",
			 a, prefix);
		return -EINVAL;
	}
	if (kernel) {
		n->kernel = *kernel;
		addr_format(kernel, b, sizeof(b));
		if (kernel->family != stack->family || !tun_net_contains(n, kernel) ||
		    addr_equal(kernel, stack) || host_bits_all(kernel, prefix, 0) ||
		    (v4 && host_bits_all(kernel, prefix, 0xff))) {
			snprintf(err, errlen, "--peer %s: must be another host address of %s/%d", b, a, prefix);
			return -EINVAL;
		}
		return 0;
	}
	n->kernel = addr_step(stack, 1);
	if (!tun_net_contains(n, &n->kernel) || (v4 && host_bits_all(&n->kernel, prefix, 0xff)))
		n->kernel = addr_step(stack, -1);
	return 0;
}

/* ---- rtnetlink -------------------------------------------------------------------- */

struct nl_req {
	struct nlmsghdr h;
	union {
		struct ifaddrmsg ifa;
		struct ifinfomsg ifi;
		struct rtmsg rtm;
	} u;
	char attrs[256];
};

static int nl_open(void)
{
	struct sockaddr_nl sa;
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static void nl_attr(struct nl_req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->h.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/*
 * Sends r and reads the answers until the kernel's acknowledgement (a
 * request) or NLMSG_DONE (a dump, each message handed to each_msg).
 * Returns 0 or the kernel's negative errno.
 */
static int nl_talk(int fd, struct nl_req *r, void (*each_msg)(void *ctx, const struct nlmsghdr *h),
		   void *ctx)
{
	static uint32_t seq;
	char buf[NL_BUF];

	r->h.nlmsg_seq = ++seq;
	if (send(fd, r, r->h.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;
		size_t left;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		left = (size_t)n;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_seq != r->h.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EPROTO;
				return e->error; /* 0: the acknowledgement */
			}
			if (each_msg)
				each_msg(ctx, h);
		}
		if (n == 0)
			return -EPROTO;
	}
}

/* ---- routes in the way -------------------------------------------------------------- */

struct route_scan {
	const struct tun_net *nets;
	int count;
	int family;
	int found;             /* index + 1 of the net overlapped */
	uint8_t dst[16];       /* the route in the way */
	int dst_len;
	int oif;
	int type;
};

static void route_seen(void *ctx, const struct nlmsghdr *h)
{
	struct route_scan *s = ctx;
	const struct rtmsg *rtm = NLMSG_DATA(h);
	const struct rtattr *a;
	uint8_t dst[16];
	int len, oif = 0, i;

	if (s->found || h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)))
		return;
	/* A default route overlaps everything and says nothing; broadcast and multicast entries ride on unicast ones. */
	if (rtm->rtm_dst_len == 0 || rtm->rtm_type == RTN_BROADCAST || rtm->rtm_type == RTN_MULTICAST ||
	    rtm->rtm_type == RTN_ANYCAST)
		return;
	memset(dst, 0, sizeof(dst));
	len = (int)RTM_PAYLOAD(h);
	for (a = RTM_RTA(rtm); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		size_t n = RTA_PAYLOAD(a);

		if (a->rta_type == RTA_DST)
			memcpy(dst, RTA_DATA(a), n < sizeof(dst) ? n : sizeof(dst));
		else if (a->rta_type == RTA_OIF && n >= sizeof(int))
			memcpy(&oif, RTA_DATA(a), sizeof(int));
	}
	for (i = 0; i < s->count; i++) {
		const struct tun_net *n = &s->nets[i];

		if ((n->kernel.family == ADDR_V4) != (s->family == AF_INET))
			continue;
		if (prefixes_overlap(dst, n->kernel.a, rtm->rtm_dst_len, n->prefix)) {
			s->found = i + 1;
			memcpy(s->dst, dst, sizeof(dst));
			s->dst_len = rtm->rtm_dst_len;
			s->oif = oif;
			s->type = rtm->rtm_type;
			return;
		}
	}
}

int tun_check_routes(const char *dev, const struct tun_net *nets, int count, char *err,
		     size_t errlen)
{
	static const int families[2] = { AF_INET, AF_INET6 };
	int fd = nl_open(), k;

	if (fd < 0) {
		snprintf(err, errlen, "cannot read the routing table: %s", strerror(-fd));
		return fd;
	}
	for (k = 0; k < 2; k++) {
		struct route_scan s;
		struct nl_req r;
		int rc;

		memset(&s, 0, sizeof(s));
		s.nets = nets;
		s.count = count;
		s.family = families[k];
		memset(&r, 0, sizeof(r));
		r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
		r.h.nlmsg_type = RTM_GETROUTE;
		r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		r.u.rtm.rtm_family = (unsigned char)families[k];
		rc = nl_talk(fd, &r, route_seen, &s);
		if (rc == -EAFNOSUPPORT)
			continue; /* a kernel without IPv6 has no IPv6 routes */
		if (rc < 0) {
			close(fd);
			snprintf(err, errlen, "cannot read the routing table: %s", strerror(-rc));
			return rc;
		}
		if (s.found) {
			const struct tun_net *n = &nets[s.found - 1];
			struct ip_addr d = n->kernel;
			char a[ADDR_STRLEN], b[ADDR_STRLEN], ifname[IF_NAMESIZE] = "";

			memcpy(d.a, s.dst, 16);
			if (!s.oif || !if_indextoname((unsigned)s.oif, ifname))
				snprintf(ifname, sizeof(ifname), "%s", "no device");
			snprintf(err, errlen,
				 "%s: the subnet %s/%d is already routed (%s %s/%d via %s); pick a free subnet for --addr",
				 dev, addr_format(&n->stack, a, sizeof(a)), n->prefix,
				 s.type == RTN_LOCAL ? "local address" : "route", addr_format(&d, b, sizeof(b)),
				 s.dst_len, ifname);
			close(fd);
			return -EADDRINUSE;
		}
	}
	close(fd);
	return 0;
}

/* ---- the device ------------------------------------------------------------------------ */

int tun_open(const char *dev, char *err, size_t errlen)
{
	struct ifreq ifr;
	int fd, e;

	if (strlen(dev) >= IFNAMSIZ || !*dev || strchr(dev, '/') || strchr(dev, ' ') || strchr(dev, ':')) {
		snprintf(err, errlen, "--tun '%s': not a valid device name (1 to %d characters, no '/', ':' or space)",
			 dev, IFNAMSIZ - 1);
		return -EINVAL;
	}
	/* Said before trying: TUNSETIFF would attach to an existing TUN device of that name. */
	if (if_nametoindex(dev)) {
		snprintf(err, errlen, "%s: a device of that name exists already (choose another with --tun)", dev);
		return -EEXIST;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = -errno;
		if (e == -EACCES || e == -EPERM)
			snprintf(err, errlen, "/dev/net/tun: %s (live mode needs root, or CAP_NET_ADMIN)", strerror(-e));
		else if (e == -ENOENT || e == -ENODEV || e == -ENXIO)
			snprintf(err, errlen, "/dev/net/tun: %s (no TUN support: modprobe tun)", strerror(-e));
		else
			snprintf(err, errlen, "/dev/net/tun: %s", strerror(-e));
		return e;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_TUN_EXCL;
	memcpy(ifr.ifr_name, dev, strlen(dev));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = -errno;
		close(fd);
		if (e == -EPERM || e == -EACCES)
			snprintf(err, errlen, "%s: cannot create a TUN device: %s (live mode needs root, or CAP_NET_ADMIN)",
				 dev, strerror(-e));
		else if (e == -EBUSY || e == -EEXIST || e == -EINVAL)
			snprintf(err, errlen, "%s: the name is in use (choose another with --tun)", dev);
		else
			snprintf(err, errlen, "%s: cannot create a TUN device: %s", dev, strerror(-e));
		return e;
	}
	return fd;
}

static int add_address(int nl, int ifindex, const struct tun_net *n)
{
	struct nl_req r;
	size_t alen = n->kernel.family == ADDR_V4 ? 4 : 16;

	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	r.h.nlmsg_type = RTM_NEWADDR;
	r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	r.u.ifa.ifa_family = n->kernel.family == ADDR_V4 ? AF_INET : AF_INET6;
	r.u.ifa.ifa_prefixlen = (unsigned char)n->prefix;
	/* No duplicate address detection: the address is usable at once, not "tentative" for a second. */
	r.u.ifa.ifa_flags = n->kernel.family == ADDR_V6 ? IFA_F_NODAD : 0;
	r.u.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	r.u.ifa.ifa_index = (unsigned)ifindex;
	nl_attr(&r, IFA_LOCAL, n->kernel.a, alen);
	nl_attr(&r, IFA_ADDRESS, n->kernel.a, alen);
	return nl_talk(nl, &r, NULL, NULL);
}

static int link_up(int nl, int ifindex)
{
	struct nl_req r;

	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.h.nlmsg_type = RTM_NEWLINK;
	r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	r.u.ifi.ifi_family = AF_UNSPEC;
	r.u.ifi.ifi_index = ifindex;
	r.u.ifi.ifi_flags = IFF_UP;
	r.u.ifi.ifi_change = IFF_UP;
	return nl_talk(nl, &r, NULL, NULL);
}

int tun_configure(const char *dev, const struct tun_net *nets, int count, char *err,
		  size_t errlen)
{
	int ifindex = (int)if_nametoindex(dev), nl, rc, i;
	char a[ADDR_STRLEN];

	if (!ifindex) {
		snprintf(err, errlen, "%s: the device vanished: %s", dev, strerror(errno));
		return -ENODEV;
	}
	nl = nl_open();
	if (nl < 0) {
		snprintf(err, errlen, "%s: cannot configure the device: %s", dev, strerror(-nl));
		return nl;
	}
	rc = link_up(nl, ifindex);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot set the device up: %s", dev, strerror(-rc));
		close(nl);
		return rc;
	}
	for (i = 0; i < count; i++) {
		rc = add_address(nl, ifindex, &nets[i]);
		if (rc < 0) {
			snprintf(err, errlen, "%s: cannot give the device the address %s/%d: %s%s", dev,
				 addr_format(&nets[i].kernel, a, sizeof(a)), nets[i].prefix, strerror(-rc),
				 nets[i].kernel.family == ADDR_V6 && rc == -EACCES
					 ? " (IPv6 is disabled here: net.ipv6.conf.all.disable_ipv6)"
					 : "");
			close(nl);
			return rc;
		}
	}
	close(nl);
	return 0;
}
