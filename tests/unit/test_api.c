/* SPDX-License-Identifier: MIT */
/*
 * The control socket, driven over a real unix socket: the event loop runs
 * on a thread of its own, the test is the client, and a fake balloon
 * (callbacks) records what the API asked of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api.h"
#include "harness.h"
#include "vmm.h"

struct fake_balloon {
	int ret;
	unsigned int set_calls, stats_calls;
	uint64_t bytes;
	struct balloon_stats st;
};

static int fake_set_target(void *opaque, uint64_t bytes)
{
	struct fake_balloon *fb = opaque;

	fb->set_calls++;
	fb->bytes = bytes;
	return fb->ret;
}

static int fake_stats(void *opaque, struct balloon_stats *out)
{
	struct fake_balloon *fb = opaque;

	fb->stats_calls++;
	*out = fb->st;
	return 0;
}

static const struct api_balloon_ops fake_ops = {
	.set_target = fake_set_target,
	.stats = fake_stats,
};

/* A VM with nothing but the event loop and the lifecycle the API uses. */
struct rig {
	struct vm vm;
	struct api *api;
	pthread_t loop;
	bool running;
	char dir[40], path[64];
	struct fake_balloon fb;
};

static void *rig_loop(void *opaque)
{
	struct rig *r = opaque;

	evloop_run(&r->vm.ev, &r->vm.stopping);
	return NULL;
}

static bool rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/petrel-api-XXXXXX");
	if (!mkdtemp(r->dir))
		return false;
	snprintf(r->path, sizeof(r->path), "%s/api.sock", r->dir);
	pthread_mutex_init(&r->vm.stop_lock, NULL);
	return evloop_init(&r->vm.ev) == 0;
}

static bool rig_start(struct rig *r, bool balloon)
{
	if (!rig_init(r))
		return false;
	if (api_create(&r->api, &r->vm, r->path, balloon ? &fake_ops : NULL, &r->fb))
		return false;
	r->running = !pthread_create(&r->loop, NULL, rig_loop, r);
	return r->running;
}

static void rig_stop(struct rig *r)
{
	if (r->running) {
		vm_stop(&r->vm, 0, NULL);
		pthread_join(r->loop, NULL);
	}
	api_destroy(r->api);
	evloop_destroy(&r->vm.ev);
	pthread_mutex_destroy(&r->vm.stop_lock);
	unlink(r->path);
	rmdir(r->dir);
}

static int cli_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool cli_send(int fd, const void *buf, size_t len)
{
	return send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len;
}

/* One reply line without its newline; false on EOF, error or timeout. */
static bool cli_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		if (read(fd, buf + n, 1) != 1)
			return false;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return true;
		}
		n++;
	}
	return false;
}

/* Send `req` (a full line) and compare the reply with `want`. */
static bool cli_ask(int fd, const char *req, const char *want)
{
	char line[1024];

	if (!cli_send(fd, req, strlen(req)) || !cli_line(fd, line, sizeof(line)))
		return false;
	if (strcmp(line, want)) {
		printf("    reply '%s', expected '%s'\n", line, want);
		return false;
	}
	return true;
}

/* The server closed the connection: read sees EOF, or ECONNRESET if
 * the server had unread bytes from us. */
static bool cli_closed(int fd)
{
	char c;
	ssize_t n = read(fd, &c, 1);

	return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void api_balloon_sets_target(void)
{
	struct rig r;
	int fd;

	REQUIRE(rig_start(&r, true));
	fd = cli_connect(r.path);
	CHECK(fd >= 0);
	CHECK(cli_ask(fd, "balloon 64\n", "ok"));
	CHECK(r.fb.set_calls == 1 && r.fb.bytes == 64ULL << 20);
	CHECK(cli_ask(fd, "balloon 0\r\n", "ok"));
	CHECK(r.fb.set_calls == 2 && r.fb.bytes == 0);
	CHECK(cli_ask(fd, "  balloon\t7 \n", "ok"));
	CHECK(r.fb.set_calls == 3 && r.fb.bytes == 7ULL << 20);
	close(fd);
	rig_stop(&r);
}

static void api_balloon_rejects(void)
{
	static const char *const bad[] = {
		"balloon\n",
		"balloon -1\n",
		"balloon 1x\n",
		"balloon 0x10\n",
		"balloon 99999999999999999999\n",
		"balloon 1 2\n",
		"balloon +5\n",
	};
	struct rig r;
	int fd;

	REQUIRE(rig_start(&r, true));
	fd = cli_connect(r.path);
	CHECK(fd >= 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *want = strcmp(bad[i], "balloon 1 2\n")
				       ? "error: usage: balloon MIB"
				       : "error: usage: balloon MIB | balloon-stats | stop";

		CHECK(cli_ask(fd, bad[i], want));
	}
	/* 2^44 MiB is 2^64 bytes: one too many. */
	CHECK(cli_ask(fd, "balloon 17592186044416\n", "error: usage: balloon MIB"));
	CHECK(r.fb.set_calls == 0);
	r.fb.ret = -ERANGE;
	CHECK(cli_ask(fd, "balloon 99999\n", "error: balloon 99999 MiB: more than guest RAM"));
	r.fb.ret = -EIO;
	CHECK(cli_ask(fd, "balloon 1\n", "error: balloon 1 MiB: Input/output error"));
	close(fd);
	rig_stop(&r);
}

static void api_balloon_stats_reply(void)
{
	struct rig r;
	int fd;

	REQUIRE(rig_start(&r, true));
	r.fb.st = (struct balloon_stats){
		.target_pages = 1024, /* 4 MiB */
		.actual_pages = 700,  /* 2.7 MiB: rounds down */
		.have = 1u << VIRTIO_BALLOON_S_MEMFREE | 1u << VIRTIO_BALLOON_S_MEMTOT |
			1u << VIRTIO_BALLOON_S_AVAIL | 1u << VIRTIO_BALLOON_S_MAJFLT,
		.val[VIRTIO_BALLOON_S_MEMFREE] = 1000,
		.val[VIRTIO_BALLOON_S_MEMTOT] = 268435456,
		.val[VIRTIO_BALLOON_S_AVAIL] = 18446744073709551615ULL,
		.val[VIRTIO_BALLOON_S_MAJFLT] = 3,
		.val[VIRTIO_BALLOON_S_CACHES] = 77, /* not in `have`: not shown */
	};
	fd = cli_connect(r.path);
	CHECK(fd >= 0);
	CHECK(cli_ask(fd, "balloon-stats\n",
		      "ok actual_mib=2 target_mib=4 major_faults=3 free=1000 total=268435456 "
		      "available=18446744073709551615"));
	CHECK(r.fb.stats_calls == 1);
	r.fb.st.have = 0;
	CHECK(cli_ask(fd, "balloon-stats\n", "ok actual_mib=2 target_mib=4"));
	CHECK(
	    cli_ask(fd, "balloon-stats now\n", "error: usage: balloon MIB | balloon-stats | stop"));
	close(fd);
	rig_stop(&r);
}

static void api_no_balloon(void)
{
	struct rig r;
	int fd;

	REQUIRE(rig_start(&r, false));
	fd = cli_connect(r.path);
	CHECK(fd >= 0);
	CHECK(cli_ask(fd, "balloon 1\n", "error: no balloon device (start petrel with --balloon)"));
	CHECK(cli_ask(fd, "balloon-stats\n",
		      "error: no balloon device (start petrel with --balloon)"));
	close(fd);
	rig_stop(&r);
}

static void api_unknown_commands(void)
{
	static const char nul[] = "stop\0now\n";
	struct rig r;
	int fd;

	REQUIRE(rig_start(&r, true));
	fd = cli_connect(r.path);
	CHECK(fd >= 0);
	CHECK(cli_ask(fd, "frob\n", "error: unknown command 'frob'"));
	CHECK(cli_ask(fd, "fr\x01\x7f\xffob x\n", "error: unknown command 'fr???ob'"));
	CHECK(cli_ask(fd, "\n", "error: unknown command ''"));
	CHECK(cli_ask(fd, " \t \r\n", "error: unknown command ''"));
	CHECK(cli_ask(fd, "STOP\n", "error: unknown command 'STOP'"));
	CHECK(cli_send(fd, nul, sizeof(nul) - 1));
	CHECK(cli_ask(fd, "", "error: NUL byte in request"));
	CHECK(!vm_stopping(&r.vm));
	close(fd);
	rig_stop(&r);
}

/* Requests may arrive several to a write, or one in pieces. */
static void api_framing(void)
{
	struct rig r;
	char line[256];
	int fd;

	REQUIRE(rig_start(&r, true));
	fd = cli_connect(r.path);
	CHECK(fd >= 0);
	CHECK(cli_send(fd, "balloon 1\nballoon-stats\nfrob\n", 29));
	CHECK(cli_line(fd, line, sizeof(line)) && !strcmp(line, "ok"));
	CHECK(cli_line(fd, line, sizeof(line)) && !strcmp(line, "ok actual_mib=0 target_mib=0"));
	CHECK(cli_line(fd, line, sizeof(line)) && !strcmp(line, "error: unknown command 'frob'"));
	CHECK(cli_send(fd, "ball", 4));
	usleep(20000);
	CHECK(cli_ask(fd, "oon 3\n", "ok"));
	CHECK(r.fb.bytes == 3ULL << 20);
	close(fd);
	rig_stop(&r);
}

static void api_long_line(void)
{
	char req[API_LINE_MAX + 50];
	struct rig r;
	int fd;

	REQUIRE(rig_start(&r, true));
	/* The longest line that fits is served... */
	fd = cli_connect(r.path);
	CHECK(fd >= 0);
	memset(req, 'a', API_LINE_MAX - 1);
	req[API_LINE_MAX - 1] = '\n';
	req[API_LINE_MAX] = '\0';
	CHECK(cli_send(fd, req, API_LINE_MAX));
	CHECK(cli_line(fd, req, sizeof(req)) && !strncmp(req, "error: unknown command 'aaa", 27));
	/* ... one byte more is refused and the connection closed. */
	memset(req, 'b', sizeof(req));
	CHECK(cli_send(fd, req, sizeof(req)));
	CHECK(cli_line(fd, req, sizeof(req)) &&
	      !strcmp(req, "error: line too long (at most 255 bytes)"));
	CHECK(cli_closed(fd));
	close(fd);
	/* The server itself goes on. */
	fd = cli_connect(r.path);
	CHECK(fd >= 0);
	CHECK(cli_ask(fd, "balloon 2\n", "ok"));
	close(fd);
	rig_stop(&r);
}

static void api_several_clients(void)
{
	struct rig r;
	int a, b;

	REQUIRE(rig_start(&r, true));
	a = cli_connect(r.path);
	b = cli_connect(r.path);
	CHECK(a >= 0 && b >= 0);
	CHECK(cli_send(a, "balloon", 7)); /* a is half-way through a line */
	CHECK(cli_ask(b, "balloon 5\n", "ok"));
	CHECK(r.fb.bytes == 5ULL << 20);
	CHECK(cli_ask(a, " 6\n", "ok"));
	CHECK(r.fb.bytes == 6ULL << 20);
	close(b);
	CHECK(cli_ask(a, "balloon-stats\n", "ok actual_mib=0 target_mib=0"));
	close(a);
	rig_stop(&r);
}

static void api_too_many_clients(void)
{
	int fd[API_MAX_CLIENTS], extra;
	char line[128];
	struct rig r;

	REQUIRE(rig_start(&r, true));
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++) {
		fd[i] = cli_connect(r.path);
		CHECK(fd[i] >= 0);
		CHECK(cli_ask(fd[i], "balloon 1\n", "ok"));
	}
	extra = cli_connect(r.path);
	CHECK(extra >= 0);
	CHECK(cli_line(extra, line, sizeof(line)) && !strcmp(line, "error: too many clients"));
	CHECK(cli_closed(extra));
	close(extra);
	/* A slot frees when its client leaves. The round trip on fd[1] ends
	 * the event-loop pass that saw fd[0] close; the next connection
	 * comes in a later one. */
	close(fd[0]);
	CHECK(cli_ask(fd[1], "balloon 1\n", "ok"));
	extra = cli_connect(r.path);
	CHECK(extra >= 0);
	CHECK(cli_ask(extra, "balloon 2\n", "ok"));
	close(extra);
	for (unsigned int i = 1; i < API_MAX_CLIENTS; i++)
		close(fd[i]);
	rig_stop(&r);
}

/* A client that sends and never reads is dropped once its replies pile
 * up; others are served all along. */
static void api_slow_reader_dropped(void)
{
	static const char req[] = "balloon-stats\n";
	struct rig r;
	bool dropped = false;
	int fd, other;

	REQUIRE(rig_start(&r, true));
	r.fb.st.have = (1u << VIRTIO_BALLOON_S_NR) - 1;
	for (unsigned int t = 0; t < VIRTIO_BALLOON_S_NR; t++)
		r.fb.st.val[t] = UINT64_MAX;
	fd = cli_connect(r.path);
	other = cli_connect(r.path);
	CHECK(fd >= 0 && other >= 0);
	for (unsigned int i = 0, waits = 0; i < 1000000 && waits < 100 && !dropped; i++) {
		ssize_t n = send(fd, req, sizeof(req) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		if (n < 0 && errno == EAGAIN)
			waits += poll(&p, 1, 100) == 0;
		else if (n < 0)
			dropped = errno == EPIPE || errno == ECONNRESET;
	}
	CHECK(dropped);
	CHECK(cli_ask(other, "balloon 9\n", "ok"));
	close(fd);
	close(other);
	rig_stop(&r);
}

static void api_stop_powers_off(void)
{
	struct rig r;
	int fd;

	REQUIRE(rig_start(&r, true));
	r.vm.status = -1;
	fd = cli_connect(r.path);
	CHECK(fd >= 0);
	CHECK(cli_ask(fd, "stop\n", "ok"));
	/* The event loop ends by itself: vm_stop was called with status 0. */
	pthread_join(r.loop, NULL);
	r.running = false;
	CHECK(vm_stopping(&r.vm));
	CHECK(r.vm.status == VM_STATUS_OFF);
	rig_stop(&r);
	CHECK(cli_closed(fd));
	close(fd);
}

static void api_socket_file(void)
{
	struct stat st;
	struct rig r;
	int fd;

	REQUIRE(rig_start(&r, true));
	CHECK(stat(r.path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600);
	fd = cli_connect(r.path);
	CHECK(fd >= 0);
	CHECK(cli_ask(fd, "balloon 1\n", "ok"));
	vm_stop(&r.vm, 0, NULL);
	pthread_join(r.loop, NULL);
	r.running = false;
	api_destroy(r.api);
	r.api = NULL;
	CHECK(cli_closed(fd));
	CHECK(stat(r.path, &st) == -1 && errno == ENOENT);
	close(fd);
	rig_stop(&r);
}

/* A socket file left by a killed petrel is replaced; a live one, or
 * anything else at the path, is an error. */
static void api_path_in_use(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct api *second = NULL;
	struct stat st;
	struct rig r;
	int stale, fd;

	REQUIRE(rig_init(&r));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r.path);
	stale = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(stale >= 0 && bind(stale, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(stale);
	CHECK(api_create(&r.api, &r.vm, r.path, &fake_ops, &r.fb) == 0);
	r.running = !pthread_create(&r.loop, NULL, rig_loop, &r);
	fd = cli_connect(r.path);
	CHECK(fd >= 0);
	CHECK(cli_ask(fd, "balloon 4\n", "ok"));
	/* Served by the first: a second petrel cannot take the path. */
	CHECK(api_create(&second, &r.vm, r.path, &fake_ops, &r.fb) == -EADDRINUSE);
	CHECK(second == NULL);
	CHECK(cli_ask(fd, "balloon 5\n", "ok"));
	close(fd);
	rig_stop(&r);

	REQUIRE(rig_init(&r));
	fd = open(r.path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	close(fd);
	/* Any other file at the path is left alone. */
	CHECK(api_create(&second, &r.vm, r.path, &fake_ops, &r.fb) == -EEXIST);
	CHECK(stat(r.path, &st) == 0 && S_ISREG(st.st_mode));
	rig_stop(&r);
}

static void api_path_too_long(void)
{
	char path[200];
	struct api *api = (struct api *)1;
	struct rig r;

	REQUIRE(rig_init(&r));
	memset(path, 'x', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	CHECK(api_create(&api, &r.vm, path, NULL, NULL) == -ENAMETOOLONG);
	CHECK(api == NULL);
	rig_stop(&r);
}

int main(void)
{
	RUN(api_balloon_sets_target);
	RUN(api_balloon_rejects);
	RUN(api_balloon_stats_reply);
	RUN(api_no_balloon);
	RUN(api_unknown_commands);
	RUN(api_framing);
	RUN(api_long_line);
	RUN(api_several_clients);
	RUN(api_too_many_clients);
	RUN(api_slow_reader_dropped);
	RUN(api_stop_powers_off);
	RUN(api_socket_file);
	RUN(api_path_in_use);
	RUN(api_path_too_long);
	return harness_exit();
}
