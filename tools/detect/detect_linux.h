/* SPDX-License-Identifier: MIT */
/* petrel-detect's Linux checks: what the kernel shows of the machine. */
#ifndef PETREL_DETECT_LINUX_H
#define PETREL_DETECT_LINUX_H

#include "detect.h"

/*
 * Look at DMI strings, ACPI tables, virtio and PCI devices, MAC addresses,
 * /proc/cpuinfo and the clocksources under `root` ("/" normally; a fake
 * tree in the unit tests) and add the evidence to r. Files that are
 * missing or unreadable are skipped (an unreadable ACPI directory is
 * reported: reading the tables needs root).
 */
void detect_linux_scan(struct detect_report *r, const char *root);

#endif
