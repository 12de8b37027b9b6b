// SPDX-License-Identifier: GPL-2.0
/* A relay's datapath and its frontend connection: VF frames from the AF_XDP
 * rx ring into the guest's rx virtqueue, guest tx virtqueue out through the
 * AF_XDP tx ring. Runs on events, and under load also from the loop's
 * bounded busy-poll (relay_poll()); an idle relay never polls.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <net/if.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/sockios.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "util/clock.h"
#include "util/evq.h"
#include "util/log.h"
#include "net/flow_hash.h"
#include "net/rarp.h"
#include "relay_impl.h"
#include "relay_conn.h"
#include "virtio/virtio_net.h"
#include "vxdp_shared.h"
#include "xdp/xdp_steer.h"
#include "util/compiler.h"

/* vring indices of queue pair @qp */
#define VQ_RX(qp) (2 * (qp))
#define VQ_TX(qp) (2 * (qp) + 1)
#define VQ_IS_RX(q) (!((q) & 1))

/* Frames per ring operation, and per direction before yielding to other
 * relays' events.
 */
#define RELAY_BATCH 32
#define RELAY_BUDGET 256
/* Descriptor reads per direction before yielding, whichever of the two runs
 * out first: the guest decides what a frame costs (up to VQ_CHAIN_MAX_IOV + 2
 * reads a chain, VIRTIO_NET_RX_MAX_BUFS chains an rx frame), so frames alone
 * would not bound the time. A frame takes 1-3 reads in practice, so this
 * never binds for real traffic (256 frames x 3 reads); a guest posting
 * chains of empty descriptors gets 4096 reads (tens of microseconds), plus
 * the one frame in progress, per turn.
 */
#define RELAY_DESC_BUDGET 4096
/* Frames one socket busy poll takes from the VF's NAPI (kernel default 8). */
#define RELAY_BUSY_POLL_BUDGET 64

/* Offered always; the offloads below per relay (offloads=). */
static const uint64_t relay_features =
	(1ull << VIRTIO_F_VERSION_1) |
	(1ull << VIRTIO_F_ANY_LAYOUT) |
	(1ull << VIRTIO_NET_F_MRG_RXBUF) |
	(1ull << VIRTIO_RING_F_EVENT_IDX) |
	(1ull << VIRTIO_RING_F_INDIRECT_DESC) |
	(1ull << VIRTIO_F_RING_PACKED) |
	(1ull << VHOST_F_LOG_ALL) |		/* live migration: dirty log */
	(1ull << VHOST_USER_F_PROTOCOL_FEATURES);

/* offloads=csum: the guest may leave checksums to us (CSUM), and takes
 * frames whose checksum we verified as such (GUEST_CSUM).
 */
static const uint64_t relay_csum_features =
	(1ull << VIRTIO_NET_F_CSUM) |
	(1ull << VIRTIO_NET_F_GUEST_CSUM);

/* offloads=on adds TCP segmentation both ways: the guest hands us TCP
 * frames of up to 64 KiB (HOST_TSO4/6) and takes joined segments
 * (GUEST_TSO4/6). Not ECN (CWR-marked TSO frames) nor UFO/USO: not done.
 */
static const uint64_t relay_tso_features =
	(1ull << VIRTIO_NET_F_HOST_TSO4) |
	(1ull << VIRTIO_NET_F_HOST_TSO6) |
	(1ull << VIRTIO_NET_F_GUEST_TSO4) |
	(1ull << VIRTIO_NET_F_GUEST_TSO6);

static const uint64_t relay_protocol_features =
	(1ull << VHOST_USER_PROTOCOL_F_MQ) |
	(1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD) |	/* LOG_ALL needs it */
	(1ull << VHOST_USER_PROTOCOL_F_NET_MTU) |	/* relay_set_mtu() */
	(1ull << VHOST_USER_PROTOCOL_F_RARP) |	/* relay_send_rarp() */
	(1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
	(1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);	/* memory hot-plug */

static unsigned int relay_hdr_len(const struct relay *r)
{
	if (vhost_dev_has_feature(&r->dev, VIRTIO_F_VERSION_1) ||
	    vhost_dev_has_feature(&r->dev, VIRTIO_NET_F_MRG_RXBUF))
		return sizeof(struct virtio_net_hdr_mrg_rxbuf);
	return sizeof(struct virtio_net_hdr);
}

static struct virtqueue *relay_vring(struct relay *r, unsigned int q)
{
	struct vhost_vring *vq = &r->dev.vq[q];

	return vhost_vring_ready(vq) ? &vq->vr : NULL;
}

static void relay_notify(struct relay_lane *l, unsigned int q)
{
	struct vhost_vring *vq = &l->r->dev.vq[q];

	if (vq_should_notify(&vq->vr) && vq->callfd >= 0)
		uloop_signal_eventfd(l->loop, vq->callfd);
}

static void relay_ring_broken(struct relay_lane *l, unsigned int q)
{
	struct relay *r = l->r;

	if (l->broken_logged & (1ull << q))
		return;
	/* Zero pages where the frontend shrank memory look malformed too:
	 * the one line that says why comes from the fault check after this
	 * run (relay_check_fault()).
	 */
	if (vhost_dev_lost_memory(&r->dev))
		return;
	l->broken_logged |= 1ull << q;
	pr_err("%s: guest posted a malformed descriptor chain on %s queue %u; queue stopped until the guest resets it",
	       r->cfg.name, VQ_IS_RX(q) ? "rx" : "tx", q / 2);
}

/* The lane's guest rx queues frames can go to now, for flow-hash
 * spreading.
 */
static void relay_update_rx_ready(struct relay_lane *l)
{
	uint32_t qps = l->qps;

	l->nrx_ready = 0;
	while (qps) {
		unsigned int qp = __builtin_ctz(qps);

		qps &= qps - 1;
		if (vhost_vring_ready(&l->r->dev.vq[VQ_RX(qp)]))
			l->rx_ready[l->nrx_ready++] = qp;
	}
}

/* The guest rx queue pair for a frame from VF queue @port: the same index
 * when the VF has a queue for each of the guest's and the guest runs that
 * one (one-to-one, the VF's RSS did the spreading), else by flow hash over
 * the lane's running ones, so a flow always lands on one queue. With fewer
 * VF queues than guest queues, one-to-one would leave the rest idle. (A
 * lane of a relay split over workers has one queue pair: its VF queues'
 * frames go there, or nowhere while the guest does not run it.)
 */
static int relay_rx_port_queue(const struct relay_lane *l, unsigned int port)
{
	const struct relay *r = l->r;
	const struct relay_port *p = &r->port[port];
	unsigned int q = p->vfq;

	if (q < r->cfg.queues && p->m->nports >= r->cfg.queues &&
	    (l->qps & (1u << q)) && vhost_vring_ready(&r->dev.vq[VQ_RX(q)]))
		return q;
	if (l->nrx_ready == 1)
		return l->rx_ready[0];
	return -1;	/* by flow */
}

static unsigned int relay_rx_pick(struct relay_lane *l, unsigned int port,
				  const struct xsk_pkt *pkt)
{
	int qp = relay_rx_port_queue(l, port);

	if (qp >= 0)
		return qp;
	return l->rx_ready[flow_hash(pkt->data, pkt->len) % l->nrx_ready];
}

/* Ask the guest to kick vring @q when it posts more. While the loop
 * busy-polls, the ask waits for relay_idle(): the poll looks at the ring
 * anyway, and a kick would cost the guest (or its virtio-user's CPU) a
 * syscall and us a wake-up. Returns true when the guest posted meanwhile, so
 * the caller must look again rather than wait.
 */
static bool relay_want_kick(struct relay_lane *l, unsigned int q)
{
	if (uloop_busy_polling(l->loop)) {
		l->kick_wanted |= 1ull << q;
		return false;
	}
	l->kick_asked |= 1ull << q;
	return vq_notify_enable(&l->r->dev.vq[q].vr);
}

/* The loop polls: take back the kicks asked for (see kick_asked), once per
 * polling period; relay_idle() asks for them again before the loop sleeps.
 */
static void relay_kicks_off(struct relay_lane *l)
{
	uint64_t asked = l->kick_asked;

	l->kick_asked = 0;
	l->kick_wanted |= asked;
	while (asked) {
		unsigned int q = __builtin_ctzll(asked);
		struct virtqueue *vr = relay_vring(l->r, q);

		asked &= asked - 1;
		if (vr)
			vq_notify_disable(vr);
	}
}

/* An 802.1Q tag, which a device takes on top of its MTU (uapi lacks it). */
#define VLAN_HLEN 4

/* A peek returns whole frames of up to XSK_PORT_MAX_FRAGS umem frames; a
 * batch must hold the longest, or it would be dropped.
 */
_Static_assert(RELAY_BATCH >= XSK_PORT_MAX_FRAGS, "RELAY_BATCH below XSK_PORT_MAX_FRAGS");

/* The frame starting at @pkts: how many of the @n umem fragments it takes
 * (up to the one without @more), and its length in @len.
 */
static unsigned int relay_rx_frame(const struct xsk_pkt *pkts, unsigned int n,
				   size_t *len)
{
	unsigned int i = 0;

	*len = 0;
	do
		*len += pkts[i].len;
	while (pkts[i++].more && i < n);
	return i;
}

/* The rx side of what the guest negotiated, once per batch. */
static void relay_rxq_setup(struct relay_lane *l)
{
	struct virtio_net_rxq *q = &l->rxq;
	const struct vhost_dev *d = &l->r->dev;

	q->mem = &d->mem;
	q->hdr_len = l->hdr_len;
	q->mrg = vhost_dev_has_feature(d, VIRTIO_NET_F_MRG_RXBUF);
	q->csum = vhost_dev_has_feature(d, VIRTIO_NET_F_GUEST_CSUM);
	/* Joined frames span many buffers: only over mergeable ones. */
	q->gro4 = q->csum && q->mrg && vhost_dev_has_feature(d, VIRTIO_NET_F_GUEST_TSO4);
	q->gro6 = q->csum && q->mrg && vhost_dev_has_feature(d, VIRTIO_NET_F_GUEST_TSO6);
	q->st = &l->off;
	virtio_net_rx_batch_start(q);
}

/* The frame at @pkts (*@nf fragments, *@len bytes, of @n peeked) into guest
 * rx queue pair @qp: see virtio_net_rx_frame(), and with offloads
 * virtio_net_rx_offload(), which may take a run of frames (*@nf and *@len
 * grow). Returns the frames delivered or a negative errno. The descriptors
 * it read are added to *@reads.
 */
static int relay_rx_one(struct relay_lane *l, unsigned int qp,
			const struct xsk_pkt *pkts, unsigned int n,
			unsigned int *nf, size_t *len, uint32_t *reads)
{
	struct virtio_net_rxq *q = &l->rxq;
	struct relay *r = l->r;
	uint32_t before;
	int err;

	q->vq = &r->dev.vq[VQ_RX(qp)].vr;
	before = vq_desc_reads(q->vq);
	if (q->csum)
		err = virtio_net_rx_offload(q, pkts, n, nf, len);
	else
		err = virtio_net_rx_frame(q, pkts, *nf, *len) ?: 1;
	*reads += vq_desc_reads(q->vq) - before;
	return err;
}

static void relay_on_xsk(struct uloop_src *s, int res);

/* While the guest has no rx buffers, port @pi's XSK stays readable and its
 * poll, armed again, would fire at once, round after round, with nothing the
 * relay can do: a stalled guest would cost a core. So the poll is paused
 * until the guest kicks (buffers posted) or the port drains.
 */
/* The kernel's drops of frames for port @p that found its rx ring full or
 * no fill buffer: what a paused port loses.
 */
static uint64_t relay_port_kernel_drops(const struct relay_port *p)
{
	struct xsk_port_stats ks;

	xsk_port_read_stats(p->xsk, &ks);
	return ks.rx_ring_full + ks.rx_dropped;
}

/* (A pause and its resume cost a getsockopt() each, to count what the
 * kernel drops meanwhile as "no guest buffer": once per guest ring running
 * dry, not per frame.)
 */
static void relay_rx_pause(struct relay_lane *l, unsigned int pi)
{
	struct relay *r = l->r;

	if (l->rx_paused & (1u << pi))
		return;
	l->rx_paused |= 1u << pi;
	r->port[pi].nobuf_base = relay_port_kernel_drops(&r->port[pi]);
	uloop_del(l->loop, &l->srcs->port[pi].src);
}

static void relay_rx_resume(struct relay_lane *l, uint32_t ports)
{
	struct relay *r = l->r;

	ports &= l->rx_paused;
	l->rx_paused &= ~ports;
	while (ports) {
		struct relay_port *p = &r->port[__builtin_ctz(ports)];

		ports &= ports - 1;
		r->qc[p->idx].drop_no_buffer += relay_port_kernel_drops(p) - p->nobuf_base;
		uloop_add_poll_lazy(l->loop, &l->srcs->port[p->idx].src, xsk_port_fd(p->xsk),
				    POLLIN, relay_on_xsk);
	}
}

/* VF queue @pi -> guest. A frame may span several umem fragments (AF_XDP
 * multi-buffer); the port only ever hands out whole frames, and frames are
 * consumed or left on the ring whole. Returns true when the budget (frames
 * or descriptor reads) ran out with frames left.
 */
static bool relay_vf_to_guest(struct relay_lane *l, unsigned int pi)
{
	struct relay *r = l->r;
	struct xsk_port *port = r->port[pi].xsk;
	struct relay_qcount *qc = &r->qc[pi];
	struct xsk_pkt pkts[RELAY_BATCH];
	unsigned int budget = RELAY_BUDGET;
	uint32_t reads = 0;

	l->hdr_len = relay_hdr_len(r);
	while (budget) {
		unsigned int n = xsk_port_rx_peek(port, pkts, RELAY_BATCH);
		unsigned int done, nf, blocked = 0;
		bool kick_asked = false, spent = false;
		int fixed;
		uint32_t touched = 0;
		int err = 0;

		relay_rxq_setup(l);
		if (!n) {
			relay_rx_resume(l, 1u << pi);
			return false;
		}
		/* Without a running rx ring this is -1. */
		fixed = relay_rx_port_queue(l, pi);
		if (fixed >= 0) {
			struct virtqueue *vq = &r->dev.vq[VQ_RX(fixed)].vr;
			uint32_t before = vq_desc_reads(vq);

			vq_prefetch(vq, &r->dev.mem, n, true);
			reads += vq_desc_reads(vq) - before;
		}
		for (done = 0; done < n; done += nf) {
			unsigned int qp;
			size_t len;

			if (reads >= RELAY_DESC_BUDGET) {
				spent = true;
				break;
			}
			nf = relay_rx_frame(&pkts[done], n - done, &len);
			if (!l->nrx_ready) {
				/* The VF's traffic is the guest's; with no
				 * guest ring running it has nowhere to go.
				 */
				qc->drop_no_guest++;
				continue;
			}
			/* The headers are in the first fragment. */
			qp = relay_rx_pick(l, pi, &pkts[done]);
			err = relay_rx_one(l, qp, &pkts[done], n - done, &nf, &len, &reads);
			if (err == -EAGAIN || err == -ENOBUFS) {
				blocked = qp;
				kick_asked = err == -ENOBUFS;
				if (kick_asked)
					l->kick_asked |= 1ull << VQ_RX(qp);
				break;
			}
			if (err == -EIO) {
				relay_ring_broken(l, VQ_RX(qp));
				relay_update_rx_ready(l);
				qc->drop_broken_ring++;
				continue;
			}
			if (err == -EMSGSIZE) {
				qc->drop_too_big++;
				continue;
			}
			touched |= 1u << qp;
			qc->to_guest += err;
			qc->to_guest_bytes += len;
			err = 0;
		}
		while (touched) {
			unsigned int qp = __builtin_ctz(touched);

			touched &= touched - 1;
			vq_flush(&r->dev.vq[VQ_RX(qp)].vr);
			relay_notify(l, VQ_RX(qp));
		}
		xsk_port_rx_release(port, done, n);
		if (spent)
			break;	/* the guest's chains ate the budget */
		if (done < n) {
			/* Out of guest buffers: the rest waits on the XSK rx
			 * ring (and the kernel drops beyond it) until the guest
			 * kicks us with more.
			 */
			if (kick_asked || !relay_want_kick(l, VQ_RX(blocked))) {
				relay_rx_pause(l, pi);
				return false;
			}
			continue;
		}
		budget -= n < budget ? n : budget;
		if (reads >= RELAY_DESC_BUDGET)
			break;
	}
	relay_rx_resume(l, 1u << pi);
	return true;
}

/* The VF's MTU, or a negative errno. */
static int vf_mtu(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int fd, mtu;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	mtu = ioctl(fd, SIOCGIFMTU, &ifr) ? -errno : ifr.ifr_mtu;
	close(fd);
	return mtu;
}

static uint64_t coarse_now_ns(void)
{
	struct timespec ts;

	/* vDSO: no syscall */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Read the VF's MTU and remember its largest frame: the MTU plus an
 * Ethernet header and one VLAN tag, which is what the kernel lets through a
 * device; unlimited (the driver decides) when the MTU cannot be read.
 * Returns the MTU or a negative errno.
 */
static int relay_read_vf_mtu(struct relay_lane *l)
{
	int mtu = vf_mtu(READ_ONCE(l->r->active)->vf);

	l->vf_max_frame = mtu > 0 ? (uint32_t)mtu + ETH_HLEN + VLAN_HLEN : UINT32_MAX;
	l->vf_mtu_read_ns = coarse_now_ns() | 1;
	return mtu;
}

/* Whether a @len-byte guest frame is too big for the VF or for the AF_XDP
 * socket. The VF's MTU may have grown since we read it: re-read it for a
 * frame over it, at most once a second, so a guest sending oversized
 * frames costs no syscall per frame.
 */
static bool relay_tx_too_big(struct relay_lane *l, const struct xsk_port *port,
			     uint32_t len)
{
	if (len > l->vf_max_frame &&
	    (!l->vf_mtu_read_ns || coarse_now_ns() - l->vf_mtu_read_ns >= 1000000000ull))
		relay_read_vf_mtu(l);
	return len > l->vf_max_frame || len > xsk_port_max_frame(port);
}

/* The tx side of what the guest negotiated, for queue pair @qp's txq. */
static struct virtio_net_txq *relay_txq_setup(struct relay_lane *l, unsigned int qp)
{
	struct virtio_net_txq *q = &l->r->txq[qp];
	const struct vhost_dev *d = &l->r->dev;

	q->hdr_len = l->hdr_len;
	q->csum = vhost_dev_has_feature(d, VIRTIO_NET_F_CSUM);
	q->tso4 = vhost_dev_has_feature(d, VIRTIO_NET_F_HOST_TSO4);
	q->tso6 = vhost_dev_has_feature(d, VIRTIO_NET_F_HOST_TSO6);
	q->st = &l->off;
	return q;
}

/* Chain @c (its frame over ETH_HLEN) with offloads negotiated: see
 * virtio_net_tx_chain(). A frame or segment over the largest frame last
 * known is tried again once relay_tx_too_big() has re-read the VF's MTU.
 */
static int relay_tx_offload(struct relay_lane *l, struct virtio_net_txq *q,
			    const struct xsk_port *port, const struct vq_chain *c,
			    struct xsk_pkt *pkts, unsigned int avail)
{
	uint32_t room = xsk_port_frame_room(port), max = xsk_port_max_frame(port);
	int n;

	if (l->vf_max_frame < max)
		max = l->vf_max_frame;
	n = virtio_net_tx_chain(q, c, room, max, pkts, avail);
	if (n == -EMSGSIZE && !relay_tx_too_big(l, port, q->need))
		n = virtio_net_tx_chain(q, c, room, q->need, pkts, avail);
	return n;
}

/* While the VF is down or gone (relay_vf.c) the guest's frames have nowhere
 * to go: they are handed back unsent and counted, so that its tx queue
 * keeps moving rather than stalling into its watchdog. Returns true when
 * the budget ran out with more posted.
 */
static bool relay_tx_discard(struct relay_lane *l, unsigned int qp, struct virtqueue *vr)
{
	struct relay *r = l->r;
	struct vq_chain *c = &l->tx_chain;
	unsigned int n = 0;
	int err = 0;

	while (n < RELAY_BUDGET && !(err = vq_pop(vr, &r->dev.mem, c))) {
		vq_push(vr, c->head, 0, c->ndesc);
		n++;
	}
	if (n) {
		vq_flush(vr);
		relay_notify(l, VQ_TX(qp));
		r->qc[qp].drop_vf_down += n;
	}
	/* A TSO frame's segments still to send went with the VF. */
	r->txq[qp].tso_busy = false;
	if (err == -EIO) {
		relay_ring_broken(l, VQ_TX(qp));
		return false;
	}
	return n == RELAY_BUDGET || (err == -EAGAIN && relay_want_kick(l, VQ_TX(qp)));
}

/* The failover agent waits for the guest's next frame (RELAY_OP_WATCH_TX)
 * and lane @l sent one: the agent hears of it once, through the home
 * thread, the event queue's one producer (relay_on_fault()).
 */
static void relay_guest_tx_seen(struct relay_lane *l)
{
	struct relay *r = l->r;

	if (!atomic_exchange(&r->watch_tx, false))
		return;
	if (l->host == r->home) {
		relay_post(r, RELAY_EV_GUEST_TX);
		return;
	}
	atomic_store(&r->guest_tx_seen, true);
	eventfd_write(r->fault_efd, 1);
}

/* Guest tx queue of pair @qp -> its VF queue. A frame bigger than one umem
 * frame goes out as several tx descriptors (AF_XDP multi-buffer); a TSO
 * frame as the segments cut from it, over as many batches as they take.
 * Dropped chains (too short, too big, a bad header) are returned to the
 * guest at once, so they are never walked again, and count against the
 * budget like frames; so do the descriptors every chain took to read.
 * Returns true when there is more to do right away.
 */
static bool relay_guest_to_vf(struct relay_lane *l, unsigned int qp)
{
	struct relay *r = l->r;
	struct virtqueue *vr = relay_vring(r, VQ_TX(qp));
	struct xsk_port *port;
	uint32_t room;
	struct xsk_pkt pkts[RELAY_BATCH];
	struct vq_chain *c = &l->tx_chain;
	struct relay_qcount *qc = &r->qc[qp];
	struct virtio_net_txq *q;
	unsigned int budget = RELAY_BUDGET;
	const struct relay_member *act;
	struct relay_port *pp;
	uint32_t reads0;

	if (!vr) {
		r->txq[qp].tso_busy = false;
		return false;
	}
	/* A bond's active member: the one pointer a switch changes. */
	act = READ_ONCE(r->active);
	if (r->vf_paused || !act->nports)
		return relay_tx_discard(l, qp, vr);
	pp = &r->port[act->base + qp % act->nports];
	port = pp->xsk;
	room = xsk_port_frame_room(port);
	reads0 = vq_desc_reads(vr);
	l->hdr_len = relay_hdr_len(r);
	q = relay_txq_setup(l, qp);
	while (budget) {
		unsigned int m = xsk_port_tx_alloc(port, pkts, RELAY_BATCH);
		unsigned int used = 0, popped = 0, sent = 0;
		bool short_of_bufs = false, spent = false;
		int err = 0;

		if (!m) {
			/* Every tx frame is in flight: push the kernel on and
			 * come back for completions.
			 */
			xsk_port_tx_pending(port);
			return true;
		}
		/* The last TSO frame's segments go before the next chain. */
		if (q->tso_busy) {
			used = virtio_net_tx_segments(q, room, pkts, m);
			short_of_bufs = q->tso_busy;
		} else {
			vq_prefetch(vr, &r->dev.mem, m, false);
		}
		while (used < m && !q->tso_busy) {
			uint32_t len;
			int n;

			if (popped >= budget ||
			    vq_desc_reads(vr) - reads0 >= RELAY_DESC_BUDGET) {
				spent = true;
				break;
			}
			err = vq_pop(vr, &r->dev.mem, c);
			if (err)
				break;
			if (c->out_len < l->hdr_len + ETH_HLEN ||
			    (!q->csum && relay_tx_too_big(l, port, c->out_len - l->hdr_len))) {
				popped++;
				vq_push(vr, c->head, 0, c->ndesc);
				qc->drop_bad_frame++;
				continue;
			}
			len = c->out_len - l->hdr_len;
			if (q->csum)
				n = relay_tx_offload(l, q, port, c, &pkts[used], m - used);
			else if ((len + room - 1) / room > m - used)
				n = -ENOBUFS;
			else
				n = virtio_net_tx_frame(c, l->hdr_len, room, &pkts[used]);
			if (n == -ENOBUFS) {
				/* The rest of this batch's buffers cannot hold
				 * it: the chain waits for the next batch.
				 */
				err = vq_unpop(vr, 1);
				short_of_bufs = true;
				break;
			}
			popped++;
			/* Copied out (a TSO frame into q->gso_buf), so the
			 * guest may have it back.
			 */
			vq_push(vr, c->head, 0, c->ndesc);
			if (n < 0) {
				qc->drop_bad_frame++;
				continue;
			}
			used += n;
			sent++;
			qc->from_guest++;
			qc->from_guest_bytes += len;
		}
		short_of_bufs |= q->tso_busy;
		xsk_port_tx_submit(port, pkts, m, used);
		pp->tx_frames += sent;
		if (__builtin_expect(r->watch_tx, 0) && used)
			relay_guest_tx_seen(l);
		if (popped) {
			vq_flush(vr);
			relay_notify(l, VQ_TX(qp));
		}
		if (err == -EIO) {
			if (!(l->broken_logged & (1ull << VQ_TX(qp))))
				qc->drop_broken_ring++;
			relay_ring_broken(l, VQ_TX(qp));
			return false;
		}
		if (spent)
			return true;
		if (err == -EAGAIN) {
			if (relay_want_kick(l, VQ_TX(qp)))
				continue;
			return xsk_port_tx_pending(port);
		}
		if (short_of_bufs && !popped && !used) {
			/* Not even a fresh batch holds the frame: the tx
			 * buffers are in flight, come back for completions.
			 */
			xsk_port_tx_pending(port);
			return true;
		}
		/* A TSO frame counts by its segments. */
		if (used > popped)
			popped = used;
		budget -= popped < budget ? popped : budget;
	}
	return true;
}

/* The fault count moved (a frontend shrank some guest memory file under
 * some relay's mapping, util/fault_guard.h): tell the home thread, which
 * looks whether the mappings are this relay's and drops the connection
 * if so. A fault is rare; the look costs one load per run.
 */
static void relay_check_fault(struct relay_lane *l)
{
	uint64_t n = fault_guard_count();

	if (__builtin_expect(n == l->faults_seen, 1))
		return;
	l->faults_seen = n;
	eventfd_write(l->r->fault_efd, 1);
}

/* On the home thread. Shutting our end makes the loop see EOF on the
 * connection and end it through the normal disconnect path after this
 * round; until then the datapath may run on, over zeros.
 */
static void relay_on_fault(struct uloop_src *s, int res)
{
	struct relay *r = container_of(s, struct relay, fault_src);

	(void)res;
	if (atomic_exchange(&r->guest_tx_seen, false))
		relay_post(r, RELAY_EV_GUEST_TX);
	if (vhost_dev_faulted(&r->dev) && r->conn_fd >= 0)
		shutdown(r->conn_fd, SHUT_RDWR);
}

/* Run the given VF queues (rx) and guest queue pairs (tx) of lane @l;
 * whatever stops at its budget is run again after this round of events.
 * Returns the frames moved (also accounted to the loop). What the guest
 * makes the datapath log (a malformed chain, a shrunk file) is charged to
 * the lane's log budget, named after the relay.
 */
static unsigned int relay_run(struct relay_lane *l, uint32_t rx, uint32_t tx)
{
	struct relay *r = l->r;
	struct log_limit *prev;
	unsigned int moved = 0;

	if (l->paused)
		return 0;	/* resuming runs everything */
	prev = log_limit_enter(&l->loglim);
	while (rx) {
		unsigned int pi = __builtin_ctz(rx);
		uint64_t before = r->qc[pi].to_guest;

		rx &= rx - 1;
		if (relay_vf_to_guest(l, pi))
			l->rx_more |= 1u << pi;
		moved += r->qc[pi].to_guest - before;
	}
	while (tx) {
		unsigned int qp = __builtin_ctz(tx);
		uint64_t before = r->qc[qp].from_guest;

		tx &= tx - 1;
		if (relay_guest_to_vf(l, qp))
			l->tx_more |= 1u << qp;
		moved += r->qc[qp].from_guest - before;
	}
	if (l->rx_more || l->tx_more)
		uloop_defer(l->loop, &l->work);
	relay_check_fault(l);
	uloop_account(l->loop, moved);
	/* Single writer: a plain add, published for the balancer. */
	__atomic_store_n(&l->frames, l->frames + moved, __ATOMIC_RELAXED);
	log_limit_leave(prev);
	return moved;
}

/* Whether some running guest rx queue of the lane has buffers posted. */
static bool relay_rx_room(const struct relay_lane *l)
{
	unsigned int i;

	for (i = 0; i < l->nrx_ready; i++)
		if (vq_has_avail(&l->r->dev.vq[VQ_RX(l->rx_ready[i])].vr))
			return true;
	return false;
}

/* The lane's rx ports with frames waiting, when one of its guest rx queues
 * has room.
 */
static uint32_t relay_rx_ready_ports(const struct relay_lane *l)
{
	uint32_t rx = 0, ports = l->ports;

	if (!l->nrx_ready || !relay_rx_room(l))
		return 0;
	while (ports) {
		unsigned int i = __builtin_ctz(ports);

		ports &= ports - 1;
		if (xsk_port_rx_ready(l->r->port[i].xsk))
			rx |= 1u << i;
	}
	return rx;
}

/* The loop's busy-poll (uloop_poller): run the directions that can move a
 * frame right now. Finding nothing reads ring indices only, so a spinning
 * relay writes nothing the guest or the kernel is reading.
 */
static unsigned int relay_poll(struct uloop_poller *pl)
{
	struct relay_lane *l = container_of(pl, struct relay_lane, poller);
	uint32_t rx = relay_rx_ready_ports(l), tx = 0, qps = l->qps;

	if (l->kick_asked)
		relay_kicks_off(l);
	while (qps) {
		unsigned int i = __builtin_ctz(qps);
		struct virtqueue *vr = relay_vring(l->r, VQ_TX(i));

		qps &= qps - 1;
		if (vr && (vq_has_avail(vr) || l->r->txq[i].tso_busy))
			tx |= 1u << i;
	}
	if (!(rx | tx))
		return 0;
	return relay_run(l, rx, tx);
}

/* Socket busy polling, on only while the loop busy-polls: then each
 * sendto() first takes what the VF received, in a batch (see vf_napi.c);
 * at low load it would add a NAPI run to every frame's syscall instead.
 */
static void relay_xsk_busy(struct relay_lane *l, bool on)
{
	unsigned int us = on ? uloop_busy_poll_us(l->loop) : 0;
	struct relay *r = l->r;
	uint32_t ports;
	int err = 0;

	if (!l->xsk_busy_ok || l->xsk_busy == on)
		return;
	for (ports = l->ports; ports && !err; ports &= ports - 1)
		err = xsk_port_set_busy_poll(r->port[__builtin_ctz(ports)].xsk, us,
					     RELAY_BUSY_POLL_BUDGET);
	l->xsk_busy = on;
	if (!err)
		return;
	pr_warn("%s: AF_XDP socket busy polling unavailable (%s): polling without it",
		r->cfg.name, strerror(-err));
	/* Best effort: the sockets set before the failure go back too. */
	for (ports = l->ports; ports; ports &= ports - 1)
		xsk_port_set_busy_poll(r->port[__builtin_ctz(ports)].xsk, 0,
				       RELAY_BUSY_POLL_BUDGET);
	l->xsk_busy = false;
	l->xsk_busy_ok = false;
}

static void relay_busy(struct uloop_poller *pl)
{
	relay_xsk_busy(container_of(pl, struct relay_lane, poller), true);
}

/* Ask for the kicks relay_want_kick() put off. Returns the rings the guest
 * posted to meanwhile, which must be run rather than waited for.
 */
static uint64_t relay_kicks_on(struct relay_lane *l)
{
	uint64_t want = l->kick_wanted, run = 0;

	l->kick_wanted = 0;
	while (want) {
		unsigned int q = __builtin_ctzll(want);
		struct virtqueue *vr = relay_vring(l->r, q);

		want &= want - 1;
		if (!vr)
			continue;
		l->kick_asked |= 1ull << q;
		if (vq_notify_enable(vr))
			run |= 1ull << q;
	}
	return run;
}

/* The loop is about to sleep: ask for the kicks relay_want_kick() put off;
 * a ring the guest posted to meanwhile is run instead.
 */
static void relay_idle(struct uloop_poller *pl)
{
	struct relay_lane *l = container_of(pl, struct relay_lane, poller);
	struct log_limit *prev = log_limit_enter(&l->loglim);
	uint64_t run = relay_kicks_on(l);

	relay_xsk_busy(l, false);
	while (run) {
		unsigned int q = __builtin_ctzll(run);

		run &= run - 1;
		if (VQ_IS_RX(q))
			l->rx_more |= l->ports;
		else
			l->tx_more |= 1u << (q / 2);
		uloop_defer(l->loop, &l->work);
	}
	relay_check_fault(l);
	log_limit_leave(prev);
}

static void relay_on_work(struct uloop_work *w)
{
	struct relay_lane *l = container_of(w, struct relay_lane, work);
	/* The XSK polls are lazy (disarmed while the loop is busy): look at
	 * every port, not only those left at their budget.
	 */
	uint32_t rx = l->rx_more | relay_rx_ready_ports(l), tx = l->tx_more;

	l->rx_more = l->tx_more = 0;
	relay_run(l, rx, tx);
}

static void relay_on_xsk(struct uloop_src *s, int res)
{
	struct relay_src *p = container_of(s, struct relay_src, src);

	(void)res;
	relay_run(p->lane, 1u << p->idx, 0);
}

/* A kick fd that does not read like an eventfd (end of file, an error):
 * re-armed, it would fire again at once for ever and spin the worker. Stop
 * the ring until the frontend starts it again, with a new kick fd.
 */
static void relay_kick_failed(struct relay_lane *l, unsigned int q, int res)
{
	struct relay *r = l->r;
	struct log_limit *prev = log_limit_enter(&l->loglim);

	uloop_del(l->loop, &l->srcs->kick[q].src);
	vq_set_broken(&r->dev.vq[q].vr);
	l->broken_logged |= 1ull << q;
	relay_update_rx_ready(l);
	pr_err("%s: %s queue %u: reading its kick fd: %s; queue stopped until the frontend sets it up again",
	       r->cfg.name, VQ_IS_RX(q) ? "rx" : "tx", q / 2,
	       res < 0 ? strerror(-res) : res ? "short read (not an eventfd)" :
	       "end of file (not an eventfd)");
	log_limit_leave(prev);
}

static void relay_on_kick(struct uloop_src *s, int res)
{
	struct relay_src *k = container_of(s, struct relay_src, src);
	struct relay_lane *l = k->lane;

	if (l->paused)
		return;	/* the ring may be changing; resuming runs it */
	if (res != sizeof(k->src.val)) {
		relay_kick_failed(l, k->idx, res);
		return;
	}
	/* New rx buffers may unblock any of the lane's VF queues (flow
	 * spreading).
	 */
	if (VQ_IS_RX(k->idx)) {
		relay_rx_resume(l, l->ports);
		relay_run(l, l->ports, 0);
	} else {
		relay_run(l, 0, 1u << (k->idx / 2));
	}
}

/* Lanes -------------------------------------------------------------------- */

/* The lane serving vring @q. */
static struct relay_lane *relay_vring_lane(struct relay *r, unsigned int q)
{
	unsigned int i;

	for (i = 0; i < r->nlanes; i++)
		if (r->lane[i]->qps & (1u << (q / 2)))
			return r->lane[i];
	return NULL;
}

/* On the lane's thread, once it is attached and not paused: take in what
 * the home thread changed (rings started or stopped, kick fds, memory) and
 * run everything, as after any event: frames may wait on every ring.
 */
static void relay_lane_sync(struct relay_lane *l)
{
	struct relay *r = l->r;
	uint32_t qps = l->qps, ports = l->ports;

	l->paused = false;
	l->vf_mtu_read_ns = 0;	/* the guest's MTU may have changed: read again */
	relay_update_rx_ready(l);
	while (qps) {
		unsigned int qp = __builtin_ctz(qps), k;

		qps &= qps - 1;
		for (k = 0; k < 2; k++) {
			unsigned int q = 2 * qp + k;
			struct vhost_vring *vq = &r->dev.vq[q];
			struct uloop_src *kick = &l->srcs->kick[q].src;
			bool changed = l->changed & (1ull << q);

			if (!vhost_vring_ready(vq) || vq->kickfd < 0) {
				uloop_del(l->loop, kick);
				/* The guest reset the queue: a TSO frame's rest goes. */
				if (!VQ_IS_RX(q))
					r->txq[qp].tso_busy = false;
				continue;
			}
			if (!kick->active || kick->fd != vq->kickfd) {
				uloop_add_read(l->loop, kick, vq->kickfd, NULL, 0, relay_on_kick);
				if (changed)
					pr_info("%s: %s queue %u running: %u entries, %s ring%s%s%s%s%s (worker %u)",
						r->cfg.name, VQ_IS_RX(q) ? "rx" : "tx", qp, vq->num,
						vq->vr.packed ? "packed" : "split",
						vhost_dev_has_feature(&r->dev, VIRTIO_NET_F_MRG_RXBUF) ?
							", mrg_rxbuf" : "",
						vhost_dev_has_feature(&r->dev, VIRTIO_RING_F_EVENT_IDX) ?
							", event_idx" : "",
						vhost_dev_has_feature(&r->dev, VIRTIO_RING_F_INDIRECT_DESC) ?
							", indirect" : "",
						vhost_dev_has_feature(&r->dev, VQ_IS_RX(q) ? VIRTIO_NET_F_GUEST_CSUM :
								      VIRTIO_NET_F_CSUM) ? ", csum" : "",
						vhost_dev_has_feature(&r->dev, VQ_IS_RX(q) ? VIRTIO_NET_F_GUEST_TSO4 :
								      VIRTIO_NET_F_HOST_TSO4) ? ", tso" : "",
						l->host->id);
			}
			if (!changed)
				continue;
			l->broken_logged &= ~(1ull << q);
			/* The guest may have queued work before the ring ran,
			 * and with event_idx it kicks only if we asked: ask,
			 * then look (below).
			 */
			l->kick_asked |= 1ull << q;
			vq_notify_enable(&vq->vr);
		}
	}
	l->changed = 0;
	/* Ports paused for want of guest buffers listen again: the rings
	 * may have changed under them (a stopped ring's frames are dropped,
	 * a new one has buffers). Others are watched again if they were not.
	 */
	relay_rx_resume(l, l->rx_paused);
	while (ports) {
		unsigned int i = __builtin_ctz(ports);
		struct uloop_src *src = &l->srcs->port[i].src;

		ports &= ports - 1;
		if (!src->active)
			uloop_add_poll_lazy(l->loop, src, xsk_port_fd(r->port[i].xsk), POLLIN,
					    relay_on_xsk);
	}
	if (!l->polling)
		uloop_add_poller(l->loop, &l->poller);
	l->polling = true;
	l->rx_more |= l->ports;
	l->tx_more |= l->qps;
	uloop_defer(l->loop, &l->work);
}

/* On the lane's thread: stop running until relay_lane_sync(). What the
 * guest posts meanwhile waits on its rings, what the VF receives on the
 * XSK rings; a kick that comes is dropped (the sync runs every ring).
 */
static void relay_lane_pause(struct relay_lane *l)
{
	uint32_t ports = l->ports;

	if (l->paused)
		return;
	/* Notifications put off while busy polling are asked for now: the
	 * ring may change hands, and it must not stay silent.
	 */
	relay_kicks_on(l);
	relay_xsk_busy(l, false);
	while (ports) {
		unsigned int i = __builtin_ctz(ports);

		ports &= ports - 1;
		if (!(l->rx_paused & (1u << i)))
			uloop_del(l->loop, &l->srcs->port[i].src);
	}
	uloop_del_poller(l->loop, &l->poller);
	l->polling = false;
	uloop_undefer(l->loop, &l->work);
	l->paused = true;
}

/* On the lane's thread: leave its loop for good or for another one. Its
 * sources stay with this loop until their last completions are in.
 */
static void relay_lane_detach(struct relay_lane *l)
{
	unsigned int q;

	if (!l->loop)
		return;
	relay_lane_pause(l);
	for (q = 0; q < VHOST_DEV_MAX_VRINGS; q++)
		uloop_del(l->loop, &l->srcs->kick[q].src);
	/* Paused ports' sources are deleted already. */
	uloop_free_later(l->loop, free, l->srcs);
	if (l->r->cfg.poll_busy)
		uloop_hold_busy(l->loop, false);
	l->srcs = NULL;
	l->loop = NULL;
}

/* On the new loop's thread: take @srcs (fresh) and run there. */
static void relay_lane_attach(struct relay_lane *l, struct relay_host *h,
			      struct relay_srcs *srcs)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(srcs->port); i++) {
		srcs->port[i].lane = l;
		srcs->port[i].idx = i;
	}
	for (i = 0; i < ARRAY_SIZE(srcs->kick); i++) {
		srcs->kick[i].lane = l;
		srcs->kick[i].idx = i;
	}
	l->srcs = srcs;
	l->loop = h->loop;
	l->paused = true;
	/* poll=busy: the loop the lane runs on never sleeps while it is there. */
	if (l->r->cfg.poll_busy)
		uloop_hold_busy(l->loop, true);
	l->faults_seen = fault_guard_count();
	/* Ports paused for want of guest buffers come back with the sync,
	 * on their new sources.
	 */
	relay_lane_sync(l);
}

/* A call run on a lane's thread (its loop's mailbox), or right here when
 * the lane is on the home thread or on no loop at all.
 */
struct lane_call {
	struct mbox_msg msg;
	struct relay_lane *l;
	struct relay_host *to;
	struct relay_srcs *srcs;
	struct relay_stats *st;
};

static int lane_do_pause(struct mbox_msg *m)
{
	relay_lane_pause(container_of(m, struct lane_call, msg)->l);
	return 0;
}

static int lane_do_sync(struct mbox_msg *m)
{
	relay_lane_sync(container_of(m, struct lane_call, msg)->l);
	return 0;
}

static int lane_do_detach(struct mbox_msg *m)
{
	relay_lane_detach(container_of(m, struct lane_call, msg)->l);
	return 0;
}

static int lane_do_attach(struct mbox_msg *m)
{
	struct lane_call *c = container_of(m, struct lane_call, msg);

	relay_lane_attach(c->l, c->to, c->srcs);
	return 0;
}

static void relay_lane_read_stats(struct relay_lane *l, struct relay_stats *st);

static int lane_do_stats(struct mbox_msg *m)
{
	struct lane_call *c = container_of(m, struct lane_call, msg);

	relay_lane_read_stats(c->l, c->st);
	return 0;
}

/* Run @fn for lane @l (see struct lane_call), on the home thread. Where the
 * lane runs on another loop, this waits for that loop's thread, which
 * takes the call between two rounds of its events.
 */
static int lane_call(struct relay_lane *l, int (*fn)(struct mbox_msg *m),
		     struct lane_call *c)
{
	struct relay_host *h = l->host, *home = l->r->home;

	c->msg.fn = fn;
	c->l = l;
	if (!h || h == home)
		return fn(&c->msg);
	return mbox_call_from(h->mbox, &c->msg, home->mbox);
}

void relay_ctl_begin(struct relay *r)
{
	struct lane_call c = { 0 };
	unsigned int i;

	if (r->ctl_depth++)
		return;
	for (i = 0; i < r->nlanes; i++) {
		struct relay_lane *l = r->lane[i];

		if (l->host && l->host != r->home)
			lane_call(l, lane_do_pause, &c);
	}
}

void relay_ctl_end(struct relay *r)
{
	struct lane_call c = { 0 };
	unsigned int i;

	if (--r->ctl_depth)
		return;
	for (i = 0; i < r->nlanes; i++)
		if (r->lane[i]->host)
			lane_call(r->lane[i], lane_do_sync, &c);
}

unsigned int relay_nlanes(const struct relay *r)
{
	return r->nlanes;
}

uint32_t relay_lane_qps(const struct relay *r, unsigned int k)
{
	return r->lane[k]->qps;
}

uint64_t relay_lane_frames(const struct relay *r, unsigned int k)
{
	return __atomic_load_n(&r->lane[k]->frames, __ATOMIC_RELAXED);
}

const struct relay_host *relay_lane_host(const struct relay *r, unsigned int k)
{
	return r->lane[k]->host;
}

/* Lanes may run on different threads only when each has ports of its own
 * for its queue pairs' transmit (VF queue qp % nports).
 */
static bool relay_lanes_may_split(const struct relay *r)
{
	return r->nlanes == 1 || r->m[0].nports >= r->cfg.queues;
}

int relay_lane_move(struct relay *r, unsigned int k, struct relay_host *to)
{
	struct relay_lane *l = r->lane[k];
	struct relay_host *from = l->host;
	struct lane_call c = { 0 };
	int err;

	if (from == to)
		return 0;
	if (to != r->home && !relay_lanes_may_split(r))
		return -EAGAIN;		/* they share ports: all on the home thread */
	/* Before anything moves: a move cannot fail half way. */
	c.srcs = calloc(1, sizeof(*c.srcs));
	if (!c.srcs)
		return -ENOMEM;
	err = lane_call(l, lane_do_detach, &c);
	if (err) {
		free(c.srcs);
		return err;
	}
	l->host = to;
	c.to = to;
	err = lane_call(l, lane_do_attach, &c);
	if (!err)
		return 0;
	/* The target stopped (-ESHUTDOWN): back where it was. */
	l->host = from;
	c.to = from;
	err = lane_call(l, lane_do_attach, &c);
	if (err) {
		l->host = NULL;
		free(c.srcs);
		pr_err("%s: lane %u could not be attached again: %s", r->cfg.name, k,
		       strerror(-err));
	}
	return -EAGAIN;
}

/* Which lanes serve which ports: every port to the only lane, else VF
 * queue i to the lane of guest queue pair i mod queues.
 */
static void relay_map_ports(struct relay *r)
{
	unsigned int q = r->cfg.queues, i, k;

	for (i = 0; i < r->nlanes; i++)
		r->lane[i]->ports = 0;
	for (k = 0; k < r->nmembers; k++) {
		const struct relay_member *m = &r->m[k];

		for (i = 0; i < m->nports; i++) {
			struct relay_lane *l = r->lane[r->nlanes == 1 ? 0 : (i % q) % r->nlanes];

			l->ports |= 1u << (m->base + i);
			r->port[m->base + i].lane = l;
		}
	}
}

void relay_lanes_park(struct relay *r)
{
	struct lane_call c = { 0 };
	unsigned int i;

	for (i = 0; i < r->nlanes; i++) {
		struct relay_lane *l = r->lane[i];

		l->parked = l->host;
		if (!l->host)
			continue;
		if (lane_call(l, lane_do_detach, &c))
			pr_err("%s: lane %u: its worker is gone", r->cfg.name, i);
		l->host = NULL;
	}
}

void relay_lanes_unpark(struct relay *r)
{
	bool split = relay_lanes_may_split(r);
	unsigned int i;

	relay_map_ports(r);
	for (i = 0; i < r->nlanes; i++) {
		struct relay_lane *l = r->lane[i];
		struct lane_call c = { 0 };

		if (!l->parked)
			continue;
		l->rx_paused &= l->ports;
		l->rx_more &= l->ports;
		l->xsk_busy_ok = r->napi.active;
		l->vf_max_frame = 0;	/* read again when a frame needs it */
		c.srcs = calloc(1, sizeof(*c.srcs));
		c.to = split ? l->parked : r->home;
		if (c.srcs) {
			l->host = c.to;
			if (!lane_call(l, lane_do_attach, &c))
				continue;
			l->host = NULL;
			if (c.to != r->home) {
				/* Its worker stopped: home instead. */
				c.to = l->host = r->home;
				if (!lane_call(l, lane_do_attach, &c))
					continue;
				l->host = NULL;
			}
			free(c.srcs);
		}
		pr_err("%s: lane %u could not be attached again", r->cfg.name, i);
	}
}

/* Which lanes a relay has: a lane per queue pair when the VF has a queue
 * for each (VF queue i feeds guest queue i mod queues), so that they can
 * run on different workers; else one with everything (frames spread over
 * the guest's queues by flow hash, guest tx queues sharing VF queues).
 */
static int relay_make_lanes(struct relay *r, unsigned int nlanes)
{
	unsigned int q = r->cfg.queues, i, k;

	/* A bond's members share the guest's queues: one lane. */
	if (nlanes > 1 && (q < 2 || r->m[0].nports < q || r->nmembers > 1))
		nlanes = 1;
	if (nlanes > q)
		nlanes = q;
	/* Queue pair k goes to lane k mod nlanes. */
	for (k = 0; k < nlanes; k++) {
		struct relay_lane *l = calloc(1, sizeof(*l));

		if (!l)
			return -ENOMEM;
		l->r = r;
		l->id = k;
		log_limit_init(&l->loglim, r->cfg.name);
		l->work.fn = relay_on_work;
		l->poller.fn = relay_poll;
		l->poller.idle = relay_idle;
		l->poller.busy = relay_busy;
		r->lane[r->nlanes++] = l;
	}
	for (i = 0; i < q; i++)
		r->lane[i % nlanes]->qps |= 1u << i;
	relay_map_ports(r);
	return 0;
}

/* Queue pair 0 runs: the guest's driver is up (a boot), or QEMU started
 * the device (a resume, the destination of a migration).
 */
static void relay_note_running(struct relay *r)
{
	const struct vhost_vring *rx = &r->dev.vq[0], *tx = &r->dev.vq[1];
	bool running = vhost_vring_ready(rx) && rx->kickfd >= 0 &&
		       vhost_vring_ready(tx) && tx->kickfd >= 0;

	if (running == r->rings_running)
		return;
	r->rings_running = running;
	relay_post(r, running ? RELAY_EV_RINGS_RUNNING : RELAY_EV_RINGS_STOPPED);
}

static void relay_vring_changed(struct vhost_dev *d, unsigned int q)
{
	struct relay *r = d->priv;
	struct relay_lane *l = relay_vring_lane(r, q);

	relay_note_running(r);
	/* The lane takes it in at relay_ctl_end(), paused until then if it
	 * runs elsewhere; one on this thread does not run meanwhile either.
	 */
	if (l)
		l->changed |= 1ull << q;
}

static void relay_mem_changing(struct vhost_dev *d)
{
	/* Lanes are paused (or on this thread) while a message is handled,
	 * and rings are re-validated by vhost_dev before they run again.
	 */
	(void)d;
}

/* NET_SET_MTU (QEMU's host_mtu=N): the guest will send frames of up to N
 * bytes plus headers. Refuse an MTU the VF or the AF_XDP sockets cannot
 * carry, so QEMU says so at start-up instead of the guest's big frames
 * being dropped later. A bond's guest sends out of either member in turn:
 * each must carry it.
 */
static int relay_set_mtu(struct vhost_dev *d, uint16_t mtu)
{
	struct relay *r = d->priv;
	uint32_t need = (uint32_t)mtu + ETH_HLEN + VLAN_HLEN, xsk_max = UINT32_MAX;
	const char *vf_min = r->m[0].vf;
	int vf, min = INT_MAX;
	unsigned int i;

	for (i = 0; i < RELAY_MAX_PORTS; i++)
		if (r->port[i].xsk && xsk_port_max_frame(r->port[i].xsk) < xsk_max)
			xsk_max = xsk_port_max_frame(r->port[i].xsk);
	for (i = 0; i < r->nmembers; i++) {
		vf = vf_mtu(r->m[i].vf);
		if (vf < 0) {
			pr_err("%s: refusing guest MTU %u: cannot read the MTU of vf %s: %s",
			       r->cfg.name, mtu, r->m[i].vf, strerror(-vf));
			return vf;
		}
		if (vf < min) {
			min = vf;
			vf_min = r->m[i].vf;
		}
	}
	if (mtu > min) {
		pr_err("%s: refusing guest MTU %u: vf %s has MTU %d",
		       r->cfg.name, mtu, vf_min, min);
		return -EINVAL;
	}
	if (need > xsk_max) {
		pr_err("%s: refusing guest MTU %u: AF_XDP on vf %s carries frames of up to %u bytes (no multi-buffer), the guest's need %u",
		       r->cfg.name, mtu, r->vfs, xsk_max, need);
		return -EMSGSIZE;
	}
	pr_notice("%s: guest MTU %u (vf %s MTU %d, AF_XDP frames up to %u bytes)",
		  r->cfg.name, mtu, vf_min, min, xsk_max);
	return 0;
}

/* On the active member's first queue, whose lane is paused (during a
 * message, relay_do()) or parked (a bond's switch, relay_vf.c) and runs
 * everything when it resumes.
 */
int relay_announce(struct relay *r, const uint8_t mac[6])
{
	struct relay_member *m = r->active;
	struct xsk_port *port;
	struct xsk_pkt pkt;
	int len;

	if (r->vf_paused || !m->nports) {
		pr_warn("%s: vf %s is down or gone: no RARP announcement", r->cfg.name,
			m->vf);
		return -ENETDOWN;
	}
	port = r->port[m->base].xsk;
	if (xsk_port_tx_alloc(port, &pkt, 1) != 1) {
		pr_warn("%s: no tx buffer for the RARP announcement", r->cfg.name);
		return -ENOBUFS;
	}
	len = rarp_build(pkt.data, xsk_port_frame_room(port), mac);
	pkt.len = len > 0 ? len : 0;
	pkt.more = false;
	xsk_port_tx_submit(port, &pkt, 1, len > 0);
	if (len > 0) {
		m->announced++;
		pr_info("%s: RARP sent for %02x:%02x:%02x:%02x:%02x:%02x on %s", r->cfg.name,
			mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], m->vf);
	}
	xsk_port_tx_pending(port);
	return len > 0 ? 0 : len;
}

/* After a migration QEMU asks us (SEND_RARP) to announce the guest's MAC so
 * switches learn its new port; guests with GUEST_ANNOUNCE do it themselves.
 */
static void relay_send_rarp(struct vhost_dev *d, const uint8_t mac[6])
{
	relay_announce(d->priv, mac);
}

/* QEMU's SEND_RARP: the guest runs here now, after a migration. */
static void relay_on_send_rarp(struct vhost_dev *d, const uint8_t mac[6])
{
	relay_send_rarp(d, mac);
	relay_post(d->priv, RELAY_EV_SEND_RARP);
}

static void relay_log_changed(struct vhost_dev *d, bool on)
{
	relay_post(d->priv, on ? RELAY_EV_LOG_ON : RELAY_EV_LOG_OFF);
}

static const char *const event_names[] = {
	[RELAY_EV_FRONTEND_UP] = "frontend-up",
	[RELAY_EV_RINGS_RUNNING] = "rings-running",
	[RELAY_EV_RINGS_STOPPED] = "rings-stopped",
	[RELAY_EV_LOG_ON] = "dirty-log-on",
	[RELAY_EV_LOG_OFF] = "dirty-log-off",
	[RELAY_EV_SEND_RARP] = "send-rarp",
	[RELAY_EV_GUEST_TX] = "guest-tx",
	[RELAY_EV_FRONTEND_GONE] = "frontend-gone",
};

const char *relay_event_name(enum relay_event_type t)
{
	return (unsigned int)t < ARRAY_SIZE(event_names) ? event_names[t] : "?";
}

void relay_post(struct relay *r, enum relay_event_type t)
{
	struct relay_event ev = { .type = t };

	if (!r->events)
		return;
	ev.at_ns = mono_ns();
	/* A full queue means the main thread is far behind: the agent
	 * re-reads the relay when it sees the count of dropped events grow.
	 */
	if (evq_post(r->events, &ev))
		uloop_signal_eventfd(r->loop, evq_fd(r->events));
}

static const char *const op_names[] = {
	[RELAY_OP_STEER_ON] = "steer-on",
	[RELAY_OP_STEER_OFF] = "steer-off",
	[RELAY_OP_ANNOUNCE] = "announce",
	[RELAY_OP_WATCH_TX] = "watch-tx",
};

const char *relay_op_name(enum relay_op op)
{
	return (unsigned int)op < ARRAY_SIZE(op_names) ? op_names[op] : "?";
}

int relay_do(struct relay *r, enum relay_op op)
{
	unsigned int i;
	int err = 0;

	switch (op) {
	case RELAY_OP_STEER_ON:
	case RELAY_OP_STEER_OFF:
		for (i = 0; i < r->nmembers && !err; i++)
			err = xdp_steer_pause(r->m[i].steer, op == RELAY_OP_STEER_OFF);
		if (!err)
			pr_info("%s: steering of its MAC %s", r->cfg.name,
				op == RELAY_OP_STEER_ON ? "on" : "off (to the host stack)");
		break;
	case RELAY_OP_ANNOUNCE:
		if (!r->cfg.has_mac)
			return -EINVAL;
		/* On port 0's tx ring, which its lane may be using elsewhere. */
		relay_ctl_begin(r);
		relay_send_rarp(&r->dev, r->cfg.mac);
		relay_ctl_end(r);
		break;
	case RELAY_OP_WATCH_TX:
		r->watch_tx = true;
		break;
	default:
		return -EINVAL;
	}
	return err;
}

static const struct vhost_dev_ops relay_dev_ops = {
	.send_rarp = relay_on_send_rarp,
	.log_changed = relay_log_changed,
	.vring_changed = relay_vring_changed,
	.mem_changing = relay_mem_changing,
	.set_mtu = relay_set_mtu,
};

unsigned int vf_rx_queues(const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr = { .ifr_data = (void *)&ch };
	unsigned int n = 1;
	int fd;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 1;
	if (!ioctl(fd, SIOCETHTOOL, &ifr) && ch.rx_count + ch.combined_count > 0)
		n = ch.rx_count + ch.combined_count;
	close(fd);
	return n;
}

/* With the lanes detached (relay_vf.c): their sources are gone from
 * every loop, and the lanes take in the ports left when they attach again.
 */
void relay_trim_ports(struct relay *r, struct relay_member *m, unsigned int n)
{
	uint32_t keep = ~0u;
	unsigned int i;

	for (i = n; i < m->max; i++)
		keep &= ~(1u << (m->base + i));
	while (m->nports > n) {
		struct relay_port *p = &r->port[m->base + --m->nports];

		xsk_port_close(p->xsk);
		p->xsk = NULL;
	}
	/* Nothing may run a port that is gone (a deferred round). */
	for (i = 0; i < r->nlanes; i++) {
		r->lane[i]->ports &= keep;
		r->lane[i]->rx_paused &= keep;
		r->lane[i]->rx_more &= keep;
	}
}

void relay_close_ports(struct relay *r)
{
	unsigned int k;

	for (k = 0; k < r->nmembers; k++)
		relay_trim_ports(r, &r->m[k], 0);
}

/* An AF_XDP socket on every VF rx queue: frames on a queue without one
 * would pass to the host stack. Queues that have one already keep it.
 * The lanes register them with their loops.
 */
int relay_open_ports(struct relay *r, struct relay_member *m, bool quiet)
{
	const struct relay_cfg *cfg = &r->cfg;
	unsigned int vfq = vf_rx_queues(m->vf), i;
	int err;

	if (vfq > m->max) {
		pr_err("%s: vf %s has %u rx queues; at most %u are supported%s (ethtool -L %s combined N)",
		       cfg->name, m->vf, vfq, m->max, r->nmembers > 1 ? " in a bond" : "", m->vf);
		return -E2BIG;
	}
	for (i = m->nports; i < vfq; i++) {
		struct relay_port *p = &r->port[m->base + i];

		p->idx = m->base + i;
		p->vfq = i;
		p->m = m;
		err = xsk_port_open(&p->xsk, m->vf, i, xdp_steer_xskmap_fd(m->steer),
				    cfg->xsk_mode);
		if (err)
			goto err;
		m->nports++;
	}
	if (vfq != cfg->queues && !quiet)
		pr_notice("%s: vf %s has %u rx queue%s for %u guest queue pair%s: frames are spread by flow hash",
			  cfg->name, m->vf, vfq, vfq == 1 ? "" : "s", cfg->queues,
			  cfg->queues == 1 ? "" : "s");
	return 0;
err:
	relay_trim_ports(r, m, 0);
	return err;
}

/* With busy polling on, have the VF defer its NAPI so that the relay's
 * socket busy polling can batch its receive; the operator's own setting
 * wins, napi-defer=0 leaves the VF alone.
 */
void relay_napi_setup(struct relay *r, bool quiet)
{
	char pin[sizeof(r->napi.pin)];
	int n, err;

	if (!uloop_busy_poll_us(r->loop))
		return;
	n = snprintf(pin, sizeof(pin), "%s/%s/vf_napi", VXDP_PIN_ROOT, r->cfg.name);
	if (n < 0 || (size_t)n >= sizeof(pin))
		return;
	err = vf_napi_apply(&r->napi, r->cfg.vf, pin, r->cfg.napi_defer,
			    r->cfg.napi_timeout_us);
	if (err) {
		log_msg(quiet ? LOG_INFO : LOG_WARNING,
			"%s: %s: no NAPI deferral (%s): busy polling without it",
			r->cfg.name, r->cfg.vf, strerror(-err));
		return;
	}
	if (r->napi.active && !quiet)
		pr_notice("%s: %s NAPI deferral %lu x %lu us for busy polling (%s)",
			  r->cfg.name, r->cfg.vf, r->napi.defer, r->napi.timeout_ns / 1000,
			  r->napi.changed ? "set now, put back at exit" : "the VF's own");
}

static void relay_free_gso(struct relay *r)
{
	unsigned int q;

	for (q = 0; q < VHOST_DEV_MAX_QUEUE_PAIRS; q++) {
		if (r->txq[q].gso_buf)
			munmap(r->txq[q].gso_buf, VIRTIO_NET_GSO_MAX_FRAME);
		r->txq[q].gso_buf = NULL;
	}
}

static const char *const relay_offloads_name[] = {
	[RELAY_OFFLOADS_ON] = "checksums and TSO",
	[RELAY_OFFLOADS_CSUM] = "checksums",
	[RELAY_OFFLOADS_OFF] = "none",
};

static void relay_close_members(struct relay *r);

/* The pin directory of member @k: the relay's name, and NAME+b for a
 * bond's second member.
 */
static void relay_member_pin_name(const struct relay *r, unsigned int k, char *buf,
				  size_t len)
{
	snprintf(buf, len, k ? "%s+b" : "%s", r->cfg.name);
}

/* Steering and AF_XDP sockets on every member. Like a single VF, each
 * must exist when the relay opens; after that either may go and come back
 * (relay_vf.c). 0 or a negative errno (logged), nothing left behind.
 */
static int relay_open_members(struct relay *r)
{
	const struct relay_cfg *cfg = &r->cfg;
	unsigned int k;
	int err = 0;

	r->nmembers = relay_cfg_bond(cfg) ? 2 : 1;
	relay_cfg_vfs(cfg, r->vfs, sizeof(r->vfs));
	for (k = 0; k < r->nmembers; k++) {
		struct relay_member *m = &r->m[k];
		char pin[RELAY_NAME_MAX + 4];

		m->vf = k ? cfg->vf2 : cfg->vf;
		m->base = k ? RELAY_BOND_BASE : 0;
		m->max = r->nmembers > 1 ? RELAY_BOND_BASE : RELAY_MAX_PORTS;
		relay_member_pin_name(r, k, pin, sizeof(pin));
		err = xdp_steer_open(&m->steer, pin, m->vf, cfg->has_mac ? cfg->mac : NULL,
				     cfg->xdp_mode);
		if (err)
			break;
		err = relay_open_ports(r, m, false);
		if (err)
			break;
	}
	r->active = &r->m[0];
	if (err)
		relay_close_members(r);
	return err;
}

/* Detach XDP first, so the VFs stop redirecting into closing sockets. */
static void relay_close_members(struct relay *r)
{
	unsigned int k;

	for (k = 0; k < r->nmembers; k++) {
		xdp_steer_close(r->m[k].steer);
		r->m[k].steer = NULL;
	}
	relay_close_ports(r);
}

static void relay_free(void *p)
{
	struct relay *r = p;
	unsigned int i;

	for (i = 0; i < r->nlanes; i++)
		free(r->lane[i]);
	free(r);
}

/* Every lane off its loop, and back with no loop: on the home thread. */
static void relay_detach_lanes(struct relay *r)
{
	struct lane_call c = { 0 };
	unsigned int i;

	for (i = 0; i < r->nlanes; i++) {
		struct relay_lane *l = r->lane[i];

		if (!l->host)
			continue;
		if (lane_call(l, lane_do_detach, &c))
			pr_err("%s: lane %u: its worker is gone", r->cfg.name, i);
		l->host = NULL;
	}
}

int relay_open(struct relay **rp, const struct relay_cfg *cfg,
	       struct relay_host *home, unsigned int nlanes, struct evq *events)
{
	uint64_t features = relay_features;
	struct relay *r;
	unsigned int i, q;
	int err;

	*rp = NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		pr_err("%s: out of memory", cfg->name);
		return -ENOMEM;
	}
	r->cfg = *cfg;
	r->home = home;
	r->loop = home->loop;
	r->events = events;
	r->listen_fd = -1;
	r->conn_fd = -1;
	r->timer_fd = -1;
	r->fault_efd = -1;
	/* What its frontend makes it log (relay_conn.c); each lane has its
	 * own budget for what its guest makes the datapath log.
	 */
	log_limit_init(&r->loglim, r->cfg.name);
	/* QEMU handles the control queue and MQ itself (GET_QUEUE_NUM);
	 * DPDK's virtio-user wants the feature bit from us.
	 */
	if (cfg->queues > 1)
		features |= 1ull << VIRTIO_NET_F_MQ;
	if (cfg->offloads != RELAY_OFFLOADS_OFF)
		features |= relay_csum_features;
	if (cfg->offloads == RELAY_OFFLOADS_ON) {
		features |= relay_tso_features;
		/* Where each queue pair's TSO frames are cut: mapped here,
		 * so the datapath never allocates, and resident only once a
		 * guest sends TSO frames (an idle relay keeps its footprint).
		 */
		for (q = 0; q < cfg->queues; q++) {
			void *p = mmap(NULL, VIRTIO_NET_GSO_MAX_FRAME, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED) {
				pr_err("%s: out of memory", cfg->name);
				relay_free_gso(r);
				free(r);
				return -ENOMEM;
			}
			r->txq[q].gso_buf = p;
		}
	}
	vhost_dev_init(&r->dev, r->cfg.name, features, relay_protocol_features,
		       &relay_dev_ops, r);
	r->dev.queue_pairs = cfg->queues;
	guest_mem_set_limit(&r->dev.mem, cfg->mem_max, "the relay's mem-max");

	err = relay_open_members(r);
	if (err)
		goto err_free;
	relay_vf_init(r);
	err = relay_make_lanes(r, nlanes);
	if (err)
		goto err_ports;
	pr_notice("%s: vf %s, %u queue pair%s (AF_XDP %s), vhost-user %s %s%s, offloads: %s, poll: %s",
		  cfg->name, r->vfs, cfg->queues, cfg->queues == 1 ? "" : "s",
		  xsk_port_zerocopy(r->port[0].xsk) ? "zero-copy" : "copy mode",
		  cfg->client ? "client of" : "server on", cfg->socket,
		  cfg->has_mac ? ", MAC steering on" : "", relay_offloads_name[cfg->offloads],
		  cfg->poll_busy ? "busy" : "adaptive");
	relay_napi_setup(r, false);
	r->fault_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->fault_efd < 0) {
		err = -errno;
		goto err_napi;
	}
	err = uloop_add_read(r->loop, &r->fault_src, r->fault_efd, NULL, 0, relay_on_fault);
	if (err)
		goto err_napi;
	/* Every lane on the home thread to start with; the daemon moves them
	 * where they should run.
	 */
	for (i = 0; i < r->nlanes; i++) {
		struct relay_srcs *srcs = calloc(1, sizeof(*srcs));

		if (!srcs) {
			err = -ENOMEM;
			goto err_lanes;
		}
		r->lane[i]->xsk_busy_ok = r->napi.active;
		r->lane[i]->host = home;
		relay_lane_attach(r->lane[i], home, srcs);
	}
	err = relay_conn_open(r);
	if (err)
		goto err_lanes;
	*rp = r;
	return 0;

err_lanes:
	relay_detach_lanes(r);
	uloop_del(r->loop, &r->fault_src);
err_napi:
	if (r->fault_efd >= 0)
		close(r->fault_efd);
	vf_napi_restore(&r->napi);
err_ports:
	relay_close_members(r);
err_free:
	relay_free_gso(r);
	/* Sources may have been registered with the loop, and deleted. */
	uloop_free_later(home->loop, relay_free, r);
	return err;
}

const struct relay_cfg *relay_get_cfg(const struct relay *r)
{
	return &r->cfg;
}

void relay_frame_totals(const struct relay *r, uint64_t *to_guest,
			uint64_t *from_guest)
{
	unsigned int i;

	*to_guest = *from_guest = 0;
	for (i = 0; i < RELAY_MAX_PORTS; i++) {
		*to_guest += r->qc[i].to_guest;
		*from_guest += r->qc[i].from_guest;
	}
}

void relay_queue_stats_add(struct relay_queue_stats *dst,
			   const struct relay_queue_stats *src)
{
	uint64_t *d = (uint64_t *)dst;
	const uint64_t *s = (const uint64_t *)src;
	size_t i;

	_Static_assert(sizeof(*dst) % sizeof(uint64_t) == 0, "relay_queue_stats: u64s only");
	for (i = 0; i < sizeof(*dst) / sizeof(uint64_t); i++)
		d[i] += s[i];
}

/* Lane @l's queues into @st, on its thread: queue i is its own when it
 * serves VF queue i or guest queue pair i (both, for a split relay).
 */
static void relay_lane_read_stats(struct relay_lane *l, struct relay_stats *st)
{
	struct relay *r = l->r;
	unsigned int i;

	for (i = 0; i < RELAY_MAX_QUEUES; i++) {
		const struct relay_qcount *c = &r->qc[i];
		struct relay_queue_stats *q = &st->q[i];

		if (!((l->ports | l->qps) & (1u << i)))
			continue;
		q->to_guest = c->to_guest;
		q->to_guest_bytes = c->to_guest_bytes;
		q->from_guest = c->from_guest;
		q->from_guest_bytes = c->from_guest_bytes;
		q->drop_no_guest = c->drop_no_guest;
		q->drop_no_buffer = c->drop_no_buffer;
		q->drop_too_big = c->drop_too_big;
		q->drop_bad_frame = c->drop_bad_frame;
		q->drop_broken_ring = c->drop_broken_ring;
		q->drop_vf_down = c->drop_vf_down;
		if (r->port[i].xsk && (l->ports & (1u << i))) {
			struct xsk_port_stats ks;
			struct relay_member_stats *ms = &st->member[r->port[i].m - r->m];

			ms->rx_frames += c->to_guest;
			ms->tx_frames += r->port[i].tx_frames;

			xsk_port_read_stats(r->port[i].xsk, &ks);
			q->xsk_rx_dropped = ks.rx_dropped + xsk_port_rx_dropped(r->port[i].xsk);
			q->xsk_rx_ring_full = ks.rx_ring_full;
			q->xsk_fill_ring_empty = ks.fill_ring_empty;
			q->xsk_invalid = ks.invalid;
			/* A pause still going on: its drops so far. */
			if (l->rx_paused & (1u << i))
				q->drop_no_buffer += ks.rx_ring_full + ks.rx_dropped -
						     r->port[i].nobuf_base;
		}
	}
}

void relay_read_stats(struct relay *r, struct relay_stats *st)
{
	struct lane_call c = { .st = st };
	unsigned int i;

	memset(st, 0, sizeof(*st));
	st->nqueues = r->m[0].nports > r->cfg.queues ? r->m[0].nports : r->cfg.queues;
	st->vf_queues = r->m[0].nports;
	st->zerocopy = r->m[0].nports && xsk_port_zerocopy(r->port[0].xsk);
	st->connects = r->st.connects;
	st->refused = r->st.refused;
	st->connected = r->conn_fd >= 0;
	st->running = r->rings_running;
	st->logging = st->connected && vhost_dev_has_feature(&r->dev, VHOST_F_LOG_ALL);
	st->steer_paused = xdp_steer_paused(r->m[0].steer);
	st->nmembers = r->nmembers > 1 ? r->nmembers : 0;
	st->switches = r->switches;
	for (i = 0; i < r->nmembers; i++) {
		struct relay_member_stats *ms = &st->member[i];
		struct xdp_steer_stats xs;

		xdp_steer_read_stats(r->m[i].steer, &xs);
		st->xdp.redirected += xs.redirected;
		st->xdp.redirected_bytes += xs.redirected_bytes;
		st->xdp.passed += xs.passed;
		st->xdp.passed_bytes += xs.passed_bytes;
		st->xdp.dropped += xs.dropped;
		st->xdp.dropped_bytes += xs.dropped_bytes;
		snprintf(ms->vf, sizeof(ms->vf), "%s", r->m[i].vf);
		ms->active = r->active == &r->m[i];
		ms->running = !r->m[i].paused;
		ms->queues = r->m[i].nports;
		ms->activations = r->m[i].activations;
		ms->announced = r->m[i].announced;
		ms->xdp_passed = xs.passed;
	}
	for (i = 0; i < r->nlanes; i++)
		lane_call(r->lane[i], lane_do_stats, &c);
	/* A bond's second member's queues are counted in the total only. */
	for (i = 0; i < RELAY_MAX_QUEUES; i++)
		relay_queue_stats_add(&st->total, &st->q[i]);
}

/* The offload work of every lane, once the lanes are detached; and what
 * their log budgets held back.
 */
static void relay_log_offloads(struct relay *r)
{
	struct virtio_net_offload_stats o = { 0 };
	unsigned int i;

	for (i = 0; i < r->nlanes; i++) {
		const struct virtio_net_offload_stats *l = &r->lane[i]->off;

		o.rx_csum_valid += l->rx_csum_valid;
		o.rx_gro_frames += l->rx_gro_frames;
		o.rx_gro_segs += l->rx_gro_segs;
		o.tx_csum += l->tx_csum;
		o.tx_tso_frames += l->tx_tso_frames;
		o.tx_tso_segs += l->tx_tso_segs;
		o.tx_bad_hdr += l->tx_bad_hdr;
		log_limit_flush(&r->lane[i]->loglim, true);
	}
	pr_notice("%s: offloads: to guest %llu checksums verified, %llu joined frames of %llu segments; "
		  "from guest %llu checksums filled, %llu TSO frames cut into %llu segments, "
		  "%llu bad headers",
		  r->cfg.name, (unsigned long long)o.rx_csum_valid,
		  (unsigned long long)o.rx_gro_frames, (unsigned long long)o.rx_gro_segs,
		  (unsigned long long)o.tx_csum, (unsigned long long)o.tx_tso_frames,
		  (unsigned long long)o.tx_tso_segs, (unsigned long long)o.tx_bad_hdr);
}

void relay_close(struct relay *r)
{
	struct relay_stats *st = calloc(1, sizeof(*st));
	struct relay_queue_stats *t;

	relay_vf_close(r);
	/* The lanes stop first: nothing runs the datapath from here on. */
	relay_detach_lanes(r);
	uloop_del(r->loop, &r->fault_src);
	/* The frontend goes first, for good: no reconnect from here on. */
	relay_conn_close(r);
	/* Redirected by XDP but never delivered: the kernel's own counts. */
	if (st)
		relay_read_stats(r, st);
	/* Its record lives in the pin directory xdp_steer_close() removes. */
	vf_napi_restore(&r->napi);
	relay_close_members(r);
	relay_free_gso(r);
	relay_log_offloads(r);
	close(r->fault_efd);
	if (!st) {
		pr_notice("%s: stopped", r->cfg.name);
		uloop_free_later(r->loop, relay_free, r);
		return;
	}
	t = &st->total;
	pr_notice("%s: stopped: to guest %llu frames %llu bytes, from guest %llu frames %llu bytes, "
		  "dropped: no guest %llu, no guest buffer %llu, too big for guest %llu, "
		  "bad guest frame %llu, broken ring %llu, vf down %llu; "
		  "frontends: %llu connected, %llu refused; "
		  "XDP redirected %llu passed %llu dropped %llu; "
		  "AF_XDP dropped: no rx buffer %llu, rx ring full %llu, invalid %llu",
		  r->cfg.name,
		  (unsigned long long)t->to_guest, (unsigned long long)t->to_guest_bytes,
		  (unsigned long long)t->from_guest, (unsigned long long)t->from_guest_bytes,
		  (unsigned long long)t->drop_no_guest, (unsigned long long)t->drop_no_buffer,
		  (unsigned long long)t->drop_too_big, (unsigned long long)t->drop_bad_frame,
		  (unsigned long long)t->drop_broken_ring, (unsigned long long)t->drop_vf_down,
		  (unsigned long long)st->connects, (unsigned long long)st->refused,
		  (unsigned long long)st->xdp.redirected, (unsigned long long)st->xdp.passed,
		  (unsigned long long)st->xdp.dropped,
		  (unsigned long long)t->xsk_rx_dropped, (unsigned long long)t->xsk_rx_ring_full,
		  (unsigned long long)t->xsk_invalid);
	free(st);
	/* Its sources' last completions may still be on their way. */
	uloop_free_later(r->loop, relay_free, r);
}
