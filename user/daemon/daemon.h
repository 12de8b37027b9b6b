/* SPDX-License-Identifier: GPL-2.0 */
/* The daemon's relays as runtime objects: the calls that add, remove, list
 * and read relays while the others run, and place their lanes on workers
 * (and move them when the load is uneven). The control socket, the config
 * file's reload and the failover agent all go through these, from any
 * thread but a worker's; each call is done when it returns.
 */
#ifndef VXDP_DAEMON_H
#define VXDP_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "relay.h"

struct vxdp_daemon;
struct evq;

/* Where a relay came from: a reload manages only the config file's. */
enum relay_origin {
	RELAY_FROM_CLI,		/* --relay */
	RELAY_FROM_FILE,	/* a [relay NAME] of the config file */
	RELAY_FROM_CONTROL,	/* added through the control socket */
};

struct daemon_lane_info {
	uint32_t qps;		/* guest queue pairs, a bit each */
	unsigned int worker;
};

struct daemon_relay_info {
	struct relay_cfg cfg;
	unsigned int worker;	/* home: connection, device, lane 0 */
	pid_t worker_tid;
	enum relay_origin origin;
	int node;		/* the VF's NUMA node when placed, -1: none */
	bool pinned;		/* worker= or cpu=: never moved */
	unsigned int nlanes;
	struct daemon_lane_info lane[RELAY_MAX_QUEUES];
	uint64_t moves;		/* lanes the balancer moved */
};

struct daemon_worker_info {
	pid_t tid;
	int cpu;		/* pinned to (--cpus), -1: anywhere */
	int node;		/* that CPU's NUMA node, -1: unknown */
	unsigned int relays;	/* whose home it is */
	unsigned int lanes;	/* lanes running on it */
	double load;		/* share of a core its thread used, last sample */
	double frames_per_s;	/* its lanes' frames, last sample */
	uint64_t cpu_ns;	/* its thread's CPU time so far */
	uint64_t moves_in, moves_out;
};

/* Start the workers of @cfg (workers, cpus, busy-poll, balancing), with no
 * relay yet (see workers_start()). @sysfs: the sysfs root NUMA facts are
 * read from ("/sys").
 */
int daemon_create(struct vxdp_daemon **dp, const struct daemon_cfg *cfg,
		  int fail_fd, const char *sysfs);
/* Close every relay, stop the workers. 0, or -EIO when a worker's loop had
 * failed.
 */
int daemon_destroy(struct vxdp_daemon *d);

/* Open a relay, its lanes placed on workers (worker=/cpu=, else by load
 * and NUMA node). -EEXIST when its name, vf or socket is another relay's,
 * -ENOSPC past RELAY_MAX, -EINVAL for a worker or CPU that does not exist,
 * or relay_open()'s error; @err says which, naming the relay.
 */
int daemon_relay_add(struct vxdp_daemon *d, const struct relay_cfg *cfg,
		     enum relay_origin origin, char *err, size_t errlen);
/* Several at once, opened in parallel on their workers (start-up): returns
 * how many failed, the first failure in @err.
 */
int daemon_relay_add_many(struct vxdp_daemon *d, const struct relay_cfg *cfg,
			  const enum relay_origin *origin, unsigned int n,
			  char *err, size_t errlen);
/* Close relay @name; -ENOENT when there is none. */
int daemon_relay_del(struct vxdp_daemon *d, const char *name, char *err,
		     size_t errlen);
/* Up to @max relays in the order they were added; returns how many. */
unsigned int daemon_relay_list(struct vxdp_daemon *d,
			       struct daemon_relay_info *info, unsigned int max);
int daemon_relay_get(struct vxdp_daemon *d, const char *name,
		     struct daemon_relay_info *info);
/* Counters of relay @name, read on its workers. */
int daemon_relay_stats(struct vxdp_daemon *d, const char *name,
		       struct relay_stats *st, char *err, size_t errlen);
/* relay_do() on relay @name, on its worker: steering of its MAC on or off,
 * an announcement, a watch for the guest's next frame (relay.h). -ENOENT
 * when there is no such relay.
 */
int daemon_relay_op(struct vxdp_daemon *d, const char *name, enum relay_op op,
		    char *err, size_t errlen);

/* Who keeps state per relay besides the daemon (the failover agent). Both
 * are called with the daemon's lock held, on the thread changing relays:
 * they must not call the daemon back.
 */
struct daemon_hooks {
	/* Relay @cfg is about to open: 0 with the event queue it is to post
	 * to in @events (NULL: none), or a negative errno with the reason in
	 * @err (the relay is not opened).
	 */
	int (*relay_opening)(void *arg, const struct relay_cfg *cfg, struct evq **events,
			     char *err, size_t errlen);
	/* Relay @name closed (or did not open after relay_opening()): it
	 * posts no more.
	 */
	void (*relay_closed)(void *arg, const char *name);
};

/* Set (NULL: clear) the hooks, before any relay is added. */
void daemon_set_hooks(struct vxdp_daemon *d, const struct daemon_hooks *h, void *arg);

/* Make the config file's relays those of @want (RELAY_FROM_FILE ones):
 * remove those gone, re-create those whose options changed, add the new,
 * leave the rest running. Returns the number of relays that failed (each
 * logged) and counts the changes in @added, @removed, @changed.
 */
int daemon_relay_sync(struct vxdp_daemon *d, const struct relay_cfg *want,
		      unsigned int n, unsigned int *added,
		      unsigned int *removed, unsigned int *changed);

/* A link changed (netlink; @ifname NULL: notifications were lost): the
 * relays whose VF it may be look at it again, each on its worker.
 */
void daemon_vf_event(struct vxdp_daemon *d, int ifindex, const char *ifname);

/* Sample the workers' load (their threads' CPU time, their lanes' frames)
 * and, with balancing on, move a busy lane from the busiest worker to the
 * idlest when that evens them out (placement.h: the marks and the
 * hysteresis). Every balance interval, from the thread that owns @d's
 * calls. The interval in milliseconds, 0 when nothing needs sampling (one
 * worker).
 */
void daemon_tick(struct vxdp_daemon *d);
unsigned int daemon_tick_ms(const struct vxdp_daemon *d);

unsigned int daemon_nrelays(struct vxdp_daemon *d);
unsigned int daemon_nworkers(struct vxdp_daemon *d);
int daemon_worker_get(struct vxdp_daemon *d, unsigned int w,
		      struct daemon_worker_info *info);
/* Lanes the balancer moved since start. */
uint64_t daemon_moves(struct vxdp_daemon *d);

#endif
