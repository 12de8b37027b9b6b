/* SPDX-License-Identifier: GPL-2.0 */
/* SIGBUS guard for shared mappings another process can shrink: a frontend
 * that truncates a memory fd it passed us makes our next touch of the lost
 * pages raise SIGBUS, which would kill the whole daemon.
 */
#ifndef VXDP_FAULT_GUARD_H
#define VXDP_FAULT_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ranges registered at once: 64 relays x (32 regions + a dirty log) with
 * room to spare. A full registry refuses the mapping (-ENOSPC).
 */
#define FAULT_GUARD_SLOTS 4096

/* How the guard works. The first fault_guard_add() installs a process-wide
 * SIGBUS handler (chained to the one before it). A SIGBUS whose address is
 * inside a registered range maps anonymous zero pages over the whole range
 * (MAP_FIXED, same size and protection), marks the range faulted and counts
 * it; the faulting access then completes harmlessly. Any other SIGBUS goes to
 * the previous handler, or kills the process as it would have. The zero
 * pages stay until the owner unmaps the range as it always does; the owner
 * notices through fault_guard_count() (one load) and drops whoever shrank
 * the fd. Nothing is done per access: the hot path pays nothing.
 *
 * Register a range after mapping it, and unregister it before unmapping it.
 * @len must cover the whole mapping as the kernel sees it (for hugetlbfs,
 * rounded up to the huge page size), or the replacement fails.
 * Registration is lock-free and may run on any thread; the handler only
 * reads the registry.
 */

/* Register [@start, @start + @len). Returns the slot (>= 0), -ENOSPC when
 * the registry is full, or the errno of installing the handler.
 */
int fault_guard_add(void *start, size_t len);

/* Forget slot @slot (< 0: nothing). */
void fault_guard_del(int slot);

/* Whether a SIGBUS hit slot @slot's range since it was registered. */
bool fault_guard_hit(int slot);

/* Faults the guard has absorbed so far, process-wide: when this has not
 * moved since the owner last looked, none of its ranges faulted. Inline,
 * one load: the datapath asks after every run.
 */
extern uint64_t fault_guard_faults;

static inline uint64_t fault_guard_count(void)
{
	return __atomic_load_n(&fault_guard_faults, __ATOMIC_ACQUIRE);
}

#endif
