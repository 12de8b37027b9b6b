/* SPDX-License-Identifier: GPL-2.0 */
/* Set-up helpers the unit tests share: failing a test whose set-up broke,
 * anonymous memory, the open file descriptor count (leak checks), a
 * command's output read back, and the vring tests' guest memory.
 */
#ifndef VXDP_FIXTURES_H
#define VXDP_FIXTURES_H

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ktap.h"
#include "vhost/guest_mem.h"

/* The test's set-up (not the code under test) failed: say what, fail. */
static inline __attribute__((noreturn)) void die(const char *what)
{
	ktap_diag("test set-up failed: %s: %s", what, strerror(errno));
	exit(KSFT_FAIL);
}

/* Whether a line that `@cmd` prints holds @want: state read back by an
 * independent program (iproute2), not by the code under test.
 */
static inline int out_has(const char *cmd, const char *want)
{
	char line[512];
	FILE *f = popen(cmd, "r");
	int found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, want))
			found = 1;
	pclose(f);
	return found;
}

/* @len bytes of private anonymous memory, reserved as touched. */
static inline uint8_t *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

/* File descriptors this process has open now. */
static inline int count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!dir)
		die("opendir /proc/self/fd");
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* The vring tests' guest memory: RAM1 follows RAM0 in GPA but not in host
 * memory, so a buffer across the boundary must come back as two iovs. BIG
 * is only for the chain length cap and never touched; TOP sits just below
 * 2^64 for the overflow cases; HOLE is no memory at all.
 */
#define RAM0_GPA	0x100000ULL
#define RAM0_UVA	0x7f1200000000ULL
#define RAM0_SIZE	(2u << 20)
#define RAM1_GPA	(RAM0_GPA + RAM0_SIZE)
#define RAM1_UVA	0x7f3400000000ULL
#define RAM1_SIZE	0x10000u
#define BIG_GPA		0x40000000ULL
#define BIG_UVA		0x7f5600000000ULL
#define BIG_SIZE	(16u << 20)
#define TOP_GPA		0xffffffffffffe000ULL
#define TOP_UVA		0x7f7800000000ULL
#define TOP_SIZE	0x1000u
#define HOLE_GPA	0x10000000ULL

struct vring_ram {
	uint8_t *ram0, *ram1, *big, *top;
};

static inline void vring_ram_map(struct vring_ram *r)
{
	r->ram0 = map_anon(RAM0_SIZE);
	r->ram1 = map_anon(RAM1_SIZE);
	r->big = map_anon(BIG_SIZE);
	r->top = map_anon(TOP_SIZE);
}

/* RAM0 and RAM1 zeroed, all four regions in a fresh @mem. */
static inline void vring_ram_fresh(const struct vring_ram *r, struct guest_mem *mem)
{
	memset(r->ram0, 0, RAM0_SIZE);
	memset(r->ram1, 0, RAM1_SIZE);
	guest_mem_init(mem);
	if (guest_mem_add_ptr(mem, RAM0_GPA, RAM0_SIZE, RAM0_UVA, r->ram0) ||
	    guest_mem_add_ptr(mem, RAM1_GPA, RAM1_SIZE, RAM1_UVA, r->ram1) ||
	    guest_mem_add_ptr(mem, BIG_GPA, BIG_SIZE, BIG_UVA, r->big) ||
	    guest_mem_add_ptr(mem, TOP_GPA, TOP_SIZE, TOP_UVA, r->top))
		die("guest_mem_add_ptr");
}

#endif
