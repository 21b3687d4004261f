/* SPDX-License-Identifier: MIT */
/* Values of the device options: --disk, --net, --vsock, --fs. */
#include "cli_devices.h"

#include <stdio.h>
#include <string.h>

#include "size.h"

/* Copy the value of `key=` from a comma-separated list "k=v,k=v" into
 * buf. Returns 1 if found, 0 if absent, -1 if too long for buf. */
static int opt_value(const char *list, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);

	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			if (len - klen - 1 >= size)
				return -1;
			memcpy(buf, p + klen + 1, len - klen - 1);
			buf[len - klen - 1] = 0;
			return 1;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

/* Is every key in `list` one of `keys`? Names the first other one. */
static bool opt_known(const char *list, const char *const *keys, const char *opt)
{
	for (const char *p = list; *p;) {
		const char *end = strchrnul(p, ',');
		size_t len = (size_t)(strchrnul(p, '=') < end ? strchrnul(p, '=') - p : end - p);
		bool ok = false;

		for (const char *const *k = keys; *k; k++)
			ok |= strlen(*k) == len && !strncmp(p, *k, len);
		if (!ok) {
			log_msg("%s '%s': unknown setting '%.*s'", opt, list, (int)(end - p), p);
			return false;
		}
		p = *end ? end + 1 : end;
	}
	return true;
}

int cli_parse_disk(const char *arg, struct disk_config *d)
{
	size_t len = strlen(arg);

	*d = (struct disk_config){ 0 };
	if (len >= 3 && !strcmp(arg + len - 3, ",ro")) {
		d->read_only = true;
		len -= 3;
	}
	if (len == 0) {
		log_msg("--disk '%s': expected PATH or PATH,ro", arg);
		return -1;
	}
	if (len >= sizeof(d->path)) {
		log_msg("--disk '%s': path longer than %zu bytes", arg, sizeof(d->path) - 1);
		return -1;
	}
	memcpy(d->path, arg, len);
	return 0;
}

/* Is the bare word `key` (no "=") one of the settings in `list`? */
static bool opt_flag(const char *list, const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = list; *p;) {
		const char *end = strchrnul(p, ',');

		if ((size_t)(end - p) == klen && !strncmp(p, key, klen))
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

/* Every value of a repeatable `key=` in `list`, joined with commas into
 * buf. Returns how many, or -1 if they do not fit. */
static int opt_values(const char *list, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key), used = 0;
	int found = 0;

	buf[0] = 0;
	for (const char *p = list; *p;) {
		const char *end = strchrnul(p, ',');
		size_t len = (size_t)(end - p);

		if (len > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			len -= klen + 1;
			if (used + !!found + len >= size)
				return -1;
			if (found++)
				buf[used++] = ',';
			memcpy(buf + used, p + klen + 1, len);
			buf[used += len] = 0;
		}
		p = *end ? end + 1 : end;
	}
	return found;
}

#define NET_USAGE                                                                                  \
	"expected tap=NAME, stream=ADDR[,listen] (ADDR unix:PATH or tcp:HOST:PORT), "              \
	"dgram=udp:HOST:PORT[,remote=HOST:PORT], passt[,tcp=PORTS][,udp=PORTS] or vde=PATH, then " \
	"[,mac=XX:XX:XX:XX:XX:XX]"

int cli_parse_net(const char *arg, struct net_config *n)
{
	static const char *const keys[] = { "tap",   "stream", "dgram", "listen", "remote", "mac",
					    "passt", "tcp",    "udp",	"vde",	  NULL };
	char mac[32];
	int r, tap, stream, dgram, remote, vde, tcp, udp;
	bool passt;

	*n = (struct net_config){ 0 };
	if (!opt_known(arg, keys, "--net"))
		return -1;
	tap = opt_value(arg, "tap", n->tap, sizeof(n->tap));
	stream = opt_value(arg, "stream", n->addr, sizeof(n->addr));
	dgram = opt_value(arg, "dgram", n->addr, sizeof(n->addr));
	remote = opt_value(arg, "remote", n->remote, sizeof(n->remote));
	vde = opt_value(arg, "vde", n->addr, sizeof(n->addr));
	tcp = opt_values(arg, "tcp", n->tcp, sizeof(n->tcp));
	udp = opt_values(arg, "udp", n->udp, sizeof(n->udp));
	n->listen = opt_flag(arg, "listen");
	passt = opt_flag(arg, "passt");
	/* words, not keys with a value */
	if (opt_value(arg, "listen", mac, sizeof(mac)) || opt_value(arg, "passt", mac, sizeof(mac)))
		stream = 0;
	if (tap < 0) {
		log_msg("--net '%s': tap NAME longer than %d bytes", arg, CONFIG_IFNAME_MAX - 1);
		return -1;
	}
	if (stream < 0 || dgram < 0 || remote < 0 || vde < 0) {
		log_msg("--net '%s': an address longer than %d bytes", arg,
			CONFIG_NET_ADDR_MAX - 1);
		return -1;
	}
	if (tcp < 0 || udp < 0) {
		log_msg("--net '%s': the tcp= or udp= forwards are longer than %d bytes", arg,
			CONFIG_NET_FWD_MAX - 1);
		return -1;
	}
	if (!!tap + !!stream + !!dgram + !!vde + passt != 1 || (tap && !n->tap[0]) ||
	    ((stream || dgram || vde) && !n->addr[0]) || (n->listen && !stream) ||
	    (remote && !dgram) || ((tcp || udp) && !passt)) {
		log_msg("--net '%s': " NET_USAGE, arg);
		return -1;
	}
	n->kind = stream  ? NET_STREAM
		  : dgram ? NET_DGRAM
		  : vde	  ? NET_VDE
		  : passt ? NET_PASST
			  : NET_TAP;
	r = opt_value(arg, "mac", mac, sizeof(mac));
	if (r < 0 || (r > 0 && config_mac_parse(mac, n->mac))) {
		log_msg("--net '%s': mac must be a unicast, non-zero XX:XX:XX:XX:XX:XX", arg);
		return -1;
	}
	n->mac_set = r > 0;
	return 0;
}

int cli_parse_vsock(const char *arg, struct vsock_config *v)
{
	static const char *const keys[] = { "cid", "uds", NULL };
	char cid[16];
	int r;

	*v = (struct vsock_config){ 0 };
	if (!opt_known(arg, keys, "--vsock"))
		return -1;
	r = opt_value(arg, "cid", cid, sizeof(cid));
	/* CIDs 0-2 are reserved (hypervisor, local, host), and 2^32-1 is
	 * VMADDR_CID_ANY. */
	if (r <= 0 || uint_parse(cid, 3, UINT32_MAX - 1, &v->cid)) {
		log_msg("--vsock '%s': cid must be a number from 3 to %u", arg, UINT32_MAX - 1);
		return -1;
	}
	r = opt_value(arg, "uds", v->uds, sizeof(v->uds));
	if (r <= 0 || !v->uds[0]) {
		log_msg("--vsock '%s': expected uds=PATH (up to %d bytes)", arg,
			CONFIG_UDS_MAX - 1);
		return -1;
	}
	return 0;
}

#define FS_USAGE "expected tag=NAME,socket=PATH or tag=NAME,dir=PATH[,ro]"

int cli_parse_fs(const char *arg, struct fs_config *f)
{
	static const char *const keys[] = { "tag", "socket", "dir", "ro", NULL };
	char word[4];
	int tag, sock, dir;

	*f = (struct fs_config){ 0 };
	if (!opt_known(arg, keys, "--fs"))
		return -1;
	tag = opt_value(arg, "tag", f->tag, sizeof(f->tag));
	sock = opt_value(arg, "socket", f->socket, sizeof(f->socket));
	dir = opt_value(arg, "dir", f->dir, sizeof(f->dir));
	f->read_only = opt_flag(arg, "ro");
	if (tag < 0 || sock < 0 || dir < 0) {
		log_msg("--fs '%s': tag up to %d bytes, socket up to %d, dir up to %d", arg,
			CONFIG_FS_TAG_MAX - 1, CONFIG_UDS_MAX - 1, CONFIG_PATH_MAX - 1);
		return -1;
	}
	if (tag == 0 || sock + dir != 1 || (sock && !f->socket[0]) || (dir && !f->dir[0]) ||
	    opt_value(arg, "ro", word, sizeof(word))) {
		log_msg("--fs '%s': " FS_USAGE, arg);
		return -1;
	}
	return 0;
}

int cli_add_fs(const char *arg, struct vm_config *cfg)
{
	if (cfg->nfs == CONFIG_MAX_FS) {
		log_msg("--fs '%s': at most %d shares", arg, CONFIG_MAX_FS);
		return -1;
	}
	if (cli_parse_fs(arg, &cfg->fs[cfg->nfs]))
		return -1;
	cfg->nfs++;
	return 0;
}
