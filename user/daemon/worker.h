/* SPDX-License-Identifier: GPL-2.0 */
/* Worker threads: each owns one event loop and the relays assigned to it,
 * opens them on its own thread and runs them until told to stop.
 */
#ifndef VXDP_WORKER_H
#define VXDP_WORKER_H

#include "config.h"
#include "relay.h"

#define WORKER_MAX 64

struct workers;

/* Start @nworkers threads (1..WORKER_MAX, at most @nrelays) and open relay i
 * of @relays (configured by @cfg[i]) on worker i % @nworkers. Returns once
 * every relay is open (0) or one failed to open (negative errno, logged; by
 * then every relay is closed and every thread joined). Each relay's memory
 * footprint is logged as it opens. A worker whose loop fails on its own
 * signals the eventfd @fail_fd, so the caller can shut everything down.
 * Each worker's loop busy-polls for @busy_poll_us after work
 * (uloop_set_busy_poll()).
 */
int worker_start_all(struct workers **wp, unsigned int nworkers,
		     struct relay *relays, const struct relay_cfg *cfg,
		     unsigned int nrelays, int fail_fd,
		     unsigned int busy_poll_us);

/* Stop every worker, each closing its relays on its own thread, and join
 * them. Returns 0, or -EIO when a worker's loop had failed.
 */
int worker_stop_all(struct workers *w);

#endif
