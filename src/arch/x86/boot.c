/* SPDX-License-Identifier: MIT */
#include "arch/x86/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/regs.h"
#include "petrel/platform.h"
#include "virtio/devices.h"
#include "vmm.h"

static const char *const default_params[] = { "console=ttyS0", "panic=-1" };

/* On a host whose KVM emulates guest CPL0 (PVM), leaf 1 of CPUID is
 * overridden by the host with what CPL3 can run natively, so hiding XSAVE
 * and POPCNT there has no effect; Linux is told directly not to use what
 * the emulator cannot execute at CPL0 (xrstor, popcnt, clac/stac). */
static const char *const emulated_host_params[] = { "noxsave", "clearcpuid=popcnt,smap" };

/* Does `cmdline` set the parameter `param` names ("console=ttyS0" names
 * "console=", "noxsave" names "noxsave")? */
static bool cmdline_has(const char *cmdline, const char *param)
{
	const char *eq = strchr(param, '=');
	size_t keylen = eq ? (size_t)(eq - param + 1) : strlen(param);

	for (const char *p = cmdline; p && *p;) {
		size_t word;

		p += strspn(p, " ");
		word = strcspn(p, " ");
		if (word >= keylen && !strncmp(p, param, keylen) && (eq || word == keylen))
			return true;
		p += word;
	}
	return false;
}

static void cmdline_append(char *s, const char *word)
{
	if (s[0])
		strcat(s, " ");
	strcat(s, word);
}

char *boot_cmdline(const char *user, bool emulated_host)
{
	const char *defaults[ARRAY_SIZE(default_params) + ARRAY_SIZE(emulated_host_params)];
	size_t n = 0, len = (user ? strlen(user) : 0) + 1;
	char *s;

	for (size_t i = 0; i < ARRAY_SIZE(default_params); i++)
		defaults[n++] = default_params[i];
	for (size_t i = 0; emulated_host && i < ARRAY_SIZE(emulated_host_params); i++)
		defaults[n++] = emulated_host_params[i];
	for (size_t i = 0; i < n; i++)
		len += strlen(defaults[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = 0;
	for (size_t i = 0; i < n; i++)
		if (!cmdline_has(user, defaults[i]))
			cmdline_append(s, defaults[i]);
	if (user && user[0])
		cmdline_append(s, user);
	return s;
}

/* Read a whole file, refusing anything larger than `limit` bytes. */
static int read_file(const char *what, const char *path, uint64_t limit, uint8_t **out,
		     size_t *size)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	/* O_NONBLOCK: opening a FIFO would otherwise wait for a writer, with
	 * SIGTERM already blocked for the event loop; the fstat below turns
	 * it away. Reads of a regular file ignore the flag. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), err;

	if (fd < 0) {
		err = -errno;
		log_msg("%s '%s': %s", what, path, strerror(-err));
		return err;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		log_msg("%s '%s': not a regular file", what, path);
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > limit) {
		log_msg("%s '%s': %lld bytes is larger than guest RAM (%llu MiB; use a larger "
			"--mem)",
			what, path, (long long)st.st_size, (unsigned long long)(limit >> 20));
		close(fd);
		return -EFBIG;
	}
	if (st.st_size == 0) {
		log_msg("%s '%s': empty file", what, path);
		close(fd);
		return -ENOEXEC;
	}
	buf = malloc((size_t)st.st_size);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			err = n < 0 ? -errno : -EIO;
			log_msg("%s '%s': read failed: %s", what, path,
				n < 0 ? strerror(errno) : "file shrank while reading");
			free(buf);
			close(fd);
			return err;
		}
		got += (size_t)n;
	}
	close(fd);
	*out = buf;
	*size = got;
	return 0;
}

int boot_load(const struct gm *gm, const struct boot_input *in, struct boot_entry *entry)
{
	if (bzimage_probe(in->kernel, in->kernel_size))
		return bzimage_load(gm, in, entry);
	if (elf_probe(in->kernel, in->kernel_size))
		return pvh_load(gm, in, entry);
	log_msg("kernel '%s': not a bzImage or ELF kernel (unknown format)", in->kernel_name);
	return -ENOEXEC;
}

/* The user's parameters, with what the configuration adds: hvc0 as the
 * console before them (so theirs win: the last console= names
 * /dev/console, and its console= keeps the ttyS0 default out), and the
 * root device after them, as Firecracker does (root=/dev/vda or
 * root=PARTUUID=..., then rw or ro; the root disk is the first virtio disk,
 * vda). malloc'd, or NULL on ENOMEM. */
static char *boot_user_params(const struct vm_config *cfg)
{
	const struct disk_config *root = NULL;
	char *s;
	int n;

	for (unsigned int i = 0; i < cfg->ndisks && !root; i++)
		if (cfg->disk[i].root)
			root = &cfg->disk[i];
	if (!root)
		n = asprintf(&s, "%s%s", cfg->virtio_console ? "console=hvc0 " : "",
			     cfg->boot.cmdline_set ? cfg->boot.cmdline : "");
	else
		n = asprintf(&s, "%s%s root=%s%s %s", cfg->virtio_console ? "console=hvc0 " : "",
			     cfg->boot.cmdline_set ? cfg->boot.cmdline : "",
			     root->partuuid[0] ? "PARTUUID=" : "/dev/vda", root->partuuid,
			     root->read_only ? "ro" : "rw");
	return n < 0 ? NULL : s;
}

int boot_vm(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct boot_input in = { .kernel_name = cfg->boot.kernel, .initrd_name = cfg->boot.initrd };
	struct boot_entry entry;
	uint8_t *kernel = NULL, *initrd = NULL;
	struct acpi_mmio_dev mmio_devs[PETREL_VIRTIO_MMIO_SLOTS];
	unsigned int nmmio;
	char *cmdline = NULL, *user = NULL;
	int err;

	err = read_file("kernel", cfg->boot.kernel, cfg->mem_size, &kernel, &in.kernel_size);
	if (!err && cfg->boot.initrd[0])
		err =
		    read_file("initrd", cfg->boot.initrd, cfg->mem_size, &initrd, &in.initrd_size);
	if (err)
		goto out;
	user = boot_user_params(cfg);
	cmdline = user ? boot_cmdline(user, vm->emulated_host) : NULL;
	if (!cmdline) {
		err = -ENOMEM;
		goto out;
	}
	in.kernel = kernel;
	in.initrd = initrd;
	in.cmdline = cmdline;
	nmmio = virtio_devices_acpi(vm, mmio_devs);
	err = acpi_install(&vm->gm, vm->ncpus, mmio_devs, nmmio, vm->cfg->stealth, &in.rsdp);
	if (err) {
		log_msg("ACPI tables do not fit below 1 MiB for %u vCPUs", vm->ncpus);
		goto out;
	}
	err = boot_load(&vm->gm, &in, &entry);
	if (err)
		goto out;
	err = regs_enter(&vm->vcpu[0], &entry);
	if (err)
		log_msg("setting the boot vCPU's registers: %s", strerror(-err));
out:
	free(user);
	free(cmdline);
	free(initrd);
	free(kernel);
	return err;
}
