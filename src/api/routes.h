/* SPDX-License-Identifier: MIT */
/*
 * The REST API's routes: which method and path is which action, and the
 * reading of its JSON body into a typed request (request.h), with
 * Firecracker's answers to what does not fit: unknown routes, missing or
 * unexpected bodies, bad JSON, bad or mismatched ids. Runs on the API
 * thread; touches no VM state.
 */
#ifndef PETREL_API_ROUTES_H
#define PETREL_API_ROUTES_H

#include <stddef.h>

#include "api/http.h"
#include "api/request.h"
#include "log.h"

struct api_route {
	enum http_method method;
	const char *path; /* OpenAPI form: "/drives/{drive_id}" */
	enum api_action action;
	/* Read the body into r (NULL: the route takes no body). `id` is the
	 * path's id, or NULL for routes without one. 0 or -EINVAL with err. */
	int (*body)(const json_t *v, const char *id, struct api_request *r, char *err,
		    size_t errsz);
};

/* Every route petrel serves (the OpenAPI test compares them with
 * docs/openapi.yaml). */
extern const struct api_route api_routes[];
extern const size_t api_nroutes;

/* Route one request: fills *r and returns 0, or returns -EINVAL with the
 * fault_message of the 400 in fault. `body` may be NULL (len 0). */
int api_route(enum http_method method, const char *path, const void *body, size_t len,
	      struct api_request *r, char *fault, size_t faultsz) MUST_CHECK;

/* The route's path for metrics and logs ("/drives/{drive_id}"), by action. */
const char *api_action_path(enum api_action a);
/* Firecracker's metric name of the action's endpoint ("drive", "actions"). */
const char *api_action_metric(enum api_action a);

#endif
