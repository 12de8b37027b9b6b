// SPDX-License-Identifier: GPL-2.0
/* Software checksum and TCP segmentation offloads on frames in buffers:
 * what a NIC does for a host, done by the relay for its guest. Every header
 * is bounds-checked before it is read; nothing here trusts a length field.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/if_ether.h>

#include "offload.h"

#define TCP_FIN	0x01
#define TCP_PSH	0x08
#define TCP_ACK	0x10
#define TCP_ECE	0x40
#define TCP_CWR	0x80

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | p[2] << 8 | p[3];
}

static void put_be16(uint8_t *p, uint32_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* s += w, the carry out counted in c. */
#define CSUM_ADD64(s, c, w)		\
	do {				\
		uint64_t w_ = (w);	\
					\
		(s) += w_;		\
		(c) += (s) < w_;	\
	} while (0)

uint32_t csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	/* 64-bit words with their carries counted apart (the compiler makes
	 * that an add and an add-with-carry, 11 instructions per 32 bytes);
	 * the end-around carry is taken once, at the end: ones' complement
	 * sums fold in any width.
	 */
	uint64_t s = sum, c = 0;
	uint32_t t = 0;
	uint16_t h = 0;

	for (; len >= 32; p += 32, len -= 32) {
		CSUM_ADD64(s, c, load64(p));
		CSUM_ADD64(s, c, load64(p + 8));
		CSUM_ADD64(s, c, load64(p + 16));
		CSUM_ADD64(s, c, load64(p + 24));
	}
	for (; len >= 8; p += 8, len -= 8)
		CSUM_ADD64(s, c, load64(p));
	if (len >= 4) {
		memcpy(&t, p, 4);
		CSUM_ADD64(s, c, t);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		CSUM_ADD64(s, c, h);
		p += 2;
		len -= 2;
	}
	if (len) {
		/* The odd byte is the first of a zero-padded 16-bit word. */
		h = 0;
		memcpy(&h, p, 1);
		CSUM_ADD64(s, c, h);
	}
	s += c;
	s += s < c;
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

/* Store checksum @c (already folded and complemented) at @p. */
static void csum_store(uint8_t *p, uint16_t c)
{
	memcpy(p, &c, 2);
}

int net_parse(const uint8_t *f, uint32_t len, struct net_hdrs *h)
{
	uint32_t off = ETH_HLEN, l4, end;
	uint16_t type;
	int i;

	memset(h, 0, sizeof(*h));
	if (len < ETH_HLEN || len > 0xffffff)
		return -EPROTO;
	type = get_be16(f + 12);
	for (i = 0; i < 2 && (type == ETH_P_8021Q || type == ETH_P_8021AD); i++) {
		if (len < off + 4)
			return -EPROTO;
		type = get_be16(f + off + 2);
		off += 4;
	}
	h->l3_off = off;
	if (type == ETH_P_IP) {
		uint32_t ihl, tot;

		if (len < off + 20 || f[off] >> 4 != 4)
			return -EPROTO;
		ihl = (f[off] & 0xf) * 4u;
		tot = get_be16(f + off + 2);
		end = tot ? off + tot : len;
		if (ihl < 20 || (tot && tot < ihl) || end > len || off + ihl > end)
			return -EPROTO;
		h->ipv = 4;
		h->proto = f[off + 9];
		/* MF or a fragment offset */
		h->frag = get_be16(f + off + 6) & 0x3fff;
		h->ip_opts = ihl > 20;
		l4 = off + ihl;
	} else if (type == ETH_P_IPV6) {
		uint32_t plen;
		uint8_t nh;

		if (len < off + 40 || f[off] >> 4 != 6)
			return -EPROTO;
		plen = get_be16(f + off + 4);
		end = plen ? off + 40 + plen : len;
		if (end > len)
			return -EPROTO;
		nh = f[off + 6];
		l4 = off + 40;
		for (i = 0; !h->frag; i++) {
			uint32_t hl;

			if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING &&
			    nh != IPPROTO_DSTOPTS && nh != IPPROTO_FRAGMENT)
				break;
			/* A chain this long is no real stack's: give up. */
			if (i == 8 || end < l4 + 8)
				return -EPROTO;
			hl = nh == IPPROTO_FRAGMENT ? 8 : (f[l4 + 1] + 1u) * 8;
			if (end < l4 + hl)
				return -EPROTO;
			h->frag = nh == IPPROTO_FRAGMENT;
			nh = f[l4];
			l4 += hl;
		}
		h->ipv = 6;
		h->proto = nh;
		h->ip_opts = l4 > off + 40;
	} else {
		return -EPROTO;
	}
	h->l4_off = l4;
	h->end = end;
	if (h->frag)
		return 0;
	if (h->proto == IPPROTO_TCP) {
		uint32_t doff;

		if (end < l4 + 20)
			return -EPROTO;
		doff = (f[l4 + 12] >> 4) * 4u;
		if (doff < 20 || end < l4 + doff)
			return -EPROTO;
		h->l4_hlen = doff;
	} else if (h->proto == IPPROTO_UDP) {
		if (end < l4 + 8)
			return -EPROTO;
		h->l4_hlen = 8;
	}
	return 0;
}

/* Partial sum of the pseudo-header's addresses and protocol (the length is
 * added per segment): IPv4's 8 address bytes at @ip + 12, IPv6's 32 at
 * @ip + 8. The upper-layer length and protocol are big-endian words; loaded
 * as the CPU loads the rest, they add as htons() of their values.
 */
static uint32_t pseudo_sum(const uint8_t *ip, bool ipv6, uint8_t proto)
{
	return csum_partial(ip + (ipv6 ? 8 : 12), ipv6 ? 32 : 8, htons(proto));
}

static void ipv4_set_csum(uint8_t *ip, uint32_t ihl)
{
	ip[10] = 0;
	ip[11] = 0;
	csum_store(ip + 10, csum_fold(csum_partial(ip, ihl, 0)));
}

int tso_start(struct tso *t, const uint8_t *f, uint32_t len, bool ipv6,
	      uint16_t mss)
{
	struct net_hdrs h;
	uint32_t hdr_len;

	if (mss < TSO_MSS_MIN || net_parse(f, len, &h))
		return -EINVAL;
	if (h.ipv != (ipv6 ? 6 : 4) || h.proto != IPPROTO_TCP || h.frag || !h.l4_hlen)
		return -EINVAL;
	hdr_len = h.l4_off + h.l4_hlen;
	if (hdr_len > TSO_HDR_MAX)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->f = f;
	t->len = len;
	t->l3_off = h.l3_off;
	t->l4_off = h.l4_off;
	t->hdr_len = hdr_len;
	t->mss = mss;
	t->ipv6 = ipv6;
	t->off = hdr_len;
	t->seq = get_be32(f + h.l4_off + 4);
	t->ip_id = ipv6 ? 0 : get_be16(f + h.l3_off + 4);
	t->pseudo = pseudo_sum(f + h.l3_off, ipv6, IPPROTO_TCP);
	return 0;
}

uint32_t tso_next(struct tso *t, uint8_t *hdr, const uint8_t **payload)
{
	uint32_t left = t->len - t->off, n = left < t->mss ? left : t->mss;
	uint32_t thlen = t->hdr_len - t->l4_off, sum;
	uint8_t *ip = hdr + t->l3_off, *th = hdr + t->l4_off;
	bool last = n == left;

	memcpy(hdr, t->f, t->hdr_len);
	if (t->ipv6) {
		put_be16(ip + 4, t->hdr_len - t->l3_off - 40 + n);
	} else {
		put_be16(ip + 2, t->hdr_len - t->l3_off + n);
		put_be16(ip + 4, (uint16_t)(t->ip_id + t->nseg));
		ipv4_set_csum(ip, t->l4_off - t->l3_off);
	}
	put_be32(th + 4, t->seq + (t->off - t->hdr_len));
	if (!last)
		th[13] &= ~(TCP_FIN | TCP_PSH);
	if (t->nseg)
		th[13] &= ~TCP_CWR;
	th[16] = 0;
	th[17] = 0;
	/* The TCP header is a multiple of 4 bytes: the payload's sum needs
	 * no byte swap to continue it.
	 */
	sum = csum_add(t->pseudo, htons(thlen + n));
	sum = csum_partial(th, thlen, sum);
	sum = csum_partial(t->f + t->off, n, sum);
	csum_store(th + 16, csum_fold(sum));
	*payload = t->f + t->off;
	t->off += n;
	t->nseg++;
	t->done = last;
	return n;
}

enum net_rx_csum net_rx_check(const uint8_t *f, uint32_t len,
			      struct gro_seg *seg)
{
	struct net_hdrs h;
	const uint8_t *ip, *th;
	uint32_t l4len, sum, payload;
	uint8_t flags;

	if (net_parse(f, len, &h) || h.frag || !h.l4_hlen)
		return NET_RX_UNCHECKED;
	ip = f + h.l3_off;
	if (h.ipv == 4 && csum_fold(csum_partial(ip, h.l4_off - h.l3_off, 0)))
		return NET_RX_UNCHECKED;
	l4len = h.end - h.l4_off;
	sum = csum_add(pseudo_sum(ip, h.ipv == 6, h.proto), htons(l4len));
	if (csum_fold(csum_partial(f + h.l4_off, l4len, sum)))
		return NET_RX_UNCHECKED;
	/* Joined segments get one IP header: theirs must be plain. */
	if (!seg || h.proto != IPPROTO_TCP || h.ip_opts || h.end != len)
		return NET_RX_CSUM_OK;
	th = f + h.l4_off;
	flags = th[13];
	payload = l4len - h.l4_hlen;
	if (!payload || !(flags & TCP_ACK) || (flags & ~(TCP_ACK | TCP_PSH | TCP_ECE)))
		return NET_RX_CSUM_OK;
	seg->f = f;
	seg->l3_off = h.l3_off;
	seg->l4_off = h.l4_off;
	seg->hdr_len = h.l4_off + h.l4_hlen;
	seg->payload = payload;
	seg->seq = get_be32(th + 4);
	seg->ipv6 = h.ipv == 6;
	seg->last = flags & TCP_PSH;
	return NET_RX_GRO;
}

/* Bytes [from, to) of two headers equal. */
static bool same(const uint8_t *a, const uint8_t *b, uint32_t from, uint32_t to)
{
	return !memcmp(a + from, b + from, to - from);
}

bool gro_can_join(const struct gro_seg *first, const struct gro_seg *last,
		  const struct gro_seg *s, uint32_t payload)
{
	const uint8_t *a = first->f, *b = s->f;
	uint32_t l3 = first->l3_off, l4 = first->l4_off;

	if (last->last || last->payload != first->payload || s->payload > first->payload)
		return false;
	if (s->ipv6 != first->ipv6 || s->l3_off != l3 || s->l4_off != l4 ||
	    s->hdr_len != first->hdr_len || s->seq != last->seq + last->payload)
		return false;
	if (first->hdr_len - l3 - (first->ipv6 ? 40 : 0) + payload + s->payload > GRO_MAX_IP_LEN)
		return false;
	/* Ethernet and VLAN tags; then IP but for the lengths, the IPv4 id
	 * and header checksum; then TCP but for the sequence number, PSH and
	 * the checksum (urgent pointer and options included).
	 */
	if (!same(a, b, 0, l3))
		return false;
	if (first->ipv6) {
		if (!same(a, b, l3, l3 + 4) || !same(a, b, l3 + 6, l4))
			return false;
	} else if (!same(a, b, l3, l3 + 2) || !same(a, b, l3 + 6, l3 + 10) ||
		   !same(a, b, l3 + 12, l4)) {
		return false;
	}
	return same(a, b, l4, l4 + 4) && same(a, b, l4 + 8, l4 + 13) &&
	       (a[l4 + 13] | TCP_PSH) == (b[l4 + 13] | TCP_PSH) &&
	       same(a, b, l4 + 14, l4 + 16) && same(a, b, l4 + 18, first->hdr_len);
}

void gro_build(uint8_t *hdr, const struct gro_seg *first, uint32_t payload,
	       bool psh)
{
	uint8_t *ip = hdr + first->l3_off, *th = hdr + first->l4_off;
	uint32_t l4len = first->hdr_len - first->l4_off + payload;

	memcpy(hdr, first->f, first->hdr_len);
	if (first->ipv6) {
		put_be16(ip + 4, first->hdr_len - first->l3_off - 40 + payload);
	} else {
		put_be16(ip + 2, first->hdr_len - first->l3_off + payload);
		ipv4_set_csum(ip, first->l4_off - first->l3_off);
	}
	if (psh)
		th[13] |= TCP_PSH;
	/* NEEDS_CSUM: the field holds the pseudo-header's sum, folded but
	 * not complemented, for the sum from l4_off on to complete.
	 */
	csum_store(th + 16, (uint16_t)~csum_fold(csum_add(pseudo_sum(ip, first->ipv6, IPPROTO_TCP),
							    htons(l4len))));
}
