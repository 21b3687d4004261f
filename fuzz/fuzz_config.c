/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the config file (--config-file): the input is the
 * document's text, read as config_json_load reads it (json_in_parse,
 * config_json_document). A rejected document leaves the configuration as
 * it was; an accepted one must have every string terminated and the
 * counts in bounds, must be judged by config_check in exactly one line or
 * none, and must come back equal from its dump (config_json_dump, GET
 * /vm/config) read as a document again: the round trip.
 *
 * Seeds in fuzz/corpus/config/: Firecracker's own documents (its
 * tests/framework/vm_config.json and the getting-started examples) and
 * petrel's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_equal.h"
#include "config_json.h"
#include "fuzz_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm_config cfg, back, before;

/* The dump of cfg, read back into `back` from the defaults. */
static void round_trip(void)
{
	char err[JSON_ERR_MAX], *text = config_json_dump(&cfg);
	json_t *doc;

	if (!text)
		abort(); /* ENOMEM only: the fuzzer's inputs are small */
	doc = json_in_parse(text, strlen(text), err, sizeof(err));
	if (!doc) {
		fprintf(stderr, "the dump does not parse: %s\n%s\n", err, text);
		abort();
	}
	config_init(&back);
	if (config_json_document(doc, &back, err, sizeof(err))) {
		fprintf(stderr, "the dump is refused: %s\n%s\n", err, text);
		abort();
	}
	if (!config_equal(&cfg, &back)) {
		fprintf(stderr, "the dump reads back as another configuration:\n%s\n", text);
		abort();
	}
	json_decref(doc);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_log log;
	char err[JSON_ERR_MAX];
	json_t *doc;
	int ret;

	doc = json_in_parse((const char *)data, size, err, sizeof(err));
	if (!doc)
		return 0;
	config_init(&cfg);
	before = cfg;
	err[0] = 0;
	ret = config_json_document(doc, &cfg, err, sizeof(err));
	json_decref(doc);
	if (ret) {
		/* A refusal says why and changes nothing. */
		if (ret != -EINVAL || !err[0] || !memchr(err, 0, sizeof(err)) ||
		    !config_equal(&cfg, &before))
			abort();
		return 0;
	}
	if (!config_terminated(&cfg) || !cfg.boot.kernel[0])
		abort();
	fuzz_log_begin(&log);
	ret = config_check(&cfg);
	fuzz_log_end(&log);
	if (ret ? ret != -EINVAL || !fuzz_log_one_line(&log) : log.len > 0) {
		fprintf(stderr, "config_check %d said '%s'\n", ret, log.text);
		abort();
	}
	round_trip();
	return 0;
}
