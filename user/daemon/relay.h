/* SPDX-License-Identifier: GPL-2.0 */
/* One relay: a VF queue (XDP steering + AF_XDP socket) joined to one
 * vhost-user virtio-net device, driven by the daemon's event loop.
 */
#ifndef VXDP_RELAY_H
#define VXDP_RELAY_H

#include <stdint.h>

#include "config.h"
#include "util/uring_loop.h"
#include "xdp/vf_napi.h"
#include "vhost/vhost_user_dev.h"
#include "vhost/vhost_user_msg.h"
#include "virtio/virtio_net.h"
#include "xdp/xsk_port.h"

struct xdp_steer;

struct relay_stats {
	uint64_t to_guest, to_guest_bytes;	/* VF -> guest rx queue */
	uint64_t from_guest, from_guest_bytes;	/* guest tx queue -> VF */
	uint64_t drop_no_guest;		/* VF frames with no guest ring running */
	uint64_t drop_guest_rx;		/* frames larger than the guest's buffers */
	uint64_t drop_guest_tx;		/* malformed or oversized guest frames */
	uint64_t connects;
	uint64_t refused;		/* frontends turned away: one at a time */
};

struct relay_kick {
	struct uloop_src src;
	struct relay *relay;
	unsigned int q;		/* vring index */
};

/* One AF_XDP socket, on VF queue @idx. */
struct relay_port {
	struct xsk_port *xsk;
	struct uloop_src src;
	struct relay *relay;
	unsigned int idx;
};

#define RELAY_MAX_PORTS VHOST_DEV_MAX_QUEUE_PAIRS

struct relay {
	struct relay_cfg cfg;
	struct uloop *loop;
	struct xdp_steer *steer;
	struct vhost_dev dev;
	int listen_fd;
	int conn_fd;
	struct uloop_src listen_src;
	struct uloop_src conn_src;
	unsigned int nports;		/* VF rx queues we have a socket on */
	struct relay_port port[RELAY_MAX_PORTS];
	/* Client mode: (re)connect attempts, backing off while QEMU is away. */
	int timer_fd;
	struct uloop_src timer_src;
	unsigned int backoff_ms;
	struct relay_kick kick[VHOST_DEV_MAX_VRINGS];
	struct uloop_work work;
	struct uloop_poller poller;	/* busy polling under load */
	/* Socket busy polling of the VF's NAPI while the loop busy-polls:
	 * possible (the VF defers its NAPI) and on now.
	 */
	struct vf_napi napi;
	bool xsk_busy_ok, xsk_busy;
	uint32_t rx_more, tx_more;	/* ports / queue pairs left at budget */
	uint32_t rx_paused;		/* ports whose XSK poll waits on the guest */
	/* Guest rx queue pairs running now, for flow-hash spreading. */
	unsigned int nrx_ready;
	uint8_t rx_ready[VHOST_DEV_MAX_QUEUE_PAIRS];
	uint64_t broken_logged;		/* per vring: "malformed chain" said */
	uint64_t kick_wanted;		/* per vring: notifications put off */
	unsigned int hdr_len;		/* virtio-net header the guest expects */
	/* Largest guest frame the VF takes (MTU + Ethernet + VLAN header),
	 * 0 until read; re-read at most once a second, and only when a frame
	 * exceeds it, so the datapath makes no syscall for frames that fit.
	 */
	uint32_t vf_max_frame;
	uint64_t vf_mtu_read_ns;	/* CLOCK_MONOTONIC_COARSE of that read */
	bool refused_logged;
	struct relay_stats st;
	/* Scratch, too big for the stack: the message being handled, and the
	 * chains being copied.
	 */
	struct vhost_user_msg msg;
	struct virtio_net_rxq rxq;
	struct vq_chain tx_chain;
};

/* Set up steering, the AF_XDP socket and the listening socket, and register
 * with @loop. Returns 0 or a negative errno (already logged); on error
 * nothing is left behind.
 */
int relay_open(struct relay *r, const struct relay_cfg *cfg, struct uloop *loop);

/* Detach XDP, close sockets, remove the socket file, log final counters. */
void relay_close(struct relay *r);

#endif
