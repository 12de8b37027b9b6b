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

/* What a table (a relay) may map unless told otherwise: the RAM of a large
 * guest. A bigger guest needs the relay's mem-max raised. Every byte mapped
 * is address space, and page tables once the guest makes us touch it; an
 * unbacked (sparse) file costs nothing more to map, so only a limit stops a
 * frontend from taking the process's address space.
 */
#define GUEST_MEM_LIMIT_DEFAULT		(64ull << 30)
/* What all tables of the process may map together unless told otherwise:
 * 64 relays at the default, far below the 128 TiB a process can address.
 */
#define GUEST_MEM_TOTAL_LIMIT_DEFAULT	(64 * GUEST_MEM_LIMIT_DEFAULT)

struct guest_region {
	uint64_t gpa;		/* guest physical start */
	uint64_t size;
	uint64_t uva;		/* frontend (QEMU) virtual start */
	uint8_t *hva;		/* our mapping of gpa */
	void *map_base;		/* what to munmap; NULL when not ours */
	size_t map_len;
	unsigned int refs;	/* adds of this very region (see add_fd) */
	int guard;		/* util/fault_guard slot of our mapping, or -1 */
};

struct guest_mem {
	unsigned int nregions;
	/* Bytes mapped for the regions, and the most this table may map
	 * (guest_mem_set_limit(); 0: no limit), named in the refusal.
	 */
	uint64_t mapped;
	uint64_t limit;
	const char *limit_name;
	struct guest_region r[GUEST_MEM_MAX_REGIONS];
};

/* An empty table with the default limit. */
void guest_mem_init(struct guest_mem *m);

/* Bound the bytes @m may map to @limit (0: none); @name (the option that
 * sets it, a static string; NULL: none) is named when a region is refused.
 * Kept across guest_mem_reset().
 */
void guest_mem_set_limit(struct guest_mem *m, uint64_t limit, const char *name);

/* Bound the bytes every table of the process may map together (a daemon's
 * relays; default GUEST_MEM_TOTAL_LIMIT_DEFAULT); 0: none. Mapping is
 * refused, not made to wait: a frontend gets its failure and the others
 * keep what they have.
 */
void guest_mem_set_total_limit(uint64_t limit, const char *name);

/* Bytes every table of the process has mapped. */
uint64_t guest_mem_total_mapped(void);

/* mmap @fd (shared) at @mmap_offset and add it as a region. Takes no
 * ownership of @fd; the caller closes it. Rejects overlapping, empty and
 * wrapping regions with -EINVAL, a full table with -E2BIG, a mapping that
 * would take this table or the process over its limit with -ENOMEM (logged
 * with the limit's name). Adding a region identical to one in the table
 * (gpa, size and uva) only counts a reference, which guest_mem_remove()
 * drops: QEMU before 8.1 sends ADD_MEM_REG and REM_MEM_REG once per queue
 * pair of a multiqueue device.
 *
 * The file may shrink under the mapping later (the frontend truncates a
 * memfd, shm or hugetlbfs file): the mapping is registered with
 * util/fault_guard, so touching a lost page gives zeros instead of a SIGBUS,
 * and guest_mem_faulted() turns true until the region goes.
 */
int guest_mem_add_fd(struct guest_mem *m, uint64_t gpa, uint64_t size,
		     uint64_t uva, uint64_t mmap_offset, int fd);

/* Whether one of the fd mappings lost pages under us (see add_fd): the
 * frontend shrank a file it shares; drop it.
 */
bool guest_mem_faulted(const struct guest_mem *m);

/* The granularity @fd can be mapped at: the huge page size for hugetlbfs,
 * else the page size. Offsets must be multiples of it, and a mapping spans
 * whole units.
 */
size_t guest_mem_map_unit(int fd);

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

/* Unmap every region we mapped and empty the table (the limit stays). */
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
