// SPDX-License-Identifier: GPL-2.0
/* Flow hash for rx queue spreading: header parsing bounded by the frame
 * length, and a small integer mix (no table, no state).
 */
#include <string.h>
#include <netinet/in.h>
#include <linux/if_ether.h>

#include "flow_hash.h"

static uint32_t mix(uint32_t h, uint32_t v)
{
	/* murmur3's 32-bit block step: cheap and spreads well */
	v *= 0xcc9e2d51;
	v = (v << 15) | (v >> 17);
	v *= 0x1b873593;
	h ^= v;
	h = (h << 13) | (h >> 19);
	return h * 5 + 0xe6546b64;
}

static uint32_t mix_bytes(uint32_t h, const uint8_t *p, uint32_t n)
{
	uint32_t v;

	for (; n >= 4; p += 4, n -= 4) {
		memcpy(&v, p, 4);
		h = mix(h, v);
	}
	for (v = 0; n; n--)
		v = (v << 8) | *p++;
	return mix(h, v);
}

static uint32_t finish(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	return h ^ (h >> 16);
}

static int has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == IPPROTO_SCTP || proto == IPPROTO_UDPLITE;
}

uint32_t flow_hash(const void *frame, uint32_t len)
{
	const uint8_t *p = frame;
	uint32_t off = ETH_HLEN, h = 0x9747b28c, l4 = 0;
	uint16_t proto;
	uint8_t l4proto;
	int vlans;

	if (len < ETH_HLEN)
		return finish(mix_bytes(h, p, len));
	proto = (uint16_t)(p[12] << 8 | p[13]);
	for (vlans = 0; vlans < 2 && (proto == ETH_P_8021Q || proto == ETH_P_8021AD); vlans++) {
		if (len < off + 4)
			goto macs;
		proto = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
		off += 4;
	}
	if (proto == ETH_P_IP) {
		uint32_t ihl;

		if (len < off + 20)
			goto macs;
		ihl = (p[off] & 0xf) * 4u;
		l4proto = p[off + 9];
		h = mix_bytes(h, p + off + 12, 8);
		/* Fragments after the first carry no ports: hash addresses
		 * only, for every fragment, so they stay together.
		 */
		if (ihl >= 20 && !(p[off + 6] & 0x3f) && !p[off + 7] && has_ports(l4proto))
			l4 = off + ihl;
	} else if (proto == ETH_P_IPV6) {
		if (len < off + 40)
			goto macs;
		l4proto = p[off + 6];
		h = mix_bytes(h, p + off + 8, 32);
		/* Extension headers are not walked: such flows hash by address. */
		if (has_ports(l4proto))
			l4 = off + 40;
	} else {
		goto macs;
	}
	h = mix(h, l4proto);
	if (l4 && len >= l4 + 4)
		h = mix_bytes(h, p + l4, 4);
	return finish(h);
macs:
	return finish(mix_bytes(h, p, 12));
}
