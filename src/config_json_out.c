/* SPDX-License-Identifier: MIT */
/* GET /vm/config: a configuration as the document config_json_load reads. */
#include "config_json.h"

#include <stdio.h>

static json_t *bucket_json(const struct token_bucket_config *b)
{
	if (!b->size && !b->refill_time_ms && !b->one_time_burst)
		return json_null();
	return json_pack("{s:I, s:I, s:I}", "size", (json_int_t)b->size, "one_time_burst",
			 (json_int_t)b->one_time_burst, "refill_time",
			 (json_int_t)b->refill_time_ms);
}

static json_t *limiter_json(const struct ratelimit_config *r)
{
	json_t *bw = bucket_json(&r->bandwidth), *ops = bucket_json(&r->ops);

	if (json_is_null(bw) && json_is_null(ops)) {
		json_decref(bw);
		json_decref(ops);
		return json_null();
	}
	return json_pack("{s:o, s:o}", "bandwidth", bw, "ops", ops);
}

static json_t *drive_json(const struct disk_config *d)
{
	return json_pack("{s:s, s:s, s:b, s:b, s:s?, s:s, s:s, s:o}", "drive_id", d->id,
			 "path_on_host", d->path, "is_root_device", d->root, "is_read_only",
			 d->read_only, "partuuid", d->partuuid[0] ? d->partuuid : NULL,
			 "cache_type", d->cache == DISK_CACHE_UNSAFE ? "Unsafe" : "Writeback",
			 "io_engine", d->io_engine == DISK_IO_SYNC ? "Sync" : "Async",
			 "rate_limiter", limiter_json(&d->limit));
}

static json_t *net_json(const struct net_config *n)
{
	char mac[18];
	json_t *j;

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1], n->mac[2],
		 n->mac[3], n->mac[4], n->mac[5]);
	j = json_pack("{s:s, s:s?, s:o, s:o}", "iface_id", n->id, "guest_mac",
		      n->mac_set ? mac : NULL, "rx_rate_limiter", limiter_json(&n->rx),
		      "tx_rate_limiter", limiter_json(&n->tx));
	if (j && n->mtu)
		json_object_set_new(j, "mtu", json_integer(n->mtu));
	if (j && n->kind == NET_TAP)
		json_object_set_new(j, "host_dev_name", json_string(n->tap));
	if (j && n->kind == NET_STREAM)
		json_object_set_new(j, "stream",
				    json_pack("{s:s, s:b}", "addr", n->addr, "listen", n->listen));
	if (j && n->kind == NET_DGRAM)
		json_object_set_new(
		    j, "dgram",
		    n->remote[0] ? json_pack("{s:s, s:s}", "addr", n->addr, "remote", n->remote)
				 : json_pack("{s:s}", "addr", n->addr));
	if (j && n->kind == NET_PASST)
		json_object_set_new(j, "passt",
				    json_pack("{s:s, s:s}", "tcp", n->tcp, "udp", n->udp));
	if (j && n->kind == NET_VDE)
		json_object_set_new(j, "vde", json_pack("{s:s}", "path", n->addr));
	return j;
}

static json_t *devices_json(const struct vm_config *cfg, json_t **drives, json_t **nets)
{
	*drives = json_array();
	*nets = json_array();
	for (unsigned int i = 0; *drives && i < cfg->ndisks; i++)
		json_array_append_new(*drives, drive_json(&cfg->disk[i]));
	for (unsigned int i = 0; *nets && i < cfg->nnets; i++)
		json_array_append_new(*nets, net_json(&cfg->net[i]));
	return *drives && *nets ? *drives : NULL;
}

static json_t *petrel_json(const struct vm_config *cfg)
{
	json_t *jail = cfg->jail.dir[0]
			   ? json_pack("{s:s, s:I, s:I}", "dir", cfg->jail.dir, "uid",
				       (json_int_t)cfg->jail.uid, "gid", (json_int_t)cfg->jail.gid)
			   : json_null();

	return json_pack("{s:s, s:b, s:b, s:o}", "console",
			 cfg->virtio_console ? "virtio" : "serial", "stealth", cfg->stealth,
			 "seccomp", !cfg->no_seccomp, "jail", jail);
}

static json_t *optional_sections(const struct vm_config *cfg, json_t *doc)
{
	const struct balloon_config *b = &cfg->balloon;
	const struct logger_config *l = &cfg->logger;

	json_t *fs = json_array();

	for (unsigned int i = 0; fs && i < cfg->nfs; i++) {
		const struct fs_config *f = &cfg->fs[i];

		json_array_append_new(fs, json_pack("{s:s, s:s?, s:s?, s:b}", "tag", f->tag,
						    "socket", f->socket[0] ? f->socket : NULL,
						    "dir", f->dir[0] ? f->dir : NULL, "read_only",
						    f->read_only));
	}
	json_object_set_new(doc, "fs", fs ? fs : json_null());
	json_object_set_new(doc, "vsock",
			    cfg->vsock.cid
				? json_pack("{s:I, s:s, s:s?}", "guest_cid",
					    (json_int_t)cfg->vsock.cid, "uds_path", cfg->vsock.uds,
					    "vsock_id", cfg->vsock.id[0] ? cfg->vsock.id : NULL)
				: json_null());
	json_object_set_new(doc, "balloon",
			    b->present ? json_pack("{s:I, s:b, s:I, s:b}", "amount_mib",
						   (json_int_t)b->amount_mib, "deflate_on_oom",
						   b->deflate_on_oom, "stats_polling_interval_s",
						   (json_int_t)b->stats_polling_interval_s,
						   "free_page_reporting", b->free_page_reporting)
				       : json_null());
	json_object_set_new(doc, "entropy",
			    cfg->rng.present
				? json_pack("{s:o}", "rate_limiter", limiter_json(&cfg->rng.limit))
				: json_null());
	json_object_set_new(doc, "logger",
			    l->set ? json_pack("{s:s?, s:s, s:b, s:b, s:s?}", "log_path",
					       l->path[0] ? l->path : NULL, "level",
					       log_level_name(l->level), "show_level",
					       l->show_level, "show_log_origin", l->show_origin,
					       "module", l->module[0] ? l->module : NULL)
				   : json_null());
	json_object_set_new(doc, "metrics",
			    cfg->metrics.path[0]
				? json_pack("{s:s}", "metrics_path", cfg->metrics.path)
				: json_null());
	json_object_set_new(doc, "petrel", petrel_json(cfg));
	return doc;
}

char *config_json_dump(const struct vm_config *cfg)
{
	json_t *drives, *nets, *doc = NULL;
	char *text = NULL;

	if (devices_json(cfg, &drives, &nets))
		doc = json_pack(
		    "{s:o, s:{s:I, s:I, s:b, s:b, s:s}, s:o, s:o, s:n, s:n}", "boot-source",
		    cfg->boot.kernel[0]
			? json_pack("{s:s, s:s?, s:s?}", "kernel_image_path", cfg->boot.kernel,
				    "initrd_path", cfg->boot.initrd[0] ? cfg->boot.initrd : NULL,
				    "boot_args", cfg->boot.cmdline_set ? cfg->boot.cmdline : NULL)
			: json_null(),
		    "machine-config", "vcpu_count", (json_int_t)cfg->cpus, "mem_size_mib",
		    (json_int_t)(cfg->mem_size >> 20), "smt", cfg->smt, "track_dirty_pages",
		    cfg->track_dirty_pages, "huge_pages", "None", "drives", drives,
		    "network-interfaces", nets, "cpu-config", "mmds-config");
	else {
		json_decref(drives);
		json_decref(nets);
	}
	if (doc && optional_sections(cfg, doc))
		text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return text;
}
