// SPDX-License-Identifier: GPL-2.0
/* Unit tests for guest_mem: region validation, mapping by fd and bounds-safe
 * translation of guest-physical and frontend-virtual addresses.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vhost/guest_mem.h"
#include "util/fault_guard.h"
#include "util/log.h"
#include "ktap.h"

#define PAGE 4096

static uint8_t *page_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		ktap_diag("mmap: %s", strerror(errno));
		exit(KSFT_FAIL);
	}
	return p;
}

static bool mapped(void *p)
{
	unsigned char vec;

	return mincore(p, PAGE, &vec) == 0;
}

static void test_add_checks(uint8_t *buf)
{
	struct guest_mem m;
	unsigned int i;
	int ok = 1;

	guest_mem_init(&m);
	KTAP_CHECK(guest_mem_add_ptr(&m, 0x10000, 0x1000, 0x7f0000010000, buf) == 0,
		   "add_ptr: plain region accepted");
	KTAP_CHECK(guest_mem_add_ptr(&m, 0x20000, 0, 0x7f0000020000, buf) == -EINVAL,
		   "add_ptr: zero size rejected");
	KTAP_CHECK(guest_mem_add_ptr(&m, 0x20000, 0x1000, 0x7f0000020000, NULL) == -EINVAL,
		   "add_ptr: NULL host pointer rejected");
	KTAP_CHECK(guest_mem_add_ptr(&m, UINT64_MAX - 0xfff, 0x1000, 0x1000, buf) == -EINVAL,
		   "add_ptr: gpa range ending at 2^64 rejected as wrapping");
	KTAP_CHECK(guest_mem_add_ptr(&m, 0x20000, 0x1000, UINT64_MAX - 0x7ff, buf) == -EINVAL,
		   "add_ptr: wrapping uva range rejected");
	KTAP_CHECK(guest_mem_add_ptr(&m, 0x10000, 0x1000, 0x1000, buf) == -EINVAL,
		   "add_ptr: identical gpa range rejected");
	KTAP_CHECK(guest_mem_add_ptr(&m, 0xf800, 0x1000, 0x1000, buf) == -EINVAL,
		   "add_ptr: range overlapping the start rejected");
	KTAP_CHECK(guest_mem_add_ptr(&m, 0x10fff, 0x1000, 0x1000, buf) == -EINVAL,
		   "add_ptr: range overlapping the last byte rejected");
	KTAP_CHECK(guest_mem_add_ptr(&m, 0x8000, 0x10000, 0x1000, buf) == -EINVAL,
		   "add_ptr: range containing another rejected");
	KTAP_CHECK(m.nregions == 1, "add_ptr: rejected regions not added");
	KTAP_CHECK(guest_mem_add_ptr(&m, 0x11000, 0x1000, 0x7f0000011000, buf + PAGE) == 0,
		   "add_ptr: region right after another accepted");
	KTAP_CHECK(guest_mem_add_ptr(&m, 0xf000, 0x1000, 0x7f000000f000, buf) == 0,
		   "add_ptr: region right before another accepted");

	for (i = m.nregions; i < GUEST_MEM_MAX_REGIONS; i++)
		ok &= guest_mem_add_ptr(&m, 0x100000 * (i + 1), 0x1000,
					0x7f1000000000 + 0x100000 * i, buf) == 0;
	KTAP_CHECK(ok && m.nregions == GUEST_MEM_MAX_REGIONS,
		   "add_ptr: table fills to GUEST_MEM_MAX_REGIONS");
	KTAP_CHECK(guest_mem_add_ptr(&m, 0x40000000, 0x1000, 0x1000, buf) == -E2BIG,
		   "add_ptr: full table gives -E2BIG");
	guest_mem_reset(&m);
}

static void test_translate(uint8_t *buf)
{
	const uint64_t top = 0xffffffffffffe000ULL;
	uint8_t *a = buf, *b = buf + 2 * PAGE, *t = buf + 4 * PAGE;
	struct guest_mem m;
	uint64_t len;
	void *p;

	guest_mem_init(&m);
	/* A and B are contiguous in GPA but not in host memory. */
	guest_mem_add_ptr(&m, 0x1000, 0x1000, 0x555500000000, a);
	guest_mem_add_ptr(&m, 0x2000, 0x1000, 0x555600000000, b);
	guest_mem_add_ptr(&m, top, 0x1000, 0x555700000000, t);

	KTAP_CHECK(guest_mem_gpa(&m, 0x1000, 0x1000) == a, "gpa: whole region");
	KTAP_CHECK(guest_mem_gpa(&m, 0x1fff, 1) == a + 0xfff, "gpa: last byte");
	KTAP_CHECK(guest_mem_gpa(&m, 0x1800, 0) == a + 0x800, "gpa: len 0 inside");
	KTAP_CHECK(guest_mem_gpa(&m, 0x1800, 0x801) == NULL,
		   "gpa: range crossing into the next region refused");
	KTAP_CHECK(guest_mem_gpa(&m, 0xfff, 1) == NULL, "gpa: below region refused");
	KTAP_CHECK(guest_mem_gpa(&m, 0x3000, 0) == NULL, "gpa: past last region refused");
	KTAP_CHECK(guest_mem_gpa(&m, 0x2800, UINT64_MAX) == NULL,
		   "gpa: gpa+len wrapping 2^64 refused");
	KTAP_CHECK(guest_mem_gpa(&m, top + 0x800, UINT64_MAX - top) == NULL,
		   "gpa: top region, gpa+len wrapping 2^64 refused");
	KTAP_CHECK(guest_mem_gpa(&m, top + 0xff0, 0x10) == t + 0xff0,
		   "gpa: top region, tail translated");

	len = 0x1000;
	p = guest_mem_gpa_part(&m, 0x1800, &len);
	KTAP_CHECK(p == a + 0x800 && len == 0x800,
		   "gpa_part: clamps at the region end");
	len = 0x800;
	p = guest_mem_gpa_part(&m, 0x2000, &len);
	KTAP_CHECK(p == b && len == 0x800, "gpa_part: second region");
	len = 0x10;
	p = guest_mem_gpa_part(&m, 0x1800, &len);
	KTAP_CHECK(p == a + 0x800 && len == 0x10, "gpa_part: short len untouched");
	len = UINT64_MAX;
	p = guest_mem_gpa_part(&m, top + 0x10, &len);
	KTAP_CHECK(p == t + 0x10 && len == 0xff0, "gpa_part: huge len clamped");
	len = 0x10;
	KTAP_CHECK(guest_mem_gpa_part(&m, 0x3000, &len) == NULL,
		   "gpa_part: unmapped gpa refused");

	KTAP_CHECK(guest_mem_uva(&m, 0x555600000010, 0x10) == b + 0x10,
		   "uva: translated through the uva, not the gpa");
	KTAP_CHECK(guest_mem_uva(&m, 0x2000, 0x10) == NULL,
		   "uva: a gpa is not a uva");
	KTAP_CHECK(guest_mem_uva(&m, 0x555500001000, 0) == NULL,
		   "uva: region end is outside");
	KTAP_CHECK(guest_mem_uva(&m, 0x555500000800, 0x801) == NULL,
		   "uva: range past the region end refused");
	KTAP_CHECK(guest_mem_uva(&m, 0x555500000800, UINT64_MAX) == NULL,
		   "uva: uva+len wrapping 2^64 refused");
	guest_mem_reset(&m);
}

static void test_fd(uint8_t *buf)
{
	static const char pat[] = "vxdp";
	struct guest_mem m;
	char back[4] = { 0 };
	uint8_t *p;
	void *base;
	int fd;

	fd = memfd_create("guest_mem_test", 0);
	if (fd < 0 || ftruncate(fd, 3 * PAGE) < 0) {
		ktap_diag("memfd: %s", strerror(errno));
		exit(KSFT_FAIL);
	}
	if (pwrite(fd, pat, 4, PAGE + 100 + 5) != 4)
		exit(KSFT_FAIL);

	guest_mem_init(&m);
	/* An offset that is not page aligned still maps: we map from 0. */
	KTAP_CHECK(guest_mem_add_fd(&m, 0x100000, 2 * PAGE - 100, 0x7f0000100000,
				    PAGE + 100, fd) == 0,
		   "add_fd: memfd region at an unaligned offset");
	p = guest_mem_gpa(&m, 0x100005, 4);
	KTAP_CHECK(p && !memcmp(p, pat, 4), "add_fd: gpa maps file offset + mmap_offset");
	if (p)
		memcpy(p, "XDP!", 4);
	KTAP_CHECK(pread(fd, back, 4, PAGE + 100 + 5) == 4 && !memcmp(back, "XDP!", 4),
		   "add_fd: mapping is shared with the file");
	KTAP_CHECK(guest_mem_gpa(&m, 0x100000, 2 * PAGE - 99) == NULL,
		   "add_fd: translation stops at the region size");
	KTAP_CHECK(guest_mem_add_fd(&m, 0x200000, 3 * PAGE, 0x7f0000200000,
				    UINT64_MAX - PAGE, fd) == -EINVAL,
		   "add_fd: mmap_offset + size wrapping rejected");
	KTAP_CHECK(guest_mem_add_fd(&m, 0x200000, 3 * PAGE, 0x7f0000200000,
				    PAGE, fd) == -EINVAL,
		   "add_fd: region beyond the end of the file rejected");
	KTAP_CHECK(guest_mem_add_fd(&m, 0x100000 + PAGE, PAGE, 0x7f0000200000,
				    0, fd) == -EINVAL,
		   "add_fd: overlapping region rejected before mapping");
	KTAP_CHECK(guest_mem_add_fd(&m, 0x200000, PAGE, 0x7f0000200000, 0, -1) < 0,
		   "add_fd: bad fd fails");
	KTAP_CHECK(m.nregions == 1, "add_fd: failures add no region");
	close(fd);

	guest_mem_add_ptr(&m, 0x300000, PAGE, 0x7f0000300000, buf);
	base = m.r[0].map_base;
	guest_mem_reset(&m);
	KTAP_CHECK(m.nregions == 0 && guest_mem_gpa(&m, 0x100005, 1) == NULL,
		   "reset: table emptied");
	KTAP_CHECK(base && !mapped(base), "reset: fd mapping unmapped");
	KTAP_CHECK(mapped(buf), "reset: caller-owned memory left alone");
}

/* REM_MEM_REG names a region by gpa, size and uva: all three must match,
 * and the others stay where they were.
 */
static void test_remove(uint8_t *buf)
{
	struct guest_mem m;
	void *base;
	int fd;

	guest_mem_init(&m);
	KTAP_CHECK(guest_mem_remove(&m, 0x1000, 0x1000, 0x1000) == -ENOENT,
		   "remove: empty table gives -ENOENT");
	guest_mem_add_ptr(&m, 0x1000, 0x1000, 0x555500000000, buf);
	guest_mem_add_ptr(&m, 0x2000, 0x1000, 0x555600000000, buf + PAGE);
	guest_mem_add_ptr(&m, 0x3000, 0x1000, 0x555700000000, buf + 2 * PAGE);
	KTAP_CHECK(guest_mem_remove(&m, 0x2000, 0x1000, 0x555600001000) == -ENOENT &&
		   guest_mem_remove(&m, 0x2000, 0x800, 0x555600000000) == -ENOENT &&
		   guest_mem_remove(&m, 0x2800, 0x1000, 0x555600000000) == -ENOENT &&
		   m.nregions == 3,
		   "remove: uva, size or gpa not matching refused");
	KTAP_CHECK(guest_mem_remove(&m, 0x2000, 0x1000, 0x555600000000) == 0 &&
		   m.nregions == 2, "remove: exact match removed");
	KTAP_CHECK(guest_mem_gpa(&m, 0x2800, 1) == NULL &&
		   guest_mem_uva(&m, 0x555600000800, 1) == NULL,
		   "remove: its addresses no longer translate");
	KTAP_CHECK(m.r[0].gpa == 0x1000 && m.r[1].gpa == 0x3000 &&
		   guest_mem_gpa(&m, 0x3800, 1) == buf + 2 * PAGE + 0x800 &&
		   guest_mem_uva(&m, 0x555500000010, 1) == buf + 0x10,
		   "remove: the others keep their order and translations");
	KTAP_CHECK(guest_mem_add_ptr(&m, 0x2000, 0x1000, 0x555800000000, buf + 3 * PAGE) == 0 &&
		   guest_mem_gpa(&m, 0x2000, 1) == buf + 3 * PAGE,
		   "remove: the freed range can be added again");

	fd = memfd_create("guest_mem_test", 0);
	if (fd < 0 || ftruncate(fd, PAGE) < 0)
		exit(KSFT_FAIL);
	guest_mem_add_fd(&m, 0x100000, PAGE, 0x7f0000100000, 0, fd);
	close(fd);
	base = m.nregions == 4 ? m.r[3].map_base : NULL;
	KTAP_CHECK(base && guest_mem_remove(&m, 0x100000, PAGE, 0x7f0000100000) == 0 &&
		   !mapped(base) && m.nregions == 3,
		   "remove: fd mapping unmapped");
	guest_mem_remove(&m, 0x1000, 0x1000, 0x555500000000);
	KTAP_CHECK(mapped(buf) && m.nregions == 2,
		   "remove: caller-owned memory left alone");
	guest_mem_reset(&m);
}

/* QEMU before 8.1 sends ADD_MEM_REG and REM_MEM_REG once per queue pair of
 * a multiqueue device: the same region again is a reference, not an
 * overlap, and the mapping goes with the last remove.
 */
static void test_same_region_again(void)
{
	struct guest_mem m;
	void *base;
	int fd, i;

	fd = memfd_create("guest_mem_test", 0);
	if (fd < 0 || ftruncate(fd, 2 * PAGE) < 0)
		exit(KSFT_FAIL);
	guest_mem_init(&m);
	for (i = 0; i < 4; i++)
		if (guest_mem_add_fd(&m, 0x100000, 2 * PAGE, 0x7f0000100000, 0, fd))
			break;
	KTAP_CHECK(i == 4 && m.nregions == 1,
		   "same region added 4 times (one per queue pair): one region");
	KTAP_CHECK(guest_mem_add_fd(&m, 0x100000, PAGE, 0x7f0000100000, 0, fd) == -EINVAL &&
		   guest_mem_add_fd(&m, 0x100000, 2 * PAGE, 0x7f0000200000, 0, fd) == -EINVAL,
		   "same gpa with another size or uva is still an overlap");
	base = m.r[0].map_base;
	for (i = 0; i < 3; i++)
		guest_mem_remove(&m, 0x100000, 2 * PAGE, 0x7f0000100000);
	KTAP_CHECK(m.nregions == 1 && mapped(base) && guest_mem_gpa(&m, 0x100000, 1),
		   "3 of 4 removes: still mapped and translating");
	KTAP_CHECK(guest_mem_remove(&m, 0x100000, 2 * PAGE, 0x7f0000100000) == 0 &&
		   m.nregions == 0 && !mapped(base),
		   "the 4th remove unmaps it");
	KTAP_CHECK(guest_mem_remove(&m, 0x100000, 2 * PAGE, 0x7f0000100000) == -ENOENT,
		   "a 5th remove: -ENOENT");
	close(fd);
}

static int memfd_sized(const char *name, size_t size, unsigned int flags)
{
	int fd = memfd_create(name, MFD_CLOEXEC | flags);

	if (fd < 0 || ftruncate(fd, size) < 0) {
		ktap_diag("memfd %s: %s", name, strerror(errno));
		exit(KSFT_FAIL);
	}
	return fd;
}

/* Read a byte through a volatile pointer: the access must really happen. */
static uint8_t peek(const void *p)
{
	return *(const volatile uint8_t *)p;
}

/* A frontend shrinks the file under a mapped region (truncates its memfd,
 * shm file): touching a lost page must not kill us, the region must read
 * zeros from then on, and the table must say it faulted. Another table
 * mapping another file is not affected.
 */
static void test_shrunk(const char *what, int fd, size_t size, bool tail)
{
	struct guest_mem m, other;
	uint64_t faults = fault_guard_count();
	int ofd = memfd_sized("other", 2 * PAGE, 0);
	uint8_t *p, *q, got;

	guest_mem_init(&m);
	guest_mem_init(&other);
	if (pwrite(fd, "head", 4, 0) != 4 || pwrite(fd, "tail", 4, size - 4) != 4 ||
	    pwrite(ofd, "keep", 4, 0) != 4)
		exit(KSFT_FAIL);
	if (guest_mem_add_fd(&m, 0x100000, size, 0x7f0000100000, 0, fd) ||
	    guest_mem_add_fd(&other, 0x100000, 2 * PAGE, 0x7f0000100000, 0, ofd)) {
		ktap_diag("%s: cannot map", what);
		exit(KSFT_FAIL);
	}
	p = guest_mem_gpa(&m, 0x100000, size);
	q = guest_mem_gpa(&other, 0x100000, 4);
	KTAP_CHECK(p && !guest_mem_faulted(&m) && !memcmp(p, "head", 4),
		   what);
	/* Cut the last page only, or everything. */
	if (ftruncate(fd, tail ? size - PAGE : 0))
		ktap_diag("%s: ftruncate: %s", what, strerror(errno));
	got = peek(p + size - 4);	/* SIGBUS here without the guard */
	KTAP_CHECK(got == 0 && guest_mem_faulted(&m) &&
		   fault_guard_count() == faults + 1,
		   "shrunk: a lost page reads zero, the table says it faulted");
	KTAP_CHECK(peek(p) == 0 && (p[size - 1] = 7, p[size - 1] == 7),
		   "shrunk: the whole region is zero pages now, writable");
	KTAP_CHECK(!guest_mem_faulted(&other) && q && !memcmp(q, "keep", 4),
		   "shrunk: another table's mapping untouched");
	guest_mem_reset(&m);
	KTAP_CHECK(!guest_mem_faulted(&m) && m.mapped == 0,
		   "shrunk: reset unmaps the zero pages like any region");
	guest_mem_reset(&other);
	close(ofd);
	close(fd);
}

/* hugetlbfs cannot be sealed: it must survive the same. Skipped when the
 * machine has no free huge page (the DPDK tests reserve them).
 */
static void test_shrunk_hugetlb(void)
{
	size_t huge = 2u << 20;
	struct guest_mem m;
	uint8_t *p;
	int fd = memfd_create("huge", MFD_CLOEXEC | MFD_HUGETLB);

	guest_mem_init(&m);
	if (fd < 0 || ftruncate(fd, 2 * huge) ||
	    guest_mem_add_fd(&m, 0x200000, 2 * huge, 0x7f0000200000, 0, fd)) {
		ktap_result(1, "hugetlbfs # SKIP no free 2 MiB huge page");
		ktap_result(1, "hugetlbfs # SKIP no free 2 MiB huge page");
		if (fd >= 0)
			close(fd);
		return;
	}
	KTAP_CHECK(guest_mem_map_unit(fd) == huge && m.r[0].map_len == 2 * huge,
		   "hugetlbfs: mapped in whole huge pages");
	p = guest_mem_gpa(&m, 0x200000, 2 * huge);
	p[0] = 1;
	if (ftruncate(fd, 0))
		ktap_diag("hugetlbfs: ftruncate: %s", strerror(errno));
	KTAP_CHECK(p && peek(p + huge) == 0 && guest_mem_faulted(&m),
		   "hugetlbfs: truncated under the mapping, survived");
	guest_mem_reset(&m);
	close(fd);
}

/* A sealed memfd cannot shrink: nothing to catch, the mapping just works. */
static void test_sealed(void)
{
	int fd = memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	struct guest_mem m;
	uint8_t *p;

	guest_mem_init(&m);
	if (fd < 0 || ftruncate(fd, 2 * PAGE) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) ||
	    guest_mem_add_fd(&m, 0x100000, 2 * PAGE, 0x7f0000100000, 0, fd))
		exit(KSFT_FAIL);
	p = guest_mem_gpa(&m, 0x100000, 2 * PAGE);
	KTAP_CHECK(ftruncate(fd, 0) < 0 && errno == EPERM && p &&
		   (p[PAGE] = 3, peek(p + PAGE) == 3) && !guest_mem_faulted(&m),
		   "sealed memfd: cannot shrink, mapping serves as before");
	guest_mem_reset(&m);
	close(fd);
}

/* A SIGBUS outside every registered range is not ours to hide: the process
 * dies of it (or the sanitizer's handler reports it) as without the guard.
 */
static void test_foreign_sigbus(void)
{
	int fd = memfd_sized("guarded", PAGE, 0), st = 0;
	int ffd = memfd_sized("foreign", PAGE, 0);
	struct guest_mem m;
	pid_t pid;

	guest_mem_init(&m);
	/* The guard's handler is installed by the first registration. */
	if (guest_mem_add_fd(&m, 0x100000, PAGE, 0x7f0000100000, 0, fd))
		exit(KSFT_FAIL);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		uint8_t *p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ffd, 0);

		if (p == MAP_FAILED || ftruncate(ffd, 0))
			_exit(2);
		/* A sanitizer's report of it is expected: keep it quiet. */
		dup2(open("/dev/null", O_WRONLY), STDERR_FILENO);
		peek(p);
		_exit(0);	/* survived: the guard swallowed a fault not its own */
	}
	KTAP_CHECK(pid > 0 && waitpid(pid, &st, 0) == pid &&
		   !(WIFEXITED(st) && WEXITSTATUS(st) == 0) &&
		   !(WIFEXITED(st) && WEXITSTATUS(st) == 2),
		   "foreign SIGBUS: still fatal");
	if (WIFSIGNALED(st))
		ktap_diag("foreign SIGBUS: child killed by signal %d", WTERMSIG(st));
	guest_mem_reset(&m);
	close(fd);
	close(ffd);
}

/* The registry is bounded: a full one refuses, and slots come back. */
static void test_guard_registry(void)
{
	static int slots[FAULT_GUARD_SLOTS];
	uint8_t *base = (uint8_t *)0x100000000000ull;	/* never touched */
	int i, n = 0, extra;

	for (i = 0; i < FAULT_GUARD_SLOTS; i++) {
		slots[i] = fault_guard_add(base + (size_t)i * PAGE, PAGE);
		if (slots[i] < 0)
			break;
		n++;
	}
	extra = fault_guard_add(base, PAGE);
	KTAP_CHECK(n == FAULT_GUARD_SLOTS && extra == -ENOSPC,
		   "guard registry: FAULT_GUARD_SLOTS ranges, then -ENOSPC");
	for (i = 0; i < n; i++)
		fault_guard_del(slots[i]);
	extra = fault_guard_add(base, PAGE);
	KTAP_CHECK(extra >= 0 && !fault_guard_hit(extra),
		   "guard registry: slots free again after del");
	fault_guard_del(extra);
}

/* Mapped memory is budgeted per table and per process: a frontend asking
 * for more is refused, and others can still map theirs. A region at a large
 * file offset maps itself only, not the file up to it.
 */
static void test_budget(void)
{
	const uint64_t tib = 1ull << 40, gib = 1ull << 30;
	struct guest_mem a, b;
	int sparse, small;
	unsigned int i, refused = 0;

	guest_mem_init(&a);
	guest_mem_init(&b);
	KTAP_CHECK(a.limit == GUEST_MEM_LIMIT_DEFAULT && a.mapped == 0,
		   "budget: a table starts with the default limit");

	/* The attack: 32 regions of a sparse 64 TiB memfd. */
	sparse = memfd_sized("sparse", 64 * tib, 0);
	for (i = 0; i < 32; i++)
		refused += guest_mem_add_fd(&a, i * 2 * tib, 2 * tib,
					    0x7e0000000000ull + i * gib,
					    i * 2 * tib, sparse) == -ENOMEM;
	KTAP_CHECK(refused == 32 && a.nregions == 0 && a.mapped == 0,
		   "budget: 32 regions of 2 TiB over the per-table limit refused");
	small = memfd_sized("small", gib, 0);
	KTAP_CHECK(guest_mem_add_fd(&b, 0, gib, 0x7f0000000000ull, 0, small) == 0 &&
		   b.mapped == gib,
		   "budget: another table still maps its 1 GiB guest");
	guest_mem_reset(&b);

	/* Mapping from the region's own offset: 4 KiB, not 60 TiB + 4 KiB. */
	KTAP_CHECK(guest_mem_add_fd(&a, 0, PAGE, 0x7e0000000000ull,
				    60 * tib + 100, sparse) == 0 &&
		   a.mapped == 2 * PAGE && a.r[0].map_len == 2 * PAGE,
		   "budget: a region at a 60 TiB offset maps two pages");
	guest_mem_reset(&a);

	/* A limit set by the owner, kept across reset, and the process's. */
	guest_mem_set_limit(&a, 4 * PAGE, "mem-max");
	guest_mem_reset(&a);
	KTAP_CHECK(guest_mem_add_fd(&a, 0, 4 * PAGE, 0x7e0000000000ull, 0, small) == 0 &&
		   guest_mem_add_fd(&a, 0x100000, PAGE, 0x7e0000100000ull, 0, small) == -ENOMEM &&
		   a.nregions == 1 && a.mapped == 4 * PAGE,
		   "budget: the owner's limit, exactly reached, then refused");
	guest_mem_set_total_limit(guest_mem_total_mapped() + 3 * PAGE, "--mem-max");
	KTAP_CHECK(guest_mem_add_fd(&b, 0, 4 * PAGE, 0x7f0000000000ull, 0, small) == -ENOMEM &&
		   guest_mem_add_fd(&b, 0, 2 * PAGE, 0x7f0000000000ull, 0, small) == 0,
		   "budget: the process limit counts every table");
	guest_mem_remove(&a, 0, 4 * PAGE, 0x7e0000000000ull);
	KTAP_CHECK(a.mapped == 0 &&
		   guest_mem_add_fd(&b, 0x100000, 4 * PAGE, 0x7f0000100000ull, 0, small) == 0,
		   "budget: a removed region gives its share back");
	guest_mem_reset(&a);
	guest_mem_reset(&b);
	guest_mem_set_total_limit(GUEST_MEM_TOTAL_LIMIT_DEFAULT, NULL);
	close(sparse);
	close(small);
}

int main(void)
{
	uint8_t *buf = page_alloc(8 * PAGE);
	int fd;

	/* Rejections are expected here; keep the TAP output readable. */
	log_level = LOG_CRIT;
	ktap_plan(86);
	test_add_checks(buf);
	test_translate(buf);
	test_fd(buf);
	test_remove(buf);
	test_same_region_again();

	test_shrunk("memfd truncated to 0: mapped", memfd_sized("g", 4 * PAGE, 0),
		    4 * PAGE, false);
	test_shrunk("memfd, last page cut: mapped", memfd_sized("g", 4 * PAGE, 0),
		    4 * PAGE, true);
	fd = shm_open("/vxdp-test-guest-mem", O_RDWR | O_CREAT | O_EXCL, 0600);
	shm_unlink("/vxdp-test-guest-mem");
	if (fd < 0 || ftruncate(fd, 4 * PAGE))
		exit(KSFT_FAIL);
	test_shrunk("shm file truncated: mapped", fd, 4 * PAGE, false);
	test_shrunk_hugetlb();
	test_sealed();
	test_foreign_sigbus();
	test_guard_registry();
	test_budget();
	return ktap_finish();
}
