/* SPDX-License-Identifier: MIT */
/* petrel: the command-line entry point. Only main exits the process. */
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "cli_firecracker.h"
#include "cli_snapshot.h"
#include "config_json.h"
#include "control.h"
#include "json_in.h"
#include "metrics_signal.h"
#include "sandbox/jail.h"
#include "snapshot/snapshot.h"

/* If we were started with stdin, stdout or stderr closed, the next open()
 * would take its number and guest output could land in /dev/kvm's fd. */
static void std_fds_open(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			_exit(VM_STATUS_ERROR);
}

static int run(struct run_options *o, uint64_t start_ns)
{
	static struct control ctl; /* large (the configuration's paths): not on the stack */
	struct control_options copt = { .id = o->id,
					.api_sock = o->api_sock,
					.max_payload = o->max_payload,
					.start_ns = start_ns };
	struct jail jail;
	int status, err;

	if (o->config_file && config_json_load(o->config_file, &o->cfg))
		return VM_STATUS_ERROR;
	/* Judged before anything is opened or forked, so a mistake is one
	 * line from one process (control_start judges it again, for the
	 * API's configurations). */
	if (o->start && config_check(&o->cfg))
		return VM_STATUS_ERROR;
	/* The jail's fork comes before /dev/kvm is opened, its other stages
	 * after every fd is open and before any thread starts (jail.h). */
	if (o->cfg.jail.dir[0]) {
		if (!o->start) {
			log_msg("--jail: needs the VM from the command line or --config-file (it "
				"is built before the jail closes)");
			return VM_STATUS_ERROR;
		}
		status = jail_fork(&jail, &o->cfg.jail, o->cfg.mem_size, o->cfg.cpus);
		if (status != JAIL_CHILD)
			return status >= 0 ? status : VM_STATUS_ERROR;
		copt.jail = &jail;
	}
	if (control_init(&ctl, &o->cfg, &copt))
		return VM_STATUS_ERROR;
	/* Started at once (flags or a config file), restored from a snapshot,
	 * or configured through the API first. */
	if (o->restore) {
		struct snapshot_load_params p = {
			.state_path = o->restore_state,
			.mem_path = o->restore_uffd ? NULL : o->restore_mem,
			.uffd_path = o->restore_uffd ? o->restore_mem : NULL,
		};

		err = control_restore(&ctl, &p, !o->restore_paused);
	} else if (o->incoming) {
		err = control_incoming(&ctl, o->incoming);
	} else {
		err = o->start ? control_start(&ctl) : control_serve(&ctl);
	}
	if (err && ctl.state == CONTROL_NOT_STARTED)
		status = VM_STATUS_ERROR;
	else
		status = control_run(&ctl);
	control_destroy(&ctl);
	return status;
}

int main(int argc, char **argv)
{
	static struct run_options opts;
	struct timespec start;
	struct jail jail;
	int status;

	clock_gettime(CLOCK_MONOTONIC, &start);
	std_fds_open();
	json_in_seed();
	/* SIGSYS for the seccomp filters; SIGPIPE counted, not a kill (a
	 * closed stdout is an error to report). */
	if (metrics_signal_install())
		return VM_STATUS_ERROR;
	switch (cli_parse(argc, argv, &opts)) {
	case CLI_HELP:
		cli_print_help();
		return 0;
	case CLI_RUN_HELP:
		cli_print_run_help();
		return 0;
	case CLI_VERSION:
		printf("petrel %s\n", PETREL_VERSION);
		return 0;
	case CLI_FC_HELP:
		cli_fc_print_help();
		return 0;
	case CLI_FC_VERSION:
		cli_fc_print_version();
		return 0;
	case CLI_CHECK:
		return check_run();
	case CLI_SNAPSHOT:
		return cli_snapshot_run(opts.snapshot.sock, opts.snapshot.state, opts.snapshot.mem,
					opts.snapshot.diff);
	case CLI_SNAPSHOT_MERGE:
		return cli_snapshot_merge(opts.merge.base, opts.merge.diff);
	case CLI_MIGRATE:
		return cli_migrate_run(opts.migrate.sock, opts.migrate.dest,
				       opts.migrate.downtime_ms);
	case CLI_JAIL:
		status = jail_fork(&jail, &opts.cfg.jail, opts.cfg.mem_size, opts.cfg.cpus);
		if (status != JAIL_CHILD)
			return status >= 0 ? status : VM_STATUS_ERROR;
		if (!jail_enter(&jail, NULL))
			jail_exec(&jail);
		return VM_STATUS_ERROR;
	case CLI_RUN:
		return run(&opts, (uint64_t)start.tv_sec * 1000000000 + (uint64_t)start.tv_nsec);
	default:
		return VM_STATUS_USAGE;
	}
}
