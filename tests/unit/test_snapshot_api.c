/* SPDX-License-Identifier: MIT */
/*
 * Snapshots without KVM: the JSON bodies of PUT /snapshot/create and
 * /snapshot/load (api/routes.c), Firecracker's rules for when each may
 * come (control_api.c), and everything a load checks before it builds a
 * VM (snapshot_load_open): hostile state files, a memory file of the
 * wrong size, a configuration that disagrees with section "vm", and the
 * overrides; the hostile-snapshot corpus, files built byte by byte with
 * their checksum made right so that the load reaches the bad field, each
 * refused in its one exact line. A refused load leaves the process as
 * fresh as it was.
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
#include "le.h"
#include "snapshot/crc32c.h"
#include "snapshot/snapshot.h"
#include "snap_raw.h"

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

/* ---- hostile state files, byte by byte ---- */

/* A state file written field by field (docs/snapshot.md's container), so
 * that anything in it can be wrong. */
/* A section's head claiming `claim` bytes of payload (none written). */
static void raw_section(struct raw *r, const char *name, uint32_t version, uint64_t claim)
{
	raw_section_head(r, name, strlen(name), version, claim);
}

/* Section "config" at layout `version` with the 1-vCPU, 32 MiB document,
 * its length field saying `len` (0: the document's true length). */
static void raw_config(struct raw *r, uint32_t version, uint32_t len)
{
	const char *doc = config_doc(MACHINE_1_32, NULL);
	size_t n = strlen(doc);

	raw_section(r, "config", version, 4 + n);
	raw_put(r, len ? len : n, 4);
	memcpy(r->b + r->len, doc, n);
	r->len += n;
}

/* Section "vm" at layout `version`: cpus, mem bytes, then `extra` more
 * bytes; its length field `claim` (0: the true length). */
static void raw_vm(struct raw *r, uint32_t version, uint32_t cpus, uint64_t mem, size_t extra,
		   uint64_t claim)
{
	raw_section(r, "vm", version, claim ? claim : 28 + extra);
	raw_put(r, cpus, 4);
	raw_put(r, mem, 8);
	raw_put(r, 123456789, 8);
	raw_put(r, 1, 8);
	for (size_t i = 0; i < extra; i++)
		r->b[r->len++] = 0;
}

/* A state file of sections "config" and "vm", checksum right, with the
 * header, section and field values given (raw_config's and raw_vm's). */
static void raw_two(struct raw *r, uint32_t version, uint32_t flags, uint32_t count,
		    uint32_t config_version, uint32_t config_len, uint32_t vm_version,
		    uint32_t cpus, uint64_t mem, size_t extra, uint64_t claim)
{
	raw_header(r, version, flags, count);
	raw_config(r, config_version, config_len);
	raw_vm(r, vm_version, cpus, mem, extra, claim);
	raw_sum(r);
}

/* A good state file: config, vm (1 vCPU, 32 MiB). */
static void raw_good(struct raw *r)
{
	raw_two(r, 1, 0, 2, 1, 0, 1, 1, 32ULL << 20, 0, 0);
}

/* Write r as `state`, file `name` in the scratch directory. */
static bool write_raw(const char *name, const struct raw *r)
{
	int fd;
	bool ok;

	path_in(state, sizeof(state), name);
	fd = open(state, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return false;
	ok = write(fd, r->b, r->len) == (ssize_t)r->len;
	close(fd);
	return ok;
}

/* PUT /snapshot/load of r, written as file `name` (with `mem`). */
static bool load_raw(const char *name, const struct raw *r)
{
	if (!write_raw(name, r))
		return false;
	call(HTTP_PUT, "/snapshot/load", load_body(NULL));
	return true;
}

/* Loading r (written as file `name`) is refused with exactly "snapshot
 * 'PATH': want", and the process stays fresh. */
static bool refused_as(const char *name, const struct raw *r, const char *want)
{
	char line[512];

	if (!load_raw(name, r))
		return false;
	snprintf(line, sizeof(line), "Load snapshot error: snapshot '%s': %s", state, want);
	if (res.status != 400 || strcmp(res.fault, line)) {
		fprintf(stderr, "  %s: got '%s'\n  want '%s'\n", name, res.fault, line);
		return false;
	}
	return ctl.state == CONTROL_NOT_STARTED && !ctl.boot_configured &&
	       ctl.cfg.mem_size == CONFIG_DEFAULT_MEM;
}

/* The corpus, what the container and sections "config" and "vm"
 * can get wrong (the vCPU and device sections are refused the same way
 * once a VM is built: tests/api/snapshot.sh, and each device's own unit
 * test). */
static void hostile_corpus(void)
{
	static struct vm_config cfg;
	struct snapshot_load_params p = { .state_path = state, .mem_path = mem };
	struct snapshot_load ld;
	struct raw r;
	char want[256];
	int quiet = open("/dev/null", O_WRONLY), old = log_set_stderr(quiet);

	/* The base of every case opens (what follows needs a VM: KVM). */
	path_in(mem, sizeof(mem), "32.mem");
	REQUIRE(write_mem(mem, 32ULL << 20));
	raw_good(&r);
	REQUIRE(write_raw("good", &r));
	config_init(&cfg);
	CHECK(snapshot_load_open(&ld, &p, &cfg) == 0 && cfg.cpus == 1);
	snapshot_load_close(&ld);
	log_set_stderr(old);
	close(quiet);

	REQUIRE(start_control());

	r.b[0] = 'X';
	CHECK(refused_as("bad-magic", &r, "not a petrel snapshot (bad magic)"));
	raw_good(&r);
	r.b[r.len - 1] ^= 1;
	CHECK(refused_as("bad-checksum", &r, "bad checksum"));
	raw_good(&r);
	r.b[40] ^= 0x20; /* inside the configuration's text */
	CHECK(refused_as("bit-flip", &r, "bad checksum"));
	/* Truncated: in the header; in a section (the old checksum, then one
	 * made right for the shorter file, which the framing refuses). */
	raw_good(&r);
	r.len = 20;
	CHECK(
	    refused_as("truncated-header", &r, "truncated (20 bytes, a snapshot has 24 or more)"));
	raw_good(&r);
	r.len -= 10;
	CHECK(refused_as("truncated", &r, "bad checksum"));
	raw_good(&r);
	r.len -= 4 + 10;
	raw_sum(&r);
	CHECK(refused_as("truncated-summed", &r, "section 'vm': 28 bytes, only 18 left"));
	/* A newer format, unknown flags. */
	raw_two(&r, 2, 0, 2, 1, 0, 1, 1, 32ULL << 20, 0, 0);
	CHECK(refused_as("newer-version", &r, "format version 2 is newer than this petrel's (1)"));
	raw_two(&r, 1, 4, 2, 1, 0, 1, 1, 32ULL << 20, 0, 0);
	CHECK(refused_as("unknown-flags", &r, "unknown flags 0x4"));
	/* Huge lengths: a payload, a section count, the configuration's. */
	raw_two(&r, 1, 0, 2, 1, 0, 1, 1, 32ULL << 20, 0, UINT64_MAX);
	CHECK(refused_as("huge-payload", &r,
			 "section 'vm': 18446744073709551615 bytes, only 28 left"));
	raw_two(&r, 1, 0, UINT32_MAX, 1, 0, 1, 1, 32ULL << 20, 0, 0);
	CHECK(refused_as("huge-count", &r, "4294967295 sections, more than 512"));
	raw_two(&r, 1, 0, 2, 1, UINT32_MAX, 1, 1, 32ULL << 20, 0, 0);
	CHECK(refused_as("huge-config", &r,
			 "section 'config': configuration length 4294967295 out of range (max "
			 "1048576)"));
	raw_two(&r, 1, 0, 2, 1, 1000, 1, 1, 32ULL << 20, 0, 0);
	snprintf(want, sizeof(want), "section 'config': truncated (1000 bytes wanted, %zu left)",
		 strlen(config_doc(MACHINE_1_32, NULL)));
	CHECK(refused_as("config-past-payload", &r, want));
	/* A section repeated, missing, unknown in its layout, with bytes to spare. */
	raw_header(&r, 1, 0, 3);
	raw_config(&r, 1, 0);
	raw_vm(&r, 1, 1, 32ULL << 20, 0, 0);
	raw_vm(&r, 1, 1, 32ULL << 20, 0, 0);
	raw_sum(&r);
	CHECK(refused_as("repeated", &r, "section 'vm' repeated"));
	raw_header(&r, 1, 0, 1);
	raw_vm(&r, 1, 1, 32ULL << 20, 0, 0);
	raw_sum(&r);
	CHECK(refused_as("missing", &r, "section 'config' missing"));
	raw_two(&r, 1, 0, 2, 2, 0, 1, 1, 32ULL << 20, 0, 0);
	CHECK(refused_as("config-newer", &r, "section 'config': layout version 2 unknown"));
	raw_two(&r, 1, 0, 2, 1, 0, 7, 1, 32ULL << 20, 0, 0);
	CHECK(refused_as("vm-newer", &r, "section 'vm': layout version 7 unknown"));
	raw_two(&r, 1, 0, 2, 1, 0, 1, 1, 32ULL << 20, 3, 0);
	CHECK(refused_as("vm-trailing", &r, "section 'vm': 3 trailing bytes"));
	/* The machine: no vCPUs, RAM not whole MiB, vCPUs or RAM not the
	 * configuration's. */
	raw_two(&r, 1, 0, 2, 1, 0, 1, 0, 32ULL << 20, 0, 0);
	CHECK(refused_as("no-vcpus", &r, "section 'vm': no vCPUs"));
	raw_two(&r, 1, 0, 2, 1, 0, 1, 1, (32ULL << 20) + 4096, 0, 0);
	CHECK(refused_as("mem-not-mib", &r,
			 "section 'vm': memory size 33558528 is not a whole number of MiB"));
	raw_two(&r, 1, 0, 2, 1, 0, 1, 4, 32ULL << 20, 0, 0);
	CHECK(refused_as("vcpus-differ", &r, "section 'vm': 4 vCPUs, but the configuration has 1"));
	raw_two(&r, 1, 0, 2, 1, 0, 1, 1, 1ULL << 40, 0, 0);
	CHECK(refused_as("mem-differs", &r,
			 "section 'vm': 1048576 MiB of RAM, but the configuration has 32"));
	/* A memory file that is not the size section "vm" says: its own line. */
	raw_good(&r);
	path_in(mem, sizeof(mem), "31.mem");
	REQUIRE(write_mem(mem, 31ULL << 20));
	CHECK(load_raw("mem-short", &r) && res.status == 400);
	snprintf(want, sizeof(want),
		 "Load snapshot error: memory file '%s': 32505856 bytes, but the snapshot's VM "
		 "has 32 MiB of RAM",
		 mem);
	CHECK(!strcmp(res.fault, want));
	CHECK(ctl.state == CONTROL_NOT_STARTED && !ctl.boot_configured);
	control_destroy(&ctl);
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
	RUN(hostile_corpus);
	RUN(load_open_checks);
	snprintf(body, sizeof(body), "rm -rf '%s'", dir);
	if (system(body))
		return 1;
	return harness_exit();
}
