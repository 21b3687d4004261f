/* SPDX-License-Identifier: MIT */
#ifndef PETREL_SIZE_H
#define PETREL_SIZE_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* Parse "128M", "2G", "1024K", "65536" (bytes) into *out. Suffixes K, M, G,
 * T (powers of 1024), case-insensitive, with an optional "iB"/"B". 0, or
 * -EINVAL for anything else, including overflow. */
int size_parse(const char *s, uint64_t *out) MUST_CHECK;

/* Write v as size_parse reads it, in the largest unit that divides it:
 * "16M", "1K", "0", "16777217". Truncated to fit buf (len > 0). */
void size_format(uint64_t v, char *buf, size_t len);

/* Parse a decimal unsigned integer in [min, max]. 0 or -EINVAL. */
int uint_parse(const char *s, unsigned int min, unsigned int max, unsigned int *out) MUST_CHECK;

#endif
