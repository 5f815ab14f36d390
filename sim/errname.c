/*
 * errname.c - errno names for traces (see errname.h).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "errname.h"

#define E(x) { x, #x }

static const struct {
	int code;
	const char *name;
} names[] = {
	E(EAGAIN), E(EBADF), E(EINVAL), E(EADDRINUSE), E(EADDRNOTAVAIL), E(EAFNOSUPPORT),
	E(EINPROGRESS), E(EALREADY), E(EISCONN), E(ENOTCONN), E(ECONNREFUSED),
	E(ECONNRESET), E(ETIMEDOUT), E(EPIPE), E(EMFILE), E(ENOMEM), E(ENOBUFS),
	E(ENOPROTOOPT), E(ENETUNREACH), E(EOPNOTSUPP), E(ENOENT), E(EEXIST), E(ENOSPC),
	E(EFAULT), E(EHOSTUNREACH), E(EMSGSIZE), E(ENOTSOCK), E(EPERM), E(EACCES), E(EINTR),
	E(EDESTADDRREQ), E(ENOTSUP), E(ESHUTDOWN), E(ECONNABORTED), E(ENETDOWN), E(EPROTO),
	E(ENOMSG), E(EOVERFLOW),
};

int errno_value(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i].name, name) == 0)
			return names[i].code;
	return 0;
}

const char *errno_name(long err)
{
	size_t i;

	if (err < 0)
		err = -err;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == err)
			return names[i].name;
	return NULL;
}
