// SPDX-License-Identifier: MIT
// Prints this machine's TSC frequency in Hz: TSC ticks over 200 ms of
// CLOCK_MONOTONIC_RAW, the median of 5 tries. bench/run uses it to convert
// the cycle counts guests take with RDTSC (KVM guests see the host's TSC
// rate unless it is scaled, and none of the peers scales it).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	double hz[5];

	for (int i = 0; i < 5; i++) {
		double t0 = now(), t1;
		uint64_t c0 = __rdtsc(), c1;

		do
			t1 = now();
		while (t1 - t0 < 0.2);
		c1 = __rdtsc();
		hz[i] = (double)(c1 - c0) / (t1 - t0);
	}
	qsort(hz, 5, sizeof(hz[0]), cmp);
	printf("%.0f\n", hz[2]);
	return 0;
}
