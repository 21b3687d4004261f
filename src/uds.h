/* SPDX-License-Identifier: MIT */
/* Listening unix sockets that petrel creates (--api, the vsock socket). */
#ifndef PETREL_UDS_H
#define PETREL_UDS_H

#include <sys/un.h>

#include "log.h"

/* bind() `fd` to `sa`, replacing a socket file that nobody accepts on
 * (left behind by a petrel that was killed). 0; -EADDRINUSE if a live
 * socket holds the path; -EEXIST if the path is some other kind of file
 * (it is left alone); or another -errno. */
int uds_bind(int fd, const struct sockaddr_un *sa) MUST_CHECK;

/* Make `sa`'s path free for a socket: 0 if nothing is there or it was a
 * socket file nobody accepts on (removed); else uds_bind's -EADDRINUSE,
 * -EEXIST or another -errno. (For a listener bound under another name and
 * renamed to this one.) */
int uds_free_path(const struct sockaddr_un *sa) MUST_CHECK;

/* What uds_bind's error means, for a "<what> 'PATH': ..." line: its two
 * own errors and a path too long for sun_path in words, strerror for the
 * rest. */
const char *uds_strerror(int err);

#endif
