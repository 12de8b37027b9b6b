// SPDX-License-Identifier: GPL-2.0
/* The failover agent's sriov backend against a real PF netlink API: run by
 * selftests/e2e/test_netdevsim.sh inside a guest whose netdevsim PF has 4
 * VFs (statically linked: the guest has no libnl). Prints TAP.
 *
 *	vxdp-sriov-check PF RELAY-NETDEV
 *
 * VF 0 plays the relay's VF (spoof-check, trust), VF 1 the passthrough VF
 * (MAC, link state); RELAY-NETDEV carries the standby FDB entry (netdevsim
 * VFs have no netdevs of their own, a second port stands in).
 */
#include <net/if.h>	/* before <linux/if.h>, which libnl pulls in */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/sriov.h>
#include <netlink/route/neighbour.h>

#include "agent/failover_backend.h"
#include "agent/failover_fsm.h"
#include "net/nl_watch.h"
#include "net/nl_util.h"
#include "fixtures.h"
#include "ktap.h"

static const uint8_t mac_vm[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t mac2[6] = { 0x52, 0x54, 0x00, 0xaa, 0x00, 0x02 };
static const uint8_t mac3[6] = { 0x52, 0x54, 0x00, 0xaa, 0x00, 0x03 };
static const char *pf, *relay;

static const char *tool(const char *env, const char *dflt)
{
	const char *v = getenv(env);

	return v && *v ? v : dflt;
}

static int ip_vf_has(int vf, const char *want)
{
	char cmd[128], line[512], tag[16];
	FILE *f;
	int found = 0;

	snprintf(cmd, sizeof(cmd), "%s link show dev %s", tool("IP", "ip"), pf);
	snprintf(tag, sizeof(tag), "vf %d ", vf);
	f = popen(cmd, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, tag) && strstr(line, want))
			found = 1;
	pclose(f);
	return found;
}

struct rec {
	struct fo_backend *b;
	int pf_events, pf_vfinfo, fdb_removed;
	struct fo_event last;
};

static void watch_fn(const struct nl_watch_event *nev, void *arg)
{
	struct rec *r = arg;
	struct fo_event ev;

	if (nev->kind == NLW_LINK_NEW && nev->ifindex == r->b->pf_ifindex) {
		r->pf_events++;
		r->pf_vfinfo += nev->has_vfinfo;
	}
	if (fo_backend_match(r->b, nev, &ev) == 1) {
		r->last = ev;
		if (ev.type == FO_EV_FDB_REMOVED)
			r->fdb_removed++;
	}
}

/* dispatch for up to @ms, or until something came when @until_one */
static void watch_for(struct nl_watch *w, int ms, int until_one, struct rec *r)
{
	struct pollfd p = { .fd = nl_watch_fd(w), .events = POLLIN };
	int i;

	for (i = 0; i < ms / 50; i++) {
		if (poll(&p, 1, 50) > 0)
			nl_watch_dispatch(w);
		if (until_one && (r->pf_events || r->fdb_removed))
			return;
	}
}

/* The kernel's own behaviour: MAC and a bad link state in one request. */
static int combined_request(struct nl_sock *sk, int ifindex)
{
	struct rtnl_link *orig = NULL, *ch = rtnl_link_alloc();
	struct rtnl_link_vf *v = rtnl_link_vf_alloc();
	struct nl_addr *a = nl_addr_build(AF_LLC, mac2, 6);
	int err;

	err = rtnl_link_get_kernel(sk, ifindex, NULL, &orig);
	if (!err) {
		rtnl_link_vf_set_index(v, 1);
		rtnl_link_vf_set_addr(v, a);
		rtnl_link_vf_set_linkstate(v, 7);	/* no such state */
		rtnl_link_vf_add(ch, v);
		err = rtnl_link_change(sk, orig, ch, 0);
	}
	nl_addr_put(a);
	rtnl_link_vf_put(v);
	rtnl_link_put(ch);
	if (orig)
		rtnl_link_put(orig);
	return nl_errno(err);
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

int main(int argc, char **argv)
{
	struct fo_backend_cfg cfg = { .kind = FO_BACKEND_SRIOV, .primary_vf = 1, .relay_vf = 0 };
	struct fo_backend *b = NULL;
	struct fo_vf_attrs want = { 0 }, got;
	struct nl_watch *w = NULL;
	struct rec r = { 0 };
	struct fo_vm vm;
	struct fo_cfg fcfg = { 0 };
	struct fo_obs obs;
	struct fo_event ev;
	struct fo_result res;
	struct fo_world tgt;
	struct rtnl_neigh *n;
	struct nl_addr *a;
	uint32_t applied;
	char cmd[160], fdb_all[64];
	int err;

	if (argc != 3) {
		fprintf(stderr, "usage: %s PF RELAY-NETDEV\n", argv[0]);
		return 2;
	}
	pf = argv[1];
	relay = argv[2];
	snprintf(fdb_all, sizeof(fdb_all), "%s fdb show", tool("BRIDGE", "bridge"));
	ktap_plan(23);
	memcpy(cfg.mac, mac_vm, 6);
	snprintf(cfg.pf, sizeof(cfg.pf), "%s", pf);
	snprintf(cfg.relay_dev, sizeof(cfg.relay_dev), "%s", relay);

	cfg.primary_vf = 9;
	KTAP_CHECK(fo_backend_open(&b, &cfg) == -EINVAL, "open: a VF the PF does not have is -EINVAL");
	cfg.primary_vf = 1;
	err = fo_backend_open(&b, &cfg);
	KTAP_CHECK(!err, "open: sriov backend on the netdevsim PF");
	if (err) {
		ktap_diag("open: %s", strerror(-err));
		return KSFT_FAIL;
	}
	r.b = b;
	err = nl_watch_open(&w, watch_fn, &r);
	if (err)
		ktap_diag("watch: %s", strerror(-err));

	/* round trips, each checked by iproute2 too */
	memcpy(want.mac, mac_vm, 6);
	err = fo_sriov_vf_set(b, 1, FO_VF_MAC, &want, &applied);
	KTAP_CHECK(!err && applied == FO_VF_MAC && !fo_sriov_vf_get(b, 1, &got) &&
		   !memcmp(got.mac, mac_vm, 6) && ip_vf_has(1, "52:54:00:12:34:56"),
		   "vf mac: set, read back with RTEXT_FILTER_VF, ip link agrees");
	want.link = FO_LINK_DISABLE;
	err = fo_sriov_vf_set(b, 1, FO_VF_LINK, &want, &applied);
	KTAP_CHECK(!err && !fo_sriov_vf_get(b, 1, &got) && got.link == FO_LINK_DISABLE &&
		   ip_vf_has(1, "link-state disable"), "vf link state: disable round trip");
	want.link = FO_LINK_AUTO;
	err = fo_sriov_vf_set(b, 1, FO_VF_LINK, &want, &applied);
	KTAP_CHECK(!err && !fo_sriov_vf_get(b, 1, &got) && got.link == FO_LINK_AUTO &&
		   ip_vf_has(1, "link-state auto"), "vf link state: auto round trip");
	want.spoofchk = false;
	want.trust = true;
	err = fo_sriov_vf_set(b, 0, FO_VF_SPOOFCHK | FO_VF_TRUST, &want, &applied);
	KTAP_CHECK(!err && applied == (FO_VF_SPOOFCHK | FO_VF_TRUST) && !fo_sriov_vf_get(b, 0, &got) &&
		   !got.spoofchk && got.trust && ip_vf_has(0, "spoof checking off") &&
		   ip_vf_has(0, "trust on"), "relay vf: spoof-check off, trust on round trip");
	want.spoofchk = true;
	want.trust = false;
	err = fo_sriov_vf_set(b, 0, FO_VF_SPOOFCHK | FO_VF_TRUST, &want, &applied);
	KTAP_CHECK(!err && !fo_sriov_vf_get(b, 0, &got) && got.spoofchk && !got.trust &&
		   ip_vf_has(0, "spoof checking on") && ip_vf_has(0, "trust off"),
		   "relay vf: spoof-check on, trust off round trip");

	/* notifications: a VF change is a bare NEWLINK on the PF */
	watch_for(w, 200, 0, &r);
	r.pf_events = r.pf_vfinfo = 0;
	memcpy(want.mac, mac_vm, 6);
	fo_sriov_vf_set(b, 1, FO_VF_MAC, &want, &applied);
	watch_for(w, 300, 0, &r);
	KTAP_CHECK(r.pf_events == 0, "idempotent: setting the MAC it has sends nothing (no notification)");
	memcpy(want.mac, mac3, 6);
	fo_sriov_vf_set(b, 1, FO_VF_MAC, &want, &applied);
	watch_for(w, 2000, 1, &r);
	KTAP_CHECK(r.pf_events >= 1 && r.pf_vfinfo == 0,
		   "notify: a VF change notifies a NEWLINK on the PF without VF info");
	KTAP_CHECK(r.last.type == FO_EV_VF_CHANGED && !fo_sriov_vf_get(b, 1, &got) &&
		   !memcmp(got.mac, mac3, 6),
		   "notify: matched as vf-changed; a re-read with RTEXT_FILTER_VF shows the change");

	/* partial application */
	memcpy(want.mac, mac_vm, 6);
	fo_sriov_vf_set(b, 1, FO_VF_MAC, &want, &applied);
	err = combined_request(b->sk, b->pf_ifindex);
	KTAP_CHECK(err == -EINVAL && !fo_sriov_vf_get(b, 1, &got) && !memcmp(got.mac, mac2, 6) &&
		   got.link == FO_LINK_AUTO,
		   "kernel: MAC + bad link state in one request: -EINVAL, yet the MAC applied");
	memcpy(want.mac, mac3, 6);
	want.link = 7;
	want.trust = true;
	err = fo_sriov_vf_set(b, 1, FO_VF_MAC | FO_VF_LINK | FO_VF_TRUST, &want, &applied);
	KTAP_CHECK(err == -EINVAL && applied == FO_VF_MAC, "backend: a refused link state reports -EINVAL with only the MAC applied");
	KTAP_CHECK(!fo_sriov_vf_get(b, 1, &got) && !memcmp(got.mac, mac3, 6) &&
		   got.link == FO_LINK_AUTO && !got.trust,
		   "backend: what it reported is what the VF has (trust not attempted)");

	/* FDB entries on the relay's netdev (its own filter, NTF_SELF) */
	snprintf(cmd, sizeof(cmd), "%s fdb show dev %s", tool("BRIDGE", "bridge"), relay);
	{
		struct fo_action act = { .type = FO_ACT_FDB_ADD, .path = FO_PATH_STANDBY };

		KTAP_CHECK(!fo_backend_apply(b, &act) && out_has(cmd, "52:54:00:12:34:56 self permanent"),
			   "fdb: standby entry in the relay netdev's filter (bridge fdb show: self)");
		n = rtnl_neigh_alloc();
		a = nl_addr_build(AF_LLC, mac_vm, 6);
		rtnl_neigh_set_family(n, AF_BRIDGE);
		rtnl_neigh_set_ifindex(n, b->relay_ifindex);
		rtnl_neigh_set_lladdr(n, a);
		rtnl_neigh_set_flags(n, NTF_SELF);
		err = nl_errno(rtnl_neigh_add(b->sk, n, NLM_F_CREATE | NLM_F_EXCL));
		nl_addr_put(a);
		rtnl_neigh_put(n);
		KTAP_CHECK(err == -EEXIST, "fdb: the kernel answers a second exclusive add with EEXIST");
		KTAP_CHECK(!fo_backend_apply(b, &act), "fdb: the backend takes that EEXIST as done (entry verified)");
		r.fdb_removed = 0;
		snprintf(cmd, sizeof(cmd), "%s fdb del 52:54:00:12:34:56 dev %s self",
			 tool("BRIDGE", "bridge"), relay);
		err = system(cmd);
		watch_for(w, 2000, 1, &r);
		KTAP_CHECK(!err && r.fdb_removed == 1 && r.last.path == FO_PATH_STANDBY,
			   "notify: the entry deleted by someone else is fdb-removed (standby)");
		act.type = FO_ACT_FDB_DEL;
		KTAP_CHECK(!fo_backend_apply(b, &act), "fdb: deleting an absent entry is success");
	}

	/* the state machine over the PF: reconcile, migrate out, fail back */
	memcpy(fcfg.mac, mac_vm, 6);
	fo_vm_init(&vm, &fcfg);
	memset(&obs, 0, sizeof(obs));
	err = fo_backend_observe(b, &obs);
	obs.frontend_known = true;
	obs.frontend = FO_FE_RUNNING;
	ev = (struct fo_event){ .type = FO_EV_OBSERVED, .obs = &obs };
	fo_step(&vm, &ev, 1, &res);
	ktap_diag("%s", res.log);
	KTAP_CHECK(!err && (obs.valid & (FO_W_MAC | FO_W_RELAY | FO_W_FDB_STBY)) &&
		   vm.state == FO_PRIMARY && !apply_all(b, &res) &&
		   !fo_sriov_vf_get(b, 1, &got) && !memcmp(got.mac, mac_vm, 6),
		   "fsm: reconciled onto the primary: the VF's MAC put back to the VM's");
	ev = (struct fo_event){ .type = FO_EV_QMP_MIGRATION, .mig = FO_MIG_ACTIVE };
	fo_step(&vm, &ev, 2, &res);
	ktap_diag("%s", res.log);
	err = apply_all(b, &res);
	KTAP_CHECK(!err && vm.state == FO_SRC_STANDBY && ip_vf_has(1, "00:00:00:00:00:00") &&
		   ip_vf_has(1, "link-state disable") && ip_vf_has(0, "spoof checking off") &&
		   out_has(fdb_all, "52:54:00:12:34:56 dev"),
		   "fsm: migrating out: VF MAC zeroed, link disabled, relay VF open, standby entry");
	memset(&obs, 0, sizeof(obs));
	fo_backend_observe(b, &obs);
	fo_state_target(FO_SRC_STANDBY, &tgt);
	KTAP_CHECK(obs.w.mac_set == tgt.mac_set && obs.w.link == tgt.link &&
		   obs.w.fdb_standby == tgt.fdb_standby && obs.w.relay_open == tgt.relay_open,
		   "fsm: observe() reads back what src-standby wants");
	/* A cancel after the guest let its primary go: the standby carries
	 * while QEMU plugs the primary back (the VF's MAC first, so the guest
	 * can pair it), and the primary path returns once it is up.
	 */
	ev = (struct fo_event){ .type = FO_EV_QMP_MIGRATION, .mig = FO_MIG_CANCELLED };
	fo_step(&vm, &ev, 3, &res);
	ktap_diag("%s", res.log);
	err = apply_all(b, &res);
	KTAP_CHECK(!err && vm.state == FO_STANDBY_START && ip_vf_has(1, "52:54:00:12:34:56") &&
		   ip_vf_has(1, "link-state disable") && out_has(fdb_all, "52:54:00:12:34:56 dev"),
		   "fsm: cancelled: VF MAC back for the re-plug, the standby entry carries meanwhile");
	ev = (struct fo_event){ .type = FO_EV_PRIMARY_UP };
	fo_step(&vm, &ev, 4, &res);
	ktap_diag("%s", res.log);
	err = apply_all(b, &res);
	KTAP_CHECK(!err && vm.state == FO_PRIMARY && ip_vf_has(1, "52:54:00:12:34:56") &&
		   ip_vf_has(1, "link-state auto") && !out_has(fdb_all, "52:54:00:12:34:56 dev"),
		   "fsm: primary up after the cancel: link auto, standby entry gone");
	nl_watch_close(w);
	fo_backend_close(b);
	return ktap_finish();
}
