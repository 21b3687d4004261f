/* SPDX-License-Identifier: MIT */
/* Byte ranges over iovec arrays (src/virtio/iov.c), on buffers of 3, 0, 5
 * and 4 bytes: offsets that skip whole buffers, copies cut short where
 * the buffers end, slices cut at both ends. */
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "virtio/iov.h"

static uint8_t mem[12];
static const struct iovec iov[4] = {
	{ mem, 3 },
	{ mem + 3, 0 },
	{ mem + 3, 5 },
	{ mem + 8, 4 },
};

static void iov_copy_out(void)
{
	uint8_t out[16];

	for (unsigned int i = 0; i < sizeof(mem); i++)
		mem[i] = (uint8_t)(i + 1);
	memset(out, 0, sizeof(out));
	CHECK(iov_copy(iov, 4, 2, out, 7, false) == 7);
	CHECK(out[0] == 3 && out[6] == 9 && out[7] == 0);
	CHECK(iov_copy(iov, 4, 10, out, 16, false) == 2 && out[0] == 11 && out[1] == 12);
	CHECK(iov_copy(iov, 4, 12, out, 16, false) == 0);
	CHECK(iov_copy(iov, 2, 0, out, 16, false) == 3); /* only the first two entries */
}

static void iov_copy_in(void)
{
	memset(mem, 0, sizeof(mem));
	CHECK(iov_copy(iov, 4, 7, "abcdefgh", 8, true) == 5);
	CHECK(mem[6] == 0 && memcmp(mem + 7, "abcde", 5) == 0);
}

static void iov_slice_ranges(void)
{
	struct iovec d[4];

	CHECK(iov_slice(d, iov, 4, 4, 5) == 2);
	CHECK(d[0].iov_base == mem + 4 && d[0].iov_len == 4);
	CHECK(d[1].iov_base == mem + 8 && d[1].iov_len == 1);
	CHECK(iov_slice(d, iov, 4, 3, SIZE_MAX) == 2); /* the empty entry is skipped */
	CHECK(d[0].iov_base == mem + 3 && d[0].iov_len == 5 && d[1].iov_len == 4);
	CHECK(iov_slice(d, iov, 4, 0, 0) == 0);
	CHECK(iov_slice(d, iov, 4, 12, 5) == 0);
}

/* dst == iov: drop what a short transfer already moved, in place. */
static void iov_slice_in_place(void)
{
	struct iovec v[4];

	memcpy(v, iov, sizeof(v));
	CHECK(iov_slice(v, v, 4, 4, SIZE_MAX) == 2); /* the empty one goes too */
	CHECK(v[0].iov_base == mem + 4 && v[0].iov_len == 4);
	CHECK(v[1].iov_base == mem + 8 && v[1].iov_len == 4);
	CHECK(iov_slice(v, v, 2, 8, SIZE_MAX) == 0);
}

int main(void)
{
	RUN(iov_copy_out);
	RUN(iov_copy_in);
	RUN(iov_slice_ranges);
	RUN(iov_slice_in_place);
	return harness_exit();
}
