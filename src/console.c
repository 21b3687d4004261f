/* SPDX-License-Identifier: MIT */
#include "console.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

#include "dev/serial_8250.h"
#include "metrics.h"
#include "petrel/platform.h"
#include "vmm.h"

#define ESCAPE_CHAR 0x01 /* Ctrl-A */

struct console {
	struct vm *vm;
	struct serial *uart;
	int in_fd;
	int out_fd;
	/* What the event loop watches for input: stdin itself, or, when stdin
	 * is a regular file (which epoll cannot watch), an eventfd that stays
	 * readable, so the file is read whenever the UART has room. */
	int poll_fd;
	int pump_fd;  /* that eventfd, or -1 */
	bool in_open; /* stdin still watched (not at EOF) */
	bool wanted;  /* the input device has room */
	bool paused;  /* the VM is paused: input waits in the host's buffer */
	bool escape;  /* the previous input byte was ESCAPE_CHAR */
	bool raw;     /* we changed the terminal and must restore it */
	/* The device input goes to: COM1 unless console_set_input. */
	void (*pull)(void *dev, console_fill_fn fill, void *c);
	void *pull_dev;
	struct termios saved;
	/* COM1's bytes, for the metrics: out (vCPU threads), dropped on
	 * the way out, in (event loop). */
	_Atomic uint64_t uart_out, uart_dropped, uart_in;
};

/* The terminal state to restore from a fatal-signal handler. Only the
 * console that set raw mode writes it, once, before raw mode starts. */
static struct termios crash_termios;
static int crash_tty_fd = -1;

static void console_crash_handler(int sig)
{
	/* tcsetattr is async-signal-safe; the signal is re-raised with the
	 * default action (SA_RESETHAND), so the crash still dumps core. */
	if (crash_tty_fd >= 0)
		tcsetattr(crash_tty_fd, TCSANOW, &crash_termios);
	raise(sig);
}

static void console_raw(struct console *c)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGQUIT };
	struct sigaction sa = { .sa_handler = console_crash_handler, .sa_flags = SA_RESETHAND };
	struct termios raw;

	if (!isatty(c->in_fd) || tcgetattr(c->in_fd, &c->saved))
		return;
	crash_termios = c->saved;
	crash_tty_fd = c->in_fd;
	sigemptyset(&sa.sa_mask);
	for (unsigned int i = 0; i < ARRAY_SIZE(fatal); i++)
		sigaction(fatal[i], &sa, NULL);
	raw = c->saved;
	cfmakeraw(&raw);
	if (tcsetattr(c->in_fd, TCSANOW, &raw) == 0)
		c->raw = true;
}

int console_write_all(int fd, const void *buf, size_t len, const atomic_bool *stop)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR && !atomic_load(stop))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* console_write, telling whether the bytes went out. */
static bool console_out(struct console *c, const void *buf, size_t len)
{
	static struct log_limit out_log = LOG_LIMIT_INIT(1);
	int err = console_write_all(c->out_fd, buf, len, &c->vm->stopping);

	if (err == -EINTR)
		log_limited(&out_log, "console output: stdout does not drain and the VM is "
				      "stopping; guest output is being dropped");
	else if (err)
		log_limited(&out_log, "console output: %s; guest output is being dropped",
			    strerror(-err));
	return !err;
}

void console_write(struct console *c, const void *buf, size_t len)
{
	console_out(c, buf, len);
}

static void console_tx(void *opaque, uint8_t byte)
{
	struct console *c = opaque;

	if (console_out(c, &byte, 1))
		c->uart_out++;
	else
		c->uart_dropped++;
}

static void console_irq(void *opaque, bool level)
{
	struct console *c = opaque;

	vm_irq_line(c->vm, PETREL_COM1_IRQ, level);
}

static void console_watch(struct console *c)
{
	bool on = c->wanted && !c->paused;

	if (c->in_open && evloop_mod(c->vm->ev, c->poll_fd, on ? EPOLLIN : 0))
		log_msg("console input: epoll: %m");
}

void console_input_wanted(struct console *c, bool wanted)
{
	c->wanted = wanted;
	console_watch(c);
}

static void console_rx_wanted(void *opaque, bool wanted)
{
	struct console *c = opaque;

	if (!c->pull)
		console_input_wanted(c, wanted);
}

/* Called by the input device with its lock held and `room` bytes of
 * space. Reads at most one FIFO's worth (16 bytes) at a time, so input is
 * never read from stdin that the guest has no room for. */
static size_t console_fill(void *opaque, uint8_t *buf, size_t room)
{
	struct console *c = opaque;
	uint8_t in[SERIAL_FIFO_SIZE];
	ssize_t n = read(c->in_fd, in, room < sizeof(in) ? room : sizeof(in));
	size_t out = 0;

	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			c->in_open = false; /* EOF: the guest keeps running */
			evloop_del(c->vm->ev, c->poll_fd);
		}
		return 0;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (!c->raw) {
			buf[out++] = in[i];
		} else if (c->escape) {
			c->escape = false;
			if (in[i] == 'x' || in[i] == 'X')
				vm_stop(c->vm, VM_STATUS_SIGNAL + SIGINT,
					"stopped by user (Ctrl-A x)");
			else if (in[i] == ESCAPE_CHAR)
				buf[out++] = in[i];
		} else if (in[i] == ESCAPE_CHAR) {
			c->escape = true;
		} else {
			buf[out++] = in[i];
		}
	}
	if (!c->pull)
		c->uart_in += out;
	return out;
}

static void console_on_input(void *opaque, uint32_t events)
{
	struct console *c = opaque;

	(void)events;
	if (c->paused) /* an event of the batch that paused */
		return;
	if (c->pull)
		c->pull(c->pull_dev, console_fill, c);
	else
		serial_rx_fill(c->uart, console_fill, c);
}

void console_set_input(struct console *c, void (*pull)(void *dev, console_fill_fn fill, void *c),
		       void *dev)
{
	c->pull = pull;
	c->pull_dev = dev;
}

static const struct serial_ops console_serial_ops = {
	.tx = console_tx,
	.irq = console_irq,
	.rx_wanted = console_rx_wanted,
};

/* Device registry: the console's host input stops while paused (the
 * UART's output and interrupts come from vCPUs, which are parked). */
static void console_pause(void *opaque)
{
	struct console *c = opaque;

	c->paused = true;
	console_watch(c);
}

static void console_resume(void *opaque)
{
	struct console *c = opaque;

	c->paused = false;
	console_watch(c);
}

static void console_free(void *opaque)
{
	console_destroy(opaque);
}

/* Firecracker's uart group: its write_count and read_count count bytes
 * the same way (one per byte out of THR, one per byte into the FIFO). */
static void console_metrics(void *opaque, struct metrics_out *out)
{
	struct console *c = opaque;

	metrics_counter(out, "write_count", c->uart_out);
	metrics_counter(out, "read_count", c->uart_in);
	metrics_counter(out, "missed_write_count", c->uart_dropped);
}

/* COM1's state: the console's own (terminal mode, a pending Ctrl-A) is
 * the host's, not the guest's. */
static int console_snapshot(void *opaque, struct snap *s)
{
	struct console *c = opaque;

	return serial_snapshot(c->uart, s);
}

static const struct device_ops console_dev_ops = {
	.pause = console_pause,
	.resume = console_resume,
	.snapshot = console_snapshot,
	.snapshot_version = 1,
	.metrics = console_metrics,
	.destroy = console_free,
};

int console_create(struct vm *vm, struct console **out)
{
	struct console *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	*c = (struct console){ .vm = vm,
			       .in_fd = STDIN_FILENO,
			       .out_fd = STDOUT_FILENO,
			       .poll_fd = STDIN_FILENO,
			       .pump_fd = -1 };
	c->uart = serial_new(&console_serial_ops, c);
	if (!c->uart) {
		free(c);
		return -ENOMEM;
	}
	if (device_add(&vm->devices, "uart", "uart", NULL, &console_dev_ops, c)) {
		console_destroy(c);
		return -ENOSPC;
	}
	*out = c;
	err = bus_register(&vm->pio, PETREL_COM1_PORT, SERIAL_NR_REGS, serial_io, c->uart, "com1");
	if (err)
		return err;
	err = evloop_add(vm->ev, c->poll_fd, EPOLLIN, console_on_input, c);
	if (err == -EPERM) { /* a regular file */
		c->pump_fd = eventfd(1, EFD_CLOEXEC);
		if (c->pump_fd < 0)
			return -errno;
		c->poll_fd = c->pump_fd;
		err = evloop_add(vm->ev, c->poll_fd, EPOLLIN, console_on_input, c);
	}
	if (err)
		return err;
	c->in_open = true;
	c->wanted = true;
	console_raw(c);
	return 0;
}

void console_destroy(struct console *c)
{
	if (!c)
		return;
	if (c->raw) {
		tcsetattr(c->in_fd, TCSANOW, &c->saved);
		crash_tty_fd = -1;
	}
	if (c->pump_fd >= 0)
		close(c->pump_fd);
	serial_free(c->uart);
	free(c);
}
