// SPDX-License-Identifier: MIT
/*
 * bench-api: the client of `bench/run api`, timing a VMM's control socket
 * the same way for petrel's REST API (HTTP/1.1 on a unix socket) and QEMU's
 * QMP. It starts the server itself (CMD, stdin/stdout/stderr on /dev/null)
 * so that it can read the process's CPU time (clock_getcpuclockid) and RSS
 * (/proc/PID/status) while it lives, and kills it at the end. It connects
 * when SOCK appears (inotify) and listens (retried every 20 us).
 *
 *   bench-api ready http|qmp SOCK -- CMD...
 *	exec of CMD -> SOCK accepts and answers (http: GET /; qmp: the
 *	greeting, then qmp_capabilities): READY WALL_US CPU_US RSS_KIB HWM_KIB;
 *	http also STARTUP US CPU_US (petrel's own api_server figures).
 *   bench-api rtt get|put|qmp|echo SOCK N [-- CMD...]
 *	N round trips of one request on one keep-alive connection, after 200
 *	untimed: GET /, PUT /machine-config, QMP query-status, or (echo, no
 *	CMD) GET / to a forked stub server (below), the floor of the socket
 *	and this client. RTT NS per request, then
 *	CLIENT_CPU_NS and SERVER_CPU_NS per request; http also VMM_US SUM
 *	COUNT (the VMM thread's time on that endpoint, petrel's metrics).
 *   bench-api pause http|qmp SOCK N GAP_MS -- CMD...
 *	N pause/resume pairs (PATCH /vm, or QMP stop/cont), GAP_MS apart, of
 *	the VM CMD runs, after 1 s and 3 untimed pairs: PAUSE PAUSE_NS
 *	RESUME_NS per pair (http: and petrel's latencies_us gauges
 *	VMM_PAUSE VMM_RESUME PAUSE RESUME in us), then LOAD, the server's CPU
 *	time over wall time while the pairs ran (how many CPUs it kept busy).
 *   bench-api start http|qmp SOCK KERNEL MEM_MIB -- CMD...
 *	the start request -> the first byte on CMD's stdout (a pipe), for a
 *	guest whose first instruction writes it to COM1: http configures
 *	KERNEL (PUT /boot-source, /machine-config, 1 vCPU, MEM_MIB) then
 *	sends PUT /actions InstanceStart; qmp (CMD started with -S) sends
 *	cont. START BYTE_NS ANSWER_NS (the request's answer).
 *   bench-api rss SOCK|- MS -- CMD...
 *	CMD's VmRSS (kB) MS ms after it started: RSS KIB. With SOCK (a
 *	petrel API socket), first 10 connections take turns for 20 rounds
 *	of GET /, /vm/config, /machine-config, /metrics and a PATCH /vm
 *	pause + resume each (the API's buffers and stack all used); "-":
 *	no API, only the wait.
 *   bench-api run -- CMD...
 *	exec to exit: RUN WALL_US CPU_US MAXRSS_KIB STATUS.
 *   bench-api serve SOCK
 *	the stub server: listens on SOCK, takes one connection and answers
 *	each request with a fixed 200 and "{}" (the floor of `ready http`).
 *
 * Exit 0, or 1 with a message on stderr. Not a test: nothing is checked
 * beyond the answers being the expected kind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define WARMUP 200
#define READY_TIMEOUT_S 60
#define ANSWER_TIMEOUT_S 60 /* then the server is taken for hung */
#define BUF_SIZE (1 << 20)  /* GET /metrics fits */
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static pid_t child;

static void die(const char *fmt, const char *what)
{
	fprintf(stderr, "bench-api: ");
	fprintf(stderr, fmt, what);
	fprintf(stderr, "\n");
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec t = { .tv_sec = (time_t)(ns / 1000000000u),
			      .tv_nsec = (long)(ns % 1000000000u) };

	while (nanosleep(&t, &t) && errno == EINTR)
		;
}

/* The whole process's CPU time (all threads), while it lives. */
static uint64_t cpu_ns(pid_t pid)
{
	struct timespec t;
	clockid_t id;

	if (clock_getcpuclockid(pid, &id) || clock_gettime(id, &t))
		die("%s", "cannot read the server's CPU clock");
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t self_cpu_ns(void)
{
	struct rusage r;

	getrusage(RUSAGE_SELF, &r);
	return (uint64_t)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000000000u +
	       (uint64_t)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1000u;
}

/* VmRSS or VmHWM (kB) of a live process. */
static long status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		die("%s", "cannot read the server's /proc status");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			v = atol(line + n + 1);
	fclose(f);
	return v;
}

/* Run argv with stdin and stderr on /dev/null, stdout on /dev/null or, if
 * out_fd >= 0, on that fd (a pipe's write end, closed in the child). */
static pid_t spawn_to(char **argv, int out_fd)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	else
		posix_spawn_file_actions_adddup2(&fa, 2, 1);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ))
		die("cannot run %s", argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

static pid_t spawn(char **argv)
{
	return spawn_to(argv, -1);
}

static void stop_child(void)
{
	int st;

	kill(child, SIGTERM);
	for (int i = 0; i < 5000; i++) {
		if (waitpid(child, &st, WNOHANG) == child) {
			child = 0;
			return;
		}
		sleep_ns(1000000);
	}
	kill(child, SIGKILL);
	waitpid(child, &st, 0);
	child = 0;
}

static int sock_addr(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		die("socket path too long: %s", path);
	strcpy(a->sun_path, path);
	return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

/* Watch SOCK's directory for the socket's creation: set up before the
 * server starts, so that no creation is missed. */
static int watch_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *slash = strrchr(path, '/');
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path) + 1, path);
	if (fd < 0 || inotify_add_watch(fd, dir, IN_CREATE | IN_MOVED_TO) < 0)
		die("cannot watch %s", dir);
	return fd;
}

/* Connect as soon as the server listens: while the socket is missing, wait
 * for a creation in its directory (no CPU taken from the starting server);
 * while it refuses (bound, not listening yet), retry every 20 us. */
static int connect_ready(const char *path, int watch)
{
	uint64_t deadline = now_ns() + READY_TIMEOUT_S * 1000000000ull;
	struct sockaddr_un a;
	char ev[4096];
	int st;

	for (;;) {
		int fd = sock_addr(path, &a), missing;
		struct pollfd p = { .fd = watch, .events = POLLIN };

		if (fd < 0)
			die("%s", "socket");
		if (!connect(fd, (struct sockaddr *)&a, sizeof(a))) {
			close(watch);
			return fd;
		}
		missing = errno == ENOENT;
		if (!missing && errno != ECONNREFUSED)
			die("connect %s failed", path);
		close(fd);
		if (child > 0 && waitpid(child, &st, WNOHANG) == child) {
			child = 0;
			die("the server exited before %s accepted", path);
		}
		if (now_ns() > deadline)
			die("%s never accepted", path);
		if (!missing) {
			sleep_ns(20000);
			continue;
		}
		/* 10 ms at most: the server's exit is checked above */
		if (poll(&p, 1, 10) > 0)
			while (read(watch, ev, sizeof(ev)) > 0)
				;
	}
}

/* A server that stopped answering: each thread's name, state and kernel
 * wait channel on stderr (is it blocked, or spinning?). */
static void dump_threads(void)
{
	char path[64], line[512], wchan[64];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)child);
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char *name, *end;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.10s/stat", (int)child, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		name = fgets(line, sizeof(line), f) ? strchr(line, '(') : NULL;
		fclose(f);
		snprintf(path, sizeof(path), "/proc/%d/task/%.10s/wchan", (int)child, e->d_name);
		f = fopen(path, "r");
		wchan[0] = 0;
		if (f && !fgets(wchan, sizeof(wchan), f))
			wchan[0] = 0;
		if (f)
			fclose(f);
		/* "(comm) S ...": the name and the state */
		end = name ? strrchr(name, ')') : NULL;
		if (end && end[1] == ' ' && end[2])
			fprintf(stderr, "bench-api: thread %s %.*s state %c wchan %s\n", e->d_name,
				(int)(end + 1 - name), name, end[2], wchan);
	}
	closedir(d);
}

/* ------------------------------------------------------------ a connection */
struct conn {
	int fd;
	size_t len, off; /* buf[off, len) not consumed yet */
	char buf[BUF_SIZE + 1];
};

static struct conn conn;

static void fill(struct conn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	ssize_t n;

	if (c->off == c->len) {
		c->off = c->len = 0;
	} else if (c->len == BUF_SIZE) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == BUF_SIZE)
		die("%s", "answer too large");
	if (poll(&p, 1, ANSWER_TIMEOUT_S * 1000) != 1) {
		dump_threads();
		die("%s", "no answer within 60 s");
	}
	n = read(c->fd, c->buf + c->len, BUF_SIZE - c->len);
	if (n <= 0)
		die("%s", "the server closed the connection");
	c->len += (size_t)n;
	c->buf[c->len] = 0;
}

static void send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w <= 0)
			die("%s", "write to the server failed");
		s += w;
		n -= (size_t)w;
	}
}

/* One HTTP answer: its status; *body (NUL-terminated, valid until the next
 * request) and its length. */
static int http_answer(struct conn *c, const char **body, size_t *blen)
{
	char *end, *cl;
	size_t hlen, clen = 0;
	int status;

	while (!(end = strstr(c->buf + c->off, "\r\n\r\n")))
		fill(c);
	hlen = (size_t)(end + 4 - (c->buf + c->off));
	if (sscanf(c->buf + c->off, "HTTP/1.%*d %d", &status) != 1)
		die("%s", "not an HTTP answer");
	*end = 0;
	cl = strcasestr(c->buf + c->off, "\r\nContent-Length:");
	if (cl)
		clen = strtoul(cl + 17, NULL, 10);
	*end = '\r';
	while (c->len - c->off < hlen + clen)
		fill(c);
	*body = c->buf + c->off + hlen;
	*blen = clen;
	c->off += hlen + clen;
	/* One request at a time: nothing follows, so buf[len]'s NUL ends the
	 * body for the parsers. */
	if (c->off != c->len)
		die("%s", "unexpected bytes after an answer");
	return status;
}

static int http(struct conn *c, const char *method, const char *path, const char *json,
		const char **body)
{
	char req[1024];
	const char *b;
	size_t blen;
	int n;

	if (json)
		n = snprintf(req, sizeof(req),
			     "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
			     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			     method, path, strlen(json), json);
	else
		n = snprintf(
		    req, sizeof(req),
		    "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n", method,
		    path);
	send_all(c->fd, req, (size_t)n);
	n = http_answer(c, &b, &blen);
	if (body)
		*body = b;
	return n;
}

/* One QMP line that is not an event: a "return" or an "error". */
static char *qmp_line(struct conn *c)
{
	for (;;) {
		char *nl = strchr(c->buf + c->off, '\n'), *line = c->buf + c->off;

		if (!nl) {
			fill(c);
			continue;
		}
		*nl = 0;
		c->off = (size_t)(nl + 1 - c->buf);
		if (strstr(line, "\"event\""))
			continue;
		if (strstr(line, "\"error\""))
			die("QMP error: %s", line);
		return line;
	}
}

static void qmp(struct conn *c, const char *cmd)
{
	char req[256];
	int n = snprintf(req, sizeof(req), "{\"execute\": \"%s\"}\n", cmd);

	send_all(c->fd, req, (size_t)n);
	if (!strstr(qmp_line(c), "\"return\""))
		die("QMP %s: no return", cmd);
}

/* A value of petrel's Prometheus text (GET /metrics), -1 if absent. */
static long prom(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; (p = strstr(p, name)); p += n)
		if ((p == text || p[-1] == '\n') && (p[n] == '{' || p[n] == ' ')) {
			const char *v = strchr(p, ' ');

			return v ? atol(v + 1) : -1;
		}
	return -1;
}

static const char *metrics(struct conn *c)
{
	const char *body;

	if (http(c, "GET", "/metrics", NULL, &body) != 200)
		die("%s", "GET /metrics failed");
	return body;
}

/* Start CMD (stdout on out_fd, or /dev/null if < 0) and open the control
 * connection, handshake done. */
static void open_server_to(int is_qmp, const char *path, char **cmd, int out_fd)
{
	int watch = watch_dir(path);

	unlink(path);
	child = spawn_to(cmd, out_fd);
	conn.fd = connect_ready(path, watch);
	conn.len = conn.off = 0;
	conn.buf[0] = 0;
	if (is_qmp) {
		if (!strstr(qmp_line(&conn), "\"QMP\""))
			die("%s", "no QMP greeting");
		qmp(&conn, "qmp_capabilities");
	} else if (http(&conn, "GET", "/", NULL, NULL) != 200) {
		die("%s", "GET / failed");
	}
}

static void open_server(int is_qmp, const char *path, char **cmd)
{
	open_server_to(is_qmp, path, cmd, -1);
}

/* ------------------------------------------------------------------ modes */
static int mode_ready(int is_qmp, const char *path, char **cmd)
{
	uint64_t t0 = now_ns(), t1;

	open_server(is_qmp, path, cmd);
	t1 = now_ns();
	printf("READY %.1f %.1f %ld %ld\n", (double)(t1 - t0) / 1e3, (double)cpu_ns(child) / 1e3,
	       status_kib(child, "VmRSS"), status_kib(child, "VmHWM"));
	if (!is_qmp) {
		const char *m = metrics(&conn);

		printf("STARTUP %ld %ld\n", prom(m, "petrel_api_server_process_startup_time_us"),
		       prom(m, "petrel_api_server_process_startup_time_cpu_us"));
	}
	close(conn.fd);
	stop_child();
	return 0;
}

/* The stub server: a fixed 200 with "{}" for each request (all bodiless),
 * on one connection. */
static _Noreturn void echo_server(const char *path)
{
	static const char ans[] = "HTTP/1.1 200 \r\nServer: petrel API\r\n"
				  "Connection: keep-alive\r\nContent-Type: application/json\r\n"
				  "Content-Length: 2\r\n\r\n{}";
	struct sockaddr_un a;
	int lfd = sock_addr(path, &a), fd;
	char buf[4096];
	size_t have = 0;

	unlink(path);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1))
		_exit(1);
	fd = accept(lfd, NULL, NULL);
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		char *end;

		if (n <= 0)
			_exit(0);
		have += (size_t)n;
		buf[have] = 0;
		while ((end = strstr(buf, "\r\n\r\n"))) {
			size_t used = (size_t)(end + 4 - buf);

			if (write(fd, ans, sizeof(ans) - 1) != sizeof(ans) - 1)
				_exit(1);
			memmove(buf, buf + used, have - used + 1);
			have -= used;
		}
		if (have == sizeof(buf) - 1)
			_exit(1);
	}
}

static void one_request(const char *kind)
{
	if (!strcmp(kind, "qmp"))
		qmp(&conn, "query-status");
	else if (!strcmp(kind, "put")) {
		if (http(&conn, "PUT", "/machine-config",
			 "{\"vcpu_count\": 1, \"mem_size_mib\": 128}", NULL) != 204)
			die("%s", "PUT /machine-config failed");
	} else if (http(&conn, "GET", "/", NULL, NULL) != 200) {
		die("%s", "GET / failed");
	}
}

static int mode_rtt(const char *kind, const char *path, long n, char **cmd)
{
	uint64_t *ns = calloc((size_t)n, sizeof(*ns)), c0, s0, c1, s1;

	if (!ns)
		die("%s", "out of memory");
	if (!strcmp(kind, "echo")) {
		int watch = watch_dir(path);

		unlink(path);
		child = fork();
		if (child == 0)
			echo_server(path);
		conn.fd = connect_ready(path, watch);
	} else {
		open_server(!strcmp(kind, "qmp"), path, cmd);
	}
	for (int i = 0; i < WARMUP; i++)
		one_request(kind);
	c0 = self_cpu_ns();
	s0 = cpu_ns(child);
	for (long i = 0; i < n; i++) {
		uint64_t t = now_ns();

		one_request(kind);
		ns[i] = now_ns() - t;
	}
	c1 = self_cpu_ns();
	s1 = cpu_ns(child);
	for (long i = 0; i < n; i++)
		printf("RTT %llu\n", (unsigned long long)ns[i]);
	printf("CLIENT_CPU_NS %.0f\nSERVER_CPU_NS %.0f\n", (double)(c1 - c0) / (double)n,
	       (double)(s1 - s0) / (double)n);
	if (!strcmp(kind, "get") || !strcmp(kind, "put")) {
		int get = !strcmp(kind, "get");
		const char *m = metrics(&conn);

		printf("VMM_US %ld %ld\n",
		       prom(m, get ? "petrel_latencies_us_get_instance_info_sum_us"
				   : "petrel_latencies_us_put_machine_cfg_sum_us"),
		       prom(m, get ? "petrel_get_api_requests_instance_info_count"
				   : "petrel_put_api_requests_machine_cfg_count"));
	}
	free(ns);
	close(conn.fd);
	stop_child();
	return 0;
}

static uint64_t pause_or_resume(int is_qmp, int pause)
{
	uint64_t t = now_ns();

	if (is_qmp)
		qmp(&conn, pause ? "stop" : "cont");
	else if (http(&conn, "PATCH", "/vm",
		      pause ? "{\"state\": \"Paused\"}" : "{\"state\": \"Resumed\"}", NULL) != 204)
		die("PATCH /vm %s failed", pause ? "Paused" : "Resumed");
	return now_ns() - t;
}

static int mode_pause(int is_qmp, const char *path, long n, long gap_ms, char **cmd)
{
	uint64_t gap = (uint64_t)gap_ms * 1000000u, w0, s0;

	open_server(is_qmp, path, cmd);
	sleep_ns(1000000000u); /* the guest boots and its APs start spinning */
	for (int i = 0; i < 3; i++) {
		pause_or_resume(is_qmp, 1);
		pause_or_resume(is_qmp, 0);
		sleep_ns(gap);
	}
	w0 = now_ns();
	s0 = cpu_ns(child);
	for (long i = 0; i < n; i++) {
		uint64_t p, r;

		sleep_ns(gap);
		p = pause_or_resume(is_qmp, 1);
		r = pause_or_resume(is_qmp, 0);
		printf("PAUSE %llu %llu", (unsigned long long)p, (unsigned long long)r);
		if (!is_qmp) {
			const char *m = metrics(&conn);

			printf(" %ld %ld %ld %ld", prom(m, "petrel_latencies_us_vmm_pause_vm"),
			       prom(m, "petrel_latencies_us_vmm_resume_vm"),
			       prom(m, "petrel_latencies_us_pause_vm"),
			       prom(m, "petrel_latencies_us_resume_vm"));
		}
		printf("\n");
	}
	printf("LOAD %.2f\n", (double)(cpu_ns(child) - s0) / (double)(now_ns() - w0));
	close(conn.fd);
	stop_child();
	return 0;
}

static int mode_start(int is_qmp, const char *path, const char *kernel, long mem, char **cmd)
{
	static const char start[] = "PUT /actions HTTP/1.1\r\nHost: localhost\r\n"
				    "Content-Type: application/json\r\nContent-Length: 32\r\n\r\n"
				    "{\"action_type\": \"InstanceStart\"}";
	uint64_t t0, t_byte = 0, t_answer = 0;
	char json[512], byte;
	const char *body;
	size_t blen;
	int out[2];

	if (pipe2(out, O_CLOEXEC))
		die("%s", "pipe");
	open_server_to(is_qmp, path, cmd, out[1]);
	close(out[1]);
	if (!is_qmp) {
		snprintf(json, sizeof(json), "{\"kernel_image_path\": \"%s\"}", kernel);
		if (http(&conn, "PUT", "/boot-source", json, NULL) != 204)
			die("%s", "PUT /boot-source failed");
		snprintf(json, sizeof(json), "{\"vcpu_count\": 1, \"mem_size_mib\": %ld}", mem);
		if (http(&conn, "PUT", "/machine-config", json, NULL) != 204)
			die("%s", "PUT /machine-config failed");
	}
	t0 = now_ns();
	if (is_qmp)
		send_all(conn.fd, "{\"execute\": \"cont\"}\n", 20);
	else
		send_all(conn.fd, start, sizeof(start) - 1);
	while (!t_byte || !t_answer) {
		struct pollfd p[2] = { { .fd = out[0], .events = t_byte ? 0 : POLLIN },
				       { .fd = conn.fd, .events = t_answer ? 0 : POLLIN } };

		if (poll(p, 2, ANSWER_TIMEOUT_S * 1000) < 1)
			die("%s", "no console byte or no answer within 60 s");
		if (p[0].revents && !t_byte) {
			if (read(out[0], &byte, 1) != 1)
				die("%s", "the VMM's stdout closed before a byte came");
			t_byte = now_ns();
		}
		if (p[1].revents && !t_answer) {
			if (is_qmp)
				qmp_line(&conn);
			else if (http_answer(&conn, &body, &blen) != 204)
				die("%s", "InstanceStart failed");
			t_answer = now_ns();
		}
	}
	printf("START %llu %llu\n", (unsigned long long)(t_byte - t0),
	       (unsigned long long)(t_answer - t0));
	close(out[0]);
	close(conn.fd);
	stop_child();
	return 0;
}

static int mode_rss(const char *path, long ms, char **cmd)
{
	static const char *const get[] = { "/", "/vm/config", "/machine-config", "/metrics" };
	enum { CLIENTS = 10, ROUNDS = 20 };
	uint64_t t0 = now_ns();
	struct conn *c[CLIENTS] = { 0 };

	if (strcmp(path, "-")) {
		open_server(0, path, cmd);
		c[0] = &conn;
		for (int i = 1; i < CLIENTS; i++) {
			struct sockaddr_un a;

			c[i] = calloc(1, sizeof(*c[i]));
			if (!c[i] || (c[i]->fd = sock_addr(path, &a)) < 0 ||
			    connect(c[i]->fd, (struct sockaddr *)&a, sizeof(a)))
				die("%s", "cannot open 10 connections");
		}
		for (int r = 0; r < ROUNDS; r++)
			for (int i = 0; i < CLIENTS; i++) {
				for (size_t g = 0; g < ARRAY_LEN(get); g++)
					if (http(c[i], "GET", get[g], NULL, NULL) != 200)
						die("GET %s failed", get[g]);
				if (http(c[i], "PATCH", "/vm", "{\"state\": \"Paused\"}", NULL) !=
					204 ||
				    http(c[i], "PATCH", "/vm", "{\"state\": \"Resumed\"}", NULL) !=
					204)
					die("%s", "PATCH /vm failed");
			}
	} else {
		child = spawn(cmd);
	}
	if (now_ns() - t0 < (uint64_t)ms * 1000000u)
		sleep_ns((uint64_t)ms * 1000000u - (now_ns() - t0));
	else
		die("%s", "the requests took longer than MS");
	printf("RSS %ld\n", status_kib(child, "VmRSS"));
	for (int i = 0; i < CLIENTS; i++)
		if (c[i]) {
			close(c[i]->fd);
			if (c[i] != &conn)
				free(c[i]);
		}
	stop_child();
	return 0;
}

static int mode_run(char **cmd)
{
	uint64_t t0 = now_ns(), t1;
	struct rusage r;
	int st;

	child = spawn(cmd);
	if (wait4(child, &st, 0, &r) != child)
		die("%s", "wait4");
	t1 = now_ns();
	child = 0;
	printf("RUN %.1f %.1f %ld %d\n", (double)(t1 - t0) / 1e3,
	       (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6 +
		   (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec),
	       r.ru_maxrss, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-api ready http|qmp SOCK -- CMD...\n"
			"       bench-api rtt get|put|qmp|echo SOCK N [-- CMD...]\n"
			"       bench-api pause http|qmp SOCK N GAP_MS -- CMD...\n"
			"       bench-api start http|qmp SOCK KERNEL MEM_MIB -- CMD...\n"
			"       bench-api rss SOCK|- MS -- CMD...\n"
			"       bench-api run -- CMD...\n"
			"       bench-api serve SOCK\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char **cmd = NULL;
	int nargs = argc;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			cmd = argv + i + 1;
			nargs = i;
			break;
		}
	if (cmd && !*cmd)
		usage();
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (nargs == 4 && cmd && !strcmp(argv[1], "ready") &&
	    (!strcmp(argv[2], "http") || !strcmp(argv[2], "qmp")))
		return mode_ready(!strcmp(argv[2], "qmp"), argv[3], cmd);
	if (nargs == 5 && !strcmp(argv[1], "rtt") && atol(argv[4]) > 0 &&
	    (!strcmp(argv[2], "echo")
		 ? !cmd
		 : cmd && (!strcmp(argv[2], "get") || !strcmp(argv[2], "put") ||
			   !strcmp(argv[2], "qmp"))))
		return mode_rtt(argv[2], argv[3], atol(argv[4]), cmd);
	if (nargs == 6 && cmd && !strcmp(argv[1], "pause") && atol(argv[4]) > 0 &&
	    atol(argv[5]) >= 0 && (!strcmp(argv[2], "http") || !strcmp(argv[2], "qmp")))
		return mode_pause(!strcmp(argv[2], "qmp"), argv[3], atol(argv[4]), atol(argv[5]),
				  cmd);
	if (nargs == 6 && cmd && !strcmp(argv[1], "start") && atol(argv[5]) > 0 &&
	    (!strcmp(argv[2], "http") || !strcmp(argv[2], "qmp")))
		return mode_start(!strcmp(argv[2], "qmp"), argv[3], argv[4], atol(argv[5]), cmd);
	if (nargs == 4 && cmd && !strcmp(argv[1], "rss") && atol(argv[3]) > 0)
		return mode_rss(argv[2], atol(argv[3]), cmd);
	if (nargs == 2 && cmd && !strcmp(argv[1], "run"))
		return mode_run(cmd);
	if (nargs == 3 && !cmd && !strcmp(argv[1], "serve"))
		echo_server(argv[2]);
	usage();
	return 2;
}
