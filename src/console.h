/* SPDX-License-Identifier: MIT */
/*
 * The host side of COM1: guest output to stdout, stdin to the guest. On a
 * terminal, stdin is put in raw mode (restored on every way out, crashes
 * included) and Ctrl-A x stops the VM; Ctrl-A Ctrl-A sends a Ctrl-A. When
 * stdin is a pipe or /dev/null it is read until EOF; output is written
 * byte by byte as the guest sends it, so none is lost if petrel dies.
 */
#ifndef PETREL_CONSOLE_H
#define PETREL_CONSOLE_H

#include <stddef.h>

#include "log.h"

struct vm;
struct console;

/* Create COM1 on vm's port bus and connect it to stdin/stdout. 0 or
 * -errno after a message. */
int console_create(struct vm *vm, struct console **out) MUST_CHECK;

/* Write `len` bytes to the console output, where COM1's output goes, in
 * one write(2) when possible (atomic on a pipe up to PIPE_BUF). Errors are
 * logged once and the bytes dropped, as for COM1. Safe from any thread. */
void console_write(struct console *c, const void *buf, size_t len);

/* Restore the terminal and free. NULL is fine. */
void console_destroy(struct console *c);

#endif
