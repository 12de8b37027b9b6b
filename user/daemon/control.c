// SPDX-License-Identifier: GPL-2.0
/* The control socket (see control.h): clients on the main loop, each request
 * a line handled by the daemon's calls (daemon.h).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent/failover_agent.h"
#include "control.h"
#include "ctl_proto.h"
#include "util/clock.h"
#include "util/compiler.h"
#include "util/log.h"

#define CTL_MAX_CLIENTS 16
/* A request must arrive whole, and its reply be taken, within this. */
#define CTL_DEADLINE_S 5

struct ctl_client {
	struct control *ctl;
	int fd;
	struct uloop_src src;
	bool want_out;		/* polling for POLLOUT: a reply is pending */
	time_t deadline;	/* CLOCK_MONOTONIC seconds */
	size_t len;
	char *out;		/* the reply being written */
	size_t out_len, out_off;
	char buf[CTL_REQ_MAX];
};

struct control {
	struct uloop *loop;
	struct vxdp_daemon *d;
	struct fo_agent *agent;
	const char *version;
	char path[SOCKET_PATH_MAX];
	int listen_fd;
	struct uloop_src listen_src;
	int timer_fd;
	struct uloop_src timer_src;
	unsigned int nclients;
	struct ctl_client *clients[CTL_MAX_CLIENTS];
};

/* A tick each second while clients are connected, for their deadlines. */
static void ctl_timer_arm(struct control *c, bool on)
{
	struct itimerspec its = { 0 };

	if (on) {
		its.it_value.tv_sec = 1;
		its.it_interval.tv_sec = 1;
	}
	timerfd_settime(c->timer_fd, 0, &its, NULL);
}

static void ctl_client_close(struct ctl_client *cl)
{
	struct control *c = cl->ctl;
	unsigned int i;

	uloop_del(c->loop, &cl->src);
	close(cl->fd);
	free(cl->out);
	for (i = 0; i < c->nclients; i++) {
		if (c->clients[i] == cl) {
			c->clients[i] = c->clients[--c->nclients];
			break;
		}
	}
	/* Its source's last completion may still be on its way. */
	uloop_free_later(c->loop, free, cl);
	if (!c->nclients)
		ctl_timer_arm(c, false);
}

/* Each worker: where it runs, what runs on it, its load at the last
 * sample (the balancer's, every balance interval) and the moves.
 */
static json_object *ctl_workers_json(struct vxdp_daemon *d)
{
	json_object *a = json_object_new_array();
	struct daemon_worker_info wi;
	unsigned int i;

	for (i = 0; i < daemon_nworkers(d); i++) {
		json_object *w = json_object_new_object();

		if (daemon_worker_get(d, i, &wi))
			break;
		json_object_object_add(w, "id", json_object_new_int(i));
		json_object_object_add(w, "tid", json_object_new_int(wi.tid));
		json_object_object_add(w, "cpu", json_object_new_int(wi.cpu));
		json_object_object_add(w, "node", json_object_new_int(wi.node));
		json_object_object_add(w, "relays", json_object_new_int(wi.relays));
		json_object_object_add(w, "lanes", json_object_new_int(wi.lanes));
		json_object_object_add(w, "load_percent",
				       json_object_new_double(100 * wi.load));
		json_object_object_add(w, "frames_per_s",
				       json_object_new_double(wi.frames_per_s));
		json_object_object_add(w, "cpu_seconds",
				       json_object_new_double(wi.cpu_ns / 1e9));
		json_object_object_add(w, "moves_in", json_object_new_uint64(wi.moves_in));
		json_object_object_add(w, "moves_out", json_object_new_uint64(wi.moves_out));
		json_object_array_add(a, w);
	}
	return a;
}

static json_object *ctl_do_workers(struct control *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "workers", ctl_workers_json(c->d));
	json_object_object_add(o, "moves", json_object_new_uint64(daemon_moves(c->d)));
	return o;
}

static json_object *ctl_do_hello(struct control *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "daemon", json_object_new_string("vxdp-relay"));
	json_object_object_add(o, "version", json_object_new_string(c->version));
	json_object_object_add(o, "protocol", json_object_new_int(CTL_PROTO_VERSION));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "relays", json_object_new_int(daemon_nrelays(c->d)));
	json_object_object_add(o, "max_relays", json_object_new_int(RELAY_MAX));
	json_object_object_add(o, "workers", ctl_workers_json(c->d));
	return o;
}

static json_object *ctl_do_list(struct control *c)
{
	struct daemon_relay_info *info = calloc(RELAY_MAX, sizeof(*info));
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	unsigned int i, n;

	n = info ? daemon_relay_list(c->d, info, RELAY_MAX) : 0;
	for (i = 0; i < n; i++)
		json_object_array_add(a, ctl_relay_json(&info[i]));
	free(info);
	json_object_object_add(o, "relays", a);
	json_object_object_add(o, "workers", ctl_workers_json(c->d));
	return o;
}

/* One relay's stats, or every relay's. */
static char *ctl_do_stats(struct control *c, const char *name)
{
	struct daemon_relay_info *info = calloc(RELAY_MAX, sizeof(*info));
	struct relay_stats *st = malloc(sizeof(*st));
	json_object *o, *a;
	char err[256];
	unsigned int i, n;
	char *reply;

	if (!info || !st) {
		free(info);
		free(st);
		return ctl_reply_err("out of memory");
	}
	if (*name) {
		n = 1;
		snprintf(info[0].cfg.name, sizeof(info[0].cfg.name), "%s", name);
	} else {
		n = daemon_relay_list(c->d, info, RELAY_MAX);
	}
	o = json_object_new_object();
	a = json_object_new_array();
	json_object_object_add(o, "relays", a);
	for (i = 0; i < n; i++) {
		if (daemon_relay_stats(c->d, info[i].cfg.name, st, err, sizeof(err))) {
			/* One that went meanwhile is no error for "all". */
			if (!*name)
				continue;
			json_object_put(o);
			reply = ctl_reply_err(err);
			goto out;
		}
		json_object_array_add(a, ctl_stats_json(info[i].cfg.name, st));
	}
	json_object_object_add(o, "workers", ctl_workers_json(c->d));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	reply = ctl_reply_ok(o);
out:
	free(info);
	free(st);
	return reply;
}

static json_object *ctl_vm_json(const struct fo_agent_vm_info *v)
{
	json_object *o = json_object_new_object(), *last, *cnt;
	char mac[18];

	json_object_object_add(o, "relay", json_object_new_string(v->relay));
	json_object_object_add(o, "mac", json_object_new_string(fo_mac_str(v->mac, mac)));
	json_object_object_add(o, "backend", json_object_new_string(v->backend));
	json_object_object_add(o, "primary", json_object_new_string(v->primary));
	json_object_object_add(o, "state", json_object_new_string(fo_state_name(v->state)));
	if (v->last.event != FO_EV_NR) {
		last = json_object_new_object();
		json_object_object_add(last, "from", json_object_new_string(fo_state_name(v->last.from)));
		json_object_object_add(last, "to", json_object_new_string(fo_state_name(v->last.to)));
		json_object_object_add(last, "event",
				       json_object_new_string(fo_event_name(v->last.event)));
		json_object_object_add(last, "reason", json_object_new_string(v->last.reason));
		json_object_object_add(last, "at_ms", json_object_new_uint64(v->last.at_ms));
		json_object_object_add(last, "ago_ms",
				       json_object_new_uint64(v->now_ms - v->last.at_ms));
		json_object_object_add(o, "last", last);
	}
	cnt = json_object_new_object();
#define CNT(f) json_object_object_add(cnt, #f, json_object_new_uint64(v->cnt.f))
	CNT(events);
	CNT(transitions);
	CNT(ignored);
	CNT(actions);
	CNT(repairs);
	CNT(resyncs);
	CNT(migrations_out);
	CNT(completed);
	CNT(restored);
#undef CNT
	json_object_object_add(o, "counters", cnt);
	json_object_object_add(o, "qmp", json_object_new_string(!v->qmp ? "none" :
				v->qmp_connected ? "connected" : "not connected"));
	json_object_object_add(o, "relay_events_dropped",
			       json_object_new_uint64(v->relay_events_dropped));
	return o;
}

static char *ctl_do_failover(struct control *c)
{
	struct fo_agent_vm_info *info = calloc(RELAY_MAX, sizeof(*info));
	json_object *o, *a;
	unsigned int i, n;

	if (!info)
		return ctl_reply_err("out of memory");
	n = c->agent ? fo_agent_list(c->agent, info, RELAY_MAX) : 0;
	o = json_object_new_object();
	a = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(a, ctl_vm_json(&info[i]));
	json_object_object_add(o, "vms", a);
	free(info);
	return ctl_reply_ok(o);
}

static char *ctl_do_failover_event(struct control *c, const struct ctl_req *req)
{
	unsigned int b[6];
	uint8_t mac[6];
	char err[256], log[FO_LOG_LEN], tail;
	json_object *o;
	int i;

	if (sscanf(req->mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5], &tail) != 6)
		return ctl_reply_err("failover-event: expected a MAC like 52:54:00:12:34:56");
	for (i = 0; i < 6; i++)
		mac[i] = b[i];
	if (!c->agent ||
	    fo_agent_inject(c->agent, mac, req->event, log, sizeof(log), err, sizeof(err)))
		return ctl_reply_err(c->agent ? err : "no failover agent");
	pr_notice("control: failover event %s for %s", req->event, req->mac);
	o = json_object_new_object();
	json_object_object_add(o, "log", json_object_new_string(log));
	return ctl_reply_ok(o);
}

static char *ctl_handle(struct control *c, const char *line, size_t len)
{
	struct daemon_relay_info info;
	struct relay_cfg cfg;
	struct ctl_req req;
	char err[1600], why[384];
	int ret;

	if (ctl_req_parse(line, len, &req, err, sizeof(err)))
		return ctl_reply_err(err);
	switch (req.cmd) {
	case CTL_HELLO:
		return ctl_reply_ok(ctl_do_hello(c));
	case CTL_LIST:
		return ctl_reply_ok(ctl_do_list(c));
	case CTL_STATS:
		return ctl_do_stats(c, req.name);
	case CTL_WORKERS:
		return ctl_reply_ok(ctl_do_workers(c));
	case CTL_SHOW:
		if (daemon_relay_get(c->d, req.name, &info)) {
			snprintf(err, sizeof(err), "no relay named '%s'", req.name);
			return ctl_reply_err(err);
		}
		return ctl_reply_ok(ctl_relay_json(&info));
	case CTL_ADD:
		if (relay_cfg_parse(&cfg, req.spec, why, sizeof(why))) {
			snprintf(err, sizeof(err), "add %s: %s", req.spec, why);
			return ctl_reply_err(err);
		}
		pr_notice("control: adding relay %s", cfg.name);
		ret = daemon_relay_add(c->d, &cfg, RELAY_FROM_CONTROL, err, sizeof(err));
		if (ret) {
			pr_err("control: %s", err);
			return ctl_reply_err(err);
		}
		daemon_relay_get(c->d, cfg.name, &info);
		return ctl_reply_ok(ctl_relay_json(&info));
	case CTL_DEL:
		pr_notice("control: removing relay %s", req.name);
		if (daemon_relay_del(c->d, req.name, err, sizeof(err)))
			return ctl_reply_err(err);
		return ctl_reply_ok(NULL);
	case CTL_FAILOVER:
		return ctl_do_failover(c);
	case CTL_FAILOVER_EVENT:
		return ctl_do_failover_event(c, &req);
	case CTL_NCMDS:
		break;
	}
	return ctl_reply_err("unknown command");
}

static void ctl_on_client(struct uloop_src *s, int res);

static int ctl_client_watch(struct ctl_client *cl, bool out)
{
	if (cl->src.active && cl->want_out == out)
		return 0;
	uloop_del(cl->ctl->loop, &cl->src);
	cl->want_out = out;
	return uloop_add_poll(cl->ctl->loop, &cl->src, cl->fd, out ? POLLOUT : POLLIN,
			      ctl_on_client);
}

/* Write what is pending; false when the client is gone. */
static bool ctl_client_flush(struct ctl_client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return !ctl_client_watch(cl, true);
		if (n <= 0)
			return false;
		cl->out_off += n;
	}
	free(cl->out);
	cl->out = NULL;
	cl->out_len = cl->out_off = 0;
	return true;
}

/* Handle every whole line in the buffer, one reply at a time; false when
 * the client is to be dropped.
 */
static bool ctl_client_process(struct ctl_client *cl)
{
	char *nl;

	while (!cl->out && (nl = memchr(cl->buf, '\n', cl->len))) {
		size_t line = nl - cl->buf + 1;

		cl->out = ctl_handle(cl->ctl, cl->buf, line);
		if (!cl->out)
			return false;
		cl->out_len = strlen(cl->out);
		cl->out_off = 0;
		memmove(cl->buf, cl->buf + line, cl->len - line);
		cl->len -= line;
		cl->deadline = (time_t)(mono_ns() / 1000000000u) + CTL_DEADLINE_S;
		if (!ctl_client_flush(cl))
			return false;
	}
	if (!cl->out && cl->len == sizeof(cl->buf)) {
		char *reply = ctl_reply_err("request too long");

		/* Best effort: it is dropped either way. */
		if (reply)
			send(cl->fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
		free(reply);
		return false;
	}
	return cl->out || !ctl_client_watch(cl, false);
}

static void ctl_on_client(struct uloop_src *s, int res)
{
	struct ctl_client *cl = container_of(s, struct ctl_client, src);

	if (cl->want_out) {
		if (!ctl_client_flush(cl) || !ctl_client_process(cl))
			ctl_client_close(cl);
		return;
	}
	if (res & (POLLERR | POLLNVAL)) {
		ctl_client_close(cl);
		return;
	}
	for (;;) {
		ssize_t n = recv(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - cl->len,
				 MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			/* EOF: the client is done (its replies were sent). */
			ctl_client_close(cl);
			return;
		}
		cl->len += n;
		if (!ctl_client_process(cl)) {
			ctl_client_close(cl);
			return;
		}
		if (cl->out || cl->len == sizeof(cl->buf))
			break;
	}
}

/* Take one connection: false when there is none left. */
static bool ctl_accept(struct control *c)
{
	struct ctl_client *cl;
	int fd;

	fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return errno == EINTR || errno == ECONNABORTED;
	if (c->nclients == CTL_MAX_CLIENTS) {
		char *reply = ctl_reply_err("too many control clients; try again");

		if (reply)
			send(fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
		free(reply);
		close(fd);
		return true;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		close(fd);
		return true;
	}
	cl->ctl = c;
	cl->fd = fd;
	cl->deadline = (time_t)(mono_ns() / 1000000000u) + CTL_DEADLINE_S;
	if (uloop_add_poll(c->loop, &cl->src, fd, POLLIN, ctl_on_client)) {
		close(fd);
		free(cl);
		return true;
	}
	c->clients[c->nclients++] = cl;
	if (c->nclients == 1)
		ctl_timer_arm(c, true);
	return true;
}

/* Every pending connection: one poll event may stand for several. */
static void ctl_on_listen(struct uloop_src *s, int res)
{
	struct control *c = container_of(s, struct control, listen_src);

	(void)res;
	while (ctl_accept(c))
		;
}

static void ctl_on_timer(struct uloop_src *s, int res)
{
	struct control *c = container_of(s, struct control, timer_src);
	time_t now = (time_t)(mono_ns() / 1000000000u);
	unsigned int i;

	(void)res;
	for (i = 0; i < c->nclients;) {
		struct ctl_client *cl = c->clients[i];

		if (now < cl->deadline) {
			i++;
			continue;
		}
		pr_info("control: dropping a client that took more than %d s", CTL_DEADLINE_S);
		ctl_client_close(cl);	/* moves the last one to i */
	}
}

/* mkdir -p for the socket's directory. */
static int ctl_mkdirs(const char *path)
{
	char dir[SOCKET_PATH_MAX], *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Bind, replacing a socket file nobody listens on any more. */
static int ctl_bind(int fd, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int probe, err;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (!bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return 0;
	if (errno != EADDRINUSE)
		return -errno;
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	err = connect(probe, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	close(probe);
	if (!err)
		return -EADDRINUSE;	/* another daemon's, alive */
	unlink(path);
	return bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
}

int control_open(struct control **cp, struct uloop *loop,
		 struct vxdp_daemon *d, struct fo_agent *agent, const char *path,
		 gid_t group, const char *version)
{
	struct control *c;
	int err;

	*cp = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->d = d;
	c->agent = agent;
	c->version = version;
	c->timer_fd = -1;
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0) {
		err = -errno;
		goto err_free;
	}
	err = ctl_mkdirs(path);
	if (err) {
		pr_err("control socket %s: cannot create its directory: %s", path,
		       strerror(-err));
		goto err_close;
	}
	err = ctl_bind(c->listen_fd, path);
	if (err == -EADDRINUSE) {
		pr_err("control socket %s: another vxdp-relay listens there (give --control PATH, or --control none)",
		       path);
		goto err_close;
	}
	if (err) {
		pr_err("control socket %s: %s", path, strerror(-err));
		goto err_close;
	}
	/* Root, and the group named by --control-group, may use it. */
	if (chmod(path, 0660) || (group != (gid_t)-1 && chown(path, (uid_t)-1, group)) ||
	    listen(c->listen_fd, 8)) {
		err = -errno;
		pr_err("control socket %s: %s", path, strerror(-err));
		goto err_unlink;
	}
	c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (c->timer_fd < 0) {
		err = -errno;
		goto err_unlink;
	}
	err = uloop_add_read(loop, &c->timer_src, c->timer_fd, NULL, 0, ctl_on_timer);
	if (!err)
		err = uloop_add_poll(loop, &c->listen_src, c->listen_fd, POLLIN, ctl_on_listen);
	if (err) {
		uloop_del(loop, &c->timer_src);
		pr_err("control socket: cannot register with the event loop: %s", strerror(-err));
		goto err_unlink;
	}
	pr_notice("control socket on %s", path);
	*cp = c;
	return 0;

err_unlink:
	unlink(path);
err_close:
	if (c->timer_fd >= 0)
		close(c->timer_fd);
	close(c->listen_fd);
err_free:
	free(c);
	return err;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	while (c->nclients)
		ctl_client_close(c->clients[0]);
	uloop_del(c->loop, &c->listen_src);
	uloop_del(c->loop, &c->timer_src);
	close(c->listen_fd);
	close(c->timer_fd);
	unlink(c->path);
	free(c);
}
