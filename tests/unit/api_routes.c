/* SPDX-License-Identifier: MIT */
/* Print the routes petrel's API serves (api_routes[]), one per line:
 * "METHOD PATH body" or "METHOD PATH -" (the route takes no body). For
 * tests/unit/openapi-check, which compares them with docs/openapi.yaml. */
#include <stdio.h>

#include "api/routes.h"

int main(void)
{
	for (size_t i = 0; i < api_nroutes; i++)
		printf("%s %s %s\n", http_method_name(api_routes[i].method), api_routes[i].path,
		       api_routes[i].body ? "body" : "-");
	return ferror(stdout) ? 1 : 0;
}
