/* SPDX-License-Identifier: MIT */
/*
 * petrel-pager (tools/pager), the page server built beside petrel, run as
 * a process against this test acting as the VMM with petrel's own
 * handshake (src/snapshot/uffd.c): pages come from the memory file (data
 * copied, zeros as zero pages), a removed page comes back as zeros, and
 * the pager exits 0 with one line when the VMM goes away. Then hostile
 * handshakes and a fault outside the regions: status 1 and one line each.
 * No KVM needed; userfaultfd is (skipped, with the reason, without it).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "mem.h"
#include "snapshot/uffd.h"

#define PAGE 4096
#define FILE_PAGES 16

static char dir[] = "/tmp/petrel-pager.XXXXXX", sock[200], memfile[200], pager[PATH_MAX];

struct pager_run {
	pid_t pid;
	int err_fd; /* its stderr */
};

/* The memory file: page 0 'A', page 2 'B', page 9 'C', the rest holes. */
static bool write_memfile(void)
{
	static const struct {
		unsigned int page;
		char c;
	} data[] = { { 0, 'A' }, { 2, 'B' }, { 9, 'C' } };
	char buf[PAGE];
	int fd = open(memfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	bool ok = fd >= 0 && !ftruncate(fd, FILE_PAGES * PAGE);

	for (unsigned int i = 0; ok && i < sizeof(data) / sizeof(data[0]); i++) {
		memset(buf, data[i].c, sizeof(buf));
		ok = pwrite(fd, buf, PAGE, (off_t)data[i].page * PAGE) == PAGE;
	}
	if (fd >= 0)
		close(fd);
	return ok;
}

/* petrel-pager SOCK MEMFILE, its stderr in a pipe; waits for the socket. */
static bool pager_start(struct pager_run *r)
{
	char *argv[] = { pager, sock, memfile, NULL };
	posix_spawn_file_actions_t fa;
	int pfd[2];
	struct stat st;

	if (pipe2(pfd, O_CLOEXEC))
		return false;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	if (posix_spawn(&r->pid, pager, &fa, NULL, argv, NULL)) {
		posix_spawn_file_actions_destroy(&fa);
		return false;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	r->err_fd = pfd[0];
	for (int i = 0; i < 500; i++) {
		if (!stat(sock, &st) && S_ISSOCK(st.st_mode))
			return true;
		usleep(10000);
	}
	return false;
}

/* Connect to the pager: its socket file exists from its bind(), a
 * moment before its listen(): until then connections are refused. A
 * connected socket, or -1. */
static int pager_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	for (int i = 0; s >= 0 && i < 500; i++) {
		if (!connect(s, (struct sockaddr *)&sa, sizeof(sa)))
			return s;
		if (errno != ECONNREFUSED)
			break;
		usleep(10000);
	}
	if (s >= 0)
		close(s);
	return -1;
}

/* Its exit status, and its stderr in out. */
static int pager_wait(struct pager_run *r, char *out, size_t size)
{
	int status = -1;
	ssize_t n;
	size_t len = 0;

	waitpid(r->pid, &status, 0);
	while (len + 1 < size && (n = read(r->err_fd, out + len, size - len - 1)) > 0)
		len += (size_t)n;
	out[len] = 0;
	close(r->err_fd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *skip_reason(void)
{
	static char why[200];
	int saved = log_set_stderr(open("/dev/null", O_WRONLY | O_CLOEXEC));
	int fd = uffd_create();

	close(log_set_stderr(saved));
	if (fd >= 0) {
		close(fd);
		return access(pager, X_OK) ? "no petrel-pager beside the tests" : NULL;
	}
	snprintf(why, sizeof(why), "userfaultfd: %s (vm.unprivileged_userfaultfd=0?)",
		 strerror(-fd));
	return why;
}

/* uffd_backend_open on the pager's socket, once it listens (see
 * pager_connect); the pager is killed if it cannot be reached. */
static int backend_open(struct uffd_backend *b, struct pager_run *r)
{
	int saved = log_set_stderr(open("/dev/null", O_WRONLY | O_CLOEXEC)), err = -1;

	for (int i = 0; i < 500; i++) {
		err = uffd_backend_open(b, sock);
		if (err != -ECONNREFUSED)
			break;
		usleep(10000);
	}
	close(log_set_stderr(saved));
	if (err)
		kill(r->pid, SIGKILL);
	return err;
}

/* Guest RAM as petrel lays it out: two regions, 8 pages each, at two
 * places, the memory file's two halves. */
static void serves_pages(void)
{
	const char *why = skip_reason();
	struct uffd_backend b;
	struct pager_run r;
	struct gm gm = { 0 };
	uint8_t *lo, *hi;
	char err[512];

	if (why)
		SKIP(why);
	REQUIRE(write_memfile() && pager_start(&r));
	lo = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	hi = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(lo != MAP_FAILED && hi != MAP_FAILED);
	REQUIRE(gm_add_region(&gm, 0, 8 * PAGE, lo) == 0);
	REQUIRE(gm_add_region(&gm, 1ULL << 32, 8 * PAGE, hi) == 0);
	REQUIRE(backend_open(&b, &r) == 0);
	REQUIRE(uffd_backend_send(&b, &gm) == 0);
	CHECK(b.pid == r.pid);
	CHECK(lo[5] == 'A' && lo[PAGE - 1] == 'A'); /* copied */
	CHECK(lo[PAGE + 7] == 0);		    /* a hole: a zero page */
	lo[2 * PAGE] = 'x';			    /* a write fault: copied, then written */
	CHECK(lo[2 * PAGE] == 'x' && lo[2 * PAGE + 1] == 'B');
	CHECK(hi[PAGE + 3] == 'C'); /* the second region: offset 8 pages */
	/* Given back (a balloon's MADV_DONTNEED): it comes back as zeros,
	 * not as the file's 'A'. */
	CHECK(madvise(lo, PAGE, MADV_DONTNEED) == 0);
	CHECK(lo[9] == 0);
	munmap(lo, 8 * PAGE);
	munmap(hi, 8 * PAGE);
	uffd_backend_close(&b);
	CHECK(pager_wait(&r, err, sizeof(err)) == 0);
	CHECK(!strcmp(err, "petrel-pager: the VMM went away: 3 pages copied, 2 zero pages\n"));
	CHECK(access(sock, F_OK) && errno == ENOENT); /* it took its socket away */
}

/* One handshake of `body` (NULL: hang up without one) with `fd` (-1:
 * none): the pager's status and its one line. */
static int handshake_with(const char *body, int fd, char *err, size_t size)
{
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)body, body ? strlen(body) : 0 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct pager_run r;
	int s;

	if (!pager_start(&r))
		return -1;
	s = pager_connect();
	if (s < 0) {
		kill(r.pid, SIGKILL); /* never a wait for a pager nobody reached */
		return -1;
	}
	if (body) {
		if (fd >= 0) {
			struct cmsghdr *c;

			msg.msg_control = ctl;
			msg.msg_controllen = sizeof(ctl);
			c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(int));
		}
		(void)sendmsg(s, &msg, MSG_NOSIGNAL);
	}
	close(s);
	return pager_wait(&r, err, size);
}

#define REGION(base, size, off, ps)                                                                \
	"{\"base_host_virt_addr\":" base ",\"size\":" size ",\"offset\":" off ",\"page_size\":" ps \
	",\"page_size_kib\":" ps "}"

static void hostile_handshakes(void)
{
	static const struct {
		const char *name, *body; /* body NULL: hang up */
		int fd;			 /* 0: a uffd, 1: /dev/null, -1: none */
		const char *want;	 /* its line, less "petrel-pager: " */
	} cases[] = {
		{ "no-message", NULL, -1, "the VMM sent no handshake: it hung up" },
		{ "no-fd", "[" REGION("4096", "4096", "0", "4096") "]", -1,
		  "the handshake carries no userfaultfd" },
		{ "not-a-uffd", "[" REGION("4096", "4096", "0", "4096") "]", 1,
		  "the handshake carries no userfaultfd" },
		{ "not-json", "[{\"base_host_virt_addr\":", 0, "the handshake's JSON: " },
		{ "object", "{}", 0, "the handshake's JSON: not an array of 1 to 8 regions" },
		{ "empty", "[]", 0, "the handshake's JSON: not an array of 1 to 8 regions" },
		{ "negative", "[" REGION("4096", "-4096", "0", "4096") "]", 0,
		  "region 0: `size` missing or not a non-negative integer" },
		{ "no-page-size", "[{\"base_host_virt_addr\":4096,\"size\":4096,\"offset\":0}]", 0,
		  "region 0: `page_size_kib` missing or not a non-negative integer" },
		{ "huge-pages", "[" REGION("2097152", "2097152", "0", "2097152") "]", 0,
		  "region 0: page size 2097152 (this server serves 4096-byte pages only)" },
		{ "unaligned", "[" REGION("4097", "4096", "0", "4096") "]", 0,
		  "region 0: not whole pages" },
		{ "past-the-file", "[" REGION("4096", "65536", "4096", "4096") "]", 0,
		  "region 0: bytes 4096..69632 of the memory file, which has 65536" },
		{ "offset-huge", "[" REGION("4096", "4096", "9223372036854771712", "4096") "]", 0,
		  "region 0: bytes 9223372036854771712..9223372036854775808 of the memory file, "
		  "which has 65536" },
		{ "overlap",
		  "[" REGION("4096", "16384", "0", "4096") "," REGION("8192", "4096", "0",
								      "4096") "]",
		  0, "regions 0 and 1 overlap" },
	};
	const char *why = skip_reason();
	char err[512], want[512];

	if (why)
		SKIP(why);
	REQUIRE(write_memfile());
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = cases[i].fd == 0   ? uffd_create()
			 : cases[i].fd == 1 ? open("/dev/null", O_RDONLY | O_CLOEXEC)
					    : -1;

		harness_begin(cases[i].name);
		CHECK(handshake_with(cases[i].body, fd, err, sizeof(err)) == 1);
		snprintf(want, sizeof(want), "petrel-pager: %s", cases[i].want);
		/* One line, starting so (the JSON parser's own words after). */
		CHECK(!strncmp(err, want, strlen(want)) &&
		      strchr(err, '\n') == err + strlen(err) - 1);
		if (fd >= 0)
			close(fd);
		harness_end();
	}
	harness_begin("hostile_handshakes");
}

static void *touch(void *arg)
{
	return (void *)(uintptr_t) * (volatile uint8_t *)arg;
}

/* A VMM whose regions say one place while its uffd covers another: the
 * first fault is outside every region, and the pager stops (the VMM's
 * waiting thread is freed by closing the last uffd). */
static void fault_outside_regions(void)
{
	const char *why = skip_reason();
	struct uffd_backend b;
	struct pager_run r;
	struct gm told = { 0 };
	char err[512];
	uint8_t *ram;
	pthread_t th;
	void *seen;

	if (why)
		SKIP(why);
	REQUIRE(write_memfile() && pager_start(&r));
	ram = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(ram != MAP_FAILED);
	REQUIRE(gm_add_region(&told, 0, 4 * PAGE, (void *)0x10000) == 0);
	REQUIRE(backend_open(&b, &r) == 0);
	{
		struct uffdio_register reg = { .range = { (uintptr_t)ram, 4 * PAGE },
					       .mode = UFFDIO_REGISTER_MODE_MISSING };
		char body[UFFD_MSG_MAX], ctl[CMSG_SPACE(sizeof(int))] = { 0 };
		int len = uffd_regions_json(&told, body, sizeof(body));
		struct iovec iov = { body, (size_t)len };
		struct msghdr msg = { .msg_iov = &iov,
				      .msg_iovlen = 1,
				      .msg_control = ctl,
				      .msg_controllen = sizeof(ctl) };
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

		REQUIRE(ioctl(b.uffd, UFFDIO_REGISTER, &reg) == 0);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &b.uffd, sizeof(int));
		REQUIRE(sendmsg(b.sock, &msg, MSG_NOSIGNAL) == len);
	}
	REQUIRE(pthread_create(&th, NULL, touch, ram + PAGE) == 0);
	CHECK(pager_wait(&r, err, sizeof(err)) == 1);
	CHECK(!strncmp(err, "petrel-pager: a fault at 0x", 27) &&
	      strstr(err, ", outside every region\n"));
	uffd_backend_close(&b); /* the last uffd: the waiting touch goes on */
	pthread_join(th, &seen);
	CHECK(seen == NULL);
	munmap(ram, 4 * PAGE);
}

int main(void)
{
	ssize_t n = readlink("/proc/self/exe", pager, sizeof(pager) - 32);

	if (n <= 0 || !mkdtemp(dir))
		return 1;
	/* A fault nobody serves would hang the test: it is killed instead. */
	alarm(120);
	pager[n] = 0;
	/* build-X/tests/unit/test_pager -> build-X/petrel-pager */
	strcpy(strrchr(pager, '/'), "/../../petrel-pager");
	snprintf(sock, sizeof(sock), "%s/pager.sock", dir);
	snprintf(memfile, sizeof(memfile), "%s/vm.mem", dir);
	RUN(serves_pages);
	RUN(hostile_handshakes);
	RUN(fault_outside_regions);
	unlink(memfile);
	unlink(sock);
	rmdir(dir);
	return harness_exit();
}
