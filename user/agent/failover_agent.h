/* SPDX-License-Identifier: GPL-2.0 */
/* The failover agent at run time: one per daemon, on the main thread's
 * loop. For every relay with a primary (primary=, primary-port=) it runs
 * the VM's state machine (failover_fsm.h) on the relay's events (posted by
 * its worker), netlink's (through the VM's backend), QEMU's QMP (qmp=) and
 * vxdpctl's, and carries out its actions through the backend and the
 * daemon's relay calls (daemon.h), the same the control socket uses.
 */
#ifndef VXDP_FAILOVER_AGENT_H
#define VXDP_FAILOVER_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/failover_fsm.h"
#include "daemon/config.h"

struct fo_agent;
struct uloop;
struct vxdp_daemon;

/* Hook into @d (daemon_set_hooks()): relays added from now on with a
 * primary get a VM. 0 or a negative errno.
 */
int fo_agent_open(struct fo_agent **ap, struct uloop *loop, struct vxdp_daemon *d);
/* After daemon_destroy(): the relays are closed, their VMs gone. What the
 * agent set in the switch stays, for a restarted daemon to reconcile.
 */
void fo_agent_close(struct fo_agent *a);

/* One VM, for vxdpctl failover. */
struct fo_agent_vm_info {
	char relay[RELAY_NAME_MAX];
	uint8_t mac[FO_MAC_LEN];
	const char *backend;		/* "sriov", "bridge" */
	char primary[2 * IF_NAMESIZE + 8];	/* "PF vf N", "PORT on BRIDGE" */
	enum fo_state state;
	struct fo_transition last;
	struct fo_counters cnt;
	uint64_t now_ms;		/* the clock of last.at_ms, now */
	bool qmp;			/* qmp= given */
	bool qmp_connected;
	uint64_t relay_events_dropped;	/* the relay's queue was full */
};

/* Up to @max VMs, in the order their relays were added. */
unsigned int fo_agent_list(struct fo_agent *a, struct fo_agent_vm_info *info,
			   unsigned int max);

/* Feed the VM with MAC @mac the event named @event (fo_event_name(); for
 * MIGRATION "qmp-migration:STATUS"), as vxdpctl failover event does for
 * libvirt's hook. 0, -ENOENT (no such VM) or -EINVAL (no such event), with
 * the reason in @err; the step's log line in @log.
 */
int fo_agent_inject(struct fo_agent *a, const uint8_t mac[FO_MAC_LEN], const char *event,
		    char *log, size_t loglen, char *err, size_t errlen);

#endif
