/* SPDX-License-Identifier: MIT */
/*
 * Snapshot round trips and hostile loads for any device with a snapshot
 * function of the registry's shape (device_ops.snapshot): save into a
 * blob, load a blob (finished as the snapshot file's loader finishes a
 * section), and check that a refused load names why and leaves the
 * device exactly as it was (its save before and after are the same bytes).
 */
#ifndef PETREL_TEST_SNAP_ENV_H
#define PETREL_TEST_SNAP_ENV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "snapshot/snap.h"

typedef int (*snap_fn)(void *dev, struct snap *s);

struct blob {
	uint8_t *p;
	size_t n;
};

/* The reason of the last refused load, for the test log. */
static char snap_why[SNAP_WHY_MAX];

static inline bool blob_save(snap_fn fn, void *dev, struct blob *b)
{
	struct snap s;

	snap_init_save(&s, 1u << 20);
	if (fn(dev, &s)) {
		snprintf(snap_why, sizeof(snap_why), "%s", s.why);
		snap_free(&s);
		*b = (struct blob){ 0 };
		return false;
	}
	*b = (struct blob){ .p = s.buf, .n = s.len }; /* the blob owns the buffer now */
	return true;
}

static inline void blob_free(struct blob *b)
{
	free(b->p);
	*b = (struct blob){ 0 };
}

static inline bool blob_equal(const struct blob *a, const struct blob *b)
{
	return a->n == b->n && (a->n == 0 || !memcmp(a->p, b->p, a->n));
}

/* Load n bytes at p; 0 or the error, its reason in snap_why. */
static inline int blob_load(snap_fn fn, void *dev, const uint8_t *p, size_t n)
{
	struct snap s;
	int err;

	snap_init_load(&s, p, n);
	err = fn(dev, &s);
	if (!err)
		err = snap_finish(&s);
	snprintf(snap_why, sizeof(snap_why), "%s", s.why);
	return err;
}

/* A saved device reloaded into `to` saves the same bytes again. */
static inline bool snap_round_trip(snap_fn fn, void *from, void *to)
{
	struct blob a, b = { 0 };
	bool ok = blob_save(fn, from, &a) && !blob_load(fn, to, a.p, a.n) &&
		  blob_save(fn, to, &b) && blob_equal(&a, &b);

	blob_free(&a);
	blob_free(&b);
	return ok;
}

/* Loading n bytes at p into dev fails with a reason containing `want`,
 * and dev saves the same bytes as before. */
static inline bool snap_refused(snap_fn fn, void *dev, const uint8_t *p, size_t n, const char *want)
{
	struct blob before, after = { 0 };
	bool ok = blob_save(fn, dev, &before) && blob_load(fn, dev, p, n) != 0 &&
		  strstr(snap_why, want) && blob_save(fn, dev, &after) &&
		  blob_equal(&before, &after);

	if (!ok)
		printf("# refused load: wanted \"%s\", got \"%s\"\n", want, snap_why);
	blob_free(&before);
	blob_free(&after);
	return ok;
}

/* Every strict prefix of the blob is refused as truncated, and a byte
 * more as trailing; dev unchanged each time. */
static inline bool snap_truncations_refused(snap_fn fn, void *dev, const struct blob *b)
{
	uint8_t *longer = malloc(b->n + 1);
	bool ok = longer != NULL;

	for (size_t n = 0; ok && n < b->n; n++)
		ok = snap_refused(fn, dev, b->p, n, "truncated");
	if (ok) {
		memcpy(longer, b->p, b->n);
		longer[b->n] = 0;
		ok = snap_refused(fn, dev, longer, b->n + 1, "1 trailing byte");
	}
	free(longer);
	return ok;
}

/* The blob with the `len`-byte little-endian field at `off` set to v is
 * refused with a reason containing `want`; dev unchanged. */
static inline bool snap_patch_refused(snap_fn fn, void *dev, const struct blob *b, size_t off,
				      unsigned int len, uint64_t v, const char *want)
{
	uint8_t *p = malloc(b->n);
	bool ok = p != NULL && off + len <= b->n;

	if (ok) {
		memcpy(p, b->p, b->n);
		le_put(p + off, v, len);
		ok = snap_refused(fn, dev, p, b->n, want);
	}
	free(p);
	return ok;
}

#endif
