/* SPDX-License-Identifier: MIT */
/*
 * A tiny unit-test harness. Each case prints one line, "PASS name" or
 * "FAIL name: file:line: expression" (the first failed check), or
 * "SKIP name: why"; harness_exit() returns 1 if any case failed.
 *
 *   static void mem_ptr_inside(void) { CHECK(gm_ptr(&gm, 0, 1) != NULL); }
 *   int main(void) { RUN(mem_ptr_inside); return harness_exit(); }
 *
 * CHECK records a failure and carries on; REQUIRE records it and returns
 * from the (void) case function, for checks later ones depend on. Table
 * rows can be cases of their own: harness_begin(name) ... harness_end().
 */
#ifndef PETREL_TEST_HARNESS_H
#define PETREL_TEST_HARNESS_H

#include <stdbool.h>
#include <stdio.h>

struct harness {
	char name[128];
	const char *expr, *file, *skip;
	int line;
	unsigned int failed;
};

static struct harness harness;

static inline bool harness_check(bool ok, const char *expr, const char *file, int line)
{
	if (!ok && !harness.expr) {
		harness.expr = expr;
		harness.file = file;
		harness.line = line;
	}
	return ok;
}

#define CHECK(e) ((void)harness_check((e), #e, __FILE__, __LINE__))
#define REQUIRE(e)                                                                                 \
	do {                                                                                       \
		if (!harness_check((e), #e, __FILE__, __LINE__))                                   \
			return;                                                                    \
	} while (0)
#define SKIP(why)                                                                                  \
	do {                                                                                       \
		harness.skip = (why);                                                              \
		return;                                                                            \
	} while (0)

static inline void harness_begin(const char *name)
{
	snprintf(harness.name, sizeof(harness.name), "%s", name);
	harness.expr = harness.file = harness.skip = NULL;
	harness.line = 0;
}

static inline void harness_end(void)
{
	if (harness.expr) {
		printf("FAIL %s: %s:%d: %s\n", harness.name, harness.file, harness.line,
		       harness.expr);
		harness.failed++;
	} else if (harness.skip) {
		printf("SKIP %s: %s\n", harness.name, harness.skip);
	} else {
		printf("PASS %s\n", harness.name);
	}
	fflush(stdout);
}

#define RUN(fn)                                                                                    \
	do {                                                                                       \
		harness_begin(#fn);                                                                \
		fn();                                                                              \
		harness_end();                                                                     \
	} while (0)

static inline int harness_exit(void)
{
	return harness.failed ? 1 : 0;
}

#endif
