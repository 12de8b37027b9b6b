// SPDX-License-Identifier: GPL-2.0
/* vxdp-mqload: a light multi-queue vhost-user frontend for tools/bench/vxdp-bench's
 * mq test: it keeps a relay's guest rings full at little cost of its own, so
 * the relay's workers, not the traffic's endpoint, set the rate.
 *
 *   vxdp-mqload --socket PATH [--queues N] [--mode tx|rx] [--size B]
 *               [--flows F] [--ring NUM] [--seconds S]
 *
 * The guest is in-process: memfd memory handed to the relay with
 * SET_MEM_TABLE, split rings driven by selftests/unit/guest_driver.h,
 * VIRTIO_RING_F_EVENT_IDX negotiated.
 *
 *   tx  every tx ring's descriptors hold ready frames (Ethernet/IPv4/UDP of
 *       --size bytes; queue q carries flows q, q + N, q + 2N, ... of
 *       --flows): what the relay sends is posted again as it is, no copy.
 *   rx  every rx ring holds 2 KiB buffers; what the relay fills is counted
 *       and posted again.
 *
 * Either way it asks to be called only when half a ring is used (used_event)
 * and sleeps on the call eventfds in between, and kicks only when the relay
 * asks (avail_event): a few wake-ups and a few hundred stores per thousand
 * frames.
 *
 * SIGUSR1 prints the frames done so far, "frames=N q0=N q1=N ...", on
 * stdout; SIGINT/SIGTERM or --seconds end it after that same line. Exit 0,
 * 1 when the relay could not be set up or went away, 2 on usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "vhost/guest_mem.h"
#include "vhost/vhost_user_msg.h"
#include "vhost/vhost_user_sock.h"
#include "../../selftests/unit/frontend.h"
#include "../../selftests/unit/guest_driver.h"
#include "../../selftests/unit/frame_build.h"

#define EXIT_USAGE	2
#define MAX_QUEUES	8
#define BUF_SIZE	2048
#define HDR_LEN		sizeof(struct virtio_net_hdr_mrg_rxbuf)
/* Guest-physical layout: vring v's parts at RING_GPA(v) (descriptors, avail
 * at +0x4000, used at +0x5000: room for 1024 entries), its buffers from
 * BUF_GPA(v, 0).
 */
#define RING_MAX	1024
#define RING_GPA(v)	(0x10000ull * (v))
#define BUF_GPA(v, i)	(0x100000ull + ((uint64_t)(v) * RING_MAX + (i)) * BUF_SIZE)
#define MEM_SIZE	BUF_GPA(2 * MAX_QUEUES, 0)

static volatile sig_atomic_t stop, report;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		report = 1;
	else
		stop = 1;
}

struct mq {
	int sock;
	unsigned int queues, num, size, flows;
	bool tx;
	uint8_t *mem;
	int memfd;
	struct guest_mem gm;
	int kick[2 * MAX_QUEUES], call[2 * MAX_QUEUES];
	struct sdrv q[MAX_QUEUES];	/* the rings we drive: tx or rx */
	uint64_t done[MAX_QUEUES];
};

static void die(const char *what, int err)
{
	fprintf(stderr, "vxdp-mqload: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* Send @m; with @val, await the reply and read its u64 into *@val. */
static int req(struct mq *s, struct vhost_user_msg *m, uint64_t *val)
{
	struct vhost_user_msg r;
	uint32_t want = m->hdr.request;
	int err;

	err = vhost_user_msg_send(s->sock, m);
	if (err || !val)
		return err;
	err = vhost_user_msg_recv(s->sock, &r);
	if (err)
		return err;
	if (r.hdr.request != want || r.hdr.size != sizeof(uint64_t))
		return -EBADMSG;
	*val = r.payload.u64;
	return 0;
}

static int req_u64(struct mq *s, uint32_t r, uint64_t v, int fd)
{
	struct vhost_user_msg *m = msg_u64(r, 0, v);

	if (fd >= 0) {
		m->fds[0] = fd;
		m->nfds = 1;
	}
	return req(s, m, NULL);
}

static int req_state(struct mq *s, uint32_t r, uint32_t idx, uint32_t num)
{
	struct vhost_user_msg *m = msg(r, 0, sizeof(m->payload.state));

	m->payload.state.index = idx;
	m->payload.state.num = num;
	return req(s, m, NULL);
}

static int get_u64(struct mq *s, uint32_t r, uint64_t *v)
{
	return req(s, msg(r, 0, 0), v);
}

static int connect_wait(const char *path, unsigned int timeout_ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	unsigned int t;
	int fd = -ENOENT;

	for (t = 0; t < timeout_ms; t += 10) {
		fd = vhost_user_sock_connect(path);
		if (fd >= 0)
			return fd;
		nanosleep(&ts, NULL);
	}
	return fd;
}

/* Frame i of queue q's ring, in its buffer after the (zeroed) header. */
static uint32_t frame_write(struct mq *s, unsigned int q, unsigned int i, uint8_t *buf)
{
	struct fb b = {
		.udp = true,
		.payload = s->size - 42,
		.sport = 10000 + q + s->queues * (i % s->flows),
		.pay_seed = i,
	};

	memset(buf, 0, HDR_LEN);
	return HDR_LEN + fb_build(&b, buf + HDR_LEN);
}

/* Vring @v: ours to drive (tx ring in tx mode, rx ring in rx mode) or the
 * other direction's, set up but left empty.
 */
static int ring_setup(struct mq *s, unsigned int v)
{
	struct vhost_user_msg *m;
	struct gd_layout lay = {
		.desc_uva = (uintptr_t)s->mem + RING_GPA(v),
		.avail_uva = (uintptr_t)s->mem + RING_GPA(v) + 0x4000,
		.used_uva = (uintptr_t)s->mem + RING_GPA(v) + 0x5000,
		.buf_gpa = BUF_GPA(v, 0),
		.buf_end = BUF_GPA(v + 1, 0),
	};
	bool ours = (v & 1) == s->tx;
	struct sdrv spare, *d = ours ? &s->q[v / 2] : &spare;
	unsigned int i;
	int err;

	s->kick[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->call[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->kick[v] < 0 || s->call[v] < 0)
		return -errno;
	if (sdrv_setup(d, &s->gm, &lay, s->num, 0, true, false))
		return -EINVAL;
	if (ours) {
		for (i = 0; i < s->num; i++) {
			uint8_t *buf = s->mem + BUF_GPA(v, i);

			if (s->tx)
				sdrv_set_desc(d->desc, i, BUF_GPA(v, i),
					      frame_write(s, v / 2, i, buf), 0, 0);
			else
				sdrv_set_desc(d->desc, i, BUF_GPA(v, i), BUF_SIZE,
					      VRING_DESC_F_WRITE, 0);
			sdrv_post(d, i);
		}
		*sdrv_used_event(d) = s->num / 2 - 1;
		sdrv_kick(d);
	}
	err = req_state(s, VHOST_USER_SET_VRING_NUM, v, s->num);
	if (!err)
		err = req_state(s, VHOST_USER_SET_VRING_BASE, v, 0);
	if (!err) {
		m = msg(VHOST_USER_SET_VRING_ADDR, 0, sizeof(m->payload.addr));
		m->payload.addr.index = v;
		m->payload.addr.desc_user_addr = lay.desc_uva;
		m->payload.addr.avail_user_addr = lay.avail_uva;
		m->payload.addr.used_user_addr = lay.used_uva;
		err = req(s, m, NULL);
	}
	if (!err)
		err = req_u64(s, VHOST_USER_SET_VRING_CALL, v, s->call[v]);
	if (!err)
		err = req_u64(s, VHOST_USER_SET_VRING_KICK, v, s->kick[v]);
	if (!err)
		err = req_state(s, VHOST_USER_SET_VRING_ENABLE, v, 1);
	return err;
}

static int device_setup(struct mq *s)
{
	uint64_t offered, proto, qnum, want;
	struct vhost_user_msg *m;
	unsigned int v;
	int err;

	want = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) |
	       (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	if (s->queues > 1)
		want |= 1ull << VIRTIO_NET_F_MQ;
	err = get_u64(s, VHOST_USER_GET_FEATURES, &offered);
	if (err)
		return err;
	if ((offered & want) != want) {
		fprintf(stderr, "vxdp-mqload: relay offers features %#llx, need %#llx\n",
			(unsigned long long)offered, (unsigned long long)want);
		return -EPROTO;
	}
	err = get_u64(s, VHOST_USER_GET_PROTOCOL_FEATURES, &proto);
	if (!err)
		err = req_u64(s, VHOST_USER_SET_PROTOCOL_FEATURES,
			      proto & (1ull << VHOST_USER_PROTOCOL_F_MQ), -1);
	if (!err)
		err = get_u64(s, VHOST_USER_GET_QUEUE_NUM, &qnum);
	if (err)
		return err;
	if (qnum < s->queues) {
		fprintf(stderr, "vxdp-mqload: relay has %llu queue pairs, want %u\n",
			(unsigned long long)qnum, s->queues);
		return -EPROTO;
	}
	err = req(s, msg(VHOST_USER_SET_OWNER, 0, 0), NULL);
	if (!err)
		err = req_u64(s, VHOST_USER_SET_FEATURES, want, -1);
	if (err)
		return err;
	m = msg(VHOST_USER_SET_MEM_TABLE, 0, offsetof(struct vhost_user_memory, regions) +
		sizeof(m->payload.memory.regions[0]));
	m->payload.memory.nregions = 1;
	m->payload.memory.regions[0] = (struct vhost_user_region){
		.guest_phys_addr = 0, .memory_size = MEM_SIZE,
		.userspace_addr = (uintptr_t)s->mem, .mmap_offset = 0,
	};
	m->fds[0] = s->memfd;
	m->nfds = 1;
	err = req(s, m, NULL);
	for (v = 0; v < 2 * s->queues && !err; v++)
		err = ring_setup(s, v);
	/* A round trip: every request above was handled. */
	return err ? err : get_u64(s, VHOST_USER_GET_FEATURES, &offered);
}

/* Give back what the relay used on ring @q, kick if it asks, and ask for a
 * call after half a ring more. Returns true when half a ring is used again
 * already (the relay passed the new used_event before it was set, so no
 * call will come for it): turn the ring again before sleeping.
 */
static bool ring_turn(struct mq *s, unsigned int q)
{
	struct sdrv *d = &s->q[q];
	uint16_t old = d->avail_idx, id, used;
	unsigned int n = 0;
	uint32_t len;

	while (sdrv_used(d, &id, &len)) {
		sdrv_post(d, id);
		n++;
	}
	if (!n)
		return false;
	s->done[q] += n;
	*sdrv_used_event(d) = d->last_used + s->num / 2 - 1;
	sdrv_kick(d);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vring_need_event(__atomic_load_n(sdrv_avail_event(d), __ATOMIC_RELAXED),
			     d->avail_idx, old)) {
		uint64_t one = 1;

		if (write(s->kick[2 * q + s->tx], &one, sizeof(one)) < 0)
			die("kick", errno);
	}
	used = __atomic_load_n(&d->used->idx, __ATOMIC_ACQUIRE);
	return (uint16_t)(used - d->last_used) >= s->num / 2;
}

static void print_done(const struct mq *s)
{
	uint64_t sum = 0;
	unsigned int q;

	for (q = 0; q < s->queues; q++)
		sum += s->done[q];
	printf("frames=%llu", (unsigned long long)sum);
	for (q = 0; q < s->queues; q++)
		printf(" q%u=%llu", q, (unsigned long long)s->done[q]);
	printf("\n");
	fflush(stdout);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vxdp-mqload --socket PATH [--queues N] [--mode tx|rx] [--size B]\n"
		   "                   [--flows F] [--ring NUM] [--seconds S]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "queues", required_argument, NULL, 'q' },
		{ "mode", required_argument, NULL, 'm' },
		{ "size", required_argument, NULL, 'z' },
		{ "flows", required_argument, NULL, 'f' },
		{ "ring", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct mq s = { .queues = 2, .num = 1024, .size = 64, .flows = 16, .tx = true };
	struct pollfd pfd[MAX_QUEUES + 1];
	struct sigaction sa = { .sa_handler = on_signal };
	const char *path = NULL;
	unsigned int q, seconds = 0;
	uint64_t t_end = 0;
	int c, err;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'q': s.queues = atoi(optarg); break;
		case 'm':
			if (strcmp(optarg, "tx") && strcmp(optarg, "rx")) {
				usage(stderr);
				return EXIT_USAGE;
			}
			s.tx = !strcmp(optarg, "tx");
			break;
		case 'z': s.size = atoi(optarg); break;
		case 'f': s.flows = atoi(optarg); break;
		case 'r': s.num = atoi(optarg); break;
		case 't': seconds = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (!path || s.queues < 1 || s.queues > MAX_QUEUES || s.size < 60 ||
	    s.size + HDR_LEN > BUF_SIZE || s.flows < 1 || s.num < 2 ||
	    s.num > RING_MAX || (s.num & (s.num - 1))) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (q = 0; q < 2 * MAX_QUEUES; q++)
		s.kick[q] = s.call[q] = -1;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	s.memfd = memfd_create("vxdp-mqload-guest", MFD_CLOEXEC);
	if (s.memfd < 0 || ftruncate(s.memfd, MEM_SIZE))
		die("guest memory", errno);
	s.mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, s.memfd, 0);
	if (s.mem == MAP_FAILED)
		die("guest memory", errno);
	guest_mem_init(&s.gm);
	err = guest_mem_add_ptr(&s.gm, 0, MEM_SIZE, (uintptr_t)s.mem, s.mem);
	if (err)
		die("guest memory", err);
	/* A relay still tearing the previous frontend down refuses (closes)
	 * the next one for a moment: connect again.
	 */
	for (q = 0; ; q++) {
		unsigned int v;

		s.sock = connect_wait(path, 10000);
		if (s.sock < 0)
			die(path, s.sock);
		err = device_setup(&s);
		if (!err)
			break;
		if ((err != -ECONNRESET && err != -EPIPE) || q == 100)
			die("device setup", err);
		close(s.sock);
		for (v = 0; v < 2 * s.queues; v++) {
			if (s.kick[v] >= 0)
				close(s.kick[v]);
			if (s.call[v] >= 0)
				close(s.call[v]);
			s.kick[v] = s.call[v] = -1;
		}
		usleep(50 * 1000);
	}
	/* Kick every ring once: the relay may have looked before we posted. */
	for (q = 0; q < s.queues; q++) {
		uint64_t one = 1;

		if (write(s.kick[2 * q + s.tx], &one, sizeof(one)) < 0)
			die("kick", errno);
	}
	fprintf(stderr, "vxdp-mqload: %s, %u queue pairs, %u-entry rings, %u B frames, %u flows: running\n",
		s.tx ? "tx" : "rx", s.queues, s.num, s.size, s.flows);
	if (seconds)
		t_end = now_ms() + seconds * 1000ull;
	for (q = 0; q < s.queues; q++)
		pfd[q] = (struct pollfd){ .fd = s.call[2 * q + s.tx], .events = POLLIN };
	/* The relay closing the connection ends the run. */
	pfd[s.queues] = (struct pollfd){ .fd = s.sock, .events = POLLIN };

	while (!stop && (!t_end || now_ms() < t_end)) {
		bool again = false;
		uint64_t cnt;

		for (q = 0; q < s.queues; q++)
			again |= ring_turn(&s, q);
		if (report) {
			report = 0;
			print_done(&s);
		}
		if (again)
			continue;
		if (poll(pfd, s.queues + 1, 100) < 0) {
			if (errno == EINTR)
				continue;
			die("poll", errno);
		}
		if (pfd[s.queues].revents) {
			fprintf(stderr, "vxdp-mqload: the relay closed the connection\n");
			print_done(&s);
			return 1;
		}
		for (q = 0; q < s.queues; q++)
			if (pfd[q].revents & POLLIN)
				(void)!read(pfd[q].fd, &cnt, sizeof(cnt));
	}
	for (q = 0; q < s.queues; q++)
		ring_turn(&s, q);
	print_done(&s);
	return 0;
}
