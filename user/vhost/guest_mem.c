// SPDX-License-Identifier: GPL-2.0
/* Guest memory table: maps the frontend's memory regions and turns guest
 * addresses into host pointers that can never reach outside those regions.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "guest_mem.h"
#include "util/log.h"

void guest_mem_init(struct guest_mem *m)
{
	memset(m, 0, sizeof(*m));
}

/* Regions are half-open [start, start + size); requiring the end to be
 * representable means callers can compute it without wrapping to 0.
 */
static bool range_wraps(uint64_t start, uint64_t size)
{
	return size > UINT64_MAX - start;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Only the guest-physical ranges must be disjoint: translation by GPA has to
 * be unambiguous. Frontend virtual ranges may legitimately alias, and
 * guest_mem_uva() just takes the first region that wholly holds the range.
 */
static int region_check(const struct guest_mem *m, uint64_t gpa,
			uint64_t size, uint64_t uva)
{
	unsigned int i;

	if (!size || range_wraps(gpa, size) || range_wraps(uva, size)) {
		pr_err("guest_mem: bad region gpa 0x%llx size 0x%llx uva 0x%llx",
		       (unsigned long long)gpa, (unsigned long long)size,
		       (unsigned long long)uva);
		return -EINVAL;
	}
	if (size > SIZE_MAX)
		return -EINVAL;
	for (i = 0; i < m->nregions; i++) {
		if (ranges_overlap(gpa, size, m->r[i].gpa, m->r[i].size)) {
			pr_err("guest_mem: region gpa 0x%llx overlaps region %u",
			       (unsigned long long)gpa, i);
			return -EINVAL;
		}
	}
	if (m->nregions >= GUEST_MEM_MAX_REGIONS) {
		pr_err("guest_mem: too many regions");
		return -E2BIG;
	}
	return 0;
}

static void region_add(struct guest_mem *m, uint64_t gpa, uint64_t size,
		       uint64_t uva, uint8_t *hva, void *map_base,
		       size_t map_len)
{
	struct guest_region *r = &m->r[m->nregions++];

	r->gpa = gpa;
	r->size = size;
	r->uva = uva;
	r->hva = hva;
	r->map_base = map_base;
	r->map_len = map_len;
	r->refs = 1;
}

/* The region that is exactly [gpa, gpa + size) at uva, if any. */
static struct guest_region *region_find(struct guest_mem *m, uint64_t gpa,
					uint64_t size, uint64_t uva)
{
	unsigned int i;

	for (i = 0; i < m->nregions; i++)
		if (m->r[i].gpa == gpa && m->r[i].size == size && m->r[i].uva == uva)
			return &m->r[i];
	return NULL;
}

int guest_mem_add_fd(struct guest_mem *m, uint64_t gpa, uint64_t size,
		     uint64_t uva, uint64_t mmap_offset, int fd)
{
	struct guest_region *same = region_find(m, gpa, size, uva);
	struct stat st;
	uint64_t map_len;
	void *base;
	int err;

	if (same) {
		same->refs++;
		return 0;
	}
	err = region_check(m, gpa, size, uva);
	if (err)
		return err;
	if (range_wraps(mmap_offset, size) || mmap_offset + size > SIZE_MAX) {
		pr_err("guest_mem: mmap offset 0x%llx + size wraps",
		       (unsigned long long)mmap_offset);
		return -EINVAL;
	}
	map_len = mmap_offset + size;

	/* Touching a shared mapping beyond the end of its file raises SIGBUS,
	 * so refuse a region the file cannot back (memfd and hugetlbfs files
	 * are regular files; other kinds report no useful size).
	 */
	if (fstat(fd, &st) < 0) {
		err = -errno;
		pr_err("guest_mem: fstat fd %d: %s", fd, strerror(errno));
		return err;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < map_len) {
		pr_err("guest_mem: fd %d is %lld bytes, region needs %llu", fd,
		       (long long)st.st_size, (unsigned long long)map_len);
		return -EINVAL;
	}

	/* Map from file offset 0: mmap_offset need not be page aligned. */
	base = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		err = -errno;
		pr_err("guest_mem: mmap %llu bytes: %s",
		       (unsigned long long)map_len, strerror(errno));
		return err;
	}
	region_add(m, gpa, size, uva, (uint8_t *)base + mmap_offset, base,
		   map_len);
	return 0;
}

int guest_mem_add_ptr(struct guest_mem *m, uint64_t gpa, uint64_t size,
		      uint64_t uva, void *hva)
{
	int err;

	struct guest_region *same = region_find(m, gpa, size, uva);

	if (!hva || range_wraps((uintptr_t)hva, size))
		return -EINVAL;
	if (same && same->hva == hva) {
		same->refs++;
		return 0;
	}
	err = region_check(m, gpa, size, uva);
	if (err)
		return err;
	region_add(m, gpa, size, uva, hva, NULL, 0);
	return 0;
}

int guest_mem_remove(struct guest_mem *m, uint64_t gpa, uint64_t size,
		     uint64_t uva)
{
	struct guest_region *r = region_find(m, gpa, size, uva);
	unsigned int i;

	if (!r)
		return -ENOENT;
	if (--r->refs)
		return 0;
	i = r - m->r;
	if (r->map_base)
		munmap(r->map_base, r->map_len);
	/* Keep the order: guest_mem_uva() takes the first region holding a
	 * range, and which one that is must not change under running rings.
	 */
	memmove(r, r + 1, (m->nregions - i - 1) * sizeof(*r));
	m->nregions--;
	memset(&m->r[m->nregions], 0, sizeof(m->r[0]));
	return 0;
}

void guest_mem_reset(struct guest_mem *m)
{
	unsigned int i;

	for (i = 0; i < m->nregions; i++) {
		if (m->r[i].map_base)
			munmap(m->r[i].map_base, m->r[i].map_len);
	}
	guest_mem_init(m);
}

static const struct guest_region *find_gpa(const struct guest_mem *m,
					   uint64_t gpa)
{
	unsigned int i;

	for (i = 0; i < m->nregions; i++) {
		if (gpa >= m->r[i].gpa && gpa - m->r[i].gpa < m->r[i].size)
			return &m->r[i];
	}
	return NULL;
}

/* Compare lengths against what is left of the region rather than computing
 * addr + len, which a guest can make wrap past 2^64.
 */
void *guest_mem_gpa(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	const struct guest_region *r = find_gpa(m, gpa);
	uint64_t off;

	if (!r)
		return NULL;
	off = gpa - r->gpa;
	if (len > r->size - off)
		return NULL;
	return r->hva + off;
}

/* The first region wholly holding [uva, uva + len). */
static const struct guest_region *find_uva(const struct guest_mem *m,
					   uint64_t uva, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < m->nregions; i++) {
		const struct guest_region *r = &m->r[i];

		if (uva < r->uva || uva - r->uva >= r->size)
			continue;
		if (len <= r->size - (uva - r->uva))
			return r;
	}
	return NULL;
}

void *guest_mem_uva(const struct guest_mem *m, uint64_t uva, uint64_t len)
{
	const struct guest_region *r = find_uva(m, uva, len);

	return r ? r->hva + (uva - r->uva) : NULL;
}

int guest_mem_uva_to_gpa(const struct guest_mem *m, uint64_t uva,
			 uint64_t len, uint64_t *gpa)
{
	const struct guest_region *r = find_uva(m, uva, len);

	if (!r)
		return -EFAULT;
	*gpa = r->gpa + (uva - r->uva);
	return 0;
}

void *guest_mem_gpa_region(const struct guest_mem *m, uint64_t gpa,
			   uint64_t *len, unsigned int *region)
{
	const struct guest_region *r = find_gpa(m, gpa);
	uint64_t off;

	if (!r)
		return NULL;
	off = gpa - r->gpa;
	if (*len > r->size - off)
		*len = r->size - off;
	*region = r - m->r;
	return r->hva + off;
}

void *guest_mem_gpa_part(const struct guest_mem *m, uint64_t gpa,
			 uint64_t *len)
{
	unsigned int region;

	return guest_mem_gpa_region(m, gpa, len, &region);
}
