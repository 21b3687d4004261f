/* SPDX-License-Identifier: MIT */
/*
 * A snapshot's memory file (docs/snapshot.md): guest RAM at its RAM
 * offsets (the regions in gm order, concatenated), sparse. A full one has
 * every page that is not all zeros as data and the zero pages as holes; a
 * diff has exactly the pages dirtied since the previous snapshot as data
 * (zeros included: a page the guest cleared must clear the base) and
 * every other page as a hole. memfile_merge applies a diff onto its base.
 */
#ifndef PETREL_SNAPSHOT_MEMFILE_H
#define PETREL_SNAPSHOT_MEMFILE_H

#include <stdint.h>

#include "log.h"
#include "mem.h"

/* Room for the one-line reason of a refusal. */
#define MEMFILE_WHY_MAX 256

/* Write guest RAM `gm` (`size` bytes in all) into the empty regular file
 * `fd`: ftruncate'd to `size`, then the data. With `dirty` NULL, a full
 * memory file; else a diff: the pages whose bit is set in `dirty`
 * (gm_pages(gm) bits, dirty.h's numbering) as data, everything else
 * holes. A diff is refused (-EOPNOTSUPP) on a file system whose holes are
 * coarser than a page or that keeps none: the merge could not tell the
 * pages apart. 0 or -errno with `why`. */
int memfile_write(const struct gm *gm, int fd, uint64_t size, const uint64_t *dirty,
		  char why[MEMFILE_WHY_MAX]) MUST_CHECK;

/* Apply the diff memory file `diff_fd` onto the memory file `base_fd`
 * (open for writing): each data extent of the diff (SEEK_DATA /
 * SEEK_HOLE) is copied to the same offset of the base; the holes leave the
 * base as it is. Both must be regular files of the same size, a multiple
 * of 4 KiB, and the diff's extents are clipped to that size (the diff is
 * hostile: it may change or shrink meanwhile; a short read is an error).
 * 0 or -errno with `why`; on error the base may hold part of the diff. */
int memfile_merge(int base_fd, int diff_fd, char why[MEMFILE_WHY_MAX]) MUST_CHECK;

#endif
