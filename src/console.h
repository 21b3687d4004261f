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

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct vm;
struct console;

/* Create COM1 on vm's port bus and connect it to stdin/stdout. 0 or
 * -errno after a message. */
int console_create(struct vm *vm, struct console **out) MUST_CHECK;

/* Guest output from any console device (COM1, virtio-console, the
 * console hypercall): to stdout as it comes. Thread-safe. */
void console_write(struct console *c, const void *buf, size_t len);

/* All `len` bytes of buf to fd, across short writes and EINTR, except an
 * EINTR once *stop is set: a vCPU blocked on an output nobody drains
 * (a full pipe, a stopped terminal) must not keep a stopping VM alive;
 * the stop's kick interrupts the write (see vcpu_destroy). 0, or -errno
 * (-EINTR: stopped, -EIO: the write returned 0). */
int console_write_all(int fd, const void *buf, size_t len, const atomic_bool *stop) MUST_CHECK;

/* Host input goes to COM1 unless another device takes it: when input is
 * readable, the event loop calls `pull(dev, fill, c)`, and the device
 * calls fill(c, buf, room) for as many bytes as it has room for (fill
 * returns how many it stored, 0 at EOF or when nothing is pending). */
typedef size_t (*console_fill_fn)(void *c, uint8_t *buf, size_t room);
void console_set_input(struct console *c, void (*pull)(void *dev, console_fill_fn fill, void *c),
		       void *dev);

/* The input device has room (true) or none (false): start or stop
 * watching stdin, so input waits in the host's pipe or tty buffer. */
void console_input_wanted(struct console *c, bool wanted);

/* Restore the terminal and free. NULL is fine. */
void console_destroy(struct console *c);

#endif
