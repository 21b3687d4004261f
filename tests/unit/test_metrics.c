/* SPDX-License-Identifier: MIT */
/*
 * Metrics (src/metrics.c, metrics_signal.c, control_obs.c): the JSON line
 * (counters as changes since the last written line, gauges as they are,
 * the sums), the Prometheus text checked line by line against the
 * exposition format, label escaping, the bounds; the groups Firecracker
 * always has; the metrics file through the control plane (lines, a full
 * FIFO, PUT /metrics once, GET /metrics); and seccomp's SIGSYS handler in
 * a child (its last line and log line, then death by SIGSYS).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "harness.h"
#include "metrics.h"
#include "metrics_signal.h"
#include "sandbox/seccomp.h"
#include "virtio/devices.h"

static struct metrics *m;

/* The JSON line as an object (a reference), or NULL if it does not parse
 * or is not one line ending in a newline. */
static json_t *render(uint64_t ms)
{
	size_t len = 0;
	char *line = metrics_json(m, ms, &len);
	json_t *j = NULL;

	if (line && len == strlen(line) && len > 1 && line[len - 1] == '\n' &&
	    !memchr(line, '\n', len - 1))
		j = json_loads(line, 0, NULL);
	free(line);
	return j;
}

static long long jget(const json_t *j, const char *group, const char *name)
{
	const json_t *v = json_object_get(json_object_get(j, group), name);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static void fill(uint64_t x, uint64_t g)
{
	struct metrics_out *o;

	metrics_begin(m);
	o = metrics_group(m, "a", "a", NULL, NULL, 0);
	metrics_counter(o, "x", x);
	metrics_gauge(o, "g", g);
}

static void metrics_json_deltas(void)
{
	json_t *j;

	fill(5, 7);
	j = render(1234);
	REQUIRE(j);
	CHECK(jget(j, "utc_timestamp_ms", NULL) == -1); /* a number, not a group */
	CHECK(json_integer_value(json_object_get(j, "utc_timestamp_ms")) == 1234);
	CHECK(jget(j, "a", "x") == 5 && jget(j, "a", "g") == 7);
	json_decref(j);
	metrics_flushed(m);

	fill(8, 3); /* written */
	j = render(1);
	CHECK(jget(j, "a", "x") == 3 && jget(j, "a", "g") == 3);
	json_decref(j);
	metrics_flushed(m);

	fill(10, 3); /* missed: not flushed, so the next line has it too */
	j = render(2);
	CHECK(jget(j, "a", "x") == 2);
	json_decref(j);
	fill(15, 4);
	j = render(3);
	CHECK(jget(j, "a", "x") == 7 && jget(j, "a", "g") == 4);
	json_decref(j);
	metrics_flushed(m);

	fill(1, 0); /* went down (a new device of that name): its value */
	j = render(4);
	CHECK(jget(j, "a", "x") == 1);
	json_decref(j);
	metrics_flushed(m);
	/* A group the last line did not have: everything is new. */
	metrics_begin(m);
	metrics_counter(metrics_group(m, "b", "b", NULL, NULL, 0), "x", 9);
	j = render(5);
	CHECK(jget(j, "b", "x") == 9 && !json_object_get(j, "a"));
	json_decref(j);
	metrics_flushed(m);
}

static void metrics_sums(void)
{
	json_t *j;

	metrics_begin(m);
	metrics_counter(metrics_group(m, "block_a", "block", "drive", "a", 0), "read_count", 1);
	metrics_counter(metrics_group(m, "other", "other", NULL, NULL, 0), "read_count", 100);
	{
		struct metrics_out *o = metrics_group(m, "block_b", "block", "drive", "b", 0);

		metrics_counter(o, "write_count", 5);
		metrics_counter(o, "read_count", 2);
		metrics_gauge(o, "inflight", 3);
	}
	CHECK(metrics_sum(m, "block", "block"));
	CHECK(!metrics_sum(m, "net", "net"));
	CHECK(metrics_get(m, "block", "read_count", 0) == 3);
	CHECK(metrics_get(m, "block", "write_count", 0) == 5);
	CHECK(metrics_get(m, "block", "inflight", 0) == 3);
	CHECK(metrics_get(m, "net", "read_count", 42) == 42);
	j = render(0);
	CHECK(jget(j, "block", "read_count") == 3 && jget(j, "block_b", "read_count") == 2);
	CHECK(!json_object_get(j, "net"));
	json_decref(j);
	metrics_flushed(m);
}

/* ------------------------------------------------------------ Prometheus */

static bool prom_name_ok(const char *s, size_t n)
{
	if (!n || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_' ||
		    s[0] == ':'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == ':'))
			return false;
	return true;
}

/* Check `text` against the text format 0.0.4, line by line: comments
 * "# HELP name ..." and "# TYPE name counter|gauge" (each once per family,
 * before its samples), samples "name{label="value",...} number", each
 * family's samples together, no sample twice, label values with only the
 * three escapes. Returns the number of samples, or -(line number). */
static int prom_check(const char *text)
{
	static char seen[512][96], samples[METRICS_MAX_VALUES][256];
	char family[96] = "";
	unsigned int nseen = 0, nsamples = 0, family_start = 0;
	bool typed = false;
	int line = 0;

	for (const char *p = text; *p; line++) {
		const char *end = strchr(p, '\n'), *q;
		char name[96];

		if (!end)
			return -(line + 1); /* every line ends in \n */
		if (!strncmp(p, "# HELP ", 7) || !strncmp(p, "# TYPE ", 7)) {
			bool help = p[2] == 'H';

			q = p + 7;
			while (q < end && *q != ' ')
				q++;
			if (!prom_name_ok(p + 7, (size_t)(q - p - 7)) || q - p - 7 >= 96)
				return -(line + 1);
			snprintf(name, sizeof(name), "%.*s", (int)(q - p - 7), p + 7);
			if (help) {
				/* A new family: never seen before. */
				for (unsigned int i = 0; i < nseen; i++)
					if (!strcmp(seen[i], name))
						return -(line + 1);
				if (nseen == 512)
					return -(line + 1);
				snprintf(seen[nseen++], sizeof(seen[0]), "%s", name);
				snprintf(family, sizeof(family), "%s", name);
				family_start = nsamples;
				typed = false;
				for (const char *c = q; c < end; c++)
					if (*c == '\\' && c[1] != '\\' && c[1] != 'n')
						return -(line + 1);
			} else {
				if (strcmp(name, family) || typed ||
				    (strncmp(q, " counter", 8) && strncmp(q, " gauge", 6)))
					return -(line + 1);
				typed = true;
			}
		} else {
			q = p;
			while (q < end && *q != '{' && *q != ' ')
				q++;
			if (!prom_name_ok(p, (size_t)(q - p)) ||
			    strncmp(p, family, strlen(family)) ||
			    (size_t)(q - p) != strlen(family) || !typed)
				return -(line + 1);
			if (*q == '{') {
				q++;
				for (;;) {
					const char *k = q;

					while (q < end && *q != '=')
						q++;
					if (!prom_name_ok(k, (size_t)(q - k)) || q[1] != '"')
						return -(line + 1);
					for (q += 2; q < end && *q != '"'; q++)
						if (*q == '\\' &&
						    (q[1] == '\\' || q[1] == '"' || q[1] == 'n'))
							q++;
						else if (*q == '\\')
							return -(line + 1);
					if (q >= end)
						return -(line + 1);
					q++;
					if (*q == '}')
						break;
					if (*q != ',')
						return -(line + 1);
					q++;
				}
				q++;
			}
			if (*q != ' ' || q + 1 >= end)
				return -(line + 1);
			{
				char num[32], *e;

				snprintf(num, sizeof(num), "%.*s", (int)(end - q - 1), q + 1);
				strtod(num, &e);
				if (*e || e == num)
					return -(line + 1);
			}
			if (nsamples == METRICS_MAX_VALUES)
				return -(line + 1);
			snprintf(samples[nsamples], sizeof(samples[0]), "%.*s", (int)(q - p), p);
			/* A sample twice: only within its family (they are together). */
			for (unsigned int i = family_start; i < nsamples; i++)
				if (!strcmp(samples[i], samples[nsamples]))
					return -(line + 1);
			nsamples++;
		}
		p = end + 1;
	}
	return (int)nsamples;
}

static char *prom(const char *instance)
{
	size_t len;

	return metrics_prometheus(m, instance, &len);
}

static void metrics_prometheus_format(void)
{
	char *t;

	metrics_begin(m);
	/* Interleaved: two devices' values between other groups. */
	metrics_counter(metrics_group(m, "block_a", "block", "drive", "a", 0), "read_count", 1);
	metrics_gauge(metrics_group(m, "seccomp", "seccomp", NULL, NULL, 0), "num_faults", 0);
	{
		struct metrics_out *o = metrics_group(m, "block_b", "block", "drive", "b", 0);

		metrics_counter(o, "read_count", 2);
		metrics_counter(o, "write_count", 3);
	}
	metrics_counter(metrics_group(m, "vcpu0", "vcpu", "vcpu", "0", 0), "exit_io_in", 4);
	metrics_counter(metrics_group(m, "vcpu1", "vcpu", "vcpu", "1", 0), "exit_io_in", 5);
	CHECK(metrics_sum(m, "vcpu", "vcpu"));
	t = prom("vm1");
	REQUIRE(t);
	CHECK(prom_check(t) == 6); /* the JSON-only sum is not there */
	CHECK(strstr(t, "# TYPE petrel_block_read_count counter\n"
			"petrel_block_read_count{instance=\"vm1\",drive=\"a\"} 1\n"
			"petrel_block_read_count{instance=\"vm1\",drive=\"b\"} 2\n"));
	CHECK(strstr(t, "# TYPE petrel_seccomp_num_faults gauge\n"
			"petrel_seccomp_num_faults{instance=\"vm1\"} 0\n"));
	CHECK(strstr(t, "petrel_vcpu_exit_io_in{instance=\"vm1\",vcpu=\"1\"} 5\n"));
	CHECK(!strstr(t, "petrel_vcpu_exit_io_in{instance=\"vm1\"}"));
	free(t);
	/* Every collection renders the same totals: nothing is "flushed". */
	t = prom("vm1");
	CHECK(t && strstr(t, "drive=\"b\"} 2\n"));
	free(t);
	/* Nothing at all is an empty text. */
	metrics_begin(m);
	t = prom("x");
	CHECK(t && !*t && prom_check(t) == 0);
	free(t);
}

static void metrics_label_escaping(void)
{
	char *t;
	json_t *j;

	metrics_begin(m);
	metrics_counter(metrics_group(m, "q\"uote", "net", "iface", "a\\b\"c\nd", 0), "x", 1);
	t = prom("id \"with\" \\ and\nnewline");
	REQUIRE(t);
	CHECK(prom_check(t) == 1);
	CHECK(strstr(t, "petrel_net_x{instance=\"id \\\"with\\\" \\\\ and\\nnewline\","
			"iface=\"a\\\\b\\\"c\\nd\"} 1\n"));
	free(t);
	j = render(0); /* the group's name escaped in the JSON line */
	CHECK(jget(j, "q\"uote", "x") == 1);
	json_decref(j);
}

static void metrics_bounds(void)
{
	uint64_t dropped = metrics_dropped(m);
	struct metrics_out *o, *first;
	char name[32];
	unsigned int ok = 0;
	json_t *j;
	char *t;

	metrics_begin(m);
	first = metrics_group(m, "g0", "g", "n", "0", 0);
	CHECK(first && !metrics_group(m, "g0", "g", "n", "1", 0)); /* a repeated name */
	CHECK(!metrics_group(m, "bad", "Bad-Family", NULL, NULL, 0));
	CHECK(!metrics_group(m, "bad", "f", "bad label", "x", 0));
	CHECK(!metrics_group(m, "", "f", NULL, NULL, 0));
	for (unsigned int i = 1; i < METRICS_MAX_GROUPS + 10; i++) {
		snprintf(name, sizeof(name), "g%u", i);
		o = metrics_group(m, name, "g", "n", name, 0);
		ok += o != NULL;
		for (unsigned int k = 0; k < 20; k++) {
			char v[16];

			snprintf(v, sizeof(v), "v%u", k);
			metrics_counter(o, v, k);
		}
	}
	CHECK(ok == METRICS_MAX_GROUPS - 1);
	metrics_counter(first, "late", 1); /* not the group opened last */
	metrics_counter(o, "Bad-Name", 1);
	metrics_counter(o, "", 1);
	metrics_counter(o, "a_name_longer_than_forty_seven_bytes_is_dropped__", 1);
	CHECK(metrics_get(m, "g0", "late", 7) == 7);
	CHECK(metrics_get(m, "g1", "v19", 0) == 19);
	/* Values past the bound are dropped (384 groups x 20 > 6144). */
	CHECK(metrics_get(m, "g383", "v0", 99) == 99);
	CHECK(metrics_dropped(m) > dropped + 10);
	j = render(0);
	CHECK(j && json_object_size(j) == METRICS_MAX_GROUPS + 1);
	json_decref(j);
	t = prom("b");
	CHECK(t && prom_check(t) == METRICS_MAX_VALUES);
	free(t);
}

/* Firecracker's always-present groups with no VM: JSON only, 0s, and
 * their names. */
static void metrics_always_groups(void)
{
	static const struct {
		const char *group, *name;
	} want[] = {
		{ "block", "read_count" },
		{ "block", "write_bytes" },
		{ "block", "invalid_reqs_count" },
		{ "block", "activate_fails" },
		{ "net", "rx_packets_count" },
		{ "net", "tx_bytes_count" },
		{ "net", "tx_malformed_frames" },
		{ "vsock", "conns_added" },
		{ "vsock", "rx_bytes_count" },
		{ "balloon", "inflate_count" },
		{ "balloon", "free_page_report_freed" },
		{ "entropy", "entropy_bytes" },
		{ "entropy", "needs_reset_count" },
	};
	json_t *j;
	char *t;

	metrics_begin(m);
	virtio_devices_metrics_always(NULL, m);
	j = render(0);
	REQUIRE(j);
	CHECK(json_object_size(j) == 6);
	for (unsigned int i = 0; i < ARRAY_SIZE(want); i++)
		CHECK(jget(j, want[i].group, want[i].name) == 0);
	json_decref(j);
	t = prom("x");
	CHECK(t && !*t);
	free(t);
}

/* logger.rate_limited_log_count: what a spent budget kept out of the log. */
static void log_suppressed_counted(void)
{
	struct log_limit lim = LOG_LIMIT_INIT(1);
	uint64_t before = log_suppressed();
	int null = open("/dev/null", O_WRONLY), old;

	REQUIRE(null >= 0);
	old = log_set_stderr(null);
	for (int i = 0; i < 4; i++)
		log_limited(&lim, "guest did something %d", i);
	log_set_stderr(old);
	close(null);
	CHECK(log_suppressed() == before + 3);
}

/* ------------------------------------------------- the control plane */

static struct control ctl;

static int start_control(const char *path)
{
	static struct vm_config cfg;
	struct control_options opt = { .id = "vm-test" };

	config_init(&cfg);
	snprintf(cfg.metrics.path, sizeof(cfg.metrics.path), "%s", path);
	return control_init(&ctl, &cfg, &opt);
}

static char tmpdir[64];

static void tmp_path(char *buf, size_t size, const char *name)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/petrel-test-metrics.XXXXXX");
		if (!mkdtemp(tmpdir))
			tmpdir[0] = 0;
	}
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

static void obs_file_lines(void)
{
	char path[128], buf[65536];
	ssize_t n;
	int fd;

	tmp_path(path, sizeof(path), "m.json");
	REQUIRE(start_control(path) == 0);
	/* The 60 s flush: armed when the VM starts, not before. */
	{
		struct itimerspec t;

		CHECK(timerfd_gettime(ctl.obs.timer_fd, &t) == 0 && !t.it_value.tv_sec &&
		      !t.it_value.tv_nsec);
		control_metrics_arm(&ctl);
		CHECK(timerfd_gettime(ctl.obs.timer_fd, &t) == 0 && t.it_interval.tv_sec == 60 &&
		      t.it_value.tv_sec > 50);
	}
	CHECK(control_metrics_flush(&ctl) == 0);
	ctl.obs.pause_us = 17;
	CHECK(control_metrics_flush(&ctl) == 0);
	control_destroy(&ctl);
	fd = open(path, O_RDONLY);
	REQUIRE(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	REQUIRE(n > 0);
	buf[n] = 0;
	{
		char *second = strchr(buf, '\n'), *third;
		json_t *a, *b;

		REQUIRE(second && second[1]);
		*second++ = 0;
		third = strchr(second, '\n');
		REQUIRE(third && !third[1]); /* two lines, each ending in a newline */
		a = json_loads(buf, 0, NULL);
		b = json_loads(second, 0, NULL);
		REQUIRE(a && b);
		CHECK(jget(a, "logger", "missed_metrics_count") == 0);
		CHECK(jget(a, "put_api_requests", "actions_count") == 0);
		CHECK(jget(a, "put_api_requests", "drive_fails") == 0);
		CHECK(jget(a, "patch_api_requests", "drive_count") == 0);
		CHECK(jget(a, "get_api_requests", "instance_info_count") == 0);
		CHECK(jget(a, "api_server", "process_startup_time_us") == 0);
		CHECK(jget(a, "seccomp", "num_faults") == 0);
		CHECK(jget(a, "signals", "sigpipe") == 0);
		CHECK(jget(a, "vcpu", "exit_io_in") == 0 && jget(a, "vcpu", "failures") == 0);
		CHECK(jget(a, "block", "read_count") == 0 &&
		      jget(a, "entropy", "entropy_bytes") == 0);
		CHECK(jget(a, "latencies_us", "pause_vm") == 0);
		CHECK(jget(b, "latencies_us", "pause_vm") == 17);
		CHECK(json_integer_value(json_object_get(b, "utc_timestamp_ms")) >=
		      json_integer_value(json_object_get(a, "utc_timestamp_ms")));
		json_decref(a);
		json_decref(b);
	}
}

/* A FIFO whose reader does not read: a line that does not fit is missed
 * at once (never blocks), counted, and its changes go into the next. */
static void obs_fifo_full(void)
{
	char path[128], junk[4096] = { 0 }, buf[1 << 17];
	int rd, wr, n = 0;
	json_t *j;

	tmp_path(path, sizeof(path), "fifo");
	REQUIRE(mkfifo(path, 0600) == 0);
	rd = open(path, O_RDONLY | O_NONBLOCK);
	REQUIRE(rd >= 0);
	REQUIRE(start_control(path) == 0);
	wr = open(path, O_WRONLY | O_NONBLOCK);
	REQUIRE(wr >= 0);
	while (write(wr, junk, sizeof(junk)) > 0 && n < 1024)
		n++;
	CHECK(control_metrics_flush(&ctl) == -EAGAIN);
	CHECK(ctl.obs.missed == 1 && ctl.obs.fails == 0);
	/* Drained: the next line counts the missed one. */
	while (read(rd, buf, sizeof(buf)) > 0)
		;
	CHECK(control_metrics_flush(&ctl) == 0);
	n = (int)read(rd, buf, sizeof(buf) - 1);
	CHECK(n > 0 && buf[n - 1] == '\n');
	buf[n > 0 ? n : 0] = 0;
	j = json_loads(buf, 0, NULL);
	CHECK(jget(j, "logger", "missed_metrics_count") == 1);
	json_decref(j);
	/* Room for part of a line (one 4 KiB page; the line is longer, so
	 * the pipe takes part of it): the rest is kept and written before
	 * the next line, so the reader sees whole lines. */
	for (n = 0; n < 15; n++)
		CHECK(write(wr, junk, sizeof(junk)) == (ssize_t)sizeof(junk));
	CHECK(control_metrics_flush(&ctl) == 0);
	CHECK(ctl.obs.pending != NULL && ctl.obs.missed == 1);
	{
		size_t got = 0;
		ssize_t r;

		while ((r = read(rd, buf + got, sizeof(buf) - 1 - got)) > 0)
			got += (size_t)r;
		CHECK(got == 15 * sizeof(junk) + 4096);
		CHECK(control_metrics_flush(&ctl) == 0 && !ctl.obs.pending);
		got = 15 * sizeof(junk) + 4096; /* after the part of the first line */
		while ((r = read(rd, buf + got, sizeof(buf) - 1 - got)) > 0)
			got += (size_t)r;
		buf[got] = 0;
		{
			char *l1 = buf + 15 * sizeof(junk), *l2 = strchr(l1, '\n');
			json_t *a, *b;

			REQUIRE(l2 && l2[1]);
			*l2++ = 0;
			CHECK(buf[got - 1] == '\n' && strchr(l2, '\n') == buf + got - 1);
			a = json_loads(l1, 0, NULL);
			b = json_loads(l2, JSON_DISABLE_EOF_CHECK, NULL);
			CHECK(a && b && strlen(l1) > 4096);
			json_decref(a);
			json_decref(b);
		}
	}
	/* No reader: EPIPE (and a SIGPIPE, counted), a failure. */
	close(rd);
	n = (int)metrics_signal_get(METRICS_SIG_PIPE);
	CHECK(control_metrics_flush(&ctl) == -EPIPE);
	CHECK(ctl.obs.missed == 2 && ctl.obs.fails == 1);
	CHECK(metrics_signal_get(METRICS_SIG_PIPE) == (uint64_t)n + 1);
	close(wr);
	control_destroy(&ctl);
}

static void obs_api(void)
{
	struct api_request r = { .action = API_PUT_METRICS };
	struct api_result res = { 0 };
	char path[128];

	REQUIRE(start_control("") == 0);
	/* No file: FlushMetrics writes nothing and succeeds (Firecracker's). */
	control_api_flush_metrics(&ctl, &res);
	CHECK(res.status == 204);
	tmp_path(path, sizeof(path), "nodir/m.json");
	snprintf(r.u.metrics.path, sizeof(r.u.metrics.path), "%s", path);
	control_api_observe(&ctl, &r, &res);
	CHECK(res.status == 400 && strstr(res.fault, "No such file or directory") &&
	      strstr(res.fault, "metrics file '"));
	tmp_path(path, sizeof(path), "api.json");
	snprintf(r.u.metrics.path, sizeof(r.u.metrics.path), "%s", path);
	res = (struct api_result){ 0 };
	control_api_observe(&ctl, &r, &res);
	CHECK(res.status == 204 && ctl.obs.fd >= 0);
	res = (struct api_result){ 0 };
	control_api_observe(&ctl, &r, &res);
	CHECK(res.status == 400 && !strcmp(res.fault, "Reinitialization of metrics not allowed."));
	res = (struct api_result){ 0 };
	control_api_prometheus(&ctl, &res);
	CHECK(res.status == 200 && res.content_type &&
	      !strcmp(res.content_type, "text/plain; version=0.0.4"));
	CHECK(res.body && prom_check(res.body) > 20);
	CHECK(res.body && strstr(res.body, "petrel_put_api_requests_actions_count{instance=\"vm-"
					   "test\"} 0\n"));
	CHECK(res.body && !strstr(res.body, "petrel_block_")); /* no VM, no device */
	free(res.body);
	control_destroy(&ctl);
}

/* ----------------------------------------------------------- SIGSYS */

/* In a child: the handler, a metrics file and the log on pipes, the vmm
 * filter, then a forbidden socket(AF_INET). The child must die of
 * SIGSYS, having written one metrics line and one log line. */
static void seccomp_trap_reports(void)
{
	int mp[2], lp[2], status = 0;
	char line[512], logl[512];
	struct sandbox_filter f;
	ssize_t n;
	pid_t pid;

	REQUIRE(pipe(mp) == 0 && pipe(lp) == 0);
	REQUIRE(sandbox_build(&f, SANDBOX_VMM, true) == 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		log_set_stderr(lp[1]);
		log_set_thread("vmm");
		metrics_signal_set_fd(mp[1]);
		if (metrics_signal_install() || sandbox_install(&f))
			_exit(1);
		socket(AF_INET, SOCK_STREAM, 0);
		_exit(2); /* not reached */
	}
	sandbox_free(&f);
	close(mp[1]);
	close(lp[1]);
	REQUIRE(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS);
	n = read(mp[0], line, sizeof(line) - 1);
	line[n > 0 ? n : 0] = 0;
	n = read(lp[0], logl, sizeof(logl) - 1);
	logl[n > 0 ? n : 0] = 0;
	close(mp[0]);
	close(lp[0]);
	{
		regex_t re;

		REQUIRE(regcomp(&re,
				"^\\{\"utc_timestamp_ms\":[0-9]{13},\"seccomp\":\\{\"num_faults\":"
				"1\\}\\}\n$",
				REG_EXTENDED) == 0);
		CHECK(regexec(&re, line, 0, NULL, 0) == 0);
		regfree(&re);
	}
	CHECK(!strcmp(logl, "petrel: seccomp: the vmm thread made system call 41, which its "
			    "filter forbids; stopping with SIGSYS\n"));
}

int main(void)
{
	/* SIGPIPE counted instead of fatal, as petrel's main has it. */
	if (metrics_signal_install() || metrics_create(&m))
		return 1;
	RUN(metrics_json_deltas);
	RUN(metrics_sums);
	RUN(metrics_prometheus_format);
	RUN(metrics_label_escaping);
	RUN(metrics_bounds);
	RUN(metrics_always_groups);
	RUN(log_suppressed_counted);
	metrics_destroy(m);
	RUN(obs_file_lines);
	RUN(obs_fifo_full);
	RUN(obs_api);
	RUN(seccomp_trap_reports);
	if (tmpdir[0]) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			printf("# could not remove %s\n", tmpdir);
	}
	return harness_exit();
}
