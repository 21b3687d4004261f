/* SPDX-License-Identifier: MIT */
#include "device.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int device_add(struct device_list *l, const char *name, const char *kind, const char *id,
	       const struct device_ops *ops, void *opaque)
{
	struct device *d;

	if (l->n == DEVICE_MAX)
		return -ENOSPC;
	d = &l->dev[l->n++];
	*d = (struct device){ .kind = kind, .id = id, .ops = ops, .opaque = opaque };
	snprintf(d->name, sizeof(d->name), "%s", name);
	return 0;
}

struct device *device_find(struct device_list *l, const char *kind, const char *id)
{
	for (unsigned int i = 0; i < l->n; i++) {
		struct device *d = &l->dev[i];

		if (!strcmp(d->kind, kind) && (!id || (d->id && !strcmp(d->id, id))))
			return d;
	}
	return NULL;
}

int device_start_all(struct device_list *l, const struct sandbox_filter *worker)
{
	for (unsigned int i = 0; i < l->n; i++) {
		int err = l->dev[i].ops->start ? l->dev[i].ops->start(l->dev[i].opaque, worker) : 0;

		if (err)
			return err;
	}
	return 0;
}

void device_pause_all(struct device_list *l)
{
	for (unsigned int i = l->n; i-- > 0;)
		if (l->dev[i].ops->pause)
			l->dev[i].ops->pause(l->dev[i].opaque);
}

void device_resume_all(struct device_list *l)
{
	for (unsigned int i = 0; i < l->n; i++)
		if (l->dev[i].ops->resume)
			l->dev[i].ops->resume(l->dev[i].opaque);
}

void device_destroy_all(struct device_list *l)
{
	while (l->n > 0) {
		struct device *d = &l->dev[--l->n];

		if (d->ops->destroy)
			d->ops->destroy(d->opaque);
	}
}
