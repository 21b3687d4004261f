/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a hostile vhost-user back end's replies. The input is
 * everything the back end sends, written ahead into a socket pair (then
 * its end is shut, so petrel's reads end instead of waiting); the front
 * end then runs a whole session: vhu_open, SET_FEATURES, SET_MEM_TABLE,
 * a vring start and GET_VRING_BASE. Also the input as one reply through
 * vhu_reply_parse, whose acceptance is checked against the header rules.
 * Checked: no crash, no leak, no fd left open, and a session that
 * succeeds only on replies that the rules accept.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "le.h"
#include "vhost_user/vhost_user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gm gm;

static void session(const uint8_t *data, size_t size)
{
	struct vhu_vring r = { .num = 16, .kick = -1, .call = -1, .err = -1 };
	uint16_t base;
	struct vhu v;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	if (size && write(sv[1], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[1], SHUT_WR);
	if (vhu_open(&v, sv[0], "fuzz", 100)) {
		close(sv[1]);
		if (v.fd != -1)
			abort();
		return;
	}
	r.desc = r.avail = r.used = gm.region[0].host;
	if (!vhu_set_features(&v, 1ULL << 32) && !vhu_set_mem_table(&v, &gm) &&
	    !vhu_vring_start(&v, 0, &r) && !vhu_vring_stop(&v, 0, &base))
		(void)base;
	vhu_close(&v);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t payload[8];

	if (size > 4096)
		return 0;
	if (!gm.nregions && gm_init_shared(&gm, 64 << 10))
		abort();
	/* One reply: accepted only as the rules say. */
	if (size >= 1 && !vhu_reply_parse(data + 1, size - 1, data[0], payload, 8)) {
		const uint8_t *h = data + 1;
		uint32_t flags = (uint32_t)le_get(h + 4, 4);

		if (size - 1 != 20 || le_get(h, 4) != data[0] || le_get(h + 8, 4) != 8 ||
		    (flags & 3) != 1 || !(flags & VHU_FLAG_REPLY) || (flags & ~0xfu) ||
		    memcmp(payload, h + 12, 8))
			abort();
	}
	session(data, size);
	return 0;
}
