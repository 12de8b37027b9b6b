/* SPDX-License-Identifier: GPL-2.0 */
/* The daemon's one event loop, on io_uring: fd readiness (multishot poll),
 * small reads (eventfd kicks, signalfd), queued eventfd signals, and deferred
 * work for handlers that stopped at their budget. It blocks in the kernel
 * whenever nothing is pending, so an idle daemon uses no CPU; after work it
 * polls for a bounded time instead (uloop_poller), and in busy mode
 * (uloop_hold_busy()) it never sleeps.
 */
#ifndef VXDP_URING_LOOP_H
#define VXDP_URING_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <liburing.h>

struct uloop;
struct uloop_src;
struct uloop_gc;

/* @res: poll mask for a poll source, bytes read (or -errno) for a read one. */
typedef void (*uloop_fn)(struct uloop_src *src, int res);

enum uloop_kind {
	ULOOP_POLL,
	ULOOP_READ,
};

/* An event source. Embed it in a structure that outlives the loop's use of
 * it (the relay); recover the container with container_of in the callback.
 */
struct uloop_src {
	uloop_fn fn;
	int fd;
	enum uloop_kind kind;
	unsigned int events;	/* ULOOP_POLL */
	void *buf;		/* ULOOP_READ */
	unsigned int len;
	bool active;		/* the owner wants events from fd */
	bool armed;		/* an SQE for this source is in flight */
	bool stale;		/* in-flight SQE is for an old fd: ignore it */
	bool lazy;		/* uloop_add_poll_lazy() */
	bool rearm_queued;	/* lazy: on the loop's list to arm before sleeping */
	bool parked;		/* lazy: cancelled because the loop busy-polls */
	bool cancel_queued;	/* on the loop's list of cancels to submit */
	struct uloop_src *rearm_next;
	struct uloop_src *cancel_next;
	struct uloop_src *lazy_next;	/* the loop's list of lazy sources */
	uint64_t val;		/* default 8-byte read buffer (eventfd) */
};

struct uloop_work {
	void (*fn)(struct uloop_work *w);
	struct uloop_work *next;
	bool queued;
};

/* Busy polling. Going to sleep and being woken costs both the sleeper and
 * the CPU that wakes it a few microseconds per wake-up, more than a frame's
 * worth of work: under load it pays to look for work without sleeping.
 * A poller moves whatever is ready right now without blocking and returns how
 * many frames it moved.
 */
struct uloop_poller {
	unsigned int (*fn)(struct uloop_poller *p);
	/* Optional: the loop is about to sleep. Arm whatever wake-ups a
	 * busy-polling owner put off (uloop_busy_polling()); work found
	 * meanwhile is uloop_defer()red, and the loop then does not sleep.
	 */
	void (*idle)(struct uloop_poller *p);
	/* Optional: busy polling under load starts (a round moved
	 * ULOOP_SPIN_MIN_FRAMES, or busy mode): the owner may switch on what
	 * only pays under load (AF_XDP socket busy polling).
	 */
	void (*busy)(struct uloop_poller *p);
	struct uloop_poller *next;
};

struct uloop {
	struct io_uring ring;
	bool stop;
	struct uloop_work *deferred;
	struct uloop_work *running;	/* the round's deferred work still to run */
	struct uloop_src *rearm;	/* lazy sources to arm before sleeping */
	struct uloop_src *lazy;		/* every lazy source */
	struct uloop_src *cancels;	/* deleted sources still to cancel */
	struct uloop_poller *pollers;
	uint64_t spin_ns;	/* busy-poll window; 0: always sleep */
	unsigned int frames;	/* moved this round (uloop_account()) */
	struct uloop_gc *gc;	/* uloop_free_later() */
	unsigned int nstale;	/* deleted sources awaiting their last completion */
	unsigned int busy_holds;	/* uloop_hold_busy(): never sleep */
	bool spinning;		/* polling instead of sleeping */
	bool loaded;		/* ... under load: lazy polls parked, busy hooks run */
};

int uloop_init(struct uloop *l, unsigned int entries);
void uloop_fini(struct uloop *l);

/* Watch @fd for @events until uloop_del(). */
int uloop_add_poll(struct uloop *l, struct uloop_src *s, int fd,
		   unsigned int events, uloop_fn fn);

/* Like uloop_add_poll(), but one-shot and disarmed while the loop
 * busy-polls: after an event it is armed again only in a round that does not
 * busy-poll (at the latest when the loop goes to sleep), and one still armed
 * when busy polling starts is cancelled until then. For fds whose owner
 * finds their work without the event when polled (uloop_poller): a busy
 * socket then costs its producer no wake-up per event. (An AF_XDP socket
 * with a poll armed on it, even for POLLIN only, takes its wait-queue lock
 * for every tx frame the kernel frees.)
 */
int uloop_add_poll_lazy(struct uloop *l, struct uloop_src *s, int fd,
			unsigned int events, uloop_fn fn);

/* Read @len bytes into @buf (NULL: 8 bytes into s->val) each time @fd is
 * readable, until uloop_del(). For eventfd, timerfd and signalfd.
 */
int uloop_add_read(struct uloop *l, struct uloop_src *s, int fd, void *buf,
		   unsigned int len, uloop_fn fn);

/* Stop delivering events from @s. Safe to call when not added; the fd may be
 * closed right after (the in-flight request holds its own reference to the
 * file, which its cancellation drops). When no SQE is free for the cancel it
 * is queued and submitted before the loop next waits: never lost.
 */
void uloop_del(struct uloop *l, struct uloop_src *s);

/* Free (@fn(@ptr)) memory holding sources just uloop_del()eted, once no
 * completion already on its way can name them any more: a deleted source's
 * last completion may still be in flight, so its memory must not go at
 * once. Runs at the latest in uloop_fini().
 */
void uloop_free_later(struct uloop *l, void (*fn)(void *ptr), void *ptr);

/* Queue an eventfd signal (write of 1); it goes to the kernel with the next
 * submission, batched with everything else.
 */
void uloop_signal_eventfd(struct uloop *l, int fd);

/* Run @w after this round of events, before sleeping again. */
void uloop_defer(struct uloop *l, struct uloop_work *w);

/* Take @w off the loop's queue if it is on it (also from a work running
 * now): its owner is going, and uloop_free_later() does not wait for
 * queued work.
 */
void uloop_undefer(struct uloop *l, struct uloop_work *w);

/* Poll @p between rounds while the loop is busy. */
void uloop_add_poller(struct uloop *l, struct uloop_poller *p);
void uloop_del_poller(struct uloop *l, struct uloop_poller *p);

/* After a round that moved a frame, run the pollers instead of sleeping
 * until @usec pass without any work (0: never): a reply to what was just
 * moved (a guest answering, a peer close by) is then found without a
 * wake-up. Rounds of ULOOP_SPIN_MIN_FRAMES or more are load: the loop then
 * parks its lazy polls and runs the pollers' busy hooks too, until it
 * sleeps. Default ULOOP_SPIN_US_DEFAULT.
 */
#define ULOOP_SPIN_US_DEFAULT	50
#define ULOOP_SPIN_MIN_FRAMES	8
void uloop_set_busy_poll(struct uloop *l, unsigned int usec);

/* Busy mode: while at least one hold is taken the loop never sleeps; it
 * polls under load from the first round, like a DPDK lcore, and takes a
 * core for it. @on takes a hold, !@on gives one back.
 */
void uloop_hold_busy(struct uloop *l, bool on);

static inline unsigned int uloop_busy_poll_us(const struct uloop *l)
{
	return l->spin_ns / 1000;
}

/* Whether the loop is polling instead of sleeping: a poller may then leave
 * its peers' notifications off (it looks for work itself) until its idle
 * hook.
 */
static inline bool uloop_busy_polling(const struct uloop *l)
{
	return l->spinning;
}

/* Frames moved by an event handler: what decides whether to busy-poll. */
static inline void uloop_account(struct uloop *l, unsigned int frames)
{
	l->frames += frames;
}

/* Until uloop_stop(). Returns 0 or a negative errno from io_uring. */
int uloop_run(struct uloop *l);
void uloop_stop(struct uloop *l);

#endif
