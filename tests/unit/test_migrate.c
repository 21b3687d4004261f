/* SPDX-License-Identifier: MIT */
/*
 * The live-migration stream (migrate/stream.c): addresses, the header,
 * record heads against their limits, SETUP and PAGES decoded and
 * refused, the target's parser on a good stream (pages land in the RAM
 * memfd, STATE comes out whole) and on hostile ones (every prefix of the
 * good one, wrong order, lengths over the limit, pages outside RAM),
 * records sent and read back over a socket pair, a peer that stalls.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "le.h"
#include "migrate/stream.h"

static char why[MIG_WHY_MAX];

#define MEM (4u << 20)

/* A stream builder. */
struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put_head(struct buf *b, uint32_t type, uint32_t len)
{
	uint8_t h[8];

	le_put(h, type, 4);
	le_put(h + 4, len, 4);
	put(b, h, 8);
}

static void put_setup(struct buf *b, uint64_t mem)
{
	struct mig_setup s = { .mem_size = mem, .cpus = 2 };
	uint8_t p[16];

	mig_setup_encode(&s, p);
	put_head(b, MIG_SETUP, 16);
	put(b, p, 16);
}

static void put_pages(struct buf *b, uint64_t first, uint32_t count, uint8_t fill)
{
	uint8_t p[16], page[MIG_PAGE];

	memset(page, fill, sizeof(page));
	mig_pages_encode(first, count, p);
	put_head(b, MIG_PAGES, 16 + count * MIG_PAGE);
	put(b, p, 16);
	for (uint32_t i = 0; i < count; i++)
		put(b, page, sizeof(page));
}

/* header, SETUP (4 MiB), pages 3..4 (0x11), page 1023 (0x22), STATE "abc" */
static struct buf good(void)
{
	struct buf b = { 0 };
	uint8_t h[MIG_HEADER_LEN];

	mig_header_encode(h);
	put(&b, h, sizeof(h));
	put_setup(&b, MEM);
	put_pages(&b, 3, 2, 0x11);
	put_pages(&b, 1023, 1, 0x22);
	put_head(&b, MIG_STATE, 3);
	put(&b, "abc", 3);
	return b;
}

static int parse(const struct buf *b, struct mig_in *in)
{
	struct mig_io io = { .fd = -1, .buf = b->p, .len = b->len };

	why[0] = 0;
	return mig_in_recv(in, &io, 1ull << 30, why);
}

static void addr_forms(void)
{
	struct mig_addr a;

	CHECK(mig_addr_parse("unix:/run/x.sock", &a, why) == 0 && !a.tcp &&
	      !strcmp(a.path, "/run/x.sock"));
	CHECK(mig_addr_parse("tcp:10.0.0.2:7000", &a, why) == 0 && a.tcp &&
	      !strcmp(a.host, "10.0.0.2") && !strcmp(a.port, "7000"));
	CHECK(mig_addr_parse("tcp::7000", &a, why) == 0 && !a.host[0]);
	CHECK(mig_addr_parse("tcp:[::1]:9", &a, why) == 0 && !strcmp(a.host, "::1") &&
	      !strcmp(a.port, "9"));
	CHECK(mig_addr_parse("unix:", &a, why) == -EINVAL);
	CHECK(mig_addr_parse("tcp:::1:9", &a, why) == -EINVAL);
	CHECK(mig_addr_parse("tcp:1.2.3.4:0", &a, why) == -EINVAL);
	CHECK(mig_addr_parse("tcp:1.2.3.4:65536", &a, why) == -EINVAL);
	CHECK(mig_addr_parse("tcp:1.2.3.4:+5", &a, why) == -EINVAL);
	CHECK(mig_addr_parse("tcp:1.2.3.4", &a, why) == -EINVAL);
	CHECK(mig_addr_parse("ftp:x", &a, why) == -EINVAL &&
	      !strcmp(why, "'ftp:x': must be unix:PATH or tcp:HOST:PORT"));
}

static void header_checks(void)
{
	uint8_t h[MIG_HEADER_LEN];

	mig_header_encode(h);
	CHECK(mig_header_check(h, why) == 0);
	h[0] = 'X';
	CHECK(mig_header_check(h, why) == -EINVAL && strstr(why, "bad magic"));
	mig_header_encode(h);
	h[8] = 2;
	CHECK(mig_header_check(h, why) == -EINVAL &&
	      !strcmp(why, "stream version 2, this petrel speaks 1"));
	mig_header_encode(h);
	h[15] = 1;
	CHECK(mig_header_check(h, why) == -EINVAL && strstr(why, "flags"));
}

static void setup_pages_decode(void)
{
	struct mig_setup s = { .mem_size = 64 << 20, .cpus = 3 }, out;
	uint64_t first;
	uint32_t count;
	uint8_t p[16];

	mig_setup_encode(&s, p);
	CHECK(mig_setup_decode(p, 1ull << 30, &out, why) == 0 && out.mem_size == s.mem_size &&
	      out.cpus == 3);
	CHECK(mig_setup_decode(p, 32 << 20, &out, why) == -EPROTO);
	s.mem_size = (1 << 20) + 4096;
	mig_setup_encode(&s, p);
	CHECK(mig_setup_decode(p, 1ull << 30, &out, why) == -EPROTO);
	s.mem_size = 1 << 20;
	s.cpus = 0;
	mig_setup_encode(&s, p);
	CHECK(mig_setup_decode(p, 1ull << 30, &out, why) == -EPROTO && strstr(why, "0 vCPUs"));
	s.cpus = 1;
	mig_setup_encode(&s, p);
	p[13] = 0x20; /* page size 8 KiB */
	CHECK(mig_setup_decode(p, 1ull << 30, &out, why) == -EPROTO && strstr(why, "page size"));

	mig_pages_encode(10, 2, p);
	CHECK(mig_pages_decode(p, 16 + 2 * MIG_PAGE, 12, &first, &count, why) == 0 && first == 10 &&
	      count == 2);
	CHECK(mig_pages_decode(p, 16 + 2 * MIG_PAGE, 11, &first, &count, why) == -EPROTO);
	CHECK(mig_pages_decode(p, 16 + MIG_PAGE, 12, &first, &count, why) == -EPROTO);
	mig_pages_encode(UINT64_MAX, 2, p);
	CHECK(mig_pages_decode(p, 16 + 2 * MIG_PAGE, 12, &first, &count, why) == -EPROTO);
	mig_pages_encode(0, 0, p);
	CHECK(mig_pages_decode(p, 16, 12, &first, &count, why) == -EPROTO);
	mig_pages_encode(0, 1, p);
	p[12] = 1;
	CHECK(mig_pages_decode(p, 16 + MIG_PAGE, 12, &first, &count, why) == -EPROTO);
}

static void heads(void)
{
	struct buf b = { 0 };
	struct mig_io io;
	uint32_t type, len;

	put_head(&b, MIG_PAGES, 16 + MIG_PAGES_MAX * MIG_PAGE);
	put_head(&b, MIG_PAGES, 16 + MIG_PAGES_MAX * MIG_PAGE + 1);
	put_head(&b, MIG_STATE, MIG_STATE_MAX + 1);
	put_head(&b, MIG_READY, 1);
	put_head(&b, 99, 0);
	put_head(&b, MIG_DONE, 0);
	io = (struct mig_io){ .fd = -1, .buf = b.p, .len = b.len };
	CHECK(mig_read_head(&io, ~0u, &type, &len, why) == 0 && type == MIG_PAGES);
	CHECK(mig_read_head(&io, ~0u, &type, &len, why) == -EPROTO && strstr(why, "PAGES"));
	CHECK(mig_read_head(&io, ~0u, &type, &len, why) == -EPROTO && strstr(why, "STATE"));
	CHECK(mig_read_head(&io, ~0u, &type, &len, why) == -EPROTO);
	CHECK(mig_read_head(&io, ~0u, &type, &len, why) == -EPROTO &&
	      !strcmp(why, "unexpected record ? (type 99)"));
	CHECK(mig_read_head(&io, 1u << MIG_READY, &type, &len, why) == -EPROTO &&
	      !strcmp(why, "unexpected record DONE (type 6)"));
	CHECK(mig_read_head(&io, ~0u, &type, &len, why) == -EPIPE);
	free(b.p);
}

static void recv_good(void)
{
	struct buf b = good();
	struct mig_in in;
	uint8_t *ram;

	REQUIRE(parse(&b, &in) == 0);
	CHECK(in.setup.mem_size == MEM && in.setup.cpus == 2 && in.pages == 3);
	CHECK(in.state_len == 3 && !memcmp(in.state, "abc", 3));
	REQUIRE(in.mem_fd >= 0);
	ram = mmap(NULL, MEM, PROT_READ, MAP_SHARED, in.mem_fd, 0);
	REQUIRE(ram != MAP_FAILED);
	CHECK(ram[3 * MIG_PAGE] == 0x11 && ram[5 * MIG_PAGE - 1] == 0x11);
	CHECK(ram[1023 * MIG_PAGE + 7] == 0x22);
	CHECK(ram[0] == 0 && ram[5 * MIG_PAGE] == 0 && ram[1022 * MIG_PAGE] == 0);
	munmap(ram, MEM);
	mig_in_free(&in);
	mig_in_free(&in); /* idempotent */
	free(b.p);
}

/* Every cut of a good stream fails, with nothing left open. */
static void recv_prefixes(void)
{
	struct buf b = good();
	struct mig_in in;
	bool all = true;

	for (size_t n = 0; n < b.len; n++) {
		struct buf cut = { .p = b.p, .len = n };

		if (parse(&cut, &in) != -EPIPE || in.mem_fd != -1 || in.state)
			all = false;
	}
	CHECK(all);
	free(b.p);
}

static void expect_refused(struct buf *b, const char *want)
{
	struct mig_in in;

	CHECK(parse(b, &in) == -EPROTO || !want);
	CHECK(in.mem_fd == -1 && !in.state);
	if (want && !strstr(why, want)) {
		printf("# got '%s', want '%s'\n", why, want);
		CHECK(!"the reason");
	}
	free(b->p);
	*b = (struct buf){ 0 };
}

static void recv_hostile(void)
{
	uint8_t h[MIG_HEADER_LEN];
	struct buf b = { 0 };

	mig_header_encode(h);
	/* PAGES before SETUP */
	put(&b, h, sizeof(h));
	put_pages(&b, 0, 1, 1);
	expect_refused(&b, "unexpected record PAGES");
	/* a second SETUP */
	put(&b, h, sizeof(h));
	put_setup(&b, MEM);
	put_setup(&b, MEM);
	expect_refused(&b, "unexpected record SETUP");
	/* a page past the end of RAM */
	put(&b, h, sizeof(h));
	put_setup(&b, MEM);
	put_pages(&b, MEM / MIG_PAGE, 1, 1);
	expect_refused(&b, "outside the 1024 of RAM");
	/* a run that wraps around */
	put(&b, h, sizeof(h));
	put_setup(&b, MEM);
	put_pages(&b, MEM / MIG_PAGE - 1, 2, 1);
	expect_refused(&b, "outside");
	/* RAM over the target's limit */
	put(&b, h, sizeof(h));
	put_setup(&b, 2ull << 30);
	expect_refused(&b, "memory size");
	/* READY, COMMIT, ERROR are not a source's before STATE */
	put(&b, h, sizeof(h));
	put_setup(&b, MEM);
	put_head(&b, MIG_COMMIT, 4);
	put(&b, "\1\0\0\0", 4);
	expect_refused(&b, "unexpected record COMMIT");
	/* a STATE longer than the limit: refused before anything is read */
	put(&b, h, sizeof(h));
	put_setup(&b, MEM);
	put_head(&b, MIG_STATE, 0xffffffffu);
	expect_refused(&b, "length 4294967295 out of range");
	/* an empty STATE */
	put(&b, h, sizeof(h));
	put_setup(&b, MEM);
	put_head(&b, MIG_STATE, 0);
	expect_refused(&b, "out of range");
}

static void commit_flags(void)
{
	struct buf b = { 0 };
	struct mig_io io;
	uint32_t flags;

	put_head(&b, MIG_COMMIT, 4);
	put(&b, "\1\0\0\0", 4);
	put_head(&b, MIG_COMMIT, 4);
	put(&b, "\3\0\0\0", 4);
	put_head(&b, MIG_STATE, 1);
	put(&b, "x", 1);
	io = (struct mig_io){ .fd = -1, .buf = b.p, .len = b.len };
	CHECK(mig_in_commit(&io, &flags, why) == 0 && flags == MIG_COMMIT_RESUME);
	CHECK(mig_in_commit(&io, &flags, why) == -EPROTO && strstr(why, "unknown flags"));
	CHECK(mig_in_commit(&io, &flags, why) == -EPROTO);
	free(b.p);
}

/* Records through a real socket: what mig_send writes, mig_read_head and
 * mig_read take back; a silent peer times out; a closed one is EOF. */
static void socket_io(void)
{
	int sv[2];
	struct mig_io io = { .timeout_ms = 50 };
	uint32_t type, len;
	char text[MIG_WHY_MAX];
	uint8_t p[32];

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	io.fd = sv[1];
	CHECK(mig_send(sv[0], MIG_ERROR, "bad\x01", 4) == 0);
	CHECK(mig_send(sv[0], MIG_READY, NULL, 0) == 0);
	CHECK(mig_read_head(&io, 1u << MIG_ERROR, &type, &len, why) == 0 && len == 4);
	CHECK(mig_read(&io, p, len, why) == 0);
	mig_error_text(p, len, text);
	CHECK(!strcmp(text, "bad?"));
	CHECK(mig_read_head(&io, 1u << MIG_READY, &type, &len, why) == 0 && len == 0);
	CHECK(mig_read(&io, p, 1, why) == -ETIMEDOUT && strstr(why, "nothing for 50 ms"));
	close(sv[0]);
	CHECK(mig_read(&io, p, 1, why) == -EPIPE && !strcmp(why, "the peer closed the connection"));
	close(sv[1]);
}

int main(void)
{
	RUN(addr_forms);
	RUN(header_checks);
	RUN(setup_pages_decode);
	RUN(heads);
	RUN(recv_good);
	RUN(recv_prefixes);
	RUN(recv_hostile);
	RUN(commit_flags);
	RUN(socket_io);
	return harness_exit();
}
