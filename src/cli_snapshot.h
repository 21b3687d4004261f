/* SPDX-License-Identifier: MIT */
/*
 * `petrel snapshot [--diff] SOCK STATE MEM`: snapshot the VM of a running
 * petrel from the shell, through its REST API on SOCK (the requests a
 * curl user would make): pause it if it runs, PUT /snapshot/create (Full,
 * or Diff) with STATE and MEM made absolute (the server's working
 * directory is not ours), resume it if it was running, even after a
 * failed create.
 *
 * `petrel snapshot-merge BASE_MEM DIFF_MEM`: apply a diff snapshot's
 * memory file onto its base (snapshot/memfile.h), in place.
 */
#ifndef PETREL_CLI_SNAPSHOT_H
#define PETREL_CLI_SNAPSHOT_H

#include <stdbool.h>

/* Returns the exit status: 0 after one line on stdout, or 1 after one
 * line on stderr (the API's fault_message, or what went wrong talking to
 * it). */
int cli_snapshot_run(const char *sock, const char *state, const char *mem, bool diff);

/* The same statuses: 0 after one line on stdout, 1 after one on stderr
 * naming the file and the problem. */
int cli_snapshot_merge(const char *base, const char *diff);

/* `petrel migrate SOCK DEST [DOWNTIME_MS]`: PUT /migrate to the petrel
 * serving SOCK (DEST unix:PATH made absolute, or tcp:HOST:PORT;
 * DOWNTIME_MS 1..60000 or NULL: the API's default); the same exit
 * statuses and lines. */
int cli_migrate_run(const char *sock, const char *dest, const char *downtime_ms);

#endif
