/* SPDX-License-Identifier: MIT */
/* `petrel check` and the KVM capabilities petrel relies on. */
#ifndef PETREL_CHECK_H
#define PETREL_CHECK_H

#include "log.h"

/* Open /dev/kvm and verify the API version. Returns the fd, or -errno after
 * printing one line that says why and what to do. */
int kvm_open(void) MUST_CHECK;

/* 0 if every capability petrel requires is present; else prints the first
 * missing one and returns -ENOTSUP. */
int kvm_require_caps(int kvm_fd) MUST_CHECK;

/* Print the host report; returns the process exit status (0 or 1). */
int check_run(void);

#endif
