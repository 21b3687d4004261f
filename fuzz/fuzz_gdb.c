/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: bytes from a hostile gdb into the stub's packet parser
 * and protocol engine (src/gdb/), over the fake target of the unit tests.
 *
 * Input: the peer's bytes, fed in chunks whose sizes come from the bytes
 * themselves; a 0xfe byte outside a chunk instead reports a debug exit
 * (vector and DR6 from the next bytes) as if the VM had stopped. Checked:
 * no crash or sanitizer report, replies fit the frame buffer, a session
 * that ended stays ended, and breakpoints never leave an int3 in memory
 * after a detach.
 */
#include <stdlib.h>
#include <string.h>

#include "fake_gdb_target.h"
#include "gdb/stub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fake_gdb fake;
static struct gdb_stub stub;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i = 0;
	int err = 0;

	memset(&fake, 0, sizeof(fake));
	gdb_stub_init(&stub, &fake_gdb_ops, &fake);
	while (i < size && !err) {
		if (data[i] == 0xfe && i + 2 < size) {
			if (stub.running &&
			    !gdb_stub_debug_exit(&stub, data[i + 1] & 1, data[i + 1] & 2 ? 3 : 1,
						 FAKE_GDB_BASE + data[i + 2], data[i + 2]))
				(void)gdb_stub_resume_foreign(&stub, 0, 3);
			i += 3;
			continue;
		}
		size_t chunk = (size_t)(data[i] % 64) + 1;

		if (chunk > size - i)
			chunk = size - i;
		err = gdb_stub_input(&stub, data + i, chunk);
		i += chunk;
	}
	if (!err) {
		gdb_stub_disconnect(&stub);
		for (unsigned int b = 0; b < GDB_MAX_SWBP; b++)
			if (stub.sw[b].used)
				abort();
	}
	if (gdb_stub_input(&stub, (const uint8_t *)"$?#3f", 5) != -ECONNRESET)
		abort(); /* an ended session stays ended */
	return 0;
}
