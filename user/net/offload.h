/* SPDX-License-Identifier: GPL-2.0 */
/* Checksum and TCP segmentation offloads done in software, on frames in
 * buffers: the Internet checksum, bounded header parsing, cutting a TCP frame
 * of up to 64 KiB into MSS-sized ones (guest TSO), and the rules for joining
 * consecutive TCP segments of one flow into one (receive coalescing). Pure
 * functions: no I/O, no allocation, every offset checked against the length.
 */
#ifndef VXDP_OFFLOAD_H
#define VXDP_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Internet checksum (RFC 1071) ----
 * Partial sums are 32-bit ones' complement sums of the bytes as the CPU
 * loads them; folding and storing them the same way gives the checksum in
 * network order on any byte order.
 */
uint32_t csum_partial(const void *buf, size_t len, uint32_t sum);

static inline uint32_t csum_add(uint32_t a, uint32_t b)
{
	a += b;
	return a + (a < b);
}

/* The 16-bit checksum of partial sum @sum: folded and complemented. */
static inline uint16_t csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ---- headers ---- */

/* Where a frame's headers are, as far as they could be checked. */
struct net_hdrs {
	uint16_t l3_off;	/* IP header */
	uint16_t l4_off;	/* after IPv4 options / IPv6 extension headers */
	uint16_t l4_hlen;	/* TCP: data offset; UDP: 8; 0 otherwise */
	uint32_t end;		/* end of the IP packet (Ethernet padding after) */
	uint8_t ipv;		/* 4 or 6 */
	uint8_t proto;		/* the L4 protocol */
	bool frag;		/* an IP fragment: its L4 header cannot be used */
	bool ip_opts;		/* IPv4 options or IPv6 extension headers */
};

/* Parse Ethernet (up to two VLAN tags), IPv4 or IPv6 (hop-by-hop, routing,
 * destination options and fragment headers walked) and the TCP or UDP header
 * of the @len-byte frame @f. An IP length field of 0 means "to the frame's
 * end" (TSO); one claiming more than the frame holds is an error. Returns 0,
 * or -EPROTO when the frame is not IP or its headers do not fit.
 */
int net_parse(const uint8_t *f, uint32_t len, struct net_hdrs *h);

/* ---- guest TSO: one TCP frame into MSS-sized ones ---- */

/* Longest Ethernet-through-TCP header cut from (two VLAN tags, IPv6 with
 * extension headers or IPv4 with options, TCP with options).
 */
#define TSO_HDR_MAX	256
/* Smallest MSS taken; a smaller one would turn 64 KiB into thousands of
 * frames and is no TCP stack's choice (Linux's floor is 48 less options).
 */
#define TSO_MSS_MIN	32

struct tso {
	const uint8_t *f;
	uint32_t len;
	uint16_t l3_off, l4_off, hdr_len, mss;
	bool ipv6;
	bool done;		/* every segment handed out */
	uint16_t ip_id;		/* IPv4: the first segment's id */
	uint32_t seq;		/* the first segment's sequence number */
	uint32_t off;		/* next payload byte (from hdr_len) */
	uint32_t nseg;		/* segments handed out */
	uint32_t pseudo;	/* partial sum of the pseudo-header addresses and protocol */
};

/* Prepare to cut the @len-byte frame @f, TCP over IPv6 when @ipv6 else
 * IPv4, into segments of at most @mss payload bytes. The IP length fields
 * are not trusted: every segment's are computed. Returns 0, or -EINVAL
 * when it is not such a frame (fragment, headers out of bounds or over
 * TSO_HDR_MAX, @mss below TSO_MSS_MIN).
 */
int tso_start(struct tso *t, const uint8_t *f, uint32_t len, bool ipv6,
	      uint16_t mss);

/* Length of the next segment (headers and payload). */
static inline uint32_t tso_next_len(const struct tso *t)
{
	uint32_t left = t->len - t->off;

	return t->hdr_len + (left < t->mss ? left : t->mss);
}

/* The next segment: its headers into @hdr (t->hdr_len bytes: lengths, IPv4
 * id and header checksum, sequence number, flags and TCP checksum done),
 * its payload at *@payload. Returns the payload length. FIN and PSH stay
 * on the last segment only, CWR on the first only.
 */
uint32_t tso_next(struct tso *t, uint8_t *hdr, const uint8_t **payload);

/* ---- receive side: checksums verified, segments joined ---- */

/* A received TCP segment that may be joined to its neighbours. */
struct gro_seg {
	const uint8_t *f;
	uint16_t l3_off, l4_off, hdr_len;	/* hdr_len: through TCP */
	uint16_t payload;
	uint32_t seq;
	bool ipv6;
	bool last;		/* PSH or short: may end a run, not continue one */
};

enum net_rx_csum {
	NET_RX_UNCHECKED,	/* not TCP/UDP over IP, a fragment, or bad */
	NET_RX_CSUM_OK,		/* L4 checksum verified */
	NET_RX_GRO,		/* verified, and a TCP segment @seg may join */
};

/* Verify the TCP or UDP checksum of the @len-byte frame @f (and an IPv4
 * header's). A bad checksum is NET_RX_UNCHECKED: the guest's stack finds
 * and counts it. With @seg non-NULL, a data-carrying TCP segment with only
 * ACK (PSH, ECE) set, no IP options, fragment or padding, is described in
 * @seg and NET_RX_GRO returned.
 */
enum net_rx_csum net_rx_check(const uint8_t *f, uint32_t len,
			      struct gro_seg *seg);

/* Largest joined frame's IP payload: IPv4's and IPv6's length fields. */
#define GRO_MAX_IP_LEN	65535

/* Whether @s can follow @last in the run that started with @first (of
 * @payload bytes so far): same flow and headers byte for byte but for
 * lengths, IPv4 id and checksums, its sequence number next, @last not
 * ending the run, @first's payload size (the MSS) not exceeded, and the
 * joined IP length within GRO_MAX_IP_LEN.
 */
bool gro_can_join(const struct gro_seg *first, const struct gro_seg *last,
		  const struct gro_seg *s, uint32_t payload);

/* The joined frame's headers (first->hdr_len bytes) into @hdr: @first's,
 * with the lengths for @payload bytes, a fresh IPv4 header checksum, PSH
 * if @psh, and the TCP checksum field holding the pseudo-header sum, for
 * a checksum to be completed from first->l4_off on (NEEDS_CSUM).
 */
void gro_build(uint8_t *hdr, const struct gro_seg *first, uint32_t payload,
	       bool psh);

#endif
