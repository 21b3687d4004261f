/* SPDX-License-Identifier: MIT */
/* The gdb stub's protocol engine against Debian's real gdb (no KVM): gdb
 * in batch mode talks to the engine over a unix socket, the target is the
 * fake of tests/unit/fake_gdb_target.h. Checks what gdb 13 makes of the
 * target description, the register file, threads, memory and the monitor
 * commands. Skipped without gdb. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_gdb_target.h"
#include "harness.h"

static struct fake_gdb fake;
static int conn = -1;

static int sock_send(void *t, const void *buf, size_t len)
{
	(void)t;
	return write(conn, buf, len) == (ssize_t)len ? 0 : -EIO;
}

static bool have_gdb(void)
{
	return access("/usr/bin/gdb", X_OK) == 0;
}

/* gdb's output for `cmds` (each one -ex), in out[cap]; the stub serves
 * until gdb leaves. Steps stop at once (the fake target does not run). */
static bool session(const char *const *cmds, char *out, size_t cap)
{
	char dir[] = "/tmp/petrel-gdb-real.XXXXXX", sock[64], log[64], target[96];
	struct gdb_target_ops ops = fake_gdb_ops;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	static struct gdb_stub s;
	const char *argv[64];
	int n = 0, l, status;
	pid_t pid;
	FILE *f;

	if (!mkdtemp(dir))
		return false;
	snprintf(sock, sizeof(sock), "%s/g.sock", dir);
	snprintf(log, sizeof(log), "%s/gdb.out", dir);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1))
		return false;
	argv[n++] = "gdb";
	argv[n++] = "-nx";
	argv[n++] = "-batch";
	argv[n++] = "-ex";
	argv[n++] = "set confirm off";
	argv[n++] = "-ex";
	snprintf(target, sizeof(target), "target remote %s", sock);
	argv[n++] = target;
	for (; *cmds && n < 60; cmds++) {
		argv[n++] = "-ex";
		argv[n++] = *cmds;
	}
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		alarm(30);
		execv("/usr/bin/gdb", (char *const *)argv);
		_exit(127);
	}
	if (pid < 0)
		return false;
	conn = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(l);
	ops.send = sock_send;
	gdb_stub_init(&s, &ops, &fake);
	for (;;) {
		struct pollfd p = { .fd = conn, .events = POLLIN };
		uint8_t buf[4096];
		ssize_t r;

		if (conn < 0 || poll(&p, 1, 30000) <= 0)
			break;
		r = read(conn, buf, sizeof(buf));
		if (r <= 0 || gdb_stub_input(&s, buf, (size_t)r))
			break;
		if (s.running && s.step_cpu >= 0)
			(void)gdb_stub_debug_exit(&s, (unsigned int)s.step_cpu, 1, 0, 1ull << 14);
	}
	if (conn >= 0)
		close(conn);
	waitpid(pid, &status, 0);
	f = fopen(log, "r");
	n = f ? (int)fread(out, 1, cap - 1, f) : 0;
	out[n > 0 ? n : 0] = 0;
	if (f)
		fclose(f);
	unlink(log);
	unlink(sock);
	rmdir(dir);
	return WIFEXITED(status);
}

static void fresh(void)
{
	uint64_t rip;

	memset(&fake, 0, sizeof(fake));
	rip = FAKE_GDB_BASE + 0x10;
	memcpy(fake.regs[0] + gdbx86_reg_offset(GDBX86_RIP), &rip, sizeof(rip));
	rip = FAKE_GDB_BASE + 0x20;
	memcpy(fake.regs[1] + gdbx86_reg_offset(GDBX86_RIP), &rip, sizeof(rip));
	memset(fake.mem, 0x90, 0x100); /* nops */
}

static char out[16384];

static void registers_threads_memory(void)
{
	static const char *const cmds[] = {
		"info threads",	    "p/x $rip",
		"thread 2",	    "p/x $rip",
		"thread 1",	    "p/x $cr3",
		"p/x $fs_base",	    "p $xmm1",
		"x/2xb 0x10010",    "set var *(int *)0x10000 = 42",
		"set var $rax = 7", "stepi",
		"detach",	    NULL,
	};

	fresh();
	if (!have_gdb())
		SKIP("no /usr/bin/gdb");
	REQUIRE(session(cmds, out, sizeof(out)));
	CHECK(strstr(out, "Thread 2") != NULL);
	CHECK(strstr(out, "$1 = 0x10010") != NULL);
	CHECK(strstr(out, "Switching to thread 2") && strstr(out, "$2 = 0x10020"));
	CHECK(strstr(out, "0x10010:\t0x90\t0x90") != NULL);
	CHECK(strstr(out, "v4_float = {0, 0, 0, 0}") != NULL); /* xmm as gdb shows its own */
	CHECK(strstr(out, "Remote 'g' packet reply") == NULL); /* no size complaint */
	CHECK(fake.mem[0] == 42 && fake.regs[0][0] == 7);
	CHECK(fake.detaches == 1);
}

static void monitor_through_gdb(void)
{
	static const char *const cmds[] = {
		"monitor help",
		"monitor info version",
		"monitor info cpus",
		"monitor gva2gpa 0x10010",
		"monitor bogus",
		"detach",
		NULL,
	};

	fresh();
	if (!have_gdb())
		SKIP("no /usr/bin/gdb");
	REQUIRE(session(cmds, out, sizeof(out)));
	CHECK(strstr(out, "petrel monitor commands:") != NULL);
	CHECK(strstr(out, "\npetrel ") != NULL);
	CHECK(strstr(out, "  CPU #1: thread 2 rip=0x0000000000010020") != NULL);
	CHECK(strstr(out, "gpa: 0x110010") != NULL);
	/* what the lx scripts' probe sees for a command the stub lacks */
	CHECK(strstr(out, "Protocol error with Rcmd") != NULL);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(registers_threads_memory);
	RUN(monitor_through_gdb);
	return harness_exit();
}
