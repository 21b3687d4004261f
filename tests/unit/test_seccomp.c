/* SPDX-License-Identifier: MIT */
/*
 * The seccomp filters (src/sandbox/seccomp.c): each role's filter builds,
 * and installed in a forked child it lets the role's syscalls through and
 * kills the process (SIGSYS) on one outside the list or with a forbidden
 * argument. The number of syscalls each role allows is printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "sandbox/seccomp.h"

/* Run setup (if any), then fn under role's filter, in a child; the
 * child's wait status. The child ends with the exit syscall (every role
 * allows it), status 0 if setup and fn return true. */
static int run_filtered(enum sandbox_role role, bool (*setup)(void), bool (*fn)(void))
{
	struct sandbox_filter f;
	int status = -1;
	pid_t pid;

	if (sandbox_build(&f, role, true))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		bool ok = (!setup || setup()) && sandbox_install(&f) == 0 && fn();

		syscall(SYS_exit, ok ? 0 : 1);
	}
	sandbox_free(&f);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static bool killed_by_sigsys(int status)
{
	return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

static bool exited_ok(int status)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void seccomp_builds(void)
{
	for (unsigned int r = 0; r < SANDBOX_NROLES; r++) {
		struct sandbox_filter f;

		REQUIRE(sandbox_build(&f, (enum sandbox_role)r, true) == 0);
		CHECK(f.prog.len > 0 && f.prog.filter && f.nsyscalls > 0 && !f.violate);
		printf("# %s: %u syscalls allowed, %u BPF instructions\n",
		       sandbox_role_name((enum sandbox_role)r), f.nsyscalls, f.prog.len);
		sandbox_free(&f);
		REQUIRE(sandbox_build(&f, (enum sandbox_role)r, false) == 0);
		CHECK(f.prog.len == 0 && !f.prog.filter);
	}
}

/* Opened by the child before its filter goes on. */
static int status_fd = -1, pipe_fd[2] = { -1, -1 };

static bool open_fds(void)
{
	status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	return status_fd >= 0 && pipe(pipe_fd) == 0;
}

/* Under the vcpu filter: eventfd-style traffic (write, read, close) goes
 * through, and the kernel reports the thread in filter mode. */
static bool vcpu_allowed(void)
{
	char buf[4096], c = 'x';
	ssize_t n = read(status_fd, buf, sizeof(buf) - 1);

	if (n <= 0)
		return false;
	buf[n] = 0;
	return strstr(buf, "\nSeccomp:\t2\n") && write(pipe_fd[1], &c, 1) == 1 &&
	       read(pipe_fd[0], &c, 1) == 1 && close(pipe_fd[0]) == 0;
}

static void seccomp_status_filter(void)
{
	CHECK(exited_ok(run_filtered(SANDBOX_VCPU, open_fds, vcpu_allowed)));
}

static bool call_socket_inet(void)
{
	socket(AF_INET, SOCK_STREAM, 0);
	return true;
}

static bool call_socket_unix(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	return fd >= 0 && close(fd) == 0;
}

static bool call_kvm_create_vm(void)
{
	ioctl(-1, KVM_CREATE_VM, 0);
	return true;
}

static bool call_kvm_run(void)
{
	/* EBADF from the kernel: the filter let it through. */
	return ioctl(-1, KVM_RUN, 0) < 0 && errno == EBADF;
}

static bool call_dirty_log(void)
{
	return ioctl(-1, KVM_GET_DIRTY_LOG, 0) < 0 && errno == EBADF;
}

static bool call_mmap_exec(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return true;
}

static bool call_mmap_rw(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p != MAP_FAILED && munmap(p, 4096) == 0;
}

static bool call_pwritev(void)
{
	/* EBADF: allowed through. */
	return pwritev(-1, NULL, 0, 0) < 0 && errno == EBADF;
}

/* A block worker's discard and write zeroes on a file (blk_io_discard,
 * blk_io_zero): the two fallocate modes it uses go through. */
static int disk_fd = -1;

static bool open_disk(void)
{
	char path[] = "/tmp/petrel-test-seccomp.XXXXXX";

	disk_fd = mkstemp(path);
	if (disk_fd < 0)
		return false;
	unlink(path);
	return ftruncate(disk_fd, 1 << 20) == 0;
}

static bool call_fallocate_modes(void)
{
	int punch = fallocate(disk_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096);
	int zero = fallocate(disk_fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 4096, 4096);

	/* Only the filter is under test: a file system without either
	 * mode says EOPNOTSUPP. */
	return (punch == 0 || errno == EOPNOTSUPP) && (zero == 0 || errno == EOPNOTSUPP) &&
	       fdatasync(disk_fd) == 0;
}

static bool call_fallocate_collapse(void)
{
	fallocate(-1, 0x08 /* FALLOC_FL_COLLAPSE_RANGE */, 0, 4096);
	return true;
}

#ifndef PETREL_SANITIZE /* the sanitizer runtimes need these */
static bool call_getppid(void)
{
	syscall(SYS_getppid);
	return true;
}

static bool call_madvise_willneed(void)
{
	static char page[4096] __attribute__((aligned(4096)));

	madvise(page, sizeof(page), MADV_WILLNEED);
	return true;
}

#endif

static void seccomp_kills(void)
{
	/* Off the list for every role. */
	for (unsigned int r = 0; r < SANDBOX_NROLES; r++) {
		/* (but a migration's sender connects over TCP) */
		if (r != SANDBOX_MIGRATE)
			CHECK(killed_by_sigsys(
			    run_filtered((enum sandbox_role)r, NULL, call_socket_inet)));
		CHECK(
		    killed_by_sigsys(run_filtered((enum sandbox_role)r, NULL, call_kvm_create_vm)));
		CHECK(killed_by_sigsys(run_filtered((enum sandbox_role)r, NULL, call_mmap_exec)));
	}
#ifndef PETREL_SANITIZE /* the sanitizer runtimes need these */
	CHECK(killed_by_sigsys(run_filtered(SANDBOX_VCPU, NULL, call_getppid)));
	CHECK(killed_by_sigsys(run_filtered(SANDBOX_VMM, NULL, call_madvise_willneed)));
#endif
	/* Arguments: a unix socket is fine for vmm; KVM_RUN only for vcpu. */
	CHECK(exited_ok(run_filtered(SANDBOX_VMM, NULL, call_socket_unix)));
	CHECK(exited_ok(run_filtered(SANDBOX_VCPU, NULL, call_kvm_run)));
	CHECK(killed_by_sigsys(run_filtered(SANDBOX_VMM, NULL, call_kvm_run)));
	CHECK(killed_by_sigsys(run_filtered(SANDBOX_BLK_IO, NULL, call_socket_unix)));
	CHECK(exited_ok(run_filtered(SANDBOX_MIGRATE, NULL, call_socket_inet)));
	CHECK(exited_ok(run_filtered(SANDBOX_MIGRATE, NULL, call_dirty_log)));
	CHECK(killed_by_sigsys(run_filtered(SANDBOX_MIGRATE, NULL, call_kvm_run)));
	CHECK(killed_by_sigsys(run_filtered(SANDBOX_MIGRATE, NULL, call_pwritev)));
	CHECK(exited_ok(run_filtered(SANDBOX_VMM, NULL, call_mmap_rw)));
	CHECK(exited_ok(run_filtered(SANDBOX_BLK_IO, NULL, call_pwritev)));
	CHECK(killed_by_sigsys(run_filtered(SANDBOX_VCPU, NULL, call_pwritev)));
	CHECK(killed_by_sigsys(run_filtered(SANDBOX_BLK_IO, NULL, call_fallocate_collapse)));
	CHECK(exited_ok(run_filtered(SANDBOX_BLK_IO, open_disk, call_fallocate_modes)));
}

int main(void)
{
	RUN(seccomp_builds);
	RUN(seccomp_status_filter);
	RUN(seccomp_kills);
	return harness_exit();
}
