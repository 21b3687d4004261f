/* SPDX-License-Identifier: MIT */
/* What the user asked for: the result of parsing the command line. */
#ifndef PETREL_CONFIG_H
#define PETREL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define CONFIG_DEFAULT_MEM (256ULL << 20)
#define CONFIG_MIN_MEM (16ULL << 20)
#define CONFIG_DEFAULT_CPUS 1
#define CONFIG_MAX_CPUS 254 /* APIC IDs 0..254 fit xAPIC; 255 is broadcast */

struct vm_config {
	const char *kernel;
	const char *initrd;  /* NULL: none */
	const char *cmdline; /* user's part; NULL: none */
	uint64_t mem_size;   /* bytes */
	unsigned int cpus;
};

#endif
