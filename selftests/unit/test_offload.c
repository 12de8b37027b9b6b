// SPDX-License-Identifier: GPL-2.0
/* Unit tests of user/net/offload.c: the checksum against a byte-wise
 * reference, TSO segments checked field by field and joined back into the
 * original frame, the joining rules, and hostile headers (truncated, lying
 * lengths, absurd MSS, random bytes) refused without reading past the
 * frame: every frame lives in a buffer of exactly its length, so a
 * sanitizer build (make SANITIZE=1) turns an over-read into a failure.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/offload.h"
#include "frame_build.h"
#include "ktap.h"

#define BIG	(14 + 4 + 40 + 65535)

/* room for test_gro_limit's 72 KiB frame */
static uint8_t orig[96 * 1024], seg[TSO_HDR_MAX + 65535];

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

/* @len bytes of @src in a heap buffer of exactly that size. */
static uint8_t *exact(const uint8_t *src, uint32_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	if (!p)
		exit(1);
	memcpy(p, src, len);
	return p;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | p[2] << 8 | p[3];
}

static int test_csum(void)
{
	static const uint8_t rfc[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint8_t buf[300];
	uint32_t i, len, off, ok = 1;
	uint16_t c;

	/* RFC 1071's example sums to 0xddf2. */
	c = csum_fold(csum_partial(rfc, sizeof(rfc), 0));
	ok &= be16((uint8_t *)&c) == (uint16_t)~0xddf2;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = rnd();
	for (len = 0; len < 260; len++) {
		for (off = 0; off < 4; off++) {
			c = csum_fold(csum_partial(buf + off, len, 0));
			if (be16((uint8_t *)&c) != (uint16_t)~fb_sum(buf + off, len, 0)) {
				ktap_diag("csum_partial: len %u off %u differs", len, off);
				ok = 0;
			}
		}
	}
	/* All ones (the sum's worst case) over 64 KiB, in two pieces. */
	memset(seg, 0xff, 65536);
	c = csum_fold(csum_add(csum_partial(seg, 30000, 0),
			       csum_partial(seg + 30000, 65536 - 30000, 0)));
	ok &= c == 0;
	return ok;
}

/* Cut @b's frame with @mss; check every segment and that the payloads put
 * back together are the original's. Returns the number of segments, 0 on
 * a failure.
 */
static uint32_t tso_check(const struct fb *b, uint16_t mss, const char *what)
{
	uint32_t len = fb_build(b, orig), l3 = fb_l3(b), l4 = fb_l4(b);
	uint32_t hlen = fb_l4(b) + fb_l4_hlen(b), got = 0, n, i;
	uint8_t *f = exact(orig, len);
	const uint8_t *pl;
	struct tso t;
	struct fb sb;

	if (tso_start(&t, f, len, b->ipv6, mss)) {
		ktap_diag("%s: tso_start refused", what);
		free(f);
		return 0;
	}
	for (i = 0; !t.done; i++) {
		uint32_t want = b->payload - got < mss ? b->payload - got : mss;
		bool first = !i, last = got + want == b->payload;
		uint8_t flags = b->flags;

		if (tso_next_len(&t) != hlen + want)
			goto bad;
		n = tso_next(&t, seg, &pl);
		if (n != want)
			goto bad;
		memcpy(seg + hlen, pl, n);
		if (memcmp(seg + hlen, orig + hlen + got, n))
			goto bad;
		if (!last)
			flags &= ~0x09;		/* FIN, PSH */
		if (!first)
			flags &= ~0x80;		/* CWR */
		/* The segment as the reference builder would make it. */
		sb = *b;
		sb.payload = n;
		sb.seq = b->seq + got;
		sb.flags = flags;
		sb.ip_id = b->ip_id + i;
		if (be32(seg + l4 + 4) != sb.seq || seg[l4 + 13] != flags ||
		    (!b->ipv6 && (be16(seg + l3 + 4) != (uint16_t)sb.ip_id ||
				  be16(seg + l3 + 2) != hlen + n - l3)) ||
		    (b->ipv6 && be16(seg + l3 + 4) != hlen + n - l3 - 40) ||
		    !fb_csum_ok(&sb, seg))
			goto bad;
		if (net_rx_check(seg, hlen + n, NULL) != NET_RX_CSUM_OK)
			goto bad;
		got += n;
	}
	free(f);
	if (got != b->payload) {
		ktap_diag("%s: %u of %u payload bytes", what, got, b->payload);
		return 0;
	}
	return i;
bad:
	ktap_diag("%s: segment %u (payload %u) wrong", what, i, got);
	free(f);
	return 0;
}

static int test_tso(void)
{
	struct fb b = { .payload = 65535 - 20 - 32, .seq = 0xfffff000, .flags = 0x10 | 0x08 | 0x01 | 0x80,
			.ip_id = 0xfff0, .tsval = 7 };
	int ok = 1;
	uint32_t n;

	/* 64 KiB over IPv4, seq and id wrapping, FIN/PSH/CWR */
	n = tso_check(&b, 1448, "ipv4 64k");
	ok &= n == (b.payload + 1447) / 1448;
	b.ipv6 = true;
	b.payload = 65535 - 32;
	ok &= tso_check(&b, 1428, "ipv6 64k") == (b.payload + 1427) / 1428;
	b.vlan = true;
	b.payload = 40001;	/* odd */
	ok &= tso_check(&b, 1000, "ipv6 vlan odd") == 41;
	b.ipv6 = false;
	ok &= tso_check(&b, 1448, "ipv4 vlan odd") == 28;
	b.payload = 100;
	ok &= tso_check(&b, 1448, "one segment") == 1;
	b.payload = 0;
	ok &= tso_check(&b, 1448, "no payload") == 1;
	b.payload = 3000;
	ok &= tso_check(&b, TSO_MSS_MIN, "smallest mss") == 94;
	return ok;
}

/* Every way of lying or truncating: refused, never an over-read. */
static int test_tso_hostile(void)
{
	struct fb b = { .payload = 3000, .flags = 0x10 };
	uint32_t len = fb_build(&b, orig), cut, i;
	struct tso t;
	uint8_t *f;
	int ok = 1;

	f = exact(orig, len);
	ok &= tso_start(&t, f, len, false, 0) == -EINVAL;
	ok &= tso_start(&t, f, len, false, TSO_MSS_MIN - 1) == -EINVAL;
	ok &= tso_start(&t, f, len, true, 1448) == -EINVAL;	/* says IPv6, is IPv4 */
	free(f);
	for (cut = 0; cut < fb_l4(&b) + fb_l4_hlen(&b); cut++) {
		f = exact(orig, cut);
		if (tso_start(&t, f, cut, false, 1448) != -EINVAL) {
			ktap_diag("frame cut at %u taken", cut);
			ok = 0;
		}
		free(f);
	}
	/* header fields that lie */
	{
		static const struct { uint32_t off; uint8_t val; const char *what; } lies[] = {
			{ 14, 0x44, "ihl 4" },
			{ 16, 0xff, "total length over the frame" },
			{ 16, 0x00, "total length below the headers" },
			{ 23, 17, "UDP" }, { 20, 0x20, "more fragments" },
			{ 21, 0x01, "fragment offset" },
			{ 46, 0x40, "data offset 4" }, { 14, 0x65, "version 6" },
		};

		for (i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
			f = exact(orig, len);
			f[lies[i].off] = lies[i].val;
			if (lies[i].off == 16)
				f[17] = lies[i].val ? 0xff : 10;
			if (!tso_start(&t, f, len, false, 1448)) {
				ktap_diag("lie taken: %s", lies[i].what);
				ok = 0;
			}
			free(f);
		}
	}
	/* TCP options running past a short frame */
	f = exact(orig, fb_l4(&b) + 24);
	f[16] = 0;		/* IP length 0: to the frame's end */
	f[17] = 0;
	f[fb_l4(&b) + 12] = 0xf0;
	ok &= tso_start(&t, f, fb_l4(&b) + 24, false, 1448) == -EINVAL;
	free(f);
	return ok;
}

/* Random bytes and random corruptions of good frames: nothing crashes or
 * reads past the frame; whatever is taken is cut within bounds.
 */
static int test_fuzz(void)
{
	struct fb b = { .payload = 5000, .flags = 0x18 };
	uint32_t len, i, j, n;
	struct gro_seg s;
	struct net_hdrs h;
	struct tso t;
	const uint8_t *pl;
	uint8_t *f;

	for (i = 0; i < 20000; i++) {
		b.ipv6 = rnd() & 1;
		b.vlan = rnd() & 1;
		b.payload = rnd() % 5000;
		len = fb_build(&b, orig);
		for (j = rnd() % 6; j; j--)
			orig[rnd() % (fb_l4(&b) + 40 < len ? fb_l4(&b) + 40 : len)] = rnd();
		if (rnd() % 4 == 0)
			len = rnd() % (len + 1);
		if (rnd() % 8 == 0)
			for (j = 0; j < len; j++)
				orig[j] = rnd();
		f = exact(orig, len);
		if (!net_parse(f, len, &h) &&
		    (h.l4_off > h.end || h.end > len || h.l4_off + h.l4_hlen > h.end)) {
			ktap_diag("net_parse: offsets out of the frame");
			free(f);
			return 0;
		}
		net_rx_check(f, len, &s);
		if (!tso_start(&t, f, len, b.ipv6, 100 + rnd() % 2000)) {
			while (!t.done) {
				n = tso_next(&t, seg, &pl);
				if (pl + n > f + len || pl < f) {
					ktap_diag("tso_next: payload out of the frame");
					free(f);
					return 0;
				}
			}
		}
		free(f);
	}
	return 1;
}

/* Segments made by TSO of @b, with the timestamp of segment i bumped for
 * i >= @ts_step (0: never); the caller frees them.
 */
static uint32_t make_segs(const struct fb *b, uint16_t mss, uint8_t **segs,
			  uint32_t *lens, uint32_t max)
{
	uint32_t len = fb_build(b, orig), n = 0;
	const uint8_t *pl;
	struct tso t;

	if (tso_start(&t, orig, len, b->ipv6, mss))
		return 0;
	while (!t.done && n < max) {
		uint32_t hl = t.hdr_len, pn = tso_next(&t, seg, &pl);

		memcpy(seg + hl, pl, pn);
		lens[n] = hl + pn;
		segs[n] = exact(seg, lens[n]);
		n++;
	}
	return n;
}

/* Join as gro would: how many of @n segments join the first. */
static uint32_t join_count(uint8_t **segs, uint32_t *lens, uint32_t n,
			   uint32_t *payload, struct gro_seg *first, bool *psh)
{
	struct gro_seg last, s;
	uint32_t k;

	if (net_rx_check(segs[0], lens[0], first) != NET_RX_GRO)
		return 0;
	last = *first;
	*payload = first->payload;
	for (k = 1; k < n; k++) {
		if (net_rx_check(segs[k], lens[k], &s) != NET_RX_GRO ||
		    !gro_can_join(first, &last, &s, *payload))
			break;
		last = s;
		*payload += s.payload;
	}
	*psh = last.last;
	return k;
}

static void free_segs(uint8_t **segs, uint32_t n)
{
	while (n)
		free(segs[--n]);
}

/* TSO then joining gives the original frame back: headers (its first
 * segment's IPv4 id) and payload, and once the checksum is completed as
 * the guest would from csum_start, a valid frame.
 */
static int test_gro_roundtrip(bool ipv6, bool vlan)
{
	struct fb b = { .ipv6 = ipv6, .vlan = vlan, .payload = 32 * 1448 - 5,
			.seq = 1000, .flags = 0x18, .ip_id = 77 };
	uint8_t *segs[64], joined[BIG];
	uint32_t lens[64], n, k, payload, hl, off, i, sum;
	struct gro_seg first;
	bool psh, ok;
	uint16_t c;

	n = make_segs(&b, 1448, segs, lens, 64);
	k = join_count(segs, lens, n, &payload, &first, &psh);
	ok = n == 32 && k == 32 && payload == b.payload && psh;
	hl = first.hdr_len;
	gro_build(joined, &first, payload, psh);
	for (i = 0, off = hl; i < k; i++) {
		memcpy(joined + off, segs[i] + hl, lens[i] - hl);
		off += lens[i] - hl;
	}
	/* NEEDS_CSUM completed from l4_off: the field holds the pseudo sum. */
	sum = csum_partial(joined + first.l4_off, off - first.l4_off, 0);
	c = csum_fold(sum);
	memcpy(joined + first.l4_off + 16, &c, 2);
	fb_build(&b, orig);
	ok &= off == fb_len(&b) && !memcmp(joined, orig, off) && fb_csum_ok(&b, joined);
	free_segs(segs, n);
	return ok;
}

static int test_gro_rules(void)
{
	struct fb b = { .payload = 8 * 1000, .seq = 5, .flags = 0x10, .tsval = 9 };
	uint8_t *segs[16], *tmp;
	uint32_t lens[16], n, payload, len, mid;
	struct gro_seg first, s;
	bool psh;
	int ok = 1;

	n = make_segs(&b, 1000, segs, lens, 16);
	ok &= join_count(segs, lens, n, &payload, &first, &psh) == 8 && !psh;

	/* another flow (source port) breaks the run */
	b.sport = 40001;
	b.payload = 1000;
	b.seq = 5 + 2000;
	len = fb_build(&b, orig);
	tmp = segs[2];
	segs[2] = exact(orig, len);
	ok &= join_count(segs, lens, n, &payload, &first, &psh) == 2;
	free(segs[2]);
	/* so does a timestamp that moved, and a gap in the sequence */
	b.sport = 0;
	b.tsval = 10;
	fb_build(&b, orig);
	segs[2] = exact(orig, len);
	ok &= join_count(segs, lens, n, &payload, &first, &psh) == 2;
	free(segs[2]);
	b.tsval = 9;
	b.seq = 5 + 2001;
	fb_build(&b, orig);
	segs[2] = exact(orig, len);
	ok &= join_count(segs, lens, n, &payload, &first, &psh) == 2;
	free(segs[2]);
	/* a bad checksum: not even DATA_VALID */
	b.seq = 5 + 2000;
	fb_build(&b, orig);
	orig[len - 1] ^= 1;
	segs[2] = exact(orig, len);
	ok &= net_rx_check(segs[2], len, &s) == NET_RX_UNCHECKED &&
	      join_count(segs, lens, n, &payload, &first, &psh) == 2;
	free(segs[2]);
	/* PSH joins and ends the run; a short segment likewise */
	b.flags = 0x18;
	fb_build(&b, orig);
	segs[2] = exact(orig, len);
	ok &= join_count(segs, lens, n, &payload, &first, &psh) == 3 && psh;
	free(segs[2]);
	b.flags = 0x10;
	b.payload = 999;
	mid = fb_build(&b, orig);
	segs[2] = exact(orig, mid);
	lens[2] = mid;
	ok &= join_count(segs, lens, n, &payload, &first, &psh) == 3 &&
	      payload == 2999;
	free(segs[2]);
	lens[2] = len;
	/* SYN, FIN, URG, RST, CWR, pure ACKs: checksum only */
	b.payload = 1000;
	b.flags = 0x11;
	fb_build(&b, orig);
	ok &= net_rx_check(orig, len, &s) == NET_RX_CSUM_OK;
	b.flags = 0x90;
	fb_build(&b, orig);
	ok &= net_rx_check(orig, len, &s) == NET_RX_CSUM_OK;
	b.flags = 0x10;
	b.payload = 0;
	mid = fb_build(&b, orig);
	ok &= net_rx_check(orig, mid, &s) == NET_RX_CSUM_OK;
	/* UDP: checksum verified */
	b.udp = true;
	b.payload = 333;
	mid = fb_build(&b, orig);
	ok &= net_rx_check(orig, mid, &s) == NET_RX_CSUM_OK;
	orig[mid - 3] ^= 0x40;
	ok &= net_rx_check(orig, mid, &s) == NET_RX_UNCHECKED;
	/* a bad IPv4 header checksum */
	b.udp = false;
	b.payload = 1000;
	fb_build(&b, orig);
	orig[14 + 8] = 63;		/* TTL, not the checksum */
	ok &= net_rx_check(orig, len, &s) == NET_RX_UNCHECKED;
	segs[2] = tmp;
	free_segs(segs, n);
	return ok;
}

/* A run is cut where IPv4's 16-bit total length would overflow. */
static int test_gro_limit(void)
{
	struct fb b = { .payload = 50 * 1448, .flags = 0x10 };
	uint8_t *segs[64];
	uint32_t lens[64], n, payload, k;
	struct gro_seg first;
	bool psh;

	n = make_segs(&b, 1448, segs, lens, 64);
	k = join_count(segs, lens, n, &payload, &first, &psh);
	free_segs(segs, n);
	/* 20 + 32 + 45 * 1448 = 65212 fits, one more does not */
	return n == 50 && k == 45 && payload == 45 * 1448;
}

int main(void)
{
	ktap_plan(9);
	KTAP_CHECK(test_csum(), "csum_partial agrees with a byte-wise sum at every length and alignment");
	KTAP_CHECK(test_tso(), "TSO: 64 KiB IPv4/IPv6, VLAN, odd sizes: lengths, ids, seq, flags, checksums, payload");
	KTAP_CHECK(test_tso_hostile(), "TSO: absurd MSS, truncated frames and lying headers refused");
	KTAP_CHECK(test_fuzz(), "random and corrupted frames: parsed and cut within bounds");
	KTAP_CHECK(test_gro_roundtrip(false, false), "joining TSO's IPv4 segments gives the frame back");
	KTAP_CHECK(test_gro_roundtrip(true, true), "joining TSO's IPv6 segments over VLAN gives the frame back");
	KTAP_CHECK(test_gro_rules(), "joining stops at another flow, a gap, moved options, a bad checksum, PSH, a short segment");
	KTAP_CHECK(test_gro_limit(), "a joined frame stays within 64 KiB of IP length");
	{
		struct net_hdrs h;
		/* IPv6 with two extension headers, then a fragment header */
		static uint8_t f[14 + 40 + 8 + 16 + 8 + 20];
		int ok;

		memset(f, 0, sizeof(f));
		f[12] = 0x86;
		f[13] = 0xdd;
		f[14] = 0x60;
		f[19] = sizeof(f) - 54;
		f[20] = 0;		/* hop-by-hop */
		f[54] = 60;		/* then destination options */
		f[62] = 44;		/* then fragment */
		f[63] = 1;		/* 16 bytes */
		f[78] = 6;		/* then TCP */
		ok = !net_parse(f, sizeof(f), &h) && h.ipv == 6 && h.frag && h.ip_opts &&
		     net_rx_check(f, sizeof(f), NULL) == NET_RX_UNCHECKED;
		f[62] = 6;		/* no fragment: TCP at 78, its header whole */
		f[78 + 12] = 0x50;
		f[19] = sizeof(f) - 54 - 8;
		ok &= !net_parse(f, sizeof(f) - 8, &h) && !h.frag && h.proto == 6 &&
		      h.l4_off == 78 && h.l4_hlen == 20;
		KTAP_CHECK(ok, "IPv6 extension headers walked, a fragment header seen");
	}
	return ktap_finish();
}
