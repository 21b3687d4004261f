/* SPDX-License-Identifier: MIT */
/*
 * Firecracker's JSON for a VM (config_json.h): each section's reader and
 * its classes of errors, the whole document, the config file
 * (config_json_load) and the round trip through config_json_dump.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_equal.h"
#include "config_json.h"
#include "harness.h"

enum reader {
	R_BOOT,
	R_MACHINE,
	R_MACHINE_PATCH,
	R_DRIVE,
	R_DRIVE_PATCH,
	R_NET,
	R_NET_PATCH,
	R_VSOCK,
	R_BALLOON,
	R_ENTROPY,
	R_LOGGER,
	R_METRICS,
	R_DOCUMENT,
};

static char err[JSON_ERR_MAX];
static struct vm_config cfg;

/* Read `text` with reader r. 0, -EINVAL (err set), or -EBADMSG if the
 * text is not JSON at all. */
static int read_as(enum reader r, const char *text)
{
	static union {
		struct boot_config boot;
		struct machine_json machine;
		struct disk_config drive;
		struct drive_patch drive_patch;
		struct net_config net;
		struct net_patch net_patch;
		struct vsock_config vsock;
		struct balloon_config balloon;
		struct rng_config rng;
		struct logger_config logger;
		struct metrics_config metrics;
	} u;
	uint64_t present;
	json_t *v = json_in_parse(text, strlen(text), err, sizeof(err));
	int ret = -EINVAL;

	if (!v)
		return -EBADMSG;
	err[0] = 0;
	switch (r) {
	case R_BOOT:
		ret = config_json_boot_source(v, &u.boot, err, sizeof(err));
		break;
	case R_MACHINE:
	case R_MACHINE_PATCH:
		ret = config_json_machine(v, r == R_MACHINE_PATCH, &u.machine, &present, err,
					  sizeof(err));
		break;
	case R_DRIVE:
		ret = config_json_drive(v, &u.drive, err, sizeof(err));
		break;
	case R_DRIVE_PATCH:
		ret = config_json_drive_patch(v, &u.drive_patch, &present, err, sizeof(err));
		break;
	case R_NET:
		ret = config_json_net(v, &u.net, err, sizeof(err));
		break;
	case R_NET_PATCH:
		ret = config_json_net_patch(v, &u.net_patch, &present, err, sizeof(err));
		break;
	case R_VSOCK:
		ret = config_json_vsock(v, &u.vsock, err, sizeof(err));
		break;
	case R_BALLOON:
		ret = config_json_balloon(v, &u.balloon, err, sizeof(err));
		break;
	case R_ENTROPY:
		ret = config_json_entropy(v, &u.rng, err, sizeof(err));
		break;
	case R_LOGGER:
		ret = config_json_logger(v, &u.logger, err, sizeof(err));
		break;
	case R_METRICS:
		ret = config_json_metrics(v, &u.metrics, err, sizeof(err));
		break;
	case R_DOCUMENT:
		config_init(&cfg);
		ret = config_json_document(v, &cfg, err, sizeof(err));
		break;
	}
	json_decref(v);
	return ret;
}

/* Each row: a reader, a text, and the error it must give (NULL: none). */
static const struct {
	enum reader r;
	const char *text, *want;
} rows[] = {
	/* The classes every reader shares (json_in.c), once per reader. */
	{ R_BOOT, "[]", "expected an object, got an array" },
	{ R_BOOT, "{\"kernel_image_path\": \"k\", \"kernel\": \"k\"}",
	  "unknown field `kernel`, expected one of `kernel_image_path`, `initrd_path`, "
	  "`boot_args`" },
	{ R_BOOT, "{\"boot_args\": \"x\"}", "missing field `kernel_image_path`" },
	{ R_BOOT, "{\"kernel_image_path\": 7}",
	  "`kernel_image_path`: expected a string, got an integer" },
	{ R_BOOT, "{\"kernel_image_path\": \"\"}", "`kernel_image_path`: empty" },
	{ R_BOOT, "{\"kernel_image_path\": \"k\", \"boot_args\": \"a\\nb\"}",
	  "`boot_args`: control characters are not allowed" },
	{ R_BOOT, "{\"kernel_image_path\": \"k\", \"boot_args\": \"a\\u007fb\"}",
	  "`boot_args`: control characters are not allowed" },
	{ R_BOOT, "{\"kernel_image_path\": \"k\", \"initrd_path\": null}", NULL },
	{ R_MACHINE, "{\"vcpu_count\": 2}", "missing field `mem_size_mib`" },
	{ R_MACHINE, "{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"ht_enabled\": false}",
	  "unknown field `ht_enabled`, *" },
	{ R_MACHINE, "{\"vcpu_count\": -1, \"mem_size_mib\": 128}",
	  "`vcpu_count`: -1 is out of range (0 to 4294967295)" },
	{ R_MACHINE, "{\"vcpu_count\": 4294967296, \"mem_size_mib\": 128}",
	  "`vcpu_count`: 4294967296 is out of range (0 to 4294967295)" },
	{ R_MACHINE, "{\"vcpu_count\": 2.0, \"mem_size_mib\": 128}",
	  "`vcpu_count`: expected an unsigned integer, got a number with a fraction" },
	{ R_MACHINE, "{\"vcpu_count\": \"2\", \"mem_size_mib\": 128}",
	  "`vcpu_count`: expected an unsigned integer, got a string" },
	{ R_MACHINE, "{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"smt\": 1}",
	  "`smt`: expected a boolean, got an integer" },
	{ R_MACHINE, "{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"huge_pages\": \"2M\"}",
	  "`huge_pages`: expected one of \"None\"" },
	{ R_MACHINE, "{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"cpu_template\": \"T2\"}",
	  "`cpu_template`: expected one of \"None\"" },
	{ R_MACHINE, "{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"smt\": null}", NULL },
	{ R_MACHINE_PATCH, "{\"mem_size_mib\": 256}", NULL },
	{ R_MACHINE_PATCH, "{}", NULL },
	{ R_MACHINE_PATCH, "{\"vcpus\": 2}", "unknown field `vcpus`, *" },
	{ R_DRIVE, "{\"drive_id\": \"root\", \"path_on_host\": \"r\"}",
	  "missing field `is_root_device`" },
	{ R_DRIVE, "{\"drive_id\": \"root-fs\", \"path_on_host\": \"r\", \"is_root_device\": true}",
	  "`drive_id`: API resource ids can only contain alphanumeric characters and "
	  "underscores, 1 to 63 of them" },
	{ R_DRIVE, "{\"drive_id\": \"\", \"path_on_host\": \"r\", \"is_root_device\": true}",
	  "`drive_id`: API resource ids *" },
	{ R_DRIVE,
	  "{\"drive_id\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", "
	  "\"path_on_host\": \"r\", \"is_root_device\": true}",
	  "`drive_id`: longer than 63 bytes" },
	{ R_DRIVE, "{\"drive_id\": \"r\", \"path_on_host\": \"\", \"is_root_device\": true}",
	  "`path_on_host`: empty" },
	{ R_DRIVE,
	  "{\"drive_id\": \"r\", \"path_on_host\": \"p\", \"is_root_device\": true, \"partuuid\": "
	  "\"x y\"}",
	  "`partuuid`: only hex digits and '-'" },
	{ R_DRIVE,
	  "{\"drive_id\": \"r\", \"path_on_host\": \"p\", \"is_root_device\": true, "
	  "\"cache_type\": \"None\"}",
	  "`cache_type`: expected one of \"Writeback\", \"Unsafe\"" },
	{ R_DRIVE,
	  "{\"drive_id\": \"r\", \"path_on_host\": \"p\", \"is_root_device\": true, "
	  "\"io_engine\": \"async\"}",
	  "`io_engine`: expected one of \"Async\", \"Sync\"" },
	{ R_DRIVE,
	  "{\"drive_id\": \"r\", \"path_on_host\": \"p\", \"is_root_device\": true, \"socket\": "
	  "\"/s\"}",
	  "`socket`: vhost-user block devices are not supported" },
	{ R_DRIVE,
	  "{\"drive_id\": \"r\", \"path_on_host\": \"p\", \"is_root_device\": true, "
	  "\"rate_limiter\": {\"bandwidth\": {\"size\": 1}}}",
	  "`rate_limiter`: `bandwidth`: missing field `refill_time`" },
	{ R_DRIVE,
	  "{\"drive_id\": \"r\", \"path_on_host\": \"p\", \"is_root_device\": true, "
	  "\"rate_limiter\": {\"ops\": {\"size\": 1, \"refill_time\": 1, \"burst\": 1}}}",
	  "`rate_limiter`: `ops`: unknown field `burst`, *" },
	{ R_DRIVE,
	  "{\"drive_id\": \"r\", \"path_on_host\": \"p\", \"is_root_device\": true, "
	  "\"rate_limiter\": []}",
	  "`rate_limiter`: expected an object, got an array" },
	{ R_DRIVE_PATCH, "{\"path_on_host\": \"p\"}", "missing field `drive_id`" },
	{ R_DRIVE_PATCH, "{\"drive_id\": \"r\", \"path_on_host\": \"\"}", "`path_on_host`: empty" },
	{ R_DRIVE_PATCH, "{\"drive_id\": \"r\", \"is_read_only\": true}",
	  "unknown field `is_read_only`, expected one of `drive_id`, `path_on_host`, "
	  "`rate_limiter`" },
	{ R_DRIVE_PATCH, "{\"drive_id\": \"r\"}", NULL },
	{ R_NET, "{\"iface_id\": \"eth0\"}", "missing field `host_dev_name`" },
	{ R_NET, "{\"iface_id\": \"eth.0\", \"host_dev_name\": \"tap0\"}",
	  "`iface_id`: API resource ids *" },
	{ R_NET, "{\"iface_id\": \"eth0\", \"host_dev_name\": \"\"}", "`host_dev_name`: empty" },
	{ R_NET, "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0123456789abcd\"}",
	  "`host_dev_name`: longer than 15 bytes" },
	{ R_NET,
	  "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"guest_mac\": \"01:00:00:00:00:01\"}",
	  "`guest_mac`: must be a unicast, non-zero XX:XX:XX:XX:XX:XX" },
	{ R_NET,
	  "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"guest_mac\": \"02:00:00:00:00\"}",
	  "`guest_mac`: must be a unicast, non-zero XX:XX:XX:XX:XX:XX" },
	{ R_NET, "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"mtu\": \"1500\"}",
	  "`mtu`: expected an unsigned integer, got a string" },
	{ R_NET,
	  "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"guest_mac\": \"AA:FC:00:00:00:01\"}",
	  NULL },
	{ R_NET,
	  "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"guest_mac\": \"06:00:c0:a8:00:02\"}",
	  NULL },
	{ R_NET, "{\"iface_id\": \"e\", \"passt\": {\"tcp\": \"22,8080:80\", \"udp\": \"53\"}}",
	  NULL },
	{ R_NET, "{\"iface_id\": \"e\", \"passt\": {}}", NULL },
	{ R_NET, "{\"iface_id\": \"e\", \"passt\": {\"sctp\": \"1\"}}",
	  "`passt`: unknown field `sctp`, *" },
	{ R_NET, "{\"iface_id\": \"e\", \"passt\": {}, \"vde\": {\"path\": \"/s\"}}",
	  "one of `host_dev_name`, `stream`, `dgram`, `passt` and `vde`, not several" },
	{ R_NET, "{\"iface_id\": \"e\", \"vde\": {}}", "`vde`: missing field `path`" },
	{ R_NET, "{\"iface_id\": \"e\", \"vde\": {\"path\": \"/tmp/sw\"}}", NULL },
	{ R_NET_PATCH, "{\"iface_id\": \"e\", \"host_dev_name\": \"t\"}",
	  "unknown field `host_dev_name`, *" },
	{ R_NET_PATCH, "{\"iface_id\": \"e\", \"tx_rate_limiter\": {\"bandwidth\": 5}}",
	  "`tx_rate_limiter`: `bandwidth`: expected an object, got an integer" },
	{ R_VSOCK, "{\"guest_cid\": 3}", "missing field `uds_path`" },
	{ R_VSOCK, "{\"guest_cid\": 2, \"uds_path\": \"v\"}",
	  "`guest_cid`: 2: must be from 3 to 4294967294" },
	{ R_VSOCK, "{\"guest_cid\": 4294967295, \"uds_path\": \"v\"}",
	  "`guest_cid`: 4294967295: must be from 3 to 4294967294" },
	{ R_VSOCK, "{\"guest_cid\": 3, \"uds_path\": \"\"}", "`uds_path`: empty" },
	{ R_VSOCK, "{\"guest_cid\": 3, \"uds_path\": \"v\", \"vsock_id\": \"v-1\"}",
	  "`vsock_id`: API resource ids *" },
	{ R_BALLOON, "{\"amount_mib\": 1}", "missing field `deflate_on_oom`" },
	{ R_BALLOON, "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"free_page_hinting\": true}",
	  "`free_page_hinting`: not supported (use free_page_reporting)" },
	{ R_BALLOON, "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"free_page_hinting\": false}",
	  NULL },
	{ R_ENTROPY, "{\"rate_limiter\": {\"bandwidth\": {\"size\": 1, \"refill_time\": 1}}}",
	  NULL },
	{ R_ENTROPY, "{\"limiter\": {}}", "unknown field `limiter`, expected `rate_limiter`" },
	{ R_LOGGER, "{\"level\": \"Loud\"}",
	  "`level`: expected one of \"Off\", \"Error\", \"Warning\", \"Info\", \"Debug\", "
	  "\"Trace\"" },
	{ R_LOGGER, "{\"log_fifo\": \"f\"}", "unknown field `log_fifo`, *" },
	{ R_LOGGER, "{\"level\": \"warn\"}", NULL },
	{ R_METRICS, "{}", "missing field `metrics_path`" },
	{ R_METRICS, "{\"metrics_path\": \"\"}", "`metrics_path`: empty" },
	/* The document. */
	{ R_DOCUMENT, "[]", "expected an object" },
	{ R_DOCUMENT, "{}", "missing section `boot-source`" },
	{ R_DOCUMENT, "{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"mmds-version\": \"V1\"}",
	  "unknown section `mmds-version`" },
	{ R_DOCUMENT, "{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"drives\": {}}",
	  "drives: expected an array" },
	{ R_DOCUMENT, "{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"drives\": [1]}",
	  "drives[0]: expected an object, got an integer" },
	{ R_DOCUMENT,
	  "{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"network-interfaces\": "
	  "[{\"iface_id\": "
	  "\"e\", \"host_dev_name\": \"t\"}, {\"iface_id\": \"f\"}]}",
	  "network-interfaces[1]: missing field `host_dev_name`" },
	{ R_DOCUMENT,
	  "{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"network-interfaces\": "
	  "[{},{},{},{},{}]}",
	  "network-interfaces: at most 4 network interfaces" },
	{ R_DOCUMENT,
	  "{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"mmds-config\": "
	  "{\"network_interfaces\": []}}",
	  "mmds-config: not supported by petrel (only null or [] is accepted)" },
	{ R_DOCUMENT, "{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"pmem\": [{}]}",
	  "pmem: not supported by petrel (only null or [] is accepted)" },
	{ R_DOCUMENT, "{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"petrel\": {\"gdb\": 1}}",
	  "petrel: unknown field `gdb`, *" },
	{ R_DOCUMENT,
	  "{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"petrel\": {\"console\": \"vga\"}}",
	  "petrel: `console`: expected one of \"serial\", \"virtio\"" },
	{ R_DOCUMENT,
	  "{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"petrel\": {\"jail\": {\"dir\": "
	  "\"/j\", \"uid\": 4294967295, \"gid\": 1}}}",
	  "petrel: `jail`: `uid`: 4294967295 is out of range (0 to 4294967294)" },
	{ R_DOCUMENT, "{\"boot-source\": null}", "boot-source: expected an object, got null" },
	{ R_DOCUMENT,
	  "{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"machine-config\": null, "
	  "\"cpu-config\": null, \"pmem\": [], \"serial\": null, \"memory-hotplug\": null}",
	  NULL },
};

/* `*` in want stands for any text, and only at its end. */
static bool err_is(const char *want)
{
	size_t n = strlen(want);

	if (n && want[n - 1] == '*')
		return !strncmp(err, want, n - 1);
	return !strcmp(err, want);
}

static void readers_and_their_errors(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		int ret = read_as(rows[i].r, rows[i].text);

		harness_begin(rows[i].want ? rows[i].want : rows[i].text);
		if (rows[i].want) {
			CHECK(ret == -EINVAL);
			CHECK(err_is(rows[i].want));
			if (!err_is(rows[i].want))
				printf("# row %zu said: %s\n", i, err);
		} else {
			CHECK(ret == 0);
			if (ret)
				printf("# row %zu said: %s\n", i, err);
		}
		harness_end();
	}
}

/* What the parser itself refuses: not JSON, duplicate keys, NUL in a
 * string, a trailing comma. */
static void text_that_is_not_json(void)
{
	static const char *const bad[] = {
		"{\"kernel_image_path\": \"k\",}",
		"{\"kernel_image_path\": \"k\", \"kernel_image_path\": \"j\"}",
		"{\"kernel_image_path\": \"k\\u0000x\"}",
		"{kernel_image_path: \"k\"}",
		"{\"kernel_image_path\": 'k'}",
		"",
		"{\"kernel_image_path\": \"k\"} {}",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(read_as(R_BOOT, bad[i]) == -EBADMSG);
	CHECK(read_as(R_BOOT, "{\"kernel_image_path\": \"k\",}") == -EBADMSG &&
	      strstr(err, "at line 1 column"));
	/* jansson's own words for a NUL name its flag: petrel's do not */
	CHECK(read_as(R_BOOT, "{\"kernel_image_path\": \"k\\u0000x\"}") == -EBADMSG &&
	      !strncmp(err, "\\u0000 (NUL) is not allowed in strings at line 1", 48));
}

static void machine_put_and_patch(void)
{
	struct machine_json m;
	uint64_t present;
	json_t *v = json_in_parse("{\"mem_size_mib\": 512}", 21, err, sizeof(err));

	REQUIRE(v);
	config_init(&cfg);
	cfg.smt = cfg.track_dirty_pages = true;
	cfg.cpus = 4;
	REQUIRE(config_json_machine(v, true, &m, &present, err, sizeof(err)) == 0);
	config_json_apply_machine(&cfg, &m, present, true);
	/* PATCH changes what it names only */
	CHECK(cfg.mem_size == 512ULL << 20 && cfg.cpus == 4 && cfg.smt && cfg.track_dirty_pages);
	json_decref(v);
	v = json_in_parse("{\"vcpu_count\": 2, \"mem_size_mib\": 64}", 37, err, sizeof(err));
	REQUIRE(v);
	REQUIRE(config_json_machine(v, false, &m, &present, err, sizeof(err)) == 0);
	config_json_apply_machine(&cfg, &m, present, false);
	/* PUT resets the optional fields it does not give */
	CHECK(cfg.mem_size == 64ULL << 20 && cfg.cpus == 2 && !cfg.smt && !cfg.track_dirty_pages);
	json_decref(v);
}

/* A document's logger or metrics where the command line set one. */
static void document_and_command_line(void)
{
	static const char doc[] = "{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"logger\": "
				  "{\"level\": \"Info\"}}";
	json_t *v = json_in_parse(doc, strlen(doc), err, sizeof(err));

	REQUIRE(v);
	config_init(&cfg);
	cfg.logger.set = true;
	CHECK(config_json_document(v, &cfg, err, sizeof(err)) == -EINVAL);
	CHECK(!strcmp(err, "logger: the command line configures it already"));
	/* a refused document changes nothing */
	CHECK(!cfg.boot.kernel[0]);
	config_init(&cfg);
	cfg.no_seccomp = true;
	CHECK(config_json_document(v, &cfg, err, sizeof(err)) == 0);
	CHECK(!strcmp(cfg.boot.kernel, "k") && cfg.logger.level == LOG_INFO && cfg.no_seccomp);
	json_decref(v);
}

/* A file in a fresh temporary directory. */
static char dir[64];

static const char *file_with(const char *name, const char *text)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	return path;
}

static const char everything[] =
    "{\"boot-source\": {\"kernel_image_path\": \"/k\", \"initrd_path\": \"/i\", \"boot_args\": "
    "\"quiet\"},"
    " \"machine-config\": {\"vcpu_count\": 4, \"mem_size_mib\": 512, \"smt\": true,"
    "  \"track_dirty_pages\": true},"
    " \"drives\": [{\"drive_id\": \"root\", \"path_on_host\": \"/r\", \"is_root_device\": true,"
    "  \"is_read_only\": true, \"partuuid\": \"ab-01\", \"cache_type\": \"Unsafe\","
    "  \"io_engine\": \"Sync\", \"rate_limiter\": {\"bandwidth\": {\"size\": 10, "
    "\"one_time_burst\": 5,"
    "  \"refill_time\": 100}}},"
    "  {\"drive_id\": \"d2\", \"path_on_host\": \"/d\", \"is_root_device\": false}],"
    " \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\","
    "  \"guest_mac\": \"02:fc:00:00:00:05\", \"mtu\": 1500, \"tx_rate_limiter\": {\"ops\":"
    "  {\"size\": 7, \"refill_time\": 8}}}, {\"iface_id\": \"eth1\", \"host_dev_name\": "
    "\"tap1\"}, {\"iface_id\": \"eth2\", \"stream\": {\"addr\": \"unix:/l.sock\", "
    "\"listen\": true}}, {\"iface_id\": \"eth3\", \"dgram\": {\"addr\": "
    "\"udp:[::1]:5000\", \"remote\": \"[::1]:5001\"}}],"
    " \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/v.sock\", \"vsock_id\": \"v0\"},"
    " \"fs\": [{\"tag\": \"share\", \"socket\": \"/f.sock\"}, {\"tag\": \"b\", \"socket\": "
    "\"/g.sock\", \"read_only\": false}],"
    " \"balloon\": {\"amount_mib\": 64, \"deflate_on_oom\": true, \"stats_polling_interval_s\": "
    "2,"
    "  \"free_page_reporting\": true},"
    " \"entropy\": {\"rate_limiter\": {\"ops\": {\"size\": 1, \"refill_time\": 1}}},"
    " \"logger\": {\"log_path\": \"/l\", \"level\": \"Debug\", \"show_level\": true,"
    "  \"show_log_origin\": true, \"module\": \"src/api\"},"
    " \"metrics\": {\"metrics_path\": \"/m\"},"
    " \"petrel\": {\"console\": \"virtio\", \"stealth\": true, \"seccomp\": false,"
    "  \"jail\": {\"dir\": \"/j\", \"uid\": 5, \"gid\": 6}}}";

static void file_errors(void)
{
	char path[128], big[256];
	int fd;

	snprintf(path, sizeof(path), "%s/missing.json", dir);
	CHECK(config_json_load(path, &cfg) == -ENOENT);
	CHECK(config_json_load(dir, &cfg) == -EINVAL); /* a directory */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	REQUIRE(mkfifo(path, 0600) == 0);
	CHECK(config_json_load(path, &cfg) == -EINVAL); /* without waiting for a writer */
	CHECK(config_json_load(file_with("empty.json", ""), &cfg) == -EINVAL);
	CHECK(config_json_load(file_with("text.json", "boot-source: k"), &cfg) == -EINVAL);
	CHECK(config_json_load(file_with("comma.json", "{\"boot-source\": {\"kernel_image_path\": "
						       "\"k\"},}"),
			       &cfg) == -EINVAL);
	snprintf(big, sizeof(big), "%s", file_with("big.json", "{}"));
	fd = open(big, O_WRONLY);
	REQUIRE(fd >= 0);
	CHECK(ftruncate(fd, CONFIG_JSON_FILE_MAX + 1) == 0);
	close(fd);
	CHECK(config_json_load(big, &cfg) == -EFBIG);
	config_init(&cfg);
	CHECK(config_json_load(file_with("ok.json", "{\"boot-source\": {\"kernel_image_path\": "
						    "\"k\"}}"),
			       &cfg) == 0);
	CHECK(!strcmp(cfg.boot.kernel, "k") && cfg.mem_size == CONFIG_DEFAULT_MEM &&
	      !cfg.rng.present);
}

/* Read a document's text into c from the defaults. */
static int load_text(const char *text, struct vm_config *c)
{
	json_t *v = json_in_parse(text, strlen(text), err, sizeof(err));
	int ret;

	if (!v)
		return -EBADMSG;
	config_init(c);
	ret = config_json_document(v, c, err, sizeof(err));
	json_decref(v);
	return ret;
}

/* GET /vm/config gives a document that --config-file reads back to the
 * same configuration, and dumps again to the same text. */
static void dump_round_trip(void)
{
	static struct vm_config back;
	char *text, *again;

	config_init(&cfg);
	REQUIRE(config_json_load(file_with("all.json", everything), &cfg) == 0);
	CHECK(cfg.ndisks == 2 && cfg.nnets == 4 && cfg.disk[0].limit.bandwidth.one_time_burst == 5);
	CHECK(cfg.net[2].kind == NET_STREAM && cfg.net[2].listen &&
	      !strcmp(cfg.net[2].addr, "unix:/l.sock"));
	CHECK(cfg.net[3].kind == NET_DGRAM && !strcmp(cfg.net[3].remote, "[::1]:5001"));
	CHECK(cfg.net[0].mtu == 1500 && cfg.net[0].tx.ops.refill_time_ms == 8);
	CHECK(cfg.jail.uid == 5 && cfg.virtio_console && cfg.no_seccomp && cfg.stealth);
	CHECK(cfg.nfs == 2 && !strcmp(cfg.fs[0].tag, "share") &&
	      !strcmp(cfg.fs[1].socket, "/g.sock"));
	text = config_json_dump(&cfg);
	REQUIRE(text);
	CHECK(load_text(text, &back) == 0);
	CHECK(config_equal(&cfg, &back));
	again = config_json_dump(&back);
	CHECK(again && !strcmp(text, again));
	free(again);
	free(text);

	/* the smallest document, and the command line's defaults */
	REQUIRE(load_text("{\"boot-source\": {\"kernel_image_path\": \"k\"}}", &cfg) == 0);
	text = config_json_dump(&cfg);
	REQUIRE(text);
	CHECK(load_text(text, &back) == 0 && config_equal(&cfg, &back));
	free(text);
	config_init(&cfg);
	memcpy(cfg.boot.kernel, "vmlinux", 8);
	cfg.rng.present = true;
	text = config_json_dump(&cfg);
	REQUIRE(text);
	CHECK(load_text(text, &back) == 0 && config_equal(&cfg, &back));
	free(text);

	/* config_equal can tell configurations apart (the check can fail) */
	CHECK(load_text(everything, &cfg) == 0 && load_text(everything, &back) == 0);
	CHECK(config_equal(&cfg, &back));
	back.net[1].mac_set = true;
	CHECK(!config_equal(&cfg, &back));
	back = cfg;
	back.disk[0].limit.bandwidth.one_time_burst = 6;
	CHECK(!config_equal(&cfg, &back));
	back = cfg;
	memcpy(back.fs[1].tag, "c", 2);
	CHECK(!config_equal(&cfg, &back));

	/* passt and vde interfaces round-trip too */
	REQUIRE(load_text("{\"boot-source\": {\"kernel_image_path\": \"k\"}, "
			  "\"network-interfaces\": [{\"iface_id\": \"p\", \"passt\": {\"tcp\": "
			  "\"2222:22\"}}, {\"iface_id\": \"v\", \"vde\": {\"path\": \"/sw\"}}]}",
			  &cfg) == 0);
	CHECK(cfg.net[0].kind == NET_PASST && !strcmp(cfg.net[0].tcp, "2222:22") &&
	      cfg.net[1].kind == NET_VDE && !strcmp(cfg.net[1].addr, "/sw"));
	text = config_json_dump(&cfg);
	REQUIRE(text);
	CHECK(load_text(text, &back) == 0 && config_equal(&cfg, &back));
	free(text);
	back.net[0].udp[0] = '1';
	CHECK(!config_equal(&cfg, &back));
}

/* fs shares: exactly one of socket and dir; unknown keys refused. */
static void fs_section(void)
{
	static const struct {
		const char *doc, *err;
	} bad[] = {
		{ "[{\"tag\": \"a\"}]", "fs[0]: one of `socket` and `dir`" },
		{ "[{\"tag\": \"a\", \"socket\": \"/s\", \"dir\": \"/d\"}]",
		  "fs[0]: one of `socket` and `dir`" },
		{ "[{\"socket\": \"/s\"}]", NULL },
		{ "[{\"tag\": \"a\", \"dir\": \"/d\", \"cache\": 1}]", NULL },
		{ "{\"tag\": \"a\"}", NULL },
	};
	char doc[256];

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		json_t *v;

		snprintf(doc, sizeof(doc),
			 "{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"fs\": %s}",
			 bad[i].doc);
		v = json_in_parse(doc, strlen(doc), err, sizeof(err));
		REQUIRE(v);
		config_init(&cfg);
		CHECK(config_json_document(v, &cfg, err, sizeof(err)) == -EINVAL);
		CHECK(!bad[i].err || !strcmp(err, bad[i].err));
		CHECK(cfg.nfs == 0);
		json_decref(v);
	}
	snprintf(doc, sizeof(doc), "%s",
		 "{\"boot-source\": {\"kernel_image_path\": \"k\"}, \"fs\": [{\"tag\": \"h\", "
		 "\"dir\": \"/srv\", \"read_only\": true}]}");
	{
		json_t *v = json_in_parse(doc, strlen(doc), err, sizeof(err));

		REQUIRE(v);
		config_init(&cfg);
		CHECK(config_json_document(v, &cfg, err, sizeof(err)) == 0);
		CHECK(cfg.nfs == 1 && cfg.fs[0].read_only && !strcmp(cfg.fs[0].dir, "/srv"));
		json_decref(v);
	}
}

int main(void)
{
	int devnull = open("/dev/null", O_WRONLY), saved;
	char rm[128];

	snprintf(dir, sizeof(dir), "/tmp/petrel-test-config-json.XXXXXX");
	if (devnull < 0 || !mkdtemp(dir))
		return 1;
	readers_and_their_errors();
	RUN(text_that_is_not_json);
	RUN(machine_put_and_patch);
	RUN(document_and_command_line);
	saved = log_set_stderr(devnull); /* config_json_load's lines */
	RUN(file_errors);
	log_set_stderr(saved);
	RUN(dump_round_trip);
	RUN(fs_section);
	snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
	if (system(rm) != 0)
		return 1;
	return harness_exit();
}
