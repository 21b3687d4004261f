/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the REST API's routing and bodies (api_route, the
 * config_json readers behind it). The input's first byte picks the
 * request line: below api_nroutes, that route's method and path, its
 * {id} (if it has one) being the input's next NUL-terminated string;
 * otherwise method GET/PUT/PATCH/DELETE by the byte, and the path the
 * next NUL-terminated string, whatever its bytes. The rest is the body.
 *
 * A refusal must be one of Firecracker's fault classes. An accepted
 * request must be the route's action and satisfy what the VMM thread
 * relies on: ids valid (and the body's the path's), strings terminated
 * and not empty where they are required, enum values in range, a body
 * exactly when the route takes one.
 *
 * Seeds in fuzz/corpus/api/: the bodies of Firecracker's swagger
 * examples and getting-started guide, on their routes, and bad ones.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STR_OK(s) (memchr((s), 0, sizeof(s)) != NULL)

static const char *const faults[] = {
	"Invalid request method and/or path: ",
	"The ID cannot be empty.",
	"API Resource IDs can only contain alphanumeric characters and underscores.",
	"Empty PUT request.",
	"Empty PATCH request.",
	"GET request cannot have a body.",
	"DELETE request cannot have a body.",
	"An error occurred when deserializing the json body of a request: ",
	"The id from the path does not match the id from the body!",
};

static bool fault_known(const char *fault)
{
	for (size_t i = 0; i < ARRAY_SIZE(faults); i++)
		if (!strncmp(fault, faults[i], strlen(faults[i])))
			return true;
	return false;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* Does the body's id name the path's? (path_id NULL: the path was not
 * built from a route, nothing to compare.) */
static bool same_id(const char *path_id, const char *body_id)
{
	return config_id_valid(body_id) && (!path_id || !strcmp(path_id, body_id));
}

static bool request_ok(const struct api_request *r, const char *path_id)
{
	const struct machine_json *m = &r->u.machine;

	switch (r->action) {
	case API_PUT_MACHINE:
	case API_PATCH_MACHINE:
		return m->huge_pages == 0 && m->cpu_template == 0 && r->present < (1 << 6) &&
		       (r->action == API_PATCH_MACHINE ||
			(r->present & (MACHINE_VCPUS | MACHINE_MEM)) ==
			    (MACHINE_VCPUS | MACHINE_MEM));
	case API_PUT_BOOT_SOURCE:
		return STR_OK(r->u.boot.kernel) && STR_OK(r->u.boot.initrd) &&
		       STR_OK(r->u.boot.cmdline) && r->u.boot.kernel[0] &&
		       printable(r->u.boot.cmdline);
	case API_PUT_DRIVE:
		return STR_OK(r->u.drive.id) && same_id(path_id, r->u.drive.id) &&
		       STR_OK(r->u.drive.path) && r->u.drive.path[0] &&
		       STR_OK(r->u.drive.partuuid) &&
		       strspn(r->u.drive.partuuid, "0123456789abcdefABCDEF-") ==
			   strlen(r->u.drive.partuuid) &&
		       (r->u.drive.cache == DISK_CACHE_WRITEBACK ||
			r->u.drive.cache == DISK_CACHE_UNSAFE) &&
		       (r->u.drive.io_engine == DISK_IO_ASYNC ||
			r->u.drive.io_engine == DISK_IO_SYNC);
	case API_PATCH_DRIVE:
		return STR_OK(r->u.drive_patch.id) && same_id(path_id, r->u.drive_patch.id) &&
		       STR_OK(r->u.drive_patch.path) &&
		       (!(r->present & DRIVE_PATCH_PATH) || r->u.drive_patch.path[0]);
	case API_PUT_NET:
		return STR_OK(r->u.net.id) && same_id(path_id, r->u.net.id) &&
		       STR_OK(r->u.net.tap) && STR_OK(r->u.net.addr) && STR_OK(r->u.net.remote) &&
		       (r->u.net.kind != NET_TAP || r->u.net.tap[0]) &&
		       (r->u.net.kind == NET_TAP || r->u.net.addr[0]) &&
		       (!r->u.net.mac_set ||
			(!(r->u.net.mac[0] & 1) && memcmp(r->u.net.mac, "\0\0\0\0\0\0", 6)));
	case API_PATCH_NET:
		return STR_OK(r->u.net_patch.id) && same_id(path_id, r->u.net_patch.id);
	case API_PUT_VSOCK:
		return r->u.vsock.cid >= 3 && r->u.vsock.cid != UINT32_MAX &&
		       STR_OK(r->u.vsock.uds) && r->u.vsock.uds[0] && STR_OK(r->u.vsock.id) &&
		       (!r->u.vsock.id[0] || config_id_valid(r->u.vsock.id));
	case API_PUT_BALLOON:
		return r->u.balloon.present;
	case API_PUT_ENTROPY:
		return r->u.rng.present;
	case API_PUT_LOGGER:
		return r->u.logger.set && r->u.logger.level <= LOG_TRACE &&
		       STR_OK(r->u.logger.path) && STR_OK(r->u.logger.module);
	case API_PUT_METRICS:
		return STR_OK(r->u.metrics.path) && r->u.metrics.path[0];
	default:
		return r->action < API_NACTIONS;
	}
}

/* Is `a` what route rt leads to? (/actions leads to one of three.) */
static bool route_action(const struct api_route *rt, enum api_action a)
{
	if (rt->action == API_ACTION_START)
		return a == API_ACTION_START || a == API_ACTION_CTRL_ALT_DEL ||
		       a == API_ACTION_FLUSH_METRICS;
	return a == rt->action;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct api_request r;
	char fault[API_FAULT_MAX], path[1100], id[1024] = "";
	const struct api_route *rt = NULL;
	enum http_method method;
	const uint8_t *p = data + 1, *end = data + size, *nul;
	bool has_id = false;
	int ret;

	if (size < 1)
		return 0;
	if (data[0] < api_nroutes) {
		rt = &api_routes[data[0]];
		method = rt->method;
		has_id = strchr(rt->path, '{') != NULL;
	} else {
		method = (enum http_method)(HTTP_GET + data[0] % 4);
	}
	if (!rt || has_id) {
		/* The next string: the id, or the whole path. */
		nul = memchr(p, 0, (size_t)(end - p));
		if (!nul || (size_t)(nul - p) >= sizeof(id))
			return 0;
		memcpy(id, p, (size_t)(nul - p) + 1);
		p = nul + 1;
	}
	if (!rt)
		snprintf(path, sizeof(path), "%s", id);
	else if (has_id)
		snprintf(path, sizeof(path), "%.*s%s", (int)(strchr(rt->path, '{') - rt->path),
			 rt->path, id);
	else
		snprintf(path, sizeof(path), "%s", rt->path);
	/* Firecracker's route matching ignores trailing slashes. */
	for (size_t n = strlen(id); n > 0 && id[n - 1] == '/'; n--)
		id[n - 1] = 0;

	memset(fault, 0x5a, sizeof(fault));
	ret = api_route(method, path, p == end ? NULL : p, (size_t)(end - p), &r, fault,
			sizeof(fault));
	if (ret) {
		if (ret != -EINVAL || !memchr(fault, 0, sizeof(fault)) || !fault_known(fault)) {
			fprintf(stderr, "api_route %d, fault '%.*s'\n", ret, (int)sizeof(fault),
				fault);
			abort();
		}
		return 0;
	}
	if (rt && !route_action(rt, r.action))
		abort();
	if (!rt) {
		bool found = false;

		for (size_t i = 0; i < api_nroutes; i++)
			found |= api_routes[i].method == method &&
				 route_action(&api_routes[i], r.action);
		if (!found)
			abort();
	}
	/* A body exactly when the route reads one. */
	for (size_t i = 0; i < api_nroutes; i++)
		if (route_action(&api_routes[i], r.action) && api_routes[i].method == method &&
		    !api_routes[i].body != (p == end))
			abort();
	if (!request_ok(&r, rt && has_id ? id : NULL)) {
		fprintf(stderr, "request %d on '%s' breaks its invariants\n", r.action, path);
		abort();
	}
	return 0;
}
