/* SPDX-License-Identifier: MIT */
/* Guest memory backed by calloc'd buffers, for loaders and table builders. */
#ifndef PETREL_TEST_FAKE_GM_H
#define PETREL_TEST_FAKE_GM_H

#include <stdlib.h>

#include "mem.h"

/* One zeroed region of `size` bytes at gpa `base`; false on failure. */
static inline bool fake_gm_init(struct gm *gm, gpa_t base, uint64_t size)
{
	void *host = calloc(1, size);

	*gm = (struct gm){ .fd = -1 };
	if (!host)
		return false;
	if (gm_add_region(gm, base, size, host)) {
		free(host);
		return false;
	}
	return true;
}

static inline void fake_gm_free(struct gm *gm)
{
	for (unsigned int i = 0; i < gm->nregions; i++)
		free(gm->region[i].host);
	*gm = (struct gm){ 0 };
}

#endif
