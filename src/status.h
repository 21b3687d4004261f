/* SPDX-License-Identifier: MIT */
/* Exit statuses of `petrel run` (documented in README and --help). */
#ifndef PETREL_STATUS_H
#define PETREL_STATUS_H

enum vm_status {
	VM_STATUS_OFF = 0,	    /* guest powered off or rebooted */
	VM_STATUS_ERROR = 1,	    /* bad input, host error */
	VM_STATUS_USAGE = 2,	    /* malformed command line */
	VM_STATUS_TRIPLE_FAULT = 3, /* KVM_EXIT_SHUTDOWN */
	VM_STATUS_KVM_ERROR = 4,    /* internal error, emulation failure, failed entry */
	VM_STATUS_PANIC = 5,	    /* guest reported a panic (pvpanic) */
	VM_STATUS_SIGNAL = 128,	    /* + N: stopped by host signal N */
};

#endif
