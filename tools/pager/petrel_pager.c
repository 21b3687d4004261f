/* SPDX-License-Identifier: MIT */
/*
 * petrel-pager SOCKET MEMFILE: a page server for the Uffd memory backend
 * of a snapshot load (docs/snapshot.md), petrel's or Firecracker's: the
 * same handshake. It listens on unix socket SOCKET, takes one VMM's
 * connection and its one message (a userfaultfd as SCM_RIGHTS, a JSON
 * array of the guest's RAM regions), and fills each page the guest
 * touches from MEMFILE (the snapshot's memory file) with UFFDIO_COPY, or
 * UFFDIO_ZEROPAGE where the file holds zeros (its holes) or where the VMM
 * removed the page (UFFD_EVENT_REMOVE: a balloon gave it back, it comes
 * back as zeros). It exits when the VMM goes away (the connection closes):
 * 0 and one line of what it served; 1 with one line on any error.
 *
 * The VMM is as untrusted as any peer: the message is bounded, its JSON
 * checked whole (every region page-aligned, inside the file, no two
 * overlapping) before any fault is served, and every fault address must
 * lie in a region.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "uds.h"

#define PAGE 4096ULL
#define MAX_REGIONS 8	/* petrel sends 1 or 2, Firecracker a few */
#define MSG_MAX 4096	/* the handshake's body; Firecracker's servers read 1024 */
#define MAX_PENDING 256 /* faults to retry after EAGAIN (a remove in flight) */

struct region {
	uint64_t host, size, offset;
};

struct pager {
	int uffd, conn;
	const uint8_t *file; /* the memory file, mapped read-only */
	uint64_t file_size;
	struct region region[MAX_REGIONS];
	unsigned int nregions;
	uint8_t *removed; /* one bit per page of the file: removed by the VMM */
	uint64_t pending[MAX_PENDING];
	unsigned int npending;
	uint64_t copied, zeroed;
};

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("petrel-pager: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ------------------------------------------------------ the handshake */

/* A region's field: a non-negative JSON integer. */
static bool field(json_t *o, const char *name, uint64_t *v, unsigned int i)
{
	json_t *j = json_object_get(o, name);

	if (!json_is_integer(j) || json_integer_value(j) < 0) {
		say("region %u: `%s` missing or not a non-negative integer", i, name);
		return false;
	}
	*v = (uint64_t)json_integer_value(j);
	return true;
}

static bool parse_region(struct pager *p, json_t *o, unsigned int i)
{
	struct region *r = &p->region[i];
	uint64_t page_size, kib;

	if (!json_is_object(o)) {
		say("region %u: not an object", i);
		return false;
	}
	if (!field(o, "base_host_virt_addr", &r->host, i) || !field(o, "size", &r->size, i) ||
	    !field(o, "offset", &r->offset, i))
		return false;
	/* page_size; older Firecrackers sent only page_size_kib (in bytes
	 * despite its name). */
	if (json_object_get(o, "page_size")) {
		if (!field(o, "page_size", &page_size, i))
			return false;
		if (json_object_get(o, "page_size_kib") &&
		    (!field(o, "page_size_kib", &kib, i) || kib != page_size)) {
			say("region %u: page_size and page_size_kib differ", i);
			return false;
		}
	} else if (!field(o, "page_size_kib", &page_size, i)) {
		return false;
	}
	if (page_size != PAGE) {
		say("region %u: page size %llu (this server serves 4096-byte pages only)", i,
		    (unsigned long long)page_size);
		return false;
	}
	if (!r->size || r->host % PAGE || r->size % PAGE || r->offset % PAGE) {
		say("region %u: not whole pages", i);
		return false;
	}
	/* Subtractions: nothing here can wrap. */
	if (r->host > UINT64_MAX - r->size) {
		say("region %u: wraps around the address space", i);
		return false;
	}
	if (r->offset > p->file_size || r->size > p->file_size - r->offset) {
		say("region %u: bytes %llu..%llu of the memory file, which has %llu", i,
		    (unsigned long long)r->offset, (unsigned long long)r->offset + r->size,
		    (unsigned long long)p->file_size);
		return false;
	}
	for (unsigned int k = 0; k < i; k++) {
		const struct region *q = &p->region[k];

		if (r->host < q->host + q->size && q->host < r->host + r->size) {
			say("regions %u and %u overlap", k, i);
			return false;
		}
	}
	return true;
}

static bool parse_regions(struct pager *p, const char *body, size_t len)
{
	json_error_t jerr;
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	bool ok = doc != NULL;

	if (!doc)
		say("the handshake's JSON: %s", jerr.text);
	else if (!json_is_array(doc) || !json_array_size(doc) ||
		 json_array_size(doc) > MAX_REGIONS) {
		say("the handshake's JSON: not an array of 1 to %d regions", MAX_REGIONS);
		ok = false;
	}
	for (unsigned int i = 0; ok && i < json_array_size(doc); i++)
		ok = parse_region(p, json_array_get(doc, i), i);
	if (ok)
		p->nregions = (unsigned int)json_array_size(doc);
	json_decref(doc);
	return ok;
}

/* Is fd a userfaultfd? (An anonymous inode named so.) */
static bool is_uffd(int fd)
{
	char link[64], want[] = "anon_inode:[userfaultfd]";
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	return n == (ssize_t)strlen(want) && !memcmp(link, want, strlen(want));
}

/* The one message: the uffd and the regions. */
static bool handshake(struct pager *p)
{
	char body[MSG_MAX + 1], ctl[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { body, MSG_MAX };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)
	};
	ssize_t n;

	do
		n = recvmsg(p->conn, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		say("the VMM sent no handshake: %s", n < 0 ? strerror(errno) : "it hung up");
		return false;
	}
	/* Every fd that came is ours to close; only one is wanted. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t k = 0; k < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
			if (p->uffd < 0)
				p->uffd = fd;
			else
				close(fd);
		}
	}
	if (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) {
		say("the handshake is larger than %d bytes or carries too many fds", MSG_MAX);
		return false;
	}
	if (p->uffd < 0 || !is_uffd(p->uffd)) {
		say("the handshake carries no userfaultfd");
		return false;
	}
	/* Firecracker's and petrel's are non-blocking already; drain()
	 * relies on it. */
	if (fcntl(p->uffd, F_SETFL, fcntl(p->uffd, F_GETFL) | O_NONBLOCK)) {
		say("the userfaultfd: %s", strerror(errno));
		return false;
	}
	return parse_regions(p, body, (size_t)n);
}

/* ---------------------------------------------------------- the faults */

static bool page_zero(const uint8_t *s)
{
	for (uint64_t i = 0; i < PAGE; i += 8) {
		uint64_t w;

		memcpy(&w, s + i, 8);
		if (w)
			return false;
	}
	return true;
}

static bool removed(const struct pager *p, uint64_t off)
{
	return p->removed[off / PAGE / 8] & (1u << (off / PAGE % 8));
}

/* The region holding host address `a`, or NULL. */
static const struct region *region_of(const struct pager *p, uint64_t a)
{
	for (unsigned int i = 0; i < p->nregions; i++)
		if (a >= p->region[i].host && a - p->region[i].host < p->region[i].size)
			return &p->region[i];
	return NULL;
}

/* Fill the page at `a`: 0, -EAGAIN (retry later) or -1 after a line. */
static int serve(struct pager *p, uint64_t a)
{
	const struct region *r = region_of(p, a);
	uint64_t off;
	int ret;

	if (!r) {
		say("a fault at 0x%llx, outside every region", (unsigned long long)a);
		return -1;
	}
	off = r->offset + (a - r->host);
	if (removed(p, off) || page_zero(p->file + off)) {
		struct uffdio_zeropage z = { .range = { a, PAGE } };

		ret = ioctl(p->uffd, UFFDIO_ZEROPAGE, &z);
		p->zeroed += !ret;
	} else {
		struct uffdio_copy c = { .dst = a, .src = (uintptr_t)(p->file + off), .len = PAGE };

		ret = ioctl(p->uffd, UFFDIO_COPY, &c);
		p->copied += !ret;
	}
	if (!ret || errno == EEXIST) /* EEXIST: two vCPUs faulted it; one won */
		return 0;
	if (errno == EAGAIN)
		return -EAGAIN;
	say("filling 0x%llx: %s", (unsigned long long)a, strerror(errno));
	return -1;
}

static int serve_or_defer(struct pager *p, uint64_t a)
{
	int ret = serve(p, a);

	if (ret != -EAGAIN)
		return ret;
	if (p->npending == MAX_PENDING) {
		say("more than %d faults waiting for a retry", MAX_PENDING);
		return -1;
	}
	p->pending[p->npending++] = a;
	return 0;
}

/* UFFD_EVENT_REMOVE of [start, end): those pages come back as zeros. */
static void mark_removed(struct pager *p, uint64_t start, uint64_t end)
{
	for (unsigned int i = 0; i < p->nregions; i++) {
		const struct region *r = &p->region[i];
		uint64_t lo = start > r->host ? start : r->host;
		uint64_t hi = end < r->host + r->size ? end : r->host + r->size;

		for (uint64_t a = lo & ~(PAGE - 1); a < hi; a += PAGE) {
			uint64_t off = r->offset + (a - r->host);

			p->removed[off / PAGE / 8] |= (uint8_t)(1u << (off / PAGE % 8));
		}
	}
}

/* Every event waiting on the uffd, then the deferred faults. 0 or -1. */
static int drain(struct pager *p)
{
	struct uffd_msg m;
	unsigned int n;

	for (;;) {
		ssize_t got = read(p->uffd, &m, sizeof(m));

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && errno == EAGAIN)
			break;
		if (got != sizeof(m)) {
			say("reading the userfaultfd: %s",
			    got < 0 ? strerror(errno) : "short read");
			return -1;
		}
		if (m.event == UFFD_EVENT_PAGEFAULT) {
			if (serve_or_defer(p, m.arg.pagefault.address & ~(PAGE - 1)))
				return -1;
		} else if (m.event == UFFD_EVENT_REMOVE) {
			mark_removed(p, m.arg.remove.start, m.arg.remove.end);
		}
		/* Other events were not asked for. */
	}
	n = p->npending;
	p->npending = 0;
	for (unsigned int i = 0; i < n; i++)
		if (serve_or_defer(p, p->pending[i]))
			return -1;
	return 0;
}

/* Until the VMM hangs up. 0 or -1. */
static int run(struct pager *p)
{
	for (;;) {
		struct pollfd fds[2] = { { .fd = p->uffd, .events = POLLIN },
					 { .fd = p->conn, .events = POLLIN | POLLRDHUP } };
		/* Deferred faults are retried soon even without an event. */
		int n = poll(fds, 2, p->npending ? 1 : -1);

		if (n < 0 && errno != EINTR) {
			say("poll: %s", strerror(errno));
			return -1;
		}
		/* The VMM says nothing after the handshake: anything on the
		 * connection is its end. */
		if (n > 0 && fds[1].revents)
			return 0;
		if (n >= 0 && drain(p))
			return -1;
	}
}

/* ------------------------------------------------------------- setup */

/* Listen on `path`. The socket is bound under a temporary name and
 * renamed to `path` once it listens, so that whoever sees `path` exist
 * can connect (a VMM started right after the pager is never refused);
 * where `path` leaves no room for the temporary name, it is bound as it
 * is. */
static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err, n;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		say("socket '%s': %s", path, uds_strerror(-ENAMETOOLONG));
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	err = uds_free_path(&sa);
	if (err) {
		say("socket '%s': %s", path, uds_strerror(err));
		return -1;
	}
	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.%d", path, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	err = fd < 0 ? -errno : uds_bind(fd, &sa);
	if (!err && listen(fd, 1))
		err = -errno;
	if (!err && strcmp(sa.sun_path, path) && rename(sa.sun_path, path))
		err = -errno;
	if (err) {
		say("socket '%s': %s", path, uds_strerror(err));
		if (strcmp(sa.sun_path, path))
			unlink(sa.sun_path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int map_file(struct pager *p, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *m;

	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || !st.st_size || st.st_size % PAGE) {
		say("memory file '%s': %s", path,
		    fd < 0 ? strerror(errno) : "not a regular file of whole pages");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		say("memory file '%s': mmap: %s", path, strerror(errno));
		return -1;
	}
	p->file = m;
	p->file_size = (uint64_t)st.st_size;
	p->removed = calloc(p->file_size / PAGE / 8 + 1, 1);
	return p->removed ? 0 : -1;
}

int main(int argc, char **argv)
{
	static struct pager p = { .uffd = -1, .conn = -1 };
	int lfd, status = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: petrel-pager SOCKET MEMFILE\n");
		return 2;
	}
	if (map_file(&p, argv[2]))
		return 1;
	lfd = listen_on(argv[1]);
	if (lfd < 0)
		return 1;
	do
		p.conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (p.conn < 0 && errno == EINTR);
	/* One VMM per server: the socket goes with the first. */
	close(lfd);
	unlink(argv[1]);
	if (p.conn < 0)
		say("accept: %s", strerror(errno));
	else if (handshake(&p) && !run(&p)) {
		say("the VMM went away: %llu pages copied, %llu zero pages",
		    (unsigned long long)p.copied, (unsigned long long)p.zeroed);
		status = 0;
	}
	if (p.uffd >= 0)
		close(p.uffd);
	if (p.conn >= 0)
		close(p.conn);
	free(p.removed);
	munmap((void *)p.file, p.file_size);
	return status;
}
