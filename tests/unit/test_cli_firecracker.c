/* SPDX-License-Identifier: MIT */
/* petrel invoked as `firecracker`: Firecracker's command line
 * (cli_firecracker.c), mapped onto `petrel run`'s options. */
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"
#include "cli_firecracker.h"
#include "harness.h"

static struct run_options o;
static char said[512]; /* what the last parse printed */

/* cli_parse on (argv0, the rest..., NULL), with its messages caught. */
static enum cli_command parse_as(const char *argv0, ...)
{
	static char store[40][128];
	static char *argv[41];
	int argc = 0, fd = memfd_create("said", 0), saved;
	enum cli_command cmd;
	const char *a = argv0;
	va_list ap;
	ssize_t n;

	va_start(ap, argv0);
	for (; a && argc < 40; a = va_arg(ap, const char *)) {
		snprintf(store[argc], sizeof(store[argc]), "%s", a);
		argv[argc] = store[argc];
		argc++;
	}
	va_end(ap);
	argv[argc] = NULL;
	memset(&o, 0x5a, sizeof(o));
	saved = log_set_stderr(fd);
	cmd = cli_parse(argc, argv, &o);
	log_set_stderr(saved);
	n = pread(fd, said, sizeof(said) - 1, 0);
	said[n > 0 ? n : 0] = 0;
	close(fd);
	return cmd;
}

#define FC "firecracker"

/* Exactly one line, and it is this one. */
static bool said_line(const char *want)
{
	size_t n = strlen(said);

	return n > 0 && memchr(said, '\n', n) == said + n - 1 && !strncmp(said, want, n - 1) &&
	       strlen(want) == n - 1;
}

static void fc_invoked_by_name(void)
{
	CHECK(cli_fc_invoked("firecracker"));
	CHECK(cli_fc_invoked("/usr/local/bin/firecracker"));
	CHECK(cli_fc_invoked("./firecracker"));
	CHECK(!cli_fc_invoked("petrel"));
	CHECK(!cli_fc_invoked("/opt/firecracker/petrel"));
	CHECK(!cli_fc_invoked("firecracker-v1.16"));
	CHECK(!cli_fc_invoked("firecracker/"));
	CHECK(!cli_fc_invoked(""));
	CHECK(!cli_fc_invoked(NULL));
	/* petrel's own command line stays petrel's under its own name */
	CHECK(parse_as("/usr/bin/petrel", "--api-sock", "/tmp/s", NULL) == CLI_USAGE_ERROR);
	CHECK(parse_as("/usr/bin/petrel", "run", "--api-sock", "/tmp/s", NULL) == CLI_RUN);
}

/* Firecracker serves its API by default, at /run/firecracker.socket. */
static void fc_defaults(void)
{
	REQUIRE(parse_as(FC, NULL) == CLI_RUN);
	CHECK(!strcmp(o.api_sock, CLI_FC_DEFAULT_API_SOCK) && !o.no_api && !o.config_file);
	CHECK(!o.start && !strcmp(o.id, "anonymous-instance") && o.max_payload == 51200);
	CHECK(!o.cfg.logger.set && !o.cfg.metrics.path[0] && !o.cfg.no_seccomp);
	CHECK(!o.cfg.rng.present && !o.cfg.boot.kernel[0]);
	CHECK(said[0] == 0);
}

static void fc_every_honoured_flag(void)
{
	REQUIRE(parse_as("/bin/" FC, "--api-sock", "/tmp/fc.sock", "--config-file", "vm.json",
			 "--id", "vm_7", "--log-path", "/tmp/log", "--level", "Debug", "--module",
			 "src/virtio", "--show-level", "--show-log-origin", "--metrics-path",
			 "/tmp/metrics", "--http-api-max-payload-size", "1048576", "--no-seccomp",
			 "--boot-timer", "--start-time-us", "123", "--start-time-cpu-us", "4",
			 "--parent-cpu-time-us", "18446744073709551615", NULL) == CLI_RUN);
	CHECK(!strcmp(o.api_sock, "/tmp/fc.sock") && !strcmp(o.config_file, "vm.json"));
	CHECK(o.start && !o.no_api && !strcmp(o.id, "vm_7") && o.max_payload == 1048576);
	CHECK(o.cfg.logger.set && !strcmp(o.cfg.logger.path, "/tmp/log"));
	CHECK(o.cfg.logger.level == LOG_DEBUG && o.cfg.logger.show_level &&
	      o.cfg.logger.show_origin && !strcmp(o.cfg.logger.module, "src/virtio"));
	CHECK(!strcmp(o.cfg.metrics.path, "/tmp/metrics") && o.cfg.no_seccomp);
	CHECK(said[0] == 0);

	/* --flag=value too, and --no-api with a config file */
	REQUIRE(parse_as(FC, "--config-file=c.json", "--no-api", "--level=warn", NULL) == CLI_RUN);
	CHECK(o.no_api && !o.api_sock && !strcmp(o.config_file, "c.json"));
	CHECK(o.cfg.logger.level == LOG_WARN && !o.cfg.logger.module[0]);
	REQUIRE(parse_as(FC, "--module", "vmm", NULL) == CLI_RUN);
	CHECK(o.cfg.logger.set && !strcmp(o.cfg.logger.module, "vmm"));
}

static void fc_help_and_version(void)
{
	CHECK(parse_as(FC, "--help", NULL) == CLI_FC_HELP);
	CHECK(parse_as(FC, "--api-sock", "s", "--help", NULL) == CLI_FC_HELP);
	CHECK(parse_as(FC, "--version", NULL) == CLI_FC_VERSION);
	CHECK(parse_as(FC, "--id", "x", "--version", NULL) == CLI_FC_VERSION);
	/* petrel's spellings are not Firecracker's */
	CHECK(parse_as(FC, "-h", NULL) == CLI_USAGE_ERROR);
	CHECK(parse_as(FC, "-V", NULL) == CLI_USAGE_ERROR);
	CHECK(parse_as(FC, "run", NULL) == CLI_USAGE_ERROR);
	CHECK(said_line("petrel: firecracker: unexpected argument 'run' (see firecracker --help)"));
}

/* What petrel cannot do is refused with the reason, never ignored. */
static void fc_unsupported(void)
{
	static const struct {
		const char *flag, *value, *line;
	} no[] = {
		{ "--metadata", "md.json",
		  "petrel: --metadata: MMDS (the microVM metadata service) is not supported" },
		{ "--mmds-size-limit", "1024",
		  "petrel: --mmds-size-limit: MMDS (the microVM metadata service) is not "
		  "supported" },
		{ "--seccomp-filter", "f.bpf",
		  "petrel: --seccomp-filter: custom seccomp filters are not supported (petrel's "
		  "are "
		  "built in; --no-seccomp turns them off)" },
		{ "--enable-pci", NULL,
		  "petrel: --enable-pci: PCI is not supported (petrel's virtio devices are on "
		  "MMIO)" },
		{ "--snapshot-version", NULL,
		  "petrel: --snapshot-version: petrel's snapshots are not Firecracker's (see "
		  "petrel run --restore)" },
		{ "--describe-snapshot", "vm.state",
		  "petrel: --describe-snapshot: petrel's snapshots are not Firecracker's (see "
		  "petrel run --restore)" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
		harness_begin(no[i].flag + 2);
		CHECK(parse_as(FC, "--api-sock", "s", no[i].flag, no[i].value, NULL) ==
		      CLI_USAGE_ERROR);
		CHECK(said_line(no[i].line));
		harness_end();
	}
}

static void fc_errors(void)
{
	static const struct {
		const char *a[6], *line;
	} bad[] = {
		{ { "--kernel", "k" },
		  "petrel: firecracker: unknown option '--kernel' (see firecracker --help)" },
		/* no abbreviations, unlike getopt_long */
		{ { "--api", "s" },
		  "petrel: firecracker: unknown option '--api' (see firecracker --help)" },
		{ { "--config", "c" },
		  "petrel: firecracker: unknown option '--config' (see firecracker --help)" },
		{ { "-x" }, "petrel: firecracker: unknown option '-x' (see firecracker --help)" },
		{ { "--" }, "petrel: firecracker: unknown option '--' (see firecracker --help)" },
		{ { "--id" }, "petrel: --id: needs a value" },
		{ { "--id", "--no-api" },
		  "petrel: --id: needs a value (got the option '--no-api')" },
		{ { "--boot-timer=yes" }, "petrel: --boot-timer: takes no value" },
		{ { "--no-api=" }, "petrel: --no-api: takes no value" },
		{ { "--id", "a", "--id", "b" }, "petrel: --id: given twice" },
		{ { "--boot-timer", "--boot-timer" }, "petrel: --boot-timer: given twice" },
		{ { "--start-time-us", "soon" },
		  "petrel: --start-time-us 'soon': must be a whole number of microseconds" },
		{ { "--start-time-cpu-us", "-1" },
		  "petrel: --start-time-cpu-us '-1': must be a whole number of microseconds" },
		{ { "--parent-cpu-time-us", "18446744073709551616" },
		  "petrel: --parent-cpu-time-us '18446744073709551616': must be a whole number of "
		  "microseconds" },
		{ { "--start-time-us", "1K" },
		  "petrel: --start-time-us '1K': must be a whole number of microseconds" },
		{ { "--start-time-us=" },
		  "petrel: --start-time-us '': must be a whole number of microseconds" },
		{ { "--module",
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
		  "petrel: --module: longer than 63 bytes" },
		/* petrel run's checks, with petrel run's messages */
		{ { "--no-api" },
		  "petrel: --no-api: needs --config-file (without an API, the VM must come from "
		  "the "
		  "file)" },
		{ { "--no-api", "--config-file", "c", "--api-sock", "s" },
		  "petrel: --no-api: not with --api-sock" },
		{ { "--level", "Loud" },
		  "petrel: --level 'Loud': must be Off, Error, Warning, Info, Debug or Trace" },
		{ { "--id", "a b" },
		  "petrel: --id 'a b': must be 1 to 63 bytes without spaces, ':' or brackets" },
		{ { "--http-api-max-payload-size", "0" },
		  "petrel: --http-api-max-payload-size '0': must be 1 to 1073741824 bytes" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		harness_begin(bad[i].line + 8);
		CHECK(parse_as(FC, bad[i].a[0], bad[i].a[1], bad[i].a[2], bad[i].a[3], bad[i].a[4],
			       NULL) == CLI_USAGE_ERROR);
		CHECK(said_line(bad[i].line));
		harness_end();
	}
	/* and a good parse after all of them */
	CHECK(parse_as(FC, "--id", "ok", NULL) == CLI_RUN && !strcmp(o.id, "ok"));
}

int main(void)
{
	RUN(fc_invoked_by_name);
	RUN(fc_defaults);
	RUN(fc_every_honoured_flag);
	RUN(fc_help_and_version);
	fc_unsupported();
	fc_errors();
	return harness_exit();
}
