/* SPDX-License-Identifier: MIT */
/* The hypercall port, driven through its bus handler against fake guest
 * memory, with recording console and shutdown callbacks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dev/hypercall.h"
#include "fake_gm.h"
#include "harness.h"
#include "le.h"
#include "petrel/hypercall.h"

#define RAM_SIZE 0x10000
#define BLOCK 0x1000 /* where most tests put their block */
#define TEXT 0x2000
#define SENTINEL 0x5a5a5a5a5a5a5a5aULL

struct rec {
	uint8_t out[2 * PETREL_HC_CONSOLE_MAX];
	size_t nout;
	unsigned int console_calls;
	unsigned int shutdown_calls;
	int status;
	int64_t ret_at_shutdown; /* the block's ret when shutdown was called */
};

static struct gm gm;
static struct rec rec;
static struct hypercall *hc;

static uint8_t *host(gpa_t gpa)
{
	return (uint8_t *)gm_ptr(&gm, gpa, 1);
}

static int64_t block_ret(gpa_t b)
{
	return (int64_t)le_get(host(b + 8), 8);
}

static uint64_t block_arg(gpa_t b, unsigned int i)
{
	return le_get(host(b + 16 + 8 * i), 8);
}

static void rec_console(void *opaque, const uint8_t *buf, size_t len)
{
	struct rec *r = opaque;

	if (r->nout + len <= sizeof(r->out))
		memcpy(r->out + r->nout, buf, len);
	r->nout += len;
	r->console_calls++;
}

static void rec_shutdown(void *opaque, int status)
{
	struct rec *r = opaque;

	r->shutdown_calls++;
	r->status = status;
	r->ret_at_shutdown = block_ret(BLOCK);
}

static const struct hypercall_ops rec_ops = {
	.console = rec_console,
	.shutdown = rec_shutdown,
};

static bool setup(void)
{
	rec = (struct rec){ .status = -1 };
	if (!fake_gm_init(&gm, 0, RAM_SIZE))
		return false;
	hc = hypercall_new(&gm, &rec_ops, &rec);
	return hc != NULL;
}

static void teardown(void)
{
	free(hc);
	hc = NULL;
	fake_gm_free(&gm);
}

/* A block as a guest writes it, ret preset to SENTINEL. */
static void put_block(gpa_t b, uint32_t nr, uint16_t major, uint16_t flags, uint64_t a0,
		      uint64_t a1, uint64_t a2, uint64_t a3)
{
	uint8_t *p = host(b);
	const uint64_t a[4] = { a0, a1, a2, a3 };

	le_put(p, nr, 4);
	le_put(p + 4, major, 2);
	le_put(p + 6, flags, 2);
	le_put(p + 8, SENTINEL, 8);
	for (unsigned int i = 0; i < 4; i++)
		le_put(p + 16 + 8 * i, a[i], 8);
}

static void out32(uint64_t value)
{
	uint8_t data[4];

	le_put(data, value, 4);
	hypercall_io(hc, 0, data, 4, true);
}

/* Put a block at BLOCK, call, return its ret. */
static int64_t call(uint32_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	put_block(BLOCK, nr, PETREL_HC_ABI_MAJOR, 0, a0, a1, a2, a3);
	out32(BLOCK);
	return block_ret(BLOCK);
}

#define CASE(name)                                                                                 \
	static void name##_body(void);                                                             \
	static void name(void)                                                                     \
	{                                                                                          \
		if (!setup()) {                                                                    \
			teardown();                                                                \
			CHECK(!"setup");                                                           \
			return;                                                                    \
		}                                                                                  \
		name##_body();                                                                     \
		teardown();                                                                        \
	}                                                                                          \
	static void name##_body(void)

CASE(hc_version)
{
	char text[64];

	REQUIRE(call(PETREL_HC_VERSION, 0, 0, 0, 0) == 0);
	CHECK(block_arg(BLOCK, 0) == PETREL_HC_ABI_MAJOR);
	CHECK(block_arg(BLOCK, 1) == PETREL_HC_ABI_MINOR);
	CHECK(block_arg(BLOCK, 3) == 0);
	snprintf(text, sizeof(text), "%u.%u.%u", (unsigned int)(block_arg(BLOCK, 2) >> 32),
		 (unsigned int)(block_arg(BLOCK, 2) >> 16 & 0xffff),
		 (unsigned int)(block_arg(BLOCK, 2) & 0xffff));
	CHECK(strcmp(text, PETREL_VERSION) == 0);
}

/* VERSION answers whatever the major, flags and arguments say. */
CASE(hc_version_any_major)
{
	put_block(BLOCK, PETREL_HC_VERSION, 77, 0xffff, 1, 2, 3, 4);
	out32(BLOCK);
	CHECK(block_ret(BLOCK) == 0);
	CHECK(block_arg(BLOCK, 0) == PETREL_HC_ABI_MAJOR);
	CHECK(block_arg(BLOCK, 1) == PETREL_HC_ABI_MINOR);
	CHECK(block_arg(BLOCK, 3) == 0);
	/* The guest's inputs are never written. */
	CHECK(le_get(host(BLOCK), 4) == PETREL_HC_VERSION);
	CHECK(le_get(host(BLOCK + 4), 2) == 77);
	CHECK(le_get(host(BLOCK + 6), 2) == 0xffff);
}

CASE(hc_nop)
{
	CHECK(call(PETREL_HC_NOP, 0, 0, 0, 0) == 0);
	CHECK(call(PETREL_HC_NOP, 0, 0, 0, 1) == -PETREL_HC_EINVAL);
	CHECK(rec.console_calls == 0 && rec.shutdown_calls == 0);
}

CASE(hc_console_write)
{
	static const char msg[] = "hello, console";

	memcpy(host(TEXT), msg, sizeof(msg) - 1);
	REQUIRE(call(PETREL_HC_CONSOLE_WRITE, TEXT, sizeof(msg) - 1, 0, 0) ==
		(int64_t)sizeof(msg) - 1);
	CHECK(rec.console_calls == 1);
	CHECK(rec.nout == sizeof(msg) - 1 && memcmp(rec.out, msg, rec.nout) == 0);
	/* The address and length are inputs: left as they were. */
	CHECK(block_arg(BLOCK, 0) == TEXT && block_arg(BLOCK, 1) == sizeof(msg) - 1);
}

CASE(hc_console_write_bounds)
{
	memset(host(TEXT), 'x', PETREL_HC_CONSOLE_MAX + 1);
	CHECK(call(PETREL_HC_CONSOLE_WRITE, TEXT, PETREL_HC_CONSOLE_MAX, 0, 0) ==
	      PETREL_HC_CONSOLE_MAX);
	CHECK(rec.console_calls == 1 && rec.nout == PETREL_HC_CONSOLE_MAX);
	CHECK(call(PETREL_HC_CONSOLE_WRITE, TEXT, PETREL_HC_CONSOLE_MAX + 1, 0, 0) ==
	      -PETREL_HC_EINVAL);
	CHECK(call(PETREL_HC_CONSOLE_WRITE, TEXT, UINT64_MAX, 0, 0) == -PETREL_HC_EINVAL);
	CHECK(call(PETREL_HC_CONSOLE_WRITE, TEXT, 1ULL << 32, 0, 0) == -PETREL_HC_EINVAL);
	/* Nothing more reached the console. */
	CHECK(rec.console_calls == 1 && rec.nout == PETREL_HC_CONSOLE_MAX);
	/* Length 0: success, nothing printed. */
	CHECK(call(PETREL_HC_CONSOLE_WRITE, TEXT, 0, 0, 0) == 0);
	CHECK(rec.console_calls == 1);
	/* Unused arguments must be 0. */
	CHECK(call(PETREL_HC_CONSOLE_WRITE, TEXT, 1, 1, 0) == -PETREL_HC_EINVAL);
	CHECK(call(PETREL_HC_CONSOLE_WRITE, TEXT, 1, 0, 1) == -PETREL_HC_EINVAL);
	CHECK(rec.console_calls == 1);
}

CASE(hc_console_write_bad_buffer)
{
	/* Wholly outside RAM, straddling its end, wrapping, in the 32-bit hole. */
	CHECK(call(PETREL_HC_CONSOLE_WRITE, RAM_SIZE, 1, 0, 0) == -PETREL_HC_EFAULT);
	CHECK(call(PETREL_HC_CONSOLE_WRITE, RAM_SIZE - 2, 4, 0, 0) == -PETREL_HC_EFAULT);
	CHECK(call(PETREL_HC_CONSOLE_WRITE, UINT64_MAX - 1, 4, 0, 0) == -PETREL_HC_EFAULT);
	CHECK(call(PETREL_HC_CONSOLE_WRITE, 0xe0000000, 16, 0, 0) == -PETREL_HC_EFAULT);
	CHECK(call(PETREL_HC_CONSOLE_WRITE, RAM_SIZE, 0, 0, 0) == -PETREL_HC_EFAULT);
	CHECK(rec.console_calls == 0);
	/* The last bytes of RAM are fine. */
	memcpy(host(RAM_SIZE - 2), "ok", 2);
	CHECK(call(PETREL_HC_CONSOLE_WRITE, RAM_SIZE - 2, 2, 0, 0) == 2);
	CHECK(rec.nout == 2 && memcmp(rec.out, "ok", 2) == 0);
}

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

CASE(hc_time)
{
	uint64_t r0 = now_ns(CLOCK_REALTIME), m0 = now_ns(CLOCK_MONOTONIC), r1, m1;

	REQUIRE(call(PETREL_HC_TIME, 0, 0, 0, 0) == 0);
	r1 = now_ns(CLOCK_REALTIME);
	m1 = now_ns(CLOCK_MONOTONIC);
	CHECK(block_arg(BLOCK, 0) >= r0 && block_arg(BLOCK, 0) <= r1);
	CHECK(block_arg(BLOCK, 1) >= m0 && block_arg(BLOCK, 1) <= m1);
	CHECK(block_arg(BLOCK, 2) == 0 && block_arg(BLOCK, 3) == 0);
	CHECK(call(PETREL_HC_TIME, 1, 0, 0, 0) == -PETREL_HC_EINVAL);
}

/* The result is in guest memory before the VM is told to stop. */
CASE(hc_shutdown)
{
	CHECK(call(PETREL_HC_SHUTDOWN, 42, 0, 0, 0) == 0);
	CHECK(rec.shutdown_calls == 1 && rec.status == 42);
	CHECK(rec.ret_at_shutdown == 0);
	CHECK(call(PETREL_HC_SHUTDOWN, 255, 0, 0, 0) == 0);
	CHECK(rec.shutdown_calls == 2 && rec.status == 255);
	CHECK(call(PETREL_HC_SHUTDOWN, 0, 0, 0, 0) == 0);
	CHECK(rec.shutdown_calls == 3 && rec.status == 0);
}

CASE(hc_shutdown_bad_status)
{
	CHECK(call(PETREL_HC_SHUTDOWN, 256, 0, 0, 0) == -PETREL_HC_EINVAL);
	CHECK(call(PETREL_HC_SHUTDOWN, (uint64_t)-1, 0, 0, 0) == -PETREL_HC_EINVAL);
	CHECK(call(PETREL_HC_SHUTDOWN, 1, 1, 0, 0) == -PETREL_HC_EINVAL);
	CHECK(rec.shutdown_calls == 0);
}

CASE(hc_unknown_call)
{
	CHECK(call(5, 0, 0, 0, 0) == -PETREL_HC_ENOSYS);
	CHECK(call(0xffffffff, 0, 0, 0, 0) == -PETREL_HC_ENOSYS);
	CHECK(call(0x80000001, 0, 0, 0, 0) == -PETREL_HC_ENOSYS);
}

/* Any call but VERSION with another major: -EPROTO, before anything else
 * is looked at (an unknown number, flags, arguments). */
CASE(hc_wrong_major)
{
	static const uint16_t majors[] = { 0, PETREL_HC_ABI_MAJOR + 1, 0xffff };

	for (unsigned int i = 0; i < ARRAY_SIZE(majors); i++) {
		put_block(BLOCK, PETREL_HC_NOP, majors[i], 0, 0, 0, 0, 0);
		out32(BLOCK);
		CHECK(block_ret(BLOCK) == -PETREL_HC_EPROTO);
		put_block(BLOCK, 99, majors[i], 1, 1, 1, 1, 1);
		out32(BLOCK);
		CHECK(block_ret(BLOCK) == -PETREL_HC_EPROTO);
		put_block(BLOCK, PETREL_HC_SHUTDOWN, majors[i], 0, 3, 0, 0, 0);
		out32(BLOCK);
		CHECK(block_ret(BLOCK) == -PETREL_HC_EPROTO);
	}
	CHECK(rec.shutdown_calls == 0);
}

CASE(hc_flags)
{
	put_block(BLOCK, PETREL_HC_NOP, PETREL_HC_ABI_MAJOR, 1, 0, 0, 0, 0);
	out32(BLOCK);
	CHECK(block_ret(BLOCK) == -PETREL_HC_EINVAL);
	put_block(BLOCK, PETREL_HC_SHUTDOWN, PETREL_HC_ABI_MAJOR, 0x8000, 1, 0, 0, 0);
	out32(BLOCK);
	CHECK(block_ret(BLOCK) == -PETREL_HC_EINVAL);
	CHECK(rec.shutdown_calls == 0);
}

/* A block petrel cannot use leaves guest memory exactly as it was. */
static bool call_ignored(uint64_t value)
{
	uint8_t *before = malloc(RAM_SIZE);
	bool same;

	if (!before)
		return false;
	memcpy(before, host(0), RAM_SIZE);
	out32(value);
	same = memcmp(before, host(0), RAM_SIZE) == 0;
	free(before);
	return same && rec.console_calls == 0 && rec.shutdown_calls == 0;
}

CASE(hc_block_misaligned)
{
	for (unsigned int off = 1; off < PETREL_HC_BLOCK_ALIGN; off++) {
		put_block(BLOCK + off, PETREL_HC_SHUTDOWN, PETREL_HC_ABI_MAJOR, 0, 1, 0, 0, 0);
		CHECK(call_ignored(BLOCK + off));
	}
}

CASE(hc_block_outside_ram)
{
	/* Straddling the end of RAM (8-aligned, 40 of 48 bytes inside). */
	put_block(RAM_SIZE - 48, PETREL_HC_SHUTDOWN, PETREL_HC_ABI_MAJOR, 0, 1, 0, 0, 0);
	memmove(host(RAM_SIZE - 40), host(RAM_SIZE - 48), 40);
	CHECK(call_ignored(RAM_SIZE - 40));
	CHECK(call_ignored(RAM_SIZE - 8));
	CHECK(call_ignored(RAM_SIZE));
	CHECK(call_ignored(0xfffffff8));
	/* The last whole block of RAM works. */
	put_block(RAM_SIZE - 48, PETREL_HC_NOP, PETREL_HC_ABI_MAJOR, 0, 0, 0, 0, 0);
	out32(RAM_SIZE - 48);
	CHECK(block_ret(RAM_SIZE - 48) == 0);
}

/* Only a 32-bit write at the port's base is a call; reads see all-ones. */
CASE(hc_access_sizes)
{
	uint8_t data[8];

	put_block(BLOCK, PETREL_HC_SHUTDOWN, PETREL_HC_ABI_MAJOR, 0, 1, 0, 0, 0);
	for (uint32_t len = 1; len <= 8; len *= 2) {
		if (len == 4)
			continue;
		le_put(data, BLOCK, 8);
		hypercall_io(hc, 0, data, len, true);
	}
	le_put(data, BLOCK, 4);
	hypercall_io(hc, 1, data, 1, true);
	hypercall_io(hc, 2, data, 2, true);
	CHECK(block_ret(BLOCK) == (int64_t)SENTINEL && rec.shutdown_calls == 0);
	memset(data, 0, sizeof(data));
	hypercall_io(hc, 0, data, 4, false);
	CHECK(le_get(data, 4) == 0xffffffff);
	CHECK(block_ret(BLOCK) == (int64_t)SENTINEL && rec.shutdown_calls == 0);
	/* The upper 32 bits of a wider value never reach the address. */
	le_put(data, BLOCK, 4);
	hypercall_io(hc, 0, data, 4, true);
	CHECK(block_ret(BLOCK) == 0 && rec.shutdown_calls == 1 && rec.status == 1);
}

/* Nothing outside [ret, arg[3]] of the block is written. */
CASE(hc_writes_only_results)
{
	memset(host(BLOCK - 16), 0xa5, 16 + PETREL_HC_BLOCK_SIZE + 16);
	CHECK(call(PETREL_HC_TIME, 0, 0, 0, 0) == 0);
	for (unsigned int i = 0; i < 16; i++) {
		CHECK(host(BLOCK - 16)[i] == 0xa5);
		CHECK(host(BLOCK + PETREL_HC_BLOCK_SIZE)[i] == 0xa5);
	}
}

int main(void)
{
	RUN(hc_version);
	RUN(hc_version_any_major);
	RUN(hc_nop);
	RUN(hc_console_write);
	RUN(hc_console_write_bounds);
	RUN(hc_console_write_bad_buffer);
	RUN(hc_time);
	RUN(hc_shutdown);
	RUN(hc_shutdown_bad_status);
	RUN(hc_unknown_call);
	RUN(hc_wrong_major);
	RUN(hc_flags);
	RUN(hc_block_misaligned);
	RUN(hc_block_outside_ram);
	RUN(hc_access_sizes);
	RUN(hc_writes_only_results);
	return harness_exit();
}
