// SPDX-License-Identifier: MIT
/*
 * bench_dirty: what it costs to collect KVM's dirty pages, for the choice
 * petrel's dirty-page tracking (src/dirty.c) makes between KVM's dirty log
 * and its dirty ring. No petrel code: one memslot of MEM_MIB, one vCPU in
 * real mode running a loop that writes one byte in each of PAGES pages
 * (from 64 KiB on) and exits with `out`; after each exit the pages it
 * dirtied are collected, timed, and counted (they must be PAGES).
 *
 *   bench_dirty [-r ROUNDS] [-p PAGES] MEM_MIB...    (default 200, 16)
 *
 * Three ways, each in a fresh VM:
 *   log     KVM_GET_DIRTY_LOG: fetch, clear and write-protect in one call
 *   manual  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: KVM_GET_DIRTY_LOG fetches,
 *           KVM_CLEAR_DIRTY_LOG write-protects what it fetched
 *   ring    KVM_CAP_DIRTY_LOG_RING(_ACQ_REL): the vCPU's ring harvested,
 *           then KVM_RESET_DIRTY_RINGS
 * and "enable": turning logging on (KVM_SET_USER_MEMORY_REGION with
 * KVM_MEM_LOG_DIRTY_PAGES) once the guest has run. One line per (size,
 * way): median and 90th percentile in microseconds, or why it is absent.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum way { LOG, MANUAL, RING };
static const char *const way_name[] = { [LOG] = "log", [MANUAL] = "manual", [RING] = "ring" };

#define RING_ENTRIES 4096

static int kvm;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000 + (uint64_t)t.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Real-mode loop at gpa 0: for cx = pages: es = 0x1000 + 0x100 * i,
 * mov byte [es:0], 1; then out 0x10, al; jmp back to the start. */
static const uint8_t loop_code[] = {
	0xb8, 0x00, 0x10,		    /* 0:  mov ax, 0x1000 */
	0xb9, 0x00, 0x00,		    /* 3:  mov cx, PAGES (patched) */
	0x8e, 0xc0,			    /* 6:  mov es, ax */
	0x26, 0xc6, 0x06, 0x00, 0x00, 0x01, /* 8:  mov byte [es:0], 1 */
	0x05, 0x00, 0x01,		    /* 14: add ax, 0x100 */
	0xe2, 0xf3,			    /* 17: loop 6 */
	0xe6, 0x10,			    /* 19: out 0x10, al */
	0xeb, 0xe9,			    /* 21: jmp 0 */
};

struct vm {
	int fd, vcpu;
	struct kvm_run *run;
	struct kvm_dirty_gfn *ring;
	uint32_t ring_next;
	struct kvm_userspace_memory_region slot;
	uint64_t *bitmap;
	uint64_t pages;
};

/* The ring capability this KVM has (ACQ_REL preferred), or 0. */
static int ring_cap(void)
{
	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING_ACQ_REL) > 0)
		return KVM_CAP_DIRTY_LOG_RING_ACQ_REL;
	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING) > 0)
		return KVM_CAP_DIRTY_LOG_RING;
	return 0;
}

/* 0, or a reason the way is absent. */
static const char *vm_make(struct vm *v, enum way way, uint64_t mib, unsigned int pages)
{
	uint8_t *ram;
	struct kvm_sregs sr;
	struct kvm_regs regs = { .rflags = 2 };
	int run_size;

	memset(v, 0, sizeof(*v));
	v->fd = ioctl(kvm, KVM_CREATE_VM, 0);
	if (v->fd < 0)
		die("KVM_CREATE_VM");
	if (way == MANUAL) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
					      .args = { KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE } };

		if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) <= 0)
			return "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 absent";
		if (ioctl(v->fd, KVM_ENABLE_CAP, &cap))
			return "KVM_ENABLE_CAP(MANUAL_DIRTY_LOG_PROTECT2) refused";
	}
	if (way == RING) {
		int cap = ring_cap();
		struct kvm_enable_cap en = {
			.cap = (uint32_t)cap,
			.args = { RING_ENTRIES * sizeof(struct kvm_dirty_gfn) },
		};

		if (!cap)
			return "KVM_CAP_DIRTY_LOG_RING and _ACQ_REL absent";
		if (ioctl(v->fd, KVM_ENABLE_CAP, &en))
			return "KVM_ENABLE_CAP(DIRTY_LOG_RING) refused";
	}
	ram = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		die("mmap RAM");
	memcpy(ram, loop_code, sizeof(loop_code));
	ram[4] = (uint8_t)pages;
	ram[5] = (uint8_t)(pages >> 8);
	v->pages = (mib << 20) / 4096;
	v->bitmap = calloc((v->pages + 63) / 64, 8);
	v->slot = (struct kvm_userspace_memory_region){ .slot = 0,
							.memory_size = mib << 20,
							.userspace_addr = (uintptr_t)ram };
	if (!v->bitmap || ioctl(v->fd, KVM_SET_USER_MEMORY_REGION, &v->slot))
		die("KVM_SET_USER_MEMORY_REGION");
	v->vcpu = ioctl(v->fd, KVM_CREATE_VCPU, 0);
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (v->vcpu < 0 || run_size <= 0)
		die("KVM_CREATE_VCPU");
	v->run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
	if (v->run == MAP_FAILED)
		die("mmap kvm_run");
	if (way == RING) {
		v->ring =
		    mmap(NULL, RING_ENTRIES * sizeof(struct kvm_dirty_gfn), PROT_READ | PROT_WRITE,
			 MAP_SHARED, v->vcpu, KVM_DIRTY_LOG_PAGE_OFFSET * getpagesize());
		if (v->ring == MAP_FAILED)
			die("mmap dirty ring");
	}
	if (ioctl(v->vcpu, KVM_GET_SREGS, &sr))
		die("KVM_GET_SREGS");
	sr.cs.base = 0;
	sr.cs.selector = 0;
	if (ioctl(v->vcpu, KVM_SET_SREGS, &sr) || ioctl(v->vcpu, KVM_SET_REGS, &regs))
		die("KVM_SET_SREGS/REGS");
	return NULL;
}

static void vm_enter(struct vm *v)
{
	for (;;) {
		if (ioctl(v->vcpu, KVM_RUN, 0) && errno != EINTR)
			die("KVM_RUN");
		if (v->run->exit_reason == KVM_EXIT_IO && v->run->io.port == 0x10)
			return;
		if (v->run->exit_reason != KVM_EXIT_IO) {
			fprintf(stderr, "bench_dirty: unexpected exit %u\n", v->run->exit_reason);
			exit(1);
		}
	}
}

static void vm_log(struct vm *v, bool on)
{
	v->slot.flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0;
	if (ioctl(v->fd, KVM_SET_USER_MEMORY_REGION, &v->slot))
		die("KVM_SET_USER_MEMORY_REGION (log flag)");
}

static unsigned int popcount(const uint64_t *b, uint64_t pages)
{
	unsigned int n = 0;

	for (uint64_t i = 0; i < (pages + 63) / 64; i++)
		n += (unsigned int)__builtin_popcountll(b[i]);
	return n;
}

/* Collect once; the number of dirty pages seen. */
static unsigned int collect(struct vm *v, enum way way)
{
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = v->bitmap };
	unsigned int n = 0;

	if (way == RING) {
		for (;; v->ring_next++) {
			struct kvm_dirty_gfn *e = &v->ring[v->ring_next % RING_ENTRIES];

			if (!(atomic_load_explicit((_Atomic uint32_t *)&e->flags,
						   memory_order_acquire) &
			      KVM_DIRTY_GFN_F_DIRTY))
				break;
			n++;
			atomic_store_explicit((_Atomic uint32_t *)&e->flags, KVM_DIRTY_GFN_F_RESET,
					      memory_order_release);
		}
		if (ioctl(v->fd, KVM_RESET_DIRTY_RINGS, 0) < 0)
			die("KVM_RESET_DIRTY_RINGS");
		return n;
	}
	memset(v->bitmap, 0, (v->pages + 63) / 64 * 8);
	if (ioctl(v->fd, KVM_GET_DIRTY_LOG, &log))
		die("KVM_GET_DIRTY_LOG");
	n = popcount(v->bitmap, v->pages);
	if (way == MANUAL) {
		struct kvm_clear_dirty_log clear = { .slot = 0,
						     .num_pages = v->pages,
						     .dirty_bitmap = v->bitmap };

		if (ioctl(v->fd, KVM_CLEAR_DIRTY_LOG, &clear))
			die("KVM_CLEAR_DIRTY_LOG");
	}
	return n;
}

static void report(uint64_t mib, const char *what, uint64_t *ns, unsigned int n, const char *note)
{
	qsort(ns, n, sizeof(*ns), cmp_u64);
	printf("%6llu MiB  %-7s median %9.1f us  p90 %9.1f us  %s\n", (unsigned long long)mib, what,
	       ns[n / 2] / 1e3, ns[n * 9 / 10] / 1e3, note);
}

static void bench(uint64_t mib, enum way way, unsigned int rounds, unsigned int pages)
{
	uint64_t *ns = calloc(rounds, sizeof(*ns)), enable;
	unsigned int bad = 0;
	struct vm v;
	const char *why = vm_make(&v, way, mib, pages);
	char note[64];

	if (!ns)
		die("calloc");
	if (why) {
		printf("%6llu MiB  %-7s absent: %s\n", (unsigned long long)mib, way_name[way], why);
		close(v.fd);
		free(ns);
		return;
	}
	vm_enter(&v); /* fault the pages in before logging starts */
	enable = now_ns();
	vm_log(&v, true);
	enable = now_ns() - enable;
	if (way == LOG)
		printf("%6llu MiB  enable  %9.1f us (one run)\n", (unsigned long long)mib,
		       enable / 1e3);
	(void)collect(&v, way); /* manual starts with nothing set, but be sure */
	for (unsigned int r = 0; r < rounds; r++) {
		uint64_t t;
		unsigned int got;

		vm_enter(&v);
		t = now_ns();
		got = collect(&v, way);
		ns[r] = now_ns() - t;
		bad += got != pages;
	}
	snprintf(note, sizeof(note), "(%u rounds of %u pages%s)", rounds, pages,
		 bad ? ", SOME COUNTS WRONG" : "");
	report(mib, way_name[way], ns, rounds, note);
	free(ns);
	close(v.vcpu);
	close(v.fd);
}

int main(int argc, char **argv)
{
	unsigned int rounds = 200, pages = 16;
	int opt;

	while ((opt = getopt(argc, argv, "r:p:")) != -1) {
		if (opt == 'r')
			rounds = (unsigned int)atoi(optarg);
		else if (opt == 'p')
			pages = (unsigned int)atoi(optarg);
		else
			return 2;
	}
	if (optind == argc || rounds == 0 || pages == 0 || pages > 240) {
		fprintf(stderr, "usage: bench_dirty [-r ROUNDS] [-p PAGES 1..240] MEM_MIB...\n");
		return 2;
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	printf("KVM_CAP_DIRTY_LOG_RING: %d, _ACQ_REL: %d, MANUAL_DIRTY_LOG_PROTECT2: %d\n",
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING),
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING_ACQ_REL),
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2));
	for (int i = optind; i < argc; i++)
		for (enum way w = LOG; w <= RING; w++)
			bench((uint64_t)atoll(argv[i]), w, rounds, pages);
	return 0;
}
