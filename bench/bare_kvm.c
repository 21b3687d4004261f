// SPDX-License-Identifier: MIT
/*
 * bare_kvm: the floor for petrel's benchmarks — the least a VMM can do to
 * run a PVH ELF test guest: open /dev/kvm, one memslot, one vCPU (CPUID
 * from KVM_GET_SUPPORTED_CPUID), load the PT_LOAD segments, enter the PVH
 * entry in 32-bit protected mode with ebx -> a minimal hvm_start_info, and
 * KVM_RUN until an 8-bit write to the exit port (0x501), whose value
 * becomes the exit status. No devices, no threads, no checks beyond what
 * keeps it from crashing: a benchmark peer, not a VMM.
 *
 *   bare_kvm GUEST.elf [MEM_MIB]        (default 128)
 *
 * A write of 123 to the boot timer (0xd0000000) prints
 * "bare_kvm: guest boot time: N us" (since main) on stderr, like petrel.
 * Other PIO/MMIO exits are ignored (reads return zero), except that COM1's
 * line status register reads "transmitter empty" (0x60), so a guest that
 * prints (guests/hello.elf) writes each byte once instead of polling it.
 *
 * Experiment builds (bench/run builds them as extra rows of benchmark 1):
 *   -DWITH_IRQCHIP        KVM_CREATE_IRQCHIP (in-kernel PIC, IOAPIC, LAPIC)
 *   -DWITH_PIT            KVM_CREATE_PIT2 (needs WITH_IRQCHIP)
 *   -DWITH_SPLIT_IRQCHIP  KVM_CAP_SPLIT_IRQCHIP (in-kernel LAPIC only)
 */
#include <elf.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_PORT 0x501
#define COM1_LSR 0x3fd
#define BOOT_TIMER 0xd0000000ULL
#define START_INFO 0x6000

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static uint64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

/* Copy the PT_LOAD segments into guest RAM; return the PVH entry point. */
static uint32_t load_pvh(const char *path, uint8_t *ram, size_t ram_size)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	uint8_t *img;
	uint32_t entry = 0;

	if (fd < 0 || fstat(fd, &st))
		die(path);
	img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (img == MAP_FAILED)
		die("mmap image");
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(img + eh->e_phoff) + i;

		if (ph->p_type == PT_LOAD) {
			if (ph->p_paddr + ph->p_memsz > ram_size)
				die("segment outside RAM");
			memcpy(ram + ph->p_paddr, img + ph->p_offset, ph->p_filesz);
		} else if (ph->p_type == PT_NOTE) {
			const uint8_t *n = img + ph->p_offset, *end = n + ph->p_filesz;

			while (n + 12 <= end) {
				const uint32_t *h = (const uint32_t *)n;
				const uint8_t *desc = n + 12 + ((h[0] + 3) & ~3u);

				if (h[2] == 18 && !memcmp(n + 12, "Xen", 4))
					entry = *(const uint32_t *)desc;
				n = desc + ((h[1] + 3) & ~3u);
			}
		}
	}
	munmap(img, (size_t)st.st_size);
	close(fd);
	if (!entry) {
		fprintf(stderr, "bare_kvm: %s: no PVH entry note\n", path);
		exit(1);
	}
	return entry;
}

int main(int argc, char **argv)
{
	uint64_t t0 = now_us();
	size_t mem = (size_t)(argc > 2 ? atoi(argv[2]) : 128) << 20;
	int kvm, vm, vcpu;
	struct kvm_run *run;
	uint8_t *ram;

	if (argc < 2) {
		fprintf(stderr, "usage: bare_kvm GUEST.elf [MEM_MIB]\n");
		return 2;
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	ram = mmap(NULL, mem, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (ram == MAP_FAILED)
		die("mmap RAM");
	struct kvm_userspace_memory_region slot = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = mem,
		.userspace_addr = (uintptr_t)ram,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot))
		die("KVM_SET_USER_MEMORY_REGION");
#ifdef WITH_IRQCHIP /* experiments only: what an in-kernel irqchip/PIT costs */
	if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL) || ioctl(vm, KVM_CREATE_IRQCHIP, 0))
		die("KVM_CREATE_IRQCHIP");
#endif
#ifdef WITH_SPLIT_IRQCHIP
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args[0] = 24 };
	if (ioctl(vm, KVM_ENABLE_CAP, &cap))
		die("KVM_CAP_SPLIT_IRQCHIP");
#endif
#ifdef WITH_PIT
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	if (ioctl(vm, KVM_CREATE_PIT2, &pit))
		die("KVM_CREATE_PIT2");
#endif
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("KVM_CREATE_VCPU");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run");

	/* CPUID: whatever KVM supports (the guest needs LM to enter long mode). */
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[256];
	} cpuid = { .c.nent = 256 };
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cpuid) || ioctl(vcpu, KVM_SET_CPUID2, &cpuid))
		die("CPUID");

	uint32_t entry = load_pvh(argv[1], ram, mem);
	uint32_t *si = (uint32_t *)(ram + START_INFO); /* hvm_start_info v0 */
	si[0] = 0x336ec578;			       /* magic */
	si[1] = 0;				       /* version */

	/* PVH: 32-bit protected mode, flat segments, paging off. */
	struct kvm_sregs sr;
	if (ioctl(vcpu, KVM_GET_SREGS, &sr))
		die("KVM_GET_SREGS");
	struct kvm_segment seg = {
		.base = 0,
		.limit = 0xffffffff,
		.selector = 0x10,
		.type = 3,
		.present = 1,
		.dpl = 0,
		.db = 1,
		.s = 1,
		.g = 1,
	};
	sr.ds = sr.es = sr.fs = sr.gs = sr.ss = seg;
	seg.selector = 0x08;
	seg.type = 11;
	sr.cs = seg;
	sr.cr0 = 0x11; /* PE | ET */
	sr.cr4 = 0;
	sr.efer = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sr))
		die("KVM_SET_SREGS");
	struct kvm_regs regs = { .rip = entry, .rbx = START_INFO, .rflags = 2 };
	if (ioctl(vcpu, KVM_SET_REGS, &regs))
		die("KVM_SET_REGS");

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			die("KVM_RUN");
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			uint8_t *data = (uint8_t *)run + run->io.data_offset;

			if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == EXIT_PORT) {
				return data[0];
			}
			if (run->io.direction == KVM_EXIT_IO_IN)
				memset(data, run->io.port == COM1_LSR ? 0x60 : 0,
				       (size_t)run->io.size * run->io.count);
			break;
		}
		case KVM_EXIT_MMIO:
			if (run->mmio.is_write && run->mmio.phys_addr == BOOT_TIMER &&
			    run->mmio.data[0] == 123)
				fprintf(stderr, "bare_kvm: guest boot time: %llu us\n",
					(unsigned long long)(now_us() - t0));
			else if (!run->mmio.is_write)
				memset(run->mmio.data, 0, sizeof(run->mmio.data));
			break;
		case KVM_EXIT_HLT:
			return 0;
		case KVM_EXIT_SHUTDOWN:
			ioctl(vcpu, KVM_GET_REGS, &regs);
			ioctl(vcpu, KVM_GET_SREGS, &sr);
			fprintf(stderr,
				"bare_kvm: triple fault at rip %llx cs %x cr0 %llx efer %llx\n",
				(unsigned long long)regs.rip, sr.cs.selector,
				(unsigned long long)sr.cr0, (unsigned long long)sr.efer);
			return 3;
		default:
			fprintf(stderr, "bare_kvm: exit reason %u\n", run->exit_reason);
			return 4;
		}
	}
}
