/* SPDX-License-Identifier: MIT */
/*
 * Firecracker's JSON for a VM, both ways: the config file (--config-file)
 * and GET /vm/config are one document, and each section is also the body
 * of an API request (PUT /drives/{id} is a "drives" entry). One reader per
 * section serves the file and the API, so the same mistake gets the same
 * message. The document's keys: "boot-source", "machine-config",
 * "drives", "network-interfaces", "vsock", "balloon", "entropy",
 * "logger", "metrics", petrel's own settings under "petrel", and
 * Firecracker's "cpu-config", "mmds-config", "pmem", "memory-hotplug" and
 * "serial", which petrel accepts only empty (null or []).
 *
 * The readers check JSON types, fields and the formats of values (ids,
 * MACs); ranges and what must agree across sections are config_check's.
 */
#ifndef PETREL_CONFIG_JSON_H
#define PETREL_CONFIG_JSON_H

#include <jansson.h>

#include "config.h"
#include "json_in.h"
#include "log.h"

/* machine-config, as PUT (whole) and PATCH (some fields) give it. */
struct machine_json {
	uint32_t vcpu_count;
	uint32_t mem_size_mib;
	bool smt;
	bool track_dirty_pages;
	int huge_pages;	  /* "None" only */
	int cpu_template; /* "None" only */
};
enum { MACHINE_VCPUS = 1 << 0, MACHINE_MEM = 1 << 1, MACHINE_SMT = 1 << 2, MACHINE_DIRTY = 1 << 3 };

/* PATCH /drives/{id}. */
struct drive_patch {
	char id[CONFIG_ID_MAX];
	char path[CONFIG_PATH_MAX];
	struct ratelimit_config limit;
};
enum { DRIVE_PATCH_PATH = 1 << 1, DRIVE_PATCH_LIMIT = 1 << 2 };

/* PATCH /network-interfaces/{id}. */
struct net_patch {
	char id[CONFIG_ID_MAX];
	struct ratelimit_config rx, tx;
};
enum { NET_PATCH_RX = 1 << 1, NET_PATCH_TX = 1 << 2 };

/* Each reader: 0, or -EINVAL with a message in err (errsz bytes). */
int config_json_boot_source(const json_t *v, struct boot_config *b, char *err,
			    size_t errsz) MUST_CHECK;
int config_json_machine(const json_t *v, bool patch, struct machine_json *m, uint64_t *present,
			char *err, size_t errsz) MUST_CHECK;
int config_json_drive(const json_t *v, struct disk_config *d, char *err, size_t errsz) MUST_CHECK;
int config_json_drive_patch(const json_t *v, struct drive_patch *p, uint64_t *present, char *err,
			    size_t errsz) MUST_CHECK;
int config_json_net(const json_t *v, struct net_config *n, char *err, size_t errsz) MUST_CHECK;
int config_json_net_patch(const json_t *v, struct net_patch *p, uint64_t *present, char *err,
			  size_t errsz) MUST_CHECK;
int config_json_vsock(const json_t *v, struct vsock_config *vs, char *err, size_t errsz) MUST_CHECK;
/* One virtio-fs share: {"tag", "socket" | "dir", "read_only"} (petrel's
 * own; config_check_fs judges the whole list). */
int config_json_fs(const json_t *v, struct fs_config *fs, char *err, size_t errsz) MUST_CHECK;
int config_json_balloon(const json_t *v, struct balloon_config *b, char *err,
			size_t errsz) MUST_CHECK;
int config_json_entropy(const json_t *v, struct rng_config *r, char *err, size_t errsz) MUST_CHECK;
int config_json_logger(const json_t *v, struct logger_config *l, char *err,
		       size_t errsz) MUST_CHECK;
int config_json_metrics(const json_t *v, struct metrics_config *m, char *err,
			size_t errsz) MUST_CHECK;

/* Apply a machine-config reader's result to cfg: PUT resets what it does
 * not give to the defaults, PATCH keeps it. */
void config_json_apply_machine(struct vm_config *cfg, const struct machine_json *m,
			       uint64_t present, bool patch);

/* A whole document into cfg, which holds what the command line set
 * (logger, metrics, jail, seccomp): the document's sections replace the
 * VM's part; a logger or metrics section where the command line already
 * set one is an error. 0 or -EINVAL with err set. */
int config_json_document(const json_t *doc, struct vm_config *cfg, char *err,
			 size_t errsz) MUST_CHECK;

/* --config-file: read `path` (at most CONFIG_JSON_FILE_MAX bytes) into cfg
 * as config_json_document does. 0, or -errno after one line naming the
 * file and the problem. */
#define CONFIG_JSON_FILE_MAX (1 << 20)
int config_json_load(const char *path, struct vm_config *cfg) MUST_CHECK;

/* GET /vm/config: the document config_json_load reads back to the same
 * configuration. malloc'd text, or NULL on ENOMEM. */
char *config_json_dump(const struct vm_config *cfg);

#endif
