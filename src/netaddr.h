/* SPDX-License-Identifier: MIT */
/*
 * The socket addresses of the network links (--net stream=, dgram=):
 * "unix:PATH", "tcp:HOST:PORT", "udp:HOST:PORT", and a bare "HOST:PORT".
 * HOST is a numeric IPv4 address or an IPv6 one in brackets ("[::1]"):
 * petrel looks no names up (no resolver in a static binary, and no
 * surprise DNS traffic from a VMM).
 */
#ifndef PETREL_NETADDR_H
#define PETREL_NETADDR_H

#include <stdbool.h>
#include <sys/socket.h>

#include "log.h"

enum netaddr_scheme {
	NETADDR_UNIX = 1, /* "unix:PATH" */
	NETADDR_TCP = 2,  /* "tcp:HOST:PORT" */
	NETADDR_UDP = 4,  /* "udp:HOST:PORT" */
	NETADDR_BARE = 8, /* "HOST:PORT" */
};

struct netaddr {
	enum netaddr_scheme scheme;
	struct sockaddr_storage sa;
	socklen_t len;
};

/* Parse `s` as one of the schemes in `allowed` (a mask) into a. A unix
 * PATH is 1 to 107 bytes; a port 1 to 65535. 0 or -EINVAL. */
int netaddr_parse(const char *s, unsigned int allowed, struct netaddr *a) MUST_CHECK;

/* Is a an IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast address? */
bool netaddr_is_multicast(const struct netaddr *a);

#endif
