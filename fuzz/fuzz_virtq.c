/* SPDX-License-Identifier: MIT */
/*
 * The virtqueue walker against arbitrary rings. Input: byte 0 picks the
 * queue size (2^(b % 9)), byte 1 the features (bit 0 INDIRECT, bit 1
 * EVENT_IDX); the rest is copied over guest RAM from address 0, where the
 * rings sit. Every chain popped is checked to lie inside RAM and then
 * completed, as a device would.
 */
#include <stdint.h>
#include <string.h>

#include "fake_gm.h"
#include "virtio/queue.h"

#define RAM (64u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_chain c;
	struct virtq q;
	struct gm gm;
	uint8_t *ram;
	int r;

	if (size < 2 || !fake_gm_init(&gm, 0, RAM))
		return 0;
	ram = gm_ptr(&gm, 0, RAM);
	memcpy(ram, data + 2, size - 2 < RAM ? size - 2 : RAM);
	q = (struct virtq){ .size = (uint16_t)(1u << (data[0] % 9)),
			    .desc_gpa = 0,
			    .avail_gpa = 0x4000,
			    .used_gpa = 0x5000,
			    .indirect = data[1] & 1,
			    .event_idx = data[1] & 2 };
	if (virtq_start(&q, &gm) == 0) {
		for (unsigned int n = 0; n < 2 * VIRTQ_MAX_SIZE; n++) {
			r = virtq_pop(&q, &c);
			if (r <= 0)
				break;
			for (unsigned int i = 0; i < (unsigned int)c.nout + c.nin; i++) {
				uint8_t *b = c.iov[i].iov_base;

				if (b < ram || b + c.iov[i].iov_len > ram + RAM)
					__builtin_trap();
			}
			virtq_chain_write(&c, 0, "x", 1);
			virtq_push(&q, c.head, c.in_len);
			(void)virtq_need_interrupt(&q);
		}
	}
	fake_gm_free(&gm);
	return 0;
}
