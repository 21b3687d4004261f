/* SPDX-License-Identifier: MIT */
/*
 * The live-migration stream (migrate/stream.c): addresses, the header
 * (version 2; 1 refused by name), record heads against their limits,
 * SETUP (with its configuration), ACCEPT and PAGES decoded and refused,
 * the target's parser on a good stream (the configuration comes out
 * whole, pages land in RAM laid out as the VM's, STATE comes out whole)
 * and on hostile ones (every prefix of the good one, wrong order, lengths
 * over the limit, RAM over the host's cap, a NUL in the configuration,
 * pages outside RAM), records sent and read back over a socket pair, a
 * peer that stalls.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "le.h"
#include "mem.h"
#include "migrate/stream.h"

static char why[MIG_WHY_MAX];

#define MEM (4u << 20)
#define CONFIG "{\"machine-config\": {}}"

static const struct mig_mem_cap cap = { 1ull << 30, "the test's cap" };

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

static void put_setup_config(struct buf *b, uint64_t mem, const char *config, uint32_t len)
{
	struct mig_setup s = { .mem_size = mem, .cpus = 2 };
	uint8_t p[MIG_SETUP_FIXED];

	mig_setup_encode(&s, p);
	put_head(b, MIG_SETUP, MIG_SETUP_FIXED + len);
	put(b, p, sizeof(p));
	put(b, config, len);
}

static void put_setup(struct buf *b, uint64_t mem)
{
	put_setup_config(b, mem, CONFIG, strlen(CONFIG));
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

/* The target's side: SETUP, then RAM as the VM would map it (*ram,
 * mapped only if SETUP passed), then PAGES and STATE. */
static int parse(const struct buf *b, struct mig_in *in, struct gm *ram)
{
	struct mig_io io = { .fd = -1, .buf = b->p, .len = b->len };
	int err;

	why[0] = 0;
	*ram = (struct gm){ 0 };
	err = mig_in_setup(in, &io, &cap, why);
	if (!err)
		err = gm_init(ram, in->setup.mem_size);
	if (!err)
		err = mig_in_pages(in, &io, ram, why);
	return err;
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
	CHECK(h[8] == 2 && mig_header_check(h, why) == 0);
	h[0] = 'X';
	CHECK(mig_header_check(h, why) == -EINVAL && strstr(why, "bad magic"));
	mig_header_encode(h);
	h[8] = 1;
	CHECK(mig_header_check(h, why) == -EINVAL &&
	      !strcmp(why, "stream version 1 (a petrel without the configuration in SETUP), this "
			   "petrel speaks 2"));
	h[8] = 3;
	CHECK(mig_header_check(h, why) == -EINVAL &&
	      !strcmp(why, "stream version 3, this petrel speaks 2"));
	mig_header_encode(h);
	h[15] = 1;
	CHECK(mig_header_check(h, why) == -EINVAL && strstr(why, "flags"));
}

static void setup_pages_decode(void)
{
	struct mig_setup s = { .mem_size = 64 << 20, .cpus = 3 }, out;
	struct mig_mem_cap small = { 32 << 20, "this host's MemAvailable" };
	uint32_t count, len = MIG_SETUP_FIXED + 2;
	uint64_t first;
	uint8_t p[16];

	mig_setup_encode(&s, p);
	CHECK(mig_setup_decode(p, len, &cap, &out, why) == 0 && out.mem_size == s.mem_size &&
	      out.cpus == 3 && out.config_len == 2 && !out.config);
	CHECK(mig_setup_decode(p, len, &small, &out, why) == -EPROTO &&
	      !strcmp(why, "SETUP: 64 MiB of RAM, more than this host's MemAvailable (32 MiB)"));
	CHECK(mig_setup_decode(p, MIG_SETUP_FIXED + 1, &cap, &out, why) == -EPROTO &&
	      strstr(why, "a configuration of 1 bytes"));
	CHECK(mig_setup_decode(p, MIG_SETUP_FIXED + MIG_CONFIG_MAX + 1, &cap, &out, why) ==
	      -EPROTO);
	s.mem_size = (1 << 20) + 4096;
	mig_setup_encode(&s, p);
	CHECK(mig_setup_decode(p, len, &cap, &out, why) == -EPROTO &&
	      strstr(why, "not a whole number of MiB"));
	s.mem_size = 1 << 20;
	s.cpus = 0;
	mig_setup_encode(&s, p);
	CHECK(mig_setup_decode(p, len, &cap, &out, why) == -EPROTO && strstr(why, "0 vCPUs"));
	s.cpus = 1;
	mig_setup_encode(&s, p);
	p[13] = 0x20; /* page size 8 KiB */
	CHECK(mig_setup_decode(p, len, &cap, &out, why) == -EPROTO && strstr(why, "page size"));

	le_put(p, 2, 4);
	CHECK(mig_accept_check(p, why) == 0);
	le_put(p, 1, 4);
	CHECK(mig_accept_check(p, why) == -EPROTO &&
	      !strcmp(why, "the target speaks stream version 1, this petrel 2"));

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

/* The host's cap: its MemAvailable, never more than MIG_MEM_MAX. */
static void host_cap(void)
{
	struct mig_mem_cap c;

	mig_mem_cap_host(&c);
	CHECK(c.bytes && c.bytes <= MIG_MEM_MAX);
	CHECK(!strcmp(c.what, "this host's MemAvailable") || !strcmp(c.what, "petrel's limit"));
}

static void heads(void)
{
	struct buf b = { 0 };
	struct mig_io io;
	uint32_t type, len;

	put_head(&b, MIG_PAGES, 16 + MIG_PAGES_MAX * MIG_PAGE);
	put_head(&b, MIG_PAGES, 16 + MIG_PAGES_MAX * MIG_PAGE + 1);
	put_head(&b, MIG_STATE, MIG_STATE_MAX + 1);
	put_head(&b, MIG_SETUP, MIG_SETUP_FIXED + MIG_CONFIG_MAX + 1);
	put_head(&b, MIG_READY, 1);
	put_head(&b, 99, 0);
	put_head(&b, MIG_DONE, 0);
	io = (struct mig_io){ .fd = -1, .buf = b.p, .len = b.len };
	CHECK(mig_read_head(&io, ~0u, &type, &len, why) == 0 && type == MIG_PAGES);
	CHECK(mig_read_head(&io, ~0u, &type, &len, why) == -EPROTO && strstr(why, "PAGES"));
	CHECK(mig_read_head(&io, ~0u, &type, &len, why) == -EPROTO && strstr(why, "STATE"));
	CHECK(mig_read_head(&io, ~0u, &type, &len, why) == -EPROTO && strstr(why, "SETUP"));
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
	struct gm ram;
	uint8_t *host;

	REQUIRE(parse(&b, &in, &ram) == 0);
	CHECK(in.setup.mem_size == MEM && in.setup.cpus == 2 && in.pages == 3);
	CHECK(in.config && !strcmp(in.config, CONFIG) && in.setup.config == in.config &&
	      in.setup.config_len == strlen(CONFIG));
	CHECK(in.state_len == 3 && !memcmp(in.state, "abc", 3));
	host = ram.region[0].host;
	CHECK(host[3 * MIG_PAGE] == 0x11 && host[5 * MIG_PAGE - 1] == 0x11);
	CHECK(host[1023 * MIG_PAGE + 7] == 0x22);
	CHECK(host[0] == 0 && host[5 * MIG_PAGE] == 0 && host[1022 * MIG_PAGE] == 0);
	mig_in_free(&in);
	CHECK(!in.config && !in.state);
	mig_in_free(&in); /* idempotent */
	gm_destroy(&ram);
	free(b.p);
}

/* Every cut of a good stream fails, with nothing left allocated. */
static void recv_prefixes(void)
{
	struct buf b = good();
	struct mig_in in;
	struct gm ram;
	bool all = true;

	for (size_t n = 0; n < b.len; n++) {
		struct buf cut = { .p = b.p, .len = n };

		if (parse(&cut, &in, &ram) != -EPIPE || in.state)
			all = false;
		mig_in_free(&in);
		gm_destroy(&ram);
	}
	CHECK(all);
	free(b.p);
}

static void expect_refused(struct buf *b, const char *want)
{
	struct mig_in in;
	struct gm ram;

	CHECK(parse(b, &in, &ram) == -EPROTO || !want);
	CHECK(!in.state);
	if (want && !strstr(why, want)) {
		printf("# got '%s', want '%s'\n", why, want);
		CHECK(!"the reason");
	}
	mig_in_free(&in);
	gm_destroy(&ram);
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
	/* RAM over the target's cap: refused before anything is mapped */
	put(&b, h, sizeof(h));
	put_setup(&b, 2ull << 30);
	expect_refused(&b, "SETUP: 2048 MiB of RAM, more than the test's cap (1024 MiB)");
	/* a NUL in the configuration */
	put(&b, h, sizeof(h));
	put_setup_config(&b, MEM, "{}\0{}", 5);
	expect_refused(&b, "SETUP: a NUL in the configuration");
	/* a configuration over the limit: refused before a byte is read */
	put(&b, h, sizeof(h));
	put_head(&b, MIG_SETUP, MIG_SETUP_FIXED + MIG_CONFIG_MAX + 1);
	expect_refused(&b, "record SETUP: length");
	/* a version-1 stream (SETUP without a configuration) */
	put(&b, h, sizeof(h));
	b.p[8] = 1;
	put_head(&b, MIG_SETUP, 16);
	expect_refused(&b, NULL);
	CHECK(strstr(why, "stream version 1"));
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
	RUN(host_cap);
	RUN(heads);
	RUN(recv_good);
	RUN(recv_prefixes);
	RUN(recv_hostile);
	RUN(commit_flags);
	RUN(socket_io);
	return harness_exit();
}
