/* SPDX-License-Identifier: MIT */
/*
 * Guest -> VMM transition costs for `bench/run transitions`, each timed
 * with RDTSC over "n=" iterations (default 10000) at CPL3, which runs
 * natively even where KVM emulates CPL0 (PVM):
 *   mmio       a read of the virtio-rng transport's InterruptStatus, which
 *              the VMM answers in userspace
 *   pio        an OUT to port 0x7f0, which no peer decodes (userspace; an
 *              OUT like the hypercall, so their difference is the call)
 *   hypercall  petrel's NOP call (docs/hypercalls.md); skipped with
 *              "hypercall=0" on the command line (port 0x510 is QEMU's
 *              fw_cfg)
 *   doorbell   a QueueNotify of the rng queue after DRIVER_OK with no
 *              buffers posted: KVM signals the VMM's ioeventfd and resumes
 *              the guest without a userspace exit
 *   rng64      one 64-byte virtio-rng request: post, kick, poll the used
 *              ring (interrupts suppressed)
 *   blk512     one 512-byte virtio-blk read of sector 0, the same way;
 *              only when there is a disk
 * Output: "transitions: NAME N CYCLES" (total TSC cycles of N iterations,
 * after 100 untimed ones) and "transitions: done"; the host converts
 * cycles with its TSC frequency. Nothing here judges the numbers.
 */
#include "hc.h"
#include "rt.h"
#include "virtio.h"

#define WARMUP 100
#define PIO_PORT 0x7f0
#define BLK_T_IN 0

struct blk_req {
	uint32_t type, reserved;
	uint64_t sector;
	uint8_t status;
};

static uint8_t user_stack[16384] __attribute__((aligned(16)));
static struct virtio_dev rng, blk;
static struct virtq rng_vq, blk_vq;
static uint8_t *rng_buf, *blk_buf;
static struct blk_req *blk_hdr;
static unsigned int errors;

static void report(const char *name, unsigned long n, uint64_t cycles)
{
	printf("transitions: %s %lu %lu\n", name, n, (unsigned long)cycles);
}

/* One request of `nout` readable then `nin` writable buffers, kicked and
 * polled to completion. */
static void request(struct virtq *vq, const struct virtq_buf *b, unsigned int nout,
		    unsigned int nin)
{
	uint32_t len;

	if (virtq_add(vq, b, nout, nin, false) < 0)
		errors++;
	virtq_kick(vq);
	if (virtq_wait(vq, &len) < 0)
		errors++;
}

static void rng64(void)
{
	struct virtq_buf b = { rng_buf, 64 };

	request(&rng_vq, &b, 0, 1);
}

static void blk512(void)
{
	struct virtq_buf b[3] = { { blk_hdr, 16 }, { blk_buf, 512 }, { &blk_hdr->status, 1 } };

	*blk_hdr = (struct blk_req){ .type = BLK_T_IN, .status = 0xff };
	request(&blk_vq, b, 1, 2);
	if (blk_hdr->status != 0)
		errors++;
}

static volatile uint32_t sink;

static void mmio(void)
{
	sink = mmio_read32(rng.base + VIRTIO_MMIO_INTERRUPT_STATUS);
}

static void pio(void)
{
	outb(PIO_PORT, 0);
}

static void hypercall(void)
{
	if (hc_nop() != 0)
		errors++;
}

static void doorbell(void)
{
	mmio_write32(rng.base + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

static void measure(const char *name, void (*op)(void), unsigned long n)
{
	uint64_t t0;

	for (int i = 0; i < WARMUP; i++)
		op();
	t0 = rdtsc();
	for (unsigned long i = 0; i < n; i++)
		op();
	report(name, n, rdtsc() - t0);
}

static int setup(struct virtio_dev *dev, struct virtq *vq, uint32_t id)
{
	if (virtio_find(id, 0, dev) || virtio_negotiate(dev, VIRTIO_BIT(VIRTIO_F_EVENT_IDX)) ||
	    virtq_setup(dev, vq, 0, 64) || virtio_driver_ok(dev))
		return -1;
	virtq_interrupts(vq, false);
	return 0;
}

static void user_main(void)
{
	char val[24];
	long n = 10000;
	bool have_blk;

	if (cmdline_get("n", val, sizeof(val)) == 0 && parse_ulong(val) > 0)
		n = parse_ulong(val);
	printf("transitions: running at cpl=%u\n", current_cpl());
	rng_buf = virtio_alloc(64, 64);
	blk_buf = virtio_alloc(512, 512);
	blk_hdr = virtio_alloc(sizeof(*blk_hdr), 16);
	if (!rng_buf || !blk_buf || !blk_hdr || setup(&rng, &rng_vq, VIRTIO_ID_RNG)) {
		printf("transitions: no usable entropy device\n");
		guest_exit(2);
	}
	have_blk = setup(&blk, &blk_vq, VIRTIO_ID_BLOCK) == 0;
	measure("mmio", mmio, (unsigned long)n);
	measure("pio", pio, (unsigned long)n);
	if (cmdline_get("hypercall", val, sizeof(val)) || val[0] != '0')
		measure("hypercall", hypercall, (unsigned long)n);
	measure("doorbell", doorbell, (unsigned long)n);
	measure("rng64", rng64, (unsigned long)n);
	if (have_blk)
		measure("blk512", blk512, (unsigned long)n);
	if (errors) {
		printf("transitions: %u operations failed\n", errors);
		guest_exit(1);
	}
	printf("transitions: done\n");
	guest_exit(0);
}

int guest_main(void)
{
	enter_user(user_main, user_stack + sizeof(user_stack));
}
