/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>

#include "netaddr.h"
#include "size.h"

void config_init(struct vm_config *cfg)
{
	*cfg = (struct vm_config){
		.mem_size = CONFIG_DEFAULT_MEM,
		.cpus = CONFIG_DEFAULT_CPUS,
		.logger = { .level = LOG_WARN },
	};
}

bool config_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n >= CONFIG_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(id[i] >= 'a' && id[i] <= 'z') && !(id[i] >= 'A' && id[i] <= 'Z') &&
		    !(id[i] >= '0' && id[i] <= '9') && id[i] != '_')
			return false;
	return true;
}

static int hex_digit(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

int config_mac_parse(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	/* A multicast address cannot be a station's own, nor can all zeroes. */
	return (mac[0] & 1) || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) ? -EINVAL : 0;
}

int config_check_machine(uint64_t mem_size, unsigned int cpus, bool smt)
{
	struct sysinfo si;
	char mem[32];

	size_format(mem_size, mem, sizeof(mem));
	if (mem_size < CONFIG_MIN_MEM) {
		log_msg("guest memory %s: must be at least %llu MiB", mem, CONFIG_MIN_MEM >> 20);
		return -EINVAL;
	}
	if (mem_size % (1 << 20)) {
		log_msg("guest memory %s: must be a whole number of MiB", mem);
		return -EINVAL;
	}
	/* Guest RAM is mapped MAP_NORESERVE, so nothing else stops a guest
	 * from being given more than the host could ever back. */
	if (!sysinfo(&si) && mem_size / si.mem_unit > (uint64_t)si.totalram + si.totalswap) {
		log_msg("guest memory %s: more than this host's %llu MiB of RAM and swap", mem,
			(unsigned long long)(((uint64_t)si.totalram + si.totalswap) * si.mem_unit >>
					     20));
		return -EINVAL;
	}
	if (cpus < 1 || cpus > CONFIG_MAX_CPUS) {
		log_msg("vCPU count %u: must be from 1 to %d", cpus, CONFIG_MAX_CPUS);
		return -EINVAL;
	}
	if (smt && cpus > 1 && cpus % 2) {
		log_msg("vCPU count %u: must be 1 or even with smt", cpus);
		return -EINVAL;
	}
	return 0;
}

int config_check_ratelimit(const char *what, const struct ratelimit_config *r)
{
	const struct token_bucket_config *b[2] = { &r->bandwidth, &r->ops };

	for (unsigned int i = 0; i < 2; i++)
		if (b[i]->size && !b[i]->refill_time_ms) {
			log_msg("%s: %s rate limiter: refill_time must be more than 0 when size "
				"is set",
				what, i ? "ops" : "bandwidth");
			return -EINVAL;
		}
	return 0;
}

/* Two disks naming one file or block device (by identity, so a symlink or
 * a second device node counts) would each cache and write it behind the
 * other's back; only read-only ones may share. Paths that do not stat are
 * left to the disk's open to report. */
static int config_check_disk_files(const struct vm_config *cfg)
{
	struct stat st[CONFIG_MAX_DISKS];
	bool ok[CONFIG_MAX_DISKS];

	for (unsigned int i = 0; i < cfg->ndisks; i++) {
		const struct disk_config *d = &cfg->disk[i];

		ok[i] = !stat(d->path, &st[i]);
		for (unsigned int j = 0; ok[i] && j < i; j++) {
			bool same =
			    S_ISBLK(st[i].st_mode)
				? S_ISBLK(st[j].st_mode) && st[i].st_rdev == st[j].st_rdev
				: st[i].st_dev == st[j].st_dev && st[i].st_ino == st[j].st_ino;

			if (ok[j] && same && !(d->read_only && cfg->disk[j].read_only)) {
				log_msg("disk '%s': the same file as disk '%s' (only read-only "
					"disks may share one)",
					d->path, cfg->disk[j].path);
				return -EINVAL;
			}
		}
	}
	return 0;
}

int config_check_disks(const struct vm_config *cfg)
{
	int roots = 0;

	for (unsigned int i = 0; i < cfg->ndisks; i++) {
		const struct disk_config *d = &cfg->disk[i];

		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(d->id, cfg->disk[j].id)) {
				log_msg("drive '%s': two drives with this id", d->id);
				return -EINVAL;
			}
		if (!d->path[0]) {
			log_msg("drive '%s': no path_on_host", d->id);
			return -EINVAL;
		}
		roots += d->root;
		if (roots > 1) {
			log_msg("drive '%s': a second root device (only one may be)", d->id);
			return -EINVAL;
		}
		if (config_check_disk_limit(d->id, &d->limit))
			return -EINVAL;
	}
	return config_check_disk_files(cfg);
}

int config_check_disk_limit(const char *id, const struct ratelimit_config *limit)
{
	char what[CONFIG_ID_MAX + 16];

	snprintf(what, sizeof(what), "drive '%s'", id);
	return config_check_ratelimit(what, limit);
}

int config_check_net_limits(const char *id, const struct ratelimit_config *rx,
			    const struct ratelimit_config *tx)
{
	char what[CONFIG_ID_MAX + 32];

	snprintf(what, sizeof(what), "network interface '%s' rx", id);
	if (rx && config_check_ratelimit(what, rx))
		return -EINVAL;
	snprintf(what, sizeof(what), "network interface '%s' tx", id);
	return tx ? config_check_ratelimit(what, tx) : 0;
}

/* One port or range of passt's forward syntax: "P" or "P-P", 1..65535,
 * ascending. Advances *p past it. */
static bool fwd_range(const char **p)
{
	unsigned long lo, hi;
	char *end;

	if (**p < '0' || **p > '9')
		return false;
	lo = hi = strtoul(*p, &end, 10);
	if (*end == '-') {
		if (end[1] < '0' || end[1] > '9')
			return false;
		hi = strtoul(end + 1, &end, 10);
	}
	*p = end;
	return lo >= 1 && hi <= 65535 && lo <= hi;
}

/* passt's -t/-u SPEC, the part petrel allows: "all", or a comma-separated
 * list of ports or ranges, each optionally excluded ("~25") or mapped to
 * the guest's ("2222:22", "8000-8009:9000-9009"). No bind addresses or
 * interfaces ("/", "%"): the guest's ports open on every host address. */
static bool config_net_fwd_ok(const char *spec)
{
	const char *p = spec;

	if (!strcmp(spec, "all"))
		return true;
	for (;;) {
		if (*p == '~')
			p++;
		if (!fwd_range(&p))
			return false;
		if (*p == ':' && (p++, !fwd_range(&p)))
			return false;
		if (!*p)
			return true;
		if (*p++ != ',')
			return false;
	}
}

/* A link's addresses (netaddr.h): what can be parsed and makes sense. */
static int config_check_net_link(const struct net_config *n)
{
	struct netaddr a, r;

	if (n->kind == NET_PASST) {
		const char *bad = !config_net_fwd_ok(n->tcp) && n->tcp[0]   ? n->tcp
				  : !config_net_fwd_ok(n->udp) && n->udp[0] ? n->udp
									    : NULL;

		if (bad) {
			log_msg("network interface '%s': passt forward '%s': expected all, or "
				"ports and ranges such as 22,2222:22,8000-8010,~8005 (1-65535)",
				n->id, bad);
			return -EINVAL;
		}
		return 0;
	}
	if (n->kind == NET_VDE && !n->addr[0]) {
		log_msg("network interface '%s': vde: an empty switch path", n->id);
		return -EINVAL;
	}

	if (n->kind == NET_STREAM && netaddr_parse(n->addr, NETADDR_UNIX | NETADDR_TCP, &a)) {
		log_msg("network interface '%s': stream '%s': expected unix:PATH (1 to 107 bytes) "
			"or tcp:HOST:PORT (HOST a numeric IPv4 or [IPv6] address)",
			n->id, n->addr);
		return -EINVAL;
	}
	if (n->kind != NET_DGRAM)
		return 0;
	if (netaddr_parse(n->addr, NETADDR_UDP, &a)) {
		log_msg("network interface '%s': dgram '%s': expected udp:HOST:PORT (HOST a "
			"numeric IPv4 or [IPv6] address)",
			n->id, n->addr);
		return -EINVAL;
	}
	if (!n->remote[0] && !netaddr_is_multicast(&a)) {
		log_msg("network interface '%s': dgram '%s': needs remote=HOST:PORT (or a "
			"multicast group as its address)",
			n->id, n->addr);
		return -EINVAL;
	}
	if (n->remote[0] && netaddr_is_multicast(&a)) {
		log_msg("network interface '%s': dgram '%s': a multicast group takes no remote",
			n->id, n->addr);
		return -EINVAL;
	}
	if (n->remote[0] && (netaddr_parse(n->remote, NETADDR_BARE, &r) ||
			     netaddr_is_multicast(&r) || r.sa.ss_family != a.sa.ss_family)) {
		log_msg("network interface '%s': remote '%s': expected HOST:PORT, a unicast "
			"address of the same family as '%s'",
			n->id, n->remote, n->addr);
		return -EINVAL;
	}
	return 0;
}

int config_check_nets(const struct vm_config *cfg)
{

	for (unsigned int i = 0; i < cfg->nnets; i++) {
		const struct net_config *n = &cfg->net[i];

		for (unsigned int j = 0; j < i; j++) {
			const struct net_config *o = &cfg->net[j];

			if (!strcmp(n->id, o->id)) {
				log_msg("network interface '%s': two interfaces with this id",
					n->id);
				return -EINVAL;
			}
			if (n->kind == NET_TAP && o->kind == NET_TAP && !strcmp(n->tap, o->tap)) {
				log_msg("network interface '%s': tap '%s' is used by interface "
					"'%s' too",
					n->id, n->tap, o->id);
				return -EINVAL;
			}
			if (n->mac_set && o->mac_set && !memcmp(n->mac, o->mac, 6)) {
				log_msg("network interface '%s': the same MAC as interface '%s'",
					n->id, o->id);
				return -EINVAL;
			}
			/* A listening stream, a dgram's own address: one each. */
			if (n->kind != NET_TAP && o->kind != NET_TAP &&
			    (n->kind == NET_DGRAM || n->listen) &&
			    (o->kind == NET_DGRAM || o->listen) && !strcmp(n->addr, o->addr)) {
				log_msg("network interface '%s': address '%s' is used by interface "
					"'%s' too",
					n->id, n->addr, o->id);
				return -EINVAL;
			}
		}
		if (config_check_net_link(n))
			return -EINVAL;
		if (n->mtu && (n->mtu < 68 || n->mtu > 65535)) {
			log_msg("network interface '%s': mtu %u: must be from 68 to 65535", n->id,
				n->mtu);
			return -EINVAL;
		}
		if (config_check_net_limits(n->id, &n->rx, &n->tx))
			return -EINVAL;
	}
	return 0;
}

int config_check_fs(const struct vm_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nfs; i++) {
		const struct fs_config *f = &cfg->fs[i];

		if (!config_id_valid(f->tag) || strlen(f->tag) > CONFIG_FS_TAG_MAX - 1) {
			log_msg("virtio-fs tag '%s': must be 1 to %d characters of [A-Za-z0-9_]",
				f->tag, CONFIG_FS_TAG_MAX - 1);
			return -EINVAL;
		}
		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(f->tag, cfg->fs[j].tag)) {
				log_msg("virtio-fs tag '%s': two shares with this tag", f->tag);
				return -EINVAL;
			}
		if (!f->socket[0] == !f->dir[0] || (f->read_only && !f->dir[0])) {
			log_msg("virtio-fs '%s': give socket=PATH, or dir=PATH[,ro]", f->tag);
			return -EINVAL;
		}
		if (f->dir[0] && cfg->jail.dir[0]) {
			log_msg("virtio-fs '%s': dir= cannot be used in a jail (start virtiofsd "
				"yourself and give socket=PATH inside the jail)",
				f->tag);
			return -EINVAL;
		}
	}
	return 0;
}

int config_check(const struct vm_config *cfg)
{
	if (!cfg->boot.kernel[0]) {
		log_msg("no kernel configured (boot-source kernel_image_path, or --kernel)");
		return -EINVAL;
	}
	if (config_check_machine(cfg->mem_size, cfg->cpus, cfg->smt))
		return -EINVAL;
	if (cfg->vsock.cid && (cfg->vsock.cid < 3 || cfg->vsock.cid == UINT32_MAX)) {
		log_msg("vsock guest_cid %u: must be from 3 to %u", cfg->vsock.cid, UINT32_MAX - 1);
		return -EINVAL;
	}
	if (cfg->balloon.present && (uint64_t)cfg->balloon.amount_mib << 20 > cfg->mem_size) {
		log_msg("balloon amount_mib %u: more than the guest's %llu MiB",
			cfg->balloon.amount_mib, (unsigned long long)(cfg->mem_size >> 20));
		return -EINVAL;
	}
	if (cfg->rng.present && config_check_ratelimit("entropy device", &cfg->rng.limit))
		return -EINVAL;
	if (config_check_disks(cfg) || config_check_nets(cfg) || config_check_fs(cfg))
		return -EINVAL;
	for (unsigned int i = 0; cfg->jail.dir[0] && i < cfg->nnets; i++) {
		if (cfg->net[i].kind == NET_PASST) { /* its binary and libc are outside */
			log_msg("network interface '%s': passt does not run in a jail (--jail)",
				cfg->net[i].id);
			return -EINVAL;
		}
	}
	/* After pivot_root the working directory is the jail's /. */
	if (cfg->jail.dir[0] && cfg->vsock.cid && cfg->vsock.uds[0] != '/') {
		log_msg("vsock uds_path '%s': must be an absolute path in a jail", cfg->vsock.uds);
		return -EINVAL;
	}
	return 0;
}

struct disk_config *config_disk(struct vm_config *cfg, const char *id)
{
	for (unsigned int i = 0; i < cfg->ndisks; i++)
		if (!strcmp(cfg->disk[i].id, id))
			return &cfg->disk[i];
	return NULL;
}

struct net_config *config_net(struct vm_config *cfg, const char *id)
{
	for (unsigned int i = 0; i < cfg->nnets; i++)
		if (!strcmp(cfg->net[i].id, id))
			return &cfg->net[i];
	return NULL;
}
