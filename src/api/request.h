/* SPDX-License-Identifier: MIT */
/*
 * What crosses from the API thread to the VMM thread: one typed request,
 * already parsed and validated as far as it can be without the VM (JSON
 * types, fields, ids), and the result that becomes the HTTP answer
 * (DESIGN contract 10). The VMM thread (control_api.c) judges what the
 * VM's state allows and acts.
 */
#ifndef PETREL_API_REQUEST_H
#define PETREL_API_REQUEST_H

#include <stdint.h>

#include "config.h"
#include "config_json.h"

enum api_action {
	API_GET_INFO,		  /* GET / */
	API_GET_VERSION,	  /* GET /version */
	API_GET_VM_CONFIG,	  /* GET /vm/config */
	API_GET_MACHINE,	  /* GET /machine-config */
	API_PUT_MACHINE,	  /* PUT /machine-config */
	API_PATCH_MACHINE,	  /* PATCH /machine-config */
	API_PUT_BOOT_SOURCE,	  /* PUT /boot-source */
	API_PUT_DRIVE,		  /* PUT /drives/{id} */
	API_PATCH_DRIVE,	  /* PATCH /drives/{id} */
	API_PUT_NET,		  /* PUT /network-interfaces/{id} */
	API_PATCH_NET,		  /* PATCH /network-interfaces/{id} */
	API_PUT_VSOCK,		  /* PUT /vsock */
	API_GET_BALLOON,	  /* GET /balloon */
	API_PUT_BALLOON,	  /* PUT /balloon */
	API_PATCH_BALLOON,	  /* PATCH /balloon */
	API_GET_BALLOON_STATS,	  /* GET /balloon/statistics */
	API_PATCH_BALLOON_STATS,  /* PATCH /balloon/statistics */
	API_PUT_ENTROPY,	  /* PUT /entropy */
	API_PUT_LOGGER,		  /* PUT /logger */
	API_PUT_METRICS,	  /* PUT /metrics */
	API_ACTION_START,	  /* PUT /actions InstanceStart */
	API_ACTION_CTRL_ALT_DEL,  /* PUT /actions SendCtrlAltDel */
	API_ACTION_FLUSH_METRICS, /* PUT /actions FlushMetrics */
	API_PATCH_VM,		  /* PATCH /vm */
	API_GET_METRICS,	  /* GET /metrics: Prometheus text (petrel's) */
	API_SNAPSHOT_CREATE,	  /* PUT /snapshot/create */
	API_SNAPSHOT_LOAD,	  /* PUT /snapshot/load */
	API_MIGRATE,		  /* PUT /migrate (petrel's) */
	API_NACTIONS,
};

/* PUT /snapshot/create. */
struct snapshot_create_req {
	bool diff; /* snapshot_type "Diff" */
	char state[CONFIG_PATH_MAX];
	char mem[CONFIG_PATH_MAX];
};

/* PUT /snapshot/load. */
struct snapshot_load_req {
	char state[CONFIG_PATH_MAX];
	char mem[CONFIG_PATH_MAX]; /* mem_backend's backend_path, or mem_file_path */
	bool uffd;		   /* backend_type "Uffd" */
	bool track_dirty_pages, resume, clock_realtime;
	struct {
		char id[CONFIG_ID_MAX];
		char tap[CONFIG_IFNAME_MAX];
	} net[CONFIG_MAX_NETS]; /* network_overrides */
	unsigned int nnet;
	char vsock_uds[CONFIG_UDS_MAX]; /* vsock_override; "": none */
};

/* PUT /migrate: live migration to a `petrel run --incoming` target. */
#define MIGRATE_DEST_MAX 256
#define MIGRATE_DOWNTIME_MAX_MS 60000
#define MIGRATE_ROUNDS_MAX 1000
struct migrate_req {
	char destination[MIGRATE_DEST_MAX]; /* unix:PATH or tcp:HOST:PORT */
	uint32_t downtime_ms;		    /* 0: the default */
	uint32_t max_rounds;		    /* 0: the default */
};

struct api_request {
	enum api_action action;
	uint64_t present; /* PATCH: which fields were given (config_json.h bits) */
	bool deprecated;  /* a deprecated field was used: "Deprecation: true" */
	union {
		struct machine_json machine;
		struct boot_config boot;
		struct disk_config drive;
		struct drive_patch drive_patch;
		struct net_config net;
		struct net_patch net_patch;
		struct vsock_config vsock;
		struct balloon_config balloon;
		uint32_t amount_mib;		   /* PATCH /balloon */
		uint32_t stats_polling_interval_s; /* PATCH /balloon/statistics */
		struct rng_config rng;
		struct logger_config logger;
		struct metrics_config metrics;
		bool pause; /* PATCH /vm: Paused (true) or Resumed */
		struct snapshot_create_req snap_create;
		struct snapshot_load_req snap_load;
		struct migrate_req migrate;
	} u;
};

#define API_FAULT_MAX 512

struct api_result {
	int status;		   /* 200 with body, 204, or 400 with fault */
	char *body;		   /* malloc'd (the API thread frees it), or NULL */
	const char *content_type;  /* NULL: application/json */
	char fault[API_FAULT_MAX]; /* the fault_message of a 400 */
	/* Set by the VMM thread: the answer comes later, through
	 * api_server_answer (a live migration); the API thread waits. */
	bool deferred;
};

/* A 400 with this fault_message. */
void api_fault(struct api_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A 200 with `j` as the body (the reference is taken; NULL: a 400). */
void api_reply_json(struct api_result *res, json_t *j);

#endif
