/* SPDX-License-Identifier: MIT */
/*
 * The snapshot container (docs/snapshot.md): a header (magic, format
 * version, section count), then named, versioned sections, each holding one
 * stream's payload (snap.h), then a CRC32C of everything before it. The same
 * container is a snapshot's state file and a migration's device-state
 * message. Guest memory is not in it (the memory file is separate).
 *
 * Everything read is hostile: sizes are checked against the bytes present
 * and SNAP_FILE_MAX before anything is allocated, names must be printable
 * and unique, the checksum must match, and a load must open every section
 * exactly once (snap_file_unused() names the one nobody read).
 *
 * Errors: 0 or -errno, with one line in `why` (SNAP_WHY_MAX bytes, no
 * "petrel: " prefix), e.g. "bad checksum", "format version 7 is newer than
 * this petrel's (1)", "section 'uart' repeated".
 */
#ifndef PETREL_SNAPSHOT_FILE_H
#define PETREL_SNAPSHOT_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snapshot/snap.h"

#define SNAP_FILE_MAX (64u << 20) /* a whole state file */
#define SNAP_NAME_MAX 48	  /* a section name, with its NUL (= DEVICE_NAME_MAX) */
#define SNAP_SECTIONS_MAX 512
#define SNAP_FORMAT_VERSION 1

struct snap_section {
	char name[SNAP_NAME_MAX];
	uint32_t version; /* the section's own layout version */
	uint8_t *payload; /* SAVE: owned; LOAD: points into the file's data */
	size_t len;
	bool used; /* LOAD: opened by snap_file_section() */
};

struct snap_file {
	struct snap_section *sec;
	unsigned int n, cap;
	uint8_t *data; /* LOAD: the whole container (owned) */
	size_t len;
};

/* An empty container (SAVE) or a not-yet-read one. */
void snap_file_init(struct snap_file *f);

/* Free the sections and the data. */
void snap_file_free(struct snap_file *f);

/* SAVE: append a section named `name` (printable, < SNAP_NAME_MAX, not
 * already present) with layout `version`, taking the saving stream's buffer
 * (s is left empty). Fails with s's own error if s failed. */
int snap_file_add(struct snap_file *f, const char *name, uint32_t version, struct snap *s,
		  char why[SNAP_WHY_MAX]) MUST_CHECK;

/* SAVE: the encoded container in a malloc'd buffer (*out, *len). */
int snap_file_encode(const struct snap_file *f, uint8_t **out, size_t *len,
		     char why[SNAP_WHY_MAX]) MUST_CHECK;

/* SAVE: encode and write to `fd` (whole, EINTR-safe). */
int snap_file_write(const struct snap_file *f, int fd, char why[SNAP_WHY_MAX]) MUST_CHECK;

/* LOAD: decode `len` bytes at `buf` (copied: the file owns its data), checking
 * magic, version, checksum and every section's framing. */
int snap_file_decode(struct snap_file *f, const uint8_t *buf, size_t len,
		     char why[SNAP_WHY_MAX]) MUST_CHECK;

/* LOAD: read all of `fd` (at most SNAP_FILE_MAX bytes) and decode it. */
int snap_file_read(struct snap_file *f, int fd, char why[SNAP_WHY_MAX]) MUST_CHECK;

/* LOAD: open section `name` as a loading stream on its payload and give its
 * layout version; -ENOENT ("section 'x' missing") if absent, -EINVAL if
 * already opened. */
int snap_file_section(struct snap_file *f, const char *name, struct snap *s, uint32_t *version,
		      char why[SNAP_WHY_MAX]) MUST_CHECK;

/* LOAD: true if section `name` is present (not opened by this). */
bool snap_file_has(const struct snap_file *f, const char *name);

/* LOAD: 0 if every section was opened, else -EINVAL "unknown section 'x'". */
int snap_file_unused(const struct snap_file *f, char why[SNAP_WHY_MAX]) MUST_CHECK;

#endif
