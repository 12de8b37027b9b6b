// SPDX-License-Identifier: GPL-2.0
/* Worker threads: one io_uring loop per thread, each relay opened, run and
 * closed by the thread that owns its loop, calls arriving by mailbox.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/compiler.h"
#include "util/log.h"
#include "util/mbox.h"
#include "util/uring_loop.h"
#include "worker.h"

/* What one loop had when every relay was on the main thread's loop. */
#define WORKER_RING_ENTRIES 256

struct worker {
	struct workers *ws;
	unsigned int id;
	pthread_t thread;
	pid_t tid;
	bool created;
	bool loop_ok;		/* uloop_init() succeeded */
	int stop_fd;		/* eventfd: main asks the worker to stop */
	struct uloop loop;
	struct uloop_src stop_src;
	struct mbox mbox;
	bool mbox_ok;
	int run_err;		/* what uloop_run() returned */
	/* The worker's own relays: its thread alone touches this list. */
	struct relay **relays;
	unsigned int nopen;
	/* How many it has, for worker_pick(): under ws->lock. */
	unsigned int nrelays;
};

struct workers {
	/* Guards nstarted, start_err and the workers' nrelays, and serialises
	 * opens and closes: opens share process-wide state (mounting bpffs,
	 * the pin root, libbpf's feature probes), and the footprint measured
	 * around one open must not contain another's. Control path only.
	 */
	pthread_mutex_t lock;
	pthread_mutex_t op_lock;
	pthread_cond_t started;
	unsigned int nstarted;	/* workers whose loop is up, or failed */
	int start_err;
	int fail_fd;
	unsigned int busy_poll_us;
	unsigned int n;
	struct worker w[];
};

/* Resident memory of the whole process, in KiB, from /proc/self/status. */
struct mem_kib {
	long rss;		/* VmRSS */
	long anon;		/* RssAnon: heap, stacks, the umem (pinned) */
	long mapped;		/* RssFile + RssShmem: XSK rings, BPF maps */
};

static void mem_read(struct mem_kib *m)
{
	char line[128];
	long v, file = 0, shmem = 0;
	FILE *f;

	memset(m, 0, sizeof(*m));
	f = fopen("/proc/self/status", "re");
	if (!f)
		return;	/* footprints then read 0; not worth failing for */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			m->rss = v;
		else if (sscanf(line, "RssAnon: %ld", &v) == 1)
			m->anon = v;
		else if (sscanf(line, "RssFile: %ld", &v) == 1)
			file = v;
		else if (sscanf(line, "RssShmem: %ld", &v) == 1)
			shmem = v;
	}
	fclose(f);
	m->mapped = file + shmem;
}

static void worker_on_stop(struct uloop_src *s, int res)
{
	struct worker *w = container_of(s, struct worker, stop_src);

	(void)res;
	uloop_stop(&w->loop);
}

static void worker_started(struct worker *w, int err)
{
	struct workers *ws = w->ws;

	pthread_mutex_lock(&ws->lock);
	if (err && !ws->start_err)
		ws->start_err = err;
	ws->nstarted++;
	pthread_cond_broadcast(&ws->started);
	pthread_mutex_unlock(&ws->lock);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int err;

	w->tid = gettid();
	/* The loop is created here, so that only this thread ever touches
	 * its io_uring (and the relays' sources registered with it).
	 */
	err = uloop_init(&w->loop, WORKER_RING_ENTRIES);
	if (!err) {
		w->loop_ok = true;
		uloop_set_busy_poll(&w->loop, w->ws->busy_poll_us);
		err = uloop_add_read(&w->loop, &w->stop_src, w->stop_fd, NULL, 0,
				     worker_on_stop);
	}
	if (!err)
		err = mbox_attach(&w->mbox, &w->loop);
	worker_started(w, err);
	if (!err) {
		w->run_err = uloop_run(&w->loop);
		if (w->run_err) {
			pr_err("worker %u: event loop failed: %s", w->id,
			       strerror(-w->run_err));
			eventfd_write(w->ws->fail_fd, 1);
		}
	}
	/* Calls that come too late fail; then the relays go. */
	mbox_close(&w->mbox);
	while (w->nopen)
		relay_close(w->relays[--w->nopen]);
	if (w->loop_ok)
		uloop_fini(&w->loop);
	return NULL;
}

/* Asynchronous signals stay with the main thread (its signalfd): a worker
 * that took SIGTERM would end in the default action instead. Synchronous
 * ones are left alone; blocked, a fault would bypass ASan's handler.
 */
static void worker_block_signals(sigset_t *old)
{
	static const int sync_sigs[] = {
		SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT,
	};
	sigset_t set;
	unsigned int i;

	sigfillset(&set);
	for (i = 0; i < ARRAY_SIZE(sync_sigs); i++)
		sigdelset(&set, sync_sigs[i]);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

int workers_stop(struct workers *ws)
{
	unsigned int i;
	int err = 0;

	if (!ws)
		return 0;
	for (i = 0; i < ws->n; i++)
		if (ws->w[i].created)
			eventfd_write(ws->w[i].stop_fd, 1);
	for (i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];

		if (!w->created)
			continue;
		pthread_join(w->thread, NULL);
		if (w->run_err)
			err = -EIO;
	}
	for (i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];

		if (w->stop_fd >= 0)
			close(w->stop_fd);
		if (w->mbox_ok)
			mbox_fini(&w->mbox);
		free(w->relays);
	}
	pthread_cond_destroy(&ws->started);
	pthread_mutex_destroy(&ws->op_lock);
	pthread_mutex_destroy(&ws->lock);
	free(ws);
	return err;
}

int workers_start(struct workers **wp, unsigned int n, int fail_fd,
		  unsigned int busy_poll_us)
{
	unsigned int i, ncreated = 0;
	struct workers *ws;
	sigset_t old;
	int err = 0;

	*wp = NULL;
	if (!n || n > WORKER_MAX)
		return -EINVAL;
	ws = calloc(1, sizeof(*ws) + n * sizeof(ws->w[0]));
	if (!ws)
		return -ENOMEM;
	pthread_mutex_init(&ws->lock, NULL);
	pthread_mutex_init(&ws->op_lock, NULL);
	pthread_cond_init(&ws->started, NULL);
	ws->fail_fd = fail_fd;
	ws->busy_poll_us = busy_poll_us;
	ws->n = n;
	for (i = 0; i < n; i++) {
		struct worker *w = &ws->w[i];

		w->ws = ws;
		w->id = i;
		w->stop_fd = eventfd(0, EFD_CLOEXEC);
		w->relays = calloc(RELAY_MAX, sizeof(*w->relays));
		if (w->stop_fd < 0 || !w->relays) {
			err = w->relays ? -errno : -ENOMEM;
			pr_err("worker: %s", strerror(-err));
			goto fail;
		}
		err = mbox_init(&w->mbox);
		if (err) {
			pr_err("worker: mailbox: %s", strerror(-err));
			goto fail;
		}
		w->mbox_ok = true;
	}

	worker_block_signals(&old);
	for (i = 0; i < n; i++) {
		struct worker *w = &ws->w[i];
		char name[16];

		err = -pthread_create(&w->thread, NULL, worker_main, w);
		if (err) {
			pr_err("worker %u: cannot start a thread: %s", i, strerror(-err));
			break;
		}
		w->created = true;
		ncreated++;
		snprintf(name, sizeof(name), "vxdp-w%u", i);
		pthread_setname_np(w->thread, name);	/* for top -H; cosmetic */
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	pthread_mutex_lock(&ws->lock);
	while (ws->nstarted < ncreated)
		pthread_cond_wait(&ws->started, &ws->lock);
	if (!err)
		err = ws->start_err;
	pthread_mutex_unlock(&ws->lock);
	if (err)
		goto fail;
	*wp = ws;
	return 0;
fail:
	workers_stop(ws);
	return err;
}

unsigned int workers_count(const struct workers *ws)
{
	return ws->n;
}

unsigned int worker_pick(struct workers *ws, const struct relay_cfg *cfg)
{
	unsigned int i, best = 0;

	(void)cfg;	/* for placement by VF (NUMA, IRQ affinity) later */
	pthread_mutex_lock(&ws->lock);
	for (i = 1; i < ws->n; i++)
		if (ws->w[i].nrelays < ws->w[best].nrelays)
			best = i;
	pthread_mutex_unlock(&ws->lock);
	return best;
}

pid_t worker_tid(const struct workers *ws, unsigned int w)
{
	return ws->w[w].tid;
}

unsigned int worker_nrelays(struct workers *ws, unsigned int w)
{
	unsigned int n;

	pthread_mutex_lock(&ws->lock);
	n = ws->w[w].nrelays;
	pthread_mutex_unlock(&ws->lock);
	return n;
}

/* Calls run on the worker ---------------------------------------------------- */

struct worker_call {
	struct mbox_msg msg;
	struct worker *w;
	const struct relay_cfg *cfg;
	struct evq *events;
	struct relay *relay;
	struct relay_stats *st;
	enum relay_op op;
	int ifindex;		/* workers_vf_event() */
	const char *ifname;
};

/* The umem is registered with the kernel, which pins (and so faults in)
 * every page of it: it shows up whole in the anonymous part.
 */
static int worker_do_open(struct mbox_msg *m)
{
	struct worker_call *c = container_of(m, struct worker_call, msg);
	struct worker *w = c->w;
	struct mem_kib a, b;
	const char *prev;
	int err;

	if (w->nopen == RELAY_MAX)
		return -ENOSPC;
	mem_read(&a);
	/* What the modules below say while opening is about this relay. */
	prev = log_set_relay(c->cfg->name);
	err = relay_open(&c->relay, c->cfg, &w->loop, c->events);
	log_set_relay(prev);
	mem_read(&b);
	if (err)
		return err;
	w->relays[w->nopen++] = c->relay;
	pr_notice("relay %s: worker %u, footprint %ld KiB resident (anonymous %ld KiB, with the umem; rings and maps %ld KiB)",
		  c->cfg->name, w->id, b.rss - a.rss, b.anon - a.anon,
		  b.mapped - a.mapped);
	return 0;
}

static int worker_do_close(struct mbox_msg *m)
{
	struct worker_call *c = container_of(m, struct worker_call, msg);
	struct worker *w = c->w;
	const char *prev;
	unsigned int i;

	for (i = 0; i < w->nopen; i++) {
		if (w->relays[i] != c->relay)
			continue;
		w->relays[i] = w->relays[--w->nopen];
		prev = log_set_relay(relay_get_cfg(c->relay)->name);
		relay_close(c->relay);
		log_set_relay(prev);
		return 0;
	}
	return -ENOENT;
}

static int worker_do_stats(struct mbox_msg *m)
{
	struct worker_call *c = container_of(m, struct worker_call, msg);

	relay_read_stats(c->relay, c->st);
	return 0;
}

static int worker_do_vf_event(struct mbox_msg *m)
{
	struct worker_call *c = container_of(m, struct worker_call, msg);
	struct worker *w = c->w;
	unsigned int i;

	for (i = 0; i < w->nopen; i++)
		relay_vf_event(w->relays[i], c->ifindex, c->ifname);
	return 0;
}

void workers_vf_event(struct workers *ws, int ifindex, const char *ifname)
{
	unsigned int i;

	for (i = 0; i < ws->n; i++) {
		struct worker_call c = { .msg.fn = worker_do_vf_event, .w = &ws->w[i],
					 .ifindex = ifindex, .ifname = ifname };

		/* (A worker without relays has nothing to look at.) */
		if (worker_nrelays(ws, i))
			mbox_call(&ws->w[i].mbox, &c.msg);
	}
}

static int worker_do_op(struct mbox_msg *m)
{
	struct worker_call *c = container_of(m, struct worker_call, msg);

	return relay_do(c->relay, c->op);
}

int worker_relay_open(struct workers *ws, unsigned int w,
		      const struct relay_cfg *cfg, struct evq *events,
		      struct relay **rp)
{
	struct worker_call c = { .msg.fn = worker_do_open, .w = &ws->w[w], .cfg = cfg,
				 .events = events };
	int err;

	pthread_mutex_lock(&ws->op_lock);
	err = mbox_call(&ws->w[w].mbox, &c.msg);
	if (!err) {
		pthread_mutex_lock(&ws->lock);
		ws->w[w].nrelays++;
		pthread_mutex_unlock(&ws->lock);
	}
	pthread_mutex_unlock(&ws->op_lock);
	*rp = err ? NULL : c.relay;
	return err;
}

int worker_relay_close(struct workers *ws, unsigned int w, struct relay *r)
{
	struct worker_call c = { .msg.fn = worker_do_close, .w = &ws->w[w], .relay = r };
	int err;

	pthread_mutex_lock(&ws->op_lock);
	err = mbox_call(&ws->w[w].mbox, &c.msg);
	if (!err) {
		pthread_mutex_lock(&ws->lock);
		ws->w[w].nrelays--;
		pthread_mutex_unlock(&ws->lock);
	}
	pthread_mutex_unlock(&ws->op_lock);
	return err;
}

int worker_relay_stats(struct workers *ws, unsigned int w, struct relay *r,
		       struct relay_stats *st)
{
	struct worker_call c = { .msg.fn = worker_do_stats, .w = &ws->w[w], .relay = r,
				 .st = st };

	return mbox_call(&ws->w[w].mbox, &c.msg);
}

int worker_relay_do(struct workers *ws, unsigned int w, struct relay *r,
		    enum relay_op op)
{
	struct worker_call c = { .msg.fn = worker_do_op, .w = &ws->w[w], .relay = r,
				 .op = op };

	return mbox_call(&ws->w[w].mbox, &c.msg);
}
