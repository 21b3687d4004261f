/* SPDX-License-Identifier: MIT */
#include "cli.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli_devices.h"
#include "log.h"
#include "size.h"

static const char help_text[] =
    "usage: petrel run --kernel FILE [--initrd FILE] [--cmdline STR] [--mem SIZE] [--cpus N]\n"
    "                  [--disk PATH[,ro]]... [--net tap=NAME[,mac=MAC]] [--console virtio]\n"
    "                  [--vsock cid=N,uds=PATH] [--balloon] [--api PATH] [--no-rng]\n"
    "                  [--stealth]\n"
    "                  [--jail DIR --uid N --gid N]\n"
    "       petrel jail --jail DIR --uid N --gid N [--mem SIZE] [--cpus N] [--] PROG [ARG...]\n"
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
    "  --stealth       hide the CPUID hypervisor bit and leaves, petrel's ACPI names\n"
    "                  and hypercall port (README: CPUID and MSRs)\n"
    "  --jail DIR      run in a jail rooted at DIR (needs root): new namespaces,\n"
    "                  uid/gid N (not 0), no capabilities, cgroup limits (README: Jail)\n"
    "jail     run PROG in the jail `run --jail` builds (PROG's path is inside DIR)\n"
    "check    report what this host's KVM offers and whether it is hardware-assisted\n"
    "\n"
    "exit status: 0 guest powered off or rebooted; 1 error; 2 usage error;\n"
    "             3 guest triple fault; 4 KVM internal error or emulation failure;\n"
    "             5 guest panic; a test guest's exit-port write gives its own value\n";

void cli_print_help(void)
{
	fputs(help_text, stdout);
}

/* --jail, --uid, --gid: all three or none. */
static int cli_check_jail(const struct vm_config *cfg, bool uid_set, bool gid_set)
{
	if (!cfg->jail.dir && (uid_set || gid_set)) {
		log_msg("--uid and --gid need --jail DIR (see petrel --help)");
		return -1;
	}
	if (cfg->jail.dir && (!uid_set || !gid_set)) {
		log_msg("--jail '%s': needs --uid N and --gid N", cfg->jail.dir);
		return -1;
	}
	/* After pivot_root the working directory is the jail's /. */
	if (cfg->jail.dir && cfg->vsock.cid && cfg->vsock.uds[0] != '/') {
		log_msg("--vsock uds '%s': must be an absolute path with --jail", cfg->vsock.uds);
		return -1;
	}
	return 0;
}

static int cli_parse_id(const char *opt, const char *arg, unsigned int *id)
{
	/* (uid_t)-1 means "unchanged" to setresuid. */
	if (uint_parse(arg, 0, UINT32_MAX - 1, id) == 0)
		return 0;
	log_msg("%s '%s': not a numeric id", opt, arg);
	return -1;
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
		{ "stealth", no_argument, NULL, 'S' },
		{ "jail", required_argument, NULL, 'J' },
		{ "uid", required_argument, NULL, 'U' },
		{ "gid", required_argument, NULL, 'G' },
		{ 0 },
	};
	bool jail_cmd = !strcmp(argv[0], "jail"), uid_set = false, gid_set = false;
	int opt, idx;

	*cfg = (struct vm_config){
		.mem_size = CONFIG_DEFAULT_MEM,
		.cpus = CONFIG_DEFAULT_CPUS,
	};
	opterr = 0;
	optind = 0; /* glibc: 0 fully resets getopt, also mid-way through a cluster */
	/* "+": `petrel jail` stops at PROG, whose own options are not ours. */
	while ((opt = getopt_long(argc, argv, jail_cmd ? "+:" : ":", opts, &idx)) != -1) {
		/* Every option is long: a match set idx. */
		if (jail_cmd && opt != ':' && opt != '?' && !strchr("mnJUG", opt)) {
			log_msg("jail: --%s is an option of run, not of jail", opts[idx].name);
			return CLI_USAGE_ERROR;
		}
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
			cfg->stealth = true;
			break;
		case 'J':
			cfg->jail.dir = optarg;
			break;
		case 'U':
			if (cli_parse_id("--uid", optarg, &cfg->jail.uid))
				return CLI_USAGE_ERROR;
			uid_set = true;
			break;
		case 'G':
			if (cli_parse_id("--gid", optarg, &cfg->jail.gid))
				return CLI_USAGE_ERROR;
			gid_set = true;
			break;
		case ':':
			log_msg("%s: needs a value", argv[optind - 1]);
			return CLI_USAGE_ERROR;
		default:
			if (optopt)
				log_msg("%s: unknown option '-%c' (see petrel --help)", argv[0],
					optopt);
			else
				log_msg("%s: unknown option '%s' (see petrel --help)", argv[0],
					argv[optind - 1]);
			return CLI_USAGE_ERROR;
		}
	}
	if (cli_check_jail(cfg, uid_set, gid_set))
		return CLI_USAGE_ERROR;
	if (jail_cmd) {
		if (!cfg->jail.dir) {
			log_msg(
			    "jail: --jail DIR --uid N --gid N are required (see petrel --help)");
			return CLI_USAGE_ERROR;
		}
		if (optind == argc) {
			log_msg("jail: no program given (see petrel --help)");
			return CLI_USAGE_ERROR;
		}
		cfg->jail.argv = argv + optind;
		return CLI_JAIL;
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
	if (!strcmp(argv[1], "run") || !strcmp(argv[1], "jail"))
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
