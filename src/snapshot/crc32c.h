/* SPDX-License-Identifier: MIT */
/* CRC32C (Castagnoli), the snapshot container's checksum (snapshot/file.h). */
#ifndef PETREL_SNAPSHOT_CRC32C_H
#define PETREL_SNAPSHOT_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC32C of `len` bytes at `buf`, continuing from `crc` (0 to start):
 * crc32c(crc32c(0, a, n), b, m) is the CRC of a followed by b.
 * crc32c(0, "123456789", 9) == 0xe3069283. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
