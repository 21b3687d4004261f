/* SPDX-License-Identifier: MIT */
/* Starting and stopping the virtiofsd behind `--fs tag=T,dir=PATH`. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_path.h"
#include "virtio/fs.h"

/* The binary: $PETREL_VIRTIOFSD, a `virtiofsd` in PATH (the Rust one, as
 * Debian 13 and most distributions ship it), then the usual places. */
static int fs_daemon_find(char *out, size_t size)
{
	static const char *const fixed[] = { "/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd" };
	const char *env = getenv("PETREL_VIRTIOFSD");
	int err = exec_path_find("virtiofsd", "PETREL_VIRTIOFSD", out, size);

	if (!err || (env && *env))
		return err;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		snprintf(out, size, "%s", fixed[i]);
		if (!access(out, X_OK))
			return 0;
	}
	return -ENOENT;
}

/* The child, between fork and exec: only system calls (the parent may
 * have other threads). Never returns. */
static void fs_daemon_child(const struct fs_config *cfg, int lfd, char *const argv[])
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (cfg->read_only &&
	    (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	     mount(cfg->dir, cfg->dir, NULL, MS_BIND | MS_REC, NULL) ||
	     mount(NULL, cfg->dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL)))
		_exit(126);
	/* fd 3, without close-on-exec (dup2 clears it; the same fd keeps it). */
	if (lfd == 3 ? fcntl(lfd, F_SETFD, 0) : dup2(lfd, 3) < 0)
		_exit(126);
	execv(argv[0], argv);
	_exit(127);
}

int virtio_fs_daemon_start(const struct fs_config *cfg, pid_t *pid)
{
	static unsigned int seq;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char bin[4096], source[CONFIG_PATH_MAX + 16];
	socklen_t salen;
	bool qemu_c;
	int lfd, fd, err;

	err = fs_daemon_find(bin, sizeof(bin));
	if (err) {
		log_msg("virtio-fs '%s': no virtiofsd (install the virtiofsd package, or "
			"qemu-system-common for /usr/lib/qemu/virtiofsd; or set PETREL_VIRTIOFSD)",
			cfg->tag);
		return err;
	}
	/* QEMU's C virtiofsd takes -o source=; the Rust one --shared-dir.
	 * Both: --fd, and --thread-pool-size=0 (requests answered in order,
	 * which lets petrel answer the open ones if it dies: virtio/fs.h). */
	qemu_c = !strncmp(bin, "/usr/lib/qemu/", 14);
	snprintf(source, sizeof(source), "%s%s", qemu_c ? "source=" : "--shared-dir=", cfg->dir);
	char *const c_argv[] = {
		bin, "--fd=3", "-o", source, "-o", "log_level=err", "--thread-pool-size=0", NULL
	};
	char *const rust_argv[] = { bin,
				    "--fd=3",
				    source,
				    "--log-level=error",
				    "--thread-pool-size=0",
				    cfg->read_only ? "--readonly" : NULL,
				    NULL };

	/* An abstract address: no file to clean up, nothing in the share. */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			    (size_t)snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1,
					     "petrel-fs-%d-%u", (int)getpid(), seq++));
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(lfd, (struct sockaddr *)&sa, salen) || listen(lfd, 1) ||
	    connect(fd, (struct sockaddr *)&sa, salen))
		goto err_sock;
	*pid = fork();
	if (*pid < 0)
		goto err_sock;
	if (*pid == 0)
		fs_daemon_child(cfg, lfd, qemu_c ? c_argv : rust_argv);
	close(lfd);
	return fd;
err_sock:
	err = -errno;
	log_msg("virtio-fs '%s': starting %s: %s", cfg->tag, bin, strerror(errno));
	if (fd >= 0)
		close(fd);
	close(lfd);
	return err;
}

void virtio_fs_daemon_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}
