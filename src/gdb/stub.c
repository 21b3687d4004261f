/* SPDX-License-Identifier: MIT */
/*
 * The gdb remote protocol engine: see stub.h. Every packet is hostile:
 * numbers are parsed with bounds, lengths capped to the reply buffer,
 * thread ids checked against the vCPU count; a packet it does not know
 * gets the empty reply the protocol defines for that.
 */
#include "gdb/stub.h"

#include "gdb/monitor.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SIGTRAP_ 5
#define SIGINT_ 2
#define DR6_BS (1ull << 14)

/* The most memory one m packet returns: two hex digits a byte. */
#define MEM_MAX (GDBPKT_MAX / 2)

static int send_packet(struct gdb_stub *s, const char *data, size_t len)
{
	size_t n = gdbpkt_frame(s->frame, sizeof(s->frame), data, len);

	if (!n || s->gone)
		return -EIO;
	if (s->ops->send(s->t, s->frame, n)) {
		s->gone = true;
		return -EIO;
	}
	return 0;
}

static int send_str(struct gdb_stub *s, const char *str)
{
	return send_packet(s, str, strlen(str));
}

static void set_stop(struct gdb_stub *s, unsigned int cpu, int sig, const char *why)
{
	snprintf(s->last_stop, sizeof(s->last_stop), "T%02xthread:%02x;%s", sig, cpu + 1, why);
	s->running = false;
	s->stepping = false;
	s->step_cpu = -1;
	s->g_cpu = cpu;
}

void gdb_stub_init(struct gdb_stub *s, const struct gdb_target_ops *ops, void *t)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->t = t;
	gdbpkt_rx_init(&s->rx);
	set_stop(s, 0, SIGTRAP_, "");
}

/* A thread id: -1 (all), 0 (any) or 1..ncpus. *cpu is the vCPU to use. */
static int parse_tid(struct gdb_stub *s, const char *p, unsigned int *cpu)
{
	uint64_t v;

	if (!strcmp(p, "-1") || !strcmp(p, "0")) {
		*cpu = s->g_cpu;
		return 0;
	}
	if (gdbpkt_hex_u64(&p, &v) || *p || v < 1 || v > s->ops->ncpus(s->t))
		return -EINVAL;
	*cpu = (unsigned int)v - 1;
	return 0;
}

/* "ADDR,LEN" then `end`; fills *addr and *len. */
static int parse_addr_len(const char **p, char end, uint64_t *addr, uint64_t *len)
{
	if (gdbpkt_hex_u64(p, addr) || **p != ',')
		return -EINVAL;
	(*p)++;
	if (gdbpkt_hex_u64(p, len) || **p != end)
		return -EINVAL;
	if (end)
		(*p)++;
	return 0;
}

static int reply_errno(struct gdb_stub *s, int err)
{
	char e[8];

	snprintf(e, sizeof(e), "E%02x", (unsigned int)(-err) & 0xff);
	return send_str(s, e);
}

static int cmd_regs_read(struct gdb_stub *s)
{
	uint8_t regs[GDBX86_REGS_SIZE];
	int err = s->ops->read_regs(s->t, s->g_cpu, regs);

	if (err)
		return reply_errno(s, err);
	gdbpkt_hex_encode(s->reply, regs, sizeof(regs));
	return send_packet(s, s->reply, 2 * sizeof(regs));
}

static int cmd_regs_write(struct gdb_stub *s, const char *hex)
{
	uint8_t regs[GDBX86_REGS_SIZE];
	int err;

	if (strlen(hex) != 2 * sizeof(regs) || gdbpkt_hex_decode(regs, hex, sizeof(regs)))
		return send_str(s, "E16");
	err = s->ops->write_regs(s->t, s->g_cpu, regs);
	return err ? reply_errno(s, err) : send_str(s, "OK");
}

/* p N / P N=HEX: one register, through the whole file. */
static int cmd_reg(struct gdb_stub *s, const char *p, bool write)
{
	uint8_t regs[GDBX86_REGS_SIZE];
	uint64_t n;
	size_t off, size;
	int err;

	if (gdbpkt_hex_u64(&p, &n) || *p != (write ? '=' : 0))
		return send_str(s, "E16");
	if (n >= gdbx86_nregs)
		return write ? send_str(s, "E16") : send_str(s, "");
	off = gdbx86_reg_offset((unsigned int)n);
	size = gdbx86_regs[n].size;
	err = s->ops->read_regs(s->t, s->g_cpu, regs);
	if (err)
		return reply_errno(s, err);
	if (!write) {
		gdbpkt_hex_encode(s->reply, regs + off, size);
		return send_packet(s, s->reply, 2 * size);
	}
	p++;
	if (strlen(p) != 2 * size || gdbpkt_hex_decode(regs + off, p, size))
		return send_str(s, "E16");
	err = s->ops->write_regs(s->t, s->g_cpu, regs);
	return err ? reply_errno(s, err) : send_str(s, "OK");
}

static int cmd_mem_read(struct gdb_stub *s, const char *p)
{
	uint8_t buf[MEM_MAX];
	uint64_t addr, len;
	int err;

	if (parse_addr_len(&p, 0, &addr, &len))
		return send_str(s, "E16");
	if (len > MEM_MAX)
		len = MEM_MAX; /* gdb asks again for the rest */
	err = s->ops->read_mem(s->t, s->g_cpu, addr, buf, len);
	if (err)
		return reply_errno(s, err);
	gdbpkt_hex_encode(s->reply, buf, len);
	return send_packet(s, s->reply, 2 * len);
}

/* M ADDR,LEN:HEX and X ADDR,LEN:BINARY. */
static int cmd_mem_write(struct gdb_stub *s, char *p, size_t plen, bool binary)
{
	uint8_t buf[MEM_MAX];
	const char *q = p;
	uint64_t addr, len;
	int err;

	if (parse_addr_len(&q, ':', &addr, &len) || len > MEM_MAX)
		return send_str(s, "E16");
	if (binary) {
		int n = gdbpkt_unescape((char *)q, plen - (size_t)(q - p));

		if (n < 0 || (uint64_t)n != len)
			return send_str(s, "E16");
		memcpy(buf, q, len);
	} else if (strlen(q) != 2 * len || gdbpkt_hex_decode(buf, q, len)) {
		return send_str(s, "E16");
	}
	err = len ? s->ops->write_mem(s->t, s->g_cpu, addr, buf, len) : 0;
	return err ? reply_errno(s, err) : send_str(s, "OK");
}

static struct gdb_swbp *sw_find(struct gdb_stub *s, uint64_t addr)
{
	for (unsigned int i = 0; i < GDB_MAX_SWBP; i++)
		if (s->sw[i].used && s->sw[i].addr == addr)
			return &s->sw[i];
	return NULL;
}

static int sw_insert(struct gdb_stub *s, uint64_t addr)
{
	static const uint8_t int3 = 0xcc;
	struct gdb_swbp *b = NULL;
	int err;

	if (sw_find(s, addr))
		return 0;
	for (unsigned int i = 0; i < GDB_MAX_SWBP && !b; i++)
		if (!s->sw[i].used)
			b = &s->sw[i];
	if (!b)
		return -ENOSPC;
	err = s->ops->read_mem(s->t, s->g_cpu, addr, &b->orig, 1);
	if (!err)
		err = s->ops->write_mem(s->t, s->g_cpu, addr, &int3, 1);
	if (err)
		return err;
	b->addr = addr;
	b->used = true;
	return 0;
}

static int sw_remove(struct gdb_stub *s, uint64_t addr)
{
	struct gdb_swbp *b = sw_find(s, addr);

	if (!b)
		return -ENOENT;
	b->used = false;
	return s->ops->write_mem(s->t, s->g_cpu, addr, &b->orig, 1);
}

static int hw_insert(struct gdb_stub *s, unsigned int type, uint64_t addr, uint64_t len)
{
	if (type == 1 && len != 1)
		len = 1; /* gdb sends the instruction-length "kind"; execute needs LEN 00 */
	if (len != 1 && len != 2 && len != 4 && len != 8)
		return -EINVAL;
	if (addr & (len - 1))
		return -EINVAL; /* DR7 matches aligned ranges only */
	for (unsigned int i = 0; i < GDB_MAX_HWBP; i++)
		if (s->hw[i].used && s->hw[i].addr == addr && s->hw[i].type == type)
			return 0;
	for (unsigned int i = 0; i < GDB_MAX_HWBP; i++)
		if (!s->hw[i].used) {
			s->hw[i] = (struct gdb_hwbp){ addr, type, (unsigned int)len, true };
			return 0;
		}
	return -ENOSPC;
}

static int hw_remove(struct gdb_stub *s, unsigned int type, uint64_t addr)
{
	for (unsigned int i = 0; i < GDB_MAX_HWBP; i++)
		if (s->hw[i].used && s->hw[i].addr == addr && s->hw[i].type == type) {
			s->hw[i].used = false;
			return 0;
		}
	return -ENOENT;
}

/* Z/z TYPE,ADDR,KIND. Type 3 (read watchpoint) has no x86 encoding: the
 * empty reply tells gdb it is unsupported. */
static int cmd_break(struct gdb_stub *s, const char *p, bool insert)
{
	uint64_t type, addr, kind;
	int err;

	if (gdbpkt_hex_u64(&p, &type) || *p++ != ',' || parse_addr_len(&p, 0, &addr, &kind))
		return send_str(s, "E16");
	if (type == 0)
		err = insert ? sw_insert(s, addr) : sw_remove(s, addr);
	else if (type == 1 || type == 2 || type == 4)
		err = insert ? hw_insert(s, (unsigned int)type, addr, kind)
			     : hw_remove(s, (unsigned int)type, addr);
	else
		return send_str(s, "");
	return err ? reply_errno(s, err) : send_str(s, "OK");
}

static void debug_state(const struct gdb_stub *s, struct gdb_debug *d)
{
	/* DR7: Gi enable at bit 2i+1, R/W at 16+4i (00 exec, 01 write, 11
	 * access), LEN at 18+4i (00 1, 01 2, 11 4, 10 8 bytes); GE (bit 9)
	 * and bit 10, which reads as 1. */
	static const unsigned int rw[] = { [1] = 0, [2] = 1, [4] = 3 };
	static const unsigned int len[] = { [1] = 0, [2] = 1, [4] = 3, [8] = 2 };

	memset(d, 0, sizeof(*d));
	d->dr7 = 0x600;
	for (unsigned int i = 0; i < GDB_MAX_HWBP; i++) {
		if (!s->hw[i].used)
			continue;
		d->dr[i] = s->hw[i].addr;
		d->dr7 |= 2ull << (2 * i) | (uint64_t)rw[s->hw[i].type] << (16 + 4 * i) |
			  (uint64_t)len[s->hw[i].len] << (18 + 4 * i);
	}
	for (unsigned int i = 0; i < GDB_MAX_SWBP; i++)
		d->sw_bp |= s->sw[i].used;
	d->step_cpu = d->inject_cpu = -1;
}

static int resume(struct gdb_stub *s, int step_cpu)
{
	struct gdb_debug d;
	int err;

	debug_state(s, &d);
	d.step_cpu = step_cpu;
	err = s->ops->resume(s->t, &d);
	if (err)
		return reply_errno(s, err);
	s->running = true;
	s->stepping = step_cpu >= 0;
	s->step_cpu = step_cpu;
	return 0;
}

/* vCont;ACTION[:TID];... Actions c/C continue, s/S step (signals are
 * not delivered: a VM has none to deliver). Every vCPU runs: one named
 * with s steps, the rest continue (gdb's default, scheduler-locking off). */
static int cmd_vcont(struct gdb_stub *s, const char *p)
{
	int step = -1;

	if (!strcmp(p, "?"))
		return send_str(s, "vCont;c;C;s;S");
	while (*p == ';') {
		char act = *++p;
		unsigned int cpu = s->g_cpu;

		if (act != 'c' && act != 'C' && act != 's' && act != 'S')
			return send_str(s, "E16");
		p++;
		if (act == 'C' || act == 'S') {
			uint64_t sig;

			if (gdbpkt_hex_u64(&p, &sig))
				return send_str(s, "E16");
		}
		if (*p == ':') {
			char tid[24];
			size_t n = strcspn(++p, ";");

			if (n >= sizeof(tid))
				return send_str(s, "E16");
			memcpy(tid, p, n);
			tid[n] = 0;
			if (parse_tid(s, tid, &cpu))
				return send_str(s, "E16");
			p += n;
		}
		if ((act == 's' || act == 'S') && step < 0)
			step = (int)cpu;
	}
	if (*p)
		return send_str(s, "E16");
	return resume(s, step);
}

static int cmd_xfer(struct gdb_stub *s, const char *p)
{
	static const char prefix[] = "features:read:target.xml:";
	size_t total = strlen(gdbx86_target_xml);
	uint64_t off, len;

	if (strncmp(p, prefix, sizeof(prefix) - 1))
		return send_str(s, "");
	p += sizeof(prefix) - 1;
	if (parse_addr_len(&p, 0, &off, &len))
		return send_str(s, "E16");
	if (off >= total)
		return send_str(s, "l");
	if (len > GDBPKT_MAX / 2 - 1)
		len = GDBPKT_MAX / 2 - 1; /* room for escapes of the framed reply */
	if (len > total - off)
		len = total - off;
	s->reply[0] = off + len < total ? 'm' : 'l';
	memcpy(s->reply + 1, gdbx86_target_xml + off, len);
	return send_packet(s, s->reply, len + 1);
}

static int cmd_threads(struct gdb_stub *s)
{
	unsigned int n = s->ops->ncpus(s->t);
	size_t o = 0;

	s->reply[o++] = 'm';
	for (unsigned int i = 0; i < n && o + 12 < sizeof(s->reply); i++)
		o += (size_t)snprintf(s->reply + o, sizeof(s->reply) - o, "%s%x", i ? "," : "",
				      i + 1);
	return send_packet(s, s->reply, o);
}

/* qRcmd,HEX: the output as one O packet (hex), then OK; an unknown
 * command's message, then E01 (gdb shows the message and fails the
 * command, which is how the lx scripts' probe learns "not QEMU"). */
static int cmd_rcmd(struct gdb_stub *s, const char *hex)
{
	char cmd[256];
	size_t n = strlen(hex) / 2, len;
	int err;

	if (strlen(hex) % 2 || n >= sizeof(cmd) || gdbpkt_hex_decode(cmd, hex, n))
		return send_str(s, "E16");
	cmd[n] = 0;
	if (memchr(cmd, 0, n))
		return send_str(s, "E16");
	err = gdb_monitor_run(s->ops, s->t, s->g_cpu, cmd, s->mon, sizeof(s->mon));
	len = strlen(s->mon);
	if (len) {
		s->reply[0] = 'O';
		gdbpkt_hex_encode(s->reply + 1, s->mon, len);
		if (send_packet(s, s->reply, 1 + 2 * len))
			return -EIO;
	}
	return send_str(s, err ? "E01" : "OK");
}

static int cmd_query(struct gdb_stub *s, const char *p)
{
	char buf[32];

	if (!strncmp(p, "qSupported", 10))
		return send_str(s, "PacketSize=1000;qXfer:features:read+;swbreak+;hwbreak+;"
				   "vContSupported+;QStartNoAckMode+");
	if (!strncmp(p, "qXfer:", 6))
		return cmd_xfer(s, p + 6);
	if (!strcmp(p, "qfThreadInfo"))
		return cmd_threads(s);
	if (!strcmp(p, "qsThreadInfo"))
		return send_str(s, "l");
	if (!strncmp(p, "qRcmd,", 6))
		return cmd_rcmd(s, p + 6);
	if (!strcmp(p, "qAttached"))
		return send_str(s, "1");
	if (!strcmp(p, "qC")) {
		snprintf(buf, sizeof(buf), "QC%x", s->g_cpu + 1);
		return send_str(s, buf);
	}
	if (!strcmp(p, "QStartNoAckMode")) {
		int err = send_str(s, "OK");

		s->noack = true; /* after the OK, which is still acknowledged */
		return err;
	}
	return send_str(s, "");
}

static int dispatch(struct gdb_stub *s, char *p, size_t len)
{
	unsigned int cpu;

	switch (p[0]) {
	case '?':
		return send_str(s, s->last_stop);
	case 'g':
		return p[1] ? send_str(s, "E16") : cmd_regs_read(s);
	case 'G':
		return cmd_regs_write(s, p + 1);
	case 'p':
	case 'P':
		return cmd_reg(s, p + 1, p[0] == 'P');
	case 'm':
		return cmd_mem_read(s, p + 1);
	case 'M':
	case 'X':
		return cmd_mem_write(s, p + 1, len - 1, p[0] == 'X');
	case 'Z':
	case 'z':
		return cmd_break(s, p + 1, p[0] == 'Z');
	case 'H':
		if ((p[1] != 'g' && p[1] != 'c') || parse_tid(s, p + 2, &cpu))
			return send_str(s, "E16");
		if (p[1] == 'g')
			s->g_cpu = cpu;
		return send_str(s, "OK");
	case 'T':
		return send_str(s, parse_tid(s, p + 1, &cpu) ? "E16" : "OK");
	case 'c':
		return resume(s, -1);
	case 's':
		return resume(s, (int)s->g_cpu);
	case 'D':
		(void)send_str(s, "OK");
		gdb_stub_disconnect(s);
		return -ECONNRESET;
	case 'k':
		s->ops->kill(s->t);
		s->gone = true;
		return -ECONNRESET;
	case 'v':
		if (!strncmp(p, "vCont", 5))
			return cmd_vcont(s, p + 5);
		return send_str(s, ""); /* vMustReplyEmpty, vKill... */
	case 'q':
	case 'Q':
		return cmd_query(s, p);
	default:
		return send_str(s, "");
	}
}

int gdb_stub_input(struct gdb_stub *s, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n && !s->gone; i++) {
		enum gdbpkt_event ev = gdbpkt_feed(&s->rx, buf[i]);
		int err = 0;

		switch (ev) {
		case GDBPKT_PACKET:
			if (!s->noack && s->ops->send(s->t, "+", 1))
				s->gone = true;
			/* While the VM runs only 0x03 is expected; gdb waits for
			 * the stop reply before sending more. */
			else if (s->running)
				err = send_str(s, "E10");
			else if (s->rx.len)
				err = dispatch(s, s->rx.buf, s->rx.len);
			else
				err = send_str(s, "");
			break;
		case GDBPKT_BADSUM:
			if (!s->noack && s->ops->send(s->t, "-", 1))
				s->gone = true;
			break;
		case GDBPKT_OVERFLOW:
			/* Too long to have been a packet of ours: an error, not a
			 * retransmission request gdb would answer with the same. */
			if ((!s->noack && s->ops->send(s->t, "+", 1)) || send_str(s, "E22"))
				s->gone = true;
			break;
		case GDBPKT_INTERRUPT:
			if (s->running)
				s->ops->interrupt(s->t);
			break;
		default:
			break;
		}
		if (err == -ECONNRESET)
			return err;
	}
	return s->gone ? -ECONNRESET : 0;
}

bool gdb_stub_debug_exit(struct gdb_stub *s, unsigned int cpu, unsigned int vector, uint64_t pc,
			 uint64_t dr6)
{
	char why[40] = "";

	if (vector == 3) {
		if (!sw_find(s, pc))
			return false;
		snprintf(why, sizeof(why), "swbreak:;");
	} else if (vector == 1 && (dr6 & DR6_BS) && s->stepping) {
		/* a finished step: no reason field */
	} else if (vector == 1 && (dr6 & 0xf)) {
		unsigned int i = (unsigned int)__builtin_ctzll(dr6 & 0xf);
		const struct gdb_hwbp *b = &s->hw[i];

		if (!b->used)
			return false;
		if (b->type == 1)
			snprintf(why, sizeof(why), "hwbreak:;");
		else
			snprintf(why, sizeof(why), "%s:%llx;", b->type == 2 ? "watch" : "awatch",
				 (unsigned long long)b->addr);
	} else {
		return false;
	}
	set_stop(s, cpu, SIGTRAP_, why);
	(void)send_str(s, s->last_stop);
	return true;
}

int gdb_stub_resume_foreign(struct gdb_stub *s, unsigned int cpu, unsigned int vector)
{
	struct gdb_debug d;

	debug_state(s, &d);
	d.step_cpu = s->step_cpu;
	d.inject_cpu = (int)cpu;
	d.inject_vec = (int)vector;
	return s->ops->resume(s->t, &d);
}

void gdb_stub_interrupted(struct gdb_stub *s, unsigned int cpu)
{
	set_stop(s, cpu, SIGINT_, "");
	(void)send_str(s, s->last_stop);
}

void gdb_stub_disconnect(struct gdb_stub *s)
{
	for (unsigned int i = 0; i < GDB_MAX_SWBP; i++)
		if (s->sw[i].used)
			(void)sw_remove(s, s->sw[i].addr);
	memset(s->hw, 0, sizeof(s->hw));
	s->gone = true;
	s->ops->detach(s->t);
}
