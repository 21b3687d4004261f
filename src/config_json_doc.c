/* SPDX-License-Identifier: MIT */
/* The whole document: --config-file in, GET /vm/config out. */
#include "config_json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "petrel": petrel's own settings. */
static int read_jail(const json_t *v, void *out, char *err, size_t errsz)
{
	static const struct json_in_field f[] = {
		{ "dir", JIN_STRING, true, offsetof(struct jail_config, dir),
		  sizeof(((struct jail_config *)0)->dir), 0, NULL, NULL },
		{ "uid", JIN_U32, true, offsetof(struct jail_config, uid), 0, UINT32_MAX - 1, NULL,
		  NULL },
		{ "gid", JIN_U32, true, offsetof(struct jail_config, gid), 0, UINT32_MAX - 1, NULL,
		  NULL },
	};

	return json_in_object(v, f, ARRAY_SIZE(f), out, NULL, err, errsz);
}

static int read_petrel(const json_t *v, struct vm_config *cfg, char *err, size_t errsz)
{
	static const char *const consoles[] = { "serial", "virtio", NULL };
	struct petrel_json {
		int console;
		bool stealth, seccomp;
		struct jail_config jail;
	} j = { .seccomp = !cfg->no_seccomp };
	static const struct json_in_field f[] = {
		{ "console", JIN_ENUM, false, offsetof(struct petrel_json, console), 0, 0, consoles,
		  NULL },
		{ "stealth", JIN_BOOL, false, offsetof(struct petrel_json, stealth), 0, 0, NULL,
		  NULL },
		{ "seccomp", JIN_BOOL, false, offsetof(struct petrel_json, seccomp), 0, 0, NULL,
		  NULL },
		{ "jail", JIN_OBJECT, false, offsetof(struct petrel_json, jail), 0, 0, NULL,
		  read_jail },
	};
	uint64_t present;

	if (json_in_object(v, f, ARRAY_SIZE(f), &j, &present, err, errsz))
		return -EINVAL;
	if ((present & 8) && cfg->jail.dir[0]) {
		snprintf(err, errsz, "`jail`: the command line sets one already");
		return -EINVAL;
	}
	cfg->virtio_console = j.console == 1;
	cfg->stealth = j.stealth;
	cfg->no_seccomp = !j.seccomp;
	if (present & 8) {
		memcpy(cfg->jail.dir, j.jail.dir, sizeof(j.jail.dir));
		cfg->jail.uid = j.jail.uid;
		cfg->jail.gid = j.jail.gid;
	}
	return 0;
}

/* An array section: each element read into the next slot. */
static int read_array(const json_t *v, const char *what, unsigned int max, unsigned int *count,
		      int (*one)(const json_t *, void *, unsigned int, char *, size_t), void *out,
		      char *err, size_t errsz)
{
	size_t i;
	json_t *e;

	*count = 0;
	if (json_is_null(v))
		return 0;
	if (!json_is_array(v)) {
		snprintf(err, errsz, "expected an array");
		return -EINVAL;
	}
	if (json_array_size(v) > max) {
		snprintf(err, errsz, "at most %u %s", max, what);
		return -EINVAL;
	}
	json_array_foreach(v, i, e)
	{
		char inner[JSON_ERR_MAX];

		if (one(e, out, (unsigned int)i, inner, sizeof(inner))) {
			/* "[1]: ...": config_json_document makes it "drives[1]: ...". */
			snprintf(err, errsz, "[%zu]: %.200s", i, inner);
			return -EINVAL;
		}
		(*count)++;
	}
	return 0;
}

static int one_drive(const json_t *e, void *out, unsigned int i, char *err, size_t errsz)
{
	return config_json_drive(e, &((struct disk_config *)out)[i], err, errsz);
}

static int one_net(const json_t *e, void *out, unsigned int i, char *err, size_t errsz)
{
	return config_json_net(e, &((struct net_config *)out)[i], err, errsz);
}

static int one_fs(const json_t *e, void *out, unsigned int i, char *err, size_t errsz)
{
	return config_json_fs(e, &((struct fs_config *)out)[i], err, errsz);
}

/* Firecracker's sections petrel does not have: accepted when empty. */
static int read_unsupported(const json_t *v, char *err, size_t errsz)
{
	if (json_is_null(v) || (json_is_array(v) && !json_array_size(v)))
		return 0;
	snprintf(err, errsz, "not supported by petrel (only null or [] is accepted)");
	return -EINVAL;
}

static int read_section(const char *key, const json_t *v, struct vm_config *cfg,
			const struct vm_config *cli, char *err, size_t errsz)
{
	struct machine_json m;
	uint64_t present;

	if (!strcmp(key, "boot-source"))
		return config_json_boot_source(v, &cfg->boot, err, errsz);
	if (!strcmp(key, "machine-config")) {
		if (json_is_null(v))
			return 0;
		if (config_json_machine(v, false, &m, &present, err, errsz))
			return -EINVAL;
		config_json_apply_machine(cfg, &m, present, false);
		return 0;
	}
	if (!strcmp(key, "drives"))
		return read_array(v, "drives", CONFIG_MAX_DISKS, &cfg->ndisks, one_drive, cfg->disk,
				  err, errsz);
	if (!strcmp(key, "network-interfaces"))
		return read_array(v, "network interfaces", CONFIG_MAX_NETS, &cfg->nnets, one_net,
				  cfg->net, err, errsz);
	if (!strcmp(key, "fs"))
		return read_array(v, "fs shares", CONFIG_MAX_FS, &cfg->nfs, one_fs, cfg->fs, err,
				  errsz);
	if (json_is_null(v) && strcmp(key, "petrel"))
		return 0;
	if (!strcmp(key, "vsock"))
		return config_json_vsock(v, &cfg->vsock, err, errsz);
	if (!strcmp(key, "balloon"))
		return config_json_balloon(v, &cfg->balloon, err, errsz);
	if (!strcmp(key, "entropy"))
		return config_json_entropy(v, &cfg->rng, err, errsz);
	if (!strcmp(key, "logger") || !strcmp(key, "metrics")) {
		if (key[0] == 'l' ? cli->logger.set : cli->metrics.path[0] != 0) {
			snprintf(err, errsz, "the command line configures it already");
			return -EINVAL;
		}
		return key[0] == 'l' ? config_json_logger(v, &cfg->logger, err, errsz)
				     : config_json_metrics(v, &cfg->metrics, err, errsz);
	}
	if (!strcmp(key, "petrel"))
		return json_is_null(v) ? 0 : read_petrel(v, cfg, err, errsz);
	return read_unsupported(v, err, errsz);
}

int config_json_document(const json_t *doc, struct vm_config *cfg, char *err, size_t errsz)
{
	static const char *const keys[] = {
		"boot-source", "machine-config", "drives",     "network-interfaces",
		"vsock",       "balloon",	 "entropy",    "logger",
		"metrics",     "petrel",	 "cpu-config", "mmds-config",
		"pmem",	       "memory-hotplug", "serial",     "fs",
	};
	struct vm_config c = *cfg;
	char inner[JSON_ERR_MAX];
	const char *key;
	json_t *v;

	if (!json_is_object(doc)) {
		snprintf(err, errsz, "expected an object");
		return -EINVAL;
	}
	/* The VM's part comes from the document alone. */
	c.rng.present = false;
	json_object_foreach((json_t *)doc, key, v)
	{
		size_t i;

		for (i = 0; i < ARRAY_SIZE(keys) && strcmp(key, keys[i]); i++)
			;
		if (i == ARRAY_SIZE(keys)) {
			snprintf(err, errsz, "unknown section `%.64s`", key);
			return -EINVAL;
		}
		if (read_section(key, v, &c, cfg, inner, sizeof(inner))) {
			/* An array's entry names itself: "drives[1]: ...". */
			snprintf(err, errsz, "%s%s%s", key, inner[0] == '[' ? "" : ": ", inner);
			return -EINVAL;
		}
	}
	if (!json_object_get(doc, "boot-source")) {
		snprintf(err, errsz, "missing section `boot-source`");
		return -EINVAL;
	}
	*cfg = c;
	return 0;
}

/* The file, whole, bounded; a FIFO or a device is refused (O_NONBLOCK:
 * opening a FIFO must not wait for a writer). 0 or -errno after a line. */
static int read_text(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), err = 0;
	struct stat st;
	char *buf = NULL;
	ssize_t n = 0;

	if (fd < 0) {
		err = -errno;
		log_msg("config file '%s': %s", path, strerror(-err));
		return err;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		log_msg("config file '%s': not a regular file", path);
		err = -EINVAL;
	} else if (st.st_size > CONFIG_JSON_FILE_MAX) {
		log_msg("config file '%s': larger than %d bytes", path, CONFIG_JSON_FILE_MAX);
		err = -EFBIG;
	} else if (!(buf = malloc((size_t)st.st_size + 1))) {
		err = -ENOMEM;
	} else if ((n = pread(fd, buf, (size_t)st.st_size, 0)) != st.st_size) {
		log_msg("config file '%s': read failed", path);
		err = -EIO;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*len = (size_t)n;
	return 0;
}

int config_json_load(const char *path, struct vm_config *cfg)
{
	char err[JSON_ERR_MAX], *text = NULL;
	size_t len = 0;
	json_t *doc;
	int ret = read_text(path, &text, &len);

	if (ret)
		return ret;
	doc = json_in_parse(text, len, err, sizeof(err));
	free(text);
	ret = doc ? config_json_document(doc, cfg, err, sizeof(err)) : -EINVAL;
	json_decref(doc);
	if (ret)
		log_msg("config file '%s': %s", path, err);
	return ret;
}
