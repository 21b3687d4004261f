/* SPDX-License-Identifier: MIT */
#include "config_json.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define F(st, fld) offsetof(st, fld), sizeof(((st *)0)->fld)
#define FIELD(name, type, req, st, fld)                                                            \
	{                                                                                          \
		name, type, req, F(st, fld), 0, NULL, NULL                                         \
	}
#define NUMBER(name, type, req, st, fld, max)                                                      \
	{                                                                                          \
		name, type, req, offsetof(st, fld), 0, max, NULL, NULL                             \
	}
#define ENUM(name, req, st, fld, names)                                                            \
	{                                                                                          \
		name, JIN_ENUM, req, offsetof(st, fld), 0, 0, names, NULL                          \
	}
#define OBJECT(name, req, st, fld, fn)                                                             \
	{                                                                                          \
		name, JIN_OBJECT, req, offsetof(st, fld), 0, 0, NULL, fn                           \
	}

static int fail(char *err, size_t errsz, const char *what)
{
	snprintf(err, errsz, "%s", what);
	return -EINVAL;
}

/* ------------------------------------------------------- rate limiters */

static int read_bucket(const json_t *v, void *out, char *err, size_t errsz)
{
	static const struct json_in_field f[] = {
		NUMBER("size", JIN_U64, true, struct token_bucket_config, size, 0),
		NUMBER("one_time_burst", JIN_U64, false, struct token_bucket_config, one_time_burst,
		       0),
		NUMBER("refill_time", JIN_U64, true, struct token_bucket_config, refill_time_ms, 0),
	};

	*(struct token_bucket_config *)out = (struct token_bucket_config){ 0 };
	return json_in_object(v, f, ARRAY_SIZE(f), out, NULL, err, errsz);
}

static int read_ratelimit(const json_t *v, void *out, char *err, size_t errsz)
{
	static const struct json_in_field f[] = {
		OBJECT("bandwidth", false, struct ratelimit_config, bandwidth, read_bucket),
		OBJECT("ops", false, struct ratelimit_config, ops, read_bucket),
	};

	*(struct ratelimit_config *)out = (struct ratelimit_config){ 0 };
	return json_in_object(v, f, ARRAY_SIZE(f), out, NULL, err, errsz);
}

/* --------------------------------------------------------- boot source */

/* Nothing a guest's command line could be broken into lines or driven by:
 * no control characters. */
static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int config_json_boot_source(const json_t *v, struct boot_config *b, char *err, size_t errsz)
{
	static const struct json_in_field f[] = {
		FIELD("kernel_image_path", JIN_STRING, true, struct boot_config, kernel),
		FIELD("initrd_path", JIN_STRING, false, struct boot_config, initrd),
		FIELD("boot_args", JIN_STRING, false, struct boot_config, cmdline),
	};
	uint64_t present;

	*b = (struct boot_config){ 0 };
	if (json_in_object(v, f, ARRAY_SIZE(f), b, &present, err, errsz))
		return -EINVAL;
	if (!b->kernel[0])
		return fail(err, errsz, "`kernel_image_path`: empty");
	if (!printable(b->cmdline))
		return fail(err, errsz, "`boot_args`: control characters are not allowed");
	b->cmdline_set = present & 4;
	return 0;
}

/* ------------------------------------------------------ machine-config */

static const char *const none_only[] = { "None", NULL };

int config_json_machine(const json_t *v, bool patch, struct machine_json *m, uint64_t *present,
			char *err, size_t errsz)
{
	static const struct json_in_field put[] = {
		NUMBER("vcpu_count", JIN_U32, true, struct machine_json, vcpu_count, 0),
		NUMBER("mem_size_mib", JIN_U32, true, struct machine_json, mem_size_mib, 0),
		FIELD("smt", JIN_BOOL, false, struct machine_json, smt),
		FIELD("track_dirty_pages", JIN_BOOL, false, struct machine_json, track_dirty_pages),
		ENUM("huge_pages", false, struct machine_json, huge_pages, none_only),
		ENUM("cpu_template", false, struct machine_json, cpu_template, none_only),
	};
	struct json_in_field f[ARRAY_SIZE(put)];

	memcpy(f, put, sizeof(f));
	for (size_t i = 0; patch && i < ARRAY_SIZE(f); i++)
		f[i].required = false;
	*m = (struct machine_json){ 0 };
	return json_in_object(v, f, ARRAY_SIZE(f), m, present, err, errsz);
}

void config_json_apply_machine(struct vm_config *cfg, const struct machine_json *m,
			       uint64_t present, bool patch)
{
	if (!patch) {
		cfg->smt = cfg->track_dirty_pages = false;
		present |= MACHINE_SMT | MACHINE_DIRTY; /* unset optionals go back to false */
	}
	if (present & MACHINE_VCPUS)
		cfg->cpus = m->vcpu_count;
	if (present & MACHINE_MEM)
		cfg->mem_size = (uint64_t)m->mem_size_mib << 20;
	if (present & MACHINE_SMT)
		cfg->smt = m->smt;
	if (present & MACHINE_DIRTY)
		cfg->track_dirty_pages = m->track_dirty_pages;
}

/* -------------------------------------------------------------- drives */

static int check_id(const char *what, const char *id, char *err, size_t errsz)
{
	if (config_id_valid(id))
		return 0;
	snprintf(err, errsz,
		 "%s: API resource ids can only contain alphanumeric characters and "
		 "underscores, 1 to %d of them",
		 what, CONFIG_ID_MAX - 1);
	return -EINVAL;
}

int config_json_drive(const json_t *v, struct disk_config *d, char *err, size_t errsz)
{
	/* In enum disk_cache / disk_io_engine order. */
	static const char *const cache[] = { "Writeback", "Unsafe", NULL };
	static const char *const engine[] = { "Async", "Sync", NULL };
	static const struct json_in_field f[] = {
		FIELD("drive_id", JIN_STRING, true, struct disk_config, id),
		FIELD("path_on_host", JIN_STRING, true, struct disk_config, path),
		FIELD("is_root_device", JIN_BOOL, true, struct disk_config, root),
		FIELD("is_read_only", JIN_BOOL, false, struct disk_config, read_only),
		FIELD("partuuid", JIN_STRING, false, struct disk_config, partuuid),
		ENUM("cache_type", false, struct disk_config, cache, cache),
		ENUM("io_engine", false, struct disk_config, io_engine, engine),
		OBJECT("rate_limiter", false, struct disk_config, limit, read_ratelimit),
		/* vhost-user-blk: not in petrel (present only to name it) */
		FIELD("socket", JIN_STRING, false, struct disk_config, path),
	};
	uint64_t present;

	*d = (struct disk_config){ 0 };
	if (json_in_object(v, f, ARRAY_SIZE(f), d, &present, err, errsz))
		return -EINVAL;
	if (present & (1 << 8))
		return fail(err, errsz, "`socket`: vhost-user block devices are not supported");
	if (check_id("`drive_id`", d->id, err, errsz))
		return -EINVAL;
	/* It goes on the kernel's command line: hex digits and dashes only. */
	if (strspn(d->partuuid, "0123456789abcdefABCDEF-") != strlen(d->partuuid))
		return fail(err, errsz, "`partuuid`: only hex digits and '-'");
	if (!d->path[0])
		return fail(err, errsz, "`path_on_host`: empty");
	return 0;
}

int config_json_drive_patch(const json_t *v, struct drive_patch *p, uint64_t *present, char *err,
			    size_t errsz)
{
	static const struct json_in_field f[] = {
		FIELD("drive_id", JIN_STRING, true, struct drive_patch, id),
		FIELD("path_on_host", JIN_STRING, false, struct drive_patch, path),
		OBJECT("rate_limiter", false, struct drive_patch, limit, read_ratelimit),
	};

	*p = (struct drive_patch){ 0 };
	if (json_in_object(v, f, ARRAY_SIZE(f), p, present, err, errsz) ||
	    check_id("`drive_id`", p->id, err, errsz))
		return -EINVAL;
	if ((*present & DRIVE_PATCH_PATH) && !p->path[0])
		return fail(err, errsz, "`path_on_host`: empty");
	return 0;
}

/* ---------------------------------------------------------- interfaces */

/* petrel's links (README "Networking"): "stream": {"addr", "listen"},
 * "dgram": {"addr", "remote"}, "passt": {"tcp", "udp"}, "vde": {"path"}. The addresses are judged with the rest of
 * the configuration (config_check_nets). */
static int read_stream(const json_t *v, void *out, char *err, size_t errsz)
{
	static const struct json_in_field f[] = {
		FIELD("addr", JIN_STRING, true, struct net_config, addr),
		FIELD("listen", JIN_BOOL, false, struct net_config, listen),
	};
	struct net_config *n = out;

	n->kind = NET_STREAM;
	return json_in_object(v, f, ARRAY_SIZE(f), n, NULL, err, errsz);
}

static int read_dgram(const json_t *v, void *out, char *err, size_t errsz)
{
	static const struct json_in_field f[] = {
		FIELD("addr", JIN_STRING, true, struct net_config, addr),
		FIELD("remote", JIN_STRING, false, struct net_config, remote),
	};
	struct net_config *n = out;

	n->kind = NET_DGRAM;
	return json_in_object(v, f, ARRAY_SIZE(f), n, NULL, err, errsz);
}

static int read_passt(const json_t *v, void *out, char *err, size_t errsz)
{
	static const struct json_in_field f[] = {
		FIELD("tcp", JIN_STRING, false, struct net_config, tcp),
		FIELD("udp", JIN_STRING, false, struct net_config, udp),
	};
	struct net_config *n = out;

	n->kind = NET_PASST;
	return json_in_object(v, f, ARRAY_SIZE(f), n, NULL, err, errsz);
}

static int read_vde(const json_t *v, void *out, char *err, size_t errsz)
{
	static const struct json_in_field f[] = {
		FIELD("path", JIN_STRING, true, struct net_config, addr),
	};
	struct net_config *n = out;

	n->kind = NET_VDE;
	return json_in_object(v, f, ARRAY_SIZE(f), n, NULL, err, errsz);
}

int config_json_net(const json_t *v, struct net_config *n, char *err, size_t errsz)
{
	struct net_json {
		struct net_config n;
		char mac[32];
	} j = { 0 };
	static const struct json_in_field f[] = {
		FIELD("iface_id", JIN_STRING, true, struct net_json, n.id),
		FIELD("host_dev_name", JIN_STRING, false, struct net_json, n.tap),
		FIELD("guest_mac", JIN_STRING, false, struct net_json, mac),
		NUMBER("mtu", JIN_U32, false, struct net_json, n.mtu, 0),
		OBJECT("rx_rate_limiter", false, struct net_json, n.rx, read_ratelimit),
		OBJECT("tx_rate_limiter", false, struct net_json, n.tx, read_ratelimit),
		OBJECT("stream", false, struct net_json, n, read_stream),
		OBJECT("dgram", false, struct net_json, n, read_dgram),
		OBJECT("passt", false, struct net_json, n, read_passt),
		OBJECT("vde", false, struct net_json, n, read_vde),
	};
	uint64_t present;
	int kinds;

	if (json_in_object(v, f, ARRAY_SIZE(f), &j, &present, err, errsz) ||
	    check_id("`iface_id`", j.n.id, err, errsz))
		return -EINVAL;
	kinds = !!(present & 2) + !!(present & 64) + !!(present & 128) + !!(present & 256) +
		!!(present & 512);
	if (kinds == 0) /* Firecracker's message: host_dev_name is what it knows */
		return fail(err, errsz, "missing field `host_dev_name`");
	if (kinds > 1)
		return fail(err, errsz,
			    "one of `host_dev_name`, `stream`, `dgram`, `passt` and `vde`, not "
			    "several");
	if ((present & 2) && !j.n.tap[0])
		return fail(err, errsz, "`host_dev_name`: empty");
	j.n.mac_set = present & 4;
	if (j.n.mac_set && config_mac_parse(j.mac, j.n.mac))
		return fail(err, errsz,
			    "`guest_mac`: must be a unicast, non-zero XX:XX:XX:XX:XX:XX");
	*n = j.n;
	return 0;
}

int config_json_net_patch(const json_t *v, struct net_patch *p, uint64_t *present, char *err,
			  size_t errsz)
{
	static const struct json_in_field f[] = {
		FIELD("iface_id", JIN_STRING, true, struct net_patch, id),
		OBJECT("rx_rate_limiter", false, struct net_patch, rx, read_ratelimit),
		OBJECT("tx_rate_limiter", false, struct net_patch, tx, read_ratelimit),
	};

	*p = (struct net_patch){ 0 };
	if (json_in_object(v, f, ARRAY_SIZE(f), p, present, err, errsz))
		return -EINVAL;
	return check_id("`iface_id`", p->id, err, errsz);
}

/* ---------------------------------------------------- the other devices */

int config_json_fs(const json_t *v, struct fs_config *fs, char *err, size_t errsz)
{
	static const struct json_in_field f[] = {
		FIELD("tag", JIN_STRING, true, struct fs_config, tag),
		FIELD("socket", JIN_STRING, false, struct fs_config, socket),
		FIELD("dir", JIN_STRING, false, struct fs_config, dir),
		FIELD("read_only", JIN_BOOL, false, struct fs_config, read_only),
	};

	*fs = (struct fs_config){ 0 };
	if (json_in_object(v, f, ARRAY_SIZE(f), fs, NULL, err, errsz))
		return -EINVAL;
	if (!fs->socket[0] == !fs->dir[0])
		return fail(err, errsz, "one of `socket` and `dir`");
	return 0;
}

int config_json_vsock(const json_t *v, struct vsock_config *vs, char *err, size_t errsz)
{
	static const struct json_in_field f[] = {
		NUMBER("guest_cid", JIN_U32, true, struct vsock_config, cid, 0),
		FIELD("uds_path", JIN_STRING, true, struct vsock_config, uds),
		FIELD("vsock_id", JIN_STRING, false, struct vsock_config, id),
	};

	*vs = (struct vsock_config){ 0 };
	if (json_in_object(v, f, ARRAY_SIZE(f), vs, NULL, err, errsz))
		return -EINVAL;
	if (!vs->uds[0])
		return fail(err, errsz, "`uds_path`: empty");
	if (vs->id[0] && check_id("`vsock_id`", vs->id, err, errsz))
		return -EINVAL;
	if (vs->cid < 3 || vs->cid == UINT32_MAX) {
		snprintf(err, errsz, "`guest_cid`: %u: must be from 3 to %u", vs->cid,
			 UINT32_MAX - 1);
		return -EINVAL;
	}
	return 0;
}

int config_json_balloon(const json_t *v, struct balloon_config *b, char *err, size_t errsz)
{
	struct balloon_json {
		struct balloon_config b;
		bool hinting;
	} j = { 0 };
	static const struct json_in_field f[] = {
		NUMBER("amount_mib", JIN_U32, true, struct balloon_json, b.amount_mib, 0),
		FIELD("deflate_on_oom", JIN_BOOL, true, struct balloon_json, b.deflate_on_oom),
		NUMBER("stats_polling_interval_s", JIN_U32, false, struct balloon_json,
		       b.stats_polling_interval_s, 0),
		FIELD("free_page_hinting", JIN_BOOL, false, struct balloon_json, hinting),
		FIELD("free_page_reporting", JIN_BOOL, false, struct balloon_json,
		      b.free_page_reporting),
	};

	if (json_in_object(v, f, ARRAY_SIZE(f), &j, NULL, err, errsz))
		return -EINVAL;
	if (j.hinting)
		return fail(err, errsz,
			    "`free_page_hinting`: not supported (use "
			    "free_page_reporting)");
	*b = j.b;
	b->present = true;
	return 0;
}

int config_json_entropy(const json_t *v, struct rng_config *r, char *err, size_t errsz)
{
	static const struct json_in_field f[] = {
		OBJECT("rate_limiter", false, struct rng_config, limit, read_ratelimit),
	};

	*r = (struct rng_config){ 0 };
	if (json_in_object(v, f, ARRAY_SIZE(f), r, NULL, err, errsz))
		return -EINVAL;
	r->present = true;
	return 0;
}

int config_json_logger(const json_t *v, struct logger_config *l, char *err, size_t errsz)
{
	struct logger_json {
		struct logger_config l;
		char level[16];
	} j = { .l.level = LOG_WARN };
	static const struct json_in_field f[] = {
		FIELD("log_path", JIN_STRING, false, struct logger_json, l.path),
		FIELD("level", JIN_STRING, false, struct logger_json, level),
		FIELD("show_level", JIN_BOOL, false, struct logger_json, l.show_level),
		FIELD("show_log_origin", JIN_BOOL, false, struct logger_json, l.show_origin),
		FIELD("module", JIN_STRING, false, struct logger_json, l.module),
	};

	if (json_in_object(v, f, ARRAY_SIZE(f), &j, NULL, err, errsz))
		return -EINVAL;
	if (j.level[0] && log_level_parse(j.level, &j.l.level))
		return fail(err, errsz,
			    "`level`: expected one of \"Off\", \"Error\", \"Warning\", \"Info\", "
			    "\"Debug\", \"Trace\"");
	*l = j.l;
	l->set = true;
	return 0;
}

int config_json_metrics(const json_t *v, struct metrics_config *m, char *err, size_t errsz)
{
	static const struct json_in_field f[] = {
		FIELD("metrics_path", JIN_STRING, true, struct metrics_config, path),
	};

	*m = (struct metrics_config){ 0 };
	if (json_in_object(v, f, ARRAY_SIZE(f), m, NULL, err, errsz))
		return -EINVAL;
	if (!m->path[0])
		return fail(err, errsz, "`metrics_path`: empty");
	return 0;
}
