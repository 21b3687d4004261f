/* SPDX-License-Identifier: MIT */
#include "api/routes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "json_in.h"

/* ------------------------------------------------------------- bodies */

static int body_machine(const json_t *v, const char *id, struct api_request *r, char *err,
			size_t errsz)
{
	(void)id;
	return config_json_machine(v, r->action == API_PATCH_MACHINE, &r->u.machine, &r->present,
				   err, errsz);
}

static int body_boot(const json_t *v, const char *id, struct api_request *r, char *err,
		     size_t errsz)
{
	(void)id;
	return config_json_boot_source(v, &r->u.boot, err, errsz);
}

/* Firecracker's check: the body names the resource the path names. */
static int same_id(const char *path_id, const char *body_id, char *err, size_t errsz)
{
	if (!strcmp(path_id, body_id))
		return 0;
	snprintf(err, errsz, "The id from the path does not match the id from the body!");
	return -ENOENT; /* not a JSON error: the message stands alone */
}

static int body_drive(const json_t *v, const char *id, struct api_request *r, char *err,
		      size_t errsz)
{
	if (r->action == API_PUT_DRIVE)
		return config_json_drive(v, &r->u.drive, err, errsz)
			   ?: same_id(id, r->u.drive.id, err, errsz);
	return config_json_drive_patch(v, &r->u.drive_patch, &r->present, err, errsz)
		   ?: same_id(id, r->u.drive_patch.id, err, errsz);
}

static int body_net(const json_t *v, const char *id, struct api_request *r, char *err, size_t errsz)
{
	if (r->action == API_PUT_NET)
		return config_json_net(v, &r->u.net, err, errsz)
			   ?: same_id(id, r->u.net.id, err, errsz);
	return config_json_net_patch(v, &r->u.net_patch, &r->present, err, errsz)
		   ?: same_id(id, r->u.net_patch.id, err, errsz);
}

static int body_vsock(const json_t *v, const char *id, struct api_request *r, char *err,
		      size_t errsz)
{
	(void)id;
	return config_json_vsock(v, &r->u.vsock, err, errsz);
}

static int body_balloon(const json_t *v, const char *id, struct api_request *r, char *err,
			size_t errsz)
{
	static const struct json_in_field amount[] = {
		{ "amount_mib", JIN_U32, true, 0, 0, 0, NULL, NULL },
	};
	static const struct json_in_field interval[] = {
		{ "stats_polling_interval_s", JIN_U32, true, 0, 0, 0, NULL, NULL },
	};

	(void)id;
	if (r->action == API_PUT_BALLOON)
		return config_json_balloon(v, &r->u.balloon, err, errsz);
	if (r->action == API_PATCH_BALLOON)
		return json_in_object(v, amount, 1, &r->u.amount_mib, NULL, err, errsz);
	return json_in_object(v, interval, 1, &r->u.stats_polling_interval_s, NULL, err, errsz);
}

static int body_entropy(const json_t *v, const char *id, struct api_request *r, char *err,
			size_t errsz)
{
	(void)id;
	return config_json_entropy(v, &r->u.rng, err, errsz);
}

static int body_logger(const json_t *v, const char *id, struct api_request *r, char *err,
		       size_t errsz)
{
	(void)id;
	return config_json_logger(v, &r->u.logger, err, errsz);
}

static int body_metrics(const json_t *v, const char *id, struct api_request *r, char *err,
			size_t errsz)
{
	(void)id;
	return config_json_metrics(v, &r->u.metrics, err, errsz);
}

static int body_actions(const json_t *v, const char *id, struct api_request *r, char *err,
			size_t errsz)
{
	static const char *const types[] = { "InstanceStart", "SendCtrlAltDel", "FlushMetrics",
					     NULL };
	static const struct json_in_field f[] = {
		{ "action_type", JIN_ENUM, true, 0, 0, 0, types, NULL },
	};
	static const enum api_action of[] = { API_ACTION_START, API_ACTION_CTRL_ALT_DEL,
					      API_ACTION_FLUSH_METRICS };
	int type;

	(void)id;
	if (json_in_object(v, f, ARRAY_SIZE(f), &type, NULL, err, errsz))
		return -EINVAL;
	r->action = of[type];
	return 0;
}

static int body_vm(const json_t *v, const char *id, struct api_request *r, char *err, size_t errsz)
{
	static const char *const states[] = { "Paused", "Resumed", NULL };
	static const struct json_in_field f[] = {
		{ "state", JIN_ENUM, true, 0, 0, 0, states, NULL },
	};
	int state;

	(void)id;
	if (json_in_object(v, f, ARRAY_SIZE(f), &state, NULL, err, errsz))
		return -EINVAL;
	r->u.pause = state == 0;
	return 0;
}

/* -------------------------------------------------------------- table */

const struct api_route api_routes[] = {
	{ HTTP_GET, "/", API_GET_INFO, NULL },
	{ HTTP_GET, "/version", API_GET_VERSION, NULL },
	{ HTTP_GET, "/vm/config", API_GET_VM_CONFIG, NULL },
	{ HTTP_GET, "/machine-config", API_GET_MACHINE, NULL },
	{ HTTP_PUT, "/machine-config", API_PUT_MACHINE, body_machine },
	{ HTTP_PATCH, "/machine-config", API_PATCH_MACHINE, body_machine },
	{ HTTP_PUT, "/boot-source", API_PUT_BOOT_SOURCE, body_boot },
	{ HTTP_PUT, "/drives/{drive_id}", API_PUT_DRIVE, body_drive },
	{ HTTP_PATCH, "/drives/{drive_id}", API_PATCH_DRIVE, body_drive },
	{ HTTP_PUT, "/network-interfaces/{iface_id}", API_PUT_NET, body_net },
	{ HTTP_PATCH, "/network-interfaces/{iface_id}", API_PATCH_NET, body_net },
	{ HTTP_PUT, "/vsock", API_PUT_VSOCK, body_vsock },
	{ HTTP_GET, "/balloon", API_GET_BALLOON, NULL },
	{ HTTP_PUT, "/balloon", API_PUT_BALLOON, body_balloon },
	{ HTTP_PATCH, "/balloon", API_PATCH_BALLOON, body_balloon },
	{ HTTP_GET, "/balloon/statistics", API_GET_BALLOON_STATS, NULL },
	{ HTTP_PATCH, "/balloon/statistics", API_PATCH_BALLOON_STATS, body_balloon },
	{ HTTP_PUT, "/entropy", API_PUT_ENTROPY, body_entropy },
	{ HTTP_PUT, "/logger", API_PUT_LOGGER, body_logger },
	{ HTTP_PUT, "/metrics", API_PUT_METRICS, body_metrics },
	{ HTTP_PUT, "/actions", API_ACTION_START, body_actions },
	{ HTTP_PATCH, "/vm", API_PATCH_VM, body_vm },
	{ HTTP_GET, "/metrics", API_GET_METRICS, NULL },
};
const size_t api_nroutes = ARRAY_SIZE(api_routes);

static const char *const action_metric[API_NACTIONS] = {
	[API_GET_INFO] = "instance_info",
	[API_GET_VERSION] = "vmm_version",
	[API_GET_VM_CONFIG] = "vm_config",
	[API_GET_MACHINE] = "machine_cfg",
	[API_PUT_MACHINE] = "machine_cfg",
	[API_PATCH_MACHINE] = "machine_cfg",
	[API_PUT_BOOT_SOURCE] = "boot_source",
	[API_PUT_DRIVE] = "drive",
	[API_PATCH_DRIVE] = "drive",
	[API_PUT_NET] = "network",
	[API_PATCH_NET] = "network",
	[API_PUT_VSOCK] = "vsock",
	[API_GET_BALLOON] = "balloon",
	[API_PUT_BALLOON] = "balloon",
	[API_PATCH_BALLOON] = "balloon",
	[API_GET_BALLOON_STATS] = "balloon_stats",
	[API_PATCH_BALLOON_STATS] = "balloon_stats",
	[API_PUT_ENTROPY] = "entropy",
	[API_PUT_LOGGER] = "logger",
	[API_PUT_METRICS] = "metrics",
	[API_ACTION_START] = "actions",
	[API_ACTION_CTRL_ALT_DEL] = "actions",
	[API_ACTION_FLUSH_METRICS] = "actions",
	[API_PATCH_VM] = "vm",
	[API_GET_METRICS] = "prometheus",
};

const char *api_action_metric(enum api_action a)
{
	return a < API_NACTIONS ? action_metric[a] : "?";
}

const char *api_action_path(enum api_action a)
{
	if (a == API_ACTION_CTRL_ALT_DEL || a == API_ACTION_FLUSH_METRICS)
		a = API_ACTION_START;
	for (size_t i = 0; i < api_nroutes; i++)
		if (api_routes[i].action == a)
			return api_routes[i].path;
	return "?";
}

/* ------------------------------------------------------------ routing */

/* Does `path` match the template? Sets *id to the {…} segment's text (in
 * idbuf) for templates with one. Trailing slashes do not count, as in
 * Firecracker (split_terminator). */
static bool path_match(const char *tmpl, const char *path, char *idbuf, size_t idsz, bool *has_id)
{
	const char *brace = strchr(tmpl, '{');
	size_t plen = strlen(path), fixed;

	while (plen > 1 && path[plen - 1] == '/')
		plen--;
	if (!brace) {
		*has_id = false;
		return plen == strlen(tmpl) && !strncmp(tmpl, path, plen);
	}
	fixed = (size_t)(brace - tmpl); /* "/drives/" */
	/* "/drives" (and "/drives/") name the collection: an empty id. */
	if ((plen == fixed - 1 && !strncmp(path, tmpl, fixed - 1)) ||
	    (plen >= fixed && !strncmp(path, tmpl, fixed) &&
	     !memchr(path + fixed, '/', plen - fixed))) {
		size_t n = plen >= fixed ? plen - fixed : 0;

		*has_id = true;
		if (n >= idsz)
			n = idsz - 1; /* too long: config_id_valid says so */
		memcpy(idbuf, path + (plen >= fixed ? fixed : plen), n);
		idbuf[n] = 0;
		return true;
	}
	return false;
}

static int route_body(const struct api_route *rt, const char *id, const void *body, size_t len,
		      struct api_request *r, char *fault, size_t faultsz)
{
	char err[JSON_ERR_MAX];
	json_t *v;
	int ret;

	if (!len) {
		snprintf(fault, faultsz, "Empty %s request.", http_method_name(rt->method));
		return -EINVAL;
	}
	v = json_in_parse(body, len, err, sizeof(err));
	ret = v ? rt->body(v, id, r, err, sizeof(err)) : -EINVAL;
	json_decref(v);
	if (ret == -ENOENT)
		snprintf(fault, faultsz, "%s", err);
	else if (ret)
		snprintf(fault, faultsz,
			 "An error occurred when deserializing the json body of a request: %s.",
			 err);
	return ret ? -EINVAL : 0;
}

int api_route(enum http_method method, const char *path, const void *body, size_t len,
	      struct api_request *r, char *fault, size_t faultsz)
{
	char id[CONFIG_ID_MAX + 1];

	for (size_t i = 0; i < api_nroutes; i++) {
		const struct api_route *rt = &api_routes[i];
		bool has_id;

		if (rt->method != method || !path_match(rt->path, path, id, sizeof(id), &has_id))
			continue;
		*r = (struct api_request){ .action = rt->action };
		if (has_id && !id[0]) {
			snprintf(fault, faultsz, "The ID cannot be empty.");
			return -EINVAL;
		}
		if (has_id && !config_id_valid(id)) {
			snprintf(fault, faultsz,
				 "API Resource IDs can only contain alphanumeric "
				 "characters and underscores.");
			return -EINVAL;
		}
		if (!rt->body) {
			if (!len)
				return 0;
			snprintf(fault, faultsz, "%s request cannot have a body.",
				 http_method_name(method));
			return -EINVAL;
		}
		return route_body(rt, has_id ? id : NULL, body, len, r, fault, faultsz);
	}
	snprintf(fault, faultsz, "Invalid request method and/or path: %s %.256s.",
		 http_method_name(method), path);
	return -EINVAL;
}
