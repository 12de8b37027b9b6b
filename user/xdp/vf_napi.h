/* SPDX-License-Identifier: GPL-2.0 */
/* The VF's NAPI deferral (napi_defer_hard_irqs, gro_flush_timeout), which
 * lets socket busy polling run the VF's receive in batches in the relay's
 * own context: set while the relay runs, put back when it stops.
 */
#ifndef VXDP_VF_NAPI_H
#define VXDP_VF_NAPI_H

#include <stdbool.h>
#include <net/if.h>

struct vf_napi {
	char ifname[IF_NAMESIZE];
	char pin[128];		/* state map, so a crashed run can be undone */
	bool changed;		/* we wrote the values below: restore them */
	bool active;		/* deferral is on, by us or the operator */
	unsigned long old_defer, old_timeout_ns;
	unsigned long defer, timeout_ns;	/* in effect */
};

/* Defer @defer NAPI completions by @timeout_us each on @ifname, unless the
 * operator already set a deferral (then theirs stays and is used). What it
 * changes is recorded in a BPF array map pinned at @pin (in the relay's pin
 * directory): a run that dies without restoring leaves the record, and the
 * next run of the relay takes the values it finds for its own, not the
 * operator's, and puts back the recorded ones at exit. Returns 0 (see
 * n->active) or a negative errno when the knobs cannot be read or written
 * (kernels before 5.11 lack napi_defer_hard_irqs).
 */
int vf_napi_apply(struct vf_napi *n, const char *ifname, const char *pin,
		  unsigned int defer, unsigned int timeout_us);

/* Put back what vf_napi_apply() changed, and remove the record. */
void vf_napi_restore(struct vf_napi *n);

#endif
