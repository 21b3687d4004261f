/* SPDX-License-Identifier: MIT */
/*
 * Snapshot state streams: the bidirectional field walkers (snap.h).
 */
#include "snapshot/snap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"

void snap_init_save(struct snap *s, size_t limit)
{
	memset(s, 0, sizeof(*s));
	s->op = SNAP_SAVE;
	s->limit = limit;
}

void snap_init_load(struct snap *s, const uint8_t *buf, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->op = SNAP_LOAD;
	s->buf = (uint8_t *)buf; /* never written through on LOAD */
	s->len = len;
}

void snap_free(struct snap *s)
{
	if (s->op == SNAP_SAVE)
		free(s->buf);
	s->buf = NULL;
	s->len = s->cap = 0;
}

static void snap_vfail(struct snap *s, int err, const char *fmt, va_list ap)
{
	if (s->err)
		return;
	s->err = err;
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
}

void snap_fail(struct snap *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	snap_vfail(s, err, fmt, ap);
	va_end(ap);
}

bool snap_check(struct snap *s, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (s->op == SNAP_SAVE)
		return true;
	if (!ok) {
		va_start(ap, fmt);
		snap_vfail(s, -EINVAL, fmt, ap);
		va_end(ap);
	}
	return ok;
}

/* SAVE: room for n more bytes, doubling up to the limit. */
static uint8_t *snap_room(struct snap *s, size_t n)
{
	size_t want, cap;
	uint8_t *p;

	if (s->err)
		return NULL;
	if (n > s->limit || s->len > s->limit - n) {
		snap_fail(s, -EFBIG, "state larger than %zu bytes", s->limit);
		return NULL;
	}
	want = s->len + n;
	if (want > s->cap) {
		cap = s->cap ? s->cap : 256;
		while (cap < want)
			cap = cap > s->limit / 2 ? s->limit : cap * 2;
		p = realloc(s->buf, cap);
		if (!p) {
			snap_fail(s, -ENOMEM, "out of memory for %zu bytes of state", cap);
			return NULL;
		}
		s->buf = p;
		s->cap = cap;
	}
	p = s->buf + s->len;
	s->len = want;
	return p;
}

/* LOAD: the next n bytes, or NULL (the stream has failed). */
static const uint8_t *snap_take(struct snap *s, size_t n)
{
	const uint8_t *p;

	if (s->err)
		return NULL;
	if (n > s->len - s->off) {
		snap_fail(s, -EINVAL, "truncated (%zu bytes wanted, %zu left)", n, s->len - s->off);
		return NULL;
	}
	p = s->buf + s->off;
	s->off += n;
	return p;
}

/* One little-endian integer of n bytes either way. */
static uint64_t snap_int(struct snap *s, uint64_t v, unsigned int n)
{
	if (s->op == SNAP_SAVE) {
		uint8_t *p = snap_room(s, n);

		if (p)
			le_put(p, v, n);
		return v;
	}
	const uint8_t *p = snap_take(s, n);

	return p ? le_get(p, n) : 0;
}

void snap_u8(struct snap *s, uint8_t *v)
{
	*v = (uint8_t)snap_int(s, *v, 1);
}

void snap_u16(struct snap *s, uint16_t *v)
{
	*v = (uint16_t)snap_int(s, *v, 2);
}

void snap_u32(struct snap *s, uint32_t *v)
{
	*v = (uint32_t)snap_int(s, *v, 4);
}

void snap_u64(struct snap *s, uint64_t *v)
{
	*v = snap_int(s, *v, 8);
}

void snap_i64(struct snap *s, int64_t *v)
{
	*v = (int64_t)snap_int(s, (uint64_t)*v, 8);
}

void snap_bool(struct snap *s, bool *v)
{
	/* On LOAD *v may be uninitialised: read it only when saving. */
	uint64_t b = snap_int(s, s->op == SNAP_SAVE && *v ? 1 : 0, 1);

	if (snap_check(s, b <= 1, "boolean %llu is not 0 or 1", (unsigned long long)b))
		*v = b;
	else
		*v = false;
}

void snap_bytes(struct snap *s, void *p, size_t n)
{
	/* Nothing to move; and a stream without a buffer yet (NULL) must not
	 * offset it, even by 0 (undefined behaviour). */
	if (!n)
		return;
	if (s->op == SNAP_SAVE) {
		uint8_t *d = snap_room(s, n);

		if (d)
			memcpy(d, p, n);
		return;
	}
	const uint8_t *src = snap_take(s, n);

	if (src)
		memcpy(p, src, n);
	else
		memset(p, 0, n);
}

void snap_u32_max(struct snap *s, uint32_t *v, uint32_t max, const char *what)
{
	snap_u32(s, v);
	if (!snap_check(s, *v <= max, "%s %u out of range (max %u)", what, *v, max))
		*v = 0;
}

int snap_finish(struct snap *s)
{
	if (s->op == SNAP_LOAD && !s->err && s->off != s->len)
		snap_fail(s, -EINVAL, "%zu trailing bytes", s->len - s->off);
	return s->err;
}
