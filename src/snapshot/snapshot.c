/* SPDX-License-Identifier: MIT */
/* Full snapshots: create and load (snapshot.h). */
#include "snapshot/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/vcpu_state.h"
#include "config_json.h"
#include "snapshot/memfile.h"
#include "vmm.h"

void snapshot_vcpu_section(unsigned int id, char name[SNAP_NAME_MAX])
{
	snprintf(name, SNAP_NAME_MAX, "vcpu.%u", id);
}

/* ------------------------------------------------------- petrel's sections */

/* "config": the VM's configuration as GET /vm/config gives it, so a load
 * needs nothing else. u32 length, then the JSON text. */
static void walk_config(struct snap *s, char **text)
{
	uint32_t len = *text ? (uint32_t)strlen(*text) : 0;

	snap_u32_max(s, &len, CONFIG_JSON_FILE_MAX, "configuration length");
	if (snap_saving(s)) {
		snap_bytes(s, *text, len);
		return;
	}
	if (snap_error(s))
		return;
	*text = malloc((size_t)len + 1);
	if (!*text) {
		snap_fail(s, -ENOMEM, "out of memory");
		return;
	}
	snap_bytes(s, *text, len);
	(*text)[len] = 0;
	snap_check(s, strlen(*text) == len, "a NUL in the configuration");
}

/* "vm": what the machine is (checked against the configuration and the
 * memory file) and its kvm-clock when it was paused, with the host's
 * wall clock at that moment. */
struct vm_section {
	uint32_t cpus;
	uint64_t mem_size;
	uint64_t clock_ns, realtime_ns;
};

static void walk_vm(struct snap *s, struct vm_section *v)
{
	snap_u32_max(s, &v->cpus, CONFIG_MAX_CPUS, "vCPU count");
	snap_u64(s, &v->mem_size);
	snap_u64(s, &v->clock_ns);
	snap_u64(s, &v->realtime_ns);
	snap_check(s, v->cpus >= 1, "no vCPUs");
	snap_check(s, v->mem_size && v->mem_size % (1u << 20) == 0,
		   "memory size %llu is not a whole number of MiB",
		   (unsigned long long)v->mem_size);
}

/* ------------------------------------------------------------- create */

/* Add the section s holds, and free s either way. */
static int add_section(struct snap_file *f, const char *name, uint32_t version, struct snap *s,
		       char why[SNAP_WHY_MAX])
{
	int err = snap_file_add(f, name, version, s, why);

	snap_free(s);
	return err;
}

static int save_sections(struct snap_file *f, struct vm *vm, const struct vm_config *cfg,
			 const struct vcpu_state_caps *caps, char why[SNAP_WHY_MAX])
{
	static struct vm_config saved; /* large: not on the stack */
	struct vm_section v = { .cpus = vm->ncpus,
				.mem_size = cfg->mem_size,
				.clock_ns = vm->paused_clock.clock,
				.realtime_ns = vm->paused_realtime_ns };
	char name[SNAP_NAME_MAX], *text;
	struct snap s;
	int err;

	/* The process's own settings are the restoring process's business. */
	saved = *cfg;
	saved.logger = (struct logger_config){ 0 };
	saved.metrics = (struct metrics_config){ 0 };
	saved.jail = (struct jail_config){ 0 };
	text = config_json_dump(&saved);
	if (!text) {
		snprintf(why, SNAP_WHY_MAX, "out of memory");
		return -ENOMEM;
	}
	snap_init_save(&s, SNAP_FILE_MAX);
	walk_config(&s, &text);
	free(text);
	err = add_section(f, "config", SNAPSHOT_CONFIG_VERSION, &s, why);
	if (err)
		return err;
	if (!vm->clock_saved) {
		snprintf(why, SNAP_WHY_MAX, "the kvm-clock could not be read at the pause");
		return -EIO;
	}
	snap_init_save(&s, SNAP_FILE_MAX);
	walk_vm(&s, &v);
	err = add_section(f, "vm", SNAPSHOT_VM_VERSION, &s, why);
	for (unsigned int i = 0; !err && i < vm->ncpus; i++) {
		snapshot_vcpu_section(i, name);
		snap_init_save(&s, SNAP_FILE_MAX);
		/* A failure stays in s, for add_section to report. */
		err = vcpu_state_snapshot(&vm->vcpu[i], caps, &s);
		err = add_section(f, name, VCPU_STATE_VERSION, &s, why);
	}
	for (unsigned int i = 0; !err && i < vm->devices.n; i++) {
		const struct device *d = &vm->devices.dev[i];

		if (!d->ops->snapshot)
			continue;
		snap_init_save(&s, SNAP_FILE_MAX);
		(void)d->ops->snapshot(d->opaque, &s);
		err = add_section(f, d->name, d->ops->snapshot_version, &s, why);
	}
	return err;
}

/* A new file next to `path`, for renaming over it: "<path>.XXXXXX". */
static int tmp_create(const char *path, char *tmp, size_t size)
{
	int fd;

	if ((size_t)snprintf(tmp, size, "%s.XXXXXX", path) >= size)
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int snapshot_save_state(struct vm *vm, const struct vm_config *cfg, uint8_t **buf, size_t *len)
{
	char why[SNAP_WHY_MAX] = "";
	struct vcpu_state_caps caps;
	struct snap_file f;
	int err = vcpu_state_probe(vm->kvm_fd, vm->vm_fd, &caps);

	if (err)
		return err;
	snap_file_init(&f);
	err = save_sections(&f, vm, cfg, &caps, why);
	if (!err)
		err = snap_file_encode(&f, buf, len, why);
	if (err)
		log_msg("the VM's state: %s", why);
	snap_file_free(&f);
	return err;
}

int snapshot_create(struct vm *vm, const struct vm_config *cfg, const char *state_path,
		    const char *mem_path, const uint64_t *dirty)
{
	char why[SNAP_WHY_MAX] = "", mem_why[MEMFILE_WHY_MAX] = "", mem_tmp[CONFIG_PATH_MAX + 8],
	     state_tmp[CONFIG_PATH_MAX + 8];
	int mem_fd = -1, state_fd = -1, err;
	struct vcpu_state_caps caps;
	struct snap_file f;

	err = vcpu_state_probe(vm->kvm_fd, vm->vm_fd, &caps);
	if (err)
		return err;
	snap_file_init(&f);
	err = save_sections(&f, vm, cfg, &caps, why);
	if (err) {
		log_msg("snapshot '%s': %s", state_path, why);
		snap_file_free(&f);
		return err;
	}
	mem_fd = tmp_create(mem_path, mem_tmp, sizeof(mem_tmp));
	if (mem_fd < 0) {
		err = mem_fd;
		log_msg("memory file '%s': %s", mem_path, strerror(-err));
		goto out;
	}
	err = memfile_write(&vm->gm, mem_fd, cfg->mem_size, dirty, mem_why);
	if (err) {
		log_msg("memory file '%s': %s", mem_path, mem_why);
		goto out;
	}
	state_fd = tmp_create(state_path, state_tmp, sizeof(state_tmp));
	if (state_fd < 0) {
		err = state_fd;
		log_msg("snapshot '%s': %s", state_path, strerror(-err));
		goto out;
	}
	err = snap_file_write(&f, state_fd, why);
	if (err) {
		log_msg("snapshot '%s': %s", state_path, why);
		goto out;
	}
	/* Both whole before either name changes. The two renames are not
	 * one step: a petrel killed between them leaves the new memory file
	 * beside the old state file, a pair that restores a wrong guest. */
	if (rename(mem_tmp, mem_path)) {
		err = -errno;
		log_msg("memory file '%s': %s", mem_path, strerror(errno));
		goto out;
	}
	close(mem_fd);
	mem_fd = -1;
	if (rename(state_tmp, state_path)) {
		err = -errno;
		log_msg("snapshot '%s': %s", state_path, strerror(errno));
	}
out:
	if (mem_fd >= 0) {
		close(mem_fd);
		unlink(mem_tmp);
	}
	if (state_fd >= 0) {
		close(state_fd);
		if (err)
			unlink(state_tmp);
	}
	snap_file_free(&f);
	return err;
}

/* --------------------------------------------------------------- load */

/* The saved configuration with the load's overrides; the process's own
 * settings from `own`. 0 or -EINVAL with why. */
static int load_config(struct snap_file *f, const struct snapshot_load_params *p,
		       const struct vm_config *own, struct vm_config *c, char why[SNAP_WHY_MAX])
{
	char err[JSON_ERR_MAX], *text = NULL;
	uint32_t version;
	struct snap s;
	json_t *doc;
	int ret;

	ret = snap_file_section(f, "config", &s, &version, why);
	if (ret)
		return ret;
	if (version != SNAPSHOT_CONFIG_VERSION) {
		snprintf(why, SNAP_WHY_MAX, "section 'config': layout version %u unknown", version);
		return -EINVAL;
	}
	walk_config(&s, &text);
	ret = snap_finish(&s);
	if (ret) {
		snprintf(why, SNAP_WHY_MAX, "section 'config': %.120s", s.why);
		free(text);
		return ret;
	}
	/* The VM's part from the document alone (a section it leaves out is
	 * the default, not the process's), the process's own from `own`. */
	config_init(c);
	c->logger = own->logger;
	c->metrics = own->metrics;
	c->jail = own->jail;
	c->no_seccomp = own->no_seccomp;
	doc = json_in_parse(text, strlen(text), err, sizeof(err));
	free(text);
	ret = doc ? config_json_document(doc, c, err, sizeof(err)) : -EINVAL;
	json_decref(doc);
	if (ret) {
		snprintf(why, SNAP_WHY_MAX, "section 'config': %.120s", err);
		return -EINVAL;
	}
	c->logger = own->logger;
	c->metrics = own->metrics;
	c->jail = own->jail;
	c->no_seccomp = own->no_seccomp;
	for (unsigned int i = 0; i < p->nnet; i++) {
		struct net_config *n = config_net(c, p->net[i].id);

		if (!n) {
			snprintf(why, SNAP_WHY_MAX,
				 "network_overrides: the snapshot has no interface '%s'",
				 p->net[i].id);
			return -EINVAL;
		}
		memcpy(n->tap, p->net[i].tap, sizeof(n->tap));
	}
	if (p->vsock_uds[0]) {
		if (!c->vsock.cid) {
			snprintf(why, SNAP_WHY_MAX,
				 "vsock_override: the snapshot has no vsock device");
			return -EINVAL;
		}
		memcpy(c->vsock.uds, p->vsock_uds, sizeof(c->vsock.uds));
	}
	return 0;
}

static int load_vm_section(struct snapshot_load *ld, const struct vm_config *c,
			   char why[SNAP_WHY_MAX])
{
	struct vm_section v = { 0 };
	uint32_t version;
	struct snap s;
	int ret = snap_file_section(&ld->file, "vm", &s, &version, why);

	if (ret)
		return ret;
	if (version != SNAPSHOT_VM_VERSION) {
		snprintf(why, SNAP_WHY_MAX, "section 'vm': layout version %u unknown", version);
		return -EINVAL;
	}
	walk_vm(&s, &v);
	snap_check(&s, v.cpus == c->cpus, "%u vCPUs, but the configuration has %u", v.cpus,
		   c->cpus);
	snap_check(&s, v.mem_size == c->mem_size, "%llu MiB of RAM, but the configuration has %llu",
		   (unsigned long long)(v.mem_size >> 20), (unsigned long long)(c->mem_size >> 20));
	ret = snap_finish(&s);
	if (ret) {
		snprintf(why, SNAP_WHY_MAX, "section 'vm': %.120s", s.why);
		return ret;
	}
	ld->clock_ns = v.clock_ns;
	ld->realtime_ns = v.realtime_ns;
	return 0;
}

/* The memory file `path`, or a duplicate of `given` if >= 0. */
static int open_memory(const char *path, int given, uint64_t size, int *out)
{
	int fd = given >= 0 ? fcntl(given, F_DUPFD_CLOEXEC, 3) : open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		log_msg("memory file '%s': %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		log_msg("memory file '%s': not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size != size) {
		log_msg("memory file '%s': %llu bytes, but the snapshot's VM has %llu MiB of RAM",
			path, (unsigned long long)st.st_size, (unsigned long long)(size >> 20));
		close(fd);
		return -EINVAL;
	}
	*out = fd;
	return 0;
}

int snapshot_load_open(struct snapshot_load *ld, const struct snapshot_load_params *p,
		       struct vm_config *cfg)
{
	static struct vm_config c; /* large: not on the stack */
	char why[SNAP_WHY_MAX] = "";
	int fd, err;

	*ld = (struct snapshot_load){ .mem_fd = -1, .clock_realtime = p->clock_realtime };
	snap_file_init(&ld->file);
	snprintf(ld->path, sizeof(ld->path), "%s", p->state_path);
	if (p->state_buf) {
		err = snap_file_decode(&ld->file, p->state_buf, p->state_len, why);
	} else {
		fd = open(p->state_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			err = -errno;
			log_msg("snapshot '%s': %s", p->state_path, strerror(errno));
			return err;
		}
		err = snap_file_read(&ld->file, fd, why);
		close(fd);
	}
	if (!err)
		err = load_config(&ld->file, p, cfg, &c, why);
	if (!err && p->track != SNAPSHOT_TRACK_AS_SAVED)
		c.track_dirty_pages = p->track == SNAPSHOT_TRACK_ON;
	if (!err)
		err = load_vm_section(ld, &c, why);
	if (err) {
		log_msg("snapshot '%s': %s", p->state_path, why);
		goto fail;
	}
	/* The same judgement as a boot's, with the same one line. */
	err = config_check(&c);
	if (!err && (p->mem_path || p->state_buf))
		err = open_memory(p->mem_path, p->state_buf ? p->mem_fd : -1, c.mem_size,
				  &ld->mem_fd);
	if (err)
		goto fail;
	*cfg = c;
	return 0;

fail:
	snapshot_load_close(ld);
	return err;
}

/* One section into `load`, which must read it whole. */
static int load_section(struct snapshot_load *ld, const char *name, uint32_t want_version,
			int (*load)(void *arg, struct snap *s), void *arg)
{
	char why[SNAP_WHY_MAX] = "";
	uint32_t version;
	struct snap s;
	int err = snap_file_section(&ld->file, name, &s, &version, why);

	if (err) {
		log_msg("snapshot '%s': %s", ld->path, why);
		return err;
	}
	if (version != want_version) {
		log_msg("snapshot '%s': section '%s': layout version %u, this petrel reads %u",
			ld->path, name, version, want_version);
		return -EINVAL;
	}
	(void)load(arg, &s);
	err = snap_finish(&s);
	if (err)
		log_msg("snapshot '%s': section '%s': %s", ld->path, name, s.why);
	return err;
}

struct vcpu_load {
	struct vcpu *vcpu;
	const struct vcpu_state_caps *caps;
};

static int load_vcpu(void *arg, struct snap *s)
{
	struct vcpu_load *l = arg;

	return vcpu_state_snapshot(l->vcpu, l->caps, s);
}

static int load_device(void *arg, struct snap *s)
{
	struct device *d = arg;

	return d->ops->snapshot(d->opaque, s);
}

int snapshot_load_state(struct snapshot_load *ld, struct vm *vm)
{
	char why[SNAP_WHY_MAX] = "", name[SNAP_NAME_MAX];
	struct vcpu_state_caps caps;
	int err = vcpu_state_probe(vm->kvm_fd, vm->vm_fd, &caps);

	/* The vCPUs first: a device's interrupt, were one delivered while
	 * loading, must land in a local APIC that is already whole. */
	for (unsigned int i = 0; !err && i < vm->ncpus; i++) {
		struct vcpu_load l = { &vm->vcpu[i], &caps };

		snapshot_vcpu_section(i, name);
		err = load_section(ld, name, VCPU_STATE_VERSION, load_vcpu, &l);
	}
	/* A device loads only while paused (device_ops.snapshot), as it
	 * saved; the VM then starts with them paused. */
	if (!err)
		vm_pause_devices(vm);
	for (unsigned int i = 0; !err && i < vm->devices.n; i++) {
		struct device *d = &vm->devices.dev[i];

		if (d->ops->snapshot)
			err = load_section(ld, d->name, d->ops->snapshot_version, load_device, d);
	}
	if (!err) {
		err = snap_file_unused(&ld->file, why);
		if (err)
			log_msg("snapshot '%s': %s", ld->path, why);
	}
	if (!err)
		vm_set_paused_clock(vm, ld->clock_ns, ld->realtime_ns, ld->clock_realtime);
	return err;
}

void snapshot_load_close(struct snapshot_load *ld)
{
	snap_file_free(&ld->file);
	if (ld->mem_fd >= 0)
		close(ld->mem_fd);
	ld->mem_fd = -1;
}
