/* SPDX-License-Identifier: MIT */
/* What the user asked for: the result of parsing the command line. */
#ifndef PETREL_CONFIG_H
#define PETREL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define CONFIG_DEFAULT_MEM (256ULL << 20)
#define CONFIG_MIN_MEM (16ULL << 20)
#define CONFIG_DEFAULT_CPUS 1
#define CONFIG_MAX_CPUS 254 /* APIC IDs 0..254 fit xAPIC; 255 is broadcast */

#define CONFIG_MAX_DISKS 8

#define CONFIG_PATH_MAX 4096
#define CONFIG_IFNAME_MAX 16 /* IFNAMSIZ, with the NUL */
/* sun_path (108 bytes) less room for vsock's "_<port>" suffix (11), with
 * the NUL. */
#define CONFIG_UDS_MAX 97

struct disk_config {
	char path[CONFIG_PATH_MAX];
	bool read_only;
};

struct net_config {
	char tap[CONFIG_IFNAME_MAX]; /* tap interface name; "": no network device */
	uint8_t mac[6];
	bool mac_set; /* else petrel picks a locally administered one */
};

struct vsock_config {
	uint32_t cid;		  /* guest CID, >= 3; 0: no vsock device */
	char uds[CONFIG_UDS_MAX]; /* host side: unix socket path */
};

/* --jail DIR --uid N --gid N (src/sandbox/jail.h). */
struct jail_config {
	const char *dir; /* NULL: no jail */
	unsigned int uid, gid;
	char *const *argv; /* `petrel jail`: the program and its arguments */
};

struct vm_config {
	const char *kernel;
	const char *initrd;  /* NULL: none */
	const char *cmdline; /* user's part; NULL: none */
	uint64_t mem_size;   /* bytes */
	unsigned int cpus;

	struct disk_config disk[CONFIG_MAX_DISKS];
	unsigned int ndisks;
	struct net_config net;
	struct vsock_config vsock;
	bool virtio_console; /* --console virtio: hvc0 instead of the UART */
	bool no_rng;	     /* --no-rng: no entropy device */
	bool balloon;
	bool no_seccomp; /* --no-seccomp: no syscall filters (debugging) */
	const char *api; /* control socket path, NULL: none */
	bool stealth;	 /* --stealth: hide what names the hypervisor (cpuid.h, acpi.h) */
	struct jail_config jail;
};

#endif
