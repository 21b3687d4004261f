/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the snapshot container (snapshot/file.h) and the
 * streams on its sections (snapshot/snap.h).
 *
 * Input: one mode byte, then a state file. Mode bit 0 first rewrites the
 * file's last four bytes with its true CRC32C, so that inputs get past the
 * checksum into the section framing; bit 1 also reads the file through
 * snap_file_read from a memfd, which must judge it as snap_file_decode does.
 *
 * A refusal leaves the container empty with one line in `why`. An accepted
 * file encodes back to exactly its bytes (the format has one encoding); every
 * section is present, opens once (a second time is -EINVAL) and is walked by
 * a mix of snap_* calls chosen from its layout version, which fail only with
 * a reason, read zeroes once failed and never read past the payload; then
 * snap_file_unused finds nothing left. LeakSanitizer checks for leaks.
 *
 * Seeds in fuzz/corpus/snapshot_file/ (mode byte, then the file): a valid
 * file with three sections ("cpu.0", "uart", an empty "virtio-blk.0"), the
 * same with a bad checksum and cut short, and the valid one in modes 1 and 3;
 * state-*: the hostile-snapshot corpus (fuzz_snapshot_load.c's seeds too).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "le.h"
#include "snapshot/crc32c.h"
#include "snapshot/file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A reason: one line, terminated, not empty. */
static void check_why(int err, const char *why)
{
	if (err >= 0 || !memchr(why, 0, SNAP_WHY_MAX) || !why[0] || strchr(why, '\n'))
		abort();
}

/* Walk a section's stream with calls chosen by a xorshift from `seed`,
 * past its end too: the stream fails once, with a reason, and then only
 * reads zeroes. */
static void walk(struct snap *s, uint32_t seed)
{
	uint32_t x = seed | 1, v32;
	uint8_t v8, buf[64];
	uint16_t v16;
	uint64_t v64;
	int64_t i64;
	bool b;
	size_t off;
	int failed;

	for (int i = 0; i < 48; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		failed = snap_error(s);
		off = s->off;
		v64 = 0;
		switch (x % 8) {
		case 0:
			snap_u8(s, &v8);
			v64 = v8;
			break;
		case 1:
			snap_u16(s, &v16);
			v64 = v16;
			break;
		case 2:
			snap_u32(s, &v32);
			v64 = v32;
			break;
		case 3:
			snap_u64(s, &v64);
			break;
		case 4:
			snap_i64(s, &i64);
			v64 = (uint64_t)i64;
			break;
		case 5:
			b = false;
			snap_bool(s, &b);
			v64 = b;
			break;
		case 6:
			snap_bytes(s, buf, (x >> 8) % sizeof(buf));
			for (size_t k = 0; k < (x >> 8) % sizeof(buf); k++)
				v64 |= buf[k];
			break;
		default:
			snap_u32_max(s, &v32, (x >> 8) & 0xff, "field");
			if (v32 > ((x >> 8) & 0xff))
				abort();
			v64 = v32;
		}
		if (s->off > s->len || (failed && (v64 || s->off != off)))
			abort();
		if (snap_error(s))
			check_why(snap_error(s), s->why);
	}
	if (snap_finish(s))
		check_why(snap_error(s), s->why);
	else if (s->off != s->len)
		abort();
}

/* The decoded sections, saved again, encode to the input's bytes. */
static void round_trip(const struct snap_file *f, const uint8_t *data, size_t size)
{
	char why[SNAP_WHY_MAX];
	struct snap_file out;
	struct snap s;
	uint8_t *b;
	size_t len;

	snap_file_init(&out);
	for (unsigned int i = 0; i < f->n; i++) {
		snap_init_save(&s, SNAP_FILE_MAX);
		snap_bytes(&s, f->sec[i].payload, f->sec[i].len);
		if (snap_file_add(&out, f->sec[i].name, f->sec[i].version, &s, why))
			abort();
		snap_free(&s);
	}
	if (snap_file_encode(&out, &b, &len, why) || len != size || memcmp(b, data, size))
		abort();
	free(b);
	snap_file_free(&out);
}

/* snap_file_read from a memfd holding the bytes: the same verdict. */
static void read_same(const uint8_t *data, size_t size, int ret, const char *why)
{
	char why2[SNAP_WHY_MAX] = "";
	struct snap_file g;
	int fd = memfd_create("fuzz-snapshot", MFD_CLOEXEC);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	snap_file_init(&g);
	if (snap_file_read(&g, fd, why2) != ret || (ret && strcmp(why, why2)))
		abort();
	if (!ret && (g.n == 0) != (size == 24))
		abort();
	snap_file_free(&g);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[SNAP_WHY_MAX] = "", name[SNAP_NAME_MAX];
	struct snap_file f;
	uint32_t version;
	struct snap s;
	uint8_t *file, mode;
	int ret;

	if (size < 1)
		return 0;
	mode = data[0];
	size--;
	file = malloc(size ? size : 1); /* exact size: ASan sees any read past it */
	if (!file)
		abort();
	memcpy(file, data + 1, size);
	if ((mode & 1) && size >= 4)
		le_put(file + size - 4, crc32c(0, file, size - 4), 4);

	snap_file_init(&f);
	ret = snap_file_decode(&f, file, size, why);
	if (mode & 2)
		read_same(file, size, ret, why);
	if (ret) {
		check_why(ret, why);
		if (f.n || f.sec || f.data)
			abort();
		free(file);
		return 0;
	}
	round_trip(&f, file, size);
	for (unsigned int i = 0; i < f.n; i++) {
		memcpy(name, f.sec[i].name, sizeof(name));
		if (!memchr(name, 0, sizeof(name)) || !snap_file_has(&f, name) ||
		    snap_file_section(&f, name, &s, &version, why) || version != f.sec[i].version)
			abort();
		walk(&s, version ^ i);
		if (snap_file_section(&f, name, &s, &version, why) != -EINVAL)
			abort();
	}
	if (snap_file_unused(&f, why) || snap_file_has(&f, "no such") ||
	    snap_file_section(&f, "no such", &s, &version, why) != -ENOENT)
		abort();
	snap_file_free(&f);
	free(file);
	return 0;
}
