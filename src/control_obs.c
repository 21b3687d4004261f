/* SPDX-License-Identifier: MIT */
/* Logs and metrics through the API. VMM thread. */
#include "control.h"

#include <stdio.h>

void control_api_observe(struct control *ctl, const struct api_request *r, struct api_result *res)
{
	char msg[API_FAULT_MAX];
	int err;

	if (r->action == API_PUT_LOGGER) {
		log_capture(msg, sizeof(msg));
		err = control_logger(&r->u.logger, ctl->id);
		log_capture(NULL, 0);
		if (err) {
			res->status = 400;
			snprintf(res->fault, sizeof(res->fault), "%s", msg);
			return;
		}
		ctl->cfg.logger = r->u.logger;
		res->status = 204;
		return;
	}
	res->status = 400;
	snprintf(res->fault, sizeof(res->fault), "metrics: not yet");
}

int control_metrics_init(struct control *ctl)
{
	(void)ctl;
	return 0;
}

void control_metrics_destroy(struct control *ctl)
{
	(void)ctl;
}

void control_api_flush_metrics(struct control *ctl, struct api_result *res)
{
	(void)ctl;
	res->status = 400;
	snprintf(res->fault, sizeof(res->fault), "metrics: not yet");
}

void control_api_prometheus(struct control *ctl, struct api_result *res)
{
	(void)ctl;
	res->status = 400;
	snprintf(res->fault, sizeof(res->fault), "metrics: not yet");
}
