// SPDX-License-Identifier: GPL-2.0
/* vxdp-benchgen: traffic helpers for tools/bench/vxdp-bench, run in the netns of
 * the far end of the VF stand-in veth (the "wire" side).
 *
 *   vxdp-benchgen pkt IFNAME [options]   paced frame source (VF -> virtio)
 *   vxdp-benchgen rtt IFNAME [options]   one-frame-in-flight round trips
 *   vxdp-benchgen xdp IFNAME [options]   flat-out frame source (experiments)
 *
 * pkt: an AF_PACKET socket (PACKET_QDISC_BYPASS) sends Ethernet/IPv4/UDP
 * frames of --size bytes with sendmmsg(), --rate frames/s in 1 ms ticks
 * (sleeping in between, so that whatever shares its CPU keeps running), or
 * flat out without --rate. On veth each frame is received by the VF end
 * (its XDP program, the AF_XDP copy) in softirq right inside the send, on
 * this CPU, as a NIC's interrupt would.
 *
 * rtt: an AF_PACKET socket sends one frame (ethertype 0x88b5, local
 * experimental) carrying a sequence number, waits for it to come back
 * (testpmd io loop behind the relay returns it unchanged), records the round
 * trip with CLOCK_MONOTONIC, sleeps --interval-us, repeats. Prints
 * percentiles in microseconds.
 *
 * xdp: a two-instruction XDP program (return XDP_TX) run by BPF_PROG_RUN in
 * "live frames" mode (BPF_F_TEST_XDP_LIVE_FRAMES) with ingress_ifindex =
 * IFNAME: the kernel turns XDP_TX into a redirect out of IFNAME, so frames
 * reach the veth peer through ndo_xdp_xmit, with no skb and no socket
 * (~4 Mpps on one CPU here; the peer needs an XDP program, the relay's).
 * It cannot be paced finely (see cmd_xdp), and flat out it holds its CPU
 * for whole scheduler slices, so tools/bench/vxdp-bench does not use it.
 *
 * Output is one "key=value ..." line on stdout; errors on stderr, exit 1
 * (2 for usage).
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <bpf/bpf.h>

#define EXIT_USAGE 2
#define RTT_ETHERTYPE 0x88b5	/* IEEE 802 local experimental */
#define RTT_MAGIC 0x76786470u	/* "vxdp" */
#define MAX_FRAME 3800		/* fits a live-frames page with headroom */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int parse_mac(const char *s, unsigned char mac[ETH_ALEN])
{
	unsigned int b[ETH_ALEN];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -1;
	for (i = 0; i < ETH_ALEN; i++) {
		if (b[i] > 0xff)
			return -1;
		mac[i] = b[i];
	}
	return 0;
}

/* The interface's own MAC address (the frames' source). */
static int if_mac(const char *ifname, unsigned char mac[ETH_ALEN])
{
	struct ifreq ifr;
	int fd, rc;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	rc = ioctl(fd, SIOCGIFHWADDR, &ifr);
	close(fd);
	if (rc < 0)
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	return 0;
}

static uint16_t ip_csum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

/* An Ethernet/IPv4/UDP frame of LEN bytes (no FCS), 198.18.0.1:9 ->
 * 198.18.0.2:9 (benchmarking range, RFC 2544), UDP checksum 0 (none).
 */
static void build_udp_frame(unsigned char *f, size_t len, const unsigned char *dst,
			    const unsigned char *src)
{
	unsigned char *ip = f + ETH_HLEN, *udp = ip + 20;
	size_t ip_len = len - ETH_HLEN, udp_len = ip_len - 20;
	uint16_t v;

	memset(f, 0, len);
	memcpy(f, dst, ETH_ALEN);
	memcpy(f + ETH_ALEN, src, ETH_ALEN);
	f[12] = 0x08;			/* ETH_P_IP */
	f[13] = 0x00;
	ip[0] = 0x45;			/* v4, 20-byte header */
	v = htons(ip_len);
	memcpy(ip + 2, &v, 2);
	ip[8] = 64;			/* TTL */
	ip[9] = 17;			/* UDP */
	ip[12] = 198; ip[13] = 18; ip[14] = 0; ip[15] = 1;
	ip[16] = 198; ip[17] = 18; ip[18] = 0; ip[19] = 2;
	v = ip_csum(ip, 20);
	memcpy(ip + 10, &v, 2);
	udp[1] = 9;			/* discard port */
	udp[3] = 9;
	v = htons(udp_len);
	memcpy(udp + 4, &v, 2);
}

/* ---------------------------------------------------------------------------
 * xdp: live-frames generator
 * ---------------------------------------------------------------------------
 */
static int load_xdp_tx_prog(void)
{
	/* r0 = XDP_TX; exit */
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_TX },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	char log[4096] = "";
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = sizeof(log),
		    .log_level = 1);
	int fd;

	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "vxdp_benchgen", "GPL", insns, 2, &opts);
	if (fd < 0)
		fprintf(stderr, "vxdp-benchgen: loading the XDP_TX program: %s\n%s",
			strerror(errno), log);
	return fd;
}

/* One BPF_PROG_RUN of N frames; returns 0 or -errno. */
static int xdp_run(int prog_fd, unsigned char *frame, size_t len, int ifindex, uint32_t n)
{
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = frame, .data_size_in = len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = n, .batch_size = 64,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

	return bpf_prog_test_run_opts(prog_fd, &opts) ? -errno : 0;
}

static int cmd_xdp(const char *ifname, size_t size, const unsigned char *dst,
		   double seconds)
{
	unsigned char src[ETH_ALEN], frame[MAX_FRAME];
	uint64_t t0, t_end, t, t_call, sent = 0;
	uint32_t n = 1u << 16;
	int ifindex, prog_fd, rc = 0;

	ifindex = if_nametoindex(ifname);
	if (!ifindex || if_mac(ifname, src)) {
		fprintf(stderr, "vxdp-benchgen: %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	build_udp_frame(frame, size, dst, src);
	prog_fd = load_xdp_tx_prog();
	if (prog_fd < 0)
		return 1;

	t0 = t = now_ns();
	t_end = t0 + (uint64_t)(seconds * 1e9);
	while (!stop && t < t_end) {
		rc = xdp_run(prog_fd, frame, size, ifindex, n);
		if (rc)
			break;
		sent += n;
		t_call = t;
		t = now_ns();
		/* Every run sets up and tears down a page_pool, and the
		 * teardown waits for an RCU grace period (tens of ms, asleep,
		 * and serialised between callers: no use pacing with many
		 * small runs). Size the runs to ~250 ms so that is a few %,
		 * bounded by the time left.
		 */
		if (t > t_call) {
			double pps = n / ((t - t_call) / 1e9);
			double left = t_end > t ? (t_end - t) / 1e9 : 0;
			double want = pps * (left < 0.25 ? left : 0.25);

			n = want < 1024 ? 1024 : want > 4e9 ? 4000000000u : (uint32_t)want;
		}
	}
	if (rc && rc != -EINTR)
		fprintf(stderr, "vxdp-benchgen: BPF_PROG_RUN (live frames) on %s: %s\n",
			ifname, strerror(-rc));
	t = now_ns();
	printf("sent=%llu seconds=%.3f pps=%.0f\n", (unsigned long long)sent,
	       (t - t0) / 1e9, sent / ((t - t0) / 1e9));
	close(prog_fd);
	return rc && rc != -EINTR ? 1 : 0;
}

/* ---------------------------------------------------------------------------
 * pkt: AF_PACKET sender, paced (sendmmsg every 1 ms tick) or flat out
 * ---------------------------------------------------------------------------
 */
#define PKT_BATCH 256

static int cmd_pkt(const char *ifname, size_t size, const unsigned char *dst,
		   double seconds, double rate)
{
	unsigned char src[ETH_ALEN], frame[MAX_FRAME];
	struct mmsghdr msgs[PKT_BATCH];
	struct iovec iov = { .iov_base = frame, .iov_len = size };
	struct sockaddr_ll sll = { 0 };
	uint64_t t0, t_end, t, tick_ns = 1000000, sent = 0, failed = 0;
	double owed = 0;
	int fd, one = 1, i;

	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = if_nametoindex(ifname);
	if (!sll.sll_ifindex || if_mac(ifname, src)) {
		fprintf(stderr, "vxdp-benchgen: %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	build_udp_frame(frame, size, dst, src);
	/* protocol 0: send only, never receive */
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, "vxdp-benchgen: AF_PACKET on %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	/* straight to the driver, as a NIC's DMA would: no qdisc */
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < PKT_BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	t0 = t = now_ns();
	t_end = t0 + (uint64_t)(seconds * 1e9);
	while (!stop && t < t_end) {
		uint64_t due;

		if (rate > 0) {
			owed += rate * tick_ns / 1e9;
			due = (uint64_t)owed;
			owed -= due;
		} else {
			due = PKT_BATCH * 16;
		}
		while (due && !stop) {
			int b = due > PKT_BATCH ? PKT_BATCH : due;
			int r = sendmmsg(fd, msgs, b, 0);

			if (r <= 0) {
				/* ENOBUFS and friends: count as not sent */
				failed += b;
				due -= b;
				continue;
			}
			sent += r;
			due -= r;
		}
		if (rate > 0) {
			struct timespec ts;

			t += tick_ns;
			ts.tv_sec = t / 1000000000ull;
			ts.tv_nsec = t % 1000000000ull;
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		} else {
			t = now_ns();
		}
	}
	t = now_ns();
	printf("sent=%llu failed=%llu seconds=%.3f pps=%.0f\n", (unsigned long long)sent,
	       (unsigned long long)failed, (t - t0) / 1e9, sent / ((t - t0) / 1e9));
	close(fd);
	return 0;
}

/* ---------------------------------------------------------------------------
 * rtt: one frame in flight through the relay and back
 * ---------------------------------------------------------------------------
 */
struct rtt_payload {
	uint32_t magic;
	uint32_t seq;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_us(const uint64_t *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(p / 100.0 * (n - 1) + 0.5);
	return v[i] / 1000.0;
}

static int cmd_rtt(const char *ifname, size_t size, const unsigned char *dst,
		   unsigned int count, unsigned int warmup, unsigned int interval_us,
		   unsigned int timeout_ms)
{
	unsigned char frame[MAX_FRAME], buf[MAX_FRAME], src[ETH_ALEN];
	struct sockaddr_ll sll = { 0 };
	struct rtt_payload pl;
	uint64_t *samples;
	unsigned int i, got = 0, lost = 0;
	int fd;

	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(RTT_ETHERTYPE);
	sll.sll_ifindex = if_nametoindex(ifname);
	if (!sll.sll_ifindex || if_mac(ifname, src)) {
		fprintf(stderr, "vxdp-benchgen: %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	fd = socket(AF_PACKET, SOCK_RAW, htons(RTT_ETHERTYPE));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, "vxdp-benchgen: AF_PACKET on %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	samples = calloc(count, sizeof(*samples));
	if (!samples)
		return 1;
	memset(frame, 0, size);
	memcpy(frame, dst, ETH_ALEN);
	memcpy(frame + ETH_ALEN, src, ETH_ALEN);
	frame[12] = RTT_ETHERTYPE >> 8;
	frame[13] = RTT_ETHERTYPE & 0xff;

	for (i = 0; i < warmup + count && !stop; i++) {
		uint64_t t_send, t_now, t_dead;
		bool back = false;

		pl.magic = RTT_MAGIC;
		pl.seq = i;
		memcpy(frame + ETH_HLEN, &pl, sizeof(pl));
		t_send = now_ns();
		t_dead = t_send + timeout_ms * 1000000ull;
		if (send(fd, frame, size, 0) != (ssize_t)size) {
			fprintf(stderr, "vxdp-benchgen: send: %s\n", strerror(errno));
			break;
		}
		while (!back && !stop) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			ssize_t n;
			int left;

			t_now = now_ns();
			if (t_now >= t_dead)
				break;
			left = (t_dead - t_now + 999999) / 1000000;
			if (poll(&pfd, 1, left) <= 0)
				continue;
			n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			t_now = now_ns();
			if (n < (ssize_t)(ETH_HLEN + sizeof(pl)))
				continue;
			memcpy(&pl, buf + ETH_HLEN, sizeof(pl));
			if (pl.magic == RTT_MAGIC && pl.seq == i)
				back = true;	/* stale ones (late replies) are skipped */
		}
		if (i >= warmup) {
			if (back)
				samples[got++] = t_now - t_send;
			else
				lost++;
		}
		usleep(interval_us);
	}
	qsort(samples, got, sizeof(*samples), cmp_u64);
	printf("sent=%u received=%u lost=%u min_us=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f\n",
	       got + lost, got, lost, pct_us(samples, got, 0), pct_us(samples, got, 50),
	       pct_us(samples, got, 90), pct_us(samples, got, 99), pct_us(samples, got, 100));
	free(samples);
	close(fd);
	return got ? 0 : 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vxdp-benchgen xdp IFNAME [--size B] [--dst MAC] [--seconds S]\n"
		"       vxdp-benchgen pkt IFNAME [--size B] [--dst MAC] [--seconds S] [--rate PPS]\n"
		"       vxdp-benchgen rtt IFNAME [--size B] [--dst MAC] [--count N] [--warmup N]\n"
		"                                [--interval-us US] [--timeout-ms MS]\n"
		"Run in the netns of IFNAME (the veth end facing the relay's VF end).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },
		{ "seconds", required_argument, NULL, 't' },
		{ "rate", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'c' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "interval-us", required_argument, NULL, 'i' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	unsigned char dst[ETH_ALEN] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	unsigned int count = 1000, warmup = 20, interval_us = 1000, timeout_ms = 200;
	double seconds = 10, rate = 0;
	size_t size = 64;
	const char *cmd, *ifname;
	struct sigaction sa = { .sa_handler = on_signal };
	int c;

	if (argc < 3) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	ifname = argv[2];
	optind = 3;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': size = strtoul(optarg, NULL, 0); break;
		case 'd':
			if (parse_mac(optarg, dst)) {
				fprintf(stderr, "vxdp-benchgen: bad MAC '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 't': seconds = strtod(optarg, NULL); break;
		case 'r': rate = strtod(optarg, NULL); break;
		case 'c': count = strtoul(optarg, NULL, 0); break;
		case 'w': warmup = strtoul(optarg, NULL, 0); break;
		case 'i': interval_us = strtoul(optarg, NULL, 0); break;
		case 'T': timeout_ms = strtoul(optarg, NULL, 0); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (size < 60 || size > MAX_FRAME || !count || seconds <= 0 || rate < 0) {
		fprintf(stderr, "vxdp-benchgen: --size must be 60..%d; --count, --seconds > 0\n",
			MAX_FRAME);
		return EXIT_USAGE;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (!strcmp(cmd, "xdp"))
		return cmd_xdp(ifname, size, dst, seconds);
	if (!strcmp(cmd, "pkt"))
		return cmd_pkt(ifname, size, dst, seconds, rate);
	if (!strcmp(cmd, "rtt"))
		return cmd_rtt(ifname, size, dst, count, warmup, interval_us, timeout_ms);
	usage(stderr);
	return EXIT_USAGE;
}
