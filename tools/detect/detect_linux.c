/* SPDX-License-Identifier: MIT */
#include "detect_linux.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ACPI_TABLE_MAX (1U << 20)

/* Read up to cap - 1 bytes of root/rel into buf, NUL-terminated. Returns
 * the length or -errno. */
static ssize_t read_file(const char *root, const char *rel, char *buf, size_t cap)
{
	char path[PATH_MAX];
	size_t len = 0;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", root, rel) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len + 1 < cap) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	return (ssize_t)len;
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = 0;
}

/* A hex number in root/rel ("0x1af4\n"), or -1. */
static long read_hex(const char *root, const char *rel)
{
	char buf[32], *end;
	long v;

	if (read_file(root, rel, buf, sizeof(buf)) <= 0)
		return -1;
	v = strtol(buf, &end, 16);
	return end == buf ? -1 : v;
}

static void scan_dmi(struct detect_report *r, const char *root)
{
	static const char *const fields[] = { "sys_vendor", "product_name", "board_vendor",
					      "bios_vendor" };
	char rel[64], buf[256];
	bool any = false;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		snprintf(rel, sizeof(rel), "sys/class/dmi/id/%s", fields[i]);
		if (read_file(root, rel, buf, sizeof(buf)) < 0)
			continue;
		any = true;
		chomp(buf);
		if (buf[0])
			detect_dmi(r, fields[i], buf);
	}
	if (!any)
		detect_dmi_missing(r);
}

static void scan_acpi(struct detect_report *r, const char *root)
{
	char dir[PATH_MAX], rel[PATH_MAX];
	struct dirent *d;
	uint8_t *buf;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/sys/firmware/acpi/tables", root);
	dp = opendir(dir);
	if (!dp)
		return;
	buf = malloc(ACPI_TABLE_MAX);
	while (buf && (d = readdir(dp))) {
		ssize_t n;

		if (d->d_name[0] == '.' || strlen(d->d_name) > 16)
			continue;
		snprintf(rel, sizeof(rel), "sys/firmware/acpi/tables/%s", d->d_name);
		n = read_file(root, rel, (char *)buf, ACPI_TABLE_MAX);
		if (n == -EACCES || n == -EPERM) {
			detect_add(r, "acpi", DETECT_INFO, NULL,
				   "tables not readable (run as root to check them)");
			break;
		}
		if (n >= 36)
			detect_acpi_table(r, d->d_name, buf, (size_t)n);
	}
	free(buf);
	closedir(dp);
}

/* Each entry of root/sub: its vendor and device files, handed to fn.
 * Returns how many entries there were. */
static unsigned int scan_bus(struct detect_report *r, const char *root, const char *sub,
			     void (*fn)(struct detect_report *, const char *, uint32_t, uint32_t))
{
	char dir[PATH_MAX], rel[PATH_MAX];
	unsigned int count = 0;
	struct dirent *d;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/%s", root, sub);
	dp = opendir(dir);
	if (!dp)
		return 0;
	while ((d = readdir(dp))) {
		long vendor, device;

		if (d->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof(rel), "%s/%s/vendor", sub, d->d_name);
		vendor = read_hex(root, rel);
		snprintf(rel, sizeof(rel), "%s/%s/device", sub, d->d_name);
		device = read_hex(root, rel);
		if (vendor < 0 || device < 0)
			continue;
		count++;
		fn(r, d->d_name, (uint32_t)vendor, (uint32_t)device);
	}
	closedir(dp);
	return count;
}

static void scan_net(struct detect_report *r, const char *root)
{
	char dir[PATH_MAX], rel[PATH_MAX], mac[32];
	struct dirent *d;
	struct stat st;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/sys/class/net", root);
	dp = opendir(dir);
	if (!dp)
		return;
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		/* Only interfaces backed by a device: not lo, bridges, tunnels. */
		if (snprintf(rel, sizeof(rel), "%s/sys/class/net/%.255s/device", root, d->d_name) >=
			(int)sizeof(rel) ||
		    stat(rel, &st))
			continue;
		snprintf(rel, sizeof(rel), "sys/class/net/%s/address", d->d_name);
		if (read_file(root, rel, mac, sizeof(mac)) <= 0)
			continue;
		chomp(mac);
		detect_mac(r, d->d_name, mac);
	}
	closedir(dp);
}

static void scan_cpuinfo(struct detect_report *r, const char *root)
{
	static char buf[1 << 16];
	char *line;

	if (read_file(root, "proc/cpuinfo", buf, sizeof(buf)) <= 0)
		return;
	for (line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		char *end = strchr(line, '\n');

		if (strncmp(line, "flags", 5))
			continue;
		if (end)
			*end = 0;
		detect_cpuinfo_flags(r, line);
		return;
	}
}

void detect_linux_scan(struct detect_report *r, const char *root)
{
	char buf[512];
	unsigned int before, n;

	scan_dmi(r, root);
	scan_acpi(r, root);
	if (!scan_bus(r, root, "sys/bus/virtio/devices", detect_virtio))
		detect_add(r, "virtio", DETECT_CLEAN, NULL, "no virtio devices");
	before = r->n;
	n = scan_bus(r, root, "sys/bus/pci/devices", detect_pci);
	if (r->n == before)
		detect_add(r, "pci", DETECT_CLEAN, NULL,
			   n ? "no VM vendor among the PCI functions" : "no PCI functions");
	scan_net(r, root);
	scan_cpuinfo(r, root);
	if (read_file(root, "sys/devices/system/clocksource/clocksource0/available_clocksource",
		      buf, sizeof(buf)) > 0)
		detect_clocksources(r, buf);
}
