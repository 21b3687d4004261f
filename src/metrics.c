/* SPDX-License-Identifier: MIT */
#include "metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_FAMILY_MAX 32
#define METRICS_LABEL_MAX 16

enum metrics_kind { METRICS_COUNTER, METRICS_GAUGE };

struct metrics_out {
	struct metrics *m;
	unsigned int group;
};

struct metrics_group {
	char name[METRICS_NAME_MAX];
	char family[METRICS_FAMILY_MAX];
	char label[METRICS_LABEL_MAX]; /* "": none */
	char label_value[METRICS_NAME_MAX];
	unsigned int flags;
	unsigned int first, n; /* its values: val[first, first + n) */
	struct metrics_out out;
};

struct metrics_value {
	char name[METRICS_VALUE_NAME_MAX];
	uint64_t value;
	unsigned int group;
	enum metrics_kind kind;
};

/* One collection. */
struct metrics_set {
	struct metrics_group group[METRICS_MAX_GROUPS];
	unsigned int ngroups;
	struct metrics_value val[METRICS_MAX_VALUES];
	unsigned int nval;
};

struct metrics {
	struct metrics_set *cur;  /* being collected or rendered */
	struct metrics_set *base; /* the one whose JSON line was last written */
	uint64_t dropped;
};

/* [a-z0-9_]+, and short enough for `max` bytes with the NUL. */
static bool metrics_name_ok(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
			return false;
	return n > 0 && n < max;
}

int metrics_create(struct metrics **out)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	/* calloc: pages are only touched as groups and values fill them. */
	m->cur = calloc(1, sizeof(*m->cur));
	m->base = calloc(1, sizeof(*m->base));
	if (!m->cur || !m->base) {
		metrics_destroy(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

void metrics_destroy(struct metrics *m)
{
	if (!m)
		return;
	free(m->cur);
	free(m->base);
	free(m);
}

void metrics_begin(struct metrics *m)
{
	m->cur->ngroups = 0;
	m->cur->nval = 0;
}

uint64_t metrics_dropped(const struct metrics *m)
{
	return m->dropped;
}

/* ------------------------------------------------------------ collecting */

static int metrics_find_group(const struct metrics_set *s, const char *name, unsigned int hint)
{
	if (hint < s->ngroups && !strcmp(s->group[hint].name, name))
		return (int)hint;
	for (unsigned int i = 0; i < s->ngroups; i++)
		if (!strcmp(s->group[i].name, name))
			return (int)i;
	return -1;
}

struct metrics_out *metrics_group(struct metrics *m, const char *name, const char *family,
				  const char *label, const char *label_value, unsigned int flags)
{
	struct metrics_set *s = m->cur;
	struct metrics_group *g;

	if (s->ngroups == METRICS_MAX_GROUPS || !*name || strlen(name) >= METRICS_NAME_MAX ||
	    !metrics_name_ok(family, METRICS_FAMILY_MAX) ||
	    (label && (!metrics_name_ok(label, METRICS_LABEL_MAX) || !label_value ||
		       strlen(label_value) >= METRICS_NAME_MAX)) ||
	    metrics_find_group(s, name, s->ngroups) >= 0) {
		m->dropped++;
		return NULL;
	}
	g = &s->group[s->ngroups];
	snprintf(g->name, sizeof(g->name), "%s", name);
	snprintf(g->family, sizeof(g->family), "%s", family);
	snprintf(g->label, sizeof(g->label), "%s", label ? label : "");
	snprintf(g->label_value, sizeof(g->label_value), "%s", label ? label_value : "");
	g->flags = flags;
	g->first = s->nval;
	g->n = 0;
	g->out = (struct metrics_out){ .m = m, .group = s->ngroups };
	s->ngroups++;
	return &g->out;
}

static void metrics_add(struct metrics_out *o, const char *name, uint64_t value,
			enum metrics_kind kind)
{
	struct metrics_set *s;
	struct metrics_group *g;
	struct metrics_value *v;

	if (!o)
		return;
	s = o->m->cur;
	g = &s->group[o->group];
	/* Values join the group opened last: one opened since would leave a
	 * hole in this group's range. */
	if (o->group != s->ngroups - 1 || s->nval == METRICS_MAX_VALUES ||
	    !metrics_name_ok(name, METRICS_VALUE_NAME_MAX)) {
		o->m->dropped++;
		return;
	}
	v = &s->val[s->nval++];
	memcpy(v->name, name, strlen(name) + 1);
	v->value = value;
	v->group = o->group;
	v->kind = kind;
	g->n++;
}

void metrics_counter(struct metrics_out *o, const char *name, uint64_t value)
{
	metrics_add(o, name, value, METRICS_COUNTER);
}

void metrics_gauge(struct metrics_out *o, const char *name, uint64_t value)
{
	metrics_add(o, name, value, METRICS_GAUGE);
}

/* The index in s->val of the value named `name` in group g, by position
 * hint (its index in the group) first; -1 if none. */
static int metrics_find_value(const struct metrics_set *s, const struct metrics_group *g,
			      const char *name, unsigned int hint)
{
	if (hint < g->n && !strcmp(s->val[g->first + hint].name, name))
		return (int)(g->first + hint);
	for (unsigned int i = 0; i < g->n; i++)
		if (!strcmp(s->val[g->first + i].name, name))
			return (int)(g->first + i);
	return -1;
}

bool metrics_sum(struct metrics *m, const char *name, const char *family)
{
	struct metrics_set *s = m->cur;
	unsigned int ngroups = s->ngroups, sum;
	struct metrics_out *o = NULL;
	int t;

	for (unsigned int i = 0; i < ngroups; i++) {
		const struct metrics_group *g = &s->group[i];

		if (!g->label[0] || strcmp(g->family, family))
			continue;
		if (!o) {
			o = metrics_group(m, name, family, NULL, NULL, METRICS_JSON_ONLY);
			if (!o)
				return false;
		}
		sum = o->group;
		for (unsigned int k = 0; k < g->n; k++) {
			const struct metrics_value *v = &s->val[g->first + k];

			t = metrics_find_value(s, &s->group[sum], v->name, k);
			if (t >= 0)
				s->val[t].value += v->value;
			else
				metrics_add(o, v->name, v->value, v->kind);
		}
	}
	return o != NULL;
}

uint64_t metrics_get(const struct metrics *m, const char *group, const char *name, uint64_t dflt)
{
	const struct metrics_set *s = m->cur;
	int g = metrics_find_group(s, group, 0);
	int v = g < 0 ? -1 : metrics_find_value(s, &s->group[g], name, 0);

	return v >= 0 ? s->val[v].value : dflt;
}

/* ------------------------------------------------------------- rendering */

struct mbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void mbuf_put(struct mbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (b->len + n + 1 > cap)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void mbuf_str(struct mbuf *b, const char *s)
{
	mbuf_put(b, s, strlen(s));
}

static void mbuf_u64(struct mbuf *b, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);

	mbuf_put(b, num, (size_t)n);
}

/* The text, or NULL (and freed) after an allocation failure. */
static char *mbuf_done(struct mbuf *b, size_t *len)
{
	if (b->oom || !b->p) {
		free(b->p);
		return NULL;
	}
	*len = b->len;
	return b->p;
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void mbuf_json_str(struct mbuf *b, const char *s)
{
	mbuf_put(b, "\"", 1);
	for (; *s; s++) {
		char esc[8];

		if (*s == '"' || *s == '\\') {
			esc[0] = '\\';
			esc[1] = *s;
			mbuf_put(b, esc, 2);
		} else if ((unsigned char)*s < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char)*s);
			mbuf_put(b, esc, 6);
		} else {
			mbuf_put(b, s, 1);
		}
	}
	mbuf_put(b, "\"", 1);
}

/* The JSON value of v (cur's i-th value): a counter's change since base. */
static uint64_t metrics_json_value(const struct metrics *m, unsigned int i)
{
	const struct metrics_set *s = m->cur, *b = m->base;
	const struct metrics_value *v = &s->val[i];
	const struct metrics_group *g = &s->group[v->group];
	int bg, old;

	if (v->kind == METRICS_GAUGE)
		return v->value;
	bg = metrics_find_group(b, g->name, v->group);
	old = bg < 0 ? -1 : metrics_find_value(b, &b->group[bg], v->name, i - g->first);
	return old >= 0 && b->val[old].value <= v->value ? v->value - b->val[old].value : v->value;
}

char *metrics_json(const struct metrics *m, uint64_t utc_ms, size_t *len)
{
	const struct metrics_set *s = m->cur;
	struct mbuf b = { 0 };

	mbuf_str(&b, "{\"utc_timestamp_ms\":");
	mbuf_u64(&b, utc_ms);
	for (unsigned int gi = 0; gi < s->ngroups; gi++) {
		const struct metrics_group *g = &s->group[gi];

		mbuf_put(&b, ",", 1);
		mbuf_json_str(&b, g->name);
		mbuf_put(&b, ":{", 2);
		for (unsigned int k = 0; k < g->n; k++) {
			if (k)
				mbuf_put(&b, ",", 1);
			mbuf_json_str(&b, s->val[g->first + k].name);
			mbuf_put(&b, ":", 1);
			mbuf_u64(&b, metrics_json_value(m, g->first + k));
		}
		mbuf_put(&b, "}", 1);
	}
	mbuf_put(&b, "}\n", 2);
	return mbuf_done(&b, len);
}

void metrics_flushed(struct metrics *m)
{
	struct metrics_set *t = m->base;

	m->base = m->cur;
	m->cur = t;
	metrics_begin(m);
}

/* Compare petrel_<family>_<name> of two values without building them. */
static int metrics_full_cmp(const struct metrics_set *s, const struct metrics_value *a,
			    const struct metrics_value *b)
{
	const char *pa[3] = { s->group[a->group].family, "_", a->name };
	const char *pb[3] = { s->group[b->group].family, "_", b->name };
	unsigned int ia = 0, ib = 0;
	const char *x = pa[0], *y = pb[0];

	for (;;) {
		while (!*x && ia < 2)
			x = pa[++ia];
		while (!*y && ib < 2)
			y = pb[++ib];
		if (*x != *y || !*x)
			return (unsigned char)*x - (unsigned char)*y;
		x++;
		y++;
	}
}

/* Samples sorted by metric name (so each family's samples are together,
 * as the format requires), then in collection order. */
static int metrics_prom_cmp(const void *pa, const void *pb, void *arg)
{
	const struct metrics_set *s = arg;
	unsigned int a = *(const unsigned int *)pa, b = *(const unsigned int *)pb;
	int c = metrics_full_cmp(s, &s->val[a], &s->val[b]);

	return c ? c : (a > b) - (a < b);
}

/* A label value or HELP text: backslash, newline (and in a label value
 * the double quote) escaped, as the format says. */
static void mbuf_prom_escape(struct mbuf *b, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			mbuf_put(b, "\\\\", 2);
		else if (*s == '\n')
			mbuf_put(b, "\\n", 2);
		else if (*s == '"' && quote)
			mbuf_put(b, "\\\"", 2);
		else
			mbuf_put(b, s, 1);
	}
}

static void mbuf_prom_name(struct mbuf *b, const struct metrics_set *s,
			   const struct metrics_value *v)
{
	mbuf_str(b, "petrel_");
	mbuf_str(b, s->group[v->group].family);
	mbuf_put(b, "_", 1);
	mbuf_str(b, v->name);
}

static void mbuf_prom_header(struct mbuf *b, const struct metrics_set *s,
			     const struct metrics_value *v)
{
	const struct metrics_group *g = &s->group[v->group];

	mbuf_str(b, "# HELP ");
	mbuf_prom_name(b, s, v);
	mbuf_str(b, " Field ");
	mbuf_str(b, v->name);
	if (g->label[0]) {
		mbuf_str(b, " of the metrics file's ");
		mbuf_str(b, g->family);
		mbuf_str(b, " groups, one per ");
		mbuf_str(b, g->label);
	} else {
		mbuf_str(b, " of the metrics file's group ");
		mbuf_str(b, g->family);
	}
	mbuf_str(b, ".\n# TYPE ");
	mbuf_prom_name(b, s, v);
	mbuf_str(b, v->kind == METRICS_GAUGE ? " gauge\n" : " counter\n");
}

char *metrics_prometheus(const struct metrics *m, const char *instance, size_t *len)
{
	const struct metrics_set *s = m->cur;
	unsigned int *idx = malloc(sizeof(*idx) * (s->nval ? s->nval : 1)), n = 0;
	struct mbuf b = { 0 };

	if (!idx)
		return NULL;
	for (unsigned int i = 0; i < s->nval; i++)
		if (!(s->group[s->val[i].group].flags & METRICS_JSON_ONLY))
			idx[n++] = i;
	qsort_r(idx, n, sizeof(*idx), metrics_prom_cmp, (void *)s);
	for (unsigned int k = 0; k < n; k++) {
		const struct metrics_value *v = &s->val[idx[k]];
		const struct metrics_group *g = &s->group[v->group];

		if (!k || metrics_full_cmp(s, &s->val[idx[k - 1]], v))
			mbuf_prom_header(&b, s, v);
		mbuf_prom_name(&b, s, v);
		mbuf_str(&b, "{instance=\"");
		mbuf_prom_escape(&b, instance, true);
		mbuf_put(&b, "\"", 1);
		if (g->label[0]) {
			mbuf_put(&b, ",", 1);
			mbuf_str(&b, g->label);
			mbuf_str(&b, "=\"");
			mbuf_prom_escape(&b, g->label_value, true);
			mbuf_put(&b, "\"", 1);
		}
		mbuf_str(&b, "} ");
		mbuf_u64(&b, v->value);
		mbuf_put(&b, "\n", 1);
	}
	free(idx);
	if (!n)
		mbuf_put(&b, "", 0); /* an empty exposition is still a text */
	return mbuf_done(&b, len);
}
