/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the command line (cli_parse, the device option
 * parsers, size_parse): the input, split at NUL bytes, is argv after
 * "petrel". The parser must accept or print exactly one line,
 * "petrel: ...\n", and nothing else; what it accepts must be a
 * configuration vmm can trust (bounds and NUL-terminated strings).
 *
 * stderr is caught by pointing the stdio stream `stderr` (which log_msg
 * writes through) at a memory stream for the call. libFuzzer and the
 * sanitizers write to file descriptor 2 directly, so their reports still
 * reach the terminal. Seeds in fuzz/corpus/cli/: command lines from the
 * README and the tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool terminated(const char *s, size_t size)
{
	return memchr(s, 0, size) != NULL;
}

static void check_config(const struct vm_config *cfg)
{
	if (!cfg->kernel || cfg->cpus < 1 || cfg->cpus > CONFIG_MAX_CPUS ||
	    cfg->ndisks > CONFIG_MAX_DISKS)
		abort();
	for (unsigned int i = 0; i < cfg->ndisks; i++)
		if (!terminated(cfg->disk[i].path, sizeof(cfg->disk[i].path)) ||
		    !cfg->disk[i].path[0])
			abort();
	if (!terminated(cfg->net.tap, sizeof(cfg->net.tap)) ||
	    (cfg->net.mac_set && (!cfg->net.tap[0] || cfg->net.mac[0] & 1)))
		abort();
	if (!terminated(cfg->vsock.uds, sizeof(cfg->vsock.uds)) ||
	    (cfg->vsock.cid &&
	     (cfg->vsock.cid < 3 || cfg->vsock.cid == UINT32_MAX || !cfg->vsock.uds[0])))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2] = { "petrel" }, *text, *msg = NULL, *nl;
	size_t msg_len = 0;
	int argc = 1;
	struct vm_config cfg;
	enum cli_command cmd;
	FILE *saved = stderr;

	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = 0;
	for (char *p = text; argc <= MAX_ARGS && p <= text + size; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;

	stderr = open_memstream(&msg, &msg_len);
	if (!stderr)
		abort();
	cmd = cli_parse(argc, argv, &cfg);
	fclose(stderr);
	stderr = saved;

	if (cmd == CLI_USAGE_ERROR) {
		nl = memchr(msg, '\n', msg_len);
		if (msg_len < 9 || strncmp(msg, "petrel: ", 8) || nl != msg + msg_len - 1) {
			fprintf(stderr, "not one line: '%.*s'\n", (int)msg_len, msg);
			abort();
		}
	} else if (msg_len) {
		fprintf(stderr, "printed without an error: '%.*s'\n", (int)msg_len, msg);
		abort();
	}
	if (cmd == CLI_RUN)
		check_config(&cfg);
	if (cmd == CLI_JAIL && (!cfg.jail.dir || !cfg.jail.argv || !cfg.jail.argv[0]))
		abort();
	free(msg);
	free(text);
	return 0;
}
