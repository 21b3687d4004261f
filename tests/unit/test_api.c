/* SPDX-License-Identifier: MIT */
/*
 * The REST API server (src/api/server.c) over a real unix socket, with a
 * fake VMM thread: its execute answers from a table and counts what it
 * saw. What a client can do to the server: pipelining, keep-alive,
 * limits, bad HTTP, unknown routes, an 11th connection, a client that
 * stalls or never reads, one that leaves mid-request.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/server.h"
#include "harness.h"

struct rig {
	struct evloop ev;
	struct api_server *api;
	pthread_t loop;
	char dir[40], path[64];
	atomic_int executed;
	atomic_int delay_ms; /* the fake VMM thread's time per request */
	enum api_action last;
};

static struct rig r;

static void fake_execute(void *opaque, const struct api_request *req, struct api_result *res)
{
	struct rig *g = opaque;
	int ms = atomic_load(&g->delay_ms);

	if (ms)
		nanosleep(&(struct timespec){ .tv_nsec = ms * 1000000L }, NULL);
	g->last = req->action;
	atomic_fetch_add(&g->executed, 1);
	if (req->action == API_GET_VM_CONFIG) { /* a large answer */
		res->body = malloc(60001);
		memset(res->body, 'x', 60000);
		res->body[0] = '"';
		res->body[59999] = '"';
		res->body[60000] = 0;
		res->status = 200;
	} else if (req->action == API_GET_INFO) {
		res->body = strdup("{\"state\":\"Not started\"}");
		res->status = 200;
	} else if (req->action == API_PUT_MACHINE) {
		res->status = 400;
		snprintf(res->fault, sizeof(res->fault), "vCPU count %u: no",
			 req->u.machine.vcpu_count);
	} else {
		res->status = 204;
	}
}

static void *rig_loop(void *opaque)
{
	evloop_run(&((struct rig *)opaque)->ev);
	return NULL;
}

static bool rig_start(unsigned int stall_ms)
{
	struct api_server_config cfg = { .max_payload = 51200, .stall_ms = stall_ms };

	memset(&r, 0, sizeof(r));
	snprintf(r.dir, sizeof(r.dir), "/tmp/petrel-api-XXXXXX");
	if (!mkdtemp(r.dir) || evloop_init(&r.ev))
		return false;
	snprintf(r.path, sizeof(r.path), "%s/api.sock", r.dir);
	cfg.path = r.path;
	if (api_server_start(&r.api, &cfg, &r.ev, fake_execute, &r, NULL))
		return false;
	return !pthread_create(&r.loop, NULL, rig_loop, &r);
}

static void rig_stop(void)
{
	evloop_quit(&r.ev);
	pthread_join(r.loop, NULL);
	api_server_stop(r.api);
	evloop_destroy(&r.ev);
	rmdir(r.dir);
}

static int client(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r.path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Read until `n` responses are complete or the peer closes (timeout 5 s).
 * Returns the bytes read, NUL-terminated in buf. */
static size_t recv_responses(int fd, char *buf, size_t cap, int n)
{
	size_t got = 0;

	while (got + 1 < cap) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int done = 0;
		ssize_t k;

		buf[got] = 0;
		for (char *h = buf; (h = strstr(h, "HTTP/1.1 ")) != NULL; h++) {
			char *end = strstr(h, "\r\n\r\n");
			char *cl = strstr(h, "Content-Length: ");

			if (!end)
				break;
			if (cl && cl < end && strlen(end + 4) < strtoul(cl + 16, NULL, 10))
				break;
			done++;
		}
		if (done >= n || poll(&p, 1, 5000) <= 0)
			break;
		k = read(fd, buf + got, cap - 1 - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	buf[got] = 0;
	return got;
}

static bool peer_closed(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	return poll(&p, 1, 5000) == 1 && read(fd, &c, 1) == 0;
}

static const char get_info[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

static void api_get_and_keep_alive(void)
{
	static char buf[4096];
	int fd;

	REQUIRE(rig_start(API_STALL_MS));
	fd = client();
	REQUIRE(fd >= 0);
	for (int i = 0; i < 3; i++) {
		CHECK(send_all(fd, get_info, sizeof(get_info) - 1));
		recv_responses(fd, buf, sizeof(buf), 1);
		CHECK(!strncmp(buf, "HTTP/1.1 200 \r\n", 15));
		CHECK(strstr(buf, "Connection: keep-alive\r\n"));
		CHECK(strstr(buf, "\r\n\r\n{\"state\":\"Not started\"}"));
	}
	CHECK(atomic_load(&r.executed) == 3);
	close(fd);
	rig_stop();
}

/* Three requests in one write: three answers, in order. */
static void api_pipelining(void)
{
	static const char three[] = "GET / HTTP/1.1\r\n\r\n"
				    "PUT /actions HTTP/1.1\r\nContent-Length: 33\r\n\r\n"
				    "{\"action_type\": \"FlushMetrics\"}\r\n"
				    "PUT /machine-config HTTP/1.1\r\nContent-Length: 37\r\n\r\n"
				    "{\"vcpu_count\": 7, \"mem_size_mib\": 64}";
	static char buf[8192];
	char *a, *b, *c;
	int fd;

	REQUIRE(rig_start(API_STALL_MS));
	fd = client();
	REQUIRE(fd >= 0);
	CHECK(send_all(fd, three, sizeof(three) - 1));
	recv_responses(fd, buf, sizeof(buf), 3);
	a = strstr(buf, "HTTP/1.1 200 ");
	b = strstr(buf, "HTTP/1.1 204 ");
	c = strstr(buf, "HTTP/1.1 400 ");
	CHECK(a && b && c && a < b && b < c);
	CHECK(strstr(buf, "{\"fault_message\":\"vCPU count 7: no\"}"));
	CHECK(atomic_load(&r.executed) == 3);
	close(fd);
	rig_stop();
}

/* A request with a deprecated field (PUT /snapshot/load's mem_file_path)
 * is answered with "Deprecation: true", as Firecracker's; the next one,
 * without, is not. */
static void api_deprecation_header(void)
{
	static const char two[] = "PUT /snapshot/load HTTP/1.1\r\nContent-Length: 44\r\n\r\n"
				  "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}"
				  "PUT /snapshot/load HTTP/1.1\r\nContent-Length: 84\r\n\r\n"
				  "{\"snapshot_path\": \"s\", \"mem_backend\": {\"backend_type\": "
				  "\"File\", \"backend_path\": \"m\"}}";
	static char buf[4096];
	char *second;
	int fd;

	REQUIRE(rig_start(API_STALL_MS));
	fd = client();
	REQUIRE(fd >= 0);
	CHECK(send_all(fd, two, sizeof(two) - 1));
	recv_responses(fd, buf, sizeof(buf), 2);
	second = strstr(buf + 1, "HTTP/1.1 204 ");
	REQUIRE(!strncmp(buf, "HTTP/1.1 204 ", 13) && second);
	CHECK(strstr(buf, "Deprecation: true\r\n") &&
	      strstr(buf, "Deprecation: true\r\n") < second);
	CHECK(!strstr(second, "Deprecation"));
	CHECK(atomic_load(&r.executed) == 2 && r.last == API_SNAPSHOT_LOAD);
	close(fd);
	rig_stop();
}

/* Answered by the API thread itself: unknown routes, bodies where none
 * belong, bad JSON; malformed HTTP closes the connection. */
static void api_errors(void)
{
	static char buf[4096];
	int fd;

	REQUIRE(rig_start(API_STALL_MS));
	fd = client();
	REQUIRE(fd >= 0);
	CHECK(send_all(fd, "GET /nope HTTP/1.1\r\n\r\n", 22));
	recv_responses(fd, buf, sizeof(buf), 1);
	CHECK(strstr(buf, "HTTP/1.1 400 ") &&
	      strstr(buf, "Invalid request method and/or path: GET /nope."));
	CHECK(send_all(fd, "PUT /vm/config HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", 48));
	recv_responses(fd, buf, sizeof(buf), 1);
	CHECK(strstr(buf, "Invalid request method and/or path: PUT /vm/config."));
	CHECK(send_all(fd, "PUT /actions HTTP/1.1\r\n\r\n", 25));
	recv_responses(fd, buf, sizeof(buf), 1);
	CHECK(strstr(buf, "Empty PUT request."));
	CHECK(send_all(fd, "PATCH /vm HTTP/1.1\r\nContent-Length: 6\r\n\r\n{\"x\":}", 47));
	recv_responses(fd, buf, sizeof(buf), 1);
	CHECK(strstr(buf, "An error occurred when deserializing the json body of a request"));
	CHECK(atomic_load(&r.executed) == 0);
	CHECK(send_all(fd, "BREW / HTTP/1.1\r\n\r\n", 19));
	recv_responses(fd, buf, sizeof(buf), 1);
	CHECK(strstr(buf, "HTTP/1.1 400 ") && strstr(buf, "Connection: close"));
	CHECK(strstr(buf, "{\"error\":"));
	CHECK(peer_closed(fd));
	close(fd);
	CHECK(atomic_load(&api_server_stats(r.api)->bad_requests) == 5);
	rig_stop();
}

/* A 1 MiB body is refused before it is stored: 400, Firecracker's
 * message, and the connection closes. */
static void api_body_limit(void)
{
	static char buf[4096];
	char head[128];
	int fd, n;

	REQUIRE(rig_start(API_STALL_MS));
	fd = client();
	REQUIRE(fd >= 0);
	n = snprintf(head, sizeof(head), "PUT /drives/a HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
		     1 << 20);
	CHECK(send_all(fd, head, (size_t)n));
	recv_responses(fd, buf, sizeof(buf), 1);
	CHECK(strstr(buf, "HTTP/1.1 400 ") &&
	      strstr(buf, "Request payload with size 1048576 is larger than the limit of 51200"));
	CHECK(peer_closed(fd));
	close(fd);
	CHECK(atomic_load(&r.executed) == 0);
	rig_stop();
}

/* Ten connections at once are served; the eleventh gets a 503. */
static void api_connection_limit(void)
{
	static char buf[4096];
	int fd[API_MAX_CONNECTIONS + 1], extra;

	REQUIRE(rig_start(API_STALL_MS));
	for (int i = 0; i < API_MAX_CONNECTIONS; i++) {
		fd[i] = client();
		REQUIRE(fd[i] >= 0);
	}
	/* Each of the ten has been accepted once it has an answer. */
	for (int i = 0; i < API_MAX_CONNECTIONS; i++) {
		CHECK(send_all(fd[i], get_info, sizeof(get_info) - 1));
		recv_responses(fd[i], buf, sizeof(buf), 1);
		CHECK(strstr(buf, "HTTP/1.1 200 ") != NULL);
	}
	extra = client();
	REQUIRE(extra >= 0);
	recv_responses(extra, buf, sizeof(buf), 1);
	CHECK(strstr(buf, "HTTP/1.1 503 ") && strstr(buf, "Too many open connections"));
	CHECK(peer_closed(extra));
	close(extra);
	CHECK(atomic_load(&api_server_stats(r.api)->refused) == 1);
	/* One leaves: a new one is served. */
	close(fd[0]);
	usleep(100000);
	fd[0] = client();
	REQUIRE(fd[0] >= 0);
	CHECK(send_all(fd[0], get_info, sizeof(get_info) - 1));
	recv_responses(fd[0], buf, sizeof(buf), 1);
	CHECK(strstr(buf, "HTTP/1.1 200 ") != NULL);
	for (int i = 0; i < API_MAX_CONNECTIONS; i++)
		close(fd[i]);
	rig_stop();
}

/* A client that sends half a request holds no one up, and is closed once
 * it has stalled for stall_ms. */
static void api_stalled_client(void)
{
	static char buf[4096];
	int stalled, other;

	REQUIRE(rig_start(300));
	stalled = client();
	other = client();
	REQUIRE(stalled >= 0 && other >= 0);
	CHECK(send_all(stalled, "PUT /machine-config HTTP/1.1\r\nContent-Le", 40));
	CHECK(send_all(other, get_info, sizeof(get_info) - 1));
	recv_responses(other, buf, sizeof(buf), 1);
	CHECK(strstr(buf, "HTTP/1.1 200 ") != NULL);
	CHECK(peer_closed(stalled));
	CHECK(atomic_load(&api_server_stats(r.api)->dropped) == 1);
	/* A kept-alive connection with nothing in progress is not stalled. */
	usleep(600000);
	CHECK(send_all(other, get_info, sizeof(get_info) - 1));
	recv_responses(other, buf, sizeof(buf), 1);
	CHECK(strstr(buf, "HTTP/1.1 200 ") != NULL);
	close(stalled);
	close(other);
	rig_stop();
}

/* A client that pipelines many requests with large answers and never
 * reads: the server reads no further than one request ahead, so it holds
 * one answer for it, and others are served meanwhile. */
static void api_client_never_reads(void)
{
	static char req[64 * 40], buf[4096];
	int greedy, other, n = 0;

	REQUIRE(rig_start(API_STALL_MS));
	greedy = client();
	other = client();
	REQUIRE(greedy >= 0 && other >= 0);
	for (int i = 0; i < 64; i++)
		n += snprintf(req + n, sizeof(req) - (size_t)n, "GET /vm/config HTTP/1.1\r\n\r\n");
	CHECK(send_all(greedy, req, (size_t)n));
	usleep(300000);
	/* 60 KB answers: the socket buffer holds a few, then nothing moves. */
	CHECK(atomic_load(&r.executed) < 64);
	CHECK(send_all(other, get_info, sizeof(get_info) - 1));
	recv_responses(other, buf, sizeof(buf), 1);
	CHECK(strstr(buf, "HTTP/1.1 200 ") != NULL);
	close(greedy);
	close(other);
	rig_stop();
}

/* A slow VMM thread delays answers but not accepting or reading: requests
 * wait their turn, in order. A client gone mid-request leaves no harm. */
static void api_slow_vmm_and_gone_client(void)
{
	static char buf[4096];
	int a, b;

	REQUIRE(rig_start(API_STALL_MS));
	atomic_store(&r.delay_ms, 200);
	a = client();
	b = client();
	REQUIRE(a >= 0 && b >= 0);
	CHECK(send_all(a, get_info, sizeof(get_info) - 1));
	usleep(50000);
	CHECK(send_all(b, get_info, sizeof(get_info) - 1));
	close(a); /* its answer has nowhere to go */
	recv_responses(b, buf, sizeof(buf), 1);
	CHECK(strstr(buf, "HTTP/1.1 200 ") != NULL);
	CHECK(atomic_load(&r.executed) == 2);
	close(b);
	rig_stop();
}

/* Expect: 100-continue gets its interim answer before the body. */
static void api_expect_continue(void)
{
	static const char expect[] =
	    "PUT /actions HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 33\r\n\r\n";
	static char buf[4096];
	int fd;

	REQUIRE(rig_start(API_STALL_MS));
	fd = client();
	REQUIRE(fd >= 0);
	CHECK(send_all(fd, expect, sizeof(expect) - 1));
	recv_responses(fd, buf, sizeof(buf), 1);
	CHECK(!strncmp(buf, "HTTP/1.1 100 Continue\r\n\r\n", 25));
	CHECK(send_all(fd, "{\"action_type\": \"FlushMetrics\"}\r\n", 33));
	recv_responses(fd, buf, sizeof(buf), 1);
	CHECK(strstr(buf, "HTTP/1.1 204 ") != NULL);
	CHECK(r.last == API_ACTION_FLUSH_METRICS);
	close(fd);
	rig_stop();
}

int main(void)
{
	RUN(api_get_and_keep_alive);
	RUN(api_pipelining);
	RUN(api_deprecation_header);
	RUN(api_errors);
	RUN(api_body_limit);
	RUN(api_connection_limit);
	RUN(api_stalled_client);
	RUN(api_client_never_reads);
	RUN(api_slow_vmm_and_gone_client);
	RUN(api_expect_continue);
	return harness_exit();
}
