/* SPDX-License-Identifier: MIT */
/*
 * virtio-net behind the real virtio-mmio transport, set up as Linux does,
 * and once against a real tap in a private network namespace when the
 * host allows it (see virtio_net_env.h for the socket-pair environment).
 */
#include "virtio_net_env.h"

/* --------------------------------------------------- through virtio-mmio */

/* The device behind the real transport, set up through its registers as
 * Linux's drivers do, with the features Linux accepts. */
static void net_through_mmio(void)
{
	uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | F(MAC) |
			F(STATUS) | F(MRG_RXBUF) | F(CSUM) | F(GUEST_CSUM) | F(HOST_TSO4) |
			F(GUEST_TSO4);
	struct virtio_mmio *mmio;
	struct hdr h = { 0 };
	uint8_t frame[60], got[100], mac[6];
	gpa_t buf;
	int sv[2];

	env_clear();
	REQUIRE(fake_gm_init(&env.gm, 0, RAM_SIZE));
	REQUIRE(evloop_init(&env.ev) == 0);
	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	env.peer = sv[1];
	mmio = virtio_mmio_new();
	REQUIRE(mmio);
	REQUIRE(virtio_net_create_fd(&mmio->dev, &env.ev, &env.gm, sv[0], false, test_mac) == 0);
	REQUIRE(virtio_mmio_attach(mmio, &env.ev, -1, 0xd1000000, 5) == 0);
	env.d = &mmio->dev;

	CHECK(fake_mmio_read(mmio, VIRTIO_MMIO_REG_DEVICE_ID) == VIRTIO_ID_NET);
	CHECK((fake_mmio_features(mmio) & want) == want);
	for (unsigned int i = 0; i < 6; i++)
		mac[i] = (uint8_t)fake_mmio_read_n(mmio, VIRTIO_MMIO_REG_CONFIG + i, 1);
	CHECK(memcmp(mac, test_mac, 6) == 0);
	CHECK(fake_mmio_read_n(mmio, VIRTIO_MMIO_REG_CONFIG + 6, 2) == 1);

	REQUIRE(fake_mmio_negotiate(mmio, want) & VIRTIO_STATUS_FEATURES_OK);
	for (unsigned int q = 0; q < 2; q++) {
		fake_mmio_write(mmio, VIRTIO_MMIO_REG_QUEUE_SEL, q);
		CHECK(fake_mmio_read(mmio, VIRTIO_MMIO_REG_QUEUE_NUM_MAX) == 256);
		ring_init(q, QSIZE);
		fake_mmio_queue(mmio, q, &env.vq[q]);
	}
	for (unsigned int i = 0; i < 48; i++) /* 64 KiB: the guest takes TSO */
		add_rx(1536, i == 0 ? &buf : NULL);
	REQUIRE(fake_mmio_driver_ok(mmio) == FAKE_STATUS_DRIVER_OK);

	fill_frame(frame, sizeof(frame), 17);
	add_tx(&h, frame, sizeof(frame));
	fake_mmio_write(mmio, VIRTIO_MMIO_REG_QUEUE_NOTIFY, VIRTIO_NET_TXQ);
	CHECK(recv(env.peer, got, sizeof(got), MSG_DONTWAIT) == 72);
	CHECK(used_idx(VIRTIO_NET_TXQ) == 1);
	CHECK(fake_mmio_read(mmio, VIRTIO_MMIO_REG_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
	fake_mmio_write(mmio, VIRTIO_MMIO_REG_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);

	REQUIRE(peer_send(&h, frame, sizeof(frame)));
	pump();
	REQUIRE(used_idx(VIRTIO_NET_RXQ) == 1);
	CHECK(memcmp(gp(buf + 12, sizeof(frame)), frame, sizeof(frame)) == 0);
	CHECK(fake_mmio_read(mmio, VIRTIO_MMIO_REG_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);

	fake_mmio_write(mmio, VIRTIO_MMIO_REG_STATUS, 0); /* reset: no more frames taken */
	REQUIRE(peer_send(&h, frame, sizeof(frame)));
	CHECK(pump() == 0);

	virtio_mmio_free(mmio);
	env.d = &env.dev;
	teardown();
}

/* ------------------------------------------------------------ real tap */

#define TAP_NAME "ptrl0"

/* The device's tap fd, found through /proc (the device keeps it private). */
static int find_tun_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int fd = -1;

	while (d && (e = readdir(d))) {
		char path[300], target[64];
		ssize_t l;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		l = readlink(path, target, sizeof(target) - 1);
		if (l > 0 && (target[l] = 0, strcmp(target, "/dev/net/tun") == 0))
			fd = atoi(e->d_name);
	}
	if (d)
		closedir(d);
	return fd;
}

static bool link_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok;
	int fd;

	/* No IPv6 on the test tap, so the kernel sends nothing of its own. */
	fd = open("/proc/sys/net/ipv6/conf/" TAP_NAME "/disable_ipv6", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			fprintf(stderr, "could not disable IPv6 on " TAP_NAME "\n");
		close(fd);
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ok = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
	ifr.ifr_flags |= IFF_UP;
	ok = ok && ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
	if (s >= 0)
		close(s);
	return ok;
}

static void net_real_tap(void)
{
	struct net_config cfg = { .tap = TAP_NAME, .mac_set = true };
	struct ifreq ifr = { 0 };
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	uint8_t frame[100], big[300], got[2000];
	struct hdr h = { 0 }, out;
	uint32_t id, len;
	int fd, hdrsz = 0, pkt = -1;
	unsigned int ifindex;
	gpa_t buf;
	ssize_t n;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		SKIP("/dev/net/tun is not available");
	close(fd);
	if (unshare(CLONE_NEWNET))
		SKIP("cannot make a network namespace (needs CAP_SYS_ADMIN)");
	env_clear();
	REQUIRE(fake_gm_init(&env.gm, 0, RAM_SIZE));
	pthread_mutex_init(&env.d->lock, NULL);
	REQUIRE(evloop_init(&env.ev) == 0);
	CHECK(tap_open("an-overlong-interface-name", 12) == -EINVAL);
	memcpy(cfg.mac, test_mac, 6);
	strcpy(cfg.tap, "lo"); /* exists, but is not a tap */
	CHECK(virtio_net_create(env.d, &env.ev, &env.gm, &cfg, NULL) == -EINVAL);
	cfg.mac[0] = 1; /* multicast */
	strcpy(cfg.tap, TAP_NAME);
	CHECK(virtio_net_create(env.d, &env.ev, &env.gm, &cfg, NULL) == -EINVAL);
	CHECK(if_nametoindex(TAP_NAME) == 0);
	cfg.mac[0] = test_mac[0];
	cfg.mtu = 9000;
	REQUIRE(virtio_net_create(env.d, &env.ev, &env.gm, &cfg, NULL) == 0);
	fake_transport_attach(env.d, &env.ft);
	/* The configured MTU, offered and in config space. */
	CHECK(env.d->offered & F(MTU));
	CHECK(le_get(env.d->config + 10, 2) == 9000);

	/* Created, as a single-queue tap with 12-byte virtio-net headers. */
	ifindex = if_nametoindex(TAP_NAME);
	CHECK(ifindex != 0);
	fd = find_tun_fd();
	REQUIRE(fd >= 0);
	REQUIRE(ioctl(fd, TUNGETIFF, &ifr) == 0);
	CHECK(strcmp(ifr.ifr_name, TAP_NAME) == 0);
	CHECK((ifr.ifr_flags & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE)) ==
	      (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR));
	CHECK(ioctl(fd, TUNGETVNETHDRSZ, &hdrsz) == 0 && hdrsz == 12);
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);

	/* Offloads from the negotiated features are accepted by the tap. */
	REQUIRE(start(F(GUEST_CSUM) | F(GUEST_TSO4) | F(GUEST_TSO6) | F(GUEST_ECN) | F(CSUM) |
			  F(HOST_TSO4) | F(HOST_TSO6),
		      QSIZE));
	CHECK(env.ft.needs_reset == 0);

	/* Frames both ways, seen by a packet socket on the host side. */
	REQUIRE(link_up(TAP_NAME));
	pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	REQUIRE(pkt >= 0);
	ll.sll_ifindex = (int)ifindex;
	REQUIRE(bind(pkt, (struct sockaddr *)&ll, sizeof(ll)) == 0);

	memset(frame, 0xff, 6); /* broadcast */
	memcpy(frame + 6, test_mac, 6);
	frame[12] = 0x88; /* IEEE 802 local experimental EtherType */
	frame[13] = 0xb5;
	fill_frame(frame + 14, sizeof(frame) - 14, 13);
	add_tx(&h, frame, sizeof(frame));
	kick(VIRTIO_NET_TXQ);
	CHECK(stats().tx_frames == 1);
	do
		n = recv(pkt, got, sizeof(got), MSG_DONTWAIT);
	while (n > 0 && !(got[12] == 0x88 && got[13] == 0xb5));
	CHECK(n == sizeof(frame) && memcmp(got, frame, sizeof(frame)) == 0);

	/* A TCPv4 segmentation request: the kernel checks the header against
	 * the frame and takes it whole. */
	{
		static uint8_t tso[14 + 20 + 20 + 4000];
		struct hdr th = { .flags = 1,
				  .gso_type = 1,
				  .hdr_len = 54,
				  .gso_size = 1448,
				  .csum_start = 34,
				  .csum_offset = 16 };
		uint16_t tot = htons(sizeof(tso) - 14);

		memcpy(tso, frame, 12);
		tso[12] = 0x08; /* IPv4 */
		tso[14] = 0x45;
		memcpy(tso + 16, &tot, 2);
		tso[22] = 64;
		tso[23] = 6; /* TCP */
		memcpy(tso + 26, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
		tso[46] = 0x50; /* data offset 5 */
		tso[47] = 0x18; /* PSH ACK */
		add_tx(&th, tso, sizeof(tso));
		kick(VIRTIO_NET_TXQ);
		CHECK(stats().tx_frames == 2 && stats().tx_dropped == 0);
		th.gso_type = 4; /* TCPv6 metadata on an IPv4 frame: refused */
		add_tx(&th, tso, sizeof(tso));
		kick(VIRTIO_NET_TXQ);
		CHECK(stats().tx_frames == 2 && stats().tx_dropped == 1);
	}

	/* Into the guest; a frame too big for its buffer is dropped (the tap
	 * truncates it silently) and the buffer kept. */
	add_rx(200, &buf);
	kick(VIRTIO_NET_RXQ);
	memcpy(big, frame, 14);
	fill_frame(big + 14, sizeof(big) - 14, 14);
	REQUIRE(sendto(pkt, big, sizeof(big), 0, (struct sockaddr *)&ll, sizeof(ll)) ==
		sizeof(big));
	usleep(10000);
	pump();
	CHECK(stats().rx_dropped == 1);
	CHECK(used_idx(VIRTIO_NET_RXQ) == 0);
	REQUIRE(sendto(pkt, frame, sizeof(frame), 0, (struct sockaddr *)&ll, sizeof(ll)) ==
		sizeof(frame));
	usleep(10000);
	pump();
	REQUIRE(used_idx(VIRTIO_NET_RXQ) == 1);
	used_elem(VIRTIO_NET_RXQ, 0, &id, &len);
	CHECK(len == 12 + sizeof(frame));
	memcpy(&out, gp(buf, 12), 12);
	CHECK(out.num_buffers == 1 && out.gso_type == 0);
	CHECK(memcmp(gp(buf + 12, sizeof(frame)), frame, sizeof(frame)) == 0);
	CHECK(env.ft.used[VIRTIO_NET_RXQ] == 1);
	close(pkt);

	env.d->ops->destroy(env.d);
	env.d->ops = NULL;
	CHECK(if_nametoindex(TAP_NAME) == 0); /* created by petrel: gone with it */
	teardown();
}

int main(void)
{
	RUN(net_through_mmio);
	RUN(net_real_tap); /* last: it moves the process into a new network namespace */
	return harness_exit();
}
