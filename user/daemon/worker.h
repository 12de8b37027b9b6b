/* SPDX-License-Identifier: GPL-2.0 */
/* Worker threads: each owns one event loop and the relays placed on it, and
 * takes calls (open, close, read a relay) through its mailbox, so a relay is
 * only ever touched by its own thread and the datapath takes no lock.
 */
#ifndef VXDP_WORKER_H
#define VXDP_WORKER_H

#include <sys/types.h>

#include "config.h"
#include "relay.h"

#define WORKER_MAX RELAY_MAX

struct workers;

/* Start @n threads (1..WORKER_MAX), each with its own loop busy-polling
 * for @busy_poll_us (uloop_set_busy_poll()) and no relay yet. A worker whose
 * loop fails on its own signals the eventfd @fail_fd, so the caller can
 * shut everything down. 0 or a negative errno (logged; nothing left).
 */
int workers_start(struct workers **wp, unsigned int n, int fail_fd,
		  unsigned int busy_poll_us);

/* Stop every worker, each closing its relays on its own thread, and join
 * them. Returns 0, or -EIO when a worker's loop had failed.
 */
int workers_stop(struct workers *ws);

unsigned int workers_count(const struct workers *ws);

/* Where a new relay goes: the worker with the fewest relays, the lowest
 * number on a tie (so relays added one after the other go round robin).
 * The one place to put CPU placement or load balancing.
 */
unsigned int worker_pick(struct workers *ws, const struct relay_cfg *cfg);

/* Open a relay on worker @w (its footprint logged) and return it in @rp:
 * 0 or a negative errno (logged). Callers are serialised by the workers'
 * own lock, so the footprint measured is one relay's. @events: see
 * relay_open().
 */
int worker_relay_open(struct workers *ws, unsigned int w,
		      const struct relay_cfg *cfg, struct evq *events,
		      struct relay **rp);
/* Close @r, which worker_relay_open() put on worker @w. */
int worker_relay_close(struct workers *ws, unsigned int w, struct relay *r);
/* relay_do(@r, @op) on its worker. */
int worker_relay_do(struct workers *ws, unsigned int w, struct relay *r,
		    enum relay_op op);
/* A snapshot of @r's counters, taken on its worker. */
int worker_relay_stats(struct workers *ws, unsigned int w, struct relay *r,
		       struct relay_stats *st);

/* A link changed (@ifname NULL: notifications were lost): each worker
 * passes it to its relays (relay_vf_event()), which look at their VF on
 * their own thread afterwards; this returns once every worker has it.
 */
void workers_vf_event(struct workers *ws, int ifindex, const char *ifname);

/* The worker's kernel thread id (/proc/PID/task/TID), and its relay count. */
pid_t worker_tid(const struct workers *ws, unsigned int w);
unsigned int worker_nrelays(struct workers *ws, unsigned int w);

#endif
