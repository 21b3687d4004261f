/* SPDX-License-Identifier: MIT */
/*
 * The socket links of virtio-net (net_stream.c, net_dgram.c): the stream
 * reassembler on its own over socket pairs, then the device on a
 * listening stream and on a UDP pair, with the test as the (hostile) peer.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <signal.h>
#include "netaddr.h"
#include "virtio/net_backend.h"
#include "virtio_net_env.h"

/* ------------------------------------------------------- reassembly */

static void put_be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static bool wr(int fd, const void *p, size_t n)
{
	return write(fd, p, n) == (ssize_t)n;
}

/* Lengths and frames cut anywhere come out whole; runts are dropped
 * without losing the framing; an oversized length breaks it. */
static void stream_rx_reassembly(void)
{
	struct net_stream_rx rx = { .frame = malloc(VIRTIO_NET_FRAME_MAX) };
	uint8_t buf[4 + 1600];
	int sv[2];

	REQUIRE(rx.frame);
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	CHECK(net_stream_rx_read(&rx, sv[0]) == NET_STREAM_RX_NONE);

	/* A 1500-byte frame one byte at a time, then its tail at once. */
	put_be(buf, 1500);
	fill_frame(buf + 4, 1500, 3);
	for (unsigned int i = 0; i < 7; i++) {
		REQUIRE(wr(sv[1], buf + i, 1));
		CHECK(net_stream_rx_read(&rx, sv[0]) == NET_STREAM_RX_NONE);
	}
	REQUIRE(wr(sv[1], buf + 7, 1497));
	CHECK(net_stream_rx_read(&rx, sv[0]) == NET_STREAM_RX_FRAME);
	CHECK(rx.len == 1500 && memcmp(rx.frame, buf + 4, 1500) == 0);

	/* A zero length, a 13-byte runt, then a 60-byte frame, in one write. */
	put_be(buf, 0);
	put_be(buf + 4, 13);
	memset(buf + 8, 0xee, 13);
	put_be(buf + 21, 60);
	fill_frame(buf + 25, 60, 9);
	REQUIRE(wr(sv[1], buf, 85));
	CHECK(net_stream_rx_read(&rx, sv[0]) == NET_STREAM_RX_DROPPED);
	CHECK(net_stream_rx_read(&rx, sv[0]) == NET_STREAM_RX_DROPPED);
	CHECK(net_stream_rx_read(&rx, sv[0]) == NET_STREAM_RX_FRAME);
	CHECK(rx.len == 60 && memcmp(rx.frame, buf + 25, 60) == 0);
	CHECK(net_stream_rx_read(&rx, sv[0]) == NET_STREAM_RX_NONE);

	/* The largest frame passes; one byte more breaks the framing. */
	put_be(buf, VIRTIO_NET_FRAME_MAX + 1);
	REQUIRE(wr(sv[1], buf, 4));
	CHECK(net_stream_rx_read(&rx, sv[0]) == NET_STREAM_RX_BROKEN);
	rx.len_have = 0;
	put_be(buf, 0xffffffffu);
	REQUIRE(wr(sv[1], buf, 4));
	CHECK(net_stream_rx_read(&rx, sv[0]) == NET_STREAM_RX_BROKEN);

	/* End of stream mid-frame. */
	rx.len_have = 0;
	put_be(buf, 100);
	REQUIRE(wr(sv[1], buf, 50));
	close(sv[1]);
	CHECK(net_stream_rx_read(&rx, sv[0]) == NET_STREAM_RX_NONE);
	CHECK(net_stream_rx_read(&rx, sv[0]) == NET_STREAM_RX_EOF);
	close(sv[0]);
	free(rx.frame);
}

/* ------------------------------------------------------- the device */

static struct net_config link_cfg;
static char link_path[64];

/* A stream listening on a unix path, and the test connected to it. */
static bool setup_stream(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	link_cfg = (struct net_config){ .id = "l0", .kind = NET_STREAM, .listen = true };
	snprintf(link_path, sizeof(link_path), "/tmp/petrel-test-link.%d", getpid());
	snprintf(link_cfg.addr, sizeof(link_cfg.addr), "unix:%s", link_path);
	memcpy(a.sun_path, link_path, sizeof(link_path));
	if (!setup_cfg(&link_cfg))
		return false;
	env.peer = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(env.peer, (struct sockaddr *)&a, sizeof(a)))
		return false;
	fake_evloop_drain(&env.ev); /* accepted */
	return stats().link_connects == 1;
}

static bool peer_frame(int fd, uint32_t len, uint8_t seed)
{
	uint8_t buf[4 + 2000];

	put_be(buf, len);
	fill_frame(buf + 4, len, seed);
	return wr(fd, buf, 4 + len);
}

/* Frames both ways, with no offloads offered; the peer's bad lengths are
 * counted and its good frames still arrive. */
static void stream_device_frames(void)
{
	uint8_t frame[200], got[300];
	struct hdr h = { 0 };
	gpa_t buf;

	REQUIRE(setup_stream());
	CHECK(!(env.d->offered & (F(CSUM) | F(GUEST_CSUM) | F(HOST_TSO4) | F(GUEST_TSO4))));
	CHECK(env.d->offered & F(MRG_RXBUF));

	fill_frame(frame, sizeof(frame), 5);
	add_tx(&h, frame, sizeof(frame));
	kick(VIRTIO_NET_TXQ);
	CHECK(recv(env.peer, got, sizeof(got), MSG_DONTWAIT) == 204);
	CHECK(got[0] == 0 && got[1] == 0 && got[2] == 0 && got[3] == 200);
	CHECK(memcmp(got + 4, frame, 200) == 0);
	CHECK(stats().tx_frames == 1);

	add_rx(1600, &buf);
	kick(VIRTIO_NET_RXQ);
	REQUIRE(wr(env.peer, "\0\0\0\0", 4));	     /* zero length */
	REQUIRE(wr(env.peer, "\0\0\0\x05hello", 9)); /* a runt */
	REQUIRE(peer_frame(env.peer, 100, 7));
	fake_evloop_drain(&env.ev);
	REQUIRE(used_idx(VIRTIO_NET_RXQ) == 1);
	fill_frame(frame, 100, 7);
	CHECK(memcmp(gp(buf + 12, 100), frame, 100) == 0);
	CHECK(*(uint8_t *)gp(buf, 1) == 0); /* header: no flags */
	CHECK(stats().rx_frames == 1 && stats().rx_dropped == 2);
	CHECK(stats().link_rx_bad == 2);
	teardown();
}

/* An oversized length drops the peer; the next one is accepted and
 * served; a second peer meanwhile is refused. */
static void stream_device_reconnect(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	uint8_t b4[4], c;
	int second;

	REQUIRE(setup_stream());
	add_rx(1526, NULL);
	add_rx(1526, NULL);
	kick(VIRTIO_NET_RXQ);
	memcpy(a.sun_path, link_path, sizeof(link_path));
	second = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(connect(second, (struct sockaddr *)&a, sizeof(a)) == 0);
	fake_evloop_drain(&env.ev);
	CHECK(read(second, &c, 1) == 0); /* refused: closed at once */
	close(second);

	put_be(b4, 70000);
	REQUIRE(wr(env.peer, b4, 4));
	fake_evloop_drain(&env.ev);
	CHECK(stats().link_disconnects == 1 && stats().link_rx_bad == 1);
	CHECK(read(env.peer, &c, 1) == 0); /* we hung up */
	close(env.peer);

	env.peer = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(connect(env.peer, (struct sockaddr *)&a, sizeof(a)) == 0);
	fake_evloop_drain(&env.ev);
	CHECK(stats().link_connects == 2);
	REQUIRE(peer_frame(env.peer, 64, 1));
	fake_evloop_drain(&env.ev);
	CHECK(used_idx(VIRTIO_NET_RXQ) == 1);

	/* No peer: transmitted frames are dropped and counted. */
	close(env.peer);
	env.peer = -1;
	fake_evloop_drain(&env.ev);
	CHECK(stats().link_disconnects == 2);
	{
		struct hdr h = { 0 };
		uint8_t frame[60] = { 0 };

		add_tx(&h, frame, sizeof(frame));
		kick(VIRTIO_NET_TXQ);
	}
	CHECK(stats().link_tx_down == 1 && stats().tx_dropped == 1);
	teardown();
}

/* A flood of tiny frames: bounded work per event-loop pass, and good
 * frames behind it still arrive. */
static void stream_device_flood(void)
{
	static uint8_t junk[4 * 4096];
	unsigned int passes = 0;
	uint64_t bad;

	REQUIRE(setup_stream());
	for (unsigned int i = 0; i < 8; i++)
		add_rx(1526, NULL);
	kick(VIRTIO_NET_RXQ);
	memset(junk, 0, sizeof(junk)); /* 4096 zero lengths */
	REQUIRE(wr(env.peer, junk, sizeof(junk)));
	REQUIRE(peer_frame(env.peer, 80, 2));
	pump();
	bad = stats().link_rx_bad;
	CHECK(bad > 0 && bad <= 64); /* NET_RX_BURST */
	while (used_idx(VIRTIO_NET_RXQ) == 0 && passes++ < 1000)
		pump();
	CHECK(used_idx(VIRTIO_NET_RXQ) == 1 && stats().link_rx_bad == 4096);
	teardown();
}

/* A peer that does not read: its socket fills, the frames that no longer
 * fit are dropped and counted, and the rest of a frame cut by the full
 * socket still goes out whole once it reads again. */
static void stream_device_peer_not_reading(void)
{
	static uint8_t frame[1500], got[1 << 16];
	struct hdr h = { 0 };
	unsigned int sent = 0;
	uint64_t full;
	size_t total = 0;
	ssize_t n;

	REQUIRE(setup_stream());
	fill_frame(frame, sizeof(frame), 4);
	for (unsigned int i = 0; i < 2000; i++) {
		add_tx(&h, frame, sizeof(frame));
		kick(VIRTIO_NET_TXQ);
		sent++;
	}
	full = stats().link_tx_full;
	CHECK(full > 0 && full < sent);
	CHECK(stats().tx_frames + stats().tx_dropped == sent);
	/* Drain: every frame that went out is whole. */
	while ((n = recv(env.peer, got, sizeof(got), MSG_DONTWAIT)) > 0 ||
	       fake_evloop_pass(&env.ev, 10) > 0)
		total += n > 0 ? (size_t)n : 0;
	CHECK(total == stats().tx_frames * (4 + sizeof(frame)));
	teardown();
}

/* A socket file something listens on is not taken over; one left by a
 * dead process is replaced, and removed when the device goes. */
static void stream_listen_path(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int other = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct stat st;

	link_cfg = (struct net_config){ .id = "l1", .kind = NET_STREAM, .listen = true };
	snprintf(link_path, sizeof(link_path), "/tmp/petrel-test-link2.%d", getpid());
	snprintf(link_cfg.addr, sizeof(link_cfg.addr), "unix:%s", link_path);
	memcpy(a.sun_path, link_path, sizeof(link_path));
	unlink(link_path);
	REQUIRE(bind(other, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(other, 1) == 0);
	CHECK(!setup_cfg(&link_cfg));
	teardown();
	close(other); /* the file stays: a dead listener's */
	CHECK(stat(link_path, &st) == 0);
	REQUIRE(setup_cfg(&link_cfg));
	teardown();
	CHECK(stat(link_path, &st) == -1 && errno == ENOENT);
}

/* Two UDP sockets on the loopback: the device's and the test's. */
static unsigned int free_udp_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(s, (struct sockaddr *)&a, &len))
		return 0;
	close(s);
	return ntohs(a.sin_port);
}

static void dgram_device_frames(void)
{
	unsigned int mine = free_udp_port(), theirs = free_udp_port();
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint8_t frame[300], got[400], big[1600];
	struct hdr h = { 0 };
	gpa_t buf;

	REQUIRE(mine && theirs && mine != theirs);
	link_cfg = (struct net_config){ .id = "d0", .kind = NET_DGRAM };
	snprintf(link_cfg.addr, sizeof(link_cfg.addr), "udp:127.0.0.1:%u", mine);
	snprintf(link_cfg.remote, sizeof(link_cfg.remote), "127.0.0.1:%u", theirs);
	REQUIRE(setup_cfg(&link_cfg));
	env.peer = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	a.sin_port = htons((uint16_t)theirs);
	REQUIRE(bind(env.peer, (struct sockaddr *)&a, sizeof(a)) == 0);
	a.sin_port = htons((uint16_t)mine);
	REQUIRE(connect(env.peer, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(!(env.d->offered & F(CSUM)));

	fill_frame(frame, sizeof(frame), 8);
	add_tx(&h, frame, sizeof(frame));
	kick(VIRTIO_NET_TXQ);
	CHECK(recv(env.peer, got, sizeof(got), 0) == 300 && memcmp(got, frame, 300) == 0);

	add_rx(1526, &buf);
	add_rx(1526, NULL);
	kick(VIRTIO_NET_RXQ);
	REQUIRE(send(env.peer, frame, 0, 0) == 0);   /* empty */
	REQUIRE(send(env.peer, frame, 13, 0) == 13); /* a runt */
	fill_frame(big, sizeof(big), 1);
	REQUIRE(send(env.peer, big, sizeof(big), 0) == sizeof(big)); /* spans two buffers */
	fake_evloop_drain(&env.ev);
	CHECK(stats().link_rx_bad == 2 && stats().rx_dropped == 2);
	REQUIRE(used_idx(VIRTIO_NET_RXQ) == 2);
	CHECK(memcmp(gp(buf + 12, 1514), big, 1514) == 0);
	CHECK(stats().rx_frames == 1 && stats().rx_bytes == sizeof(big));

	/* A stranger's datagram never reaches the guest. */
	{
		int s = socket(AF_INET, SOCK_DGRAM, 0);

		add_rx(1526, NULL);
		kick(VIRTIO_NET_RXQ);
		REQUIRE(sendto(s, frame, 100, 0, (struct sockaddr *)&a, sizeof(a)) == 100);
		close(s);
		fake_evloop_drain(&env.ev);
		CHECK(stats().rx_frames == 1);
	}
	teardown();
}

/* A multicast hub: a member hears the others, not itself. */
static void dgram_hub(void)
{
	unsigned int port = free_udp_port();
	struct sockaddr_in g = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct ip_mreqn mr = { .imr_ifindex = 0 };
	uint8_t frame[100], got[200];
	struct hdr h = { 0 };
	int other, one = 1;

	REQUIRE(port);
	inet_pton(AF_INET, "239.255.77.1", &g.sin_addr);
	mr.imr_multiaddr = g.sin_addr;
	other = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (setsockopt(other, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(other, (struct sockaddr *)&g, sizeof(g)) ||
	    setsockopt(other, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) ||
	    sendto(other, "probe", 5, 0, (struct sockaddr *)&g, sizeof(g)) != 5 ||
	    recv(other, got, sizeof(got), MSG_DONTWAIT) != 5) {
		close(other);
		SKIP("no multicast on this host's loopback");
	}
	link_cfg = (struct net_config){ .id = "h0", .kind = NET_DGRAM };
	snprintf(link_cfg.addr, sizeof(link_cfg.addr), "udp:239.255.77.1:%u", port);
	REQUIRE(setup_cfg(&link_cfg));
	env.peer = other;
	add_rx(1600, NULL);
	add_rx(1600, NULL);
	kick(VIRTIO_NET_RXQ);

	/* Ours goes to the group, and comes back to us only to be skipped. */
	fill_frame(frame, sizeof(frame), 3);
	memcpy(frame + 6, env.d->config, 6); /* the device's MAC */
	add_tx(&h, frame, sizeof(frame));
	kick(VIRTIO_NET_TXQ);
	CHECK(recv(other, got, sizeof(got), 0) == 100 && memcmp(got, frame, 100) == 0);
	/* Another member's. */
	frame[11] ^= 1;
	REQUIRE(sendto(other, frame, 100, 0, (struct sockaddr *)&g, sizeof(g)) == 100);
	usleep(10000);
	fake_evloop_drain(&env.ev);
	CHECK(stats().rx_frames == 1 && stats().link_rx_bad == 0);
	teardown();
}

/* Default MACs: a link's from its settings, both ends of a link differ;
 * the MACs of one VM's interfaces differ even when the defaults collide. */
static void link_macs(void)
{
	struct vm_config cfg = { .nnets = 3 };
	uint8_t a[6], b[6], c[6];

	cfg.net[0] = (struct net_config){ .kind = NET_STREAM, .addr = "unix:/x", .listen = true };
	cfg.net[1] = (struct net_config){ .kind = NET_STREAM, .addr = "unix:/x" };
	virtio_net_pick_mac(&cfg, 0, a);
	virtio_net_pick_mac(&cfg, 1, b);
	CHECK(memcmp(a, b, 6) != 0 && a[0] == 0x52 && b[0] == 0x52);
	/* The same settings twice (a config the check refuses for listeners,
	 * but a pick must still differ). */
	cfg.net[1].listen = true;
	cfg.net[2] = (struct net_config){ .kind = NET_TAP, .tap = "t", .mac_set = true };
	virtio_net_pick_mac(&cfg, 0, a);
	memcpy(cfg.net[2].mac, a, 6); /* the third's given MAC is the first's default */
	virtio_net_pick_mac(&cfg, 0, a);
	virtio_net_pick_mac(&cfg, 1, b);
	virtio_net_pick_mac(&cfg, 2, c);
	CHECK(memcmp(a, b, 6) != 0 && memcmp(a, c, 6) != 0 && memcmp(b, c, 6) != 0);
}

static void netaddr_forms(void)
{
	struct netaddr a;

	CHECK(netaddr_parse("unix:/tmp/s", NETADDR_UNIX, &a) == 0 && a.sa.ss_family == AF_UNIX);
	CHECK(netaddr_parse("unix:", NETADDR_UNIX, &a) == -EINVAL);
	CHECK(netaddr_parse("tcp:127.0.0.1:80", NETADDR_TCP, &a) == 0);
	CHECK(netaddr_parse("tcp:[::1]:80", NETADDR_TCP, &a) == 0 && a.sa.ss_family == AF_INET6);
	CHECK(netaddr_parse("tcp:::1:80", NETADDR_TCP, &a) == -EINVAL);
	CHECK(netaddr_parse("tcp:127.0.0.1:0", NETADDR_TCP, &a) == -EINVAL);
	CHECK(netaddr_parse("tcp:127.0.0.1:65536", NETADDR_TCP, &a) == -EINVAL);
	CHECK(netaddr_parse("tcp:localhost:80", NETADDR_TCP, &a) == -EINVAL);
	CHECK(netaddr_parse("udp:127.0.0.1:80", NETADDR_TCP | NETADDR_UNIX, &a) == -EINVAL);
	CHECK(netaddr_parse("udp:239.1.1.1:5000", NETADDR_UDP, &a) == 0 &&
	      netaddr_is_multicast(&a));
	CHECK(netaddr_parse("10.0.0.1:5", NETADDR_BARE, &a) == 0 && !netaddr_is_multicast(&a));
	CHECK(netaddr_parse("udp:10.0.0.1:5", NETADDR_BARE, &a) == -EINVAL);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(stream_rx_reassembly);
	RUN(stream_device_frames);
	RUN(stream_device_reconnect);
	RUN(stream_device_flood);
	RUN(stream_device_peer_not_reading);
	RUN(stream_listen_path);
	RUN(dgram_device_frames);
	RUN(dgram_hub);
	RUN(link_macs);
	RUN(netaddr_forms);
	return harness_exit();
}
