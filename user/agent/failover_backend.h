/* SPDX-License-Identifier: GPL-2.0 */
/* The host side of a VM's two paths, behind one interface: "sriov" (a real
 * PF: the passthrough VF's MAC and link state, the relay VF's spoof-check and
 * trust, an FDB entry on the relay's VF) and "bridge" (a Linux bridge standing
 * in for the NIC's embedded switch: static FDB entries on ports with learning
 * and flooding off, port state for link state). It executes the state
 * machine's switch actions, reads the world back for reconciliation, and
 * tells which netlink notifications concern the VM.
 */
#ifndef VXDP_FAILOVER_BACKEND_H
#define VXDP_FAILOVER_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#include "agent/failover_fsm.h"

struct nl_watch_event;

enum fo_backend_kind { FO_BACKEND_SRIOV, FO_BACKEND_BRIDGE };

struct fo_backend_cfg {
	enum fo_backend_kind kind;
	uint8_t mac[FO_MAC_LEN];		/* the VM's */
	/* sriov: the PF, the passthrough VF's index, the relay VF's index
	 * (-1: not on this PF, its spoof-check and trust are left alone) and
	 * netdev (for its FDB entry)
	 */
	char pf[IF_NAMESIZE];
	int primary_vf;
	int relay_vf;
	char relay_dev[IF_NAMESIZE];
	/* bridge: the bridge, the primary's port (QEMU's tap for the
	 * passthrough device) and the relay's port (the relay's VF)
	 */
	char bridge[IF_NAMESIZE];
	char primary_port[IF_NAMESIZE];
	char relay_port[IF_NAMESIZE];
};

/* One VF's attributes (sriov), set one at a time. */
#define FO_VF_MAC	(1u << 0)
#define FO_VF_LINK	(1u << 1)
#define FO_VF_SPOOFCHK	(1u << 2)
#define FO_VF_TRUST	(1u << 3)

struct fo_vf_attrs {
	uint8_t mac[FO_MAC_LEN];
	enum fo_link link;
	bool spoofchk;
	bool trust;
};

struct fo_backend;

struct fo_backend_ops {
	const char *name;
	int (*open)(struct fo_backend *b);
	void (*close)(struct fo_backend *b);	/* may be NULL */
	/* the primary's MAC and link state (@mask: FO_VF_MAC, FO_VF_LINK) */
	int (*primary_set)(struct fo_backend *b, uint32_t mask,
			   const struct fo_vf_attrs *want, uint32_t *applied);
	/* the relay VF's spoof-check and trust */
	int (*relay_set)(struct fo_backend *b, uint32_t mask,
			 const struct fo_vf_attrs *want, uint32_t *applied);
	int (*fdb)(struct fo_backend *b, enum fo_path path, bool add);
	/* the FO_W_* fields of the world it can read */
	int (*observe)(struct fo_backend *b, struct fo_obs *obs);
	/* a netlink notification as a state machine event: 1 if it is one;
	 * @ev comes zeroed, and the relay VF's netdev and overruns are
	 * fo_backend_match()'s
	 */
	int (*match)(struct fo_backend *b, const struct nl_watch_event *nev,
		     struct fo_event *ev);
	/* how the agent sees the primary come up: an fd that turns readable
	 * at the guest's first frame on it (the caller closes it), or
	 * -EOPNOTSUPP, and then ...
	 */
	int (*primary_tx_watch)(struct fo_backend *b);
	/* ... the frames the guest sent on it so far, a count to poll */
	int (*primary_tx)(struct fo_backend *b, uint64_t *frames);
};

struct fo_backend {
	const struct fo_backend_ops *ops;
	struct fo_backend_cfg cfg;
	struct nl_sock *sk;
	/* resolved at open */
	int pf_ifindex;
	int relay_ifindex;
	int bridge_ifindex;
	int primary_ifindex;
};

extern const struct fo_backend_ops fo_backend_sriov;
extern const struct fo_backend_ops fo_backend_bridge;

/* 0 or negative errno (-ENODEV: an interface is missing, -EINVAL: a port
 * not on the bridge or a VF index the PF does not have).
 */
int fo_backend_open(struct fo_backend **b, const struct fo_backend_cfg *cfg);
void fo_backend_close(struct fo_backend *b);

/* Execute a switch action (VF MAC and link, relay VF, FDB). 1 when the
 * action is not the backend's (steering, announce, timers, resync: the
 * daemon's), 0 when done and verified, negative errno.
 */
int fo_backend_apply(struct fo_backend *b, const struct fo_action *a);

/* Fill @obs's world from netlink (obs->valid says what could be read). */
int fo_backend_observe(struct fo_backend *b, struct fo_obs *obs);

/* 1 and @ev when @nev concerns this VM's paths, else 0. */
int fo_backend_match(struct fo_backend *b, const struct nl_watch_event *nev,
		     struct fo_event *ev);

/* An fd that turns readable once the guest sends on its primary (bridge: a
 * packet socket on its port taking the VM's frames, but not the RARPs QEMU
 * announces an emulated NIC with); the caller polls and closes it. A
 * negative errno, -EOPNOTSUPP when the backend can only count
 * (fo_backend_primary_tx()).
 */
int fo_backend_primary_tx_watch(struct fo_backend *b);

/* Frames the guest sent on its primary so far (sriov: the VF's transmit
 * count, where the driver reports one). 0 or a negative errno.
 */
int fo_backend_primary_tx(struct fo_backend *b, uint64_t *frames);

/* sriov: read VF @vf of the PF (one RTM_GETLINK with RTEXT_FILTER_VF). */
int fo_sriov_vf_get(struct fo_backend *b, int vf, struct fo_vf_attrs *out);
/* sriov: set the attributes in @mask on VF @vf one at a time, each read
 * back; @applied gets those in place when it returns (a failure part-way
 * leaves the earlier ones applied, as the kernel does with a combined
 * request). 0 or negative errno of the first that failed.
 */
int fo_sriov_vf_set(struct fo_backend *b, int vf, uint32_t mask,
		    const struct fo_vf_attrs *want, uint32_t *applied);

#endif
