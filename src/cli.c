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
    "                  [--jail DIR --uid N --gid N] [--no-seccomp]\n"
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
    "  --no-seccomp    no seccomp syscall filters (for debugging)\n"
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

/* Long options' values are above every char, so getopt's optopt tells a
 * long option given a value it does not take (optopt >= OPT_FIRST) from an
 * unknown short option (a char) and an unknown long one (0). */
enum cli_opt {
	OPT_FIRST = 256,
	OPT_KERNEL = OPT_FIRST,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_MEM,
	OPT_CPUS,
	OPT_DISK,
	OPT_NET,
	OPT_CONSOLE,
	OPT_VSOCK,
	OPT_BALLOON,
	OPT_API,
	OPT_NO_RNG,
	OPT_STEALTH,
	OPT_JAIL,
	OPT_UID,
	OPT_GID,
	OPT_NO_SECCOMP,
	OPT_END
};

static const struct option cli_opts[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "mem", required_argument, NULL, OPT_MEM },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "net", required_argument, NULL, OPT_NET },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "vsock", required_argument, NULL, OPT_VSOCK },
	{ "balloon", no_argument, NULL, OPT_BALLOON },
	{ "api", required_argument, NULL, OPT_API },
	{ "no-rng", no_argument, NULL, OPT_NO_RNG },
	{ "stealth", no_argument, NULL, OPT_STEALTH },
	{ "jail", required_argument, NULL, OPT_JAIL },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "gid", required_argument, NULL, OPT_GID },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ 0 },
};

static const char *cli_opt_name(int val)
{
	for (const struct option *o = cli_opts; o->name; o++)
		if (o->val == val)
			return o->name;
	return "?";
}

/* Is s one of our options ("--mem", "--mem=1G")? Then the option before
 * it was left without its value: "--kernel --mem 1G". */
static bool cli_is_option(const char *s)
{
	if (strncmp(s, "--", 2))
		return false;
	s += 2;
	for (const struct option *o = cli_opts; o->name; o++) {
		size_t n = strlen(o->name);

		if (!strncmp(s, o->name, n) && (s[n] == 0 || s[n] == '='))
			return true;
	}
	return false;
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
	bool seen[OPT_END - OPT_FIRST] = { false };
	bool jail_cmd = !strcmp(argv[0], "jail"), uid_set = false, gid_set = false;
	int opt;

	*cfg = (struct vm_config){
		.mem_size = CONFIG_DEFAULT_MEM,
		.cpus = CONFIG_DEFAULT_CPUS,
	};
	opterr = 0;
	optind = 0; /* glibc: 0 fully resets getopt, also mid-way through a cluster */
	/* "+": `petrel jail` stops at PROG, whose own options are not ours. */
	while ((opt = getopt_long(argc, argv, jail_cmd ? "+:" : ":", cli_opts, NULL)) != -1) {
		if (jail_cmd && opt >= OPT_FIRST && opt != OPT_MEM && opt != OPT_CPUS &&
		    opt != OPT_JAIL && opt != OPT_UID && opt != OPT_GID) {
			log_msg("jail: --%s is an option of run, not of jail", cli_opt_name(opt));
			return CLI_USAGE_ERROR;
		}
		if (opt >= OPT_FIRST && optarg && cli_is_option(optarg)) {
			log_msg("--%s: needs a value (got the option '%s')", cli_opt_name(opt),
				optarg);
			return CLI_USAGE_ERROR;
		}
		/* Each of these names one thing: a second one would silently
		 * replace the first. */
		if (opt >= OPT_FIRST && opt != OPT_DISK && opt != OPT_NET && opt != OPT_VSOCK) {
			if (seen[opt - OPT_FIRST]) {
				log_msg("--%s: given twice", cli_opt_name(opt));
				return CLI_USAGE_ERROR;
			}
			seen[opt - OPT_FIRST] = true;
		}
		switch (opt) {
		case OPT_KERNEL:
			cfg->kernel = optarg;
			break;
		case OPT_INITRD:
			cfg->initrd = optarg;
			break;
		case OPT_CMDLINE:
			cfg->cmdline = optarg;
			break;
		case OPT_MEM:
			if (size_parse(optarg, &cfg->mem_size)) {
				log_msg("--mem '%s': not a size (use e.g. 128M or 2G)", optarg);
				return CLI_USAGE_ERROR;
			}
			break;
		case OPT_CPUS:
			if (uint_parse(optarg, 1, CONFIG_MAX_CPUS, &cfg->cpus)) {
				log_msg("--cpus '%s': must be a number from 1 to %d", optarg,
					CONFIG_MAX_CPUS);
				return CLI_USAGE_ERROR;
			}
			break;
		case OPT_DISK:
			if (cfg->ndisks == CONFIG_MAX_DISKS) {
				log_msg("--disk '%s': at most %d disks", optarg, CONFIG_MAX_DISKS);
				return CLI_USAGE_ERROR;
			}
			if (cli_parse_disk(optarg, &cfg->disk[cfg->ndisks++]))
				return CLI_USAGE_ERROR;
			break;
		case OPT_NET:
			if (cfg->net.tap[0]) {
				log_msg("--net '%s': only one network device", optarg);
				return CLI_USAGE_ERROR;
			}
			if (cli_parse_net(optarg, &cfg->net))
				return CLI_USAGE_ERROR;
			break;
		case OPT_CONSOLE:
			if (strcmp(optarg, "virtio") && strcmp(optarg, "serial")) {
				log_msg("--console '%s': must be virtio or serial", optarg);
				return CLI_USAGE_ERROR;
			}
			cfg->virtio_console = !strcmp(optarg, "virtio");
			break;
		case OPT_VSOCK:
			if (cfg->vsock.cid) {
				log_msg("--vsock '%s': only one vsock device", optarg);
				return CLI_USAGE_ERROR;
			}
			if (cli_parse_vsock(optarg, &cfg->vsock))
				return CLI_USAGE_ERROR;
			break;
		case OPT_BALLOON:
			cfg->balloon = true;
			break;
		case OPT_API:
			cfg->api = optarg;
			break;
		case OPT_NO_RNG:
			cfg->no_rng = true;
			break;
		case OPT_STEALTH:
			cfg->stealth = true;
			break;
		case OPT_JAIL:
			cfg->jail.dir = optarg;
			break;
		case OPT_UID:
			if (cli_parse_id("--uid", optarg, &cfg->jail.uid))
				return CLI_USAGE_ERROR;
			uid_set = true;
			break;
		case OPT_GID:
			if (cli_parse_id("--gid", optarg, &cfg->jail.gid))
				return CLI_USAGE_ERROR;
			gid_set = true;
			break;
		case OPT_NO_SECCOMP:
			cfg->no_seccomp = true;
			break;
		case ':':
			log_msg("%s: needs a value", argv[optind - 1]);
			return CLI_USAGE_ERROR;
		default:
			if (optopt >= OPT_FIRST)
				log_msg("--%s: takes no value", cli_opt_name(optopt));
			else if (optopt)
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
