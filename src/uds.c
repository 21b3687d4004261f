/* SPDX-License-Identifier: MIT */
#include "uds.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* The path is taken: is it a socket file nobody listens on? Then remove
 * it (0). A connect that is refused means no listener; one that succeeds
 * or would block means a live one. */
static int uds_remove_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int probe, err;

	if (lstat(sa->sun_path, &st))
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	err = connect(probe, (const struct sockaddr *)sa, sizeof(*sa)) ? errno : 0;
	close(probe);
	if (err == 0 || err == EAGAIN)
		return -EADDRINUSE;
	if (err != ECONNREFUSED)
		return -err;
	if (unlink(sa->sun_path) && errno != ENOENT)
		return -errno;
	return 0;
}

int uds_bind(int fd, const struct sockaddr_un *sa)
{
	int err;

	if (!bind(fd, (const struct sockaddr *)sa, sizeof(*sa)))
		return 0;
	if (errno != EADDRINUSE)
		return -errno;
	err = uds_remove_stale(sa);
	if (err)
		return err;
	return bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? -errno : 0;
}

int uds_free_path(const struct sockaddr_un *sa)
{
	int err = uds_remove_stale(sa);

	return err == -ENOENT ? 0 : err;
}

const char *uds_strerror(int err)
{
	if (err == -EEXIST)
		return "exists and is not a socket";
	if (err == -EADDRINUSE)
		return "in use (a program is listening on it)";
	if (err == -ENAMETOOLONG)
		return "path longer than 107 bytes"; /* sun_path, less its NUL */
	return strerror(-err);
}
