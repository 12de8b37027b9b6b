// SPDX-License-Identifier: GPL-2.0
/* vhost_attack: a hostile vhost-user frontend and guest for the e2e suite
 * (selftests/e2e/test_hostile_memory.sh). It attacks relay A's memory and
 * descriptor handling while a second thread times relay B's datapath (a tx
 * frame posted and kicked, until it is used) and relay C's control plane
 * (GET_FEATURES, until it is answered), all three relays on one worker.
 *
 *   vhost_attack --a SOCK --b SOCK --c SOCK [--pid DAEMON] [--hugetlb]
 *                [--ms N] ATTACK...
 *
 * Attacks (each on a fresh connection to A):
 *   trunc-kick     split ring running, guest memfd truncated to 0, kick
 *   trunc-tail     only the page holding a posted tx buffer cut off, kick
 *   trunc-enable   truncated, then only SET_VRING_ENABLE (no kick)
 *   trunc-log      dirty log memfd truncated after SET_LOG_BASE, kick
 *   trunc-packed   trunc-kick on a packed ring
 *   trunc-hugetlb  trunc-kick on hugetlbfs memory (with --hugetlb)
 *   amplify        1024-entry split ring, every avail entry a chain of 1023
 *                  empty descriptors and a 32768-entry indirect table,
 *                  used entries re-posted and kicked for N ms
 *   amplify-packed 1024-entry packed ring, every slot an indirect
 *                  descriptor of a 32768-entry table, re-posted for N ms
 *   amplify-valid  the costliest chains still allowed (an indirect table of
 *                  63 empty entries and a 1-byte one), re-posted for N ms
 *   mem-budget     32 ADD_MEM_REG of 4 TiB of a sparse 64 TiB memfd, then
 *                  as much more as A gets; then C maps a 1 GiB guest
 *   kick-pipe      kick fd a pipe whose writer is closed; daemon CPU for N ms
 *   kick-file      kick fd a regular file; daemon CPU for N ms
 *
 * Output: one line per attack, "attack=NAME key=value ...": dropped (A's
 * connection ended by the relay), acks, dp_max_us and ctl_max_us (the
 * neighbours' worst wait meanwhile), cpu_pct (--pid), and a final
 * "a_serves=1" when A takes a new frontend after all of them. Exit 0 when
 * every attack ran (the test judges the values), 1 on a harness failure.
 *
 * Self-contained on purpose, so that it can be folded into a larger hostile
 * frontend harness: the frontend (fe_*), the guest rings (guest_driver.h)
 * and the probes share nothing with the attacks but the sockets.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "vhost/vhost_user_msg.h"
#include "../unit/guest_driver.h"

#define MEM_SIZE	(2u << 20)
#define RING_OFF(q)	(0x10000ull * (q))	/* ring q: desc, +0x4000, +0x5000 */
#define BUF_GPA		0x20000ull
#define TXQ		1			/* vring of queue pair 0's tx */
#define HDR_LEN		sizeof(struct virtio_net_hdr_mrg_rxbuf)
#define TIMEOUT_MS	2000

static const char *sock_a, *sock_b, *sock_c;
static int daemon_pid, run_ms = 1000;
static bool have_hugetlb;

static void die(const char *what)
{
	fprintf(stderr, "vhost_attack: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
}

/* ---- a frontend ------------------------------------------------------ */

struct fe {
	int sock;
	int memfd;
	uint8_t *mem;
	size_t mem_size;
	bool packed, log;
	uint16_t num;
	int kick, call;
	int logfd;
	struct guest_mem gm;
	struct sdrv sd;
	struct pdrv pd;
	struct vhost_user_msg m, r;	/* request and reply */
};

static int fe_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static struct vhost_user_msg *fe_msg(struct fe *f, uint32_t req, uint32_t size)
{
	memset(&f->m.hdr, 0, sizeof(f->m.hdr));
	f->m.hdr.request = req;
	f->m.hdr.flags = VHOST_USER_VERSION;
	f->m.hdr.size = size;
	f->m.nfds = 0;
	return &f->m;
}

/* Wait up to @ms for a message; 0, or -1 on timeout, EOF or error. */
static int fe_recv(struct fe *f, int ms)
{
	struct pollfd p = { .fd = f->sock, .events = POLLIN };

	if (poll(&p, 1, ms) != 1)
		return -1;
	if (vhost_user_msg_recv(f->sock, &f->r))
		return -1;
	vhost_user_msg_close_fds(&f->r);
	return 0;
}

/* Send f->m; with @ack, ask for and await the REPLY_ACK: 0 success, 1
 * failure, -1 none (timeout, EOF).
 */
static int fe_send(struct fe *f, bool ack)
{
	uint32_t req = f->m.hdr.request;

	if (ack)
		f->m.hdr.flags |= VHOST_USER_NEED_REPLY_MASK;
	if (vhost_user_msg_send(f->sock, &f->m))
		return -1;
	if (!ack)
		return 0;
	if (fe_recv(f, TIMEOUT_MS) || f->r.hdr.request != req)
		return -1;
	return f->r.payload.u64 ? 1 : 0;
}

static int fe_u64(struct fe *f, uint32_t req, uint64_t v, bool ack)
{
	fe_msg(f, req, 8)->payload.u64 = v;
	return fe_send(f, ack);
}

/* A request that is answered with a u64 (GET_FEATURES ...). */
static int fe_get(struct fe *f, uint32_t req, uint64_t *v)
{
	fe_msg(f, req, 0);
	if (fe_send(f, false) || fe_recv(f, TIMEOUT_MS) || f->r.hdr.request != req)
		return -1;
	*v = f->r.payload.u64;
	return 0;
}

static int fe_state(struct fe *f, uint32_t req, uint32_t idx, uint32_t num)
{
	struct vhost_user_msg *m = fe_msg(f, req, sizeof(m->payload.state));

	m->payload.state.index = idx;
	m->payload.state.num = num;
	return fe_send(f, true);
}

static int fe_vring_fd(struct fe *f, uint32_t req, uint32_t idx, int fd)
{
	struct vhost_user_msg *m = fe_msg(f, req, 8);

	m->payload.u64 = idx;
	m->fds[0] = fd;
	m->nfds = 1;
	return fe_send(f, true);
}

/* Connect to @path and get an answer: a relay still busy with the previous
 * frontend refuses (closes) a second one, so retry for a while.
 */
static int fe_open(struct fe *f, const char *path, uint64_t proto)
{
	uint64_t v, until = now_us() + 5000000;

	memset(f, 0, sizeof(*f));
	f->memfd = f->kick = f->call = f->logfd = -1;
	for (;;) {
		f->sock = fe_connect(path);
		if (f->sock >= 0 && !fe_get(f, VHOST_USER_GET_FEATURES, &v))
			break;
		if (f->sock >= 0)
			close(f->sock);
		if (now_us() > until)
			return -1;
		usleep(20000);
	}
	if (fe_get(f, VHOST_USER_GET_PROTOCOL_FEATURES, &v) ||
	    fe_u64(f, VHOST_USER_SET_PROTOCOL_FEATURES, proto & v, false) ||
	    fe_msg(f, VHOST_USER_SET_OWNER, 0) == NULL || fe_send(f, true))
		return -1;
	return 0;
}

static void fe_close(struct fe *f)
{
	if (f->sock >= 0)
		close(f->sock);
	if (f->mem)
		munmap(f->mem, f->mem_size);
	if (f->memfd >= 0)
		close(f->memfd);
	if (f->kick >= 0)
		close(f->kick);
	if (f->call >= 0)
		close(f->call);
	if (f->logfd >= 0)
		close(f->logfd);
	f->sock = f->memfd = f->kick = f->call = f->logfd = -1;
	f->mem = NULL;
}

/* Did the relay end the connection (EOF) within @ms? */
static bool fe_dropped(struct fe *f, int ms)
{
	uint64_t until = now_us() + ms * 1000ull;
	char b[256];

	while (now_us() < until) {
		struct pollfd p = { .fd = f->sock, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 50) != 1)
			continue;
		n = recv(f->sock, b, sizeof(b), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			return true;
	}
	return false;
}

#define PROTO_BASE	((1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |	\
			 (1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD) |	\
			 (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS))

/* Guest memory (@memfd, or a new memfd), the tx ring of @num entries in
 * it, eventfds, started and enabled. Returns 0 or -1.
 */
static int fe_start(struct fe *f, int memfd, size_t size, uint16_t num,
		    bool packed, bool log)
{
	uint64_t features = (1ull << VIRTIO_F_VERSION_1) |
			    (1ull << VHOST_USER_F_PROTOCOL_FEATURES) |
			    (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	struct gd_layout lay = {
		.desc_uva = RING_OFF(TXQ),
		.avail_uva = RING_OFF(TXQ) + 0x4000,
		.used_uva = RING_OFF(TXQ) + 0x5000,
		.buf_gpa = BUF_GPA,
		.buf_end = size,
	};
	struct vhost_user_msg *m;
	int err;

	if (packed)
		features |= 1ull << VIRTIO_F_RING_PACKED;
	f->packed = packed;
	f->log = log;
	f->num = num;
	f->mem_size = size;
	f->memfd = memfd >= 0 ? memfd : memfd_create("guest", MFD_CLOEXEC);
	if (f->memfd < 0 || (memfd < 0 && ftruncate(f->memfd, size)))
		return -1;
	f->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	if (f->mem == MAP_FAILED) {
		f->mem = NULL;
		return -1;
	}
	/* The frontend's virtual addresses are our own mapping's. */
	lay.desc_uva += (uintptr_t)f->mem;
	lay.avail_uva += (uintptr_t)f->mem;
	lay.used_uva += (uintptr_t)f->mem;
	guest_mem_init(&f->gm);
	if (guest_mem_add_ptr(&f->gm, 0, size, (uintptr_t)f->mem, f->mem))
		return -1;
	err = packed ? pdrv_setup(&f->pd, &f->gm, &lay, num, 0x80008000u, false, true) :
		       sdrv_setup(&f->sd, &f->gm, &lay, num, 0, false, true);
	if (err)
		return -1;

	f->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->kick < 0 || f->call < 0)
		return -1;
	if (fe_u64(f, VHOST_USER_SET_FEATURES, features, true))
		return -1;
	m = fe_msg(f, VHOST_USER_SET_MEM_TABLE, 8 + sizeof(struct vhost_user_region));
	m->payload.memory.nregions = 1;
	m->payload.memory.regions[0] = (struct vhost_user_region){
		.guest_phys_addr = 0, .memory_size = size,
		.userspace_addr = (uintptr_t)f->mem, .mmap_offset = 0,
	};
	m->fds[0] = f->memfd;
	m->nfds = 1;
	if (fe_send(f, true))
		return -1;
	if (fe_state(f, VHOST_USER_SET_VRING_NUM, TXQ, num) ||
	    fe_state(f, VHOST_USER_SET_VRING_BASE, TXQ, packed ? 0x80008000u : 0))
		return -1;
	m = fe_msg(f, VHOST_USER_SET_VRING_ADDR, sizeof(m->payload.addr));
	m->payload.addr = (struct vhost_user_vring_addr){
		.index = TXQ,
		.desc_user_addr = lay.desc_uva,
		.avail_user_addr = lay.avail_uva,
		.used_user_addr = lay.used_uva,
	};
	if (fe_send(f, true) ||
	    fe_vring_fd(f, VHOST_USER_SET_VRING_CALL, TXQ, f->call) ||
	    fe_vring_fd(f, VHOST_USER_SET_VRING_KICK, TXQ, f->kick) ||
	    fe_state(f, VHOST_USER_SET_VRING_ENABLE, TXQ, 1))
		return -1;
	return 0;
}

/* Dirty logging on (QEMU's order): the log memfd, LOG_ALL, the ring's
 * address with VHOST_VRING_F_LOG.
 */
static int fe_start_log(struct fe *f)
{
	uint64_t features = (1ull << VIRTIO_F_VERSION_1) |
			    (1ull << VHOST_USER_F_PROTOCOL_FEATURES) |
			    (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
			    (1ull << VHOST_F_LOG_ALL);
	struct vhost_user_msg *m;

	f->logfd = memfd_create("log", MFD_CLOEXEC);
	if (f->logfd < 0 || ftruncate(f->logfd, 4096))
		return -1;
	m = fe_msg(f, VHOST_USER_SET_LOG_BASE, sizeof(m->payload.log));
	m->payload.log.mmap_size = 4096;
	m->payload.log.mmap_offset = 0;
	m->fds[0] = f->logfd;
	m->nfds = 1;
	if (fe_send(f, false) || fe_recv(f, TIMEOUT_MS) ||
	    f->r.hdr.request != VHOST_USER_SET_LOG_BASE)
		return -1;
	if (fe_u64(f, VHOST_USER_SET_FEATURES, features, true))
		return -1;
	m = fe_msg(f, VHOST_USER_SET_VRING_ADDR, sizeof(m->payload.addr));
	m->payload.addr = (struct vhost_user_vring_addr){
		.index = TXQ,
		.flags = 1u << VHOST_VRING_F_LOG,
		.desc_user_addr = (uintptr_t)f->mem + RING_OFF(TXQ),
		.avail_user_addr = (uintptr_t)f->mem + RING_OFF(TXQ) + 0x4000,
		.used_user_addr = (uintptr_t)f->mem + RING_OFF(TXQ) + 0x5000,
		.log_guest_addr = RING_OFF(TXQ) + 0x5000,
	};
	return fe_send(f, true) ? -1 : 0;
}

static void fe_kick(struct fe *f)
{
	eventfd_write(f->kick, 1);
}

/* Post one tx frame (virtio-net header + a 60-byte Ethernet frame) with
 * its buffer at guest-physical @gpa.
 */
static void fe_post_frame(struct fe *f, uint64_t gpa)
{
	static const uint8_t eth[14] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff,	/* broadcast */
		0x52, 0x54, 0x00, 0x00, 0x0a, 0x0a,
		0x88, 0xb5,				/* local experimental */
	};
	uint32_t len = HDR_LEN + 60;
	struct seg s = { .gpa = gpa, .len = len };
	uint8_t *p = f->mem + gpa;

	memset(p, 0, len);
	memcpy(p + HDR_LEN, eth, sizeof(eth));
	if (f->packed) {
		pdrv_add(&f->pd, &s, 1);
	} else {
		f->sd.free_desc = f->sd.avail_idx;	/* one chain at a time */
		sdrv_add(&f->sd, sdrv_chain(&f->sd, &s, 1));
	}
}

/* ---- the neighbours' probes ------------------------------------------- */

struct probe {
	struct fe b, c;
	pthread_t tid;
	uint64_t dp_max, ctl_max;	/* us, since the last reset */
	unsigned int dp_n, ctl_n;
	int stop;
	pthread_mutex_t lock;	/* the maxima */
	pthread_mutex_t c_lock;	/* C's connection: the probe's, or an attack's */
};

static struct probe P;

/* B: post a frame, kick, wait until the relay has used it. */
static uint64_t probe_dp(struct fe *b)
{
	uint16_t used = b->sd.last_used, id;
	uint64_t t0 = now_us(), v;
	uint32_t len;

	fe_post_frame(b, BUF_GPA);
	fe_kick(b);
	for (;;) {
		struct pollfd p = { .fd = b->call, .events = POLLIN };

		if (__atomic_load_n(&b->sd.used->idx, __ATOMIC_ACQUIRE) != used)
			break;
		if (now_us() - t0 > 1000000)
			return now_us() - t0;
		if (poll(&p, 1, 10) == 1)
			eventfd_read(b->call, &v);
	}
	while (sdrv_used(&b->sd, &id, &len))
		;
	return now_us() - t0;
}

/* C: GET_FEATURES until answered. */
static uint64_t probe_ctl(struct fe *c)
{
	uint64_t t0 = now_us(), v;

	if (fe_get(c, VHOST_USER_GET_FEATURES, &v))
		return 1000000;
	return now_us() - t0;
}

static void *probe_main(void *arg)
{
	struct sched_param sp = { .sched_priority = 1 };

	(void)arg;
	/* What is timed is the relay, not this thread's wait for a CPU on a
	 * busy machine: best effort.
	 */
	pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	while (!__atomic_load_n(&P.stop, __ATOMIC_ACQUIRE)) {
		uint64_t dp = probe_dp(&P.b), ctl;

		pthread_mutex_lock(&P.c_lock);
		ctl = probe_ctl(&P.c);
		pthread_mutex_unlock(&P.c_lock);

		pthread_mutex_lock(&P.lock);
		if (dp > P.dp_max)
			P.dp_max = dp;
		if (ctl > P.ctl_max)
			P.ctl_max = ctl;
		P.dp_n++;
		P.ctl_n++;
		pthread_mutex_unlock(&P.lock);
		usleep(5000);
	}
	return NULL;
}

static void probe_reset(void)
{
	pthread_mutex_lock(&P.lock);
	P.dp_max = P.ctl_max = 0;
	P.dp_n = P.ctl_n = 0;
	pthread_mutex_unlock(&P.lock);
}

/* The worst waits since the reset, after at least @min probes more. */
static void probe_read(uint64_t *dp, uint64_t *ctl, unsigned int *n)
{
	uint64_t until = now_us() + 3000000;

	for (;;) {
		pthread_mutex_lock(&P.lock);
		*dp = P.dp_max;
		*ctl = P.ctl_max;
		*n = P.dp_n;
		pthread_mutex_unlock(&P.lock);
		if (*n >= 3 || now_us() > until)
			return;
		usleep(5000);
	}
}

/* ---- the attacks ------------------------------------------------------ */

static long cpu_ticks(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fp = fopen(path, "re");
	if (!fp)
		return -1;
	p = fgets(buf, sizeof(buf), fp);
	fclose(fp);
	if (!p || !(p = strrchr(buf, ')')))
		return -1;
	/* fields 14 and 15 (utime, stime), counted from field 3 after ')' */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		   &ut, &st) != 2)
		return -1;
	return ut + st;
}

struct result {
	char detail[256];
	int dropped;
};

/* Guest memory truncated under a running ring, then a kick (or only an
 * enable). @cut: bytes left of the file.
 */
static int attack_trunc(struct fe *a, struct result *res, bool packed,
			bool hugetlb, bool tail, bool enable_only)
{
	size_t size = hugetlb ? 4u << 20 : MEM_SIZE, cut = 0;
	int memfd = -1;
	uint64_t gpa = BUF_GPA;

	if (hugetlb) {
		memfd = memfd_create("guest-huge", MFD_CLOEXEC | MFD_HUGETLB);
		if (memfd < 0 || ftruncate(memfd, size))
			return -1;
	}
	if (fe_start(a, memfd, size, 256, packed, false))
		return -1;
	if (tail) {
		gpa = size - 4096;
		cut = size - 4096;
	}
	if (!enable_only)
		fe_post_frame(a, gpa);
	if (ftruncate(a->memfd, cut))
		return -1;
	/* The relay must not have touched the ring yet: no kick so far. */
	if (enable_only) {
		if (fe_state(a, VHOST_USER_SET_VRING_ENABLE, TXQ, 1) < 0)
			res->dropped = 1;	/* no ack: the relay hung up */
	} else {
		fe_kick(a);
	}
	if (!res->dropped)
		res->dropped = fe_dropped(a, TIMEOUT_MS);
	return 0;
}

static int attack_trunc_log(struct fe *a, struct result *res)
{
	if (fe_start(a, -1, MEM_SIZE, 256, false, false) || fe_start_log(a))
		return -1;
	fe_post_frame(a, BUF_GPA);
	if (ftruncate(a->logfd, 0))
		return -1;
	fe_kick(a);
	res->dropped = fe_dropped(a, TIMEOUT_MS);
	return 0;
}

/* Re-post every used entry and kick, for run_ms. */
static void amplify_loop(struct fe *a, void (*repost)(struct fe *a, uint16_t id),
			 char *out, size_t outlen)
{
	uint64_t until = now_us() + run_ms * 1000ull;
	unsigned int kicks = 0, reposted = 0;
	uint16_t id;
	uint32_t len;

	while (now_us() < until) {
		unsigned int n = 0;

		while (a->packed ? pdrv_used(&a->pd, &id, &len) :
				   sdrv_used(&a->sd, &id, &len)) {
			repost(a, id);
			n++;
		}
		if (a->packed)
			pdrv_publish(&a->pd);
		else
			sdrv_kick(&a->sd);
		if (n || !kicks) {
			fe_kick(a);
			kicks++;
		}
		reposted += n;
		usleep(n ? 100 : 2000);
	}
	snprintf(out, outlen, "kicks=%u reposted=%u", kicks, reposted);
}

static void repost_split(struct fe *a, uint16_t id)
{
	sdrv_post(&a->sd, id);
}

/* Packed: every slot is one indirect descriptor naming the shared table. */
static struct seg amp_table;

static void repost_packed(struct fe *a, uint16_t id)
{
	(void)id;
	pdrv_write(&a->pd, &amp_table, 1);
	a->pd.head_flags |= VRING_DESC_F_INDIRECT;
	pdrv_publish(&a->pd);
}

static int attack_amplify(struct fe *a, struct result *res, bool packed,
			  bool valid)
{
	const uint16_t num = 1024;
	uint32_t tlen = valid ? 64 : 32768, k;
	uint64_t tgpa = BUF_GPA + 0x1000;
	struct vring_desc *t;

	if (fe_start(a, -1, MEM_SIZE, num, packed, false))
		return -1;
	/* The table: empty entries, chained (split) or in order (packed);
	 * the valid variant ends in one 1-byte buffer.
	 */
	t = (struct vring_desc *)(a->mem + tgpa);
	for (k = 0; k < tlen; k++) {
		if (packed) {
			struct vring_packed_desc *pt = (void *)t;

			pt[k] = (struct vring_packed_desc){ .addr = BUF_GPA };
		} else {
			sdrv_set_desc(t, k, BUF_GPA, 0, VRING_DESC_F_NEXT, k + 1);
		}
	}
	if (valid) {
		t[tlen - 1].len = 1;
		t[tlen - 1].flags = 0;
	} else if (!packed) {
		t[tlen - 1].flags = 0;
	}
	if (packed) {
		amp_table = (struct seg){ .gpa = tgpa,
					  .len = tlen * sizeof(struct vring_packed_desc) };
		for (k = 0; k < num; k++)
			repost_packed(a, k);
	} else {
		/* valid: every descriptor an indirect one; the issue's: a
		 * chain of num - 1 empty descriptors ending in the table.
		 */
		for (k = 0; k < num; k++) {
			if (valid)
				sdrv_set_desc(a->sd.desc, k, tgpa, tlen * 16,
					      VRING_DESC_F_INDIRECT, 0);
			else if (k + 1 < num)
				sdrv_set_desc(a->sd.desc, k, BUF_GPA, 0,
					      VRING_DESC_F_NEXT, k + 1);
			else
				sdrv_set_desc(a->sd.desc, k, tgpa, tlen * 16,
					      VRING_DESC_F_INDIRECT, 0);
			sdrv_post(&a->sd, valid ? k : 0);
		}
		sdrv_kick(&a->sd);
	}
	amplify_loop(a, packed ? repost_packed : repost_split, res->detail,
		     sizeof(res->detail));
	res->dropped = fe_dropped(a, 10);
	return 0;
}

/* ADD_MEM_REG of @size bytes of @fd at guest-physical @gpa: 0 when acked. */
static int add_region(struct fe *a, int fd, uint64_t gpa, uint64_t size,
		      uint64_t uva)
{
	struct vhost_user_msg *m = fe_msg(a, VHOST_USER_ADD_MEM_REG,
					  sizeof(m->payload.mem_reg));

	m->payload.mem_reg.region = (struct vhost_user_region){
		.guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = uva, .mmap_offset = 0,
	};
	m->fds[0] = fd;
	m->nfds = 1;
	return fe_send(a, true);
}

/* A maps all the memory it can get out of a sparse 64 TiB memfd: 32 regions
 * of 4 TiB (the 128 TiB, a process's whole address space), then
 * whatever is left, halving the size down to 1 GiB each time one is
 * refused (a refusal costs no slot). Then C maps a 1 GiB guest.
 */
static int attack_mem_budget(struct fe *a, struct result *res)
{
	const uint64_t tib = 1ull << 40, gib = 1ull << 30;
	uint64_t size = 4 * tib, gpa = 0, mapped = 0;
	unsigned int i, slots = 0, refused = 0;
	int sparse = memfd_create("sparse", MFD_CLOEXEC), small, ack;
	struct vhost_user_msg *m;
	uint8_t *cmem;

	if (sparse < 0 || ftruncate(sparse, 64 * tib))
		return -1;
	for (i = 0; i < 32; i++) {
		ack = add_region(a, sparse, gpa, size, 0x7e0000000000ull + i * gib);
		if (ack < 0)
			return -1;
		refused += ack == 1;
		if (!ack) {
			slots++;
			mapped += size;
		}
		gpa += size;
	}
	while (slots < 32 && size >= gib) {
		ack = add_region(a, sparse, gpa, size, 0x7d0000000000ull + slots * gib);
		if (ack < 0)
			return -1;
		if (ack) {
			size /= 2;
			continue;
		}
		slots++;
		mapped += size;
		gpa += size;
	}
	close(sparse);
	/* C, the control-plane neighbour, maps a 1 GiB guest meanwhile. */
	small = memfd_create("c-guest", MFD_CLOEXEC);
	if (small < 0 || ftruncate(small, gib))
		return -1;
	cmem = mmap(NULL, gib, PROT_NONE, MAP_SHARED, small, 0);
	pthread_mutex_lock(&P.c_lock);
	m = fe_msg(&P.c, VHOST_USER_SET_MEM_TABLE, 8 + sizeof(struct vhost_user_region));
	m->payload.memory.nregions = 1;
	m->payload.memory.regions[0] = (struct vhost_user_region){
		.guest_phys_addr = 0, .memory_size = gib,
		.userspace_addr = (uintptr_t)cmem, .mmap_offset = 0,
	};
	m->fds[0] = small;
	m->nfds = 1;
	ack = fe_send(&P.c, true);
	pthread_mutex_unlock(&P.c_lock);
	close(small);
	if (cmem != MAP_FAILED)
		munmap(cmem, gib);
	snprintf(res->detail, sizeof(res->detail),
		 "refused_4t=%u a_mapped_gib=%llu c_maps_1g=%d", refused,
		 (unsigned long long)(mapped / gib), ack == 0);
	return 0;
}

/* A kick fd that is always readable: refused? And what does the daemon
 * burn meanwhile?
 */
static int attack_kick_fd(struct fe *a, struct result *res, bool pipe_fd)
{
	int pfd[2] = { -1, -1 }, fd, ack;
	long t0, t1;

	if (fe_start(a, -1, MEM_SIZE, 256, false, false))
		return -1;
	/* Stop the ring (the reply is its base, not an ack: read, ignored),
	 * then start it again with the bad kick fd.
	 */
	fe_state(a, VHOST_USER_GET_VRING_BASE, TXQ, 0);
	if (pipe_fd) {
		if (pipe2(pfd, O_CLOEXEC))
			return -1;
		close(pfd[1]);
		fd = pfd[0];
	} else {
		fd = memfd_create("kick-file", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, 4096))
			return -1;
	}
	ack = fe_vring_fd(a, VHOST_USER_SET_VRING_KICK, TXQ, fd);
	close(fd);
	fe_state(a, VHOST_USER_SET_VRING_ENABLE, TXQ, 1);
	t0 = daemon_pid ? cpu_ticks(daemon_pid) : -1;
	usleep(run_ms * 1000);
	t1 = daemon_pid ? cpu_ticks(daemon_pid) : -1;
	snprintf(res->detail, sizeof(res->detail), "kick_ack=%d cpu_pct=%ld", ack,
		 t0 >= 0 && t1 >= 0 ?
		 (t1 - t0) * 100 * 1000 / (sysconf(_SC_CLK_TCK) * run_ms) : -1);
	return 0;
}

static int run_attack(const char *name)
{
	struct result res = { .dropped = 0 };
	uint64_t dp, ctl, t0;
	unsigned int n;
	struct fe a;
	int err;

	if (fe_open(&a, sock_a, PROTO_BASE)) {
		printf("attack=%s error=connect\n", name);
		return -1;
	}
	probe_reset();
	t0 = now_us();
	if (!strcmp(name, "trunc-kick"))
		err = attack_trunc(&a, &res, false, false, false, false);
	else if (!strcmp(name, "trunc-tail"))
		err = attack_trunc(&a, &res, false, false, true, false);
	else if (!strcmp(name, "trunc-enable"))
		err = attack_trunc(&a, &res, false, false, false, true);
	else if (!strcmp(name, "trunc-packed"))
		err = attack_trunc(&a, &res, true, false, false, false);
	else if (!strcmp(name, "trunc-hugetlb"))
		err = have_hugetlb ? attack_trunc(&a, &res, false, true, false, false) : 1;
	else if (!strcmp(name, "trunc-log"))
		err = attack_trunc_log(&a, &res);
	else if (!strcmp(name, "amplify"))
		err = attack_amplify(&a, &res, false, false);
	else if (!strcmp(name, "amplify-packed"))
		err = attack_amplify(&a, &res, true, false);
	else if (!strcmp(name, "amplify-valid"))
		err = attack_amplify(&a, &res, false, true);
	else if (!strcmp(name, "mem-budget"))
		err = attack_mem_budget(&a, &res);
	else if (!strcmp(name, "kick-pipe"))
		err = attack_kick_fd(&a, &res, true);
	else if (!strcmp(name, "kick-file"))
		err = attack_kick_fd(&a, &res, false);
	else
		err = -2;
	probe_read(&dp, &ctl, &n);
	fe_close(&a);
	if (err == 1) {
		printf("attack=%s skipped=1\n", name);
		return 0;
	}
	if (err) {
		printf("attack=%s error=%s\n", name, err == -2 ? "unknown" : "setup");
		return -1;
	}
	printf("attack=%s dropped=%d dp_max_us=%llu ctl_max_us=%llu probes=%u ms=%llu %s\n",
	       name, res.dropped, (unsigned long long)dp, (unsigned long long)ctl,
	       n, (unsigned long long)(now_us() - t0) / 1000, res.detail);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "a", required_argument, NULL, 'a' },
		{ "b", required_argument, NULL, 'b' },
		{ "c", required_argument, NULL, 'c' },
		{ "pid", required_argument, NULL, 'p' },
		{ "ms", required_argument, NULL, 'm' },
		{ "hugetlb", no_argument, NULL, 'H' },
		{ 0 },
	};
	int c, i, bad = 0;
	struct fe a;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': sock_a = optarg; break;
		case 'b': sock_b = optarg; break;
		case 'c': sock_c = optarg; break;
		case 'p': daemon_pid = atoi(optarg); break;
		case 'm': run_ms = atoi(optarg); break;
		case 'H': have_hugetlb = true; break;
		default:
			fprintf(stderr, "usage: vhost_attack --a SOCK --b SOCK --c SOCK [--pid PID] [--ms N] [--hugetlb] ATTACK...\n");
			return 2;
		}
	}
	if (!sock_a || !sock_b || !sock_c || optind >= argc) {
		fprintf(stderr, "vhost_attack: --a, --b, --c and an attack are needed\n");
		return 2;
	}
	/* The neighbours: B with a running tx ring, C with a handshake. */
	if (fe_open(&P.b, sock_b, PROTO_BASE) ||
	    fe_start(&P.b, -1, MEM_SIZE, 256, false, false))
		die("relay B: handshake");
	if (fe_open(&P.c, sock_c, PROTO_BASE))
		die("relay C: handshake");
	pthread_mutex_init(&P.lock, NULL);
	pthread_mutex_init(&P.c_lock, NULL);
	if (probe_dp(&P.b) >= 1000000)
		die("relay B: a tx frame is never used");
	if (pthread_create(&P.tid, NULL, probe_main, NULL))
		die("pthread_create");
	for (i = optind; i < argc; i++)
		bad |= run_attack(argv[i]) != 0;
	__atomic_store_n(&P.stop, 1, __ATOMIC_RELEASE);
	pthread_join(P.tid, NULL);
	/* A still serves a well-behaved frontend. */
	c = fe_open(&a, sock_a, PROTO_BASE) == 0 &&
	    fe_start(&a, -1, MEM_SIZE, 256, false, false) == 0;
	printf("a_serves=%d\n", c);
	fe_close(&a);
	fe_close(&P.b);
	fe_close(&P.c);
	return bad;
}
