/* SPDX-License-Identifier: GPL-2.0 */
/* A mailbox into a thread's event loop: other threads post a call and wait
 * for it to have run on the owner's thread. An eventfd wakes the loop; the
 * queue's mutex is taken only by posters and by the owner draining it, never
 * by the owner's datapath.
 *
 * Two queues: calls (mbox_call(), mbox_post()), run when the loop drains its
 * mailbox, and urgent calls between loops (mbox_call_from()), run first, and
 * also while their owner itself waits in mbox_call_from(). An urgent call
 * never waits for anyone, so loops calling each other cannot deadlock.
 */
#ifndef VXDP_MBOX_H
#define VXDP_MBOX_H

#include <pthread.h>
#include <stdbool.h>

#include "uring_loop.h"

struct mbox;

/* What a call's fn returns to finish later, with mbox_done(). */
#define MBOX_LATER 1

struct mbox_msg {
	/* Runs on the owner's thread; its return value is mbox_call()'s,
	 * unless it is MBOX_LATER: then mbox_done() gives it.
	 */
	int (*fn)(struct mbox_msg *m);
	struct mbox_msg *next;
	/* Whose lock and condition variable say the call is done: the
	 * mailbox's own, or the calling loop's (mbox_call_from()).
	 */
	struct mbox *reply;
	int ret;
	bool done;
};

struct mbox {
	pthread_mutex_t lock;
	/* Calls done, urgent calls queued: every waiter on this mailbox's
	 * lock looks again.
	 */
	pthread_cond_t done;
	struct mbox_msg *head, **tail;
	struct mbox_msg *urgent, **urgent_tail;
	bool closed;
	int efd;
	struct uloop *loop;
	struct uloop_src src;
	pthread_t owner;	/* the thread mbox_attach() ran on */
	bool attached;
};

/* 0 or a negative errno. */
int mbox_init(struct mbox *mb);
/* On the owner's thread: deliver calls from @l's loop. */
int mbox_attach(struct mbox *mb, struct uloop *l);
/* Post @m and wait until it has run: its return value, or -ESHUTDOWN when
 * the mailbox is closed (before or while @m waited). Never from the owner's
 * thread (it would wait for itself: -EDEADLK), nor from another mailbox's
 * owner (use mbox_call_from()).
 */
int mbox_call(struct mbox *mb, struct mbox_msg *m);
/* mbox_call() in two halves, so that one thread can have calls running on
 * several loops at once: post @m (0, -ESHUTDOWN or -EDEADLK; the call is
 * not posted then), and wait for it (its return value).
 */
int mbox_post(struct mbox *mb, struct mbox_msg *m);
int mbox_wait(struct mbox_msg *m);
/* From the owner of @self (a loop's thread) to @mb's owner: run @m there as
 * an urgent call, and wait, running the urgent calls that reach @self
 * meanwhile. @m->fn must not wait for anything (no call of its own).
 */
int mbox_call_from(struct mbox *mb, struct mbox_msg *m, struct mbox *self);
/* Finish a call whose fn returned MBOX_LATER: @ret is its return value.
 * Owner's thread.
 */
void mbox_done(struct mbox *mb, struct mbox_msg *m, int ret);
/* Run whatever is queued now, urgent calls first; the loop does this on the
 * eventfd. Owner's thread only.
 */
void mbox_drain(struct mbox *mb);
/* On the owner's thread, when it stops: calls still queued fail with
 * -ESHUTDOWN, later ones too.
 */
void mbox_close(struct mbox *mb);
/* After the owner is gone. */
void mbox_fini(struct mbox *mb);

#endif
