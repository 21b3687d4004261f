/* SPDX-License-Identifier: MIT */
#include "api/request.h"

#include <stdarg.h>
#include <stdio.h>

void api_fault(struct api_result *res, const char *fmt, ...)
{
	va_list ap;

	res->status = 400;
	va_start(ap, fmt);
	vsnprintf(res->fault, sizeof(res->fault), fmt, ap);
	va_end(ap);
}

void api_reply_json(struct api_result *res, json_t *j)
{
	res->body = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	if (res->body)
		res->status = 200;
	else
		api_fault(res, "out of memory");
}
