// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the mailbox into an event loop's thread (util/mbox.h):
 * calls run on the owner's thread, in order, and fail cleanly once the
 * mailbox is closed; two loops calling each other at once (urgent calls,
 * mbox_call_from()) both finish.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "ktap.h"
#include "util/compiler.h"
#include "util/mbox.h"
#include "util/uring_loop.h"

struct owner {
	struct uloop loop;
	struct mbox mb;
	pthread_t thread;
	int ready;		/* 1: attached, -1: failed */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int seen[2];	/* per poster: the last sequence number run */
	bool order_ok;
	unsigned int ran;
};

struct call {
	struct mbox_msg msg;
	struct owner *o;
	pthread_t ran_on;
	unsigned int poster, seq;
};

static int call_record(struct mbox_msg *m)
{
	struct call *c = container_of(m, struct call, msg);

	c->ran_on = pthread_self();
	if (c->seq != c->o->seen[c->poster] + 1)
		c->o->order_ok = false;
	c->o->seen[c->poster] = c->seq;
	c->o->ran++;
	return (int)c->seq * 10;
}

static int call_stop(struct mbox_msg *m)
{
	struct call *c = container_of(m, struct call, msg);

	uloop_stop(&c->o->loop);
	return 0;
}

static int call_self(struct mbox_msg *m)
{
	struct call *c = container_of(m, struct call, msg);
	struct call inner = { .msg.fn = call_record, .o = c->o };

	/* From the owner's own thread: it would wait for itself. */
	return mbox_call(&c->o->mb, &inner.msg);
}

static void *owner_main(void *arg)
{
	struct owner *o = arg;
	int ok = !uloop_init(&o->loop, 16) && !mbox_attach(&o->mb, &o->loop);

	pthread_mutex_lock(&o->lock);
	o->ready = ok ? 1 : -1;
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
	if (ok)
		uloop_run(&o->loop);
	mbox_close(&o->mb);
	uloop_fini(&o->loop);
	return NULL;
}

struct poster {
	struct owner *o;
	unsigned int id, n;
	int bad;		/* calls that returned the wrong value */
};

static void *poster_main(void *arg)
{
	struct poster *p = arg;
	unsigned int i;

	for (i = 1; i <= p->n; i++) {
		struct call c = { .msg.fn = call_record, .o = p->o, .poster = p->id, .seq = i };

		if (mbox_call(&p->o->mb, &c.msg) != (int)i * 10)
			p->bad++;
	}
	return NULL;
}

/* Two owners call each other at the same moment (posted from here with
 * mbox_post(), awaited with mbox_wait()): each waits in mbox_call_from()
 * for the other, which must run the urgent call meanwhile.
 */
static pthread_barrier_t cross_barrier;

struct cross {
	struct mbox_msg msg;
	struct owner *self, *peer;
	pthread_t inner_ran_on;
	int inner_ret;
};

static int call_inner(struct mbox_msg *m)
{
	struct cross *x = container_of(m, struct cross, msg);

	x->inner_ran_on = pthread_self();
	return 7;
}

static int call_cross(struct mbox_msg *m)
{
	struct cross *x = container_of(m, struct cross, msg);
	struct cross in = { .msg.fn = call_inner };

	pthread_barrier_wait(&cross_barrier);
	x->inner_ret = mbox_call_from(&x->peer->mb, &in.msg, &x->self->mb);
	x->inner_ran_on = in.inner_ran_on;
	return 0;
}

static int owner_start(struct owner *o)
{
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->cond, NULL);
	if (mbox_init(&o->mb))
		return -1;
	pthread_create(&o->thread, NULL, owner_main, o);
	pthread_mutex_lock(&o->lock);
	while (!o->ready)
		pthread_cond_wait(&o->cond, &o->lock);
	pthread_mutex_unlock(&o->lock);
	return o->ready;
}

static void owner_stop(struct owner *o)
{
	struct call c = { .msg.fn = call_stop, .o = o };

	mbox_call(&o->mb, &c.msg);
	pthread_join(o->thread, NULL);
	mbox_fini(&o->mb);
}

static void test_cross(void)
{
	struct owner a = { .order_ok = true }, b = { .order_ok = true };
	struct cross xa = { .msg.fn = call_cross, .self = &a, .peer = &b };
	struct cross xb = { .msg.fn = call_cross, .self = &b, .peer = &a };
	int ra, rb;

	if (owner_start(&a) < 0 || owner_start(&b) < 0) {
		KTAP_CHECK(0, "two loops calling each other at once: both calls finish");
		KTAP_CHECK(0, "each urgent call ran on the other loop's thread");
		return;
	}
	pthread_barrier_init(&cross_barrier, NULL, 2);
	ra = mbox_post(&a.mb, &xa.msg);
	rb = mbox_post(&b.mb, &xb.msg);
	if (!ra)
		ra = mbox_wait(&xa.msg);
	if (!rb)
		rb = mbox_wait(&xb.msg);
	KTAP_CHECK(!ra && !rb && xa.inner_ret == 7 && xb.inner_ret == 7,
		   "two loops calling each other at once: both calls finish (mbox_call_from)");
	KTAP_CHECK(pthread_equal(xa.inner_ran_on, b.thread) &&
		   pthread_equal(xb.inner_ran_on, a.thread),
		   "each urgent call ran on the other loop's thread");
	pthread_barrier_destroy(&cross_barrier);
	owner_stop(&a);
	owner_stop(&b);
}

struct blocked {
	struct mbox *mb;
	int ret;
};

static void *blocked_main(void *arg)
{
	struct blocked *b = arg;
	struct call c = { .msg.fn = call_record };

	b->ret = mbox_call(b->mb, &c.msg);
	return NULL;
}

int main(void)
{
	struct owner o = { .order_ok = true };
	struct poster p[2] = { { .o = &o, .id = 0, .n = 500 }, { .o = &o, .id = 1, .n = 500 } };
	struct call c = { .msg.fn = call_record, .o = &o, .poster = 0 };
	pthread_t pt[2];
	struct blocked b;
	struct mbox mb2;
	pthread_t bt;
	bool queued = false;
	int i, ret;

	ktap_plan(9);
	/* A deadlock (check 8) ends the test as a failure instead of hanging. */
	alarm(30);
	pthread_mutex_init(&o.lock, NULL);
	pthread_cond_init(&o.cond, NULL);
	if (mbox_init(&o.mb))
		ktap_skip_all("eventfd unavailable");
	pthread_create(&o.thread, NULL, owner_main, &o);
	pthread_mutex_lock(&o.lock);
	while (!o.ready)
		pthread_cond_wait(&o.cond, &o.lock);
	pthread_mutex_unlock(&o.lock);
	if (o.ready < 0)
		ktap_skip_all("io_uring unavailable");

	/* 1: one call */
	c.seq = 1;
	ret = mbox_call(&o.mb, &c.msg);
	KTAP_CHECK(ret == 10 && pthread_equal(c.ran_on, o.thread) && !pthread_equal(c.ran_on, pthread_self()),
		   "a call runs on the owner's thread and returns its value");
	o.seen[0] = 0;

	/* 2-3: two posters at once */
	for (i = 0; i < 2; i++)
		pthread_create(&pt[i], NULL, poster_main, &p[i]);
	for (i = 0; i < 2; i++)
		pthread_join(pt[i], NULL);
	KTAP_CHECK(!p[0].bad && !p[1].bad && o.seen[0] == 500 && o.seen[1] == 500 && o.ran == 1001,
		   "1000 calls from two threads all run, each returning its own value");
	KTAP_CHECK(o.order_ok, "each poster's calls run in the order posted");

	/* 4: from the owner itself */
	c.msg.fn = call_self;
	ret = mbox_call(&o.mb, &c.msg);
	KTAP_CHECK(ret == -EDEADLK, "a call from the owner's thread is refused (-EDEADLK), not a hang");

	/* 5: the owner stops; later calls fail */
	c.msg.fn = call_stop;
	mbox_call(&o.mb, &c.msg);
	pthread_join(o.thread, NULL);
	c.msg.fn = call_record;
	KTAP_CHECK(mbox_call(&o.mb, &c.msg) == -ESHUTDOWN, "after the owner closed it: -ESHUTDOWN");
	mbox_fini(&o.mb);

	/* 6-7: a call waiting when the owner closes fails instead of hanging */
	ret = mbox_init(&mb2);
	b.mb = &mb2;
	b.ret = 0;
	pthread_create(&bt, NULL, blocked_main, &b);
	for (i = 0; i < 5000 && !queued; i++) {
		pthread_mutex_lock(&mb2.lock);
		queued = mb2.head != NULL;
		pthread_mutex_unlock(&mb2.lock);
		if (!queued)
			usleep(1000);
	}
	KTAP_CHECK(!ret && queued, "a call waits in a mailbox nobody drains");
	mbox_close(&mb2);
	pthread_join(bt, NULL);
	KTAP_CHECK(b.ret == -ESHUTDOWN, "closing the mailbox fails the waiting call with -ESHUTDOWN");
	mbox_fini(&mb2);

	/* 8-9 */
	test_cross();
	return ktap_finish();
}
