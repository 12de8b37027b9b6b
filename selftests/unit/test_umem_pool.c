// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the shared umem pool without sockets: pool sizes and member
 * limits, frames handed out once and given back whole, a closed member's
 * frames reclaimed (after the grace period), and threads taking and giving
 * back frames at once without ever holding the same frame twice.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xdp/umem_pool.h"
#include "ktap.h"

#define FRAME		2048u
#define THREADS		3
#define ROUNDS		200000

static uint8_t *in_use;		/* per frame: 1 while some member holds it */
static struct umem_pool *shared;
static bool twice;		/* a frame handed to two holders at once */

/* Take every frame the pool has for member @id. */
static unsigned int drain(struct umem_pool *pl, uint16_t id, uint64_t *addrs,
			  unsigned int cap)
{
	unsigned int n = 0, k;

	while (n < cap && (k = umem_pool_get(pl, id, addrs + n, cap - n)))
		n += k;
	return n;
}

static bool put_all(struct umem_pool *pl, uint16_t id, const uint64_t *addrs,
		    unsigned int n)
{
	unsigned int i, k;

	for (i = 0; i < n; i += k) {
		k = n - i < UMEM_POOL_BATCH ? n - i : UMEM_POOL_BATCH;
		if (!umem_pool_put(pl, id, addrs + i, k))
			return false;
	}
	return true;
}

static void *churn(void *arg)
{
	uint16_t id = (uint16_t)(uintptr_t)arg;
	uint64_t held[4 * UMEM_POOL_BATCH];
	unsigned int n = 0, r, i, k;
	unsigned int seed = id;

	for (r = 0; r < ROUNDS; r++) {
		if (n + UMEM_POOL_BATCH <= 4 * UMEM_POOL_BATCH && (rand_r(&seed) & 1)) {
			k = umem_pool_get(shared, id, held + n, UMEM_POOL_BATCH);
			for (i = n; i < n + k; i++)
				if (__atomic_exchange_n(&in_use[held[i] / FRAME], 1, __ATOMIC_RELAXED))
					twice = true;
			n += k;
		} else if (n) {
			k = 1 + rand_r(&seed) % (n < UMEM_POOL_BATCH ? n : UMEM_POOL_BATCH);
			for (i = n - k; i < n; i++)
				__atomic_store_n(&in_use[held[i] / FRAME], 0, __ATOMIC_RELAXED);
			if (umem_pool_put(shared, id, held + n - k, k))
				n -= k;
			else
				for (i = n - k; i < n; i++)
					__atomic_store_n(&in_use[held[i] / FRAME], 1, __ATOMIC_RELAXED);
		}
	}
	for (i = 0; i < n; i++)
		__atomic_store_n(&in_use[held[i] / FRAME], 0, __ATOMIC_RELAXED);
	put_all(shared, id, held, n);
	return NULL;
}

int main(void)
{
	static uint64_t addrs[16384];
	struct umem_pool *a, *b, *c, *d;
	struct umem_pool_stats st;
	pthread_t tid[THREADS];
	uint16_t ids[17] = { 0 }, id2;
	unsigned int n, i, joined = 0;
	bool ok;
	size_t bytes;

	ktap_plan(11);
	umem_pool_lock();

	/* 1-2: sizes and members */
	ok = !umem_pool_new(&a, FRAME) && !umem_pool_new(&b, FRAME) &&
	     !umem_pool_new(&c, FRAME) && !umem_pool_new(&d, FRAME);
	KTAP_CHECK(ok && umem_pool_size(a) == 8u << 20 && umem_pool_size(b) == 16u << 20 &&
		   umem_pool_size(c) == 32u << 20 && umem_pool_size(d) == 32u << 20 &&
		   umem_pool_count(&bytes) == 4 && bytes == 88u << 20,
		   "pools of 8, 16, then 32 MiB");
	while (joined < 17 && !umem_pool_join(a, -1, &ids[joined]))
		joined++;
	KTAP_CHECK(joined == 8 && !umem_pool_has_room(a),
		   "an 8 MiB pool of 2 KiB frames takes 8 members (256 frames each, half)");

	/* 3-4: every frame once, aligned and inside the umem; dry; back whole */
	n = drain(a, ids[0], addrs, 16384);
	ok = n == 4096;
	in_use = calloc(16384, 1);
	for (i = 0; ok && i < n; i++) {
		ok = addrs[i] % FRAME == 0 && addrs[i] < umem_pool_size(a) &&
		     !in_use[addrs[i] / FRAME];
		in_use[addrs[i] / FRAME] = 1;
	}
	umem_pool_read_stats(a, &st);
	KTAP_CHECK(ok && st.free == 0 && !umem_pool_get(a, ids[1], addrs + n, 64) &&
		   umem_pool_low(a),
		   "4096 distinct frame addresses, then the pool is dry (and low)");
	KTAP_CHECK(put_all(a, ids[0], addrs, 511) && umem_pool_low(a) &&
		   put_all(a, ids[0], addrs + 511, n - 511) && !umem_pool_low(a) &&
		   (umem_pool_read_stats(a, &st), st.free == 4096),
		   "low below an eighth free; all 4096 frames back in the pool");

	/* 5: a closed member's frames come back (no grace) */
	umem_pool_set_grace_ms(0);
	n = drain(a, ids[1], addrs, 300);
	umem_pool_leave(a, ids[1]);
	umem_pool_read_stats(a, &st);
	KTAP_CHECK(n == 300 && st.free == 4096 && st.members == 7,
		   "a member that leaves holding 300 frames gives them all back");

	/* 6-7: with a grace period they wait it out. The grace is long
	 * enough that a preemption between umem_pool_leave()'s stamp and its
	 * own reclaim (a CI machine's one-off stall) cannot end it early.
	 */
	umem_pool_set_grace_ms(100);
	n = drain(a, ids[2], addrs, 130);
	umem_pool_leave(a, ids[2]);
	umem_pool_read_stats(a, &st);
	KTAP_CHECK(n == 130 && st.held == 130 && st.free == 4096 - 130,
		   "within the grace period a closed member's frames stay out of the pool");
	nanosleep(&(struct timespec){ .tv_nsec = 110 * 1000000 }, NULL);	/* the grace itself */
	umem_pool_join(a, -1, &id2);
	umem_pool_read_stats(a, &st);
	KTAP_CHECK(st.held == 0 && st.free == 4096, "after it, the next join takes them back");
	umem_pool_leave(a, id2);

	/* 8: a share fd is a bound member's */
	umem_pool_set_fd(a, ids[3], 42);
	KTAP_CHECK(umem_pool_share_fd(a) == 42, "the share fd is a bound member's socket");

	/* 9: the last member's leaving frees the pool */
	umem_pool_leave(a, ids[0]);
	for (i = 3; i < 8; i++)
		umem_pool_leave(a, ids[i]);
	KTAP_CHECK(umem_pool_count(NULL) == 3 && umem_pool_next(NULL) == b,
		   "the pool goes with its last member");

	/* 10-11: threads at once */
	shared = d;
	memset(in_use, 0, 16384);
	for (i = 0; i < THREADS; i++)
		umem_pool_join(d, -1, &ids[i]);
	umem_pool_unlock();
	for (i = 0; i < THREADS; i++)
		pthread_create(&tid[i], NULL, churn, (void *)(uintptr_t)ids[i]);
	for (i = 0; i < THREADS; i++)
		pthread_join(tid[i], NULL);
	umem_pool_read_stats(d, &st);
	KTAP_CHECK(!twice, "3 threads x 200000 gets/puts: no frame held twice");
	KTAP_CHECK(st.free == st.frames, "and every frame back in the pool");
	ktap_diag("pool after the threads: %u of %u free", st.free, st.frames);

	umem_pool_lock();
	for (i = 0; i < THREADS; i++)
		umem_pool_leave(d, ids[i]);
	/* b and c never had a member: one joining and leaving frees each */
	if (!umem_pool_join(b, -1, &id2))
		umem_pool_leave(b, id2);
	if (!umem_pool_join(c, -1, &id2))
		umem_pool_leave(c, id2);
	ktap_diag("pools left: %u", umem_pool_count(NULL));
	free(in_use);
	umem_pool_unlock();
	return ktap_finish();
}
