/*
 * addr.c - address helpers shared by every table and every front end.
 *
 * Pure functions only (inet_pton/inet_ntop do no I/O), so the stack may use
 * them without breaking its "no I/O" rule.
 */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int addr_parse(const char *text, struct ip_addr *out)
{
	char tmp[ADDR_STRLEN];
	size_t n = strlen(text);
	struct ip_addr x;

	if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
		if (n - 2 >= sizeof(tmp))
			return -EINVAL;
		memcpy(tmp, text + 1, n - 2);
		tmp[n - 2] = '\0';
		text = tmp;
	}
	memset(&x, 0, sizeof(x));
	if (inet_pton(AF_INET, text, x.a) == 1) {
		x.family = ADDR_V4;
	} else if (inet_pton(AF_INET6, text, x.a) == 1) {
		x.family = ADDR_V6;
	} else {
		return -EINVAL;
	}
	*out = x;
	return 0;
}

int endpoint_parse(const char *text, struct ip_addr *addr, uint16_t *port)
{
	char host[ADDR_STRLEN];
	const char *colon;
	char *end;
	unsigned long p;
	size_t hlen;
	struct ip_addr x;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		/* A bare IPv6 address has several colons: demand brackets. */
		if (!colon || strchr(text, ':') != colon)
			return -EINVAL;
	}
	hlen = (size_t)(colon - text);
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno || p > 65535)
		return -EINVAL;
	if (addr_parse(host, &x) < 0)
		return -EINVAL;
	*addr = x;
	*port = (uint16_t)p;
	return 0;
}

int addr_is_multicast(const struct ip_addr *x)
{
	if (x->family == ADDR_V6)
		return x->a[0] == 0xff;
	return (x->a[0] & 0xf0) == 0xe0 || (x->a[0] == 0xff && x->a[1] == 0xff && x->a[2] == 0xff && x->a[3] == 0xff);
}

uint32_t addr_v4_value(const struct ip_addr *x)
{
	return (uint32_t)x->a[0] << 24 | (uint32_t)x->a[1] << 16 |
	       (uint32_t)x->a[2] << 8 | x->a[3];
}

char *addr_format(const struct ip_addr *x, char *buf, size_t len)
{
	int af = x->family == ADDR_V6 ? AF_INET6 : AF_INET;

	if (!inet_ntop(af, x->a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

char *endpoint_format(const struct ip_addr *x, uint16_t port, char *buf, size_t len)
{
	char a[ADDR_STRLEN];

	addr_format(x, a, sizeof(a));
	if (x->family == ADDR_V6)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
	return buf;
}
