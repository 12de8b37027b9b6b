// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the io_uring event loop: reads, polls, switching a source to
 * a new fd while the old one is in flight, queued eventfd signals, deferral,
 * busy polling.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "ktap.h"
#include "util/uring_loop.h"

struct ctx {
	struct uloop loop;
	struct uloop_src a, b;
	struct uloop_work w;
	int hits_a, hits_b, works;
	uint64_t last_val;
	int last_fd;
	int stop_after;
};

static struct ctx C;

static void on_a(struct uloop_src *s, int res)
{
	C.hits_a++;
	C.last_val = res == 8 ? s->val : 0;
	C.last_fd = s->fd;
	if (C.hits_a + C.hits_b >= C.stop_after)
		uloop_stop(&C.loop);
}

static void on_b(struct uloop_src *s, int res)
{
	(void)s;
	(void)res;
	C.hits_b++;
	if (C.hits_a + C.hits_b >= C.stop_after)
		uloop_stop(&C.loop);
}

static void on_work(struct uloop_work *w)
{
	(void)w;
	if (++C.works < 3)
		uloop_defer(&C.loop, &C.w);	/* re-queues itself: no sleep between */
	else
		uloop_stop(&C.loop);
}

/* Busy polling: a handler that reports frames, a poller that finds work a
 * given number of times, and a timer that ends the run.
 */
struct spin_ctx {
	struct uloop_src ev, timer;
	struct uloop_poller poller;
	unsigned int frames;		/* the handler accounts this many */
	unsigned int work_left;		/* poller calls that find a frame */
	unsigned int calls, busy_hooks;
	uint64_t first_ns, last_ns;	/* poller calls */
	uint64_t work_ns;		/* the last frame moved */
	uint64_t idle_ns;		/* the loop first went to sleep after it */
};

static struct spin_ctx S;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void on_ev(struct uloop_src *s, int res)
{
	(void)s;
	(void)res;
	if (S.frames)
		S.work_ns = now_ns();
	uloop_account(&C.loop, S.frames);
}

static void on_timer(struct uloop_src *s, int res)
{
	(void)s;
	(void)res;
	uloop_stop(&C.loop);
}

static unsigned int spin_poll(struct uloop_poller *p)
{
	(void)p;
	if (!S.calls++)
		S.first_ns = now_ns();
	S.last_ns = now_ns();
	if (!S.work_left)
		return 0;
	S.work_left--;
	S.work_ns = S.last_ns;
	return 1;
}

/* The window is timed from the last work to the loop's decision to sleep:
 * a poller call's own time says nothing when the thread was preempted
 * between that call and the loop's clock check. That it then sleeps is
 * no poller call after this hook (not a time asleep, which a preemption
 * before the hook shortens).
 */
static void spin_idle(struct uloop_poller *p)
{
	(void)p;
	if (S.work_ns && S.idle_ns <= S.work_ns)
		S.idle_ns = now_ns();
}

/* One round: an event whose handler moves @frames, then a 100 ms timer
 * ends the run. Returns the timer's expiry time.
 */
static void spin_busy(struct uloop_poller *p)
{
	(void)p;
	S.busy_hooks++;
}

/* Times this thread went to sleep (voluntary context switches). */
static long thread_sleeps(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_nvcsw;
}

static uint64_t spin_round(int ev, int tfd, unsigned int frames,
			   unsigned int work)
{
	struct itimerspec its = { .it_value = { .tv_nsec = 100 * 1000000 } };

	S.frames = frames;
	S.work_left = work;
	S.calls = 0;
	S.busy_hooks = 0;
	S.work_ns = 0;
	S.idle_ns = 0;
	eventfd_write(ev, 1);
	timerfd_settime(tfd, 0, &its, NULL);
	C.loop.stop = false;
	uloop_run(&C.loop);
	return now_ns();
}

static void test_busy_poll(void)
{
	int ev = eventfd(0, EFD_CLOEXEC);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	uint64_t end;
	long sleeps;

	uloop_add_read(&C.loop, &S.ev, ev, NULL, 0, on_ev);
	uloop_add_read(&C.loop, &S.timer, tfd, NULL, 0, on_timer);
	S.poller.fn = spin_poll;
	S.poller.busy = spin_busy;
	S.poller.idle = spin_idle;
	uloop_add_poller(&C.loop, &S.poller);
	uloop_set_busy_poll(&C.loop, 2000);

	/* a round that moved nothing: sleep, as an idle relay does */
	sleeps = thread_sleeps();
	spin_round(ev, tfd, 0, 0);
	KTAP_CHECK(S.calls == 0 && thread_sleeps() > sleeps,
		   "no polling after a round that moved nothing: the loop sleeps");

	/* a round that moved one frame (a ping): poll for the window, for
	 * the answer, but it is no load: no busy hook
	 */
	end = spin_round(ev, tfd, 1, 0);
	ktap_diag("light round: %u poller calls, asleep %.2f ms after the frame, for %.1f ms",
		  S.calls, (S.idle_ns - S.work_ns) / 1e6, (end - S.idle_ns) / 1e6);
	KTAP_CHECK(S.calls > 4 && S.work_ns && S.idle_ns - S.work_ns >= 2000000 &&
		   S.last_ns < S.idle_ns,
		   "polls for 2 ms after a round that moved a frame, then sleeps");
	KTAP_CHECK(S.busy_hooks == 0, "... and a light round runs no busy hook");

	/* a busy round: poll; keep polling while it finds work; give up
	 * 2 ms after the last work and sleep until the timer
	 */
	end = spin_round(ev, tfd, ULOOP_SPIN_MIN_FRAMES, 3);
	ktap_diag("busy round: %u poller calls over %.2f ms, asleep %.2f ms after the last work, for %.1f ms",
		  S.calls, (S.last_ns - S.first_ns) / 1e6,
		  (S.idle_ns - S.work_ns) / 1e6, (end - S.idle_ns) / 1e6);
	KTAP_CHECK(S.calls > 4 && S.work_left == 0 && S.busy_hooks == 1,
		   "busy-polls after a busy round, while there is work; the busy hook once");
	KTAP_CHECK(S.work_ns && S.idle_ns - S.work_ns >= 2000000 &&
		   S.last_ns < S.idle_ns,
		   "stops polling 2 ms after the last work and sleeps");

	/* busy mode: never sleeps, even with nothing to do, yet events
	 * (the timer that ends the round) still come through
	 */
	uloop_hold_busy(&C.loop, true);
	sleeps = thread_sleeps();
	end = spin_round(ev, tfd, 0, 0);
	ktap_diag("busy mode: %u poller calls in %.1f ms, the last %.2f ms before the round's end, %ld sleeps",
		  S.calls, (end - S.first_ns) / 1e6, (end - S.last_ns) / 1e6,
		  thread_sleeps() - sleeps);
	KTAP_CHECK(thread_sleeps() == sleeps && S.calls > 1000 &&
		   end - S.last_ns < 50000000 && S.busy_hooks == 1,
		   "busy mode: the loop polls the whole round, never sleeps, handles its events");
	uloop_hold_busy(&C.loop, false);
	sleeps = thread_sleeps();
	end = spin_round(ev, tfd, 0, 0);
	ktap_diag("hold given back: %u poller calls, the last %.1f ms before the round's end, %ld sleeps",
		  S.calls, (end - S.last_ns) / 1e6, thread_sleeps() - sleeps);
	KTAP_CHECK(thread_sleeps() > sleeps && end - S.last_ns >= 50000000,
		   "... and sleeps again (after the window) once the hold is given back");

	/* busy polling off */
	uloop_set_busy_poll(&C.loop, 0);
	spin_round(ev, tfd, 1000, 0);
	KTAP_CHECK(S.calls == 0, "--busy-poll 0: never polls");

	uloop_del_poller(&C.loop, &S.poller);
	uloop_set_busy_poll(&C.loop, 2000);
	spin_round(ev, tfd, 1000, 0);
	KTAP_CHECK(S.calls == 0, "a removed poller is not called");
	uloop_del(&C.loop, &S.ev);
	uloop_del(&C.loop, &S.timer);
	close(ev);
	close(tfd);
}

/* Lazy polls: disarmed while the loop busy-polls. Q watches a pipe nobody
 * writes during the spin: it must be cancelled, not left on the pipe's wait
 * queue.
 */
static struct uloop_src L, Q;
static struct uloop_poller LP;
static unsigned int lazy_hits, lazy_polls, lazy_hits_in_poll, quiet_hits;
static unsigned int busy_calls, busy_calls_idle;
static bool quiet_armed_mid = true;

static void on_quiet(struct uloop_src *s, int res)
{
	(void)s;
	(void)res;
	quiet_hits++;
	uloop_stop(&C.loop);
}

static void on_lazy(struct uloop_src *s, int res)
{
	(void)s;
	(void)res;
	/* The pipe is left readable on purpose. */
	if (++lazy_hits == 1)
		uloop_account(&C.loop, ULOOP_SPIN_MIN_FRAMES);	/* busy round */
	else
		uloop_stop(&C.loop);
}

/* Finds work 200 times, then nothing: the loop spins, then sleeps. */
static unsigned int lazy_poll(struct uloop_poller *p)
{
	(void)p;
	if (lazy_hits > lazy_hits_in_poll)
		lazy_hits_in_poll = lazy_hits;
	if (lazy_polls == 100)
		quiet_armed_mid = Q.armed;
	return ++lazy_polls <= 200;
}

static void on_lazy_busy(struct uloop_poller *p)
{
	(void)p;
	if (uloop_busy_polling(&C.loop))
		busy_calls++;
}

static void on_lazy_idle(struct uloop_poller *p)
{
	(void)p;
	if (!uloop_busy_polling(&C.loop))
		busy_calls_idle = busy_calls;
}

static void test_lazy_poll(void)
{
	struct itimerspec guard = { .it_value = { .tv_sec = 2 } };
	int p[2], q[2], tfd;
	char c;

	if (!KTAP_CHECK(!pipe(p), "pipe for the lazy poll"))
		return;
	if (!KTAP_CHECK(!pipe(q), "pipe for the quiet lazy poll"))
		return;
	/* Without a re-arm the run would never end. */
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	timerfd_settime(tfd, 0, &guard, NULL);
	uloop_add_read(&C.loop, &S.timer, tfd, NULL, 0, on_timer);
	LP.fn = lazy_poll;
	LP.busy = on_lazy_busy;
	LP.idle = on_lazy_idle;
	uloop_add_poller(&C.loop, &LP);
	uloop_set_busy_poll(&C.loop, 2000);
	uloop_add_poll_lazy(&C.loop, &Q, q[0], POLLIN, on_quiet);
	uloop_add_poll_lazy(&C.loop, &L, p[0], POLLIN, on_lazy);
	KTAP_CHECK(write(p[1], "x", 1) == 1, "pipe write (lazy poll)");
	C.loop.stop = false;
	uloop_run(&C.loop);
	ktap_diag("lazy poll: %u events, %u polls, %u events seen while polling",
		  lazy_hits, lazy_polls, lazy_hits_in_poll);
	KTAP_CHECK(lazy_polls > 200 && lazy_hits_in_poll == 1,
		   "lazy poll stays disarmed while the loop busy-polls");
	KTAP_CHECK(lazy_hits == 2, "lazy poll is armed again when the loop sleeps");
	KTAP_CHECK(!quiet_armed_mid, "a lazy poll armed when busy polling starts is cancelled");
	KTAP_CHECK(busy_calls == 1 && busy_calls_idle == 1,
		   "the busy hook runs once as polling starts, then the idle hook");
	KTAP_CHECK(Q.armed && !quiet_hits, "... and armed again before the loop sleeps");
	uloop_del(&C.loop, &L);
	KTAP_CHECK(read(p[0], &c, 1) == 1 && write(q[1], "y", 1) == 1,
		   "pipe write (quiet lazy poll)");
	C.loop.stop = false;
	uloop_run(&C.loop);
	KTAP_CHECK(quiet_hits == 1, "... and still delivers its event");
	uloop_del_poller(&C.loop, &LP);
	uloop_del(&C.loop, &Q);
	uloop_del(&C.loop, &S.timer);
	close(tfd);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

static void on_never(struct uloop_src *s, int res)
{
	(void)s;
	(void)res;
}

static void on_stop(struct uloop_work *w)
{
	(void)w;
	uloop_stop(&C.loop);
}

/* uloop_del() with no free SQE, even after a submit (here: the ring is
 * disabled until the test enables it, so submissions fail): the cancel
 * used to be dropped, leaving the read armed on the fd for good. It must
 * go out with the next submission instead.
 */
static void test_del_sq_full(void)
{
	struct uloop_src s = { 0 };
	struct uloop_work stop = { .fn = on_stop };
	struct io_uring_sqe *sqe;
	int e = eventfd(0, EFD_CLOEXEC), n = 0, err;
	struct uloop saved = C.loop;

	err = io_uring_queue_init(4, &C.loop.ring, IORING_SETUP_R_DISABLED);
	if (err || e < 0) {
		ktap_result(1, "del with a full SQ # SKIP no IORING_SETUP_R_DISABLED");
		C.loop.ring = saved.ring;
		return;
	}
	uloop_add_read(&C.loop, &s, e, NULL, 0, on_never);
	while ((sqe = io_uring_get_sqe(&C.loop.ring))) {
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, 0);
		n++;
	}
	uloop_del(&C.loop, &s);
	/* liburing 2.3 declares io_uring_enable_rings() but lacks it. */
	syscall(__NR_io_uring_register, C.loop.ring.ring_fd,
		IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	uloop_defer(&C.loop, &stop);
	C.loop.stop = false;
	uloop_run(&C.loop);
	/* One more round: the cancel's completion may come a round later. */
	if (s.armed) {
		uloop_defer(&C.loop, &stop);
		C.loop.stop = false;
		uloop_run(&C.loop);
	}
	KTAP_CHECK(n == 3 && !s.armed && !s.active,
		   "del with a full SQ: the cancel is not lost, the read ends");
	io_uring_queue_exit(&C.loop.ring);
	C.loop = saved;
	close(e);
}

/* uloop_free_later(): an object holding armed sources, deleted from a
 * callback, is freed only once their last completions are in.
 */
struct gc_obj {
	struct uloop_src poll, rd;
};

static struct uloop GL;
static struct uloop_src GT, GS;
static struct gc_obj *G;
static bool g_freed, g_freed_early;

static void gc_free(void *p)
{
	struct gc_obj *o = p;

	g_freed = true;
	g_freed_early = o->poll.armed || o->poll.stale || o->rd.armed || o->rd.stale;
	free(o);
	uloop_stop(&GL);
}

static void on_gc_nothing(struct uloop_src *s, int res)
{
	(void)s;
	(void)res;
}

static void on_gc_trigger(struct uloop_src *s, int res)
{
	(void)s;
	(void)res;
	uloop_del(&GL, &G->poll);
	uloop_del(&GL, &G->rd);
	uloop_free_later(&GL, gc_free, G);
}

static void on_gc_timeout(struct uloop_src *s, int res)
{
	(void)s;
	(void)res;
	uloop_stop(&GL);
}

static void test_free_later(void)
{
	struct itimerspec its = { .it_value.tv_sec = 2 };
	int p[2], e = eventfd(0, EFD_CLOEXEC), t = eventfd(0, EFD_CLOEXEC);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);

	G = calloc(1, sizeof(*G));
	if (uloop_init(&GL, 16) || pipe(p) || e < 0 || t < 0 || tfd < 0 || !G) {
		ktap_result(0, "free_later setup");
		return;
	}
	/* Armed and never firing: a poll on an empty pipe, a read on an
	 * eventfd nobody writes.
	 */
	uloop_add_poll(&GL, &G->poll, p[0], POLLIN, on_gc_nothing);
	uloop_add_read(&GL, &G->rd, e, NULL, 0, on_gc_nothing);
	uloop_add_read(&GL, &GT, t, NULL, 0, on_gc_trigger);
	uloop_add_read(&GL, &GS, tfd, NULL, 0, on_gc_timeout);
	timerfd_settime(tfd, 0, &its, NULL);
	eventfd_write(t, 1);
	uloop_run(&GL);
	KTAP_CHECK(g_freed && !g_freed_early,
		   "uloop_free_later(): deleted sources' memory freed after their last completions, while running");
	uloop_fini(&GL);
	close(p[0]);
	close(p[1]);
	close(e);
	close(t);
	close(tfd);
}

/* uloop_undefer(): work taken off the queue never runs, whether it was
 * queued for the next round or for this one (one work of the round taking
 * off another, as a relay closed from a deferred call takes off its own).
 */
static struct uloop_work UA, UB, UC, UD;
static unsigned int u_ran[4];

static void on_undefer(struct uloop_work *w)
{
	u_ran[w == &UA ? 0 : w == &UB ? 1 : w == &UC ? 2 : 3]++;
	if (w == &UA || w == &UB) {
		/* Whichever of the two runs first takes off the other. */
		uloop_undefer(&C.loop, w == &UA ? &UB : &UA);
		uloop_defer(&C.loop, &UD);	/* next round: stops the loop */
	}
	if (w == &UD)
		uloop_stop(&C.loop);
}

static void test_undefer(void)
{
	UA.fn = UB.fn = UC.fn = UD.fn = on_undefer;
	uloop_defer(&C.loop, &UC);
	uloop_undefer(&C.loop, &UC);
	uloop_undefer(&C.loop, &UC);	/* not queued: nothing */
	uloop_defer(&C.loop, &UA);
	uloop_defer(&C.loop, &UB);
	C.loop.stop = false;
	uloop_run(&C.loop);
	KTAP_CHECK(u_ran[0] + u_ran[1] == 1 && !u_ran[2] && u_ran[3] == 1 &&
		   !UA.queued && !UB.queued && !UC.queued,
		   "uloop_undefer(): work taken off the queue (next round's, or this round's from another work) never runs");
}

static void run(int stop_after)
{
	C.loop.stop = false;
	C.stop_after = C.hits_a + C.hits_b + stop_after;
	uloop_run(&C.loop);
}

int main(void)
{
	int e1, e2, e3, p[2];
	uint64_t v;

	ktap_plan(31);
	if (uloop_init(&C.loop, 8))
		ktap_skip_all("io_uring unavailable on this kernel");

	e1 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	e2 = eventfd(0, EFD_CLOEXEC);
	e3 = eventfd(0, EFD_CLOEXEC);
	if (e1 < 0 || e2 < 0 || e3 < 0 || pipe(p))
		ktap_skip_all("no eventfd/pipe");

	/* eventfd read source delivers the counter value */
	uloop_add_read(&C.loop, &C.a, e1, NULL, 0, on_a);
	eventfd_write(e1, 5);
	run(1);
	KTAP_CHECK(C.hits_a == 1 && C.last_val == 5, "read source delivers eventfd value");

	/* re-armed automatically */
	eventfd_write(e1, 7);
	run(1);
	KTAP_CHECK(C.hits_a == 2 && C.last_val == 7, "read source re-arms after each event");

	/* switch source a to e2 while a read on e1 is in flight: e1 must go
	 * quiet, e2 must be heard
	 */
	uloop_add_read(&C.loop, &C.a, e2, NULL, 0, on_a);
	eventfd_write(e1, 1);
	eventfd_write(e2, 9);
	run(1);
	KTAP_CHECK(C.hits_a == 3 && C.last_fd == e2 && C.last_val == 9,
		   "switched source hears only the new fd");
	/* The old fd, written again once the switch completed, stays silent. */
	eventfd_write(e1, 3);
	eventfd_write(e2, 4);
	run(1);
	KTAP_CHECK(C.hits_a == 4 && C.last_fd == e2 && C.last_val == 4,
		   "old fd silent after switch");
	(void)v;

	/* multishot poll on a pipe fires per write */
	uloop_add_poll(&C.loop, &C.b, p[0], POLLIN, on_b);
	KTAP_CHECK(write(p[1], "x", 1) == 1, "pipe write");
	run(1);
	KTAP_CHECK(C.hits_b == 1, "poll source fires on readiness");

	/* deleted source stays quiet: signal e2 then wait on e3 via queued
	 * signal, which must be the only event seen
	 */
	uloop_del(&C.loop, &C.a);
	uloop_del(&C.loop, &C.b);
	eventfd_write(e2, 1);
	{
		char c;

		KTAP_CHECK(read(p[0], &c, 1) == 1, "drain pipe");
	}
	uloop_add_read(&C.loop, &C.a, e3, NULL, 0, on_a);
	uloop_signal_eventfd(&C.loop, e3);
	run(1);
	KTAP_CHECK(C.hits_a == 5 && C.last_fd == e3 && C.last_val == 1 && C.hits_b == 1,
		   "queued eventfd signal delivered; deleted sources silent");

	/* deferred work runs without blocking and may re-queue itself */
	C.w.fn = on_work;
	uloop_defer(&C.loop, &C.w);
	C.loop.stop = false;
	uloop_run(&C.loop);
	KTAP_CHECK(C.works == 3, "deferred work runs until it stops re-queueing");

	test_undefer();
	test_busy_poll();
	test_lazy_poll();
	test_free_later();
	test_del_sq_full();

	uloop_fini(&C.loop);
	return ktap_finish();
}
