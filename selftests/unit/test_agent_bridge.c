// SPDX-License-Identifier: GPL-2.0
/* The failover agent's bridge backend and netlink watch against a real
 * Linux bridge, in a network namespace of the test's own (root): port setup
 * (learning and flooding off), static FDB entries (add, EEXIST, delete,
 * verify), frames delivered only where an entry sends them, port state as
 * the primary's link state, notifications of entries removed by others,
 * and the state machine driving the backend through a migration.
 */
#include <net/if.h>	/* before <linux/if.h>, which libnl pulls in */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

#include "agent/failover_backend.h"
#include "agent/failover_fsm.h"
#include "net/nl_watch.h"
#include "fixtures.h"
#include "ktap.h"

#define ETH_P_TEST 0x88b5	/* IEEE local experimental */

static const uint8_t vm_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		ktap_diag("'%s' exited %d", cmd, rc);
	return rc;
}

static int packet_sock(const char *dev)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_TEST) };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_TEST));

	if (fd < 0)
		return -1;
	sll.sll_ifindex = (int)if_nametoindex(dev);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void drain(int fd)
{
	char buf[2048];

	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
}

/* A frame to the VM's MAC from the uplink's far end; which port's far end
 * sees it within 300 ms: 'p' (primary), 'r' (relay), 'b' both, '-' none.
 */
static char deliver(int tx, int rx_pri, int rx_relay)
{
	uint8_t f[64] = { 0 };
	struct pollfd p[2] = { { .fd = rx_pri, .events = POLLIN }, { .fd = rx_relay, .events = POLLIN } };
	int got_p = 0, got_r = 0;
	char buf[2048];

	drain(rx_pri);
	drain(rx_relay);
	memcpy(f, vm_mac, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = ETH_P_TEST >> 8;
	f[13] = ETH_P_TEST & 0xff;
	if (send(tx, f, sizeof(f), 0) != sizeof(f))
		return '?';
	/* a frame reaches a port's far end at once; the wait is the bound
	 * for "nothing came"
	 */
	while (poll(p, 2, 300) > 0) {
		if ((p[0].revents & POLLIN) && recv(rx_pri, buf, sizeof(buf), 0) > 0)
			got_p = 1;
		if ((p[1].revents & POLLIN) && recv(rx_relay, buf, sizeof(buf), 0) > 0)
			got_r = 1;
		if (got_p && got_r)
			break;
	}
	return got_p && got_r ? 'b' : got_p ? 'p' : got_r ? 'r' : '-';
}

struct watch_rec {
	struct fo_backend *b;
	int n;
	struct fo_event last;
	int matched;
	int bare_newlink;
};

static void watch_fn(const struct nl_watch_event *nev, void *arg)
{
	struct watch_rec *r = arg;
	struct fo_event ev;

	r->n++;
	if (fo_backend_match(r->b, nev, &ev) == 1) {
		r->matched++;
		r->last = ev;
	}
}

/* dispatch until @pred or 2 s */
static int watch_until(struct nl_watch *w, struct watch_rec *r, enum fo_event_type t)
{
	struct pollfd p = { .fd = nl_watch_fd(w), .events = POLLIN };
	int i;

	r->matched = 0;
	for (i = 0; i < 20; i++) {
		if (poll(&p, 1, 100) > 0 && nl_watch_dispatch(w) < 0)
			return 0;
		if (r->matched && r->last.type == t)
			return 1;
	}
	return 0;
}

static int apply_all(struct fo_backend *b, const struct fo_result *res)
{
	unsigned int i;
	int err;

	for (i = 0; i < res->n; i++) {
		err = fo_backend_apply(b, &res->act[i]);
		if (err < 0)
			return err;
	}
	return 0;
}

int main(void)
{
	struct fo_backend_cfg cfg = { .kind = FO_BACKEND_BRIDGE };
	struct fo_action a = { 0 };
	struct fo_backend *b = NULL;
	struct nl_watch *w = NULL;
	struct watch_rec rec = { 0 };
	struct fo_obs obs;
	struct fo_vm vm;
	struct fo_result res;
	struct fo_event ev = { 0 };
	struct fo_cfg fcfg = { 0 };
	struct fo_world want;
	int tx, rx_p, rx_r, err;

	if (geteuid())
		ktap_skip_all("needs root (network namespace, bridge)");
	if (unshare(CLONE_NEWNET))
		ktap_skip_all("cannot create a network namespace");
	ktap_plan(24);
	/* the namespace dies with the process: nothing to clean up */
	if (sh("ip link add br0 type bridge && ip link set br0 up &&"
	       "for p in pri relay upl; do ip link add $p type veth peer name ${p}p &&"
	       " ip link set dev $p master br0 && ip link set dev $p up && ip link set dev ${p}p up || exit 1;"
	       " done") ||
	    sh("ip link set dev br0 type bridge stp_state 0 forward_delay 0 2>/dev/null; true")) {
		ktap_diag("topology setup failed");
		return KSFT_FAIL;
	}
	memcpy(cfg.mac, vm_mac, 6);
	strcpy(cfg.bridge, "br0");
	strcpy(cfg.primary_port, "pri");
	strcpy(cfg.relay_port, "relay");

	/* 1-2: open prepares the ports */
	err = fo_backend_open(&b, &cfg);
	KTAP_CHECK(!err, "bridge: backend opens on br0 with ports pri and relay");
	if (err) {
		ktap_diag("open: %s", strerror(-err));
		return KSFT_FAIL;
	}
	KTAP_CHECK(out_has("ip -d link show dev pri", "learning off") &&
		   out_has("ip -d link show dev pri", "flood off") &&
		   out_has("ip -d link show dev relay", "learning off") &&
		   out_has("ip -d link show dev relay", "flood off"),
		   "bridge: learning and unicast flooding off on both ports (ip -d link)");
	strcpy(cfg.relay_port, "upl");
	cfg.bridge[0] = 'x';
	KTAP_CHECK(fo_backend_open(&(struct fo_backend *){ NULL }, &cfg) == -ENODEV,
		   "bridge: a missing bridge is -ENODEV");
	strcpy(cfg.bridge, "br0");
	strcpy(cfg.relay_port, "relay");

	tx = packet_sock("uplp");
	rx_p = packet_sock("prip");
	rx_r = packet_sock("relayp");
	if (tx < 0 || rx_p < 0 || rx_r < 0) {
		ktap_diag("packet sockets: %s", strerror(errno));
		return KSFT_FAIL;
	}
	KTAP_CHECK(deliver(tx, rx_p, rx_r) == '-', "switch: no entry, no flooding: the VM's MAC goes nowhere");

	/* FDB entries */
	a.type = FO_ACT_FDB_ADD;
	a.path = FO_PATH_STANDBY;
	KTAP_CHECK(!fo_backend_apply(b, &a) &&
		   out_has("bridge fdb show dev relay", "52:54:00:12:34:56 master br0 static"),
		   "fdb: standby entry added as a static master entry (bridge fdb show)");
	KTAP_CHECK(deliver(tx, rx_p, rx_r) == 'r', "switch: frames to the VM go to the relay's port only");
	KTAP_CHECK(!fo_backend_apply(b, &a), "fdb: adding it again (EEXIST from the kernel) is success");
	a.path = FO_PATH_PRIMARY;
	KTAP_CHECK(fo_backend_apply(b, &a) == -EEXIST &&
		   out_has("bridge fdb show dev relay", "52:54:00:12:34:56"),
		   "fdb: the MAC on another port: -EEXIST, the entry not moved");
	a.type = FO_ACT_FDB_DEL;
	a.path = FO_PATH_STANDBY;
	KTAP_CHECK(!fo_backend_apply(b, &a) &&
		   !out_has("bridge fdb show dev relay", "52:54:00:12:34:56"),
		   "fdb: standby entry deleted");
	KTAP_CHECK(!fo_backend_apply(b, &a), "fdb: deleting an absent entry is success");
	a.type = FO_ACT_FDB_ADD;
	a.path = FO_PATH_PRIMARY;
	KTAP_CHECK(!fo_backend_apply(b, &a) && deliver(tx, rx_p, rx_r) == 'p',
		   "switch: primary entry: frames to the VM go to the primary's port only");

	/* link state = port state */
	a = (struct fo_action){ .type = FO_ACT_VF_LINK, .link = FO_LINK_DISABLE };
	KTAP_CHECK(!fo_backend_apply(b, &a) && out_has("ip -d link show dev pri", "state disabled") &&
		   deliver(tx, rx_p, rx_r) == '-',
		   "link: disable = port state disabled, nothing delivered");
	a.link = FO_LINK_AUTO;
	KTAP_CHECK(!fo_backend_apply(b, &a) && out_has("ip -d link show dev pri", "state forwarding") &&
		   deliver(tx, rx_p, rx_r) == 'p',
		   "link: auto = port state forwarding, delivered again");

	/* observation */
	memset(&obs, 0, sizeof(obs));
	err = fo_backend_observe(b, &obs);
	KTAP_CHECK(!err && obs.valid == (FO_W_LINK | FO_W_FDB_PRI | FO_W_FDB_STBY) &&
		   obs.w.fdb_primary && !obs.w.fdb_standby && obs.w.link == FO_LINK_AUTO,
		   "observe: primary entry, no standby entry, forwarding; MAC not claimed");

	/* notifications */
	rec.b = b;
	err = nl_watch_open(&w, watch_fn, &rec);
	KTAP_CHECK(!err, "watch: netlink watch opened (RTNLGRP_LINK, RTNLGRP_NEIGH)");
	if (err)
		return KSFT_FAIL;
	sh("bridge fdb del 52:54:00:12:34:56 dev pri master");
	KTAP_CHECK(watch_until(w, &rec, FO_EV_FDB_REMOVED) && rec.last.path == FO_PATH_PRIMARY,
		   "watch: an entry removed by someone else is FO_EV_FDB_REMOVED, primary path");
	sh("ip link set dev pri down");
	KTAP_CHECK(watch_until(w, &rec, FO_EV_VF_CHANGED), "watch: the primary port going down is noticed");
	sh("ip link set dev pri up");
	watch_until(w, &rec, FO_EV_VF_CHANGED);
	/* the relay's netdev: matched by fo_backend_match for every backend */
	sh("ip link set dev relay down");
	KTAP_CHECK(watch_until(w, &rec, FO_EV_RELAY_VF) && rec.last.up,
		   "watch: a change on the relay's port is FO_EV_RELAY_VF (netdev present)");
	sh("ip link set dev relay up");
	watch_until(w, &rec, FO_EV_RELAY_VF);

	/* the state machine drives the backend: reconcile, then migrate out */
	memcpy(fcfg.mac, vm_mac, 6);
	fo_vm_init(&vm, &fcfg);
	memset(&obs, 0, sizeof(obs));
	fo_backend_observe(b, &obs);
	obs.frontend_known = true;
	obs.frontend = FO_FE_RUNNING;
	ev.type = FO_EV_OBSERVED;
	ev.obs = &obs;
	fo_step(&vm, &ev, 1, &res);
	ktap_diag("%s", res.log);
	KTAP_CHECK(vm.state == FO_PRIMARY && !apply_all(b, &res) && deliver(tx, rx_p, rx_r) == 'p',
		   "fsm: reconciled onto the primary, the removed entry put back");
	ev = (struct fo_event){ .type = FO_EV_QMP_UNPLUG_PRIMARY };
	fo_step(&vm, &ev, 2, &res);
	KTAP_CHECK(!apply_all(b, &res) && deliver(tx, rx_p, rx_r) == 'p',
		   "fsm: unplug requested: still on the primary");
	ev = (struct fo_event){ .type = FO_EV_QMP_MIGRATION, .mig = FO_MIG_ACTIVE };
	fo_step(&vm, &ev, 3, &res);
	ktap_diag("%s", res.log);
	KTAP_CHECK(vm.state == FO_SRC_STANDBY && !apply_all(b, &res) &&
		   deliver(tx, rx_p, rx_r) == 'r',
		   "fsm: migration active: frames to the VM now go to the relay");
	memset(&obs, 0, sizeof(obs));
	fo_backend_observe(b, &obs);
	fo_state_target(FO_SRC_STANDBY, &want);
	KTAP_CHECK(obs.w.fdb_standby == want.fdb_standby && obs.w.fdb_primary == want.fdb_primary &&
		   obs.w.link == want.link, "fsm: netlink shows what src-standby wants");
	ev = (struct fo_event){ .type = FO_EV_QMP_MIGRATION, .mig = FO_MIG_FAILED };
	fo_step(&vm, &ev, 4, &res);
	KTAP_CHECK(vm.state == FO_STANDBY_START && !apply_all(b, &res) &&
		   deliver(tx, rx_p, rx_r) == 'r',
		   "fsm: migration failed: the relay carries while the primary comes back");
	ev = (struct fo_event){ .type = FO_EV_PRIMARY_UP };
	fo_step(&vm, &ev, 5, &res);
	KTAP_CHECK(vm.state == FO_PRIMARY && !apply_all(b, &res) && deliver(tx, rx_p, rx_r) == 'p',
		   "fsm: primary up again: frames back on the primary");
	nl_watch_close(w);
	fo_backend_close(b);
	return ktap_finish();
}
