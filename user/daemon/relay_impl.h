/* SPDX-License-Identifier: GPL-2.0 */
/* struct relay, private to the relay module (relay.c, the datapath, and
 * relay_conn.c, its frontend connection); everyone else uses relay.h.
 */
#ifndef VXDP_RELAY_IMPL_H
#define VXDP_RELAY_IMPL_H

#include <stdint.h>
#include <stdatomic.h>

#include "config.h"
#include "relay.h"
#include "util/log.h"
#include "util/mbox.h"
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

struct relay_lane;

/* An event source of a lane, with what it stands for: a VF queue's AF_XDP
 * socket or a vring's kick eventfd.
 */
struct relay_src {
	struct uloop_src src;
	struct relay_lane *lane;
	unsigned int idx;	/* VF queue or vring */
};

/* A lane's sources on the loop it is attached to. A lane moving to another
 * loop leaves them to the old one (a deleted source's last completion may
 * still come there: uloop_free_later()) and takes a fresh set.
 */
struct relay_srcs {
	struct relay_src port[VHOST_DEV_MAX_QUEUE_PAIRS];
	struct relay_src kick[VHOST_DEV_MAX_VRINGS];
};

struct relay_member;

/* One AF_XDP socket, on queue @vfq of member @m's VF, port @idx of the
 * relay, served by lane @lane.
 */
struct relay_port {
	struct xsk_port *xsk;
	struct relay_lane *lane;
	struct relay_member *m;
	unsigned int idx;
	unsigned int vfq;
	/* Guest frames sent on it: written by its lane only. */
	uint64_t tx_frames;
	/* While paused for want of guest buffers: the kernel's drops of frames
	 * (rx ring full + no fill buffer) when the pause began.
	 */
	uint64_t nobuf_base;
};

#define RELAY_MAX_PORTS VHOST_DEV_MAX_QUEUE_PAIRS

/* A VF of the relay: its only one, or a member of a bond (vf=A+B, the
 * second member's ports from RELAY_BOND_BASE on). Written on the home
 * thread while the lanes are parked (relay_vf.c).
 */
struct relay_member {
	const char *vf;			/* cfg.vf or cfg.vf2 */
	struct xdp_steer *steer;
	unsigned int base, max;		/* its ports: base .. base + max - 1 */
	unsigned int nports;		/* VF rx queues it has a socket on */
	/* The VF as relay_vf.c last saw it; paused: down or gone. */
	int ifindex;
	int mtu;
	bool paused;
	char why[48];			/* why it paused, for a switch's log line */
	uint64_t activations;		/* times a switch made it the active one */
	uint64_t announced;		/* RARP announcements sent out of it */
};

#define RELAY_BOND_BASE (RELAY_MAX_PORTS / 2)

/* A datapath part of a relay: some of its guest queue pairs (both rings of
 * each) and the VF queues that feed them, run by one loop's thread. A
 * relay whose VF has a queue for each guest queue pair has a lane per pair,
 * which may run on different workers; otherwise one lane has them all. A
 * lane's state is written only by the thread it is attached to; the relay's
 * home thread (its connection, the vhost-user device) pauses it through its
 * loop's mailbox before it changes what the lane reads (memory table,
 * rings), and resumes it after.
 */
struct relay_lane {
	struct relay *r;
	unsigned int id;
	uint32_t qps;			/* guest queue pairs (bit per pair) */
	uint32_t ports;			/* VF queues (bit per relay port) */
	/* Where it runs: written by the home thread while the lane is
	 * detached (host) or on the lane's thread (loop).
	 */
	struct relay_host *host;	/* NULL: detached */
	struct relay_host *parked;	/* where relay_lanes_park() took it from */
	struct uloop *loop;
	struct relay_srcs *srcs;
	bool paused;			/* by the home thread, around a change */
	bool polling;			/* the poller is on the loop */
	bool xsk_busy_ok;		/* the VF defers its NAPI: busy polling works */
	struct uloop_work work;
	struct uloop_poller poller;	/* busy polling under load */
	bool xsk_busy;
	uint32_t rx_more, tx_more;	/* ports / queue pairs left at budget */
	uint32_t rx_paused;		/* ports whose XSK poll waits on the guest */
	/* Its guest rx queue pairs running now, for flow-hash spreading. */
	unsigned int nrx_ready;
	uint8_t rx_ready[VHOST_DEV_MAX_QUEUE_PAIRS];
	uint64_t broken_logged;		/* per vring: "malformed chain" said */
	uint64_t kick_wanted;		/* per vring: notifications put off */
	/* Per vring: notifications asked for, taken back when the loop polls
	 * (without event idx an ask stays until taken back, and the guest
	 * would kick for every burst while we poll anyway).
	 */
	uint64_t kick_asked;
	uint64_t changed;		/* per vring: vring_changed() since the last sync */
	unsigned int hdr_len;		/* virtio-net header the guest expects */
	/* Largest guest frame the VF takes (MTU + Ethernet + VLAN header),
	 * 0 until read; re-read at most once a second, and only when a frame
	 * exceeds it, so the datapath makes no syscall for frames that fit.
	 */
	uint32_t vf_max_frame;
	uint64_t vf_mtu_read_ns;	/* CLOCK_MONOTONIC_COARSE of that read */
	uint64_t faults_seen;		/* fault_guard_count() when last told */
	/* Frames moved, for the balancer: written by the lane's thread only,
	 * read by anyone (relaxed atomics).
	 */
	uint64_t frames;
	/* What its guest makes the datapath log, charged to a budget of the
	 * lane's own (one thread writes it), named after the relay.
	 */
	struct log_limit loglim;
	/* Offloads: the work done both ways, summed over lanes at close. */
	struct virtio_net_offload_stats off;
	/* Scratch, too big for the stack: the chains being copied. */
	struct virtio_net_rxq rxq;
	struct vq_chain tx_chain;
};

struct relay {
	struct relay_cfg cfg;
	struct relay_host *home;	/* connection, device, XDP: its thread */
	struct uloop *loop;		/* home->loop */
	/* Its VFs: one, or a bond's two. The datapath sends on the active
	 * one's ports, a single pointer it reads per batch; relay_vf.c
	 * changes it while the lanes are parked.
	 */
	struct relay_member m[2];
	unsigned int nmembers;
	struct relay_member *active;
	uint64_t switches;
	char vfs[RELAY_VFS_MAX];	/* "A" or "A+B", for logs */
	struct vhost_dev dev;
	int listen_fd;
	int conn_fd;
	struct uloop_src listen_src;
	struct uloop_src conn_src;
	struct relay_port port[RELAY_MAX_PORTS];
	unsigned int nlanes;
	struct relay_lane *lane[RELAY_MAX_PORTS];
	unsigned int ctl_depth;		/* relay_ctl_begin() without its end */
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
	struct log_limit loglim;	/* what the frontend makes us log */
	/* A lane found the fault count moved (util/fault_guard.h): the home
	 * thread looks whether the mappings are ours.
	 */
	int fault_efd;
	struct uloop_src fault_src;
	/* The failover agent's event queue (relay_open()'s @events), or NULL,
	 * posted to from the home thread only; what it was last told about
	 * the rings. watch_tx: the agent waits for the guest's next frame
	 * (RELAY_OP_WATCH_TX), set by the home thread and taken by the lane
	 * that sees the frame; guest_tx_seen: a lane elsewhere saw it, and
	 * signalled fault_efd for the home thread to post the event.
	 */
	struct evq *events;
	bool rings_running;
	/* No member to send on (the active one down or gone, and no other
	 * running): the guest's frames are handed back unsent; the AF_XDP
	 * sockets stay while the link does (nports 0 once it is gone).
	 */
	bool vf_paused;
	bool vf_closed;			/* relay_close() began: no more looks */
	struct uloop_work vf_work;	/* look at the VF again, on this worker */
	_Atomic bool watch_tx;
	_Atomic bool guest_tx_seen;
	/* The VF's NAPI deferral, for socket busy polling while a lane's
	 * loop busy-polls.
	 */
	struct vf_napi napi;
	struct relay_conn_stats st;
	struct relay_qcount qc[RELAY_MAX_PORTS];	/* queue i: its lane's */
	/* Scratch, too big for the stack: the message being received (rx). */
	struct vhost_user_msg msg;
	/* Offloads, per queue pair: the tx side's state (a TSO frame being
	 * cut), written by the pair's lane only.
	 */
	struct virtio_net_txq txq[VHOST_DEV_MAX_QUEUE_PAIRS];
};

/* Tell the agent, if there is one (relay_open()'s @events). */
void relay_post(struct relay *r, enum relay_event_type t);
/* The VF side (relay.c): AF_XDP sockets on each of member @m's VF rx
 * queues that has none yet, without the notices of a first open when
 * @quiet; closing those from queue @n on; closing every member's; how
 * many rx queues a VF has; the NAPI deferral for busy polling (the first
 * member's).
 */
int relay_open_ports(struct relay *r, struct relay_member *m, bool quiet);
void relay_trim_ports(struct relay *r, struct relay_member *m, unsigned int n);
void relay_close_ports(struct relay *r);
/* Send a RARP for @mac out of the active member: on the home thread, with
 * the lanes paused or parked. 0 or a negative errno (logged).
 */
int relay_announce(struct relay *r, const uint8_t mac[6]);
unsigned int vf_rx_queues(const char *ifname);
void relay_napi_setup(struct relay *r, bool quiet);

/* VF lifecycle (relay_vf.c): what the VF is at relay_open(); no more of
 * it from relay_close() on (a look may still be queued).
 */
void relay_vf_init(struct relay *r);
/* Around a change of the VF's ports (relay_vf.c): every lane off its loop,
 * then back where it was (on the home thread when the VF has fewer queues
 * than the guest, as the lanes would share ports), with the ports it has
 * now, looking at every ring.
 */
void relay_lanes_park(struct relay *r);
void relay_lanes_unpark(struct relay *r);
void relay_vf_close(struct relay *r);
/* Which of @n members a bond sends on, @active being the one it does now:
 * @active while it runs (no switch back), else the first running one;
 * NULL when none runs. Pure (relay_vf.c's policy, unit-tested).
 */
struct relay_member *relay_bond_pick(struct relay_member *m, unsigned int n,
				     struct relay_member *active);
/* The home thread is about to change what the lanes read (a message, the
 * connection coming or going): pause every lane attached elsewhere. And
 * after: every lane takes in what changed (rings started or stopped, kick
 * fds) and runs again.
 */
void relay_ctl_begin(struct relay *r);
void relay_ctl_end(struct relay *r);

/* Frames to and from the guest so far, all queues. */
void relay_frame_totals(const struct relay *r, uint64_t *to_guest,
			uint64_t *from_guest);

#endif
