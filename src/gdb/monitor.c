/* SPDX-License-Identifier: MIT */
/*
 * gdb monitor commands: see monitor.h. Commands are words separated by
 * blanks; arguments are parsed with bounds like any packet.
 */
#include "gdb/monitor.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdb/packet.h"
#include "gdb/x86_regs.h"

#define MON_WORDS 4

struct mon_out {
	char *buf;
	size_t size, len;
};

__attribute__((format(printf, 2, 3))) static void out_printf(struct mon_out *o, const char *fmt,
							     ...)
{
	va_list ap;
	int n;

	if (o->len + 1 >= o->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n < o->size - o->len ? (size_t)n : o->size - o->len - 1;
}

static const char mon_help[] =
    "petrel monitor commands:\n"
    "  help                 this list\n"
    "  info version         petrel's version\n"
    "  info cpus            every vCPU (gdb thread N is vCPU N-1) and its rip\n"
    "  gva2gpa ADDR         ADDR (virtual, hex) as the current thread's vCPU translates it\n";

static void mon_cpus(const struct gdb_target_ops *ops, void *t, unsigned int cur, struct mon_out *o)
{
	uint8_t regs[GDBX86_REGS_SIZE];
	unsigned int n = ops->ncpus(t);

	for (unsigned int i = 0; i < n; i++) {
		uint64_t rip;

		if (ops->read_regs(t, i, regs)) {
			out_printf(o, "%c CPU #%u: registers unreadable\n", i == cur ? '*' : ' ',
				   i);
			continue;
		}
		memcpy(&rip, regs + gdbx86_reg_offset(GDBX86_RIP), sizeof(rip));
		out_printf(o, "%c CPU #%u: thread %u rip=0x%016llx\n", i == cur ? '*' : ' ', i,
			   i + 1, (unsigned long long)rip);
	}
}

static void mon_gva2gpa(const struct gdb_target_ops *ops, void *t, unsigned int cur,
			const char *arg, struct mon_out *o)
{
	const char *p = arg;
	uint64_t gva, gpa;
	int err;

	if (!strncmp(p, "0x", 2) || !strncmp(p, "0X", 2))
		p += 2;
	if (!*p || gdbpkt_hex_u64(&p, &gva) || *p) {
		out_printf(o, "gva2gpa: '%s' is not a hex address\n", arg);
		return;
	}
	err = ops->translate(t, cur, gva, &gpa);
	if (err)
		out_printf(o, "gva2gpa: 0x%llx: %s\n", (unsigned long long)gva,
			   err == -EFAULT ? "not mapped" : strerror(-err));
	else
		out_printf(o, "gpa: 0x%llx\n", (unsigned long long)gpa);
}

int gdb_monitor_run(const struct gdb_target_ops *ops, void *t, unsigned int cpu, const char *cmd,
		    char *out, size_t size)
{
	struct mon_out o = { .buf = out, .size = size };
	char line[128], *w[MON_WORDS] = { 0 }, *save = NULL;
	unsigned int n = 0;

	if (size)
		out[0] = 0;
	if (snprintf(line, sizeof(line), "%s", cmd) >= (int)sizeof(line)) {
		out_printf(&o, "monitor: command too long\n");
		return -ENOENT;
	}
	for (char *t = strtok_r(line, " \t", &save); t && n < MON_WORDS;
	     t = strtok_r(NULL, " \t", &save))
		w[n++] = t;
	if (n == 1 && !strcmp(w[0], "help")) {
		out_printf(&o, "%s", mon_help);
	} else if (n == 2 && !strcmp(w[0], "info") && !strcmp(w[1], "version")) {
		out_printf(&o, "petrel %s\n", PETREL_VERSION);
	} else if (n == 2 && !strcmp(w[0], "info") && !strcmp(w[1], "cpus")) {
		mon_cpus(ops, t, cpu, &o);
	} else if (n == 2 && !strcmp(w[0], "gva2gpa")) {
		mon_gva2gpa(ops, t, cpu, w[1], &o);
	} else {
		out_printf(&o, "unknown command '%s'; try 'monitor help'\n", cmd);
		return -ENOENT;
	}
	return 0;
}
