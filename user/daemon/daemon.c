// SPDX-License-Identifier: GPL-2.0
/* The daemon's relay registry: which relays exist, on which workers their
 * lanes run, the calls that change that (see daemon.h), and the balancer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "service.h"
#include "placement.h"
#include "util/clock.h"
#include "util/cpulist.h"
#include "util/log.h"
#include "worker.h"

struct daemon_relay {
	struct relay *relay;
	struct daemon_relay_info info;
	/* The balancer's view of each lane: frames at the last sample, its
	 * share of its worker's load, when it last moved.
	 */
	uint64_t frames[RELAY_MAX_QUEUES];
	double load[RELAY_MAX_QUEUES];
	uint64_t moved_ms[RELAY_MAX_QUEUES];
};

struct daemon_worker {
	int node;
	unsigned int relays, lanes;
	uint64_t cpu_ns;		/* at the last sample */
	double load, frames_per_s;
	uint64_t moves_in, moves_out;
};

struct vxdp_daemon {
	/* Serialises the calls: one change at a time, from whichever thread
	 * (main, later the agent). Never taken by a worker.
	 */
	pthread_mutex_t lock;
	struct workers *workers;
	unsigned int nworkers;
	char sysfs[64];
	unsigned int balance_ms;
	unsigned int n;
	struct daemon_relay *relays;	/* RELAY_MAX, the first n in use */
	const struct daemon_hooks *hooks;
	void *hooks_arg;
	struct daemon_worker *w;	/* nworkers */
	uint64_t sampled_ns;		/* CLOCK_MONOTONIC of the last sample */
	struct place_balance bal;
	uint64_t moves;
};

void daemon_set_hooks(struct vxdp_daemon *d, const struct daemon_hooks *h, void *arg)
{
	pthread_mutex_lock(&d->lock);
	d->hooks = h;
	d->hooks_arg = arg;
	pthread_mutex_unlock(&d->lock);
}

static void daemon_closed(struct vxdp_daemon *d, const char *name)
{
	if (d->hooks)
		d->hooks->relay_closed(d->hooks_arg, name);
}

int daemon_create(struct vxdp_daemon **dp, const struct daemon_cfg *cfg,
		  int fail_fd, const char *sysfs)
{
	struct workers_cfg wc = {
		.n = daemon_cfg_workers(cfg),
		.cpus = cfg->cpus,
		.ncpus = cfg->ncpus,
		.busy_poll_us = cfg->busy_poll_us,
		.fail_fd = fail_fd,
	};
	struct vxdp_daemon *d;
	unsigned int i;
	int err;

	*dp = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->relays = calloc(RELAY_MAX, sizeof(*d->relays));
	d->w = calloc(wc.n, sizeof(*d->w));
	if (!d->relays || !d->w) {
		err = -ENOMEM;
		goto err;
	}
	snprintf(d->sysfs, sizeof(d->sysfs), "%s", sysfs);
	d->balance_ms = cfg->balance_ms;
	err = workers_start(&d->workers, &wc);
	if (err)
		goto err;
	d->nworkers = wc.n;
	for (i = 0; i < wc.n; i++) {
		int cpu = worker_cpu(d->workers, i);

		d->w[i].node = cpu >= 0 ? numa_cpu_node(sysfs, cpu) : -1;
		d->w[i].cpu_ns = worker_cpu_ns(d->workers, i);
	}
	d->sampled_ns = mono_ns();
	pthread_mutex_init(&d->lock, NULL);
	*dp = d;
	return 0;
err:
	free(d->w);
	free(d->relays);
	free(d);
	return err;
}

int daemon_destroy(struct vxdp_daemon *d)
{
	int err;

	if (!d)
		return 0;
	/* Last added first, as the workers close what they still have. */
	while (d->n) {
		struct daemon_relay *dr = &d->relays[--d->n];

		worker_relay_close(d->workers, dr->info.worker, dr->relay);
		daemon_closed(d, dr->info.cfg.name);
	}
	err = workers_stop(d->workers);
	pthread_mutex_destroy(&d->lock);
	free(d->w);
	free(d->relays);
	free(d);
	return err;
}

/* The service manager's status line follows the relay count. */
static void daemon_status(struct vxdp_daemon *d)
{
	unsigned int n = daemon_nrelays(d);

	service_status("%u relay%s running", n, n == 1 ? "" : "s");
}

static struct daemon_relay *daemon_find(struct vxdp_daemon *d, const char *name)
{
	unsigned int i;

	for (i = 0; i < d->n; i++)
		if (!strcmp(d->relays[i].info.cfg.name, name))
			return &d->relays[i];
	return NULL;
}

/* daemon_find(), or NULL with "no relay named" in @err. */
static struct daemon_relay *daemon_find_err(struct vxdp_daemon *d, const char *name,
					    char *err, size_t errlen)
{
	struct daemon_relay *dr = daemon_find(d, name);

	if (!dr)
		snprintf(err, errlen, "no relay named '%s'", name);
	return dr;
}

static int daemon_check_new(struct vxdp_daemon *d, const struct relay_cfg *cfg,
			    unsigned int reserved, char *err, size_t errlen)
{
	unsigned int i;

	for (i = 0; i < d->n; i++) {
		const char *what = relay_cfg_collides(&d->relays[i].info.cfg, cfg);

		if (what) {
			snprintf(err, errlen, "relay %s: same %s as running relay %s",
				 cfg->name, what, d->relays[i].info.cfg.name);
			return -EEXIST;
		}
	}
	if (d->n + reserved >= RELAY_MAX) {
		snprintf(err, errlen, "relay %s: at most %d relays", cfg->name, RELAY_MAX);
		return -ENOSPC;
	}
	return 0;
}

/* worker=/cpu=: the workers named, in @out. */
static int daemon_place_fixed(struct vxdp_daemon *d, const struct relay_cfg *cfg,
			      unsigned int *out, char *err, size_t errlen)
{
	unsigned int i, w;

	for (i = 0; i < cfg->nplace; i++) {
		int want = cfg->place[i];

		if (!cfg->place_cpu) {
			if ((unsigned int)want >= d->nworkers) {
				snprintf(err, errlen, "relay %s: worker=%d: the daemon has %u worker%s (0-%u)",
					 cfg->name, want, d->nworkers, d->nworkers == 1 ? "" : "s",
					 d->nworkers - 1);
				return -EINVAL;
			}
			out[i] = want;
			continue;
		}
		for (w = 0; w < d->nworkers; w++)
			if (worker_cpu(d->workers, w) == want)
				break;
		if (w == d->nworkers) {
			snprintf(err, errlen, "relay %s: cpu=%d: no worker runs on CPU %d (--cpus)",
				 cfg->name, want, want);
			return -EINVAL;
		}
		out[i] = w;
	}
	return 0;
}

/* Where relay @cfg's lanes go (lane k on lanes_w[k], lane 0 the home),
 * and how many it may have: one per queue pair when they may go to
 * different workers, else one. Counts the lanes in as placed.
 */
static int daemon_place(struct vxdp_daemon *d, const struct relay_cfg *cfg,
			struct daemon_relay_info *info, unsigned int *nlanes,
			char *err, size_t errlen)
{
	struct place_worker pw[WORKERS_MAX];
	unsigned int fixed[RELAY_PLACE_MAX], i, n;
	bool fallback = false;
	int ret;

	info->node = numa_netdev_node(d->sysfs, cfg->vf);
	info->pinned = cfg->nplace > 0;
	if (cfg->nplace) {
		ret = daemon_place_fixed(d, cfg, fixed, err, errlen);
		if (ret)
			return ret;
		n = cfg->nplace > 1 ? cfg->queues : 1;
		for (i = 0; i < n; i++)
			info->lane[i].worker = fixed[i % cfg->nplace];
	} else {
		n = d->nworkers > 1 ? cfg->queues : 1;
		for (i = 0; i < d->nworkers; i++) {
			pw[i].load = d->w[i].load;
			pw[i].lanes = d->w[i].lanes;
			pw[i].node = d->w[i].node;
		}
		for (i = 0; i < n; i++) {
			unsigned int w = place_pick(pw, d->nworkers, info->node, &fallback);

			info->lane[i].worker = w;
			pw[w].lanes++;
		}
		if (fallback)
			pr_notice("relay %s: vf %s is on NUMA node %d, where no worker runs (--cpus): placed on any",
				  cfg->name, cfg->vf, info->node);
	}
	for (i = 0; i < n; i++)
		d->w[info->lane[i].worker].lanes++;
	d->w[info->lane[0].worker].relays++;
	info->worker = info->lane[0].worker;
	*nlanes = n;
	return 0;
}

/* Undo daemon_place()'s counts: @n lanes, the first @nlanes of @info. */
static void daemon_unplace(struct vxdp_daemon *d, const struct daemon_relay_info *info,
			   unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		d->w[info->lane[i].worker].lanes--;
	d->w[info->worker].relays--;
}

/* The relay is open on its home with all lanes there: move those placed
 * elsewhere, and note how many lanes it has.
 */
static void daemon_spread(struct vxdp_daemon *d, struct daemon_relay *dr,
			  unsigned int placed)
{
	struct daemon_relay_info *info = &dr->info;
	unsigned int k, n = relay_nlanes(dr->relay);

	/* Fewer lanes than placed (a VF without a queue per pair): the
	 * others were never there.
	 */
	for (k = n; k < placed; k++)
		d->w[info->lane[k].worker].lanes--;
	info->nlanes = n;
	for (k = 0; k < n; k++) {
		unsigned int to = info->lane[k].worker;
		int err;

		info->lane[k].qps = relay_lane_qps(dr->relay, k);
		if (to == info->worker)
			continue;
		err = worker_lane_move(d->workers, info->worker, dr->relay, k, to);
		if (!err)
			continue;
		pr_warn("relay %s: lane %u stays on worker %u (moving it to worker %u: %s)",
			info->cfg.name, k, info->worker, to, strerror(-err));
		d->w[to].lanes--;
		d->w[info->worker].lanes++;
		info->lane[k].worker = info->worker;
	}
	for (k = 0; k < n; k++)
		dr->frames[k] = relay_lane_frames(dr->relay, k);
}

static void daemon_log_lanes(const struct daemon_relay *dr)
{
	const struct daemon_relay_info *info = &dr->info;
	char buf[256];
	unsigned int k;
	size_t off = 0;

	if (info->nlanes < 2)
		return;
	for (k = 0; k < info->nlanes && off < sizeof(buf); k++) {
		int qp[RELAY_MAX_QUEUES], nq = 0;
		uint32_t m = info->lane[k].qps;
		char q[96];

		while (m) {
			qp[nq++] = __builtin_ctz(m);
			m &= m - 1;
		}
		off += snprintf(buf + off, sizeof(buf) - off, "%s%s on worker %u",
				k ? ", " : "", cpulist_format(qp, nq, q, sizeof(q)),
				info->lane[k].worker);
	}
	pr_notice("relay %s: queue pairs %s", info->cfg.name, buf);
}

/* Add @n relays; each one's error (0 or a negative errno) in @ret, the
 * first failure's reason in @err. Returns how many failed.
 */
static int daemon_add_batch(struct vxdp_daemon *d, const struct relay_cfg *cfg,
			    const enum relay_origin *origin, unsigned int n,
			    int *ret, char *err, size_t errlen)
{
	struct worker_open *req = calloc(n, sizeof(*req));
	struct daemon_relay_info *info = calloc(n, sizeof(*info));
	unsigned int *placed = calloc(n, sizeof(*placed));
	unsigned int i, nplaced;
	int failed = 0;
	char why[512];

	for (i = 0; i < n; i++)
		ret[i] = -ECANCELED;	/* not tried: one before failed */
	if (!req || !info || !placed) {
		free(req);
		free(info);
		free(placed);
		snprintf(err, errlen, "out of memory");
		ret[0] = -ENOMEM;
		return n;
	}
	/* Placed one after the other (each counts for the next), opened all
	 * at once.
	 */
	for (nplaced = 0; nplaced < n; nplaced++) {
		info[nplaced].cfg = cfg[nplaced];
		info[nplaced].origin = origin[nplaced];
		ret[nplaced] = daemon_check_new(d, &cfg[nplaced], nplaced, why, sizeof(why));
		if (!ret[nplaced])
			ret[nplaced] = daemon_place(d, &cfg[nplaced], &info[nplaced],
						    &placed[nplaced], why, sizeof(why));
		if (ret[nplaced])
			break;
		if (d->hooks) {
			ret[nplaced] = d->hooks->relay_opening(d->hooks_arg, &cfg[nplaced],
							       &req[nplaced].events, why,
							       sizeof(why));
			if (ret[nplaced]) {
				daemon_unplace(d, &info[nplaced], placed[nplaced]);
				break;
			}
		}
		req[nplaced].home = info[nplaced].worker;
		req[nplaced].cfg = &info[nplaced].cfg;
		req[nplaced].nlanes = placed[nplaced];
	}
	if (nplaced < n) {
		snprintf(err, errlen, "%s", why);
		failed = n - nplaced;
	}
	workers_open(d->workers, req, nplaced);
	for (i = 0; i < nplaced; i++) {
		struct daemon_relay *dr;

		ret[i] = req[i].err;
		if (req[i].err) {
			if (!failed++)
				snprintf(err, errlen, "relay %s: not started: %s (see the daemon's log)",
					 cfg[i].name, strerror(-req[i].err));
			daemon_unplace(d, &info[i], placed[i]);
			daemon_closed(d, cfg[i].name);
			continue;
		}
		dr = &d->relays[d->n++];
		memset(dr, 0, sizeof(*dr));
		dr->relay = req[i].relay;
		dr->info = info[i];
		dr->info.worker_tid = worker_tid(d->workers, dr->info.worker);
		daemon_spread(d, dr, placed[i]);
		daemon_log_lanes(dr);
	}
	free(req);
	free(info);
	free(placed);
	return failed;
}

int daemon_relay_add(struct vxdp_daemon *d, const struct relay_cfg *cfg,
		     enum relay_origin origin, char *err, size_t errlen)
{
	int ret;

	pthread_mutex_lock(&d->lock);
	daemon_add_batch(d, cfg, &origin, 1, &ret, err, errlen);
	pthread_mutex_unlock(&d->lock);
	if (!ret)
		daemon_status(d);
	return ret;
}

int daemon_relay_add_many(struct vxdp_daemon *d, const struct relay_cfg *cfg,
			  const enum relay_origin *origin, unsigned int n,
			  char *err, size_t errlen)
{
	int *ret = calloc(n, sizeof(*ret)), failed;

	if (!ret) {
		snprintf(err, errlen, "out of memory");
		return n;
	}
	pthread_mutex_lock(&d->lock);
	failed = daemon_add_batch(d, cfg, origin, n, ret, err, errlen);
	pthread_mutex_unlock(&d->lock);
	free(ret);
	return failed;
}

static int daemon_del_locked(struct vxdp_daemon *d, const char *name, char *err,
			     size_t errlen)
{
	struct daemon_relay *dr = daemon_find_err(d, name, err, errlen);
	int ret;

	if (!dr)
		return -ENOENT;
	ret = worker_relay_close(d->workers, dr->info.worker, dr->relay);
	if (ret) {
		snprintf(err, errlen, "relay %s: %s", name, strerror(-ret));
		return ret;
	}
	daemon_closed(d, dr->info.cfg.name);
	daemon_unplace(d, &dr->info, dr->info.nlanes);
	/* Keep the order they were added in: list shows it. */
	memmove(dr, dr + 1, (char *)&d->relays[d->n] - (char *)(dr + 1));
	d->n--;
	return 0;
}

int daemon_relay_del(struct vxdp_daemon *d, const char *name, char *err,
		     size_t errlen)
{
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = daemon_del_locked(d, name, err, errlen);
	pthread_mutex_unlock(&d->lock);
	if (!ret)
		daemon_status(d);
	return ret;
}

unsigned int daemon_relay_list(struct vxdp_daemon *d,
			       struct daemon_relay_info *info, unsigned int max)
{
	unsigned int i;

	pthread_mutex_lock(&d->lock);
	for (i = 0; i < d->n && i < max; i++)
		info[i] = d->relays[i].info;
	pthread_mutex_unlock(&d->lock);
	return i;
}

int daemon_relay_get(struct vxdp_daemon *d, const char *name,
		     struct daemon_relay_info *info)
{
	struct daemon_relay *dr;

	pthread_mutex_lock(&d->lock);
	dr = daemon_find(d, name);
	if (dr)
		*info = dr->info;
	pthread_mutex_unlock(&d->lock);
	return dr ? 0 : -ENOENT;
}

int daemon_relay_stats(struct vxdp_daemon *d, const char *name,
		       struct relay_stats *st, char *err, size_t errlen)
{
	struct daemon_relay *dr;
	int ret;

	pthread_mutex_lock(&d->lock);
	dr = daemon_find_err(d, name, err, errlen);
	ret = dr ? worker_relay_stats(d->workers, dr->info.worker, dr->relay, st) : -ENOENT;
	if (dr && ret)
		snprintf(err, errlen, "relay %s: %s", name, strerror(-ret));
	pthread_mutex_unlock(&d->lock);
	return ret;
}

int daemon_relay_op(struct vxdp_daemon *d, const char *name, enum relay_op op,
		    char *err, size_t errlen)
{
	struct daemon_relay *dr;
	int ret;

	pthread_mutex_lock(&d->lock);
	dr = daemon_find_err(d, name, err, errlen);
	ret = dr ? worker_relay_do(d->workers, dr->info.worker, dr->relay, op) : -ENOENT;
	if (dr && ret)
		snprintf(err, errlen, "relay %s: %s: %s", name, relay_op_name(op),
			 strerror(-ret));
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static const struct relay_cfg *cfg_find(const struct relay_cfg *c, unsigned int n,
					const char *name)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!strcmp(c[i].name, name))
			return &c[i];
	return NULL;
}

int daemon_relay_sync(struct vxdp_daemon *d, const struct relay_cfg *want,
		      unsigned int n, unsigned int *added,
		      unsigned int *removed, unsigned int *changed)
{
	bool recreated[RELAY_MAX] = { false };
	enum relay_origin origin = RELAY_FROM_FILE;
	char err[512];
	unsigned int i;
	int failed = 0;

	if (n > RELAY_MAX)
		return -EINVAL;
	*added = *removed = *changed = 0;
	pthread_mutex_lock(&d->lock);
	/* Removals first: a re-created relay may reuse its vf and socket. */
	for (i = 0; i < d->n;) {
		struct daemon_relay *dr = &d->relays[i];
		const struct relay_cfg *c = cfg_find(want, n, dr->info.cfg.name);
		char name[RELAY_NAME_MAX];

		if (dr->info.origin != RELAY_FROM_FILE ||
		    (c && relay_cfg_equal(c, &dr->info.cfg))) {
			i++;
			continue;
		}
		snprintf(name, sizeof(name), "%s", dr->info.cfg.name);
		if (daemon_del_locked(d, name, err, sizeof(err))) {
			pr_err("reload: %s", err);
			failed++;
			i++;
			continue;
		}
		if (c) {
			pr_notice("reload: relay %s: options changed, re-creating it", name);
			recreated[c - want] = true;
			(*changed)++;
		} else {
			pr_notice("reload: relay %s: removed", name);
			(*removed)++;
		}
	}
	for (i = 0; i < n; i++) {
		struct daemon_relay *dr = daemon_find(d, want[i].name);

		if (dr && dr->info.origin == RELAY_FROM_FILE)
			continue;	/* unchanged, running */
		if (dr) {
			pr_err("reload: relay %s: a relay of that name was added otherwise; left alone",
			       want[i].name);
			failed++;
			continue;
		}
		int ret;

		if (daemon_add_batch(d, &want[i], &origin, 1, &ret, err, sizeof(err))) {
			pr_err("reload: %s", err);
			failed++;
			continue;
		}
		if (!recreated[i])
			(*added)++;
		else
			pr_notice("reload: relay %s: re-created", want[i].name);
	}
	pthread_mutex_unlock(&d->lock);
	daemon_status(d);
	return failed;
}

void daemon_vf_event(struct vxdp_daemon *d, int ifindex, const char *ifname)
{
	workers_vf_event(d->workers, ifindex, ifname);
}

/* Load and balancing ---------------------------------------------------------- */

/* Move lane @k of @dr to worker @to: logged and counted. */
static void daemon_move(struct vxdp_daemon *d, struct daemon_relay *dr, unsigned int k,
			unsigned int to, uint64_t now_ms)
{
	struct daemon_lane_info *li = &dr->info.lane[k];
	unsigned int from = li->worker;
	int qp[RELAY_MAX_QUEUES], nq = 0, err;
	uint32_t m = li->qps;
	char q[96];

	while (m) {
		qp[nq++] = __builtin_ctz(m);
		m &= m - 1;
	}
	err = worker_lane_move(d->workers, dr->info.worker, dr->relay, k, to);
	if (err) {
		pr_warn("balancer: relay %s queue pair%s %s: not moved to worker %u: %s",
			dr->info.cfg.name, nq == 1 ? "" : "s", cpulist_format(qp, nq, q, sizeof(q)),
			to, strerror(-err));
		return;
	}
	pr_notice("balancer: relay %s queue pair%s %s moved from worker %u (%.0f%% of a core) to worker %u (%.0f%%); the lane took about %.0f%%",
		  dr->info.cfg.name, nq == 1 ? "" : "s", cpulist_format(qp, nq, q, sizeof(q)),
		  from, 100 * d->w[from].load, to, 100 * d->w[to].load, 100 * dr->load[k]);
	li->worker = to;
	d->w[from].lanes--;
	d->w[to].lanes++;
	d->w[from].moves_out++;
	d->w[to].moves_in++;
	dr->info.moves++;
	dr->moved_ms[k] = now_ms;
	d->moves++;
}

static void daemon_balance(struct vxdp_daemon *d, uint64_t now_ms)
{
	struct place_worker pw[WORKERS_MAX];
	struct place_lane *pl;
	struct { unsigned int relay, lane; } *idx;
	unsigned int i, k, nl = 0, to;
	int pick;

	for (i = 0; i < d->n; i++)
		nl += d->relays[i].info.nlanes;
	pl = calloc(nl + 1, sizeof(*pl));
	idx = calloc(nl + 1, sizeof(*idx));
	nl = 0;
	if (!pl || !idx)
		goto out;
	for (i = 0; i < d->nworkers; i++) {
		pw[i].load = d->w[i].load;
		pw[i].lanes = d->w[i].lanes;
		pw[i].node = d->w[i].node;
	}
	for (i = 0; i < d->n; i++) {
		struct daemon_relay *dr = &d->relays[i];

		for (k = 0; k < dr->info.nlanes; k++, nl++) {
			pl[nl].worker = dr->info.lane[k].worker;
			pl[nl].load = dr->load[k];
			pl[nl].node = dr->info.node;
			pl[nl].pinned = dr->info.pinned;
			pl[nl].moved_ms = dr->moved_ms[k];
			idx[nl].relay = i;
			idx[nl].lane = k;
		}
	}
	pick = place_balance(&d->bal, pw, d->nworkers, pl, nl, now_ms, &to);
	if (pick >= 0)
		daemon_move(d, &d->relays[idx[pick].relay], idx[pick].lane, to, now_ms);
out:
	free(pl);
	free(idx);
}

void daemon_tick(struct vxdp_daemon *d)
{
	uint64_t now = mono_ns(), dt, wframes[WORKERS_MAX] = { 0 };
	uint64_t *lframes;
	unsigned int i, k, nl = 0;

	pthread_mutex_lock(&d->lock);
	dt = now - d->sampled_ns;
	if (dt < 1000000)
		goto out;
	d->sampled_ns = now;
	for (i = 0; i < d->n; i++)
		nl += d->relays[i].info.nlanes;
	lframes = calloc(nl + 1, sizeof(*lframes));
	nl = 0;
	if (!lframes)
		goto out;
	for (i = 0; i < d->nworkers; i++) {
		uint64_t ns = worker_cpu_ns(d->workers, i);

		d->w[i].load = (double)(ns - d->w[i].cpu_ns) / dt;
		d->w[i].cpu_ns = ns;
	}
	for (i = 0; i < d->n; i++) {
		struct daemon_relay *dr = &d->relays[i];

		for (k = 0; k < dr->info.nlanes; k++, nl++) {
			uint64_t f = relay_lane_frames(dr->relay, k);

			lframes[nl] = f - dr->frames[k];
			dr->frames[k] = f;
			wframes[dr->info.lane[k].worker] += lframes[nl];
		}
	}
	for (i = 0; i < d->nworkers; i++)
		d->w[i].frames_per_s = (double)wframes[i] * 1e9 / dt;
	/* A lane's share of its worker's CPU: by its share of the frames. */
	nl = 0;
	for (i = 0; i < d->n; i++) {
		struct daemon_relay *dr = &d->relays[i];

		for (k = 0; k < dr->info.nlanes; k++, nl++) {
			unsigned int w = dr->info.lane[k].worker;

			dr->load[k] = wframes[w] ? d->w[w].load * lframes[nl] / wframes[w] : 0;
		}
	}
	free(lframes);
	if (d->balance_ms)
		daemon_balance(d, now / 1000000);
out:
	pthread_mutex_unlock(&d->lock);
}

unsigned int daemon_tick_ms(const struct vxdp_daemon *d)
{
	if (d->nworkers < 2)
		return 0;
	return d->balance_ms ? d->balance_ms : 1000;
}

unsigned int daemon_nrelays(struct vxdp_daemon *d)
{
	unsigned int n;

	pthread_mutex_lock(&d->lock);
	n = d->n;
	pthread_mutex_unlock(&d->lock);
	return n;
}

unsigned int daemon_nworkers(struct vxdp_daemon *d)
{
	return d->nworkers;
}

int daemon_worker_get(struct vxdp_daemon *d, unsigned int w,
		      struct daemon_worker_info *info)
{
	if (w >= d->nworkers)
		return -ENOENT;
	pthread_mutex_lock(&d->lock);
	info->tid = worker_tid(d->workers, w);
	info->cpu = worker_cpu(d->workers, w);
	info->node = d->w[w].node;
	info->relays = d->w[w].relays;
	info->lanes = d->w[w].lanes;
	info->load = d->w[w].load;
	info->frames_per_s = d->w[w].frames_per_s;
	info->cpu_ns = worker_cpu_ns(d->workers, w);
	info->moves_in = d->w[w].moves_in;
	info->moves_out = d->w[w].moves_out;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

uint64_t daemon_moves(struct vxdp_daemon *d)
{
	uint64_t n;

	pthread_mutex_lock(&d->lock);
	n = d->moves;
	pthread_mutex_unlock(&d->lock);
	return n;
}
