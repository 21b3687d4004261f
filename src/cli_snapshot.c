/* SPDX-License-Identifier: MIT */
/* `petrel snapshot`: a tiny client of the REST API (cli_snapshot.h). */
#include "cli_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "snapshot/memfile.h"
#include "status.h"

/* A snapshot of many GiB takes seconds to write; a server that says
 * nothing for this long is not coming back. */
#define CLIENT_TIMEOUT_S 300
#define REPLY_MAX 65536

struct reply {
	int status;
	char text[REPLY_MAX + 1]; /* the whole response, then its body */
	char *body;
};

static int connect_api(const char *sock, char *err, size_t errsz)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CLIENT_TIMEOUT_S };
	int fd;

	if (strlen(sock) >= sizeof(sa.sun_path)) {
		snprintf(err, errsz, "API socket '%.200s': path too long", sock);
		return -1;
	}
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) &&
	    !setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return fd;
	snprintf(err, errsz, "API socket '%.200s': %s", sock, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* The status and body of a response read whole (Content-Length). */
static int parse_reply(struct reply *r, size_t len, bool *whole)
{
	char *end = strstr(r->text, "\r\n\r\n"), *cl;
	unsigned long n = 0;

	*whole = false;
	if (!end)
		return 0;
	if (sscanf(r->text, "HTTP/1.%*1[01] %3d", &r->status) != 1)
		return -1;
	*end = 0;
	for (cl = r->text; (cl = strstr(cl, "\r\n"));)
		if (!strncasecmp(cl += 2, "Content-Length:", 15))
			n = strtoul(cl + 15, NULL, 10);
	*end = '\r';
	r->body = end + 4;
	if (n > REPLY_MAX || (size_t)(r->body - r->text) + n > REPLY_MAX)
		return -1;
	*whole = (size_t)(r->body - r->text) + n <= len;
	if (*whole)
		r->body[n] = 0;
	return 0;
}

/* One request on a connection of its own. 0, or -1 with err. */
static int api_call(const char *sock, const char *method, const char *path, const char *body,
		    struct reply *r, char *err, size_t errsz)
{
	char head[256];
	size_t len = 0, blen = body ? strlen(body) : 0;
	int fd = connect_api(sock, err, errsz), n;
	bool whole = false;

	if (fd < 0)
		return -1;
	n = snprintf(head, sizeof(head),
		     "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		     method, path, blen);
	if (send(fd, head, (size_t)n, MSG_NOSIGNAL) != n ||
	    (blen && send(fd, body, blen, MSG_NOSIGNAL) != (ssize_t)blen))
		goto io_error;
	while (!whole && len < REPLY_MAX) {
		ssize_t got = recv(fd, r->text + len, REPLY_MAX - len, 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got == 0)
			errno = 0;
		if (got <= 0)
			goto io_error;
		len += (size_t)got;
		r->text[len] = 0;
		if (parse_reply(r, len, &whole))
			break;
	}
	close(fd);
	if (whole)
		return 0;
	snprintf(err, errsz, "%s %s: the API's answer makes no sense", method, path);
	return -1;

io_error:
	snprintf(err, errsz, "%s %s: %s", method, path,
		 errno ? strerror(errno) : "the API closed the connection");
	close(fd);
	return -1;
}

/* The answer's fault_message (or the HTTP layer's "error"), or its text. */
static void reply_fault(const struct reply *r, char *err, size_t errsz)
{
	json_t *j = json_loads(r->body, 0, NULL);
	json_t *m = j ? json_object_get(j, "fault_message") : NULL;

	if (!m && j)
		m = json_object_get(j, "error");
	snprintf(err, errsz, "%.400s",
		 json_is_string(m) ? json_string_value(m) : "the API answered without a reason");
	json_decref(j);
}

/* A call that must answer `want`. */
static int api_want(const char *sock, const char *method, const char *path, json_t *body, int want,
		    struct reply *r, char *err, size_t errsz)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int ret;

	json_decref(body);
	ret = api_call(sock, method, path, text, r, err, errsz);
	free(text);
	if (!ret && r->status != want) {
		reply_fault(r, err, errsz);
		ret = -1;
	}
	return ret;
}

/* `path` made absolute against our working directory. */
static int absolute(const char *path, char *out, size_t size)
{
	char cwd[CONFIG_PATH_MAX];

	if (path[0] == '/')
		return (size_t)snprintf(out, size, "%s", path) < size ? 0 : -1;
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	return (size_t)snprintf(out, size, "%s/%s", cwd, path) < size ? 0 : -1;
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

int cli_snapshot_run(const char *sock, const char *state, const char *mem, bool diff)
{
	static char abs_state[CONFIG_PATH_MAX], abs_mem[CONFIG_PATH_MAX];
	static struct reply r;
	char err[512], err2[512];
	const char *vm_state = NULL;
	bool running;
	uint64_t t0;
	json_t *info;
	int ret;

	if (absolute(state, abs_state, sizeof(abs_state)) ||
	    absolute(mem, abs_mem, sizeof(abs_mem))) {
		log_msg("snapshot: a path longer than %d bytes", CONFIG_PATH_MAX - 1);
		return VM_STATUS_ERROR;
	}
	if (api_want(sock, "GET", "/", NULL, 200, &r, err, sizeof(err))) {
		log_msg("snapshot: %s", err);
		return VM_STATUS_ERROR;
	}
	info = json_loads(r.body, 0, NULL);
	if (info && json_is_string(json_object_get(info, "state")))
		vm_state = json_string_value(json_object_get(info, "state"));
	if (!vm_state || (strcmp(vm_state, "Running") && strcmp(vm_state, "Paused"))) {
		log_msg("snapshot: the VM of '%s' is %s", sock,
			vm_state ? "not started" : "in no state petrel knows");
		json_decref(info);
		return VM_STATUS_ERROR;
	}
	running = !strcmp(vm_state, "Running");
	json_decref(info);
	t0 = now_ms();
	if (running && api_want(sock, "PATCH", "/vm", json_pack("{s:s}", "state", "Paused"), 204,
				&r, err, sizeof(err))) {
		log_msg("snapshot: pausing the VM: %s", err);
		return VM_STATUS_ERROR;
	}
	ret = api_want(sock, "PUT", "/snapshot/create",
		       json_pack("{s:s, s:s, s:s}", "snapshot_type", diff ? "Diff" : "Full",
				 "snapshot_path", abs_state, "mem_file_path", abs_mem),
		       204, &r, err, sizeof(err));
	/* Resumed whatever happened: a failed snapshot must not leave the
	 * VM stopped. */
	if (running && api_want(sock, "PATCH", "/vm", json_pack("{s:s}", "state", "Resumed"), 204,
				&r, err2, sizeof(err2))) {
		if (ret)
			log_msg("snapshot: %s; resuming the VM: %s", err, err2);
		else
			log_msg("snapshot: written, but resuming the VM failed: %s", err2);
		return VM_STATUS_ERROR;
	}
	if (ret) {
		log_msg("snapshot: %s", err);
		return VM_STATUS_ERROR;
	}
	printf("snapshot: %s and %s%s (the VM %s %llu ms)\n", abs_state, abs_mem,
	       diff ? ", a diff" : "", running ? "paused for" : "stayed paused; took",
	       (unsigned long long)(now_ms() - t0));
	return fflush(stdout) ? VM_STATUS_ERROR : 0;
}

int cli_snapshot_merge(const char *base, const char *diff)
{
	char why[MEMFILE_WHY_MAX] = "";
	int base_fd = open(base, O_RDWR | O_CLOEXEC), diff_fd = -1, err;

	if (base_fd < 0) {
		log_msg("snapshot-merge: '%s': %s", base, strerror(errno));
		return VM_STATUS_ERROR;
	}
	/* O_NONBLOCK: a FIFO named as the diff must not hang the open (it
	 * is refused as not a regular file). */
	diff_fd = open(diff, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (diff_fd < 0) {
		log_msg("snapshot-merge: '%s': %s", diff, strerror(errno));
		close(base_fd);
		return VM_STATUS_ERROR;
	}
	err = memfile_merge(base_fd, diff_fd, why);
	close(diff_fd);
	if (close(base_fd) && !err) {
		err = -errno;
		snprintf(why, sizeof(why), "the base: %s", strerror(errno));
	}
	if (err) {
		log_msg("snapshot-merge: '%s' onto '%s': %s", diff, base, why);
		return VM_STATUS_ERROR;
	}
	printf("snapshot-merge: '%s' applied onto '%s'\n", diff, base);
	return fflush(stdout) ? VM_STATUS_ERROR : 0;
}

int cli_migrate_run(const char *sock, const char *dest, const char *downtime_ms)
{
	static char abs_dest[CONFIG_PATH_MAX + 8];
	static struct reply r;
	unsigned long ms = 0;
	char err[512], *end;
	json_t *body, *ans;

	if (!strncmp(dest, "unix:", 5)) {
		memcpy(abs_dest, "unix:", 5);
		if (!dest[5] || absolute(dest + 5, abs_dest + 5, sizeof(abs_dest) - 5)) {
			log_msg("migrate: '%s': a unix socket path of 1..%d bytes", dest,
				CONFIG_PATH_MAX - 1);
			return VM_STATUS_ERROR;
		}
		dest = abs_dest;
	}
	if (downtime_ms) {
		errno = 0;
		ms = strtoul(downtime_ms, &end, 10);
		if (*downtime_ms < '0' || *downtime_ms > '9' || *end || errno || !ms ||
		    ms > 60000) {
			log_msg("migrate: DOWNTIME_MS '%s': must be 1..60000", downtime_ms);
			return VM_STATUS_ERROR;
		}
	}
	body = ms ? json_pack("{s:s, s:I}", "destination", dest, "downtime_ms", (json_int_t)ms)
		  : json_pack("{s:s}", "destination", dest);
	if (api_want(sock, "PUT", "/migrate", body, 200, &r, err, sizeof(err))) {
		log_msg("migrate: %s", err);
		return VM_STATUS_ERROR;
	}
	ans = json_loads(r.body, 0, NULL);
	printf("migrate: the VM went to %s in %lld ms (stopped for %lld us, %lld rounds)\n", dest,
	       (long long)json_integer_value(json_object_get(ans, "total_ms")),
	       (long long)json_integer_value(json_object_get(ans, "downtime_us")),
	       (long long)json_integer_value(json_object_get(ans, "rounds")));
	json_decref(ans);
	return fflush(stdout) ? VM_STATUS_ERROR : 0;
}
