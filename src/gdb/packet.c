/* SPDX-License-Identifier: MIT */
/* GDB remote protocol framing and hex helpers: see packet.h. */
#include "gdb/packet.h"

#include <errno.h>

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void gdbpkt_rx_init(struct gdbpkt_rx *rx)
{
	rx->state = GDBPKT_IDLE;
	rx->overflow = false;
	rx->sum = rx->got = 0;
	rx->len = 0;
	rx->buf[0] = 0;
}

static enum gdbpkt_event idle(struct gdbpkt_rx *rx, uint8_t c)
{
	switch (c) {
	case '$':
		rx->state = GDBPKT_BODY;
		rx->overflow = false;
		rx->sum = 0;
		rx->len = 0;
		return GDBPKT_NONE;
	case 0x03:
		return GDBPKT_INTERRUPT;
	case '+':
		return GDBPKT_ACK;
	case '-':
		return GDBPKT_NAK;
	default:
		return GDBPKT_NONE; /* line noise between packets */
	}
}

enum gdbpkt_event gdbpkt_feed(struct gdbpkt_rx *rx, uint8_t c)
{
	int v;

	switch (rx->state) {
	case GDBPKT_IDLE:
		return idle(rx, c);
	case GDBPKT_BODY:
		if (c == '#') {
			rx->state = GDBPKT_SUM1;
			return GDBPKT_NONE;
		}
		if (c == '$') { /* a new packet restarts: the peer gave up on the old one */
			rx->overflow = false;
			rx->sum = 0;
			rx->len = 0;
			return GDBPKT_NONE;
		}
		rx->sum += c;
		if (rx->len < GDBPKT_MAX)
			rx->buf[rx->len++] = (char)c;
		else
			rx->overflow = true;
		return GDBPKT_NONE;
	case GDBPKT_SUM1:
		v = hexval(c);
		rx->got = (uint8_t)((v < 0 ? 0 : v) << 4);
		rx->state = v < 0 ? GDBPKT_IDLE : GDBPKT_SUM2;
		return v < 0 ? GDBPKT_BADSUM : GDBPKT_NONE;
	case GDBPKT_SUM2:
		v = hexval(c);
		rx->state = GDBPKT_IDLE;
		if (rx->overflow)
			return GDBPKT_OVERFLOW;
		if (v < 0 || (uint8_t)(rx->got | v) != rx->sum)
			return GDBPKT_BADSUM;
		rx->buf[rx->len] = 0;
		return GDBPKT_PACKET;
	}
	return GDBPKT_NONE;
}

size_t gdbpkt_frame(char *out, size_t cap, const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *d = data;
	size_t o = 0;
	uint8_t sum = 0;

	if (cap < 4)
		return 0;
	out[o++] = '$';
	for (size_t i = 0; i < len; i++) {
		uint8_t c = d[i];
		bool esc = c == '$' || c == '#' || c == '}' || c == '*';

		if (o + (esc ? 2 : 1) + 3 > cap)
			return 0;
		if (esc) {
			out[o++] = '}';
			sum += '}';
			c ^= 0x20;
		}
		out[o++] = (char)c;
		sum += c;
	}
	out[o++] = '#';
	out[o++] = hex[sum >> 4];
	out[o++] = hex[sum & 15];
	return o;
}

int gdbpkt_unescape(char *buf, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '}') {
			if (++i == len)
				return -EINVAL;
			buf[o++] = (char)(buf[i] ^ 0x20);
		} else {
			buf[o++] = buf[i];
		}
	}
	return (int)o;
}

void gdbpkt_hex_encode(char *dst, const void *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = src;

	for (size_t i = 0; i < n; i++) {
		dst[2 * i] = hex[s[i] >> 4];
		dst[2 * i + 1] = hex[s[i] & 15];
	}
}

int gdbpkt_hex_decode(void *dst, const char *src, size_t n)
{
	uint8_t *d = dst;

	for (size_t i = 0; i < n; i++) {
		int hi = hexval((uint8_t)src[2 * i]), lo;

		if (hi < 0)
			return -EINVAL;
		lo = hexval((uint8_t)src[2 * i + 1]);
		if (lo < 0)
			return -EINVAL;
		d[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int gdbpkt_hex_u64(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	unsigned int n = 0;
	int d;

	while ((d = hexval((uint8_t)*s)) >= 0) {
		if (++n > 16)
			return -EINVAL;
		x = x << 4 | (uint64_t)d;
		s++;
	}
	if (!n)
		return -EINVAL;
	*p = s;
	*v = x;
	return 0;
}
