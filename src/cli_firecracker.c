/* SPDX-License-Identifier: MIT */
/*
 * Firecracker's flags are translated into `petrel run`'s, which cli.c
 * then parses, so both command lines share one set of value checks and
 * messages; only what Firecracker has and petrel's run has not is
 * checked here.
 */
#include "cli_firecracker.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "control.h"
#include "log.h"
#include "size.h"

enum fc_kind {
	FC_RUN,		/* `petrel run`'s option of the same meaning (fc_flag.run) */
	FC_HARMLESS,	/* checked, then nothing to do */
	FC_MODULE,	/* the logger's module filter (run has no flag for it) */
	FC_UNSUPPORTED, /* a usage error, saying why */
	FC_HELP,
	FC_VERSION,
};

struct fc_flag {
	const char *name;
	bool value; /* takes one */
	enum fc_kind kind;
	const char *run; /* FC_RUN: petrel run's option */
	const char *why; /* FC_HARMLESS with a value: the value's unit;
			    FC_UNSUPPORTED: why petrel refuses it */
};

enum fc_flag_index {
	FC_API_SOCK,
	FC_ID,
	FC_SECCOMP_FILTER,
	FC_NO_SECCOMP,
	FC_START_TIME,
	FC_START_TIME_CPU,
	FC_PARENT_CPU_TIME,
	FC_CONFIG_FILE,
	FC_METADATA,
	FC_NO_API,
	FC_LOG_PATH,
	FC_LEVEL,
	FC_MODULE_FLAG,
	FC_SHOW_LEVEL,
	FC_SHOW_ORIGIN,
	FC_METRICS_PATH,
	FC_BOOT_TIMER,
	FC_VERSION_FLAG,
	FC_SNAPSHOT_VERSION,
	FC_DESCRIBE_SNAPSHOT,
	FC_MAX_PAYLOAD,
	FC_MMDS_SIZE_LIMIT,
	FC_ENABLE_PCI,
	FC_HELP_FLAG,
	FC_NFLAGS
};

#define NO_MMDS "MMDS (the microVM metadata service) is not supported"
#define NO_SNAPSHOTS "petrel's snapshots are not Firecracker's (see petrel run --restore)"

/* Every flag of Firecracker v1.16 (its main.rs), in its --help order. */
static const struct fc_flag fc_flags[FC_NFLAGS] = {
	[FC_API_SOCK] = { "api-sock", true, FC_RUN, "--api-sock", NULL },
	[FC_ID] = { "id", true, FC_RUN, "--id", NULL },
	[FC_SECCOMP_FILTER] = { "seccomp-filter", true, FC_UNSUPPORTED, NULL,
				"custom seccomp filters are not supported (petrel's are built "
				"in; --no-seccomp turns them off)" },
	[FC_NO_SECCOMP] = { "no-seccomp", false, FC_RUN, "--no-seccomp", NULL },
	[FC_START_TIME] = { "start-time-us", true, FC_HARMLESS, NULL, "microseconds" },
	[FC_START_TIME_CPU] = { "start-time-cpu-us", true, FC_HARMLESS, NULL, "microseconds" },
	[FC_PARENT_CPU_TIME] = { "parent-cpu-time-us", true, FC_HARMLESS, NULL, "microseconds" },
	[FC_CONFIG_FILE] = { "config-file", true, FC_RUN, "--config-file", NULL },
	[FC_METADATA] = { "metadata", true, FC_UNSUPPORTED, NULL, NO_MMDS },
	[FC_NO_API] = { "no-api", false, FC_RUN, "--no-api", NULL },
	[FC_LOG_PATH] = { "log-path", true, FC_RUN, "--log-path", NULL },
	[FC_LEVEL] = { "level", true, FC_RUN, "--level", NULL },
	[FC_MODULE_FLAG] = { "module", true, FC_MODULE, NULL, NULL },
	[FC_SHOW_LEVEL] = { "show-level", false, FC_RUN, "--show-level", NULL },
	[FC_SHOW_ORIGIN] = { "show-log-origin", false, FC_RUN, "--show-log-origin", NULL },
	[FC_METRICS_PATH] = { "metrics-path", true, FC_RUN, "--metrics-path", NULL },
	[FC_BOOT_TIMER] = { "boot-timer", false, FC_HARMLESS, NULL, NULL },
	[FC_VERSION_FLAG] = { "version", false, FC_VERSION, NULL, NULL },
	[FC_SNAPSHOT_VERSION] = { "snapshot-version", false, FC_UNSUPPORTED, NULL, NO_SNAPSHOTS },
	[FC_DESCRIBE_SNAPSHOT] = { "describe-snapshot", true, FC_UNSUPPORTED, NULL, NO_SNAPSHOTS },
	[FC_MAX_PAYLOAD] = { "http-api-max-payload-size", true, FC_RUN,
			     "--http-api-max-payload-size", NULL },
	[FC_MMDS_SIZE_LIMIT] = { "mmds-size-limit", true, FC_UNSUPPORTED, NULL, NO_MMDS },
	[FC_ENABLE_PCI] = { "enable-pci", false, FC_UNSUPPORTED, NULL,
			    "PCI is not supported (petrel's virtio devices are on MMIO)" },
	[FC_HELP_FLAG] = { "help", false, FC_HELP, NULL, NULL },
};

bool cli_fc_invoked(const char *argv0)
{
	const char *base;

	if (!argv0)
		return false;
	base = strrchr(argv0, '/');
	return !strcmp(base ? base + 1 : argv0, "firecracker");
}

void cli_fc_print_version(void)
{
	printf("Firecracker v%s (petrel %s)\n", CONTROL_API_VERSION, PETREL_VERSION);
}

void cli_fc_print_help(void)
{
	cli_fc_print_version();
	fputs("\n"
	      "petrel, invoked as firecracker, takes Firecracker's command line:\n"
	      "  --api-sock PATH     the REST API's unix socket (default " CLI_FC_DEFAULT_API_SOCK
	      ")\n"
	      "  --config-file FILE  the VM from a JSON file, started at once\n"
	      "  --no-api            with --config-file: no API socket\n"
	      "  --id ID             instance id in logs and metrics (default anonymous-instance)\n"
	      "  --log-path FILE, --level LEVEL, --module PATH, --show-level, --show-log-origin\n"
	      "                      the logger\n"
	      "  --metrics-path FILE metrics, one JSON line per flush\n"
	      "  --http-api-max-payload-size BYTES  largest API request body (default 51200)\n"
	      "  --no-seccomp        no seccomp syscall filters\n"
	      "  --boot-timer, --start-time-us N, --start-time-cpu-us N, --parent-cpu-time-us N\n"
	      "                      accepted; petrel's boot timer is always present\n"
	      "  --version, --help\n"
	      "not supported (a usage error): --metadata, --mmds-size-limit (MMDS),\n"
	      "  --seccomp-filter, --enable-pci, --snapshot-version, --describe-snapshot\n"
	      "petrel's own command line: petrel --help\n",
	      stdout);
}

/* The flag named by arg ("--name" or "--name=value"), exactly: unlike
 * getopt_long, Firecracker takes no abbreviations. */
static const struct fc_flag *fc_lookup(const char *arg)
{
	size_t len = strcspn(arg + 2, "=");

	for (size_t i = 0; i < FC_NFLAGS; i++)
		if (strlen(fc_flags[i].name) == len && !strncmp(arg + 2, fc_flags[i].name, len))
			return &fc_flags[i];
	return NULL;
}

/* Is s one of Firecracker's flags ("--id", "--id=x")? Then the flag
 * before it was left without its value. */
static bool fc_is_flag(const char *s)
{
	return !strncmp(s, "--", 2) && fc_lookup(s);
}

/* One flag's own checks; 0 or -1 after a message. */
static int fc_check(const struct fc_flag *f, const char *arg)
{
	uint64_t v;

	if (f->kind == FC_UNSUPPORTED) {
		log_msg("--%s: %s", f->name, f->why);
		return -1;
	}
	if (f->kind == FC_HARMLESS && f->value &&
	    (!*arg || strspn(arg, "0123456789") != strlen(arg) || size_parse(arg, &v))) {
		log_msg("--%s '%s': must be a whole number of %s", f->name, arg, f->why);
		return -1;
	}
	if (f->kind == FC_MODULE && strlen(arg) >= CONFIG_ID_MAX) {
		log_msg("--module: longer than %d bytes", CONFIG_ID_MAX - 1);
		return -1;
	}
	return 0;
}

/* The value of flag f at argv[*i] ("--f=v", or "--f v" moving *i on),
 * or NULL after a message. A flag without one gets "". */
static const char *fc_value(const struct fc_flag *f, int argc, char **argv, int *i)
{
	const char *eq = strchr(argv[*i], '=');

	if (!f->value) {
		if (!eq)
			return "";
		log_msg("--%s: takes no value", f->name);
		return NULL;
	}
	if (eq)
		return eq + 1;
	if (*i + 1 < argc) {
		if (!fc_is_flag(argv[*i + 1]))
			return argv[++*i];
		log_msg("--%s: needs a value (got the option '%s')", f->name, argv[*i + 1]);
		return NULL;
	}
	log_msg("--%s: needs a value", f->name);
	return NULL;
}

/* "petrel", "run", a flag and its value per flag (each at most once),
 * the default socket's two, NULL. */
_Static_assert(2 + 2 * FC_NFLAGS + 2 + 1 <= CLI_FC_ARGV_MAX, "CLI_FC_ARGV_MAX is too small");

enum cli_fc_result cli_fc_translate(int argc, char **argv, struct cli_fc_run *out)
{
	bool seen[FC_NFLAGS] = { false }, version = false;
	int n = 0;

	*out = (struct cli_fc_run){ .module = NULL };
	out->argv[n++] = "petrel";
	out->argv[n++] = "run";
	for (int i = 1; i < argc; i++) {
		const struct fc_flag *f = strncmp(argv[i], "--", 2) ? NULL : fc_lookup(argv[i]);
		const char *arg;

		if (!f) {
			log_msg("firecracker: %s '%s' (see firecracker --help)",
				argv[i][0] == '-' ? "unknown option" : "unexpected argument",
				argv[i]);
			return CLI_FC_BAD;
		}
		if (f->kind == FC_HELP)
			return CLI_FC_TO_HELP;
		if (seen[f - fc_flags]) {
			log_msg("--%s: given twice", f->name);
			return CLI_FC_BAD;
		}
		seen[f - fc_flags] = true;
		arg = fc_value(f, argc, argv, &i);
		if (!arg || fc_check(f, arg))
			return CLI_FC_BAD;
		version |= f->kind == FC_VERSION;
		if (f->kind == FC_MODULE)
			out->module = arg;
		if (f->kind != FC_RUN)
			continue;
		out->argv[n++] = (char *)f->run;
		if (f->value)
			out->argv[n++] = (char *)arg;
	}
	if (version)
		return CLI_FC_TO_VERSION;
	/* Firecracker serves its API unless told not to. */
	if (!seen[FC_API_SOCK] && !seen[FC_NO_API]) {
		out->argv[n++] = "--api-sock";
		out->argv[n++] = CLI_FC_DEFAULT_API_SOCK;
	}
	out->argv[n] = NULL;
	out->argc = n;
	return CLI_FC_TO_RUN;
}
