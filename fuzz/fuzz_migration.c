/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for a live migration's target side (migrate/stream.h):
 * the input is what a source sends, parsed by mig_in_recv (header, SETUP
 * capped at 16 MiB of RAM, PAGES into the memfd, STATE), then the STATE
 * container through snap_file_decode (as the restore reads it) and the
 * rest through mig_in_commit.
 *
 * A refusal has one line in `why` and leaves nothing open; an accepted
 * stream has its RAM fd sized as SETUP said and a STATE within its limit.
 * LeakSanitizer checks for leaked buffers, and the fd count must not grow.
 *
 * Seeds in fuzz/corpus/migration/: a whole stream (1 MiB RAM, two page
 * runs, a valid container, COMMIT), the same cut short, and one with a
 * page run outside RAM.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	struct mig_io io = { .fd = -1, .buf = data, .len = size };
	char why[MIG_WHY_MAX] = "", swhy[SNAP_WHY_MAX];
	struct snap_file f;
	struct mig_in in;
	struct stat st;
	uint32_t flags;
	int err = mig_in_recv(&in, &io, 16u << 20, why);

	if (err) {
		check_why(why);
		if (in.mem_fd != -1 || in.state)
			abort();
		return 0;
	}
	if (fstat(in.mem_fd, &st) || (uint64_t)st.st_size != in.setup.mem_size || !in.state_len ||
	    in.state_len > MIG_STATE_MAX || io.off > size)
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
	mig_in_free(&in);
	return 0;
}
