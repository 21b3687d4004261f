/* SPDX-License-Identifier: MIT */
/*
 * What the user asked for: one model for the command line, the JSON
 * config file and the REST API. Each of them fills a struct vm_config
 * (cli.c, config_json.c, the API's requests), and config_check judges the
 * result the same way whatever filled it. Strings are fixed arrays, so a
 * configuration is a plain value: copied, compared and replaced whole.
 */
#ifndef PETREL_CONFIG_H
#define PETREL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "ratelimit.h"

#define CONFIG_DEFAULT_MEM (256ULL << 20)
#define CONFIG_MIN_MEM (16ULL << 20)
#define CONFIG_DEFAULT_CPUS 1
#define CONFIG_MAX_CPUS 254 /* APIC IDs 0..254 fit xAPIC; 255 is broadcast */

#define CONFIG_MAX_DISKS 8
#define CONFIG_MAX_NETS 4
#define CONFIG_MAX_FS 4

#define CONFIG_PATH_MAX 4096
#define CONFIG_CMDLINE_MAX 4096
#define CONFIG_ID_MAX 64     /* drive_id, iface_id: [A-Za-z0-9_], with the NUL */
#define CONFIG_IFNAME_MAX 16 /* IFNAMSIZ, with the NUL */
/* sun_path (108 bytes) less room for vsock's "_<port>" suffix (11), with
 * the NUL. */
#define CONFIG_UDS_MAX 97

enum disk_cache {
	DISK_CACHE_WRITEBACK, /* FLUSH offered and honoured (petrel's default) */
	DISK_CACHE_UNSAFE,    /* no FLUSH: the guest's writes reach the page cache only */
};

enum disk_io_engine {
	DISK_IO_ASYNC, /* io_uring (petrel's default) */
	DISK_IO_SYNC,  /* worker threads */
};

struct disk_config {
	char id[CONFIG_ID_MAX];
	char path[CONFIG_PATH_MAX];
	bool read_only;
	bool root;		      /* is_root_device: root=/dev/vdX on the command line */
	char partuuid[CONFIG_ID_MAX]; /* root=PARTUUID=... instead; "" for none */
	enum disk_cache cache;
	enum disk_io_engine io_engine;
	struct ratelimit_config limit;
};

/* What carries a network interface's frames (src/virtio/net_backend.h). */
enum net_kind {
	NET_TAP,    /* tap: a host tap interface */
	NET_STREAM, /* addr: "unix:PATH" or "tcp:HOST:PORT"; listen */
	NET_DGRAM,  /* addr: "udp:HOST:PORT" (ours, or a multicast group); remote */
	NET_PASST,  /* a passt petrel starts (net_passt.c); tcp, udp: its forwards */
	NET_VDE,    /* addr: a vde_switch's directory, or a libvdeplug URL */
};

/* "unix:" and a sun_path, with the NUL. */
#define CONFIG_NET_ADDR_MAX 113
/* passt's port forwards, one -t or -u SPEC: "22", "2222:22,8000-8010". */
#define CONFIG_NET_FWD_MAX 128

struct net_config {
	char id[CONFIG_ID_MAX];
	enum net_kind kind;
	char tap[CONFIG_IFNAME_MAX];	  /* NET_TAP: host tap interface */
	char addr[CONFIG_NET_ADDR_MAX];	  /* NET_STREAM, NET_DGRAM, NET_VDE: as above */
	char remote[CONFIG_NET_ADDR_MAX]; /* NET_DGRAM: "HOST:PORT"; "" for a group */
	bool listen;			  /* NET_STREAM: accept a peer, not connect */
	char tcp[CONFIG_NET_FWD_MAX];	  /* NET_PASST: host TCP ports to the guest; "" none */
	char udp[CONFIG_NET_FWD_MAX];	  /* NET_PASST: host UDP ports to the guest; "" none */
	uint8_t mac[6];
	bool mac_set;	  /* else petrel picks a locally administered one */
	unsigned int mtu; /* 0: none given */
	struct ratelimit_config rx, tx;
};

struct vsock_config {
	uint32_t cid;		  /* guest CID, >= 3; 0: no vsock device */
	char uds[CONFIG_UDS_MAX]; /* host side: unix socket path */
	char id[CONFIG_ID_MAX];	  /* Firecracker's deprecated vsock_id, kept as given */
};

struct balloon_config {
	bool present;
	uint32_t amount_mib; /* target size */
	bool deflate_on_oom;
	uint32_t stats_polling_interval_s; /* 0: no statistics */
	bool free_page_reporting;
};

struct rng_config {
	bool present;
	struct ratelimit_config limit;
};

/* A host directory in the guest over virtio-fs (virtio/fs.h): a vhost-user
 * back end the user runs (socket), or virtiofsd started by petrel (dir). */
#define CONFIG_FS_TAG_MAX 37 /* the guest's mount tag: 36 bytes, with the NUL */
struct fs_config {
	char tag[CONFIG_FS_TAG_MAX]; /* [A-Za-z0-9_], also the device's id */
	char socket[CONFIG_UDS_MAX]; /* the back end's vhost-user socket, or "" */
	char dir[CONFIG_PATH_MAX];   /* the directory virtiofsd shares, or "" */
	bool read_only;		     /* dir only: virtiofsd refuses writes */
};

struct logger_config {
	bool set;
	char path[CONFIG_PATH_MAX]; /* "": stderr */
	enum log_level level;
	bool show_level, show_origin;
	char module[CONFIG_ID_MAX]; /* only messages from files under this path; "": all */
};

struct metrics_config {
	char path[CONFIG_PATH_MAX]; /* "": no metrics file */
};

/* --jail DIR --uid N --gid N (src/sandbox/jail.h). */
struct jail_config {
	char dir[CONFIG_PATH_MAX]; /* "": no jail */
	unsigned int uid, gid;
	char *const *argv; /* `petrel jail`: the program and its arguments */
};

/* boot-source */
struct boot_config {
	char kernel[CONFIG_PATH_MAX]; /* "": not configured */
	char initrd[CONFIG_PATH_MAX]; /* "": none */
	char cmdline[CONFIG_CMDLINE_MAX];
	bool cmdline_set;
};

struct vm_config {
	struct boot_config boot;

	/* machine-config */
	uint64_t mem_size; /* bytes, a whole number of MiB */
	unsigned int cpus;
	bool smt;
	bool track_dirty_pages;

	struct disk_config disk[CONFIG_MAX_DISKS];
	unsigned int ndisks;
	struct net_config net[CONFIG_MAX_NETS];
	unsigned int nnets;
	struct fs_config fs[CONFIG_MAX_FS];
	unsigned int nfs;
	struct vsock_config vsock;
	struct balloon_config balloon;
	struct rng_config rng;
	struct logger_config logger;
	struct metrics_config metrics;

	/* petrel's own */
	bool virtio_console; /* hvc0 instead of the UART */
	bool no_seccomp;     /* no syscall filters (debugging) */
	bool stealth;	     /* hide what names the hypervisor (cpuid.h, acpi.h) */
	struct jail_config jail;
};

/* The defaults: 1 vCPU, 256 MiB, no kernel, no devices (no entropy
 * device either: the command line adds its own). */
void config_init(struct vm_config *cfg);

/* Is `id` a Firecracker resource id: 1..CONFIG_ID_MAX-1 bytes of
 * [A-Za-z0-9_]? */
bool config_id_valid(const char *id);

/* "XX:XX:XX:XX:XX:XX", unicast and not all zeroes, into mac. 0 or
 * -EINVAL. */
int config_mac_parse(const char *s, uint8_t mac[6]) MUST_CHECK;

/* Judge a whole configuration before a VM is built from it: ranges, what
 * must be unique, what the host allows. Prints one line naming the
 * problem (the same text wherever the configuration came from) and
 * returns -EINVAL; 0 if it is fine. Opens nothing. */
int config_check(const struct vm_config *cfg) MUST_CHECK;

/* The checks of one part, for the API's requests that change only it. */
int config_check_machine(uint64_t mem_size, unsigned int cpus, bool smt) MUST_CHECK;
int config_check_disks(const struct vm_config *cfg) MUST_CHECK;
int config_check_nets(const struct vm_config *cfg) MUST_CHECK;
/* The virtio-fs shares: a tag of 1 to 36 bytes of [A-Za-z0-9_], unique;
 * socket or dir, not both; ro only with dir; no dir in a jail (virtiofsd
 * is not there: run it yourself, socket= inside the jail). */
int config_check_fs(const struct vm_config *cfg) MUST_CHECK;
int config_check_ratelimit(const char *what, const struct ratelimit_config *r) MUST_CHECK;
/* A drive's limit, a network interface's (NULL: not given), named as
 * config_check_disks / config_check_nets name them. */
int config_check_disk_limit(const char *id, const struct ratelimit_config *limit) MUST_CHECK;
int config_check_net_limits(const char *id, const struct ratelimit_config *rx,
			    const struct ratelimit_config *tx) MUST_CHECK;

/* The disk / net interface with this id, or NULL. */
struct disk_config *config_disk(struct vm_config *cfg, const char *id);
struct net_config *config_net(struct vm_config *cfg, const char *id);

#endif
