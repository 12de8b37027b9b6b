/* SPDX-License-Identifier: GPL-2.0 */
/* Where lanes run: the pure decisions (a new lane's worker, which lane the
 * balancer moves) and the NUMA facts they use, read from a sysfs tree whose
 * root is a parameter (unit tests give a fake one).
 */
#ifndef VXDP_PLACEMENT_H
#define VXDP_PLACEMENT_H

#include <stdbool.h>
#include <stdint.h>

/* Loads within this share of a core count as equal (then fewer lanes win). */
#define PLACE_LOAD_EPS		0.05
/* The balancer moves a lane when the busiest and the idlest worker differ
 * by this much, for PLACE_BAL_PERIODS samples in a row, and the move makes
 * the difference smaller by at least PLACE_BAL_GAIN; a lane moved stays
 * put for PLACE_BAL_COOLDOWN_MS.
 */
#define PLACE_BAL_GAP		0.25
#define PLACE_BAL_GAIN		0.10
#define PLACE_BAL_PERIODS	2
#define PLACE_BAL_COOLDOWN_MS	5000

struct place_worker {
	double load;		/* share of a core (its thread's CPU time) */
	unsigned int lanes;	/* lanes on it */
	int node;		/* NUMA node of its CPU; -1: not pinned, unknown */
};

/* The worker for a new lane of a VF on @node (-1: no preference): among
 * the workers on that node, or all of them when none is there (*fallback
 * then true); the least loaded, loads within PLACE_LOAD_EPS being equal,
 * then the one with fewest lanes, then the lowest number.
 */
unsigned int place_pick(const struct place_worker *w, unsigned int n, int node,
			bool *fallback);

struct place_lane {
	unsigned int worker;
	double load;		/* its share of its worker's load */
	int node;		/* its VF's NUMA node, -1: none */
	bool pinned;		/* worker= or cpu=: never moved */
	uint64_t moved_ms;	/* when it last moved (0: never) */
};

struct place_balance {
	unsigned int over;	/* samples in a row with the gap over the mark */
};

/* One balancing step, after a load sample at @now_ms: the lane to move
 * (its index; *to its new worker) or -1. A lane goes only to a worker of
 * its VF's node when there is one.
 */
int place_balance(struct place_balance *b, const struct place_worker *w,
		  unsigned int nw, const struct place_lane *l, unsigned int nl,
		  uint64_t now_ms, unsigned int *to);

/* NUMA node of netdev @ifname (@sysfs/class/net/IF/device/numa_node), -1
 * when it has none (a virtual device, a one-node machine says -1 too).
 */
int numa_netdev_node(const char *sysfs, const char *ifname);
/* NUMA node of CPU @cpu (the @sysfs/devices/system/node/nodeN/cpulist that
 * lists it), -1 when none does.
 */
int numa_cpu_node(const char *sysfs, int cpu);

#endif
