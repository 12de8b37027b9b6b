// SPDX-License-Identifier: GPL-2.0
/* The one-way event queue (see evq.h): a single-producer single-consumer
 * ring; the producer publishes a slot with a release store of head, the
 * consumer frees it with a release store of tail.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "evq.h"

int evq_init(struct evq *q, unsigned int cap, size_t esize)
{
	memset(q, 0, sizeof(*q));
	q->efd = -1;
	if (cap < 2 || cap > 65536 || (cap & (cap - 1)) || !esize || esize > 4096)
		return -EINVAL;
	q->slots = calloc(cap, esize);
	if (!q->slots)
		return -ENOMEM;
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->efd < 0) {
		int err = -errno;

		free(q->slots);
		q->slots = NULL;
		return err;
	}
	q->mask = cap - 1;
	q->esize = (uint32_t)esize;
	return 0;
}

void evq_fini(struct evq *q)
{
	if (q->efd >= 0)
		close(q->efd);
	free(q->slots);
	q->slots = NULL;
	q->efd = -1;
}

bool evq_post(struct evq *q, const void *ev)
{
	uint32_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);

	if (head - tail > q->mask) {
		atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
		return false;
	}
	memcpy(q->slots + (size_t)(head & q->mask) * q->esize, ev, q->esize);
	atomic_store_explicit(&q->head, head + 1, memory_order_release);
	return true;
}

bool evq_take(struct evq *q, void *ev)
{
	uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&q->head, memory_order_acquire);

	if (tail == head)
		return false;
	memcpy(ev, q->slots + (size_t)(tail & q->mask) * q->esize, q->esize);
	atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
	return true;
}
