/* SPDX-License-Identifier: MIT */
/* Finding a helper program petrel starts (virtiofsd, passt). */
#ifndef PETREL_EXEC_PATH_H
#define PETREL_EXEC_PATH_H

#include <stddef.h>

#include "log.h" /* MUST_CHECK */

/* The program `name`: $`env_var` when that is set and not empty (the answer
 * either way: tests and users pin a binary with it), else the first
 * executable `name` in a directory of $PATH (default /usr/bin:/bin).
 * 0 with the path in out[size], or -ENOENT. */
int exec_path_find(const char *name, const char *env_var, char *out, size_t size) MUST_CHECK;

#endif
