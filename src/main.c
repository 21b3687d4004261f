/* SPDX-License-Identifier: MIT */
/* petrel: the command-line entry point. Only main exits the process. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "sandbox/jail.h"
#include "vmm.h"

/* If we were started with stdin, stdout or stderr closed, the next open()
 * would take its number and guest output could land in /dev/kvm's fd. */
static void std_fds_open(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			_exit(VM_STATUS_ERROR);
}

int main(int argc, char **argv)
{
	struct vm_config cfg;
	struct jail jail;
	struct vm vm;
	int status;

	std_fds_open();
	signal(SIGPIPE, SIG_IGN); /* a closed stdout is an error to report, not a kill */
	switch (cli_parse(argc, argv, &cfg)) {
	case CLI_HELP:
		cli_print_help();
		return 0;
	case CLI_VERSION:
		printf("petrel %s\n", PETREL_VERSION);
		return 0;
	case CLI_CHECK:
		return check_run();
	case CLI_JAIL:
		status = jail_fork(&jail, &cfg.jail, cfg.mem_size, cfg.cpus);
		if (status != JAIL_CHILD)
			return status >= 0 ? status : VM_STATUS_ERROR;
		if (!jail_enter(&jail, NULL))
			jail_exec(&jail);
		return VM_STATUS_ERROR;
	case CLI_RUN:
		break;
	default:
		return VM_STATUS_USAGE;
	}
	/* The jail's fork comes before /dev/kvm is opened, its other stages
	 * after every fd is open and before any thread starts (jail.h). */
	if (cfg.jail.dir) {
		status = jail_fork(&jail, &cfg.jail, cfg.mem_size, cfg.cpus);
		if (status != JAIL_CHILD)
			return status >= 0 ? status : VM_STATUS_ERROR;
	}
	if (vm_create(&vm, &cfg))
		return VM_STATUS_ERROR;
	if (cfg.jail.dir && jail_enter(&jail, cfg.vsock.cid ? cfg.vsock.uds : NULL)) {
		vm_destroy(&vm);
		return VM_STATUS_ERROR;
	}
	status = vm_run(&vm);
	vm_destroy(&vm);
	return status;
}
