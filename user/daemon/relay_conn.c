// SPDX-License-Identifier: GPL-2.0
/* A relay's frontend connection: listening (server mode) or connecting with
 * backoff (client mode), one frontend at a time, its messages handed to the
 * relay's vhost-user device. The frontend is untrusted and shares the worker
 * with other relays: nothing here ever waits for it. Messages are put
 * together from readiness events, each with a deadline; a few are handled
 * per event; replies that do not fit its socket end the connection; every
 * error ends it through relay_disconnect(); what it makes us log is rate
 * limited.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "relay_impl.h"
#include "relay_conn.h"
#include "util/clock.h"
#include "util/compiler.h"
#include "util/log.h"
#include "vhost/vhost_user_sock.h"

/* Client mode reconnect backoff: first retry soon (QEMU restarting), then
 * no more often than this.
 */
#define RECONNECT_MIN_MS 50
#define RECONNECT_MAX_MS 2000

/* Messages handled per readiness event; the rest wait for the next round
 * of the loop, after the worker's other relays had theirs. A QEMU start
 * is some 40 messages.
 */
#define CONN_MSG_BUDGET 8

/* Connections accepted (or refused) per event, likewise; more than the
 * listen backlog, so a burst is dealt with in one go.
 */
#define CONN_ACCEPT_BUDGET 64

/* A frontend speaks first, at once: QEMU sends GET_FEATURES as soon as its
 * connection is up (it connected, or accepted ours). One that has not
 * completed its first message this long after the connection came up is
 * dropped, so a silent peer cannot hold the relay's one connection (server
 * mode: the next QEMU is refused; client mode: the next listener is never
 * reached). Generous: a frontend's reconnect recovers from a drop anyway.
 */
#define CONN_FIRST_MSG_MS 3000

/* accept() failing for want of fds or memory leaves the connection in the
 * backlog, where the multishot poll (it reports arrivals) would never show
 * it again: stranded until the next connection. Look again this much
 * later; looking at once would spin.
 */
#define ACCEPT_RETRY_MS 100

static void relay_connect(struct relay *r);
static void relay_reconnect_later(struct relay *r);
static void relay_on_listen(struct uloop_src *s, int res);

/* The relay's one timer serves the connection's deadline (msg_deadline_ns:
 * its first message, or the message being received) and the next try
 * (retry_ns: connect again in client mode, accept again after running out
 * of fds in server mode): armed for the earlier of the two. A deadline met
 * in time is only cleared; the timer then finds nothing due.
 */
static void relay_timer_arm(struct relay *r)
{
	struct itimerspec its = { 0 };
	uint64_t next = r->msg_deadline_ns, now, ms;

	if (r->retry_ns && (!next || r->retry_ns < next))
		next = r->retry_ns;
	if (!next)
		return;
	now = mono_ns();
	ms = next > now ? (next - now + 999999) / 1000000 : 0;
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (ms % 1000) * 1000000L;
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(r->timer_fd, 0, &its, NULL))
		pr_err("%s: cannot arm the connection timer: %s", r->cfg.name,
		       strerror(errno));
}

static void relay_deadline_in(struct relay *r, unsigned int ms)
{
	r->msg_deadline_ns = mono_ns() + ms * 1000000ull;
	relay_timer_arm(r);
}

static void relay_retry_in(struct relay *r, unsigned int ms)
{
	r->retry_ns = mono_ns() + ms * 1000000ull;
	relay_timer_arm(r);
}

static bool relay_rings_running(const struct relay *r)
{
	unsigned int q;

	for (q = 0; q < 2 * r->dev.queue_pairs && q < VHOST_DEV_MAX_VRINGS; q++)
		if (vhost_vring_ready(&r->dev.vq[q]))
			return true;
	return false;
}

/* The one way a connection ends: reset the device, forget the connection
 * and, in client mode, connect again.
 */
static void relay_disconnect(struct relay *r)
{
	uint64_t to, from;

	/* The lanes must not run while the device resets under them. */
	relay_ctl_begin(r);
	uloop_del(r->loop, &r->conn_src);
	/* A message cut short may hold fds. */
	vhost_user_rx_next(&r->rx);
	vhost_dev_reset(&r->dev);
	close(r->conn_fd);
	r->conn_fd = -1;
	r->conn_more = false;
	r->msg_deadline_ns = 0;
	relay_frame_totals(r, &to, &from);
	relay_ctl_end(r);
	pr_notice("%s: frontend disconnected (to guest %llu, from guest %llu frames so far)",
		  r->cfg.name, (unsigned long long)to, (unsigned long long)from);
	if (r->conn_refused > 1)
		pr_notice("%s: %u more frontends refused while it was connected",
			  r->cfg.name, r->conn_refused - 1);
	r->conn_refused = 0;
	log_limit_flush(&r->loglim, false);
	relay_post(r, RELAY_EV_FRONTEND_GONE);
	if (!r->cfg.client || r->conn_closing)
		return;
	/* A frontend that ran rings may only have reset the connection: try
	 * at once. One that did not (accepted and hung up, or a connection
	 * left in an exiting QEMU's backlog) gets the backoff.
	 */
	if (r->conn_ran_rings)
		relay_connect(r);
	else
		relay_reconnect_later(r);
}

/* Drop the connection for @err, saying why in one line. */
static void relay_drop(struct relay *r, int err)
{
	uint32_t want = vhost_user_rx_want(&r->rx) ?: (uint32_t)VHOST_USER_HDR_SIZE;

	if (err == -ENOBUFS)
		pr_warn("%s: dropping frontend connection: it does not read its replies (socket buffer full)",
			r->cfg.name);
	else if (err == -ETIMEDOUT && !r->conn_spoke && !r->rx.got)
		pr_warn("%s: dropping frontend connection: it said nothing within %u ms of connecting",
			r->cfg.name, CONN_FIRST_MSG_MS);
	else if (err == -ETIMEDOUT && !r->conn_spoke)
		pr_warn("%s: dropping frontend connection: first message not complete %u ms after connecting (%u of %u bytes)",
			r->cfg.name, CONN_FIRST_MSG_MS, r->rx.got, want);
	else if (err == -ETIMEDOUT)
		pr_warn("%s: dropping frontend connection: message not complete after %u ms (%u of %u bytes)",
			r->cfg.name, VHOST_USER_MSG_DEADLINE_MS, r->rx.got, want);
	/* Not when it went away (reset, EPIPE), nor when the device said
	 * why already ("the frontend shrank the guest memory file ...").
	 */
	else if (err != -ECONNRESET && err != -EPIPE &&
		 !(err == -EFAULT && vhost_dev_lost_memory(&r->dev)))
		pr_warn("%s: dropping frontend connection: %s", r->cfg.name,
			strerror(-err));
	relay_disconnect(r);
}

/* Read and handle what the frontend sent, CONN_MSG_BUDGET messages at
 * most; the rest is deferred to the next round.
 */
static void relay_conn_pass(struct relay *r)
{
	unsigned int n;
	int err = 0;

	r->conn_more = false;
	/* Lanes on other threads read the rings and memory a message may
	 * change: paused meanwhile, and they take the changes in after.
	 */
	relay_ctl_begin(r);
	for (n = 0; n < CONN_MSG_BUDGET; n++) {
		err = vhost_user_rx_read(r->conn_fd, &r->rx);
		if (err <= 0)
			break;
		r->msg_deadline_ns = 0;
		r->conn_spoke = true;
		err = vhost_dev_handle_msg(&r->dev, r->conn_fd, &r->msg);
		vhost_user_rx_next(&r->rx);
		if (err)
			break;
	}
	if (err < 0)
		relay_drop(r, err);
	relay_ctl_end(r);
	if (err < 0)
		return;
	if (!r->conn_ran_rings && relay_rings_running(r)) {
		/* A frontend that got this far is one worth coming back to
		 * quickly.
		 */
		r->conn_ran_rings = true;
		r->backoff_ms = 0;
		r->wait_logged = false;
	}
	if (n == CONN_MSG_BUDGET) {
		r->conn_more = true;
		uloop_defer(r->loop, &r->conn_work);
	} else if (vhost_user_rx_partial(&r->rx) && !r->msg_deadline_ns) {
		/* The first bytes of a message: the whole of it is due by
		 * its deadline, however it trickles in. (The first message
		 * keeps the deadline its connection got.)
		 */
		relay_deadline_in(r, VHOST_USER_MSG_DEADLINE_MS);
	}
}

static void relay_on_conn(struct uloop_src *s, int res)
{
	struct relay *r = container_of(s, struct relay, conn_src);
	struct log_limit *prev = log_limit_enter(&r->loglim);

	if (res < 0)
		relay_drop(r, res);
	else if (!r->conn_more)		/* else the deferred pass reads */
		relay_conn_pass(r);
	log_limit_leave(prev);
}

/* Take @fd as the frontend connection (accepted or connected). */
static void relay_attach(struct relay *r, int fd)
{
	r->conn_fd = fd;
	r->conn_ran_rings = false;
	r->conn_spoke = false;
	vhost_user_rx_init(&r->rx, &r->msg);
	r->st.connects++;
	pr_notice("%s: frontend connected", r->cfg.name);
	relay_post(r, RELAY_EV_FRONTEND_UP);
	if (uloop_add_poll(r->loop, &r->conn_src, fd, POLLIN, relay_on_conn)) {
		pr_err("%s: cannot watch the frontend connection", r->cfg.name);
		close(fd);
		r->conn_fd = -1;
		if (r->cfg.client)
			relay_reconnect_later(r);
		return;
	}
	relay_deadline_in(r, CONN_FIRST_MSG_MS);
}

/* accept() failed with @err (no fds, no memory, ...): the connection waits
 * in the backlog, and no event will say so again. Stop watching the socket
 * and look again in ACCEPT_RETRY_MS (the poll, armed anew, fires at once
 * for what is pending).
 */
static void relay_listen_pause(struct relay *r, int err)
{
	if (!r->accept_failing)
		pr_warn("%s: cannot accept a frontend: %s; trying again every %u ms",
			r->cfg.name, strerror(-err), ACCEPT_RETRY_MS);
	r->accept_failing = true;
	uloop_del(r->loop, &r->listen_src);
	relay_retry_in(r, ACCEPT_RETRY_MS);
}

static void relay_listen_resume(struct relay *r)
{
	if (uloop_add_poll(r->loop, &r->listen_src, r->listen_fd, POLLIN,
			   relay_on_listen)) {
		pr_err("%s: cannot watch the listening socket", r->cfg.name);
		relay_retry_in(r, ACCEPT_RETRY_MS);
	}
}

/* Accept every pending connection: the first while none is served, and
 * refuse the others at once (QEMU would otherwise hang in the backlog).
 */
static void relay_listen_pass(struct relay *r)
{
	unsigned int n;
	int fd;

	r->listen_more = false;
	for (n = 0; n < CONN_ACCEPT_BUDGET; n++) {
		fd = vhost_user_sock_accept(r->listen_fd);
		if (fd == -EAGAIN || fd == -EWOULDBLOCK)
			return;
		if (fd == -EINTR || fd == -ECONNABORTED)
			continue;
		if (fd < 0) {
			relay_listen_pause(r, fd);
			return;
		}
		if (r->accept_failing) {
			pr_notice("%s: accepting frontends again", r->cfg.name);
			r->accept_failing = false;
		}
		if (r->conn_fd >= 0) {
			/* QEMU retries at once: say it once per served
			 * connection, count the rest.
			 */
			r->st.refused++;
			if (!r->conn_refused++)
				pr_warn("%s: refusing a second frontend while one is connected (more are counted until it goes)",
					r->cfg.name);
			close(fd);
			continue;
		}
		relay_attach(r, fd);
	}
	r->listen_more = true;
	uloop_defer(r->loop, &r->conn_work);
}

static void relay_on_listen(struct uloop_src *s, int res)
{
	struct relay *r = container_of(s, struct relay, listen_src);
	struct log_limit *prev = log_limit_enter(&r->loglim);

	(void)res;
	if (!r->listen_more)
		relay_listen_pass(r);
	log_limit_leave(prev);
}

/* Budgets ran out last round: go on. */
static void relay_on_conn_work(struct uloop_work *w)
{
	struct relay *r = container_of(w, struct relay, conn_work);
	struct log_limit *prev = log_limit_enter(&r->loglim);

	if (r->listen_more && r->listen_fd >= 0)
		relay_listen_pass(r);
	if (r->conn_more && r->conn_fd >= 0)
		relay_conn_pass(r);
	log_limit_leave(prev);
}

static void relay_connect(struct relay *r)
{
	int fd = vhost_user_sock_connect(r->cfg.socket);

	if (fd < 0) {
		/* Say it once per outage, not once per retry. */
		if (!r->wait_logged)
			pr_notice("%s: waiting for QEMU to listen on %s (%s%s)", r->cfg.name,
				  r->cfg.socket, strerror(-fd), vhost_user_sock_connect_hint(fd));
		r->wait_logged = true;
		relay_reconnect_later(r);
		return;
	}
	/* The backoff goes on: only a connection that runs rings resets it
	 * (one that is accepted and hung up on must not make us spin).
	 */
	relay_attach(r, fd);
}

static void relay_on_timer(struct uloop_src *s, int res)
{
	struct relay *r = container_of(s, struct relay, timer_src);
	struct log_limit *prev = log_limit_enter(&r->loglim);

	if (res <= 0 || r->conn_closing)
		goto out;
	if (r->retry_ns && mono_ns() >= r->retry_ns) {
		r->retry_ns = 0;
		if (!r->cfg.client)
			relay_listen_resume(r);
		else if (r->conn_fd < 0)
			relay_connect(r);
	}
	if (r->conn_fd >= 0 && r->msg_deadline_ns &&
	    mono_ns() >= r->msg_deadline_ns) {
		/* What arrived meanwhile counts: read it before judging. */
		if (!r->conn_more)
			relay_conn_pass(r);
		if (r->conn_fd >= 0 && r->msg_deadline_ns &&
		    mono_ns() >= r->msg_deadline_ns)
			relay_drop(r, -ETIMEDOUT);
	}
	relay_timer_arm(r);
out:
	log_limit_leave(prev);
}

static void relay_reconnect_later(struct relay *r)
{
	r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : RECONNECT_MIN_MS;
	if (r->backoff_ms > RECONNECT_MAX_MS)
		r->backoff_ms = RECONNECT_MAX_MS;
	relay_retry_in(r, r->backoff_ms);
}

/* Server mode listens; client mode connects now and keeps retrying. Both
 * have a timer: the reconnect backoff, the deadline of a message.
 */
int relay_conn_open(struct relay *r)
{
	const struct relay_cfg *cfg = &r->cfg;
	int err;

	r->conn_work.fn = relay_on_conn_work;
	if (cfg->client) {
		err = vhost_user_sock_check_dir(cfg->socket);
		if (err)
			return err;
	}
	r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (r->timer_fd < 0) {
		err = -errno;
		pr_err("%s: timerfd: %s", cfg->name, strerror(errno));
		return err;
	}
	err = uloop_add_read(r->loop, &r->timer_src, r->timer_fd, NULL, 0,
			     relay_on_timer);
	if (err)
		goto err_timer;
	if (cfg->client) {
		relay_connect(r);
		return 0;
	}
	r->listen_fd = vhost_user_sock_listen(cfg->socket, cfg->owner,
					      cfg->group, cfg->perm);
	if (r->listen_fd < 0) {
		err = r->listen_fd;
		goto err_timer;
	}
	err = uloop_add_poll(r->loop, &r->listen_src, r->listen_fd, POLLIN,
			     relay_on_listen);
	if (err) {
		close(r->listen_fd);
		unlink(cfg->socket);
		r->listen_fd = -1;
		goto err_timer;
	}
	return 0;

err_timer:
	uloop_del(r->loop, &r->timer_src);
	close(r->timer_fd);
	r->timer_fd = -1;
	return err;
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
	r->listen_more = false;
}

void relay_conn_close(struct relay *r)
{
	r->conn_closing = true;
	relay_close_frontend(r);
	if (r->conn_fd >= 0)
		relay_disconnect(r);
	/* Nothing may go on with this connection, nor with freed memory. */
	uloop_undefer(r->loop, &r->conn_work);
	log_limit_flush(&r->loglim, true);
}
