/* SPDX-License-Identifier: MIT */
/* The command line: subcommands, flags, help text. */
#ifndef PETREL_CLI_H
#define PETREL_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum cli_command {
	CLI_USAGE_ERROR = -1, /* a message has been printed */
	CLI_RUN,
	CLI_JAIL, /* `petrel jail`: opts->cfg.jail, with argv */
	CLI_CHECK,
	CLI_HELP,     /* petrel --help */
	CLI_RUN_HELP, /* petrel run --help */
	CLI_VERSION,
	CLI_FC_HELP,	    /* as firecracker: firecracker --help (cli_firecracker.h) */
	CLI_FC_VERSION,	    /* as firecracker: firecracker --version */
	CLI_SNAPSHOT,	    /* `petrel snapshot [--diff] SOCK STATE MEM`: opts->snapshot */
	CLI_SNAPSHOT_MERGE, /* `petrel snapshot-merge BASE_MEM DIFF_MEM`: opts->merge */
	CLI_MIGRATE,	    /* `petrel migrate SOCK DEST [DOWNTIME_MS]`: opts->migrate */
};

#define CLI_DEFAULT_MAX_PAYLOAD 51200 /* Firecracker's HTTP_MAX_PAYLOAD_SIZE */
#define CLI_DEFAULT_ID "anonymous-instance"

/* What `petrel run` was asked to do: the VM (cfg, from the flags or the
 * config file) and how petrel itself runs. */
struct run_options {
	struct vm_config cfg;
	const char *config_file; /* --config-file: cfg came from it */
	const char *api_sock;	 /* --api-sock PATH, or NULL */
	bool no_api;		 /* --no-api */
	const char *id;		 /* --id, for logs and metrics */
	size_t max_payload;	 /* --http-api-max-payload-size */
	bool start;		 /* cfg names a kernel: start at once */
	/* --restore STATE,MEM: the VM of a snapshot, resumed at once unless
	 * --restore-paused. STATE,uffd:SOCKET (restore_uffd): its memory from
	 * the page server on SOCKET (restore_mem holds SOCKET). */
	bool restore, restore_paused, restore_uffd;
	char restore_state[CONFIG_PATH_MAX], restore_mem[CONFIG_PATH_MAX];
	/* --incoming ADDR: the VM of a live migration (control_incoming). */
	const char *incoming;
	/* `petrel snapshot`: the API socket of the running petrel, the files. */
	struct {
		const char *sock, *state, *mem;
		bool diff; /* --diff */
	} snapshot;
	/* `petrel snapshot-merge`: the memory files. */
	struct {
		const char *base, *diff;
	} merge;
	/* `petrel migrate`: the source's API socket, the target's address,
	 * the downtime target (text, or NULL: the API's default). */
	struct {
		const char *sock, *dest, *downtime_ms;
	} migrate;
};

/* Parse argv: petrel's command line, or Firecracker's when argv[0] is
 * `firecracker` (cli_firecracker.h). Fills *opts for CLI_RUN (defaults applied; with
 * --config-file, only the settings that are not the VM's: the caller
 * then reads the file into opts->cfg, config_json.h) and CLI_JAIL. Prints
 * one error line and returns CLI_USAGE_ERROR on a malformed command line.
 * Checks values' syntax only: config_check judges the configuration.
 * Opens nothing. */
enum cli_command cli_parse(int argc, char **argv, struct run_options *opts);

void cli_print_help(void);
void cli_print_run_help(void);

#endif
