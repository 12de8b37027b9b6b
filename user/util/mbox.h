/* SPDX-License-Identifier: GPL-2.0 */
/* A mailbox into a thread's event loop: other threads post a call and wait
 * for it to have run on the owner's thread. An eventfd wakes the loop; the
 * queue's mutex is taken only by posters and by the owner draining it, never
 * by the owner's datapath.
 */
#ifndef VXDP_MBOX_H
#define VXDP_MBOX_H

#include <pthread.h>
#include <stdbool.h>

#include "uring_loop.h"

struct mbox_msg {
	/* Runs on the owner's thread; its return value is mbox_call()'s. */
	int (*fn)(struct mbox_msg *m);
	struct mbox_msg *next;
	int ret;
	bool done;
};

struct mbox {
	pthread_mutex_t lock;
	pthread_cond_t done;
	struct mbox_msg *head, **tail;
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
 * thread (it would wait for itself: -EDEADLK).
 */
int mbox_call(struct mbox *mb, struct mbox_msg *m);
/* Run whatever is queued now; the loop does this on the eventfd. Owner's
 * thread only.
 */
void mbox_drain(struct mbox *mb);
/* On the owner's thread, when it stops: calls still queued fail with
 * -ESHUTDOWN, later ones too.
 */
void mbox_close(struct mbox *mb);
/* After the owner is gone. */
void mbox_fini(struct mbox *mb);

#endif
