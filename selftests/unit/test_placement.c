// SPDX-License-Identifier: GPL-2.0
/* Unit tests of lane placement: NUMA facts read from a fake sysfs tree (this
 * machine has one node), a new lane's worker, the balancer's hysteresis, and
 * the CPU lists behind --cpus, cpu= and the node cpulists.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/placement.h"
#include "ktap.h"
#include "util/cpulist.h"

static char root[64];

static int put(const char *rel, const char *text)
{
	char path[256], *p;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	/* mkdir -p the directories on the way */
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	fclose(f);
	return 0;
}

/* Two nodes: CPUs 0-1,4 on node 0, 2-3,5-7 on node 1; eth1 on node 1,
 * eth0 on node 0, veth0 with no device (virtual), eth2 saying -1 (what a
 * one-node machine says), eth3 garbage.
 */
static int fake_sysfs(void)
{
	snprintf(root, sizeof(root), "/tmp/vxdp-sysfs.XXXXXX");
	if (!mkdtemp(root))
		return -errno;
	return put("devices/system/node/node0/cpulist", "0-1,4\n") ||
	       put("devices/system/node/node1/cpulist", "2-3,5-7\n") ||
	       put("devices/system/node/possible", "0-1\n") ||
	       put("class/net/eth0/device/numa_node", "0\n") ||
	       put("class/net/eth1/device/numa_node", "1\n") ||
	       put("class/net/eth2/device/numa_node", "-1\n") ||
	       put("class/net/eth3/device/numa_node", "x\n") ||
	       put("class/net/veth0/ifindex", "7\n");
}

static void test_numa(void)
{
	int ok = !fake_sysfs();

	KTAP_CHECK(ok, "a fake sysfs tree with two NUMA nodes");
	KTAP_CHECK(numa_netdev_node(root, "eth0") == 0 && numa_netdev_node(root, "eth1") == 1,
		   "a VF's node read from class/net/VF/device/numa_node");
	KTAP_CHECK(numa_netdev_node(root, "veth0") == -1 && numa_netdev_node(root, "eth2") == -1 &&
		   numa_netdev_node(root, "eth3") == -1 && numa_netdev_node(root, "nope") == -1,
		   "no node (-1): virtual device, -1 written, garbage, no such device");
	KTAP_CHECK(numa_cpu_node(root, 0) == 0 && numa_cpu_node(root, 4) == 0 &&
		   numa_cpu_node(root, 2) == 1 && numa_cpu_node(root, 7) == 1,
		   "a CPU's node from devices/system/node/nodeN/cpulist (ranges and singles)");
	KTAP_CHECK(numa_cpu_node(root, 8) == -1 && numa_cpu_node("/nonexistent", 0) == -1,
		   "a CPU no node lists, or no node directory: -1");
	KTAP_CHECK(numa_netdev_node("/sys", "lo") == -1,
		   "the real sysfs: lo has no NUMA node");
	if (ok) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
		if (system(cmd))
			ktap_diag("could not remove %s", root);
	}
}

static void test_pick(void)
{
	/* Workers 0, 1 on node 0; 2, 3 on node 1. */
	struct place_worker w[4] = {
		{ .load = 0.50, .lanes = 1, .node = 0 },
		{ .load = 0.10, .lanes = 3, .node = 0 },
		{ .load = 0.00, .lanes = 0, .node = 1 },
		{ .load = 0.02, .lanes = 0, .node = 1 },
	};
	bool fb = true;

	KTAP_CHECK(place_pick(w, 4, 0, &fb) == 1 && !fb,
		   "a VF on node 0: the least loaded worker of node 0, though node 1's are idler");
	KTAP_CHECK(place_pick(w, 4, 1, &fb) == 2 && !fb,
		   "a VF on node 1: node 1's least loaded");
	KTAP_CHECK(place_pick(w, 4, -1, &fb) == 2 && !fb,
		   "no node: the least loaded of all");
	KTAP_CHECK(place_pick(w, 4, 3, &fb) == 2 && fb,
		   "a node where no worker runs: any worker, and the fallback said");
	w[2].lanes = 2;
	KTAP_CHECK(place_pick(w, 4, 1, &fb) == 3,
		   "loads within PLACE_LOAD_EPS are equal: fewer lanes win");
	w[3].lanes = 2;
	KTAP_CHECK(place_pick(w, 4, 1, &fb) == 2,
		   "equal loads and lanes: the lowest number");
	{
		struct place_worker u[2] = { { 0, 1, -1 }, { 0, 1, -1 } };

		KTAP_CHECK(place_pick(u, 2, 0, &fb) == 0 && fb,
			   "unpinned workers (node unknown) and a VF on node 0: fallback, lowest number");
	}
}

static void test_balance(void)
{
	struct place_worker w[2] = { { 0.90, 2, -1 }, { 0.05, 1, -1 } };
	struct place_lane l[3] = {
		{ .worker = 0, .load = 0.45, .node = -1 },
		{ .worker = 0, .load = 0.45, .node = -1 },
		{ .worker = 1, .load = 0.05, .node = -1, .pinned = true },
	};
	struct place_balance b = { 0 };
	unsigned int to = 99;
	int k;

	KTAP_CHECK(place_balance(&b, w, 2, l, 3, 10000, &to) == -1,
		   "one sample over the gap: no move yet (hysteresis)");
	k = place_balance(&b, w, 2, l, 3, 11000, &to);
	KTAP_CHECK((k == 0 || k == 1) && to == 1,
		   "the gap lasts a second sample: a busy lane moves to the idlest");
	b.over = 0;
	w[0].load = 0.25;
	w[1].load = 0.05;
	KTAP_CHECK(place_balance(&b, w, 2, l, 3, 12000, &to) == -1 &&
		   place_balance(&b, w, 2, l, 3, 13000, &to) == -1 && b.over == 0,
		   "a gap under PLACE_BAL_GAP: never a move, the count reset");
	/* One lane that is the whole gap: moving it only moves the gap. */
	{
		struct place_worker w1[2] = { { 0.80, 1, -1 }, { 0.00, 0, -1 } };
		struct place_lane l1[1] = { { .worker = 0, .load = 0.80, .node = -1 } };

		b.over = 0;
		place_balance(&b, w1, 2, l1, 1, 20000, &to);
		KTAP_CHECK(place_balance(&b, w1, 2, l1, 1, 21000, &to) == -1,
			   "a lane that is the whole gap stays (no ping-pong)");
	}
	w[0].load = 0.90;
	w[1].load = 0.05;
	l[0].moved_ms = 30000;
	l[1].pinned = true;
	b.over = 0;
	place_balance(&b, w, 2, l, 3, 31000, &to);
	KTAP_CHECK(place_balance(&b, w, 2, l, 3, 32000, &to) == -1,
		   "a lane moved within the cool-down, or pinned, stays");
	KTAP_CHECK(place_balance(&b, w, 2, l, 3, 30000 + PLACE_BAL_COOLDOWN_MS, &to) == 0,
		   "after the cool-down it may move again");
	{
		/* Node 0: workers 0, 1; node 1: worker 2, idlest of all. */
		struct place_worker w2[3] = { { 0.90, 2, 0 }, { 0.30, 1, 0 }, { 0.00, 0, 1 } };
		struct place_lane l2[2] = {
			{ .worker = 0, .load = 0.45, .node = 0 },
			{ .worker = 0, .load = 0.45, .node = 0 },
		};

		b.over = 0;
		place_balance(&b, w2, 3, l2, 2, 40000, &to);
		k = place_balance(&b, w2, 3, l2, 2, 41000, &to);
		KTAP_CHECK(k >= 0 && to == 1,
			   "a lane of a node-0 VF moves within node 0, not to node 1's idler worker");
	}
}

static void test_cpulist(void)
{
	int v[8], n;
	char buf[64];

	n = cpulist_parse("0-2,5,7", 63, v, 8);
	KTAP_CHECK(n == 5 && v[0] == 0 && v[2] == 2 && v[3] == 5 && v[4] == 7,
		   "cpulist_parse: ranges and singles, in order");
	n = cpulist_parse("3+1", 63, v, 8);
	KTAP_CHECK(n == 2 && v[0] == 3 && v[1] == 1, "'+' separates too (cpu=3+1)");
	KTAP_CHECK(cpulist_parse("1,1", 63, v, 8) == -EINVAL &&
		   cpulist_parse("2-1", 63, v, 8) == -EINVAL &&
		   cpulist_parse("64", 63, v, 8) == -EINVAL &&
		   cpulist_parse("", 63, v, 8) == -EINVAL &&
		   cpulist_parse("1,x", 63, v, 8) == -EINVAL &&
		   cpulist_parse("0-9", 63, v, 8) == -E2BIG,
		   "cpulist_parse refuses duplicates, reversed ranges, over max, empty, junk, too many");
	n = cpulist_parse("0-3,8,10-11", 63, v, 8);
	cpulist_format(v, n, buf, sizeof(buf));
	KTAP_CHECK(!strcmp(buf, "0-3,8,10,11"), "cpulist_format: ranges of three or more, pairs as two");
}

int main(void)
{
	ktap_plan(6 + 7 + 7 + 4);
	test_numa();
	test_pick();
	test_balance();
	test_cpulist();
	return ktap_finish();
}
