/* SPDX-License-Identifier: MIT */
#include "size.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <strings.h>

static int digits_parse(const char **s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = *s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*s = p;
	*out = v;
	return 0;
}

int size_parse(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	uint64_t v;
	unsigned int shift = 0;

	if (!s || digits_parse(&s, &v))
		return -EINVAL;
	if (*s) {
		for (unsigned int i = 0; units[i]; i++)
			if (toupper((unsigned char)*s) == units[i])
				shift = 10 * (i + 1);
		if (!shift)
			return -EINVAL;
		s++;
		if (strcasecmp(s, "") && strcasecmp(s, "B") && strcasecmp(s, "iB"))
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

void size_format(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int i = -1;

	while (v && i < 3 && !(v & 1023)) {
		v >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)v, units[i]);
}

int uint_parse(const char *s, unsigned int min, unsigned int max, unsigned int *out)
{
	uint64_t v;

	if (!s || digits_parse(&s, &v) || *s || v < min || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}
