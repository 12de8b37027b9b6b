// SPDX-License-Identifier: GPL-2.0
/* vxdp-hostile's attacks on guest memory and the datapath: memory fds
 * shrunk under the relay's mappings, descriptor chains built to make each
 * frame cost as much as possible (tx and rx), more memory than a relay may
 * map, kick fds that are not eventfds. Each attack runs on a fresh
 * connection to relay A and says what it found in one "attack=NAME ..."
 * line; the neighbours are timed by the harness meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "hostile.h"

#define DROP_WAIT_MS	2000	/* a shrunk fd must end the connection by then */
#define MEM_RING_NUM	256
#define AMP_RING_NUM	1024	/* QEMU's largest ring */
#define TXQ		1	/* vring of queue pair 0's tx */
#define RXQ		0

#define PROTO_BASE	((1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |	\
			 (1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD) |	\
			 (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS))

static double dur(const struct hostile_opts *o, double def)
{
	return o->duration > 0 ? o->duration : def;
}

/* A frontend as QEMU sets it up for these attacks: REPLY_ACK (every setup
 * request acked), indirect descriptors, the tx ring alone unless @both.
 */
static int mem_open(const struct hostile_opts *o, struct fe_dev *d,
		    uint16_t num, bool packed, bool both, uint64_t more)
{
	struct fe_cfg cfg = {
		.features = (1ull << VIRTIO_F_VERSION_1) |
			    (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
			    (packed ? 1ull << VIRTIO_F_RING_PACKED : 0) | more,
		.protocol = PROTO_BASE,
		.num = num,
		.packed = packed,
		.tx_only = !both,
	};
	int err = fe_dev_open(d, o->target, &cfg, 2000);

	if (err)
		hostile_log("relay A: device setup: %s", strerror(-err));
	return err;
}

/* One tx frame (virtio-net header + a 60-byte broadcast frame) with its
 * buffer at guest-physical @gpa, posted (not kicked).
 */
static void post_frame(struct fe_dev *d, uint64_t gpa)
{
	static const uint8_t eth[14] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x02, 0x00, 0x00, 0x00, 0x0a, 0x0a,
		0x88, 0xb5,			/* local experimental */
	};
	uint32_t len = fe_dev_hdr_len(d) + 60;
	struct seg s = { .gpa = gpa, .len = len };
	uint8_t *p = d->mem + gpa;

	memset(p, 0, len);
	memcpy(p + fe_dev_hdr_len(d), eth, sizeof(eth));
	if (d->cfg.packed) {
		pdrv_add(&d->pq[TXQ], &s, 1);
	} else {
		d->q[TXQ].free_desc = d->q[TXQ].avail_idx;	/* one chain at a time */
		sdrv_add(&d->q[TXQ], sdrv_chain(&d->q[TXQ], &s, 1));
	}
}

/* ---- memory shrunk under the relay ---- */

/* The guest memfd truncated under a running ring (to @cut bytes), then a
 * kick, or only a SET_VRING_ENABLE (no kick, no frame).
 */
static int trunc_run(const struct hostile_opts *o, const char *name,
		     bool packed, bool hugetlb, bool tail, bool enable_only)
{
	struct fe_cfg cfg = {
		.features = (1ull << VIRTIO_F_VERSION_1) |
			    (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
			    (packed ? 1ull << VIRTIO_F_RING_PACKED : 0),
		.protocol = PROTO_BASE, .num = MEM_RING_NUM, .packed = packed,
		.tx_only = true, .hugetlb = hugetlb,
		.mem_size = hugetlb ? 4u << 20 : FE_MEM_SIZE,
	};
	size_t size = cfg.mem_size, cut = tail ? size - 4096 : 0;
	bool dropped = false;
	struct fe_dev d;
	int err;

	if (hugetlb && !o->hugetlb) {
		hostile_report("attack=%s skipped=1", name);
		return 0;
	}
	err = fe_dev_open(&d, o->target, &cfg, 2000);
	if (err) {
		hostile_log("%s: device setup: %s", name, strerror(-err));
		return 2;
	}
	if (!enable_only)
		post_frame(&d, tail ? size - 4096 : FE_FREE_GPA);
	if (ftruncate(d.memfd, cut)) {
		fe_dev_close(&d);
		return 2;
	}
	/* The relay has not touched the ring since: no kick so far. */
	if (enable_only)
		dropped = fe_dev_state(&d, VHOST_USER_SET_VRING_ENABLE, TXQ, 1) < 0;
	else
		fe_dev_kick(&d, TXQ);
	if (!dropped)
		dropped = fe_dev_dropped(&d, DROP_WAIT_MS);
	fe_dev_close(&d);
	hostile_report("attack=%s dropped=%d", name, dropped);
	return dropped ? 0 : 1;
}

static int a_trunc_kick(const struct hostile_opts *o)
{
	return trunc_run(o, "trunc-kick", false, false, false, false);
}

static int a_trunc_tail(const struct hostile_opts *o)
{
	return trunc_run(o, "trunc-tail", false, false, true, false);
}

static int a_trunc_enable(const struct hostile_opts *o)
{
	return trunc_run(o, "trunc-enable", false, false, false, true);
}

static int a_trunc_packed(const struct hostile_opts *o)
{
	return trunc_run(o, "trunc-packed", true, false, false, false);
}

static int a_trunc_hugetlb(const struct hostile_opts *o)
{
	return trunc_run(o, "trunc-hugetlb", false, true, false, false);
}

/* Dirty logging on as QEMU turns it on for a migration (the log memfd,
 * LOG_ALL, the ring's address with VHOST_VRING_F_LOG); the log truncated;
 * a frame the relay must log.
 */
static int a_trunc_log(const struct hostile_opts *o)
{
	struct vhost_user_log lb = { .mmap_size = 4096, .mmap_offset = 0 };
	struct vhost_user_vring_addr a = {
		.index = TXQ,
		.flags = 1u << VHOST_VRING_F_LOG,
		.desc_user_addr = FE_UVA + FE_RING_GPA(TXQ),
		.avail_user_addr = FE_UVA + FE_RING_GPA(TXQ) + 0x4000,
		.used_user_addr = FE_UVA + FE_RING_GPA(TXQ) + 0x5000,
		.log_guest_addr = FE_RING_GPA(TXQ) + 0x5000,
	};
	struct vhost_user_msg m;
	int logfd = memfd_create("vxdp-hostile-log", MFD_CLOEXEC), err;
	uint64_t f;
	bool dropped;
	struct fe_dev d;

	if (logfd < 0 || ftruncate(logfd, 4096))
		return 2;
	if (mem_open(o, &d, MEM_RING_NUM, false, false, 0)) {
		close(logfd);
		return 2;
	}
	/* SET_LOG_BASE has a reply of its own (LOG_SHMFD). */
	err = fe_send(d.sock, VHOST_USER_SET_LOG_BASE, 0, &lb, sizeof(lb), &logfd, 1, 1000);
	if (!err)
		err = fe_recv(d.sock, &m, 2000);
	f = d.features | (1ull << VHOST_F_LOG_ALL);
	if (!err)
		err = fe_dev_req(&d, VHOST_USER_SET_FEATURES, &f, sizeof(f), NULL, 0);
	if (!err)
		err = fe_dev_req(&d, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
	if (err || ftruncate(logfd, 0)) {
		hostile_log("trunc-log: setup: %s", err ? strerror(-err) : strerror(errno));
		fe_dev_close(&d);
		close(logfd);
		return 2;
	}
	post_frame(&d, FE_FREE_GPA);
	fe_dev_kick(&d, TXQ);
	dropped = fe_dev_dropped(&d, DROP_WAIT_MS);
	fe_dev_close(&d);
	close(logfd);
	hostile_report("attack=trunc-log dropped=%d", dropped);
	return dropped ? 0 : 1;
}

/* ---- amplification: chains that make each frame cost the most ---- */

/* Give every used entry back and kick, for --duration; the relay's rings
 * keep as busy as the guest can make them.
 */
static void amplify_loop(const struct hostile_opts *o, struct fe_dev *d,
			 unsigned int q, struct seg *table, unsigned int *kicks,
			 unsigned int *reposted)
{
	double limit = dur(o, 0.5) * 1000;
	uint64_t t0 = now_ns();
	uint32_t len;
	uint16_t id;

	*kicks = *reposted = 0;
	while (ms_since(t0) < limit) {
		unsigned int n = 0;

		while (d->cfg.packed ? pdrv_used(&d->pq[q], &id, &len) :
				       sdrv_used(&d->q[q], &id, &len)) {
			if (d->cfg.packed) {
				pdrv_write(&d->pq[q], table, 1);
				d->pq[q].head_flags |= VRING_DESC_F_INDIRECT;
				pdrv_publish(&d->pq[q]);
			} else {
				sdrv_post(&d->q[q], id);
			}
			n++;
		}
		if (!d->cfg.packed)
			sdrv_kick(&d->q[q]);
		if (n || !*kicks) {
			fe_dev_kick(d, q);
			(*kicks)++;
		}
		*reposted += n;
		usleep(n ? 100 : 2000);
	}
}

/* The chains (every avail entry a chain of 1023 empty descriptors
 * and a 32768-entry indirect table), or with @valid the costliest chains
 * still allowed (one indirect descriptor each, naming a table of 63 empty
 * entries and a 1-byte one), on the tx ring, re-posted for --duration.
 */
static int amplify_tx(const struct hostile_opts *o, const char *name,
		      bool packed, bool valid)
{
	const uint16_t num = AMP_RING_NUM;
	uint32_t tlen = valid ? 64 : 32768, k;
	uint64_t tgpa = FE_FREE_GPA, bgpa = FE_BUF_GPA(TXQ, 0);
	struct seg table = { .gpa = tgpa };
	unsigned int kicks, reposted;
	struct vring_desc *t;
	struct fe_dev d;
	bool dropped;

	if (mem_open(o, &d, num, packed, false, 0))
		return 2;
	t = (struct vring_desc *)(d.mem + tgpa);
	for (k = 0; k < tlen; k++) {
		if (packed)
			((struct vring_packed_desc *)t)[k] =
				(struct vring_packed_desc){ .addr = bgpa };
		else
			sdrv_set_desc(t, k, bgpa, 0, VRING_DESC_F_NEXT, k + 1);
	}
	if (!packed)
		t[tlen - 1].flags = 0;
	if (valid)
		t[tlen - 1].len = 1;
	table.len = tlen * sizeof(struct vring_desc);
	if (packed) {
		for (k = 0; k < num; k++) {
			pdrv_write(&d.pq[TXQ], &table, 1);
			d.pq[TXQ].head_flags |= VRING_DESC_F_INDIRECT;
			pdrv_publish(&d.pq[TXQ]);
		}
	} else {
		for (k = 0; k < num; k++) {
			if (valid || k + 1 == num)
				sdrv_set_desc(d.q[TXQ].desc, k, tgpa, table.len,
					      VRING_DESC_F_INDIRECT, 0);
			else
				sdrv_set_desc(d.q[TXQ].desc, k, bgpa, 0,
					      VRING_DESC_F_NEXT, k + 1);
			sdrv_post(&d.q[TXQ], valid ? k : 0);
		}
		sdrv_kick(&d.q[TXQ]);
	}
	amplify_loop(o, &d, TXQ, &table, &kicks, &reposted);
	dropped = fe_dev_dropped(&d, 10);
	fe_dev_close(&d);
	hostile_report("attack=%s dropped=%d kicks=%u reposted=%u", name, dropped,
		       kicks, reposted);
	return 0;
}

static int a_amplify(const struct hostile_opts *o)
{
	return amplify_tx(o, "amplify", false, false);
}

static int a_amplify_packed(const struct hostile_opts *o)
{
	return amplify_tx(o, "amplify-packed", true, false);
}

static int a_amplify_valid(const struct hostile_opts *o)
{
	return amplify_tx(o, "amplify-valid", false, true);
}

/* The rx side: every rx avail entry one indirect descriptor naming a table
 * of 63 empty device-writable entries and a 1-byte one (allowed), with
 * mergeable rx buffers. A frame then takes more such chains than a frame
 * may span: the relay walks 64 chains (4160 descriptor reads), gives them
 * back and drops the frame as too big, and the next frame walks them again.
 * Frames come from our own tx ring, reflected back by A's peer, as fast as
 * the relay sends them, for --duration or until the relay hangs up.
 */
static int a_amplify_rx(const struct hostile_opts *o)
{
	static const uint8_t frame[60] = {
		0x02, 0, 0, 0, 0, 0xfe,		/* dst */
		0x02, 0, 0, 0, 0, 0x0a,		/* src */
		0x88, 0xb5,
	};
	const uint16_t num = MEM_RING_NUM, tlen = 64;
	uint64_t tgpa = FE_FREE_GPA, bgpa = FE_BUF_GPA(RXQ, 0), t0;
	double limit = dur(o, 1) * 1000;
	unsigned long sent = 0, full = 0;
	struct vring_desc *t;
	struct fe_dev d;
	bool dropped;
	uint16_t k;

	if (mem_open(o, &d, num, false, true, 1ull << VIRTIO_NET_F_MRG_RXBUF))
		return 2;
	t = (struct vring_desc *)(d.mem + tgpa);
	for (k = 0; k < tlen; k++)
		sdrv_set_desc(t, k, bgpa, k + 1 < tlen ? 0 : 1,
			      VRING_DESC_F_WRITE | (k + 1 < tlen ? VRING_DESC_F_NEXT : 0),
			      k + 1);
	for (k = 0; k < num; k++) {
		sdrv_set_desc(d.q[RXQ].desc, k, tgpa, tlen * sizeof(*t),
			      VRING_DESC_F_INDIRECT, 0);
		sdrv_post(&d.q[RXQ], k);
	}
	sdrv_kick(&d.q[RXQ]);
	fe_dev_kick(&d, RXQ);
	t0 = now_ns();
	dropped = false;
	while (!dropped && ms_since(t0) < limit) {
		if (!fe_dev_send(&d, frame, sizeof(frame))) {
			sent++;
			continue;
		}
		full++;
		usleep(100);
		if (!(full % 64))
			dropped = fe_dev_dropped(&d, 0);
	}
	if (!dropped)
		dropped = fe_dev_dropped(&d, 10);
	fe_dev_close(&d);
	hostile_report("attack=amplify-rx dropped=%d sent=%lu tx_full=%lu", dropped,
		       sent, full);
	return 0;
}

/* A malformed chain (a descriptor naming itself as next) on the tx ring,
 * the ring stopped (GET_VRING_BASE) and started again over it, as fast as
 * the relay answers, for --duration: each start finds the chain and stops
 * the ring with a log line, all on one connection. The relay's log budget
 * must hold those lines like any other the frontend causes.
 */
static int a_broken_cycles(const struct hostile_opts *o)
{
	double limit = dur(o, 1) * 1000;
	struct vhost_user_vring_state st = { TXQ, 0 };
	unsigned int cycles = 0;
	struct vhost_user_msg m;
	uint64_t idx = TXQ, t0;
	struct fe_dev d;
	int err = 0;

	if (mem_open(o, &d, MEM_RING_NUM, false, false, 0))
		return 2;
	sdrv_set_desc(d.q[TXQ].desc, 0, FE_BUF_GPA(TXQ, 0), 64, VRING_DESC_F_NEXT, 0);
	sdrv_add(&d.q[TXQ], 0);
	fe_dev_kick(&d, TXQ);
	t0 = now_ns();
	while (!err && ms_since(t0) < limit) {
		st.num = 0;
		err = fe_send(d.sock, VHOST_USER_GET_VRING_BASE, 0, &st, sizeof(st),
			      NULL, 0, 1000);
		if (!err)
			err = fe_recv(d.sock, &m, 2000);
		if (!err)
			err = fe_dev_state(&d, VHOST_USER_SET_VRING_BASE, TXQ,
					   m.payload.state.num);
		if (!err)
			err = fe_dev_req(&d, VHOST_USER_SET_VRING_KICK, &idx,
					 sizeof(idx), &d.kick[TXQ], 1);
		/* Enabled, it runs (and breaks) before our next request is
		 * read: the ack goes out first, the ring runs after.
		 */
		if (!err)
			err = fe_dev_state(&d, VHOST_USER_SET_VRING_ENABLE, TXQ, 1);
		cycles += !err;
	}
	fe_dev_close(&d);
	hostile_report("attack=broken-cycles cycles=%u secs=%.1f%s%s", cycles,
		       ms_since(t0) / 1000, err ? " error=" : "",
		       err ? strerror(err < 0 ? -err : EPROTO) : "");
	return err ? 1 : 0;
}

/* ---- more memory than a relay may map ---- */

struct c_map {
	int fd;
	uint64_t size;
};

/* C (the control probe's connection) maps a guest of c->size bytes. */
static int c_map_guest(struct fe_dev *c, void *arg)
{
	struct c_map *m = arg;
	struct vhost_user_memory mt = { .nregions = 1 };

	mt.regions[0] = (struct vhost_user_region){
		.guest_phys_addr = 0, .memory_size = m->size,
		.userspace_addr = FE_UVA, .mmap_offset = 0,
	};
	return fe_dev_req(c, VHOST_USER_SET_MEM_TABLE, &mt,
			  offsetof(struct vhost_user_memory, regions) +
			  sizeof(mt.regions[0]), &m->fd, 1);
}

/* ADD_MEM_REG of @size bytes of @fd at guest-physical @gpa: 0 acked, 1
 * refused, -errno.
 */
static int add_region(struct fe_dev *d, int fd, uint64_t gpa, uint64_t size,
		      uint64_t uva)
{
	struct vhost_user_mem_reg r = {
		.region = {
			.guest_phys_addr = gpa, .memory_size = size,
			.userspace_addr = uva, .mmap_offset = 0,
		},
	};

	return fe_dev_req(d, VHOST_USER_ADD_MEM_REG, &r, sizeof(r), &fd, 1);
}

/* A maps all the memory it can get out of a sparse 64 TiB memfd: 32 regions
 * of 4 TiB (the 128 TiB, a process's whole address space), then
 * whatever is left, halving the size down to 1 GiB each time one is
 * refused (a refusal costs no slot). Then C maps a 1 GiB guest.
 */
static int a_mem_budget(const struct hostile_opts *o)
{
	const uint64_t tib = 1ull << 40, gib = 1ull << 30;
	struct fe_cfg cfg = { .protocol = PROTO_BASE };
	uint64_t size = 4 * tib, gpa = 0, mapped = 0;
	unsigned int i, slots = 0, refused = 0, refusals;
	struct c_map cm = { .size = gib };
	int sparse, ack, sock, err;
	struct fe_dev d;

	sparse = memfd_create("vxdp-hostile-sparse", MFD_CLOEXEC);
	if (sparse < 0 || ftruncate(sparse, 64 * tib))
		return 2;
	sock = fe_connect_served(o->target, 2000);
	err = sock < 0 ? sock : fe_dev_hello(&d, sock, &cfg, 2000);
	if (err) {
		hostile_log("mem-budget: %s", strerror(-err));
		close(sparse);
		return 2;
	}
	for (i = 0; i < 32; i++) {
		ack = add_region(&d, sparse, gpa, size, 0x7e0000000000ull + i * gib);
		if (ack < 0)
			break;
		refused += ack;
		if (!ack) {
			slots++;
			mapped += size;
		}
		gpa += size;
	}
	refusals = refused;
	while (ack >= 0 && slots < 32 && size >= gib) {
		ack = add_region(&d, sparse, gpa, size, 0x7d0000000000ull + slots * gib);
		if (ack > 0) {
			refusals++;
			size /= 2;
			continue;
		}
		slots++;
		mapped += size;
		gpa += size;
	}
	close(sparse);
	/* C, a neighbour, maps a 1 GiB guest meanwhile. */
	cm.fd = memfd_create("vxdp-hostile-c", MFD_CLOEXEC);
	if (cm.fd < 0 || ftruncate(cm.fd, gib) || ack < 0) {
		fe_dev_close(&d);
		return 2;
	}
	err = hostile_on_ctl(c_map_guest, &cm);
	close(cm.fd);
	fe_dev_close(&d);
	hostile_report("attack=mem-budget refused_4t=%u refused=%u a_mapped_gib=%llu c_maps_1g=%d",
		       refused, refusals, (unsigned long long)(mapped / gib), err == 0);
	return refused == 32 && !err ? 0 : 1;
}

/* ---- kick fds that are not eventfds ---- */

/* The ring stopped (GET_VRING_BASE), then started again with a kick fd that
 * is always readable: refused? And what does the daemon burn meanwhile?
 */
static int kick_fd_run(const struct hostile_opts *o, const char *name, bool pipe_fd)
{
	double limit = dur(o, 0.5) * 1000;
	struct vhost_user_vring_state st = { TXQ, 0 };
	struct vhost_user_msg m;
	int pfd[2], fd, ack, err;
	uint64_t idx = TXQ;
	long t0, t1;
	struct fe_dev d;

	if (mem_open(o, &d, MEM_RING_NUM, false, false, 0))
		return 2;
	/* Its reply is the ring's base, not an ack. */
	err = fe_send(d.sock, VHOST_USER_GET_VRING_BASE, 0, &st, sizeof(st), NULL, 0, 1000);
	if (!err)
		err = fe_recv(d.sock, &m, 2000);
	if (pipe_fd) {
		if (pipe2(pfd, O_CLOEXEC))
			err = -errno;
		else
			close(pfd[1]);
		fd = pfd[0];
	} else {
		fd = memfd_create("vxdp-hostile-kick", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, 4096))
			err = -errno;
	}
	if (err) {
		fe_dev_close(&d);
		return 2;
	}
	ack = fe_dev_req(&d, VHOST_USER_SET_VRING_KICK, &idx, sizeof(idx), &fd, 1);
	close(fd);
	fe_dev_state(&d, VHOST_USER_SET_VRING_ENABLE, TXQ, 1);
	t0 = hostile_daemon_ticks(o);
	sleep_ms(limit);
	t1 = hostile_daemon_ticks(o);
	fe_dev_close(&d);
	hostile_report("attack=%s kick_ack=%d cpu_pct=%ld", name, ack,
		       t0 >= 0 && t1 >= 0 ?
		       (long)((t1 - t0) * 100 * 1000 / (sysconf(_SC_CLK_TCK) * limit)) : -1);
	return ack == 1 ? 0 : 1;
}

static int a_kick_pipe(const struct hostile_opts *o)
{
	return kick_fd_run(o, "kick-pipe", true);
}

static int a_kick_file(const struct hostile_opts *o)
{
	return kick_fd_run(o, "kick-file", false);
}

const struct hostile_attack mem_attacks[] = {
	{ "trunc-kick", "split ring running, guest memfd truncated to 0, kick", a_trunc_kick },
	{ "trunc-tail", "only the page holding a posted tx buffer cut off, kick", a_trunc_tail },
	{ "trunc-enable", "truncated, then only SET_VRING_ENABLE (no kick)", a_trunc_enable },
	{ "trunc-log", "dirty log memfd truncated after SET_LOG_BASE, kick", a_trunc_log },
	{ "trunc-packed", "trunc-kick on a packed ring", a_trunc_packed },
	{ "trunc-hugetlb", "trunc-kick on hugetlbfs memory (--hugetlb)", a_trunc_hugetlb },
	{ "amplify", "tx: every entry 1023 empty descriptors and a 32768-entry table (--duration, 0.5 s)", a_amplify },
	{ "amplify-packed", "tx, packed: every slot a 32768-entry table (--duration, 0.5 s)", a_amplify_packed },
	{ "amplify-valid", "tx: the costliest chains still allowed, re-posted (--duration, 0.5 s)", a_amplify_valid },
	{ "amplify-rx", "rx: chains of 64 places, 1 byte each, VF traffic into them (--duration, 1 s)", a_amplify_rx },
	{ "broken-cycles", "a malformed tx chain, the ring restarted over it again and again (--duration, 1 s)", a_broken_cycles },
	{ "mem-budget", "32 ADD_MEM_REG of 4 TiB of a sparse memfd and all A gets, then C maps 1 GiB", a_mem_budget },
	{ "kick-pipe", "kick fd a pipe whose writer is closed (--duration, 0.5 s)", a_kick_pipe },
	{ "kick-file", "kick fd a regular file (--duration, 0.5 s)", a_kick_file },
	{ 0 },
};
