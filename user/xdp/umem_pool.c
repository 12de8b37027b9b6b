// SPDX-License-Identifier: GPL-2.0
/* Shared umems and their free frames: a registry of pools (opening and
 * closing ports, under a mutex) and, per pool, two lock-free stacks of
 * magazines of frame addresses (the datapath, any thread).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "umem_pool.h"
#include "util/clock.h"

/* Pool sizes: the first fits the default RLIMIT_MEMLOCK (8 MiB), so one
 * relay still registers without CAP_IPC_LOCK; later ones grow to amortise
 * the busy headroom over more members.
 */
#define POOL_FIRST	(8u << 20)
#define POOL_MAX	(32u << 20)
/* Members' floors may take at most half of the pool; the rest is for
 * growth.
 */
#define FLOOR_SHARE	2u
/* Below an eighth of its frames free a pool is low: ports then stop
 * growing their fill rings, whose frames they cannot take back from the
 * kernel, so tx frames (back on every completion) can still be had.
 */
#define LOW_SHARE	8u
#define TAG_POOL	0
#define TAG_HELD	0xffff	/* a closed member's: waiting out the grace */
#define POOL_ALIGN	(2u << 20)

struct umem_mag {
	uint32_t next;		/* index + 1 of the next magazine in its stack */
	uint32_t n;
	uint64_t addr[UMEM_POOL_BATCH];
};

struct umem_pool {
	/* Stack heads: (tag << 32) | (magazine index + 1); the tag, bumped by
	 * every change, keeps a pop from succeeding on a head that was
	 * popped and pushed back meanwhile (ABA).
	 */
	uint64_t full __attribute__((aligned(64)));
	uint64_t empty __attribute__((aligned(64)));
	uint32_t nfree __attribute__((aligned(64)));	/* frames in full magazines */
	struct umem_pool *next;
	void *area;
	size_t size;
	uint32_t frame_size;
	uint32_t nframes;
	uint32_t nmags;
	bool registered, zerocopy, sg;
	uint16_t max_members, nmembers;
	uint32_t nheld;
	uint64_t held_since_ms;
	int *member_fd;		/* by id - 1; -2 for a free slot */
	uint16_t *tag;		/* frame -> member id, TAG_POOL or TAG_HELD */
	struct umem_mag *mag;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct umem_pool *registry;
static unsigned int grace_ms = 1000;

void umem_pool_lock(void)
{
	pthread_mutex_lock(&registry_lock);
}

void umem_pool_unlock(void)
{
	pthread_mutex_unlock(&registry_lock);
}

struct umem_pool *umem_pool_next(struct umem_pool *prev)
{
	return prev ? prev->next : registry;
}

static uint32_t stack_pop(struct umem_pool *pl, uint64_t *head)
{
	uint64_t old = __atomic_load_n(head, __ATOMIC_ACQUIRE), new;
	uint32_t i;

	do {
		i = (uint32_t)old;
		if (!i)
			return 0;
		/* May read a magazine being pushed elsewhere meanwhile: the
		 * tag then fails the exchange and we read again.
		 */
		new = (((old >> 32) + 1) << 32) |
		      __atomic_load_n(&pl->mag[i - 1].next, __ATOMIC_RELAXED);
	} while (!__atomic_compare_exchange_n(head, &old, new, true, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	return i;
}

static void stack_push(struct umem_pool *pl, uint64_t *head, uint32_t i)
{
	uint64_t old = __atomic_load_n(head, __ATOMIC_RELAXED), new;

	do {
		__atomic_store_n(&pl->mag[i - 1].next, (uint32_t)old, __ATOMIC_RELAXED);
		new = (((old >> 32) + 1) << 32) | i;
	} while (!__atomic_compare_exchange_n(head, &old, new, true, __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
}

static uint32_t frame_index(const struct umem_pool *pl, uint64_t addr)
{
	return addr / pl->frame_size;
}

static void tag_set(struct umem_pool *pl, uint64_t addr, uint16_t id)
{
	__atomic_store_n(&pl->tag[frame_index(pl, addr)], id, __ATOMIC_RELAXED);
}

unsigned int umem_pool_get(struct umem_pool *pl, uint16_t id, uint64_t *addrs,
			   unsigned int max)
{
	struct umem_mag *m;
	uint32_t i, n, k;

	if (max > UMEM_POOL_BATCH)
		max = UMEM_POOL_BATCH;
	if (!max)
		return 0;
	i = stack_pop(pl, &pl->full);
	if (!i)
		return 0;
	m = &pl->mag[i - 1];
	n = m->n < max ? m->n : max;
	/* From the top, so a partial take leaves the magazine's front. */
	for (k = 0; k < n; k++) {
		addrs[k] = m->addr[m->n - 1 - k];
		tag_set(pl, addrs[k], id);
	}
	m->n -= n;
	__atomic_sub_fetch(&pl->nfree, n, __ATOMIC_RELAXED);
	stack_push(pl, m->n ? &pl->full : &pl->empty, i);
	return n;
}

bool umem_pool_put(struct umem_pool *pl, uint16_t id, const uint64_t *addrs,
		   unsigned int n)
{
	struct umem_mag *m;
	uint32_t i, k;

	(void)id;
	if (!n)
		return true;
	if (n > UMEM_POOL_BATCH)
		return false;
	i = stack_pop(pl, &pl->empty);
	if (!i)
		return false;
	m = &pl->mag[i - 1];
	for (k = 0; k < n; k++) {
		m->addr[k] = addrs[k];
		tag_set(pl, addrs[k], TAG_POOL);
	}
	m->n = n;
	__atomic_add_fetch(&pl->nfree, n, __ATOMIC_RELAXED);
	stack_push(pl, &pl->full, i);
	return true;
}

/* Hand every frame tagged @id back to the pool (registry locked, so no
 * member can be given that id meanwhile; other members only ever retag
 * frames that are theirs or the pool's).
 */
static uint32_t reclaim(struct umem_pool *pl, uint16_t id)
{
	uint64_t batch[UMEM_POOL_BATCH];
	uint32_t f, n = 0, total = 0;

	for (f = 0; f < pl->nframes; f++) {
		if (__atomic_load_n(&pl->tag[f], __ATOMIC_RELAXED) != id)
			continue;
		batch[n++] = (uint64_t)f * pl->frame_size;
		if (n == UMEM_POOL_BATCH) {
			if (!umem_pool_put(pl, TAG_POOL, batch, n))
				return total;
			total += n;
			n = 0;
		}
	}
	if (n && umem_pool_put(pl, TAG_POOL, batch, n))
		total += n;
	return total;
}

/* Closed members' frames whose grace is over go back to the pool. */
static void reclaim_held(struct umem_pool *pl)
{
	if (pl->nheld && mono_ms() - pl->held_since_ms >= grace_ms)
		pl->nheld -= reclaim(pl, TAG_HELD);
}

static void *area_map(size_t size)
{
	uint8_t *raw, *area;
	size_t head;

	/* On a 2 MiB boundary with a transparent-huge-page hint: the relay
	 * touches a different frame for every packet, which with small
	 * pages is a TLB miss each. Without THP it is an ordinary mapping.
	 */
	raw = mmap(NULL, size + POOL_ALIGN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	area = (uint8_t *)(((uintptr_t)raw + POOL_ALIGN - 1) & ~(uintptr_t)(POOL_ALIGN - 1));
	head = area - raw;
	if (head)
		munmap(raw, head);
	munmap(area + size, POOL_ALIGN - head);
	madvise(area, size, MADV_HUGEPAGE);	/* a hint: failure is fine */
	return area;
}

static void pool_free(struct umem_pool *pl)
{
	if (pl->area)
		munmap(pl->area, pl->size);
	free(pl->member_fd);
	free(pl->tag);
	free(pl->mag);
	free(pl);
}

int umem_pool_new(struct umem_pool **pp, uint32_t frame_size)
{
	struct umem_pool *pl, **tail;
	unsigned int n = 0, i;
	size_t size;

	*pp = NULL;
	if (!frame_size || (frame_size & (frame_size - 1)))
		return -EINVAL;
	for (tail = &registry; *tail; tail = &(*tail)->next)
		n++;
	size = n >= 2 ? POOL_MAX : (size_t)POOL_FIRST << n;
	pl = calloc(1, sizeof(*pl));
	if (!pl)
		return -ENOMEM;
	pl->size = size;
	pl->frame_size = frame_size;
	pl->nframes = size / frame_size;
	/* Twice the magazines the frames fill: a put never waits for an
	 * empty one, even with partial magazines about.
	 */
	pl->nmags = 2 * (pl->nframes / UMEM_POOL_BATCH);
	pl->max_members = pl->nframes / FLOOR_SHARE / UMEM_POOL_FLOOR;
	pl->member_fd = malloc(pl->max_members * sizeof(*pl->member_fd));
	pl->tag = calloc(pl->nframes, sizeof(*pl->tag));
	pl->mag = calloc(pl->nmags, sizeof(*pl->mag));
	if (!pl->member_fd || !pl->tag || !pl->mag) {
		pool_free(pl);
		return -ENOMEM;
	}
	pl->area = area_map(size);
	if (!pl->area) {
		int err = -errno;

		pool_free(pl);
		return err;
	}
	for (i = 0; i < pl->max_members; i++)
		pl->member_fd[i] = -2;
	for (i = 0; i < pl->nmags; i++) {
		struct umem_mag *m = &pl->mag[i];

		if (i < pl->nframes / UMEM_POOL_BATCH) {
			uint32_t k;

			for (k = 0; k < UMEM_POOL_BATCH; k++)
				m->addr[k] = ((uint64_t)i * UMEM_POOL_BATCH + k) * frame_size;
			m->n = UMEM_POOL_BATCH;
			stack_push(pl, &pl->full, i + 1);
		} else {
			stack_push(pl, &pl->empty, i + 1);
		}
	}
	pl->nfree = pl->nframes;
	*tail = pl;
	*pp = pl;
	return 0;
}

void umem_pool_set_mode(struct umem_pool *pl, bool zerocopy, bool sg)
{
	pl->registered = true;
	pl->zerocopy = zerocopy;
	pl->sg = sg;
}

void *umem_pool_area(const struct umem_pool *pl)
{
	return pl->area;
}

size_t umem_pool_size(const struct umem_pool *pl)
{
	return pl->size;
}

uint32_t umem_pool_frame_size(const struct umem_pool *pl)
{
	return pl->frame_size;
}

bool umem_pool_registered(const struct umem_pool *pl)
{
	return pl->registered;
}

bool umem_pool_zerocopy(const struct umem_pool *pl)
{
	return pl->zerocopy;
}

bool umem_pool_sg(const struct umem_pool *pl)
{
	return pl->sg;
}

bool umem_pool_has_room(const struct umem_pool *pl)
{
	/* A new member's first batch must not make the pool low. */
	return pl->nmembers < pl->max_members &&
	       __atomic_load_n(&pl->nfree, __ATOMIC_RELAXED) >=
	       pl->nframes / LOW_SHARE + UMEM_POOL_FLOOR;
}

int umem_pool_share_fd(const struct umem_pool *pl)
{
	unsigned int i;

	for (i = 0; i < pl->max_members; i++)
		if (pl->member_fd[i] >= 0)
			return pl->member_fd[i];
	return -1;
}

int umem_pool_join(struct umem_pool *pl, int fd, uint16_t *id)
{
	unsigned int i;

	reclaim_held(pl);
	for (i = 0; i < pl->max_members; i++) {
		if (pl->member_fd[i] == -2) {
			pl->member_fd[i] = fd;
			pl->nmembers++;
			*id = i + 1;
			return 0;
		}
	}
	return -ENOSPC;
}

void umem_pool_set_fd(struct umem_pool *pl, uint16_t id, int fd)
{
	pl->member_fd[id - 1] = fd;
}

void umem_pool_leave(struct umem_pool *pl, uint16_t id)
{
	struct umem_pool **pp;
	uint32_t f, n = 0;

	pl->member_fd[id - 1] = -2;
	pl->nmembers--;
	if (!pl->nmembers) {
		for (pp = &registry; *pp; pp = &(*pp)->next) {
			if (*pp == pl) {
				*pp = pl->next;
				break;
			}
		}
		pool_free(pl);
		return;
	}
	if (!grace_ms) {
		reclaim(pl, id);
		return;
	}
	for (f = 0; f < pl->nframes; f++) {
		if (pl->tag[f] == id) {
			pl->tag[f] = TAG_HELD;
			n++;
		}
	}
	if (n) {
		pl->nheld += n;
		pl->held_since_ms = mono_ms();
	}
	reclaim_held(pl);
}

bool umem_pool_low(const struct umem_pool *pl)
{
	return __atomic_load_n(&pl->nfree, __ATOMIC_RELAXED) < pl->nframes / LOW_SHARE;
}

void umem_pool_read_stats(const struct umem_pool *pl, struct umem_pool_stats *st)
{
	st->frames = pl->nframes;
	st->free = __atomic_load_n(&pl->nfree, __ATOMIC_RELAXED);
	st->held = pl->nheld;
	st->members = pl->nmembers;
}

unsigned int umem_pool_count(size_t *bytes)
{
	struct umem_pool *pl;
	unsigned int n = 0;
	size_t b = 0;

	for (pl = registry; pl; pl = pl->next) {
		n++;
		b += pl->size;
	}
	if (bytes)
		*bytes = b;
	return n;
}

void umem_pool_set_grace_ms(unsigned int ms)
{
	grace_ms = ms;
}
