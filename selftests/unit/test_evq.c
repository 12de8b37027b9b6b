// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the one-way event queue (util/evq.h): events arrive whole,
 * in order, across threads and around the ring; a full queue refuses and
 * counts instead of waiting.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "ktap.h"
#include "util/evq.h"

struct ev {
	uint32_t seq;
	uint32_t check;
	uint64_t pad[2];
};

#define N_EVENTS 200000

struct prod {
	struct evq *q;
	unsigned int refused;
};

static void *producer(void *arg)
{
	struct prod *p = arg;
	struct ev e = { 0 };
	uint32_t i;

	for (i = 0; i < N_EVENTS;) {
		e.seq = i;
		e.check = i * 2654435761u;
		e.pad[0] = e.pad[1] = i;
		if (evq_post(p->q, &e)) {
			uint64_t one = 1;

			/* a wake-up now and then, as a loop batches them */
			if (!(++i & 63))
				(void)!write(evq_fd(p->q), &one, sizeof(one));
		} else {
			p->refused++;
			sched_yield();
		}
	}
	return NULL;
}

int main(void)
{
	struct evq q;
	struct ev e;
	struct prod p;
	pthread_t t;
	uint32_t next = 0;
	unsigned int i, bad = 0;
	bool ok;

	ktap_plan(6);

	/* 1: capacities that are not a power of two, or absurd, are refused */
	KTAP_CHECK(evq_init(&q, 3, sizeof(e)) == -EINVAL && evq_init(&q, 0, sizeof(e)) == -EINVAL &&
		   evq_init(&q, 8, 0) == -EINVAL,
		   "evq_init refuses a capacity that is not a power of two, and empty events");

	if (evq_init(&q, 8, sizeof(e)))
		ktap_skip_all("eventfd unavailable");
	/* 2: empty, then full: the ninth post is refused and counted */
	ok = !evq_take(&q, &e);
	for (i = 0; i < 8; i++) {
		e.seq = i;
		ok &= evq_post(&q, &e);
	}
	e.seq = 8;
	ok &= !evq_post(&q, &e) && evq_dropped(&q) == 1;
	KTAP_CHECK(ok, "8 events fit a queue of 8, the 9th is refused and counted");

	/* 3: they come out in order, around the ring */
	ok = true;
	for (i = 0; i < 8; i++)
		ok &= evq_take(&q, &e) && e.seq == i;
	for (i = 0; i < 20; i++) {
		e.seq = 100 + i;
		ok &= evq_post(&q, &e) && evq_take(&q, &e) && e.seq == 100 + i;
	}
	ok &= !evq_take(&q, &e);
	KTAP_CHECK(ok, "events come out in order, across the ring's wrap, then none");
	evq_fini(&q);

	/* 4-6: another thread posts, this one takes, waking on the eventfd */
	if (evq_init(&q, 64, sizeof(e)))
		ktap_skip_all("eventfd unavailable");
	p.q = &q;
	p.refused = 0;
	pthread_create(&t, NULL, producer, &p);
	while (next < N_EVENTS) {
		struct pollfd pf = { .fd = evq_fd(&q), .events = POLLIN };
		uint64_t v;

		if (!evq_take(&q, &e)) {
			poll(&pf, 1, 1);
			(void)!read(evq_fd(&q), &v, sizeof(v));
			continue;
		}
		if (e.seq != next || e.check != next * 2654435761u || e.pad[0] != next ||
		    e.pad[1] != next)
			bad++;
		next = e.seq + 1;
	}
	pthread_join(t, NULL);
	ktap_result(next == N_EVENTS, "all %u events taken on the consumer's thread", N_EVENTS);
	ktap_result(!bad, "each whole and in order (%u out of order or torn)", bad);
	ktap_diag("the producer found the queue full %u times and retried", p.refused);
	ktap_result(evq_dropped(&q) == p.refused, "refused posts counted (%llu)",
		    (unsigned long long)evq_dropped(&q));
	evq_fini(&q);
	return ktap_finish();
}
