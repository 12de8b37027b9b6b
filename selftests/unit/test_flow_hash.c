// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the flow hash: same flow same hash, flows spread, bounded
 * parsing of short and odd frames.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/flow_hash.h"
#include "ktap.h"

/* An Ethernet + IPv4 + UDP frame; vlan adds one 802.1Q tag. */
static uint32_t udp4(uint8_t *f, uint32_t src, uint32_t dst, uint16_t sport,
		     uint16_t dport, int vlan, uint8_t payload)
{
	uint32_t o = 14;

	memset(f, 0, 128);
	memcpy(f, "\x52\x54\x00\x00\x00\x01\x52\x54\x00\x00\x00\x02", 12);
	if (vlan) {
		f[12] = 0x81; f[13] = 0x00; f[14] = 0; f[15] = 7;
		o += 4;
	}
	f[o - 2] = 0x08; f[o - 1] = 0x00;
	f[o] = 0x45; f[o + 9] = 17;
	memcpy(f + o + 12, &src, 4);
	memcpy(f + o + 16, &dst, 4);
	f[o + 20] = sport >> 8; f[o + 21] = sport & 0xff;
	f[o + 22] = dport >> 8; f[o + 23] = dport & 0xff;
	f[o + 28] = payload;
	return o + 40;
}

int main(void)
{
	uint8_t a[128], b[128];
	unsigned int buckets[4] = { 0 }, i, min, max;
	uint32_t la, lb, h;

	ktap_plan(8);

	la = udp4(a, 0x0100000a, 0x0200000a, 1000, 5201, 0, 1);
	lb = udp4(b, 0x0100000a, 0x0200000a, 1000, 5201, 0, 2);
	KTAP_CHECK(flow_hash(a, la) == flow_hash(b, lb), "same 5-tuple, other payload: same hash");

	lb = udp4(b, 0x0100000a, 0x0200000a, 1001, 5201, 0, 1);
	KTAP_CHECK(flow_hash(a, la) != flow_hash(b, lb), "other source port: other hash");

	lb = udp4(b, 0x0100000a, 0x0200000a, 1000, 5201, 1, 1);
	KTAP_CHECK(flow_hash(a, la) == flow_hash(b, lb), "VLAN tag does not change the flow's hash");

	/* a non-first fragment hashes like the first (addresses only) */
	la = udp4(a, 0x0100000a, 0x0200000a, 1000, 5201, 0, 1);
	a[14 + 6] = 0x20;	/* MF */
	lb = udp4(b, 0x0100000a, 0x0200000a, 0, 0, 0, 1);
	b[14 + 7] = 0x10;	/* offset != 0 */
	KTAP_CHECK(flow_hash(a, la) == flow_hash(b, lb), "fragments of one datagram share a hash");

	for (i = 0; i < 4000; i++) {
		la = udp4(a, 0x0100000a + (i << 24), 0x0200000a, 1024 + i, 5201, 0, 0);
		buckets[flow_hash(a, la) % 4]++;
	}
	min = max = buckets[0];
	for (i = 1; i < 4; i++) {
		min = buckets[i] < min ? buckets[i] : min;
		max = buckets[i] > max ? buckets[i] : max;
	}
	ktap_diag("4000 flows over 4 queues: %u %u %u %u", buckets[0], buckets[1],
		  buckets[2], buckets[3]);
	KTAP_CHECK(min > 800 && max < 1200, "4000 flows spread evenly over 4 queues (+-20%)");

	/* Truncated frames: exact-length copies (ASan sees any overread), and
	 * one cut inside its IP header falls back to the MAC-only hash.
	 */
	memset(b, 0, sizeof(b));
	la = udp4(a, 1, 2, 3, 4, 1, 0);
	memcpy(b, a, 12);
	b[12] = 0x08; b[13] = 0x06;
	h = flow_hash(b, 60);
	min = 1;
	for (i = 0; i <= 60; i++) {
		uint8_t *t = malloc(i ? i : 1);

		memcpy(t, a, i);
		if (i >= 14 && i < 18 + 20 && flow_hash(t, i) != h)
			min = 0;
		free(t);
	}
	KTAP_CHECK(min, "frames cut inside the VLAN or IP header hash by MACs, no overread");

	memset(a, 0, sizeof(a));
	a[12] = 0x08; a[13] = 0x06;	/* ARP: MACs only */
	memcpy(b, a, sizeof(b));
	b[20] = 0xff;
	KTAP_CHECK(flow_hash(a, 60) == flow_hash(b, 60), "non-IP frames hash by MAC addresses");
	b[0] = 0x01;
	KTAP_CHECK(flow_hash(a, 60) != flow_hash(b, 60), "other destination MAC: other hash");
	return ktap_finish();
}
