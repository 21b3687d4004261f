/* SPDX-License-Identifier: MIT */
/*
 * Snapshot state streams (DESIGN.md contract 9): one bidirectional function
 * per device walks its fields with snap_u32(s, &d->field) and friends, which
 * write the value when s->op is SNAP_SAVE and read it back when it is
 * SNAP_LOAD. Every field is explicit little-endian; nothing dumps a struct.
 *
 * A stream is the payload of one section of a snapshot file or migration
 * stream (snapshot/file.h frames sections, checks sizes and the checksum).
 * Errors are sticky: the first failure (a short payload, a value out of range,
 * a buffer over its limit) is kept with a one-line reason in s->why, every
 * later call does nothing and reads zeroes, and the caller checks snap_error()
 * once at the end. A load function must validate every value it read before
 * it touches live state: read into locals or a scratch copy, check with
 * snap_check(), and commit only if snap_error(s) == 0.
 *
 * Threads: a stream belongs to one thread; no locking.
 */
#ifndef PETREL_SNAPSHOT_SNAP_H
#define PETREL_SNAPSHOT_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

enum snap_op { SNAP_SAVE, SNAP_LOAD };

#define SNAP_WHY_MAX 160

struct snap {
	enum snap_op op;
	int err;		/* 0, or the first failure's -errno */
	char why[SNAP_WHY_MAX]; /* the first failure, one line without "petrel: " */
	uint8_t *buf;		/* SAVE: grows up to `limit`; LOAD: the payload (not owned) */
	size_t len;		/* SAVE: bytes written; LOAD: payload length */
	size_t off;		/* LOAD: bytes consumed */
	size_t cap;		/* SAVE: allocated */
	size_t limit;		/* SAVE: the most it may grow to */
};

/* A stream that saves into a buffer of at most `limit` bytes (growing past
 * it fails with -EFBIG). Free it with snap_free(). */
void snap_init_save(struct snap *s, size_t limit);

/* A stream that loads from `len` bytes at `buf`, which must outlive it
 * (not copied, not freed by snap_free). */
void snap_init_load(struct snap *s, const uint8_t *buf, size_t len);

/* Free a saving stream's buffer; nothing for a loading one. */
void snap_free(struct snap *s);

/* Fail the stream (if it has not failed yet) with `err` and a reason. */
void snap_fail(struct snap *s, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* LOAD: fail with -EINVAL and "<what>" unless `ok`; SAVE: nothing (a saver
 * never produces what the loader refuses). Returns `ok` on LOAD and true on
 * SAVE, so it can guard the next step. */
bool snap_check(struct snap *s, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The fields. On LOAD each reads little-endian bytes into *v (zero once the
 * stream has failed or would read past its end: "truncated"). */
void snap_u8(struct snap *s, uint8_t *v);
void snap_u16(struct snap *s, uint16_t *v);
void snap_u32(struct snap *s, uint32_t *v);
void snap_u64(struct snap *s, uint64_t *v);
void snap_i64(struct snap *s, int64_t *v);
/* 0 or 1 in the stream; anything else fails the load. */
void snap_bool(struct snap *s, bool *v);
/* `n` raw bytes (byte arrays: FIFOs, register files, MAC addresses). */
void snap_bytes(struct snap *s, void *p, size_t n);
/* A value that must be <= max on LOAD ("<what> N out of range (max M)"). */
void snap_u32_max(struct snap *s, uint32_t *v, uint32_t max, const char *what);

/* LOAD: 0 if the payload was consumed exactly, else fail with "N trailing
 * bytes". Then the stream's error either way. */
int snap_finish(struct snap *s) MUST_CHECK;

static inline int snap_error(const struct snap *s)
{
	return s->err;
}

static inline bool snap_saving(const struct snap *s)
{
	return s->op == SNAP_SAVE;
}

#endif
