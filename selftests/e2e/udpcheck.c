// SPDX-License-Identifier: GPL-2.0
/* Guest side of selftests/e2e/test_migration.sh: receives the peer's
 * numbered UDP stream and checks every byte of every datagram, so frames the
 * relay wrote into guest memory around a live migration are proven intact.
 * The test builds it static and appends it to the tiny guest's initramfs.
 *
 *   vxdp-udpcheck NAME PORT TIMEOUT-S EPOCH [HOLD-IFACE PEER-IP]
 *
 * Datagram (udpstream.py): le32 magic "VXMG", le32 epoch, le32 seq,
 * le32 length, le32 arg, then byte i (from 0) = ((seq % 251 + i) * 7) &
 * 0xff. A data datagram of another epoch is an older stream's: bad (stale
 * guest memory shows up that way); another epoch's END or HOLD is ignored. seq 0xffffffff is END (arg: how many were
 * sent). With HOLD-IFACE, seq 0xfffffffe is HOLD: take the interface down
 * for arg seconds - its rx buffers stay posted and the relay keeps filling
 * them, unread - then up again, and send PEER-IP a datagram so the network
 * learns where the guest is now.
 *
 * Console: "VXDP-UDPCHECK-READY NAME", with HOLD "VXDP-UDPCHECK-HOLD NAME"
 * and "VXDP-UDPCHECK-RELEASED NAME", and at END or timeout one
 * "VXDP-RESULT NAME k=v ..." line. Exit 0 when it saw END.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define MAGIC		0x474d5856u	/* "VXMG" */
#define END_SEQ		0xffffffffu
#define HOLD_SEQ	0xfffffffeu
#define HDR_LEN		20
#define MAX_SEQ		(1u << 20)	/* > an hour at the test's rates */
#define MAX_GAPS	16
#define MAX_BAD_SHOWN	3

static uint8_t seen[MAX_SEQ / 8];
static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* First byte that differs from the pattern, or -1. */
static long check_payload(const uint8_t *p, uint32_t len, uint32_t seq)
{
	uint32_t i, o = seq % 251;

	for (i = HDR_LEN; i < len; i++)
		if (p[i] != (uint8_t)((o + i - HDR_LEN) * 7))
			return i;
	return -1;
}

static void run(const char *fmt, const char *arg)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), fmt, arg);
	if (system(cmd))
		printf("VXDP-UDPCHECK '%s' failed\n", cmd);
}

/* Interface down for @secs, then up, then a datagram to @peer. */
static void hold(int fd, const char *name, const char *iface,
		 const char *peer, unsigned int secs)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	int i;

	printf("VXDP-UDPCHECK-HOLD %s %s for %u s\n", name, iface, secs);
	fflush(stdout);
	run("ip link set %s down", iface);
	while (secs && !timed_out)
		secs = sleep(secs);
	run("ip link set %s up", iface);
	inet_pton(AF_INET, peer, &to.sin_addr);
	for (i = 0; i < 3; i++) {
		sendto(fd, "here", 4, 0, (struct sockaddr *)&to, sizeof(to));
		usleep(100000);
	}
	printf("VXDP-UDPCHECK-RELEASED %s\n", name);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static uint8_t buf[65536];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct sigaction act = { .sa_handler = on_alarm };
	uint32_t rx = 0, ok = 0, bad = 0, dup = 0, reorder = 0, total = 0;
	uint32_t maxseq = 0, missing = 0, maxgap = 0, ngaps = 0, s, run_len;
	uint32_t epoch, stale = 0;
	int fd, rcvbuf = 4 << 20, end = 0, held = 0;
	char gaps[MAX_GAPS * 24 + 8] = "";
	const char *name;
	size_t gl = 0;

	if (argc != 5 && argc != 7) {
		fprintf(stderr, "usage: %s NAME PORT TIMEOUT-S EPOCH [HOLD-IFACE PEER-IP]\n",
			argv[0]);
		return 2;
	}
	name = argv[1];
	epoch = strtoul(argv[4], NULL, 0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	/* The guest may be slow to read (TCG, a paused VM): queue plenty. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	sa.sin_port = htons(atoi(argv[2]));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("bind");
		return 1;
	}
	/* No SA_RESTART: the alarm must end a blocked recv(). */
	sigaction(SIGALRM, &act, NULL);
	alarm(atoi(argv[3]));
	printf("VXDP-UDPCHECK-READY %s port=%s epoch=%u\n", name, argv[2], epoch);
	fflush(stdout);

	while (!timed_out) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		uint32_t seq, len;
		long at;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("recv");
			break;
		}
		rx++;
		if (n < HDR_LEN || le32(buf) != MAGIC) {
			if (bad++ < MAX_BAD_SHOWN)
				printf("VXDP-UDPCHECK bad datagram: %zd bytes, no header\n", n);
			continue;
		}
		seq = le32(buf + 8);
		len = le32(buf + 12);
		if (le32(buf + 4) != epoch) {
			/* The previous stream's END is repeated: it may still
			 * be arriving. Any other datagram of another stream
			 * is stale guest memory.
			 */
			if (seq == END_SEQ || seq == HOLD_SEQ)
				continue;
			stale++;
			if (bad++ < MAX_BAD_SHOWN)
				printf("VXDP-UDPCHECK bad datagram: epoch %u (want %u), seq %u\n",
				       le32(buf + 4), epoch, seq);
			continue;
		}
		if (seq == END_SEQ) {
			total = le32(buf + 16);
			end = 1;
			break;
		}
		if (seq == HOLD_SEQ) {
			if (argc == 7 && !held++)
				hold(fd, name, argv[5], argv[6], le32(buf + 16));
			continue;
		}
		at = len != (uint32_t)n ? 12 : check_payload(buf, len, seq);
		if (at >= 0 || seq >= MAX_SEQ) {
			if (bad++ < MAX_BAD_SHOWN)
				printf("VXDP-UDPCHECK bad datagram: %zd bytes, seq %u, len %u, first bad byte %ld\n",
				       n, seq, len, at);
			continue;
		}
		if (seen[seq / 8] & (1u << (seq % 8))) {
			dup++;
			continue;
		}
		seen[seq / 8] |= 1u << (seq % 8);
		if (ok && seq < maxseq)
			reorder++;
		if (seq > maxseq)
			maxseq = seq;
		ok++;
	}
	/* Runs of datagrams that never arrived, up to what was sent. */
	if (!end)
		total = ok ? maxseq + 1 : 0;
	for (s = 0, run_len = 0; s <= total && s < MAX_SEQ; s++) {
		if (s < total && !(seen[s / 8] & (1u << (s % 8)))) {
			run_len++;
			continue;
		}
		if (!run_len)
			continue;
		missing += run_len;
		if (run_len > maxgap)
			maxgap = run_len;
		if (ngaps++ < MAX_GAPS)
			gl += snprintf(gaps + gl, sizeof(gaps) - gl, "%s%u-%u",
				       gl ? "," : "", s - run_len, s - 1);
		run_len = 0;
	}
	if (ngaps > MAX_GAPS)
		snprintf(gaps + gl, sizeof(gaps) - gl, ",...");
	printf("VXDP-RESULT %s end=%d total=%u rx=%u ok=%u bad=%u stale=%u dup=%u reorder=%u missing=%u maxgap=%u gaps=%s\n",
	       name, end, total, rx, ok, bad, stale, dup, reorder, missing,
	       maxgap, gl ? gaps : "none");
	fflush(stdout);
	return end ? 0 : 1;
}
