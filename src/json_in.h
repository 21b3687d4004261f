/* SPDX-License-Identifier: MIT */
/*
 * Reading JSON into C structs, strictly, by a table of fields: the way
 * Firecracker's serde structs with deny_unknown_fields read a body. An
 * unknown field, a missing required one, a wrong type, a number out of
 * range or a string too long is an error with a message naming the field;
 * null is an absent optional field. Parsing the text itself is jansson's
 * (json_in_parse): strict RFC 8259, UTF-8 checked, duplicate keys and
 * NUL characters refused, nesting bounded.
 */
#ifndef PETREL_JSON_IN_H
#define PETREL_JSON_IN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define JSON_ERR_MAX 256

enum json_in_type {
	JIN_STRING, /* char[size], NUL-terminated */
	JIN_BOOL,   /* bool */
	JIN_U32,    /* uint32_t, at most max (0: UINT32_MAX) */
	JIN_U64,    /* uint64_t, at most max (0: INT64_MAX, jansson's limit) */
	JIN_ENUM,   /* int: the index of the string in names[] */
	JIN_OBJECT, /* parsed by object(), into out + offset */
	JIN_ARRAY,  /* an array, parsed by object() (the whole array) */
};

struct json_in_field {
	const char *name;
	enum json_in_type type;
	bool required;
	size_t offset;		  /* of the value in the output struct */
	size_t size;		  /* JIN_STRING: the buffer's size */
	uint64_t max;		  /* JIN_U32 / JIN_U64 */
	const char *const *names; /* JIN_ENUM: NULL-terminated */
	/* JIN_OBJECT, JIN_ARRAY: read v into `out`. 0, or -EINVAL with err set. */
	int (*object)(const json_t *v, void *out, char *err, size_t errsz);
};

/* Parse `len` bytes of JSON text. The value, or NULL with err set
 * ("... at line L column C"). */
json_t *json_in_parse(const char *text, size_t len, char *err, size_t errsz);

/* Read object `v` by fields[0..n) into `out`. *present (if not NULL) gets
 * bit i for each field i given a non-null value. 0, or -EINVAL with err
 * set (the first problem found). */
int json_in_object(const json_t *v, const struct json_in_field *fields, size_t n, void *out,
		   uint64_t *present, char *err, size_t errsz) MUST_CHECK;

/* The jansson hash seed, from getrandom: before any object is built (else
 * jansson reads /dev/urandom on first use, which a seccomp filter or a
 * jail may not allow). */
void json_in_seed(void);

#endif
