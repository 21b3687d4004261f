/* SPDX-License-Identifier: MIT */
#include "api/server.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/http.h"
#include "api/routes.h"
#include "sandbox/seccomp.h"
#include "uds.h"

#define TAG_LISTEN UINT32_MAX
#define TAG_DONE (UINT32_MAX - 1)
#define TAG_STOP (UINT32_MAX - 2)
#define API_READ_CHUNK 4096

struct api_conn {
	int fd; /* -1: a free slot */
	struct http_parser parser;
	char in[API_READ_CHUNK]; /* read, not yet parsed */
	size_t in_off, in_len;
	struct http_request req; /* the request in progress (queued or executing) */
	bool has_req;
	char *out; /* the answer being sent */
	size_t out_off, out_len;
	bool closing;	      /* close once `out` is sent */
	uint64_t progress_ns; /* last byte in or out */
	uint64_t started_ns;  /* the request's dispatch */
	enum api_action action;
};

struct api_server {
	char *path;
	size_t max_payload;
	uint64_t stall_ns;
	int listen_fd, epfd, done_fd, stop_fd;
	pthread_t thread;
	bool running;
	const struct sandbox_filter *filter;
	struct api_conn conn[API_MAX_CONNECTIONS];
	/* Connections whose request waits for the VMM thread, oldest first. */
	unsigned int queue[API_MAX_CONNECTIONS], nqueued;
	struct api_conn *executing; /* whose request the VMM thread has (NULL if it left) */
	bool vmm_busy;		    /* the VMM thread has a request: req/res are its */

	/* The hand-over: the API thread fills req and signals req_fd; the VMM
	 * thread fills res and signals done_fd. One request at a time, so the
	 * eventfds order every access (no lock). */
	struct evloop *vmm_ev;
	int req_fd;
	api_execute_fn execute;
	void *opaque;
	struct api_request req;
	struct api_result res;

	struct api_stats stats;
};

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static void count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void signal_fd(int fd)
{
	uint64_t one = 1;

	/* Fails only if the counter would overflow: already signalled. */
	if (write(fd, &one, sizeof(one)) < 0)
		return;
}

/* ----------------------------------------------------------- connections */

static void conn_close(struct api_server *s, struct api_conn *c)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	http_parser_reset(&c->parser);
	if (c->has_req)
		http_request_release(&c->req);
	free(c->out);
	for (unsigned int i = 0; i < s->nqueued; i++)
		if (s->queue[i] == (unsigned int)(c - s->conn)) {
			memmove(&s->queue[i], &s->queue[i + 1],
				(s->nqueued - i - 1) * sizeof(s->queue[0]));
			s->nqueued--;
			break;
		}
	if (s->executing == c)
		s->executing = NULL; /* its answer, when it comes, goes nowhere */
	*c = (struct api_conn){ .fd = -1 };
}

/* Watch for what the connection can do next: read when it has no request
 * in progress and nothing to send; write while something is unsent. */
static void conn_watch(struct api_server *s, struct api_conn *c)
{
	struct epoll_event e = { .data.u32 = (uint32_t)(c - s->conn) };

	if (c->fd < 0)
		return;
	e.events = (c->out ? EPOLLOUT : 0) | (!c->out && !c->has_req && !c->closing ? EPOLLIN : 0);
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &e))
		conn_close(s, c);
}

/* Queue an answer (the connection has none pending). */
static void conn_answer(struct api_server *s, struct api_conn *c, const struct http_response *r)
{
	char *text;
	size_t len;

	if (http_response_alloc(r, &text, &len)) {
		conn_close(s, c);
		return;
	}
	c->out = text;
	c->out_off = 0;
	c->out_len = len;
	c->closing |= r->close;
}

/* A 400 (or 5xx) the API thread gives itself: {"fault_message": ...} for a
 * request it could not route, {"error": ...} for HTTP it could not parse
 * (Firecracker's two shapes). */
static void conn_fault(struct api_server *s, struct api_conn *c, int status, const char *key,
		       const char *msg, bool close)
{
	json_t *j = json_pack("{s:s}", key, msg);
	char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	struct http_response r = { .status = status,
				   .close = close || !body,
				   .body = body,
				   .body_len = body ? strlen(body) : 0 };

	conn_answer(s, c, &r);
	free(body);
	json_decref(j);
}

static void dispatch(struct api_server *s);

/* Parse what has been read, up to one request. */
static void conn_parse(struct api_server *s, struct api_conn *c)
{
	while (!c->out && !c->has_req && !c->closing && c->in_off < c->in_len) {
		size_t used = 0;
		enum http_event ev = http_parse(&c->parser, c->in + c->in_off,
						c->in_len - c->in_off, &used, &c->req);

		c->in_off += used;
		if (ev == HTTP_CONTINUE) {
			c->out = strdup(HTTP_CONTINUE_RESPONSE);
			c->out_off = 0;
			c->out_len = c->out ? strlen(c->out) : 0;
			if (!c->out)
				conn_close(s, c);
		} else if (ev == HTTP_REQUEST) {
			c->has_req = true;
			s->queue[s->nqueued++] = (unsigned int)(c - s->conn);
		} else if (ev == HTTP_ERROR) {
			count(&s->stats.bad_requests, 1);
			conn_fault(s, c, c->parser.error.status, "error", c->parser.error.msg,
				   true);
		}
	}
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	dispatch(s);
}

static void conn_read(struct api_server *s, struct api_conn *c)
{
	ssize_t n = read(c->fd, c->in, sizeof(c->in));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) { /* EOF or error: an answer in progress has nowhere to go */
		conn_close(s, c);
		return;
	}
	c->in_off = 0;
	c->in_len = (size_t)n;
	c->progress_ns = now_ns();
	conn_parse(s, c);
}

static void conn_write(struct api_server *s, struct api_conn *c)
{
	while (c->out && c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_close(s, c);
			return;
		}
		c->out_off += (size_t)n;
		c->progress_ns = now_ns();
	}
	free(c->out);
	c->out = NULL;
	if (c->closing) {
		conn_close(s, c);
		return;
	}
	conn_parse(s, c); /* a pipelined request may be read already */
}

/* ------------------------------------------------- the VMM hand-over */

/* Give the oldest queued request to the VMM thread, if it is free. A
 * request that does not route is answered here. */
static void dispatch(struct api_server *s)
{
	while (!s->vmm_busy && s->nqueued) {
		struct api_conn *c = &s->conn[s->queue[0]];
		char fault[API_FAULT_MAX];

		memmove(&s->queue[0], &s->queue[1], --s->nqueued * sizeof(s->queue[0]));
		log_info("The API server received a %s request on \"%s\".",
			 http_method_name(c->req.method), c->req.path);
		if (api_route(c->req.method, c->req.path, c->req.body, c->req.body_len, &s->req,
			      fault, sizeof(fault))) {
			count(&s->stats.bad_requests, 1);
			c->has_req = false;
			http_request_release(&c->req);
			conn_fault(s, c, 400, "fault_message", fault, !c->req.keep_alive);
			conn_watch(s, c);
			continue;
		}
		c->action = s->req.action;
		c->started_ns = now_ns();
		s->res = (struct api_result){ 0 };
		s->executing = c;
		s->vmm_busy = true;
		signal_fd(s->req_fd);
	}
}

/* VMM thread: carry out the request, then hand the result back. */
static void vmm_on_request(void *opaque, uint32_t events)
{
	struct api_server *s = opaque;
	uint64_t v;

	(void)events;
	if (read(s->req_fd, &v, sizeof(v)) != sizeof(v))
		return;
	s->execute(s->opaque, &s->req, &s->res);
	if (!s->res.deferred)
		signal_fd(s->done_fd);
}

void api_server_answer(struct api_server *s)
{
	s->res.deferred = false;
	signal_fd(s->done_fd);
}

/* API thread: the VMM thread is done with the request. */
static void on_done(struct api_server *s)
{
	struct api_conn *c = s->executing;
	struct api_result *res = &s->res;
	uint64_t v, us;

	if (read(s->done_fd, &v, sizeof(v)) != sizeof(v))
		return;
	s->executing = NULL;
	s->vmm_busy = false;
	if (c) {
		enum api_action a = c->action;
		struct http_response r = { .status = res->status,
					   .close = !c->req.keep_alive,
					   .deprecation = s->req.deprecated,
					   .content_type = res->content_type,
					   .body = res->body,
					   .body_len = res->body ? strlen(res->body) : 0 };

		us = (now_ns() - c->started_ns) / 1000;
		count(&s->stats.count[a], 1);
		count(&s->stats.latency_us_sum[a], us);
		if (us > atomic_load_explicit(&s->stats.latency_us_max[a], memory_order_relaxed))
			atomic_store_explicit(&s->stats.latency_us_max[a], us,
					      memory_order_relaxed);
		log_debug("Total previous API call duration: %llu us.", (unsigned long long)us);
		c->has_req = false;
		http_request_release(&c->req);
		if (res->status >= 400) {
			count(&s->stats.fails[a], 1);
			conn_fault(s, c, res->status, "fault_message", res->fault, r.close);
		} else {
			conn_answer(s, c, &r);
		}
		if (c->fd >= 0)
			conn_watch(s, c);
	}
	free(res->body);
	res->body = NULL;
	dispatch(s);
}

/* ------------------------------------------------------------ the thread */

/* Stopping: the answer the VMM thread gave just before (a migration's,
 * whose success stops the source) still goes out, if the socket takes
 * it at once. */
static void flush_last(struct api_server *s)
{
	on_done(s);
	for (unsigned int i = 0; i < API_MAX_CONNECTIONS; i++)
		if (s->conn[i].fd >= 0 && s->conn[i].out)
			conn_write(s, &s->conn[i]);
}

static void accept_all(struct api_server *s)
{
	/* Bounded: a flood of connections waits for the next round. */
	for (unsigned int tries = 0; tries < 2 * API_MAX_CONNECTIONS; tries++) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event e = { .events = EPOLLIN };
		struct api_conn *c = NULL;

		if (fd < 0)
			return;
		for (unsigned int i = 0; i < API_MAX_CONNECTIONS && !c; i++)
			if (s->conn[i].fd < 0)
				c = &s->conn[i];
		if (!c) {
			static const char busy[] = "HTTP/1.1 503 \r\nServer: petrel API\r\n"
						   "Connection: close\r\n"
						   "Content-Type: application/json\r\n"
						   "Content-Length: 35\r\n\r\n"
						   "{\"error\":\"Too many open connections\"}";

			count(&s->stats.refused, 1);
			/* Best effort: it is closed either way. */
			if (send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
				/* nothing more to do */
			}
			close(fd);
			continue;
		}
		e.data.u32 = (uint32_t)(c - s->conn);
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &e)) {
			close(fd);
			continue;
		}
		*c = (struct api_conn){ .fd = fd, .progress_ns = now_ns() };
		http_parser_init(&c->parser, s->max_payload);
	}
}

/* A connection with a request half sent, or an answer it does not read,
 * that has made no progress for API_STALL_MS holds a slot for nothing. */
static void drop_stalled(struct api_server *s)
{
	uint64_t now = now_ns();

	for (unsigned int i = 0; i < API_MAX_CONNECTIONS; i++) {
		struct api_conn *c = &s->conn[i];
		bool partial = c->in_len || c->out || c->parser.state != HTTP_PS_REQUEST_LINE ||
			       c->parser.line_len;

		if (c->fd >= 0 && partial && !c->has_req && now - c->progress_ns > s->stall_ns) {
			count(&s->stats.dropped, 1);
			log_info("API: closing a connection that stalled for %llu ms",
				 (unsigned long long)(s->stall_ns / 1000000));
			conn_close(s, c);
		}
	}
}

static void *api_thread(void *opaque)
{
	struct api_server *s = opaque;
	struct epoll_event ev[API_MAX_CONNECTIONS + 3];
	int err = 0;

	pthread_setname_np(pthread_self(), "petrel-api");
	log_set_thread("api");
	if (s->filter)
		err = sandbox_install(s->filter);
	if (err) {
		log_msg("api: seccomp filter: %s", strerror(-err));
		return NULL;
	}
	for (;;) {
		int n = epoll_wait(s->epfd, ev, (int)ARRAY_SIZE(ev), 1000);

		if (n < 0 && errno != EINTR) {
			log_msg("api: epoll_wait: %m");
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			uint32_t tag = ev[i].data.u32;
			struct api_conn *c;

			if (tag == TAG_STOP) {
				flush_last(s);
				return NULL;
			}
			if (tag == TAG_LISTEN) {
				accept_all(s);
				continue;
			}
			if (tag == TAG_DONE) {
				on_done(s);
				continue;
			}
			c = &s->conn[tag];
			if (c->fd < 0)
				continue; /* closed earlier in this batch */
			if (ev[i].events & EPOLLOUT)
				conn_write(s, c);
			else if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				conn_read(s, c);
			if (c->fd >= 0)
				conn_watch(s, c);
		}
		drop_stalled(s);
	}
}

/* ----------------------------------------------------------------- setup */

static int add_fd(int epfd, int fd, uint32_t tag)
{
	struct epoll_event e = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) ? -errno : 0;
}

static int api_listen(struct api_server *s, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path));
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return -errno;
	err = uds_bind(s->listen_fd, &sa);
	if (err)
		return err;
	s->path = strdup(path);
	/* Owner only, before listen(): until then connecting is refused, so
	 * no one slips in under the umask's mode. */
	if (!s->path || chmod(path, 0600) || listen(s->listen_fd, API_MAX_CONNECTIONS)) {
		err = s->path ? -errno : -ENOMEM;
		unlink(path);
		return err;
	}
	return 0;
}

int api_server_open(struct api_server **out, const struct api_server_config *cfg,
		    struct evloop *vmm_ev, api_execute_fn execute, void *opaque,
		    const struct sandbox_filter *filter)
{
	const char *path = cfg->path;
	struct api_server *s = calloc(1, sizeof(*s));
	int err;

	*out = NULL;
	if (!s) {
		log_msg("API socket '%s': %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	*s = (struct api_server){ .max_payload = cfg->max_payload,
				  .stall_ns = (uint64_t)cfg->stall_ms * 1000000ULL,
				  .listen_fd = -1,
				  .epfd = -1,
				  .done_fd = -1,
				  .stop_fd = -1,
				  .req_fd = -1,
				  .vmm_ev = vmm_ev,
				  .execute = execute,
				  .opaque = opaque,
				  .filter = filter };
	for (unsigned int i = 0; i < API_MAX_CONNECTIONS; i++)
		s->conn[i].fd = -1;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->req_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	err = s->epfd < 0 || s->done_fd < 0 || s->stop_fd < 0 || s->req_fd < 0 ? -errno : 0;
	if (!err)
		err = api_listen(s, path);
	if (!err)
		err = add_fd(s->epfd, s->listen_fd, TAG_LISTEN) ?: add_fd(s->epfd, s->done_fd, TAG_DONE)
		      ?: add_fd(s->epfd, s->stop_fd, TAG_STOP);
	if (!err)
		err = evloop_add(vmm_ev, s->req_fd, EPOLLIN, vmm_on_request, s);
	if (err) {
		log_msg("API socket '%s': %s", path, uds_strerror(err));
		api_server_stop(s);
		return err;
	}
	*out = s;
	return 0;
}

int api_server_run(struct api_server *s)
{
	int err = -pthread_create(&s->thread, NULL, api_thread, s);

	s->running = !err;
	if (err)
		log_msg("API socket '%s': its thread: %s", s->path, strerror(-err));
	return err;
}

int api_server_start(struct api_server **out, const struct api_server_config *cfg,
		     struct evloop *vmm_ev, api_execute_fn execute, void *opaque,
		     const struct sandbox_filter *filter)
{
	int err = api_server_open(out, cfg, vmm_ev, execute, opaque, filter);

	if (!err) {
		err = api_server_run(*out);
		if (err) {
			api_server_stop(*out);
			*out = NULL;
		}
	}
	return err;
}

const struct api_stats *api_server_stats(const struct api_server *s)
{
	return &s->stats;
}

void api_server_stop(struct api_server *s)
{
	if (!s)
		return;
	if (s->running) {
		signal_fd(s->stop_fd);
		pthread_join(s->thread, NULL);
	}
	if (s->req_fd >= 0)
		evloop_del(s->vmm_ev, s->req_fd);
	for (unsigned int i = 0; i < API_MAX_CONNECTIONS; i++)
		if (s->conn[i].fd >= 0)
			conn_close(s, &s->conn[i]);
	free(s->res.body);
	if (s->path)
		unlink(s->path);
	free(s->path);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->done_fd >= 0)
		close(s->done_fd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	if (s->req_fd >= 0)
		close(s->req_fd);
	free(s);
}
