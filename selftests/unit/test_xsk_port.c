// SPDX-License-Identifier: GPL-2.0
/* xdp_steer + xsk_port on a veth pair between two private network namespaces:
 * MAC steering, counters, rx/tx byte for byte, tx bursts, error paths, detach,
 * and jumbo frames over AF_XDP multi-buffer (and without it).
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ktap.h"
#include "vxdp_shared.h"
#include "xdp/xdp_steer.h"
#include "xdp/xsk_port.h"

#define NR_TESTS	63
#define TEST_ETHERTYPE	0x88b5		/* IEEE local experimental */
#define FRAME_LEN	100
#define BURST		200		/* > copy mode's 32 per sendto() */
#define TIMEOUT_MS	2000
#define POOL_MAX	8192
#define JUMBO_MTU	9000
#define JUMBO_LEN	(JUMBO_MTU + 14)	/* a full-size jumbo frame */
#define BIG_BUF		16384

static const uint8_t vm_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x0c, 0x01 };
static const uint8_t other_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x0c, 0x02 };
static const uint8_t b_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x0b, 0x01 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static pid_t owner;
static char ns_a[32], ns_b[32];
static char if_a[IF_NAMESIZE], if_b[IF_NAMESIZE], if_br[IF_NAMESIZE];
static char relay1[32], relay2[32], relay_crash[32];
static int orig_ns = -1, fd_ns_a = -1, fd_ns_b = -1;

static __attribute__((format(printf, 1, 2))) int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc == -1 || !WIFEXITED(rc))
		return -1;
	return WEXITSTATUS(rc);
}

static void unpin_relay(const char *relay)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s/xsks", VXDP_PIN_ROOT, relay);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s/stats", VXDP_PIN_ROOT, relay);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", VXDP_PIN_ROOT, relay);
	rmdir(path);
}

/* Runs on every exit path, pass or fail. Deleting the namespaces takes the
 * veths and their XDP programs with them once our own fds are gone.
 */
static void cleanup(void)
{
	if (getpid() != owner)
		return;
	if (orig_ns >= 0)
		setns(orig_ns, CLONE_NEWNET);
	run("ip netns del %s 2>/dev/null", ns_a);
	run("ip netns del %s 2>/dev/null", ns_b);
	unpin_relay(relay1);
	unpin_relay(relay2);
	unpin_relay(relay_crash);
}

static bool have_caps(void)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	/* NET_ADMIN (12) for links and XDP, SYS_ADMIN (21) for setns and
	 * bpffs; BPF (39) or SYS_ADMIN for loading programs.
	 */
	return (eff >> 12 & 1) && (eff >> 21 & 1);
}

/* The test registers two 8 MiB umems (one of them briefly); the kernel
 * frees a umem's accounting asynchronously, so without CAP_IPC_LOCK it
 * needs room for both.
 */
static bool can_lock_umems(void)
{
	unsigned long long eff = 0;
	struct rlimit rl;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	if (eff >> 14 & 1)	/* CAP_IPC_LOCK: no memlock accounting */
		return true;
	return !getrlimit(RLIMIT_MEMLOCK, &rl) &&
	       (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= 32ull << 20);
}

static int enter_ns(int fd)
{
	return setns(fd, CLONE_NEWNET);
}

static int open_ns(const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	rc = write(fd, val, strlen(val)) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* IPv6 would send router solicitations and MLD reports (multicast, so
 * steered to the XSK) and spoil the exact counts.
 */
static int quiet_ns(int fd)
{
	if (enter_ns(fd))
		return -errno;
	if (write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1") ||
	    write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1"))
		return -1;
	return enter_ns(orig_ns);
}

static int setup(void)
{
	pid_t pid = getpid();

	snprintf(ns_a, sizeof(ns_a), "vxdpt-%d-a", pid);
	snprintf(ns_b, sizeof(ns_b), "vxdpt-%d-b", pid);
	snprintf(if_a, sizeof(if_a), "vxa%d", pid);
	snprintf(if_b, sizeof(if_b), "vxb%d", pid);
	snprintf(if_br, sizeof(if_br), "vxbr%d", pid);
	snprintf(relay1, sizeof(relay1), "vxdpt-%d-r1", pid);
	snprintf(relay2, sizeof(relay2), "vxdpt-%d-r2", pid);
	snprintf(relay_crash, sizeof(relay_crash), "vxdpt-%d-crash", pid);

	orig_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (orig_ns < 0)
		return -1;
	if (run("ip netns add %s", ns_a) || run("ip netns add %s", ns_b))
		return -1;
	fd_ns_a = open_ns(ns_a);
	fd_ns_b = open_ns(ns_b);
	if (fd_ns_a < 0 || fd_ns_b < 0 || quiet_ns(fd_ns_a) || quiet_ns(fd_ns_b))
		return -1;
	if (run("ip link add %s netns %s type veth peer name %s netns %s",
		if_a, ns_a, if_b, ns_b) ||
	    run("ip -n %s link set %s address 02:00:00:00:0a:01 up", ns_a, if_a) ||
	    run("ip -n %s link set %s address 02:00:00:00:0b:01 up", ns_b, if_b) ||
	    run("ip -n %s link add %s type bridge", ns_a, if_br))
		return -1;
	return 0;
}

/* A raw socket on the peer end. Qdisc bypass: the frame goes straight to
 * veth_xmit, so there is no window right after "link up" where the default
 * qdisc is not yet activated and would drop it.
 */
static int peer_socket(void)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
	};
	int one = 1, rcvbuf = 4 << 20, fd;

	if (enter_ns(fd_ns_b))
		return -1;
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	sll.sll_ifindex = if_nametoindex(if_b);
	if (fd < 0 || !sll.sll_ifindex ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf))) {
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if (enter_ns(fd_ns_a))
		return -1;
	return fd;
}

static void make_frame(uint8_t *f, const uint8_t dst[6], const uint8_t src[6],
		       uint32_t seq)
{
	unsigned int i;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = TEST_ETHERTYPE >> 8;
	f[13] = TEST_ETHERTYPE & 0xff;
	memcpy(f + 14, &seq, sizeof(seq));
	for (i = 18; i < FRAME_LEN; i++)
		f[i] = (uint8_t)(seq * 7 + i);
}

static uint32_t frame_seq(const uint8_t *f)
{
	uint32_t seq;

	memcpy(&seq, f + 14, sizeof(seq));
	return seq;
}

static bool is_test_frame(const uint8_t *f, size_t len)
{
	return len >= 18 && f[12] == TEST_ETHERTYPE >> 8 && f[13] == (TEST_ETHERTYPE & 0xff);
}

static int ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (int)ms : 0;
}

static void deadline_in(struct timespec *d, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += ms / 1000;
	d->tv_nsec += (long)(ms % 1000) * 1000000;
	if (d->tv_nsec >= 1000000000) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000;
	}
}

static int peer_send(int fd, const uint8_t *f, size_t len)
{
	return send(fd, f, len, 0) == (ssize_t)len ? 0 : -1;
}

/* Next test frame at the peer, waiting with poll() up to the deadline. */
static int peer_recv_cap(int fd, uint8_t *buf, size_t cap, size_t *len,
			 const struct timespec *deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, cap, MSG_DONTWAIT);
		if (n > 0 && is_test_frame(buf, n)) {
			*len = n;
			return 0;
		}
		if (n > 0)
			continue;
		if (errno != EAGAIN || !ms_left(deadline) ||
		    poll(&pfd, 1, ms_left(deadline)) <= 0)
			return -1;
	}
}

static int peer_recv(int fd, uint8_t *buf, size_t *len, const struct timespec *deadline)
{
	return peer_recv_cap(fd, buf, 2048, len, deadline);
}

/* Next frame on the XSK, copied out and released. */
static int xsk_recv(struct xsk_port *p, uint8_t *buf, size_t *len,
		    const struct timespec *deadline)
{
	struct pollfd pfd = { .fd = xsk_port_fd(p), .events = POLLIN };
	struct xsk_pkt pkt;

	for (;;) {
		if (xsk_port_rx_peek(p, &pkt, 1) == 1) {
			*len = pkt.len;
			memcpy(buf, pkt.data, pkt.len < 2048 ? pkt.len : 2048);
			xsk_port_rx_release(p, 1, 1);
			return 0;
		}
		if (!ms_left(deadline) || poll(&pfd, 1, ms_left(deadline)) <= 0)
			return -1;
	}
}

/* Exactly @want frames on the rx ring, left there (peeked, not consumed). */
static unsigned int xsk_wait_n(struct xsk_port *p, struct xsk_pkt *pkts,
			       unsigned int want, const struct timespec *deadline)
{
	unsigned int n;

	for (;;) {
		n = xsk_port_rx_peek(p, pkts, want);
		if (n == want || !ms_left(deadline))
			return n;
		xsk_port_rx_release(p, 0, n);
		poll(&(struct pollfd){ .fd = xsk_port_fd(p), .events = POLLIN }, 1, 1);
	}
}

static __u32 xdp_prog_on(const char *ifname, __u32 mode_flags)
{
	__u32 id = 0;
	int ifindex = if_nametoindex(ifname);

	if (!ifindex || bpf_xdp_query_id(ifindex, mode_flags, &id))
		return 0;
	return id;
}

static bool pin_dir_exists(const char *relay)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", VXDP_PIN_ROOT, relay);
	return stat(path, &st) == 0;
}

static void test_steering(struct xdp_steer *s, struct xsk_port *p, int peer)
{
	uint8_t f1[FRAME_LEN], f2[FRAME_LEN], f3[FRAME_LEN], buf[2048];
	struct xdp_steer_stats st = {};
	struct timespec dl;
	uint8_t got[4][FRAME_LEN] = {};
	size_t len, lens[4] = {};
	struct xsk_pkt pkt;
	int n = 0;

	make_frame(f1, vm_mac, b_mac, 1);
	make_frame(f2, other_mac, b_mac, 2);
	make_frame(f3, bcast, b_mac, 3);
	KTAP_CHECK(!peer_send(peer, f1, sizeof(f1)) && !peer_send(peer, f2, sizeof(f2)) &&
		   !peer_send(peer, f3, sizeof(f3)), "peer sends 3 frames");

	/* One rx queue keeps order: once the broadcast (sent last) is in, the
	 * other-MAC frame would have arrived before it if it were steered.
	 */
	deadline_in(&dl, TIMEOUT_MS);
	while (n < 4 && !xsk_recv(p, buf, &len, &dl)) {
		lens[n] = len;
		memcpy(got[n], buf, len < FRAME_LEN ? len : FRAME_LEN);
		n++;
		if (!memcmp(buf, bcast, 6))
			break;
	}
	KTAP_CHECK(n == 2, "XSK got exactly the VM-MAC and broadcast frames");
	KTAP_CHECK(lens[0] == FRAME_LEN && !memcmp(got[0], f1, FRAME_LEN),
		   "unicast to the VM MAC received intact");
	KTAP_CHECK(lens[1] == FRAME_LEN && !memcmp(got[1], f3, FRAME_LEN),
		   "broadcast received intact");
	KTAP_CHECK(xsk_port_rx_peek(p, &pkt, 1) == 0, "nothing else on the XSK");

	KTAP_CHECK(!xdp_steer_read_stats(s, &st), "read stats");
	KTAP_CHECK(st.redirected == 2 && st.redirected_bytes == 2 * FRAME_LEN,
		   "2 frames / 200 bytes redirected");
	KTAP_CHECK(st.passed == 1 && st.passed_bytes == FRAME_LEN,
		   "other-MAC frame counted as passed");
	KTAP_CHECK(st.dropped == 0, "nothing dropped");
	if (ktap_failed)
		ktap_diag("stats: redir %llu/%llu passed %llu/%llu dropped %llu",
			  (unsigned long long)st.redirected,
			  (unsigned long long)st.redirected_bytes,
			  (unsigned long long)st.passed, (unsigned long long)st.passed_bytes,
			  (unsigned long long)st.dropped);
}

/* Releasing fewer than peeked leaves the rest for the next peek. */
static void test_partial_release(struct xsk_port *p, int peer)
{
	struct xsk_pkt pkts[4];
	uint8_t f[FRAME_LEN];
	struct timespec dl;
	unsigned int n, i;
	bool ok = true;

	for (i = 0; i < 4; i++) {
		make_frame(f, vm_mac, b_mac, 10 + i);
		ok &= !peer_send(peer, f, sizeof(f));
	}
	deadline_in(&dl, TIMEOUT_MS);
	n = xsk_wait_n(p, pkts, 4, &dl);
	ok &= n == 4 && frame_seq(pkts[0].data) == 10;
	xsk_port_rx_release(p, 1, n);
	n = xsk_port_rx_peek(p, pkts, 4);
	ok &= n == 3 && frame_seq(pkts[0].data) == 11 && frame_seq(pkts[2].data) == 13;
	xsk_port_rx_release(p, n, n);
	KTAP_CHECK(ok, "rx_release(1, 4) consumes one, the next peek returns the other 3");
}

/* Frames on the rx ring now, consumed; waits up to @ms for the first. */
static unsigned int xsk_drain(struct xsk_port *p, unsigned int batch, int ms)
{
	struct pollfd pfd = { .fd = xsk_port_fd(p), .events = POLLIN };
	struct xsk_pkt pkts[64];
	unsigned int n, got = 0;

	if (batch > 64)
		batch = 64;
	for (;;) {
		n = xsk_port_rx_peek(p, pkts, batch);
		if (n) {
			xsk_port_rx_release(p, n, n);
			got += n;
			continue;
		}
		if (poll(&pfd, 1, got ? 0 : ms) <= 0)
			return got;
	}
}

/* Every rx buffer comes back: cycle many ring-fulls of frames through the
 * port in small bites, some rounds after overflowing the rx ring (a relay
 * whose guest has no buffers: it peeks and leaves the frames, and the port
 * then lets the kernel fill its whole rx buffering), then check the port
 * still takes a burst of RX_BURST frames whole. The port starts with one
 * pool batch on its fill ring, grows under load and gives back what the
 * traffic no longer needs.
 */
#define RX_BURST	960	/* under the port's 1024 fill target */
#define IDLE_FRAMES	256	/* a fresh port's fill ring */
#define SETTLED_MAX	(1024 + 2 * 64 + 64)	/* fill target, free stack, a batch */
static void test_rx_buffers_cycle(struct xsk_port *p, int peer)
{
	unsigned int round, i, got = 0, sent = 0, held_max = 0;
	uint32_t rx_max = xsk_port_multi_buffer(p) ? 3072 : 1024;
	struct xsk_port_frames fr;
	struct xsk_port_stats st;
	struct xsk_pkt pkts[4];
	uint8_t f[FRAME_LEN];
	struct timespec dl;
	bool ok = true;

	for (round = 0; round < 16; round++) {
		/* odd rounds: a frame waits for the guest (peeked, left on
		 * the ring), then the overflow comes
		 */
		if (round % 2) {
			make_frame(f, vm_mac, b_mac, 999);
			sent += !peer_send(peer, f, sizeof(f));
			deadline_in(&dl, TIMEOUT_MS);
			xsk_wait_n(p, pkts, 1, &dl);
			xsk_port_rx_release(p, 0, 1);
			xsk_port_read_frames(p, &fr);
			if (fr.owned > held_max)
				held_max = fr.owned;
		}
		for (i = 0; round % 2 && i < 4000; i++) {
			make_frame(f, vm_mac, b_mac, 1000 + i);
			sent += !peer_send(peer, f, sizeof(f));
		}
		for (i = 0; i < 512; i++) {
			make_frame(f, vm_mac, b_mac, 1000 + i);
			sent += !peer_send(peer, f, sizeof(f));
			/* consume in small bites while frames keep coming */
			if (i % 16 == 15)
				got += xsk_drain(p, 3, 0);
		}
		got += xsk_drain(p, 3, 50);
	}
	ktap_diag("cycled %u of %u frames through the port", got, sent);
	ok = got >= sent / 2;
	KTAP_CHECK(ok, "rx frames cycle through the port under load");
	ktap_diag("while frames waited for the guest the port held %u frames", held_max);
	KTAP_CHECK(held_max >= rx_max, "frames waiting for the guest: the port grows to its rx maximum");
	xsk_port_read_stats(p, &st);
	ktap_diag("kernel drops: no rx buffer %llu, rx ring full %llu",
		  (unsigned long long)st.rx_dropped, (unsigned long long)st.rx_ring_full);
	KTAP_CHECK(st.rx_dropped + st.rx_ring_full > 0 &&
		   st.rx_dropped + st.rx_ring_full <= sent - got,
		   "xsk_port_read_stats counts the overflow rounds' drops, and no more");
	xsk_port_read_frames(p, &fr);
	ktap_diag("after the load: %u frames (fill target %u), %u of %u free in the umem",
		  fr.owned, fr.fill_target, fr.pool_free, fr.pool_frames);
	KTAP_CHECK(fr.owned <= SETTLED_MAX && fr.pool_free + fr.owned <= fr.pool_frames,
		   "drained, the port gives its backlog frames back to the umem");

	for (i = 0; i < RX_BURST; i++) {
		make_frame(f, vm_mac, b_mac, 5000 + i);
		peer_send(peer, f, sizeof(f));
	}
	got = xsk_drain(p, 64, TIMEOUT_MS);
	ktap_diag("burst of %u after the cycling: %u received", RX_BURST, got);
	KTAP_CHECK(got == RX_BURST, "no rx buffer lost: a 960-frame burst arrives whole");
}

static void test_tx(struct xsk_port *p, int peer)
{
	static uint8_t sent[BURST][FRAME_LEN];
	static struct xsk_pkt all[POOL_MAX];
	struct xsk_pkt pkts[BURST];
	uint8_t buf[2048];
	unsigned int n, i, pool = 0, got, kicks;
	struct timespec dl;
	size_t len;
	bool ok;

	/* The whole free pool, to check at the end that no buffer leaked. */
	pool = xsk_port_tx_alloc(p, all, POOL_MAX);
	KTAP_CHECK(pool >= BURST && pool < POOL_MAX, "tx pool holds a burst");
	xsk_port_tx_submit(p, all, pool, 0);

	n = xsk_port_tx_alloc(p, pkts, 3);
	KTAP_CHECK(n == 3 && pkts[0].len >= FRAME_LEN &&
		   pkts[0].len == xsk_port_frame_room(p), "tx_alloc 3 buffers of frame_room");
	make_frame(sent[0], b_mac, vm_mac, 100);
	make_frame(sent[1], bcast, vm_mac, 101);
	for (i = 0; i < 2 && i < n; i++) {
		memcpy(pkts[i].data, sent[i], FRAME_LEN);
		pkts[i].len = FRAME_LEN;
	}
	xsk_port_tx_submit(p, pkts, n, 2);
	deadline_in(&dl, TIMEOUT_MS);
	while (xsk_port_tx_pending(p) && ms_left(&dl))
		;
	ok = true;
	for (i = 0; i < 2; i++)
		ok &= !peer_recv(peer, buf, &len, &dl) && len == FRAME_LEN &&
		      !memcmp(buf, sent[i], FRAME_LEN);
	KTAP_CHECK(ok, "2 tx frames arrive intact at the peer");

	/* A burst bigger than one copy-mode batch needs tx_pending's kicks. */
	n = xsk_port_tx_alloc(p, pkts, BURST);
	for (i = 0; i < n; i++) {
		make_frame(sent[i], b_mac, vm_mac, 1000 + i);
		memcpy(pkts[i].data, sent[i], FRAME_LEN);
		pkts[i].len = FRAME_LEN;
	}
	xsk_port_tx_submit(p, pkts, n, n);
	deadline_in(&dl, 5000);
	kicks = 0;
	while (xsk_port_tx_pending(p) && ms_left(&dl))
		kicks++;
	ktap_diag("burst of %u needed %u tx_pending rounds after submit", n, kicks);
	KTAP_CHECK(n == BURST && !xsk_port_tx_pending(p), "tx_pending drains a 200-frame burst");
	got = 0;
	ok = true;
	deadline_in(&dl, TIMEOUT_MS);
	while (got < n && !peer_recv(peer, buf, &len, &dl)) {
		ok &= len == FRAME_LEN && !memcmp(buf, sent[got], FRAME_LEN);
		got++;
	}
	KTAP_CHECK(got == BURST && ok, "all 200 burst frames arrive intact and in order");
	if (got != BURST)
		ktap_diag("peer got %u of %u", got, BURST);

	/* Completions are all back: the pool is whole again. */
	deadline_in(&dl, TIMEOUT_MS);
	for (;;) {
		got = xsk_port_tx_alloc(p, all, POOL_MAX);
		xsk_port_tx_submit(p, all, got, 0);
		if (got == pool || !ms_left(&dl))
			break;
		xsk_port_tx_pending(p);
	}
	KTAP_CHECK(got == pool, "every tx buffer came back via the completion ring");
	if (got != pool)
		ktap_diag("pool %u, got back %u", pool, got);
}

static int sockopt_int(int fd, int opt)
{
	socklen_t len = sizeof(int);
	int v = -1;

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len))
		return -1;
	return v;
}

/* Socket busy polling goes on and off as the relay's loop starts and stops
 * polling.
 */
static void test_busy_poll(struct xsk_port *p)
{
	int fd = xsk_port_fd(p), err;

	/* SO_PREFER_BUSY_POLL is 5.11, older than the daemon's minimum. */
	err = xsk_port_set_busy_poll(p, 50, 64);
	/* (The kernel has no getsockopt for SO_BUSY_POLL_BUDGET.) */
	KTAP_CHECK(!err && sockopt_int(fd, SO_PREFER_BUSY_POLL) == 1 &&
		   sockopt_int(fd, SO_BUSY_POLL) == 50, "busy poll on: prefer, 50 us");
	err = xsk_port_set_busy_poll(p, 0, 64);
	KTAP_CHECK(!err && sockopt_int(fd, SO_PREFER_BUSY_POLL) == 0 &&
		   sockopt_int(fd, SO_BUSY_POLL) == 0, "busy poll off");
}

static void test_errors(void)
{
	struct xdp_steer *s2 = NULL;

	KTAP_CHECK(xdp_steer_open(&s2, relay2, if_a, vm_mac, XDP_STEER_AUTO) == -EBUSY &&
		   !s2, "second relay on the same interface: -EBUSY");
	KTAP_CHECK(!pin_dir_exists(relay2), "failed open leaves no pin dir");
	KTAP_CHECK(xdp_steer_open(&s2, relay1, if_a, vm_mac, XDP_STEER_AUTO) == -EBUSY,
		   "same relay name while it runs: -EBUSY");
	KTAP_CHECK(xdp_steer_open(&s2, relay2, "lo", NULL, XDP_STEER_AUTO) == -EINVAL,
		   "lo (not Ethernet): -EINVAL");
	KTAP_CHECK(xdp_steer_open(&s2, relay2, "vxdpt-nonexist", NULL, XDP_STEER_AUTO) == -ENODEV,
		   "unknown interface: -ENODEV");
	KTAP_CHECK(xdp_steer_open(&s2, "../evil", if_a, NULL, XDP_STEER_AUTO) == -EINVAL,
		   "relay name with a slash: -EINVAL");

	/* A bridge is Ethernet but has no native XDP. */
	KTAP_CHECK(xdp_steer_open(&s2, relay2, if_br, NULL, XDP_STEER_NATIVE) == -EOPNOTSUPP,
		   "native mode on a bridge: -EOPNOTSUPP");
	KTAP_CHECK(!xdp_steer_open(&s2, relay2, if_br, NULL, XDP_STEER_AUTO) &&
		   xdp_prog_on(if_br, XDP_FLAGS_SKB_MODE),
		   "auto mode on a bridge falls back to generic (skb)");
	xdp_steer_close(s2);
	KTAP_CHECK(!xdp_prog_on(if_br, 0) && !pin_dir_exists(relay2),
		   "generic-mode program detached and unpinned on close");
}

/* A relay that dies without closing leaves its maps pinned, but not its
 * program (a BPF link, gone with the process): restarting the same relay
 * must clean the pins up, while another relay's pins stay its own.
 */
static void test_crash_restart(int peer)
{
	struct xdp_steer *s = NULL;
	struct xsk_port *p = NULL;
	uint8_t f[FRAME_LEN], buf[2048];
	struct timespec dl;
	size_t len;
	int status = -1;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct xdp_steer *cs;

		_exit(xdp_steer_open(&cs, relay_crash, if_a, NULL, XDP_STEER_AUTO) ? 1 : 0);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	KTAP_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && !xdp_prog_on(if_a, 0) &&
		   pin_dir_exists(relay_crash), "crashed relay left its pins, not its program");
	KTAP_CHECK(!xdp_steer_open(&s, relay_crash, if_a, NULL, XDP_STEER_AUTO),
		   "restarting the crashed relay takes over");
	if (!s)
		return;

	/* Steering off (mac NULL): a frame to any unicast MAC goes to the VM.
	 * The port closed just before on this queue is released by the kernel
	 * a little later (its pool is put from deferred work): xsk_port_open()
	 * must wait that out, as a relay re-created by a reload does.
	 */
	KTAP_CHECK(!xsk_port_open(&p, if_a, 0, xdp_steer_xskmap_fd(s), XSK_PORT_COPY),
		   "xsk_port_open in copy mode, on the queue a port closed just before held");
	make_frame(f, other_mac, b_mac, 7);
	deadline_in(&dl, TIMEOUT_MS);
	KTAP_CHECK(p && !peer_send(peer, f, sizeof(f)) && !xsk_recv(p, buf, &len, &dl) &&
		   len == FRAME_LEN && !memcmp(buf, f, FRAME_LEN),
		   "without mac=, any unicast frame is steered");
	xsk_port_close(p);
	xdp_steer_close(s);
	KTAP_CHECK(!xdp_prog_on(if_a, 0) && !pin_dir_exists(relay_crash),
		   "restarted relay detaches and unpins on close");
}

/* A @len-byte test frame whose payload differs per position, so a fragment
 * copied to the wrong place shows.
 */
static void make_big_frame(uint8_t *f, size_t len, const uint8_t dst[6],
			   const uint8_t src[6], uint32_t seq)
{
	size_t i;

	make_frame(f, dst, src, seq);
	for (i = 18; i < len; i++)
		f[i] = (uint8_t)(seq + i * 31 + (i >> 8));
}

static int set_mtu(int mtu)
{
	return run("ip -n %s link set %s mtu %d", ns_a, if_a, mtu) ||
	       run("ip -n %s link set %s mtu %d", ns_b, if_b, mtu);
}

static void peer_drain(int fd)
{
	uint8_t b[64];

	while (recv(fd, b, sizeof(b), MSG_DONTWAIT) > 0)
		;
}

/* The next whole frame on the XSK, reassembled into @buf and released;
 * @nfrags: how many umem frames it came in.
 */
static int xsk_recv_frame(struct xsk_port *p, uint8_t *buf, size_t cap,
			  size_t *len, unsigned int *nfrags,
			  const struct timespec *deadline)
{
	struct pollfd pfd = { .fd = xsk_port_fd(p), .events = POLLIN };
	struct xsk_pkt pkts[XSK_PORT_MAX_FRAGS];
	unsigned int n, i;
	size_t off;

	for (;;) {
		n = xsk_port_rx_peek(p, pkts, XSK_PORT_MAX_FRAGS);
		if (n) {
			for (i = 0, off = 0; i < n; i++) {
				if (off + pkts[i].len <= cap)
					memcpy(buf + off, pkts[i].data, pkts[i].len);
				off += pkts[i].len;
				if (!pkts[i].more)
					break;
			}
			*len = off;
			*nfrags = i + 1;
			xsk_port_rx_release(p, *nfrags, n);
			return 0;
		}
		if (!ms_left(deadline) || poll(&pfd, 1, ms_left(deadline)) <= 0)
			return -1;
	}
}

/* Wait until @want descriptors are on the rx ring, all unread again. */
static bool xsk_wait_n_left(struct xsk_port *p, struct xsk_pkt *pkts,
			    unsigned int want, const struct timespec *deadline)
{
	unsigned int n = xsk_wait_n(p, pkts, want, deadline);

	xsk_port_rx_release(p, 0, n);
	return n == want;
}

/* Free tx buffers right now (all returned at once). */
static unsigned int tx_pool_size(struct xsk_port *p)
{
	static struct xsk_pkt all[POOL_MAX];
	unsigned int n = xsk_port_tx_alloc(p, all, POOL_MAX);

	xsk_port_tx_submit(p, all, n, 0);
	return n;
}

/* Wait for the tx pool to be back at @want buffers. */
static bool tx_pool_back(struct xsk_port *p, unsigned int want)
{
	struct timespec dl;

	deadline_in(&dl, TIMEOUT_MS);
	while (tx_pool_size(p) != want && ms_left(&dl))
		xsk_port_tx_pending(p);
	return tx_pool_size(p) == want;
}

/* Split @len bytes of @f over the tx buffers @pkts (as many as it takes). */
static unsigned int tx_fill(struct xsk_port *p, struct xsk_pkt *pkts,
			    const uint8_t *f, size_t len)
{
	uint32_t room = xsk_port_frame_room(p);
	unsigned int i = 0;
	size_t off;

	for (off = 0; off < len; i++) {
		uint32_t l = len - off < room ? len - off : room;

		memcpy(pkts[i].data, f + off, l);
		pkts[i].len = l;
		pkts[i].more = off + l < len;
		off += l;
	}
	return i;
}

static void tx_flush(struct xsk_port *p)
{
	struct timespec dl;

	deadline_in(&dl, TIMEOUT_MS);
	while (xsk_port_tx_pending(p) && ms_left(&dl))
		;
}

/* Send one FRAME_LEN test frame, sequence @seq, to the peer and push it
 * out: the frame that must still get through after a bad one.
 */
static void tx_send_small(struct xsk_port *p, uint32_t seq)
{
	struct xsk_pkt pkt;
	unsigned int m = xsk_port_tx_alloc(p, &pkt, 1);

	if (m) {
		make_frame(pkt.data, b_mac, vm_mac, seq);
		pkt.len = FRAME_LEN;
	}
	xsk_port_tx_submit(p, &pkt, m, m);
	tx_flush(p);
}

#define MB_TESTS 9	/* the checks below that need multi-buffer */

/* Jumbo frames on a 9000-MTU veth: multi-buffer rx and tx, frame
 * boundaries across peeks and releases, bad tx frames; then the same port
 * without multi-buffer.
 */
static void test_jumbo(int peer)
{
	static uint8_t f[JUMBO_LEN], buf[BIG_BUF];
	struct xsk_pkt pkts[XSK_PORT_MAX_FRAGS + 2];
	struct xdp_steer_stats st = {};
	struct xdp_steer *s = NULL;
	struct xsk_port *p = NULL;
	unsigned int nfrags = 0, n, m, i, pool;
	uint8_t small[FRAME_LEN];
	struct timespec dl;
	size_t len = 0;
	bool ok;
	int err;

	KTAP_CHECK(!set_mtu(JUMBO_MTU), "veth MTU 9000 on both ends");
	err = xdp_steer_open(&s, relay2, if_a, NULL, XDP_STEER_AUTO);
	KTAP_CHECK(!err && xdp_prog_on(if_a, XDP_FLAGS_DRV_MODE),
		   "frags-aware XDP program attaches natively on the 9000-MTU veth");
	if (err)
		return;
	err = xsk_port_open(&p, if_a, 0, xdp_steer_xskmap_fd(s), XSK_PORT_AUTO);
	KTAP_CHECK(!err, "xsk_port_open on the 9000-MTU veth");
	if (err) {
		xdp_steer_close(s);
		return;
	}
	if (!xsk_port_multi_buffer(p)) {
		for (i = 0; i < MB_TESTS; i++)
			ktap_result(1, "multi-buffer check %u # SKIP kernel without AF_XDP multi-buffer (XDP_USE_SG, Linux 6.6+)",
				    i + 1);
		goto single;
	}
	ktap_diag("multi-buffer port: frame room %u, max frame %u",
		  xsk_port_frame_room(p), xsk_port_max_frame(p));
	KTAP_CHECK(xsk_port_max_frame(p) >= JUMBO_LEN &&
		   xsk_port_frame_room(p) < JUMBO_LEN,
		   "multi-buffer: max frame holds a jumbo frame, frame room stays one umem frame");

	/* rx: one jumbo frame, several CONTD descriptors. */
	make_big_frame(f, JUMBO_LEN, vm_mac, b_mac, 500);
	deadline_in(&dl, TIMEOUT_MS);
	KTAP_CHECK(!peer_send(peer, f, JUMBO_LEN) &&
		   !xsk_recv_frame(p, buf, sizeof(buf), &len, &nfrags, &dl) &&
		   len == JUMBO_LEN && !memcmp(buf, f, JUMBO_LEN) && nfrags > 1,
		   "a 9014-byte frame from the peer arrives as CONTD fragments that reassemble byte for byte");
	ktap_diag("9014-byte frame: %zu bytes in %u umem frames", len, nfrags);
	KTAP_CHECK(!xdp_steer_read_stats(s, &st) && st.redirected == 1 &&
		   st.redirected_bytes == JUMBO_LEN,
		   "XDP counters count the whole multi-buffer frame");
	if (nfrags < 2 || nfrags > XSK_PORT_MAX_FRAGS / 2)
		nfrags = 3;

	/* A peek that would end inside a frame stops before it. */
	make_big_frame(f, JUMBO_LEN, vm_mac, b_mac, 501);
	ok = !peer_send(peer, f, JUMBO_LEN);
	make_big_frame(f, JUMBO_LEN, vm_mac, b_mac, 502);
	ok &= !peer_send(peer, f, JUMBO_LEN);
	deadline_in(&dl, TIMEOUT_MS);
	ok &= xsk_wait_n_left(p, pkts, 2 * nfrags, &dl);
	n = xsk_port_rx_peek(p, pkts, nfrags + 1);
	ok &= n == nfrags && !pkts[n - 1].more && frame_seq(pkts[0].data) == 501;
	xsk_port_rx_release(p, n, n);
	n = xsk_port_rx_peek(p, pkts, nfrags + 1);
	ok &= n == nfrags && !pkts[n - 1].more && frame_seq(pkts[0].data) == 502;
	xsk_port_rx_release(p, n, n);
	KTAP_CHECK(ok, "a peek cut inside a frame returns only the whole frames before it");

	/* A frame longer than the peek is dropped; the next one follows. */
	make_big_frame(f, JUMBO_LEN, vm_mac, b_mac, 503);
	make_frame(small, vm_mac, b_mac, 504);
	ok = !peer_send(peer, f, JUMBO_LEN) && !peer_send(peer, small, FRAME_LEN);
	deadline_in(&dl, TIMEOUT_MS);
	ok &= xsk_wait_n_left(p, pkts, nfrags + 1, &dl);
	n = xsk_port_rx_peek(p, pkts, nfrags - 1);
	ok &= n == 1 && pkts[0].len == FRAME_LEN && frame_seq(pkts[0].data) == 504 &&
	      xsk_port_rx_dropped(p) == 1;
	xsk_port_rx_release(p, n, n);
	KTAP_CHECK(ok, "a frame longer than the peek is dropped and counted, the next frame follows");

	/* Releasing inside a frame drops its rest, not the next frame. */
	make_big_frame(f, JUMBO_LEN, vm_mac, b_mac, 505);
	make_frame(small, vm_mac, b_mac, 506);
	ok = !peer_send(peer, f, JUMBO_LEN) && !peer_send(peer, small, FRAME_LEN);
	deadline_in(&dl, TIMEOUT_MS);
	ok &= xsk_wait_n(p, pkts, nfrags + 1, &dl) == nfrags + 1;
	/* as the relay never does */
	xsk_port_rx_release(p, 1, nfrags + 1);
	n = xsk_port_rx_peek(p, pkts, XSK_PORT_MAX_FRAGS);
	ok &= n == 1 && frame_seq(pkts[0].data) == 506;
	xsk_port_rx_release(p, n, n);
	KTAP_CHECK(ok, "rx_release inside a frame drops the rest of it, not the next frame");

	/* tx: one jumbo frame over several umem frames. */
	peer_drain(peer);
	pool = tx_pool_size(p);
	m = xsk_port_tx_alloc(p, pkts, XSK_PORT_MAX_FRAGS);
	make_big_frame(f, JUMBO_LEN, b_mac, vm_mac, 600);
	n = tx_fill(p, pkts, f, JUMBO_LEN);
	xsk_port_tx_submit(p, pkts, m, n);
	tx_flush(p);
	deadline_in(&dl, TIMEOUT_MS);
	KTAP_CHECK(n > 1 && !peer_recv_cap(peer, buf, sizeof(buf), &len, &dl) &&
		   len == JUMBO_LEN && !memcmp(buf, f, JUMBO_LEN),
		   "a 9014-byte frame sent as CONTD descriptors arrives intact at the peer");
	ktap_diag("9014-byte tx frame: %u descriptors", n);

	/* Frames the kernel would reject stay off the ring. */
	m = xsk_port_tx_alloc(p, pkts, 2);
	for (i = 0; i < m; i++) {
		pkts[i].len = FRAME_LEN;
		pkts[i].more = true;	/* never terminated */
	}
	xsk_port_tx_submit(p, pkts, m, m);
	m = xsk_port_tx_alloc(p, pkts, XSK_PORT_MAX_FRAGS + 1);
	for (i = 0; i < m; i++) {
		pkts[i].len = 64;
		pkts[i].more = i + 1 < m;	/* one piece too many */
	}
	xsk_port_tx_submit(p, pkts, m, m);
	tx_send_small(p, 601);
	deadline_in(&dl, TIMEOUT_MS);
	KTAP_CHECK(!peer_recv_cap(peer, buf, sizeof(buf), &len, &dl) && len == FRAME_LEN &&
		   frame_seq(buf) == 601,
		   "unterminated and over-long tx frames are not sent; the next frame is");
	KTAP_CHECK(tx_pool_back(p, pool), "no tx buffer leaked by them");
	xsk_port_close(p);
	p = NULL;

single:
	/* Without multi-buffer, as on kernels before 6.6. */
	xsk_port_close(p);
	/* The kernel frees the old socket's hold on the queue in deferred
	 * work: retry while it says the queue is taken.
	 */
	xsk_port_single_buffer(true);
	deadline_in(&dl, TIMEOUT_MS);
	do {
		err = xsk_port_open(&p, if_a, 0, xdp_steer_xskmap_fd(s), XSK_PORT_AUTO);
	} while (err == -EBUSY && ms_left(&dl) && !usleep(10000));
	xsk_port_single_buffer(false);
	KTAP_CHECK(!err && !xsk_port_multi_buffer(p) &&
		   xsk_port_max_frame(p) == xsk_port_frame_room(p),
		   "xsk_port_single_buffer(): single-buffer port, max frame = frame room");
	if (err) {
		xdp_steer_close(s);
		return;
	}
	make_big_frame(f, JUMBO_LEN, vm_mac, b_mac, 700);
	make_frame(small, vm_mac, b_mac, 701);
	deadline_in(&dl, TIMEOUT_MS);
	KTAP_CHECK(!peer_send(peer, f, JUMBO_LEN) && !peer_send(peer, small, FRAME_LEN) &&
		   !xsk_recv_frame(p, buf, sizeof(buf), &len, &nfrags, &dl) &&
		   len == FRAME_LEN && frame_seq(buf) == 701,
		   "single-buffer: a jumbo frame is dropped by the kernel, the next small one arrives");

	peer_drain(peer);
	pool = tx_pool_size(p);
	m = xsk_port_tx_alloc(p, pkts, XSK_PORT_MAX_FRAGS);
	make_big_frame(f, JUMBO_LEN, b_mac, vm_mac, 702);
	n = tx_fill(p, pkts, f, JUMBO_LEN);
	xsk_port_tx_submit(p, pkts, m, n);
	tx_send_small(p, 703);
	deadline_in(&dl, TIMEOUT_MS);
	KTAP_CHECK(!peer_recv_cap(peer, buf, sizeof(buf), &len, &dl) && len == FRAME_LEN &&
		   frame_seq(buf) == 703 && tx_pool_back(p, pool),
		   "single-buffer: a multi-descriptor tx frame is not sent, nothing leaks");
	xsk_port_close(p);
	xdp_steer_close(s);
	KTAP_CHECK(!xdp_prog_on(if_a, 0) && !pin_dir_exists(relay2),
		   "jumbo relay detaches and unpins on close");
}

int main(void)
{
	struct xdp_steer *s = NULL;
	struct xsk_port *p = NULL, *pz = NULL;
	struct xsk_port_frames fr;
	int peer, err, fd;

	owner = getpid();
	if (geteuid() != 0 || !have_caps())
		ktap_skip_all("needs root with CAP_NET_ADMIN and CAP_SYS_ADMIN");
	if (!can_lock_umems())
		ktap_skip_all("needs CAP_IPC_LOCK or RLIMIT_MEMLOCK >= 32 MiB for AF_XDP umems");
	fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		ktap_skip_all("kernel without AF_XDP (CONFIG_XDP_SOCKETS)");
	close(fd);
	if (run("ip -V >/dev/null 2>&1"))
		ktap_skip_all("iproute2 'ip' not installed");

	ktap_plan(NR_TESTS);
	atexit(cleanup);
	if (!KTAP_CHECK(!setup(), "veth pair between two private netns")) {
		ktap_diag("setup failed; nothing else can run");
		return KSFT_FAIL;
	}
	peer = peer_socket();
	KTAP_CHECK(peer >= 0, "AF_PACKET socket on the peer end");

	err = xdp_steer_open(&s, relay1, if_a, vm_mac, XDP_STEER_AUTO);
	KTAP_CHECK(!err, "xdp_steer_open with mac= steering");
	if (err) {
		ktap_diag("xdp_steer_open: %s", strerror(-err));
		return ktap_finish();
	}
	KTAP_CHECK(xdp_prog_on(if_a, XDP_FLAGS_DRV_MODE), "auto mode chose native XDP on veth");
	KTAP_CHECK(pin_dir_exists(relay1), "maps pinned under " VXDP_PIN_ROOT "/<relay>");

	/* veth has no zero-copy: ZEROCOPY must fail cleanly (or work). */
	err = xsk_port_open(&pz, if_a, 0, xdp_steer_xskmap_fd(s), XSK_PORT_ZEROCOPY);
	KTAP_CHECK(err == 0 || err == -EOPNOTSUPP, "zero-copy request: works or -EOPNOTSUPP");
	ktap_diag("zero-copy on veth: %s", err ? strerror(-err) : "offered");
	xsk_port_close(pz);

	err = xsk_port_open(&p, if_a, 0, xdp_steer_xskmap_fd(s), XSK_PORT_AUTO);
	KTAP_CHECK(!err, "xsk_port_open auto mode");
	if (err) {
		xdp_steer_close(s);
		return ktap_finish();
	}
	ktap_diag("xsk port on %s: %s mode, frame room %u", if_a,
		  xsk_port_zerocopy(p) ? "zero-copy" : "copy", xsk_port_frame_room(p));
	xsk_port_read_frames(p, &fr);
	ktap_diag("fresh port: %u frames (fill target %u), umem %u frames, %u free, %u sockets",
		  fr.owned, fr.fill_target, fr.pool_frames, fr.pool_free, fr.pool_sockets);
	KTAP_CHECK(fr.owned <= IDLE_FRAMES && fr.pool_free + fr.owned == fr.pool_frames,
		   "a fresh port holds 256 frames of its shared umem");

	test_busy_poll(p);
	test_steering(s, p, peer);
	test_partial_release(p, peer);
	test_rx_buffers_cycle(p, peer);
	test_tx(p, peer);
	test_errors();

	xsk_port_close(p);
	xdp_steer_close(s);
	KTAP_CHECK(!xdp_prog_on(if_a, 0), "no XDP program on the interface after close");
	KTAP_CHECK(!pin_dir_exists(relay1), "pin dir removed after close");

	test_crash_restart(peer);
	test_jumbo(peer);

	close(peer);
	return ktap_finish();
}
