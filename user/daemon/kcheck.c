// SPDX-License-Identifier: GPL-2.0
/* Kernel feature probes, each tied to the Kconfig option an operator would
 * have to turn on; run once at start-up so a missing one is one clear line
 * instead of an obscure failure later.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <liburing.h>

#include "kcheck.h"
#include "util/log.h"
#include "util/compiler.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif

/* Multishot poll (5.13), IOSQE_CQE_SKIP_SUCCESS (5.17), AF_XDP need_wakeup
 * (5.4), BPF memory accounted to memcg rather than RLIMIT_MEMLOCK (5.11).
 */
#define KMIN_MAJOR 5
#define KMIN_MINOR 17

static int check_version(void)
{
	struct utsname u;
	unsigned int maj = 0, min = 0;

	if (uname(&u) || sscanf(u.release, "%u.%u", &maj, &min) != 2)
		return 0;	/* cannot tell: let the feature probes speak */
	if (maj > KMIN_MAJOR || (maj == KMIN_MAJOR && min >= KMIN_MINOR))
		return 0;
	pr_err("kernel %s is too old: vxdp-relay needs %d.%d or newer", u.release,
	       KMIN_MAJOR, KMIN_MINOR);
	return -EOPNOTSUPP;
}

static int check_btf(void)
{
	if (!access("/sys/kernel/btf/vmlinux", R_OK))
		return 0;
	pr_err("no /sys/kernel/btf/vmlinux: the XDP program needs kernel BTF (CONFIG_DEBUG_INFO_BTF=y)");
	return -EOPNOTSUPP;
}

static int check_xdp(void)
{
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL) > 0)
		return 0;
	pr_err("cannot load XDP programs: needs CONFIG_BPF_SYSCALL=y and CAP_BPF + CAP_NET_ADMIN");
	return -EOPNOTSUPP;
}

static int check_xsk(void)
{
	int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd >= 0) {
		close(fd);
		if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_XSKMAP, NULL) > 0)
			return 0;
	}
	pr_err("no AF_XDP sockets: needs CONFIG_XDP_SOCKETS=y%s",
	       fd < 0 && errno == EPERM ? " (and CAP_NET_RAW)" : "");
	return -EOPNOTSUPP;
}

static int check_uring(void)
{
	struct io_uring_probe *p = io_uring_get_probe();
	static const int ops[] = {
		IORING_OP_POLL_ADD, IORING_OP_READ, IORING_OP_WRITE,
		IORING_OP_ASYNC_CANCEL,
	};
	unsigned int i;
	int err = 0;

	if (!p) {
		pr_err("io_uring unavailable: needs CONFIG_IO_URING=y and kernel.io_uring_disabled=0");
		return -EOPNOTSUPP;
	}
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		if (!io_uring_opcode_supported(p, ops[i])) {
			pr_err("io_uring lacks opcode %d: kernel too old", ops[i]);
			err = -EOPNOTSUPP;
		}
	}
	io_uring_free_probe(p);
	return err;
}

int kcheck_run(void)
{
	int (*const checks[])(void) = {
		check_version, check_btf, check_xdp, check_xsk, check_uring,
	};
	unsigned int i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(checks); i++)
		if (checks[i]())
			err = -EOPNOTSUPP;
	if (err)
		pr_err("kernel requirements not met: see Kconfig-notes");
	return err;
}
