/* SPDX-License-Identifier: MIT */
#include "sandbox/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * The lists. One line per allowed syscall (or per allowed value of one
 * argument), each naming the code path that needs it after the filter is
 * on; setup-only syscalls (open, KVM_CREATE_*, io_uring_setup, bind...)
 * are absent on purpose. A syscall listed twice with different argument
 * checks is allowed when either matches.
 *
 * vCPU threads run more than KVM_RUN: an MMIO write to a virtio
 * transport runs the device there. DRIVER_OK looks at every queue once
 * (mmio_driver_ok -> the device's notify), status 0 resets the device,
 * and a kick whose ioeventfd could not be assigned is handled inline; so
 * each device backend's syscalls are on the vCPU list too.
 */
struct sandbox_rule {
	int nr;
	bool checked; /* arg must match, else any arguments */
	struct scmp_arg_cmp arg;
};

/* clang-format off */
#define ANY(name) { .nr = SCMP_SYS(name) }
#define ARG_EQ(name, i, v) \
	{ .nr = SCMP_SYS(name), .checked = true, \
	  .arg = { .arg = (i), .op = SCMP_CMP_EQ, .datum_a = (v) } }
/* The bits of `mask` in argument i are `v`. */
#define ARG_MASKED(name, i, mask, v) \
	{ .nr = SCMP_SYS(name), .checked = true, \
	  .arg = { .arg = (i), .op = SCMP_CMP_MASKED_EQ, .datum_a = (mask), .datum_b = (v) } }
/* clang-format on */
/* The kernel reads an ioctl request as 32 bits: compare those. */
#define IOCTL(req) ARG_MASKED(ioctl, 1, 0xffffffffULL, (req))

/* Every role: locks, the C library's own needs, a crash. */
static const struct sandbox_rule common_rules[] = {
	ANY(futex), /* pthread mutexes and condition variables (log, devices, blk pool) */
	ANY(write), /* log_msg to stderr; eventfd signals (irqfd, evloop_wake, blk done_fd) */
	/* madvise(MADV_DONTNEED) only: glibc frees a finished thread's
	 * stack and trims malloc heaps with it; balloon_release. */
	ARG_EQ(madvise, 2, MADV_DONTNEED),
	ANY(exit),	     /* a thread returning from its start function */
	ANY(rt_sigprocmask), /* glibc blocks signals around thread exit and pthread_kill */
	ANY(rt_sigreturn),   /* return from a signal handler (vCPU kick, crash, SIGPIPE) */
	ANY(getpid),	     /* pthread_kill / raise (tgkill needs the pid) */
	ANY(gettid),	     /* pthread_kill of the calling thread (vm_stop on a vCPU) */
	ANY(tgkill),	     /* vcpu_kick; raise() in console_crash_handler */
	/* console_crash_handler, console_destroy: tcsetattr restores the
	 * terminal (glibc reads it back with TCGETS before and after). */
	IOCTL(TCSETS),
	IOCTL(TCGETS),
	/* The vDSO reads the clock without a syscall only where the host's
	 * clocksource allows it from user mode (TSC, kvm-clock); with hpet or
	 * acpi_pm (seen in the emulated AMD-V test host) every clock_gettime
	 * is a syscall: the boot timer, hypercall TIME, API and log time
	 * stamps, metrics lines (metrics_on_sigsys on any thread), pthread
	 * timed waits, the sanitizers' allocator. */
	ANY(clock_gettime),
};

/* malloc and free: glibc's arenas grow with brk (main arena) or mmap,
 * and mprotect (thread arenas); large blocks are mmapped. Never
 * executable memory. Every role: devices allocate (vsock buffers, api
 * clients), and log_msg builds a line longer than 512 bytes (a long disk
 * path in blk_io_report) with vasprintf. */
static const struct sandbox_rule malloc_rules[] = {
	ANY(brk),
	ARG_MASKED(mmap, 2, PROT_EXEC, 0),
	ARG_MASKED(mprotect, 2, PROT_EXEC, 0),
	ANY(munmap),
};

/* What a virtio device backend does when the guest drives it: on the
 * event loop (doorbells, backend fds) and on vCPUs (see above). */
static const struct sandbox_rule device_rules[] = {
	ANY(read),	     /* eventfds (doorbells, vsock wake); console input */
	ANY(readv),	     /* net_rx: frames from the tap */
	ANY(writev),	     /* net_tx: frames to the tap */
	ANY(close),	     /* vsock_conn_close; vsock_uds_accept refusing one */
	ANY(epoll_ctl),	     /* evloop_mod/del (console, net); vsock connections */
	ANY(recvfrom),	     /* vsock_uds: recv() of the CONNECT line */
	ANY(sendto),	     /* vsock_uds_accepted: send() of the OK line */
	ANY(recvmsg),	     /* vsock_uds_recv: host -> guest stream */
	ANY(sendmsg),	     /* vsock_uds_send / flush: guest -> host stream */
	ANY(shutdown),	     /* vsock: guest shut down its sending side */
	ANY(connect),	     /* vsock_uds_connect: guest connects to a host port */
	ANY(io_uring_enter), /* blk_io_ring_flush / drain: the disk's ring */
	ANY(sched_yield),    /* blk_io_ring_drain waiting out the kernel */
	/* throttle_arm: a rate limiter's timer, armed by a kick (a vCPU's
	 * inline one too), disarmed by a reset or a new limit;
	 * virtio_balloon_set_stats_interval (PATCH /balloon/statistics). */
	ANY(timerfd_settime),
	/* vsock_uds_connect: a unix stream socket, nothing else. */
	ARG_MASKED(socket, 0, 0xffffffffULL, AF_UNIX),
	/* stream_connect (net_stream.c): a link connecting again, unix or
	 * TCP (one argument is checked: nonblocking stream sockets only), and
	 * TCP_NODELAY on it. */
	ARG_EQ(socket, 1, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC),
	ARG_EQ(setsockopt, 1, IPPROTO_TCP),
	/* passt_ended (net_passt.c): reaping the passt petrel started, once
	 * its stderr ended (it exited). */
	ANY(wait4),
	/* rng_notify: entropy for the guest. */
	ARG_EQ(getrandom, 2, GRND_NONBLOCK),
	/* KVM_SIGNAL_MSI: an I/O APIC pin raised outside an irqfd (COM1's and
	 * the i8042's interrupts, a level pin re-sent after its EOI). */
	IOCTL(KVM_SIGNAL_MSI),
};

static const struct sandbox_rule vcpu_rules[] = {
	IOCTL(KVM_RUN),		    /* vcpu_thread */
	IOCTL(KVM_GET_REGS),	    /* diag_dump; assist_complete */
	IOCTL(KVM_GET_SREGS),	    /* diag_dump; assist_complete */
	IOCTL(KVM_TRANSLATE),	    /* diag_code_bytes: instruction bytes at RIP */
	IOCTL(KVM_SET_REGS),	    /* assist_complete: RIP past int3 */
	IOCTL(KVM_GET_FPU),	    /* assist_complete: fwait's pending x87 exception */
	IOCTL(KVM_GET_VCPU_EVENTS), /* assist_complete: inject #BP / #MF */
	IOCTL(KVM_SET_VCPU_EVENTS), /* assist_complete */
	IOCTL(KVM_SET_GSI_ROUTING), /* machine_ioapic_routes: guest wrote a redirection entry */
	IOCTL(KVM_IOEVENTFD),	    /* mmio_ioeventfd: DRIVER_OK assigns, reset deassigns */
	IOCTL(TUNSETOFFLOAD),	    /* net_activate: offloads the driver accepted */
};

static const struct sandbox_rule vmm_rules[] = {
	ANY(epoll_wait), /* evloop_run; vsock_poll drains its inner epoll */
	ANY(accept4),	 /* vsock_uds_accept (from vsock_poll): host connects in */
	ANY(unlink),	 /* api_server_stop, vsock_uds_unlisten: remove our socket files */
	ANY(exit_group), /* main returns */
	ANY(poll),	 /* blk_pause: waiting for the disk's requests in flight */
	/* virtio_fs_daemon_stop (fs_destroy): the virtiofsd petrel started. */
	ARG_EQ(kill, 1, SIGTERM),
	ANY(wait4),
	IOCTL(KVM_GET_CLOCK), /* vm_pause: the guest's kvm-clock stands still */
	IOCTL(KVM_SET_CLOCK), /* vm_resume */
	/* Dirty-page tracking (dirty.c) of a running VM: vm_dirty_collect
	 * (a diff snapshot, a migration's rounds); vm_dirty_start / stop set
	 * and clear the memslots' log flag. */
	IOCTL(KVM_GET_DIRTY_LOG),
	IOCTL(KVM_SET_USER_MEMORY_REGION),
	/* PATCH /drives path_on_host, a media change (the only file petrel
	 * opens after boot; Firecracker's VMM thread opens it too; in a jail
	 * only the jail's files are there): config_check_disk_files stats
	 * every disk, blk_io_open_backing opens the new one read-only or
	 * read-write (never creating or truncating), probes it (fstat; a
	 * file: can it punch holes; a block device: size, block size, sysfs
	 * through fopen and fscanf) and clears O_NONBLOCK; blk_io_reopen
	 * puts it in the ring's fixed file slot. */
	ARG_EQ(openat, 2, O_RDONLY | O_CLOEXEC | O_NONBLOCK),
	ARG_EQ(openat, 2, O_RDWR | O_CLOEXEC | O_NONBLOCK),
	ARG_EQ(openat, 2, O_RDONLY | O_CLOEXEC),
	ANY(newfstatat),
	ARG_EQ(fallocate, 1, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE),
	IOCTL(BLKGETSIZE64),
	IOCTL(BLKSSZGET),
	ARG_EQ(fcntl, 1, F_GETFL),
	ARG_EQ(fcntl, 1, F_SETFL),
	ARG_EQ(io_uring_register, 1, IORING_REGISTER_FILES_UPDATE),
	/* PUT /snapshot/create (snapshot_create): each file is created next
	 * to its name by mkostemp (these flags; its name from getrandom),
	 * the memory file sized and written in runs, both renamed over their
	 * names once whole (a failure unlinks them). */
	ARG_EQ(openat, 2, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC),
	ANY(ftruncate),
	ANY(pwrite64),
	ANY(rename),
	/* A diff's memory file (memfile_write): its file system's block size,
	 * and whether it kept the holes (SEEK_HOLE). */
	ANY(fstatfs),
	ANY(lseek),
	/* ... and the vCPUs' state, read while they are parked
	 * (vcpu_state_probe, vcpu_state_snapshot). */
	IOCTL(KVM_CHECK_EXTENSION),
	IOCTL(KVM_GET_MSR_INDEX_LIST),
	IOCTL(KVM_GET_MSR_FEATURE_INDEX_LIST),
	IOCTL(KVM_GET_REGS),
	IOCTL(KVM_GET_SREGS),
	IOCTL(KVM_GET_XSAVE2),
	IOCTL(KVM_GET_XSAVE),
	IOCTL(KVM_GET_FPU),
	IOCTL(KVM_GET_XCRS),
	IOCTL(KVM_GET_MSRS),
	IOCTL(KVM_GET_LAPIC),
	IOCTL(KVM_GET_VCPU_EVENTS),
	IOCTL(KVM_GET_MP_STATE),
	IOCTL(KVM_GET_DEBUGREGS),
};

/* The REST API's thread: its sockets and the hand-over to the VMM thread;
 * no file system, no KVM. */
static const struct sandbox_rule api_rules[] = {
	ANY(epoll_wait), /* api_thread */
	ANY(epoll_ctl),	 /* conn_watch, conn_close, accept_all */
	ANY(accept4),	 /* accept_all */
	ANY(read),	 /* conn_read; on_done's eventfd */
	ANY(sendto),	 /* conn_write; the 503 of accept_all */
	ANY(close),	 /* conn_close; accept_all refusing one */
};

/* A live migration's sender thread (migrate/send.c): its one connection
 * to the target, guest RAM read through its mapping; no file system. */
static const struct sandbox_rule migrate_rules[] = {
	/* mig_connect: a unix or TCP stream socket, nothing else. */
	ARG_MASKED(socket, 0, 0xffffffffULL, AF_UNIX),
	ARG_MASKED(socket, 0, 0xffffffffULL, AF_INET),
	ARG_MASKED(socket, 0, 0xffffffffULL, AF_INET6),
	ANY(connect),			    /* mig_connect */
	ARG_EQ(setsockopt, 2, SO_SNDTIMEO), /* migrate: the send timeout */
	ANY(sendmsg),			    /* mig_send, send_run: records */
	ANY(recvfrom),			    /* mig_read: the target's answers */
	ANY(poll),			    /* mig_read: its timeout */
	ANY(close),			    /* the connection, when done */
	IOCTL(KVM_GET_DIRTY_LOG),	    /* vm_dirty_collect: each round's pages */
};

static const struct sandbox_rule blk_io_rules[] = {
	ANY(preadv),	/* blk_io_xfer: READ */
	ANY(pwritev),	/* blk_io_xfer: WRITE; blk_io_write_zeroes */
	ANY(fdatasync), /* blk_io_execute: FLUSH */
	/* blk_io_discard / blk_io_zero on a file: these two modes only. */
	ARG_EQ(fallocate, 1, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE),
	ARG_EQ(fallocate, 1, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE),
	IOCTL(BLKDISCARD), /* blk_io_discard on a block device */
	IOCTL(BLKZEROOUT), /* blk_io_zero on a block device */
};

#ifdef PETREL_SANITIZE
/* Sanitizer builds only: what the ASan/UBSan/LSan runtimes do on any
 * thread. Found with the filters' default action set to log, over the
 * guest suite and a deliberate heap overflow on a vCPU. */
static const struct sandbox_rule sanitizer_rules[] = {
	ANY(madvise), /* allocator: MADV_DONTDUMP, MADV_NOHUGEPAGE on its regions */
	ARG_MASKED(mmap, 2, PROT_EXEC, 0), /* allocator, in every thread */
	ANY(munmap),			   /* allocator */
	ANY(sigaltstack),		   /* per-thread alternate stack for its SEGV handler */
	ANY(rt_sigaction),		   /* LSan's helper sets up its handlers */
	/* A report: symbolizing reads /proc/self/maps and the binaries. */
	ANY(open),
	ANY(openat),
	ANY(newfstatat),
	ANY(readlink),
	ANY(fcntl),
	ANY(pipe2),
	ANY(lseek),
	/* LeakSanitizer's check at exit: a helper thread (clone) ptraces
	 * every thread, lists /proc/self/task, and is waited for. */
	ANY(clone),
	ANY(ptrace),
	ANY(prctl),
	ANY(getppid),
	ANY(getdents),
	ANY(wait4),
	ANY(exit_group),
};
#endif

struct sandbox_list {
	const struct sandbox_rule *rule;
	size_t n;
};

/* clang-format off */
#define LIST(a) { (a), ARRAY_SIZE(a) }
/* clang-format on */

/* Which lists make up each role. */
static const struct sandbox_list role_lists[SANDBOX_NROLES][4] = {
	[SANDBOX_VMM] = { LIST(common_rules), LIST(malloc_rules), LIST(device_rules),
			  LIST(vmm_rules) },
	[SANDBOX_VCPU] = { LIST(common_rules), LIST(malloc_rules), LIST(device_rules),
			   LIST(vcpu_rules) },
	[SANDBOX_BLK_IO] = { LIST(common_rules), LIST(malloc_rules), LIST(blk_io_rules) },
	[SANDBOX_API] = { LIST(common_rules), LIST(malloc_rules), LIST(api_rules) },
	[SANDBOX_MIGRATE] = { LIST(common_rules), LIST(malloc_rules), LIST(migrate_rules) },
};

static const char *const role_name[SANDBOX_NROLES] = {
	[SANDBOX_VMM] = "vmm", [SANDBOX_VCPU] = "vcpu",	      [SANDBOX_BLK_IO] = "blk-io",
	[SANDBOX_API] = "api", [SANDBOX_MIGRATE] = "migrate",
};

const char *sandbox_role_name(enum sandbox_role role)
{
	return role < SANDBOX_NROLES ? role_name[role] : "?";
}

static int sandbox_add(scmp_filter_ctx ctx, const struct sandbox_rule *r)
{
	return seccomp_rule_add_exact_array(ctx, SCMP_ACT_ALLOW, r->nr, r->checked ? 1 : 0,
					    r->checked ? &r->arg : NULL);
}

/* The rules of role (and the sanitizer's) into ctx; the number of
 * distinct syscalls in *n. */
static int sandbox_add_role(scmp_filter_ctx ctx, enum sandbox_role role, unsigned int *n)
{
	int seen[128];
	unsigned int nseen = 0;

	for (unsigned int l = 0; l < ARRAY_SIZE(role_lists[role]); l++) {
		const struct sandbox_list *list = &role_lists[role][l];

		for (size_t i = 0; i < list->n; i++) {
			int err = sandbox_add(ctx, &list->rule[i]);
			bool dup = false;

			if (err)
				return err;
			for (unsigned int j = 0; j < nseen; j++)
				dup |= seen[j] == list->rule[i].nr;
			if (!dup && nseen < ARRAY_SIZE(seen))
				seen[nseen++] = list->rule[i].nr;
		}
	}
	*n = nseen;
#ifdef PETREL_SANITIZE
	for (size_t i = 0; i < ARRAY_SIZE(sanitizer_rules); i++) {
		int err = sandbox_add(ctx, &sanitizer_rules[i]);

		/* -EEXIST: a rule the role has already, with other arguments */
		if (err && err != -EEXIST)
			return err;
	}
#endif
	return 0;
}

/* libseccomp writes the program to an fd: a memfd, read back, so that
 * installing it later is one syscall with nothing to allocate. */
static int sandbox_export(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	int fd = memfd_create("petrel-seccomp", MFD_CLOEXEC), err;
	struct stat st;
	void *insns;

	if (fd < 0)
		return -errno;
	err = seccomp_export_bpf(ctx, fd);
	if (!err && fstat(fd, &st))
		err = -errno;
	if (!err && (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
		     st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS))
		err = -E2BIG;
	if (err)
		goto out;
	insns = malloc((size_t)st.st_size);
	if (!insns) {
		err = -ENOMEM;
		goto out;
	}
	if (pread(fd, insns, (size_t)st.st_size, 0) != st.st_size) {
		err = -EIO;
		free(insns);
		goto out;
	}
	prog->filter = insns;
	prog->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
out:
	close(fd);
	return err;
}

int sandbox_build(struct sandbox_filter *f, enum sandbox_role role, bool enabled)
{
	const char *violate = getenv("PETREL_TEST_SECCOMP_VIOLATION");
	scmp_filter_ctx ctx;
	int err;

	*f = (struct sandbox_filter){ .role = role };
	f->violate = violate && !strcmp(violate, sandbox_role_name(role));
	if (!enabled)
		return 0;
	/* Trapped, not killed at once: metrics_on_sigsys counts and reports
	 * it, then lets the kernel kill petrel (metrics_signal.h). */
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx) {
		log_msg("seccomp: cannot create a filter");
		return -ENOMEM;
	}
	/* A syscall of another ABI (i386 int 0x80, x32) is no way around;
	 * killed outright (the handler would repeat it as an x86-64 call). */
	err = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (!err)
		err = sandbox_add_role(ctx, role, &f->nsyscalls);
	if (!err)
		err = sandbox_export(ctx, &f->prog);
	seccomp_release(ctx);
	if (err)
		log_msg("seccomp: %s filter: %s", sandbox_role_name(role), strerror(-err));
	return err;
}

void sandbox_free(struct sandbox_filter *f)
{
	free(f->prog.filter);
	f->prog = (struct sock_fprog){ 0 };
}

/* The test hook: a syscall no role allows, with arguments that would be
 * harmless if it were allowed. */
static void sandbox_violate(enum sandbox_role role)
{
	int fd;

	log_msg("PETREL_TEST_SECCOMP_VIOLATION: the %s thread calls socket(AF_INET)",
		sandbox_role_name(role));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		close(fd);
}

int sandbox_install(const struct sandbox_filter *f)
{
	if (f->prog.len) {
		/* Without no_new_privs, installing a filter needs CAP_SYS_ADMIN. */
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			return -errno;
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &f->prog))
			return -errno;
	}
	if (f->violate)
		sandbox_violate(f->role);
	return 0;
}
