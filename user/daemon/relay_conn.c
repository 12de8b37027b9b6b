// SPDX-License-Identifier: GPL-2.0
/* A relay's frontend connection: listening (server mode) or connecting with
 * backoff (client mode), one frontend at a time, its messages handed to the
 * relay's vhost-user device.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "relay_impl.h"
#include "relay_conn.h"
#include "util/compiler.h"
#include "util/log.h"
#include "vhost/vhost_user_sock.h"

/* Client mode reconnect backoff: first retry soon (QEMU restarting), then
 * no more often than this.
 */
#define RECONNECT_MIN_MS 50
#define RECONNECT_MAX_MS 2000

static void relay_reconnect_later(struct relay *r);
static void relay_connect(struct relay *r);

static void relay_disconnect(struct relay *r)
{
	uint64_t to, from;

	uloop_del(r->loop, &r->conn_src);
	vhost_dev_reset(&r->dev);
	close(r->conn_fd);
	r->conn_fd = -1;
	relay_frame_totals(r, &to, &from);
	pr_notice("%s: frontend disconnected (to guest %llu, from guest %llu frames so far)",
		  r->cfg.name, (unsigned long long)to, (unsigned long long)from);
	/* Try at once: QEMU may only have reset the connection. */
	if (r->cfg.client) {
		r->backoff_ms = 0;
		relay_connect(r);
	}
}

/* More bytes (or EOF) waiting on the connection? */
static bool relay_conn_pending(int fd)
{
	char b;

	return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
}

static void relay_on_conn(struct uloop_src *s, int res)
{
	struct relay *r = container_of(s, struct relay, conn_src);
	int err = res < 0 ? res : 0;

	/* One poll event may stand for several queued messages, or for none:
	 * a multishot poll reports arrivals we may already have drained. Only
	 * receive what is there, so a blocking read never waits for the
	 * frontend.
	 */
	while (!err && relay_conn_pending(r->conn_fd)) {
		err = vhost_user_msg_recv(r->conn_fd, &r->msg);
		if (!err)
			err = vhost_dev_handle_msg(&r->dev, r->conn_fd, &r->msg);
	}
	if (!err)
		return;
	if (err != -ECONNRESET)
		pr_warn("%s: dropping frontend connection: %s", r->cfg.name,
			strerror(-err));
	relay_disconnect(r);
}

/* Take @fd as the frontend connection (accepted or connected). */
static void relay_attach(struct relay *r, int fd)
{
	r->conn_fd = fd;
	r->refused_logged = false;
	r->st.connects++;
	pr_notice("%s: frontend connected", r->cfg.name);
	if (uloop_add_poll(r->loop, &r->conn_src, fd, POLLIN, relay_on_conn)) {
		pr_err("%s: cannot watch the frontend connection", r->cfg.name);
		close(fd);
		r->conn_fd = -1;
	}
}

static void relay_on_listen(struct uloop_src *s, int res)
{
	struct relay *r = container_of(s, struct relay, listen_src);
	int fd;

	(void)res;
	fd = vhost_user_sock_accept(r->listen_fd);
	if (fd < 0) {
		pr_warn("%s: accept: %s", r->cfg.name, strerror(-fd));
		return;
	}
	if (r->conn_fd >= 0) {
		/* QEMU retries at once, so once per connection is enough. */
		if (!r->refused_logged)
			pr_warn("%s: refusing a second frontend while one is connected (logged once per connection)",
				r->cfg.name);
		r->refused_logged = true;
		r->st.refused++;
		close(fd);
		return;
	}
	relay_attach(r, fd);
}

static void relay_connect(struct relay *r)
{
	int fd = vhost_user_sock_connect(r->cfg.socket);

	if (fd < 0) {
		/* Say it once per outage, not once per retry. */
		if (r->backoff_ms == 0)
			pr_notice("%s: waiting for QEMU to listen on %s (%s)", r->cfg.name,
				  r->cfg.socket, strerror(-fd));
		relay_reconnect_later(r);
		return;
	}
	r->backoff_ms = 0;
	relay_attach(r, fd);
}

static void relay_on_timer(struct uloop_src *s, int res)
{
	struct relay *r = container_of(s, struct relay, timer_src);

	if (res > 0 && r->conn_fd < 0)
		relay_connect(r);
}

static void relay_reconnect_later(struct relay *r)
{
	struct itimerspec its = { 0 };

	r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : RECONNECT_MIN_MS;
	if (r->backoff_ms > RECONNECT_MAX_MS)
		r->backoff_ms = RECONNECT_MAX_MS;
	its.it_value.tv_sec = r->backoff_ms / 1000;
	its.it_value.tv_nsec = (r->backoff_ms % 1000) * 1000000L;
	if (timerfd_settime(r->timer_fd, 0, &its, NULL))
		pr_err("%s: cannot arm the reconnect timer: %s", r->cfg.name,
		       strerror(errno));
}

/* Server mode listens; client mode connects now and keeps retrying. */
int relay_conn_open(struct relay *r)
{
	const struct relay_cfg *cfg = &r->cfg;
	int err;

	if (!cfg->client) {
		r->listen_fd = vhost_user_sock_listen(cfg->socket, cfg->owner,
						      cfg->group, cfg->perm);
		if (r->listen_fd < 0)
			return r->listen_fd;
		err = uloop_add_poll(r->loop, &r->listen_src, r->listen_fd, POLLIN,
				     relay_on_listen);
		if (err) {
			close(r->listen_fd);
			unlink(cfg->socket);
			r->listen_fd = -1;
		}
		return err;
	}
	err = vhost_user_sock_check_dir(cfg->socket);
	if (err)
		return err;
	r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (r->timer_fd < 0) {
		err = -errno;
		pr_err("%s: timerfd: %s", cfg->name, strerror(errno));
		return err;
	}
	err = uloop_add_read(r->loop, &r->timer_src, r->timer_fd, NULL, 0,
			     relay_on_timer);
	if (err) {
		close(r->timer_fd);
		r->timer_fd = -1;
		return err;
	}
	relay_connect(r);
	return 0;
}

static void relay_close_frontend(struct relay *r)
{
	uloop_del(r->loop, &r->listen_src);
	uloop_del(r->loop, &r->timer_src);
	if (r->listen_fd >= 0) {
		close(r->listen_fd);
		/* Only a socket we created is ours to remove. */
		unlink(r->cfg.socket);
	}
	if (r->timer_fd >= 0)
		close(r->timer_fd);
	r->listen_fd = r->timer_fd = -1;
}

void relay_conn_close(struct relay *r)
{
	relay_close_frontend(r);
	if (r->conn_fd >= 0) {
		r->cfg.client = false;
		relay_disconnect(r);
	}
}
