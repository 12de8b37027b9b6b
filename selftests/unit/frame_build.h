/* SPDX-License-Identifier: GPL-2.0 */
/* TCP/UDP test frames for the offload tests, checksummed by a byte-wise
 * reference sum (not the code under test): IPv4 or IPv6, with or without
 * an 802.1Q tag, TCP with timestamps. Shared by test_offload.c and
 * test_virtio_net.c.
 */
#ifndef VXDP_FRAME_BUILD_H
#define VXDP_FRAME_BUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct fb {
	bool ipv6, vlan, udp;
	uint32_t payload;	/* bytes after the L4 header */
	uint32_t seq;
	uint8_t flags;		/* TCP flags byte (0x10: ACK) */
	uint16_t ip_id;
	uint32_t tsval;		/* TCP timestamp option value */
	uint16_t sport;
	uint32_t pay_seed;	/* payload byte i = fb_pay(pay_seed + i) */
};

static inline uint8_t fb_pay(uint32_t i)
{
	return (uint8_t)((i * 2654435761u) >> 24);
}

/* Reference ones' complement sum of big-endian 16-bit words. */
static inline uint32_t fb_sum(const uint8_t *p, uint32_t len, uint32_t sum)
{
	uint32_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static inline void fb_put16(uint8_t *p, uint32_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline void fb_put32(uint8_t *p, uint32_t v)
{
	fb_put16(p, v >> 16);
	fb_put16(p + 2, v);
}

static inline uint32_t fb_l3(const struct fb *b)
{
	return b->vlan ? 18 : 14;
}

static inline uint32_t fb_l4(const struct fb *b)
{
	return fb_l3(b) + (b->ipv6 ? 40 : 20);
}

static inline uint32_t fb_l4_hlen(const struct fb *b)
{
	return b->udp ? 8 : 32;	/* TCP: 20 + NOP NOP timestamps */
}

static inline uint32_t fb_len(const struct fb *b)
{
	return fb_l4(b) + fb_l4_hlen(b) + b->payload;
}

/* The L4 checksum of the frame at @f, by the reference sum. */
static inline uint16_t fb_l4_csum(const struct fb *b, const uint8_t *f)
{
	uint32_t l3 = fb_l3(b), l4 = fb_l4(b), l4len = fb_len(b) - l4, sum;

	sum = fb_sum(f + l3 + (b->ipv6 ? 8 : 12), b->ipv6 ? 32 : 8, 0);
	sum = fb_sum(f + l4, l4len, sum + (b->udp ? 17 : 6) + l4len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Write the frame into @f (fb_len() bytes); returns its length. */
static inline uint32_t fb_build(const struct fb *b, uint8_t *f)
{
	uint32_t l3 = fb_l3(b), l4 = fb_l4(b), len = fb_len(b), i;
	uint16_t c;

	memset(f, 0, l4 + fb_l4_hlen(b));
	memcpy(f, "\x52\x54\x00\x12\x34\x56\x02\x00\x00\x00\x00\x01", 12);
	if (b->vlan) {
		fb_put16(f + 12, 0x8100);
		fb_put16(f + 14, 100);
	}
	fb_put16(f + l3 - 2, b->ipv6 ? 0x86dd : 0x0800);
	if (b->ipv6) {
		f[l3] = 0x60;
		fb_put16(f + l3 + 4, len - l3 - 40);
		f[l3 + 6] = b->udp ? 17 : 6;
		f[l3 + 7] = 64;
		f[l3 + 8] = 0x20;
		f[l3 + 9] = 0x01;
		f[l3 + 10] = 0x0d;
		f[l3 + 11] = 0xb8;
		f[l3 + 23] = 1;
		memcpy(f + l3 + 24, f + l3 + 8, 16);
		f[l3 + 39] = 2;
	} else {
		f[l3] = 0x45;
		fb_put16(f + l3 + 2, len - l3);
		fb_put16(f + l3 + 4, b->ip_id);
		f[l3 + 6] = 0x40;	/* DF */
		f[l3 + 8] = 64;
		f[l3 + 9] = b->udp ? 17 : 6;
		fb_put32(f + l3 + 12, 0xc0000201);
		fb_put32(f + l3 + 16, 0xc0000202);
		c = (uint16_t)~fb_sum(f + l3, 20, 0);
		fb_put16(f + l3 + 10, c);
	}
	fb_put16(f + l4, b->sport ? b->sport : 40000);
	fb_put16(f + l4 + 2, 5201);
	if (b->udp) {
		fb_put16(f + l4 + 4, len - l4);
	} else {
		fb_put32(f + l4 + 4, b->seq);
		fb_put32(f + l4 + 8, 0x01020304);
		f[l4 + 12] = 8 << 4;
		f[l4 + 13] = b->flags;
		fb_put16(f + l4 + 14, 502);
		f[l4 + 20] = 1;
		f[l4 + 21] = 1;
		f[l4 + 22] = 8;
		f[l4 + 23] = 10;
		fb_put32(f + l4 + 24, b->tsval);
		fb_put32(f + l4 + 28, 0x11223344);
	}
	for (i = 0; i < b->payload; i++)
		f[l4 + fb_l4_hlen(b) + i] = fb_pay(b->pay_seed + i);
	c = fb_l4_csum(b, f);
	fb_put16(f + l4 + (b->udp ? 6 : 16), c);
	return len;
}

/* Whether the L4 checksum of the frame at @f (built from @b, lengths as
 * given) and, for IPv4, its header checksum hold, by the reference sum.
 */
static inline bool fb_csum_ok(const struct fb *b, const uint8_t *f)
{
	uint32_t l3 = fb_l3(b);

	if (!b->ipv6 && fb_sum(f + l3, 20, 0) != 0xffff)
		return false;
	return fb_l4_csum(b, f) == 0;
}

#endif
