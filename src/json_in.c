/* SPDX-License-Identifier: MIT */
#include "json_in.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static int json_in_fail(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int json_in_fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Append to err[0..errsz) at *len, cut at the end of the buffer. */
static void json_in_append(char *err, size_t errsz, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void json_in_append(char *err, size_t errsz, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len + 1 >= errsz)
		return;
	va_start(ap, fmt);
	n = vsnprintf(err + *len, errsz - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len = *len + (size_t)n < errsz ? *len + (size_t)n : errsz - 1;
}

void json_in_seed(void)
{
	size_t seed = 0;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (size_t)time(NULL);
	json_object_seed(seed ? seed : 1);
}

json_t *json_in_parse(const char *text, size_t len, char *err, size_t errsz)
{
	json_error_t je;
	/* JSON_REJECT_DUPLICATES: {"a": 1, "a": 2} would otherwise keep the
	 * last silently; NUL in strings stays refused (no JSON_ALLOW_NUL). */
	json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);

	if (!v)
		/* jansson's text for a NUL names its own flag: say it plainly. */
		json_in_fail(err, errsz, "%s at line %d column %d",
			     json_error_code(&je) == json_error_null_character
				 ? "\\u0000 (NUL) is not allowed in strings"
				 : je.text,
			     je.line, je.column);
	return v;
}

static const char *json_in_what(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* "unknown field `x`, expected one of `a`, `b`" */
static int json_in_unknown(const char *key, const struct json_in_field *f, size_t n, char *err,
			   size_t errsz)
{
	char shown[65];
	size_t len = 0, i;

	/* The key is the client's: printable ASCII only, and not all of it. */
	for (i = 0; key[i] && i < sizeof(shown) - 1; i++)
		shown[i] = key[i] >= 0x20 && key[i] < 0x7f ? key[i] : '?';
	shown[i] = 0;
	json_in_append(err, errsz, &len, "unknown field `%s`, expected %s", shown,
		       n == 1 ? "" : "one of ");
	for (i = 0; i < n; i++)
		json_in_append(err, errsz, &len, "%s`%s`", i ? ", " : "", f[i].name);
	return -EINVAL;
}

static int json_in_number(const json_t *v, const struct json_in_field *f, void *at, char *err,
			  size_t errsz)
{
	uint64_t max = f->max ? f->max : f->type == JIN_U32 ? UINT32_MAX : (uint64_t)INT64_MAX;
	json_int_t i;

	if (!json_is_integer(v))
		return json_in_fail(err, errsz, "`%s`: expected an unsigned integer, got %s",
				    f->name, json_in_what(v));
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return json_in_fail(err, errsz, "`%s`: %lld is out of range (0 to %llu)", f->name,
				    (long long)i, (unsigned long long)max);
	if (f->type == JIN_U32)
		*(uint32_t *)at = (uint32_t)i;
	else
		*(uint64_t *)at = (uint64_t)i;
	return 0;
}

static int json_in_enum(const json_t *v, const struct json_in_field *f, void *at, char *err,
			size_t errsz)
{
	size_t len = 0;

	if (json_is_string(v))
		for (int i = 0; f->names[i]; i++)
			if (!strcmp(json_string_value(v), f->names[i])) {
				*(int *)at = i;
				return 0;
			}
	json_in_append(err, errsz, &len, "`%s`: expected one of ", f->name);
	for (int i = 0; f->names[i]; i++)
		json_in_append(err, errsz, &len, "%s\"%s\"", i ? ", " : "", f->names[i]);
	return -EINVAL;
}

static int json_in_field(const json_t *v, const struct json_in_field *f, void *out, char *err,
			 size_t errsz)
{
	void *at = (char *)out + f->offset;

	switch (f->type) {
	case JIN_STRING:
		if (!json_is_string(v))
			return json_in_fail(err, errsz, "`%s`: expected a string, got %s", f->name,
					    json_in_what(v));
		if (json_string_length(v) >= f->size)
			return json_in_fail(err, errsz, "`%s`: longer than %zu bytes", f->name,
					    f->size - 1);
		memcpy(at, json_string_value(v), json_string_length(v) + 1);
		return 0;
	case JIN_BOOL:
		if (!json_is_boolean(v))
			return json_in_fail(err, errsz, "`%s`: expected a boolean, got %s", f->name,
					    json_in_what(v));
		*(bool *)at = json_is_true(v);
		return 0;
	case JIN_U32:
	case JIN_U64:
		return json_in_number(v, f, at, err, errsz);
	case JIN_ENUM:
		return json_in_enum(v, f, at, err, errsz);
	case JIN_OBJECT:
	case JIN_ARRAY:
		if (f->type == JIN_OBJECT ? !json_is_object(v) : !json_is_array(v))
			return json_in_fail(err, errsz, "`%s`: expected %s, got %s", f->name,
					    f->type == JIN_OBJECT ? "an object" : "an array",
					    json_in_what(v));
		if (f->object(v, at, err, errsz)) {
			char inner[JSON_ERR_MAX];

			snprintf(inner, sizeof(inner), "%s", err);
			return json_in_fail(err, errsz, "`%s`: %s", f->name, inner);
		}
		return 0;
	}
	return -EINVAL;
}

int json_in_object(const json_t *v, const struct json_in_field *fields, size_t n, void *out,
		   uint64_t *present, char *err, size_t errsz)
{
	uint64_t seen = 0;
	const char *key;
	json_t *value;

	if (!json_is_object(v))
		return json_in_fail(err, errsz, "expected an object, got %s", json_in_what(v));
	json_object_foreach((json_t *)v, key, value)
	{
		size_t i;

		for (i = 0; i < n && strcmp(key, fields[i].name); i++)
			;
		if (i == n)
			return json_in_unknown(key, fields, n, err, errsz);
		if (json_is_null(value))
			continue;
		if (json_in_field(value, &fields[i], out, err, errsz))
			return -EINVAL;
		seen |= 1ULL << i;
	}
	for (size_t i = 0; i < n; i++)
		if (fields[i].required && !(seen & (1ULL << i)))
			return json_in_fail(err, errsz, "missing field `%s`", fields[i].name);
	if (present)
		*present = seen;
	return 0;
}
