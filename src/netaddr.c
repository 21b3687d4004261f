/* SPDX-License-Identifier: MIT */
#include "netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "size.h"

/* "HOST:PORT" with a numeric HOST. */
static int netaddr_inet(const char *s, struct netaddr *a)
{
	const char *colon = strrchr(s, ':');
	struct sockaddr_in *in = (struct sockaddr_in *)&a->sa;
	char host[64];
	unsigned int port;
	size_t hlen;

	if (!colon || uint_parse(colon + 1, 1, 65535, &port))
		return -EINVAL;
	hlen = (size_t)(colon - s);
	if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->sa;

		if (hlen - 2 >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hlen - 2);
		host[hlen - 2] = 0;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		a->len = sizeof(*in6);
		return inet_pton(AF_INET6, host, &in6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = 0;
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)port);
	a->len = sizeof(*in);
	return inet_pton(AF_INET, host, &in->sin_addr) == 1 ? 0 : -EINVAL;
}

int netaddr_parse(const char *s, unsigned int allowed, struct netaddr *a)
{
	*a = (struct netaddr){ 0 };
	if ((allowed & NETADDR_UNIX) && !strncmp(s, "unix:", 5)) {
		struct sockaddr_un *un = (struct sockaddr_un *)&a->sa;
		size_t len = strlen(s + 5);

		if (len == 0 || len >= sizeof(un->sun_path))
			return -EINVAL;
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, s + 5, len + 1);
		a->scheme = NETADDR_UNIX;
		a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
		return 0;
	}
	if ((allowed & NETADDR_TCP) && !strncmp(s, "tcp:", 4)) {
		a->scheme = NETADDR_TCP;
		return netaddr_inet(s + 4, a);
	}
	if ((allowed & NETADDR_UDP) && !strncmp(s, "udp:", 4)) {
		a->scheme = NETADDR_UDP;
		return netaddr_inet(s + 4, a);
	}
	if ((allowed & NETADDR_BARE) && strchr(s, ':') && strncmp(s, "unix:", 5) &&
	    strncmp(s, "tcp:", 4) && strncmp(s, "udp:", 4)) {
		a->scheme = NETADDR_BARE;
		return netaddr_inet(s, a);
	}
	return -EINVAL;
}

bool netaddr_is_multicast(const struct netaddr *a)
{
	if (a->sa.ss_family == AF_INET)
		return IN_MULTICAST(ntohl(((const struct sockaddr_in *)&a->sa)->sin_addr.s_addr));
	if (a->sa.ss_family == AF_INET6)
		return IN6_IS_ADDR_MULTICAST(&((const struct sockaddr_in6 *)&a->sa)->sin6_addr);
	return false;
}
