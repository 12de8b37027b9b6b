/* SPDX-License-Identifier: GPL-2.0 */
/* Worker threads: each owns one event loop and the relays whose home it is
 * (and the lanes of relays placed on it), and takes calls (open, close,
 * read a relay, move a lane) through its mailbox, so that a relay is only
 * ever touched by its threads and the datapath takes no lock.
 */
#ifndef VXDP_WORKER_H
#define VXDP_WORKER_H

#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "relay.h"

#define WORKER_MAX RELAY_MAX

struct workers;

struct workers_cfg {
	unsigned int n;			/* 1..WORKER_MAX */
	/* Worker i runs on CPU cpus[i % ncpus] only; ncpus 0: anywhere. */
	const int *cpus;
	unsigned int ncpus;
	unsigned int busy_poll_us;	/* uloop_set_busy_poll() */
	/* Signalled when a worker's loop fails on its own, so the caller can
	 * shut everything down.
	 */
	int fail_fd;
};

/* Start the workers, each with its own loop and no relay yet. 0 or a
 * negative errno (logged; nothing left).
 */
int workers_start(struct workers **wp, const struct workers_cfg *cfg);

/* Close the relays still open (each on its home worker) and stop and join
 * the workers. Returns 0, or -EIO when a worker's loop had failed.
 */
int workers_stop(struct workers *ws);

unsigned int workers_count(const struct workers *ws);

/* Open a relay with up to @nlanes lanes (relay_open()) on its home worker
 * @home; its footprint is logged. 0 or a negative errno (logged).
 */
int worker_relay_open(struct workers *ws, unsigned int home,
		      const struct relay_cfg *cfg, unsigned int nlanes,
		      struct evq *events, struct relay **rp);

/* Many opens at once, each on its worker, the workers in parallel (the
 * daemon's start-up). Each request's relay and err are filled in. @events:
 * see relay_open().
 */
struct worker_open {
	unsigned int home;
	const struct relay_cfg *cfg;
	unsigned int nlanes;
	struct evq *events;
	struct relay *relay;
	int err;
};
void workers_open(struct workers *ws, struct worker_open *req, unsigned int n);

/* Close @r, which worker_relay_open() put on @home. */
int worker_relay_close(struct workers *ws, unsigned int home, struct relay *r);
/* relay_do(@r, @op) on its home worker. */
int worker_relay_do(struct workers *ws, unsigned int home, struct relay *r,
		    enum relay_op op);
/* A snapshot of @r's counters, taken on its threads. */
int worker_relay_stats(struct workers *ws, unsigned int home, struct relay *r,
		       struct relay_stats *st);
/* Move lane @k of @r (home @home) to worker @to (relay_lane_move()). */
int worker_lane_move(struct workers *ws, unsigned int home, struct relay *r,
		     unsigned int k, unsigned int to);
/* The worker a host is (relay_lane_host()), or -1. */
int worker_of_host(const struct workers *ws, const struct relay_host *h);

/* A link changed (@ifname NULL: notifications were lost): each worker
 * passes it to its relays (relay_vf_event()), which look at their VF on
 * their own thread afterwards; this returns once every worker has it.
 */
void workers_vf_event(struct workers *ws, int ifindex, const char *ifname);

/* The worker's kernel thread id (/proc/PID/task/TID), the CPU it is pinned
 * to (-1: none), and the CPU time its thread has used, in nanoseconds.
 */
pid_t worker_tid(const struct workers *ws, unsigned int w);
int worker_cpu(const struct workers *ws, unsigned int w);
uint64_t worker_cpu_ns(const struct workers *ws, unsigned int w);

#endif
