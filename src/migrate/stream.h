/* SPDX-License-Identifier: MIT */
/*
 * The live-migration stream (docs/migration.md): what a source petrel
 * sends a target (`petrel run --incoming ADDR`) and what the target
 * answers, on one stream socket (unix or TCP).
 *
 *   source -> target: "PETRELMG", u32 version, u32 flags (0), then records
 *   record:           u32 type, u32 length, `length` bytes of payload
 *
 * everything little-endian. The source sends SETUP, PAGES..., STATE; the
 * target loads the VM and answers READY (or ERROR with its one line); the
 * source sends COMMIT; the target answers DONE and resumes the guest.
 *
 * Everything read is hostile (DESIGN.md contract 11): every length is
 * checked against its type's limit before a byte of payload is read,
 * every field validated, every record's place in the order checked; a
 * peer that stalls is cut off after a timeout.
 *
 * Errors: 0 or -errno with one line in `why` (MIG_WHY_MAX, no "petrel: ").
 */
#ifndef PETREL_MIGRATE_STREAM_H
#define PETREL_MIGRATE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "log.h"

#define MIG_MAGIC "PETRELMG"
#define MIG_VERSION 1
#define MIG_HEADER_LEN 16
#define MIG_RECORD_HEAD 8
#define MIG_PAGE 4096u
#define MIG_PAGES_MAX 256u	  /* pages in one PAGES record (1 MiB) */
#define MIG_STATE_MAX (64u << 20) /* a STATE record (= SNAP_FILE_MAX) */
#define MIG_WHY_MAX 160		  /* an ERROR record's text, and `why` */
#define MIG_MEM_MAX (1ull << 40)  /* the most RAM a SETUP may announce */
#define MIG_COMMIT_RESUME 1u	  /* COMMIT flag: the guest was running */

enum mig_type {
	MIG_SETUP = 1,	/* S->T: u64 mem_size, u32 cpus, u32 page size (4096) */
	MIG_PAGES = 2,	/* S->T: u64 first page, u32 count, u32 0, count pages */
	MIG_STATE = 3,	/* S->T: the snapshot container (snapshot/file.h) */
	MIG_COMMIT = 4, /* S->T: u32 flags (MIG_COMMIT_RESUME) */
	MIG_READY = 5,	/* T->S: empty: everything is in and loaded */
	MIG_DONE = 6,	/* T->S: empty: committed, the target runs the VM */
	MIG_ERROR = 7,	/* T->S: the target's one line of why it gives up */
};

/* Where a stream goes: "unix:PATH" or "tcp:HOST:PORT" ("tcp:[V6]:PORT";
 * on --incoming HOST may be empty: every address). */
struct mig_addr {
	bool tcp;
	char path[108]; /* unix: the socket's path (sun_path) */
	char host[256]; /* tcp: a name or a numeric address, "" for any */
	char port[8];	/* tcp: 1..65535, as text */
};

/* Parse `text` into *a. -EINVAL with why on anything else. */
int mig_addr_parse(const char *text, struct mig_addr *a, char why[MIG_WHY_MAX]) MUST_CHECK;

/* Connect to (source) or listen on (target) `a`: a blocking stream socket,
 * CLOEXEC. 0/-errno with why. */
int mig_connect(const struct mig_addr *a, int *fd, char why[MIG_WHY_MAX]) MUST_CHECK;
int mig_listen(const struct mig_addr *a, int *fd, char why[MIG_WHY_MAX]) MUST_CHECK;

/* A byte source: a socket (fd >= 0, each read waits at most timeout_ms for
 * data) or a buffer (fd < 0: the fuzz target and the unit tests). */
struct mig_io {
	int fd;
	int timeout_ms;
	const uint8_t *buf;
	size_t len, off;
};

/* Exactly n bytes into p. -EPIPE "the peer closed the connection" at
 * its end, -ETIMEDOUT, or the socket's -errno, with why. */
int mig_read(struct mig_io *io, void *p, size_t n, char why[MIG_WHY_MAX]) MUST_CHECK;

/* Write n bytes whole (EINTR, short writes; never SIGPIPE). */
int mig_write(int fd, const void *p, size_t n) MUST_CHECK;

/* Write the n buffers of iov whole, in as few sendmsg calls as the socket
 * allows (EINTR, short writes; never SIGPIPE). iov is consumed. 0 or
 * -errno. */
int mig_writev(int fd, struct iovec *iov, int n) MUST_CHECK;

/* Write a record of `type` with `len` bytes at `p` (p may be NULL if
 * len is 0), in one writev. */
int mig_send(int fd, uint32_t type, const void *p, size_t len) MUST_CHECK;

/* The stream header, encoded / checked. */
void mig_header_encode(uint8_t h[MIG_HEADER_LEN]);
int mig_header_check(const uint8_t h[MIG_HEADER_LEN], char why[MIG_WHY_MAX]) MUST_CHECK;

/* Read one record's head and check its length against its type's limit;
 * the payload is left unread. A type not in `allowed` (a mask of
 * 1u << type) is refused ("unexpected record PAGES"). */
int mig_read_head(struct mig_io *io, uint32_t allowed, uint32_t *type, uint32_t *len,
		  char why[MIG_WHY_MAX]) MUST_CHECK;

/* The name of a record type ("PAGES"), "?" if unknown. */
const char *mig_type_name(uint32_t type);

/* SETUP's payload. */
struct mig_setup {
	uint64_t mem_size;
	uint32_t cpus;
};
void mig_setup_encode(const struct mig_setup *s, uint8_t p[16]);
int mig_setup_decode(const uint8_t p[16], uint64_t mem_max, struct mig_setup *s,
		     char why[MIG_WHY_MAX]) MUST_CHECK;

/* PAGES' head (the 16 bytes before the data): the run must lie inside a
 * RAM of `mem_pages` pages and `len` must be exactly its size. */
void mig_pages_encode(uint64_t first, uint32_t count, uint8_t p[16]);
int mig_pages_decode(const uint8_t p[16], uint32_t len, uint64_t mem_pages, uint64_t *first,
		     uint32_t *count, char why[MIG_WHY_MAX]) MUST_CHECK;

/* ERROR's payload as a printable line (non-printable bytes become '?'). */
void mig_error_text(const uint8_t *p, uint32_t len, char out[MIG_WHY_MAX]);

/* ------------------------------------------------------------ target side */

/* What the target receives up to and including STATE. */
struct mig_in {
	struct mig_setup setup;
	int mem_fd;	/* a memfd of setup.mem_size bytes, the guest's RAM */
	uint8_t *state; /* the STATE record (malloc'd) */
	size_t state_len;
	uint64_t pages; /* pages received (a page sent twice counts twice) */
	uint64_t bytes; /* bytes received */
};

/* Receive the header, SETUP, PAGES until STATE from `io`, the RAM into a
 * new memfd (mem_max caps SETUP's size: the fuzz target's). On error
 * nothing is left open. Free with mig_in_free. */
int mig_in_recv(struct mig_in *in, struct mig_io *io, uint64_t mem_max,
		char why[MIG_WHY_MAX]) MUST_CHECK;

/* Wait for COMMIT; its flags in *flags. */
int mig_in_commit(struct mig_io *io, uint32_t *flags, char why[MIG_WHY_MAX]) MUST_CHECK;

void mig_in_free(struct mig_in *in);

#endif
