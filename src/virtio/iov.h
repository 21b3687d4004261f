/* SPDX-License-Identifier: MIT */
/*
 * Byte ranges over arrays of iovecs: a popped chain's buffers
 * (struct virtq_chain) or any part of them. The iovecs must describe
 * memory the caller may touch (for guest buffers: as the walker produced
 * them, each checked by gm_ptr); the guest may change its bytes while we
 * copy, so what is copied is only ever data, never a length or index to
 * trust.
 */
#ifndef PETREL_VIRTIO_IOV_H
#define PETREL_VIRTIO_IOV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "mem.h"

/* Copy up to `len` bytes between `buf` and the buffers iov[0, n),
 * starting `off` bytes into them: into the buffers if `to_iov`, out of
 * them otherwise. Returns the bytes copied (less than len where the
 * buffers end first). */
size_t iov_copy(const struct iovec *iov, unsigned int n, size_t off, void *buf, size_t len,
		bool to_iov);

/* Point dst at bytes [off, off + len) of the buffers iov[0, n), cut where
 * they end (len SIZE_MAX: everything from off on). dst needs room for n
 * entries; it may be iov itself, which then drops its first off bytes in
 * place (what a short read or write left to do). Returns the number of
 * entries written. */
unsigned int iov_slice(struct iovec *dst, const struct iovec *iov, unsigned int n, size_t off,
		       size_t len);

/* Mark the pages under the first `len` bytes of the buffers iov[0, n)
 * dirty in `gm` (gm_mark_dirty_host), after the device wrote them. */
void iov_mark_dirty(const struct gm *gm, const struct iovec *iov, unsigned int n, size_t len);

#endif
