/* SPDX-License-Identifier: MIT */
/*
 * sockt: the socket end of petrel's virtio tests, for both sides of the
 * emulated host: vsock in the guest (L2), unix sockets in the test host (L1),
 * where petrel's hybrid vsock and its control socket live. Built static; the
 * initramfs images have no libc.
 *
 *   sockt cid                         print this guest's vsock CID
 *   sockt echo ADDR                   listen on ADDR, take one connection,
 *                                     send back what arrives until EOF
 *   sockt send ADDR BYTES [LINE]      connect to ADDR; with LINE, send it and
 *                                     read one line back first (the hybrid
 *                                     vsock "CONNECT <port>" / "OK <n>"
 *                                     handshake); then send BYTES bytes of a
 *                                     fixed pattern and check they all come
 *                                     back unchanged
 *   sockt line ADDR LINE              connect, send LINE, print the reply line
 *   sockt http ADDR METHOD PATH [BODY]
 *                                     one HTTP/1.1 request (petrel's REST API in
 *                                     the test host, which has no curl): print
 *                                     the status code, then the body; status 0
 *                                     for a 2xx answer, 1 otherwise
 *
 * ADDR is vsock:CID:PORT, unix:PATH or inet:IPV4:PORT (echo: vsock:any:PORT,
 * inet:any:PORT). Every command
 * ends within SOCKT_TIMEOUT seconds (default 30), status 3 if it does not.
 * Status 0 on success, 1 on a failed check, 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>

union addr {
	struct sockaddr sa;
	struct sockaddr_un un;
	struct sockaddr_vm vm;
	struct sockaddr_in in;
};

static void on_alarm(int sig)
{
	static const char msg[] = "sockt: timed out\n";
	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(3);
}

static int fail(const char *what)
{
	fprintf(stderr, "sockt: %s: %s\n", what, strerror(errno));
	return 1;
}

/* Fills *a from vsock:CID:PORT, unix:PATH or inet:IPV4:PORT; returns its
 * length, 0 if bad. */
static socklen_t addr_parse(const char *s, union addr *a)
{
	memset(a, 0, sizeof(*a));
	if (strncmp(s, "inet:", 5) == 0) {
		char ip[INET_ADDRSTRLEN], *end;
		const char *colon = strrchr(s + 5, ':');
		unsigned long port;
		if (!colon || (size_t)(colon - (s + 5)) >= sizeof(ip))
			return 0;
		memcpy(ip, s + 5, (size_t)(colon - (s + 5)));
		ip[colon - (s + 5)] = '\0';
		port = strtoul(colon + 1, &end, 10);
		if (*end != '\0' || port == 0 || port > 65535)
			return 0;
		a->in.sin_family = AF_INET;
		a->in.sin_port = htons((uint16_t)port);
		if (strcmp(ip, "any") == 0)
			a->in.sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, ip, &a->in.sin_addr) != 1)
			return 0;
		return sizeof(a->in);
	}
	if (strncmp(s, "unix:", 5) == 0) {
		if (strlen(s + 5) == 0 || strlen(s + 5) >= sizeof(a->un.sun_path))
			return 0;
		a->un.sun_family = AF_UNIX;
		strcpy(a->un.sun_path, s + 5);
		return sizeof(a->un);
	}
	if (strncmp(s, "vsock:", 6) == 0) {
		char *end;
		unsigned long cid, port;
		if (strncmp(s + 6, "any:", 4) == 0) {
			cid = VMADDR_CID_ANY;
			end = (char *)s + 9;
		} else {
			cid = strtoul(s + 6, &end, 10);
			if (end == s + 6 || *end != ':')
				return 0;
		}
		port = strtoul(end + 1, &end, 10);
		if (*end != '\0' || port > UINT32_MAX)
			return 0;
		a->vm.svm_family = AF_VSOCK;
		a->vm.svm_cid = (unsigned int)cid;
		a->vm.svm_port = (unsigned int)port;
		return sizeof(a->vm);
	}
	return 0;
}

static int addr_connect(const union addr *a, socklen_t len)
{
	int fd = socket(a->sa.sa_family, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, &a->sa, len) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* The byte at offset i of the stream: not periodic below 2^24, so a dropped,
 * repeated or reordered chunk shows. */
static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(((uint32_t)i * 2654435761u) >> 24);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Reads one line byte by byte (nothing after the newline is consumed). */
static int read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0 || buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return (int)n;
}

static int cmd_cid(void)
{
	unsigned int cid;
	int fd = open("/dev/vsock", O_RDONLY);
	if (fd < 0)
		return fail("/dev/vsock");
	if (ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) < 0)
		return fail("IOCTL_VM_SOCKETS_GET_LOCAL_CID");
	close(fd);
	printf("%u\n", cid);
	return 0;
}

static int cmd_echo(const union addr *a, socklen_t len)
{
	char buf[16384];
	unsigned long long total = 0;
	int one = 1, lfd, fd;

	lfd = socket(a->sa.sa_family, SOCK_STREAM, 0);
	if (lfd < 0)
		return fail("socket");
	if (a->sa.sa_family == AF_UNIX)
		unlink(a->un.sun_path);
	else
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, &a->sa, len) < 0)
		return fail("bind");
	if (listen(lfd, 1) < 0)
		return fail("listen");
	printf("listening\n");
	fflush(stdout);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return fail("accept");
	close(lfd);
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == ECONNRESET)
			break;
		if (r < 0)
			return fail("read");
		if (r == 0)
			break;
		if (write_all(fd, buf, (size_t)r) < 0)
			return fail("write");
		total += (unsigned long long)r;
	}
	close(fd);
	printf("echoed %llu bytes\n", total);
	return total > 0 ? 0 : 1;
}

/* Sends n pattern bytes and checks the echo, both directions at once: a peer
 * that echoes as it reads would otherwise block once both buffers fill. */
static int cmd_send(const union addr *a, socklen_t len, unsigned long long n, const char *line)
{
	char buf[16384];
	unsigned long long sent = 0, got = 0;
	int fd = addr_connect(a, len);

	if (fd < 0)
		return fail("connect");
	if (line) {
		char reply[256];
		if (write_all(fd, line, strlen(line)) < 0 || write_all(fd, "\n", 1) < 0)
			return fail("write");
		if (read_line(fd, reply, sizeof(reply)) < 0)
			return fail("read");
		printf("reply: %s\n", reply);
		if (strncmp(reply, "OK ", 3) != 0) {
			fprintf(stderr, "sockt: '%s' answered '%s', want 'OK <port>'\n", line,
				reply);
			return 1;
		}
	}
	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (sent < n)
			p.events |= POLLOUT;
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return fail("poll");
		}
		if ((p.revents & POLLOUT) && sent < n) {
			size_t k = n - sent < sizeof(buf) ? (size_t)(n - sent) : sizeof(buf);
			for (size_t i = 0; i < k; i++)
				buf[i] = (char)pattern(sent + i);
			ssize_t w = send(fd, buf, k, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w < 0 && errno != EAGAIN && errno != EINTR)
				return fail("send");
			if (w > 0)
				sent += (unsigned long long)w;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r < 0 && errno != EAGAIN && errno != EINTR)
				return fail("recv");
			if (r == 0) {
				fprintf(
				    stderr,
				    "sockt: connection closed after %llu of %llu bytes came back\n",
				    got, n);
				return 1;
			}
			for (ssize_t i = 0; i < r; i++) {
				if ((uint8_t)buf[i] != pattern(got + (unsigned long long)i)) {
					fprintf(
					    stderr,
					    "sockt: byte %llu came back as 0x%02x, sent 0x%02x\n",
					    got + (unsigned long long)i, (uint8_t)buf[i],
					    pattern(got + (unsigned long long)i));
					return 1;
				}
			}
			if (r > 0)
				got += (unsigned long long)r;
		}
	}
	close(fd);
	printf("sent %llu bytes, all came back unchanged\n", n);
	return 0;
}

static int cmd_line(const union addr *a, socklen_t len, const char *line)
{
	char reply[4096];
	int fd = addr_connect(a, len);

	if (fd < 0)
		return fail("connect");
	if (write_all(fd, line, strlen(line)) < 0 || write_all(fd, "\n", 1) < 0)
		return fail("write");
	if (read_line(fd, reply, sizeof(reply)) < 0)
		return fail("read");
	close(fd);
	printf("%s\n", reply);
	return 0;
}

static int cmd_http(const union addr *a, socklen_t len, const char *method, const char *path,
		    const char *body)
{
	static char reply[65536];
	char head[512];
	size_t got = 0;
	int fd = addr_connect(a, len), n, code;
	char *text;

	if (fd < 0)
		return fail("connect");
	n = snprintf(head, sizeof(head),
		     "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		     method, path, body ? strlen(body) : 0);
	if (n < 0 || (size_t)n >= sizeof(head) || write_all(fd, head, (size_t)n) < 0 ||
	    (body && write_all(fd, body, strlen(body)) < 0))
		return fail("write");
	for (ssize_t r;
	     got + 1 < sizeof(reply) && (r = read(fd, reply + got, sizeof(reply) - 1 - got)) > 0;)
		got += (size_t)r;
	close(fd);
	reply[got] = 0;
	if (sscanf(reply, "HTTP/1.1 %d", &code) != 1) {
		fprintf(stderr, "sockt: not an HTTP answer: '%.80s'\n", reply);
		return 1;
	}
	text = strstr(reply, "\r\n\r\n");
	printf("%d\n%s\n", code, text ? text + 4 : "");
	return code >= 200 && code < 300 ? 0 : 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: sockt cid | echo ADDR | send ADDR BYTES [LINE] | line ADDR LINE\n"
			"       | http ADDR METHOD PATH [BODY]\n"
			"       ADDR: vsock:CID:PORT, vsock:any:PORT, unix:PATH, inet:IPV4:PORT, "
			"inet:any:PORT\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *t = getenv("SOCKT_TIMEOUT");
	union addr a;
	socklen_t len = 0;

	signal(SIGALRM, on_alarm);
	alarm(t ? (unsigned int)atoi(t) : 30);
	if (argc == 2 && strcmp(argv[1], "cid") == 0)
		return cmd_cid();
	if (argc < 3 || !(len = addr_parse(argv[2], &a)))
		return usage();
	if (argc == 3 && strcmp(argv[1], "echo") == 0)
		return cmd_echo(&a, len);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "send") == 0) {
		char *end;
		unsigned long long n = strtoull(argv[3], &end, 10);
		if (*end != '\0' || n == 0)
			return usage();
		return cmd_send(&a, len, n, argc == 5 ? argv[4] : NULL);
	}
	if (argc == 4 && strcmp(argv[1], "line") == 0)
		return cmd_line(&a, len, argv[3]);
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "http") == 0)
		return cmd_http(&a, len, argv[3], argv[4], argc == 6 ? argv[5] : NULL);
	return usage();
}
