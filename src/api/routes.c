/* SPDX-License-Identifier: MIT */
#include "api/routes.h"

#include <errno.h>
#include <stddef.h>
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

/* ------------------------------------------------------------ snapshots */

/* A path the VMM will open: not empty. */
static int nonempty(const char *what, const char *v, char *err, size_t errsz)
{
	if (v[0])
		return 0;
	snprintf(err, errsz, "`%s`: empty", what);
	return -EINVAL;
}

static int body_snapshot_create(const json_t *v, struct api_request *r, char *err, size_t errsz)
{
	static const char *const types[] = { "Full", "Diff", NULL };
	struct create_json {
		int type;
		struct snapshot_create_req c;
	} j = { 0 };
	static const struct json_in_field f[] = {
		{ "snapshot_type", JIN_ENUM, false, offsetof(struct create_json, type), 0, 0, types,
		  NULL },
		{ "snapshot_path", JIN_STRING, true, offsetof(struct create_json, c.state),
		  CONFIG_PATH_MAX, 0, NULL, NULL },
		{ "mem_file_path", JIN_STRING, true, offsetof(struct create_json, c.mem),
		  CONFIG_PATH_MAX, 0, NULL, NULL },
	};

	if (json_in_object(v, f, ARRAY_SIZE(f), &j, NULL, err, errsz) ||
	    nonempty("snapshot_path", j.c.state, err, errsz) ||
	    nonempty("mem_file_path", j.c.mem, err, errsz))
		return -EINVAL;
	/* The second file would replace the first. */
	if (!strcmp(j.c.state, j.c.mem)) {
		snprintf(err, errsz, "`snapshot_path` and `mem_file_path` are the same path");
		return -EINVAL;
	}
	r->u.snap_create = j.c;
	r->u.snap_create.diff = j.type == 1;
	return 0;
}

struct mem_backend_json {
	int type;
	char path[CONFIG_PATH_MAX];
};

static int read_mem_backend(const json_t *v, void *out, char *err, size_t errsz)
{
	static const char *const types[] = { "File", "Uffd", NULL };
	static const struct json_in_field f[] = {
		{ "backend_type", JIN_ENUM, true, offsetof(struct mem_backend_json, type), 0, 0,
		  types, NULL },
		{ "backend_path", JIN_STRING, true, offsetof(struct mem_backend_json, path),
		  CONFIG_PATH_MAX, 0, NULL, NULL },
	};

	return json_in_object(v, f, ARRAY_SIZE(f), out, NULL, err, errsz)
		   ?: nonempty("backend_path", ((struct mem_backend_json *)out)->path, err, errsz);
}

static int read_net_overrides(const json_t *v, void *out, char *err, size_t errsz)
{
	struct override_json {
		char id[CONFIG_ID_MAX];
		char tap[CONFIG_IFNAME_MAX];
	};
	static const struct json_in_field f[] = {
		{ "iface_id", JIN_STRING, true, offsetof(struct override_json, id), CONFIG_ID_MAX,
		  0, NULL, NULL },
		{ "host_dev_name", JIN_STRING, true, offsetof(struct override_json, tap),
		  CONFIG_IFNAME_MAX, 0, NULL, NULL },
	};
	struct snapshot_load_req *l = out;
	size_t i;
	json_t *e;

	if (json_array_size(v) > CONFIG_MAX_NETS) {
		snprintf(err, errsz, "at most %d entries", CONFIG_MAX_NETS);
		return -EINVAL;
	}
	json_array_foreach(v, i, e)
	{
		struct override_json o = { 0 };
		char inner[JSON_ERR_MAX];

		if (json_in_object(e, f, ARRAY_SIZE(f), &o, NULL, inner, sizeof(inner)) ||
		    nonempty("host_dev_name", o.tap, inner, sizeof(inner))) {
			snprintf(err, errsz, "[%zu]: %.200s", i, inner);
			return -EINVAL;
		}
		if (!config_id_valid(o.id)) {
			snprintf(err, errsz, "[%zu]: `iface_id`: not a valid id", i);
			return -EINVAL;
		}
		for (size_t k = 0; k < i; k++)
			if (!strcmp(l->net[k].id, o.id)) {
				snprintf(err, errsz, "[%zu]: interface '%s' given twice", i, o.id);
				return -EINVAL;
			}
		memcpy(l->net[i].id, o.id, sizeof(o.id));
		memcpy(l->net[i].tap, o.tap, sizeof(o.tap));
		l->nnet = (unsigned int)i + 1;
	}
	return 0;
}

static int read_vsock_override(const json_t *v, void *out, char *err, size_t errsz)
{
	static const struct json_in_field f[] = {
		{ "uds_path", JIN_STRING, true, 0, CONFIG_UDS_MAX, 0, NULL, NULL },
	};

	return json_in_object(v, f, ARRAY_SIZE(f), out, NULL, err, errsz)
		   ?: nonempty("uds_path", out, err, errsz);
}

/* Firecracker's LoadSnapshotConfig: exactly one of mem_backend and the
 * deprecated mem_file_path, with its messages for both and neither. */
static int body_snapshot_load(const json_t *v, struct api_request *r, char *err, size_t errsz)
{
	struct load_json {
		struct snapshot_load_req l;
		char mem_file_path[CONFIG_PATH_MAX];
		struct mem_backend_json backend;
		bool enable_diff;
	};
	static struct load_json j; /* large: not on the stack (API thread only) */
#define LF(name, type, fld, size, fn)                                                              \
	{                                                                                          \
		name, type, false, offsetof(struct load_json, fld), size, 0, NULL, fn              \
	}
	static const struct json_in_field f[] = {
		{ "snapshot_path", JIN_STRING, true, offsetof(struct load_json, l.state),
		  CONFIG_PATH_MAX, 0, NULL, NULL },
		LF("mem_file_path", JIN_STRING, mem_file_path, CONFIG_PATH_MAX, NULL),
		LF("mem_backend", JIN_OBJECT, backend, 0, read_mem_backend),
		LF("enable_diff_snapshots", JIN_BOOL, enable_diff, 0, NULL),
		LF("track_dirty_pages", JIN_BOOL, l.track_dirty_pages, 0, NULL),
		LF("resume_vm", JIN_BOOL, l.resume, 0, NULL),
		LF("network_overrides", JIN_ARRAY, l, 0, read_net_overrides),
		LF("vsock_override", JIN_OBJECT, l.vsock_uds, 0, read_vsock_override),
		LF("clock_realtime", JIN_BOOL, l.clock_realtime, 0, NULL),
	};
#undef LF
	uint64_t present;

	memset(&j, 0, sizeof(j));
	if (json_in_object(v, f, ARRAY_SIZE(f), &j, &present, err, errsz) ||
	    nonempty("snapshot_path", j.l.state, err, errsz))
		return -EINVAL;
	if ((present & 6) == 6) {
		snprintf(err, errsz,
			 "too many fields: either `mem_backend` or `mem_file_path` exclusively is "
			 "required");
		return -EINVAL;
	}
	if (!(present & 6)) {
		snprintf(err, errsz,
			 "missing field: either `mem_backend` or `mem_file_path` is required");
		return -EINVAL;
	}
	if (present & 2) {
		if (nonempty("mem_file_path", j.mem_file_path, err, errsz))
			return -EINVAL;
		memcpy(j.l.mem, j.mem_file_path, sizeof(j.l.mem));
	} else {
		memcpy(j.l.mem, j.backend.path, sizeof(j.l.mem));
		j.l.uffd = j.backend.type == 1;
	}
	j.l.track_dirty_pages |= j.enable_diff;
	r->deprecated = (present & 2) || (present & 8);
	r->u.snap_load = j.l;
	return 0;
}

static int body_snapshot(const json_t *v, const char *id, struct api_request *r, char *err,
			 size_t errsz)
{
	(void)id;
	return r->action == API_SNAPSHOT_CREATE ? body_snapshot_create(v, r, err, errsz)
						: body_snapshot_load(v, r, err, errsz);
}

/* ------------------------------------------------------------ migration */

static int body_migrate(const json_t *v, const char *id, struct api_request *r, char *err,
			size_t errsz)
{
	static const struct json_in_field f[] = {
		{ "destination", JIN_STRING, true, offsetof(struct migrate_req, destination),
		  MIGRATE_DEST_MAX, 0, NULL, NULL },
		{ "downtime_ms", JIN_U32, false, offsetof(struct migrate_req, downtime_ms), 0,
		  MIGRATE_DOWNTIME_MAX_MS, NULL, NULL },
		{ "max_rounds", JIN_U32, false, offsetof(struct migrate_req, max_rounds), 0,
		  MIGRATE_ROUNDS_MAX, NULL, NULL },
	};
	struct migrate_req m = { 0 };

	(void)id;
	if (json_in_object(v, f, ARRAY_SIZE(f), &m, NULL, err, errsz) ||
	    nonempty("destination", m.destination, err, errsz))
		return -EINVAL;
	if (strncmp(m.destination, "unix:", 5) && strncmp(m.destination, "tcp:", 4)) {
		snprintf(err, errsz, "`destination`: must be unix:PATH or tcp:HOST:PORT");
		return -EINVAL;
	}
	r->u.migrate = m;
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
	{ HTTP_PUT, "/snapshot/create", API_SNAPSHOT_CREATE, body_snapshot },
	{ HTTP_PUT, "/snapshot/load", API_SNAPSHOT_LOAD, body_snapshot },
	{ HTTP_PUT, "/migrate", API_MIGRATE, body_migrate },
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
	[API_SNAPSHOT_CREATE] = "snapshot_create",
	[API_SNAPSHOT_LOAD] = "snapshot_load",
	[API_MIGRATE] = "migrate",
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
