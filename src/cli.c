/* SPDX-License-Identifier: MIT */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli_devices.h"
#include "log.h"
#include "size.h"

static const char help_text[] =
    "usage: petrel run --kernel FILE [--initrd FILE] [--cmdline STR] [--mem SIZE] [--cpus N]\n"
    "                  [--disk PATH[,ro]]... [--net tap=NAME[,mac=MAC]] [--console virtio]\n"
    "                  [--vsock cid=N,uds=PATH] [--balloon] [--api PATH] [--no-rng]\n"
    "                  [--no-seccomp]\n"
    "       petrel check\n"
    "       petrel --help | --version\n"
    "\n"
    "run      boot a kernel: a Linux bzImage, or an ELF with a PVH entry note\n"
    "  --kernel FILE   kernel image (required)\n"
    "  --initrd FILE   initial ramdisk\n"
    "  --cmdline STR   kernel command line; petrel adds console=ttyS0 and panic=-1\n"
    "                  unless STR sets console= or panic= itself\n"
    "  --mem SIZE      guest RAM, e.g. 128M or 2G (default 256M, at least 16M)\n"
    "  --cpus N        vCPUs, 1..254 (default 1)\n"
    "  --disk PATH[,ro]  virtio-blk disk: a raw image file or block device (up to 8)\n"
    "  --net tap=NAME[,mac=XX:XX:XX:XX:XX:XX]  virtio-net on host tap device NAME\n"
    "  --console virtio  the console is virtio-console (hvc0) instead of COM1\n"
    "  --vsock cid=N,uds=PATH  virtio-vsock, guest CID N; host side on unix socket PATH\n"
    "  --balloon       virtio-balloon (target set through --api)\n"
    "  --api PATH      control socket (unix stream, one command per line)\n"
    "  --no-rng        no virtio-rng (present by default)\n"
    "  --no-seccomp    no seccomp syscall filters (for debugging)\n"
    "check    report what this host's KVM offers and whether it is hardware-assisted\n"
    "\n"
    "exit status: 0 guest powered off or rebooted; 1 error; 2 usage error;\n"
    "             3 guest triple fault; 4 KVM internal error or emulation failure;\n"
    "             5 guest panic; a test guest's exit-port write gives its own value\n";

void cli_print_help(void)
{
	fputs(help_text, stdout);
}

static enum cli_command cli_parse_run(int argc, char **argv, struct vm_config *cfg)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "mem", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'n' },
		{ "disk", required_argument, NULL, 'd' },
		{ "net", required_argument, NULL, 'N' },
		{ "console", required_argument, NULL, 'C' },
		{ "vsock", required_argument, NULL, 'v' },
		{ "balloon", no_argument, NULL, 'b' },
		{ "api", required_argument, NULL, 'a' },
		{ "no-rng", no_argument, NULL, 'R' },
		{ "no-seccomp", no_argument, NULL, 'S' },
		{ 0 },
	};
	int opt;

	*cfg = (struct vm_config){
		.mem_size = CONFIG_DEFAULT_MEM,
		.cpus = CONFIG_DEFAULT_CPUS,
	};
	opterr = 0;
	optind = 0; /* glibc: 0 fully resets getopt, also mid-way through a cluster */
	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			cfg->kernel = optarg;
			break;
		case 'i':
			cfg->initrd = optarg;
			break;
		case 'c':
			cfg->cmdline = optarg;
			break;
		case 'm':
			if (size_parse(optarg, &cfg->mem_size)) {
				log_msg("--mem '%s': not a size (use e.g. 128M or 2G)", optarg);
				return CLI_USAGE_ERROR;
			}
			break;
		case 'n':
			if (uint_parse(optarg, 1, CONFIG_MAX_CPUS, &cfg->cpus)) {
				log_msg("--cpus '%s': must be a number from 1 to %d", optarg,
					CONFIG_MAX_CPUS);
				return CLI_USAGE_ERROR;
			}
			break;
		case 'd':
			if (cfg->ndisks == CONFIG_MAX_DISKS) {
				log_msg("--disk '%s': at most %d disks", optarg, CONFIG_MAX_DISKS);
				return CLI_USAGE_ERROR;
			}
			if (cli_parse_disk(optarg, &cfg->disk[cfg->ndisks++]))
				return CLI_USAGE_ERROR;
			break;
		case 'N':
			if (cfg->net.tap[0]) {
				log_msg("--net '%s': only one network device", optarg);
				return CLI_USAGE_ERROR;
			}
			if (cli_parse_net(optarg, &cfg->net))
				return CLI_USAGE_ERROR;
			break;
		case 'C':
			if (strcmp(optarg, "virtio") && strcmp(optarg, "serial")) {
				log_msg("--console '%s': must be virtio or serial", optarg);
				return CLI_USAGE_ERROR;
			}
			cfg->virtio_console = !strcmp(optarg, "virtio");
			break;
		case 'v':
			if (cfg->vsock.cid) {
				log_msg("--vsock '%s': only one vsock device", optarg);
				return CLI_USAGE_ERROR;
			}
			if (cli_parse_vsock(optarg, &cfg->vsock))
				return CLI_USAGE_ERROR;
			break;
		case 'b':
			cfg->balloon = true;
			break;
		case 'a':
			cfg->api = optarg;
			break;
		case 'R':
			cfg->no_rng = true;
			break;
		case 'S':
			cfg->no_seccomp = true;
			break;
		case ':':
			log_msg("%s: needs a value", argv[optind - 1]);
			return CLI_USAGE_ERROR;
		default:
			if (optopt)
				log_msg("run: unknown option '-%c' (see petrel --help)", optopt);
			else
				log_msg("run: unknown option '%s' (see petrel --help)",
					argv[optind - 1]);
			return CLI_USAGE_ERROR;
		}
	}
	if (optind < argc) {
		log_msg("run: unexpected argument '%s' (see petrel --help)", argv[optind]);
		return CLI_USAGE_ERROR;
	}
	if (!cfg->kernel) {
		log_msg("run: --kernel FILE is required (see petrel --help)");
		return CLI_USAGE_ERROR;
	}
	return CLI_RUN;
}

enum cli_command cli_parse(int argc, char **argv, struct vm_config *cfg)
{
	if (argc < 2) {
		log_msg("no command given (see petrel --help)");
		return CLI_USAGE_ERROR;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
		return CLI_HELP;
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
		return CLI_VERSION;
	if (!strcmp(argv[1], "run"))
		return cli_parse_run(argc - 1, argv + 1, cfg);
	if (!strcmp(argv[1], "check")) {
		if (argc > 2) {
			log_msg("check: takes no arguments");
			return CLI_USAGE_ERROR;
		}
		return CLI_CHECK;
	}
	log_msg("unknown command '%s' (see petrel --help)", argv[1]);
	return CLI_USAGE_ERROR;
}
