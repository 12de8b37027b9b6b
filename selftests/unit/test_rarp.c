// SPDX-License-Identifier: GPL-2.0
/* Unit tests for rarp_build(): the frame announcing a migrated guest must be
 * byte for byte the RFC 903 broadcast switches (and QEMU) expect.
 */
#include <errno.h>
#include <string.h>

#include "ktap.h"
#include "net/rarp.h"

#define NR_TESTS 4

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* Written out by hand from RFC 903 / RFC 826, not from the code. */
static const uint8_t want[RARP_FRAME_LEN] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff,	/* broadcast */
	0x52, 0x54, 0x00, 0x12, 0x34, 0x56,	/* from the guest */
	0x80, 0x35,				/* ETH_P_RARP */
	0x00, 0x01,				/* hardware: Ethernet */
	0x08, 0x00,				/* protocol: IPv4 */
	6, 4,					/* address lengths */
	0x00, 0x03,				/* request reverse */
	0x52, 0x54, 0x00, 0x12, 0x34, 0x56,	/* sender hw: the guest */
	0, 0, 0, 0,				/* sender IP: unknown */
	0x52, 0x54, 0x00, 0x12, 0x34, 0x56,	/* target hw: the guest */
	0, 0, 0, 0,				/* target IP: unknown */
	/* zero padding to 60 bytes */
};

int main(void)
{
	uint8_t buf[128];
	int n;

	ktap_plan(NR_TESTS);
	memset(buf, 0xee, sizeof(buf));
	n = rarp_build(buf, sizeof(buf), mac);
	KTAP_CHECK(n == RARP_FRAME_LEN && n == 60, "rarp: a 60-byte minimum frame");
	KTAP_CHECK(!memcmp(buf, want, sizeof(want)), "rarp: bytes as RFC 903 has them");
	KTAP_CHECK(buf[RARP_FRAME_LEN] == 0xee, "rarp: nothing written past the frame");
	memset(buf, 0xee, sizeof(buf));
	KTAP_CHECK(rarp_build(buf, RARP_FRAME_LEN - 1, mac) == -ENOSPC &&
		   buf[0] == 0xee, "rarp: too small a buffer refused, untouched");
	return ktap_finish();
}
