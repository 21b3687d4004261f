/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec_path.h"

int exec_path_find(const char *name, const char *env_var, char *out, size_t size)
{
	const char *env = getenv(env_var), *path = getenv("PATH");

	if (env && *env) {
		if ((size_t)snprintf(out, size, "%s", env) >= size)
			return -ENOENT;
		return access(out, X_OK) ? -ENOENT : 0;
	}
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		const char *end = strchrnul(p, ':');

		if (end > p &&
		    (size_t)snprintf(out, size, "%.*s/%s", (int)(end - p), p, name) < size &&
		    !access(out, X_OK))
			return 0;
		p = *end ? end + 1 : end;
	}
	return -ENOENT;
}
