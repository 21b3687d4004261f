/* SPDX-License-Identifier: MIT */
#include "sandbox/jail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* File descriptors petrel opens after the jail is entered: one per vsock
 * connection (VSOCK_MAX_CONNS, 256), one per --api client (API_MAX_CLIENTS,
 * 8), and room for accept()s that are then refused. */
#define JAIL_RUNTIME_FDS 384

/* ---- small file helpers ---- */

static int jail_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		err = errno ? -errno : -EIO;
	close(fd);
	return err;
}

/* The file's first size-1 bytes, NUL-terminated. 0 or -errno. */
static int jail_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/* Is `word` one of the space-separated words of `list`? */
static bool jail_has_word(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += len)
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\n' || !p[len]))
			return true;
	return false;
}

/* ---- cgroup ---- */

/*
 * The VM's memory limit (JAIL_MEM_MAX) is guest RAM plus petrel's own
 * memory plus what the kernel charges to the cgroup for it. Measured (the
 * static petrel, peak RSS through wait4, guest pages included): 1.3 MiB
 * for a 32 MiB or a 1 GiB guest that touches little, 4 vCPUs or one; 5.8
 * MiB with virtio_blk's 4 MiB of I/O. Kernel objects of a 4-vCPU VM with
 * a disk (Slab, PageTables, SecPageTables, KernelStack in /proc/meminfo,
 * before and during): under 1 MiB. What grows: page tables for guest RAM
 * (8 bytes per 4 KiB page and level: mem / 256 covers them) and socket
 * buffers, charged to the cgroup: up to 256 vsock connections of ~208 KiB
 * (net.core.wmem_default) each, 52 MiB. Hence 64 MiB + mem / 256.
 */
/* Every way this can fail (no cgroup v2, no controllers, a read-only
 * mount, no delegation) is logged in one line, and the jail goes on
 * without limits: returns nothing. */
static void jail_cgroup_setup(struct jail *j, uint64_t mem, unsigned int cpus)
{
	char self[512], base[600], list[256], path[700], v[64];
	char *rel;
	struct statfs fs;
	int err;

	if (statfs("/sys/fs/cgroup", &fs) || fs.f_type != CGROUP2_SUPER_MAGIC) {
		log_msg("jail: /sys/fs/cgroup is not a cgroup v2 mount; no memory or CPU limit");
		return;
	}
	/* "0::/path" is this process's cgroup in the v2 hierarchy. */
	err = jail_read_file("/proc/self/cgroup", self, sizeof(self));
	rel = err ? NULL : strstr(self, "0::/");
	if (!rel || (rel != self && rel[-1] != '\n')) {
		log_msg("jail: no cgroup v2 entry in /proc/self/cgroup; no memory or CPU limit");
		return;
	}
	rel += 3;
	rel[strcspn(rel, "\n")] = '\0';
	snprintf(base, sizeof(base), "/sys/fs/cgroup%s", strcmp(rel, "/") ? rel : "");

	snprintf(path, sizeof(path), "%s/cgroup.controllers", base);
	if (jail_read_file(path, list, sizeof(list)) || !jail_has_word(list, "memory") ||
	    !jail_has_word(list, "cpu")) {
		log_msg("jail: cgroup '%s' does not offer the memory and cpu controllers; no "
			"memory or CPU limit",
			base);
		return;
	}
	/* Enabling them for children needs a cgroup with no processes of its
	 * own (cgroup v2's rule), except the root: where petrel runs
	 * elsewhere, the write fails with EBUSY and it says so. */
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", base);
	err = jail_read_file(path, list, sizeof(list));
	if (!err && (!jail_has_word(list, "memory") || !jail_has_word(list, "cpu")))
		err = jail_write_file(path, "+memory +cpu");
	if (err) {
		log_msg("jail: cannot enable memory and cpu in '%s': %s; no memory or CPU limit",
			path, strerror(-err));
		return;
	}
	snprintf(j->cgroup, sizeof(j->cgroup), "%s/petrel-%d", base, (int)getpid());
	if (mkdir(j->cgroup, 0755) && errno != EEXIST) {
		err = -errno;
		goto err;
	}
	snprintf(path, sizeof(path), "%s/memory.max", j->cgroup);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)JAIL_MEM_MAX(mem));
	err = jail_write_file(path, v);
	if (!err) {
		snprintf(path, sizeof(path), "%s/cpu.max", j->cgroup);
		snprintf(v, sizeof(v), "%llu 100000", cpus * 100000ULL);
		err = jail_write_file(path, v);
	}
	if (err)
		goto err_rmdir;
	return;

err_rmdir:
	rmdir(j->cgroup);
err:
	log_msg("jail: cgroup '%s': %s; no memory or CPU limit", j->cgroup, strerror(-err));
	j->cgroup[0] = '\0';
	return;
}

/* The child moves itself in before it allocates anything: memory is
 * charged to the cgroup a page was first touched in. */
static void jail_cgroup_join(struct jail *j)
{
	char path[700];
	int err;

	if (!j->cgroup[0])
		return;
	snprintf(path, sizeof(path), "%s/cgroup.procs", j->cgroup);
	err = jail_write_file(path, "0");
	if (err)
		log_msg("jail: joining cgroup '%s': %s; no memory or CPU limit", j->cgroup,
			strerror(-err));
}

/* ---- stage 1: fork ---- */

/* LeakSanitizer's check at exit reads /proc/self and ptraces the threads;
 * in the jail it loops forever (measured: minutes of CPU, no exit). */
#if defined(__SANITIZE_ADDRESS__)
#define JAIL_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JAIL_SANITIZER_BUILD 1
#endif
#endif

static int jail_check(const struct jail_config *cfg)
{
	struct stat st;
	char *real;
	bool is_root;

	if (cfg->uid == 0 || cfg->gid == 0) {
		log_msg("jail: --%s 0 is root; the jail needs an unprivileged id",
			cfg->uid == 0 ? "uid" : "gid");
		return -EINVAL;
	}
	if (geteuid() != 0) {
		log_msg("jail: needs root (petrel runs as uid %u)", (unsigned int)geteuid());
		return -EPERM;
	}
	if (stat(cfg->dir, &st)) {
		log_msg("--jail '%s': %s", cfg->dir, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_msg("--jail '%s': %s", cfg->dir, strerror(ENOTDIR));
		return -ENOTDIR;
	}
	real = realpath(cfg->dir, NULL);
	is_root = real && !strcmp(real, "/");
	free(real);
	if (is_root) {
		log_msg("--jail '%s': the jail's root cannot be the host's /", cfg->dir);
		return -EINVAL;
	}
#ifdef JAIL_SANITIZER_BUILD
	log_msg("jail: this is a sanitizer build, whose leak check cannot run in a jail; use "
		"the default build");
	return -ENOTSUP;
#endif
	return 0;
}

/* The parent: forward SIGINT, SIGTERM and SIGHUP (blocked, so they queue
 * for sigwaitinfo) until the child has ended; its status becomes ours. A
 * second one is SIGKILL: a pid namespace's init ignores the signals it has
 * no handler for, even from outside (`petrel jail`'s program is one). */
static int jail_wait(struct jail *j, pid_t child)
{
	bool forwarded = false;
	sigset_t set;
	int ws = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		int sig = sigwaitinfo(&set, NULL);

		if (sig == SIGCHLD) {
			if (waitpid(child, &ws, WNOHANG) == child)
				break;
		} else if (sig > 0) {
			kill(child, forwarded ? SIGKILL : sig);
			forwarded = true;
		}
	}
	if (j->cgroup[0] && rmdir(j->cgroup))
		log_msg("jail: removing cgroup '%s': %s", j->cgroup, strerror(errno));
	return WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
}

/* PR_SET_PDEATHSIG, and whether the parent died before it was set: then
 * the write end of its pipe is closed (getppid() says nothing in a new pid
 * namespace: 0 for PID 1). With `done`, the pipe is closed after. */
static int jail_die_with_parent(struct jail *j, bool done)
{
	struct pollfd pfd = { .fd = j->parent_fd, .events = POLLIN };
	int err = 0;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || poll(&pfd, 1, 0) < 0) {
		err = -errno;
		log_msg("jail: PR_SET_PDEATHSIG: %s", strerror(errno));
	} else if (pfd.revents) {
		err = -ESRCH;
		log_msg("jail: petrel's parent process is gone");
	}
	if (done || err) {
		close(j->parent_fd);
		j->parent_fd = -1;
	}
	return err;
}

int jail_fork(struct jail *j, const struct jail_config *cfg, uint64_t mem, unsigned int cpus)
{
	int err, alive[2];
	sigset_t set;
	pid_t child;

	*j = (struct jail){ .cfg = cfg, .parent_fd = -1 };
	err = jail_check(cfg);
	if (err)
		return err;
	jail_cgroup_setup(j, mem, cpus);
	/* Blocked before the fork, so that none is lost while the child has
	 * no signalfd yet; the child inherits the mask (vm_signals wants it,
	 * jail_exec restores the old one). */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &j->mask);
	/* The parent shares the new mount, ipc and uts namespaces (harmless:
	 * it only waits); the pid namespace is the child's alone. */
	if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS)) {
		err = -errno;
		log_msg("jail: unshare(mount, pid, ipc, uts namespaces): %s", strerror(errno));
		goto err;
	}
	/* Nothing mounted from here on reaches the host, nor the reverse. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		err = -errno;
		log_msg("jail: making the mounts private: %s", strerror(errno));
		goto err;
	}
	/* Descriptors inherited from whoever started petrel (petrel itself
	 * has opened nothing yet): none may lead outside the jail. */
	close_range(3, ~0U, 0);
	if (pipe2(alive, O_CLOEXEC)) {
		err = -errno;
		log_msg("jail: pipe: %s", strerror(errno));
		goto err;
	}
	child = fork();
	if (child < 0) {
		err = -errno;
		log_msg("jail: fork: %s", strerror(errno));
		close(alive[0]);
		close(alive[1]);
		goto err;
	}
	if (child > 0) {
		close(alive[0]);
		return jail_wait(j, child);
	}
	close(alive[1]);
	j->parent_fd = alive[0];

	/* PID 1 of the new namespace: dies with the parent, which cannot
	 * forward a signal any more; its death takes every process of the
	 * namespace along. */
	err = jail_die_with_parent(j, false);
	if (err)
		return err;
	jail_cgroup_join(j);
	j->cgroup[0] = '\0'; /* the parent removes it */
	if (sethostname("petrel", 6))
		log_msg("jail: sethostname: %s", strerror(errno));
	return JAIL_CHILD;

err:
	sigprocmask(SIG_SETMASK, &j->mask, NULL);
	if (j->cgroup[0])
		rmdir(j->cgroup);
	return err;
}

/* ---- stage 2: enter ---- */

static int jail_threads(void)
{
	char status[4096];
	const char *t;

	if (jail_read_file("/proc/self/status", status, sizeof(status)))
		return -1;
	t = strstr(status, "\nThreads:");
	return t ? atoi(t + 9) : -1;
}

/* The highest open descriptor, + 1. */
static int jail_fds_used(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int top = 3;

	if (!d)
		return 1024;
	while ((e = readdir(d)))
		if (atoi(e->d_name) >= top)
			top = atoi(e->d_name) + 1;
	closedir(d);
	return top;
}

/* Mount the directory of socket `uds` read-only at the same path under
 * `root`. The target path is made from uds's own components, one at a
 * time, none a symlink (O_NOFOLLOW): nothing in DIR can redirect the
 * mount elsewhere. */
static int jail_bind_socket_dir(const char *root, const char *uds)
{
	struct mount_attr attr = {
		.attr_set =
		    MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
	};
	char src[CONFIG_UDS_MAX], *comp, *save;
	int tree, at, err;

	snprintf(src, sizeof(src), "%s", uds);
	*strrchr(src, '/') = '\0';
	if (!src[0]) {
		log_msg("--vsock uds '%s': with --jail the socket must be in a directory other "
			"than /",
			uds);
		return -EINVAL;
	}
	tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0 || mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr))) {
		err = -errno;
		log_msg("jail: vsock socket directory '%s': %s", src, strerror(errno));
		goto err_tree;
	}
	at = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (comp = strtok_r(src, "/", &save); at >= 0 && comp; comp = strtok_r(NULL, "/", &save)) {
		int next;

		if (!strcmp(comp, ".") || !strcmp(comp, "..")) {
			errno = EINVAL;
			break;
		}
		if (mkdirat(at, comp, 0755) && errno != EEXIST)
			break;
		next = openat(at, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(at);
		at = next;
	}
	if (at >= 0 && !comp &&
	    !move_mount(tree, "", at, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH))
		err = 0;
	else
		err = -errno;
	if (err)
		log_msg("jail: mounting vsock socket directory under '%s': %s", root,
			strerror(-err));
	if (at >= 0)
		close(at);
err_tree:
	if (tree >= 0)
		close(tree);
	return err;
}

static int jail_root(const char *dir, const char *uds)
{
	int err;

	if (mount(dir, dir, NULL, MS_BIND, NULL)) {
		log_msg("jail: bind-mounting '%s' on itself: %s", dir, strerror(errno));
		return -errno;
	}
	if (uds) {
		err = jail_bind_socket_dir(dir, uds);
		if (err)
			return err;
	}
	/* petrel writes nothing under its root: read-only. nosuid and nodev
	 * too, although without capabilities and with no_new_privs neither
	 * could help. Not noexec: `petrel jail` execs its program there. */
	if (mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL)) {
		log_msg("jail: remounting '%s' read-only, nosuid, nodev: %s", dir, strerror(errno));
		return -errno;
	}
	/* pivot_root(".", "."): the old root ends up mounted on top of the
	 * new one, and is detached from there (pivot_root(2)); nothing of the
	 * host's tree stays reachable. /proc is not mounted: petrel does not
	 * need it once its fds are open. */
	if (chdir(dir) || syscall(SYS_pivot_root, ".", ".") || umount2(".", MNT_DETACH) ||
	    chdir("/")) {
		log_msg("jail: pivot_root into '%s': %s", dir, strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * RLIMIT_CORE 0: a core dump would write guest RAM into a file.
 * RLIMIT_NOFILE: the descriptors open now and JAIL_RUNTIME_FDS more.
 * Not RLIMIT_NPROC: it counts every process and thread of the uid on the
 * whole host, and io_uring sizes its kernel workers (io-wq) by it; a low
 * value stalls or cancels guest I/O. The pid namespace and seccomp bound
 * what petrel can start instead.
 * Not RLIMIT_FSIZE: petrel never grows a disk image, but its stdout and
 * stderr may be a file the guest's console grows without bound.
 */
static int jail_rlimits(int nofile)
{
	struct rlimit core = { 0, 0 }, files = { (rlim_t)nofile, (rlim_t)nofile };

	if (setrlimit(RLIMIT_CORE, &core) || setrlimit(RLIMIT_NOFILE, &files)) {
		log_msg("jail: setrlimit: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* Bounding set and ambient set first (dropping them needs CAP_SETPCAP),
 * then the ids (setresuid away from 0 clears the permitted, effective and
 * ambient sets), then the inheritable set, which nothing clears. */
static int jail_drop_privileges(const struct jail_config *cfg)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3] = { 0 };
	const char *what;
	uid_t ruid, euid, suid;

	what = "dropping the capability bounding set";
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap))
			goto err;
	what = "clearing ambient capabilities";
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0))
		goto err;
	what = "setgroups";
	if (setgroups(0, NULL))
		goto err;
	what = "setresgid";
	if (setresgid(cfg->gid, cfg->gid, cfg->gid))
		goto err;
	what = "setresuid";
	if (setresuid(cfg->uid, cfg->uid, cfg->uid))
		goto err;
	what = "capset";
	if (syscall(SYS_capset, &hdr, caps))
		goto err;
	what = "PR_SET_NO_NEW_PRIVS";
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		goto err;

	what = "checking the result";
	errno = EPERM;
	if (getresuid(&ruid, &euid, &suid) || ruid != cfg->uid || euid != cfg->uid ||
	    suid != cfg->uid || syscall(SYS_capget, &hdr, caps) || caps[0].permitted ||
	    caps[1].permitted || caps[0].effective || caps[1].effective || caps[0].inheritable ||
	    caps[1].inheritable)
		goto err;
	return 0;

err:
	log_msg("jail: %s: %s", what, strerror(errno));
	return -errno;
}

int jail_enter(struct jail *j, const char *uds)
{
	int threads = jail_threads(), nofile, err;

	if (threads != 1) {
		log_msg("jail: petrel has %d threads; the jail must be entered before any starts",
			threads);
		return -EBUSY;
	}
	nofile = jail_fds_used() + JAIL_RUNTIME_FDS;
	if (unshare(CLONE_NEWNET)) {
		log_msg("jail: unshare(network namespace): %s", strerror(errno));
		return -errno;
	}
	err = jail_root(j->cfg->dir, uds);
	if (!err)
		err = jail_rlimits(nofile);
	if (!err)
		err = jail_drop_privileges(j->cfg);
	/* The change of credentials cleared the parent-death signal. */
	if (!err)
		err = jail_die_with_parent(j, true);
	return err;
}

void jail_exec(struct jail *j)
{
	sigprocmask(SIG_SETMASK, &j->mask, NULL);
	execvp(j->cfg->argv[0], j->cfg->argv);
	log_msg("jail: '%s': %s", j->cfg->argv[0], strerror(errno));
}
