/* SPDX-License-Identifier: MIT */
/*
 * The snapshot container (file.h; the layout is docs/snapshot.md's
 * "Container format").
 *
 * A decode checks the bytes where they are (snap_file_parse), pointing the
 * sections into them, and only then keeps them: snap_file_decode copies
 * the caller's bytes, snap_file_read hands over the buffer it read into.
 * Every length in the file is compared with the bytes left before it is
 * used, by subtraction (`len > end - pos`), which cannot overflow; nothing is
 * allocated from a length in the file except the section array, whose
 * count is checked against SNAP_SECTIONS_MAX and the bytes present first.
 *
 * A saving container (f->data == NULL) owns its sections' payloads; a
 * loaded one's payloads point into f->data.
 */
#include "snapshot/file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "le.h"
#include "snapshot/crc32c.h"

#define SNAP_MAGIC "PETRELSN"
#define SNAP_MAGIC_LEN 8
#define SNAP_HDR_LEN (SNAP_MAGIC_LEN + 4 + 4 + 4) /* magic, version, flags, count */
#define SNAP_CRC_LEN 4
#define SNAP_SEC_HDR (1 + 4 + 8)	/* name length, layout version, payload length */
#define SNAP_SEC_MIN (SNAP_SEC_HDR + 1) /* with a one-byte name and no payload */
#define SNAP_READ_CHUNK (64u << 10)

static int snap_file_fail(char why[SNAP_WHY_MAX], int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int snap_file_fail(char why[SNAP_WHY_MAX], int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, SNAP_WHY_MAX, fmt, ap);
	va_end(ap);
	return err;
}

static bool snap_name_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* The first of n name bytes that is not allowed, or n if all are. */
static size_t snap_name_bad(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && snap_name_char(p[i]); i++)
		;
	return i;
}

static struct snap_section *snap_file_find(const struct snap_file *f, const char *name)
{
	for (unsigned int i = 0; i < f->n; i++)
		if (!strcmp(f->sec[i].name, name))
			return &f->sec[i];
	return NULL;
}

void snap_file_init(struct snap_file *f)
{
	memset(f, 0, sizeof(*f));
}

void snap_file_free(struct snap_file *f)
{
	if (!f->data)
		for (unsigned int i = 0; i < f->n; i++)
			free(f->sec[i].payload);
	free(f->sec);
	free(f->data);
	snap_file_init(f);
}

/* On failure s keeps its buffer (the caller's snap_free releases it, as it
 * does the emptied stream on success). */
int snap_file_add(struct snap_file *f, const char *name, uint32_t version, struct snap *s,
		  char why[SNAP_WHY_MAX])
{
	size_t n = strnlen(name, SNAP_NAME_MAX);
	struct snap_section *sec;
	unsigned int cap;

	if (s->err)
		return snap_file_fail(why, s->err, "section '%s': %s", name, s->why);
	if (s->op != SNAP_SAVE || f->data)
		return snap_file_fail(why, -EINVAL,
				      "section '%s': not a saving stream and container", name);
	if (n == 0 || n == SNAP_NAME_MAX || snap_name_bad((const uint8_t *)name, n) != n)
		return snap_file_fail(why, -EINVAL, "bad section name '%.*s'", (int)n, name);
	if (snap_file_find(f, name))
		return snap_file_fail(why, -EEXIST, "section '%s' repeated", name);
	if (f->n == SNAP_SECTIONS_MAX)
		return snap_file_fail(why, -E2BIG, "more than %d sections", SNAP_SECTIONS_MAX);
	if (f->n == f->cap) {
		cap = f->cap ? 2 * f->cap : 16;
		sec = realloc(f->sec, cap * sizeof(*sec));
		if (!sec)
			return snap_file_fail(why, -ENOMEM, "out of memory for %u sections", cap);
		f->sec = sec;
		f->cap = cap;
	}
	sec = &f->sec[f->n++];
	memset(sec, 0, sizeof(*sec));
	memcpy(sec->name, name, n);
	sec->version = version;
	sec->payload = s->buf;
	sec->len = s->len;
	snap_init_save(s, s->limit);
	return 0;
}

/* The encoded size, or 0 (with the reason) over SNAP_FILE_MAX, which a
 * decode would refuse. */
static size_t snap_file_size(const struct snap_file *f, char why[SNAP_WHY_MAX])
{
	size_t total = SNAP_HDR_LEN + SNAP_CRC_LEN, one;

	for (unsigned int i = 0; i < f->n; i++) {
		one = SNAP_SEC_HDR + strlen(f->sec[i].name);
		/* total <= SNAP_FILE_MAX throughout, so neither side overflows */
		if (f->sec[i].len > SNAP_FILE_MAX || one + f->sec[i].len > SNAP_FILE_MAX - total) {
			snap_file_fail(why, -EFBIG, "state larger than %u bytes (at '%s')",
				       SNAP_FILE_MAX, f->sec[i].name);
			return 0;
		}
		total += one + f->sec[i].len;
	}
	return total;
}

int snap_file_encode(const struct snap_file *f, uint8_t **out, size_t *len, char why[SNAP_WHY_MAX])
{
	size_t size = snap_file_size(f, why), pos, n;
	uint8_t *b;

	if (!size)
		return -EFBIG;
	b = malloc(size);
	if (!b)
		return snap_file_fail(why, -ENOMEM, "out of memory for %zu bytes of state", size);
	memcpy(b, SNAP_MAGIC, SNAP_MAGIC_LEN);
	le_put(b + 8, SNAP_FORMAT_VERSION, 4);
	le_put(b + 12, 0, 4); /* flags */
	le_put(b + 16, f->n, 4);
	pos = SNAP_HDR_LEN;
	for (unsigned int i = 0; i < f->n; i++) {
		const struct snap_section *sec = &f->sec[i];

		n = strlen(sec->name);
		b[pos++] = (uint8_t)n;
		memcpy(b + pos, sec->name, n);
		pos += n;
		le_put(b + pos, sec->version, 4);
		le_put(b + pos + 4, sec->len, 8);
		pos += 12;
		if (sec->len)
			memcpy(b + pos, sec->payload, sec->len);
		pos += sec->len;
	}
	le_put(b + pos, crc32c(0, b, pos), 4);
	*out = b;
	*len = size;
	return 0;
}

int snap_file_write(const struct snap_file *f, int fd, char why[SNAP_WHY_MAX])
{
	size_t len, done = 0;
	uint8_t *b;
	ssize_t n;
	int ret;

	ret = snap_file_encode(f, &b, &len, why);
	if (ret)
		return ret;
	while (done < len) {
		n = write(fd, b + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			snap_file_fail(why, ret, "cannot write: %s", strerror(-ret));
			break;
		}
		done += (size_t)n;
	}
	free(b);
	return ret;
}

/* Section f->n at *pos, framed within [*pos, end) of buf: its name checked
 * and unique, its payload inside. */
static int snap_file_parse_section(struct snap_file *f, const uint8_t *buf, size_t *pos, size_t end,
				   char why[SNAP_WHY_MAX])
{
	struct snap_section *sec = &f->sec[f->n];
	size_t p = *pos, n, bad;
	uint64_t len;

	if (p == end)
		return snap_file_fail(why, -EINVAL, "section %u: truncated", f->n);
	n = buf[p++];
	if (n == 0 || n >= SNAP_NAME_MAX)
		return snap_file_fail(why, -EINVAL, "section %u: name length %zu (1 to %d)", f->n,
				      n, SNAP_NAME_MAX - 1);
	if (n > end - p)
		return snap_file_fail(why, -EINVAL, "section %u: truncated name", f->n);
	bad = snap_name_bad(buf + p, n);
	if (bad != n)
		return snap_file_fail(
		    why, -EINVAL,
		    "section %u: byte 0x%02x in its name (allowed: A-Z a-z 0-9 _ . -)", f->n,
		    buf[p + bad]);
	memcpy(sec->name, buf + p, n);
	sec->name[n] = 0;
	p += n;
	if (snap_file_find(f, sec->name))
		return snap_file_fail(why, -EINVAL, "section '%s' repeated", sec->name);
	if (12 > end - p)
		return snap_file_fail(why, -EINVAL, "section '%s': truncated", sec->name);
	sec->version = (uint32_t)le_get(buf + p, 4);
	len = le_get(buf + p + 4, 8);
	p += 12;
	if (len > end - p)
		return snap_file_fail(why, -EINVAL, "section '%s': %llu bytes, only %zu left",
				      sec->name, (unsigned long long)len, end - p);
	sec->payload = (uint8_t *)buf + p; /* rebased onto the kept copy, never written */
	sec->len = (size_t)len;
	*pos = p + sec->len;
	f->n++;
	return 0;
}

/* Check `len` bytes at `buf` in the order docs/snapshot.md gives and point
 * an empty f's sections into them (f->data stays the caller's to set). On
 * failure f is left empty. */
static int snap_file_parse(struct snap_file *f, const uint8_t *buf, size_t len,
			   char why[SNAP_WHY_MAX])
{
	uint32_t version, flags, count;
	size_t pos, end;
	int ret;

	if (len < SNAP_HDR_LEN + SNAP_CRC_LEN)
		return snap_file_fail(why, -EINVAL,
				      "truncated (%zu bytes, a snapshot has %d or more)", len,
				      SNAP_HDR_LEN + SNAP_CRC_LEN);
	if (memcmp(buf, SNAP_MAGIC, SNAP_MAGIC_LEN))
		return snap_file_fail(why, -EINVAL, "not a petrel snapshot (bad magic)");
	version = (uint32_t)le_get(buf + 8, 4);
	if (version > SNAP_FORMAT_VERSION)
		return snap_file_fail(why, -EINVAL,
				      "format version %u is newer than this petrel's (%d)", version,
				      SNAP_FORMAT_VERSION);
	if (version == 0)
		return snap_file_fail(why, -EINVAL, "format version 0 is not valid");
	flags = (uint32_t)le_get(buf + 12, 4);
	if (flags)
		return snap_file_fail(why, -EINVAL, "unknown flags 0x%x", flags);
	if (len > SNAP_FILE_MAX)
		return snap_file_fail(why, -EFBIG, "%zu bytes, more than the limit of %u", len,
				      SNAP_FILE_MAX);
	end = len - SNAP_CRC_LEN;
	if (crc32c(0, buf, end) != le_get(buf + end, 4))
		return snap_file_fail(why, -EINVAL, "bad checksum");
	count = (uint32_t)le_get(buf + 16, 4);
	if (count > SNAP_SECTIONS_MAX)
		return snap_file_fail(why, -EINVAL, "%u sections, more than %d", count,
				      SNAP_SECTIONS_MAX);
	if (count > (end - SNAP_HDR_LEN) / SNAP_SEC_MIN)
		return snap_file_fail(why, -EINVAL, "truncated (%u sections in %zu bytes)", count,
				      end - SNAP_HDR_LEN);
	if (count) {
		f->sec = calloc(count, sizeof(*f->sec));
		if (!f->sec)
			return snap_file_fail(why, -ENOMEM, "out of memory for %u sections", count);
		f->cap = count;
	}
	pos = SNAP_HDR_LEN;
	while (f->n < count) {
		ret = snap_file_parse_section(f, buf, &pos, end, why);
		if (ret)
			goto err;
	}
	if (pos != end) {
		ret = snap_file_fail(why, -EINVAL, "%zu trailing bytes after the last section",
				     end - pos);
		goto err;
	}
	return 0;
err:
	free(f->sec);
	snap_file_init(f);
	return ret;
}

/* f must be empty (snap_file_init); on failure it stays so. */
int snap_file_decode(struct snap_file *f, const uint8_t *buf, size_t len, char why[SNAP_WHY_MAX])
{
	uint8_t *copy;
	int ret;

	ret = snap_file_parse(f, buf, len, why);
	if (ret)
		return ret;
	copy = malloc(len);
	if (!copy) {
		free(f->sec); /* not snap_file_free: the payloads point into buf */
		snap_file_init(f);
		return snap_file_fail(why, -ENOMEM, "out of memory for %zu bytes", len);
	}
	memcpy(copy, buf, len);
	for (unsigned int i = 0; i < f->n; i++)
		f->sec[i].payload = copy + (f->sec[i].payload - buf);
	f->data = copy;
	f->len = len;
	return 0;
}

/* f must be empty; on failure it stays so. A regular file's size only
 * sizes the first buffer (and refuses one plainly too big early): the
 * read loop enforces the limit, for pipes and for files that grow. */
int snap_file_read(struct snap_file *f, int fd, char why[SNAP_WHY_MAX])
{
	size_t len = 0, cap = SNAP_READ_CHUNK;
	uint8_t *buf, *bigger;
	struct stat st;
	ssize_t n;
	int ret;

	if (fstat(fd, &st) < 0)
		return snap_file_fail(why, -errno, "cannot stat: %s", strerror(errno));
	if (S_ISREG(st.st_mode) && st.st_size > SNAP_FILE_MAX)
		return snap_file_fail(why, -EFBIG, "%lld bytes, more than the limit of %u",
				      (long long)st.st_size, SNAP_FILE_MAX);
	if (S_ISREG(st.st_mode) && st.st_size > 0)
		cap = (size_t)st.st_size + 1; /* + 1: the end of file needs no growth */
	buf = malloc(cap);
	if (!buf)
		return snap_file_fail(why, -ENOMEM, "out of memory for %zu bytes", cap);
	for (;;) {
		if (len == cap) { /* len <= SNAP_FILE_MAX here, so the limit + 1 fits */
			cap = cap > SNAP_FILE_MAX / 2 ? SNAP_FILE_MAX + 1 : 2 * cap;
			bigger = realloc(buf, cap);
			if (!bigger) {
				ret = snap_file_fail(why, -ENOMEM, "out of memory for %zu bytes",
						     cap);
				goto err;
			}
			buf = bigger;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = snap_file_fail(why, -errno, "cannot read: %s", strerror(errno));
			goto err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > SNAP_FILE_MAX) {
			ret = snap_file_fail(why, -EFBIG, "more than the limit of %u bytes",
					     SNAP_FILE_MAX);
			goto err;
		}
	}
	ret = snap_file_parse(f, buf, len, why);
	if (ret)
		goto err;
	f->data = buf;
	f->len = len;
	return 0;
err:
	free(buf);
	return ret;
}

int snap_file_section(struct snap_file *f, const char *name, struct snap *s, uint32_t *version,
		      char why[SNAP_WHY_MAX])
{
	struct snap_section *sec = snap_file_find(f, name);

	if (!sec)
		return snap_file_fail(why, -ENOENT, "section '%s' missing", name);
	if (sec->used)
		return snap_file_fail(why, -EINVAL, "section '%s' opened twice", name);
	sec->used = true;
	snap_init_load(s, sec->payload, sec->len);
	*version = sec->version;
	return 0;
}

bool snap_file_has(const struct snap_file *f, const char *name)
{
	return snap_file_find(f, name) != NULL;
}

int snap_file_unused(const struct snap_file *f, char why[SNAP_WHY_MAX])
{
	for (unsigned int i = 0; i < f->n; i++)
		if (!f->sec[i].used)
			return snap_file_fail(why, -EINVAL, "unknown section '%s'", f->sec[i].name);
	return 0;
}
