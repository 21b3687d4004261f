/* SPDX-License-Identifier: MIT */
/*
 * Comparing two configurations field by field (strings up to their NUL,
 * so bytes after it do not count), and checking that every string in one
 * is terminated: for the config file's round trip through
 * config_json_dump, in test_config_json.c and fuzz_config.c.
 */
#ifndef PETREL_TEST_CONFIG_EQUAL_H
#define PETREL_TEST_CONFIG_EQUAL_H

#include <stdbool.h>
#include <string.h>

#include "config.h"

#define CFG_STR_OK(s) (memchr((s), 0, sizeof(s)) != NULL)
#define CFG_SAME_STR(a, b, f) (!strcmp((a)->f, (b)->f))
#define CFG_SAME(a, b, f) ((a)->f == (b)->f)

static inline bool cfg_limit_equal(const struct ratelimit_config *a,
				   const struct ratelimit_config *b)
{
	return a->bandwidth.size == b->bandwidth.size &&
	       a->bandwidth.one_time_burst == b->bandwidth.one_time_burst &&
	       a->bandwidth.refill_time_ms == b->bandwidth.refill_time_ms &&
	       a->ops.size == b->ops.size && a->ops.one_time_burst == b->ops.one_time_burst &&
	       a->ops.refill_time_ms == b->ops.refill_time_ms;
}

/* Every string field of cfg has its NUL. */
static inline bool config_terminated(const struct vm_config *c)
{
	bool ok = CFG_STR_OK(c->boot.kernel) && CFG_STR_OK(c->boot.initrd) &&
		  CFG_STR_OK(c->boot.cmdline) && CFG_STR_OK(c->vsock.uds) &&
		  CFG_STR_OK(c->vsock.id) && CFG_STR_OK(c->logger.path) &&
		  CFG_STR_OK(c->logger.module) && CFG_STR_OK(c->metrics.path) &&
		  CFG_STR_OK(c->jail.dir) && c->ndisks <= CONFIG_MAX_DISKS &&
		  c->nnets <= CONFIG_MAX_NETS;

	for (unsigned int i = 0; ok && i < c->ndisks; i++)
		ok = CFG_STR_OK(c->disk[i].id) && CFG_STR_OK(c->disk[i].path) &&
		     CFG_STR_OK(c->disk[i].partuuid);
	for (unsigned int i = 0; ok && i < c->nnets; i++)
		ok = CFG_STR_OK(c->net[i].id) && CFG_STR_OK(c->net[i].tap) &&
		     CFG_STR_OK(c->net[i].addr) && CFG_STR_OK(c->net[i].remote) &&
		     CFG_STR_OK(c->net[i].tcp) && CFG_STR_OK(c->net[i].udp);
	return ok;
}

static inline bool config_disk_equal(const struct disk_config *a, const struct disk_config *b)
{
	return CFG_SAME_STR(a, b, id) && CFG_SAME_STR(a, b, path) && CFG_SAME(a, b, read_only) &&
	       CFG_SAME(a, b, root) && CFG_SAME_STR(a, b, partuuid) && CFG_SAME(a, b, cache) &&
	       CFG_SAME(a, b, io_engine) && cfg_limit_equal(&a->limit, &b->limit);
}

static inline bool config_net_equal(const struct net_config *a, const struct net_config *b)
{
	return CFG_SAME_STR(a, b, id) && CFG_SAME(a, b, kind) && CFG_SAME_STR(a, b, tap) &&
	       CFG_SAME_STR(a, b, addr) && CFG_SAME_STR(a, b, remote) && CFG_SAME(a, b, listen) &&
	       CFG_SAME_STR(a, b, tcp) && CFG_SAME_STR(a, b, udp) && CFG_SAME(a, b, mac_set) &&
	       (!a->mac_set || !memcmp(a->mac, b->mac, 6)) && CFG_SAME(a, b, mtu) &&
	       cfg_limit_equal(&a->rx, &b->rx) && cfg_limit_equal(&a->tx, &b->tx);
}

/* Do a and b describe the same VM and petrel settings? (jail.argv, which
 * only `petrel jail` has, does not count.) */
static inline bool config_equal(const struct vm_config *a, const struct vm_config *b)
{
	const struct balloon_config *ba = &a->balloon, *bb = &b->balloon;
	const struct logger_config *la = &a->logger, *lb = &b->logger;

	if (!CFG_SAME_STR(a, b, boot.kernel) || !CFG_SAME_STR(a, b, boot.initrd) ||
	    !CFG_SAME_STR(a, b, boot.cmdline) || !CFG_SAME(a, b, boot.cmdline_set) ||
	    !CFG_SAME(a, b, mem_size) || !CFG_SAME(a, b, cpus) || !CFG_SAME(a, b, smt) ||
	    !CFG_SAME(a, b, track_dirty_pages) || !CFG_SAME(a, b, ndisks) || !CFG_SAME(a, b, nnets))
		return false;
	for (unsigned int i = 0; i < a->ndisks; i++)
		if (!config_disk_equal(&a->disk[i], &b->disk[i]))
			return false;
	for (unsigned int i = 0; i < a->nnets; i++)
		if (!config_net_equal(&a->net[i], &b->net[i]))
			return false;
	if (!CFG_SAME(a, b, nfs))
		return false;
	for (unsigned int i = 0; i < a->nfs; i++)
		if (!CFG_SAME_STR(a, b, fs[i].tag) || !CFG_SAME_STR(a, b, fs[i].socket) ||
		    !CFG_SAME_STR(a, b, fs[i].dir) || !CFG_SAME(a, b, fs[i].read_only))
			return false;
	if (!CFG_SAME(a, b, vsock.cid) ||
	    (a->vsock.cid && (!CFG_SAME_STR(a, b, vsock.uds) || !CFG_SAME_STR(a, b, vsock.id))))
		return false;
	if (ba->present != bb->present ||
	    (ba->present &&
	     (ba->amount_mib != bb->amount_mib || ba->deflate_on_oom != bb->deflate_on_oom ||
	      ba->stats_polling_interval_s != bb->stats_polling_interval_s ||
	      ba->free_page_reporting != bb->free_page_reporting)))
		return false;
	if (a->rng.present != b->rng.present ||
	    (a->rng.present && !cfg_limit_equal(&a->rng.limit, &b->rng.limit)))
		return false;
	if (la->set != lb->set ||
	    (la->set && (strcmp(la->path, lb->path) || la->level != lb->level ||
			 la->show_level != lb->show_level || la->show_origin != lb->show_origin ||
			 strcmp(la->module, lb->module))))
		return false;
	return CFG_SAME_STR(a, b, metrics.path) && CFG_SAME(a, b, virtio_console) &&
	       CFG_SAME(a, b, no_seccomp) && CFG_SAME(a, b, stealth) &&
	       CFG_SAME_STR(a, b, jail.dir) &&
	       (!a->jail.dir[0] || (CFG_SAME(a, b, jail.uid) && CFG_SAME(a, b, jail.gid)));
}

#endif
