/* SPDX-License-Identifier: GPL-2.0 */
/* A relay: a VF (XDP steering + an AF_XDP socket per VF queue) joined to
 * one vhost-user virtio-net device. Opened, run, read and closed on the
 * thread that owns its event loop (a worker); struct relay is private to
 * the relay module.
 */
#ifndef VXDP_RELAY_H
#define VXDP_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "util/mbox.h"
#include "util/uring_loop.h"
#include "vhost/vhost_user_dev.h"
#include "xdp/xdp_steer.h"

struct relay;
struct evq;

#define RELAY_MAX_QUEUES VHOST_DEV_MAX_QUEUE_PAIRS

/* What a relay tells the failover agent about its frontend, posted from
 * its worker into the event queue relay_open() was given (util/evq.h).
 */
enum relay_event_type {
	RELAY_EV_FRONTEND_UP,
	RELAY_EV_RINGS_RUNNING,	/* queue pair 0's rx and tx rings both run */
	RELAY_EV_RINGS_STOPPED,
	RELAY_EV_LOG_ON,	/* VHOST_F_LOG_ALL acked: the guest migrates out */
	RELAY_EV_LOG_OFF,
	RELAY_EV_SEND_RARP,	/* announced: the guest runs here after a migration */
	RELAY_EV_GUEST_TX,	/* the guest's first frame after RELAY_OP_WATCH_TX */
	RELAY_EV_FRONTEND_GONE,
};

struct relay_event {
	enum relay_event_type type;
	uint64_t at_ns;		/* CLOCK_MONOTONIC */
};

/* What relay_do() does to a running relay. */
enum relay_op {
	RELAY_OP_STEER_ON,	/* steer the MAC's frames to the guest (mac=) */
	RELAY_OP_STEER_OFF,	/* ... or leave them to the host stack */
	RELAY_OP_ANNOUNCE,	/* send a RARP for the MAC on the VF */
	RELAY_OP_WATCH_TX,	/* post RELAY_EV_GUEST_TX at the guest's next frame */
};

/* One queue's counters. Queue i is VF rx queue i (to the guest, whichever
 * guest queue a flow hash picks) and guest tx queue i (from the guest).
 * The relay's own are written only by the owning worker; the xsk_* ones are
 * the kernel's for the AF_XDP socket on VF queue i (XDP_STATISTICS).
 */
struct relay_queue_stats {
	uint64_t to_guest, to_guest_bytes;	/* VF -> guest */
	uint64_t from_guest, from_guest_bytes;	/* guest -> VF */
	uint64_t drop_no_guest;		/* VF frames, no guest rx ring running */
	/* VF frames the kernel dropped (rx ring full, no fill buffer) while
	 * the relay waited for the guest to post rx buffers: part of
	 * xsk_rx_ring_full + xsk_rx_dropped.
	 */
	uint64_t drop_no_buffer;
	uint64_t drop_too_big;		/* VF frames larger than the guest's buffers */
	uint64_t drop_bad_frame;	/* guest frames malformed or too big for the VF */
	uint64_t drop_broken_ring;	/* lost to a malformed descriptor chain */
	uint64_t drop_vf_down;		/* guest frames while the VF was down or gone */
	uint64_t xsk_rx_dropped;	/* kernel: no fill-ring buffer, or too big */
	uint64_t xsk_rx_ring_full;	/* kernel: the XSK rx ring was full */
	uint64_t xsk_fill_ring_empty;	/* kernel: times the fill ring was empty */
	uint64_t xsk_invalid;		/* kernel: invalid rx/tx descriptors */
};

/* A bond member's (vf=A+B) counters and state. */
struct relay_member_stats {
	char vf[IF_NAMESIZE];
	bool active;			/* the guest's frames go out of it */
	bool running;			/* up, with carrier */
	unsigned int queues;		/* AF_XDP sockets on it */
	uint64_t rx_frames;		/* to the guest, received on it */
	uint64_t tx_frames;		/* from the guest, sent out of it */
	uint64_t activations;		/* switches that made it the active one */
	uint64_t announced;		/* RARP announcements sent out of it */
	uint64_t xdp_passed;		/* frames its XDP program left to the host */
};

/* A snapshot of a relay's counters, taken on its worker. */
struct relay_stats {
	unsigned int nqueues;		/* max(VF rx queues, guest queue pairs) */
	struct relay_queue_stats q[RELAY_MAX_QUEUES];
	struct relay_queue_stats total;
	uint64_t connects;
	uint64_t refused;		/* frontends turned away: one at a time */
	bool connected;			/* a frontend is attached now */
	bool running;			/* its queue pair 0 runs */
	bool logging;			/* VHOST_F_LOG_ALL acked */
	bool steer_paused;		/* RELAY_OP_STEER_OFF */
	unsigned int vf_queues;		/* AF_XDP sockets (a bond's first member's) */
	bool zerocopy;
	struct xdp_steer_stats xdp;	/* every member's */
	/* A bond: its two members, and the switches of the active one; 0
	 * members for a relay on one VF.
	 */
	unsigned int nmembers;
	struct relay_member_stats member[2];
	uint64_t switches;
};

/* A loop a relay, or a lane of it, runs on (a worker's), and the mailbox
 * into its thread.
 */
struct relay_host {
	struct uloop *loop;
	struct mbox *mbox;
	unsigned int id;	/* for logs: the worker's number */
};

/* Set up steering, the AF_XDP sockets and the frontend socket, and register
 * with @home's loop, on its thread: the relay's home, where its connection
 * and vhost-user device live and where every call below is made. Up to
 * @nlanes lanes (datapath parts, see relay_lane_move()) when the VF has a
 * queue for each guest queue pair; all on @home to start with. With
 * @events, the relay posts struct relay_event there (and wakes its reader)
 * until relay_close(), always from the home thread. Returns 0 or a negative
 * errno (already logged); on error nothing is left behind.
 */
int relay_open(struct relay **rp, const struct relay_cfg *cfg,
	       struct relay_host *home, unsigned int nlanes, struct evq *events);

/* On the home thread: 0, -EINVAL (steering or announcing without mac=),
 * or another negative errno.
 */
int relay_do(struct relay *r, enum relay_op op);
const char *relay_op_name(enum relay_op op);
const char *relay_event_name(enum relay_event_type t);

/* Detach XDP, close sockets, remove the socket file, log final counters,
 * free @r. Lanes elsewhere stop first (their threads are called).
 */
void relay_close(struct relay *r);

/* Lanes: a relay's guest queue pairs, each with the VF queues feeding it,
 * grouped so that a lane can run on another loop than the relay's home.
 * Lane k has queue pairs k, k + n, ... of n lanes.
 */
unsigned int relay_nlanes(const struct relay *r);
uint32_t relay_lane_qps(const struct relay *r, unsigned int k);	/* bit per pair */
const struct relay_host *relay_lane_host(const struct relay *r, unsigned int k);
/* Frames lane @k moved so far; from any thread (for load balancing). */
uint64_t relay_lane_frames(const struct relay *r, unsigned int k);
/* Move lane @k to @to (on the home thread): paused and taken off its loop
 * on its thread, then attached to @to's loop on that one, where it runs
 * every ring; frames wait on the vrings and XSK rings meanwhile, none is
 * lost. 0, or a negative errno with the lane where it was.
 */
int relay_lane_move(struct relay *r, unsigned int k, struct relay_host *to);

const struct relay_cfg *relay_get_cfg(const struct relay *r);

/* Counters now; on the owning thread (the kernel's are read with syscalls:
 * control path).
 */
void relay_read_stats(struct relay *r, struct relay_stats *st);

/* A link changed (netlink): if it is @r's VF by name, or the link @r's
 * sockets are on (@ifindex), look at the VF again on @r's worker: pause
 * while it is down or gone, re-open the AF_XDP sockets and re-attach XDP
 * when it is up again, has another MTU, other rx queues, or is another
 * link of the same name. @ifname NULL: notifications were lost, look
 * anyway. On the owning thread; the work runs after this round.
 */
void relay_vf_event(struct relay *r, int ifindex, const char *ifname);

/* Add @src's counters into @dst. */
void relay_queue_stats_add(struct relay_queue_stats *dst,
			   const struct relay_queue_stats *src);

#endif
