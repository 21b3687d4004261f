/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the hypercall port: the input is an access to the
 * port followed by the contents of a small guest RAM. ASan checks that
 * every byte the handler or its console callback touches is inside RAM;
 * the callbacks check the contracts of struct hypercall_ops.
 *
 * Input: value (4 bytes, LE), control (1 byte: bits 0-1 access size
 * 1/2/4/8, bit 2 read, bit 3 take the value modulo the RAM size, bits 4-5
 * port offset), then RAM.
 */
#include <stdlib.h>
#include <string.h>

#include "dev/hypercall.h"
#include "le.h"
#include "petrel/hypercall.h"

#define RAM_SIZE 4096

static volatile uint8_t fuzz_sink; /* keeps the console callback's reads */

static void fuzz_console(void *opaque, const uint8_t *buf, size_t len)
{
	(void)opaque;
	if (len == 0 || len > PETREL_HC_CONSOLE_MAX)
		abort();
	for (size_t i = 0; i < len; i++)
		fuzz_sink ^= buf[i];
}

static void fuzz_shutdown(void *opaque, int status)
{
	(void)opaque;
	if (status < 0 || status > 255)
		abort();
}

static const struct hypercall_ops fuzz_ops = {
	.console = fuzz_console,
	.shutdown = fuzz_shutdown,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gm gm = { 0 };
	struct hypercall *hc;
	uint8_t *ram, port[8] = { 0 };
	uint64_t value;
	uint8_t ctl;
	uint32_t len;

	if (size < 5)
		return 0;
	value = le_get(data, 4);
	ctl = data[4];
	len = 1u << (ctl & 3);
	if (ctl & 8)
		value %= RAM_SIZE;
	/* Exactly RAM_SIZE bytes, so ASan sees any access past the end. */
	ram = calloc(1, RAM_SIZE);
	if (!ram)
		return 0;
	memcpy(ram, data + 5, size - 5 < RAM_SIZE ? size - 5 : RAM_SIZE);
	if (gm_add_region(&gm, 0, RAM_SIZE, ram) == 0) {
		hc = hypercall_new(&gm, &fuzz_ops, NULL);
		if (hc) {
			le_put(port, value, 4);
			hypercall_io(hc, (ctl >> 4) & 3, port, len, !(ctl & 4));
			free(hc);
		}
	}
	free(ram);
	return 0;
}
