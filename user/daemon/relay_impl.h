/* SPDX-License-Identifier: GPL-2.0 */
/* struct relay, private to the relay module (relay.c, the datapath, and
 * relay_conn.c, its frontend connection); everyone else uses relay.h.
 */
#ifndef VXDP_RELAY_IMPL_H
#define VXDP_RELAY_IMPL_H

#include <stdint.h>

#include "config.h"
#include "relay.h"
#include "util/log.h"
#include "util/uring_loop.h"
#include "xdp/vf_napi.h"
#include "vhost/vhost_user_dev.h"
#include "vhost/vhost_user_msg.h"
#include "virtio/virtio_net.h"
#include "xdp/xsk_port.h"

struct xdp_steer;

/* The relay's own per-queue counters (see struct relay_queue_stats). */
struct relay_qcount {
	uint64_t to_guest, to_guest_bytes;
	uint64_t from_guest, from_guest_bytes;
	uint64_t drop_no_guest, drop_no_buffer, drop_too_big, drop_bad_frame;
	uint64_t drop_broken_ring, drop_vf_down;
};

struct relay_conn_stats {
	uint64_t connects;
	uint64_t refused;
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
	/* While paused for want of guest buffers: the kernel's drop counts
	 * (rx ring full + no fill buffer) when the pause began.
	 */
	uint64_t nobuf_base;
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
	/* The frontend connection's state (relay_conn.c). The timer is the
	 * reconnect backoff (client mode) while there is no connection, the
	 * deadline of the message being received while there is one.
	 */
	int timer_fd;
	struct uloop_src timer_src;
	unsigned int backoff_ms;
	struct uloop_work conn_work;	/* budgets ran out: go on next round */
	bool conn_more, listen_more;
	bool conn_ran_rings;		/* this connection got a ring running */
	bool conn_closing;		/* relay_conn_close(): no reconnect */
	bool wait_logged;		/* "waiting for QEMU" said this outage */
	unsigned int conn_refused;	/* frontends refused while this one runs */
	bool conn_spoke;		/* it completed a message */
	bool accept_failing;		/* accept() ran out of fds or memory */
	uint64_t msg_deadline_ns;	/* CLOCK_MONOTONIC; 0: none running */
	uint64_t retry_ns;		/* connect or accept again then; 0: no */
	struct vhost_user_rx rx;
	struct log_limit loglim;	/* what the frontend or guest makes us log */
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
	/* Per vring: notifications asked for, taken back when the loop polls
	 * (without event idx an ask stays until taken back, and the guest
	 * would kick for every burst while we poll anyway).
	 */
	uint64_t kick_asked;
	unsigned int hdr_len;		/* virtio-net header the guest expects */
	/* Largest guest frame the VF takes (MTU + Ethernet + VLAN header),
	 * 0 until read; re-read at most once a second, and only when a frame
	 * exceeds it, so the datapath makes no syscall for frames that fit.
	 */
	uint32_t vf_max_frame;
	uint64_t vf_mtu_read_ns;	/* CLOCK_MONOTONIC_COARSE of that read */
	/* The failover agent's event queue (relay_open()'s @events), or NULL;
	 * what it was last told about the rings; whether it waits for the
	 * guest's next frame (RELAY_OP_WATCH_TX).
	 */
	struct evq *events;
	bool rings_running;
	bool watch_tx;
	/* The VF as relay_vf.c last saw it. Paused (down or gone): the
	 * guest's frames are handed back unsent; the AF_XDP sockets stay
	 * while the link does (nports 0 once it is gone).
	 */
	int vf_ifindex;
	int vf_mtu;
	bool vf_paused;
	bool vf_closed;			/* relay_close() began: no more looks */
	struct uloop_work vf_work;	/* look at the VF again, on this worker */
	struct relay_conn_stats st;
	struct relay_qcount qc[RELAY_MAX_PORTS];
	/* Scratch, too big for the stack: the message being received (rx),
	 * and the chains being copied.
	 */
	struct vhost_user_msg msg;
	struct virtio_net_rxq rxq;
	struct vq_chain tx_chain;
	/* Offloads: the work done both ways, and per queue pair the tx
	 * side's state (a TSO frame being cut).
	 */
	struct virtio_net_offload_stats off;
	struct virtio_net_txq txq[VHOST_DEV_MAX_QUEUE_PAIRS];
};

/* Tell the agent, if there is one (relay_open()'s @events). */
void relay_post(struct relay *r, enum relay_event_type t);
/* The VF side (relay.c): AF_XDP sockets on each of the VF's rx queues
 * that has none yet, without the notices of a first open when @quiet;
 * closing those from queue @n on (all of them); how many rx queues the VF
 * has; the NAPI deferral for busy polling.
 */
int relay_open_ports(struct relay *r, bool quiet);
void relay_trim_ports(struct relay *r, unsigned int n);
void relay_close_ports(struct relay *r);
unsigned int vf_rx_queues(const char *ifname);
void relay_napi_setup(struct relay *r, bool quiet);

/* VF lifecycle (relay_vf.c): what the VF is at relay_open(); no more of
 * it from relay_close() on (a look may still be queued).
 */
void relay_vf_init(struct relay *r);
void relay_vf_close(struct relay *r);

/* Frames to and from the guest so far, all queues. */
void relay_frame_totals(const struct relay *r, uint64_t *to_guest,
			uint64_t *from_guest);

#endif
