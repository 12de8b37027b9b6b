/* SPDX-License-Identifier: GPL-2.0 */
/* umems shared by many AF_XDP sockets (XDP_SHARED_UMEM), and a lock-free
 * pool of their free frames that ports take from and give back to as their
 * traffic needs, from any thread.
 */
#ifndef VXDP_UMEM_POOL_H
#define VXDP_UMEM_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct umem_pool;

/* Frames one get or put moves: the pool keeps its free frames in batches
 * ("magazines") of this many, so a port touches the shared state once per
 * 64 frames.
 */
#define UMEM_POOL_BATCH 64u
/* Frames every member is owed for its fill ring, and holds while idle: a
 * burst of that many finds buffers before the member has run once.
 */
#define UMEM_POOL_FLOOR (4 * UMEM_POOL_BATCH)

/* The registry of pools, for opening and closing ports only (a mutex):
 * lock it around umem_pool_next/new/join/leave.
 */
void umem_pool_lock(void);
void umem_pool_unlock(void);

/* The pools in creation order: NULL starts, NULL ends. */
struct umem_pool *umem_pool_next(struct umem_pool *prev);

/* A new pool of @frame_size frames, mapped but not registered with the
 * kernel: its first member registers it (XDP_UMEM_REG on its socket) and
 * settles its mode with umem_pool_set_mode(). Pools grow with the registry:
 * 8 MiB, then 16, then 32 MiB each. Returns 0 or a negative errno.
 */
int umem_pool_new(struct umem_pool **pp, uint32_t frame_size);
void umem_pool_set_mode(struct umem_pool *pl, bool zerocopy, bool sg);

void *umem_pool_area(const struct umem_pool *pl);
size_t umem_pool_size(const struct umem_pool *pl);
uint32_t umem_pool_frame_size(const struct umem_pool *pl);
bool umem_pool_registered(const struct umem_pool *pl);
bool umem_pool_zerocopy(const struct umem_pool *pl);
bool umem_pool_sg(const struct umem_pool *pl);
/* Whether one more member fits: every member is owed UMEM_POOL_FLOOR
 * frames for its fill ring, half the pool stays free for busy members to
 * grow into, and taking the floor leaves the pool not low.
 */
bool umem_pool_has_room(const struct umem_pool *pl);
/* A bound member's socket, for the next member's XDP_SHARED_UMEM bind;
 * -1 when the pool has none (not registered yet).
 */
int umem_pool_share_fd(const struct umem_pool *pl);

/* Add a member (socket @fd, -1 until bound: see umem_pool_set_fd()), which
 * owns the frames it gets until it puts them back. Its id tags its frames.
 */
int umem_pool_join(struct umem_pool *pl, int fd, uint16_t *id);
void umem_pool_set_fd(struct umem_pool *pl, uint16_t id, int fd);
/* The member @id is gone and its socket closed: every frame still tagged
 * with it (on its rings, in the kernel) comes back to the pool, after a
 * grace period (the kernel may let go of a closed socket's frames later:
 * a pending io_uring poll still holds the socket, a zero-copy driver
 * releases its buffers from a workqueue). A pool without members is
 * unmapped and freed, which also drops its registration.
 */
void umem_pool_leave(struct umem_pool *pl, uint16_t id);

/* Datapath, any thread, lock-free: up to @max (at most UMEM_POOL_BATCH)
 * free frame addresses, now owned by member @id; 0 when the pool is dry.
 */
unsigned int umem_pool_get(struct umem_pool *pl, uint16_t id, uint64_t *addrs,
			   unsigned int max);
/* Give back @n (at most UMEM_POOL_BATCH) frames of member @id. Returns
 * false, keeping them with the member, when the pool has no free magazine
 * (never expected: there are twice as many as full ones can use).
 */
bool umem_pool_put(struct umem_pool *pl, uint16_t id, const uint64_t *addrs,
		   unsigned int n);

/* Whether the pool is down to its last eighth: growth that cannot be
 * undone at will (frames posted to a fill ring) should wait.
 */
bool umem_pool_low(const struct umem_pool *pl);

struct umem_pool_stats {
	uint32_t frames;	/* in the umem */
	uint32_t free;		/* in the pool now */
	uint32_t held;		/* quarantined: a closed member's, not back yet */
	uint32_t members;
};
void umem_pool_read_stats(const struct umem_pool *pl, struct umem_pool_stats *st);

/* For tests: pools and bytes registered now, and the grace period a closed
 * member's frames wait (ms; 0 reclaims at once).
 */
unsigned int umem_pool_count(size_t *bytes);
void umem_pool_set_grace_ms(unsigned int ms);

#endif
