/* SPDX-License-Identifier: MIT */
/* size_parse, uint_parse and the command line. cli_parse prints its usage
 * errors to stderr; only the outcome is checked here. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "harness.h"
#include "size.h"

static void size_parse_accepts(void)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "128M", 128ULL << 20 },
		{ "2G", 2ULL << 30 },
		{ "1k", 1024 },
		{ "1K", 1024 },
		{ "65536", 65536 },
		{ "1GiB", 1ULL << 30 },
		{ "1gib", 1ULL << 30 },
		{ "1MB", 1ULL << 20 },
		{ "3t", 3ULL << 40 },
		{ "0", 0 },
		{ "18446744073709551615", UINT64_MAX },
		{ "16777215T", 16777215ULL << 40 },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(ok); i++) {
		uint64_t v = 1;

		CHECK(size_parse(ok[i].s, &v) == 0);
		CHECK(v == ok[i].v);
	}
}

static void size_parse_rejects(void)
{
	static const char *const bad[] = {
		"",
		"M",
		"12X",
		"-1",
		"+1",
		"1.5G",
		" 1M",
		"1M ",
		"1 M",
		"1MiBx",
		"1Bi",
		"1BB",
		"1MM",
		"0x10",
		"99999999999999999999",
		"18446744073709551616",
		"17179869184T",
		"16777216T",
		"17592186044416G",
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t v = 42;

		CHECK(size_parse(bad[i], &v) == -EINVAL);
		CHECK(v == 42);
	}
	CHECK(size_parse(NULL, &(uint64_t){ 0 }) == -EINVAL);
}

static void size_format_units(void)
{
	static const struct {
		uint64_t v;
		const char *s;
	} want[] = {
		{ 0, "0" },
		{ 1, "1" },
		{ 1024, "1K" },
		{ 15ULL << 20, "15M" },
		{ 16777217, "16777217" },
		{ 1ULL << 40, "1T" },
		{ 1ULL << 50, "1024T" },
		{ 1536, "1536" },
		{ 3ULL << 29, "1536M" },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(want); i++) {
		char buf[32];
		uint64_t back;

		size_format(want[i].v, buf, sizeof(buf));
		CHECK(!strcmp(buf, want[i].s));
		CHECK(size_parse(buf, &back) == 0 && back == want[i].v);
	}
}

static void uint_parse_bounds(void)
{
	unsigned int v = 7;

	CHECK(uint_parse("1", 1, 254, &v) == 0 && v == 1);
	CHECK(uint_parse("254", 1, 254, &v) == 0 && v == 254);
	CHECK(uint_parse("0010", 1, 254, &v) == 0 && v == 10);
	CHECK(uint_parse("4294967295", 0, UINT_MAX, &v) == 0 && v == UINT_MAX);
	v = 7;
	CHECK(uint_parse("0", 1, 254, &v) == -EINVAL);
	CHECK(uint_parse("255", 1, 254, &v) == -EINVAL);
	CHECK(uint_parse("4294967296", 0, UINT_MAX, &v) == -EINVAL);
	CHECK(uint_parse("99999999999999999999", 0, UINT_MAX, &v) == -EINVAL);
	CHECK(uint_parse("abc", 0, 10, &v) == -EINVAL);
	CHECK(uint_parse("", 0, 10, &v) == -EINVAL);
	CHECK(uint_parse("1 ", 0, 10, &v) == -EINVAL);
	CHECK(uint_parse("-1", 0, 10, &v) == -EINVAL);
	CHECK(uint_parse("+1", 0, 10, &v) == -EINVAL);
	CHECK(uint_parse("1k", 0, 10000, &v) == -EINVAL);
	CHECK(uint_parse(NULL, 0, 10, &v) == -EINVAL);
	CHECK(v == 7);
}

/* Run cli_parse on a NULL-terminated list of arguments after "petrel". The
 * strings are copied into writable storage that stays valid until the next
 * call (getopt permutes argv; options point into it). */
static enum cli_command parse(struct run_options *o, ...)
{
	static char store[32][256];
	static char *argv[33];
	int argc = 0;
	va_list ap;
	const char *a;

	snprintf(store[argc], sizeof(store[argc]), "petrel");
	argv[argc] = store[argc];
	argc++;
	va_start(ap, o);
	while ((a = va_arg(ap, const char *)) && argc < 32) {
		snprintf(store[argc], sizeof(store[argc]), "%s", a);
		argv[argc] = store[argc];
		argc++;
	}
	va_end(ap);
	argv[argc] = NULL;
	memset(o, 0x5a, sizeof(*o));
	return cli_parse(argc, argv, o);
}

static struct run_options o;

static void cli_run_all_flags(void)
{
	REQUIRE(parse(&o, "run", "--kernel", "vmlinuz", "--initrd", "initrd.img", "--cmdline",
		      "quiet loglevel=3", "--mem", "512M", "--cpus", "4", NULL) == CLI_RUN);
	CHECK(strcmp(o.cfg.boot.kernel, "vmlinuz") == 0);
	CHECK(strcmp(o.cfg.boot.initrd, "initrd.img") == 0);
	CHECK(o.cfg.boot.cmdline_set && strcmp(o.cfg.boot.cmdline, "quiet loglevel=3") == 0);
	CHECK(o.cfg.mem_size == 512ULL << 20);
	CHECK(o.cfg.cpus == 4);
	CHECK(o.start && !o.api_sock && !o.config_file);
}

static void cli_run_equals_form(void)
{
	REQUIRE(parse(&o, "run", "--mem=1G", "--kernel=bz", "--cpus=254", NULL) == CLI_RUN);
	CHECK(strcmp(o.cfg.boot.kernel, "bz") == 0);
	CHECK(o.cfg.mem_size == 1ULL << 30);
	CHECK(o.cfg.cpus == 254);
}

static void cli_run_defaults(void)
{
	REQUIRE(parse(&o, "run", "--kernel", "k", NULL) == CLI_RUN);
	CHECK(o.cfg.mem_size == CONFIG_DEFAULT_MEM && o.cfg.mem_size == 256ULL << 20);
	CHECK(o.cfg.cpus == 1);
	CHECK(o.cfg.boot.initrd[0] == 0);
	CHECK(!o.cfg.boot.cmdline_set);
	CHECK(o.cfg.rng.present); /* the command line's default */
	CHECK(!strcmp(o.id, "anonymous-instance") && o.max_payload == 51200);
	CHECK(!o.cfg.logger.set && o.cfg.metrics.path[0] == 0);
}

static void cli_run_errors(void)
{
	CHECK(parse(&o, "run", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--mem", "128M", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--bogus", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--bogus=1", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "-x", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--mem", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--cpus", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--cpus", "abc", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--cpus", "", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--cpus", "-1", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--mem", "junk", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--mem", "1.5G", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "extra", NULL) == CLI_USAGE_ERROR);
	/* an option where a value belongs, a value where none belongs */
	CHECK(parse(&o, "run", "--kernel", "--mem", "16M", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--cmdline", "--mem=1G", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--balloon=1", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--no-rng=", NULL) == CLI_USAGE_ERROR);
	/* options that name one thing, twice */
	CHECK(parse(&o, "run", "--kernel", "k", "--kernel", "k", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--mem", "1G", "--mem=2G", NULL) ==
	      CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--balloon", "--balloon", NULL) == CLI_USAGE_ERROR);
	/* no abbreviations: --api was the old control socket, --api-sock is
	 * the REST API's */
	CHECK(parse(&o, "run", "--kernel", "k", "--api", "/tmp/s", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kern", "k", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--no-rn", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--mem=16M", "--cpus", "2", NULL) == CLI_RUN);
	CHECK(parse(&o, "jail", "--jail", "/j", "--uid", "1", "--gid", "2", "--cpu", "2", "--", "p",
		    NULL) == CLI_USAGE_ERROR);
	/* what only looks like an option is a value */
	CHECK(parse(&o, "run", "--kernel", "k", "--cmdline", "-- single", NULL) == CLI_RUN);
	CHECK(parse(&o, "run", "--kernel", "--memory", NULL) == CLI_RUN);
	/* ranges are the configuration's to judge (config_check), not syntax */
	CHECK(parse(&o, "run", "--kernel", "k", "--cpus", "0", NULL) == CLI_RUN && o.cfg.cpus == 0);
	CHECK(parse(&o, "run", "--kernel", "k", "--cpus", "255", NULL) == CLI_RUN);
	/* a good parse still works after all those errors */
	CHECK(parse(&o, "run", "--kernel", "k", "--cpus", "2", NULL) == CLI_RUN && o.cfg.cpus == 2);
}

static void cli_run_devices(void)
{
	static const uint8_t mac[6] = { 0x02, 0x00, 0x00, 0xab, 0xcd, 0xef };

	REQUIRE(parse(&o, "run", "--kernel", "k", "--disk", "a.img", "--disk", "/dev/sdb,ro",
		      "--net", "tap=tap0,mac=02:00:00:ab:cd:ef", "--net", "tap=tap1", "--net",
		      "stream=unix:/tmp/l.sock,listen", "--net",
		      "dgram=udp:127.0.0.1:5000,remote=127.0.0.1:5001,mac=02:00:00:00:00:09",
		      "--vsock", "cid=3,uds=/tmp/v.sock", "--balloon", "--api-sock", "/tmp/api",
		      "--console", "virtio", "--no-rng", "--no-seccomp", NULL) == CLI_RUN);
	CHECK(o.cfg.ndisks == 2);
	CHECK(!strcmp(o.cfg.disk[0].path, "a.img") && !o.cfg.disk[0].read_only);
	CHECK(!strcmp(o.cfg.disk[1].path, "/dev/sdb") && o.cfg.disk[1].read_only);
	CHECK(!strcmp(o.cfg.disk[0].id, "disk0") && !strcmp(o.cfg.disk[1].id, "disk1"));
	CHECK(o.cfg.nnets == 4 && !strcmp(o.cfg.net[0].id, "net0") &&
	      !strcmp(o.cfg.net[1].id, "net1"));
	CHECK(!strcmp(o.cfg.net[0].tap, "tap0") && o.cfg.net[0].mac_set &&
	      !memcmp(o.cfg.net[0].mac, mac, 6));
	CHECK(!strcmp(o.cfg.net[1].tap, "tap1") && !o.cfg.net[1].mac_set);
	CHECK(o.cfg.net[0].kind == NET_TAP && o.cfg.net[2].kind == NET_STREAM &&
	      o.cfg.net[2].listen && !strcmp(o.cfg.net[2].addr, "unix:/tmp/l.sock") &&
	      !o.cfg.net[2].tap[0]);
	CHECK(o.cfg.net[3].kind == NET_DGRAM && !o.cfg.net[3].listen &&
	      !strcmp(o.cfg.net[3].addr, "udp:127.0.0.1:5000") &&
	      !strcmp(o.cfg.net[3].remote, "127.0.0.1:5001") && o.cfg.net[3].mac_set);
	CHECK(o.cfg.vsock.cid == 3 && !strcmp(o.cfg.vsock.uds, "/tmp/v.sock"));
	CHECK(o.cfg.balloon.present && o.cfg.virtio_console && !o.cfg.rng.present);
	CHECK(!strcmp(o.api_sock, "/tmp/api"));
	CHECK(o.cfg.no_seccomp);
	/* passt with repeated forwards (joined as passt's list), and vde */
	REQUIRE(parse(&o, "run", "--kernel", "k", "--net", "passt,tcp=2222:22,udp=53,tcp=8000-8010",
		      "--net", "vde=/tmp/sw,mac=02:00:00:00:00:0a", "--net", "passt",
		      NULL) == CLI_RUN);
	CHECK(o.cfg.nnets == 3 && o.cfg.net[0].kind == NET_PASST &&
	      !strcmp(o.cfg.net[0].tcp, "2222:22,8000-8010") && !strcmp(o.cfg.net[0].udp, "53"));
	CHECK(o.cfg.net[1].kind == NET_VDE && !strcmp(o.cfg.net[1].addr, "/tmp/sw") &&
	      o.cfg.net[1].mac_set);
	CHECK(o.cfg.net[2].kind == NET_PASST && !o.cfg.net[2].tcp[0] && !o.cfg.net[2].udp[0]);
	CHECK(parse(&o, "run", "--kernel", "k", "--net", "passt=1", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--net", "tap=t,tcp=22", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--net", "passt,vde=/s", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--net", "vde=", NULL) == CLI_USAGE_ERROR);
	REQUIRE(parse(&o, "run", "--kernel", "k", "--net", "tap=t", NULL) == CLI_RUN);
	CHECK(!o.cfg.net[0].mac_set && o.cfg.rng.present && !o.cfg.balloon.present &&
	      o.cfg.ndisks == 0);
	CHECK(!o.cfg.no_seccomp);
}

static void cli_run_stealth(void)
{
	REQUIRE(parse(&o, "run", "--kernel", "k", NULL) == CLI_RUN);
	CHECK(!o.cfg.stealth);
	REQUIRE(parse(&o, "run", "--stealth", "--kernel", "k", NULL) == CLI_RUN);
	CHECK(o.cfg.stealth);
	CHECK(parse(&o, "run", "--kernel", "k", "--stealth=1", NULL) == CLI_USAGE_ERROR);
}

static void cli_run_device_errors(void)
{
	static const char *const bad[][2] = {
		{ "--disk", "" },
		{ "--disk", ",ro" },
		{ "--net", "" },
		{ "--net", "tap=" },
		{ "--net", "mac=02:00:00:00:00:01" },
		{ "--net", "tap=averyveryverylongname" },
		{ "--net", "tap=t,mac=01:00:00:00:00:01" }, /* multicast */
		{ "--net", "tap=t,mac=02:00:00:00:00" },
		{ "--net", "tap=t,mac=00:00:00:00:00:00" },
		{ "--net", "tap=t,mac=02:00:00:00:00:01:02" },
		{ "--net", "tap=t,mac=zz:00:00:00:00:01" },
		{ "--net", "tap=t,speed=10" },
		{ "--vsock", "cid=2,uds=/tmp/x" }, /* 2 is the host */
		{ "--vsock", "cid=4294967295,uds=/tmp/x" },
		{ "--vsock", "cid=3" },
		{ "--vsock", "uds=/tmp/x" },
		{ "--vsock", "cid=x,uds=/tmp/x" },
		{ "--console", "vga" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		harness_begin(bad[i][1][0] ? bad[i][1] : "empty device option");
		CHECK(parse(&o, "run", "--kernel", "k", bad[i][0], bad[i][1], NULL) ==
		      CLI_USAGE_ERROR);
		harness_end();
	}
	harness_begin("vsock uds path of 97 bytes");
	CHECK(parse(&o, "run", "--kernel", "k", "--vsock",
		    "cid=3,uds=/tmp/"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaa",
		    NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--vsock",
		    "cid=3,uds=/tmp/"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaa",
		    NULL) == CLI_RUN);
	harness_end();
	harness_begin("cli_run_device_limits");
	CHECK(parse(&o, "run", "--kernel", "k", "--net", "tap=a", "--net", "tap=b", "--net",
		    "tap=c", "--net", "tap=d", NULL) == CLI_RUN);
	CHECK(parse(&o, "run", "--kernel", "k", "--net", "tap=a", "--net", "tap=b", "--net",
		    "tap=c", "--net", "tap=d", "--net", "tap=e", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--vsock", "cid=3,uds=a", "--vsock", "cid=4,uds=b",
		    NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--disk", "1", "--disk", "2", "--disk", "3",
		    "--disk", "4", "--disk", "5", "--disk", "6", "--disk", "7", "--disk", "8",
		    NULL) == CLI_RUN);
	CHECK(parse(&o, "run", "--kernel", "k", "--disk", "1", "--disk", "2", "--disk", "3",
		    "--disk", "4", "--disk", "5", "--disk", "6", "--disk", "7", "--disk", "8",
		    "--disk", "9", NULL) == CLI_USAGE_ERROR);
	harness_end();
}

/* Where the VM comes from: flags, a config file, or the API. */
static void cli_run_sources(void)
{
	REQUIRE(parse(&o, "run", "--api-sock", "/tmp/a", NULL) == CLI_RUN);
	CHECK(!o.start && !strcmp(o.api_sock, "/tmp/a"));
	REQUIRE(parse(&o, "run", "--config-file", "vm.json", NULL) == CLI_RUN);
	CHECK(o.start && !strcmp(o.config_file, "vm.json") && !o.api_sock);
	REQUIRE(parse(&o, "run", "--config-file", "vm.json", "--no-api", "--id", "vm_1",
		      "--metrics-path", "/tmp/m", "--level", "debug", "--log-path", "/tmp/l",
		      "--show-level", "--show-log-origin", "--http-api-max-payload-size", "100",
		      NULL) == CLI_RUN);
	CHECK(o.no_api && !strcmp(o.id, "vm_1") && o.max_payload == 100);
	CHECK(!strcmp(o.cfg.metrics.path, "/tmp/m") && !strcmp(o.cfg.logger.path, "/tmp/l"));
	CHECK(o.cfg.logger.set && o.cfg.logger.level == LOG_DEBUG && o.cfg.logger.show_level &&
	      o.cfg.logger.show_origin);
	CHECK(parse(&o, "run", "--config-file", "vm.json", "--mem", "1G", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--config-file", "vm.json", "--kernel", "k", NULL) ==
	      CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--no-api", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--config-file", "c", "--no-api", "--api-sock", "a", NULL) ==
	      CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--api-sock", "a", "--level", "loud", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--api-sock", "a", "--id", "has space", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--api-sock", "a", "--id", "", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--api-sock", "a", "--http-api-max-payload-size", "0", NULL) ==
	      CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--help", NULL) == CLI_RUN_HELP);
	CHECK(parse(&o, "run", "--kernel", "k", "--help", NULL) == CLI_RUN_HELP);
}

/* --restore STATE,MEM: the snapshot is the VM; only the process's own
 * options go with it, and something must be able to resume it. */
static void cli_run_restore(void)
{
	REQUIRE(parse(&o, "run", "--restore", "/s/vm.state,/s/vm.mem", NULL) == CLI_RUN);
	CHECK(o.restore && !o.restore_paused && !o.start);
	CHECK(!strcmp(o.restore_state, "/s/vm.state") && !strcmp(o.restore_mem, "/s/vm.mem"));
	REQUIRE(parse(&o, "run", "--restore=a,b,c", "--api-sock", "/tmp/a", "--restore-paused",
		      "--level", "Info", "--metrics-path", "/tmp/m", "--id", "clone_1",
		      NULL) == CLI_RUN);
	CHECK(o.restore && o.restore_paused && !strcmp(o.api_sock, "/tmp/a"));
	CHECK(!strcmp(o.restore_state, "a") && !strcmp(o.restore_mem, "b,c")); /* the first comma */
	CHECK(!strcmp(o.id, "clone_1") && !strcmp(o.cfg.metrics.path, "/tmp/m"));
	static const char *const bad[] = { "", "state", "state,", ",mem", "," };
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(parse(&o, "run", "--restore", bad[i], NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--restore", "s,m", "--mem", "1G", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--restore", "s,m", "--kernel", "k", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--restore", "s,m", "--no-rng", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--restore", "s,m", "--config-file", "c", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--restore", "s,m", "--restore-paused", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--restore-paused", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--restore", "s,m", "--restore", "s,m", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--restore", "s,m", "--restore-paused=1", "--api-sock", "a", NULL) ==
	      CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--restore", "s,m", "--jail", "/j", "--uid", "1", "--gid", "1",
		    NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--restore", "s,m", "--no-api", NULL) == CLI_USAGE_ERROR);
}

static void cli_snapshot_command(void)
{
	REQUIRE(parse(&o, "snapshot", "/tmp/a.sock", "vm.state", "vm.mem", NULL) == CLI_SNAPSHOT);
	CHECK(!strcmp(o.snapshot.sock, "/tmp/a.sock") && !strcmp(o.snapshot.state, "vm.state") &&
	      !strcmp(o.snapshot.mem, "vm.mem"));
	CHECK(parse(&o, "snapshot", "/tmp/a.sock", "vm.state", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "snapshot", "/tmp/a.sock", "s", "m", "x", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "snapshot", "", "s", "m", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "snapshot", NULL) == CLI_USAGE_ERROR);
	CHECK(!o.snapshot.diff);
	REQUIRE(parse(&o, "snapshot", "--diff", "/tmp/a.sock", "d.state", "d.mem", NULL) ==
		CLI_SNAPSHOT);
	CHECK(o.snapshot.diff && !strcmp(o.snapshot.sock, "/tmp/a.sock") &&
	      !strcmp(o.snapshot.state, "d.state") && !strcmp(o.snapshot.mem, "d.mem"));
	CHECK(parse(&o, "snapshot", "--diff", "/tmp/a.sock", "d.state", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "snapshot", "--diff", NULL) == CLI_USAGE_ERROR);
	REQUIRE(parse(&o, "snapshot-merge", "base.mem", "d.mem", NULL) == CLI_SNAPSHOT_MERGE);
	CHECK(!strcmp(o.merge.base, "base.mem") && !strcmp(o.merge.diff, "d.mem"));
	CHECK(parse(&o, "snapshot-merge", "base.mem", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "snapshot-merge", "base.mem", "", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "snapshot-merge", "a", "b", "c", NULL) == CLI_USAGE_ERROR);
}

static void cli_commands(void)
{
	CHECK(parse(&o, "check", NULL) == CLI_CHECK);
	CHECK(parse(&o, "check", "--kernel", "k", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "--help", NULL) == CLI_HELP);
	CHECK(parse(&o, "-h", NULL) == CLI_HELP);
	CHECK(parse(&o, "help", NULL) == CLI_HELP);
	CHECK(parse(&o, "--version", NULL) == CLI_VERSION);
	CHECK(parse(&o, "-V", NULL) == CLI_VERSION);
	CHECK(parse(&o, "launch", "--kernel", "k", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, NULL) == CLI_USAGE_ERROR); /* no command at all */
}

static void cli_jail_options(void)
{
	REQUIRE(parse(&o, "run", "--kernel", "k", "--jail", "/j", "--uid", "5", "--gid", "6",
		      NULL) == CLI_RUN);
	CHECK(strcmp(o.cfg.jail.dir, "/j") == 0);
	CHECK(o.cfg.jail.uid == 5 && o.cfg.jail.gid == 6 && !o.cfg.jail.argv);
	REQUIRE(parse(&o, "run", "--kernel", "k", NULL) == CLI_RUN);
	CHECK(!o.cfg.jail.dir[0]);
	CHECK(parse(&o, "run", "--kernel", "k", "--jail", "/j", "--uid", "4294967294", "--gid", "1",
		    NULL) == CLI_RUN);
	CHECK(o.cfg.jail.uid == 4294967294U);
	/* 0 parses (jail_fork refuses it, with its own message). */
	CHECK(parse(&o, "run", "--kernel", "k", "--jail", "/j", "--uid", "0", "--gid", "1", NULL) ==
	      CLI_RUN);

	static const char *const bad_id[] = { "x", "-1", "4294967295", "1e3", "", " 5" };
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_id); i++)
		CHECK(parse(&o, "run", "--kernel", "k", "--jail", "/j", "--uid", bad_id[i], "--gid",
			    "1", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--jail", "/j", "--uid", "5", NULL) ==
	      CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--jail", "/j", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "run", "--kernel", "k", "--uid", "5", "--gid", "5", NULL) ==
	      CLI_USAGE_ERROR);
}

static void cli_jail_command(void)
{
	REQUIRE(parse(&o, "jail", "--jail", "/j", "--uid", "1", "--gid", "2", "--", "prog", "-x",
		      "arg", NULL) == CLI_JAIL);
	CHECK(strcmp(o.cfg.jail.dir, "/j") == 0 && o.cfg.jail.uid == 1 && o.cfg.jail.gid == 2);
	REQUIRE(o.cfg.jail.argv);
	CHECK(strcmp(o.cfg.jail.argv[0], "prog") == 0 && strcmp(o.cfg.jail.argv[1], "-x") == 0 &&
	      strcmp(o.cfg.jail.argv[2], "arg") == 0 && !o.cfg.jail.argv[3]);
	/* Without "--", parsing stops at the program: its options are its own. */
	REQUIRE(parse(&o, "jail", "--jail", "/j", "--uid", "1", "--gid", "2", "prog", "--kernel",
		      "k", NULL) == CLI_JAIL);
	CHECK(strcmp(o.cfg.jail.argv[0], "prog") == 0 &&
	      strcmp(o.cfg.jail.argv[1], "--kernel") == 0);
	REQUIRE(parse(&o, "jail", "--mem", "64M", "--cpus", "2", "--jail", "/j", "--uid", "1",
		      "--gid", "2", "--", "p", NULL) == CLI_JAIL);
	CHECK(o.cfg.mem_size == 64ULL << 20 && o.cfg.cpus == 2);

	CHECK(parse(&o, "jail", "--jail", "/j", "--uid", "1", "--gid", "2", NULL) ==
	      CLI_USAGE_ERROR);
	CHECK(parse(&o, "jail", "--jail", "/j", "--uid", "1", "--gid", "2", "--", NULL) ==
	      CLI_USAGE_ERROR);
	CHECK(parse(&o, "jail", "--uid", "1", "--gid", "2", "--", "p", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "jail", "--jail", "/j", "--uid", "1", "--gid", "2", "--kernel", "k", "--",
		    "p", NULL) == CLI_USAGE_ERROR);
	CHECK(parse(&o, "jail", "--jail", "/j", "--uid", "1", "--gid", "2", "--bogus", "p", NULL) ==
	      CLI_USAGE_ERROR);
}

/*
 * cli_parse must not depend on an earlier call (the fuzzer and these tests
 * call it many times). An unknown short-option cluster ("-xy") leaves
 * glibc's getopt in the middle of the cluster; only optind = 0 resets that.
 */
static void cli_reparse_after_short_option_cluster(void)
{
	enum cli_command first, second;

	first = parse(&o, "run", "--kernel", "k", "-xy", NULL);
	second = parse(&o, "run", "--kernel", "k", NULL);
	CHECK(first == CLI_USAGE_ERROR);
	CHECK(second == CLI_RUN);
}

/* Found by fuzz_cli: a value with a newline in it made the usage error
 * two lines. Every error is exactly one line, whatever it quotes. */
static void cli_error_is_one_line(void)
{
	static const char *const values[] = { "12\nX", "1\r\n\033[2J", "\t\x7f" };

	for (unsigned int i = 0; i < ARRAY_SIZE(values); i++) {
		enum cli_command cmd;
		char msg[512];
		ssize_t len;
		int pipefd[2], saved = dup(STDERR_FILENO);

		REQUIRE(saved >= 0 && pipe(pipefd) == 0);
		dup2(pipefd[1], STDERR_FILENO);
		close(pipefd[1]);
		cmd = parse(&o, "run", "--kernel", "k", "--mem", values[i], NULL);
		dup2(saved, STDERR_FILENO);
		close(saved);
		len = read(pipefd[0], msg, sizeof(msg));
		close(pipefd[0]);
		CHECK(cmd == CLI_USAGE_ERROR);
		CHECK(len > 0 && memchr(msg, '\n', (size_t)len) == msg + len - 1);
		for (ssize_t j = 0; j < len - 1; j++)
			CHECK((unsigned char)msg[j] >= 0x20 && msg[j] != 0x7f);
	}
}

int main(void)
{
	RUN(size_parse_accepts);
	RUN(size_parse_rejects);
	RUN(size_format_units);
	RUN(uint_parse_bounds);
	RUN(cli_run_all_flags);
	RUN(cli_run_equals_form);
	RUN(cli_run_defaults);
	RUN(cli_run_errors);
	RUN(cli_run_devices);
	RUN(cli_run_stealth);
	cli_run_device_errors();
	RUN(cli_run_sources);
	RUN(cli_run_restore);
	RUN(cli_snapshot_command);
	RUN(cli_commands);
	RUN(cli_jail_options);
	RUN(cli_jail_command);
	RUN(cli_reparse_after_short_option_cluster);
	RUN(cli_error_is_one_line);
	return harness_exit();
}
