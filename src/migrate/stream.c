/* SPDX-License-Identifier: MIT */
/* The live-migration stream: addresses, framing, the target's parser
 * (stream.h). */
#include "migrate/stream.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "le.h"
#include "uds.h"

static const char *const type_name[] = {
	[MIG_SETUP] = "SETUP",	 [MIG_PAGES] = "PAGES", [MIG_STATE] = "STATE",
	[MIG_COMMIT] = "COMMIT", [MIG_READY] = "READY", [MIG_DONE] = "DONE",
	[MIG_ERROR] = "ERROR",
};

const char *mig_type_name(uint32_t type)
{
	return type < sizeof(type_name) / sizeof(type_name[0]) && type_name[type] ? type_name[type]
										  : "?";
}

/* ------------------------------------------------------------- addresses */

int mig_addr_parse(const char *text, struct mig_addr *a, char why[MIG_WHY_MAX])
{
	const char *host, *port;
	size_t hlen;
	char *end;
	unsigned long n;

	*a = (struct mig_addr){ 0 };
	if (!strncmp(text, "unix:", 5)) {
		if (!text[5] || strlen(text + 5) >= sizeof(a->path)) {
			snprintf(why, MIG_WHY_MAX, "'%.100s': a unix socket path of 1..%zu bytes",
				 text, sizeof(a->path) - 1);
			return -EINVAL;
		}
		memcpy(a->path, text + 5, strlen(text + 5) + 1);
		return 0;
	}
	if (strncmp(text, "tcp:", 4))
		goto bad;
	a->tcp = true;
	host = text + 4;
	if (*host == '[') {
		const char *close = strchr(host, ']');

		if (!close || close[1] != ':')
			goto bad;
		hlen = (size_t)(close - host - 1);
		host++;
		port = close + 2;
	} else {
		const char *colon = strrchr(host, ':');

		if (!colon)
			goto bad;
		hlen = (size_t)(colon - host);
		port = colon + 1;
		if (memchr(host, ':', hlen))
			goto bad; /* an IPv6 address without its brackets */
	}
	if (hlen >= sizeof(a->host))
		goto bad;
	memcpy(a->host, host, hlen);
	a->host[hlen] = 0;
	errno = 0;
	n = strtoul(port, &end, 10);
	if (!*port || *end || errno || n < 1 || n > 65535 || *port < '0' || *port > '9')
		goto bad;
	snprintf(a->port, sizeof(a->port), "%lu", n);
	return 0;
bad:
	snprintf(why, MIG_WHY_MAX, "'%.100s': must be unix:PATH or tcp:HOST:PORT", text);
	return -EINVAL;
}

/* HOST is numeric (no resolver: petrel is static and sandboxed): IPv4,
 * IPv6, or "" (listen: every IPv4 address). */
static int tcp_sockaddr(const struct mig_addr *a, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	uint16_t port = htons((uint16_t)atoi(a->port));

	memset(ss, 0, sizeof(*ss));
	if (!a->host[0] || inet_pton(AF_INET, a->host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = port;
		*len = sizeof(*v4);
		return 0;
	}
	if (inet_pton(AF_INET6, a->host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = port;
		*len = sizeof(*v6);
		return 0;
	}
	return -EINVAL;
}

static int tcp_socket(const struct mig_addr *a, bool listen_, int *fd, char why[MIG_WHY_MAX])
{
	struct sockaddr_storage ss;
	socklen_t len;
	int s, one = 1, err;

	if (tcp_sockaddr(a, &ss, &len)) {
		snprintf(why, MIG_WHY_MAX,
			 "tcp:%.100s:%s: HOST must be a numeric IPv4 or IPv6 address", a->host,
			 a->port);
		return -EINVAL;
	}
	s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s >= 0 && (listen_ ? !setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) &&
				     !bind(s, (struct sockaddr *)&ss, len) && !listen(s, 1)
			       : !connect(s, (struct sockaddr *)&ss, len))) {
		*fd = s;
		return 0;
	}
	err = -errno;
	snprintf(why, MIG_WHY_MAX, "tcp:%.100s:%s: %s", a->host, a->port, strerror(errno));
	if (s >= 0)
		close(s);
	return err;
}

int mig_connect(const struct mig_addr *a, int *fd, char why[MIG_WHY_MAX])
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s, err;

	if (a->tcp)
		return tcp_socket(a, false, fd, why);
	memcpy(sa.sun_path, a->path, sizeof(a->path));
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		snprintf(why, MIG_WHY_MAX, "unix:%.100s: %s", a->path, strerror(errno));
		if (s >= 0)
			close(s);
		return err;
	}
	*fd = s;
	return 0;
}

int mig_listen(const struct mig_addr *a, int *fd, char why[MIG_WHY_MAX])
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s, err;

	if (a->tcp)
		return tcp_socket(a, true, fd, why);
	memcpy(sa.sun_path, a->path, sizeof(a->path));
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		err = -errno;
		snprintf(why, MIG_WHY_MAX, "unix:%.100s: %s", a->path, strerror(errno));
		return err;
	}
	err = uds_bind(s, &sa);
	if (!err && listen(s, 1))
		err = -errno;
	if (err) {
		snprintf(why, MIG_WHY_MAX, "unix:%.100s: %s", a->path, uds_strerror(err));
		close(s);
		return err;
	}
	*fd = s;
	return 0;
}

/* ------------------------------------------------------------------ I/O */

int mig_read(struct mig_io *io, void *p, size_t n, char why[MIG_WHY_MAX])
{
	uint8_t *d = p;

	if (io->fd < 0) {
		if (n > io->len - io->off) {
			snprintf(why, MIG_WHY_MAX, "the peer closed the connection");
			return -EPIPE;
		}
		memcpy(d, io->buf + io->off, n);
		io->off += n;
		return 0;
	}
	while (n) {
		struct pollfd pfd = { .fd = io->fd, .events = POLLIN };
		ssize_t got;
		int r = poll(&pfd, 1, io->timeout_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			snprintf(why, MIG_WHY_MAX, "the peer sent nothing for %d ms",
				 io->timeout_ms);
			return -ETIMEDOUT;
		}
		got = r < 0 ? -1 : recv(io->fd, d, n, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			int err = got ? -errno : -EPIPE;

			snprintf(why, MIG_WHY_MAX, "%s",
				 got ? strerror(errno) : "the peer closed the connection");
			return err;
		}
		d += got;
		n -= (size_t)got;
	}
	return 0;
}

int mig_writev(int fd, struct iovec *iov, int n)
{
	while (n) {
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		while (n && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

int mig_write(int fd, const void *p, size_t n)
{
	struct iovec iov = { (void *)p, n };

	return mig_writev(fd, &iov, 1);
}

int mig_send(int fd, uint32_t type, const void *p, size_t len)
{
	uint8_t h[MIG_RECORD_HEAD];
	struct iovec iov[2] = { { h, sizeof(h) }, { (void *)p, len } };

	le_put(h, type, 4);
	le_put(h + 4, len, 4);
	return mig_writev(fd, iov, len ? 2 : 1);
}

/* --------------------------------------------------------------- records */

void mig_header_encode(uint8_t h[MIG_HEADER_LEN])
{
	memcpy(h, MIG_MAGIC, 8);
	le_put(h + 8, MIG_VERSION, 4);
	le_put(h + 12, 0, 4);
}

int mig_header_check(const uint8_t h[MIG_HEADER_LEN], char why[MIG_WHY_MAX])
{
	uint32_t version = (uint32_t)le_get(h + 8, 4), flags = (uint32_t)le_get(h + 12, 4);

	if (memcmp(h, MIG_MAGIC, 8)) {
		snprintf(why, MIG_WHY_MAX, "not a petrel migration stream (bad magic)");
		return -EINVAL;
	}
	if (version != MIG_VERSION) {
		snprintf(why, MIG_WHY_MAX, "stream version %u, this petrel speaks %u", version,
			 MIG_VERSION);
		return -EINVAL;
	}
	if (flags) {
		snprintf(why, MIG_WHY_MAX, "unknown stream flags 0x%x", flags);
		return -EINVAL;
	}
	return 0;
}

/* The most a record of `type` may hold, and the least. */
static void type_limits(uint32_t type, uint32_t *min, uint32_t *max)
{
	switch (type) {
	case MIG_SETUP:
		*min = *max = 16;
		break;
	case MIG_PAGES:
		*min = 16 + MIG_PAGE;
		*max = 16 + MIG_PAGES_MAX * MIG_PAGE;
		break;
	case MIG_STATE:
		*min = 1;
		*max = MIG_STATE_MAX;
		break;
	case MIG_COMMIT:
		*min = *max = 4;
		break;
	case MIG_ERROR:
		*min = 1;
		*max = MIG_WHY_MAX - 1;
		break;
	default: /* READY, DONE */
		*min = *max = 0;
	}
}

int mig_read_head(struct mig_io *io, uint32_t allowed, uint32_t *type, uint32_t *len,
		  char why[MIG_WHY_MAX])
{
	uint8_t h[MIG_RECORD_HEAD];
	uint32_t min, max;
	int err = mig_read(io, h, sizeof(h), why);

	if (err)
		return err;
	*type = (uint32_t)le_get(h, 4);
	*len = (uint32_t)le_get(h + 4, 4);
	if (*type >= 32 || !(allowed & (1u << *type))) {
		snprintf(why, MIG_WHY_MAX, "unexpected record %s (type %u)", mig_type_name(*type),
			 *type);
		return -EPROTO;
	}
	type_limits(*type, &min, &max);
	if (*len < min || *len > max) {
		snprintf(why, MIG_WHY_MAX, "record %s: length %u out of range (%u..%u)",
			 mig_type_name(*type), *len, min, max);
		return -EPROTO;
	}
	return 0;
}

void mig_setup_encode(const struct mig_setup *s, uint8_t p[16])
{
	le_put(p, s->mem_size, 8);
	le_put(p + 8, s->cpus, 4);
	le_put(p + 12, MIG_PAGE, 4);
}

int mig_setup_decode(const uint8_t p[16], uint64_t mem_max, struct mig_setup *s,
		     char why[MIG_WHY_MAX])
{
	uint32_t page = (uint32_t)le_get(p + 12, 4);

	s->mem_size = le_get(p, 8);
	s->cpus = (uint32_t)le_get(p + 8, 4);
	if (page != MIG_PAGE) {
		snprintf(why, MIG_WHY_MAX, "SETUP: page size %u, this petrel's is %u", page,
			 MIG_PAGE);
		return -EPROTO;
	}
	if (!s->mem_size || s->mem_size % (1u << 20) || s->mem_size > mem_max) {
		snprintf(why, MIG_WHY_MAX, "SETUP: memory size %llu is not 1 MiB..%llu MiB in MiB",
			 (unsigned long long)s->mem_size, (unsigned long long)(mem_max >> 20));
		return -EPROTO;
	}
	if (!s->cpus || s->cpus > 255) {
		snprintf(why, MIG_WHY_MAX, "SETUP: %u vCPUs", s->cpus);
		return -EPROTO;
	}
	return 0;
}

void mig_pages_encode(uint64_t first, uint32_t count, uint8_t p[16])
{
	le_put(p, first, 8);
	le_put(p + 8, count, 4);
	le_put(p + 12, 0, 4);
}

int mig_pages_decode(const uint8_t p[16], uint32_t len, uint64_t mem_pages, uint64_t *first,
		     uint32_t *count, char why[MIG_WHY_MAX])
{
	*first = le_get(p, 8);
	*count = (uint32_t)le_get(p + 8, 4);
	if (le_get(p + 12, 4)) {
		snprintf(why, MIG_WHY_MAX, "PAGES: unknown flags");
		return -EPROTO;
	}
	if (!*count || *count > MIG_PAGES_MAX || len != 16 + (uint64_t)*count * MIG_PAGE) {
		snprintf(why, MIG_WHY_MAX, "PAGES: %u pages in %u bytes", *count, len);
		return -EPROTO;
	}
	if (*first >= mem_pages || *count > mem_pages - *first) {
		snprintf(why, MIG_WHY_MAX, "PAGES: pages %llu..+%u outside the %llu of RAM",
			 (unsigned long long)*first, *count, (unsigned long long)mem_pages);
		return -EPROTO;
	}
	return 0;
}

void mig_error_text(const uint8_t *p, uint32_t len, char out[MIG_WHY_MAX])
{
	uint32_t n = len < MIG_WHY_MAX - 1 ? len : MIG_WHY_MAX - 1;

	for (uint32_t i = 0; i < n; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[n] = 0;
}

/* ------------------------------------------------------------ the target */

static int ram_create(struct mig_in *in, char why[MIG_WHY_MAX], uint8_t **map)
{
	in->mem_fd = memfd_create("petrel-ram", MFD_CLOEXEC);
	if (in->mem_fd < 0 || ftruncate(in->mem_fd, (off_t)in->setup.mem_size)) {
		snprintf(why, MIG_WHY_MAX, "guest RAM of %llu MiB: %s",
			 (unsigned long long)(in->setup.mem_size >> 20), strerror(errno));
		return -errno;
	}
	*map = mmap(NULL, in->setup.mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, in->mem_fd, 0);
	if (*map == MAP_FAILED) {
		*map = NULL;
		snprintf(why, MIG_WHY_MAX, "guest RAM of %llu MiB: %s",
			 (unsigned long long)(in->setup.mem_size >> 20), strerror(errno));
		return -errno;
	}
	return 0;
}

int mig_in_recv(struct mig_in *in, struct mig_io *io, uint64_t mem_max, char why[MIG_WHY_MAX])
{
	uint8_t h[MIG_HEADER_LEN], p[16], *ram = NULL;
	uint32_t type, len, count;
	uint64_t first;
	int err;

	*in = (struct mig_in){ .mem_fd = -1 };
	err = mig_read(io, h, sizeof(h), why);
	if (!err)
		err = mig_header_check(h, why);
	if (!err)
		err = mig_read_head(io, 1u << MIG_SETUP, &type, &len, why);
	if (!err)
		err = mig_read(io, p, sizeof(p), why);
	if (!err)
		err = mig_setup_decode(p, mem_max, &in->setup, why);
	if (!err)
		err = ram_create(in, why, &ram);
	while (!err) {
		err = mig_read_head(io, 1u << MIG_PAGES | 1u << MIG_STATE, &type, &len, why);
		if (err)
			break;
		in->bytes += MIG_RECORD_HEAD + len;
		if (type == MIG_STATE) {
			in->state = malloc(len);
			if (!in->state) {
				snprintf(why, MIG_WHY_MAX, "STATE of %u bytes: out of memory", len);
				err = -ENOMEM;
				break;
			}
			in->state_len = len;
			err = mig_read(io, in->state, len, why);
			if (!err)
				break;
			continue;
		}
		err = mig_read(io, p, sizeof(p), why);
		if (!err)
			err = mig_pages_decode(p, len, in->setup.mem_size / MIG_PAGE, &first,
					       &count, why);
		/* Straight into the guest's RAM: it is not running, and any
		 * bytes are a valid page. */
		if (!err)
			err = mig_read(io, ram + first * MIG_PAGE, (size_t)count * MIG_PAGE, why);
		in->pages += count;
	}
	if (ram)
		munmap(ram, in->setup.mem_size);
	if (err)
		mig_in_free(in);
	return err;
}

int mig_in_commit(struct mig_io *io, uint32_t *flags, char why[MIG_WHY_MAX])
{
	uint32_t type, len;
	uint8_t p[4];
	int err = mig_read_head(io, 1u << MIG_COMMIT, &type, &len, why);

	if (!err)
		err = mig_read(io, p, sizeof(p), why);
	if (err)
		return err;
	*flags = (uint32_t)le_get(p, 4);
	if (*flags & ~MIG_COMMIT_RESUME) {
		snprintf(why, MIG_WHY_MAX, "COMMIT: unknown flags 0x%x", *flags);
		return -EPROTO;
	}
	return 0;
}

void mig_in_free(struct mig_in *in)
{
	free(in->state);
	in->state = NULL;
	if (in->mem_fd >= 0)
		close(in->mem_fd);
	in->mem_fd = -1;
}
