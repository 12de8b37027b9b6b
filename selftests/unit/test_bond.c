// SPDX-License-Identifier: GPL-2.0
/* Unit tests of VF bonds (vf=A+B): the member a bond sends on after a
 * change (relay_bond_pick(), relay_vf.c's policy), and the per-member
 * counters through the control protocol and back.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/ctl_proto.h"
#include "daemon/relay_impl.h"
#include "ktap.h"

static void test_pick(void)
{
	struct relay_member m[2];
	struct relay_member *a = &m[0], *b = &m[1];

	memset(m, 0, sizeof(m));
	KTAP_CHECK(relay_bond_pick(m, 2, a) == a && relay_bond_pick(m, 2, b) == b,
		   "both run: the active one stays");
	a->paused = true;
	KTAP_CHECK(relay_bond_pick(m, 2, a) == b, "A stops: B");
	a->paused = false;
	KTAP_CHECK(relay_bond_pick(m, 2, b) == b, "A back while B runs: B stays (no switch back)");
	b->paused = true;
	KTAP_CHECK(relay_bond_pick(m, 2, b) == a, "then B stops: A");
	a->paused = true;
	KTAP_CHECK(relay_bond_pick(m, 2, a) == NULL && relay_bond_pick(m, 2, b) == NULL,
		   "neither runs: none (paused)");
	b->paused = false;
	KTAP_CHECK(relay_bond_pick(m, 2, a) == b, "from none, B comes back: B");
	memset(m, 0, sizeof(m));
	KTAP_CHECK(relay_bond_pick(m, 1, a) == a, "one VF: itself while it runs");
	a->paused = true;
	KTAP_CHECK(relay_bond_pick(m, 1, a) == NULL, "one VF: none while it does not");
}

static void test_stats_json(void)
{
	struct relay_stats *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	json_object *o;
	int ok;

	a->nqueues = 1;
	a->nmembers = 2;
	a->switches = 3;
	strcpy(a->member[0].vf, "enp1s0v0");
	a->member[0].active = true;
	a->member[0].running = true;
	a->member[0].queues = 4;
	a->member[0].rx_frames = 1000;
	a->member[0].tx_frames = 900;
	a->member[0].activations = 1;
	a->member[0].announced = 1;
	strcpy(a->member[1].vf, "enp2s0v0");
	a->member[1].queues = 4;
	a->member[1].rx_frames = 7;
	a->member[1].tx_frames = 500;
	a->member[1].activations = 2;
	a->member[1].announced = 2;
	a->member[1].xdp_passed = 40;
	o = ctl_stats_json("vm1", a);
	ok = o && !ctl_stats_from_json(o, b) && !memcmp(a, b, sizeof(*a));
	KTAP_CHECK(ok, "a bond's members, their counters and switches: the same after the JSON trip");
	json_object_put(o);
	a->nmembers = 0;
	o = ctl_stats_json("vm1", a);
	ok = o && !json_object_object_get_ex(o, "bond", NULL);
	KTAP_CHECK(ok, "a relay on one VF: no bond object");
	json_object_put(o);
	free(a);
	free(b);
}

int main(void)
{
	ktap_plan(10);
	test_pick();
	test_stats_json();
	return ktap_finish();
}
