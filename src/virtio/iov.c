/* SPDX-License-Identifier: MIT */
#include "virtio/iov.h"

#include <stdint.h>
#include <string.h>

size_t iov_copy(const struct iovec *iov, unsigned int n, size_t off, void *buf, size_t len,
		bool to_iov)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		uint8_t *host = iov[i].iov_base;
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len - done)
			l = len - done;
		if (to_iov)
			memcpy(host + off, (uint8_t *)buf + done, l);
		else
			memcpy((uint8_t *)buf + done, host + off, l);
		done += l;
		off = 0;
	}
	return done;
}

unsigned int iov_slice(struct iovec *dst, const struct iovec *iov, unsigned int n, size_t off,
		       size_t len)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && len; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len)
			l = len;
		dst[k++] =
		    (struct iovec){ .iov_base = (uint8_t *)iov[i].iov_base + off, .iov_len = l };
		len -= l;
		off = 0;
	}
	return k;
}

void iov_mark_dirty(const struct gm *gm, const struct iovec *iov, unsigned int n, size_t len)
{
	for (unsigned int i = 0; i < n && len; i++) {
		size_t l = iov[i].iov_len < len ? iov[i].iov_len : len;

		gm_mark_dirty_host(gm, iov[i].iov_base, l);
		len -= l;
	}
}
