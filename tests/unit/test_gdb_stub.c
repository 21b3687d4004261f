/* SPDX-License-Identifier: MIT */
/* The gdb stub: packet framing, hostile input, and the protocol engine
 * against a fake target (tests/unit/fake_gdb_target.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "fake_gdb_target.h"
#include "gdb/packet.h"
#include "gdb/server.h"
#include "gdb/stub.h"
#include "harness.h"

static struct fake_gdb fake;
static struct gdb_stub stub;
static char body[2 * GDBPKT_MAX + 8];
static int last_err;

static void fresh(void)
{
	memset(&fake, 0, sizeof(fake));
	gdb_stub_init(&stub, &fake_gdb_ops, &fake);
}

static int feed(const void *buf, size_t n)
{
	fake.out_len = 0;
	return last_err = gdb_stub_input(&stub, buf, n);
}

/* Send one packet, as is (escapes already in `pkt`, as gdb sends them);
 * the body of the last reply packet (or "<none>"). */
static const char *cmd(const char *pkt)
{
	char framed[2 * GDBPKT_MAX + 8];
	size_t n = strlen(pkt);
	uint8_t sum = 0;
	char *start = NULL, *end;

	framed[0] = '$';
	memcpy(framed + 1, pkt, n);
	for (size_t i = 0; i < n; i++)
		sum += (uint8_t)pkt[i];
	n += (size_t)snprintf(framed + 1 + n, 4, "#%02x", sum) + 1;

	fake.out[0] = 0;
	(void)feed(framed, n);
	for (size_t i = 0; i < fake.out_len; i++)
		if (fake.out[i] == '$')
			start = fake.out + i + 1;
	if (!start || !(end = memchr(start, '#', fake.out_len - (size_t)(start - fake.out))))
		return "<none>";
	memcpy(body, start, (size_t)(end - start));
	body[end - start] = 0;
	return body;
}

static void framing_roundtrip_and_escapes(void)
{
	struct gdbpkt_rx rx;
	char out[64];
	size_t n = gdbpkt_frame(out, sizeof(out), "a$b#c}d*", 8);
	enum gdbpkt_event ev = GDBPKT_NONE;

	CHECK(n == 1 + 12 + 3 && out[0] == '$' && out[n - 3] == '#');
	CHECK(memcmp(out + 1,
		     "a}\x04"
		     "b}\x03"
		     "c}]d}\x0a",
		     12) == 0);
	gdbpkt_rx_init(&rx);
	for (size_t i = 0; i < n; i++)
		ev = gdbpkt_feed(&rx, (uint8_t)out[i]);
	REQUIRE(ev == GDBPKT_PACKET);
	int len = gdbpkt_unescape(rx.buf, rx.len);

	CHECK(len == 8 && memcmp(rx.buf, "a$b#c}d*", 8) == 0);
	CHECK(gdbpkt_unescape(rx.buf, 0) == 0);
	char lone[] = "ab}";

	CHECK(gdbpkt_unescape(lone, 3) == -EINVAL);
	CHECK(gdbpkt_frame(out, 7, "abc", 3) == 7 && gdbpkt_frame(out, 6, "abc", 3) == 0);
}

static void framing_bad_checksum_and_noise(void)
{
	struct gdbpkt_rx rx;
	const char *in = "junk+-\x03$g#00$g#zz$x$g#67";
	enum gdbpkt_event ev[32];
	unsigned int nev = 0;

	gdbpkt_rx_init(&rx);
	for (size_t i = 0; in[i]; i++) {
		enum gdbpkt_event e = gdbpkt_feed(&rx, (uint8_t)in[i]);

		if (e != GDBPKT_NONE && nev < 32)
			ev[nev++] = e;
	}
	REQUIRE(nev == 6);
	CHECK(ev[0] == GDBPKT_ACK && ev[1] == GDBPKT_NAK && ev[2] == GDBPKT_INTERRUPT);
	CHECK(ev[3] == GDBPKT_BADSUM && ev[4] == GDBPKT_BADSUM);
	/* "$x" abandoned by a new '$': the "g" packet still arrives whole. */
	CHECK(ev[5] == GDBPKT_PACKET && rx.len == 1 && rx.buf[0] == 'g');
}

static void hex_helpers(void)
{
	const char *p = "ffffffffffffffff,";
	uint64_t v;
	uint8_t b[2];

	CHECK(gdbpkt_hex_u64(&p, &v) == 0 && v == ~0ull && *p == ',');
	p = "10000000000000000";
	CHECK(gdbpkt_hex_u64(&p, &v) == -EINVAL);
	p = ",";
	CHECK(gdbpkt_hex_u64(&p, &v) == -EINVAL);
	CHECK(gdbpkt_hex_decode(b, "aB0f", 2) == 0 && b[0] == 0xab && b[1] == 0x0f);
	CHECK(gdbpkt_hex_decode(b, "a", 1) == -EINVAL);
	CHECK(gdbpkt_hex_decode(b, "zz", 1) == -EINVAL);
}

static void hostile_oversized_and_garbage(void)
{
	char *big = malloc(3 * GDBPKT_MAX);

	REQUIRE(big);
	fresh();
	memset(big, 'm', 3 * GDBPKT_MAX);
	big[0] = '$';
	memcpy(big + 3 * GDBPKT_MAX - 3, "#00", 3);
	CHECK(feed(big, 3 * GDBPKT_MAX) == 0);
	CHECK(strstr(fake.out, "$E22#") != NULL);
	/* Random bytes: nothing breaks, the next packet is served. */
	for (size_t i = 0; i < 3 * GDBPKT_MAX; i++)
		big[i] = (char)(rand() & 0xff);
	(void)feed(big, 3 * GDBPKT_MAX);
	free(big);
	stub.gone = false; /* the garbage may have said 'k' or 'D' validly: unlikely */
	stub.running = false;
	CHECK(strcmp(cmd("qAttached"), "1") == 0);
}

static void acks_and_noack_mode(void)
{
	fresh();
	CHECK(strstr(cmd("qSupported:multiprocess+;swbreak+"), "PacketSize=1000") != NULL);
	CHECK(fake.out[0] == '+');
	CHECK(strcmp(cmd("vMustReplyEmpty"), "") == 0);
	CHECK(strcmp(cmd("QStartNoAckMode"), "OK") == 0 && fake.out[0] == '+');
	CHECK(strcmp(cmd("qAttached"), "1") == 0 && fake.out[0] == '$');
	(void)feed("$g#00", 5); /* a bad checksum is not NAKed in no-ack mode */
	CHECK(fake.out_len == 0);
}

static void target_xml_in_chunks(void)
{
	char xml[16384] = "";
	size_t off = 0;
	const char *r;

	fresh();
	do {
		char q[64];

		snprintf(q, sizeof(q), "qXfer:features:read:target.xml:%zx,100", off);
		r = cmd(q);
		REQUIRE(r[0] == 'm' || r[0] == 'l');
		REQUIRE(off + strlen(r + 1) < sizeof(xml));
		strcat(xml, r + 1);
		off += strlen(r + 1);
	} while (r[0] == 'm');
	CHECK(strcmp(xml, gdbx86_target_xml) == 0);
	CHECK(strstr(xml, "i386:x86-64") && strstr(xml, "org.gnu.gdb.i386.core"));
	CHECK(strcmp(cmd("qXfer:features:read:other.xml:0,100"), "") == 0);
}

static void registers(void)
{
	const char *r;
	char g[2 * GDBX86_REGS_SIZE + 2];

	fresh();
	CHECK(gdbx86_reg_offset(gdbx86_nregs) == GDBX86_REGS_SIZE);
	fake.regs[0][16 * 8] = 0x34; /* rip low byte */
	fake.regs[1][16 * 8] = 0x56;
	r = cmd("g");
	CHECK(strlen(r) == 2 * GDBX86_REGS_SIZE && !strncmp(r + 16 * 16, "34000000", 8));
	CHECK(strcmp(cmd("p10"), "3400000000000000") == 0);
	CHECK(strcmp(cmd("Hg2"), "OK") == 0);
	CHECK(strcmp(cmd("p10"), "5600000000000000") == 0);
	CHECK(strcmp(cmd("P10=efbeadde00000000"), "OK") == 0);
	CHECK(fake.regs[1][16 * 8] == 0xef && fake.regs[1][16 * 8 + 3] == 0xde);
	CHECK(strcmp(cmd("P10=ef"), "E16") == 0);
	CHECK(strcmp(cmd("p999"), "") == 0);
	CHECK(strcmp(cmd("Hg3"), "E16") == 0 && strcmp(cmd("Hg0"), "OK") == 0);
	memset(g, '1', sizeof(g));
	g[0] = 'G';
	g[2 * GDBX86_REGS_SIZE + 1] = 0;
	CHECK(strcmp(cmd(g), "OK") == 0 && fake.regs[1][0] == 0x11);
	g[2 * GDBX86_REGS_SIZE] = 0;
	CHECK(strcmp(cmd(g), "E16") == 0);
}

static void memory(void)
{
	fresh();
	memcpy(fake.mem + 0x10, "\x01\x02\xff", 3);
	CHECK(strcmp(cmd("m10010,3"), "0102ff") == 0);
	CHECK(strcmp(cmd("M10010,2:abcd"), "OK") == 0 && fake.mem[0x10] == 0xab);
	CHECK(strcmp(cmd("M10010,2:abc"), "E16") == 0);
	CHECK(strcmp(cmd("m0,4"), "E0e") == 0);
	CHECK(strcmp(cmd("m10010"), "E16") == 0);
	CHECK(strlen(cmd("m10000,ffffffff")) == GDBPKT_MAX); /* capped */
	CHECK(strcmp(cmd("X10020,0:"), "OK") == 0);
	CHECK(strcmp(cmd("X10020,2:}\x03z"), "OK") == 0 && fake.mem[0x20] == '#');
	CHECK(strcmp(cmd("X10020,3:ab"), "E16") == 0);
}

static void software_breakpoints(void)
{
	fresh();
	fake.mem[0x100] = 0x90;
	CHECK(strcmp(cmd("Z0,10100,1"), "OK") == 0 && fake.mem[0x100] == 0xcc);
	CHECK(strcmp(cmd("Z0,10100,1"), "OK") == 0); /* twice: one entry, orig kept */
	CHECK(strcmp(cmd("c"), "<none>") == 0 && fake.resumes == 1 && fake.last.sw_bp);
	CHECK(!gdb_stub_debug_exit(&stub, 1, 3, 0x10200, 0)); /* not ours: the guest's */
	CHECK(gdb_stub_debug_exit(&stub, 1, 3, 0x10100, 0));
	CHECK(strstr(fake.out, "T05thread:02;swbreak:;") != NULL);
	CHECK(strcmp(cmd("?"), "T05thread:02;swbreak:;") == 0);
	CHECK(strcmp(cmd("z0,10100,1"), "OK") == 0 && fake.mem[0x100] == 0x90);
	CHECK(strcmp(cmd("z0,10100,1"), "E02") == 0);
	CHECK(strcmp(cmd("Z0,1,1"), "E0e") == 0);
}

static void hardware_breakpoints(void)
{
	fresh();
	CHECK(strcmp(cmd("Z1,1000,1"), "OK") == 0);
	CHECK(strcmp(cmd("Z2,2000,4"), "OK") == 0);
	CHECK(strcmp(cmd("Z4,3000,8"), "OK") == 0);
	CHECK(strcmp(cmd("Z3,4000,4"), "") == 0);    /* no read-only watch on x86 */
	CHECK(strcmp(cmd("Z2,4002,4"), "E16") == 0); /* misaligned */
	CHECK(strcmp(cmd("Z2,4000,3"), "E16") == 0);
	CHECK(strcmp(cmd("Z2,4000,1"), "OK") == 0);
	CHECK(strcmp(cmd("Z2,5000,1"), "E1c") == 0); /* ENOSPC: four slots */
	(void)cmd("vCont;c");
	CHECK(fake.last.dr[0] == 0x1000 && fake.last.dr[1] == 0x2000 && fake.last.dr[2] == 0x3000);
	/* G0..G3 + GE|bit 10; RW1 01 LEN1 11; RW2 11 LEN2 10; RW3 01 LEN3 00 */
	CHECK(fake.last.dr7 == (0x600 | 0xaa | (0x1ull << 20 | 0x3ull << 22) |
				(0x3ull << 24 | 0x2ull << 26) | (0x1ull << 28)));
	CHECK(!fake.last.sw_bp && fake.last.step_cpu == -1);
	CHECK(gdb_stub_debug_exit(&stub, 0, 1, 0, 0x2));
	CHECK(strstr(fake.out, "T05thread:01;watch:2000;") != NULL);
	(void)cmd("c");
	CHECK(gdb_stub_debug_exit(&stub, 0, 1, 0, 0x1));
	CHECK(strstr(fake.out, "hwbreak:;") != NULL);
	CHECK(strcmp(cmd("z2,2000,4"), "OK") == 0);
	(void)cmd("c");
	CHECK(!gdb_stub_debug_exit(&stub, 0, 1, 0, 0x2)); /* slot no longer ours */
	CHECK(gdb_stub_resume_foreign(&stub, 0, 1) == 0);
	CHECK(fake.last.inject_cpu == 0 && fake.last.inject_vec == 1);
}

static void resume_step_and_threads(void)
{
	fresh();
	CHECK(strcmp(cmd("vCont?"), "vCont;c;C;s;S") == 0);
	CHECK(strcmp(cmd("qfThreadInfo"), "m1,2") == 0 && strcmp(cmd("qsThreadInfo"), "l") == 0);
	CHECK(strcmp(cmd("T2"), "OK") == 0 && strcmp(cmd("T3"), "E16") == 0);
	CHECK(strcmp(cmd("?"), "T05thread:01;") == 0);
	CHECK(strcmp(cmd("vCont;s:2;c"), "<none>") == 0 && fake.last.step_cpu == 1);
	CHECK(strcmp(cmd("g"), "E10") == 0);		/* while running */
	CHECK(!gdb_stub_debug_exit(&stub, 1, 1, 0, 0)); /* no DR6 bit: not ours */
	CHECK(gdb_stub_debug_exit(&stub, 1, 1, 0, 1ull << 14));
	CHECK(strstr(fake.out, "$T05thread:02;#") != NULL);
	CHECK(strcmp(cmd("qC"), "QC2") == 0);
	CHECK(strcmp(cmd("vCont;s:3"), "E16") == 0 && strcmp(cmd("vCont;x"), "E16") == 0);
	CHECK(strcmp(cmd("vCont;C05:1"), "<none>") == 0 && fake.last.step_cpu == -1);
}

static void ctrl_c(void)
{
	fresh();
	CHECK(feed("\x03", 1) == 0 && fake.interrupts == 0); /* stopped: ignored */
	(void)cmd("c");
	CHECK(feed("\x03", 1) == 0 && fake.interrupts == 1);
	gdb_stub_interrupted(&stub, 1);
	CHECK(strstr(fake.out, "T02thread:02;") != NULL);
}

static void detach_kill_and_vanished_peer(void)
{
	fresh();
	fake.mem[0x100] = 0x55;
	(void)cmd("Z0,10100,1");
	CHECK(strcmp(cmd("D"), "OK") == 0 && last_err == -ECONNRESET);
	CHECK(fake.detaches == 1 && fake.mem[0x100] == 0x55);
	fresh();
	(void)cmd("k");
	CHECK(last_err == -ECONNRESET && fake.kills == 1);
	fresh();
	fake.send_fails = true;
	(void)cmd("g");
	CHECK(last_err == -ECONNRESET);
}

/* "O<hex>" of the last-but-one packet, decoded into out. */
static void monitor_output(char *out, size_t cap)
{
	const char *o = strstr(fake.out, "$O");
	const char *end = o ? strchr(o, '#') : NULL;
	size_t n = end ? (size_t)(end - o - 2) / 2 : 0;

	out[0] = 0;
	if (!o || !end || n >= cap || gdbpkt_hex_decode(out, o + 2, n))
		return;
	out[n] = 0;
}

static const char *rcmd(const char *text)
{
	char pkt[1200] = "qRcmd,";

	gdbpkt_hex_encode(pkt + 6, text, strlen(text));
	pkt[6 + 2 * strlen(text)] = 0;
	return cmd(pkt);
}

static void monitor_commands(void)
{
	char out[2048];
	uint64_t rip = 0xffffffff81000000ull;

	fresh();
	CHECK(strcmp(rcmd("help"), "OK") == 0);
	monitor_output(out, sizeof(out));
	CHECK(strstr(out, "info version") && strstr(out, "gva2gpa"));
	/* the lx scripts' probe: non-empty output */
	CHECK(strcmp(rcmd("info version"), "OK") == 0);
	monitor_output(out, sizeof(out));
	CHECK(strncmp(out, "petrel ", 7) == 0);
	memcpy(fake.regs[1] + gdbx86_reg_offset(GDBX86_RIP), &rip, sizeof(rip));
	CHECK(strcmp(rcmd("info  cpus"), "OK") == 0);
	monitor_output(out, sizeof(out));
	CHECK(strstr(out, "* CPU #0: thread 1") &&
	      strstr(out, "CPU #1: thread 2 rip=0xffffffff81000000"));
	CHECK(strcmp(rcmd("gva2gpa 0x10010"), "OK") == 0);
	monitor_output(out, sizeof(out));
	CHECK(strcmp(out, "gpa: 0x110010\n") == 0);
	CHECK(strcmp(rcmd("gva2gpa 5"), "OK") == 0);
	monitor_output(out, sizeof(out));
	CHECK(strstr(out, "not mapped") != NULL);
	CHECK(strcmp(rcmd("gva2gpa zz"), "OK") == 0);
	monitor_output(out, sizeof(out));
	CHECK(strstr(out, "not a hex address") != NULL);
	/* unknown: a message, then an error */
	CHECK(strcmp(rcmd("system_reset"), "E01") == 0);
	monitor_output(out, sizeof(out));
	CHECK(strstr(out, "unknown command") != NULL);
	/* hostile: odd hex, a NUL inside, too long */
	CHECK(strcmp(cmd("qRcmd,686"), "E16") == 0);
	CHECK(strcmp(cmd("qRcmd,680069"), "E16") == 0);
	char big[300];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	CHECK(strcmp(rcmd(big), "E16") == 0);
	big[200] = 0; /* fits the packet, not a command line */
	CHECK(strcmp(rcmd(big), "E01") == 0);
	CHECK(last_err == 0);
}

static void addresses(void)
{
	struct netaddr a;
	const struct sockaddr_in *in = (const struct sockaddr_in *)&a.sa;

	CHECK(gdb_addr_parse("/tmp/g.sock", &a) == 0 && a.scheme == NETADDR_UNIX);
	CHECK(gdb_addr_parse("tcp:1234", &a) == 0 && a.scheme == NETADDR_TCP &&
	      ntohs(in->sin_port) == 1234 && ntohl(in->sin_addr.s_addr) == 0x7f000001);
	CHECK(gdb_addr_parse("tcp::1234", &a) == 0 && ntohs(in->sin_port) == 1234);
	CHECK(gdb_addr_parse("tcp:0.0.0.0:99", &a) == 0 && in->sin_addr.s_addr == 0);
	CHECK(gdb_addr_parse("tcp:[::1]:99", &a) == 0);
	CHECK(gdb_addr_parse("", &a) == -EINVAL);
	CHECK(gdb_addr_parse("tcp:", &a) == -EINVAL);
	CHECK(gdb_addr_parse("tcp:0", &a) == -EINVAL);
	CHECK(gdb_addr_parse("tcp:65536", &a) == -EINVAL);
	CHECK(gdb_addr_parse("tcp:host.example:1", &a) == -EINVAL);
	char longpath[200];

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = 0;
	CHECK(gdb_addr_parse(longpath, &a) == -EINVAL);
}

int main(void)
{
	RUN(framing_roundtrip_and_escapes);
	RUN(framing_bad_checksum_and_noise);
	RUN(hex_helpers);
	RUN(hostile_oversized_and_garbage);
	RUN(acks_and_noack_mode);
	RUN(target_xml_in_chunks);
	RUN(registers);
	RUN(memory);
	RUN(software_breakpoints);
	RUN(hardware_breakpoints);
	RUN(resume_step_and_threads);
	RUN(ctrl_c);
	RUN(detach_kill_and_vanished_peer);
	RUN(monitor_commands);
	RUN(addresses);
	return harness_exit();
}
