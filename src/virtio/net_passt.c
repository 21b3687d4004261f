/* SPDX-License-Identifier: MIT */
/*
 * The passt backend: user-mode networking without root. petrel starts
 * passt (passt.top; Debian's `passt`) on one end of a socketpair it owns
 * (`passt -f -q --fd 3`, as QEMU's -netdev passt and muvm do); the other
 * end is a given stream link (net_stream_open_fd: the same 4-byte length
 * framing, the same hostile-peer rules). passt answers the guest's DHCP,
 * DNS, ARP and NDP itself, turns its TCP, UDP and ICMP into the host's
 * sockets, and listens on the host's ports given as -t / -u for the guest.
 *
 * Not waited for: posix_spawn returns once passt is exec'd, and frames
 * the guest sends before passt reads wait in the socket. What cannot work
 * is found before the spawn and said in one line: no passt binary, no
 * default route (passt refuses to start without one: "External interface
 * not usable"). What passt says on stderr is read as it comes; when it
 * ends (passt exited: with -f it keeps stderr open until then), petrel
 * reaps it and says in one line how it ended and its last message, and the
 * link stays down. It is not restarted: the event loop's seccomp filter
 * allows no fork or exec (a restart would need a helper process started
 * before the filter). passt exits by itself when petrel closes its end
 * (--fd implies --one-off), also when petrel is killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_path.h"
#include "virtio/net_backend.h"
#include "virtio/virtio.h"

#define PASST_FD 3 /* passt's end of the socketpair, in passt */
#define PASST_LINE_MAX 160

struct net_passt {
	char id[CONFIG_ID_MAX];
	struct evloop *ev;
	struct virtio_dev *dev;
	pid_t pid;
	int errfd;		   /* passt's stderr; -1 once it ended */
	char last[PASST_LINE_MAX]; /* its last line that says something */
	char cur[PASST_LINE_MAX];  /* the line being read */
	size_t cur_len;
};

/* Does the host have a default route (IPv4 or IPv6) on an interface other
 * than lo? passt takes the guest's address and gateway from it, and will
 * not start without one. */
static bool host_has_default_route(void)
{
	char line[256], ifc[64], dst[40], mask[40];
	unsigned int flags, plen;
	bool found = false;
	FILE *f = fopen("/proc/net/route", "re");

	/* Iface Destination Gateway Flags RefCnt Use Metric Mask ... */
	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%63s %39s %*s %x %*s %*s %*s %39s", ifc, dst, &flags, mask) ==
			    4 &&
			!strcmp(dst, "00000000") && !strcmp(mask, "00000000") && (flags & 1) &&
			strcmp(ifc, "lo");
	if (f)
		fclose(f);
	f = found ? NULL : fopen("/proc/net/ipv6_route", "re");
	/* dst plen src splen nexthop metric refcnt use flags iface; an
	 * unreachable default sits on lo with RTF_REJECT (0x200). */
	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%39s %x %*s %*s %*s %*s %*s %*s %x %63s", dst, &plen, &flags,
			       ifc) == 4 &&
			strspn(dst, "0") == 32 && plen == 0 && (flags & 1) && !(flags & 0x200) &&
			strcmp(ifc, "lo");
	if (f)
		fclose(f);
	return found;
}

/* A line from passt: keep it unless it is noise (its syslog is often
 * unreachable; running as root, it says it switches to nobody). */
static void passt_line(struct net_passt *p)
{
	p->cur[p->cur_len] = 0;
	p->cur_len = 0;
	if (!p->cur[0] || !strncmp(p->cur, "Failed to send", 14) ||
	    !strncmp(p->cur, "Don't run as root", 17))
		return;
	memcpy(p->last, p->cur, sizeof(p->last));
}

/* passt's stderr ended: it exited. Reap it and say how, once. */
static void passt_ended(struct net_passt *p)
{
	const char *apparmor = "";
	char how[64];
	int st;

	if (p->cur_len)
		passt_line(p);
	evloop_del(p->ev, p->errfd);
	close(p->errfd);
	p->errfd = -1;
	if (waitpid(p->pid, &st, 0) != p->pid)
		snprintf(how, sizeof(how), "ended");
	else if (WIFSIGNALED(st))
		snprintf(how, sizeof(how), "was killed by signal %d", WTERMSIG(st));
	else
		snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(st));
	p->pid = 0;
	if (strstr(p->last, "ermission denied") || strstr(p->last, "not permitted"))
		apparmor = " (an AppArmor or SELinux policy? see docs/virtio-net.md)";
	log_msg("network interface '%s': passt %s%s%s%s%s; the link is down", p->id, how,
		p->last[0] ? " (" : "", p->last, p->last[0] ? ")" : "", apparmor);
}

static void passt_on_stderr(void *opaque, uint32_t events)
{
	struct net_passt *p = opaque;
	char buf[256];
	ssize_t n;

	(void)events;
	virtio_lock(p->dev);
	n = read(p->errfd, buf, sizeof(buf));
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n')
			passt_line(p);
		else if (p->cur_len < sizeof(p->cur) - 1) /* our one line stays one */
			p->cur[p->cur_len++] = buf[i] >= ' ' && buf[i] < 127 ? buf[i] : '?';
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		passt_ended(p);
	virtio_unlock(p->dev);
}

/* The link is destroyed: its end of the socketpair closes next, on which
 * passt exits; reaped here if it already has (petrel's exit leaves the
 * rest to init). */
static void passt_destroy(void *opaque)
{
	struct net_passt *p = opaque;

	if (p->errfd >= 0) {
		evloop_del(p->ev, p->errfd);
		close(p->errfd);
	}
	if (p->pid > 0)
		(void)waitpid(p->pid, NULL, WNOHANG);
	free(p);
}

/* Start passt on `theirs` (its end of the socketpair) with its stderr on
 * errw. 0 or -errno. */
static int passt_spawn(struct net_passt *p, const char *bin, const struct net_config *cfg,
		       int theirs, int errw)
{
	char fd[12], mtu[12];
	const char *argv[16];
	unsigned int n = 0;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int err;

	snprintf(fd, sizeof(fd), "%d", PASST_FD);
	argv[n++] = "passt";
	argv[n++] = "-f"; /* ours to reap, its stderr ours to read */
	argv[n++] = "-q";
	argv[n++] = "--fd";
	argv[n++] = fd;
	if (cfg->tcp[0]) {
		argv[n++] = "-t";
		argv[n++] = cfg->tcp;
	}
	if (cfg->udp[0]) {
		argv[n++] = "-u";
		argv[n++] = cfg->udp;
	}
	if (cfg->mtu) { /* the MTU its DHCP gives (else 65520) */
		snprintf(mtu, sizeof(mtu), "%u", cfg->mtu);
		argv[n++] = "-m";
		argv[n++] = mtu;
	}
	argv[n] = NULL;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	/* Our fds are close-on-exec; dup2 to another number clears it on the
	 * copies passt keeps: its socket, its stderr, /dev/null for the rest. */
	posix_spawn_file_actions_adddup2(&fa, theirs, PASST_FD);
	posix_spawn_file_actions_adddup2(&fa, errw, 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	err = -posix_spawn(&p->pid, bin, &fa, &attr, (char *const *)argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return err;
}

int net_passt_open(const struct net_backend_host *host, const struct net_config *cfg,
		   struct net_backend **out)
{
	struct net_stream_owner o = { .kind = "passt", .destroy = passt_destroy };
	struct net_passt *p;
	char bin[CONFIG_PATH_MAX];
	int sv[2], ep[2], err;

	if (exec_path_find("passt", "PETREL_PASST", bin, sizeof(bin))) {
		log_msg("network interface '%s': passt: not found on PATH (Debian: apt-get "
			"install passt)",
			cfg->id);
		return -ENOENT;
	}
	if (!host_has_default_route()) {
		log_msg("network interface '%s': passt: this host has no default route, and "
			"passt takes the guest's address and gateway from it (add one, or use "
			"another --net)",
			cfg->id);
		return -ENETUNREACH;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		log_msg("network interface '%s': %s", cfg->id, strerror(ENOMEM));
		return -ENOMEM;
	}
	snprintf(p->id, sizeof(p->id), "%s", cfg->id);
	p->ev = host->ev;
	p->dev = host->dev;
	p->errfd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		err = -errno;
		goto err_free;
	}
	if (pipe2(ep, O_CLOEXEC)) {
		err = -errno;
		goto err_sv;
	}
	/* passt's end must not already be fd 3: dup2 onto itself keeps
	 * close-on-exec. */
	if (sv[1] == PASST_FD || ep[1] == PASST_FD) {
		int moved = fcntl(PASST_FD, F_DUPFD_CLOEXEC, PASST_FD + 1);

		if (moved < 0) {
			err = -errno;
			goto err_ep;
		}
		close(PASST_FD);
		*(sv[1] == PASST_FD ? &sv[1] : &ep[1]) = moved;
	}
	err = passt_spawn(p, bin, cfg, sv[1], ep[1]);
	if (err)
		goto err_ep;
	close(sv[1]);
	close(ep[1]);
	p->errfd = ep[0];
	if (fcntl(ep[0], F_SETFL, O_NONBLOCK) ||
	    (err = evloop_add(host->ev, ep[0], EPOLLIN, passt_on_stderr, p))) {
		err = err ? err : -errno;
		goto err_spawned;
	}
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK)) {
		err = -errno;
		goto err_watched;
	}
	o.opaque = p;
	/* From here on the link owns sv[0] and, once open, p. */
	err = net_stream_open_fd(host, cfg->id, sv[0], &o, out);
	if (err) {
		passt_destroy(p);
		return err;
	}
	return 0;

err_watched:
	evloop_del(host->ev, ep[0]);
err_spawned:
	close(sv[0]); /* passt exits on this; whoever reaps it is init */
	close(ep[0]);
	free(p);
	log_msg("network interface '%s': passt: %s", cfg->id, strerror(-err));
	return err;
err_ep:
	close(ep[0]);
	close(ep[1]);
err_sv:
	close(sv[0]);
	close(sv[1]);
err_free:
	free(p);
	log_msg("network interface '%s': passt: %s", cfg->id, strerror(-err));
	return err;
}
