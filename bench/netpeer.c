// SPDX-License-Identifier: MIT
// The host side of `bench/run net` (guests/bench_net.c): sends COUNT frames
// of LEN bytes (ethertype 0x88b5, payload 'D') to DSTMAC out of the tap
// device IFNAME, as fast as send() takes them, then end frames ('E') until
// the guest has had time to see one. Frames the tap cannot queue are
// dropped by the kernel, as for any sender; the guest counts what arrived.
//   netpeer IFNAME DSTMAC COUNT LEN
// Output: "netpeer: sent N frames in NS ns".
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ETHERTYPE 0x88b5

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_protocol = htons(ETHERTYPE) };
	unsigned char frame[ETH_FRAME_LEN] = { 0 };
	unsigned long count, sent = 0;
	unsigned int m[6];
	size_t len;
	uint64_t t0;
	int fd;

	if (argc != 5 ||
	    sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) {
		fprintf(stderr, "usage: netpeer IFNAME DSTMAC COUNT LEN\n");
		return 2;
	}
	count = strtoul(argv[3], NULL, 0);
	len = strtoul(argv[4], NULL, 0);
	sa.sll_ifindex = (int)if_nametoindex(argv[1]);
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETHERTYPE));
	if (len < 15 || len > sizeof(frame) || !sa.sll_ifindex || fd < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("netpeer");
		return 1;
	}
	for (int i = 0; i < 6; i++)
		frame[i] = (unsigned char)m[i];
	memcpy(frame + 6, "\x02\x00\x00\x00\x00\x02", 6);
	frame[12] = ETHERTYPE >> 8, frame[13] = ETHERTYPE & 0xff, frame[14] = 'D';
	t0 = now_ns();
	for (unsigned long i = 0; i < count; i++)
		sent += send(fd, frame, len, 0) == (ssize_t)len;
	printf("netpeer: sent %lu frames in %llu ns\n", sent, (unsigned long long)(now_ns() - t0));
	fflush(stdout);
	frame[14] = 'E';
	for (int i = 0; i < 50; i++) {
		usleep(20000);
		send(fd, frame, len, 0);
	}
	return 0;
}
