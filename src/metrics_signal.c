/* SPDX-License-Identifier: MIT */
#include "metrics_signal.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* siginfo's si_code for a seccomp trap (the kernel's asm-generic/siginfo.h;
 * glibc's headers do not all have it). */
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

static _Atomic uint64_t sig_count[METRICS_SIG_NR];
static _Atomic uint64_t seccomp_faults;
static atomic_int line_fd = -1;
static atomic_bool line_open;

static const char *const sig_name[METRICS_SIG_NR] = {
	[METRICS_SIG_HUP] = "sighup",
	[METRICS_SIG_INT] = "sigint",
	[METRICS_SIG_TERM] = "sigterm",
	[METRICS_SIG_PIPE] = "sigpipe",
};

void metrics_signal_count(enum metrics_sig s)
{
	if (s < METRICS_SIG_NR)
		atomic_fetch_add_explicit(&sig_count[s], 1, memory_order_relaxed);
}

uint64_t metrics_signal_get(enum metrics_sig s)
{
	return s < METRICS_SIG_NR ? atomic_load_explicit(&sig_count[s], memory_order_relaxed) : 0;
}

const char *metrics_signal_name(enum metrics_sig s)
{
	return s < METRICS_SIG_NR ? sig_name[s] : "?";
}

uint64_t metrics_seccomp_faults(void)
{
	return atomic_load(&seccomp_faults);
}

void metrics_signal_set_fd(int fd)
{
	atomic_store(&line_fd, fd);
}

void metrics_signal_line_open(bool open)
{
	atomic_store(&line_open, open);
}

/* Appending, async-signal-safe: `s`, or `v` in decimal. */
static size_t put_str(char *buf, size_t off, size_t size, const char *s)
{
	while (*s && off < size)
		buf[off++] = *s++;
	return off;
}

static size_t put_num(char *buf, size_t off, size_t size, uint64_t v)
{
	char d[24];
	unsigned int n = 0;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n && off < size)
		buf[off++] = d[--n];
	return off;
}

/* The last metrics line: the timestamp and the seccomp group (a gauge, as
 * Firecracker's num_faults; the other groups' changes since the last
 * flush are not known here). One write; none if a line is half written. */
static void metrics_last_line(void)
{
	int fd = atomic_load(&line_fd);
	struct timespec ts;
	char buf[128];
	size_t n;

	if (fd < 0 || atomic_load(&line_open))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = put_str(buf, 0, sizeof(buf), "{\"utc_timestamp_ms\":");
	n = put_num(buf, n, sizeof(buf),
		    (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
	n = put_str(buf, n, sizeof(buf), ",\"seccomp\":{\"num_faults\":");
	n = put_num(buf, n, sizeof(buf), atomic_load(&seccomp_faults));
	n = put_str(buf, n, sizeof(buf), "}}\n");
	if (write(fd, buf, n) < 0)
		return; /* nothing more to try: the process ends */
}

static void metrics_on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	const greg_t *r = ((const ucontext_t *)ctx)->uc_mcontext.gregs;
	char msg[160];
	size_t n;

	if (si->si_code != SYS_SECCOMP) {
		/* Someone sent SIGSYS: SA_RESETHAND made its action the default
		 * again, so this one, pending until we return, ends petrel. */
		raise(sig);
		return;
	}
	atomic_fetch_add(&seccomp_faults, 1);
	n = put_str(msg, 0, sizeof(msg) - 1, "seccomp: the ");
	n = put_str(msg, n, sizeof(msg) - 1, log_thread());
	n = put_str(msg, n, sizeof(msg) - 1, " thread made system call ");
	n = put_num(msg, n, sizeof(msg) - 1, (uint64_t)si->si_syscall);
	n = put_str(msg, n, sizeof(msg) - 1, ", which its filter forbids; stopping with SIGSYS");
	msg[n] = 0;
	log_signal_safe(msg);
	metrics_last_line();
	/* The same call, with the same arguments: the filter's verdict is the
	 * same, and with SIGSYS blocked (we are its handler) the kernel makes
	 * its action the default and delivers it, which kills the process. */
	syscall(si->si_syscall, r[REG_RDI], r[REG_RSI], r[REG_RDX], r[REG_R10], r[REG_R8],
		r[REG_R9]);
	raise(SIGSYS); /* not reached; if it were, the default action on return */
}

static void metrics_on_sigpipe(int sig)
{
	(void)sig;
	metrics_signal_count(METRICS_SIG_PIPE);
}

int metrics_signal_install(void)
{
	struct sigaction sys = { .sa_sigaction = metrics_on_sigsys,
				 .sa_flags = SA_SIGINFO | SA_RESETHAND };
	struct sigaction pipe = { .sa_handler = metrics_on_sigpipe, .sa_flags = SA_RESTART };

	sigemptyset(&sys.sa_mask);
	sigemptyset(&pipe.sa_mask);
	if (sigaction(SIGSYS, &sys, NULL) || sigaction(SIGPIPE, &pipe, NULL))
		return -errno;
	return 0;
}
