// SPDX-License-Identifier: GPL-2.0
/* vxdp-hostile's control-plane attacks: what a frontend can do with the
 * vhost-user connection alone (timing, floods, unread replies, connection
 * storms) and, against a client-mode relay, with the socket it listens on.
 * Each attack says what it found in one "attack=NAME ..." line.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "hostile.h"

#define DRIP_GAP_MS	900	/* one byte this often */
#define DROP_WAIT_MS	3000	/* a bad connection must be gone by then */
#define BURST_CONNS	8	/* connections per burst, within the relay's backlog */
#define BURST_ROUNDS	12
#define BURST_LOST_MS	1000	/* no answer by then: stranded */
#define REFUSED_MS	100	/* closed this soon: refused, not dropped */
#define SILENT_WAIT_MS	6000	/* a silent peer must be dropped by then */

static double dur(const struct hostile_opts *o, double def)
{
	return o->duration > 0 ? o->duration : def;
}

/* A well-behaved frontend afterwards: rings up, then a round trip. */
static bool check_good(const struct hostile_opts *o, const char *attack)
{
	struct fe_dev d;
	uint64_t t0 = now_ns();
	int err = fe_dev_open(&d, o->target, NULL, 2000);

	if (!err)
		fe_dev_close(&d);
	hostile_report("attack=%s good_after=%d good_ms=%.1f%s%s", attack, !err,
		       ms_since(t0), err ? " error=" : "", err ? strerror(-err) : "");
	return !err;
}

static void set_features_msg(uint8_t *buf)
{
	struct vhost_user_hdr h = {
		VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, sizeof(uint64_t)
	};

	memcpy(buf, &h, sizeof(h));
	memset(buf + sizeof(h), 0, sizeof(uint64_t));
}

/* Baseline: the probes alone. */
static int a_idle(const struct hostile_opts *o)
{
	sleep_ms(dur(o, 1) * 1000);
	hostile_report("attack=idle");
	return 0;
}

/* One byte of a message every 900 ms: the message as a whole is late long
 * before it could be complete (20 bytes: 18 s).
 */
static int a_drip(const struct hostile_opts *o)
{
	uint8_t msg[VHOST_USER_HDR_SIZE + sizeof(uint64_t)];
	double limit = dur(o, 4) * 1000, dropped_ms = -1;
	unsigned int i, sent = 0;
	uint64_t t0;
	int fd;

	fd = fe_connect_served(o->target, 2000);
	if (fd < 0) {
		hostile_log("drip: no connection: %s", strerror(-fd));
		return 2;
	}
	set_features_msg(msg);
	t0 = now_ns();
	for (i = 0; i < sizeof(msg) && ms_since(t0) < limit; i++) {
		if (fe_send_raw(fd, msg + i, 1, NULL, 0) != 1 ||
		    fe_closed(fd, DRIP_GAP_MS)) {
			dropped_ms = ms_since(t0);
			break;
		}
		sent++;
	}
	close(fd);
	hostile_report("attack=drip cycles=1 kept=%d worst_drop_ms=%.0f bytes_sent=%u",
		       dropped_ms < 0, dropped_ms, sent);
	return (dropped_ms >= 0) & check_good(o, "drip") ? 0 : 1;
}

/* Messages that need no reply, as fast as the socket takes them; the
 * relay must keep serving its neighbours, then still answer us.
 */
static int a_flood(const struct hostile_opts *o)
{
	static uint8_t buf[200 * (VHOST_USER_HDR_SIZE + 8)];
	const size_t one = VHOST_USER_HDR_SIZE + 8;
	struct vhost_user_hdr h = {
		VHOST_USER_SET_VRING_ENABLE, VHOST_USER_VERSION,
		sizeof(struct vhost_user_vring_state)
	};
	struct vhost_user_vring_state s = { 0, 0 };
	double limit = dur(o, 2) * 1000;
	uint64_t t0, sent = 0, f;
	size_t off = 0, i;
	bool dropped = false;
	int fd, err;

	for (i = 0; i < sizeof(buf); i += one) {
		memcpy(buf + i, &h, sizeof(h));
		memcpy(buf + i + sizeof(h), &s, sizeof(s));
	}
	fd = fe_connect_served(o->target, 2000);
	if (fd < 0)
		return 2;
	t0 = now_ns();
	/* Stop only at a message boundary, so the stream stays framed. */
	while (ms_since(t0) < limit || off % one) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t n = fe_send_raw(fd, buf + off, sizeof(buf) - off, NULL, 0);

		if (n > 0) {
			sent += n;
			off = (off + n) % sizeof(buf);
			continue;
		}
		if (n != -EAGAIN) {
			dropped = true;
			break;
		}
		poll(&p, 1, 10);
	}
	err = dropped ? -ECONNRESET :
	      fe_get_u64(fd, VHOST_USER_GET_FEATURES, &f, 10000);
	hostile_report("attack=flood messages=%llu secs=%.1f served_after=%d",
		       (unsigned long long)(sent / one), ms_since(t0) / 1000, !err);
	close(fd);
	return !err & check_good(o, "flood") ? 0 : 1;
}

/* Requests whose replies we never read until the relay drops us (its
 * socket buffer full): the time that took, or -1 if it never did.
 */
static double noread_once(int fd, unsigned int *sent)
{
	struct vhost_user_hdr h = { VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, 0 };
	uint64_t t0 = now_ns();

	while (ms_since(t0) < DROP_WAIT_MS) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t n = fe_send_raw(fd, &h, sizeof(h), NULL, 0);

		if (n == sizeof(h)) {
			(*sent)++;
			continue;
		}
		if (n >= 0 || n != -EAGAIN)
			return ms_since(t0);
		/* Our requests queue up unread by a relay that gave up on
		 * us: the hang-up says so.
		 */
		if (poll(&p, 1, 10) == 1 && (p.revents & (POLLHUP | POLLERR)))
			return ms_since(t0);
	}
	return -1;
}

/* The relay must drop a frontend that does not read, rather than wait;
 * again and again for --duration (1 s).
 */
static int a_noread(const struct hostile_opts *o)
{
	double limit = dur(o, 1) * 1000, worst = 0;
	unsigned int sent = 0, n = 0, kept = 0;
	uint64_t t0 = now_ns();

	do {
		int fd = fe_connect_served(o->target, 2000);
		double ms;

		if (fd < 0)
			return 2;
		ms = noread_once(fd, &sent);
		close(fd);
		if (ms < 0)
			kept++;
		else if (ms > worst)
			worst = ms;
		n++;
	} while (ms_since(t0) < limit);
	hostile_report("attack=noread cycles=%u dropped=%d kept=%u worst_drop_ms=%.0f requests=%u",
		       n, !kept, kept, worst, sent);
	return !kept & check_good(o, "noread") ? 0 : 1;
}

/* Half a header, wait to be dropped, reconnect, again. */
static int a_halfhdr(const struct hostile_opts *o)
{
	uint8_t msg[VHOST_USER_HDR_SIZE + 8];
	double limit = dur(o, 3) * 1000, worst = 0;
	unsigned int n = 0, kept = 0;
	uint64_t t0 = now_ns();

	set_features_msg(msg);
	while (ms_since(t0) < limit && (!o->cycles || n < o->cycles)) {
		int fd = fe_connect_served(o->target, 2000);
		uint64_t t1;

		if (fd < 0)
			return 2;
		t1 = now_ns();
		fe_send_raw(fd, msg, VHOST_USER_HDR_SIZE / 2, NULL, 0);
		if (!fe_closed(fd, DROP_WAIT_MS))
			kept++;
		if (ms_since(t1) > worst)
			worst = ms_since(t1);
		close(fd);
		n++;
	}
	hostile_report("attack=halfhdr cycles=%u kept=%u worst_drop_ms=%.0f", n,
		       kept, worst);
	return !kept & check_good(o, "halfhdr") ? 0 : 1;
}

/* Connect and say nothing: the relay must drop us by its first-message
 * deadline, not hold its one connection for ever. (A connection closed at
 * once was refused: the previous frontend still going; try again.)
 */
static int a_silent(const struct hostile_opts *o)
{
	double ms = -1;
	unsigned int tries = 0;
	uint64_t t0;
	int fd;

	do {
		fd = fe_connect_wait(o->target, 2000);
		if (fd < 0)
			return 2;
		t0 = now_ns();
		ms = fe_closed(fd, SILENT_WAIT_MS) ? ms_since(t0) : -1;
		close(fd);
	} while (ms >= 0 && ms < REFUSED_MS && ++tries < 50);
	hostile_report("attack=silent dropped=%d drop_ms=%.0f", ms >= 0, ms);
	return (ms >= 0) & check_good(o, "silent") ? 0 : 1;
}

/* ---- running out of fds ---- */

/* The lowest fd number @pid has free: what its next fd would get. */
static int lowest_free_fd(int pid)
{
	static unsigned char used[65536];
	char path[64];
	struct dirent *e;
	DIR *dir;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	memset(used, 0, sizeof(used));
	while ((e = readdir(dir))) {
		i = atoi(e->d_name);
		if (e->d_name[0] != '.' && i >= 0 && i < (int)sizeof(used))
			used[i] = 1;
	}
	closedir(dir);
	for (i = 0; i < (int)sizeof(used) && used[i]; i++)
		;
	return i;
}

/* The daemon out of fds (its soft RLIMIT_NOFILE lowered to its lowest free
 * fd) while a frontend connects to A: accept() fails with EMFILE and the
 * connection stays in the backlog. The daemon must not spin on it (CPU
 * over --duration, 1 s), and must serve the frontend once fds are back.
 */
static int a_emfile(const struct hostile_opts *o)
{
	struct vhost_user_hdr h = { VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, 0 };
	double limit = dur(o, 1) * 1000, served_ms = -1;
	struct rlimit old, low;
	struct vhost_user_msg m;
	long t0, t1, cpu = -1;
	uint64_t t2;
	int fd, lowfd;

	/* A free of frontends first: ours must be accepted, not refused. */
	fd = fe_connect_served(o->target, 2000);
	if (fd < 0 || !o->daemon_pid)
		return 2;
	close(fd);
	sleep_ms(20);
	lowfd = lowest_free_fd(o->daemon_pid);
	if (lowfd < 0 || prlimit(o->daemon_pid, RLIMIT_NOFILE, NULL, &old))
		return 2;
	low = old;
	low.rlim_cur = lowfd;
	if (prlimit(o->daemon_pid, RLIMIT_NOFILE, &low, NULL))
		return 2;
	fd = fe_connect(o->target);
	if (fd >= 0)
		fe_send_raw(fd, &h, sizeof(h), NULL, 0);
	t0 = hostile_daemon_ticks(o);
	sleep_ms(limit);
	t1 = hostile_daemon_ticks(o);
	if (t0 >= 0 && t1 >= 0)
		cpu = (t1 - t0) * 100 * 1000 / (sysconf(_SC_CLK_TCK) * limit);
	prlimit(o->daemon_pid, RLIMIT_NOFILE, &old, NULL);
	t2 = now_ns();
	if (fd >= 0 && !fe_recv(fd, &m, 2000) && m.hdr.request == h.request)
		served_ms = ms_since(t2);
	if (fd >= 0)
		close(fd);
	hostile_report("attack=emfile cpu_pct=%ld served=%d served_ms=%.0f fd_limit=%d",
		       cpu, served_ms >= 0, served_ms, lowfd);
	return served_ms >= 0 && cpu >= 0 && cpu < 20 ? 0 : 1;
}

/* ---- connection bursts ---- */

struct burst_stats {
	unsigned int conns, accepted, refused, stranded, backlog_full;
	unsigned int rounds_bad;	/* more than one accepted, or one while held */
	double worst_ms;	/* net of run-queue time, as the probes' */
	double worst_raw_ms;
};

/* @k connections at once, each sending GET_FEATURES; each must be answered
 * (accepted) or closed (refused). Returns the accepted one's fd or -1.
 * @mid_close: an fd to close once every connection is on its way.
 */
static int burst(const char *path, unsigned int k, int mid_close,
		 struct burst_stats *st, unsigned int *accepted)
{
	struct vhost_user_hdr h = { VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, 0 };
	int fds[BURST_CONNS], won = -1;
	bool done[BURST_CONNS] = { 0 };
	uint64_t t0[BURST_CONNS], q0[BURST_CONNS];
	unsigned int i, left = 0;

	*accepted = 0;
	for (i = 0; i < k; i++) {
		q0[i] = hostile_runq_ns();
		t0[i] = now_ns();
		fds[i] = fe_connect(path);
		st->conns++;
		if (fds[i] < 0) {
			if (fds[i] == -EAGAIN)
				st->backlog_full++;
			else
				st->stranded++;
			done[i] = true;
			continue;
		}
		fe_send_raw(fds[i], &h, sizeof(h), NULL, 0);
		left++;
	}
	if (mid_close >= 0)
		close(mid_close);
	while (left) {
		struct pollfd p[BURST_CONNS];
		unsigned int np = 0, map[BURST_CONNS];

		for (i = 0; i < k; i++) {
			if (done[i])
				continue;
			if (ms_since(t0[i]) > BURST_LOST_MS) {
				st->stranded++;
				done[i] = true;
				close(fds[i]);
				left--;
				continue;
			}
			p[np] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
			map[np++] = i;
		}
		if (!np || poll(p, np, 10) <= 0)
			continue;
		for (i = 0; i < np; i++) {
			unsigned int c = map[i];
			struct vhost_user_msg m;
			double ms;

			if (!p[i].revents)
				continue;
			ms = ms_since(t0[c]);
			if (ms > st->worst_raw_ms)
				st->worst_raw_ms = ms;
			ms -= (hostile_runq_ns() - q0[c]) / 1e6;
			if (ms > st->worst_ms)
				st->worst_ms = ms;
			done[c] = true;
			left--;
			if (!fe_recv(fds[c], &m, 100) && m.hdr.request == h.request) {
				(*accepted)++;
				st->accepted++;
				if (won >= 0)
					close(won);
				won = fds[c];
				continue;
			}
			st->refused++;
			close(fds[c]);
		}
	}
	return won;
}

/* Bursts of connections while one frontend is served, right after it
 * left, and while it leaves: every one accepted or refused at once.
 */
static int a_burst(const struct hostile_opts *o)
{
	unsigned int rounds = o->cycles ? o->cycles : BURST_ROUNDS, r, acc;
	double limit = dur(o, 0.5) * 1000;
	struct burst_stats st = { 0 };
	unsigned long majflt = hostile_majflt(o);
	uint64_t t0 = now_ns();
	int holder, won;
	bool good;

	holder = fe_connect_served(o->target, 2000);
	if (holder < 0)
		return 2;
	/* --cycles rounds, for --duration (0.5 s) at least. */
	for (r = 0; r < rounds || ms_since(t0) < limit; r++) {
		if (r)
			sleep_ms(5);
		switch (r % 3) {
		case 0:		/* one is served: all refused */
			won = burst(o->target, BURST_CONNS, -1, &st, &acc);
			if (acc)
				st.rounds_bad++;
			break;
		case 1:		/* it just left: at most one served */
			close(holder);
			holder = -1;
			won = burst(o->target, BURST_CONNS, -1, &st, &acc);
			break;
		default:	/* it leaves mid-burst */
			won = burst(o->target, BURST_CONNS, holder, &st, &acc);
			holder = -1;
			break;
		}
		if (acc > 1)
			st.rounds_bad++;
		if (won >= 0) {
			if (holder >= 0)
				close(holder);
			holder = won;
		}
		if (holder < 0)
			holder = fe_connect_served(o->target, 2000);
		if (holder < 0) {
			/* The relay serves nobody any more: stranded. */
			st.stranded++;
			r++;
			break;
		}
	}
	if (holder >= 0)
		close(holder);
	good = check_good(o, "burst");
	majflt = hostile_majflt(o) - majflt;
	hostile_report("attack=burst rounds=%u conns=%u accepted=%u refused=%u stranded=%u backlog_full=%u bad_rounds=%u worst_ms=%.2f worst_raw_ms=%.2f majflt=%lu",
		       r, st.conns, st.accepted, st.refused, st.stranded,
		       st.backlog_full, st.rounds_bad, st.worst_ms, st.worst_raw_ms,
		       majflt);
	return !st.stranded && !st.backlog_full && !st.rounds_bad &&
	       st.worst_ms <= o->max_wait_ms && good ? 0 : 1;
}

/* ---- abuse cycles: each one a served connection ended badly ---- */

static int cycle_once(const struct hostile_opts *o, unsigned int kind)
{
	struct vhost_user_hdr h = { VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, 8 };
	struct fe_dev d;
	int fd, err = 0, i;

	if (kind == 2) {
		/* Memory mapped, rings running, eventfds held: then gone. */
		err = fe_dev_open(&d, o->target, NULL, 2000);
		fe_dev_close(&d);
		return err;
	}
	fd = fe_connect_served(o->target, 2000);
	if (fd < 0)
		return fd;
	switch (kind) {
	case 0:		/* half a header, hang up */
		fe_send_raw(fd, &h, VHOST_USER_HDR_SIZE / 2, NULL, 0);
		break;
	case 1:		/* a payload too big: the relay must drop us */
		h.size = VHOST_USER_PAYLOAD_MAX + 1;
		fe_send_raw(fd, &h, sizeof(h), NULL, 0);
		if (!fe_closed(fd, DROP_WAIT_MS))
			err = -EPROTO;
		break;
	default:	/* requests, hang up on the replies: a reset */
		h.request = VHOST_USER_GET_FEATURES;
		h.size = 0;
		for (i = 0; i < 3; i++)
			fe_send_raw(fd, &h, sizeof(h), NULL, 0);
		break;
	}
	close(fd);
	return err;
}

static int a_cycles(const struct hostile_opts *o)
{
	unsigned int n = o->cycles ? o->cycles : 1000, i, failed = 0;
	uint64_t t0 = now_ns();
	int err = 0;

	for (i = 0; i < n; i++) {
		int e = cycle_once(o, i % 4);

		if (e) {
			failed++;
			if (!err)
				err = e;
		}
	}
	hostile_report("attack=cycles cycles=%u failed=%u secs=%.1f%s%s", n, failed,
		       ms_since(t0) / 1000, err ? " error=" : "",
		       err ? strerror(-err) : "");
	return !failed & check_good(o, "cycles") ? 0 : 1;
}

/* ---- client mode: we are the listener the relay connects to ---- */

/* The relay must reach a good listener at the target (@lfd, or a new one)
 * within --reach ms, and run a device handshake with us there.
 */
static int reach_next(const struct hostile_opts *o, const char *attack, int lfd)
{
	uint64_t t0 = now_ns();
	struct fe_dev d;
	int fd, err;

	if (lfd < 0)
		lfd = fe_listen(o->target);
	if (lfd < 0)
		return 2;
	fd = fe_accept(lfd, o->reach_ms);
	err = fd < 0 ? fd : fe_dev_start(&d, fd, NULL, 2000);
	hostile_report("attack=%s reached=%d reached_ms=%.0f%s%s", attack, !err,
		       ms_since(t0), err ? " error=" : "", err ? strerror(-err) : "");
	if (fd >= 0)
		fe_dev_close(&d);
	close(lfd);
	unlink(o->target);
	return err ? 1 : 0;
}

/* Accept and hang up at once, again and again: the relay must back off,
 * not reconnect in a tight loop.
 */
static int a_accept_close(const struct hostile_opts *o)
{
	double limit = dur(o, 2) * 1000;
	unsigned int n = 0, max = 4 + limit / 250;
	int lfd = fe_listen(o->target), fd;
	uint64_t t0;

	if (lfd < 0)
		return 2;
	/* The first connect comes within the relay's backoff cap. */
	fd = fe_accept(lfd, o->reach_ms);
	if (fd < 0) {
		hostile_report("attack=accept-close reached=0");
		close(lfd);
		return 1;
	}
	close(fd);
	t0 = now_ns();
	while (ms_since(t0) < limit) {
		fd = fe_accept(lfd, 10);
		if (fd >= 0) {
			close(fd);
			n++;
		}
	}
	hostile_report("attack=accept-close accepts=%u secs=%.1f max=%u", n,
		       limit / 1000, max);
	return (n <= max) & !reach_next(o, "accept-close", lfd) ? 0 : 1;
}

/* The libvirt destroy order, reproduced: the listener takes the relay's
 * connection and closes it, keeps listening for 0.5 s without accepting
 * (the relay's reconnect waits in its backlog), then goes. The relay must
 * reach the next listener.
 */
static int a_linger(const struct hostile_opts *o)
{
	int lfd = fe_listen(o->target), fd;

	if (lfd < 0)
		return 2;
	fd = fe_accept(lfd, o->reach_ms);
	if (fd < 0) {
		hostile_report("attack=linger reached=0");
		close(lfd);
		return 1;
	}
	close(fd);
	sleep_ms(dur(o, 0.5) * 1000);	/* the exiting QEMU's last moments */
	close(lfd);
	unlink(o->target);
	return reach_next(o, "linger", -1);
}

/* A listener that resets the connection: a request whose reply it never
 * reads, then a hang-up. It goes on listening.
 */
static int a_reset(const struct hostile_opts *o)
{
	struct vhost_user_hdr h = { VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, 0 };
	int lfd = fe_listen(o->target), fd;
	struct pollfd p;

	if (lfd < 0)
		return 2;
	fd = fe_accept(lfd, o->reach_ms);
	if (fd < 0) {
		hostile_report("attack=reset reached=0");
		close(lfd);
		return 1;
	}
	fe_send_raw(fd, &h, sizeof(h), NULL, 0);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	poll(&p, 1, 1000);	/* the reply is there, unread */
	close(fd);
	return reach_next(o, "reset", lfd);
}

/* A listener that never accepts: the relay's connection sits in its
 * backlog until it closes (a reset for the relay).
 */
static int a_never_accept(const struct hostile_opts *o)
{
	int lfd = fe_listen(o->target);

	if (lfd < 0)
		return 2;
	sleep_ms(dur(o, 2.5) * 1000);	/* the relay connects within its backoff cap */
	close(lfd);
	unlink(o->target);
	return reach_next(o, "never-accept", -1);
}

/* A listener that accepts the relay and never speaks: the relay must give
 * up on it by its first-message deadline, and reach the next listener.
 */
static int a_silent_listener(const struct hostile_opts *o)
{
	int lfd = fe_listen(o->target), fd;
	double ms = -1;
	uint64_t t0;

	if (lfd < 0)
		return 2;
	fd = fe_accept(lfd, o->reach_ms);
	if (fd >= 0) {
		t0 = now_ns();
		if (fe_closed(fd, SILENT_WAIT_MS))
			ms = ms_since(t0);
		close(fd);
	}
	close(lfd);
	unlink(o->target);
	hostile_report("attack=silent-listener accepted=%d dropped=%d drop_ms=%.0f",
		       fd >= 0, ms >= 0, ms);
	return ms >= 0 && !reach_next(o, "silent-listener", -1) ? 0 : 1;
}

/* A good listener only (client mode), e.g. after QEMU went. */
static int a_listen(const struct hostile_opts *o)
{
	return reach_next(o, "listen", -1);
}

static int a_good(const struct hostile_opts *o)
{
	return check_good(o, "good") ? 0 : 1;
}

/* Not an attack: NET_SET_MTU as QEMU sends it for host_mtu= (--cycles:
 * the MTU, 1500), after the features. Whether the relay should refuse it
 * is for the test to judge: it reports what the relay said.
 */
static int a_set_mtu(const struct hostile_opts *o)
{
	struct fe_cfg cfg = {
		.features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_MTU),
		.protocol = (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
			    (1ull << VHOST_USER_PROTOCOL_F_NET_MTU),
	};
	uint64_t mtu = o->cycles ? o->cycles : 1500;
	struct fe_dev d;
	int sock, err;

	sock = fe_connect_served(o->target, 2000);
	if (sock < 0) {
		hostile_log("set-mtu: connecting: %s", strerror(-sock));
		return 2;
	}
	err = fe_dev_hello(&d, sock, &cfg, 2000);
	if (!err && !(d.protocol & (1ull << VHOST_USER_PROTOCOL_F_NET_MTU)))
		err = -EOPNOTSUPP;
	if (!err)
		err = fe_dev_req(&d, VHOST_USER_SET_FEATURES, &d.features,
				 sizeof(d.features), NULL, 0);
	if (!err)
		err = fe_dev_req(&d, VHOST_USER_NET_SET_MTU, &mtu, sizeof(mtu), NULL, 0);
	fe_dev_close(&d);
	if (err < 0) {
		hostile_log("set-mtu: %s", strerror(-err));
		return 2;
	}
	hostile_report("attack=set-mtu mtu=%llu refused=%d", (unsigned long long)mtu, err);
	return 0;
}

const struct hostile_attack conn_attacks[] = {
	{ "idle", "nothing: the probes alone (--duration, 1 s)", a_idle },
	{ "good", "a well-behaved frontend: rings up, a round trip", a_good },
	{ "drip", "one byte of a message every 900 ms", a_drip },
	{ "flood", "no-reply messages as fast as they go (--duration, 2 s)", a_flood },
	{ "noread", "requests whose replies are never read, until dropped (--duration, 1 s)", a_noread },
	{ "halfhdr", "half a header, wait to be dropped, reconnect (--duration, 3 s)", a_halfhdr },
	{ "burst", "bursts of connections around a served one (--cycles rounds, --duration)", a_burst },
	{ "cycles", "abuse cycles: half header, oversize, rings then gone, reset (--cycles, 1000)", a_cycles },
	{ "silent", "connect and say nothing, until dropped", a_silent },
	{ "emfile", "the daemon out of fds while a frontend connects (--daemon-pid; --duration, 1 s)", a_emfile },
	{ "listen", "client mode: a good listener the relay must reach (--reach)", a_listen },
	{ "accept-close", "client mode: accept and hang up at once (--duration, 2 s)", a_accept_close },
	{ "linger", "client mode: accept, hang up, listen 0.5 s without accepting, go", a_linger },
	{ "reset", "client mode: reset the connection (reply left unread)", a_reset },
	{ "never-accept", "client mode: listen, never accept, go (--duration, 2.5 s)", a_never_accept },
	{ "silent-listener", "client mode: accept the relay, never speak, until dropped", a_silent_listener },
	{ "set-mtu", "not an attack: NET_SET_MTU of --cycles bytes (1500), as QEMU's host_mtu=; refused or not", a_set_mtu },
	{ 0 },
};
