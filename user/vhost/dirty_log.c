// SPDX-License-Identifier: GPL-2.0
/* Live-migration dirty log: maps the frontend's bitmap and sets the bit of
 * every guest page the relay writes while the frontend is migrating.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "dirty_log.h"
#include "util/fault_guard.h"
#include "util/log.h"

void dirty_log_init(struct dirty_log *l, const struct guest_mem *mem)
{
	memset(l, 0, sizeof(*l));
	l->mem = mem;
	l->guard = -1;
}

int dirty_log_map(struct dirty_log *l, int fd, uint64_t size,
		  uint64_t offset)
{
	uint64_t unit, start, map_len;
	struct stat st;
	void *base;
	int err, guard;

	if (!size || size > DIRTY_LOG_MAX_SIZE || offset > UINT64_MAX - size) {
		pr_err("dirty log: bad size 0x%llx at offset 0x%llx",
		       (unsigned long long)size, (unsigned long long)offset);
		return -EINVAL;
	}
	/* mmap's offset is a page (hugetlbfs: huge page) multiple; map
	 * whole units from the one holding the log's first byte. off_t is
	 * signed: the end must fit it too.
	 */
	unit = guest_mem_map_unit(fd);
	start = offset & ~(unit - 1);
	map_len = (offset - start + size + unit - 1) & ~(unit - 1);
	if (offset + size > (uint64_t)INT64_MAX || map_len > SIZE_MAX)
		return -EINVAL;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		pr_err("dirty log: fstat fd %d: %s", fd, strerror(errno));
		return err;
	}
	/* Touching a shared mapping past the end of its file raises SIGBUS:
	 * refuse a log the file cannot back. Only a regular file (QEMU's
	 * memfd) has a size to check; a device such as /dev/zero mapped at an
	 * offset gives an object only as long as the mapping, and SIGBUS too.
	 */
	if (!S_ISREG(st.st_mode)) {
		pr_err("dirty log: fd %d is not a regular file (memfd)", fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size < offset + size) {
		pr_err("dirty log: fd %d is %lld bytes, log needs %llu", fd,
		       (long long)st.st_size,
		       (unsigned long long)(offset + size));
		return -EINVAL;
	}
	base = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    (off_t)start);
	if (base == MAP_FAILED) {
		err = -errno;
		pr_err("dirty log: mmap %llu bytes: %s",
		       (unsigned long long)map_len, strerror(errno));
		return err;
	}
	/* The frontend can still shrink the file: see util/fault_guard.h. */
	guard = fault_guard_add(base, map_len);
	if (guard < 0) {
		pr_err("dirty log: cannot guard the mapping against a shrinking file: %s",
		       strerror(-guard));
		munmap(base, map_len);
		return guard;
	}
	/* The frontend stops reading the old log only after it has seen us
	 * take the new one; nothing marks in between (single thread).
	 */
	dirty_log_unmap(l);
	l->guard = guard;
	l->map_base = base;
	l->map_len = map_len;
	l->bits = (uint8_t *)base + (offset - start);
	l->size = size;
	return 0;
}

void dirty_log_unmap(struct dirty_log *l)
{
	if (l->map_base) {
		fault_guard_del(l->guard);
		munmap(l->map_base, l->map_len);
	}
	l->guard = -1;
	l->map_base = NULL;
	l->map_len = 0;
	l->bits = NULL;
	l->size = 0;
	l->refused = 0;
	l->refused_logged = false;
}

bool dirty_log_faulted(const struct dirty_log *l)
{
	return l->map_base && fault_guard_hit(l->guard);
}

static void refuse(struct dirty_log *l, uint64_t gpa, uint64_t len)
{
	l->refused++;
	if (l->refused_logged)
		return;
	l->refused_logged = true;
	pr_err("dirty log: write at gpa 0x%llx (+%llu) is beyond the %llu-byte log (covers 0x%llx); its pages are not logged (said once per log)",
	       (unsigned long long)gpa, (unsigned long long)len,
	       (unsigned long long)l->size,
	       (unsigned long long)(l->size * 8 * DIRTY_LOG_PAGE));
}

void dirty_log_mark(struct dirty_log *l, uint64_t gpa, uint64_t len)
{
	uint64_t page, last, npages;
	bool wraps;

	if (!len || !l->bits)
		return;
	npages = l->size * 8;
	page = gpa >> DIRTY_LOG_PAGE_SHIFT;
	/* A range running past 2^64 is beyond any log. */
	wraps = len - 1 > UINT64_MAX - gpa;
	last = wraps ? UINT64_MAX >> DIRTY_LOG_PAGE_SHIFT :
		       (gpa + len - 1) >> DIRTY_LOG_PAGE_SHIFT;
	if (last >= npages) {
		refuse(l, gpa, len);
		if (page >= npages)
			return;
		last = npages - 1;
	}
	/* Release: our stores to these pages are visible before the bit. */
	for (; page <= last; page++)
		__atomic_fetch_or(&l->bits[page >> 3], (uint8_t)(1u << (page & 7)),
				  __ATOMIC_RELEASE);
}
