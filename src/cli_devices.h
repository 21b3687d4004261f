/* SPDX-License-Identifier: MIT */
/* Parsers for the device options' values. Each fills its struct and
 * returns 0, or prints one line naming the problem and returns -1. */
#ifndef PETREL_CLI_DEVICES_H
#define PETREL_CLI_DEVICES_H

#include "config.h"
#include "log.h"

/* PATH or PATH,ro. */
int cli_parse_disk(const char *arg, struct disk_config *d) MUST_CHECK;
/* tap=NAME, stream=unix:PATH|tcp:HOST:PORT[,listen] or
 * dgram=udp:HOST:PORT[,remote=HOST:PORT]; then [,mac=XX:XX:XX:XX:XX:XX]. */
int cli_parse_net(const char *arg, struct net_config *n) MUST_CHECK;
/* tag=NAME,socket=PATH or tag=NAME,dir=PATH[,ro] (a virtio-fs share). */
int cli_parse_fs(const char *arg, struct fs_config *f) MUST_CHECK;
/* cli_parse_fs into the next of cfg->fs (at most CONFIG_MAX_FS). The
 * whole configuration is judged later (config_check_fs). */
int cli_add_fs(const char *arg, struct vm_config *cfg) MUST_CHECK;
/* cid=N,uds=PATH. */
int cli_parse_vsock(const char *arg, struct vsock_config *v) MUST_CHECK;

#endif
