/* SPDX-License-Identifier: GPL-2.0 */
/* Guest memory table: maps the regions a vhost-user frontend shares and
 * translates guest-physical and frontend-virtual addresses with bounds checks.
 */
#ifndef VXDP_GUEST_MEM_H
#define VXDP_GUEST_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* Memory slots: what GET_MAX_MEM_SLOTS reports. SET_MEM_TABLE carries at
 * most 8 regions; with CONFIGURE_MEM_SLOTS the frontend adds them one by one,
 * and hot-plugged DIMMs each take one. 32 is what QEMU and DPDK backends
 * commonly offer; translation scans only the regions in use (QEMU has 2-3
 * before any hot-plug), so the bound costs the hot path nothing.
 */
#define GUEST_MEM_MAX_REGIONS 32

struct guest_region {
	uint64_t gpa;		/* guest physical start */
	uint64_t size;
	uint64_t uva;		/* frontend (QEMU) virtual start */
	uint8_t *hva;		/* our mapping of gpa */
	void *map_base;		/* what to munmap; NULL when not ours */
	size_t map_len;
	unsigned int refs;	/* adds of this very region (see add_fd) */
};

struct guest_mem {
	unsigned int nregions;
	struct guest_region r[GUEST_MEM_MAX_REGIONS];
};

void guest_mem_init(struct guest_mem *m);

/* mmap @fd (shared) at @mmap_offset and add it as a region. Takes no
 * ownership of @fd; the caller closes it. Rejects overlapping, empty and
 * wrapping regions with -EINVAL, a full table with -E2BIG. Adding a region
 * identical to one in the table (gpa, size and uva) only counts a
 * reference, which guest_mem_remove() drops: QEMU before 8.1 sends
 * ADD_MEM_REG and REM_MEM_REG once per queue pair of a multiqueue device.
 */
int guest_mem_add_fd(struct guest_mem *m, uint64_t gpa, uint64_t size,
		     uint64_t uva, uint64_t mmap_offset, int fd);

/* Add a region backed by memory the caller owns (tests, fuzzers). */
int guest_mem_add_ptr(struct guest_mem *m, uint64_t gpa, uint64_t size,
		      uint64_t uva, void *hva);

/* Remove the region that is exactly [gpa, gpa + size) at frontend address
 * @uva, as vhost-user's REM_MEM_REG names one, and unmap it if we mapped it.
 * The other regions keep their order. Returns 0, or -ENOENT when no region
 * matches all three.
 */
int guest_mem_remove(struct guest_mem *m, uint64_t gpa, uint64_t size,
		     uint64_t uva);

/* Unmap every region we mapped and empty the table. */
void guest_mem_reset(struct guest_mem *m);

/* Host pointer for [gpa, gpa+len) when it lies wholly inside one region,
 * else NULL. len 0 is valid inside a region.
 */
void *guest_mem_gpa(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Start loading guest byte @gpa (for writing when @write), if it is mapped;
 * a hint, for the next batch's buffers.
 */
static inline void guest_mem_prefetch(const struct guest_mem *m, uint64_t gpa,
				      bool write)
{
	void *p = guest_mem_gpa(m, gpa, 1);

	if (!p)
		return;
	if (write)
		__builtin_prefetch(p, 1);
	else
		__builtin_prefetch(p, 0);
}

/* Same for a frontend virtual address (vring addresses from SET_VRING_ADDR). */
void *guest_mem_uva(const struct guest_mem *m, uint64_t uva, uint64_t len);

/* Host pointer for gpa and, in *len, how many of the *len bytes asked for are
 * contiguous there; for buffers that span two regions. NULL when gpa is not
 * guest memory.
 */
void *guest_mem_gpa_part(const struct guest_mem *m, uint64_t gpa,
			 uint64_t *len);

/* guest_mem_gpa_part() that also says which region (index into m->r) the
 * bytes are in, so a host pointer can be turned back into a guest-physical
 * address (dirty logging) without searching.
 */
void *guest_mem_gpa_region(const struct guest_mem *m, uint64_t gpa,
			   uint64_t *len, unsigned int *region);

/* Guest-physical address of host pointer @hva inside region @region. */
static inline uint64_t guest_mem_region_gpa(const struct guest_mem *m,
					    unsigned int region,
					    const void *hva)
{
	const struct guest_region *r = &m->r[region];

	return r->gpa + (uint64_t)((const uint8_t *)hva - r->hva);
}

/* The guest-physical address of frontend virtual address @uva when
 * [uva, uva + len) lies wholly inside one region (as guest_mem_uva()).
 * Returns 0 or -EFAULT.
 */
int guest_mem_uva_to_gpa(const struct guest_mem *m, uint64_t uva,
			 uint64_t len, uint64_t *gpa);

#endif
