/* SPDX-License-Identifier: GPL-2.0 */
/* A one-way event queue between two threads: one producer posts small
 * fixed-size events, one consumer takes them on its loop. Lock-free and
 * allocation-free after evq_init(), so a datapath may post: a full queue
 * drops the event and counts it instead of waiting. An eventfd wakes the
 * consumer; the producer writes it (evq_fd()), typically through its own
 * loop's uloop_signal_eventfd().
 */
#ifndef VXDP_EVQ_H
#define VXDP_EVQ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evq {
	_Atomic uint32_t head;		/* next slot the producer fills */
	_Atomic uint32_t tail;		/* next slot the consumer reads */
	_Atomic uint64_t dropped;	/* posts refused: queue full */
	uint32_t mask;
	uint32_t esize;
	int efd;
	unsigned char *slots;
};

/* Room for @cap events (a power of two, 2..65536) of @esize bytes; an
 * eventfd for wake-ups (non-blocking). 0 or a negative errno.
 */
int evq_init(struct evq *q, unsigned int cap, size_t esize);
void evq_fini(struct evq *q);

static inline int evq_fd(const struct evq *q)
{
	return q->efd;
}

/* Producer: copy @ev in; false (and counted) when the queue is full. */
bool evq_post(struct evq *q, const void *ev);

/* Consumer: the oldest event into @ev; false when there is none. */
bool evq_take(struct evq *q, void *ev);

/* Consumer: posts refused so far. */
static inline uint64_t evq_dropped(const struct evq *q)
{
	return atomic_load_explicit(&q->dropped, memory_order_relaxed);
}

#endif
