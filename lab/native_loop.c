/* SPDX-License-Identifier: MIT */
/*
 * lab/01-direct-execution's native column: the guest lab_compute's loop
 * (guests/lib/lab_loop.h) as an ordinary process. Prints the same line:
 *   "lab_compute: iterations=N result=HEX tsc=CYCLES"
 * Usage: lab-native-loop [ITERATIONS] (default 20000000).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <x86intrin.h>

#include "lab_loop.h"

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000000;
	uint64_t t0, t1, h;

	if (n == 0) {
		fprintf(stderr, "lab-native-loop: ITERATIONS must be a positive number\n");
		return 2;
	}
	t0 = __rdtsc();
	h = lab_loop(n);
	t1 = __rdtsc();
	printf("lab_compute: iterations=%" PRIu64 " result=%016" PRIx64 " tsc=%" PRIu64 "\n", n, h,
	       t1 - t0);
	return 0;
}
