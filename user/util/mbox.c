// SPDX-License-Identifier: GPL-2.0
/* A mailbox into an event loop's thread (see mbox.h). */
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "compiler.h"
#include "mbox.h"

int mbox_init(struct mbox *mb)
{
	mb->head = NULL;
	mb->tail = &mb->head;
	mb->closed = false;
	mb->attached = false;
	mb->loop = NULL;
	mb->efd = eventfd(0, EFD_CLOEXEC);
	if (mb->efd < 0)
		return -errno;
	pthread_mutex_init(&mb->lock, NULL);
	pthread_cond_init(&mb->done, NULL);
	return 0;
}

static void mbox_on_event(struct uloop_src *s, int res)
{
	(void)res;
	mbox_drain(container_of(s, struct mbox, src));
}

int mbox_attach(struct mbox *mb, struct uloop *l)
{
	mb->loop = l;
	mb->owner = pthread_self();
	mb->attached = true;
	return uloop_add_read(l, &mb->src, mb->efd, NULL, 0, mbox_on_event);
}

int mbox_call(struct mbox *mb, struct mbox_msg *m)
{
	int ret;

	m->next = NULL;
	m->done = false;
	m->ret = 0;
	if (mb->attached && pthread_equal(mb->owner, pthread_self()))
		return -EDEADLK;
	pthread_mutex_lock(&mb->lock);
	if (mb->closed) {
		pthread_mutex_unlock(&mb->lock);
		return -ESHUTDOWN;
	}
	*mb->tail = m;
	mb->tail = &m->next;
	pthread_mutex_unlock(&mb->lock);
	eventfd_write(mb->efd, 1);

	pthread_mutex_lock(&mb->lock);
	while (!m->done)
		pthread_cond_wait(&mb->done, &mb->lock);
	ret = m->ret;
	pthread_mutex_unlock(&mb->lock);
	return ret;
}

/* Take the whole queue at once: a call run may post nothing here (it would
 * wait for itself), so what is taken is all there is to run.
 */
static struct mbox_msg *mbox_take(struct mbox *mb)
{
	struct mbox_msg *m;

	pthread_mutex_lock(&mb->lock);
	m = mb->head;
	mb->head = NULL;
	mb->tail = &mb->head;
	pthread_mutex_unlock(&mb->lock);
	return m;
}

static void mbox_complete(struct mbox *mb, struct mbox_msg *m, int ret)
{
	pthread_mutex_lock(&mb->lock);
	m->ret = ret;
	m->done = true;
	pthread_cond_broadcast(&mb->done);
	pthread_mutex_unlock(&mb->lock);
}

void mbox_drain(struct mbox *mb)
{
	struct mbox_msg *m = mbox_take(mb), *next;

	for (; m; m = next) {
		int ret;

		next = m->next;		/* @m is the caller's once done */
		ret = m->fn(m);
		mbox_complete(mb, m, ret);
	}
}

void mbox_close(struct mbox *mb)
{
	struct mbox_msg *m, *next;

	pthread_mutex_lock(&mb->lock);
	mb->closed = true;
	pthread_mutex_unlock(&mb->lock);
	for (m = mbox_take(mb); m; m = next) {
		next = m->next;
		mbox_complete(mb, m, -ESHUTDOWN);
	}
	if (mb->loop)
		uloop_del(mb->loop, &mb->src);
	mb->loop = NULL;
}

void mbox_fini(struct mbox *mb)
{
	if (mb->efd >= 0)
		close(mb->efd);
	mb->efd = -1;
	pthread_cond_destroy(&mb->done);
	pthread_mutex_destroy(&mb->lock);
}
