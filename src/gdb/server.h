/* SPDX-License-Identifier: MIT */
/*
 * The gdb stub's connection and KVM side: a listening socket (--gdb), one
 * gdb at a time, on the VMM thread's event loop. Stops go through the
 * VM's pause (vm_pause/vm_resume); a vCPU's KVM_EXIT_DEBUG reaches it
 * through the vCPU environment's generic debug hook and an eventfd.
 */
#ifndef PETREL_GDB_SERVER_H
#define PETREL_GDB_SERVER_H

#include "log.h"
#include "netaddr.h"

struct vm;
struct evloop;
struct gdb_server;

/* Parse a --gdb value: a unix socket PATH, or "tcp:[HOST:]PORT" (HOST
 * defaults to 127.0.0.1; a numeric IPv4 or [IPv6] address). 0 or -EINVAL. */
int gdb_addr_parse(const char *spec, struct netaddr *a) MUST_CHECK;

/* Listen on `spec` for vm (created, its vCPUs too, not started: the caller
 * starts it paused, and it stays so until gdb resumes it). Watches join
 * `ev`. 0 or -errno after one message; *out freed by gdb_server_destroy. */
int gdb_server_create(struct gdb_server **out, struct vm *vm, struct evloop *ev,
		      const char *spec) MUST_CHECK;

/* Close the sockets (a unix socket's file is removed) and free. NULL ok. */
void gdb_server_destroy(struct gdb_server *g);

#endif
