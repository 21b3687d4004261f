// SPDX-License-Identifier: MIT
/*
 * boot_time: how long a VMM takes from exec to a line of guest console
 * output, the same way for every peer (no tracepoints needed, so it also
 * runs inside the emulated SVM test host). Runs CMD with stdout and stderr
 * on a pipe and stdin on /dev/null, reads until TEXT appears, prints the
 * microseconds from just before fork to that moment, then kills CMD.
 *
 *   boot_time TIMEOUT_S TEXT CMD [ARG...]
 *
 * Exit 0 and one number on stdout; 1 if TEXT never came (CMD's last output
 * is copied to stderr); 2 on bad usage. Built statically by bench/run.
 */
#define _GNU_SOURCE /* memmem */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	static char seen[1 << 16]; /* the tail of the output, searched for TEXT */
	size_t have = 0, want;
	double t0, deadline;
	int fds[2], status;
	pid_t pid;

	if (argc < 4) {
		fprintf(stderr, "usage: boot_time TIMEOUT_S TEXT CMD [ARG...]\n");
		return 2;
	}
	want = strlen(argv[2]);
	if (want == 0 || want >= sizeof(seen) / 2 || pipe(fds))
		return 2;
	t0 = now_us();
	deadline = t0 + atof(argv[1]) * 1e6;
	pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		if (!freopen("/dev/null", "r", stdin))
			_exit(127);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[3], argv + 3);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		double left = deadline - now_us();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)(left / 1000) + 1) <= 0)
			break;
		if (have > sizeof(seen) / 2) { /* keep the last half: TEXT may straddle */
			memmove(seen, seen + have - sizeof(seen) / 4, sizeof(seen) / 4);
			have = sizeof(seen) / 4;
		}
		n = read(fds[0], seen + have, sizeof(seen) - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		seen[have] = 0;
		if (memmem(seen, have, argv[2], want)) {
			printf("%.0f\n", now_us() - t0);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return 0;
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	fwrite(have > 2000 ? seen + have - 2000 : seen, 1, have > 2000 ? 2000 : have, stderr);
	fprintf(stderr, "\nboot_time: '%s' not seen\n", argv[2]);
	return 1;
}
