/* SPDX-License-Identifier: GPL-2.0 */
/* Live-migration dirty log: the frontend's shared bitmap (VHOST_F_LOG_ALL,
 * VHOST_USER_SET_LOG_BASE), one bit per 4 KiB page of guest-physical memory.
 */
#ifndef VXDP_DIRTY_LOG_H
#define VXDP_DIRTY_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

/* VHOST_LOG_PAGE in the vhost-user spec. */
#define DIRTY_LOG_PAGE_SHIFT	12
#define DIRTY_LOG_PAGE		(1ull << DIRTY_LOG_PAGE_SHIFT)

/* Largest bitmap we map: 4 GiB of bits covers 128 TiB of guest memory, far
 * beyond any guest, and keeps bit numbers well inside 64 bits.
 */
#define DIRTY_LOG_MAX_SIZE	(1ull << 32)

struct dirty_log {
	uint8_t *bits;		/* byte 0 holds pages 0-7; NULL when none */
	uint64_t size;		/* bytes of bitmap */
	void *map_base;		/* what to munmap */
	size_t map_len;
	int guard;		/* util/fault_guard slot of the mapping, or -1 */
	/* The memory table the datapath's iovs point into: a chain's iov
	 * names its region, this turns it into a guest-physical address.
	 */
	const struct guest_mem *mem;
	uint64_t refused;	/* marks for pages beyond the log */
	bool refused_logged;
};

void dirty_log_init(struct dirty_log *l, const struct guest_mem *mem);

/* Map @size bytes of bitmap at @offset in @fd (shared) in place of the
 * current log, which is unmapped only once the new one is in place; on
 * error the current log is left as it was. Takes no ownership of @fd.
 * Returns 0, -EINVAL (size 0 or too big, offset + size wraps, file too
 * short for it) or the mmap/fstat error.
 */
int dirty_log_map(struct dirty_log *l, int fd, uint64_t size,
		  uint64_t offset);

void dirty_log_unmap(struct dirty_log *l);

/* Whether the log's file shrank under the mapping (the frontend truncated
 * it): its lost pages read as zeros now and marks land nowhere; drop the
 * frontend. See util/fault_guard.h.
 */
bool dirty_log_faulted(const struct dirty_log *l);

static inline bool dirty_log_mapped(const struct dirty_log *l)
{
	return l->bits != NULL;
}

/* Set the bit of every page [gpa, gpa + len) touches, with an atomic OR
 * that is ordered after the caller's writes to those pages: the frontend
 * clears bits and then copies the pages, so a bit set before the data
 * landed could let it copy stale data and never look again. Pages beyond
 * the log are a frontend error: logged once, their bits not written.
 */
void dirty_log_mark(struct dirty_log *l, uint64_t gpa, uint64_t len);

#endif
