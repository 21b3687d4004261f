/* SPDX-License-Identifier: MIT */
#include "virtio/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* What the user can do about the usual TUNSETIFF failures. */
static const char *tap_hint(int err)
{
	switch (err) {
	case EPERM:
		return " (creating a tap needs CAP_NET_ADMIN; create it beforehand with "
		       "'ip tuntap add dev NAME mode tap user USER')";
	case EBUSY:
		return " (another process has it open)";
	case EINVAL:
		return " (an invalid name, or an existing interface that is not a single-queue "
		       "tap)";
	default:
		return "";
	}
}

int tap_open(const char *name, int hdr_len)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	size_t len = strlen(name);
	int fd, err;

	if (len == 0 || len >= IFNAMSIZ) {
		log_msg("tap '%s': an interface name is 1 to %d bytes", name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	memcpy(ifr.ifr_name, name, len);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		log_msg("tap '%s': /dev/net/tun: %s", name, strerror(-err));
		return err;
	}
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		err = -errno;
		log_msg("tap '%s': %s%s", name, strerror(-err), tap_hint(-err));
		goto err_fd;
	}
	/* The header's fields are little-endian (virtio 1.x); so is the
	 * tap's default byte order on the little-endian hosts petrel runs on,
	 * so TUNSETVNETLE is not needed. */
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len)) {
		err = -errno;
		log_msg("tap '%s': setting a %d-byte virtio-net header: %s", name, hdr_len,
			strerror(-err));
		goto err_fd;
	}
	/* An existing tap keeps the offloads its last user set. */
	err = tap_set_offload(fd, 0);
	if (err) {
		log_msg("tap '%s': clearing offloads: %s", name, strerror(-err));
		goto err_fd;
	}
	return fd;

err_fd:
	close(fd);
	return err;
}

int tap_set_offload(int fd, unsigned int tun_flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)tun_flags) ? -errno : 0;
}
