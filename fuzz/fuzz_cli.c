/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the command line (cli_parse, the device option
 * parsers, size_parse, Firecracker's flags): the first byte picks the
 * program name (petrel's own command line or, as `firecracker`,
 * Firecracker's; byte % 4 == 3: the name is the input's first
 * NUL-terminated string), the rest, split at NUL bytes, is the
 * arguments. The parser must accept or print exactly one line,
 * "petrel: ...\n", and nothing else; what it accepts must be a
 * configuration vmm can trust (bounds and NUL-terminated strings).
 *
 * Messages are caught in a memfd (log_set_stderr) for the call; libFuzzer
 * and the sanitizers keep file descriptor 2, so their reports still reach
 * the terminal. Seeds in fuzz/corpus/cli/: command lines from the
 * README and the tests, each after its program-name byte ('p': petrel,
 * 'f': firecracker).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "cli_firecracker.h"
#include "fuzz_log.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool terminated(const char *s, size_t size)
{
	return memchr(s, 0, size) != NULL;
}

static void check_config(const struct run_options *o)
{
	const struct vm_config *cfg = &o->cfg;

	if ((!o->config_file && !cfg->boot.kernel[0] && !o->api_sock) ||
	    !terminated(cfg->boot.kernel, sizeof(cfg->boot.kernel)) ||
	    !terminated(cfg->boot.initrd, sizeof(cfg->boot.initrd)) ||
	    !terminated(cfg->boot.cmdline, sizeof(cfg->boot.cmdline)) ||
	    cfg->ndisks > CONFIG_MAX_DISKS || cfg->nnets > CONFIG_MAX_NETS ||
	    (o->no_api && o->api_sock) || !o->id || !o->max_payload ||
	    !terminated(cfg->logger.module, sizeof(cfg->logger.module)))
		abort();
	for (unsigned int i = 0; i < cfg->ndisks; i++)
		if (!terminated(cfg->disk[i].path, sizeof(cfg->disk[i].path)) ||
		    !cfg->disk[i].path[0] || !config_id_valid(cfg->disk[i].id))
			abort();
	for (unsigned int i = 0; i < cfg->nnets; i++)
		if (!terminated(cfg->net[i].tap, sizeof(cfg->net[i].tap)) ||
		    !terminated(cfg->net[i].addr, sizeof(cfg->net[i].addr)) ||
		    !terminated(cfg->net[i].remote, sizeof(cfg->net[i].remote)) ||
		    (cfg->net[i].kind == NET_TAP ? !cfg->net[i].tap[0] : !cfg->net[i].addr[0]) ||
		    (cfg->net[i].mac_set && cfg->net[i].mac[0] & 1) ||
		    !config_id_valid(cfg->net[i].id))
			abort();
	if (!terminated(cfg->vsock.uds, sizeof(cfg->vsock.uds)) ||
	    (cfg->vsock.cid &&
	     (cfg->vsock.cid < 3 || cfg->vsock.cid == UINT32_MAX || !cfg->vsock.uds[0])))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "petrel", "firecracker", "/usr/bin/firecracker" };
	static struct run_options opts;
	static struct fuzz_log log;
	char *argv[MAX_ARGS + 2], *text, *p;
	int argc = 0;
	enum cli_command cmd;
	bool fc;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (!text)
		abort();
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	p = text;
	if (data[0] % 4 < 3) {
		argv[argc++] = (char *)names[data[0] % 4];
	} else {
		argv[argc++] = p;
		p += strlen(p) + 1;
	}
	for (; argc <= MAX_ARGS && p <= text + size - 1; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	fc = cli_fc_invoked(argv[0]);

	fuzz_log_begin(&log);
	cmd = cli_parse(argc, argv, &opts);
	fuzz_log_end(&log);
	if (cmd == CLI_USAGE_ERROR ? !fuzz_log_one_line(&log) : log.len > 0) {
		fprintf(stderr, "cli_parse %d said '%s'\n", cmd, log.text);
		abort();
	}
	/* Each command line has its own commands. */
	if (fc ? cmd == CLI_JAIL || cmd == CLI_CHECK || cmd == CLI_HELP || cmd == CLI_RUN_HELP ||
		     cmd == CLI_VERSION
	       : cmd == CLI_FC_HELP || cmd == CLI_FC_VERSION)
		abort();
	if (cmd == CLI_RUN)
		check_config(&opts);
	/* Firecracker serves its API unless --no-api says not to. */
	if (cmd == CLI_RUN && fc && !opts.no_api == !opts.api_sock)
		abort();
	if (cmd == CLI_JAIL &&
	    (!opts.cfg.jail.dir[0] || !opts.cfg.jail.argv || !opts.cfg.jail.argv[0]))
		abort();
	free(text);
	return 0;
}
