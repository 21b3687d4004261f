/* SPDX-License-Identifier: MIT */
/*
 * Snapshots without KVM: the JSON bodies of PUT /snapshot/create and
 * /snapshot/load (api/routes.c), Firecracker's rules for when each may
 * come (control_api.c), and everything a load checks before it builds a
 * VM (snapshot_load_open): hostile state files, a memory file of the
 * wrong size, a configuration that disagrees with section "vm", and the
 * overrides. A refused load leaves the process as fresh as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/routes.h"
#include "control.h"
#include "harness.h"
#include "snapshot/snapshot.h"

static struct api_request req;
static struct api_result res;
static char fault[API_FAULT_MAX];

/* Route a PUT; 0 and req filled, or -EINVAL and fault. */
static int route(const char *path, const char *body)
{
	memset(&req, 0x5a, sizeof(req));
	fault[0] = 0;
	return api_route(HTTP_PUT, path, body, strlen(body), &req, fault, sizeof(fault));
}

static const char *const deser = "An error occurred when deserializing the json body of a "
				 "request: ";

static bool fault_is(const char *tail)
{
	return !strncmp(fault, deser, strlen(deser)) && !strcmp(fault + strlen(deser), tail);
}

static void create_bodies(void)
{
	REQUIRE(route("/snapshot/create",
		      "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\"}") == 0);
	CHECK(req.action == API_SNAPSHOT_CREATE && !req.u.snap_create.diff && !req.deprecated);
	CHECK(!strcmp(req.u.snap_create.state, "/s") && !strcmp(req.u.snap_create.mem, "/m"));
	REQUIRE(route("/snapshot/create", "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"s\", "
					  "\"mem_file_path\": \"m\"}") == 0);
	CHECK(req.u.snap_create.diff);
	REQUIRE(route("/snapshot/create", "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"s\", "
					  "\"mem_file_path\": \"m\"}") == 0);
	CHECK(!req.u.snap_create.diff);
	CHECK(route("/snapshot/create", "{\"snapshot_path\": \"s\"}") == -EINVAL &&
	      fault_is("missing field `mem_file_path`."));
	CHECK(route("/snapshot/create", "{\"snapshot_type\": \"full\", \"snapshot_path\": \"s\", "
					"\"mem_file_path\": \"m\"}") == -EINVAL &&
	      fault_is("`snapshot_type`: expected one of \"Full\", \"Diff\"."));
	CHECK(route("/snapshot/create", "{\"snapshot_path\": \"\", \"mem_file_path\": \"m\"}") ==
		  -EINVAL &&
	      fault_is("`snapshot_path`: empty."));
	CHECK(route("/snapshot/create", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", "
					"\"version\": \"1.0.0\"}") == -EINVAL &&
	      strstr(fault, "unknown field `version`"));
	CHECK(route("/snapshot/create", "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/s\"}") ==
		  -EINVAL &&
	      fault_is("`snapshot_path` and `mem_file_path` are the same path."));
	CHECK(route("/snapshot/create", "") == -EINVAL && !strcmp(fault, "Empty PUT request."));
	CHECK(route("/snapshot/bogus", "{}") == -EINVAL &&
	      !strcmp(fault, "Invalid request method and/or path: PUT /snapshot/bogus."));
}

static void load_bodies(void)
{
	const struct snapshot_load_req *l = &req.u.snap_load;

	REQUIRE(route("/snapshot/load",
		      "{\"snapshot_path\": \"/s\", \"mem_backend\": {\"backend_type\": \"File\", "
		      "\"backend_path\": \"/m\"}}") == 0);
	CHECK(req.action == API_SNAPSHOT_LOAD && !req.deprecated);
	CHECK(!strcmp(l->state, "/s") && !strcmp(l->mem, "/m") && !l->uffd && !l->resume &&
	      !l->track_dirty_pages && !l->clock_realtime && !l->nnet && !l->vsock_uds[0]);
	/* The deprecated field: the same request, and "Deprecation: true". */
	REQUIRE(route("/snapshot/load", "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", "
					"\"resume_vm\": true}") == 0);
	CHECK(req.deprecated && !strcmp(l->mem, "/m") && !l->uffd && l->resume);
	REQUIRE(route("/snapshot/load",
		      "{\"snapshot_path\": \"s\", \"mem_backend\": {\"backend_type\": \"Uffd\", "
		      "\"backend_path\": \"/u.sock\"}, \"enable_diff_snapshots\": true}") == 0);
	CHECK(l->uffd && l->track_dirty_pages && req.deprecated);
	REQUIRE(
	    route("/snapshot/load",
		  "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", \"clock_realtime\": true, "
		  "\"track_dirty_pages\": true, \"network_overrides\": [{\"iface_id\": \"eth0\", "
		  "\"host_dev_name\": \"tap7\"}, {\"iface_id\": \"eth1\", \"host_dev_name\": "
		  "\"tap8\"}], \"vsock_override\": {\"uds_path\": \"/v.sock\"}}") == 0);
	CHECK(l->clock_realtime && l->track_dirty_pages && l->nnet == 2);
	CHECK(!strcmp(l->net[0].id, "eth0") && !strcmp(l->net[0].tap, "tap7"));
	CHECK(!strcmp(l->net[1].id, "eth1") && !strcmp(l->net[1].tap, "tap8"));
	CHECK(!strcmp(l->vsock_uds, "/v.sock"));

	/* Firecracker's messages for both and neither. */
	CHECK(route("/snapshot/load", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", "
				      "\"mem_backend\": {\"backend_type\": \"File\", "
				      "\"backend_path\": \"m\"}}") == -EINVAL &&
	      fault_is("too many fields: either `mem_backend` or `mem_file_path` exclusively is "
		       "required."));
	CHECK(route("/snapshot/load", "{\"snapshot_path\": \"s\"}") == -EINVAL &&
	      fault_is("missing field: either `mem_backend` or `mem_file_path` is required."));
	CHECK(route("/snapshot/load", "{\"mem_file_path\": \"m\"}") == -EINVAL &&
	      fault_is("missing field `snapshot_path`."));
	CHECK(route("/snapshot/load", "{\"snapshot_path\": \"s\", \"mem_backend\": "
				      "{\"backend_path\": \"m\"}}") == -EINVAL &&
	      fault_is("`mem_backend`: missing field `backend_type`."));
	CHECK(route("/snapshot/load",
		    "{\"snapshot_path\": \"s\", \"mem_backend\": "
		    "{\"backend_type\": \"Memfd\", \"backend_path\": \"m\"}}") == -EINVAL &&
	      fault_is("`mem_backend`: `backend_type`: expected one of \"File\", \"Uffd\"."));
	CHECK(route("/snapshot/load", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"\"}") ==
		  -EINVAL &&
	      fault_is("`mem_file_path`: empty."));
	CHECK(route("/snapshot/load", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", "
				      "\"huge_pages\": \"None\"}") == -EINVAL &&
	      strstr(fault, "unknown field `huge_pages`"));
	CHECK(route("/snapshot/load", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", "
				      "\"resume_vm\": 1}") == -EINVAL &&
	      fault_is("`resume_vm`: expected a boolean, got an integer."));
	CHECK(route("/snapshot/load", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", "
				      "\"network_overrides\": {}}") == -EINVAL &&
	      fault_is("`network_overrides`: expected an array, got an object."));
	CHECK(route("/snapshot/load",
		    "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", "
		    "\"network_overrides\": [{\"iface_id\": \"a\"}]}") == -EINVAL &&
	      fault_is("`network_overrides`: [0]: missing field `host_dev_name`."));
	CHECK(route("/snapshot/load",
		    "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", \"network_overrides\": "
		    "[{\"iface_id\": \"a\", \"host_dev_name\": \"t\"}, {\"iface_id\": \"a\", "
		    "\"host_dev_name\": \"u\"}]}") == -EINVAL &&
	      fault_is("`network_overrides`: [1]: interface 'a' given twice."));
	CHECK(route("/snapshot/load", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", "
				      "\"network_overrides\": [{\"iface_id\": \"a-b\", "
				      "\"host_dev_name\": \"t\"}]}") == -EINVAL &&
	      fault_is("`network_overrides`: [0]: `iface_id`: not a valid id."));
	CHECK(route("/snapshot/load", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", "
				      "\"network_overrides\": [{\"iface_id\": \"a\", "
				      "\"host_dev_name\": \"tap0123456789abcd\"}]}") == -EINVAL &&
	      fault_is("`network_overrides`: [0]: `host_dev_name`: longer than 15 bytes."));
	CHECK(route("/snapshot/load", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", "
				      "\"vsock_override\": {\"uds_path\": \"\"}}") == -EINVAL &&
	      fault_is("`vsock_override`: `uds_path`: empty."));
	CHECK(route("/snapshot/load", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", "
				      "\"vsock_override\": {\"path\": \"/v\"}}") == -EINVAL &&
	      strstr(fault, "unknown field `path`"));
}

/* ------------------------------------------------------ the VMM side */

static struct control ctl;
static char dir[64];

static void path_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static bool start_control(void)
{
	static struct vm_config cfg;
	struct control_options opt = { .id = "snap-test" };

	config_init(&cfg);
	return control_init(&ctl, &cfg, &opt) == 0;
}

/* Route and carry out one PUT (or PATCH) as the API thread and the VMM
 * thread would; the answer in res. */
static void call(enum http_method m, const char *path, const char *body)
{
	int quiet = open("/dev/null", O_WRONLY), old = log_set_stderr(quiet);

	res = (struct api_result){ 0 };
	if (api_route(m, path, body, strlen(body), &req, fault, sizeof(fault))) {
		res.status = 400;
		snprintf(res.fault, sizeof(res.fault), "%s", fault);
	} else {
		control_api_execute(&ctl, &req, &res);
	}
	free(res.body);
	res.body = NULL;
	log_set_stderr(old);
	close(quiet);
}

static bool fault_starts(const char *prefix)
{
	return res.status == 400 && !strncmp(res.fault, prefix, strlen(prefix));
}

/* A state file of the given sections: "config" holding `config_json`
 * (NULL: none), "vm" with cpus and mem_mib (cpus 0: none), and one more
 * section named `extra` (NULL: none). */
static bool write_state(const char *path, const char *config_json, uint32_t cpus, uint64_t mem_mib,
			const char *extra)
{
	char why[SNAP_WHY_MAX];
	struct snap_file f;
	struct snap s;
	bool ok = true;
	int fd;

	snap_file_init(&f);
	if (config_json) {
		uint32_t len = (uint32_t)strlen(config_json);

		snap_init_save(&s, SNAP_FILE_MAX);
		snap_u32(&s, &len);
		snap_bytes(&s, (void *)config_json, len);
		ok = ok && !snap_file_add(&f, "config", SNAPSHOT_CONFIG_VERSION, &s, why);
		snap_free(&s);
	}
	if (cpus) {
		uint64_t mem = mem_mib << 20, clock = 123456789, real = 1;

		snap_init_save(&s, SNAP_FILE_MAX);
		snap_u32(&s, &cpus);
		snap_u64(&s, &mem);
		snap_u64(&s, &clock);
		snap_u64(&s, &real);
		ok = ok && !snap_file_add(&f, "vm", SNAPSHOT_VM_VERSION, &s, why);
		snap_free(&s);
	}
	if (extra) {
		uint8_t b = 1;

		snap_init_save(&s, SNAP_FILE_MAX);
		snap_u8(&s, &b);
		ok = ok && !snap_file_add(&f, extra, 1, &s, why);
		snap_free(&s);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ok = ok && fd >= 0 && !snap_file_write(&f, fd, why);
	if (fd >= 0)
		close(fd);
	snap_file_free(&f);
	return ok;
}

static bool write_mem(const char *path, uint64_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	bool ok = fd >= 0 && !ftruncate(fd, (off_t)size);

	if (fd >= 0)
		close(fd);
	return ok;
}

/* The configuration GET /vm/config would give for a 1-vCPU, 32 MiB VM
 * (with `more` added inside the document). */
static const char *config_doc(const char *machine, const char *more)
{
	static char doc[2048];

	snprintf(doc, sizeof(doc),
		 "{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"machine-config\": %s%s%s}",
		 machine, more ? ", " : "", more ? more : "");
	return doc;
}

#define MACHINE_1_32 "{\"vcpu_count\": 1, \"mem_size_mib\": 32}"

static char state[128], mem[128], body[512];

static const char *load_body(const char *extra)
{
	snprintf(body, sizeof(body),
		 "{\"snapshot_path\": \"%s\", \"mem_backend\": {\"backend_type\": \"File\", "
		 "\"backend_path\": \"%s\"}%s%s}",
		 state, mem, extra ? ", " : "", extra ? extra : "");
	return body;
}

/* Before a boot: create is refused; after a boot-specific PUT, load is. */
static void preboot_rules(void)
{
	char want[512];

	REQUIRE(start_control());
	call(HTTP_PUT, "/snapshot/create", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}");
	CHECK(res.status == 400 &&
	      !strcmp(res.fault,
		      "The requested operation is not supported before starting the microVM."));
	/* Logger and metrics may come first (they are not the VM's). */
	path_in(state, sizeof(state), "none.state");
	path_in(mem, sizeof(mem), "none.mem");
	call(HTTP_PUT, "/logger", "{\"level\": \"Warning\"}");
	CHECK(res.status == 204);
	call(HTTP_PUT, "/snapshot/load", load_body(NULL));
	CHECK(fault_starts("Load snapshot error: snapshot '") &&
	      strstr(res.fault, "No such file or directory"));
	/* Uffd: the state file read and checked, then the page server is
	 * reached before anything is built (here: nobody there; or the host
	 * refuses userfaultfd, which comes first). */
	path_in(state, sizeof(state), "uffd.state");
	CHECK(write_state(state, config_doc(MACHINE_1_32, NULL), 1, 32, NULL));
	path_in(mem, sizeof(mem), "none.sock");
	snprintf(body, sizeof(body),
		 "{\"snapshot_path\": \"%s\", \"mem_backend\": {\"backend_type\": \"Uffd\", "
		 "\"backend_path\": \"%s\"}}",
		 state, mem);
	call(HTTP_PUT, "/snapshot/load", body);
	snprintf(want, sizeof(want),
		 "Load snapshot error: page server '%s': No such file or directory", mem);
	CHECK(res.status == 400 &&
	      (!strcmp(res.fault, want) || fault_starts("Load snapshot error: userfaultfd: ")));
	CHECK(ctl.uffd.uffd < 0 && ctl.uffd.sock < 0);
	path_in(state, sizeof(state), "none.state");
	path_in(mem, sizeof(mem), "none.mem");
	/* Still fresh: a boot-specific PUT works, and then no load. */
	CHECK(ctl.state == CONTROL_NOT_STARTED && !ctl.boot_configured);
	call(HTTP_PUT, "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64}");
	CHECK(res.status == 204 && ctl.boot_configured);
	call(HTTP_PUT, "/snapshot/load", load_body(NULL));
	CHECK(res.status == 400 && !strcmp(res.fault, "Load snapshot error: Loading a microVM "
						      "snapshot not allowed after configuring "
						      "boot-specific resources."));
	control_destroy(&ctl);
	/* Even a refused boot-specific request counts (Firecracker's rule). */
	REQUIRE(start_control());
	call(HTTP_PUT, "/boot-source", "{\"kernel_image_path\": \"/nonexistent/k\"}");
	CHECK(res.status == 400);
	call(HTTP_PUT, "/snapshot/load", load_body(NULL));
	CHECK(fault_starts("Load snapshot error: Loading a microVM snapshot not allowed"));
	control_destroy(&ctl);
}

/* Each hostile state file: one line naming the file and the problem, and
 * the process stays fresh (its configuration untouched). */
static void hostile_state_files(void)
{
	/* config "C": the good document for 1 vCPU and 32 MiB; "C8": the
	 * same with 8 MiB. want: the message after "snapshot 'PATH': ", or
	 * after "Load snapshot error: " when it starts with '='. */
	static const struct {
		const char *name, *config;
		uint32_t cpus;
		uint64_t mem_mib;
		const char *want;
	} cases[] = {
		{ "no-config", NULL, 1, 32, "section 'config' missing" },
		{ "no-vm", "C", 0, 32, "section 'vm' missing" },
		{ "config-not-json", "{\"boot-source\":", 1, 32, "section 'config': " },
		{ "config-unknown", "{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"x\": 1}",
		  1, 32, "section 'config': unknown section `x`" },
		{ "vcpus-differ", "C", 2, 32,
		  "section 'vm': 2 vCPUs, but the configuration has 1" },
		{ "vcpus-huge", "C", 300, 32,
		  "section 'vm': vCPU count 300 out of range (max 254)" },
		{ "mem-differs", "C", 1, 64,
		  "section 'vm': 64 MiB of RAM, but the configuration has 32" },
		{ "mem-too-small", "C8", 1, 8, "=guest memory 8" },
	};
	char want[256];

	REQUIRE(start_control());
	path_in(mem, sizeof(mem), "32.mem");
	REQUIRE(write_mem(mem, 32ULL << 20));
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *cfg = cases[i].config;

		harness_begin(cases[i].name);
		if (cfg && !strcmp(cfg, "C"))
			cfg = config_doc(MACHINE_1_32, NULL);
		else if (cfg && !strcmp(cfg, "C8"))
			cfg = config_doc("{\"vcpu_count\": 1, \"mem_size_mib\": 8}", NULL);
		path_in(state, sizeof(state), cases[i].name);
		CHECK(write_state(state, cfg, cases[i].cpus, cases[i].mem_mib, NULL));
		call(HTTP_PUT, "/snapshot/load", load_body(NULL));
		if (cases[i].want[0] == '=')
			snprintf(want, sizeof(want), "Load snapshot error: %s", cases[i].want + 1);
		else
			snprintf(want, sizeof(want), "Load snapshot error: snapshot '%s': %s",
				 state, cases[i].want);
		CHECK(fault_starts(want));
		CHECK(ctl.state == CONTROL_NOT_STARTED && ctl.cfg.mem_size == CONFIG_DEFAULT_MEM);
		harness_end();
	}
	harness_begin("hostile_state_files");
	/* Cut short: the container refuses it (its own words). */
	path_in(state, sizeof(state), "good.state");
	CHECK(write_state(state, config_doc(MACHINE_1_32, NULL), 1, 32, NULL));
	CHECK(truncate(state, 20) == 0);
	call(HTTP_PUT, "/snapshot/load", load_body(NULL));
	snprintf(want, sizeof(want), "Load snapshot error: snapshot '%s': ", state);
	CHECK(fault_starts(want));
	/* Not a file at all. */
	snprintf(state, sizeof(state), "%s", dir);
	call(HTTP_PUT, "/snapshot/load", load_body(NULL));
	CHECK(fault_starts("Load snapshot error: snapshot '"));
	CHECK(ctl.state == CONTROL_NOT_STARTED && !ctl.boot_configured);
	control_destroy(&ctl);
	harness_end();
}

/* The memory file and the overrides, checked by snapshot_load_open;
 * a good pair opens, with the saved configuration and the process's own
 * settings. */
static void load_open_checks(void)
{
	static struct vm_config cfg;
	struct snapshot_load ld;
	struct snapshot_load_params p = { 0 };
	const char *net = "\"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": "
			  "\"tap0\"}], \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/v\"}, "
			  "\"logger\": null, \"petrel\": {\"seccomp\": false}";
	int quiet = open("/dev/null", O_WRONLY), old = log_set_stderr(quiet);

	path_in(state, sizeof(state), "net.state");
	path_in(mem, sizeof(mem), "net.mem");
	REQUIRE(write_state(state, config_doc(MACHINE_1_32, net), 1, 32, NULL));
	p.state_path = state;
	p.mem_path = mem;
	config_init(&cfg);
	snprintf(cfg.metrics.path, sizeof(cfg.metrics.path), "/m.json");
	/* No memory file, then one of the wrong size. */
	CHECK(snapshot_load_open(&ld, &p, &cfg) == -ENOENT && ld.mem_fd == -1);
	REQUIRE(write_mem(mem, 31ULL << 20));
	CHECK(snapshot_load_open(&ld, &p, &cfg) == -EINVAL);
	REQUIRE(write_mem(mem, 32ULL << 20));
	/* An override of an interface the snapshot does not have. */
	p.nnet = 1;
	snprintf(p.net[0].id, sizeof(p.net[0].id), "eth9");
	snprintf(p.net[0].tap, sizeof(p.net[0].tap), "tap9");
	CHECK(snapshot_load_open(&ld, &p, &cfg) == -EINVAL);
	CHECK(cfg.mem_size == CONFIG_DEFAULT_MEM && cfg.nnets == 0); /* unchanged */
	/* The right ones. */
	snprintf(p.net[0].id, sizeof(p.net[0].id), "eth0");
	snprintf(p.vsock_uds, sizeof(p.vsock_uds), "/clone.vsock");
	REQUIRE(snapshot_load_open(&ld, &p, &cfg) == 0);
	CHECK(ld.mem_fd >= 0 && ld.clock_ns == 123456789);
	CHECK(cfg.cpus == 1 && cfg.mem_size == 32ULL << 20 && cfg.nnets == 1);
	CHECK(!strcmp(cfg.net[0].tap, "tap9") && !strcmp(cfg.vsock.uds, "/clone.vsock"));
	/* The process's settings win over the saved ones. */
	CHECK(!strcmp(cfg.metrics.path, "/m.json") && !cfg.no_seccomp);
	snapshot_load_close(&ld);
	snapshot_load_close(&ld); /* idempotent */
	CHECK(ld.mem_fd == -1);
	/* A vsock override for a VM without vsock. */
	REQUIRE(write_state(state, config_doc(MACHINE_1_32, NULL), 1, 32, NULL));
	p.nnet = 0;
	CHECK(snapshot_load_open(&ld, &p, &cfg) == -EINVAL);
	/* A section no loader knows is refused only once the VM is loaded
	 * (snapshot_load_state); the open still passes. */
	p.vsock_uds[0] = 0;
	REQUIRE(write_state(state, config_doc(MACHINE_1_32, NULL), 1, 32, "bogus"));
	CHECK(snapshot_load_open(&ld, &p, &cfg) == 0);
	snapshot_load_close(&ld);
	log_set_stderr(old);
	close(quiet);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/petrel-test-snap.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	RUN(create_bodies);
	RUN(load_bodies);
	RUN(preboot_rules);
	hostile_state_files();
	RUN(load_open_checks);
	snprintf(body, sizeof(body), "rm -rf '%s'", dir);
	if (system(body))
		return 1;
	return harness_exit();
}
