/* SPDX-License-Identifier: MIT */
/* Exits with the status given as "status=N" on the command line. */
#include "rt.h"

int guest_main(void)
{
	char val[16];
	long status;

	printf("exitcode: boot=%s cmdline='%s'\n", boot.kind == BOOT_KIND_PVH ? "pvh" : "linux64",
	       boot.cmdline);
	if (cmdline_get("status", val, sizeof(val)) < 0) {
		printf("exitcode: no status= on the command line\n");
		return 99;
	}
	status = parse_ulong(val);
	if (status < 0 || status > 255) {
		printf("exitcode: bad status '%s'\n", val);
		return 98;
	}
	printf("exitcode: exiting with %ld\n", status);
	return (int)status;
}
