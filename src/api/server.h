/* SPDX-License-Identifier: MIT */
/*
 * The REST API server: HTTP/1.1 on a unix socket, served by its own thread
 * ("api", with its own seccomp filter). Requests are parsed (http.h) and
 * routed (routes.h) on that thread; the VMM thread carries each one out
 * through `execute`, one at a time, and the answer goes back to the
 * client. The API thread never touches VM state.
 *
 * Clients are hostile or sloppy: at most API_MAX_CONNECTIONS at once (one
 * more gets a 503 and is closed), lines of at most 1 KiB, bodies of at
 * most the payload limit, one request per connection in progress (a
 * pipelined one waits in the kernel's socket buffer, unread, until the
 * answer to the one before has been sent), and a connection that stalls
 * with a request half sent or an answer unread for stall_ms is closed. Nothing a client does blocks the VMM thread, the vCPUs or other
 * clients, and each connection holds at most one request and one answer.
 */
#ifndef PETREL_API_SERVER_H
#define PETREL_API_SERVER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "api/request.h"
#include "evloop.h"
#include "log.h"

#define API_MAX_CONNECTIONS 10
#define API_STALL_MS 10000 /* the default stall_ms */

struct api_server_config {
	const char *path;   /* the unix socket */
	size_t max_payload; /* largest request body, bytes */
	unsigned int stall_ms;
};

struct api_server;
struct sandbox_filter;

/* Carry out `req` on the VMM thread and fill `res` (status, body, fault). */
typedef void (*api_execute_fn)(void *opaque, const struct api_request *req, struct api_result *res);

/* Per-endpoint request counts and failures, and the VMM thread's time per
 * call; counted by the API thread, read by anyone (relaxed). */
struct api_stats {
	_Atomic uint64_t count[API_NACTIONS];
	_Atomic uint64_t fails[API_NACTIONS];
	_Atomic uint64_t latency_us_sum[API_NACTIONS];
	_Atomic uint64_t latency_us_max[API_NACTIONS];
	_Atomic uint64_t bad_requests; /* malformed HTTP or an unknown route */
	_Atomic uint64_t refused;      /* connections over the limit */
	_Atomic uint64_t dropped;      /* connections closed for stalling */
};

/* Listen on cfg->path (a stale socket file there is replaced; mode 0600);
 * requests will reach `execute` through `vmm_ev` (the VMM thread's loop).
 * `filter` (may be NULL: none) is the api role's seccomp filter, installed
 * by the thread first. No thread yet: a jail comes between the two (the
 * socket is bound outside it, jail.h wants one thread). 0, or -errno
 * after one message naming the path. */
int api_server_open(struct api_server **out, const struct api_server_config *cfg,
		    struct evloop *vmm_ev, api_execute_fn execute, void *opaque,
		    const struct sandbox_filter *filter) MUST_CHECK;

/* Start the API thread of an opened server. 0, or -errno after one
 * message (the caller stops the server). */
int api_server_run(struct api_server *s) MUST_CHECK;

/* api_server_open and api_server_run at once. */
int api_server_start(struct api_server **out, const struct api_server_config *cfg,
		     struct evloop *vmm_ev, api_execute_fn execute, void *opaque,
		     const struct sandbox_filter *filter) MUST_CHECK;

/* VMM thread: the request it left deferred (res->deferred) is done:
 * res is filled, the answer goes to the client. */
void api_server_answer(struct api_server *s);

/* The server's counters (valid until api_server_stop). */
const struct api_stats *api_server_stats(const struct api_server *s);

/* Stop the thread, close every connection, remove the socket file. A
 * request the VMM thread is carrying out finishes first (call from the VMM
 * thread, whose loop then no longer dispatches). NULL is a no-op. */
void api_server_stop(struct api_server *s);

#endif
