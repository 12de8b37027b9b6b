// SPDX-License-Identifier: GPL-2.0
/* Lane placement and balancing decisions, and NUMA facts from sysfs (see
 * placement.h).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement.h"
#include "util/cpulist.h"

/* Whether worker @i may take a lane of a VF on @node: on that node, or
 * anywhere when no worker is there (@any).
 */
static bool place_ok(const struct place_worker *w, unsigned int i, int node, bool any)
{
	return any || node < 0 || w[i].node == node;
}

static bool place_any(const struct place_worker *w, unsigned int n, int node)
{
	unsigned int i;

	if (node < 0)
		return true;
	for (i = 0; i < n; i++)
		if (w[i].node == node)
			return false;
	return true;
}

/* @a better than @b for a new lane. */
static bool place_better(const struct place_worker *a, const struct place_worker *b)
{
	if (a->load < b->load - PLACE_LOAD_EPS)
		return true;
	if (a->load > b->load + PLACE_LOAD_EPS)
		return false;
	return a->lanes < b->lanes;
}

unsigned int place_pick(const struct place_worker *w, unsigned int n, int node,
			bool *fallback)
{
	bool any = place_any(w, n, node);
	unsigned int i, best = n;

	*fallback = any && node >= 0;
	for (i = 0; i < n; i++) {
		if (!place_ok(w, i, node, any))
			continue;
		if (best == n || place_better(&w[i], &w[best]))
			best = i;
	}
	return best < n ? best : 0;
}

/* The least loaded worker other than @not that may take a lane of @node. */
static int place_idlest(const struct place_worker *w, unsigned int n, int node,
			unsigned int not)
{
	bool any = place_any(w, n, node);
	unsigned int i;
	int best = -1;

	for (i = 0; i < n; i++) {
		if (i == not || !place_ok(w, i, node, any))
			continue;
		if (best < 0 || w[i].load < w[best].load)
			best = i;
	}
	return best;
}

int place_balance(struct place_balance *b, const struct place_worker *w,
		  unsigned int nw, const struct place_lane *l, unsigned int nl,
		  uint64_t now_ms, unsigned int *to)
{
	unsigned int i, busiest = 0, idlest = 0;
	double best_gain = PLACE_BAL_GAIN;
	int pick = -1;

	if (nw < 2)
		return -1;
	for (i = 1; i < nw; i++) {
		if (w[i].load > w[busiest].load)
			busiest = i;
		if (w[i].load < w[idlest].load)
			idlest = i;
	}
	if (w[busiest].load - w[idlest].load < PLACE_BAL_GAP) {
		b->over = 0;
		return -1;
	}
	/* Hysteresis: a gap must last, not be one sample's burst. */
	if (++b->over < PLACE_BAL_PERIODS)
		return -1;
	for (i = 0; i < nl; i++) {
		double before, after, gain;
		int t;

		if (l[i].worker != busiest || l[i].pinned || l[i].load <= 0)
			continue;
		if (l[i].moved_ms && now_ms - l[i].moved_ms < PLACE_BAL_COOLDOWN_MS)
			continue;
		t = place_idlest(w, nw, l[i].node, busiest);
		if (t < 0)
			continue;
		/* A lane that is the whole gap only moves it elsewhere. */
		before = w[busiest].load - w[t].load;
		after = (w[busiest].load - l[i].load) - (w[t].load + l[i].load);
		if (after < 0)
			after = -after;
		gain = before - after;
		if (gain >= best_gain) {
			best_gain = gain;
			pick = i;
			*to = t;
		}
	}
	if (pick >= 0)
		b->over = 0;
	return pick;
}

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int err = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, len, f))
		err = -EIO;
	fclose(f);
	return err;
}

int numa_netdev_node(const char *sysfs, const char *ifname)
{
	char path[PATH_MAX], buf[32];
	char *end;
	long n;

	snprintf(path, sizeof(path), "%s/class/net/%s/device/numa_node", sysfs, ifname);
	if (read_line(path, buf, sizeof(buf)))
		return -1;
	n = strtol(buf, &end, 10);
	if (end == buf || n < 0 || n > INT_MAX)
		return -1;
	return n;
}

int numa_cpu_node(const char *sysfs, int cpu)
{
	char path[PATH_MAX], buf[4096];
	int cpus[1024], node = -1, k, n;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/devices/system/node", sysfs);
	d = opendir(path);
	if (!d)
		return -1;
	while (node < 0 && (de = readdir(d))) {
		if (sscanf(de->d_name, "node%d", &k) != 1 || k < 0)
			continue;
		snprintf(path, sizeof(path), "%s/devices/system/node/%s/cpulist", sysfs,
			 de->d_name);
		if (read_line(path, buf, sizeof(buf)))
			continue;
		n = cpulist_parse(buf, 1023, cpus, 1024);
		while (n-- > 0)
			if (cpus[n] == cpu)
				node = k;
	}
	closedir(d);
	return node;
}
