// SPDX-License-Identifier: GPL-2.0
/* Loads the vxdp_steer XDP program onto a VF, pins its maps under
 * /sys/fs/bpf/vxdp/<relay>/ for vxdpctl, and detaches it again on close.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/types.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "util/log.h"
#include "vxdp_shared.h"
#include "vxdp_steer.skel.h"
#include "xdp_steer.h"
#include "util/compiler.h"

#define BPFFS_ROOT "/sys/fs/bpf"

struct xdp_steer {
	struct vxdp_steer_bpf *skel;
	char relay[NAME_MAX + 1];
	char ifname[IF_NAMESIZE];
	int ifindex;
	char dir[sizeof(VXDP_PIN_ROOT) + NAME_MAX + 1];	/* VXDP_PIN_ROOT/<relay> */
	int dir_fd;		/* flock()ed for as long as the relay lives */
	__u32 mode_flags;	/* XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE */
	__u32 prog_id;
	int link_fd;		/* the attachment, -1 when detached */
};

static const char *mode_name(__u32 mode_flags)
{
	return mode_flags == XDP_FLAGS_DRV_MODE ? "native" : "generic (skb)";
}

/* The relay name becomes a directory name under bpffs. */
static int check_relay_name(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (!len || len > NAME_MAX - 1 || strchr(name, '/') ||
	    !strcmp(name, ".") || !strcmp(name, "..")) {
		pr_err("xdp_steer: invalid relay name '%s' (must be a plain file name)",
		       name ? name : "(null)");
		return -EINVAL;
	}
	return 0;
}

/* The program parses Ethernet headers, so anything else (lo, tun, ipip) is a
 * configuration mistake better caught here than as silently wrong steering.
 * SIOCGIFHWADDR rather than /sys/class/net: sysfs shows the netns it was
 * mounted in, not necessarily ours.
 */
static int check_interface(const char *ifname, int *ifindex)
{
	struct ifreq ifr = {};
	int fd, err = 0;

	if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE) {
		pr_err("xdp_steer: invalid interface name '%s'", ifname ? ifname : "(null)");
		return -EINVAL;
	}
	*ifindex = if_nametoindex(ifname);
	if (!*ifindex) {
		err = -errno;
		pr_err("xdp_steer: no interface %s in this network namespace: %s",
		       ifname, strerror(errno));
		return err == -ENXIO || err == -ENODEV ? -ENODEV : err;
	}

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		pr_err("xdp_steer: socket: %s", strerror(errno));
		return err;
	}
	memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		err = -errno;
		pr_err("xdp_steer: %s: SIOCGIFHWADDR: %s", ifname, strerror(errno));
		goto out;
	}
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		pr_err("xdp_steer: %s is not an Ethernet interface (ARPHRD type %u); a relay needs a VF",
		       ifname, ifr.ifr_hwaddr.sa_family);
		err = -EINVAL;
	}
out:
	close(fd);
	return err;
}

/* Relays open on several workers at once: two that found no bpffs would
 * both mount one, one over the other.
 */
static pthread_mutex_t bpffs_lock = PTHREAD_MUTEX_INITIALIZER;

static int ensure_bpffs_locked(void)
{
	struct statfs sfs;

	if (statfs(BPFFS_ROOT, &sfs) == 0 && sfs.f_type == BPF_FS_MAGIC)
		return 0;
	/* Distros usually mount it at boot; minimal systems don't. */
	if (mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700") < 0) {
		int err = -errno;

		pr_err("xdp_steer: %s is not bpffs and mounting it failed: %s",
		       BPFFS_ROOT, strerror(errno));
		return err;
	}
	pr_notice("xdp_steer: mounted bpffs on %s: no bpffs was there (inside `ip netns exec`? then other processes cannot see the pinned maps)", BPFFS_ROOT);
	return 0;
}

static int ensure_bpffs(void)
{
	int err;

	pthread_mutex_lock(&bpffs_lock);
	err = ensure_bpffs_locked();
	pthread_mutex_unlock(&bpffs_lock);
	return err;
}

static int mkdir_ok(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		int err = -errno;

		pr_err("xdp_steer: mkdir %s: %s", path, strerror(errno));
		return err;
	}
	return 0;
}

/* Create and lock the relay's pin directory. The flock is the liveness
 * test: a relay that is running holds it; one that crashed released it with
 * its last fd, so whatever it left pinned is stale and ours to remove.
 */
static int lock_relay_dir(struct xdp_steer *s)
{
	struct stat a, b;
	int tries, err;

	err = mkdir_ok(VXDP_PIN_ROOT);
	if (err)
		return err;

	/* A relay closing concurrently may rmdir the directory between our
	 * mkdir and flock; then we'd hold a lock on an unlinked inode. Check
	 * the path still names what we locked, and retry a few times if not.
	 */
	for (tries = 0; tries < 5; tries++) {
		err = mkdir_ok(s->dir);
		if (err)
			return err;
		s->dir_fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->dir_fd < 0) {
			err = -errno;
			if (errno == ENOENT)
				continue;
			pr_err("xdp_steer: open %s: %s", s->dir, strerror(errno));
			return err;
		}
		if (flock(s->dir_fd, LOCK_EX | LOCK_NB) < 0) {
			err = -errno;
			if (errno == EWOULDBLOCK) {
				pr_err("xdp_steer: relay '%s' is already running (another process holds %s)",
				       s->relay, s->dir);
				err = -EBUSY;
			} else {
				pr_err("xdp_steer: flock %s: %s", s->dir, strerror(errno));
			}
			goto fail;
		}
		if (fstat(s->dir_fd, &a) == 0 && stat(s->dir, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return 0;
		close(s->dir_fd);
		s->dir_fd = -1;
	}
	pr_err("xdp_steer: %s keeps disappearing; giving up", s->dir);
	return -EAGAIN;
fail:
	close(s->dir_fd);
	s->dir_fd = -1;
	return err;
}

/* Remove maps a crashed run of this relay left pinned. Its program went
 * with it: the attachment is a BPF link, closed with the process's last fd.
 */
static int remove_stale_pins(struct xdp_steer *s)
{
	static const char *const names[] = { "xsks", "stats" };
	char path[PATH_MAX];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", s->dir, names[i]);
		if (access(path, F_OK) < 0)
			continue;
		if (unlink(path) < 0) {
			int err = -errno;

			pr_err("xdp_steer: cannot remove stale pin %s: %s", path, strerror(errno));
			return err;
		}
		pr_notice("xdp_steer: removed %s left by an earlier run of relay '%s' that did not shut down cleanly",
			  path, s->relay);
	}
	return 0;
}

bool xdp_steer_prog_uses_map(uint32_t prog_id, uint32_t map_id)
{
	__u32 map_ids[16], len, i;
	struct bpf_prog_info info;
	bool found = false;
	int fd;

	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return false;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = ARRAY_SIZE(map_ids);
	info.map_ids = (__u64)(unsigned long)map_ids;
	len = sizeof(info);
	if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
		if (info.nr_map_ids > ARRAY_SIZE(map_ids))
			info.nr_map_ids = ARRAY_SIZE(map_ids);
		for (i = 0; i < info.nr_map_ids; i++)
			found |= map_ids[i] == map_id;
	}
	close(fd);
	return found;
}

static int set_pin_paths(struct xdp_steer *s)
{
	struct bpf_map *maps[] = { s->skel->maps.xsks, s->skel->maps.stats };
	char path[PATH_MAX];
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(maps); i++) {
		snprintf(path, sizeof(path), "%s/%s", s->dir, bpf_map__name(maps[i]));
		err = bpf_map__set_pin_path(maps[i], path);
		if (err) {
			pr_err("xdp_steer: set pin path %s: %s", path, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* A BPF link, not a netlink attachment: it goes with the process's last fd,
 * so a relay that crashed leaves no program on its VF, and the restart needs
 * no CAP_SYS_ADMIN to find and remove one. Nobody else can replace or remove
 * it either.
 */
static int attach_mode(struct xdp_steer *s, __u32 mode_flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = mode_flags);
	int fd;

	fd = bpf_link_create(bpf_program__fd(s->skel->progs.vxdp_steer), s->ifindex,
			     BPF_XDP, &opts);
	if (fd < 0)
		return fd;
	s->link_fd = fd;
	s->mode_flags = mode_flags;
	return 0;
}

static int attach(struct xdp_steer *s, enum xdp_steer_mode mode)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int err;

	switch (mode) {
	case XDP_STEER_AUTO:
		err = attach_mode(s, XDP_FLAGS_DRV_MODE);
		/* Generic XDP works on any netdev; only "it is taken" is
		 * final, anything else native refuses (no driver support,
		 * MTU, queue count) gets the slower but working skb mode.
		 */
		if (err && err != -EBUSY && err != -EEXIST) {
			pr_info("xdp_steer: %s: native XDP failed (%s), using generic (skb) mode",
				s->ifname, strerror(-err));
			err = attach_mode(s, XDP_FLAGS_SKB_MODE);
		}
		break;
	case XDP_STEER_NATIVE:
		err = attach_mode(s, XDP_FLAGS_DRV_MODE);
		if (err == -EOPNOTSUPP)
			pr_err("xdp_steer: %s: the driver does not support native XDP; use generic (skb) or auto mode",
			       s->ifname);
		break;
	case XDP_STEER_SKB:
		err = attach_mode(s, XDP_FLAGS_SKB_MODE);
		break;
	default:
		pr_err("xdp_steer: unknown mode %d", mode);
		return -EINVAL;
	}

	if (err == -EBUSY || err == -EEXIST) {
		/* EEXIST: a program in the other mode (native and generic
		 * can't coexist); EBUSY: one in the same mode.
		 */
		pr_err("xdp_steer: %s already has an XDP program attached (another relay?)",
		       s->ifname);
		return -EBUSY;
	}
	if (err) {
		if (err != -EOPNOTSUPP || mode != XDP_STEER_NATIVE)
			pr_err("xdp_steer: %s: attaching XDP failed: %s", s->ifname,
			       strerror(-err));
		return err;
	}

	if (bpf_obj_get_info_by_fd(bpf_program__fd(s->skel->progs.vxdp_steer), &info, &len) == 0)
		s->prog_id = info.id;
	pr_info("xdp_steer: relay '%s': XDP program %u attached to %s in %s mode",
		s->relay, s->prog_id, s->ifname, mode_name(s->mode_flags));
	return 0;
}

/* Closing the link detaches the program; a VF gone already took it along. */
static void detach(struct xdp_steer *s)
{
	if (s->link_fd < 0)
		return;
	close(s->link_fd);
	s->link_fd = -1;
}

static void unpin_and_unlock(struct xdp_steer *s)
{
	struct bpf_map *maps[2] = { NULL, NULL };
	unsigned int i;

	if (s->skel) {
		maps[0] = s->skel->maps.xsks;
		maps[1] = s->skel->maps.stats;
	}
	for (i = 0; i < 2; i++)
		if (maps[i] && bpf_map__is_pinned(maps[i]))
			bpf_map__unpin(maps[i], NULL);
	if (s->dir_fd >= 0) {
		/* Only the lock holder may remove the directory. ENOTEMPTY
		 * means someone put files there; leave them.
		 */
		if (rmdir(s->dir) < 0 && errno != ENOENT)
			pr_warn("xdp_steer: rmdir %s: %s", s->dir, strerror(errno));
		close(s->dir_fd);
		s->dir_fd = -1;
	}
}

/* Open and load the skeleton, frags-aware (BPF_F_XDP_HAS_FRAGS) when @frags:
 * only such a program may run natively on a device whose MTU does not fit a
 * page, and only it passes multi-buffer frames on to AF_XDP. Returns 0 or a
 * negative errno, with s->skel NULL on error.
 */
/* Whether the kernel has bpf_xdp_get_buff_len() (5.18, with frags): the
 * program then never subtracts packet pointers, which the verifier allows
 * only with CAP_PERFMON. Probed once (a tiny program load) rather than
 * with CO-RE, which would parse the kernel's whole BTF at every load.
 */
static pthread_once_t buff_len_once = PTHREAD_ONCE_INIT;
static bool buff_len_helper;

static void buff_len_probe(void)
{
	buff_len_helper = libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP,
						  BPF_FUNC_xdp_get_buff_len, NULL) == 1;
}

static int load_skel(struct xdp_steer *s, const uint8_t mac[6], bool frags)
{
	struct bpf_program *prog;
	int err;

	s->skel = vxdp_steer_bpf__open();
	if (!s->skel) {
		err = -errno;
		pr_err("xdp_steer: opening the BPF skeleton failed: %s", strerror(errno));
		return err;
	}
	if (mac) {
		s->skel->rodata->steer_by_mac = true;
		memcpy(s->skel->rodata->steer_mac, mac, 6);
	}
	pthread_once(&buff_len_once, buff_len_probe);
	s->skel->rodata->has_buff_len = buff_len_helper;
	prog = s->skel->progs.vxdp_steer;
	err = set_pin_paths(s);
	if (!err && frags)
		err = bpf_program__set_flags(prog, bpf_program__flags(prog) |
					     BPF_F_XDP_HAS_FRAGS);
	if (!err)
		err = vxdp_steer_bpf__load(s->skel);
	if (err) {
		/* libbpf unpins what a failed load pinned. */
		vxdp_steer_bpf__destroy(s->skel);
		s->skel = NULL;
	}
	return err;
}

/* Kernels before 5.18 reject the frags flag; a plain program still serves
 * every frame that fits one page.
 */
static int load_frags_aware(struct xdp_steer *s, const uint8_t mac[6])
{
	int err = load_skel(s, mac, true);

	if (!err)
		return 0;
	pr_notice("xdp_steer: loading the frags-aware XDP program failed (%s); loading it without multi-buffer support (kernel older than 5.18?)",
		  strerror(-err));
	err = load_skel(s, mac, false);
	if (err)
		pr_err("xdp_steer: loading the XDP program failed: %s", strerror(-err));
	return err;
}

int xdp_steer_pause(struct xdp_steer *s, bool paused)
{
	/* .bss is mmap()ed (BPF_F_MMAPABLE, Linux 5.5+): the program reads
	 * the store with its next frame
	 */
	if (!s->skel->rodata->steer_by_mac || !s->skel->bss)
		return -EINVAL;
	s->skel->bss->steer_paused = paused;
	return 0;
}

bool xdp_steer_paused(const struct xdp_steer *s)
{
	return s->skel->bss && s->skel->bss->steer_paused;
}

void xdp_steer_set_backup(struct xdp_steer *s, bool backup)
{
	if (s->skel->bss)
		s->skel->bss->steer_backup = backup;
}

int xdp_steer_open(struct xdp_steer **sp, const char *relay_name,
		   const char *ifname, const uint8_t mac[6],
		   enum xdp_steer_mode mode)
{
	struct xdp_steer *s;
	int err;

	*sp = NULL;
	err = check_relay_name(relay_name);
	if (err)
		return err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->dir_fd = -1;
	s->link_fd = -1;
	snprintf(s->relay, sizeof(s->relay), "%s", relay_name);

	err = check_interface(ifname, &s->ifindex);
	if (err)
		goto fail;
	snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
	snprintf(s->dir, sizeof(s->dir), "%s/%s", VXDP_PIN_ROOT, relay_name);

	err = ensure_bpffs();
	if (err)
		goto fail;
	err = lock_relay_dir(s);
	if (err)
		goto fail;
	err = remove_stale_pins(s);
	if (err)
		goto fail;

	err = load_frags_aware(s, mac);
	if (err)
		goto fail;
	err = attach(s, mode);
	if (err)
		goto fail;

	*sp = s;
	return 0;
fail:
	unpin_and_unlock(s);
	vxdp_steer_bpf__destroy(s->skel);
	free(s);
	return err;
}

int xdp_steer_reattach(struct xdp_steer *s, enum xdp_steer_mode mode)
{
	int err;

	detach(s);
	err = check_interface(s->ifname, &s->ifindex);
	if (err)
		return err;
	return attach(s, mode);
}

bool xdp_steer_attached(const struct xdp_steer *s)
{
	__u32 id = 0;

	return s->link_fd >= 0 && !bpf_xdp_query_id(s->ifindex, s->mode_flags, &id) &&
	       id == s->prog_id;
}

int xdp_steer_xskmap_fd(const struct xdp_steer *s)
{
	return bpf_map__fd(s->skel->maps.xsks);
}

int xdp_steer_read_stats(const struct xdp_steer *s, struct xdp_steer_stats *st)
{
	int ncpus = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(s->skel->maps.stats);
	struct vxdp_counter *vals;
	uint64_t pkts[VXDP_STAT_MAX] = {}, bytes[VXDP_STAT_MAX] = {};
	__u32 key;
	int i, err = 0;

	if (ncpus < 0)
		return ncpus;
	vals = calloc(ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (key = 0; key < VXDP_STAT_MAX; key++) {
		if (bpf_map_lookup_elem(fd, &key, vals)) {
			err = -errno;
			goto out;
		}
		for (i = 0; i < ncpus; i++) {
			pkts[key] += vals[i].packets;
			bytes[key] += vals[i].bytes;
		}
	}
	st->redirected = pkts[VXDP_STAT_REDIRECTED];
	st->redirected_bytes = bytes[VXDP_STAT_REDIRECTED];
	st->passed = pkts[VXDP_STAT_PASSED];
	st->passed_bytes = bytes[VXDP_STAT_PASSED];
	st->dropped = pkts[VXDP_STAT_DROPPED];
	st->dropped_bytes = bytes[VXDP_STAT_DROPPED];
out:
	free(vals);
	return err;
}

void xdp_steer_close(struct xdp_steer *s)
{
	if (!s)
		return;
	detach(s);
	unpin_and_unlock(s);
	vxdp_steer_bpf__destroy(s->skel);
	free(s);
}
