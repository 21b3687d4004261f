/* SPDX-License-Identifier: MIT */
/* The Uffd memory backend's handshake (uffd.h). */
#include "snapshot/uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define UFFD_HINT                                                                                  \
	"allow it: sysctl vm.unprivileged_userfaultfd=1, or read-write access to "                 \
	"/dev/userfaultfd for this user"

void uffd_backend_init(struct uffd_backend *b)
{
	*b = (struct uffd_backend){ .uffd = -1, .sock = -1, .pidfd = -1 };
}

/* The uffd of a process without CAP_SYS_PTRACE: the syscall refuses one
 * that sees kernel-mode faults (KVM's are) unless the sysctl allows it;
 * /dev/userfaultfd (Linux 6.1) gives one to whoever may open it. */
static int uffd_from_device(int flags)
{
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC), fd;

	if (dev < 0)
		return -errno;
	fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
	fd = fd < 0 ? -errno : fd;
	close(dev);
	return fd;
}

int uffd_create(void)
{
	/* Non-blocking, as Firecracker's: the server shares the file
	 * description and its flags, and Firecracker's servers poll it. */
	int flags = O_CLOEXEC | O_NONBLOCK;
	int fd = (int)syscall(SYS_userfaultfd, flags);
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_EVENT_REMOVE };

	if (fd < 0) {
		int err = -errno, dev = uffd_from_device(flags);

		if (dev < 0) {
			/* No device (before 6.1): the syscall's reason. */
			if (dev != -ENOENT)
				err = dev;
			if (err == -EPERM || err == -EACCES)
				log_msg("userfaultfd: %s (" UFFD_HINT ")", strerror(-err));
			else
				log_msg("userfaultfd: %s", strerror(-err));
			return err;
		}
		fd = dev;
	}
	if (ioctl(fd, UFFDIO_API, &api)) {
		int err = -errno;

		log_msg("userfaultfd: UFFDIO_API with remove events: %s", strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

static int uffd_connect(struct uffd_backend *b)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int err;

	if (strlen(b->path) >= sizeof(sa.sun_path)) {
		log_msg("page server '%s': path longer than %zu bytes", b->path,
			sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, b->path, strlen(b->path) + 1);
	/* Non-blocking: a server that accepts nothing (a full backlog) is
	 * an error, not a VMM thread waiting forever. */
	b->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (b->sock < 0) {
		err = -errno;
		log_msg("page server '%s': socket: %s", b->path, strerror(errno));
		return err;
	}
	if (!connect(b->sock, (const struct sockaddr *)&sa, sizeof(sa)))
		return 0;
	err = -errno;
	if (err == -ECONNREFUSED && !lstat(b->path, &st) && !S_ISSOCK(st.st_mode))
		log_msg("page server '%s': not a unix socket", b->path);
	else if (err == -ECONNREFUSED)
		log_msg("page server '%s': %s (nothing listens on it)", b->path, strerror(-err));
	else if (err == -EAGAIN)
		log_msg("page server '%s': its backlog is full (it accepts no connection)",
			b->path);
	else
		log_msg("page server '%s': %s", b->path, strerror(-err));
	return err;
}

int uffd_backend_open(struct uffd_backend *b, const char *path)
{
	int err;

	uffd_backend_init(b);
	snprintf(b->path, sizeof(b->path), "%s", path);
	/* The socket first: its errors are the likelier ones. */
	err = uffd_connect(b);
	if (!err) {
		b->uffd = uffd_create();
		err = b->uffd < 0 ? b->uffd : 0;
	}
	if (err)
		uffd_backend_close(b);
	return err;
}

/* printf at buf + *len; false if it does not fit. */
__attribute__((format(printf, 4, 5))) static bool append(char *buf, size_t size, size_t *len,
							 const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - *len)
		return false;
	*len += (size_t)n;
	return true;
}

int uffd_regions_json(const struct gm *gm, char *buf, size_t size)
{
	uint64_t offset = 0;
	size_t len = 0;
	bool ok = size > 0 && append(buf, size, &len, "[");

	/* serde_json's compact form of Firecracker's GuestRegionUffdMapping,
	 * its fields in its order; offset: the regions are one after the
	 * other in the memory file. */
	for (unsigned int i = 0; ok && i < gm->nregions; i++) {
		const struct gm_region *r = &gm->region[i];

		ok = append(buf, size, &len,
			    "%s{\"base_host_virt_addr\":%llu,\"size\":%llu,\"offset\":%llu,"
			    "\"page_size\":%u,\"page_size_kib\":%u}",
			    i ? "," : "", (unsigned long long)(uintptr_t)r->host,
			    (unsigned long long)r->size, (unsigned long long)offset, UFFD_PAGE_SIZE,
			    UFFD_PAGE_SIZE);
		offset += r->size;
	}
	ok = ok && append(buf, size, &len, "]");
	return ok ? (int)len : -ENOSPC;
}

/* The process listening on the socket (its credentials at listen()),
 * for a pidfd that becomes readable when it exits. */
static void uffd_watch_peer(struct uffd_backend *b)
{
	struct ucred cred = { 0 };
	socklen_t len = sizeof(cred);

	if (getsockopt(b->sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.pid <= 0) {
		log_info("page server '%s': its process is not visible here: not watched", b->path);
		return;
	}
	b->pid = cred.pid;
	b->pidfd = (int)syscall(SYS_pidfd_open, cred.pid, 0);
	if (b->pidfd < 0) {
		log_info("page server '%s': pidfd_open(%d): %s: not watched", b->path,
			 (int)cred.pid, strerror(errno));
		b->pidfd = -1;
	}
}

int uffd_backend_send(struct uffd_backend *b, const struct gm *gm)
{
	char body[UFFD_MSG_MAX], ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)
	};
	struct cmsghdr *c;
	int len = uffd_regions_json(gm, body, sizeof(body));
	ssize_t n;

	if (len < 0) {
		log_msg("page server '%s': %u regions do not fit the message", b->path,
			gm->nregions);
		return len;
	}
	for (unsigned int i = 0; i < gm->nregions; i++) {
		struct uffdio_register reg = {
			.range = { .start = (uintptr_t)gm->region[i].host,
				   .len = gm->region[i].size },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (ioctl(b->uffd, UFFDIO_REGISTER, &reg)) {
			int err = -errno;

			log_msg("userfaultfd: registering guest RAM: %s", strerror(errno));
			return err;
		}
	}
	iov = (struct iovec){ body, (size_t)len };
	memset(ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &b->uffd, sizeof(int));
	do
		n = sendmsg(b->sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != len) {
		int err = n < 0 ? -errno : -EIO;

		log_msg("page server '%s': sending the handshake: %s", b->path,
			n < 0 ? strerror(errno) : "cut short");
		return err;
	}
	uffd_watch_peer(b);
	return 0;
}

void uffd_backend_close(struct uffd_backend *b)
{
	if (b->pidfd >= 0)
		close(b->pidfd);
	if (b->sock >= 0)
		close(b->sock);
	if (b->uffd >= 0)
		close(b->uffd);
	b->pidfd = b->sock = b->uffd = -1;
}
