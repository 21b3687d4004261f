/* SPDX-License-Identifier: MIT */
/*
 * The Uffd memory backend's handshake (src/snapshot/uffd.c): the JSON
 * body byte for byte (Firecracker's GuestRegionUffdMapping as serde_json
 * writes it), and the handshake itself against a fake page server on a
 * socketpair that receives the userfaultfd and serves a fault through
 * it; then the one-line errors of a page server that is not there. No
 * KVM needed; userfaultfd is (skipped, with the reason, where the host
 * refuses it).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "mem.h"
#include "proc_fds.h"
#include "snapshot/uffd.h"

#define PAGE 4096

static void json_two_regions(void)
{
	struct gm gm = { 0 };
	char buf[UFFD_MSG_MAX];

	REQUIRE(gm_add_region(&gm, 0, 3u << 30, (void *)0x7f0000000000) == 0);
	REQUIRE(gm_add_region(&gm, 1ULL << 32, 1u << 30, (void *)0x7f00c0000000) == 0);
	CHECK(uffd_regions_json(&gm, buf, sizeof(buf)) == (int)strlen(buf));
	CHECK(!strcmp(buf, "[{\"base_host_virt_addr\":139637976727552,\"size\":3221225472,"
			   "\"offset\":0,\"page_size\":4096,\"page_size_kib\":4096},"
			   "{\"base_host_virt_addr\":139641197953024,\"size\":1073741824,"
			   "\"offset\":3221225472,\"page_size\":4096,\"page_size_kib\":4096}]"));
	/* One byte short of the text and its NUL: refused, not cut. */
	CHECK(uffd_regions_json(&gm, buf, strlen(buf)) == -ENOSPC);
}

static void json_one_region(void)
{
	struct gm gm = { 0 };
	char buf[UFFD_MSG_MAX];

	REQUIRE(gm_add_region(&gm, 0, 32u << 20, (void *)0x1000) == 0);
	CHECK(uffd_regions_json(&gm, buf, sizeof(buf)) > 0);
	CHECK(!strcmp(buf, "[{\"base_host_virt_addr\":4096,\"size\":33554432,\"offset\":0,"
			   "\"page_size\":4096,\"page_size_kib\":4096}]"));
}

/* A uffd, or a SKIP reason in *why. Where the host refuses one, its
 * line says what to change. */
static int uffd_or_skip(const char **why)
{
	static char reason[160];
	int fd, saved = log_set_stderr(open("/dev/null", O_WRONLY | O_CLOEXEC));
	char msg[300] = "";

	log_capture(msg, sizeof(msg));
	fd = uffd_create();
	log_capture(NULL, 0);
	close(log_set_stderr(saved));
	if (fd == -EPERM || fd == -EACCES)
		CHECK(strstr(msg, "(allow it: sysctl vm.unprivileged_userfaultfd=1, or read-write "
				  "access to /dev/userfaultfd for this user)"));
	if (fd < 0) {
		snprintf(reason, sizeof(reason),
			 "userfaultfd: %s (sysctl vm.unprivileged_userfaultfd=1 or "
			 "/dev/userfaultfd access would allow it)",
			 strerror(-fd));
		*why = reason;
	}
	return fd;
}

struct toucher {
	const volatile uint8_t *p;
	uint8_t seen;
};

static void *touch(void *arg)
{
	struct toucher *t = arg;

	t->seen = *t->p; /* faults: the fake server fills the page */
	return NULL;
}

/* The one message a page server gets: the uffd (SCM_RIGHTS) and the
 * regions; through that uffd it serves a fault in the second region. */
static void handshake_fake_server(void)
{
	char body[UFFD_MSG_MAX + 1], want[UFFD_MSG_MAX], ctl[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { body, UFFD_MSG_MAX };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)
	};
	struct uffd_backend b;
	struct gm gm = { 0 };
	const char *why = NULL;
	int sv[2], server_uffd = -1, fds_before;
	uint8_t *ram, page[PAGE];
	struct toucher t;
	struct uffd_msg m;
	struct cmsghdr *c;
	struct pollfd pfd;
	pthread_t th;
	ssize_t n;

	fds_before = proc_fds_count("anon_inode:[userfaultfd]", NULL);
	uffd_backend_init(&b);
	b.uffd = uffd_or_skip(&why);
	if (b.uffd < 0)
		SKIP(why);
	ram = mmap(NULL, 12 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(ram != MAP_FAILED);
	REQUIRE(gm_add_region(&gm, 0, 8 * PAGE, ram) == 0);
	REQUIRE(gm_add_region(&gm, 1ULL << 32, 4 * PAGE, ram + 8 * PAGE) == 0);
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	b.sock = sv[0];
	snprintf(b.path, sizeof(b.path), "socketpair");
	REQUIRE(uffd_backend_send(&b, &gm) == 0);
	/* The peer of a socketpair is this process: watched by a pidfd. */
	CHECK(b.pid == getpid() && b.pidfd >= 0);

	n = recvmsg(sv[1], &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	REQUIRE(n > 0 && !(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)));
	body[n] = 0;
	REQUIRE(uffd_regions_json(&gm, want, sizeof(want)) > 0);
	CHECK(!strcmp(body, want));
	c = CMSG_FIRSTHDR(&msg);
	REQUIRE(c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		c->cmsg_len == CMSG_LEN(sizeof(int)) && !CMSG_NXTHDR(&msg, c));
	memcpy(&server_uffd, CMSG_DATA(c), sizeof(int));
	/* Nothing more on the socket. */
	CHECK(recv(sv[1], body, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN);

	/* The regions are registered: a touch waits for the server. */
	t = (struct toucher){ .p = ram + 8 * PAGE + 2 * PAGE + 5 };
	REQUIRE(pthread_create(&th, NULL, touch, &t) == 0);
	pfd = (struct pollfd){ .fd = server_uffd, .events = POLLIN };
	CHECK(poll(&pfd, 1, 5000) == 1);
	CHECK(read(server_uffd, &m, sizeof(m)) == sizeof(m));
	CHECK(m.event == UFFD_EVENT_PAGEFAULT &&
	      (m.arg.pagefault.address & ~(uint64_t)(PAGE - 1)) ==
		  (uintptr_t)(ram + 8 * PAGE + 2 * PAGE));
	memset(page, 0xab, sizeof(page));
	{
		struct uffdio_copy cp = { .dst = (uintptr_t)(ram + 10 * PAGE),
					  .src = (uintptr_t)page,
					  .len = PAGE };

		CHECK(ioctl(server_uffd, UFFDIO_COPY, &cp) == 0);
	}
	pthread_join(th, NULL);
	CHECK(t.seen == 0xab);

	munmap(ram, 12 * PAGE);
	close(server_uffd);
	close(sv[1]);
	uffd_backend_close(&b);
	CHECK(b.uffd < 0 && b.sock < 0 && b.pidfd < 0);
	CHECK(proc_fds_count("anon_inode:[userfaultfd]", NULL) == fds_before);
}

/* uffd_backend_open's error for `path`: its return, the line in msg. */
static int open_error(const char *path, char *msg, size_t size)
{
	struct uffd_backend b;
	int saved = log_set_stderr(open("/dev/null", O_WRONLY | O_CLOEXEC)), err;

	msg[0] = 0;
	log_capture(msg, size);
	err = uffd_backend_open(&b, path);
	log_capture(NULL, 0);
	close(log_set_stderr(saved));
	if (!err)
		uffd_backend_close(&b);
	return err;
}

static void page_server_missing(void)
{
	char dir[] = "/tmp/petrel-uffd.XXXXXX", path[200], msg[300], want[300];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, before = proc_fds_count("anon_inode:[userfaultfd]", NULL);

	REQUIRE(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/none.sock", dir);
	CHECK(open_error(path, msg, sizeof(msg)) == -ENOENT);
	snprintf(want, sizeof(want), "page server '%s': No such file or directory", path);
	CHECK(!strcmp(msg, want));
	/* A socket file nobody listens on (its server died). */
	snprintf(path, sizeof(path), "%s/dead.sock", dir);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(fd);
	CHECK(open_error(path, msg, sizeof(msg)) == -ECONNREFUSED);
	snprintf(want, sizeof(want), "page server '%s': Connection refused (nothing listens on it)",
		 path);
	CHECK(!strcmp(msg, want));
	unlink(path);
	/* Not a socket at all. */
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	REQUIRE(fd >= 0);
	close(fd);
	CHECK(open_error(path, msg, sizeof(msg)) == -ECONNREFUSED);
	snprintf(want, sizeof(want), "page server '%s': not a unix socket", path);
	CHECK(!strcmp(msg, want));
	unlink(path);
	memset(path, 'a', 120);
	path[0] = '/';
	path[120] = 0;
	CHECK(open_error(path, msg, sizeof(msg)) == -ENAMETOOLONG &&
	      strstr(msg, "path longer than 107 bytes"));
	/* Nothing left open by the failures. */
	CHECK(proc_fds_count("anon_inode:[userfaultfd]", NULL) == before);
	rmdir(dir);
}

int main(void)
{
	/* A fault nobody serves would hang the test: it is killed instead. */
	alarm(120);
	RUN(json_two_regions);
	RUN(json_one_region);
	RUN(handshake_fake_server);
	RUN(page_server_missing);
	return harness_exit();
}
