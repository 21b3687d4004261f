/* SPDX-License-Identifier: MIT */
/*
 * The Uffd memory backend of a snapshot load: guest RAM is anonymous,
 * registered with a userfaultfd, and an external page server fills it as
 * the guest touches it. The handshake is Firecracker's, so its page
 * servers serve petrel too (docs/snapshot.md, byte by byte): connect to
 * the server's unix stream socket and send ONE message, the uffd as
 * SCM_RIGHTS and, as its body, a JSON array with one object per RAM
 * region:
 *
 *   [{"base_host_virt_addr":N,"size":N,"offset":N,"page_size":4096,
 *     "page_size_kib":4096}, ...]
 *
 * (offset: where the region starts in the memory file; page_size_kib is
 * Firecracker's deprecated name of page_size, in bytes despite it).
 * Nothing else is ever said on the socket. petrel keeps the uffd and the
 * socket open for the VM's life, as Firecracker does: were the page
 * server's copy the last, its death would turn the unfilled pages into
 * zeros under the guest instead of a wait.
 *
 * Used in two steps around vm_create (control_snapshot.c):
 *   uffd_backend_open - connect to the server, create the uffd (before
 *                       anything is built: a wrong path costs nothing);
 *   vm_create(-1)     - RAM anonymous;
 *   uffd_backend_send - register every region, send the message, and
 *                       open a pidfd on the server's process (the one
 *                       listening on the socket) so its death is seen;
 * then uffd_backend_close once the VM's RAM is unmapped. VMM thread.
 */
#ifndef PETREL_SNAPSHOT_UFFD_H
#define PETREL_SNAPSHOT_UFFD_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "log.h"
#include "mem.h"

/* The body of the handshake for GM_MAX_REGIONS regions fits in this. */
#define UFFD_MSG_MAX 1024
/* The page size petrel's RAM is registered with (no huge pages). */
#define UFFD_PAGE_SIZE 4096

struct uffd_backend {
	int uffd;  /* the userfaultfd; -1 */
	int sock;  /* connected to the page server; -1 */
	int pidfd; /* the page server's process, to watch for its exit; -1 */
	pid_t pid; /* its pid (SO_PEERCRED); 0: unknown */
	char path[CONFIG_PATH_MAX];
};

/* Everything -1: nothing to close. */
void uffd_backend_init(struct uffd_backend *b);

/* Connect to the page server listening on `path`, and create the
 * userfaultfd (the userfaultfd syscall, or /dev/userfaultfd where the
 * syscall is refused), with UFFD_FEATURE_EVENT_REMOVE (a balloon's
 * MADV_DONTNEED reaches the server). 0, or -errno after one line naming what to
 * change ("page server '/x.sock': Connection refused (nothing listens on
 * it)"; "userfaultfd: Operation not permitted (allow it: sysctl
 * vm.unprivileged_userfaultfd=1, or read-write access to
 * /dev/userfaultfd)"); nothing is left open then. */
int uffd_backend_open(struct uffd_backend *b, const char *path) MUST_CHECK;

/* Create the userfaultfd alone (uffd_backend_open's second step; unit
 * tests). A new fd, or -errno after one line. */
int uffd_create(void) MUST_CHECK;

/* Register every region of gm (anonymous, not yet touched) for missing
 * faults and send the handshake on b->sock; then look up the server's
 * process (b->pid, b->pidfd: -1 where the pid is not visible here, e.g.
 * another pid namespace). 0, or -errno after one line. */
int uffd_backend_send(struct uffd_backend *b, const struct gm *gm) MUST_CHECK;

/* The handshake's body for gm's regions into buf (NUL-terminated): its
 * length, or -ENOSPC. */
int uffd_regions_json(const struct gm *gm, char *buf, size_t size) MUST_CHECK;

/* Close what is open (idempotent). After the RAM is unmapped. */
void uffd_backend_close(struct uffd_backend *b);

#endif
