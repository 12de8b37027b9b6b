// SPDX-License-Identifier: GPL-2.0
/* Worker threads: one io_uring loop per thread, each relay opened and
 * closed by its home worker, its lanes run wherever they were placed, calls
 * arriving by mailbox.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
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
	int cpu;		/* pinned to, or -1 */
	pthread_t thread;
	clockid_t clock;	/* the thread's CPU time */
	pid_t tid;
	bool created;
	bool loop_ok;		/* uloop_init() succeeded */
	int stop_fd;		/* eventfd: main asks the worker to stop */
	struct uloop loop;
	struct uloop_src stop_src;
	struct mbox mbox;
	bool mbox_ok;
	struct relay_host host;	/* loop + mailbox, for the relays */
	int run_err;		/* what uloop_run() returned */
	/* The relays whose home it is: its thread alone touches this list. */
	struct relay **relays;
	unsigned int nopen;
};

struct workers {
	/* Guards nstarted and start_err. */
	pthread_mutex_t lock;
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

static void worker_close_relays(struct worker *w)
{
	while (w->nopen)
		relay_close(w->relays[--w->nopen]);
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
	/* Calls that come too late fail; then the relays go (their lanes on
	 * other workers stop through those workers' mailboxes).
	 */
	mbox_close(&w->mbox);
	worker_close_relays(w);
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

/* Calls run on the worker ---------------------------------------------------- */

struct worker_call {
	struct mbox_msg msg;
	struct worker *w;
	const struct relay_cfg *cfg;
	unsigned int nlanes;
	struct evq *events;
	struct relay *relay;
	struct relay_stats *st;
	enum relay_op op;
	int ifindex;		/* workers_vf_event() */
	const char *ifname;
	unsigned int lane;
	struct relay_host *to;
};

/* The umem is registered with the kernel, which pins (and so faults in)
 * every page of it: it shows up whole in the anonymous part. Opens on
 * other workers at the same time show up too (the figure is the process's
 * growth meanwhile): an upper bound.
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
	err = relay_open(&c->relay, c->cfg, &w->host, c->nlanes, c->events);
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

static int worker_do_close_all(struct mbox_msg *m)
{
	worker_close_relays(container_of(m, struct worker_call, msg)->w);
	return 0;
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

		mbox_call(&ws->w[i].mbox, &c.msg);
	}
}

static int worker_do_op(struct mbox_msg *m)
{
	struct worker_call *c = container_of(m, struct worker_call, msg);

	return relay_do(c->relay, c->op);
}

static int worker_do_move(struct mbox_msg *m)
{
	struct worker_call *c = container_of(m, struct worker_call, msg);

	return relay_lane_move(c->relay, c->lane, c->to);
}

int worker_relay_open(struct workers *ws, unsigned int home,
		      const struct relay_cfg *cfg, unsigned int nlanes,
		      struct evq *events, struct relay **rp)
{
	struct worker_open req = { .home = home, .cfg = cfg, .nlanes = nlanes,
				   .events = events };

	workers_open(ws, &req, 1);
	*rp = req.relay;
	return req.err;
}

void workers_open(struct workers *ws, struct worker_open *req, unsigned int n)
{
	struct worker_call *c = calloc(n, sizeof(*c));
	unsigned int i;

	if (!c) {
		for (i = 0; i < n; i++)
			req[i].err = -ENOMEM;
		return;
	}
	/* All posted before any is waited for: each worker takes its queue
	 * at once, and the workers open at the same time. What they share
	 * (the bpffs mount, the umem registry) has locks of its own.
	 */
	for (i = 0; i < n; i++) {
		c[i].msg.fn = worker_do_open;
		c[i].w = &ws->w[req[i].home];
		c[i].cfg = req[i].cfg;
		c[i].nlanes = req[i].nlanes;
		c[i].events = req[i].events;
		req[i].err = mbox_post(&c[i].w->mbox, &c[i].msg);
		req[i].relay = NULL;
	}
	for (i = 0; i < n; i++) {
		if (req[i].err)
			continue;
		req[i].err = mbox_wait(&c[i].msg);
		req[i].relay = req[i].err ? NULL : c[i].relay;
	}
	free(c);
}

int worker_relay_close(struct workers *ws, unsigned int home, struct relay *r)
{
	struct worker_call c = { .msg.fn = worker_do_close, .w = &ws->w[home], .relay = r };

	return mbox_call(&ws->w[home].mbox, &c.msg);
}

int worker_relay_stats(struct workers *ws, unsigned int home, struct relay *r,
		       struct relay_stats *st)
{
	struct worker_call c = { .msg.fn = worker_do_stats, .w = &ws->w[home], .relay = r,
				 .st = st };

	return mbox_call(&ws->w[home].mbox, &c.msg);
}

int worker_lane_move(struct workers *ws, unsigned int home, struct relay *r,
		     unsigned int k, unsigned int to)
{
	struct worker_call c = { .msg.fn = worker_do_move, .w = &ws->w[home], .relay = r,
				 .lane = k, .to = &ws->w[to].host };

	return mbox_call(&ws->w[home].mbox, &c.msg);
}

int worker_of_host(const struct workers *ws, const struct relay_host *h)
{
	return h ? (int)h->id : -1;
	(void)ws;
}

/* Starting and stopping --------------------------------------------------- */

int workers_stop(struct workers *ws)
{
	unsigned int i;
	int err = 0;

	if (!ws)
		return 0;
	/* Relays first, while every loop still runs: a relay's lanes may be
	 * on any worker.
	 */
	for (i = 0; i < ws->n; i++) {
		struct worker_call c = { .msg.fn = worker_do_close_all, .w = &ws->w[i] };

		if (ws->w[i].created)
			mbox_call(&ws->w[i].mbox, &c.msg);
	}
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
	pthread_mutex_destroy(&ws->lock);
	free(ws);
	return err;
}

/* A thread pinned to @cpu from its first instruction, or anywhere. */
static int worker_create(struct worker *w, int cpu)
{
	pthread_attr_t attr;
	cpu_set_t set;
	int err;

	pthread_attr_init(&attr);
	if (cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		err = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		if (err) {
			pthread_attr_destroy(&attr);
			return -err;
		}
	}
	err = pthread_create(&w->thread, &attr, worker_main, w);
	pthread_attr_destroy(&attr);
	return -err;
}

int workers_start(struct workers **wp, const struct workers_cfg *cfg)
{
	unsigned int i, n = cfg->n, ncreated = 0;
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
	pthread_cond_init(&ws->started, NULL);
	ws->fail_fd = cfg->fail_fd;
	ws->busy_poll_us = cfg->busy_poll_us;
	ws->n = n;
	for (i = 0; i < n; i++) {
		struct worker *w = &ws->w[i];

		w->ws = ws;
		w->id = i;
		w->cpu = cfg->ncpus ? cfg->cpus[i % cfg->ncpus] : -1;
		w->host.loop = &w->loop;
		w->host.mbox = &w->mbox;
		w->host.id = i;
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

		err = worker_create(w, w->cpu);
		if (err) {
			pr_err("worker %u: cannot start a thread%s: %s", i,
			       w->cpu >= 0 ? " on that CPU" : "", strerror(-err));
			break;
		}
		w->created = true;
		ncreated++;
		if (pthread_getcpuclockid(w->thread, &w->clock))
			w->clock = -1;
		snprintf(name, sizeof(name), "vxdp-w%u", i);
		pthread_setname_np(w->thread, name);	/* for top -H; cosmetic */
		if (w->cpu >= 0)
			pr_info("worker %u: on CPU %d", i, w->cpu);
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

pid_t worker_tid(const struct workers *ws, unsigned int w)
{
	return ws->w[w].tid;
}

int worker_cpu(const struct workers *ws, unsigned int w)
{
	return ws->w[w].cpu;
}

uint64_t worker_cpu_ns(const struct workers *ws, unsigned int w)
{
	struct timespec ts;

	if (ws->w[w].clock == (clockid_t)-1 || clock_gettime(ws->w[w].clock, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int worker_relay_do(struct workers *ws, unsigned int w, struct relay *r,
		    enum relay_op op)
{
	struct worker_call c = { .msg.fn = worker_do_op, .w = &ws->w[w], .relay = r,
				 .op = op };

	return mbox_call(&ws->w[w].mbox, &c.msg);
}
