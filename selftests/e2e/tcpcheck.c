// SPDX-License-Identifier: GPL-2.0
/* Both ends of a byte-checked TCP stream, for selftests/e2e/test_qemu_offload.sh:
 * one side writes a known pattern in writes of odd sizes, the other reads
 * and checks every byte, so a segment the relay cut, joined, checksummed or
 * placed wrong shows up as the first bad offset (a bad checksum the stacks
 * drop shows up as a stall, then a timeout). The test builds it static for
 * the guest (appended to its initramfs) and for the peer.
 *
 *   vxdp-tcpcheck serve NAME PORT send|recv BYTES TIMEOUT-S
 *   vxdp-tcpcheck connect NAME ADDR PORT send|recv BYTES TIMEOUT-S
 *
 * serve listens on PORT (IPv6 socket taking IPv4 too, or IPv4 only when the
 * kernel has no IPv6), prints "VXDP-TCPCHECK-READY NAME", takes one
 * connection; connect connects to ADDR (IPv4 or IPv6). Either end then
 * sends or receives BYTES. Byte i of the stream is pattern[i % 65521]
 * (a prime: no segment size misplaces data onto an equal copy).
 * At the end (or on error or timeout) one line:
 *   VXDP-RESULT NAME ok=0|1 bytes=N bad_at=OFFSET|-1 mbps=X err=WHAT
 * Exit 0 when ok=1.
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define PERIOD	65521u
#define BUF	(256 * 1024)

static uint8_t pattern[PERIOD + BUF];
static uint8_t buf[BUF];
static const char *name = "?";

/* Writes cycle through these: odd sizes around the MSS and 64 KiB, and
 * small ones, so segments of every length and odd payload offsets occur.
 */
static const size_t write_sizes[] = {
	1, 1447, 1449, 65535, 3, 100003, 8191, 40000, 1448, 131071, 7, 65521,
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void result(int ok, unsigned long long bytes, long long bad_at,
		   double secs, const char *err)
{
	printf("VXDP-RESULT %s ok=%d bytes=%llu bad_at=%lld mbps=%.0f err=%s\n",
	       name, ok, bytes, bad_at, secs > 0 ? bytes * 8 / secs / 1e6 : 0.0, err);
	fflush(stdout);
	exit(ok ? 0 : 1);
}

static void on_alarm(int sig)
{
	(void)sig;
	printf("VXDP-RESULT %s ok=0 bytes=0 bad_at=-1 mbps=0 err=timeout\n", name);
	fflush(stdout);
	_exit(1);
}

static int run(int fd, int send_side, unsigned long long total)
{
	unsigned long long done = 0;
	double t0 = now();
	unsigned int w = 0;

	while (done < total) {
		size_t off = done % PERIOD, n;
		ssize_t r;

		if (send_side) {
			n = write_sizes[w++ % (sizeof(write_sizes) / sizeof(write_sizes[0]))];
			if (n > BUF)
				n = BUF;
			if (n > total - done)
				n = total - done;
			r = write(fd, pattern + off, n);
		} else {
			n = total - done < BUF ? total - done : BUF;
			r = read(fd, buf, n);
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			result(0, done, -1, now() - t0, send_side ? "write" : "read");
		if (!r)
			result(0, done, -1, now() - t0, "early-eof");
		if (!send_side && memcmp(buf, pattern + off, r)) {
			ssize_t i = 0;

			while (buf[i] == pattern[off + i])
				i++;
			result(0, done, (long long)(done + i), now() - t0, "mismatch");
		}
		done += r;
	}
	if (send_side) {
		/* Wait for the reader's close: every byte arrived. */
		shutdown(fd, SHUT_WR);
		if (read(fd, buf, 1) != 0)
			result(0, done, -1, now() - t0, "no-eof");
	} else {
		/* Nothing may follow. */
		if (read(fd, buf, 1) != 0)
			result(0, done, -1, now() - t0, "extra-bytes");
	}
	result(1, done, -1, now() - t0, "none");
	return 0;
}

static int serve(unsigned short port)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, zero = 0, fd, c;

	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd >= 0) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a6, sizeof(a6))) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			result(0, 0, -1, 0, "socket");
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a4, sizeof(a4)))
			result(0, 0, -1, 0, "bind");
	}
	if (listen(fd, 1))
		result(0, 0, -1, 0, "listen");
	printf("VXDP-TCPCHECK-READY %s\n", name);
	fflush(stdout);
	c = accept(fd, NULL, NULL);
	if (c < 0)
		result(0, 0, -1, 0, "accept");
	close(fd);
	return c;
}

static int dial(const char *addr, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST };
	struct addrinfo *ai;
	int fd;

	if (getaddrinfo(addr, port, &hints, &ai))
		result(0, 0, -1, 0, "address");
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen))
		result(0, 0, -1, 0, "connect");
	freeaddrinfo(ai);
	return fd;
}

int main(int argc, char **argv)
{
	unsigned long long bytes;
	int fd, send_side, i;
	unsigned int timeout;
	const char *mode;

	if (argc == 7 && !strcmp(argv[1], "serve")) {
		mode = argv[4];
		bytes = strtoull(argv[5], NULL, 10);
		timeout = strtoul(argv[6], NULL, 10);
	} else if (argc == 8 && !strcmp(argv[1], "connect")) {
		mode = argv[5];
		bytes = strtoull(argv[6], NULL, 10);
		timeout = strtoul(argv[7], NULL, 10);
	} else {
		fprintf(stderr, "usage: vxdp-tcpcheck serve NAME PORT send|recv BYTES TIMEOUT\n"
				"       vxdp-tcpcheck connect NAME ADDR PORT send|recv BYTES TIMEOUT\n");
		return 2;
	}
	name = argv[2];
	send_side = !strcmp(mode, "send");
	for (i = 0; i < (int)sizeof(pattern); i++) {
		uint32_t j = i % PERIOD;

		pattern[i] = (uint8_t)((j * 2654435761u) >> 24 ^ j);
	}
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);
	alarm(timeout);
	if (argv[1][0] == 's')
		fd = serve((unsigned short)atoi(argv[3]));
	else
		fd = dial(argv[3], argv[4]);
	return run(fd, send_side, bytes);
}
