// SPDX-License-Identifier: GPL-2.0
/* Guest memory table: maps the frontend's memory regions and turns guest
 * addresses into host pointers that can never reach outside those regions.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "guest_mem.h"
#include "util/fault_guard.h"
#include "util/log.h"

/* What every table of the process maps together, and its bound. */
static uint64_t total_mapped;
static uint64_t total_limit = GUEST_MEM_TOTAL_LIMIT_DEFAULT;
static const char *total_limit_name;

void guest_mem_init(struct guest_mem *m)
{
	memset(m, 0, sizeof(*m));
	m->limit = GUEST_MEM_LIMIT_DEFAULT;
}

void guest_mem_set_limit(struct guest_mem *m, uint64_t limit, const char *name)
{
	m->limit = limit;
	m->limit_name = name;
}

void guest_mem_set_total_limit(uint64_t limit, const char *name)
{
	__atomic_store_n(&total_limit, limit, __ATOMIC_RELAXED);
	total_limit_name = name;
}

uint64_t guest_mem_total_mapped(void)
{
	return __atomic_load_n(&total_mapped, __ATOMIC_RELAXED);
}

/* "64 GiB", "1.5 MiB": sizes in refusals people read. */
static const char *size_str(char *buf, size_t len, uint64_t n)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned int u = 0;
	uint64_t div = 1;

	while (u + 1 < sizeof(units) / sizeof(units[0]) && n / div >= 1024) {
		div *= 1024;
		u++;
	}
	if (n % div)
		snprintf(buf, len, "%.1f %s", (double)n / div, units[u]);
	else
		snprintf(buf, len, "%llu %s", (unsigned long long)(n / div), units[u]);
	return buf;
}

/* Refuse the region at @gpa of @size bytes, in the one line a refusal
 * gets (the request that asked for it logs none): returns @err.
 */
static int __attribute__((format(printf, 4, 5)))
region_refuse(uint64_t gpa, uint64_t size, int err, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	pr_err("guest_mem: region gpa 0x%llx size 0x%llx refused: %s",
	       (unsigned long long)gpa, (unsigned long long)size, why);
	return err;
}

/* Take @len bytes (region @gpa, @size) of the table's and the process's
 * allowance, or refuse (-ENOMEM, logged with the limit that said no).
 * Tables live on several worker threads: the process total is taken with
 * a compare-and-swap.
 */
static int mapped_charge(struct guest_mem *m, uint64_t len, uint64_t gpa,
			 uint64_t size)
{
	char a[32], b[32], c[32];
	uint64_t cur, limit;

	if (m->limit && (len > m->limit || m->mapped > m->limit - len))
		return region_refuse(gpa, size, -ENOMEM,
				     "mapping %s more would take this device to %s, over its limit of %s (%s)",
				     size_str(a, sizeof(a), len),
				     size_str(b, sizeof(b), m->mapped + len),
				     size_str(c, sizeof(c), m->limit),
				     m->limit_name ? m->limit_name : "guest memory limit");
	limit = __atomic_load_n(&total_limit, __ATOMIC_RELAXED);
	cur = __atomic_load_n(&total_mapped, __ATOMIC_RELAXED);
	do {
		if (limit && (len > limit || cur > limit - len))
			return region_refuse(gpa, size, -ENOMEM,
					     "mapping %s more would take the process to %s, over its limit of %s (%s)",
					     size_str(a, sizeof(a), len),
					     size_str(b, sizeof(b), cur + len),
					     size_str(c, sizeof(c), limit),
					     total_limit_name ? total_limit_name : "total guest memory limit");
	} while (!__atomic_compare_exchange_n(&total_mapped, &cur, cur + len, true,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	m->mapped += len;
	return 0;
}

static void mapped_uncharge(struct guest_mem *m, uint64_t len)
{
	m->mapped -= len;
	__atomic_fetch_sub(&total_mapped, len, __ATOMIC_RELAXED);
}

size_t guest_mem_map_unit(int fd)
{
	size_t page = sysconf(_SC_PAGESIZE);
	struct statfs sfs;
	struct stat st;

	/* hugetlbfs reports its huge page size as the block size. */
	if (fstatfs(fd, &sfs) || sfs.f_type != HUGETLBFS_MAGIC ||
	    fstat(fd, &st) || st.st_blksize <= 0 ||
	    (st.st_blksize & (st.st_blksize - 1)) || (size_t)st.st_blksize < page)
		return page;
	return st.st_blksize;
}

/* Unmap region @r's mapping, if it is ours. */
static void region_unmap(struct guest_mem *m, struct guest_region *r)
{
	if (!r->map_base)
		return;
	/* Out of the guard's registry before the range can be reused. */
	fault_guard_del(r->guard);
	munmap(r->map_base, r->map_len);
	mapped_uncharge(m, r->map_len);
	r->map_base = NULL;
	r->guard = -1;
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

	if (!size || range_wraps(gpa, size) || range_wraps(uva, size))
		return region_refuse(gpa, size, -EINVAL, "empty or wraps (uva 0x%llx)",
				     (unsigned long long)uva);
	if (size > SIZE_MAX)
		return region_refuse(gpa, size, -EINVAL, "larger than the address space");
	for (i = 0; i < m->nregions; i++)
		if (ranges_overlap(gpa, size, m->r[i].gpa, m->r[i].size))
			return region_refuse(gpa, size, -EINVAL, "overlaps region %u", i);
	if (m->nregions >= GUEST_MEM_MAX_REGIONS)
		return region_refuse(gpa, size, -E2BIG, "the table has %u regions already",
				     GUEST_MEM_MAX_REGIONS);
	return 0;
}

static void region_add(struct guest_mem *m, uint64_t gpa, uint64_t size,
		       uint64_t uva, uint8_t *hva, void *map_base,
		       size_t map_len, int guard)
{
	struct guest_region *r = &m->r[m->nregions++];

	r->gpa = gpa;
	r->size = size;
	r->uva = uva;
	r->hva = hva;
	r->map_base = map_base;
	r->map_len = map_len;
	r->refs = 1;
	r->guard = guard;
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
	uint64_t unit, start, map_len;
	struct stat st;
	void *base;
	int err, guard;

	if (same) {
		same->refs++;
		return 0;
	}
	err = region_check(m, gpa, size, uva);
	if (err)
		return err;
	if (range_wraps(mmap_offset, size) || mmap_offset + size > INT64_MAX)
		return region_refuse(gpa, size, -EINVAL, "mmap offset 0x%llx + size wraps",
				     (unsigned long long)mmap_offset);

	/* Touching a shared mapping beyond the end of its file raises SIGBUS,
	 * so refuse a region the file cannot back (memfd and hugetlbfs files
	 * are regular files; other kinds report no useful size). The file can
	 * still shrink later: that is the fault guard's job.
	 */
	if (fstat(fd, &st) < 0)
		return region_refuse(gpa, size, -errno, "fstat fd %d: %s", fd,
				     strerror(errno));
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < mmap_offset + size)
		return region_refuse(gpa, size, -EINVAL, "fd %d is %lld bytes, the region needs %llu",
				     fd, (long long)st.st_size,
				     (unsigned long long)(mmap_offset + size));

	/* Map from the unit holding the region's first byte (mmap_offset need
	 * not be aligned), whole units: a region at a large offset maps only
	 * itself, and a hugetlbfs mapping ends where its VMA does.
	 */
	unit = guest_mem_map_unit(fd);
	start = mmap_offset & ~(unit - 1);
	map_len = mmap_offset - start + size;
	map_len = (map_len + unit - 1) & ~(unit - 1);
	if (map_len > SIZE_MAX || map_len < size)
		return region_refuse(gpa, size, -EINVAL, "larger than the address space");
	err = mapped_charge(m, map_len, gpa, size);
	if (err)
		return err;
	base = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    (off_t)start);
	if (base == MAP_FAILED) {
		err = region_refuse(gpa, size, -errno, "mmap %llu bytes: %s",
				    (unsigned long long)map_len, strerror(errno));
		goto err_uncharge;
	}
	guard = fault_guard_add(base, map_len);
	if (guard < 0) {
		err = region_refuse(gpa, size, guard,
				    "cannot guard the mapping against a shrinking file: %s",
				    strerror(-guard));
		goto err_unmap;
	}
	region_add(m, gpa, size, uva, (uint8_t *)base + (mmap_offset - start),
		   base, map_len, guard);
	return 0;

err_unmap:
	munmap(base, map_len);
err_uncharge:
	mapped_uncharge(m, map_len);
	return err;
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
	region_add(m, gpa, size, uva, hva, NULL, 0, -1);
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
	region_unmap(m, r);
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

	for (i = 0; i < m->nregions; i++)
		region_unmap(m, &m->r[i]);
	memset(m->r, 0, sizeof(m->r));
	m->nregions = 0;
}

bool guest_mem_faulted(const struct guest_mem *m)
{
	unsigned int i;

	for (i = 0; i < m->nregions; i++)
		if (fault_guard_hit(m->r[i].guard))
			return true;
	return false;
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
