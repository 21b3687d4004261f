/* SPDX-License-Identifier: MIT */
/*
 * The gdb stub's socket and KVM target: see server.h. Everything here
 * runs on the VMM thread except gdb_on_debug_exit (a vCPU thread), which
 * only records the exit under `lock`, parks its vCPU and wakes the loop.
 * The vCPUs' registers are read and written only while the VM is paused
 * (a vCPU ioctl waits for KVM_RUN to return).
 */
#include "gdb/server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "arch/x86/pagewalk.h"
#include "evloop.h"
#include "gdb/stub.h"
#include "status.h"
#include "uds.h"
#include "vmm.h"

#ifndef KVM_GUESTDBG_BLOCKIRQ
#define KVM_GUESTDBG_BLOCKIRQ 0x00100000
#endif

struct gdb_server {
	struct vm *vm;
	struct evloop *ev;
	int listen_fd, conn_fd, event_fd;
	struct netaddr addr;
	uint32_t dbg_caps; /* KVM_CAP_SET_GUEST_DEBUG2's mask, 0: unknown */
	struct gdb_stub stub;
	pthread_mutex_t lock; /* the recorded exit, shared with vCPU threads */
	bool have_exit;
	unsigned int exit_cpu;
	struct kvm_debug_exit_arch exit;
};

int gdb_addr_parse(const char *spec, struct netaddr *a)
{
	char buf[160];

	if (!spec[0])
		return -EINVAL;
	if (strncmp(spec, "tcp:", 4))
		return snprintf(buf, sizeof(buf), "unix:%s", spec) >= (int)sizeof(buf)
			   ? -EINVAL
			   : netaddr_parse(buf, NETADDR_UNIX, a);
	/* "tcp:PORT" and QEMU's "tcp::PORT": the loopback address. */
	if (!strchr(spec + 4, ':') || spec[4] == ':')
		snprintf(buf, sizeof(buf), "tcp:127.0.0.1:%s", spec + 4 + (spec[4] == ':'));
	else if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf))
		return -EINVAL;
	return netaddr_parse(buf, NETADDR_TCP, a);
}

/* Target operations. */

static unsigned int t_ncpus(void *t)
{
	return ((struct gdb_server *)t)->vm->ncpus;
}

/* A stopped vCPU's state, as the register file is built from. */
struct cpu_state {
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_fpu f;
};

static int get_state(int fd, struct cpu_state *c)
{
	if (ioctl(fd, KVM_GET_REGS, &c->r) || ioctl(fd, KVM_GET_SREGS, &c->s) ||
	    ioctl(fd, KVM_GET_FPU, &c->f))
		return -errno;
	return 0;
}

static int t_read_regs(void *t, unsigned int cpu, uint8_t *regs)
{
	struct cpu_state c;
	int err = get_state(((struct gdb_server *)t)->vm->vcpu[cpu].fd, &c);

	if (!err)
		gdbx86_from_kvm(regs, &c.r, &c.s, &c.f);
	return err;
}

static int t_write_regs(void *t, unsigned int cpu, const uint8_t *regs)
{
	int fd = ((struct gdb_server *)t)->vm->vcpu[cpu].fd;
	struct cpu_state c;
	int err = get_state(fd, &c);

	if (err)
		return err;
	gdbx86_to_kvm(regs, &c.r, &c.s, &c.f);
	if (ioctl(fd, KVM_SET_REGS, &c.r) || ioctl(fd, KVM_SET_SREGS, &c.s) ||
	    ioctl(fd, KVM_SET_FPU, &c.f))
		return -errno;
	return 0;
}

static int walk_regs(struct gdb_server *g, unsigned int cpu, struct pagewalk_regs *w)
{
	struct kvm_sregs s;

	if (ioctl(g->vm->vcpu[cpu].fd, KVM_GET_SREGS, &s))
		return -errno;
	*w = (struct pagewalk_regs){ .cr0 = s.cr0, .cr3 = s.cr3, .cr4 = s.cr4, .efer = s.efer };
	return 0;
}

static int t_read_mem(void *t, unsigned int cpu, uint64_t gva, void *buf, size_t len)
{
	struct gdb_server *g = t;
	struct pagewalk_regs w;
	int err = walk_regs(g, cpu, &w);

	return err ? err : pagewalk_read(&g->vm->gm, &w, gva, buf, len);
}

static int t_write_mem(void *t, unsigned int cpu, uint64_t gva, const void *buf, size_t len)
{
	struct gdb_server *g = t;
	struct pagewalk_regs w;
	int err = walk_regs(g, cpu, &w);

	return err ? err : pagewalk_write(&g->vm->gm, &w, gva, buf, len);
}

static int t_translate(void *t, unsigned int cpu, uint64_t gva, uint64_t *gpa)
{
	struct gdb_server *g = t;
	struct pagewalk_regs w;
	uint64_t left;
	gpa_t pa;
	int err = walk_regs(g, cpu, &w);

	if (!err)
		err = pagewalk_translate(&g->vm->gm, &w, gva, &pa, &left);
	if (!err)
		*gpa = pa;
	return err;
}

static int set_debug(struct gdb_server *g, const struct gdb_debug *d)
{
	for (unsigned int i = 0; i < g->vm->ncpus; i++) {
		struct kvm_guest_debug dbg = { 0 };

		if (d) {
			dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
			if (d->sw_bp)
				dbg.control |= KVM_GUESTDBG_USE_SW_BP;
			if (d->step_cpu == (int)i) {
				dbg.control |= KVM_GUESTDBG_SINGLESTEP;
				/* No interrupt handler in the middle of a step. */
				if (g->dbg_caps & KVM_GUESTDBG_BLOCKIRQ)
					dbg.control |= KVM_GUESTDBG_BLOCKIRQ;
			}
			if (d->inject_cpu == (int)i)
				dbg.control |= d->inject_vec == 3 ? KVM_GUESTDBG_INJECT_BP
								  : KVM_GUESTDBG_INJECT_DB;
			memcpy(dbg.arch.debugreg, d->dr, sizeof(d->dr));
			dbg.arch.debugreg[7] = d->dr7;
		}
		if (ioctl(g->vm->vcpu[i].fd, KVM_SET_GUEST_DEBUG, &dbg))
			return -errno;
	}
	return 0;
}

static int t_resume(void *t, const struct gdb_debug *d)
{
	struct gdb_server *g = t;
	int err = set_debug(g, d);

	if (err)
		return err;
	pthread_mutex_lock(&g->lock);
	g->have_exit = false;
	pthread_mutex_unlock(&g->lock);
	vm_resume(g->vm);
	return 0;
}

static void t_interrupt(void *t)
{
	struct gdb_server *g = t;

	if (vm_pause(g->vm)) {
		log_msg("gdb: the VM did not stop for Ctrl-C");
		return;
	}
	gdb_stub_interrupted(&g->stub, 0);
}

static void t_detach(void *t)
{
	struct gdb_server *g = t;

	if (set_debug(g, NULL))
		log_msg("gdb: clearing the vCPUs' debug state: %m");
	vm_resume(g->vm);
}

static void t_kill(void *t)
{
	vm_stop(((struct gdb_server *)t)->vm, VM_STATUS_OFF, "killed by gdb");
}

/* Never blocks the VMM thread: a gdb that does not read its replies is
 * dropped. */
static int t_send(void *t, const void *buf, size_t len)
{
	struct gdb_server *g = t;
	const char *p = buf;

	while (len) {
		ssize_t n = send(g->conn_fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static const struct gdb_target_ops kvm_target = {
	.ncpus = t_ncpus,
	.read_regs = t_read_regs,
	.write_regs = t_write_regs,
	.read_mem = t_read_mem,
	.write_mem = t_write_mem,
	.translate = t_translate,
	.resume = t_resume,
	.interrupt = t_interrupt,
	.detach = t_detach,
	.kill = t_kill,
	.send = t_send,
};

/* vCPU thread: keep the first exit, park, wake the loop. */
static void gdb_on_debug_exit(void *opaque, struct vcpu *vcpu)
{
	struct gdb_server *g = opaque;
	uint64_t one = 1;

	pthread_mutex_lock(&g->lock);
	if (!g->have_exit) {
		g->have_exit = true;
		g->exit_cpu = vcpu->id;
		g->exit = vcpu->run->debug.arch;
	}
	pthread_mutex_unlock(&g->lock);
	atomic_store(&vcpu->env->pause, true);
	if (write(g->event_fd, &one, sizeof(one)) < 0)
		log_msg("gdb: eventfd: %m");
}

static void close_conn(struct gdb_server *g)
{
	if (g->conn_fd < 0)
		return;
	(void)evloop_del(g->ev, g->conn_fd);
	close(g->conn_fd);
	g->conn_fd = -1;
}

/* The peer left or misbehaved: the guest goes on without a debugger. */
static void drop_conn(struct gdb_server *g, const char *why)
{
	log_info("gdb: %s; the guest runs on", why);
	if (!g->stub.gone) {
		if (g->stub.running && vm_pause(g->vm))
			log_msg("gdb: the VM did not stop to remove breakpoints");
		gdb_stub_disconnect(&g->stub);
	}
	close_conn(g);
}

static void on_conn(void *opaque, uint32_t events)
{
	struct gdb_server *g = opaque;
	uint8_t buf[4096];
	ssize_t n = recv(g->conn_fd, buf, sizeof(buf), MSG_DONTWAIT);

	(void)events;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop_conn(g, "the debugger disconnected");
		return;
	}
	if (gdb_stub_input(&g->stub, buf, (size_t)n))
		drop_conn(g, "session ended");
}

static void on_accept(void *opaque, uint32_t events)
{
	struct gdb_server *g = opaque;
	int fd = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), one = 1;

	(void)events;
	if (fd < 0)
		return;
	if (g->conn_fd >= 0) {
		close(fd); /* one debugger at a time */
		return;
	}
	if (g->addr.scheme == NETADDR_TCP)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (evloop_add(g->ev, fd, EPOLLIN, on_conn, g)) {
		close(fd);
		return;
	}
	g->conn_fd = fd;
	/* Attaching stops the guest wherever it is (as QEMU does). */
	if (vm_pause(g->vm)) {
		drop_conn(g, "the VM did not stop for the debugger");
		return;
	}
	gdb_stub_init(&g->stub, &kvm_target, g);
	log_info("gdb: debugger attached");
}

static void on_event(void *opaque, uint32_t events)
{
	struct gdb_server *g = opaque;
	struct kvm_debug_exit_arch e;
	unsigned int cpu;
	uint64_t v;
	bool have;

	(void)events;
	if (read(g->event_fd, &v, sizeof(v)) < 0)
		return;
	/* An exit recorded before a resume (which clears it) is stale: its
	 * vCPU runs again (the int3 or breakpoint fires again if still
	 * there). Only this thread clears have_exit. */
	pthread_mutex_lock(&g->lock);
	have = g->have_exit;
	e = g->exit;
	cpu = g->exit_cpu;
	pthread_mutex_unlock(&g->lock);
	if (!have)
		return;
	if (vm_pause(g->vm)) {
		log_msg("gdb: the VM did not stop at a debug exit");
		return;
	}
	if (g->conn_fd < 0 || g->stub.gone || !g->stub.running) {
		/* No debugger (any more): a leftover exit; the guest goes on. */
		if (g->conn_fd < 0 || g->stub.gone)
			t_detach(g);
		return;
	}
	if (gdb_stub_debug_exit(&g->stub, cpu, e.exception, e.pc, e.dr6))
		return;
	if (gdb_stub_resume_foreign(&g->stub, cpu, e.exception))
		drop_conn(g, "resuming after the guest's own exception failed");
}

static int listen_on(struct gdb_server *g)
{
	const struct sockaddr *sa = (const struct sockaddr *)&g->addr.sa;
	int one = 1, err;

	g->listen_fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (g->listen_fd < 0)
		return -errno;
	if (sa->sa_family == AF_UNIX) {
		err = uds_bind(g->listen_fd, (const struct sockaddr_un *)sa);
	} else {
		(void)setsockopt(g->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		err = bind(g->listen_fd, sa, g->addr.len) ? -errno : 0;
	}
	if (!err && listen(g->listen_fd, 1))
		err = -errno;
	return err;
}

int gdb_server_create(struct gdb_server **out, struct vm *vm, struct evloop *ev, const char *spec)
{
	struct gdb_server *g = calloc(1, sizeof(*g));
	int err, caps;

	if (!g)
		return -ENOMEM;
	*g = (struct gdb_server){ .vm = vm, .ev = ev, .listen_fd = -1, .conn_fd = -1 };
	pthread_mutex_init(&g->lock, NULL);
	err = gdb_addr_parse(spec, &g->addr);
	if (err) {
		log_msg("--gdb '%s': not a unix socket path or tcp:[HOST:]PORT", spec);
		goto err_free;
	}
	err = listen_on(g);
	if (err) {
		log_msg("--gdb '%s': %s", spec, uds_strerror(err));
		goto err_listen;
	}
	g->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (g->event_fd < 0) {
		err = -errno;
		log_msg("gdb: eventfd: %s", strerror(-err));
		goto err_listen;
	}
	err = evloop_add(ev, g->listen_fd, EPOLLIN, on_accept, g);
	if (!err)
		err = evloop_add(ev, g->event_fd, EPOLLIN, on_event, g);
	if (err) {
		log_msg("gdb: event loop: %s", strerror(-err));
		goto err_event;
	}
	caps = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG2);
	g->dbg_caps = caps > 0 ? (uint32_t)caps : 0;
	vm->vcpu_env.debug = gdb_on_debug_exit;
	vm->vcpu_env.debug_opaque = g;
	gdb_stub_init(&g->stub, &kvm_target, g);
	g->stub.gone = true; /* no debugger yet */
	*out = g;
	return 0;

err_event:
	close(g->event_fd);
err_listen:
	if (g->listen_fd >= 0)
		close(g->listen_fd);
err_free:
	pthread_mutex_destroy(&g->lock);
	free(g);
	return err;
}

void gdb_server_destroy(struct gdb_server *g)
{
	if (!g)
		return;
	close_conn(g);
	close(g->event_fd);
	close(g->listen_fd);
	if (g->addr.scheme == NETADDR_UNIX)
		unlink(((struct sockaddr_un *)&g->addr.sa)->sun_path);
	pthread_mutex_destroy(&g->lock);
	free(g);
}
