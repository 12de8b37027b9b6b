// SPDX-License-Identifier: GPL-2.0
/* io_uring event loop: every fd the daemon waits on is an SQE in flight, so
 * one io_uring_submit_and_wait() is the only place the daemon sleeps.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "uring_loop.h"

/* user_data values below this are not sources (eventfd writes, cancels). */
#define ULOOP_TAG_NONE 0

/* Memory to free once the loop's completions can no longer name it. */
struct uloop_gc {
	void (*fn)(void *ptr);
	void *ptr;
	struct uloop_gc *next;
};

int uloop_init(struct uloop *l, unsigned int entries)
{
	int err;

	memset(l, 0, sizeof(*l));
	l->spin_ns = ULOOP_SPIN_US_DEFAULT * 1000ull;
	/* Completions that need our task (poll wake-ups) would otherwise
	 * interrupt us with an IPI even while we are running, e.g. busy
	 * polling; COOP_TASKRUN (5.19+) runs them at our next kernel entry,
	 * and TASKRUN_FLAG tells us when there are some so a busy-poll can
	 * stop to collect them.
	 */
	err = io_uring_queue_init(entries, &l->ring,
				  IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG);
	if (err == -EINVAL)
		err = io_uring_queue_init(entries, &l->ring, 0);
	if (err) {
		pr_err("io_uring_queue_init: %s%s", strerror(-err),
		       err == -EPERM ? " (io_uring disabled by kernel.io_uring_disabled?)" :
		       err == -ENOSYS ? " (kernel built without CONFIG_IO_URING)" : "");
		return err;
	}
	return 0;
}

static void uloop_gc_all(struct uloop *l)
{
	while (l->gc) {
		struct uloop_gc *g = l->gc;

		l->gc = g->next;
		g->fn(g->ptr);
		free(g);
	}
}

void uloop_fini(struct uloop *l)
{
	io_uring_queue_exit(&l->ring);
	/* No completion can come any more. */
	uloop_gc_all(l);
}

/* An SQE, flushing the submission queue to the kernel if it is full. */
static struct io_uring_sqe *uloop_sqe(struct uloop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

	if (!sqe) {
		io_uring_submit(&l->ring);
		sqe = io_uring_get_sqe(&l->ring);
	}
	return sqe;
}

static int uloop_arm(struct uloop *l, struct uloop_src *s)
{
	struct io_uring_sqe *sqe = uloop_sqe(l);

	if (!sqe)
		return -EBUSY;
	if (s->kind == ULOOP_POLL && s->lazy)
		io_uring_prep_poll_add(sqe, s->fd, s->events);
	else if (s->kind == ULOOP_POLL)
		io_uring_prep_poll_multishot(sqe, s->fd, s->events);
	else
		io_uring_prep_read(sqe, s->fd, s->buf, s->len, 0);
	io_uring_sqe_set_data(sqe, s);
	s->armed = true;
	return 0;
}

static int uloop_add(struct uloop *l, struct uloop_src *s)
{
	s->active = true;
	/* An SQE for a previous fd is still in flight: its final completion
	 * re-arms with the new one (see uloop_complete()).
	 */
	if (s->armed)
		return 0;
	return uloop_arm(l, s);
}

static void uloop_queue_rearm(struct uloop *l, struct uloop_src *s);

static int uloop_add_poll_src(struct uloop *l, struct uloop_src *s, int fd,
			      unsigned int events, uloop_fn fn, bool lazy)
{
	uloop_del(l, s);
	s->fn = fn;
	s->fd = fd;
	s->kind = ULOOP_POLL;
	s->events = events;
	s->lazy = lazy;
	if (lazy) {
		s->lazy_next = l->lazy;
		l->lazy = s;
		/* Parked from the start while the loop polls under load (in
		 * busy mode, for good): armed when it sleeps.
		 */
		if (l->loaded && !s->armed) {
			s->active = true;
			uloop_queue_rearm(l, s);
			return 0;
		}
	}
	return uloop_add(l, s);
}

int uloop_add_poll(struct uloop *l, struct uloop_src *s, int fd,
		   unsigned int events, uloop_fn fn)
{
	return uloop_add_poll_src(l, s, fd, events, fn, false);
}

int uloop_add_poll_lazy(struct uloop *l, struct uloop_src *s, int fd,
			unsigned int events, uloop_fn fn)
{
	return uloop_add_poll_src(l, s, fd, events, fn, true);
}

/* A lazy source that fired: arm it again only before the loop sleeps. */
static void uloop_queue_rearm(struct uloop *l, struct uloop_src *s)
{
	if (s->rearm_queued)
		return;
	s->rearm_queued = true;
	s->rearm_next = l->rearm;
	l->rearm = s;
}

static void uloop_rearm_lazy(struct uloop *l)
{
	struct uloop_src *s = l->rearm;

	l->rearm = NULL;
	while (s) {
		struct uloop_src *next = s->rearm_next;

		s->rearm_queued = false;
		if (s->active && !s->armed)
			uloop_arm(l, s);
		s = next;
	}
}

/* Take @s off the re-arm list and the lazy list (it is being deleted or
 * moved).
 */
static void uloop_unlink_lazy(struct uloop *l, struct uloop_src *s)
{
	struct uloop_src **pp;

	if (!s->lazy)
		return;
	s->lazy = false;
	for (pp = &l->lazy; *pp; pp = &(*pp)->lazy_next) {
		if (*pp == s) {
			*pp = s->lazy_next;
			break;
		}
	}
	if (!s->rearm_queued)
		return;
	for (pp = &l->rearm; *pp; pp = &(*pp)->rearm_next) {
		if (*pp == s) {
			*pp = s->rearm_next;
			break;
		}
	}
	s->rearm_queued = false;
}

/* Busy polling starts: cancel the lazy polls still armed. A poll waiting on
 * a socket is a sleeper on its wait queue, and the kernel wakes the queue
 * (lock, callback) on events the poll does not even ask for.
 */
static void uloop_park_lazy(struct uloop *l)
{
	struct io_uring_sqe *sqe;
	struct uloop_src *s;

	for (s = l->lazy; s; s = s->lazy_next) {
		if (!s->active || !s->armed || s->stale || s->parked)
			continue;
		sqe = uloop_sqe(l);
		if (!sqe)
			return;
		io_uring_prep_cancel(sqe, s, 0);
		io_uring_sqe_set_data64(sqe, ULOOP_TAG_NONE);
		s->parked = true;
	}
}

int uloop_add_read(struct uloop *l, struct uloop_src *s, int fd, void *buf,
		   unsigned int len, uloop_fn fn)
{
	uloop_del(l, s);
	s->fn = fn;
	s->fd = fd;
	s->kind = ULOOP_READ;
	s->buf = buf ? buf : &s->val;
	s->len = buf ? len : sizeof(s->val);
	return uloop_add(l, s);
}

/* Cancel @s's in-flight SQE, or queue the cancel when the submission queue
 * has no room even after a submit. Closing the fd would not end the
 * request: io_uring holds the file until the request completes, and a poll
 * or read on a quiet fd may never complete.
 */
static void uloop_cancel(struct uloop *l, struct uloop_src *s)
{
	struct io_uring_sqe *sqe = uloop_sqe(l);

	if (!sqe) {
		if (!s->cancel_queued) {
			s->cancel_queued = true;
			s->cancel_next = l->cancels;
			l->cancels = s;
		}
		return;
	}
	io_uring_prep_cancel(sqe, s, 0);
	io_uring_sqe_set_data64(sqe, ULOOP_TAG_NONE);
}

/* Submit the cancels uloop_cancel() could not; those whose request has
 * completed meanwhile need none (a late one would cancel the source's next
 * request).
 */
static void uloop_flush_cancels(struct uloop *l)
{
	while (l->cancels) {
		struct uloop_src *s = l->cancels;
		struct io_uring_sqe *sqe;

		if (s->armed && s->stale) {
			sqe = uloop_sqe(l);
			if (!sqe)
				return;	/* next round */
			io_uring_prep_cancel(sqe, s, 0);
			io_uring_sqe_set_data64(sqe, ULOOP_TAG_NONE);
		}
		l->cancels = s->cancel_next;
		s->cancel_queued = false;
	}
}

void uloop_del(struct uloop *l, struct uloop_src *s)
{
	s->active = false;
	uloop_unlink_lazy(l, s);
	if (!s->armed || s->stale)
		return;
	s->stale = true;
	l->nstale++;
	uloop_cancel(l, s);
}

/* A deleted source's last completion (a cancelled poll's comes by task
 * work, after the cancel's own) may still be on its way: the memory goes
 * once no deleted source waits for one (see uloop_run()).
 */
void uloop_free_later(struct uloop *l, void (*fn)(void *ptr), void *ptr)
{
	struct uloop_gc *g = malloc(sizeof(*g));

	if (!g) {
		pr_warn("uloop: out of memory: leaking %p rather than freeing it early", ptr);
		return;
	}
	g->fn = fn;
	g->ptr = ptr;
	g->next = l->gc;
	l->gc = g;
}

void uloop_signal_eventfd(struct uloop *l, int fd)
{
	static const uint64_t one = 1;
	struct io_uring_sqe *sqe = uloop_sqe(l);

	if (!sqe)
		return;
	io_uring_prep_write(sqe, fd, &one, sizeof(one), 0);
	io_uring_sqe_set_data64(sqe, ULOOP_TAG_NONE);
	/* Nobody waits for the result; do not let it occupy a CQE slot. */
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

void uloop_defer(struct uloop *l, struct uloop_work *w)
{
	if (w->queued)
		return;
	w->queued = true;
	w->next = l->deferred;
	l->deferred = w;
}

static void uloop_complete(struct uloop *l, struct io_uring_cqe *cqe)
{
	struct uloop_src *s = io_uring_cqe_get_data(cqe);
	bool more = cqe->flags & IORING_CQE_F_MORE;

	if (!s)
		return;
	if (!more) {
		bool parked = s->parked;

		s->armed = false;
		s->parked = false;
		if (s->stale) {
			s->stale = false;
			l->nstale--;
			if (s->active)
				uloop_arm(l, s);
			return;
		}
		/* Cancelled by uloop_park_lazy(), not fired: arm it again
		 * before sleeping. (One that fired first is an event.)
		 */
		if (parked && cqe->res == -ECANCELED) {
			if (s->active)
				uloop_queue_rearm(l, s);
			return;
		}
	}
	if (s->stale || !s->active)
		return;
	if (!more && cqe->res < 0) {
		/* A dead fd: tell the owner once and stop watching it. */
		pr_debug("event source fd %d: %s", s->fd, strerror(-cqe->res));
		s->active = false;
	}
	s->fn(s, cqe->res);
	/* After the callback, which may have deleted or re-added the source,
	 * and which must see a read's buffer before the next read fills it.
	 */
	if (s->active && !s->armed) {
		if (s->lazy)
			uloop_queue_rearm(l, s);
		else
			uloop_arm(l, s);
	}
}

/* Work deferred while this runs waits for the next round; each one is
 * taken off l->running before it runs, so that uloop_undefer() can take
 * off the rest.
 */
static void uloop_run_deferred(struct uloop *l)
{
	struct uloop_work *w;

	l->running = l->deferred;
	l->deferred = NULL;
	while ((w = l->running)) {
		l->running = w->next;
		w->queued = false;
		w->fn(w);
	}
}

static bool uloop_unlink_work(struct uloop_work **head, struct uloop_work *w)
{
	struct uloop_work **pp;

	for (pp = head; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			return true;
		}
	}
	return false;
}

void uloop_undefer(struct uloop *l, struct uloop_work *w)
{
	if (!w->queued)
		return;
	if (!uloop_unlink_work(&l->deferred, w))
		uloop_unlink_work(&l->running, w);
	w->queued = false;
}

void uloop_add_poller(struct uloop *l, struct uloop_poller *p)
{
	p->next = l->pollers;
	l->pollers = p;
}

void uloop_del_poller(struct uloop *l, struct uloop_poller *p)
{
	struct uloop_poller **pp;

	for (pp = &l->pollers; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			return;
		}
	}
}

void uloop_set_busy_poll(struct uloop *l, unsigned int usec)
{
	l->spin_ns = usec * 1000ull;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

/* Completions to reap, or task work (with TASKRUN_FLAG) to run for some. */
static bool uloop_events_ready(struct uloop *l)
{
	return io_uring_cq_ready(&l->ring) ||
	       (IO_URING_READ_ONCE(*l->ring.sq.kflags) & IORING_SQ_TASKRUN);
}

static unsigned int uloop_poll_all(struct uloop *l)
{
	struct uloop_poller *p;
	unsigned int frames = 0;

	for (p = l->pollers; p; p = p->next)
		frames += p->fn(p);
	return frames;
}

static void uloop_idle_all(struct uloop *l)
{
	struct uloop_poller *p;

	for (p = l->pollers; p; p = p->next)
		if (p->idle)
			p->idle(p);
}

/* Whether to poll instead of sleeping: in busy mode always; otherwise
 * after a round that moved a frame, and for as long as every window finds
 * work, like NAPI; an idle loop never starts.
 */
static bool uloop_busy(const struct uloop *l)
{
	return l->pollers &&
	       (l->busy_holds || (l->spin_ns && (l->spinning || l->frames)));
}

/* Polling starts, or goes on: under load (or in busy mode) park the lazy
 * polls and tell the pollers, once until the loop sleeps again.
 */
static void uloop_busy_begin(struct uloop *l)
{
	struct uloop_poller *p;

	l->spinning = true;
	if (l->loaded || (!l->busy_holds && l->frames < ULOOP_SPIN_MIN_FRAMES))
		return;
	uloop_park_lazy(l);
	l->loaded = true;
	for (p = l->pollers; p; p = p->next)
		if (p->busy)
			p->busy(p);
}

/* Poll: run the pollers until they or the ring have something, or spin_ns
 * pass without (never, in busy mode). Returns true when there is work (do
 * not sleep).
 */
static bool uloop_spin(struct uloop *l)
{
	uint64_t start;

	if (!uloop_busy(l))
		return false;
	uloop_busy_begin(l);
	/* What handlers queued (guest notifications) must not wait for us. */
	io_uring_submit(&l->ring);
	start = mono_ns();
	for (;;) {
		if (uloop_events_ready(l))
			break;
		if (uloop_poll_all(l) || l->deferred) {
			/* (What the pollers moved may make this load.) */
			uloop_busy_begin(l);
			break;
		}
		if (!l->busy_holds && mono_ns() - start >= l->spin_ns) {
			l->spinning = false;
			l->loaded = false;
			return false;
		}
		cpu_relax();
	}
	return true;
}

void uloop_hold_busy(struct uloop *l, bool on)
{
	if (on)
		l->busy_holds++;
	else if (l->busy_holds)
		l->busy_holds--;
}

int uloop_run(struct uloop *l)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n;
	bool wait;
	int err;

	while (!l->stop) {
		if (!l->deferred) {
			wait = !uloop_spin(l);
		} else {
			wait = false;
			/* Work left at its budget is busy too. Lazy sources
			 * are then disarmed: the pollers must see them.
			 */
			if (uloop_busy(l)) {
				uloop_busy_begin(l);
				uloop_poll_all(l);
			}
		}
		if (wait) {
			uloop_idle_all(l);
			wait = !l->deferred;
		}
		l->frames = 0;
		if (l->cancels)
			uloop_flush_cancels(l);
		if (!l->spinning && l->rearm)
			uloop_rearm_lazy(l);	/* in the same submission */
		if (wait)
			err = io_uring_submit_and_wait(&l->ring, 1);
		else
			err = io_uring_submit(&l->ring);
		if (err < 0 && err != -EINTR && err != -EBUSY && err != -EAGAIN) {
			pr_err("io_uring_submit: %s", strerror(-err));
			return err;
		}
		n = 0;
		io_uring_for_each_cqe(&l->ring, head, cqe) {
			uloop_complete(l, cqe);
			n++;
		}
		io_uring_cq_advance(&l->ring, n);
		uloop_run_deferred(l);
		/* (A queued cancel names its source too.) */
		if (l->gc && !l->nstale && !l->cancels)
			uloop_gc_all(l);
	}
	return 0;
}

void uloop_stop(struct uloop *l)
{
	l->stop = true;
}
