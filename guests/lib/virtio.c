/* SPDX-License-Identifier: MIT */
#include "virtio.h"
#include "rt.h"

uint64_t virtio_timeout_cycles = 30000000000ULL;

/* ------------------------------------------------------------ registers */

static uint32_t reg_read(const struct virtio_dev *dev, uint32_t off)
{
	return mmio_read32(dev->base + off);
}

static void reg_write(const struct virtio_dev *dev, uint32_t off, uint32_t v)
{
	mmio_write32(dev->base + off, v);
}

/* A full barrier: orders a store to the ring before a later load of what
 * the device wrote (x86 may otherwise satisfy the load first). */
static inline void mb(void)
{
	__asm__ volatile("lock orq $0, (%%rsp)" ::: "memory");
}

/* Stores to guest RAM are seen in program order on x86 (and before a later
 * MMIO store); only the compiler has to be kept from reordering them. */
static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

/* ------------------------------------------------------ the command line */

struct mmio_entry {
	uint64_t size, base;
	uint32_t irq;
};

/* memparse-style number: decimal or 0x-hex, optional K/M/G suffix. */
static int parse_num(const char **pp, uint64_t *out, bool suffix)
{
	const char *p = *pp;
	unsigned int base = 10;
	uint64_t v = 0;
	int digits = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	for (;; p++, digits++) {
		unsigned int d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned int)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned int)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned int)(*p - 'A' + 10);
		else
			break;
		v = v * base + d;
	}
	if (!digits)
		return -1;
	if (suffix) {
		if (*p == 'K' || *p == 'k')
			v <<= 10, p++;
		else if (*p == 'M' || *p == 'm')
			v <<= 20, p++;
		else if (*p == 'G' || *p == 'g')
			v <<= 30, p++;
	}
	*pp = p;
	*out = v;
	return 0;
}

/* The `idx`th virtio_mmio.device=SIZE@BASE:IRQ[:ID] entry. */
static int cmdline_entry(unsigned int idx, struct mmio_entry *e)
{
	static const char key[] = "virtio_mmio.device=";
	const char *p = boot.cmdline;

	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, sizeof(key) - 1) && idx-- == 0) {
			uint64_t irq = 0;

			p += sizeof(key) - 1;
			if (parse_num(&p, &e->size, true) || *p++ != '@' ||
			    parse_num(&p, &e->base, false) || *p++ != ':' ||
			    parse_num(&p, &irq, false))
				return -1;
			e->irq = (uint32_t)irq;
			return 0;
		}
		while (*p && *p != ' ')
			p++;
	}
	return -1;
}

static bool entry_probe(const struct mmio_entry *e, struct virtio_dev *dev)
{
	*dev = (struct virtio_dev){ .base = e->base, .size = e->size, .irq = e->irq };
	if (e->size < VIRTIO_MMIO_REG_CONFIG ||
	    reg_read(dev, VIRTIO_MMIO_REG_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC)
		return false;
	dev->device_id = reg_read(dev, VIRTIO_MMIO_REG_DEVICE_ID);
	dev->vendor_id = reg_read(dev, VIRTIO_MMIO_REG_VENDOR_ID);
	return reg_read(dev, VIRTIO_MMIO_REG_VERSION) == 2;
}

/*
 * The idx-th transport: the command line's entries when it has any (QEMU's
 * microvm writes them for a PVH kernel), else petrel's slots from
 * platform.h, which petrel describes only in the ACPI DSDT; every slot
 * answers with the magic value, an empty one with device ID 0.
 */
static int mmio_entry(unsigned int idx, struct mmio_entry *e, bool *from_cmdline)
{
	struct mmio_entry first;

	*from_cmdline = cmdline_entry(0, &first) == 0;
	if (*from_cmdline)
		return cmdline_entry(idx, e);
	if (idx >= PETREL_VIRTIO_MMIO_SLOTS)
		return -1;
	*e = (struct mmio_entry){ .base = PETREL_VIRTIO_MMIO_BASE + idx * PETREL_VIRTIO_MMIO_STRIDE,
				  .size = PETREL_VIRTIO_MMIO_STRIDE };
	return 0;
}

int virtio_find(uint32_t device_id, unsigned int nth, struct virtio_dev *dev)
{
	struct mmio_entry e;
	bool cmd;

	for (unsigned int i = 0; mmio_entry(i, &e, &cmd) == 0; i++)
		if (entry_probe(&e, dev) && dev->device_id == device_id && nth-- == 0)
			return 0;
	return -1;
}

void virtio_list(void)
{
	unsigned int i, found = 0;
	struct virtio_dev dev;
	struct mmio_entry e;
	bool cmd = false;

	for (i = 0; mmio_entry(i, &e, &cmd) == 0; i++) {
		bool ok = entry_probe(&e, &dev);

		if (!cmd && dev.device_id == 0)
			continue;
		found++;
		printf("virtio: %#lx size %#lx irq %u: magic %#x version %u device %u%s\n",
		       (unsigned long)e.base, (unsigned long)e.size, e.irq,
		       reg_read(&dev, VIRTIO_MMIO_REG_MAGIC_VALUE),
		       reg_read(&dev, VIRTIO_MMIO_REG_VERSION), dev.device_id,
		       ok ? "" : " (not usable)");
	}
	if (!cmd)
		printf("virtio: %u devices in petrel's %u slots at %#lx\n", found, i,
		       (unsigned long)PETREL_VIRTIO_MMIO_BASE);
}

/* ------------------------------------------------------ status, features */

uint32_t virtio_status(const struct virtio_dev *dev)
{
	return reg_read(dev, VIRTIO_MMIO_REG_STATUS);
}

void virtio_check_status(const struct virtio_dev *dev)
{
	if (virtio_status(dev) & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED))
		test_fail("device status shows NEEDS_RESET or FAILED");
}

void virtio_reset(struct virtio_dev *dev)
{
	uint64_t deadline = rdtsc() + virtio_timeout_cycles;

	reg_write(dev, VIRTIO_MMIO_REG_STATUS, 0);
	while (virtio_status(dev) != 0 && rdtsc() < deadline)
		__asm__ volatile("pause");
}

static void status_set(struct virtio_dev *dev, uint32_t bits)
{
	reg_write(dev, VIRTIO_MMIO_REG_STATUS, virtio_status(dev) | bits);
}

int virtio_negotiate(struct virtio_dev *dev, uint64_t wanted)
{
	virtio_reset(dev);
	status_set(dev, VIRTIO_STATUS_ACKNOWLEDGE);
	status_set(dev, VIRTIO_STATUS_DRIVER);
	reg_write(dev, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 0);
	dev->offered = reg_read(dev, VIRTIO_MMIO_REG_DEVICE_FEATURES);
	reg_write(dev, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 1);
	dev->offered |= (uint64_t)reg_read(dev, VIRTIO_MMIO_REG_DEVICE_FEATURES) << 32;
	dev->features = dev->offered & (wanted | VIRTIO_BIT(VIRTIO_F_VERSION_1));
	if (!(dev->features & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
		printf("virtio: device %u at %#lx does not offer VERSION_1\n", dev->device_id,
		       (unsigned long)dev->base);
		status_set(dev, VIRTIO_STATUS_FAILED);
		return -1;
	}
	reg_write(dev, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 0);
	reg_write(dev, VIRTIO_MMIO_REG_DRIVER_FEATURES, (uint32_t)dev->features);
	reg_write(dev, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 1);
	reg_write(dev, VIRTIO_MMIO_REG_DRIVER_FEATURES, (uint32_t)(dev->features >> 32));
	status_set(dev, VIRTIO_STATUS_FEATURES_OK);
	if (!(virtio_status(dev) & VIRTIO_STATUS_FEATURES_OK)) {
		printf("virtio: device %u at %#lx refused features %#lx\n", dev->device_id,
		       (unsigned long)dev->base, (unsigned long)dev->features);
		status_set(dev, VIRTIO_STATUS_FAILED);
		return -1;
	}
	return 0;
}

int virtio_driver_ok(struct virtio_dev *dev)
{
	status_set(dev, VIRTIO_STATUS_DRIVER_OK);
	return virtio_status(dev) & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED) ? -1 : 0;
}

uint32_t virtio_isr_ack(struct virtio_dev *dev)
{
	uint32_t isr = reg_read(dev, VIRTIO_MMIO_REG_INTERRUPT_STATUS);

	if (isr)
		reg_write(dev, VIRTIO_MMIO_REG_INTERRUPT_ACK, isr);
	return isr;
}

/* --------------------------------------------------------- config space */

uint8_t virtio_cfg_read8(const struct virtio_dev *dev, uint32_t off)
{
	return *(volatile uint8_t *)(dev->base + VIRTIO_MMIO_REG_CONFIG + off);
}

uint16_t virtio_cfg_read16(const struct virtio_dev *dev, uint32_t off)
{
	return *(volatile uint16_t *)(dev->base + VIRTIO_MMIO_REG_CONFIG + off);
}

uint32_t virtio_cfg_read32(const struct virtio_dev *dev, uint32_t off)
{
	return reg_read(dev, VIRTIO_MMIO_REG_CONFIG + off);
}

/* A 64-bit field is two accesses: retry if the device changed the config
 * between them (ConfigGeneration, 4.2.2.2). */
uint64_t virtio_cfg_read64(const struct virtio_dev *dev, uint32_t off)
{
	uint32_t gen, lo, hi;

	do {
		gen = reg_read(dev, VIRTIO_MMIO_REG_CONFIG_GENERATION);
		lo = virtio_cfg_read32(dev, off);
		hi = virtio_cfg_read32(dev, off + 4);
	} while (gen != reg_read(dev, VIRTIO_MMIO_REG_CONFIG_GENERATION));
	return ((uint64_t)hi << 32) | lo;
}

void virtio_cfg_write32(const struct virtio_dev *dev, uint32_t off, uint32_t v)
{
	reg_write(dev, VIRTIO_MMIO_REG_CONFIG + off, v);
}

/* ---------------------------------------------------------------- memory */

extern char __image_end[];
static uint64_t pool_next;

void *virtio_alloc(size_t size, size_t align)
{
	uint64_t p;

	if (!pool_next) {
		uint64_t cmd = (uint64_t)boot.cmdline;

		pool_next = (uint64_t)__image_end;
		/* Loaders put the command line below 1 MiB; stay clear of it
		 * wherever it is. */
		if (cmd >= pool_next && cmd < VIRTIO_POOL_END)
			pool_next = cmd + strlen(boot.cmdline) + 1;
	}
	p = (pool_next + align - 1) & ~(uint64_t)(align - 1);
	if (p + size < p || p + size > VIRTIO_POOL_END)
		return NULL;
	pool_next = p + size;
	memset((void *)p, 0, size);
	return (void *)p;
}

uint64_t fnv1a(uint64_t h, const void *buf, size_t len)
{
	const uint8_t *b = buf;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint32_t crc32(uint32_t crc, const void *buf, size_t len)
{
	static uint32_t table[256];
	const uint8_t *b = buf;

	if (!table[1])
		for (uint32_t n = 0; n < 256; n++) {
			uint32_t c = n;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320U ^ (c >> 1) : c >> 1;
			table[n] = c;
		}
	crc = ~crc;
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---------------------------------------------------------------- queues */

/*
 * Ring layout for N entries (2.7): descriptors 16*N bytes (16-aligned),
 * driver area "avail" flags, idx, ring[N], used_event (2-aligned), device
 * area "used" flags, idx, {id, len}[N], avail_event (4-aligned). The three
 * are placed in one 4 KiB-aligned block.
 *
 * The free descriptors form a list through `next` of a private shadow
 * array; a direct chain is taken from the front of that list, so the
 * chain's links in the ring are the list's own and freeing a chain of k
 * descriptors splices them back without reading ring memory the device
 * could have scribbled on.
 */

static volatile uint16_t *used_event(struct virtq *vq)
{
	return &vq->avail[2 + vq->size];
}

static volatile uint16_t *avail_event(struct virtq *vq)
{
	return &vq->used[2 + 4 * vq->size];
}

/* Ask for an interrupt on the next used buffer, or for none. */
static void interrupts_update(struct virtq *vq)
{
	if (vq->event_idx)
		*used_event(vq) =
		    vq->want_interrupts ? vq->last_used : (uint16_t)(vq->last_used - 1);
	else
		vq->avail[0] = vq->want_interrupts ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT;
}

int virtq_setup(struct virtio_dev *dev, struct virtq *vq, unsigned int index, unsigned int size)
{
	uint64_t avail_off, used_off, bytes;
	unsigned int max, n;
	uint8_t *mem;

	reg_write(dev, VIRTIO_MMIO_REG_QUEUE_SEL, index);
	if (reg_read(dev, VIRTIO_MMIO_REG_QUEUE_READY) != 0)
		return -1;
	max = reg_read(dev, VIRTIO_MMIO_REG_QUEUE_NUM_MAX);
	if (max == 0)
		return -1;
	if (size > max)
		size = max;
	if (size > VIRTQ_MAX_SIZE)
		size = VIRTQ_MAX_SIZE;
	for (n = 1; n * 2 <= size; n *= 2) /* split ring sizes are powers of 2 */
		;
	avail_off = 16ULL * n;
	used_off = (avail_off + 6 + 2ULL * n + 3) & ~3ULL;
	bytes = used_off + 6 + 8ULL * n;
	mem = virtio_alloc(bytes, 4096);
	if (!mem)
		return -1;
	*vq = (struct virtq){
		.dev = dev,
		.index = index,
		.size = (uint16_t)n,
		.event_idx = dev->features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX),
		.indirect = dev->features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC),
		.desc = (volatile struct virtq_desc *)mem,
		.avail = (volatile uint16_t *)(mem + avail_off),
		.used = (volatile uint16_t *)(mem + used_off),
		.used_ring = (volatile struct virtq_used_elem *)(mem + used_off + 4),
		.num_free = (uint16_t)n,
		.want_interrupts = true,
	};
	if (vq->indirect) {
		vq->indirect_tables =
		    virtio_alloc((size_t)n * VIRTQ_MAX_CHAIN * sizeof(struct virtq_desc), 16);
		if (!vq->indirect_tables)
			return -1;
	}
	for (unsigned int i = 0; i < n; i++)
		vq->next[i] = (uint16_t)(i + 1);
	interrupts_update(vq);
	reg_write(dev, VIRTIO_MMIO_REG_QUEUE_NUM, n);
	reg_write(dev, VIRTIO_MMIO_REG_QUEUE_DESC_LOW, (uint32_t)(uint64_t)mem);
	reg_write(dev, VIRTIO_MMIO_REG_QUEUE_DESC_HIGH, (uint32_t)((uint64_t)mem >> 32));
	reg_write(dev, VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW, (uint32_t)(uint64_t)(mem + avail_off));
	reg_write(dev, VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH,
		  (uint32_t)((uint64_t)(mem + avail_off) >> 32));
	reg_write(dev, VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW, (uint32_t)(uint64_t)(mem + used_off));
	reg_write(dev, VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH,
		  (uint32_t)((uint64_t)(mem + used_off) >> 32));
	reg_write(dev, VIRTIO_MMIO_REG_QUEUE_READY, 1);
	return reg_read(dev, VIRTIO_MMIO_REG_QUEUE_READY) == 1 ? 0 : -1;
}

void virtq_interrupts(struct virtq *vq, bool on)
{
	vq->want_interrupts = on;
	interrupts_update(vq);
}

static uint16_t desc_flags(unsigned int i, unsigned int n, unsigned int nout)
{
	return (uint16_t)((i + 1 < n ? VIRTQ_DESC_F_NEXT : 0) |
			  (i >= nout ? VIRTQ_DESC_F_WRITE : 0));
}

int virtq_add(struct virtq *vq, const struct virtq_buf *bufs, unsigned int nout, unsigned int nin,
	      bool indirect)
{
	unsigned int n = nout + nin, need, i;
	uint16_t head = vq->free_head, d;

	if (n == 0 || n > VIRTQ_MAX_CHAIN)
		return -1;
	indirect = indirect && vq->indirect && n > 1;
	need = indirect ? 1 : n;
	if (vq->num_free < need)
		return -1;
	if (indirect) {
		struct virtq_desc *t = &vq->indirect_tables[(size_t)head * VIRTQ_MAX_CHAIN];

		for (i = 0; i < n; i++)
			t[i] = (struct virtq_desc){ .addr = (uint64_t)bufs[i].addr,
						    .len = bufs[i].len,
						    .flags = desc_flags(i, n, nout),
						    .next = (uint16_t)(i + 1) };
		vq->desc[head].addr = (uint64_t)t;
		vq->desc[head].len = n * (uint32_t)sizeof(*t);
		vq->desc[head].flags = VIRTQ_DESC_F_INDIRECT;
		vq->desc[head].next = 0;
		d = vq->next[head];
	} else {
		d = head;
		for (i = 0; i < n; i++) {
			vq->desc[d].addr = (uint64_t)bufs[i].addr;
			vq->desc[d].len = bufs[i].len;
			vq->desc[d].flags = desc_flags(i, n, nout);
			vq->desc[d].next = vq->next[d];
			d = vq->next[d];
		}
	}
	vq->free_head = d;
	vq->num_free = (uint16_t)(vq->num_free - need);
	vq->chain_len[head] = (uint16_t)need;
	vq->avail[2 + (vq->avail_idx & (vq->size - 1))] = head;
	/* The descriptors and the ring entry before the index that publishes
	 * them (x86 keeps stores in order; the compiler must too). */
	barrier();
	vq->avail_idx++;
	vq->avail[1] = vq->avail_idx;
	return head;
}

bool virtq_kick(struct virtq *vq)
{
	uint16_t new = vq->avail_idx, old = vq->kicked_idx;
	bool need;

	if (new == old)
		return false;
	vq->kicked_idx = new;
	/* The device may have checked for work and set its suppression
	 * fields before it saw our avail->idx; read them only after the
	 * index store is globally visible, or a kick could be lost. */
	mb();
	if (vq->event_idx)
		need = (uint16_t)(new - *avail_event(vq) - 1) < (uint16_t)(new - old);
	else
		need = !(vq->used[0] & VIRTQ_USED_F_NO_NOTIFY);
	if (!need) {
		vq->kicks_suppressed++;
		return false;
	}
	reg_write(vq->dev, VIRTIO_MMIO_REG_QUEUE_NOTIFY, vq->index);
	vq->kicks++;
	return true;
}

int virtq_get(struct virtq *vq, uint32_t *len)
{
	volatile struct virtq_used_elem *e;
	uint32_t id;
	uint16_t tail;

	if (vq->used[1] == vq->last_used)
		return -1;
	/* Loads are not reordered with older loads on x86: the element read
	 * below is at least as new as the index just read. */
	barrier();
	e = &vq->used_ring[vq->last_used & (vq->size - 1)];
	id = e->id;
	*len = e->len;
	if (id >= vq->size || vq->chain_len[id] == 0) {
		printf("virtio: queue %u: device used id %u, which is not in flight\n", vq->index,
		       id);
		return -2;
	}
	tail = (uint16_t)id;
	for (unsigned int i = 1; i < vq->chain_len[id]; i++)
		tail = vq->next[tail];
	vq->next[tail] = vq->free_head;
	vq->free_head = (uint16_t)id;
	vq->num_free = (uint16_t)(vq->num_free + vq->chain_len[id]);
	vq->chain_len[id] = 0;
	vq->last_used++;
	vq->completions++;
	interrupts_update(vq);
	return (int)id;
}

int virtq_wait(struct virtq *vq, uint32_t *len)
{
	uint64_t deadline = rdtsc() + virtio_timeout_cycles;
	int head;

	while ((head = virtq_get(vq, len)) == -1) {
		if (rdtsc() > deadline) {
			printf("virtio: queue %u: timed out waiting for the device\n", vq->index);
			return -1;
		}
		__asm__ volatile("pause");
	}
	return head;
}
