/* SPDX-License-Identifier: MIT */
/* The command line: subcommands, flags, help text. */
#ifndef PETREL_CLI_H
#define PETREL_CLI_H

#include "config.h"

enum cli_command {
	CLI_USAGE_ERROR = -1, /* a message has been printed */
	CLI_RUN,
	CLI_JAIL, /* `petrel jail`: cfg->jail, with argv */
	CLI_CHECK,
	CLI_HELP,
	CLI_VERSION,
};

/* Parse argv. Fills *cfg for CLI_RUN (defaults applied). Prints one error
 * line and returns CLI_USAGE_ERROR on malformed input. Does not open files
 * or check values against the host; vmm does that. */
enum cli_command cli_parse(int argc, char **argv, struct vm_config *cfg);

void cli_print_help(void);

#endif
