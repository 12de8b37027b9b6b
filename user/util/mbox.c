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
	mb->urgent = NULL;
	mb->urgent_tail = &mb->urgent;
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

static bool mbox_is_owner(const struct mbox *mb)
{
	return mb->attached && pthread_equal(mb->owner, pthread_self());
}

static int mbox_enqueue(struct mbox *mb, struct mbox_msg *m, bool urgent)
{
	m->next = NULL;
	m->done = false;
	m->ret = 0;
	if (mbox_is_owner(mb))
		return -EDEADLK;
	pthread_mutex_lock(&mb->lock);
	if (mb->closed) {
		pthread_mutex_unlock(&mb->lock);
		return -ESHUTDOWN;
	}
	if (urgent) {
		*mb->urgent_tail = m;
		mb->urgent_tail = &m->next;
		/* Its owner may be waiting in mbox_call_from(). */
		pthread_cond_broadcast(&mb->done);
	} else {
		*mb->tail = m;
		mb->tail = &m->next;
	}
	pthread_mutex_unlock(&mb->lock);
	eventfd_write(mb->efd, 1);
	return 0;
}

int mbox_post(struct mbox *mb, struct mbox_msg *m)
{
	m->reply = mb;
	return mbox_enqueue(mb, m, false);
}

int mbox_wait(struct mbox_msg *m)
{
	struct mbox *r = m->reply;
	int ret;

	pthread_mutex_lock(&r->lock);
	while (!m->done)
		pthread_cond_wait(&r->done, &r->lock);
	ret = m->ret;
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int mbox_call(struct mbox *mb, struct mbox_msg *m)
{
	int ret = mbox_post(mb, m);

	return ret ? ret : mbox_wait(m);
}

void mbox_done(struct mbox *mb, struct mbox_msg *m, int ret)
{
	struct mbox *r = m->reply ? m->reply : mb;

	(void)mb;
	pthread_mutex_lock(&r->lock);
	m->ret = ret;
	m->done = true;
	pthread_cond_broadcast(&r->done);
	pthread_mutex_unlock(&r->lock);
}

static void mbox_run(struct mbox *mb, struct mbox_msg *m)
{
	struct mbox_msg *next;

	for (; m; m = next) {
		int ret;

		next = m->next;		/* @m is the caller's once done */
		ret = m->fn(m);
		if (ret != MBOX_LATER)
			mbox_done(mb, m, ret);
	}
}

/* Take a whole queue at once: a call run may post nothing to its own
 * mailbox (it would wait for itself), so what is taken is all there is to
 * run. Under mb->lock.
 */
static struct mbox_msg *mbox_take_locked(struct mbox *mb, bool urgent)
{
	struct mbox_msg *m;

	if (urgent) {
		m = mb->urgent;
		mb->urgent = NULL;
		mb->urgent_tail = &mb->urgent;
	} else {
		m = mb->head;
		mb->head = NULL;
		mb->tail = &mb->head;
	}
	return m;
}

static struct mbox_msg *mbox_take(struct mbox *mb, bool urgent)
{
	struct mbox_msg *m;

	pthread_mutex_lock(&mb->lock);
	m = mbox_take_locked(mb, urgent);
	pthread_mutex_unlock(&mb->lock);
	return m;
}

int mbox_call_from(struct mbox *mb, struct mbox_msg *m, struct mbox *self)
{
	struct mbox_msg *u;
	int ret;

	m->reply = self;
	ret = mbox_enqueue(mb, m, true);
	if (ret)
		return ret;
	pthread_mutex_lock(&self->lock);
	while (!m->done) {
		u = mbox_take_locked(self, true);
		if (u) {
			pthread_mutex_unlock(&self->lock);
			mbox_run(self, u);
			pthread_mutex_lock(&self->lock);
			continue;
		}
		pthread_cond_wait(&self->done, &self->lock);
	}
	ret = m->ret;
	pthread_mutex_unlock(&self->lock);
	return ret;
}

void mbox_drain(struct mbox *mb)
{
	mbox_run(mb, mbox_take(mb, true));
	mbox_run(mb, mbox_take(mb, false));
}

void mbox_close(struct mbox *mb)
{
	struct mbox_msg *m, *next;
	bool urgent;

	pthread_mutex_lock(&mb->lock);
	mb->closed = true;
	pthread_mutex_unlock(&mb->lock);
	for (urgent = false;; urgent = true) {
		for (m = mbox_take(mb, urgent); m; m = next) {
			next = m->next;
			mbox_done(mb, m, -ESHUTDOWN);
		}
		if (urgent)
			break;
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
