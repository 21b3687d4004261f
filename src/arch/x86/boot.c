/* SPDX-License-Identifier: MIT */
#include "arch/x86/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/regs.h"
#include "vcpu.h"
#include "vmm.h"

static const char *const default_params[] = { "console=ttyS0", "panic=-1" };

/* Does the command line set parameter `key` (e.g. "console=")? */
static bool cmdline_has(const char *cmdline, const char *key, size_t keylen)
{
	for (const char *p = cmdline; p && *p;) {
		p += strspn(p, " ");
		if (!strncmp(p, key, keylen))
			return true;
		p += strcspn(p, " ");
	}
	return false;
}

char *boot_cmdline(const char *user)
{
	size_t len = (user ? strlen(user) : 0) + 1;
	char *s;

	for (unsigned int i = 0; i < ARRAY_SIZE(default_params); i++)
		len += strlen(default_params[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = 0;
	for (unsigned int i = 0; i < ARRAY_SIZE(default_params); i++) {
		const char *d = default_params[i];

		if (cmdline_has(user, d, (size_t)(strchr(d, '=') - d + 1)))
			continue;
		strcat(s, s[0] ? " " : "");
		strcat(s, d);
	}
	if (user && user[0]) {
		strcat(s, s[0] ? " " : "");
		strcat(s, user);
	}
	return s;
}

/* Read a whole file, refusing anything larger than `limit` bytes. */
static int read_file(const char *what, const char *path, uint64_t limit, uint8_t **out,
		     size_t *size)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

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

static int boot_load(struct vm *vm, struct boot_input *in, struct boot_entry *entry)
{
	if (bzimage_probe(in->kernel, in->kernel_size))
		return bzimage_load(&vm->gm, in, entry);
	if (elf_probe(in->kernel, in->kernel_size))
		return pvh_load(&vm->gm, in, entry);
	log_msg("kernel '%s': not a bzImage or ELF kernel (unknown format)", in->kernel_name);
	return -ENOEXEC;
}

int boot_vm(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct boot_input in = { .kernel_name = cfg->kernel, .initrd_name = cfg->initrd };
	struct boot_entry entry;
	uint8_t *kernel = NULL, *initrd = NULL;
	char *cmdline = NULL;
	int err;

	err = read_file("kernel", cfg->kernel, cfg->mem_size, &kernel, &in.kernel_size);
	if (!err && cfg->initrd)
		err = read_file("initrd", cfg->initrd, cfg->mem_size, &initrd, &in.initrd_size);
	if (err)
		goto out;
	cmdline = boot_cmdline(cfg->cmdline);
	if (!cmdline) {
		err = -ENOMEM;
		goto out;
	}
	in.kernel = kernel;
	in.initrd = initrd;
	in.cmdline = cmdline;
	err = acpi_install(&vm->gm, vm->ncpus, &in.rsdp);
	if (err) {
		log_msg("ACPI tables do not fit below 1 MiB for %u vCPUs", vm->ncpus);
		goto out;
	}
	err = boot_load(vm, &in, &entry);
	if (err)
		goto out;
	err = regs_enter(&vm->vcpu[0], &entry);
	if (err)
		log_msg("setting the boot vCPU's registers: %s", strerror(-err));
out:
	free(cmdline);
	free(initrd);
	free(kernel);
	return err;
}
