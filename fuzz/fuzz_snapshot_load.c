/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for everything a snapshot load checks before it builds
 * a VM (snapshot_load_open): the state file's container, then section
 * "config" (a whole --config-file document, judged by config_check) and
 * section "vm" against it and against the memory file's size.
 *
 * Input: one mode byte, then the state file. Mode bit 0 first rewrites the
 * file's last four bytes with its true CRC32C, so that inputs get past the
 * checksum into the sections; bit 1 makes the memory file 64 MiB instead
 * of 32. Both files are memfds, opened by their /proc/self/fd paths.
 *
 * A refusal: an error, exactly one line logged, the process's
 * configuration unchanged and nothing left open. An acceptance: the
 * configuration's vCPU count and RAM size are section "vm"'s, the RAM size
 * is the memory file's, the memory file is open until snapshot_load_close.
 * LeakSanitizer checks for leaks.
 *
 * Seeds in fuzz/corpus/snapshot_load/ (mode byte, then the file): a good
 * 1-vCPU, 32 MiB state (no vCPU or device sections, which need a VM) and
 * the hostile-snapshot corpus built from it (tests/unit/test_snapshot_api.c
 * hostile_corpus, README's restore-* bad-input rows): bad magic, bad
 * checksum, truncated, newer format, unknown flags, huge lengths and
 * counts, a section repeated, missing or unknown, newer section layouts,
 * vCPU count and RAM size disagreeing.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_equal.h"
#include "fuzz_log.h"
#include "le.h"
#include "snapshot/crc32c.h"
#include "snapshot/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm_config cfg, before;

static int memfd_of(const char *name, const uint8_t *p, size_t n, off_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n) || (size && ftruncate(fd, size)))
		abort();
	return fd;
}

/* Open file descriptors, to see that a refusal leaves none behind. */
static int open_fds(void)
{
	int fd = dup(0);

	if (fd < 0)
		abort();
	close(fd);
	return fd; /* the lowest free one */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char state_path[64], mem_path[64];
	struct snapshot_load_params p = { .state_path = state_path, .mem_path = mem_path };
	struct snapshot_load ld;
	struct fuzz_log log;
	uint8_t *file, mode;
	int sfd, mfd, free_fd, ret;
	struct stat st;

	if (size < 1)
		return 0;
	mode = data[0];
	size--;
	file = malloc(size ? size : 1);
	if (!file)
		abort();
	memcpy(file, data + 1, size);
	if ((mode & 1) && size >= 4)
		le_put(file + size - 4, crc32c(0, file, size - 4), 4);
	sfd = memfd_of("state", file, size, 0);
	mfd = memfd_of("mem", NULL, 0, (mode & 2) ? 64 << 20 : 32 << 20);
	snprintf(state_path, sizeof(state_path), "/proc/self/fd/%d", sfd);
	snprintf(mem_path, sizeof(mem_path), "/proc/self/fd/%d", mfd);
	config_init(&cfg);
	before = cfg;
	free_fd = open_fds();

	fuzz_log_begin(&log);
	ret = snapshot_load_open(&ld, &p, &cfg);
	fuzz_log_end(&log);
	if (ret) {
		if (ret > 0 || !fuzz_log_one_line(&log) || !config_equal(&cfg, &before) ||
		    open_fds() != free_fd) {
			fprintf(stderr, "refused (%d) with '%s'\n", ret, log.text);
			abort();
		}
	} else {
		if (!config_terminated(&cfg) || ld.mem_fd < 0 || fstat(ld.mem_fd, &st) ||
		    (uint64_t)st.st_size != cfg.mem_size || cfg.cpus < 1 || log.len)
			abort();
		snapshot_load_close(&ld);
		if (ld.mem_fd != -1 || open_fds() != free_fd)
			abort();
	}
	close(sfd);
	close(mfd);
	free(file);
	return 0;
}
