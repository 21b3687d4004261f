/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock (virtio 1.2, 5.10), stream sockets, from CPL3, against a
 * host peer (tests/guest/vsockpeer.py) on petrel's unix-socket side:
 *
 *  1. connect to host CID 2 port "refuse=" (default 1235), where nobody
 *     listens: the answer must be RST;
 *  2. connect to port "port=" (default 1234): send "HELLO <n>\n" and n
 *     ("tx=", default 262144) pattern bytes (byte k = (131k + (k >> 8)) &
 *     0xff); the peer answers "CRC <crc32 of what it got>\n" and
 *     "DATA <m> <crc32>\n" with m bytes; both CRCs are checked; then a
 *     clean close (SHUTDOWN, the peer's RST);
 *  3. print "virtio_vsock: listening on port L" ("listen=", default 5000)
 *     and accept the host's connection; read "DATA <m> <crc32>\n" and the
 *     m bytes, answer "GOT <m> <crc32 of what arrived>\n", "HELLO <n>\n" and
 *     n pattern bytes, then wait for the peer to close (its SHUTDOWN, our
 *     RST).
 * The receive side advertises a 64 KiB buffer (buf_alloc) and returns
 * credit as the data is consumed, so transfers larger than that exercise
 * the device's credit accounting; sends respect the peer's credit.
 * Last line: "virtio_vsock: done, N failures"; exit 0 iff N = 0.
 */
#include "rt.h"
#include "virtio.h"
#include "vsock.h"

static uint8_t user_stack[16384] __attribute__((aligned(16)));

static __attribute__((noreturn)) void die(const char *what)
{
	test_fail(what);
	test_done();
}

static const struct vsock_config vsock_cfg = {
	.name = "virtio_vsock",
	.rx_bufs = 32,
	.tx_slots = 16,
	.payload = 4096,
	.buf_alloc = 65536, /* the receive ring: a power of 2 */
	.keep_data = true,
	.die = die,
};

static uint8_t pattern(uint64_t k)
{
	return (uint8_t)(k * 131 + (k >> 8));
}

/* ------------------------------------------------------------ the tests */

/* "<word> <n> [<hex>]": returns the number of fields parsed. */
static int parse_line(const char *line, const char *word, uint64_t *n, uint32_t *hex)
{
	size_t wl = strlen(word);
	const char *p = line + wl + 1;
	uint64_t v = 0;
	int fields = 0;

	if (strncmp(line, word, wl) || line[wl] != ' ')
		return 0;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0'), fields = 1;
	*n = v;
	if (*p == ' ' && hex) {
		uint32_t h = 0;

		for (p++; (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'); p++)
			h = h * 16 + (uint32_t)(*p <= '9' ? *p - '0' : *p - 'a' + 10), fields = 2;
		*hex = h;
	}
	return fields;
}

/* Sends "HELLO <n>\n" and n pattern bytes. */
static bool send_hello(uint8_t *buf, uint32_t n)
{
	char line[40];
	uint32_t l = fmt_str(line, 0, "HELLO ");

	l = fmt_num(line, l, n, 10, 0);
	line[l++] = '\n';
	for (uint32_t k = 0; k < n; k++)
		buf[k] = pattern(k);
	return vsock_write((uint8_t *)line, l) && vsock_write(buf, n);
}

/* Reads "DATA <m> <crc>\n" and m bytes; checks the CRC. Returns m or -1. */
static long recv_data(uint8_t *buf, uint32_t max, uint32_t *crc_out)
{
	char line[64];
	uint64_t m;
	uint32_t crc = 0;

	if (!vsock_read_line(line, sizeof(line)) || parse_line(line, "DATA", &m, &crc) != 2 ||
	    m > max) {
		test_fail("DATA line");
		return -1;
	}
	if (!vsock_read(buf, (uint32_t)m)) {
		test_fail("DATA bytes");
		return -1;
	}
	*crc_out = crc32(0, buf, m);
	if (*crc_out != crc) {
		printf("virtio_vsock: DATA crc %08x, the peer says %08x\n", *crc_out, crc);
		test_fail("DATA crc");
		return -1;
	}
	return (long)m;
}

static void test_refused(uint32_t port)
{
	bool up = vsock_connect(port);

	printf("virtio_vsock: connect to port %u: %s\n", port,
	       up		? "established"
	       : vsock.conn.rst ? "refused (RST)"
				: "no answer");
	if (up || !vsock.conn.rst)
		test_fail("connection to a port nobody listens on");
	if (up)
		vsock_close();
	vsock.conn.state = VSOCK_CLOSED;
}

static void test_connect(uint32_t port, uint8_t *buf, uint32_t n, uint32_t max)
{
	uint64_t t0 = rdtsc();
	uint32_t crc = 0, peer_crc = 0;
	char line[64];
	long m;

	if (!vsock_connect(port)) {
		printf("virtio_vsock: connect to port %u: %s\n", port,
		       vsock.conn.rst ? "refused (RST)" : "no answer");
		test_fail("connect");
		vsock.conn.state = VSOCK_CLOSED;
		return;
	}
	printf("virtio_vsock: connected to port %u from port %u, peer buf_alloc %u\n", port,
	       vsock.conn.local_port, vsock.conn.peer_buf_alloc);
	if (!send_hello(buf, n)) {
		test_fail("connect: send");
		return;
	}
	crc = crc32(0, buf, n);
	if (!vsock_read_line(line, sizeof(line)) || strncmp(line, "CRC ", 4) || !line[4]) {
		test_fail("connect: CRC line");
		return;
	}
	for (const char *p = line + 4; *p; p++)
		peer_crc = peer_crc * 16 + (uint32_t)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
	printf("virtio_vsock: sent %u bytes crc %08x, the peer got crc %08x\n", n, crc, peer_crc);
	if (crc != peer_crc)
		test_fail("connect: the peer's crc");
	m = recv_data(buf, max, &crc);
	if (m >= 0)
		printf("virtio_vsock: received %ld bytes crc %08x ok\n", m, crc);
	printf("virtio_vsock: connect exchange took %lu cycles; closing\n",
	       (unsigned long)(rdtsc() - t0));
	if (!vsock_close())
		test_fail("connect: no RST after our SHUTDOWN");
	else
		printf("virtio_vsock: connection to port %u closed cleanly\n", port);
}

static void test_listen(uint32_t port, uint8_t *buf, uint32_t n, uint32_t max)
{
	uint64_t t0;
	uint32_t crc = 0, l;
	char line[64];
	long m;

	printf("virtio_vsock: listening on port %u\n", port);
	if (!vsock_accept(port)) {
		test_fail("listen: no connection from the host");
		return;
	}
	t0 = rdtsc();
	printf("virtio_vsock: accepted a connection from port %u\n", vsock.conn.peer_port);
	m = recv_data(buf, max, &crc);
	if (m < 0)
		return;
	l = fmt_str(line, 0, "GOT ");
	l = fmt_num(line, l, (uint64_t)m, 10, 0);
	line[l++] = ' ';
	l = fmt_num(line, l, crc, 16, 8);
	line[l++] = '\n';
	if (!vsock_write((uint8_t *)line, l) || !send_hello(buf, n)) {
		test_fail("listen: send");
		return;
	}
	printf("virtio_vsock: listen side received %ld bytes crc %08x, sent %u bytes\n", m, crc, n);
	if (!vsock_await_close())
		test_fail("listen: the peer did not close");
	else
		printf("virtio_vsock: the host closed the connection, %lu cycles\n",
		       (unsigned long)(rdtsc() - t0));
}

/* ------------------------------------------------------------ main */

static void user_main(void)
{
	struct vsock_config cfg = vsock_cfg;
	uint32_t tx = (uint32_t)cmdline_long("tx", 0, 262144), max = 4U << 20;
	uint8_t *buf;

	test_name = "virtio_vsock";
	if (cmdline_long("event_idx", 0, 1))
		cfg.features |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	printf("virtio_vsock: running at cpl=%u\n", current_cpl());
	virtio_list();
	if (tx > max)
		tx = max;
	if (vsock_init(&cfg) || !(buf = virtio_alloc(max, 4096))) {
		printf("virtio_vsock: no usable vsock device\n");
		guest_exit(2);
	}
	printf("virtio_vsock: offered %#lx negotiated %#lx guest cid %lu\n",
	       (unsigned long)vsock.dev.offered, (unsigned long)vsock.dev.features,
	       (unsigned long)vsock.guest_cid);

	test_refused((uint32_t)cmdline_long("refuse", 0, 1235));
	test_connect((uint32_t)cmdline_long("port", 0, 1234), buf, tx, max);
	test_listen((uint32_t)cmdline_long("listen", 0, 5000), buf, tx, max);

	if (vsock.stray)
		test_fail("stray packets");
	virtio_check_status(&vsock.dev);
	test_done();
}

int guest_main(void)
{
	enter_user(user_main, user_stack + sizeof(user_stack));
}
