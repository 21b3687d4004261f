/* SPDX-License-Identifier: MIT */
/* console_write_all: everything written, and a write blocked on a pipe
 * nobody reads gives up on a signal once the VM is stopping, not before. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "harness.h"

static void on_signal(int sig)
{
	(void)sig;
}

static void sleep_ms(long ms)
{
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

/* A pipe whose buffer is full: a blocking write to p[1] waits. */
static int pipe_full(int p[2])
{
	char junk[4096] = { 0 };
	int fl;

	if (pipe(p))
		return -1;
	fl = fcntl(p[1], F_GETFL);
	fcntl(p[1], F_SETFL, fl | O_NONBLOCK);
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	fcntl(p[1], F_SETFL, fl);
	return 0;
}

static void drain(int fd)
{
	char buf[4096];
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	fcntl(fd, F_SETFL, fl);
}

struct writer {
	int fd;
	atomic_bool stop;
	int ret;
};

static void *writer_run(void *arg)
{
	struct writer *w = arg;
	static const char msg[100] = "console";

	w->ret = console_write_all(w->fd, msg, sizeof(msg), &w->stop);
	return NULL;
}

static void console_writes_everything(void)
{
	static const char msg[] = "hello, console";
	char got[sizeof(msg)] = { 0 };
	atomic_bool stop = false;
	int p[2];

	REQUIRE(pipe(p) == 0);
	CHECK(console_write_all(p[1], msg, sizeof(msg), &stop) == 0);
	CHECK(read(p[0], got, sizeof(got)) == (ssize_t)sizeof(got));
	CHECK(memcmp(got, msg, sizeof(msg)) == 0);
	close(p[0]);
	CHECK(console_write_all(p[1], msg, sizeof(msg), &stop) == -EPIPE);
	close(p[1]);
}

static void console_blocked_write_stops(void)
{
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART */
	struct writer w = { .stop = false, .ret = 1 };
	pthread_t t;
	int p[2], i;

	sigemptyset(&sa.sa_mask);
	REQUIRE(sigaction(SIGUSR1, &sa, NULL) == 0);
	REQUIRE(pipe_full(p) == 0);
	w.fd = p[1];
	REQUIRE(pthread_create(&t, NULL, writer_run, &w) == 0);
	/* Signals while the VM runs: the write goes on waiting. */
	for (i = 0; i < 5; i++) {
		sleep_ms(20);
		pthread_kill(t, SIGUSR1);
	}
	sleep_ms(20);
	CHECK(pthread_tryjoin_np(t, NULL) == EBUSY);
	/* Stopping: the next signal ends it (resent, as vcpu_join_all does). */
	atomic_store(&w.stop, true);
	for (i = 0; i < 250 && pthread_tryjoin_np(t, NULL) == EBUSY; i++) {
		pthread_kill(t, SIGUSR1);
		sleep_ms(20);
	}
	CHECK(i < 250);
	if (i == 250) { /* free the writer before failing */
		drain(p[0]);
		pthread_join(t, NULL);
	}
	CHECK(w.ret == -EINTR);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(console_writes_everything);
	RUN(console_blocked_write_stops);
	return harness_exit();
}
