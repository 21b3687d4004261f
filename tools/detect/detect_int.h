/* SPDX-License-Identifier: MIT */
/*
 * What detect.c, detect_cpu.c and detect_platform.c share: string helpers
 * (the core is freestanding, so no libc) and the names evidence gives.
 */
#ifndef PETREL_DETECT_INT_H
#define PETREL_DETECT_INT_H

#include "detect.h"

size_t detect_strlen(const char *s);
size_t detect_strnlen(const char *s, size_t max);
/* `needle` in the first `len` bytes of `hay`; case-insensitive if `fold`. */
bool detect_find(const char *hay, size_t len, const char *needle, bool fold);
/* Does s[0..len) start with `prefix`? */
bool detect_prefix(const char *s, size_t len, const char *prefix);
/* Copy the string src (NULL: "") into dst[cap], truncating; cap > 0. */
void detect_copy(char *dst, size_t cap, const char *src);
/* Append s[0..len) (at most 48 bytes) to e's detail, '.' for unprintable
 * bytes. e may be NULL (a full report). */
void detect_detail_bytes(struct detect_evidence *e, const char *s, size_t len);

/* True if s[0..len) has a word that names a VM (DMI strings, brand
 * strings; case-insensitive); *who gets the name it gives, or NULL. */
bool detect_vm_word(const char *s, size_t len, const char **who);

/* The names evidence carries. detect_verdict ranks them by identity, so
 * every piece of evidence points at these very arrays. */
extern const char detect_name_petrel[], detect_name_kvm[], detect_name_qemu[],
    detect_name_firecracker[], detect_name_hyperv[], detect_name_vmware[], detect_name_xen[],
    detect_name_vbox[], detect_name_tcg[], detect_name_bhyve[], detect_name_parallels[],
    detect_name_acrn[], detect_name_cloudh[], detect_name_gce[], detect_name_jailhouse[];

#endif
