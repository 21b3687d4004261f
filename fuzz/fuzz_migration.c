/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for a live migration's target side (migrate/stream.h):
 * the input is what a source sends, parsed by mig_in_setup (header,
 * SETUP capped at 16 MiB of RAM, its configuration text), then, into RAM
 * laid out by gm_init of SETUP's size as the VM's would be, mig_in_pages
 * (PAGES until STATE), then the STATE container through snap_file_decode
 * (as the restore reads it) and the rest through mig_in_commit.
 *
 * A refusal has one line in `why` and leaves nothing allocated; an
 * accepted stream has a NUL-terminated configuration of the announced
 * length and a STATE within its limit. LeakSanitizer checks for leaked
 * buffers.
 *
 * Seeds in fuzz/corpus/migration/: a whole stream (1 MiB RAM, two page
 * runs, a valid container, COMMIT), the same cut short, one with a page
 * run outside RAM, a version-1 stream, a SETUP over the cap, a
 * configuration with a NUL, a configuration longer than the limit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "migrate/stream.h"
#include "snapshot/file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_why(const char *why)
{
	if (!memchr(why, 0, MIG_WHY_MAX) || !why[0] || strchr(why, '\n'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mig_mem_cap cap = { 16u << 20, "the fuzz target's limit" };
	struct mig_io io = { .fd = -1, .buf = data, .len = size };
	char why[MIG_WHY_MAX] = "", swhy[SNAP_WHY_MAX];
	struct snap_file f;
	struct mig_in in;
	struct gm ram;
	uint32_t flags;
	int err = mig_in_setup(&in, &io, &cap, why);

	if (err) {
		check_why(why);
		if (in.config || in.state)
			abort();
		return 0;
	}
	if (!in.config || strlen(in.config) != in.setup.config_len ||
	    in.setup.config_len > MIG_CONFIG_MAX || in.setup.mem_size > cap.bytes)
		abort();
	if (gm_init(&ram, in.setup.mem_size)) {
		mig_in_free(&in);
		return 0;
	}
	why[0] = 0;
	err = mig_in_pages(&in, &io, &ram, why);
	if (err) {
		check_why(why);
		if (in.state)
			abort();
		goto out;
	}
	if (!in.state_len || in.state_len > MIG_STATE_MAX || io.off > size)
		abort();
	snap_file_init(&f);
	if (snap_file_decode(&f, in.state, in.state_len, swhy) && !swhy[0])
		abort();
	snap_file_free(&f);
	why[0] = 0;
	if (mig_in_commit(&io, &flags, why)) {
		check_why(why);
	} else if (flags & ~MIG_COMMIT_RESUME) {
		abort();
	}
out:
	gm_destroy(&ram);
	mig_in_free(&in);
	return 0;
}
