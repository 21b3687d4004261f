/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: bytes from a hostile stream peer (QEMU's -netdev
 * stream framing: a 4-byte big-endian length, then the frame) into the
 * reassembler of net_stream.c, over a socket pair.
 *
 * Input: byte 0 is the chunk size seed; the rest is what the peer sends,
 * written in chunks of varying size (1 to 256 bytes), each followed by
 * reads until the reassembler has nothing more. Checked: a frame is 14 to
 * VIRTIO_NET_FRAME_MAX bytes and exactly what the peer framed (compared
 * with a reference parse of the same bytes), and the framing breaks on
 * an oversized length and nowhere else.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "virtio/net.h"
#include "virtio/net_backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t frame_buf[VIRTIO_NET_FRAME_MAX];

/* The reference: where the next frame's length starts in the input. */
struct ref {
	const uint8_t *p;
	size_t left;
};

/* The next record of the reference parse: its length, and its body.
 * false when the input ends first. */
static bool ref_next(struct ref *r, uint32_t *len, const uint8_t **body)
{
	if (r->left < 4)
		return false;
	*len = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
	if (*len > VIRTIO_NET_FRAME_MAX) {
		*body = NULL;
		return true;
	}
	if (r->left - 4 < *len)
		return false;
	*body = r->p + 4;
	r->p += 4 + *len;
	r->left -= 4 + *len;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_stream_rx rx = { .frame = frame_buf };
	struct ref ref;
	unsigned int seed;
	size_t off = 1;
	bool broken = false;
	int sv[2];

	if (size < 1 || size > 1 << 20)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
		abort();
	seed = data[0];
	ref = (struct ref){ data + 1, size - 1 };
	while (off < size && !broken) {
		size_t chunk = 1 + (seed = seed * 1103515245u + 12345u) % 256;
		enum net_stream_rx_result r;

		if (chunk > size - off)
			chunk = size - off;
		if (write(sv[1], data + off, chunk) != (ssize_t)chunk)
			abort();
		off += chunk;
		while ((r = net_stream_rx_read(&rx, sv[0])) != NET_STREAM_RX_NONE) {
			uint32_t len;
			const uint8_t *body;

			if (r == NET_STREAM_RX_EOF || !ref_next(&ref, &len, &body))
				abort();
			if (r == NET_STREAM_RX_BROKEN) {
				if (body)
					abort();
				broken = true;
				break;
			}
			if (!body || len != rx.len)
				abort();
			if (r == NET_STREAM_RX_FRAME &&
			    (len < 14 || memcmp(rx.frame, body, len) != 0))
				abort();
			if (r == NET_STREAM_RX_DROPPED && len >= 14)
				abort();
		}
	}
	close(sv[0]);
	close(sv[1]);
	return 0;
}
