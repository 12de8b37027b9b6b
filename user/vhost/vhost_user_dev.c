// SPDX-License-Identifier: GPL-2.0
/* vhost-user backend device: applies frontend requests to the feature,
 * memory-table and vring state, and answers them. Every message is hostile.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/virtio_config.h>

#include "util/log.h"
#include "vhost_user_dev.h"

/* Device features that need vhost-user support we do not have: an IOTLB.
 * (VHOST_F_LOG_ALL is implemented, but useful only with LOG_SHMFD: QEMU
 * otherwise keeps the log in its own memory, where we cannot mark it.)
 */
#define VHOST_DEV_FEATURES_UNIMPL					\
	((1ull << VIRTIO_F_ACCESS_PLATFORM))

/* NET_SET_MTU bounds: the Ethernet minimum, and what a u16 MTU holds. */
#define VHOST_DEV_MTU_MIN 68
#define VHOST_DEV_MTU_MAX 65535

#define dev_name(d)	((d)->name ? (d)->name : "vhost-user")
#define dev_err(d, fmt, ...)	pr_err("%s: " fmt, dev_name(d), ##__VA_ARGS__)
#define dev_warn(d, fmt, ...)	pr_warn("%s: " fmt, dev_name(d), ##__VA_ARGS__)
#define dev_notice(d, fmt, ...)	pr_notice("%s: " fmt, dev_name(d), ##__VA_ARGS__)
#define dev_info(d, fmt, ...)	pr_info("%s: " fmt, dev_name(d), ##__VA_ARGS__)
#define dev_dbg(d, fmt, ...)	pr_debug("%s: " fmt, dev_name(d), ##__VA_ARGS__)

/* One request being handled. */
struct vh_req {
	struct vhost_dev *d;
	struct vhost_user_msg *m;
	int sock;
	bool drop;	/* state no longer known: drop the connection */
};

struct vh_handler {
	int (*fn)(struct vh_req *r);
	/* The request solicits its own reply, so it never gets a REPLY_ACK
	 * ack, and failing it must drop the connection: the frontend is
	 * blocked waiting for an answer we cannot give.
	 */
	bool replies;
};

static bool has_protocol_feature(const struct vhost_dev *d, unsigned int bit)
{
	return d->protocol_features & (1ull << bit);
}

/* A request that exists only with protocol feature @bit negotiated. */
static bool need_protocol_feature(struct vh_req *r, unsigned int bit)
{
	if (has_protocol_feature(r->d, bit))
		return true;
	dev_err(r->d, "%s without its protocol feature",
		vhost_user_req_name(r->m->hdr.request));
	return false;
}

/* SET_FEATURES and SET_PROTOCOL_FEATURES: nothing but what was offered.
 * The frontend would drive the device with features we do not implement;
 * it may not even wait for an ack.
 */
static bool features_offered(struct vh_req *r, uint64_t f, uint64_t offered)
{
	if (!(f & ~offered))
		return true;
	dev_err(r->d, "%s: 0x%llx not offered (offered 0x%llx)",
		vhost_user_req_name(r->m->hdr.request), (unsigned long long)f,
		(unsigned long long)offered);
	r->drop = true;
	return false;
}

static void notify_vring(struct vhost_dev *d, unsigned int idx)
{
	if (d->ops && d->ops->vring_changed)
		d->ops->vring_changed(d, idx);
}

static void notify_mem(struct vhost_dev *d)
{
	if (d->ops && d->ops->mem_changing)
		d->ops->mem_changing(d);
}

static void close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* Take ownership of fd @i of the message: the caller closes it. */
static int take_fd(struct vhost_user_msg *m, unsigned int i)
{
	int fd = m->fds[i];

	m->fds[i] = -1;
	return fd;
}

/* Look up a frontend-supplied queue index; never index with it unchecked. */
static struct vhost_vring *get_vring(struct vh_req *r, uint32_t idx)
{
	if (idx >= 2 * r->d->queue_pairs) {
		dev_err(r->d, "%s: queue index %u out of range (max %u)",
			vhost_user_req_name(r->m->hdr.request), idx,
			2 * r->d->queue_pairs - 1);
		return NULL;
	}
	return &r->d->vq[idx];
}

static int reply_u64(struct vh_req *r, uint64_t val)
{
	r->m->hdr.size = sizeof(uint64_t);
	r->m->payload.u64 = val;
	return vhost_user_msg_reply(r->sock, r->m);
}

static void vring_init_state(struct vhost_vring *vq)
{
	memset(vq, 0, sizeof(*vq));
	vq->kickfd = -1;
	vq->callfd = -1;
	vq->errfd = -1;
}

/* Host pointers for the three parts of a ring of @num entries in the split
 * or @packed layout, each wholly inside guest memory.
 */
static int vring_translate(const struct vhost_dev *d,
			   const struct vhost_vring *vq, uint16_t num,
			   bool packed, void **desc, void **avail, void **used)
{
	if (!vq->addr_set || !num)
		return -EINVAL;
	/* Packed rings: "avail" is the driver event area, "used" the device's. */
	*desc = guest_mem_uva(&d->mem, vq->addr.desc_user_addr,
			      packed ? vring_packed_desc_size(num) :
				       vring_split_desc_size(num));
	*avail = guest_mem_uva(&d->mem, vq->addr.avail_user_addr,
			       packed ? vring_packed_event_size() :
					vring_split_avail_size(num));
	*used = guest_mem_uva(&d->mem, vq->addr.used_user_addr,
			      packed ? vring_packed_event_size() :
				       vring_split_used_size(num));
	if (!*desc || !*avail || !*used)
		return -EFAULT;
	return 0;
}

static void log_ring_error(const struct vhost_dev *d, unsigned int idx,
			   const struct vhost_vring *vq, int err)
{
	if (err == -EFAULT)
		dev_err(d, "vring %u: ring (desc 0x%llx avail 0x%llx used 0x%llx, %u entries) is not inside guest memory",
			idx, (unsigned long long)vq->addr.desc_user_addr,
			(unsigned long long)vq->addr.avail_user_addr,
			(unsigned long long)vq->addr.used_user_addr, vq->num);
	else
		dev_err(d, "vring %u: cannot start: %s", idx,
			!vq->addr_set ? "no ring address" :
			!vq->num ? "no ring size" : "misaligned ring");
}

static int vq_init(const struct vhost_dev *d, struct virtqueue *vr,
		   bool packed, uint16_t num, void *desc, void *avail,
		   void *used, uint32_t base)
{
	bool event_idx = vhost_dev_has_feature(d, VIRTIO_RING_F_EVENT_IDX);
	bool indirect = vhost_dev_has_feature(d, VIRTIO_RING_F_INDIRECT_DESC);

	vr->packed = packed;
	if (vr->packed)
		return vring_packed_init(&vr->pk, num, desc, avail, used, base,
					 event_idx, indirect);
	return vring_split_init(&vr->split, num, desc, avail, used, base,
				event_idx, indirect);
}

static uint16_t vq_num(const struct virtqueue *vr)
{
	return vr->packed ? vr->pk.num : vr->split.num;
}

/* While VHOST_F_LOG_ALL is acked, point ring @idx's dirty logging at the
 * device's log, else turn it off. A ring that must log but has no log yet
 * is held. Returns true when that changed whether the ring is ready.
 */
static bool vring_set_log(struct vhost_dev *d, unsigned int idx)
{
	struct vhost_vring *vq = &d->vq[idx];
	bool was_ready = vhost_vring_ready(vq);
	bool logging = vhost_dev_has_feature(d, VHOST_F_LOG_ALL);
	bool log_ring = vq->addr.flags & (1u << VHOST_VRING_F_LOG);
	struct dirty_log *log = NULL;
	uint64_t desc_gpa = 0;

	vq->log_wait = logging && !dirty_log_mapped(&d->log);
	if (vq->started && logging && !vq->log_wait)
		log = &d->log;
	if (vq->vr.packed) {
		/* The frontend gives the device area's GPA only (QEMU's
		 * log_guest_addr is the "used" address); the descriptors we
		 * write take theirs from the memory table. A started ring's
		 * addresses are inside it, so this cannot fail; if it did,
		 * holding the ring beats writing unlogged.
		 */
		if (log && log_ring &&
		    guest_mem_uva_to_gpa(&d->mem, vq->addr.desc_user_addr,
					 vring_packed_desc_size(vq->vr.pk.num),
					 &desc_gpa)) {
			vq->log_wait = true;
			log = NULL;
		}
		vring_packed_set_log(&vq->vr.pk, log, log_ring, desc_gpa,
				     vq->addr.log_guest_addr);
	} else {
		vring_split_set_log(&vq->vr.split, log, log_ring,
				    vq->addr.log_guest_addr);
	}
	return was_ready != vhost_vring_ready(vq);
}

/* Logging state of the device changed (features, log): every ring. */
static void dev_set_log(struct vhost_dev *d)
{
	unsigned int i;

	for (i = 0; i < VHOST_DEV_MAX_VRINGS; i++) {
		if (vring_set_log(d, i))
			notify_vring(d, i);
	}
}

/* Start ring @idx from its stored size, addresses and base. */
static int vring_start(struct vhost_dev *d, unsigned int idx)
{
	struct vhost_vring *vq = &d->vq[idx];
	bool packed = vhost_dev_has_feature(d, VIRTIO_F_RING_PACKED);
	void *desc, *avail, *used;
	int err;

	err = vring_translate(d, vq, vq->num, packed, &desc, &avail, &used);
	if (!err)
		err = vq_init(d, &vq->vr, packed, vq->num, desc, avail, used,
			      vq->base);
	if (err) {
		log_ring_error(d, idx, vq, err);
		return err;
	}
	vq->started = true;
	vring_set_log(d, idx);
	/* Without F_PROTOCOL_FEATURES there is no SET_VRING_ENABLE: a
	 * started ring is an enabled one.
	 */
	if (!vhost_dev_has_feature(d, VHOST_USER_F_PROTOCOL_FEATURES))
		vq->enabled = true;
	dev_dbg(d, "vring %u started: %u entries, base %u", idx, vq->num,
		vq->base);
	return 0;
}

/* Point a started ring at new host addresses (new memory table or ring
 * address) keeping its indexes. Uses the live ring's size and layout, not
 * vq->num and the features: SET_FEATURES may have flipped
 * VIRTIO_F_RING_PACKED since the ring started, and a split ring checked
 * with packed sizes would run past guest memory.
 */
static int vring_remap(struct vhost_dev *d, unsigned int idx)
{
	struct vhost_vring *vq = &d->vq[idx];
	struct virtqueue check;
	void *desc, *avail, *used;
	int err;

	err = vring_translate(d, vq, vq_num(&vq->vr), vq->vr.packed, &desc,
			      &avail, &used);
	/* Initialising a scratch ring checks the alignments. */
	if (!err)
		err = vq_init(d, &check, vq->vr.packed, vq_num(&vq->vr), desc,
			      avail, used, 0);
	if (err) {
		log_ring_error(d, idx, vq, err);
		return err;
	}
	if (vq->vr.packed) {
		vq->vr.pk.desc = desc;
		vq->vr.pk.driver_event = avail;
		vq->vr.pk.device_event = used;
	} else {
		vq->vr.split.desc = desc;
		vq->vr.split.avail = avail;
		vq->vr.split.used = used;
	}
	/* New addresses, maybe a new log address: the caller notifies. */
	vring_set_log(d, idx);
	return 0;
}

/* A stopped ring resumes where the datapath left it (a restart without
 * SET_VRING_BASE, or GET_VRING_BASE). Call after the datapath was told the
 * ring stopped: it may have given back chains it had popped.
 */
static void vring_save_base(struct vhost_vring *vq)
{
	vq->base = vq->vr.packed ? vring_packed_base(&vq->vr.pk) :
				   vq->vr.split.last_avail_idx;
}

/* Stop every ring and drop fds and memory. @keep_conn keeps what belongs to
 * the connection rather than the device (ownership and protocol features,
 * which decide whether the frontend waits for acks).
 */
static void dev_reset(struct vhost_dev *d, bool keep_conn)
{
	int fds[VHOST_DEV_MAX_VRINGS][3];
	unsigned int i, j;

	notify_mem(d);
	for (i = 0; i < VHOST_DEV_MAX_VRINGS; i++) {
		struct vhost_vring *vq = &d->vq[i];

		fds[i][0] = vq->kickfd;
		fds[i][1] = vq->callfd;
		fds[i][2] = vq->errfd;
		vring_init_state(vq);
		/* The datapath sees the ring gone while the old fds are
		 * still open, so it can unregister them cleanly.
		 */
		notify_vring(d, i);
		for (j = 0; j < 3; j++)
			close_fd(fds[i][j]);
	}
	guest_mem_reset(&d->mem);
	dirty_log_unmap(&d->log);
	d->features = 0;
	d->mtu = 0;
	d->status = 0;
	if (!keep_conn) {
		d->protocol_features = 0;
		d->owner = false;
		d->faulted = false;
	}
}

static int h_get_features(struct vh_req *r)
{
	return reply_u64(r, r->d->supported_features);
}

static int h_set_features(struct vh_req *r)
{
	struct vhost_dev *d = r->d;
	uint64_t f = r->m->payload.u64;
	bool log_flip;

	if (!features_offered(r, f, d->supported_features))
		return -EINVAL;
	log_flip = (d->features ^ f) & (1ull << VHOST_F_LOG_ALL);
	if (log_flip)
		dev_notice(d, "dirty logging %s (%s)",
			   f & (1ull << VHOST_F_LOG_ALL) ? "on" : "off",
			   dirty_log_mapped(&d->log) ? "log mapped" : "no log yet");
	d->features = f;
	dev_dbg(d, "features 0x%llx", (unsigned long long)f);
	/* QEMU waits for the ack of this before it relies on the log. */
	dev_set_log(d);
	if (log_flip && d->ops && d->ops->log_changed)
		d->ops->log_changed(d, f & (1ull << VHOST_F_LOG_ALL));
	return 0;
}

static int h_get_protocol_features(struct vh_req *r)
{
	return reply_u64(r, r->d->supported_protocol_features);
}

static int h_set_protocol_features(struct vh_req *r)
{
	struct vhost_dev *d = r->d;
	uint64_t f = r->m->payload.u64;

	if (!features_offered(r, f, d->supported_protocol_features))
		return -EINVAL;
	d->protocol_features = f;
	dev_dbg(d, "protocol features 0x%llx", (unsigned long long)f);
	if (has_protocol_feature(d, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS))
		dev_info(d, "CONFIGURE_MEM_SLOTS negotiated: memory regions come and go one at a time (up to %u)",
			 GUEST_MEM_MAX_REGIONS);
	return 0;
}

static int h_get_queue_num(struct vh_req *r)
{
	return reply_u64(r, r->d->queue_pairs);
}

static int h_set_owner(struct vh_req *r)
{
	r->d->owner = true;
	return 0;
}

/* RESET_OWNER (deprecated) and RESET_DEVICE: back to a freshly connected
 * device, on the same connection.
 */
static int h_reset(struct vh_req *r)
{
	if (r->m->hdr.request == VHOST_USER_RESET_DEVICE &&
	    !need_protocol_feature(r, VHOST_USER_PROTOCOL_F_RESET_DEVICE))
		return -EOPNOTSUPP;
	dev_info(r->d, "%s: resetting device state",
		 vhost_user_req_name(r->m->hdr.request));
	dev_reset(r->d, true);
	return 0;
}

/* After notify_mem() and a change to the memory table (or a failed attempt
 * at one), or to a ring's addresses: a running ring follows its memory into
 * the new table, or stops where it got to when that memory is gone (all of
 * it when @lost). The ring is told, so the datapath picks up again.
 */
static int vring_follow(struct vhost_dev *d, unsigned int idx, bool lost)
{
	struct vhost_vring *vq = &d->vq[idx];
	int err = 0;

	if (vq->started)
		err = lost ? -EFAULT : vring_remap(d, idx);
	if (err)
		vq->started = false;
	notify_vring(d, idx);
	if (err)
		vring_save_base(vq);
	return err;
}

static void dev_remap_rings(struct vhost_dev *d, bool lost)
{
	unsigned int i;

	for (i = 0; i < VHOST_DEV_MAX_VRINGS; i++)
		vring_follow(d, i, lost);
}

static int h_set_mem_table(struct vh_req *r)
{
	struct vhost_dev *d = r->d;
	const struct vhost_user_memory *mem = &r->m->payload.memory;
	unsigned int i;
	int err = 0;

	/* The datapath must let go of every guest pointer before unmap. */
	notify_mem(d);
	guest_mem_reset(&d->mem);
	for (i = 0; i < mem->nregions; i++) {
		const struct vhost_user_region *reg = &mem->regions[i];

		err = guest_mem_add_fd(&d->mem, reg->guest_phys_addr,
				       reg->memory_size, reg->userspace_addr,
				       reg->mmap_offset, r->m->fds[i]);
		if (err) {
			dev_err(d, "SET_MEM_TABLE: region %u (gpa 0x%llx size 0x%llx): %s",
				i, (unsigned long long)reg->guest_phys_addr,
				(unsigned long long)reg->memory_size,
				strerror(-err));
			guest_mem_reset(&d->mem);
			/* Old table gone, new one refused: the frontend
			 * believes in memory we do not have.
			 */
			r->drop = true;
			break;
		}
	}
	/* The mappings hold their own references. */
	vhost_user_msg_close_fds(r->m);

	dev_remap_rings(d, err);
	if (!err)
		dev_dbg(d, "memory table: %u regions", mem->nregions);
	return err;
}

static bool mem_slots_check(struct vh_req *r)
{
	if (has_protocol_feature(r->d, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS))
		return true;
	dev_err(r->d, "%s without CONFIGURE_MEM_SLOTS negotiated",
		vhost_user_req_name(r->m->hdr.request));
	return false;
}

static int h_get_max_mem_slots(struct vh_req *r)
{
	if (!mem_slots_check(r))
		return -EOPNOTSUPP;
	return reply_u64(r, GUEST_MEM_MAX_REGIONS);
}

/* ADD_MEM_REG: one region more, its fd with it. A refused region (overlap,
 * full table, a file too small, an fd that cannot be mapped) leaves the table
 * as it was; the frontend learns of it through REPLY_ACK. QEMU 7.2 sends one
 * per region instead of SET_MEM_TABLE, and one per plugged DIMM.
 *
 * REM_MEM_REG: the region with this guest address, size and frontend
 * address goes (the mmap offset is not part of its name). Rings inside it
 * stop before anyone could touch the unmapped memory; buffers the guest
 * still posts there fail translation and break their ring.
 *
 * Either may only count a reference (QEMU < 8.1 sends them once per queue
 * pair). Nothing is unmapped by an add, but the table the datapath scans
 * changes.
 */
static int h_mem_reg(struct vh_req *r)
{
	struct vhost_dev *d = r->d;
	const struct vhost_user_region *reg = &r->m->payload.mem_reg.region;
	bool add = r->m->hdr.request == VHOST_USER_ADD_MEM_REG;
	const char *req = vhost_user_req_name(r->m->hdr.request);
	unsigned long long gpa = reg->guest_phys_addr, size = reg->memory_size;
	unsigned long long uva = reg->userspace_addr;
	unsigned int before = d->mem.nregions;
	int err;

	if (!mem_slots_check(r))
		return -EOPNOTSUPP;
	notify_mem(d);
	if (add)
		err = guest_mem_add_fd(&d->mem, gpa, size, uva, reg->mmap_offset,
				       r->m->fds[0]);
	else
		err = guest_mem_remove(&d->mem, gpa, size, uva);
	if (err == -ENOENT)
		dev_err(d, "%s: no region gpa 0x%llx size 0x%llx uva 0x%llx",
			req, gpa, size, uva);
	else if (err)	/* guest_mem said why, in the one line a refusal gets */
		dev_dbg(d, "%s: region gpa 0x%llx size 0x%llx uva 0x%llx refused: %s",
			req, gpa, size, uva, strerror(-err));
	else if (d->mem.nregions == before)
		dev_dbg(d, "memory region gpa 0x%llx size 0x%llx %s", gpa, size,
			add ? "added again (one per queue pair)" : "one of its adds removed");
	else
		dev_info(d, "memory region %s: gpa 0x%llx size 0x%llx (%u regions)",
			 add ? "added" : "removed", gpa, size, d->mem.nregions);
	dev_remap_rings(d, false);
	return err;
}

/* SET_VRING_NUM and SET_VRING_BASE: a stopped ring's size and the index it
 * starts from. Packed rings may have any size, split ones a power of two; a
 * split ring's index is 16 bits, packed rings carry wrap counters and the
 * used index in the rest.
 */
static int h_set_vring_state(struct vh_req *r)
{
	const struct vhost_user_vring_state *s = &r->m->payload.state;
	struct vhost_vring *vq = get_vring(r, s->index);
	bool packed = vhost_dev_has_feature(r->d, VIRTIO_F_RING_PACKED);

	if (!vq)
		return -EINVAL;
	if (vq->started) {
		dev_err(r->d, "%s: vring %u is running",
			vhost_user_req_name(r->m->hdr.request), s->index);
		return -EBUSY;
	}
	if (r->m->hdr.request == VHOST_USER_SET_VRING_NUM) {
		if (!s->num || s->num > VQ_MAX_SIZE || (!packed && (s->num & (s->num - 1)))) {
			dev_err(r->d, "SET_VRING_NUM: vring %u: bad size %u", s->index,
				s->num);
			return -EINVAL;
		}
		vq->num = s->num;
		return 0;
	}
	if (s->num > UINT16_MAX && !packed) {
		dev_err(r->d, "SET_VRING_BASE: vring %u: bad base 0x%x", s->index, s->num);
		return -EINVAL;
	}
	vq->base = s->num;
	return 0;
}

static int h_set_vring_addr(struct vh_req *r)
{
	const struct vhost_user_vring_addr *a = &r->m->payload.addr;
	struct vhost_vring *vq = get_vring(r, a->index);
	int err = 0;

	if (!vq)
		return -EINVAL;
	/* Flags bit VHOST_VRING_F_LOG with VHOST_F_LOG_ALL: log used ring
	 * writes at log_guest_addr (vring_set_log(), via vring_remap() for a
	 * running ring, vring_start() otherwise).
	 */
	vq->addr = *a;
	vq->addr_set = true;
	if (vq->started)
		err = vring_follow(r->d, a->index, false);
	return err;
}

static int h_get_vring_base(struct vh_req *r)
{
	struct vhost_user_vring_state *s = &r->m->payload.state;
	struct vhost_vring *vq = get_vring(r, s->index);
	bool was_started;
	int kickfd;

	if (!vq)
		return -EINVAL;
	was_started = vq->started;
	vq->started = false;
	vq->enabled = false;
	kickfd = vq->kickfd;
	vq->kickfd = -1;
	/* The datapath stops before we read the index it advances. */
	notify_vring(r->d, s->index);
	close_fd(kickfd);
	if (was_started) {
		/* Nothing half-published once we answer: the frontend reads
		 * the used ring next, and a migration syncs the dirty log
		 * right after. Publish (and log) any used entries pushed but
		 * not flushed.
		 */
		if (!vq_broken(&vq->vr))
			vq_flush(&vq->vr);
		vring_save_base(vq);
	}

	s->num = vq->base;
	r->m->hdr.size = sizeof(*s);
	return vhost_user_msg_reply(r->sock, r->m);
}

/* Whether @fd is an eventfd. A kick fd is read by the loop whenever it is
 * readable: a pipe whose writer is gone is readable (EOF) for ever, a
 * regular file always has data, and either would spin the worker. /proc
 * names the file's type exactly; without /proc, at least refuse anything
 * that has a file type (pipes, files, sockets, devices: eventfds are
 * anonymous inodes, which have none).
 */
static bool fd_is_eventfd(int fd)
{
	static const char want[] = "anon_inode:[eventfd]";
	char path[32], link[sizeof(want) + 1];
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link));
	if (n >= 0)
		return (size_t)n == sizeof(want) - 1 && !memcmp(link, want, n);
	return !fstat(fd, &st) && !(st.st_mode & S_IFMT);
}

/* SET_VRING_KICK/CALL/ERR: swap in the new fd (none with NOFD), tell the
 * datapath, and only then close the old one so it can unregister it.
 */
static int h_set_vring_fd(struct vh_req *r)
{
	uint32_t req = r->m->hdr.request;
	uint64_t v = r->m->payload.u64;
	unsigned int idx = v & VHOST_USER_VRING_IDX_MASK;
	struct vhost_vring *vq = get_vring(r, idx);
	bool nofd = v & VHOST_USER_VRING_NOFD_MASK;
	int fd, old, *slot, err = 0;

	if (!vq)
		return -EINVAL;
	/* NOFD asks us to poll the ring; nothing would ever run it (the
	 * relay runs on events), so say no rather than take it and stall.
	 */
	if (req == VHOST_USER_SET_VRING_KICK && nofd) {
		dev_err(r->d, "SET_VRING_KICK: vring %u without a kick fd (polling mode) is not supported",
			idx);
		return -EOPNOTSUPP;
	}
	if (!nofd && req != VHOST_USER_SET_VRING_ERR &&
	    !fd_is_eventfd(r->m->fds[0])) {
		dev_err(r->d, "%s: vring %u: the fd is not an eventfd; refused",
			vhost_user_req_name(req), idx);
		return -EINVAL;
	}
	fd = nofd ? -1 : take_fd(r->m, 0);

	switch (req) {
	case VHOST_USER_SET_VRING_KICK:
		slot = &vq->kickfd;
		break;
	case VHOST_USER_SET_VRING_CALL:
		slot = &vq->callfd;
		break;
	default:
		slot = &vq->errfd;
		break;
	}
	old = *slot;
	*slot = fd;

	/* The ring starts on SET_VRING_KICK. A running ring keeps its
	 * indexes.
	 */
	if (req == VHOST_USER_SET_VRING_KICK && !vq->started)
		err = vring_start(r->d, idx);
	notify_vring(r->d, idx);
	close_fd(old);
	return err;
}

static int h_set_vring_enable(struct vh_req *r)
{
	const struct vhost_user_vring_state *s = &r->m->payload.state;
	struct vhost_vring *vq = get_vring(r, s->index);

	if (!vq)
		return -EINVAL;
	vq->enabled = s->num != 0;
	dev_dbg(r->d, "vring %u %s", s->index,
		vq->enabled ? "enabled" : "disabled");
	notify_vring(r->d, s->index);
	return 0;
}

/* SET_LOG_BASE: the frontend's dirty bitmap, shared through the fd. With
 * LOG_SHMFD the frontend waits for a reply (QEMU 7.2 checks only its request
 * type; we send u64 0) before it reads the new log. That reply cannot say
 * "failed", so a log we cannot take drops the connection (the handler
 * "replies"): better than the frontend migrating on a log nobody writes.
 */
static int h_set_log_base(struct vh_req *r)
{
	struct vhost_dev *d = r->d;
	const struct vhost_user_log *lg = &r->m->payload.log;
	int err;

	if (!has_protocol_feature(d, VHOST_USER_PROTOCOL_F_LOG_SHMFD)) {
		dev_err(d, "SET_LOG_BASE without LOG_SHMFD negotiated");
		err = -EOPNOTSUPP;
	} else {
		/* The mapping keeps its own reference to the fd. */
		err = dirty_log_map(&d->log, r->m->fds[0], lg->mmap_size,
				    lg->mmap_offset);
	}
	if (err) {
		/* The old log is not the one the frontend reads any more. */
		dirty_log_unmap(&d->log);
		dev_set_log(d);
		dev_err(d, "SET_LOG_BASE: cannot map %llu bytes at offset %llu: %s",
			(unsigned long long)lg->mmap_size,
			(unsigned long long)lg->mmap_offset, strerror(-err));
		return err;
	}
	dev_set_log(d);
	dev_info(d, "dirty log: %llu bytes, covers guest-physical memory below 0x%llx",
		 (unsigned long long)d->log.size,
		 (unsigned long long)(d->log.size * 8 * DIRTY_LOG_PAGE));
	return reply_u64(r, 0);
}

/* SET_LOG_FD: an eventfd to tell the frontend "log updated". Optional in
 * the spec and never sent by QEMU; the frontend reads the log when it
 * syncs anyway, so we take the message and never signal (the fd is closed
 * with the message).
 */
static int h_set_log_fd(struct vh_req *r)
{
	dev_dbg(r->d, "SET_LOG_FD: not needed, ignored");
	return 0;
}

/* SEND_RARP: QEMU's request, after a migration, to announce a guest that
 * cannot announce itself (no VIRTIO_NET_F_GUEST_ANNOUNCE).
 */
static int h_send_rarp(struct vh_req *r)
{
	struct vhost_dev *d = r->d;
	const uint8_t *mac = r->m->payload.raw;

	if (!d->ops || !d->ops->send_rarp) {
		dev_dbg(d, "SEND_RARP %02x:%02x:%02x:%02x:%02x:%02x: nobody to send it",
			mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
		return 0;
	}
	dev_info(d, "SEND_RARP: announcing %02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	d->ops->send_rarp(d, mac);
	return 0;
}

static int h_net_set_mtu(struct vh_req *r)
{
	uint64_t mtu = r->m->payload.u64;

	if (!need_protocol_feature(r, VHOST_USER_PROTOCOL_F_NET_MTU))
		return -EOPNOTSUPP;
	if (mtu < VHOST_DEV_MTU_MIN || mtu > VHOST_DEV_MTU_MAX) {
		dev_err(r->d, "NET_SET_MTU: bad MTU %llu",
			(unsigned long long)mtu);
		return -EINVAL;
	}
	/* Only the datapath knows what its link carries. */
	if (r->d->ops && r->d->ops->set_mtu) {
		int err = r->d->ops->set_mtu(r->d, mtu);

		if (err)
			return err;
	}
	r->d->mtu = mtu;
	dev_dbg(r->d, "MTU %u", r->d->mtu);
	return 0;
}

static int h_set_status(struct vh_req *r)
{
	uint64_t status = r->m->payload.u64;

	if (!need_protocol_feature(r, VHOST_USER_PROTOCOL_F_STATUS))
		return -EOPNOTSUPP;
	/* virtio device status is one byte. */
	if (status > UINT8_MAX) {
		dev_err(r->d, "SET_STATUS: bad status 0x%llx",
			(unsigned long long)status);
		return -EINVAL;
	}
	r->d->status = status;
	return 0;
}

static int h_get_status(struct vh_req *r)
{
	if (!need_protocol_feature(r, VHOST_USER_PROTOCOL_F_STATUS))
		return -EOPNOTSUPP;
	return reply_u64(r, r->d->status);
}

/* A request we never advertised that expects an answer. */
static int h_unsupported_get(struct vh_req *r)
{
	dev_err(r->d, "%s: not supported (never advertised)",
		vhost_user_req_name(r->m->hdr.request));
	return -EOPNOTSUPP;
}

/* The handlers of VHOST_USER_REQUESTS, h_ and its name; "none" is refused
 * (a failure ack when one is asked for).
 */
#define h_none		NULL
#define VH_replies	true
#define VH_acks		false
#define REQ_HANDLER(name, code, sz, fd, fn, reply)			\
	[VHOST_USER_##name] = { h_##fn, VH_##reply },
static const struct vh_handler handlers[VHOST_USER_MAX_REQUEST] = {
	VHOST_USER_REQUESTS(REQ_HANDLER)
};
#undef REQ_HANDLER

static int send_ack(struct vh_req *r, uint32_t req, int err)
{
	r->m->hdr.request = req;
	return reply_u64(r, err ? 1 : 0);
}

int vhost_dev_handle_msg(struct vhost_dev *d, int sock, struct vhost_user_msg *m)
{
	struct vh_req r = { .d = d, .m = m, .sock = sock };
	const struct vh_handler *h = NULL;
	uint32_t req = m->hdr.request;
	bool need_reply = m->hdr.flags & VHOST_USER_NEED_REPLY_MASK;
	int err;

	if (req < VHOST_USER_MAX_REQUEST && handlers[req].fn)
		h = &handlers[req];
	dev_dbg(d, "%s (%u) size %u fds %u flags 0x%x",
		vhost_user_req_name(req), req, m->hdr.size, m->nfds,
		m->hdr.flags);

	err = vhost_user_msg_validate(m);
	if (err) {
		/* Framing we cannot trust: whatever follows may be garbage. */
		r.drop = true;
	} else if (!h) {
		dev_warn(d, "request %s (%u) not supported",
			 vhost_user_req_name(req), req);
		err = -EOPNOTSUPP;
	} else {
		err = h->fn(&r);
		if (err && h->replies)
			r.drop = true;
	}
	vhost_user_msg_close_fds(m);
	/* Handling it touched memory the frontend had shrunk (a ring while
	 * enabling or stopping it), or the datapath did before.
	 */
	if (vhost_dev_faulted(d)) {
		r.drop = true;
		err = -EFAULT;
	}

	if ((!h || !h->replies) && need_reply &&
	    has_protocol_feature(d, VHOST_USER_PROTOCOL_F_REPLY_ACK)) {
		int aerr = send_ack(&r, req, err);

		if (aerr && !r.drop) {
			r.drop = true;
			err = aerr;
		}
	}
	if (r.drop)
		return err ? err : -EPROTO;
	return 0;
}

void vhost_dev_init(struct vhost_dev *d, const char *name,
		    uint64_t features, uint64_t protocol_features,
		    const struct vhost_dev_ops *ops, void *priv)
{
	unsigned int i;

	memset(d, 0, sizeof(*d));
	d->name = name;
	if (features & VHOST_DEV_FEATURES_UNIMPL)
		dev_warn(d, "not offering unimplemented features 0x%llx",
			 (unsigned long long)(features & VHOST_DEV_FEATURES_UNIMPL));
	if (protocol_features & ~VHOST_DEV_PROTOCOL_IMPL)
		dev_warn(d, "not offering unimplemented protocol features 0x%llx",
			 (unsigned long long)(protocol_features & ~VHOST_DEV_PROTOCOL_IMPL));
	d->supported_features = features & ~VHOST_DEV_FEATURES_UNIMPL;
	d->supported_protocol_features = protocol_features & VHOST_DEV_PROTOCOL_IMPL;
	d->ops = ops;
	d->priv = priv;
	dirty_log_init(&d->log, &d->mem);
	d->queue_pairs = 1;
	guest_mem_init(&d->mem);
	for (i = 0; i < VHOST_DEV_MAX_VRINGS; i++)
		vring_init_state(&d->vq[i]);
}

void vhost_dev_reset(struct vhost_dev *d)
{
	dev_reset(d, false);
}

bool vhost_dev_lost_memory(const struct vhost_dev *d)
{
	if (d->faulted)
		return true;
	return vhost_dev_fault_pending(d) &&
	       (guest_mem_faulted(&d->mem) || dirty_log_faulted(&d->log));
}

bool vhost_dev_faulted(struct vhost_dev *d)
{
	bool mem, log;

	if (!vhost_dev_fault_pending(d))
		return d->faulted;
	/* Before looking: a fault after the look is counted again. */
	d->faults_seen = fault_guard_count();
	if (d->faulted)
		return true;
	mem = guest_mem_faulted(&d->mem);
	log = dirty_log_faulted(&d->log);
	if (!mem && !log)
		return false;
	d->faulted = true;
	dev_err(d, "the frontend shrank the %s file under our mapping (SIGBUS caught, zero pages mapped in its place): dropping the frontend",
		mem ? "guest memory" : "dirty log");
	return true;
}

bool vhost_vring_ready(const struct vhost_vring *vq)
{
	return vq->started && vq->enabled && !vq->log_wait &&
	       !vq_broken(&vq->vr);
}
