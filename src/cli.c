/* SPDX-License-Identifier: MIT */
#include "cli.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli_devices.h"
#include "cli_firecracker.h"
#include "log.h"
#include "size.h"

static const char run_help_text[] =
    "usage: petrel run --kernel FILE [--initrd FILE] [--cmdline STR] [--mem SIZE] [--cpus N]\n"
    "                  [--disk PATH[,ro]]... [--net tap=NAME|stream=..|dgram=..|passt|vde=..]...\n"
    "                  [--console virtio] [--vsock cid=N,uds=PATH] [--balloon] [--no-rng]\n"
    "                  [--fs tag=NAME,socket=PATH|dir=PATH[,ro]]... [--stealth]\n"
    "                  [--api-sock PATH] [--jail DIR --uid N --gid N] [--no-seccomp]\n"
    "                  [--id ID] [--log-path FILE] [--level LEVEL] [--show-level]\n"
    "                  [--show-log-origin] [--metrics-path FILE]\n"
    "                  [--http-api-max-payload-size BYTES]\n"
    "       petrel run --config-file FILE [--api-sock PATH | --no-api] [same options as\n"
    "                  above from --api-sock on]\n"
    "       petrel run --api-sock PATH [...]   (configured and started through the API)\n"
    "       petrel run --restore STATE,MEM|STATE,uffd:SOCKET [--restore-paused]\n"
    "                  [--api-sock PATH]\n"
    "                  [--no-seccomp] [same options as above from --id on]\n"
    "       petrel run --incoming unix:PATH|tcp:[HOST]:PORT [--api-sock PATH]\n"
    "                  [--no-seccomp] [same options as above from --id on]\n"
    "\n"
    "boot a kernel: a Linux bzImage, or an ELF with a PVH entry note\n"
    "  --kernel FILE   kernel image\n"
    "  --initrd FILE   initial ramdisk\n"
    "  --cmdline STR   kernel command line; petrel adds console=ttyS0 and panic=-1\n"
    "                  unless STR sets console= or panic= itself\n"
    "  --mem SIZE      guest RAM in whole MiB, e.g. 128M or 2G (default 256M, at least 16M)\n"
    "  --cpus N        vCPUs, 1..254 (default 1)\n"
    "  --disk PATH[,ro]  virtio-blk disk: a raw image file or block device (up to 8)\n"
    "  --net tap=NAME[,mac=XX:XX:XX:XX:XX:XX]  virtio-net on host tap NAME (up to 4)\n"
    "  --net stream=unix:PATH|tcp:HOST:PORT[,listen][,mac=MAC]  virtio-net on a link with\n"
    "                  QEMU's -netdev stream framing (listen: accept one peer)\n"
    "  --net dgram=udp:HOST:PORT[,remote=HOST:PORT][,mac=MAC]  virtio-net on UDP\n"
    "                  datagrams to remote, or on a multicast group (a hub)\n"
    "  --net passt[,tcp=PORTS][,udp=PORTS][,mac=MAC]  virtio-net through passt (user-mode\n"
    "                  networking, no root), host PORTS forwarded to the guest\n"
    "  --net vde=PATH[,mac=MAC]  virtio-net on a port of the vde_switch at PATH\n"
    "  --console virtio  the console is virtio-console (hvc0) instead of COM1\n"
    "  --vsock cid=N,uds=PATH  virtio-vsock, guest CID N; host side on unix socket PATH\n"
    "  --fs tag=NAME,socket=PATH  virtio-fs share NAME (the guest mounts it with\n"
    "                  mount -t virtiofs NAME DIR) served by the vhost-user back end on\n"
    "                  unix socket PATH (e.g. virtiofsd --socket-path=PATH); up to 4\n"
    "  --fs tag=NAME,dir=PATH[,ro]  the same, petrel starting virtiofsd on host\n"
    "                  directory PATH (ro: read-only) and stopping it at exit\n"
    "  --balloon       virtio-balloon (its target is set through the API)\n"
    "  --no-rng        no virtio-rng (present by default)\n"
    "  --stealth       hide the CPUID hypervisor bit and leaves, petrel's ACPI names\n"
    "                  and hypercall port (README: CPUID and MSRs)\n"
    "  --config-file FILE  the VM from a JSON file (Firecracker's format, README:\n"
    "                  Config file), started at once; not with the VM options above\n"
    "  --api-sock PATH the REST API (Firecracker's) on unix socket PATH; with no\n"
    "                  --kernel or --config-file, petrel waits to be configured\n"
    "  --no-api        with --config-file: no API socket\n"
    "  --restore STATE,MEM  the VM of a snapshot (README: Snapshots): its state file and\n"
    "                  memory file (as PUT /snapshot/create wrote them), resumed at once;\n"
    "                  STATE,uffd:SOCKET: the memory from the page server listening on\n"
    "                  unix socket SOCKET (Firecracker's Uffd backend, e.g. petrel-pager)\n"
    "  --restore-paused  with --restore and --api-sock: stay paused until PATCH /vm\n"
    "  --incoming ADDR  the VM a live migration brings (README: Live migration): listen\n"
    "                  on unix:PATH or tcp:[HOST]:PORT (HOST numeric, empty: any) for\n"
    "                  one `PUT /migrate` source, run the VM once it is all here\n"
    "  --id ID         instance id in logs and metrics (default anonymous-instance)\n"
    "  --log-path FILE log lines to FILE (or a FIFO) instead of stderr\n"
    "  --level LEVEL   Off, Error, Warning, Info, Debug or Trace (default Warning)\n"
    "  --show-level, --show-log-origin  add the level / the source file:line to lines\n"
    "  --metrics-path FILE  metrics, one JSON line per flush, to FILE (or a FIFO)\n"
    "  --http-api-max-payload-size BYTES  largest API request body (default 51200)\n"
    "  --jail DIR      run in a jail rooted at DIR (needs root): new namespaces,\n"
    "                  uid/gid N (not 0), no capabilities, cgroup limits (README: Jail)\n"
    "  --no-seccomp    no seccomp syscall filters (for debugging)\n"
    "\n"
    "exit status: 0 guest powered off or rebooted; 1 error; 2 usage error;\n"
    "             3 guest triple fault; 4 KVM internal error or emulation failure;\n"
    "             5 guest panic; 128+N stopped by signal N; a test guest's exit-port\n"
    "             write gives its own value\n";

static const char help_text[] =
    "usage: petrel run [OPTIONS]     boot a VM (petrel run --help for the options)\n"
    "       petrel jail --jail DIR --uid N --gid N [--mem SIZE] [--cpus N] [--] PROG [ARG...]\n"
    "       petrel snapshot [--diff] SOCK STATE MEM\n"
    "       petrel snapshot-merge BASE_MEM DIFF_MEM\n"
    "       petrel migrate SOCK DEST [DOWNTIME_MS]\n"
    "       petrel check\n"
    "       petrel --help | --version\n"
    "\n"
    "run      boot a kernel: a Linux bzImage, or an ELF with a PVH entry note; from\n"
    "         options, a Firecracker config file, or the Firecracker REST API\n"
    "jail     run PROG in the jail `run --jail` builds (PROG's path is inside DIR)\n"
    "snapshot snapshot the VM of the petrel serving the API on SOCK into the files\n"
    "         STATE and MEM (paused for the time it takes); `run --restore` runs it;\n"
    "         --diff: only the memory changed since the last snapshot (the VM tracks\n"
    "         dirty pages: track_dirty_pages)\n"
    "snapshot-merge\n"
    "         apply the diff snapshot memory file DIFF_MEM onto BASE_MEM, the memory\n"
    "         file it follows (a full one, or one merged before), in place\n"
    "migrate  move the VM of the petrel serving the API on SOCK, live, to the\n"
    "         `run --incoming DEST` petrel at DEST (unix:PATH or tcp:HOST:PORT)\n"
    "check    report what this host's KVM offers and whether it is hardware-assisted\n";

void cli_print_help(void)
{
	fputs(help_text, stdout);
}

void cli_print_run_help(void)
{
	fputs(run_help_text, stdout);
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
	OPT_FS,
	OPT_BALLOON,
	OPT_NO_RNG,
	OPT_STEALTH,
	OPT_VM_LAST = OPT_STEALTH, /* the VM's own options end here */
	OPT_CONFIG_FILE,
	OPT_API_SOCK,
	OPT_NO_API,
	OPT_RESTORE,
	OPT_RESTORE_PAUSED,
	OPT_INCOMING,
	OPT_ID,
	OPT_LOG_PATH,
	OPT_LEVEL,
	OPT_SHOW_LEVEL,
	OPT_SHOW_ORIGIN,
	OPT_METRICS_PATH,
	OPT_MAX_PAYLOAD,
	OPT_JAIL,
	OPT_UID,
	OPT_GID,
	OPT_NO_SECCOMP,
	OPT_HELP,
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
	{ "fs", required_argument, NULL, OPT_FS },
	{ "balloon", no_argument, NULL, OPT_BALLOON },
	{ "no-rng", no_argument, NULL, OPT_NO_RNG },
	{ "stealth", no_argument, NULL, OPT_STEALTH },
	{ "config-file", required_argument, NULL, OPT_CONFIG_FILE },
	{ "api-sock", required_argument, NULL, OPT_API_SOCK },
	{ "no-api", no_argument, NULL, OPT_NO_API },
	{ "restore", required_argument, NULL, OPT_RESTORE },
	{ "restore-paused", no_argument, NULL, OPT_RESTORE_PAUSED },
	{ "incoming", required_argument, NULL, OPT_INCOMING },
	{ "id", required_argument, NULL, OPT_ID },
	{ "log-path", required_argument, NULL, OPT_LOG_PATH },
	{ "level", required_argument, NULL, OPT_LEVEL },
	{ "show-level", no_argument, NULL, OPT_SHOW_LEVEL },
	{ "show-log-origin", no_argument, NULL, OPT_SHOW_ORIGIN },
	{ "metrics-path", required_argument, NULL, OPT_METRICS_PATH },
	{ "http-api-max-payload-size", required_argument, NULL, OPT_MAX_PAYLOAD },
	{ "jail", required_argument, NULL, OPT_JAIL },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "gid", required_argument, NULL, OPT_GID },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "help", no_argument, NULL, OPT_HELP },
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

/* Is `arg` ("--name" or "--name=value") option `name` spelled out?
 * getopt_long also takes unambiguous abbreviations ("--api" for
 * --api-sock); petrel does not, so an old or mistyped option is an error
 * rather than another option's meaning. */
static bool cli_spelled_out(const char *arg, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(arg, "--", 2) && !strncmp(arg + 2, name, n) &&
	       (arg[2 + n] == 0 || arg[2 + n] == '=');
}

/* Copy a path-like value into a fixed field. -1 after a message if it
 * does not fit. */
static int cli_copy(const char *opt, const char *arg, char *dst, size_t size)
{
	if (strlen(arg) >= size) {
		log_msg("--%s: longer than %zu bytes", opt, size - 1);
		return -1;
	}
	memcpy(dst, arg, strlen(arg) + 1);
	return 0;
}

/* cli_copy for a file the VM needs, which cannot be "" (the configuration's
 * "not given"). */
static int cli_file(const char *opt, const char *arg, char *dst, size_t size)
{
	if (!*arg) {
		log_msg("--%s '': an empty path", opt);
		return -1;
	}
	return cli_copy(opt, arg, dst, size);
}

static int cli_parse_id(const char *opt, const char *arg, unsigned int *id)
{
	/* (uid_t)-1 means "unchanged" to setresuid. */
	if (uint_parse(arg, 0, UINT32_MAX - 1, id) == 0)
		return 0;
	log_msg("%s '%s': not a numeric id", opt, arg);
	return -1;
}

/* The "uffd:" of --restore STATE,uffd:SOCKET (a memory file of that
 * name is ./uffd:...). */
#define RESTORE_UFFD "uffd:"

/* --restore STATE,MEM or STATE,uffd:SOCKET: the first comma splits them. */
static int cli_parse_restore(const char *arg, struct run_options *o)
{
	const char *comma = strchr(arg, ',');
	size_t n = comma ? (size_t)(comma - arg) : 0;

	if (!comma || !n || !comma[1]) {
		log_msg("--restore '%s': must be STATE,MEM (the snapshot's state file and memory "
			"file)",
			arg);
		return -1;
	}
	if (n >= sizeof(o->restore_state) || strlen(comma + 1) >= sizeof(o->restore_mem)) {
		log_msg("--restore: longer than %zu bytes", sizeof(o->restore_state) - 1);
		return -1;
	}
	memcpy(o->restore_state, arg, n);
	o->restore_state[n] = 0;
	memcpy(o->restore_mem, comma + 1, strlen(comma + 1) + 1);
	o->restore = true;
	if (strncmp(o->restore_mem, RESTORE_UFFD, strlen(RESTORE_UFFD)))
		return 0;
	o->restore_uffd = true;
	memmove(o->restore_mem, o->restore_mem + strlen(RESTORE_UFFD),
		strlen(o->restore_mem) - strlen(RESTORE_UFFD) + 1);
	if (!o->restore_mem[0]) {
		log_msg("--restore '%s': uffd: needs the page server's socket (STATE,uffd:SOCKET)",
			arg);
		return -1;
	}
	return 0;
}

/* One option of `run` or `jail`. 0, or -1 after a message. */
static int cli_option(int opt, const char *arg, struct run_options *o, bool *uid_set, bool *gid_set)
{
	struct vm_config *cfg = &o->cfg;
	uint64_t v;

	switch (opt) {
	case OPT_KERNEL:
		return cli_file("kernel", arg, cfg->boot.kernel, sizeof(cfg->boot.kernel));
	case OPT_INITRD:
		return cli_file("initrd", arg, cfg->boot.initrd, sizeof(cfg->boot.initrd));
	case OPT_CMDLINE:
		cfg->boot.cmdline_set = true;
		return cli_copy("cmdline", arg, cfg->boot.cmdline, sizeof(cfg->boot.cmdline));
	case OPT_MEM:
		if (!size_parse(arg, &cfg->mem_size))
			return 0;
		log_msg("--mem '%s': not a size (use e.g. 128M or 2G)", arg);
		return -1;
	case OPT_CPUS:
		if (!uint_parse(arg, 0, UINT32_MAX, &cfg->cpus))
			return 0;
		log_msg("--cpus '%s': must be a number from 1 to %d", arg, CONFIG_MAX_CPUS);
		return -1;
	case OPT_DISK:
		if (cfg->ndisks == CONFIG_MAX_DISKS) {
			log_msg("--disk '%s': at most %d disks", arg, CONFIG_MAX_DISKS);
			return -1;
		}
		if (cli_parse_disk(arg, &cfg->disk[cfg->ndisks]))
			return -1;
		snprintf(cfg->disk[cfg->ndisks].id, CONFIG_ID_MAX, "disk%u", cfg->ndisks);
		cfg->ndisks++;
		return 0;
	case OPT_NET:
		if (cfg->nnets == CONFIG_MAX_NETS) {
			log_msg("--net '%s': at most %d network interfaces", arg, CONFIG_MAX_NETS);
			return -1;
		}
		if (cli_parse_net(arg, &cfg->net[cfg->nnets]))
			return -1;
		snprintf(cfg->net[cfg->nnets].id, CONFIG_ID_MAX, "net%u", cfg->nnets);
		cfg->nnets++;
		return 0;
	case OPT_CONSOLE:
		if (strcmp(arg, "virtio") && strcmp(arg, "serial")) {
			log_msg("--console '%s': must be virtio or serial", arg);
			return -1;
		}
		cfg->virtio_console = !strcmp(arg, "virtio");
		return 0;
	case OPT_VSOCK:
		return cli_parse_vsock(arg, &cfg->vsock);
	case OPT_FS:
		return cli_add_fs(arg, cfg);
	case OPT_BALLOON:
		/* Everything the balloon can do, statistics every second. */
		cfg->balloon = (struct balloon_config){ .present = true,
							.deflate_on_oom = true,
							.stats_polling_interval_s = 1,
							.free_page_reporting = true };
		return 0;
	case OPT_NO_RNG:
		return 0; /* cli_parse_run: the default depends on where the VM comes from */
	case OPT_STEALTH:
		cfg->stealth = true;
		return 0;
	case OPT_CONFIG_FILE:
		o->config_file = arg;
		return 0;
	case OPT_API_SOCK:
		o->api_sock = arg;
		return 0;
	case OPT_NO_API:
		o->no_api = true;
		return 0;
	case OPT_RESTORE:
		return cli_parse_restore(arg, o);
	case OPT_RESTORE_PAUSED:
		o->restore_paused = true;
		return 0;
	case OPT_INCOMING:
		if (strncmp(arg, "unix:", 5) && strncmp(arg, "tcp:", 4)) {
			log_msg("--incoming '%s': must be unix:PATH or tcp:[HOST]:PORT", arg);
			return -1;
		}
		o->incoming = arg;
		return 0;
	case OPT_ID:
		if (*arg && strlen(arg) < CONFIG_ID_MAX && !strpbrk(arg, " \t\n[]:")) {
			o->id = arg;
			return 0;
		}
		log_msg("--id '%s': must be 1 to %d bytes without spaces, ':' or brackets", arg,
			CONFIG_ID_MAX - 1);
		return -1;
	case OPT_LOG_PATH:
		cfg->logger.set = true;
		return cli_copy("log-path", arg, cfg->logger.path, sizeof(cfg->logger.path));
	case OPT_LEVEL:
		cfg->logger.set = true;
		if (!log_level_parse(arg, &cfg->logger.level))
			return 0;
		log_msg("--level '%s': must be Off, Error, Warning, Info, Debug or Trace", arg);
		return -1;
	case OPT_SHOW_LEVEL:
		cfg->logger.set = cfg->logger.show_level = true;
		return 0;
	case OPT_SHOW_ORIGIN:
		cfg->logger.set = cfg->logger.show_origin = true;
		return 0;
	case OPT_METRICS_PATH:
		return cli_copy("metrics-path", arg, cfg->metrics.path, sizeof(cfg->metrics.path));
	case OPT_MAX_PAYLOAD:
		if (!size_parse(arg, &v) && v > 0 && v <= (1U << 30)) {
			o->max_payload = (size_t)v;
			return 0;
		}
		log_msg("--http-api-max-payload-size '%s': must be 1 to 1073741824 bytes", arg);
		return -1;
	case OPT_JAIL:
		return cli_copy("jail", arg, cfg->jail.dir, sizeof(cfg->jail.dir));
	case OPT_UID:
		*uid_set = true;
		return cli_parse_id("--uid", arg, &cfg->jail.uid);
	case OPT_GID:
		*gid_set = true;
		return cli_parse_id("--gid", arg, &cfg->jail.gid);
	case OPT_NO_SECCOMP:
		cfg->no_seccomp = true;
		return 0;
	}
	return -1;
}

/* --jail, --uid, --gid: all three or none. */
static int cli_check_jail(const struct vm_config *cfg, bool uid_set, bool gid_set)
{
	if (!cfg->jail.dir[0] && (uid_set || gid_set)) {
		log_msg("--uid and --gid need --jail DIR (see petrel run --help)");
		return -1;
	}
	if (cfg->jail.dir[0] && (!uid_set || !gid_set)) {
		log_msg("--jail '%s': needs --uid N and --gid N", cfg->jail.dir);
		return -1;
	}
	return 0;
}

/* --restore and --incoming: the snapshot (the migration stream)
 * describes the VM, and something must resume it. */
static int cli_check_restore(const struct run_options *o, const bool *seen)
{
	const char *from = o->restore ? "--restore" : "--incoming";
	const char *what = o->restore ? "the snapshot" : "the migration";

	if (o->restore_paused && !o->restore) {
		log_msg("--restore-paused: needs --restore STATE,MEM");
		return -1;
	}
	if (o->restore && o->incoming) {
		log_msg("--incoming: not with --restore (the VM comes from one or the other)");
		return -1;
	}
	if (!o->restore && !o->incoming)
		return 0;
	for (int opt = OPT_FIRST; opt <= OPT_VM_LAST; opt++)
		if (seen[opt - OPT_FIRST]) {
			log_msg("--%s: not with %s (%s describes the VM)", cli_opt_name(opt), from,
				what);
			return -1;
		}
	if (o->config_file) {
		log_msg("--config-file: not with %s (%s describes the VM)", from, what);
		return -1;
	}
	if (o->cfg.jail.dir[0]) {
		log_msg("--jail: not with %s (its limits are set before %s is read)", from, what);
		return -1;
	}
	if (o->restore_paused && !o->api_sock) {
		log_msg("--restore-paused: needs --api-sock PATH (nothing else could resume the "
			"VM)");
		return -1;
	}
	return 0;
}

/* How the options fit together: where the VM comes from, and the API. */
static int cli_check_run(const struct run_options *o, const bool *seen)
{
	if (o->config_file)
		for (int opt = OPT_FIRST; opt <= OPT_VM_LAST; opt++)
			if (seen[opt - OPT_FIRST]) {
				log_msg("--%s: not with --config-file (the file describes the VM)",
					cli_opt_name(opt));
				return -1;
			}
	if (o->no_api && !o->config_file) {
		log_msg("--no-api: needs --config-file (without an API, the VM must come "
			"from the file)");
		return -1;
	}
	if (o->no_api && o->api_sock) {
		log_msg("--no-api: not with --api-sock");
		return -1;
	}
	if (!o->config_file && !o->cfg.boot.kernel[0] && !o->api_sock && !o->restore &&
	    !o->incoming) {
		log_msg("run: --kernel FILE, --config-file FILE, --restore STATE,MEM, --incoming "
			"ADDR or --api-sock PATH is required (see petrel run --help)");
		return -1;
	}
	return cli_check_restore(o, seen);
}

static enum cli_command cli_parse_run(int argc, char **argv, struct run_options *o)
{
	bool seen[OPT_END - OPT_FIRST] = { false };
	bool jail_cmd = !strcmp(argv[0], "jail"), uid_set = false, gid_set = false;
	/* `petrel jail` has no help of its own: petrel --help describes it. */
	const char *help = jail_cmd ? "petrel --help" : "petrel run --help";
	int opt;

	*o = (struct run_options){ .id = CLI_DEFAULT_ID, .max_payload = CLI_DEFAULT_MAX_PAYLOAD };
	config_init(&o->cfg);
	opterr = 0;
	optind = 0; /* glibc: 0 fully resets getopt, also mid-way through a cluster */
	/* "+": `petrel jail` stops at PROG, whose own options are not ours. */
	while ((opt = getopt_long(argc, argv, jail_cmd ? "+:" : ":", cli_opts, NULL)) != -1) {
		if (opt == OPT_HELP && !jail_cmd)
			return CLI_RUN_HELP;
		if (jail_cmd && opt >= OPT_FIRST && opt != OPT_MEM && opt != OPT_CPUS &&
		    opt != OPT_JAIL && opt != OPT_UID && opt != OPT_GID) {
			log_msg("jail: --%s is an option of run, not of jail", cli_opt_name(opt));
			return CLI_USAGE_ERROR;
		}
		if (opt >= OPT_FIRST && opt < OPT_END &&
		    !cli_spelled_out(argv[optind - 1 - (optarg && optarg == argv[optind - 1])],
				     cli_opt_name(opt))) {
			log_msg("%s: unknown option '%s' (see %s)", argv[0],
				argv[optind - 1 - (optarg && optarg == argv[optind - 1])], help);
			return CLI_USAGE_ERROR;
		}
		if (opt >= OPT_FIRST && optarg && cli_is_option(optarg)) {
			log_msg("--%s: needs a value (got the option '%s')", cli_opt_name(opt),
				optarg);
			return CLI_USAGE_ERROR;
		}
		if (opt >= OPT_FIRST && opt < OPT_END) {
			/* Each of these names one thing: a second one would
			 * silently replace the first. */
			if (seen[opt - OPT_FIRST] && opt != OPT_DISK && opt != OPT_NET &&
			    opt != OPT_FS) {
				log_msg("--%s: given twice", cli_opt_name(opt));
				return CLI_USAGE_ERROR;
			}
			seen[opt - OPT_FIRST] = true;
			if (cli_option(opt, optarg, o, &uid_set, &gid_set))
				return CLI_USAGE_ERROR;
			continue;
		}
		if (opt == ':') {
			log_msg("%s: needs a value", argv[optind - 1]);
		} else if (optopt >= OPT_FIRST) {
			log_msg("--%s: takes no value", cli_opt_name(optopt));
		} else if (optopt) {
			log_msg("%s: unknown option '-%c' (see %s)", argv[0], optopt, help);
		} else {
			log_msg("%s: unknown option '%s' (see %s)", argv[0], argv[optind - 1],
				help);
		}
		return CLI_USAGE_ERROR;
	}
	if (cli_check_jail(&o->cfg, uid_set, gid_set))
		return CLI_USAGE_ERROR;
	if (jail_cmd) {
		if (!o->cfg.jail.dir[0]) {
			log_msg(
			    "jail: --jail DIR --uid N --gid N are required (see petrel --help)");
			return CLI_USAGE_ERROR;
		}
		if (optind == argc) {
			log_msg("jail: no program given (see petrel --help)");
			return CLI_USAGE_ERROR;
		}
		o->cfg.jail.argv = argv + optind;
		return CLI_JAIL;
	}
	if (optind < argc) {
		log_msg("run: unexpected argument '%s' (see petrel run --help)", argv[optind]);
		return CLI_USAGE_ERROR;
	}
	if (cli_check_run(o, seen))
		return CLI_USAGE_ERROR;
	o->start = o->config_file || o->cfg.boot.kernel[0];
	/* A VM from flags has an entropy device unless --no-rng; one from a
	 * config file or the API only if it says so (Firecracker's "entropy"). */
	o->cfg.rng.present = o->cfg.boot.kernel[0] && !seen[OPT_NO_RNG - OPT_FIRST];
	return CLI_RUN;
}

/* petrel as `firecracker`: its flags become run's (cli_firecracker.h). */
static enum cli_command cli_parse_firecracker(int argc, char **argv, struct run_options *o)
{
	struct cli_fc_run fc;
	enum cli_command cmd;

	switch (cli_fc_translate(argc, argv, &fc)) {
	case CLI_FC_TO_RUN:
		break;
	case CLI_FC_TO_HELP:
		return CLI_FC_HELP;
	case CLI_FC_TO_VERSION:
		return CLI_FC_VERSION;
	default:
		return CLI_USAGE_ERROR;
	}
	/* fc.argv points into argv's strings, which outlive it. */
	cmd = cli_parse_run(fc.argc - 1, fc.argv + 1, o);
	if (cmd == CLI_RUN && fc.module) {
		snprintf(o->cfg.logger.module, sizeof(o->cfg.logger.module), "%s", fc.module);
		o->cfg.logger.set = true;
	}
	return cmd;
}

enum cli_command cli_parse(int argc, char **argv, struct run_options *opts)
{
	if (argc >= 1 && cli_fc_invoked(argv[0]))
		return cli_parse_firecracker(argc, argv, opts);
	if (argc < 2) {
		log_msg("no command given (see petrel --help)");
		return CLI_USAGE_ERROR;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
		return CLI_HELP;
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
		return CLI_VERSION;
	if (!strcmp(argv[1], "run") || !strcmp(argv[1], "jail"))
		return cli_parse_run(argc - 1, argv + 1, opts);
	if (!strcmp(argv[1], "snapshot")) {
		opts->snapshot.diff = argc > 2 && !strcmp(argv[2], "--diff");
		argc -= opts->snapshot.diff;
		argv += opts->snapshot.diff;
		if (argc != 5 || !argv[2][0] || !argv[3][0] || !argv[4][0]) {
			log_msg("snapshot: needs [--diff] SOCK STATE MEM (see petrel --help)");
			return CLI_USAGE_ERROR;
		}
		opts->snapshot.sock = argv[2];
		opts->snapshot.state = argv[3];
		opts->snapshot.mem = argv[4];
		return CLI_SNAPSHOT;
	}
	if (!strcmp(argv[1], "snapshot-merge")) {
		if (argc != 4 || !argv[2][0] || !argv[3][0]) {
			log_msg("snapshot-merge: needs BASE_MEM DIFF_MEM (see petrel --help)");
			return CLI_USAGE_ERROR;
		}
		opts->merge.base = argv[2];
		opts->merge.diff = argv[3];
		return CLI_SNAPSHOT_MERGE;
	}
	if (!strcmp(argv[1], "migrate")) {
		if ((argc != 4 && argc != 5) || !argv[2][0] || !argv[3][0]) {
			log_msg("migrate: needs SOCK DEST [DOWNTIME_MS] (see petrel --help)");
			return CLI_USAGE_ERROR;
		}
		opts->migrate.sock = argv[2];
		opts->migrate.dest = argv[3];
		opts->migrate.downtime_ms = argc == 5 ? argv[4] : NULL;
		return CLI_MIGRATE;
	}
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
