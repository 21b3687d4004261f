/* SPDX-License-Identifier: MIT */
#include "api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "uds.h"
#include "vmm.h"

/* ----------------------------------------------------------------- state */

/* Replies waiting for a slow client, beyond what its socket buffer took.
 * A client that lets more pile up is dropped. */
#define API_OUT_MAX 4096
#define API_REPLY_MAX 1024
#define API_LISTENER UINT32_MAX /* epoll tag of the listening socket */

struct api_client {
	int fd;	      /* -1: free slot */
	bool closing; /* send what is queued, then close */
	size_t in_len;
	char in[API_LINE_MAX];
	size_t out_len;
	char out[API_OUT_MAX];
};

/*
 * The API has its own epoll set (listener and clients), watched by the
 * event loop as one fd: connections come and go without taking event-loop
 * slots. Everything here runs on the event-loop thread; no locks.
 */
struct api {
	struct vm *vm;
	const struct api_balloon_ops *balloon;
	void *balloon_opaque;
	char *path;
	int listen_fd;
	int epfd;
	struct api_client client[API_MAX_CLIENTS];
};

static int api_balloon_set_target(void *opaque, uint64_t bytes)
{
	return virtio_balloon_set_target(opaque, bytes);
}

static int api_balloon_stats(void *opaque, struct balloon_stats *out)
{
	return virtio_balloon_stats(opaque, out);
}

const struct api_balloon_ops api_virtio_balloon = {
	.set_target = api_balloon_set_target,
	.stats = api_balloon_stats,
};

/* ----------------------------------------------------------- connections */

static void api_client_close(struct api *api, struct api_client *c)
{
	epoll_ctl(api->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

/* Send what is queued without blocking, then watch for what is next:
 * requests, room for the rest of the replies, or (closing) only room.
 * A closing client that is done is closed. */
static void api_client_flush(struct api *api, struct api_client *c)
{
	struct epoll_event e = { .data.u32 = (uint32_t)(c - api->client) };

	while (c->out_len) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			api_client_close(api, c);
			return;
		}
		c->out_len -= (size_t)n;
		memmove(c->out, c->out + n, c->out_len);
	}
	if (!c->out_len && c->closing) {
		api_client_close(api, c);
		return;
	}
	/* A closing client is not read again: after EOF its fd would stay
	 * readable and spin the loop. */
	e.events = (c->closing ? 0 : EPOLLIN) | (c->out_len ? EPOLLOUT : 0);
	if (epoll_ctl(api->epfd, EPOLL_CTL_MOD, c->fd, &e))
		api_client_close(api, c);
}

/* Queue one reply line (newline added). A client that let API_OUT_MAX
 * bytes of replies pile up (beyond its socket buffer) is not reading: it
 * is dropped, queued replies and all. */
static void api_reply(struct api_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void api_reply(struct api_client *c, const char *fmt, ...)
{
	char line[API_REPLY_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (c->out_len + (size_t)n > sizeof(c->out)) {
		c->out_len = 0;
		c->closing = true;
		return;
	}
	memcpy(c->out + c->out_len, line, (size_t)n);
	c->out_len += (size_t)n;
}

/* -------------------------------------------------------------- commands */

/* "123" -> 123 MiB in bytes; false for anything else (signs, spaces,
 * suffixes, or a size that does not fit 64 bits). */
static bool api_parse_mib(const char *s, uint64_t *bytes)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX >> 20) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > UINT64_MAX >> 20)
		return false;
	*bytes = v << 20;
	return true;
}

static void api_cmd_balloon(struct api *api, struct api_client *c, const char *arg)
{
	uint64_t bytes;
	int err;

	if (!api->balloon) {
		api_reply(c, "error: no balloon device (start petrel with --balloon)");
		return;
	}
	if (!arg || !api_parse_mib(arg, &bytes)) {
		api_reply(c, "error: usage: balloon MIB");
		return;
	}
	err = api->balloon->set_target(api->balloon_opaque, bytes);
	if (err == -ERANGE)
		api_reply(c, "error: balloon %s MiB: more than guest RAM", arg);
	else if (err)
		api_reply(c, "error: balloon %s MiB: %s", arg, strerror(-err));
	else
		api_reply(c, "ok");
}

static void api_cmd_balloon_stats(struct api *api, struct api_client *c)
{
	struct balloon_stats st;
	char line[API_REPLY_MAX];
	size_t len;
	int err;

	if (!api->balloon) {
		api_reply(c, "error: no balloon device (start petrel with --balloon)");
		return;
	}
	err = api->balloon->stats(api->balloon_opaque, &st);
	if (err) {
		api_reply(c, "error: balloon-stats: %s", strerror(-err));
		return;
	}
	/* 4 KiB balloon pages: 256 to the MiB. Ten statistics of at most 40
	 * bytes each fit the line. */
	len = (size_t)snprintf(line, sizeof(line), "ok actual_mib=%u target_mib=%u",
			       st.actual_pages / 256, st.target_pages / 256);
	for (unsigned int tag = 0; tag < VIRTIO_BALLOON_S_NR; tag++)
		if (st.have & (1u << tag))
			len += (size_t)snprintf(line + len, sizeof(line) - len, " %s=%llu",
						virtio_balloon_stat_name(tag),
						(unsigned long long)st.val[tag]);
	api_reply(c, "%s", line);
}

/* One request line, without its newline, NUL-terminated, no other NUL. */
static void api_command(struct api *api, struct api_client *c, char *line)
{
	char *save = NULL;
	char *cmd = strtok_r(line, " \t", &save);
	char *arg = cmd ? strtok_r(NULL, " \t", &save) : NULL;
	bool extra = arg && strtok_r(NULL, " \t", &save);

	if (!cmd) {
		api_reply(c, "error: unknown command ''");
		return;
	}
	if (!strcmp(cmd, "balloon") && !extra) {
		api_cmd_balloon(api, c, arg);
	} else if (!strcmp(cmd, "balloon-stats") && !arg) {
		api_cmd_balloon_stats(api, c);
	} else if (!strcmp(cmd, "stop") && !arg) {
		/* The reply goes out before the event loop looks at the stop
		 * flag again: api_client_read flushes before it returns. */
		api_reply(c, "ok");
		vm_stop(api->vm, VM_STATUS_OFF, "stopped through the control socket");
	} else if (!strcmp(cmd, "balloon") || !strcmp(cmd, "balloon-stats") ||
		   !strcmp(cmd, "stop")) {
		api_reply(c, "error: usage: balloon MIB | balloon-stats | stop");
	} else {
		/* Echoed back printable only: one reply stays one line. */
		for (char *p = cmd; *p; p++)
			if (*p < 0x20 || *p > 0x7e)
				*p = '?';
		api_reply(c, "error: unknown command '%s'", cmd);
	}
}

/*
 * Bytes from a client. Everything it sends is hostile: lines are cut at
 * '\n' inside the fixed buffer (a trailing '\r' is dropped), a line with
 * a NUL is refused, and a buffer full without a newline ends the
 * connection. One read per event: a busy client cannot starve others.
 */
static void api_client_read(struct api *api, struct api_client *c)
{
	ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
	char *nl;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		/* EOF: replies already queued still go out. */
		c->closing = true;
		api_client_flush(api, c);
		return;
	}
	c->in_len += (size_t)n;
	while (!c->closing && (nl = memchr(c->in, '\n', c->in_len))) {
		size_t len = (size_t)(nl - c->in);

		size_t end = len && c->in[len - 1] == '\r' ? len - 1 : len;

		c->in[end] = '\0';
		if (memchr(c->in, '\0', end))
			api_reply(c, "error: NUL byte in request");
		else
			api_command(api, c, c->in);
		c->in_len -= len + 1;
		memmove(c->in, nl + 1, c->in_len);
	}
	if (!c->closing && c->in_len == sizeof(c->in)) {
		api_reply(c, "error: line too long (at most %d bytes)", API_LINE_MAX - 1);
		c->closing = true;
	}
	api_client_flush(api, c);
}

static void api_accept(struct api *api)
{
	/* Bounded: a flood of connections waits for the next event. */
	for (unsigned int tries = 0; tries < 2 * API_MAX_CLIENTS; tries++) {
		int fd = accept4(api->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct api_client *c = NULL;
		struct epoll_event e = { .events = EPOLLIN };

		if (fd < 0)
			return;
		for (unsigned int i = 0; i < API_MAX_CLIENTS && !c; i++)
			if (api->client[i].fd < 0)
				c = &api->client[i];
		if (!c) {
			static const char busy[] = "error: too many clients\n";

			if (send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
				/* Nothing to do: it is closed either way. */
			}
			close(fd);
			continue;
		}
		e.data.u32 = (uint32_t)(c - api->client);
		if (epoll_ctl(api->epfd, EPOLL_CTL_ADD, fd, &e)) {
			close(fd);
			continue;
		}
		*c = (struct api_client){ .fd = fd };
	}
}

/* The event loop saw our epoll set become ready: dispatch what is. */
static void api_on_event(void *opaque, uint32_t events)
{
	struct api *api = opaque;
	struct epoll_event ev[API_MAX_CLIENTS + 1];
	int n = epoll_wait(api->epfd, ev, (int)ARRAY_SIZE(ev), 0);

	(void)events;
	for (int i = 0; i < n; i++) {
		struct api_client *c;

		if (ev[i].data.u32 == API_LISTENER) {
			api_accept(api);
			continue;
		}
		c = &api->client[ev[i].data.u32];
		if (c->fd < 0)
			continue; /* closed earlier in this batch */
		/* Hung up while we still had replies for it: they cannot go
		 * out, and the hangup would be reported again and again. */
		if (c->closing && (ev[i].events & (EPOLLHUP | EPOLLERR))) {
			api_client_close(api, c);
			continue;
		}
		if (ev[i].events & EPOLLOUT)
			api_client_flush(api, c);
		if (c->fd >= 0 && (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->closing)
			api_client_read(api, c);
	}
}

/* ----------------------------------------------------------------- setup */

int api_create(struct api **out, struct vm *vm, const char *path,
	       const struct api_balloon_ops *balloon, void *balloon_opaque)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event e = { .events = EPOLLIN, .data.u32 = API_LISTENER };
	struct api *api;
	int err;

	*out = NULL;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_msg("--api '%s': path longer than %zu bytes", path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path));
	api = calloc(1, sizeof(*api));
	if (!api || !(api->path = strdup(path))) {
		err = -ENOMEM;
		goto err_alloc;
	}
	api->vm = vm;
	api->balloon = balloon;
	api->balloon_opaque = balloon_opaque;
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++)
		api->client[i].fd = -1;
	api->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (api->epfd < 0) {
		err = -errno;
		goto err_alloc;
	}
	api->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (api->listen_fd < 0) {
		err = -errno;
		goto err_epoll;
	}
	err = uds_bind(api->listen_fd, &sa);
	if (err)
		goto err_socket;
	/* Owner only, before listen(): until then connecting is refused, so
	 * no one slips in under the umask's mode. */
	if (chmod(path, 0600) || listen(api->listen_fd, API_MAX_CLIENTS)) {
		err = -errno;
		goto err_bound;
	}
	if (epoll_ctl(api->epfd, EPOLL_CTL_ADD, api->listen_fd, &e)) {
		err = -errno;
		goto err_bound;
	}
	err = evloop_add(&vm->ev, api->epfd, EPOLLIN, api_on_event, api);
	if (err)
		goto err_bound;
	*out = api;
	return 0;

err_bound:
	unlink(path);
err_socket:
	close(api->listen_fd);
err_epoll:
	close(api->epfd);
err_alloc:
	log_msg("--api '%s': %s", path, uds_strerror(err));
	if (api)
		free(api->path);
	free(api);
	return err;
}

void api_destroy(struct api *api)
{
	if (!api)
		return;
	evloop_del(&api->vm->ev, api->epfd);
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++)
		if (api->client[i].fd >= 0)
			close(api->client[i].fd);
	close(api->listen_fd);
	close(api->epfd);
	unlink(api->path);
	free(api->path);
	free(api);
}
