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
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vf_napi.h"

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

int vf_napi_apply(struct vf_napi *n, const char *ifname, unsigned int defer,
		  unsigned int timeout_us)
{
	int err;

	memset(n, 0, sizeof(*n));
	snprintf(n->ifname, sizeof(n->ifname), "%s", ifname);
	err = knob_read(ifname, "napi_defer_hard_irqs", &n->old_defer);
	if (!err)
		err = knob_read(ifname, "gro_flush_timeout", &n->old_timeout_ns);
	if (err)
		return err;
	n->defer = n->old_defer;
	n->timeout_ns = n->old_timeout_ns;
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
}
