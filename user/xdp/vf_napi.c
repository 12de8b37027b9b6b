// SPDX-License-Identifier: GPL-2.0
/* The VF's NAPI deferral knobs in sysfs, for the kernel's AF_XDP busy-poll
 * recipe (Documentation/networking/af_xdp.rst, napi.rst).
 *
 * Without deferral every frame the VF receives schedules its NAPI, which
 * then runs for that one frame; a busy-polling relay cannot batch what the
 * softirq already took frame by frame. With napi_defer_hard_irqs and
 * gro_flush_timeout set, a busy poll from the relay's sendto() keeps the
 * NAPI to itself for up to the timeout, frames queue meanwhile, and the next
 * busy poll takes them in a batch; when the relay stops polling the timer
 * hands the queue back to the softirq.
 *
 * The values it replaced are also kept in a one-entry BPF array pinned in
 * the relay's bpffs directory (`bpftool map dump pinned .../vf_napi`): a
 * relay killed with SIGKILL cannot restore them, its next run can.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "util/log.h"
#include "vf_napi.h"

/* The pinned record: the values found, and the ones written over them. */
struct vf_napi_rec {
	__u64 old_defer, old_timeout_ns;
	__u64 set_defer, set_timeout_ns;
};

static int knob_path(char *buf, size_t len, const char *ifname, const char *knob)
{
	int n = snprintf(buf, len, "/sys/class/net/%s/%s", ifname, knob);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int knob_read(const char *ifname, const char *knob, unsigned long *val)
{
	char path[128], buf[32], *end;
	ssize_t n;
	int fd, err;

	err = knob_path(path, sizeof(path), ifname, knob);
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	buf[n] = '\0';
	errno = 0;
	*val = strtoul(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n'))
		return -EINVAL;
	return 0;
}

static int knob_write(const char *ifname, const char *knob, unsigned long val)
{
	char path[128], buf[32];
	int fd, len, err = 0;

	err = knob_path(path, sizeof(path), ifname, knob);
	if (err)
		return err;
	len = snprintf(buf, sizeof(buf), "%lu\n", val);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, len) != len)
		err = -errno;
	close(fd);
	return err;
}

/* A record left by a run that did not restore: if the VF still has the
 * values that run wrote, the ones it replaced are the real originals.
 * Returns true when @n now holds them. A record that no longer matches (the
 * operator changed the knobs since) is dropped.
 */
static bool rec_recover(struct vf_napi *n)
{
	struct vf_napi_rec rec;
	__u32 key = 0;
	bool ok;
	int fd;

	fd = bpf_obj_get(n->pin);
	if (fd < 0)
		return false;
	ok = !bpf_map_lookup_elem(fd, &key, &rec) &&
	     rec.set_defer == n->old_defer && rec.set_timeout_ns == n->old_timeout_ns;
	close(fd);
	if (!ok) {
		unlink(n->pin);
		return false;
	}
	pr_notice("%s: NAPI deferral %lu x %lu ns was left by an earlier run that did not shut down cleanly; %lu x %lu ns go back at exit",
		  n->ifname, n->old_defer, n->old_timeout_ns,
		  (unsigned long)rec.old_defer, (unsigned long)rec.old_timeout_ns);
	n->old_defer = rec.old_defer;
	n->old_timeout_ns = rec.old_timeout_ns;
	return true;
}

/* Best effort: without the record only a crash recovery is lost. */
static void rec_save(struct vf_napi *n)
{
	struct vf_napi_rec rec = {
		.old_defer = n->old_defer, .old_timeout_ns = n->old_timeout_ns,
		.set_defer = n->defer, .set_timeout_ns = n->timeout_ns,
	};
	__u32 key = 0;
	int fd, err = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "vf_napi", sizeof(key), sizeof(rec), 1, NULL);
	if (fd < 0)
		err = -errno;
	else if (bpf_map_update_elem(fd, &key, &rec, BPF_ANY) || bpf_obj_pin(fd, n->pin))
		err = -errno;
	if (fd >= 0)
		close(fd);
	if (err)
		pr_warn("%s: cannot record the NAPI values at %s (%s): a crash would leave them set",
			n->ifname, n->pin, strerror(-err));
}

int vf_napi_apply(struct vf_napi *n, const char *ifname, const char *pin,
		  unsigned int defer, unsigned int timeout_us)
{
	int err;

	memset(n, 0, sizeof(*n));
	snprintf(n->ifname, sizeof(n->ifname), "%s", ifname);
	snprintf(n->pin, sizeof(n->pin), "%s", pin);
	err = knob_read(ifname, "napi_defer_hard_irqs", &n->old_defer);
	if (!err)
		err = knob_read(ifname, "gro_flush_timeout", &n->old_timeout_ns);
	if (err)
		return err;
	n->defer = n->old_defer;
	n->timeout_ns = n->old_timeout_ns;
	if (rec_recover(n)) {
		/* Ours, from the run before: in effect already. */
		n->changed = true;
		n->active = n->defer && n->timeout_ns;
		return 0;
	}
	if (n->old_defer || n->old_timeout_ns) {
		/* The operator's tuning; deferral needs both. */
		n->active = n->old_defer && n->old_timeout_ns;
		return 0;
	}
	if (!defer || !timeout_us)
		return 0;
	/* Timeout first: a count without one defers nothing. */
	err = knob_write(ifname, "gro_flush_timeout", timeout_us * 1000ul);
	if (!err) {
		n->changed = true;
		err = knob_write(ifname, "napi_defer_hard_irqs", defer);
	}
	if (err) {
		vf_napi_restore(n);
		return err;
	}
	n->defer = defer;
	n->timeout_ns = timeout_us * 1000ul;
	n->active = true;
	rec_save(n);
	return 0;
}

void vf_napi_restore(struct vf_napi *n)
{
	int err;

	if (!n->changed)
		return;
	n->changed = false;
	n->active = false;
	err = knob_write(n->ifname, "napi_defer_hard_irqs", n->old_defer);
	if (!err)
		err = knob_write(n->ifname, "gro_flush_timeout", n->old_timeout_ns);
	/* The VF may be gone (unplugged, its netns deleted): nothing to undo. */
	if (err && err != -ENOENT && err != -ENODEV)
		pr_warn("%s: cannot restore napi_defer_hard_irqs/gro_flush_timeout: %s",
			n->ifname, strerror(-err));
	else
		unlink(n->pin);
}
