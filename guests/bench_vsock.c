/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock stream throughput for `bench/run vsock`, from CPL3 with
 * completions polled, against the host peer in bench/run:
 *   send  connect to host port "port=" (default 1234) and send "mb=" MiB
 *         (default 128) in packets of up to 64 KiB within the peer's
 *         credit; the clock stops when the peer's one-byte answer, sent
 *         once it has read everything, arrives
 *   recv  accept the host's connection to port "listen=" (default 5000)
 *         and take "mb=" MiB; the clock runs from the accept to the last
 *         byte
 * The data is consumed as it arrives (counted, not copied or checked:
 * guests/virtio_vsock.c tests the contents); lib/vsock.c gives the credit
 * back to the peer every BUF_ALLOC / 4 bytes. Output: "vsock: NAME BYTES
 * CYCLES" and "vsock: done"; exit 1 if a connection failed.
 */
#include "rt.h"
#include "virtio.h"
#include "vsock.h"

#define BUF_ALLOC (1U << 20)

static uint8_t user_stack[16384] __attribute__((aligned(16)));

static __attribute__((noreturn)) void die(const char *what)
{
	printf("vsock: FAIL %s\n", what);
	guest_exit(1);
}

static const struct vsock_config vsock_cfg = {
	.name = "vsock",
	.rx_bufs = 16,
	.tx_slots = 8,
	.payload = 65536, /* petrel's largest packet */
	.buf_alloc = BUF_ALLOC,
	.features = VIRTIO_BIT(VIRTIO_F_EVENT_IDX),
	.die = die,
};

/* The payload is whatever the transmit slots hold. */
static void bench_send(uint32_t port, uint64_t total)
{
	uint64_t t0, deadline;

	if (!vsock_connect(port))
		die(vsock.conn.rst ? "connect: refused" : "connect: no answer");
	t0 = rdtsc();
	if (!vsock_write(NULL, (uint32_t)total))
		die("send: connection reset or no credit");
	deadline = rdtsc() + virtio_timeout_cycles;
	while (vsock.conn.fwd_cnt == 0) { /* the peer's answer: it has everything */
		vsock_poll();
		if (vsock.conn.state != VSOCK_ESTABLISHED)
			die("send: reset before the answer");
		if (rdtsc() > deadline)
			die("send: no answer");
	}
	bench_report("vsock", "send", total, rdtsc() - t0);
	vsock_reset();
}

static void bench_recv(uint32_t port, uint64_t total)
{
	uint64_t t0, deadline;

	if (!vsock_accept(port))
		die("listen: no connection");
	t0 = rdtsc();
	deadline = t0 + virtio_timeout_cycles;
	while (vsock.conn.fwd_cnt < total) {
		uint32_t had = vsock.conn.fwd_cnt;

		vsock_poll();
		if (vsock.conn.fwd_cnt != had)
			deadline = rdtsc() + virtio_timeout_cycles;
		if (vsock.conn.state != VSOCK_ESTABLISHED)
			die("recv: connection reset");
		if (rdtsc() > deadline)
			die("recv: data stopped");
	}
	bench_report("vsock", "recv", vsock.conn.fwd_cnt, rdtsc() - t0);
	vsock_reset();
}

static void user_main(void)
{
	uint64_t total = (uint64_t)cmdline_long("mb", 1, 128) << 20;

	printf("vsock: running at cpl=%u\n", current_cpl());
	if (total >= 1ULL << 32 || vsock_init(&vsock_cfg)) {
		printf("vsock: no usable vsock device (or mb= of 4 GiB or more)\n");
		guest_exit(2);
	}
	bench_send((uint32_t)cmdline_long("port", 1, 1234), total);
	bench_recv((uint32_t)cmdline_long("listen", 1, 5000), total);
	printf("vsock: done\n");
	guest_exit(0);
}

int guest_main(void)
{
	enter_user(user_main, user_stack + sizeof(user_stack));
}
