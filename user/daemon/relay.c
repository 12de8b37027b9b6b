// SPDX-License-Identifier: GPL-2.0
/* A relay's datapath and its frontend connection: VF frames from the AF_XDP
 * rx ring into the guest's rx virtqueue, guest tx virtqueue out through the
 * AF_XDP tx ring. Runs on events, and under load also from the loop's
 * bounded busy-poll (relay_poll()); an idle relay never polls.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <net/if.h>
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

static void relay_notify(struct relay *r, unsigned int q)
{
	struct vhost_vring *vq = &r->dev.vq[q];

	if (vq_should_notify(&vq->vr) && vq->callfd >= 0)
		uloop_signal_eventfd(r->loop, vq->callfd);
}

static void relay_ring_broken(struct relay *r, unsigned int q)
{
	if (r->broken_logged & (1ull << q))
		return;
	/* Zero pages where the frontend shrank memory look malformed too:
	 * the one line that says why comes from the fault check after this
	 * run (relay_check_fault()).
	 */
	if (vhost_dev_lost_memory(&r->dev))
		return;
	r->broken_logged |= 1ull << q;
	pr_err("%s: guest posted a malformed descriptor chain on %s queue %u; queue stopped until the guest resets it",
	       r->cfg.name, VQ_IS_RX(q) ? "rx" : "tx", q / 2);
}

/* Guest rx queues frames can go to now, for flow-hash spreading. */
static void relay_update_rx_ready(struct relay *r)
{
	unsigned int qp;

	r->nrx_ready = 0;
	for (qp = 0; qp < r->cfg.queues; qp++)
		if (vhost_vring_ready(&r->dev.vq[VQ_RX(qp)]))
			r->rx_ready[r->nrx_ready++] = qp;
}

/* The guest rx queue pair for a frame from VF queue @port: the same index
 * when the VF has a queue for each of the guest's and the guest runs that
 * one (one-to-one, the VF's RSS did the spreading), else by flow hash over
 * the running ones, so a flow always lands on one queue. With fewer VF
 * queues than guest queues, one-to-one would leave the rest idle.
 */
static int relay_rx_port_queue(const struct relay *r, unsigned int port)
{
	if (port < r->cfg.queues && r->nports >= r->cfg.queues &&
	    vhost_vring_ready(&r->dev.vq[VQ_RX(port)]))
		return port;
	if (r->nrx_ready == 1)
		return r->rx_ready[0];
	return -1;	/* by flow */
}

static unsigned int relay_rx_pick(struct relay *r, unsigned int port,
				  const struct xsk_pkt *pkt)
{
	int qp = relay_rx_port_queue(r, port);

	if (qp >= 0)
		return qp;
	return r->rx_ready[flow_hash(pkt->data, pkt->len) % r->nrx_ready];
}

/* Ask the guest to kick vring @q when it posts more. While the loop
 * busy-polls, the ask waits for relay_idle(): the poll looks at the ring
 * anyway, and a kick would cost the guest (or its virtio-user's CPU) a
 * syscall and us a wake-up. Returns true when the guest posted meanwhile, so
 * the caller must look again rather than wait.
 */
static bool relay_want_kick(struct relay *r, unsigned int q)
{
	if (uloop_busy_polling(r->loop)) {
		r->kick_wanted |= 1ull << q;
		return false;
	}
	r->kick_asked |= 1ull << q;
	return vq_notify_enable(&r->dev.vq[q].vr);
}

/* The loop polls: take back the kicks asked for (see kick_asked), once per
 * polling period; relay_idle() asks for them again before the loop sleeps.
 */
static void relay_kicks_off(struct relay *r)
{
	uint64_t asked = r->kick_asked;

	r->kick_asked = 0;
	r->kick_wanted |= asked;
	while (asked) {
		unsigned int q = __builtin_ctzll(asked);
		struct virtqueue *vr = relay_vring(r, q);

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
static void relay_rxq_setup(struct relay *r)
{
	struct virtio_net_rxq *q = &r->rxq;
	const struct vhost_dev *d = &r->dev;

	q->mem = &d->mem;
	q->hdr_len = r->hdr_len;
	q->mrg = vhost_dev_has_feature(d, VIRTIO_NET_F_MRG_RXBUF);
	q->csum = vhost_dev_has_feature(d, VIRTIO_NET_F_GUEST_CSUM);
	/* Joined frames span many buffers: only over mergeable ones. */
	q->gro4 = q->csum && q->mrg && vhost_dev_has_feature(d, VIRTIO_NET_F_GUEST_TSO4);
	q->gro6 = q->csum && q->mrg && vhost_dev_has_feature(d, VIRTIO_NET_F_GUEST_TSO6);
	q->st = &r->off;
	virtio_net_rx_batch_start(q);
}

/* The frame at @pkts (*@nf fragments, *@len bytes, of @n peeked) into guest
 * rx queue pair @qp: see virtio_net_rx_frame(), and with offloads
 * virtio_net_rx_offload(), which may take a run of frames (*@nf and *@len
 * grow). Returns the frames delivered or a negative errno. The descriptors
 * it read are added to *@reads.
 */
static int relay_rx_one(struct relay *r, unsigned int qp,
			const struct xsk_pkt *pkts, unsigned int n,
			unsigned int *nf, size_t *len, uint32_t *reads)
{
	struct virtio_net_rxq *q = &r->rxq;
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
static void relay_rx_pause(struct relay *r, unsigned int pi)
{
	if (r->rx_paused & (1u << pi))
		return;
	r->rx_paused |= 1u << pi;
	r->port[pi].nobuf_base = relay_port_kernel_drops(&r->port[pi]);
	uloop_del(r->loop, &r->port[pi].src);
}

static void relay_rx_resume(struct relay *r, uint32_t ports)
{
	ports &= r->rx_paused;
	r->rx_paused &= ~ports;
	while (ports) {
		struct relay_port *p = &r->port[__builtin_ctz(ports)];

		ports &= ports - 1;
		r->qc[p->idx].drop_no_buffer += relay_port_kernel_drops(p) - p->nobuf_base;
		uloop_add_poll_lazy(r->loop, &p->src, xsk_port_fd(p->xsk), POLLIN,
				    relay_on_xsk);
	}
}

/* VF queue @pi -> guest. A frame may span several umem fragments (AF_XDP
 * multi-buffer); the port only ever hands out whole frames, and frames are
 * consumed or left on the ring whole. Returns true when the budget (frames
 * or descriptor reads) ran out with frames left.
 */
static bool relay_vf_to_guest(struct relay *r, unsigned int pi)
{
	struct xsk_port *port = r->port[pi].xsk;
	struct relay_qcount *qc = &r->qc[pi];
	struct xsk_pkt pkts[RELAY_BATCH];
	unsigned int budget = RELAY_BUDGET;
	uint32_t reads = 0;

	r->hdr_len = relay_hdr_len(r);
	while (budget) {
		unsigned int n = xsk_port_rx_peek(port, pkts, RELAY_BATCH);
		unsigned int done, nf, blocked = 0;
		bool kick_asked = false, spent = false;
		int fixed;
		uint32_t touched = 0;
		int err = 0;

		relay_rxq_setup(r);
		if (!n) {
			relay_rx_resume(r, 1u << pi);
			return false;
		}
		/* Without a running rx ring this is -1. */
		fixed = relay_rx_port_queue(r, pi);
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
			if (!r->nrx_ready) {
				/* The VF's traffic is the guest's; with no
				 * guest ring running it has nowhere to go.
				 */
				qc->drop_no_guest++;
				continue;
			}
			/* The headers are in the first fragment. */
			qp = relay_rx_pick(r, pi, &pkts[done]);
			err = relay_rx_one(r, qp, &pkts[done], n - done, &nf, &len, &reads);
			if (err == -EAGAIN || err == -ENOBUFS) {
				blocked = qp;
				kick_asked = err == -ENOBUFS;
				if (kick_asked)
					r->kick_asked |= 1ull << VQ_RX(qp);
				break;
			}
			if (err == -EIO) {
				relay_ring_broken(r, VQ_RX(qp));
				relay_update_rx_ready(r);
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
			relay_notify(r, VQ_RX(qp));
		}
		xsk_port_rx_release(port, done, n);
		if (spent)
			break;	/* the guest's chains ate the budget */
		if (done < n) {
			/* Out of guest buffers: the rest waits on the XSK rx
			 * ring (and the kernel drops beyond it) until the guest
			 * kicks us with more.
			 */
			if (kick_asked || !relay_want_kick(r, VQ_RX(blocked))) {
				relay_rx_pause(r, pi);
				return false;
			}
			continue;
		}
		budget -= n < budget ? n : budget;
		if (reads >= RELAY_DESC_BUDGET)
			break;
	}
	relay_rx_resume(r, 1u << pi);
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
static int relay_read_vf_mtu(struct relay *r)
{
	int mtu = vf_mtu(r->cfg.vf);

	r->vf_max_frame = mtu > 0 ? (uint32_t)mtu + ETH_HLEN + VLAN_HLEN : UINT32_MAX;
	r->vf_mtu_read_ns = coarse_now_ns() | 1;
	return mtu;
}

/* Whether a @len-byte guest frame is too big for the VF or for the AF_XDP
 * socket. The VF's MTU may have grown since we read it: re-read it for a
 * frame over it, at most once a second, so a guest sending oversized
 * frames costs no syscall per frame.
 */
static bool relay_tx_too_big(struct relay *r, const struct xsk_port *port,
			     uint32_t len)
{
	if (len > r->vf_max_frame &&
	    (!r->vf_mtu_read_ns || coarse_now_ns() - r->vf_mtu_read_ns >= 1000000000ull))
		relay_read_vf_mtu(r);
	return len > r->vf_max_frame || len > xsk_port_max_frame(port);
}

/* The tx side of what the guest negotiated, for queue pair @qp's txq. */
static struct virtio_net_txq *relay_txq_setup(struct relay *r, unsigned int qp)
{
	struct virtio_net_txq *q = &r->txq[qp];
	const struct vhost_dev *d = &r->dev;

	q->hdr_len = r->hdr_len;
	q->csum = vhost_dev_has_feature(d, VIRTIO_NET_F_CSUM);
	q->tso4 = vhost_dev_has_feature(d, VIRTIO_NET_F_HOST_TSO4);
	q->tso6 = vhost_dev_has_feature(d, VIRTIO_NET_F_HOST_TSO6);
	q->st = &r->off;
	return q;
}

/* Chain @c (its frame over ETH_HLEN) with offloads negotiated: see
 * virtio_net_tx_chain(). A frame or segment over the largest frame last
 * known is tried again once relay_tx_too_big() has re-read the VF's MTU.
 */
static int relay_tx_offload(struct relay *r, struct virtio_net_txq *q,
			    const struct xsk_port *port, const struct vq_chain *c,
			    struct xsk_pkt *pkts, unsigned int avail)
{
	uint32_t room = xsk_port_frame_room(port), max = xsk_port_max_frame(port);
	int n;

	if (r->vf_max_frame < max)
		max = r->vf_max_frame;
	n = virtio_net_tx_chain(q, c, room, max, pkts, avail);
	if (n == -EMSGSIZE && !relay_tx_too_big(r, port, q->need))
		n = virtio_net_tx_chain(q, c, room, q->need, pkts, avail);
	return n;
}

/* While the VF is down or gone (relay_vf.c) the guest's frames have nowhere
 * to go: they are handed back unsent and counted, so that its tx queue
 * keeps moving rather than stalling into its watchdog. Returns true when
 * the budget ran out with more posted.
 */
static bool relay_tx_discard(struct relay *r, unsigned int qp, struct virtqueue *vr)
{
	struct vq_chain *c = &r->tx_chain;
	unsigned int n = 0;
	int err = 0;

	while (n < RELAY_BUDGET && !(err = vq_pop(vr, &r->dev.mem, c))) {
		vq_push(vr, c->head, 0, c->ndesc);
		n++;
	}
	if (n) {
		vq_flush(vr);
		relay_notify(r, VQ_TX(qp));
		r->qc[qp].drop_vf_down += n;
	}
	/* A TSO frame's segments still to send went with the VF. */
	r->txq[qp].tso_busy = false;
	if (err == -EIO) {
		relay_ring_broken(r, VQ_TX(qp));
		return false;
	}
	return n == RELAY_BUDGET || (err == -EAGAIN && relay_want_kick(r, VQ_TX(qp)));
}

/* Guest tx queue of pair @qp -> its VF queue. A frame bigger than one umem
 * frame goes out as several tx descriptors (AF_XDP multi-buffer); a TSO
 * frame as the segments cut from it, over as many batches as they take.
 * Dropped chains (too short, too big, a bad header) are returned to the
 * guest at once, so they are never walked again, and count against the
 * budget like frames; so do the descriptors every chain took to read.
 * Returns true when there is more to do right away.
 */
static bool relay_guest_to_vf(struct relay *r, unsigned int qp)
{
	struct virtqueue *vr = relay_vring(r, VQ_TX(qp));
	struct xsk_port *port;
	uint32_t room;
	struct xsk_pkt pkts[RELAY_BATCH];
	struct vq_chain *c = &r->tx_chain;
	struct relay_qcount *qc = &r->qc[qp];
	struct virtio_net_txq *q;
	unsigned int budget = RELAY_BUDGET;
	uint32_t reads0;

	if (!vr) {
		r->txq[qp].tso_busy = false;
		return false;
	}
	if (r->vf_paused)
		return relay_tx_discard(r, qp, vr);
	port = r->port[qp % r->nports].xsk;
	room = xsk_port_frame_room(port);
	reads0 = vq_desc_reads(vr);
	r->hdr_len = relay_hdr_len(r);
	q = relay_txq_setup(r, qp);
	while (budget) {
		unsigned int m = xsk_port_tx_alloc(port, pkts, RELAY_BATCH);
		unsigned int used = 0, popped = 0;
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
			if (c->out_len < r->hdr_len + ETH_HLEN ||
			    (!q->csum && relay_tx_too_big(r, port, c->out_len - r->hdr_len))) {
				popped++;
				vq_push(vr, c->head, 0, c->ndesc);
				qc->drop_bad_frame++;
				continue;
			}
			len = c->out_len - r->hdr_len;
			if (q->csum)
				n = relay_tx_offload(r, q, port, c, &pkts[used], m - used);
			else if ((len + room - 1) / room > m - used)
				n = -ENOBUFS;
			else
				n = virtio_net_tx_frame(c, r->hdr_len, room, &pkts[used]);
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
			qc->from_guest++;
			qc->from_guest_bytes += len;
		}
		short_of_bufs |= q->tso_busy;
		xsk_port_tx_submit(port, pkts, m, used);
		if (__builtin_expect(r->watch_tx, 0) && used) {
			r->watch_tx = false;
			relay_post(r, RELAY_EV_GUEST_TX);
		}
		if (popped) {
			vq_flush(vr);
			relay_notify(r, VQ_TX(qp));
		}
		if (err == -EIO) {
			if (!(r->broken_logged & (1ull << VQ_TX(qp))))
				qc->drop_broken_ring++;
			relay_ring_broken(r, VQ_TX(qp));
			return false;
		}
		if (spent)
			return true;
		if (err == -EAGAIN) {
			if (relay_want_kick(r, VQ_TX(qp)))
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

/* Run the given VF queues (rx) and guest queue pairs (tx); whatever stops at
 * its budget is run again after this round of events. Returns the frames
 * moved (also accounted to the loop).
 */
/* The frontend shrank memory under a mapping of this relay's, and an access
 * met zero pages instead of a SIGBUS (util/fault_guard.h). The connection
 * must go: shutting our end makes the loop see EOF on it and end it through
 * the normal disconnect path after this round. Until then the datapath may
 * run on, over zeros.
 */
static void relay_check_fault(struct relay *r)
{
	if (vhost_dev_faulted(&r->dev) && r->conn_fd >= 0)
		shutdown(r->conn_fd, SHUT_RDWR);
}

/* What the guest makes the datapath log (a malformed chain, a shrunk
 * file) is charged to the relay's log budget like its frontend's lines.
 */
static unsigned int relay_run(struct relay *r, uint32_t rx, uint32_t tx)
{
	struct log_limit *prev = log_limit_enter(&r->loglim);
	unsigned int moved = 0;

	while (rx) {
		unsigned int pi = __builtin_ctz(rx);
		uint64_t before = r->qc[pi].to_guest;

		rx &= rx - 1;
		if (relay_vf_to_guest(r, pi))
			r->rx_more |= 1u << pi;
		moved += r->qc[pi].to_guest - before;
	}
	while (tx) {
		unsigned int qp = __builtin_ctz(tx);
		uint64_t before = r->qc[qp].from_guest;

		tx &= tx - 1;
		if (relay_guest_to_vf(r, qp))
			r->tx_more |= 1u << qp;
		moved += r->qc[qp].from_guest - before;
	}
	if (r->rx_more || r->tx_more)
		uloop_defer(r->loop, &r->work);
	if (vhost_dev_fault_pending(&r->dev))
		relay_check_fault(r);
	uloop_account(r->loop, moved);
	log_limit_leave(prev);
	return moved;
}

/* Whether some running guest rx queue has buffers posted. */
static bool relay_rx_room(const struct relay *r)
{
	unsigned int i;

	for (i = 0; i < r->nrx_ready; i++)
		if (vq_has_avail(&r->dev.vq[VQ_RX(r->rx_ready[i])].vr))
			return true;
	return false;
}

/* Rx ports with frames waiting, when some guest rx queue has room. */
static uint32_t relay_rx_ready_ports(const struct relay *r)
{
	uint32_t rx = 0;
	unsigned int i;

	if (!r->nrx_ready || !relay_rx_room(r))
		return 0;
	for (i = 0; i < r->nports; i++)
		if (xsk_port_rx_ready(r->port[i].xsk))
			rx |= 1u << i;
	return rx;
}

/* The loop's busy-poll (uloop_poller): run the directions that can move a
 * frame right now. Finding nothing reads ring indices only, so a spinning
 * relay writes nothing the guest or the kernel is reading.
 */
static unsigned int relay_poll(struct uloop_poller *pl)
{
	struct relay *r = container_of(pl, struct relay, poller);
	uint32_t rx = relay_rx_ready_ports(r), tx = 0;
	unsigned int i;

	if (r->kick_asked)
		relay_kicks_off(r);
	for (i = 0; i < r->cfg.queues; i++) {
		struct virtqueue *vr = relay_vring(r, VQ_TX(i));

		if (vr && (vq_has_avail(vr) || r->txq[i].tso_busy))
			tx |= 1u << i;
	}
	if (!(rx | tx))
		return 0;
	return relay_run(r, rx, tx);
}

static uint32_t relay_all_ports(const struct relay *r)
{
	return r->nports == 32 ? ~0u : (1u << r->nports) - 1;
}

/* Socket busy polling, on only while the loop busy-polls: then each
 * sendto() first takes what the VF received, in a batch (see vf_napi.c);
 * at low load it would add a NAPI run to every frame's syscall instead.
 */
static void relay_xsk_busy(struct relay *r, bool on)
{
	unsigned int i, us = on ? uloop_busy_poll_us(r->loop) : 0;
	int err = 0;

	if (!r->xsk_busy_ok || r->xsk_busy == on)
		return;
	for (i = 0; i < r->nports && !err; i++)
		err = xsk_port_set_busy_poll(r->port[i].xsk, us, RELAY_BUSY_POLL_BUDGET);
	r->xsk_busy = on;
	if (!err)
		return;
	pr_warn("%s: AF_XDP socket busy polling unavailable (%s): polling without it",
		r->cfg.name, strerror(-err));
	/* Best effort: the sockets set before the failure go back too. */
	for (i = 0; i < r->nports; i++)
		xsk_port_set_busy_poll(r->port[i].xsk, 0, RELAY_BUSY_POLL_BUDGET);
	r->xsk_busy = false;
	r->xsk_busy_ok = false;
}

static void relay_busy(struct uloop_poller *pl)
{
	relay_xsk_busy(container_of(pl, struct relay, poller), true);
}

/* The loop is about to sleep: ask for the kicks relay_want_kick() put off;
 * a ring the guest posted to meanwhile is run instead.
 */
static void relay_idle(struct uloop_poller *pl)
{
	struct relay *r = container_of(pl, struct relay, poller);
	struct log_limit *prev = log_limit_enter(&r->loglim);
	uint64_t want = r->kick_wanted;

	r->kick_wanted = 0;
	relay_xsk_busy(r, false);
	while (want) {
		unsigned int q = __builtin_ctzll(want);
		struct virtqueue *vr = relay_vring(r, q);

		want &= want - 1;
		if (!vr)
			continue;
		r->kick_asked |= 1ull << q;
		if (!vq_notify_enable(vr))
			continue;
		if (VQ_IS_RX(q))
			r->rx_more |= relay_all_ports(r);
		else
			r->tx_more |= 1u << (q / 2);
		uloop_defer(r->loop, &r->work);
	}
	if (vhost_dev_fault_pending(&r->dev))
		relay_check_fault(r);
	log_limit_leave(prev);
}

static void relay_on_work(struct uloop_work *w)
{
	struct relay *r = container_of(w, struct relay, work);
	/* The XSK polls are lazy (disarmed while the loop is busy): look at
	 * every port, not only those left at their budget.
	 */
	uint32_t rx = r->rx_more | relay_rx_ready_ports(r), tx = r->tx_more;

	r->rx_more = r->tx_more = 0;
	relay_run(r, rx, tx);
}

static void relay_on_xsk(struct uloop_src *s, int res)
{
	struct relay_port *p = container_of(s, struct relay_port, src);

	(void)res;
	relay_run(p->relay, 1u << p->idx, 0);
}

/* A kick fd that does not read like an eventfd (end of file, an error):
 * re-armed, it would fire again at once for ever and spin the worker. Stop
 * the ring until the frontend starts it again, with a new kick fd.
 */
static void relay_kick_failed(struct relay *r, unsigned int q, int res)
{
	struct log_limit *prev = log_limit_enter(&r->loglim);

	uloop_del(r->loop, &r->kick[q].src);
	vq_set_broken(&r->dev.vq[q].vr);
	r->broken_logged |= 1ull << q;
	relay_update_rx_ready(r);
	pr_err("%s: %s queue %u: reading its kick fd: %s; queue stopped until the frontend sets it up again",
	       r->cfg.name, VQ_IS_RX(q) ? "rx" : "tx", q / 2,
	       res < 0 ? strerror(-res) : res ? "short read (not an eventfd)" :
	       "end of file (not an eventfd)");
	log_limit_leave(prev);
}

static void relay_on_kick(struct uloop_src *s, int res)
{
	struct relay_kick *k = container_of(s, struct relay_kick, src);
	struct relay *r = k->relay;

	if (res != sizeof(k->src.val)) {
		relay_kick_failed(r, k->q, res);
		return;
	}
	/* New rx buffers may unblock any VF queue (flow spreading). */
	if (VQ_IS_RX(k->q)) {
		relay_rx_resume(r, relay_all_ports(r));
		relay_run(r, relay_all_ports(r), 0);
	}
	else
		relay_run(r, 0, 1u << (k->q / 2));
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
	struct vhost_vring *vq = &d->vq[q];
	struct uloop_src *kick = &r->kick[q].src;

	relay_update_rx_ready(r);
	relay_note_running(r);
	if (!vhost_vring_ready(vq) || vq->kickfd < 0) {
		uloop_del(r->loop, kick);
		/* The guest reset the queue: a TSO frame's rest goes. */
		if (!VQ_IS_RX(q))
			r->txq[q / 2].tso_busy = false;
		/* No guest rx buffers to wait for from this ring: listen to
		 * the VF again (its frames are dropped if no ring runs).
		 */
		if (VQ_IS_RX(q))
			relay_rx_resume(r, relay_all_ports(r));
		return;
	}
	if (!kick->active || kick->fd != vq->kickfd) {
		uloop_add_read(r->loop, kick, vq->kickfd, NULL, 0, relay_on_kick);
		pr_info("%s: %s queue %u running: %u entries, %s ring%s%s%s%s%s", r->cfg.name,
			VQ_IS_RX(q) ? "rx" : "tx", q / 2, vq->num,
			vq->vr.packed ? "packed" : "split",
			vhost_dev_has_feature(d, VIRTIO_NET_F_MRG_RXBUF) ? ", mrg_rxbuf" : "",
			vhost_dev_has_feature(d, VIRTIO_RING_F_EVENT_IDX) ? ", event_idx" : "",
			vhost_dev_has_feature(d, VIRTIO_RING_F_INDIRECT_DESC) ? ", indirect" : "",
			vhost_dev_has_feature(d, VQ_IS_RX(q) ? VIRTIO_NET_F_GUEST_CSUM : VIRTIO_NET_F_CSUM) ?
				", csum" : "",
			vhost_dev_has_feature(d, VQ_IS_RX(q) ? VIRTIO_NET_F_GUEST_TSO4 : VIRTIO_NET_F_HOST_TSO4) ?
				", tso" : "");
	}
	r->broken_logged &= ~(1ull << q);
	/* The guest may have queued work before the ring ran, and with
	 * event_idx it kicks only if we asked: ask, then look.
	 */
	r->kick_asked |= 1ull << q;
	vq_notify_enable(&vq->vr);
	if (VQ_IS_RX(q))
		r->rx_more |= relay_all_ports(r);
	else
		r->tx_more |= 1u << (q / 2);
	uloop_defer(r->loop, &r->work);
}

static void relay_mem_changing(struct vhost_dev *d)
{
	/* Single-threaded: no datapath runs while a message is handled, and
	 * rings are re-validated by vhost_dev before they run again.
	 */
	(void)d;
}

/* NET_SET_MTU (QEMU's host_mtu=N): the guest will send frames of up to N
 * bytes plus headers. Refuse an MTU the VF or the AF_XDP sockets cannot
 * carry, so QEMU says so at start-up instead of the guest's big frames
 * being dropped later.
 */
static int relay_set_mtu(struct vhost_dev *d, uint16_t mtu)
{
	struct relay *r = d->priv;
	uint32_t need = (uint32_t)mtu + ETH_HLEN + VLAN_HLEN, xsk_max = UINT32_MAX;
	unsigned int i;
	int vf;

	for (i = 0; i < r->nports; i++)
		if (xsk_port_max_frame(r->port[i].xsk) < xsk_max)
			xsk_max = xsk_port_max_frame(r->port[i].xsk);
	vf = relay_read_vf_mtu(r);
	if (vf < 0) {
		pr_err("%s: refusing guest MTU %u: cannot read the MTU of vf %s: %s",
		       r->cfg.name, mtu, r->cfg.vf, strerror(-vf));
		return vf;
	}
	if (mtu > vf) {
		pr_err("%s: refusing guest MTU %u: vf %s has MTU %d",
		       r->cfg.name, mtu, r->cfg.vf, vf);
		return -EINVAL;
	}
	if (need > xsk_max) {
		pr_err("%s: refusing guest MTU %u: AF_XDP on vf %s carries frames of up to %u bytes (no multi-buffer), the guest's need %u",
		       r->cfg.name, mtu, r->cfg.vf, xsk_max, need);
		return -EMSGSIZE;
	}
	pr_notice("%s: guest MTU %u (vf %s MTU %d, AF_XDP frames up to %u bytes)",
		  r->cfg.name, mtu, r->cfg.vf, vf, xsk_max);
	return 0;
}

/* After a migration QEMU asks us (SEND_RARP) to announce the guest's MAC so
 * switches learn its new port; guests with GUEST_ANNOUNCE do it themselves.
 */
static void relay_send_rarp(struct vhost_dev *d, const uint8_t mac[6])
{
	struct relay *r = d->priv;
	struct xsk_port *port = r->port[0].xsk;
	struct xsk_pkt pkt;
	int len;

	if (r->vf_paused) {
		pr_warn("%s: vf %s is down or gone: no RARP announcement", r->cfg.name,
			r->cfg.vf);
		return;
	}
	if (xsk_port_tx_alloc(port, &pkt, 1) != 1) {
		pr_warn("%s: no tx buffer for the RARP announcement", r->cfg.name);
		return;
	}
	len = rarp_build(pkt.data, xsk_port_frame_room(port), mac);
	pkt.len = len > 0 ? len : 0;
	pkt.more = false;
	xsk_port_tx_submit(port, &pkt, 1, len > 0);
	if (len > 0)
		pr_info("%s: RARP sent for %02x:%02x:%02x:%02x:%02x:%02x", r->cfg.name,
			mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	if (xsk_port_tx_pending(port)) {
		r->tx_more |= 1;
		uloop_defer(r->loop, &r->work);
	}
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
	struct timespec ts;

	if (!r->events)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ev.at_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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
	int err = 0;

	switch (op) {
	case RELAY_OP_STEER_ON:
	case RELAY_OP_STEER_OFF:
		err = xdp_steer_pause(r->steer, op == RELAY_OP_STEER_OFF);
		if (!err)
			pr_info("%s: steering of its MAC %s", r->cfg.name,
				op == RELAY_OP_STEER_ON ? "on" : "off (to the host stack)");
		break;
	case RELAY_OP_ANNOUNCE:
		if (!r->cfg.has_mac)
			return -EINVAL;
		relay_send_rarp(&r->dev, r->cfg.mac);
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

void relay_trim_ports(struct relay *r, unsigned int n)
{
	uint32_t keep = n >= 32 ? ~0u : (1u << n) - 1;

	while (r->nports > n) {
		struct relay_port *p = &r->port[--r->nports];

		uloop_del(r->loop, &p->src);
		xsk_port_close(p->xsk);
	}
	/* Nothing may run a port that is gone (a deferred round). */
	r->rx_paused &= keep;
	r->rx_more &= keep;
	if (!r->nports)
		r->xsk_busy = false;
}

void relay_close_ports(struct relay *r)
{
	relay_trim_ports(r, 0);
}

/* An AF_XDP socket on every VF rx queue: frames on a queue without one
 * would pass to the host stack. Queues that have one already keep it.
 */
int relay_open_ports(struct relay *r, bool quiet)
{
	const struct relay_cfg *cfg = &r->cfg;
	unsigned int vfq = vf_rx_queues(cfg->vf), i;
	int err;

	if (vfq > RELAY_MAX_PORTS) {
		pr_err("%s: vf %s has %u rx queues; at most %u are supported (ethtool -L %s combined N)",
		       cfg->name, cfg->vf, vfq, RELAY_MAX_PORTS, cfg->vf);
		return -E2BIG;
	}
	for (i = r->nports; i < vfq; i++) {
		struct relay_port *p = &r->port[i];

		p->relay = r;
		p->idx = i;
		err = xsk_port_open(&p->xsk, cfg->vf, i, xdp_steer_xskmap_fd(r->steer),
				    cfg->xsk_mode);
		if (err)
			goto err;
		r->nports++;
		/* Lazy: a busy relay finds rx frames itself (relay_poll(),
		 * relay_on_work()), and an armed poll would cost the
		 * kernel a wake-up per flush of the VF's receive batch.
		 */
		err = uloop_add_poll_lazy(r->loop, &p->src, xsk_port_fd(p->xsk), POLLIN,
				     relay_on_xsk);
		/* Busy polling, if on, applies to every socket. */
		if (!err && r->xsk_busy)
			xsk_port_set_busy_poll(p->xsk, uloop_busy_poll_us(r->loop),
					       RELAY_BUSY_POLL_BUDGET);
		if (err) {
			pr_err("%s: cannot register with the event loop: %s", cfg->name,
			       strerror(-err));
			goto err;
		}
	}
	if (vfq != cfg->queues && !quiet)
		pr_notice("%s: vf %s has %u rx queue%s for %u guest queue pair%s: frames are spread by flow hash",
			  cfg->name, cfg->vf, vfq, vfq == 1 ? "" : "s", cfg->queues,
			  cfg->queues == 1 ? "" : "s");
	return 0;
err:
	relay_close_ports(r);
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
	r->xsk_busy_ok = r->napi.active;
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

int relay_open(struct relay **rp, const struct relay_cfg *cfg, struct uloop *loop,
	       struct evq *events)
{
	uint64_t features = relay_features;
	struct relay *r;
	unsigned int q;
	int err;

	*rp = NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		pr_err("%s: out of memory", cfg->name);
		return -ENOMEM;
	}
	r->cfg = *cfg;
	r->loop = loop;
	r->events = events;
	r->listen_fd = -1;
	r->conn_fd = -1;
	r->timer_fd = -1;
	r->work.fn = relay_on_work;
	/* What its guest and frontend make it log (relay.c, relay_conn.c). */
	log_limit_init(&r->loglim, r->cfg.name);
	for (q = 0; q < VHOST_DEV_MAX_VRINGS; q++) {
		r->kick[q].relay = r;
		r->kick[q].q = q;
	}
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

	err = xdp_steer_open(&r->steer, cfg->name, cfg->vf,
			     cfg->has_mac ? cfg->mac : NULL, cfg->xdp_mode);
	if (err)
		goto err_free;
	err = relay_open_ports(r, false);
	if (err)
		goto err_steer;
	relay_vf_init(r);
	pr_notice("%s: vf %s, %u queue pair%s (AF_XDP %s), vhost-user %s %s%s, offloads: %s, poll: %s",
		  cfg->name, cfg->vf, cfg->queues, cfg->queues == 1 ? "" : "s",
		  xsk_port_zerocopy(r->port[0].xsk) ? "zero-copy" : "copy mode",
		  cfg->client ? "client of" : "server on", cfg->socket,
		  cfg->has_mac ? ", MAC steering on" : "", relay_offloads_name[cfg->offloads],
		  cfg->poll_busy ? "busy" : "adaptive");
	relay_napi_setup(r, false);
	err = relay_conn_open(r);
	if (err)
		goto err_ports;
	r->poller.fn = relay_poll;
	r->poller.idle = relay_idle;
	r->poller.busy = relay_busy;
	uloop_add_poller(loop, &r->poller);
	if (cfg->poll_busy)
		uloop_hold_busy(loop, true);
	*rp = r;
	return 0;

err_ports:
	vf_napi_restore(&r->napi);
	relay_close_ports(r);
err_steer:
	xdp_steer_close(r->steer);
err_free:
	relay_free_gso(r);
	/* Ports may have been registered with the loop, and deleted. */
	uloop_free_later(loop, free, r);
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

void relay_read_stats(struct relay *r, struct relay_stats *st)
{
	unsigned int i;

	memset(st, 0, sizeof(*st));
	st->nqueues = r->nports > r->cfg.queues ? r->nports : r->cfg.queues;
	st->vf_queues = r->nports;
	st->zerocopy = r->nports && xsk_port_zerocopy(r->port[0].xsk);
	st->connects = r->st.connects;
	st->refused = r->st.refused;
	st->connected = r->conn_fd >= 0;
	st->running = r->rings_running;
	st->logging = st->connected && vhost_dev_has_feature(&r->dev, VHOST_F_LOG_ALL);
	st->steer_paused = xdp_steer_paused(r->steer);
	xdp_steer_read_stats(r->steer, &st->xdp);
	for (i = 0; i < st->nqueues; i++) {
		const struct relay_qcount *c = &r->qc[i];
		struct relay_queue_stats *q = &st->q[i];

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
		if (i < r->nports) {
			struct xsk_port_stats ks;

			xsk_port_read_stats(r->port[i].xsk, &ks);
			q->xsk_rx_dropped = ks.rx_dropped + xsk_port_rx_dropped(r->port[i].xsk);
			q->xsk_rx_ring_full = ks.rx_ring_full;
			q->xsk_fill_ring_empty = ks.fill_ring_empty;
			q->xsk_invalid = ks.invalid;
			/* A pause still going on: its drops so far. */
			if (r->rx_paused & (1u << i))
				q->drop_no_buffer += ks.rx_ring_full + ks.rx_dropped -
						     r->port[i].nobuf_base;
		}
		relay_queue_stats_add(&st->total, q);
	}
}

void relay_close(struct relay *r)
{
	struct relay_stats *st = calloc(1, sizeof(*st));
	struct relay_queue_stats *t;
	unsigned int q;

	uloop_del_poller(r->loop, &r->poller);
	relay_vf_close(r);
	if (r->cfg.poll_busy)
		uloop_hold_busy(r->loop, false);
	/* The frontend goes first, for good: no reconnect from here on. */
	relay_conn_close(r);
	for (q = 0; q < VHOST_DEV_MAX_VRINGS; q++)
		uloop_del(r->loop, &r->kick[q].src);
	/* Redirected by XDP but never delivered: the kernel's own counts. */
	if (st)
		relay_read_stats(r, st);
	/* Its record lives in the pin directory xdp_steer_close() removes. */
	vf_napi_restore(&r->napi);
	/* Detach first so the VF stops redirecting into a closing socket. */
	xdp_steer_close(r->steer);
	relay_close_ports(r);
	relay_free_gso(r);
	pr_notice("%s: offloads: to guest %llu checksums verified, %llu joined frames of %llu segments; "
		  "from guest %llu checksums filled, %llu TSO frames cut into %llu segments, "
		  "%llu bad headers",
		  r->cfg.name, (unsigned long long)r->off.rx_csum_valid,
		  (unsigned long long)r->off.rx_gro_frames, (unsigned long long)r->off.rx_gro_segs,
		  (unsigned long long)r->off.tx_csum, (unsigned long long)r->off.tx_tso_frames,
		  (unsigned long long)r->off.tx_tso_segs, (unsigned long long)r->off.tx_bad_hdr);
	/* Last, after everything above that may queue it: work left queued
	 * would run on a closed relay, or on freed memory.
	 */
	uloop_undefer(r->loop, &r->work);
	if (!st) {
		pr_notice("%s: stopped", r->cfg.name);
		uloop_free_later(r->loop, free, r);
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
	uloop_free_later(r->loop, free, r);
}
