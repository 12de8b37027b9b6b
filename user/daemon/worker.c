// SPDX-License-Identifier: GPL-2.0
/* Worker threads: one io_uring loop per thread, relays assigned round-robin,
 * each relay opened, run and closed by the thread that owns its loop.
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

#include "util/log.h"
#include "util/uring_loop.h"
#include "worker.h"
#include "util/compiler.h"

/* What one loop had when every relay was on the main thread's loop. */
#define WORKER_RING_ENTRIES 256

struct worker {
	struct workers *ws;
	unsigned int id;
	pthread_t tid;
	bool created;
	bool loop_ok;		/* uloop_init() succeeded */
	int stop_fd;		/* eventfd: main asks the worker to stop */
	struct uloop loop;
	struct uloop_src stop_src;
	unsigned int nopen;	/* relays id, id + n, id + 2n ... opened */
	int run_err;		/* what uloop_run() returned */
};

struct workers {
	/* Guards nreported and open_err, and serialises relay_open() across
	 * workers: opens share process-wide state (mounting bpffs, the pin
	 * root, libbpf's feature probes), and the footprint measured around
	 * one open must not contain another's. Opening is start-up only; the
	 * datapath never takes it.
	 */
	pthread_mutex_t lock;
	pthread_cond_t reported;
	unsigned int nreported;	/* workers done opening, or failed */
	int open_err;		/* the first failure: the others stop opening */
	struct relay *relays;
	const struct relay_cfg *cfg;
	unsigned int nrelays;
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

static struct relay *worker_relay(struct worker *w, unsigned int k)
{
	return &w->ws->relays[w->id + k * w->ws->n];
}

/* Open this worker's relays one at a time under ws->lock, measuring what
 * each adds to the process's resident memory. The umem is registered with
 * the kernel, which pins (and so faults in) every page of it: it shows up
 * whole in the anonymous part.
 */
static int worker_open_relays(struct worker *w)
{
	struct workers *ws = w->ws;
	struct mem_kib a, b;
	unsigned int i;
	int err = 0;

	for (i = w->id; i < ws->nrelays; i += ws->n) {
		struct relay *r = &ws->relays[i];

		pthread_mutex_lock(&ws->lock);
		if (ws->open_err) {
			/* Another worker failed: the daemon is exiting. */
			pthread_mutex_unlock(&ws->lock);
			return -ECANCELED;
		}
		mem_read(&a);
		err = relay_open(r, &ws->cfg[i], &w->loop);
		mem_read(&b);
		if (err) {
			ws->open_err = err;
			pr_err("%s: relay not started", ws->cfg[i].name);
		}
		pthread_mutex_unlock(&ws->lock);
		if (err)
			return err;
		w->nopen++;
		pr_notice("relay %s: worker %u, footprint %ld KiB resident (anonymous %ld KiB, with the umem; rings and maps %ld KiB)",
			  r->cfg.name, w->id, b.rss - a.rss, b.anon - a.anon,
			  b.mapped - a.mapped);
	}
	return 0;
}

static void worker_close_relays(struct worker *w)
{
	while (w->nopen)
		relay_close(worker_relay(w, --w->nopen));
}

static void worker_report(struct worker *w, int err)
{
	struct workers *ws = w->ws;

	pthread_mutex_lock(&ws->lock);
	if (err && !ws->open_err)
		ws->open_err = err;
	ws->nreported++;
	pthread_cond_broadcast(&ws->reported);
	pthread_mutex_unlock(&ws->lock);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int err;

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
		err = worker_open_relays(w);
	worker_report(w, err);
	if (!err) {
		w->run_err = uloop_run(&w->loop);
		if (w->run_err) {
			pr_err("worker %u: event loop failed: %s", w->id,
			       strerror(-w->run_err));
			eventfd_write(w->ws->fail_fd, 1);
		}
	}
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

int worker_stop_all(struct workers *ws)
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
		pthread_join(w->tid, NULL);
		if (w->run_err)
			err = -EIO;
	}
	for (i = 0; i < ws->n; i++)
		if (ws->w[i].stop_fd >= 0)
			close(ws->w[i].stop_fd);
	pthread_cond_destroy(&ws->reported);
	pthread_mutex_destroy(&ws->lock);
	free(ws);
	return err;
}

int worker_start_all(struct workers **wp, unsigned int nworkers,
		     struct relay *relays, const struct relay_cfg *cfg,
		     unsigned int nrelays, int fail_fd,
		     unsigned int busy_poll_us)
{
	struct mem_kib base, all;
	unsigned int i, ncreated = 0;
	struct workers *ws;
	sigset_t old;
	int err = 0;

	*wp = NULL;
	if (!nworkers || nworkers > WORKER_MAX || !nrelays)
		return -EINVAL;
	/* A worker without a relay would only cost a thread and a ring. */
	if (nworkers > nrelays)
		nworkers = nrelays;

	ws = calloc(1, sizeof(*ws) + nworkers * sizeof(ws->w[0]));
	if (!ws)
		return -ENOMEM;
	pthread_mutex_init(&ws->lock, NULL);
	pthread_cond_init(&ws->reported, NULL);
	ws->relays = relays;
	ws->cfg = cfg;
	ws->nrelays = nrelays;
	ws->fail_fd = fail_fd;
	ws->busy_poll_us = busy_poll_us;
	ws->n = nworkers;
	for (i = 0; i < nworkers; i++) {
		ws->w[i].ws = ws;
		ws->w[i].id = i;
		ws->w[i].stop_fd = -1;
	}
	for (i = 0; i < nworkers; i++) {
		ws->w[i].stop_fd = eventfd(0, EFD_CLOEXEC);
		if (ws->w[i].stop_fd < 0) {
			err = -errno;
			pr_err("worker: eventfd: %s", strerror(errno));
			goto fail;
		}
	}

	mem_read(&base);
	worker_block_signals(&old);
	for (i = 0; i < nworkers; i++) {
		struct worker *w = &ws->w[i];
		char name[16];

		err = -pthread_create(&w->tid, NULL, worker_main, w);
		if (err) {
			pr_err("worker %u: cannot start a thread: %s", i, strerror(-err));
			/* The ones running stop opening when they see it. */
			pthread_mutex_lock(&ws->lock);
			if (!ws->open_err)
				ws->open_err = err;
			pthread_mutex_unlock(&ws->lock);
			break;
		}
		w->created = true;
		ncreated++;
		snprintf(name, sizeof(name), "vxdp-w%u", i);
		pthread_setname_np(w->tid, name);	/* for top -H; cosmetic */
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	pthread_mutex_lock(&ws->lock);
	while (ws->nreported < ncreated)
		pthread_cond_wait(&ws->reported, &ws->lock);
	err = ws->open_err;
	pthread_mutex_unlock(&ws->lock);
	if (err)
		goto fail;

	mem_read(&all);
	pr_notice("footprint: %ld KiB resident with %u relay%s on %u worker%s (%ld KiB before they opened)",
		  all.rss, nrelays, nrelays == 1 ? "" : "s", nworkers,
		  nworkers == 1 ? "" : "s", base.rss);
	*wp = ws;
	return 0;
fail:
	worker_stop_all(ws);
	return err;
}
