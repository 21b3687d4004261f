/* SPDX-License-Identifier: MIT */
/*
 * petrel as a drop-in `firecracker`: invoked under that name (a symlink),
 * it takes Firecracker v1.16's command line (src/firecracker/src/main.rs)
 * instead of its own, so tools that exec Firecracker can exec petrel.
 * cli_parse (cli.h) calls this module; it knows nothing of cli.h.
 */
#ifndef PETREL_CLI_FIRECRACKER_H
#define PETREL_CLI_FIRECRACKER_H

#include <stdbool.h>

/* Firecracker serves its API here unless told otherwise (--no-api). */
#define CLI_FC_DEFAULT_API_SOCK "/run/firecracker.socket"

/* Is argv0's basename "firecracker"? (NULL: no.) */
bool cli_fc_invoked(const char *argv0);

enum cli_fc_result {
	CLI_FC_BAD = -1, /* a usage error: one line has been printed */
	CLI_FC_TO_RUN,	 /* parse out->argv as `petrel run` */
	CLI_FC_TO_HELP,	 /* --help */
	CLI_FC_TO_VERSION,
};

#define CLI_FC_ARGV_MAX 64

/* Firecracker's command line as petrel's. */
struct cli_fc_run {
	char *argv[CLI_FC_ARGV_MAX]; /* "petrel", "run", options..., NULL */
	int argc;
	const char *module; /* --module (run has no flag for it), or NULL */
};

/* Translate Firecracker's flags (argv[0] is the program name) into
 * `petrel run`'s in *out: each flag petrel honours becomes run's option
 * of the same meaning, pointing into argv's strings; the harmless ones
 * (--boot-timer, the start-time values) are checked and dropped; the ones
 * petrel cannot honour (MMDS, custom seccomp filters, PCI, snapshots),
 * unknown ones, repeats and missing values are usage errors. Without
 * --api-sock or --no-api, the API is served on CLI_FC_DEFAULT_API_SOCK as
 * Firecracker's is. Checks only what run's parser does not. */
enum cli_fc_result cli_fc_translate(int argc, char **argv, struct cli_fc_run *out);

void cli_fc_print_help(void);
void cli_fc_print_version(void);

#endif
