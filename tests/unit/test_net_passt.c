/* SPDX-License-Identifier: MIT */
/*
 * The passt and VDE backends of virtio-net (net_passt.c, net_vde.c), each
 * with the device over fake guest memory: a real passt answering the
 * guest's ARP; a stand-in passt ($PETREL_PASST) that records its
 * arguments and dies as passt does on a host without a default route;
 * passt missing; a real vde_switch with the test on another port.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "virtio/net_backend.h"
#include "virtio_net_env.h"

static struct net_config cfg;
static char dir[64];

/* Run the event loop until `cond` holds, for up to about `ms`. */
static bool wait_for(bool (*cond)(void), int ms)
{
	for (int i = 0; i < ms; i++) {
		fake_evloop_pass(&env.ev, 1);
		if (cond())
			return true;
	}
	return false;
}

static bool one_rx(void)
{
	return used_idx(VIRTIO_NET_RXQ) >= 1;
}

static bool link_down(void)
{
	return stats().link_disconnects >= 1;
}

static bool has_passt(void)
{
	return !system("command -v passt >/dev/null 2>&1");
}

static bool has_default_route(void)
{
	return !system("grep -q '^[^ \t]*[ \t]00000000[ \t]' /proc/net/route 2>/dev/null");
}

/* An ARP request from the guest; passt answers for any address but the
 * guest's own: the frame went to passt and its reply came back framed. */
static void passt_answers_arp(void)
{
	static const uint8_t tip[4] = { 198, 51, 100, 1 };
	uint8_t f[42] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct hdr h = { 0 };
	gpa_t buf;
	uint8_t *r;

	if (!has_passt())
		SKIP("passt is not installed (apt-get install passt)");
	if (!has_default_route())
		SKIP("no default route: passt does not start");
	unsetenv("PETREL_PASST");
	cfg = (struct net_config){ .id = "p0", .kind = NET_PASST };
	REQUIRE(setup_cfg(&cfg));
	CHECK(!(env.d->offered & (F(CSUM) | F(GUEST_CSUM) | F(HOST_TSO4))));
	add_rx(1600, &buf);
	kick(VIRTIO_NET_RXQ);
	memcpy(f + 6, env.d->config, 6); /* our MAC */
	f[12] = 0x08, f[13] = 0x06;	 /* ARP */
	f[14] = 0, f[15] = 1, f[16] = 0x08, f[17] = 0, f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 1;
	memcpy(f + 22, env.d->config, 6);
	f[28] = 10, f[29] = 0, f[30] = 2, f[31] = 99; /* sender */
	memcpy(f + 38, tip, 4);
	add_tx(&h, f, sizeof(f));
	kick(VIRTIO_NET_TXQ);
	CHECK(stats().tx_frames == 1 && stats().link_tx_down == 0);
	REQUIRE(wait_for(one_rx, 3000));
	r = gp(buf + 12, 42);
	CHECK(memcmp(r, env.d->config, 6) == 0);	     /* to us */
	CHECK(r[12] == 0x08 && r[13] == 0x06 && r[21] == 2); /* an ARP reply */
	CHECK(memcmp(r + 28, tip, 4) == 0);		     /* for the address asked */
	CHECK(stats().link_connects == 1 && stats().link_rx_bad == 0);
	teardown();
	waitpid(-1, NULL, 0); /* passt, gone once our end closed */
}

/* Read what the test's stderr file holds. */
static void slurp(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(out, 1, size - 1, f) : 0;

	out[n] = 0;
	if (f)
		fclose(f);
}

/* passt's arguments (the forwards), and its death: reaped, said in one
 * line with its last message (not its syslog noise), the link down. */
static void passt_dies(void)
{
	char script[96], args[96], errpath[96], text[2048], cmd[1024];
	uint8_t f[60] = { 0 };
	struct hdr h = { 0 };
	int saved, efd;

	if (!has_default_route())
		SKIP("no default route: petrel refuses passt first");
	snprintf(dir, sizeof(dir), "/tmp/petrel-test-passt.%d", getpid());
	snprintf(script, sizeof(script), "%s/passt", dir);
	snprintf(args, sizeof(args), "%s/args", dir);
	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s && printf '#!/bin/sh\\necho \"$*\" > %s\\n"
		 "echo \"Failed to send 31 bytes to syslog\" >&2\\n"
		 "echo \"External interface not usable\" >&2\\n"
		 "echo \"Failed to send 36 bytes to syslog\" >&2\\nexit 1\\n' > %s && chmod +x %s",
		 dir, args, script, script);
	REQUIRE(system(cmd) == 0);
	setenv("PETREL_PASST", script, 1);
	cfg = (struct net_config){ .id = "p1", .kind = NET_PASST, .mtu = 1500 };
	snprintf(cfg.tcp, sizeof(cfg.tcp), "2222:22,8080");
	snprintf(cfg.udp, sizeof(cfg.udp), "5353");
	efd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	saved = dup(2);
	REQUIRE(efd >= 0 && saved >= 0);
	dup2(efd, 2);
	REQUIRE(setup_cfg(&cfg));
	CHECK(wait_for(link_down, 3000));
	add_tx(&h, f, sizeof(f));
	kick(VIRTIO_NET_TXQ);
	for (int i = 0; i < 3000; i++) { /* its stderr ends too */
		fake_evloop_pass(&env.ev, 1);
		slurp(errpath, text, sizeof(text));
		if (strstr(text, "link is down"))
			break;
	}
	dup2(saved, 2);
	close(saved);
	close(efd);
	CHECK(stats().link_tx_down == 1);
	slurp(args, text, sizeof(text));
	CHECK(!strcmp(text, "-f -q --fd 3 -t 2222:22,8080 -u 5353 -m 1500\n"));
	slurp(errpath, text, sizeof(text));
	CHECK(strstr(text, "network interface 'p1': passt exited with status 1 (External "
			   "interface not usable); the link is down\n") != NULL);
	CHECK(!strstr(text, "syslog"));
	CHECK(strchr(text, '\n') == text + strlen(text) - 1); /* one line */
	/* reaped: no child left */
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
	teardown();

	setenv("PETREL_PASST", "/nonexistent/passt", 1);
	REQUIRE(env_init());
	CHECK(virtio_net_create(env.d, &env.ev, &env.gm, &cfg, NULL) == -ENOENT);
	teardown(); /* no device: env.d->ops is NULL */
	unsetenv("PETREL_PASST");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

static bool vde_frame_arrived(void)
{
	return used_idx(VIRTIO_NET_RXQ) >= 1;
}

/* A vde_switch: frames both ways between the device and a second port
 * (the test's, through vde_plug), then the switch's end. */
static void vde_switch_frames(void)
{
	char cmd[256], pidfile[96], got[200];
	uint8_t frame[120], in[200];
	struct hdr h = { 0 };
	int sv[2], st;
	pid_t plug;
	gpa_t buf;
	FILE *pf;
	int swpid = 0;

	if (system("command -v vde_switch >/dev/null && command -v vde_plug >/dev/null"))
		SKIP("vde_switch or vde_plug missing (apt-get install vde-switch vdeplug)");
	snprintf(dir, sizeof(dir), "/tmp/petrel-test-vde.%d", getpid());
	snprintf(pidfile, sizeof(pidfile), "%s.pid", dir);
	snprintf(cmd, sizeof(cmd), "vde_switch -s %s -d -p %s </dev/null >/dev/null 2>&1", dir,
		 pidfile);
	REQUIRE(system(cmd) == 0);
	usleep(100000);
	pf = fopen(pidfile, "r");
	REQUIRE(pf && fscanf(pf, "%d", &swpid) == 1);
	fclose(pf);
	/* The test's port: vde_plug on a SOCK_SEQPACKET pair, one frame per
	 * packet (vde_plug's seqpacket:// end). */
	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	plug = fork();
	REQUIRE(plug >= 0);
	if (plug == 0) {
		char fdurl[32];

		snprintf(fdurl, sizeof(fdurl), "seqpacket://%d", sv[1]);
		fcntl(sv[1], F_SETFD, 0);
		execlp("vde_plug", "vde_plug", fdurl, dir, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	cfg = (struct net_config){ .id = "v0", .kind = NET_VDE };
	snprintf(cfg.addr, sizeof(cfg.addr), "%s", dir);
	REQUIRE(setup_cfg(&cfg));
	add_rx(1600, &buf);
	kick(VIRTIO_NET_RXQ);
	usleep(200000); /* both ports in the switch */

	/* Device -> switch -> test: broadcast, so the switch floods it. */
	fill_frame(frame, sizeof(frame), 4);
	memset(frame, 0xff, 6);
	memcpy(frame + 6, env.d->config, 6);
	add_tx(&h, frame, sizeof(frame));
	kick(VIRTIO_NET_TXQ);
	{
		struct pollfd p = { .fd = sv[0], .events = POLLIN };

		CHECK(poll(&p, 1, 3000) == 1 && recv(sv[0], got, sizeof(got), 0) == 120 &&
		      memcmp(got, frame, 120) == 0);
	}
	/* Test -> device: to its MAC (learnt by the switch). */
	fill_frame(in, 150, 9);
	memcpy(in, env.d->config, 6);
	in[6] = 0x02, in[7] = 0, in[8] = 0, in[9] = 0, in[10] = 0, in[11] = 7;
	REQUIRE(send(sv[0], in, 150, 0) == 150);
	REQUIRE(wait_for(vde_frame_arrived, 3000));
	CHECK(memcmp(gp(buf + 12, 150), in, 150) == 0);
	CHECK(stats().rx_frames == 1 && stats().tx_frames == 1 && stats().link_rx_bad == 0);

	/* The switch goes away: the link goes down, frames are dropped. */
	kill(swpid, SIGTERM);
	CHECK(wait_for(link_down, 3000));
	add_tx(&h, frame, sizeof(frame));
	kick(VIRTIO_NET_TXQ);
	CHECK(stats().link_tx_down == 1);
	teardown();
	close(sv[0]);
	waitpid(plug, &st, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, pidfile);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(passt_answers_arp);
	RUN(passt_dies);
	RUN(vde_switch_frames);
	return harness_exit();
}
