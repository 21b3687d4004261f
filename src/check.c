/* SPDX-License-Identifier: MIT */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch/x86/host.h"

struct kvm_cap_use {
	int cap;
	const char *name;
	bool required;
	const char *why;
};

static const struct kvm_cap_use caps[] = {
	{ KVM_CAP_USER_MEMORY, "USER_MEMORY", true, "guest RAM" },
	{ KVM_CAP_SPLIT_IRQCHIP, "SPLIT_IRQCHIP", true,
	  "in-kernel local APICs, I/O APIC in petrel" },
	{ KVM_CAP_SIGNAL_MSI, "SIGNAL_MSI", true, "I/O APIC interrupt delivery" },
	{ KVM_CAP_IRQ_ROUTING, "IRQ_ROUTING", true, "level-triggered EOIs back to the I/O APIC" },
	{ KVM_CAP_EXT_CPUID, "EXT_CPUID", true, "CPUID policy" },
	{ KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT", true, "race-free vCPU stop" },
	{ KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR", false, "VT-x real-mode support" },
	{ KVM_CAP_IOEVENTFD, "IOEVENTFD", false, "virtio doorbells without an exit to petrel" },
	{ KVM_CAP_IRQFD, "IRQFD", false, "virtio interrupts from the event loop" },
	{ KVM_CAP_TSC_DEADLINE_TIMER, "TSC_DEADLINE_TIMER", false, "guest LAPIC timer" },
	{ KVM_CAP_INTERNAL_ERROR_DATA, "INTERNAL_ERROR_DATA", false, "emulation-failure detail" },
	{ KVM_CAP_SET_GUEST_DEBUG, "SET_GUEST_DEBUG", false, "gdb stub" },
};

int kvm_open(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), err, version;

	if (fd < 0) {
		err = -errno;
		if (err == -ENOENT)
			log_msg("/dev/kvm: no such device (is the kvm module loaded? "
				"is virtualisation enabled in firmware?)");
		else if (err == -EACCES || err == -EPERM)
			log_msg("/dev/kvm: permission denied (add your user to the 'kvm' "
				"group, or run as root)");
		else
			log_msg("/dev/kvm: %s", strerror(-err));
		return err;
	}
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version < 0) {
		log_msg("/dev/kvm: not a KVM device (KVM_GET_API_VERSION: %m)");
		close(fd);
		return -ENOTTY;
	}
	if (version != KVM_API_VERSION) {
		log_msg("/dev/kvm: KVM API version %d, petrel needs %d", version, KVM_API_VERSION);
		close(fd);
		return -ENOTSUP;
	}
	return fd;
}

int kvm_require_caps(int kvm_fd)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(caps); i++) {
		if (caps[i].required && ioctl(kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			log_msg("this host's KVM lacks KVM_CAP_%s (needed for %s)", caps[i].name,
				caps[i].why);
			return -ENOTSUP;
		}
	}
	return 0;
}

int check_run(void)
{
	struct host_info host;
	int fd = kvm_open(), missing = 0, max;

	if (fd < 0)
		return 1;
	host_probe(&host);
	printf("KVM API version:  %d\n", ioctl(fd, KVM_GET_API_VERSION, 0));
	printf("virtualisation:   %s\n", host_kind_describe(&host));
	printf("nested:           %s\n",
	       host.nested ? "yes (this host is itself a virtual machine)" : "no");
	max = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	printf("max vCPUs:        %d (recommended %d)\n", max,
	       ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS));
	printf("capabilities:\n");
	for (unsigned int i = 0; i < ARRAY_SIZE(caps); i++) {
		bool has = ioctl(fd, KVM_CHECK_EXTENSION, caps[i].cap) > 0;

		printf("  %-20s %-4s %s%s\n", caps[i].name, has ? "yes" : "no", caps[i].why,
		       caps[i].required ? " (required)" : "");
		if (!has && caps[i].required)
			missing++;
	}
	if (host_emulates_cpl0(&host))
		printf("note: guest kernels run very slowly here and some instructions cannot "
		       "be emulated;\n      petrel hides those through CPUID. Use a "
		       "hardware-assisted host for Linux guests.\n");
	close(fd);
	if (missing) {
		log_msg("%d required KVM capabilities missing", missing);
		return 1;
	}
	return 0;
}
