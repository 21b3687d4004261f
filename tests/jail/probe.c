/* SPDX-License-Identifier: MIT */
/*
 * Runs inside `petrel jail` (tests/jail/run) and reports what the jail
 * gave it, one "key=value" line each. There is no /proc in the jail, so
 * everything comes from syscalls: ids, capability sets (capget, the
 * bounding and ambient sets through prctl), no_new_privs, pids, hostname,
 * namespace inodes (pidfd ioctls, Linux 6.11+; "?" when refused), network
 * interfaces, the entries of /, whether / is writable, rlimits.
 *
 *   probe [exit=N] [sleep=S]   reports, sleeps S seconds, exits N
 *
 * Built static by tests/jail/run: the jail holds no libraries.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* include/uapi/linux/pidfd.h, newer than the installed headers. */
#define PROBE_PIDFS_MAGIC 0xFF
static const struct {
	const char *name;
	unsigned long req;
} probe_ns[] = {
	{ "ipc", _IO(PROBE_PIDFS_MAGIC, 2) },  { "mnt", _IO(PROBE_PIDFS_MAGIC, 3) },
	{ "net", _IO(PROBE_PIDFS_MAGIC, 4) },  { "pid", _IO(PROBE_PIDFS_MAGIC, 5) },
	{ "uts", _IO(PROBE_PIDFS_MAGIC, 10) },
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void probe_ids(void)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;

	getresuid(&r, &e, &s);
	getresgid(&gr, &ge, &gs);
	printf("uid=%u,%u,%u\ngid=%u,%u,%u\ngroups=%d\n", r, e, s, gr, ge, gs, getgroups(0, NULL));
}

static void probe_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { 0 };
	unsigned long long bnd = 0, amb = 0;

	if (syscall(SYS_capget, &hdr, d))
		printf("capget=%s\n", strerror(errno));
	printf("cap_eff=%llx\ncap_prm=%llx\ncap_inh=%llx\n",
	       (unsigned long long)d[1].effective << 32 | d[0].effective,
	       (unsigned long long)d[1].permitted << 32 | d[0].permitted,
	       (unsigned long long)d[1].inheritable << 32 | d[0].inheritable);
	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, cap) == 1)
			bnd |= 1ULL << cap;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1)
			amb |= 1ULL << cap;
	}
	printf("cap_bnd=%llx\ncap_amb=%llx\nnnp=%d\n", bnd, amb,
	       prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
}

static void probe_namespaces(void)
{
	int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	char host[256] = "";

	for (size_t i = 0; i < sizeof(probe_ns) / sizeof(probe_ns[0]); i++) {
		int fd = pidfd >= 0 ? ioctl(pidfd, probe_ns[i].req, 0) : -1;
		struct stat st;

		if (fd >= 0 && fstat(fd, &st) == 0)
			printf("ns_%s=%llu\n", probe_ns[i].name, (unsigned long long)st.st_ino);
		else
			printf("ns_%s=?\n", probe_ns[i].name);
		if (fd >= 0)
			close(fd);
	}
	if (pidfd >= 0)
		close(pidfd);
	gethostname(host, sizeof(host) - 1);
	printf("hostname=%s\npid=%d\nppid=%d\n", host, getpid(), getppid());
}

static void probe_net(void)
{
	struct if_nameindex *ifs = if_nameindex();

	printf("ifaces=");
	for (struct if_nameindex *i = ifs; i && i->if_index; i++)
		printf("%s%s", i == ifs ? "" : ",", i->if_name);
	printf("%s\n", ifs ? "" : "?");
	if (ifs)
		if_freenameindex(ifs);
}

static void probe_root(void)
{
	char *name[256];
	size_t n = 0;
	DIR *d = opendir("/");
	struct dirent *e;
	int fd;

	while (d && (e = readdir(d)) && n < 256)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			name[n++] = strdup(e->d_name);
	if (d)
		closedir(d);
	qsort(name, n, sizeof(name[0]), cmp_str);
	printf("root=");
	for (size_t i = 0; i < n; i++) {
		printf("%s%s", i ? "," : "", name[i]);
		free(name[i]);
	}
	printf("\n");
	fd = open("/probe-write-test", O_WRONLY | O_CREAT | O_EXCL, 0600);
	printf("root_write=%s\n", fd >= 0 ? "ok" : strerror(errno));
	if (fd >= 0) {
		close(fd);
		unlink("/probe-write-test");
	}
	printf("proc=%s\n", access("/proc/self", F_OK) ? "absent" : "present");
}

static void probe_rlimits(void)
{
	struct rlimit core, nofile, nproc, fsize;

	getrlimit(RLIMIT_CORE, &core);
	getrlimit(RLIMIT_NOFILE, &nofile);
	getrlimit(RLIMIT_NPROC, &nproc);
	getrlimit(RLIMIT_FSIZE, &fsize);
	printf("rlimit_core=%lld,%lld\nrlimit_nofile=%lld,%lld\n", (long long)core.rlim_cur,
	       (long long)core.rlim_max, (long long)nofile.rlim_cur, (long long)nofile.rlim_max);
	printf("rlimit_nproc=%lld\nrlimit_fsize=%lld\n", (long long)nproc.rlim_cur,
	       (long long)fsize.rlim_cur);
}

int main(int argc, char **argv)
{
	int status = 0, secs = 0;

	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "exit=", 5))
			status = atoi(argv[i] + 5);
		if (!strncmp(argv[i], "sleep=", 6))
			secs = atoi(argv[i] + 6);
	}
	probe_ids();
	probe_caps();
	probe_namespaces();
	probe_net();
	probe_root();
	probe_rlimits();
	printf("fds=");
	for (int fd = 0, first = 1; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0) {
			printf("%s%d", first ? "" : ",", fd);
			first = 0;
		}
	printf("\n");
	fflush(stdout);
	sleep((unsigned int)secs);
	return status;
}
