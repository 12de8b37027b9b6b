// SPDX-License-Identifier: GPL-2.0
/* The daemon's relay registry: which relays exist and on which worker, and
 * the calls that change that (see daemon.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "service.h"
#include "util/log.h"
#include "worker.h"

struct daemon_relay {
	struct relay *relay;
	struct daemon_relay_info info;
};

struct vxdp_daemon {
	/* Serialises the calls: one change at a time, from whichever thread
	 * (main, later the agent). Never taken by a worker.
	 */
	pthread_mutex_t lock;
	struct workers *workers;
	unsigned int n;
	struct daemon_relay *relays;	/* RELAY_MAX, the first n in use */
	const struct daemon_hooks *hooks;
	void *hooks_arg;
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

int daemon_create(struct vxdp_daemon **dp, unsigned int nworkers,
		  unsigned int busy_poll_us, int fail_fd)
{
	struct vxdp_daemon *d;
	int err;

	*dp = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->relays = calloc(RELAY_MAX, sizeof(*d->relays));
	if (!d->relays) {
		free(d);
		return -ENOMEM;
	}
	err = workers_start(&d->workers, nworkers, fail_fd, busy_poll_us);
	if (err) {
		free(d->relays);
		free(d);
		return err;
	}
	pthread_mutex_init(&d->lock, NULL);
	*dp = d;
	return 0;
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

static int daemon_add_locked(struct vxdp_daemon *d, const struct relay_cfg *cfg,
			     enum relay_origin origin, char *err, size_t errlen)
{
	struct evq *events = NULL;
	struct daemon_relay *dr;
	unsigned int i, w;
	int ret;

	for (i = 0; i < d->n; i++) {
		const char *what = relay_cfg_collides(&d->relays[i].info.cfg, cfg);

		if (what) {
			snprintf(err, errlen, "relay %s: same %s as running relay %s",
				 cfg->name, what, d->relays[i].info.cfg.name);
			return -EEXIST;
		}
	}
	if (d->n == RELAY_MAX) {
		snprintf(err, errlen, "relay %s: at most %d relays", cfg->name, RELAY_MAX);
		return -ENOSPC;
	}
	if (d->hooks) {
		ret = d->hooks->relay_opening(d->hooks_arg, cfg, &events, err, errlen);
		if (ret)
			return ret;
	}
	dr = &d->relays[d->n];
	memset(dr, 0, sizeof(*dr));
	dr->info.cfg = *cfg;
	dr->info.origin = origin;
	w = worker_pick(d->workers, cfg);
	ret = worker_relay_open(d->workers, w, &dr->info.cfg, events, &dr->relay);
	if (ret) {
		daemon_closed(d, cfg->name);
		snprintf(err, errlen, "relay %s: not started: %s (see the daemon's log)",
			 cfg->name, strerror(-ret));
		return ret;
	}
	dr->info.worker = w;
	dr->info.worker_tid = worker_tid(d->workers, w);
	d->n++;
	return 0;
}

int daemon_relay_add(struct vxdp_daemon *d, const struct relay_cfg *cfg,
		     enum relay_origin origin, char *err, size_t errlen)
{
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = daemon_add_locked(d, cfg, origin, err, errlen);
	pthread_mutex_unlock(&d->lock);
	if (!ret)
		daemon_status(d);
	return ret;
}

static int daemon_del_locked(struct vxdp_daemon *d, const char *name, char *err,
			     size_t errlen)
{
	struct daemon_relay *dr = daemon_find(d, name);
	int ret;

	if (!dr) {
		snprintf(err, errlen, "no relay named '%s'", name);
		return -ENOENT;
	}
	ret = worker_relay_close(d->workers, dr->info.worker, dr->relay);
	if (ret) {
		snprintf(err, errlen, "relay %s: %s", name, strerror(-ret));
		return ret;
	}
	daemon_closed(d, dr->info.cfg.name);
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
	dr = daemon_find(d, name);
	if (!dr) {
		snprintf(err, errlen, "no relay named '%s'", name);
		ret = -ENOENT;
	} else {
		ret = worker_relay_stats(d->workers, dr->info.worker, dr->relay, st);
		if (ret)
			snprintf(err, errlen, "relay %s: %s", name, strerror(-ret));
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

int daemon_relay_op(struct vxdp_daemon *d, const char *name, enum relay_op op,
		    char *err, size_t errlen)
{
	struct daemon_relay *dr;
	int ret;

	pthread_mutex_lock(&d->lock);
	dr = daemon_find(d, name);
	if (!dr) {
		snprintf(err, errlen, "no relay named '%s'", name);
		ret = -ENOENT;
	} else {
		ret = worker_relay_do(d->workers, dr->info.worker, dr->relay, op);
		if (ret)
			snprintf(err, errlen, "relay %s: %s: %s", name, relay_op_name(op),
				 strerror(-ret));
	}
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
	char err[256];
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
		if (daemon_add_locked(d, &want[i], RELAY_FROM_FILE, err, sizeof(err))) {
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
	return workers_count(d->workers);
}

pid_t daemon_worker_tid(struct vxdp_daemon *d, unsigned int w)
{
	return worker_tid(d->workers, w);
}

unsigned int daemon_worker_nrelays(struct vxdp_daemon *d, unsigned int w)
{
	return worker_nrelays(d->workers, w);
}
