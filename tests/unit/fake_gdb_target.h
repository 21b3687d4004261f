/* SPDX-License-Identifier: MIT */
/* A gdb stub target in plain memory: 2 vCPUs, 64 KiB of "virtual" memory
 * at FAKE_GDB_BASE, replies collected in a buffer. For unit tests and the
 * fuzz target. */
#ifndef PETREL_TEST_FAKE_GDB_TARGET_H
#define PETREL_TEST_FAKE_GDB_TARGET_H

#include <errno.h>
#include <string.h>

#include "gdb/stub.h"

#define FAKE_GDB_BASE 0x10000u
#define FAKE_GDB_MEM 0x10000u

struct fake_gdb {
	uint8_t regs[2][GDBX86_REGS_SIZE];
	uint8_t mem[FAKE_GDB_MEM];
	char out[65536];
	size_t out_len;
	bool send_fails;
	unsigned int resumes, interrupts, detaches, kills;
	struct gdb_debug last;
};

static unsigned int fake_gdb_ncpus(void *t)
{
	(void)t;
	return 2;
}

static int fake_gdb_read_regs(void *t, unsigned int cpu, uint8_t *regs)
{
	memcpy(regs, ((struct fake_gdb *)t)->regs[cpu], GDBX86_REGS_SIZE);
	return 0;
}

static int fake_gdb_write_regs(void *t, unsigned int cpu, const uint8_t *regs)
{
	memcpy(((struct fake_gdb *)t)->regs[cpu], regs, GDBX86_REGS_SIZE);
	return 0;
}

static int fake_gdb_mem(void *t, uint64_t gva, size_t len, uint8_t **p)
{
	if (gva < FAKE_GDB_BASE || gva - FAKE_GDB_BASE > FAKE_GDB_MEM ||
	    len > FAKE_GDB_MEM - (gva - FAKE_GDB_BASE))
		return -EFAULT;
	*p = ((struct fake_gdb *)t)->mem + (gva - FAKE_GDB_BASE);
	return 0;
}

static int fake_gdb_read_mem(void *t, unsigned int cpu, uint64_t gva, void *buf, size_t len)
{
	uint8_t *p;
	int err = fake_gdb_mem(t, gva, len, &p);

	(void)cpu;
	if (!err)
		memcpy(buf, p, len);
	return err;
}

static int fake_gdb_write_mem(void *t, unsigned int cpu, uint64_t gva, const void *buf, size_t len)
{
	uint8_t *p;
	int err = fake_gdb_mem(t, gva, len, &p);

	(void)cpu;
	if (!err)
		memcpy(p, buf, len);
	return err;
}

/* Identity, + 0x100000, inside the fake memory only. */
static int fake_gdb_translate(void *t, unsigned int cpu, uint64_t gva, uint64_t *gpa)
{
	uint8_t *p;
	int err = fake_gdb_mem(t, gva, 1, &p);

	(void)cpu;
	if (!err)
		*gpa = gva + 0x100000;
	return err;
}

static int fake_gdb_resume(void *t, const struct gdb_debug *dbg)
{
	struct fake_gdb *f = t;

	f->resumes++;
	f->last = *dbg;
	return 0;
}

static void fake_gdb_interrupt(void *t)
{
	((struct fake_gdb *)t)->interrupts++;
}

static void fake_gdb_detach(void *t)
{
	((struct fake_gdb *)t)->detaches++;
}

static void fake_gdb_kill(void *t)
{
	((struct fake_gdb *)t)->kills++;
}

static int fake_gdb_send(void *t, const void *buf, size_t len)
{
	struct fake_gdb *f = t;

	if (f->send_fails)
		return -EPIPE;
	if (len > sizeof(f->out) - f->out_len)
		f->out_len = 0; /* keep the latest replies only */
	memcpy(f->out + f->out_len, buf, len);
	f->out_len += len;
	return 0;
}

static const struct gdb_target_ops fake_gdb_ops = {
	.ncpus = fake_gdb_ncpus,
	.read_regs = fake_gdb_read_regs,
	.write_regs = fake_gdb_write_regs,
	.read_mem = fake_gdb_read_mem,
	.write_mem = fake_gdb_write_mem,
	.translate = fake_gdb_translate,
	.resume = fake_gdb_resume,
	.interrupt = fake_gdb_interrupt,
	.detach = fake_gdb_detach,
	.kill = fake_gdb_kill,
	.send = fake_gdb_send,
};

#endif
