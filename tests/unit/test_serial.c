/* SPDX-License-Identifier: MIT */
/* The 16550A, driven through its bus handler with recording callbacks. */
#include <string.h>

#include "dev/serial_8250.h"
#include "harness.h"
#include "log.h"

#define THR 0
#define RBR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

struct fake {
	uint8_t tx[64];
	unsigned int ntx;
	bool level;
	unsigned int irq_calls;
	unsigned int wanted_true, wanted_false;
	/* input the fill callback delivers */
	const uint8_t *in;
	size_t in_len, in_pos, last_room;
	unsigned int fill_calls;
};

static void fake_tx(void *opaque, uint8_t byte)
{
	struct fake *f = opaque;

	if (f->ntx < sizeof(f->tx))
		f->tx[f->ntx] = byte;
	f->ntx++;
}

static void fake_irq(void *opaque, bool level)
{
	struct fake *f = opaque;

	f->level = level;
	f->irq_calls++;
}

static void fake_rx_wanted(void *opaque, bool wanted)
{
	struct fake *f = opaque;

	if (wanted)
		f->wanted_true++;
	else
		f->wanted_false++;
}

static size_t fake_fill(void *opaque, uint8_t *buf, size_t room)
{
	struct fake *f = opaque;
	size_t n = f->in_len - f->in_pos;

	f->fill_calls++;
	f->last_room = room;
	if (n > room)
		n = room;
	memcpy(buf, f->in + f->in_pos, n);
	f->in_pos += n;
	return n;
}

static const struct serial_ops ops = {
	.tx = fake_tx,
	.irq = fake_irq,
	.rx_wanted = fake_rx_wanted,
};

static void wr(struct serial *s, uint64_t reg, uint8_t v)
{
	serial_io(s, reg, &v, 1, true);
}

static uint8_t rd(struct serial *s, uint64_t reg)
{
	uint8_t v = 0;

	serial_io(s, reg, &v, 1, false);
	return v;
}

static void feed(struct serial *s, struct fake *f, const char *bytes)
{
	f->in = (const uint8_t *)bytes;
	f->in_len = strlen(bytes);
	f->in_pos = 0;
	serial_rx_fill(s, fake_fill, f);
}

static void serial_thr_reaches_tx(void)
{
	struct fake f = { 0 };
	struct serial *s = serial_new(&ops, &f);

	REQUIRE(s);
	wr(s, THR, 'h');
	wr(s, THR, 'i');
	CHECK(f.ntx == 2 && f.tx[0] == 'h' && f.tx[1] == 'i');
	/* a wide access touches only the first register */
	serial_io(s, THR, (uint8_t[]){ '!', 'x' }, 2, true);
	CHECK(f.ntx == 3 && f.tx[2] == '!');
	serial_free(s);
}

static void serial_lsr_always_empty(void)
{
	struct fake f = { 0 };
	struct serial *s = serial_new(&ops, &f);

	REQUIRE(s);
	CHECK(rd(s, LSR) == 0x60); /* THRE | TEMT, no data */
	for (int i = 0; i < 40; i++)
		wr(s, THR, 'a');
	CHECK(rd(s, LSR) == 0x60);
	wr(s, LSR, 0x00); /* read-only */
	CHECK(rd(s, LSR) == 0x60);
	serial_free(s);
}

static void serial_dlab_switches_registers(void)
{
	struct fake f = { 0 };
	struct serial *s = serial_new(&ops, &f);

	REQUIRE(s);
	wr(s, IER, 0x05);
	wr(s, LCR, 0x83);
	wr(s, DLL, 0x0c);
	wr(s, DLM, 0x5a);
	CHECK(f.ntx == 0); /* the divisor write is not a byte sent */
	CHECK(rd(s, DLL) == 0x0c);
	CHECK(rd(s, DLM) == 0x5a);
	CHECK(rd(s, LCR) == 0x83);
	wr(s, LCR, 0x03);
	CHECK(rd(s, IER) == 0x05);
	wr(s, THR, 'z');
	CHECK(f.ntx == 1 && f.tx[0] == 'z');
	wr(s, LCR, 0x83);
	CHECK(rd(s, DLL) == 0x0c && rd(s, DLM) == 0x5a);
	serial_free(s);
}

static void serial_iir_fifo_bits(void)
{
	struct fake f = { 0 };
	struct serial *s = serial_new(&ops, &f);

	REQUIRE(s);
	CHECK(rd(s, IIR) == 0x01);
	wr(s, FCR, 0x01);
	CHECK(rd(s, IIR) == 0xc1);
	wr(s, FCR, 0x00);
	CHECK(rd(s, IIR) == 0x01);
	serial_free(s);
}

static void serial_thre_irq_gated_by_out2(void)
{
	struct fake f = { 0 };
	struct serial *s = serial_new(&ops, &f);

	REQUIRE(s);
	wr(s, IER, 0x02); /* THRI, OUT2 still low */
	CHECK(f.irq_calls == 0 && !f.level);
	wr(s, MCR, 0x08); /* OUT2: the pending THRE interrupt reaches the line */
	CHECK(f.level && f.irq_calls == 1);
	CHECK(rd(s, IIR) == 0x02);
	CHECK(!f.level && f.irq_calls == 2); /* the IIR read acknowledged it */
	CHECK(rd(s, IIR) == 0x01);
	wr(s, THR, 'x'); /* sent at once: THR empty again */
	CHECK(f.level && f.irq_calls == 3);
	wr(s, MCR, 0x00);
	CHECK(!f.level);
	serial_free(s);
}

static void serial_iir_read_clears_thre(void)
{
	struct fake f = { 0 };
	struct serial *s = serial_new(&ops, &f);

	REQUIRE(s);
	wr(s, MCR, 0x08);
	wr(s, IER, 0x02);
	CHECK(f.level);
	CHECK((rd(s, IIR) & 0x0f) == 0x02);
	CHECK(!f.level);
	CHECK((rd(s, IIR) & 0x0f) == 0x01);
	/* disabling and re-enabling THRI raises it again (THR is empty) */
	wr(s, IER, 0x00);
	wr(s, IER, 0x02);
	CHECK(f.level);
	wr(s, IER, 0x00);
	CHECK(!f.level);
	serial_free(s);
}

static void serial_rx_in_order_with_irq(void)
{
	struct fake f = { 0 };
	struct serial *s = serial_new(&ops, &f);

	REQUIRE(s);
	wr(s, MCR, 0x08);
	wr(s, IER, 0x01);
	feed(s, &f, "abc");
	CHECK(f.fill_calls == 1 && f.last_room == SERIAL_FIFO_SIZE);
	CHECK(rd(s, LSR) & 0x01);
	CHECK(f.level);
	CHECK((rd(s, IIR) & 0x0f) == 0x04);
	CHECK(rd(s, RBR) == 'a');
	CHECK(rd(s, RBR) == 'b');
	CHECK(f.level);
	CHECK(rd(s, RBR) == 'c');
	CHECK(!(rd(s, LSR) & 0x01));
	CHECK(!f.level);
	CHECK((rd(s, IIR) & 0x0f) == 0x01);
	CHECK(f.wanted_false == 0 && f.wanted_true == 0);
	serial_free(s);
}

static void serial_rx_flow_control(void)
{
	static const char in[] = "0123456789abcdefGHIJKLMNOPQRSTUV";
	struct fake f = { 0 };
	struct serial *s = serial_new(&ops, &f);

	REQUIRE(s);
	feed(s, &f, in);
	CHECK(f.in_pos == SERIAL_FIFO_SIZE); /* only what fits was taken */
	CHECK(f.wanted_false == 1 && f.wanted_true == 0);
	serial_rx_fill(s, fake_fill, &f); /* full: fill not called, no repeat */
	CHECK(f.fill_calls == 1);
	CHECK(f.wanted_false == 1);
	/* Input is asked for again only once the FIFO is half empty. */
	for (int i = 0; i < 7; i++)
		CHECK(rd(s, RBR) == in[i]);
	CHECK(f.wanted_true == 0);
	CHECK(rd(s, RBR) == '7');
	CHECK(f.wanted_true == 1);
	CHECK(rd(s, RBR) == '8');
	CHECK(f.wanted_true == 1); /* once per pause */
	serial_rx_fill(s, fake_fill, &f);
	CHECK(f.last_room == 9 && f.in_pos == SERIAL_FIFO_SIZE + 9);
	CHECK(f.wanted_false == 2);
	for (int i = 9; i < SERIAL_FIFO_SIZE + 9; i++)
		CHECK(rd(s, RBR) == in[i]);
	CHECK(!(rd(s, LSR) & 0x01));
	CHECK(f.wanted_true == 2);
	serial_free(s);
}

static void serial_fcr_clear_rx(void)
{
	struct fake f = { 0 };
	struct serial *s = serial_new(&ops, &f);

	REQUIRE(s);
	feed(s, &f, "hello");
	wr(s, FCR, 0x03);
	CHECK(!(rd(s, LSR) & 0x01));
	CHECK(rd(s, RBR) == 0);
	CHECK(rd(s, IIR) == 0xc1); /* FIFO enabled, the clear bit self-cleared */
	feed(s, &f, "0123456789abcdef");
	CHECK(f.wanted_false == 1);
	wr(s, FCR, 0x03);
	CHECK(f.wanted_true == 1); /* room again */
	feed(s, &f, "q");
	CHECK(rd(s, RBR) == 'q');
	serial_free(s);
}

static void serial_loopback(void)
{
	struct fake f = { 0 };
	struct serial *s = serial_new(&ops, &f);

	REQUIRE(s);
	CHECK(rd(s, MSR) == 0xb0); /* DCD | DSR | CTS */
	wr(s, MCR, 0x10 | 0x0f);   /* LOOP with DTR, RTS, OUT1, OUT2 */
	CHECK(rd(s, MSR) == 0xf0);
	wr(s, MCR, 0x10 | 0x02); /* RTS only -> CTS */
	CHECK(rd(s, MSR) == 0x10);
	wr(s, MCR, 0x10 | 0x01); /* DTR only -> DSR */
	CHECK(rd(s, MSR) == 0x20);
	wr(s, MCR, 0x10);
	CHECK(rd(s, MSR) == 0x00);
	wr(s, THR, 'x');
	wr(s, THR, 'y');
	CHECK(f.ntx == 0);
	CHECK(rd(s, LSR) & 0x01);
	CHECK(rd(s, RBR) == 'x' && rd(s, RBR) == 'y');
	wr(s, MCR, 0x00);
	CHECK(rd(s, MSR) == 0xb0);
	wr(s, THR, 'z');
	CHECK(f.ntx == 1);
	serial_free(s);
}

static void serial_overrun(void)
{
	struct fake f = { 0 };
	struct serial *s = serial_new(&ops, &f);

	REQUIRE(s);
	wr(s, MCR, 0x18); /* loop + OUT2 */
	wr(s, IER, 0x04); /* receiver line status only */
	for (int i = 0; i < SERIAL_FIFO_SIZE + 1; i++)
		wr(s, THR, (uint8_t)('A' + i));
	CHECK(f.level);
	CHECK((rd(s, IIR) & 0x0f) == 0x06);
	CHECK((rd(s, LSR) & 0x03) == 0x03); /* DR | OE */
	CHECK((rd(s, LSR) & 0x03) == 0x01); /* OE clears on read */
	CHECK(!f.level);
	CHECK(rd(s, RBR) == 'A');
	serial_free(s);
}

static void serial_out_of_range_ignored(void)
{
	struct fake f = { 0 };
	struct serial *s = serial_new(&ops, &f);
	static const uint64_t offs[] = { 8, 9, 100, ~0ULL };

	REQUIRE(s);
	wr(s, SCR, 0x42);
	for (unsigned int i = 0; i < ARRAY_SIZE(offs); i++) {
		uint8_t v = 0xee;

		wr(s, offs[i], 'q');
		serial_io(s, offs[i], &v, 1, false);
		CHECK(v == 0xee);
	}
	serial_io(s, THR, (uint8_t[]){ 'q' }, 0, true); /* len 0 */
	CHECK(f.ntx == 0 && f.irq_calls == 0);
	CHECK(rd(s, SCR) == 0x42);
	CHECK(rd(s, LCR) == 0x03);
	serial_free(s);
}

int main(void)
{
	RUN(serial_thr_reaches_tx);
	RUN(serial_lsr_always_empty);
	RUN(serial_dlab_switches_registers);
	RUN(serial_iir_fifo_bits);
	RUN(serial_thre_irq_gated_by_out2);
	RUN(serial_iir_read_clears_thre);
	RUN(serial_rx_in_order_with_irq);
	RUN(serial_rx_flow_control);
	RUN(serial_fcr_clear_rx);
	RUN(serial_loopback);
	RUN(serial_overrun);
	RUN(serial_out_of_range_ignored);
	return harness_exit();
}
